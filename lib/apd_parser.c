/*
 * apd_parser.c - the list of source parsers, the bid loop, bid helpers.
 *
 * Order matters only for ties and for cost: parsers that check a fixed
 * magic come first, heuristic text parsers last (libarchive's _all()).
 */
#include "apd_parser.h"
#include "apd_buf.h"

#include <json-c/json.h>
#include <limits.h>

#include <string.h>
#include <strings.h>

extern const struct apd_parser apd_parser_evtx;
extern const struct apd_parser apd_parser_etl;
extern const struct apd_parser apd_parser_regexport;
extern const struct apd_parser apd_parser_netcheck;
extern const struct apd_parser apd_parser_manifest;
extern const struct apd_parser apd_parser_mdmregdump;
extern const struct apd_parser apd_parser_cmtrace;
extern const struct apd_parser apd_parser_mdmxml;
extern const struct apd_parser apd_parser_results;
extern const struct apd_parser apd_parser_footprint;
extern const struct apd_parser apd_parser_json;
extern const struct apd_parser apd_parser_text;

static const struct apd_parser *const parsers[] = {
	&apd_parser_evtx,
	&apd_parser_etl,
	&apd_parser_regexport,
	&apd_parser_netcheck,
	&apd_parser_manifest,
	&apd_parser_mdmregdump,
	&apd_parser_cmtrace,
	&apd_parser_mdmxml,
	&apd_parser_results,
	&apd_parser_footprint,
	&apd_parser_json,
	&apd_parser_text,
	NULL
};

const struct apd_parser *const *
apd_parsers_all(void)
{
	return parsers;
}

const struct apd_parser *
apd_parser_find(const char *name)
{
	size_t i;

	for (i = 0; parsers[i]; i++)
		if (strcmp(parsers[i]->name, name) == 0)
			return parsers[i];
	return NULL;
}

const struct apd_parser *
apd_parser_choose(const struct apd_probe *pr, int *bid)
{
	const struct apd_parser *best = NULL;
	int best_bid = 0, b;
	size_t i;

	for (i = 0; parsers[i]; i++) {
		b = parsers[i]->bid(pr);
		if (b > best_bid) {
			best_bid = b;
			best = parsers[i];
		}
	}
	if (bid)
		*bid = best_bid;
	return best;
}

int
apd_name_ieq(const char *name, const char *want)
{
	return name && strcasecmp(name, want) == 0;
}

int
apd_name_iendswith(const char *name, const char *suffix)
{
	size_t n, m;

	if (name == NULL)
		return 0;
	n = strlen(name);
	m = strlen(suffix);
	return n >= m && strcasecmp(name + n - m, suffix) == 0;
}

int
apd_name_istarts(const char *name, const char *prefix)
{
	return name && strncasecmp(name, prefix, strlen(prefix)) == 0;
}

int
apd_head_starts_text(const struct apd_probe *pr, const char *ascii)
{
	const unsigned char *p = pr->head;
	size_t n = pr->len, i, m = strlen(ascii);

	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		p += 3;
		n -= 3;
	} else if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
		p += 2;
		n -= 2;
		if (n < 2 * m)
			return 0;
		for (i = 0; i < m; i++)
			if (p[2 * i] != (unsigned char)ascii[i] || p[2 * i + 1] != 0)
				return 0;
		return 1;
	}
	return n >= m && memcmp(p, ascii, m) == 0;
}

int
apd_head_contains(const struct apd_probe *pr, const char *ascii, size_t within)
{
	size_t n = pr->len < within ? pr->len : within;
	size_t m = strlen(ascii);

	if (m == 0 || n < m)
		return 0;
	return apd_memmem(pr->head, n, ascii, m) != NULL;
}

const void *
apd_memmem(const void *hay, size_t n, const void *needle, size_t m)
{
	const unsigned char *h = hay, *e, *q;
	const unsigned char *nd = needle;

	if (m == 0)
		return hay;
	if (n < m)
		return NULL;
	e = h + n - m + 1;
	while (h < e && (q = memchr(h, nd[0], (size_t)(e - h))) != NULL) {
		if (memcmp(q, nd, m) == 0)
			return q;
		h = q + 1;
	}
	return NULL;
}

int
apd_parse_read_json(struct apd_parse *ps, struct json_object **doc, size_t *end,
    const char **why)
{
	struct json_tokener *tok;
	struct apd_buf b;
	const void *blk;
	size_t n;
	int rc;

	*doc = NULL;
	*end = 0;
	*why = NULL;
	apd_buf_init(&b, ps->lim->max_json_bytes + 1);
	while ((rc = apd_stream_block(ps->in, &blk, &n)) == APD_OK) {
		if ((rc = apd_buf_add(&b, blk, n)) != APD_OK) {
			apd_buf_done(&b);
			return rc == APD_FAILED ? apd_set_error(ps->err, APD_FAILED,
			    "%s: larger than %zu bytes (max_json_bytes)", ps->path,
			    ps->lim->max_json_bytes) : apd_set_error(ps->err, APD_FATAL,
			    "%s: out of memory", ps->path);
		}
	}
	if (rc != APD_EOF) {
		apd_buf_done(&b);
		return APD_FAILED;   /* the stream described it */
	}
	tok = json_tokener_new_ex((int)(ps->lim->max_json_depth > INT_MAX ? INT_MAX :
	    ps->lim->max_json_depth));
	if (tok == NULL || b.n > INT_MAX) {
		if (tok)
			json_tokener_free(tok);
		apd_buf_done(&b);
		return apd_set_error(ps->err, tok ? APD_FAILED : APD_FATAL, "%s: %s", ps->path,
		    tok ? "too large" : "out of memory");
	}
	*doc = json_tokener_parse_ex(tok, b.p ? b.p : "", (int)b.n);
	if (*doc == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(*doc);
		*doc = NULL;
		*end = json_tokener_get_parse_end(tok);
		*why = json_tokener_error_desc(json_tokener_get_error(tok));
	}
	json_tokener_free(tok);
	apd_buf_done(&b);
	return APD_OK;
}
