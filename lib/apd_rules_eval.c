/*
 * apd_rules_eval.c - evaluating a compiled ruleset over an index.
 *
 * 1. Plan: every selector the evaluated rules use gets a coarse filter -
 *    an FTS5 phrase query on its literal's words (the literal whose rarest
 *    word is rarest), its event ids, a registry key prefix, or a scan - and
 *    selectors with the same filter form one group.  The triggers' groups
 *    run first; the conditions' selectors only for rules with a trigger match.
 * 2. Select: one query per group; every candidate row is checked against
 *    every selector of the group (cheap predicates first, regexes last) and
 *    becomes a match with its captures.
 * 3. Decide: per rule, the trigger matches go through <when> (per record,
 *    with sorted match lists for the time windows), <threshold> and
 *    group-by, and become findings with placeholders filled.
 * 4. Rank, and write the finding tables on request.
 *
 * Only the functions of apd_rules.h's evaluation section are exported.
 */
#include "apd_rules_int.h"
#include "apd_hresult.h"
#include "apd_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROW_CAPS 64

struct group {
	char *key;
	enum sel_kind kind;
	int *sels;
	size_t nsels;
	char *fts;              /* MATCH expression, or NULL */
	int64_t *eids;          /* event ids, or NULL */
	size_t neids;
	char *reg_prefix;       /* registry key prefix ("" = all values) */
	char **kinds;           /* scan: restrict to these source kinds (NULL: all) */
	size_t nkinds;
	char **paths;           /* JSON paths selected as extra columns */
	size_t npaths;
	/* leaf predicates that several selectors of the group share: one result per row */
	char **memo_keys;
	uint64_t *memo_hash;
	size_t nmemo;
};

/* A candidate row, borrowed from the group's statement. */
struct row {
	enum sel_kind kind;
	sqlite3_stmt *st;
	int64_t id, source_id, pos, line, ts;
	bool ts_local;
	int64_t event_id, level;    /* -1 when absent */
	struct apd_sv message, channel, provider, component, thread, source_path, source_kind;
	struct apd_sv hive, key, name, type, item, reason;
	int value_col;              /* registry/fact value column */
	int hresult_col;            /* gap hresult column */
	int data_col0;              /* first JSON column */
};

struct capbuf {
	struct {
		const char *name;
		const char *p;
		size_t n;
	} c[MAX_ROW_CAPS];
	size_t n;
	char hex[8][APD_HRESULT_HEX_LEN];
	int nhex;
};

struct kept {
	struct match *m;
	struct match **lent;        /* records that lent captures (context evidence) */
	size_t nlent;
	const char *group;
};

struct apd_rules_result {
	struct apd_finding *f;
	size_t nf, capf;
	struct apd_rule_stats *stats;
	size_t nstats;
	struct diag_list diags;
	double ms;
	uint64_t vm_steps;    /* virtual machine steps of the selectors' candidate queries */
};

struct ctx {
	struct apd_ruleset *rs;
	sqlite3 *db;
	struct apd_error *err;
	struct apd_rules_result *res;
	struct arena *arena;
	struct group *groups;
	size_t ngroups;
	struct capbuf cb;
	sqlite3_stmt *word_rows;   /* rows holding a word, up to a cap (word_count) */
	sqlite3_stmt *src_path;
	sqlite3_stmt *fact_val;
	unsigned long sql_steps;
	bool sql_interrupted;
	int rc;
	struct selector *cur_sel;   /* being checked (diagnostics) */
	signed char *memo;          /* per-row results of the current group's shared predicates */
	size_t cap_memo;
	/* lent records while evaluating one trigger record */
	struct match **lent;
	size_t nlent, caplent;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
fatal(struct ctx *c, const char *what)
{
	if (c->rc == APD_OK)
		c->rc = apd_set_error(c->err, APD_FATAL, "rules: %s: %s", what,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
	return APD_FATAL;
}

static int
oom(struct ctx *c)
{
	if (c->rc == APD_OK)
		c->rc = apd_set_error(c->err, APD_FATAL, "rules: out of memory");
	return APD_FATAL;
}

static struct apd_sv
col_sv(sqlite3_stmt *s, int i)
{
	const char *p = (const char *)sqlite3_column_text(s, i);

	if (p == NULL)
		return APD_SV_NULL;
	return apd_sv(p, (size_t)sqlite3_column_bytes(s, i));
}

static bool
sv_ieq(struct apd_sv a, const char *b)
{
	size_t n = strlen(b);

	return a.p && a.n == n && sqlite3_strnicmp(a.p, b, (int)n) == 0;
}

static bool
sv_eq(struct apd_sv a, const char *b)
{
	size_t n = strlen(b);

	return a.p && a.n == n && memcmp(a.p, b, n) == 0;
}

static const char *
memimem(const char *h, size_t hn, const char *n, size_t nn)
{
	size_t i, j;

	if (nn == 0)
		return h;
	for (i = 0; i + nn <= hn; i++) {
		for (j = 0; j < nn; j++)
			if (tolower((unsigned char)h[i + j]) != tolower((unsigned char)n[j]))
				break;
		if (j == nn)
			return h + i;
	}
	return NULL;
}

static bool
find_bytes(const char *h, size_t hn, const char *n, size_t nn)
{
	const char *end;

	if (nn == 0)
		return true;
	if (nn > hn)
		return false;
	end = h + hn - nn + 1;
	while (h < end) {
		const char *p = memchr(h, n[0], (size_t)(end - h));
		if (p == NULL)
			return false;
		if (memcmp(p, n, nn) == 0)
			return true;
		h = p + 1;
	}
	return false;
}

/* ---- field access ---- */

static struct apd_sv
field_sv(const struct row *r, const struct pred *p, char *tmp, size_t ntmp)
{
	sqlite3_stmt *s = r->st;
	int col;

	switch (p->field) {
	case F_MESSAGE: return r->message;
	case F_CHANNEL: return r->channel;
	case F_PROVIDER: return r->provider;
	case F_COMPONENT: return r->component;
	case F_THREAD: return r->thread;
	case F_SOURCE_PATH: return r->source_path;
	case F_SOURCE_KIND: return r->source_kind;
	case F_HIVE: return r->hive;
	case F_KEY: return r->key;
	case F_NAME: return r->name;
	case F_TYPE: return r->type;
	case F_ITEM: return r->item;
	case F_REASON: return r->reason;
	case F_EVENT_ID:
		if (r->event_id < 0)
			return APD_SV_NULL;
		snprintf(tmp, ntmp, "%lld", (long long)r->event_id);
		return apd_sv_cstr(tmp);
	case F_LEVEL:
		snprintf(tmp, ntmp, "%lld", (long long)r->level);
		return apd_sv_cstr(tmp);
	case F_LINE:
		if (r->line <= 0)
			return APD_SV_NULL;
		snprintf(tmp, ntmp, "%lld", (long long)r->line);
		return apd_sv_cstr(tmp);
	case F_VALUE:
		col = r->value_col;
		break;
	case F_HRESULT:
		col = r->hresult_col;
		break;
	case F_DATA:
		col = p->col >= 0 ? r->data_col0 + p->col : -1;
		break;
	default:
		return APD_SV_NULL;
	}
	if (col < 0)
		return APD_SV_NULL;
	if (sqlite3_column_type(s, col) == SQLITE_BLOB) {
		/* registry binary: hex of the first bytes */
		const unsigned char *b = sqlite3_column_blob(s, col);
		size_t n = (size_t)sqlite3_column_bytes(s, col), i, o = 0;
		for (i = 0; i < n && o + 3 < ntmp; i++)
			o += (size_t)snprintf(tmp + o, ntmp - o, "%02x", b[i]);
		tmp[o] = '\0';
		return apd_sv(tmp, o);
	}
	return col_sv(s, col);
}

/* The field as a number: 1 integer in *iv, 2 real in *dv, 0 not a number, -1 absent. */
static int
field_num(const struct row *r, const struct pred *p, int64_t *iv, double *dv)
{
	char tmp[64];
	int col = -1;
	struct apd_sv v;

	switch (p->field) {
	case F_EVENT_ID:
		if (r->event_id < 0)
			return -1;
		*iv = r->event_id;
		return 1;
	case F_LEVEL:
		*iv = r->level;
		return 1;
	case F_LINE:
		if (r->line <= 0)
			return -1;
		*iv = r->line;
		return 1;
	case F_VALUE: col = r->value_col; break;
	case F_HRESULT: col = r->hresult_col; break;
	case F_DATA: col = p->col >= 0 ? r->data_col0 + p->col : -1; break;
	default: break;
	}
	if (col >= 0) {
		switch (sqlite3_column_type(r->st, col)) {
		case SQLITE_NULL: return -1;
		case SQLITE_INTEGER: *iv = sqlite3_column_int64(r->st, col); return 1;
		case SQLITE_FLOAT: *dv = sqlite3_column_double(r->st, col); return 2;
		default: break;
		}
	}
	v = field_sv(r, p, tmp, sizeof(tmp));
	if (v.p == NULL)
		return -1;
	if (v.n > 0 && v.n < sizeof(tmp)) {
		char buf[64], *end;
		memcpy(buf, v.p, v.n);
		buf[v.n] = '\0';
		if (buf[0] == '0' && (buf[1] | 0x20) == 'x' && buf[2]) {
			*iv = (int64_t)strtoull(buf + 2, &end, 16);
			if (*end == '\0')
				return 1;
		}
		*iv = strtoll(buf, &end, 10);
		if (*end == '\0' && end != buf)
			return 1;
		*dv = strtod(buf, &end);
		if (*end == '\0' && end != buf)
			return 2;
	}
	return 0;
}

static int
text_num(const char *s, int64_t *iv, double *dv)
{
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	if (s[0] == '0' && (s[1] | 0x20) == 'x' && s[2]) {
		*iv = (int64_t)strtoull(s + 2, &end, 16);
		if (*end == '\0')
			return 1;
	}
	*iv = strtoll(s, &end, 10);
	if (*end == '\0')
		return 1;
	*dv = strtod(s, &end);
	return *end == '\0' ? 2 : 0;
}

/* -1, 0, 1 comparing the field with one value; 2 when not comparable. */
static int
compare(const struct row *r, const struct pred *p, const char *value)
{
	int64_t fi = 0, vi = 0;
	double fd = 0, vd = 0;
	int fk = field_num(r, p, &fi, &fd), vk;
	char tmp[64];
	struct apd_sv v;

	if (fk < 0)
		return 2;
	vk = text_num(value, &vi, &vd);
	if (fk > 0 && vk > 0) {
		if (fk == 1 && vk == 1)
			return fi < vi ? -1 : fi > vi;
		if (fk == 1)
			fd = (double)fi;
		if (vk == 1)
			vd = (double)vi;
		return fd < vd ? -1 : fd > vd;
	}
	v = field_sv(r, p, tmp, sizeof(tmp));
	if (v.p == NULL)
		return 2;
	{
		size_t n = strlen(value);
		int c = sqlite3_strnicmp(v.p, value, (int)(v.n < n ? v.n : n));
		if (c == 0)
			c = v.n < n ? -1 : v.n > n;
		return c < 0 ? -1 : c > 0;
	}
}

/* ---- predicates ---- */

static void
cap_add(struct capbuf *cb, const char *name, const char *p, size_t n)
{
	if (cb->n < MAX_ROW_CAPS) {
		cb->c[cb->n].name = name;
		cb->c[cb->n].p = p;
		cb->c[cb->n].n = n;
		cb->n++;
	}
}

static bool eval_pred(struct ctx *c, const struct pred *p, const struct row *r);

static bool
eval_regex(struct ctx *c, const struct pred *p, const struct row *r)
{
	struct regex_info *re = p->re;
	char tmp[64];
	struct apd_sv v = field_sv(r, p, tmp, sizeof(tmp));
	int rc;
	uint32_t i;
	PCRE2_SIZE *ov;

	if (v.p == NULL || re->disabled)
		return false;
	rc = pcre2_match(re->code, (PCRE2_SPTR)v.p, v.n, 0, 0, c->rs->md, c->rs->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return false;
	if (rc < 0) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		re->hits++;
		if (re->hits == 1 || re->hits == RULES_REGEX_MAX_HITS) {
			diag_add(&c->res->diags, APD_DIAG_WARN, c->cur_sel ? c->cur_sel->rule_id : NULL,
			    "%s:%u: rule %s: regex stopped at the match limit on a %zu-byte %s (%s %lld): %s%s",
			    c->cur_sel ? c->cur_sel->file : "?", p->line,
			    c->cur_sel && c->cur_sel->rule_id ? c->cur_sel->rule_id : "?",
			    v.n, r->kind == SEL_EVENT ? "message" : "value",
			    r->kind == SEL_EVENT ? "event" : "row", (long long)r->id,
			    (const char *)msg, re->hits == RULES_REGEX_MAX_HITS ?
			    "; this regex is skipped for the rest of the run" : "");
		}
		if (re->hits >= RULES_REGEX_MAX_HITS)
			re->disabled = true;
		return false;
	}
	ov = pcre2_get_ovector_pointer(c->rs->md);
	for (i = 0; i < re->ncap; i++) {
		uint32_t g = re->cap_nums[i];
		if ((int)g < rc && ov[2 * g] != PCRE2_UNSET)
			cap_add(&c->cb, re->cap_names[i], v.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
	return true;
}

static bool
eval_hresult(struct ctx *c, const struct pred *p, const struct row *r)
{
	char tmp[64];
	int64_t iv;
	double dv;
	size_t k, which;
	int col = p->field == F_DATA ? (p->col >= 0 ? r->data_col0 + p->col : -1) :
	    p->field == F_VALUE ? r->value_col :
	    p->field == F_HRESULT ? r->hresult_col : -1;
	struct apd_sv v;

	if (col >= 0 && sqlite3_column_type(r->st, col) == SQLITE_INTEGER) {
		iv = sqlite3_column_int64(r->st, col);
		for (k = 0; k < p->nnums; k++) {
			if ((uint32_t)iv == p->codes[k] && (iv >= INT32_MIN && iv <= (int64_t)UINT32_MAX)) {
				which = k;
				goto found;
			}
		}
		return false;
	}
	(void)dv;
	v = field_sv(r, p, tmp, sizeof(tmp));
	if (!apd_hresult_find(v, p->codes, p->nnums, &which, NULL, NULL))
		return false;
found:
	if (c->cb.nhex < 8) {
		char *h = c->cb.hex[c->cb.nhex++];
		apd_hresult_format(p->codes[which], h);
		cap_add(&c->cb, "hresult", h, strlen(h));
	}
	return true;
}

static bool eval_leaf(struct ctx *c, const struct pred *p, const struct row *r);

static bool
eval_pred(struct ctx *c, const struct pred *p, const struct row *r)
{
	bool v;

	if (p->memo < 0 || c->memo == NULL)
		return eval_leaf(c, p, r);
	if (c->memo[p->memo] >= 0)
		return c->memo[p->memo] != 0;
	v = eval_leaf(c, p, r);
	c->memo[p->memo] = v ? 1 : 0;
	return v;
}

static bool
eval_leaf(struct ctx *c, const struct pred *p, const struct row *r)
{
	char tmp[64];
	struct apd_sv v;
	size_t i, mark = c->cb.n;
	int mhex = c->cb.nhex;

	switch (p->op) {
	case P_ALL:
		for (i = 0; i < p->nkids; i++) {
			if (!eval_pred(c, p->kids[i], r)) {
				c->cb.n = mark;
				c->cb.nhex = mhex;
				return false;
			}
		}
		return true;
	case P_ANY:
		for (i = 0; i < p->nkids; i++) {
			if (eval_pred(c, p->kids[i], r))
				return true;
			c->cb.n = mark;
			c->cb.nhex = mhex;
		}
		return false;
	case P_NOT:
		/* holds when none of the children holds */
		for (i = 0; i < p->nkids; i++) {
			bool h = eval_pred(c, p->kids[i], r);
			c->cb.n = mark;
			c->cb.nhex = mhex;
			if (h)
				return false;
		}
		return true;
	case P_IN_TEXT:
		v = field_sv(r, p, tmp, sizeof(tmp));
		if (v.p == NULL)
			return false;
		for (i = 0; i < p->nlist; i++)
			if (p->icase ? sv_ieq(v, p->list[i]) : sv_eq(v, p->list[i]))
				return true;
		return false;
	case P_IN_NUM: {
		int64_t iv;
		double dv;
		if (field_num(r, p, &iv, &dv) != 1)
			return false;
		for (i = 0; i < p->nnums; i++)
			if (p->nums[i] == iv)
				return true;
		return false;
	}
	case P_GLOB:
		v = field_sv(r, p, tmp, sizeof(tmp));
		return v.p != NULL && rules_glob(p->text, v.p, v.n);
	case P_CONTAINS:
		v = field_sv(r, p, tmp, sizeof(tmp));
		if (v.p == NULL)
			return false;
		return p->icase ? memimem(v.p, v.n, p->text, p->text_len) != NULL
		    : find_bytes(v.p, v.n, p->text, p->text_len);
	case P_HRESULT:
		return eval_hresult(c, p, r);
	case P_REGEX:
		return eval_regex(c, p, r);
	case P_CMP: {
		int k;
		switch (p->cmp) {
		case CMP_EXISTS:
			v = field_sv(r, p, tmp, sizeof(tmp));
			return v.p != NULL;
		case CMP_MISSING:
			v = field_sv(r, p, tmp, sizeof(tmp));
			return v.p == NULL;
		case CMP_IN:
			for (i = 0; i < p->nlist; i++)
				if (compare(r, p, p->list[i]) == 0)
					return true;
			return false;
		default:
			k = compare(r, p, p->text);
			if (k == 2)
				return p->cmp == CMP_NE;
			switch (p->cmp) {
			case CMP_EQ: return k == 0;
			case CMP_NE: return k != 0;
			case CMP_LT: return k < 0;
			case CMP_LE: return k <= 0;
			case CMP_GT: return k > 0;
			case CMP_GE: return k >= 0;
			default: return false;
			}
		}
	}
	default:
		return false;
	}
}

/* ---- planning ---- */

static bool
word_char(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch >= 0x80;
}

#define WORD_COUNT_CAP 65536

/*
 * Rows holding this word (lower case ASCII letters and digits), counted up
 * to cap (0: all).  Counting walks the word's doclist, so a common word
 * ("is", "win32app": half the rows of a bundle) is only counted as far as
 * the caller needs to know that it is not the rarest.
 */
static int64_t
word_count(struct ctx *c, const char *w, int64_t cap)
{
	char q[80];
	int64_t n = 0;

	snprintf(q, sizeof(q), "\"%s\"", w);
	sqlite3_bind_text(c->word_rows, 1, q, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(c->word_rows, 2, cap > 0 ? cap : -1);
	if (sqlite3_step(c->word_rows) == SQLITE_ROW)
		n = sqlite3_column_int64(c->word_rows, 0);
	sqlite3_reset(c->word_rows);
	return n;
}

struct words {
	char **w;
	size_t n;
	int64_t cost;
};

static void
words_free(struct words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->w[i]);
	free(w->w);
	w->w = NULL;
	w->n = 0;
}

static bool
words_add(struct words *w, const char *s)
{
	char **nw;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->w[i], s) == 0)
			return true;
	nw = realloc(w->w, (w->n + 1) * sizeof(*nw));
	if (nw == NULL)
		return false;
	w->w = nw;
	w->w[w->n] = strdup(s);
	return w->w[w->n++] != NULL;
}

/*
 * The FTS items that narrow p: for a literal the phrase of its words,
 * for HRESULTs all spellings (OR), for ALL the cheapest child, for ANY the
 * union when every child has words.  false: p gives no narrowing.
 */
static bool
plan_words(struct ctx *c, const struct pred *p, struct words *out)
{
	size_t i;

	out->w = NULL;
	out->n = 0;
	out->cost = 0;
	switch (p->op) {
	case P_CONTAINS: {
		/* The literal's words are taken as whole words of the message (the
		   coarse filter's contract, docs/rules.md), so a message holding the
		   literal holds them as consecutive tokens: a phrase.  A word the
		   index cannot hold as written (non-ASCII, over 63 bytes) splits the
		   literal into runs.  The phrase is the run holding the rarest word,
		   which bounds the rows it finds. */
		const unsigned char *s = (const unsigned char *)p->text;
		struct { char w[64]; size_t len; int run; } word[32];
		size_t nword = 0, k = 0, n = p->text_len, j, best = 0;
		int run = 0;
		int64_t bestc = -1;
		char q[sizeof(word) + 3];
		size_t o = 0;

		if (p->field != F_MESSAGE)
			return false;
		while (k < n && nword < sizeof(word) / sizeof(word[0])) {
			size_t st, len;
			bool ascii = true;

			if (!word_char(s[k])) {
				k++;
				continue;
			}
			st = k;
			while (k < n && word_char(s[k]))
				k++;
			len = k - st;
			for (j = st; j < k; j++)
				if (s[j] >= 0x80)
					ascii = false;
			if (!ascii || len >= sizeof(word[0].w)) {
				run++;
				continue;
			}
			for (j = 0; j < len; j++)
				word[nword].w[j] = (char)tolower(s[st + j]);
			word[nword].w[len] = '\0';
			word[nword].len = len;
			word[nword++].run = run;
		}
		if (nword == 0)
			return false;
		/* longest first (usually the rarest), each counted only up to the rarest so far
		   and never past WORD_COUNT_CAP: a word in more rows is no filter anyway */
		for (;;) {
			size_t pick = nword;
			int64_t cnt;
			for (j = 0; j < nword; j++)
				if (word[j].len && (pick == nword || word[j].len > word[pick].len))
					pick = j;
			if (pick == nword)
				break;
			cnt = word_count(c, word[pick].w, bestc < 0 ? WORD_COUNT_CAP : bestc);
			if (bestc < 0 || cnt < bestc) {
				bestc = cnt;
				best = pick;
			}
			word[pick].len = 0;   /* counted */
			if (bestc == 0)
				break;   /* no row holds the literal */
		}
		for (j = 0; j < nword; j++) {
			if (word[j].run != word[best].run)
				continue;
			o += (size_t)snprintf(q + o, sizeof(q) - o, "%s%s", o ? " " : "\"", word[j].w);
		}
		snprintf(q + o, sizeof(q) - o, "\"");
		out->cost = bestc;
		return words_add(out, q);
	}
	case P_HRESULT: {
		char w[4][12];
		size_t k;
		int nw, j;

		if (p->field != F_MESSAGE)
			return false;
		for (k = 0; k < p->nnums; k++) {
			nw = apd_hresult_words(p->codes[k], w);
			for (j = 0; j < nw; j++) {
				char q[64];
				out->cost += word_count(c, w[j], 0);
				snprintf(q, sizeof(q), "\"%s\"", w[j]);
				if (!words_add(out, q))
					return false;
			}
		}
		return true;
	}
	case P_ALL: {
		bool have = false;
		for (i = 0; i < p->nkids; i++) {
			struct words w;
			if (!plan_words(c, p->kids[i], &w))
				continue;
			if (!have || w.cost < out->cost) {
				words_free(out);
				*out = w;
				have = true;
			} else {
				words_free(&w);
			}
		}
		return have;
	}
	case P_ANY:
		if (p->nkids == 0)
			return false;
		for (i = 0; i < p->nkids; i++) {
			struct words w;
			size_t j;
			if (!plan_words(c, p->kids[i], &w)) {
				words_free(out);
				return false;
			}
			for (j = 0; j < w.n; j++)
				words_add(out, w.w[j]);
			out->cost += w.cost;
			words_free(&w);
		}
		return true;
	default:
		return false;
	}
}

/* Event ids that narrow p (a list at the top level, or under ANY). */
static bool
plan_eids(const struct pred *p, int64_t **ids, size_t *n)
{
	size_t i;

	switch (p->op) {
	case P_IN_NUM:
		if (p->field != F_EVENT_ID)
			return false;
		for (i = 0; i < p->nnums; i++) {
			int64_t *ni = realloc(*ids, (*n + 1) * sizeof(int64_t));
			if (ni == NULL)
				return false;
			*ids = ni;
			(*ids)[(*n)++] = p->nums[i];
		}
		return true;
	case P_ALL:
		for (i = 0; i < p->nkids; i++)
			if (plan_eids(p->kids[i], ids, n))
				return true;
		return false;
	case P_ANY:
		for (i = 0; i < p->nkids; i++)
			if (!plan_eids(p->kids[i], ids, n))
				return false;
		return p->nkids > 0;
	default:
		return false;
	}
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_to_group(struct ctx *c, const char *key, enum sel_kind kind, int sel, struct group **out)
{
	size_t i;
	struct group *g, *ng;
	int *ns;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].key, key) == 0)
			break;
	if (i == c->ngroups) {
		ng = realloc(c->groups, (c->ngroups + 1) * sizeof(*ng));
		if (ng == NULL)
			return oom(c);
		c->groups = ng;
		g = &c->groups[c->ngroups];
		memset(g, 0, sizeof(*g));
		g->key = strdup(key);
		g->kind = kind;
		if (g->key == NULL)
			return oom(c);
		c->ngroups++;
	}
	g = &c->groups[i];
	ns = realloc(g->sels, (g->nsels + 1) * sizeof(int));
	if (ns == NULL)
		return oom(c);
	g->sels = ns;
	g->sels[g->nsels++] = sel;
	c->rs->sels[sel]->group = (int)i;
	*out = g;
	return APD_OK;
}

static int
add_path(struct ctx *c, struct group *g, struct pred *p)
{
	size_t i;

	for (i = 0; i < p->nkids; i++)
		if (add_path(c, g, p->kids[i]) != APD_OK)
			return c->rc;
	if (p->field != F_DATA || p->path == NULL)
		return APD_OK;
	for (i = 0; i < g->npaths; i++) {
		if (strcmp(g->paths[i], p->path) == 0) {
			p->col = (int)i;
			return APD_OK;
		}
	}
	{
		char **np = realloc(g->paths, (g->npaths + 1) * sizeof(*np));
		if (np == NULL)
			return oom(c);
		g->paths = np;
		g->paths[g->npaths] = strdup(p->path);
		if (g->paths[g->npaths] == NULL)
			return oom(c);
		p->col = (int)g->npaths++;
	}
	return APD_OK;
}

/* A leaf whose result depends on the row only (no captures): it may be shared. */
static bool
memoizable(const struct pred *p)
{
	switch (p->op) {
	case P_IN_TEXT: case P_IN_NUM: case P_GLOB: case P_CONTAINS: case P_CMP:
		return true;
	default:
		return false;
	}
}

static uint64_t
fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Give every memoizable leaf of p a slot of g, the same slot for identical leaves. */
static int
add_memo(struct ctx *c, struct group *g, struct pred *p)
{
	char key[1024];
	size_t i, o;
	uint64_t h;

	for (i = 0; i < p->nkids; i++)
		if (add_memo(c, g, p->kids[i]) != APD_OK)
			return c->rc;
	p->memo = -1;
	if (!memoizable(p))
		return APD_OK;
	o = (size_t)snprintf(key, sizeof(key), "%d|%d|%s|%d|%d|", (int)p->op, (int)p->field,
	    p->path ? p->path : "", (int)p->icase, (int)p->cmp);
	if (p->text && o + p->text_len + 1 < sizeof(key)) {
		memcpy(key + o, p->text, p->text_len);
		o += p->text_len;
	} else if (p->text) {
		return APD_OK;   /* too long to key: not shared */
	}
	for (i = 0; i < p->nlist && o + 2 < sizeof(key); i++)
		o += (size_t)snprintf(key + o, sizeof(key) - o, "|%s", p->list[i]);
	for (i = 0; i < p->nnums && o + 2 < sizeof(key); i++)
		o += (size_t)snprintf(key + o, sizeof(key) - o, "#%lld", (long long)p->nums[i]);
	if (o + 2 >= sizeof(key))
		return APD_OK;
	h = fnv(key, o);
	for (i = 0; i < g->nmemo; i++) {
		if (g->memo_hash[i] == h && strcmp(g->memo_keys[i], key) == 0) {
			p->memo = (int)i;
			return APD_OK;
		}
	}
	{
		char **nk = realloc(g->memo_keys, (g->nmemo + 1) * sizeof(*nk));
		uint64_t *nh;
		if (nk == NULL)
			return oom(c);
		g->memo_keys = nk;
		nh = realloc(g->memo_hash, (g->nmemo + 1) * sizeof(*nh));
		if (nh == NULL)
			return oom(c);
		g->memo_hash = nh;
		if ((g->memo_keys[g->nmemo] = strdup(key)) == NULL)
			return oom(c);
		g->memo_hash[g->nmemo] = h;
		p->memo = (int)g->nmemo++;
	}
	return APD_OK;
}

/* Top-level source kinds a selector requires (a scan may skip other sources). */
static const struct pred *
top_kinds(const struct pred *root)
{
	size_t i;

	for (i = 0; i < root->nkids; i++)
		if (root->kids[i]->op == P_IN_TEXT && root->kids[i]->field == F_SOURCE_KIND)
			return root->kids[i];
	return NULL;
}

static int
plan(struct ctx *c)
{
	struct apd_ruleset *rs = c->rs;
	size_t i, j;
	char key[4096];
	bool scan_all_kinds = false;
	long scan = -1;             /* index: add_to_group() may move the groups */

	for (i = 0; i < rs->nsels; i++) {
		struct selector *s = rs->sels[i];
		struct group *g = NULL;

		if (!s->needed || s->group >= 0)   /* not used, or run in an earlier pass */
			continue;
		switch (s->kind) {
		case SEL_EVENT: {
			struct words w;
			int64_t *ids = NULL, eid_cost = -1;
			size_t nids = 0;
			bool hw = plan_words(c, s->root, &w);
			bool he = plan_eids(s->root, &ids, &nids);

			if (he) {
				qsort(ids, nids, sizeof(*ids), cmp_i64);
				/* the index gives the cost */
				sqlite3_stmt *q;
				char *sql = sqlite3_mprintf("SELECT count(*) FROM event WHERE event_id IN (%lld",
				    (long long)ids[0]);
				for (j = 1; j < nids && sql; j++) {
					char *s2 = sqlite3_mprintf("%s,%lld", sql, (long long)ids[j]);
					sqlite3_free(sql);
					sql = s2;
				}
				if (sql) {
					char *s2 = sqlite3_mprintf("%s)", sql);
					sqlite3_free(sql);
					sql = s2;
				}
				if (sql && sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) == SQLITE_OK) {
					if (sqlite3_step(q) == SQLITE_ROW)
						eid_cost = sqlite3_column_int64(q, 0);
					sqlite3_finalize(q);
				}
				sqlite3_free(sql);
			}
			if (hw && (!he || eid_cost < 0 || w.cost <= eid_cost)) {
				size_t o = 0;
				qsort(w.w, w.n, sizeof(*w.w), cmp_str);
				o += (size_t)snprintf(key, sizeof(key), "fts:");
				for (j = 0; j < w.n && o < sizeof(key); j++)
					o += (size_t)snprintf(key + o, sizeof(key) - o, "%s%s",
					    j ? " OR " : "", w.w[j]);
				if (o >= sizeof(key)) {
					words_free(&w);
					free(ids);
					goto scan_it;
				}
				words_free(&w);
				free(ids);
				if (add_to_group(c, key, SEL_EVENT, (int)i, &g) != APD_OK)
					return c->rc;
				if (g->fts == NULL && (g->fts = strdup(key + 4)) == NULL)
					return oom(c);
			} else if (he) {
				size_t o;
				if (hw)
					words_free(&w);
				o = (size_t)snprintf(key, sizeof(key), "eid:");
				for (j = 0; j < nids && o < sizeof(key); j++)
					o += (size_t)snprintf(key + o, sizeof(key) - o, "%s%lld", j ? "," : "",
					    (long long)ids[j]);
				if (o >= sizeof(key)) {
					free(ids);
					goto scan_it;
				}
				if (add_to_group(c, key, SEL_EVENT, (int)i, &g) != APD_OK) {
					free(ids);
					return c->rc;
				}
				if (g->eids == NULL) {
					g->eids = ids;
					g->neids = nids;
				} else {
					free(ids);
				}
			} else {
			scan_it:
				if (add_to_group(c, "scan", SEL_EVENT, (int)i, &g) != APD_OK)
					return c->rc;
				scan = g - c->groups;
				{
					const struct pred *k = top_kinds(s->root);
					if (k == NULL) {
						scan_all_kinds = true;
					} else {
						for (j = 0; j < k->nlist; j++) {
							char **nk = realloc(g->kinds, (g->nkinds + 1) * sizeof(*nk));
							if (nk == NULL)
								return oom(c);
							g->kinds = nk;
							if ((g->kinds[g->nkinds++] = strdup(k->list[j])) == NULL)
								return oom(c);
						}
					}
				}
			}
			if (add_path(c, g, s->root) != APD_OK)
				return c->rc;
			break;
		}
		case SEL_REG: {
			size_t k, o = 0;
			const char *pre = "";
			for (k = 0; k < s->root->nkids; k++) {
				const struct pred *p = s->root->kids[k];
				if (p->op == P_GLOB && p->field == F_KEY) {
					pre = p->text;
					break;
				}
			}
			o = (size_t)snprintf(key, sizeof(key), "reg:");
			for (k = 0; pre[k] && pre[k] != '*' && pre[k] != '?' && o + 1 < sizeof(key); k++)
				key[o++] = (char)tolower((unsigned char)pre[k]);
			key[o] = '\0';
			if (add_to_group(c, key, SEL_REG, (int)i, &g) != APD_OK)
				return c->rc;
			if (g->reg_prefix == NULL && (g->reg_prefix = strdup(key + 4)) == NULL)
				return oom(c);
			break;
		}
		case SEL_FACT:
			if (add_to_group(c, "fact", SEL_FACT, (int)i, &g) != APD_OK)
				return c->rc;
			break;
		case SEL_GAP:
			if (add_to_group(c, "gap", SEL_GAP, (int)i, &g) != APD_OK)
				return c->rc;
			break;
		case SEL_SQL:
			snprintf(key, sizeof(key), "sql:%zu", i);
			if (add_to_group(c, key, SEL_SQL, (int)i, &g) != APD_OK)
				return c->rc;
			break;
		}
	}
	if (scan >= 0 && scan_all_kinds) {
		struct group *sg = &c->groups[scan];
		for (j = 0; j < sg->nkinds; j++)
			free(sg->kinds[j]);
		free(sg->kinds);
		sg->kinds = NULL;
		sg->nkinds = 0;
	}
	return APD_OK;
}

/* ---- selecting ---- */

static int64_t
local_us(struct apd_sv s)
{
	int64_t us;

	if (s.p == NULL || !apd_parse_iso(s, &us))
		return APD_TS_NONE;
	return us;
}

/* Keep the row as a match of s, with the captures in c->cb. */
static int
add_match(struct ctx *c, struct selector *s, const struct row *r)
{
	struct match *m;
	size_t i, nb = 0;
	struct cap builtins[4];
	char tmp[64];

	s->total++;
	if (s->n >= RULES_MAX_MATCHES) {
		if (s->total == RULES_MAX_MATCHES + 1)
			diag_add(&c->res->diags, APD_DIAG_WARN, s->rule_id,
			    "%s:%u: selector matches more than %u records; the rest are counted, not kept",
			    s->file, s->line, RULES_MAX_MATCHES);
		return APD_OK;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct match *nm = realloc(s->m, nc * sizeof(*nm));
		if (nm == NULL)
			return oom(c);
		s->m = nm;
		s->cap = nc;
	}
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->id = r->id;
	m->source_id = r->source_id;
	m->pos = r->pos;
	m->line = r->line;
	m->ts = r->ts;
	m->ts_local = r->ts_local;
	switch (r->kind) {
	case SEL_EVENT:
		m->kind = APD_EV_EVENT;
		if (r->event_id >= 0) {
			snprintf(tmp, sizeof(tmp), "%lld", (long long)r->event_id);
			builtins[nb].name = "event_id";
			builtins[nb++].value = arena_strndup(&c->arena, tmp, strlen(tmp));
		}
		if (r->channel.p) {
			builtins[nb].name = "channel";
			builtins[nb++].value = arena_strndup(&c->arena, r->channel.p, r->channel.n);
		}
		break;
	case SEL_REG: {
		struct pred fake;
		struct apd_sv v;
		m->kind = APD_EV_REG;
		memset(&fake, 0, sizeof(fake));
		fake.field = F_VALUE;
		v = field_sv(r, &fake, tmp, sizeof(tmp));
		builtins[nb].name = "key";
		builtins[nb++].value = arena_strndup(&c->arena, r->key.p ? r->key.p : "", r->key.n);
		builtins[nb].name = "name";
		builtins[nb++].value = arena_strndup(&c->arena, r->name.p ? r->name.p : "", r->name.n);
		builtins[nb].name = "value";
		builtins[nb++].value = arena_strndup(&c->arena, v.p ? v.p : "",
		    v.n > RULES_MAX_CAPTURE ? RULES_MAX_CAPTURE : v.n);
		break;
	}
	case SEL_FACT:
		m->kind = APD_EV_FACT;
		m->fact = arena_strndup(&c->arena, r->name.p ? r->name.p : "", r->name.n);
		builtins[nb].name = "name";
		builtins[nb++].value = m->fact;
		{
			struct apd_sv v = col_sv(r->st, r->value_col);
			builtins[nb].name = "value";
			builtins[nb++].value = arena_strndup(&c->arena, v.p ? v.p : "",
			    v.n > RULES_MAX_CAPTURE ? RULES_MAX_CAPTURE : v.n);
		}
		break;
	case SEL_GAP:
		m->kind = APD_EV_GAP;
		builtins[nb].name = "item";
		builtins[nb++].value = arena_strndup(&c->arena, r->item.p ? r->item.p : "", r->item.n);
		if (sqlite3_column_type(r->st, r->hresult_col) == SQLITE_INTEGER) {
			char h[APD_HRESULT_HEX_LEN];
			apd_hresult_format((uint32_t)sqlite3_column_int64(r->st, r->hresult_col), h);
			builtins[nb].name = "hresult";
			builtins[nb++].value = arena_strndup(&c->arena, h, strlen(h));
		}
		break;
	default:
		m->kind = APD_EV_ROW;
		break;
	}
	m->caps = arena_alloc(&c->arena, (c->cb.n + nb + 1) * sizeof(struct cap));
	if (m->caps == NULL)
		return oom(c);
	for (i = 0; i < c->cb.n; i++) {
		size_t n = c->cb.c[i].n > RULES_MAX_CAPTURE ? RULES_MAX_CAPTURE : c->cb.c[i].n;
		m->caps[m->ncap].name = c->cb.c[i].name;
		m->caps[m->ncap].value = arena_strndup(&c->arena, c->cb.c[i].p, n);
		if (m->caps[m->ncap].value == NULL)
			return oom(c);
		m->ncap++;
	}
	for (i = 0; i < nb; i++) {
		if (builtins[i].value == NULL)
			return oom(c);
		m->caps[m->ncap++] = builtins[i];
	}
	s->n++;
	return APD_OK;
}

/* Check one row against a selector: the coarse part, then the rest. */
static int
check_row(struct ctx *c, struct selector *s, const struct row *r)
{
	const struct pred *root = s->root;
	size_t i = 0;

	c->cb.n = 0;
	c->cb.nhex = 0;
	c->cur_sel = s;
	while (i < root->nkids && root->kids[i]->coarse) {
		if (!eval_pred(c, root->kids[i], r))
			return APD_OK;
		i++;
	}
	s->candidates++;
	for (; i < root->nkids; i++)
		if (!eval_pred(c, root->kids[i], r))
			return APD_OK;
	return add_match(c, s, r);
}

static int
run_group_rows(struct ctx *c, struct group *g, sqlite3_stmt *st)
{
	struct row r;
	size_t k;
	int src;

	for (k = 0; k < g->nsels; k++)
		if (c->rs->sels[g->sels[k]]->root && add_memo(c, g, c->rs->sels[g->sels[k]]->root) != APD_OK)
			return c->rc;
	if (g->nmemo > c->cap_memo) {
		signed char *nm = realloc(c->memo, g->nmemo);
		if (nm == NULL)
			return oom(c);
		c->memo = nm;
		c->cap_memo = g->nmemo;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (g->nmemo)
			memset(c->memo, -1, g->nmemo);
		memset(&r, 0, sizeof(r));
		r.kind = g->kind;
		r.st = st;
		r.value_col = r.hresult_col = -1;
		r.event_id = -1;
		r.ts = APD_TS_NONE;
		switch (g->kind) {
		case SEL_EVENT:
			r.id = sqlite3_column_int64(st, 0);
			r.source_id = sqlite3_column_int64(st, 1);
			r.pos = sqlite3_column_int64(st, 2);
			if (sqlite3_column_type(st, 3) == SQLITE_INTEGER) {
				r.ts = sqlite3_column_int64(st, 3);
			} else {
				r.ts = local_us(col_sv(st, 4));
				r.ts_local = r.ts != APD_TS_NONE;
			}
			r.level = sqlite3_column_int64(st, 5);
			r.channel = col_sv(st, 6);
			r.provider = col_sv(st, 7);
			if (sqlite3_column_type(st, 8) == SQLITE_INTEGER)
				r.event_id = sqlite3_column_int64(st, 8);
			r.component = col_sv(st, 9);
			r.thread = col_sv(st, 10);
			r.message = col_sv(st, 11);
			r.line = sqlite3_column_int64(st, 12);
			r.source_path = col_sv(st, 13);
			r.source_kind = col_sv(st, 14);
			r.data_col0 = 15;
			break;
		case SEL_REG:
			r.id = sqlite3_column_int64(st, 0);
			r.source_id = sqlite3_column_int64(st, 1);
			r.line = r.pos = sqlite3_column_int64(st, 2);
			r.hive = col_sv(st, 3);
			r.key = col_sv(st, 4);
			r.name = col_sv(st, 5);
			r.type = col_sv(st, 6);
			r.value_col = 7;
			r.source_path = col_sv(st, 8);
			break;
		case SEL_FACT: {
			struct apd_sv v;
			r.id = sqlite3_column_int64(st, 0);
			r.name = col_sv(st, 1);
			r.value_col = 2;
			r.source_id = sqlite3_column_int64(st, 3);
			r.source_path = col_sv(st, 4);
			r.pos = r.id;
			/* a fact holding a UTC time has that time */
			v = col_sv(st, 2);
			if (v.p && v.n >= 20 && v.p[v.n - 1] == 'Z') {
				int64_t us;
				if (apd_parse_iso(apd_sv(v.p, v.n - 1), &us))
					r.ts = us;
			}
			break;
		}
		case SEL_GAP:
			r.id = sqlite3_column_int64(st, 0);
			r.source_id = sqlite3_column_int64(st, 1);
			r.item = col_sv(st, 2);
			r.hresult_col = 3;
			r.reason = col_sv(st, 4);
			r.source_path = col_sv(st, 5);
			r.pos = r.id;
			break;
		default:
			break;
		}
		for (k = 0; k < g->nsels; k++) {
			struct selector *s = c->rs->sels[g->sels[k]];
			/* JSON columns are numbered within the group */
			if (check_row(c, s, &r) != APD_OK)
				return c->rc;
		}
	}
	if (src != SQLITE_DONE) {
		if (src == SQLITE_INTERRUPT)
			return APD_OK;
		return fatal(c, "reading candidates");
	}
	return APD_OK;
}

/* ---- the read-only SQL of rule authors ---- */

static int
authorize(void *ud, int action, const char *a, const char *b, const char *d, const char *e)
{
	(void)ud;
	(void)a;
	(void)b;
	(void)d;
	(void)e;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	default:
		return SQLITE_DENY;
	}
}

static int
on_progress(void *ud)
{
	struct ctx *c = ud;

	c->sql_steps++;
	if ((unsigned long long)c->sql_steps * 1000ull > RULES_SQL_MAX_STEPS) {
		c->sql_interrupted = true;
		return 1;
	}
	return 0;
}

/* Prepare an author's statement read-only; NULL (with a diagnostic) if refused. */
static sqlite3_stmt *
prepare_user_sql(struct ctx *c, const char *sql, const char *file, unsigned line,
    const char *rule_id)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	sqlite3_exec(c->db, "PRAGMA query_only=1", NULL, NULL, NULL);
	sqlite3_set_authorizer(c->db, authorize, NULL);
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, &tail);
	sqlite3_set_authorizer(c->db, NULL, NULL);
	if (rc != SQLITE_OK || st == NULL) {
		diag_add(&c->res->diags, APD_DIAG_WARN, rule_id, "%s:%u: SQL refused: %s", file, line,
		    sqlite3_errmsg(c->db));
		sqlite3_finalize(st);
		sqlite3_exec(c->db, "PRAGMA query_only=0", NULL, NULL, NULL);
		return NULL;
	}
	while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' || *tail == ';'))
		tail++;
	if ((tail && *tail) || !sqlite3_stmt_readonly(st)) {
		diag_add(&c->res->diags, APD_DIAG_WARN, rule_id,
		    "%s:%u: SQL refused: one read-only SELECT only", file, line);
		sqlite3_finalize(st);
		sqlite3_exec(c->db, "PRAGMA query_only=0", NULL, NULL, NULL);
		return NULL;
	}
	c->sql_steps = 0;
	c->sql_interrupted = false;
	sqlite3_progress_handler(c->db, 1000, on_progress, c);
	return st;
}

static void
finish_user_sql(struct ctx *c, sqlite3_stmt *st, const char *file, unsigned line,
    const char *rule_id)
{
	sqlite3_finalize(st);
	sqlite3_progress_handler(c->db, 0, NULL, NULL);
	sqlite3_exec(c->db, "PRAGMA query_only=0", NULL, NULL, NULL);
	if (c->sql_interrupted)
		diag_add(&c->res->diags, APD_DIAG_WARN, rule_id,
		    "%s:%u: SQL stopped after %u steps", file, line, RULES_SQL_MAX_STEPS);
}

static int
run_sql_selector(struct ctx *c, struct selector *s)
{
	sqlite3_stmt *st = prepare_user_sql(c, s->sql, s->file, s->line, s->rule_id);
	int rc, i, n;

	if (st == NULL)
		return APD_OK;
	n = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row r;
		int kind = APD_EV_ROW;

		memset(&r, 0, sizeof(r));
		r.kind = SEL_SQL;
		r.st = st;
		r.ts = APD_TS_NONE;
		r.value_col = r.hresult_col = -1;
		c->cb.n = 0;
		for (i = 0; i < n; i++) {
			const char *name = sqlite3_column_name(st, i);
			if (strcmp(name, "event_id") == 0 && sqlite3_column_type(st, i) == SQLITE_INTEGER) {
				r.id = sqlite3_column_int64(st, i);
				kind = APD_EV_EVENT;
			} else if (strcmp(name, "reg_value_id") == 0) {
				r.id = sqlite3_column_int64(st, i);
				kind = APD_EV_REG;
			} else if (strcmp(name, "gap_id") == 0) {
				r.id = sqlite3_column_int64(st, i);
				kind = APD_EV_GAP;
			} else if (strcmp(name, "fact") == 0) {
				r.name = col_sv(st, i);
				kind = APD_EV_FACT;
			} else if (strcmp(name, "ts_utc") == 0) {
				if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
					r.ts = sqlite3_column_int64(st, i);
			} else if (strcmp(name, "source_id") == 0) {
				r.source_id = sqlite3_column_int64(st, i);
			} else {
				struct apd_sv v = col_sv(st, i);
				if (v.p) {
					/* column names live as long as the statement: copy */
					const char *nm = arena_strndup(&c->arena, name, strlen(name));
					if (nm == NULL) {
						sqlite3_finalize(st);
						return oom(c);
					}
					cap_add(&c->cb, nm, v.p, v.n);
				}
			}
		}
		s->candidates++;
		if (add_match(c, s, &r) != APD_OK) {
			finish_user_sql(c, st, s->file, s->line, s->rule_id);
			return c->rc;
		}
		s->m[s->n - 1].kind = kind;
		if (kind == APD_EV_FACT)
			s->m[s->n - 1].fact = arena_strndup(&c->arena, r.name.p ? r.name.p : "", r.name.n);
	}
	if (rc != SQLITE_DONE && !c->sql_interrupted)
		diag_add(&c->res->diags, APD_DIAG_WARN, s->rule_id, "%s:%u: SQL failed: %s", s->file,
		    s->line, sqlite3_errmsg(c->db));
	finish_user_sql(c, st, s->file, s->line, s->rule_id);
	return APD_OK;
}

static int
run_group(struct ctx *c, struct group *g)
{
	char *sql = NULL, *cols = NULL, *where = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	switch (g->kind) {
	case SEL_SQL:
		return run_sql_selector(c, c->rs->sels[g->sels[0]]);
	case SEL_EVENT:
		cols = sqlite3_mprintf("%s", "");
		for (i = 0; i < g->npaths && cols; i++) {
			char *n = sqlite3_mprintf("%s, CASE WHEN json_valid(e.data) THEN json_extract(e.data, %Q) END",
			    cols, g->paths[i]);
			sqlite3_free(cols);
			cols = n;
		}
		if (g->fts) {
			where = sqlite3_mprintf("e.id IN (SELECT rowid FROM event_fts WHERE event_fts MATCH ?1)");
		} else if (g->eids) {
			where = sqlite3_mprintf("e.event_id IN (%lld", (long long)g->eids[0]);
			for (i = 1; i < g->neids && where; i++) {
				char *n = sqlite3_mprintf("%s,%lld", where, (long long)g->eids[i]);
				sqlite3_free(where);
				where = n;
			}
			if (where) {
				char *n = sqlite3_mprintf("%s)", where);
				sqlite3_free(where);
				where = n;
			}
		} else if (g->nkinds) {
			where = sqlite3_mprintf("s.kind IN (%Q", g->kinds[0]);
			for (i = 1; i < g->nkinds && where; i++) {
				char *n = sqlite3_mprintf("%s,%Q", where, g->kinds[i]);
				sqlite3_free(where);
				where = n;
			}
			if (where) {
				char *n = sqlite3_mprintf("%s)", where);
				sqlite3_free(where);
				where = n;
			}
		} else {
			where = sqlite3_mprintf("1");
		}
		/* A full-text or event-id selector drives the loop from its events (CROSS JOIN fixes
		   the order): left to choose, the planner may walk every event of every source
		   through event_source, whose sampled statistics (analysis_limit) can make a
		   source look small. */
		if (cols && where)
			sql = sqlite3_mprintf("SELECT e.id, e.source_id, e.seq, e.ts_utc, e.ts_local, e.level, "
			    "e.channel, e.provider, e.event_id, e.component, e.thread, e.message, e.line, "
			    "s.path, s.kind%s FROM event e %s source s ON s.id = e.source_id WHERE %s",
			    cols, g->fts || g->eids ? "CROSS JOIN" : "JOIN", where);
		break;
	case SEL_REG:
		sql = sqlite3_mprintf("SELECT r.id, r.source_id, r.line, r.hive, r.key, r.name, r.type, "
		    "r.value, s.path FROM reg_value r JOIN source s ON s.id = r.source_id "
		    "WHERE r.name IS NOT NULL%s", g->reg_prefix && g->reg_prefix[0] ?
		    " AND r.key >= ?1 AND r.key < ?2" : "");
		break;
	case SEL_FACT:
		sql = sqlite3_mprintf("SELECT f.rowid, f.name, f.value, f.source_id, s.path FROM fact f "
		    "LEFT JOIN source s ON s.id = f.source_id");
		break;
	case SEL_GAP:
		sql = sqlite3_mprintf("SELECT g.id, g.source_id, g.item, g.hresult, g.reason, s.path "
		    "FROM gap g LEFT JOIN source s ON s.id = g.source_id");
		break;
	}
	sqlite3_free(cols);
	sqlite3_free(where);
	if (sql == NULL)
		return oom(c);
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return fatal(c, "preparing a candidate query");
	if (g->fts)
		sqlite3_bind_text(st, 1, g->fts, -1, SQLITE_STATIC);
	if (g->kind == SEL_REG && g->reg_prefix && g->reg_prefix[0]) {
		size_t n = strlen(g->reg_prefix);
		char *hi = malloc(n + 2);
		if (hi == NULL) {
			sqlite3_finalize(st);
			return oom(c);
		}
		memcpy(hi, g->reg_prefix, n);
		hi[n] = (char)0xFF;
		hi[n + 1] = '\0';
		sqlite3_bind_text(st, 1, g->reg_prefix, (int)n, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hi, (int)n + 1, free);
	}
	rc = run_group_rows(c, g, st);
	c->res->vm_steps += (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
	sqlite3_finalize(st);
	return rc;
}

/* ---- ordering and correlation ---- */

/* Order of two matches: by time (timeless last), then source and position. */
static int
order(const struct match *a, const struct match *b)
{
	bool ta = a->ts != APD_TS_NONE, tb = b->ts != APD_TS_NONE;

	if (ta != tb)
		return ta ? -1 : 1;
	if (ta && a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->source_id != b->source_id)
		return a->source_id < b->source_id ? -1 : 1;
	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
cmp_match(const void *a, const void *b)
{
	return order(a, b);
}

static int
cmp_matchp(const void *a, const void *b)
{
	return order(*(struct match *const *)a, *(struct match *const *)b);
}

static const char *
cap_of(const struct match *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->ncap; i++)
		if (strcmp(m->caps[i].name, name) == 0)
			return m->caps[i].value;
	return NULL;
}

static bool
same_ok(const struct cond *cd, const struct match *m, const struct match *r)
{
	size_t i;

	for (i = 0; i < cd->nsame; i++) {
		const char *a, *b;
		if (strcmp(cd->same[i], "source") == 0) {
			if (m->source_id != r->source_id || m->source_id == 0)
				return false;
			continue;
		}
		a = cap_of(m, cd->same[i]);
		b = cap_of(r, cd->same[i]);
		if (a == NULL || b == NULL || sqlite3_stricmp(a, b) != 0)
			return false;
	}
	return true;
}

static bool
same_record(const struct match *a, const struct match *b)
{
	return a->kind == b->kind && a->id == b->id && a->kind != APD_EV_ROW &&
	    (a->kind != APD_EV_FACT || a->fact == b->fact);
}

static uint64_t
hash_ci(const char *v)
{
	uint64_t h = 1469598103934665603ull;

	for (; *v; v++)
		h = (h ^ (unsigned char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v)) * 1099511628211ull;
	return h;
}

/* Hash the matches of s by the value of capture name (once per selector and name). */
static bool
build_index(struct selector *s, const char *name)
{
	size_t n = 16, i;

	if (s->idx_name && strcmp(s->idx_name, name) == 0)
		return true;
	while (n < s->n * 2)
		n *= 2;
	free(s->idx_head);
	free(s->idx_next);
	s->idx_name = NULL;
	s->idx_head = malloc(n * sizeof(int32_t));
	s->idx_next = malloc((s->n + 1) * sizeof(int32_t));
	if (s->idx_head == NULL || s->idx_next == NULL)
		return false;
	memset(s->idx_head, 0xff, n * sizeof(int32_t));
	s->idx_size = n;
	/* in reverse, so that each chain runs in match order */
	for (i = s->n; i-- > 0;) {
		const char *v = cap_of(&s->m[i], name);
		size_t b;
		s->idx_next[i] = -1;
		if (v == NULL)
			continue;
		b = (size_t)hash_ci(v) & (n - 1);
		s->idx_next[i] = s->idx_head[b];
		s->idx_head[b] = (int32_t)i;
	}
	s->idx_name = name;
	return true;
}

/* Is r after m (in time, or by position within the same source)? distance in *d. */
static bool
after(const struct match *m, const struct match *r, int64_t *d)
{
	if (m->ts != APD_TS_NONE && r->ts != APD_TS_NONE) {
		*d = r->ts - m->ts;
		if (*d > 0)
			return true;
		if (*d == 0 && m->source_id == r->source_id && m->source_id != 0 && r->pos > m->pos)
			return true;
		return false;
	}
	if (m->ts == APD_TS_NONE && r->ts == APD_TS_NONE && m->source_id == r->source_id &&
	    m->source_id != 0 && r->pos > m->pos) {
		*d = -1;   /* no time: windows do not apply */
		return true;
	}
	return false;
}

/* The nearest record of selector s that follows (dir 1) or precedes (dir -1) m. */
static struct match *
nearest(const struct cond *cd, struct selector *s, const struct match *m, int dir)
{
	struct match *best = NULL;
	int64_t bestd = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct match *r = &s->m[i];
		int64_t d;
		bool ok = dir > 0 ? after(m, r, &d) : after(r, m, &d);

		if (!ok || same_record(m, r))
			continue;
		if (d >= 0) {
			if (cd->within >= 0 && d > cd->within)
				continue;
			if (cd->beyond >= 0 && d < cd->beyond)
				continue;
		}
		if (!same_ok(cd, m, r))
			continue;
		if (best == NULL || (d >= 0 ? d < bestd : (dir > 0 ? r->pos < best->pos : r->pos > best->pos))) {
			best = r;
			bestd = d;
		}
	}
	return best;
}

/* Binary search version for timed records: first index with ts >= t. */
static size_t
lower_ts(const struct selector *s, int64_t t)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->m[mid].ts != APD_TS_NONE && s->m[mid].ts < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct match *
nearest_fast(const struct cond *cd, struct selector *s, const struct match *m, int dir)
{
	size_t i;
	int64_t d;

	if (m->ts == APD_TS_NONE || s->n == 0)
		return nearest(cd, s, m, dir);
	if (dir > 0) {
		for (i = lower_ts(s, m->ts); i < s->n && s->m[i].ts != APD_TS_NONE; i++) {
			struct match *r = &s->m[i];
			d = r->ts - m->ts;
			if (cd->within >= 0 && d > cd->within)
				break;
			if (!after(m, r, &d) || same_record(m, r))
				continue;
			if (cd->beyond >= 0 && d < cd->beyond)
				continue;
			if (same_ok(cd, m, r))
				return r;
		}
		return NULL;
	}
	/* backwards from the last record at or before m */
	i = lower_ts(s, m->ts + 1);
	while (i > 0) {
		struct match *r = &s->m[--i];
		if (r->ts == APD_TS_NONE)
			continue;
		d = m->ts - r->ts;
		if (cd->within >= 0 && d > cd->within)
			break;
		if (!after(r, m, &d) || same_record(m, r))
			continue;
		if (cd->beyond >= 0 && d < cd->beyond)
			continue;
		if (same_ok(cd, m, r))
			return r;
	}
	return NULL;
}

static int
lend(struct ctx *c, struct match *r)
{
	if (c->nlent == c->caplent) {
		size_t nc = c->caplent ? c->caplent * 2 : 16;
		struct match **nl = realloc(c->lent, nc * sizeof(*nl));
		if (nl == NULL)
			return oom(c);
		c->lent = nl;
		c->caplent = nc;
	}
	c->lent[c->nlent++] = r;
	return APD_OK;
}

static unsigned long
total_of(struct ctx *c, const int *sels, size_t n)
{
	unsigned long t = 0;
	size_t i;

	for (i = 0; i < n; i++)
		t += c->rs->sels[sels[i]]->total;
	return t;
}

/* The time of the first or last timed record of the selectors; APD_TS_NONE if none. */
static int64_t
end_ts(struct ctx *c, const int *sels, size_t n, bool last)
{
	int64_t best = APD_TS_NONE;
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct selector *s = c->rs->sels[sels[i]];
		for (k = 0; k < s->n; k++) {
			int64_t t = s->m[k].ts;
			if (t == APD_TS_NONE)
				continue;
			if (best == APD_TS_NONE || (last ? t > best : t < best))
				best = t;
		}
	}
	return best;
}

static int eval_cond(struct ctx *c, const struct rule *ru, struct cond *cd, struct match *m);

static int
sql_cond(struct ctx *c, const struct rule *ru, struct cond *cd)
{
	sqlite3_stmt *st = prepare_user_sql(c, cd->sql, ru->file, cd->line, ru->id);
	int rc, v = 0;

	if (st == NULL)
		return 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) != SQLITE_NULL && sqlite3_column_int64(st, 0) != 0 ? 1 :
		    (sqlite3_column_type(st, 0) == SQLITE_TEXT && sqlite3_column_bytes(st, 0) > 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "0") != 0);
	else if (rc != SQLITE_DONE && !c->sql_interrupted)
		diag_add(&c->res->diags, APD_DIAG_WARN, ru->id, "%s:%u: SQL failed: %s", ru->file,
		    cd->line, sqlite3_errmsg(c->db));
	finish_user_sql(c, st, ru->file, cd->line, ru->id);
	return v;
}

/* 1 holds, 0 does not, APD_FATAL. m is NULL for the global part. */
static int
eval_cond(struct ctx *c, const struct rule *ru, struct cond *cd, struct match *m)
{
	size_t i, mark = c->nlent;
	int r;

	if (!cd->per_match && cd->cached >= 0)
		return cd->cached;
	switch (cd->op) {
	case C_ALL:
		r = 1;
		for (i = 0; i < cd->nkids && r == 1; i++)
			r = eval_cond(c, ru, cd->kids[i], m);
		if (r != 1)
			c->nlent = mark;
		break;
	case C_ANY:
		r = 0;
		for (i = 0; i < cd->nkids && r == 0; i++) {
			r = eval_cond(c, ru, cd->kids[i], m);
			if (r == 0)
				c->nlent = mark;
		}
		break;
	case C_NOT:
		r = 1;
		for (i = 0; i < cd->nkids && r == 1; i++) {
			int k = eval_cond(c, ru, cd->kids[i], m);
			if (k < 0)
				return k;
			if (k == 1)
				r = 0;
		}
		c->nlent = mark;
		break;
	case C_FOLLOWED:
	case C_PRECEDED:
	case C_RELATED: {
		struct match *best = NULL;
		if (m == NULL)
			return 0;
		for (i = 0; i < cd->nsels; i++) {
			struct selector *s = c->rs->sels[cd->sels[i]];
			struct match *x = NULL;
			if (cd->op == C_RELATED) {
				const char *key = NULL, *v;
				size_t k;
				int32_t j;
				for (k = 0; k < cd->nsame && key == NULL; k++)
					if (strcmp(cd->same[k], "source") != 0)
						key = cd->same[k];
				/* the candidates share the value of a capture: look them up by it */
				if (key && (v = cap_of(m, key)) != NULL && build_index(s, key)) {
					for (j = s->idx_head[hash_ci(v) & (s->idx_size - 1)]; j >= 0; j = s->idx_next[j]) {
						struct match *y = &s->m[j];
						if (same_record(m, y) || !same_ok(cd, m, y))
							continue;
						if (x == NULL || (m->ts != APD_TS_NONE && y->ts != APD_TS_NONE &&
						    llabs(y->ts - m->ts) < llabs(x->ts - m->ts)))
							x = y;
					}
				} else if (key == NULL) {
					for (k = 0; k < s->n; k++) {
						struct match *y = &s->m[k];
						if (same_record(m, y) || !same_ok(cd, m, y))
							continue;
						if (x == NULL || (m->ts != APD_TS_NONE && y->ts != APD_TS_NONE &&
						    llabs(y->ts - m->ts) < llabs(x->ts - m->ts)))
							x = y;
					}
				}
			} else {
				x = nearest_fast(cd, s, m, cd->op == C_FOLLOWED ? 1 : -1);
			}
			if (x && (best == NULL || (m->ts != APD_TS_NONE && x->ts != APD_TS_NONE &&
			    best->ts != APD_TS_NONE && llabs(x->ts - m->ts) < llabs(best->ts - m->ts))))
				best = x;
		}
		if (best) {
			if (lend(c, best) != APD_OK)
				return APD_FATAL;
			r = 1;
		} else {
			r = cd->optional ? 1 : 0;
		}
		break;
	}
	case C_EXISTS:
		r = total_of(c, cd->sels, cd->nsels) >= cd->min;
		break;
	case C_ABSENT:
		r = total_of(c, cd->sels, cd->nsels) == 0;
		break;
	case C_TIME_BETWEEN: {
		int64_t from, to, d;
		from = cd->has_from ? end_ts(c, cd->sels, cd->nsels, !cd->from_first) :
		    (m ? m->ts : APD_TS_NONE);
		to = cd->has_to ? end_ts(c, cd->to_sels, cd->nto, cd->to_last) :
		    (m ? m->ts : APD_TS_NONE);
		if (from == APD_TS_NONE || to == APD_TS_NONE) {
			r = 0;
			break;
		}
		d = to - from;
		r = (cd->tmin < 0 || d >= cd->tmin) && (cd->tmax < 0 || d <= cd->tmax);
		break;
	}
	case C_SQL:
		r = sql_cond(c, ru, cd);
		break;
	default:
		r = 0;
		break;
	}
	if (!cd->per_match && r >= 0)
		cd->cached = r;
	return r;
}

static void
reset_cached(struct cond *cd)
{
	size_t i;

	if (cd == NULL)
		return;
	cd->cached = -1;
	for (i = 0; i < cd->nkids; i++)
		reset_cached(cd->kids[i]);
}

/* ---- text of findings ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		char *np;
		while (nc < b->n + n + 1)
			nc *= 2;
		np = realloc(b->p, nc);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static const char *
source_path(struct ctx *c, int64_t id, char *buf, size_t n)
{
	const char *p;

	buf[0] = '\0';
	if (id <= 0)
		return buf;
	sqlite3_bind_int64(c->src_path, 1, id);
	if (sqlite3_step(c->src_path) == SQLITE_ROW && (p = (const char *)sqlite3_column_text(c->src_path, 0)))
		snprintf(buf, n, "%s", p);
	sqlite3_reset(c->src_path);
	return buf;
}

static void
format_time(const struct match *m, char *out, size_t n)
{
	char b[40];
	size_t k;

	if (m->ts == APD_TS_NONE) {
		snprintf(out, n, "(no time)");
		return;
	}
	apd_format_utc(b, m->ts);
	/* whole seconds are enough in text */
	k = strcspn(b, ".");
	if (m->ts_local) {
		b[k] = '\0';
		b[10] = ' ';
		snprintf(out, n, "%s (device local time)", b);
	} else {
		snprintf(out, n, "%.*sZ", (int)k, b);
	}
}

struct fctx {
	struct ctx *c;
	const struct kept *k;
	unsigned long count;
	const struct match *first, *last;
};

static const char *
lookup(struct fctx *f, const char *name, char *tmp, size_t ntmp)
{
	const char *v;
	size_t i;

	if (strncmp(name, "fact:", 5) == 0) {
		sqlite3_bind_text(f->c->fact_val, 1, name + 5, -1, SQLITE_TRANSIENT);
		v = NULL;
		if (sqlite3_step(f->c->fact_val) == SQLITE_ROW &&
		    sqlite3_column_type(f->c->fact_val, 0) != SQLITE_NULL) {
			snprintf(tmp, ntmp, "%s", (const char *)sqlite3_column_text(f->c->fact_val, 0));
			v = tmp;
		}
		sqlite3_reset(f->c->fact_val);
		return v;
	}
	if ((v = cap_of(f->k->m, name)) != NULL)
		return v;
	for (i = 0; i < f->k->nlent; i++)
		if ((v = cap_of(f->k->lent[i], name)) != NULL)
			return v;
	if (strcmp(name, "time") == 0 || strcmp(name, "first") == 0) {
		format_time(f->first, tmp, ntmp);
		return tmp;
	}
	if (strcmp(name, "last") == 0) {
		format_time(f->last, tmp, ntmp);
		return tmp;
	}
	if (strcmp(name, "count") == 0) {
		snprintf(tmp, ntmp, "%lu", f->count);
		return tmp;
	}
	if (strcmp(name, "source") == 0)
		return f->k->m->source_id > 0 ? source_path(f->c, f->k->m->source_id, tmp, ntmp) : NULL;
	if (strcmp(name, "line") == 0) {
		if (f->k->m->line <= 0)
			return NULL;
		snprintf(tmp, ntmp, "%lld", (long long)f->k->m->line);
		return tmp;
	}
	return NULL;
}

/* Expand {name[:fmt][|fallback]} in s (fallbacks may nest). */
static void
expand(struct fctx *f, const char *s, size_t n, struct sbuf *out, int depth)
{
	size_t i = 0;

	while (i < n) {
		size_t j, depthb = 0, close = 0, bar = 0, colon = 0;
		char name[128], tmp[4096];
		const char *v;

		if (s[i] != '{' || depth > 4) {
			sb_add(out, s + i, 1);
			i++;
			continue;
		}
		/* find the matching '}' and the first '|' and ':' at this level */
		for (j = i + 1; j < n; j++) {
			if (s[j] == '{')
				depthb++;
			else if (s[j] == '}') {
				if (depthb == 0) {
					close = j;
					break;
				}
				depthb--;
			} else if (s[j] == '|' && depthb == 0 && bar == 0)
				bar = j;
			else if (s[j] == ':' && depthb == 0 && bar == 0 && colon == 0)
				colon = j;
		}
		if (close == 0) {
			sb_add(out, s + i, n - i);
			return;
		}
		{
			size_t nend = bar ? bar : close;
			size_t ne = nend - (i + 1);
			bool is_fact = ne > 5 && strncmp(s + i + 1, "fact:", 5) == 0;
			const char *fmt = NULL;
			size_t nfmt = 0;

			if (colon && !is_fact) {
				ne = colon - (i + 1);
				fmt = s + colon + 1;
				nfmt = nend - colon - 1;
			}
			if (ne == 0 || ne >= sizeof(name)) {
				sb_add(out, s + i, close - i + 1);
				i = close + 1;
				continue;
			}
			memcpy(name, s + i + 1, ne);
			name[ne] = '\0';
			v = lookup(f, name, tmp, sizeof(tmp));
			if (v && *v) {
				uint32_t h;
				char hx[APD_HRESULT_HEX_LEN];
				if (fmt && nfmt == 7 && strncmp(fmt, "hresult", 7) == 0 &&
				    apd_hresult_parse(apd_sv_cstr(v), &h)) {
					apd_hresult_format(h, hx);
					sb_str(out, hx);
				} else {
					sb_str(out, v);
				}
			} else if (bar) {
				expand(f, s + bar + 1, close - bar - 1, out, depth + 1);
			} else {
				sb_add(out, s + i, close - i + 1);
			}
		}
		i = close + 1;
	}
}

static char *
fill(struct fctx *f, const char *s)
{
	struct sbuf b = { NULL, 0, 0, false };

	sb_add(&b, "", 0);
	expand(f, s, strlen(s), &b, 0);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- deciding ---- */

static int
cmp_kept(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	int k = strcmp(x->group ? x->group : "", y->group ? y->group : "");

	return k ? k : order(x->m, y->m);
}

static int
add_finding(struct ctx *c, size_t ri, const struct rule *ru, struct kept *k, size_t n)
{
	struct apd_rules_result *res = c->res;
	struct apd_finding *f;
	struct fctx fc;
	size_t i, j, ntrig = 0;

	if (res->nf == res->capf) {
		size_t nc = res->capf ? res->capf * 2 : 16;
		struct apd_finding *nf = realloc(res->f, nc * sizeof(*nf));
		if (nf == NULL)
			return oom(c);
		res->f = nf;
		res->capf = nc;
	}
	f = &res->f[res->nf];
	memset(f, 0, sizeof(*f));
	f->rule = ri;
	f->rule_id = ru->id;
	f->sev = ru->sev;
	f->confidence = ru->confidence;
	f->count = n;
	f->first_ts = f->last_ts = APD_TS_NONE;
	for (i = 0; i < n; i++) {
		int64_t t = k[i].m->ts;
		if (t == APD_TS_NONE)
			continue;
		if (f->first_ts == APD_TS_NONE || t < f->first_ts)
			f->first_ts = t;
		if (f->last_ts == APD_TS_NONE || t > f->last_ts)
			f->last_ts = t;
	}
	fc.c = c;
	fc.k = &k[0];
	fc.count = n;
	fc.first = k[0].m;
	fc.last = k[n - 1].m;
	f->title = fill(&fc, ru->title);
	f->explanation = fill(&fc, ru->explanation);
	f->group = k[0].group;
	f->ev = calloc(APD_RULES_MAX_EVIDENCE * 4 + 1, sizeof(*f->ev));
	if (f->title == NULL || f->explanation == NULL || f->ev == NULL) {
		free(f->title);
		free(f->explanation);
		free(f->ev);
		return oom(c);
	}
	res->nf++;
	for (i = 0; i < n && ntrig < APD_RULES_MAX_EVIDENCE; i++, ntrig++) {
		const struct match *ms[65];
		size_t nm = 0, q;
		ms[nm++] = k[i].m;
		for (j = 0; j < k[i].nlent && nm < 65; j++)
			ms[nm++] = k[i].lent[j];
		for (q = 0; q < nm; q++) {
			const struct match *m = ms[q];
			bool dup = false;
			for (j = 0; j < f->nev; j++) {
				if (f->ev[j].kind == m->kind && f->ev[j].id == m->id &&
				    (m->kind != APD_EV_FACT || f->ev[j].fact == m->fact))
					dup = true;
			}
			if (dup || f->nev >= APD_RULES_MAX_EVIDENCE * 4)
				continue;
			f->ev[f->nev].kind = m->kind;
			f->ev[f->nev].id = m->id;
			f->ev[f->nev].fact = m->fact;
			f->ev[f->nev].ts = m->ts;
			f->ev[f->nev].context = q > 0;
			f->nev++;
		}
	}
	return APD_OK;
}

/* Does some window of `within` hold at least count timed records? */
static bool
dense_enough(const struct kept *k, size_t n, unsigned long count, int64_t within)
{
	size_t i, j = 0;
	int64_t *ts;
	size_t nt = 0;
	bool ok = false;

	if (within < 0)
		return n >= count;
	ts = malloc((n + 1) * sizeof(*ts));
	if (ts == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (k[i].m->ts != APD_TS_NONE)
			ts[nt++] = k[i].m->ts;
	if (nt > 1)
		qsort(ts, nt, sizeof(*ts), cmp_i64);
	for (i = 0; i < nt && !ok; i++) {
		while (ts[i] - ts[j] > within)
			j++;
		if (i - j + 1 >= count)
			ok = true;
	}
	free(ts);
	return ok;
}

static int
eval_rule(struct ctx *c, size_t ri)
{
	struct rule *ru = c->rs->rules[ri];
	struct apd_rule_stats *stats = &c->res->stats[ri];
	struct match **trig = NULL;
	struct kept *kept = NULL;
	size_t ntrig = 0, nkept = 0, i, j;
	int rc = APD_OK;

	stats->evaluated = true;
	reset_cached(ru->when);
	for (i = 0; i < ru->ntrig; i++) {
		struct selector *s = c->rs->sels[ru->trig[i]];
		stats->candidates += s->candidates;
		ntrig += s->n;
	}
	if (ntrig == 0)
		return APD_OK;
	trig = malloc(ntrig * sizeof(*trig));
	kept = calloc(ntrig, sizeof(*kept));
	if (trig == NULL || kept == NULL) {
		free(trig);
		free(kept);
		return oom(c);
	}
	ntrig = 0;
	for (i = 0; i < ru->ntrig; i++) {
		struct selector *s = c->rs->sels[ru->trig[i]];
		for (j = 0; j < s->n; j++)
			trig[ntrig++] = &s->m[j];
	}
	qsort(trig, ntrig, sizeof(*trig), cmp_matchp);
	/* one record matched by two trigger selectors counts once */
	for (i = j = 0; i < ntrig; i++)
		if (j == 0 || !same_record(trig[j - 1], trig[i]))
			trig[j++] = trig[i];
	ntrig = j;
	stats->matches = ntrig;

	for (i = 0; i < ntrig; i++) {
		int h = 1;
		c->nlent = 0;
		if (ru->when)
			h = eval_cond(c, ru, ru->when, trig[i]);
		if (h < 0) {
			rc = APD_FATAL;
			goto out;
		}
		if (!h)
			continue;
		kept[nkept].m = trig[i];
		if (c->nlent) {
			kept[nkept].lent = arena_alloc(&c->arena, c->nlent * sizeof(struct match *));
			if (kept[nkept].lent == NULL) {
				rc = oom(c);
				goto out;
			}
			memcpy(kept[nkept].lent, c->lent, c->nlent * sizeof(struct match *));
			kept[nkept].nlent = c->nlent;
		}
		if (ru->group_by) {
			const char *g = cap_of(trig[i], ru->group_by);
			for (j = 0; g == NULL && j < kept[nkept].nlent; j++)
				g = cap_of(kept[nkept].lent[j], ru->group_by);
			kept[nkept].group = g ? g : "";
		}
		nkept++;
	}
	stats->kept = nkept;
	if (nkept == 0)
		goto out;
	qsort(kept, nkept, sizeof(*kept), cmp_kept);
	for (i = 0; i < nkept; i = j) {
		for (j = i + 1; j < nkept; j++)
			if (ru->group_by && sqlite3_stricmp(kept[i].group, kept[j].group) != 0)
				break;
		if (ru->thr_count && !dense_enough(kept + i, j - i, ru->thr_count, ru->thr_within))
			continue;
		if ((rc = add_finding(c, ri, ru, kept + i, j - i)) != APD_OK)
			goto out;
	}
out:
	free(trig);
	free(kept);
	return rc;
}

/* ---- ranking and writing ---- */

static int
band(int confidence)
{
	return confidence >= 80 ? 2 : confidence >= 50 ? 1 : 0;
}

static int
cmp_finding(const void *a, const void *b)
{
	const struct apd_finding *x = a, *y = b;
	int k;

	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if (band(x->confidence) != band(y->confidence))
		return band(x->confidence) > band(y->confidence) ? -1 : 1;
	if (x->first_ts != y->first_ts) {
		if (x->first_ts == APD_TS_NONE)
			return 1;
		if (y->first_ts == APD_TS_NONE)
			return -1;
		return x->first_ts < y->first_ts ? -1 : 1;
	}
	if (x->confidence != y->confidence)
		return x->confidence > y->confidence ? -1 : 1;
	k = strcmp(x->rule_id, y->rule_id);
	if (k)
		return k;
	return strcmp(x->group ? x->group : "", y->group ? y->group : "");
}

/* Append text as a JSON string, quoted by SQLite's json_quote (q prepared). */
static void
sb_json(struct sbuf *b, sqlite3_stmt *q, const char *text)
{
	sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		sb_str(b, (const char *)sqlite3_column_text(q, 0));
	else
		b->oom = true;
	sqlite3_reset(q);
}

static int
write_findings(struct ctx *c)
{
	struct apd_rules_result *res = c->res;
	sqlite3_stmt *fi = NULL, *ev = NULL, *q = NULL;
	size_t i, j;
	int rc = APD_OK;

	if (sqlite3_exec(c->db, "DELETE FROM finding_evidence; DELETE FROM finding;", NULL, NULL,
	    NULL) != SQLITE_OK)
		return fatal(c, "clearing the finding tables");
	if (sqlite3_prepare_v2(c->db, "INSERT INTO finding(rank, rule_id, rule_version, severity, "
	    "category, confidence, title, explanation, remediation, refs, group_value, first_ts, "
	    "last_ts, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	    -1, &fi, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT json_quote(?1)", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO finding_evidence(finding_id, role, event_id, "
	    "reg_value_id, fact, gap_id, ts_utc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &ev,
	    NULL) != SQLITE_OK) {
		rc = fatal(c, "preparing the finding tables");
		goto out;
	}
	for (i = 0; i < res->nf && rc == APD_OK; i++) {
		const struct apd_finding *f = &res->f[i];
		const struct rule *ru = c->rs->rules[f->rule];
		struct sbuf steps = { NULL, 0, 0, false }, refs = { NULL, 0, 0, false };
		int64_t fid;

		sb_str(&steps, "[");
		for (j = 0; j < ru->nsteps; j++) {
			if (j)
				sb_str(&steps, ",");
			sb_json(&steps, q, ru->steps[j]);
		}
		sb_str(&steps, "]");
		sb_str(&refs, "[");
		for (j = 0; j < ru->nrefs; j++) {
			sb_str(&refs, j ? ",{\"title\":" : "{\"title\":");
			sb_json(&refs, q, ru->ref_titles[j]);
			sb_str(&refs, ",\"url\":");
			sb_json(&refs, q, ru->ref_urls[j]);
			sb_str(&refs, "}");
		}
		sb_str(&refs, "]");
		if (steps.oom || refs.oom) {
			free(steps.p);
			free(refs.p);
			rc = oom(c);
			break;
		}
		sqlite3_bind_int(fi, 1, f->rank);
		sqlite3_bind_text(fi, 2, f->rule_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(fi, 3, ru->version);
		sqlite3_bind_text(fi, 4, apd_sev_name(f->sev), -1, SQLITE_STATIC);
		sqlite3_bind_text(fi, 5, ru->category, -1, SQLITE_STATIC);
		sqlite3_bind_int(fi, 6, f->confidence);
		sqlite3_bind_text(fi, 7, f->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(fi, 8, f->explanation, -1, SQLITE_STATIC);
		sqlite3_bind_text(fi, 9, steps.p, -1, SQLITE_STATIC);
		sqlite3_bind_text(fi, 10, refs.p, -1, SQLITE_STATIC);
		if (f->group)
			sqlite3_bind_text(fi, 11, f->group, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(fi, 11);
		if (f->first_ts != APD_TS_NONE)
			sqlite3_bind_int64(fi, 12, f->first_ts);
		else
			sqlite3_bind_null(fi, 12);
		if (f->last_ts != APD_TS_NONE)
			sqlite3_bind_int64(fi, 13, f->last_ts);
		else
			sqlite3_bind_null(fi, 13);
		sqlite3_bind_int64(fi, 14, (sqlite3_int64)f->count);
		if (sqlite3_step(fi) != SQLITE_DONE)
			rc = fatal(c, "writing a finding");
		sqlite3_reset(fi);
		free(steps.p);
		free(refs.p);
		fid = sqlite3_last_insert_rowid(c->db);
		for (j = 0; j < f->nev && rc == APD_OK; j++) {
			const struct apd_evidence *e = &f->ev[j];
			sqlite3_clear_bindings(ev);
			sqlite3_bind_int64(ev, 1, fid);
			sqlite3_bind_text(ev, 2, e->context ? "context" : "match", -1, SQLITE_STATIC);
			if (e->kind == APD_EV_EVENT)
				sqlite3_bind_int64(ev, 3, e->id);
			else if (e->kind == APD_EV_REG)
				sqlite3_bind_int64(ev, 4, e->id);
			else if (e->kind == APD_EV_FACT)
				sqlite3_bind_text(ev, 5, e->fact, -1, SQLITE_STATIC);
			else if (e->kind == APD_EV_GAP)
				sqlite3_bind_int64(ev, 6, e->id);
			else
				continue;
			if (e->ts != APD_TS_NONE)
				sqlite3_bind_int64(ev, 7, e->ts);
			if (sqlite3_step(ev) != SQLITE_DONE)
				rc = fatal(c, "writing evidence");
			sqlite3_reset(ev);
		}
	}
out:
	sqlite3_finalize(fi);
	sqlite3_finalize(ev);
	sqlite3_finalize(q);
	return rc;
}

/* ---- the entry point ---- */

static int64_t
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
set_pragma(sqlite3 *db, const char *name, int64_t v)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "PRAGMA %s=%lld", name, (long long)v);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void
mark_cond(struct apd_ruleset *rs, const struct cond *cd)
{
	size_t i;

	if (cd == NULL)
		return;
	for (i = 0; i < cd->nsels; i++)
		rs->sels[cd->sels[i]]->needed = true;
	for (i = 0; i < cd->nto; i++)
		rs->sels[cd->to_sels[i]]->needed = true;
	for (i = 0; i < cd->nkids; i++)
		mark_cond(rs, cd->kids[i]);
}

static void
free_groups(struct ctx *c)
{
	size_t i, j;

	for (i = 0; i < c->ngroups; i++) {
		struct group *g = &c->groups[i];
		free(g->key);
		free(g->sels);
		free(g->fts);
		free(g->eids);
		free(g->reg_prefix);
		for (j = 0; j < g->nkinds; j++)
			free(g->kinds[j]);
		free(g->kinds);
		for (j = 0; j < g->npaths; j++)
			free(g->paths[j]);
		free(g->paths);
		for (j = 0; j < g->nmemo; j++)
			free(g->memo_keys[j]);
		free(g->memo_keys);
		free(g->memo_hash);
	}
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

static void
reset_regex(struct pred *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->re) {
		p->re->hits = 0;
		p->re->disabled = false;
	}
	for (i = 0; i < p->nkids; i++)
		reset_regex(p->kids[i]);
}

/* Is rule i evaluated in this run (only: the one rule asked for, or -1)? */
static bool
evaluated(const struct apd_ruleset *rs, size_t i, long only)
{
	const struct rule *ru = rs->rules[i];

	return only >= 0 ? (long)i == only : ru->enabled && !ru->replaced;
}

/*
 * Mark the selectors a run reads: the triggers of every evaluated rule; with
 * conditions, the selectors of the <when> of each rule whose triggers matched.
 */
static void
mark_needed(struct apd_ruleset *rs, long only, bool conditions)
{
	size_t i, k;

	for (i = 0; i < rs->nrules; i++) {
		const struct rule *ru = rs->rules[i];
		if (!evaluated(rs, i, only))
			continue;
		for (k = 0; k < ru->ntrig; k++) {
			if (!conditions) {
				rs->sels[ru->trig[k]]->needed = true;
			} else if (rs->sels[ru->trig[k]]->n > 0) {
				mark_cond(rs, ru->when);
				break;
			}
		}
	}
}

/* Plan the needed selectors not read yet, read their groups' candidates; the groups go. */
static int
select_needed(struct ctx *c)
{
	size_t i;

	if (plan(c) != APD_OK)
		return c->rc;
	for (i = 0; i < c->ngroups && c->rc == APD_OK; i++)
		run_group(c, &c->groups[i]);
	free_groups(c);
	return c->rc;
}

int
apd_rules_eval(struct apd_ruleset *rs, sqlite3 *db, const struct apd_rules_opts *o,
    struct apd_rules_result **out, struct apd_error *err)
{
	struct ctx c;
	double t0 = now_ms();
	size_t i;
	long only = -1;
	int64_t saved_cache, saved_mmap;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.db = db;
	c.err = err;
	c.res = calloc(1, sizeof(*c.res));
	if (c.res == NULL)
		return apd_set_error(err, APD_FATAL, "rules: out of memory");
	c.res->nstats = rs->nrules;
	c.res->stats = calloc(rs->nrules + 1, sizeof(*c.res->stats));
	if (c.res->stats == NULL) {
		apd_rules_result_free(c.res);
		return apd_set_error(err, APD_FATAL, "rules: out of memory");
	}
	if (o && o->only) {
		only = apd_ruleset_find(rs, o->only);
		if (only < 0) {
			apd_rules_result_free(c.res);
			return apd_set_error(err, APD_FATAL, "rules: no rule %s", o->only);
		}
	}
	for (i = 0; i < rs->nsels; i++) {
		struct selector *s = rs->sels[i];
		s->needed = false;
		s->group = -1;
		s->n = 0;
		s->total = s->candidates = 0;
		reset_regex(s->root);
	}
	mark_needed(rs, only, false);

	/* candidates come from all over the index: a larger cache and memory-mapped reads for
	   the evaluation, the caller's settings again afterwards */
	saved_cache = pragma_int(db, "PRAGMA cache_size");
	saved_mmap = pragma_int(db, "PRAGMA mmap_size");
	if (saved_cache > -RULES_CACHE_KIB && saved_cache < RULES_CACHE_KIB)
		set_pragma(db, "cache_size", -RULES_CACHE_KIB);
	if (saved_mmap < RULES_MMAP_BYTES)
		set_pragma(db, "mmap_size", RULES_MMAP_BYTES);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT 1 FROM event_fts WHERE event_fts "
	    "MATCH ?1 LIMIT ?2)", -1, &c.word_rows, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT path FROM source WHERE id = ?1", -1, &c.src_path, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT value FROM fact WHERE name = ?1 ORDER BY rowid LIMIT 1", -1,
	    &c.fact_val, NULL) != SQLITE_OK) {
		fatal(&c, "the index is not usable");
		goto done;
	}
	/* the triggers first; then the conditions, of the rules with a trigger match only (a
	   rule without one has no finding, whatever its conditions find) */
	if (select_needed(&c) != APD_OK)
		goto done;
	mark_needed(rs, only, true);
	if (select_needed(&c) != APD_OK)
		goto done;
	for (i = 0; i < rs->nsels; i++)
		if (rs->sels[i]->needed && rs->sels[i]->n > 1)
			qsort(rs->sels[i]->m, rs->sels[i]->n, sizeof(struct match), cmp_match);
	for (i = 0; i < rs->nrules && c.rc == APD_OK; i++)
		if (evaluated(rs, i, only))
			eval_rule(&c, i);
	if (c.rc != APD_OK)
		goto done;
	if (c.res->nf > 1)
		qsort(c.res->f, c.res->nf, sizeof(*c.res->f), cmp_finding);
	for (i = 0; i < c.res->nf; i++)
		c.res->f[i].rank = (int)i + 1;
	if (o && o->write)
		write_findings(&c);
done:
	if (saved_cache > -RULES_CACHE_KIB && saved_cache < RULES_CACHE_KIB)
		set_pragma(db, "cache_size", saved_cache);
	if (saved_mmap < RULES_MMAP_BYTES)
		set_pragma(db, "mmap_size", saved_mmap);
	sqlite3_finalize(c.word_rows);
	sqlite3_finalize(c.src_path);
	sqlite3_finalize(c.fact_val);
	free_groups(&c);
	free(c.lent);
	free(c.memo);
	/* findings keep their own copies; match lists go */
	for (i = 0; i < rs->nsels; i++) {
		struct selector *s = rs->sels[i];
		free(s->m);
		s->m = NULL;
		s->n = s->cap = 0;
		free(s->idx_head);
		free(s->idx_next);
		s->idx_head = s->idx_next = NULL;
		s->idx_name = NULL;
	}
	if (c.rc != APD_OK) {
		arena_free(&c.arena);
		apd_rules_result_free(c.res);
		return c.rc;
	}
	/* group values point into the arena: copy them */
	for (i = 0; i < c.res->nf; i++)
		if (c.res->f[i].group)
			c.res->f[i].group = strdup(c.res->f[i].group);
	/* so do the fact names of evidence */
	for (i = 0; i < c.res->nf; i++) {
		size_t k;
		for (k = 0; k < c.res->f[i].nev; k++)
			if (c.res->f[i].ev[k].fact)
				c.res->f[i].ev[k].fact = strdup(c.res->f[i].ev[k].fact);
	}
	arena_free(&c.arena);
	c.res->ms = now_ms() - t0;
	*out = c.res;
	return APD_OK;
}

uint64_t
apd_rules_vm_steps(const struct apd_rules_result *r)
{
	return r->vm_steps;
}

size_t
apd_rules_nfindings(const struct apd_rules_result *r)
{
	return r->nf;
}

const struct apd_finding *
apd_rules_finding(const struct apd_rules_result *r, size_t i)
{
	return &r->f[i];
}

const struct apd_rule_stats *
apd_rules_stats(const struct apd_rules_result *r, size_t rule)
{
	return &r->stats[rule];
}

size_t
apd_rules_ndiags(const struct apd_rules_result *r)
{
	return r->diags.n;
}

const struct apd_diag *
apd_rules_diag(const struct apd_rules_result *r, size_t i)
{
	return &r->diags.d[i];
}

double
apd_rules_ms(const struct apd_rules_result *r)
{
	return r->ms;
}

struct apd_rules_result *
apd_rules_result_free(struct apd_rules_result *r)
{
	size_t i, k;

	if (r == NULL)
		return NULL;
	for (i = 0; i < r->nf; i++) {
		free(r->f[i].title);
		free(r->f[i].explanation);
		free((char *)r->f[i].group);
		for (k = 0; k < r->f[i].nev; k++)
			free((char *)r->f[i].ev[k].fact);
		free(r->f[i].ev);
	}
	free(r->f);
	free(r->stats);
	diag_free(&r->diags);
	free(r);
	return NULL;
}
