/*
 * analyze.c - `apdiag analyze INPUT`: index an input into SQLite and print
 * a summary (text, or JSON with --json).
 *
 * The options are one table: it drives parsing and --help.
 */
#include "fe.h"
#include "apd_json.h"
#include "apd_limits.h"
#include "apd_rules.h"
#include "apd_store.h"
#include "apd_walk.h"
#include "report.h"
#include "report_out.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULE_DIRS 8

struct analyze_opts {
	const char *input;
	const char *db;
	bool json;
	bool quiet;
	bool progress;
	bool no_default_rules;
	const char *rule_dirs[MAX_RULE_DIRS];   /* --rules, in order */
	unsigned nrule_dirs;
	int fail_on;                            /* enum apd_sev, or -1 */
	const char *report;                     /* --report FILE, "-" stdout */
	int report_format;                      /* enum report_format, or -1: from the name */
	unsigned max_events;                    /* timeline rows in the report */
	struct apd_limits lim;
};

enum opt_type { OPT_FLAG, OPT_STR, OPT_SIZE, OPT_UINT, OPT_SIZE_T, OPT_DIRS, OPT_SEV, OPT_FMT,
	OPT_EVENTS };

#define O(f) offsetof(struct analyze_opts, f)
static const struct fe_opt opts[] = {
	{ "--db", OPT_STR, O(db), "FILE", "write the index here (default: ./<input name>.apdiag.db)" },
	{ "--json", OPT_FLAG, O(json), NULL, "print the summary as JSON on stdout" },
	{ "--quiet", OPT_FLAG, O(quiet), NULL, "print nothing but errors" },
	{ "--no-progress", OPT_FLAG, O(progress), NULL, "no progress line on a terminal" },
	{ "--rules", OPT_DIRS, O(rule_dirs), "DIR", "also evaluate the rule files in DIR (repeatable)" },
	{ "--no-default-rules", OPT_FLAG, O(no_default_rules), NULL,
	  "do not evaluate the shipped rules" },
	{ "--fail-on", OPT_SEV, O(fail_on), "SEVERITY",
	  "exit 1 when a finding is at least critical|error|warning|info" },
	{ "--max-depth", OPT_UINT, O(lim.max_depth), "N", "open archives nested at most N deep (4)" },
	{ "--max-file-size", OPT_SIZE, O(lim.max_file_bytes), "SIZE",
	  "largest file or archive entry read (1G)" },
	{ "--max-total", OPT_SIZE, O(lim.max_total_bytes), "SIZE",
	  "most bytes read in one analysis, uncompressed (16G)" },
	{ "--max-entries", OPT_UINT, O(lim.max_entries), "N", "most entries read from one archive (100000)" },
	{ "--max-ratio", OPT_UINT, O(lim.max_ratio), "N",
	  "stop an archive expanding more than N:1 past 64M (200)" },
	{ "--max-line", OPT_SIZE_T, O(lim.max_line), "SIZE", "longest text line kept whole (1M)" },
	{ "--max-warnings", OPT_UINT, O(lim.max_warnings), "N", "warnings stored per source (100)" },
	{ "--report", OPT_STR, O(report), "FILE", "also write the report (docs/report.md) to FILE, - for stdout" },
	{ "--report-format", OPT_FMT, O(report_format), "FMT",
	  "html, md or json (default: from FILE's extension, else html)" },
	{ "--max-events", OPT_EVENTS, O(max_events), "N", "timeline rows in the report (200000)" },
};
#undef O
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void
analyze_help(FILE *f)
{

	fprintf(f, "usage: apdiag analyze INPUT [OPTIONS]\n\n"
	    "Index INPUT into one SQLite database and print a summary.  INPUT is an\n"
	    "apdiag bundle, a MdmDiagnosticsTool .cab, an Intune \"Collect diagnostics\"\n"
	    ".zip, a .tar(.gz|.xz|.zst), a folder, or a single file; archives nested\n"
	    "inside are opened too.\n\nOptions:\n");
	fe_opt_help(f, opts, NOPTS, 22);
	fprintf(f, "  %-22s %s\n", "-h, --help", "show this help");
	fprintf(f, "\nSIZE takes k, M, G suffixes (powers of 1024).\n"
	    "Shipped rules: %s\n"
	    "Exit status: 0 ok (findings or not), 1 a finding at or above --fail-on, 2 usage,\n"
	    "3 input unreadable, 4 some sources failed or were cut (the index is still\n"
	    "written), 5 internal error (or the report could not be written).  See apdiag(1).\n", fe_rules_dir() ? fe_rules_dir() : "none found");
}

static int
parse_args(int argc, char **argv, struct analyze_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->progress = true;
	o->fail_on = -1;
	o->report_format = -1;
	o->max_events = REPORT_MAX_EVENTS;
	apd_limits_default(&o->lim);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct fe_opt *op;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			analyze_help(stdout);
			return -1;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (o->input) {
				fe_err("analyze: more than one INPUT ('%s' and '%s')", o->input, a);
				return APD_EXIT_USAGE;
			}
			o->input = a;
			continue;
		}
		if ((op = fe_opt_next(opts, NOPTS, "analyze", argc, argv, &i, &val)) == NULL)
			return APD_EXIT_USAGE;
		switch (op->type) {
		case OPT_FLAG:
			/* --no-progress clears, the others set */
			*(bool *)((char *)o + op->off) = strcmp(op->name, "--no-progress") != 0;
			break;
		case OPT_STR:
			*(const char **)((char *)o + op->off) = val;
			break;
		case OPT_DIRS:
			if (o->nrule_dirs == MAX_RULE_DIRS) {
				fe_err("analyze: at most %d --rules folders", MAX_RULE_DIRS);
				return APD_EXIT_USAGE;
			}
			o->rule_dirs[o->nrule_dirs++] = val;
			break;
		case OPT_SEV: {
			static const char *const sev[] = { "info", "warning", "error", "critical" };
			int v;
			for (v = 0; v < 4 && strcmp(val, sev[v]) != 0; v++)
				;
			if (v == 4) {
				fe_err("analyze: --fail-on: '%s' is not critical, error, warning or info", val);
				return APD_EXIT_USAGE;
			}
			o->fail_on = v;
			break;
		}
		case OPT_FMT: {
			enum report_format f;
			if (!report_format_parse(val, &f)) {
				fe_err("analyze: %s: '%s' is not html, md or json", op->name, val);
				return APD_EXIT_USAGE;
			}
			o->report_format = (int)f;
			break;
		}
		case OPT_EVENTS:
			if (!fe_parse_uint(val, &o->max_events) || o->max_events == 0) {
				fe_err("analyze: %s: '%s' is not a number above 0", op->name, val);
				return APD_EXIT_USAGE;
			}
			break;
		case OPT_SIZE: {
			uint64_t v;
			if (!fe_parse_size(val, &v) || v == 0) {
				fe_err("analyze: %s: '%s' is not a size", op->name, val);
				return APD_EXIT_USAGE;
			}
			*(uint64_t *)((char *)o + op->off) = v;
			break;
		}
		case OPT_SIZE_T: {
			uint64_t v;
			if (!fe_parse_size(val, &v) || v == 0 || v > SIZE_MAX / 4) {
				fe_err("analyze: %s: '%s' is not a size", op->name, val);
				return APD_EXIT_USAGE;
			}
			*(size_t *)((char *)o + op->off) = (size_t)v;
			break;
		}
		case OPT_UINT:
		default: {
			unsigned v;
			if (!fe_parse_uint(val, &v)) {
				fe_err("analyze: %s: '%s' is not a number", op->name, val);
				return APD_EXIT_USAGE;
			}
			*(unsigned *)((char *)o + op->off) = v;
			break;
		}
		}
	}
	if (o->input == NULL) {
		fe_err("analyze: no INPUT given (try: apdiag analyze --help)");
		return APD_EXIT_USAGE;
	}
	if (o->report && o->report_format < 0)
		o->report_format = (int)report_format_guess(o->report);
	if (o->report && strcmp(o->report, "-") == 0 && o->json) {
		fe_err("analyze: --report - and --json both write to standard output");
		return APD_EXIT_USAGE;
	}
	if (o->lim.max_depth > 16) {
		fe_err("analyze: --max-depth is at most 16");
		return APD_EXIT_USAGE;
	}
	return 0;
}

/* ./<input base name>.apdiag.db */
static char *
default_db(const char *input)
{
	char name[512];
	size_t n = strlen(input);
	const char *b;
	char *out;

	while (n > 1 && input[n - 1] == '/')
		n--;
	b = input + n;
	while (b > input && b[-1] != '/')
		b--;
	snprintf(name, sizeof(name), "%.*s", (int)(input + n - b), b);
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strcmp(name, "/") == 0)
		snprintf(name, sizeof(name), "input");
	out = malloc(strlen(name) + sizeof(".apdiag.db"));
	if (out)
		sprintf(out, "%s.apdiag.db", name);
	return out;
}

static void
on_progress(void *ud, uint64_t bytes, const char *path)
{
	(void)ud;
	fprintf(stderr, "\r\033[K%8.1f MB  ", (double)bytes / 1e6);
	fe_safe_n(stderr, path, strlen(path) > 60 ? 60 : strlen(path));
	fflush(stderr);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- summaries ---- */

static const char *
col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? v : "";
}

/* The facts a technician reads first, in this order; the rest is in the index. */
static void
print_key_facts(sqlite3 *db)
{
	sqlite3_stmt *s;
	size_t i;
	int first = 1;

	if (sqlite3_prepare_v2(db, "SELECT value FROM fact WHERE name = ?1 ORDER BY rowid LIMIT 1",
	    -1, &s, NULL) != SQLITE_OK)
		return;
	for (i = 0; i < report_nkey_facts; i++) {
		sqlite3_bind_text(s, 1, report_key_facts[i][0], -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			if (first)
				printf("\nDevice:\n");
			first = 0;
			printf("  %-26s ", report_key_facts[i][1]);
			fe_safe(stdout, col(s, 0));
			putchar('\n');
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT count(DISTINCT name) FROM fact", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		printf("  (%lld facts in all: SELECT * FROM fact)\n", sqlite3_column_int64(s, 0));
	sqlite3_finalize(s);
}

/* ---- the deployment model (docs/esp.md) ---- */

/* "timed-out" -> "timed out" */
static const char *
words(char *buf, size_t n, const char *s)
{
	size_t i;

	snprintf(buf, n, "%s", s);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '-')
			buf[i] = ' ';
	return buf;
}

static void
print_esp(sqlite3 *db)
{
	sqlite3_stmt *s;
	char buf[64], label[64];

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'model.error'", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		printf("\nDeployment model: not built (");
		fe_safe(stdout, col(s, 0));
		printf(")\n");
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT scenario, coalesce(flow, ''), coalesce(profile_name, ''), "
	    "coalesce(tenant_domain, tenant_id, ''), esp_outcome, esp_duration_s, esp_timeout_min, "
	    "esp_device_page, esp_user_page, blocking_kind, coalesce(blocking_name, ''), "
	    "coalesce(blocking_id, ''), blocking_phase, coalesce(blocking_reason, ''), "
	    "coalesce(blocking_code_hex, '') FROM deployment", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return;
	}
	printf("\nDeployment: %s", report_scenario_text(col(s, 0)));
	if (*col(s, 1)) {
		printf(" (");
		fe_safe(stdout, col(s, 1));
		printf(" flow)");
	}
	if (*col(s, 2)) {
		printf(", profile \"");
		fe_safe(stdout, col(s, 2));
		printf("\"");
	}
	if (*col(s, 3)) {
		printf(" (");
		fe_safe(stdout, col(s, 3));
		printf(")");
	}
	putchar('\n');
	{
		sqlite3_stmt *e;
		if (sqlite3_prepare_v2(db, "SELECT j.value FROM deployment, json_each(deployment.evidence) j "
		    "ORDER BY j.key", -1, &e, NULL) == SQLITE_OK) {
			while (sqlite3_step(e) == SQLITE_ROW) {
				printf("  evidence: ");
				fe_safe(stdout, col(e, 0));
				putchar('\n');
			}
		}
		sqlite3_finalize(e);
	}
	printf("ESP: %s", words(buf, sizeof(buf), col(s, 4)));
	if (sqlite3_column_type(s, 5) != SQLITE_NULL)
		printf(" after %s", report_duration(buf, sizeof(buf), sqlite3_column_double(s, 5)));
	if (sqlite3_column_type(s, 6) != SQLITE_NULL)
		printf("; timeout %d min", sqlite3_column_int(s, 6));
	if (sqlite3_column_type(s, 7) != SQLITE_NULL)
		printf("; device page %s, user page %s", sqlite3_column_int(s, 7) ? "on" : "off",
		    sqlite3_column_type(s, 8) == SQLITE_NULL ? "?" : sqlite3_column_int(s, 8) ? "on" :
		    "off");
	putchar('\n');
	if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
		printf("  Blocking: %s ", col(s, 9));
		if (*col(s, 10)) {
			printf("\"");
			fe_safe(stdout, col(s, 10));
			printf("\" (");
			fe_safe(stdout, col(s, 11));
			printf(")");
		} else {
			fe_safe(stdout, col(s, 11));
		}
		printf(" in %s: ", col(s, 12));
		fe_safe(stdout, col(s, 13));
		if (*col(s, 14))
			printf(" (%s)", col(s, 14));
		putchar('\n');
	}
	sqlite3_finalize(s);

	if (sqlite3_prepare_v2(db, "SELECT phase, coalesce(flow, ''), "
	    "CASE WHEN start_utc IS NOT NULL THEN strftime('%Y-%m-%d %H:%M:%SZ', start_utc / 1e6, "
	    "'unixepoch') WHEN start_local IS NOT NULL THEN substr(start_local, 1, 19) || ' local' "
	    "ELSE '-' END, duration_s, outcome, apps FROM esp_phase ORDER BY id", -1, &s, NULL) ==
	    SQLITE_OK) {
		int first = 1;
		while (sqlite3_step(s) == SQLITE_ROW) {
			if (first)
				printf("  %-30s %-25s %-9s %-12s %s\n", "phase", "start", "duration", "outcome",
				    "apps");
			first = 0;
			snprintf(label, sizeof(label), "%s%s%s%s", col(s, 0), *col(s, 1) ? " (" : "", col(s, 1),
			    *col(s, 1) ? ")" : "");
			printf("  %-30s %-25s %-9s %-12s %d\n", label, col(s, 2),
			    sqlite3_column_type(s, 3) == SQLITE_NULL ? "-" :
			    report_duration(buf, sizeof(buf), sqlite3_column_double(s, 3)), col(s, 4),
			    sqlite3_column_int(s, 5));
		}
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM app), (SELECT sum(esp_tracked) FROM app), "
	    "group_concat(n || ' ' || outcome, ', ') FROM (SELECT outcome, count(*) AS n "
	    "FROM app GROUP BY outcome ORDER BY n DESC, outcome)",
	    -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_int(s, 0) > 0) {
		printf("  Apps: %lld (%lld tracked by the ESP): %s   (SELECT * FROM app)\n",
		    sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), col(s, 2));
	}
	sqlite3_finalize(s);
}

static void
print_text(sqlite3 *db, const struct analyze_opts *o, const char *dbpath, double secs,
    const struct apd_walk_stats *st, const struct report_rules *rr)
{
	sqlite3_stmt *s;

	printf("apdiag %s: ", apd_version());
	fe_safe(stdout, o->input);
	printf(": %lu sources, %.1f MB in %.2f s\n", st->sources, (double)st->bytes / 1e6, secs);
	printf("index: ");
	fe_safe(stdout, dbpath);
	printf("   (sqlite3 ");
	fe_safe(stdout, dbpath);
	printf(" 'SELECT * FROM timeline ORDER BY ts_sort')\n");

	report_text(db, rr);
	print_esp(db);

	printf("\nSources by kind:\n  %-18s %6s %10s  %s\n", "kind", "files", "records", "status");
	if (sqlite3_prepare_v2(db, "SELECT kind, sum(n), sum(records), "
	    "group_concat(status || ' ' || n, ', ') FROM (SELECT kind, status, count(*) AS n, "
	    "sum(records) AS records FROM source GROUP BY kind, status) "
	    "GROUP BY kind ORDER BY sum(records) DESC, kind", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			printf("  %-18s %6lld %10lld  ", col(s, 0), sqlite3_column_int64(s, 1),
			    sqlite3_column_int64(s, 2));
			fe_safe(stdout, col(s, 3));
			putchar('\n');
		}
	}
	sqlite3_finalize(s);

	print_key_facts(db);
	/* counted through event_source and the partial index event_ts: count(ts_utc) would
	   read every row of the table (0.2 s for 1.8 million events) */
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM event), "
	    "(SELECT count(*) FROM event WHERE ts_utc IS NOT NULL), "
	    "(SELECT value FROM fact WHERE name = 'time.zone_source' LIMIT 1)", -1, &s,
	    NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		printf("\nTimeline: %lld events, %lld with a UTC time; device time zone from: %s\n",
		    sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), col(s, 2));
	}
	sqlite3_finalize(s);

	if (sqlite3_prepare_v2(db, "SELECT coalesce(hresult_hex, ''), item, "
	    "(SELECT path FROM source WHERE id = gap.source_id) FROM gap ORDER BY id", -1, &s,
	    NULL) == SQLITE_OK) {
		int first = 1;
		while (sqlite3_step(s) == SQLITE_ROW) {
			if (first)
				printf("\nCollection gaps (the device could not collect these):\n");
			first = 0;
			printf("  %-10s ", col(s, 0));
			fe_safe(stdout, col(s, 1));
			putchar('\n');
		}
	}
	sqlite3_finalize(s);

	if (sqlite3_prepare_v2(db, "SELECT status, path, coalesce(error, ''), warnings FROM source "
	    "WHERE status IN ('failed', 'partial') ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		int first = 1;
		while (sqlite3_step(s) == SQLITE_ROW) {
			if (first)
				printf("\nSources with problems (still indexed as far as readable):\n");
			first = 0;
			printf("  %-8s ", col(s, 0));
			fe_safe(stdout, col(s, 1));
			if (sqlite3_column_int64(s, 3))
				printf(" (%lld warnings)", sqlite3_column_int64(s, 3));
			printf("\n           ");
			fe_safe(stdout, col(s, 2));
			putchar('\n');
		}
	}
	sqlite3_finalize(s);
}

static int
print_json(sqlite3 *db, const struct analyze_opts *o, const char *dbpath, double secs,
    const struct apd_walk_stats *st, const struct report_rules *rr)
{
	struct apd_buf b;
	struct apd_jw w;
	int rc;

	apd_buf_init(&b, (size_t)1 << 30);
	apd_jw_begin(&w, &b);
	apd_jw_str(&w, "apdiag", apd_sv_cstr(apd_version()));
	apd_jw_str(&w, "input", apd_sv_cstr(o->input));
	apd_jw_str(&w, "index", apd_sv_cstr(dbpath));
	apd_jw_int(&w, "bytes", (int64_t)st->bytes);
	apd_jw_int(&w, "milliseconds", (int64_t)(secs * 1000));
	report_json_model(&w, db);
	report_json(&w, db, rr);
	rc = apd_jw_end(&w);
	if (rc == APD_OK) {
		fwrite(b.p, 1, b.n, stdout);
		putchar('\n');
	}
	apd_buf_done(&b);
	return rc;
}

/* ---- rules ---- */

struct rules_run {
	struct apd_ruleset *rs;
	struct apd_rules_result *res;
	struct report_rules rr;
	const char **diags;         /* every diagnostic message, for --json */
	size_t ndiags;
	bool quiet;
};

static void
keep_diag(struct rules_run *r, const struct apd_diag *d)
{
	const char **nd = realloc(r->diags, (r->ndiags + 1) * sizeof(*nd));

	if (nd == NULL)
		return;
	r->diags = nd;
	r->diags[r->ndiags++] = d->msg;
	if (d->level == APD_DIAG_ERROR || (!r->quiet && d->level == APD_DIAG_WARN)) {
		fe_print_diag(d);
		r->rr.warnings++;
	}
}

/* Load the shipped rules and the --rules folders; APD_EXIT_* on a usage error. */
static int
load_rules(struct rules_run *r, const struct analyze_opts *o)
{
	struct apd_error err;
	const char *dir;
	unsigned i;
	size_t k;
	int rc;

	memset(r, 0, sizeof(*r));
	r->quiet = o->quiet || o->json;
	apd_error_clear(&err);
	if (apd_ruleset_new(&r->rs, &err) != APD_OK) {
		fe_err("%s", err.msg);
		return APD_EXIT_INTERNAL;
	}
	if (!o->no_default_rules) {
		dir = fe_rules_dir();
		if (dir == NULL) {
			if (!r->quiet)
				fe_err("analyze: no shipped rules found (set APDIAG_RULES_DIR or use --rules)");
		} else {
			rc = apd_ruleset_load_dir(r->rs, dir, &err);
			if (rc == APD_FATAL) {
				fe_err("%s", err.msg);
				return APD_EXIT_INTERNAL;
			}
			if (rc == APD_FAILED)
				fe_err("analyze: shipped rules: %s", err.msg);
			else
				r->rr.dirs[r->rr.ndirs++] = dir;
		}
	} else if (o->nrule_dirs == 0) {
		r->rr.disabled = true;
	}
	for (i = 0; i < o->nrule_dirs; i++) {
		rc = apd_ruleset_load_dir(r->rs, o->rule_dirs[i], &err);
		if (rc == APD_FATAL) {
			fe_err("%s", err.msg);
			return APD_EXIT_INTERNAL;
		}
		if (rc == APD_FAILED) {
			fe_err("analyze: --rules: %s", err.msg);
			return APD_EXIT_USAGE;
		}
		r->rr.dirs[r->rr.ndirs++] = o->rule_dirs[i];
	}
	for (k = 0; k < apd_ruleset_ndiags(r->rs); k++)
		keep_diag(r, apd_ruleset_diag(r->rs, k));
	for (k = 0; k < apd_ruleset_size(r->rs); k++) {
		struct apd_rule_info ri;
		apd_ruleset_info(r->rs, k, &ri);
		if (ri.enabled)
			r->rr.evaluated++;
	}
	return 0;
}

/*
 * An archive may list the registry after the logs: walk it once quickly for
 * the device's time zone (registry sources only, nothing written), so that
 * the logs' local times are converted as they are stored (apd_store.h).  A
 * folder needs no such pass: its *.reg files are read first.  What the
 * quick pass cannot read the real walk reports.
 */
static void
zone_ahead(struct apd_store *store, const struct apd_limits *lim, const char *input)
{
	struct apd_walk zw;
	struct stat sb;
	const char *const *own = apd_store_files(store);
	size_t k;
	char ms[32];
	struct timespec t0, t1;

	if (stat(input, &sb) != 0 || S_ISDIR(sb.st_mode))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	apd_walk_init(&zw, lim, apd_store_zone_catalog(store));
	zw.want = apd_store_zone_want;
	for (k = 0; own[k]; k++)
		(void)apd_walk_skip_file(&zw, own[k]);
	(void)apd_walk_input(&zw, input);
	apd_store_zone_hint(store);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(ms, sizeof(ms), "%.0f", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	apd_store_set_meta(store, "timing.zone_ahead_ms", ms);
}

/* The store's finish hook: evaluate the rules into the finding tables. */
static int
rules_hook(void *ud, sqlite3 *db, struct apd_error *err)
{
	struct rules_run *r = ud;
	struct apd_rules_opts ro = { NULL, true };
	char sql[256];
	size_t k;
	int rc;

	rc = apd_rules_eval(r->rs, db, &ro, &r->res, err);
	if (rc != APD_OK) {
		/* the index is still worth writing: say so and go on without findings */
		fe_err("analyze: the rules could not be evaluated: %s", err->msg);
		r->res = NULL;
		r->rr.failed = true;
		apd_error_clear(err);
		return APD_OK;
	}
	for (k = 0; k < apd_rules_ndiags(r->res); k++)
		keep_diag(r, apd_rules_diag(r->res, k));
	r->rr.ms = apd_rules_ms(r->res);
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta(key, value) VALUES "
	    "('rules.evaluated', '%u'), ('rules.findings', '%zu'), ('timing.rules_ms', '%.0f')",
	    r->rr.evaluated, apd_rules_nfindings(r->res), r->rr.ms);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return apd_set_error(err, APD_FATAL, "rules: %s", sqlite3_errmsg(db));
	return APD_OK;
}

static void
free_rules(struct rules_run *r)
{
	apd_rules_result_free(r->res);
	apd_ruleset_free(r->rs);
	free(r->diags);
}

/* Is there a finding at or above sev? */
static bool
findings_at_least(const struct rules_run *r, int sev)
{
	size_t k;

	if (r->res == NULL || sev < 0)
		return false;
	for (k = 0; k < apd_rules_nfindings(r->res); k++)
		if (apd_rules_finding(r->res, k)->sev >= sev)
			return true;
	return false;
}

int
apd_analyze_main(int argc, char **argv)
{
	struct analyze_opts o;
	struct apd_store *store = NULL;
	struct apd_error err;
	struct apd_walk w;
	struct rules_run rules;
	char *dbpath = NULL;
	double t0;
	int rc, wrc;

	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? APD_EXIT_OK : rc;
	if (access(o.input, R_OK) != 0) {
		fe_err("analyze: %s: cannot read the input", o.input);
		return APD_EXIT_INPUT;
	}
	rc = load_rules(&rules, &o);
	if (rc != 0) {
		free_rules(&rules);
		return rc;
	}
	rules.rr.diags = rules.diags;
	dbpath = o.db ? strdup(o.db) : default_db(o.input);
	if (dbpath == NULL) {
		fe_err("out of memory");
		free_rules(&rules);
		return APD_EXIT_INTERNAL;
	}
	t0 = now();
	apd_error_clear(&err);
	if (apd_store_create(&store, dbpath, &o.lim, &err) != APD_OK) {
		fe_err("%s", err.msg);
		free(dbpath);
		free_rules(&rules);
		return APD_EXIT_INTERNAL;
	}
	apd_store_set_meta(store, "input", o.input);
	apd_store_set_finish_hook(store, rules_hook, &rules);
	zone_ahead(store, &o.lim, o.input);
	apd_walk_init(&w, &o.lim, apd_store_catalog(store));
	{
		/* the index may be written inside the input folder: never read it */
		const char *const *own = apd_store_files(store);
		size_t k;
		for (k = 0; own[k]; k++)
			(void)apd_walk_skip_file(&w, own[k]);
	}
	if (o.progress && !o.quiet && isatty(2)) {
		w.progress = on_progress;
		w.progress_ud = NULL;
	}
	wrc = apd_walk_input(&w, o.input);
	if (w.progress)
		fputs("\r\033[K  building the index...", stderr);
	if (wrc == APD_FAILED) {
		fe_err("analyze: %s", w.err.msg);
		apd_store_free(store);
		free(dbpath);
		free_rules(&rules);
		return APD_EXIT_INPUT;
	}
	rc = wrc == APD_FATAL ? APD_FATAL : apd_store_finish(store, &err);
	if (w.progress)
		fputs("\r\033[K", stderr);
	if (rc != APD_OK) {
		fe_err("analyze: %s", wrc == APD_FATAL && w.err.msg[0] ? w.err.msg : err.msg);
		apd_store_free(store);
		free(dbpath);
		free_rules(&rules);
		return APD_EXIT_INTERNAL;
	}
	rules.rr.diags = rules.diags;
	rules.rr.ndiags = rules.ndiags;
	if (o.report) {
		struct report_opts ro = { o.input, o.max_events };
		if (fe_report_file(apd_store_db(store), o.report, (enum report_format)o.report_format,
		    &ro, "analyze") != 0) {
			apd_store_free(store);
			free(dbpath);
			free_rules(&rules);
			return APD_EXIT_INTERNAL;
		}
	}
	if (o.report && strcmp(o.report, "-") == 0) {
		/* the report is on stdout: no summary beside it */
	} else if (o.json) {
		if (print_json(apd_store_db(store), &o, dbpath, now() - t0, &w.st, &rules.rr) != APD_OK) {
			fe_err("analyze: the JSON summary is too large");
			rc = APD_EXIT_INTERNAL;
		}
	} else if (!o.quiet) {
		print_text(apd_store_db(store), &o, dbpath, now() - t0, &w.st, &rules.rr);
		if (o.report) {
			printf("\nreport: ");
			fe_safe(stdout, o.report);
			printf(" (%s)\n", report_format_name((enum report_format)o.report_format));
		}
	}
	apd_store_free(store);
	free(dbpath);
	if (rc == APD_EXIT_INTERNAL) {
		free_rules(&rules);
		return rc;
	}
	rc = findings_at_least(&rules, o.fail_on) ? APD_EXIT_FINDINGS :
	    wrc == APD_WARN ? APD_EXIT_PARTIAL : APD_EXIT_OK;
	free_rules(&rules);
	return rc;
}

const struct fe_opt *
fe_analyze_opts(size_t *n)
{
	*n = NOPTS;
	return opts;
}
