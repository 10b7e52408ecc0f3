/*
 * check_core.c - buffers, text encodings, the line reader, the JSON writer.
 */
#include "apd_test.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_stream.h"
#include "apd_text.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_buf_cap)
{
	struct apd_buf b;

	apd_buf_init(&b, 8);
	ck_assert_int_eq(apd_buf_adds(&b, "1234567"), APD_OK);
	ck_assert_int_eq(apd_buf_adds(&b, "8"), APD_FAILED);   /* would reach toobig */
	ck_assert_str_eq(b.p, "1234567");
	apd_buf_done(&b);
	apd_buf_done(&b);
}
END_TEST

START_TEST(test_utf16_to_utf8)
{
	/* "Aé€😀" in UTF-16LE, then a lone low surrogate */
	static const unsigned char in[] = { 'A', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE,
		0x00, 0xDC };
	struct apd_buf b;

	apd_buf_init(&b, 1024);
	ck_assert_int_eq(apd_utf16_to_utf8(&b, in, sizeof(in), false), APD_OK);
	ck_assert_str_eq(b.p, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD");
	apd_buf_done(&b);
}
END_TEST

START_TEST(test_cp1252)
{
	struct apd_buf b;

	apd_buf_init(&b, 1024);
	ck_assert_int_eq(apd_cp1252_to_utf8(&b, "caf\xE9 \x80", 6), APD_OK);
	ck_assert_str_eq(b.p, "caf\xC3\xA9 \xE2\x82\xAC");
	ck_assert(!apd_utf8_valid("caf\xE9", 4));
	ck_assert(apd_utf8_valid(b.p, b.n));
	ck_assert(!apd_utf8_valid("\xED\xA0\x80", 3));   /* encoded surrogate */
	apd_buf_done(&b);
}
END_TEST

/* Read all lines of a buffer handed out in blocks of `block` bytes. */
static size_t
read_lines(const void *data, size_t n, size_t block, size_t max_line, char out[][64], int *warns)
{
	struct apd_mem_src m = { data, n, block };
	struct apd_stream st;
	struct apd_error err;
	struct apd_lines lr;
	struct apd_sv line;
	size_t k = 0;
	int rc;

	*warns = 0;
	ck_assert_int_eq(apd_stream_open(&st, apd_mem_block, &m, "mem", (int64_t)n, 1 << 20, &err),
	    APD_OK);
	apd_lines_init(&lr, &st, max_line);
	while ((rc = apd_lines_next(&lr, &line)) == APD_OK || rc == APD_WARN) {
		if (rc == APD_WARN)
			(*warns)++;
		ck_assert_uint_lt(line.n, 64);
		memcpy(out[k], line.p, line.n);
		out[k][line.n] = '\0';
		k++;
	}
	ck_assert_int_eq(rc, APD_EOF);
	apd_lines_done(&lr);
	apd_stream_close(&st);
	return k;
}

START_TEST(test_lines_utf8_bom_blocks)
{
	static const char in[] = "\xEF\xBB\xBFone\r\ntwo\n\nthree";
	char out[8][64];
	size_t block;
	int w;

	for (block = 1; block <= sizeof(in); block++) {
		ck_assert_uint_eq(read_lines(in, sizeof(in) - 1, block, 100, out, &w), 4);
		ck_assert_str_eq(out[0], "one");
		ck_assert_str_eq(out[1], "two");
		ck_assert_str_eq(out[2], "");
		ck_assert_str_eq(out[3], "three");
		ck_assert_int_eq(w, 0);
	}
}
END_TEST

START_TEST(test_lines_utf16le_blocks)
{
	/* BOM, "ab\r\n", "\u0A0D" (a code unit containing 0x0A and 0x0D bytes), "\n" */
	static const unsigned char in[] = { 0xFF, 0xFE, 'a', 0, 'b', 0, '\r', 0, '\n', 0,
		0x0A, 0x0D, '\n', 0, 'z', 0 };
	char out[8][64];
	size_t block;
	int w;

	for (block = 1; block <= sizeof(in); block++) {
		ck_assert_uint_eq(read_lines(in, sizeof(in), block, 100, out, &w), 3);
		ck_assert_str_eq(out[0], "ab");
		ck_assert_str_eq(out[1], "\xE0\xB4\x8A");   /* U+0D0A */
		ck_assert_str_eq(out[2], "z");
	}
}
END_TEST

START_TEST(test_lines_cut_at_limit)
{
	static const char in[] = "short\nthis line is far too long\nend\n";
	char out[8][64];
	int w;

	ck_assert_uint_eq(read_lines(in, sizeof(in) - 1, 7, 10, out, &w), 3);
	ck_assert_str_eq(out[1], "this line ");
	ck_assert_str_eq(out[2], "end");
	ck_assert_int_eq(w, 1);
}
END_TEST

START_TEST(test_json_writer)
{
	struct apd_buf b;
	struct apd_jw w;

	apd_buf_init(&b, 1024);
	apd_jw_begin(&w, &b);
	apd_jw_str(&w, "a", apd_sv_cstr("q\"\\\n\x01"));
	apd_jw_int(&w, "n", -5);
	apd_jw_open(&w, "l", '[');
	apd_jw_str(&w, NULL, apd_sv_cstr("x"));
	apd_jw_str(&w, NULL, APD_SV_NULL);
	apd_jw_close(&w, ']');
	ck_assert_int_eq(apd_jw_end(&w), APD_OK);
	ck_assert_str_eq(b.p, "{\"a\":\"q\\\"\\\\\\n\\u0001\",\"n\":-5,\"l\":[\"x\",null]}");
	apd_buf_done(&b);
}
END_TEST

START_TEST(test_json_writer_array)
{
	struct apd_buf b;
	struct apd_jw w;

	apd_buf_init(&b, 1024);
	apd_jw_begin_array(&w, &b);
	ck_assert_int_eq(apd_jw_end(&w), APD_OK);
	ck_assert_str_eq(b.p, "[]");

	/* elements without keys; apd_jw_end() closes the open levels with their own brackets */
	apd_buf_reset(&b);
	apd_jw_begin_array(&w, &b);
	apd_jw_str(&w, NULL, apd_sv_cstr("a\"b"));
	apd_jw_int(&w, NULL, 7);
	apd_jw_str(&w, NULL, apd_sv("", 0));
	apd_jw_open(&w, NULL, '{');
	apd_jw_bool(&w, "ok", true);
	apd_jw_open(&w, "l", '[');
	apd_jw_str(&w, NULL, APD_SV_NULL);
	ck_assert_int_eq(apd_jw_end(&w), APD_OK);
	ck_assert_str_eq(b.p, "[\"a\\\"b\",7,\"\",{\"ok\":true,\"l\":[null]}]");
	ck_assert_int_eq(w.depth, 0);

	/* an object whose inner array is left open is closed correctly as well */
	apd_buf_reset(&b);
	apd_jw_begin(&w, &b);
	apd_jw_open(&w, "l", '[');
	apd_jw_str(&w, NULL, apd_sv_cstr("x"));
	ck_assert_int_eq(apd_jw_end(&w), APD_OK);
	ck_assert_str_eq(b.p, "{\"l\":[\"x\"]}");

	/* the buffer's cap is reported by apd_jw_end() */
	apd_buf_done(&b);
	apd_buf_init(&b, 4);
	apd_jw_begin_array(&w, &b);
	apd_jw_str(&w, NULL, apd_sv_cstr("long"));
	ck_assert_int_eq(apd_jw_end(&w), APD_FAILED);
	apd_buf_done(&b);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_utf16_to_utf8);
	tcase_add_test(tc, test_cp1252);
	tcase_add_test(tc, test_lines_utf8_bom_blocks);
	tcase_add_test(tc, test_lines_utf16le_blocks);
	tcase_add_test(tc, test_lines_cut_at_limit);
	tcase_add_test(tc, test_json_writer);
	tcase_add_test(tc, test_json_writer_array);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(core_suite());
}
