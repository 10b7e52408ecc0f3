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
#include "apd_time.h"
#include "apd_walk.h"

#include <sqlite3.h>

#define APD_SCHEMA_VERSION 3

struct apd_store;

int apd_store_create(struct apd_store **out, const char *path, const struct apd_limits *lim,
    struct apd_error *err);
int apd_store_set_meta(struct apd_store *st, const char *key, const char *value);
struct apd_catalog apd_store_catalog(struct apd_store *st);
/*
 * Work to do on the finished index before it is closed and renamed into
 * place (the rules engine writes its findings here): called by
 * apd_store_finish() inside a transaction; a code other than APD_OK makes
 * apd_store_finish() fail with it.
 */
typedef int (*apd_store_hook)(void *ud, sqlite3 *db, struct apd_error *err);
void apd_store_set_finish_hook(struct apd_store *st, apd_store_hook fn, void *ud);
/* Derive, index, run the finish hook, commit and rename into place.  APD_OK or APD_FATAL. */
int apd_store_finish(struct apd_store *st, struct apd_error *err);
/* NULL-safe; returns NULL.  An unfinished store leaves its .partial file. */
struct apd_store *apd_store_free(struct apd_store *st);

/*
 * The device's time zone ahead of the walk: walk the input first with
 * apd_store_zone_catalog() as the catalog and apd_store_zone_want as the
 * walker's filter (only registry sources are parsed; nothing is written),
 * then call apd_store_zone_hint() before the real walk.  With a zone found,
 * device-local times are converted as they are stored even when the
 * registry comes after the logs; the index's own zone is still checked at
 * the end (see struct apd_tz_done).  Meta load.zone_hint says what happened.
 */
struct apd_catalog apd_store_zone_catalog(struct apd_store *st);
bool apd_store_zone_want(void *ud, const char *kind);
bool apd_store_zone_hint(struct apd_store *st);

sqlite3 *apd_store_db(struct apd_store *st);
/* The files the store writes while indexing (NULL-terminated list, at most 3). */
const char *const *apd_store_files(const struct apd_store *st);
const char *apd_store_path(const struct apd_store *st);

/* The embedded schema text (apd_schema.sql). */
extern const char apd_schema_sql[];

/*
 * What the store did about device-local times while loading.  Once a
 * source holding the registry's TimeZoneInformation has ended, the store
 * reads the zone as apd_derive_all() would (apd_tz_read) and converts the
 * local times of every later event as it inserts it; the derivation then
 * only converts what is left, or everything again if the zone it finds is
 * not the one used.
 */
struct apd_tz_done {
	bool used;               /* some events got ts_utc at insert ... */
	struct apd_tzinfo tz;    /* ... under this zone */
	bool mixed;              /* ... or under more than one zone */
	uint64_t converted;      /* how many (meta load.tz_converted) */
	uint64_t left;           /* device-local events stored without ts_utc */
	bool rewritten;          /* set by apd_derive_all: it changed some ts_utc ... */
	bool rewrote_all;        /* ... not only of events left local */
};

/* Derivation after indexing (apd_derive.c): facts from the registry and
   file names, the device time zone, local-to-UTC conversion.  done may be
   NULL: every device-local event is then converted here. */
int apd_derive_all(sqlite3 *db, struct apd_tz_done *done, struct apd_error *err);

/* The device's zone from the indexed registry values (TimeZoneInformation
   under CurrentControlSet or ControlSet001, the last value of each name
   winning).  Returns 1 and fills *tz and *source_id if a Bias was found. */
int apd_tz_read(sqlite3 *db, struct apd_tzinfo *tz, int64_t *source_id);

/* One TimeZoneInformation value into *tz, as apd_tz_read takes it: num is the
   value as an integer, blob its bytes if it is binary (else NULL).  true if it
   was the Bias (a zone needs one). */
bool apd_tz_feed(struct apd_tzinfo *tz, const char *name, int64_t num, const void *blob,
    size_t blob_len);

/* The keys below HKLM apd_tz_read reads (case-insensitive, as registry keys). */
extern const char *const apd_tz_keys[2];

/* UPDATE table SET ts_utc = ts_local converted under tz, then `also` (", col = ...",
   or ""), WHERE where: the derivation's conversion, for its events and for other
   tables of device-local times.  APD_OK or APD_FATAL. */
int apd_tz_convert(sqlite3 *db, const struct apd_tzinfo *tz, const char *table, const char *also,
    const char *where, struct apd_error *err);

/* Are two zones the same rules? */
bool apd_tz_equal(const struct apd_tzinfo *a, const struct apd_tzinfo *b);

#endif /* APD_STORE_H */
