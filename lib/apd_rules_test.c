/*
 * apd_rules_test.c - running the test cases of rules (docs/rules.md, "Test
 * cases").
 *
 * Each test builds a small index in a fresh folder under tmpdir with the
 * real store: its <file>s are copied or written into an input folder and
 * walked with the real parsers, its records are emitted through the store's
 * catalog and sink (so facts are derived from the registry and local times
 * converted exactly as in `apdiag analyze`), and its own rule is evaluated
 * from the store's finish hook.  The folder is removed afterwards.
 *
 * Only apd_rules_run_tests() is exported.
 */
#include "apd_rules_int.h"
#include "apd_limits.h"
#include "apd_store.h"
#include "apd_time.h"
#include "apd_walk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct run {
	struct apd_ruleset *rs;
	const struct rule *rule;
	size_t ri;
	unsigned long findings;
	unsigned long candidates;
	bool title_ok;
	const char *title_want;
	char first_title[512];
	char diag[512];
};

static int
hook(void *ud, sqlite3 *db, struct apd_error *err)
{
	struct run *r = ud;
	struct apd_rules_opts o = { r->rule->id, true };
	struct apd_rules_result *res;
	size_t i;
	int rc;

	rc = apd_rules_eval(r->rs, db, &o, &res, err);
	if (rc != APD_OK)
		return rc;
	r->findings = apd_rules_nfindings(res);
	r->candidates = apd_rules_stats(res, r->ri)->candidates;
	r->title_ok = r->title_want == NULL;
	for (i = 0; i < r->findings; i++) {
		const struct apd_finding *f = apd_rules_finding(res, i);
		if (i == 0)
			snprintf(r->first_title, sizeof(r->first_title), "%s", f->title);
		if (r->title_want && strstr(f->title, r->title_want))
			r->title_ok = true;
	}
	for (i = 0; i < apd_rules_ndiags(res) && !r->diag[0]; i++)
		snprintf(r->diag, sizeof(r->diag), "%s", apd_rules_diag(res, i)->msg);
	apd_rules_result_free(res);
	return APD_OK;
}

static int
write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out;
	char buf[65536];
	size_t n;
	int ok = 1;

	if (in == NULL)
		return -1;
	out = fopen(to, "wb");
	if (out == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ok = 0;
	fclose(in);
	return (fclose(out) == 0 && ok) ? 0 : -1;
}

/* out = a "/" b, cut to n bytes (paths here are far shorter) */
static void
pathcat(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb + 2 > n) {
		out[0] = '\0';
		return;
	}
	memcpy(out, a, la);
	out[la] = '/';
	memcpy(out + la + 1, b, lb + 1);
}

/* msg = a ": " b, cut to n bytes */
static void
msgcat(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > n / 2)
		la = n / 2;
	if (la + lb + 3 > n)
		lb = n - la - 3;
	memcpy(out, a, la);
	memcpy(out + la, ": ", 2);
	memcpy(out + la + 2, b, lb);
	out[la + 2 + lb] = '\0';
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int64_t
parse_utc(const char *t)
{
	int64_t us;
	size_t n;

	if (t == NULL)
		return APD_TS_NONE;
	n = strlen(t);
	if (n && t[n - 1] == 'Z')
		n--;
	return apd_parse_iso(apd_sv(t, n), &us) ? us : APD_TS_NONE;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Emit the records of one source group (kind, path) of a test. */
static int
emit_group(struct apd_catalog cat, const struct rule_test *t, size_t first, struct apd_error *err)
{
	const struct test_rec *g = &t->recs[first];
	const char *kind = g->source_kind ? g->source_kind : g->kind == 'r' ? "reg-export" : "text";
	const char *path = g->source_path ? g->source_path : "test";
	struct apd_source_info si = { 0, path, kind, "test", NULL, -1 };
	struct apd_source_result sr = { "ok", NULL, NULL, -1, NULL };
	struct apd_sink *sink;
	int64_t id;
	uint64_t line = 0;
	size_t i;
	int rc = APD_OK;

	id = cat.vt->begin(cat.ud, &si);
	if (id <= 0)
		return apd_set_error(err, APD_FATAL, "test index: cannot add a source");
	sink = cat.vt->sink(cat.ud, id);
	for (i = first; i < t->nrecs && rc == APD_OK; i++) {
		const struct test_rec *x = &t->recs[i];
		const char *xk, *xp;

		if (x->kind == 's' || x->kind == 'i')
			continue;
		xk = x->source_kind ? x->source_kind : x->kind == 'r' ? "reg-export" : "text";
		xp = x->source_path ? x->source_path : "test";
		if (strcmp(xk, kind) != 0 || strcmp(xp, path) != 0)
			continue;
		line++;
		if (x->kind == 'e') {
			struct apd_event ev;
			apd_event_init(&ev);
			if (x->time) {
				ev.ts_utc = parse_utc(x->time);
				ev.tz = ev.ts_utc != APD_TS_NONE ? APD_TZ_UTC : APD_TZ_NONE;
			} else if (x->local_time) {
				ev.ts_local = apd_sv_cstr(x->local_time);
				ev.tz = APD_TZ_LOCAL;
			}
			ev.level = x->level;
			ev.channel = apd_sv_cstr(x->channel);
			ev.provider = apd_sv_cstr(x->provider);
			ev.event_id = x->event_id;
			ev.component = apd_sv_cstr(x->component);
			ev.thread = apd_sv_cstr(x->thread);
			ev.message = apd_sv_cstr(x->message);
			ev.data = apd_sv_cstr(x->data);
			ev.line = x->line ? x->line : line;
			rc = apd_emit_event(sink, &ev);
		} else if (x->kind == 'r') {
			struct apd_regval rv;
			unsigned char *blob = NULL;
			memset(&rv, 0, sizeof(rv));
			rv.hive = apd_sv_cstr(x->hive);
			rv.key = apd_sv_cstr(x->key);
			rv.name = x->has_name ? apd_sv_cstr(x->name) : APD_SV_NULL;
			rv.line = line;
			if (strcmp(x->type, "REG_DWORD") == 0 || strcmp(x->type, "REG_QWORD") == 0) {
				const char *v = x->value ? x->value : "0";
				while (*v == ' ' || *v == '\n' || *v == '\t')
					v++;
				rv.type = strcmp(x->type, "REG_DWORD") == 0 ? APD_REG_DWORD : APD_REG_QWORD;
				rv.kind = APD_RV_INT;
				rv.num = (v[0] == '0' && (v[1] | 0x20) == 'x') ? (int64_t)strtoull(v + 2, NULL, 16)
				    : strtoll(v, NULL, 10);
			} else if (strcmp(x->type, "REG_BINARY") == 0) {
				const char *v = x->value ? x->value : "";
				size_t n = 0;
				blob = malloc(strlen(v) / 2 + 1);
				if (blob == NULL)
					return apd_set_error(err, APD_FATAL, "out of memory");
				while (*v) {
					int h = hexval((unsigned char)v[0]), l = h >= 0 && v[1] ? hexval((unsigned char)v[1]) : -1;
					if (h >= 0 && l >= 0) {
						blob[n++] = (unsigned char)(h << 4 | l);
						v += 2;
					} else {
						v++;
					}
				}
				rv.type = APD_REG_BINARY;
				rv.kind = APD_RV_BLOB;
				rv.blob = blob;
				rv.blob_len = n;
			} else {
				rv.type = strcmp(x->type, "REG_EXPAND_SZ") == 0 ? APD_REG_EXPAND_SZ :
				    strcmp(x->type, "REG_MULTI_SZ") == 0 ? APD_REG_MULTI_SZ : APD_REG_SZ;
				rv.kind = APD_RV_TEXT;
				rv.text = apd_sv_cstr(x->value ? x->value : "");
			}
			rc = apd_emit_regval(sink, &rv);
			free(blob);
		} else if (x->kind == 'f') {
			rc = apd_emit_fact(sink, apd_sv_cstr(x->name), apd_sv_cstr(x->value));
		} else if (x->kind == 'g') {
			rc = apd_emit_gap(sink, apd_sv_cstr(x->item), x->hresult,
			    apd_sv_cstr(x->reason));
		}
	}
	if (rc != APD_OK)
		return apd_set_error(err, APD_FATAL, "test index: cannot add a record");
	return cat.vt->end(cat.ud, id, &sr);
}

static void
remove_tree(const char *dir, const struct rule_test *t)
{
	char p[4096];
	size_t i;
	static const char *const own[] = { "t.db", "t.db.partial", "t.db.fts.partial",
		"t.db.partial-journal", "t.db-journal" };

	for (i = 0; i < t->nrecs; i++) {
		const struct test_rec *x = &t->recs[i];
		if (x->kind == 's' || x->kind == 'i') {
			char q[4096];
			pathcat(q, sizeof(q), dir, "in");
			pathcat(p, sizeof(p), q, x->kind == 's' ? base_name(x->file) : x->file);
			unlink(p);
		}
	}
	pathcat(p, sizeof(p), dir, "in");
	rmdir(p);
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		pathcat(p, sizeof(p), dir, own[i]);
		unlink(p);
	}
	rmdir(dir);
}

static int
run_one(struct apd_ruleset *rs, size_t ri, const struct rule_test *t, const char *tmpdir,
    struct run *r, char *msg, size_t nmsg)
{
	char dir[4096], in[4096], db[4096];
	struct apd_limits lim;
	struct apd_store *st = NULL;
	struct apd_error err;
	bool files = false;
	size_t i, j;
	int rc = APD_OK;

	memset(r, 0, sizeof(*r));
	r->rs = rs;
	r->rule = rs->rules[ri];
	r->ri = ri;
	r->title_want = t->title_contains;
	pathcat(dir, sizeof(dir), tmpdir, "apdiag-rules-XXXXXX");
	if (dir[0] == '\0' || mkdtemp(dir) == NULL) {
		msgcat(msg, nmsg, tmpdir, "cannot create a folder");
		return APD_FATAL;
	}
	pathcat(in, sizeof(in), dir, "in");
	pathcat(db, sizeof(db), dir, "t.db");
	for (i = 0; i < t->nrecs && rc == APD_OK; i++) {
		const struct test_rec *x = &t->recs[i];
		char p[4096];
		if (x->kind != 's' && x->kind != 'i')
			continue;
		if (!files && mkdir(in, 0700) != 0) {
			msgcat(msg, nmsg, in, strerror(errno));
			rc = APD_FATAL;
			break;
		}
		files = true;
		pathcat(p, sizeof(p), in, x->kind == 's' ? base_name(x->file) : x->file);
		if (x->kind == 's' ? copy_file(x->file, p) != 0 :
		    write_all(p, x->content ? x->content : "", x->content_len) != 0) {
			msgcat(msg, nmsg, x->kind == 's' ? x->file : p, x->kind == 's' ?
			    "cannot read the fixture" : "cannot write the fixture");
			rc = APD_FAILED;
		}
	}
	apd_limits_default(&lim);
	apd_error_clear(&err);
	if (rc == APD_OK && apd_store_create(&st, db, &lim, &err) != APD_OK) {
		snprintf(msg, nmsg, "%s", err.msg);
		rc = APD_FATAL;
	}
	if (rc == APD_OK) {
		struct apd_catalog cat = apd_store_catalog(st);
		apd_store_set_finish_hook(st, hook, r);
		if (files) {
			struct apd_walk w;
			apd_walk_init(&w, &lim, cat);
			if (apd_walk_input(&w, in) == APD_FATAL) {
				snprintf(msg, nmsg, "%s", w.err.msg);
				rc = APD_FATAL;
			}
		}
		/* structured records: one source per (kind, path), in document order */
		for (i = 0; i < t->nrecs && rc == APD_OK; i++) {
			const struct test_rec *x = &t->recs[i];
			bool seen = false;
			if (x->kind == 's' || x->kind == 'i')
				continue;
			for (j = 0; j < i && !seen; j++) {
				const struct test_rec *y = &t->recs[j];
				const char *xk = x->source_kind ? x->source_kind : x->kind == 'r' ? "reg-export" : "text";
				const char *yk = y->source_kind ? y->source_kind : y->kind == 'r' ? "reg-export" : "text";
				if (y->kind == 's' || y->kind == 'i')
					continue;
				seen = strcmp(xk, yk) == 0 && strcmp(x->source_path ? x->source_path : "test",
				    y->source_path ? y->source_path : "test") == 0;
			}
			if (!seen && emit_group(cat, t, i, &err) != APD_OK) {
				snprintf(msg, nmsg, "%s", err.msg);
				rc = APD_FATAL;
			}
		}
		if (rc == APD_OK && apd_store_finish(st, &err) != APD_OK) {
			snprintf(msg, nmsg, "%s", err.msg);
			rc = APD_FATAL;
		}
	}
	apd_store_free(st);
	remove_tree(dir, t);
	return rc;
}

int
apd_rules_run_tests(struct apd_ruleset *rs, const char *only, unsigned flags,
    const char *tmpdir, apd_rules_test_fn fn, void *ud, struct apd_error *err)
{
	size_t i, k;
	struct stat sb;

	if (tmpdir == NULL || stat(tmpdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return apd_set_error(err, APD_FATAL, "%s: not a folder", tmpdir ? tmpdir : "(null)");
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *ru = rs->rules[i];

		if (ru->replaced || (only && strcmp(only, ru->id) != 0))
			continue;
		for (k = 0; k < ru->ntests; k++) {
			const struct rule_test *t = &ru->tests[k];
			struct apd_rules_test_report rep;
			struct run r;
			char msg[1024] = "";
			int rc;

			if ((flags & APD_RULES_TEST_NEGATIVE_ONLY) && t->expect_match)
				continue;
			rc = run_one(rs, i, t, tmpdir, &r, msg, sizeof(msg));

			memset(&rep, 0, sizeof(rep));
			rep.rule_id = ru->id;
			rep.file = ru->file;
			rep.line = t->line;
			rep.name = t->name ? t->name : "";
			rep.expect_match = t->expect_match;
			rep.findings = r.findings;
			if (rc != APD_OK) {
				rep.status = APD_TEST_ERROR;
			} else if (t->expect_match) {
				if (r.findings == 0)
					snprintf(msg, sizeof(msg), "expected a finding, got none%s%s",
					    r.diag[0] ? " (" : "", r.diag[0] ? r.diag : "");
				else if (t->findings && r.findings != t->findings)
					snprintf(msg, sizeof(msg), "expected %lu findings, got %lu", t->findings,
					    r.findings);
				else if (!r.title_ok)
					snprintf(msg, sizeof(msg), "no finding title contains \"%s\" (first: \"%s\")",
					    t->title_contains, r.first_title);
				rep.status = msg[0] ? APD_TEST_FAIL : APD_TEST_PASS;
			} else {
				if (r.findings)
					snprintf(msg, sizeof(msg), "expected no finding, got %lu: \"%s\"", r.findings,
					    r.first_title);
				rep.vacuous = r.candidates == 0;
				rep.status = msg[0] ? APD_TEST_FAIL : APD_TEST_PASS;
			}
			rep.msg = msg;
			fn(ud, &rep);
			if (rc == APD_FATAL && strstr(msg, "cannot create a folder"))
				return apd_set_error(err, APD_FATAL, "%s", msg);
		}
	}
	return APD_OK;
}
