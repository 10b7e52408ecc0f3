/*
 * apd_sas.c - SAS URL parsing and redaction (see apd_sas.h).
 */
#include "apd_sas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *
dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *
pct_decode(const char *p, size_t n)
{
	char *s = malloc(n + 1), *o = s;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n && hexval((unsigned char)p[i + 1]) >= 0 &&
		    hexval((unsigned char)p[i + 2]) >= 0) {
			*o++ = (char)(hexval((unsigned char)p[i + 1]) * 16 + hexval((unsigned char)p[i + 2]));
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	return s;
}

void
apd_sas_done(struct apd_sas *s)
{
	if (s == NULL)
		return;
	free(s->origin);
	free(s->container);
	free(s->blob);
	if (s->query)
		memset(s->query, 0, strlen(s->query));
	if (s->sig)
		memset(s->sig, 0, strlen(s->sig));
	if (s->sig_raw)
		memset(s->sig_raw, 0, strlen(s->sig_raw));
	free(s->query);
	free(s->sig);
	free(s->sig_raw);
	memset(s, 0, sizeof(*s));
}

void
apd_url_redact(const char *url, char *out, size_t n)
{
	size_t len, i = 0, o = 0;
	const char *auth, *at, *slash;

	if (n == 0)
		return;
	out[0] = '\0';
	if (url == NULL)
		return;
	len = strcspn(url, "?#");
	/* drop user information: scheme://user:pass@host */
	auth = strstr(url, "://");
	if (auth && (size_t)(auth - url) < len) {
		auth += 3;
		slash = auth + strcspn(auth, "/?#");
		at = memchr(auth, '@', (size_t)(slash - auth));
		for (; url + i < auth && o + 1 < n; i++)
			out[o++] = url[i];
		if (at)
			i = (size_t)(at + 1 - url);
	}
	for (; i < len && o + 1 < n; i++)
		out[o++] = url[i];
	out[o] = '\0';
}

/* Is host (as in the URL, IPv6 in brackets) the local machine? */
static bool
host_is_local(const char *h, size_t n)
{
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

static bool
host_is_ip(const char *h, size_t n)
{
	size_t i;

	if (n && h[0] == '[')
		return true;
	for (i = 0; i < n; i++)
		if ((h[i] < '0' || h[i] > '9') && h[i] != '.')
			return false;
	return n > 0;
}

/* The value of key= in a query string (borrowed span), or NULL. */
static const char *
query_param(const char *q, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	const char *p = q;

	while (p && *p) {
		size_t seg = strcspn(p, "&");
		if (seg > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			*vlen = seg - kl - 1;
			return p + kl + 1;
		}
		p = p[seg] ? p + seg + 1 : NULL;
	}
	return NULL;
}

int
apd_sas_parse(struct apd_sas *s, const char *url, struct apd_error *err)
{
	const char *p, *auth, *host, *hend, *path, *pend, *q, *sr, *sigv, *seg2;
	char shown[512];
	size_t srn = 0, sign = 0, hn;
	bool https, pathstyle, want_blob;

	memset(s, 0, sizeof(*s));
	apd_url_redact(url, shown, sizeof(shown));
	if (strncasecmp(url, "https://", 8) == 0)
		https = true;
	else if (strncasecmp(url, "http://", 7) == 0)
		https = false;
	else
		return apd_set_error(err, APD_FAILED, "'%s' is not an http(s) SAS URL", shown);
	auth = strstr(url, "://") + 3;
	p = auth + strcspn(auth, "/?#");
	host = memchr(auth, '@', (size_t)(p - auth));
	host = host ? host + 1 : auth;
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(p - host));
		hend = hend ? hend + 1 : p;
	} else {
		hend = host + strcspn(host, ":/?#");
		if (hend > p)
			hend = p;
	}
	hn = (size_t)(hend - host);
	if (hn == 0)
		return apd_set_error(err, APD_FAILED, "'%s': no host in the SAS URL", shown);
	s->local = host_is_local(host, hn);
	if (!https && !s->local)
		return apd_set_error(err, APD_FAILED, "'%s': refusing to send a SAS over plain "
		    "http; use https:// (http is allowed only for 127.0.0.1 and localhost)", shown);
	path = p;
	pend = path + strcspn(path, "?#");
	q = *pend == '?' ? pend + 1 : NULL;
	if (q == NULL || query_param(q, "sig", &sign) == NULL || sign == 0)
		return apd_set_error(err, APD_FAILED, "'%s': the URL carries no SAS signature (sig=); "
		    "ask for a SAS URL with write permission", shown);
	s->query = dupn(q, strcspn(q, "#"));
	sigv = query_param(s->query, "sig", &sign);
	s->sig = dupn(sigv, sign);
	s->sig_raw = pct_decode(sigv, sign);
	{
		/* origin: scheme://host[:port], without user information */
		size_t sl = (size_t)(strstr(url, "://") + 3 - url);
		s->origin = malloc(sl + (size_t)(p - host) + 1);
		if (s->origin) {
			memcpy(s->origin, url, sl);
			memcpy(s->origin + sl, host, (size_t)(p - host));
			s->origin[sl + (size_t)(p - host)] = '\0';
		}
	}
	if (s->query == NULL || s->sig == NULL || s->sig_raw == NULL || s->origin == NULL) {
		apd_sas_done(s);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	/* path segments: path-style hosts (an IP literal, localhost) start with the account */
	while (path < pend && *path == '/')
		path++;
	while (pend > path && pend[-1] == '/')
		pend--;
	pathstyle = host_is_ip(host, hn) || host_is_local(host, hn);
	seg2 = path;
	if (pathstyle) {
		seg2 = memchr(path, '/', (size_t)(pend - path));
		if (seg2 == NULL) {
			apd_sas_done(s);
			return apd_set_error(err, APD_FAILED, "'%s': the URL names no container "
			    "(expected /ACCOUNT/CONTAINER on an emulator)", shown);
		}
		seg2++;
	}
	if (seg2 >= pend) {
		apd_sas_done(s);
		return apd_set_error(err, APD_FAILED, "'%s': the URL names no container", shown);
	}
	{
		const char *cend = memchr(seg2, '/', (size_t)(pend - seg2));
		if (cend == NULL)
			cend = pend;
		s->container = malloc((size_t)(cend - path) + 2);
		if (s->container) {
			s->container[0] = '/';
			memcpy(s->container + 1, path, (size_t)(cend - path));
			s->container[1 + (size_t)(cend - path)] = '\0';
		}
		/* sr=c names a container, sr=b a blob; without sr the path decides */
		sr = query_param(s->query, "sr", &srn);
		want_blob = cend < pend;
		if (sr && srn == 1 && sr[0] == 'c' && want_blob) {
			apd_sas_done(s);
			return apd_set_error(err, APD_FAILED, "'%s': a container SAS (sr=c) with a blob "
			    "path; give the container URL and --name", shown);
		}
		if (sr && srn == 1 && sr[0] == 'b' && !want_blob) {
			apd_sas_done(s);
			return apd_set_error(err, APD_FAILED, "'%s': a blob SAS (sr=b) without a blob "
			    "name in the path", shown);
		}
		if (want_blob)
			s->blob = dupn(cend + 1, (size_t)(pend - cend - 1));
		if (s->container == NULL || (want_blob && s->blob == NULL)) {
			apd_sas_done(s);
			return apd_set_error(err, APD_FATAL, "out of memory");
		}
	}
	return APD_OK;
}

char *
apd_sas_public(const struct apd_sas *s, const char *name_enc)
{
	const char *name = s->blob ? s->blob : name_enc;
	size_t n = strlen(s->origin) + strlen(s->container) + (name ? strlen(name) + 1 : 0) + 1;
	char *u = malloc(n);

	if (u)
		snprintf(u, n, "%s%s%s%s", s->origin, s->container, name ? "/" : "", name ? name : "");
	return u;
}

char *
apd_sas_request_url(const struct apd_sas *s, const char *name_enc, const char *extra)
{
	char *pub = apd_sas_public(s, name_enc), *u;
	size_t n;

	if (pub == NULL)
		return NULL;
	n = strlen(pub) + (extra ? strlen(extra) + 1 : 0) + strlen(s->query) + 2;
	u = malloc(n);
	if (u)
		snprintf(u, n, "%s?%s%s%s", pub, extra ? extra : "", extra ? "&" : "", s->query);
	free(pub);
	return u;
}

/*
 * Replace the n bytes at p (inside text, a buffer of size bytes) with rep;
 * what no longer fits is cut.  Returns the position after rep.
 */
static char *
splice(char *text, size_t size, char *p, size_t n, const char *rep)
{
	size_t rl = strlen(rep), tl = strlen(p + n);
	size_t room = size - (size_t)(p - text) - 1;   /* bytes usable from p on */

	if (rl >= room) {
		memcpy(p, rep, room);
		p[room] = '\0';
		return p + room;
	}
	if (rl + tl > room)
		tl = room - rl;
	memmove(p + rl, p + n, tl);
	memcpy(p, rep, rl);
	p[rl + tl] = '\0';
	return p + rl;
}

static void
replace_all(char *text, size_t size, const char *needle, const char *rep)
{
	size_t n = strlen(needle);
	char *p = text;

	if (n == 0)
		return;
	while ((p = strstr(p, needle)) != NULL)
		p = splice(text, size, p, n, rep);
}

void
apd_sas_scrub(const struct apd_sas *s, char *text, size_t size)
{
	char *p;

	if (text == NULL || size == 0)
		return;
	text[size - 1] = '\0';
	if (s && s->query)
		replace_all(text, size, s->query, "REDACTED");
	if (s && s->sig)
		replace_all(text, size, s->sig, "REDACTED");
	if (s && s->sig_raw)
		replace_all(text, size, s->sig_raw, "REDACTED");
	/* any sig= value at all, whichever SAS it belongs to */
	for (p = text; (p = strstr(p, "sig=")) != NULL;) {
		size_t v = strcspn(p + 4, "& \t\r\n\"'<>");
		p += 4;
		if (v > 0 && !(v == 8 && strncmp(p, "REDACTED", 8) == 0))
			p = splice(text, size, p, v, "REDACTED");
	}
}

char *
apd_url_decode(const char *s)
{
	return pct_decode(s, strlen(s));
}

char *
apd_url_encode_path(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name), i, o = 0;
	char *u = malloc(3 * n + 1);

	if (u == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			u[o++] = (char)c;
		} else {
			u[o++] = '%';
			u[o++] = hex[c >> 4];
			u[o++] = hex[c & 15];
		}
	}
	u[o] = '\0';
	return u;
}
