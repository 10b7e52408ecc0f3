/*
 * regwrite.c - writes reg.exe EXPORT files (DOMAIN.md §3) from raw registry
 * values, for both the offline (hivex) and the live (advapi32) sources.
 *
 * Exports the apd_regw_* functions and apd_utf8_to_utf16le.  The output is
 * what `reg export` writes: UTF-16LE with a BOM, CRLF line ends, the
 * "Windows Registry Editor Version 5.00" header, one "[HKEY_...\path]"
 * block per key, and every value type:
 *
 *   REG_SZ      "text" with \ and " escaped, when the data is exactly a
 *               well-formed UTF-16 string plus its terminating NUL and holds
 *               no control character; any other REG_SZ is hex(1): so
 *               that it reads back byte for byte
 *   REG_DWORD   dword:%08x when 4 bytes long, else hex(4):
 *   REG_BINARY  hex:
 *   all others  hex(<type in hex>): (EXPAND_SZ, MULTI_SZ, QWORD, NONE,
 *               resource lists, unknown types)
 *
 * Hex lists wrap as reg.exe wraps them: ",\" at column 77, two spaces on
 * the continuation line.  apd_parse_regexport.c reads the result back
 * exactly (tests/check_collect.c round-trips every type).
 */
#include "collect.h"
#include "apd_sha256.h"
#include "apd_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CAP       ((size_t)64 << 20)   /* one logical line, UTF-8 */
#define HEX_LINE_LEN   77                   /* reg.exe's wrap column */
#define MAX_QUOTED     (16u * 1024)         /* longer strings go out as hex(1) */

int
apd_utf8_to_utf16le(struct apd_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int rc;

	if ((rc = apd_buf_reserve(out, 2 * n + 2)) != APD_OK)
		return rc;
	while (i < n) {
		uint32_t c = p[i], min = 0;
		unsigned char u[4];
		size_t k, need;

		if (c < 0x80) {
			need = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			c &= 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			c &= 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			c &= 0x07;
			min = 0x10000;
		} else {
			c = 0xFFFD;
			i++;
			goto emit;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
				break;
			c = c << 6 | (p[i + k] & 0x3F);
		}
		if (k <= need) {
			c = 0xFFFD;   /* cut sequence: resync on the byte that broke it */
			i += k;
			goto emit;
		}
		if (need && (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)))
			c = 0xFFFD;
		i += need + 1;
emit:
		if (c >= 0x10000) {
			uint32_t v = c - 0x10000;
			uint32_t hi = 0xD800 | (v >> 10), lo = 0xDC00 | (v & 0x3FF);
			u[0] = (unsigned char)hi;
			u[1] = (unsigned char)(hi >> 8);
			u[2] = (unsigned char)lo;
			u[3] = (unsigned char)(lo >> 8);
			rc = apd_buf_add(out, u, 4);
		} else {
			u[0] = (unsigned char)c;
			u[1] = (unsigned char)(c >> 8);
			rc = apd_buf_add(out, u, 2);
		}
		if (rc != APD_OK)
			return rc;
	}
	return APD_OK;
}

/* Write the line buffer (UTF-8) as UTF-16LE plus CRLF, and reset it. */
static int
flush_line(struct apd_regw *w)
{
	int rc;

	apd_buf_reset(&w->u16);
	if ((rc = apd_buf_add(&w->line, "\r\n", 2)) != APD_OK ||
	    (rc = apd_utf8_to_utf16le(&w->u16, w->line.p, w->line.n)) != APD_OK)
		return rc == APD_FAILED ? APD_FAILED : rc;
	apd_buf_reset(&w->line);
	if (w->err_no)
		return APD_FAILED;
	if (fwrite(w->u16.p, 1, w->u16.n, w->f) != w->u16.n) {
		w->err_no = errno ? errno : EIO;
		return APD_FAILED;
	}
	apd_sha256_update(w->sha, w->u16.p, w->u16.n);
	w->bytes += w->u16.n;
	return APD_OK;
}

int
apd_regw_open(struct apd_regw *w, FILE *f, struct apd_redact *rd)
{
	static const unsigned char bom[2] = { 0xFF, 0xFE };
	struct apd_sha256 *h;

	memset(w, 0, sizeof(*w));
	w->f = f;
	w->rd = rd;
	apd_buf_init(&w->line, LINE_CAP);
	apd_buf_init(&w->u16, 2 * LINE_CAP + 16);
	h = malloc(sizeof(*h));
	if (h == NULL || apd_sha256_init(h) != APD_OK) {
		free(h);
		return APD_FATAL;
	}
	w->sha = h;
	if (fwrite(bom, 1, 2, f) != 2) {
		w->err_no = errno ? errno : EIO;
		return APD_FAILED;
	}
	apd_sha256_update(h, bom, 2);
	w->bytes = 2;
	if (apd_buf_adds(&w->line, "Windows Registry Editor Version 5.00") != APD_OK)
		return APD_FATAL;
	if (flush_line(w) != APD_OK)
		return APD_FAILED;
	return flush_line(w);   /* the blank line after the header */
}

/* Append s, redacted when redaction is on. */
static int
add_text(struct apd_regw *w, const char *s, size_t n)
{
	struct apd_buf r;
	int rc;

	if (w->rd == NULL)
		return apd_buf_add(&w->line, s, n);
	apd_buf_init(&r, LINE_CAP);
	rc = apd_redact_text(w->rd, s, n, &r);
	if (rc == APD_OK)
		rc = apd_buf_add(&w->line, r.p ? r.p : "", r.n);
	apd_buf_done(&r);
	return rc;
}

/* Append s inside quotes, with \ and " escaped (after redaction). */
static int
add_quoted(struct apd_regw *w, const char *s, size_t n)
{
	struct apd_buf r;
	size_t i;
	int rc = APD_OK;

	apd_buf_init(&r, LINE_CAP);
	if (w->rd)
		rc = apd_redact_text(w->rd, s, n, &r);
	else
		rc = apd_buf_add(&r, s, n);
	if (rc == APD_OK)
		rc = apd_buf_addc(&w->line, '"');
	for (i = 0; rc == APD_OK && i < r.n; i++) {
		if (r.p[i] == '\\' || r.p[i] == '"')
			rc = apd_buf_addc(&w->line, '\\');
		if (rc == APD_OK)
			rc = apd_buf_addc(&w->line, r.p[i]);
	}
	if (rc == APD_OK)
		rc = apd_buf_addc(&w->line, '"');
	apd_buf_done(&r);
	return rc;
}

int
apd_regw_key(struct apd_regw *w, const char *path)
{
	int rc;

	if (w->keys > 0 && (rc = flush_line(w)) != APD_OK)   /* the blank line after a block */
		return rc;
	w->keys++;
	if ((rc = apd_buf_addc(&w->line, '[')) != APD_OK ||
	    (rc = add_text(w, path, strlen(path))) != APD_OK ||
	    (rc = apd_buf_addc(&w->line, ']')) != APD_OK)
		return rc;
	return flush_line(w);
}

/*
 * Is REG_SZ data d[0..n) exactly a clean UTF-16LE string plus one NUL?
 * Then its UTF-8 form goes into u8.
 */
static bool
clean_sz(const unsigned char *d, size_t n, struct apd_buf *u8)
{
	size_t i, units;

	if (n < 2 || (n & 1) || d[n - 2] != 0 || d[n - 1] != 0 || n - 2 > 2 * MAX_QUOTED)
		return false;
	units = (n - 2) / 2;
	for (i = 0; i < units; i++) {
		unsigned u = d[2 * i] | (unsigned)d[2 * i + 1] << 8;
		if ((u < 0x20 && u != '\t') || u == 0x7F || u == 0xFFFD)
			return false;
		if (u >= 0xD800 && u <= 0xDBFF) {
			unsigned v;
			if (i + 1 >= units)
				return false;
			v = d[2 * i + 2] | (unsigned)d[2 * i + 3] << 8;
			if (v < 0xDC00 || v > 0xDFFF)
				return false;
			i++;
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			return false;
		}
	}
	apd_buf_reset(u8);
	return apd_utf16_to_utf8(u8, d, n - 2, false) == APD_OK;
}

/* Redact UTF-16LE string data (SZ, EXPAND_SZ, MULTI_SZ) into out; strings split at NULs. */
static int
redact_u16(struct apd_regw *w, const unsigned char *d, size_t n, struct apd_buf *out)
{
	struct apd_buf u8, red;
	size_t i, start = 0;
	int rc = APD_OK;

	apd_buf_init(&u8, LINE_CAP);
	apd_buf_init(&red, LINE_CAP);
	for (i = 0; rc == APD_OK && i + 1 < n + 1; i += 2) {
		bool end = i + 1 >= n;
		if (!end && (d[i] != 0 || d[i + 1] != 0))
			continue;
		apd_buf_reset(&u8);
		apd_buf_reset(&red);
		if ((rc = apd_utf16_to_utf8(&u8, d + start, (end ? n : i) - start, false)) != APD_OK)
			break;
		if ((rc = apd_redact_text(w->rd, u8.p ? u8.p : "", u8.n, &red)) != APD_OK)
			break;
		if ((rc = apd_utf8_to_utf16le(out, red.p ? red.p : "", red.n)) != APD_OK)
			break;
		if (!end)
			rc = apd_buf_add(out, "\0\0", 2);
		start = i + 2;
		if (end)
			break;
	}
	apd_buf_done(&u8);
	apd_buf_done(&red);
	return rc;
}

int
apd_regw_value(struct apd_regw *w, const char *name, uint32_t type, const void *data, size_t n)
{
	const unsigned char *d = data ? data : (const void *)"";
	struct apd_buf u8, red;
	size_t i, line_len;
	char hex[24];
	int rc;

	apd_buf_init(&u8, LINE_CAP);
	apd_buf_init(&red, (size_t)64 << 20);
	w->values++;
	if (w->rd && (type == 1 || type == 2 || type == 7) && (n & 1) == 0) {
		if ((rc = redact_u16(w, d, n, &red)) != APD_OK)
			goto out;
		d = (const unsigned char *)(red.p ? red.p : "");
		n = red.n;
	}
	if (name[0] == '\0')
		rc = apd_buf_addc(&w->line, '@');
	else
		rc = add_quoted(w, name, strlen(name));
	if (rc == APD_OK)
		rc = apd_buf_addc(&w->line, '=');
	if (rc != APD_OK)
		goto out;
	if (type == 1 && clean_sz(d, n, &u8)) {
		struct apd_redact *keep = w->rd;
		w->rd = NULL;   /* already redacted above */
		rc = add_quoted(w, u8.p ? u8.p : "", u8.n);
		w->rd = keep;
		if (rc == APD_OK)
			rc = flush_line(w);
		goto out;
	}
	if (type == 4 && n == 4) {
		snprintf(hex, sizeof(hex), "dword:%08x", (unsigned)d[0] | (unsigned)d[1] << 8 |
		    (unsigned)d[2] << 16 | (unsigned)d[3] << 24);
		rc = apd_buf_adds(&w->line, hex);
		if (rc == APD_OK)
			rc = flush_line(w);
		goto out;
	}
	if (type == 3)
		snprintf(hex, sizeof(hex), "hex:");
	else
		snprintf(hex, sizeof(hex), "hex(%x):", (unsigned)type);
	if ((rc = apd_buf_adds(&w->line, hex)) != APD_OK)
		goto out;
	/* wrap as reg.exe does: line_len counts the characters of the current line */
	line_len = w->line.n;
	for (i = 0; i < n; i++) {
		static const char hx[] = "0123456789abcdef";
		char b[3] = { hx[d[i] >> 4], hx[d[i] & 15], ',' };

		if ((rc = apd_buf_add(&w->line, b, i + 1 < n ? 3 : 2)) != APD_OK)
			goto out;
		if (i + 1 == n)
			break;
		line_len += 3;
		if (line_len >= HEX_LINE_LEN) {
			if ((rc = apd_buf_addc(&w->line, '\\')) != APD_OK ||
			    (rc = flush_line(w)) != APD_OK ||
			    (rc = apd_buf_adds(&w->line, "  ")) != APD_OK)
				goto out;
			line_len = 2;
		}
	}
	rc = flush_line(w);
out:
	apd_buf_done(&u8);
	apd_buf_done(&red);
	return rc;
}

int
apd_regw_close(struct apd_regw *w, char sha_hex[65])
{
	int rc = APD_OK;

	sha_hex[0] = '\0';
	if (w->keys > 0)
		rc = flush_line(w);
	if (rc == APD_OK && fflush(w->f) != 0) {
		w->err_no = errno ? errno : EIO;
		rc = APD_FAILED;
	}
	if (w->err_no)
		rc = APD_FAILED;
	if (w->sha) {
		if (rc == APD_OK)
			apd_sha256_final_hex(w->sha, sha_hex);
		apd_sha256_done(w->sha);
		free(w->sha);
		w->sha = NULL;
	}
	apd_buf_done(&w->line);
	apd_buf_done(&w->u16);
	return rc;
}
