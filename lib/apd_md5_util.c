/*
 * apd_md5_util.c - the parts of apd_md5.h that do not depend on the hash
 * backend (OpenSSL in apd_md5.c, bcrypt in apd_hash_bcrypt.c): one-shot MD5
 * and base64.
 */
#include "apd.h"
#include "apd_md5.h"

int
apd_md5_b64(const void *p, size_t n, char out[APD_MD5_B64_LEN + 1])
{
	struct apd_md5 h;

	if (apd_md5_init(&h) != APD_OK)
		return APD_FATAL;
	apd_md5_update(&h, p, n);
	apd_md5_final_b64(&h, out);
	apd_md5_done(&h);
	return out[0] ? APD_OK : APD_FATAL;
}

size_t
apd_base64(const void *p, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
