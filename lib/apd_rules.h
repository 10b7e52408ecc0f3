/*
 * apd_rules.h - the rules engine: rule files (docs/rules.md) in, findings out.
 *
 * A ruleset is loaded once: every file is validated against the embedded
 * RELAX NG schema (rules/apdiag-rules.rng), compiled (regexes with PCRE2
 * JIT, identical selectors shared), and kept with its test cases.  It is
 * then evaluated over an index (docs/schema.md): each selector is narrowed
 * in SQL (FTS5 words, event ids, registry key prefixes) and confirmed in
 * C, selectors with the same narrowing share one query, and the findings
 * are ranked and, on request, written to the finding tables.
 *
 * Like the rest of libapd nothing here prints: problems with rule files
 * and with evaluation are diagnostics ("file:line: message") that the
 * front end shows.
 */
#ifndef APD_RULES_H
#define APD_RULES_H

#include "apd.h"
#include "apd_error.h"

#include <sqlite3.h>
#include <stdbool.h>

struct apd_ruleset;
struct apd_rules_result;

enum apd_sev { APD_SEV_INFO = 0, APD_SEV_WARNING = 1, APD_SEV_ERROR = 2, APD_SEV_CRITICAL = 3 };

const char *apd_sev_name(int sev);   /* "info", "warning", "error", "critical" */

/* A diagnostic about a rule file, a rule, or one evaluation. */
enum apd_diag_level { APD_DIAG_NOTE = 0, APD_DIAG_WARN = 1, APD_DIAG_ERROR = 2 };

struct apd_diag {
	int level;             /* enum apd_diag_level */
	const char *rule_id;   /* the rule concerned, or NULL */
	const char *msg;       /* "file:line: message" or "rule ID: message" */
};

/* What a loaded rule is (borrowed from the ruleset). */
struct apd_rule_info {
	const char *id;
	const char *title;          /* with its {placeholders} */
	const char *category;
	const char *file;           /* the file it came from */
	unsigned line;              /* of its <rule> element */
	int sev;                    /* enum apd_sev */
	int version;
	int confidence;
	bool enabled;
	unsigned npositive, nnegative;   /* test cases */
	size_t nsteps, nrefs;
	const char *const *steps;   /* remediation steps */
	const char *const *ref_urls;
	const char *const *ref_titles;
};

int apd_ruleset_new(struct apd_ruleset **out, struct apd_error *err);
struct apd_ruleset *apd_ruleset_free(struct apd_ruleset *rs);   /* NULL-safe, returns NULL */

/*
 * Load one rule file.  APD_OK; APD_FAILED when the file is rejected (not
 * well-formed, not valid, a regex that does not compile, a duplicate id
 * within the file...): err says "file:line: why" and no rule of the file
 * is kept; APD_FATAL when memory runs out.  A rule whose id is already
 * loaded replaces the earlier one, with a note.
 */
int apd_ruleset_load_file(struct apd_ruleset *rs, const char *path, struct apd_error *err);

/*
 * Load every *.xml file of a folder (not its subfolders), in name order.
 * A rejected file becomes an APD_DIAG_ERROR diagnostic and the others are
 * still loaded.  APD_OK; APD_WARN when some file was rejected; APD_FAILED
 * when the folder cannot be read (err says why); APD_FATAL.
 */
int apd_ruleset_load_dir(struct apd_ruleset *rs, const char *dir, struct apd_error *err);

size_t apd_ruleset_size(const struct apd_ruleset *rs);
void apd_ruleset_info(const struct apd_ruleset *rs, size_t i, struct apd_rule_info *out);
/* Index of the rule with this id, or -1. */
long apd_ruleset_find(const struct apd_ruleset *rs, const char *id);

/* Diagnostics from loading (notes about replaced rules, rejected files). */
size_t apd_ruleset_ndiags(const struct apd_ruleset *rs);
const struct apd_diag *apd_ruleset_diag(const struct apd_ruleset *rs, size_t i);

/*
 * Static checks for `apdiag rules lint`, added to the ruleset's
 * diagnostics: every rule has a positive and a negative test case (errors),
 * event selectors that would scan every event, placeholders and group-by
 * names that no selector captures, references that are not https
 * (warnings).  Returns the number of errors.
 */
size_t apd_ruleset_lint(struct apd_ruleset *rs);

/* ---- evaluation ---- */

struct apd_rules_opts {
	const char *only;       /* evaluate only the rule with this id (its tests); NULL: all enabled */
	bool write;             /* write the finding and finding_evidence tables */
};

enum apd_ev_kind { APD_EV_EVENT = 1, APD_EV_REG, APD_EV_FACT, APD_EV_GAP, APD_EV_ROW };

struct apd_evidence {
	int kind;               /* enum apd_ev_kind */
	int64_t id;             /* event.id, reg_value.id, gap.id, fact rowid; 0 for a plain SQL row */
	const char *fact;       /* APD_EV_FACT: the fact's name */
	int64_t ts;             /* its time (µs UTC, or local read as UTC), APD_TS_NONE */
	bool context;           /* lent by a condition, not a trigger record */
};

struct apd_finding {
	size_t rule;            /* index in the ruleset */
	const char *rule_id;
	int sev;
	int confidence;
	int rank;               /* 1 = the verdict */
	char *title;            /* placeholders filled */
	char *explanation;
	const char *group;      /* the group-by value, or NULL */
	int64_t first_ts, last_ts;   /* APD_TS_NONE when no record has a time */
	unsigned long count;    /* trigger records in the finding */
	struct apd_evidence *ev;
	size_t nev;             /* at most APD_RULES_MAX_EVIDENCE trigger records plus context */
};

#define APD_RULES_MAX_EVIDENCE 20

/* How far one rule got in one evaluation (for `rules lint` and `rules test`). */
struct apd_rule_stats {
	unsigned long candidates;   /* rows that passed a trigger selector's coarse filter */
	unsigned long matches;      /* trigger records */
	unsigned long kept;         /* trigger records that passed <when> */
	bool evaluated;
};

/*
 * Evaluate over db (an index of schema version >= 2, writable when
 * o->write).  APD_OK (diagnostics may hold warnings: a regex that hit its
 * match limit, an SQL condition that failed); APD_FATAL (out of memory, the
 * index is not usable: err says why).  *out is set on APD_OK.
 */
int apd_rules_eval(struct apd_ruleset *rs, sqlite3 *db, const struct apd_rules_opts *o,
    struct apd_rules_result **out, struct apd_error *err);

size_t apd_rules_nfindings(const struct apd_rules_result *r);
const struct apd_finding *apd_rules_finding(const struct apd_rules_result *r, size_t i); /* rank order */
const struct apd_rule_stats *apd_rules_stats(const struct apd_rules_result *r, size_t rule);
size_t apd_rules_ndiags(const struct apd_rules_result *r);
const struct apd_diag *apd_rules_diag(const struct apd_rules_result *r, size_t i);
double apd_rules_ms(const struct apd_rules_result *r);        /* evaluation time */
/* SQLite virtual-machine steps of the built-in selectors' candidate queries: a
   measure of the rows they read, independent of the machine's speed */
uint64_t apd_rules_vm_steps(const struct apd_rules_result *r);
struct apd_rules_result *apd_rules_result_free(struct apd_rules_result *r);

/* ---- test cases (apd_rules_test.c) ---- */

enum apd_test_status { APD_TEST_PASS = 0, APD_TEST_FAIL, APD_TEST_ERROR };

struct apd_rules_test_report {
	const char *rule_id;
	const char *file;
	unsigned line;              /* of the <test> element */
	const char *name;           /* the test's name, or "" */
	bool expect_match;
	int status;                 /* enum apd_test_status */
	bool vacuous;               /* a no-match case no record of which reached a trigger selector */
	unsigned long findings;
	const char *msg;            /* why it failed, "" if it passed */
};

typedef void (*apd_rules_test_fn)(void *ud, const struct apd_rules_test_report *t);

/*
 * Run the test cases of every rule (or of the rule named only): each builds
 * a small index under tmpdir with the real store and evaluates its rule.
 * Calls fn once per test.  APD_OK; APD_FATAL when tmpdir cannot be used.
 */
#define APD_RULES_TEST_NEGATIVE_ONLY 1u   /* run only the no-match cases (lint) */

int apd_rules_run_tests(struct apd_ruleset *rs, const char *only, unsigned flags,
    const char *tmpdir, apd_rules_test_fn fn, void *ud, struct apd_error *err);

#endif /* APD_RULES_H */
