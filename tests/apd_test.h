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
#include <stdbool.h>
#include <stdio.h>

struct apd_test_event {
	int64_t ts_utc;
	char *ts_local;
	int tz;
	int level;
	char *channel, *provider, *component, *thread, *message, *data;
	int64_t event_id;
	uint64_t offset, line;
	int64_t record_id, pid;           /* event logs; -1 when none */
	char *computer, *user_sid;
	bool recovered;
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
	int stop_after_facts;         /* >0: the same from the Nth fact */
	int stop_after_regvals;       /* >0: the same from the Nth registry value */
	size_t nrv_text_nul;          /* text values with a NUL byte inside (never wanted) */
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

/*
 * The parser a suite runs and the name it shows in-memory input under.  The
 * helpers below initialise o themselves and return the parser's code; to set
 * o.stop_after_* first, use apd_test_parse_file() / apd_test_parse_mem().
 */
struct apd_test_input {
	const struct apd_parser *parser;
	const char *name;   /* NULL: a file read into memory keeps its base name */
};

/* A file of the source tree (rel), read from disk. */
int apd_test_parse_src(const struct apd_test_input *in, const char *rel, struct apd_test_out *o,
    struct apd_error *err);
/* The same file read into memory first, with limits (NULL = defaults) and a block size. */
int apd_test_parse_src_mem(const struct apd_test_input *in, const char *rel,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err);
/*
 * Parse a file of the source tree from memory once per block size in
 * blocks[0..n): each run must return want and pass check(o).
 */
void apd_test_src_in_blocks(const struct apd_test_input *in, const char *rel, const size_t *blocks,
    size_t n, int want, void (*check)(const struct apd_test_out *o));
/* A buffer (shown under in->name, which must be set), with limits and a block size. */
int apd_test_parse_buf(const struct apd_test_input *in, const void *buf, size_t n,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err);
/* A NUL-terminated string, with the default limits, in one block. */
int apd_test_parse_str(const struct apd_test_input *in, const char *s, struct apd_test_out *o,
    struct apd_error *err);

/* The winning parser's name for a file in the source tree ("" if none). */
const char *apd_test_bid_file(const char *path, int *bid);

/* Lookups and checks on what a parser wrote. */
const char *apd_test_fact(const struct apd_test_out *o, const char *name);   /* last value or NULL */
/* The last value of a fact; fails the test ("fact NAME missing") when there is none. */
const char *apd_test_must_fact(const struct apd_test_out *o, const char *name);
/* The first event whose message contains s, or NULL. */
const struct apd_test_event *apd_test_event_with(const struct apd_test_out *o, const char *s);
/* The first gap for exactly this item, or NULL. */
const struct apd_test_kv *apd_test_gap(const struct apd_test_out *o, const char *item);
/* The text of the first warning that contains s, or NULL. */
const char *apd_test_warn_with(const struct apd_test_out *o, const char *s);
/* Is there a warning for this line whose text contains part? */
bool apd_test_warned_at(const struct apd_test_out *o, uint64_t line, const char *part);
/* A warning a test expects: its line and a part of its text. */
struct apd_test_want_warn {
	uint64_t line;
	const char *part;
};
/* Assert that each of want[0..n) was warned, and that nothing else was. */
void apd_test_ck_warnings(const struct apd_test_out *o, const struct apd_test_want_warn *want,
    size_t n);
/* Is needle in hay (false for a NULL hay)? */
bool apd_test_contains(const char *hay, const char *needle);
/*
 * Is needle anywhere the parser wrote text: a fact, an event's text fields,
 * a registry key, name or text, a gap, a warning, or the error message?
 */
bool apd_test_emitted_anywhere(const struct apd_test_out *o, const struct apd_error *err,
    const char *needle);

/* Registry values and keys (key is below the hive; both lookups are case-insensitive). */
const struct apd_test_regval *apd_test_find_regval(const struct apd_test_out *o, const char *key,
    const char *name);   /* a value (never a key row), or NULL */
/* The row of a key line (its name is absent), or NULL. */
const struct apd_test_regval *apd_test_find_regkey(const struct apd_test_out *o, const char *key);
/* How many key rows there are. */
size_t apd_test_count_regkeys(const struct apd_test_out *o);
/* A value that must be there ("value 'NAME' of 'KEY' not found" otherwise). */
const struct apd_test_regval *apd_test_must_regval(const struct apd_test_out *o, const char *key,
    const char *name);
/*
 * Assert a value's kind, registry type and data: text, a number, or raw
 * bytes (want may be NULL when n is 0).  A line of 0 is not checked.
 */
void apd_test_ck_regtext(const struct apd_test_out *o, const char *key, const char *name,
    int type, const char *want, uint64_t line);
void apd_test_ck_regint(const struct apd_test_out *o, const char *key, const char *name,
    int type, uint64_t want, uint64_t line);
void apd_test_ck_regblob(const struct apd_test_out *o, const char *key, const char *name,
    int type, const void *want, size_t n, uint64_t line);

/* Paths: a file in the source tree, and one in ../shared/corpus (NULL if absent). */
const char *apd_test_src(const char *rel);          /* static buffer, one at a time */
const char *apd_test_corpus(const char *rel);       /* static buffer, or NULL */
/* Whole file into memory (malloc'd, with a NUL after the end); NULL on failure. */
unsigned char *apd_test_slurp(const char *path, size_t *n);
/* The same for a file of the source tree; fails the test ("cannot read REL") if it cannot. */
unsigned char *apd_test_slurp_src(const char *rel, size_t *n);

/* Fill p with n deterministic junk bytes (a linear congruential generator from seed). */
void apd_test_junk(unsigned char *p, size_t n, uint32_t seed);

/*
 * A fresh directory under /tmp for each test, removed after it:
 * tcase_add_checked_fixture(tc, apd_test_tmpdir_setup, apd_test_tmpdir_teardown).
 */
void apd_test_tmpdir_setup(void);
void apd_test_tmpdir_teardown(void);
const char *apd_test_tmpdir(void);                  /* the current test's directory */
/* tmpdir/name; two static buffers used in turn, so two paths can be live at once. */
const char *apd_test_tpath(const char *name);
/* Create (or replace) path with n bytes of p. */
void apd_test_write_file(const char *path, const void *p, size_t n);
/* Create path as a sparse file of `size` bytes: one hole, no data written. */
void apd_test_write_sparse(const char *path, int64_t size);

/* Capture what is written to file descriptor 2 between begin and end. */
struct apd_test_stderr {
	FILE *tmp;   /* where stderr goes meanwhile */
	int saved;   /* the real stderr */
};
void apd_test_stderr_begin(struct apd_test_stderr *c);
/* Restore stderr; returns how many bytes were written to it meanwhile. */
long apd_test_stderr_end(struct apd_test_stderr *c);

/* Run a suite the standard way; returns the exit status for main(). */
int apd_test_run(Suite *s);

#endif /* APD_TEST_H */
