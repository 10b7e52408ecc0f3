/*
 * check_text.c - the plain text fallback: Panther setupact.log, dsregcmd
 * /status facts, ipconfig /all, encodings, time formats, binary input,
 * line and NUL handling, bids.
 */
#include "apd_test.h"
#include "apd_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_text;

#define FIX "tests/data/text/"

/* The parser under test; fixtures read into memory keep their own names. */
static const struct apd_test_input TEXT = { &apd_parser_text, NULL };

static int64_t
utc(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, unsigned us)
{
	int64_t v;

	ck_assert_int_eq(apd_civil_to_us(y, mo, d, h, mi, s, us, &v), 0);
	return v;
}

START_TEST(test_text_panther)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "setupact.log", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 7);   /* 8 lines, one blank */
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.nwarns, 0);

	ck_assert_str_eq(o.ev[0].ts_local, "2024-04-03 07:44:58");
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_LOCAL);
	ck_assert_int_eq(o.ev[0].ts_utc, APD_TS_NONE);
	ck_assert_int_eq(o.ev[0].level, APD_LVL_INFO);
	ck_assert_ptr_null(o.ev[0].component);
	ck_assert_uint_eq(o.ev[0].line, 1);
	ck_assert_uint_eq(o.ev[0].offset, 0);
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_uint_eq(o.ev[1].offset, strlen(o.ev[0].message) + 2);

	ck_assert_str_eq(o.ev[2].component, "CSI");
	ck_assert_str_eq(o.ev[2].message, "2024-04-03 07:45:12, Info                  CSI    "
	    "00000001 Shim considered [l:123]'\\??\\C:\\Windows\\Servicing\\Packages\\Example.mum' : "
	    "got STATUS_SUCCESS");
	ck_assert_uint_eq(o.ev[3].line, 5);
	ck_assert_int_eq(o.ev[3].level, APD_LVL_WARNING);
	ck_assert_str_eq(o.ev[3].component, "SP");
	ck_assert_int_eq(o.ev[4].level, APD_LVL_ERROR);
	ck_assert_str_eq(o.ev[4].component, "MIG");
	ck_assert_str_eq(o.ev[4].ts_local, "2024-04-03 07:45:14");
	ck_assert_str_eq(o.ev[5].component, "SYSPRP");
	/* a line without a time */
	ck_assert_str_eq(o.ev[6].message, "   continuation text without a time");
	ck_assert_int_eq(o.ev[6].tz, APD_TZ_NONE);
	ck_assert_ptr_null(o.ev[6].ts_local);
	ck_assert_int_eq(o.ev[6].level, APD_LVL_NONE);
	ck_assert_uint_eq(o.ev[6].line, 8);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_blocks_same_result)
{
	static const size_t blocks[] = { 1, 3, 4096 };
	struct apd_test_out ref, o;
	struct apd_error err;
	size_t b, i;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "setupact.log", &ref, &err), APD_OK);
	for (b = 0; b < 3; b++) {
		ck_assert_int_eq(apd_test_parse_src_mem(&TEXT, FIX "setupact.log", NULL, blocks[b], &o,
		    &err), APD_OK);
		ck_assert_uint_eq(o.nev, ref.nev);
		for (i = 0; i < o.nev; i++) {
			ck_assert_str_eq(o.ev[i].message, ref.ev[i].message);
			ck_assert_uint_eq(o.ev[i].offset, ref.ev[i].offset);
		}
		apd_test_out_free(&o);
	}
	apd_test_out_free(&ref);
}
END_TEST

START_TEST(test_text_dsregcmd_facts)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "dsregcmd-status.txt", &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.AzureAdJoined"), "YES");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.EnterpriseJoined"), "NO");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.DomainJoined"), "NO");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.VirtualDesktop"), "NOT SET");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.DeviceName"), "EXAMPLE-PC01");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.DeviceId"),
	    "0f0e0d0c-0000-4000-8000-00000000c001");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.Thumbprint"),
	    "0123456789ABCDEF0123456789ABCDEF01234567");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.TenantName"), "Contoso Example");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.TenantId"),
	    "0f0e0d0c-0000-4000-8000-00000000c003");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.AccessTokenUrl"),
	    "https://login.microsoftonline.com/0f0e0d0c-0000-4000-8000-00000000c003/oauth2/token");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.AzureAdPrt"), "YES");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.AzureAdPrtUpdateTime"),
	    "2024-04-03 07:46:30.000 UTC");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.EnterprisePrtAuthority"), "");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.ExecutingAccountName"),
	    "EXAMPLE\\user01, user01@contoso-example.onmicrosoft.com");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.LastHostNameUpdate"), "NONE");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.PreReqResult"), "WillNotProvision");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.DeviceCertificateValidity"),
	    "[ 2024-04-03 07:40:01.000 UTC -- 2034-04-03 08:10:01.000 UTC ]");
	ck_assert_uint_eq(o.nfacts, 40);
	/* every non-empty line is an event, banners included */
	ck_assert_uint_eq(o.nev, 59);
	ck_assert_str_eq(o.ev[0].message,
	    "+----------------------------------------------------------------------+");
	ck_assert_uint_eq(o.ev[0].line, 2);
	ck_assert_str_eq(o.ev[58].message,
	    "For more information, please visit https://www.microsoft.com/aadjerrors");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_dsreg_secrets_not_facts)
{
	static const char in[] =
	    "             AzureAdJoined : YES\r\n"
	    "                  SomeToken : eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\r\n"
	    "                       Blob : Ab3dEf9hIjKlMn0pQrStUv1xYz2aBcDeFgHiJ\r\n"
	    "              AdminPassword : hunter2\r\n"
	    "                     SasUrl : https://x.blob.core.windows.net/c?sv=2020&sig=abcDEF123\r\n"
	    "                      Thumb : 0123456789ABCDEF0123456789ABCDEF01234567\r\n"
	    "                         Id : 0f0e0d0c-0000-4000-8000-00000000c001\r\n"
	    "                      Words : Microsoft Platform Crypto Provider Version 2\r\n";
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_text, in, sizeof(in) - 1, "output.log", &o,
	    &err), APD_OK);
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.AzureAdJoined"), "YES");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.Thumb"),
	    "0123456789ABCDEF0123456789ABCDEF01234567");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.Id"), "0f0e0d0c-0000-4000-8000-00000000c001");
	ck_assert_str_eq(apd_test_must_fact(&o, "dsreg.Words"),
	    "Microsoft Platform Crypto Provider Version 2");
	ck_assert_ptr_null(apd_test_fact(&o, "dsreg.SomeToken"));
	ck_assert_ptr_null(apd_test_fact(&o, "dsreg.Blob"));
	ck_assert_ptr_null(apd_test_fact(&o, "dsreg.AdminPassword"));
	ck_assert_ptr_null(apd_test_fact(&o, "dsreg.SasUrl"));
	ck_assert_uint_eq(o.nfacts, 4);
	ck_assert_uint_eq(o.nev, 8);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_ipconfig_no_facts)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "ipconfig-all.txt", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.nev, 21);
	ck_assert_str_eq(o.ev[0].message, "Windows IP Configuration");
	ck_assert_uint_eq(o.ev[0].line, 2);
	ck_assert_uint_eq(o.ev[0].offset, 2);
	ck_assert_str_eq(o.ev[1].message, "   Host Name . . . . . . . . . . . . : EXAMPLE-PC01");
	/* the trailing blank after the colon is not part of the message */
	ck_assert_str_eq(o.ev[2].message, "   Primary Dns Suffix  . . . . . . . :");
	ck_assert_int_eq(o.ev[16].tz, APD_TZ_NONE);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_utf16le)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "w32tm-utf16le.txt", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 5);
	ck_assert_str_eq(o.ev[0].message, "Leap Indicator: 0(no warning)");
	ck_assert_uint_eq(o.ev[0].offset, 2);   /* after the BOM */
	ck_assert_str_eq(o.ev[2].message, "Last Successful Sync Time: 4/3/2024 7:45:12 AM");
	ck_assert_int_eq(o.ev[2].tz, APD_TZ_NONE);
	ck_assert_str_eq(o.ev[3].message, "04/03/2024 19:45:13 Caf\xC3\xA9 \xE2\x82\xAC sync ok");
	ck_assert_str_eq(o.ev[3].ts_local, "2024-04-03 19:45:13");
	ck_assert_int_eq(o.ev[3].tz, APD_TZ_LOCAL);
	ck_assert_uint_eq(o.ev[3].line, 4);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_cp1252)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "cp1252.log", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_str_eq(o.ev[0].message, "2024-04-03 07:45:12, Info                  SP     "
	    "Caf\xC3\xA9 \xE2\x82\xAC preis: 5\xE2\x82\xAC");
	ck_assert_str_eq(o.ev[0].component, "SP");
	ck_assert_str_eq(o.ev[1].message, "plain ascii line");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_timestamps)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "timestamps.log", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 9);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
	ck_assert_int_eq(o.ev[0].ts_utc, utc(2024, 4, 3, 7, 45, 12, 0));
	ck_assert_ptr_null(o.ev[0].ts_local);
	ck_assert_int_eq(o.ev[1].tz, APD_TZ_UTC);
	ck_assert_int_eq(o.ev[1].ts_utc, utc(2024, 4, 3, 7, 45, 12, 500000));
	ck_assert_int_eq(o.ev[2].tz, APD_TZ_UTC);
	ck_assert_int_eq(o.ev[2].ts_utc, utc(2024, 4, 3, 13, 15, 12, 0));
	ck_assert_int_eq(o.ev[3].tz, APD_TZ_LOCAL);
	ck_assert_str_eq(o.ev[3].ts_local, "2024-04-03 07:45:12.1234567");
	ck_assert_int_eq(o.ev[3].ts_utc, APD_TS_NONE);
	ck_assert_int_eq(o.ev[4].tz, APD_TZ_LOCAL);
	ck_assert_str_eq(o.ev[4].ts_local, "2024-04-03 19:45:12");
	ck_assert_str_eq(o.ev[5].ts_local, "2024-04-03 00:05:00");
	ck_assert_int_eq(o.ev[6].tz, APD_TZ_NONE);   /* February 30th */
	ck_assert_int_eq(o.ev[7].tz, APD_TZ_NONE);   /* 123 seconds */
	ck_assert_int_eq(o.ev[8].tz, APD_TZ_UTC);
	ck_assert_int_eq(o.ev[8].ts_utc, utc(2024, 4, 3, 7, 45, 12, 0));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_binary_log_fails)
{
	static const char ctl[] = "ab\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13\x14 "
	    "text";
	struct apd_test_out o;
	struct apd_error err;
	char want[512];

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "binary-garbage.log", &o, &err), APD_FAILED);
	ck_assert_uint_eq(o.nev, 0);
	snprintf(want, sizeof(want), "%s: binary data at offset 3 (NUL byte); not a text log",
	    apd_test_src("tests/data/text/binary-garbage.log"));
	ck_assert_str_eq(err.msg, want);
	apd_test_out_free(&o);

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_text, ctl, sizeof(ctl) - 1, "ctl.txt", &o,
	    &err), APD_FAILED);
	ck_assert_str_eq(err.msg, "ctl.txt: binary data at offset 2 (control characters); "
	    "not a text log");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_long_line)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;

	apd_limits_default(&lim);
	lim.max_line = 1024;
	ck_assert_int_eq(apd_test_parse_src_mem(&TEXT, FIX "long-line.log", &lim, 0, &o, &err),
	    APD_WARN);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_uint_eq(strlen(o.ev[1].message), 1024);
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_str_eq(o.ev[2].message, "last line");
	ck_assert_uint_eq(o.ev[2].line, 3);
	ck_assert_uint_eq(o.ev[2].offset, 11 + 5000 + 1);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_str_eq(o.warns[0].value, "line 2 longer than 1024 bytes; cut there");
	ck_assert_uint_eq(o.warns[0].line, 2);
	apd_test_out_free(&o);

	/* within the default limit the line is whole */
	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "long-line.log", &o, &err), APD_OK);
	ck_assert_uint_eq(strlen(o.ev[1].message), 5000);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_nul_padding)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&TEXT, FIX "nul-padded-after-crash.log", &o, &err),
	    APD_WARN);
	ck_assert_uint_eq(o.nev, 70);
	ck_assert_str_eq(o.ev[69].ts_local, "2024-04-03 07:01:09");
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_str_eq(o.warns[0].value,
	    "700 NUL bytes dropped, the first on line 71 (padding after a crash?)");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	o.stop_after_events = 2;
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_text, "a\nb\nc\n", 6, "x.txt", &o, &err),
	    APD_FATAL);
	ck_assert_uint_eq(o.nev, 2);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_text_bids)
{
	static const char *const files[] = {
		"setupact.log", "dsregcmd-status.txt", "ipconfig-all.txt", "w32tm-utf16le.txt",
		"cp1252.log", "binary-garbage.log", "long-line.log", "nul-padded-after-crash.log",
		"timestamps.log",
	};
	char rel[256];
	const char *w;
	size_t i;
	int b;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "tests/data/text/%s", files[i]);
		w = apd_test_bid_file(apd_test_src(rel), &b);
		ck_assert_msg(strcmp(w, "text") == 0 && b == 2, "%s: winner %s bid %d", files[i], w, b);
	}
}
END_TEST

START_TEST(test_text_bid_edges)
{
	static const unsigned char u16[] = { 0xFF, 0xFE, 'h', 0, 'i', 0, '\r', 0, '\n', 0 };
	static const unsigned char bin[] = { 'M', 'Z', 0x90, 0, 3, 0, 0, 0 };
	struct apd_probe pr = { NULL, 0, "", "", 0 };

	pr.head = (const unsigned char *)"plain text\n";
	pr.len = 11;
	ck_assert_int_eq(apd_parser_text.bid(&pr), 1);
	pr.head = u16;   /* UTF-16 is text although it has NUL bytes */
	pr.len = sizeof(u16);
	ck_assert_int_eq(apd_parser_text.bid(&pr), 1);
	pr.head = bin;
	pr.len = sizeof(bin);
	ck_assert_int_eq(apd_parser_text.bid(&pr), -1);
	pr.name = "app.dat";
	ck_assert_int_eq(apd_parser_text.bid(&pr), -1);
	pr.name = "APP.LOG";
	ck_assert_int_eq(apd_parser_text.bid(&pr), 2);
	pr.name = "notes.txt";
	ck_assert_int_eq(apd_parser_text.bid(&pr), 2);
}
END_TEST

static Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Limits");
	TCase *te = tcase_create("Errors");

	tcase_add_test(tc, test_text_panther);
	tcase_add_test(tc, test_text_blocks_same_result);
	tcase_add_test(tc, test_text_dsregcmd_facts);
	tcase_add_test(tc, test_text_dsreg_secrets_not_facts);
	tcase_add_test(tc, test_text_ipconfig_no_facts);
	tcase_add_test(tc, test_text_utf16le);
	tcase_add_test(tc, test_text_cp1252);
	tcase_add_test(tc, test_text_timestamps);
	tcase_add_test(tc, test_text_bids);
	tcase_add_test(tc, test_text_bid_edges);
	tcase_add_test(tl, test_text_long_line);
	tcase_add_test(te, test_text_binary_log_fails);
	tcase_add_test(te, test_text_nul_padding);
	tcase_add_test(te, test_text_sink_stop);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	return apd_test_run(text_suite());
}
