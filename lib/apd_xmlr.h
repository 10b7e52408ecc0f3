/*
 * apd_xmlr.h - a small pull reader for the XML the collector and the
 * uploader read themselves: the collection profile (collect/profile.xml),
 * the endpoint list, and Azure's Get Block List answer.
 *
 * One interface, one backend per platform, so that the code reading those
 * documents is the same in both builds:
 *   apd_xmlr_libxml2.c   libxml2's xmlTextReader (Linux and every POSIX build)
 *   apd_xmlr_xmllite.c   XmlLite, Windows' own pull parser (the Windows build)
 * Both parse without network access, without DTD processing or external
 * entities, and report malformed input as APD_FAILED with the line.
 *
 *	struct apd_xmlr *r;
 *	if (apd_xmlr_open(&r, text, n, "profile.xml", err) != APD_OK) ...
 *	while ((t = apd_xmlr_next(r, err)) > 0)
 *		if (t == APD_XMLR_START && apd_xmlr_depth(r) == 1) ...
 *	apd_xmlr_free(r);
 *
 * Every START is followed by its END, also for an empty element (<a/>).
 * Names are local names; strings are UTF-8 and owned by the reader until
 * the next call, except apd_xmlr_attr()'s, which the caller frees.
 */
#ifndef APD_XMLR_H
#define APD_XMLR_H

#include "apd.h"
#include "apd_error.h"

#define APD_XMLR_EOF   0
#define APD_XMLR_START 1   /* an element begins: name, depth, line, attributes */
#define APD_XMLR_END   2   /* it ends */
#define APD_XMLR_TEXT  3   /* character data or CDATA inside an element */

struct apd_xmlr;

/* APD_OK; APD_FAILED (not XML at all), APD_FATAL (out of memory). */
int apd_xmlr_open(struct apd_xmlr **r, const char *text, size_t n, const char *name,
    struct apd_error *err);
/* The next node (> 0), APD_XMLR_EOF, or APD_FAILED with "name:line: not well-formed XML: ...". */
int apd_xmlr_next(struct apd_xmlr *r, struct apd_error *err);
const char *apd_xmlr_name(struct apd_xmlr *r);   /* START, END */
int apd_xmlr_depth(struct apd_xmlr *r);          /* 0 for the root element */
long apd_xmlr_line(struct apd_xmlr *r);          /* of the current node, 0 if unknown */
const char *apd_xmlr_text(struct apd_xmlr *r);   /* TEXT */
/* An attribute of the current START element, malloc'd; NULL when absent. */
char *apd_xmlr_attr(struct apd_xmlr *r, const char *name);
void apd_xmlr_free(struct apd_xmlr *r);

#endif /* APD_XMLR_H */
