/*
 * apd_store.h - the SQLite index writer.
 *
 * apd_store_create() makes a fresh index at a path (an existing file there
 * is replaced only when the new index is complete: the store writes to
 * "<path>.partial" and renames it in apd_store_finish()).  The store is a
 * catalog for the walker (apd_walk.h) and a sink for parsers; after the
 * walk, apd_store_finish() derives device facts and times (apd_derive.c),
 * builds the FTS5 index and the secondary indexes, and commits.
 *
 * Writes go through prepared statements inside one transaction per 64k
 * rows; the full-text index is built once at the end ('rebuild'), which is
 * several times faster than indexing row by row.
 */
#ifndef APD_STORE_H
#define APD_STORE_H

#include "apd.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_walk.h"

#include <sqlite3.h>

#define APD_SCHEMA_VERSION 2

struct apd_store;

int apd_store_create(struct apd_store **out, const char *path, const struct apd_limits *lim,
    struct apd_error *err);
int apd_store_set_meta(struct apd_store *st, const char *key, const char *value);
struct apd_catalog apd_store_catalog(struct apd_store *st);
/* Derive, index, commit and rename into place.  APD_OK or APD_FATAL. */
int apd_store_finish(struct apd_store *st, struct apd_error *err);
/* NULL-safe; returns NULL.  An unfinished store leaves its .partial file. */
struct apd_store *apd_store_free(struct apd_store *st);

sqlite3 *apd_store_db(struct apd_store *st);
/* The files the store writes while indexing (NULL-terminated list, at most 3). */
const char *const *apd_store_files(const struct apd_store *st);
const char *apd_store_path(const struct apd_store *st);

/* The embedded schema text (apd_schema.sql). */
extern const char apd_schema_sql[];

/* Derivation after indexing (apd_derive.c): facts from the registry and
   file names, the device time zone, local-to-UTC conversion. */
int apd_derive_all(sqlite3 *db, struct apd_error *err);

#endif /* APD_STORE_H */
