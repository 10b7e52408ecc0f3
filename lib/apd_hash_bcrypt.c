/*
 * apd_hash_bcrypt.c - SHA-256 (apd_sha256.h) and MD5 (apd_md5.h) on
 * Windows' own CNG (bcrypt.dll), the Windows build's counterpart of
 * apd_sha256.c and apd_md5.c (OpenSSL).  The algorithm providers are
 * opened once and kept for the life of the process, as CNG recommends.
 */
#include "apd.h"
#include "apd_md5.h"
#include "apd_sha256.h"

#include <windows.h>
#include <bcrypt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct bhash {
	BCRYPT_HASH_HANDLE h;
	ULONG len;               /* digest bytes */
	LPCWSTR alg;
};

static BCRYPT_ALG_HANDLE alg_sha256, alg_md5;

static BCRYPT_ALG_HANDLE
provider(LPCWSTR alg)
{
	BCRYPT_ALG_HANDLE *slot = wcscmp(alg, BCRYPT_SHA256_ALGORITHM) == 0 ? &alg_sha256 : &alg_md5;
	BCRYPT_ALG_HANDLE a = NULL;

	if (*slot == NULL && BCryptOpenAlgorithmProvider(&a, alg, NULL, 0) == 0) {
		if (InterlockedCompareExchangePointer((PVOID *)slot, a, NULL) != NULL)
			BCryptCloseAlgorithmProvider(a, 0);   /* another thread was first */
	}
	return *slot;
}

static struct bhash *
bh_new(LPCWSTR alg, ULONG len)
{
	struct bhash *b = calloc(1, sizeof(*b));
	BCRYPT_ALG_HANDLE a = provider(alg);

	if (b == NULL || a == NULL || BCryptCreateHash(a, &b->h, NULL, 0, NULL, 0, 0) != 0) {
		free(b);
		return NULL;
	}
	b->len = len;
	b->alg = alg;
	return b;
}

static void
bh_update(struct bhash *b, const void *p, size_t n)
{
	const unsigned char *q = p;

	while (b && n > 0) {
		ULONG k = n > 0x40000000u ? 0x40000000u : (ULONG)n;
		BCryptHashData(b->h, (PUCHAR)q, k, 0);
		q += k;
		n -= k;
	}
}

/* The digest into d; the hash starts over (as EVP_DigestInit_ex does in apd_sha256.c). */
static bool
bh_final(struct bhash *b, unsigned char *d)
{
	BCRYPT_HASH_HANDLE nh = NULL;

	if (b == NULL || BCryptFinishHash(b->h, d, b->len, 0) != 0)
		return false;
	BCryptDestroyHash(b->h);
	b->h = NULL;
	if (BCryptCreateHash(provider(b->alg), &nh, NULL, 0, NULL, 0, 0) == 0)
		b->h = nh;
	return true;
}

static void
bh_free(struct bhash *b)
{
	if (b == NULL)
		return;
	if (b->h)
		BCryptDestroyHash(b->h);
	free(b);
}

int
apd_sha256_init(struct apd_sha256 *h)
{
	h->md = bh_new(BCRYPT_SHA256_ALGORITHM, 32);
	return h->md ? APD_OK : APD_FATAL;
}

void
apd_sha256_update(struct apd_sha256 *h, const void *p, size_t n)
{
	if (h->md && n)
		bh_update(h->md, p, n);
}

void
apd_sha256_final_hex(struct apd_sha256 *h, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	int i;

	out[0] = '\0';
	if (!bh_final(h->md, d))
		return;
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

void
apd_sha256_done(struct apd_sha256 *h)
{
	bh_free(h->md);
	h->md = NULL;
}

int
apd_md5_init(struct apd_md5 *h)
{
	h->md = bh_new(BCRYPT_MD5_ALGORITHM, 16);
	return h->md ? APD_OK : APD_FATAL;
}

void
apd_md5_update(struct apd_md5 *h, const void *p, size_t n)
{
	if (h->md && n)
		bh_update(h->md, p, n);
}

void
apd_md5_final_b64(struct apd_md5 *h, char out[APD_MD5_B64_LEN + 1])
{
	unsigned char d[16];

	out[0] = '\0';
	if (bh_final(h->md, d))
		apd_base64(d, 16, out);
}

void
apd_md5_done(struct apd_md5 *h)
{
	bh_free(h->md);
	h->md = NULL;
}
