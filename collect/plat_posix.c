/*
 * plat_posix.c - plat.h on POSIX systems.
 */
#include "plat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
apd_plat_mkdtemp(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -1;
}

int
apd_plat_mkstemp(char *tmpl)
{
	return mkstemp(tmpl);   /* mode 0600: the bundle holds personal data */
}

int
apd_plat_create(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int
apd_plat_fsync(int fd)
{
	return fsync(fd);
}

int
apd_plat_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
apd_plat_replace(const char *from, const char *to)
{
	return rename(from, to);
}

int
apd_plat_rm_flat_dir(const char *dir)
{
	struct dirent *de;
	size_t n = strlen(dir);
	DIR *d = opendir(dir);
	char *p;

	while (d && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((p = malloc(n + strlen(de->d_name) + 2)) != NULL) {
			sprintf(p, "%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	return rmdir(dir);
}

int
apd_plat_gmtime(time_t t, struct tm *out)
{
	return gmtime_r(&t, out) ? 0 : -1;
}

int
apd_plat_unlink(const char *path)
{
	return unlink(path);
}

FILE *
apd_plat_fopen(const char *path, const char *mode)
{
	return fopen(path, mode);
}

const char *
apd_plat_last_sep(const char *path)
{
	return strrchr(path, '/');
}

bool
apd_plat_err_absent(int os_error)
{
	return os_error == ENOENT || os_error == ENOTDIR;
}

const char *
apd_plat_strerror(int os_error, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(os_error));
	return buf;
}

bool
apd_plat_is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}
