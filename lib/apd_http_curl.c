/*
 * apd_http_curl.c - the uploader's transport on libcurl (see apd_http.h).
 *
 * One curl multi handle runs every request of a transport concurrently and
 * keeps the connections alive between them.  Exported: apd_http_curl_ops and
 * apd_http_default() (the request helpers are in apd_http.c); the rest is
 * file scope.
 *
 * Never set here, on purpose: CURLOPT_VERBOSE and any debug callback (they
 * would print the URL with its SAS), CURLOPT_PROXY and CURLOPT_NOPROXY (so
 * libcurl follows http_proxy / https_proxy / no_proxy from the environment),
 * CURLOPT_FOLLOWLOCATION (a redirect is reported, not followed: following it
 * could carry the SAS to another host).
 */
#include "apd_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct apd_http {
	CURLM *multi;
	size_t running;          /* requests submitted and not yet reported or cancelled */
};

struct curl_priv {
	CURL *easy;
	struct curl_slist *hdrs;
	size_t off;              /* body bytes handed to libcurl */
	curl_off_t last_ul, last_dl;   /* byte counts at the last move */
	double last_move;        /* monotonic seconds when a byte last moved */
	bool stalled;            /* aborted by on_xfer: nothing moved for stall_ms */
	char errbuf[CURL_ERROR_SIZE];
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int global_refs;

/* ---- libcurl callbacks ---- */

static size_t
on_read(char *dst, size_t size, size_t nmemb, void *ud)
{
	struct apd_http_req *r = ud;
	struct curl_priv *cp = r->priv;
	size_t want = size * nmemb, left = r->body_len - cp->off;

	if (want > left)
		want = left;
	if (want)
		memcpy(dst, r->body + cp->off, want);
	cp->off += want;
	return want;
}

/* libcurl rewinds the body when it resends a request on a fresh connection */
static int
on_seek(void *ud, curl_off_t offset, int origin)
{
	struct apd_http_req *r = ud;
	struct curl_priv *cp = r->priv;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	cp->off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct apd_http_req *r = ud;
	size_t n = size * nmemb;

	/* a new status line (after 100 Continue, or a retried auth) starts over */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		apd_buf_reset(&r->head);
		return n;
	}
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (n == 0)
		return size * nmemb;
	if (apd_buf_add(&r->head, p, n) != APD_OK || apd_buf_addc(&r->head, '\n') != APD_OK)
		return 0;   /* far too many headers: abort this transfer */
	return size * nmemb;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct apd_http_req *r = ud;

	if (apd_buf_add(&r->resp, p, size * nmemb) != APD_OK)
		return 0;
	return size * nmemb;
}

/*
 * Progress, and stall detection: libcurl calls this at least once a second.
 * (CURLOPT_LOW_SPEED_TIME averages over a window of several seconds, so a
 * stall right after a burst is noticed late; this is exact.)
 */
static int
on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct apd_http_req *r = ud;
	struct curl_priv *cp = r->priv;
	double t = mono();

	(void)dltotal;
	(void)ultotal;
	if (ulnow > 0)
		r->sent = (uint64_t)ulnow;
	if (ulnow != cp->last_ul || dlnow != cp->last_dl) {
		cp->last_ul = ulnow;
		cp->last_dl = dlnow;
		cp->last_move = t;
	} else if (r->stall_ms > 0 && (t - cp->last_move) * 1000 > (double)r->stall_ms) {
		cp->stalled = true;
		return 1;   /* abort: CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

/* ---- the transport ---- */

static int
curl_open(struct apd_http **out, struct apd_error *err)
{
	struct apd_http *h;

	*out = NULL;
	if (global_refs++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		global_refs--;
		return apd_set_error(err, APD_FATAL, "libcurl could not be initialised");
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->multi = curl_multi_init()) == NULL) {
		free(h);
		if (--global_refs == 0)
			curl_global_cleanup();
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	/* several requests to one host share a few connections */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	*out = h;
	return APD_OK;
}

static void
priv_free(struct apd_http_req *r)
{
	struct curl_priv *cp = r->priv;

	if (cp == NULL)
		return;
	curl_easy_cleanup(cp->easy);
	curl_slist_free_all(cp->hdrs);
	free(cp);
	r->priv = NULL;
}

static int
curl_submit(struct apd_http *h, struct apd_http_req *r, struct apd_error *err)
{
	struct curl_priv *cp;
	CURL *e;
	size_t i;

	apd_http_req_reset(r);
	cp = calloc(1, sizeof(*cp));
	if (cp == NULL || (cp->easy = curl_easy_init()) == NULL) {
		free(cp);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	r->priv = cp;
	e = cp->easy;
	for (i = 0; r->headers[i]; i++) {
		struct curl_slist *n = curl_slist_append(cp->hdrs, r->headers[i]);
		if (n == NULL)
			goto oom;
		cp->hdrs = n;
	}
	{
		/* no "Expect: 100-continue": it costs a round trip per block */
		struct curl_slist *n = curl_slist_append(cp->hdrs, "Expect:");
		if (n == NULL)
			goto oom;
		cp->hdrs = n;
	}
	curl_easy_setopt(e, CURLOPT_URL, r->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, cp->hdrs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cp->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "apdiag/" APD_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (r->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	cp->last_move = mono();
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
	if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		priv_free(r);
		return apd_set_error(err, APD_FATAL, "libcurl refused a request");
	}
	h->running++;
	return APD_OK;
oom:
	priv_free(r);
	return apd_set_error(err, APD_FATAL, "out of memory");
}

static int
classify(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return APD_HTTP_DONE;
	case CURLE_OPERATION_TIMEDOUT:
		return APD_HTTP_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:   /* also a reset during the handshake */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_SEND_FAIL_REWIND:
		return APD_HTTP_NETWORK;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return APD_HTTP_TLS;
	default:
		return APD_HTTP_OTHER;
	}
}

static int
curl_wait(struct apd_http *h, long timeout_ms, struct apd_http_req **done, struct apd_error *err)
{
	CURLMsg *m;
	int still, left;

	*done = NULL;
	for (;;) {
		if (curl_multi_perform(h->multi, &still) != CURLM_OK)
			return apd_set_error(err, APD_FATAL, "libcurl's multi interface failed");
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct apd_http_req *r;
			struct curl_priv *cp;
			char *pv = NULL;
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &pv);
			r = (struct apd_http_req *)(void *)pv;
			cp = r->priv;
			r->result = classify(m->data.result);
			if (cp->stalled) {
				r->result = APD_HTTP_TIMEOUT;
				snprintf(cp->errbuf, sizeof(cp->errbuf), "no data moved for %ld s",
				    (r->stall_ms + 999) / 1000);
			}
			if (r->result == APD_HTTP_DONE) {
				curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
				r->status = code;
			} else {
				/* libcurl's own words, never the URL: its error buffer names hosts */
				snprintf(r->errmsg, sizeof(r->errmsg), "%s",
				    cp->errbuf[0] ? cp->errbuf : curl_easy_strerror(m->data.result));
			}
			curl_multi_remove_handle(h->multi, m->easy_handle);
			priv_free(r);
			h->running--;
			*done = r;
			return APD_OK;
		}
		if (timeout_ms <= 0 || h->running == 0)
			return APD_OK;
		{
			long step = timeout_ms > 100 ? 100 : timeout_ms;
			if (curl_multi_poll(h->multi, NULL, 0, (int)step, NULL) != CURLM_OK)
				return apd_set_error(err, APD_FATAL, "libcurl's multi interface failed");
			timeout_ms -= step;
		}
	}
}

static void
curl_cancel(struct apd_http *h, struct apd_http_req *r)
{
	struct curl_priv *cp = r->priv;

	if (cp == NULL)
		return;
	curl_multi_remove_handle(h->multi, cp->easy);
	priv_free(r);
	h->running--;
}

static void
curl_close(struct apd_http *h)
{
	if (h == NULL)
		return;
	curl_multi_cleanup(h->multi);
	free(h);
	if (--global_refs == 0)
		curl_global_cleanup();
}

const struct apd_http_ops apd_http_curl_ops = {
	"libcurl",      /* name */
	curl_open,      /* open */
	curl_submit,    /* submit */
	curl_wait,      /* wait */
	curl_cancel,    /* cancel */
	curl_close,     /* close */
};

const struct apd_http_ops *
apd_http_default(void)
{
	return &apd_http_curl_ops;
}
