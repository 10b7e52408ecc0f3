/*
 * plat.h - the few file-system calls of the collector core that differ
 * between POSIX and Windows, so that collect.c builds on both.
 *
 *   plat_posix.c   Linux and every POSIX build (this one)
 *   plat_win.c     the Windows build (issue 8): _wmkdir/GetTempFileNameW,
 *                  FlushFileBuffers, MoveFileExW(MOVEFILE_REPLACE_EXISTING |
 *                  MOVEFILE_WRITE_THROUGH), gmtime_s
 * Paths are UTF-8.  Each call returns 0 or -1 with errno set, like POSIX.
 */
#ifndef APD_PLAT_H
#define APD_PLAT_H

#include <stddef.h>
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

#endif /* APD_PLAT_H */
