/*
 * report_out.c - what the report formats share: the buffered writer, the
 * three escaping functions, the verdict, the Gantt items, the timeline as
 * JSON, the JSON format itself, and report_write() which picks a format.
 *
 * Exported: report_write(), report_format_*(), report_html_esc(),
 * report_md_esc(), report_script_json() (report_out.h) and the rw_*,
 * gantt_* and report_* helpers of report_int.h.
 */
#include "report_int.h"
#include "report.h"
#include "apd_json.h"
#include "apd_store.h"
#include "apd_text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RW_FLUSH_AT (256 * 1024)

/* ---- the writer ---- */

void
rw_init(struct rw *w, FILE *f, struct apd_error *err)
{
	w->f = f;
	w->rc = APD_OK;
	w->err = err;
	apd_buf_init(&w->b, (size_t)1 << 30);
}

void
rw_fail(struct rw *w, int rc)
{
	if (w->rc == APD_OK && rc != APD_OK) {
		w->rc = rc == APD_FAILED ? APD_FATAL : rc;   /* a full buffer is a bug here */
		apd_set_error(w->err, w->rc, "report: out of memory");
	}
}

void
rw_flush(struct rw *w, bool force)
{
	if (w->rc != APD_OK || w->b.n == 0 || (!force && w->b.n < RW_FLUSH_AT))
		return;
	if (fwrite(w->b.p, 1, w->b.n, w->f) != w->b.n) {
		w->rc = APD_FAILED;
		apd_set_errno(w->err, APD_FAILED, errno, "report: cannot write: %s", strerror(errno));
	}
	apd_buf_reset(&w->b);
}

int
rw_done(struct rw *w)
{
	rw_flush(w, true);
	if (w->rc == APD_OK && fflush(w->f) != 0) {
		w->rc = APD_FAILED;
		apd_set_errno(w->err, APD_FAILED, errno, "report: cannot write: %s", strerror(errno));
	}
	apd_buf_done(&w->b);
	return w->rc;
}

void
rw_put(struct rw *w, const char *s, size_t n)
{
	if (w->rc == APD_OK)
		rw_fail(w, apd_buf_add(&w->b, s, n));
	rw_flush(w, false);
}

void
rw_puts(struct rw *w, const char *s)
{
	rw_put(w, s, strlen(s));
}

void
rw_printf(struct rw *w, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	rw_put(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void
rw_html(struct rw *w, const char *s)
{
	if (s == NULL || w->rc != APD_OK)
		return;
	rw_fail(w, report_html_esc(&w->b, s, strlen(s)));
	rw_flush(w, false);
}

void
rw_md(struct rw *w, const char *s)
{
	if (s == NULL || w->rc != APD_OK)
		return;
	rw_fail(w, report_md_esc(&w->b, s, strlen(s)));
	rw_flush(w, false);
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xF5 ? 0 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 :
	    p[0] >= 0xC2 ? 2 : 0;

	if (len == 0 || len > n)
		return 0;
	if (len > 1 && !apd_utf8_valid((const char *)p, len))
		return 0;
	return len;
}

/*
 * The replacement of the character at p[i] (n bytes in all), or NULL to keep
 * it; *len is how many bytes it replaces (1 unless set).  tmp holds a
 * replacement built on the spot.
 */
typedef const char *esc_rule(const unsigned char *p, size_t i, size_t n, size_t *len,
    char tmp[3]);

/* Copy s to b, replacing what rep_of says; runs that need nothing are copied whole. */
static int
escape(struct apd_buf *b, const char *s, size_t n, esc_rule *rep_of)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	int rc;

	while (i < n) {
		char tmp[3];
		size_t len = 1;
		const char *rep = rep_of(p, i, n, &len, tmp);

		if (rep == NULL) {
			i += len;
			continue;
		}
		if ((rc = apd_buf_add(b, s + run, i - run)) != APD_OK ||
		    (rc = apd_buf_adds(b, rep)) != APD_OK)
			return rc;
		i += len;
		run = i;
	}
	return apd_buf_add(b, s + run, n - run);
}

/* A byte >= 0x80: a valid UTF-8 sequence is kept whole, an invalid byte becomes U+FFFD. */
static const char *
non_ascii(const unsigned char *p, size_t i, size_t n, size_t *len)
{
	*len = utf8_len(p + i, n - i);
	if (*len != 0)
		return NULL;
	*len = 1;
	return "\xEF\xBF\xBD";
}

static const char *
html_rule(const unsigned char *p, size_t i, size_t n, size_t *len, char tmp[3])
{
	unsigned char c = p[i];

	(void)tmp;
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\t': case '\n': case '\r': return NULL;
	default:
		if (c < 0x20 || c == 0x7F)
			return "\xEF\xBF\xBD";
		return c >= 0x80 ? non_ascii(p, i, n, len) : NULL;
	}
}

int
report_html_esc(struct apd_buf *b, const char *s, size_t n)
{
	return escape(b, s, n, html_rule);
}

static const char *
md_rule(const unsigned char *p, size_t i, size_t n, size_t *len, char tmp[3])
{
	unsigned char c = p[i];

	switch (c) {
	case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '~':
	case '#':
		tmp[0] = '\\';
		tmp[1] = (char)c;
		tmp[2] = '\0';
		return tmp;
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '&': return "&amp;";
	case '\n': case '\t': return " ";
	case '\r': return (i + 1 < n && p[i + 1] == '\n') ? "" : " ";
	default:
		if (c < 0x20 || c == 0x7F)
			return "";
		return c >= 0x80 ? non_ascii(p, i, n, len) : NULL;
	}
}

int
report_md_esc(struct apd_buf *b, const char *s, size_t n)
{
	return escape(b, s, n, md_rule);
}

/* JSON inside <script>: nothing that closes the element or starts markup, and no
   U+2028/U+2029, which end a line in older script parsers */
static const char *
script_rule(const unsigned char *p, size_t i, size_t n, size_t *len, char tmp[3])
{
	(void)tmp;
	switch (p[i]) {
	case '<': return "\\u003c";
	case '>': return "\\u003e";
	case '&': return "\\u0026";
	case 0xE2:
		if (i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
			*len = 3;
			return p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
		}
		return NULL;
	default:
		return NULL;
	}
}

int
report_script_json(struct apd_buf *b, const char *json, size_t n)
{
	return escape(b, json, n, script_rule);
}

/* ---- formats ---- */

bool
report_format_parse(const char *s, enum report_format *out)
{
	if (strcmp(s, "html") == 0)
		*out = REPORT_HTML;
	else if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
		*out = REPORT_MD;
	else if (strcmp(s, "json") == 0)
		*out = REPORT_JSON;
	else
		return false;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

enum report_format
report_format_guess(const char *path)
{
	if (path && (ends_with(path, ".md") || ends_with(path, ".markdown")))
		return REPORT_MD;
	if (path && ends_with(path, ".json"))
		return REPORT_JSON;
	return REPORT_HTML;
}

const char *
report_format_name(enum report_format f)
{
	return f == REPORT_MD ? "md" : f == REPORT_JSON ? "json" : "html";
}

/* ---- small queries ---- */

const char *
rcol(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? v : "";
}

char *
report_query_str(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = strdup(rcol(s, 0));
	sqlite3_finalize(s);
	return v;
}

int64_t
report_query_int(sqlite3 *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *s;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

char *
report_verdict(sqlite3 *db, bool *has_finding)
{
	char *t = report_query_str(db, "SELECT title FROM finding WHERE rank = 1");
	int64_t evaluated;
	char buf[256];

	*has_finding = t != NULL;
	if (t)
		return t;
	evaluated = report_query_int(db, "SELECT CAST(value AS INTEGER) FROM meta "
	    "WHERE key = 'rules.evaluated'", -1);
	if (evaluated < 0)
		snprintf(buf, sizeof(buf), "Not evaluated: the rules did not run on this index.");
	else if (evaluated == 0)
		snprintf(buf, sizeof(buf), "Not evaluated: no rules were loaded.");
	else
		snprintf(buf, sizeof(buf), "No known failure found: %lld rules were checked against "
		    "every source and none matched.", (long long)evaluated);
	return strdup(buf);
}

const char *
report_scenario_text(const char *s)
{
	static const char *const map[][2] = {
		{ "user-driven-entra", "user-driven, Microsoft Entra join" },
		{ "user-driven-hybrid", "user-driven, Microsoft Entra hybrid join" },
		{ "self-deploying", "self-deploying" },
		{ "pre-provisioned", "pre-provisioned" },
		{ "device-preparation", "Autopilot device preparation (v2)" },
		{ "esp-only", "ESP without an Autopilot profile" },
		{ "none", "no Autopilot profile applied" },
		{ "unknown", "not determined" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], s) == 0)
			return map[i][1];
	return s;
}

const char *
report_level_name(int level)
{
	static const char *const names[] = { "none", "critical", "error", "warning", "information",
		"verbose" };

	return level >= 0 && level <= 5 ? names[level] : "none";
}

const char *
report_duration(char *buf, size_t n, double secs)
{
	long v = (long)(secs + 0.5);

	if (secs < 0 || isnan(secs))
		snprintf(buf, n, "%s", "");
	else if (v >= 3600)
		snprintf(buf, n, "%ldh%02ldm", v / 3600, v / 60 % 60);
	else if (v >= 60)
		snprintf(buf, n, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(buf, n, "%lds", v);
	return buf;
}

/* ---- evidence ---- */

void
report_evidence_text(sqlite3_stmt *e, struct apd_buf *when, struct apd_buf *where,
    struct apd_buf *what)
{
	const char *kind = rcol(e, 1);

	apd_buf_reset(when);
	apd_buf_reset(where);
	apd_buf_reset(what);
	if (sqlite3_column_type(e, 2) != SQLITE_NULL)
		apd_buf_adds(when, rcol(e, 2));
	else if (sqlite3_column_type(e, 3) != SQLITE_NULL)
		apd_buf_printf(when, "%.19s (device local time)", rcol(e, 3));
	else
		apd_buf_adds(when, "no time");
	apd_buf_adds(where, rcol(e, 4));
	if (sqlite3_column_type(e, 5) != SQLITE_NULL)
		apd_buf_printf(where, ":%lld", sqlite3_column_int64(e, 5));
	else if (sqlite3_column_type(e, 6) != SQLITE_NULL)
		apd_buf_printf(where, " record %lld", sqlite3_column_int64(e, 6));
	if (strcmp(kind, "event") == 0) {
		if (sqlite3_column_type(e, 7) != SQLITE_NULL) {
			apd_buf_printf(what, "event %lld ", sqlite3_column_int64(e, 7));
			if (sqlite3_column_type(e, 8) != SQLITE_NULL)
				apd_buf_printf(what, "(%s) ", rcol(e, 8));
		}
		apd_buf_printf(what, "%.500s", rcol(e, 9));
		if (strlen(rcol(e, 9)) > 500)
			apd_buf_adds(what, " [...]");
	} else if (strcmp(kind, "registry") == 0) {
		apd_buf_printf(what, "%s\\%s\\%s = %.500s", rcol(e, 10), rcol(e, 11), rcol(e, 12),
		    rcol(e, 13));
	} else if (strcmp(kind, "fact") == 0) {
		apd_buf_printf(what, "fact %s = %.500s", rcol(e, 14), rcol(e, 15));
	} else {
		apd_buf_printf(what, "not collected: %s", rcol(e, 16));
		if (sqlite3_column_type(e, 17) != SQLITE_NULL)
			apd_buf_printf(what, " (%s)", rcol(e, 17));
	}
}

/* ---- the Gantt items ---- */

#define JL(c) "(julianday(" c ") - 2440587.5) * 86400.0"

static double
dcol(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static int
gantt_add(struct gantt *g, struct gitem **out)
{
	struct gitem *n = realloc(g->it, (g->n + 1) * sizeof(*n));

	if (n == NULL)
		return APD_FATAL;
	g->it = n;
	*out = &g->it[g->n++];
	memset(*out, 0, sizeof(**out));
	(*out)->ds[0] = (*out)->ds[1] = (*out)->de[0] = (*out)->de[1] = NAN;
	return APD_OK;
}

static bool
drawable(const struct gitem *it, int clock)
{
	return !isnan(it->s[clock]) && !isnan(it->e[clock]) && it->e[clock] >= it->s[clock];
}

bool
gantt_drawn(const struct gantt *g, const struct gitem *it)
{
	return drawable(it, g->clock);
}

/* "2025-10-01 08:55:55Z" or "2025-10-01 08:55:55 local" or "unknown" */
#define WHEN(u, l) "coalesce(strftime('%Y-%m-%d %H:%M:%SZ', " u " / 1e6, 'unixepoch'), " \
	"substr(" l ", 1, 19) || ' local', 'unknown')"

int
gantt_load(sqlite3 *db, struct gantt *g)
{
	sqlite3_stmt *s = NULL;
	struct apd_buf t;
	struct gitem *it;
	char d[32];
	size_t i;
	int rc = APD_OK, clock;

	memset(g, 0, sizeof(*g));
	apd_buf_init(&t, 64 * 1024);
	if (sqlite3_prepare_v2(db, "SELECT phase || coalesce(' (' || flow || ')', ''), outcome, "
	    "start_utc / 1e6, end_utc / 1e6, " JL("start_local") ", " JL("end_local") ", "
	    WHEN("start_utc", "start_local") ", " WHEN("end_utc", "end_local") ", "
	    "coalesce(start_source, ''), coalesce(end_source, ''), duration_s, apps, "
	    "coalesce(outcome_source, '') FROM esp_phase ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		while (rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
			if ((rc = gantt_add(g, &it)) != APD_OK)
				break;
			it->phase = true;
			it->label = strdup(rcol(s, 0));
			it->outcome = strdup(rcol(s, 1));
			it->s[0] = dcol(s, 2);
			it->e[0] = dcol(s, 3);
			it->s[1] = dcol(s, 4);
			it->e[1] = dcol(s, 5);
			apd_buf_reset(&t);
			apd_buf_printf(&t, "ESP phase %s: %s%s%s%s\nstart %s%s%s%s\nend %s%s%s%s",
			    rcol(s, 0), rcol(s, 1), *rcol(s, 12) ? " (" : "", rcol(s, 12),
			    *rcol(s, 12) ? ")" : "", rcol(s, 6), *rcol(s, 8) ? " (" : "", rcol(s, 8),
			    *rcol(s, 8) ? ")" : "", rcol(s, 7), *rcol(s, 9) ? " (" : "", rcol(s, 9),
			    *rcol(s, 9) ? ")" : "");
			if (sqlite3_column_type(s, 10) != SQLITE_NULL)
				apd_buf_printf(&t, "\nduration %s", report_duration(d, sizeof(d),
				    sqlite3_column_double(s, 10)));
			apd_buf_printf(&t, "\n%d tracked app%s", sqlite3_column_int(s, 11),
			    sqlite3_column_int(s, 11) == 1 ? "" : "s");
			it->title = strdup(t.p ? t.p : "");
			if (!it->label || !it->outcome || !it->title)
				rc = APD_FATAL;
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc == APD_OK && sqlite3_prepare_v2(db, "SELECT coalesce(name, id), outcome, "
	    "coalesce(download_start_utc, install_start_utc) / 1e6, "
	    "coalesce(install_end_utc, download_end_utc) / 1e6, "
	    JL("coalesce(download_start_local, install_start_local)") ", "
	    JL("coalesce(install_end_local, download_end_local)") ", "
	    "download_start_utc / 1e6, download_end_utc / 1e6, " JL("download_start_local") ", "
	    JL("download_end_local") ", kind, id, coalesce(phase, 'no phase'), "
	    WHEN("download_start_utc", "download_start_local") ", "
	    WHEN("download_end_utc", "download_end_local") ", "
	    WHEN("install_start_utc", "install_start_local") ", "
	    WHEN("install_end_utc", "install_end_local") ", exit_code, coalesce(failure, ''), "
	    "esp_tracked, held_esp_s "
	    "FROM app ORDER BY esp_tracked DESC, coalesce(download_start_utc, install_start_utc), "
	    "coalesce(download_start_local, install_start_local), id", -1, &s, NULL) == SQLITE_OK) {
		while (rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
			if ((rc = gantt_add(g, &it)) != APD_OK)
				break;
			it->label = strdup(rcol(s, 0));
			it->outcome = strdup(rcol(s, 1));
			for (i = 0; i < 2; i++) {
				it->s[i] = dcol(s, 2 + (int)i * 2);
				it->e[i] = dcol(s, 3 + (int)i * 2);
				it->ds[i] = dcol(s, 6 + (int)i * 2);
				it->de[i] = dcol(s, 7 + (int)i * 2);
			}
			apd_buf_reset(&t);
			apd_buf_printf(&t, "%s (%s app %s)\n%s, %s%s\ndownload %s to %s\ninstall %s to %s",
			    rcol(s, 0), rcol(s, 10), rcol(s, 11), rcol(s, 1), rcol(s, 12),
			    sqlite3_column_int(s, 19) ? ", tracked by the ESP" : "", rcol(s, 13),
			    rcol(s, 14), rcol(s, 15), rcol(s, 16));
			if (sqlite3_column_type(s, 17) != SQLITE_NULL)
				apd_buf_printf(&t, "\nexit code %lld", sqlite3_column_int64(s, 17));
			if (sqlite3_column_type(s, 20) != SQLITE_NULL)
				apd_buf_printf(&t, "\nheld the ESP %s", report_duration(d, sizeof(d),
				    sqlite3_column_double(s, 20)));
			if (*rcol(s, 18))
				apd_buf_printf(&t, "\nfailure: %s", rcol(s, 18));
			it->title = strdup(t.p ? t.p : "");
			if (!it->label || !it->outcome || !it->title)
				rc = APD_FATAL;
		}
	}
	sqlite3_finalize(s);
	apd_buf_done(&t);
	if (rc != APD_OK)
		return rc;
	/* the clock: UTC when any item can be drawn on it */
	g->clock = 1;
	for (i = 0; i < g->n; i++)
		if (drawable(&g->it[i], 0))
			g->clock = 0;
	clock = g->clock;
	g->t0 = INFINITY;
	g->t1 = -INFINITY;
	for (i = 0; i < g->n; i++) {
		if (!drawable(&g->it[i], clock))
			continue;
		g->drawn++;
		if (g->it[i].s[clock] < g->t0)
			g->t0 = g->it[i].s[clock];
		if (g->it[i].e[clock] > g->t1)
			g->t1 = g->it[i].e[clock];
	}
	if (g->drawn && g->t1 - g->t0 < 60)
		g->t1 = g->t0 + 60;
	return APD_OK;
}

void
gantt_free(struct gantt *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free(g->it[i].label);
		free(g->it[i].outcome);
		free(g->it[i].title);
	}
	free(g->it);
	memset(g, 0, sizeof(*g));
}

/* ---- the timeline as JSON ---- */

/* Move what jw wrote in jb to the output, escaped for a <script> when script. */
static void
jmove(struct rw *w, struct apd_buf *jb, bool script, bool force)
{
	if (!force && jb->n < RW_FLUSH_AT)
		return;
	if (w->rc == APD_OK)
		rw_fail(w, script ? report_script_json(&w->b, jb->p ? jb->p : "", jb->n) :
		    apd_buf_add(&w->b, jb->p ? jb->p : "", jb->n));
	apd_buf_reset(jb);
	rw_flush(w, false);
}

/*
 * The "timeline" member: {"total", "included", "max_message", "sources":
 * [[id, path, kind]], "columns": [...], "rows": [[time, level, source id,
 * where, message, line, cut]]}, in time order (events without a time last).
 */
#define TIMELINE_COLS \
    "SELECT coalesce(e.time_utc, substr(e.ts_local, 1, 23) || ' local', ''), " \
    "e.level, e.source_id, coalesce(CASE WHEN e.event_id IS NOT NULL THEN " \
    "coalesce(e.channel, e.provider, 'event') || ' ' || e.event_id END, e.component, ''), " \
    "substr(coalesce(e.message, ''), 1, ?2), v.line, length(e.message) > ?2 "

/* Any index: sorts every event by ts_sort (local times as if UTC, no time last). */
static const char timeline_sorted_sql[] = TIMELINE_COLS
    "FROM timeline e JOIN event v ON v.id = e.id "
    "ORDER BY e.ts_sort IS NULL, e.ts_sort, e.id LIMIT ?1";
/* Every event has a UTC time, so ts_sort is ts_utc: the same order, read from the
   index event_ts instead of sorted (CROSS JOIN keeps that index the outer loop).  On the
   bench bundle's 1.8 million events the first 200,000 take 0.24 s instead of 1.1 s. */
static const char timeline_utc_sql[] = TIMELINE_COLS
    "FROM event v CROSS JOIN timeline e ON e.id = v.id WHERE v.ts_utc IS NOT NULL "
    "ORDER BY v.ts_utc, v.id LIMIT ?1";

/* The statement for db, whose event table holds total rows (both counts read an index) */
static const char *
timeline_sql(sqlite3 *db, int64_t total)
{
	return total == report_query_int(db, "SELECT count(*) FROM event WHERE ts_utc IS NOT NULL",
	    -1) ? timeline_utc_sql : timeline_sorted_sql;
}

const char *
report_timeline_sql(sqlite3 *db)
{
	return timeline_sql(db, report_query_int(db, "SELECT count(*) FROM event", 0));
}

static void
timeline_json(struct rw *w, struct apd_jw *jw, struct apd_buf *jb, sqlite3 *db,
    const struct report_opts *o, bool script)
{
	static const char *const cols[] = { "time", "level", "source", "where", "message", "line",
		"cut" };
	unsigned max = o->max_events ? o->max_events : REPORT_MAX_EVENTS;
	sqlite3_stmt *s;
	int64_t total;
	size_t i;

	apd_jw_open(jw, "timeline", '{');
	total = report_query_int(db, "SELECT count(*) FROM event", 0);
	apd_jw_int(jw, "total", total);
	apd_jw_int(jw, "included", total > max ? (int64_t)max : total);
	apd_jw_int(jw, "max_message", REPORT_MAX_MESSAGE);
	apd_jw_open(jw, "sources", '[');
	if (sqlite3_prepare_v2(db, "SELECT id, path, kind FROM source WHERE id IN "
	    "(SELECT DISTINCT source_id FROM event) ORDER BY id", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			apd_jw_open(jw, NULL, '[');
			apd_jw_int(jw, NULL, sqlite3_column_int64(s, 0));
			apd_jw_str(jw, NULL, apd_sv_cstr(rcol(s, 1)));
			apd_jw_str(jw, NULL, apd_sv_cstr(rcol(s, 2)));
			apd_jw_close(jw, ']');
		}
	}
	sqlite3_finalize(s);
	apd_jw_close(jw, ']');
	apd_jw_open(jw, "columns", '[');
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		apd_jw_str(jw, NULL, apd_sv_cstr(cols[i]));
	apd_jw_close(jw, ']');
	apd_jw_open(jw, "rows", '[');
	if (sqlite3_prepare_v2(db, timeline_sql(db, total), -1, &s, NULL) != SQLITE_OK) {
		rw_fail(w, APD_FATAL);
		apd_set_error(w->err, APD_FATAL, "report: timeline: %s", sqlite3_errmsg(db));
	} else {
		sqlite3_bind_int64(s, 1, max);
		sqlite3_bind_int(s, 2, REPORT_MAX_MESSAGE);
		while (w->rc == APD_OK && jw->rc == APD_OK && sqlite3_step(s) == SQLITE_ROW) {
			apd_jw_open(jw, NULL, '[');
			apd_jw_str(jw, NULL, apd_sv((const char *)sqlite3_column_text(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0)));
			apd_jw_int(jw, NULL, sqlite3_column_int64(s, 1));
			apd_jw_int(jw, NULL, sqlite3_column_int64(s, 2));
			apd_jw_str(jw, NULL, apd_sv((const char *)sqlite3_column_text(s, 3),
			    (size_t)sqlite3_column_bytes(s, 3)));
			apd_jw_str(jw, NULL, apd_sv((const char *)sqlite3_column_text(s, 4),
			    (size_t)sqlite3_column_bytes(s, 4)));
			if (sqlite3_column_type(s, 5) == SQLITE_NULL)
				apd_jw_raw(jw, NULL, APD_SV_LIT("null"));
			else
				apd_jw_int(jw, NULL, sqlite3_column_int64(s, 5));
			apd_jw_int(jw, NULL, sqlite3_column_int64(s, 6));
			apd_jw_close(jw, ']');
			jmove(w, jb, script, false);
		}
	}
	sqlite3_finalize(s);
	apd_jw_close(jw, ']');
	apd_jw_close(jw, '}');
}

/*
 * The page's data block: {"input", "timeline": {...}}.  Written through
 * report_script_json(): nothing in it can end the <script> element.
 */
void
report_page_data(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input)
{
	struct apd_buf jb;
	struct apd_jw jw;

	apd_buf_init(&jb, (size_t)1 << 30);
	apd_jw_begin(&jw, &jb);
	apd_jw_str(&jw, "apdiag", apd_sv_cstr(apd_version()));
	apd_jw_str(&jw, "input", apd_sv_cstr(input));
	timeline_json(w, &jw, &jb, db, o, true);
	rw_fail(w, apd_jw_end(&jw));
	jmove(w, &jb, true, true);
	apd_buf_done(&jb);
}

static int
write_json(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input)
{
	struct report_rules rr;
	struct apd_buf jb;
	struct apd_jw jw;

	memset(&rr, 0, sizeof(rr));
	rr.evaluated = (unsigned)report_query_int(db, "SELECT CAST(value AS INTEGER) FROM meta "
	    "WHERE key = 'rules.evaluated'", 0);
	rr.ms = (double)report_query_int(db, "SELECT CAST(value AS INTEGER) FROM meta "
	    "WHERE key = 'timing.rules_ms'", 0);
	apd_buf_init(&jb, (size_t)1 << 30);
	apd_jw_begin(&jw, &jb);
	apd_jw_str(&jw, "apdiag", apd_sv_cstr(apd_version()));
	apd_jw_str(&jw, "input", apd_sv_cstr(input));
	apd_jw_int(&jw, "schema_version", APD_SCHEMA_VERSION);
	report_json_model(&jw, db);
	report_json(&jw, db, &rr);
	timeline_json(w, &jw, &jb, db, o, false);
	rw_fail(w, apd_jw_end(&jw));
	rw_fail(w, apd_buf_addc(&jb, '\n'));
	jmove(w, &jb, false, true);
	apd_buf_done(&jb);
	return w->rc;
}

int
report_write(sqlite3 *db, enum report_format fmt, const struct report_opts *o, FILE *f,
    struct apd_error *err)
{
	struct rw w;
	char *input = o->input ? strdup(o->input) :
	    report_query_str(db, "SELECT value FROM meta WHERE key = 'input'");

	rw_init(&w, f, err);
	switch (fmt) {
	case REPORT_MD:
		report_write_md(&w, db, o, input ? input : "");
		break;
	case REPORT_JSON:
		write_json(&w, db, o, input ? input : "");
		break;
	case REPORT_HTML:
	default:
		report_write_html(&w, db, o, input ? input : "");
		break;
	}
	free(input);
	return rw_done(&w);
}
