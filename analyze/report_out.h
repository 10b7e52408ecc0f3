/*
 * report_out.h - the report of an index as a file: a self-contained HTML
 * page, Markdown for tickets, or JSON (docs/report.md).
 *
 * report_write() reads everything from the index (docs/schema.md), so a
 * report made from an existing database and one made right after analyze
 * are the same.  Text from the input reaches the output only through the
 * escaping functions below: report_html_esc() for HTML text and attribute
 * values, report_md_esc() for Markdown, report_script_json() for the JSON
 * embedded in the page's <script type="application/json">.
 */
#ifndef APD_REPORT_OUT_H
#define APD_REPORT_OUT_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_error.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

enum report_format { REPORT_HTML, REPORT_MD, REPORT_JSON };

#define REPORT_MAX_EVENTS 200000     /* timeline rows in a page or a JSON report */
#define REPORT_MAX_MESSAGE 4096      /* bytes of one message kept in the timeline */

struct report_opts {
	const char *input;       /* shown in the header; NULL: meta 'input' */
	unsigned max_events;     /* timeline rows; 0: REPORT_MAX_EVENTS */
};

/* "html", "md" (or "markdown"), "json"; false for anything else. */
bool report_format_parse(const char *s, enum report_format *out);
/* From a file name's extension (.html/.htm, .md/.markdown, .json); else HTML. */
enum report_format report_format_guess(const char *path);
const char *report_format_name(enum report_format f);

/*
 * Write the report of db to f.  APD_OK; APD_FAILED when f could not be
 * written (err says why; the caller removes the partial file); APD_FATAL
 * on a query failure or when out of memory.
 */
int report_write(sqlite3 *db, enum report_format fmt, const struct report_opts *o, FILE *f,
    struct apd_error *err);

/*
 * Append s[0..n) to b escaped for HTML text and attribute values: & < > "
 * and ' become references; control characters other than tab, CR and LF,
 * and bytes that are not valid UTF-8, become U+FFFD.
 */
int report_html_esc(struct apd_buf *b, const char *s, size_t n);
/*
 * Append s[0..n) to b escaped for Markdown inline text (a table cell or a
 * list item): \ ` * _ [ ] | ~ # are backslash-escaped, < > & become
 * references, line breaks become spaces, other controls are dropped.
 */
int report_md_esc(struct apd_buf *b, const char *s, size_t n);
/*
 * Append the JSON text json[0..n) to b so that it can stand inside
 * <script type="application/json">: < > & U+2028 U+2029 become \u003c
 * \u003e \u0026 \u2028 \u2029 (they only occur inside JSON strings).
 */
int report_script_json(struct apd_buf *b, const char *json, size_t n);

#endif /* APD_REPORT_OUT_H */
