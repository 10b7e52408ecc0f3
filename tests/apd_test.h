/*
 * apd_test.h - shared helpers for the Check suites.
 *
 * struct apd_test_out is a sink that copies every record it receives, so a
 * suite can run one parser on a file or a buffer and assert on the result
 * without SQLite.  All strings are NUL-terminated copies (absent = NULL).
 */
#ifndef APD_TEST_H
#define APD_TEST_H

#include "apd.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_parser.h"
#include "apd_sink.h"

#include <check.h>

struct apd_test_event {
	int64_t ts_utc;
	char *ts_local;
	int tz;
	int level;
	char *channel, *provider, *component, *thread, *message, *data;
	int64_t event_id;
	uint64_t offset, line;
};

struct apd_test_regval {
	char *hive, *key, *name;
	int type;
	int kind;
	int64_t num;
	char *text;
	unsigned char *blob;
	size_t blob_len;
	uint64_t line;
};

struct apd_test_kv {
	char *name, *value;
	int64_t hresult;   /* gaps only */
	uint64_t line;     /* warnings only */
};

struct apd_test_out {
	struct apd_test_event *ev;
	size_t nev, cev;
	struct apd_test_regval *rv;
	size_t nrv, crv;
	struct apd_test_kv *facts;
	size_t nfacts, cfacts;
	struct apd_test_kv *gaps;     /* name = item, value = reason */
	size_t ngaps, cgaps;
	struct apd_test_kv *warns;    /* value = message */
	size_t nwarns, cwarns;
	struct apd_sink sink;
	int stop_after_events;        /* >0: return APD_FATAL from the Nth event (tests) */
};

void apd_test_out_init(struct apd_test_out *o);
void apd_test_out_free(struct apd_test_out *o);

/* Run one parser over a file / a buffer; returns the parser's code. */
int apd_test_parse_file(const struct apd_parser *p, const char *path, struct apd_test_out *o,
    struct apd_error *err);
int apd_test_parse_mem(const struct apd_parser *p, const void *buf, size_t n, const char *name,
    struct apd_test_out *o, struct apd_error *err);
/* Same with explicit limits (NULL = defaults) and a block size (0 = whole buffer). */
int apd_test_parse_mem_ex(const struct apd_parser *p, const void *buf, size_t n, const char *name,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err);

/* The winning parser's name for a file in the source tree ("" if none). */
const char *apd_test_bid_file(const char *path, int *bid);

/* Lookups. */
const char *apd_test_fact(const struct apd_test_out *o, const char *name);   /* last value or NULL */
const struct apd_test_regval *apd_test_find_regval(const struct apd_test_out *o, const char *key,
    const char *name);   /* case-insensitive, key is below the hive */

/* Paths: a file in the source tree, and one in ../shared/corpus (NULL if absent). */
const char *apd_test_src(const char *rel);          /* static buffer, one at a time */
const char *apd_test_corpus(const char *rel);       /* static buffer, or NULL */
/* Whole file into memory (malloc'd); NULL on failure. */
unsigned char *apd_test_slurp(const char *path, size_t *n);

/* Run a suite the standard way; returns the exit status for main(). */
int apd_test_run(Suite *s);

#endif /* APD_TEST_H */
