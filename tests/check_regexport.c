/*
 * check_regexport.c - the reg.exe / regedit EXPORT parser (apd_parse_regexport.c).
 *
 * Fixtures in tests/data/regexport/:
 *   export-all-types.reg   UTF-16LE + BOM, CRLF, wrapped as regedit wraps, every
 *                          value type (make-export-all-types.py writes it)
 *   regedit4-ansi.reg      REGEDIT4, Windows-1252, hex(2)/hex(7) as 8-bit strings
 *   hand-edited-utf8.reg   UTF-8 + BOM, LF, every root, deletions, odd spellings
 * Damaged inputs (cut files, binary data, overlong lines) are made from
 * these in memory.
 */
#include "apd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_TYPES "tests/data/regexport/export-all-types.reg"
#define REGEDIT4  "tests/data/regexport/regedit4-ansi.reg"
#define HAND_UTF8 "tests/data/regexport/hand-edited-utf8.reg"
#define IME       "SOFTWARE\\Microsoft\\IntuneManagementExtension"

extern const struct apd_parser apd_parser_regexport;
extern const struct apd_parser apd_parser_mdmregdump;

/* Buffers are parsed as "mem.reg"; a fixture read into memory keeps its own name. */
static const struct apd_test_input REGEXPORT = { &apd_parser_regexport, "mem.reg" };
static const struct apd_test_input REGEXPORT_FILE = { &apd_parser_regexport, NULL };

/* Every value of export-all-types.reg, decoded (shared by the block-size test). */
static void
check_all_types(const struct apd_test_out *o)
{
	static const unsigned char fe[] = { 0xde, 0xad, 0xbe, 0xef };
	static const unsigned char sig[] = { 1, 2, 0xff };
	static const unsigned char res[] = { 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0 };
	static const unsigned char full[] = { 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 3, 0, 0, 0 };
	static const unsigned char req[] = { 0x20, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0 };
	const struct apd_test_regval *r;
	unsigned char blob[100];
	size_t i;

	ck_assert_uint_eq(o->nwarns, 0);
	ck_assert_uint_eq(apd_test_count_regkeys(o), 4);
	ck_assert_uint_eq(o->nrv, 4 + 24);
	for (i = 0; i < o->nrv; i++)
		ck_assert_str_eq(o->rv[i].hive, "HKLM");

	r = apd_test_find_regkey(o, IME);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->line, 3);
	ck_assert_int_eq(r->type, 0);
	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_uint_eq(r->blob_len, 0);
	r = apd_test_find_regkey(o, IME "\\Win32Apps");   /* a key without values is kept */
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->line, 54);

	apd_test_ck_regtext(o, IME, "", 1, "Intune Management Extension", 4);
	apd_test_ck_regtext(o, IME, "AgentVersion", 1, "1.93.102.0", 5);
	apd_test_ck_regtext(o, IME, "Empty", 1, "", 6);
	apd_test_ck_regtext(o, IME, "Path \"quoted\" \\ name", 1,
	    "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\ \"x\"", 7);
	apd_test_ck_regint(o, IME, "LogLevel", 4, 10, 8);
	apd_test_ck_regint(o, IME, "AllOnes", 4, 0xffffffffu, 9);
	/* a DWORD without data stays raw */
	apd_test_ck_regblob(o, IME, "DwordNoData", 4, NULL, 0, 10);
	apd_test_ck_regblob(o, IME, "Sig", 3, sig, sizeof(sig), 11);
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)i;
	apd_test_ck_regblob(o, IME, "Blob", 3, blob, sizeof(blob), 12);
	apd_test_ck_regblob(o, IME, "None", 0, NULL, 0, 17);
	apd_test_ck_regblob(o, IME, "NoneData", 0, fe, sizeof(fe), 18);
	apd_test_ck_regtext(o, IME, "Unicode", 1, "h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC", 19);
	apd_test_ck_regtext(o, IME, "InstallDir", 2,
	    "%ProgramFiles(x86)%\\Microsoft Intune Management Extension", 20);
	apd_test_ck_regint(o, IME, "BigEndian", 5, 258, 25);
	apd_test_ck_regtext(o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
	apd_test_ck_regtext(o, IME, "TrackedApps", 7,
	    "[\"Win32App_8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\","
	    "\"Win32App_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0_3\","
	    "\"\xC3\x9C" "berwachung \xE2\x82\xAC\","
	    "\"./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar\","
	    "\"C:\\\\Windows\\\\IMECache \\\"quoted\\\"\"]", 29);
	apd_test_ck_regtext(o, IME, "MultiEmpty", 7, "[]", 47);
	apd_test_ck_regblob(o, IME, "ResList", 8, res, sizeof(res), 48);
	apd_test_ck_regblob(o, IME, "FullRes", 9, full, sizeof(full), 49);
	apd_test_ck_regblob(o, IME, "ReqList", 10, req, sizeof(req), 50);
	apd_test_ck_regint(o, IME, "QwordHigh", 11, 0x8000000000000001ull, 51);   /* above 2^63 */
	apd_test_ck_regint(o, IME, "LastSync", 11, 0x01DA7F9A2B5C6D7Eull, 52);
	apd_test_ck_regtext(o, IME "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\"
	    "8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\\ComplianceStateMessage",
	    "ComplianceStateMessage", 1,
	    "{\"Applicability\":0,\"ComplianceState\":4,\"DesiredState\":2,"
	    "\"ErrorCode\":-2016345060,\"TargetingMethod\":0,\"InstallContext\":2,"
	    "\"TargetType\":2,\"ProductVersion\":null,\"AssignmentFilterIds\":null}", 57);
	apd_test_ck_regtext(o, IME "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\"
	    "8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\\EnforcementStateMessage",
	    "EnforcementStateMessage", 1,
	    "{\"EnforcementState\":5000,\"ErrorCode\":-2016345060,\"TargetingMethod\":0}", 60);
}

START_TEST(test_regexport_all_types)
{
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&REGEXPORT, ALL_TYPES, &o, &err), APD_OK);
	check_all_types(&o);
	apd_test_out_free(&o);
}
END_TEST

/* The UTF-16 line reader sees the file in blocks of every awkward size. */
START_TEST(test_regexport_blocks)
{
	static const size_t blocks[] = { 1, 3, 7, 64, 4095 };

	apd_test_src_in_blocks(&REGEXPORT_FILE, ALL_TYPES, blocks, sizeof(blocks) / sizeof(blocks[0]),
	    APD_OK, check_all_types);
}
END_TEST

START_TEST(test_regexport_regedit4)
{
	static const char key[] = "SOFTWARE\\Contoso\\Legacy";
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_src(&REGEXPORT, REGEDIT4, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	ck_assert_uint_eq(o.nrv, 5);
	apd_test_ck_regtext(&o, key, "Owner", 1, "Ren\xC3\xA9 M\xC3\xBCller \xE2\x82\xAC", 4);
	/* REGEDIT4 writes string data in hex() as 8-bit text, not UTF-16 */
	apd_test_ck_regtext(&o, key, "Path", 2, "%SystemRoot%\\temp", 5);
	apd_test_ck_regtext(&o, key, "List", 7, "[\"alpha\",\"beta\"]", 6);
	apd_test_ck_regint(&o, key, "Count", 4, 3, 7);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_regexport_hand_edited)
{
	static const unsigned char two[] = { 0x0a, 0x0b }, one[] = { 1 }, hx[] = { 1, 2 };
	static const char cc[] = "System\\CurrentControlSet\\Control";
	struct apd_test_out o;
	struct apd_error err;
	const struct apd_test_regval *r;

	ck_assert_int_eq(apd_test_parse_src(&REGEXPORT, HAND_UTF8, &o, &err), APD_WARN);
	apd_test_ck_regtext(&o, "Software\\Contoso", "Name", 1, "Wert \xC3\xA4\xC3\xB6\xC3\xBC", 5);
	ck_assert_str_eq(apd_test_must_regval(&o, "Software\\Contoso", "Name")->hive, "HKCU");
	apd_test_ck_regtext(&o, "Software\\Contoso", "Sz1", 1, "OK", 6);
	apd_test_ck_regblob(&o, "Software\\Contoso", "Bin3", 3, two, sizeof(two), 7);
	apd_test_ck_regint(&o, "Software\\Contoso", "Dw4", 4, 42, 8);
	apd_test_ck_regblob(&o, "Software\\Contoso", "Type27", 27, one, sizeof(one), 9);
	/* a backslash that escapes nothing is kept as written */
	apd_test_ck_regtext(&o, "Software\\Contoso", "Unescaped", 1, "C:\\Windows\\Temp", 10);
	ck_assert_ptr_null(apd_test_find_regval(&o, "Software\\Contoso", "Removed"));
	ck_assert(apd_test_warned_at(&o, 11, "deletion of value 'Removed'"));
	ck_assert(apd_test_warned_at(&o, 13, "key deletion"));
	ck_assert_ptr_null(apd_test_find_regkey(&o, "SOFTWARE\\Contoso\\Old"));
	apd_test_ck_regint(&o, "S-1-5-18\\Software\\Contoso", "", 4, 1, 16);
	ck_assert_str_eq(apd_test_must_regval(&o, "S-1-5-18\\Software\\Contoso", "")->hive, "HKU");
	apd_test_ck_regtext(&o, ".reg", "", 1, "regfile", 19);
	ck_assert_str_eq(apd_test_must_regval(&o, ".reg", "")->hive, "HKCR");
	r = apd_test_find_regkey(&o, cc);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->hive, "HKCC");   /* "hkey_current_config" */
	apd_test_ck_regint(&o, cc, "Upper", 4, 2, 22);
	apd_test_ck_regblob(&o, cc, "HexUpper", 3, hx, sizeof(hx), 23);
	apd_test_ck_regint(&o, cc, "QwordMixed", 11, 1, 24);
	apd_test_ck_regtext(&o, cc, "Indented", 1, "spaces around =", 25);
	/* the key runs to the last ']' */
	apd_test_ck_regtext(&o, "SOFTWARE\\Odd]Name", "a", 1, "b", 28);
	ck_assert_uint_eq(o.nwarns, 2);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_regexport_malformed_lines)
{
	static const char in[] =
	    "Windows Registry Editor Version 5.00\r\n"          /* 1 */
	    "\r\n"                                                /* 2 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Test]\r\n"            /* 3 */
	    "\"Good1\"=dword:00000001\r\n"                        /* 4 */
	    "\"BadDword\"=dword:xyz\r\n"                          /* 5 */
	    "\"Unterminated=\"abc\r\n"                            /* 6 */
	    "\"NoEquals\" \"x\"\r\n"                              /* 7 */
	    "\"BadHex\"=hex:01,zz,03\r\n"                         /* 8 */
	    "\"BadType\"=qword:0000000000000001\r\n"              /* 9 */
	    "garbage line\r\n"                                    /* 10 */
	    "\"Good2\"=\"still here\"\r\n"                        /* 11 */
	    "\"Trailing\"=\"x\" y\r\n"                            /* 12 */
	    "\"LongDword\"=dword:000000001\r\n"                   /* 13 */
	    "[HKEY_NOWHERE\\Foo]\r\n"                             /* 14 */
	    "\"Lost\"=\"dropped quietly\"\r\n"                    /* 15 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Open\r\n"             /* 16 */
	    "\"Lost2\"=\"dropped quietly\"\r\n"                   /* 17 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Test3]\r\n"           /* 18 */
	    "\"Good3\"=hex(b):02,00,00,00,00,00,00,00\r\n"        /* 19 */
	    "\"BadWrap\"=hex:01,\\\r\n"                           /* 20 */
	    "\"Good4\"=\"after a cut value\"\r\n";                /* 21 */
	static const struct apd_test_want_warn want[] = {
		{ 5, "bad dword" }, { 6, "expected '='" }, { 7, "expected '='" },
		{ 8, "not a hex digit" }, { 9, "unknown value type" }, { 10, "unexpected text" },
		{ 12, "text after the string" }, { 13, "bad dword" },
		{ 14, "unknown registry root" },
		{ 16, "without a closing ']'" }, { 20, "'BadWrap' ends at line 21" },
	};
	struct apd_test_out o;
	struct apd_error err;

	ck_assert_int_eq(apd_test_parse_buf(&REGEXPORT, in, sizeof(in) - 1, NULL, 0, &o, &err),
	    APD_WARN);
	apd_test_ck_warnings(&o, want, sizeof(want) / sizeof(want[0]));
	ck_assert_str_eq(o.warns[0].value, "line 5: bad dword value 'dword:xyz'");
	apd_test_ck_regint(&o, "SOFTWARE\\Test", "Good1", 4, 1, 4);
	apd_test_ck_regtext(&o, "SOFTWARE\\Test", "Good2", 1, "still here", 11);
	apd_test_ck_regint(&o, "SOFTWARE\\Test3", "Good3", 11, 2, 19);
	apd_test_ck_regtext(&o, "SOFTWARE\\Test3", "Good4", 1, "after a cut value", 21);
	ck_assert_ptr_null(apd_test_find_regval(&o, "Foo", "Lost"));
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Open", "Lost2"));
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Test3", "BadWrap"));
	/* 2 usable keys, 4 good values */
	ck_assert_uint_eq(o.nrv, 6);
	apd_test_out_free(&o);
}
END_TEST

/* Byte offset of an ASCII text written as UTF-16LE in buf, or 0. */
static size_t
u16_find(const unsigned char *buf, size_t n, const char *ascii)
{
	size_t i, k, m = strlen(ascii);

	for (i = 0; i + 2 * m <= n; i += 2) {
		for (k = 0; k < m; k++)
			if (buf[i + 2 * k] != (unsigned char)ascii[k] || buf[i + 2 * k + 1] != 0)
				break;
		if (k == m)
			return i;
	}
	return 0;
}

START_TEST(test_regexport_truncated_mid_continuation)
{
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n, at;

	buf = apd_test_slurp_src(ALL_TYPES, &n);
	/* cut inside the third line of TrackedApps (line 31), after "  2d,00,34,00,65," */
	at = u16_find(buf, n, "  2d,00,34,00,65,");
	ck_assert_uint_gt(at, 0);
	at += 2 * strlen("  2d,00,34,00,65,");
	ck_assert_int_eq(apd_test_parse_buf(&REGEXPORT, buf, at, NULL, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(apd_test_warned_at(&o, 31, "inside value 'TrackedApps' (line 29)"));
	ck_assert_ptr_null(apd_test_find_regval(&o, IME, "TrackedApps"));
	apd_test_ck_regtext(&o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
	apd_test_ck_regint(&o, IME, "BigEndian", 5, 258, 25);

	/* cut right after a ",\" line end: the file ends where more data was due */
	apd_test_out_free(&o);
	at = u16_find(buf, n, "  2d,00,34,00,65,");
	ck_assert_int_eq(apd_test_parse_buf(&REGEXPORT, buf, at, NULL, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(apd_test_warned_at(&o, 29, "file ends in the middle of value 'TrackedApps'"));
	ck_assert_ptr_null(apd_test_find_regval(&o, IME, "TrackedApps"));
	apd_test_ck_regtext(&o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

START_TEST(test_regexport_utf16_odd_byte)
{
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n, at;

	buf = apd_test_slurp_src(ALL_TYPES, &n);
	at = u16_find(buf, n, "\"AllOnes\"=dword:ff");   /* line 9 */
	ck_assert_uint_gt(at, 0);
	at += 2 * strlen("\"AllOnes\"=dword:ff") + 1;   /* half a character more */
	ck_assert_uint_eq(at & 1, 1);
	ck_assert_int_eq(apd_test_parse_buf(&REGEXPORT, buf, at, NULL, 0, &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 9, "last line skipped as cut"));
	ck_assert(apd_test_warned_at(&o, 9, "middle of a UTF-16 character"));
	ck_assert_uint_eq(o.nwarns, 2);
	ck_assert_ptr_null(apd_test_find_regval(&o, IME, "AllOnes"));
	apd_test_ck_regint(&o, IME, "LogLevel", 4, 10, 8);
	ck_assert_uint_eq(o.nrv, 1 + 5);
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

START_TEST(test_regexport_binary_garbage)
{
	unsigned char buf[4096];
	struct apd_test_out o;
	struct apd_error err;

	apd_test_junk(buf, sizeof(buf), 1);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport, buf, sizeof(buf),
	    "bundle/garbage.reg", &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "bundle/garbage.reg"));
	ck_assert_ptr_nonnull(strstr(err.msg, "not a registry export"));
	ck_assert_uint_eq(o.nrv, 0);
	apd_test_out_free(&o);

	/* a UTF-16 BOM in front of junk does not make it a registry file */
	buf[0] = 0xFF;
	buf[1] = 0xFE;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport, buf, sizeof(buf),
	    "bundle/bom-garbage.reg", &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "bundle/bom-garbage.reg"));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_regexport_not_registry_text)
{
	char in[2048];
	struct apd_test_out o;
	struct apd_error err;
	size_t n = 0;
	int i;

	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "This is line %d of a README.\r\n",
		    i);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport, in, n, "docs/README.reg", &o,
	    &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "docs/README.reg:16:"));
	ck_assert_uint_eq(o.nrv, 0);
	apd_test_out_free(&o);

	/* a short text file with no key at all */
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport, "hello\nworld\n", 12, "x.reg",
	    &o, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "x.reg:2: not a registry export"));
	apd_test_out_free(&o);

	/* an export of nothing is fine */
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport,
	    "Windows Registry Editor Version 5.00\r\n\r\n", 40, "empty.reg", &o, &err), APD_OK);
	ck_assert_uint_eq(o.nrv, 0);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_regexport_line_limit)
{
	char in[4096];
	struct apd_limits lim;
	struct apd_test_out o;
	struct apd_error err;
	size_t n;

	n = (size_t)snprintf(in, sizeof(in),
	    "REGEDIT4\r\n\r\n"                                      /* 1, 2 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Lim]\r\n"                /* 3 */
	    "\"Short\"=\"ok\"\r\n"                                   /* 4 */
	    "\"Long\"=\"%0100d\"\r\n"                                /* 5: 110 bytes */
	    "\"After\"=dword:00000007\r\n"                           /* 6 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\%080d]\r\n"              /* 7: a cut key */
	    "\"Lost\"=dword:00000001\r\n"                            /* 8 */
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Lim2]\r\n"               /* 9 */
	    "\"Wrapped\"=hex:01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,"
	    "13,14,15,16,17,18,\\\r\n"
	    "  19,1a\r\n"                                            /* 10, 11 */
	    "\"Small\"=hex:01,02\r\n",                               /* 12 */
	    0, 0);
	apd_limits_default(&lim);
	lim.max_line = 64;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, in, n, "lim.reg", &lim, 0,
	    &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 5, "longer than 64 bytes"));
	ck_assert(apd_test_warned_at(&o, 7, "with the values of its key"));
	ck_assert(apd_test_warned_at(&o, 10, "longer than 64 bytes"));
	ck_assert_uint_eq(o.nwarns, 3);
	apd_test_ck_regtext(&o, "SOFTWARE\\Lim", "Short", 1, "ok", 4);
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Lim", "Long"));
	apd_test_ck_regint(&o, "SOFTWARE\\Lim", "After", 4, 7, 6);
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Lim", "Lost"));
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Lim2", "Wrapped"));
	/* line 11 continues the cut line 10: skipped quietly */
	apd_test_ck_regblob(&o, "SOFTWARE\\Lim2", "Small", 3, "\x01\x02", 2, 12);
	apd_test_out_free(&o);

	/* a hex value over max_record is skipped; one at the limit is kept */
	lim.max_line = 1024;
	lim.max_record = 25;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, in, n, "lim.reg", &lim, 0,
	    &o, &err), APD_WARN);
	ck_assert(apd_test_warned_at(&o, 10, "'Wrapped' is larger than 25 bytes"));
	ck_assert_ptr_null(apd_test_find_regval(&o, "SOFTWARE\\Lim2", "Wrapped"));
	apd_test_ck_regblob(&o, "SOFTWARE\\Lim2", "Small", 3, "\x01\x02", 2, 12);
	apd_test_out_free(&o);
	lim.max_record = 26;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, in, n, "lim.reg", &lim, 0,
	    &o, &err), APD_OK);
	ck_assert_uint_eq(apd_test_must_regval(&o, "SOFTWARE\\Lim2", "Wrapped")->blob_len, 26);
	apd_test_out_free(&o);
}
END_TEST

/* A sink failure stops the parser, which passes the code up. */
START_TEST(test_regexport_sink_stop)
{
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n;

	buf = apd_test_slurp_src(ALL_TYPES, &n);
	apd_test_out_init(&o);
	o.stop_after_regvals = 1;   /* the sink fails on the first row */
	ck_assert_int_eq(apd_test_parse_mem(&apd_parser_regexport, buf, n, "x.reg", &o, &err),
	    APD_FATAL);
	ck_assert_str_eq(err.msg, "");   /* the sink's code is passed up, not explained */
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* No text value keeps a NUL inside (e.g. a terminator left in). */
START_TEST(test_regexport_text_without_nul)
{
	static const char *const files[] = { ALL_TYPES, REGEDIT4, HAND_UTF8 };
	struct apd_test_out o;
	struct apd_error err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		rc = apd_test_parse_src(&REGEXPORT, files[i], &o, &err);
		ck_assert(rc == APD_OK || rc == APD_WARN);
		ck_assert_uint_eq(o.nrv_text_nul, 0);
		apd_test_out_free(&o);
	}
}
END_TEST

START_TEST(test_regexport_bid)
{
	static const char r4[] = "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n";
	unsigned char buf[512];
	struct apd_probe pr = { buf, sizeof(buf), "junk.reg", "junk.reg", sizeof(buf) };
	int bid;

	ck_assert_str_eq(apd_test_bid_file(apd_test_src(ALL_TYPES), &bid), "regexport");
	ck_assert_int_eq(bid, 80);
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(REGEDIT4), &bid), "regexport");
	ck_assert_int_eq(bid, 64);
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(HAND_UTF8), &bid), "regexport");
	ck_assert_int_eq(bid, 56);
	/* neither registry parser bids on binary data */
	apd_test_junk(buf, sizeof(buf), 7);
	ck_assert_int_eq(apd_parser_regexport.bid(&pr), -1);
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), -1);
	/* nor does the dump parser bid on an export */
	pr.len = strlen(r4);
	memcpy(buf, r4, pr.len);
	ck_assert_int_eq(apd_parser_regexport.bid(&pr), 64);
	ck_assert_int_eq(apd_parser_mdmregdump.bid(&pr), -1);
	memcpy(buf, "REGEDIT4x", 9);   /* not the header */
	pr.len = 9;
	ck_assert_int_eq(apd_parser_regexport.bid(&pr), -1);
}
END_TEST

static Suite *
regexport_suite(void)
{
	Suite *s = suite_create("regexport");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");
	TCase *limits = tcase_create("Limits");

	tcase_add_test(core, test_regexport_all_types);
	tcase_add_test(core, test_regexport_blocks);
	tcase_add_test(core, test_regexport_regedit4);
	tcase_add_test(core, test_regexport_hand_edited);
	tcase_add_test(core, test_regexport_text_without_nul);
	tcase_add_test(core, test_regexport_bid);
	tcase_add_test(errors, test_regexport_malformed_lines);
	tcase_add_test(errors, test_regexport_truncated_mid_continuation);
	tcase_add_test(errors, test_regexport_utf16_odd_byte);
	tcase_add_test(errors, test_regexport_binary_garbage);
	tcase_add_test(errors, test_regexport_not_registry_text);
	tcase_add_test(errors, test_regexport_sink_stop);
	tcase_add_test(limits, test_regexport_line_limit);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return apd_test_run(regexport_suite());
}
