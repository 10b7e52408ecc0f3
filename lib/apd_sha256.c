/*
 * apd_sha256.c - SHA-256 through OpenSSL EVP (see apd_sha256.h).
 */
#include "apd.h"
#include "apd_sha256.h"

#include <openssl/evp.h>

int
apd_sha256_init(struct apd_sha256 *h)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	h->md = NULL;
	if (md == NULL)
		return APD_FATAL;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return APD_FATAL;
	}
	h->md = md;
	return APD_OK;
}

void
apd_sha256_update(struct apd_sha256 *h, const void *p, size_t n)
{
	if (h->md && n)
		EVP_DigestUpdate(h->md, p, n);
}

void
apd_sha256_final_hex(struct apd_sha256 *h, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (h->md == NULL || EVP_DigestFinal_ex(h->md, d, &n) != 1 || n != 32)
		return;
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
	EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

void
apd_sha256_done(struct apd_sha256 *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}
