/*
 * apd_error.c - struct apd_error helpers (see apd_error.h for the contract).
 */
#include "apd_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
apd_error_clear(struct apd_error *err)
{
	if (err == NULL)
		return;
	err->code = APD_OK;
	err->os_errno = 0;
	err->msg[0] = '\0';
}

static int
set_v(struct apd_error *err, int code, int os_errno, const char *fmt, va_list ap)
{
	size_t n;

	if (err == NULL)
		return code;
	err->code = code;
	err->os_errno = os_errno;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (os_errno != 0) {
		n = strlen(err->msg);
		if (n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(os_errno));
	}
	return code;
}

int
apd_set_error(struct apd_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = set_v(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int
apd_set_errno(struct apd_error *err, int code, int os_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = set_v(err, code, os_errno, fmt, ap);
	va_end(ap);
	return code;
}

void
apd_prefix_error(struct apd_error *err, const char *fmt, ...)
{
	char prefix[APD_ERRMSG_MAX];
	char old[APD_ERRMSG_MAX];
	size_t n, m;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	n = strlen(prefix);
	memcpy(err->msg, prefix, n);   /* n < sizeof(err->msg) by vsnprintf */
	m = strlen(old);
	if (m > sizeof(err->msg) - 1 - n)
		m = sizeof(err->msg) - 1 - n;
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
}
