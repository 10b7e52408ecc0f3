/*
 * apd_buf.h - a growable byte buffer with a hard cap (curl's dynbuf idea).
 *
 * Every buffer is created with the largest size it may reach ("toobig").
 * Growing past it fails with APD_FAILED and leaves the contents as they
 * were; running out of memory fails with APD_FATAL.  The buffer owns its
 * memory; apd_buf_done() frees it and may be called twice.
 */
#ifndef APD_BUF_H
#define APD_BUF_H

#include "apd.h"

struct apd_buf {
	char *p;        /* contents, always NUL-terminated when p != NULL */
	size_t n;       /* bytes used, excluding the NUL */
	size_t cap;     /* bytes allocated */
	size_t toobig;  /* n may never reach this */
};

void apd_buf_init(struct apd_buf *b, size_t toobig);
void apd_buf_done(struct apd_buf *b);
void apd_buf_reset(struct apd_buf *b);                 /* n = 0, keeps memory */
int apd_buf_reserve(struct apd_buf *b, size_t extra);  /* room for extra more bytes */
int apd_buf_add(struct apd_buf *b, const void *p, size_t n);
int apd_buf_addc(struct apd_buf *b, char c);
int apd_buf_adds(struct apd_buf *b, const char *s);
int apd_buf_printf(struct apd_buf *b, const char *fmt, ...) APD_PRINTF(2, 3);

/* apd_buf_reserve with the common case (room enough) inline: for writers that
   fill b->p + b->n directly and then call apd_buf_set_end. */
static inline int
apd_buf_room(struct apd_buf *b, size_t extra)
{
	if (b->p && b->cap - b->n > extra)
		return APD_OK;
	return apd_buf_reserve(b, extra);
}

/* Set b's length from the end pointer o of what was written in place. */
static inline void
apd_buf_set_end(struct apd_buf *b, char *o)
{
	b->n = (size_t)(o - b->p);
	b->p[b->n] = '\0';
}

static inline struct apd_sv
apd_buf_sv(const struct apd_buf *b)
{
	return apd_sv(b->p ? b->p : "", b->n);
}

#endif /* APD_BUF_H */
