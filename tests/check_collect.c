/*
 * check_collect.c - the collector's pieces (collect/): the reg.exe writer
 * read back through the regexport parser, value by value and type by type;
 * globs and case-insensitive paths; redaction tokens; and a whole
 * collection whose source file changes while it is being copied (through
 * the copy hook, which the end-to-end script cannot reach).
 */
#include "apd_test.h"
#include "apd_text.h"
#include "collect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct apd_parser apd_parser_regexport;

/* ---- the .reg writer ---- */

static size_t
u16(const char *s, unsigned char *out, bool nul)
{
	struct apd_buf b;
	size_t n;

	apd_buf_init(&b, 1 << 20);
	ck_assert_int_eq(apd_utf8_to_utf16le(&b, s, strlen(s)), APD_OK);
	n = b.n;
	memcpy(out, b.p, n);
	if (nul) {
		out[n++] = 0;
		out[n++] = 0;
	}
	apd_buf_done(&b);
	return n;
}

START_TEST(test_regw_round_trip)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_regw w;
	unsigned char d[4096], big[1000];
	const struct apd_test_regval *r;
	const char *key = "SOFTWARE\\Microsoft\\IntuneManagementExtension\\Ünïcode \"q\"";
	char sha[65], line[512];
	size_t n, i;
	FILE *f;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	f = fopen(apd_test_tpath("out.reg"), "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(apd_regw_open(&w, f, NULL), APD_OK);
	ck_assert_int_eq(apd_regw_key(&w, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\"
	    "IntuneManagementExtension\\Ünïcode \"q\""), APD_OK);
	n = u16("default", d, true);
	ck_assert_int_eq(apd_regw_value(&w, "", 1, d, n), APD_OK);
	n = u16("C:\\path \"quoted\" \xe2\x9c\x93 tab\t.", d, true);
	ck_assert_int_eq(apd_regw_value(&w, "Name \"with\" \\ quotes", 1, d, n), APD_OK);
	n = u16("no terminator", d, false);
	ck_assert_int_eq(apd_regw_value(&w, "SzNoNul", 1, d, n), APD_OK);
	n = u16("two\r\nlines", d, true);
	ck_assert_int_eq(apd_regw_value(&w, "SzNewline", 1, d, n), APD_OK);
	n = u16("%SystemRoot%\\x", d, true);
	ck_assert_int_eq(apd_regw_value(&w, "Expand", 2, d, n), APD_OK);
	memcpy(d, "a\0\0\0b\0c\0\0\0\0\0", 12);
	ck_assert_int_eq(apd_regw_value(&w, "Multi", 7, d, 12), APD_OK);
	memcpy(d, "\x0a\x00\x00\x00", 4);
	ck_assert_int_eq(apd_regw_value(&w, "Dword", 4, d, 4), APD_OK);
	ck_assert_int_eq(apd_regw_value(&w, "DwordShort", 4, d, 2), APD_OK);
	memcpy(d, "\x08\x07\x06\x05\x04\x03\x02\xf1", 8);
	ck_assert_int_eq(apd_regw_value(&w, "Qword", 11, d, 8), APD_OK);
	ck_assert_int_eq(apd_regw_value(&w, "Binary", 3, big, sizeof(big)), APD_OK);
	ck_assert_int_eq(apd_regw_value(&w, "Empty", 3, NULL, 0), APD_OK);
	ck_assert_int_eq(apd_regw_value(&w, "None", 0, NULL, 0), APD_OK);
	ck_assert_int_eq(apd_regw_value(&w, "Odd type", 0x1234, "\x01\x02", 2), APD_OK);
	ck_assert_int_eq(apd_regw_key(&w, "HKEY_USERS\\S-1-5-21-1\\Software\\Empty key"), APD_OK);
	ck_assert_int_eq(apd_regw_close(&w, sha), APD_OK);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(strlen(sha), 64);

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_regexport, apd_test_tpath("out.reg"), &o,
	    &err), APD_OK);
	ck_assert_uint_eq(o.nwarns, 0);
	ck_assert_uint_eq(apd_test_count_regkeys(&o), 2);
	ck_assert_ptr_nonnull(apd_test_find_regkey(&o, "S-1-5-21-1\\Software\\Empty key"));
	apd_test_ck_regtext(&o, key, "", 1, "default", 0);
	apd_test_ck_regtext(&o, key, "Name \"with\" \\ quotes", 1,
	    "C:\\path \"quoted\" \xe2\x9c\x93 tab\t.", 0);
	apd_test_ck_regtext(&o, key, "SzNoNul", 1, "no terminator", 0);
	apd_test_ck_regtext(&o, key, "SzNewline", 1, "two\r\nlines", 0);
	apd_test_ck_regtext(&o, key, "Expand", 2, "%SystemRoot%\\x", 0);
	apd_test_ck_regtext(&o, key, "Multi", 7, "[\"a\",\"bc\"]", 0);
	apd_test_ck_regint(&o, key, "Dword", 4, 10, 0);
	apd_test_ck_regblob(&o, key, "DwordShort", 4, "\x0a\x00", 2, 0);
	apd_test_ck_regint(&o, key, "Qword", 11, 0xf102030405060708ull, 0);
	apd_test_ck_regblob(&o, key, "Binary", 3, big, sizeof(big), 0);
	apd_test_ck_regblob(&o, key, "Empty", 3, NULL, 0, 0);
	apd_test_ck_regblob(&o, key, "None", 0, NULL, 0, 0);
	apd_test_ck_regblob(&o, key, "Odd type", 0x1234, "\x01\x02", 2, 0);
	r = apd_test_must_regval(&o, key, "Binary");
	ck_assert_uint_eq(r->blob_len, sizeof(big));
	apd_test_out_free(&o);

	/* BOM, header, and reg.exe's wrapping: no line longer than 80 characters */
	{
		size_t fn;
		unsigned char *raw = apd_test_slurp(apd_test_tpath("out.reg"), &fn);
		struct apd_buf t;
		char *p, *save = NULL;
		ck_assert_ptr_nonnull(raw);
		ck_assert_int_eq(raw[0], 0xFF);
		ck_assert_int_eq(raw[1], 0xFE);
		apd_buf_init(&t, 1 << 20);
		ck_assert_int_eq(apd_utf16_to_utf8(&t, raw + 2, fn - 2, false), APD_OK);
		{
			static const char head[] = "Windows Registry Editor Version 5.00\r\n\r\n"
			    "[HKEY_LOCAL_MACHINE\\";
			ck_assert(strncmp(t.p, head, sizeof(head) - 1) == 0);
		}
		for (p = strtok_r(t.p, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			snprintf(line, sizeof(line), "%s", p);
			ck_assert_msg(strlen(p) <= 81, "line too long: %s", line);
		}
		apd_buf_done(&t);
		free(raw);
	}
}
END_TEST

/* A redacted REG_SZ / MULTI_SZ: the UPN goes, the rest stays. */
START_TEST(test_regw_redacts_strings)
{
	struct apd_test_out o;
	struct apd_error err;
	struct apd_redact rd = { 0 };
	struct apd_regw w;
	unsigned char d[512];
	char sha[65];
	size_t n;
	FILE *f = fopen(apd_test_tpath("r.reg"), "wb");

	ck_assert_int_eq(apd_regw_open(&w, f, &rd), APD_OK);
	ck_assert_int_eq(apd_regw_key(&w, "HKEY_LOCAL_MACHINE\\SOFTWARE\\E"), APD_OK);
	n = u16("Jane.Doe@contoso.example", d, true);
	ck_assert_int_eq(apd_regw_value(&w, "UPN", 1, d, n), APD_OK);
	n = u16("C:\\Users\\jdoe\\x", d, true);
	d[n++] = 0;
	d[n++] = 0;
	ck_assert_int_eq(apd_regw_value(&w, "M", 7, d, n), APD_OK);
	ck_assert_int_eq(apd_regw_close(&w, sha), APD_OK);
	fclose(f);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(&apd_parser_regexport, apd_test_tpath("r.reg"), &o,
	    &err), APD_OK);
	ck_assert(strncmp(apd_test_must_regval(&o, "SOFTWARE\\E", "UPN")->text, "user-", 5) == 0);
	ck_assert(strstr(apd_test_must_regval(&o, "SOFTWARE\\E", "UPN")->text,
	    "@redacted.invalid") != NULL);
	ck_assert(strstr(apd_test_must_regval(&o, "SOFTWARE\\E", "M")->text, "jdoe") == NULL);
	ck_assert(strstr(apd_test_must_regval(&o, "SOFTWARE\\E", "M")->text, "\\\\Users\\\\user-") !=
	    NULL);
	ck_assert_uint_eq(rd.replaced, 2);
	apd_test_out_free(&o);
}
END_TEST

/* ---- globs, paths, redaction ---- */

START_TEST(test_glob)
{
	ck_assert(apd_glob_match("*.etl", "Trace.ETL"));
	ck_assert(apd_glob_match("*.etl*", "x.etl.merged"));
	ck_assert(apd_glob_match("CloudExperienceHostOobe.etl.*", "cloudexperiencehostoobe.etl.001"));
	ck_assert(apd_glob_match("DeviceHash_*.csv", "DeviceHash_SN1.csv"));
	ck_assert(apd_glob_match("?b*", "ab"));
	ck_assert(apd_glob_match("*", ""));
	ck_assert(!apd_glob_match("*.etl", "x.etl.001"));
	ck_assert(!apd_glob_match("a?c", "ac"));
	ck_assert(!apd_glob_match("", "a"));
}
END_TEST

START_TEST(test_ci_resolve)
{
	char *p;

	ck_assert_int_eq(mkdir(apd_test_tpath("Windows"), 0755), 0);
	ck_assert_int_eq(mkdir(apd_test_tpath("Windows/SYSTEM32"), 0755), 0);
	apd_test_write_file(apd_test_tpath("Windows/SYSTEM32/File.TXT"), "x", 1);
	p = apd_ci_resolve(apd_test_tmpdir(), "windows\\System32\\file.txt");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, apd_test_tpath("Windows/SYSTEM32/File.TXT"));
	free(p);
	errno = 0;
	ck_assert_ptr_null(apd_ci_resolve(apd_test_tmpdir(), "windows\\nope\\file.txt"));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

static char *
redact(const char *in, struct apd_redact *rd)
{
	struct apd_buf b;
	char *s;

	apd_buf_init(&b, 1 << 20);
	ck_assert_int_eq(apd_redact_text(rd, in, strlen(in), &b), APD_OK);
	s = strdup(b.p ? b.p : "");
	apd_buf_done(&b);
	return s;
}

START_TEST(test_redact)
{
	struct apd_redact rd = { 0 };
	char *a, *b, *c, *d;

	a = redact("user Jane.Doe@Contoso.example signed in", &rd);
	b = redact("UPN=jane.doe@contoso.EXAMPLE;", &rd);
	ck_assert(strstr(a, "Contoso") == NULL);
	ck_assert(strncmp(a, "user user-", 10) == 0);
	/* the same address in another case gives the same token */
	ck_assert(strncmp(a + 5, b + 4, 10 + 5 + 17) == 0);
	c = redact("C:\\Users\\John Smith\\AppData and /Users/jdoe/x and C:\\Users\\Public\\x", &rd);
	ck_assert(strstr(c, "John") == NULL);
	ck_assert(strstr(c, "jdoe") == NULL);
	ck_assert(strstr(c, "\\Users\\Public\\x") != NULL);
	d = redact("not an address: a@b, x@localhost, 2@3.45, @home", &rd);
	ck_assert_str_eq(d, "not an address: a@b, x@localhost, 2@3.45, @home");
	ck_assert_uint_eq(rd.replaced, 4);
	free(a);
	free(b);
	free(c);
	free(d);
}
END_TEST

/* ---- a file that changes while it is copied ---- */

struct hook {
	const char *path;
	int calls;
	int change_first;   /* change only during the first n copies */
};

static void
append_hook(void *ud, const char *orig, uint64_t copied)
{
	struct hook *h = ud;
	FILE *f;

	(void)copied;
	if (strstr(orig, "grow.log") == NULL)
		return;
	h->calls++;
	if (h->change_first && h->calls > h->change_first)
		return;
	f = fopen(h->path, "ab");
	ck_assert_ptr_nonnull(f);
	fputs("one more line\r\n", f);
	fclose(f);
}

static const char PROFILE[] =
	"<profile name=\"t\" version=\"1\">"
	"<files id=\"logs\" path=\"ProgramData\\Logs\\*\"/>"
	"<registry id=\"reg\" key=\"HKLM\\SOFTWARE\\X\" optional=\"yes\"/>"
	"</profile>";

static int
collect_tree(struct hook *h, struct apd_collect_result *res, char *manifest, size_t mcap)
{
	struct apd_collect_opts o;
	struct apd_error err;
	static char root[512], out[512], prof[512], grow[512];
	char cmd[1024];
	FILE *p;
	size_t n;
	int rc;

	mkdir(apd_test_tpath("vol"), 0755);
	mkdir(apd_test_tpath("vol/Windows"), 0755);
	mkdir(apd_test_tpath("vol/ProgramData"), 0755);
	mkdir(apd_test_tpath("vol/ProgramData/Logs"), 0755);
	mkdir(apd_test_tpath("out"), 0755);
	apd_test_write_file(apd_test_tpath("vol/ProgramData/Logs/grow.log"), "first\r\n", 7);
	apd_test_write_file(apd_test_tpath("vol/ProgramData/Logs/still.log"), "still\r\n", 7);
	apd_test_write_file(apd_test_tpath("profile.xml"), PROFILE, sizeof(PROFILE) - 1);
	snprintf(grow, sizeof(grow), "%s", apd_test_tpath("vol/ProgramData/Logs/grow.log"));
	h->path = grow;
	memset(&o, 0, sizeof(o));
	snprintf(root, sizeof(root), "%s", apd_test_tpath("vol"));
	snprintf(out, sizeof(out), "%s", apd_test_tpath("out/b.tar"));
	snprintf(prof, sizeof(prof), "%s", apd_test_tpath("profile.xml"));
	o.root = root;
	o.out = out;
	o.fmt = APD_AF_TAR;
	o.profile_path = prof;
	o.copy_hook = append_hook;
	o.copy_hook_ud = h;
	apd_error_clear(&err);
	rc = apd_collect_run(&o, res, &err);
	ck_assert_msg(rc == APD_OK || rc == APD_WARN, "collect: %s", err.msg);
	snprintf(cmd, sizeof(cmd), "bsdtar -xOf '%s' manifest.json", o.out);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(manifest, 1, mcap - 1, p);
	manifest[n] = '\0';
	pclose(p);
	return rc;
}

START_TEST(test_changing_file)
{
	struct apd_collect_result res;
	struct apd_verify_result vr;
	struct apd_error err;
	struct hook h = { NULL, 0, 0 };
	static char m[1 << 16];

	ck_assert_int_eq(collect_tree(&h, &res, m, sizeof(m)), APD_WARN);
	ck_assert_int_eq(h.calls, 3);   /* three copies, each one saw the file change */
	ck_assert_uint_eq(res.items, 2);
	ck_assert_uint_eq(res.failed, 1);
	ck_assert_ptr_nonnull(strstr(m, "\"kind\":\"changed\""));
	ck_assert_ptr_nonnull(strstr(m, "\"changed_during_copy\":true"));
	/* the bundle holds the last copy, and its hash is the hash of what is there */
	apd_error_clear(&err);
	ck_assert_int_eq(apd_verify_archive(apd_test_tpath("out/b.tar"), NULL, NULL, &vr, &err),
	    APD_OK);
	ck_assert_uint_eq(vr.checked, 2);
}
END_TEST

START_TEST(test_changing_file_settles)
{
	struct apd_collect_result res;
	struct hook h = { NULL, 0, 1 };
	static char m[1 << 16];

	/* changed during the first copy only: the second copy is kept, no gap */
	ck_assert_int_eq(collect_tree(&h, &res, m, sizeof(m)), APD_OK);
	ck_assert_int_eq(h.calls, 2);
	ck_assert_uint_eq(res.failed, 0);
	ck_assert_ptr_null(strstr(m, "\"kind\":\"changed\""));
	ck_assert_ptr_nonnull(strstr(m, "\"size\":22"));   /* "first\r\n" + one line */
}
END_TEST

/* Nothing is left beside the output when the profile is unreadable. */
START_TEST(test_bad_profile_leaves_nothing)
{
	struct apd_collect_opts o;
	struct apd_collect_result res;
	struct apd_error err;
	static char root[512], out[512], prof[512];

	mkdir(apd_test_tpath("vol"), 0755);
	mkdir(apd_test_tpath("vol/Windows"), 0755);
	mkdir(apd_test_tpath("out"), 0755);
	apd_test_write_file(apd_test_tpath("profile.xml"), "<profile><files id=\"X\"/></profile>",
	    34);
	memset(&o, 0, sizeof(o));
	snprintf(root, sizeof(root), "%s", apd_test_tpath("vol"));
	snprintf(out, sizeof(out), "%s", apd_test_tpath("out/b.cab"));
	snprintf(prof, sizeof(prof), "%s", apd_test_tpath("profile.xml"));
	o.root = root;
	o.out = out;
	o.profile_path = prof;
	apd_error_clear(&err);
	ck_assert_int_eq(apd_collect_run(&o, &res, &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "needs an id"));
	ck_assert_int_eq(rmdir(apd_test_tpath("out")), 0);   /* still empty */
}
END_TEST

/* Redaction that grows the text five-fold, over several blocks, in 8-bit and UTF-16 logs. */
START_TEST(test_redact_dense)
{
	static const char prof[] = "<profile name=\"t\" version=\"1\">"
		"<files id=\"logs\" path=\"ProgramData\\Logs\\*\"/></profile>";
	static char root[512], out[512], pp[512];
	struct apd_collect_opts o;
	struct apd_collect_result res;
	struct apd_error err;
	struct apd_buf b, w;
	size_t i;

	mkdir(apd_test_tpath("vol"), 0755);
	mkdir(apd_test_tpath("vol/Windows"), 0755);
	mkdir(apd_test_tpath("vol/ProgramData"), 0755);
	mkdir(apd_test_tpath("vol/ProgramData/Logs"), 0755);
	mkdir(apd_test_tpath("out"), 0755);
	apd_buf_init(&b, (size_t)8 << 20);
	for (i = 0; i < 200000; i++)   /* 1.4 MB: two read blocks; one address a line */
		ck_assert_int_eq(apd_buf_adds(&b, "a@b.cc\n"), APD_OK);
	apd_test_write_file(apd_test_tpath("vol/ProgramData/Logs/dense.log"), b.p, b.n);
	apd_buf_init(&w, (size_t)16 << 20);
	ck_assert_int_eq(apd_buf_add(&w, "\xff\xfe", 2), APD_OK);
	ck_assert_int_eq(apd_utf8_to_utf16le(&w, b.p, b.n / 4), APD_OK);
	apd_test_write_file(apd_test_tpath("vol/ProgramData/Logs/dense16.log"), w.p, w.n);
	apd_buf_done(&b);
	apd_buf_done(&w);
	apd_test_write_file(apd_test_tpath("profile.xml"), prof, sizeof(prof) - 1);
	snprintf(root, sizeof(root), "%s", apd_test_tpath("vol"));
	snprintf(out, sizeof(out), "%s", apd_test_tpath("out/b.tar"));
	snprintf(pp, sizeof(pp), "%s", apd_test_tpath("profile.xml"));
	memset(&o, 0, sizeof(o));
	o.root = root;
	o.out = out;
	o.fmt = APD_AF_TAR;
	o.profile_path = pp;
	o.redact = true;
	apd_error_clear(&err);
	ck_assert_msg(apd_collect_run(&o, &res, &err) == APD_OK, "%s", err.msg);
	ck_assert_uint_eq(res.items, 2);
	/* 200000 + 50000 addresses, each now 32 bytes (64 in UTF-16) plus its line end */
	ck_assert_uint_eq(res.input_bytes, 200000u * 33 + 2 + 50000u * 66);
}
END_TEST

START_TEST(test_builtin_profile)
{
	struct apd_profile p;
	struct apd_error err;
	size_t i, kinds[4] = { 0 };

	apd_error_clear(&err);
	ck_assert_int_eq(apd_profile_load(&p, apd_profile_xml, strlen(apd_profile_xml),
	    "collect/profile.xml", &err), APD_OK);
	for (i = 0; i < p.n; i++)
		kinds[p.e[i].kind]++;
	ck_assert_uint_ge(kinds[APD_P_EVENTS], 19);
	ck_assert_uint_ge(kinds[APD_P_REGISTRY], 10);
	ck_assert_uint_ge(kinds[APD_P_FILES], 10);
	ck_assert_uint_ge(kinds[APD_P_COMMAND], 4);
	ck_assert_uint_eq(p.nhwhash, 2);
	apd_profile_free(&p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("collect");
	TCase *tc = tcase_create("collect");

	tcase_add_checked_fixture(tc, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(tc, test_regw_round_trip);
	tcase_add_test(tc, test_regw_redacts_strings);
	tcase_add_test(tc, test_glob);
	tcase_add_test(tc, test_ci_resolve);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_changing_file);
	tcase_add_test(tc, test_changing_file_settles);
	tcase_add_test(tc, test_bad_profile_leaves_nothing);
	tcase_add_test(tc, test_builtin_profile);
	tcase_add_test(tc, test_redact_dense);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(suite());
}
