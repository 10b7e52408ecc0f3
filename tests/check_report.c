/*
 * check_report.c - the report writers (analyze/report_out.c, report_html.c,
 * report_md.c): the three escaping functions, and the Markdown, JSON and
 * HTML reports of sample indexes compared with the index itself (counts
 * and names are read from the database, not written into the test).
 */
#include "apd_test.h"
#include "apd_rules.h"
#include "apd_store.h"
#include "apd_walk.h"
#include "report.h"
#include "report_out.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- escaping ---- */

static char *
esc(int (*fn)(struct apd_buf *, const char *, size_t), const char *s, size_t n)
{
	static char out[4096];
	struct apd_buf b;

	apd_buf_init(&b, sizeof(out));
	ck_assert_int_eq(fn(&b, s, n), APD_OK);
	snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
	apd_buf_done(&b);
	return out;
}
#define ESC(fn, lit) esc(fn, lit, sizeof(lit) - 1)

START_TEST(test_report_html_esc)
{
	ck_assert_str_eq(ESC(report_html_esc, "<script>window.__pwned=1</script>"),
	    "&lt;script&gt;window.__pwned=1&lt;/script&gt;");
	ck_assert_str_eq(ESC(report_html_esc, "\"><img src=x onerror=\"window.__pwned=1\">"),
	    "&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;");
	ck_assert_str_eq(ESC(report_html_esc, "a&b 'c'"), "a&amp;b &#39;c&#39;");
	/* text stays: tabs, line ends, UTF-8, U+2028 */
	ck_assert_str_eq(ESC(report_html_esc, "t\tl\r\nü\xE2\x80\xA8"), "t\tl\r\nü\xE2\x80\xA8");
	/* a NUL, other controls and invalid UTF-8 become U+FFFD */
	ck_assert_str_eq(ESC(report_html_esc, "a\0b\x01" "c\x7F"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD"
	    "c\xEF\xBF\xBD");
	ck_assert_str_eq(ESC(report_html_esc, "x\xC3"), "x\xEF\xBF\xBD");        /* cut sequence */
	ck_assert_str_eq(ESC(report_html_esc, "\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD"); /* overlong */
	ck_assert_str_eq(ESC(report_html_esc, "\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	ck_assert_str_eq(ESC(report_html_esc, ""), "");
}
END_TEST

START_TEST(test_report_md_esc)
{
	ck_assert_str_eq(ESC(report_md_esc, "`code` | *b* _i_ [l](u) ~s~ #h \\"),
	    "\\`code\\` \\| \\*b\\* \\_i\\_ \\[l\\](u) \\~s\\~ \\#h \\\\");
	ck_assert_str_eq(ESC(report_md_esc, "<script>a & b</script>"),
	    "&lt;script&gt;a &amp; b&lt;/script&gt;");
	/* one line per cell: line breaks become spaces, controls go */
	ck_assert_str_eq(ESC(report_md_esc, "a\r\nb\nc\td\x01" "e"), "a b c de");
	ck_assert_str_eq(ESC(report_md_esc, "x\xFFy"), "x\xEF\xBF\xBDy");
}
END_TEST

START_TEST(test_report_script_json)
{
	ck_assert_str_eq(ESC(report_script_json, "[\"</script><!--\",\"a&b\"]"),
	    "[\"\\u003c/script\\u003e\\u003c!--\",\"a\\u0026b\"]");
	ck_assert_str_eq(ESC(report_script_json, "\"\xE2\x80\xA8\xE2\x80\xA9\xE2\x80\xAA\""),
	    "\"\\u2028\\u2029\xE2\x80\xAA\"");
	ck_assert_str_eq(ESC(report_script_json, "\"\xE2\x80\""), "\"\xE2\x80\"");   /* cut: kept */
}
END_TEST

START_TEST(test_report_format_names)
{
	enum report_format f;

	ck_assert(report_format_parse("html", &f) && f == REPORT_HTML);
	ck_assert(report_format_parse("md", &f) && f == REPORT_MD);
	ck_assert(report_format_parse("markdown", &f) && f == REPORT_MD);
	ck_assert(report_format_parse("json", &f) && f == REPORT_JSON);
	ck_assert(!report_format_parse("pdf", &f));
	ck_assert_int_eq(report_format_guess("out/x.MD"), REPORT_MD);
	ck_assert_int_eq(report_format_guess("x.json"), REPORT_JSON);
	ck_assert_int_eq(report_format_guess("x.htm"), REPORT_HTML);
	ck_assert_int_eq(report_format_guess("x"), REPORT_HTML);
	ck_assert_int_eq(report_format_guess(NULL), REPORT_HTML);
}
END_TEST

/* ---- reports of indexes ---- */

static int
rules_hook(void *ud, sqlite3 *db, struct apd_error *err)
{
	struct apd_ruleset *rs = ud;
	struct apd_rules_opts ro = { NULL, true };
	struct apd_rules_result *res = NULL;
	int rc = apd_rules_eval(rs, db, &ro, &res, err);
	char sql[128];

	apd_rules_result_free(res);
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta(key, value) VALUES "
	    "('rules.evaluated', '%zu')", apd_ruleset_size(rs));
	if (rc == APD_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = apd_set_error(err, APD_FATAL, "%s", sqlite3_errmsg(db));
	return rc;
}

/* Index input with the shipped rules; the read-only database. */
static sqlite3 *
index_input(const char *path)
{
	char input[4096];
	struct apd_ruleset *rs;
	struct apd_limits lim;
	struct apd_store *st;
	struct apd_error err;
	struct apd_walk w;
	sqlite3 *db;

	snprintf(input, sizeof(input), "%s", path);   /* apd_test_src() reuses its buffer */
	apd_limits_default(&lim);
	apd_error_clear(&err);
	ck_assert_int_eq(apd_ruleset_new(&rs, &err), APD_OK);
	ck_assert_msg(apd_ruleset_load_dir(rs, apd_test_src("rules"), &err) == APD_OK, "rules: %s",
	    err.msg);
	ck_assert_int_eq(apd_store_create(&st, apd_test_tpath("index.db"), &lim, &err), APD_OK);
	apd_store_set_meta(st, "input", input);
	apd_store_set_finish_hook(st, rules_hook, rs);
	apd_walk_init(&w, &lim, apd_store_catalog(st));
	ck_assert_msg(apd_walk_input(&w, input) != APD_FATAL, "walk: %s", w.err.msg);
	ck_assert_msg(apd_store_finish(st, &err) == APD_OK, "finish: %s", err.msg);
	apd_store_free(st);
	apd_ruleset_free(rs);
	ck_assert_int_eq(sqlite3_open_v2(apd_test_tpath("index.db"), &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	return db;
}

/* The report as a malloc'd string. */
static char *
render(sqlite3 *db, enum report_format fmt, unsigned max_events)
{
	struct report_opts o = { "INPUT", max_events };
	struct apd_error err;
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	ck_assert_ptr_nonnull(f);
	apd_error_clear(&err);
	ck_assert_msg(report_write(db, fmt, &o, f, &err) == APD_OK, "report: %s", err.msg);
	fclose(f);
	return p;
}

static int64_t
qint(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *s;
	int64_t v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static char *
qstr(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *s;
	char *v = NULL;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* Lines of the Markdown table that follows the heading line starting with head. */
static size_t
md_table_rows(const char *md, const char *head)
{
	const char *p = strstr(md, head);
	size_t n = 0;

	ck_assert_msg(p != NULL, "no '%s' in the Markdown", head);
	p = strstr(p, "\n|---");
	if (p == NULL)
		return 0;
	p = strchr(p + 1, '\n');
	while (p && p[1] == '|') {
		n++;
		p = strchr(p + 1, '\n');
	}
	return n;
}

/* The escaped form of s for Markdown (static). */
static const char *
md(const char *s)
{
	return esc(report_md_esc, s, strlen(s));
}

/* Bars the page must draw: docs/report.md, "The ESP chart". */
static int64_t
expected_bars(sqlite3 *db)
{
	static const char sql[] =
	    "WITH i(su, eu, sl, el) AS ("
	    " SELECT start_utc, end_utc, julianday(start_local), julianday(end_local) FROM esp_phase"
	    " UNION ALL SELECT coalesce(download_start_utc, install_start_utc),"
	    "  coalesce(install_end_utc, download_end_utc),"
	    "  julianday(coalesce(download_start_local, install_start_local)),"
	    "  julianday(coalesce(install_end_local, download_end_local)) FROM app) "
	    "SELECT CASE WHEN (SELECT count(*) FROM i WHERE su IS NOT NULL AND eu >= su) > 0 "
	    " THEN (SELECT count(*) FROM i WHERE su IS NOT NULL AND eu >= su) "
	    " ELSE (SELECT count(*) FROM i WHERE sl IS NOT NULL AND el >= sl) END";

	return qint(db, sql, NULL);
}

/*
 * EXPLAIN QUERY PLAN of sql (?1 bound to 1): every table is reached through
 * an index or its rowid, nothing is materialized, and unless sorts_ok
 * nothing is sorted either.
 */
static void
assert_plan(sqlite3 *db, const char *sql, bool sorts_ok)
{
	size_t n = strlen(sql) + 32;
	char *eqp = malloc(n);
	sqlite3_stmt *s;

	ck_assert_ptr_nonnull(eqp);
	snprintf(eqp, n, "EXPLAIN QUERY PLAN %s", sql);
	ck_assert_msg(sqlite3_prepare_v2(db, eqp, -1, &s, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_bind_int64(s, 1, 1);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(s, 3);
		ck_assert_msg(strncmp(d, "SCAN", 4) != 0 && strstr(d, "MATERIALIZE") == NULL &&
		    strstr(d, "AUTOMATIC") == NULL && (sorts_ok || strstr(d, "TEMP B-TREE") == NULL),
		    "the query plans '%s': %.60s...", d, sql);
	}
	sqlite3_finalize(s);
	free(eqp);
}

/*
 * The evidence rows of every finding: the query reaches each row through
 * its id (it once materialized the whole reg_value view per finding), and
 * its registry columns are the reg_value view's for that value.
 */
static void
check_evidence(sqlite3 *db)
{
	sqlite3_stmt *f, *e, *v;
	int64_t regs = 0;

	assert_plan(db, report_evidence_sql, true);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id FROM finding", -1, &f, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, report_evidence_sql, -1, &e, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT (SELECT path FROM source WHERE id = source_id), "
	    "line, hive, key, name, CASE WHEN typeof(value) = 'blob' THEN 'hex:' || "
	    "hex(substr(value, 1, 64)) ELSE value END FROM reg_value WHERE id = ?1", -1, &v, NULL),
	    SQLITE_OK);
	while (sqlite3_step(f) == SQLITE_ROW) {
		sqlite3_bind_int64(e, 1, sqlite3_column_int64(f, 0));
		while (sqlite3_step(e) == SQLITE_ROW) {
			static const int ecol[] = { 4, 5, 10, 11, 12, 13 };
			size_t k;
			if (sqlite3_column_type(e, 19) == SQLITE_NULL)
				continue;
			ck_assert_str_eq((const char *)sqlite3_column_text(e, 1), "registry");
			sqlite3_bind_int64(v, 1, sqlite3_column_int64(e, 19));
			ck_assert_int_eq(sqlite3_step(v), SQLITE_ROW);
			for (k = 0; k < sizeof(ecol) / sizeof(ecol[0]); k++) {
				const char *a = (const char *)sqlite3_column_text(e, ecol[k]);
				const char *b = (const char *)sqlite3_column_text(v, (int)k);
				ck_assert_msg(a && b && strcmp(a, b) == 0, "evidence column %d: '%s', "
				    "reg_value: '%s'", ecol[k], a ? a : "(null)", b ? b : "(null)");
			}
			sqlite3_reset(v);
			regs++;
		}
		sqlite3_reset(e);
	}
	ck_assert_int_eq(regs, qint(db, "SELECT count(reg_value_id) FROM finding_evidence", NULL));
	sqlite3_finalize(v);
	sqlite3_finalize(e);
	sqlite3_finalize(f);
}

static void
check_sample(const char *rel)
{
	sqlite3 *db = index_input(apd_test_src(rel));
	char *mdtext = render(db, REPORT_MD, 0);
	char *json = render(db, REPORT_JSON, 0);
	char *html = render(db, REPORT_HTML, 0);
	char *verdict = qstr(db, "SELECT title FROM finding WHERE rank = 1", NULL);
	char *blocking = qstr(db, "SELECT coalesce(blocking_name, blocking_id) FROM deployment", NULL);
	int64_t apps = qint(db, "SELECT count(*) FROM app", NULL);
	int64_t phases = qint(db, "SELECT count(*) FROM esp_phase", NULL);
	int64_t events = qint(db, "SELECT count(*) FROM event", NULL);
	int64_t findings = qint(db, "SELECT count(*) FROM finding", NULL);
	char head[64];
	sqlite3 *mem;

	ck_assert_msg(verdict != NULL, "%s: the sample has a verdict", rel);
	check_evidence(db);
	ck_assert_msg(apps > 0 && phases > 0, "%s: the sample has a model", rel);
	/* Markdown: the verdict first, the blocking app, one table row per phase and app */
	ck_assert_ptr_nonnull(strstr(mdtext, "## Verdict\n\n**"));
	ck_assert_msg(strstr(mdtext, md(verdict)) != NULL, "verdict '%s' not in the Markdown", verdict);
	ck_assert(strstr(mdtext, "## Verdict") < strstr(mdtext, "## Findings"));
	ck_assert_int_eq(count(mdtext, "\n### "), findings + 1);   /* + "### ESP phases" */
	if (blocking) {
		ck_assert_ptr_nonnull(strstr(mdtext, "- **Blocking:** "));
		ck_assert_msg(strstr(mdtext, md(blocking)) != NULL, "blocking '%s' not in the Markdown",
		    blocking);
	}
	snprintf(head, sizeof(head), "## Apps (%lld)", (long long)apps);
	ck_assert_int_eq(md_table_rows(mdtext, head), apps);
	ck_assert_int_eq(md_table_rows(mdtext, "### ESP phases"), phases);
	ck_assert_int_eq(md_table_rows(mdtext, "## Collection gaps"),
	    qint(db, "SELECT count(*) FROM gap", NULL));

	/* JSON: read back with SQLite's JSON functions */
	ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
	ck_assert_int_eq(qint(mem, "SELECT json_valid(?1)", json), 1);
	{
		char *v = qstr(mem, "SELECT json_extract(?1, '$.verdict')", json);
		ck_assert_str_eq(v, verdict);
		free(v);
	}
	ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.esp.apps')", json), apps);
	ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.esp.phases')", json), phases);
	ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.findings')", json), findings);
	ck_assert_int_eq(qint(mem, "SELECT json_extract(?1, '$.timeline.total')", json), events);
	ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.timeline.rows')", json), events);
	ck_assert_int_eq(qint(mem, "SELECT json_extract(?1, '$.schema_version')", json),
	    APD_SCHEMA_VERSION);

	/* HTML: the verdict before the findings, one bar per drawable item, one row per app */
	ck_assert_ptr_nonnull(strstr(html, "<meta http-equiv=\"Content-Security-Policy\" "
	    "content=\"default-src 'none';"));
	ck_assert(strstr(html, "id=\"verdict-title\"") < strstr(html, "id=\"findings\""));
	ck_assert_int_eq(count(html, "<rect class=\"bar "), expected_bars(db));
	ck_assert(expected_bars(db) > 0);
	{
		const char *tb = strstr(html, "<table id=\"app-table\">");
		const char *te = tb ? strstr(tb, "</table>") : NULL;
		size_t rows = 0;
		const char *p = tb;
		ck_assert(tb && te);
		while ((p = strstr(p + 1, "<tr>")) != NULL && p < te)
			rows++;
		ck_assert_int_eq(rows, apps + 1);    /* + the head row */
	}
	ck_assert_int_eq(count(html, "</script>"), 2);
	ck_assert_int_eq(count(html, " src=\""), 0);    /* nothing to fetch */
	ck_assert_int_eq(count(html, "<link "), 1);     /* the data: favicon */

	/* --max-events: the page says it was cut */
	if (events > 10) {
		char *cut = render(db, REPORT_HTML, 10);
		char *cj = render(db, REPORT_JSON, 10);
		ck_assert_ptr_nonnull(strstr(cut, "the first 10 in time order are in this page"));
		ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.timeline.rows')", cj), 10);
		ck_assert_int_eq(qint(mem, "SELECT json_extract(?1, '$.timeline.included')", cj), 10);
		free(cut);
		free(cj);
	}
	sqlite3_close(mem);
	free(verdict);
	free(blocking);
	free(mdtext);
	free(json);
	free(html);
	sqlite3_close(db);
}

START_TEST(test_report_sample_esp_app_failure)
{
	check_sample("samples/mdmdiag-esp-app-failure.cab");
}
END_TEST

START_TEST(test_report_sample_preprov_notcomputed)
{
	check_sample("samples/mdmdiag-preprov-notcomputed.cab");
}
END_TEST

START_TEST(test_report_hostile_log_line)
{
	sqlite3 *db = index_input(apd_test_src("tests/data/report/hostile-log-line"));
	char *html = render(db, REPORT_HTML, 0);
	char *mdtext = render(db, REPORT_MD, 0);
	char *json = render(db, REPORT_JSON, 0);

	/* the page: nothing from the log is markup; the data block cannot be left */
	ck_assert_ptr_null(strstr(html, "<script>window"));
	ck_assert_ptr_null(strstr(html, "<img"));
	ck_assert_ptr_null(strstr(html, "<svg/onload"));
	ck_assert_int_eq(count(html, "</script>"), 2);
	ck_assert_ptr_nonnull(strstr(html, "\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e"));
	ck_assert_ptr_nonnull(strstr(html, "\\u2028"));
	ck_assert_ptr_null(strstr(html, "\xE2\x80\xA8"));
	/* Markdown: the error and the warning line, escaped */
	ck_assert_ptr_nonnull(strstr(mdtext, "\"&gt;&lt;img src=x onerror=\"window.\\_\\_pwned=1\"&gt;"));
	ck_assert_ptr_nonnull(strstr(mdtext, "&lt;/script&gt;&lt;script&gt;window.\\_\\_pwned=1"));
	ck_assert_ptr_null(strstr(mdtext, "<"));
	/* JSON: plain JSON, the text as it was */
	ck_assert_ptr_nonnull(strstr(json, "\"<script>window.__pwned=1</script>\""));
	free(html);
	free(mdtext);
	free(json);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_report_empty_model)
{
	sqlite3 *db;
	char *html, *mdtext, *json;
	sqlite3 *mem;

	apd_test_write_file(apd_test_tpath("notes.txt"), "nothing\n", 8);
	db = index_input(apd_test_tpath("notes.txt"));
	ck_assert_int_eq(qint(db, "SELECT count(*) FROM app", NULL) +
	    qint(db, "SELECT count(*) FROM esp_phase", NULL), 0);
	html = render(db, REPORT_HTML, 0);
	mdtext = render(db, REPORT_MD, 0);
	json = render(db, REPORT_JSON, 0);
	ck_assert_ptr_nonnull(strstr(html, "No ESP phases or apps in the model: no chart."));
	ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
	ck_assert_ptr_nonnull(strstr(mdtext, "No apps in the model."));
	ck_assert_int_eq(sqlite3_open(":memory:", &mem), SQLITE_OK);
	ck_assert_int_eq(qint(mem, "SELECT json_valid(?1)", json), 1);
	ck_assert_int_eq(qint(mem, "SELECT json_array_length(?1, '$.esp.apps')", json), 0);
	sqlite3_close(mem);
	free(html);
	free(mdtext);
	free(json);
	sqlite3_close(db);
}
END_TEST

/*
 * The report's timeline statement returns the rows of the timeline view in
 * ts_sort order (events without a time last), whichever statement it picks
 * for the index; all_utc: every event has a UTC time, and the rows are then
 * read in the order of the index event_ts, with no sort.
 */
static void
check_timeline_order(sqlite3 *db, bool all_utc)
{
	const char *sql = report_timeline_sql(db);
	sqlite3_stmt *got, *ref;
	int64_t rows = 0;

	ck_assert_int_eq(all_utc, qint(db, "SELECT count(*) FROM event", NULL) ==
	    qint(db, "SELECT count(ts_utc) FROM event", NULL));
	if (all_utc)
		assert_plan(db, sql, false);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &got, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT coalesce(time_utc, substr(ts_local, 1, 23) "
	    "|| ' local', ''), source_id, (SELECT line FROM event WHERE id = t.id), "
	    "substr(coalesce(message, ''), 1, 100) FROM timeline t "
	    "ORDER BY ts_sort IS NULL, ts_sort, id", -1, &ref, NULL), SQLITE_OK);
	sqlite3_bind_int64(got, 1, 1000000);
	sqlite3_bind_int(got, 2, 100);
	while (sqlite3_step(ref) == SQLITE_ROW) {
		static const int gcol[] = { 0, 2, 5, 4 };
		size_t k;
		ck_assert_int_eq(sqlite3_step(got), SQLITE_ROW);
		for (k = 0; k < 4; k++) {
			const char *a = (const char *)sqlite3_column_text(got, gcol[k]);
			const char *b = (const char *)sqlite3_column_text(ref, (int)k);
			ck_assert_msg((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0),
			    "timeline row %lld, column %d: '%s', the view: '%s'", (long long)rows,
			    gcol[k], a ? a : "(null)", b ? b : "(null)");
		}
		rows++;
	}
	ck_assert_int_eq(sqlite3_step(got), SQLITE_DONE);
	ck_assert_int_eq(rows, qint(db, "SELECT count(*) FROM event", NULL));
	sqlite3_finalize(got);
	sqlite3_finalize(ref);
}

/* Two ConfigMgr-style logs (times with a bias: all UTC) whose entries interleave in time. */
START_TEST(test_report_timeline_order)
{
	static const char a[] =
	    "<![LOG[a1]LOG]!><time=\"10:00:01.000+000\" date=\"10-01-2025\" component=\"a\" "
	    "context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n"
	    "<![LOG[a2]LOG]!><time=\"10:00:04.000+000\" date=\"10-01-2025\" component=\"a\" "
	    "context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n"
	    "<![LOG[a3]LOG]!><time=\"10:00:05.000-060\" date=\"10-01-2025\" component=\"a\" "
	    "context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	static const char b[] =
	    "<![LOG[b1]LOG]!><time=\"10:00:02.000+000\" date=\"10-01-2025\" component=\"b\" "
	    "context=\"\" type=\"2\" thread=\"2\" file=\"\">\r\n"
	    "<![LOG[b2]LOG]!><time=\"10:00:04.000+000\" date=\"10-01-2025\" component=\"b\" "
	    "context=\"\" type=\"1\" thread=\"2\" file=\"\">\r\n"
	    "<![LOG[b3]LOG]!><time=\"09:59:00.000+000\" date=\"10-01-2025\" component=\"b\" "
	    "context=\"\" type=\"3\" thread=\"2\" file=\"\">\r\n";
	sqlite3 *db;

	ck_assert_int_eq(mkdir(apd_test_tpath("tl"), 0755), 0);
	apd_test_write_file(apd_test_tpath("tl/ccmexec.log"), a, sizeof(a) - 1);
	apd_test_write_file(apd_test_tpath("tl/ccmsetup.log"), b, sizeof(b) - 1);
	db = index_input(apd_test_tpath("tl"));
	ck_assert_int_eq(qint(db, "SELECT count(*) FROM event", NULL), 6);
	/* time order is not id order here: a statement that forgot to sort would differ */
	ck_assert_int_ne(qint(db, "SELECT id FROM event ORDER BY ts_utc, id LIMIT 1", NULL),
	    qint(db, "SELECT min(id) FROM event", NULL));
	check_timeline_order(db, true);
	sqlite3_close(db);

	/* an index with events that have no UTC time takes the sorting statement */
	db = index_input(apd_test_src("samples/mdmdiag-esp-app-failure.cab"));
	check_timeline_order(db, false);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_report_write_error)
{
	struct report_opts o = { "x", 0 };
	struct apd_error err;
	sqlite3 *db;
	FILE *f = fopen("/dev/full", "w");
	int rc;

	if (f == NULL)
		return;   /* no /dev/full here */
	apd_test_write_file(apd_test_tpath("notes.txt"), "nothing\n", 8);
	db = index_input(apd_test_tpath("notes.txt"));
	apd_error_clear(&err);
	rc = report_write(db, REPORT_HTML, &o, f, &err);
	fclose(f);
	ck_assert_int_eq(rc, APD_FAILED);
	ck_assert_msg(strstr(err.msg, "cannot write") != NULL, "%s", err.msg);
	sqlite3_close(db);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *core = tcase_create("Core");
	TCase *samples = tcase_create("Samples");
	TCase *errors = tcase_create("Errors");

	tcase_add_test(core, test_report_html_esc);
	tcase_add_test(core, test_report_md_esc);
	tcase_add_test(core, test_report_script_json);
	tcase_add_test(core, test_report_format_names);
	tcase_add_checked_fixture(samples, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(samples, test_report_sample_esp_app_failure);
	tcase_add_test(samples, test_report_sample_preprov_notcomputed);
	tcase_add_test(samples, test_report_hostile_log_line);
	tcase_add_test(samples, test_report_empty_model);
	tcase_add_test(samples, test_report_timeline_order);
	tcase_add_checked_fixture(errors, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(errors, test_report_write_error);
	suite_add_tcase(s, core);
	suite_add_tcase(s, samples);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	return apd_test_run(report_suite());
}
