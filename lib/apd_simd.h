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
#endif

#endif /* APD_SIMD_H */
