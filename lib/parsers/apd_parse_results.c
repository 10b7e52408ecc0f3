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
 * any buffer, libxml2 messages raised while it is open are replaced by a
 * fixed text (apd_xml_ops.xml_msg), and every warning and error message
 * passes a last filter (apd_xml_ops.redact), so the token cannot reach a
 * fact, gap, event, warning or error message.
 *
 * The document is read through apd_xml.c, with the same hardening as the
 * MDMDiagReport.xml parser: no network, no DTD, no entities (a declaration
 * stops the parse), lim->max_xml_bytes and lim->max_xml_depth, nothing
 * printed.  Fact names are documented in docs/sources/results.md.
 *
 * Only apd_parser_results is exported; everything else has file scope.
 */
#include "apd_buf.h"
#include "apd_parser.h"
#include "apd_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_VALUE    (32u * 1024)   /* text kept of one directive */

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
	struct apd_xml x;        /* the reader: depth, emitting */
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
};

/* ---- helpers ---------------------------------------------------------- */

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

/* Emit a fact; returns the sink code. */
static int
fact(struct res *m, const char *name, struct apd_sv value)
{
	return apd_xml_fact(&m->x, apd_sv_cstr(name), value);
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

/* The HRESULT attribute of the current start tag, if any: *present, and the value. */
static bool
attr_hresult(const struct apd_xml *x, bool *present, int64_t *hr)
{
	struct apd_sv v = apd_xml_attr(x, "HRESULT");
	char buf[40];

	*present = v.p != NULL;
	if (!*present || v.n >= sizeof(buf))
		return false;
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	return parse_hresult(buf, hr);
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

/* ---- callbacks of the XML reader ---------------------------------------- */

/*
 * Start tag: note an open SasUrl, classify the children of <Collection>
 * and keep a directive's HRESULT.
 */
static void
on_start(struct apd_xml *x, const char *nm)
{
	struct res *m = x->ud;
	bool present;
	int64_t hr = 0;
	bool ok;

	if (m->sas_depth == 0 && strcasecmp(nm, "SasUrl") == 0)
		m->sas_depth = x->depth;
	ok = attr_hresult(x, &present, &hr);

	if (x->depth == 1) {
		if (present && ok) {
			char hex[16];

			snprintf(hex, sizeof(hex), "0x%08X", (unsigned)(uint32_t)hr);
			fact(m, "intune.collection.hresult", apd_sv_cstr(hex));
		} else if (present) {
			apd_xml_warn(x, apd_xml_line(x), "<Collection> has an HRESULT that is not a "
			    "number");
		}
		return;
	}
	if (x->depth != 2)
		return;
	apd_buf_reset(&m->text);
	m->have_hr = present;
	m->hr_ok = ok;
	m->hr = hr;
	m->dline = apd_xml_line(x);
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
		apd_xml_oom(&m->x);
		return;
	}
	snprintf(fname, sizeof(fname), "intune.directive.%u", m->n_dir);
	if (fact(m, fname, apd_buf_sv(&m->name)) != APD_OK)
		return;
	if (m->have_hr && !m->hr_ok) {
		apd_xml_warn(&m->x, m->dline, "directive %u (<%s>) has an HRESULT that is not a number",
		    m->n_dir, m->dname);
		return;
	}
	if (!m->have_hr || m->hr == 0)
		return;
	m->n_failed++;
	snprintf(reason, sizeof(reason), "directive %u failed with HRESULT 0x%08X (%lld)", m->n_dir,
	    (unsigned)(uint32_t)m->hr, (long long)m->hr);
	apd_xml_gap(&m->x, apd_buf_sv(&m->name), (int64_t)(uint32_t)m->hr, apd_sv_cstr(reason));
}

/* End tag: emit what a child of <Collection> carried. */
static void
on_end(struct apd_xml *x)
{
	struct res *m = x->ud;
	struct apd_sv v;

	if (x->depth == 2) {
		v = trimmed(&m->text);
		switch (m->child) {
		case CH_ID:
			fact(m, "intune.collection.id", v);
			break;
		case CH_FORMAT:
			m->flattened = v.n == 9 && strncasecmp(v.p, "flattened", 9) == 0;
			fact(m, "intune.output_format", v);
			break;
		case CH_TIMEOUT:
			fact(m, "intune.client_timeout_seconds", v);
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
	if (m->sas_depth == x->depth)
		m->sas_depth = 0;
}

/* Text and CDATA of a child of <Collection>, never of SasUrl. */
static void
on_text(struct apd_xml *x, const char *p, size_t n)
{
	struct res *m = x->ud;
	size_t room;

	/* SasUrl text is never copied anywhere */
	if (x->depth != 2 || m->sas_depth || m->child == CH_OTHER || m->child == CH_NONE)
		return;
	room = MAX_VALUE - m->text.n;
	if (n > room)
		n = room;
	if (n && apd_buf_add(&m->text, p, n) == APD_FATAL)
		apd_xml_oom(x);
}

/* A libxml2 message: inside SasUrl it is replaced, so no part of a SAS token can be quoted. */
static const char *
on_xml_msg(struct apd_xml *x, const char *msg)
{
	struct res *m = x->ud;

	if (m->sas_depth)
		return "malformed XML inside <SasUrl> (details withheld: the element may hold a SAS "
		    "token)";
	return msg;
}

/* Totals at the end of a usable document. */
static void
on_summary(struct apd_xml *x)
{
	struct res *m = x->ud;
	char num[24];

	snprintf(num, sizeof(num), "%u", m->n_dir);
	fact(m, "intune.directives", apd_sv_cstr(num));
	snprintf(num, sizeof(num), "%u", m->n_failed);
	fact(m, "intune.directives_failed", apd_sv_cstr(num));
	fact(m, "intune.layout", m->flattened ? APD_SV_LIT("flattened") : APD_SV_LIT("numbered"));
}

/* ---- bid ---------------------------------------------------------------- */

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

	tl = apd_xml_head_tag(pr, win, sizeof(win), &tag, NULL);
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

static const struct apd_xml_ops res_ops = {
	.root = "Collection",
	.root_icase = false,
	.name_open = false,     /* a cut file's warning names no element */
	.start = on_start,
	.end = on_end,
	.text = on_text,
	.summary = on_summary,
	.xml_msg = on_xml_msg,
	.redact = no_sas,
};

/*
 * Parse results.xml into facts and gaps.  Returns APD_OK, APD_WARN
 * (malformed or capped; what was read is kept), APD_FAILED (nothing usable;
 * ps->err names the file and line), APD_FATAL, or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct res m;
	int rc;

	memset(&m, 0, sizeof(m));
	apd_buf_init(&m.text, MAX_VALUE + 1);
	apd_buf_init(&m.name, MAX_VALUE + 128);
	rc = apd_xml_run(&m.x, &res_ops, ps, &m);
	apd_buf_done(&m.text);
	apd_buf_done(&m.name);
	return rc;
}

const struct apd_parser apd_parser_results = {
	.name = "results",
	.kind = "intune-results",
	.bid = bid,
	.run = run,
	.note = NULL,
};
