/*
 * apd_compat.h - the few POSIX calls the shared core uses that the Windows
 * C runtime lacks.  On POSIX this header changes nothing.  The Windows
 * build also opens every file in binary mode (_fmode, set in main).
 */
#ifndef APD_COMPAT_H
#define APD_COMPAT_H

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif
/* pread on a CRT descriptor (ReadFile at an offset; the file position is not used) */
ssize_t apd_pread(int fd, void *buf, size_t n, int64_t off);
#define pread(fd, buf, n, off) apd_pread((fd), (buf), (n), (int64_t)(off))
#define timegm _mkgmtime
/* open(path, O_RDONLY) and access(path, R_OK) for a UTF-8 path (through the W functions) */
int apd_open_rdonly(const char *path);
int apd_access_read(const char *path);
/* struct stat's modification time: whole seconds only on Windows */
#define APD_MTIME_S(st) ((st).st_mtime)
#define APD_MTIME_NS(st) 0
#else
#define apd_open_rdonly(path) open((path), O_RDONLY | O_CLOEXEC)
#define apd_access_read(path) access((path), R_OK)
#define APD_MTIME_S(st) ((st).st_mtim.tv_sec)
#define APD_MTIME_NS(st) ((st).st_mtim.tv_nsec)
#endif

#endif /* APD_COMPAT_H */
