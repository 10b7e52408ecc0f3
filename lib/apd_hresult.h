/*
 * apd_hresult.h - one HRESULT, every spelling (KNOWN_ERRORS.md Appendix A).
 *
 * Windows writes the same code as 0x801c0003, 0X801C0003, 801C0003,
 * 2149318659 (unsigned decimal) or -2145648637 (signed decimal).  A rule
 * names a code once; these functions find it in any of its spellings.
 *
 * A spelling is a whole token of the text: a maximal run of ASCII letters
 * and digits (the way SQLite's FTS5 unicode61 tokenizer splits words),
 * with an optional '-' right before it for the signed form:
 *   0x / 0X followed by 1 to 8 hex digits     hex
 *   exactly 8 hex digits                        hex without prefix (801C0003, 80070774)
 *   1 to 10 decimal digits, at most 4294967295  unsigned decimal; with '-' before it,
 *                                               signed (down to -2147483648)
 * So "0x801c00031" and "x801c0003" are not 0x801C0003, and an 8-digit
 * decimal-looking token ("80070774") is read as hex, as Windows writes it
 * ("error code 80070774"); failure codes in decimal always have 10 digits.
 */
#ifndef APD_HRESULT_H
#define APD_HRESULT_H

#include "apd.h"

#include <stdbool.h>

#define APD_HRESULT_HEX_LEN 11   /* "0x801C0003" and its NUL */

/* Parse one spelling (the whole of s, '-' included).  false if it is none. */
bool apd_hresult_parse(struct apd_sv s, uint32_t *out);

/* The canonical spelling: "0x801C0003". */
void apd_hresult_format(uint32_t code, char out[APD_HRESULT_HEX_LEN]);

/*
 * Find the first token of text that spells one of codes[0..n).  Returns
 * true and sets *which (index into codes), *pos and *len (the spelling,
 * '-' included) when found; the out pointers may be NULL.
 */
bool apd_hresult_find(struct apd_sv text, const uint32_t *codes, size_t n, size_t *which,
    size_t *pos, size_t *len);

/*
 * The words a full-text index holds for the code's spellings, lower case:
 * "0x801c0003", "801c0003", "2149318659" and, for codes with the high bit
 * set, "2145648637" (the magnitude of the signed form: the tokenizer drops
 * the '-').  Returns how many were written (3 or 4).
 */
int apd_hresult_words(uint32_t code, char out[4][12]);

#endif /* APD_HRESULT_H */
