/*
 * apd_http_winhttp.c - the uploader's transport on WinHTTP (see apd_http.h),
 * for the Windows build; apd_http_curl.c is its Linux counterpart.
 *
 * WinHTTP ships with every Windows, uses the system's TLS (Schannel) and
 * certificate store, and reads the machine's WinHTTP proxy (`netsh winhttp
 * set proxy`, which `apdiag collect` records too), which is what a device in
 * OOBE has.  Exported: apd_http_winhttp_ops and apd_http_default().
 *
 * The exchange is synchronous: submit() does the whole request and wait()
 * hands finished requests back in order, which apd_http.h allows.  The
 * uploader then runs one request at a time (--parallel has no effect here).
 *
 * Never done here, on purpose: following redirects (disabled: a redirect
 * could carry the SAS to another host), escaping the URL again (the
 * uploader encodes it; WINHTTP_FLAG_ESCAPE_DISABLE*), and putting the URL in
 * errmsg.  Timeouts: resolve and connect get the request's timeout; send
 * and receive get the stall time-out, so a request that moves nothing for
 * that long fails as APD_HTTP_TIMEOUT.
 */
#include "apd_http.h"
#include "apd_win.h"

#include <windows.h>
#include <winhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct apd_http {
	HINTERNET session;
	struct apd_http_req **done;   /* finished, not yet handed back */
	size_t ndone, cdone;
};

static int
win_open(struct apd_http **out, struct apd_error *err)
{
	struct apd_http *h = calloc(1, sizeof(*h));
	wchar_t agent[64];

	*out = NULL;
	if (h == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	swprintf(agent, 64, L"apdiag/%hs", apd_version());
	h->session = WinHttpOpen(agent, WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_NO_PROXY_NAME,
	    WINHTTP_NO_PROXY_BYPASS, 0);
	if (h->session == NULL) {
		int e = (int)GetLastError();
		free(h);
		return apd_set_win(err, APD_FATAL, e, "WinHTTP cannot start (error %d)", e);
	}
	*out = h;
	return APD_OK;
}

static int
classify(DWORD e)
{
	switch (e) {
	case ERROR_WINHTTP_TIMEOUT:
		return APD_HTTP_TIMEOUT;
	case ERROR_WINHTTP_CANNOT_CONNECT:
	case ERROR_WINHTTP_CONNECTION_ERROR:
	case ERROR_WINHTTP_NAME_NOT_RESOLVED:
	case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
	case ERROR_WINHTTP_RESEND_REQUEST:
	case ERROR_WINHTTP_OPERATION_CANCELLED:
		return APD_HTTP_NETWORK;
	case ERROR_WINHTTP_SECURE_FAILURE:
	case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
	case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
	case ERROR_WINHTTP_SECURE_CERT_REV_FAILED:
	case ERROR_WINHTTP_SECURE_INVALID_CA:
	case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
	case ERROR_WINHTTP_SECURE_INVALID_CERT:
	case ERROR_WINHTTP_SECURE_CERT_REVOKED:
		return APD_HTTP_TLS;
	default:
		return APD_HTTP_OTHER;
	}
}

static void
fail(struct apd_http_req *r, const char *step)
{
	DWORD e = GetLastError();
	char txt[160];

	r->result = classify(e);
	/* FormatMessage knows WinHTTP's codes only from winhttp.dll; the number is what counts */
	snprintf(r->errmsg, sizeof(r->errmsg), "WinHTTP %s failed: error %lu%s%s", step,
	    (unsigned long)e, e < 12000 ? ": " : "", e < 12000 ? apd_win_strerror(e, txt,
	    sizeof(txt)) : "");
}

/* Response headers as "name: value\n" lines, the status line left out. */
static void
take_headers(HINTERNET rq, struct apd_http_req *r)
{
	DWORD n = 0;
	wchar_t *w;
	char *u, *p, *eol;

	WinHttpQueryHeaders(rq, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX, NULL,
	    &n, WINHTTP_NO_HEADER_INDEX);
	if (n == 0 || (w = malloc(n + sizeof(wchar_t))) == NULL)
		return;
	if (!WinHttpQueryHeaders(rq, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
	    w, &n, WINHTTP_NO_HEADER_INDEX) || (u = apd_w2u(w, (int)(n / sizeof(wchar_t)))) == NULL) {
		free(w);
		return;
	}
	free(w);
	for (p = u; *p; p = eol) {
		size_t len;
		eol = strchr(p, '\n');
		len = eol ? (size_t)(eol - p) : strlen(p);
		eol = eol ? eol + 1 : p + len;
		while (len && p[len - 1] == '\r')
			len--;
		if (len == 0 || strncmp(p, "HTTP/", 5) == 0)
			continue;
		if (apd_buf_add(&r->head, p, len) != APD_OK || apd_buf_addc(&r->head, '\n') != APD_OK)
			break;
	}
	free(u);
}

/* The whole exchange of one request; the outcome is in r. */
static void
exchange(struct apd_http *h, struct apd_http_req *r)
{
	URL_COMPONENTS uc;
	wchar_t *url = apd_u2w(r->url), *method = apd_u2w(r->method), host[256], *hdrs = NULL;
	HINTERNET cn = NULL, rq = NULL;
	DWORD status = 0, sz = sizeof(status), flags = WINHTTP_FLAG_ESCAPE_DISABLE |
	    WINHTTP_FLAG_ESCAPE_DISABLE_QUERY, opt;
	struct apd_buf hb;
	int tmo = r->timeout_ms > 0 && r->timeout_ms < 0x7FFFFFFF ? (int)r->timeout_ms : 0;
	int stall = r->stall_ms > 0 && r->stall_ms < 0x7FFFFFFF ? (int)r->stall_ms : tmo;
	size_t i;
	char buf[65536];

	r->result = APD_HTTP_OTHER;
	apd_buf_init(&hb, 64 << 10);
	if (url == NULL || method == NULL) {
		snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
		goto out;
	}
	memset(&uc, 0, sizeof(uc));
	uc.dwStructSize = sizeof(uc);
	uc.lpszHostName = host;
	uc.dwHostNameLength = 256;
	uc.dwUrlPathLength = (DWORD)-1;
	uc.dwExtraInfoLength = (DWORD)-1;
	if (!WinHttpCrackUrl(url, 0, 0, &uc)) {
		fail(r, "URL parsing");
		goto out;
	}
	if (uc.nScheme == INTERNET_SCHEME_HTTPS)
		flags |= WINHTTP_FLAG_SECURE;
	if ((cn = WinHttpConnect(h->session, host, uc.nPort, 0)) == NULL) {
		fail(r, "connect");
		goto out;
	}
	/* path and query, as the uploader encoded them */
	rq = WinHttpOpenRequest(cn, method, uc.lpszUrlPath, NULL, WINHTTP_NO_REFERER,
	    WINHTTP_DEFAULT_ACCEPT_TYPES, flags);
	if (rq == NULL) {
		fail(r, "request");
		goto out;
	}
	opt = WINHTTP_DISABLE_REDIRECTS;
	WinHttpSetOption(rq, WINHTTP_OPTION_DISABLE_FEATURE, &opt, sizeof(opt));
	WinHttpSetTimeouts(rq, tmo, tmo, stall, stall);
	for (i = 0; i < APD_HTTP_MAX_HEADERS && r->headers[i]; i++)
		apd_buf_printf(&hb, "%s\r\n", r->headers[i]);
	if (hb.n && (hdrs = apd_u2w(hb.p)) == NULL) {
		snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
		goto out;
	}
	if (r->body_len > 0xFFFFFFFFu) {
		snprintf(r->errmsg, sizeof(r->errmsg), "request body too large for WinHTTP");
		goto out;
	}
	if (!WinHttpSendRequest(rq, hdrs ? hdrs : WINHTTP_NO_ADDITIONAL_HEADERS, hdrs ? (DWORD)-1L : 0,
	    (LPVOID)r->body, (DWORD)r->body_len, (DWORD)r->body_len, 0)) {
		fail(r, "send");
		goto out;
	}
	r->sent = r->body_len;
	if (!WinHttpReceiveResponse(rq, NULL)) {
		fail(r, "receive");
		goto out;
	}
	if (!WinHttpQueryHeaders(rq, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
	    WINHTTP_HEADER_NAME_BY_INDEX, &status, &sz, WINHTTP_NO_HEADER_INDEX)) {
		fail(r, "status");
		goto out;
	}
	take_headers(rq, r);
	if (strcmp(r->method, "HEAD") != 0) {
		for (;;) {
			DWORD got = 0;
			if (!WinHttpReadData(rq, buf, sizeof(buf), &got)) {
				fail(r, "read");
				goto out;
			}
			if (got == 0)
				break;
			if (r->resp.n + got <= APD_HTTP_RESP_BODY_MAX)   /* more is read and dropped */
				apd_buf_add(&r->resp, buf, got);
		}
	}
	r->status = (long)status;
	r->result = APD_HTTP_DONE;
out:
	if (rq)
		WinHttpCloseHandle(rq);
	if (cn)
		WinHttpCloseHandle(cn);
	apd_buf_done(&hb);
	if (hdrs) {
		SecureZeroMemory(hdrs, wcslen(hdrs) * sizeof(wchar_t));
		free(hdrs);
	}
	if (url) {
		SecureZeroMemory(url, wcslen(url) * sizeof(wchar_t));   /* it holds the SAS */
		free(url);
	}
	free(method);
}

static int
win_submit(struct apd_http *h, struct apd_http_req *r, struct apd_error *err)
{
	if (h->ndone == h->cdone) {
		size_t nc = h->cdone ? 2 * h->cdone : 16;
		struct apd_http_req **nd = realloc(h->done, nc * sizeof(*nd));
		if (nd == NULL)
			return apd_set_error(err, APD_FATAL, "out of memory");
		h->done = nd;
		h->cdone = nc;
	}
	apd_http_req_reset(r);
	exchange(h, r);
	h->done[h->ndone++] = r;
	return APD_OK;
}

static int
win_wait(struct apd_http *h, long timeout_ms, struct apd_http_req **done, struct apd_error *err)
{
	(void)err;
	*done = NULL;
	if (h->ndone == 0) {
		if (timeout_ms > 0)
			Sleep((DWORD)(timeout_ms > 1000 ? 1000 : timeout_ms));
		return APD_OK;
	}
	*done = h->done[0];
	memmove(h->done, h->done + 1, (h->ndone - 1) * sizeof(*h->done));
	h->ndone--;
	return APD_OK;
}

static void
win_cancel(struct apd_http *h, struct apd_http_req *r)
{
	size_t i;

	for (i = 0; i < h->ndone; i++)
		if (h->done[i] == r) {
			memmove(h->done + i, h->done + i + 1, (h->ndone - i - 1) * sizeof(*h->done));
			h->ndone--;
			return;
		}
}

static void
win_close(struct apd_http *h)
{
	if (h == NULL)
		return;
	WinHttpCloseHandle(h->session);
	free(h->done);
	free(h);
}

const struct apd_http_ops apd_http_winhttp_ops = {
	"WinHTTP",
	win_open,       /* open */
	win_submit,     /* submit */
	win_wait,       /* wait */
	win_cancel,     /* cancel */
	win_close,      /* close */
};

const struct apd_http_ops *
apd_http_default(void)
{
	return &apd_http_winhttp_ops;
}
