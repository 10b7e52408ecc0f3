/*
 * apd_store.c - the SQLite index writer: catalog for the walker, sink for
 * the parsers (see apd_store.h).
 */
#include "apd_store.h"
#include "apd_buf.h"
#include "apd_esp.h"
#include "apd_esp_lines.h"
#include "apd_fts.h"
#include "apd_time.h"

#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMIT_EVERY 262144u
#define STR_(x) #x
#define STR(x) STR_(x)

enum {
	S_SOURCE, S_SOURCE_END, S_EVENT, S_REGKEY_GET, S_REGKEY_ADD, S_REGVAL, S_FACT, S_GAP, S_WARN, S_META, S__N
};

static const char *const stmt_sql[S__N] = {
	[S_SOURCE] = "INSERT INTO source(parent_id, path, kind, parser, origin, size, status) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ok')",
	[S_SOURCE_END] = "UPDATE source SET status = ?2, error = ?3, sha256 = ?4, "
	    "size = COALESCE(?5, size), records = ?6, warnings = ?7, kind = COALESCE(?8, kind) "
	    "WHERE id = ?1",
	/* followed by BATCH_ROWS rows of EVENT_COLS parameters (batch_sql) */
	[S_EVENT] = "INSERT INTO event(source_id, seq, ts_utc, ts_local, tz_source, level, channel, "
	    "provider, event_id, component, thread, message, data, line, offset, record_id, computer, "
	    "user_sid, pid, recovered) SELECT * FROM (VALUES ",
	[S_REGKEY_GET] = "SELECT id FROM reg_key WHERE key = ?2 AND hive = ?1",
	[S_REGKEY_ADD] = "INSERT INTO reg_key(hive, key) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	/* followed by BATCH_ROWS rows of REGVAL_COLS parameters (batch_sql) */
	[S_REGVAL] = "INSERT INTO reg_val(source_id, key_id, name, type, value, line) "
	    "SELECT * FROM (VALUES ",
	[S_FACT] = "INSERT INTO fact(name, value, source_id) VALUES (?1, ?2, ?3)",
	[S_GAP] = "INSERT INTO gap(source_id, item, hresult, hresult_hex, reason) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_WARN] = "INSERT INTO warning(source_id, line, offset, message) VALUES (?1, ?2, ?3, ?4)",
	[S_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
};

/*
 * Events and registry values are inserted BATCH_ROWS rows per statement:
 * one INSERT of a single row opens and positions a cursor on the table and
 * on each of its indexes, and that per-statement work was over a third of
 * the cost of an event (bench/analyze.sh: ~0.45 s per million events).  The
 * statement is INSERT ... SELECT over a VALUES list filtered on source_id,
 * so that a batch flushed before it is full leaves its unbound (NULL) rows
 * out.  64 rows rather than 16: in interleaved runs the loading thread's CPU
 * fell ~2% (bench bundle 5.05-5.08 s against 5.12-5.18 s, synth.evtx
 * 1.73-1.77 s against 1.75-1.84 s); 64 x 20 parameters stay far below
 * SQLITE_MAX_VARIABLE_NUMBER (32766).
 */
#define BATCH_ROWS 64
#define EVENT_COLS 20
#define REGVAL_COLS 6

/*
 * A batched insert: the statement, how many rows are bound in it, and the
 * arena holding copies of their strings.  A row's strings live only during
 * the sink's call; binding them SQLITE_TRANSIENT made SQLite malloc, copy
 * and free each one (over 0.4 s of the loading thread's 4.8 s on
 * bench/analyze.sh's bundle).  They are copied into the arena instead and
 * bound SQLITE_STATIC; the arena is emptied when the batch is flushed.  A
 * string that does not fit is bound SQLITE_TRANSIENT, as before.
 */
#define ARENA_BYTES (256u * 1024u)

struct batch {
	sqlite3_stmt *stmt;
	unsigned n;
	size_t used;            /* bytes of arena in use */
	char *arena;            /* ARENA_BYTES; NULL if it could not be allocated */
};

struct apd_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S__N];
	char *path;             /* final path */
	char *tmp_path;         /* "<path>.partial" while writing */
	char *fts_path;         /* "<path>.fts.partial", the indexing thread's database */
	const char *files[3];   /* for apd_store_files() */
	const struct apd_limits *lim;
	struct apd_sink sink;
	int64_t cur;            /* source receiving records */
	uint64_t seq;           /* events of the current source */
	uint64_t records;       /* events + values of the current source */
	uint64_t warnings;      /* warnings of the current source (all, stored or not) */
	struct {                /* sources still open around the current one (LIFO) */
		int64_t id;
		uint64_t seq, records, warnings;
		bool watch;
	} outer[32];
	unsigned nouter;
	uint64_t pending;       /* rows since the last commit */
	struct batch ev, rv;    /* the batched event and registry value inserts */
	int64_t next_event;     /* the rowid the next event gets: event.id is ours alone */
	struct apd_fts *fts;    /* full-text index, built on a second thread */
	struct apd_buf key;     /* the last registry key looked up: hive '\0' key */
	size_t key_hive_len;
	int64_t key_id;         /* its reg_key.id, 0 if none yet */
	bool key_is_tz;         /* it is a TimeZoneInformation key */
	bool tz_seen;           /* the current source wrote such a key's values */
	bool tz_active;         /* the zone is known: convert device-local times at insert */
	struct apd_tzinfo tz;   /* that zone */
	struct apd_tz_memo tz_memo;   /* its last year's transitions (zeroed with a new zone) */
	struct apd_tz_done tzd; /* what was converted, for apd_derive_all */
	struct {                /* the quick walk for the zone (apd_store_zone_catalog) */
		struct apd_sink sink;
		struct apd_tzinfo tz;
		int64_t ids;
		bool found, unsure;
	} zone;
	bool watch;             /* the current source's events go to the full-text watch */
	double t_start;         /* when the store was created, for meta timing.* */
	apd_store_hook hook;    /* run before closing (the rules) */
	void *hook_ud;
	int rc;                 /* first fatal error, sticky */
	struct apd_error err;
};

static int
fail_db(struct apd_store *st, const char *what)
{
	if (st->rc == APD_OK)
		st->rc = apd_set_error(&st->err, APD_FATAL, "%s: %s: %s", st->tmp_path, what,
		    sqlite3_errmsg(st->db));
	return APD_FATAL;
}

static int
exec(struct apd_store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (st->rc == APD_OK)
			st->rc = apd_set_error(&st->err, APD_FATAL, "%s: %s", st->tmp_path,
			    msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return APD_FATAL;
	}
	return APD_OK;
}

/* Step a bound statement that returns no rows, then reset it. */
static int
step(struct apd_store *st, int which)
{
	sqlite3_stmt *s = st->stmt[which];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return fail_db(st, "write");
	if (++st->pending >= COMMIT_EVERY) {
		st->pending = 0;
		if (exec(st, "COMMIT; BEGIN") != APD_OK)
			return APD_FATAL;
	}
	return APD_OK;
}

static void
bind_sv(sqlite3_stmt *s, int i, struct apd_sv v)
{
	if (v.p == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v.p, (int)v.n, SQLITE_STATIC);
}

/* A batched statement's prefix with its VALUES rows of `cols` parameters and the
   filter; NULL if out of memory. */
static char *
batch_sql(const char *prefix, int cols)
{
	struct apd_buf b;
	int r, c;

	apd_buf_init(&b, SIZE_MAX);
	if (apd_buf_adds(&b, prefix) != APD_OK)
		goto oom;
	for (r = 0; r < BATCH_ROWS; r++) {
		if (apd_buf_adds(&b, r ? ", (" : "(") != APD_OK)
			goto oom;
		for (c = 0; c < cols; c++)
			if (apd_buf_adds(&b, c ? ", ?" : "?") != APD_OK)
				goto oom;
		if (apd_buf_adds(&b, ")") != APD_OK)
			goto oom;
	}
	/* column1 is source_id, never NULL in a bound row */
	if (apd_buf_adds(&b, ") WHERE column1 IS NOT NULL") != APD_OK)
		goto oom;
	return b.p;   /* NUL-terminated; the caller frees it */
oom:
	apd_buf_done(&b);
	return NULL;
}

/* Where a copy of n bytes for batch b's statement can live until the flush;
   NULL: bind a transient copy. */
static char *
batch_room(struct batch *b, size_t n)
{
	char *p;

	if (b->arena == NULL || n > ARENA_BYTES - b->used)
		return NULL;
	p = b->arena + b->used;
	b->used += n;
	return p;
}

/* For the batched statement: the row's strings live only during the sink's
   call, so they are bound as copies (in the arena if they fit).  Every
   value is passed to SQLite with an explicit length, which may exceed
   SQLite's int only when capped by the caller first. */
static void
bind_copy(struct batch *b, int i, const void *p, size_t n, bool blob)
{
	char *room = batch_room(b, n);
	int len = (int)(n > INT32_MAX ? INT32_MAX : n);

	if (room) {
		memcpy(room, p, n);
		p = room;
	}
	if (blob)
		sqlite3_bind_blob(b->stmt, i, p, len, room ? SQLITE_STATIC : SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(b->stmt, i, p, len, room ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

/* An absent value is left unbound: a batch's parameters are all NULL until
   bound (a new statement, and flush_batch clears them after each step). */
static void
bind_svt(struct batch *b, int i, struct apd_sv v)
{
	if (v.p != NULL)
		bind_copy(b, i, v.p, v.n, false);
}

static void
bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static const char *
tz_name(enum apd_tz tz)
{
	switch (tz) {
	case APD_TZ_UTC: return "utc";
	case APD_TZ_BIAS: return "bias";
	case APD_TZ_LOCAL: return "local";
	case APD_TZ_NONE:
	default: return "none";
	}
}

/* ---- the sink ---- */

/* Insert the rows bound in a batch so far (none: nothing to do). */
static int
flush_batch(struct apd_store *st, struct batch *b)
{
	int rc;

	if (b->n == 0)
		return APD_OK;
	rc = sqlite3_step(b->stmt);
	sqlite3_reset(b->stmt);
	sqlite3_clear_bindings(b->stmt);
	b->used = 0;   /* nothing is bound to the arena any more */
	if (rc != SQLITE_DONE)
		return fail_db(st, "write");
	/* the full-text rows were keyed on rowids predicted before the insert */
	if (b == &st->ev && sqlite3_last_insert_rowid(st->db) != st->next_event - 1) {
		st->rc = apd_set_error(&st->err, APD_FATAL, "event ids out of step: %lld, expected %lld",
		    (long long)sqlite3_last_insert_rowid(st->db), (long long)(st->next_event - 1));
		return APD_FATAL;
	}
	st->pending += b->n;
	b->n = 0;
	if (st->pending >= COMMIT_EVERY) {
		st->pending = 0;
		if (exec(st, "COMMIT; BEGIN") != APD_OK)
			return APD_FATAL;
	}
	return APD_OK;
}

/* Everything bound so far, before the source ends or the index is read. */
static int
flush_all(struct apd_store *st)
{
	if (st->rc != APD_OK)
		return st->rc;
	if (flush_batch(st, &st->ev) != APD_OK || flush_batch(st, &st->rv) != APD_OK)
		return APD_FATAL;
	return APD_OK;
}

static int
s_event(void *ud, const struct apd_event *ev)
{
	struct apd_store *st = ud;
	struct batch *bt = &st->ev;
	sqlite3_stmt *s = bt->stmt;
	int b = (int)bt->n * EVENT_COLS;
	const char *tz = tz_name(ev->tz);
	int64_t utc = ev->ts_utc;
	size_t n;
	int rc = APD_OK;

	if (st->rc != APD_OK)
		return st->rc;
	sqlite3_bind_int64(s, b + 1, st->cur);
	sqlite3_bind_int64(s, b + 2, (sqlite3_int64)++st->seq);
	if (ev->ts_utc != APD_TS_NONE) {
		sqlite3_bind_int64(s, b + 3, ev->ts_utc);
	} else if (ev->tz == APD_TZ_LOCAL && ev->ts_local.p) {
		/* what apd_derive_all's UPDATE would do, now that the zone is known */
		if (st->tz_active) {
			int64_t us = ev->ts_local_us;
			if (us != APD_TS_NONE || apd_parse_iso(ev->ts_local, &us)) {
				utc = apd_tz_local_to_utc_memo(&st->tz, &st->tz_memo, us);
				sqlite3_bind_int64(s, b + 3, utc);
			}
			tz = "registry";
			st->tzd.used = true;
			st->tzd.converted++;
		} else {
			st->tzd.left++;
		}
	}
	bind_svt(bt, b + 4, ev->ts_local);
	sqlite3_bind_text(s, b + 5, tz, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, b + 6, ev->level);
	bind_svt(bt, b + 7, ev->channel);
	bind_svt(bt, b + 8, ev->provider);
	if (ev->event_id >= 0)
		sqlite3_bind_int64(s, b + 9, ev->event_id);
	bind_svt(bt, b + 10, ev->component);
	bind_svt(bt, b + 11, ev->thread);
	/* SQLite caps a value at SQLITE_MAX_LENGTH; parsers cap records far below */
	n = ev->message.n;
	if (ev->message.p)
		bind_copy(bt, b + 12, ev->message.p, n > INT32_MAX ? INT32_MAX : n, false);
	bind_svt(bt, b + 13, ev->data);
	if (ev->line)
		sqlite3_bind_int64(s, b + 14, (sqlite3_int64)ev->line);
	sqlite3_bind_int64(s, b + 15, (sqlite3_int64)ev->offset);
	if (ev->record_id >= 0)
		sqlite3_bind_int64(s, b + 16, ev->record_id);
	bind_svt(bt, b + 17, ev->computer);
	bind_svt(bt, b + 18, ev->user_sid);
	if (ev->pid >= 0)
		sqlite3_bind_int64(s, b + 19, ev->pid);
	if (ev->recovered)
		sqlite3_bind_int(s, b + 20, 1);
	st->records++;
	if (ev->message.p) {
		struct apd_fts_row row = { st->cur, utc == APD_TS_NONE ? INT64_MIN : utc, ev->thread,
			ev->ts_local };
		rc = apd_fts_add(st->fts, st->next_event, ev->message.p, n, st->watch ? &row : NULL);
	}
	if (rc != APD_OK) {
		st->rc = apd_set_error(&st->err, APD_FATAL, "full-text index: out of memory");
		return APD_FATAL;
	}
	st->next_event++;
	if (++st->ev.n == BATCH_ROWS)
		return flush_batch(st, &st->ev);
	return APD_OK;
}

static const char *
reg_type_name(int type, char tmp[16])
{
	static const char *const names[] = {
		"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD",
		"REG_DWORD_BIG_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
		"REG_FULL_RESOURCE_DESCRIPTOR", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD",
	};

	if (type >= 0 && type < (int)(sizeof(names) / sizeof(names[0])))
		return names[type];
	snprintf(tmp, 16, "REG_%d", type);
	return tmp;
}

/* Is hive\key where Windows keeps the time zone (what apd_tz_read reads)? */
static bool
is_tz_key(struct apd_sv hive, struct apd_sv key)
{
	size_t i;

	if (hive.n != 4 || strncasecmp(hive.p, "HKLM", 4) != 0)
		return false;
	for (i = 0; i < sizeof(apd_tz_keys) / sizeof(apd_tz_keys[0]); i++)
		if (key.n == strlen(apd_tz_keys[i]) && strncasecmp(key.p, apd_tz_keys[i], key.n) == 0)
			return true;
	return false;
}

/* The reg_key id of hive\key, added if new.  Values arrive grouped by key,
   so the last one answers almost every call. */
static int64_t
reg_key_id(struct apd_store *st, struct apd_sv hive, struct apd_sv key)
{
	sqlite3_stmt *s;
	int rc;

	if (st->key_id > 0 && st->key_hive_len == hive.n && st->key.n == hive.n + 1 + key.n &&
	    memcmp(st->key.p + hive.n + 1, key.p, key.n) == 0 &&
	    memcmp(st->key.p, hive.p, hive.n) == 0)
		return st->key_id;
	/* a key is most often new: add it, and look it up only if it was there */
	s = st->stmt[S_REGKEY_ADD];
	bind_sv(s, 1, hive);
	bind_sv(s, 2, key);
	if (step(st, S_REGKEY_ADD) != APD_OK)
		return APD_FATAL;
	st->key_id = sqlite3_changes(st->db) == 1 ? sqlite3_last_insert_rowid(st->db) : 0;
	if (st->key_id == 0) {
		s = st->stmt[S_REGKEY_GET];
		bind_sv(s, 1, hive);
		bind_sv(s, 2, key);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			st->key_id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if (rc != SQLITE_ROW)
			return fail_db(st, "registry key lookup");
	}
	st->key_is_tz = is_tz_key(hive, key);
	/* remember it; if it cannot be kept, the next call looks it up again */
	apd_buf_reset(&st->key);
	if (apd_buf_add(&st->key, hive.p, hive.n) == APD_OK && apd_buf_addc(&st->key, '\0') == APD_OK &&
	    apd_buf_add(&st->key, key.p, key.n) == APD_OK) {
		st->key_hive_len = hive.n;
		return st->key_id;
	}
	st->key_hive_len = SIZE_MAX;
	return st->key_id;
}

static int
s_regval(void *ud, const struct apd_regval *rv)
{
	struct apd_store *st = ud;
	struct batch *bt = &st->rv;
	sqlite3_stmt *s = bt->stmt;
	int b = (int)bt->n * REGVAL_COLS;
	const char *type;
	int64_t key_id;
	char tmp[16];

	if (st->rc != APD_OK)
		return st->rc;
	if ((key_id = reg_key_id(st, rv->hive, rv->key)) < 0)
		return APD_FATAL;
	st->tz_seen |= st->key_is_tz;
	sqlite3_bind_int64(s, b + 1, st->cur);
	sqlite3_bind_int64(s, b + 2, key_id);
	bind_svt(bt, b + 3, rv->name);
	if (rv->name.p != NULL) {
		type = reg_type_name(rv->type, tmp);
		if (type == tmp)
			bind_copy(bt, b + 4, tmp, strlen(tmp), false);
		else
			sqlite3_bind_text(s, b + 4, type, -1, SQLITE_STATIC);
		switch (rv->kind) {
		case APD_RV_INT:
			sqlite3_bind_int64(s, b + 5, rv->num);
			break;
		case APD_RV_TEXT:
			bind_svt(bt, b + 5, rv->text);
			break;
		case APD_RV_BLOB:
		default:
			bind_copy(bt, b + 5, rv->blob_len ? rv->blob : "", rv->blob_len, true);
			break;
		}
	}
	if (rv->line)
		sqlite3_bind_int64(s, b + 6, (sqlite3_int64)rv->line);
	st->records++;
	if (++st->rv.n == BATCH_ROWS)
		return flush_batch(st, &st->rv);
	return APD_OK;
}

static int
s_fact(void *ud, struct apd_sv name, struct apd_sv value)
{
	struct apd_store *st = ud;
	sqlite3_stmt *s = st->stmt[S_FACT];

	if (st->rc != APD_OK)
		return st->rc;
	bind_sv(s, 1, name);
	bind_sv(s, 2, value);
	if (st->cur > 0)
		sqlite3_bind_int64(s, 3, st->cur);
	return step(st, S_FACT);
}

static int
s_gap(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	struct apd_store *st = ud;
	sqlite3_stmt *s = st->stmt[S_GAP];
	char hex[16];

	if (st->rc != APD_OK)
		return st->rc;
	if (st->cur > 0)
		sqlite3_bind_int64(s, 1, st->cur);
	bind_sv(s, 2, item);
	if (hresult != INT64_MIN) {
		/* HRESULTs are stored as signed 32-bit, the way Windows logs them */
		sqlite3_bind_int64(s, 3, (int32_t)(uint32_t)hresult);
		snprintf(hex, sizeof(hex), "0x%08" PRIX32, (uint32_t)hresult);
		sqlite3_bind_text(s, 4, hex, -1, SQLITE_TRANSIENT);
	}
	bind_sv(s, 5, reason);
	return step(st, S_GAP);
}

static int
insert_warn(struct apd_store *st, uint64_t line, uint64_t offset, const char *msg)
{
	sqlite3_stmt *s = st->stmt[S_WARN];

	sqlite3_bind_int64(s, 1, st->cur);
	if (line)
		sqlite3_bind_int64(s, 2, (sqlite3_int64)line);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)offset);
	sqlite3_bind_text(s, 4, msg, -1, SQLITE_STATIC);
	return step(st, S_WARN);
}

static int
s_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	struct apd_store *st = ud;

	if (st->rc != APD_OK)
		return st->rc;
	if (++st->warnings > st->lim->max_warnings)
		return APD_OK;   /* counted in source.warnings, not stored */
	return insert_warn(st, line, offset, msg);
}

static const struct apd_sink_vtable store_sink_vt = {
	.event = s_event,
	.regval = s_regval,
	.fact = s_fact,
	.gap = s_gap,
	.warn = s_warn,
};

/* ---- the catalog ---- */

static int64_t
c_begin(void *ud, const struct apd_source_info *si)
{
	struct apd_store *st = ud;
	sqlite3_stmt *s = st->stmt[S_SOURCE];

	if (st->rc != APD_OK)
		return st->rc;
	if (si->parent_id > 0)
		sqlite3_bind_int64(s, 1, si->parent_id);
	bind_str(s, 2, si->path);
	bind_str(s, 3, si->kind);
	bind_str(s, 4, si->parser);
	bind_str(s, 5, si->origin);
	if (si->size >= 0)
		sqlite3_bind_int64(s, 6, si->size);
	if (step(st, S_SOURCE) != APD_OK)
		return APD_FATAL;
	if (st->cur > 0) {
		if (st->nouter == sizeof(st->outer) / sizeof(st->outer[0])) {
			st->rc = apd_set_error(&st->err, APD_FATAL, "sources nested too deeply");
			return APD_FATAL;
		}
		st->outer[st->nouter].id = st->cur;
		st->outer[st->nouter].seq = st->seq;
		st->outer[st->nouter].records = st->records;
		st->outer[st->nouter].warnings = st->warnings;
		st->outer[st->nouter].watch = st->watch;
		st->nouter++;
	}
	st->cur = sqlite3_last_insert_rowid(st->db);
	/* the deployment model reads IME lines: a CMTrace log's candidates are kept aside */
	st->watch = si->kind && strcmp(si->kind, "cmtrace") == 0;
	st->seq = 0;
	st->records = 0;
	st->warnings = 0;
	return st->cur;
}

static struct apd_sink *
c_sink(void *ud, int64_t id)
{
	struct apd_store *st = ud;

	(void)id;   /* always the innermost open source */
	return &st->sink;
}

/* Convert device-local times under tz from now on (a fresh memo: it serves one zone). */
static void
use_zone(struct apd_store *st, const struct apd_tzinfo *tz)
{
	st->tz = *tz;
	memset(&st->tz_memo, 0, sizeof(st->tz_memo));
	st->tz_active = true;
}

/*
 * A source wrote TimeZoneInformation values: read the zone the way
 * apd_derive_all will, and convert the device-local times of the events
 * that follow.  A zone that changes after it was used makes the derivation
 * convert everything again (tzd.mixed).
 */
static void
zone_found(struct apd_store *st)
{
	struct apd_tzinfo tz;
	int64_t src;

	st->tz_seen = false;
	if (!apd_tz_read(st->db, &tz, &src))
		return;
	if (st->tzd.used && !apd_tz_equal(&tz, &st->tzd.tz))
		st->tzd.mixed = true;
	if (!st->tzd.used)
		st->tzd.tz = tz;
	use_zone(st, &tz);
}

static int
c_end(void *ud, int64_t id, const struct apd_source_result *r)
{
	struct apd_store *st = ud;
	sqlite3_stmt *s = st->stmt[S_SOURCE_END];

	int rc;

	if (flush_all(st) != APD_OK)
		return st->rc;
	if (st->tz_seen)
		zone_found(st);
	if (id != st->cur) {
		st->rc = apd_set_error(&st->err, APD_FATAL, "source %lld ended out of order",
		    (long long)id);
		return APD_FATAL;
	}
	if (st->warnings > st->lim->max_warnings) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%" PRIu64 " more warnings were not stored",
		    st->warnings - st->lim->max_warnings);
		if ((rc = insert_warn(st, 0, 0, msg)) != APD_OK)
			return rc;
	}
	sqlite3_bind_int64(s, 1, id);
	bind_str(s, 2, r->status);
	bind_str(s, 3, r->error);
	bind_str(s, 4, r->sha256);
	if (r->size >= 0)
		sqlite3_bind_int64(s, 5, r->size);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)st->records);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)st->warnings);
	bind_str(s, 8, r->kind);
	rc = step(st, S_SOURCE_END);
	if (st->nouter > 0) {
		st->nouter--;
		st->cur = st->outer[st->nouter].id;
		st->seq = st->outer[st->nouter].seq;
		st->records = st->outer[st->nouter].records;
		st->warnings = st->outer[st->nouter].warnings;
		st->watch = st->outer[st->nouter].watch;
	} else {
		st->cur = 0;
	}
	return rc;
}

static const struct apd_catalog_vtable store_cat_vt = {
	.begin = c_begin,
	.sink = c_sink,
	.end = c_end,
};

struct apd_catalog
apd_store_catalog(struct apd_store *st)
{
	struct apd_catalog c = { &store_cat_vt, st };

	return c;
}

/* ---- the zone, before the walk (apd_store_zone_catalog) ----
 *
 * A device-local time is converted as it is stored once the zone is known;
 * the times stored before it are converted afterwards by rewriting their
 * rows (apd_derive_all: 1.8 s for 1.8M IME lines on the bench bundle).  An
 * archive lists its files in its own order, and a name-sorted one puts
 * MdmDiagReport_RegistryDump.reg after the IME logs.  So the front end may
 * first walk the input quickly with this catalog and apd_store_zone_want:
 * only registry sources are parsed, nothing is written, and the
 * TimeZoneInformation values are taken as apd_tz_read takes them from the
 * index (the last of each name).  apd_store_zone_hint() then converts from
 * the first event on.  The hint is only a head start: the zone the index
 * finally holds is checked as before (zone_found, apd_derive_all), and a
 * different one converts everything again.
 */
static int64_t
z_begin(void *ud, const struct apd_source_info *si)
{
	struct apd_store *st = ud;

	(void)si;
	return ++st->zone.ids;
}

static struct apd_sink *
z_sink(void *ud, int64_t id)
{
	struct apd_store *st = ud;

	(void)id;
	return &st->zone.sink;
}

static int
z_end(void *ud, int64_t id, const struct apd_source_result *r)
{
	(void)ud;
	(void)id;
	(void)r;
	return APD_OK;
}

static int
z_event(void *ud, const struct apd_event *ev)
{
	(void)ud;
	(void)ev;
	return APD_OK;
}

static int
z_regval(void *ud, const struct apd_regval *rv)
{
	static const char *const numeric[] = { "Bias", "StandardBias", "DaylightBias",
		"DynamicDaylightTimeDisabled" };
	struct apd_store *st = ud;
	char name[64];
	size_t i;

	if (rv->name.p == NULL || rv->name.n >= sizeof(name) || !is_tz_key(rv->hive, rv->key))
		return APD_OK;
	memcpy(name, rv->name.p, rv->name.n);
	name[rv->name.n] = '\0';
	if (rv->kind != APD_RV_INT) {
		/* SQLite's own reading of text or bytes as a number is what apd_tz_read sees:
		   do not guess it */
		for (i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
			if (strcasecmp(name, numeric[i]) == 0)
				st->zone.unsure = true;
		if (rv->kind == APD_RV_TEXT)
			return APD_OK;
		(void)apd_tz_feed(&st->zone.tz, name, 0, rv->blob_len ? rv->blob : "", rv->blob_len);
		return APD_OK;
	}
	if (apd_tz_feed(&st->zone.tz, name, rv->num, NULL, 0))
		st->zone.found = true;
	return APD_OK;
}

static int
z_fact(void *ud, struct apd_sv name, struct apd_sv value)
{
	(void)ud;
	(void)name;
	(void)value;
	return APD_OK;
}

static int
z_gap(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	(void)ud;
	(void)item;
	(void)hresult;
	(void)reason;
	return APD_OK;
}

static int
z_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	(void)ud;
	(void)line;
	(void)offset;
	(void)msg;
	return APD_OK;
}

static const struct apd_sink_vtable zone_sink_vt = {
	.event = z_event,
	.regval = z_regval,
	.fact = z_fact,
	.gap = z_gap,
	.warn = z_warn,
};

static const struct apd_catalog_vtable zone_cat_vt = {
	.begin = z_begin,
	.sink = z_sink,
	.end = z_end,
};

struct apd_catalog
apd_store_zone_catalog(struct apd_store *st)
{
	struct apd_catalog c = { &zone_cat_vt, st };

	st->zone.sink.vt = &zone_sink_vt;
	st->zone.sink.ud = st;
	return c;
}

bool
apd_store_zone_want(void *ud, const char *kind)
{
	(void)ud;
	return strcmp(kind, "mdm-regdump") == 0 || strcmp(kind, "reg-export") == 0;
}

bool
apd_store_zone_hint(struct apd_store *st)
{
	bool use = st->zone.found && !st->zone.unsure && !st->tz_active && st->next_event == 1;

	apd_store_set_meta(st, "load.zone_hint", use ? "registry" : st->zone.unsure ? "unsure" :
	    "none");
	if (!use)
		return false;
	st->tzd.tz = st->zone.tz;
	use_zone(st, &st->zone.tz);
	return true;
}

/* ---- life cycle ---- */

/* Record how long a phase took, as meta timing.<phase>_ms. */
static void
timing(struct apd_store *st, const char *phase, double *t)
{
	char key[64], val[32];
	double t2 = apd_mono_ms();

	snprintf(key, sizeof(key), "timing.%s_ms", phase);
	snprintf(val, sizeof(val), "%.0f", t2 - *t);
	*t = t2;
	if (st->stmt[S_META])
		apd_store_set_meta(st, key, val);
}

/* CPU time a thread spent, as meta cpu.<what>_ms (for benchmarks). */
static void
cpu_meta(struct apd_store *st, const char *what, double ms)
{
	char key[64], val[32];

	snprintf(key, sizeof(key), "cpu.%s_ms", what);
	snprintf(val, sizeof(val), "%.0f", ms);
	apd_store_set_meta(st, key, val);
}

/* The watch being built from the IME lines (start_fts). */
struct watch_build {
	char tok[APD_FTS_WATCH_MAX][APD_ESP_TOKEN_MAX];
	const char *tokp[APD_FTS_WATCH_MAX];
	struct apd_fts_term term[APD_FTS_WATCH_MAX];
	size_t ntok, nterm;   /* nterm: the current entry's first term */
	uint64_t bit;         /* the current entry's */
	bool full;            /* more tokens or terms than a watch holds */
};

static void
watch_token(void *ud, size_t alt, const char *tok)
{
	struct watch_build *wb = ud;
	size_t j = wb->nterm + alt, k;

	if (j >= APD_FTS_WATCH_MAX) {
		wb->full = true;
		return;
	}
	for (k = 0; k < wb->ntok && strcmp(wb->tok[k], tok) != 0; k++)
		;
	if (k == wb->ntok) {
		if (k == APD_FTS_WATCH_MAX) {
			wb->full = true;
			return;
		}
		snprintf(wb->tok[k], sizeof(wb->tok[k]), "%s", tok);
		wb->tokp[k] = wb->tok[k];
		wb->ntok++;
	}
	wb->term[j].need[k >> 6] |= (uint64_t)1 << (k & 63);
	wb->term[j].bits = wb->bit;
}

/*
 * Start the full-text thread, watching for the IME lines the deployment
 * model reads (lib/apd_ime_lines.txt): a CMTrace row that holds every token
 * of one of an entry's alternatives gets the entry's bit, and the model
 * walks those rows in the worker's table instead of querying the index and
 * looking each row up.  Without a usable watch the model queries the index
 * itself (esp_ime_scan).
 */
static int
start_fts(struct apd_store *st, const char *path, struct apd_error *err)
{
	struct watch_build *wb = calloc(1, sizeof(*wb));
	struct apd_fts_watch w = { NULL, 0, NULL, 0 };
	struct apd_esp_lines *L = NULL;
	struct apd_error e;
	size_t i, nalt;
	int rc;

	apd_error_clear(&e);
	if (wb && apd_esp_lines_load(&L, apd_ime_lines_txt, &e) == APD_OK) {
		for (i = 0; i < apd_esp_lines_count(L) && !wb->full; i++) {
			wb->bit = (uint64_t)1 << i;
			nalt = apd_esp_lines_terms(L, i, watch_token, wb);
			if (nalt == 0)
				wb->full = true;   /* one entry the watch cannot serve: none */
			wb->nterm += nalt;
		}
		if (!wb->full && wb->nterm <= APD_FTS_WATCH_MAX) {
			w.tokens = wb->tokp;
			w.ntokens = wb->ntok;
			w.terms = wb->term;
			w.nterms = wb->nterm;
		}
	}
	apd_esp_lines_free(L);
	rc = apd_fts_start(&st->fts, path, w.ntokens ? &w : NULL, err);
	free(wb);
	return rc;
}

int
apd_store_create(struct apd_store **out, const char *path, const struct apd_limits *lim,
    struct apd_error *err)
{
	struct apd_store *st;
	size_t n = strlen(path);
	int i;

	*out = NULL;
	/* SQLite's allocation statistics take a global mutex on every malloc, which
	   the indexing thread and this one would fight over; nothing reads them.
	   Only possible before SQLite initialises: later calls change nothing. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	st->lim = lim;
	apd_buf_init(&st->key, 1u << 20);
	st->t_start = apd_mono_ms();
	st->path = strdup(path);
	st->tmp_path = malloc(n + sizeof(".partial"));
	if (st->path == NULL || st->tmp_path == NULL) {
		apd_store_free(st);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	memcpy(st->tmp_path, path, n);
	memcpy(st->tmp_path + n, ".partial", sizeof(".partial"));
	st->fts_path = malloc(n + sizeof(".fts.partial"));
	if (st->fts_path == NULL) {
		apd_store_free(st);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	memcpy(st->fts_path, path, n);
	memcpy(st->fts_path + n, ".fts.partial", sizeof(".fts.partial"));
	st->files[0] = st->tmp_path;
	st->files[1] = st->fts_path;
	st->files[2] = NULL;
	if (unlink(st->tmp_path) != 0 && errno != ENOENT) {
		apd_set_errno(err, APD_FATAL, errno, "%s: cannot remove", st->tmp_path);
		apd_store_free(st);
		return APD_FATAL;
	}
	/* each connection is used by one thread only: no per-call mutex */
	if (sqlite3_open_v2(st->tmp_path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		apd_set_error(err, APD_FATAL, "%s: cannot create the index: %s", st->tmp_path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		apd_store_free(st);
		return APD_FATAL;
	}
	st->sink.vt = &store_sink_vt;
	st->sink.ud = st;
	/* a fresh file that is renamed into place only when complete: no journal needed */
	if (exec(st, "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
	    "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768; PRAGMA temp_store=FILE") ||
	    exec(st, apd_schema_sql) || exec(st, "PRAGMA user_version=" STR(APD_SCHEMA_VERSION)) || exec(st, "BEGIN")) {
		*err = st->err;
		apd_store_free(st);
		return APD_FATAL;
	}
	for (i = 0; i < S__N; i++) {
		int cols = i == S_EVENT ? EVENT_COLS : i == S_REGVAL ? REGVAL_COLS : 0;
		char *batch = cols ? batch_sql(stmt_sql[i], cols) : NULL;
		if ((cols && batch == NULL) || sqlite3_prepare_v3(st->db, batch ? batch :
		    stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) != SQLITE_OK) {
			free(batch);
			fail_db(st, stmt_sql[i]);
			*err = st->err;
			apd_store_free(st);
			return APD_FATAL;
		}
		free(batch);
	}
	st->ev.stmt = st->stmt[S_EVENT];
	st->rv.stmt = st->stmt[S_REGVAL];
	st->ev.arena = malloc(ARENA_BYTES);   /* NULL only costs speed (bind_copy) */
	st->rv.arena = malloc(ARENA_BYTES);
	st->next_event = 1;   /* the index is new: the first rowid SQLite gives is 1 */
	if (start_fts(st, path, err) != APD_OK) {
		apd_store_free(st);
		return APD_FATAL;
	}
	apd_store_set_meta(st, "apdiag_version", apd_version());
	apd_store_set_meta(st, "schema_version", STR(APD_SCHEMA_VERSION));
	*out = st;
	return APD_OK;
}

int
apd_store_set_meta(struct apd_store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = st->stmt[S_META];

	bind_str(s, 1, key);
	bind_str(s, 2, value);
	return step(st, S_META);
}

/*
 * The deployment model (apd_esp.c) reads the finished index, full-text
 * index included.  It is derived data: if it cannot be built the index is
 * still complete, so its tables stay empty and meta model.error says why.
 */
static int
derive_model(struct apd_store *st)
{
	struct apd_error e;

	apd_error_clear(&e);
	if (exec(st, "SAVEPOINT model"))
		return APD_FATAL;
	if (apd_esp_derive(st->db, &e) != APD_OK) {
		if (exec(st, "ROLLBACK TO model"))
			return APD_FATAL;
		apd_store_set_meta(st, "model.error", e.msg);
	}
	return exec(st, "RELEASE model");
}

/*
 * The watched rows carry the times of the load, and the derivation changed
 * some.  When it only converted what the load left local, do the same to
 * the watch's rows still local (no ts_utc but a ts_local: a time with a
 * bias or one converted at load has its ts_utc); otherwise copy each row's
 * time from its event.
 */
static int
watch_times(struct apd_store *st, struct apd_error *err)
{
	struct apd_tzinfo tz;
	int64_t src;

	if (!st->tzd.rewrote_all && apd_tz_read(st->db, &tz, &src))
		return apd_tz_convert(st->db, &tz, "fts.watch", "",
		    "ts_utc IS NULL AND ts_local IS NOT NULL", err);
	if (exec(st, "UPDATE fts.watch SET ts_utc = (SELECT e.ts_utc FROM main.event e "
	    "WHERE e.id = watch.id)")) {
		*err = st->err;
		return APD_FATAL;
	}
	return APD_OK;
}

int
apd_store_finish(struct apd_store *st, struct apd_error *err)
{
	double t = st->t_start;
	int i;

	if (flush_all(st) != APD_OK) {
		*err = st->err;
		return st->rc;
	}
	timing(st, "load", &t);
	cpu_meta(st, "load", apd_thread_cpu_ms());
	{
		char n[32];
		snprintf(n, sizeof(n), "%" PRIu64, st->tzd.converted);
		apd_store_set_meta(st, "load.tz_converted", n);
	}
	if (apd_derive_all(st->db, &st->tzd, &st->err) != APD_OK) {
		*err = st->err;
		return APD_FATAL;
	}
	timing(st, "derive", &t);
	if (exec(st, "COMMIT")) {
		*err = st->err;
		return APD_FATAL;
	}
	if (apd_fts_finish(st->fts, st->db, err) != APD_OK)
		return APD_FATAL;
	cpu_meta(st, "fts", apd_fts_cpu_ms(st->fts));
	if (apd_fts_watching(st->fts) && st->tzd.rewritten && watch_times(st, err) != APD_OK)
		return APD_FATAL;
	timing(st, "fts_wait_copy", &t);
	if (exec(st, "BEGIN") || derive_model(st) != APD_OK) {
		*err = st->err;
		return APD_FATAL;
	}
	timing(st, "model", &t);
	/* sorting for CREATE INDEX may use the second core now */
	if (exec(st, "PRAGMA threads=2;"
	    "CREATE INDEX fact_name ON fact(name);"
	    "CREATE INDEX source_path ON source(path);")) {
		*err = st->err;
		return APD_FATAL;
	}
	timing(st, "indexes", &t);
	if (exec(st, "COMMIT")) {
		*err = st->err;
		return APD_FATAL;
	}
	if (apd_fts_detach(st->db) != APD_OK)
		return apd_set_error(err, APD_FATAL, "%s: detach: %s", st->tmp_path,
		    sqlite3_errmsg(st->db));
	st->fts = apd_fts_free(st->fts);
	for (i = 0; i < S__N; i++) {
		sqlite3_finalize(st->stmt[i]);
		st->stmt[i] = NULL;
	}
	if (exec(st, "PRAGMA journal_mode=DELETE") || exec(st, "PRAGMA analysis_limit=1000; PRAGMA optimize")) {
		*err = st->err;
		return APD_FATAL;
	}
	if (st->hook) {
		int hrc;
		if (exec(st, "BEGIN")) {
			*err = st->err;
			return APD_FATAL;
		}
		hrc = st->hook(st->hook_ud, st->db, err);
		if (hrc != APD_OK) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return hrc;
		}
		if (exec(st, "COMMIT")) {
			*err = st->err;
			return APD_FATAL;
		}
	}
	if (sqlite3_close(st->db) != SQLITE_OK) {
		*err = st->err;
		return apd_set_error(err, APD_FATAL, "%s: cannot close the index", st->tmp_path);
	}
	st->db = NULL;
	if (rename(st->tmp_path, st->path) != 0)
		return apd_set_errno(err, APD_FATAL, errno, "cannot rename %s to %s", st->tmp_path,
		    st->path);
	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return apd_set_error(err, APD_FATAL, "%s: cannot reopen the index", st->path);
	return APD_OK;
}

struct apd_store *
apd_store_free(struct apd_store *st)
{
	int i;

	if (st == NULL)
		return NULL;
	st->fts = apd_fts_free(st->fts);
	for (i = 0; i < S__N; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db)
		sqlite3_close(st->db);
	free(st->path);
	free(st->tmp_path);
	free(st->fts_path);
	free(st->ev.arena);
	free(st->rv.arena);
	apd_buf_done(&st->key);
	free(st);
	return NULL;
}

void
apd_store_set_finish_hook(struct apd_store *st, apd_store_hook fn, void *ud)
{
	st->hook = fn;
	st->hook_ud = ud;
}

const char *const *
apd_store_files(const struct apd_store *st)
{
	return st->files;
}

sqlite3 *
apd_store_db(struct apd_store *st)
{
	return st->db;
}

const char *
apd_store_path(const struct apd_store *st)
{
	return st->path;
}
