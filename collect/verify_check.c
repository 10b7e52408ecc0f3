/*
 * verify_check.c - the comparison of `apdiag verify` (verify.h), shared by
 * the libarchive reader (verify.c) and the FDI reader (verify_win.c).
 */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_want(const void *a, const void *b)
{
	return strcmp(((const struct apd_vwant *)a)->path, ((const struct apd_vwant *)b)->path);
}

static void
slashes(char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			*s = '/';
}

static void
no_report(void *ud, const char *what, const char *path, const char *detail)
{
	(void)ud;
	(void)what;
	(void)path;
	(void)detail;
}

void
apd_vcheck_init(struct apd_vcheck *c, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res)
{
	memset(c, 0, sizeof(*c));
	c->report = report ? report : no_report;
	c->ud = ud;
	c->res = res;
	memset(res, 0, sizeof(*res));
}

int
apd_vcheck_want(struct apd_vcheck *c, const char *path, int64_t size, const char *sha,
    struct apd_error *err)
{
	if (c->nw == c->cw) {
		size_t nc = c->cw ? 2 * c->cw : 64;
		struct apd_vwant *nw = realloc(c->w, nc * sizeof(*nw));
		if (nw == NULL)
			return apd_set_error(err, APD_FATAL, "out of memory");
		c->w = nw;
		c->cw = nc;
	}
	if ((c->w[c->nw].path = strdup(path)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	slashes(c->w[c->nw].path);
	c->w[c->nw].size = size;
	snprintf(c->w[c->nw].sha, sizeof(c->w[c->nw].sha), "%s", sha);
	c->w[c->nw].seen = false;
	c->nw++;
	return APD_OK;
}

void
apd_vcheck_ready(struct apd_vcheck *c)
{
	if (c->w)
		qsort(c->w, c->nw, sizeof(*c->w), cmp_want);
}

void
apd_vcheck_unreadable(struct apd_vcheck *c, const char *name, const char *why)
{
	c->res->mismatched++;
	c->report(c->ud, "unreadable", name, why);
	c->rc = APD_WARN;
}

int
apd_vcheck_entry(struct apd_vcheck *c, const char *name, uint64_t got, const char *sha)
{
	struct apd_vwant key, *hit;
	char detail[256], *nm = strdup(name);

	if (nm == NULL)
		return APD_FATAL;
	slashes(nm);
	key.path = nm;
	hit = c->w ? bsearch(&key, c->w, c->nw, sizeof(*c->w), cmp_want) : NULL;
	if (hit == NULL || hit->seen) {
		c->res->extra++;
		c->report(c->ud, hit ? "duplicate" : "extra", nm,
		    hit ? "listed once in the manifest, present again" :
		    "not listed in the manifest");
		c->rc = APD_WARN;
	} else {
		hit->seen = true;
		if ((int64_t)got != hit->size || strcmp(sha, hit->sha) != 0) {
			c->res->mismatched++;
			snprintf(detail, sizeof(detail), "manifest: %lld bytes sha256 %.16s..., "
			    "archive: %llu bytes sha256 %.16s...", (long long)hit->size, hit->sha,
			    (unsigned long long)got, sha);
			c->report(c->ud, "mismatch", nm, detail);
			c->rc = APD_WARN;
		} else {
			c->res->checked++;
		}
	}
	free(nm);
	return APD_OK;
}

int
apd_vcheck_finish(struct apd_vcheck *c)
{
	size_t i;

	for (i = 0; i < c->nw; i++)
		if (!c->w[i].seen) {
			c->res->missing++;
			c->report(c->ud, "missing", c->w[i].path, "listed in the manifest, not in the archive");
			c->rc = APD_WARN;
		}
	return c->rc;
}

void
apd_vcheck_done(struct apd_vcheck *c)
{
	size_t i;

	for (i = 0; i < c->nw; i++)
		free(c->w[i].path);
	free(c->w);
	c->w = NULL;
	c->nw = c->cw = 0;
}
