/*
 * apd_evtx_xml.c - text of decoded EVTX records: element and attribute
 * text, and the record as XML in evtxexport's layout.
 *
 * evtxexport (libfwevt) writes an element as
 *   - <name attrs>text</name> when its own text is not empty (child
 *     elements, if any, are not written: libfwevt keeps an element's text
 *     or its children, and the text wins);
 *   - <name attrs> NL, its children one level deeper, </name> when it has
 *     children and no text;
 *   - <name attrs/> otherwise;
 * each on its own line, indented two spaces per level; CDATA sections and
 * processing instructions are children on their own lines.  Only & < >
 * are escaped, in text and in attribute values alike.  This file writes
 * the same, so the two compare equal line by line.
 */
#include "apd_evtx.h"

#include <stdio.h>
#include <string.h>

/* Text of one value-like node (VALUE, CHARREF, ENTREF), escaped as asked. */
static int
node_text(const struct apd_evtx_node *nd, struct apd_buf *out, enum apd_evtx_esc esc)
{
	char tmp[16];
	unsigned char u8[4];
	uint32_t u;
	size_t n;

	switch (nd->kind) {
	case APD_EVTX_VALUE:
		return apd_evtx_value_text(out, nd->type, nd->p, nd->n, esc);
	case APD_EVTX_CHARREF:
		if (esc == APD_EVTX_ESC_XML) {
			n = (size_t)snprintf(tmp, sizeof(tmp), "&#%u;", (unsigned)nd->n);
			return apd_buf_add(out, tmp, n);
		}
		u = nd->n;
		if ((u >= 0xD800 && u <= 0xDFFF) || u == 0)
			u = 0xFFFD;   /* no NUL and no lone surrogate in text */
		if (u < 0x80) {
			u8[0] = (unsigned char)u;
			return apd_evtx_value_text(out, APD_EVTX_T_UTF8, u8, 1, esc);
		}
		if (u < 0x800) {
			u8[0] = (unsigned char)(0xC0 | u >> 6);
			u8[1] = (unsigned char)(0x80 | (u & 0x3F));
			n = 2;
		} else {
			u8[0] = (unsigned char)(0xE0 | u >> 12);
			u8[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
			u8[2] = (unsigned char)(0x80 | (u & 0x3F));
			n = 3;
		}
		return apd_buf_add(out, u8, n);
	case APD_EVTX_ENTREF: {
		static const struct { const char *name; const char *ch; } ent[] = {
			{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		};
		size_t i;
		int rc;
		/* evtxexport writes the character (escaped), not the reference */
		for (i = 0; i < sizeof(ent) / sizeof(ent[0]); i++)
				if (strcmp(nd->name->s, ent[i].name) == 0)
					return apd_evtx_value_text(out, APD_EVTX_T_UTF8,
					    (const unsigned char *)ent[i].ch, 1, esc);
		if ((rc = apd_buf_addc(out, '&')) != APD_OK ||
		    (rc = apd_evtx_value_text(out, APD_EVTX_T_UTF8,
		    (const unsigned char *)nd->name->s, nd->name->n, esc)) != APD_OK)
			return rc;
		return apd_buf_addc(out, ';');
	}
	default:
		return APD_OK;
	}
}

int
apd_evtx_attr_text(const struct apd_evtx_record *r, size_t i, struct apd_buf *out,
    enum apd_evtx_esc esc)
{
	size_t j, e;
	int rc;

	if (i >= r->nnode || r->node[i].kind != APD_EVTX_ATTR)
		return APD_OK;
	e = i + 1 + r->node[i].n;
	for (j = i + 1; j < e && j < r->nnode; j++)
		if ((rc = node_text(&r->node[j], out, esc)) != APD_OK)
			return rc;
	return APD_OK;
}

/* The first content node of element i (after its attributes). */
static size_t
content_start(const struct apd_evtx_record *r, size_t i)
{
	size_t j = i + 1;

	while (j < r->nnode && r->node[j].kind == APD_EVTX_ATTR)
		j += 1 + r->node[j].n;
	return j;
}

int
apd_evtx_element_text(const struct apd_evtx_record *r, size_t i, struct apd_buf *out,
    enum apd_evtx_esc esc)
{
	size_t j, e;
	int rc;

	if (i >= r->nnode || r->node[i].kind != APD_EVTX_OPEN)
		return APD_OK;
	e = r->node[i].n;
	for (j = content_start(r, i); j < e; j++) {
		const struct apd_evtx_node *nd = &r->node[j];
		if (nd->kind == APD_EVTX_OPEN) {
			j = nd->n;
			continue;
		}
		if ((rc = node_text(nd, out, esc)) != APD_OK)
			return rc;
	}
	return APD_OK;
}

static int
indent(struct apd_buf *out, unsigned depth)
{
	static const char sp[] = "                                                                ";
	int rc;

	while (depth > 32) {
		if ((rc = apd_buf_add(out, sp, 64)) != APD_OK)
			return rc;
		depth -= 32;
	}
	return apd_buf_add(out, sp, 2 * depth);
}

static int render_node(const struct apd_evtx_record *r, size_t i, unsigned depth,
    struct apd_buf *out);

static int
render_element(const struct apd_evtx_record *r, size_t i, unsigned depth, struct apd_buf *out)
{
	const struct apd_evtx_node *nd = &r->node[i];
	size_t j, e = nd->n, cs, mark;
	bool children = false;
	int rc;

	if ((rc = indent(out, depth)) != APD_OK || (rc = apd_buf_addc(out, '<')) != APD_OK ||
	    (rc = apd_buf_add(out, nd->name->s, nd->name->n)) != APD_OK)
		return rc;
	for (j = i + 1; j < r->nnode && r->node[j].kind == APD_EVTX_ATTR; j += 1 + r->node[j].n) {
		if ((rc = apd_buf_addc(out, ' ')) != APD_OK ||
		    (rc = apd_buf_add(out, r->node[j].name->s, r->node[j].name->n)) != APD_OK ||
		    (rc = apd_buf_add(out, "=\"", 2)) != APD_OK ||
		    (rc = apd_evtx_attr_text(r, j, out, APD_EVTX_ESC_XML)) != APD_OK ||
		    (rc = apd_buf_addc(out, '"')) != APD_OK)
			return rc;
	}
	cs = j;
	/* the element's own text, written straight after '>' */
	if ((rc = apd_buf_addc(out, '>')) != APD_OK)
		return rc;
	mark = out->n;
	for (j = cs; j < e; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind == APD_EVTX_OPEN) {
			children = true;
			j = c->n;
		} else if (c->kind == APD_EVTX_CDATA || c->kind == APD_EVTX_PI) {
			children = true;
		} else if ((rc = node_text(c, out, APD_EVTX_ESC_XML)) != APD_OK) {
			return rc;
		}
	}
	if (out->n > mark) {
		if ((rc = apd_buf_add(out, "</", 2)) != APD_OK ||
		    (rc = apd_buf_add(out, nd->name->s, nd->name->n)) != APD_OK)
			return rc;
		return apd_buf_add(out, ">\n", 2);
	}
	out->n = mark - 1;   /* take the '>' back */
	out->p[out->n] = '\0';
	if (!children)
		return apd_buf_add(out, "/>\n", 3);
	if ((rc = apd_buf_add(out, ">\n", 2)) != APD_OK)
		return rc;
	for (j = cs; j < e; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN && c->kind != APD_EVTX_CDATA && c->kind != APD_EVTX_PI)
			continue;
		if ((rc = render_node(r, j, depth + 1, out)) != APD_OK)
			return rc;
		if (c->kind == APD_EVTX_OPEN)
			j = c->n;
	}
	if ((rc = indent(out, depth)) != APD_OK || (rc = apd_buf_add(out, "</", 2)) != APD_OK ||
	    (rc = apd_buf_add(out, nd->name->s, nd->name->n)) != APD_OK)
		return rc;
	return apd_buf_add(out, ">\n", 2);
}

static int
render_node(const struct apd_evtx_record *r, size_t i, unsigned depth, struct apd_buf *out)
{
	const struct apd_evtx_node *nd = &r->node[i];
	int rc;

	switch (nd->kind) {
	case APD_EVTX_OPEN:
		return render_element(r, i, depth, out);
	case APD_EVTX_CDATA:
		if ((rc = indent(out, depth)) != APD_OK ||
		    (rc = apd_buf_add(out, "<![CDATA[", 9)) != APD_OK ||
		    (rc = apd_buf_add(out, nd->p, nd->n)) != APD_OK)
			return rc;
		return apd_buf_add(out, "]]>\n", 4);
	case APD_EVTX_PI:
		if ((rc = indent(out, depth)) != APD_OK || (rc = apd_buf_add(out, "<?", 2)) != APD_OK ||
		    (rc = apd_buf_add(out, nd->name->s, nd->name->n)) != APD_OK ||
		    (rc = apd_buf_addc(out, ' ')) != APD_OK ||
		    (rc = apd_buf_add(out, nd->p, nd->n)) != APD_OK)
			return rc;
		return apd_buf_add(out, "?>\n", 3);
	default:
		return APD_OK;
	}
}

int
apd_evtx_render_xml(const struct apd_evtx_record *r, struct apd_buf *out)
{
	size_t i;
	int rc;

	for (i = 0; i < r->nnode; i++) {
		const struct apd_evtx_node *nd = &r->node[i];
		if (nd->depth != 0 || (nd->kind != APD_EVTX_OPEN && nd->kind != APD_EVTX_CDATA &&
		    nd->kind != APD_EVTX_PI))
			continue;
		if ((rc = render_node(r, i, 0, out)) != APD_OK)
			return rc;
		if (nd->kind == APD_EVTX_OPEN)
			i = nd->n;
	}
	return apd_buf_addc(out, '\n');
}
