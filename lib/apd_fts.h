/*
 * apd_fts.h - the full-text index, built on a second thread (apd_fts.c).
 *
 * apd_fts_start() opens the worker's own database next to the index;
 * apd_fts_add() queues one message (copied; blocks when the queue is full);
 * apd_fts_finish() waits for the worker and copies its FTS5 shadow tables
 * into the index (attached as "fts" until apd_fts_detach()); apd_fts_free()
 * stops the worker if needed and removes its temporary file.
 */
#ifndef APD_FTS_H
#define APD_FTS_H

#include "apd.h"
#include "apd_error.h"

#include <sqlite3.h>

struct apd_fts;

int apd_fts_start(struct apd_fts **out, const char *index_path, struct apd_error *err);
int apd_fts_add(struct apd_fts *f, int64_t rowid, const char *text, size_t n);
int apd_fts_finish(struct apd_fts *f, sqlite3 *main_db, struct apd_error *err);
int apd_fts_detach(sqlite3 *main_db);
struct apd_fts *apd_fts_free(struct apd_fts *f);
/* CPU time the worker thread used, after apd_fts_finish(). */
double apd_fts_cpu_ms(const struct apd_fts *f);

#endif /* APD_FTS_H */
