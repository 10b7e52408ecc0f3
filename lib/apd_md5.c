/*
 * apd_md5.c - MD5 through OpenSSL EVP, and base64 (see apd_md5.h).
 */
#include "apd.h"
#include "apd_md5.h"

#include <openssl/evp.h>

int
apd_md5_init(struct apd_md5 *h)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	h->md = NULL;
	if (md == NULL)
		return APD_FATAL;
	if (EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return APD_FATAL;
	}
	h->md = md;
	return APD_OK;
}

void
apd_md5_update(struct apd_md5 *h, const void *p, size_t n)
{
	if (h->md && n)
		EVP_DigestUpdate(h->md, p, n);
}

void
apd_md5_final_b64(struct apd_md5 *h, char out[APD_MD5_B64_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (h->md == NULL || EVP_DigestFinal_ex(h->md, d, &n) != 1 || n != 16)
		return;
	apd_base64(d, 16, out);
	EVP_DigestInit_ex(h->md, EVP_md5(), NULL);
}

void
apd_md5_done(struct apd_md5 *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}

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
