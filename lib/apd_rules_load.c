/*
 * apd_rules_load.c - reading rule files into the compiled form of
 * apd_rules_int.h.
 *
 * A file is read into memory (at most RULES_MAX_FILE_BYTES), parsed by
 * libxml2 into a tree without network access, without entity expansion and
 * with any DTD refused, validated against the embedded RELAX NG schema, and
 * compiled rule by rule.  Every error names the file and the line.
 *
 * Exports the ruleset life cycle and loading functions of apd_rules.h, and
 * rules_glob(), rules_duration(), diag_add(), the arena and the freeing
 * helpers of apd_rules_int.h.
 */
#include "apd_rules_int.h"
#include "apd_hresult.h"

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

extern const char apd_rules_rng[];

/* ---- arena ---- */

struct arena {
	struct arena *next;
	size_t used, size;
	max_align_t data[];
};

void *
arena_alloc(struct arena **a, size_t n)
{
	struct arena *c = *a;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (c == NULL || c->size - c->used < n) {
		size_t sz = n > 60000 ? n : 60000;
		c = malloc(sizeof(*c) + sz);
		if (c == NULL)
			return NULL;
		c->next = *a;
		c->used = 0;
		c->size = sz;
		*a = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *
arena_strndup(struct arena **a, const char *p, size_t n)
{
	char *s = arena_alloc(a, n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

void
arena_free(struct arena **a)
{
	while (*a) {
		struct arena *n = (*a)->next;
		free(*a);
		*a = n;
	}
}

/* ---- diagnostics ---- */

int
diag_add(struct diag_list *l, int level, const char *rule_id, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	struct apd_diag *d;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		d = realloc(l->d, nc * sizeof(*d));
		if (d == NULL)
			return APD_FATAL;
		l->d = d;
		l->cap = nc;
	}
	d = &l->d[l->n];
	d->level = level;
	d->rule_id = rule_id ? strdup(rule_id) : NULL;
	d->msg = strdup(buf);
	if (d->msg == NULL)
		return APD_FATAL;
	l->n++;
	return APD_OK;
}

void
diag_free(struct diag_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free((char *)l->d[i].rule_id);
		free((char *)l->d[i].msg);
	}
	free(l->d);
	l->d = NULL;
	l->n = l->cap = 0;
}

const char *
apd_sev_name(int sev)
{
	switch (sev) {
	case APD_SEV_CRITICAL: return "critical";
	case APD_SEV_ERROR: return "error";
	case APD_SEV_WARNING: return "warning";
	default: return "info";
	}
}

/* ---- glob and durations ---- */

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool
rules_glob(const char *pat, const char *s, size_t n)
{
	const char *star = NULL;
	size_t i = 0, mark = 0;

	while (i < n) {
		if (*pat == '*') {
			star = ++pat;
			mark = i;
		} else if (*pat && (*pat == '?' || lower((unsigned char)*pat) == lower((unsigned char)s[i]))) {
			pat++;
			i++;
		} else if (star) {
			pat = star;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int64_t
rules_duration(const char *s)
{
	static const int64_t us_s = 1000000;
	int64_t total = 0;
	bool time = false, any = false;

	if (s == NULL || *s != 'P')
		return -1;
	s++;
	while (*s) {
		int64_t v = 0;
		int64_t unit;

		if (*s == 'T') {
			if (time)
				return -1;
			time = true;
			s++;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (v > 1000000000)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		switch (*s) {
		case 'Y': unit = time ? -1 : 365 * 86400 * us_s; break;
		case 'M': unit = time ? 60 * us_s : 30 * 86400 * us_s; break;
		case 'W': unit = time ? -1 : 7 * 86400 * us_s; break;
		case 'D': unit = time ? -1 : 86400 * us_s; break;
		case 'H': unit = time ? 3600 * us_s : -1; break;
		case 'S': unit = time ? us_s : -1; break;
		default: unit = -1; break;
		}
		if (unit < 0 || v > INT64_MAX / unit / 4)
			return -1;
		total += v * unit;
		any = true;
		s++;
	}
	return any ? total : -1;
}

/* ---- freeing ---- */

static void
free_regex(struct regex_info *re)
{
	uint32_t i;

	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re->pattern);
	for (i = 0; i < re->ncap; i++)
		free(re->cap_names[i]);
	free(re->cap_names);
	free(re->cap_nums);
	free(re);
}

static void
free_pred(struct pred *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nkids; i++)
		free_pred(p->kids[i]);
	free(p->kids);
	for (i = 0; i < p->nlist; i++)
		free(p->list[i]);
	free(p->list);
	free(p->nums);
	free(p->codes);
	free(p->path);
	free(p->text);
	free_regex(p->re);
	free(p);
}

void
rules_free_selector(struct selector *s)
{
	if (s == NULL)
		return;
	free_pred(s->root);
	free(s->sql);
	free(s->key);
	free(s->file);
	free(s->m);
	free(s->idx_head);
	free(s->idx_next);
	free(s);
}

static void
free_cond(struct cond *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		free_cond(c->kids[i]);
	free(c->kids);
	free(c->sels);
	free(c->to_sels);
	for (i = 0; i < c->nsame; i++)
		free(c->same[i]);
	free(c->same);
	free(c->sql);
	free(c);
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
rules_free_rule(struct rule *r)
{
	size_t i, j;

	if (r == NULL)
		return;
	free(r->id);
	free(r->category);
	free(r->title);
	free(r->explanation);
	free_strv(r->kb, r->nkb);
	free_strv(r->steps, r->nsteps);
	free_strv(r->ref_urls, r->nrefs);
	free_strv(r->ref_titles, r->nrefs);
	free(r->trig);
	free(r->group_by);
	free_cond(r->when);
	for (i = 0; i < r->ntests; i++) {
		struct rule_test *t = &r->tests[i];
		for (j = 0; j < t->nrecs; j++) {
			struct test_rec *x = &t->recs[j];
			free(x->source_kind); free(x->source_path); free(x->time); free(x->local_time);
			free(x->channel); free(x->provider); free(x->component); free(x->thread);
			free(x->message); free(x->data); free(x->hive); free(x->key); free(x->name);
			free(x->type); free(x->value); free(x->item); free(x->reason); free(x->file);
			free(x->content);
		}
		free(t->recs);
		free(t->name);
		free(t->title_contains);
	}
	free(r->tests);
	free(r->file);
	free(r);
}

/* ---- the ruleset ---- */

struct rng_err {
	char msg[768];
	unsigned line;
	bool set;
};

static void
on_rng_error(void *ud, xmlErrorPtr e)
{
	struct rng_err *r = ud;
	size_t n;

	if (r->set || e == NULL)
		return;
	r->set = true;
	r->line = e->line > 0 ? (unsigned)e->line : 0;
	snprintf(r->msg, sizeof(r->msg), "%s", e->message ? e->message : "invalid");
	n = strlen(r->msg);
	while (n > 0 && (r->msg[n - 1] == '\n' || r->msg[n - 1] == ' '))
		r->msg[--n] = '\0';
}

int
apd_ruleset_new(struct apd_ruleset **out, struct apd_error *err)
{
	struct apd_ruleset *rs;
	xmlRelaxNGParserCtxtPtr pc;
	struct rng_err re = { "", 0, false };

	*out = NULL;
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	xmlInitParser();
	pc = xmlRelaxNGNewMemParserCtxt(apd_rules_rng, (int)strlen(apd_rules_rng));
	if (pc == NULL) {
		apd_ruleset_free(rs);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	xmlRelaxNGSetParserStructuredErrors(pc, on_rng_error, &re);
	rs->rng = xmlRelaxNGParse(pc);
	xmlRelaxNGFreeParserCtxt(pc);
	if (rs->rng == NULL) {
		apd_ruleset_free(rs);
		return apd_set_error(err, APD_FATAL, "the embedded rule schema does not load: %s",
		    re.msg);
	}
	rs->mctx = pcre2_match_context_create(NULL);
	rs->jit = pcre2_jit_stack_create(32 * 1024, RULES_JIT_STACK_MAX, NULL);
	rs->md = pcre2_match_data_create(256, NULL);
	if (rs->mctx == NULL || rs->md == NULL) {
		apd_ruleset_free(rs);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	pcre2_set_match_limit(rs->mctx, RULES_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, RULES_REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(rs->mctx, RULES_REGEX_HEAP_KIB);
	if (rs->jit)
		pcre2_jit_stack_assign(rs->mctx, NULL, rs->jit);
	*out = rs;
	return APD_OK;
}

struct apd_ruleset *
apd_ruleset_free(struct apd_ruleset *rs)
{
	size_t i;

	if (rs == NULL)
		return NULL;
	for (i = 0; i < rs->nrules; i++)
		rules_free_rule(rs->rules[i]);
	free(rs->rules);
	for (i = 0; i < rs->nsels; i++)
		rules_free_selector(rs->sels[i]);
	free(rs->sels);
	diag_free(&rs->diags);
	if (rs->rng)
		xmlRelaxNGFree(rs->rng);
	pcre2_match_data_free(rs->md);
	pcre2_jit_stack_free(rs->jit);
	pcre2_match_context_free(rs->mctx);
	free(rs);
	return NULL;
}

size_t
apd_ruleset_size(const struct apd_ruleset *rs)
{
	return rs->nrules;
}

long
apd_ruleset_find(const struct apd_ruleset *rs, const char *id)
{
	size_t i;

	for (i = 0; i < rs->nrules; i++)
		if (!rs->rules[i]->replaced && strcmp(rs->rules[i]->id, id) == 0)
			return (long)i;
	return -1;
}

void
apd_ruleset_info(const struct apd_ruleset *rs, size_t i, struct apd_rule_info *o)
{
	const struct rule *r = rs->rules[i];
	size_t k;

	memset(o, 0, sizeof(*o));
	o->id = r->id;
	o->title = r->title;
	o->category = r->category;
	o->file = r->file;
	o->line = r->line;
	o->sev = r->sev;
	o->version = r->version;
	o->confidence = r->confidence;
	o->enabled = r->enabled && !r->replaced;
	for (k = 0; k < r->ntests; k++) {
		if (r->tests[k].expect_match)
			o->npositive++;
		else
			o->nnegative++;
	}
	o->nsteps = r->nsteps;
	o->steps = (const char *const *)r->steps;
	o->nrefs = r->nrefs;
	o->ref_urls = (const char *const *)r->ref_urls;
	o->ref_titles = (const char *const *)r->ref_titles;
}

size_t
apd_ruleset_ndiags(const struct apd_ruleset *rs)
{
	return rs->diags.n;
}

const struct apd_diag *
apd_ruleset_diag(const struct apd_ruleset *rs, size_t i)
{
	return &rs->diags.d[i];
}

/* ---- compiling ---- */

struct ld {
	struct apd_ruleset *rs;
	const char *path;       /* the file */
	char *dir;              /* its folder, for <file src> */
	struct apd_error *err;
	int rc;                 /* first error: APD_FAILED or APD_FATAL */
	struct rule *cur;
	/* what this file added, to undo on failure */
	size_t first_sel;
	struct rule **rules;
	size_t nrules, caprules;
};

static int
fail(struct ld *l, const xmlNode *n, const char *fmt, ...) APD_PRINTF(3, 4);

static int
fail(struct ld *l, const xmlNode *n, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (l->rc != APD_OK)
		return l->rc;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (l->cur)
		l->rc = apd_set_error(l->err, APD_FAILED, "%s:%ld: rule %s: %s", l->path,
		    n ? xmlGetLineNo(n) : 0L, l->cur->id, buf);
	else
		l->rc = apd_set_error(l->err, APD_FAILED, "%s:%ld: %s", l->path,
		    n ? xmlGetLineNo(n) : 0L, buf);
	return l->rc;
}

static int
oom(struct ld *l)
{
	if (l->rc != APD_FATAL)
		l->rc = apd_set_error(l->err, APD_FATAL, "%s: out of memory", l->path);
	return APD_FATAL;
}

static bool
is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static char *
attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s;

	if (v == NULL)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

/* The text content exactly as written (NULL only when out of memory). */
static char *
text_raw(const xmlNode *n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *s = strdup(v ? (const char *)v : "");

	xmlFree(v);
	return s;
}

/* The text with runs of white space made one space, trimmed. */
static char *
text_norm(const xmlNode *n)
{
	char *s = text_raw(n), *w, *r;
	bool sp = false;

	if (s == NULL)
		return NULL;
	for (r = w = s; *r; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r') {
			sp = w != s;
			continue;
		}
		if (sp)
			*w++ = ' ';
		sp = false;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

static int
push_str(char ***v, size_t *n, char *s)
{
	char **nv;

	if (s == NULL)
		return APD_FATAL;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL) {
		free(s);
		return APD_FATAL;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return APD_OK;
}

/* Split on white space into a string vector. */
static int
split(const char *s, char ***v, size_t *n)
{
	while (*s) {
		size_t k;
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			break;
		k = strcspn(s, " \t\r\n");
		if (push_str(v, n, strndup(s, k)) != APD_OK)
			return APD_FATAL;
		s += k;
	}
	return APD_OK;
}

static struct pred *
new_pred(struct ld *l, enum pred_op op, const xmlNode *n)
{
	struct pred *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		oom(l);
		return NULL;
	}
	p->op = op;
	p->col = -1;
	p->memo = -1;
	p->line = n ? (unsigned)xmlGetLineNo(n) : 0;
	return p;
}

static int
add_kid(struct ld *l, struct pred *parent, struct pred *kid)
{
	struct pred **nk = realloc(parent->kids, (parent->nkids + 1) * sizeof(*nk));

	if (nk == NULL) {
		free_pred(kid);
		return oom(l);
	}
	parent->kids = nk;
	parent->kids[parent->nkids++] = kid;
	return APD_OK;
}

static const struct {
	const char *name;
	enum field_id f;
	unsigned kinds;         /* bit per sel_kind */
} field_names[] = {
#define EV (1u << SEL_EVENT)
#define RG (1u << SEL_REG)
#define FA (1u << SEL_FACT)
#define GA (1u << SEL_GAP)
	{ "message", F_MESSAGE, EV },
	{ "channel", F_CHANNEL, EV },
	{ "provider", F_PROVIDER, EV },
	{ "component", F_COMPONENT, EV },
	{ "thread", F_THREAD, EV },
	{ "source-path", F_SOURCE_PATH, EV | RG | FA | GA },
	{ "source-kind", F_SOURCE_KIND, EV },
	{ "event-id", F_EVENT_ID, EV },
	{ "level", F_LEVEL, EV },
	{ "line", F_LINE, EV | RG },
	{ "hive", F_HIVE, RG },
	{ "key", F_KEY, RG },
	{ "name", F_NAME, RG | FA },
	{ "value", F_VALUE, RG | FA },
	{ "type", F_TYPE, RG },
	{ "item", F_ITEM, GA },
	{ "reason", F_REASON, GA },
	{ "hresult", F_HRESULT, GA },
#undef EV
#undef RG
#undef FA
#undef GA
};

/* Resolve field="..." for a selector kind; default when absent. */
static int
resolve_field(struct ld *l, const xmlNode *n, enum sel_kind k, const char *name, struct pred *p,
    bool hresult)
{
	size_t i;

	if (name == NULL) {
		switch (k) {
		case SEL_EVENT: p->field = F_MESSAGE; break;
		case SEL_GAP: p->field = hresult ? F_HRESULT : F_ITEM; break;
		default: p->field = F_VALUE; break;
		}
		return APD_OK;
	}
	if (strncmp(name, "data.", 5) == 0) {
		char buf[512];
		size_t o = 0;
		const char *s = name + 5;

		if (k != SEL_EVENT)
			return fail(l, n, "field '%s': only events have data fields", name);
		o += (size_t)snprintf(buf, sizeof(buf), "$");
		while (*s && o + 8 < sizeof(buf)) {
			size_t seg = strcspn(s, ".");
			bool num = seg > 0 && strspn(s, "0123456789") == seg;
			int w = num ? snprintf(buf + o, sizeof(buf) - o, "[%.*s]", (int)seg, s)
			    : snprintf(buf + o, sizeof(buf) - o, ".\"%.*s\"", (int)seg, s);
			if (w < 0 || (size_t)w >= sizeof(buf) - o)
				return fail(l, n, "field '%s' is too long", name);
			o += (size_t)w;
			s += seg;
			if (*s == '.')
				s++;
		}
		p->field = F_DATA;
		p->path = strdup(buf);
		return p->path ? APD_OK : oom(l);
	}
	for (i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++) {
		if (strcmp(field_names[i].name, name) == 0) {
			if (!(field_names[i].kinds & (1u << k)))
				return fail(l, n, "field '%s' does not exist for this kind of record", name);
			p->field = field_names[i].f;
			return APD_OK;
		}
	}
	return fail(l, n, "unknown field '%s'", name);
}

static int
compile_regex(struct ld *l, const xmlNode *n, struct pred *p)
{
	struct regex_info *re = calloc(1, sizeof(*re));
	int ec;
	PCRE2_SIZE eo;
	uint32_t nc = 0, esz = 0, i;
	PCRE2_SPTR table = NULL;

	if (re == NULL)
		return oom(l);
	p->re = re;
	re->pattern = strdup(p->text);
	if (re->pattern == NULL)
		return oom(l);
	re->code = pcre2_compile((PCRE2_SPTR)p->text, p->text_len,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (p->icase ? PCRE2_CASELESS : 0), &ec, &eo, NULL);
	if (re->code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return fail(l, n, "regex does not compile: %s at offset %zu", (const char *)msg,
		    (size_t)eo);
	}
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);   /* else the interpreter */
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &nc);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esz);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
	if (nc) {
		re->cap_names = calloc(nc, sizeof(*re->cap_names));
		re->cap_nums = calloc(nc, sizeof(*re->cap_nums));
		if (re->cap_names == NULL || re->cap_nums == NULL)
			return oom(l);
		for (i = 0; i < nc; i++) {
			const unsigned char *e = table + (size_t)i * esz;
			re->cap_nums[i] = (uint32_t)(e[0] << 8 | e[1]);
			re->cap_names[i] = strdup((const char *)e + 2);
			if (re->cap_names[i] == NULL)
				return oom(l);
			re->ncap = i + 1;
		}
	}
	return APD_OK;
}

static int parse_num(const char *s, int64_t *v);

static int
compile_cmp(struct ld *l, const xmlNode *n, struct pred *p, const char *op, const char *value)
{
	static const struct {
		const char *name;
		enum cmp_op op;
	} ops[] = {
		{ "eq", CMP_EQ }, { "ne", CMP_NE }, { "lt", CMP_LT }, { "le", CMP_LE }, { "gt", CMP_GT },
		{ "ge", CMP_GE }, { "in", CMP_IN }, { "exists", CMP_EXISTS }, { "missing", CMP_MISSING },
	};
	size_t i;

	p->cmp = CMP_EQ;
	if (op) {
		p->cmp = 0;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(ops[i].name, op) == 0)
				p->cmp = ops[i].op;
		if (p->cmp == 0)
			return fail(l, n, "unknown operator '%s'", op);
	}
	if (p->cmp == CMP_EXISTS || p->cmp == CMP_MISSING)
		return APD_OK;
	if (value == NULL)
		return fail(l, n, "a comparison needs a value");
	if (p->cmp == CMP_IN)
		return split(value, &p->list, &p->nlist) == APD_OK ? APD_OK : oom(l);
	p->text = strdup(value);
	if (p->text == NULL)
		return oom(l);
	p->text_len = strlen(p->text);
	return APD_OK;
}

/* Decimal or 0x hex integer, whole string; 1 if it is one. */
static int
parse_num(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	if (s[0] == '0' && (s[1] | 0x20) == 'x')
		x = (long long)strtoull(s + 2, &end, 16);
	else
		x = strtoll(s, &end, 10);
	if (errno || *end != '\0' || end == s)
		return 0;
	*v = x;
	return 1;
}

static int compile_preds(struct ld *l, const xmlNode *parent, enum sel_kind k, struct pred *into,
    bool top);

static int
compile_pred(struct ld *l, const xmlNode *n, enum sel_kind k, struct pred *into, bool top)
{
	const char *name = (const char *)n->name;
	struct pred *p = NULL;
	char *fa = NULL, *cs = NULL, *t = NULL;
	int rc = APD_OK;

	if (is(n, "any") || is(n, "all") || is(n, "not")) {
		p = new_pred(l, is(n, "any") ? P_ANY : is(n, "all") ? P_ALL : P_NOT, n);
		if (p == NULL)
			return APD_FATAL;
		if (compile_preds(l, n, k, p, false) != APD_OK) {
			free_pred(p);
			return l->rc;
		}
		return add_kid(l, into, p);
	}
	if (is(n, "source-kind") || is(n, "channel") || is(n, "provider") || is(n, "component") ||
	    is(n, "hive")) {
		p = new_pred(l, P_IN_TEXT, n);
		if (p == NULL)
			return APD_FATAL;
		p->field = is(n, "source-kind") ? F_SOURCE_KIND : is(n, "channel") ? F_CHANNEL :
		    is(n, "provider") ? F_PROVIDER : is(n, "component") ? F_COMPONENT : F_HIVE;
		p->icase = p->field != F_SOURCE_KIND;
		t = text_norm(n);
		if (t == NULL)
			rc = oom(l);
		else if (p->field == F_SOURCE_KIND)
			rc = split(t, &p->list, &p->nlist) == APD_OK ? APD_OK : oom(l);
		else
			rc = push_str(&p->list, &p->nlist, strdup(t)) == APD_OK ? APD_OK : oom(l);
		p->coarse = top;
	} else if (is(n, "event-id") || is(n, "level")) {
		char **v = NULL;
		size_t nv = 0, i;

		p = new_pred(l, P_IN_NUM, n);
		if (p == NULL)
			return APD_FATAL;
		p->field = is(n, "level") ? F_LEVEL : F_EVENT_ID;
		t = text_norm(n);
		if (t == NULL || split(t, &v, &nv) != APD_OK || (p->nums = calloc(nv + 1, sizeof(int64_t))) == NULL) {
			rc = oom(l);
		} else {
			for (i = 0; i < nv; i++)
				if (!parse_num(v[i], &p->nums[p->nnums++]))
					rc = fail(l, n, "'%s' is not a number", v[i]);
		}
		free_strv(v, nv);
		p->coarse = top;
	} else if (is(n, "source-path") || is(n, "key") || is(n, "name") || is(n, "item")) {
		p = new_pred(l, P_GLOB, n);
		if (p == NULL)
			return APD_FATAL;
		p->field = is(n, "source-path") ? F_SOURCE_PATH : is(n, "key") ? F_KEY :
		    is(n, "name") ? F_NAME : F_ITEM;
		p->text = p->field == F_NAME && k == SEL_REG ? text_raw(n) : text_norm(n);
		if (p->text == NULL)
			rc = oom(l);
		else
			p->text_len = strlen(p->text);
		p->coarse = top;
	} else if (is(n, "value")) {
		p = new_pred(l, P_CMP, n);
		if (p == NULL)
			return APD_FATAL;
		p->field = F_VALUE;
		fa = attr(n, "op");
		t = text_norm(n);
		rc = t ? compile_cmp(l, n, p, fa, t) : oom(l);
	} else if (is(n, "field")) {
		char *v;

		p = new_pred(l, P_CMP, n);
		if (p == NULL)
			return APD_FATAL;
		fa = attr(n, "name");
		rc = resolve_field(l, n, k, fa, p, false);
		free(fa);
		fa = attr(n, "op");
		v = attr(n, "value");
		if (rc == APD_OK)
			rc = compile_cmp(l, n, p, fa, v);
		free(v);
	} else if (is(n, "contains") || is(n, "regex") || is(n, "hresult")) {
		p = new_pred(l, is(n, "contains") ? P_CONTAINS : is(n, "regex") ? P_REGEX : P_HRESULT, n);
		if (p == NULL)
			return APD_FATAL;
		fa = attr(n, "field");
		rc = resolve_field(l, n, k, fa, p, p->op == P_HRESULT);
		cs = attr(n, "case");
		p->icase = cs && strcmp(cs, "insensitive") == 0;
		if (rc == APD_OK) {
			p->text = p->op == P_HRESULT ? text_norm(n) : text_raw(n);
			if (p->text == NULL)
				rc = oom(l);
			else
				p->text_len = strlen(p->text);
		}
		if (rc == APD_OK && p->op == P_REGEX) {
			rc = compile_regex(l, n, p);
		} else if (rc == APD_OK && p->op == P_HRESULT) {
			char **v = NULL;
			size_t nv = 0, i;

			if (split(p->text, &v, &nv) != APD_OK ||
			    (p->codes = calloc(nv + 1, sizeof(uint32_t))) == NULL) {
				rc = oom(l);
			} else {
				for (i = 0; i < nv && rc == APD_OK; i++) {
					if (!apd_hresult_parse(apd_sv_cstr(v[i]), &p->codes[p->nnums]))
						rc = fail(l, n, "'%s' is not an HRESULT", v[i]);
					else
						p->nnums++;
				}
			}
			free_strv(v, nv);
		} else if (rc == APD_OK && p->text_len == 0) {
			rc = fail(l, n, "<%s> is empty", name);
		}
	} else {
		return fail(l, n, "unexpected <%s>", name);
	}
	free(fa);
	free(cs);
	free(t);
	if (rc != APD_OK) {
		free_pred(p);
		return l->rc != APD_OK ? l->rc : rc;
	}
	return add_kid(l, into, p);
}

static int
compile_preds(struct ld *l, const xmlNode *parent, enum sel_kind k, struct pred *into, bool top)
{
	const xmlNode *c;

	for (c = parent->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (compile_pred(l, c, k, into, top) != APD_OK)
			return l->rc;
	}
	return APD_OK;
}

/* Cheap predicates first: what a row fails most often is checked first. */
static int
pred_cost(const struct pred *p)
{
	switch (p->op) {
	case P_IN_TEXT: case P_IN_NUM: return 0;
	case P_GLOB: return 1;
	case P_CMP: return 2;
	case P_CONTAINS: return 3;
	case P_HRESULT: return 4;
	case P_REGEX: return 6;
	default: return 5;
	}
}

static void
sort_preds(struct pred *p)
{
	size_t i, j;

	for (i = 0; i < p->nkids; i++)
		sort_preds(p->kids[i]);
	if (p->op != P_ALL)
		return;
	for (i = 1; i < p->nkids; i++) {   /* stable insertion sort */
		struct pred *x = p->kids[i];
		for (j = i; j > 0 && pred_cost(p->kids[j - 1]) > pred_cost(x); j--)
			p->kids[j] = p->kids[j - 1];
		p->kids[j] = x;
	}
}

/* A selector element -> index in rs->sels (shared with an identical one). */
static int
compile_selector(struct ld *l, const xmlNode *n, int *out)
{
	struct apd_ruleset *rs = l->rs;
	struct selector *s;
	xmlBufferPtr b;
	enum sel_kind k;
	size_t i;

	k = is(n, "event") ? SEL_EVENT : is(n, "registry") ? SEL_REG : is(n, "fact") ? SEL_FACT :
	    is(n, "gap") ? SEL_GAP : is(n, "sql") ? SEL_SQL : 0;
	if (k == 0)
		return fail(l, n, "unexpected <%s>", (const char *)n->name);
	b = xmlBufferCreate();
	if (b == NULL)
		return oom(l);
	xmlNodeDump(b, n->doc, (xmlNodePtr)n, 0, 0);
	for (i = 0; i < rs->nsels; i++) {
		if (rs->sels[i]->kind == k && strcmp(rs->sels[i]->key, (const char *)xmlBufferContent(b)) == 0) {
			xmlBufferFree(b);
			*out = (int)i;
			return APD_OK;
		}
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		xmlBufferFree(b);
		return oom(l);
	}
	s->kind = k;
	s->key = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	s->file = strdup(l->path);
	s->line = (unsigned)xmlGetLineNo(n);
	s->rule_id = l->cur ? l->cur->id : NULL;
	s->group = -1;
	if (s->key == NULL || s->file == NULL) {
		rules_free_selector(s);
		return oom(l);
	}
	if (k == SEL_SQL) {
		s->sql = text_raw(n);
		if (s->sql == NULL) {
			rules_free_selector(s);
			return oom(l);
		}
	} else {
		s->root = new_pred(l, P_ALL, n);
		if (s->root == NULL || compile_preds(l, n, k, s->root, true) != APD_OK) {
			rules_free_selector(s);
			return l->rc;
		}
		sort_preds(s->root);
	}
	if (rs->nsels == rs->capsels) {
		size_t nc = rs->capsels ? rs->capsels * 2 : 64;
		struct selector **ns = realloc(rs->sels, nc * sizeof(*ns));
		if (ns == NULL) {
			rules_free_selector(s);
			return oom(l);
		}
		rs->sels = ns;
		rs->capsels = nc;
	}
	*out = (int)rs->nsels;
	rs->sels[rs->nsels++] = s;
	return APD_OK;
}

static int
push_int(int **v, size_t *n, int x)
{
	int *nv = realloc(*v, (*n + 1) * sizeof(int));

	if (nv == NULL)
		return APD_FATAL;
	*v = nv;
	(*v)[(*n)++] = x;
	return APD_OK;
}

/* The selector children of n into (v, nv). */
static int
compile_selectors(struct ld *l, const xmlNode *n, int **v, size_t *nv)
{
	const xmlNode *c;
	int idx = -1;

	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (compile_selector(l, c, &idx) != APD_OK)
			return l->rc;
		if (push_int(v, nv, idx) != APD_OK)
			return oom(l);
	}
	if (*nv == 0)
		return fail(l, n, "<%s> needs a selector", (const char *)n->name);
	return APD_OK;
}

static int
duration_attr(struct ld *l, const xmlNode *n, const char *name, int64_t *out)
{
	char *v = attr(n, name);

	*out = -1;
	if (v == NULL)
		return APD_OK;
	*out = rules_duration(v);
	if (*out < 0) {
		fail(l, n, "%s=\"%s\" is not an ISO 8601 duration", name, v);
		free(v);
		return l->rc;
	}
	free(v);
	return APD_OK;
}

static bool
bool_attr(const xmlNode *n, const char *name)
{
	char *v = attr(n, name);
	bool b = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);

	free(v);
	return b;
}

static int
compile_cond(struct ld *l, const xmlNode *n, struct cond **out)
{
	struct cond *c = calloc(1, sizeof(*c));
	const xmlNode *k;
	int rc = APD_OK;
	size_t i;

	*out = NULL;
	if (c == NULL)
		return oom(l);
	c->within = c->beyond = c->tmin = c->tmax = -1;
	c->cached = -1;
	c->min = 1;
	c->line = (unsigned)xmlGetLineNo(n);
	if (is(n, "all") || is(n, "any") || is(n, "not")) {
		c->op = is(n, "all") ? C_ALL : is(n, "any") ? C_ANY : C_NOT;
		for (k = n->children; k && rc == APD_OK; k = k->next) {
			struct cond *kid, **nk;
			if (k->type != XML_ELEMENT_NODE)
				continue;
			rc = compile_cond(l, k, &kid);
			if (rc != APD_OK)
				break;
			nk = realloc(c->kids, (c->nkids + 1) * sizeof(*nk));
			if (nk == NULL) {
				free_cond(kid);
				rc = oom(l);
				break;
			}
			c->kids = nk;
			c->kids[c->nkids++] = kid;
			if (kid->per_match)
				c->per_match = true;
		}
	} else if (is(n, "followed-by") || is(n, "preceded-by") || is(n, "related")) {
		char *same = attr(n, "same");

		c->op = is(n, "followed-by") ? C_FOLLOWED : is(n, "preceded-by") ? C_PRECEDED : C_RELATED;
		c->per_match = true;
		c->optional = bool_attr(n, "optional");
		if (same && split(same, &c->same, &c->nsame) != APD_OK)
			rc = oom(l);
		free(same);
		if (rc == APD_OK)
			rc = duration_attr(l, n, "within", &c->within);
		if (rc == APD_OK)
			rc = duration_attr(l, n, "beyond", &c->beyond);
		if (rc == APD_OK && c->op == C_RELATED && c->nsame == 0)
			rc = fail(l, n, "<related> needs same=\"...\"");
		if (rc == APD_OK)
			rc = compile_selectors(l, n, &c->sels, &c->nsels);
	} else if (is(n, "exists") || is(n, "absent")) {
		char *m = attr(n, "min");
		int64_t v;

		c->op = is(n, "exists") ? C_EXISTS : C_ABSENT;
		if (m && parse_num(m, &v) && v > 0)
			c->min = (unsigned long)v;
		free(m);
		rc = compile_selectors(l, n, &c->sels, &c->nsels);
	} else if (is(n, "time-between")) {
		c->op = C_TIME_BETWEEN;
		rc = duration_attr(l, n, "min", &c->tmin);
		if (rc == APD_OK)
			rc = duration_attr(l, n, "max", &c->tmax);
		if (rc == APD_OK && c->tmin < 0 && c->tmax < 0)
			rc = fail(l, n, "<time-between> needs min or max");
		for (k = n->children; k && rc == APD_OK; k = k->next) {
			char *w;
			if (k->type != XML_ELEMENT_NODE)
				continue;
			w = attr(k, "which");
			if (is(k, "from")) {
				c->has_from = true;
				c->from_first = w && strcmp(w, "first") == 0;
				rc = compile_selectors(l, k, &c->sels, &c->nsels);
			} else {
				c->has_to = true;
				c->to_last = w && strcmp(w, "last") == 0;
				rc = compile_selectors(l, k, &c->to_sels, &c->nto);
			}
			free(w);
		}
		c->per_match = !c->has_from || !c->has_to;
	} else if (is(n, "sql")) {
		c->op = C_SQL;
		c->sql = text_raw(n);
		if (c->sql == NULL)
			rc = oom(l);
	} else {
		rc = fail(l, n, "unexpected <%s>", (const char *)n->name);
	}
	if (rc != APD_OK || l->rc != APD_OK) {
		free_cond(c);
		return l->rc != APD_OK ? l->rc : rc;
	}
	for (i = 0; i < c->nsame; i++)
		if (strlen(c->same[i]) == 0)
			return fail(l, n, "empty capture name");
	*out = c;
	return APD_OK;
}

/* ---- test cases ---- */

static char *
attr_or(const xmlNode *n, const char *name, const char *def)
{
	char *v = attr(n, name);

	return v ? v : def ? strdup(def) : NULL;
}

static int
compile_test_rec(struct ld *l, const xmlNode *n, struct test_rec *x)
{
	char *v;
	int64_t num;

	memset(x, 0, sizeof(*x));
	x->hresult = INT64_MIN;
	x->event_id = -1;
	x->xml_line = (unsigned)xmlGetLineNo(n);
	x->source_kind = attr(n, "source-kind");
	x->source_path = attr(n, "source-path");
	if (is(n, "event")) {
		const xmlNode *c;
		bool kids = false;

		x->kind = 'e';
		x->time = attr(n, "time");
		x->local_time = attr(n, "local-time");
		x->channel = attr(n, "channel");
		x->provider = attr(n, "provider");
		x->component = attr(n, "component");
		x->thread = attr(n, "thread");
		if ((v = attr(n, "level")) != NULL) {
			x->level = parse_num(v, &num) ? (int)num : 0;
			free(v);
		}
		if ((v = attr(n, "event-id")) != NULL) {
			x->event_id = parse_num(v, &num) ? num : -1;
			free(v);
		}
		if ((v = attr(n, "line")) != NULL) {
			x->line = parse_num(v, &num) && num > 0 ? (uint64_t)num : 0;
			free(v);
		}
		for (c = n->children; c; c = c->next) {
			if (is(c, "message")) {
				kids = true;
				x->message = text_raw(c);
			} else if (is(c, "data")) {
				kids = true;
				x->data = text_norm(c);
			}
		}
		if (!kids)
			x->message = text_raw(n);
	} else if (is(n, "registry")) {
		x->kind = 'r';
		x->hive = attr_or(n, "hive", "HKLM");
		x->key = attr(n, "key");
		x->name = attr(n, "name");
		x->has_name = x->name != NULL;
		x->type = attr_or(n, "type", "REG_SZ");
		x->value = text_raw(n);
	} else if (is(n, "fact")) {
		x->kind = 'f';
		x->name = attr(n, "name");
		x->value = text_raw(n);
	} else if (is(n, "gap")) {
		uint32_t h;

		x->kind = 'g';
		x->item = attr(n, "item");
		x->reason = attr(n, "reason");
		if ((v = attr(n, "hresult")) != NULL) {
			if (apd_hresult_parse(apd_sv_cstr(v), &h))
				x->hresult = h;
			free(v);
		}
	} else if (is(n, "file")) {
		char *src = attr(n, "src");

		if (src) {
			size_t k = strlen(l->dir) + strlen(src) + 2;
			x->kind = 's';
			x->file = malloc(k);
			if (x->file)
				snprintf(x->file, k, "%s/%s", l->dir, src);
			free(src);
		} else {
			x->kind = 'i';
			x->file = attr(n, "name");
			x->content = text_raw(n);
			/* the text starts after the element's own line break */
			if (x->content) {
				x->content_len = strlen(x->content);
			}
		}
	} else {
		return fail(l, n, "unexpected <%s> in a test", (const char *)n->name);
	}
	return APD_OK;
}

static int
compile_test(struct ld *l, const xmlNode *n, struct rule *r)
{
	struct rule_test *t, *nt;
	const xmlNode *c;
	char *v;
	int64_t num;

	nt = realloc(r->tests, (r->ntests + 1) * sizeof(*nt));
	if (nt == NULL)
		return oom(l);
	r->tests = nt;
	t = &r->tests[r->ntests++];
	memset(t, 0, sizeof(*t));
	t->line = (unsigned)xmlGetLineNo(n);
	v = attr(n, "expect");
	t->expect_match = v && strcmp(v, "match") == 0;
	free(v);
	t->name = attr_or(n, "name", "");
	t->title_contains = attr(n, "title-contains");
	if ((v = attr(n, "findings")) != NULL) {
		t->findings = parse_num(v, &num) && num > 0 ? (unsigned long)num : 0;
		free(v);
	}
	for (c = n->children; c; c = c->next) {
		struct test_rec *nr;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		nr = realloc(t->recs, (t->nrecs + 1) * sizeof(*nr));
		if (nr == NULL)
			return oom(l);
		t->recs = nr;
		if (compile_test_rec(l, c, &t->recs[t->nrecs]) != APD_OK)
			return l->rc;
		t->nrecs++;
	}
	return APD_OK;
}

/* ---- a rule ---- */

static int
sev_of(const char *s)
{
	if (s == NULL)
		return APD_SEV_INFO;
	if (strcmp(s, "critical") == 0)
		return APD_SEV_CRITICAL;
	if (strcmp(s, "error") == 0)
		return APD_SEV_ERROR;
	if (strcmp(s, "warning") == 0)
		return APD_SEV_WARNING;
	return APD_SEV_INFO;
}

static int
compile_rule(struct ld *l, const xmlNode *n)
{
	struct rule *r = calloc(1, sizeof(*r));
	const xmlNode *c;
	char *v;
	int64_t num;
	size_t i;

	if (r == NULL)
		return oom(l);
	l->cur = NULL;
	r->id = attr(n, "id");
	r->file = strdup(l->path);
	r->line = (unsigned)xmlGetLineNo(n);
	r->thr_within = -1;
	if (r->id == NULL || r->file == NULL) {
		rules_free_rule(r);
		return oom(l);
	}
	for (i = 0; i < l->nrules; i++) {
		if (strcmp(l->rules[i]->id, r->id) == 0) {
			fail(l, n, "rule id %s is used twice in this file (line %u first)", r->id,
			    l->rules[i]->line);
			rules_free_rule(r);
			return l->rc;
		}
	}
	if (l->nrules == l->caprules) {
		size_t nc = l->caprules ? l->caprules * 2 : 16;
		struct rule **nr = realloc(l->rules, nc * sizeof(*nr));
		if (nr == NULL) {
			rules_free_rule(r);
			return oom(l);
		}
		l->rules = nr;
		l->caprules = nc;
	}
	l->rules[l->nrules++] = r;
	l->cur = r;
	v = attr(n, "version");
	r->version = v && parse_num(v, &num) ? (int)num : 1;
	free(v);
	v = attr(n, "severity");
	r->sev = sev_of(v);
	free(v);
	r->category = attr(n, "category");
	v = attr(n, "confidence");
	r->confidence = v && parse_num(v, &num) ? (int)num : 50;
	free(v);
	v = attr(n, "enabled");
	r->enabled = v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	free(v);

	for (c = n->children; c && l->rc == APD_OK; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "title")) {
			if ((r->title = text_norm(c)) == NULL)
				return oom(l);
		} else if (is(c, "explanation")) {
			if ((r->explanation = text_norm(c)) == NULL)
				return oom(l);
		} else if (is(c, "kb")) {
			if (push_str(&r->kb, &r->nkb, text_norm(c)) != APD_OK)
				return oom(l);
		} else if (is(c, "remediation")) {
			const xmlNode *s;
			for (s = c->children; s; s = s->next)
				if (is(s, "step") && push_str(&r->steps, &r->nsteps, text_norm(s)) != APD_OK)
					return oom(l);
		} else if (is(c, "reference")) {
			size_t nr = r->nrefs;
			if (push_str(&r->ref_urls, &nr, attr_or(c, "href", "")) != APD_OK)
				return oom(l);
			nr = r->nrefs;
			if (push_str(&r->ref_titles, &nr, text_norm(c)) != APD_OK)
				return oom(l);
			r->nrefs = nr;
		} else if (is(c, "match")) {
			r->group_by = attr(c, "group-by");
			if (compile_selectors(l, c, &r->trig, &r->ntrig) != APD_OK)
				return l->rc;
		} else if (is(c, "when")) {
			struct cond *w = calloc(1, sizeof(*w)), *kid, **nk;
			const xmlNode *k;
			if (w == NULL)
				return oom(l);
			w->op = C_ALL;
			w->cached = -1;
			w->within = w->beyond = w->tmin = w->tmax = -1;
			r->when = w;
			for (k = c->children; k; k = k->next) {
				if (k->type != XML_ELEMENT_NODE)
					continue;
				if (compile_cond(l, k, &kid) != APD_OK)
					return l->rc;
				nk = realloc(w->kids, (w->nkids + 1) * sizeof(*nk));
				if (nk == NULL) {
					free_cond(kid);
					return oom(l);
				}
				w->kids = nk;
				w->kids[w->nkids++] = kid;
				if (kid->per_match)
					w->per_match = true;
			}
		} else if (is(c, "threshold")) {
			v = attr(c, "count");
			r->thr_count = v && parse_num(v, &num) && num > 0 ? (unsigned long)num : 1;
			free(v);
			if (duration_attr(l, c, "within", &r->thr_within) != APD_OK)
				return l->rc;
		} else if (is(c, "test")) {
			if (compile_test(l, c, r) != APD_OK)
				return l->rc;
		} else {
			return fail(l, c, "unexpected <%s>", (const char *)c->name);
		}
	}
	if (l->rc == APD_OK && (r->title == NULL || r->explanation == NULL || r->ntrig == 0))
		return fail(l, n, "a rule needs a title, a match and an explanation");
	return l->rc;
}

/* ---- files ---- */

struct xml_err {
	char msg[768];
	int line;
	bool set;
};

static void
on_xml_error(void *ud, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ud;
	struct xml_err *x = ctxt ? ctxt->_private : NULL;
	size_t n;

	if (x == NULL || x->set || e == NULL || e->level < XML_ERR_ERROR)
		return;
	x->set = true;
	x->line = e->line;
	snprintf(x->msg, sizeof(x->msg), "%s", e->message ? e->message : "malformed XML");
	n = strlen(x->msg);
	while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
}

static int
read_file(const char *path, char **buf, size_t *n, struct apd_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t r;

	*buf = NULL;
	if (f == NULL)
		return apd_set_errno(err, APD_FAILED, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return apd_set_error(err, APD_FAILED, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > RULES_MAX_FILE_BYTES) {
		fclose(f);
		return apd_set_error(err, APD_FAILED, "%s: larger than %u bytes", path,
		    RULES_MAX_FILE_BYTES);
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (*buf == NULL) {
		fclose(f);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	r = fread(*buf, 1, (size_t)st.st_size, f);
	fclose(f);
	(*buf)[r] = '\0';
	*n = r;
	return APD_OK;
}

static void
undo(struct ld *l)
{
	size_t i;

	for (i = 0; i < l->nrules; i++)
		rules_free_rule(l->rules[i]);
	l->nrules = 0;
	for (i = l->first_sel; i < l->rs->nsels; i++)
		rules_free_selector(l->rs->sels[i]);
	l->rs->nsels = l->first_sel;
}

int
apd_ruleset_load_file(struct apd_ruleset *rs, const char *path, struct apd_error *err)
{
	struct ld l;
	struct xml_err xe;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlRelaxNGValidCtxtPtr vc;
	struct rng_err ve = { "", 0, false };
	const xmlNode *root, *c;
	char *buf, *slash;
	size_t n = 0, i;
	unsigned doctype_line = 1;
	int rc;

	rc = read_file(path, &buf, &n, err);
	if (rc != APD_OK)
		return rc;
	memset(&l, 0, sizeof(l));
	l.rs = rs;
	l.path = path;
	l.err = err;
	l.first_sel = rs->nsels;
	l.dir = strdup(path);
	if (l.dir == NULL) {
		free(buf);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	slash = strrchr(l.dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(l.dir, ".");

	memset(&xe, 0, sizeof(xe));
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL) {
		free(buf);
		free(l.dir);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	ctxt->_private = &xe;
	ctxt->sax->serror = on_xml_error;
	/* never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)n, path, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
	{
		/* the line of a DOCTYPE, for the message below */
		const char *dt = strstr(buf, "<!DOCTYPE");
		const char *q;
		doctype_line = 1;
		for (q = buf; dt && q < dt; q++)
			if (*q == '\n')
				doctype_line++;
	}
	free(buf);
	if (doc == NULL || xe.set || !ctxt->wellFormed) {
		rc = apd_set_error(err, APD_FAILED, "%s:%d: %s", path, xe.set ? xe.line : 0,
		    xe.set ? xe.msg : "not well-formed XML");
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		rc = apd_set_error(err, APD_FAILED, "%s:%u: a DOCTYPE is not allowed in rule files",
		    path, doctype_line);
		goto out;
	}
	vc = xmlRelaxNGNewValidCtxt(rs->rng);
	if (vc == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	xmlRelaxNGSetValidStructuredErrors(vc, on_rng_error, &ve);
	rc = xmlRelaxNGValidateDoc(vc, doc);
	xmlRelaxNGFreeValidCtxt(vc);
	if (rc != 0) {
		rc = apd_set_error(err, APD_FAILED, "%s:%u: %s", path, ve.line,
		    ve.set ? ve.msg : "does not match the rule schema");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	for (c = root->children; c; c = c->next) {
		if (!is(c, "rule"))
			continue;
		if (compile_rule(&l, c) != APD_OK)
			break;
	}
	rc = l.rc;
	if (rc != APD_OK) {
		undo(&l);
		goto out;
	}
	/* keep the file's rules; a known id replaces the loaded rule */
	for (i = 0; i < l.nrules; i++) {
		long old = apd_ruleset_find(rs, l.rules[i]->id);
		if (old >= 0) {
			rs->rules[old]->replaced = true;
			diag_add(&rs->diags, APD_DIAG_NOTE, l.rules[i]->id,
			    "%s:%u: rule %s replaces the one from %s:%u", path, l.rules[i]->line,
			    l.rules[i]->id, rs->rules[old]->file, rs->rules[old]->line);
		}
		if (rs->nrules == rs->caprules) {
			size_t nc = rs->caprules ? rs->caprules * 2 : 64;
			struct rule **nr = realloc(rs->rules, nc * sizeof(*nr));
			if (nr == NULL) {
				rc = apd_set_error(err, APD_FATAL, "out of memory");
				for (; i < l.nrules; i++)
					rules_free_rule(l.rules[i]);
				goto out;
			}
			rs->rules = nr;
			rs->caprules = nc;
		}
		rs->rules[rs->nrules++] = l.rules[i];
	}
	rc = APD_OK;
out:
	free(l.rules);
	free(l.dir);
	if (doc)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
apd_ruleset_load_dir(struct apd_ruleset *rs, const char *dir, struct apd_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int rc = APD_OK;

	if (d == NULL)
		return apd_set_errno(err, APD_FAILED, errno, "%s: cannot read the folder: %s", dir,
		    strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t k = strlen(e->d_name);
		if (k < 5 || e->d_name[0] == '.' || strcmp(e->d_name + k - 4, ".xml") != 0)
			continue;
		if (push_str(&names, &n, strdup(e->d_name)) != APD_OK) {
			closedir(d);
			free_strv(names, n);
			return apd_set_error(err, APD_FATAL, "out of memory");
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		struct apd_error fe;
		char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
		int r;

		if (path == NULL) {
			rc = apd_set_error(err, APD_FATAL, "out of memory");
			break;
		}
		sprintf(path, "%s/%s", dir, names[i]);
		apd_error_clear(&fe);
		r = apd_ruleset_load_file(rs, path, &fe);
		free(path);
		if (r == APD_FATAL) {
			*err = fe;
			rc = APD_FATAL;
			break;
		}
		if (r != APD_OK) {
			if (diag_add(&rs->diags, APD_DIAG_ERROR, NULL, "%s", fe.msg) != APD_OK) {
				rc = apd_set_error(err, APD_FATAL, "out of memory");
				break;
			}
			rc = APD_WARN;
		}
	}
	free_strv(names, n);
	return rc;
}

/* ---- static checks (apdiag rules lint) ---- */

/* Does the event predicate give the engine an index to narrow with? */
static bool
narrows(const struct pred *p)
{
	size_t i;

	switch (p->op) {
	case P_CONTAINS:
	case P_HRESULT:
		return p->field == F_MESSAGE;
	case P_IN_NUM:
		return p->field == F_EVENT_ID;
	case P_ALL:
		for (i = 0; i < p->nkids; i++)
			if (narrows(p->kids[i]))
				return true;
		return false;
	case P_ANY:
		for (i = 0; i < p->nkids; i++)
			if (!narrows(p->kids[i]))
				return false;
		return p->nkids > 0;
	default:
		return false;
	}
}

static bool
pred_defines(const struct pred *p, const char *name)
{
	size_t i;
	uint32_t k;

	if (p == NULL)
		return false;
	if (p->op == P_HRESULT && strcmp(name, "hresult") == 0)
		return true;
	if (p->re)
		for (k = 0; k < p->re->ncap; k++)
			if (strcmp(p->re->cap_names[k], name) == 0)
				return true;
	for (i = 0; i < p->nkids; i++)
		if (pred_defines(p->kids[i], name))
			return true;
	return false;
}

static bool
sel_defines(const struct apd_ruleset *rs, int si, const char *name)
{
	const struct selector *s = rs->sels[si];
	static const char *const ev[] = { "event_id", "channel", NULL };
	static const char *const rg[] = { "key", "name", "value", NULL };
	static const char *const fa[] = { "name", "value", NULL };
	static const char *const ga[] = { "item", "hresult", NULL };
	const char *const *b = s->kind == SEL_EVENT ? ev : s->kind == SEL_REG ? rg :
	    s->kind == SEL_FACT ? fa : s->kind == SEL_GAP ? ga : NULL;

	if (s->kind == SEL_SQL)
		return true;   /* its columns are not known before it runs */
	for (; b && *b; b++)
		if (strcmp(*b, name) == 0)
			return true;
	return pred_defines(s->root, name);
}

static bool
cond_defines(const struct apd_ruleset *rs, const struct cond *c, const char *name)
{
	size_t i;

	if (c == NULL)
		return false;
	for (i = 0; i < c->nsels; i++)
		if (sel_defines(rs, c->sels[i], name))
			return true;
	for (i = 0; i < c->nkids; i++)
		if (cond_defines(rs, c->kids[i], name))
			return true;
	return false;
}

static bool
rule_defines(const struct apd_ruleset *rs, const struct rule *r, const char *name)
{
	static const char *const always[] = { "time", "first", "last", "count", "source", "line", NULL };
	const char *const *a;
	size_t i;

	if (strncmp(name, "fact:", 5) == 0)
		return true;
	for (a = always; *a; a++)
		if (strcmp(*a, name) == 0)
			return true;
	for (i = 0; i < r->ntrig; i++)
		if (sel_defines(rs, r->trig[i], name))
			return true;
	return cond_defines(rs, r->when, name);
}

/* Placeholders of s that have no fallback and no capture that defines them. */
static void
lint_text(struct apd_ruleset *rs, const struct rule *r, const char *what, const char *s)
{
	const char *p = s;

	while ((p = strchr(p, '{')) != NULL) {
		const char *e = p + 1;
		int depth = 0;
		bool fallback = false;
		char name[128];
		size_t n;

		while (*e && (depth > 0 || *e != '}')) {
			if (*e == '{')
				depth++;
			else if (*e == '}')
				depth--;
			else if (*e == '|' && depth == 0)
				fallback = true;
			e++;
		}
		if (*e != '}')
			break;
		n = strcspn(p + 1, "|}");
		if (strncmp(p + 1, "fact:", 5) != 0) {
			size_t cn = strcspn(p + 1, ":|}");
			if (cn < n)
				n = cn;
		}
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p + 1, n);
			name[n] = '\0';
			if (!rule_defines(rs, r, name))
				diag_add(&rs->diags, fallback ? APD_DIAG_NOTE : APD_DIAG_WARN, r->id,
				    "%s:%u: rule %s: the %s names {%s}, which no selector of the rule captures",
				    r->file, r->line, r->id, what, name);
		}
		p = e + 1;
	}
}

static void
lint_cond_scans(struct apd_ruleset *rs, const struct rule *r, const struct cond *c, bool *warned)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsels + c->nto; i++) {
		int si = i < c->nsels ? c->sels[i] : c->to_sels[i - c->nsels];
		const struct selector *s = rs->sels[si];
		if (s->kind == SEL_EVENT && !narrows(s->root) && !warned[si]) {
			warned[si] = true;
			diag_add(&rs->diags, APD_DIAG_WARN, r->id, "%s:%u: rule %s: this <event> selector "
			    "has no literal, HRESULT or event id, so every evaluation scans all events; "
			    "add a <contains> with a word of the message", s->file, s->line, r->id);
		}
	}
	for (i = 0; i < c->nkids; i++)
		lint_cond_scans(rs, r, c->kids[i], warned);
}

size_t
apd_ruleset_lint(struct apd_ruleset *rs)
{
	size_t i, k, errors = 0;
	bool *warned = calloc(rs->nsels + 1, sizeof(bool));

	if (warned == NULL)
		return 1;
	for (i = 0; i < rs->nrules; i++) {
		const struct rule *r = rs->rules[i];
		unsigned pos = 0, neg = 0;

		if (r->replaced)
			continue;
		for (k = 0; k < r->ntests; k++) {
			if (r->tests[k].expect_match)
				pos++;
			else
				neg++;
		}
		if (pos == 0 || neg == 0) {
			diag_add(&rs->diags, APD_DIAG_ERROR, r->id,
			    "%s:%u: rule %s: needs at least one positive and one negative test case "
			    "(has %u and %u)", r->file, r->line, r->id, pos, neg);
			errors++;
		}
		for (k = 0; k < r->ntrig; k++) {
			const struct selector *s = rs->sels[r->trig[k]];
			if (s->kind == SEL_EVENT && !narrows(s->root) && !warned[r->trig[k]]) {
				warned[r->trig[k]] = true;
				diag_add(&rs->diags, APD_DIAG_WARN, r->id, "%s:%u: rule %s: this <event> "
				    "selector has no literal, HRESULT or event id, so every evaluation scans "
				    "all events; add a <contains> with a word of the message", s->file, s->line,
				    r->id);
			}
		}
		lint_cond_scans(rs, r, r->when, warned);
		lint_text(rs, r, "title", r->title);
		lint_text(rs, r, "explanation", r->explanation);
		if (r->group_by && !rule_defines(rs, r, r->group_by))
			diag_add(&rs->diags, APD_DIAG_WARN, r->id, "%s:%u: rule %s: group-by=\"%s\" is not "
			    "a capture of the rule", r->file, r->line, r->id, r->group_by);
		for (k = 0; k < r->nrefs; k++)
			if (strncmp(r->ref_urls[k], "https://", 8) != 0)
				diag_add(&rs->diags, APD_DIAG_WARN, r->id, "%s:%u: rule %s: reference %s is "
				    "not an https URL", r->file, r->line, r->id, r->ref_urls[k]);
	}
	free(warned);
	return errors;
}
