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
#define MAX_QUEUED 16u           /* batches waiting: at most ~16 MiB in flight */

/* The definition must match lib/apd_schema.sql. */
static const char fts_ddl[] =
    "CREATE VIRTUAL TABLE event_fts USING fts5(message, content = 'event', content_rowid = 'id', "
    "columnsize = 0)";

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
	unsigned char data[];   /* records: int64 rowid, uint32 length, bytes */
};

struct apd_fts {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_room;
	struct batch *head, *tail;   /* queue */
	unsigned queued;
	struct batch *cur;           /* being filled by the producer */
	int closing;
	int rc;                      /* worker's result */
	char errmsg[512];
	sqlite3 *db;
	char *path;
	int started;
	double cpu_ms;               /* the worker's CPU time, once it has ended */
};

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

static void *
worker(void *arg)
{
	struct apd_fts *f = arg;
	sqlite3_stmt *ins = NULL;
	struct batch *b;
	unsigned since_commit = 0;

	if (sqlite3_prepare_v2(f->db, "INSERT INTO event_fts(rowid, message) VALUES (?1, ?2)", -1,
	    &ins, NULL) != SQLITE_OK)
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
			while (off < b->used) {
				int64_t id;
				uint32_t n;
				memcpy(&id, b->data + off, 8);
				memcpy(&n, b->data + off + 8, 4);
				sqlite3_bind_int64(ins, 1, id);
				sqlite3_bind_text(ins, 2, (const char *)b->data + off + 12, (int)n,
				    SQLITE_STATIC);
				if (sqlite3_step(ins) != SQLITE_DONE) {
					set_err(f, "insert");
					break;
				}
				sqlite3_reset(ins);
				off += 12 + n;
			}
			if (++since_commit >= 64 && f->rc == APD_OK) {
				since_commit = 0;
				run_sql(f, "COMMIT; BEGIN");
			}
		}
		free(b);
	}
	sqlite3_finalize(ins);
	if (f->rc == APD_OK)
		run_sql(f, "COMMIT");
	f->cpu_ms = apd_thread_cpu_ms();
	return NULL;
}

int
apd_fts_start(struct apd_fts **out, const char *index_path, struct apd_error *err)
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
	if (sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    run_sql(f, "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
	    "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768") != APD_OK ||
	    run_sql(f, fts_ddl) != APD_OK || run_sql(f, fts_merge) != APD_OK)
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

int
apd_fts_add(struct apd_fts *f, int64_t rowid, const char *text, size_t n)
{
	size_t need = 12 + n;
	uint32_t n32;

	if (f->rc != APD_OK)
		return f->rc;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	n32 = (uint32_t)n;
	if (f->cur && f->cur->used + need > f->cur->cap && hand_over(f) != APD_OK)
		return f->rc;
	if (f->cur == NULL) {
		size_t cap = need > BATCH_BYTES ? need : BATCH_BYTES;
		f->cur = malloc(sizeof(*f->cur) + cap);
		if (f->cur == NULL)
			return APD_FATAL;
		f->cur->used = 0;
		f->cur->cap = cap;
		f->cur->next = NULL;
	}
	memcpy(f->cur->data + f->cur->used, &rowid, 8);
	memcpy(f->cur->data + f->cur->used + 8, &n32, 4);
	memcpy(f->cur->data + f->cur->used + 12, text, n);
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

double
apd_fts_cpu_ms(const struct apd_fts *f)
{
	return f->cpu_ms;
}
