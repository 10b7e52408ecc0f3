/*
 * apd_upload.c - the Azure Blob Storage uploader (see apd_upload.h).
 *
 * Every request goes through one small scheduler, run(): it keeps up to N
 * jobs under way on the transport, retries the ones that failed in a way
 * worth retrying after a delay, and hands each final response to a finish
 * function that decides what it means.  A single request is a run() with
 * one job; the blocks are a run() with `parallel` jobs fed from the list of
 * blocks the service does not hold yet.
 *
 * Only apd_upload_* functions are exported; the rest has file scope.
 */
#include "apd_upload.h"
#include "apd_buf.h"
#include "apd_md5.h"
#include "apd_sas.h"
#include "apd_sha256.h"
#include "apd_xmlr.h"
#include "apd_compat.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NHDR 12
#define HDR_LEN 256

enum job_state { JOB_IDLE, JOB_READY, JOB_RUNNING };

struct job {
	struct apd_http_req req;
	char hdr[NHDR][HDR_LEN];    /* header lines the request points into */
	char *url;                  /* the request URL: secret */
	unsigned char *buf;         /* block data (owned) */
	size_t cap;
	uint32_t index;             /* block index */
	size_t len;                 /* body length */
	unsigned attempt;           /* retries so far */
	double not_before;          /* monotonic seconds */
	int state;                  /* enum job_state */
	bool over;                  /* a one-request job has had its final answer */
	char what[64];              /* "Put Block 12": for messages */
};

struct up {
	const struct apd_upload_opts *o;
	struct apd_upload_result *res;
	struct apd_error *err;
	struct apd_sas sas;
	char *name_enc;             /* blob name, percent-encoded */
	const char *content_type;
	const struct apd_http_ops *ops;
	struct apd_http *http;
	int fd;
	struct stat st;
	uint64_t block_size;
	uint32_t nblocks;
	unsigned char *held;        /* per block: the service holds it */
	uint32_t next;              /* next block index to look at */
	uint64_t done, held_bytes;
	double t0, deadline, last_cb;
	uint32_t rng;
	const char *phase;
	char device[64];
	char last_reason[320];      /* the last retried failure, scrubbed */
	bool resume_unavailable;
	struct apd_buf xml;         /* Put Block List body */
};

/* ---- small helpers ---- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
rnd(struct up *u)
{
	uint32_t x = u->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return u->rng = x ? x : 0x9E3779B9u;
}

static void
progress(struct up *u, bool force)
{
	struct apd_upload_progress p;
	double t = now_s();

	if (u->o->progress == NULL || (!force && t - u->last_cb < 0.1))
		return;
	u->last_cb = t;
	memset(&p, 0, sizeof(p));
	p.phase = u->phase;
	p.total = u->res->size;
	p.done = u->done;
	p.held = u->held_bytes;
	p.elapsed = t - u->t0;
	p.retries = u->res->retries;
	u->o->progress(u->o->progress_ud, &p);
}

static void
progress_in_flight(struct up *u, struct job *jobs, unsigned n)
{
	struct apd_upload_progress p;
	double t = now_s();
	unsigned i;

	if (u->o->progress == NULL || t - u->last_cb < 0.1)
		return;
	u->last_cb = t;
	memset(&p, 0, sizeof(p));
	p.phase = u->phase;
	p.total = u->res->size;
	p.done = u->done;
	p.held = u->held_bytes;
	for (i = 0; i < n; i++)
		if (jobs[i].state == JOB_RUNNING)
			p.in_flight += jobs[i].req.sent;
	p.elapsed = t - u->t0;
	p.retries = u->res->retries;
	u->o->progress(u->o->progress_ud, &p);
}

static int
fail(struct up *u, int failure, int code, const char *fmt, ...) APD_PRINTF(4, 5);

static int
fail(struct up *u, int failure, int code, const char *fmt, ...)
{
	char msg[APD_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	apd_sas_scrub(&u->sas, msg, sizeof(msg));
	u->res->failure = failure;
	return apd_set_error(u->err, code, "%s", msg);
}

/* Set up j for a request: method, URL (with extra query), no headers yet. */
static int
job_begin(struct up *u, struct job *j, const char *method, const char *extra)
{
	free(j->url);
	j->url = apd_sas_request_url(&u->sas, u->name_enc, extra);
	if (j->url == NULL)
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "out of memory");
	j->req.method = method;
	j->req.url = j->url;
	j->req.headers[0] = NULL;
	j->req.body = NULL;
	j->req.body_len = 0;
	j->req.ud = j;
	snprintf(j->hdr[0], HDR_LEN, "x-ms-version: %s", APD_UPLOAD_VERSION);
	apd_http_req_add_header(&j->req, j->hdr[0]);
	return APD_OK;
}

/* Add a header line "name: value" to j. */
static void
job_header(struct job *j, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < NHDR && j->req.headers[i]; i++)
		;
	if (i >= NHDR)
		return;
	snprintf(j->hdr[i], HDR_LEN, "%s: %s", name, value);
	apd_http_req_add_header(&j->req, j->hdr[i]);
}

static void
job_metadata(struct up *u, struct job *j)
{
	job_header(j, "x-ms-blob-content-type", u->content_type);
	job_header(j, "x-ms-meta-device", u->device);
	job_header(j, "x-ms-meta-apdiag_version", apd_version());
	job_header(j, "x-ms-meta-sha256", u->res->sha256);
}

static void
job_free(struct job *j)
{
	free(j->url);
	free(j->buf);
	apd_http_req_done(&j->req);
	memset(j, 0, sizeof(*j));
}

/* "HTTP 403 (AuthenticationFailed)" for messages. */
static void
describe_status(const struct job *j, char *out, size_t n)
{
	char code[96];

	if (apd_http_header(&j->req, "x-ms-error-code", code, sizeof(code)) && code[0])
		snprintf(out, n, "HTTP %ld (%s)", j->req.status, code);
	else
		snprintf(out, n, "HTTP %ld", j->req.status);
}

/* A final response that is not a success: the failure, with a message that helps. */
static int
status_failure(struct up *u, const struct job *j)
{
	char st[160];

	describe_status(j, st, sizeof(st));
	if (j->req.status == 403)
		return fail(u, APD_UPF_DENIED, APD_FAILED, "%s: %s: the service refused the SAS: it has "
		    "expired, is not valid yet, or lacks the create and write permissions; ask for a "
		    "new SAS URL", j->what, st);
	if (j->req.status == 404)
		return fail(u, APD_UPF_REFUSED, APD_FAILED, "%s: %s: the container does not exist",
		    j->what, st);
	return fail(u, APD_UPF_REFUSED, APD_FAILED, "%s: %s", j->what, st);
}

/* ---- the scheduler ---- */

typedef int (*fill_fn)(struct up *u, struct job *j);      /* APD_OK, APD_EOF: no more, or failure */
typedef int (*finish_fn)(struct up *u, struct job *j);    /* a final response */

/*
 * j failed: plan a retry (APD_OK) or fail.  The delay is the service's
 * Retry-After when it sent one, otherwise the backoff.
 */
static int
plan_retry(struct up *u, struct job *j)
{
	char why[300], ra[64];
	long delay = -1;
	double t = now_s();

	if (j->req.result == APD_HTTP_DONE) {
		describe_status(j, why, sizeof(why));
		if (!apd_upload_status_retryable(j->req.status))
			return APD_EOF;   /* a final answer: the finish function decides */
		if (apd_http_header(&j->req, "retry-after", ra, sizeof(ra)) &&
		    apd_upload_retry_after(ra, time(NULL), &delay)) {
			/* honoured as asked */
		}
	} else {
		snprintf(why, sizeof(why), "%s", j->req.errmsg[0] ? j->req.errmsg :
		    j->req.result == APD_HTTP_TIMEOUT ? "timed out" : "transfer failed");
		apd_sas_scrub(&u->sas, why, sizeof(why));
		if (j->req.result == APD_HTTP_TLS)
			return fail(u, APD_UPF_REFUSED, APD_FAILED, "%s: TLS: %s", j->what, why);
		if (j->req.result == APD_HTTP_OTHER)
			return fail(u, APD_UPF_REFUSED, APD_FAILED, "%s: %s", j->what, why);
	}
	snprintf(u->last_reason, sizeof(u->last_reason), "%s", why);
	if (j->attempt + 1 >= APD_UPLOAD_MAX_ATTEMPTS)
		return fail(u, APD_UPF_GAVE_UP, APD_FAILED, "%s: gave up after %u attempts; the last "
		    "failure: %s", j->what, j->attempt + 1, why);
	if (delay < 0)
		delay = apd_upload_backoff_ms(j->attempt, rnd(u));
	if (t + (double)delay / 1000 > u->deadline)
		return fail(u, APD_UPF_GAVE_UP, APD_FAILED, "%s: gave up: the next try (in %.1f s) "
		    "would pass the time limit of %u s; the last failure: %s", j->what,
		    (double)delay / 1000, u->o->timeout_s, why);
	j->attempt++;
	j->not_before = t + (double)delay / 1000;
	j->state = JOB_READY;
	u->res->retries++;
	return APD_OK;
}

static int
run(struct up *u, struct job *jobs, unsigned n, fill_fn fill, finish_fn finish)
{
	unsigned i, active = 0, running = 0;
	bool more = true;
	int rc = APD_OK;

	for (i = 0; i < n; i++)
		jobs[i].state = JOB_IDLE;
	for (;;) {
		struct apd_http_req *done = NULL;
		double t, next = 1e300;
		struct job *j;

		for (i = 0; more && i < n; i++) {
			if (jobs[i].state != JOB_IDLE)
				continue;
			rc = fill(u, &jobs[i]);
			if (rc == APD_EOF) {
				rc = APD_OK;
				more = false;
				break;
			}
			if (rc != APD_OK)
				goto out;
			jobs[i].state = JOB_READY;
			jobs[i].attempt = 0;
			jobs[i].not_before = 0;
			active++;
		}
		if (active == 0)
			break;
		t = now_s();
		if (t > u->deadline) {
			rc = fail(u, APD_UPF_GAVE_UP, APD_FAILED, "gave up after the time limit of %u s%s%s",
			    u->o->timeout_s, u->last_reason[0] ? "; the last failure: " : "",
			    u->last_reason);
			goto out;
		}
		for (i = 0; i < n; i++) {
			j = &jobs[i];
			if (j->state != JOB_READY)
				continue;
			if (j->not_before > t) {
				if (j->not_before < next)
					next = j->not_before;
				continue;
			}
			j->req.timeout_ms = (long)((u->deadline - t) * 1000) + 1;
			j->req.stall_ms = (long)u->o->stall_s * 1000;
			rc = u->ops->submit(u->http, &j->req, u->err);
			if (rc != APD_OK) {
				u->res->failure = APD_UPF_INTERNAL;
				goto out;
			}
			u->res->requests++;
			j->state = JOB_RUNNING;
			running++;
		}
		if (running == 0) {
			/* everything waits for a retry */
			double d = next - t;
			struct timespec ts;
			if (d > 0.1)
				d = 0.1;
			if (d > 0) {
				ts.tv_sec = 0;
				ts.tv_nsec = (long)(d * 1e9);
				nanosleep(&ts, NULL);
			}
			progress(u, false);
			continue;
		}
		rc = u->ops->wait(u->http, 100, &done, u->err);
		if (rc != APD_OK) {
			u->res->failure = APD_UPF_INTERNAL;
			goto out;
		}
		if (done == NULL) {
			progress_in_flight(u, jobs, n);
			continue;
		}
		j = done->ud;
		j->state = JOB_IDLE;
		running--;
		rc = plan_retry(u, j);
		if (rc == APD_OK)
			continue;           /* ready again, after its delay */
		if (rc != APD_EOF)
			goto out;
		rc = finish(u, j);          /* a final answer from the service */
		if (rc != APD_OK)
			goto out;
		active--;
		progress(u, false);
	}
out:
	for (i = 0; i < n; i++)
		if (jobs[i].state == JOB_RUNNING)
			u->ops->cancel(u->http, &jobs[i].req);
	return rc;
}

/* One request, retried: fill prepares it, finish reads the answer. */
static int
run_one(struct up *u, struct job *j, fill_fn fill, finish_fn finish)
{
	return run(u, j, 1, fill, finish);
}

/* ---- hashing ---- */

static int
hash_file(struct up *u)
{
	struct apd_sha256 sha;
	struct apd_md5 md5;
	unsigned char *buf;
	const size_t bs = (size_t)1 << 20;
	uint64_t off = 0;
	ssize_t r;

	buf = malloc(bs);
	if (buf == NULL || apd_sha256_init(&sha) != APD_OK) {
		free(buf);
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "out of memory");
	}
	if (apd_md5_init(&md5) != APD_OK) {
		apd_sha256_done(&sha);
		free(buf);
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "MD5 is not available from libcrypto");
	}
	u->phase = "hashing";
	while ((r = pread(u->fd, buf, bs, (off_t)off)) > 0) {
		apd_sha256_update(&sha, buf, (size_t)r);
		apd_md5_update(&md5, buf, (size_t)r);
		off += (uint64_t)r;
		u->done = off;
		progress(u, false);
	}
	apd_sha256_final_hex(&sha, u->res->sha256);
	apd_md5_final_b64(&md5, u->res->md5);
	apd_sha256_done(&sha);
	apd_md5_done(&md5);
	free(buf);
	u->done = 0;
	if (r < 0) {
		u->res->failure = APD_UPF_INPUT;
		return apd_set_errno(u->err, APD_FAILED, errno, "cannot read the file");
	}
	if (off != u->res->size)
		return fail(u, APD_UPF_INPUT, APD_FAILED, "the file changed size while it was hashed");
	return APD_OK;
}

/* Read [off, off + len) of the file into j->buf. */
static int
read_range(struct up *u, struct job *j, uint64_t off, size_t len)
{
	size_t got = 0;

	if (j->cap < len) {
		unsigned char *b = realloc(j->buf, len ? len : 1);
		if (b == NULL)
			return fail(u, APD_UPF_INTERNAL, APD_FATAL, "out of memory (%zu bytes)", len);
		j->buf = b;
		j->cap = len;
	}
	while (got < len) {
		ssize_t r = pread(u->fd, j->buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			u->res->failure = APD_UPF_INPUT;
			return apd_set_errno(u->err, APD_FAILED, errno, "cannot read the file");
		}
		if (r == 0)
			return fail(u, APD_UPF_INPUT, APD_FAILED, "the file shrank while it was sent");
		got += (size_t)r;
	}
	j->len = len;
	return APD_OK;
}

/* ---- Put Blob (small files) ---- */

static int
fill_put_blob(struct up *u, struct job *j)
{
	char md5[APD_MD5_B64_LEN + 1];
	int rc;

	if (j->over)
		return APD_EOF;
	snprintf(j->what, sizeof(j->what), "Put Blob");
	rc = read_range(u, j, 0, (size_t)u->res->size);
	if (rc != APD_OK)
		return rc;
	if (apd_md5_b64(j->buf, j->len, md5) != APD_OK)
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "MD5 failed");
	if (strcmp(md5, u->res->md5) != 0)
		return fail(u, APD_UPF_INPUT, APD_FAILED, "the file changed while it was sent");
	rc = job_begin(u, j, "PUT", NULL);
	if (rc != APD_OK)
		return rc;
	job_header(j, "x-ms-blob-type", "BlockBlob");
	job_header(j, "Content-MD5", md5);
	job_metadata(u, j);
	j->req.body = j->buf;
	j->req.body_len = j->len;
	return APD_OK;
}

static int
finish_put_blob(struct up *u, struct job *j)
{
	if (j->req.status != 201)
		return status_failure(u, j);
	u->done = u->res->size;
	j->over = true;     /* sent: fill_put_blob says there is no more */
	return APD_OK;
}

/* ---- Get Block List ---- */

static int
fill_block_list(struct up *u, struct job *j)
{
	if (j->over)
		return APD_EOF;
	snprintf(j->what, sizeof(j->what), "Get Block List");
	return job_begin(u, j, "GET", "comp=blocklist&blocklisttype=all");
}

/* Mark one listed block (its <Name> and <Size>) as held when it is ours. */
static void
mark_held(struct up *u, const char *name, const char *size)
{
	long idx = apd_upload_block_index(name, u->res->sha256, u->block_size);

	if (idx >= 0 && (uint32_t)idx < u->nblocks && !u->held[idx]) {
		uint64_t want = (uint32_t)idx + 1 < u->nblocks ? u->block_size :
		    u->res->size - (uint64_t)idx * u->block_size;
		if (strtoull(size, NULL, 10) == want) {
			u->held[idx] = 1;
			u->res->blocks_held++;
			u->held_bytes += want;
			u->done += want;
		}
	}
}

/*
 * <BlockList><CommittedBlocks|UncommittedBlocks><Block><Name/><Size/></Block>:
 * the blocks the service holds, read with apd_xmlr.h (libxml2 or XmlLite).
 */
static int
finish_block_list(struct up *u, struct job *j)
{
	struct apd_xmlr *r;
	struct apd_error xe;
	char name[128], size[32], *field = NULL;
	bool in_list = false, in_block = false;
	int t;

	j->over = true;
	if (j->req.status == 404)
		return APD_OK;   /* no such blob yet: nothing held */
	if (j->req.status == 403) {
		/* a SAS without read permission: send every block (a dead SAS fails on the first) */
		u->resume_unavailable = true;
		return APD_OK;
	}
	if (j->req.status != 200)
		return status_failure(u, j);
	apd_error_clear(&xe);
	if (apd_xmlr_open(&r, j->req.resp.p ? j->req.resp.p : "", j->req.resp.n, "blocklist.xml",
	    &xe) != APD_OK)
		return APD_OK;   /* unreadable: resume nothing, lose nothing */
	/* a malformed answer stops the reading: what was marked is still ours */
	while ((t = apd_xmlr_next(r, &xe)) > 0) {
		const char *nm = apd_xmlr_name(r);
		int d = apd_xmlr_depth(r);
		if (t == APD_XMLR_START) {
			field = NULL;
			if (d == 1)
				in_list = strcmp(nm, "CommittedBlocks") == 0 ||
				    strcmp(nm, "UncommittedBlocks") == 0;
			else if (d == 2 && in_list && strcmp(nm, "Block") == 0) {
				in_block = true;
				name[0] = size[0] = '\0';
			} else if (d == 3 && in_block && strcmp(nm, "Name") == 0 && name[0] == '\0')
				field = name;
			else if (d == 3 && in_block && strcmp(nm, "Size") == 0 && size[0] == '\0')
				field = size;
		} else if (t == APD_XMLR_TEXT && field) {
			size_t have = strlen(field), cap = field == name ? sizeof(name) : sizeof(size);
			snprintf(field + have, cap - have, "%s", apd_xmlr_text(r));
		} else if (t == APD_XMLR_END) {
			field = NULL;
			if (d == 2 && in_block) {
				in_block = false;
				if (name[0] && size[0])
					mark_held(u, name, size);
			} else if (d == 1) {
				in_list = false;
			}
		}
	}
	apd_xmlr_free(r);
	return APD_OK;
}

/* ---- Put Block ---- */

static int
fill_put_block(struct up *u, struct job *j)
{
	char id[APD_UPLOAD_BLOCK_ID_LEN + 1], extra[160], md5[APD_MD5_B64_LEN + 1];
	uint64_t off;
	size_t len, i, o;
	int rc;

	while (u->next < u->nblocks && u->held[u->next])
		u->next++;
	if (u->next >= u->nblocks)
		return APD_EOF;
	j->index = u->next++;
	off = (uint64_t)j->index * u->block_size;
	len = (size_t)(u->res->size - off < u->block_size ? u->res->size - off : u->block_size);
	rc = read_range(u, j, off, len);
	if (rc != APD_OK)
		return rc;
	if (apd_md5_b64(j->buf, len, md5) != APD_OK)
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "MD5 failed");
	apd_upload_block_id(u->res->sha256, u->block_size, j->index, id);
	o = (size_t)snprintf(extra, sizeof(extra), "comp=block&blockid=");
	for (i = 0; id[i] && o + 4 < sizeof(extra); i++) {
		if (id[i] == '+' || id[i] == '/' || id[i] == '=')
			o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%%%02X", (unsigned char)id[i]);
		else
			extra[o++] = id[i];
	}
	extra[o] = '\0';
	snprintf(j->what, sizeof(j->what), "Put Block %u of %u", j->index + 1, u->nblocks);
	rc = job_begin(u, j, "PUT", extra);
	if (rc != APD_OK)
		return rc;
	job_header(j, "Content-MD5", md5);
	j->req.body = j->buf;
	j->req.body_len = len;
	return APD_OK;
}

static int
finish_put_block(struct up *u, struct job *j)
{
	if (j->req.status != 201)
		return status_failure(u, j);
	u->held[j->index] = 1;
	u->res->blocks_sent++;
	u->done += j->len;
	return APD_OK;
}

/* ---- Put Block List ---- */

static int
fill_commit(struct up *u, struct job *j)
{
	char id[APD_UPLOAD_BLOCK_ID_LEN + 1];
	uint32_t i;
	int rc;

	if (j->over)
		return APD_EOF;
	snprintf(j->what, sizeof(j->what), "Put Block List");
	if (u->xml.n == 0) {
		rc = apd_buf_adds(&u->xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n");
		for (i = 0; rc == APD_OK && i < u->nblocks; i++) {
			apd_upload_block_id(u->res->sha256, u->block_size, i, id);
			rc = apd_buf_printf(&u->xml, "<Latest>%s</Latest>\n", id);
		}
		if (rc == APD_OK)
			rc = apd_buf_adds(&u->xml, "</BlockList>\n");
		if (rc != APD_OK)
			return fail(u, APD_UPF_INTERNAL, APD_FATAL, "out of memory");
	}
	rc = job_begin(u, j, "PUT", "comp=blocklist");
	if (rc != APD_OK)
		return rc;
	job_header(j, "Content-Type", "application/xml");
	job_header(j, "x-ms-blob-content-md5", u->res->md5);
	job_metadata(u, j);
	j->req.body = (const unsigned char *)u->xml.p;
	j->req.body_len = u->xml.n;
	return APD_OK;
}

static int
finish_commit(struct up *u, struct job *j)
{
	if (j->req.status != 201)
		return status_failure(u, j);
	j->over = true;
	return APD_OK;
}

/* ---- Get Blob Properties ---- */

static int
fill_verify(struct up *u, struct job *j)
{
	if (j->over)
		return APD_EOF;
	snprintf(j->what, sizeof(j->what), "Get Blob Properties");
	return job_begin(u, j, "HEAD", NULL);
}

static int
finish_verify(struct up *u, struct job *j)
{
	char len[32], md5[64], sha[96];

	j->over = true;
	if (j->req.status == 403) {
		snprintf(u->res->note, sizeof(u->res->note), "not verified: the SAS does not allow "
		    "reading the blob's properties (no read permission)");
		return APD_OK;
	}
	if (j->req.status != 200)
		return status_failure(u, j);
	if (!apd_http_header(&j->req, "content-length", len, sizeof(len)) ||
	    strtoull(len, NULL, 10) != u->res->size)
		return fail(u, APD_UPF_VERIFY, APD_FAILED, "verify: the blob holds %s bytes, %llu were "
		    "sent", len[0] ? len : "an unknown number of", (unsigned long long)u->res->size);
	if (!apd_http_header(&j->req, "content-md5", md5, sizeof(md5)) ||
	    strcmp(md5, u->res->md5) != 0)
		return fail(u, APD_UPF_VERIFY, APD_FAILED, "verify: the blob's MD5 is '%s', the file's "
		    "is '%s'", md5, u->res->md5);
	if (!apd_http_header(&j->req, "x-ms-meta-sha256", sha, sizeof(sha)) ||
	    strcmp(sha, u->res->sha256) != 0)
		return fail(u, APD_UPF_VERIFY, APD_FAILED, "verify: the blob's sha256 metadata is not "
		    "the file's SHA-256");
	u->res->verified = true;
	return APD_OK;
}

/* ---- the upload ---- */

static const char *
content_type_for(const char *name)
{
	size_t n = strlen(name);

	if (n >= 4 && strcasecmp(name + n - 4, ".cab") == 0)
		return "application/vnd.ms-cab-compressed";
	if (n >= 4 && strcasecmp(name + n - 4, ".zip") == 0)
		return "application/zip";
	if (n >= 3 && strcasecmp(name + n - 3, ".gz") == 0)
		return "application/gzip";
	if (n >= 4 && strcasecmp(name + n - 4, ".zst") == 0)
		return "application/zstd";
	if (n >= 4 && strcasecmp(name + n - 4, ".tar") == 0)
		return "application/x-tar";
	return "application/octet-stream";
}

static void
sanitize_device(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; in && *in && o + 1 < n; in++) {
		unsigned char c = (unsigned char)*in;
		out[o++] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' ? (char)c : '_';
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, n, "unknown");
}

void
apd_upload_opts_default(struct apd_upload_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->block_size = APD_UPLOAD_DEF_BLOCK;
	o->parallel = 1;
	o->timeout_s = APD_UPLOAD_DEF_TIMEOUT_S;
	o->stall_s = APD_UPLOAD_DEF_STALL_S;
}

void
apd_upload_result_done(struct apd_upload_result *r)
{
	if (r == NULL)
		return;
	free(r->blob_url);
	free(r->blob_name);
	r->blob_url = NULL;
	r->blob_name = NULL;
}

static int
send_blocks(struct up *u)
{
	struct job *jobs;
	unsigned n = u->o->parallel, i;
	int rc;

	u->nblocks = (uint32_t)((u->res->size + u->block_size - 1) / u->block_size);
	u->res->blocks = u->nblocks;
	u->held = calloc(u->nblocks, 1);
	jobs = calloc(n, sizeof(*jobs));
	if (u->held == NULL || jobs == NULL) {
		free(jobs);
		return fail(u, APD_UPF_INTERNAL, APD_FATAL, "out of memory");
	}
	for (i = 0; i < n; i++)
		apd_http_req_init(&jobs[i].req);

	u->phase = "listing";
	progress(u, true);
	rc = run_one(u, &jobs[0], fill_block_list, finish_block_list);
	if (rc == APD_OK) {
		u->phase = "sending";
		progress(u, true);
		u->next = 0;
		for (i = 0; i < n; i++)
			jobs[i].over = false;
		rc = run(u, jobs, n, fill_put_block, finish_put_block);
	}
	for (i = 1; i < n; i++)
		job_free(&jobs[i]);
	if (rc == APD_OK) {
		free(jobs[0].buf);   /* the block buffers are not needed any more */
		jobs[0].buf = NULL;
		jobs[0].cap = 0;
		jobs[0].over = false;
		u->phase = "committing";
		progress(u, true);
		rc = run_one(u, &jobs[0], fill_commit, finish_commit);
	}
	job_free(&jobs[0]);
	free(jobs);
	return rc;
}

static int
put_small(struct up *u)
{
	struct job j;
	int rc;

	memset(&j, 0, sizeof(j));
	apd_http_req_init(&j.req);
	u->phase = "sending";
	progress(u, true);
	rc = run_one(u, &j, fill_put_blob, finish_put_blob);
	job_free(&j);
	return rc;
}

static int
verify(struct up *u)
{
	struct job j;
	int rc;

	memset(&j, 0, sizeof(j));
	apd_http_req_init(&j.req);
	u->phase = "verifying";
	progress(u, true);
	rc = run_one(u, &j, fill_verify, finish_verify);
	job_free(&j);
	return rc;
}

int
apd_upload_file(const char *path, const char *sas_url, const struct apd_upload_opts *opts,
    struct apd_upload_result *res, struct apd_error *err)
{
	struct apd_upload_opts def;
	struct up u;
	struct stat st2;
	char name[512];
	const char *base;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	if (opts == NULL) {
		apd_upload_opts_default(&def);
		opts = &def;
	}
	u.o = opts;
	u.res = res;
	u.err = err;
	u.fd = -1;
	u.t0 = now_s();
	u.deadline = u.t0 + (opts->timeout_s ? opts->timeout_s : APD_UPLOAD_DEF_TIMEOUT_S);
	u.rng = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^ 0x5bd1e995u;
	u.ops = opts->http ? opts->http : apd_http_default();
	u.block_size = opts->block_size ? opts->block_size : APD_UPLOAD_DEF_BLOCK;
	apd_buf_init(&u.xml, (size_t)APD_UPLOAD_MAX_BLOCKS * 80 + 4096);
	sanitize_device(opts->device, u.device, sizeof(u.device));

	if (u.block_size < APD_UPLOAD_MIN_BLOCK || u.block_size > APD_UPLOAD_MAX_BLOCK) {
		res->failure = APD_UPF_USAGE;
		return apd_set_error(err, APD_FAILED, "the block size must be between 64 KiB and 4000 MiB");
	}
	if (opts->parallel < 1 || opts->parallel > APD_UPLOAD_MAX_PARALLEL) {
		res->failure = APD_UPF_USAGE;
		return apd_set_error(err, APD_FAILED, "parallel must be between 1 and %u",
		    APD_UPLOAD_MAX_PARALLEL);
	}
	rc = apd_sas_parse(&u.sas, sas_url, err);
	if (rc != APD_OK) {
		res->failure = rc == APD_FATAL ? APD_UPF_INTERNAL : APD_UPF_USAGE;
		return rc;
	}
	if (u.sas.blob && opts->blob_name) {
		apd_sas_done(&u.sas);
		res->failure = APD_UPF_USAGE;
		return apd_set_error(err, APD_FAILED, "the SAS URL names a blob: a name cannot be given too");
	}

	u.fd = apd_open_rdonly(path);   /* apd_compat.h: a UTF-8 path on Windows too */
	if (u.fd < 0 || fstat(u.fd, &u.st) != 0 || !S_ISREG(u.st.st_mode)) {
		int e = u.fd < 0 ? errno : EINVAL;
		res->failure = APD_UPF_INPUT;
		rc = u.fd >= 0 && !S_ISREG(u.st.st_mode) ?
		    apd_set_error(err, APD_FAILED, "%s: not a regular file", path) :
		    apd_set_errno(err, APD_FAILED, e, "%s", path);
		goto out;
	}
	res->size = (uint64_t)u.st.st_size;
	if (res->size > (uint64_t)APD_UPLOAD_MAX_BLOCKS * u.block_size) {
		res->failure = APD_UPF_USAGE;
		rc = apd_set_error(err, APD_FAILED, "%s: %llu bytes need more than %u blocks of %llu "
		    "bytes; give a larger block size", path, (unsigned long long)res->size,
		    APD_UPLOAD_MAX_BLOCKS, (unsigned long long)u.block_size);
		goto out;
	}
	rc = hash_file(&u);
	if (rc != APD_OK) {
		apd_prefix_error(err, "%s: ", path);
		goto out;
	}

	/* the blob's name */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (u.sas.blob) {
		res->blob_name = apd_url_decode(u.sas.blob);
	} else if (opts->blob_name) {
		res->blob_name = strdup(opts->blob_name);
		u.name_enc = apd_url_encode_path(opts->blob_name);
	} else {
		if (apd_upload_blob_name(opts->device, opts->name_time ? opts->name_time :
		    u.st.st_mtime, res->sha256, base, name, sizeof(name)) != APD_OK) {
			rc = fail(&u, APD_UPF_INTERNAL, APD_FATAL, "blob name too long");
			goto out;
		}
		res->blob_name = strdup(name);
		u.name_enc = apd_url_encode_path(name);
	}
	res->blob_url = res->blob_name ? apd_sas_public(&u.sas, u.name_enc) : NULL;
	if (res->blob_name == NULL || res->blob_url == NULL || (!u.sas.blob && u.name_enc == NULL)) {
		rc = fail(&u, APD_UPF_INTERNAL, APD_FATAL, "out of memory");
		goto out;
	}
	if (res->blob_name[0] == '\0' || strlen(res->blob_name) > 1024) {
		res->failure = APD_UPF_USAGE;
		rc = apd_set_error(err, APD_FAILED, "a blob name has 1 to 1024 characters");
		goto out;
	}
	u.content_type = content_type_for(res->blob_name);

	rc = u.ops->open(&u.http, err);
	if (rc != APD_OK) {
		res->failure = APD_UPF_INTERNAL;
		goto out;
	}
	if (res->size <= (opts->put_blob_max ? opts->put_blob_max : u.block_size))
		rc = put_small(&u);
	else
		rc = send_blocks(&u);
	if (rc == APD_OK)
		rc = verify(&u);
	if (rc == APD_OK && u.resume_unavailable && res->note[0] == '\0')
		snprintf(res->note, sizeof(res->note), "the SAS does not allow listing blocks: an "
		    "interrupted upload cannot resume");
	if (rc == APD_OK && (fstat(u.fd, &st2) != 0 || st2.st_size != u.st.st_size ||
	    APD_MTIME_S(st2) != APD_MTIME_S(u.st) || APD_MTIME_NS(st2) != APD_MTIME_NS(u.st)))
		rc = fail(&u, APD_UPF_INPUT, APD_FAILED, "%s: the file changed while it was sent; "
		    "the blob may not match it", path);
	u.done = res->size;
	progress(&u, true);
out:
	if (u.http)
		u.ops->close(u.http);
	if (u.fd >= 0)
		close(u.fd);
	free(u.held);
	free(u.name_enc);
	apd_buf_done(&u.xml);
	if (err && err->msg[0])
		apd_sas_scrub(&u.sas, err->msg, sizeof(err->msg));
	apd_sas_done(&u.sas);
	return rc;
}

/* ---- the pieces ---- */

int
apd_upload_blob_name(const char *device, time_t when, const char *sha256_hex,
    const char *file_name, char *out, size_t n)
{
	char dev[64], ext[16] = "";
	struct tm tm;
	const char *dot = NULL, *p;
	size_t fl = file_name ? strlen(file_name) : 0;
	int w;

	sanitize_device(device, dev, sizeof(dev));
	if (gmtime_r(&when, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* .tar.X keeps both parts; otherwise the last extension, if it is short and plain */
	if (fl) {
		for (p = file_name + fl; p > file_name && p[-1] != '/'; p--)
			if (p[-1] == '.') {
				dot = p - 1;
				break;
			}
		if (dot && dot - file_name >= 4 && strncasecmp(dot - 4, ".tar", 4) == 0)
			dot -= 4;
		if (dot && dot > file_name && strlen(dot) < sizeof(ext)) {
			size_t i, ok = 1;
			for (i = 1; dot[i]; i++)
				if (!((dot[i] >= 'a' && dot[i] <= 'z') || (dot[i] >= 'A' && dot[i] <= 'Z') ||
				    (dot[i] >= '0' && dot[i] <= '9') || dot[i] == '.'))
					ok = 0;
			if (ok && dot[1])
				snprintf(ext, sizeof(ext), "%s", dot);
		}
	}
	w = snprintf(out, n, "apdiag-%s-%04d%02d%02dT%02d%02d%02dZ-%.12s%s", dev, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    sha256_hex ? sha256_hex : "", ext);
	return w < 0 || (size_t)w >= n ? APD_FAILED : APD_OK;
}

void
apd_upload_block_id(const char *sha256_hex, uint64_t block_size, uint32_t index,
    char out[APD_UPLOAD_BLOCK_ID_LEN + 1])
{
	char raw[40];

	snprintf(raw, sizeof(raw), "apd1%.16s%08x%08x", sha256_hex,
	    (unsigned)(block_size > 0xFFFFFFFFu ? 0xFFFFFFFFu : block_size), (unsigned)index);
	apd_base64(raw, 36, out);
}

long
apd_upload_block_index(const char *id, const char *sha256_hex, uint64_t block_size)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char want[APD_UPLOAD_BLOCK_ID_LEN + 1], prefix[40], raw[37];
	unsigned long idx;
	char *end;
	size_t i, k;

	if (id == NULL || strlen(id) != APD_UPLOAD_BLOCK_ID_LEN)
		return -1;
	for (i = 0; i < APD_UPLOAD_BLOCK_ID_LEN; i += 4) {
		unsigned v = 0;
		for (k = 0; k < 4; k++) {
			const char *c = strchr(tab, id[i + k]);
			if (c == NULL)
				return -1;
			v = v << 6 | (unsigned)(c - tab);
		}
		raw[i / 4 * 3] = (char)(v >> 16);
		raw[i / 4 * 3 + 1] = (char)(v >> 8);
		raw[i / 4 * 3 + 2] = (char)v;
	}
	raw[36] = '\0';
	snprintf(prefix, sizeof(prefix), "apd1%.16s%08x", sha256_hex,
	    (unsigned)(block_size > 0xFFFFFFFFu ? 0xFFFFFFFFu : block_size));
	if (memcmp(raw, prefix, 28) != 0)
		return -1;
	errno = 0;
	idx = strtoul(raw + 28, &end, 16);
	if (errno || *end || idx > 0xFFFFFFFFul)
		return -1;
	apd_upload_block_id(sha256_hex, block_size, (uint32_t)idx, want);
	return strcmp(want, id) == 0 ? (long)idx : -1;
}

long
apd_upload_backoff_ms(unsigned attempt, uint32_t r)
{
	long d = APD_UPLOAD_BACKOFF_BASE_MS;

	while (attempt-- > 0 && d < APD_UPLOAD_BACKOFF_CAP_MS)
		d *= 2;
	if (d > APD_UPLOAD_BACKOFF_CAP_MS)
		d = APD_UPLOAD_BACKOFF_CAP_MS;
	/* "equal jitter": half fixed, half random, so retries from many devices spread out */
	return d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
}

bool
apd_upload_retry_after(const char *v, time_t now, long *ms)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	unsigned long secs;
	char *end;
	struct tm tm;
	char m[4];
	int d, y, hh, mm, ss, i, used = 0;
	time_t t;

	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		secs = strtoul(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno || *end || secs > 86400ul)
			return false;
		*ms = (long)secs * 1000;
		return true;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (strlen(v) < 29 || v[3] != ',' ||
	    sscanf(v + 4, " %2d %3s %4d %2d:%2d:%2d GMT%n", &d, m, &y, &hh, &mm, &ss, &used) != 6 ||
	    v[4 + used] != '\0')
		return false;
	memset(&tm, 0, sizeof(tm));
	for (i = 0; i < 12; i++)
		if (strcmp(m, mon[i]) == 0)
			break;
	if (i == 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || y < 1970)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = i;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	if (t <= now)
		*ms = 0;
	else if (t - now > 86400)
		return false;
	else
		*ms = (long)(t - now) * 1000;
	return true;
}

bool
apd_upload_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	    status == 504;
}
