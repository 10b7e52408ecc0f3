/*
 * check_mdmregdump.c - the MdmDiagReport_RegistryDump.reg parser
 * (apd_parse_mdmregdump.c).
 *
 * Fixture tests/data/mdmregdump/MdmDiagReport_RegistryDump.reg: an excerpt
 * in the collector's own format (8-bit, CRLF, no BOM or header, 4-space
 * indent, lower-cased key paths, unescaped strings) with the ESP,
 * enrollment and Autopilot keys of DOMAIN.md §5.1-5.3.  Damaged inputs
 * are made from it, or written here, in memory.
 */
#include "apd_test.h"
#include "apd_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP "tests/data/mdmregdump/MdmDiagReport_RegistryDump.reg"
#define ENR  "software\\microsoft\\enrollments\\6D1C4B2E8F3A4C1B9E7D2A5B3C4D5E6F"
#define SID  "S-1-12-1-1234567890-1234567890-1234567890-1234567890"
#define PROV "software\\microsoft\\provisioning"
#define ESP  "Software\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking"
#define APP  "Win32App_8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1"

extern const struct apd_parser apd_parser_mdmregdump;
extern const struct apd_parser apd_parser_regexport;

/* Buffers are parsed under the collector's file name, the fixture read into memory as dump.reg. */
static const struct apd_test_input MDMREGDUMP = {
	&apd_parser_mdmregdump, "MdmDiagReport_RegistryDump.reg"
};
static const struct apd_test_input DUMP_REG = { &apd_parser_mdmregdump, "dump.reg" };

/* Every value of the fixture, decoded (shared by the block-size test). */
static void
check_dump(const struct apd_test_out *o)
{
	static const char pjc[] =
	    "{\"AutopilotCreationDate\":\"2024-03-14T09:05:12Z\","
	    "\"CloudAssignedTenantDomain\":\"contoso.onmicrosoft.com\","
	    "\"CloudAssignedTenantId\":\"0a1b2c3d-4e5f-6789-abcd-ef0123456789\","
	    "\"CloudAssignedOobeConfig\":1308,\"CloudAssignedDomainJoinMethod\":0,"
	    "\"ZtdCorrelationId\":\"5f4e3d2c-1b0a-4f9e-8d7c-6b5a49382716\","
	    "\"Comment_File\":\"Profile \\\"Contoso Standard\\\"\","
	    "\"CloudAssignedLanguage\":\"os-default\","
	    "\"DeploymentProfileName\":\"Contoso - User driven\",\"Version\":2049}";
	const struct apd_test_regval *r;
	uint64_t ft = 0;
	char utc[32];
	size_t i;

	ck_assert_uint_eq(o->nwarns, 0);
	ck_assert_uint_eq(apd_test_count_regkeys(o), 14);
	ck_assert_uint_eq(o->nrv, 14 + 42);

	/* keys, as written (lower-cased by the collector), looked up in any case */
	r = apd_test_find_regkey(o, "SOFTWARE\\Microsoft\\Enrollments");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->key, "software\\microsoft\\enrollments");
	ck_assert_str_eq(r->hive, "HKLM");
	ck_assert_uint_eq(r->line, 1);
	ck_assert_int_eq(r->type, 0);
	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_uint_eq(r->blob_len, 0);
	r = apd_test_find_regkey(o, PROV "\\diagnostics\\autopilot\\DefaultEvaluationOrder");
	ck_assert_ptr_nonnull(r);   /* no values, still recorded */
	ck_assert_uint_eq(r->line, 48);

	/* §5.2 enrollment and FirstSync */
	apd_test_ck_regint(o, ENR, "EnrollmentState", 4, 1, 5);
	apd_test_ck_regtext(o, ENR, "ProviderID", 1, "MS DM Server", 7);
	apd_test_ck_regtext(o, ENR, "DiscoveryServiceFullURL", 1,
	    "https://enrollment.manage.microsoft.com/enrollmentserver/discovery.svc", 10);
	apd_test_ck_regint(o, ENR "\\FirstSync", "SyncFailureTimeout", 4, 60, 13);
	apd_test_ck_regint(o, ENR "\\FirstSync", "BlockInStatusPage", 4, 6, 14);
	apd_test_ck_regint(o, ENR "\\FirstSync", "SkipDeviceStatusPage", 4, 0, 15);
	apd_test_ck_regint(o, ENR "\\FirstSync", "SkipUserStatusPage", 4, 0xffffffffu, 16);
	r = apd_test_must_regval(o, ENR "\\FirstSync\\" SID, "Timestamp");
	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_int_eq(r->type, 3);
	ck_assert_uint_eq(r->blob_len, 8);
	ck_assert_uint_eq(r->line, 21);
	for (i = 8; i-- > 0;)
		ft = ft << 8 | r->blob[i];
	apd_format_utc(utc, apd_filetime_to_us(ft));
	ck_assert_str_eq(utc, "2024-03-14T09:12:33.000000Z");
	apd_test_ck_regint(o, ENR "\\FirstSync\\" SID, "ApplicationsDuration", 4, 587, 23);

	/* §5.3 provisioning */
	apd_test_ck_regtext(o, PROV, "", 1, "Provisioning", 28);
	apd_test_ck_regtext(o, PROV "\\autopilotpolicycache", "PolicyJsonCache", 1, pjc, 31);
	apd_test_ck_regint(o, PROV "\\autopilotpolicycache", "LastUpdate", 11, 0x1da75f2a3b4c5d6ull,
	    33);
	apd_test_ck_regint(o, PROV "\\Diagnostics\\Autopilot", "IsAutopilotDisabled", 4, 0, 38);
	ck_assert_str_eq(apd_test_must_regval(o, PROV "\\diagnostics\\autopilot",
	    "isautopilotdisabled")->name, "IsAutoPilotDisabled");
	apd_test_ck_regint(o, PROV "\\diagnostics\\autopilot", "CloudAssignedOobeConfig", 4, 1308, 40);
	apd_test_ck_regtext(o, PROV "\\diagnostics\\autopilot", "DeploymentProfileName", 1,
	    "Contoso ? User driven", 41);
	apd_test_ck_regtext(o, PROV "\\diagnostics\\autopilot", "CloudAssignedTenantUpn", 1, "", 42);
	apd_test_ck_regtext(o, PROV "\\diagnostics\\autopilot\\EstablishedCorrelations", "EntDMID", 1,
	    "b3c5d7e9-0f1a-4b2c-8d3e-4f5a6b7c8d9e", 46);
	apd_test_ck_regtext(o, PROV "\\AutopilotSettings", "DevicePreparationCategory.Status", 1,
	    "{\"categoryState\":\"succeeded\",\"subcategoryState\":[{\"subcategoryId\":"
	    "\"DevicePreparation.MdmEnrollmentSubcategory\",\"subcategoryState\":\"succeeded\"}]}",
	    51);
	apd_test_ck_regtext(o, PROV "\\AutopilotSettings", "ZtdRegistrationPolicies", 7,
	    "[\"https://ztd.dds.microsoft.com/ztd/device/AutopilotDeviceBootstrapPolicies\","
	    "\"https://ztd.dds.microsoft.com/ztd/device/AutopilotDeviceEnrollmentPolicies\","
	    "\"Contoso ?ffice\"]", 52);
	apd_test_ck_regtext(o, PROV "\\AutopilotSettings", "InstallPath", 2,
	    "%ProgramData%\\Microsoft\\IntuneManagementExtension", 53);
	/* Windows-1252 bytes E9 and FC */
	apd_test_ck_regtext(o, PROV "\\AutopilotSettings", "OwnerDisplay", 1,
	    "Ren\xC3\xA9 M\xC3\xBCller", 54);
	apd_test_ck_regint(o, PROV "\\AutopilotSettings", "LastErrorCode", 11, 0x8000000000000005ull,
	    55);

	/* §5.1 ESP tracking */
	apd_test_ck_regint(o, ESP "\\Device\\Setup", "HasProvisioningCompleted", 4, 0, 58);
	apd_test_ck_regint(o, ESP "\\Device\\Setup\\Apps\\Tracking\\Sidecar\\" APP, "InstallationState",
	    4, 4, 61);
	apd_test_ck_regtext(o, ESP "\\Device\\Setup\\Apps\\Tracking\\Sidecar\\" APP, "TrackingUri", 1,
	    "./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar/" APP, 63);
	apd_test_ck_regint(o,
	    ESP "\\ESPTrackingInfo\\Diagnostics\\Sidecar\\2024-03-14T09:20:11.4012345Z",
	    "./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar/" APP, 4, 4,
	    66);
	r = apd_test_must_regval(o, "software\\microsoft\\windows\\currentversion\\useroobe",
	    "RetailDemoMode");
	ck_assert_str_eq(r->hive, "HKCU");
	ck_assert_uint_eq(r->line, 69);
}

START_TEST(test_mdmregdump_fixture)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&MDMREGDUMP, DUMP, &o, &err), APD_OK);
	check_dump(&o);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmregdump_blocks)
{
	static const size_t blocks[] = { 1, 2, 13, 100, 4095 };

	apd_test_src_in_blocks(&DUMP_REG, DUMP, blocks, sizeof(blocks) / sizeof(blocks[0]), APD_OK,
	    check_dump);
}
END_TEST

/* Names and strings are not escaped: quotes and backslashes are literal. */
START_TEST(test_mdmregdump_unescaped)
{
	static const char in[] =
	    "[HKEY_LOCAL_MACHINE\\software\\test]\r\n"                    /* 1 */
	    "    \"a\"b\"=DWORD:00000001\r\n"                             /* 2 */
	    "    \"C:\\Path\\\"=DWORD:00000002\r\n"                       /* 3 */
	    "    \"x\"=\"y\"=\"z\"\r\n"                                   /* 4 */
	    "    \"weird\"=name\"=\"v\"\r\n"                              /* 5 */
	    "    \"path\"=\"C:\\Temp\\\"\r\n"                             /* 6 */
	    "\t\"tab\"=dword:0000000a\r\n"                                /* 7 */
	    "\"noindent\"=Qword:ff\r\n"                                   /* 8 */
	    " \"one\"=HEX(3):01,02\r\n"                                   /* 9 */
	    "    @=DWORD:00000003\r\n"                                    /* 10 */
	    "    \"quote\"=\"\"\"\r\n"                                    /* 11 */
	    "    \"multi1\"=MULTI_SZ:\"a\",\"b\"\r\n"                     /* 12 */
	    "    \"multi2\"=MULTI_SZ:\"a\" \"b\"\r\n"                     /* 13 */
	    "    \"multi3\"=MULTI_SZ:\"a\"\"b\"\r\n"                      /* 14 */
	    "    \"multi4\"=MULTI_SZ:\"x\"y\", \"z\";\r\n"                /* 15 */
	    "    \"multi5\"=MULTI_SZ:\r\n"                                /* 16 */
	    "    \"multi6\"=MULTI_SZ:\"\"\r\n"                            /* 17 */
	    "    \"multi7\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"     /* 18 */
	    "    \"wrapped\"=hex(3):01,02,\\\r\n"                         /* 19 */
	    "      03\r\n"                                                /* 20 */
	    "    \"be\"=hex(5):00,00,00,2a\r\n"                           /* 21 */
	    "    \"none\"=hex(0):\r\n";                                   /* 22 */
	static const char k[] = "software\\test";
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_regval *r;

	ck_assert_int_eq(apd_test_parse_buf(&MDMREGDUMP, in, sizeof(in) - 1, NULL, 0, &o, &err),
	    APD_OK);
	apd_test_ck_regint(&o, k, "a\"b", 4, 1, 2);
	apd_test_ck_regint(&o, k, "C:\\Path\\", 4, 2, 3);
	apd_test_ck_regtext(&o, k, "x", 1, "y\"=\"z", 4);
	apd_test_ck_regtext(&o, k, "weird\"=name", 1, "v", 5);
	apd_test_ck_regtext(&o, k, "path", 1, "C:\\Temp\\", 6);
	apd_test_ck_regint(&o, k, "tab", 4, 10, 7);
	apd_test_ck_regint(&o, k, "noindent", 11, 255, 8);
	r = apd_test_must_regval(&o, k, "one");
	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_uint_eq(r->blob_len, 2);
	apd_test_ck_regint(&o, k, "", 4, 3, 10);
	apd_test_ck_regtext(&o, k, "quote", 1, "\"", 11);
	apd_test_ck_regtext(&o, k, "multi1", 7, "[\"a\",\"b\"]", 12);
	apd_test_ck_regtext(&o, k, "multi2", 7, "[\"a\",\"b\"]", 13);
	apd_test_ck_regtext(&o, k, "multi3", 7, "[\"a\",\"b\"]", 14);
	apd_test_ck_regtext(&o, k, "multi4", 7, "[\"x\\\"y\",\"z\"]", 15);
	apd_test_ck_regtext(&o, k, "multi5", 7, "[]", 16);
	apd_test_ck_regtext(&o, k, "multi6", 7, "[\"\"]", 17);
	apd_test_ck_regtext(&o, k, "multi7", 7, "[\"a\",\"b\"]", 18);
	r = apd_test_must_regval(&o, k, "wrapped");
	ck_assert_uint_eq(r->blob_len, 3);
	ck_assert_mem_eq(r->blob, "\x01\x02\x03", 3);
	ck_assert_uint_eq(r->line, 19);
	apd_test_ck_regint(&o, k, "be", 5, 42, 21);
	r = apd_test_must_regval(&o, k, "none");
	ck_assert_int_eq(r->type, 0);
	ck_assert_uint_eq(r->blob_len, 0);
	ck_assert_uint_eq(o.nrv, 1 + 20);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmregdump_malformed_lines)
{
	static const char in[] =
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\test]\r\n"     /* 1 */
	    "    \"Good1\"=DWORD:00000001\r\n"                        /* 2 */
	    "    \"BadDword\"=DWORD:0000000g\r\n"                     /* 3 */
	    "    \"TooLong\"=DWORD:000000001\r\n"                     /* 4 */
	    "    \"NoClose\"=\"abc\r\n"                               /* 5 */
	    "    \"Unknown\"=SZ:abc\r\n"                              /* 6 */
	    "    this is not a value\r\n"                             /* 7 */
	    "    \"BadHex\"=hex(3):01,0g\r\n"                         /* 8 */
	    "    \"BadMulti\"=MULTI_SZ:\"a\",b\r\n"                   /* 9 */
	    "    \"Good2\"=\"ok\"\r\n"                                /* 10 */
	    "    \"BadQword\"=QWORD:12345678901234567\r\n"            /* 11 */
	    "    \"Trailing\"=\"x\" y\r\n"                            /* 12 */
	    "    @=SZ\r\n"                                            /* 13 */
	    "    \"NoEq\"\r\n"                                        /* 14 */
	    "[HKEY_LOCAL_MACHINE\\software\\microsoft\\test\\sub]\r\n" /* 15 */
	    "    \"Good3\"=QWORD:ffffffffffffffff\r\n"                /* 16 */
	    "[HKEY_CLASSES_ROOT_TYPO\\x]\r\n"                          /* 17 */
	    "    \"Lost\"=DWORD:00000001\r\n";                        /* 18 */
	static const struct apd_test_want_warn want[] = {
		{ 3, "bad DWORD value" }, { 4, "bad DWORD value" },
		{ 5, "without a closing quote" },
		{ 6, "unknown value type 'SZ:abc'" }, { 7, "unexpected text" },
		{ 8, "expected ',' between bytes" }, { 9, "bad MULTI_SZ" }, { 11, "bad QWORD" },
		{ 12, "text after the string" }, { 13, "unknown value type 'SZ'" },
		{ 14, "expected '\"='" }, { 17, "unknown registry root" },
	};
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_buf(&MDMREGDUMP, in, sizeof(in) - 1, NULL, 0, &o, &err),
	    APD_WARN);
	apd_test_ck_warnings(&o, want, sizeof(want) / sizeof(want[0]));
	ck_assert_str_eq(o.warns[0].value, "line 3: bad DWORD value 'DWORD:0000000g'");
	apd_test_ck_regint(&o, "software\\microsoft\\test", "Good1", 4, 1, 2);
	apd_test_ck_regtext(&o, "software\\microsoft\\test", "Good2", 1, "ok", 10);
	apd_test_ck_regint(&o, "software\\microsoft\\test\\sub", "Good3", 11, UINT64_MAX, 16);
	ck_assert_uint_eq(o.nrv, 2 + 3);
	apd_test_out_free(&o);
}
END_TEST

/* Byte offset just past `text` in buf, or 0. */
static size_t
after(const unsigned char *buf, size_t n, const char *text)
{
	const unsigned char *q = apd_memmem(buf, n, text, strlen(text));

	return q ? (size_t)(q - buf) + strlen(text) : 0;
}

START_TEST(test_mdmregdump_truncated)
{
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n, at;

	buf = apd_test_slurp_src(DUMP, &n);
	/* cut in the middle of the Timestamp's hex data (line 21) */
	at = after(buf, n, "\"Timestamp\"=hex(3):80,d6,6b");
	ck_assert_uint_gt(at, 0);
	ck_assert_int_eq(apd_test_parse_buf(&MDMREGDUMP, buf, at, NULL, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(apd_test_warned_at(&o, 21, "last line skipped as cut"));
	ck_assert_ptr_null(apd_test_find_regval(&o, ENR "\\FirstSync\\" SID, "Timestamp"));
	ck_assert_ptr_nonnull(apd_test_find_regkey(&o, ENR "\\FirstSync\\" SID));
	apd_test_ck_regint(&o, ENR "\\FirstSync", "IsServerProvisioningDone", 4, 1, 18);
	apd_test_out_free(&o);

	/* cut in a DWORD: "DWORD:0000" would read as 0 if the cut went unnoticed */
	at = after(buf, n, "\"SkipUserStatusPage\"=DWORD:ffff");
	ck_assert_uint_gt(at, 0);
	ck_assert_int_eq(apd_test_parse_buf(&MDMREGDUMP, buf, at, NULL, 0, &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 16, "last line skipped as cut"));
	ck_assert_ptr_null(apd_test_find_regval(&o, ENR "\\FirstSync", "SkipUserStatusPage"));
	apd_test_out_free(&o);

	/* cut after a complete line: nothing is lost, nothing to warn about */
	at = after(buf, n, "\"SkipUserStatusPage\"=DWORD:ffffffff\r\n");
	ck_assert_int_eq(apd_test_parse_buf(&MDMREGDUMP, buf, at, NULL, 0, &o, &err), APD_OK);
	apd_test_ck_regint(&o, ENR "\\FirstSync", "SkipUserStatusPage", 4, 0xffffffffu, 16);
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

START_TEST(test_mdmregdump_binary_garbage)
{
	unsigned char buf[4096];
	struct apd_test_out o;
	struct apd_error err;

	apd_test_junk(buf, sizeof(buf), 3);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_mdmregdump, buf, sizeof(buf),
	    "cab/MdmDiagReport_RegistryDump.reg", &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "cab/MdmDiagReport_RegistryDump.reg"));
	ck_assert_ptr_nonnull(strstr(err.msg, "not a registry dump"));
	ck_assert_uint_eq(o.nrv, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmregdump_not_registry_text)
{
	char in[2048];
	struct apd_test_out o;
	struct apd_error err;
	size_t n = 0;
	int i;

	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%d: some log text\r\n", i);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_mdmregdump, in, n, "cab/notes.reg", &o,
	    &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "cab/notes.reg:16: not a registry dump"));
	apd_test_out_free(&o);

	/* an empty dump is not an error */
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_mdmregdump, "\r\n", 2, "e.reg", &o, &err),
	    APD_OK);
	ck_assert_uint_eq(o.nrv, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmregdump_line_limit)
{
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;

	/* lines 31 (PolicyJsonCache, 458 bytes) and 53 (InstallPath, 324) pass 300 */
	apd_limits_default(&lim);
	lim.max_line = 300;
	ck_assert_int_eq(apd_test_parse_src_mem(&DUMP_REG, DUMP, &lim, 0, &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 31, "longer than 300 bytes: skipped"));
	ck_assert(apd_test_warned_at(&o, 53, "longer than 300 bytes: skipped"));
	ck_assert_uint_eq(o.nwarns, 2);
	ck_assert_ptr_null(apd_test_find_regval(&o, PROV "\\autopilotpolicycache", "PolicyJsonCache"));
	ck_assert_ptr_null(apd_test_find_regval(&o, PROV "\\AutopilotSettings", "InstallPath"));
	apd_test_ck_regint(&o, PROV "\\autopilotpolicycache", "ProfileAvailable", 4, 1, 32);
	apd_test_ck_regint(&o, PROV "\\AutopilotSettings", "LastErrorCode", 11, 0x8000000000000005ull,
	    55);
	ck_assert_uint_eq(o.nrv, 14 + 40);
	apd_test_out_free(&o);

	/* at 160 the key line 60 (165 bytes) is cut too: its three values go with it */
	lim.max_line = 160;
	ck_assert_int_eq(apd_test_parse_src_mem(&DUMP_REG, DUMP, &lim, 0, &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 51, "longer than 160 bytes: skipped"));
	ck_assert(apd_test_warned_at(&o, 52, "longer than 160 bytes: skipped"));
	ck_assert(apd_test_warned_at(&o, 60, "with the values of its key"));
	ck_assert_uint_eq(o.nwarns, 5);
	ck_assert_ptr_null(apd_test_find_regkey(&o,
	    ESP "\\Device\\Setup\\Apps\\Tracking\\Sidecar\\" APP));
	ck_assert_ptr_null(apd_test_find_regval(&o,
	    ESP "\\Device\\Setup\\Apps\\Tracking\\Sidecar\\" APP, "InstallationState"));
	apd_test_ck_regint(&o, ESP "\\Device\\Setup", "HasProvisioningCompleted", 4, 0, 58);
	apd_test_ck_regint(&o, "software\\microsoft\\windows\\currentversion\\useroobe",
	    "RetailDemoMode", 4, 0, 69);
	ck_assert_uint_eq(o.nrv, 13 + 35);
	apd_test_out_free(&o);

	/* hex data over max_record is skipped: Timestamp has 8 bytes, InstallPath 98 */
	apd_limits_default(&lim);
	lim.max_record = 7;
	ck_assert_int_eq(apd_test_parse_src_mem(&DUMP_REG, DUMP, &lim, 0, &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 21, "'Timestamp' is larger than 7 bytes"));
	ck_assert(apd_test_warned_at(&o, 53, "'InstallPath' is larger than 7 bytes"));
	ck_assert_uint_eq(o.nwarns, 2);
	apd_test_out_free(&o);
	lim.max_record = 8;
	ck_assert_int_eq(apd_test_parse_src_mem(&DUMP_REG, DUMP, &lim, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert_uint_eq(apd_test_must_regval(&o, ENR "\\FirstSync\\" SID, "Timestamp")->blob_len, 8);
	apd_test_out_free(&o);
}
END_TEST

/* No text value keeps a NUL inside (e.g. a terminator left in). */
START_TEST(test_mdmregdump_text_without_nul)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src_mem(&DUMP_REG, DUMP, NULL, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nrv_text_nul, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_mdmregdump_bid)
{
	static const char head[] = "\r\n[hkey_local_machine\\software\\microsoft\\enrollments]\r\n";
	struct apd_probe pr = { (const unsigned char *)head, sizeof(head) - 1, "dump.txt",
		"dump.txt", (int64_t)sizeof(head) - 1 };
	unsigned char u16[64];
	int bid;

	ck_assert_str_eq(apd_test_bid_file(apd_test_src(DUMP), &bid), "mdmregdump");
	ck_assert_int_eq(bid, 64);
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), 48);   /* any case, without the name */
	ck_assert_int_eq(apd_parser_regexport.bid(&pr), -1);
	pr.head = (const unsigned char *)"[HKEY_CURRENT_USER\\software]\r\n";
	pr.len = 30;
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), 48);
	pr.head = (const unsigned char *)"[HKEY_USERS\\x]\r\n";   /* not a root it dumps */
	pr.len = 16;
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), -1);
	pr.name = "MdmDiagReport_RegistryDump.reg";   /* the name alone is a hint */
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), 16);
	pr.head = (const unsigned char *)"\xEF\xBB\xBF[HKEY_LOCAL_MACHINE\\x]\r\n";   /* a BOM */
	pr.len = 27;
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), -1);
	/* UTF-16 is reg.exe's, not the collector's */
	memset(u16, 0, sizeof(u16));
	memcpy(u16, "\xFF\xFE[\0H\0K\0E\0Y\0_\0", 14);
	pr.head = u16;
	pr.len = sizeof(u16);
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), -1);
}
END_TEST

static Suite *
mdmregdump_suite(void)
{
	Suite *s = suite_create("mdmregdump");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_mdmregdump_fixture);
	tcase_add_test(core, test_mdmregdump_blocks);
	tcase_add_test(core, test_mdmregdump_unescaped);
	tcase_add_test(core, test_mdmregdump_text_without_nul);
	tcase_add_test(core, test_mdmregdump_bid);
	tcase_add_test(errors, test_mdmregdump_malformed_lines);
	tcase_add_test(errors, test_mdmregdump_truncated);
	tcase_add_test(errors, test_mdmregdump_binary_garbage);
	tcase_add_test(errors, test_mdmregdump_not_registry_text);
	tcase_add_test(limits, test_mdmregdump_line_limit);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return apd_test_run(mdmregdump_suite());
}
