/*
 * apd_rules_int.h - the compiled form of rules, shared by the loader
 * (apd_rules_load.c), the evaluator (apd_rules_eval.c) and the test runner
 * (apd_rules_test.c).  Not a public interface.
 */
#ifndef APD_RULES_INT_H
#define APD_RULES_INT_H

#include "apd_rules.h"
#include "apd_sink.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define RULES_REGEX_MATCH_LIMIT  1000000u   /* pcre2_set_match_limit */
#define RULES_REGEX_DEPTH_LIMIT  100000u    /* pcre2_set_depth_limit (interpreter) */
#define RULES_REGEX_HEAP_KIB     (64u * 1024) /* pcre2_set_heap_limit */
#define RULES_JIT_STACK_MAX      (1024u * 1024)
#define RULES_REGEX_MAX_HITS     10u        /* limit hits before a regex is skipped */
#define RULES_MAX_MATCHES        200000u    /* records kept per selector (the rest are counted) */
#define RULES_SQL_MAX_STEPS      100000000u /* progress-handler budget of one SQL statement */
#define RULES_MAX_FILE_BYTES     (16u * 1024 * 1024)
#define RULES_MAX_CAPTURE        4096u      /* bytes of one capture value kept */
#define RULES_CACHE_KIB          65536      /* page cache while evaluating */
#define RULES_MMAP_BYTES         0LL        /* no memory-mapped reads: mapped pages count as RSS */

/* ---- small helpers ---- */

struct arena;
void *arena_alloc(struct arena **a, size_t n);
char *arena_strndup(struct arena **a, const char *p, size_t n);
void arena_free(struct arena **a);

/* ---- predicates on one record ---- */

enum sel_kind { SEL_EVENT = 1, SEL_REG, SEL_FACT, SEL_GAP, SEL_SQL };

enum field_id {
	F_NONE = 0,
	F_MESSAGE, F_CHANNEL, F_PROVIDER, F_COMPONENT, F_THREAD, F_SOURCE_PATH, F_SOURCE_KIND,
	F_EVENT_ID, F_LEVEL, F_LINE, F_DATA,
	F_HIVE, F_KEY, F_NAME, F_VALUE, F_TYPE,
	F_ITEM, F_REASON, F_HRESULT
};

enum pred_op {
	P_ALL = 1, P_ANY, P_NOT,
	P_IN_TEXT,      /* field (exact, case-insensitive unless kinds) in list */
	P_IN_NUM,       /* numeric field in nums */
	P_GLOB,         /* field matches glob (case-insensitive) */
	P_CONTAINS,
	P_REGEX,
	P_HRESULT,
	P_CMP           /* <field>/<value> comparison */
};

enum cmp_op { CMP_EQ = 1, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_IN, CMP_EXISTS, CMP_MISSING };

struct regex_info {
	pcre2_code *code;
	char *pattern;
	uint32_t ncap;          /* named groups */
	char **cap_names;       /* their names */
	uint32_t *cap_nums;     /* their group numbers */
	unsigned long hits;     /* limit hits in this evaluation */
	bool disabled;          /* skipped after too many limit hits */
};

struct pred {
	enum pred_op op;
	enum field_id field;
	char *path;             /* F_DATA: the JSON path ("$.a.b") */
	int col;                /* F_DATA: column of the group's query (set per evaluation) */
	char *text;             /* literal, glob, compared value */
	size_t text_len;
	bool icase;
	bool coarse;            /* part of the coarse filter (top level, indexed-like) */
	int memo;               /* slot of its result in the group's per-row cache, -1 none */
	enum cmp_op cmp;
	char **list;            /* P_IN_TEXT values, CMP_IN values */
	size_t nlist;
	int64_t *nums;          /* P_IN_NUM values; P_HRESULT codes */
	size_t nnums;
	uint32_t *codes;        /* P_HRESULT */
	struct regex_info *re;  /* P_REGEX */
	struct pred **kids;
	size_t nkids;
	unsigned line;
};

/* ---- matched records ---- */

struct cap {
	const char *name;
	const char *value;
};

struct match {
	int kind;               /* enum apd_ev_kind */
	int64_t id;             /* row id */
	int64_t source_id;      /* 0 if none */
	int64_t pos;            /* position within its source (seq, line), 0 if none */
	int64_t line;           /* line in its source, 0 if none */
	int64_t ts;             /* APD_TS_NONE */
	bool ts_local;          /* ts is a local wall clock read as UTC */
	const char *fact;       /* APD_EV_FACT: the name */
	uint32_t ncap;
	struct cap *caps;
};

/* ---- selectors ---- */

struct selector {
	enum sel_kind kind;
	struct pred *root;      /* P_ALL of the selector's children */
	char *sql;              /* SEL_SQL */
	char *key;              /* canonical text, for sharing */
	char *file;
	unsigned line;
	const char *rule_id;    /* the first rule that uses it (for diagnostics) */
	bool needed;            /* used by a rule being evaluated */
	/* per evaluation */
	int group;
	struct match *m;
	size_t n, cap;
	unsigned long total;    /* matches including those not kept */
	unsigned long candidates;
	bool sorted;
	/* per evaluation: matches hashed by one capture's value, for <related> */
	const char *idx_name;   /* the capture indexed, NULL if none yet */
	int32_t *idx_head;      /* bucket -> first match, -1 */
	int32_t *idx_next;      /* match -> next match in its bucket, -1 */
	size_t idx_size;        /* buckets (a power of 2) */
};

/* ---- conditions ---- */

enum cond_op {
	C_ALL = 1, C_ANY, C_NOT,
	C_FOLLOWED, C_PRECEDED, C_RELATED,
	C_EXISTS, C_ABSENT, C_TIME_BETWEEN, C_SQL
};

struct cond {
	enum cond_op op;
	struct cond **kids;
	size_t nkids;
	int *sels;              /* selector indices */
	size_t nsels;
	int64_t within, beyond; /* µs, -1 none */
	char **same;            /* capture names that must be equal */
	size_t nsame;
	bool optional;
	unsigned long min;      /* C_EXISTS */
	int *to_sels;           /* C_TIME_BETWEEN: from = sels, to = to_sels */
	size_t nto;
	bool from_first, to_last;   /* which= (defaults: from last, to first) */
	bool has_from, has_to;
	int64_t tmin, tmax;     /* -1 none */
	char *sql;
	bool per_match;         /* depends on the trigger record */
	unsigned line;
	/* per evaluation */
	int cached;             /* global conditions: -1 unknown, 0, 1 */
};

struct test_rec {
	int kind;               /* 'e' event, 'r' registry, 'f' fact, 'g' gap, 's' file src, 'i' inline file */
	char *source_kind, *source_path;
	char *time, *local_time;
	int level;
	char *channel, *provider, *component, *thread;
	int64_t event_id;
	uint64_t line;
	char *message, *data;
	char *hive, *key, *name, *type, *value;
	bool has_name;
	char *item, *reason;
	int64_t hresult;        /* INT64_MIN none */
	char *file;             /* 's': resolved path; 'i': file name */
	char *content;          /* 'i' */
	size_t content_len;
	unsigned xml_line;
};

struct rule_test {
	bool expect_match;
	char *name;
	unsigned long findings;     /* 0: at least one */
	char *title_contains;
	unsigned line;
	struct test_rec *recs;
	size_t nrecs;
};

struct rule {
	char *id;
	int version;
	int sev;
	char *category;
	int confidence;
	bool enabled;
	char *title;
	char *explanation;
	char **kb;
	size_t nkb;
	char **steps;
	size_t nsteps;
	char **ref_urls, **ref_titles;
	size_t nrefs;
	int *trig;              /* trigger selectors */
	size_t ntrig;
	char *group_by;
	struct cond *when;      /* C_ALL, or NULL */
	unsigned long thr_count;    /* 0: none */
	int64_t thr_within;     /* -1 none */
	struct rule_test *tests;
	size_t ntests;
	char *file;
	unsigned line;
	bool replaced;          /* a later rule with the same id replaced it */
};

struct diag_list {
	struct apd_diag *d;
	size_t n, cap;
};

int diag_add(struct diag_list *l, int level, const char *rule_id, const char *fmt, ...)
	APD_PRINTF(4, 5);
void diag_free(struct diag_list *l);

struct apd_ruleset {
	struct rule **rules;
	size_t nrules, caprules;
	struct selector **sels;
	size_t nsels, capsels;
	struct diag_list diags;
	void *rng;              /* xmlRelaxNGPtr, parsed once */
	/* regex matching */
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	pcre2_match_data *md;
};

/* Compile one selector / condition tree (the loader); freeing. */
void rules_free_rule(struct rule *r);
void rules_free_selector(struct selector *s);

/* Glob with '*' and '?', ASCII case ignored, over the whole string. */
bool rules_glob(const char *pat, const char *s, size_t n);
/* ISO 8601 duration (PnYnMnWnDTnHnMnS) in microseconds; -1 if malformed. */
int64_t rules_duration(const char *s);

#endif /* APD_RULES_INT_H */
