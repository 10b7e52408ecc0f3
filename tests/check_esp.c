/*
 * check_esp.c - the deployment model (lib/apd_esp*.c, docs/esp.md) on the
 * sample bundles, on the corpus IME logs and on event-log records added
 * through the index's sink the way the EVTX parser emits them.  The tests
 * check the model's numbers: phases and their times, durations, outcomes,
 * app names and exit codes, and the blocking item.
 */
#include "apd_test.h"
#include "apd_esp.h"
#include "apd_esp_lines.h"
#include "apd_store.h"
#include "apd_time.h"
#include "apd_walk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------- */

/* An event-log record to add: what the EVTX parser emits for it. */
struct evrec {
	const char *utc;        /* "YYYY-MM-DDTHH:MM:SS" */
	const char *channel, *provider;
	int event_id;
	const char *message;
	const char *data;       /* EventData as JSON */
};

static int64_t
utc_us(const char *iso)
{
	int64_t us;

	ck_assert_msg(apd_parse_iso(apd_sv_cstr(iso), &us), "bad time %s", iso);
	return us;
}

/* One .evtx source holding recs, through the catalog and sink of the store. */
static void
add_evtx(struct apd_catalog cat, const char *name, const struct evrec *recs, size_t n)
{
	struct apd_source_info si = { 0, name, "evtx", "evtx", NULL, -1 };
	struct apd_source_result res = { "ok", NULL, NULL, -1, NULL };
	struct apd_sink *sink;
	int64_t id = cat.vt->begin(cat.ud, &si);
	size_t i;

	ck_assert_int_gt(id, 0);
	sink = cat.vt->sink(cat.ud, id);
	for (i = 0; i < n; i++) {
		struct apd_event ev;
		apd_event_init(&ev);
		ev.ts_utc = utc_us(recs[i].utc);
		ev.tz = APD_TZ_UTC;
		ev.level = 4;
		ev.channel = apd_sv_cstr(recs[i].channel);
		ev.provider = apd_sv_cstr(recs[i].provider);
		ev.event_id = recs[i].event_id;
		ev.message = apd_sv_cstr(recs[i].message);
		ev.data = apd_sv_cstr(recs[i].data);
		ck_assert_int_eq(apd_emit_event(sink, &ev), APD_OK);
	}
	ck_assert_int_eq(cat.vt->end(cat.ud, id, &res), APD_OK);
}

/* Index input (may be NULL) plus the event records; returns the read-only database. */
static sqlite3 *
index_with(const char *input, const struct evrec *recs, size_t n)
{
	struct apd_limits lim;
	struct apd_store *st;
	struct apd_error err;
	struct apd_walk w;
	sqlite3 *db;

	apd_limits_default(&lim);
	ck_assert_int_eq(apd_store_create(&st, apd_test_tpath("index.db"), &lim, &err), APD_OK);
	if (input) {
		apd_walk_init(&w, &lim, apd_store_catalog(st));
		ck_assert_msg(apd_walk_input(&w, input) != APD_FATAL, "walk: %s", w.err.msg);
	}
	if (n)
		add_evtx(apd_store_catalog(st), "Microsoft-Windows-Shell-Core%4Operational.evtx", recs, n);
	ck_assert_msg(apd_store_finish(st, &err) == APD_OK, "finish: %s", err.msg);
	apd_store_free(st);
	ck_assert_int_eq(sqlite3_open_v2(apd_test_tpath("index.db"), &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	return db;
}

static sqlite3 *
index_sample(const char *rel)
{
	return index_with(apd_test_src(rel), NULL, 0);
}

/* The text of a one-value query ("(null)" for NULL, NULL for no row); a static copy. */
static const char *
q1(sqlite3 *db, const char *sql)
{
	static char buf[2][2048];
	static int k;
	sqlite3_stmt *s;
	const char *r = NULL;

	k ^= 1;
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(buf[k], sizeof(buf[k]), "%s", sqlite3_column_type(s, 0) == SQLITE_NULL ?
		    "(null)" : (const char *)sqlite3_column_text(s, 0));
		r = buf[k];
	}
	sqlite3_finalize(s);
	return r;
}

static double
qd(sqlite3 *db, const char *sql)
{
	const char *v = q1(db, sql);

	ck_assert_msg(v != NULL && strcmp(v, "(null)") != 0, "no value: %s", sql);
	return atof(v);
}

#define CK_STR(db, sql, want) do {                                              \
		const char *got_ = q1((db), (sql));                             \
		ck_assert_msg(got_ && strcmp(got_, (want)) == 0, "%s\n  got  %s\n  want %s", \
		    (sql), got_ ? got_ : "(no row)", (want));                   \
	} while (0)
#define CK_NEAR(db, sql, want, tol) do {                                        \
		double got_ = qd((db), (sql));                                  \
		ck_assert_msg(fabs(got_ - (want)) <= (tol), "%s\n  got  %.6f\n  want %.6f", \
		    (sql), got_, (double)(want));                               \
	} while (0)

/* a phase's column: ph("DeviceSetup", "outcome") */
static const char *
ph(const char *phase, const char *col)
{
	static char buf[2][1024];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "SELECT %s FROM esp_phase WHERE phase = '%s' ORDER BY id "
	    "DESC LIMIT 1", col, phase);
	return buf[k];
}

static const char *
app(const char *id, const char *col)
{
	static char buf[2][1024];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "SELECT %s FROM app WHERE id = '%s'", col, id);
	return buf[k];
}

#define ISO(c) "strftime('%Y-%m-%dT%H:%M:%fZ', " c " / 1e6, 'unixepoch')"

#define VPN   "8c6e2f1a-4b3d-4f9e-a2c7-5d1b0e9f3a64"
#define CERTS "1d7b3e5f-9a2c-4c6e-8b1d-3f5a7c9e1b2d"
#define ZIP7  "b2c4d6e8-0a1b-4c3d-9e5f-7a8b9c0d1e2f"
#define SUITE "4f3e2d1c-0b9a-4876-9543-210fedcba987"
#define TEAMS "9f1b3d5e-7a9c-4b2d-8f0e-2a4c6e8b0d1f"
#define PROXY "6a9d2c4e-1f3b-4a5c-8d7e-9f0a1b2c3d4e"
#define EXPENSE "3e5a7c9b-2d4f-4a6c-8e0b-1d3f5a7c9e0b"
#define IME_MSI "{9E1B4C27-5D3A-4F60-A8B2-7C1D0E3F5A94}"

/* ---- the line patterns ------------------------------------------------------- */

/*
 * Every example of lib/apd_ime_lines.txt: the regex matches the ex: lines
 * and not the no: lines, and the FTS5 prefilter finds every ex: line in a
 * real FTS5 table with the index's definition (so the prefilter never hides
 * a line the regex would read).
 */
START_TEST(test_lines_examples)
{
	struct apd_esp_lines *L;
	struct apd_error err;
	sqlite3 *db;
	sqlite3_stmt *ins, *q;
	size_t i, k, n, rowid = 0;

	ck_assert_msg(apd_esp_lines_load(&L, apd_ime_lines_txt, &err) == APD_OK, "%s", err.msg);
	ck_assert_int_ge(apd_esp_lines_count(L), 40);
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE VIRTUAL TABLE event_fts USING fts5(message, "
	    "columnsize = 0)", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO event_fts(rowid, message) VALUES (?1, ?2)",
	    -1, &ins, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM event_fts WHERE event_fts "
	    "MATCH ?1 AND rowid = ?2", -1, &q, NULL), SQLITE_OK);
	for (i = 0; i < apd_esp_lines_count(L); i++) {
		const struct apd_esp_example *ex;
		n = apd_esp_lines_examples(L, i, &ex);
		ck_assert_int_ge(n, 1);
		for (k = 0; k < n; k++) {
			struct apd_esp_match m;
			bool hit = apd_esp_lines_match(L, i, ex[k].text, strlen(ex[k].text), &m);
			ck_assert_msg(hit == ex[k].positive, "apd_ime_lines.txt:%u (%s): regex %s '%s'",
			    apd_esp_lines_line(L, i), apd_esp_line_kind_name(apd_esp_lines_kind(L, i)),
			    hit ? "matches" : "does not match", ex[k].text);
			if (hit)
				ck_assert_int_eq(m.kind, apd_esp_lines_kind(L, i));
			if (!ex[k].positive)
				continue;
			sqlite3_bind_int64(ins, 1, (sqlite3_int64)++rowid);
			sqlite3_bind_text(ins, 2, ex[k].text, -1, SQLITE_STATIC);
			ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
			sqlite3_reset(ins);
			sqlite3_bind_text(q, 1, apd_esp_lines_fts(L, i), -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 2, (sqlite3_int64)rowid);
			ck_assert_msg(sqlite3_step(q) == SQLITE_ROW, "fts: %s", sqlite3_errmsg(db));
			ck_assert_msg(sqlite3_column_int(q, 0) == 1, "apd_ime_lines.txt:%u: fts '%s' misses '%s'",
			    apd_esp_lines_line(L, i), apd_esp_lines_fts(L, i), ex[k].text);
			sqlite3_reset(q);
		}
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(q);
	sqlite3_close(db);
	apd_esp_lines_free(L);
}
END_TEST

/* The captured groups are what the C code reads. */
START_TEST(test_lines_groups)
{
	static const char line[] = "[Win32App][EspManager] Updating ESP tracked install status from "
	    "NotInstalled to InProgress for application 4f3e2d1c-0b9a-4876-9543-210fedcba987 with name: "
	    "Contoso LOB Suite 2025.";
	struct apd_esp_lines *L;
	struct apd_esp_match m;
	struct apd_error err;
	size_t i;
	int seen = 0;

	ck_assert_int_eq(apd_esp_lines_load(&L, apd_ime_lines_txt, &err), APD_OK);
	for (i = 0; i < apd_esp_lines_count(L); i++) {
		if (!apd_esp_lines_match(L, i, line, strlen(line), &m))
			continue;
		seen++;
		ck_assert_int_eq(m.kind, ESPL_ESP_UPDATE);
		ck_assert_int_eq((int)m.f[ESPF_APP].n, 36);
		ck_assert(strncmp(m.f[ESPF_FROM].p, "NotInstalled", m.f[ESPF_FROM].n) == 0);
		ck_assert(strncmp(m.f[ESPF_TO].p, "InProgress", m.f[ESPF_TO].n) == 0);
		ck_assert_int_eq((int)m.f[ESPF_NAME].n, (int)strlen("Contoso LOB Suite 2025"));
		ck_assert_ptr_null(m.f[ESPF_CODE].p);
	}
	ck_assert_int_eq(seen, 1);
	apd_esp_lines_free(L);
}
END_TEST

START_TEST(test_lines_load_errors)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[no-such-kind]\nfts: x\nre: x\nex: x\n", ":1: unknown kind" },
		{ "[grs]\nfts: x\nre: (?<bogus>x)\nex: x\n", ":1: unknown group name 'bogus'" },
		{ "[grs]\nfts: x\nre: (x\nex: x\n", ":1: regex: missing closing parenthesis" },
		{ "[grs]\nfts: x\nex: x\n", ":1: an entry needs fts:, re: and an ex: first" },
		{ "[grs]\nfts: x\nre: x\nno: x\n", ":1: an entry needs" },
		{ "[grs]\nfts: x\nre: x\nex: x\nwhat: x\n", ":5: cannot read 'what: x'" },
	};
	struct apd_esp_lines *L;
	struct apd_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		apd_error_clear(&err);
		ck_assert_int_eq(apd_esp_lines_load(&L, bad[i].text, &err), APD_FAILED);
		ck_assert_ptr_null(L);
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "%zu: %s", i, err.msg);
	}
}
END_TEST

struct terms_seen {
	char text[512];
};

static void
collect_term(void *ud, size_t alt, const char *tok)
{
	struct terms_seen *t = ud;
	size_t n = strlen(t->text);

	snprintf(t->text + n, sizeof(t->text) - n, "%s%zu:%s", n ? " " : "", alt, tok);
}

/* The tokens a full-text watch looks for: every shipped entry has some; OR splits them
   into alternatives; what this does not read gives none. */
START_TEST(test_lines_terms)
{
	static const struct {
		const char *fts, *want;
		size_t nalt;
	} cases[] = {
		{ "\"Content cache miss\"", "0:content 0:cache 0:miss", 1 },
		{ "\"DO download and decryption\" OR \"download completes\"",
		  "0:do 0:download 0:and 0:decryption 1:download 1:completes", 2 },
		{ "\"SetCurrentDirectory\" AND \"IMECache\"", "0:setcurrentdirectory 0:imecache", 1 },
		{ "\"Win32App_x, install: 2\"", "0:win32app 0:x 0:install 0:2", 1 },
		{ "\"a\" NOT \"b\"", "", 0 },
		{ "bare", "", 0 },
		{ "\"a\" OR", "", 0 },
		{ "\"caf\xc3\xa9\"", "", 0 },
	};
	struct apd_esp_lines *L;
	struct apd_error err;
	struct terms_seen t;
	char text[512];
	size_t i;

	ck_assert_int_eq(apd_esp_lines_load(&L, apd_ime_lines_txt, &err), APD_OK);
	for (i = 0; i < apd_esp_lines_count(L); i++) {
		t.text[0] = '\0';
		ck_assert_msg(apd_esp_lines_terms(L, i, collect_term, &t) > 0, "entry %zu: %s", i,
		    apd_esp_lines_fts(L, i));
	}
	apd_esp_lines_free(L);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[grs]\nfts: %s\nre: GRS\nex: GRS\n", cases[i].fts);
		ck_assert_int_eq(apd_esp_lines_load(&L, text, &err), APD_OK);
		t.text[0] = '\0';
		ck_assert_uint_eq(apd_esp_lines_terms(L, 0, collect_term, &t), cases[i].nalt);
		ck_assert_str_eq(t.text, cases[i].want);
		apd_esp_lines_free(L);
	}
}
END_TEST

/*
 * While the index is built, the model reads its IME lines from the full-text
 * thread's watch; on a finished index it queries the full-text index.  Both
 * must give the same model, on every sample and on the real IME logs: the
 * model is rebuilt the second way on a copy and the tables compared.
 */
static long
check_watch_agrees(const char *input)
{
	static const char *const tables[] = { "app", "app_event", "script", "esp_phase",
		"deployment" };
	struct apd_error err;
	sqlite3 *db = index_with(input, NULL, 0);
	char sql[512];
	size_t i;
	long n;

	CK_STR(db, "SELECT value FROM meta WHERE key = 'model.ime_from'", "watch");
	sqlite3_close(db);
	ck_assert_int_eq(sqlite3_open(apd_test_tpath("index.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "ATTACH ':memory:' AS keep; BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "CREATE TABLE keep.%s AS SELECT * FROM main.%s; "
		    "DELETE FROM main.%s", tables[i], tables[i], tables[i]);
		ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	}
	ck_assert_int_eq(sqlite3_exec(db, "DROP INDEX app_event_app; "
	    "DELETE FROM fact WHERE name = 'ime.version'", NULL, NULL, NULL), SQLITE_OK);
	apd_error_clear(&err);
	ck_assert_msg(apd_esp_derive(db, &err) == APD_OK, "%s", err.msg);
	CK_STR(db, "SELECT value FROM meta WHERE key = 'model.ime_from'", "index");
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM main.%s) || ' ' || "
		    "(SELECT count(*) FROM (SELECT * FROM main.%s EXCEPT SELECT * FROM keep.%s)) || ' ' || "
		    "(SELECT count(*) FROM (SELECT * FROM keep.%s EXCEPT SELECT * FROM main.%s))",
		    tables[i], tables[i], tables[i], tables[i], tables[i]);
		const char *r = q1(db, sql);
		ck_assert_msg(strstr(r, " 0 0") != NULL, "%s: %s rows, differing both ways: %s", input,
		    tables[i], r);
	}
	n = strtol(q1(db, "SELECT count(*) FROM app_event"), NULL, 10);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return n;
}

START_TEST(test_watch_and_index_agree)
{
	static const char *const samples[] = {
		"samples/mdmdiag-esp-app-failure.cab", "samples/mdmdiag-preprov-notcomputed.cab",
		"samples/mdmdiag-hybrid-user-app-failure.cab", "samples/mdmdiag-preprovisioned.cab",
		"samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip",
		"samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip",
	};
	static const char *const corpus[] = {
		"ime/IntuneManagementExtension-2025-08-04b.log", "ime/IntuneManagementExtension-2025-08-01.log",
	};
	const char *path;
	long events = 0;
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		events += check_watch_agrees(apd_test_src(samples[i]));
	ck_assert_int_gt(events, 100);   /* the samples' models have app timelines to compare */
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		if ((path = apd_test_corpus(corpus[i])) == NULL) {
			fprintf(stderr, "check_esp: corpus file %s not found; skipped\n", corpus[i]);
			continue;
		}
		check_watch_agrees(path);
	}
}
END_TEST

/* ---- the samples ---------------------------------------------------------------- */

/*
 * Bundle A: user-driven Entra join, Pacific clock known; the VPN client exits
 * 1603 in the device phase.  The phase starts at the first IME CheckEspPhase
 * (08:55:55.5511905 PDT), ends at the app's Error (09:05:52.5634415 PDT).
 */
START_TEST(test_sample_esp_app_failure)
{
	sqlite3 *db = index_sample("samples/mdmdiag-esp-app-failure.cab");

	CK_STR(db, "SELECT count(*) FROM meta WHERE key = 'model.error'", "0");
	CK_STR(db, "SELECT group_concat(value) FROM fact WHERE name = 'ime.version'", "1.93.102.0");
	CK_STR(db, "SELECT scenario || '|' || join_method || '|' || profile_name || '|' || "
	    "tenant_domain || '|' || profile_source FROM deployment", "user-driven-entra|entra|"
	    "Contoso User-Driven Entra Join|contoso.onmicrosoft.com|AutopilotDDSZTDFile.json");
	CK_STR(db, "SELECT oobe_config || ' ' || oobe_config_bits FROM deployment",
	    "284 [\"SkipExpressSettings\",\"SkipOemRegistration\",\"SkipEula\",\"SkipWindowsUpgradeUX\"]");
	CK_STR(db, "SELECT esp_device_page || esp_user_page || ' ' || esp_timeout_min || ' ' || "
	    "esp_block_flags || esp_allow_reset || esp_allow_retry || esp_allow_continue FROM deployment",
	    "11 60 7111");
	CK_STR(db, "SELECT esp_outcome FROM deployment", "failed");
	CK_NEAR(db, "SELECT esp_duration_s FROM deployment", 597.012251, 1e-6);
	/* phases */
	CK_STR(db, "SELECT group_concat(phase || ':' || outcome, ' ') FROM esp_phase",
	    "DevicePreparation:succeeded DeviceSetup:failed AccountSetup:not-started");
	CK_STR(db, ph("DeviceSetup", ISO("start_utc") " || ' ' || start_local || ' ' || start_source"),
	    "2025-10-01T15:55:55.551Z 2025-10-01 08:55:55.5511905 IME CheckEspPhase");
	CK_STR(db, ph("DeviceSetup", ISO("end_utc") " || ' ' || end_local || ' ' || end_source"),
	    "2025-10-01T16:05:52.563Z 2025-10-01 09:05:52.5634415 app Error in the logs");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 597.012251, 1e-6);
	CK_STR(db, ph("DeviceSetup", "outcome_source || ' ' || timeout_min || ' ' || apps"),
	    "registry DeviceSetupCategory.Status 60 3");
	CK_STR(db, ph("DeviceSetup", "detail"), "{\"DeviceSetup.SecurityPoliciesSubcategory\":"
	    "\"succeeded\",\"DeviceSetup.CertificatesSubcategory\":\"succeeded\","
	    "\"DeviceSetup.NetworkConnectionsSubcategory\":\"succeeded\",\"DeviceSetup.AppsSubcategory\":"
	    "\"failed\"}");
	/* preparation ends where device setup starts; its start is unknown, not guessed */
	CK_STR(db, ph("DevicePreparation", "coalesce(start_utc, 'none') || ' ' || " ISO("end_utc")
	    " || ' ' || end_source"), "none 2025-10-01T15:55:55.551Z DeviceSetup start");
	CK_STR(db, ph("AccountSetup", "coalesce(start_utc, start_local, 'none')"), "none");
	/* the blocking app */
	CK_STR(db, "SELECT blocking_kind || '|' || blocking_id || '|' || blocking_name || '|' || "
	    "blocking_phase || '|' || blocking_reason || '|' || blocking_code || '|' || blocking_code_hex "
	    "FROM deployment", "app|" VPN "|Contoso VPN Client 5.2|DeviceSetup|exit code 1603|"
	    "-2147023293|0x80070643");
	/* apps: names from the policy JSON, numbers from AppWorkload.log */
	CK_STR(db, "SELECT count(*) || ' ' || sum(esp_tracked) FROM app", "4 4");
	CK_STR(db, app(VPN, "name || '|' || name_source || '|' || kind || '|' || revision || '|' || "
	    "intent || '|' || target || '|' || phase || '|' || esp_state || '|' || outcome"),
	    "Contoso VPN Client 5.2|IME policy (Get policies)|win32|1|required|device|DeviceSetup|Error|"
	    "failed");
	CK_STR(db, app(VPN, "exit_code || ' ' || hresult || ' ' || hresult_hex || ' ' || "
	    "enforcement_state || ' ' || detection || ' ' || attempts || ' ' || size_bytes"),
	    "1603 -2147023293 0x80070643 5000 NotDetected 1 48211968");
	CK_STR(db, app(VPN, "download_start_local || ' ' || download_end_local || ' ' || "
	    "install_start_local || ' ' || install_end_local"), "2025-10-01 09:00:02.0878760 "
	    "2025-10-01 09:00:09.2992994 2025-10-01 09:00:09.6466800 2025-10-01 09:05:52.5542782");
	CK_NEAR(db, app(VPN, "download_s"), 7.211423, 1e-5);
	CK_NEAR(db, app(VPN, "install_s"), 342.907598, 1e-5);
	/* from NotInstalled -> InProgress... no: from its download start to its Error */
	CK_NEAR(db, app(VPN, "held_esp_s"), 350.475565, 1e-5);
	CK_STR(db, app(VPN, "failure || ' ' || failure_code_hex"), "exit code 1603 0x80070643");
	CK_STR(db, app(CERTS, "outcome || ' ' || exit_code || ' ' || enforcement_state || ' ' || "
	    "detection || ' ' || esp_state"), "installed 0 1000 Detected Completed");
	CK_NEAR(db, app(CERTS, "held_esp_s"), 39.544422, 1e-5);
	CK_STR(db, app(ZIP7, "name || ' ' || outcome"), "7-Zip 24.08 (x64) installed");
	/* the agent's own MSI, expected by the ESP in device preparation */
	CK_STR(db, app(IME_MSI, "kind || '|' || name || '|' || phase || '|' || outcome"),
	    "msi|Intune Management Extension (agent MSI)|DevicePreparation|installed");
	/* the timeline of an app points at the log lines */
	CK_STR(db, "SELECT e.message FROM app_event a JOIN event e ON e.id = a.event_id WHERE "
	    "a.app_id = '" VPN "' AND a.kind = 'exit-code'", "[Win32App] lpExitCode 1603");
	CK_STR(db, "SELECT count(*) FROM app_event WHERE app_id = '" VPN "' AND kind = 'esp-state' "
	    "AND reg_val_id IS NOT NULL", "4");   /* the four ESPTrackingInfo snapshots */
	/* scripts: one platform script fails, a distraction */
	CK_STR(db, "SELECT count(*) || ' ' || sum(result = 'Failed') FROM script WHERE kind = 'platform'",
	    "4 1");
	CK_STR(db, "SELECT exit_code || '|' || error || '|' || context || '|' || phase || '|' || runs "
	    "FROM script WHERE result = 'Failed'", "1|New-ItemProperty : The property already exists.|"
	    "system|DeviceSetup|2");
	sqlite3_close(db);
}
END_TEST

/*
 * PC01 (Intune zip, flattened): success.  No zone in the bundle: the device
 * phase is timed by the registry snapshots (UTC), the account phase only on
 * the device's clock (the IME log); neither is converted by guessing.  The
 * IME logs are both in the zip and in its nested cab and are read once.
 */
START_TEST(test_sample_pc01)
{
	sqlite3 *db = index_sample("samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip");

	CK_STR(db, "SELECT scenario || ' ' || esp_outcome FROM deployment", "user-driven-entra succeeded");
	CK_STR(db, "SELECT coalesce(blocking_kind, 'none') FROM deployment", "none");
	CK_STR(db, ph("DeviceSetup", ISO("start_utc") " || ' ' || " ISO("end_utc") " || ' ' || "
	    "start_source || ' / ' || end_source"), "2025-10-01T09:36:02.405Z 2025-10-01T09:42:55.730Z "
	    "first ESPTrackingInfo snapshot / ESPTrackingInfo snapshot: all apps completed");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 413.325, 1e-6);
	CK_STR(db, ph("AccountSetup", "coalesce(start_utc, 'null') || ' ' || start_local || ' ' || "
	    "end_local || ' ' || outcome"), "null 2025-10-01 10:42:41.5017182 2025-10-01 10:46:41.2794904 "
	    "succeeded");
	CK_NEAR(db, ph("AccountSetup", "duration_s"), 239.777772, 1e-6);
	/* an overall duration would mix the two clocks: unknown */
	CK_STR(db, "SELECT coalesce(esp_duration_s, 'null') FROM deployment", "null");
	CK_STR(db, "SELECT group_concat(attempts, ',') FROM app WHERE kind = 'win32'", "1,1");
	CK_STR(db, app(CERTS, "compliance_state || ' ' || enforcement_state || ' ' || outcome"),
	    "1 1000 installed");
	sqlite3_close(db);
}
END_TEST

/*
 * PC02 (Intune zip, numbered folders): the LOB suite hangs for an hour; the
 * ESP times out 60 minutes after its first snapshot (07:06:01.118Z).
 */
START_TEST(test_sample_pc02)
{
	sqlite3 *db = index_sample("samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip");

	CK_STR(db, "SELECT esp_outcome FROM deployment", "timed-out");
	CK_STR(db, ph("DeviceSetup", ISO("start_utc") " || ' ' || " ISO("end_utc") " || ' ' || "
	    "end_source || ' ' || outcome"), "2025-10-02T07:06:01.118Z 2025-10-02T08:06:01.118Z "
	    "start + ESP timeout (SyncFailureTimeout) timed-out");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 3600, 1e-6);
	CK_STR(db, ph("AccountSetup", "outcome"), "not-started");
	CK_STR(db, "SELECT blocking_kind || '|' || blocking_name || '|' || blocking_phase || '|' || "
	    "blocking_reason || '|' || blocking_code_hex FROM deployment", "app|Contoso LOB Suite 2025|"
	    "DeviceSetup|installer timed out after 60 min; the ESP timed out after 60 min|0x87D300C9");
	CK_STR(db, app(SUITE, "outcome || ' ' || esp_state || ' ' || enforcement_state || ' ' || "
	    "compliance_state || ' ' || coalesce(exit_code, 'null') || ' ' || size_bytes"),
	    "timed-out InProgress 5000 4 null 312475648");
	CK_NEAR(db, app(SUITE, "install_s"), 3600.384904, 1e-5);
	/* it held the ESP for all of the phase, not longer */
	CK_NEAR(db, app(SUITE, "held_esp_s"), 3600, 1e-6);
	CK_STR(db, app(SUITE, "name_source"), "IME policy (Get policies)");
	sqlite3_close(db);
}
END_TEST

/* A device that is not registered: no profile, no ESP; the evidence says why. */
START_TEST(test_sample_profile_not_assigned)
{
	sqlite3 *db = index_sample("samples/folder-profile-not-assigned");

	CK_STR(db, "SELECT scenario || ' ' || esp_outcome || ' ' || profile_error || ' ' || "
	    "profile_error_reason FROM deployment", "none not-shown 807 ZtdDeviceIsNotRegistered");
	CK_STR(db, "SELECT coalesce(oobe_config, 'null') || ' ' || coalesce(profile_name, 'null') "
	    "FROM deployment", "null null");
	CK_STR(db, "SELECT evidence FROM deployment", "[\"no Autopilot profile: AutopilotDDSZTDFile.json "
	    "ErrorCode 807 ZtdDeviceIsNotRegistered\",\"registry Diagnostics\\\\Autopilot\\\\"
	    "IsAutoPilotDisabled = 1\"]");
	CK_STR(db, "SELECT (SELECT count(*) FROM esp_phase) || ' ' || (SELECT count(*) FROM app)", "0 0");
	sqlite3_close(db);
}
END_TEST

/*
 * The hybrid cab: the account phase fails on a user-context app.  The phase
 * starts at the user's first snapshot (07:31:36.455Z), not at IME's
 * AccountSetup from the device session before anyone signed in.
 */
START_TEST(test_sample_hybrid)
{
	sqlite3 *db = index_sample("samples/mdmdiag-hybrid-user-app-failure.cab");

	CK_STR(db, "SELECT scenario || ' ' || join_method || ' ' || profile_name FROM deployment",
	    "user-driven-hybrid hybrid Contoso Hybrid Azure AD Join");
	CK_STR(db, "SELECT json_extract(evidence, '$[1]') FROM deployment",
	    "registry OMADM\\SyncML\\ODJApplied = 1 (offline domain join blob applied)");
	CK_STR(db, "SELECT esp_timeout_min || ' ' || esp_block_flags || esp_allow_reset || "
	    "esp_allow_retry || esp_allow_continue FROM deployment", "90 3110");
	CK_STR(db, "SELECT group_concat(phase || ':' || outcome, ' ') FROM esp_phase",
	    "DevicePreparation:succeeded DeviceSetup:succeeded AccountSetup:failed");
	CK_STR(db, ph("DeviceSetup", ISO("start_utc") " || ' ' || " ISO("end_utc")),
	    "2025-10-06T07:12:16.255Z 2025-10-06T07:16:53.206Z");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 276.951481, 1e-6);
	CK_STR(db, ph("AccountSetup", ISO("start_utc") " || ' ' || start_source || ' / ' || "
	    ISO("end_utc") " || ' ' || end_local || ' ' || outcome_source"), "2025-10-06T07:31:36.455Z "
	    "first ESPTrackingInfo snapshot / 2025-10-06T07:35:27.444Z 2025-10-06 09:35:27.4435226 "
	    "registry AccountSetupCategory.Status");
	CK_NEAR(db, ph("AccountSetup", "duration_s"), 230.988522, 1e-6);
	CK_STR(db, ph("AccountSetup", "apps"), "3");
	CK_STR(db, "SELECT blocking_kind || '|' || blocking_name || '|' || blocking_phase || '|' || "
	    "blocking_reason || '|' || blocking_code_hex FROM deployment",
	    "app|Contoso Teams Add-in 2.4|AccountSetup|exit code 1|0x80070001");
	CK_STR(db, app(TEAMS, "target || ' ' || phase || ' ' || esp_state || ' ' || exit_code"),
	    "user AccountSetup Error 1");
	CK_STR(db, app(EXPENSE, "target || ' ' || phase || ' ' || outcome"), "user AccountSetup installed");
	/* Delivery Optimization: 62 % of the proxy package came from peers */
	CK_NEAR(db, app(PROXY, "do_peer_pct"), 62.0, 0.01);
	CK_STR(db, app(PROXY, "size_bytes"), "86507520");
	CK_STR(db, "SELECT name || ' ' || phase || ' ' || outcome FROM app WHERE kind = 'msi' AND "
	    "id <> '" IME_MSI "'", "ContosoPrinterDrivers.msi DeviceSetup installed");
	CK_STR(db, "SELECT substr(name, 1, 20) || '|' || target || '|' || phase || '|' || outcome FROM "
	    "app WHERE kind = 'store'", "Contoso Kundenportal|user|AccountSetup|installed");
	/* remediations from HealthScripts.log, named by their policy */
	CK_STR(db, "SELECT group_concat(name, ', ') FROM (SELECT name FROM script WHERE kind = "
	    "'remediation' ORDER BY name)", "Contoso Clear Teams Cache, Contoso Restart Print Spooler");
	CK_STR(db, "SELECT exit_code || ' ' || result FROM script WHERE name = "
	    "'Contoso Restart Print Spooler'", "0 3");
	sqlite3_close(db);
}
END_TEST

/* The pre-provisioned cab without its event logs: two ESP sittings 42 hours apart. */
START_TEST(test_sample_preprovisioned_without_events)
{
	sqlite3 *db = index_sample("samples/mdmdiag-preprovisioned.cab");

	CK_STR(db, "SELECT scenario || ' ' || coalesce(flow, 'null') || ' ' || esp_outcome FROM deployment",
	    "user-driven-entra null succeeded");
	CK_STR(db, "SELECT json_extract(evidence, '$[3]') FROM deployment", "the account setup started "
	    "42 h after the device setup ended: a pre-provisioned device (technician flow, then user "
	    "flow) shows this; the Shell-Core and ModernDeployment event logs would confirm it");
	CK_STR(db, ph("DeviceSetup", "start_local || ' ' || outcome"),
	    "2025-10-07 14:05:42.1715978 succeeded");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 560.416403, 1e-6);
	CK_STR(db, ph("AccountSetup", ISO("start_utc")), "2025-10-09T15:12:05.083Z");
	CK_NEAR(db, ph("AccountSetup", "duration_s"), 127.267, 1e-6);
	CK_STR(db, "SELECT count(*) FROM app WHERE outcome = 'installed'", "5");
	sqlite3_close(db);
}
END_TEST

#define SC "Microsoft-Windows-Shell-Core"
#define SCO "Microsoft-Windows-Shell-Core/Operational"
#define CXH(name, value) "CloudExperienceHost Web App Event 2. Name: '" name "', Value: '" value "'.", \
	"{\"Name\":\"" name "\",\"Value\":\"" value "\"}"

/* The Shell-Core CXH records of a pre-provisioned deployment (UTC). */
static const struct evrec preprov_events[] = {
	{ "2025-10-07T21:03:02", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_WhiteGloveMode_True",
	    "BootstrapStatus: White Glove flow = true.") },
	{ "2025-10-07T21:03:05", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
	    "BootstrapStatus: Starting category DevicePreparationCategory...") },
	{ "2025-10-07T21:05:40", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
	    "BootstrapStatus: Category DevicePreparationCategory succeeded.") },
	{ "2025-10-07T21:05:41", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
	    "BootstrapStatus: Starting category DeviceSetupCategory...") },
	{ "2025-10-07T21:17:05", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
	    "BootstrapStatus: Category DeviceSetupCategory succeeded.") },
	{ "2025-10-07T21:17:12", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_WhiteGlove_Success",
	    "BootstrapStatus: Exiting page due to White Glove success.") },
	{ "2025-10-09T15:08:30", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_WhiteGloveMode_False",
	    "BootstrapStatus: White Glove flow = false.") },
	{ "2025-10-09T15:08:31", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
	    "BootstrapStatus: Starting category DevicePreparationCategory...") },
	{ "2025-10-09T15:10:02", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
	    "BootstrapStatus: Category DevicePreparationCategory succeeded.") },
	{ "2025-10-09T15:10:03", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
	    "BootstrapStatus: Starting category DeviceSetupCategory...") },
	{ "2025-10-09T15:10:40", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
	    "BootstrapStatus: Category DeviceSetupCategory succeeded.") },
	{ "2025-10-09T15:11:50", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
	    "BootstrapStatus: Starting category AccountSetupCategory...") },
	{ "2025-10-09T15:15:10", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
	    "BootstrapStatus: Category AccountSetupCategory succeeded.") },
	{ "2025-10-09T15:15:16", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Page_Exiting",
	    "BootstrapStatus: Exiting page normally.") },
};

/*
 * With the Shell-Core records the same cab is a pre-provisioned deployment:
 * the technician flow ends at WhiteGlove_Success, the user flow follows; the
 * category events time every phase.
 */
START_TEST(test_preprovisioned_with_events)
{
	sqlite3 *db = index_with(apd_test_src("samples/mdmdiag-preprovisioned.cab"), preprov_events,
	    sizeof(preprov_events) / sizeof(preprov_events[0]));

	CK_STR(db, "SELECT scenario || ' ' || flow || ' ' || esp_outcome FROM deployment",
	    "pre-provisioned technician+user succeeded");
	CK_STR(db, "SELECT group_concat(phase || '/' || flow || ':' || outcome || ':' || "
	    "CAST(duration_s AS INTEGER), ' ') FROM esp_phase", "DevicePreparation/technician:succeeded:155 "
	    "DeviceSetup/technician:succeeded:684 DevicePreparation/user:succeeded:91 "
	    "DeviceSetup/user:succeeded:37 AccountSetup/user:succeeded:200");
	CK_STR(db, "SELECT start_source || ' / ' || end_source FROM esp_phase WHERE phase = 'DeviceSetup' "
	    "AND flow = 'technician'", "Shell-Core 62407 Category_Started / Shell-Core 62407 "
	    "Category_Success");
	/* the ESP the user saw: the user flow */
	CK_STR(db, "SELECT " ISO("esp_start_utc") " || ' ' || " ISO("esp_end_utc") " || ' ' || "
	    "esp_duration_s FROM deployment", "2025-10-09T15:08:31.000Z 2025-10-09T15:15:10.000Z 399.0");
	CK_STR(db, "SELECT apps FROM esp_phase WHERE phase = 'AccountSetup'", "1");
	sqlite3_close(db);
}
END_TEST

/*
 * Event-log markers on a bundle without registry or logs: the category
 * events give the phases, a ModernDeployment 298 makes the tracked app fail,
 * DeviceManagement 107 says the domain join blob was applied.
 */
START_TEST(test_events_only)
{
	static const struct evrec recs[] = {
		{ "2025-11-03T10:00:00", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
		    "BootstrapStatus: Starting category DevicePreparationCategory...") },
		{ "2025-11-03T10:04:00", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Success",
		    "BootstrapStatus: Category DevicePreparationCategory succeeded.") },
		{ "2025-11-03T10:04:01", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Started",
		    "BootstrapStatus: Starting category DeviceSetupCategory...") },
		{ "2025-11-03T10:06:30", "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot",
		    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider", 297,
		    "Tracking resource type Apps. Starting installation tracking app 'Win32App_0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9_1'.",
		    "{\"ResourceType\":\"Apps\",\"AppId\":\"Win32App_0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9_1\"}" },
		{ "2025-11-03T10:09:45", "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot",
		    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider", 298,
		    "Tracking resource type Apps. An error occurred while installing app 'Win32App_0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9_1'.",
		    "{\"ResourceType\":\"Apps\",\"AppId\":\"Win32App_0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9_1\"}" },
		{ "2025-11-03T10:09:46", SCO, SC, 62407, CXH("CommercialOOBE_ESPProgress_Category_Failed",
		    "BootstrapStatus: Category DeviceSetupCategory failed.") },
		{ "2025-11-03T09:58:00", "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin",
		    "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider", 107,
		    "Offline Domain Join: Successfully applied offline domain join blob.", "{}" },
	};
	sqlite3 *db = index_with(NULL, recs, sizeof(recs) / sizeof(recs[0]));

	CK_STR(db, "SELECT group_concat(phase || ':' || outcome || ':' || coalesce(CAST(duration_s AS "
	    "INTEGER), '-'), ' ') FROM esp_phase", "DevicePreparation:succeeded:240 DeviceSetup:failed:345 "
	    "AccountSetup:not-started:-");
	CK_STR(db, "SELECT esp_outcome || ' ' || blocking_kind || ' ' || blocking_id || ' ' || "
	    "blocking_phase FROM deployment",
	    "failed app 0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9 DeviceSetup");
	CK_STR(db, app("0e2c4a6b-8d1f-4c3e-a5b7-d9f1b3d5f7a9", "esp_state || ' ' || outcome || ' ' || "
	    "esp_tracked"), "Error failed 1");
	CK_STR(db, "SELECT join_method FROM deployment", "hybrid");
	sqlite3_close(db);
}
END_TEST

static void
cm(FILE *f, const char *msg, const char *time, int thread)
{
	fprintf(f, "<![LOG[%s]LOG]!><time=\"%s\" date=\"11-4-2025\" component=\"IntuneManagementExtension\" "
	    "context=\"\" type=\"1\" thread=\"%d\" file=\"\">\r\n", msg, time, thread);
}

/*
 * Only IME logs: the ESP phase lines, then a tracked app that reaches Error.
 * The device phase fails there; a second app still installing is not the
 * blocking one.  With the next phase seen after an Error (a retry got
 * through), the phase succeeded instead.
 */
START_TEST(test_ime_only_failure)
{
	static const char *const P = "[Win32App][EspHelper][CheckEspPhase] In EspPhase: DeviceSetup";
	FILE *f;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	f = fopen(apd_test_tpath("in/IntuneManagementExtension.log"), "wb");
	ck_assert_ptr_nonnull(f);
	cm(f, P, "10:00:00.0000000", 11);
	cm(f, "Get policies = [{\"Id\":\"11111111-2222-4333-8444-555555555555\",\"Name\":\"Contoso Agent\","
	    "\"Version\":2,\"Intent\":3,\"TargetType\":2},{\"Id\":\"66666666-7777-4888-9999-aaaaaaaaaaaa\","
	    "\"Name\":\"Contoso Big Suite\",\"Version\":1,\"Intent\":3,\"TargetType\":2}]", "10:00:01.0000000", 12);
	ck_assert_int_eq(fclose(f), 0);
	f = fopen(apd_test_tpath("in/AppWorkload.log"), "wb");
	ck_assert_ptr_nonnull(f);
	cm(f, "[Win32App][ESPAppLockInProcessor] Found 2 apps which need to be installed for current phase of "
	    "ESP. AppIds: 11111111-2222-4333-8444-555555555555, 66666666-7777-4888-9999-aaaaaaaaaaaa",
	    "10:00:05.0000000", 8);
	cm(f, "[Win32App][V3Processor] Processing subgraph with app ids: 66666666-7777-4888-9999-aaaaaaaaaaaa",
	    "10:00:06.0000000", 9);
	cm(f, "[Win32App][EspManager] Updating ESP tracked install status from NotInstalled to InProgress for "
	    "application 66666666-7777-4888-9999-aaaaaaaaaaaa.", "10:00:07.0000000", 9);
	cm(f, "[Win32App][V3Processor] Processing subgraph with app ids: 11111111-2222-4333-8444-555555555555",
	    "10:01:00.0000000", 8);
	cm(f, "[Win32App][EspManager] Updating ESP tracked install status from NotInstalled to InProgress for "
	    "application 11111111-2222-4333-8444-555555555555.", "10:01:02.0000000", 8);
	cm(f, "[Win32App] Launch Win32AppInstaller in machine session", "10:01:03.0000000", 8);
	cm(f, "[Win32App] Installation is done, collecting result", "10:02:03.5000000", 8);
	cm(f, "[Win32App] lpExitCode 1618", "10:02:03.5000000", 8);
	cm(f, "[Win32App] lpExitCode is defined as Failed", "10:02:03.6000000", 8);
	cm(f, "[Win32App][EspManager] Updating ESP tracked install status from InProgress to Error for "
	    "application 11111111-2222-4333-8444-555555555555.", "10:02:04.0000000", 8);
	ck_assert_int_eq(fclose(f), 0);
	{
		sqlite3 *db = index_with(apd_test_tpath("in"), NULL, 0);
		CK_STR(db, ph("DeviceSetup", "outcome || '|' || outcome_source || '|' || start_local || '|' || "
		    "end_local || '|' || duration_s"), "failed|a tracked app reached Error|"
		    "2025-11-04 10:00:00.0000000|2025-11-04 10:02:04.0000000|124.0");
		CK_STR(db, "SELECT esp_outcome || '|' || blocking_name || '|' || blocking_reason || '|' || "
		    "blocking_code_hex FROM deployment", "failed|Contoso Agent|exit code 1618|0x80070652");
		CK_STR(db, app("66666666-7777-4888-9999-aaaaaaaaaaaa", "outcome || ' ' || esp_state"),
		    "in-progress InProgress");
		sqlite3_close(db);
	}
	/* a retry got through: IME saw the account phase after the Error */
	f = fopen(apd_test_tpath("in/IntuneManagementExtension.log"), "ab");
	ck_assert_ptr_nonnull(f);
	cm(f, "[Win32App][EspHelper][CheckEspPhase] In EspPhase: AccountSetup. Start the thread to check user "
	    "token and user SID again if reboot in ESP", "10:20:00.0000000", 11);
	ck_assert_int_eq(fclose(f), 0);
	{
		sqlite3 *db = index_with(apd_test_tpath("in"), NULL, 0);
		CK_STR(db, ph("DeviceSetup", "outcome || '|' || end_local"),
		    "succeeded|2025-11-04 10:20:00.0000000");
		sqlite3_close(db);
	}
}
END_TEST

/* A minimal MdmDiagReport_RegistryDump.reg in a folder, for the scenario rules. */
static sqlite3 *
index_regdump(const char *text)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", apd_test_tpath("in"));
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	apd_test_write_file(apd_test_tpath("in/MdmDiagReport_RegistryDump.reg"), text, strlen(text));
	return index_with(dir, NULL, 0);
}

#define AP "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\Diagnostics\\Autopilot]\r\n"
#define ENR "[HKEY_LOCAL_MACHINE\\software\\microsoft\\enrollments\\11111111-2222-4333-8444-555555555555]\r\n" \
	"    \"ProviderID\"=\"MS DM Server\"\r\n\r\n" \
	"[HKEY_LOCAL_MACHINE\\software\\microsoft\\enrollments\\11111111-2222-4333-8444-555555555555\\FirstSync]\r\n" \
	"    \"SyncFailureTimeout\"=DWORD:0000003c\r\n    \"SkipDeviceStatusPage\"=DWORD:00000000\r\n" \
	"    \"SkipUserStatusPage\"=DWORD:ffffffff\r\n\r\n"

START_TEST(test_scenario_self_deploying)
{
	sqlite3 *db = index_regdump(AP "    \"CloudAssignedTenantId\"=\"3f2c9a1e-7b4d-4e8a-9c61-2d5e8f0a7b13\"\r\n"
	    "    \"DeploymentProfileName\"=\"Contoso Kiosk\"\r\n    \"CloudAssignedOobeConfig\"=DWORD:000005fe\r\n"
	    "    \"CloudAssignedDomainJoinMethod\"=DWORD:00000000\r\n\r\n" ENR);

	CK_STR(db, "SELECT scenario || ' ' || oobe_config || ' ' || profile_source FROM deployment",
	    "self-deploying 1534 registry Provisioning\\Diagnostics\\Autopilot");
	CK_STR(db, "SELECT oobe_config_bits FROM deployment", "[\"OobeUserNotLocalAdmin\","
	    "\"SkipExpressSettings\",\"SkipOemRegistration\",\"SkipEula\",\"TpmAttestation\","
	    "\"AadDeviceAuth\",\"AadTpmRequired\",\"SkipWindowsUpgradeUX\",\"SkipKeyboardSelection\"]");
	/* no user page: the account phase is skipped */
	CK_STR(db, "SELECT esp_device_page || esp_user_page FROM deployment", "10");
	CK_STR(db, ph("AccountSetup", "outcome"), "skipped");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_scenario_device_preparation)
{
	sqlite3 *db = index_regdump(AP "    \"CloudAssignedTenantId\"=\"3f2c9a1e-7b4d-4e8a-9c61-2d5e8f0a7b13\"\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\AutopilotSettings\\DevicePreparation]\r\n"
	    "    \"PageEnabled\"=DWORD:00000001\r\n    \"PageStatus\"=DWORD:00000003\r\n\r\n");

	CK_STR(db, "SELECT scenario || ' ' || evidence FROM deployment", "device-preparation "
	    "[\"registry AutopilotSettings\\\\DevicePreparation\\\\PageEnabled = 1\"]");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_scenario_esp_only)
{
	sqlite3 *db = index_regdump(AP "    \"CloudAssignedTenantDomain\"=\"\"\r\n"
	    "    \"IsAutoPilotDisabled\"=DWORD:00000001\r\n\r\n" ENR);

	CK_STR(db, "SELECT scenario || ' ' || coalesce(profile_name, 'null') || ' ' || esp_timeout_min "
	    "FROM deployment", "esp-only null 60");
	sqlite3_close(db);
}
END_TEST

/*
 * Registry only: a LOB MSI that failed (status 60, its LastError), Microsoft 365
 * Apps through the Office CSP, and a device phase that timed out with every
 * app done but an expected policy never applied: the policy blocked it.
 */
START_TEST(test_registry_office_msi_policy)
{
#define EST "[HKEY_LOCAL_MACHINE\\software\\microsoft\\windows\\autopilot\\EnrollmentStatusTracking\\"
	sqlite3 *db = index_regdump(ENR
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\enterprisedesktopappmanagement\\"
	    "S-0-0-00-0000000000-0000000000-000000000-000\\MSI\\{2D4F6A8C-0B1D-4E3F-A5C7-E9F1B3D5A7C9}]\r\n"
	    "    \"Status\"=DWORD:0000003c\r\n    \"LastError\"=DWORD:80070643\r\n"
	    "    \"CurrentDownloadUrl\"=\"https://fef.msub02.manage.microsoft.com/SideCar/Content/x/ContosoPrinterDrivers.msi\"\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\OfficeCSP\\5b1d3f5a-7c9e-4b1d-8f3a-5c7e9b1d3f5a]\r\n"
	    "    \"FinalStatus\"=DWORD:00000000\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\AutopilotSettings]\r\n"
	    "    \"DeviceSetupCategory.Status\"=\"{\"categoryState\":\"failed\",\"subcategoryStates\":"
	    "{\"DeviceSetup.SecurityPoliciesSubcategory\":\"timedOut\",\"DeviceSetup.AppsSubcategory\":"
	    "\"succeeded\"}}\"\r\n\r\n"
	    EST "ESPTrackingInfo\\Diagnostics\\ExpectedPolicies\\2025-11-05T09:00:00.000Z]\r\n"
	    "    \"./Vendor/MSFT/Policy/Config/Update/DeferFeatureUpdatesPeriodInDays\"=DWORD:00000000\r\n\r\n"
	    EST "ESPTrackingInfo\\Diagnostics\\ExpectedMSIAppPackages\\2025-11-05T09:00:00.000Z]\r\n"
	    "    \"./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B2D4F6A8C-0B1D-4E3F-A5C7-E9F1B3D5A7C9%7D/Status\"=DWORD:0000003c\r\n\r\n");
#undef EST

	CK_STR(db, "SELECT kind || '|' || name || '|' || outcome || '|' || failure || '|' || "
	    "failure_code_hex || '|' || phase FROM app WHERE kind = 'msi'",
	    "msi|ContosoPrinterDrivers.msi|failed|enforcement failed (MSI status 60)|0x80070643|DeviceSetup");
	CK_STR(db, "SELECT kind || '|' || name || '|' || outcome FROM app WHERE kind = 'office'",
	    "office|Microsoft 365 Apps (Office CSP)|installed");
	CK_STR(db, ph("DeviceSetup", "outcome || ' ' || start_utc"), "timed-out 1762333200000000");
	/* the failed MSI is a tracked app of the phase: it comes first */
	CK_STR(db, "SELECT blocking_kind || '|' || blocking_name || '|' || blocking_code_hex FROM deployment",
	    "app|ContosoPrinterDrivers.msi|0x80070643");
	sqlite3_close(db);
}
END_TEST

/* The same without the MSI: the policy that never applied held the ESP. */
START_TEST(test_registry_policy_blocks)
{
	sqlite3 *db = index_regdump(ENR
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\AutopilotSettings]\r\n"
	    "    \"DeviceSetupCategory.Status\"=\"{\"categoryState\":\"failed\",\"subcategoryStates\":"
	    "{\"DeviceSetup.SecurityPoliciesSubcategory\":\"timedOut\"}}\"\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\windows\\autopilot\\EnrollmentStatusTracking\\"
	    "ESPTrackingInfo\\Diagnostics\\ExpectedPolicies\\2025-11-05T09:00:00.000Z]\r\n"
	    "    \"./Vendor/MSFT/Policy/Config/Update/DeferFeatureUpdatesPeriodInDays\"=DWORD:00000000\r\n\r\n");

	CK_STR(db, "SELECT esp_outcome || '|' || blocking_kind || '|' || blocking_id || '|' || blocking_phase "
	    "|| '|' || blocking_reason FROM deployment", "timed-out|policy|./Vendor/MSFT/Policy/Config/"
	    "Update/DeferFeatureUpdatesPeriodInDays|DeviceSetup|expected policy not applied in the last ESP "
	    "snapshot");
	CK_STR(db, ph("DeviceSetup", "end_source || ' ' || CAST(duration_s AS INTEGER)"),
	    "start + ESP timeout (SyncFailureTimeout) 3600");
	sqlite3_close(db);
}
END_TEST

/* ---- the corpus: real IME logs (numbers only; no identifier is quoted) ------- */

static sqlite3 *
index_corpus(const char *rel)
{
	const char *path = apd_test_corpus(rel);

	if (path == NULL) {
		fprintf(stderr, "check_esp: corpus file %s not found; skipped\n", rel);
		return NULL;
	}
	return index_with(path, NULL, 0);
}

/* An ESP that finished: device setup 14m44s, then account setup 10m06s. */
START_TEST(test_corpus_ime_esp_finished)
{
	sqlite3 *db = index_corpus("ime/IntuneManagementExtension-2025-08-04b.log");

	if (db == NULL)
		return;
	CK_STR(db, "SELECT group_concat(phase || ':' || outcome, ' ') FROM esp_phase",
	    "DevicePreparation:succeeded DeviceSetup:succeeded AccountSetup:succeeded");
	CK_STR(db, ph("DeviceSetup", "start_local || ' ' || end_local"),
	    "2025-08-04 08:24:32.6228389 2025-08-04 08:39:17.0823284");
	CK_NEAR(db, ph("DeviceSetup", "duration_s"), 884.459490, 1e-5);
	CK_NEAR(db, ph("AccountSetup", "duration_s"), 606.303142, 1e-5);
	CK_STR(db, "SELECT esp_outcome || ' ' || coalesce(blocking_kind, 'none') FROM deployment",
	    "succeeded none");
	CK_NEAR(db, "SELECT esp_duration_s FROM deployment", 1490.762631, 1e-5);
	/* one tracked app: InProgress at the last poll, then "All apps completed for device" */
	CK_STR(db, "SELECT count(*) || ' ' || group_concat(esp_state || '/' || outcome) FROM app",
	    "1 Completed/installed");
	sqlite3_close(db);
}
END_TEST

/* An ESP still in the device phase when the log ends: the app still installing holds it. */
START_TEST(test_corpus_ime_esp_in_progress)
{
	sqlite3 *db = index_corpus("ime/IntuneManagementExtension-2025-08-01.log");

	if (db == NULL)
		return;
	CK_STR(db, "SELECT group_concat(phase || ':' || outcome, ' ') FROM esp_phase",
	    "DevicePreparation:succeeded DeviceSetup:in-progress AccountSetup:unknown");
	CK_STR(db, ph("DeviceSetup", "start_local"), "2025-08-01 05:52:58.8461287");
	CK_STR(db, "SELECT esp_outcome || '|' || blocking_kind || '|' || blocking_phase || '|' || "
	    "blocking_reason || '|' || (blocking_id = (SELECT id FROM app)) FROM deployment",
	    "in-progress|app|DeviceSetup|still installing at the end of the logs|1");
	sqlite3_close(db);
}
END_TEST

/*
 * The 2020 log (older IME, everything in one file, no ESP): seven apps
 * named from "Get policies", six installed (exit 0, detected after), one
 * whose installer could not be started (error 2).
 */
START_TEST(test_corpus_ime_2020)
{
	sqlite3 *db = index_corpus("ime/2020-device/IntuneManagementExtension.log");

	if (db == NULL)
		return;
	CK_STR(db, "SELECT esp_outcome FROM deployment", "not-shown");
	CK_STR(db, "SELECT count(*) || ' ' || count(name) || ' ' || sum(esp_tracked) FROM app", "7 7 0");
	CK_STR(db, "SELECT group_concat(n || ' ' || outcome, ', ') FROM (SELECT outcome, count(*) AS n "
	    "FROM app GROUP BY outcome ORDER BY outcome)", "1 failed, 6 installed");
	CK_STR(db, "SELECT failure || '|' || failure_code_hex || '|' || enforcement_state FROM app "
	    "WHERE outcome = 'failed'", "the installer could not be started (error 2)|0x80070002|5000");
	CK_STR(db, "SELECT group_concat(size_bytes, ',') FROM (SELECT size_bytes FROM app WHERE "
	    "size_bytes IS NOT NULL ORDER BY size_bytes)", "943601,2187701,3762944,6365195,9493608,"
	    "228938888");
	CK_STR(db, "SELECT count(*) FROM app WHERE outcome = 'installed' AND exit_code = 0 AND "
	    "detection = 'Detected'", "6");
	CK_STR(db, "SELECT count(*) || ' ' || sum(kind = 'platform') FROM script", "7 7");
	sqlite3_close(db);
}
END_TEST

static Suite *
esp_suite(void)
{
	Suite *s = suite_create("esp");
	TCase *lines = tcase_create("Lines");
	TCase *samples = tcase_create("Samples");
	TCase *events = tcase_create("Events");
	TCase *corpus = tcase_create("Corpus");

	tcase_add_test(lines, test_lines_examples);
	tcase_add_test(lines, test_lines_groups);
	tcase_add_test(lines, test_lines_load_errors);
	tcase_add_test(lines, test_lines_terms);
	tcase_add_checked_fixture(samples, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(samples, test_sample_esp_app_failure);
	tcase_add_test(samples, test_sample_pc01);
	tcase_add_test(samples, test_sample_pc02);
	tcase_add_test(samples, test_sample_profile_not_assigned);
	tcase_add_test(samples, test_sample_hybrid);
	tcase_add_test(samples, test_sample_preprovisioned_without_events);
	tcase_add_test(samples, test_watch_and_index_agree);
	tcase_add_checked_fixture(events, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(events, test_preprovisioned_with_events);
	tcase_add_test(events, test_events_only);
	tcase_add_test(events, test_ime_only_failure);
	tcase_add_test(events, test_scenario_self_deploying);
	tcase_add_test(events, test_scenario_device_preparation);
	tcase_add_test(events, test_scenario_esp_only);
	tcase_add_test(events, test_registry_office_msi_policy);
	tcase_add_test(events, test_registry_policy_blocks);
	tcase_add_checked_fixture(corpus, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(corpus, test_corpus_ime_esp_finished);
	tcase_add_test(corpus, test_corpus_ime_esp_in_progress);
	tcase_add_test(corpus, test_corpus_ime_2020);
	suite_add_tcase(s, lines);
	suite_add_tcase(s, samples);
	suite_add_tcase(s, events);
	suite_add_tcase(s, corpus);
	return s;
}

int
main(void)
{
	return apd_test_run(esp_suite());
}
