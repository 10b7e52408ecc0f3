/*
 * apd_parse_text.c - the fallback for plain text logs and command output:
 * Panther setupact.log, dsregcmd /status, ipconfig /all, netsh and w32tm
 * output, any .txt or .log no other parser claims.
 *
 * One event per non-empty line, with the line's time where it starts with
 * one (Panther "2024-04-03 07:45:12, Info ...", ISO 8601 with Z or an
 * offset, "MM/DD/YYYY HH:MM:SS").  dsregcmd /status output additionally
 * gives facts "dsreg.<Key>" for its "Key : Value" lines.  Lines come from
 * the shared line reader (apd_text.h), so any encoding leaves as UTF-8 and
 * over-long lines are cut with a warning.
 *
 * Text or binary is decided on the first 4 KiB of the
 * head (after a BOM, on UTF-16 code units where the text is UTF-16): a NUL,
 * or more than 5% control characters, means binary.  Later NUL bytes (logs
 * padded after a crash) are dropped with a warning.
 *
 * Only apd_parser_text is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_text.h"
#include "apd_time.h"

#include <stdio.h>
#include <string.h>

#define TEXT_SNIFF      4096u   /* head bytes that decide text or binary */
#define TEXT_KEY_MAX    48u     /* longest dsregcmd key taken for a fact name */

/* ---- text or binary ---------------------------------------------------- */

/*
 * Does the start of the head look binary?  On true, *off is the offset of
 * the first NUL (or, for too many control characters, of the first one) and
 * *why names which.
 */
static bool
head_binary(const unsigned char *h, size_t len, uint64_t *off, const char **why)
{
	size_t bom, i, n, ctl = 0, units = 0, first_ctl = SIZE_MAX;
	enum apd_enc enc = apd_enc_sniff(h, len, &bom);
	unsigned u;

	n = len - bom < TEXT_SNIFF ? len - bom : TEXT_SNIFF;
	if (enc == APD_ENC_UTF16LE || enc == APD_ENC_UTF16BE) {
		for (i = 0; i + 1 < n; i += 2, units++) {
			const unsigned char *p = h + bom + i;

			u = enc == APD_ENC_UTF16BE ? (unsigned)(p[0] << 8 | p[1]) :
			    (unsigned)(p[1] << 8 | p[0]);
			if (u == 0) {
				*off = bom + i;
				*why = "NUL character";
				return true;
			}
			if (u < 0x20 && u != '\t' && u != '\n' && u != '\r' && u != 0x0C) {
				if (first_ctl == SIZE_MAX)
					first_ctl = bom + i;
				ctl++;
			}
		}
	} else {
		for (i = 0; i < n; i++, units++) {
			u = h[bom + i];
			if (u == 0) {
				*off = bom + i;
				*why = "NUL byte";
				return true;
			}
			if (u < 0x20 && u != '\t' && u != '\n' && u != '\r' && u != 0x0C) {
				if (first_ctl == SIZE_MAX)
					first_ctl = bom + i;
				ctl++;
			}
		}
	}
	if (units > 0 && ctl * 20 > units) {
		*off = first_ctl;
		*why = "control characters";
		return true;
	}
	return false;
}

/* ---- timestamps -------------------------------------------------------- */

/* Read 1 or 2 digits. */
static bool
num12(const char **p, const char *e, unsigned *out)
{
	if (!apd_parse_digits(p, e, 1, out))
		return false;
	if (*p < e && **p >= '0' && **p <= '9')
		*out = *out * 10 + (unsigned)(*(*p)++ - '0');
	return true;
}

/* Optional ".f{1,7}": frac as written and its digit count (0 if none). */
static void
frac(const char **p, const char *e, unsigned *f, unsigned *nd)
{
	*f = 0;
	*nd = 0;
	if (*p + 1 < e && **p == '.' && (*p)[1] >= '0' && (*p)[1] <= '9') {
		(*p)++;
		while (*p < e && **p >= '0' && **p <= '9') {
			if (*nd < 7) {
				*f = *f * 10 + (unsigned)(**p - '0');
				(*nd)++;
			}
			(*p)++;
		}
	}
}

/* Microseconds of a fraction written with nd digits. */
static unsigned
frac_us(unsigned f, unsigned nd)
{
	while (nd < 6) {
		f *= 10;
		nd++;
	}
	return nd == 7 ? f / 10 : f;
}

static bool
is_delim(const char *p, const char *e)
{
	return p == e || *p == ' ' || *p == '\t' || *p == ',' || *p == ']' || *p == '|';
}

/* What a line's start told about its time. */
struct line_time {
	int64_t utc;           /* APD_TS_NONE unless tz == APD_TZ_UTC */
	enum apd_tz tz;
	char local[32];        /* for APD_TZ_LOCAL */
	size_t local_n;
	const char *rest;      /* text after the time */
	bool panther;          /* "YYYY-MM-DD HH:MM:SS, " */
};

/*
 * Recognise a time at the start of [p, e) (after blanks and an optional
 * '['): "YYYY-MM-DD[ T]HH:MM:SS[.f]" with "Z", "+hh:mm" or " UTC" (UTC)
 * or without (device-local), or "M/D/YYYY H:MM:SS[.f][ AM|PM]" (local).
 * Returns false if the line does not start with a valid time.
 */
static bool
line_time(const char *p, const char *e, struct line_time *t)
{
	unsigned y, mo, d, h, mi, s, f, nd, oh, om;
	const char *q;
	int64_t us;
	char sep;

	t->utc = APD_TS_NONE;
	t->tz = APD_TZ_NONE;
	t->panther = false;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p < e && *p == '[')
		p++;
	q = p;
	if (apd_parse_digits(&q, e, 4, &y) && q < e && *q == '-') {
		q++;
		if (!apd_parse_digits(&q, e, 2, &mo) || q >= e || *q++ != '-' ||
		    !apd_parse_digits(&q, e, 2, &d) || q >= e)
			return false;
		sep = *q++;
		if (sep != ' ' && sep != 'T')
			return false;
	} else {
		q = p;
		if (!num12(&q, e, &mo) || q >= e || *q++ != '/' || !num12(&q, e, &d) || q >= e ||
		    *q++ != '/' || !apd_parse_digits(&q, e, 4, &y) || q >= e || *q++ != ' ')
			return false;
		sep = '/';
	}
	if (!num12(&q, e, &h) || q >= e || *q++ != ':' || !apd_parse_digits(&q, e, 2, &mi) ||
	    q >= e || *q++ != ':' || !apd_parse_digits(&q, e, 2, &s))
		return false;
	frac(&q, e, &f, &nd);
	if (sep == '/' && e - q >= 3 && q[0] == ' ' && (q[1] == 'A' || q[1] == 'P') && q[2] == 'M') {
		if (h < 1 || h > 12)
			return false;
		h = h % 12 + (q[1] == 'P' ? 12 : 0);
		q += 3;
	}
	if (apd_civil_to_us((int)y, mo, d, h, mi, s, frac_us(f, nd), &us) != 0)
		return false;
	if (sep != '/' && q < e && (*q == 'Z' || *q == 'z') && is_delim(q + 1, e)) {
		t->utc = us;
		t->tz = APD_TZ_UTC;
		t->rest = q + 1;
		return true;
	}
	if (sep != '/' && e - q >= 6 && (*q == '+' || *q == '-') && q[3] == ':') {
		const char *o = q + 1;

		if (apd_parse_digits(&o, e, 2, &oh) && o++ < e && apd_parse_digits(&o, e, 2, &om) &&
		    oh <= 23 && om <= 59 && is_delim(o, e)) {
			/* local = UTC + offset */
			t->utc = us - (*q == '+' ? 1 : -1) * (int64_t)(oh * 60 + om) * 60 * APD_US_PER_SEC;
			t->tz = APD_TZ_UTC;
			t->rest = o;
			return true;
		}
	}
	if (e - q >= 4 && memcmp(q, " UTC", 4) == 0 && is_delim(q + 4, e)) {
		t->utc = us;
		t->tz = APD_TZ_UTC;
		t->rest = q + 4;
		return true;
	}
	if (!is_delim(q, e))
		return false;   /* "2024-04-03 07:45:123" or similar: not a time */
	t->tz = APD_TZ_LOCAL;
	t->local_n = apd_format_local(t->local, (int)y, mo, d, h, mi, s, f, nd);
	t->panther = sep == ' ' && e - q >= 2 && q[0] == ',' && q[1] == ' ';
	t->rest = q;
	return true;
}

/*
 * Panther "YYYY-MM-DD HH:MM:SS, Level   Component  message": the level and,
 * where it is a plain word, the component.  p points at ", ".
 */
static void
panther_fields(const char *p, const char *e, struct apd_event *ev)
{
	static const struct {
		const char *word;
		int level;
	} levels[] = {
		{ "Info", APD_LVL_INFO },
		{ "Warning", APD_LVL_WARNING },
		{ "Error", APD_LVL_ERROR },
		{ "Fatal", APD_LVL_CRITICAL },
		{ "Perf", APD_LVL_VERBOSE },
	};
	const char *w, *c;
	size_t i, n;

	p += 2;
	while (p < e && *p == ' ')
		p++;
	for (w = p; p < e && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')); p++)
		;
	n = (size_t)(p - w);
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strlen(levels[i].word) == n && memcmp(levels[i].word, w, n) == 0)
			ev->level = levels[i].level;
	if (ev->level == APD_LVL_NONE)
		return;
	while (p < e && *p == ' ')
		p++;
	if (e - p > 3 && p[0] == '[' && p[1] == '0' && p[2] == 'x') {
		/* "[0x0606cc] MIG ...": skip a bracketed code before the component */
		for (c = p; c < e && *c != ']' && *c != ' '; c++)
			;
		if (c < e && *c == ']' && c + 1 < e && c[1] == ' ') {
			for (p = c + 1; p < e && *p == ' '; p++)
				;
		}
	}
	for (c = p; c < e && ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
	    (*c >= '0' && *c <= '9') || *c == '_'); c++)
		;
	if (c > p && c - p <= 16 && c < e && *c == ' ')
		ev->component = apd_sv(p, (size_t)(c - p));
}

/* ---- dsregcmd /status -------------------------------------------------- */

/* Does this line show that the text is dsregcmd /status output? */
static bool
dsreg_banner(struct apd_sv l)
{
	static const char *const banners[] = {
		"| Device State", "| Device Details", "| Tenant Details", "| User State",
		"| SSO State", "| Diagnostic Data", "| Ngc Prerequisite Check",
	};
	const char *p = l.p, *e = l.p + l.n;
	size_t i, m;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	for (i = 0; i < sizeof(banners) / sizeof(banners[0]); i++) {
		m = strlen(banners[i]);
		if ((size_t)(e - p) >= m && memcmp(p, banners[i], m) == 0)
			return true;
	}
	return false;
}

/*
 * Split "   Key Name : Value" into key and value.  The key is 1-48 of
 * [A-Za-z0-9 _-] starting with a letter; the value may be empty.
 */
static bool
key_value(struct apd_sv l, struct apd_sv *key, struct apd_sv *val)
{
	const char *p = l.p, *e = l.p + l.n, *k, *ke, *v;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	k = p;
	if (p >= e || !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return false;
	for (; p < e && *p != ':'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == ' ' || *p == '_' || *p == '-'))
			return false;
	if (p >= e || p == k || p[-1] != ' ' || (p + 1 < e && p[1] != ' '))
		return false;
	for (ke = p; ke > k && ke[-1] == ' '; ke--)
		;
	if ((size_t)(ke - k) > TEXT_KEY_MAX)
		return false;
	for (v = p + 1; v < e && *v == ' '; v++)
		;
	*key = apd_sv(k, (size_t)(ke - k));
	*val = apd_sv(v, (size_t)(e - v));
	return true;
}

static bool
ci_contains(struct apd_sv s, const char *needle)
{
	size_t i, j, m = strlen(needle);

	for (i = 0; i + m <= s.n; i++) {
		for (j = 0; j < m; j++) {
			char c = s.p[i + j];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != needle[j])
				break;
		}
		if (j == m)
			return true;
	}
	return false;
}

/*
 * Does a value look like a credential: a JWT, a long opaque base64 blob,
 * a URL carrying a signature or token, or anything under a key naming a
 * password or secret?  GUIDs, hex thumbprints, URLs and words are not.
 */
static bool
looks_secret(struct apd_sv key, struct apd_sv v)
{
	size_t i, up = 0, lo = 0, dig = 0, other = 0;

	if (v.n == 0)
		return false;
	if (ci_contains(key, "password") || ci_contains(key, "secret") ||
	    ci_contains(key, "credential"))
		return true;
	if (v.n >= 20 && memcmp(v.p, "eyJ", 3) == 0)
		return true;   /* base64url of '{"': a JWT or similar */
	if (ci_contains(v, "sig=") || ci_contains(v, "token=") || ci_contains(v, "code=") ||
	    ci_contains(v, "password="))
		return true;
	if (v.n < 32)
		return false;
	for (i = 0; i < v.n; i++) {
		char c = v.p[i];
		if (c >= 'A' && c <= 'Z')
			up++;
		else if (c >= 'a' && c <= 'z')
			lo++;
		else if (c >= '0' && c <= '9')
			dig++;
		else if (c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.')
			;
		else
			other++;
	}
	/* opaque: only base64(url) characters, and mixed case with digits; a GUID or
	   a thumbprint is hex in one case */
	return other == 0 && up > 0 && lo > 0 && dig > 0;
}

/* Emit dsreg.<Key> (spaces removed from the key) unless the value looks secret. */
static int
dsreg_fact(struct apd_sink *sink, struct apd_sv key, struct apd_sv val)
{
	char name[8 + TEXT_KEY_MAX + 1];
	size_t i, n = 0;

	if (looks_secret(key, val))
		return APD_OK;
	memcpy(name, "dsreg.", 6);
	n = 6;
	for (i = 0; i < key.n; i++)
		if (key.p[i] != ' ')
			name[n++] = key.p[i];
	return apd_emit_fact(sink, apd_sv(name, n), val);
}

/* ---- the run ----------------------------------------------------------- */

/* Remove NUL bytes from a line into tmp; returns how many were removed. */
static size_t
drop_nuls(struct apd_sv *l, struct apd_buf *tmp, int *rc)
{
	size_t i, run = 0, dropped = 0;

	*rc = APD_OK;
	if (l->n == 0 || memchr(l->p, 0, l->n) == NULL)
		return 0;
	apd_buf_reset(tmp);
	for (i = 0; i < l->n; i++) {
		if (l->p[i] != 0)
			continue;
		if ((*rc = apd_buf_add(tmp, l->p + run, i - run)) != APD_OK)
			return 0;
		run = i + 1;
		dropped++;
	}
	if ((*rc = apd_buf_add(tmp, l->p + run, l->n - run)) != APD_OK)
		return 0;
	*l = apd_buf_sv(tmp);
	return dropped;
}

/* Parse the stream.  Returns the parser contract's codes (apd_parser.h). */
static int
run(struct apd_parse *ps)
{
	struct apd_lines lr;
	struct apd_sv line, key, val;
	struct apd_event ev;
	struct line_time t;
	struct apd_buf tmp;
	const unsigned char *head;
	const char *why = NULL;
	size_t hlen, dropped, nul_total = 0;
	uint64_t off = 0, nul_line = 0;
	bool dsreg = false, degraded = false;
	int rc;

	head = apd_stream_head(ps->in, &hlen);
	if (head_binary(head, hlen, &off, &why))
		return apd_set_error(ps->err, APD_FAILED,
		    "%s: binary data at offset %llu (%s); not a text log", ps->path,
		    (unsigned long long)off, why);
	apd_lines_init(&lr, ps->in, ps->lim->max_line);
	apd_buf_init(&tmp, ps->lim->max_line * 3 + 8);
	for (;;) {
		rc = apd_lines_next(&lr, &line);
		if (rc == APD_EOF) {
			rc = APD_OK;
			break;
		}
		if (rc != APD_OK && rc != APD_WARN)
			break;   /* the stream described the failure */
		if (rc == APD_WARN) {
			degraded = true;
			rc = apd_emit_warn(ps->sink, lr.lineno, lr.offset,
			    "line %llu longer than %zu bytes; cut there",
			    (unsigned long long)lr.lineno, ps->lim->max_line);
			if (rc != APD_OK)
				break;
		}
		dropped = drop_nuls(&line, &tmp, &rc);
		if (rc != APD_OK)
			break;
		if (dropped && nul_total == 0)
			nul_line = lr.lineno;
		nul_total += dropped;
		while (line.n && (line.p[line.n - 1] == ' ' || line.p[line.n - 1] == '\t' ||
		    line.p[line.n - 1] == '\r'))
			line.n--;
		{
			size_t i = 0;

			while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
				i++;
			if (i == line.n)
				continue;   /* empty or blank */
		}
		apd_event_init(&ev);
		ev.message = line;
		ev.line = lr.lineno;
		ev.offset = lr.offset;
		if (line_time(line.p, line.p + line.n, &t)) {
			ev.tz = t.tz;
			ev.ts_utc = t.utc;
			if (t.tz == APD_TZ_LOCAL)
				ev.ts_local = apd_sv(t.local, t.local_n);
			if (t.panther)
				panther_fields(t.rest, line.p + line.n, &ev);
		}
		if (!dsreg && dsreg_banner(line))
			dsreg = true;
		if (key_value(line, &key, &val)) {
			if (!dsreg && key.n == 13 && memcmp(key.p, "AzureAdJoined", 13) == 0)
				dsreg = true;
			if (dsreg && (rc = dsreg_fact(ps->sink, key, val)) != APD_OK)
				break;
		}
		if ((rc = apd_emit_event(ps->sink, &ev)) != APD_OK)
			break;
	}
	if (rc == APD_OK && nul_total) {
		degraded = true;
		rc = apd_emit_warn(ps->sink, nul_line, 0,
		    "%zu NUL bytes dropped, the first on line %llu (padding after a crash?)",
		    nul_total, (unsigned long long)nul_line);
	}
	apd_buf_done(&tmp);
	apd_lines_done(&lr);
	if (rc == APD_OK && degraded)
		rc = APD_WARN;
	return rc;
}

/*
 * 1 for anything whose head looks like text; 2 for a .log or .txt name
 * even when binary (run() then fails with the reason); -1 otherwise.
 */
static int
bid(const struct apd_probe *pr)
{
	uint64_t off;
	const char *why;

	if (apd_name_iendswith(pr->name, ".log") || apd_name_iendswith(pr->name, ".txt"))
		return 2;
	return head_binary(pr->head, pr->len, &off, &why) ? -1 : 1;
}

const struct apd_parser apd_parser_text = {
	.name = "text",
	.kind = "text",
	.bid = bid,
	.run = run,
	.note = NULL,
};
