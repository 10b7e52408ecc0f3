/*
 * apd_json.c - JSON writer (see apd_json.h).
 */
#include "apd_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int
apd_json_escape(struct apd_buf *b, struct apd_sv s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i, run = 0;
	char esc[7];
	int rc;

	if (s.p == NULL)
		return apd_buf_add(b, "null", 4);
	if ((rc = apd_buf_reserve(b, s.n + 2)) != APD_OK)
		return rc;
	b->p[b->n++] = '"';
	for (i = 0; i < s.n; i++) {
		unsigned char c = p[i];
		const char *e = NULL;
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; esc[6] = 0;
			e = esc;
			el = 6;
			break;
		}
		if ((rc = apd_buf_add(b, p + run, i - run)) != APD_OK)
			return rc;
		if ((rc = apd_buf_add(b, e, el)) != APD_OK)
			return rc;
		run = i + 1;
	}
	if ((rc = apd_buf_add(b, p + run, s.n - run)) != APD_OK)
		return rc;
	return apd_buf_addc(b, '"');
}

static void
put(struct apd_jw *w, const char *s, size_t n)
{
	if (w->rc == APD_OK)
		w->rc = apd_buf_add(w->b, s, n);
}

void
apd_jw_key(struct apd_jw *w, const char *key)
{
	if (w->depth > 0 && !w->first[w->depth])
		put(w, ",", 1);
	if (w->depth > 0)
		w->first[w->depth] = false;
	if (key == NULL)
		return;
	if (w->rc == APD_OK)
		w->rc = apd_json_escape(w->b, apd_sv_cstr(key));
	put(w, ":", 1);
}

void
apd_jw_open(struct apd_jw *w, const char *key, char bracket)
{
	if (w->depth > 0)
		apd_jw_key(w, key);
	put(w, &bracket, 1);
	if (w->depth + 1 >= (int)(sizeof(w->first) / sizeof(w->first[0]))) {
		w->rc = APD_FAILED;
		return;
	}
	w->depth++;
	w->first[w->depth] = true;
	w->close[w->depth] = bracket == '[' ? ']' : '}';
}

void
apd_jw_close(struct apd_jw *w, char bracket)
{
	put(w, &bracket, 1);
	if (w->depth > 0)
		w->depth--;
}

/* Start writing a top-level value that opens with bracket ('{' or '['). */
static void
begin(struct apd_jw *w, struct apd_buf *b, char bracket)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->rc = APD_OK;
	apd_jw_open(w, NULL, bracket);
}

void
apd_jw_begin(struct apd_jw *w, struct apd_buf *b)
{
	begin(w, b, '{');
}

void
apd_jw_begin_array(struct apd_jw *w, struct apd_buf *b)
{
	begin(w, b, '[');
}

/* Close every level still open with its own bracket; returns the first failure or APD_OK. */
int
apd_jw_end(struct apd_jw *w)
{
	while (w->depth > 0)
		apd_jw_close(w, w->close[w->depth]);
	return w->rc;
}

void
apd_jw_str(struct apd_jw *w, const char *key, struct apd_sv v)
{
	apd_jw_key(w, key);
	if (w->rc == APD_OK)
		w->rc = apd_json_escape(w->b, v);
}

void
apd_jw_int(struct apd_jw *w, const char *key, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRId64, v);

	apd_jw_key(w, key);
	put(w, t, (size_t)n);
}

void
apd_jw_bool(struct apd_jw *w, const char *key, bool v)
{
	apd_jw_key(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void
apd_jw_raw(struct apd_jw *w, const char *key, struct apd_sv json)
{
	apd_jw_key(w, key);
	if (json.p == NULL)
		put(w, "null", 4);
	else
		put(w, json.p, json.n);
}
