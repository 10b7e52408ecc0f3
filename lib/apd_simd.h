/*
 * apd_simd.h - SSE2 byte classes shared by the writers of escaped text
 * (apd_evtx_value.c, parsers/apd_parse_evtx.c).  Each returns 0xFF in the
 * bytes of v that belong to the class, 0 elsewhere.
 */
#ifndef APD_SIMD_H
#define APD_SIMD_H

#if defined(__SSE2__)
#include <emmintrin.h>

/* What JSON escapes inside a string: the controls, '"' and '\\'. */
static inline __m128i
apd_simd_json_esc(__m128i v)
{
	return _mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F)),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
}

/* What XML text escapes: '&', '<' and '>'. */
static inline __m128i
apd_simd_xml_esc(__m128i v)
{
	return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('&')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('<'))), _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
}

/* A bit per byte of v (bit k: byte k) that the caller must write itself. */
typedef unsigned (*apd_simd_flag_fn)(__m128i v, int mode);

/*
 * Copy p[i..n) to *out sixteen bytes at a time, up to the first byte that
 * flag(v, mode) marks; returns its index, or n, and moves *out past what
 * was copied.  The last fewer than sixteen bytes are read again as the
 * block that ends p when all of that block lies at or after the i given
 * (its bytes before the current i were copied unchanged, so storing them
 * again is harmless); otherwise they are left to the caller, who writes
 * p[i] itself and calls again.  Nothing is read outside p[0..n); *out
 * needs room for 16 bytes past what is copied.
 */
static inline size_t
apd_simd_copy_clean(char **out, const unsigned char *p, size_t i, size_t n,
    apd_simd_flag_fn flag, int mode)
{
	char *o = *out;
	size_t run = i;
	unsigned m, k;

	while (n - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		_mm_storeu_si128((__m128i *)(void *)o, v);
		if ((m = flag(v, mode)) != 0) {
			k = (unsigned)__builtin_ctz(m);
			*out = o + k;
			return i + k;
		}
		o += 16;
		i += 16;
	}
	if (i < n && n >= 16 && n - 16 >= run) {
		size_t t = n - i;
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
		_mm_storeu_si128((__m128i *)(void *)(o - (16 - t)), v);
		m = flag(v, mode) >> (16 - t);
		k = m ? (unsigned)__builtin_ctz(m) : (unsigned)t;
		o += k;
		i += k;
	}
	*out = o;
	return i;
}
#endif

#endif /* APD_SIMD_H */
