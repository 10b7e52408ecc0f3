/*
 * archive.c - the archive writers behind struct apd_awriter.
 *
 * cab:  libgcab (Debian's libgcab, what fwupd uses), MSZIP, one folder per
 *       1.5 GiB of input so no folder passes the format's 65535 data blocks;
 *       names use '\\' like Microsoft's cabs, with the UTF-8 flag set on
 *       non-ASCII names.  The Windows build puts cabinet.dll FCI behind the
 *       same four calls.
 * tar, tar.gz, tar.zst: libarchive, POSIX pax (UTF-8 and long names).
 * zip:  libarchive, deflate, UTF-8 names; zip64 when an entry needs it.
 *
 * Exports the apd_awriter_* and apd_afmt_* functions of collect.h.  The
 * writer only adds staged files; atomicity (temporary file, rename) is the
 * caller's.
 */
#include "collect.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <gio/gio.h>
#include <libgcab.h>
#pragma GCC diagnostic pop

#define CAB_FOLDER_BYTES ((uint64_t)3 << 29)   /* 1.5 GiB of input per cab folder */
#define CAB_MAX_NAME     255                   /* CFFILE szName, without its NUL */

struct apd_awriter {
	enum apd_afmt fmt;
	int fd;
	char *path;
	/* libarchive */
	struct archive *a;
	char *buf;
	/* gcab */
	GCabCabinet *cab;
	GCabFolder *folder;
	uint64_t folder_bytes;
};

/* Start a new MSZIP folder; the cabinet holds it, w->folder borrows it. */
static int
new_folder(struct apd_awriter *w, struct apd_error *err)
{
	GCabFolder *f = gcab_folder_new(GCAB_COMPRESSION_MSZIP);
	GError *ge = NULL;
	gboolean ok = gcab_cabinet_add_folder(w->cab, f, &ge);

	g_object_unref(f);
	if (!ok) {
		apd_set_error(err, APD_FATAL, "cab: %s", ge ? ge->message : "cannot add a folder");
		g_clear_error(&ge);
		return APD_FATAL;
	}
	w->folder = f;
	w->folder_bytes = 0;
	return APD_OK;
}

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
	return f != APD_AF_CAB || size <= CAB_FOLDER_BYTES;
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
	int r = ARCHIVE_OK;

	*wp = NULL;
	if (w == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	w->fmt = fmt;
	w->fd = fd;
	if (fmt == APD_AF_CAB) {
#ifdef __GLIBC__
		/*
		 * gcab sets up and tears down a zlib stream for every 32 KiB block.
		 * glibc would hand the freed ~256 KiB back to the kernel each time
		 * (brk) and fault in zeroed pages for the next block: 5 times slower
		 * (bench/collect.sh).  Keep freed memory for reuse instead.
		 */
		mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
		if ((w->path = strdup(path)) == NULL) {
			apd_awriter_free(w);
			return apd_set_error(err, APD_FATAL, "out of memory");
		}
		w->cab = gcab_cabinet_new();
		if (new_folder(w, err) != APD_OK) {
			apd_awriter_free(w);
			return APD_FATAL;
		}
		*wp = w;
		return APD_OK;
	}
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
}

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static int
cab_add(struct apd_awriter *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err)
{
	GCabFile *cf;
	GFile *gf;
	GDateTime *dt;
	GError *ge = NULL;
	char *n, *p;
	gboolean ok;

	if (strlen(name) > CAB_MAX_NAME)
		return apd_set_error(err, APD_FAILED, "%s: longer than the 255 bytes a cab name holds",
		    name);
	if (w->folder_bytes > 0 && w->folder_bytes + size > CAB_FOLDER_BYTES &&
	    new_folder(w, err) != APD_OK)
		return APD_FATAL;
	if ((n = strdup(name)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	for (p = n; *p; p++)
		if (*p == '/')
			*p = '\\';
	gf = g_file_new_for_path(path);
	cf = gcab_file_new_with_file(n, gf);
	g_object_unref(gf);
	free(n);
	dt = g_date_time_new_from_unix_utc(mtime_ns / 1000000000);
	if (dt) {
		gcab_file_set_date_time(cf, dt);
		g_date_time_unref(dt);
	}
	gcab_file_set_attributes(cf, GCAB_FILE_ATTRIBUTE_ARCH |
	    (is_ascii(name) ? 0 : GCAB_FILE_ATTRIBUTE_NAME_IS_UTF));
	ok = gcab_folder_add_file(w->folder, cf, FALSE, NULL, &ge);
	g_object_unref(cf);
	if (!ok) {
		apd_set_error(err, APD_FAILED, "%s: cab: %s", name, ge ? ge->message : "cannot add");
		g_clear_error(&ge);
		return APD_FAILED;
	}
	w->folder_bytes += size;
	return APD_OK;
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
		return cab_add(w, name, path, size, mtime_ns, err);
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
}

int
apd_awriter_finish(struct apd_awriter *w, struct apd_error *err)
{
	GFileIOStream *io;
	GOutputStream *os;
	GFile *gf;
	GError *ge = NULL;
	gboolean ok;

	if (w->fmt != APD_AF_CAB) {
		if (archive_write_close(w->a) != ARCHIVE_OK)
			return apd_set_errno(err, APD_FATAL, archive_errno(w->a), "%s: %s",
			    fmt_names[w->fmt], archive_error_string(w->a) ?
			    archive_error_string(w->a) : "cannot finish the archive");
		return APD_OK;
	}
	/* gcab seeks back to write the header: open the temporary file read-write */
	gf = g_file_new_for_path(w->path);
	io = g_file_open_readwrite(gf, NULL, &ge);
	g_object_unref(gf);
	if (io == NULL) {
		apd_set_error(err, APD_FATAL, "cab: %s", ge ? ge->message : "cannot open the output");
		g_clear_error(&ge);
		return APD_FATAL;
	}
	os = g_io_stream_get_output_stream(G_IO_STREAM(io));
	ok = gcab_cabinet_write_simple(w->cab, os, NULL, NULL, NULL, &ge);   /* closes os */
	if (!g_io_stream_close(G_IO_STREAM(io), NULL, ok ? &ge : NULL))
		ok = FALSE;
	g_object_unref(io);
	if (!ok) {
		apd_set_error(err, APD_FATAL, "cab: %s", ge ? ge->message : "cannot write");
		g_clear_error(&ge);
		return APD_FATAL;
	}
	return APD_OK;
}

void
apd_awriter_free(struct apd_awriter *w)
{
	if (w == NULL)
		return;
	if (w->a)
		archive_write_free(w->a);
	if (w->cab)
		g_object_unref(w->cab);   /* and the folders it holds */
	free(w->buf);
	free(w->path);
	free(w);
}
