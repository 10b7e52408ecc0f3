/*
 * apd_test.c - the collecting sink, parse, lookup and file helpers of apd_test.h.
 */
#include "apd_test.h"
#include "apd_stream.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef APD_TEST_SRCDIR
#error APD_TEST_SRCDIR must name the source tree
#endif

static char *
dup_sv(struct apd_sv v)
{
	char *s;

	if (v.p == NULL)
		return NULL;
	s = malloc(v.n + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, v.p, v.n);
	s[v.n] = '\0';
	return s;
}

#define GROW(arr, n, cap) do {                                          \
		if ((n) == (cap)) {                                     \
			(cap) = (cap) ? 2 * (cap) : 64;                 \
			(arr) = realloc((arr), (cap) * sizeof(*(arr))); \
			ck_assert_ptr_nonnull(arr);                     \
		}                                                       \
	} while (0)

static int
t_event(void *ud, const struct apd_event *e)
{
	struct apd_test_out *o = ud;
	struct apd_test_event *t;

	GROW(o->ev, o->nev, o->cev);
	t = &o->ev[o->nev++];
	t->ts_utc = e->ts_utc;
	t->ts_local = dup_sv(e->ts_local);
	t->tz = e->tz;
	t->level = e->level;
	t->channel = dup_sv(e->channel);
	t->provider = dup_sv(e->provider);
	t->component = dup_sv(e->component);
	t->thread = dup_sv(e->thread);
	t->message = dup_sv(e->message);
	t->data = dup_sv(e->data);
	t->event_id = e->event_id;
	t->offset = e->offset;
	t->line = e->line;
	t->record_id = e->record_id;
	t->computer = dup_sv(e->computer);
	t->user_sid = dup_sv(e->user_sid);
	t->pid = e->pid;
	t->recovered = e->recovered;
	if (o->stop_after_events > 0 && o->nev >= (size_t)o->stop_after_events)
		return APD_FATAL;
	return APD_OK;
}

static int
t_regval(void *ud, const struct apd_regval *r)
{
	struct apd_test_out *o = ud;
	struct apd_test_regval *t;

	GROW(o->rv, o->nrv, o->crv);
	t = &o->rv[o->nrv++];
	memset(t, 0, sizeof(*t));
	t->hive = dup_sv(r->hive);
	t->key = dup_sv(r->key);
	t->name = dup_sv(r->name);
	t->type = r->type;
	t->kind = r->kind;
	t->num = r->num;
	t->text = dup_sv(r->text);
	if (r->kind == APD_RV_BLOB) {
		t->blob = malloc(r->blob_len + 1);
		ck_assert_ptr_nonnull(t->blob);
		if (r->blob_len)
			memcpy(t->blob, r->blob, r->blob_len);
		t->blob_len = r->blob_len;
	}
	t->line = r->line;
	if (r->kind == APD_RV_TEXT && r->text.p != NULL && memchr(r->text.p, '\0', r->text.n))
		o->nrv_text_nul++;
	if (o->stop_after_regvals > 0 && o->nrv >= (size_t)o->stop_after_regvals)
		return APD_FATAL;
	return APD_OK;
}

static int
t_fact(void *ud, struct apd_sv name, struct apd_sv value)
{
	struct apd_test_out *o = ud;

	GROW(o->facts, o->nfacts, o->cfacts);
	o->facts[o->nfacts].name = dup_sv(name);
	o->facts[o->nfacts].value = dup_sv(value);
	o->facts[o->nfacts].hresult = 0;
	o->facts[o->nfacts].line = 0;
	o->nfacts++;
	if (o->stop_after_facts > 0 && o->nfacts >= (size_t)o->stop_after_facts)
		return APD_FATAL;
	return APD_OK;
}

static int
t_gap(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	struct apd_test_out *o = ud;

	GROW(o->gaps, o->ngaps, o->cgaps);
	o->gaps[o->ngaps].name = dup_sv(item);
	o->gaps[o->ngaps].value = dup_sv(reason);
	o->gaps[o->ngaps].hresult = hresult;
	o->gaps[o->ngaps].line = 0;
	o->ngaps++;
	return APD_OK;
}

static int
t_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	struct apd_test_out *o = ud;

	(void)offset;
	GROW(o->warns, o->nwarns, o->cwarns);
	o->warns[o->nwarns].name = NULL;
	o->warns[o->nwarns].value = strdup(msg);
	o->warns[o->nwarns].hresult = 0;
	o->warns[o->nwarns].line = line;
	o->nwarns++;
	return APD_OK;
}

static const struct apd_sink_vtable test_vt = {
	.event = t_event,
	.regval = t_regval,
	.fact = t_fact,
	.gap = t_gap,
	.warn = t_warn,
};

void
apd_test_out_init(struct apd_test_out *o)
{
	memset(o, 0, sizeof(*o));
	o->sink.vt = &test_vt;
	o->sink.ud = o;
}

static void
free_kv(struct apd_test_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
	}
	free(kv);
}

void
apd_test_out_free(struct apd_test_out *o)
{
	size_t i;

	for (i = 0; i < o->nev; i++) {
		struct apd_test_event *t = &o->ev[i];
		free(t->ts_local);
		free(t->channel);
		free(t->provider);
		free(t->component);
		free(t->thread);
		free(t->computer);
		free(t->user_sid);
		free(t->message);
		free(t->data);
	}
	free(o->ev);
	for (i = 0; i < o->nrv; i++) {
		free(o->rv[i].hive);
		free(o->rv[i].key);
		free(o->rv[i].name);
		free(o->rv[i].text);
		free(o->rv[i].blob);
	}
	free(o->rv);
	free_kv(o->facts, o->nfacts);
	free_kv(o->gaps, o->ngaps);
	free_kv(o->warns, o->nwarns);
	apd_test_out_init(o);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int
run_stream(const struct apd_parser *p, struct apd_stream *st, const char *path,
    const struct apd_limits *lim, struct apd_test_out *o, struct apd_error *err)
{
	struct apd_parse ps;
	struct apd_limits dl;

	if (lim == NULL) {
		apd_limits_default(&dl);
		lim = &dl;
	}
	ps.in = st;
	ps.sink = &o->sink;
	ps.lim = lim;
	ps.path = path;
	ps.name = base_name(path);
	ps.err = err;
	ck_assert_msg(p->run != NULL, "parser %s has no run()", p->name);
	return p->run(&ps);
}

/* Set to make the next apd_test_parse_mem_ex() read ahead on a thread. */
static bool prefetch_next;

int
apd_test_parse_mem_ex(const struct apd_parser *p, const void *buf, size_t n, const char *name,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err)
{
	struct apd_mem_src m = { buf, n, block };
	struct apd_stream st;
	struct apd_limits dl;
	int rc;

	apd_limits_default(&dl);
	apd_error_clear(err);
	rc = apd_stream_open(&st, apd_mem_block, &m, name, (int64_t)n,
	    (lim ? lim : &dl)->max_file_bytes, err);
	if (rc == APD_OK && prefetch_next)
		ck_assert_int_eq(apd_stream_prefetch(&st), APD_OK);
	prefetch_next = false;
	if (rc == APD_OK)
		rc = run_stream(p, &st, name, lim, o, err);
	apd_stream_close(&st);
	return rc;
}

int
apd_test_parse_mem(const struct apd_parser *p, const void *buf, size_t n, const char *name,
    struct apd_test_out *o, struct apd_error *err)
{
	return apd_test_parse_mem_ex(p, buf, n, name, NULL, 0, o, err);
}

int
apd_test_parse_file(const struct apd_parser *p, const char *path, struct apd_test_out *o,
    struct apd_error *err)
{
	struct apd_fd_src fs;
	struct apd_stream st;
	struct stat sb;
	int fd, rc;

	apd_error_clear(err);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "cannot open %s", path);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(apd_fd_src_init(&fs, fd, path), APD_OK);
	rc = apd_stream_open(&st, apd_fd_block, &fs, path, (int64_t)sb.st_size,
	    APD_DEF_MAX_FILE_BYTES, err);
	if (rc == APD_OK)
		rc = run_stream(p, &st, path, NULL, o, err);
	apd_stream_close(&st);
	apd_fd_src_done(&fs);
	close(fd);
	return rc;
}

/* The name in-memory input is shown under: the input's, or the base name of rel. */
static const char *
input_name(const struct apd_test_input *in, const char *rel)
{
	return in->name ? in->name : base_name(rel);
}

int
apd_test_parse_src(const struct apd_test_input *in, const char *rel, struct apd_test_out *o,
    struct apd_error *err)
{
	apd_test_out_init(o);
	return apd_test_parse_file(in->parser, apd_test_src(rel), o, err);
}

int
apd_test_parse_src_mem(const struct apd_test_input *in, const char *rel,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err)
{
	unsigned char *buf;
	size_t n;
	int rc;

	buf = apd_test_slurp_src(rel, &n);
	apd_test_out_init(o);
	rc = apd_test_parse_mem_ex(in->parser, buf, n, input_name(in, rel), lim, block, o, err);
	free(buf);
	return rc;
}

void
apd_test_src_in_blocks(const struct apd_test_input *in, const char *rel, const size_t *blocks,
    size_t n, int want, void (*check)(const struct apd_test_out *o))
{
	struct apd_test_out o;
	struct apd_error err;
	size_t i;

	/* every block size, read directly and read ahead by a second thread */
	for (i = 0; i < 2 * n; i++) {
		prefetch_next = i >= n;
		ck_assert_int_eq(apd_test_parse_src_mem(in, rel, NULL, blocks[i % n], &o, &err), want);
		check(&o);
		apd_test_out_free(&o);
	}
}

int
apd_test_parse_buf(const struct apd_test_input *in, const void *buf, size_t n,
    const struct apd_limits *lim, size_t block, struct apd_test_out *o, struct apd_error *err)
{
	ck_assert_msg(in->name != NULL, "a buffer needs the input's name");
	apd_test_out_init(o);
	return apd_test_parse_mem_ex(in->parser, buf, n, in->name, lim, block, o, err);
}

int
apd_test_parse_str(const struct apd_test_input *in, const char *s, struct apd_test_out *o,
    struct apd_error *err)
{
	return apd_test_parse_buf(in, s, strlen(s), NULL, 0, o, err);
}

const char *
apd_test_bid_file(const char *path, int *bid)
{
	unsigned char *buf;
	size_t n;
	struct apd_probe pr;
	const struct apd_parser *p;

	buf = apd_test_slurp(path, &n);
	ck_assert_msg(buf != NULL, "cannot read %s", path);
	pr.head = buf;
	pr.len = n < APD_STREAM_HEAD ? n : APD_STREAM_HEAD;
	pr.name = base_name(path);
	pr.path = path;
	pr.size = (int64_t)n;
	p = apd_parser_choose(&pr, bid);
	free(buf);
	return p ? p->name : "";
}

const char *
apd_test_fact(const struct apd_test_out *o, const char *name)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; i < o->nfacts; i++)
		if (strcmp(o->facts[i].name, name) == 0)
			v = o->facts[i].value;
	return v;
}

const char *
apd_test_must_fact(const struct apd_test_out *o, const char *name)
{
	const char *v = apd_test_fact(o, name);

	ck_assert_msg(v != NULL, "fact %s missing", name);
	return v;
}

const struct apd_test_event *
apd_test_event_with(const struct apd_test_out *o, const char *s)
{
	size_t i;

	for (i = 0; i < o->nev; i++)
		if (o->ev[i].message && strstr(o->ev[i].message, s))
			return &o->ev[i];
	return NULL;
}

const struct apd_test_kv *
apd_test_gap(const struct apd_test_out *o, const char *item)
{
	size_t i;

	for (i = 0; i < o->ngaps; i++)
		if (strcmp(o->gaps[i].name, item) == 0)
			return &o->gaps[i];
	return NULL;
}

const char *
apd_test_warn_with(const struct apd_test_out *o, const char *s)
{
	size_t i;

	for (i = 0; i < o->nwarns; i++)
		if (strstr(o->warns[i].value, s))
			return o->warns[i].value;
	return NULL;
}

bool
apd_test_warned_at(const struct apd_test_out *o, uint64_t line, const char *part)
{
	size_t i;

	for (i = 0; i < o->nwarns; i++)
		if (o->warns[i].line == line && strstr(o->warns[i].value, part))
			return true;
	return false;
}

void
apd_test_ck_warnings(const struct apd_test_out *o, const struct apd_test_want_warn *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(apd_test_warned_at(o, want[i].line, want[i].part),
		    "no warning '%s' at line %u", want[i].part, (unsigned)want[i].line);
	ck_assert_uint_eq(o->nwarns, n);
}

bool
apd_test_contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

bool
apd_test_emitted_anywhere(const struct apd_test_out *o, const struct apd_error *err,
    const char *needle)
{
	size_t i;

	if (apd_test_contains(err->msg, needle))
		return true;
	for (i = 0; i < o->nfacts; i++)
		if (apd_test_contains(o->facts[i].name, needle) ||
		    apd_test_contains(o->facts[i].value, needle))
			return true;
	for (i = 0; i < o->nev; i++) {
		const struct apd_test_event *e = &o->ev[i];

		if (apd_test_contains(e->message, needle) || apd_test_contains(e->data, needle) ||
		    apd_test_contains(e->component, needle) || apd_test_contains(e->channel, needle) ||
		    apd_test_contains(e->provider, needle) || apd_test_contains(e->ts_local, needle))
			return true;
	}
	for (i = 0; i < o->nrv; i++)
		if (apd_test_contains(o->rv[i].key, needle) || apd_test_contains(o->rv[i].name, needle) ||
		    apd_test_contains(o->rv[i].text, needle))
			return true;
	for (i = 0; i < o->ngaps; i++)
		if (apd_test_contains(o->gaps[i].name, needle) ||
		    apd_test_contains(o->gaps[i].value, needle))
			return true;
	for (i = 0; i < o->nwarns; i++)
		if (apd_test_contains(o->warns[i].value, needle))
			return true;
	return false;
}

const struct apd_test_regval *
apd_test_find_regval(const struct apd_test_out *o, const char *key, const char *name)
{
	size_t i;

	for (i = 0; i < o->nrv; i++)
		if (o->rv[i].name != NULL && strcasecmp(o->rv[i].key, key) == 0 &&
		    strcasecmp(o->rv[i].name, name) == 0)
			return &o->rv[i];
	return NULL;
}

const struct apd_test_regval *
apd_test_find_regkey(const struct apd_test_out *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->nrv; i++)
		if (o->rv[i].name == NULL && strcasecmp(o->rv[i].key, key) == 0)
			return &o->rv[i];
	return NULL;
}

size_t
apd_test_count_regkeys(const struct apd_test_out *o)
{
	size_t i, n = 0;

	for (i = 0; i < o->nrv; i++)
		n += o->rv[i].name == NULL;
	return n;
}

const struct apd_test_regval *
apd_test_must_regval(const struct apd_test_out *o, const char *key, const char *name)
{
	const struct apd_test_regval *r = apd_test_find_regval(o, key, name);

	ck_assert_msg(r != NULL, "value '%s' of '%s' not found", name, key);
	return r;
}

void
apd_test_ck_regtext(const struct apd_test_out *o, const char *key, const char *name, int type,
    const char *want, uint64_t line)
{
	const struct apd_test_regval *r = apd_test_must_regval(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_TEXT);
	ck_assert_int_eq(r->type, type);
	ck_assert_ptr_nonnull(r->text);
	ck_assert_str_eq(r->text, want);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

void
apd_test_ck_regint(const struct apd_test_out *o, const char *key, const char *name, int type,
    uint64_t want, uint64_t line)
{
	const struct apd_test_regval *r = apd_test_must_regval(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_INT);
	ck_assert_int_eq(r->type, type);
	ck_assert_uint_eq((uint64_t)r->num, want);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

void
apd_test_ck_regblob(const struct apd_test_out *o, const char *key, const char *name, int type,
    const void *want, size_t n, uint64_t line)
{
	const struct apd_test_regval *r = apd_test_must_regval(o, key, name);

	ck_assert_int_eq(r->kind, APD_RV_BLOB);
	ck_assert_int_eq(r->type, type);
	ck_assert_uint_eq(r->blob_len, n);
	if (n)
		ck_assert_mem_eq(r->blob, want, n);
	if (line)
		ck_assert_uint_eq(r->line, line);
}

const char *
apd_test_src(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", APD_TEST_SRCDIR, rel);
	return buf;
}

const char *
apd_test_corpus(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("APD_CORPUS");
	struct stat sb;

	if (root && *root)
		snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	else
		snprintf(buf, sizeof(buf), "%s/../shared/corpus/%s", APD_TEST_SRCDIR, rel);
	return stat(buf, &sb) == 0 ? buf : NULL;
}

unsigned char *
apd_test_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[len] = 0;
		*n = (size_t)len;
	}
	return buf;
}

unsigned char *
apd_test_slurp_src(const char *rel, size_t *n)
{
	unsigned char *buf = apd_test_slurp(apd_test_src(rel), n);

	ck_assert_msg(buf != NULL, "cannot read %s", rel);
	return buf;
}

void
apd_test_junk(unsigned char *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* The current test's directory, made by apd_test_tmpdir_setup(). */
static char tmpdir[256];

void
apd_test_tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/apd-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

void
apd_test_tmpdir_teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

const char *
apd_test_tmpdir(void)
{
	return tmpdir;
}

const char *
apd_test_tpath(const char *name)
{
	static char buf[2][512];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

void
apd_test_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

void
apd_test_write_sparse(const char *path, int64_t size)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

void
apd_test_stderr_begin(struct apd_test_stderr *c)
{
	c->tmp = tmpfile();
	c->saved = dup(2);
	ck_assert_ptr_nonnull(c->tmp);
	ck_assert_int_ge(c->saved, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(c->tmp), 2), 0);
}

long
apd_test_stderr_end(struct apd_test_stderr *c)
{
	long len;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fseek(c->tmp, 0, SEEK_END);
	len = ftell(c->tmp);
	fclose(c->tmp);
	return len;
}

int
apd_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
