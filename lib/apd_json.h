/*
 * apd_json.h - writing JSON (the event.data column, analyze --json).
 *
 * Only writing lives here; reading JSON documents goes through json-c
 * (apd_parse_json.c) or SQLite's JSON functions.  Strings are assumed to be
 * UTF-8 and are escaped per RFC 8259; control characters become \u00XX.
 *
 * An object is built with a struct apd_jw on a caller-owned apd_buf:
 *
 *	apd_jw_begin(&jw, &buf);
 *	apd_jw_str(&jw, "type", apd_sv_cstr("1"));
 *	apd_jw_int(&jw, "thread", 42);
 *	apd_jw_end(&jw);      // buf now holds {"type":"1","thread":42}
 *
 * apd_jw_begin_array() starts a top-level array instead; its elements are
 * written with a NULL key (apd_jw_str(&jw, NULL, v)).  apd_jw_end() closes
 * every level still open, each with the bracket that matches its opening.
 *
 * Errors (the buffer's cap) are sticky: check jw.rc once at the end.
 */
#ifndef APD_JSON_H
#define APD_JSON_H

#include "apd.h"
#include "apd_buf.h"

#include <stdbool.h>

int apd_json_escape(struct apd_buf *b, struct apd_sv s);   /* with the quotes */

struct apd_jw {
	struct apd_buf *b;
	int rc;          /* first failure, or APD_OK */
	int depth;
	bool first[16];  /* no comma needed yet, per nesting level */
	char close[16];  /* '}' or ']': what ends each nesting level */
};

void apd_jw_begin(struct apd_jw *w, struct apd_buf *b);          /* '{' */
void apd_jw_begin_array(struct apd_jw *w, struct apd_buf *b);    /* '[' */
void apd_jw_key(struct apd_jw *w, const char *key);
void apd_jw_str(struct apd_jw *w, const char *key, struct apd_sv v); /* absent -> null */
void apd_jw_int(struct apd_jw *w, const char *key, int64_t v);
void apd_jw_bool(struct apd_jw *w, const char *key, bool v);
void apd_jw_raw(struct apd_jw *w, const char *key, struct apd_sv json); /* pre-built JSON */
void apd_jw_open(struct apd_jw *w, const char *key, char bracket);   /* '{' or '[' */
void apd_jw_close(struct apd_jw *w, char bracket);                   /* '}' or ']' */
int apd_jw_end(struct apd_jw *w);             /* closes all open levels, returns rc */

#endif /* APD_JSON_H */
