/*
 * report.h - the verdict and findings of `apdiag analyze` (report.c).
 */
#ifndef APD_REPORT_H
#define APD_REPORT_H

#include "apd_json.h"

#include <sqlite3.h>
#include <stdbool.h>

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
/* "verdict", "findings" and "rules" members of the summary object. */
void report_json(struct apd_jw *w, sqlite3 *db, const struct report_rules *rr);

/* "sources", "facts", "gaps" and "esp" (the deployment model) members. */
void report_json_model(struct apd_jw *w, sqlite3 *db);

/* The finding rows in rank order, and one finding's evidence (?1 = finding id). */
extern const char *const report_finding_sql;
extern const char *const report_evidence_sql;

#endif /* APD_REPORT_H */
