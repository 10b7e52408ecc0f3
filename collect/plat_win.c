/*
 * plat_win.c - plat.h on Windows: wide paths at every call, so that a
 * UTF-8 output path (a USB stick's folder with any name) works whatever the
 * ANSI code page.  Files are opened in binary mode and not inherited by the
 * commands the live source runs.
 */
#include "plat.h"
#include "apd_win.h"

#include <windows.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void
fill_x(char *tmpl)
{
	static unsigned seq;
	size_t n = strlen(tmpl), i;
	unsigned v = (unsigned)GetTickCount() ^ ((unsigned)GetCurrentProcessId() << 12) ^
	    (++seq * 2654435761u);
	LARGE_INTEGER pc;

	QueryPerformanceCounter(&pc);
	v ^= (unsigned)pc.LowPart;
	for (i = n; i > 0 && tmpl[i - 1] == 'X'; i--) {
		tmpl[i - 1] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v = v / 36 ^ (v << 7) ^ (unsigned)(i * 40503u);
	}
}

static void
set_errno(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND: errno = ENOENT; break;
	case ERROR_ACCESS_DENIED: errno = EACCES; break;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS: errno = EEXIST; break;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL: errno = ENOSPC; break;
	case ERROR_NOT_ENOUGH_MEMORY: errno = ENOMEM; break;
	default: errno = EIO; break;
	}
}

int
apd_plat_mkdtemp(char *tmpl)
{
	int i;

	for (i = 0; i < 100; i++) {
		wchar_t *w;
		fill_x(tmpl);
		if ((w = apd_u2w(tmpl)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		if (CreateDirectoryW(w, NULL)) {
			free(w);
			return 0;
		}
		free(w);
		if (GetLastError() != ERROR_ALREADY_EXISTS) {
			set_errno(GetLastError());
			return -1;
		}
	}
	errno = EEXIST;
	return -1;
}

static int
create(const char *path, DWORD access, int flags)
{
	wchar_t *w = apd_u2w(path);
	HANDLE h;
	int fd;

	if (w == NULL) {
		errno = ENOMEM;
		return -1;
	}
	h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		set_errno(GetLastError());
		return -1;
	}
	if ((fd = _open_osfhandle((intptr_t)h, flags | _O_BINARY | _O_NOINHERIT)) < 0) {
		CloseHandle(h);
		errno = EMFILE;
	}
	return fd;
}

int
apd_plat_mkstemp(char *tmpl)
{
	int i, fd;

	for (i = 0; i < 100; i++) {
		fill_x(tmpl);
		if ((fd = create(tmpl, GENERIC_READ | GENERIC_WRITE, _O_RDWR)) >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
apd_plat_create(const char *path)
{
	return create(path, GENERIC_WRITE, _O_WRONLY);
}

int
apd_plat_fsync(int fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);

	if (h == INVALID_HANDLE_VALUE || !FlushFileBuffers(h)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
apd_plat_fsync_dir(const char *dir)
{
	(void)dir;   /* MOVEFILE_WRITE_THROUGH already flushed the rename */
	return 0;
}

int
apd_plat_replace(const char *from, const char *to)
{
	wchar_t *a = apd_u2w(from), *b = apd_u2w(to);
	BOOL ok = a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
	DWORD e = GetLastError();

	free(a);
	free(b);
	if (!ok) {
		set_errno(e);
		return -1;
	}
	return 0;
}

int
apd_plat_rm_flat_dir(const char *dir)
{
	WIN32_FIND_DATAW fd;
	wchar_t *w = apd_u2w(dir), *pat, *p;
	size_t n;
	HANDLE h;
	BOOL ok;

	if (w == NULL)
		return -1;
	n = wcslen(w);
	if ((pat = malloc((n + 3) * sizeof(wchar_t))) == NULL) {
		free(w);
		return -1;
	}
	swprintf(pat, n + 3, L"%ls\\*", w);
	h = FindFirstFileW(pat, &fd);
	if (h != INVALID_HANDLE_VALUE) {
		do {
			if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
				continue;
			if ((p = malloc((n + wcslen(fd.cFileName) + 2) * sizeof(wchar_t))) != NULL) {
				swprintf(p, n + wcslen(fd.cFileName) + 2, L"%ls\\%ls", w, fd.cFileName);
				SetFileAttributesW(p, FILE_ATTRIBUTE_NORMAL);
				DeleteFileW(p);
				free(p);
			}
		} while (FindNextFileW(h, &fd));
		FindClose(h);
	}
	ok = RemoveDirectoryW(w);
	free(pat);
	free(w);
	return ok ? 0 : -1;
}

int
apd_plat_gmtime(time_t t, struct tm *out)
{
	return gmtime_s(out, &t) == 0 ? 0 : -1;
}

int
apd_plat_unlink(const char *path)
{
	wchar_t *w = apd_u2w(path);
	BOOL ok = w && DeleteFileW(w);
	DWORD e = GetLastError();

	free(w);
	if (!ok) {
		set_errno(e);
		return -1;
	}
	return 0;
}

FILE *
apd_plat_fopen(const char *path, const char *mode)
{
	wchar_t *w = apd_u2w(path), *m = apd_u2w(mode);
	FILE *f = NULL;

	if (w && m)
		f = _wfopen(w, m);
	free(w);
	free(m);
	return f;
}

const char *
apd_plat_last_sep(const char *path)
{
	const char *a = strrchr(path, '/'), *b = strrchr(path, '\\');

	return a > b ? a : b;
}

bool
apd_plat_err_absent(int os_error)
{
	return os_error == ERROR_FILE_NOT_FOUND || os_error == ERROR_PATH_NOT_FOUND ||
	    os_error == 15007 /* ERROR_EVT_CHANNEL_NOT_FOUND */;
}

const char *
apd_plat_strerror(int os_error, char *buf, size_t n)
{
	return apd_win_strerror((unsigned long)os_error, buf, n);
}

bool
apd_plat_is_dir(const char *path)
{
	wchar_t *w = apd_u2w(path);
	DWORD a = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;

	free(w);
	return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}
