/*
 * apd_md5.h - MD5 (what Azure Blob Storage checks a transfer with, in
 * Content-MD5) and base64, backed by OpenSSL's libcrypto like apd_sha256.h.
 * MD5 is used only as a transfer checksum, never for security.  The Windows
 * build will put bcrypt behind the same calls.
 */
#ifndef APD_MD5_H
#define APD_MD5_H

#include <stddef.h>

struct apd_md5 {
	void *md;   /* EVP_MD_CTX *, owned */
};

#define APD_MD5_B64_LEN 24   /* base64 of 16 bytes, without the NUL */

int apd_md5_init(struct apd_md5 *h);     /* APD_OK or APD_FATAL */
void apd_md5_update(struct apd_md5 *h, const void *p, size_t n);
void apd_md5_final_b64(struct apd_md5 *h, char out[APD_MD5_B64_LEN + 1]);  /* reusable after */
void apd_md5_done(struct apd_md5 *h);

/* One-shot MD5 of a buffer, base64; APD_OK or APD_FATAL. */
int apd_md5_b64(const void *p, size_t n, char out[APD_MD5_B64_LEN + 1]);

/*
 * Standard base64 (with '=' padding) of p[0..n) into out, which must hold
 * 4 * ((n + 2) / 3) + 1 bytes.  Returns the length written.
 */
size_t apd_base64(const void *p, size_t n, char *out);

#endif /* APD_MD5_H */
