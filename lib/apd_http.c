/*
 * apd_http.c - the request helpers of the transport interface (apd_http.h),
 * shared by every transport: libcurl (apd_http_curl.c) and WinHTTP
 * (apd_http_winhttp.c).
 */
#include "apd_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void
apd_http_req_init(struct apd_http_req *r)
{
	memset(r, 0, sizeof(*r));
	apd_buf_init(&r->head, APD_HTTP_RESP_HEAD_MAX);
	apd_buf_init(&r->resp, APD_HTTP_RESP_BODY_MAX);
}

void
apd_http_req_reset(struct apd_http_req *r)
{
	r->result = APD_HTTP_OTHER;
	r->status = 0;
	r->sent = 0;
	r->errmsg[0] = '\0';
	apd_buf_reset(&r->head);
	apd_buf_reset(&r->resp);
}

void
apd_http_req_done(struct apd_http_req *r)
{
	apd_buf_done(&r->head);
	apd_buf_done(&r->resp);
}

bool
apd_http_req_add_header(struct apd_http_req *r, const char *line)
{
	size_t i;

	for (i = 0; i < APD_HTTP_MAX_HEADERS; i++)
		if (r->headers[i] == NULL) {
			r->headers[i] = line;
			r->headers[i + 1] = NULL;
			return true;
		}
	return false;
}

bool
apd_http_header(const struct apd_http_req *r, const char *name, char *out, size_t n)
{
	const char *p = r->head.p, *end, *v, *ve;
	size_t nl = strlen(name);
	bool found = false;

	if (p == NULL || n == 0)
		return false;
	end = p + r->head.n;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			v = p + nl + 1;
			ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			snprintf(out, n, "%.*s", (int)(ve - v), v);
			found = true;
		}
		p = eol + 1;
	}
	return found;
}
