/*
 * verify.h - the checking half of `apdiag verify`, private to collect/,
 * shared by both builds.  A reader walks the archive and feeds it:
 *   verify.c       libarchive (cab, tar, zip...) and json-c for the manifest
 *   verify_win.c   cabinet.dll FDI and a small JSON reader (Windows build)
 * This file's verify_check.c compares every entry with the manifest's items
 * (size and SHA-256), and reports extra, duplicate and missing entries.
 */
#ifndef APD_VERIFY_H
#define APD_VERIFY_H

#include "collect.h"

#define APD_MANIFEST_MAX ((size_t)256 << 20)

struct apd_vwant {
	char *path;          /* '/'-separated */
	int64_t size;
	char sha[65];
	bool seen;
};

struct apd_vcheck {
	struct apd_vwant *w;
	size_t nw, cw;
	apd_verify_report_fn report;
	void *ud;
	struct apd_verify_result *res;
	int rc;              /* APD_OK, or APD_WARN once something did not match */
};

void apd_vcheck_init(struct apd_vcheck *c, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res);
/* One item of the manifest (the manifest readers call this).  APD_OK or APD_FATAL. */
int apd_vcheck_want(struct apd_vcheck *c, const char *path, int64_t size, const char *sha,
    struct apd_error *err);
/* Read manifest.json's items (entries[].items[]): one per build.  APD_OK or APD_FAILED. */
int apd_vcheck_load(struct apd_vcheck *c, const char *text, size_t n, struct apd_error *err);
/* After loading: sort the items for lookup. */
void apd_vcheck_ready(struct apd_vcheck *c);
/* One archive entry (not the manifest), its name as stored ('\\' or '/'). */
int apd_vcheck_entry(struct apd_vcheck *c, const char *name, uint64_t size, const char *sha);
void apd_vcheck_unreadable(struct apd_vcheck *c, const char *name, const char *why);
/* Items never seen are missing.  Returns APD_OK or APD_WARN. */
int apd_vcheck_finish(struct apd_vcheck *c);
void apd_vcheck_done(struct apd_vcheck *c);

#endif /* APD_VERIFY_H */
