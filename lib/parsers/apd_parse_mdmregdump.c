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
 * The line skeleton (keys, hex values and their continuation lines, cut
 * lines, warnings) and the value decoding are apd_reg.c's; this file holds
 * the dump's own grammar: unescaped names and strings, "DWORD:", "QWORD:"
 * and "MULTI_SZ:".
 *
 * Only `apd_parser_mdmregdump` is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_reg.h"
#include "apd_text.h"

#include <stdbool.h>
#include <string.h>

#define MD_BIN_PROBE  4096    /* head bytes checked for binary data */

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
		return apd_reg_istarts(p, n, "DWORD:");
	case 'q': case 'Q':
		return apd_reg_istarts(p, n, "QWORD:");
	case 'm': case 'M':
		return apd_reg_istarts(p, n, "MULTI_SZ:");
	case 'h': case 'H':
		return apd_reg_istarts(p, n, "hex(") || apd_reg_istarts(p, n, "hex:");
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

/*
 * The strings of "MULTI_SZ:" as a JSON array into text.  Strings are
 * quoted but not escaped: a string ends at a `"` that is followed, after
 * optional blanks, commas or semicolons, by the end of the line or by the
 * `"` of the next string.  Returns APD_OK, APD_WARN (malformed; *why set),
 * APD_FAILED (too large) or APD_FATAL.
 */
static int
multi_text(struct apd_buf *text, const char *p, size_t n, const char **why)
{
	struct apd_jw jw;
	size_t i = 0, j, k;

	apd_buf_reset(text);
	apd_jw_begin_array(&jw, text);
	while (i < n && (apd_reg_is_blank(p[i]) || p[i] == ',' || p[i] == ';'))
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
			for (k = j + 1; k < n && (apd_reg_is_blank(p[k]) || p[k] == ',' ||
			    p[k] == ';'); k++)
				;
			if (k == n || p[k] == '"')
				break;
		}
		apd_jw_str(&jw, NULL, apd_sv(p + i + 1, j - i - 1));
		i = k;
	}
	return apd_jw_end(&jw);
}

/*
 * A value line: "@=..." or "\"Name\"=..." (the reader's callback; anything
 * else is unexpected text).  Returns APD_OK or a sink/fatal code.
 */
static int
md_line(void *ud, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_reg_reader *r = ud;
	struct apd_regval rv;
	const char *v, *why = NULL, *eq;
	size_t vn, j;
	uint64_t u;
	int rc, type;

	if (p[0] != '"' && p[0] != '@')
		return apd_reg_warn(r, lno, off, "unexpected text '%.*s'", apd_reg_snip(p, n), p);
	apd_buf_reset(&r->name);
	if (p[0] == '@') {
		if (n < 2 || p[1] != '=')
			return apd_reg_warn(r, lno, off, "expected '=' after '@': '%.*s'",
			    apd_reg_snip(p, n), p);
		if (!value_start(p + 2, n - 2))
			return apd_reg_warn(r, lno, off, "unknown value type '%.*s'",
			    apd_reg_snip(p + 2, n - 2), p + 2);
		rc = apd_buf_add(&r->name, "", 0);
		v = p + 2;
		vn = n - 2;
	} else if ((j = name_end(p, n)) != 0) {
		rc = apd_buf_add(&r->name, p + 1, j - 1);
		v = p + j + 2;
		vn = n - j - 2;
	} else {
		eq = apd_memmem(p, n, "\"=", 2);
		if (eq == NULL || eq == p)
			return apd_reg_warn(r, lno, off,
			    "expected '\"=' after the value name: '%.*s'", apd_reg_snip(p, n), p);
		return apd_reg_warn(r, lno, off, "unknown value type '%.*s'",
		    apd_reg_snip(eq + 2, n - (size_t)(eq + 2 - p)), eq + 2);
	}
	if (rc != APD_OK)
		return rc;   /* cannot be APD_FAILED: the name is shorter than a line */
	apd_reg_rv(r, &rv, lno);
	rv.name = apd_buf_sv(&r->name);
	rv.blob = NULL;
	if (vn > 0 && v[0] == '"') {
		/* everything up to the last quote: embedded quotes are not escaped */
		for (j = vn - 1; j > 0 && v[j] != '"'; j--)
			;
		if (j == 0)
			return apd_reg_warn(r, lno, off,
			    "string value without a closing quote: '%.*s'", apd_reg_snip(p, n), p);
		if (j != vn - 1)
			return apd_reg_warn(r, lno, off, "text after the string value: '%.*s'",
			    apd_reg_snip(v + j + 1, vn - j - 1), v + j + 1);
		rv.type = APD_REG_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_sv(v + 1, j - 1);
		return apd_reg_emit(r, &rv, off);
	}
	if (apd_reg_istarts(v, vn, "DWORD:") || apd_reg_istarts(v, vn, "QWORD:")) {
		bool q = v[0] == 'q' || v[0] == 'Q';

		if (!apd_reg_hex_number(v + 6, vn - 6, q ? 16 : 8, &u))
			return apd_reg_warn(r, lno, off, "bad %s value '%.*s'",
			    q ? "QWORD" : "DWORD", apd_reg_snip(v, vn), v);
		rv.type = q ? APD_REG_QWORD : APD_REG_DWORD;
		rv.kind = APD_RV_INT;
		memcpy(&rv.num, &u, sizeof(u));   /* a QWORD above INT64_MAX keeps its bits */
		return apd_reg_emit(r, &rv, off);
	}
	if (apd_reg_istarts(v, vn, "MULTI_SZ:")) {
		rc = multi_text(&r->text, v + 9, vn - 9, &why);
		if (rc == APD_WARN)
			return apd_reg_warn(r, lno, off, "bad MULTI_SZ value '%.*s': %s",
			    apd_reg_snip(v, vn), v, why);
		if (rc == APD_FAILED)
			return apd_reg_warn(r, lno, off,
			    "value '%.*s' is too large once decoded: skipped",
			    APD_REG_SNIP_SV(rv.name));
		if (rc != APD_OK)
			return rc;
		rv.type = APD_REG_MULTI_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_buf_sv(&r->text);
		return apd_reg_emit(r, &rv, off);
	}
	/* value_start() let only "hex:" and "hex(" get here */
	if (apd_reg_hex_prefix(v, vn, &type, &j) != 1)
		return apd_reg_warn(r, lno, off, "bad value type '%.*s'", apd_reg_snip(v, vn), v);
	return apd_reg_hex_begin(r, type, v + j, vn - j, lno, off);
}

/*
 * Parse a whole dump.  Returns APD_OK, APD_WARN (warnings were emitted),
 * APD_FAILED (not a registry dump, or the stream failed; ps->err says why),
 * APD_FATAL (out of memory) or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct apd_reg_reader r;
	const unsigned char *h;
	size_t ml = ps->lim->max_line, mr = ps->lim->max_record, hl;
	int rc;

	h = apd_stream_head(ps->in, &hl);
	if (apd_looks_binary(h, hl < MD_BIN_PROBE ? hl : MD_BIN_PROBE))
		return apd_set_error(ps->err, APD_FAILED,
		    "%s: binary data, not a registry dump", ps->path);
	/* text, JSON escapes: up to 6 bytes per byte of a line, 3 per byte of UTF-16 data */
	apd_reg_reader_init(&r, ps, apd_reg_cap(ml > mr ? ml : mr, 6));
	/* the collector ends every line: a last line without a line end was cut */
	r.ends_every_line = true;
	rc = apd_reg_reader_run(&r, md_line, &r, "not a registry dump: no key line found");
	apd_reg_reader_done(&r);
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
	if (apd_reg_istarts((const char *)p + i, n - i, "[HKEY_LOCAL_MACHINE\\") ||
	    apd_reg_istarts((const char *)p + i, n - i, "[HKEY_CURRENT_USER\\"))
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
