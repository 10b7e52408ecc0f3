/*
 * apd_win.c - apd_win.h.
 */
#include "apd_win.h"

#include <windows.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <io.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

wchar_t *
apd_u2w(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0)
		return calloc(1, sizeof(wchar_t));
	if ((w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return NULL;
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

char *
apd_w2u(const wchar_t *w, int n)
{
	int k;
	char *s;

	if (n == 0)
		return calloc(1, 1);
	k = WideCharToMultiByte(CP_UTF8, 0, w, n, NULL, 0, NULL, NULL);
	if (k <= 0)
		return calloc(1, 1);
	if ((s = malloc((size_t)k + 1)) == NULL)
		return NULL;
	WideCharToMultiByte(CP_UTF8, 0, w, n, s, k, NULL, NULL);
	s[k] = '\0';
	return s;
}

const char *
apd_win_strerror(unsigned long code, char *out, size_t n)
{
	wchar_t buf[512];
	DWORD k = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
	    code, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), buf, 512, NULL);
	char *u;

	if (k == 0)
		k = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
		    code, 0, buf, 512, NULL);
	while (k > 0 && (buf[k - 1] == L'\r' || buf[k - 1] == L'\n' || buf[k - 1] == L' ' ||
	    buf[k - 1] == L'.'))
		k--;
	if (k == 0 || (u = apd_w2u(buf, (int)k)) == NULL) {
		snprintf(out, n, "Win32 error %lu", code);
		return out;
	}
	snprintf(out, n, "%s", u);
	free(u);
	return out;
}

ssize_t apd_pread(int fd, void *buf, size_t n, int64_t off);

ssize_t
apd_pread(int fd, void *buf, size_t n, int64_t off)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	OVERLAPPED ov;
	DWORD got = 0;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	memset(&ov, 0, sizeof(ov));
	ov.Offset = (DWORD)((uint64_t)off & 0xFFFFFFFFu);
	ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
	if (n > 0x40000000u)
		n = 0x40000000u;
	if (!ReadFile(h, buf, (DWORD)n, &got, &ov)) {
		if (GetLastError() == ERROR_HANDLE_EOF)
			return 0;
		errno = EIO;
		return -1;
	}
	return (ssize_t)got;
}

int
apd_set_win(struct apd_error *err, int code, int os, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	err->os_errno = os;
	return code;
}

int apd_open_rdonly(const char *path);
int apd_access_read(const char *path);

int
apd_open_rdonly(const char *path)
{
	wchar_t *w = apd_u2w(path);
	int fd;

	if (w == NULL) {
		errno = ENOMEM;
		return -1;
	}
	fd = _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
	free(w);
	return fd;
}

int
apd_access_read(const char *path)
{
	wchar_t *w = apd_u2w(path);
	int r;

	if (w == NULL) {
		errno = ENOMEM;
		return -1;
	}
	r = _waccess(w, 4);   /* R_OK */
	free(w);
	return r;
}
