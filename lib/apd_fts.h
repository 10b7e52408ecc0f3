/*
 * apd_fts.h - the full-text index, built on a second thread (apd_fts.c).
 *
 * apd_fts_start() opens the worker's own database next to the index;
 * apd_fts_add() queues one message (copied; blocks when the queue is full),
 * with the columns a watch (below) keeps if it is marked;
 * apd_fts_finish() waits for the worker and copies its FTS5 shadow tables
 * into the index (attached as "fts" until apd_fts_detach()); apd_fts_free()
 * stops the worker if needed and removes its temporary file.
 */
#ifndef APD_FTS_H
#define APD_FTS_H

#include "apd.h"
#include "apd_error.h"

#include <stdbool.h>
#include <sqlite3.h>

struct apd_fts;

#define APD_FTS_TOKEN_MAX 64   /* a watched token is shorter */
#define APD_FTS_WATCH_MAX 128  /* tokens in a watch */

/*
 * A watch: a row marked by apd_fts_add() (a row given) whose message holds all
 * the tokens of a term (lowercase, as FTS5's unicode61 splits and folds
 * text) is also kept, with its columns, in the worker's table
 *   watch(id, mask, source_id, thread, ts_utc, ts_local, message)
 * (attached with the rest as "fts"); mask ORs the bits of every term whose
 * tokens it holds.
 */
struct apd_fts_term {
	uint64_t need[2];   /* bit k: tokens[k] must be in the message */
	uint64_t bits;
};

struct apd_fts_watch {
	const char *const *tokens;   /* distinct; at most APD_FTS_WATCH_MAX */
	size_t ntokens;
	const struct apd_fts_term *terms;
	size_t nterms;               /* at most APD_FTS_WATCH_MAX */
};

/* The columns a watched row keeps. */
struct apd_fts_row {
	int64_t source_id;
	int64_t ts_utc;            /* INT64_MIN: none */
	struct apd_sv thread, ts_local;
};

/* w may be NULL: no watch. */
int apd_fts_start(struct apd_fts **out, const char *index_path, const struct apd_fts_watch *w,
    struct apd_error *err);
/* row: the row's columns if the watch applies to it, else NULL */
int apd_fts_add(struct apd_fts *f, int64_t rowid, const char *text, size_t n,
    const struct apd_fts_row *row);
int apd_fts_finish(struct apd_fts *f, sqlite3 *main_db, struct apd_error *err);
int apd_fts_detach(sqlite3 *main_db);
/* Does the worker keep a watch table (fts.watch once attached)? */
bool apd_fts_watching(const struct apd_fts *f);
struct apd_fts *apd_fts_free(struct apd_fts *f);
/* CPU time the worker thread used, after apd_fts_finish(). */
double apd_fts_cpu_ms(const struct apd_fts *f);

#endif /* APD_FTS_H */
