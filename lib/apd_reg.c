/*
 * apd_reg.c - registry values in text form (see apd_reg.h).
 *
 * Exports the apd_reg_* functions declared in apd_reg.h that are not inline
 * there: apd_reg_snip and apd_reg_cap, value decoding (hive names, hex
 * numbers, hex byte lists, raw data to struct apd_regval) and struct
 * apd_reg_reader, the line skeleton shared by the registry text parsers.
 * Everything else has file scope.
 */
#include "apd_reg.h"
#include "apd_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- lexical helpers ---- */

/* Hex digit values plus one, so that 0 means "not a hex digit". */
static const unsigned char hexv[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Value of hex digit c, or -1. */
static int
hexval(char c)
{
	return (int)hexv[(unsigned char)c] - 1;
}

int
apd_reg_snip(const char *p, size_t n)
{
	if (n <= APD_REG_SNIP)
		return (int)n;
	n = APD_REG_SNIP;
	while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

size_t
apd_reg_cap(size_t n, size_t k)
{
	return (n > (SIZE_MAX - 64) / k ? SIZE_MAX - 64 : n * k) + 64;
}

/* ---- value decoding ---- */

const char *
apd_reg_hive_normalise(const char *p, size_t n)
{
	static const char *const map[][2] = {
		{ "HKEY_LOCAL_MACHINE", "HKLM" }, { "HKEY_CURRENT_USER", "HKCU" },
		{ "HKEY_USERS", "HKU" }, { "HKEY_CLASSES_ROOT", "HKCR" },
		{ "HKEY_CURRENT_CONFIG", "HKCC" },
		{ "HKLM", "HKLM" }, { "HKCU", "HKCU" }, { "HKU", "HKU" }, { "HKCR", "HKCR" },
		{ "HKCC", "HKCC" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i][0]) == n && apd_reg_istarts(p, n, map[i][0]))
			return map[i][1];
	return NULL;
}

bool
apd_reg_hex_number(const char *p, size_t n, size_t max_digits, uint64_t *out)
{
	uint64_t u = 0;
	size_t i;
	int h;

	if (n == 0 || n > max_digits)
		return false;
	for (i = 0; i < n; i++) {
		if ((h = hexval(p[i])) < 0)
			return false;
		u = u << 4 | (uint64_t)h;
	}
	*out = u;
	return true;
}

int
apd_reg_hex_prefix(const char *p, size_t n, int *type, size_t *len)
{
	uint64_t u = 0;
	size_t j;

	if (apd_reg_istarts(p, n, "hex:")) {
		*type = APD_REG_BINARY;
		*len = 4;
		return 1;
	}
	if (!apd_reg_istarts(p, n, "hex("))
		return 0;
	for (j = 4; j < n && j < 12 && hexval(p[j]) >= 0; j++)
		u = u << 4 | (uint64_t)hexval(p[j]);
	if (j == 4 || j + 1 >= n || p[j] != ')' || p[j + 1] != ':' || u > 0x7fffffff)
		return -1;
	*type = (int)u;
	*len = j + 2;
	return 1;
}

int
apd_reg_hex_decode(const char *p, size_t n, struct apd_buf *b, bool *full, bool *more,
    const char **why)
{
	unsigned char chunk[256];
	size_t i = 0, k = 0;
	int h, l, rc;

	*more = false;
	*why = NULL;
	for (;;) {
		i = apd_reg_skip_blanks(p, n, i);
		if (i >= n)
			break;
		if (p[i] == '\\') {
			if (apd_reg_skip_blanks(p, n, i + 1) != n)
				*why = "text after the continuation '\\'";
			else
				*more = true;
			break;
		}
		if ((h = hexval(p[i])) < 0) {
			*why = "not a hex digit";
			break;
		}
		i++;
		if (i < n && (l = hexval(p[i])) >= 0) {
			h = h * 16 + l;
			i++;
			if (i < n && hexval(p[i]) >= 0) {
				*why = "more than two hex digits in a byte";
				break;
			}
		}
		chunk[k++] = (unsigned char)h;
		if (k == sizeof(chunk)) {
			if (!*full && (rc = apd_buf_add(b, chunk, k)) != APD_OK) {
				if (rc != APD_FAILED)
					return rc;
				*full = true;
			}
			k = 0;
		}
		i = apd_reg_skip_blanks(p, n, i);
		if (i < n && p[i] == ',')
			i++;
		else if (i < n && p[i] != '\\') {
			*why = "expected ',' between bytes";
			break;
		}
	}
	if (k && !*full && (rc = apd_buf_add(b, chunk, k)) != APD_OK) {
		if (rc != APD_FAILED)
			return rc;
		*full = true;
	}
	return APD_OK;
}

/* Append a string of value data (UTF-16LE, or 8-bit if ansi) to b as UTF-8. */
static int
add_str(struct apd_buf *b, const unsigned char *p, size_t n, bool ansi)
{
	if (!ansi)
		return apd_utf16_to_utf8(b, p, n, false);
	if (apd_utf8_valid((const char *)p, n))
		return apd_buf_add(b, p, n);
	return apd_cp1252_to_utf8(b, (const char *)p, n);
}

/* Length of p without its trailing NUL characters (bytes, or UTF-16 units). */
static size_t
strip_nuls(const unsigned char *p, size_t n, bool ansi)
{
	if (ansi) {
		while (n > 0 && p[n - 1] == 0)
			n--;
	} else if ((n & 1) == 0) {
		while (n >= 2 && p[n - 2] == 0 && p[n - 1] == 0)
			n -= 2;
	}
	return n;
}

/*
 * REG_MULTI_SZ data as a JSON array of strings into out (tmp is scratch).
 * The terminating NULs are dropped; empty strings inside are kept.
 * Returns APD_OK, APD_FAILED (a buffer cap) or APD_FATAL.
 */
static int
multi_sz_to_json(struct apd_buf *out, struct apd_buf *tmp, const unsigned char *p, size_t n,
    bool ansi)
{
	struct apd_jw jw;
	size_t unit = ansi ? 1 : 2, m, i, start = 0;
	int rc;

	apd_buf_reset(out);
	apd_jw_begin_array(&jw, out);
	m = strip_nuls(p, n, ansi);
	for (i = 0; m > 0 && i + unit <= m; i += unit) {
		if (p[i] != 0 || (unit == 2 && p[i + 1] != 0))
			continue;
		apd_buf_reset(tmp);
		if ((rc = add_str(tmp, p + start, i - start, ansi)) != APD_OK)
			return rc;
		apd_jw_str(&jw, NULL, apd_buf_sv(tmp));
		start = i + unit;
	}
	if (m > 0) {
		apd_buf_reset(tmp);
		if ((rc = add_str(tmp, p + start, m - start, ansi)) != APD_OK)
			return rc;
		apd_jw_str(&jw, NULL, apd_buf_sv(tmp));
	}
	return apd_jw_end(&jw);
}

/* A little-endian unsigned number of n bytes (at most 8). */
static uint64_t
le_uint(const unsigned char *b, size_t n)
{
	uint64_t u = 0;

	while (n-- > 0)
		u = u << 8 | b[n];
	return u;
}

int
apd_reg_value_from_bytes(struct apd_regval *rv, int type, const void *data, size_t n,
    bool ansi, struct apd_buf *text, struct apd_buf *tmp)
{
	const unsigned char *b = data ? data : (const void *)"";
	uint64_t u;
	int rc = APD_OK;

	rv->type = type;
	rv->kind = APD_RV_BLOB;
	rv->blob = b;
	rv->blob_len = n;
	switch (type) {
	case APD_REG_SZ:
	case APD_REG_EXPAND_SZ:
	case APD_REG_LINK:
		apd_buf_reset(text);
		rc = add_str(text, b, strip_nuls(b, n, ansi), ansi);
		rv->kind = APD_RV_TEXT;
		break;
	case APD_REG_MULTI_SZ:
		rc = multi_sz_to_json(text, tmp, b, n, ansi);
		rv->kind = APD_RV_TEXT;
		break;
	case APD_REG_DWORD:
		if (n == 4) {
			rv->num = (int64_t)le_uint(b, 4);
			rv->kind = APD_RV_INT;
		}
		break;
	case APD_REG_DWORD_BIG_ENDIAN:
		if (n == 4) {
			rv->num = (int64_t)((uint32_t)b[3] | (uint32_t)b[2] << 8 |
			    (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24);
			rv->kind = APD_RV_INT;
		}
		break;
	case APD_REG_QWORD:
		if (n == 8) {
			u = le_uint(b, 8);
			memcpy(&rv->num, &u, sizeof(u));   /* the bit pattern, see apd_sink.h */
			rv->kind = APD_RV_INT;
		}
		break;
	default:
		break;   /* BINARY, NONE, resource lists, unknown: raw bytes */
	}
	/* a DWORD or QWORD of the wrong size stays a blob: the data is kept as it is */
	if (rc != APD_OK)
		return rc;
	if (rv->kind == APD_RV_TEXT)
		rv->text = apd_buf_sv(text);
	if (rv->kind != APD_RV_BLOB) {
		rv->blob = NULL;
		rv->blob_len = 0;
	}
	return APD_OK;
}

/* ---- the line reader ---- */

/* Note a sink's code other than APD_OK, which stops the reader; returns rc. */
static int
sink_rc(struct apd_reg_reader *r, int rc)
{
	if (rc != APD_OK)
		r->sink_stop = true;
	return rc;
}

int
apd_reg_warn(struct apd_reg_reader *r, uint64_t line, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->nwarn++;
	return sink_rc(r, apd_emit_warn(r->ps->sink, line, off, "line %llu: %s",
	    (unsigned long long)line, msg));
}

int
apd_reg_emit(struct apd_reg_reader *r, struct apd_regval *rv, uint64_t off)
{
	if (!r->have_key) {
		if (r->quiet_skip)
			return APD_OK;
		return apd_reg_warn(r, rv->line, off, "value '%.*s' outside of any key: skipped",
		    APD_REG_SNIP_SV(rv->name));
	}
	return sink_rc(r, apd_emit_regval(r->ps->sink, rv));
}

/* "[HKEY_...\path]" or "[-...]": switch to that key.  Returns APD_OK or a sink code. */
static int
key_line(struct apd_reg_reader *r, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_regval rv;
	const char *in, *bs;
	size_t e = n, in_n, root_n;
	int rc;

	r->started = true;
	r->have_key = false;
	r->quiet_skip = true;
	while (e > 1 && p[e - 1] != ']')
		e--;
	if (e <= 1)
		return apd_reg_warn(r, lno, off,
		    "key line without a closing ']': '%.*s' (its values are skipped)",
		    apd_reg_snip(p, n), p);
	in = p + 1;
	in_n = e - 2;
	if (r->key_deletions && in_n > 0 && in[0] == '-')
		return apd_reg_warn(r, lno, off, "key deletion '%.*s' ignored",
		    apd_reg_snip(in, in_n), in);
	bs = memchr(in, '\\', in_n);
	root_n = bs ? (size_t)(bs - in) : in_n;
	r->hive = apd_reg_hive_normalise(in, root_n);
	if (r->hive == NULL)
		return apd_reg_warn(r, lno, off,
		    "unknown registry root '%.*s' (its values are skipped)",
		    apd_reg_snip(in, root_n), in);
	apd_buf_reset(&r->key);
	if (bs && (rc = apd_buf_add(&r->key, bs + 1, in_n - root_n - 1)) != APD_OK)
		return rc;   /* cannot be APD_FAILED: the key is shorter than a line */
	if (e < n && (rc = apd_reg_warn(r, lno, off, "text after the key's ']' ignored")) != APD_OK)
		return rc;
	r->have_key = true;
	r->quiet_skip = false;
	apd_reg_rv(r, &rv, lno);
	return sink_rc(r, apd_emit_regval(r->ps->sink, &rv));
}

/* Decode and emit the hex value just completed.  Returns APD_OK or a sink/fatal code. */
static int
hex_done(struct apd_reg_reader *r)
{
	struct apd_regval rv;
	int rc;

	if (r->full)
		return apd_reg_warn(r, r->v_line, r->v_off,
		    "value '%.*s' is larger than %zu bytes: skipped",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)), r->ps->lim->max_record);
	apd_reg_rv(r, &rv, r->v_line);
	rv.name = apd_buf_sv(&r->name);
	rc = apd_reg_value_from_bytes(&rv, r->type, r->bytes.p, r->bytes.n, r->ansi, &r->text,
	    &r->tmp);
	if (rc == APD_FAILED)
		return apd_reg_warn(r, r->v_line, r->v_off,
		    "value '%.*s' is too large once decoded: skipped",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)));
	if (rc != APD_OK)
		return rc;
	return apd_reg_emit(r, &rv, r->v_off);
}

/* More of a hex list: the part after "hex(n):" or a continuation line. */
static int
hex_more(struct apd_reg_reader *r, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	const char *why;
	bool more;
	int rc;

	if ((rc = apd_reg_hex_decode(p, n, &r->bytes, &r->full, &more, &why)) != APD_OK)
		return rc;
	if (why) {
		r->cont = false;
		r->orphan = n > 0 && p[n - 1] == '\\';
		return apd_reg_warn(r, lno, off, "value '%.*s' (line %llu): %s in '%.*s': skipped",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)), (unsigned long long)r->v_line, why,
		    apd_reg_snip(p, n), p);
	}
	r->cont = more;
	if (more)
		return APD_OK;
	return hex_done(r);
}

int
apd_reg_hex_begin(struct apd_reg_reader *r, int type, const char *p, size_t n, uint64_t lno,
    uint64_t off)
{
	apd_buf_reset(&r->bytes);
	r->type = type;
	r->full = false;
	r->v_line = lno;
	r->v_off = off;
	return hex_more(r, p, n, lno, off);
}

/* One line, not cut.  Returns APD_OK or a sink/fatal code. */
static int
one_line(struct apd_reg_reader *r, const char *p, size_t n, uint64_t lno, uint64_t off,
    int (*line)(void *, const char *, size_t, uint64_t, uint64_t), void *ud)
{
	size_t i = apd_reg_skip_blanks(p, n, 0);
	int rc;

	while (n > i && apd_reg_is_blank(p[n - 1]))
		n--;
	p += i;
	n -= i;
	if (r->open_end && n > 0 && (r->cont || r->ends_every_line)) {
		if (r->cont) {
			r->cont = false;
			return apd_reg_warn(r, lno, off,
			    "the file ends without a line end inside value '%.*s' (line %llu): "
			    "skipped as cut",
			    APD_REG_SNIP_SV(apd_buf_sv(&r->name)), (unsigned long long)r->v_line);
		}
		if (!r->started)
			r->pre_lines++;
		return apd_reg_warn(r, lno, off,
		    "the file ends without a line end: last line skipped as cut");
	}
	if (r->cont) {
		if (n > 0 && hexval(p[0]) >= 0)
			return hex_more(r, p, n, lno, off);
		r->cont = false;
		rc = apd_reg_warn(r, r->v_line, r->v_off,
		    "value '%.*s' ends at line %llu in the middle of its data: skipped",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	if (n == 0 || (r->comments && p[0] == ';')) {
		r->orphan = false;
		return APD_OK;
	}
	if (r->orphan && hexval(p[0]) >= 0)
		return APD_OK;
	r->orphan = false;
	if (p[0] == '[')
		return key_line(r, p, n, lno, off);
	if (!r->started)
		r->pre_lines++;
	return line(ud, p, n, lno, off);
}

/* A line cut at max_line: skip it and whatever depended on it. */
static int
cut_line(struct apd_reg_reader *r, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	size_t i = apd_reg_skip_blanks(p, n, 0);
	bool key = i < n && p[i] == '[';
	int rc;

	if (r->cont) {
		r->cont = false;
		rc = apd_reg_warn(r, r->v_line, r->v_off,
		    "value '%.*s' goes on in the overlong line %llu: skipped",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	r->orphan = true;
	if (key) {
		r->started = true;
		r->have_key = false;
		r->quiet_skip = true;
	} else if (!r->started) {
		r->pre_lines++;
	}
	return apd_reg_warn(r, lno, off, "line longer than %zu bytes: skipped%s",
	    r->ps->lim->max_line, key ? " with the values of its key" : "");
}

void
apd_reg_reader_init(struct apd_reg_reader *r, struct apd_parse *ps, size_t text_cap)
{
	size_t ml = ps->lim->max_line, mr = ps->lim->max_record;

	memset(r, 0, sizeof(*r));
	r->ps = ps;
	apd_lines_init(&r->lr, ps->in, ml);
	/* a decoded line: UTF-16 to UTF-8 grows by up to 3/2 */
	apd_buf_init(&r->key, apd_reg_cap(ml, 3));
	apd_buf_init(&r->name, apd_reg_cap(ml, 3));
	apd_buf_init(&r->bytes, mr < SIZE_MAX ? mr + 1 : mr);
	apd_buf_init(&r->text, text_cap);
	apd_buf_init(&r->tmp, apd_reg_cap(mr, 2));
}

int
apd_reg_reader_run(struct apd_reg_reader *r,
    int (*line)(void *ud, const char *p, size_t n, uint64_t lno, uint64_t off), void *ud,
    const char *not_mine)
{
	struct apd_parse *ps = r->ps;
	struct apd_sv l;
	int rc;

	for (;;) {
		rc = apd_lines_next(&r->lr, &l);
		if (rc == APD_EOF) {
			rc = APD_OK;
			break;
		}
		r->open_end = r->lr.eof;   /* EOF came before a line end */
		if (rc == APD_OK)
			rc = one_line(r, l.p, l.n, r->lr.lineno, r->lr.offset, line, ud);
		else if (rc == APD_WARN)
			rc = cut_line(r, l.p, l.n, r->lr.lineno, r->lr.offset);
		if (rc != APD_OK)
			goto out;
		if (!r->started && (r->pre_lines >= APD_REG_START_MAX ||
		    r->lr.next_offset > APD_STREAM_HEAD)) {
			rc = apd_set_error(ps->err, APD_FAILED, "%s:%llu: %s",
			    ps->path, (unsigned long long)r->lr.lineno, not_mine);
			goto out;
		}
	}
	if (r->cont && (rc = apd_reg_warn(r, r->v_line, r->v_off,
	    "file ends in the middle of value '%.*s': skipped",
	    APD_REG_SNIP_SV(apd_buf_sv(&r->name)))) != APD_OK)
		goto out;
	if (!r->started && r->pre_lines > 0) {
		rc = apd_set_error(ps->err, APD_FAILED, "%s:%llu: %s",
		    ps->path, (unsigned long long)r->lr.lineno, not_mine);
		goto out;
	}
	rc = r->nwarn ? APD_WARN : APD_OK;
out:
	if (rc == APD_FATAL && !r->sink_stop && ps->err->code == APD_OK)
		apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	return rc;
}

void
apd_reg_reader_done(struct apd_reg_reader *r)
{
	apd_buf_done(&r->key);
	apd_buf_done(&r->name);
	apd_buf_done(&r->bytes);
	apd_buf_done(&r->text);
	apd_buf_done(&r->tmp);
	apd_lines_done(&r->lr);
}
