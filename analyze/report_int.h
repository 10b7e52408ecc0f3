/*
 * report_int.h - what the report writers share (report_out.c, report_html.c,
 * report_md.c): a buffered writer and the Gantt items of the model.
 */
#ifndef APD_REPORT_INT_H
#define APD_REPORT_INT_H

#include "report_out.h"

#include <stdint.h>

/* Output buffered in b, flushed to f when it grows; errors are sticky. */
struct rw {
	FILE *f;
	struct apd_buf b;
	int rc;                 /* APD_OK, APD_FAILED (write), APD_FATAL (memory) */
	struct apd_error *err;
};

void rw_init(struct rw *w, FILE *f, struct apd_error *err);
/* Flush and free; returns the first error. */
int rw_done(struct rw *w);
void rw_flush(struct rw *w, bool force);
void rw_put(struct rw *w, const char *s, size_t n);
void rw_puts(struct rw *w, const char *s);
void rw_printf(struct rw *w, const char *fmt, ...) APD_PRINTF(2, 3);
void rw_html(struct rw *w, const char *s);      /* escaped; NULL writes nothing */
void rw_md(struct rw *w, const char *s);        /* escaped; NULL writes nothing */
void rw_fail(struct rw *w, int rc);

/* A column's text, "" for NULL. */
const char *rcol(sqlite3_stmt *s, int i);
/* One value of a one-row query, or NULL (caller frees). */
char *report_query_str(sqlite3 *db, const char *sql);
int64_t report_query_int(sqlite3 *db, const char *sql, int64_t dflt);

/* The verdict line: the rank-1 finding's title, or why there is none (owned). */
char *report_verdict(sqlite3 *db, bool *has_finding);
const char *report_level_name(int level);

/*
 * The Gantt chart: one item per ESP phase and per app.  An item is drawn
 * when its start and end are both known on the chart's clock: UTC when at
 * least one item has both on UTC, else the device's local clock.
 */
struct gitem {
	bool phase;             /* an ESP phase, else an app */
	char *label;
	char *outcome;
	char *title;            /* hover text */
	double s[2], e[2];      /* [0] UTC, [1] local: seconds since 1970; NAN unknown */
	double ds[2], de[2];    /* apps: the download part */
};

struct gantt {
	struct gitem *it;
	size_t n;
	int clock;              /* 0 UTC, 1 local */
	double t0, t1;          /* the axis */
	size_t drawn;
};

int gantt_load(sqlite3 *db, struct gantt *g);
bool gantt_drawn(const struct gantt *g, const struct gitem *it);
void gantt_free(struct gantt *g);

/* The page's <script type="application/json"> content (report_out.c). */
void report_page_data(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input);
/* The formats (report_html.c, report_md.c); errors are left in w. */
void report_write_html(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input);
void report_write_md(struct rw *w, sqlite3 *db, const struct report_opts *o, const char *input);

/*
 * One row of report_evidence_sql as plain text: *when (the time, or "no
 * time"), *where ("path:line", "path record N") and *what (the event's
 * first 500 bytes, the registry value, the fact, the gap), all unescaped.
 */
void report_evidence_text(sqlite3_stmt *e, struct apd_buf *when, struct apd_buf *where,
    struct apd_buf *what);

#endif /* APD_REPORT_INT_H */
