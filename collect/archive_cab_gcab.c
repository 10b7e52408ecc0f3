/*
 * archive_cab_gcab.c - the cab backend through libgcab (archive_cab.h).
 *
 * libgcab is GNOME's cab library (what fwupd uses).  MSZIP, one folder per
 * APD_CAB_FOLDER_BYTES of input so that no folder passes the format's
 * 65535 data blocks; '\\' separators like Microsoft's cabs; the UTF-8 flag
 * on non-ASCII names.  gcab seeks back to write the header, so the output
 * is opened read-write by its path.  Exports the apd_cabw_* functions.
 */
#include "archive_cab.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <gio/gio.h>
#include <libgcab.h>
#pragma GCC diagnostic pop

struct apd_cabw {
	char *path;
	GCabCabinet *cab;
	GCabFolder *folder;      /* borrowed: the cabinet holds it */
	uint64_t folder_bytes;
};

/* Start a new MSZIP folder. */
static int
new_folder(struct apd_cabw *w, struct apd_error *err)
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

int
apd_cabw_open(struct apd_cabw **wp, int fd, const char *path, struct apd_error *err)
{
	struct apd_cabw *w = calloc(1, sizeof(*w));

	(void)fd;
	*wp = NULL;
	if (w == NULL || (w->path = strdup(path)) == NULL) {
		free(w);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
#ifdef __GLIBC__
	/*
	 * gcab sets up and tears down a zlib stream for every 32 KiB block.
	 * glibc would hand the freed ~256 KiB back to the kernel each time (brk)
	 * and fault in zeroed pages for the next block: 12 times slower on 1 GB
	 * (bench/collect.sh).  Keep freed memory for reuse instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	w->cab = gcab_cabinet_new();
	if (new_folder(w, err) != APD_OK) {
		apd_cabw_free(w);
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

int
apd_cabw_add(struct apd_cabw *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err)
{
	GCabFile *cf;
	GFile *gf;
	GDateTime *dt;
	GError *ge = NULL;
	char *n, *p;
	gboolean ok;

	if (strlen(name) > APD_CAB_MAX_NAME)
		return apd_set_error(err, APD_FAILED, "%s: longer than the 255 bytes a cab name holds",
		    name);
	if (w->folder_bytes > 0 && w->folder_bytes + size > APD_CAB_FOLDER_BYTES &&
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
apd_cabw_finish(struct apd_cabw *w, struct apd_error *err)
{
	GFileIOStream *io;
	GOutputStream *os;
	GFile *gf;
	GError *ge = NULL;
	gboolean ok;

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
apd_cabw_free(struct apd_cabw *w)
{
	if (w == NULL)
		return;
	if (w->cab)
		g_object_unref(w->cab);   /* and the folders it holds */
	free(w->path);
	free(w);
}
