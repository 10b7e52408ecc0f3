/*
 * archive.c - the archive writers behind struct apd_awriter.
 *
 * cab:  the platform's cab backend (archive_cab.h): libgcab here,
 *       cabinet.dll FCI in the Windows build.
 * tar, tar.gz, tar.zst: libarchive, POSIX pax (UTF-8 and long names).
 * zip:  libarchive, deflate, UTF-8 names; zip64 when an entry needs it.
 *
 * Exports the apd_awriter_* and apd_afmt_* functions of collect.h.  The
 * writer only adds staged files; atomicity (temporary file, rename) is the
 * caller's.  The Windows build (APD_CAB_ONLY) writes cab only, through
 * cabinet.dll, and has no libarchive.
 */
#include "archive_cab.h"

#ifndef APD_CAB_ONLY
#include <archive.h>
#include <archive_entry.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct apd_awriter {
	enum apd_afmt fmt;
	struct apd_cabw *cab;    /* cab */
#ifndef APD_CAB_ONLY
	struct archive *a;       /* the others */
#endif
	char *buf;
};

static const char *const fmt_names[] = { "cab", "tar", "tar.gz", "tar.zst", "zip" };

const char *
apd_afmt_name(enum apd_afmt f)
{
	return fmt_names[f];
}

const char *
apd_afmt_ext(enum apd_afmt f)
{
	return fmt_names[f];
}

bool
apd_afmt_parse(const char *s, enum apd_afmt *f)
{
	size_t i;

#ifdef APD_CAB_ONLY
	if (strcmp(s, "cab") != 0)
		return false;
#endif
	for (i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++)
		if (strcmp(s, fmt_names[i]) == 0) {
			*f = (enum apd_afmt)i;
			return true;
		}
	if (strcmp(s, "tgz") == 0) {
		*f = APD_AF_TGZ;
		return true;
	}
	return false;
}

bool
apd_afmt_fits(enum apd_afmt f, uint64_t size)
{
	/* a cab folder holds at most 65535 blocks of 32 KiB: one file may not span more */
	return f != APD_AF_CAB || size <= APD_CAB_FOLDER_BYTES;
}

uint64_t
apd_afmt_cost(enum apd_afmt f, uint64_t size, size_t name_len)
{
	/* data, worst-case framing per 32 KiB block, and the entry's headers */
	uint64_t blocks = size / 32768 + 1;

	switch (f) {
	case APD_AF_CAB:
		return size + blocks * 16 + 64 + name_len;
	case APD_AF_ZIP:
		return size + blocks * 8 + 200 + 2 * name_len;
	default:   /* pax: an extended header for long or non-ASCII names, padding */
		return size + blocks * 8 + 2048 + 2 * name_len;
	}
}

int
apd_awriter_open(struct apd_awriter **wp, enum apd_afmt fmt, int fd, const char *path,
    struct apd_error *err)
{
	struct apd_awriter *w = calloc(1, sizeof(*w));
#ifndef APD_CAB_ONLY
	int r = ARCHIVE_OK;
#endif

	*wp = NULL;
	if (w == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	w->fmt = fmt;
	if (fmt == APD_AF_CAB) {
		if (apd_cabw_open(&w->cab, fd, path, err) != APD_OK) {
			free(w);
			return APD_FATAL;
		}
		*wp = w;
		return APD_OK;
	}
#ifdef APD_CAB_ONLY
	(void)fd;
	free(w);
	return apd_set_error(err, APD_FATAL, "%s: this build writes cab only", fmt_names[fmt]);
#else
	w->buf = malloc(1 << 20);
	w->a = archive_write_new();
	if (w->a == NULL || w->buf == NULL) {
		apd_awriter_free(w);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	switch (fmt) {
	case APD_AF_ZIP:
		r = archive_write_set_format_zip(w->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_options(w->a, "zip:compression=deflate,zip:hdrcharset=UTF-8");
		break;
	case APD_AF_TGZ:
		r = archive_write_set_format_pax_restricted(w->a);
		if (r == ARCHIVE_OK)
			r = archive_write_add_filter_gzip(w->a);
		break;
	case APD_AF_TZST:
		r = archive_write_set_format_pax_restricted(w->a);
		if (r == ARCHIVE_OK)
			r = archive_write_add_filter_zstd(w->a);
		break;
	default:
		r = archive_write_set_format_pax_restricted(w->a);
		break;
	}
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_in_last_block(w->a, 1);
	if (r == ARCHIVE_OK)
		r = archive_write_open_fd(w->a, fd);
	if (r != ARCHIVE_OK) {
		apd_set_error(err, APD_FATAL, "%s: %s", fmt_names[fmt],
		    archive_error_string(w->a) ? archive_error_string(w->a) : "cannot start writing");
		apd_awriter_free(w);
		return APD_FATAL;
	}
	*wp = w;
	return APD_OK;
#endif
}

int
apd_awriter_add(struct apd_awriter *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err)
{
	struct archive_entry *e;
	uint64_t done = 0;
	int fd, r;
	ssize_t n;

	if (w->fmt == APD_AF_CAB)
		return apd_cabw_add(w->cab, name, path, size, mtime_ns, err);
#ifdef APD_CAB_ONLY
	(void)e;
	(void)done;
	(void)fd;
	(void)r;
	(void)n;
	return apd_set_error(err, APD_FATAL, "this build writes cab only");
#else
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return apd_set_errno(err, APD_FATAL, errno, "%s: cannot read the staged copy", name);
	e = archive_entry_new();
	if (e == NULL) {
		close(fd);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, (time_t)(mtime_ns / 1000000000), (long)(mtime_ns % 1000000000));
	r = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN) {
		close(fd);
		return apd_set_errno(err, APD_FATAL, archive_errno(w->a), "%s: %s", name,
		    archive_error_string(w->a) ? archive_error_string(w->a) : "cannot write the header");
	}
	while (done < size && (n = read(fd, w->buf, 1 << 20)) > 0) {
		if ((uint64_t)n > size - done)
			n = (ssize_t)(size - done);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n) {
			int e2 = archive_errno(w->a);
			close(fd);
			return apd_set_errno(err, APD_FATAL, e2, "%s: %s", name,
			    archive_error_string(w->a) ? archive_error_string(w->a) : "write error");
		}
		done += (uint64_t)n;
	}
	close(fd);
	if (done != size)
		return apd_set_error(err, APD_FATAL, "%s: the staged copy is shorter than recorded", name);
	return APD_OK;
#endif
}

int
apd_awriter_finish(struct apd_awriter *w, struct apd_error *err)
{
	if (w->fmt == APD_AF_CAB)
		return apd_cabw_finish(w->cab, err);
#ifndef APD_CAB_ONLY
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return apd_set_errno(err, APD_FATAL, archive_errno(w->a), "%s: %s", fmt_names[w->fmt],
		    archive_error_string(w->a) ? archive_error_string(w->a) :
		    "cannot finish the archive");
#endif
	return APD_OK;
}

void
apd_awriter_free(struct apd_awriter *w)
{
	if (w == NULL)
		return;
#ifndef APD_CAB_ONLY
	if (w->a)
		archive_write_free(w->a);
#endif
	apd_cabw_free(w->cab);
	free(w->buf);
	free(w);
}
