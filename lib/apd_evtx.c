/*
 * apd_evtx.c - the EVTX decoder (see apd_evtx.h; format: DOMAIN.md section 8).
 *
 * Reading.  The file header is read, then every 64 KiB slot after it, one
 * at a time, whatever the header's chunk count says.  A slot is used in
 * place when the stream's block holds it whole, else copied into one
 * chunk-sized buffer: memory does not grow with the file.
 *
 * Decoding.  Everything inside a chunk is addressed by chunk offsets:
 * names, template definitions, records.  Per chunk the decoder keeps
 *   - a name cache: chunk offset -> UTF-8 name (decoded once per chunk);
 *   - a template cache: definition offset -> compiled program, a flat list
 *     of ops (OPEN, ATTR, TEXT, SUBST, CLOSE, ...) with literal text
 *     already in UTF-8 and, for each element and attribute whose content
 *     is exactly one substitution, where that substitution is;
 * and a record costs reading its value table and running the program:
 * optional substitutions whose value is Null drop their element or
 * attribute, array values repeat their element once per item, and BinXML
 * values (type 0x21) are decoded in place as nested fragments.  Elements
 * written outside templates are compiled the same way (cached by offset).
 *
 * Hostile input.  Every read is bounded by the chunk; every loop advances;
 * element depth, fragment nesting, nodes per record, ops, names, templates
 * and arena bytes per chunk are capped; a record that breaks a rule is
 * skipped with a warning and the next one is read.
 */
#include "apd_evtx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_HEADER   24u
#define REC_MIN      28u                     /* header + copy of the size */
#define NAME_SLOTS   8192u                   /* name cache (power of two) */
#define NAME_MAX_N   6144u                   /* names cached per chunk */
#define TMPL_SLOTS   4096u                   /* template cache (power of two) */
#define TMPL_MAX_N   3072u                   /* programs cached per chunk */
#define OPS_MAX      (4u * APD_EVTX_CHUNK)   /* compiled ops per chunk */
#define ARENA_BLOCK  (256u * 1024)
#define ARENA_MAX    (4u << 20)              /* names and literals per chunk */
#define WORK_MAX     (16u << 20)             /* tokens, name characters, nodes per chunk */
#define VALS_MAX     (APD_EVTX_CHUNK / 4 + 16) /* value descriptors take 4 bytes each */
#define IDS_MAX      1024u                   /* ranges of record ids remembered */
#define RAW_KEY      0x10000u                /* template cache key bit: raw element */
#define VT_MISSING   0x7E                    /* value type: no value for a substitution */

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	unsigned char data[];
};

struct name_slot {
	uint32_t gen, off;
	struct apd_evtx_name *name;
};

struct tmpl {
	uint32_t gen, key;
	int ok;             /* 1 compiled, 0 failed (not retried in this chunk) */
	uint32_t op0, nop;  /* program: ops[op0 .. op0 + nop) */
	uint32_t end;       /* raw elements: chunk offset after the element */
};

enum op_code { OP_OPEN = 1, OP_ATTR, OP_TEXT, OP_SUBST, OP_CLOSE, OP_CHARREF, OP_ENTREF,
	OP_CDATA, OP_PI };

struct op {
	uint8_t code;
	uint8_t type;       /* SUBST: declared value type */
	uint8_t opt;        /* SUBST: optional substitution */
	uint8_t single;     /* OPEN, ATTR: the content is one SUBST, `sub` ops further */
	uint32_t a;         /* OPEN: ops to the matching CLOSE; ATTR: value ops after it;
	                       SUBST: value index; TEXT, CDATA, PI: bytes; CHARREF: code */
	uint32_t sub;
	const struct apd_evtx_name *name;
	const unsigned char *p;
};

struct tval {
	const unsigned char *p;
	uint32_t n;
	uint8_t type;
};

struct idrange {
	uint64_t lo, hi;
};

enum { PH_NONE, PH_ALLOC, PH_SLACK };
enum { ST_HEADER, ST_CHUNKS, ST_DONE };

struct apd_evtx {
	struct apd_stream *in;
	const char *path;
	bool recover;
	apd_evtx_warn_fn warn;
	void *warn_ud;
	struct apd_error *err;
	int state;
	const unsigned char *blk;   /* current stream block */
	size_t blen, bpos;
	bool eof;
	unsigned char *buf;         /* a slot that straddles stream blocks */
	uint64_t pos;               /* file offset of the next byte */

	/* the slot being read */
	const unsigned char *c;
	size_t clen;
	uint64_t coff;
	uint32_t slot;
	int phase;
	uint32_t off, end;
	uint32_t slack_bad;         /* recovery candidates that did not decode */
	uint32_t work;              /* steps spent on this chunk (WORK_MAX) */
	bool chunk_ok;              /* the slot has a chunk signature */
	bool damaged;               /* its allocated records are broken, or it has no header */

	/* per-chunk caches */
	uint32_t gen;
	struct name_slot *names;
	uint32_t nnames;
	struct tmpl *tmpls;
	uint32_t ntmpls;
	struct op *ops;
	size_t nops, cops;
	struct arena_blk *arena, *acur;
	size_t atotal;

	/* the record being decoded */
	struct apd_evtx_node *node;
	size_t nnode, cnode;
	struct tval *vals;
	size_t nvals;
	uint32_t open_idx[APD_EVTX_MAX_DEPTH + 1];
	unsigned nopen;
	struct apd_evtx_record rec;
	struct apd_buf scratch;     /* literal text being converted */
	char emsg[200];

	/* record ids seen, as sorted disjoint ranges */
	struct idrange *ids;
	size_t nids;

	struct apd_evtx_stats st;
	bool warned;
	struct apd_error own_err;
};

/* ---- small helpers ---- */

static int
fail(struct apd_evtx *x, const char *fmt, ...) APD_PRINTF(2, 3);

/* Record why the current record failed; returns -1. */
static int
fail(struct apd_evtx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->emsg, sizeof(x->emsg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Count n units of work (tokens compiled, name characters decoded, nodes
 * made) against the chunk's budget: a hostile chunk (overlapping fake
 * templates, names, records) cannot make the decoder spin.  Returns -1
 * (emsg set) once the budget is spent.
 */
static inline int
work(struct apd_evtx *x, uint32_t n)
{
	x->work += n;
	if (x->work <= WORK_MAX)
		return 0;
	return fail(x, "the chunk's work budget (%u million steps) is spent", WORK_MAX >> 20);
}

static int
warn(struct apd_evtx *x, uint64_t off, const char *fmt, ...) APD_PRINTF(3, 4);

/* Report damage at a file offset.  Returns APD_OK or the callback's code. */
static int
warn(struct apd_evtx *x, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	x->warned = true;
	if (x->warn == NULL)
		return APD_OK;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return x->warn(x->warn_ud, off, msg);
}

static bool
all_zero(const unsigned char *p, size_t n)
{
	/* memcmp is vectorised: compare the bytes with themselves shifted by one */
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* ---- the per-chunk arena ---- */

static void *
arena_alloc(struct apd_evtx *x, size_t n)
{
	struct arena_blk *b = x->acur;
	size_t cap;
	void *r;

	n = (n + 7) & ~(size_t)7;
	if (x->atotal + n > ARENA_MAX)
		return NULL;
	while (b && b->cap - b->used < n) {
		if (b->next == NULL)
			break;
		b = b->next;
		b->used = 0;
		x->acur = b;
	}
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		struct arena_blk *nb = malloc(sizeof(*nb) + cap);
		if (nb == NULL)
			return NULL;
		nb->cap = cap;
		nb->used = 0;
		nb->next = NULL;
		if (b)
			b->next = nb;
		else
			x->arena = nb;
		/* a block made for one big item goes after the current one, which
		   keeps its room; later blocks are reused from the front */
		b = nb;
		x->acur = nb;
	}
	r = b->data + b->used;
	b->used += n;
	x->atotal += n;
	return r;
}

static void
arena_reset(struct apd_evtx *x)
{
	x->acur = x->arena;
	if (x->arena)
		x->arena->used = 0;
	x->atotal = 0;
}

/* ---- names ---- */

static uint16_t
classify(const char *s, size_t n)
{
	static const struct { const char *s; uint16_t k; } tab[] = {
		{ "Event", APD_EVTX_K_EVENT }, { "System", APD_EVTX_K_SYSTEM },
		{ "Provider", APD_EVTX_K_PROVIDER }, { "EventID", APD_EVTX_K_EVENTID },
		{ "Level", APD_EVTX_K_LEVEL }, { "TimeCreated", APD_EVTX_K_TIMECREATED },
		{ "EventRecordID", APD_EVTX_K_EVENTRECORDID }, { "Execution", APD_EVTX_K_EXECUTION },
		{ "Channel", APD_EVTX_K_CHANNEL }, { "Computer", APD_EVTX_K_COMPUTER },
		{ "Security", APD_EVTX_K_SECURITY }, { "EventData", APD_EVTX_K_EVENTDATA },
		{ "UserData", APD_EVTX_K_USERDATA }, { "Data", APD_EVTX_K_DATA },
		{ "Name", APD_EVTX_K_NAME }, { "SystemTime", APD_EVTX_K_SYSTEMTIME },
		{ "ProcessID", APD_EVTX_K_PROCESSID }, { "ThreadID", APD_EVTX_K_THREADID },
		{ "UserID", APD_EVTX_K_USERID }, { "RenderingInfo", APD_EVTX_K_RENDERINGINFO },
		{ "Message", APD_EVTX_K_MESSAGE }, { "xmlns", APD_EVTX_K_XMLNS },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].s) == n && memcmp(tab[i].s, s, n) == 0)
			return tab[i].k;
	return APD_EVTX_K_OTHER;
}

/* Decode the name structure at chunk offset off; NULL (emsg set) if it does not fit. */
static struct apd_evtx_name *
decode_name(struct apd_evtx *x, uint32_t off)
{
	struct apd_evtx_name *nm;
	const unsigned char *p;
	size_t nch, i;
	uint32_t u, u2;
	char *s, *o;

	if (off > x->clen || x->clen - off < 8) {
		fail(x, "name offset 0x%x outside the chunk", off);
		return NULL;
	}
	nch = le16(x->c + off + 6);
	if (x->clen - off - 8 < 2 * nch) {
		fail(x, "name at 0x%x runs past the chunk", off);
		return NULL;
	}
	if (work(x, (uint32_t)nch + 1))
		return NULL;
	nm = arena_alloc(x, sizeof(*nm) + 3 * nch + 1);
	if (nm == NULL) {
		fail(x, "out of memory for names (chunk arena of %u MiB full)", ARENA_MAX >> 20);
		return NULL;
	}
	s = o = (char *)(nm + 1);
	p = x->c + off + 8;
	for (i = 0; i < nch; i++) {
		u = le16(p + 2 * i);
		if (u < 0x80) {
			*o++ = (char)(u ? u : '?');
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < nch &&
		    (u2 = le16(p + 2 * i + 2)) >= 0xDC00 && u2 <= 0xDFFF) {
			u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
			i++;
		} else if (u >= 0xD800 && u <= 0xDFFF) {
			u = 0xFFFD;
		}
		if (u < 0x800) {
			*o++ = (char)(0xC0 | u >> 6);
			*o++ = (char)(0x80 | (u & 0x3F));
		} else if (u < 0x10000) {
			*o++ = (char)(0xE0 | u >> 12);
			*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
			*o++ = (char)(0x80 | (u & 0x3F));
		} else {
			*o++ = (char)(0xF0 | u >> 18);
			*o++ = (char)(0x80 | ((u >> 12) & 0x3F));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3F));
			*o++ = (char)(0x80 | (u & 0x3F));
		}
	}
	*o = '\0';
	nm->s = s;
	nm->n = (uint32_t)(o - s);
	nm->known = classify(s, nm->n);
	return nm;
}

/* The name at chunk offset off, decoded once per chunk. */
static const struct apd_evtx_name *
get_name(struct apd_evtx *x, uint32_t off)
{
	uint32_t h = (off * 2654435761u) >> 19, i;
	struct name_slot *sl;
	struct apd_evtx_name *nm;

	for (i = 0; i < 64; i++) {
		sl = &x->names[(h + i) & (NAME_SLOTS - 1)];
		if (sl->gen != x->gen)
			break;
		if (sl->off == off)
			return sl->name;
	}
	if ((nm = decode_name(x, off)) == NULL)
		return NULL;
	if (i < 64 && x->nnames < NAME_MAX_N) {
		sl->gen = x->gen;
		sl->off = off;
		sl->name = nm;
		x->nnames++;
	}
	return nm;
}

/*
 * A name reference at chunk offset *pos (u32 offset of the name).  When the
 * name is stored inline (its offset is where the reference ends) *pos moves
 * past it.  Returns NULL with emsg set if it does not decode.
 */
static const struct apd_evtx_name *
read_name_ref(struct apd_evtx *x, uint32_t *pos, uint32_t end)
{
	const struct apd_evtx_name *nm;
	uint32_t off, p = *pos;

	if (end - p < 4) {
		fail(x, "name reference cut at 0x%x", p);
		return NULL;
	}
	off = le32(x->c + p);
	p += 4;
	if ((nm = get_name(x, off)) == NULL)
		return NULL;
	if (off == p) {
		uint32_t sz = 8 + 2u * le16(x->c + off + 6) + 2;
		if (end - p < sz) {
			fail(x, "inline name at 0x%x runs past its data", off);
			return NULL;
		}
		p += sz;
	}
	*pos = p;
	return nm;
}

/* ---- compiling BinXML into programs ---- */

static int
add_op(struct apd_evtx *x, const struct op *o)
{
	if (x->nops == x->cops) {
		size_t nc = x->cops ? x->cops * 2 : 4096;
		struct op *no;
		if (nc > OPS_MAX)
			nc = OPS_MAX;
		if (x->nops >= nc)
			return fail(x, "more than %u compiled operations in one chunk", OPS_MAX);
		no = realloc(x->ops, nc * sizeof(*no));
		if (no == NULL)
			return fail(x, "out of memory for templates");
		x->ops = no;
		x->cops = nc;
	}
	x->ops[x->nops++] = *o;
	return 0;
}

/* UTF-16 text p[0..nch) as UTF-8 in the arena; *out, *n. */
static int
arena_text(struct apd_evtx *x, const unsigned char *p, size_t nch, const unsigned char **out,
    uint32_t *n)
{
	unsigned char *s;

	apd_buf_reset(&x->scratch);
	if (apd_evtx_value_text(&x->scratch, APD_EVTX_T_STRING, p, 2 * nch, APD_EVTX_ESC_NONE) !=
	    APD_OK || (s = arena_alloc(x, x->scratch.n + 1)) == NULL)
		return fail(x, "out of memory for literal text");
	if (x->scratch.n)
		memcpy(s, x->scratch.p, x->scratch.n);
	s[x->scratch.n] = 0;
	*out = s;
	*n = (uint32_t)x->scratch.n;
	return 0;
}

/* End the attribute at ops[ai]: count its value ops, note a lone substitution. */
static void
end_attr(struct apd_evtx *x, size_t ai)
{
	struct op *a = &x->ops[ai];
	size_t k = x->nops - ai - 1;

	a->a = (uint32_t)k;
	a->single = k == 1 && x->ops[ai + 1].code == OP_SUBST;
	a->sub = 1;
}

/*
 * Compile BinXML at chunk offsets [pos, end) into ops appended to x->ops.
 * raw: one element (or PI) written outside a template, without dependency
 * identifiers; else a template definition body (fragment header, element,
 * end of stream), whose elements carry them.  *endpos gets where it ended.
 * Returns 0, or -1 with emsg set.
 */
static int
compile(struct apd_evtx *x, uint32_t pos, uint32_t end, bool raw, uint32_t *endpos)
{
	struct {
		size_t op;          /* index of the OPEN */
		size_t content;     /* first op of the content */
		bool in_attrs;
	} st[APD_EVTX_MAX_DEPTH + 1];
	unsigned depth = 0;
	long attr = -1;           /* ATTR whose value ops are being added */
	bool seen = false;
	const unsigned char *c = x->c;
	struct op o;

	while (pos < end) {
		unsigned tok = c[pos], base = tok & 0xBF;
		uint32_t p = pos + 1;

		if (work(x, 1))
			return -1;

		memset(&o, 0, sizeof(o));
		if (tok & 0x40 && base != 0x01 && base != 0x05 && base != 0x06 && base != 0x07 &&
		    base != 0x08 && base != 0x09)
			return fail(x, "unknown BinXML token 0x%02x at 0x%x", tok, pos);
		switch (base) {
		case 0x00:   /* end of stream */
			if (depth)
				return fail(x, "end of stream inside an element at 0x%x", pos);
			*endpos = pos + 1;
			return seen ? 0 : fail(x, "template without an element at 0x%x", pos);
		case 0x0F:   /* fragment header */
			if (depth || end - pos < 4)
				return fail(x, "misplaced fragment header at 0x%x", pos);
			pos += 4;
			continue;
		case 0x01: { /* open start element */
			const struct apd_evtx_name *nm;
			uint32_t q;
			if (depth && st[depth - 1].in_attrs)
				return fail(x, "element inside an attribute list at 0x%x", pos);
			if (raw && seen && depth == 0)
				goto done;
			if (depth >= APD_EVTX_MAX_DEPTH)
				return fail(x, "elements nested deeper than %u at 0x%x",
				    APD_EVTX_MAX_DEPTH, pos);
			/* [u16 dependency id] u32 size, name; the id is present in
			   template definitions only, but try the other reading when
			   the expected one does not lead to a name */
			q = p + (raw ? 0 : 2) + 4;
			if (q > end || (nm = read_name_ref(x, &q, end)) == NULL) {
				q = p + (raw ? 2 : 0) + 4;
				if (q > end || (nm = read_name_ref(x, &q, end)) == NULL)
					return fail(x, "bad element at 0x%x: %s", pos, x->emsg);
			}
			if (tok & 0x40) {
				if (end - q < 4)
					return fail(x, "element cut at 0x%x", pos);
				q += 4;
			}
			o.code = OP_OPEN;
			o.name = nm;
			st[depth].op = x->nops;
			st[depth].in_attrs = true;
			if (add_op(x, &o))
				return -1;
			depth++;
			attr = -1;
			seen = true;
			pos = q;
			continue;
		}
		case 0x02:   /* close start element */
		case 0x03:   /* close empty element */
			if (!depth || !st[depth - 1].in_attrs)
				return fail(x, "misplaced close-start token 0x%02x at 0x%x", tok, pos);
			if (attr >= 0)
				end_attr(x, (size_t)attr);
			attr = -1;
			st[depth - 1].in_attrs = false;
			st[depth - 1].content = x->nops;
			pos++;
			if (base == 0x02)
				continue;
			/* fall through: an empty element ends here */
			/* FALLTHROUGH */
		case 0x04: { /* end element */
			size_t oi, cs, k;
			if (base == 0x04) {
				if (!depth || st[depth - 1].in_attrs)
					return fail(x, "misplaced end-element token at 0x%x", pos);
				pos++;
			}
			depth--;
			oi = st[depth].op;
			cs = st[depth].content;
			k = x->nops - cs;
			o.code = OP_CLOSE;
			if (add_op(x, &o))
				return -1;
			x->ops[oi].a = (uint32_t)(x->nops - 1 - oi);
			if (k == 1 && x->ops[cs].code == OP_SUBST) {
				x->ops[oi].single = 1;
				x->ops[oi].sub = (uint32_t)(cs - oi);
			}
			if (raw && depth == 0) {
				*endpos = pos;
				return 0;
			}
			continue;
		}
		case 0x06: { /* attribute */
			const struct apd_evtx_name *nm;
			if (!depth || !st[depth - 1].in_attrs)
				return fail(x, "attribute outside an element start at 0x%x", pos);
			if (attr >= 0)
				end_attr(x, (size_t)attr);
			if ((nm = read_name_ref(x, &p, end)) == NULL)
				return fail(x, "bad attribute at 0x%x: %s", pos, x->emsg);
			o.code = OP_ATTR;
			o.name = nm;
			attr = (long)x->nops;
			if (add_op(x, &o))
				return -1;
			pos = p;
			continue;
		}
		case 0x05:   /* value */
		case 0x07: { /* CDATA section */
			uint32_t nch;
			unsigned vt = base == 0x05 ? (end - p >= 1 ? c[p++] : 0xFF) : APD_EVTX_T_STRING;
			if (!depth || (st[depth - 1].in_attrs && attr < 0) ||
			    (base == 0x07 && st[depth - 1].in_attrs))
				return fail(x, "misplaced text at 0x%x", pos);
			if (vt != APD_EVTX_T_STRING)
				return fail(x, "value token of type 0x%02x at 0x%x", vt, pos);
			if (end - p < 2)
				return fail(x, "text cut at 0x%x", pos);
			nch = le16(c + p);
			p += 2;
			if ((end - p) / 2 < nch)
				return fail(x, "text at 0x%x runs past its data", pos);
			o.code = base == 0x05 ? OP_TEXT : OP_CDATA;
			o.type = APD_EVTX_T_UTF8;
			if (arena_text(x, c + p, nch, &o.p, &o.a) || add_op(x, &o))
				return -1;
			pos = p + 2 * nch;
			continue;
		}
		case 0x08:   /* character reference */
			if (!depth || (st[depth - 1].in_attrs && attr < 0) || end - p < 2)
				return fail(x, "misplaced character reference at 0x%x", pos);
			o.code = OP_CHARREF;
			o.a = le16(c + p);
			if (add_op(x, &o))
				return -1;
			pos = p + 2;
			continue;
		case 0x09: { /* entity reference */
			const struct apd_evtx_name *nm;
			if (!depth || (st[depth - 1].in_attrs && attr < 0))
				return fail(x, "misplaced entity reference at 0x%x", pos);
			if ((nm = read_name_ref(x, &p, end)) == NULL)
				return fail(x, "bad entity reference at 0x%x: %s", pos, x->emsg);
			o.code = OP_ENTREF;
			o.name = nm;
			if (add_op(x, &o))
				return -1;
			pos = p;
			continue;
		}
		case 0x0A: { /* processing instruction target, then its data */
			const struct apd_evtx_name *nm;
			uint32_t nch;
			if (depth && st[depth - 1].in_attrs)
				return fail(x, "processing instruction in an attribute list at 0x%x", pos);
			if (raw && seen && depth == 0)
				goto done;
			if ((nm = read_name_ref(x, &p, end)) == NULL)
				return fail(x, "bad processing instruction at 0x%x: %s", pos, x->emsg);
			if (end - p < 3 || c[p] != 0x0B)
				return fail(x, "processing instruction without data at 0x%x", pos);
			nch = le16(c + p + 1);
			p += 3;
			if ((end - p) / 2 < nch)
				return fail(x, "processing instruction at 0x%x runs past its data", pos);
			o.code = OP_PI;
			o.name = nm;
			if (arena_text(x, c + p, nch, &o.p, &o.a) || add_op(x, &o))
				return -1;
			seen = true;
			pos = p + 2 * nch;
			if (raw && depth == 0) {
				*endpos = pos;
				return 0;
			}
			continue;
		}
		case 0x0D:   /* normal substitution */
		case 0x0E:   /* optional substitution */
			if (raw)
				return fail(x, "substitution outside a template at 0x%x", pos);
			if (!depth || (st[depth - 1].in_attrs && attr < 0) || end - p < 3)
				return fail(x, "misplaced substitution at 0x%x", pos);
			o.code = OP_SUBST;
			o.a = le16(c + p);
			o.type = c[p + 2];
			o.opt = base == 0x0E;
			if (add_op(x, &o))
				return -1;
			pos = p + 3;
			continue;
		default:
			return fail(x, "unexpected BinXML token 0x%02x at 0x%x", tok, pos);
		}
	}
	if (depth)
		return fail(x, "element not closed before 0x%x", end);
done:
	*endpos = pos;
	return seen ? 0 : fail(x, "no element at 0x%x", pos);
}

/* The program for a template definition (raw == false) or a raw element at key. */
static const struct tmpl *
get_program(struct apd_evtx *x, uint32_t off, bool raw)
{
	uint32_t key = off | (raw ? RAW_KEY : 0), h = (key * 2654435761u) >> 20, i;
	uint32_t body, end, size, endpos = 0;
	size_t op0 = x->nops;
	struct tmpl *t = NULL;

	for (i = 0; i < 64; i++) {
		t = &x->tmpls[(h + i) & (TMPL_SLOTS - 1)];
		if (t->gen != x->gen)
			break;
		if (t->key == key) {
			if (!t->ok)
				fail(x, "%s at 0x%x did not compile earlier in this chunk",
				    raw ? "element" : "template", off);
			return t->ok ? t : NULL;
		}
	}
	if (i == 64 || x->ntmpls >= TMPL_MAX_N) {
		fail(x, "too many templates in one chunk");
		return NULL;
	}
	t->gen = x->gen;
	t->key = key;
	t->ok = 0;
	x->ntmpls++;
	if (raw) {
		if (compile(x, off, (uint32_t)x->clen, true, &endpos))
			goto bad;
	} else {
		if (off > x->clen || x->clen - off < 24) {
			fail(x, "template definition offset 0x%x outside the chunk", off);
			goto bad;
		}
		size = le32(x->c + off + 20);
		body = off + 24;
		if (size > x->clen - body) {
			fail(x, "template definition at 0x%x: size %u runs past the chunk", off, size);
			goto bad;
		}
		end = body + size;
		if (compile(x, body, end, false, &endpos)) {
			char tmp[sizeof(x->emsg)];
			memcpy(tmp, x->emsg, sizeof(tmp));
			fail(x, "template definition at 0x%x: %s", off, tmp);
			goto bad;
		}
		x->st.templates++;
	}
	t->ok = 1;
	t->op0 = (uint32_t)op0;
	t->nop = (uint32_t)(x->nops - op0);
	t->end = endpos;
	return t;
bad:
	x->nops = op0;
	return NULL;
}

/* ---- running programs: nodes ---- */

/* Room for more nodes (the slow path of emit). */
static int
grow_nodes(struct apd_evtx *x)
{
	size_t nc = x->cnode ? x->cnode * 2 : 1024;
	struct apd_evtx_node *nn;

	if (nc > APD_EVTX_MAX_NODES)
		nc = APD_EVTX_MAX_NODES;
	if (x->nnode >= nc)
		return fail(x, "more than %u XML nodes in one record", APD_EVTX_MAX_NODES);
	nn = realloc(x->node, nc * sizeof(*nn));
	if (nn == NULL)
		return fail(x, "out of memory for XML nodes");
	x->node = nn;
	x->cnode = nc;
	return 0;
}

static inline int
emit(struct apd_evtx *x, unsigned kind, unsigned type, uint32_t n,
    const struct apd_evtx_name *name, const unsigned char *p)
{
	struct apd_evtx_node *nd;

	if ((x->nnode == x->cnode && grow_nodes(x)) || (++x->work > WORK_MAX && work(x, 0)))
		return -1;
	nd = &x->node[x->nnode++];
	nd->kind = (uint8_t)kind;
	nd->type = (uint8_t)type;
	nd->depth = (uint16_t)x->nopen;
	nd->n = n;
	nd->name = name;
	nd->p = p;
	return 0;
}

static int decode_fragment(struct apd_evtx *x, uint32_t pos, uint32_t end, unsigned nest);

static struct tval
value_at(const struct tval *v, uint32_t nv, uint32_t idx, uint32_t ovr_idx,
    const struct tval *ovr)
{
	/* a substitution without a value (index past the value table) is
	   empty, but unlike a Null value it never drops its element */
	static const struct tval missing = { NULL, 0, VT_MISSING };

	if (ovr && idx == ovr_idx)
		return *ovr;
	return idx < nv ? v[idx] : missing;
}

/*
 * Run ops[op0 .. op0 + nop) with the values v[0..nv).  ovr, when set,
 * replaces value ovr_idx (one item of an array being repeated).
 */
static int
run(struct apd_evtx *x, uint32_t op0, uint32_t nop, const struct tval *v, uint32_t nv,
    unsigned nest, uint32_t ovr_idx, const struct tval *ovr)
{
	uint32_t i;

	for (i = 0; i < nop; i++) {
		const struct op *o = &x->ops[op0 + i];
		struct tval val;

		switch (o->code) {
		case OP_OPEN:
			if (o->single) {
				const struct op *s = &x->ops[op0 + i + o->sub];
				uint32_t sidx = s->a, span = o->a;
				val = value_at(v, nv, sidx, ovr_idx, ovr);
				if (val.type == APD_EVTX_T_NULL && s->opt) {
					i += span;
					continue;
				}
				if ((val.type & APD_EVTX_T_ARRAY) && val.type != APD_EVTX_T_UTF8 &&
				    !(ovr && sidx == ovr_idx)) {
					const unsigned char *ip;
					size_t pos = 0, in;
					unsigned it;
					struct tval item;
					bool any = false;
					while (apd_evtx_array_next(val.type, val.p, val.n, &pos, &it, &ip,
					    &in)) {
						item.p = ip;
						item.n = (uint32_t)in;
						item.type = (uint8_t)it;
						if (run(x, op0 + i, span + 1, v, nv, nest, sidx, &item))
							return -1;
						any = true;
					}
					if (!any) {   /* an empty array: one empty element */
						item.p = val.p;
						item.n = 0;
						item.type = APD_EVTX_T_NULL;
						if (run(x, op0 + i, span + 1, v, nv, nest, sidx, &item))
							return -1;
					}
					i += span;
					continue;
				}
			}
			if (x->nopen >= APD_EVTX_MAX_DEPTH)
				return fail(x, "elements nested deeper than %u", APD_EVTX_MAX_DEPTH);
			if (emit(x, APD_EVTX_OPEN, 0, 0, o->name, NULL))
				return -1;
			x->open_idx[x->nopen++] = (uint32_t)(x->nnode - 1);
			break;
		case OP_CLOSE:
			if (x->nopen == 0)
				return fail(x, "unbalanced element end");
			x->nopen--;
			if (emit(x, APD_EVTX_CLOSE, 0, 0, NULL, NULL))
				return -1;
			x->node[x->open_idx[x->nopen]].n = (uint32_t)(x->nnode - 1);
			break;
		case OP_ATTR: {
			uint32_t cnt = o->a, k;
			size_t an;
			if (o->single) {
				const struct op *s = &x->ops[op0 + i + o->sub];
				val = value_at(v, nv, s->a, ovr_idx, ovr);
				if (val.type == APD_EVTX_T_NULL && s->opt) {
					i += cnt;
					continue;
				}
			}
			if (emit(x, APD_EVTX_ATTR, 0, 0, o->name, NULL))
				return -1;
			an = x->nnode - 1;
			/* the value: text, references and substitutions (a BinXML
			   value cannot be an attribute's: it is left out) */
			for (k = 1; k <= cnt; k++) {
				const struct op *q = &x->ops[op0 + i + k];
				int e = 0;
				switch (q->code) {
				case OP_TEXT:
					e = emit(x, APD_EVTX_VALUE, APD_EVTX_T_UTF8, q->a, NULL, q->p);
					break;
				case OP_CHARREF:
					e = emit(x, APD_EVTX_CHARREF, 0, q->a, NULL, NULL);
					break;
				case OP_ENTREF:
					e = emit(x, APD_EVTX_ENTREF, 0, 0, q->name, NULL);
					break;
				case OP_SUBST:
					val = value_at(v, nv, q->a, ovr_idx, ovr);
					if (val.type != APD_EVTX_T_NULL && val.type != VT_MISSING &&
					    val.type != APD_EVTX_T_BINXML)
						e = emit(x, APD_EVTX_VALUE, val.type, val.n, NULL, val.p);
					break;
				default:
					e = fail(x, "bad attribute value");
					break;
				}
				if (e)
					return -1;
			}
			x->node[an].n = (uint32_t)(x->nnode - an - 1);
			i += cnt;
			break;
		}
		case OP_TEXT:
			if (emit(x, APD_EVTX_VALUE, APD_EVTX_T_UTF8, o->a, NULL, o->p))
				return -1;
			break;
		case OP_CDATA:
			if (emit(x, APD_EVTX_CDATA, APD_EVTX_T_UTF8, o->a, NULL, o->p))
				return -1;
			break;
		case OP_PI:
			if (emit(x, APD_EVTX_PI, APD_EVTX_T_UTF8, o->a, o->name, o->p))
				return -1;
			break;
		case OP_CHARREF:
			if (emit(x, APD_EVTX_CHARREF, 0, o->a, NULL, NULL))
				return -1;
			break;
		case OP_ENTREF:
			if (emit(x, APD_EVTX_ENTREF, 0, 0, o->name, NULL))
				return -1;
			break;
		case OP_SUBST:
			val = value_at(v, nv, o->a, ovr_idx, ovr);
			if (val.type == APD_EVTX_T_NULL || val.type == VT_MISSING)
				break;
			if (val.type == APD_EVTX_T_BINXML) {
				uint32_t at = (uint32_t)(val.p - x->c);
				if (decode_fragment(x, at, at + val.n, nest + 1))
					return -1;
				break;
			}
			if (emit(x, APD_EVTX_VALUE, val.type, val.n, NULL, val.p))
				return -1;
			break;
		default:
			return fail(x, "bad compiled operation");
		}
	}
	return 0;
}

/*
 * A template instance at pos (its 0x0C token), the fragment ending at end:
 * find or compile the definition, read the value table, run the program.
 * *next gets the offset after the instance.
 */
static int
template_instance(struct apd_evtx *x, uint32_t pos, uint32_t end, unsigned nest, uint32_t *next)
{
	const struct tmpl *t;
	uint32_t def, p, cnt, k, q, size;
	struct tval *v;
	int rc;

	if (end - pos < 10)
		return fail(x, "template instance cut at 0x%x", pos);
	def = le32(x->c + pos + 6);
	p = pos + 10;
	if (def == p) {   /* the definition follows inline: skip it */
		if (end - p < 24)
			return fail(x, "inline template definition cut at 0x%x", p);
		size = le32(x->c + p + 20);
		if (size > end - p - 24)
			return fail(x, "inline template definition at 0x%x: size %u runs past the "
			    "record", p, size);
		p += 24 + size;
	}
	if ((t = get_program(x, def, false)) == NULL)
		return -1;
	if (end - p < 4)
		return fail(x, "template values cut at 0x%x", p);
	cnt = le32(x->c + p);
	p += 4;
	if (cnt > (end - p) / 4)
		return fail(x, "template instance at 0x%x: %u values do not fit in the record",
		    pos, cnt);
	if (cnt > VALS_MAX - x->nvals)
		return fail(x, "too many template values in one record");
	v = x->vals + x->nvals;
	q = p + 4 * cnt;
	for (k = 0; k < cnt; k++) {
		size = le16(x->c + p + 4 * k);
		if (size > end - q)
			return fail(x, "template value %u at 0x%x: size %u runs past the record",
			    k, q, size);
		v[k].p = x->c + q;
		v[k].n = size;
		v[k].type = x->c[p + 4 * k + 2];
		q += size;
	}
	x->nvals += cnt;
	rc = run(x, t->op0, t->nop, v, cnt, nest, UINT32_MAX, NULL);
	x->nvals -= cnt;
	*next = q;
	return rc;
}

/* A BinXML fragment at chunk offsets [pos, end): fragment headers, template instances, elements. */
static int
decode_fragment(struct apd_evtx *x, uint32_t pos, uint32_t end, unsigned nest)
{
	const struct tmpl *t;
	uint32_t next = 0;
	bool any = false;

	if (nest > APD_EVTX_MAX_NEST)
		return fail(x, "BinXML nested deeper than %u", APD_EVTX_MAX_NEST);
	if (end > x->clen || pos > end)
		return fail(x, "BinXML outside the chunk");
	while (pos < end) {
		switch (x->c[pos]) {
		case 0x00:
			return any ? 0 : fail(x, "empty BinXML at 0x%x", pos);
		case 0x0F:
			if (end - pos < 4)
				return fail(x, "fragment header cut at 0x%x", pos);
			pos += 4;
			break;
		case 0x0C:
			if (template_instance(x, pos, end, nest, &next))
				return -1;
			pos = next;
			any = true;
			break;
		case 0x01:
		case 0x41:
		case 0x0A:
			if ((t = get_program(x, pos, true)) == NULL)
				return -1;
			if (t->end > end)
				return fail(x, "element at 0x%x runs past its data", pos);
			if (run(x, t->op0, t->nop, NULL, 0, nest, UINT32_MAX, NULL))
				return -1;
			pos = t->end;
			any = true;
			break;
		default:
			return fail(x, "unexpected BinXML token 0x%02x at 0x%x", x->c[pos], pos);
		}
	}
	return any ? 0 : fail(x, "no XML in the record");
}

/* ---- record ids seen ---- */

static bool
id_seen(const struct apd_evtx *x, uint64_t id)
{
	size_t lo = 0, hi = x->nids, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (id < x->ids[mid].lo)
			hi = mid;
		else if (id > x->ids[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static void
id_add(struct apd_evtx *x, uint64_t id)
{
	size_t lo = 0, hi = x->nids, mid, i;

	/* the common case: ids increase */
	if (x->nids && id == x->ids[x->nids - 1].hi + 1 && id != 0) {
		x->ids[x->nids - 1].hi = id;
		return;
	}
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (id < x->ids[mid].lo)
			hi = mid;
		else if (id > x->ids[mid].hi)
			lo = mid + 1;
		else
			return;
	}
	i = lo;   /* ranges[i - 1].hi < id < ranges[i].lo */
	if (i > 0 && x->ids[i - 1].hi + 1 == id) {
		x->ids[i - 1].hi = id;
		if (i < x->nids && x->ids[i].lo == id + 1) {
			x->ids[i - 1].hi = x->ids[i].hi;
			memmove(&x->ids[i], &x->ids[i + 1], (x->nids - i - 1) * sizeof(x->ids[0]));
			x->nids--;
		}
		return;
	}
	if (i < x->nids && x->ids[i].lo == id + 1 && id != UINT64_MAX) {
		x->ids[i].lo = id;
		return;
	}
	if (x->nids == IDS_MAX)
		return;   /* remembered no more exactly: only dedup of recovered records suffers */
	memmove(&x->ids[i + 1], &x->ids[i], (x->nids - i) * sizeof(x->ids[0]));
	x->ids[i].lo = x->ids[i].hi = id;
	x->nids++;
}

/* ---- records ---- */

/* Decode the record at chunk offset off (size checked by the caller). */
static int
decode_record(struct apd_evtx *x, uint32_t off, uint32_t size, bool recovered)
{
	x->nnode = 0;
	x->nvals = 0;
	x->nopen = 0;
	if (decode_fragment(x, off + REC_HEADER, off + size - 4, 0))
		return -1;
	if (x->nopen != 0)
		return fail(x, "element not closed");
	x->rec.id = le64(x->c + off + 8);
	x->rec.written = le64(x->c + off + 16);
	x->rec.offset = x->coff + off;
	x->rec.chunk = x->slot;
	x->rec.recovered = recovered;
	x->rec.node = x->node;
	x->rec.nnode = x->nnode;
	return 0;
}

/* Does a plausible record start at chunk offset off?  *size gets its size. */
static bool
record_at(const struct apd_evtx *x, uint32_t off, uint32_t *size)
{
	uint32_t sz;

	if (x->clen - off < REC_MIN || memcmp(x->c + off, "\x2a\x2a\x00\x00", 4) != 0)
		return false;
	sz = le32(x->c + off + 4);
	if (sz < REC_MIN || sz > x->clen - off || le32(x->c + off + sz - 4) != sz)
		return false;
	*size = sz;
	return true;
}

/*
 * A record cut short: signature and size right, but the copy of the size
 * at its end is zero (the end of the record was not written).
 */
static bool
cut_record_at(const struct apd_evtx *x, uint32_t off, uint32_t *size)
{
	uint32_t sz;

	if (x->clen - off < REC_MIN || memcmp(x->c + off, "\x2a\x2a\x00\x00", 4) != 0)
		return false;
	sz = le32(x->c + off + 4);
	if (sz < REC_MIN || sz > x->clen - off || le32(x->c + off + sz - 4) != 0)
		return false;
	*size = sz;
	return true;
}

/* The next 8-aligned record signature at or after off, before lim; lim if none. */
static uint32_t
find_sig(const struct apd_evtx *x, uint32_t off, uint32_t lim)
{
	const unsigned char *q;

	if (lim > x->clen)
		lim = (uint32_t)x->clen;
	off = (off + 7) & ~7u;
	while (off < lim && x->clen - off >= REC_MIN) {
		/* memchr skips runs without a '*' (zeros, mostly) fast */
		q = memchr(x->c + off, 0x2a, lim - off);
		if (q == NULL)
			return lim;
		off = (uint32_t)(q - x->c);
		if (off & 7) {
			off = (off + 7) & ~7u;
			continue;
		}
		if (x->clen - off >= REC_MIN && x->c[off + 1] == 0x2a && x->c[off + 2] == 0 &&
		    x->c[off + 3] == 0)
			return off;
		off += 8;
	}
	return lim;
}

/* ---- reading the stream ---- */

/* Take up to want bytes: *p points at them (in place or copied), *got says how many. */
static int
take(struct apd_evtx *x, size_t want, const unsigned char **p, size_t *got)
{
	const void *vp;
	size_t have = 0, k;
	int rc;

	for (;;) {
		if (x->bpos == x->blen) {
			if (x->eof)
				break;
			rc = apd_stream_block(x->in, &vp, &x->blen);
			if (rc == APD_EOF) {
				x->eof = true;
				x->blen = x->bpos = 0;
				break;
			}
			if (rc != APD_OK)
				return rc;
			x->blk = vp;
			x->bpos = 0;
		}
		if (have == 0 && x->blen - x->bpos >= want) {
			*p = x->blk + x->bpos;
			*got = want;
			x->bpos += want;
			x->pos += want;
			return APD_OK;
		}
		k = want - have < x->blen - x->bpos ? want - have : x->blen - x->bpos;
		memcpy(x->buf + have, x->blk + x->bpos, k);
		have += k;
		x->bpos += k;
		if (have == want)
			break;
	}
	*p = x->buf;
	*got = have;
	x->pos += have;
	return APD_OK;
}

static int
read_header(struct apd_evtx *x)
{
	const unsigned char *h;
	size_t got;
	uint32_t crc;
	int rc;

	if ((rc = take(x, APD_EVTX_FILE_HEADER, &h, &got)) != APD_OK)
		return rc;
	x->state = ST_CHUNKS;
	if (got < 128) {
		x->state = ST_DONE;
		return warn(x, 0, "file header cut after %zu bytes: no chunks", got);
	}
	x->st.header_chunks = le16(h + 42);
	x->st.flags = le32(h + 120);
	x->st.minor = le16(h + 36);
	x->st.major = le16(h + 38);
	if (!(x->st.flags & 4) && (crc = apd_crc32(0, h, 120)) != le32(h + 124)) {
		x->st.crc_errors++;
		if ((rc = warn(x, 124, "file header CRC32 mismatch (stored 0x%08x, computed 0x%08x)",
		    le32(h + 124), crc)) != APD_OK)
			return rc;
	}
	if (x->st.major != 3 || le32(h + 32) != 128 || le16(h + 40) != APD_EVTX_FILE_HEADER)
		if ((rc = warn(x, 32, "unexpected file header: version %u.%u, header size %u, block "
		    "size %u", x->st.major, x->st.minor, le32(h + 32), le16(h + 40))) != APD_OK)
			return rc;
	if (got < APD_EVTX_FILE_HEADER) {
		x->state = ST_DONE;
		return warn(x, got, "file ends inside its 4096-byte header: no chunks");
	}
	return APD_OK;
}

/* Read the next slot and set up its reading.  APD_OK, APD_EOF or an error. */
static int
load_slot(struct apd_evtx *x)
{
	const unsigned char *c;
	uint32_t fso, crc;
	size_t got;
	int rc;

	if (x->state == ST_HEADER && (rc = read_header(x)) != APD_OK)
		return rc;
	if (x->state == ST_DONE)
		return APD_EOF;
	x->coff = x->pos;
	if ((rc = take(x, APD_EVTX_CHUNK, &c, &got)) != APD_OK)
		return rc;
	if (got == 0) {
		x->state = ST_DONE;
		return APD_EOF;
	}
	x->slot = (uint32_t)x->st.slots++;
	x->c = c;
	x->clen = got;
	x->gen++;
	x->nnames = 0;
	x->ntmpls = 0;
	x->nops = 0;
	arena_reset(x);
	x->slack_bad = 0;
	x->work = 0;
	x->chunk_ok = false;
	x->damaged = false;
	x->phase = PH_NONE;
	if (got >= 8 && memcmp(c, "ElfChnk\0", 8) == 0) {
		x->st.chunks++;
		x->chunk_ok = true;
		if (got < APD_EVTX_CHUNK &&
		    (rc = warn(x, x->coff + got, "chunk %u cut after %zu of 65536 bytes", x->slot,
		    got)) != APD_OK)
			return rc;
		if (got < APD_EVTX_CHUNK_HEADER) {
			x->phase = PH_NONE;
			return APD_OK;
		}
		fso = le32(c + 48);
		if (!(x->st.flags & 4)) {
			crc = apd_crc32(apd_crc32(0, c, 120), c + 128, 384);
			if (crc != le32(c + 124)) {
				x->st.crc_errors++;
				if ((rc = warn(x, x->coff + 124, "chunk %u: header CRC32 mismatch "
				    "(stored 0x%08x, computed 0x%08x)", x->slot, le32(c + 124), crc)) != APD_OK)
					return rc;
			}
			if (fso >= APD_EVTX_CHUNK_HEADER && fso <= got &&
			    (crc = apd_crc32(0, c + APD_EVTX_CHUNK_HEADER,
			    fso - APD_EVTX_CHUNK_HEADER)) != le32(c + 52)) {
				x->st.crc_errors++;
				if ((rc = warn(x, x->coff + 52, "chunk %u: records CRC32 mismatch (stored "
				    "0x%08x, computed 0x%08x)", x->slot, le32(c + 52), crc)) != APD_OK)
					return rc;
			}
		}
		if (fso < APD_EVTX_CHUNK_HEADER || fso > got) {
			if (got == APD_EVTX_CHUNK &&
			    (rc = warn(x, x->coff + 48, "chunk %u: free space offset %u outside the "
			    "chunk; records read up to its end", x->slot, fso)) != APD_OK)
				return rc;
			fso = (uint32_t)got;
		}
		x->off = APD_EVTX_CHUNK_HEADER;
		x->end = fso;
		x->phase = PH_ALLOC;
		return APD_OK;
	}
	if (all_zero(c, got)) {
		x->st.empty++;
		return APD_OK;
	}
	if ((rc = warn(x, x->coff, "slot %u: no chunk signature%s", x->slot,
	    x->recover ? "; searched for records" : "")) != APD_OK)
		return rc;
	if (x->recover) {
		x->off = 0;
		x->end = 0;
		x->phase = PH_SLACK;
	}
	return APD_OK;
}

/* Finish a slot's recovery pass: one warning for what could not be recovered. */
static int
end_slot(struct apd_evtx *x)
{
	x->phase = PH_NONE;
	if (x->slack_bad && (x->damaged || !x->chunk_ok))
		return warn(x, x->coff, "%s %u: %u record-like structures in unallocated space did "
		    "not decode", x->chunk_ok ? "chunk" : "slot", x->slot, x->slack_bad);
	return APD_OK;
}

int
apd_evtx_next(struct apd_evtx *x, const struct apd_evtx_record **rec)
{
	uint32_t size, off;
	int rc;

	for (;;) {
		switch (x->phase) {
		case PH_NONE:
			if ((rc = load_slot(x)) != APD_OK)
				return rc;
			continue;
		case PH_ALLOC:
			off = x->off;
			if (x->end - off < REC_MIN || x->end < off + REC_MIN) {
				x->phase = x->recover ? PH_SLACK : PH_NONE;
				continue;
			}
			if (memcmp(x->c + off, "\0\0\0\0", 4) == 0 && all_zero(x->c + off, 24)) {
				/* zeros where records should be: the chunk ends early */
				if ((rc = warn(x, x->coff + off, "chunk %u: records end at offset %u, "
				    "before the free space offset %u", x->slot, off, x->end)) != APD_OK)
					return rc;
				x->end = off;
				continue;
			}
			if (!record_at(x, off, &size)) {
				/* the allocated records end here: what follows may be another
				   generation's data (libevtx and the evtx crate stop here too),
				   so it is searched as unallocated space */
				x->damaged = true;
				x->phase = x->recover ? PH_SLACK : PH_NONE;
				x->off = off + 8;
				if (x->recover && cut_record_at(x, off, &size) &&
				    !decode_record(x, off, size, true)) {
					/* a record whose end was never written (zeros where the
					   copy of its size belongs): kept, as recovered */
					if ((rc = warn(x, x->coff + off, "chunk %u: record %llu at offset %u "
					    "ends without the copy of its size (its end was overwritten "
					    "or never written); kept as recovered, the records after it "
					    "are searched for", x->slot, (unsigned long long)x->rec.id,
					    off)) != APD_OK)
						return rc;
					id_add(x, x->rec.id);
					x->st.records++;
					x->st.recovered++;
					*rec = &x->rec;
					return APD_OK;
				}
				x->st.bad_records++;
				if ((rc = warn(x, x->coff + off, "chunk %u: no valid record at offset %u "
				    "(signature, size or copy of size wrong) before the free space offset "
				    "%u%s", x->slot, off, x->end, x->recover ? "; the rest of the chunk is "
				    "searched for records" : "")) != APD_OK)
					return rc;
				continue;
			}
			x->off = off + size;
			if (decode_record(x, off, size, false)) {
				x->st.bad_records++;
				if (x->work > WORK_MAX) {
					x->phase = PH_NONE;
					if ((rc = warn(x, x->coff + off, "chunk %u: record %llu at offset %u: "
					    "%s; the rest of the chunk is skipped", x->slot,
					    (unsigned long long)le64(x->c + off + 8), off, x->emsg)) != APD_OK)
						return rc;
					continue;
				}
				if ((rc = warn(x, x->coff + off, "chunk %u: record %llu at offset %u "
				    "skipped: %s", x->slot, (unsigned long long)le64(x->c + off + 8), off,
				    x->emsg)) != APD_OK)
					return rc;
				continue;
			}
			id_add(x, x->rec.id);
			x->st.records++;
			*rec = &x->rec;
			return APD_OK;
		case PH_SLACK:
			off = find_sig(x, x->off, (uint32_t)x->clen);
			if (off >= x->clen) {
				if ((rc = end_slot(x)) != APD_OK)
					return rc;
				continue;
			}
			if (!record_at(x, off, &size)) {
				x->off = off + 8;
				continue;
			}
			if (id_seen(x, le64(x->c + off + 8))) {
				x->st.duplicates++;
				x->off = off + size;
				continue;
			}
			if (decode_record(x, off, size, true)) {
				x->slack_bad++;
				x->off = off + 8;
				if (x->work > WORK_MAX) {
					x->phase = PH_NONE;
					if ((rc = warn(x, x->coff + off, "%s %u: %s; the rest of the slot is "
					    "not searched", x->chunk_ok ? "chunk" : "slot", x->slot,
					    x->emsg)) != APD_OK)
						return rc;
				}
				continue;
			}
			x->off = off + size;
			id_add(x, x->rec.id);
			x->st.records++;
			x->st.recovered++;
			*rec = &x->rec;
			return APD_OK;
		default:
			return APD_EOF;
		}
	}
}

/* ---- life cycle ---- */

static int
alloc_tables(struct apd_evtx *x)
{
	x->names = calloc(NAME_SLOTS, sizeof(*x->names));
	x->tmpls = calloc(TMPL_SLOTS, sizeof(*x->tmpls));
	x->vals = malloc(VALS_MAX * sizeof(*x->vals));
	x->ids = malloc(IDS_MAX * sizeof(*x->ids));
	x->gen = 1;
	apd_buf_init(&x->scratch, 8u * APD_EVTX_CHUNK);
	return x->names && x->tmpls && x->vals && x->ids ? APD_OK : APD_FATAL;
}

int
apd_evtx_new_mem(struct apd_evtx **out, struct apd_error *err)
{
	struct apd_evtx *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (x == NULL || alloc_tables(x) != APD_OK) {
		apd_evtx_free(x);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	x->path = "(memory)";
	x->err = err ? err : &x->own_err;
	x->state = ST_DONE;
	*out = x;
	return APD_OK;
}

int
apd_evtx_open(struct apd_evtx **out, struct apd_stream *in, const char *path, bool recover,
    apd_evtx_warn_fn warnfn, void *warn_ud, struct apd_error *err)
{
	const unsigned char *h;
	size_t hl;
	struct apd_evtx *x;
	int rc;

	*out = NULL;
	h = apd_stream_head(in, &hl);
	if (hl < 8 || memcmp(h, "ElfFile\0", 8) != 0)
		return apd_set_error(err, APD_FAILED, "%s: offset 0: %s", path,
		    hl == 0 ? "empty file, not an EVTX event log" :
		    "no \"ElfFile\" signature: not an EVTX event log");
	if ((rc = apd_evtx_new_mem(&x, err)) != APD_OK)
		return rc;
	x->in = in;
	x->path = path;
	x->recover = recover;
	x->warn = warnfn;
	x->warn_ud = warn_ud;
	x->state = ST_HEADER;
	x->buf = malloc(APD_EVTX_CHUNK);
	if (x->buf == NULL) {
		apd_evtx_free(x);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	*out = x;
	return APD_OK;
}

const struct apd_evtx_stats *
apd_evtx_stats(const struct apd_evtx *x)
{
	return &x->st;
}

bool
apd_evtx_warned(const struct apd_evtx *x)
{
	return x->warned;
}

void
apd_evtx_free(struct apd_evtx *x)
{
	struct arena_blk *b, *nb;

	if (x == NULL)
		return;
	for (b = x->arena; b; b = nb) {
		nb = b->next;
		free(b);
	}
	free(x->names);
	free(x->tmpls);
	free(x->ops);
	free(x->node);
	free(x->vals);
	free(x->ids);
	free(x->buf);
	apd_buf_done(&x->scratch);
	free(x);
}

int
apd_evtx_decode_one(struct apd_evtx *x, const unsigned char *chunk, size_t chunk_len,
    uint32_t rec_off, const struct apd_evtx_record **rec, struct apd_error *err)
{
	uint32_t size;

	if (chunk_len > APD_EVTX_CHUNK)
		chunk_len = APD_EVTX_CHUNK;
	x->c = chunk;
	x->clen = chunk_len;
	x->coff = 0;
	x->work = 0;
	x->gen++;
	x->nnames = 0;
	x->ntmpls = 0;
	x->nops = 0;
	arena_reset(x);
	if (rec_off > chunk_len || !record_at(x, rec_off, &size))
		return apd_set_error(err, APD_FAILED, "offset %u: no valid record", rec_off);
	if (decode_record(x, rec_off, size, false))
		return apd_set_error(err, APD_FAILED, "offset %u: %s", rec_off, x->emsg);
	*rec = &x->rec;
	return APD_OK;
}
