/*
 * check_stream.c - input streams: head, blocks, copying reads, the size
 * cap, the hash, and reading ahead on a second thread (apd_stream_prefetch).
 */
#include "apd_test.h"
#include "apd_sha256.h"
#include "apd_stream.h"

#include <stdlib.h>
#include <string.h>

/*
 * A provider that hands out `block`-byte pieces of a pattern through ONE
 * buffer it overwrites on every call, as libarchive and read(2) do: a
 * reader that keeps a block past the next call sees the wrong bytes.  It
 * can fail after `fail_at` bytes.
 */
struct pat_src {
	uint64_t size, pos, fail_at;
	size_t block;
	unsigned char *buf;
	unsigned calls;
};

static unsigned char
pat(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static int
pat_block(void *ud, const void **p, size_t *n, struct apd_error *err)
{
	struct pat_src *ps = ud;
	size_t take, i;

	ps->calls++;
	if (ps->pos >= ps->fail_at)
		return apd_set_error(err, APD_FAILED, "pattern: read failed at byte %llu",
		    (unsigned long long)ps->pos);
	if (ps->pos == ps->size)
		return APD_EOF;
	take = ps->size - ps->pos < ps->block ? (size_t)(ps->size - ps->pos) : ps->block;
	for (i = 0; i < take; i++)
		ps->buf[i] = pat(ps->pos + i);
	ps->pos += take;
	*p = ps->buf;
	*n = take;
	return APD_OK;
}

static void
pat_init(struct pat_src *ps, uint64_t size, size_t block)
{
	memset(ps, 0, sizeof(*ps));
	ps->size = size;
	ps->block = block;
	ps->fail_at = UINT64_MAX;
	ps->buf = malloc(block);
	ck_assert_ptr_nonnull(ps->buf);
}

static void
pat_sha(uint64_t size, char out[65])
{
	struct apd_sha256 h;
	unsigned char b[4096];
	uint64_t i = 0;
	size_t k;

	ck_assert_int_eq(apd_sha256_init(&h), APD_OK);
	while (i < size) {
		for (k = 0; k < sizeof(b) && i < size; k++, i++)
			b[k] = pat(i);
		apd_sha256_update(&h, b, k);
	}
	apd_sha256_final_hex(&h, out);
	apd_sha256_done(&h);
}

/* Read everything through apd_stream_block, checking each byte. */
static uint64_t
read_all_blocks(struct apd_stream *s, int *end)
{
	const void *p;
	uint64_t at = 0;
	size_t n, i;
	int rc;

	while ((rc = apd_stream_block(s, &p, &n)) == APD_OK) {
		for (i = 0; i < n; i++)
			if (((const unsigned char *)p)[i] != pat(at + i))
				ck_abort_msg("byte %llu differs", (unsigned long long)(at + i));
		at += n;
	}
	*end = rc;
	return at;
}

static const struct {
	uint64_t size;
	size_t block;
} shapes[] = {
	{ 0, 4096 },
	{ 100, 7 },                         /* all in the head */
	{ 70000, 4096 },                    /* just past the head */
	{ 3u << 20, 65536 },
	{ (5u << 20) + 3, 3u << 20 },       /* blocks larger than a ring slot */
	{ (2u << 20) + 1, 1 << 20 },        /* exactly a slot */
	{ 1u << 20, 333 },
};

START_TEST(test_prefetch_same_bytes_and_hash)
{
	struct pat_src ps;
	struct apd_stream s;
	struct apd_error err;
	char want[65], got[65];
	int end, ahead;

	for (ahead = 0; ahead < 2; ahead++) {
		pat_init(&ps, shapes[_i].size, shapes[_i].block);
		ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "pat", -1, UINT64_MAX, &err),
		    APD_OK);
		if (ahead)
			ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
		ck_assert_uint_eq(read_all_blocks(&s, &end), shapes[_i].size);
		ck_assert_int_eq(end, APD_EOF);
		ck_assert_uint_eq(s.pulled, shapes[_i].size);
		apd_stream_sha256_hex(&s, got);
		pat_sha(shapes[_i].size, want);
		ck_assert_str_eq(got, want);
		apd_stream_close(&s);
		free(ps.buf);
	}
}
END_TEST

/* Copying reads in odd sizes give the same bytes with or without a thread. */
START_TEST(test_prefetch_copying_reads)
{
	static unsigned char buf[100003];
	struct pat_src ps;
	struct apd_stream s;
	struct apd_error err;
	uint64_t at = 0;
	ptrdiff_t r;
	size_t i;

	pat_init(&ps, (3u << 20) + 17, 40000);
	ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "pat", -1, UINT64_MAX, &err), APD_OK);
	ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
	while ((r = apd_stream_read(&s, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] != pat(at + i))   /* no ck_assert per byte: each one writes */
				ck_abort_msg("byte %llu differs", (unsigned long long)(at + i));
		at += (uint64_t)r;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(at, ps.size);
	apd_stream_close(&s);
	free(ps.buf);
}
END_TEST

/* The cap and a provider failure surface after every byte before them. */
START_TEST(test_prefetch_errors_in_order)
{
	struct pat_src ps;
	struct apd_stream s;
	struct apd_error err;
	int end, ahead;

	for (ahead = 0; ahead < 2; ahead++) {
		pat_init(&ps, 4u << 20, 100000);
		ps.fail_at = 2500000;
		apd_error_clear(&err);
		ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "pat", -1, UINT64_MAX, &err),
		    APD_OK);
		if (ahead)
			ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
		ck_assert_uint_eq(read_all_blocks(&s, &end), 2500000);
		ck_assert_int_eq(end, APD_FAILED);
		ck_assert_int_eq(s.state, APD_FAILED);
		ck_assert_str_eq(err.msg, "pattern: read failed at byte 2500000");
		apd_stream_close(&s);
		free(ps.buf);

		pat_init(&ps, 4u << 20, 100000);
		apd_error_clear(&err);
		ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "big.log", -1, 3000000, &err),
		    APD_OK);
		if (ahead)
			ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
		ck_assert_uint_eq(read_all_blocks(&s, &end), 3000000);
		ck_assert_int_eq(end, APD_FAILED);
		ck_assert(apd_test_contains(err.msg, "big.log: larger than the limit of 3000000 bytes"));
		apd_stream_close(&s);
		free(ps.buf);
	}
}
END_TEST

/* Draining after a partial read hashes everything; closing early stops the
   thread even while it waits for room. */
START_TEST(test_prefetch_drain_and_early_close)
{
	struct pat_src ps;
	struct apd_stream s;
	struct apd_error err;
	char want[65], got[65];
	const void *p;
	size_t n;

	pat_init(&ps, 9u << 20, 65536);
	ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "pat", -1, UINT64_MAX, &err), APD_OK);
	ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
	ck_assert_int_eq(apd_stream_block(&s, &p, &n), APD_OK);
	ck_assert_int_eq(apd_stream_block(&s, &p, &n), APD_OK);
	ck_assert_int_eq(apd_stream_drain(&s), APD_OK);
	ck_assert_uint_eq(s.pulled, ps.size);
	ck_assert_uint_eq(s.pos, ps.size);
	apd_stream_sha256_hex(&s, got);
	pat_sha(ps.size, want);
	ck_assert_str_eq(got, want);
	apd_stream_close(&s);
	free(ps.buf);

	/* 64 MiB behind a 4-slot ring: the thread is blocked when we close */
	pat_init(&ps, 64u << 20, 1 << 20);
	ck_assert_int_eq(apd_stream_open(&s, pat_block, &ps, "pat", -1, UINT64_MAX, &err), APD_OK);
	ck_assert_int_eq(apd_stream_prefetch(&s), APD_OK);
	ck_assert_int_eq(apd_stream_block(&s, &p, &n), APD_OK);
	apd_stream_close(&s);
	ck_assert_uint_lt(ps.pos, 16u << 20);   /* it read ahead a few blocks, not the file */
	free(ps.buf);
}
END_TEST

static Suite *
stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("Core");

	tcase_add_loop_test(tc, test_prefetch_same_bytes_and_hash, 0,
	    (int)(sizeof(shapes) / sizeof(shapes[0])));
	tcase_add_test(tc, test_prefetch_copying_reads);
	tcase_add_test(tc, test_prefetch_errors_in_order);
	tcase_add_test(tc, test_prefetch_drain_and_early_close);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return apd_test_run(stream_suite());
}
