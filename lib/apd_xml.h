/*
 * apd_xml.h - the hardened, streaming XML reader the XML source parsers
 * share (MDMDiagReport.xml, results.xml).
 *
 * apd_xml_run() feeds a parse's stream, block by block, to libxml2's SAX2
 * push parser and calls the parser's callbacks for start tags, end tags and
 * text.  No tree is built.  What it takes care of, so that a format parser
 * only holds its format's logic:
 *   - hardening: XML_PARSE_NONET only (never NOENT, DTDLOAD or HUGE), only
 *     the five predefined entities, and any entity declaration stops the
 *     parse (billion laughs, XXE); the "SAX compat" document libxml2 builds
 *     for a declaration is freed;
 *   - limits: lim->max_xml_bytes (bytes handed to libxml2),
 *     lim->max_xml_depth, and APD_XML_MAX_PATH bytes of open element names;
 *   - the root element's name;
 *   - the element path and depth, for the callbacks;
 *   - libxml2's errors go to a structured handler on this context only
 *     (nothing is printed) and become warnings with line numbers (at most
 *     20), the first fatal one the reason of an APD_FAILED result; a cut
 *     file is reported as such, not as libxml2's "Extra content";
 *   - the result: APD_OK, APD_WARN or APD_FAILED (ps->err set), a sink's
 *     code, or APD_FATAL.
 *
 * A parser fills a const struct apd_xml_ops and calls apd_xml_run() with a
 * struct apd_xml (on its stack, or inside its own state); callbacks find
 * their state in x->ud and emit through apd_xml_fact/event/gap/warn, which
 * count what was emitted and stop the parse on any sink code but APD_OK.
 *
 * Documents that may hold secrets (results.xml's SasUrl) get two hooks:
 * xml_msg sees every libxml2 message before it is used (and may withhold
 * it), redact sees every message the parse emits last.
 *
 * struct apd_xml is public so it can live on the stack; callbacks may read
 * the fields marked so, everything else is private.
 */
#ifndef APD_XML_H
#define APD_XML_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_parser.h"

#include <stdbool.h>

#define APD_XML_MAX_PATH (64u * 1024)   /* "/root/a/b" of the open elements stays below this */

struct apd_xml;
struct _xmlParserCtxt;

/* What a format parser plugs in; every slot may be NULL. */
struct apd_xml_ops {
	const char *root;       /* name the root element must have */
	bool root_icase;        /* ... compared ignoring ASCII case */
	bool name_open;         /* a cut file's warning names the innermost open element */
	/* a start tag; x->depth counts it (the root is 1); attributes through apd_xml_attr() */
	void (*start)(struct apd_xml *x, const char *name);
	/* an end tag; x->depth still counts the element */
	void (*end)(struct apd_xml *x);
	/* character data or CDATA inside element x->depth, in pieces of any size */
	void (*text)(struct apd_xml *x, const char *p, size_t n);
	/* the parse is over (at the end or stopped early): emit what is still open */
	void (*flush)(struct apd_xml *x);
	/* the document was usable (APD_OK or APD_WARN so far): emit totals */
	void (*summary)(struct apd_xml *x);
	/* a libxml2 message (one line) about to become a warning: msg or a replacement */
	const char *(*xml_msg)(struct apd_xml *x, const char *msg);
	/* last look at every warning and error message: msg or a replacement */
	const char *(*redact)(const char *msg);
};

struct apd_xml {
	/* read by the callbacks */
	void *ud;                       /* the parser's state, as given to apd_xml_run() */
	unsigned depth;                 /* open elements; the root is 1 */
	int sink_rc;                    /* first non-OK sink code (APD_FATAL on OOM), else APD_OK */
	unsigned long emitted;          /* facts, events and gaps emitted */

	/* private */
	const struct apd_xml_ops *ops;
	struct apd_parse *ps;
	struct _xmlParserCtxt *ctxt;
	unsigned max_depth;
	struct apd_buf path;            /* "/root/a/b" of the open elements */
	size_t *path_end;               /* path.n after element d was pushed, [0..max_depth] */
	bool *has_child;                /* element d has a child element */
	const unsigned char **attrs;    /* libxml2's attributes during start(), 5 pointers each */
	int nattrs;
	int stop;                       /* why the parse stopped early, 0 if it did not */
	bool fatal;                     /* libxml2 reported a fatal error */
	bool root_seen, root_ok;
	bool warned;                    /* at least one warning was emitted */
	bool terminating;               /* the end of input was handed to libxml2 */
	unsigned n_xml_warn;            /* libxml2 messages passed on */
	uint64_t fed;                   /* bytes handed to libxml2 */
	char why[512];                  /* reason of the first fatal error or stop */
	uint64_t why_line;
};

/*
 * Parse ps->in with ops, ud reaching the callbacks as x->ud.  Returns
 * APD_OK; APD_WARN (warnings were emitted, or the parse stopped early after
 * something usable was emitted); APD_FAILED with ps->err set ("<path>:<line>:
 * <why>": nothing usable, a wrong root, no root); APD_FATAL; or a sink's
 * code.  Frees all it allocated; x->emitted and x->sink_rc stay readable.
 */
int apd_xml_run(struct apd_xml *x, const struct apd_xml_ops *ops, struct apd_parse *ps, void *ud);

/* Emitting from callbacks: each returns the sink's code; any but APD_OK stops the parse. */
int apd_xml_fact(struct apd_xml *x, struct apd_sv name, struct apd_sv value);
int apd_xml_event(struct apd_xml *x, const struct apd_event *ev);
int apd_xml_gap(struct apd_xml *x, struct apd_sv item, int64_t hresult, struct apd_sv reason);
/* A warning at a line, through ops->redact; the parse will return APD_WARN at best. */
int apd_xml_warn(struct apd_xml *x, uint64_t line, const char *fmt, ...) APD_PRINTF(3, 4);
/* Out of memory: sets ps->err, stops the parse, returns APD_FATAL. */
int apd_xml_oom(struct apd_xml *x);

/* Where libxml2 is: the current line (0 if unknown) and approximate byte offset. */
uint64_t apd_xml_line(const struct apd_xml *x);
uint64_t apd_xml_offset(const struct apd_xml *x);

/* The name of the open element at depth d (1..x->depth), not NUL-terminated; absent if none. */
struct apd_sv apd_xml_name(const struct apd_xml *x, unsigned d);
/* The names at depths from+1..to joined by '/', not NUL-terminated; absent if out of range. */
struct apd_sv apd_xml_path(const struct apd_xml *x, unsigned from, unsigned to);
/* Has the innermost open element no child element (so far)? */
bool apd_xml_leaf(const struct apd_xml *x);
/* Within start(): the value of the first attribute named name (ASCII case ignored), or absent. */
struct apd_sv apd_xml_attr(const struct apd_xml *x, const char *name);

/*
 * For bidders: the first start tag of an XML head, 8-bit or UTF-16LE
 * (narrowed to ASCII in win, cap bytes), after a BOM, the XML declaration,
 * comments, processing instructions, a DOCTYPE and white space.  *decl
 * tells whether the head starts with "<?xml" (decl may be NULL).  Returns
 * the tag's length in *tag (from '<' up to '>' or the end of the window),
 * 0 if there is none or the head is empty or binary.
 */
size_t apd_xml_head_tag(const struct apd_probe *pr, char *win, size_t cap, const char **tag,
    bool *decl);

#endif /* APD_XML_H */
