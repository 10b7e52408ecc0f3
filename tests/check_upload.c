/*
 * check_upload.c - the uploader's pieces: SAS URL parsing and redaction,
 * blob naming, block ids, backoff and Retry-After, MD5/base64, and the
 * scheduler over a scripted fake transport (403 fails fast, 503 is retried,
 * a transport's error text never carries the SAS).  The exchanges with a
 * real service are in tests/upload/ (Azurite).
 */
#include "apd_test.h"
#include "apd_md5.h"
#include "apd_sas.h"
#include "apd_upload.h"

#include <stdlib.h>
#include <string.h>

#define SIG "k3d%2Bq%2FAbC0123456789abcdefXYZ%3D"
#define SIG_RAW "k3d+q/AbC0123456789abcdefXYZ="
#define QS "sv=2021-08-06&sr=c&sp=rcw&se=2030-01-01T00%3A00%3A00Z&sig=" SIG

START_TEST(test_sas_parse_container_and_blob)
{
	struct apd_sas s;
	struct apd_error err;
	char *u;

	apd_error_clear(&err);
	ck_assert_int_eq(apd_sas_parse(&s, "https://acct.blob.core.windows.net/bundles?" QS, &err),
	    APD_OK);
	ck_assert_str_eq(s.origin, "https://acct.blob.core.windows.net");
	ck_assert_str_eq(s.container, "/bundles");
	ck_assert_ptr_null(s.blob);
	ck_assert_str_eq(s.sig, SIG);
	ck_assert_str_eq(s.sig_raw, SIG_RAW);
	ck_assert(!s.local);
	u = apd_sas_public(&s, "a%20b.cab");
	ck_assert_str_eq(u, "https://acct.blob.core.windows.net/bundles/a%20b.cab");
	free(u);
	u = apd_sas_request_url(&s, "x.cab", "comp=block&blockid=QQ");
	ck_assert_str_eq(u, "https://acct.blob.core.windows.net/bundles/x.cab?comp=block&blockid=QQ&" QS);
	free(u);
	apd_sas_done(&s);

	/* path-style emulator URL naming a blob in a folder, with sr=b */
	ck_assert_int_eq(apd_sas_parse(&s, "http://127.0.0.1:10000/devstoreaccount1/c/dir/b.cab?"
	    "sr=b&sig=abc", &err), APD_OK);
	ck_assert_str_eq(s.container, "/devstoreaccount1/c");
	ck_assert_str_eq(s.blob, "dir/b.cab");
	ck_assert(s.local);
	u = apd_sas_public(&s, NULL);
	ck_assert_str_eq(u, "http://127.0.0.1:10000/devstoreaccount1/c/dir/b.cab");
	free(u);
	apd_sas_done(&s);

	/* user information never survives */
	ck_assert_int_eq(apd_sas_parse(&s, "https://user:pw@acct.blob.core.windows.net/c/b?sig=x",
	    &err), APD_OK);
	ck_assert_str_eq(s.origin, "https://acct.blob.core.windows.net");
	apd_sas_done(&s);
}
END_TEST

START_TEST(test_sas_refusals_do_not_quote_the_query)
{
	static const char *const bad[] = {
		"http://acct.blob.core.windows.net/bundles?" QS,       /* plain http, remote */
		"https://acct.blob.core.windows.net/bundles?sv=1&sp=w", /* no sig */
		"https://acct.blob.core.windows.net/?" QS,             /* no container */
		"http://127.0.0.1:10000/devstoreaccount1?" QS,         /* emulator, no container */
		"ftp://acct/bundles?" QS,
		"https://acct.blob.core.windows.net/c/blob?sr=c&sig=" SIG, /* sr=c with a blob */
		"https://acct.blob.core.windows.net/c?sr=b&sig=" SIG,      /* sr=b without one */
	};
	struct apd_sas s;
	struct apd_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		apd_error_clear(&err);
		ck_assert_int_eq(apd_sas_parse(&s, bad[i], &err), APD_FAILED);
		ck_assert_msg(strstr(err.msg, "sig") == NULL || strstr(err.msg, "(sig=)") != NULL,
		    "%zu: %s", i, err.msg);
		ck_assert_ptr_null(strstr(err.msg, SIG));
		ck_assert_ptr_null(strstr(err.msg, "sv="));
		ck_assert_ptr_null(strstr(err.msg, "?"));
	}
	/* localhost and ::1 may use plain http */
	ck_assert_int_eq(apd_sas_parse(&s, "http://localhost:1/a/c?sig=x", &err), APD_OK);
	apd_sas_done(&s);
	ck_assert_int_eq(apd_sas_parse(&s, "http://[::1]:1/a/c?sig=x", &err), APD_OK);
	apd_sas_done(&s);
}
END_TEST

START_TEST(test_redact_and_scrub)
{
	struct apd_sas s;
	struct apd_error err;
	char out[256], text[256];

	apd_url_redact("https://u:p@h.example/c/b?" QS "#frag", out, sizeof(out));
	ck_assert_str_eq(out, "https://h.example/c/b");
	apd_url_redact("https://h/c", out, 8);
	ck_assert_str_eq(out, "https:/");

	ck_assert_int_eq(apd_sas_parse(&s, "https://acct.blob.core.windows.net/bundles?" QS, &err),
	    APD_OK);
	snprintf(text, sizeof(text), "%s", "Failed: GET https://acct/b?" QS " and " SIG_RAW " and "
	    "sig=" SIG " end");
	apd_sas_scrub(&s, text, sizeof(text));
	ck_assert_ptr_null(strstr(text, SIG));
	ck_assert_ptr_null(strstr(text, SIG_RAW));
	ck_assert_ptr_null(strstr(text, "sv=2021"));
	ck_assert_str_eq(text, "Failed: GET https://acct/b?REDACTED and REDACTED and sig=REDACTED end");
	/* any sig= value at all, even of another SAS, and even where it grows the text */
	snprintf(text, sizeof(text), "%s", "x?sig=ab&y sig=zz");
	apd_sas_scrub(NULL, text, sizeof(text));
	ck_assert_str_eq(text, "x?sig=REDACTED&y sig=REDACTED");
	snprintf(text, 12, "%s", "a sig=q");
	apd_sas_scrub(NULL, text, 12);
	ck_assert_str_eq(text, "a sig=REDAC");
	apd_sas_done(&s);
}
END_TEST

START_TEST(test_url_encode)
{
	char *e = apd_url_encode_path("site a/PC01 bundle+1~_.cab\xc3\xa9");
	char *d;

	ck_assert_str_eq(e, "site%20a/PC01%20bundle%2B1~_.cab%C3%A9");
	d = apd_url_decode(e);
	ck_assert_str_eq(d, "site a/PC01 bundle+1~_.cab\xc3\xa9");
	free(e);
	free(d);
}
END_TEST

START_TEST(test_blob_name)
{
	static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char out[256];

	ck_assert_int_eq(apd_upload_blob_name("PC-01", 1761991810, sha, "x/mdm.cab", out,
	    sizeof(out)), APD_OK);
	ck_assert_str_eq(out, "apdiag-PC-01-20251101T101010Z-0123456789ab.cab");
	ck_assert_int_eq(apd_upload_blob_name("bad name/\xc3\xa9", 0, sha, "b.tar.zst", out,
	    sizeof(out)), APD_OK);
	ck_assert_str_eq(out, "apdiag-bad_name___-19700101T000000Z-0123456789ab.tar.zst");
	ck_assert_int_eq(apd_upload_blob_name(NULL, 0, sha, "noext", out, sizeof(out)), APD_OK);
	ck_assert_str_eq(out, "apdiag-unknown-19700101T000000Z-0123456789ab");
	ck_assert_int_eq(apd_upload_blob_name("", 0, sha, ".hidden", out, sizeof(out)), APD_OK);
	ck_assert_str_eq(out, "apdiag-unknown-19700101T000000Z-0123456789ab");
	ck_assert_int_eq(apd_upload_blob_name("d", 0, sha, "x.we ird", out, sizeof(out)), APD_OK);
	ck_assert_str_eq(out, "apdiag-d-19700101T000000Z-0123456789ab");
	ck_assert_int_eq(apd_upload_blob_name("d", 0, sha, "x.cab", out, 20), APD_FAILED);
}
END_TEST

START_TEST(test_block_ids)
{
	static const char sha[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
	static const char sha2[] = "aedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
	char a[APD_UPLOAD_BLOCK_ID_LEN + 1], b[APD_UPLOAD_BLOCK_ID_LEN + 1];
	uint32_t i;

	apd_upload_block_id(sha, 8 << 20, 0, a);
	ck_assert_uint_eq(strlen(a), APD_UPLOAD_BLOCK_ID_LEN);
	/* "apd1" + 16 hex of the hash + size + index, base64 */
	ck_assert_str_eq(a, "YXBkMWZlZGNiYTk4NzY1NDMyMTAwMDgwMDAwMDAwMDAwMDAw");
	apd_upload_block_id(sha, 8 << 20, 0, b);
	ck_assert_str_eq(a, b);                               /* deterministic */
	apd_upload_block_id(sha, 4 << 20, 0, b);
	ck_assert_str_ne(a, b);                               /* another block size */
	apd_upload_block_id(sha2, 8 << 20, 0, b);
	ck_assert_str_ne(a, b);                               /* another file */
	for (i = 0; i < 50000; i += 997) {
		apd_upload_block_id(sha, 1 << 20, i, a);
		ck_assert_uint_eq(strlen(a), APD_UPLOAD_BLOCK_ID_LEN);
		ck_assert_int_eq(apd_upload_block_index(a, sha, 1 << 20), (long)i);
		ck_assert_int_eq(apd_upload_block_index(a, sha, 2 << 20), -1);
		ck_assert_int_eq(apd_upload_block_index(a, sha2, 1 << 20), -1);
	}
	ck_assert_int_eq(apd_upload_block_index("", sha, 1 << 20), -1);
	ck_assert_int_eq(apd_upload_block_index("not base64 at all, but 48 characters long!!!!!",
	    sha, 1 << 20), -1);
	ck_assert_int_eq(apd_upload_block_index(NULL, sha, 1 << 20), -1);
}
END_TEST

START_TEST(test_backoff_and_retry_after)
{
	long ms;
	unsigned a;

	for (a = 0; a < 12; a++) {
		long lo = apd_upload_backoff_ms(a, 0), hi = apd_upload_backoff_ms(a, 0xFFFFFFFFu);
		long d = APD_UPLOAD_BACKOFF_BASE_MS << (a > 6 ? 6 : a);
		if (d > APD_UPLOAD_BACKOFF_CAP_MS)
			d = APD_UPLOAD_BACKOFF_CAP_MS;
		ck_assert_int_eq(lo, d / 2);
		ck_assert_int_ge(hi, d / 2);
		ck_assert_int_le(hi, d);
	}
	ck_assert_int_eq(apd_upload_backoff_ms(1000, 12345), apd_upload_backoff_ms(40, 12345));

	ck_assert(apd_upload_retry_after("120", 0, &ms));
	ck_assert_int_eq(ms, 120000);
	ck_assert(apd_upload_retry_after(" 0 ", 0, &ms));
	ck_assert_int_eq(ms, 0);
	ck_assert(!apd_upload_retry_after("-1", 0, &ms));
	ck_assert(!apd_upload_retry_after("1.5", 0, &ms));
	ck_assert(!apd_upload_retry_after("99999999999999999999", 0, &ms));
	ck_assert(!apd_upload_retry_after("", 0, &ms));
	ck_assert(!apd_upload_retry_after(NULL, 0, &ms));
	/* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
	ck_assert(apd_upload_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 7, &ms));
	ck_assert_int_eq(ms, 7000);
	ck_assert(apd_upload_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 50, &ms));
	ck_assert_int_eq(ms, 0);
	ck_assert(!apd_upload_retry_after("Wed, 21 Foo 2015 07:28:00 GMT", 0, &ms));
	ck_assert(!apd_upload_retry_after("Wed, 21 Oct 2015 07:28:00 UTC", 0, &ms));
	ck_assert(!apd_upload_retry_after("Wed, 21 Oct 2015 07:28:00 GMT junk", 0, &ms));

	ck_assert(apd_upload_status_retryable(408));
	ck_assert(apd_upload_status_retryable(429));
	ck_assert(apd_upload_status_retryable(500));
	ck_assert(apd_upload_status_retryable(503));
	ck_assert(!apd_upload_status_retryable(403));
	ck_assert(!apd_upload_status_retryable(404));
	ck_assert(!apd_upload_status_retryable(201));
}
END_TEST

START_TEST(test_md5_base64)
{
	char b[APD_MD5_B64_LEN + 1], o[16];

	ck_assert_int_eq(apd_md5_b64("", 0, b), APD_OK);
	ck_assert_str_eq(b, "1B2M2Y8AsgTpgAmY7PhCfg==");
	ck_assert_int_eq(apd_md5_b64("The quick brown fox jumps over the lazy dog", 43, b), APD_OK);
	ck_assert_str_eq(b, "nhB9nTcrtoJr2B01QqQZ1g==");
	ck_assert_uint_eq(apd_base64("f", 1, o), 4);
	ck_assert_str_eq(o, "Zg==");
	ck_assert_uint_eq(apd_base64("fo", 2, o), 4);
	ck_assert_str_eq(o, "Zm8=");
	ck_assert_uint_eq(apd_base64("foo", 3, o), 4);
	ck_assert_str_eq(o, "Zm9v");
}
END_TEST

/* ---- the scheduler over a fake transport ---- */

/* A scripted service: answer(n, req) fills the outcome of the nth request (0-based). */
struct fake {
	struct apd_http_req *queue[8];
	size_t nq;
	unsigned n;
	char md5[64], sha[80];
	long len;
	void (*answer)(struct fake *f, unsigned n, struct apd_http_req *r);
};

static struct fake fk;

static int
fake_open(struct apd_http **out, struct apd_error *err)
{
	(void)err;
	*out = (struct apd_http *)(void *)&fk;
	return APD_OK;
}

static void
remember(struct apd_http_req *r)
{
	size_t i;

	for (i = 0; r->headers[i]; i++) {
		if (strncmp(r->headers[i], "Content-MD5: ", 13) == 0)
			snprintf(fk.md5, sizeof(fk.md5), "%s", r->headers[i] + 13);
		if (strncmp(r->headers[i], "x-ms-meta-sha256: ", 18) == 0)
			snprintf(fk.sha, sizeof(fk.sha), "%s", r->headers[i] + 18);
	}
	if (strcmp(r->method, "PUT") == 0)
		fk.len = (long)r->body_len;
}

static int
fake_submit(struct apd_http *h, struct apd_http_req *r, struct apd_error *err)
{
	(void)h;
	(void)err;
	apd_http_req_reset(r);
	ck_assert_uint_lt(fk.nq, 8);
	fk.queue[fk.nq++] = r;
	return APD_OK;
}

static int
fake_wait(struct apd_http *h, long timeout_ms, struct apd_http_req **done, struct apd_error *err)
{
	struct apd_http_req *r;

	(void)h;
	(void)timeout_ms;
	(void)err;
	*done = NULL;
	if (fk.nq == 0)
		return APD_OK;
	r = fk.queue[0];
	memmove(fk.queue, fk.queue + 1, --fk.nq * sizeof(fk.queue[0]));
	remember(r);
	fk.answer(&fk, fk.n++, r);
	*done = r;
	return APD_OK;
}

static void
fake_cancel(struct apd_http *h, struct apd_http_req *r)
{
	(void)h;
	(void)r;
	fk.nq = 0;
}

static void
fake_close(struct apd_http *h)
{
	(void)h;
}

static const struct apd_http_ops fake_ops = {
	"fake", fake_open, fake_submit, fake_wait, fake_cancel, fake_close,
};

static void
respond(struct apd_http_req *r, long status, const char *headers)
{
	r->result = APD_HTTP_DONE;
	r->status = status;
	apd_buf_adds(&r->head, headers);
}

/* HEAD: what was sent */
static void
respond_props(struct apd_http_req *r)
{
	char h[256];

	snprintf(h, sizeof(h), "content-length: %ld\ncontent-md5: %s\nx-ms-meta-sha256: %s\n",
	    fk.len, fk.md5, fk.sha);
	respond(r, 200, h);
}

static void
answer_403(struct fake *f, unsigned n, struct apd_http_req *r)
{
	(void)f;
	(void)n;
	respond(r, 403, "x-ms-error-code: AuthenticationFailed\n");
}

static void
answer_busy_then_ok(struct fake *f, unsigned n, struct apd_http_req *r)
{
	(void)f;
	if (n < 2)
		respond(r, 503, "Retry-After: 0\nx-ms-error-code: ServerBusy\n");
	else if (n == 2)
		respond(r, 201, "");
	else
		respond_props(r);
}

static void
answer_leaky_error(struct fake *f, unsigned n, struct apd_http_req *r)
{
	(void)f;
	(void)n;
	r->result = APD_HTTP_OTHER;
	snprintf(r->errmsg, sizeof(r->errmsg), "cannot send %s", r->url);
}

static void
answer_reset_then_ok(struct fake *f, unsigned n, struct apd_http_req *r)
{
	(void)f;
	if (n == 0) {
		r->result = APD_HTTP_NETWORK;
		snprintf(r->errmsg, sizeof(r->errmsg), "Connection reset by peer");
	} else if (n == 1) {
		respond(r, 201, "");
	} else {
		respond_props(r);
	}
}

static void
answer_400(struct fake *f, unsigned n, struct apd_http_req *r)
{
	(void)f;
	(void)n;
	respond(r, 400, "x-ms-error-code: OutOfRangeInput\n");
}

static size_t fake_put_blob_max;   /* 1: force blocks even for a tiny file */

static int
fake_upload(void (*answer)(struct fake *, unsigned, struct apd_http_req *),
    struct apd_upload_result *res, struct apd_error *err)
{
	struct apd_upload_opts o;
	int rc;

	memset(&fk, 0, sizeof(fk));
	fk.answer = answer;
	apd_test_write_file(apd_test_tpath("f.cab"), "hello, blob", 11);
	apd_upload_opts_default(&o);
	o.http = &fake_ops;
	o.device = "PC01";
	o.timeout_s = 30;
	o.put_blob_max = fake_put_blob_max;
	apd_error_clear(err);
	rc = apd_upload_file(apd_test_tpath("f.cab"), "https://a.blob.core.windows.net/c?" QS, &o,
	    res, err);
	return rc;
}

START_TEST(test_fake_403_fails_fast)
{
	struct apd_upload_result res;
	struct apd_error err;

	ck_assert_int_eq(fake_upload(answer_403, &res, &err), APD_FAILED);
	ck_assert_int_eq(res.failure, APD_UPF_DENIED);
	ck_assert_uint_eq(res.requests, 1);
	ck_assert_uint_eq(res.retries, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "Put Blob: HTTP 403 (AuthenticationFailed)"));
	ck_assert_ptr_nonnull(strstr(err.msg, "SAS"));
	ck_assert_ptr_null(strstr(err.msg, SIG));
	ck_assert_ptr_nonnull(res.blob_url);
	ck_assert_ptr_null(strchr(res.blob_url, '?'));
	apd_upload_result_done(&res);
}
END_TEST

START_TEST(test_fake_retries)
{
	struct apd_upload_result res;
	struct apd_error err;

	ck_assert_int_eq(fake_upload(answer_busy_then_ok, &res, &err), APD_OK);
	ck_assert_uint_eq(res.retries, 2);
	ck_assert_uint_eq(res.requests, 4);
	ck_assert(res.verified);
	ck_assert_str_eq(res.sha256, "d867e6d01ad026f722d27a707c89b80c9ae5817ad0d07b259915d476b45beaa7");
	apd_upload_result_done(&res);
	ck_assert_int_eq(fake_upload(answer_reset_then_ok, &res, &err), APD_OK);
	ck_assert_uint_eq(res.retries, 1);
	apd_upload_result_done(&res);
}
END_TEST

/* A final 4xx names the request: here the first one of a block upload. */
START_TEST(test_fake_blocks_400)
{
	struct apd_upload_result res;
	struct apd_error err;

	fake_put_blob_max = 1;
	ck_assert_int_eq(fake_upload(answer_400, &res, &err), APD_FAILED);
	fake_put_blob_max = 0;
	ck_assert_int_eq(res.failure, APD_UPF_REFUSED);
	ck_assert_uint_eq(res.requests, 1);
	ck_assert_uint_eq(res.blocks, 1);
	ck_assert_msg(strncmp(err.msg, "Get Block List: HTTP 400 (OutOfRangeInput)", 42) == 0, "%s",
	    err.msg);
	apd_upload_result_done(&res);
}
END_TEST

START_TEST(test_fake_transport_text_is_scrubbed)
{
	struct apd_upload_result res;
	struct apd_error err;

	ck_assert_int_eq(fake_upload(answer_leaky_error, &res, &err), APD_FAILED);
	ck_assert_int_eq(res.failure, APD_UPF_REFUSED);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot send https://a.blob.core.windows.net/c/"));
	ck_assert_ptr_null(strstr(err.msg, SIG));
	ck_assert_ptr_null(strstr(err.msg, SIG_RAW));
	ck_assert_ptr_null(strstr(err.msg, "sv=2021"));
	ck_assert_ptr_nonnull(strstr(err.msg, "REDACTED"));
	apd_upload_result_done(&res);
}
END_TEST

static Suite *
upload_suite(void)
{
	Suite *s = suite_create("upload");
	TCase *tc = tcase_create("Core");
	TCase *tf = tcase_create("Fake transport");

	tcase_add_test(tc, test_sas_parse_container_and_blob);
	tcase_add_test(tc, test_sas_refusals_do_not_quote_the_query);
	tcase_add_test(tc, test_redact_and_scrub);
	tcase_add_test(tc, test_url_encode);
	tcase_add_test(tc, test_blob_name);
	tcase_add_test(tc, test_block_ids);
	tcase_add_test(tc, test_backoff_and_retry_after);
	tcase_add_test(tc, test_md5_base64);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, apd_test_tmpdir_setup, apd_test_tmpdir_teardown);
	tcase_add_test(tf, test_fake_403_fails_fast);
	tcase_add_test(tf, test_fake_retries);
	tcase_add_test(tf, test_fake_blocks_400);
	tcase_add_test(tf, test_fake_transport_text_is_scrubbed);
	suite_add_tcase(s, tf);
	return s;
}

int
main(void)
{
	return apd_test_run(upload_suite());
}
