/*
 * check_manifest.c - the apdiag bundle manifest parser (apd_parse_manifest.c).
 *
 * tests/data/manifest/manifest.json is what `apdiag collect` wrote for the
 * test tree of tests/collect/make-tree.py with --max-size 200k: 28 gaps
 * (absent channels, a missing key, the excluded hardware hash, the
 * not-applicable commands) and 5 items left out.
 */
#include "apd_test.h"

#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_manifest;

static const struct apd_test_input MANIFEST = { &apd_parser_manifest, "manifest.json" };
#define SAMPLE "tests/data/manifest/manifest.json"

START_TEST(test_manifest)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_kv *g;
	int bid;

	ck_assert_str_eq(apd_test_bid_file(apd_test_src(SAMPLE), &bid), "manifest");
	ck_assert_int_gt(bid, 200);
	ck_assert_int_eq(apd_test_parse_src(&MANIFEST, SAMPLE, &o, &err), APD_OK);
	ck_assert_uint_eq(o.ngaps, 28 + 5);
	g = apd_test_gap(&o, "Setup");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, INT64_MIN);
	ck_assert(strncmp(g->value, "absent: no event log file", 25) == 0);
	ck_assert_ptr_nonnull(strstr(g->value, "(OS error 2: No such file or directory)"));
	g = apd_test_gap(&o, "dsregcmd.exe /status");
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->value, "not-applicable: not applicable offline");
	g = apd_test_gap(&o, "C:\\Windows\\System32\\winevt\\Logs\\System.evtx");
	ck_assert_ptr_nonnull(g);
	ck_assert(strncmp(g->value, "left-out: ", 10) == 0);
	ck_assert_str_eq(apd_test_must_fact(&o, "device.name"), "CONTOSO-PC07");
	ck_assert_str_eq(apd_test_must_fact(&o, "os.ubr"), "3390");
	ck_assert_str_eq(apd_test_must_fact(&o, "collect.mode"), "offline");
	ck_assert_str_eq(apd_test_must_fact(&o, "collect.redacted"), "false");
	ck_assert_str_eq(apd_test_must_fact(&o, "collect.gaps"), "28");
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "started (offline mode, profile autopilot 1)"));
	ck_assert_ptr_nonnull(strstr(o.ev[1].message, "ended: 25 items, 28 gaps"));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_damaged)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;
	size_t n;
	unsigned char *buf;

	ck_assert_int_eq(apd_test_parse_str(&MANIFEST, "{\"format\":\"apdiag-collect-manifest\",",
	    &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a valid JSON object"));
	apd_test_out_free(&o);
	/* a gap without an item is a warning, the rest is kept */
	ck_assert_int_eq(apd_test_parse_str(&MANIFEST, "{\"format\":\"apdiag-collect-manifest\","
	    "\"gaps\":[{\"kind\":\"absent\"},{\"item\":\"x\",\"kind\":\"error\",\"reason\":\"r\","
	    "\"os_error\":13}]}", &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_uint_eq(o.ngaps, 1);
	ck_assert_str_eq(apd_test_gap(&o, "x")->value, "error: r (OS error 13)");
	apd_test_out_free(&o);
	buf = apd_test_slurp_src(SAMPLE, &n);
	apd_limits_default(&lim);
	lim.max_json_bytes = 1000;
	ck_assert_int_eq(apd_test_parse_buf(&MANIFEST, buf, n, &lim, 64, &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "max_json_bytes"));
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("manifest");

	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_damaged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(suite());
}
