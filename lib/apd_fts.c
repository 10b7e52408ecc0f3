/*
 * apd_fts.c - builds the FTS5 index on a second core while the walker
 * parses and inserts on the first.
 *
 * SQLite allows one writer per database, so the worker indexes into a
 * temporary database of its own ("<index>.fts.partial") holding an FTS5
 * table with exactly the definition of the index's event_fts.  Messages
 * reach it through a bounded queue of batches (backpressure keeps memory
 * flat).  At the end the worker's shadow tables (_data, _idx, _docsize,
 * _config) are copied into the index, whose event_fts is then identical to
 * one built by 'rebuild'; tests/check_store.c verifies that with FTS5's
 * integrity-check.
 *
 * The watch (apd_fts_start's struct apd_fts_watch): the worker's table
 * tokenizes through "apd_tap", a pass-through wrapper of FTS5's own
 * unicode61 that looks at the tokens of the rows the caller marked.  A
 * marked row holding every token of one of the watch's terms is also
 * written, with its columns, to the worker's table "watch", so that a
 * reader can walk those rows in order without looking them up in the
 * index's event table.
 * The tokens the index stores are unicode61's, unchanged: only the
 * tokenizer's name in the worker's own schema differs, and that schema is
 * not copied.
 */
#include "apd_fts.h"
#include "apd_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_BYTES (1u << 20)   /* a batch is handed over at about this size */
/* Batches waiting: at most ~64 MiB in flight.  The worker is bursty (FTS5
   merges segments now and then), and the queue absorbs the bursts: on the
   bench bundle (bench/analyze.sh) the loading thread waited ~0.3 s less with
   64 batches than with 16, the run ended ~0.15 s sooner, and the peak RSS
   rose from ~108 to ~116 MB. */
#define MAX_QUEUED 64u

/* The definition must match lib/apd_schema.sql (with a watch: the tokenizer is
   the pass-through apd_tap). */
static const char fts_ddl[] =
    "CREATE VIRTUAL TABLE event_fts USING fts5(message, content = 'event', content_rowid = 'id', "
    "columnsize = 0)";
static const char fts_ddl_tap[] =
    "CREATE VIRTUAL TABLE event_fts USING fts5(message, content = 'event', content_rowid = 'id', "
    "columnsize = 0, tokenize = 'apd_tap');"
    "CREATE TABLE watch(id INTEGER PRIMARY KEY, mask INTEGER NOT NULL, source_id INTEGER, "
    "thread TEXT, ts_utc INTEGER, ts_local TEXT, message TEXT)";

#define WATCH_SLOTS (2u * APD_FTS_WATCH_MAX)   /* open addressing; at most half full */
#define WATCHED_FLAG 0x80000000u   /* in a record's length: the row's columns follow */

/* Merge segments 16 at a time instead of FTS5's default 4: a bulk load then
 * rewrites each posting about half as often (on bench/analyze.sh's bundle the
 * worker's CPU falls by about a quarter), and a query still reads only a few
 * segments per level.  The setting lives in event_fts_config, which is
 * copied into the index with the rest. */
static const char fts_merge[] =
    "INSERT INTO event_fts(event_fts, rank) VALUES ('automerge', 16)";

struct batch {
	struct batch *next;
	size_t used, cap;
	unsigned char data[];   /* records: int64 rowid, uint32 length, bytes; with WATCHED_FLAG
	                           in the length, then int64 source_id, int64 ts_utc, uint32 and
	                           the thread's bytes, uint32 and ts_local's bytes */
};

/* A watched token: lowercase, as unicode61 hands it over. */
struct wslot {
	char tok[APD_FTS_TOKEN_MAX];
	size_t len;              /* 0: empty slot */
	unsigned index;          /* in struct apd_fts_watch's tokens */
};

/* apd_tap: unicode61 and the worker it reports to. */
struct tap {
	fts5_tokenizer inner_tk;
	Fts5Tokenizer *inner;
	struct apd_fts *f;
};

struct tap_call {
	void *ctx;
	int (*token)(void *, int, const char *, int, int, int);
	struct apd_fts *f;
};

struct apd_fts {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_room;
	struct batch *head, *tail;   /* queue */
	unsigned queued;
	struct batch *cur;           /* being filled by the producer */
	struct batch *spare;         /* indexed batches of BATCH_BYTES, for reuse (under mu) */
	unsigned nspare;
	int closing;
	int rc;                      /* worker's result */
	char errmsg[512];
	sqlite3 *db;
	char *path;
	int started;
	double cpu_ms;               /* the worker's CPU time, once it has ended */
	/* the watch (worker's side); nwatch 0: none */
	struct wslot slot[WATCH_SLOTS];
	unsigned nwatch;
	uint64_t lens[256];          /* by first byte: bit n set if a watched token of n bytes
	                                starts with it (one test rejects most tokens) */
	struct apd_fts_term term[APD_FTS_WATCH_MAX];
	size_t nterm;
	uint64_t present[2];         /* watched tokens in the row being indexed */
	bool tapping;                /* that row is marked: look at its tokens */
	fts5_api *api;
};

static uint32_t
tok_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

/* Note a token of the row being indexed if it is watched. */
static void
see(struct apd_fts *f, const char *p, size_t n)
{
	uint32_t i;

	if (n >= APD_FTS_TOKEN_MAX || !(f->lens[(unsigned char)p[0]] >> n & 1))
		return;
	for (i = tok_hash(p, n) % WATCH_SLOTS; f->slot[i].len; i = (i + 1) % WATCH_SLOTS)
		if (f->slot[i].len == n && memcmp(f->slot[i].tok, p, n) == 0) {
			f->present[f->slot[i].index >> 6] |= (uint64_t)1 << (f->slot[i].index & 63);
			return;
		}
}

/* The mask of the row just indexed: the bits of the terms it holds all tokens of. */
static uint64_t
row_mask(const struct apd_fts *f)
{
	uint64_t m = 0;
	size_t j;

	if ((f->present[0] | f->present[1]) == 0)
		return 0;
	for (j = 0; j < f->nterm; j++)
		if ((f->present[0] & f->term[j].need[0]) == f->term[j].need[0] &&
		    (f->present[1] & f->term[j].need[1]) == f->term[j].need[1])
			m |= f->term[j].bits;
	return m;
}

static int
tap_token(void *ctx, int tflags, const char *p, int n, int start, int end)
{
	struct tap_call *c = ctx;

	if (n > 0)
		see(c->f, p, (size_t)n);
	return c->token(c->ctx, tflags, p, n, start, end);
}

static int
tap_tokenize(Fts5Tokenizer *tk, void *ctx, int flags, const char *text, int n,
    int (*token)(void *, int, const char *, int, int, int))
{
	struct tap *t = (struct tap *)tk;
	struct tap_call c = { ctx, token, t->f };

	if (!(flags & FTS5_TOKENIZE_DOCUMENT) || !t->f->tapping)
		return t->inner_tk.xTokenize(t->inner, ctx, flags, text, n, token);
	return t->inner_tk.xTokenize(t->inner, &c, flags, text, n, tap_token);
}

static void
tap_delete(Fts5Tokenizer *tk)
{
	struct tap *t = (struct tap *)tk;

	t->inner_tk.xDelete(t->inner);
	free(t);
}

static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
	(void)sqlite3_step(s);
	sqlite3_finalize(s);
	return api;
}

static int
tap_create(void *ud, const char **argv, int argc, Fts5Tokenizer **out)
{
	struct apd_fts *f = ud;
	fts5_api *api = f->api;
	struct tap *t;
	void *inner_ud;
	int rc;

	*out = NULL;
	if (api == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return SQLITE_ERROR;
	if ((rc = api->xFindTokenizer(api, "unicode61", &inner_ud, &t->inner_tk)) != SQLITE_OK ||
	    (rc = t->inner_tk.xCreate(inner_ud, argv, argc, &t->inner)) != SQLITE_OK) {
		free(t);
		return rc;
	}
	t->f = f;
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

/* Fill the watch table; false if a token is too long, repeated, or there are too many. */
static bool
watch_init(struct apd_fts *f, const struct apd_fts_watch *w)
{
	size_t k;

	if (w->ntokens > APD_FTS_WATCH_MAX || w->nterms > APD_FTS_WATCH_MAX)
		return false;
	for (k = 0; k < w->ntokens; k++) {
		const char *tok = w->tokens[k];
		size_t n = strlen(tok);
		uint32_t i;
		if (n == 0 || n >= APD_FTS_TOKEN_MAX)
			return false;
		for (i = tok_hash(tok, n) % WATCH_SLOTS; f->slot[i].len; i = (i + 1) % WATCH_SLOTS)
			if (f->slot[i].len == n && memcmp(f->slot[i].tok, tok, n) == 0)
				return false;
		memcpy(f->slot[i].tok, tok, n);
		f->slot[i].len = n;
		f->slot[i].index = (unsigned)k;
		f->nwatch++;
		f->lens[(unsigned char)tok[0]] |= (uint64_t)1 << n;
	}
	memcpy(f->term, w->terms, w->nterms * sizeof(*w->terms));
	f->nterm = w->nterms;
	return true;
}

static void
set_err(struct apd_fts *f, const char *what)
{
	if (f->rc == APD_OK) {
		f->rc = APD_FATAL;
		snprintf(f->errmsg, sizeof(f->errmsg), "full-text index: %s: %s", what,
		    f->db ? sqlite3_errmsg(f->db) : "cannot open");
	}
}

static int
run_sql(struct apd_fts *f, const char *sql)
{
	if (sqlite3_exec(f->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(f, sql);
		return APD_FATAL;
	}
	return APD_OK;
}

/* Bytes of a packed string: UINT32_MAX marks it absent. */
static size_t
vlen(uint32_t n)
{
	return n == UINT32_MAX ? 0 : n;
}

/* Write a watched row: its columns as apd_fts_add packed them, and its message. */
static int
put_watched(struct apd_fts *f, sqlite3_stmt *s, int64_t id, const unsigned char *cols,
    const unsigned char *msg, uint32_t n)
{
	uint64_t mask = row_mask(f);
	int64_t src, ts;
	uint32_t tn, ln;

	if (mask == 0)
		return APD_OK;
	memcpy(&src, cols, 8);
	memcpy(&ts, cols + 8, 8);
	memcpy(&tn, cols + 16, 4);
	memcpy(&ln, cols + 20 + vlen(tn), 4);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)mask);
	sqlite3_bind_int64(s, 3, src);
	if (tn != UINT32_MAX)
		sqlite3_bind_text(s, 4, (const char *)cols + 20, (int)tn, SQLITE_STATIC);
	if (ts != INT64_MIN)
		sqlite3_bind_int64(s, 5, ts);
	if (ln != UINT32_MAX)
		sqlite3_bind_text(s, 6, (const char *)cols + 24 + vlen(tn), (int)ln, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, (const char *)msg, (int)n, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		set_err(f, "watch");
		sqlite3_reset(s);
		return APD_FATAL;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return APD_OK;
}

/*
 * Give an indexed batch back to the producer.  Freeing and allocating a
 * fresh MiB per batch made the producer fault every page in again (about
 * 0.1 s of the loading thread on bench/analyze.sh's bundle); the spares stay
 * mapped.  At most MAX_QUEUED + 1 are kept.
 */
static void
recycle(struct apd_fts *f, struct batch *b)
{
	if (b->cap == BATCH_BYTES) {
		pthread_mutex_lock(&f->mu);
		if (f->nspare <= MAX_QUEUED) {
			b->next = f->spare;
			f->spare = b;
			f->nspare++;
			b = NULL;
		}
		pthread_mutex_unlock(&f->mu);
	}
	free(b);
}

/* A spare batch, or NULL. */
static struct batch *
reuse(struct apd_fts *f)
{
	struct batch *b;

	pthread_mutex_lock(&f->mu);
	if ((b = f->spare) != NULL) {
		f->spare = b->next;
		f->nspare--;
		b->used = 0;
		b->next = NULL;
	}
	pthread_mutex_unlock(&f->mu);
	return b;
}

static void *
worker(void *arg)
{
	struct apd_fts *f = arg;
	sqlite3_stmt *ins = NULL, *wins = NULL;
	struct batch *b;
	unsigned since_commit = 0;

	if (sqlite3_prepare_v2(f->db, "INSERT INTO event_fts(rowid, message) VALUES (?1, ?2)", -1,
	    &ins, NULL) != SQLITE_OK || (f->nwatch && sqlite3_prepare_v2(f->db, "INSERT INTO "
	    "watch(id, mask, source_id, thread, ts_utc, ts_local, message) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7)", -1, &wins, NULL) != SQLITE_OK))
		set_err(f, "prepare");
	else
		(void)run_sql(f, "BEGIN");   /* a failure is in f->rc */
	for (;;) {
		pthread_mutex_lock(&f->mu);
		while (f->head == NULL && !f->closing)
			pthread_cond_wait(&f->cv_work, &f->mu);
		b = f->head;
		if (b) {
			f->head = b->next;
			if (f->head == NULL)
				f->tail = NULL;
			f->queued--;
			pthread_cond_signal(&f->cv_room);
		}
		pthread_mutex_unlock(&f->mu);
		if (b == NULL)
			break;   /* closing and drained */
		if (f->rc == APD_OK) {
			size_t off = 0;
			while (off < b->used && f->rc == APD_OK) {
				const unsigned char *cols = NULL;
				int64_t id;
				uint32_t n;
				memcpy(&id, b->data + off, 8);
				memcpy(&n, b->data + off + 8, 4);
				off += 12;
				if (n & WATCHED_FLAG) {   /* skip the columns to the message */
					uint32_t tn, ln;
					n &= ~WATCHED_FLAG;
					cols = b->data + off;
					memcpy(&tn, cols + 16, 4);
					memcpy(&ln, cols + 20 + vlen(tn), 4);
					off += 24 + vlen(tn) + vlen(ln);
				}
				f->present[0] = f->present[1] = 0;
				f->tapping = cols != NULL;
				sqlite3_bind_int64(ins, 1, id);
				sqlite3_bind_text(ins, 2, (const char *)b->data + off, (int)n, SQLITE_STATIC);
				if (sqlite3_step(ins) != SQLITE_DONE) {
					set_err(f, "insert");
					break;
				}
				sqlite3_reset(ins);
				if (cols && put_watched(f, wins, id, cols, b->data + off, n) != APD_OK)
					break;
				off += n;
			}
			if (++since_commit >= 64 && f->rc == APD_OK) {
				since_commit = 0;
				run_sql(f, "COMMIT; BEGIN");
			}
		}
		recycle(f, b);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(wins);
	if (f->rc == APD_OK)
		run_sql(f, "COMMIT");
	f->cpu_ms = apd_thread_cpu_ms();
	return NULL;
}

int
apd_fts_start(struct apd_fts **out, const char *index_path, const struct apd_fts_watch *w,
    struct apd_error *err)
{
	struct apd_fts *f = calloc(1, sizeof(*f));
	size_t n = strlen(index_path);

	*out = NULL;
	if (f == NULL || (f->path = malloc(n + sizeof(".fts.partial"))) == NULL) {
		free(f);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	memcpy(f->path, index_path, n);
	memcpy(f->path + n, ".fts.partial", sizeof(".fts.partial"));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv_work, NULL);
	pthread_cond_init(&f->cv_room, NULL);
	*out = f;
	if (unlink(f->path) != 0 && errno != ENOENT)
		return apd_set_errno(err, APD_FATAL, errno, "%s: cannot remove", f->path);
	if (w && w->ntokens && !watch_init(f, w))
		return apd_set_error(err, APD_FATAL, "full-text watch: a token is too long, or too many");
	if (sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    run_sql(f, "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
	    "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768") != APD_OK)
		return apd_set_error(err, APD_FATAL, "%s: %s", f->path, f->errmsg);
	if (f->nwatch) {
		static fts5_tokenizer tap_tk = { tap_create, tap_delete, tap_tokenize };
		fts5_api *api = f->api = fts5_api_of(f->db);
		if (api == NULL || api->xCreateTokenizer(api, "apd_tap", f, &tap_tk, NULL) != SQLITE_OK)
			return apd_set_error(err, APD_FATAL, "%s: cannot register the tokenizer", f->path);
	}
	if (run_sql(f, f->nwatch ? fts_ddl_tap : fts_ddl) != APD_OK || run_sql(f, fts_merge) != APD_OK)
		return apd_set_error(err, APD_FATAL, "%s: %s", f->path, f->errmsg);
	if (pthread_create(&f->th, NULL, worker, f) != 0)
		return apd_set_error(err, APD_FATAL, "cannot start the indexing thread");
	f->started = 1;
	return APD_OK;
}

static int
hand_over(struct apd_fts *f)
{
	struct batch *b = f->cur;

	f->cur = NULL;
	if (b == NULL || b->used == 0) {
		free(b);
		return APD_OK;
	}
	pthread_mutex_lock(&f->mu);
	while (f->queued >= MAX_QUEUED && f->rc == APD_OK)
		pthread_cond_wait(&f->cv_room, &f->mu);
	b->next = NULL;
	if (f->tail)
		f->tail->next = b;
	else
		f->head = b;
	f->tail = b;
	f->queued++;
	pthread_cond_signal(&f->cv_work);
	pthread_mutex_unlock(&f->mu);
	return f->rc;
}

/* Pack a string for a watched row: length (UINT32_MAX: absent), then its bytes. */
static unsigned char *
put_str(unsigned char *d, struct apd_sv v)
{
	uint32_t n = v.p ? (uint32_t)v.n : UINT32_MAX;

	memcpy(d, &n, 4);
	if (v.p && v.n)
		memcpy(d + 4, v.p, v.n);
	return d + 4 + (v.p ? v.n : 0);
}

int
apd_fts_add(struct apd_fts *f, int64_t rowid, const char *text, size_t n,
    const struct apd_fts_row *row)
{
	size_t need, extra = 0;
	uint32_t n32;

	if (f->rc != APD_OK)
		return f->rc;
	if (n > UINT32_MAX / 2)
		n = UINT32_MAX / 2;
	n32 = (uint32_t)n;
	if (row && f->nwatch && row->thread.n < UINT32_MAX / 2 && row->ts_local.n < UINT32_MAX / 2) {
		extra = 24 + (row->thread.p ? row->thread.n : 0) + (row->ts_local.p ? row->ts_local.n : 0);
		n32 |= WATCHED_FLAG;
	}
	need = 12 + extra + n;
	if (f->cur && f->cur->used + need > f->cur->cap && hand_over(f) != APD_OK)
		return f->rc;
	if (f->cur == NULL && need <= BATCH_BYTES)
		f->cur = reuse(f);
	if (f->cur == NULL) {
		size_t cap = need > BATCH_BYTES ? need : BATCH_BYTES;
		f->cur = malloc(sizeof(*f->cur) + cap);
		if (f->cur == NULL)
			return APD_FATAL;
		f->cur->used = 0;
		f->cur->cap = cap;
		f->cur->next = NULL;
	}
	{
		unsigned char *d = f->cur->data + f->cur->used;
		memcpy(d, &rowid, 8);
		memcpy(d + 8, &n32, 4);
		d += 12;
		if (extra) {
			memcpy(d, &row->source_id, 8);
			memcpy(d + 8, &row->ts_utc, 8);
			d = put_str(put_str(d + 16, row->thread), row->ts_local);
		}
		memcpy(d, text, n);
	}
	f->cur->used += need;
	return APD_OK;
}

/* Stop the worker and wait for it. */
static void
stop(struct apd_fts *f)
{
	if (!f->started)
		return;
	pthread_mutex_lock(&f->mu);
	f->closing = 1;
	pthread_cond_signal(&f->cv_work);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	f->started = 0;
}

int
apd_fts_finish(struct apd_fts *f, sqlite3 *main_db, struct apd_error *err)
{
	static const char *const shadow[] = { "data", "idx", "config" };
	char sql[512];
	char *msg = NULL;
	size_t i;

	(void)hand_over(f);   /* a failure is in f->rc */
	stop(f);
	if (f->rc != APD_OK)
		return apd_set_error(err, APD_FATAL, "%s", f->errmsg);
	sqlite3_close(f->db);
	f->db = NULL;
	{
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(main_db, "ATTACH ?1 AS fts", -1, &s, NULL) != SQLITE_OK)
			return apd_set_error(err, APD_FATAL, "attach: %s", sqlite3_errmsg(main_db));
		sqlite3_bind_text(s, 1, f->path, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_finalize(s);
			return apd_set_error(err, APD_FATAL, "attach: %s", sqlite3_errmsg(main_db));
		}
		sqlite3_finalize(s);
	}
	/* a scratch file: changes to its watch (apd_store.c) need no journal */
	if (sqlite3_exec(main_db, "PRAGMA fts.journal_mode=OFF; PRAGMA fts.synchronous=OFF", NULL,
	    NULL, &msg) != SQLITE_OK) {
		apd_set_error(err, APD_FATAL, "attach: %s", msg ? msg : sqlite3_errmsg(main_db));
		sqlite3_free(msg);
		return APD_FATAL;
	}
	for (i = 0; i < sizeof(shadow) / sizeof(shadow[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM main.event_fts_%s; "
		    "INSERT INTO main.event_fts_%s SELECT * FROM fts.event_fts_%s", shadow[i],
		    shadow[i], shadow[i]);
		if (sqlite3_exec(main_db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			apd_set_error(err, APD_FATAL, "copying the full-text index: %s",
			    msg ? msg : sqlite3_errmsg(main_db));
			sqlite3_free(msg);
			return APD_FATAL;
		}
	}
	return APD_OK;
}

int
apd_fts_detach(sqlite3 *main_db)
{
	return sqlite3_exec(main_db, "DETACH fts", NULL, NULL, NULL) == SQLITE_OK ? APD_OK :
	    APD_FATAL;
}

struct apd_fts *
apd_fts_free(struct apd_fts *f)
{
	struct batch *b;

	if (f == NULL)
		return NULL;
	stop(f);
	while ((b = f->head) != NULL) {
		f->head = b->next;
		free(b);
	}
	while ((b = f->spare) != NULL) {
		f->spare = b->next;
		free(b);
	}
	free(f->cur);
	if (f->db)
		sqlite3_close(f->db);
	if (f->path)
		unlink(f->path);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv_work);
	pthread_cond_destroy(&f->cv_room);
	free(f->path);
	free(f);
	return NULL;
}

bool
apd_fts_watching(const struct apd_fts *f)
{
	return f->nwatch > 0;
}

double
apd_fts_cpu_ms(const struct apd_fts *f)
{
	return f->cpu_ms;
}
