/*
 * apd_parse_cmtrace.c - CMTrace / IME logs (DOMAIN.md section 4).
 *
 *	<![LOG[message]LOG]!><time="HH:MM:SS.fffffff[+-bias]" date="M-D-YYYY"
 *	    component="c" context="" type="1" thread="12" file="">
 *
 * One event per entry.  An entry starts at every "<![LOG[" (even in the
 * middle of a line), its message runs to "]LOG]!>" and may span lines, and
 * the metadata after it ends at the first '>' outside quotes.  Damage is
 * kept, never dropped:
 *   - an entry cut by the next "<![LOG[" or by the end of the file keeps its
 *     partial message, has no timestamp and is flagged "truncated";
 *   - text outside any entry (an orphan tail whose opening went missing,
 *     debris of interleaved writes) becomes an event flagged "fragment",
 *     with the metadata of its "]LOG]!>" if it has one;
 *   - a message longer than lim->max_record is cut there;
 *   - bad metadata keeps the entry without a timestamp;
 * and each of these emits a warning naming the line, so run() returns
 * APD_WARN.
 *
 * Streaming: blocks from apd_stream_block() are scanned in place.  An entry
 * that lies inside one block is parsed and emitted without copying; only an
 * entry that crosses a block boundary is gathered in a carry buffer, which
 * is bounded by max_record plus a fixed slack.  Scanning looks for '!', the
 * byte both markers ("<![LOG[" and "]LOG]!>") contain, with memchr().
 *
 * Only apd_parser_cmtrace is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_text.h"
#include "apd_time.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define OPEN_TAG   "<![LOG["
#define CLOSE_TAG  "]LOG]!>"
#define TAG_LEN    7

#define META_MAX   4096u          /* metadata after "]LOG]!>", up to its '>' */
#define CHUNK      4096u          /* bytes added to the carry buffer at a time */
#define SLACK      (64u * 1024)   /* carry growth past max_record before compacting */
#define BID_WINDOW 4096u          /* bytes of the head that bid() and run() inspect */

/* How the scanner ended an entry. */
enum end_kind {
	END_META = 1,   /* metadata closed by '>' (the normal case) */
	END_EOL,        /* metadata ran into CR or LF before its '>' */
	END_NEXT,       /* the next "<![LOG[" began first (interleaved write) */
	END_EOF,        /* the input ended */
	END_METAMAX     /* metadata longer than META_MAX */
};

enum scan_state { S_START, S_MSG, S_META };

/*
 * Scanner state for one entry.  Offsets are relative to the entry's first
 * byte in whatever contiguous buffer holds it (a block, or the carry
 * buffer), so the state survives the move from one to the other.
 */
struct scan {
	enum scan_state st;
	bool opened;          /* began with "<![LOG[" (else: a fragment) */
	bool closed;          /* "]LOG]!>" seen */
	bool inq;             /* inside a quoted metadata value */
	bool compacted;       /* message bytes past max_record were dropped */
	bool dropped_text;    /* ... and some of them were not NUL or a line end */
	enum end_kind end_kind;
	size_t pos;           /* where scanning resumes */
	size_t msg_beg;       /* message start (7 or 0) */
	size_t msg_end;       /* message end: the closing tag, or where the entry ended */
	size_t meta_beg;      /* just after "]LOG]!>" */
	size_t meta_end;      /* after the metadata's '>' or where it was cut */
	size_t end;           /* length of the entry */
	uint64_t dropped_nl;  /* line feeds in the dropped bytes */
	uint64_t dropped;     /* bytes dropped by compaction */
};

enum attr { A_TIME, A_DATE, A_COMPONENT, A_CONTEXT, A_TYPE, A_THREAD, A_FILE, A_N };

/* Everything one run() needs; lives on run()'s stack. */
struct cm {
	struct apd_parse *ps;
	size_t max_record;
	uint64_t line;            /* line number at the scan position (1-based) */
	bool spanning;            /* the current entry is gathered in carry */
	bool warned;
	struct scan sc;
	struct apd_event ev;      /* reused: constant fields are set once */
	uint64_t ent_off, ent_line;
	struct apd_buf carry;     /* an entry that crosses block boundaries */
	struct apd_buf conv;      /* a message transcoded from Windows-1252 */
	struct apd_buf data;      /* event.data JSON */
	struct apd_buf fld[A_N];  /* metadata values transcoded from Windows-1252 */
	/* the last date seen, parsed: consecutive entries share it */
	char date_raw[16];
	size_t date_len;
	bool date_ok;
	int y;
	unsigned mo, d;
	char date_fmt[11];        /* "YYYY-MM-DD " of that date */
};

/* Bytes that stop the metadata scan: quote, '>', '<', CR, LF. */
static const unsigned char meta_stop[256] = {
	['"'] = 1, ['>'] = 1, ['<'] = 1, ['\r'] = 1, ['\n'] = 1,
};

/* Line feeds in p[0..n). */
static uint64_t
count_nl(const unsigned char *p, size_t n)
{
	const unsigned char *e = p + n, *q;
	uint64_t k = 0;

	while (p < e && (q = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		k++;
		p = q + 1;
	}
	return k;
}

/* Does b[i..i+7) hold "<![LOG["?  The caller guarantees i + 7 <= n. */
static bool
is_open(const unsigned char *b, size_t i)
{
	return memcmp(b + i, OPEN_TAG, TAG_LEN) == 0;
}

/* Start scanning a new entry. */
static void
scan_init(struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->st = S_START;
}

/*
 * Advance the scanner over b[0..n), the entry's bytes so far.  Returns true
 * when the entry's end is known (sc->end, sc->end_kind are set), false when
 * more bytes are needed.  With eof set it always returns true.
 */
static bool
scan_step(struct scan *sc, const unsigned char *b, size_t n, bool eof)
{
	const unsigned char *q;
	size_t i, lim, stop, m;

	if (sc->st == S_START) {
		m = n < TAG_LEN ? n : TAG_LEN;
		if (memcmp(b, OPEN_TAG, m) == 0 && m < TAG_LEN && !eof)
			return false;
		sc->opened = m == TAG_LEN && memcmp(b, OPEN_TAG, TAG_LEN) == 0;
		sc->msg_beg = sc->opened ? TAG_LEN : 0;
		sc->pos = sc->msg_beg;
		sc->st = S_MSG;
	}
	if (sc->st == S_MSG) {
		for (;;) {
			q = sc->pos < n ? memchr(b + sc->pos, '!', n - sc->pos) : NULL;
			if (q == NULL) {
				sc->pos = n;
				if (!eof)
					return false;
				sc->msg_end = sc->end = n;
				sc->end_kind = END_EOF;
				return true;
			}
			i = (size_t)(q - b);
			/* "]LOG]!>": '!' at 5 */
			if (i + 1 >= n && !eof) {
				sc->pos = i;
				return false;
			}
			if (i + 1 < n && i >= sc->msg_beg + 5 && b[i + 1] == '>' &&
			    memcmp(b + i - 5, "]LOG]", 5) == 0) {
				sc->closed = true;
				sc->msg_end = i - 5;
				sc->meta_beg = sc->pos = i + 2;
				sc->st = S_META;
				break;
			}
			/* "<![LOG[": '!' at 1 */
			if (i >= sc->msg_beg + 1 && b[i - 1] == '<') {
				if (i + 6 > n && !eof) {
					sc->pos = i;
					return false;
				}
				if (i + 6 <= n && is_open(b, i - 1)) {
					sc->msg_end = sc->end = i - 1;
					sc->end_kind = END_NEXT;
					return true;
				}
			}
			sc->pos = i + 1;
		}
	}
	/* S_META */
	lim = sc->meta_beg + META_MAX;
	stop = n < lim ? n : lim;
	for (;;) {
		i = sc->pos;
		while (i < stop && !meta_stop[b[i]])
			i++;
		sc->pos = i;
		if (i >= lim) {
			sc->meta_end = sc->end = lim;
			sc->end_kind = END_METAMAX;
			return true;
		}
		if (i >= n) {
			if (!eof)
				return false;
			sc->meta_end = sc->end = n;
			sc->end_kind = END_EOF;
			return true;
		}
		switch (b[i]) {
		case '"':
			sc->inq = !sc->inq;
			break;
		case '>':
			if (!sc->inq) {
				sc->meta_end = sc->end = i + 1;
				sc->end_kind = END_META;
				return true;
			}
			break;
		case '<':
			if (i + TAG_LEN > n && !eof)
				return false;
			if (i + TAG_LEN <= n && is_open(b, i)) {
				sc->meta_end = sc->end = i;
				sc->end_kind = END_NEXT;
				return true;
			}
			break;
		default:   /* CR or LF */
			sc->meta_end = sc->end = i;
			sc->end_kind = END_EOL;
			return true;
		}
		sc->pos = i + 1;
	}
}

/* Set up the per-run state.  Buffers allocate lazily, so this cannot fail. */
static void
cm_init(struct cm *c, struct apd_parse *ps, const struct apd_limits *lim)
{
	size_t keep, i;

	memset(c, 0, sizeof(*c));
	c->ps = ps;
	c->max_record = lim->max_record;
	c->line = 1;
	apd_event_init(&c->ev);
	keep = c->max_record;
	if (keep > SIZE_MAX / 4 - SLACK - 4 * CHUNK - 2 * META_MAX)
		keep = SIZE_MAX / 4 - SLACK - 4 * CHUNK - 2 * META_MAX;
	apd_buf_init(&c->carry, keep + SLACK + 4 * CHUNK + 2 * META_MAX);
	apd_buf_init(&c->conv, 3 * keep + 16);
	apd_buf_init(&c->data, 16 * META_MAX);
	for (i = 0; i < A_N; i++)
		apd_buf_init(&c->fld[i], 3 * META_MAX + 16);
}

/* Free what cm_init() and the run allocated. */
static void
cm_done(struct cm *c)
{
	size_t i;

	apd_buf_done(&c->carry);
	apd_buf_done(&c->conv);
	apd_buf_done(&c->data);
	for (i = 0; i < A_N; i++)
		apd_buf_done(&c->fld[i]);
}

/*
 * Emit a warning about the current entry.  Returns APD_OK or the sink's
 * code.
 */
static int APD_PRINTF(2, 3)
warn(struct cm *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->warned = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return apd_emit_warn(c->ps->sink, c->ent_line, c->ent_off, "line %llu: %s",
	    (unsigned long long)c->ent_line, msg);
}

/* Copy up to 40 bytes of v into out as printable ASCII, for a warning. */
static const char *
show(char out[48], struct apd_sv v)
{
	size_t i, n = v.n < 40 ? v.n : 40;

	for (i = 0; i < n; i++)
		out[i] = v.p[i] >= 0x20 && v.p[i] < 0x7F ? v.p[i] : '?';
	out[n] = '\0';
	return out;
}

/* Parse 1..max decimal digits at *p; false if there are none. */
static bool
digits(const char **p, const char *e, unsigned max, unsigned *out, unsigned *nd)
{
	unsigned v = 0, k = 0;

	while (*p < e && k < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		k++;
	}
	*out = v;
	if (nd)
		*nd = k;
	return k > 0;
}

/* Write v as exactly n decimal digits (zero-padded) at out. */
static void
put_digits(char *out, unsigned v, unsigned n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * "M-D-YYYY" (padding optional) into c->y/mo/d and c->date_fmt, cached
 * across entries.  Returns true if the date is valid.
 */
static bool
parse_date(struct cm *c, struct apd_sv v)
{
	const char *p = v.p, *e = v.p + v.n;
	unsigned mo, d, y, nd;
	int64_t us;

	if (v.n == c->date_len && v.n && memcmp(v.p, c->date_raw, v.n) == 0)
		return c->date_ok;
	c->date_ok = false;
	c->date_len = 0;
	if (!digits(&p, e, 2, &mo, NULL) || p >= e || *p++ != '-' ||
	    !digits(&p, e, 2, &d, NULL) || p >= e || *p++ != '-' ||
	    !digits(&p, e, 4, &y, &nd) || nd != 4 || p != e ||
	    apd_civil_to_us((int)y, mo, d, 0, 0, 0, 0, &us) != 0)
		goto out;
	c->date_ok = true;
	c->y = (int)y;
	c->mo = mo;
	c->d = d;
	put_digits(c->date_fmt, y, 4);
	c->date_fmt[4] = '-';
	put_digits(c->date_fmt + 5, mo, 2);
	c->date_fmt[7] = '-';
	put_digits(c->date_fmt + 8, d, 2);
	c->date_fmt[10] = ' ';
out:
	if (v.n <= sizeof(c->date_raw)) {
		memcpy(c->date_raw, v.p, v.n);
		c->date_len = v.n;
	}
	return c->date_ok;
}

struct ctime {
	unsigned h, mi, s, frac, fd;   /* fd: fraction digits as written, 0-7 */
	bool has_bias;
	int bias;                      /* minutes, UTC = local + bias */
};

/*
 * ts_local of the cached date and t: the text apd_format_local() writes
 * ("YYYY-MM-DD HH:MM:SS[.f...]", the fraction with its digits as given),
 * without snprintf, which costs a fifth of the parse.  out holds 28 bytes;
 * returns the length.
 */
static size_t
format_local(const struct cm *c, const struct ctime *t, char out[28])
{
	memcpy(out, c->date_fmt, 11);
	put_digits(out + 11, t->h, 2);
	out[13] = ':';
	put_digits(out + 14, t->mi, 2);
	out[16] = ':';
	put_digits(out + 17, t->s, 2);
	if (t->fd == 0)
		return 19;
	out[19] = '.';
	put_digits(out + 20, t->frac, t->fd);
	return 20 + t->fd;
}

/* "H:MM:SS[.f{1,7}][(+|-)bias]" into *t.  Returns false if malformed. */
static bool
parse_time(struct apd_sv v, struct ctime *t)
{
	const char *p = v.p, *e = v.p + v.n;
	unsigned b, nd;
	bool neg;

	memset(t, 0, sizeof(*t));
	if (!digits(&p, e, 2, &t->h, NULL) || p >= e || *p++ != ':' ||
	    !digits(&p, e, 2, &t->mi, NULL) || p >= e || *p++ != ':' ||
	    !digits(&p, e, 2, &t->s, NULL))
		return false;
	if (p < e && *p == '.') {
		p++;
		if (!digits(&p, e, 7, &t->frac, &t->fd))
			return false;
	}
	if (p < e && (*p == '+' || *p == '-')) {
		neg = *p++ == '-';
		if (!digits(&p, e, 4, &b, &nd) || b > 24 * 60)
			return false;
		t->has_bias = true;
		t->bias = neg ? -(int)b : (int)b;
	}
	return p == e && t->h <= 23 && t->mi <= 59 && t->s <= 60;
}

/*
 * Split metadata `<name="value" ...>` into at[].  Unknown attributes are
 * skipped.  Returns true if the text is well formed up to and including its
 * '>'; attributes read before a flaw are kept either way.
 */
static bool
parse_meta(const unsigned char *m, size_t n, struct apd_sv at[A_N])
{
	const char *p = (const char *)m, *e = p + n, *name, *q;
	size_t nl;
	int a;

	if (p >= e || *p++ != '<')
		return false;
	for (;;) {
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= e)
			return false;
		if (*p == '>')
			return p + 1 == e;
		name = p;
		while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			p++;
		nl = (size_t)(p - name);
		if (nl == 0 || e - p < 2 || p[0] != '=' || p[1] != '"')
			return false;
		p += 2;
		for (q = p; q < e && *q != '"'; q++)   /* values are short: no memchr call */
			;
		if (q == e)
			return false;
		a = -1;
		switch (nl) {
		case 4:
			if (memcmp(name, "time", 4) == 0)
				a = A_TIME;
			else if (memcmp(name, "date", 4) == 0)
				a = A_DATE;
			else if (memcmp(name, "type", 4) == 0)
				a = A_TYPE;
			else if (memcmp(name, "file", 4) == 0)
				a = A_FILE;
			break;
		case 6:
			if (memcmp(name, "thread", 6) == 0)
				a = A_THREAD;
			break;
		case 7:
			if (memcmp(name, "context", 7) == 0)
				a = A_CONTEXT;
			break;
		case 9:
			if (memcmp(name, "component", 9) == 0)
				a = A_COMPONENT;
			break;
		default:
			break;
		}
		if (a >= 0 && at[a].p == NULL)
			at[a] = apd_sv(p, (size_t)(q - p));
		p = q + 1;
	}
}

/* CMTrace type to an event level: 0/1 info, 2 warning, 3 error, else none. */
static int
level_from_type(struct apd_sv t)
{
	if (t.p == NULL || t.n != 1)
		return APD_LVL_NONE;
	switch (t.p[0]) {
	case '0':
	case '1':
		return APD_LVL_INFO;
	case '2':
		return APD_LVL_WARNING;
	case '3':
		return APD_LVL_ERROR;
	default:
		return APD_LVL_NONE;
	}
}

/*
 * Make *v valid UTF-8, reading it as Windows-1252 if it is not; the result
 * may live in b.  Returns APD_OK or the apd_buf code.
 */
static int
to_utf8(struct apd_buf *b, struct apd_sv *v)
{
	int rc;

	if (v->p == NULL || apd_utf8_valid(v->p, v->n))
		return APD_OK;
	apd_buf_reset(b);
	if ((rc = apd_cp1252_to_utf8(b, v->p, v->n)) != APD_OK)
		return rc;
	*v = apd_buf_sv(b);
	return APD_OK;
}

/*
 * Is p[0..n) nothing but NUL bytes and line ends?  *nul tells whether there
 * was a NUL.
 */
static bool
only_nul(const unsigned char *p, size_t n, bool *nul)
{
	size_t i;

	*nul = false;
	for (i = 0; i < n; i++) {
		if (p[i] == 0)
			*nul = true;
		else if (p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true;
}

/*
 * The length of p[0..n) without a UTF-8 sequence cut at its end.  Looks
 * only at the last bytes, so it gives the same answer however the entry
 * was buffered.
 */
static size_t
utf8_whole(const unsigned char *p, size_t n)
{
	size_t i, need;

	for (i = 1; i <= 3 && i <= n; i++) {
		if ((p[n - i] & 0xC0) == 0x80)
			continue;
		need = p[n - i] >= 0xF0 ? 4 : p[n - i] >= 0xE0 ? 3 : p[n - i] >= 0xC0 ? 2 : 1;
		return need > i ? n - i : n;
	}
	return n;
}

/*
 * A scratch buffer failed (its cap, or memory): describe it.  Returns rc.
 * The caps are sized so that this does not happen short of memory.
 */
static int
buf_fail(struct cm *c, int rc)
{
	return apd_set_error(c->ps->err, rc, "%s: line %llu: %s while decoding an entry",
	    c->ps->path, (unsigned long long)c->ent_line,
	    rc == APD_FATAL ? "out of memory" : "buffer limit reached");
}

/*
 * Turn the scanned entry at b (c->sc) into an event and its warnings.
 * Returns APD_OK, or the sink's code, or APD_FATAL/APD_FAILED from a buffer
 * (with ps->err set).
 */
static int
emit(struct cm *c, const unsigned char *b)
{
	const struct scan *sc = &c->sc;
	struct apd_event *ev = &c->ev;
	struct apd_sv at[A_N];
	struct apd_sv msg;
	struct apd_jw jw;
	struct ctime t;
	char loc[32], s1[48], s2[48];
	size_t mlen, i;
	bool cut, nul, meta_ok = false, time_ok = false, date_ok = false;
	bool fragment = !sc->opened;
	int64_t us;
	int rc;

	c->line = c->ent_line + count_nl(b, sc->end) + sc->dropped_nl;
	/* explicit stores: zeroing the array and the event per entry compiles
	   to "rep stos", whose start-up cost showed in profiles */
	for (i = 0; i < A_N; i++)
		at[i] = APD_SV_NULL;

	/* nothing but NUL bytes outside an entry: a crash left unwritten space */
	if (fragment && !sc->closed && !sc->dropped_text && only_nul(b, sc->end, &nul) && nul)
		return warn(c, "%llu bytes of NUL padding skipped (unwritten log space)",
		    (unsigned long long)(sc->end + sc->dropped));
	/* a byte order mark where logs were concatenated: not text either */
	if (fragment && !sc->closed && sc->end >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0 &&
	    only_nul(b + 3, sc->end - 3, &nul) && !nul)
		return warn(c, "byte order mark inside the file skipped (concatenated logs?)");

	/* the message: cut at max_record (not inside a UTF-8 sequence), and an
	   entry without its closing tag loses the line end before the next one */
	mlen = sc->msg_end - sc->msg_beg;
	cut = sc->compacted || mlen > c->max_record;
	if (cut)
		mlen = utf8_whole(b + sc->msg_beg, c->max_record);
	if (!sc->closed)
		while (mlen > 0 && (b[sc->msg_beg + mlen - 1] == '\n' ||
		    b[sc->msg_beg + mlen - 1] == '\r' || b[sc->msg_beg + mlen - 1] == 0))
			mlen--;
	msg = apd_sv((const char *)b + sc->msg_beg, mlen);
	if ((rc = to_utf8(&c->conv, &msg)) != APD_OK)
		return buf_fail(c, rc);

	ev->ts_utc = APD_TS_NONE;
	ev->ts_local = APD_SV_NULL;
	ev->ts_local_us = APD_TS_NONE;
	ev->tz = APD_TZ_NONE;
	ev->level = APD_LVL_NONE;
	ev->component = APD_SV_NULL;
	ev->thread = APD_SV_NULL;
	ev->message = msg;
	ev->offset = c->ent_off;
	ev->line = c->ent_line;

	if (sc->closed) {
		meta_ok = parse_meta(b + sc->meta_beg, sc->meta_end - sc->meta_beg, at);
		if (!apd_utf8_valid((const char *)b + sc->meta_beg, sc->meta_end - sc->meta_beg))
			for (i = 0; i < A_N; i++)
				if ((rc = to_utf8(&c->fld[i], &at[i])) != APD_OK)
					return buf_fail(c, rc);
		if (at[A_TIME].p && at[A_DATE].p) {
			time_ok = parse_time(at[A_TIME], &t);
			date_ok = parse_date(c, at[A_DATE]);
		}
		if (time_ok && date_ok) {
			unsigned usec = t.fd <= 6 ? t.frac : t.frac / 10;

			for (i = t.fd; i < 6; i++)
				usec *= 10;
			ev->ts_local = apd_sv(loc, format_local(c, &t, loc));
			if (apd_civil_to_us(c->y, c->mo, c->d, t.h, t.mi, t.s, usec, &us) != 0) {
				ev->tz = APD_TZ_LOCAL;   /* kept as written; no time reads it */
			} else if (t.has_bias) {
				ev->ts_utc = us + (int64_t)t.bias * 60 * APD_US_PER_SEC;
				ev->tz = APD_TZ_BIAS;
			} else {
				ev->ts_local_us = us;    /* what apd_parse_iso reads from ts_local */
				ev->tz = APD_TZ_LOCAL;
			}
		}
		ev->component = at[A_COMPONENT];
		ev->thread = at[A_THREAD];
		ev->level = level_from_type(at[A_TYPE]);
	}

	apd_buf_reset(&c->data);
	apd_jw_begin(&jw, &c->data);
	if (at[A_TYPE].p)
		apd_jw_str(&jw, "type", at[A_TYPE]);
	if (at[A_CONTEXT].n)
		apd_jw_str(&jw, "context", at[A_CONTEXT]);
	if (at[A_FILE].n)
		apd_jw_str(&jw, "file", at[A_FILE]);
	if (fragment)
		apd_jw_bool(&jw, "fragment", true);
	if (cut || !sc->closed)
		apd_jw_bool(&jw, "truncated", true);
	if ((rc = apd_jw_end(&jw)) != APD_OK)
		return buf_fail(c, rc);
	ev->data = apd_buf_sv(&c->data);

	if ((rc = apd_emit_event(c->ps->sink, ev)) != APD_OK)
		return rc;

	/* warnings, after the event they describe */
	rc = APD_OK;
	if (fragment)
		rc = warn(c, "text outside any entry (its \"<![LOG[\" is missing); kept as a fragment");
	if (rc == APD_OK && !sc->closed && sc->end_kind == END_NEXT && !fragment)
		rc = warn(c, "entry cut by the next \"<![LOG[\" before its \"]LOG]!>\" "
		    "(interleaved write); kept without a timestamp");
	if (rc == APD_OK && !sc->closed && sc->end_kind == END_EOF)
		rc = warn(c, "entry truncated at the end of the file; kept without a timestamp");
	if (rc == APD_OK && cut)
		rc = warn(c, "entry longer than the record limit of %zu bytes; message cut",
		    c->max_record);
	if (rc != APD_OK || !sc->closed)
		return rc;
	switch (sc->end_kind) {
	case END_NEXT:
		rc = warn(c, "metadata cut by the next \"<![LOG[\" (interleaved write)");
		break;
	case END_EOL:
		rc = warn(c, "metadata not closed by '>' before the end of the line");
		break;
	case END_EOF:
		rc = warn(c, "metadata truncated at the end of the file");
		break;
	case END_METAMAX:
		rc = warn(c, "metadata longer than %u bytes", META_MAX);
		break;
	default:
		if (!meta_ok)
			rc = warn(c, "malformed metadata after \"]LOG]!>\"");
		break;
	}
	if (rc != APD_OK)
		return rc;
	if (sc->end_kind == END_META || at[A_TIME].p || at[A_DATE].p) {
		if (at[A_TIME].p == NULL || at[A_DATE].p == NULL)
			rc = warn(c, "metadata lacks time or date; kept without a timestamp");
		else if (!time_ok)
			rc = warn(c, "bad time \"%s\"; kept without a timestamp", show(s1, at[A_TIME]));
		else if (!date_ok)
			rc = warn(c, "bad date \"%s\" (time \"%s\"); kept without a timestamp",
			    show(s1, at[A_DATE]), show(s2, at[A_TIME]));
	}
	return rc;
}

/*
 * Drop message bytes past max_record from an entry held in b[0..n)
 * (the carry buffer, or a block about to be copied into it) once it is
 * SLACK bytes longer than that, keeping the first max_record bytes of the
 * message and what the scanner still needs.  Positions in c->sc move down.
 * Returns the offset from which the kept tail starts, or 0 if nothing is
 * dropped; *head gets the length of the kept head.
 */
static size_t
compact_at(struct cm *c, const unsigned char *b, size_t n, size_t *head)
{
	struct scan *sc = &c->sc;
	size_t keep = sc->msg_beg + c->max_record, from, shift;
	bool nul;

	if (sc->st == S_START || keep < c->max_record || keep > SIZE_MAX - SLACK ||
	    n <= keep + SLACK)
		return 0;
	if (sc->st == S_MSG)
		from = sc->pos >= 8 ? sc->pos - 8 : 0;   /* the scanner looks back 6 bytes */
	else
		from = sc->msg_end;                      /* keep "]LOG]!>" and the metadata */
	if (from <= keep)
		return 0;
	sc->dropped_nl += count_nl(b + keep, from - keep);
	if (!sc->dropped_text && !only_nul(b + keep, from - keep, &nul))
		sc->dropped_text = true;
	shift = from - keep;
	sc->dropped += shift;
	sc->pos -= shift;
	if (sc->st == S_META) {
		sc->msg_end -= shift;
		sc->meta_beg -= shift;
	}
	sc->compacted = true;
	*head = keep;
	return from;
}

/* Compact the carry buffer in place (see compact_at). */
static void
carry_compact(struct cm *c)
{
	size_t head, from;

	from = compact_at(c, (const unsigned char *)c->carry.p, c->carry.n, &head);
	if (from == 0)
		return;
	memmove(c->carry.p + head, c->carry.p + from, c->carry.n - from);
	c->carry.n = head + (c->carry.n - from);
	c->carry.p[c->carry.n] = '\0';
}

/*
 * Start gathering an entry whose scanned bytes b[0..n) reach the end of a
 * block.  Returns APD_OK or the apd_buf code.
 */
static int
carry_start(struct cm *c, const unsigned char *b, size_t n)
{
	size_t head, from;
	int rc;

	apd_buf_reset(&c->carry);
	c->spanning = true;
	from = compact_at(c, b, n, &head);
	if (from == 0)
		return apd_buf_add(&c->carry, b, n);
	if ((rc = apd_buf_add(&c->carry, b, head)) != APD_OK)
		return rc;
	return apd_buf_add(&c->carry, b + from, n - from);
}

static int feed(struct cm *c, const unsigned char *p, size_t n, uint64_t off);

/*
 * The spanning entry ended at carry offset sc.end, but the last c0 bytes
 * before the current block position were in carry only; re-feed the bytes
 * of carry[end..c0), which belong to what follows.  Returns APD_OK or an
 * error code.
 */
static int
refeed(struct cm *c, size_t c0, uint64_t off)
{
	unsigned char tmp[2 * TAG_LEN + 2];
	size_t n = c0 - c->sc.end;

	/* only look-ahead bytes can be left: at most 7 (see scan_step) */
	if (n > sizeof(tmp))
		return apd_set_error(c->ps->err, APD_FATAL, "%s: cmtrace: internal error "
		    "(%zu bytes of look-ahead)", c->ps->path, n);
	memcpy(tmp, c->carry.p + c->sc.end, n);
	apd_buf_reset(&c->carry);
	c->spanning = false;
	return feed(c, tmp, n, off);
}

/*
 * Scan p[0..n), whose first byte is at stream offset off, emitting every
 * entry that ends inside it.  An entry still open at the end is gathered in
 * c->carry.  Returns APD_OK or an error code (the sink's included).
 */
static int
feed(struct cm *c, const unsigned char *p, size_t n, uint64_t off)
{
	size_t i = 0, k, c0, s;
	int rc;

	while (i < n) {
		if (c->spanning) {
			k = n - i < CHUNK ? n - i : CHUNK;
			c0 = c->carry.n;
			if ((rc = apd_buf_add(&c->carry, p + i, k)) != APD_OK)
				return apd_set_error(c->ps->err, rc, "%s: line %llu: cannot buffer "
				    "an entry of %zu bytes", c->ps->path,
				    (unsigned long long)c->ent_line, c->carry.n);
			if (!scan_step(&c->sc, (const unsigned char *)c->carry.p, c->carry.n, false)) {
				carry_compact(c);
				i += k;
				continue;
			}
			if ((rc = emit(c, (const unsigned char *)c->carry.p)) != APD_OK)
				return rc;
			if (c->sc.end >= c0) {
				i += c->sc.end - c0;
				apd_buf_reset(&c->carry);
				c->spanning = false;
			} else if ((rc = refeed(c, c0, off + i - (c0 - c->sc.end))) != APD_OK) {
				return rc;
			}
			continue;
		}
		/* between entries: skip blank space */
		while (i < n && (p[i] == '\n' || p[i] == '\r' || p[i] == ' ' || p[i] == '\t')) {
			if (p[i] == '\n')
				c->line++;
			i++;
		}
		if (i == n)
			break;
		s = i;
		c->ent_off = off + s;
		c->ent_line = c->line;
		scan_init(&c->sc);
		if (scan_step(&c->sc, p + s, n - s, false)) {
			if ((rc = emit(c, p + s)) != APD_OK)
				return rc;
			i = s + c->sc.end;
		} else {
			if ((rc = carry_start(c, p + s, n - s)) != APD_OK)
				return apd_set_error(c->ps->err, rc, "%s: line %llu: cannot buffer "
				    "an entry", c->ps->path, (unsigned long long)c->ent_line);
			i = n;
		}
	}
	return APD_OK;
}

/* End of input: finish the entry being gathered.  Returns APD_OK or an error code. */
static int
finish(struct cm *c)
{
	size_t n;
	int rc;

	while (c->spanning) {
		(void)scan_step(&c->sc, (const unsigned char *)c->carry.p, c->carry.n, true);
		if ((rc = emit(c, (const unsigned char *)c->carry.p)) != APD_OK)
			return rc;
		n = c->carry.n;
		if ((rc = refeed(c, n, c->ent_off + c->sc.dropped + c->sc.end)) != APD_OK)
			return rc;
	}
	return APD_OK;
}

/*
 * Does p[0..n) read as text?  Control bytes other than NUL, TAB, CR, LF and
 * FF may be at most 5% (apd_looks_binary's threshold).  NUL bytes are
 * counted apart in *nul: a log the system crashed into holds runs of them,
 * which must not make it "binary" (apd_looks_binary would say so).
 * *first gets the offset of the first NUL or control byte (n if none).
 */
static bool
text_like(const unsigned char *p, size_t n, size_t *nul, size_t *first)
{
	size_t i, ctl = 0;

	*nul = 0;
	*first = n;
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 || p[i] == '\t' || p[i] == '\n' || p[i] == '\r' || p[i] == 0x0C)
			continue;
		if (*first == n)
			*first = i;
		if (p[i] == 0)
			(*nul)++;
		else
			ctl++;
	}
	return ctl * 20 <= n;
}

/* Is one of the two CMTrace markers in p[0..n)? */
static bool
has_marker(const unsigned char *p, size_t n)
{
	return apd_memmem(p, n, OPEN_TAG, TAG_LEN) || apd_memmem(p, n, CLOSE_TAG, TAG_LEN);
}

/*
 * Parse the whole stream.  Returns APD_OK, APD_WARN (something was kept in
 * a degraded form; warnings were emitted), APD_FAILED (binary input or a
 * stream failure; ps->err says why), or the code a sink callback returned.
 */
static int
run(struct apd_parse *ps)
{
	struct apd_limits dl;
	const struct apd_limits *lim = ps->lim;
	const unsigned char *h;
	const void *p;
	size_t hl, n, bom = 0, skip, w, nul, at;
	uint64_t off = 0;
	struct cm c;
	int rc;

	if (lim == NULL) {
		apd_limits_default(&dl);
		lim = &dl;
	}
	h = apd_stream_head(ps->in, &hl);
	if (hl >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
		bom = 3;
	if (hl >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == 0xFE && h[1] == 0xFF)))
		return apd_set_error(ps->err, APD_FAILED, "%s: line 1, offset 0: UTF-16 text; "
		    "this CMTrace parser reads UTF-8 and ANSI logs only", ps->path);
	w = hl - bom < BID_WINDOW ? hl - bom : BID_WINDOW;
	if (!text_like(h + bom, w, &nul, &at) || (nul && !has_marker(h + bom, w))) {
		at += bom;
		return apd_set_error(ps->err, APD_FAILED, "%s: line %llu, offset %zu: binary data "
		    "(byte 0x%02X), not a CMTrace log", ps->path,
		    (unsigned long long)(1 + count_nl(h, at)), at, h[at]);
	}

	cm_init(&c, ps, lim);
	while ((rc = apd_stream_block(ps->in, &p, &n)) == APD_OK) {
		skip = off < bom ? (size_t)(bom - off) : 0;
		if (skip > n)
			skip = n;
		rc = feed(&c, (const unsigned char *)p + skip, n - skip, off + skip);
		off += n;
		if (rc != APD_OK)
			break;
	}
	if (rc == APD_EOF)
		rc = finish(&c);
	if (rc == APD_OK && c.warned)
		rc = APD_WARN;
	cm_done(&c);
	return rc;
}

/*
 * Is this the name of a log that IME or a related agent writes in CMTrace
 * format?  Only ever adds to a content bid.
 */
static bool
known_name(const char *name)
{
	static const char *const prefixes[] = {
		"IntuneManagementExtension", "AgentExecutor", "AppWorkload", "AppActionProcessor",
		"ClientHealth", "ClientCertCheck", "DeviceHealthMonitoring", "HealthScripts",
		"Sensor", "Win32AppInventory", "Win32AppReporting",
	};
	size_t i;

	if (!apd_name_iendswith(name, ".log"))
		return false;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (apd_name_istarts(name, prefixes[i]))
			return true;
	return false;
}

/*
 * Bid: an optional UTF-8 BOM then "<![LOG[" is 56 bits; failing that,
 * "]LOG]!><time=\"" in the first 4 KiB is 40; a known IME log name adds 8
 * to either, never alone.  A head that is not text (see text_like) or is
 * UTF-16 gets -1.
 */
static int
bid(const struct apd_probe *pr)
{
	const unsigned char *h = pr->head;
	size_t n = pr->len, bom = 0, w, nul, first;
	int b = -1;

	if (h == NULL || n == 0)
		return -1;
	if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
		bom = 3;
	w = n - bom < BID_WINDOW ? n - bom : BID_WINDOW;
	if (!text_like(h + bom, w, &nul, &first))
		return -1;
	if (w >= TAG_LEN && memcmp(h + bom, OPEN_TAG, TAG_LEN) == 0)
		b = 56;
	else if (apd_head_contains(pr, "]LOG]!><time=\"", BID_WINDOW))
		b = 40;
	if (b > 0 && known_name(pr->name))
		b += 8;
	return b;
}

const struct apd_parser apd_parser_cmtrace = {
	.name = "cmtrace",
	.kind = "cmtrace",
	.bid = bid,
	.run = run,
	.note = NULL,
};
