/*
 * apd_sha256.h - SHA-256, backed by OpenSSL's libcrypto.
 *
 * libcrypto is the well-kept implementation that uses the CPU's SHA
 * extensions; libcurl (the upload issue) links it anyway.  The Windows
 * build will put bcrypt behind the same four calls.
 */
#ifndef APD_SHA256_H
#define APD_SHA256_H

#include <stddef.h>

struct apd_sha256 {
	void *md;   /* EVP_MD_CTX *, owned */
};

int apd_sha256_init(struct apd_sha256 *h);     /* APD_OK or APD_FATAL */
void apd_sha256_update(struct apd_sha256 *h, const void *p, size_t n);
void apd_sha256_final_hex(struct apd_sha256 *h, char out[65]);  /* then reusable after init */
void apd_sha256_done(struct apd_sha256 *h);

#endif /* APD_SHA256_H */
