/*
 * check_bid.c - pins the winning parser for every file in samples/pieces/
 * (bid values drift as parsers are added; libarchive learned that the hard
 * way), and checks that a file name alone never beats content.
 */
#include "apd_test.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Expected parser by file name (suffix match, case-insensitive); "" = none wins. */
static const struct {
	const char *suffix;
	const char *parser;
} expect[] = {
	{ "MdmLogCollectorFootPrint.txt", "footprint" },
	{ "MdmDiagReport_RegistryDump.reg", "mdmregdump" },
	{ "MdmDiagLogMetadata.json", "json" },
	{ "AutopilotDDSZTDFile.json", "json" },
	{ "MDMDiagReport.xml", "mdmxml" },
	{ "results.xml", "results" },
	{ "export.reg", "regexport" },
	{ ".log", "cmtrace" },   /* IME, AppWorkload, AgentExecutor, rotated; overridden below */
	{ ".log.piece", "cmtrace" },   /* IME and AgentExecutor pieces (samples/build.sh) */
	{ "setupact.log", "text" },
	{ "output.log", "text" },
	{ "nested-cab-path.txt", "text" },
	{ ".csv", "text" },
	{ ".evtx", "evtx" },     /* pieces/evtx/: generated event logs */
	{ "%4Admin.json", "json" },        /* ... and the specs they were written from */
	{ "%4Autopilot.json", "json" },
	{ "%4Operational.json", "json" },
	{ "README.md", "text" },
};

static const char *
expected(const char *name)
{
	const char *best = NULL;
	size_t i, n = strlen(name), bestlen = 0;

	/* the longest matching suffix decides */
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		size_t m = strlen(expect[i].suffix);
		if (n >= m && strcasecmp(name + n - m, expect[i].suffix) == 0 && m > bestlen) {
			best = expect[i].parser;
			bestlen = m;
		}
	}
	return best;
}

static unsigned checked;

static void
walk(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	struct stat sb;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		const char *want, *got;
		int bid;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_eq(stat(path, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			walk(path);
			continue;
		}
		/* zero-byte Intune "No Results - Error" markers never reach the bidders */
		if (sb.st_size == 0)
			continue;
		want = expected(de->d_name);
		ck_assert_msg(want != NULL, "no expectation for %s: add it to check_bid.c", path);
		got = apd_test_bid_file(path, &bid);
		ck_assert_msg(strcmp(got, want) == 0, "%s: won by '%s' (bid %d), expected '%s'", path,
		    got, bid, want);
		checked++;
	}
	closedir(d);
}

START_TEST(test_samples_pieces)
{
	checked = 0;
	walk(apd_test_src("samples/pieces"));
	ck_assert_uint_ge(checked, 40);
}
END_TEST

/* A misleading name never wins against the content. */
START_TEST(test_name_does_not_beat_content)
{
	static const char cm[] = "<![LOG[x]LOG]!><time=\"10:00:00.1\" date=\"1-2-2025\" "
	    "component=\"c\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";
	struct apd_probe pr;
	int bid;

	pr.head = (const unsigned char *)cm;
	pr.len = sizeof(cm) - 1;
	pr.path = pr.name = "MdmDiagReport_RegistryDump.reg";
	pr.size = (int64_t)pr.len;
	ck_assert_str_eq(apd_parser_choose(&pr, &bid)->name, "cmtrace");
	pr.path = pr.name = "results.xml";
	ck_assert_str_eq(apd_parser_choose(&pr, &bid)->name, "cmtrace");
	pr.head = (const unsigned char *)"ElfFile\0\0\0\0\0";
	pr.len = 12;
	pr.path = pr.name = "IntuneManagementExtension.log";
	ck_assert_str_eq(apd_parser_choose(&pr, &bid)->name, "evtx");
}
END_TEST

static Suite *
bid_suite(void)
{
	Suite *s = suite_create("bid");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_samples_pieces);
	tcase_add_test(tc, test_name_does_not_beat_content);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(bid_suite());
}
