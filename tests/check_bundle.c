/*
 * check_bundle.c - the walker over folders and archives, through the real
 * index writer: every input shape, nesting, and the hostile cases (path
 * traversal, truncation, decompression bombs, huge sparse files).
 *
 * Archives are written at test time with libarchive's writer (an
 * independent code path from its reader), except cabs, which libarchive
 * cannot write: those are fixtures made by gcab (MSZIP) and by
 * samples/tools/mkcab_lzx.py (LZX), both checked with cabextract.
 */
#include "apd_test.h"
#include "apd_store.h"
#include "apd_walk.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An entry to write (see struct ent). */
struct ent {
	const char *name;
	const char *data;   /* the bytes, or NULL for n zero bytes */
	uint64_t n;         /* with data: its length (0: strlen(data)); without: zero bytes */
};

static void
write_archive(const char *path, const char *format, const char *filter, const struct ent *e,
    size_t n, const char *options)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae;
	static char zero[65536];
	size_t i;

	ck_assert_int_eq(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
	if (filter)
		ck_assert_int_eq(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	if (options)
		ck_assert_int_eq(archive_write_set_options(a, options), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		uint64_t size = e[i].data && e[i].n == 0 ? strlen(e[i].data) : e[i].n;
		uint64_t left;
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)size);
		archive_entry_set_mtime(ae, 1700000000, 0);
		ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].data) {
			ck_assert_int_eq(archive_write_data(a, e[i].data, size), (la_ssize_t)size);
		} else {
			for (left = size; left; ) {
				size_t k = left < sizeof(zero) ? (size_t)left : sizeof(zero);
				ck_assert_int_eq(archive_write_data(a, zero, k), (la_ssize_t)k);
				left -= k;
			}
		}
		archive_entry_free(ae);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Index `input` into a fresh database with limits `lim` (NULL = defaults). */
static sqlite3 *
index_input(const char *input, const struct apd_limits *lim, int *walk_rc)
{
	static struct apd_limits dl;
	struct apd_store *st;
	struct apd_error err;
	struct apd_walk w;
	sqlite3 *db;

	apd_limits_default(&dl);
	if (lim == NULL)
		lim = &dl;
	ck_assert_int_eq(apd_store_create(&st, apd_test_tpath("index.db"), lim, &err), APD_OK);
	apd_walk_init(&w, lim, apd_store_catalog(st));
	*walk_rc = apd_walk_input(&w, input);
	ck_assert_msg(*walk_rc != APD_FATAL, "walk: %s", w.err.msg);
	ck_assert_msg(apd_store_finish(st, &err) == APD_OK, "finish: %s", err.msg);
	apd_store_free(st);
	ck_assert_int_eq(sqlite3_open_v2(apd_test_tpath("index.db"), &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	return db;
}

/* The single text value of a query, or NULL; a static copy. */
static const char *
q1(sqlite3 *db, const char *sql)
{
	static char buf[4096];
	sqlite3_stmt *s;
	const char *r = NULL;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
		r = buf;
	}
	sqlite3_finalize(s);
	return r;
}

static long long
qi(sqlite3 *db, const char *sql)
{
	const char *v = q1(db, sql);

	return v ? atoll(v) : -1;
}

/* The query plan of sql, its detail lines joined by ';'; a static copy. */
static const char *
plan(sqlite3 *db, const char *sql)
{
	static char buf[4096];
	char q[2048];
	sqlite3_stmt *s;
	size_t n = 0;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	ck_assert_msg(sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK, "%s: %s", q,
	    sqlite3_errmsg(db));
	buf[0] = '\0';
	while (sqlite3_step(s) == SQLITE_ROW && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s;", sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	return buf;
}

static const char *const CMLINE =
    "<![LOG[hello]LOG]!><time=\"10:00:00.1234567\" date=\"7-22-2025\" component=\"IME\" "
    "context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";

START_TEST(test_zip_names_and_sha)
{
	const struct ent e[] = {
		{ "(63) FoldersFiles ProgramData_Microsoft_IntuneManagementExtension_Logs/a b [1].txt",
		  "hello world\n", 0 },
		{ "(12) RegistryKey HKLM_Software_Microsoft_IntuneManagementExtension export.reg",
		  "x\n", 0 },
		{ "(1) No Results - Error [0x80070001] RegistryKey HKLM_Software_Microsoft_CloudManagedUpdate",
		  "", 0 },
	};
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("DiagLogs-PC01-20251001T101010Z.zip"), "zip", NULL, e, 3, NULL);
	db = index_input(apd_test_tpath("DiagLogs-PC01-20251001T101010Z.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM source"), 4);
	ck_assert_str_eq(q1(db, "SELECT kind FROM source WHERE parent_id IS NULL"), "zip");
	/* SHA-256 of "hello world\n" */
	ck_assert_str_eq(q1(db, "SELECT sha256 FROM source WHERE path LIKE '%a b [1].txt'"),
	    "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
	ck_assert_str_eq(q1(db, "SELECT path FROM source WHERE path LIKE '%a b [1].txt'"),
	    "DiagLogs-PC01-20251001T101010Z.zip!(63) FoldersFiles "
	    "ProgramData_Microsoft_IntuneManagementExtension_Logs/a b [1].txt");
	ck_assert_str_eq(q1(db, "SELECT origin FROM source WHERE path LIKE '%a b [1].txt'"),
	    "FoldersFiles ProgramData_Microsoft_IntuneManagementExtension_Logs");
	ck_assert_str_eq(q1(db, "SELECT origin FROM source WHERE path LIKE '%export.reg'"),
	    "RegistryKey HKLM_Software_Microsoft_IntuneManagementExtension");
	/* the zero-byte failure marker is a gap with its HRESULT, not an error */
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path LIKE '%No Results%'"), "gap");
	ck_assert_str_eq(q1(db, "SELECT hresult_hex FROM gap"), "0x80070001");
	ck_assert_int_eq(qi(db, "SELECT hresult FROM gap"), -2147024895);
	ck_assert_str_eq(q1(db, "SELECT item FROM gap"),
	    "RegistryKey HKLM_Software_Microsoft_CloudManagedUpdate");
	/* device name and collection time from the zip's name */
	ck_assert_str_eq(q1(db, "SELECT value FROM fact WHERE name = 'device.name'"), "PC01");
	ck_assert_str_eq(q1(db, "SELECT value FROM fact WHERE name = 'intune.collected_at'"),
	    "2025-10-01T10:10:10Z");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_zip64)
{
	const struct ent e[] = { { "big/one.bin", NULL, 70000 }, { "two.txt", "two\n", 0 } };
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("z64.zip"), "zip", NULL, e, 2, "zip:zip64");
	db = index_input(apd_test_tpath("z64.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_int_eq(qi(db, "SELECT size FROM source WHERE path = 'z64.zip!big/one.bin'"), 70000);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'z64.zip!two.txt'"), "ok");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_tar_filters)
{
	static const char *const filters[] = { NULL, "gzip", "xz", "zstd", "bzip2" };
	static const char *const kinds[] = { "tar", "gzip", "xz", "zstd", "bzip2" };
	const struct ent e[] = { { "logs/x.txt", "line one\nline two\n", 0 } };
	char name[64], sql[256];
	sqlite3 *db;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		snprintf(name, sizeof(name), "b%zu.tar", i);
		write_archive(apd_test_tpath(name), "ustar", filters[i], e, 1, NULL);
		db = index_input(apd_test_tpath(name), NULL, &rc);
		ck_assert_int_eq(rc, APD_OK);
		snprintf(sql, sizeof(sql), "SELECT kind FROM source WHERE path = '%s'", name);
		ck_assert_str_eq(q1(db, sql), kinds[i]);
		snprintf(sql, sizeof(sql), "SELECT size FROM source WHERE path = '%s!logs/x.txt'", name);
		ck_assert_int_eq(qi(db, sql), 18);
		sqlite3_close(db);
	}
}
END_TEST

START_TEST(test_cab_mszip_and_lzx)
{
	static const char *const cabs[] = { "tests/data/bundle/mszip.cab", "samples/lzx.cab" };
	char sql[512];
	sqlite3 *db;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		const char *p = apd_test_src(cabs[i]);
		char *path = strdup(p);
		ck_assert_msg(access(path, R_OK) == 0, "missing fixture %s", cabs[i]);
		db = index_input(path, NULL, &rc);
		ck_assert_int_eq(rc, APD_OK);
		ck_assert_str_eq(q1(db, "SELECT kind FROM source WHERE parent_id IS NULL"), "cab");
		ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE parent_id IS NULL"), "ok");
		ck_assert_int_ge(qi(db, "SELECT count(*) FROM source WHERE parent_id IS NOT NULL"), 1);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM source WHERE status != 'ok' "
		    "AND parent_id IS NOT NULL AND kind != 'evtx' AND kind != 'etl'");
		ck_assert_int_eq(qi(db, sql), 0);
		sqlite3_close(db);
		free(path);
	}
}
END_TEST

START_TEST(test_nested_depth)
{
	const struct ent inner[] = { { "deep.log", "deep\n", 0 } };
	struct apd_limits lim;
	unsigned char *buf;
	size_t n;
	sqlite3 *db;
	int rc;

	/* zip > tar.gz > zip > deep.log */
	write_archive(apd_test_tpath("inner.zip"), "zip", NULL, inner, 1, NULL);
	buf = apd_test_slurp(apd_test_tpath("inner.zip"), &n);
	ck_assert_ptr_nonnull(buf);
	{
		const struct ent mid[] = { { "inner.zip", (const char *)buf, n } };
		write_archive(apd_test_tpath("mid.tar.gz"), "ustar", "gzip", mid, 1, NULL);
	}
	free(buf);
	buf = apd_test_slurp(apd_test_tpath("mid.tar.gz"), &n);
	ck_assert_ptr_nonnull(buf);
	{
		const struct ent outer[] = { { "mid.tar.gz", (const char *)buf, n } };
		write_archive(apd_test_tpath("outer.zip"), "zip", NULL, outer, 1, NULL);
	}
	free(buf);

	db = index_input(apd_test_tpath("outer.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_str_eq(q1(db, "SELECT path FROM source WHERE path LIKE '%deep.log'"),
	    "outer.zip!mid.tar.gz!inner.zip!deep.log");
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path LIKE '%deep.log'"), "ok");
	ck_assert_str_eq(q1(db, "SELECT kind FROM source WHERE path = 'outer.zip!mid.tar.gz'"),
	    "gzip");
	sqlite3_close(db);

	/* depth 1: only the outer zip is opened; the tar.gz is recorded, not opened */
	apd_limits_default(&lim);
	lim.max_depth = 1;
	db = index_input(apd_test_tpath("outer.zip"), &lim, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'outer.zip!mid.tar.gz'"),
	    "skipped");
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT error FROM source WHERE path = "
	    "'outer.zip!mid.tar.gz'"), "nested deeper than 1"));
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM source WHERE path LIKE '%deep.log'"), 0);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_traversal_names)
{
	const struct ent e[] = {
		{ "../../etc/evil.log", "x\n", 0 },
		{ "/abs/evil.log", "y\n", 0 },
		{ "C:\\Windows\\evil.log", "z\n", 0 },
		{ "fine/ok.txt", "ok\n", 0 },
	};
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("trav.zip"), "zip", NULL, e, 4, NULL);
	db = index_input(apd_test_tpath("trav.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM source WHERE status = 'failed' AND "
	    "error LIKE '%path traversal%'"), 3);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'trav.zip!fine/ok.txt'"),
	    "ok");
	/* nothing was written outside the index */
	ck_assert_int_ne(access(apd_test_tpath("../etc/evil.log"), F_OK), 0);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_truncated_zip)
{
	struct ent e[20];
	char names[20][32], data[20][64];
	unsigned char *buf;
	size_t n, i;
	sqlite3 *db;
	int rc;

	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "f%02zu.txt", i);
		snprintf(data[i], sizeof(data[i]), "file %zu has some text in it\n", i);
		e[i].name = names[i];
		e[i].data = data[i];
		e[i].n = 0;
	}
	write_archive(apd_test_tpath("full.zip"), "zip", NULL, e, 20, NULL);
	buf = apd_test_slurp(apd_test_tpath("full.zip"), &n);
	apd_test_write_file(apd_test_tpath("truncated-zip-half.zip"), buf, n / 2);
	free(buf);
	db = index_input(apd_test_tpath("truncated-zip-half.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_str_ne(q1(db, "SELECT status FROM source WHERE parent_id IS NULL"), "ok");
	ck_assert_ptr_nonnull(q1(db, "SELECT error FROM source WHERE parent_id IS NULL"));
	/* the entries before the cut are still indexed */
	ck_assert_int_ge(qi(db, "SELECT count(*) FROM source WHERE parent_id IS NOT NULL "
	    "AND status = 'ok'"), 5);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_truncated_cab)
{
	unsigned char *buf;
	size_t n;
	sqlite3 *db;
	int rc;

	buf = apd_test_slurp_src("tests/data/bundle/mszip.cab", &n);
	apd_test_write_file(apd_test_tpath("truncated-cab.cab"), buf, n * 2 / 3);
	free(buf);
	db = index_input(apd_test_tpath("truncated-cab.cab"), NULL, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_int_ge(qi(db, "SELECT count(*) FROM source WHERE status IN ('failed', 'partial')"), 1);
	ck_assert_ptr_nonnull(q1(db, "SELECT error FROM source WHERE status IN ('failed', 'partial')"));
	sqlite3_close(db);
}
END_TEST

START_TEST(test_zip_bomb_ratio)
{
	/* 1 GiB of zeros deflates to about 1 MB: more than 200:1 past 64 MiB */
	const struct ent e[] = { { "a.txt", "before\n", 0 }, { "bomb.log", NULL, 1ull << 30 },
		{ "z.txt", "after\n", 0 } };
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("bomb.zip"), "zip", NULL, e, 3, NULL);
	db = index_input(apd_test_tpath("bomb.zip"), NULL, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'bomb.zip!a.txt'"), "ok");
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT error FROM source WHERE path = 'bomb.zip'"),
	    "decompression bomb"));
	ck_assert_str_ne(q1(db, "SELECT status FROM source WHERE path = 'bomb.zip!bomb.log'"), "ok");
	/* it stopped soon after the ratio floor, long before 1 GiB */
	ck_assert_int_lt(qi(db, "SELECT size FROM source WHERE path = 'bomb.zip!bomb.log'"),
	    128ll << 20);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_total_limit)
{
	const struct ent e[] = { { "a.bin", NULL, 3 << 20 }, { "b.bin", NULL, 3 << 20 },
		{ "c.bin", NULL, 3 << 20 } };
	struct apd_limits lim;
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("total.tar"), "ustar", NULL, e, 3, NULL);
	apd_limits_default(&lim);
	lim.max_total_bytes = 5 << 20;
	db = index_input(apd_test_tpath("total.tar"), &lim, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'total.tar!a.bin'"), "ok");
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT error FROM source WHERE path = 'total.tar!b.bin'"),
	    "in total"));
	sqlite3_close(db);
}
END_TEST

START_TEST(test_entry_limit)
{
	const struct ent e[] = { { "1.txt", "1", 0 }, { "2.txt", "2", 0 }, { "3.txt", "3", 0 } };
	struct apd_limits lim;
	sqlite3 *db;
	int rc;

	write_archive(apd_test_tpath("many.zip"), "zip", NULL, e, 3, NULL);
	apd_limits_default(&lim);
	lim.max_entries = 2;
	db = index_input(apd_test_tpath("many.zip"), &lim, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM source WHERE parent_id IS NOT NULL"), 2);
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT error FROM source WHERE path = 'many.zip'"),
	    "more than 2 entries"));
	/* exactly at the limit is fine */
	lim.max_entries = 3;
	sqlite3_close(db);
	db = index_input(apd_test_tpath("many.zip"), &lim, &rc);
	ck_assert_int_eq(rc, APD_OK);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_sparse_2g_file)
{
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(mkdir(apd_test_tpath("in"), 0755), 0);
	apd_test_write_sparse(apd_test_tpath("in/huge-sparse.log"), 2147483648LL);
	apd_test_write_file(apd_test_tpath("in/small.txt"), "small\n", 6);
	db = index_input(apd_test_tpath("in"), NULL, &rc);
	ck_assert_int_eq(rc, APD_WARN);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'huge-sparse.log'"), "failed");
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT error FROM source WHERE path = 'huge-sparse.log'"),
	    "exceeds the limit"));
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'small.txt'"), "ok");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_folder_symlink_and_unknown)
{
	static const unsigned char junk[] = { 0x00, 0xFF, 0x10, 0x80, 0x00, 0x01 };
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(mkdir(apd_test_tpath("f"), 0755), 0);
	ck_assert_int_eq(mkdir(apd_test_tpath("f/sub"), 0755), 0);
	apd_test_write_file(apd_test_tpath("f/sub/blob.bin"), junk, sizeof(junk));
	ck_assert_int_eq(symlink("/etc/passwd", apd_test_tpath("f/link")), 0);
	db = index_input(apd_test_tpath("f"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_str_eq(q1(db, "SELECT status FROM source WHERE path = 'link'"), "skipped");
	/* an unrecognised file is recorded with its hash, never dropped */
	ck_assert_str_eq(q1(db, "SELECT kind FROM source WHERE path = 'sub/blob.bin'"), "unknown");
	ck_assert_int_eq(qi(db, "SELECT size FROM source WHERE path = 'sub/blob.bin'"), 6);
	ck_assert_uint_eq(strlen(q1(db, "SELECT sha256 FROM source WHERE path = 'sub/blob.bin'")), 64);
	sqlite3_close(db);
}
END_TEST

/* Registry values are stored as reg_key + reg_val; the reg_value view joins
   them.  The same key from two files, in another case, is one reg_key row. */
START_TEST(test_registry_keys_shared_by_sources)
{
	static const char a[] = "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\App]\r\n"
	    "\"Ver\"=\"1.0\"\r\n\"Count\"=dword:00000007\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Empty]\r\n\r\n"
	    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\App]\r\n\"Late\"=\"x\"\r\n";
	static const char b[] = "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\software\\contoso\\APP]\r\n"
	    "\"Ver\"=\"2.0\"\r\n";
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(mkdir(apd_test_tpath("r"), 0755), 0);
	apd_test_write_file(apd_test_tpath("r/a.reg"), a, strlen(a));
	apd_test_write_file(apd_test_tpath("r/b.reg"), b, strlen(b));
	db = index_input(apd_test_tpath("r"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	/* two keys, one of them seen three times */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM reg_key"), 2);
	ck_assert_str_eq(q1(db, "SELECT key FROM reg_key ORDER BY id LIMIT 1"), "SOFTWARE\\Contoso\\App");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM reg_value WHERE hive = 'hklm' "
	    "AND key = 'software\\CONTOSO\\app' AND name = 'ver'"), 2);
	ck_assert_str_eq(q1(db, "SELECT group_concat(value, ',') FROM (SELECT value FROM reg_value "
	    "WHERE key = 'SOFTWARE\\Contoso\\App' AND name = 'Ver' ORDER BY source_id)"), "1.0,2.0");
	ck_assert_int_eq(qi(db, "SELECT value FROM reg_value WHERE key = 'SOFTWARE\\Contoso\\App' "
	    "AND name = 'Count'"), 7);
	ck_assert_str_eq(q1(db, "SELECT type FROM reg_value WHERE name = 'Late'"), "REG_SZ");
	/* a key without values keeps its marker row */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM reg_value WHERE key = 'SOFTWARE\\Contoso\\Empty' "
	    "AND name IS NULL"), 1);
	/* lookups by key use the indexes, not a scan of the values */
	ck_assert_str_eq(plan(db, "SELECT value FROM reg_value WHERE hive = 'HKLM' "
	    "AND key = 'SOFTWARE\\Contoso\\App' AND name = 'Ver'"),
	    "SEARCH k USING COVERING INDEX reg_key_path (key=? AND hive=?);"
	    "SEARCH v USING INDEX reg_val_key (key_id=? AND name=?);");
	sqlite3_close(db);
}
END_TEST

START_TEST(test_schema_pinned)
{
	sqlite3 *db;
	int rc;

	ck_assert_int_eq(mkdir(apd_test_tpath("e"), 0755), 0);
	apd_test_write_file(apd_test_tpath("e/x.log"), CMLINE, strlen(CMLINE));
	db = index_input(apd_test_tpath("e"), NULL, &rc);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), APD_SCHEMA_VERSION);
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('source')"),
	    "id,parent_id,path,kind,parser,origin,size,sha256,status,error,records,warnings");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('event')"),
	    "id,source_id,seq,ts_utc,ts_local,tz_source,level,channel,provider,event_id,"
	    "component,thread,message,data,line,offset,record_id,computer,user_sid,pid,recovered");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('reg_value')"),
	    "id,source_id,hive,key,name,type,value,line");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('reg_key')"),
	    "id,hive,key");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('reg_val')"),
	    "id,source_id,key_id,name,type,value,line");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('fact')"),
	    "name,value,source_id");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('gap')"),
	    "id,source_id,item,hresult,hresult_hex,reason");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('finding')"),
	    "id,rank,rule_id,rule_version,severity,category,confidence,title,explanation,"
	    "remediation,refs,group_value,first_ts,last_ts,count");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('finding_evidence')"),
	    "finding_id,role,event_id,reg_value_id,fact,gap_id,ts_utc");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('esp_phase')"),
	    "id,phase,flow,start_utc,start_local,start_source,end_utc,end_local,end_source,duration_s,"
	    "outcome,outcome_source,timeout_min,apps,detail");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('app_event')"),
	    "id,app_id,ts_utc,ts_local,kind,value,detail,event_id,reg_val_id");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('script')"),
	    "id,kind,name,context,user_id,phase,start_utc,start_local,end_utc,end_local,duration_s,runs,"
	    "exit_code,result,error,source");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('app')"),
	    "id,kind,revision,name,name_source,intent,target,esp_tracked,phase,esp_state,"
	    "download_start_utc,download_start_local,download_end_utc,download_end_local,download_s,"
	    "size_bytes,do_peer_pct,install_start_utc,install_start_local,install_end_utc,"
	    "install_end_local,install_s,attempts,exit_code,hresult,hresult_hex,enforcement_state,"
	    "compliance_state,detection,held_esp_s,outcome,failure,failure_code,failure_code_hex");
	ck_assert_str_eq(q1(db, "SELECT group_concat(name, ',') FROM pragma_table_info('deployment')"),
	    "id,scenario,flow,join_method,evidence,tenant_id,tenant_domain,profile_name,profile_source,"
	    "oobe_config,oobe_config_bits,forced_enrollment,device_name_template,ztd_correlation_id,"
	    "policy_download_utc,profile_error,profile_error_reason,esp_device_page,esp_user_page,"
	    "esp_timeout_min,esp_block_flags,esp_allow_reset,esp_allow_retry,esp_allow_continue,"
	    "esp_outcome,esp_start_utc,esp_start_local,esp_end_utc,esp_end_local,esp_duration_s,"
	    "blocking_kind,blocking_id,blocking_name,blocking_phase,blocking_reason,blocking_code,"
	    "blocking_code_hex");
	/* the model is derived for every index, even of a lone log */
	ck_assert_str_eq(q1(db, "SELECT scenario || ' ' || esp_outcome FROM deployment"), "unknown not-shown");
	ck_assert_str_eq(q1(db, "SELECT value FROM meta WHERE key = 'schema_version'"), "3");
	sqlite3_close(db);
}
END_TEST

/*
 * The full-text index is built on a second thread in its own database and
 * its FTS5 shadow tables are copied in at the end (apd_fts.c): the result
 * must pass FTS5's own integrity check and answer word and phrase queries
 * exactly as the message text says, across several sources.
 */
START_TEST(test_fts_copied_index_is_sound)
{
	char name[64], line[512];
	sqlite3 *db;
	char *errmsg = NULL;
	int rc, i;

	ck_assert_int_eq(mkdir(apd_test_tpath("f"), 0755), 0);
	for (i = 0; i < 3; i++) {
		FILE *f;
		int k;
		snprintf(name, sizeof(name), "f/IntuneManagementExtension-%d.log", i);
		f = fopen(apd_test_tpath(name), "wb");
		ck_assert_ptr_nonnull(f);
		for (k = 0; k < 20000; k++) {
			snprintf(line, sizeof(line), "<![LOG[[Win32App] line %d of file %d: %s]LOG]!>"
			    "<time=\"10:00:00.1234567\" date=\"7-22-2025\" component=\"IME\" context=\"\" "
			    "type=\"1\" thread=\"1\" file=\"\">\r\n", k, i,
			    k % 1000 == 7 ? "Updating ESP tracked install status from InProgress to Error"
			    : "poll");
			fputs(line, f);
		}
		ck_assert_int_eq(fclose(f), 0);
	}
	db = index_input(apd_test_tpath("f"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	sqlite3_close(db);
	/* integrity-check needs a writable handle; it changes nothing */
	ck_assert_int_eq(sqlite3_open(apd_test_tpath("index.db"), &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, "INSERT INTO event_fts(event_fts) VALUES ('integrity-check')",
	    NULL, NULL, &errmsg) == SQLITE_OK, "integrity-check: %s", errmsg ? errmsg : "");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event"), 60000);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event_fts WHERE event_fts MATCH 'poll'"),
	    60000 - 60);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event_fts WHERE event_fts MATCH "
	    "'\"tracked install status\"'"), 60);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event_fts WHERE event_fts MATCH "
	    "'\"status tracked\"'"), 0);
	/* rowids point at the right rows */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM event_fts JOIN event e ON e.id = event_fts.rowid "
	    "WHERE event_fts MATCH 'Error' AND e.message LIKE '%InProgress to Error%'"), 60);
	ck_assert_ptr_nonnull(strstr(q1(db, "SELECT snippet(event_fts, 0, '[', ']', '...', 4) FROM "
	    "event_fts WHERE event_fts MATCH 'InProgress' LIMIT 1"), "[InProgress]"));
	sqlite3_close(db);
}
END_TEST

/* Message k of test_batch_arena_every_size: k's letter, len_of(k) times, then " #k". */
static size_t
len_of(int k)
{
	return k == 41 ? 300000 : (size_t)(k * 7919) % 40000;   /* one over the 256 KiB arena */
}

/*
 * The store copies a batch's strings into a 256 KiB arena, and a string that
 * does not fit is bound as SQLite's own copy.  Messages of 0 to 40 KB (16
 * rows: up to 640 KB per batch) and one of 300 KB come back byte for byte.
 */
START_TEST(test_batch_arena_every_size)
{
	enum { N = 200 };
	FILE *f = fopen(apd_test_tpath("IntuneManagementExtension.log"), "wb");
	sqlite3 *db;
	sqlite3_stmt *s;
	int k, rc, rows = 0;
	char *want = malloc(300000 + 32);

	ck_assert_ptr_nonnull(f);
	for (k = 0; k < N; k++) {
		size_t i, n = len_of(k);
		fputs("<![LOG[", f);
		for (i = 0; i < n; i++)
			fputc('a' + k % 26, f);
		fprintf(f, " #%d]LOG]!><time=\"10:00:00.1234567\" date=\"7-22-2025\" component=\"IME\" "
		    "context=\"\" type=\"1\" thread=\"%d\" file=\"\">\r\n", k, k);
	}
	ck_assert_int_eq(fclose(f), 0);
	db = index_input(apd_test_tpath("IntuneManagementExtension.log"), NULL, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT seq, message, thread FROM event ORDER BY seq", -1,
	    &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int seq = sqlite3_column_int(s, 0);
		size_t n;
		k = seq - 1;
		n = len_of(k);
		memset(want, 'a' + k % 26, n);
		n += (size_t)sprintf(want + n, " #%d", k);
		ck_assert_int_eq(sqlite3_column_bytes(s, 1), (int)n);
		ck_assert_msg(memcmp(sqlite3_column_text(s, 1), want, n) == 0, "message %d differs", k);
		ck_assert_int_eq(atoi((const char *)sqlite3_column_text(s, 2)), k);
		rows++;
	}
	sqlite3_finalize(s);
	ck_assert_int_eq(rows, N);
	sqlite3_close(db);
	free(want);
}
END_TEST

static Suite *
bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("Core");
	TCase *lim = tcase_create("Limits");

	tcase_add_checked_fixture(tc, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_checked_fixture(lim, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_set_timeout(lim, 120);
	tcase_add_test(tc, test_zip_names_and_sha);
	tcase_add_test(tc, test_zip64);
	tcase_add_test(tc, test_tar_filters);
	tcase_add_test(tc, test_cab_mszip_and_lzx);
	tcase_add_test(tc, test_nested_depth);
	tcase_add_test(tc, test_folder_symlink_and_unknown);
	tcase_add_test(tc, test_schema_pinned);
	tcase_add_test(tc, test_registry_keys_shared_by_sources);
	tcase_add_test(tc, test_fts_copied_index_is_sound);
	tcase_add_test(tc, test_batch_arena_every_size);
	tcase_add_test(lim, test_traversal_names);
	tcase_add_test(lim, test_truncated_zip);
	tcase_add_test(lim, test_truncated_cab);
	tcase_add_test(lim, test_zip_bomb_ratio);
	tcase_add_test(lim, test_total_limit);
	tcase_add_test(lim, test_entry_limit);
	tcase_add_test(lim, test_sparse_2g_file);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, lim);
	return s;
}

int
main(void)
{
	return apd_test_run(bundle_suite());
}
