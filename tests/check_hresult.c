/*
 * check_hresult.c - HRESULT spellings (lib/apd_hresult.h): every row of
 * KNOWN_ERRORS.md Appendix A parses to the same code in its hex, bare hex,
 * unsigned and signed spellings; codes are found in text as whole tokens
 * only; the full-text words are the ones FTS5's tokenizer produces.
 */
#include "apd_test.h"
#include "apd_hresult.h"

#include <string.h>

/* KNOWN_ERRORS.md Appendix A: hex, unsigned, signed */
static const struct {
	const char *hex;
	const char *u;
	const char *s;
} appendix_a[] = {
	{ "0x801C0003", "2149318659", "-2145648637" }, { "0x80180014", "2149056532", "-2145910764" },
	{ "0x801C0002", "2149318658", "-2145648638" }, { "0x80180018", "2149056536", "-2145910760" },
	{ "0x801C000E", "2149318670", "-2145648626" }, { "0x80180022", "2149056546", "-2145910750" },
	{ "0x801C03EA", "2149319658", "-2145647638" }, { "0x80180023", "2149056547", "-2145910749" },
	{ "0x801C03ED", "2149319661", "-2145647635" }, { "0x80180026", "2149056550", "-2145910746" },
	{ "0x801C03F2", "2149319666", "-2145647630" }, { "0x8018002A", "2149056554", "-2145910742" },
	{ "0x801C03F3", "2149319667", "-2145647629" }, { "0x8018002B", "2149056555", "-2145910741" },
	{ "0x801C001D", "2149318685", "-2145648611" }, { "0x800705B4", "2147943860", "-2147023436" },
	{ "0x801C0021", "2149318689", "-2145648607" }, { "0x81039001", "2164494337", "-2130472959" },
	{ "0x801C003A", "2149318714", "-2145648582" }, { "0x81039023", "2164494371", "-2130472925" },
	{ "0x80180002", "2149056514", "-2145910782" }, { "0x81039024", "2164494372", "-2130472924" },
	{ "0x80180003", "2149056515", "-2145910781" }, { "0xC1036501", "3238225153", "-1056742143" },
	{ "0x80180005", "2149056517", "-2145910779" }, { "0x81036501", "2164483329", "-2130483967" },
	{ "0x8018000A", "2149056522", "-2145910774" }, { "0x81036502", "2164483330", "-2130483966" },
	{ "0x80180010", "2149056528", "-2145910768" }, { "0x80070774", "2147944308", "-2147022988" },
	{ "0x80180012", "2149056530", "-2145910766" }, { "0x80280036", "2150105142", "-2144862154" },
	{ "0x80180013", "2149056531", "-2145910765" }, { "0x80090016", "2148073494", "-2146893802" },
	{ "0x87D1041C", "2278622236", "-2016345060" }, { "0x80D02002", "2161123330", "-2133843966" },
	{ "0x87D300C9", "2278752457", "-2016214839" }, { "0x80D03805", "2161129477", "-2133837819" },
	{ "0x87D300CD", "2278752461", "-2016214835" }, { "0xC00484B2", "3221521586", "-1073445710" },
	{ "0x87D30065", "2278752357", "-2016214939" }, { "0xCAA2000C", "3399614476", "-895352820" },
	{ "0x87D30067", "2278752359", "-2016214937" }, { "0x80190194", "2149122452", "-2145844844" },
};

static uint32_t
parse(const char *s)
{
	uint32_t v = 0xDEADBEEF;

	ck_assert_msg(apd_hresult_parse(apd_sv_cstr(s), &v), "'%s' did not parse", s);
	return v;
}

START_TEST(test_four_spellings_one_code)
{
	uint32_t a = parse("0x801c0003");

	ck_assert_uint_eq(a, 0x801C0003u);
	ck_assert_uint_eq(parse("801C0003"), a);
	ck_assert_uint_eq(parse("801c0003"), a);
	ck_assert_uint_eq(parse("0X801C0003"), a);
	ck_assert_uint_eq(parse("-2145648637"), a);
	ck_assert_uint_eq(parse("2149318659"), a);
}
END_TEST

START_TEST(test_appendix_a)
{
	size_t i;
	char canon[APD_HRESULT_HEX_LEN], bare[9];

	for (i = 0; i < sizeof(appendix_a) / sizeof(appendix_a[0]); i++) {
		uint32_t h = parse(appendix_a[i].hex);

		ck_assert_uint_eq(parse(appendix_a[i].u), h);
		ck_assert_uint_eq(parse(appendix_a[i].s), h);
		memcpy(bare, appendix_a[i].hex + 2, 8);
		bare[8] = '\0';
		ck_assert_uint_eq(parse(bare), h);
		apd_hresult_format(h, canon);
		ck_assert_str_eq(canon, appendix_a[i].hex);
	}
}
END_TEST

START_TEST(test_not_codes)
{
	static const char *const bad[] = {
		"", "-", "0x", "0x123456789", "x801c0003", "0x801c000g", "801c003", "801c00031",
		"4294967296", "-2147483649", "12345678901", "-0x801c0003", "0x-1", " 0x1", "0x1 ",
		"801c0003-", "notacode",
	};
	size_t i;
	uint32_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!apd_hresult_parse(apd_sv_cstr(bad[i]), &v), "'%s' parsed", bad[i]);
	ck_assert(!apd_hresult_parse(APD_SV_NULL, &v));
	/* the edges */
	ck_assert_uint_eq(parse("-2147483648"), 0x80000000u);
	ck_assert_uint_eq(parse("4294967295"), 0xFFFFFFFFu);
	ck_assert_uint_eq(parse("0x0"), 0);
	/* eight decimal digits are the bare hex form */
	ck_assert_uint_eq(parse("80070774"), 0x80070774u);
}
END_TEST

static bool
find(const char *text, uint32_t code, size_t *pos, size_t *len)
{
	return apd_hresult_find(apd_sv_cstr(text), &code, 1, NULL, pos, len);
}

START_TEST(test_find_tokens)
{
	size_t pos, len, which;
	uint32_t codes[2] = { 0x80070643u, 0x801C0003u };

	ck_assert(find("Client ErrorCode : 0x801c0003", 0x801C0003u, &pos, &len));
	ck_assert_uint_eq(pos, 19);
	ck_assert_uint_eq(len, 10);
	ck_assert(find("error code 801C0003.", 0x801C0003u, &pos, &len));
	ck_assert_uint_eq(pos, 11);
	ck_assert(find("hr = -2145648637)", 0x801C0003u, &pos, &len));
	ck_assert_uint_eq(pos, 5);
	ck_assert_uint_eq(len, 11);
	ck_assert(find("\"NewValue\":2149318659}", 0x801C0003u, NULL, NULL));
	ck_assert(find("HRESULT=0X801C0003;", 0x801C0003u, NULL, NULL));
	ck_assert(find("(Failed: 3, 0x801C03EA)", 0x801C03EAu, NULL, NULL));
	/* not whole tokens, or a GUID's first group */
	ck_assert(!find("0x801c00031", 0x801C0003u, NULL, NULL));
	ck_assert(!find("A0x801c0003", 0x801C0003u, NULL, NULL));
	ck_assert(!find("id 801c0003-0b1d-4e3f-a5b7-c9d1e3f5a7b9", 0x801C0003u, NULL, NULL));
	ck_assert(!find("2149318659999", 0x801C0003u, NULL, NULL));
	ck_assert(!find("", 0x801C0003u, NULL, NULL));
	ck_assert(!apd_hresult_find(APD_SV_NULL, codes, 2, NULL, NULL, NULL));
	/* any of several; the first token that is one of them */
	ck_assert(apd_hresult_find(apd_sv_cstr("x 2149318659 then 0x80070643"), codes, 2, &which,
	    &pos, NULL));
	ck_assert_uint_eq(which, 1);
	ck_assert_uint_eq(pos, 2);
	/* a code at the very end, and a lone '-' before a hex spelling */
	ck_assert(find("...-0x80070643", 0x80070643u, &pos, &len));
	ck_assert_uint_eq(pos, 4);
	ck_assert(find("ErrorCode -2147023293", 0x80070643u, NULL, NULL));
}
END_TEST

START_TEST(test_words)
{
	char w[4][12];

	ck_assert_int_eq(apd_hresult_words(0x801C0003u, w), 4);
	ck_assert_str_eq(w[0], "0x801c0003");
	ck_assert_str_eq(w[1], "801c0003");
	ck_assert_str_eq(w[2], "2149318659");
	ck_assert_str_eq(w[3], "2145648637");
	ck_assert_int_eq(apd_hresult_words(0x643u, w), 3);
	ck_assert_str_eq(w[1], "00000643");
	ck_assert_str_eq(w[2], "1603");
}
END_TEST

static Suite *
hresult_suite(void)
{
	Suite *s = suite_create("hresult");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_four_spellings_one_code);
	tcase_add_test(tc, test_appendix_a);
	tcase_add_test(tc, test_not_codes);
	tcase_add_test(tc, test_find_tokens);
	tcase_add_test(tc, test_words);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(hresult_suite());
}
