/*
 * apd_parse_results.c - results.xml of an Intune "Collect diagnostics" zip
 * (DOMAIN.md §2.1-2.2): the DiagnosticLog CSP's <Collection> with an
 * HRESULT on every directive.
 *
 *	<Collection HRESULT="0">
 *	<ID>d88051d0-...</ID>
 *	    <SasUrl>...</SasUrl>
 *	    <RegistryKey HRESULT="-2147024893">HKLM\SOFTWARE\...</RegistryKey>
 *	    <Command HRESULT="0">%windir%\system32\Dsregcmd.exe /status</Command>
 *	    ...
 *	    <ClientTimeoutInSeconds>5400</ClientTimeoutInSeconds>
 *	    <OutputFileFormat>flattened</OutputFileFormat>
 *	</Collection>
 *
 * Every directive becomes fact intune.directive.<n> (n = 1, 2, ... in
 * document order: the old zip layout names its folders by n), and every
 * directive with a non-zero HRESULT a gap.  HRESULTs are written as signed
 * decimal; gaps carry them as the unsigned 32-bit value (0x80070003).
 *
 * The SasUrl element can hold a SAS token.  Its content is never read into
 * any buffer, and libxml2 messages raised while it is open are replaced by
 * a fixed text, so the token cannot reach a fact, gap, event, warning or
 * error message.
 *
 * libxml2 runs as a SAX2 push parser with the same hardening as the
 * MDMDiagReport.xml parser: no network, no DTD, no entities (a declaration
 * stops the parse), lim->max_xml_bytes and lim->max_xml_depth, errors to a
 * structured handler on this context only.  Fact names are documented in
 * docs/sources/results.md.
 *
 * Only apd_parser_results is exported; everything else has file scope.
 */
#include "apd_buf.h"
#include "apd_parser.h"
#include "apd_text.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FEED_CHUNK   (64u * 1024)
#define MAX_VALUE    (32u * 1024)   /* text kept of one directive */
#define MAX_XML_WARN 20u

enum stop_why {
	STOP_NONE = 0,
	STOP_SINK,      /* a sink callback returned non-OK, or out of memory */
	STOP_DEPTH,     /* deeper than lim->max_xml_depth */
	STOP_BYTES,     /* larger than lim->max_xml_bytes */
	STOP_ENTITY,    /* an entity declaration */
	STOP_ROOT       /* the root element is not <Collection> */
};

/* What the current child of <Collection> is. */
enum child {
	CH_NONE = 0,
	CH_ID,
	CH_FORMAT,
	CH_TIMEOUT,
	CH_DIRECTIVE,
	CH_OTHER
};

struct res {
	struct apd_parse *ps;
	xmlParserCtxtPtr ctxt;
	unsigned depth;          /* open elements; <Collection> is 1 */
	unsigned max_depth;
	unsigned sas_depth;      /* depth of an open SasUrl element, 0 if none */
	enum child child;        /* kind of the open depth-2 element */
	char dname[64];          /* its name, for a directive */
	bool have_hr;            /* it had an HRESULT attribute */
	bool hr_ok;              /* ... that parsed */
	int64_t hr;              /* ... as a signed 32-bit value */
	uint64_t dline;          /* its line */
	struct apd_buf text;     /* its text (never SasUrl's) */
	struct apd_buf name;     /* "<Directive> <text>" */
	unsigned n_dir;          /* directives seen */
	unsigned n_failed;       /* directives with a non-zero HRESULT */
	bool flattened;          /* OutputFileFormat is "flattened" */
	unsigned long emitted;
	bool root_seen, root_ok;
	enum stop_why stop;
	int sink_rc;
	bool fatal;
	bool terminating;
	char why[512];
	uint64_t why_line;
	unsigned n_xml_warn;
	bool warned;
	uint64_t fed;
};

/* ---- helpers ---------------------------------------------------------- */

/* The current line of the parser, 0 if unknown. */
static uint64_t
cur_line(const struct res *m)
{
	if (m->ctxt == NULL || m->ctxt->input == NULL || m->ctxt->input->line < 0)
		return 0;
	return (uint64_t)m->ctxt->input->line;
}

/* Stop libxml2 and remember why (the first reason wins). */
static void
stop(struct res *m, enum stop_why why)
{
	if (m->stop == STOP_NONE)
		m->stop = why;
	if (m->ctxt)
		xmlStopParser(m->ctxt);
}

/* Pass a sink code on: anything but APD_OK stops the parse. Returns rc. */
static int
sink_rc(struct res *m, int rc)
{
	if (rc != APD_OK) {
		if (m->sink_rc == APD_OK)
			m->sink_rc = rc;
		stop(m, STOP_SINK);
	}
	return rc;
}

/*
 * Last line of defence for the SAS token: a message that looks as if it
 * quotes a SAS URL is replaced.  Returns msg or the replacement.
 */
static const char *
no_sas(const char *msg)
{
	if (strstr(msg, "sig=") || strstr(msg, "SIG=") || strstr(msg, ".blob.core.") ||
	    strstr(msg, "sv=20"))
		return "message withheld: it may quote a SAS URL";
	return msg;
}

static int warn(struct res *m, uint64_t line, const char *fmt, ...) APD_PRINTF(3, 4);

/* Emit a warning (never quoting a SAS URL). Returns the sink code. */
static int
warn(struct res *m, uint64_t line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->warned = true;
	return sink_rc(m, apd_emit_warn(m->ps->sink, line, 0, "%s", no_sas(msg)));
}

/* Emit a fact; returns the sink code. */
static int
emit_fact(struct res *m, const char *name, struct apd_sv value)
{
	m->emitted++;
	return sink_rc(m, apd_emit_fact(m->ps->sink, apd_sv_cstr(name), value));
}

/* Parse a signed decimal or 0x hex HRESULT into the signed 32-bit range. */
static bool
parse_hresult(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false, hex = false;
	uint64_t v = 0;
	unsigned digits = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
	}
	for (; *p; p++, digits++) {
		int d = (*p >= '0' && *p <= '9') ? *p - '0' :
		    (hex && *p >= 'a' && *p <= 'f') ? *p - 'a' + 10 :
		    (hex && *p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (digits >= 12)
			return false;
		v = v * (hex ? 16 : 10) + (uint64_t)d;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (digits == 0 || *p != '\0')
		return false;
	if (neg ? v > 2147483648ull : v > 0xFFFFFFFFull)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)(int32_t)(uint32_t)v;
	return true;
}

/* The HRESULT attribute of a start tag, if any: *present, and the value. */
static bool
attr_hresult(const xmlChar **attrs, int nb_attr, bool *present, int64_t *hr)
{
	int i;

	*present = false;
	for (i = 0; i < nb_attr; i++) {
		const xmlChar **a = attrs + 5 * i;   /* localname, prefix, URI, value, end */
		char buf[40];
		size_t n = (size_t)(a[4] - a[3]);

		if (strcasecmp((const char *)a[0], "HRESULT") != 0)
			continue;
		*present = true;
		if (n >= sizeof(buf))
			return false;
		memcpy(buf, a[3], n);
		buf[n] = '\0';
		return parse_hresult(buf, hr);
	}
	return false;
}

/* The text of the current element without surrounding white space. */
static struct apd_sv
trimmed(const struct apd_buf *b)
{
	const char *p = b->p ? b->p : "";
	size_t n = b->n;

	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	return apd_sv(p, n);
}

/* The four directive kinds of the DiagnosticLog CSP. */
static bool
is_directive(const char *nm)
{
	return strcmp(nm, "RegistryKey") == 0 || strcmp(nm, "Command") == 0 ||
	    strcmp(nm, "Events") == 0 || strcmp(nm, "FoldersFiles") == 0;
}

/* ---- SAX callbacks ------------------------------------------------------ */

/*
 * SAX start tag: check the root, note an open SasUrl, classify the children
 * of <Collection> and keep a directive's HRESULT.
 */
static void
on_start(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
	struct res *m = ud;
	const char *nm = (const char *)localname;
	bool present;
	int64_t hr = 0;
	bool ok;

	(void)prefix; (void)uri; (void)nb_ns; (void)ns; (void)nb_def;
	if (m->stop != STOP_NONE)
		return;
	if (m->depth + 1 > m->max_depth) {
		snprintf(m->why, sizeof(m->why), "elements nested deeper than max_xml_depth (%u)",
		    m->max_depth);
		m->why_line = cur_line(m);
		warn(m, m->why_line, "%s; parsing stopped", m->why);
		stop(m, STOP_DEPTH);
		return;
	}
	m->depth++;
	if (m->sas_depth == 0 && strcasecmp(nm, "SasUrl") == 0)
		m->sas_depth = m->depth;
	ok = attr_hresult(attrs, nb_attr, &present, &hr);

	if (m->depth == 1) {
		m->root_seen = true;
		if (strcmp(nm, "Collection") != 0) {
			snprintf(m->why, sizeof(m->why), "the root element is <%.200s>, not <Collection>",
			    nm);
			m->why_line = cur_line(m);
			stop(m, STOP_ROOT);
			return;
		}
		m->root_ok = true;
		if (present && ok) {
			char hex[16];

			snprintf(hex, sizeof(hex), "0x%08X", (unsigned)(uint32_t)hr);
			emit_fact(m, "intune.collection.hresult", apd_sv_cstr(hex));
		} else if (present) {
			warn(m, cur_line(m), "<Collection> has an HRESULT that is not a number");
		}
		return;
	}
	if (m->depth != 2)
		return;
	apd_buf_reset(&m->text);
	m->have_hr = present;
	m->hr_ok = ok;
	m->hr = hr;
	m->dline = cur_line(m);
	if (m->sas_depth)
		m->child = CH_OTHER;
	else if (strcmp(nm, "ID") == 0)
		m->child = CH_ID;
	else if (strcmp(nm, "OutputFileFormat") == 0)
		m->child = CH_FORMAT;
	else if (strcmp(nm, "ClientTimeoutInSeconds") == 0)
		m->child = CH_TIMEOUT;
	else if (is_directive(nm) || present)
		m->child = CH_DIRECTIVE;
	else
		m->child = CH_OTHER;
	snprintf(m->dname, sizeof(m->dname), "%.60s", nm);
}

/* A directive ended: fact intune.directive.<n>, and a gap if it failed. */
static void
end_directive(struct res *m)
{
	struct apd_sv text = trimmed(&m->text);
	char fname[48], reason[160];

	m->n_dir++;
	apd_buf_reset(&m->name);
	if (apd_buf_printf(&m->name, "%s %.*s", m->dname, (int)text.n, text.p) != APD_OK) {
		sink_rc(m, APD_FATAL);
		apd_set_error(m->ps->err, APD_FATAL, "%s: out of memory", m->ps->path);
		return;
	}
	snprintf(fname, sizeof(fname), "intune.directive.%u", m->n_dir);
	if (emit_fact(m, fname, apd_buf_sv(&m->name)) != APD_OK)
		return;
	if (m->have_hr && !m->hr_ok) {
		warn(m, m->dline, "directive %u (<%s>) has an HRESULT that is not a number", m->n_dir,
		    m->dname);
		return;
	}
	if (!m->have_hr || m->hr == 0)
		return;
	m->n_failed++;
	snprintf(reason, sizeof(reason), "directive %u failed with HRESULT 0x%08X (%lld)", m->n_dir,
	    (unsigned)(uint32_t)m->hr, (long long)m->hr);
	m->emitted++;
	sink_rc(m, apd_emit_gap(m->ps->sink, apd_buf_sv(&m->name), (int64_t)(uint32_t)m->hr,
	    apd_sv_cstr(reason)));
}

/* SAX end tag: emit what a child of <Collection> carried. */
static void
on_end(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct res *m = ud;
	struct apd_sv v;

	(void)localname; (void)prefix; (void)uri;
	if (m->stop != STOP_NONE || m->depth == 0)
		return;
	if (m->depth == 2) {
		v = trimmed(&m->text);
		switch (m->child) {
		case CH_ID:
			emit_fact(m, "intune.collection.id", v);
			break;
		case CH_FORMAT:
			m->flattened = v.n == 9 && strncasecmp(v.p, "flattened", 9) == 0;
			emit_fact(m, "intune.output_format", v);
			break;
		case CH_TIMEOUT:
			emit_fact(m, "intune.client_timeout_seconds", v);
			break;
		case CH_DIRECTIVE:
			end_directive(m);
			break;
		case CH_NONE:
		case CH_OTHER:
			break;
		}
		m->child = CH_NONE;
		apd_buf_reset(&m->text);
	}
	if (m->sas_depth == m->depth)
		m->sas_depth = 0;
	m->depth--;
}

/* SAX text and CDATA of a child of <Collection>, never of SasUrl. */
static void
on_text(void *ud, const xmlChar *ch, int len)
{
	struct res *m = ud;
	size_t n = len > 0 ? (size_t)len : 0, room;

	/* SasUrl text is never copied anywhere */
	if (m->stop != STOP_NONE || m->depth != 2 || m->sas_depth || m->child == CH_OTHER ||
	    m->child == CH_NONE)
		return;
	room = MAX_VALUE - m->text.n;
	if (n > room)
		n = room;
	if (n && apd_buf_add(&m->text, ch, n) == APD_FATAL) {
		apd_set_error(m->ps->err, APD_FATAL, "%s: out of memory", m->ps->path);
		sink_rc(m, APD_FATAL);
	}
}

/* Any entity declaration stops the parse. */
static void
on_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
    const xmlChar *system_id, xmlChar *content)
{
	struct res *m = ud;

	(void)type; (void)public_id; (void)system_id; (void)content;
	if (m->stop != STOP_NONE)
		return;
	snprintf(m->why, sizeof(m->why), "DTD entity declaration '%.100s' rejected", (const char *)name);
	m->why_line = cur_line(m);
	warn(m, m->why_line, "%s (entities are never expanded); parsing stopped", m->why);
	stop(m, STOP_ENTITY);
}

/* Only the five predefined entities exist; any other reference is an error. */
static xmlEntityPtr
on_get_entity(void *ud, const xmlChar *name)
{
	(void)ud;
	return xmlGetPredefinedEntity(name);
}

/*
 * libxml2's structured error handler (this context only).  Inside SasUrl the
 * message is replaced, so no part of a SAS token can be quoted.
 */
#if LIBXML_VERSION >= 21200
static void
on_error(void *ud, const xmlError *e)
#else
static void
on_error(void *ud, xmlErrorPtr e)
#endif
{
	struct res *m = ud;
	char msg[400];
	uint64_t line = e->line > 0 ? (uint64_t)e->line : cur_line(m);
	size_t i, j = 0;

	if (e->level == XML_ERR_WARNING || e->code == XML_ERR_USER_STOP)
		return;
	if (m->sas_depth) {
		/* never quote anything from inside SasUrl */
		snprintf(msg, sizeof(msg), "malformed XML inside <SasUrl> (details withheld: the "
		    "element may hold a SAS token)");
	} else if (m->terminating && m->depth > 0) {
		snprintf(msg, sizeof(msg), "document ends with %u element%s left open (truncated "
		    "file?)", m->depth, m->depth == 1 ? "" : "s");
	} else {
		for (i = 0; e->message && e->message[i] && j + 1 < sizeof(msg); i++)
			msg[j++] = (e->message[i] == '\n' || e->message[i] == '\r') ? ' ' : e->message[i];
		while (j > 0 && msg[j - 1] == ' ')
			j--;
		msg[j] = '\0';
	}
	if (e->level == XML_ERR_FATAL && !m->fatal) {
		m->fatal = true;
		if (m->stop == STOP_NONE) {
			snprintf(m->why, sizeof(m->why), "XML error: %s", no_sas(msg));
			m->why_line = line;
		}
	}
	if (m->n_xml_warn++ < MAX_XML_WARN && m->stop != STOP_SINK)
		warn(m, line, "XML error: %s", msg);
}

/* ---- bid ---------------------------------------------------------------- */

/*
 * The first start tag of a head, 8-bit or UTF-16LE narrowed to ASCII, after
 * a BOM, an XML declaration, comments, processing instructions, a DOCTYPE
 * and white space.  Returns its length (from '<' up to '>'), 0 if none.
 */
static size_t
first_tag(const struct apd_probe *pr, char *win, size_t cap, const char **tag)
{
	const unsigned char *h = pr->head;
	size_t n = pr->len, i = 0, k = 0, t;
	const char *e;

	if (n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == '<' && h[1] == 0))) {
		for (i = (h[0] == 0xFF) ? 2 : 0; i + 1 < n && k + 1 < cap; i += 2)
			win[k++] = (h[i + 1] == 0 && h[i] != 0) ? (char)h[i] : '?';
	} else {
		if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
			i = 3;
		for (; i < n && k + 1 < cap; i++)
			win[k++] = h[i] ? (char)h[i] : '?';
	}
	win[k] = '\0';
	i = 0;
	for (;;) {
		while (i < k && (win[i] == ' ' || win[i] == '\t' || win[i] == '\r' || win[i] == '\n'))
			i++;
		if (i >= k || win[i] != '<')
			return 0;
		if (i + 1 < k && win[i + 1] == '?') {
			if ((e = strstr(win + i, "?>")) == NULL)
				return 0;
			i = (size_t)(e - win) + 2;
		} else if (i + 3 < k && memcmp(win + i, "<!--", 4) == 0) {
			if ((e = strstr(win + i, "-->")) == NULL)
				return 0;
			i = (size_t)(e - win) + 3;
		} else if (i + 1 < k && win[i + 1] == '!') {
			const char *gt = strchr(win + i, '>'), *br = strchr(win + i, '[');

			if (br && gt && br < gt)
				gt = strstr(br, "]>") ? strstr(br, "]>") + 1 : NULL;
			if (gt == NULL)
				return 0;
			i = (size_t)(gt - win) + 1;
		} else {
			*tag = win + i;
			for (t = i; t < k && win[t] != '>'; t++)
				;
			return t - i + (t < k ? 1 : 0);
		}
	}
}

/*
 * Root <Collection ... HRESULT=...>: 56; the name results.xml adds 8.  A
 * <Collection> without HRESULT (the request, not the result) only with
 * that name: 16.
 */
static int
bid(const struct apd_probe *pr)
{
	char win[4096], stag[512];
	const char *tag = NULL;
	size_t tl;
	bool name = apd_name_ieq(pr->name, "results.xml");
	bool u16 = pr->len >= 2 && ((pr->head[0] == 0xFF && pr->head[1] == 0xFE) ||
	    (pr->head[0] == '<' && pr->head[1] == 0));

	if (pr->len == 0)
		return -1;
	if (!u16 && apd_looks_binary(pr->head, pr->len < 4096 ? pr->len : 4096))
		return -1;
	tl = first_tag(pr, win, sizeof(win), &tag);
	if (tl < 11 || strncmp(tag, "<Collection", 11) != 0 ||
	    !(tag[11] == '>' || tag[11] == ' ' || tag[11] == '\t' || tag[11] == '\r' ||
	    tag[11] == '\n' || tag[11] == '/'))
		return -1;
	snprintf(stag, sizeof(stag), "%.*s", (int)(tl < sizeof(stag) ? tl : sizeof(stag) - 1), tag);
	if (strstr(stag, "HRESULT=") || strstr(stag, "HRESULT ="))
		return 56 + (name ? 8 : 0);
	return name ? 16 : -1;
}

/* ---- run ---------------------------------------------------------------- */

/* Free everything run() set up; safe on a half-initialised state. */
static void
res_done(struct res *m)
{
	apd_buf_done(&m->text);
	apd_buf_done(&m->name);
	if (m->ctxt) {
		/* an entity declaration makes libxml2 build a "SAX compat" document */
		if (m->ctxt->myDoc)
			xmlFreeDoc(m->ctxt->myDoc);
		m->ctxt->myDoc = NULL;
		xmlFreeParserCtxt(m->ctxt);
	}
}

/*
 * Parse results.xml into facts and gaps.  Returns APD_OK, APD_WARN
 * (malformed or capped; what was read is kept), APD_FAILED (nothing usable;
 * ps->err names the file and line), APD_FATAL, or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct res m;
	xmlSAXHandler sax;
	const void *blk;
	const char *p;
	size_t n, take;
	unsigned long usable;
	bool abnormal;
	int rc, srv = APD_OK;
	char num[24];

	memset(&m, 0, sizeof(m));
	m.ps = ps;
	m.max_depth = ps->lim->max_xml_depth ? ps->lim->max_xml_depth : 1;
	apd_buf_init(&m.text, MAX_VALUE + 1);
	apd_buf_init(&m.name, MAX_VALUE + 128);

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.entityDecl = on_entity_decl;
	sax.getEntity = on_get_entity;
	sax.serror = on_error;

	xmlInitParser();
	m.ctxt = xmlCreatePushParserCtxt(&sax, &m, NULL, 0, NULL);
	if (m.ctxt == NULL) {
		res_done(&m);
		return apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	}
	/* never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE */
	xmlCtxtUseOptions(m.ctxt, XML_PARSE_NONET);
	m.ctxt->replaceEntities = 0;
	m.ctxt->loadsubset = 0;
	m.ctxt->validate = 0;

	while (m.stop == STOP_NONE && !m.fatal) {
		srv = apd_stream_block(ps->in, &blk, &n);
		if (srv == APD_EOF) {
			srv = APD_OK;
			m.terminating = true;
			xmlParseChunk(m.ctxt, NULL, 0, 1);
			break;
		}
		if (srv != APD_OK)
			break;
		for (p = blk; n > 0 && m.stop == STOP_NONE && !m.fatal; p += take, n -= take) {
			take = n < FEED_CHUNK ? n : FEED_CHUNK;
			if (m.fed + take > ps->lim->max_xml_bytes)
				take = (size_t)(ps->lim->max_xml_bytes - m.fed);
			if (take > 0) {
				xmlParseChunk(m.ctxt, p, (int)take, 0);
				m.fed += take;
			}
			if (m.fed >= ps->lim->max_xml_bytes && n > take && m.stop == STOP_NONE &&
			    !m.fatal) {
				snprintf(m.why, sizeof(m.why),
				    "document larger than max_xml_bytes (%llu bytes)",
				    (unsigned long long)ps->lim->max_xml_bytes);
				m.why_line = cur_line(&m);
				warn(&m, m.why_line, "%s; parsing stopped", m.why);
				stop(&m, STOP_BYTES);
				break;
			}
		}
	}

	usable = m.emitted;
	abnormal = m.stop != STOP_NONE || m.fatal;
	if (m.sink_rc != APD_OK)
		rc = m.sink_rc;
	else if (srv != APD_OK)
		rc = srv;                       /* the stream set ps->err */
	else if (m.stop == STOP_ROOT)
		rc = apd_set_error(ps->err, APD_FAILED, "%s:%llu: %s", ps->path,
		    (unsigned long long)m.why_line, m.why);
	else if (abnormal && (usable == 0 || !m.root_ok))
		rc = apd_set_error(ps->err, APD_FAILED, "%s:%llu: %s", ps->path,
		    (unsigned long long)m.why_line, m.why[0] ? m.why : "not well-formed XML");
	else if (!m.root_seen)
		rc = apd_set_error(ps->err, APD_FAILED, "%s: no root element", ps->path);
	else
		rc = abnormal || m.warned ? APD_WARN : APD_OK;

	if (rc == APD_OK || rc == APD_WARN) {
		snprintf(num, sizeof(num), "%u", m.n_dir);
		emit_fact(&m, "intune.directives", apd_sv_cstr(num));
		snprintf(num, sizeof(num), "%u", m.n_failed);
		emit_fact(&m, "intune.directives_failed", apd_sv_cstr(num));
		emit_fact(&m, "intune.layout", m.flattened ? APD_SV_LIT("flattened") :
		    APD_SV_LIT("numbered"));
		if (m.sink_rc != APD_OK)
			rc = m.sink_rc;
	}
	res_done(&m);
	return rc;
}

const struct apd_parser apd_parser_results = {
	.name = "results",
	.kind = "intune-results",
	.bid = bid,
	.run = run,
	.note = NULL,
};
