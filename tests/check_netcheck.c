/*
 * check_netcheck.c - the network check results parser (apd_parse_netcheck.c).
 *
 * tests/data/netcheck/netcheck.json is what `apdiag collect --network`
 * writes, with two broken results added at the end.
 */
#include "apd_test.h"

#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_netcheck;

static const struct apd_test_input NETCHECK = { &apd_parser_netcheck, "netcheck.json" };
#define SAMPLE "tests/data/netcheck/netcheck.json"

START_TEST(test_results)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_event *e;
	int bid;

	ck_assert_str_eq(apd_test_bid_file(apd_test_src(SAMPLE), &bid), "netcheck");
	ck_assert_int_gt(bid, 64);
	ck_assert_int_eq(apd_test_parse_src(&NETCHECK, SAMPLE, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 4);
	ck_assert_uint_eq(o.nwarns, 2);
	e = apd_test_event_with(&o, "autopilot-ztd tcp");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->level, APD_LVL_ERROR);
	ck_assert_str_eq(e->component, "tcp");
	ck_assert_int_eq(e->tz, APD_TZ_UTC);
	ck_assert_int_eq(e->ts_utc, 1759312805000000LL);
	ck_assert_ptr_nonnull(strstr(e->message, "failed: Connection timed out"));
	ck_assert_ptr_nonnull(strstr(e->data, "\"os_error\":110"));
	ck_assert_int_eq(apd_test_event_with(&o, "autopilot-ztd tls")->level, APD_LVL_WARNING);
	ck_assert_int_eq(apd_test_event_with(&o, "time ntp")->level, APD_LVL_INFO);
	ck_assert_str_eq(apd_test_must_fact(&o, "netcheck.autopilot-ztd.tcp"), "failed");
	ck_assert_str_eq(apd_test_must_fact(&o, "netcheck.autopilot-ztd.dns"), "ok");
	ck_assert_str_eq(apd_test_must_fact(&o, "netcheck.failures"), "1");
	ck_assert_str_eq(apd_test_must_fact(&o, "netcheck.probes"), "4");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_not_netcheck)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_probe pr = { (const unsigned char *)"{\"format\":\"other\"}", 18, "x.json",
		"x.json", 18 };

	ck_assert_int_eq(apd_parser_netcheck.bid(&pr), -1);
	ck_assert_int_eq(apd_test_parse_str(&NETCHECK, "{\"format\":\"apdiag-netcheck\"}", &o,
	    &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "no \"results\" array"));
	apd_test_out_free(&o);
	ck_assert_int_eq(apd_test_parse_str(&NETCHECK, "{\"format\":\"apdiag-netcheck\",", &o,
	    &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "not valid JSON"));
	apd_test_out_free(&o);
}
END_TEST

/* The document is bounded by max_json_bytes. */
START_TEST(test_limit)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;
	size_t n;
	unsigned char *buf = apd_test_slurp_src(SAMPLE, &n);

	apd_limits_default(&lim);
	lim.max_json_bytes = 100;
	ck_assert_int_eq(apd_test_parse_buf(&NETCHECK, buf, n, &lim, 7, &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "max_json_bytes"));
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("netcheck");
	TCase *tc = tcase_create("netcheck");

	tcase_add_test(tc, test_results);
	tcase_add_test(tc, test_not_netcheck);
	tcase_add_test(tc, test_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(suite());
}
