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
 * The line skeleton (keys, hex values and their continuation lines, cut
 * lines, warnings) and the value decoding are apd_reg.c's; this file holds
 * the grammar of reg.exe exports: the header, comments, escaped names and
 * strings, "dword:" and the legacy 8-bit string data of REGEDIT4.
 *
 * Only `apd_parser_regexport` is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_reg.h"
#include "apd_text.h"

#include <stdbool.h>
#include <string.h>

#define RX_BIN_PROBE  4096    /* head bytes checked for binary data */

/* Parser state for one file. */
struct rx {
	struct apd_reg_reader r;  /* lines, current key, hex values, warnings */
	struct apd_buf str;       /* string value, unescaped */
};

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

/* A value line: "@=..." or "\"Name\"=...".  Returns APD_OK or a sink/fatal code. */
static int
rx_value(struct rx *rx, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct apd_reg_reader *r = &rx->r;
	struct apd_regval rv;
	const char *v;
	size_t i = 0, vn, j;
	uint64_t u;
	int rc, type;

	if (p[0] == '@') {
		apd_buf_reset(&r->name);
		if ((rc = apd_buf_add(&r->name, "", 0)) != APD_OK)
			return rc;
		i = 1;
	} else if ((rc = unquote(p, n, &i, &r->name)) != APD_OK) {
		if (rc != APD_WARN)
			return rc;
		return apd_reg_warn(r, lno, off, "value name without a closing quote: '%.*s'",
		    apd_reg_snip(p, n), p);
	}
	i = apd_reg_skip_blanks(p, n, i);
	if (i >= n || p[i] != '=')
		return apd_reg_warn(r, lno, off, "expected '=' after the value name: '%.*s'",
		    apd_reg_snip(p, n), p);
	i = apd_reg_skip_blanks(p, n, i + 1);
	v = p + i;
	vn = n - i;
	if (vn == 1 && v[0] == '-')
		return apd_reg_warn(r, lno, off, "deletion of value '%.*s' ignored",
		    APD_REG_SNIP_SV(apd_buf_sv(&r->name)));
	apd_reg_rv(r, &rv, lno);
	rv.name = apd_buf_sv(&r->name);
	if (vn > 0 && v[0] == '"') {
		j = 0;
		if ((rc = unquote(v, vn, &j, &rx->str)) != APD_OK) {
			if (rc != APD_WARN)
				return rc;
			return apd_reg_warn(r, lno, off,
			    "string value without a closing quote: '%.*s'", apd_reg_snip(p, n), p);
		}
		if (j != vn)
			return apd_reg_warn(r, lno, off, "text after the string value: '%.*s'",
			    apd_reg_snip(v + j, vn - j), v + j);
		rv.type = APD_REG_SZ;
		rv.kind = APD_RV_TEXT;
		rv.text = apd_buf_sv(&rx->str);
		rv.blob = NULL;
		return apd_reg_emit(r, &rv, off);
	}
	if (apd_reg_istarts(v, vn, "dword:")) {
		if (!apd_reg_hex_number(v + 6, vn - 6, 8, &u))
			return apd_reg_warn(r, lno, off, "bad dword value '%.*s'",
			    apd_reg_snip(v, vn), v);
		rv.type = APD_REG_DWORD;
		rv.kind = APD_RV_INT;
		rv.num = (int64_t)u;
		rv.blob = NULL;
		return apd_reg_emit(r, &rv, off);
	}
	switch (apd_reg_hex_prefix(v, vn, &type, &j)) {
	case 1:
		return apd_reg_hex_begin(r, type, v + j, vn - j, lno, off);
	case 0:
		return apd_reg_warn(r, lno, off, "unknown value type '%.*s'",
		    apd_reg_snip(v, vn), v);
	default:
		return apd_reg_warn(r, lno, off, "bad value type '%.*s'", apd_reg_snip(v, vn), v);
	}
}

/* A header line ("Windows Registry Editor Version 5.00" or "REGEDIT4")? */
static bool
is_header(const char *p, size_t n, bool *ansi)
{
	*ansi = false;
	if (apd_reg_istarts(p, n, "Windows Registry Editor Version "))
		return true;
	if (n == 8 && apd_reg_istarts(p, n, "REGEDIT4")) {
		*ansi = true;
		return true;
	}
	return false;
}

/*
 * A line that is not a key, a comment or part of a hex value (the reader's
 * callback): a value, the header, or unexpected text.  Returns APD_OK or a
 * sink/fatal code.
 */
static int
rx_line(void *ud, const char *p, size_t n, uint64_t lno, uint64_t off)
{
	struct rx *rx = ud;
	bool ansi;

	if (p[0] == '"' || p[0] == '@')
		return rx_value(rx, p, n, lno, off);
	if (is_header(p, n, &ansi)) {
		if (rx->r.started)
			return apd_reg_warn(&rx->r, lno, off,
			    "header line after the first key ignored");
		rx->r.started = true;
		rx->r.ansi = ansi;
		return APD_OK;
	}
	return apd_reg_warn(&rx->r, lno, off, "unexpected text '%.*s'", apd_reg_snip(p, n), p);
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
rx_binary(struct apd_stream *in)
{
	const unsigned char *h;
	size_t hl, bom;

	h = apd_stream_head(in, &hl);
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

/*
 * Parse a whole export.  Returns APD_OK, APD_WARN (warnings were emitted),
 * APD_FAILED (not a registry export, or the stream failed; ps->err says
 * why), APD_FATAL (out of memory) or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct rx rx;
	int rc, wrc;

	if (rx_binary(ps->in))
		return apd_set_error(ps->err, APD_FAILED,
		    "%s: binary data or an unsupported encoding, not a registry export", ps->path);
	/* text: JSON escapes of UTF-16 controls */
	apd_reg_reader_init(&rx.r, ps, apd_reg_cap(ps->lim->max_record, 3));
	apd_buf_init(&rx.str, apd_reg_cap(ps->lim->max_line, 3));
	rx.r.comments = true;
	rx.r.key_deletions = true;
	/*
	 * regedit ends every line, so a last line without a line end in a
	 * UTF-16 file, or one that continues a hex value, was probably cut.
	 */
	rx.r.ends_every_line = rx.r.lr.enc >= APD_ENC_UTF16LE;
	rc = apd_reg_reader_run(&rx.r, rx_line, &rx,
	    "not a registry export: no header or key line found");
	if ((rc == APD_OK || rc == APD_WARN) && rx.r.lr.enc >= APD_ENC_UTF16LE &&
	    (rx.r.lr.next_offset & 1)) {
		wrc = apd_reg_warn(&rx.r, rx.r.lr.lineno, rx.r.lr.offset,
		    "file ends in the middle of a UTF-16 character");
		rc = wrc != APD_OK ? wrc : APD_WARN;
	}
	apd_buf_done(&rx.str);
	apd_reg_reader_done(&rx.r);
	return rc;
}

/* Does UTF-16LE p[0..n) start with the ASCII text lit, ignoring case? */
static bool
u16_istarts(const unsigned char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (2 * i + 1 >= n || p[2 * i + 1] != 0 ||
		    apd_reg_lower((char)p[2 * i]) != apd_reg_lower(lit[i]))
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
	if (apd_reg_istarts((const char *)p, n, "REGEDIT4") &&
	    (n == 8 || p[8] == '\r' || p[8] == '\n'))
		return 64;
	if (apd_reg_istarts((const char *)p, n, v5))
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
