/*
 * apd_error.h - the one error convention of libapd.
 *
 * A function that can fail returns an APD_* code and, on failure, records a
 * message in a struct apd_error owned by the caller.  apd_set_error()
 * returns the code it stores, so the idiom is
 *
 *	return apd_set_error(err, APD_FAILED, "%s:%llu: bad date '%.*s'", ...);
 *
 * apd_prefix_error() adds context on the way up ("bundle.zip!x.cab: ...").
 * Messages are truncated, never allocated: setting an error cannot fail.
 */
#ifndef APD_ERROR_H
#define APD_ERROR_H

#include "apd.h"

#define APD_ERRMSG_MAX 1024

struct apd_error {
	int code;                   /* last APD_* code, APD_OK if none */
	int os_errno;               /* errno of the failing system call, or 0 */
	char msg[APD_ERRMSG_MAX];   /* human-readable, "" if none */
};

void apd_error_clear(struct apd_error *err);
int apd_set_error(struct apd_error *err, int code, const char *fmt, ...) APD_PRINTF(3, 4);
int apd_set_errno(struct apd_error *err, int code, int os_errno, const char *fmt, ...) APD_PRINTF(4, 5);
void apd_prefix_error(struct apd_error *err, const char *fmt, ...) APD_PRINTF(2, 3);

#endif /* APD_ERROR_H */
