/*
 * apd_buf.c - bounded growable buffer, plus the few tiny helpers of apd.h.
 */
#include "apd_buf.h"
#include "apd_limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef APD_VERSION
#define APD_VERSION "0.0.0"
#endif

const char *
apd_version(void)
{
	return APD_VERSION;
}

const char *
apd_status_name(int status)
{
	switch (status) {
	case APD_EOF: return "eof";
	case APD_OK: return "ok";
	case APD_WARN: return "warn";
	case APD_FAILED: return "failed";
	case APD_FATAL: return "fatal";
	default: return "unknown";
	}
}

struct apd_sv
apd_sv_cstr(const char *s)
{
	return s ? apd_sv(s, strlen(s)) : APD_SV_NULL;
}

void
apd_limits_default(struct apd_limits *lim)
{
	lim->max_depth = APD_DEF_MAX_DEPTH;
	lim->max_file_bytes = APD_DEF_MAX_FILE_BYTES;
	lim->max_total_bytes = APD_DEF_MAX_TOTAL_BYTES;
	lim->max_entries = APD_DEF_MAX_ENTRIES;
	lim->max_ratio = APD_DEF_MAX_RATIO;
	lim->ratio_floor = APD_DEF_RATIO_FLOOR;
	lim->max_line = APD_DEF_MAX_LINE;
	lim->max_record = APD_DEF_MAX_RECORD;
	lim->max_xml_bytes = APD_DEF_MAX_XML_BYTES;
	lim->max_xml_depth = APD_DEF_MAX_XML_DEPTH;
	lim->max_json_bytes = APD_DEF_MAX_JSON_BYTES;
	lim->max_json_depth = APD_DEF_MAX_JSON_DEPTH;
	lim->max_warnings = APD_DEF_MAX_WARNINGS;
}

void
apd_buf_init(struct apd_buf *b, size_t toobig)
{
	b->p = NULL;
	b->n = 0;
	b->cap = 0;
	b->toobig = toobig;
}

void
apd_buf_done(struct apd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
	b->cap = 0;
}

void
apd_buf_reset(struct apd_buf *b)
{
	b->n = 0;
	if (b->p)
		b->p[0] = '\0';
}

int
apd_buf_reserve(struct apd_buf *b, size_t extra)
{
	size_t need, cap;
	char *np;

	if (extra >= b->toobig || b->n >= b->toobig - extra)
		return APD_FAILED;
	need = b->n + extra + 1;
	if (need <= b->cap)
		return APD_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->toobig)
		cap = b->toobig;
	np = realloc(b->p, cap);
	if (np == NULL)
		return APD_FATAL;
	b->p = np;
	b->cap = cap;
	return APD_OK;
}

int
apd_buf_add(struct apd_buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = apd_buf_reserve(b, n)) != APD_OK)
		return rc;
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return APD_OK;
}

int
apd_buf_addc(struct apd_buf *b, char c)
{
	if (b->n + 1 < b->cap) {
		b->p[b->n++] = c;
		b->p[b->n] = '\0';
		return APD_OK;
	}
	return apd_buf_add(b, &c, 1);
}

int
apd_buf_adds(struct apd_buf *b, const char *s)
{
	return apd_buf_add(b, s, strlen(s));
}

int
apd_buf_printf(struct apd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return APD_FAILED;
	if ((rc = apd_buf_reserve(b, (size_t)n)) != APD_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
	return APD_OK;
}
