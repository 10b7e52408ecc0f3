/*
 * apd_text.c - encoding sniffing, transcoding to UTF-8, and the line reader.
 */
#include "apd_text.h"

#include <string.h>

enum apd_enc
apd_enc_sniff(const unsigned char *p, size_t n, size_t *bom_len)
{
	size_t i, zodd = 0, zeven = 0, pairs;

	*bom_len = 0;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		*bom_len = 3;
		return APD_ENC_UTF8_BOM;
	}
	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
		*bom_len = 2;
		return APD_ENC_UTF16LE;
	}
	if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
		*bom_len = 2;
		return APD_ENC_UTF16BE;
	}
	/* no BOM: UTF-16 text of ASCII characters has a NUL in every pair */
	pairs = (n < 512 ? n : 512) / 2;
	if (pairs < 2)
		return APD_ENC_8BIT;
	for (i = 0; i < pairs; i++) {
		if (p[2 * i] == 0)
			zeven++;
		if (p[2 * i + 1] == 0)
			zodd++;
	}
	if (zodd * 10 >= pairs * 9 && zeven == 0)
		return APD_ENC_UTF16LE;
	if (zeven * 10 >= pairs * 9 && zodd == 0)
		return APD_ENC_UTF16BE;
	return APD_ENC_8BIT;
}

const char *
apd_enc_name(enum apd_enc enc)
{
	switch (enc) {
	case APD_ENC_UTF8_BOM: return "utf-8-bom";
	case APD_ENC_UTF16LE: return "utf-16le";
	case APD_ENC_UTF16BE: return "utf-16be";
	case APD_ENC_8BIT:
	default: return "8-bit";
	}
}

bool
apd_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	unsigned c;

	while (p < e) {
		/* skip ASCII eight bytes at a time */
		while (e - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ull)
				break;
			p += 8;
		}
		if (p >= e)
			break;
		c = *p;
		if (c < 0x80) {
			p++;
		} else if (c >= 0xC2 && c <= 0xDF) {
			if (e - p < 2 || (p[1] & 0xC0) != 0x80)
				return false;
			p += 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			if (e - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
				return false;
			if (c == 0xE0 && p[1] < 0xA0)
				return false;
			if (c == 0xED && p[1] >= 0xA0)
				return false;
			p += 3;
		} else if (c >= 0xF0 && c <= 0xF4) {
			if (e - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
			    (p[3] & 0xC0) != 0x80)
				return false;
			if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
				return false;
			p += 4;
		} else {
			return false;
		}
	}
	return true;
}

static int
put_utf8(struct apd_buf *b, uint32_t cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xC0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return apd_buf_add(b, t, n);
}

/* Windows-1252 0x80..0x9F; 0 marks the five undefined bytes (kept as U+FFFD). */
static const uint16_t cp1252_hi[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

int
apd_cp1252_to_utf8(struct apd_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, run = 0;
	uint32_t cp;
	int rc;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x80)
			continue;
		if ((rc = apd_buf_add(b, p + run, i - run)) != APD_OK)
			return rc;
		cp = p[i] >= 0xA0 ? p[i] : cp1252_hi[p[i] - 0x80];
		if (cp == 0)
			cp = 0xFFFD;
		if ((rc = put_utf8(b, cp)) != APD_OK)
			return rc;
		run = i + 1;
	}
	return apd_buf_add(b, p + run, n - run);
}

int
apd_utf16_to_utf8(struct apd_buf *b, const unsigned char *p, size_t n, bool be)
{
	size_t i;
	uint32_t u, u2;
	int rc;

	if ((rc = apd_buf_reserve(b, n + n / 2)) != APD_OK)
		return rc;
	for (i = 0; i + 1 < n; i += 2) {
		u = be ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
		if (u < 0x80) {
			if ((rc = apd_buf_addc(b, (char)u)) != APD_OK)
				return rc;
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
			u2 = be ? (uint32_t)(p[i + 2] << 8 | p[i + 3]) : (uint32_t)(p[i + 3] << 8 | p[i + 2]);
			if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
				i += 2;
			} else {
				u = 0xFFFD;
			}
		} else if (u >= 0xD800 && u <= 0xDFFF) {
			u = 0xFFFD;
		}
		if ((rc = put_utf8(b, u)) != APD_OK)
			return rc;
	}
	if (n & 1)
		return put_utf8(b, 0xFFFD);
	return APD_OK;
}

bool
apd_looks_binary(const unsigned char *p, size_t n)
{
	size_t i, ctl = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == 0)
			return true;
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != 0x0C)
			ctl++;
	}
	return n > 0 && ctl * 20 > n;   /* more than 5% control characters */
}

int
apd_lines_init(struct apd_lines *lr, struct apd_stream *in, size_t max_line)
{
	const unsigned char *h;
	size_t hl, bom;

	memset(lr, 0, sizeof(*lr));
	lr->in = in;
	lr->max_line = max_line;
	h = apd_stream_head(in, &hl);
	lr->enc = apd_enc_sniff(h, hl, &bom);
	lr->next_offset = bom;
	lr->bom_left = bom;
	/* UTF-16 needs two bytes per character, plus the line end */
	apd_buf_init(&lr->raw, (lr->enc >= APD_ENC_UTF16LE ? 2 * max_line : max_line) + 8);
	apd_buf_init(&lr->out, 3 * max_line + 8);
	return APD_OK;
}

void
apd_lines_done(struct apd_lines *lr)
{
	apd_buf_done(&lr->raw);
	apd_buf_done(&lr->out);
}

static int
fill(struct apd_lines *lr)
{
	const void *p;
	size_t n;
	int rc;

	rc = apd_stream_block(lr->in, &p, &n);
	if (rc != APD_OK)
		return rc;
	lr->blk = p;
	lr->blk_len = n;
	lr->blk_pos = 0;
	if (lr->bom_left) {
		/* the BOM may be split across the first blocks */
		lr->blk_pos = lr->bom_left < n ? lr->bom_left : n;
		lr->bom_left -= lr->blk_pos;
	}
	return APD_OK;
}

/* Append to the raw line, but never beyond the cap; remember if we cut. */
static void
add_raw(struct apd_lines *lr, const unsigned char *p, size_t n, bool *cut)
{
	size_t room = lr->raw.toobig - 8 - lr->raw.n;

	if (n > room) {
		*cut = true;
		n = room;
	}
	if (n)
		(void)apd_buf_add(&lr->raw, p, n);   /* cannot exceed toobig: checked above */
}

int
apd_lines_next(struct apd_lines *lr, struct apd_sv *line)
{
	const unsigned char *s, *q;
	size_t avail, chunk, i;
	bool cut = false, any = false, nl = false;
	bool u16 = lr->enc == APD_ENC_UTF16LE || lr->enc == APD_ENC_UTF16BE;
	bool be = lr->enc == APD_ENC_UTF16BE;
	int rc;

	if (lr->eof)
		return APD_EOF;
	apd_buf_reset(&lr->raw);
	lr->u16_count = 0;
	lr->offset = lr->next_offset;
	for (;;) {
		if (lr->blk_pos >= lr->blk_len) {
			rc = fill(lr);
			if (rc == APD_EOF) {
				lr->eof = true;
				if (!any)
					return APD_EOF;
				break;
			}
			if (rc != APD_OK)
				return rc;
			if (lr->blk_pos >= lr->blk_len)
				continue;
		}
		any = true;
		s = lr->blk + lr->blk_pos;
		avail = lr->blk_len - lr->blk_pos;
		if (!u16) {
			q = memchr(s, '\n', avail);
			chunk = q ? (size_t)(q - s) : avail;
			if (q && lr->raw.n == 0 && chunk <= lr->max_line) {
				/* fast path: the whole line is in this block */
				lr->blk_pos += chunk + 1;
				lr->next_offset += chunk + 1;
				if (chunk && s[chunk - 1] == '\r')
					chunk--;
				lr->lineno++;
				if (apd_utf8_valid((const char *)s, chunk)) {
					*line = apd_sv((const char *)s, chunk);
					return APD_OK;
				}
				apd_buf_reset(&lr->out);
				lr->n_transcoded++;
				rc = apd_cp1252_to_utf8(&lr->out, (const char *)s, chunk);
				if (rc != APD_OK)
					return rc;
				*line = apd_buf_sv(&lr->out);
				return APD_OK;
			}
			add_raw(lr, s, chunk, &cut);
			lr->blk_pos += chunk + (q ? 1 : 0);
			lr->next_offset += chunk + (q ? 1 : 0);
			if (q) {
				nl = true;
				break;
			}
		} else {
			for (i = 0; i < avail; i++) {
				if (lr->raw.n + 1 < lr->raw.toobig - 8)
					(void)apd_buf_addc(&lr->raw, (char)s[i]);
				else
					cut = true;
				lr->u16_prev[0] = lr->u16_prev[1];
				lr->u16_prev[1] = s[i];
				lr->u16_count++;
				/* a line feed code unit, aligned on the line start */
				if ((lr->u16_count & 1) == 0 &&
				    lr->u16_prev[be ? 1 : 0] == '\n' && lr->u16_prev[be ? 0 : 1] == 0) {
					nl = true;
					i++;
					break;
				}
			}
			lr->blk_pos += i;
			lr->next_offset += i;
			if (nl) {
				lr->raw.n = lr->raw.n >= 2 && !cut ? lr->raw.n - 2 : lr->raw.n;
				break;
			}
		}
	}
	(void)nl;
	lr->lineno++;
	/* strip the CR of CRLF */
	if (u16) {
		if (lr->raw.n >= 2 && (unsigned char)lr->raw.p[lr->raw.n - (be ? 1 : 2)] == '\r' &&
		    lr->raw.p[lr->raw.n - (be ? 2 : 1)] == 0)
			lr->raw.n -= 2;
		apd_buf_reset(&lr->out);
		rc = apd_utf16_to_utf8(&lr->out, (const unsigned char *)lr->raw.p, lr->raw.n, be);
		if (rc != APD_OK)
			return rc;
		*line = apd_buf_sv(&lr->out);
	} else {
		if (lr->raw.n && lr->raw.p[lr->raw.n - 1] == '\r')
			lr->raw.n--;
		if (apd_utf8_valid(lr->raw.p ? lr->raw.p : "", lr->raw.n)) {
			*line = apd_buf_sv(&lr->raw);
		} else {
			apd_buf_reset(&lr->out);
			lr->n_transcoded++;
			rc = apd_cp1252_to_utf8(&lr->out, lr->raw.p, lr->raw.n);
			if (rc != APD_OK)
				return rc;
			*line = apd_buf_sv(&lr->out);
		}
	}
	if (cut) {
		lr->n_cut++;
		return APD_WARN;
	}
	return APD_OK;
}
