/*
 * check_mdmxml.c - MDMDiagReport.xml: extraction, streaming, malformed and
 * hostile documents (entities, depth, size, encodings), bids.
 */
#include "apd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct apd_parser apd_parser_mdmxml;

#define FIX "tests/data/mdmxml/"
#define ENR "6F3B8A21-4C9E-4D2B-9A7E-1B2C3D4E5F60"
#define US(s) ((int64_t)(s) * 1000000)

/* The parser under test; in-memory input is shown under the collector's file name. */
static const struct apd_test_input MDMXML = { &apd_parser_mdmxml, "MDMDiagReport.xml" };

/* How many facts have a name that starts with prefix. */
static size_t
count_prefix(const struct apd_test_out *o, const char *prefix)
{
	size_t i, k = 0;

	for (i = 0; i < o->nfacts; i++)
		if (strncmp(o->facts[i].name, prefix, strlen(prefix)) == 0)
			k++;
	return k;
}

/* ---- Core ---- */

START_TEST(test_mdmxml_fixture)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_event *e;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "MDMDiagReport.xml", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	/* system information */
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.report_version"), "1.0");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.report_time"), "2024-04-03T07:45:12Z");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.system.ReportCreationTime"),
	    "Wednesday, 03 April 2024--07:45:12 (UTC)");
	ck_assert_str_eq(apd_test_fact(&o, "os.version"), "10.0.22631.3296");
	ck_assert_str_eq(apd_test_fact(&o, "os.build"), "22631");
	ck_assert_str_eq(apd_test_fact(&o, "os.ubr"), "3296");
	ck_assert_str_eq(apd_test_fact(&o, "os.build_branch"), "ni_release");
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_ptr_null(apd_test_fact(&o, "device.name"));
	/* enrollments */
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".EnrollmentState"), "1");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".EnrollmentType"), "6");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".ProviderID"), "MS DM Server");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".UPN"), "adele.vance@contoso.com");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".AADTenantID"),
	    "11111111-2222-3333-4444-555555555555");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".DiscoveryServiceFullURL"),
	    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".FirstSync.SkipUserStatusPage"),
	    "4294967295");
	ck_assert_str_eq(apd_test_fact(&o,
	    "enrollment.0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0.ProviderID"), "");
	ck_assert_str_eq(apd_test_fact(&o,
	    "enrollment." ENR ".ProtectedInformation.ConnectionInformation.ServerLastSuccessTime"),
	    "20240403T074012Z");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".ProtectedInformation.MDMServerName"),
	    "DM Server");
	ck_assert_ptr_null(apd_test_fact(&o, "enrollment." ENR ".OMADMSessions.Session.SessionId"));
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.enrollments"), "2");
	/* sections not extracted stay out */
	ck_assert_uint_eq(count_prefix(&o, "PolicyManager"), 0);
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "WMI_Bridge_Server"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "RequireDeviceEncryption_LastWrite"));

	/* MSI installations: one event each */
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.msi_installations"), "2");
	e = apd_test_event_with(&o, "MSI {23170F69-40C1-2702-1900-000001000000}");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->message,
	    "MSI {23170F69-40C1-2702-1900-000001000000} 19.00.00.0 status 70 (Success)");
	ck_assert_int_eq(e->tz, APD_TZ_UTC);
	ck_assert_int_eq(e->ts_utc, US(1712128800));
	ck_assert_int_eq(e->level, APD_LVL_INFO);
	ck_assert_str_eq(e->component, "EnterpriseDesktopAppManagement");
	ck_assert(apd_test_contains(e->data, "\"Status\":\"70\""));
	ck_assert(apd_test_contains(e->data, "\"status_text\":\"Success\""));
	ck_assert(apd_test_contains(e->data, "\"ActionType\":\"1\""));
	ck_assert(apd_test_contains(e->data,
	    "\"user_sid\":\"S-0-0-00-0000000000-0000000000-000000000-000\""));
	ck_assert(apd_test_contains(e->data, "\"package_type\":\"MSI\""));
	ck_assert(apd_test_contains(e->data, "\"creation_time_utc\":\"2024-04-03T07:20:00Z\""));
	ck_assert(apd_test_contains(e->data,
	    "\"enforcement_start_time_utc\":\"2024-04-03T07:21:30Z\""));
	ck_assert_uint_gt(e->line, 100);
	e = apd_test_event_with(&o, "MSI {9A0C3B7E");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->message, "MSI {9A0C3B7E-5D1F-4E2A-8B6C-0D9E8F7A6B5C} 4.2.1.0 status 60 "
	    "(Enforcement Failed) last error 0x80070643");
	ck_assert_int_eq(e->level, APD_LVL_ERROR);
	ck_assert_int_eq(e->ts_utc, US(1712128930));
	ck_assert(apd_test_contains(e->data, "\"last_error_hex\":\"0x80070643\""));
	ck_assert(apd_test_contains(e->data,
	    "contentGuid=00000000-1111-2222-3333-444444444444&fileName="));

	/* Diagnostics/ErrorLog */
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.errorlog_entries"), "3");
	e = apd_test_event_with(&o, "ErrorLog ConfigManager BitLocker");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->message, "ErrorLog ConfigManager BitLocker: 0x800701B1 CmdType_Set "
	    "./Device/Vendor/MSFT/BitLocker/RequireDeviceEncryption");
	ck_assert_int_eq(e->tz, APD_TZ_UTC);
	ck_assert_int_eq(e->ts_utc, US(1712128325) + 463000);
	ck_assert_int_eq(e->level, APD_LVL_ERROR);
	ck_assert_str_eq(e->component, "ConfigManager");
	ck_assert(apd_test_contains(e->data, "\"hresult\":\"0x800701B1\""));
	ck_assert(apd_test_contains(e->data, "\"Error\":\"-2147024463\""));
	e = apd_test_event_with(&o, "ErrorLog ConfigManager Defender");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->level, APD_LVL_INFO);
	e = apd_test_event_with(&o, "ErrorLog AutoPilot");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->tz, APD_TZ_NONE);
	ck_assert(apd_test_contains(e->data, "\"TenantMatched\":\"1\""));
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.autopilot.CloudAssignedTenantDomain"),
	    "contoso.onmicrosoft.com");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.autopilot.DeploymentProfileName"),
	    "Contoso user-driven");

	/* FirstSyncData: settings as facts, expected items as events */
	ck_assert_str_eq(apd_test_fact(&o, "firstsync.SyncFailureTimeout"), "60");
	ck_assert_str_eq(apd_test_fact(&o, "firstsync.BlockInStatusPage"), "6");
	ck_assert_str_eq(apd_test_fact(&o, "firstsync.CustomErrorText"),
	    "Setup could not finish. Call Contoso IT on +1 555 0100.");
	ck_assert_str_eq(apd_test_fact(&o, "firstsync.expected_items"), "5");
	e = apd_test_event_with(&o, "ESP expected ExpectedMSIAppPackages: ./Device/Vendor/MSFT/"
	    "EnterpriseDesktopAppManagement/MSI/{9A0C3B7E-5D1F-4E2A-8B6C-0D9E8F7A6B5C}/DownloadInstall");
	ck_assert_ptr_nonnull(e);
	ck_assert(apd_test_contains(e->data, "\"list\":\"ExpectedMSIAppPackages\""));
	e = apd_test_event_with(&o, "ESP expected S-1-12-1-1111111111-2222222222-3333333333-4444444444"
	    "ExpectedSCEPCerts: ./User/Vendor/MSFT/ClientCertificateInstall/SCEP/ContosoWifiCert");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(o.nev, 2 + 3 + 5);
	apd_test_out_free(&o);
}
END_TEST

/* Streaming: any block size gives the same records. */
START_TEST(test_mdmxml_blocks)
{
	static const size_t blocks[] = { 1, 2, 7, 100, 4096 };
	struct apd_test_out whole, o;
	struct apd_error err;
	size_t i, k;

	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", NULL, 0, &whole,
	    &err), APD_OK);
	for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", NULL, blocks[k],
		    &o, &err), APD_OK);
		ck_assert_uint_eq(o.nfacts, whole.nfacts);
		ck_assert_uint_eq(o.nev, whole.nev);
		for (i = 0; i < o.nfacts; i++) {
			ck_assert_str_eq(o.facts[i].name, whole.facts[i].name);
			ck_assert_str_eq(o.facts[i].value, whole.facts[i].value);
		}
		for (i = 0; i < o.nev; i++) {
			ck_assert_str_eq(o.ev[i].message, whole.ev[i].message);
			ck_assert_str_eq(o.ev[i].data, whole.ev[i].data);
			ck_assert_uint_eq(o.ev[i].line, whole.ev[i].line);
		}
		apd_test_out_free(&o);
	}
	apd_test_out_free(&whole);
}
END_TEST

/* The same report without the BOM and with LF line ends. */
START_TEST(test_mdmxml_no_bom_lf)
{
	struct apd_test_out o;
	struct apd_error err;
	size_t n, i, j = 0;
	unsigned char *buf = apd_test_slurp_src(FIX "MDMDiagReport.xml", &n);
	char *lf = malloc(n + 1);

	ck_assert_ptr_nonnull(lf);
	for (i = 3; i < n; i++)
		if (buf[i] != '\r')
			lf[j++] = (char)buf[i];
	lf[j] = '\0';
	ck_assert_int_eq(apd_test_parse_str(&MDMXML, lf, &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.msi_installations"), "2");
	ck_assert_uint_eq(o.nev, 10);
	apd_test_out_free(&o);
	free(lf);
	free(buf);
}
END_TEST

/* A device name, and a localized creation time kept only as the raw fact. */
START_TEST(test_mdmxml_device_name_localized_time)
{
	static const char doc[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	    "<MDMEnterpriseDiagnosticsReport>\r\n"
	    "  <SystemInformation>\r\n"
	    "    <ReportCreationTime>mercredi, 03 avril 2024--07:45:12 (UTC)</ReportCreationTime>\r\n"
	    "    <DeviceName>CONTOSO-PC01</DeviceName>\r\n"
	    "  </SystemInformation>\r\n"
	    "</MDMEnterpriseDiagnosticsReport>\r\n";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&MDMXML, doc, &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "device.name"), "CONTOSO-PC01");
	ck_assert_ptr_null(apd_test_fact(&o, "mdmdiag.report_time"));
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.system.ReportCreationTime"),
	    "mercredi, 03 avril 2024--07:45:12 (UTC)");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.enrollments"), "0");
	apd_test_out_free(&o);
}
END_TEST

/* UTF-16LE with a BOM but declared UTF-8: libxml2 goes by the BOM. */
START_TEST(test_mdmxml_utf16_declared_utf8)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "utf16le-declared-utf8.xml", &o, &err),
	    APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "PF0ABCDE");
	ck_assert_str_eq(apd_test_fact(&o, "os.build"), "19045");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.report_time"), "2024-04-03T07:45:12Z");
	apd_test_out_free(&o);
}
END_TEST

/* Regression: an element name with a '.' must not corrupt the element path. */
START_TEST(test_mdmxml_regress_dotted_element_name)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_event *e;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "regress-dotted-element-name.xml", &o, &err),
	    APD_OK);
	ck_assert_str_eq(apd_test_fact(&o,
	    "enrollment." ENR ".Poll.Settings.IntervalForFirstSetOfRetries"), "3");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".ProviderID"), "MS DM Server");
	e = apd_test_event_with(&o, "ErrorLog ConfigManager WiFi: 0x80070002");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(o.nwarns, 0);
	apd_test_out_free(&o);
}
END_TEST

/* A sink that fails stops the parser, whose code is passed up unchanged. */
START_TEST(test_mdmxml_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	o.stop_after_events = 1;
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_mdmxml,
	    apd_test_src(FIX "MDMDiagReport.xml"), &o, &err), APD_FATAL);
	ck_assert_uint_eq(o.nev, 1);
	apd_test_out_free(&o);
}
END_TEST

/* ---- Errors ---- */

/* A cut download: what came before is kept, the open record is marked partial. */
START_TEST(test_mdmxml_truncated)
{
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_event *e;
	const char *w;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "truncated-in-msi.xml", &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".UPN"), "adele.vance@contoso.com");
	e = apd_test_event_with(&o, "MSI {23170F69");
	ck_assert_ptr_nonnull(e);
	ck_assert(!apd_test_contains(e->data, "partial"));
	e = apd_test_event_with(&o, "MSI {9A0C3B7E");
	ck_assert_ptr_nonnull(e);
	ck_assert(apd_test_contains(e->data, "\"partial\":true"));
	ck_assert_ptr_null(apd_test_fact(&o, "firstsync.SyncFailureTimeout"));
	w = apd_test_warn_with(&o,
	    "document ends inside <LastError> (7 elements left open; truncated file?)");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(o.warns[0].line, 154);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmxml_mismatched_tag)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "mismatched-tag.xml", &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.msi_installations"), "0");
	ck_assert(apd_test_warned_at(&o, 20, "RenewalPerod"));
	apd_test_out_free(&o);
}
END_TEST

/* Billion laughs: the declaration stops the parse; nothing is expanded. */
START_TEST(test_mdmxml_billion_laughs)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "billion-laughs.xml", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "billion-laughs.xml:3:"));
	ck_assert(apd_test_contains(err.msg, "entity declaration 'lol' rejected"));
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "lollol"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "entity"));
	apd_test_out_free(&o);
}
END_TEST

/* External entities are never resolved: nothing of /etc/passwd comes out. */
START_TEST(test_mdmxml_xxe)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "xxe-file-passwd.xml", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "entity declaration 'xxe' rejected"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "root:"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "/bin/"));
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "xxe-parameter-entity.xml", &o, &err),
	    APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "entity declaration 'ext' rejected"));
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "root:"));
	apd_test_out_free(&o);
}
END_TEST

/*
 * Regression: for an entity declaration libxml2 builds a "SAX compat"
 * document that xmlFreeParserCtxt() does not free (ASan found the leak).
 */
START_TEST(test_mdmxml_regress_entity_decl_sax_compat_doc_leak)
{
	struct apd_test_out o;
	struct apd_error err;
	int i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(apd_test_parse_src(&MDMXML,
		    FIX "regress-entity-decl-sax-compat-doc-leak.xml", &o, &err), APD_FAILED);
		ck_assert(apd_test_contains(err.msg, ":3: DTD entity declaration 'company' rejected"));
		ck_assert_uint_eq(o.nfacts, 0);
		apd_test_out_free(&o);
	}
}
END_TEST

/* A DOCTYPE naming an external DTD is harmless: the DTD is never loaded. */
START_TEST(test_mdmxml_external_dtd_not_loaded)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "external-dtd.xml", &o, &err), APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert(!apd_test_emitted_anywhere(&o, &err, "root:"));
	apd_test_out_free(&o);
}
END_TEST

/* An undeclared entity is a well-formedness error: records before it are kept. */
START_TEST(test_mdmxml_undeclared_entity)
{
	static const char doc[] =
	    "<?xml version=\"1.0\"?>\n<MDMEnterpriseDiagnosticsReport>\n  <Version>1.0</Version>\n"
	    "  <SystemInformation>\n    <SerialNumber>&foo;</SerialNumber>\n"
	    "  </SystemInformation>\n</MDMEnterpriseDiagnosticsReport>\n";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&MDMXML, doc, &o, &err), APD_WARN);
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.report_version"), "1.0");
	ck_assert_ptr_null(apd_test_fact(&o, "device.serial"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "Entity 'foo' not defined"));
	ck_assert_uint_eq(o.warns[0].line, 5);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmxml_binary_garbage)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMXML, FIX "binary-garbage.bin", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "binary-garbage.bin:"));
	ck_assert_uint_eq(o.nfacts, 0);
	ck_assert_uint_eq(o.nev, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmxml_empty_and_wrong_root)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_str(&MDMXML, "", &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "MDMDiagReport.xml"));
	apd_test_out_free(&o);
	ck_assert_int_eq(apd_test_parse_str(&MDMXML,
	    "<?xml version=\"1.0\"?>\r\n<Collection HRESULT=\"0\"><ID>x</ID></Collection>\r\n", &o,
	    &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "MDMDiagReport.xml:2: the root element is <Collection>"));
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);
}
END_TEST

/* libxml2 must print nothing, whatever the input. */
START_TEST(test_mdmxml_stderr_silent)
{
	static const char *const files[] = { FIX "billion-laughs.xml", FIX "xxe-file-passwd.xml",
		FIX "mismatched-tag.xml", FIX "truncated-in-msi.xml", FIX "binary-garbage.bin",
		FIX "utf16le-declared-utf8.xml" };
	struct apd_test_out o;
	struct apd_error err;
	struct apd_test_stderr cap;
	size_t i;

	apd_test_stderr_begin(&cap);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		apd_test_parse_src(&MDMXML, files[i], &o, &err);
		apd_test_out_free(&o);
	}
	apd_test_parse_str(&MDMXML,
	    "<?xml version=\"1.0\" encoding=\"bogus-enc\"?><MDMEnterpriseDiagnosticsReport/>", &o,
	    &err);
	apd_test_out_free(&o);
	apd_test_parse_str(&MDMXML,
	    "<MDMEnterpriseDiagnosticsReport>\xff\xfe</MDMEnterpriseDiagnosticsReport>", &o, &err);
	apd_test_out_free(&o);
	ck_assert_int_eq(apd_test_stderr_end(&cap), 0);
}
END_TEST

/* ---- Limits ---- */

START_TEST(test_mdmxml_depth_limit)
{
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;

	/* the deepest values (MSI Details children) sit at depth 7 */
	apd_limits_default(&lim);
	lim.max_xml_depth = 7;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 0, &o, &err),
	    APD_OK);
	ck_assert_str_eq(apd_test_fact(&o, "mdmdiag.msi_installations"), "2");
	apd_test_out_free(&o);

	lim.max_xml_depth = 6;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 0, &o, &err),
	    APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "deeper than max_xml_depth (6)"));
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_str_eq(apd_test_fact(&o, "enrollment." ENR ".UPN"), "adele.vance@contoso.com");
	ck_assert_ptr_null(apd_test_event_with(&o, "MSI {"));
	apd_test_out_free(&o);
}
END_TEST

/* 300 nested elements under the root, with the default limit: nothing usable. */
START_TEST(test_mdmxml_depth_default)
{
	struct apd_test_out o;
	struct apd_error err;
	char *doc = malloc(300 * 8 + 128), *p;
	int i;

	ck_assert_ptr_nonnull(doc);
	p = doc + sprintf(doc, "<?xml version=\"1.0\"?><MDMEnterpriseDiagnosticsReport>");
	for (i = 0; i < 300; i++)
		p += sprintf(p, "<a>");
	strcpy(p, "x");
	ck_assert_int_eq(apd_test_parse_str(&MDMXML, doc, &o, &err), APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "max_xml_depth (256)"));
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);
	free(doc);
}
END_TEST

START_TEST(test_mdmxml_bytes_limit)
{
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;
	size_t n;
	unsigned char *buf = apd_test_slurp_src(FIX "MDMDiagReport.xml", &n);

	free(buf);
	apd_limits_default(&lim);

	/* exactly the file's size is allowed */
	lim.max_xml_bytes = n;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 1000, &o, &err),
	    APD_OK);
	apd_test_out_free(&o);

	/* one byte less: the end is not read, the rest is kept */
	lim.max_xml_bytes = n - 1;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 1000, &o, &err),
	    APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "larger than max_xml_bytes"));
	ck_assert_str_eq(apd_test_fact(&o, "firstsync.SyncFailureTimeout"), "60");
	apd_test_out_free(&o);

	lim.max_xml_bytes = 2000;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 0, &o, &err),
	    APD_WARN);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "larger than max_xml_bytes (2000 bytes)"));
	ck_assert_str_eq(apd_test_fact(&o, "device.serial"), "5CG0000XYZ");
	ck_assert_ptr_null(apd_test_event_with(&o, "MSI {"));
	apd_test_out_free(&o);

	lim.max_xml_bytes = 64;
	ck_assert_int_eq(apd_test_parse_src_mem(&MDMXML, FIX "MDMDiagReport.xml", &lim, 0, &o, &err),
	    APD_FAILED);
	ck_assert(apd_test_contains(err.msg, "max_xml_bytes (64 bytes)"));
	ck_assert_uint_eq(o.nfacts, 0);
	apd_test_out_free(&o);
}
END_TEST

/* A 100 KB value is cut at 64 KiB, with one warning. */
START_TEST(test_mdmxml_long_value_cut)
{
	struct apd_test_out o;
	struct apd_error err;
	size_t big = 100 * 1024;
	char *doc = malloc(big + 256), *p;

	ck_assert_ptr_nonnull(doc);
	p = doc + sprintf(doc, "<MDMEnterpriseDiagnosticsReport><SystemInformation><SerialNumber>");
	memset(p, 'A', big);
	strcpy(p + big, "</SerialNumber></SystemInformation></MDMEnterpriseDiagnosticsReport>");
	ck_assert_int_eq(apd_test_parse_str(&MDMXML, doc, &o, &err), APD_WARN);
	ck_assert_uint_eq(strlen(apd_test_fact(&o, "device.serial")), 64 * 1024);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "longer than 64 KiB"));
	ck_assert_uint_eq(o.nwarns, 1);
	apd_test_out_free(&o);
	free(doc);
}
END_TEST

/* ---- Bid ---- */

static int
bid_mem(const char *head, size_t n, const char *name)
{
	struct apd_probe pr = { (const unsigned char *)head, n, name, name, (int64_t)n };

	return apd_parser_mdmxml.bid(&pr);
}

START_TEST(test_mdmxml_bid_fixtures)
{
	static const struct {
		const char *file;
		const char *winner;
	} t[] = {
		{ FIX "MDMDiagReport.xml", "mdmxml" },
		{ FIX "truncated-in-msi.xml", "mdmxml" },
		{ FIX "mismatched-tag.xml", "mdmxml" },
		{ FIX "utf16le-declared-utf8.xml", "mdmxml" },
		{ FIX "external-dtd.xml", "mdmxml" },
		{ FIX "regress-dotted-element-name.xml", "mdmxml" },
		{ FIX "billion-laughs.xml", "mdmxml" },
		{ FIX "xxe-file-passwd.xml", "mdmxml" },
		{ FIX "xxe-parameter-entity.xml", "mdmxml" },
		{ FIX "regress-entity-decl-sax-compat-doc-leak.xml", "mdmxml" },
	};
	size_t i;
	int b;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(strcmp(apd_test_bid_file(apd_test_src(t[i].file), &b), t[i].winner) == 0,
		    "%s", t[i].file);
		ck_assert_int_ge(b, 64);
	}
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(FIX "MDMDiagReport.xml"), &b), "mdmxml");
	ck_assert_int_eq(b, 72);
	apd_test_bid_file(apd_test_src(FIX "binary-garbage.bin"), &b);
	ck_assert_int_lt(b, 8);
}
END_TEST

START_TEST(test_mdmxml_bid_signals)
{
	static const char decl[] = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	    "<MDMEnterpriseDiagnosticsReport>\r\n  <Version>1.0</Version>\r\n";
	static const char nodecl[] = "<!-- c -->\r\n<MDMEnterpriseDiagnosticsReport>";
	static const char other[] = "<?xml version=\"1.0\"?><Collection HRESULT=\"0\">";
	static const char prefix[] = "<?xml version=\"1.0\"?><MDMEnterpriseDiagnosticsReportX>";
	static const char inner[] = "<?xml version=\"1.0\"?><Root><MDMEnterpriseDiagnosticsReport>";
	static const unsigned char bin[] = { 0x4D, 0x5A, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0 };

	ck_assert_int_eq(bid_mem(decl, sizeof(decl) - 1, "MDMDiagReport.xml"), 72);
	ck_assert_int_eq(bid_mem(decl, sizeof(decl) - 1, "report.xml"), 64);
	ck_assert_int_eq(bid_mem(nodecl, sizeof(nodecl) - 1, "x.xml"), 48);
	ck_assert_int_eq(bid_mem(other, sizeof(other) - 1, "results.xml"), -1);
	ck_assert_int_eq(bid_mem(other, sizeof(other) - 1, "MDMDiagReport.xml"), 8);
	ck_assert_int_eq(bid_mem(prefix, sizeof(prefix) - 1, "x.xml"), -1);
	ck_assert_int_eq(bid_mem(inner, sizeof(inner) - 1, "x.xml"), -1);
	ck_assert_int_eq(bid_mem((const char *)bin, sizeof(bin), "MDMDiagReport.xml"), -1);
	ck_assert_int_eq(bid_mem("", 0, "MDMDiagReport.xml"), -1);
}
END_TEST

static Suite *
mdmxml_suite(void)
{
	Suite *s = suite_create("mdmxml");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");
	TCase *limits = tcase_create("Limits");
	TCase *bids = tcase_create("Bid");

	tcase_add_test(core, test_mdmxml_fixture);
	tcase_add_test(core, test_mdmxml_blocks);
	tcase_add_test(core, test_mdmxml_no_bom_lf);
	tcase_add_test(core, test_mdmxml_device_name_localized_time);
	tcase_add_test(core, test_mdmxml_utf16_declared_utf8);
	tcase_add_test(core, test_mdmxml_regress_dotted_element_name);
	tcase_add_test(core, test_mdmxml_sink_stop);
	tcase_add_test(errors, test_mdmxml_truncated);
	tcase_add_test(errors, test_mdmxml_mismatched_tag);
	tcase_add_test(errors, test_mdmxml_billion_laughs);
	tcase_add_test(errors, test_mdmxml_xxe);
	tcase_add_test(errors, test_mdmxml_regress_entity_decl_sax_compat_doc_leak);
	tcase_add_test(errors, test_mdmxml_external_dtd_not_loaded);
	tcase_add_test(errors, test_mdmxml_undeclared_entity);
	tcase_add_test(errors, test_mdmxml_binary_garbage);
	tcase_add_test(errors, test_mdmxml_empty_and_wrong_root);
	tcase_add_test(errors, test_mdmxml_stderr_silent);
	tcase_add_test(limits, test_mdmxml_depth_limit);
	tcase_add_test(limits, test_mdmxml_depth_default);
	tcase_add_test(limits, test_mdmxml_bytes_limit);
	tcase_add_test(limits, test_mdmxml_long_value_cut);
	tcase_add_test(bids, test_mdmxml_bid_fixtures);
	tcase_add_test(bids, test_mdmxml_bid_signals);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, bids);
	return s;
}

int
main(void)
{
	return apd_test_run(mdmxml_suite());
}
