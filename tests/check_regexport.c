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

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ALL_TYPES "tests/data/regexport/export-all-types.reg"
#define REGEDIT4  "tests/data/regexport/regedit4-ansi.reg"
#define HAND_UTF8 "tests/data/regexport/hand-edited-utf8.reg"
#define IME       "SOFTWARE\\Microsoft\\IntuneManagementExtension"

extern const struct apd_parser apd_parser_regexport;
extern const struct apd_parser apd_parser_mdmregdump;

/*
 * A value by key and name, both case-insensitive.  Unlike
 * apd_test_find_regval() this skips the key rows, whose name is absent
 * (strcasecmp() on their NULL name would crash).
 */
static const struct apd_test_regval *
find_rv(const struct apd_test_out *o, const char *key, const char *name)
{
	size_t i;

	for (i = 0; i < o->nrv; i++)
		if (o->rv[i].name && strcasecmp(o->rv[i].key, key) == 0 &&
		    strcasecmp(o->rv[i].name, name) == 0)
			return &o->rv[i];
	return NULL;
}

/* The row of a key line (name absent), or NULL. */
static const struct apd_test_regval *
find_key(const struct apd_test_out *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->nrv; i++)
		if (o->rv[i].name == NULL && strcasecmp(o->rv[i].key, key) == 0)
			return &o->rv[i];
	return NULL;
}

static size_t
count_keys(const struct apd_test_out *o)
{
	size_t i, n = 0;

	for (i = 0; i < o->nrv; i++)
		n += o->rv[i].name == NULL;
	return n;
}

/* Was a warning emitted for this line whose text contains `part`? */
static int
warned(const struct apd_test_out *o, uint64_t line, const char *part)
{
	size_t i;

	for (i = 0; i < o->nwarns; i++)
		if (o->warns[i].line == line && strstr(o->warns[i].value, part))
			return 1;
	return 0;
}

/* Assert a value that must be present and return it. */
static const struct apd_test_regval *
must(const struct apd_test_out *o, const char *key, const char *name)
{
	const struct apd_test_regval *r = find_rv(o, key, name);

	ck_assert_msg(r != NULL, "value '%s' of '%s' not found", name, key);
	return r;
}

static void
ck_text(const struct apd_test_out *o, const char *key, const char *name, int type,
    const char *want, uint64_t line)
{
	const struct apd_test_regval *r = must(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_TEXT);
	ck_assert_int_eq(r->type, type);
	ck_assert_ptr_nonnull(r->text);
	ck_assert_str_eq(r->text, want);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

static void
ck_int(const struct apd_test_out *o, const char *key, const char *name, int type,
    uint64_t want, uint64_t line)
{
	const struct apd_test_regval *r = must(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_INT);
	ck_assert_int_eq(r->type, type);
	ck_assert_uint_eq((uint64_t)r->num, want);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

static void
ck_blob(const struct apd_test_out *o, const char *key, const char *name, int type,
    const void *want, size_t n, uint64_t line)
{
	const struct apd_test_regval *r = must(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_int_eq(r->type, type);
	ck_assert_uint_eq(r->blob_len, n);
	if (n)
		ck_assert_mem_eq(r->blob, want, n);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

/* Parse a buffer with the default limits; returns the parser's code. */
static int
parse_mem(const void *p, size_t n, struct apd_test_out *o, struct apd_error *err)
{
	apd_test_out_init(o);
	return apd_test_parse_mem(&apd_parser_regexport, p, n, "mem.reg", o, err);
}

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
	ck_assert_uint_eq(count_keys(o), 4);
	ck_assert_uint_eq(o->nrv, 4 + 24);
	for (i = 0; i < o->nrv; i++)
		ck_assert_str_eq(o->rv[i].hive, "HKLM");

	r = find_key(o, IME);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->line, 3);
	ck_assert_int_eq(r->type, 0);
	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_uint_eq(r->blob_len, 0);
	r = find_key(o, IME "\\Win32Apps");   /* a key without values is kept */
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->line, 54);

	ck_text(o, IME, "", 1, "Intune Management Extension", 4);
	ck_text(o, IME, "AgentVersion", 1, "1.93.102.0", 5);
	ck_text(o, IME, "Empty", 1, "", 6);
	ck_text(o, IME, "Path \"quoted\" \\ name", 1,
	    "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\ \"x\"", 7);
	ck_int(o, IME, "LogLevel", 4, 10, 8);
	ck_int(o, IME, "AllOnes", 4, 0xffffffffu, 9);
	ck_blob(o, IME, "DwordNoData", 4, NULL, 0, 10);   /* a DWORD without data stays raw */
	ck_blob(o, IME, "Sig", 3, sig, sizeof(sig), 11);
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)i;
	ck_blob(o, IME, "Blob", 3, blob, sizeof(blob), 12);
	ck_blob(o, IME, "None", 0, NULL, 0, 17);
	ck_blob(o, IME, "NoneData", 0, fe, sizeof(fe), 18);
	ck_text(o, IME, "Unicode", 1, "h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC", 19);
	ck_text(o, IME, "InstallDir", 2,
	    "%ProgramFiles(x86)%\\Microsoft Intune Management Extension", 20);
	ck_int(o, IME, "BigEndian", 5, 258, 25);
	ck_text(o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
	ck_text(o, IME, "TrackedApps", 7,
	    "[\"Win32App_8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\","
	    "\"Win32App_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0_3\","
	    "\"\xC3\x9C" "berwachung \xE2\x82\xAC\","
	    "\"./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar\","
	    "\"C:\\\\Windows\\\\IMECache \\\"quoted\\\"\"]", 29);
	ck_text(o, IME, "MultiEmpty", 7, "[]", 47);
	ck_blob(o, IME, "ResList", 8, res, sizeof(res), 48);
	ck_blob(o, IME, "FullRes", 9, full, sizeof(full), 49);
	ck_blob(o, IME, "ReqList", 10, req, sizeof(req), 50);
	ck_int(o, IME, "QwordHigh", 11, 0x8000000000000001ull, 51);   /* above 2^63 */
	ck_int(o, IME, "LastSync", 11, 0x01DA7F9A2B5C6D7Eull, 52);
	ck_text(o, IME "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\"
	    "8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\\ComplianceStateMessage",
	    "ComplianceStateMessage", 1,
	    "{\"Applicability\":0,\"ComplianceState\":4,\"DesiredState\":2,"
	    "\"ErrorCode\":-2016345060,\"TargetingMethod\":0,\"InstallContext\":2,"
	    "\"TargetType\":2,\"ProductVersion\":null,\"AssignmentFilterIds\":null}", 57);
	ck_text(o, IME "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\"
	    "8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1\\EnforcementStateMessage",
	    "EnforcementStateMessage", 1,
	    "{\"EnforcementState\":5000,\"ErrorCode\":-2016345060,\"TargetingMethod\":0}", 60);
}

START_TEST(test_regexport_all_types)
{
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_regexport, apd_test_src(ALL_TYPES), &o,
	    &err), APD_OK);
	check_all_types(&o);
	apd_test_out_free(&o);
}
END_TEST

/* The UTF-16 line reader sees the file in blocks of every awkward size. */
START_TEST(test_regexport_blocks)
{
	static const size_t blocks[] = { 1, 3, 7, 64, 4095 };
	struct apd_test_out o;
	struct apd_error err;
	unsigned char *buf;
	size_t n, i;

	buf = apd_test_slurp(apd_test_src(ALL_TYPES), &n);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		apd_test_out_init(&o);
		ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, buf, n,
		    "export-all-types.reg", NULL, blocks[i], &o, &err), APD_OK);
		check_all_types(&o);
		apd_test_out_free(&o);
	}
	free(buf);
}
END_TEST

START_TEST(test_regexport_regedit4)
{
	static const char key[] = "SOFTWARE\\Contoso\\Legacy";
	struct apd_test_out o;
	struct apd_error err;

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_regexport, apd_test_src(REGEDIT4), &o,
	    &err), APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	ck_assert_uint_eq(o.nrv, 5);
	ck_text(&o, key, "Owner", 1, "Ren\xC3\xA9 M\xC3\xBCller \xE2\x82\xAC", 4);
	/* REGEDIT4 writes string data in hex() as 8-bit text, not UTF-16 */
	ck_text(&o, key, "Path", 2, "%SystemRoot%\\temp", 5);
	ck_text(&o, key, "List", 7, "[\"alpha\",\"beta\"]", 6);
	ck_int(&o, key, "Count", 4, 3, 7);
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

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_regexport, apd_test_src(HAND_UTF8), &o,
	    &err), APD_WARN);
	ck_text(&o, "Software\\Contoso", "Name", 1, "Wert \xC3\xA4\xC3\xB6\xC3\xBC", 5);
	ck_assert_str_eq(must(&o, "Software\\Contoso", "Name")->hive, "HKCU");
	ck_text(&o, "Software\\Contoso", "Sz1", 1, "OK", 6);
	ck_blob(&o, "Software\\Contoso", "Bin3", 3, two, sizeof(two), 7);
	ck_int(&o, "Software\\Contoso", "Dw4", 4, 42, 8);
	ck_blob(&o, "Software\\Contoso", "Type27", 27, one, sizeof(one), 9);
	/* a backslash that escapes nothing is kept as written */
	ck_text(&o, "Software\\Contoso", "Unescaped", 1, "C:\\Windows\\Temp", 10);
	ck_assert_ptr_null(find_rv(&o, "Software\\Contoso", "Removed"));
	ck_assert(warned(&o, 11, "deletion of value 'Removed'"));
	ck_assert(warned(&o, 13, "key deletion"));
	ck_assert_ptr_null(find_key(&o, "SOFTWARE\\Contoso\\Old"));
	ck_int(&o, "S-1-5-18\\Software\\Contoso", "", 4, 1, 16);
	ck_assert_str_eq(must(&o, "S-1-5-18\\Software\\Contoso", "")->hive, "HKU");
	ck_text(&o, ".reg", "", 1, "regfile", 19);
	ck_assert_str_eq(must(&o, ".reg", "")->hive, "HKCR");
	r = find_key(&o, cc);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->hive, "HKCC");   /* "hkey_current_config" */
	ck_int(&o, cc, "Upper", 4, 2, 22);
	ck_blob(&o, cc, "HexUpper", 3, hx, sizeof(hx), 23);
	ck_int(&o, cc, "QwordMixed", 11, 1, 24);
	ck_text(&o, cc, "Indented", 1, "spaces around =", 25);
	/* the key runs to the last ']' */
	ck_text(&o, "SOFTWARE\\Odd]Name", "a", 1, "b", 28);
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
	static const struct { uint64_t line; const char *part; } want[] = {
		{ 5, "bad dword" }, { 6, "expected '='" }, { 7, "expected '='" },
		{ 8, "not a hex digit" }, { 9, "unknown value type" }, { 10, "unexpected text" },
		{ 12, "text after the string" }, { 13, "bad dword" },
		{ 14, "unknown registry root" },
		{ 16, "without a closing ']'" }, { 20, "'BadWrap' ends at line 21" },
	};
	struct apd_test_out o;
	struct apd_error err;
	size_t i;

	ck_assert_int_eq(parse_mem(in, sizeof(in) - 1, &o, &err), APD_WARN);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(warned(&o, want[i].line, want[i].part), "no warning '%s' at line %u",
		    want[i].part, (unsigned)want[i].line);
	ck_assert_uint_eq(o.nwarns, sizeof(want) / sizeof(want[0]));
	ck_assert_str_eq(o.warns[0].value, "line 5: bad dword value 'dword:xyz'");
	ck_int(&o, "SOFTWARE\\Test", "Good1", 4, 1, 4);
	ck_text(&o, "SOFTWARE\\Test", "Good2", 1, "still here", 11);
	ck_int(&o, "SOFTWARE\\Test3", "Good3", 11, 2, 19);
	ck_text(&o, "SOFTWARE\\Test3", "Good4", 1, "after a cut value", 21);
	ck_assert_ptr_null(find_rv(&o, "Foo", "Lost"));
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Open", "Lost2"));
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Test3", "BadWrap"));
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

	buf = apd_test_slurp(apd_test_src(ALL_TYPES), &n);
	ck_assert_ptr_nonnull(buf);
	/* cut inside the third line of TrackedApps (line 31), after "  2d,00,34,00,65," */
	at = u16_find(buf, n, "  2d,00,34,00,65,");
	ck_assert_uint_gt(at, 0);
	at += 2 * strlen("  2d,00,34,00,65,");
	ck_assert_int_eq(parse_mem(buf, at, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned(&o, 31, "inside value 'TrackedApps' (line 29)"));
	ck_assert_ptr_null(find_rv(&o, IME, "TrackedApps"));
	ck_text(&o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
	ck_int(&o, IME, "BigEndian", 5, 258, 25);

	/* cut right after a ",\" line end: the file ends where more data was due */
	apd_test_out_free(&o);
	at = u16_find(buf, n, "  2d,00,34,00,65,");
	ck_assert_int_eq(parse_mem(buf, at, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned(&o, 29, "file ends in the middle of value 'TrackedApps'"));
	ck_assert_ptr_null(find_rv(&o, IME, "TrackedApps"));
	ck_text(&o, IME, "SymLink", 6, "\\Registry\\Machine\\Software\\Classes", 26);
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

	buf = apd_test_slurp(apd_test_src(ALL_TYPES), &n);
	ck_assert_ptr_nonnull(buf);
	at = u16_find(buf, n, "\"AllOnes\"=dword:ff");   /* line 9 */
	ck_assert_uint_gt(at, 0);
	at += 2 * strlen("\"AllOnes\"=dword:ff") + 1;   /* half a character more */
	ck_assert_uint_eq(at & 1, 1);
	ck_assert_int_eq(parse_mem(buf, at, &o, &err), APD_WARN);
	ck_assert(warned(&o, 9, "last line skipped as cut"));
	ck_assert(warned(&o, 9, "middle of a UTF-16 character"));
	ck_assert_uint_eq(o.nwarns, 2);
	ck_assert_ptr_null(find_rv(&o, IME, "AllOnes"));
	ck_int(&o, IME, "LogLevel", 4, 10, 8);
	ck_assert_uint_eq(o.nrv, 1 + 5);
	apd_test_out_free(&o);
	free(buf);
}
END_TEST

/* Deterministic junk with NUL and control bytes. */
static void
junk(unsigned char *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

START_TEST(test_regexport_binary_garbage)
{
	unsigned char buf[4096];
	struct apd_test_out o;
	struct apd_error err;

	junk(buf, sizeof(buf), 1);
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
	ck_assert(warned(&o, 5, "longer than 64 bytes"));
	ck_assert(warned(&o, 7, "with the values of its key"));
	ck_assert(warned(&o, 10, "longer than 64 bytes"));
	ck_assert_uint_eq(o.nwarns, 3);
	ck_text(&o, "SOFTWARE\\Lim", "Short", 1, "ok", 4);
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Lim", "Long"));
	ck_int(&o, "SOFTWARE\\Lim", "After", 4, 7, 6);
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Lim", "Lost"));
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Lim2", "Wrapped"));
	/* line 11 continues the cut line 10: skipped quietly */
	ck_blob(&o, "SOFTWARE\\Lim2", "Small", 3, "\x01\x02", 2, 12);
	apd_test_out_free(&o);

	/* a hex value over max_record is skipped; one at the limit is kept */
	lim.max_line = 1024;
	lim.max_record = 25;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, in, n, "lim.reg", &lim, 0,
	    &o, &err), APD_WARN);
	ck_assert(warned(&o, 10, "'Wrapped' is larger than 25 bytes"));
	ck_assert_ptr_null(find_rv(&o, "SOFTWARE\\Lim2", "Wrapped"));
	ck_blob(&o, "SOFTWARE\\Lim2", "Small", 3, "\x01\x02", 2, 12);
	apd_test_out_free(&o);
	lim.max_record = 26;
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(&apd_parser_regexport, in, n, "lim.reg", &lim, 0,
	    &o, &err), APD_OK);
	ck_assert_uint_eq(must(&o, "SOFTWARE\\Lim2", "Wrapped")->blob_len, 26);
	apd_test_out_free(&o);
}
END_TEST

/* A sink failure stops the parser, which passes the code up. */
static int
fail_regval(void *ud, const struct apd_regval *rv)
{
	(void)ud;
	(void)rv;
	return APD_FATAL;
}

START_TEST(test_regexport_sink_stop)
{
	static const struct apd_sink_vtable vt = { .regval = fail_regval };
	struct apd_sink sink = { &vt, NULL };
	struct apd_mem_src m;
	struct apd_stream st;
	struct apd_limits lim;
	struct apd_error err;
	struct apd_parse ps;
	unsigned char *buf;
	size_t n;

	buf = apd_test_slurp(apd_test_src(ALL_TYPES), &n);
	ck_assert_ptr_nonnull(buf);
	m.p = buf;
	m.n = n;
	m.block = 0;
	apd_limits_default(&lim);
	apd_error_clear(&err);
	ck_assert_int_eq(apd_stream_open(&st, apd_mem_block, &m, "x.reg", (int64_t)n, 1 << 20,
	    &err), APD_OK);
	ps.in = &st;
	ps.sink = &sink;
	ps.lim = &lim;
	ps.path = "x.reg";
	ps.name = "x.reg";
	ps.err = &err;
	ck_assert_int_eq(apd_parser_regexport.run(&ps), APD_FATAL);
	ck_assert_str_eq(err.msg, "");   /* the sink's code is passed up, not explained */
	apd_stream_close(&st);
	free(buf);
}
END_TEST

/* A sink that counts text values with a NUL inside (e.g. a terminator left in). */
static int
nul_regval(void *ud, const struct apd_regval *rv)
{
	if (rv->kind == APD_RV_TEXT && memchr(rv->text.p, '\0', rv->text.n) != NULL)
		++*(int *)ud;
	return APD_OK;
}

START_TEST(test_regexport_text_without_nul)
{
	static const struct apd_sink_vtable vt = { .regval = nul_regval };
	static const char *const files[] = { ALL_TYPES, REGEDIT4, HAND_UTF8 };
	struct apd_sink sink = { &vt, NULL };
	struct apd_fd_src fs;
	struct apd_stream st;
	struct apd_limits lim;
	struct apd_error err;
	struct apd_parse ps;
	const char *path;
	size_t i;
	int bad = 0, fd, rc;

	apd_limits_default(&lim);
	sink.ud = &bad;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = apd_test_src(files[i]);
		fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(apd_fd_src_init(&fs, fd, path), APD_OK);
		ck_assert_int_eq(apd_stream_open(&st, apd_fd_block, &fs, path, -1, 1 << 20, &err),
		    APD_OK);
		ps.in = &st;
		ps.sink = &sink;
		ps.lim = &lim;
		ps.path = path;
		ps.name = path;
		ps.err = &err;
		rc = apd_parser_regexport.run(&ps);
		ck_assert(rc == APD_OK || rc == APD_WARN);
		apd_stream_close(&st);
		apd_fd_src_done(&fs);
		close(fd);
	}
	ck_assert_int_eq(bad, 0);
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
	junk(buf, sizeof(buf), 7);
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
