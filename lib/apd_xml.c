/*
 * apd_xml.c - the hardened, streaming libxml2 reader shared by the XML
 * source parsers (see apd_xml.h for what it guarantees).
 *
 * Exports apd_xml_run(), the emit helpers apd_xml_fact/event/gap/warn/oom,
 * the position and path accessors apd_xml_line/offset/name/path/leaf/attr,
 * and apd_xml_head_tag() for bidders; everything else has file scope.
 */
#include "apd_xml.h"

#include "apd_text.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FEED_CHUNK   (64u * 1024)   /* bytes handed to libxml2 at once */
#define MAX_XML_WARN 20u            /* libxml2 messages turned into warnings */

/* Why parsing stopped early (besides a libxml2 fatal error). */
enum stop_why {
	STOP_NONE = 0,
	STOP_SINK,       /* a sink callback returned non-OK, or out of memory */
	STOP_DEPTH,      /* deeper than lim->max_xml_depth */
	STOP_BYTES,      /* larger than lim->max_xml_bytes */
	STOP_ENTITY,     /* an entity declaration */
	STOP_ROOT,       /* the root element has the wrong name */
	STOP_PATH        /* element names longer than APD_XML_MAX_PATH in total */
};

/* ---- stopping and emitting ---------------------------------------------- */

uint64_t
apd_xml_line(const struct apd_xml *x)
{
	if (x->ctxt == NULL || x->ctxt->input == NULL || x->ctxt->input->line < 0)
		return 0;
	return (uint64_t)x->ctxt->input->line;
}

uint64_t
apd_xml_offset(const struct apd_xml *x)
{
	long n = x->ctxt ? xmlByteConsumed(x->ctxt) : -1;

	return n < 0 ? 0 : (uint64_t)n;
}

/* Stop libxml2 (from a callback or between chunks); the first reason wins. */
static void
stop(struct apd_xml *x, enum stop_why why)
{
	if (x->stop == STOP_NONE)
		x->stop = why;
	if (x->ctxt)
		xmlStopParser(x->ctxt);
}

/* Pass a sink code on: anything but APD_OK stops the parse. Returns rc. */
static int
pass(struct apd_xml *x, int rc)
{
	if (rc != APD_OK) {
		if (x->sink_rc == APD_OK)
			x->sink_rc = rc;
		stop(x, STOP_SINK);
	}
	return rc;
}

/* A message as it may leave the parse: through ops->redact if there is one. */
static const char *
redacted(const struct apd_xml *x, const char *msg)
{
	return x->ops->redact ? x->ops->redact(msg) : msg;
}

int
apd_xml_warn(struct apd_xml *x, uint64_t line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->warned = true;
	return pass(x, apd_emit_warn(x->ps->sink, line, apd_xml_offset(x), "%s", redacted(x, msg)));
}

int
apd_xml_fact(struct apd_xml *x, struct apd_sv name, struct apd_sv value)
{
	x->emitted++;
	return pass(x, apd_emit_fact(x->ps->sink, name, value));
}

int
apd_xml_event(struct apd_xml *x, const struct apd_event *ev)
{
	x->emitted++;
	return pass(x, apd_emit_event(x->ps->sink, ev));
}

int
apd_xml_gap(struct apd_xml *x, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	x->emitted++;
	return pass(x, apd_emit_gap(x->ps->sink, item, hresult, reason));
}

int
apd_xml_oom(struct apd_xml *x)
{
	apd_set_error(x->ps->err, APD_FATAL, "%s: out of memory", x->ps->path);
	return pass(x, APD_FATAL);
}

static void set_why(struct apd_xml *x, const char *fmt, ...) APD_PRINTF(2, 3);

/* Record the reason of a stop, at the current line. */
static void
set_why(struct apd_xml *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	x->why_line = apd_xml_line(x);
}

/* Stop for the reason just set: warn "<why><note>; parsing stopped". */
static void
halt(struct apd_xml *x, enum stop_why why, const char *note)
{
	apd_xml_warn(x, x->why_line, "%s%s; parsing stopped", x->why, note);
	stop(x, why);
}

/* ---- the element path ----------------------------------------------------- */

struct apd_sv
apd_xml_name(const struct apd_xml *x, unsigned d)
{
	size_t s;

	if (d == 0 || d > x->depth)
		return APD_SV_NULL;
	s = x->path_end[d - 1] + 1;
	return apd_sv(x->path.p + s, x->path_end[d] - s);
}

struct apd_sv
apd_xml_path(const struct apd_xml *x, unsigned from, unsigned to)
{
	size_t s;

	if (from >= to || to > x->depth)
		return APD_SV_NULL;
	s = x->path_end[from] + 1;
	return apd_sv(x->path.p + s, x->path_end[to] - s);
}

bool
apd_xml_leaf(const struct apd_xml *x)
{
	return x->depth > 0 && !x->has_child[x->depth];
}

struct apd_sv
apd_xml_attr(const struct apd_xml *x, const char *name)
{
	int i;

	for (i = 0; x->attrs && i < x->nattrs; i++) {
		const unsigned char **a = x->attrs + 5 * i;   /* localname, prefix, URI, value, end */

		if (strcasecmp((const char *)a[0], name) == 0)
			return apd_sv((const char *)a[3], (size_t)(a[4] - a[3]));
	}
	return APD_SV_NULL;
}

/* ---- SAX callbacks -------------------------------------------------------- */

/* SAX start tag: enforce depth and path limits, push the path, check the root. */
static void
on_start(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
	struct apd_xml *x = ud;
	const char *nm = (const char *)localname, *root = x->ops->root;

	(void)prefix; (void)uri; (void)nb_ns; (void)ns; (void)nb_def;
	if (x->stop != STOP_NONE)
		return;
	if (x->depth + 1 > x->max_depth) {
		set_why(x, "elements nested deeper than max_xml_depth (%u)", x->max_depth);
		halt(x, STOP_DEPTH, "");
		return;
	}
	if (x->depth > 0)
		x->has_child[x->depth] = true;
	if (apd_buf_addc(&x->path, '/') != APD_OK || apd_buf_adds(&x->path, nm) != APD_OK) {
		set_why(x, "element names nested beyond %u bytes", APD_XML_MAX_PATH);
		halt(x, STOP_PATH, "");
		return;
	}
	x->depth++;
	x->path_end[x->depth] = x->path.n;
	x->has_child[x->depth] = false;

	if (x->depth == 1) {
		x->root_seen = true;
		if (root && (x->ops->root_icase ? strcasecmp(nm, root) : strcmp(nm, root)) != 0) {
			set_why(x, "the root element is <%.200s>, not <%s>", nm, root);
			stop(x, STOP_ROOT);
			return;
		}
		x->root_ok = true;
	}
	if (x->ops->start) {
		x->attrs = attrs;
		x->nattrs = nb_attr;
		x->ops->start(x, nm);
		x->attrs = NULL;
		x->nattrs = 0;
	}
}

/* SAX end tag: tell the parser, then pop the path. */
static void
on_end(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct apd_xml *x = ud;

	(void)localname; (void)prefix; (void)uri;
	if (x->stop != STOP_NONE || x->depth == 0)
		return;
	if (x->ops->end)
		x->ops->end(x);
	x->path.n = x->path_end[x->depth - 1];
	if (x->path.p)
		x->path.p[x->path.n] = '\0';
	x->depth--;
}

/* SAX text and CDATA: passed on as they come. */
static void
on_text(void *ud, const xmlChar *ch, int len)
{
	struct apd_xml *x = ud;

	if (x->stop != STOP_NONE || x->depth == 0 || len <= 0 || x->ops->text == NULL)
		return;
	x->ops->text(x, (const char *)ch, (size_t)len);
}

/* Any entity declaration stops the parse before a reference can be expanded. */
static void
on_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
    const xmlChar *system_id, xmlChar *content)
{
	struct apd_xml *x = ud;

	(void)type; (void)public_id; (void)system_id; (void)content;
	if (x->stop != STOP_NONE)
		return;
	set_why(x, "DTD entity declaration '%.100s' rejected", (const char *)name);
	halt(x, STOP_ENTITY, " (entities are never expanded)");
}

/* Only the five predefined entities exist; any other reference is an error. */
static xmlEntityPtr
on_get_entity(void *ud, const xmlChar *name)
{
	(void)ud;
	return xmlGetPredefinedEntity(name);
}

/* Copy a libxml2 message onto one line, without the trailing newline. */
static void
one_line(char *out, size_t cap, const char *msg)
{
	size_t i, j = 0;

	for (i = 0; msg && msg[i] && j + 1 < cap; i++)
		out[j++] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
	while (j > 0 && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/*
 * libxml2's structured error handler (this context only): the first fatal
 * error is remembered for the result; errors become warnings (at most
 * MAX_XML_WARN).  Warnings of libxml2 itself are ignored.
 */
#if LIBXML_VERSION >= 21200
static void
on_error(void *ud, const xmlError *e)
#else
static void
on_error(void *ud, xmlErrorPtr e)
#endif
{
	struct apd_xml *x = ud;
	char msg[400];
	const char *text = msg;
	uint64_t line = e->line > 0 ? (uint64_t)e->line : apd_xml_line(x);

	if (e->level == XML_ERR_WARNING || e->code == XML_ERR_USER_STOP)
		return;
	one_line(msg, sizeof(msg), e->message);
	if (x->terminating && x->depth > 0) {
		/* libxml2's push parser calls a cut file "Extra content at the end" */
		struct apd_sv open = apd_xml_name(x, x->depth);

		if (x->ops->name_open)
			snprintf(msg, sizeof(msg), "document ends inside <%.*s> (%u elements left open; "
			    "truncated file?)", (int)(open.n < 200 ? open.n : 200), open.p, x->depth);
		else
			snprintf(msg, sizeof(msg), "document ends with %u element%s left open (truncated "
			    "file?)", x->depth, x->depth == 1 ? "" : "s");
	}
	if (x->ops->xml_msg)
		text = x->ops->xml_msg(x, msg);
	if (e->level == XML_ERR_FATAL && !x->fatal) {
		x->fatal = true;
		if (x->stop == STOP_NONE) {
			snprintf(x->why, sizeof(x->why), "XML error: %s", redacted(x, text));
			x->why_line = line;
		}
	}
	if (x->n_xml_warn++ < MAX_XML_WARN && x->stop != STOP_SINK)
		apd_xml_warn(x, line, "XML error: %s", text);
}

/* ---- run ------------------------------------------------------------------ */

/* Free everything apd_xml_run() set up; safe on a half-initialised state. */
static void
xml_done(struct apd_xml *x)
{
	apd_buf_done(&x->path);
	free(x->path_end);
	free(x->has_child);
	x->path_end = NULL;
	x->has_child = NULL;
	if (x->ctxt) {
		/* an entity declaration makes libxml2 build a "SAX compat" document */
		if (x->ctxt->myDoc)
			xmlFreeDoc(x->ctxt->myDoc);
		x->ctxt->myDoc = NULL;
		xmlFreeParserCtxt(x->ctxt);
		x->ctxt = NULL;
	}
}

/*
 * Hand the stream to libxml2 in FEED_CHUNK pieces until its end, a stop, a
 * fatal error or max_xml_bytes.  Returns APD_OK or the stream's failure
 * (ps->err set by the stream).
 */
static int
feed(struct apd_xml *x)
{
	const struct apd_parse *ps = x->ps;
	const void *blk;
	const char *p;
	size_t n, take;
	int srv = APD_OK;

	while (x->stop == STOP_NONE && !x->fatal) {
		srv = apd_stream_block(ps->in, &blk, &n);
		if (srv == APD_EOF) {
			x->terminating = true;
			xmlParseChunk(x->ctxt, NULL, 0, 1);
			return APD_OK;
		}
		if (srv != APD_OK)
			return srv;
		for (p = blk; n > 0 && x->stop == STOP_NONE && !x->fatal; p += take, n -= take) {
			take = n < FEED_CHUNK ? n : FEED_CHUNK;
			if (x->fed + take > ps->lim->max_xml_bytes)
				take = (size_t)(ps->lim->max_xml_bytes - x->fed);
			if (take > 0) {
				xmlParseChunk(x->ctxt, p, (int)take, 0);
				x->fed += take;
			}
			if (x->fed >= ps->lim->max_xml_bytes && n > take && x->stop == STOP_NONE &&
			    !x->fatal) {
				set_why(x, "document larger than max_xml_bytes (%llu bytes)",
				    (unsigned long long)ps->lim->max_xml_bytes);
				halt(x, STOP_BYTES, "");
				break;
			}
		}
	}
	return srv;
}

/* The result of a finished parse (see apd_xml_run); sets ps->err for APD_FAILED. */
static int
outcome(struct apd_xml *x, int srv)
{
	const struct apd_parse *ps = x->ps;
	bool abnormal = x->stop != STOP_NONE || x->fatal;

	if (x->sink_rc != APD_OK)
		return x->sink_rc;
	if (srv != APD_OK)
		return srv;                     /* the stream set ps->err */
	if (x->stop == STOP_ROOT || (abnormal && (x->emitted == 0 || !x->root_ok)))
		return apd_set_error(ps->err, APD_FAILED, "%s:%llu: %s", ps->path,
		    (unsigned long long)x->why_line,
		    redacted(x, x->why[0] ? x->why : "not well-formed XML"));
	if (!x->root_seen)
		return apd_set_error(ps->err, APD_FAILED, "%s: no root element", ps->path);
	return abnormal || x->warned ? APD_WARN : APD_OK;
}

int
apd_xml_run(struct apd_xml *x, const struct apd_xml_ops *ops, struct apd_parse *ps, void *ud)
{
	xmlSAXHandler sax;
	int rc;

	memset(x, 0, sizeof(*x));
	x->ops = ops;
	x->ps = ps;
	x->ud = ud;
	x->max_depth = ps->lim->max_xml_depth ? ps->lim->max_xml_depth : 1;
	apd_buf_init(&x->path, APD_XML_MAX_PATH);
	x->path_end = calloc((size_t)x->max_depth + 2, sizeof(*x->path_end));
	x->has_child = calloc((size_t)x->max_depth + 2, sizeof(*x->has_child));
	if (x->path_end == NULL || x->has_child == NULL) {
		xml_done(x);
		return apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	}

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
	x->ctxt = xmlCreatePushParserCtxt(&sax, x, NULL, 0, NULL);
	if (x->ctxt == NULL) {
		xml_done(x);
		return apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
	}
	/* never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE */
	xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET);
	x->ctxt->replaceEntities = 0;
	x->ctxt->loadsubset = 0;
	x->ctxt->validate = 0;

	rc = feed(x);
	/* keep what was read: the parser emits what an early stop left open */
	if (ops->flush)
		ops->flush(x);
	rc = outcome(x, rc);
	if ((rc == APD_OK || rc == APD_WARN) && ops->summary) {
		ops->summary(x);
		if (x->sink_rc != APD_OK)
			rc = x->sink_rc;
	}
	xml_done(x);
	return rc;
}

/* ---- bids ----------------------------------------------------------------- */

size_t
apd_xml_head_tag(const struct apd_probe *pr, char *win, size_t cap, const char **tag, bool *decl)
{
	const unsigned char *h = pr->head;
	size_t n = pr->len, i = 0, k = 0, t;
	bool u16 = n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == '<' && h[1] == 0));
	const char *e;

	if (decl)
		*decl = false;
	if (n == 0 || (!u16 && apd_looks_binary(h, n < 4096 ? n : 4096)))
		return 0;
	if (u16) {
		for (i = (h[0] == 0xFF) ? 2 : 0; i + 1 < n && k + 1 < cap; i += 2)
			win[k++] = (h[i + 1] == 0 && h[i] != 0) ? (char)h[i] : '?';
	} else {
		if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
			i = 3;
		for (; i < n && k + 1 < cap; i++)
			win[k++] = h[i] ? (char)h[i] : '?';
	}
	win[k] = '\0';
	if (decl && k >= 5 && memcmp(win, "<?xml", 5) == 0)
		*decl = true;
	for (i = 0;;) {
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
