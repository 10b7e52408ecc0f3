/*
 * apd_evtx_value.c - EVTX values as text, integers and times; CRC32.
 *
 * The text forms follow libevtx's evtxexport where the corpus shows them
 * (docs/sources/evtx.md lists each format and where apdiag departs from
 * libevtx on purpose: a negative Int32 keeps its sign).  Everything here is
 * bounded by the value's length and never reads past it.
 */
#include "apd_evtx.h"
#include "apd_simd.h"
#include "apd_time.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- CRC32 ----
 *
 * zlib's crc32() (braided), and on x86-64 with PCLMULQDQ the carry-less
 * folding of Intel's "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ" (the constants of Linux's crc32-pclmul for the reflected
 * polynomial 0xEDB88320): several times faster, and checking every record
 * byte of every chunk is a measurable part of reading a log.
 * tests/check_evtx.c compares the two on many lengths and alignments.
 */

static uint32_t
crc_zlib(uint32_t crc, const unsigned char *p, size_t n)
{
	uLong c = crc;

	while (n > 0) {
		uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <wmmintrin.h>

#define APD_HAVE_CLMUL 1

/* The CRC register (not inverted) over n bytes, n >= 64 and a multiple of 16. */
__attribute__((target("pclmul,sse2")))
static uint32_t
crc_clmul(uint32_t raw, const unsigned char *p, size_t n)
{
	const __m128i k21 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
	const __m128i k43 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i pu = _mm_set_epi64x(0x1F7011641, 0x1DB710641);
	const __m128i m32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x1, x2, x3, x4, t;

	x1 = _mm_loadu_si128((const __m128i *)(const void *)p);
	x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	x4 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
	x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)raw));
	p += 64;
	n -= 64;
#define FOLD(x, k, d) \
	(t = _mm_clmulepi64_si128((x), (k), 0x11), \
	 _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128((x), (k), 0x00), t), (d)))
	while (n >= 64) {
		x1 = FOLD(x1, k21, _mm_loadu_si128((const __m128i *)(const void *)p));
		x2 = FOLD(x2, k21, _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
		x3 = FOLD(x3, k21, _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
		x4 = FOLD(x4, k21, _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
		p += 64;
		n -= 64;
	}
	x1 = FOLD(x1, k43, x2);
	x1 = FOLD(x1, k43, x3);
	x1 = FOLD(x1, k43, x4);
	while (n >= 16) {
		x1 = FOLD(x1, k43, _mm_loadu_si128((const __m128i *)(const void *)p));
		p += 16;
		n -= 16;
	}
#undef FOLD
	/* 128 bits to 64 */
	x2 = _mm_srli_si128(x1, 8);
	x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k43, 0x10), x2);
	/* 64 to 32 */
	x2 = _mm_srli_si128(x1, 4);
	x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, m32), k5, 0x00), x2);
	/* Barrett reduction */
	x2 = x1;
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, m32), pu, 0x10);
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, m32), pu, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(x1, 4));
}
#endif

uint32_t
apd_crc32(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;

#ifdef APD_HAVE_CLMUL
	if (n >= 64 && __builtin_cpu_supports("pclmul")) {
		size_t m = n & ~(size_t)15;
		crc = ~crc_clmul(~crc, p, m);
		p += m;
		n -= m;
	}
#endif
	return crc_zlib(crc, p, n);
}

/* ---- text output ---- */

/* ASCII bytes that need escaping: 1 XML (& < >), 2 JSON (" \ and controls). */
static const unsigned char esc_class[128] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Write ASCII c escaped for esc at o; returns the new end. */
static char *
put_esc(char *o, unsigned c, enum apd_evtx_esc esc)
{
	static const char hex[] = "0123456789abcdef";

	if (esc == APD_EVTX_ESC_XML && esc_class[c] == 1) {
		const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;" : "&gt;";
		size_t l = c == '&' ? 5 : 4;
		memcpy(o, e, l);
		return o + l;
	}
	if (esc == APD_EVTX_ESC_JSON && esc_class[c] == 2) {
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u'; *o++ = '0'; *o++ = '0';
			*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			break;
		}
		return o;
	}
	*o++ = (char)c;
	return o;
}

static char *
put_cp(char *o, uint32_t u)
{
	if (u < 0x800) {
		*o++ = (char)(0xC0 | u >> 6);
		*o++ = (char)(0x80 | (u & 0x3F));
	} else if (u < 0x10000) {
		*o++ = (char)(0xE0 | u >> 12);
		*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
		*o++ = (char)(0x80 | (u & 0x3F));
	} else {
		*o++ = (char)(0xF0 | u >> 18);
		*o++ = (char)(0x80 | ((u >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
		*o++ = (char)(0x80 | (u & 0x3F));
	}
	return o;
}

#if defined(__SSE2__)
/*
 * Eight UTF-16LE units at p: their low bytes packed into the low half of
 * *c, and a bit per unit (bit k: unit k) that is set when the unit is not
 * ASCII, is NUL, or needs escaping for esc.
 */
static inline unsigned
utf16_block(const unsigned char *p, enum apd_evtx_esc esc, __m128i *c)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i w = _mm_or_si128(_mm_srai_epi16(_mm_adds_epu16(v, _mm_set1_epi16(0x7F80)), 15),
	    _mm_cmpeq_epi16(v, _mm_setzero_si128()));
	unsigned bad = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(w, w)) & 0xFF;

	*c = _mm_packus_epi16(v, v);
	if (esc == APD_EVTX_ESC_XML)
		bad |= (unsigned)_mm_movemask_epi8(apd_simd_xml_esc(*c)) & 0xFF;
	else if (esc == APD_EVTX_ESC_JSON)
		bad |= (unsigned)_mm_movemask_epi8(apd_simd_json_esc(*c)) & 0xFF;
	return bad;
}
#endif

/*
 * UTF-16LE p[0..n) to UTF-8, escaped; stops at the first NUL.  Unpaired
 * surrogates become U+FFFD.
 */
static int
put_utf16(struct apd_buf *b, const unsigned char *p, size_t n, enum apd_evtx_esc esc)
{
	size_t i, units = n / 2;
	uint32_t u, u2;
	char *o;
	int rc;

	if ((rc = apd_buf_room(b, units * 6 + 4)) != APD_OK)
		return rc;
	o = b->p + b->n;
	for (i = 0; i < units; i++) {
#if defined(__SSE2__)
		/* eight units at a time: store them packed, keep those before the
		   first that is not ASCII, is NUL or needs escaping */
		size_t run = i;   /* units from here on are stored one byte each */
		__m128i c;
		unsigned bad;
		while (units - i >= 8) {
			bad = utf16_block(p + 2 * i, esc, &c);
			_mm_storel_epi64((__m128i *)(void *)o, c);
			if (bad) {
				unsigned k = (unsigned)__builtin_ctz(bad);
				o += k;
				i += k;
				goto one;
			}
			o += 8;
			i += 8;
		}
		/* fewer than eight left: when the eight units that end the text
		   all lie in this run, read them again (the first 8 - t were
		   stored as the same bytes), else go one unit at a time */
		if (i < units && units >= 8 && units - 8 >= run) {
			size_t t = units - i;
			bad = utf16_block(p + 2 * (units - 8), esc, &c) >> (8 - t);
			_mm_storel_epi64((__m128i *)(void *)(o - (8 - t)), c);
			if (bad == 0) {
				o += t;
				break;
			}
			o += __builtin_ctz(bad);
			i += (size_t)__builtin_ctz(bad);
		}
		if (i >= units)
			break;
one:
#endif
		u = le16(p + 2 * i);
		if (u < 0x80) {
			if (u == 0)
				break;
			if (esc_class[u] == 0 || esc == APD_EVTX_ESC_NONE)
				*o++ = (char)u;
			else
				o = put_esc(o, u, esc);
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units &&
		    (u2 = le16(p + 2 * i + 2)) >= 0xDC00 && u2 <= 0xDFFF) {
			u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
			i++;
		} else if (u >= 0xD800 && u <= 0xDFFF) {
			u = 0xFFFD;
		}
		o = put_cp(o, u);
	}
	apd_buf_set_end(b, o);
	return APD_OK;
}

/* UTF-8 text p[0..n), escaped (the decoder made it valid UTF-8). */
static int
put_utf8(struct apd_buf *b, const unsigned char *p, size_t n, enum apd_evtx_esc esc)
{
	size_t i;
	char *o;
	int rc;

	if (esc == APD_EVTX_ESC_NONE)
		return apd_buf_add(b, p, n);
	if ((rc = apd_buf_room(b, n * 6 + 1)) != APD_OK)
		return rc;
	o = b->p + b->n;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x80 && esc_class[p[i]])
			o = put_esc(o, p[i], esc);
		else
			*o++ = (char)p[i];
	}
	apd_buf_set_end(b, o);
	return APD_OK;
}

#if defined(__SSE2__)
/* The bytes of v that put_ansi writes itself: not ASCII, NUL, or escaped for
   esc (the mode). */
static unsigned
ansi_flag(__m128i v, int esc)
{
	__m128i e = _mm_cmpeq_epi8(v, _mm_setzero_si128());

	if (esc == APD_EVTX_ESC_XML)
		e = _mm_or_si128(e, apd_simd_xml_esc(v));
	else if (esc == APD_EVTX_ESC_JSON)
		e = _mm_or_si128(e, apd_simd_json_esc(v));
	return (unsigned)(_mm_movemask_epi8(v) | _mm_movemask_epi8(e));
}
#endif

/* Windows-1252 text to UTF-8, escaped; stops at the first NUL. */
static int
put_ansi(struct apd_buf *b, const unsigned char *p, size_t n, enum apd_evtx_esc esc)
{
	static const uint16_t hi[32] = {
		0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
		0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
	};
	size_t i;
	char *o;
	int rc;

	if ((rc = apd_buf_room(b, n * 6 + 1)) != APD_OK)
		return rc;
	o = b->p + b->n;
	for (i = 0; i < n && p[i]; i++) {
#if defined(__SSE2__)
		/* ASCII that needs no escaping is copied sixteen bytes at a time */
		i = apd_simd_copy_clean(&o, p, i, n, ansi_flag, (int)esc);
		if (i >= n || p[i] == 0)
			break;
#endif
		if (p[i] < 0x80)
			o = esc_class[p[i]] && esc != APD_EVTX_ESC_NONE ? put_esc(o, p[i], esc) :
			    (*o = (char)p[i], o + 1);
		else
			o = put_cp(o, p[i] >= 0xA0 ? p[i] : hi[p[i] - 0x80]);
	}
	apd_buf_set_end(b, o);
	return APD_OK;
}

static char *
put_u64(char *o, uint64_t v)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		*o++ = tmp[--i];
	return o;
}

static char *
put_i64(char *o, int64_t v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(o, (uint64_t)v);
}

static char *
put_hex(char *o, uint64_t v, int digits, bool upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int i;

	for (i = digits - 1; i >= 0; i--)
		*o++ = hex[(v >> (4 * i)) & 15];
	return o;
}

static char *
put_2(char *o, unsigned v)
{
	*o++ = (char)('0' + v / 10 % 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

/* "YYYY-MM-DDTHH:MM:SS" of a count of seconds since 1601-01-01. */
static char *
put_date(char *o, uint64_t secs)
{
	int64_t days = (int64_t)(secs / 86400) - 134774;   /* 1601-01-01 -> 1970-01-01 */
	unsigned s = (unsigned)(secs % 86400), mo, d;
	int y;

	apd_civil_from_days(days, &y, &mo, &d);
	if (y < 1000)
		*o++ = '0';
	o = put_u64(o, (uint64_t)y);
	*o++ = '-';
	o = put_2(o, mo);
	*o++ = '-';
	o = put_2(o, d);
	*o++ = 'T';
	o = put_2(o, s / 3600);
	*o++ = ':';
	o = put_2(o, s / 60 % 60);
	*o++ = ':';
	return put_2(o, s % 60);
}

static size_t
fixed_size(unsigned t)
{
	switch (t) {
	case APD_EVTX_T_INT8: case APD_EVTX_T_UINT8: return 1;
	case APD_EVTX_T_INT16: case APD_EVTX_T_UINT16: return 2;
	case APD_EVTX_T_INT32: case APD_EVTX_T_UINT32: case APD_EVTX_T_REAL32:
	case APD_EVTX_T_BOOL: case APD_EVTX_T_HEX32: return 4;
	case APD_EVTX_T_INT64: case APD_EVTX_T_UINT64: case APD_EVTX_T_REAL64:
	case APD_EVTX_T_FILETIME: case APD_EVTX_T_HEX64: return 8;
	case APD_EVTX_T_GUID: case APD_EVTX_T_SYSTEMTIME: return 16;
	default: return 0;
	}
}

bool
apd_evtx_array_next(unsigned type, const unsigned char *p, size_t n, size_t *pos,
    unsigned *itype, const unsigned char **ip, size_t *in)
{
	unsigned t = type & 0x7F;
	size_t at = *pos, sz, k;

	if (at >= n)
		return false;
	*itype = t;
	switch (t) {
	case APD_EVTX_T_STRING:
		/* NUL-separated UTF-16 strings; a last NUL ends the list */
		for (k = at; k + 1 < n && (p[k] | p[k + 1]); k += 2)
			;
		*ip = p + at;
		*in = k - at;
		*pos = k + 2 > n ? n : k + 2;
		return true;
	case APD_EVTX_T_ANSI:
		for (k = at; k < n && p[k]; k++)
			;
		*ip = p + at;
		*in = k - at;
		*pos = k + 1;
		return true;
	case APD_EVTX_T_SID:
		if (n - at < 8) {
			*ip = p + at;
			*in = n - at;
			*pos = n;
			return true;
		}
		sz = 8 + 4 * (size_t)p[at + 1];
		if (sz > n - at)
			sz = n - at;
		*ip = p + at;
		*in = sz;
		*pos = at + sz;
		return true;
	case APD_EVTX_T_SIZET:
		sz = n % 8 == 0 ? 8 : 4;
		break;
	default:
		sz = fixed_size(t);
		if (sz == 0) {   /* no item size known: the whole rest is one item */
			*itype = APD_EVTX_T_BINARY;
			sz = n - at;
		}
		break;
	}
	if (sz > n - at)
		sz = n - at;
	*ip = p + at;
	*in = sz;
	*pos = at + sz;
	return true;
}

/* One scalar value (or a malformed one as hex). */
static int
scalar_text(struct apd_buf *b, unsigned t, const unsigned char *p, size_t n,
    enum apd_evtx_esc esc)
{
	size_t need = fixed_size(t), i;
	char *o;
	int rc;

	switch (t) {
	case APD_EVTX_T_NULL:
		return APD_OK;
	case APD_EVTX_T_STRING:
	case APD_EVTX_T_EVTXML:
		return put_utf16(b, p, n, esc);
	case APD_EVTX_T_UTF8:
		return put_utf8(b, p, n, esc);
	case APD_EVTX_T_ANSI:
		/* evtxexport writes 8-bit strings unescaped; so does apdiag's XML */
		return put_ansi(b, p, n, esc == APD_EVTX_ESC_XML ? APD_EVTX_ESC_NONE : esc);
	default:
		break;
	}
	if (t == APD_EVTX_T_SIZET)
		need = n == 8 ? 8 : 4;
	if (t == APD_EVTX_T_SID)
		need = n >= 8 ? 8 + 4 * (size_t)p[1] : 8;
	if (need == 0 || n < need || (t != APD_EVTX_T_SID && n != need)) {
		/* binary, EvtHandle, unknown types and values of the wrong size: hex */
		if ((rc = apd_buf_room(b, 2 * n + 1)) != APD_OK)
			return rc;
		o = b->p + b->n;
		for (i = 0; i < n; i++)
			o = put_hex(o, p[i], 2, true);
		apd_buf_set_end(b, o);
		return APD_OK;
	}
	if ((rc = apd_buf_room(b, 48 + (t == APD_EVTX_T_SID ? 11 * (size_t)p[1] : 0))) != APD_OK)
		return rc;
	o = b->p + b->n;
	switch (t) {
	case APD_EVTX_T_INT8: o = put_i64(o, (int8_t)p[0]); break;
	case APD_EVTX_T_UINT8: o = put_u64(o, p[0]); break;
	case APD_EVTX_T_INT16: o = put_i64(o, (int16_t)le16(p)); break;
	case APD_EVTX_T_UINT16: o = put_u64(o, le16(p)); break;
	case APD_EVTX_T_INT32: o = put_i64(o, (int32_t)le32(p)); break;
	case APD_EVTX_T_UINT32: o = put_u64(o, le32(p)); break;
	case APD_EVTX_T_INT64: o = put_i64(o, (int64_t)le64(p)); break;
	case APD_EVTX_T_UINT64: o = put_u64(o, le64(p)); break;
	case APD_EVTX_T_REAL32: {
		float f;
		uint32_t u = le32(p);
		memcpy(&f, &u, 4);
		o += snprintf(o, 32, "%.9g", (double)f);
		break;
	}
	case APD_EVTX_T_REAL64: {
		double d;
		uint64_t u = le64(p);
		memcpy(&d, &u, 8);
		o += snprintf(o, 32, "%.17g", d);
		break;
	}
	case APD_EVTX_T_BOOL:
		memcpy(o, le32(p) ? "true" : "false", le32(p) ? 4 : 5);
		o += le32(p) ? 4 : 5;
		break;
	case APD_EVTX_T_GUID:
		*o++ = '{';
		o = put_hex(o, le32(p), 8, true);
		*o++ = '-';
		o = put_hex(o, le16(p + 4), 4, true);
		*o++ = '-';
		o = put_hex(o, le16(p + 6), 4, true);
		*o++ = '-';
		for (i = 8; i < 16; i++) {
			if (i == 10)
				*o++ = '-';
			o = put_hex(o, p[i], 2, true);
		}
		*o++ = '}';
		break;
	case APD_EVTX_T_SIZET:
		o = put_u64(o, need == 8 ? le64(p) : le32(p));
		break;
	case APD_EVTX_T_HEX32:
	case APD_EVTX_T_HEX64:
		*o++ = '0';
		*o++ = 'x';
		o = need == 8 ? put_hex(o, le64(p), 16, false) : put_hex(o, le32(p), 8, false);
		break;
	case APD_EVTX_T_FILETIME: {
		uint64_t ft = le64(p);
		o = put_date(o, ft / 10000000u);
		*o++ = '.';
		{
			char tmp[8];
			unsigned f = (unsigned)(ft % 10000000u);
			int k;
			for (k = 6; k >= 0; k--) {
				tmp[k] = (char)('0' + f % 10);
				f /= 10;
			}
			memcpy(o, tmp, 7);
			o += 7;
		}
		memcpy(o, "00Z", 3);
		o += 3;
		break;
	}
	case APD_EVTX_T_SYSTEMTIME: {
		unsigned y = le16(p), mo = le16(p + 2), d = le16(p + 6), h = le16(p + 8),
		    mi = le16(p + 10), s = le16(p + 12), ms = le16(p + 14);
		o = put_u64(o, y / 1000 % 10);
		o = put_u64(o, y / 100 % 10);
		o = put_2(o, y % 100);
		*o++ = '-';
		o = put_2(o, mo);
		*o++ = '-';
		o = put_2(o, d);
		*o++ = 'T';
		o = put_2(o, h);
		*o++ = ':';
		o = put_2(o, mi);
		*o++ = ':';
		o = put_2(o, s);
		*o++ = '.';
		o = put_u64(o, ms / 100 % 10);
		o = put_2(o, ms % 100);
		*o++ = 'Z';
		break;
	}
	case APD_EVTX_T_SID: {
		uint64_t auth = 0;
		unsigned k, cnt = p[1];
		for (k = 2; k < 8; k++)
			auth = auth << 8 | p[k];
		*o++ = 'S';
		*o++ = '-';
		o = put_u64(o, p[0]);
		*o++ = '-';
		if (auth >> 32) {
			*o++ = '0';
			*o++ = 'x';
			o = put_hex(o, auth, 12, true);
		} else {
			o = put_u64(o, auth);
		}
		for (k = 0; k < cnt; k++) {
			*o++ = '-';
			o = put_u64(o, le32(p + 8 + 4 * k));
		}
		break;
	}
	default:
		break;
	}
	apd_buf_set_end(b, o);
	return APD_OK;
}

int
apd_evtx_value_text(struct apd_buf *out, unsigned type, const unsigned char *p, size_t n,
    enum apd_evtx_esc esc)
{
	const unsigned char *ip;
	size_t pos = 0, in;
	unsigned it;
	int rc, first = 1;

	if (!(type & APD_EVTX_T_ARRAY) || type == APD_EVTX_T_UTF8)
		return scalar_text(out, type, p, n, esc);
	while (apd_evtx_array_next(type, p, n, &pos, &it, &ip, &in)) {
		if (!first && (rc = apd_buf_add(out, ", ", 2)) != APD_OK)
			return rc;
		first = 0;
		if ((rc = scalar_text(out, it, ip, in, esc)) != APD_OK)
			return rc;
	}
	return APD_OK;
}

/* Decimal digits (an optional '-' first) of a UTF-16 or 8-bit string. */
static bool
parse_dec(const unsigned char *p, size_t n, size_t step, int64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	bool neg = false, any = false;

	if (n >= step && p[0] == '-' && (step == 1 || p[1] == 0)) {
		neg = true;
		i = step;
	}
	for (; i + step <= n; i += step) {
		unsigned c = p[i];
		if (step == 2 && p[i + 1] != 0)
			return false;
		if (c == 0 && any)
			break;
		if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (c - '0');
		any = true;
	}
	if (!any || v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

bool
apd_evtx_value_int(unsigned type, const unsigned char *p, size_t n, int64_t *out)
{
	size_t need = fixed_size(type);

	if (type == APD_EVTX_T_SIZET)
		need = n == 8 ? 8 : 4;
	switch (type) {
	case APD_EVTX_T_STRING:
		return parse_dec(p, n, 2, out);
	case APD_EVTX_T_ANSI:
	case APD_EVTX_T_UTF8:
		return parse_dec(p, n, 1, out);
	default:
		break;
	}
	if (need == 0 || n != need)
		return false;
	switch (type) {
	case APD_EVTX_T_INT8: *out = (int8_t)p[0]; return true;
	case APD_EVTX_T_UINT8: *out = p[0]; return true;
	case APD_EVTX_T_INT16: *out = (int16_t)le16(p); return true;
	case APD_EVTX_T_UINT16: *out = le16(p); return true;
	case APD_EVTX_T_INT32: *out = (int32_t)le32(p); return true;
	case APD_EVTX_T_UINT32: case APD_EVTX_T_HEX32: *out = le32(p); return true;
	case APD_EVTX_T_INT64: case APD_EVTX_T_UINT64: case APD_EVTX_T_HEX64:
		*out = (int64_t)le64(p);
		return true;
	case APD_EVTX_T_SIZET:
		*out = n == 8 ? (int64_t)le64(p) : (int64_t)le32(p);
		return true;
	default:
		return false;
	}
}

bool
apd_evtx_value_filetime(unsigned type, const unsigned char *p, size_t n, uint64_t *ft)
{
	char tmp[40];
	size_t i, k;
	int64_t us;

	switch (type) {
	case APD_EVTX_T_FILETIME:
		if (n != 8)
			return false;
		*ft = le64(p);
		return true;
	case APD_EVTX_T_SYSTEMTIME:
		if (n != 16 || apd_civil_to_us(le16(p), le16(p + 2), le16(p + 6), le16(p + 8),
		    le16(p + 10), le16(p + 12), (unsigned)le16(p + 14) % 1000 * 1000, &us) != 0)
			return false;
		*ft = (uint64_t)(us + 11644473600LL * APD_US_PER_SEC) * 10;
		return true;
	case APD_EVTX_T_STRING:
	case APD_EVTX_T_UTF8:
	case APD_EVTX_T_ANSI:
		/* "2016-07-08T18:12:51.681640Z" and the like */
		for (i = 0, k = 0; k < sizeof(tmp) - 1; k++) {
			unsigned c;
			if (type == APD_EVTX_T_STRING) {
				if (i + 2 > n || p[i + 1])
					break;
				c = p[i];
				i += 2;
			} else {
				if (i >= n)
					break;
				c = p[i++];
			}
			if (c == 0 || c == 'Z')
				break;
			tmp[k] = (char)c;
		}
		if (!apd_parse_iso(apd_sv(tmp, k), &us) || us < -11644473600LL * APD_US_PER_SEC)
			return false;
		*ft = (uint64_t)(us + 11644473600LL * APD_US_PER_SEC) * 10;
		return true;
	default:
		return false;
	}
}
