/*
 * report.h - the verdict and findings of `apdiag analyze` (report.c).
 */
#ifndef APD_REPORT_H
#define APD_REPORT_H

#include "apd_json.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct report_rules {
	unsigned evaluated;         /* rules evaluated */
	unsigned warnings;          /* diagnostics shown on stderr */
	bool disabled;              /* --no-default-rules without --rules */
	bool failed;                /* the evaluation failed (said on stderr) */
	double ms;
	const char *dirs[9];
	size_t ndirs;
	const char *const *diags;   /* every diagnostic, for --json */
	size_t ndiags;
};

void report_text(sqlite3 *db, const struct report_rules *rr);
/* A finding's fix steps (refs false: rows of step, NULL) or references (refs true: rows of
   title, url), which the index keeps as JSON arrays; NULL if it cannot be read.  The caller
   finalizes the statement. */
sqlite3_stmt *report_list_rows(sqlite3 *db, const char *json, bool refs);
/* deployment.scenario in words ("user-driven, Microsoft Entra join"); s itself if unknown */
const char *report_scenario_text(const char *s);
/* The device facts every report shows first, in this order: { fact name, label }. */
extern const char *const report_key_facts[][2];
extern const size_t report_nkey_facts;
/* 9m57s, 1h00m, 41s; "" for a negative value or NaN */
const char *report_duration(char *buf, size_t n, double secs);
/* "verdict", "findings" and "rules" members of the summary object. */
void report_json(struct apd_jw *w, sqlite3 *db, const struct report_rules *rr);

/* "sources", "facts", "gaps" and "esp" (the deployment model) members. */
void report_json_model(struct apd_jw *w, sqlite3 *db);

/* The finding rows in rank order, and one finding's evidence (?1 = finding id). */
extern const char *const report_finding_sql;
extern const char *const report_evidence_sql;
/* The timeline rows of the report (?1 rows at most, messages cut at ?2 bytes) in
   time order, events without a time last: the statement that reads them fastest in db. */
const char *report_timeline_sql(sqlite3 *db);

#endif /* APD_REPORT_H */
