/*
 * apd_md5.c - MD5 through OpenSSL EVP (see apd_md5.h; base64 is in apd_md5_util.c).
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
