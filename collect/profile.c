/*
 * profile.c - the collection profile (collect/profile.xml, docs/collect.md).
 *
 * Exports apd_profile_load, apd_profile_free and apd_glob_match.  The
 * profile is small, trusted-ish data (built in, or given with --profile),
 * but it is still parsed without network access or entity expansion, and
 * every attribute is checked so that a typo fails loudly with its line.
 * It is read through apd_xmlr.h (libxml2 on Linux, XmlLite on Windows), so
 * both builds load it with this one file.
 */
#include "collect.h"
#include "apd_sha256.h"
#include "apd_xmlr.h"

#include <stdlib.h>
#include <string.h>

bool
apd_glob_match(const char *pat, const char *name)
{
	const char *star = NULL, *back = NULL;

	while (*name) {
		char a = *pat, b = *name;

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (*pat == '*') {
			star = ++pat;
			back = name;
			continue;
		}
		if (*pat && (*pat == '?' || a == b)) {
			pat++;
			name++;
			continue;
		}
		if (star == NULL)
			return false;
		pat = star;
		name = ++back;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static char *
attr(struct apd_xmlr *n, const char *name)
{
	return apd_xmlr_attr(n, name);
}

/* "yes"/"no" attribute; def when absent.  -1 on a bad value. */
static int
attr_bool(struct apd_xmlr *n, const char *name, int def)
{
	char *v = attr(n, name);
	int r = def;

	if (v) {
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
			r = 1;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
			r = 0;
		else
			r = -1;
		free(v);
	}
	return r;
}

static bool
id_ok(const char *id)
{
	const char *p;

	if (id == NULL || *id == '\0' || strlen(id) > 64)
		return false;
	for (p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

void
apd_profile_free(struct apd_profile *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->e[i].id);
		free(p->e[i].spec);
		free(p->e[i].output);
	}
	for (i = 0; i < p->nhwhash; i++)
		free(p->hwhash[i]);
	free(p->hwhash);
	free(p->e);
	free(p->name);
	free(p->version);
	memset(p, 0, sizeof(*p));
}

/* Parse one entry element into e.  APD_OK, APD_FAILED (err set) or APD_FATAL. */
static int
entry(struct apd_xmlr *n, const char *src, struct apd_pentry *e, struct apd_error *err)
{
	const char *el = apd_xmlr_name(n);
	const char *spec_attr;
	int r, o;

	memset(e, 0, sizeof(*e));
	if (strcmp(el, "events") == 0) {
		e->kind = APD_P_EVENTS;
		spec_attr = "channel";
	} else if (strcmp(el, "files") == 0) {
		e->kind = APD_P_FILES;
		spec_attr = "path";
	} else if (strcmp(el, "registry") == 0) {
		e->kind = APD_P_REGISTRY;
		spec_attr = "key";
	} else if (strcmp(el, "command") == 0) {
		e->kind = APD_P_COMMAND;
		spec_attr = "run";
	} else {
		return apd_set_error(err, APD_FAILED, "%s:%d: unknown element <%s>", src,
		    (int)apd_xmlr_line(n), el);
	}
	e->id = attr(n, "id");
	e->spec = attr(n, spec_attr);
	if (!id_ok(e->id))
		return apd_set_error(err, APD_FAILED, "%s:%d: <%s> needs an id of a-z, 0-9 and '-'",
		    src, (int)apd_xmlr_line(n), el);
	if (e->spec == NULL || e->spec[0] == '\0')
		return apd_set_error(err, APD_FAILED, "%s:%d: <%s id=\"%s\"> needs %s=", src,
		    (int)apd_xmlr_line(n), el, e->id, spec_attr);
	r = attr_bool(n, "recurse", e->kind == APD_P_REGISTRY);
	o = attr_bool(n, "optional", 0);
	if (r < 0 || o < 0)
		return apd_set_error(err, APD_FAILED, "%s:%d: recurse= and optional= take yes or no",
		    src, (int)apd_xmlr_line(n));
	e->recurse = r;
	e->optional = o;
	if (e->kind == APD_P_REGISTRY && strncmp(e->spec, "HKLM\\SOFTWARE\\", 14) != 0 &&
	    strncmp(e->spec, "HKLM\\SYSTEM\\", 12) != 0 && strncmp(e->spec, "HKCU\\", 5) != 0)
		return apd_set_error(err, APD_FAILED,
		    "%s:%d: key '%s' must start with HKLM\\SOFTWARE\\, HKLM\\SYSTEM\\ or HKCU\\", src,
		    (int)apd_xmlr_line(n), e->spec);
	if (e->kind == APD_P_FILES && (e->spec[0] == '\\' || strstr(e->spec, "..") ||
	    strchr(e->spec, '/') || strchr(e->spec, ':')))
		return apd_set_error(err, APD_FAILED,
		    "%s:%d: path '%s' must be relative to the volume, '\\'-separated, without '..'",
		    src, (int)apd_xmlr_line(n), e->spec);
	if (e->kind == APD_P_COMMAND) {
		char *t = attr(n, "timeout");
		e->timeout = t ? (unsigned)strtoul(t, NULL, 10) : 60;
		free(t);
		e->output = attr(n, "output");
		if (e->output == NULL || e->timeout == 0)
			return apd_set_error(err, APD_FAILED,
			    "%s:%d: <command> needs output= and a timeout= above 0", src,
			    (int)apd_xmlr_line(n));
	}
	return APD_OK;
}

int
apd_profile_load(struct apd_profile *p, const char *text, size_t n, const char *name,
    struct apd_error *err)
{
	struct apd_sha256 h;
	struct apd_xmlr *r;
	size_t cap = 0, i, j;
	int rc = APD_OK, t;
	bool root_seen = false;

	memset(p, 0, sizeof(*p));
	if (apd_sha256_init(&h) != APD_OK)
		return apd_set_error(err, APD_FATAL, "out of memory");
	apd_sha256_update(&h, text, n);
	apd_sha256_final_hex(&h, p->sha256);
	apd_sha256_done(&h);
	if (n > (size_t)1 << 24)
		return apd_set_error(err, APD_FAILED, "%s: larger than 16 MiB", name);
	if ((rc = apd_xmlr_open(&r, text, n, name, err)) != APD_OK)
		return rc;
	while (rc == APD_OK && (t = apd_xmlr_next(r, err)) != APD_XMLR_EOF) {
		if (t < 0) {
			rc = t;
			break;
		}
		if (t != APD_XMLR_START)
			continue;
		if (apd_xmlr_depth(r) == 0) {
			if (strcmp(apd_xmlr_name(r), "profile") != 0) {
				rc = apd_set_error(err, APD_FAILED, "%s: the root element is not <profile>",
				    name);
				break;
			}
			root_seen = true;
			p->name = attr(r, "name");
			p->version = attr(r, "version");
			continue;
		}
		if (apd_xmlr_depth(r) != 1)
			continue;
		if (strcmp(apd_xmlr_name(r), "hardware-hash") == 0) {
			char **nh = realloc(p->hwhash, (p->nhwhash + 1) * sizeof(*nh));
			if (nh == NULL) {
				rc = apd_set_error(err, APD_FATAL, "out of memory");
				break;
			}
			p->hwhash = nh;
			if ((nh[p->nhwhash] = attr(r, "name")) == NULL) {
				rc = apd_set_error(err, APD_FAILED, "%s:%d: <hardware-hash> needs name=",
				    name, (int)apd_xmlr_line(r));
				break;
			}
			p->nhwhash++;
			continue;
		}
		if (p->n == cap) {
			struct apd_pentry *ne;
			cap = cap ? 2 * cap : 32;
			ne = realloc(p->e, cap * sizeof(*ne));
			if (ne == NULL) {
				rc = apd_set_error(err, APD_FATAL, "out of memory");
				break;
			}
			p->e = ne;
		}
		rc = entry(r, name, &p->e[p->n], err);
		p->n++;   /* freed by apd_profile_free even when incomplete */
	}
	apd_xmlr_free(r);
	if (rc == APD_OK && !root_seen)
		rc = apd_set_error(err, APD_FAILED, "%s: the root element is not <profile>", name);
	for (i = 0; rc == APD_OK && i < p->n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(p->e[i].id, p->e[j].id) == 0) {
				rc = apd_set_error(err, APD_FAILED, "%s: id '%s' is used twice", name,
				    p->e[i].id);
				break;
			}
	if (rc == APD_OK && p->n == 0)
		rc = apd_set_error(err, APD_FAILED, "%s: the profile lists nothing to collect", name);
	if (rc != APD_OK)
		apd_profile_free(p);
	return rc;
}
