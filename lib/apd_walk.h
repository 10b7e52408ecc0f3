/*
 * apd_walk.h - walking an input (folder, file, nested archives) and handing
 * every file to the parser that bids highest.
 *
 * The walker knows containers (libarchive: zip, cab, tar and its gzip, xz,
 * zstd, bzip2 filters, 7z) and nothing about SQLite.  What it finds goes
 * to a catalog: begin() announces a source and returns its id, sink()
 * gives the sink its records go to, end() reports how it ended.  The
 * index writer (apd_store.c) is the real catalog; tests use others.
 *
 * Paths: a file inside an archive is "<archive path>!<entry name>", so a
 * nested IME log reads
 *   DiagLogs-PC-20251001T101010Z.zip!(63) FoldersFiles x_cab/mdmlogs.cab!IntuneManagementExtension.log
 *
 * Limits (struct apd_limits): nesting depth, entries per container, bytes
 * per entry, bytes in total, and the compression ratio of a container.
 * Nothing is extracted to disk under an entry's own name; a nested archive
 * is spooled to an anonymous temporary file so libarchive can seek in it.
 */
#ifndef APD_WALK_H
#define APD_WALK_H

#include "apd.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_sink.h"

#include <stdbool.h>

/* What the walker knows about a source when it starts reading it. */
struct apd_source_info {
	int64_t parent_id;      /* 0 for the input itself */
	const char *path;       /* display path (see above) */
	const char *kind;       /* parser kind, container kind, or "unknown" */
	const char *parser;     /* parser name, or NULL */
	const char *origin;     /* Intune directive ("RegistryKey HKLM_..."), or NULL */
	int64_t size;           /* declared size, -1 if unknown */
};

/* How a source ended. */
struct apd_source_result {
	const char *status;     /* "ok", "partial", "failed", "skipped", "gap" */
	const char *error;      /* NULL when ok */
	const char *sha256;     /* hex, or NULL if not read */
	int64_t size;           /* bytes actually read, -1 if not read */
	const char *kind;       /* when the kind changed (container found), else NULL */
};

struct apd_catalog_vtable {
	/* returns the new source id (> 0), or a negative APD_* code to stop */
	int64_t (*begin)(void *ud, const struct apd_source_info *si);
	struct apd_sink *(*sink)(void *ud, int64_t id);
	int (*end)(void *ud, int64_t id, const struct apd_source_result *res);
};

struct apd_catalog {
	const struct apd_catalog_vtable *vt;
	void *ud;
};

/* Progress: called at most every few MB and at each new source. */
typedef void (*apd_progress_fn)(void *ud, uint64_t bytes_done, const char *path);

struct apd_walk_stats {
	unsigned long sources;          /* files and entries seen, containers included */
	unsigned long containers;
	unsigned long failed;           /* sources that ended 'failed' */
	unsigned long partial;
	unsigned long gaps;
	uint64_t bytes;                 /* uncompressed bytes read */
};

struct apd_walk {
	const struct apd_limits *lim;
	struct {                        /* files never read: the index being written */
		uint64_t dev, ino;
	} skip[4];
	unsigned nskip;
	struct apd_catalog cat;
	apd_progress_fn progress;       /* may be NULL */
	void *progress_ud;
	struct apd_walk_stats st;
	struct apd_error err;           /* why apd_walk_input failed (fatal only) */
	uint64_t last_progress;
	uint64_t prefetch_from;         /* read files at least this large ahead on a second
	                                   thread (apd_stream_prefetch); UINT64_MAX never */
	/* NULL: every source.  Else a file or entry whose parser kind it does not
	   want is neither read further nor announced to the catalog (containers
	   are always opened): a quick pass for a few kinds. */
	bool (*want)(void *ud, const char *kind);
	void *want_ud;
};

#define APD_WALK_PREFETCH_FROM (1024u * 1024)

void apd_walk_init(struct apd_walk *w, const struct apd_limits *lim, struct apd_catalog cat);

/* Never read this file if the walk meets it (the index, when it is written
   inside the input folder); it is recorded as skipped.  A path that does not
   exist is ignored.  Returns APD_OK, or APD_FAILED when the list is full. */
int apd_walk_skip_file(struct apd_walk *w, const char *path);

/*
 * Walk a file or a folder.  Problems with single sources are recorded in
 * the catalog and do not stop the walk; the return value is APD_OK when
 * every source ended 'ok', 'skipped' or 'gap', APD_WARN when some ended
 * 'partial' or 'failed', APD_FAILED when the input itself cannot be read
 * (w->err says why), APD_FATAL when the catalog failed.
 */
int apd_walk_input(struct apd_walk *w, const char *path);

/* Is this entry name unsafe to show as a path (absolute, drive, "..")? */
bool apd_walk_name_unsafe(const char *name);

#endif /* APD_WALK_H */
