/*
 * report_md.c - the report as Markdown, to paste into a ticket
 * (docs/report.md): the verdict, the findings with their evidence and fix,
 * the deployment and its ESP phases, the blocking app, the app table and
 * the collection gaps.  No timeline: the ticket links to the index.
 *
 * Every text from the index goes through rw_md() (report_md_esc()), so a
 * log line cannot open a code span, end a table cell or inject HTML.
 *
 * Only report_write_md() is exported.
 */
#include "report_int.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

#define MD_EVIDENCE 5     /* trigger records per finding */

#define WHEN(u, l) "coalesce(strftime('%Y-%m-%d %H:%M:%SZ', " u " / 1e6, 'unixepoch'), " \
	"substr(" l ", 1, 19) || ' local', '')"

static void
md_list(struct rw *w, sqlite3 *db, const char *json, const char *head, bool refs)
{
	sqlite3_stmt *s;
	int n = 0;

	if ((s = report_list_rows(db, json, refs)) == NULL)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n++ == 0)
			rw_printf(w, "\n**%s**\n\n", head);
		if (refs) {
			rw_puts(w, "- ");
			rw_md(w, rcol(s, 0));
			rw_puts(w, ": ");
			rw_md(w, rcol(s, 1));
			rw_puts(w, "\n");
		} else {
			rw_printf(w, "%d. ", n);
			rw_md(w, rcol(s, 0));
			rw_puts(w, "\n");
		}
	}
	sqlite3_finalize(s);
}

static void
md_findings(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s = NULL, *e = NULL;
	struct apd_buf when, where, what;
	bool has;
	char *verdict = report_verdict(db, &has);
	int64_t total = report_query_int(db, "SELECT count(*) FROM finding", 0);
	int n = 0, shown, more;

	apd_buf_init(&when, 4096);
	apd_buf_init(&where, 64 * 1024);
	apd_buf_init(&what, 64 * 1024);
	rw_puts(w, "## Verdict\n\n**");
	rw_md(w, verdict);
	rw_puts(w, "**\n");
	if (sqlite3_prepare_v2(db, report_finding_sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, report_evidence_sql, -1, &e, NULL) != SQLITE_OK)
		goto done;
	rw_printf(w, "\n## Findings (%lld, most likely cause first)\n", (long long)total);
	if (total == 0)
		rw_puts(w, "\nNo rule matched.\n");
	while (w->rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
		int64_t cnt = sqlite3_column_int64(s, 14);

		n++;
		rw_printf(w, "\n### %d. [", n);
		rw_md(w, rcol(s, 4));
		rw_puts(w, "] ");
		rw_md(w, rcol(s, 7));
		rw_puts(w, "\n\nRule ");
		rw_md(w, rcol(s, 2));
		rw_printf(w, " v%d (", sqlite3_column_int(s, 3));
		rw_md(w, rcol(s, 5));
		rw_printf(w, "), confidence %d, %lld record%s", sqlite3_column_int(s, 6), (long long)cnt,
		    cnt == 1 ? "" : "s");
		if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
			rw_puts(w, ", ");
			rw_md(w, rcol(s, 12));
			if (strcmp(rcol(s, 12), rcol(s, 13)) != 0) {
				rw_puts(w, " to ");
				rw_md(w, rcol(s, 13));
			}
		}
		rw_puts(w, ".\n\n**Why:** ");
		rw_md(w, rcol(s, 8));
		rw_puts(w, "\n\n**Evidence**\n\n");
		sqlite3_bind_int64(e, 1, sqlite3_column_int64(s, 0));
		shown = more = 0;
		while (sqlite3_step(e) == SQLITE_ROW) {
			if (shown == MD_EVIDENCE) {
				more++;
				continue;
			}
			shown++;
			report_evidence_text(e, &when, &where, &what);
			rw_puts(w, "- ");
			if (strcmp(rcol(e, 0), "context") == 0)
				rw_puts(w, "(context) ");
			rw_md(w, when.p ? when.p : "");
			rw_puts(w, " ");
			rw_md(w, where.p ? where.p : "");
			rw_puts(w, ": ");
			rw_md(w, what.p ? what.p : "");
			rw_puts(w, "\n");
		}
		if (more)
			rw_printf(w, "- ... and %d more in the index (finding_evidence)\n", more);
		sqlite3_reset(e);
		md_list(w, db, rcol(s, 9)[0] ? rcol(s, 9) : "[]", "Fix", false);
		md_list(w, db, rcol(s, 10)[0] ? rcol(s, 10) : "[]", "See", true);
	}
done:
	sqlite3_finalize(s);
	sqlite3_finalize(e);
	apd_buf_done(&when);
	apd_buf_done(&where);
	apd_buf_done(&what);
	free(verdict);
}

static void
md_esp(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	char d[32];

	rw_puts(w, "\n## Deployment\n\n");
	if (sqlite3_prepare_v2(db, "SELECT scenario, coalesce(flow, ''), coalesce(profile_name, ''), "
	    "coalesce(tenant_domain, tenant_id, ''), esp_outcome, esp_duration_s, esp_timeout_min, "
	    "blocking_kind, coalesce(blocking_name, ''), coalesce(blocking_id, ''), "
	    "coalesce(blocking_phase, ''), coalesce(blocking_reason, ''), "
	    "coalesce(blocking_code_hex, '') FROM deployment", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		rw_puts(w, "- Scenario: ");
		rw_md(w, report_scenario_text(rcol(s, 0)));
		if (*rcol(s, 1)) {
			rw_puts(w, " (");
			rw_md(w, rcol(s, 1));
			rw_puts(w, " flow)");
		}
		rw_puts(w, "\n");
		if (*rcol(s, 2) || *rcol(s, 3)) {
			rw_puts(w, "- Profile: ");
			rw_md(w, *rcol(s, 2) ? rcol(s, 2) : "(no name)");
			if (*rcol(s, 3)) {
				rw_puts(w, " (");
				rw_md(w, rcol(s, 3));
				rw_puts(w, ")");
			}
			rw_puts(w, "\n");
		}
		rw_puts(w, "- ESP: ");
		rw_md(w, rcol(s, 4));
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			rw_printf(w, " after %s", report_duration(d, sizeof(d), sqlite3_column_double(s, 5)));
		if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			rw_printf(w, "; timeout %d min", sqlite3_column_int(s, 6));
		rw_puts(w, "\n");
		if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
			rw_puts(w, "- **Blocking:** ");
			rw_md(w, rcol(s, 7));
			rw_puts(w, " **");
			rw_md(w, *rcol(s, 8) ? rcol(s, 8) : rcol(s, 9));
			rw_puts(w, "**");
			if (*rcol(s, 8)) {
				rw_puts(w, " (");
				rw_md(w, rcol(s, 9));
				rw_puts(w, ")");
			}
			rw_puts(w, " in ");
			rw_md(w, rcol(s, 10));
			rw_puts(w, ": ");
			rw_md(w, rcol(s, 11));
			if (*rcol(s, 12)) {
				rw_puts(w, " (");
				rw_md(w, rcol(s, 12));
				rw_puts(w, ")");
			}
			rw_puts(w, "\n");
		}
	} else {
		rw_puts(w, "No deployment in the model.\n");
	}
	sqlite3_finalize(s);

	if (report_query_int(db, "SELECT count(*) FROM esp_phase", 0) > 0 &&
	    sqlite3_prepare_v2(db, "SELECT phase, coalesce(flow, ''), "
	    WHEN("start_utc", "start_local") ", " WHEN("end_utc", "end_local") ", duration_s, outcome, "
	    "apps FROM esp_phase ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		rw_puts(w, "\n### ESP phases\n\n| phase | flow | start | end | duration | outcome | "
		    "tracked apps |\n|---|---|---|---|---|---|---|\n");
		while (sqlite3_step(s) == SQLITE_ROW) {
			int i;
			rw_puts(w, "|");
			for (i = 0; i < 6; i++) {
				rw_puts(w, " ");
				if (i == 4)
					rw_puts(w, sqlite3_column_type(s, 4) == SQLITE_NULL ? "" :
					    report_duration(d, sizeof(d), sqlite3_column_double(s, 4)));
				else
					rw_md(w, rcol(s, i));
				rw_puts(w, " |");
			}
			rw_printf(w, " %d |\n", sqlite3_column_int(s, 6));
		}
		sqlite3_finalize(s);
	}
}

static void
md_apps(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	char d[32];
	int64_t n = report_query_int(db, "SELECT count(*) FROM app", 0);

	rw_printf(w, "\n## Apps (%lld)\n\n", (long long)n);
	if (n == 0) {
		rw_puts(w, "No apps in the model.\n");
		return;
	}
	rw_puts(w, "| name | id | type | intent | phase | tracked | download | install | exit code | "
	    "held ESP | outcome | failure |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	if (sqlite3_prepare_v2(db, "SELECT coalesce(name, ''), id, kind, coalesce(intent, ''), "
	    "coalesce(phase, ''), CASE esp_tracked WHEN 1 THEN 'yes' ELSE 'no' END, download_s, "
	    "install_s, exit_code, held_esp_s, outcome, "
	    "coalesce(failure, '') || coalesce(' (' || failure_code_hex || ')', '') FROM app "
	    "ORDER BY esp_tracked DESC, phase, coalesce(install_start_utc, download_start_utc), "
	    "install_start_local, id", -1, &s, NULL) == SQLITE_OK) {
		while (w->rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
			int i;
			rw_puts(w, "|");
			for (i = 0; i < 12; i++) {
				rw_puts(w, " ");
				if (i == 6 || i == 7 || i == 9) {
					if (sqlite3_column_type(s, i) != SQLITE_NULL)
						rw_puts(w, report_duration(d, sizeof(d),
						    sqlite3_column_double(s, i)));
				} else if (i == 8) {
					if (sqlite3_column_type(s, i) != SQLITE_NULL)
						rw_printf(w, "%lld", sqlite3_column_int64(s, i));
				} else {
					rw_md(w, rcol(s, i));
				}
				rw_puts(w, " |");
			}
			rw_puts(w, "\n");
		}
	}
	sqlite3_finalize(s);
}

static void
md_gaps(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	int64_t n = report_query_int(db, "SELECT count(*) FROM gap", 0);

	rw_printf(w, "\n## Collection gaps (%lld)\n\n", (long long)n);
	if (n == 0) {
		rw_puts(w, "The input records nothing the device failed to collect.\n");
		return;
	}
	rw_puts(w, "| item | HRESULT | reason |\n|---|---|---|\n");
	if (sqlite3_prepare_v2(db, "SELECT item, coalesce(hresult_hex, ''), coalesce(reason, '') "
	    "FROM gap ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			rw_puts(w, "| ");
			rw_md(w, rcol(s, 0));
			rw_puts(w, " | ");
			rw_md(w, rcol(s, 1));
			rw_puts(w, " | ");
			rw_md(w, rcol(s, 2));
			rw_puts(w, " |\n");
		}
	}
	sqlite3_finalize(s);
}

#define MD_LOG_LINES 20    /* error and warning lines listed */

/* The first error and warning lines of the logs, in time order. */
static void
md_errors(struct rw *w, sqlite3 *db)
{
	sqlite3_stmt *s;
	int64_t n = report_query_int(db, "SELECT count(*) FROM event WHERE level BETWEEN 1 AND 3", 0);

	rw_printf(w, "\n## Errors and warnings in the logs (%lld", (long long)n);
	if (n > MD_LOG_LINES)
		rw_printf(w, ", the first %d", MD_LOG_LINES);
	rw_puts(w, ")\n\n");
	if (n == 0) {
		rw_puts(w, "None.\n");
		return;
	}
	if (sqlite3_prepare_v2(db, "SELECT coalesce(t.time_utc, substr(t.ts_local, 1, 23) || ' local', "
	    "'no time'), t.level, t.source_path, e.line, substr(coalesce(t.message, ''), 1, 300), "
	    "length(t.message) > 300 FROM timeline t JOIN event e ON e.id = t.id "
	    "WHERE t.level BETWEEN 1 AND 3 ORDER BY t.ts_sort IS NULL, t.ts_sort, t.id LIMIT ?1", -1, &s,
	    NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(s, 1, MD_LOG_LINES);
	while (sqlite3_step(s) == SQLITE_ROW) {
		rw_puts(w, "- ");
		rw_md(w, rcol(s, 0));
		rw_printf(w, " %s ", report_level_name(sqlite3_column_int(s, 1)));
		rw_md(w, rcol(s, 2));
		if (sqlite3_column_type(s, 3) != SQLITE_NULL)
			rw_printf(w, ":%lld", sqlite3_column_int64(s, 3));
		rw_puts(w, ": ");
		rw_md(w, rcol(s, 4));
		rw_puts(w, sqlite3_column_int(s, 5) ? " [...]\n" : "\n");
	}
	sqlite3_finalize(s);
}

void
report_write_md(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input)
{
	char *dev = report_query_str(db, "SELECT value FROM fact WHERE name = 'device.name' "
	    "ORDER BY rowid LIMIT 1");
	int64_t events = report_query_int(db, "SELECT count(*) FROM event", 0);

	(void)o;
	rw_puts(w, "# apdiag report");
	if (dev) {
		rw_puts(w, ": ");
		rw_md(w, dev);
	}
	rw_puts(w, "\n\nInput: ");
	rw_md(w, input);
	rw_puts(w, " (apdiag ");
	rw_md(w, apd_version());
	rw_printf(w, ", %lld events indexed)\n\n", (long long)events);
	free(dev);
	md_findings(w, db);
	md_esp(w, db);
	md_apps(w, db);
	md_errors(w, db);
	md_gaps(w, db);
}
