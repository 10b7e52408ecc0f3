/*
 * check_footprint.c - MdmLogCollectorFootPrint.txt: events, UTC times,
 * coverage gaps, every "Failed" form, malformed input, limits, bids.
 */
#include "apd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_footprint;

#define FIX "tests/data/footprint/"
#define US(s) ((int64_t)(s) * 1000000)
#define T_START 1712130313   /* 2024-04-03T07:45:13Z */
#define T_END   1712130362   /* 2024-04-03T07:46:02Z */

/* The parser under test; in-memory input is shown under the collector's file name. */
static const struct apd_test_input FOOTPRINT = {
	&apd_parser_footprint, "MdmLogCollectorFootPrint.txt"
};

/* ---- Core ---- */

START_TEST(test_footprint_fixture)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_kv *g;
	size_t i;

	ck_assert_int_eq(apd_test_parse_src(&FOOTPRINT, FIX "MdmLogCollectorFootPrint.txt", &o, &err),
	    APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	ck_assert_uint_eq(o.nev, 49);
	for (i = 0; i < o.nev; i++) {
		ck_assert_int_eq(o.ev[i].tz, APD_TZ_UTC);
		ck_assert_uint_eq(o.ev[i].line, i + 1);
		ck_assert_ptr_nonnull(o.ev[i].message);
		ck_assert(!apd_test_contains(o.ev[i].message, "\r"));
	}
	ck_assert_str_eq(o.ev[0].message, "--- Start at:2024-04-03T07:45:13");
	ck_assert_int_eq(o.ev[0].ts_utc, US(T_START));
	ck_assert_int_eq(o.ev[0].offset, 0);
	ck_assert_int_eq(o.ev[1].offset, 34);
	ck_assert_int_eq(o.ev[20].ts_utc, US(T_START));
	ck_assert_str_eq(o.ev[48].message, "--- End at:2024-04-03T07:46:02");
	ck_assert_int_eq(o.ev[48].ts_utc, US(T_END));
	ck_assert_str_eq(o.ev[2].data,
	    "{\"kind\":\"eventlog\",\"channel\":\"Microsoft-Windows-AAD/Operational\"}");
	ck_assert_str_eq(o.ev[20].data, "{\"kind\":\"copied\",\"src\":\"C:\\\\ProgramData\\\\Microsoft"
	    "\\\\IntuneManagementExtension\\\\Logs\\\\IntuneManagementExtension.log\",\"dst\":"
	    "\"C:\\\\Users\\\\Public\\\\Documents\\\\MDMDiagnostics\\\\mdmlogs-2024-04-03-07-45-10"
	    "\\\\IntuneManagementExtension.log\"}");
	ck_assert_int_eq(o.ev[24].level, APD_LVL_WARNING);
	ck_assert_int_eq(o.ev[23].level, APD_LVL_INFO);
	ck_assert(apd_test_contains(o.ev[24].data, "\"hresult\":\"0x80070002\""));
	ck_assert_str_eq(o.ev[43].data, "{\"kind\":\"registry_count\",\"count\":15,\"hive\":\"HKLM\"}");
	ck_assert_str_eq(o.ev[28].data, "{\"kind\":\"registry\",\"hive\":\"HKLM\","
	    "\"key\":\"software\\\\microsoft\\\\cdndownload\"}");

	ck_assert_str_eq(apd_test_fact(&o, "footprint.start"), "2024-04-03T07:45:13Z");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.end"), "2024-04-03T07:46:02Z");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.areas"),
	    "deviceenrollment;deviceprovisioning;autopilot;");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.lines"), "49");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.runs"), "1");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.failed"), "4");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.files_copied"), "4");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.eventlogs_collected"), "18");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.registry_keys_dumped"), "18");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.hklm_entries"), "15");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.hkcu_entries"), "3");

	ck_assert_uint_eq(o.ngaps, 4);
	g = apd_test_gap(&o, "CollectFileEntry:c:\\windows\\provisioning\\autopilot\\"
	    "autopilotconfigurationfile.json");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070002);
	ck_assert_str_eq(g->value, "Failed (HResult: 0x80070002) to CollectFileEntry:c:\\windows\\"
	    "provisioning\\autopilot\\autopilotconfigurationfile.json");
	g = apd_test_gap(&o, "CollectFileEntry:c:\\windows\\servicestate\\autopilot\\*");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070003);
	apd_test_out_free(&o);
}
END_TEST

/* Regression: MdmLogCollector writes several "Failed" forms, not only the CollectFileEntry one. */
START_TEST(test_footprint_regress_failed_forms)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_kv *g;

	ck_assert_int_eq(apd_test_parse_src(&FOOTPRINT, FIX "regress-failed-forms.txt", &o, &err),
	    APD_OK);
	ck_assert_uint_eq(o.ngaps, 5);
	g = apd_test_gap(&o,
	    "dump HKLM registry:software\\microsoft\\windows\\currentversion\\setup\\oobe");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070005);
	g = apd_test_gap(&o, "CollectEventViewerEntries");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x8007000E);
	g = apd_test_gap(&o, "create registry dump output file:C:\\Users\\Public\\Documents\\"
	    "MDMDiagnostics\\MdmDiagReport_RegistryDump.reg");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070005);
	g = apd_test_gap(&o, "CollectFileEntry on sub directory:c:\\windows\\servicestate\\autopilot\\"
	    "logs, to:C:\\Temp\\x");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070002);
	g = apd_test_gap(&o, "without any code");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, INT64_MIN);
	/* an unknown line is an event, not an error */
	ck_assert_str_eq(o.ev[5].message, "Invalid path format. c:\\windows\\servicestate\\autopilot\\\\");
	ck_assert_str_eq(o.ev[5].data, "{\"kind\":\"other\"}");
	ck_assert_int_eq(o.ev[5].ts_utc, US(T_START));
	ck_assert_str_eq(apd_test_fact(&o, "footprint.failed"), "5");
	apd_test_out_free(&o);
}
END_TEST

/* Two runs appended: each line takes the most recent start. */
START_TEST(test_footprint_two_runs_lf_blank)
{
	static const char doc[] =
	    "--- Start at:2024-04-03T07:45:13\n"
	    "Collected EventViewer Entry: Application\n"
	    "\n"
	    "   \n"
	    "--- End at:2024-04-03T07:46:02\n"
	    "--- Start at:2024-04-04T08:00:00.500\n"
	    "Copied file:a, to:b\n"
	    "--- End at:2024-04-04T08:01:00";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT, doc, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 6);
	ck_assert_int_eq(o.ev[1].ts_utc, US(T_START));
	ck_assert_uint_eq(o.ev[2].line, 5);
	ck_assert_int_eq(o.ev[3].ts_utc, US(1712217600) + 500000);
	ck_assert_int_eq(o.ev[4].ts_utc, US(1712217600) + 500000);
	ck_assert_int_eq(o.ev[5].ts_utc, US(1712217660));
	ck_assert_str_eq(apd_test_fact(&o, "footprint.start"), "2024-04-03T07:45:13Z");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.end"), "2024-04-04T08:01:00Z");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.runs"), "2");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.lines"), "6");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_footprint_blocks)
{
	static const size_t blocks[] = { 1, 2, 33, 4096 };
	struct apd_test_out whole, o;
	struct apd_error err;
	size_t n, i, k;
	unsigned char *buf = apd_test_slurp_src(FIX "MdmLogCollectorFootPrint.txt", &n);

	ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, buf, n, NULL, 0, &whole, &err), APD_OK);
	for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, buf, n, NULL, blocks[k], &o, &err), APD_OK);
		ck_assert_uint_eq(o.nev, whole.nev);
		ck_assert_uint_eq(o.ngaps, whole.ngaps);
		for (i = 0; i < o.nev; i++) {
			ck_assert_str_eq(o.ev[i].message, whole.ev[i].message);
			ck_assert_int_eq(o.ev[i].ts_utc, whole.ev[i].ts_utc);
			ck_assert_uint_eq(o.ev[i].offset, whole.ev[i].offset);
		}
		apd_test_out_free(&o);
	}
	apd_test_out_free(&whole);
	free(buf);
}
END_TEST

/* A path in the ANSI code page comes out as UTF-8. */
START_TEST(test_footprint_ansi_path)
{
	static const char doc[] = "--- Start at:2024-04-03T07:45:13\r\n"
	    "Failed (HResult: 0x80070002) to CollectFileEntry:c:\\users\\ren\xe9\\x.log\r\n";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT, doc, &o, &err), APD_OK);
	ck_assert_str_eq(o.gaps[0].name, "CollectFileEntry:c:\\users\\ren\xc3\xa9\\x.log");
	ck_assert_ptr_nonnull(strstr(o.ev[1].message, "ren\xc3\xa9"));
	apd_test_out_free(&o);
}
END_TEST

/* The same lines re-saved as UTF-16LE with a BOM. */
START_TEST(test_footprint_utf16)
{
	static const char ascii[] = "--- Start at:2024-04-03T07:45:13\r\n"
	    "Failed (HResult: 0x80070002) to CollectFileEntry:c:\\x.json\r\n"
	    "--- End at:2024-04-03T07:46:02\r\n";
	unsigned char u16[2 + 2 * sizeof(ascii)];
	struct apd_test_out o;
	struct apd_error err;
	size_t i;

	u16[0] = 0xFF;
	u16[1] = 0xFE;
	for (i = 0; i + 1 < sizeof(ascii); i++) {
		u16[2 + 2 * i] = (unsigned char)ascii[i];
		u16[3 + 2 * i] = 0;
	}
	ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, u16, 2 + 2 * (sizeof(ascii) - 1), NULL, 3, &o,
	    &err), APD_OK);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_int_eq(o.ev[1].ts_utc, US(T_START));
	ck_assert_str_eq(o.gaps[0].name, "CollectFileEntry:c:\\x.json");
	ck_assert_int_eq(o.gaps[0].hresult, 0x80070002);
	ck_assert_str_eq(apd_test_fact(&o, "footprint.end"), "2024-04-03T07:46:02Z");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_footprint_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	o.stop_after_events = 3;
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_footprint,
	    apd_test_src(FIX "MdmLogCollectorFootPrint.txt"), &o, &err), APD_FATAL);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);
}
END_TEST

/* ---- Errors ---- */

START_TEST(test_footprint_no_start_bad_time)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT,
	    "Collected EventViewer Entry: System\r\nsomething new\r\n", &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_NONE);
	ck_assert_int_eq(o.ev[0].ts_utc, APD_TS_NONE);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "no '--- Start at:' line"));
	ck_assert_ptr_null(apd_test_fact(&o, "footprint.start"));
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT,
	    "--- Start at:yesterday\r\nCopied file:a, to:b\r\n--- End at:2024-13-45T99:00:00\r\n", &o,
	    &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 2);
	ck_assert_uint_eq(o.warns[0].line, 1);
	ck_assert_uint_eq(o.warns[1].line, 3);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "unreadable time in '--- Start at:yesterday'"));
	ck_assert_int_eq(o.ev[1].tz, APD_TZ_NONE);
	ck_assert_str_eq(apd_test_fact(&o, "footprint.runs"), "1");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_footprint_binary_and_empty)
{
	static const unsigned char elf[] = { 0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		3, 0, 0x3E, 0 };
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, elf, sizeof(elf), NULL, 0, &o, &err),
	    APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "MdmLogCollectorFootPrint.txt: binary data"));
	ck_assert_uint_eq(o.nev, 0);
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT, "", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "no footprint lines"));
	apd_test_out_free(&o);
	ck_assert_int_eq(apd_test_parse_str(&FOOTPRINT, "\r\n  \r\n\r\n", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "MdmLogCollectorFootPrint.txt:3: no footprint lines"));
	apd_test_out_free(&o);
}
END_TEST

/* Binary bytes after the 64 KiB head: those lines are skipped with a warning. */
START_TEST(test_footprint_binary_late)
{
	static const char tail[] = "bad\0line\x01\r\n--- End at:2024-04-03T07:46:02\r\n";
	struct apd_test_out o;
	struct apd_error err;
	size_t n = 0, cap = 80 * 1024;
	char *doc = malloc(cap);

	ck_assert_ptr_nonnull(doc);
	n += (size_t)sprintf(doc, "--- Start at:2024-04-03T07:45:13\r\n");
	while (n < 70 * 1024)
		n += (size_t)sprintf(doc + n, "Collected EventViewer Entry: Application\r\n");
	memcpy(doc + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, doc, n, NULL, 0, &o, &err), APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "binary data in the line; skipped"));
	ck_assert_str_eq(o.ev[o.nev - 1].message, "--- End at:2024-04-03T07:46:02");
	ck_assert_str_eq(apd_test_fact(&o, "footprint.end"), "2024-04-03T07:46:02Z");
	apd_test_out_free(&o);
	free(doc);
}
END_TEST

/* ---- Limits ---- */

START_TEST(test_footprint_long_line_cut)
{
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;
	size_t n;
	unsigned char *buf = apd_test_slurp_src(FIX "MdmLogCollectorFootPrint.txt", &n);

	apd_limits_default(&lim);
	lim.max_line = 150;   /* lines 21-23 (copied files) are 174-200 bytes */
	ck_assert_int_eq(apd_test_parse_buf(&FOOTPRINT, buf, n, &lim, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 49);
	ck_assert_uint_eq(o.nwarns, 3);
	ck_assert_uint_eq(o.warns[0].line, 21);
	ck_assert_uint_eq(o.warns[2].line, 23);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "line longer than 150 bytes; cut"));
	ck_assert_uint_eq(strlen(o.ev[20].message), 150);
	ck_assert_str_eq(o.ev[23].message, "Copied file:C:\\Windows\\panther\\unattendgc\\setupact.log, "
	    "to:C:\\Users\\Public\\Documents\\MDMDiagnostics\\mdmlogs-2024-04-03-07-45-10\\"
	    "setupact.log");
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* ---- Bid ---- */

static int
bid_mem(const void *p, size_t n, const char *name)
{
	struct apd_probe pr = { p, n, name, name, (int64_t)n };

	return apd_parser_footprint.bid(&pr);
}

START_TEST(test_footprint_bids)
{
	static const unsigned char u16[] = { 0xFF, 0xFE, '-', 0, '-', 0, '-', 0, ' ', 0, 'S', 0, 't', 0,
		'a', 0, 'r', 0, 't', 0, ' ', 0, 'a', 0, 't', 0, ':', 0, '2', 0 };
	static const unsigned char bin[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	int b;

	ck_assert_str_eq(apd_test_bid_file(apd_test_src(FIX "MdmLogCollectorFootPrint.txt"), &b),
	    "footprint");
	ck_assert_int_eq(b, 64);
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(FIX "regress-failed-forms.txt"), &b),
	    "footprint");
	ck_assert_int_eq(b, 56);
	ck_assert_int_eq(bid_mem("--- Start at:2024-04-03T07:45:13\r\n", 34, "x.txt"), 56);
	ck_assert_int_eq(bid_mem("\xEF\xBB\xBF--- Start at:2024", 20, "x.txt"), 56);
	ck_assert_int_eq(bid_mem(u16, sizeof(u16), "MdmLogCollectorFootPrint.txt"), 64);
	ck_assert_int_eq(bid_mem("Collected EventViewer Entry: x\r\n", 32,
	    "MdmLogCollectorFootPrint.txt"), 8);
	ck_assert_int_eq(bid_mem("Collected EventViewer Entry: x\r\n", 32, "notes.txt"), -1);
	ck_assert_int_eq(bid_mem("--- Start", 9, "x.txt"), -1);
	ck_assert_int_eq(bid_mem(bin, sizeof(bin), "MdmLogCollectorFootPrint.txt"), -1);
	ck_assert_int_eq(bid_mem("", 0, "MdmLogCollectorFootPrint.txt"), -1);
	ck_assert_str_ne(apd_test_bid_file(apd_test_src("tests/data/results/results.xml"), &b),
	    "footprint");
}
END_TEST

static Suite *
footprint_suite(void)
{
	Suite *s = suite_create("footprint");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");
	TCase *limits = tcase_create("Limits");
	TCase *bids = tcase_create("Bid");

	tcase_add_test(core, test_footprint_fixture);
	tcase_add_test(core, test_footprint_regress_failed_forms);
	tcase_add_test(core, test_footprint_two_runs_lf_blank);
	tcase_add_test(core, test_footprint_blocks);
	tcase_add_test(core, test_footprint_ansi_path);
	tcase_add_test(core, test_footprint_utf16);
	tcase_add_test(core, test_footprint_sink_stop);
	tcase_add_test(errors, test_footprint_no_start_bad_time);
	tcase_add_test(errors, test_footprint_binary_and_empty);
	tcase_add_test(errors, test_footprint_binary_late);
	tcase_add_test(limits, test_footprint_long_line_cut);
	tcase_add_test(bids, test_footprint_bids);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, bids);
	return s;
}

int
main(void)
{
	return apd_test_run(footprint_suite());
}
