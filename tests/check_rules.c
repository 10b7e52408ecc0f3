/*
 * check_rules.c - the rules engine (lib/apd_rules*.c): loading and its
 * errors (file:line for every kind of bad rule file), matching (HRESULT
 * spellings, fields, registry, facts, SQL), correlation (sequence,
 * absence, thresholds, time between, group-by, borrowed captures),
 * placeholders, ranking, the finding tables, hostile rules (a catastrophic
 * regex on a 1 MB line, write attempts through <sql>), and that the work
 * follows the candidates, not rules x events.
 *
 * Each test builds a small index with the real store in its temporary
 * folder and evaluates from the store's finish hook, as analyze does.
 */
#include "apd_test.h"
#include "apd_rules.h"
#include "apd_store.h"
#include "apd_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- building an index ---- */

struct tev {
	const char *kind, *path, *time;   /* time "YYYY-MM-DD HH:MM:SS[.f]" UTC, or NULL */
	int64_t event_id;                 /* 0: none */
	const char *channel;
	const char *msg;
	const char *data;
};

struct treg {
	const char *key, *name;
	int64_t num;                      /* DWORD when text is NULL */
	const char *text;
};

struct tfact {
	const char *name, *value;
};

struct world {
	const struct tev *ev;
	size_t nev;
	const struct treg *rv;
	size_t nrv;
	const struct tfact *facts;
	size_t nfacts;
	const char *big;                  /* one extra event with this message */
	size_t nbig;
	const char *stats;                /* SQL run on the finished index before the rules */
};

struct ran {
	struct apd_ruleset *rs;
	struct apd_rules_result *res;
	sqlite3 *db;                      /* the finished index, read-only */
	struct apd_store *st;
	const char *stats;
	int rc;
	struct apd_error err;
};

static int
hook(void *ud, sqlite3 *db, struct apd_error *err)
{
	struct ran *r = ud;
	struct apd_rules_opts o = { NULL, true };

	if (r->stats)
		ck_assert_int_eq(sqlite3_exec(db, r->stats, NULL, NULL, NULL), SQLITE_OK);
	r->rc = apd_rules_eval(r->rs, db, &o, &r->res, err);
	return r->rc;
}

static void
emit_source(struct apd_catalog cat, const char *kind, const char *path, const struct world *w)
{
	struct apd_source_info si = { 0, path, kind, "test", NULL, -1 };
	struct apd_source_result sr = { "ok", NULL, NULL, -1, NULL };
	struct apd_sink *sink;
	int64_t id = cat.vt->begin(cat.ud, &si);
	size_t i;

	ck_assert_int_gt(id, 0);
	sink = cat.vt->sink(cat.ud, id);
	for (i = 0; i < w->nev; i++) {
		const struct tev *e = &w->ev[i];
		struct apd_event ev;
		if (strcmp(e->kind, kind) != 0 || strcmp(e->path, path) != 0)
			continue;
		apd_event_init(&ev);
		if (e->time) {
			ck_assert(apd_parse_iso(apd_sv_cstr(e->time), &ev.ts_utc));
			ev.tz = APD_TZ_UTC;
		}
		if (e->event_id)
			ev.event_id = e->event_id;
		ev.channel = apd_sv_cstr(e->channel);
		ev.message = apd_sv_cstr(e->msg);
		ev.data = apd_sv_cstr(e->data);
		ev.level = 4;
		ev.line = i + 1;
		ck_assert_int_eq(apd_emit_event(sink, &ev), APD_OK);
	}
	if (strcmp(kind, "reg-export") == 0) {
		for (i = 0; i < w->nrv; i++) {
			struct apd_regval rv;
			memset(&rv, 0, sizeof(rv));
			rv.hive = apd_sv_cstr("HKLM");
			rv.key = apd_sv_cstr(w->rv[i].key);
			rv.name = apd_sv_cstr(w->rv[i].name);
			if (w->rv[i].text) {
				rv.type = APD_REG_SZ;
				rv.kind = APD_RV_TEXT;
				rv.text = apd_sv_cstr(w->rv[i].text);
			} else {
				rv.type = APD_REG_DWORD;
				rv.kind = APD_RV_INT;
				rv.num = w->rv[i].num;
			}
			rv.line = i + 1;
			ck_assert_int_eq(apd_emit_regval(sink, &rv), APD_OK);
		}
		for (i = 0; i < w->nfacts; i++)
			ck_assert_int_eq(apd_emit_fact(sink, apd_sv_cstr(w->facts[i].name),
			    apd_sv_cstr(w->facts[i].value)), APD_OK);
	}
	if (w->big && strcmp(kind, "cmtrace") == 0 && strcmp(path, "big.log") == 0) {
		struct apd_event ev;
		apd_event_init(&ev);
		ev.message = apd_sv(w->big, w->nbig);
		ck_assert_int_eq(apd_emit_event(sink, &ev), APD_OK);
	}
	ck_assert_int_eq(cat.vt->end(cat.ud, id, &sr), APD_OK);
}

/* Load rules (XML text), build the index of w, evaluate; r->db is the finished index. */
static void
run_rules(struct ran *r, const char *rules_xml, const struct world *w)
{
	struct apd_limits lim;
	struct apd_catalog cat;
	const char *rp = apd_test_tpath("rules.xml");
	size_t i, j;

	memset(r, 0, sizeof(*r));
	apd_test_write_file(rp, rules_xml, strlen(rules_xml));
	ck_assert_int_eq(apd_ruleset_new(&r->rs, &r->err), APD_OK);
	ck_assert_msg(apd_ruleset_load_file(r->rs, rp, &r->err) == APD_OK, "%s", r->err.msg);
	apd_limits_default(&lim);
	ck_assert_int_eq(apd_store_create(&r->st, apd_test_tpath("t.db"), &lim, &r->err), APD_OK);
	r->stats = w->stats;
	apd_store_set_finish_hook(r->st, hook, r);
	cat = apd_store_catalog(r->st);
	/* one source per distinct (kind, path) */
	for (i = 0; i < w->nev; i++) {
		bool seen = false;
		for (j = 0; j < i; j++)
			if (strcmp(w->ev[j].kind, w->ev[i].kind) == 0 && strcmp(w->ev[j].path, w->ev[i].path) == 0) {
				seen = true;
				break;
			}
		if (!seen)
			emit_source(cat, w->ev[i].kind, w->ev[i].path, w);
	}
	if (w->nrv || w->nfacts)
		emit_source(cat, "reg-export", "export.reg", w);
	if (w->big)
		emit_source(cat, "cmtrace", "big.log", w);
	ck_assert_msg(apd_store_finish(r->st, &r->err) == APD_OK, "%s", r->err.msg);
	ck_assert_int_eq(r->rc, APD_OK);
	r->db = apd_store_db(r->st);
}

static void
ran_free(struct ran *r)
{
	apd_rules_result_free(r->res);
	apd_ruleset_free(r->rs);
	apd_store_free(r->st);
}

static const struct apd_finding *
finding_of(const struct ran *r, const char *rule)
{
	size_t i;

	for (i = 0; i < apd_rules_nfindings(r->res); i++)
		if (strcmp(apd_rules_finding(r->res, i)->rule_id, rule) == 0)
			return apd_rules_finding(r->res, i);
	return NULL;
}

static size_t
nfindings_of(const struct ran *r, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < apd_rules_nfindings(r->res); i++)
		if (strcmp(apd_rules_finding(r->res, i)->rule_id, rule) == 0)
			n++;
	return n;
}

static bool
diag_with(const struct ran *r, const char *needle)
{
	size_t i;

	for (i = 0; i < apd_rules_ndiags(r->res); i++)
		if (strstr(apd_rules_diag(r->res, i)->msg, needle))
			return true;
	return false;
}

static int64_t
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A rule with the boilerplate around a match (and optional extra children). */
#define RULE(id, sev, conf, title, body)                                                     \
	"<rule id=\"" id "\" version=\"1\" severity=\"" sev "\" category=\"esp\" confidence=\"" \
	conf "\"><title>" title "</title>" body "<explanation>e {count}</explanation>"           \
	"<remediation><step>s</step></remediation><test expect=\"match\"/>"                    \
	"<test expect=\"no-match\"/></rule>"
#define RULES(x) "<?xml version=\"1.0\"?>\n<rules format=\"1\">\n" x "\n</rules>\n"

/* ---- loading ---- */

static void
expect_load_error(const char *xml, const char *want_line, const char *want_text)
{
	struct apd_ruleset *rs;
	struct apd_error err;
	const char *p = apd_test_tpath("bad.xml");
	char prefix[4200];

	apd_test_write_file(p, xml, strlen(xml));
	ck_assert_int_eq(apd_ruleset_new(&rs, &err), APD_OK);
	apd_error_clear(&err);
	ck_assert_int_eq(apd_ruleset_load_file(rs, p, &err), APD_FAILED);
	snprintf(prefix, sizeof(prefix), "%s:%s:", p, want_line);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
	    err.msg, prefix);
	ck_assert_msg(strstr(err.msg, want_text) != NULL, "'%s' does not say '%s'", err.msg, want_text);
	ck_assert_uint_eq(apd_ruleset_size(rs), 0);
	apd_ruleset_free(rs);
}

START_TEST(test_malformed_files_name_file_and_line)
{
	/* not well-formed: cut in the middle of a start tag */
	expect_load_error("<?xml version=\"1.0\"?>\n<rules>\n<rule id=\"X\"\n", "4",
	    "Couldn't find end of Start Tag rule line 3");
	/* well-formed but not valid: a severity the schema does not know */
	expect_load_error(RULES("<rule id=\"X\" version=\"1\" severity=\"high\" category=\"esp\" "
	    "confidence=\"5\"><title>t</title><match><event><contains>a</contains></event></match>"
	    "<explanation>e</explanation><remediation><step>s</step></remediation>"
	    "<test expect=\"match\"/></rule>"), "3", "rule");
	/* an element the schema does not allow, on line 4 */
	expect_load_error(RULES("<rule id=\"X\" version=\"1\" severity=\"info\" category=\"esp\" "
	    "confidence=\"5\"><title>t</title>\n<match><event><bogus/></event></match>"
	    "<explanation>e</explanation><remediation><step>s</step></remediation>"
	    "<test expect=\"match\"/></rule>"), "4", "bogus");
	/* a regex that does not compile, named with its rule */
	expect_load_error(RULES(RULE("X", "info", "5", "t",
	    "\n\n<match><event><regex>(unclosed</regex></event></match>")), "5",
	    "rule X: regex does not compile: missing closing parenthesis");
	/* what only the compiler knows: an unknown field, a zero duration */
	expect_load_error(RULES(RULE("X", "info", "5", "t",
	    "<match><event><field name=\"bogus\" value=\"1\"/></event></match>")), "3",
	    "unknown field 'bogus'");
	expect_load_error(RULES(RULE("X", "info", "5", "t",
	    "<match><event><contains>a</contains></event></match>"
	    "<when><followed-by within=\"P\"><event><contains>b</contains></event></followed-by></when>")),
	    "3", "not an ISO 8601 duration");
	/* the same id twice in one file */
	expect_load_error(RULES(RULE("X", "info", "5", "t", "<match><event><contains>a</contains></event></match>")
	    "\n" RULE("X", "info", "5", "t", "<match><event><contains>b</contains></event></match>")),
	    "4", "used twice");
	/* no DTD: entity bombs (libxml2 stops them first) and external entities never get in */
	expect_load_error("<?xml version=\"1.0\"?>\n<!DOCTYPE rules [\n<!ENTITY a \"aaaaaaaaaa\">\n"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	    "]>\n<rules><rule id=\"X\" version=\"1\" severity=\"info\" category=\"esp\" confidence=\"1\">"
	    "<title>&c;</title><match><event><contains>a</contains></event></match><explanation>e"
	    "</explanation><remediation><step>s</step></remediation><test expect=\"match\"/></rule>"
	    "</rules>\n", "1", "entity");
	expect_load_error("<?xml version=\"1.0\"?>\n<!DOCTYPE rules SYSTEM \"file:///etc/passwd\">\n"
	    "<rules/>\n", "2", "DOCTYPE is not allowed");
	/* an empty file, and binary junk */
	expect_load_error("", "1", "Document is empty");
	expect_load_error("\x01\x02\xff\xfe garbage", "1", "");
}
END_TEST

START_TEST(test_load_dir_goes_on_and_ids_replace)
{
	struct apd_ruleset *rs;
	struct apd_error err;
	struct apd_rule_info ri;
	const char *good = RULES(RULE("A-01", "error", "80", "first", "<match><event><contains>x</contains></event></match>"));
	const char *again = RULES(RULE("A-01", "info", "10", "second", "<match><event><contains>y</contains></event></match>"));
	long k;

	ck_assert_int_eq(mkdir(apd_test_tpath("d"), 0755), 0);
	apd_test_write_file(apd_test_tpath("d/1-good.xml"), good, strlen(good));
	apd_test_write_file(apd_test_tpath("d/2-bad.xml"), "<rules>", 7);
	apd_test_write_file(apd_test_tpath("d/3-again.xml"), again, strlen(again));
	apd_test_write_file(apd_test_tpath("d/notes.txt"), "x", 1);
	ck_assert_int_eq(apd_ruleset_new(&rs, &err), APD_OK);
	ck_assert_int_eq(apd_ruleset_load_dir(rs, apd_test_tpath("d"), &err), APD_WARN);
	k = apd_ruleset_find(rs, "A-01");
	ck_assert_int_ge(k, 0);
	apd_ruleset_info(rs, (size_t)k, &ri);
	ck_assert_str_eq(ri.title, "second");
	ck_assert(ri.enabled);
	ck_assert_uint_eq(apd_ruleset_ndiags(rs), 2);
	ck_assert_int_eq(apd_ruleset_diag(rs, 0)->level, APD_DIAG_ERROR);
	ck_assert_ptr_nonnull(strstr(apd_ruleset_diag(rs, 0)->msg, "2-bad.xml:1:"));
	ck_assert_int_eq(apd_ruleset_diag(rs, 1)->level, APD_DIAG_NOTE);
	ck_assert_ptr_nonnull(strstr(apd_ruleset_diag(rs, 1)->msg, "replaces"));
	ck_assert_int_eq(apd_ruleset_load_dir(rs, apd_test_tpath("missing"), &err), APD_FAILED);
	apd_ruleset_free(rs);
}
END_TEST

/* ---- matching ---- */

START_TEST(test_hresult_spellings_and_fields)
{
	static const struct tev ev[] = {
		{ "text", "dsreg.txt", NULL, 0, NULL, "Client ErrorCode : 0x801c0003", NULL },
		{ "cmtrace", "ime.log", "2025-10-01 09:00:00", 0, NULL, "hr = -2145648637", NULL },
		{ "evtx", "udr.evtx", "2025-10-01 09:01:00", 204, "Microsoft-Windows-User Device Registration/Admin",
		  "exit code: 801C0003.", NULL },
		{ "cmtrace", "ime.log", "2025-10-01 09:02:00", 0, NULL, "value 2149318659 seen", NULL },
		{ "cmtrace", "ime.log", "2025-10-01 09:03:00", 0, NULL, "not it: 0x801c00031 or x801c0003", NULL },
		{ "cmtrace", "ime.log", "2025-10-01 09:04:00", 0, NULL, "structured", "{\"ErrorCode\":-2145648637,\"type\":\"3\",\"n\":7}" },
	};
	static const struct world w = { ev, 6, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	const struct apd_finding *f;

	run_rules(&r, RULES(
	    RULE("H-1", "error", "90", "{hresult} in {source}", "<match><event><hresult>0x801c0003</hresult></event></match>")
	    RULE("H-2", "error", "90", "by data", "<match><event><contains>structured</contains>"
		"<hresult field=\"data.ErrorCode\">801C0003</hresult><field name=\"data.type\" value=\"3\"/>"
		"<field name=\"data.n\" op=\"gt\" value=\"6\"/><field name=\"data.missing\" op=\"missing\"/></event></match>")
	    RULE("H-3", "error", "90", "channel and id", "<match><event><channel>microsoft-windows-user device registration/admin</channel>"
		"<event-id>204 304</event-id><hresult>-2145648637</hresult></event></match>")
	    RULE("H-4", "error", "90", "none", "<match><event><contains>structured</contains>"
		"<field name=\"data.n\" op=\"lt\" value=\"7\"/></event></match>")), &w);
	f = finding_of(&r, "H-1");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->count, 4);   /* four spellings, not the two look-alikes */
	/* placeholders come from the earliest record: the timed ones first */
	ck_assert_str_eq(f->title, "0x801C0003 in ime.log");
	ck_assert_uint_eq(nfindings_of(&r, "H-2"), 1);
	ck_assert_uint_eq(nfindings_of(&r, "H-3"), 1);
	ck_assert_uint_eq(nfindings_of(&r, "H-4"), 0);
	ran_free(&r);
}
END_TEST

START_TEST(test_registry_and_facts)
{
	static const struct treg rv[] = {
		{ "software\\microsoft\\windows\\autopilot\\enrollmentstatustracking\\Device\\Setup\\Apps\\Tracking\\Sidecar\\Win32App_11111111-2222-3333-4444-555555555555_1", "InstallationState", 4, NULL },
		{ "SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\Device\\Setup\\Apps\\Tracking\\Sidecar\\Win32App_66666666-2222-3333-4444-555555555555_2", "InstallationState", 3, NULL },
		{ "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "EditionID", 0, "Core" },
		{ "SOFTWARE\\Other", "InstallationState", 4, NULL },
	};
	static const struct tfact facts[] = { { "intune.collected_at", "2025-10-01T10:10:10Z" } };
	static const struct world w = { NULL, 0, rv, 4, facts, 1, NULL, 0, NULL };
	struct ran r;
	const struct apd_finding *f;

	run_rules(&r, RULES(
	    RULE("R-1", "critical", "85", "app {app} rev {revision} = {value}",
		"<match group-by=\"app\"><registry><hive>HKLM</hive><key>SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\*\\Win32App_*</key>"
		"<name>installationstate</name><value op=\"ge\">4</value>"
		"<regex field=\"key\"><![CDATA[Win32App_(?<app>[0-9a-f-]{36})_(?<revision>\\d+)$]]></regex></registry></match>")
	    RULE("R-2", "critical", "95", "Home: {fact:os.edition}",
		"<match><fact><name>os.edition</name><value op=\"in\">Core CoreN CoreSingleLanguage</value></fact></match>")
	    RULE("R-3", "info", "10", "collected {time}",
		"<match><fact><name>intune.*</name></fact></match>")), &w);
	f = finding_of(&r, "R-1");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->title, "app 11111111-2222-3333-4444-555555555555 rev 1 = 4");
	ck_assert_uint_eq(nfindings_of(&r, "R-1"), 1);
	ck_assert_ptr_nonnull(f = finding_of(&r, "R-2"));
	ck_assert_str_eq(f->title, "Home: Core");   /* os.edition is derived from the registry */
	ck_assert_ptr_nonnull(f = finding_of(&r, "R-3"));
	ck_assert_str_eq(f->title, "collected 2025-10-01T10:10:10Z");
	/* the tables: rank 1 is the higher confidence of the two criticals */
	ck_assert_int_eq(q_int(r.db, "SELECT count(*) FROM finding"), 3);
	ck_assert_int_eq(q_int(r.db, "SELECT rank FROM finding WHERE rule_id = 'R-2'"), 1);
	ck_assert_int_eq(q_int(r.db, "SELECT count(*) FROM finding_evidence fe JOIN finding f ON "
	    "f.id = fe.finding_id WHERE f.rule_id = 'R-1' AND fe.reg_value_id IS NOT NULL"), 1);
	ck_assert_int_eq(q_int(r.db, "SELECT count(*) FROM finding_evidence WHERE fact = 'os.edition'"), 1);
	ck_assert_int_eq(q_int(r.db, "SELECT json_array_length(remediation) FROM finding WHERE rank = 1"), 1);
	ran_free(&r);
}
END_TEST

/* ---- correlation ---- */

#define AP "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot"

START_TEST(test_absence_sequence_threshold)
{
	/* 100 repeats; in mdd1 a 161 follows, in mdd2 it never does */
	static const struct tev ev[] = {
		{ "evtx", "mdd1.evtx", "2025-10-01 09:00:00", 100, AP, "Autopilot policy [x] not found.", NULL },
		{ "evtx", "mdd1.evtx", "2025-10-01 09:00:10", 100, AP, "Autopilot policy [x] not found.", NULL },
		{ "evtx", "mdd1.evtx", "2025-10-01 09:01:30", 100, AP, "Autopilot policy [x] not found.", NULL },
		{ "evtx", "mdd1.evtx", "2025-10-01 09:05:00", 161, AP, "AutopilotManager retrieve settings succeeded.", NULL },
		{ "evtx", "mdd2.evtx", "2025-10-02 09:00:00", 100, AP, "Autopilot policy [y] not found.", NULL },
		{ "evtx", "mdd2.evtx", "2025-10-02 09:20:00", 100, AP, "Autopilot policy [y] not found.", NULL },
		{ "evtx", "mdd2.evtx", "2025-10-02 09:40:00", 100, AP, "Autopilot policy [y] not found.", NULL },
		{ "evtx", "mdd2.evtx", "2025-10-02 11:00:00", 100, AP, "Autopilot policy [y] not found.", NULL },
	};
	static const struct world w = { ev, 8, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	const struct apd_finding *f;

	run_rules(&r, RULES(
	    RULE("C-1", "warning", "60", "{count} x 100 from {first} to {last}",
		"<match><event><channel>" AP "</channel><event-id>100</event-id></event></match>"
		"<when><not><followed-by><event><channel>" AP "</channel><event-id>153 161</event-id></event>"
		"</followed-by></not></when><threshold count=\"3\"/>")
	    RULE("C-2", "warning", "60", "dense",
		"<match><event><event-id>100</event-id></event></match>"
		"<when><not><followed-by within=\"PT1H\"><event><event-id>161</event-id></event></followed-by></not></when>"
		"<threshold count=\"4\" within=\"PT1H\"/>")
	    RULE("C-3", "warning", "60", "sparse",
		"<match><event><event-id>100</event-id></event></match><threshold count=\"4\" within=\"PT2H\"/>")
	    RULE("C-4", "warning", "60", "no 161 within 1 min, at least 5 min later",
		"<match><event><event-id>100</event-id></event></match>"
		"<when><followed-by beyond=\"PT4M\" within=\"PT6M\" same=\"source\"><event><event-id>161</event-id></event></followed-by></when>")),
	    &w);
	/* C-1: only mdd2's four 100s are not followed by a 161 */
	ck_assert_ptr_nonnull(f = finding_of(&r, "C-1"));
	ck_assert_uint_eq(f->count, 4);
	ck_assert_str_eq(f->title, "4 x 100 from 2025-10-02T09:00:00Z to 2025-10-02T11:00:00Z");
	/* C-2: four within one hour never happens */
	ck_assert_uint_eq(nfindings_of(&r, "C-2"), 0);
	/* C-3: four within two hours does (09:00-11:00) */
	ck_assert_uint_eq(nfindings_of(&r, "C-3"), 1);
	/* C-4: 09:00:00 and 09:00:10 are 4-6 minutes before the 161 in their source */
	ck_assert_ptr_nonnull(f = finding_of(&r, "C-4"));
	ck_assert_uint_eq(f->count, 2);
	ran_free(&r);
}
END_TEST

START_TEST(test_borrowed_captures_group_by_time_between)
{
	static const struct tev ev[] = {
		{ "cmtrace", "aw.log", "2025-03-01 08:00:00", 0, NULL, "[Win32App][EspHelper][CheckEspPhase] In EspPhase: DeviceSetup", NULL },
		{ "cmtrace", "aw.log", "2025-10-01 09:00:00", 0, NULL, "[Win32App] Content cache miss for app (id = aaaaaaaa-0000-0000-0000-000000000001, name = App One), start downloading", NULL },
		{ "cmtrace", "aw.log", "2025-10-01 09:01:00", 0, NULL, "[Win32App] lpExitCode 1603", NULL },
		{ "cmtrace", "aw.log", "2025-10-01 09:02:00", 0, NULL, "[Win32App] Content cache miss for app (id = aaaaaaaa-0000-0000-0000-000000000002, name = App Two), start downloading", NULL },
		{ "cmtrace", "aw.log", "2025-10-01 09:03:00", 0, NULL, "[Win32App] lpExitCode 1603", NULL },
		{ "cmtrace", "aw.log", "2025-10-01 09:04:00", 0, NULL, "[Win32App] lpExitCode 1603", NULL },
		{ "cmtrace", "other.log", "2025-10-01 09:05:00", 0, NULL, "[Win32App] lpExitCode 1603", NULL },
	};
	static const struct world w = { ev, 7, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	const struct apd_finding *f;
	size_t i;
	int seen = 0;

	run_rules(&r, RULES(
	    RULE("B-1", "error", "85", "{app_name|unknown app} failed {count}x",
		"<match group-by=\"app\"><event><contains>lpExitCode 1603</contains></event></match>"
		"<when><preceded-by within=\"PT1H\" same=\"source\" optional=\"true\"><event>"
		"<contains>Content cache miss for app</contains><regex><![CDATA[id = (?<app>[0-9a-f-]{36}), name = (?<app_name>[^)]*)\\)]]></regex>"
		"</event></preceded-by></when>")
	    RULE("B-2", "critical", "90", "six months",
		"<match><event><contains>lpExitCode 1603</contains></event></match>"
		"<when><time-between min=\"P180D\"><from which=\"last\"><event><contains>In EspPhase: DeviceSetup</contains>"
		"</event></from></time-between></when>")
	    RULE("B-3", "critical", "90", "eight months",
		"<match><event><contains>lpExitCode 1603</contains></event></match>"
		"<when><time-between min=\"P8M\"><from><event><contains>In EspPhase: DeviceSetup</contains>"
		"</event></from></time-between></when>")), &w);
	/* three groups: App One (1), App Two (2), and the one in other.log without a name */
	ck_assert_uint_eq(nfindings_of(&r, "B-1"), 3);
	for (i = 0; i < apd_rules_nfindings(r.res); i++) {
		f = apd_rules_finding(r.res, i);
		if (strcmp(f->rule_id, "B-1") != 0)
			continue;
		if (strcmp(f->title, "App One failed 1x") == 0)
			seen |= 1;
		else if (strcmp(f->title, "App Two failed 2x") == 0)
			seen |= 2;
		else if (strcmp(f->title, "unknown app failed 1x") == 0)
			seen |= 4;
		else
			ck_abort_msg("unexpected title '%s'", f->title);
		/* the lender is context evidence */
		if (f->count == 2)
			ck_assert_uint_eq(f->nev, 3);
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_ptr_nonnull(f = finding_of(&r, "B-2"));
	ck_assert_uint_eq(f->count, 4);
	ck_assert_uint_eq(nfindings_of(&r, "B-3"), 0);   /* 214 days < 8 x 30 */
	ran_free(&r);
}
END_TEST

START_TEST(test_ranking)
{
	static const struct tev ev[] = {
		{ "cmtrace", "a.log", "2025-10-01 09:00:00", 0, NULL, "alpha early", NULL },
		{ "cmtrace", "a.log", "2025-10-01 10:00:00", 0, NULL, "bravo late", NULL },
		{ "cmtrace", "a.log", "2025-10-01 11:00:00", 0, NULL, "charlie later", NULL },
		{ "cmtrace", "a.log", NULL, 0, NULL, "delta timeless", NULL },
	};
	static const struct world w = { ev, 4, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;

	run_rules(&r, RULES(
	    RULE("K-warn", "warning", "99", "w", "<match><event><contains>alpha</contains></event></match>")
	    RULE("K-late", "critical", "85", "l", "<match><event><contains>bravo</contains></event></match>")
	    RULE("K-early", "critical", "81", "e", "<match><event><contains>alpha</contains></event></match>")
	    RULE("K-low", "critical", "40", "o", "<match><event><contains>alpha</contains></event></match>")
	    RULE("K-none", "critical", "85", "n", "<match><event><contains>delta</contains></event></match>")
	    RULE("K-mid", "critical", "70", "m", "<match><event><contains>charlie</contains></event></match>")), &w);
	ck_assert_uint_eq(apd_rules_nfindings(r.res), 6);
	/* severity, then band (>= 80), then time (the earliest first), then confidence */
	ck_assert_str_eq(apd_rules_finding(r.res, 0)->rule_id, "K-early");
	ck_assert_str_eq(apd_rules_finding(r.res, 1)->rule_id, "K-late");
	ck_assert_str_eq(apd_rules_finding(r.res, 2)->rule_id, "K-none");
	ck_assert_str_eq(apd_rules_finding(r.res, 3)->rule_id, "K-mid");
	ck_assert_str_eq(apd_rules_finding(r.res, 4)->rule_id, "K-low");
	ck_assert_str_eq(apd_rules_finding(r.res, 5)->rule_id, "K-warn");
	ck_assert_int_eq(apd_rules_finding(r.res, 0)->rank, 1);
	ran_free(&r);
}
END_TEST

/* ---- hostile rules ---- */

START_TEST(test_catastrophic_regex_stops)
{
	static const struct tev ev[] = {
		{ "cmtrace", "a.log", "2025-10-01 09:00:00", 0, NULL, "aaab short one", NULL },
	};
	size_t n = 1024 * 1024;
	char *big = malloc(n + 1);
	struct world w = { ev, 1, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	struct timespec t0, t1;
	double secs;

	memset(big, 'a', n);
	big[n - 1] = 'b';
	big[n] = '\0';
	w.big = big;
	w.nbig = n;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_rules(&r, RULES(
	    RULE("EVIL-1", "critical", "90", "evil", "<match><event><source-path>big.log</source-path>"
		"<regex>(a|a)*$</regex></event></match>")
	    RULE("EVIL-2", "critical", "90", "evil, interpreted", "<match><event><source-path>big.log</source-path>"
		"<regex>(*NO_JIT)(a|a)*$</regex></event></match>")
	    RULE("FINE-1", "info", "90", "fine", "<match><event><contains>short</contains></event></match>")), &w);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* the 1 MB line stops at a limit: a warning, no finding, no crash, not minutes */
	ck_assert_msg(diag_with(&r, "regex stopped at the match limit on a 1048576-byte message"),
	    "no warning about the match limit");
	ck_assert_uint_eq(nfindings_of(&r, "EVIL-1"), 0);
	/* without JIT the interpreter's match limit stops it */
	ck_assert_msg(diag_with(&r, "rule EVIL-2: regex stopped at the match limit"), "no EVIL-2 warning");
	ck_assert_uint_eq(nfindings_of(&r, "EVIL-2"), 0);
	ck_assert_uint_eq(nfindings_of(&r, "FINE-1"), 1);
	ck_assert_msg(secs < 60, "took %.1f s", secs);
	fprintf(stderr, "catastrophic regex: %.2f s\n  %s\n  %s\n", secs, apd_rules_diag(r.res, 0)->msg,
	    apd_rules_diag(r.res, 1)->msg);
	ran_free(&r);
	free(big);
}
END_TEST

START_TEST(test_sql_is_read_only)
{
	static const struct tev ev[] = {
		{ "cmtrace", "a.log", "2025-10-01 09:00:00", 0, NULL, "one", NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:01", 0, NULL, "two", NULL },
	};
	static const struct world w = { ev, 2, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	const struct apd_finding *f;

	run_rules(&r, RULES(
	    RULE("S-ok", "error", "80", "{n} events, last {msg}",
		"<match><sql>SELECT e.id AS event_id, e.ts_utc, (SELECT count(*) FROM event) AS n, "
		"e.message AS msg FROM event e ORDER BY e.id DESC LIMIT 1</sql></match>")
	    RULE("S-del", "error", "80", "x", "<match><sql>DELETE FROM event RETURNING id AS event_id</sql></match>")
	    RULE("S-two", "error", "80", "x", "<match><sql>SELECT 1; DELETE FROM event</sql></match>")
	    RULE("S-attach", "error", "80", "x", "<match><sql>ATTACH ':memory:' AS x</sql></match>")
	    RULE("S-pragma", "error", "80", "x", "<match><sql>PRAGMA writable_schema = 1</sql></match>")
	    RULE("S-cond", "error", "80", "cond", "<match><event><contains>one</contains></event></match>"
		"<when><sql>SELECT count(*) &gt;= 2 FROM event</sql></when>")
	    RULE("S-condno", "error", "80", "condno", "<match><event><contains>one</contains></event></match>"
		"<when><sql>SELECT count(*) &gt;= 3 FROM event</sql></when>")
	    RULE("S-loop", "info", "1", "loop", "<match><sql>WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
		"SELECT x + 1 FROM c) SELECT x FROM c WHERE x &lt; 0</sql></match>")), &w);
	ck_assert_ptr_nonnull(f = finding_of(&r, "S-ok"));
	ck_assert_str_eq(f->title, "2 events, last two");
	ck_assert_uint_eq(nfindings_of(&r, "S-del"), 0);
	ck_assert_uint_eq(nfindings_of(&r, "S-two"), 0);
	ck_assert_uint_eq(nfindings_of(&r, "S-attach"), 0);
	ck_assert_uint_eq(nfindings_of(&r, "S-pragma"), 0);
	ck_assert(diag_with(&r, "SQL refused"));
	ck_assert(diag_with(&r, "SQL stopped after"));
	ck_assert_uint_eq(nfindings_of(&r, "S-cond"), 1);
	ck_assert_uint_eq(nfindings_of(&r, "S-condno"), 0);
	/* nothing was deleted, and the index is still written normally */
	ck_assert_int_eq(q_int(r.db, "SELECT count(*) FROM event"), 2);
	ck_assert_int_eq(q_int(r.db, "PRAGMA query_only"), 0);
	ran_free(&r);
}
END_TEST

/* ---- cost ---- */

/*
 * 20,000 events and 1 vs 200 rules that each look for their own literal:
 * the rows confirmed per rule are the rows holding its rarest word, never
 * the whole log, and identical selectors are evaluated once.
 */
START_TEST(test_candidates_not_rules_times_events)
{
	enum { NEV = 20000, NRULES = 200 };
	struct tev *ev = calloc(NEV, sizeof(*ev));
	char **msgs = calloc(NEV, sizeof(char *));
	char *xml = malloc((size_t)NRULES * 600 + 200);
	struct world w = { NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct apd_rule_info ri;
	struct ran r;
	size_t i, o = 0, total = 0;

	for (i = 0; i < NEV; i++) {
		msgs[i] = malloc(96);
		snprintf(msgs[i], 96, "[Win32App] common words for every line, app%04zu state %zu",
		    i % 500, i % 7);
		ev[i].kind = "cmtrace";
		ev[i].path = "ime.log";
		ev[i].msg = msgs[i];
	}
	w.ev = ev;
	w.nev = NEV;
	o += (size_t)sprintf(xml + o, "<?xml version=\"1.0\"?>\n<rules format=\"1\">\n");
	for (i = 0; i < NRULES; i++)
		o += (size_t)sprintf(xml + o, RULE("V-%zu", "info", "50", "t",
		    "<match><event><contains>common words for every line, app%04zu</contains>"
		    "<regex>state [0-3]$</regex></event></match>"), i, i % 250);
	sprintf(xml + o, "</rules>\n");
	run_rules(&r, xml, &w);
	for (i = 0; i < apd_ruleset_size(r.rs); i++) {
		const struct apd_rule_stats *st = apd_rules_stats(r.res, i);
		apd_ruleset_info(r.rs, i, &ri);
		ck_assert(st->evaluated);
		/* app%04zu < 250 appears in 40 of the 20,000 lines */
		ck_assert_uint_eq(st->candidates, NEV / 500);
		total += st->candidates;
	}
	ck_assert_uint_lt(total, (size_t)NRULES * NEV / 100);
	ck_assert_uint_eq(apd_rules_nfindings(r.res), NRULES);
	ran_free(&r);
	for (i = 0; i < NEV; i++)
		free(msgs[i]);
	free(msgs);
	free(ev);
	free(xml);
}
END_TEST

/* Run rules_xml over w, which must give no finding: the VM steps the run took. */
static uint64_t
steps_without_findings(const char *rules_xml, const struct world *w)
{
	struct ran r;
	uint64_t steps;

	run_rules(&r, rules_xml, w);
	steps = apd_rules_vm_steps(r.res);
	ck_assert_uint_eq(apd_rules_nfindings(r.res), 0);
	ran_free(&r);
	return steps;
}

/*
 * A contains literal is looked up as the phrase of its words: records that
 * hold the words apart are not candidates (they were when the filter was
 * the literal's rarest word).  Of two literals the one whose rarest word is
 * rarest filters, even when its other words are in more rows than a word is
 * ever counted (WORD_COUNT_CAP, 65,536).  And a condition's selector is not
 * read for a rule whose trigger matched nothing.
 */
START_TEST(test_literal_is_a_phrase_and_conditions_wait_for_triggers)
{
	enum { NCOMMON = 66000, NAPART = 40, NPHRASE = 5, NSUCCESS = 3000 };
	size_t nev = NCOMMON + NAPART + NPHRASE + NSUCCESS, i, k = 0;
	struct tev *ev = calloc(nev, sizeof(*ev));
	struct world w = { NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	uint64_t steps_none, steps_one;

	for (i = 0; i < NCOMMON; i++)
		ev[k++].msg = "[Win32App] chatter of every line";
	for (i = 0; i < NAPART; i++)
		ev[k++].msg = "[Win32App] lpExitCode state defined as the Failed one, it is";
	for (i = 0; i < NPHRASE; i++)
		ev[k++].msg = "[Win32App] lpExitCode is defined as Failed";
	for (i = 0; i < NSUCCESS; i++)
		ev[k++].msg = "[Win32App] lpExitCode is defined as Success";
	for (i = 0; i < nev; i++) {
		ev[i].kind = "cmtrace";
		ev[i].path = "AppWorkload.log";
		ev[i].time = "2025-10-01 09:00:00";
	}
	w.ev = ev;
	w.nev = nev;
	run_rules(&r, RULES(
	    RULE("P-1", "error", "80", "t", "<match><event><contains>lpExitCode is defined as Failed</contains>"
		"</event></match>")
	    RULE("P-2", "error", "80", "t", "<match><event><contains>Win32App chatter of every</contains>"
		"<contains>defined as Failed</contains></event></match>")), &w);
	ck_assert_uint_eq(apd_rules_stats(r.res, 0)->candidates, NPHRASE);
	ck_assert_uint_eq(apd_rules_stats(r.res, 1)->candidates, NPHRASE);
	ck_assert_uint_eq(apd_rules_nfindings(r.res), 1);
	ran_free(&r);

	/* the condition's 3,000 rows are read only when the trigger matched (and the
	   successes come after the failure: no finding either way) */
	steps_none = steps_without_findings(RULES(RULE("C-1", "error", "80", "t",
	    "<match><event><contains>never logged anywhere</contains></event></match>"
	    "<when><preceded-by><event><contains>defined as Success</contains></event></preceded-by></when>")), &w);
	steps_one = steps_without_findings(RULES(RULE("C-2", "error", "80", "t",
	    "<match><event><contains>lpExitCode is defined as Failed</contains></event></match>"
	    "<when><preceded-by><event><contains>defined as Success</contains></event></preceded-by></when>")), &w);
	ck_assert_uint_lt(steps_none, 1000);
	ck_assert_uint_gt(steps_one, 10 * NSUCCESS);
	free(ev);
}
END_TEST

/*
 * Literals the phrase planner must split or cut and still find: a non-ASCII
 * word in the middle (two runs), a 70-byte word (no token the planner
 * counts), 40 words (the planner looks at 32), punctuation only (no words:
 * no full-text filter at all), and quotes inside the literal.
 */
START_TEST(test_literal_phrase_edge_cases)
{
	static char long_words[600], long_word[200];
	static const struct tev ev[] = {
		{ "cmtrace", "a.log", "2025-10-01 09:00:00", 0, NULL,
		  "[Win32App] caf\xc3\xa9 cr\xc3\xa8me install of Contoso failed", NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:01", 0, NULL, long_word, NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:02", 0, NULL, long_words, NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:03", 0, NULL, "state: -> :: <-", NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:04", 0, NULL, "name = \"Contoso \"VPN\"\" ok", NULL },
		{ "cmtrace", "a.log", "2025-10-01 09:00:05", 0, NULL, "unrelated line", NULL },
	};
	struct world w = { ev, sizeof(ev) / sizeof(ev[0]), NULL, 0, NULL, 0, NULL, 0, NULL };
	char xml[4096];
	struct ran r;
	size_t i, o = 0;

	for (i = 0; i < 40; i++)
		o += (size_t)snprintf(long_words + o, sizeof(long_words) - o, "%sw%02zu", i ? " " : "", i);
	snprintf(long_word, sizeof(long_word), "x%0*d tail", 69, 0);
	snprintf(xml, sizeof(xml), RULES(
	    RULE("L-1", "error", "80", "t", "<match><event><contains>install of Contoso</contains>"
		"<contains>caf\xc3\xa9 cr\xc3\xa8me install</contains></event></match>")
	    RULE("L-2", "error", "80", "t", "<match><event><contains>%s</contains></event></match>")
	    RULE("L-3", "error", "80", "t", "<match><event><contains>%s</contains></event></match>")
	    RULE("L-4", "error", "80", "t", "<match><event><contains>: -&gt; ::</contains></event></match>")
	    RULE("L-5", "error", "80", "t", "<match><event><contains>\"Contoso \"VPN\"\" ok</contains>"
		"</event></match>")), long_word, long_words);
	run_rules(&r, xml, &w);
	for (i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "L-%zu", i + 1);
		ck_assert_msg(nfindings_of(&r, id) == 1, "%s: %zu findings", id, nfindings_of(&r, id));
		ck_assert_uint_eq(apd_rules_stats(r.res, i)->matches, 1);
	}
	ran_free(&r);
}
END_TEST

/*
 * One EVTX source of 30,000 records, ten of them with the event id a rule
 * looks for.  The index's sampled statistics (analysis_limit) say about 1,000
 * events per source, so the planner once walked all 30,000 through
 * event_source instead of the ten through event_eid: 4.5 s instead of 0.15 s
 * for the rule pack on a 375k-record file.  The candidate queries' virtual
 * machine steps count the rows read.
 */
START_TEST(test_event_id_rule_reads_its_events_not_the_source)
{
	enum { NEV = 30000, NHIT = 10 };
	struct tev *ev = calloc(NEV, sizeof(*ev));
	struct world w = { NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct ran r;
	size_t i;

	for (i = 0; i < NEV; i++) {
		ev[i].kind = "evtx";
		ev[i].path = "admin.evtx";
		ev[i].time = "2025-10-06 10:14:31";
		ev[i].event_id = i % (NEV / NHIT) == 0 ? 1234 : 4000 + (int64_t)(i % 50);
		ev[i].channel = "Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin";
		ev[i].msg = "a record";
	}
	w.ev = ev;
	w.nev = NEV;
	/* the statistics PRAGMA optimize (analysis_limit 1000) wrote for that file */
	w.stats = "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES ('event', 'event_source', "
	    "'444210 1001 1'), ('event', 'event_eid', '552475 667'), ('event', 'event_ts', "
	    "'404496 32'); ANALYZE sqlite_schema";
	run_rules(&r, RULES(RULE("E-1", "error", "80", "t",
	    "<match><event><event-id>1234 1235</event-id></event></match>")), &w);
	ck_assert_uint_eq(apd_rules_stats(r.res, 0)->candidates, NHIT);
	ck_assert_uint_eq(apd_rules_nfindings(r.res), 1);
	ck_assert_uint_lt(apd_rules_vm_steps(r.res), 100 * NHIT);
	ran_free(&r);
	free(ev);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("Core");

	tcase_add_checked_fixture(tc, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_malformed_files_name_file_and_line);
	tcase_add_test(tc, test_load_dir_goes_on_and_ids_replace);
	tcase_add_test(tc, test_hresult_spellings_and_fields);
	tcase_add_test(tc, test_registry_and_facts);
	tcase_add_test(tc, test_absence_sequence_threshold);
	tcase_add_test(tc, test_borrowed_captures_group_by_time_between);
	tcase_add_test(tc, test_ranking);
	tcase_add_test(tc, test_catastrophic_regex_stops);
	tcase_add_test(tc, test_sql_is_read_only);
	tcase_add_test(tc, test_candidates_not_rules_times_events);
	tcase_add_test(tc, test_event_id_rule_reads_its_events_not_the_source);
	tcase_add_test(tc, test_literal_is_a_phrase_and_conditions_wait_for_triggers);
	tcase_add_test(tc, test_literal_phrase_edge_cases);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(rules_suite());
}
