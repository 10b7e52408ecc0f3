/*
 * apd_parse_mdmregdump.c - MdmDiagReport_RegistryDump.reg, the registry dump
 * written by MdmDiagnosticsTool.exe (DOMAIN.md §1.4).
 *
 * The dump looks like a .reg file but is not one: 8-bit ANSI text without a
 * BOM or header, values indented, "DWORD:%08x" / "QWORD:%I64x" numbers,
 * "MULTI_SZ:" followed by quoted strings, "hex(n):" for everything else,
 * and strings and value names written WITHOUT escaping, so that a string
 * runs from the first `="` to the last `"` on its line and a name from the
 * first `"` to the `"=` that starts the value.  Bytes that are not UTF-8
 * are read as Windows-1252 by the line reader; `?` (the collector's
 * replacement for unmappable characters) is an ordinary character.
 *
 * Emits one struct apd_regval per value, plus one per key line with an
 * absent name so that keys without values are kept.  Malformed lines become
 * warnings; the file fails only when it is not a registry dump at all.
 *
 * Only `apd_parser_mdmregdump` is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MD_SNIP       48      /* bytes of input quoted in a warning */
#define MD_START_MAX  16      /* non-blank lines allowed before the first key */
#define MD_BIN_PROBE  4096    /* head bytes checked for binary data */

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

/* Length of at most MD_SNIP bytes of p that does not split a UTF-8 character. */
static int
snip(const char *p, size_t n)
{
	if (n <= MD_SNIP)
		return (int)n;
	n = MD_SNIP;
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

/* Length of UTF-16LE p without its trailing NUL characters. */
static size_t
strip_nuls(const unsigned char *p, size_t n)
{
	if ((n & 1) == 0)
		while (n >= 2 && p[n - 2] == 0 && p[n - 1] == 0)
			n -= 2;
	return n;
}

/*
 * REG_MULTI_SZ data (UTF-16LE) as a JSON array of strings into out (tmp is scratch).
 * The terminating NULs are dropped; empty strings inside are kept.
 * Returns APD_OK, APD_FAILED (a buffer cap) or APD_FATAL.
 */
static int
multi_to_json(struct apd_buf *out, struct apd_buf *tmp, const unsigned char *p, size_t n)
{
	struct apd_jw jw;
	size_t m, i, start = 0;
	int rc;

	apd_buf_reset(out);
	/* apd_jw_begin() opens an object; the array is opened by hand */
	memset(&jw, 0, sizeof(jw));
	jw.b = out;
	jw.rc = APD_OK;
	apd_jw_open(&jw, NULL, '[');
	m = strip_nuls(p, n);
	for (i = 0; m > 0 && i + 2 <= m; i += 2) {
		if (p[i] != 0 || p[i + 1] != 0)
			continue;
		apd_buf_reset(tmp);
		if ((rc = apd_utf16_to_utf8(tmp, p + start, i - start, false)) != APD_OK)
			return rc;
		apd_jw_str(&jw, NULL, apd_buf_sv(tmp));
		start = i + 2;
	}
	if (m > 0) {
		apd_buf_reset(tmp);
		if ((rc = apd_utf16_to_utf8(tmp, p + start, m - start, false)) != APD_OK)
			return rc;
		apd_jw_str(&jw, NULL, apd_buf_sv(tmp));
	}
	apd_jw_close(&jw, ']');
	return jw.rc;
}

/* Parser state for one file. */
struct md {
	struct apd_parse *ps;
	struct apd_lines lr;
	bool started;             /* a key line was seen */
	bool have_key;            /* hive/key name the current key */
	bool quiet_skip;          /* values of an unusable key are dropped without a warning */
	unsigned pre_lines;       /* non-blank lines before the first key */
	const char *hive;         /* short root name of the current key */
	struct apd_buf key;       /* path of the current key below the hive */
	struct apd_buf name;      /* value name */
	struct apd_buf bytes;     /* data of the hex value being read */
	struct apd_buf text;      /* decoded text or JSON */
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
md_sink(struct md *md, int rc)
{
	if (rc != APD_OK)
		md->sink_stop = true;
	return rc;
}

static int md_warn(struct md *md, uint64_t line, uint64_t off, const char *fmt, ...)
	APD_PRINTF(4, 5);

/* Emit a warning "line N: ..." and count it.  Returns the sink's code. */
static int
md_warn(struct md *md, uint64_t line, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	md->nwarn++;
	return md_sink(md, apd_emit_warn(md->ps->sink, line, off, "line %llu: %s",
	    (unsigned long long)line, msg));
}

/* A regval for the current key at line lno, with name absent. */
static void
md_rv(const struct md *md, struct apd_regval *rv, uint64_t lno)
{
	memset(rv, 0, sizeof(*rv));
	rv->hive = apd_sv_cstr(md->hive);
	rv->key = apd_buf_sv(&md->key);
	rv->name = APD_SV_NULL;
	rv->type = APD_REG_NONE;
	rv->kind = APD_RV_BLOB;
	rv->blob = "";
	rv->line = lno;
}

/* Hand a value to the sink if it belongs to a usable key.  Returns the sink's code. */
static int
md_emit(struct md *md, struct apd_regval *rv, uint64_t off)
{
	if (!md->have_key) {
		if (md->quiet_skip)
			return APD_OK;
		return md_warn(md, rv->line, off, "value '%.*s' outside of any key: skipped",
		    SNIP(rv->name));
	}
	return md_sink(md, apd_emit_regval(md->ps->sink, rv));
}

/* "[HKEY_...\path]": switch to that key.  Returns APD_OK or a sink code. */
static int
md_key(struct md *md, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_regval rv;
	const char *in, *bs;
	size_t e = n, in_n, root_n;
	int rc;

	md->started = true;
	md->have_key = false;
	md->quiet_skip = true;
	while (e > 1 && p[e - 1] != ']')
		e--;
	if (e <= 1)
		return md_warn(md, lno, off,
		    "key line without a closing ']': '%.*s' (its values are skipped)",
		    snip(p, n), p);
	in = p + 1;
	in_n = e - 2;
	bs = memchr(in, '\\', in_n);
	root_n = bs ? (size_t)(bs - in) : in_n;
	md->hive = hive_short(in, root_n);
	if (md->hive == NULL)
		return md_warn(md, lno, off,
		    "unknown registry root '%.*s' (its values are skipped)", snip(in, root_n), in);
	apd_buf_reset(&md->key);
	if (bs && (rc = apd_buf_add(&md->key, bs + 1, in_n - root_n - 1)) != APD_OK)
		return rc;   /* cannot be APD_FAILED: the key is shorter than a line */
	if (e < n && (rc = md_warn(md, lno, off, "text after the key's ']' ignored")) != APD_OK)
		return rc;
	md->have_key = true;
	md->quiet_skip = false;
	md_rv(md, &rv, lno);
	return md_sink(md, apd_emit_regval(md->ps->sink, &rv));
}

/* Decode and emit the hex value just completed.  Returns APD_OK or a sink/fatal code. */
static int
md_hex_done(struct md *md)
{
	const unsigned char *b = (const unsigned char *)(md->bytes.p ? md->bytes.p : "");
	size_t n = md->bytes.n;
	struct apd_regval rv;
	uint64_t u = 0;
	int rc = APD_OK, k;

	if (md->full)
		return md_warn(md, md->v_line, md->v_off,
		    "value '%.*s' is larger than %zu bytes: skipped",
		    SNIP(apd_buf_sv(&md->name)), md->ps->lim->max_record);
	md_rv(md, &rv, md->v_line);
	rv.name = apd_buf_sv(&md->name);
	rv.type = md->type;
	rv.blob = b;
	rv.blob_len = n;
	switch (md->type) {
	case APD_REG_SZ:
	case APD_REG_EXPAND_SZ:
	case APD_REG_LINK:
		apd_buf_reset(&md->text);
		rc = apd_utf16_to_utf8(&md->text, b, strip_nuls(b, n), false);
		rv.kind = APD_RV_TEXT;
		break;
	case APD_REG_MULTI_SZ:
		rc = multi_to_json(&md->text, &md->tmp, b, n);
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
		return md_warn(md, md->v_line, md->v_off,
		    "value '%.*s' is too large once decoded: skipped", SNIP(apd_buf_sv(&md->name)));
	if (rc != APD_OK)
		return rc;
	if (rv.kind == APD_RV_TEXT) {
		rv.text = apd_buf_sv(&md->text);
		rv.blob = NULL;
		rv.blob_len = 0;
	} else if (rv.kind == APD_RV_INT) {
		rv.blob = NULL;
		rv.blob_len = 0;
	}
	return md_emit(md, &rv, md->v_off);
}

/* More of a hex list: the part after "hex(n):" or a continuation line. */
static int
md_hex_more(struct md *md, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	const char *why;
	bool more;
	int rc;

	if ((rc = hex_list(p, n, &md->bytes, &md->full, &more, &why)) != APD_OK)
		return rc;
	if (why) {
		md->cont = false;
		md->orphan = n > 0 && p[n - 1] == '\\';
		return md_warn(md, lno, off, "value '%.*s' (line %llu): %s in '%.*s': skipped",
		    SNIP(apd_buf_sv(&md->name)), (unsigned long long)md->v_line, why,
		    snip(p, n), p);
	}
	md->cont = more;
	if (more)
		return APD_OK;
	return md_hex_done(md);
}

/* Does a value start at p: a string, DWORD:, QWORD:, MULTI_SZ: or hex? */
static bool
value_start(const char *p, size_t n)
{
	if (n == 0)
		return false;
	switch (p[0]) {
	case '"':
		return true;
	case 'd': case 'D':
		return istarts(p, n, "DWORD:");
	case 'q': case 'Q':
		return istarts(p, n, "QWORD:");
	case 'm': case 'M':
		return istarts(p, n, "MULTI_SZ:");
	case 'h': case 'H':
		return istarts(p, n, "hex(") || istarts(p, n, "hex:");
	default:
		return false;
	}
}

/*
 * The index of the quote that ends a name starting at p[0] == '"': the
 * first `"=` followed by a value form (names are not escaped, so a `"`
 * inside a name is taken literally).  0 when there is none.
 */
static size_t
name_end(const char *p, size_t n)
{
	const char *q = p + 1, *e = p + n;

	while (q < e && (q = memchr(q, '"', (size_t)(e - q))) != NULL) {
		if (q + 1 < e && q[1] == '=' && value_start(q + 2, (size_t)(e - q - 2)))
			return (size_t)(q - p);
		q++;
	}
	return 0;
}

/* Parse 1..maxd hex digits that make up all of p[0..n).  Returns false if malformed. */
static bool
hex_num(const char *p, size_t n, size_t maxd, uint64_t *out)
{
	uint64_t u = 0;
	size_t i;
	int h;

	if (n == 0 || n > maxd)
		return false;
	for (i = 0; i < n; i++) {
		if ((h = hexval(p[i])) < 0)
			return false;
		u = u << 4 | (uint64_t)h;
	}
	*out = u;
	return true;
}

/*
 * The strings of "MULTI_SZ:" as a JSON array into md->text.  Strings are
 * quoted but not escaped: a string ends at a `"` that is followed, after
 * optional blanks, commas or semicolons, by the end of the line or by the
 * `"` of the next string.  Returns APD_OK, APD_WARN (malformed; *why set),
 * APD_FAILED (too large) or APD_FATAL.
 */
static int
multi_text(struct md *md, const char *p, size_t n, const char **why)
{
	struct apd_jw jw;
	size_t i = 0, j, k;

	apd_buf_reset(&md->text);
	memset(&jw, 0, sizeof(jw));   /* apd_jw_begin() opens an object; open the array by hand */
	jw.b = &md->text;
	jw.rc = APD_OK;
	apd_jw_open(&jw, NULL, '[');
	while (i < n && (is_ws(p[i]) || p[i] == ',' || p[i] == ';'))
		i++;
	while (i < n) {
		if (p[i] != '"') {
			*why = "expected '\"' before a string";
			return APD_WARN;
		}
		for (j = i + 1;; j++) {
			const char *q = memchr(p + j, '"', n - j);

			if (q == NULL) {
				*why = "string without a closing quote";
				return APD_WARN;
			}
			j = (size_t)(q - p);
			for (k = j + 1; k < n && (is_ws(p[k]) || p[k] == ',' || p[k] == ';'); k++)
				;
			if (k == n || p[k] == '"')
				break;
		}
		apd_jw_str(&jw, NULL, apd_sv(p + i + 1, j - i - 1));
		i = k;
	}
	apd_jw_close(&jw, ']');
	return jw.rc;
}

/* A value line: "@=..." or "\"Name\"=...".  Returns APD_OK or a sink/fatal code. */
static int
md_value(struct md *md, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_regval rv;
	const char *v, *why = NULL, *eq;
	size_t vn, j;
	uint64_t u;
	int rc;

	apd_buf_reset(&md->name);
	if (p[0] == '@') {
		if (n < 2 || p[1] != '=')
			return md_warn(md, lno, off, "expected '=' after '@': '%.*s'",
			    snip(p, n), p);
		if (!value_start(p + 2, n - 2))
			return md_warn(md, lno, off, "unknown value type '%.*s'",
			    snip(p + 2, n - 2), p + 2);
		rc = apd_buf_add(&md->name, "", 0);
		v = p + 2;
		vn = n - 2;
	} else if ((j = name_end(p, n)) != 0) {
		rc = apd_buf_add(&md->name, p + 1, j - 1);
		v = p + j + 2;
		vn = n - j - 2;
	} else {
		eq = apd_memmem(p, n, "\"=", 2);
		if (eq == NULL || eq == p)
			return md_warn(md, lno, off, "expected '\"=' after the value name: '%.*s'",
			    snip(p, n), p);
		return md_warn(md, lno, off, "unknown value type '%.*s'",
		    snip(eq + 2, n - (size_t)(eq + 2 - p)), eq + 2);
	}
	if (rc != APD_OK)
		return rc;   /* cannot be APD_FAILED: the name is shorter than a line */
	md_rv(md, &rv, lno);
	rv.name = apd_buf_sv(&md->name);
	rv.blob = NULL;
	if (vn > 0 && v[0] == '"') {
		/* everything up to the last quote: embedded quotes are not escaped */
		for (j = vn - 1; j > 0 && v[j] != '"'; j--)
			;
		if (j == 0)
			return md_warn(md, lno, off, "string value without a closing quote: '%.*s'",
			    snip(p, n), p);
		if (j != vn - 1)
			return md_warn(md, lno, off, "text after the string value: '%.*s'",
			    snip(v + j + 1, vn - j - 1), v + j + 1);
		rv.type = APD_REG_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_sv(v + 1, j - 1);
		return md_emit(md, &rv, off);
	}
	if (istarts(v, vn, "DWORD:") || istarts(v, vn, "QWORD:")) {
		bool q = lower(v[0]) == 'q';

		if (!hex_num(v + 6, vn - 6, q ? 16 : 8, &u))
			return md_warn(md, lno, off, "bad %s value '%.*s'", q ? "QWORD" : "DWORD",
			    snip(v, vn), v);
		rv.type = q ? APD_REG_QWORD : APD_REG_DWORD;
		rv.kind = APD_RV_INT;
		memcpy(&rv.num, &u, sizeof(u));   /* a QWORD above INT64_MAX keeps its bits */
		return md_emit(md, &rv, off);
	}
	if (istarts(v, vn, "MULTI_SZ:")) {
		rc = multi_text(md, v + 9, vn - 9, &why);
		if (rc == APD_WARN)
			return md_warn(md, lno, off, "bad MULTI_SZ value '%.*s': %s",
			    snip(v, vn), v, why);
		if (rc == APD_FAILED)
			return md_warn(md, lno, off,
			    "value '%.*s' is too large once decoded: skipped", SNIP(rv.name));
		if (rc != APD_OK)
			return rc;
		rv.type = APD_REG_MULTI_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_buf_sv(&md->text);
		return md_emit(md, &rv, off);
	}
	if (istarts(v, vn, "hex:")) {
		md->type = APD_REG_BINARY;
		j = 4;
	} else {
		/* value_start() let only "hex(" get here */
		for (j = 4, u = 0; j < vn && j < 12 && hexval(v[j]) >= 0; j++)
			u = u << 4 | (uint64_t)hexval(v[j]);
		if (j == 4 || j + 1 >= vn || v[j] != ')' || v[j + 1] != ':' || u > 0x7fffffff)
			return md_warn(md, lno, off, "bad value type '%.*s'", snip(v, vn), v);
		md->type = (int)u;
		j += 2;
	}
	apd_buf_reset(&md->bytes);
	md->full = false;
	md->v_line = lno;
	md->v_off = off;
	return md_hex_more(md, v + j, vn - j, lno, off);
}

/* One line, not cut.  Returns APD_OK or a sink/fatal code. */
static int
md_line(struct md *md, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	size_t i = skip_ws(p, n, 0);
	int rc;

	while (n > i && is_ws(p[n - 1]))
		n--;
	p += i;
	n -= i;
	/* the collector ends every line: a last line without a line end was cut */
	if (md->open_end && n > 0) {
		if (md->cont) {
			md->cont = false;
			return md_warn(md, lno, off,
			    "the file ends without a line end inside value '%.*s' (line %llu): "
			    "skipped as cut",
			    SNIP(apd_buf_sv(&md->name)), (unsigned long long)md->v_line);
		}
		if (!md->started)
			md->pre_lines++;
		return md_warn(md, lno, off,
		    "the file ends without a line end: last line skipped as cut");
	}
	if (md->cont) {
		if (n > 0 && hexval(p[0]) >= 0)
			return md_hex_more(md, p, n, lno, off);
		md->cont = false;
		rc = md_warn(md, md->v_line, md->v_off,
		    "value '%.*s' ends at line %llu in the middle of its data: skipped",
		    SNIP(apd_buf_sv(&md->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	if (n == 0) {
		md->orphan = false;
		return APD_OK;
	}
	if (md->orphan && hexval(p[0]) >= 0)
		return APD_OK;
	md->orphan = false;
	if (p[0] == '[')
		return md_key(md, p, n, lno, off);
	if (!md->started)
		md->pre_lines++;
	if (p[0] == '"' || p[0] == '@')
		return md_value(md, p, n, lno, off);
	return md_warn(md, lno, off, "unexpected text '%.*s'", snip(p, n), p);
}

/* A line cut at max_line: skip it and whatever depended on it. */
static int
md_cut(struct md *md, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	size_t i = skip_ws(p, n, 0);
	bool key = i < n && p[i] == '[';
	int rc;

	if (md->cont) {
		md->cont = false;
		rc = md_warn(md, md->v_line, md->v_off,
		    "value '%.*s' goes on in the overlong line %llu: skipped",
		    SNIP(apd_buf_sv(&md->name)), (unsigned long long)lno);
		if (rc != APD_OK)
			return rc;
	}
	md->orphan = true;
	if (key) {
		md->started = true;
		md->have_key = false;
		md->quiet_skip = true;
	} else if (!md->started) {
		md->pre_lines++;
	}
	return md_warn(md, lno, off, "line longer than %zu bytes: skipped%s",
	    md->ps->lim->max_line, key ? " with the values of its key" : "");
}

/* a * k, saturating so that adding 64 cannot overflow: a buffer cap. */
static size_t
mul_sat(size_t a, size_t k)
{
	return a > (SIZE_MAX - 64) / k ? SIZE_MAX - 64 : a * k;
}

/*
 * Parse a whole dump.  Returns APD_OK, APD_WARN (warnings were emitted),
 * APD_FAILED (not a registry dump, or the stream failed; ps->err says why),
 * APD_FATAL (out of memory) or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct md md;
	struct apd_sv line;
	const unsigned char *h;
	size_t ml = ps->lim->max_line, mr = ps->lim->max_record, hl;
	int rc;

	memset(&md, 0, sizeof(md));
	md.ps = ps;
	h = apd_stream_head(ps->in, &hl);
	if (apd_looks_binary(h, hl < MD_BIN_PROBE ? hl : MD_BIN_PROBE))
		return apd_set_error(ps->err, APD_FAILED,
		    "%s: binary data, not a registry dump", ps->path);
	apd_lines_init(&md.lr, ps->in, ml);
	apd_buf_init(&md.key, mul_sat(ml, 3) + 64);
	apd_buf_init(&md.name, mul_sat(ml, 3) + 64);
	apd_buf_init(&md.bytes, mr < SIZE_MAX ? mr + 1 : mr);
	/* JSON escapes: up to 6 bytes per byte of a line, 3 per byte of UTF-16 data */
	apd_buf_init(&md.text, mul_sat(ml > mr ? ml : mr, 6) + 64);
	apd_buf_init(&md.tmp, mul_sat(mr, 2) + 64);
	for (;;) {
		rc = apd_lines_next(&md.lr, &line);
		if (rc == APD_EOF) {
			rc = APD_OK;
			break;
		}
		md.open_end = md.lr.eof;   /* EOF came before a line end */
		if (rc == APD_OK)
			rc = md_line(&md, line.p, line.n, md.lr.lineno, md.lr.offset);
		else if (rc == APD_WARN)
			rc = md_cut(&md, line.p, line.n, md.lr.lineno, md.lr.offset);
		if (rc != APD_OK)
			goto out;
		if (!md.started && (md.pre_lines >= MD_START_MAX ||
		    md.lr.next_offset > APD_STREAM_HEAD)) {
			rc = apd_set_error(ps->err, APD_FAILED,
			    "%s:%llu: not a registry dump: no key line found",
			    ps->path, (unsigned long long)md.lr.lineno);
			goto out;
		}
	}
	if (md.cont && (rc = md_warn(&md, md.v_line, md.v_off,
	    "file ends in the middle of value '%.*s': skipped",
	    SNIP(apd_buf_sv(&md.name)))) != APD_OK)
		goto out;
	if (!md.started && md.pre_lines > 0) {
		rc = apd_set_error(ps->err, APD_FAILED,
		    "%s:%llu: not a registry dump: no key line found",
		    ps->path, (unsigned long long)md.lr.lineno);
		goto out;
	}
	rc = md.nwarn ? APD_WARN : APD_OK;
out:
	if (rc == APD_FATAL && !md.sink_stop && ps->err->code == APD_OK)
		apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	apd_buf_done(&md.key);
	apd_buf_done(&md.name);
	apd_buf_done(&md.bytes);
	apd_buf_done(&md.text);
	apd_buf_done(&md.tmp);
	apd_lines_done(&md.lr);
	return rc;
}

/*
 * Bid: 48 when the head is 8-bit text without a BOM whose first non-blank
 * line starts "[HKEY_LOCAL_MACHINE\" or "[HKEY_CURRENT_USER\" (any case),
 * +16 when the file is named MdmDiagReport_RegistryDump.reg; the name alone
 * is worth 16.  -1 for binary data and everything else.
 */
static int
bid(const struct apd_probe *pr)
{
	const unsigned char *p = pr->head;
	size_t n = pr->len, i = 0;
	int b = -1;

	if (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF)))
		return -1;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		return -1;
	if (apd_looks_binary(p, n < MD_BIN_PROBE ? n : MD_BIN_PROBE))
		return -1;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (istarts((const char *)p + i, n - i, "[HKEY_LOCAL_MACHINE\\") ||
	    istarts((const char *)p + i, n - i, "[HKEY_CURRENT_USER\\"))
		b = 48;
	if (apd_name_ieq(pr->name, "MdmDiagReport_RegistryDump.reg"))
		b = b > 0 ? b + 16 : 16;
	return b;
}

const struct apd_parser apd_parser_mdmregdump = {
	.name = "mdmregdump",    /* name */
	.kind = "mdm-regdump",   /* kind */
	.bid = bid,              /* bid */
	.run = run,              /* run */
	.note = NULL,            /* note */
};
