/*
 * plat.h - the few file-system calls of the collector core that differ
 * between POSIX and Windows, so that collect.c builds on both.
 *
 *   plat_posix.c   Linux and every POSIX build (this one)
 *   plat_win.c     the Windows build (issue 8): CreateDirectoryW, CreateFileW
 *                  (CREATE_NEW), FlushFileBuffers, MoveFileExW(MOVEFILE_REPLACE_EXISTING
 *                  | MOVEFILE_WRITE_THROUGH), gmtime_s; wide paths throughout
 * Paths are UTF-8 ('/' or, on Windows, '\\' separated).  Each call returns 0
 * or -1 with errno set, like POSIX.
 */
#ifndef APD_PLAT_H
#define APD_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Create a private folder from a template ending in XXXXXX (replaced in place). */
int apd_plat_mkdtemp(char *tmpl);
/* Create and open a new private file from a template ending in XXXXXX; returns an fd. */
int apd_plat_mkstemp(char *tmpl);
/* Create a new file that must not exist yet; returns an fd opened for writing. */
int apd_plat_create(const char *path);
/* Flush a file's data to the disk. */
int apd_plat_fsync(int fd);
/* Flush a folder's entries (the rename of a finished archive); a no-op where meaningless. */
int apd_plat_fsync_dir(const char *dir);
/* Rename from onto to, replacing to. */
int apd_plat_replace(const char *from, const char *to);
/* Remove every plain file in dir, then dir itself (the staging folder: flat). */
int apd_plat_rm_flat_dir(const char *dir);
/* UTC broken-down time. */
int apd_plat_gmtime(time_t t, struct tm *out);
/* unlink and fopen on UTF-8 paths. */
int apd_plat_unlink(const char *path);
FILE *apd_plat_fopen(const char *path, const char *mode);
/* Is path an existing folder? */
bool apd_plat_is_dir(const char *path);
/* The last path separator in path ('/', and '\\' on Windows), or NULL. */
const char *apd_plat_last_sep(const char *path);
/* Is this OS error code (errno here, a Win32 code on Windows) "not there"? */
bool apd_plat_err_absent(int os_error);
/* The text of an OS error code, in buf. */
const char *apd_plat_strerror(int os_error, char *buf, size_t n);

#endif /* APD_PLAT_H */
