/*
 * archive_cab.h - the cab backend of collect/archive.c, private to collect/.
 *
 * One implementation per platform, the same five calls:
 *   archive_cab_gcab.c     libgcab (Linux and every non-Windows build)
 *   archive_cab_fci_win.c  cabinet.dll FCI (the Windows build, issue 8)
 * MSZIP; names arrive '/'-separated and are stored with '\\'; a name
 * longer than APD_CAB_MAX_NAME bytes fails that entry (APD_FAILED); a new
 * folder starts before a folder would pass APD_CAB_FOLDER_BYTES of input.
 */
#ifndef APD_ARCHIVE_CAB_H
#define APD_ARCHIVE_CAB_H

#include "collect.h"

#define APD_CAB_FOLDER_BYTES ((uint64_t)3 << 29)   /* 1.5 GiB of input per folder */
#define APD_CAB_MAX_NAME     255                   /* CFFILE szName, without its NUL */

struct apd_cabw;

/* fd and path name the same temporary output file; the backend may use either. */
int apd_cabw_open(struct apd_cabw **w, int fd, const char *path, struct apd_error *err);
int apd_cabw_add(struct apd_cabw *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err);
int apd_cabw_finish(struct apd_cabw *w, struct apd_error *err);
void apd_cabw_free(struct apd_cabw *w);

#endif /* APD_ARCHIVE_CAB_H */
