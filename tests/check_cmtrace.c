/*
 * check_cmtrace.c - the CMTrace / IME log parser (lib/parsers/apd_parse_cmtrace.c).
 *
 * Core:   the synthetic fixtures in tests/data/cmtrace/ (README.md there
 *         says what each one reproduces), field by field.
 * Blocks: the same bytes handed out in blocks of 1, 3, 7, 4096 bytes and
 *         whole give the same events and warnings.  The stream hands out
 *         its first 64 KiB (the bid head) as one block, so small fixtures
 *         are moved past it behind blank lines first.
 * Limits: max_record, in place and while an entry is gathered across blocks.
 * Corpus: the real IME logs under ../shared/corpus/ime (skipped when absent),
 *         checked against a naive whole-file oracle written here: counts,
 *         offsets, lines, messages byte for byte, timestamps, levels,
 *         fragments and warnings.
 * Bid:    corpus and fixtures are claimed; binary and plain text are not.
 */
#include "apd_test.h"
#include "apd_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fixtures[] = {
	"types-0-to-3-and-empty.log",
	"bias-plus480-minus060.log",
	"fraction-digits-1-to-7.log",
	"dates-not-zero-padded.log",
	"multiline-stack-trace.log",
	"truncated-at-eof.log",
	"truncated-in-metadata-at-eof.log",
	"nested-opening-interleaved-write.log",
	"orphan-tail-no-opening.log",
	"invalid-date-13-45-2025.log",
	"cp1252-message-not-utf8.log",
	"long-entry-over-max-record.log",
	"nul-padding-after-crash.log",
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static const char *const corpus_files[] = {
	"ime/IntuneManagementExtension-2025-06-03.log",
	"ime/IntuneManagementExtension-2025-08-01.log",
	"ime/IntuneManagementExtension-2025-08-04a.log",
	"ime/IntuneManagementExtension-2025-08-04b.log",
	"ime/2020-device/AgentExecutor.log",
	"ime/2020-device/ClientHealth.log",
	"ime/2020-device/IntuneManagementExtension.log",
};
#define N_CORPUS (sizeof(corpus_files) / sizeof(corpus_files[0]))

static const size_t block_sizes[] = { 1, 3, 7, 4096, 0 };
#define N_BLOCKS (sizeof(block_sizes) / sizeof(block_sizes[0]))

#define PAD 65536u   /* blank bytes ("\r\n" pairs) that push a fixture past the head */

/* ---------------------------------------------------------------- helpers */

static const struct apd_parser *
cmtrace(void)
{
	const struct apd_parser *p = apd_parser_find("cmtrace");

	ck_assert_ptr_nonnull(p);
	ck_assert_msg(p->run != NULL, "cmtrace has no run()");
	return p;
}

/* A fixture of tests/data/cmtrace, read whole (malloc'd). */
static unsigned char *
fixture(const char *name, size_t *n)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/data/cmtrace/%s", name);
	return apd_test_slurp_src(rel, n);
}

/* Parse buf with the given limits (NULL = defaults) and block size. */
static int
parse(const void *buf, size_t n, const char *name, const struct apd_limits *lim, size_t block,
    struct apd_test_out *o)
{
	struct apd_error err;

	apd_test_out_init(o);
	return apd_test_parse_mem_ex(cmtrace(), buf, n, name, lim, block, o, &err);
}

/* Parse a fixture whole with default limits. */
static int
parse_fixture(const char *name, struct apd_test_out *o)
{
	size_t n;
	unsigned char *b = fixture(name, &n);
	int rc = parse(b, n, name, NULL, 0, o);

	free(b);
	return rc;
}

/* Is there a warning about this line that says so in its text? */
static bool
warned_at(const struct apd_test_out *o, uint64_t line)
{
	char want[40];
	size_t i;

	snprintf(want, sizeof(want), "line %llu:", (unsigned long long)line);
	for (i = 0; i < o->nwarns; i++)
		if (o->warns[i].line == line && strncmp(o->warns[i].value, want, strlen(want)) == 0)
			return true;
	return false;
}

static bool
is_fragment(const struct apd_test_event *e)
{
	return e->data && strstr(e->data, "\"fragment\":true") != NULL;
}

/* Occurrences of s in p[0..n), found the slow obvious way. */
static size_t
count_str(const unsigned char *p, size_t n, const char *s)
{
	size_t m = strlen(s), i, k = 0;

	for (i = 0; i + m <= n; i++)
		if (p[i] == (unsigned char)s[0] && memcmp(p + i, s, m) == 0)
			k++;
	return k;
}

/* Offset of the first s in p[from..to), or to. */
static size_t
find_str(const unsigned char *p, size_t from, size_t to, const char *s)
{
	size_t m = strlen(s), i;

	for (i = from; i + m <= to; i++)
		if (p[i] == (unsigned char)s[0] && memcmp(p + i, s, m) == 0)
			return i;
	return to;
}

static bool
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The text of a warning after its "line N: " prefix. */
static const char *
warn_text(const char *w)
{
	const char *s = strncmp(w, "line ", 5) == 0 ? strstr(w, ": ") : NULL;

	return s ? s + 2 : w;
}

/* b's events and warnings are a's, moved down by dline lines and doff bytes. */
static void
assert_same(const struct apd_test_out *a, const struct apd_test_out *b, uint64_t dline,
    uint64_t doff, const char *what)
{
	size_t i;

	ck_assert_msg(a->nev == b->nev, "%s: %zu events, expected %zu", what, b->nev, a->nev);
	for (i = 0; i < a->nev; i++) {
		const struct apd_test_event *x = &a->ev[i], *y = &b->ev[i];

		ck_assert_msg(x->ts_utc == y->ts_utc && x->tz == y->tz && x->level == y->level &&
		    x->event_id == y->event_id, "%s: event %zu: time or level differs", what, i);
		ck_assert_msg(x->line + dline == y->line && x->offset + doff == y->offset,
		    "%s: event %zu: line %llu offset %llu, expected %llu %llu", what, i,
		    (unsigned long long)y->line, (unsigned long long)y->offset,
		    (unsigned long long)(x->line + dline), (unsigned long long)(x->offset + doff));
		ck_assert_msg(str_same(x->ts_local, y->ts_local) && str_same(x->component, y->component) &&
		    str_same(x->thread, y->thread) && str_same(x->message, y->message) &&
		    str_same(x->data, y->data) && str_same(x->channel, y->channel) &&
		    str_same(x->provider, y->provider), "%s: event %zu (line %llu): fields differ",
		    what, i, (unsigned long long)x->line);
	}
	ck_assert_msg(a->nwarns == b->nwarns, "%s: %zu warnings, expected %zu", what, b->nwarns,
	    a->nwarns);
	for (i = 0; i < a->nwarns; i++) {
		ck_assert_msg(a->warns[i].line + dline == b->warns[i].line, "%s: warning %zu line",
		    what, i);
		ck_assert_msg(strcmp(warn_text(a->warns[i].value), warn_text(b->warns[i].value)) == 0,
		    "%s: warning %zu: '%s' vs '%s'", what, i, a->warns[i].value, b->warns[i].value);
	}
}

/* buf with PAD blank bytes inserted after its BOM (if any). */
static unsigned char *
padded(const unsigned char *b, size_t n, size_t *pn)
{
	size_t bom = n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0, i;
	unsigned char *out = malloc(n + PAD);

	ck_assert_ptr_nonnull(out);
	memcpy(out, b, bom);
	for (i = 0; i < PAD; i += 2) {
		out[bom + i] = '\r';
		out[bom + i + 1] = '\n';
	}
	memcpy(out + bom + PAD, b + bom, n - bom);
	*pn = n + PAD;
	return out;
}

/* A small deterministic PRNG (xorshift64). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The cmtrace bid for a buffer under a name. */
static int
bid_of(const void *buf, size_t n, const char *name)
{
	struct apd_probe pr;

	pr.head = buf;
	pr.len = n < APD_STREAM_HEAD ? n : APD_STREAM_HEAD;
	pr.name = name;
	pr.path = name;
	pr.size = (int64_t)n;
	return cmtrace()->bid(&pr);
}

/* ------------------------------------------------------------------ Core */

START_TEST(test_cmtrace_types_and_levels)
{
	static const int levels[] = { APD_LVL_INFO, APD_LVL_INFO, APD_LVL_WARNING, APD_LVL_ERROR,
		APD_LVL_NONE, APD_LVL_NONE, APD_LVL_INFO };
	static const char *const data[] = { "{\"type\":\"0\"}", "{\"type\":\"1\"}",
		"{\"type\":\"2\"}", "{\"type\":\"3\"}", "{\"type\":\"\"}",
		"{\"type\":\"4\",\"context\":\"SYSTEM\",\"file\":\"<ScriptBlock>:12\"}",
		"{\"type\":\"1\"}" };
	struct apd_test_out o;
	unsigned char *b;
	size_t n, i, at = 0;

	ck_assert_int_eq(parse_fixture("types-0-to-3-and-empty.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 7);
	ck_assert_uint_eq(o.nwarns, 0);
	b = fixture("types-0-to-3-and-empty.log", &n);
	for (i = 0; i < o.nev; i++) {
		at = find_str(b, at, n, "<![LOG[");
		ck_assert_uint_eq(o.ev[i].offset, at);
		at++;
		ck_assert_uint_eq(o.ev[i].line, i + 1);
		ck_assert_int_eq(o.ev[i].level, levels[i]);
		ck_assert_str_eq(o.ev[i].data, data[i]);
		ck_assert_int_eq(o.ev[i].tz, APD_TZ_LOCAL);
		ck_assert(o.ev[i].ts_utc == APD_TS_NONE);
		ck_assert_ptr_null(o.ev[i].channel);
		ck_assert_int_eq(o.ev[i].event_id, -1);
	}
	free(b);
	ck_assert_uint_eq(o.ev[0].offset, 3);   /* after the BOM */
	ck_assert_str_eq(o.ev[0].message, "Service starting");
	ck_assert_str_eq(o.ev[0].ts_local, "2025-07-22 15:21:28.2660519");
	ck_assert_str_eq(o.ev[0].component, "IntuneManagementExtension");
	ck_assert_str_eq(o.ev[1].thread, "12");
	ck_assert_str_eq(o.ev[3].message, "Download failed: 0x80070005");
	ck_assert_str_eq(o.ev[3].component, "AgentExecutor");
	ck_assert_str_eq(o.ev[3].ts_local, "2025-07-22 15:21:30.1234567");
	/* empty message, component and thread are empty, not absent */
	ck_assert_str_eq(o.ev[6].message, "");
	ck_assert_str_eq(o.ev[6].component, "");
	ck_assert_str_eq(o.ev[6].thread, "");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_bias_minutes)
{
	/* UTC = local + bias; expected values computed with Python's datetime */
	static const int64_t utc[] = { 1754346645123000LL, 1754314245123000LL,
		1754317845123000LL, 1735716600000000LL, 1709235000123456LL };
	static const char *const local[] = { "2025-08-04 14:30:45.123", "2025-08-04 14:30:45.123",
		"2025-08-04 14:30:45.123", "2024-12-31 23:30:00.000", "2024-03-01 01:00:00.1234567" };
	struct apd_test_out o;
	size_t i;

	ck_assert_int_eq(parse_fixture("bias-plus480-minus060.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 5);
	for (i = 0; i < o.nev; i++) {
		ck_assert_int_eq(o.ev[i].tz, APD_TZ_BIAS);
		ck_assert_int_eq(o.ev[i].ts_utc, utc[i]);
		ck_assert_str_eq(o.ev[i].ts_local, local[i]);
	}
	/* +480 is Pacific (UTC-8): 14:30 local is 22:30 UTC */
	ck_assert_int_eq(o.ev[0].ts_utc - o.ev[2].ts_utc, 8 * 3600 * APD_US_PER_SEC);
	/* -060 is Central Europe (UTC+1) */
	ck_assert_int_eq(o.ev[2].ts_utc - o.ev[1].ts_utc, 3600 * APD_US_PER_SEC);
	ck_assert_str_eq(o.ev[0].data, "{\"type\":\"1\",\"file\":\"ccmexec.cpp:100\"}");
	ck_assert_str_eq(o.ev[0].thread, "4242");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_fraction_digits)
{
	static const char *const want[] = { "2025-01-02 08:05:09", "2025-01-02 08:05:09.1",
		"2025-01-02 08:05:09.12", "2025-01-02 08:05:09.123", "2025-01-02 08:05:09.1234",
		"2025-01-02 08:05:09.12345", "2025-01-02 08:05:09.123456",
		"2025-01-02 08:05:09.1234567", "2025-01-02 08:05:09.0000042",
		"2025-01-02 08:05:09.5" };
	static const unsigned frac[] = { 0, 1, 12, 123, 1234, 12345, 123456, 1234567, 42, 5 };
	static const unsigned fd[] = { 0, 1, 2, 3, 4, 5, 6, 7, 7, 1 };
	struct apd_test_out o;
	char buf[32];
	size_t i;

	ck_assert_int_eq(parse_fixture("fraction-digits-1-to-7.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 10);
	for (i = 0; i < o.nev; i++) {
		ck_assert_str_eq(o.ev[i].ts_local, want[i]);
		/* the parser's own formatter agrees with apd_format_local() */
		buf[apd_format_local(buf, 2025, 1, 2, 8, 5, 9, frac[i], fd[i])] = '\0';
		ck_assert_str_eq(o.ev[i].ts_local, buf);
		ck_assert_int_eq(o.ev[i].tz, APD_TZ_LOCAL);
	}
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_dates_not_padded)
{
	static const char *const want[] = { "2025-01-02 10:00:00.0000000",
		"2024-12-31 10:00:00.0000000", "2025-02-03 10:00:00.0000000",
		"2024-02-29 10:00:00.0000000", "2025-10-05 10:00:00.0000000" };
	struct apd_test_out o;
	size_t i;

	ck_assert_int_eq(parse_fixture("dates-not-zero-padded.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 5);
	for (i = 0; i < o.nev; i++)
		ck_assert_str_eq(o.ev[i].ts_local, want[i]);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_multiline)
{
	static const char trace[] =
	    "Install failed, exception is Sample.AgentException: Access denied.\n"
	    "Exception: Sample.AgentException: Access denied.\r\n"
	    "   at Sample.Agent.Installer.RunAsync(String path)\r\n"
	    "--- End of stack trace from previous location where exception was thrown ---\r\n"
	    "   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)";
	struct apd_test_out o;

	ck_assert_int_eq(parse_fixture("multiline-stack-trace.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 5);
	ck_assert_str_eq(o.ev[1].message, trace);
	ck_assert_int_eq(o.ev[1].level, APD_LVL_ERROR);
	ck_assert_str_eq(o.ev[1].ts_local, "2025-08-04 09:41:12.6543210");
	ck_assert_str_eq(o.ev[1].thread, "16");
	ck_assert_str_eq(o.ev[3].message, "Script output:\r\n\r\n  exit code 0");
	ck_assert_uint_eq(o.ev[0].line, 1);
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_uint_eq(o.ev[2].line, 7);
	ck_assert_uint_eq(o.ev[3].line, 8);
	ck_assert_uint_eq(o.ev[4].line, 11);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_truncated_at_eof)
{
	struct apd_test_out o;

	ck_assert_int_eq(parse_fixture("truncated-at-eof.log", &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_str_eq(o.ev[2].message, "Downloading content\r\n  42% done");
	ck_assert_uint_eq(o.ev[2].line, 3);
	ck_assert_ptr_null(o.ev[2].ts_local);
	ck_assert(o.ev[2].ts_utc == APD_TS_NONE);
	ck_assert_int_eq(o.ev[2].tz, APD_TZ_NONE);
	ck_assert_int_eq(o.ev[2].level, APD_LVL_NONE);
	ck_assert_ptr_null(o.ev[2].component);
	ck_assert_str_eq(o.ev[2].data, "{\"truncated\":true}");
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned_at(&o, 3));
	ck_assert_str_eq(o.ev[1].ts_local, "2025-08-04 11:00:01.0000000");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_truncated_in_metadata)
{
	struct apd_test_out o;

	ck_assert_int_eq(parse_fixture("truncated-in-metadata-at-eof.log", &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_str_eq(o.ev[1].message, "Almost complete");
	/* time and date were complete before the cut */
	ck_assert_str_eq(o.ev[1].ts_local, "2025-08-04 11:00:02.5000000");
	ck_assert_ptr_null(o.ev[1].component);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned_at(&o, 2));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_nested_openings)
{
	struct apd_test_out o;
	unsigned char *b;
	size_t n, i, frag = 0;

	ck_assert_int_eq(parse_fixture("nested-opening-interleaved-write.log", &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 8);
	b = fixture("nested-opening-interleaved-write.log", &n);
	for (i = 0; i < o.nev; i++)
		frag += is_fragment(&o.ev[i]);
	ck_assert_uint_eq(o.nev - frag, count_str(b, n, "<![LOG["));
	free(b);
	/* metadata cut by the next opening: message whole, time kept, the rest lost */
	ck_assert_str_eq(o.ev[1].message, "Rule summary: result = Pass");
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_str_eq(o.ev[1].ts_local, "2021-03-09 10:12:04.2000002");
	ck_assert_ptr_null(o.ev[1].component);
	ck_assert_int_eq(o.ev[1].level, APD_LVL_NONE);
	/* the entry that cut it, on the same line */
	ck_assert_str_eq(o.ev[2].message, "Check-in with the device app");
	ck_assert_uint_eq(o.ev[2].line, 2);
	ck_assert_str_eq(o.ev[2].component, "IntuneManagementExtension");
	/* a message cut by an opening: partial message, no timestamp */
	ck_assert_str_eq(o.ev[3].message, "Looking up the signed-in");
	ck_assert_uint_eq(o.ev[3].line, 3);
	ck_assert_ptr_null(o.ev[3].ts_local);
	ck_assert_str_eq(o.ev[3].data, "{\"truncated\":true}");
	ck_assert_str_eq(o.ev[4].message, "Report sent.");
	ck_assert_uint_eq(o.ev[4].line, 3);
	ck_assert_str_eq(o.ev[4].ts_local, "2021-03-09 10:12:05.4000004");
	/* the debris of the cut metadata, kept as a fragment */
	ck_assert_str_eq(o.ev[6].message, "\"1\" file=\"\">");
	ck_assert_uint_eq(o.ev[6].line, 5);
	ck_assert_str_eq(o.ev[6].data, "{\"fragment\":true,\"truncated\":true}");
	ck_assert_str_eq(o.ev[7].message, "Next");
	ck_assert_uint_eq(o.ev[7].line, 6);
	ck_assert(warned_at(&o, 2));
	ck_assert(warned_at(&o, 3));
	ck_assert(warned_at(&o, 5));
	ck_assert(!warned_at(&o, 1) && !warned_at(&o, 4) && !warned_at(&o, 6));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_orphan_tail)
{
	static const char rotated[] =
	    "\xEF\xBB\xBF" "the end of a message from the previous file]LOG]!><time=\"23:59:59.9990000\" "
	    "date=\"8-3-2025\" component=\"IntuneManagementExtension\" context=\"\" type=\"2\" "
	    "thread=\"4\" file=\"\">\r\n<![LOG[First of this file]LOG]!><time=\"00:00:00.0010000\" "
	    "date=\"8-4-2025\" component=\"IntuneManagementExtension\" context=\"\" type=\"1\" "
	    "thread=\"4\" file=\"\">\r\n";
	struct apd_test_out o;

	ck_assert_int_eq(parse_fixture("orphan-tail-no-opening.log", &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert(!is_fragment(&o.ev[0]) && is_fragment(&o.ev[1]) && !is_fragment(&o.ev[2]));
	ck_assert_str_eq(o.ev[1].message, "1 certificates found in the machine store.");
	ck_assert_str_eq(o.ev[1].data, "{\"type\":\"1\",\"fragment\":true}");
	ck_assert_str_eq(o.ev[1].ts_local, "2025-08-04 10:50:03.3000003");
	ck_assert_int_eq(o.ev[1].level, APD_LVL_INFO);
	ck_assert_str_eq(o.ev[1].thread, "1");
	ck_assert_uint_eq(o.ev[1].line, 2);
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned_at(&o, 2));
	apd_test_out_free(&o);

	/* a rotated log that starts with the tail of an entry */
	ck_assert_int_eq(parse(rotated, sizeof(rotated) - 1, "rotated.log", NULL, 0, &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert(is_fragment(&o.ev[0]));
	ck_assert_uint_eq(o.ev[0].offset, 3);
	ck_assert_uint_eq(o.ev[0].line, 1);
	ck_assert_str_eq(o.ev[0].message, "the end of a message from the previous file");
	ck_assert_str_eq(o.ev[0].ts_local, "2025-08-03 23:59:59.9990000");
	ck_assert_int_eq(o.ev[0].level, APD_LVL_WARNING);
	ck_assert_str_eq(o.ev[1].message, "First of this file");
	ck_assert(warned_at(&o, 1));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_invalid_metadata)
{
	struct apd_test_out o;
	uint64_t l;

	ck_assert_int_eq(parse_fixture("invalid-date-13-45-2025.log", &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 10);
	for (l = 1; l <= 7; l++) {
		const struct apd_test_event *e = &o.ev[l - 1];

		ck_assert_uint_eq(e->line, l);
		ck_assert_ptr_null(e->ts_local);
		ck_assert(e->ts_utc == APD_TS_NONE);
		ck_assert_int_eq(e->tz, APD_TZ_NONE);
		ck_assert(!is_fragment(e));
		ck_assert_msg(warned_at(&o, l), "no warning for line %llu", (unsigned long long)l);
	}
	/* the rest of the metadata survives a bad time or date */
	for (l = 0; l < 5; l++) {
		ck_assert_pstr_eq(o.ev[l].component, "IntuneManagementExtension");
		ck_assert_pstr_eq(o.ev[l].thread, "5");
		ck_assert_int_eq(o.ev[l].level, APD_LVL_INFO);
	}
	ck_assert_str_eq(o.ev[0].message, "Bad month and day");
	ck_assert_str_eq(o.ev[5].message, "Not metadata");
	/* metadata ends at the end of its line even without '>': what it holds is kept,
	   and the next line is text outside any entry */
	ck_assert_str_eq(o.ev[7].message, "Metadata without its bracket");
	ck_assert_uint_eq(o.ev[7].line, 8);
	ck_assert_pstr_eq(o.ev[7].ts_local, "2025-08-04 09:00:02.0000000");
	ck_assert_pstr_eq(o.ev[7].thread, "5");
	ck_assert(warned_at(&o, 8));
	ck_assert(is_fragment(&o.ev[8]));
	ck_assert_str_eq(o.ev[8].message, "stray line after it, with a > sign");
	ck_assert_uint_eq(o.ev[8].line, 9);
	ck_assert(warned_at(&o, 9));
	ck_assert_str_eq(o.ev[9].ts_local, "2025-08-04 09:00:01.0000000");
	ck_assert_uint_eq(o.ev[9].line, 10);
	ck_assert(!warned_at(&o, 10));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_cp1252)
{
	struct apd_test_out o;

	ck_assert_int_eq(parse_fixture("cp1252-message-not-utf8.log", &o), APD_OK);
	ck_assert_uint_eq(o.nev, 2);
	/* "Café résumé € 5 “quoted”" */
	ck_assert_str_eq(o.ev[0].message, "Caf\xC3\xA9 r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC 5 "
	    "\xE2\x80\x9Cquoted\xE2\x80\x9D");
	ck_assert_str_eq(o.ev[0].component, "Caf\xC3\xA9");
	ck_assert_uint_eq(o.ev[0].offset, 0);   /* no BOM */
	/* valid UTF-8 is not transcoded twice */
	ck_assert_str_eq(o.ev[1].message, "Gr\xC3\xBC\xC3\x9F" "e in UTF-8 stay as they are");
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_nul_padding)
{
	struct apd_test_out o;
	unsigned char *b;
	size_t n, i;

	ck_assert_int_eq(parse_fixture("nul-padding-after-crash.log", &o), APD_WARN);
	b = fixture("nul-padding-after-crash.log", &n);
	ck_assert_uint_eq(o.nev, count_str(b, n, "<![LOG["));
	free(b);
	for (i = 0; i < o.nev; i++)
		ck_assert(!is_fragment(&o.ev[i]));
	ck_assert_str_eq(o.ev[1].message, "Half written");
	ck_assert_str_eq(o.ev[1].data, "{\"truncated\":true}");
	ck_assert_str_eq(o.ev[2].message, "After reboot");
	ck_assert_str_eq(o.ev[3].message, "Second after reboot");
	ck_assert_uint_eq(o.ev[3].line, 3);
	ck_assert(warned_at(&o, 2));
	ck_assert(warned_at(&o, 3));
	for (i = 0; i < o.nwarns; i++)
		if (o.warns[i].line == 3)
			ck_assert_ptr_nonnull(strstr(o.warns[i].value, "NUL"));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_empty_inputs)
{
	static const char *const in[] = { "", "\xEF\xBB\xBF", "\r\n\r\n \t\r\n",
		"\xEF\xBB\xBF\r\n" };
	struct apd_test_out o;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_eq(parse(in[i], strlen(in[i]), "empty.log", NULL, 0, &o), APD_OK);
		ck_assert_uint_eq(o.nev, 0);
		ck_assert_uint_eq(o.nwarns, 0);
		apd_test_out_free(&o);
	}
}
END_TEST

/* Two IME logs concatenated: the second BOM is skipped with a warning. */
START_TEST(test_cmtrace_concatenated_bom)
{
	struct apd_test_out o, p;
	unsigned char *b, *cat, *pb;
	size_t n, pn, i, k;

	b = fixture("types-0-to-3-and-empty.log", &n);
	cat = malloc(2 * n);
	ck_assert_ptr_nonnull(cat);
	memcpy(cat, b, n);
	memcpy(cat + n, b, n);
	ck_assert_int_eq(parse(cat, 2 * n, "cat.log", NULL, 0, &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 14);
	for (i = 0; i < o.nev; i++)
		ck_assert(!is_fragment(&o.ev[i]));
	ck_assert_uint_eq(o.ev[7].line, 8);
	ck_assert_uint_eq(o.ev[7].offset, n + 3);
	ck_assert_str_eq(o.ev[7].message, "Service starting");
	ck_assert_uint_eq(o.nwarns, 1);
	ck_assert(warned_at(&o, 8));
	pb = padded(cat, 2 * n, &pn);
	for (k = 0; k < N_BLOCKS; k++) {
		ck_assert_int_eq(parse(pb, pn, "cat.log", NULL, block_sizes[k], &p), APD_WARN);
		assert_same(&o, &p, PAD / 2, PAD, "concatenated");
		apd_test_out_free(&p);
	}
	apd_test_out_free(&o);
	free(pb);
	free(cat);
	free(b);
}
END_TEST

START_TEST(test_cmtrace_plain_text_is_kept)
{
	static const char in[] = "not a log\r\njust text\r\n";
	struct apd_test_out o;

	ck_assert_int_eq(parse(in, sizeof(in) - 1, "notes.txt", NULL, 0, &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert(is_fragment(&o.ev[0]));
	ck_assert_str_eq(o.ev[0].message, "not a log\r\njust text");
	ck_assert(warned_at(&o, 1));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_binary_fails)
{
	static const unsigned char u16[] = { 0xFF, 0xFE, '<', 0, '!', 0, '[', 0, 'L', 0, 'O', 0,
		'G', 0, '[', 0 };
	struct apd_test_out o;
	struct apd_error err;
	unsigned char buf[8192];
	uint64_t s = 0x9E3779B97F4A7C15ull;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rnd(&s);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(cmtrace(), buf, sizeof(buf), "junk.bin", NULL, 0, &o,
	    &err), APD_FAILED);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "junk.bin"));
	ck_assert_ptr_nonnull(strstr(err.msg, "offset"));
	apd_test_out_free(&o);

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem_ex(cmtrace(), u16, sizeof(u16), "wide.log", NULL, 0, &o,
	    &err), APD_FAILED);
	ck_assert_ptr_nonnull(strstr(err.msg, "wide.log"));
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_sink_stop)
{
	struct apd_test_out o;
	unsigned char *b, *pb;
	size_t n, pn, k;

	b = fixture("types-0-to-3-and-empty.log", &n);
	pb = padded(b, n, &pn);
	for (k = 0; k < N_BLOCKS; k++) {
		struct apd_error err;

		apd_test_out_init(&o);
		o.stop_after_events = 3;
		ck_assert_int_eq(apd_test_parse_mem_ex(cmtrace(), pb, pn, "stop.log", NULL,
		    block_sizes[k], &o, &err), APD_FATAL);
		ck_assert_uint_eq(o.nev, 3);
		apd_test_out_free(&o);
	}
	free(pb);
	free(b);
}
END_TEST

/* ---------------------------------------------------------------- Blocks */

/* Every fixture, moved past the head, parses the same in any block size. */
static void
check_blocks(const char *name, const struct apd_limits *lim)
{
	struct apd_test_out ref, o;
	unsigned char *b, *pb;
	size_t n, pn, k;
	int rc, prc;
	char what[256];

	b = fixture(name, &n);
	rc = parse(b, n, name, lim, 0, &ref);
	pb = padded(b, n, &pn);
	for (k = 0; k < N_BLOCKS; k++) {
		snprintf(what, sizeof(what), "%s, block %zu", name, block_sizes[k]);
		prc = parse(pb, pn, name, lim, block_sizes[k], &o);
		ck_assert_msg(prc == rc, "%s: code %d, expected %d", what, prc, rc);
		assert_same(&ref, &o, PAD / 2, PAD, what);
		apd_test_out_free(&o);
	}
	apd_test_out_free(&ref);
	free(pb);
	free(b);
}

START_TEST(test_cmtrace_blocks_fixtures)
{
	struct apd_limits lim;

	check_blocks(fixtures[_i], NULL);
	apd_limits_default(&lim);
	lim.max_record = 64;
	check_blocks(fixtures[_i], &lim);
	lim.max_record = 5;
	check_blocks(fixtures[_i], &lim);
}
END_TEST

/* ---------------------------------------------------------------- Limits */

START_TEST(test_cmtrace_max_record)
{
	struct apd_limits lim;
	struct apd_test_out o;
	unsigned char *b;
	size_t n;
	char want[128];

	apd_limits_default(&lim);
	lim.max_record = 64;
	b = fixture("long-entry-over-max-record.log", &n);
	ck_assert_int_eq(parse(b, n, "long.log", &lim, 0, &o), APD_WARN);
	ck_assert_uint_eq(o.nev, 4);
	/* 63 'A's: the 2-byte 'é' straddling byte 64 is not split */
	memset(want, 'A', 63);
	want[63] = '\0';
	ck_assert_str_eq(o.ev[0].message, want);
	ck_assert_str_eq(o.ev[0].data, "{\"type\":\"1\",\"truncated\":true}");
	ck_assert_str_eq(o.ev[0].ts_local, "2025-08-04 13:00:00.0000000");   /* metadata still read */
	ck_assert_str_eq(o.ev[1].message, "short");
	memset(want, 'C', 64);
	want[64] = '\0';
	ck_assert_str_eq(o.ev[2].message, want);
	ck_assert_str_eq(o.ev[3].message, "end");
	ck_assert_uint_eq(o.ev[3].line, 4);
	ck_assert(warned_at(&o, 1));
	ck_assert(warned_at(&o, 3));
	ck_assert(!warned_at(&o, 2));
	apd_test_out_free(&o);

	/* the default limit leaves it whole */
	ck_assert_int_eq(parse(b, n, "long.log", NULL, 0, &o), APD_WARN);   /* entry 3 has no closing */
	ck_assert_uint_eq(strlen(o.ev[0].message), 165);
	ck_assert_ptr_nonnull(strstr(o.ev[0].message, "A\xC3\xA9" "B"));
	ck_assert_str_eq(o.ev[0].data, "{\"type\":\"1\"}");
	ck_assert(!warned_at(&o, 1));
	apd_test_out_free(&o);
	free(b);
}
END_TEST

/* Append s to a growing buffer. */
static void
put(unsigned char *buf, size_t *n, size_t cap, const void *s, size_t len)
{
	ck_assert_uint_le(*n + len, cap);
	memcpy(buf + *n, s, len);
	*n += len;
}

#define META(t) "<time=\"" t "\" date=\"8-4-2025\" component=\"IntuneManagementExtension\" " \
	"context=\"\" type=\"1\" thread=\"1\" file=\"\">"

/*
 * Entries far longer than max_record and than the parser's slack, so that
 * gathering one across blocks must drop bytes as it goes: the result must
 * still be the same for every block size and match the in-place cut.
 */
START_TEST(test_cmtrace_max_record_while_gathering)
{
	static const char *const hdr = "\xEF\xBB\xBF";
	const size_t cap = 2u << 20, max_record = 1000;
	struct apd_limits lim;
	struct apd_test_out ref, o;
	unsigned char *buf = malloc(cap);
	size_t n = 0, i, k, a_msg, c_msg;
	uint64_t line_b, line_d, nl = 0;
	char line[64], what[64];

	ck_assert_ptr_nonnull(buf);
	put(buf, &n, cap, hdr, 3);
	/* A: 300 KiB message of lines with 2-byte characters, then metadata */
	put(buf, &n, cap, "<![LOG[", 7);
	a_msg = n;
	for (i = 0; n - a_msg < 300u * 1024; i++) {
		k = (size_t)snprintf(line, sizeof(line), "line %06zu \xC3\xA9\xC3\xBC\r\n", i);
		put(buf, &n, cap, line, k);
	}
	put(buf, &n, cap, "]LOG]!>" META("10:00:00.0000000") "\r\n",
	    strlen("]LOG]!>" META("10:00:00.0000000") "\r\n"));
	/* B: short */
	for (i = 0, nl = 0; i < n; i++)
		nl += buf[i] == '\n';
	line_b = nl + 1;
	put(buf, &n, cap, "<![LOG[B]LOG]!>" META("10:00:01.0000000") "\r\n",
	    strlen("<![LOG[B]LOG]!>" META("10:00:01.0000000") "\r\n"));
	/* C: 200 KiB without a closing, cut by C2 */
	put(buf, &n, cap, "<![LOG[", 7);
	c_msg = n;
	for (i = 0; i < 200u * 1024; i++)
		buf[n++] = (unsigned char)('a' + i % 26);
	put(buf, &n, cap, "\r\n", 2);
	put(buf, &n, cap, "<![LOG[C2]LOG]!>" META("10:00:01.5000000") "\r\n",
	    strlen("<![LOG[C2]LOG]!>" META("10:00:01.5000000") "\r\n"));
	/* 150 KiB of NUL padding (skipped), E, then 100 KiB of text outside any entry */
	memset(buf + n, 0, 150u * 1024);
	n += 150u * 1024;
	put(buf, &n, cap, "\r\n<![LOG[E]LOG]!>" META("10:00:01.7000000") "\r\n",
	    strlen("\r\n<![LOG[E]LOG]!>" META("10:00:01.7000000") "\r\n"));
	for (i = 0; i < 100u * 1024 / 16; i++)
		put(buf, &n, cap, "stray text line\n", 16);
	/* D: short */
	for (i = 0, nl = 0; i < n; i++)
		nl += buf[i] == '\n';
	line_d = nl + 1;
	put(buf, &n, cap, "<![LOG[D]LOG]!>" META("10:00:02.0000000") "\r\n",
	    strlen("<![LOG[D]LOG]!>" META("10:00:02.0000000") "\r\n"));

	apd_limits_default(&lim);
	lim.max_record = max_record;
	ck_assert_int_eq(parse(buf, n, "big.log", &lim, 0, &ref), APD_WARN);
	ck_assert_uint_eq(ref.nev, 7);
	/* A: cut at 1000 bytes, or before a split 2-byte character */
	k = strlen(ref.ev[0].message);
	ck_assert(k == max_record || k == max_record - 1);
	ck_assert(memcmp(ref.ev[0].message, buf + a_msg, k) == 0);
	ck_assert_str_eq(ref.ev[0].ts_local, "2025-08-04 10:00:00.0000000");
	ck_assert_ptr_nonnull(strstr(ref.ev[0].data, "\"truncated\":true"));
	ck_assert_str_eq(ref.ev[1].message, "B");
	ck_assert_uint_eq(ref.ev[1].line, line_b);
	ck_assert_uint_eq(strlen(ref.ev[2].message), max_record);
	ck_assert(memcmp(ref.ev[2].message, buf + c_msg, max_record) == 0);
	ck_assert_ptr_null(ref.ev[2].ts_local);
	ck_assert_str_eq(ref.ev[3].message, "C2");
	ck_assert_str_eq(ref.ev[4].message, "E");   /* the NUL run before it is skipped */
	ck_assert(is_fragment(&ref.ev[5]));         /* the stray text */
	ck_assert_uint_eq(strlen(ref.ev[5].message), max_record);
	ck_assert_str_eq(ref.ev[6].message, "D");
	ck_assert_uint_eq(ref.ev[6].line, line_d);
	for (i = 0, k = 0; i < ref.nwarns; i++)
		k += strstr(ref.warns[i].value, "NUL padding") != NULL;
	ck_assert_uint_eq(k, 1);

	for (k = 0; k < N_BLOCKS; k++) {
		snprintf(what, sizeof(what), "gathering, block %zu", block_sizes[k]);
		ck_assert_int_eq(parse(buf, n, "big.log", &lim, block_sizes[k], &o), APD_WARN);
		assert_same(&ref, &o, 0, 0, what);
		apd_test_out_free(&o);
	}
	/* block size 65536 + 5: seams fall inside the markers at other places */
	ck_assert_int_eq(parse(buf, n, "big.log", &lim, 65541, &o), APD_WARN);
	assert_same(&ref, &o, 0, 0, "gathering, block 65541");
	apd_test_out_free(&o);
	apd_test_out_free(&ref);
	free(buf);
}
END_TEST

/*
 * Slide an entry's closing tag, one byte at a time, across the two places
 * where a long entry is rebuffered: the end of the stream's 64 KiB head
 * (the first block) and the point where the gathered entry first outgrows
 * max_record plus the parser's 64 KiB slack and is compacted.  Blocks of
 * one byte put a seam inside the tag every time; the tag must still be
 * found, so the entry keeps its timestamp and the next one stands alone.
 */
START_TEST(test_cmtrace_closing_across_seams)
{
	static const char meta[] = "]LOG]!>" META("10:00:00.1234567") "\r\n";
	static const char next[] = "<![LOG[next]LOG]!>" META("10:00:01.0000000") "\r\n";
	const size_t lo = 65536 - 48, hi = 65536 + 48, cap = 3 + 7 + hi + 512;
	struct apd_limits lim;
	struct apd_test_out o;
	unsigned char *buf = malloc(cap);
	size_t len, n, i;
	uint64_t nl;

	ck_assert_ptr_nonnull(buf);
	apd_limits_default(&lim);
	lim.max_record = 16;
	for (len = lo; len <= hi; len++) {
		n = 0;
		put(buf, &n, cap, "\xEF\xBB\xBF<![LOG[", 10);
		for (i = 0, nl = 0; i < len; i++) {
			buf[n++] = i % 100 == 99 ? '\n' : 'x';
			nl += i % 100 == 99;
		}
		put(buf, &n, cap, meta, sizeof(meta) - 1);
		put(buf, &n, cap, next, sizeof(next) - 1);
		ck_assert_int_eq(parse(buf, n, "seams.log", &lim, 1, &o), APD_WARN);
		ck_assert_msg(o.nev == 2, "message length %zu: %zu events", len, o.nev);
		ck_assert_pstr_eq(o.ev[0].ts_local, "2025-08-04 10:00:00.1234567");
		ck_assert_str_eq(o.ev[0].message, "xxxxxxxxxxxxxxxx");
		ck_assert_str_eq(o.ev[1].message, "next");
		ck_assert_uint_eq(o.ev[1].line, nl + 2);
		ck_assert_uint_eq(o.nwarns, 1);   /* the cut only */
		apd_test_out_free(&o);
	}
	free(buf);
}
END_TEST

/* ---------------------------------------------------------------- Corpus */

/* What a naive reading of the whole file expects of one "<![LOG[" entry. */
struct expect {
	size_t off;          /* of "<![LOG[" */
	uint64_t line;
	bool closed;         /* a "]LOG]!>" before the next "<![LOG[" */
	size_t msg, msg_end; /* message bytes when closed; the whole rest otherwise */
	bool meta_cut;       /* closed, but no '>' before the next "<![LOG[" */
	char ts[40];         /* expected ts_local, "" if sscanf could not read one */
};

struct oracle {
	unsigned char *buf;
	size_t n;
	struct expect *e;
	size_t ne;
	size_t frag_off[64]; /* where text outside entries starts */
	uint64_t frag_line[64];
	size_t nfrag;
	size_t types[4];     /* type="0".."3" anywhere in the file */
	size_t cur;          /* line_at() counts on from here... */
	uint64_t cur_line;   /* ...which is on this line */
};

/* Line of offset off, by counting; offsets must come in ascending order. */
static uint64_t
line_at(struct oracle *or, size_t off)
{
	ck_assert_uint_ge(off, or->cur);
	for (; or->cur < off; or->cur++)
		or->cur_line += or->buf[or->cur] == '\n';
	return or->cur_line;
}

static bool
blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* First non-blank byte in [from, to), or to. */
static size_t
skip_blank(const unsigned char *p, size_t from, size_t to)
{
	while (from < to && blank(p[from]))
		from++;
	return from;
}

static void
add_fragment(struct oracle *or, size_t off)
{
	ck_assert_uint_lt(or->nfrag, 64);
	or->frag_off[or->nfrag] = off;
	or->frag_line[or->nfrag] = line_at(or, off);
	or->nfrag++;
}

/* Read the file and derive what the parser must produce, the slow way. */
static void
oracle_build(struct oracle *or, const char *path)
{
	size_t start, i, r, close, gt, cap = 1024, t;
	char meta[256], frac[16], tn[16];
	unsigned h, mi, s, mo, d, y;
	struct expect *x;

	memset(or, 0, sizeof(*or));
	or->buf = apd_test_slurp(path, &or->n);
	ck_assert_ptr_nonnull(or->buf);
	or->cur_line = 1;
	or->e = malloc(cap * sizeof(*or->e));
	ck_assert_ptr_nonnull(or->e);
	start = or->n >= 3 && memcmp(or->buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	for (t = 0; t < 4; t++) {
		snprintf(tn, sizeof(tn), "type=\"%zu\"", t);
		or->types[t] = count_str(or->buf, or->n, tn);
	}
	i = find_str(or->buf, start, or->n, "<![LOG[");
	if (skip_blank(or->buf, start, i) < i)
		add_fragment(or, skip_blank(or->buf, start, i));
	while (i < or->n) {
		if (or->ne == cap) {
			cap *= 2;
			or->e = realloc(or->e, cap * sizeof(*or->e));
			ck_assert_ptr_nonnull(or->e);
		}
		x = &or->e[or->ne++];
		memset(x, 0, sizeof(*x));
		x->off = i;
		x->line = line_at(or, i);
		r = find_str(or->buf, i + 1, or->n, "<![LOG[");
		close = find_str(or->buf, i + 7, r, "]LOG]!>");
		x->msg = i + 7;
		x->closed = close < r;
		x->msg_end = x->closed ? close : r;
		if (x->closed) {
			gt = find_str(or->buf, close + 7, r, ">");
			x->meta_cut = gt == r;
			t = r - (close + 7) < sizeof(meta) - 1 ? r - (close + 7) : sizeof(meta) - 1;
			memcpy(meta, or->buf + close + 7, t);
			meta[t] = '\0';
			if (sscanf(meta, "<time=\"%u:%u:%u.%7[0-9]\" date=\"%u-%u-%u\"", &h, &mi, &s,
			    frac, &mo, &d, &y) == 7)
				snprintf(x->ts, sizeof(x->ts), "%04u-%02u-%02u %02u:%02u:%02u.%s", y, mo,
				    d, h, mi, s, frac);
			if (!x->meta_cut && skip_blank(or->buf, gt + 1, r) < r)
				add_fragment(or, skip_blank(or->buf, gt + 1, r));
		}
		i = r;
	}
}

static void
oracle_free(struct oracle *or)
{
	free(or->buf);
	free(or->e);
}

/* Check one corpus file against the oracle. */
static void
check_corpus_file(const char *rel)
{
	const char *path = apd_test_corpus(rel);
	struct apd_test_out o;
	struct apd_error err;
	struct oracle or;
	size_t i, j, f, lv[6] = { 0 }, anomalies = 0;
	int rc;

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: corpus file %s not found; skipped\n", rel);
		return;
	}
	oracle_build(&or, path);
	apd_test_out_init(&o);
	rc = apd_test_parse_file(cmtrace(), path, &o, &err);

	for (i = j = f = 0; i < o.nev; i++) {
		const struct apd_test_event *e = &o.ev[i];

		ck_assert_int_ge(e->level, 0);
		ck_assert_int_le(e->level, 5);
		lv[e->level]++;
		if (is_fragment(e)) {
			ck_assert_msg(f < or.nfrag, "%s: unexpected fragment at line %llu", rel,
			    (unsigned long long)e->line);
			ck_assert_uint_eq(e->offset, or.frag_off[f]);
			ck_assert_uint_eq(e->line, or.frag_line[f]);
			ck_assert_msg(warned_at(&o, e->line), "%s: fragment line %llu not warned", rel,
			    (unsigned long long)e->line);
			f++;
			continue;
		}
		ck_assert_msg(j < or.ne, "%s: more entries than openings", rel);
		const struct expect *x = &or.e[j++];
		size_t mlen = strlen(e->message);

		ck_assert_msg(e->offset == x->off && e->line == x->line,
		    "%s: entry %zu at %llu/line %llu, expected %zu/line %llu", rel, j,
		    (unsigned long long)e->offset, (unsigned long long)e->line, x->off,
		    (unsigned long long)x->line);
		if (x->closed) {
			ck_assert_msg(mlen == x->msg_end - x->msg &&
			    memcmp(e->message, or.buf + x->msg, mlen) == 0,
			    "%s: line %llu: message differs", rel, (unsigned long long)x->line);
			ck_assert_msg(e->ts_local != NULL, "%s: line %llu: closed entry without ts_local",
			    rel, (unsigned long long)x->line);
			if (x->ts[0])
				ck_assert_str_eq(e->ts_local, x->ts);
			if (x->meta_cut) {
				ck_assert(warned_at(&o, x->line));
				anomalies++;
			}
		} else {
			/* the partial message, without the line end before the next entry */
			ck_assert(mlen <= x->msg_end - x->msg);
			ck_assert(memcmp(e->message, or.buf + x->msg, mlen) == 0);
			for (size_t q = x->msg + mlen; q < x->msg_end; q++)
				ck_assert(or.buf[q] == '\r' || or.buf[q] == '\n');
			ck_assert_ptr_null(e->ts_local);
			ck_assert_ptr_nonnull(strstr(e->data, "\"truncated\":true"));
			ck_assert(warned_at(&o, x->line));
			anomalies++;
		}
	}
	/* one non-fragment event per "<![LOG[" in the file */
	ck_assert_msg(j == or.ne, "%s: %zu entries, %zu openings", rel, j, or.ne);
	ck_assert_msg(f == or.nfrag, "%s: %zu fragments, expected %zu", rel, f, or.nfrag);
	anomalies += or.nfrag;
	/* levels follow the type="N" counts of the file */
	ck_assert_uint_eq(lv[APD_LVL_INFO], or.types[0] + or.types[1]);
	ck_assert_uint_eq(lv[APD_LVL_WARNING], or.types[2]);
	ck_assert_uint_eq(lv[APD_LVL_ERROR], or.types[3]);
	ck_assert_uint_eq(lv[APD_LVL_NONE] + lv[APD_LVL_INFO] + lv[APD_LVL_WARNING] +
	    lv[APD_LVL_ERROR], o.nev);
	ck_assert_int_eq(rc, anomalies ? APD_WARN : APD_OK);
	if (anomalies == 0)
		ck_assert_uint_eq(o.nwarns, 0);
	apd_test_out_free(&o);
	oracle_free(&or);
}

START_TEST(test_cmtrace_corpus_oracle)
{
	check_corpus_file(corpus_files[_i]);
}
END_TEST

/* A .NET stack trace entry keeps every line of its message. */
START_TEST(test_cmtrace_corpus_stack_trace)
{
	const char *rel = corpus_files[_i];
	const char *path = apd_test_corpus(rel);
	struct apd_test_out o;
	struct apd_error err;
	struct oracle or;
	const struct expect *x = NULL;
	size_t i, nl = 0;

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: corpus file %s not found; skipped\n", rel);
		return;
	}
	oracle_build(&or, path);
	for (i = 0; i < or.ne && x == NULL; i++)
		if (or.e[i].closed && find_str(or.buf, or.e[i].msg, or.e[i].msg_end, "\r\n   at ") <
		    or.e[i].msg_end)
			x = &or.e[i];
	ck_assert_msg(x != NULL, "%s: no entry with a stack trace", rel);
	apd_test_out_init(&o);
	apd_test_parse_file(cmtrace(), path, &o, &err);
	for (i = 0; i < o.nev && o.ev[i].offset != x->off; i++)
		;
	ck_assert_uint_lt(i, o.nev);
	ck_assert_uint_eq(strlen(o.ev[i].message), x->msg_end - x->msg);
	ck_assert(memcmp(o.ev[i].message, or.buf + x->msg, x->msg_end - x->msg) == 0);
	ck_assert_ptr_nonnull(strstr(o.ev[i].message, "\r\n   at "));
	for (const char *p = o.ev[i].message; *p; p++)
		nl += *p == '\n';
	ck_assert_uint_ge(nl, 2);
	/* the next entry starts on the line after the trace's last line */
	ck_assert_uint_lt(i + 1, o.nev);
	ck_assert_uint_eq(o.ev[i + 1].line, o.ev[i].line + nl + 1);
	ck_assert_ptr_nonnull(o.ev[i].ts_local);
	apd_test_out_free(&o);
	oracle_free(&or);
}
END_TEST

START_TEST(test_cmtrace_corpus_clienthealth)
{
	const char *path = apd_test_corpus("ime/2020-device/ClientHealth.log");
	static const uint64_t warn_lines[] = { 19, 20, 23, 49, 50, 53 };
	struct apd_test_out o;
	struct apd_error err;
	size_t i, frag = 0;

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: ClientHealth.log not found; skipped\n");
		return;
	}
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(cmtrace(), path, &o, &err), APD_WARN);
	for (i = 0; i < o.nev; i++) {
		const struct apd_test_event *e = &o.ev[i];

		if (is_fragment(e)) {
			/* the metadata debris of the interleaved writes */
			ck_assert(e->line == 23 || e->line == 53);
			ck_assert_ptr_null(e->ts_local);
			frag++;
		} else if (e->line == 20 || e->line == 50) {
			/* line 20/50 hold two entries: the first is cut by the second */
			if (e->ts_local == NULL) {
				ck_assert_ptr_nonnull(strstr(e->data, "\"truncated\":true"));
				ck_assert_ptr_null(strstr(e->message, "<![LOG["));
				ck_assert_uint_gt(strlen(e->message), 0);
			}
		} else if ((e->line == 19 || e->line == 49) && e->component == NULL) {
			/* metadata cut after its date: time kept, no component */
			ck_assert_ptr_nonnull(e->ts_local);
			ck_assert_int_eq(e->level, APD_LVL_NONE);
		} else {
			ck_assert_ptr_nonnull(e->ts_local);
		}
	}
	ck_assert_uint_eq(frag, 2);
	ck_assert_uint_eq(o.nev - frag, 62);
	for (i = 0; i < sizeof(warn_lines) / sizeof(warn_lines[0]); i++)
		ck_assert_msg(warned_at(&o, warn_lines[i]), "no warning for line %llu",
		    (unsigned long long)warn_lines[i]);
	ck_assert_uint_eq(o.nwarns, 6);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_corpus_orphan_tail)
{
	const char *path = apd_test_corpus("ime/IntuneManagementExtension-2025-08-04b.log");
	struct apd_test_out o;
	struct apd_error err;
	size_t i, frag = 0;

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: IntuneManagementExtension-2025-08-04b.log not found; "
		    "skipped\n");
		return;
	}
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_file(cmtrace(), path, &o, &err), APD_WARN);
	for (i = 0; i < o.nev; i++) {
		if (!is_fragment(&o.ev[i]))
			continue;
		frag++;
		ck_assert_uint_eq(o.ev[i].line, 4104);
		ck_assert_ptr_nonnull(o.ev[i].ts_local);   /* its own metadata is intact */
		ck_assert_int_eq(o.ev[i].level, APD_LVL_INFO);
		ck_assert_ptr_null(strstr(o.ev[i].message, "]LOG]!>"));
		ck_assert_ptr_null(strstr(o.ev[i].data, "truncated"));
	}
	ck_assert_uint_eq(frag, 1);
	ck_assert_uint_eq(o.nev, 3564);
	ck_assert(warned_at(&o, 4104));
	ck_assert_uint_eq(o.nwarns, 1);
	apd_test_out_free(&o);
}
END_TEST

START_TEST(test_cmtrace_corpus_blocks)
{
	const char *rel = corpus_files[_i];
	const char *path = apd_test_corpus(rel);
	struct apd_test_out ref, o;
	unsigned char *b;
	size_t n, k;
	int rc;
	char what[256];

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: corpus file %s not found; skipped\n", rel);
		return;
	}
	b = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(b);
	rc = parse(b, n, rel, NULL, 0, &ref);
	for (k = 0; k + 1 < N_BLOCKS; k++) {
		snprintf(what, sizeof(what), "%s, block %zu", rel, block_sizes[k]);
		ck_assert_int_eq(parse(b, n, rel, NULL, block_sizes[k], &o), rc);
		assert_same(&ref, &o, 0, 0, what);
		apd_test_out_free(&o);
	}
	apd_test_out_free(&ref);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------- Bid */

START_TEST(test_cmtrace_bid_corpus)
{
	const char *path = apd_test_corpus(corpus_files[_i]);
	const char *base;
	unsigned char *b;
	size_t n;
	int winner_bid;

	if (path == NULL) {
		fprintf(stderr, "check_cmtrace: corpus file %s not found; skipped\n", corpus_files[_i]);
		return;
	}
	base = strrchr(path, '/') + 1;
	b = apd_test_slurp(path, &n);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_gt(bid_of(b, n, base), 40);
	ck_assert_int_eq(bid_of(b, n, base), 64);     /* BOM + "<![LOG[" and an IME name */
	ck_assert_int_eq(bid_of(b, n, "renamed.txt"), 56);
	free(b);
	ck_assert_str_eq(apd_test_bid_file(path, &winner_bid), "cmtrace");
}
END_TEST

START_TEST(test_cmtrace_bid_fixtures)
{
	char rel[256];
	unsigned char *b;
	size_t n;
	int winner_bid;

	b = fixture(fixtures[_i], &n);
	ck_assert_int_gt(bid_of(b, n, fixtures[_i]), 40);
	free(b);
	snprintf(rel, sizeof(rel), "tests/data/cmtrace/%s", fixtures[_i]);
	ck_assert_str_eq(apd_test_bid_file(apd_test_src(rel), &winner_bid), "cmtrace");
}
END_TEST

START_TEST(test_cmtrace_bid_weak_and_name)
{
	static const char tail[] = "the end of a message]LOG]!><time=\"10:00:00.0000000\" "
	    "date=\"8-4-2025\" component=\"x\" context=\"\" type=\"1\" thread=\"1\" file=\"\">\r\n";

	/* "]LOG]!><time=" without an opening at the start: 40, +8 for an IME name only then */
	ck_assert_int_eq(bid_of(tail, sizeof(tail) - 1, "tail.log"), 40);
	ck_assert_int_eq(bid_of(tail, sizeof(tail) - 1,
	    "IntuneManagementExtension-20250804-103400.log"), 48);
	ck_assert_int_eq(bid_of(tail, sizeof(tail) - 1, "AppWorkload.log"), 48);
	ck_assert_int_eq(bid_of(tail, sizeof(tail) - 1, "IntuneManagementExtension.txt"), 40);
}
END_TEST

START_TEST(test_cmtrace_bid_negative)
{
	static const char text[] = "This is a README.\r\nIt mentions ]LOG]!> but not a time.\r\n";
	static const unsigned char u16[] = { 0xFF, 0xFE, '<', 0, '!', 0, '[', 0, 'L', 0, 'O', 0,
		'G', 0, '[', 0, 'x', 0, ']', 0, 'L', 0, 'O', 0, 'G', 0, ']', 0, '!', 0, '>', 0 };
	unsigned char *buf, *far;
	uint64_t s = 88172645463325252ull;
	size_t i, n, seed;

	buf = malloc(70000);
	ck_assert_ptr_nonnull(buf);
	for (seed = 0; seed < 32; seed++) {
		n = 512 + (size_t)(rnd(&s) % 69000);
		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)rnd(&s);
		ck_assert_int_lt(bid_of(buf, n, "junk.bin"), 1);
		ck_assert_int_lt(bid_of(buf, n, "IntuneManagementExtension.log"), 1);
		/* binary behind a valid-looking start is still binary */
		if (n > 10) {
			memcpy(buf, "\xEF\xBB\xBF<![LOG[", 10);
			ck_assert_int_lt(bid_of(buf, n, "IntuneManagementExtension.log"), 1);
		}
	}
	free(buf);
	ck_assert_int_lt(bid_of(text, sizeof(text) - 1, "README.txt"), 1);
	ck_assert_int_lt(bid_of(text, sizeof(text) - 1, "IntuneManagementExtension.log"), 1);
	ck_assert_int_lt(bid_of("", 0, "IntuneManagementExtension.log"), 1);
	ck_assert_int_lt(bid_of(u16, sizeof(u16), "IntuneManagementExtension.log"), 1);
	/* the weak marker counts only within the first 4 KiB */
	far = malloc(8192);
	ck_assert_ptr_nonnull(far);
	memset(far, 'x', 8192);
	memcpy(far + 6000, "]LOG]!><time=\"", 14);
	ck_assert_int_lt(bid_of(far, 8192, "x.log"), 1);
	memcpy(far + 100, "]LOG]!><time=\"", 14);
	ck_assert_int_eq(bid_of(far, 8192, "x.log"), 40);
	free(far);
}
END_TEST

static Suite *
cmtrace_suite(void)
{
	Suite *s = suite_create("cmtrace");
	TCase *core = tcase_create("Core");
	TCase *blocks = tcase_create("Blocks");
	TCase *limits = tcase_create("Limits");
	TCase *corpus = tcase_create("Corpus");
	TCase *bid = tcase_create("Bid");

	tcase_add_test(core, test_cmtrace_types_and_levels);
	tcase_add_test(core, test_cmtrace_bias_minutes);
	tcase_add_test(core, test_cmtrace_fraction_digits);
	tcase_add_test(core, test_cmtrace_dates_not_padded);
	tcase_add_test(core, test_cmtrace_multiline);
	tcase_add_test(core, test_cmtrace_truncated_at_eof);
	tcase_add_test(core, test_cmtrace_truncated_in_metadata);
	tcase_add_test(core, test_cmtrace_nested_openings);
	tcase_add_test(core, test_cmtrace_orphan_tail);
	tcase_add_test(core, test_cmtrace_invalid_metadata);
	tcase_add_test(core, test_cmtrace_cp1252);
	tcase_add_test(core, test_cmtrace_nul_padding);
	tcase_add_test(core, test_cmtrace_empty_inputs);
	tcase_add_test(core, test_cmtrace_concatenated_bom);
	tcase_add_test(core, test_cmtrace_plain_text_is_kept);
	tcase_add_test(core, test_cmtrace_binary_fails);
	tcase_add_test(core, test_cmtrace_sink_stop);
	suite_add_tcase(s, core);

	tcase_add_loop_test(blocks, test_cmtrace_blocks_fixtures, 0, (int)N_FIXTURES);
	suite_add_tcase(s, blocks);

	tcase_add_test(limits, test_cmtrace_max_record);
	tcase_add_test(limits, test_cmtrace_max_record_while_gathering);
	tcase_add_test(limits, test_cmtrace_closing_across_seams);
	suite_add_tcase(s, limits);

	tcase_add_loop_test(corpus, test_cmtrace_corpus_oracle, 0, (int)N_CORPUS);
	tcase_add_loop_test(corpus, test_cmtrace_corpus_stack_trace, 0, 4);
	tcase_add_test(corpus, test_cmtrace_corpus_clienthealth);
	tcase_add_test(corpus, test_cmtrace_corpus_orphan_tail);
	tcase_add_loop_test(corpus, test_cmtrace_corpus_blocks, 0, (int)N_CORPUS);
	suite_add_tcase(s, corpus);

	tcase_add_loop_test(bid, test_cmtrace_bid_corpus, 0, (int)N_CORPUS);
	tcase_add_loop_test(bid, test_cmtrace_bid_fixtures, 0, (int)N_FIXTURES);
	tcase_add_test(bid, test_cmtrace_bid_weak_and_name);
	tcase_add_test(bid, test_cmtrace_bid_negative);
	suite_add_tcase(s, bid);
	return s;
}

int
main(void)
{
	return apd_test_run(cmtrace_suite());
}
