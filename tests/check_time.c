/*
 * check_time.c - calendar arithmetic, FILETIME, ISO parsing, and Windows
 * time-zone rules (TIME_ZONE_INFORMATION semantics: UTC = local + bias).
 *
 * Expected instants are the published 2025 transitions: US Pacific
 * (2nd Sunday of March 02:00 / 1st Sunday of November 02:00), Central
 * Europe (last Sunday of March 02:00 / last Sunday of October 03:00),
 * Australia Eastern (1st Sunday of October / 1st Sunday of April).
 */
#include "apd_test.h"
#include "apd_time.h"

#include <string.h>

static int64_t
at(const char *iso)
{
	int64_t us;

	ck_assert_msg(apd_parse_iso(apd_sv_cstr(iso), &us), "cannot parse %s", iso);
	return us;
}

static const char *
utc(int64_t us)
{
	static char buf[32];

	apd_format_utc(buf, us);
	return buf;
}

static struct apd_systime
rule(unsigned month, unsigned dow, unsigned week, unsigned hour)
{
	struct apd_systime t = { 0, month, dow, week, hour, 0, 0, 0 };

	return t;
}

START_TEST(test_civil_roundtrip)
{
	int64_t d;
	int y;
	unsigned m, dd;

	ck_assert_int_eq(apd_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(apd_days_from_civil(2000, 3, 1), 11017);
	for (d = -800000; d < 800000; d += 997) {
		apd_civil_from_days(d, &y, &m, &dd);
		ck_assert_int_eq(apd_days_from_civil(y, m, dd), d);
	}
}
END_TEST

START_TEST(test_filetime)
{
	/* 2016-07-08T18:12:51.681640Z, as in an EVTX TimeCreated */
	ck_assert_str_eq(utc(apd_filetime_to_us(131124751716816400ull)),
	    "2016-07-08T18:12:51.681640Z");
	ck_assert_int_eq(apd_filetime_to_us(116444736000000000ull), 0);
}
END_TEST

START_TEST(test_parse_iso)
{
	int64_t us;

	ck_assert_str_eq(utc(at("2025-07-22 15:21:28.2660519")), "2025-07-22T15:21:28.266051Z");
	ck_assert_str_eq(utc(at("2025-07-22T15:21:28")), "2025-07-22T15:21:28.000000Z");
	ck_assert_str_eq(utc(at("2025-07-22 15:21:28.5")), "2025-07-22T15:21:28.500000Z");
	ck_assert(!apd_parse_iso(apd_sv_cstr("2025-02-30 00:00:00"), &us));
	ck_assert(!apd_parse_iso(apd_sv_cstr("2025-13-01 00:00:00"), &us));
	ck_assert(!apd_parse_iso(apd_sv_cstr("2025-01-01 24:00:00"), &us));
	ck_assert(!apd_parse_iso(apd_sv_cstr("2025-01-01 10:00:00."), &us));
	ck_assert(!apd_parse_iso(apd_sv_cstr("2025-01-01"), &us));
	ck_assert(apd_parse_iso(apd_sv_cstr("2024-02-29 00:00:00"), &us));
	ck_assert(!apd_parse_iso(apd_sv_cstr("2023-02-29 00:00:00"), &us));
}
END_TEST

START_TEST(test_tz_pacific)
{
	struct apd_tzinfo tz;

	memset(&tz, 0, sizeof(tz));
	tz.bias = 480;
	tz.daylight_bias = -60;
	tz.standard_start = rule(11, 0, 1, 2);
	tz.daylight_start = rule(3, 0, 2, 2);
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-01-15 12:00:00"))),
	    "2025-01-15T20:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-07-01 12:00:00"))),
	    "2025-07-01T19:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-03-09 01:59:59"))),
	    "2025-03-09T09:59:59.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-03-09 03:00:00"))),
	    "2025-03-09T10:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-11-02 03:00:00"))),
	    "2025-11-02T11:00:00.000000Z");
	/* daylight saving switched off: always the standard bias */
	tz.dynamic_dst_disabled = true;
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-07-01 12:00:00"))),
	    "2025-07-01T20:00:00.000000Z");
}
END_TEST

START_TEST(test_tz_europe_last_sunday)
{
	struct apd_tzinfo tz;

	memset(&tz, 0, sizeof(tz));
	tz.bias = -60;
	tz.daylight_bias = -60;
	tz.standard_start = rule(10, 0, 5, 3);
	tz.daylight_start = rule(3, 0, 5, 2);
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-03-30 03:00:00"))),
	    "2025-03-30T01:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-03-29 12:00:00"))),
	    "2025-03-29T11:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-10-26 02:30:00"))),
	    "2025-10-26T00:30:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-10-26 03:30:00"))),
	    "2025-10-26T02:30:00.000000Z");
}
END_TEST

START_TEST(test_tz_southern)
{
	struct apd_tzinfo tz;

	memset(&tz, 0, sizeof(tz));
	tz.bias = -600;
	tz.daylight_bias = -60;
	tz.standard_start = rule(4, 0, 1, 3);
	tz.daylight_start = rule(10, 0, 1, 2);
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-01-15 12:00:00"))),
	    "2025-01-15T01:00:00.000000Z");
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-07-15 12:00:00"))),
	    "2025-07-15T02:00:00.000000Z");
}
END_TEST

/*
 * The memo (apd_tz_local_to_utc_memo) keeps one year's transitions: a walk
 * across four years in 47-minute steps, and jumps back and forth between
 * 1969 and 2031, must convert every time as a fresh call does, in each of
 * the three kinds of zone above.
 */
START_TEST(test_tz_memo_agrees)
{
	struct apd_tzinfo tz[3];
	struct apd_tz_memo m;
	uint64_t r = 0x9E3779B97F4A7C15ull;
	int64_t t, t0 = at("2023-12-31 20:00:00"), t1 = at("2028-01-02 04:00:00");
	int64_t lo = at("1969-01-01 00:00:00"), span = at("2031-12-31 23:59:59") - lo;
	unsigned long n = 0;
	size_t z, k;

	memset(tz, 0, sizeof(tz));
	tz[0].bias = 480;
	tz[0].daylight_bias = -60;
	tz[0].standard_start = rule(11, 0, 1, 2);
	tz[0].daylight_start = rule(3, 0, 2, 2);
	tz[1].bias = -60;
	tz[1].daylight_bias = -60;
	tz[1].standard_start = rule(10, 0, 5, 3);
	tz[1].daylight_start = rule(3, 0, 5, 2);
	tz[2].bias = -600;
	tz[2].daylight_bias = -60;
	tz[2].standard_start = rule(4, 0, 1, 3);
	tz[2].daylight_start = rule(10, 0, 1, 2);
	for (z = 0; z < 3; z++) {
		memset(&m, 0, sizeof(m));
		for (t = t0; t < t1; t += 47 * 60 * APD_US_PER_SEC, n++)
			if (apd_tz_local_to_utc_memo(&tz[z], &m, t) != apd_tz_local_to_utc(&tz[z], t))
				ck_abort_msg("zone %zu, walk: %s", z, utc(t));
		for (k = 0; k < 20000; k++, n++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			t = lo + (int64_t)(r % (uint64_t)span);
			if (apd_tz_local_to_utc_memo(&tz[z], &m, t) != apd_tz_local_to_utc(&tz[z], t))
				ck_abort_msg("zone %zu, jump: %s", z, utc(t));
		}
	}
	ck_assert_uint_gt(n, 3 * (44000 + 20000));
}
END_TEST

START_TEST(test_tz_no_dst_and_systime_decode)
{
	static const unsigned char st[16] = { 0, 0, 11, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0 };
	struct apd_systime t;
	struct apd_tzinfo tz;

	memset(&tz, 0, sizeof(tz));
	tz.bias = -330;   /* India: UTC+5:30, no daylight saving */
	ck_assert_str_eq(utc(apd_tz_local_to_utc(&tz, at("2025-07-01 12:00:00"))),
	    "2025-07-01T06:30:00.000000Z");
	ck_assert(apd_systime_decode(st, sizeof(st), &t));
	ck_assert_uint_eq(t.month, 11);
	ck_assert_uint_eq(t.dow, 0);
	ck_assert_uint_eq(t.day, 1);
	ck_assert_uint_eq(t.hour, 2);
	ck_assert(!apd_systime_decode(st, 15, &t));
}
END_TEST

static Suite *
time_suite(void)
{
	Suite *s = suite_create("time");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_civil_roundtrip);
	tcase_add_test(tc, test_filetime);
	tcase_add_test(tc, test_parse_iso);
	tcase_add_test(tc, test_tz_pacific);
	tcase_add_test(tc, test_tz_europe_last_sunday);
	tcase_add_test(tc, test_tz_southern);
	tcase_add_test(tc, test_tz_memo_agrees);
	tcase_add_test(tc, test_tz_no_dst_and_systime_decode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(time_suite());
}
