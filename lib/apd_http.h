/*
 * apd_http.h - the HTTP transport interface of the uploader.
 *
 * The uploader (apd_upload.c) speaks to Azure Blob Storage through one
 * const table of functions, so that libcurl serves it on Linux
 * (apd_http_curl.c) and WinHTTP can serve it on Windows (issue 8) without
 * the uploader changing.  The interface is asynchronous and small:
 *
 *	open    make a transport (its own connection pool)
 *	submit  start one request; several may be under way at once
 *	wait    block until one request has finished, or a timeout
 *	cancel  abandon a request under way (it is not reported by wait)
 *	close   abandon everything and free the transport
 *
 * A transport that cannot run requests concurrently may do the whole
 * exchange inside submit() and hand it back from the next wait().
 *
 * Secrets: a request's url carries the SAS.  A transport never prints, never
 * turns on any verbose or trace output, and writes into errmsg only its own
 * reason (no URL).  The uploader still scrubs errmsg before using it
 * (apd_sas_scrub), which is the one place a SAS is turned into text.
 *
 * Proxies: a transport follows the platform's conventions (libcurl: the
 * http_proxy, https_proxy, all_proxy and no_proxy environment variables).
 */
#ifndef APD_HTTP_H
#define APD_HTTP_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_error.h"

#include <stdbool.h>

/* What happened to a request (apd_http_req.result). */
enum apd_http_result {
	APD_HTTP_DONE = 0,     /* a response arrived: see status */
	APD_HTTP_TIMEOUT,      /* no response in time, or the transfer stalled */
	APD_HTTP_NETWORK,      /* connection refused, reset or dropped; DNS: worth retrying */
	APD_HTTP_TLS,          /* certificate or TLS setup refused: retrying will not help */
	APD_HTTP_OTHER         /* anything else; not retried */
};

#define APD_HTTP_MAX_HEADERS 16
#define APD_HTTP_RESP_HEAD_MAX ((size_t)64 << 10)    /* response headers kept */
#define APD_HTTP_RESP_BODY_MAX ((size_t)16 << 20)    /* response body kept */

struct apd_http_req {
	/* set by the caller */
	const char *method;                  /* "PUT", "GET" or "HEAD" */
	const char *url;                     /* the full URL with its SAS: secret */
	const char *headers[APD_HTTP_MAX_HEADERS + 1];   /* "Name: value", NULL-terminated */
	const unsigned char *body;           /* request body (PUT), borrowed until done */
	size_t body_len;
	long timeout_ms;                     /* the whole exchange; 0 = none */
	long stall_ms;                       /* give up when no byte moves this long; 0 = never */
	void *ud;                            /* the caller's */

	/* set by the transport */
	int result;                          /* enum apd_http_result */
	long status;                         /* HTTP status when result == APD_HTTP_DONE */
	struct apd_buf head;                 /* response headers, "name: value\n" each */
	struct apd_buf resp;                 /* response body (GET), bounded */
	uint64_t sent;                       /* request body bytes sent so far */
	char errmsg[256];                    /* the transport's reason, no URL in it */
	void *priv;                          /* the transport's */
};

struct apd_http;   /* a transport instance, opaque */

struct apd_http_ops {
	const char *name;                                                    /* "libcurl" */
	int (*open)(struct apd_http **out, struct apd_error *err);           /* open */
	int (*submit)(struct apd_http *h, struct apd_http_req *r, struct apd_error *err); /* submit */
	/* *done = a finished request, or NULL when timeout_ms passed first */
	int (*wait)(struct apd_http *h, long timeout_ms, struct apd_http_req **done,
	    struct apd_error *err);                                          /* wait */
	void (*cancel)(struct apd_http *h, struct apd_http_req *r);         /* cancel */
	void (*close)(struct apd_http *h);                                  /* close */
};

/* The transport of this platform (libcurl on Linux, WinHTTP on Windows). */
const struct apd_http_ops *apd_http_default(void);
extern const struct apd_http_ops apd_http_curl_ops;      /* apd_http_curl.c, Linux */
extern const struct apd_http_ops apd_http_winhttp_ops;   /* apd_http_winhttp.c, Windows */

/* Prepare a request for reuse: clears the outputs, keeps the buffers' memory. */
void apd_http_req_init(struct apd_http_req *r);
void apd_http_req_reset(struct apd_http_req *r);
void apd_http_req_done(struct apd_http_req *r);
/* Append "Name: value" to r->headers (at most APD_HTTP_MAX_HEADERS); false when full. */
bool apd_http_req_add_header(struct apd_http_req *r, const char *line);

/*
 * A response header's value (case-insensitive name), copied into out and
 * trimmed; false when absent.  The last occurrence wins.
 */
bool apd_http_header(const struct apd_http_req *r, const char *name, char *out, size_t n);

#endif /* APD_HTTP_H */
