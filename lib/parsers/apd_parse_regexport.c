/*
 * apd_parse_regexport.c - reg.exe / regedit EXPORT files (DOMAIN.md §3).
 *
 * Reads "Windows Registry Editor Version 5.00" files (UTF-16LE with a BOM
 * as reg.exe and regedit write them, or UTF-8 with or without a BOM when
 * edited by hand) and legacy REGEDIT4 files (8-bit ANSI), and emits one
 * struct apd_regval per value, plus one per key line with an absent name so
 * that keys without values are kept.
 *
 * Grammar: "[HKEY_...\path]" key lines (the path runs to the last ']'),
 * "[-KEY]" deletions (skipped with a warning), "@=" default values,
 * "\"Name\"=" with `\\` and `\"` escaped inside quotes, then "\"text\"",
 * "dword:XXXXXXXX", "hex:..." or "hex(n):..." with ",\" continuation
 * lines, or "-" (value deletion, skipped with a warning).  Malformed lines
 * become warnings; the file fails only when it is not a registry file.
 *
 * Only `apd_parser_regexport` is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RX_SNIP       48      /* bytes of input quoted in a warning */
#define RX_START_MAX  16      /* non-blank lines allowed before the header or first key */
#define RX_BIN_PROBE  4096    /* head bytes checked for binary data */

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

/* ASCII lower case; other bytes unchanged. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Does p[0..n) start with the ASCII text lit, ignoring case? */
static bool
istarts(const char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (i >= n || lower(p[i]) != lower(lit[i]))
			return false;
	return true;
}

/* Blanks: spaces, tabs, and the CR of a CR CR LF line end. */
static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Index of the first non-blank byte at or after i. */
static size_t
skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && is_ws(p[i]))
		i++;
	return i;
}

/* Length of at most RX_SNIP bytes of p that does not split a UTF-8 character. */
static int
snip(const char *p, size_t n)
{
	if (n <= RX_SNIP)
		return (int)n;
	n = RX_SNIP;
	while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

/* The "%.*s" arguments quoting a string view in a warning. */
#define SNIP(sv) snip((sv).p, (sv).n), (sv).p

/* The registry's short root names; NULL when the hive is not known. */
static const char *
hive_short(const char *p, size_t n)
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
		if (strlen(map[i][0]) == n && istarts(p, n, map[i][0]))
			return map[i][1];
	return NULL;
}

/*
 * Append the bytes of a hex list ("aa,bb,...", optionally ending in "\")
 * to b while *full is false.  Sets *more when the list goes on on the next
 * line, *why to a description on a syntax error, and *full when b reached
 * its cap (the rest is checked but not stored).  Returns APD_OK, or
 * APD_FATAL when out of memory.
 */
static int
hex_list(const char *p, size_t n, struct apd_buf *b, bool *full, bool *more, const char **why)
{
	unsigned char chunk[256];
	size_t i = 0, k = 0;
	int h, l, rc;

	*more = false;
	*why = NULL;
	for (;;) {
		i = skip_ws(p, n, i);
		if (i >= n)
			break;
		if (p[i] == '\\') {
			if (skip_ws(p, n, i + 1) != n)
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
		i = skip_ws(p, n, i);
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

/* Append n bytes of 8-bit text as UTF-8 (Windows-1252 unless valid UTF-8). */
static int
add_8bit(struct apd_buf *b, const unsigned char *p, size_t n)
{
	if (apd_utf8_valid((const char *)p, n))
		return apd_buf_add(b, p, n);
	return apd_cp1252_to_utf8(b, (const char *)p, n);
}

/* Append a string of the value's data (UTF-16LE, or 8-bit if ansi) as UTF-8. */
static int
add_str(struct apd_buf *b, const unsigned char *p, size_t n, bool ansi)
{
	return ansi ? add_8bit(b, p, n) : apd_utf16_to_utf8(b, p, n, false);
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
multi_to_json(struct apd_buf *out, struct apd_buf *tmp, const unsigned char *p, size_t n,
    bool ansi)
{
	struct apd_jw jw;
	size_t unit = ansi ? 1 : 2, m, i, start = 0;
	int rc;

	apd_buf_reset(out);
	/* apd_jw_begin() opens an object; the array is opened by hand */
	memset(&jw, 0, sizeof(jw));
	jw.b = out;
	jw.rc = APD_OK;
	apd_jw_open(&jw, NULL, '[');
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
	apd_jw_close(&jw, ']');
	return jw.rc;
}

/* Parser state for one file. */
struct rx {
	struct apd_parse *ps;
	struct apd_lines lr;
	bool ansi;                /* REGEDIT4: string data in hex() is 8-bit, not UTF-16 */
	bool started;             /* a header or a key line was seen */
	bool have_key;            /* hive/key name the current key */
	bool quiet_skip;          /* values of an unusable key are dropped without a warning */
	unsigned pre_lines;       /* non-blank lines before the start */
	const char *hive;         /* short root name of the current key */
	struct apd_buf key;       /* path of the current key below the hive */
	struct apd_buf name;      /* value name, unescaped */
	struct apd_buf str;       /* string value, unescaped */
	struct apd_buf bytes;     /* data of the hex value being read */
	struct apd_buf text;      /* decoded text or JSON of a hex value */
	struct apd_buf tmp;       /* one MULTI_SZ string */
	bool open_end;            /* the current line is the last and has no line end */
	bool cont;                /* the next line continues the hex value */
	bool orphan;              /* drop continuation lines of a skipped value quietly */
	bool full;                /* the hex value passed max_record */
	int type;                 /* REG_* type of the hex value */
	uint64_t v_line, v_off;   /* where the hex value started */
	unsigned long nwarn;
	bool sink_stop;           /* a sink callback returned a code: pass it up as it is */
};

/* Note a sink's code other than APD_OK, which stops the parser; returns rc. */
static int
rx_sink(struct rx *rx, int rc)
{
	if (rc != APD_OK)
		rx->sink_stop = true;
	return rc;
}

static int rx_warn(struct rx *rx, uint64_t line, uint64_t off, const char *fmt, ...)
	APD_PRINTF(4, 5);

/* Emit a warning "line N: ..." and count it.  Returns the sink's code. */
static int
rx_warn(struct rx *rx, uint64_t line, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rx->nwarn++;
	return rx_sink(rx, apd_emit_warn(rx->ps->sink, line, off, "line %llu: %s",
	    (unsigned long long)line, msg));
}

/* A regval for the current key at line lno, with name absent. */
static void
rx_rv(const struct rx *rx, struct apd_regval *rv, uint64_t lno)
{
	memset(rv, 0, sizeof(*rv));
	rv->hive = apd_sv_cstr(rx->hive);
	rv->key = apd_buf_sv(&rx->key);
	rv->name = APD_SV_NULL;
	rv->type = APD_REG_NONE;
	rv->kind = APD_RV_BLOB;
	rv->blob = "";
	rv->line = lno;
}

/* Hand a value to the sink if it belongs to a usable key.  Returns the sink's code. */
static int
rx_emit(struct rx *rx, struct apd_regval *rv, uint64_t off)
{
	if (!rx->have_key) {
		if (rx->quiet_skip)
			return APD_OK;
		return rx_warn(rx, rv->line, off, "value '%.*s' outside of any key: skipped",
		    SNIP(rv->name));
	}
	return rx_sink(rx, apd_emit_regval(rx->ps->sink, rv));
}

/* "[HKEY_...\path]" or "[-...]": switch to that key.  Returns APD_OK or a sink code. */
static int
rx_key(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_regval rv;
	const char *in, *bs;
	size_t e = n, in_n, root_n;
	int rc;

	rx->started = true;
	rx->have_key = false;
	rx->quiet_skip = true;
	while (e > 1 && p[e - 1] != ']')
		e--;
	if (e <= 1)
		return rx_warn(rx, lno, off,
		    "key line without a closing ']': '%.*s' (its values are skipped)",
		    snip(p, n), p);
	in = p + 1;
	in_n = e - 2;
	if (in_n > 0 && in[0] == '-')
		return rx_warn(rx, lno, off, "key deletion '%.*s' ignored",
		    snip(in, in_n), in);
	bs = memchr(in, '\\', in_n);
	root_n = bs ? (size_t)(bs - in) : in_n;
	rx->hive = hive_short(in, root_n);
	if (rx->hive == NULL)
		return rx_warn(rx, lno, off,
		    "unknown registry root '%.*s' (its values are skipped)", snip(in, root_n), in);
	apd_buf_reset(&rx->key);
	if (bs && (rc = apd_buf_add(&rx->key, bs + 1, in_n - root_n - 1)) != APD_OK)
		return rc;   /* cannot be APD_FAILED: the key is shorter than a line */
	if (e < n && (rc = rx_warn(rx, lno, off, "text after the key's ']' ignored")) != APD_OK)
		return rc;
	rx->have_key = true;
	rx->quiet_skip = false;
	rx_rv(rx, &rv, lno);
	return rx_sink(rx, apd_emit_regval(rx->ps->sink, &rv));
}

/*
 * Read a quoted string with `\\` and `\"` escapes starting at p[*i] == '"'
 * into b (other backslashes are kept as written).  On success *i is just
 * past the closing quote.  Returns APD_OK, APD_WARN when the closing quote
 * is missing, or the buffer's failure code.
 */
static int
unquote(const char *p, size_t n, size_t *i, struct apd_buf *b)
{
	size_t j = *i + 1, run = j;
	int rc;

	apd_buf_reset(b);
	for (; j < n; j++) {
		if (p[j] != '"' && p[j] != '\\')
			continue;
		if (p[j] == '\\' && (j + 1 >= n || (p[j + 1] != '\\' && p[j + 1] != '"')))
			continue;
		if ((rc = apd_buf_add(b, p + run, j - run)) != APD_OK)
			return rc;
		if (p[j] == '"') {
			*i = j + 1;
			return APD_OK;
		}
		j++;   /* the escaped character starts the next run */
		run = j;
	}
	return APD_WARN;
}

/* Decode and emit the hex value just completed.  Returns APD_OK or a sink/fatal code. */
static int
rx_hex_done(struct rx *rx)
{
	const unsigned char *b = (const unsigned char *)(rx->bytes.p ? rx->bytes.p : "");
	size_t n = rx->bytes.n;
	struct apd_regval rv;
	uint64_t u = 0;
	int rc = APD_OK, k;

	if (rx->full)
		return rx_warn(rx, rx->v_line, rx->v_off,
		    "value '%.*s' is larger than %zu bytes: skipped",
		    SNIP(apd_buf_sv(&rx->name)), rx->ps->lim->max_record);
	rx_rv(rx, &rv, rx->v_line);
	rv.name = apd_buf_sv(&rx->name);
	rv.type = rx->type;
	rv.blob = b;
	rv.blob_len = n;
	switch (rx->type) {
	case APD_REG_SZ:
	case APD_REG_EXPAND_SZ:
	case APD_REG_LINK:
		apd_buf_reset(&rx->text);
		rc = add_str(&rx->text, b, strip_nuls(b, n, rx->ansi), rx->ansi);
		rv.kind = APD_RV_TEXT;
		break;
	case APD_REG_MULTI_SZ:
		rc = multi_to_json(&rx->text, &rx->tmp, b, n, rx->ansi);
		rv.kind = APD_RV_TEXT;
		break;
	case APD_REG_DWORD:
		if (n == 4) {
			rv.num = (int64_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 |
			    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
			rv.kind = APD_RV_INT;
		}
		break;
	case APD_REG_DWORD_BIG_ENDIAN:
		if (n == 4) {
			rv.num = (int64_t)((uint32_t)b[3] | (uint32_t)b[2] << 8 |
			    (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24);
			rv.kind = APD_RV_INT;
		}
		break;
	case APD_REG_QWORD:
		if (n == 8) {
			for (k = 7; k >= 0; k--)
				u = u << 8 | b[k];
			memcpy(&rv.num, &u, sizeof(u));   /* the bit pattern, see apd_sink.h */
			rv.kind = APD_RV_INT;
		}
		break;
	default:
		break;   /* BINARY, NONE, resource lists, unknown: raw bytes */
	}
	/* a DWORD or QWORD of the wrong size stays a blob: the data is kept as it is */
	if (rc == APD_FAILED)
		return rx_warn(rx, rx->v_line, rx->v_off,
		    "value '%.*s' is too large once decoded: skipped",
		    SNIP(apd_buf_sv(&rx->name)));
	if (rc != APD_OK)
		return rc;
	if (rv.kind == APD_RV_TEXT) {
		rv.text = apd_buf_sv(&rx->text);
		rv.blob = NULL;
		rv.blob_len = 0;
	} else if (rv.kind == APD_RV_INT) {
		rv.blob = NULL;
		rv.blob_len = 0;
	}
	return rx_emit(rx, &rv, rx->v_off);
}

/* More of a hex list: the first line after "hex...:" or a continuation line. */
static int
rx_hex_more(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	const char *why;
	bool more;
	int rc;

	if ((rc = hex_list(p, n, &rx->bytes, &rx->full, &more, &why)) != APD_OK)
		return rc;
	if (why) {
		rx->cont = false;
		rx->orphan = n > 0 && p[n - 1] == '\\';
		return rx_warn(rx, lno, off, "value '%.*s' (line %llu): %s in '%.*s': skipped",
		    SNIP(apd_buf_sv(&rx->name)), (unsigned long long)rx->v_line, why,
		    snip(p, n), p);
	}
	rx->cont = more;
	if (more)
		return APD_OK;
	return rx_hex_done(rx);
}

/* A value line: "@=..." or "\"Name\"=...".  Returns APD_OK or a sink/fatal code. */
static int
rx_value(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_regval rv;
	const char *v;
	size_t i = 0, vn, j;
	uint64_t u;
	int rc;

	if (p[0] == '@') {
		apd_buf_reset(&rx->name);
		if ((rc = apd_buf_add(&rx->name, "", 0)) != APD_OK)
			return rc;
		i = 1;
	} else if ((rc = unquote(p, n, &i, &rx->name)) != APD_OK) {
		if (rc != APD_WARN)
			return rc;
		return rx_warn(rx, lno, off, "value name without a closing quote: '%.*s'",
		    snip(p, n), p);
	}
	i = skip_ws(p, n, i);
	if (i >= n || p[i] != '=')
		return rx_warn(rx, lno, off, "expected '=' after the value name: '%.*s'",
		    snip(p, n), p);
	i = skip_ws(p, n, i + 1);
	v = p + i;
	vn = n - i;
	if (vn == 1 && v[0] == '-')
		return rx_warn(rx, lno, off, "deletion of value '%.*s' ignored",
		    SNIP(apd_buf_sv(&rx->name)));
	rx_rv(rx, &rv, lno);
	rv.name = apd_buf_sv(&rx->name);
	if (vn > 0 && v[0] == '"') {
		j = 0;
		if ((rc = unquote(v, vn, &j, &rx->str)) != APD_OK) {
			if (rc != APD_WARN)
				return rc;
			return rx_warn(rx, lno, off, "string value without a closing quote: '%.*s'",
			    snip(p, n), p);
		}
		if (j != vn)
			return rx_warn(rx, lno, off, "text after the string value: '%.*s'",
			    snip(v + j, vn - j), v + j);
		rv.type = APD_REG_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_buf_sv(&rx->str);
		rv.blob = NULL;
		return rx_emit(rx, &rv, off);
	}
	if (istarts(v, vn, "dword:")) {
		for (j = 6, u = 0; j < vn && j < 14 && hexval(v[j]) >= 0; j++)
			u = u << 4 | (uint64_t)hexval(v[j]);
		if (j == 6 || j != vn)
			return rx_warn(rx, lno, off, "bad dword value '%.*s'", snip(v, vn), v);
		rv.type = APD_REG_DWORD;
		rv.kind = APD_RV_INT;
		rv.num = (int64_t)u;
		rv.blob = NULL;
		return rx_emit(rx, &rv, off);
	}
	if (istarts(v, vn, "hex:")) {
		rx->type = APD_REG_BINARY;
		j = 4;
	} else if (istarts(v, vn, "hex(")) {
		for (j = 4, u = 0; j < vn && j < 12 && hexval(v[j]) >= 0; j++)
			u = u << 4 | (uint64_t)hexval(v[j]);
		if (j == 4 || j + 1 >= vn || v[j] != ')' || v[j + 1] != ':' || u > 0x7fffffff)
			return rx_warn(rx, lno, off, "bad value type '%.*s'", snip(v, vn), v);
		rx->type = (int)u;
		j += 2;
	} else {
		return rx_warn(rx, lno, off, "unknown value type '%.*s'", snip(v, vn), v);
	}
	apd_buf_reset(&rx->bytes);
	rx->full = false;
	rx->v_line = lno;
	rx->v_off = off;
	return rx_hex_more(rx, v + j, vn - j, lno, off);
}

/* A header line ("Windows Registry Editor Version 5.00" or "REGEDIT4")? */
static bool
is_header(const char *p, size_t n, bool *ansi)
{
	*ansi = false;
	if (istarts(p, n, "Windows Registry Editor Version "))
		return true;
	if (n == 8 && istarts(p, n, "REGEDIT4")) {
		*ansi = true;
		return true;
	}
	return false;
}

/* One line, not cut.  Returns APD_OK or a sink/fatal code. */
static int
rx_line(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	size_t i = skip_ws(p, n, 0);
	bool ansi;
	int rc;

	while (n > i && is_ws(p[n - 1]))
		n--;
	p += i;
	n -= i;
	/*
	 * regedit ends every line, so a last line without a line end in a
	 * UTF-16 file, or one that continues a hex value, was probably cut.
	 */
	if (rx->open_end && n > 0 && (rx->cont || rx->lr.enc >= APD_ENC_UTF16LE)) {
		if (rx->cont) {
			rx->cont = false;
			return rx_warn(rx, lno, off,
			    "the file ends without a line end inside value '%.*s' (line %llu): "
			    "skipped as cut",
			    SNIP(apd_buf_sv(&rx->name)), (unsigned long long)rx->v_line);
		}
		if (!rx->started)
			rx->pre_lines++;
		return rx_warn(rx, lno, off,
		    "the file ends without a line end: last line skipped as cut");
	}
	if (rx->cont) {
		if (n > 0 && hexval(p[0]) >= 0)
			return rx_hex_more(rx, p, n, lno, off);
		rx->cont = false;
		rc = rx_warn(rx, rx->v_line, rx->v_off,
		    "value '%.*s' ends at line %llu in the middle of its data: skipped",
		    SNIP(apd_buf_sv(&rx->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	if (n == 0 || p[0] == ';') {
		rx->orphan = false;
		return APD_OK;
	}
	if (rx->orphan && hexval(p[0]) >= 0)
		return APD_OK;
	rx->orphan = false;
	if (p[0] == '[')
		return rx_key(rx, p, n, lno, off);
	if (!rx->started)
		rx->pre_lines++;
	if (p[0] == '"' || p[0] == '@')
		return rx_value(rx, p, n, lno, off);
	if (is_header(p, n, &ansi)) {
		if (rx->started)
			return rx_warn(rx, lno, off, "header line after the first key ignored");
		rx->started = true;
		rx->ansi = ansi;
		return APD_OK;
	}
	return rx_warn(rx, lno, off, "unexpected text '%.*s'", snip(p, n), p);
}

/* A line cut at max_line: skip it and whatever depended on it. */
static int
rx_cut(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	size_t i = skip_ws(p, n, 0);
	bool key = i < n && p[i] == '[';
	int rc;

	if (rx->cont) {
		rx->cont = false;
		rc = rx_warn(rx, rx->v_line, rx->v_off,
		    "value '%.*s' goes on in the overlong line %llu: skipped",
		    SNIP(apd_buf_sv(&rx->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	rx->orphan = true;
	if (key) {
		rx->started = true;
		rx->have_key = false;
		rx->quiet_skip = true;
	} else if (!rx->started) {
		rx->pre_lines++;
	}
	return rx_warn(rx, lno, off, "line longer than %zu bytes: skipped%s",
	    rx->ps->lim->max_line, key ? " with the values of its key" : "");
}

/* Is UTF-16LE text binary: a NUL or many control characters in the first units? */
static bool
u16_looks_binary(const unsigned char *p, size_t n)
{
	size_t i, ctl = 0, units = 0;
	unsigned u;

	for (i = 0; i + 1 < n && i < RX_BIN_PROBE; i += 2, units++) {
		u = (unsigned)p[i] | (unsigned)p[i + 1] << 8;
		if (u == 0)
			return true;
		if (u < 0x20 && u != '\t' && u != '\n' && u != '\r')
			ctl++;
	}
	return units > 0 && ctl * 20 > units;
}

/* Is the input obviously not text? */
static bool
rx_binary(struct rx *rx)
{
	const unsigned char *h;
	size_t hl, bom;

	h = apd_stream_head(rx->ps->in, &hl);
	switch (apd_enc_sniff(h, hl, &bom)) {
	case APD_ENC_UTF16LE:
		return u16_looks_binary(h + bom, hl - bom);
	case APD_ENC_UTF16BE:
		return true;   /* regedit never writes big-endian */
	case APD_ENC_8BIT:
	case APD_ENC_UTF8_BOM:
	default:
		return apd_looks_binary(h + bom, hl - bom < RX_BIN_PROBE ? hl - bom : RX_BIN_PROBE);
	}
}

/* a * k, saturating so that adding 64 cannot overflow: a buffer cap. */
static size_t
mul_sat(size_t a, size_t k)
{
	return a > (SIZE_MAX - 64) / k ? SIZE_MAX - 64 : a * k;
}

/*
 * Parse a whole export.  Returns APD_OK, APD_WARN (warnings were emitted),
 * APD_FAILED (not a registry export, or the stream failed; ps->err says
 * why), APD_FATAL (out of memory) or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct rx rx;
	struct apd_sv line;
	size_t ml = ps->lim->max_line, mr = ps->lim->max_record, big;
	int rc;

	memset(&rx, 0, sizeof(rx));
	rx.ps = ps;
	if (rx_binary(&rx))
		return apd_set_error(ps->err, APD_FAILED,
		    "%s: binary data or an unsupported encoding, not a registry export", ps->path);
	apd_lines_init(&rx.lr, ps->in, ml);
	big = mul_sat(ml, 3) + 64;   /* a decoded line: UTF-16 to UTF-8 grows by up to 3/2 */
	apd_buf_init(&rx.key, big);
	apd_buf_init(&rx.name, big);
	apd_buf_init(&rx.str, big);
	apd_buf_init(&rx.bytes, mr < SIZE_MAX ? mr + 1 : mr);
	apd_buf_init(&rx.text, mul_sat(mr, 3) + 64);   /* JSON escapes of UTF-16 controls */
	apd_buf_init(&rx.tmp, mul_sat(mr, 2) + 64);
	for (;;) {
		rc = apd_lines_next(&rx.lr, &line);
		if (rc == APD_EOF) {
			rc = APD_OK;
			break;
		}
		rx.open_end = rx.lr.eof;   /* EOF came before a line end */
		if (rc == APD_OK)
			rc = rx_line(&rx, line.p, line.n, rx.lr.lineno, rx.lr.offset);
		else if (rc == APD_WARN)
			rc = rx_cut(&rx, line.p, line.n, rx.lr.lineno, rx.lr.offset);
		if (rc != APD_OK)
			goto out;
		if (!rx.started && (rx.pre_lines >= RX_START_MAX ||
		    rx.lr.next_offset > APD_STREAM_HEAD)) {
			rc = apd_set_error(ps->err, APD_FAILED,
			    "%s:%llu: not a registry export: no header or key line found",
			    ps->path, (unsigned long long)rx.lr.lineno);
			goto out;
		}
	}
	if (rx.cont && (rc = rx_warn(&rx, rx.v_line, rx.v_off,
	    "file ends in the middle of value '%.*s': skipped",
	    SNIP(apd_buf_sv(&rx.name)))) != APD_OK)
		goto out;
	if (!rx.started && rx.pre_lines > 0) {
		rc = apd_set_error(ps->err, APD_FAILED,
		    "%s:%llu: not a registry export: no header or key line found",
		    ps->path, (unsigned long long)rx.lr.lineno);
		goto out;
	}
	if (rx.lr.enc >= APD_ENC_UTF16LE && (rx.lr.next_offset & 1) &&
	    (rc = rx_warn(&rx, rx.lr.lineno, rx.lr.offset,
	    "file ends in the middle of a UTF-16 character")) != APD_OK)
		goto out;
	rc = rx.nwarn ? APD_WARN : APD_OK;
out:
	if (rc == APD_FATAL && !rx.sink_stop && ps->err->code == APD_OK)
		apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	apd_buf_done(&rx.key);
	apd_buf_done(&rx.name);
	apd_buf_done(&rx.str);
	apd_buf_done(&rx.bytes);
	apd_buf_done(&rx.text);
	apd_buf_done(&rx.tmp);
	apd_lines_done(&rx.lr);
	return rc;
}

/* Does UTF-16LE p[0..n) start with the ASCII text lit, ignoring case? */
static bool
u16_istarts(const unsigned char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (2 * i + 1 >= n || p[2 * i + 1] != 0 || lower((char)p[2 * i]) != lower(lit[i]))
			return false;
	return true;
}

/*
 * Bid: 80 for a BOM and a UTF-16LE "Windows Registry Editor Version " header,
 * 64 for "REGEDIT4", 56 for the header in UTF-8 (with or without a BOM),
 * -1 otherwise.
 */
static int
bid(const struct apd_probe *pr)
{
	static const char v5[] = "Windows Registry Editor Version ";
	const unsigned char *p = pr->head;
	size_t n = pr->len;

	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
		return u16_istarts(p + 2, n - 2, v5) ? 80 : -1;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		p += 3;
		n -= 3;
	}
	if (istarts((const char *)p, n, "REGEDIT4") &&
	    (n == 8 || p[8] == '\r' || p[8] == '\n'))
		return 64;
	if (istarts((const char *)p, n, v5))
		return 56;
	return -1;
}

const struct apd_parser apd_parser_regexport = {
	.name = "regexport",    /* name */
	.kind = "reg-export",   /* kind */
	.bid = bid,             /* bid */
	.run = run,             /* run */
	.note = NULL,           /* note */
};
