/*
 * apd_hresult.c - HRESULT spellings (see apd_hresult.h).
 */
#include "apd_hresult.h"

#include <stdio.h>
#include <string.h>

static bool
is_word(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * One token (without the '-'); neg: a '-' came right before it; dash_after:
 * a '-' follows it.  Eight hex digits next to a '-' are a part of a GUID.
 */
static bool
parse_token(const char *p, size_t n, bool neg, bool dash_after, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n >= 3 && p[0] == '0' && (p[1] | 0x20) == 'x') {
		/* a '-' before a hex spelling is punctuation, not a sign */
		if (n > 10)
			return false;
		for (i = 2; i < n; i++) {
			int h = hexval((unsigned char)p[i]);
			if (h < 0)
				return false;
			v = v << 4 | (uint64_t)h;
		}
		*out = (uint32_t)v;
		return true;
	}
	if (n == 8) {
		for (i = 0; i < n; i++) {
			int h = hexval((unsigned char)p[i]);
			if (h < 0)
				return false;
			v = v << 4 | (uint64_t)h;
		}
		if (neg || dash_after)
			return false;
		*out = (uint32_t)v;
		return true;
	}
	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (neg) {
		if (v > 0x80000000u)
			return false;
		*out = (uint32_t)(0x100000000ull - v);
		return true;
	}
	if (v > 0xFFFFFFFFu)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
apd_hresult_parse(struct apd_sv s, uint32_t *out)
{
	bool neg = false;
	size_t i;

	if (s.p == NULL || s.n == 0)
		return false;
	if (s.p[0] == '-') {
		neg = true;
		s.p++;
		s.n--;
		if (s.n >= 2 && s.p[0] == '0' && (s.p[1] | 0x20) == 'x')
			return false;
	}
	for (i = 0; i < s.n; i++)
		if (!is_word((unsigned char)s.p[i]))
			return false;
	return parse_token(s.p, s.n, neg, false, out);
}

void
apd_hresult_format(uint32_t code, char out[APD_HRESULT_HEX_LEN])
{
	snprintf(out, APD_HRESULT_HEX_LEN, "0x%08X", (unsigned)code);
}

bool
apd_hresult_find(struct apd_sv text, const uint32_t *codes, size_t n, size_t *which,
    size_t *pos, size_t *len)
{
	const unsigned char *p = (const unsigned char *)text.p;
	size_t i = 0, k;

	if (p == NULL)
		return false;
	while (i < text.n) {
		size_t start;
		bool neg;
		uint32_t v;

		if (!is_word(p[i])) {
			i++;
			continue;
		}
		start = i;
		while (i < text.n && is_word(p[i]))
			i++;
		neg = start > 0 && p[start - 1] == '-';
		if (neg && i - start >= 2 && p[start] == '0' && (p[start + 1] | 0x20) == 'x')
			neg = false;
		if (!parse_token((const char *)p + start, i - start, neg,
		    i < text.n && p[i] == '-', &v))
			continue;
		for (k = 0; k < n; k++) {
			if (codes[k] == v) {
				if (which)
					*which = k;
				if (pos)
					*pos = neg ? start - 1 : start;
				if (len)
					*len = i - start + (neg ? 1 : 0);
				return true;
			}
		}
	}
	return false;
}

int
apd_hresult_words(uint32_t code, char out[4][12])
{
	int n = 0;

	snprintf(out[n++], 12, "0x%08x", (unsigned)code);
	snprintf(out[n++], 12, "%08x", (unsigned)code);
	snprintf(out[n++], 12, "%u", (unsigned)code);
	if (code & 0x80000000u)
		snprintf(out[n++], 12, "%u", (unsigned)(0x100000000ull - code));
	return n;
}
