/*
 * apd_upload.h - put a file (a bundle) into Azure Blob Storage through a SAS
 * URL, resumably, and verify it.
 *
 * One call does it all: apd_upload_file().  `apdiag upload` calls it, and
 * `apdiag collect --upload` will call it on the archive it has just written
 * (passing the device name it collected and the collection time).
 *
 *   1. hash the file: SHA-256 (metadata, blob name, block ids) and MD5;
 *   2. files up to put_blob_max go up in one Put Blob;
 *   3. larger ones in blocks: Get Block List tells which blocks the service
 *      already holds from an interrupted run (block ids are derived from the
 *      file's SHA-256, the block size and the index, so they are the same on
 *      every run); the others go up with Put Block, each with Content-MD5,
 *      `parallel` at a time; Put Block List commits them with
 *      x-ms-blob-content-md5 and the metadata;
 *   4. Get Blob Properties checks the length, the MD5 and the SHA-256
 *      metadata.
 *
 * Every request is retried on timeouts, dropped connections and HTTP 408,
 * 429, 500, 502, 503 and 504, after the Retry-After the service asked for or
 * an exponential backoff with jitter, until timeout_s has passed since the
 * start.  A 403 ends the upload at once.
 *
 * The core never prints: progress goes to a callback, failures into the
 * struct apd_error, and no text this module produces contains the SAS query
 * string (apd_sas.h).
 */
#ifndef APD_UPLOAD_H
#define APD_UPLOAD_H

#include "apd.h"
#include "apd_error.h"
#include "apd_http.h"

#include <stdbool.h>
#include <time.h>

#define APD_UPLOAD_VERSION          "2023-11-03"   /* x-ms-version sent (docs/upload.md) */
#define APD_UPLOAD_DEF_BLOCK        ((uint64_t)8 << 20)
#define APD_UPLOAD_MIN_BLOCK        ((uint64_t)64 << 10)
#define APD_UPLOAD_MAX_BLOCK        ((uint64_t)4000 << 20)   /* the service's limit */
#define APD_UPLOAD_MAX_BLOCKS       50000u                   /* per blob, the service's limit */
#define APD_UPLOAD_MAX_PARALLEL     16u
#define APD_UPLOAD_DEF_TIMEOUT_S    3600u
#define APD_UPLOAD_DEF_STALL_S      60u
#define APD_UPLOAD_BACKOFF_BASE_MS  500L
#define APD_UPLOAD_BACKOFF_CAP_MS   30000L
#define APD_UPLOAD_MAX_ATTEMPTS     30u                      /* per request */
#define APD_UPLOAD_BLOCK_ID_LEN     48                       /* base64 of 36 bytes */

/* What a progress callback is told. */
struct apd_upload_progress {
	const char *phase;     /* "hashing", "listing", "sending", "committing", "verifying" */
	uint64_t total;        /* bytes of the phase (the file's size) */
	uint64_t done;         /* bytes hashed / held by the service */
	uint64_t held;         /* of done, bytes the service had before this run */
	uint64_t in_flight;    /* bytes of requests under way */
	double elapsed;        /* seconds since the start */
	unsigned retries;
};

struct apd_upload_opts {
	const char *device;        /* device name: default blob name and metadata; NULL = "unknown" */
	const char *blob_name;     /* for a container SAS; NULL = derived (apd_upload_blob_name) */
	time_t name_time;          /* time in the derived name; 0 = the file's mtime */
	uint64_t block_size;       /* bytes per block (APD_UPLOAD_DEF_BLOCK) */
	uint64_t put_blob_max;     /* largest file sent with one Put Blob; 0 = block_size */
	unsigned parallel;         /* blocks under way at once (1) */
	unsigned timeout_s;        /* give up this long after the start (APD_UPLOAD_DEF_TIMEOUT_S) */
	unsigned stall_s;          /* retry a request that moves no byte this long (60) */
	const struct apd_http_ops *http;   /* NULL = apd_http_default() */
	void (*progress)(void *ud, const struct apd_upload_progress *p);   /* may be NULL */
	void *progress_ud;
};

/* Why an upload failed (apd_upload_result.failure). */
enum apd_upload_failure {
	APD_UPF_NONE = 0,
	APD_UPF_USAGE,      /* the SAS URL or an option is unusable */
	APD_UPF_INPUT,      /* the file cannot be read, or changed while it was sent */
	APD_UPF_DENIED,     /* 403: the SAS expired, is invalid or lacks permission */
	APD_UPF_REFUSED,    /* another 4xx/5xx the service will not change its mind on */
	APD_UPF_GAVE_UP,    /* retried until the time bound: network or service down */
	APD_UPF_VERIFY,     /* the committed blob's properties are not what was sent */
	APD_UPF_INTERNAL    /* out of memory, a bug */
};

struct apd_upload_result {
	char *blob_url;        /* the blob's URL without the query string: printable (malloc'd) */
	char *blob_name;       /* the name below the container, not encoded (malloc'd) */
	char sha256[65];       /* of the file, hex */
	char md5[32];          /* of the file, base64 */
	uint64_t size;
	unsigned blocks;        /* 0: sent with Put Blob */
	unsigned blocks_held;   /* already held by the service: not sent again */
	unsigned blocks_sent;   /* sent by this run */
	unsigned requests;      /* HTTP requests made, retries included */
	unsigned retries;
	bool verified;          /* length, MD5 and SHA-256 checked after the commit */
	char note[256];         /* why not verified, or "" */
	int failure;            /* enum apd_upload_failure */
};

void apd_upload_opts_default(struct apd_upload_opts *o);
void apd_upload_result_done(struct apd_upload_result *r);

/*
 * Upload the file at path to sas_url.  APD_OK when the blob is committed
 * (and verified, unless res->note says why it could not be); otherwise
 * APD_FAILED (or APD_FATAL) with res->failure and err->msg set.
 */
int apd_upload_file(const char *path, const char *sas_url, const struct apd_upload_opts *o,
    struct apd_upload_result *res, struct apd_error *err);

/* ---- the pieces, exported for the tests ---- */

/*
 * The derived blob name: apdiag-DEVICE-YYYYMMDDTHHMMSSZ-SHA12.EXT, with
 * DEVICE reduced to [A-Za-z0-9_-] (at most 63 bytes, "unknown" if empty),
 * the UTC time, the first 12 hex digits of the SHA-256, and the file's
 * extension (.cab, .zip, .tar.gz…; none if it has none).  APD_OK, or
 * APD_FAILED when out is too small.
 */
int apd_upload_blob_name(const char *device, time_t when, const char *sha256_hex,
    const char *file_name, char *out, size_t n);

/*
 * A block's id: base64 of "apd1" + 16 hex digits of the file's SHA-256 +
 * the block size and the index in 8 hex digits each (36 bytes, so every id
 * of a blob has the same length, as the service requires).
 */
void apd_upload_block_id(const char *sha256_hex, uint64_t block_size, uint32_t index,
    char out[APD_UPLOAD_BLOCK_ID_LEN + 1]);
/* The index of a block id made by apd_upload_block_id for this file and size, or -1. */
long apd_upload_block_index(const char *id, const char *sha256_hex, uint64_t block_size);

/*
 * The backoff before retry number attempt (0 = the first retry): a random
 * point in [d/2, d] where d = min(cap, base * 2^attempt); rnd is a random
 * 32-bit number.
 */
long apd_upload_backoff_ms(unsigned attempt, uint32_t rnd);

/*
 * Parse a Retry-After value: delta seconds ("120") or an HTTP date ("Wed, 21
 * Oct 2015 07:28:00 GMT", compared with now).  false when unusable.  A date
 * in the past gives 0.
 */
bool apd_upload_retry_after(const char *value, time_t now, long *ms);

/* Is this HTTP status worth retrying? */
bool apd_upload_status_retryable(long status);

#endif /* APD_UPLOAD_H */
