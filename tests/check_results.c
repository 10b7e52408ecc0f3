/*
 * check_results.c - Intune results.xml: directives, HRESULT gaps, both zip
 * layouts, the SAS token that must never leak, hostile and malformed input,
 * limits, bids.
 */
#include "apd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_results;

#define FIX "tests/data/results/"
#define SECRET "SECRETSIG"

/* The parser under test; in-memory input is shown under the collector's file name. */
static const struct apd_test_input RESULTS = { &apd_parser_results, "results.xml" };

/* ---- Core ---- */

START_TEST(test_results_flattened)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_kv *g;

	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "results.xml", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_str_eq(apd_test_fact(&o, "intune.collection.id"),
	    "0f2c5a1e-7b3d-4c8e-9a61-2d4b6e8f1a3c");
	ck_assert_str_eq(apd_test_fact(&o, "intune.collection.hresult"), "0x00000000");
	ck_assert_str_eq(apd_test_fact(&o, "intune.output_format"), "flattened");
	ck_assert_str_eq(apd_test_fact(&o, "intune.layout"), "flattened");
	ck_assert_str_eq(apd_test_fact(&o, "intune.client_timeout_seconds"), "5400");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives"), "27");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives_failed"), "6");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.1"),
	    "RegistryKey HKLM\\SOFTWARE\\Microsoft\\CloudManagedUpdate");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.5"),
	    "RegistryKey \"HKLM\\SOFTWARE\\Microsoft\\Windows Advanced Threat Protection\"");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.13"),
	    "Command %windir%\\system32\\Dsregcmd.exe /status");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.17"), "Events Application");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.23"),
	    "FoldersFiles %ProgramData%\\Microsoft\\IntuneManagementExtension\\Logs\\*.*");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.27"),
	    "FoldersFiles %windir%\\panther\\unattendgc\\setupact.log");
	ck_assert_ptr_null(apd_test_fact(&o, "intune.directive.28"));
	ck_assert_ptr_null(apd_test_fact(&o, "intune.directive.0"));

	/* negative decimal HRESULTs become their unsigned 32-bit value */
	ck_assert_uint_eq(o.ngaps, 6);
	g = apd_test_gap(&o, "RegistryKey HKLM\\SOFTWARE\\Microsoft\\CloudManagedUpdate");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070003);
	ck_assert_str_eq(g->value, "directive 1 failed with HRESULT 0x80070003 (-2147024893)");
	g = apd_test_gap(&o, "RegistryKey HKLM\\SOFTWARE\\Microsoft\\EPMAgent");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070001);
	g = apd_test_gap(&o, "Command %windir%\\system32\\dism.exe /online /get-packages");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x8000FFFF);
	ck_assert_str_eq(g->value, "directive 12 failed with HRESULT 0x8000FFFF (-2147418113)");
	g = apd_test_gap(&o, "FoldersFiles %windir%\\temp\\%computername%*.log");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070002);
	ck_assert_ptr_null(apd_test_gap(&o, "Events Application"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "SasUrlPlaceHolder"));
	apd_test_out_free(&o);
}
END_TEST

/* Before KB5011543: no OutputFileFormat, numbered folders. */
START_TEST(test_results_old_layout)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_kv *g;

	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "results-old-layout.xml", &o, &err), APD_OK);
	ck_assert_ptr_null(apd_test_fact(&o, "intune.output_format"));
	ck_assert_str_eq(apd_test_fact(&o, "intune.layout"), "numbered");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives"), "8");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.2"),
	    "RegistryKey HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CloudExperienceHost");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.6"),
	    "Events Microsoft-Windows-Bitlocker/Bitlocker Management");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.8"),
	    "FoldersFiles %temp%\\MDMDiagnostics\\mdmlogs-2021-11-05-09-12-44.cab");
	ck_assert_uint_eq(o.ngaps, 2);
	g = apd_test_gap(&o, "Events Microsoft-Windows-Bitlocker/Bitlocker Management");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070003);
	g = apd_test_gap(&o, "RegistryKey HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
	    "CloudExperienceHost");
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(g->hresult, 0x80070002);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_results_blocks)
{
	static const size_t blocks[] = { 1, 3, 64 };
	struct apd_test_out whole, o;
	struct apd_error err;
	size_t i, k;

	ck_assert_int_eq(apd_test_parse_src_mem(&RESULTS, FIX "results.xml", NULL, 0, &whole, &err),
	    APD_OK);
	for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		ck_assert_int_eq(apd_test_parse_src_mem(&RESULTS, FIX "results.xml", NULL, blocks[k], &o,
		    &err), APD_OK);
		ck_assert_uint_eq(o.nfacts, whole.nfacts);
		ck_assert_uint_eq(o.ngaps, whole.ngaps);
		for (i = 0; i < o.nfacts; i++)
			ck_assert_str_eq(o.facts[i].value, whole.facts[i].value);
		apd_test_out_free(&o);
	}
	apd_test_out_free(&whole);
}
END_TEST

/* HRESULT spellings: signed and unsigned decimal, hex; junk is a warning, not a gap. */
START_TEST(test_results_hresult_forms)
{
	static const char doc[] =
	    "<Collection HRESULT=\"-2147024809\">\n"
	    "<ID>x</ID>\n"
	    "<Command HRESULT=\"0x80070002\">a</Command>\n"
	    "<Command HRESULT=\"2147942402\">b</Command>\n"
	    "<Command HRESULT=\"-2147024894\">c</Command>\n"
	    "<Command HRESULT=\"banana\">d</Command>\n"
	    "<Command HRESULT=\"99999999999\">e</Command>\n"
	    "<Events>Setup</Events>\n"
	    "<Diagnostics HRESULT=\"1\">future directive</Diagnostics>\n"
	    "<Unknown>not a directive</Unknown>\n"
	    "<Command HRESULT=\"0\">  padded  </Command>\n"
	    "</Collection>\n";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&RESULTS, doc, &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_fact(&o, "intune.collection.hresult"), "0x80070057");
	ck_assert_int_eq(apd_test_gap(&o, "Command a")->hresult, 0x80070002);
	ck_assert_int_eq(apd_test_gap(&o, "Command b")->hresult, 0x80070002);
	ck_assert_int_eq(apd_test_gap(&o, "Command c")->hresult, 0x80070002);
	ck_assert_ptr_null(apd_test_gap(&o, "Command d"));
	ck_assert_ptr_null(apd_test_gap(&o, "Command e"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o,
	    "directive 4 (<Command>) has an HRESULT that is not a number"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "directive 5 (<Command>)"));
	ck_assert_uint_eq(o.warns[0].line, 6);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.6"), "Events Setup");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.7"), "Diagnostics future directive");
	ck_assert_int_eq(apd_test_gap(&o, "Diagnostics future directive")->hresult, 1);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.8"), "Command padded");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives"), "8");
	ck_assert_str_eq(apd_test_fact(&o, "intune.layout"), "numbered");
	ck_assert_uint_eq(o.ngaps, 4);
	apd_test_out_free(&o);
}
END_TEST

/* A sink that fails on the third fact stops the parser; its code comes back. */
START_TEST(test_results_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n;

	buf = apd_test_slurp_src(FIX "results.xml", &n);
	apd_test_out_init(&o);
	o.stop_after_facts = 3;
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_results, buf, n, "results.xml", &o, &err),
	    APD_FATAL);
	ck_assert_uint_eq(o.nfacts, 3);   /* called three times, stopped at the third */
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* ---- SAS ---- */

/* The SAS token never reaches a fact, gap, event, warning or error message. */
START_TEST(test_results_sas_never_leaks)
{
	static const char *const files[] = { FIX "results-sas-token.xml", FIX "results-sas-cdata.xml",
		FIX "results-sas-unescaped.xml", FIX "results-truncated-in-sasurl.xml" };
	static const int want[] = { APD_OK, APD_OK, APD_WARN, APD_WARN };
	static const size_t blocks[] = { 0, 1, 5, 77 };
	struct apd_test_out o;
	struct apd_error err;
	struct apd_limits lim;
	size_t i, k, n;
	unsigned char *buf;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		/* the fixture really carries the secret */
		buf = apd_test_slurp_src(files[i], &n);
		ck_assert_ptr_nonnull(strstr((char *)buf, SECRET));
		free(buf);
		for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
			ck_assert_msg(apd_test_parse_src_mem(&RESULTS, files[i], NULL, blocks[k], &o,
			    &err) == want[i], "%s", files[i]);
			ck_assert_msg(!apd_test_emitted_anywhere(&o, &err, SECRET), "%s leaks", files[i]);
			ck_assert_msg(!apd_test_emitted_anywhere(&o, &err, "blob.core.windows.net"), "%s",
			    files[i]);
			ck_assert_str_eq(apd_test_fact(&o, "intune.collection.id"),
			    "0f2c5a1e-7b3d-4c8e-9a61-2d4b6e8f1a3c");
			apd_test_out_free(&o);
		}
	}
	/* the broken ones say where, without quoting */
	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "results-sas-unescaped.xml", &o, &err),
	    APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o,
	    "malformed XML inside <SasUrl> (details withheld"));
	ck_assert_uint_eq(o.warns[0].line, 3);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives"), "0");
	apd_test_out_free(&o);

	/* limits that stop inside SasUrl */
	apd_limits_default(&lim);
	buf = apd_test_slurp_src(FIX "results-sas-token.xml", &n);
	lim.max_xml_bytes = (size_t)((unsigned char *)strstr((char *)buf, SECRET) - buf) + 4;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_WARN);
	ck_assert(!apd_test_emitted_anywhere(&o, &err, SECRET));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "SECR"));
	apd_test_out_free(&o);
	lim.max_xml_bytes = 30;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_WARN);
	ck_assert(!apd_test_emitted_anywhere(&o, &err, SECRET));
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* SasUrl anywhere (nested, with attributes, odd case) is never quoted either. */
START_TEST(test_results_sas_odd_places)
{
	static const char *const docs[] = {
		"<Collection HRESULT=\"0\"><ID>i</ID><Command HRESULT=\"-1\">a<SasUrl>https://x.blob."
		"core.windows.net/c?sig=" SECRET "</SasUrl>b</Command></Collection>",
		"<Collection HRESULT=\"0\"><ID>i</ID><sasurl>https://x/c?sv=2020&amp;sig=" SECRET
		"</sasurl></Collection>",
		"<Collection HRESULT=\"0\"><ID>i</ID><SasUrl><![CDATA[https://x/c?sig=" SECRET "]]>",
		"<Collection HRESULT=\"0\"><ID>i</ID><SasUrl>https://x/c?sig=" SECRET "&bogus;</SasUrl>"
		"</Collection>",
		"<Collection HRESULT=\"0\"><ID>i</ID><SasUrl>https://x/c?sig=" SECRET "</SasUrlX>"
		"</Collection>",
		"<Collection HRESULT=\"0\"><ID>i</ID><SasUrl>https://x/c?sig=" SECRET "\x01</SasUrl>"
		"</Collection>",
		"<Collection HRESULT=\"0\"><ID>i</ID><SasUrl>https://x/c?sig=" SECRET "\xff\xfe</SasUrl>"
		"</Collection>",
	};
	struct apd_test_out o;
	struct apd_error err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		rc = apd_test_parse_str(&RESULTS, docs[i], &o, &err);
		ck_assert_msg(rc == APD_OK || rc == APD_WARN, "doc %zu: %d", i, rc);
		ck_assert_msg(!apd_test_emitted_anywhere(&o, &err, SECRET), "doc %zu leaks", i);
		ck_assert_str_eq(apd_test_fact(&o, "intune.collection.id"), "i");
		apd_test_out_free(&o);
	}
	/* the directive around a nested SasUrl keeps only its own text */
	ck_assert_int_eq(apd_test_parse_str(&RESULTS, docs[0], &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.1"), "Command ab");
	apd_test_out_free(&o);
}
END_TEST

/* ---- Errors ---- */

START_TEST(test_results_truncated)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "results-truncated.xml", &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.17"), "Events Application");
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.18"),
	    "Events Microsoft-Windows-AppXDeploymentServer/Operational");
	ck_assert_ptr_null(apd_test_fact(&o, "intune.directive.19"));
	ck_assert_str_eq(apd_test_fact(&o, "intune.directives"), "18");
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "document ends with 2 elements left open"));
	ck_assert_uint_eq(o.warns[0].line, 22);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_results_entities)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "billion-laughs.xml", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg,
	    "billion-laughs.xml:3: DTD entity declaration 'a' rejected"));
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "aaaaaaaaaa"));
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "xxe-file-passwd.xml", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "entity declaration 'xxe' rejected"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "root:"));
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.ngaps, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_results_wrong_input)
{
	static const unsigned char garbage[] = { 0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0x21,
		0x7A, 0xFF, 0x00, 0x13, 0x99 };
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, garbage, sizeof(garbage), NULL, 0, &o, &err),
	    APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "results.xml:"));
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_str(&RESULTS,
	    "<?xml version=\"1.0\"?>\n<MDMEnterpriseDiagnosticsReport/>\n", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "results.xml:2: the root element is "
	    "<MDMEnterpriseDiagnosticsReport>, not <Collection>"));
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_str(&RESULTS, "", &o, &err), APD_FAILED);
	apd_test_out_free(&o);

	/* UTF-16LE with a BOM, declared UTF-8: the BOM wins */
	ck_assert_int_eq(apd_test_parse_src(&RESULTS, FIX "results-utf16le-declared-utf8.xml", &o,
	    &err), APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.3"),
	    "RegistryKey HKLM\\Software\\Microsoft\\IntuneManagementExtension");
	ck_assert_uint_eq(o.ngaps, 2);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_results_stderr_silent)
{
	static const char *const files[] = { FIX "billion-laughs.xml", FIX "xxe-file-passwd.xml",
		FIX "results-sas-unescaped.xml", FIX "results-truncated-in-sasurl.xml",
		FIX "results-truncated.xml" };
	struct apd_test_out o;
	struct apd_error err;
	struct apd_test_stderr cap;
	size_t i;

	apd_test_stderr_begin(&cap);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		apd_test_parse_src(&RESULTS, files[i], &o, &err);
		apd_test_out_free(&o);
	}
	ck_assert_int_eq(apd_test_stderr_end(&cap), 0);
}
END_TEST

/* ---- Limits ---- */

START_TEST(test_results_limits)
{
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;
	size_t n;
	unsigned char *buf = apd_test_slurp_src(FIX "results.xml", &n);

	apd_limits_default(&lim);

	lim.max_xml_depth = 2;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_OK);
	apd_test_out_free(&o);
	lim.max_xml_depth = 1;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "deeper than max_xml_depth (1)"));
	ck_assert_str_eq(apd_test_fact(&o, "intune.collection.hresult"), "0x00000000");
	ck_assert_ptr_null(apd_test_fact(&o, "intune.collection.id"));
	apd_test_out_free(&o);

	apd_limits_default(&lim);
	lim.max_xml_bytes = n;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 100, &o, &err), APD_OK);
	apd_test_out_free(&o);
	lim.max_xml_bytes = 600;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "larger than max_xml_bytes (600 bytes)"));
	ck_assert_str_eq(apd_test_fact(&o, "intune.directive.1"),
	    "RegistryKey HKLM\\SOFTWARE\\Microsoft\\CloudManagedUpdate");
	ck_assert_ptr_null(apd_test_fact(&o, "intune.directive.20"));
	apd_test_out_free(&o);
	lim.max_xml_bytes = 10;
	ck_assert_int_eq(apd_test_parse_buf(&RESULTS, buf, n, &lim, 0, &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "max_xml_bytes (10 bytes)"));
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* ---- Bid ---- */

static int
bid_mem(const char *head, const char *name)
{
	struct apd_probe pr = { (const unsigned char *)head, strlen(head), name, name,
		(int64_t)strlen(head) };

	return apd_parser_results.bid(&pr);
}

START_TEST(test_results_bids)
{
	static const char *const mine[] = { FIX "results.xml", FIX "results-old-layout.xml",
		FIX "results-sas-token.xml", FIX "results-sas-cdata.xml", FIX "results-sas-unescaped.xml",
		FIX "results-truncated.xml", FIX "results-truncated-in-sasurl.xml",
		FIX "results-utf16le-declared-utf8.xml", FIX "billion-laughs.xml",
		FIX "xxe-file-passwd.xml" };
	size_t i;
	int b;

	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		ck_assert_msg(strcmp(apd_test_bid_file(apd_test_src(mine[i]), &b), "results") == 0,
		    "%s", mine[i]);
		ck_assert_int_ge(b, 56);
	}
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(FIX "results.xml"), &b), "results");
	ck_assert_int_eq(b, 64);
	ck_assert_int_eq(bid_mem("<Collection HRESULT=\"0\">\r\n<ID>x</ID>", "results.xml"), 64);
	ck_assert_int_eq(bid_mem("<Collection HRESULT=\"0\">\r\n<ID>x</ID>", "1.xml"), 56);
	ck_assert_int_eq(bid_mem("\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n"
	    "<Collection\n  HRESULT=\"-2147024893\">", "x"), 56);
	/* the request (no HRESULT) only by name; other roots never */
	ck_assert_int_eq(bid_mem("<Collection><ID>x</ID>", "results.xml"), 16);
	ck_assert_int_eq(bid_mem("<Collection><ID>x</ID>", "other.xml"), -1);
	ck_assert_int_eq(bid_mem("<Collections HRESULT=\"0\">", "results.xml"), -1);
	ck_assert_int_eq(bid_mem("<Root><Collection HRESULT=\"0\">", "results.xml"), -1);
	ck_assert_int_eq(bid_mem("--- Start at:2024-04-03T07:45:13", "results.xml"), -1);
	ck_assert_int_eq(bid_mem("\x01\x02\x03\x04\x05\x06<Collection HRESULT=\"0\">", "results.xml"),
	    -1);
	ck_assert_str_ne(apd_test_bid_file(apd_test_src("tests/data/mdmxml/MDMDiagReport.xml"), &b),
	    "results");
}
END_TEST

static Suite *
results_suite(void)
{
	Suite *s = suite_create("results");
	TCase *core = tcase_create("Core");
	TCase *sas = tcase_create("Sas");
	TCase *errors = tcase_create("Errors");
	TCase *limits = tcase_create("Limits");
	TCase *bids = tcase_create("Bid");

	tcase_add_test(core, test_results_flattened);
	tcase_add_test(core, test_results_old_layout);
	tcase_add_test(core, test_results_blocks);
	tcase_add_test(core, test_results_hresult_forms);
	tcase_add_test(core, test_results_sink_stop);
	tcase_add_test(sas, test_results_sas_never_leaks);
	tcase_add_test(sas, test_results_sas_odd_places);
	tcase_add_test(errors, test_results_truncated);
	tcase_add_test(errors, test_results_entities);
	tcase_add_test(errors, test_results_wrong_input);
	tcase_add_test(errors, test_results_stderr_silent);
	tcase_add_test(limits, test_results_limits);
	tcase_add_test(bids, test_results_bids);
	suite_add_tcase(s, core);
	suite_add_tcase(s, sas);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, bids);
	return s;
}

int
main(void)
{
	return apd_test_run(results_suite());
}
