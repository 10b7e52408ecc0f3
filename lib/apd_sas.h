/*
 * apd_sas.h - Azure Blob Storage SAS URLs: parsing, and the one place where
 * such a URL is turned into text.
 *
 * A SAS URL is https://ACCOUNT.blob.core.windows.net/CONTAINER[/BLOB]?sv=…&sig=…
 * or, for the emulator and Azure Stack, path-style
 * http://127.0.0.1:10000/ACCOUNT/CONTAINER[/BLOB]?… (the host is an IP
 * literal or localhost).  Its query string is a bearer credential: whoever
 * reads it may write to the container until it expires.  So:
 *
 *   - struct apd_sas keeps the query string apart from the printable part;
 *   - apd_sas_public() / apd_url_redact() give the URL without its query
 *     string and user information, and are the only way a URL becomes text;
 *   - apd_sas_scrub() blanks any trace of the query string or signature in a
 *     message that came from elsewhere (a transport's error text), and any
 *     "sig=" value at all, as a last line of defence.
 *
 * Plain http is refused unless the host is 127.0.0.1, ::1 or localhost.
 */
#ifndef APD_SAS_H
#define APD_SAS_H

#include "apd.h"
#include "apd_error.h"

#include <stdbool.h>

struct apd_sas {
	char *origin;       /* "https://host[:port]", printable */
	char *container;    /* "/[account/]container" as given (percent-encoded), printable */
	char *blob;         /* the blob's path below the container (encoded), or NULL */
	char *query;        /* the SAS query string without '?': secret */
	char *sig;          /* the sig= value as in the URL (encoded): secret */
	char *sig_raw;      /* the same, percent-decoded: secret */
	bool local;         /* 127.0.0.1, ::1 or localhost: http allowed */
};

/* Parse url; APD_FAILED with a message that never quotes the query string. */
int apd_sas_parse(struct apd_sas *s, const char *url, struct apd_error *err);
void apd_sas_done(struct apd_sas *s);

/*
 * The blob's URL without the query string (printable), for the blob the SAS
 * names, or for name_enc (percent-encoded, below the container) when it
 * names a container.  malloc'd, NULL when out of memory.
 */
char *apd_sas_public(const struct apd_sas *s, const char *name_enc);

/*
 * The request URL: apd_sas_public() + "?" + extra (may be NULL, e.g.
 * "comp=block&blockid=…") + "&" + the SAS.  Secret: give it only to a
 * transport.  malloc'd, NULL when out of memory.
 */
char *apd_sas_request_url(const struct apd_sas *s, const char *name_enc, const char *extra);

/* Copy url into out without its query string, fragment and user information. */
void apd_url_redact(const char *url, char *out, size_t n);

/*
 * Replace, in the NUL-terminated text held in a buffer of size bytes, the
 * query string, the signature (encoded or not) and any "sig=" value with
 * "REDACTED".  s may be NULL (then only "sig=" values go).
 */
void apd_sas_scrub(const struct apd_sas *s, char *text, size_t size);

/*
 * Percent-encode a blob name for a URL path: everything but A-Z a-z 0-9
 * - . _ ~ and '/' is encoded.  malloc'd, NULL when out of memory.
 */
char *apd_url_encode_path(const char *name);

/* Percent-decode s (a blob name taken from a URL).  malloc'd, NULL when out of memory. */
char *apd_url_decode(const char *s);

#endif /* APD_SAS_H */
