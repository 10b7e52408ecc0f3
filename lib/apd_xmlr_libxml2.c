/*
 * apd_xmlr_libxml2.c - apd_xmlr.h on libxml2's xmlTextReader.
 */
#include "apd_xmlr.h"

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct apd_xmlr {
	xmlTextReaderPtr rd;
	char *name;              /* for messages */
	bool pending_end;        /* the last START was an empty element */
	int depth;
	const char *cur;         /* name or text of the current node */
};

int
apd_xmlr_open(struct apd_xmlr **out, const char *text, size_t n, const char *name,
    struct apd_error *err)
{
	struct apd_xmlr *r;

	*out = NULL;
	if (n > (size_t)0x7FFFFFFF)
		return apd_set_error(err, APD_FAILED, "%s: too large", name);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(name)) == NULL) {
		free(r);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	xmlResetLastError();
	r->rd = xmlReaderForMemory(text, (int)n, name, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (r->rd == NULL) {
		apd_xmlr_free(r);
		return apd_set_error(err, APD_FAILED, "%s: not well-formed XML", name);
	}
	*out = r;
	return APD_OK;
}

int
apd_xmlr_next(struct apd_xmlr *r, struct apd_error *err)
{
	int rc, t;

	if (r->pending_end) {
		r->pending_end = false;
		return APD_XMLR_END;
	}
	for (;;) {
		rc = xmlTextReaderRead(r->rd);
		if (rc == 0)
			return APD_XMLR_EOF;
		if (rc < 0) {
			const xmlError *xe = xmlGetLastError();
			return apd_set_error(err, APD_FAILED, "%s:%d: not well-formed XML: %s", r->name,
			    xe ? xe->line : xmlTextReaderGetParserLineNumber(r->rd),
			    xe && xe->message ? xe->message : "parse error");
		}
		t = xmlTextReaderNodeType(r->rd);
		r->depth = xmlTextReaderDepth(r->rd);
		switch (t) {
		case XML_READER_TYPE_ELEMENT:
			r->cur = (const char *)xmlTextReaderConstLocalName(r->rd);
			r->pending_end = xmlTextReaderIsEmptyElement(r->rd) == 1;
			return APD_XMLR_START;
		case XML_READER_TYPE_END_ELEMENT:
			r->cur = (const char *)xmlTextReaderConstLocalName(r->rd);
			return APD_XMLR_END;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			r->cur = (const char *)xmlTextReaderConstValue(r->rd);
			return APD_XMLR_TEXT;
		default:
			continue;   /* comments, processing instructions, whitespace */
		}
	}
}

const char *
apd_xmlr_name(struct apd_xmlr *r)
{
	return r->cur ? r->cur : "";
}

const char *
apd_xmlr_text(struct apd_xmlr *r)
{
	return r->cur ? r->cur : "";
}

int
apd_xmlr_depth(struct apd_xmlr *r)
{
	return r->depth;
}

long
apd_xmlr_line(struct apd_xmlr *r)
{
	xmlNodePtr n = xmlTextReaderCurrentNode(r->rd);

	return n ? (long)xmlGetLineNo(n) : (long)xmlTextReaderGetParserLineNumber(r->rd);
}

char *
apd_xmlr_attr(struct apd_xmlr *r, const char *name)
{
	xmlChar *v = xmlTextReaderGetAttribute(r->rd, (const xmlChar *)name);
	char *s;

	if (v == NULL)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

void
apd_xmlr_free(struct apd_xmlr *r)
{
	if (r == NULL)
		return;
	if (r->rd)
		xmlFreeTextReader(r->rd);
	free(r->name);
	free(r);
}
