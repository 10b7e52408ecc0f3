/*
 * check_analyze.c - the apdiag binary as a user runs it: verbs, options,
 * exit codes, the JSON summary, escaping of hostile names, the man page
 * staying in step with --help, and time-zone conversion end to end.
 *
 * argv[1] is the path of the built apdiag (tests/meson.build passes it).
 */
#include "apd_test.h"

#include <json.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *apdiag;

/*
 * Run "apdiag ARGS" in the test's temporary directory; returns the exit
 * status, stdout in *out (malloc'd).
 */
static int
run(char **out, const char *fmt, ...) APD_PRINTF(2, 3);

static int
run(char **out, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	size_t cap = 1 << 16, n = 0, r;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' %s 2>stderr.txt", apd_test_tmpdir(),
	    apdiag, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	*out = malloc(cap);
	while ((r = fread(*out + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (n + 1 == cap)
			*out = realloc(*out, cap *= 2);
	}
	(*out)[n] = '\0';
	st = pclose(p);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_version_and_usage)
{
	char *out;

	ck_assert_int_eq(run(&out, "--version"), 0);
	ck_assert_ptr_nonnull(strstr(out, "apdiag 0."));
	free(out);
	ck_assert_int_eq(run(&out, "frobnicate"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "%s", ""), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze x --bogus"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze x --max-depth"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze x --max-file-size 12Q"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze /nonexistent/input"), 3);
	free(out);
	ck_assert_int_eq(run(&out, "help analyze"), 0);
	ck_assert_ptr_nonnull(strstr(out, "--max-depth"));
	free(out);
}
END_TEST

/* Every option of VERB --help is in the man page; returns how many there are. */
static int
ck_options_in_man(const char *man, const char *verb)
{
	char *out, *p, opt[64], esc[128];
	int count = 0;

	ck_assert_int_eq(run(&out, "%s --help", verb), 0);
	for (p = out; (p = strstr(p, "\n  --")) != NULL; p += 3) {
		size_t k = strcspn(p + 3, " \n");
		size_t i, j = 0;
		snprintf(opt, sizeof(opt), "%.*s", (int)k, p + 3);
		/* roff spells '-' as '\-' */
		for (i = 0; opt[i] && j + 2 < sizeof(esc); i++) {
			if (opt[i] == '-')
				esc[j++] = '\\';
			esc[j++] = opt[i];
		}
		esc[j] = '\0';
		ck_assert_msg(strstr(man, esc) != NULL, "%s %s is not in docs/apdiag.1", verb, opt);
		count++;
	}
	free(out);
	return count;
}

/* Every option of `analyze --help` and `upload --help` is in the man page, and the exit codes. */
START_TEST(test_man_page_in_step)
{
	unsigned char *man;
	size_t n;
	int code;
	char want[32];

	man = apd_test_slurp_src("docs/apdiag.1", &n);
	ck_assert_int_ge(ck_options_in_man((char *)man, "analyze"), 10);
	ck_assert_int_ge(ck_options_in_man((char *)man, "upload"), 7);
	ck_assert_int_ge(ck_options_in_man((char *)man, "report"), 3);
	ck_assert_ptr_nonnull(strstr((char *)man, ".SH EXIT STATUS"));
	for (code = 0; code <= 8; code++) {
		snprintf(want, sizeof(want), "\n.B %d\n", code);
		ck_assert_msg(strstr((char *)man, want) != NULL, "exit status %d is not in docs/apdiag.1",
		    code);
	}
	free(man);
}
END_TEST

START_TEST(test_json_summary_and_partial_exit)
{
	static const char cm[] = "\xEF\xBB\xBF<![LOG[one]LOG]!><time=\"10:00:00.1234567\" "
	    "date=\"7-22-2025\" component=\"IME\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	struct json_object *root, *srcs, *facts, *findings;
	char *out;
	size_t i;
	int rc, saw_trunc = 0;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/IntuneManagementExtension.log"), cm, sizeof(cm) - 1);
	/* a zip cut in the middle of its first entry's data */
	apd_test_write_file(apd_test_tpath("in/truncated.zip"), "PK\003\004\024\000\000\000\010\000",
	    10);
	rc = run(&out, "analyze in --json --db out.db");
	ck_assert_int_eq(rc, 4);
	root = json_tokener_parse(out);
	ck_assert_msg(root != NULL, "not JSON: %s", out);
	ck_assert(json_object_object_get_ex(root, "sources", &srcs));
	ck_assert(json_object_object_get_ex(root, "facts", &facts));
	ck_assert(json_object_object_get_ex(root, "findings", &findings));
	ck_assert_int_eq(json_object_array_length(findings), 0);
	ck_assert_int_ge(json_object_array_length(srcs), 2);
	for (i = 0; i < json_object_array_length(srcs); i++) {
		struct json_object *s = json_object_array_get_idx(srcs, i), *v;
		ck_assert(json_object_object_get_ex(s, "path", &v));
		if (strcmp(json_object_get_string(v), "truncated.zip") == 0) {
			saw_trunc = 1;
			ck_assert(json_object_object_get_ex(s, "status", &v));
			ck_assert_str_eq(json_object_get_string(v), "failed");
			ck_assert(json_object_object_get_ex(s, "error", &v));
			ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "truncated.zip"));
		}
		ck_assert(json_object_object_get_ex(s, "kind", &v));
		ck_assert(json_object_object_get_ex(s, "records", &v));
	}
	ck_assert(saw_trunc);
	json_object_put(root);
	free(out);
	/* the index is where --db said, complete, without its .partial */
	ck_assert_int_eq(access(apd_test_tpath("out.db"), R_OK), 0);
	ck_assert_int_ne(access(apd_test_tpath("out.db.partial"), F_OK), 0);
}
END_TEST

START_TEST(test_hostile_names_escaped)
{
	char *out;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/evil\x1b[31mred\x07.txt"), "x\n", 2);
	ck_assert_int_eq(run(&out, "analyze in --db e.db"), 0);
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_null(strchr(out, '\x07'));
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db e.db --json"), 0);
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_nonnull(strstr(out, "\\u001b[31mred\\u0007.txt"));
	free(out);
}
END_TEST

/*
 * An IME log in device-local time plus a registry dump that holds the
 * device's zone (Pacific): the index converts the log's times to UTC.
 * Without the dump the times stay local and tz_source says so.
 */
START_TEST(test_time_zone_end_to_end)
{
	static const char ime[] = "\xEF\xBB\xBF<![LOG[summer]LOG]!><time=\"12:00:00.0000000\" "
	    "date=\"7-1-2025\" component=\"IME\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n"
	    "<![LOG[winter]LOG]!><time=\"12:00:00.0000000\" date=\"1-15-2025\" component=\"IME\" "
	    "context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	char *out, cmd[1024];
	FILE *p;
	char line[256];

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/IntuneManagementExtension.log"), ime, sizeof(ime) - 1);
	ck_assert_int_eq(run(&out, "analyze in --db local.db"), 0);
	free(out);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'",
	    apd_test_src("tests/data/analyze/tz-pacific/MdmDiagReport_RegistryDump.reg"),
	    apd_test_tpath("in/"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(run(&out, "analyze in --db tz.db"), 0);
	free(out);

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT message, coalesce(time_utc, '-'), "
	    "tz_source FROM timeline WHERE source_kind = 'cmtrace' ORDER BY seq\" && "
	    "sqlite3 '%s' \"SELECT message, coalesce(time_utc, '-'), tz_source FROM timeline "
	    "WHERE source_kind = 'cmtrace' ORDER BY seq\"", apd_test_tpath("local.db"),
	    apd_test_tpath("tz.db"));
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_str_eq(line, "summer|-|local\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_str_eq(line, "winter|-|local\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_str_eq(line, "summer|2025-07-01T19:00:00.000Z|registry\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_str_eq(line, "winter|2025-01-15T20:00:00.000Z|registry\n");
	ck_assert_int_eq(pclose(p), 0);
}
END_TEST

/* "message|time_utc|tz_source" of the cmtrace events of an index, in source order; its
   meta load.tz_converted into *converted and load.zone_hint (or "-") into hint. */
static char *
local_times(const char *db, long *converted, char hint[16])
{
	char *end;
	char cmd[1024], *out;
	size_t cap = 4096, n = 0, r;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT (SELECT value FROM meta WHERE key = "
	    "'load.tz_converted') || ' ' || coalesce((SELECT value FROM meta WHERE key = "
	    "'load.zone_hint'), '-'); SELECT message || '|' || coalesce(time_utc, '-') || '|' || tz_source "
	    "FROM timeline WHERE source_kind = 'cmtrace' ORDER BY message\"", db);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out = malloc(cap);
	while ((r = fread(out + n, 1, cap - n - 1, p)) > 0)
		n += r;
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	*converted = strtol(out, &end, 10);
	snprintf(hint, 16, "%.*s", (int)strcspn(end + (*end == ' '), "\n"), end + (*end == ' '));
	return strchr(out, '\n') ? memmove(out, strchr(out, '\n') + 1, strlen(strchr(out, '\n'))) : out;
}

/*
 * The index converts device-local times as it stores them once the zone is
 * known: a folder's *.reg files are read first, and an archive is first
 * walked quickly for its registry (meta load.zone_hint).  apd_derive_all
 * converts what was stored without a zone, or everything again when the
 * zone the index ends up with is not the one used.  All ways must give the
 * times the derivation alone gives.  The Pacific dump, then a log, then a W.
 * Europe dump (in a tar, in that order): the log was converted at load, and
 * must end up under W. Europe, the zone of the last values.
 */
START_TEST(test_time_zone_at_load_equals_derived)
{
	static const char eu[] = "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
	    "TimeZoneInformation]\r\n"
	    "    \"Bias\"=DWORD:ffffffc4\r\n"
	    "    \"DaylightBias\"=DWORD:ffffffc4\r\n"
	    "    \"DaylightStart\"=hex(3):00,00,03,00,00,00,05,00,02,00,00,00,00,00,00,00\r\n"
	    "    \"StandardBias\"=DWORD:00000000\r\n"
	    "    \"StandardStart\"=hex(3):00,00,0a,00,00,00,05,00,03,00,00,00,00,00,00,00\r\n"
	    "    \"TimeZoneKeyName\"=\"W. Europe Standard Time\"\r\n";
	static const char ime[] = "<![LOG[summer]LOG]!><time=\"12:00:00.0000000\" "
	    "date=\"7-1-2025\" component=\"IME\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	static const char agent[] = "<![LOG[winter]LOG]!><time=\"12:00:00.0000000\" "
	    "date=\"1-15-2025\" component=\"AE\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	/* late1: the logs before the only dump, converted at load under the zone the quick
	   pass found.  late: the logs, Pacific, W. Europe: converted at load under the last
	   zone the quick pass saw; the Pacific dump then made the zones mixed, and the
	   derivation converted them again under the index's zone, W. Europe.  mixed:
	   Pacific, a log, W. Europe, a log: the same, the other way round. */
	static const char *const cases[] = { "late1", "late", "mixed" };
	char *out, *a, *b, cmd[2048], hint[16];
	long conv_a, conv_b;
	size_t k;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/IntuneManagementExtension.log"), ime, sizeof(ime) - 1);
	apd_test_write_file(apd_test_tpath("in/AgentExecutor.log"), agent, sizeof(agent) - 1);
	apd_test_write_file(apd_test_tpath("in/zz-eu.reg"), eu, sizeof(eu) - 1);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cd '%s' && "
	    "tar cf late.tar IntuneManagementExtension.log AgentExecutor.log "
	    "MdmDiagReport_RegistryDump.reg zz-eu.reg && "
	    "tar cf late1.tar IntuneManagementExtension.log AgentExecutor.log zz-eu.reg && "
	    "tar cf nozone.tar IntuneManagementExtension.log AgentExecutor.log && "
	    "tar cf mixed.tar MdmDiagReport_RegistryDump.reg IntuneManagementExtension.log zz-eu.reg "
	    "AgentExecutor.log && mv late.tar late1.tar nozone.tar mixed.tar ..",
	    apd_test_src("tests/data/analyze/tz-pacific/MdmDiagReport_RegistryDump.reg"),
	    apd_test_tpath("in/"), apd_test_tpath("in"));
	ck_assert_int_eq(system(cmd), 0);

	/* the folder: both dumps first, every time converted at load under the last zone */
	ck_assert_int_eq(run(&out, "analyze in --db folder.db"), 0);
	free(out);
	a = local_times(apd_test_tpath("folder.db"), &conv_a, hint);
	ck_assert_int_eq(conv_a, 2);
	ck_assert_str_eq(hint, "-");   /* no quick pass for a folder */
	ck_assert_str_eq(a, "summer|2025-07-01T10:00:00.000Z|registry\n"
	    "winter|2025-01-15T11:00:00.000Z|registry\n");

	/* the archives, each read with the quick pass for the zone first */
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		snprintf(cmd, sizeof(cmd), "analyze %s.tar --db %s.db", cases[k], cases[k]);
		ck_assert_int_eq(run(&out, "%s", cmd), 0);
		free(out);
		snprintf(cmd, sizeof(cmd), "%s.db", cases[k]);
		b = local_times(apd_test_tpath(cmd), &conv_b, hint);
		ck_assert_msg(conv_b == 2, "%s: %ld converted at load", cases[k], conv_b);
		ck_assert_str_eq(hint, "registry");
		ck_assert_str_eq(b, a);
		free(b);
	}

	/* no zone anywhere: local times */
	ck_assert_int_eq(run(&out, "analyze nozone.tar --db nozone.db"), 0);
	free(out);
	b = local_times(apd_test_tpath("nozone.db"), &conv_b, hint);
	ck_assert_int_eq(conv_b, 0);
	ck_assert_str_eq(hint, "none");
	ck_assert_str_eq(b, "summer|-|local\nwinter|-|local\n");
	free(b);
	free(a);
}
END_TEST

/* Read the JSON summary of one analysis; returns the root (caller puts it). */
static struct json_object *
analyze_json(const char *input, int *rc)
{
	struct json_object *root;
	char *out;

	*rc = run(&out, "analyze '%s' --json --db sample.db", input);
	root = json_tokener_parse(out);
	ck_assert_msg(root != NULL, "%s: not JSON: %.200s", input, out);
	free(out);
	return root;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

/* Every source of every sample opens cleanly, and each sample shows its shape. */
START_TEST(test_samples)
{
	static const char *const samples[] = {
		"samples/mdmdiag-esp-app-failure.cab",
		"samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip",
		"samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip",
		"samples/folder-profile-not-assigned",
		"samples/mdmdiag-preprov-notcomputed.cab",
		"samples/lzx.cab",
		"samples/lzx-multi.cab",
		"samples/mdmdiag-hybrid-user-app-failure.cab",
		"samples/mdmdiag-preprovisioned.cab",
	};
	size_t i, k;
	int rc;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char *in = strdup(apd_test_src(samples[i]));
		struct json_object *root = analyze_json(in, &rc), *srcs, *facts, *gaps;
		int nested = 0, origin = 0, events = 0;

		ck_assert_msg(rc == 0, "%s: exit %d", samples[i], rc);
		ck_assert(json_object_object_get_ex(root, "sources", &srcs));
		ck_assert(json_object_object_get_ex(root, "facts", &facts));
		ck_assert(json_object_object_get_ex(root, "gaps", &gaps));
		for (k = 0; k < json_object_array_length(srcs); k++) {
			struct json_object *s = json_object_array_get_idx(srcs, k), *r;
			const char *st = jstr(s, "status"), *path = jstr(s, "path");
			ck_assert_msg(strcmp(st, "ok") == 0 || strcmp(st, "gap") == 0,
			    "%s: %s is %s: %s", samples[i], path, st, jstr(s, "error"));
			if (strstr(path, ".cab!") && strstr(path, ".zip!"))
				nested++;
			if (jstr(s, "origin") && strncmp(jstr(s, "origin"), "RegistryKey HKLM\\", 15) == 0)
				origin++;
			ck_assert(json_object_object_get_ex(s, "records", &r));
			events += json_object_get_int(r);
			if (strcmp(st, "ok") == 0) {
				ck_assert_ptr_nonnull(jstr(s, "sha256"));
				ck_assert_uint_eq(strlen(jstr(s, "sha256")), 64);
			}
		}
		if (i == 0) {
			ck_assert_str_eq(jstr(facts, "time.zone_source"), "registry");
			ck_assert_str_eq(jstr(facts, "device.timezone"), "Pacific Standard Time");
			ck_assert_int_ge(json_object_array_length(gaps), 1);
		} else if (i == 1) {
			ck_assert_int_ge(nested, 5);   /* the IME logs inside the nested mdmlogs cab */
			ck_assert_str_eq(jstr(json_object_array_get_idx(gaps, 0), "hresult_hex"),
			    "0x80070001");
			ck_assert_str_eq(jstr(facts, "device.name"), "CONTOSO-PC01");
		} else if (i == 2) {
			ck_assert_int_ge(origin, 1);   /* numbered folders mapped through results.xml */
		} else if (i == 3) {
			ck_assert_str_eq(jstr(facts, "autopilot.ErrorCode"), "807");
		}
		if (i < 5 || i >= 7)   /* not the LZX cabs */
			ck_assert_int_ge(events, 100);
		json_object_put(root);
		free(in);
	}
}
END_TEST

/*
 * The ESP summary of the terminal report and the "esp" object of --json: the
 * phases with their durations and the blocking app, on bundle A (failed),
 * PC02 (timed out) and the folder without a profile (no ESP).
 */
START_TEST(test_esp_summary)
{
	struct json_object *root, *esp, *phases, *blocking, *apps;
	char *out, *in;
	int rc;

	in = strdup(apd_test_src("samples/mdmdiag-esp-app-failure.cab"));
	ck_assert_int_eq(run(&out, "analyze '%s' --db a.db", in), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nDeployment: user-driven, Microsoft Entra join, profile "
	    "\"Contoso User-Driven Entra Join\" (contoso.onmicrosoft.com)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nESP: failed after 9m57s; timeout 60 min; device page on, "
	    "user page on\n"));
	ck_assert_ptr_nonnull(strstr(out, "  Blocking: app \"Contoso VPN Client 5.2\" "
	    "(8c6e2f1a-4b3d-4f9e-a2c7-5d1b0e9f3a64) in DeviceSetup: exit code 1603 (0x80070643)\n"));
	ck_assert_ptr_nonnull(strstr(out, "  DeviceSetup                    2025-10-01 15:55:55Z      "
	    "9m57s     failed       3\n"));
	ck_assert_ptr_nonnull(strstr(out, "  AccountSetup                   -                         -"
	    "         not-started  0\n"));
	ck_assert_ptr_nonnull(strstr(out, "  Apps: 4 (4 tracked by the ESP): 3 installed, 1 failed"));
	/* the verdict and the findings come first, then the ESP, then the sources */
	ck_assert_ptr_nonnull(strstr(out, "\nVerdict: "));
	ck_assert_ptr_nonnull(strstr(strstr(strstr(out, "\nVerdict: "), "\nESP: failed"),
	    "\nSources by kind:"));
	{
		/* the timeline's counts, as the index has them (analyze counts through indexes) */
		sqlite3 *db;
		sqlite3_stmt *s;
		char line[128];
		ck_assert_int_eq(sqlite3_open_v2(apd_test_tpath("a.db"), &db, SQLITE_OPEN_READONLY, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*), count(ts_utc) FROM event", -1, &s,
		    NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		ck_assert_int_gt(sqlite3_column_int64(s, 1), 0);
		snprintf(line, sizeof(line), "\nTimeline: %lld events, %lld with a UTC time; ",
		    sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1));
		ck_assert_msg(strstr(out, line) != NULL, "no '%s' in the summary", line + 1);
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	free(out);

	root = analyze_json(in, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert(json_object_object_get_ex(root, "esp", &esp));
	ck_assert_str_eq(jstr(esp, "scenario"), "user-driven-entra");
	ck_assert_str_eq(jstr(esp, "outcome"), "failed");
	ck_assert_str_eq(jstr(esp, "start_utc"), "2025-10-01T15:55:55.551Z");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(esp, "duration_s")), 597);
	ck_assert(json_object_object_get_ex(esp, "blocking", &blocking));
	ck_assert_str_eq(jstr(blocking, "name"), "Contoso VPN Client 5.2");
	ck_assert_str_eq(jstr(blocking, "code_hex"), "0x80070643");
	ck_assert(json_object_object_get_ex(esp, "phases", &phases));
	ck_assert_int_eq(json_object_array_length(phases), 3);
	ck_assert_str_eq(jstr(json_object_array_get_idx(phases, 1), "outcome"), "failed");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(json_object_array_get_idx(phases, 1),
	    "duration_s")), 597);
	ck_assert(json_object_object_get_ex(esp, "apps", &apps));
	ck_assert_int_eq(json_object_array_length(apps), 4);
	json_object_put(root);
	free(in);

	in = strdup(apd_test_src("samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip"));
	ck_assert_int_eq(run(&out, "analyze '%s' --db b.db", in), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nESP: timed out after 1h00m; timeout 60 min"));
	ck_assert_ptr_nonnull(strstr(out, "  Blocking: app \"Contoso LOB Suite 2025\" "
	    "(4f3e2d1c-0b9a-4876-9543-210fedcba987) in DeviceSetup: installer timed out after 60 min; "
	    "the ESP timed out after 60 min (0x87D300C9)\n"));
	free(out);
	free(in);

	in = strdup(apd_test_src("samples/folder-profile-not-assigned"));
	ck_assert_int_eq(run(&out, "analyze '%s' --db c.db", in), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nDeployment: no Autopilot profile applied\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nESP: not shown\n"));
	ck_assert_ptr_null(strstr(out, "Blocking:"));
	free(out);
	root = analyze_json(in, &rc);
	ck_assert(json_object_object_get_ex(root, "esp", &esp));
	ck_assert(json_object_object_get_ex(esp, "blocking", &blocking));
	ck_assert(json_object_is_type(blocking, json_type_null));
	json_object_put(root);
	free(in);
}
END_TEST

static void
copy(const char *rel, const char *to)
{
	unsigned char *buf;
	size_t n;

	buf = apd_test_slurp_src(rel, &n);
	apd_test_write_file(apd_test_tpath(to), buf, n);
	free(buf);
}

/*
 * All the bad inputs of the issue side by side with good files: each bad one
 * gets a clear error in source.status/error naming the file, the run ends
 * with the documented partial exit code 4, and every good file is indexed.
 */
START_TEST(test_bad_inputs_together)
{
	static const char cm[] = "\xEF\xBB\xBF<![LOG[good entry]LOG]!><time=\"10:00:00.1234567\" "
	    "date=\"7-22-2025\" component=\"IME\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	static const struct {
		const char *path, *status, *needle;
	} want[] = {
		{ "truncated-cab.cab", NULL, NULL },              /* partial or failed */
		{ "truncated-zip.zip", NULL, NULL },
		{ "MDMDiagReport.xml", NULL, "UTF-8" },   /* Windows-1252 bytes declared UTF-8 */
		{ "binary-garbage.log", "failed", "binary data at offset" },
		{ "huge-sparse.log", "failed", "exceeds the limit" },
	};
	unsigned char *buf;
	size_t n, i;
	char sql[512], *out;
	FILE *p;
	char line[1024];

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/IntuneManagementExtension.log"), cm, sizeof(cm) - 1);
	copy("tests/data/text/setupact.log", "in/setupact.log");
	buf = apd_test_slurp_src("tests/data/bundle/mszip.cab", &n);
	apd_test_write_file(apd_test_tpath("in/truncated-cab.cab"), buf, n * 2 / 3);
	free(buf);
	buf = apd_test_slurp_src("samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip", &n);
	apd_test_write_file(apd_test_tpath("in/truncated-zip.zip"), buf, n / 2);
	free(buf);
	{
		static const char x[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		    "<MDMEnterpriseDiagnosticsReport>\r\n<SystemInformation>\r\n"
		    "<DeviceName>CAF\xC9-PC</DeviceName>\r\n</SystemInformation>\r\n"
		    "</MDMEnterpriseDiagnosticsReport>\r\n";
		apd_test_write_file(apd_test_tpath("in/MDMDiagReport.xml"), x, sizeof(x) - 1);
	}
	copy("tests/data/text/binary-garbage.log", "in/binary-garbage.log");
	apd_test_write_sparse(apd_test_tpath("in/huge-sparse.log"), 2147483648LL);

	ck_assert_int_eq(run(&out, "analyze in --db bad.db"), 4);
	ck_assert_ptr_nonnull(strstr(out, "Sources with problems"));
	free(out);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(sql, sizeof(sql), "sqlite3 '%s' \"SELECT status || '|' || coalesce(error, '') "
		    "FROM source WHERE path = '%s'\"", apd_test_tpath("bad.db"), want[i].path);
		p = popen(sql, "r");
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(fgets(line, sizeof(line), p) != NULL, "%s not in the index", want[i].path);
		pclose(p);
		if (want[i].status)
			ck_assert_msg(strncmp(line, want[i].status, strlen(want[i].status)) == 0,
			    "%s: %s", want[i].path, line);
		else
			ck_assert_msg(strncmp(line, "ok|", 3) != 0, "%s: %s", want[i].path, line);
		/* the error names the file */
		ck_assert_msg(strstr(line, want[i].path) != NULL, "%s: error does not name it: %s",
		    want[i].path, line);
		if (want[i].needle)
			ck_assert_msg(strstr(line, want[i].needle) != NULL, "%s: %s", want[i].path, line);
	}
	/* the good files are all there */
	snprintf(sql, sizeof(sql), "sqlite3 '%s' \"SELECT count(*) FROM source WHERE status = 'ok' "
	    "AND path IN ('IntuneManagementExtension.log', 'setupact.log')\"",
	    apd_test_tpath("bad.db"));
	p = popen(sql, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	ck_assert_str_eq(line, "2\n");
	/* and the entries read from the truncated zip before the cut are indexed */
	snprintf(sql, sizeof(sql), "sqlite3 '%s' \"SELECT count(*) > 0 FROM source WHERE "
	    "path LIKE 'truncated-zip.zip!%%' AND status = 'ok'\"", apd_test_tpath("bad.db"));
	p = popen(sql, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	ck_assert_str_eq(line, "1\n");
}
END_TEST

/*
 * Regression (index written inside the input): `apdiag analyze .` creates its
 * index in the folder it walks; the walker must not read that growing file.
 */
START_TEST(test_regress_index_inside_input_not_read)
{
	char cmd[1024], line[512];
	FILE *p;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	copy("tests/data/text/setupact.log", "in/setupact.log");
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' analyze . --db here.db --quiet",
	    apd_test_tpath("in"), apdiag);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT group_concat(path || ':' || status || ':' || "
	    "coalesce(error, ''), ';') FROM source WHERE path LIKE 'here.db%%'\"",
	    apd_test_tpath("in/here.db"));
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	ck_assert_str_eq(line, "here.db.fts.partial:skipped:the index apdiag is writing; not read;"
	    "here.db.partial:skipped:the index apdiag is writing; not read\n");
}
END_TEST

/* A single plain file is an input too. */
START_TEST(test_single_file)
{
	char *out;

	copy("tests/data/text/setupact.log", "setupact.log");
	ck_assert_int_eq(run(&out, "analyze setupact.log --json --db one.db"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"path\":\"setupact.log\",\"kind\":\"text\""));
	free(out);
}
END_TEST

/* The first line after the header that starts with "Verdict:", and nothing report-like before it. */
static void
ck_verdict_first(const char *out, const char *want)
{
	const char *v = strstr(out, "\nVerdict: ");

	ck_assert_msg(v != NULL, "no verdict in: %.300s", out);
	ck_assert_msg(strstr(out, "Sources by kind") > v, "the verdict does not come first");
	ck_assert_msg(strncmp(v + 10, want, strlen(want)) == 0, "verdict '%.120s', want '%s'", v + 10,
	    want);
}

/* Each sample bundle gets the verdict its README promises, first, in text and JSON. */
START_TEST(test_sample_verdicts)
{
	static const struct {
		const char *sample, *rule, *text;
	} want[] = {
		{ "samples/mdmdiag-esp-app-failure.cab", "ESP-03",
		  "ESP stopped: Win32 app Contoso VPN Client 5.2 failed" },
		{ "samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip", "AADJ-01",
		  "Entra join failed with 0x801c0003: adele.vance@contoso.onmicrosoft.com" },
		{ "samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip", "ESP-01",
		  "ESP did not finish: Win32 app Contoso LOB Suite 2025 was still installing" },
		{ "samples/folder-profile-not-assigned", "AP-01",
		  "Device is not registered for Windows Autopilot (ZtdDeviceIsNotRegistered)" },
		{ "samples/mdmdiag-preprov-notcomputed.cab", "PP-03",
		  "Pre-provisioned device: the user flow ran more than six months after the technician flow" },
		/* the same join failure, seen only in the event logs (UDR 204, AAD 1098/1105) */
		{ "samples/mdmdiag-entra-join-801c0003.cab", "AADJ-01",
		  "Entra join failed with 0x801c0003: adele.vance@contoso.onmicrosoft.com" },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *in = strdup(apd_test_src(want[i].sample)), *out;
		struct json_object *root, *findings, *f, *ev;

		ck_assert_int_eq(run(&out, "analyze '%s' --db v.db", in), 0);
		ck_verdict_first(out, want[i].text);
		free(out);
		root = analyze_json(in, &rc);
		ck_assert_int_eq(rc, 0);
		ck_assert(json_object_object_get_ex(root, "findings", &findings));
		ck_assert_int_ge(json_object_array_length(findings), 1);
		f = json_object_array_get_idx(findings, 0);
		ck_assert_str_eq(jstr(f, "rule"), want[i].rule);
		ck_assert_str_eq(jstr(f, "severity"), "critical");
		ck_assert_ptr_nonnull(strstr(jstr(root, "verdict"), want[i].text));
		ck_assert_ptr_nonnull(strstr(jstr(f, "title"), want[i].text));
		ck_assert(json_object_object_get_ex(f, "evidence", &ev));
		ck_assert_int_ge(json_object_array_length(ev), 1);
		ck_assert_ptr_nonnull(jstr(json_object_array_get_idx(ev, 0), "source"));
		json_object_put(root);
		/* --fail-on turns the finding into exit status 1 */
		ck_assert_int_eq(run(&out, "analyze '%s' --db v.db --quiet --fail-on critical", in), 1);
		free(out);
		free(in);
	}
}
END_TEST

/* A healthy bundle says so; --rules adds a folder; --no-default-rules leaves only it. */
START_TEST(test_healthy_and_rule_options)
{
	static const char cm[] = "\xEF\xBB\xBF<![LOG[all good here]LOG]!><time=\"10:00:00.1234567\" "
	    "date=\"7-22-2025\" component=\"IME\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	static const char rule[] = "<rules><rule id=\"CUSTOM-01\" version=\"1\" severity=\"warning\" "
	    "category=\"esp\" confidence=\"50\"><title>custom: {count} good line</title><match><event>"
	    "<contains>good</contains></event></match><explanation>e</explanation><remediation><step>s"
	    "</step></remediation><test expect=\"match\"/></rule></rules>";
	char *out;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	ck_assert_int_eq(mkdir(apd_test_tpath("mine"), 0755), 0);
	apd_test_write_file(apd_test_tpath("in/IntuneManagementExtension.log"), cm, strlen(cm));
	apd_test_write_file(apd_test_tpath("mine/custom.xml"), rule, strlen(rule));
	ck_assert_int_eq(run(&out, "analyze in --db h.db"), 0);
	ck_verdict_first(out, "no known failure found.");
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --rules mine --fail-on critical"), 0);
	ck_verdict_first(out, "custom: 1 good line");
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --rules mine --fail-on warning"), 1);
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --no-default-rules"), 0);
	ck_verdict_first(out, "not evaluated: no rules were loaded");
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --rules missing-folder"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --fail-on high"), 2);
	free(out);
	/* a broken user rule file is named with its line, and the rest still runs */
	apd_test_write_file(apd_test_tpath("mine/broken.xml"), "<rules>\n<rule", 14);
	ck_assert_int_eq(run(&out, "analyze in --db h.db --rules mine"), 0);
	ck_verdict_first(out, "custom: 1 good line");
	free(out);
	{
		size_t n;
		unsigned char *err = apd_test_slurp(apd_test_tpath("stderr.txt"), &n);
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(strstr((char *)err, "mine/broken.xml:2: ") != NULL, "stderr: %s", err);
		free(err);
	}
}
END_TEST

/* apdiag rules lint / test on the shipped rules and on a broken folder. */
START_TEST(test_rules_verb)
{
	char *out, *dir = strdup(apd_test_src("rules"));

	ck_assert_int_eq(run(&out, "rules test '%s'", dir), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 failed, 0 errors"));
	free(out);
	ck_assert_int_eq(run(&out, "rules lint '%s'", dir), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 errors, 0 vacuous cases"));
	free(out);
	ck_assert_int_eq(run(&out, "rules"), 2);
	free(out);
	{
		/* a negative case the selector never sees cannot fail: lint rejects it, while
		   `rules test` alone passes it; with a near miss instead, lint is content */
		static const char head[] = "<rules><rule id=\"CUSTOM-02\" version=\"1\" "
		    "severity=\"error\" category=\"esp\" confidence=\"50\"><title>t</title><match>"
		    "<event><contains>lpExitCode 1603</contains><regex>lpExitCode 1603$</regex></event>"
		    "</match><explanation>e</explanation><remediation><step>s</step></remediation>"
		    "<test expect=\"match\"><event source-kind=\"cmtrace\">[Win32App] lpExitCode 1603"
		    "</event></test><test expect=\"no-match\"><event source-kind=\"cmtrace\">";
		static const char tail[] = "</event></test></rule></rules>";
		char buf[2048];

		ck_assert_int_eq(mkdir(apd_test_tpath("vac"), 0755), 0);
		snprintf(buf, sizeof(buf), "%s%s%s", head, "[Win32App] all good", tail);
		apd_test_write_file(apd_test_tpath("vac/r.xml"), buf, strlen(buf));
		ck_assert_int_eq(run(&out, "rules test vac"), 0);
		free(out);
		ck_assert_int_eq(run(&out, "rules lint vac"), 1);
		ck_assert_ptr_nonnull(strstr(out, "cannot fail"));
		ck_assert_ptr_nonnull(strstr(out, "1 vacuous case"));
		free(out);
		snprintf(buf, sizeof(buf), "%s%s%s", head, "[Win32App] lpExitCode 1603 (retried)", tail);
		apd_test_write_file(apd_test_tpath("vac/r.xml"), buf, strlen(buf));
		ck_assert_int_eq(run(&out, "rules lint vac"), 0);
		ck_assert_ptr_nonnull(strstr(out, "0 vacuous cases"));
		free(out);
	}
	ck_assert_int_eq(run(&out, "rules frobnicate"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "rules test /nonexistent/folder"), 3);
	free(out);
	ck_assert_int_eq(run(&out, "rules test '%s' --rule NO-SUCH", dir), 2);
	free(out);
	free(dir);
}
END_TEST

/* One line of `sqlite3 DB SQL` (static buffer, newline kept). */
static const char *
sql1(const char *db, const char *sql)
{
	static char line[4096];
	char cmd[8192];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", db, sql);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	pclose(p);
	return line;
}

/*
 * `apdiag evtx dump`: help, usage errors, XML and JSON lines of a fixture,
 * the damaged fixture's exit code 4 and its warnings naming the offset;
 * and `analyze` fills the EVTX columns of the index.
 */
START_TEST(test_evtx_dump_and_index)
{
	char *out, *err;
	size_t n;
	const char *db;

	copy("tests/data/evtx/types.evtx", "types.evtx");
	copy("tests/data/evtx/damaged.evtx", "damaged.evtx");
	ck_assert_int_eq(run(&out, "evtx --help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "--jsonl"));
	free(out);
	ck_assert_int_eq(run(&out, "help evtx"), 0);
	free(out);
	ck_assert_int_eq(run(&out, "evtx"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump types.evtx --bogus"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump /nonexistent.evtx"), 3);
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump stderr.txt"), 3);
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump types.evtx"), 0);
	ck_assert_ptr_nonnull(strstr(out, "<EventID>808</EventID>\n"));
	ck_assert_ptr_nonnull(strstr(out, "    <Data Name=\"arr\">a</Data>\n    <Data Name=\"arr\">b</Data>\n"));
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump --jsonl types.evtx"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"event_id\":808,"));
	ck_assert_ptr_nonnull(strstr(out, "\"user_sid\":\"S-1-5-18\""));
	ck_assert_ptr_nonnull(strstr(out, "\"arr\":[\"a\",\"b\"]"));
	free(out);
	ck_assert_int_eq(run(&out, "evtx dump --jsonl damaged.evtx"), 4);
	ck_assert_ptr_nonnull(strstr(out, "\"recovered\":true"));
	free(out);
	err = (char *)apd_test_slurp(apd_test_tpath("stderr.txt"), &n);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "damaged.evtx: offset 124: file header CRC32 mismatch"));
	free(err);
	ck_assert_int_eq(run(&out, "evtx dump --no-recovered damaged.evtx"), 4);
	ck_assert_ptr_null(strstr(out, "recovered"));
	free(out);

	ck_assert_int_eq(run(&out, "analyze types.evtx --db t.db --quiet"), 0);
	free(out);
	db = apd_test_tpath("t.db");
	ck_assert_str_eq(sql1(db, "SELECT channel || '|' || provider || '|' || event_id || '|' || "
	    "level || '|' || record_id || '|' || computer || '|' || user_sid || '|' || pid || '|' "
	    "|| thread || '|' || tz_source || '|' || coalesce(recovered, 'null') FROM timeline"),
	    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot|"
	    "Microsoft-Windows-ModernDeployment-Diagnostics-Provider|808|2|1|PC01|S-1-5-18|4242|"
	    "77|utc|null\n");
	ck_assert_str_eq(sql1(db, "SELECT json_extract(data, '$.i8') FROM event"), "-1\n");
	ck_assert_str_eq(sql1(db, "SELECT count(*) FROM event_fts WHERE event_fts MATCH "
	    "'\"0x8000000000000000\"'"), "1\n");
	ck_assert_int_eq(run(&out, "analyze damaged.evtx --db d.db --quiet"), 4);
	free(out);
	db = apd_test_tpath("d.db");
	ck_assert_str_eq(sql1(db, "SELECT count(*) || '|' || sum(recovered) FROM event"), "20|18\n");
	ck_assert_str_eq(sql1(db, "SELECT status FROM source"), "partial\n");
}
END_TEST

/* apdiag report: INPUT or DB, the formats, where the output goes, the version check. */
START_TEST(test_report_verb)
{
	char *out, path[4200];
	const char *cab = apd_test_src("samples/mdmdiag-esp-app-failure.cab");
	char cabp[4096];
	unsigned char *f;
	size_t n;
	sqlite3 *db;

	snprintf(cabp, sizeof(cabp), "%s", cab);
	/* an INPUT: analyzed into a temporary index; HTML goes to ./<name>.html */
	ck_assert_int_eq(run(&out, "report '%s'", cabp), 0);
	ck_assert_str_eq(out, "");
	free(out);
	snprintf(path, sizeof(path), "%s/mdmdiag-esp-app-failure.cab.html", apd_test_tmpdir());
	f = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(strstr((char *)f, "id=\"verdict-title\""));
	free(f);
	/* Markdown and JSON go to stdout */
	ck_assert_int_eq(run(&out, "report '%s' --format md --db idx.db", cabp), 0);
	ck_assert_ptr_nonnull(strstr(out, "## Verdict\n\n**ESP stopped"));
	free(out);
	ck_assert_int_eq(run(&out, "report idx.db --format json"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"verdict\":\"ESP stopped"));
	free(out);
	ck_assert_int_eq(run(&out, "report idx.db -o r.md"), 0);
	snprintf(path, sizeof(path), "%s/r.md", apd_test_tmpdir());
	f = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(strstr((char *)f, "# apdiag report"));
	free(f);
	free(out);
	/* analyze --report writes it as well */
	ck_assert_int_eq(run(&out, "analyze '%s' --db idx2.db --quiet --report r2.json", cabp), 0);
	free(out);
	snprintf(path, sizeof(path), "%s/r2.json", apd_test_tmpdir());
	f = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(strstr((char *)f, "\"timeline\":{\"total\":"));
	free(f);
	ck_assert_int_eq(run(&out, "analyze '%s' --db idx3.db --report - --report-format md", cabp), 0);
	ck_assert_ptr_nonnull(strstr(out, "# apdiag report"));
	ck_assert_ptr_null(strstr(out, "Sources by kind"));
	free(out);
	/* usage */
	ck_assert_int_eq(run(&out, "report idx.db --format pdf"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "report idx.db --rules ."), 2);
	free(out);
	ck_assert_int_eq(run(&out, "report idx.db --json"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "report"), 2);
	free(out);
	ck_assert_int_eq(run(&out, "report /nonexistent"), 3);
	free(out);
	ck_assert_int_eq(run(&out, "report idx.db -o /nonexistent/dir/r.html"), 5);
	free(out);
	/* an index of another schema version, and a database that is no index */
	ck_assert_int_eq(sqlite3_open(apd_test_tpath("old.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE meta(key, value); INSERT INTO meta "
	    "VALUES ('schema_version', '2'); PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(run(&out, "report old.db --format md"), 3);
	free(out);
	snprintf(path, sizeof(path), "%s/stderr.txt", apd_test_tmpdir());
	f = apd_test_slurp(path, &n);
	ck_assert_msg(strstr((char *)f, "schema version 2; this apdiag reads version 3") != NULL, "%s", f);
	free(f);
	ck_assert_int_eq(sqlite3_open(apd_test_tpath("other.db"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(run(&out, "report other.db --format md"), 3);
	free(out);
	f = apd_test_slurp(path, &n);
	ck_assert_msg(strstr((char *)f, "not an apdiag index") != NULL, "%s", f);
	free(f);
}
END_TEST

static Suite *
analyze_suite(void)
{
	Suite *s = suite_create("analyze");
	TCase *tc = tcase_create("Core");

	tcase_add_checked_fixture(tc, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(tc, test_version_and_usage);
	tcase_add_test(tc, test_man_page_in_step);
	tcase_add_test(tc, test_json_summary_and_partial_exit);
	tcase_add_test(tc, test_hostile_names_escaped);
	tcase_add_test(tc, test_time_zone_end_to_end);
	tcase_add_test(tc, test_time_zone_at_load_equals_derived);
	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_sample_verdicts);
	tcase_add_test(tc, test_healthy_and_rule_options);
	tcase_add_test(tc, test_rules_verb);
	tcase_add_test(tc, test_esp_summary);
	tcase_add_test(tc, test_bad_inputs_together);
	tcase_add_test(tc, test_single_file);
	tcase_add_test(tc, test_evtx_dump_and_index);
	tcase_add_test(tc, test_regress_index_inside_input_not_read);
	tcase_add_test(tc, test_report_verb);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: check_analyze PATH-TO-APDIAG\n");
		return 2;
	}
	apdiag = argv[1];
	return apd_test_run(analyze_suite());
}
