/*
 * apd_parse_evtx.c - Windows XML event logs (.evtx), over the decoder in
 * apd_evtx.c.
 *
 * One event per record, recovered records included (flagged):
 *   - ts_utc from System/TimeCreated/@SystemTime (the record header's
 *     written time when it is missing), tz utc;
 *   - channel, provider (Provider/@Name), event_id, level, record_id
 *     (EventRecordID), computer, user_sid (Security/@UserID), pid
 *     (Execution/@ProcessID) and thread (Execution/@ThreadID, as text);
 *   - data: a JSON object of every EventData and UserData field (below);
 *   - message: RenderingInfo/Message when the record carries one, else the
 *     fields as "Name=value; ..." (unnamed ones as the bare value).
 *
 * Field names (docs/sources/evtx.md):
 *   - EventData: <Data Name="X">v</Data> is "X"; an unnamed <Data> is its
 *     1-based position among the Data elements ("1", "2", ..., the %N of
 *     the provider's message); any other child keeps its element name
 *     ("Binary");
 *   - UserData: the fields below its one child element, by path: an
 *     element's text is "A.B", an attribute "A.B.attr" (xmlns left out);
 *   - a name that repeats (array values, repeated elements) becomes a JSON
 *     array of its values in order;
 *   - a value that is one integer is a JSON number; everything else a
 *     string, as evtxexport writes it (HexInt "0x...", SIDs, GUIDs, times).
 *
 * Only apd_parser_evtx is exported.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_evtx.h"
#include "apd_json.h"
#include "apd_simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX   4096u           /* fields kept per record */
#define TEXT_MAX    (16u << 20)     /* text of one record (data, message) */
#define PATH_MAX_N  1024u           /* a flattened UserData key */

struct field {
	const char *k;          /* key: a literal of the chunk (stable), or NULL: in keys */
	uint32_t koff, klen;    /* ... at keys.p + koff */
	uint32_t voff, vlen;    /* value as JSON, in data (in_data) or in vals */
	bool in_data;
	uint32_t hash;
	int32_t next;           /* next field with the same key, -1 */
	bool done;
};

struct ev {
	struct apd_parse *ps;
	struct apd_evtx *x;
	struct apd_buf keys, vals, data, data2, msg, tmp;
	struct apd_buf provider, channel, computer, sid, thread;
	struct field *f;
	size_t nf, cf;
	int32_t *tab;            /* key hash table for duplicate detection */
	size_t ntab;
	struct {                 /* keys written so far (fast path), by hash */
		uint32_t gen, hash;
		int32_t f;
	} seen[256];
	uint32_t gen;            /* records emitted: tells a slot of seen[] current */
	bool dup;                /* a key repeats: data is rebuilt from the fields */
	unsigned ndata;          /* Data elements seen: positional keys */
	bool has_message;        /* RenderingInfo/Message set the message */
	bool cut;                /* fields dropped at FIELD_MAX */
	unsigned long long warnings;
};

static int
warn_cb(void *ud, uint64_t offset, const char *msg)
{
	struct ev *e = ud;

	e->warnings++;
	return apd_emit_warn(e->ps->sink, 0, offset, "%s", msg);
}

/* A cheap key hash (length, first and last bytes); equal keys are confirmed by memcmp. */
static uint32_t
hash_key(const char *s, size_t n)
{
	uint64_t a = 0, b = 0;

	memcpy(&a, s, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&b, s + n - (n < 16 ? n - 8 : 8), n < 16 ? n - 8 : 8);
	a = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xFF51AFD7ED558CCDull;
	return (uint32_t)(a >> 32);
}

#if defined(__SSE2__)
/* The bytes of v that JSON escapes (json_put writes them itself). */
static unsigned
json_flag(__m128i v, int mode)
{
	(void)mode;
	return (unsigned)_mm_movemask_epi8(apd_simd_json_esc(v));
}
#endif

/*
 * Write s[0..n) at o as the inside of a JSON string; o has room for
 * 6 * n + 16 bytes.  Returns the new end.
 */
static char *
json_put(char *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c;
#if defined(__SSE2__)
		/* what needs no escaping is copied sixteen bytes at a time */
		i = apd_simd_copy_clean(&o, p, i, n, json_flag, 0);
		if (i >= n)
			break;
#endif
		c = p[i++];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u'; *o++ = '0'; *o++ = '0';
			*o++ = hex[c >> 4]; *o++ = hex[c & 15];
			break;
		}
	}
	return o;
}

/* Append s[0..n) to b as the inside of a JSON string. */
static int
json_text(struct apd_buf *b, const char *s, size_t n)
{
	int rc;

	if ((rc = apd_buf_room(b, 6 * n + 16)) != APD_OK)
		return rc;
	apd_buf_set_end(b, json_put(b->p + b->n, s, n));
	return APD_OK;
}

/*
 * The single value node of element or attribute i, or NULL when its text
 * is made of several nodes (or none).
 */
static const struct apd_evtx_node *
lone_value(const struct apd_evtx_record *r, size_t i)
{
	const struct apd_evtx_node *nd = &r->node[i];
	size_t j, end, v = 0, cnt = 0;

	if (nd->kind == APD_EVTX_ATTR)
		return nd->n == 1 ? &r->node[i + 1] : NULL;
	end = nd->n;
	for (j = i + 1; j < end && r->node[j].kind == APD_EVTX_ATTR; j += 1 + r->node[j].n)
		;
	for (; j < end; j++) {
		if (r->node[j].kind == APD_EVTX_OPEN) {
			j = r->node[j].n;
			continue;
		}
		if (++cnt > 1)
			return NULL;
		v = j;
	}
	return cnt == 1 ? &r->node[v] : NULL;
}

/*
 * Is field f's key new in this record?  Remembers it if so.  Past the
 * table's reach every key counts as possibly repeated (the slow path).
 */
static bool
new_key(struct ev *e, const struct field *f, const char *k, size_t kn)
{
	size_t h, i;

	if (e->nf >= 128)
		return false;
	for (i = 0, h = f->hash; i < 256; i++, h++) {
		struct field *g;
		h &= 255;
		if (e->seen[h].gen != e->gen) {
			e->seen[h].gen = e->gen;
			e->seen[h].hash = f->hash;
			e->seen[h].f = (int32_t)e->nf;
			return true;
		}
		g = &e->f[e->seen[h].f];
		if (e->seen[h].hash == f->hash && g->klen == kn &&
		    memcmp(g->k ? g->k : e->keys.p + g->koff, k, kn) == 0)
			return false;
	}
	return false;
}

/*
 * Add one field: key (k, kn) - a stable literal when kstable, else copied -
 * and as value the text of element or attribute i.  The value goes into the
 * message ("Name=value; ", or the bare value of a positional field) and, as
 * JSON, into vals.  Returns APD_OK or an apd_buf code.
 */
static int
add_field(struct ev *e, const char *k, size_t kn, bool kstable, const struct apd_evtx_record *r,
    size_t i)
{
	const struct apd_evtx_node *v = lone_value(r, i);
	struct apd_buf *t = e->has_message ? &e->tmp : &e->msg, *d;
	struct field *f;
	size_t v0, vn;
	int64_t num;
	bool is_num;
	char *o;
	int rc;

	if (e->nf >= FIELD_MAX) {
		e->cut = true;
		return APD_OK;
	}
	if (e->nf == e->cf) {
		size_t nc = e->cf ? e->cf * 2 : 64;
		struct field *nf = realloc(e->f, nc * sizeof(*nf));
		if (nf == NULL)
			return APD_FATAL;
		e->f = nf;
		e->cf = nc;
	}
	f = &e->f[e->nf];
	f->klen = (uint32_t)kn;
	if (kstable) {
		f->k = k;
	} else {
		f->k = NULL;
		f->koff = (uint32_t)e->keys.n;
		if ((rc = apd_buf_add(&e->keys, k, kn)) != APD_OK)
			return rc;
	}
	/* the message: "Name=value; " or the bare value of a positional field */
	if (t == &e->tmp) {
		apd_buf_reset(t);
	} else {
		if ((rc = apd_buf_room(t, kn + 4)) != APD_OK)
			return rc;
		o = t->p + t->n;
		if (t->n) {
			*o++ = ';';
			*o++ = ' ';
		}
		if (!(kn && k[0] >= '0' && k[0] <= '9')) {
			memcpy(o, k, kn);
			o += kn;
			*o++ = '=';
		}
		apd_buf_set_end(t, o);
	}
	v0 = t->n;
	is_num = v && v->kind == APD_EVTX_VALUE && v->type >= APD_EVTX_T_INT8 &&
	    v->type <= APD_EVTX_T_UINT64 && apd_evtx_value_int(v->type, v->p, v->n, &num);
	if (v && v->kind == APD_EVTX_VALUE)
		rc = apd_evtx_value_text(t, v->type, v->p, v->n, APD_EVTX_ESC_NONE);
	else if (r->node[i].kind == APD_EVTX_ATTR)
		rc = apd_evtx_attr_text(r, i, t, APD_EVTX_ESC_NONE);
	else
		rc = apd_evtx_element_text(r, i, t, APD_EVTX_ESC_NONE);
	if (rc != APD_OK)
		return rc;
	vn = t->n - v0;
	f->hash = hash_key(k, kn);
	f->next = -1;
	f->done = false;
	/* the usual case: a key not seen before is written into data at once;
	   after the first repeated key, values go to vals and data is rebuilt */
	f->in_data = !e->dup && new_key(e, f, k, kn);
	if (!f->in_data)
		e->dup = true;
	d = f->in_data ? &e->data : &e->vals;
	if ((rc = apd_buf_room(d, 6 * kn + 6 * vn + 40)) != APD_OK)
		return rc;
	o = d->p + d->n;
	if (f->in_data) {
		if (e->nf)
			*o++ = ',';
		*o++ = '"';
		o = json_put(o, k, kn);
		*o++ = '"';
		*o++ = ':';
	}
	f->voff = (uint32_t)(o - d->p);
	if (is_num) {
		memcpy(o, t->p + v0, vn);
		o += vn;
	} else {
		*o++ = '"';
		o = json_put(o, t->p ? t->p + v0 : "", vn);
		*o++ = '"';
	}
	f->vlen = (uint32_t)(o - d->p - f->voff);
	apd_buf_set_end(d, o);
	e->nf++;
	return APD_OK;
}

/* Is this attribute an XML namespace declaration? */
static bool
is_xmlns(const struct apd_evtx_name *nm)
{
	return nm->known == APD_EVTX_K_XMLNS || (nm->n > 6 && memcmp(nm->s, "xmlns:", 6) == 0);
}

/*
 * Flatten element i below a key prefix (path[0..pn)): its attributes as
 * "prefix.attr", its text as "prefix", its child elements as
 * "prefix.child..." recursively.
 */
static int
flatten(struct ev *e, const struct apd_evtx_record *r, size_t i, char *path, size_t pn)
{
	const struct apd_evtx_node *nd = &r->node[i];
	size_t j, end = nd->n, nl;
	bool text = false, kids = false, attrs = false;
	int rc;

	for (j = i + 1; j < end && r->node[j].kind == APD_EVTX_ATTR; j += 1 + r->node[j].n) {
		const struct apd_evtx_name *an = r->node[j].name;
		if (is_xmlns(an))
			continue;
		attrs = true;
		nl = pn + 1 + an->n;
		if (nl >= PATH_MAX_N)
			continue;
		path[pn] = '.';
		memcpy(path + pn + 1, an->s, an->n);
		if ((rc = add_field(e, path, nl, false, r, j)) != APD_OK)
			return rc;
	}
	for (; j < end; j++) {
		if (r->node[j].kind == APD_EVTX_OPEN) {
			kids = true;
			j = r->node[j].n;
		} else if (r->node[j].kind != APD_EVTX_CLOSE) {
			text = true;
		}
	}
	if (text || (!kids && !attrs)) {
		if ((rc = add_field(e, path, pn, false, r, i)) != APD_OK)
			return rc;
	}
	for (j = i + 1; j < end; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN)
			continue;
		nl = pn + 1 + c->name->n;
		if (nl < PATH_MAX_N) {
			path[pn] = '.';
			memcpy(path + pn + 1, c->name->s, c->name->n);
			if ((rc = flatten(e, r, j, path, nl)) != APD_OK)
				return rc;
		}
		j = c->n;
	}
	return APD_OK;
}

/* EventData: its children as fields. */
static int
event_data(struct ev *e, const struct apd_evtx_record *r, size_t i)
{
	char path[PATH_MAX_N];
	size_t j, end = r->node[i].n, k;
	int rc;

	for (j = i + 1; j < end; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN)
			continue;
		if (c->name->known == APD_EVTX_K_DATA) {
			const struct apd_evtx_node *nv = NULL;
			size_t na = 0;
			e->ndata++;
			for (k = j + 1; k < c->n && r->node[k].kind == APD_EVTX_ATTR;
			    k += 1 + r->node[k].n)
				if (r->node[k].name->known == APD_EVTX_K_NAME) {
					na = k;
					nv = lone_value(r, k);
					break;
				}
			if (nv && nv->kind == APD_EVTX_VALUE && nv->type == APD_EVTX_T_UTF8 && nv->n) {
				/* the usual case: the name is template text, already UTF-8 */
				rc = add_field(e, (const char *)nv->p, nv->n, true, r, j);
			} else if (na) {
				apd_buf_reset(&e->tmp);
				if ((rc = apd_evtx_attr_text(r, na, &e->tmp, APD_EVTX_ESC_NONE)) != APD_OK)
					return rc;
				if (e->tmp.n == 0 || e->tmp.n >= PATH_MAX_N)
					goto positional;
				memcpy(path, e->tmp.p, e->tmp.n);
				rc = add_field(e, path, e->tmp.n, false, r, j);
			} else {
positional:
				rc = add_field(e, path, (size_t)snprintf(path, sizeof(path), "%u", e->ndata),
				    false, r, j);
			}
		} else if (c->name->n < PATH_MAX_N) {
			memcpy(path, c->name->s, c->name->n);
			rc = flatten(e, r, j, path, c->name->n);
		} else {
			rc = APD_OK;
		}
		if (rc != APD_OK)
			return rc;
		j = c->n;
	}
	return APD_OK;
}

/* UserData: the fields below its one child element. */
static int
user_data(struct ev *e, const struct apd_evtx_record *r, size_t i)
{
	char path[PATH_MAX_N];
	size_t j, end = r->node[i].n, k;
	int rc;

	for (j = i + 1; j < end; j++) {
		const struct apd_evtx_node *w = &r->node[j];
		if (w->kind != APD_EVTX_OPEN)
			continue;
		/* the wrapper (<EventXML>, <LogFileCleared>, ...): its children */
		for (k = j + 1; k < w->n; k++) {
			const struct apd_evtx_node *c = &r->node[k];
			if (c->kind == APD_EVTX_OPEN) {
				if (c->name->n < PATH_MAX_N) {
					memcpy(path, c->name->s, c->name->n);
					if ((rc = flatten(e, r, k, path, c->name->n)) != APD_OK)
						return rc;
				}
				k = c->n;
			}
		}
		j = w->n;
	}
	return APD_OK;
}

/* Find attribute `known` of element i; its node index or 0. */
static size_t
find_attr(const struct apd_evtx_record *r, size_t i, unsigned known)
{
	size_t j;

	for (j = i + 1; j < r->node[i].n && r->node[j].kind == APD_EVTX_ATTR; j += 1 + r->node[j].n)
		if (r->node[j].name->known == known)
			return j;
	return 0;
}

/* The text of element i or attribute i into b (reset first). */
static int
text_of(const struct apd_evtx_record *r, size_t i, struct apd_buf *b)
{
	const struct apd_evtx_node *v = lone_value(r, i);

	apd_buf_reset(b);
	if (v && v->kind == APD_EVTX_VALUE)
		return apd_evtx_value_text(b, v->type, v->p, v->n, APD_EVTX_ESC_NONE);
	if (r->node[i].kind == APD_EVTX_ATTR)
		return apd_evtx_attr_text(r, i, b, APD_EVTX_ESC_NONE);
	return apd_evtx_element_text(r, i, b, APD_EVTX_ESC_NONE);
}

/* The integer in element or attribute i, or -1. */
static int64_t
int_of(struct ev *e, const struct apd_evtx_record *r, size_t i)
{
	const struct apd_evtx_node *v;
	int64_t n;

	if (r->node[i].kind == APD_EVTX_ATTR)
		v = r->node[i].n == 1 ? &r->node[i + 1] : NULL;
	else
		v = i + 2 == r->node[i].n ? &r->node[i + 1] : NULL;
	if (v && v->kind == APD_EVTX_VALUE && apd_evtx_value_int(v->type, v->p, v->n, &n))
		return n;
	if (text_of(r, i, &e->tmp) == APD_OK &&
	    apd_evtx_value_int(APD_EVTX_T_UTF8, (const unsigned char *)e->tmp.p, e->tmp.n, &n))
		return n;
	return -1;
}

/* The FILETIME in attribute i, or 0. */
static uint64_t
time_of(struct ev *e, const struct apd_evtx_record *r, size_t i)
{
	const struct apd_evtx_node *v = r->node[i].n == 1 ? &r->node[i + 1] : NULL;
	uint64_t ft;

	if (v && v->kind == APD_EVTX_VALUE && apd_evtx_value_filetime(v->type, v->p, v->n, &ft))
		return ft;
	if (text_of(r, i, &e->tmp) == APD_OK &&
	    apd_evtx_value_filetime(APD_EVTX_T_UTF8, (const unsigned char *)e->tmp.p, e->tmp.n, &ft))
		return ft;
	return 0;
}

static int64_t
ft_to_us(uint64_t ft)
{
	return (int64_t)(ft / 10) - 11644473600LL * 1000000;
}

/* System: the event's fixed fields. */
static int
system_fields(struct ev *e, const struct apd_evtx_record *r, size_t i, struct apd_event *ev,
    uint64_t *ft)
{
	size_t j, end = r->node[i].n, a;
	int rc = APD_OK;

	for (j = i + 1; j < end; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN)
			continue;
		switch (c->name->known) {
		case APD_EVTX_K_PROVIDER:
			if ((a = find_attr(r, j, APD_EVTX_K_NAME)) != 0 &&
			    (rc = text_of(r, a, &e->provider)) == APD_OK)
				ev->provider = apd_buf_sv(&e->provider);
			break;
		case APD_EVTX_K_EVENTID:
			ev->event_id = int_of(e, r, j);
			break;
		case APD_EVTX_K_LEVEL: {
			int64_t l = int_of(e, r, j);
			ev->level = l >= 0 && l <= 255 ? (int)l : 0;
			break;
		}
		case APD_EVTX_K_TIMECREATED:
			if ((a = find_attr(r, j, APD_EVTX_K_SYSTEMTIME)) != 0)
				*ft = time_of(e, r, a);
			break;
		case APD_EVTX_K_EVENTRECORDID:
			ev->record_id = int_of(e, r, j);
			break;
		case APD_EVTX_K_EXECUTION:
			if ((a = find_attr(r, j, APD_EVTX_K_PROCESSID)) != 0)
				ev->pid = int_of(e, r, a);
			if ((a = find_attr(r, j, APD_EVTX_K_THREADID)) != 0 &&
			    (rc = text_of(r, a, &e->thread)) == APD_OK)
				ev->thread = apd_buf_sv(&e->thread);
			break;
		case APD_EVTX_K_CHANNEL:
			if ((rc = text_of(r, j, &e->channel)) == APD_OK)
				ev->channel = apd_buf_sv(&e->channel);
			break;
		case APD_EVTX_K_COMPUTER:
			if ((rc = text_of(r, j, &e->computer)) == APD_OK)
				ev->computer = apd_buf_sv(&e->computer);
			break;
		case APD_EVTX_K_SECURITY:
			if ((a = find_attr(r, j, APD_EVTX_K_USERID)) != 0 &&
			    (rc = text_of(r, a, &e->sid)) == APD_OK)
				ev->user_sid = apd_buf_sv(&e->sid);
			break;
		default:
			break;
		}
		if (rc != APD_OK)
			return rc;
		j = c->n;
	}
	return APD_OK;
}

/* RenderingInfo/Message (forwarded events): the message as Windows rendered it. */
static int
rendering_info(struct ev *e, const struct apd_evtx_record *r, size_t i)
{
	size_t j;
	int rc;

	for (j = i + 1; j < r->node[i].n; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN)
			continue;
		if (c->name->known == APD_EVTX_K_MESSAGE) {
			apd_buf_reset(&e->msg);
			if ((rc = apd_evtx_element_text(r, j, &e->msg, APD_EVTX_ESC_NONE)) != APD_OK)
				return rc;
			e->has_message = e->msg.n > 0;
			return APD_OK;
		}
		j = c->n;
	}
	return APD_OK;
}

#define KEY(e, f) ((f)->k ? (f)->k : (e)->keys.p + (f)->koff)

/* data = the fields as one JSON object, repeated names as arrays. */
static int
build_data(struct ev *e)
{
	size_t i, want = 16, h;
	int32_t k;
	struct field *f;
	struct apd_buf *d = &e->data2, swap;
	int rc;

	if (!e->dup)   /* written as the fields came */
		return apd_buf_addc(&e->data, '}');
	apd_buf_reset(d);
	while (want < 2 * e->nf)
		want *= 2;
	if (want > e->ntab) {
		int32_t *nt = realloc(e->tab, want * sizeof(*nt));
		if (nt == NULL)
			return APD_FATAL;
		e->tab = nt;
		e->ntab = want;
	}
	for (i = 0; i < want; i++)
		e->tab[i] = -1;
	/* chain each field to the previous one with the same key */
	for (i = 0; i < e->nf; i++) {
		f = &e->f[i];
		for (h = f->hash & (want - 1);; h = (h + 1) & (want - 1)) {
			k = e->tab[h];
			if (k < 0) {
				e->tab[h] = (int32_t)i;
				break;
			}
			if (e->f[k].hash == f->hash && e->f[k].klen == f->klen &&
			    memcmp(KEY(e, &e->f[k]), KEY(e, f), f->klen) == 0) {
				while (e->f[k].next >= 0)
					k = e->f[k].next;
				e->f[k].next = (int32_t)i;
				f->done = true;   /* written with the first */
				break;
			}
		}
	}
	if ((rc = apd_buf_addc(d, '{')) != APD_OK)
		return rc;
	for (i = 0; i < e->nf; i++) {
		f = &e->f[i];
		if (f->done)
			continue;
		if (d->n > 1 && (rc = apd_buf_addc(d, ',')) != APD_OK)
			return rc;
		if ((rc = apd_buf_addc(d, '"')) != APD_OK ||
		    (rc = json_text(d, KEY(e, f), f->klen)) != APD_OK ||
		    (rc = apd_buf_add(d, "\":", 2)) != APD_OK)
			return rc;
		if (f->next >= 0 && (rc = apd_buf_addc(d, '[')) != APD_OK)
			return rc;
		for (k = (int32_t)i; k >= 0; k = e->f[k].next) {
			const struct field *g = &e->f[k];
			const struct apd_buf *src = g->in_data ? &e->data : &e->vals;
			if (k != (int32_t)i && (rc = apd_buf_addc(d, ',')) != APD_OK)
				return rc;
			if ((rc = apd_buf_add(d, src->p + g->voff, g->vlen)) != APD_OK)
				return rc;
		}
		if (f->next >= 0 && (rc = apd_buf_addc(d, ']')) != APD_OK)
			return rc;
	}
	if ((rc = apd_buf_addc(d, '}')) != APD_OK)
		return rc;
	swap = e->data;
	e->data = e->data2;
	e->data2 = swap;
	return APD_OK;
}

/* Fill ev from the record.  Returns APD_OK or an apd_buf code. */
static int
fill_event(struct ev *e, const struct apd_evtx_record *r, struct apd_event *ev)
{
	uint64_t ft = 0;
	size_t i, j;
	int rc;

	e->nf = 0;
	e->ndata = 0;
	e->has_message = false;
	e->cut = false;
	e->dup = false;
	if (++e->gen == 0) {
		memset(e->seen, 0, sizeof(e->seen));
		e->gen = 1;
	}
	apd_buf_reset(&e->keys);
	apd_buf_reset(&e->vals);
	apd_buf_reset(&e->msg);
	apd_buf_reset(&e->data);
	if ((rc = apd_buf_addc(&e->data, '{')) != APD_OK)
		return rc;
	for (i = 0; i < r->nnode; i++) {
		const struct apd_evtx_node *root = &r->node[i];
		if (root->kind != APD_EVTX_OPEN || root->depth != 0)
			continue;
		for (j = i + 1; j < root->n; j++) {
			const struct apd_evtx_node *c = &r->node[j];
			if (c->kind != APD_EVTX_OPEN)
				continue;
			switch (c->name->known) {
			case APD_EVTX_K_SYSTEM:
				rc = system_fields(e, r, j, ev, &ft);
				break;
			case APD_EVTX_K_EVENTDATA:
				rc = event_data(e, r, j);
				break;
			case APD_EVTX_K_USERDATA:
				rc = user_data(e, r, j);
				break;
			case APD_EVTX_K_RENDERINGINFO:
				rc = rendering_info(e, r, j);
				break;
			default:
				rc = APD_OK;
				break;
			}
			if (rc != APD_OK)
				return rc;
			j = c->n;
		}
		i = root->n;
	}
	if (ft == 0)
		ft = r->written;
	if (ft) {
		ev->ts_utc = ft_to_us(ft);
		ev->tz = APD_TZ_UTC;
	}
	if (ev->record_id < 0)
		ev->record_id = r->id <= (uint64_t)INT64_MAX ? (int64_t)r->id : -1;
	ev->recovered = r->recovered;
	ev->offset = r->offset;
	if ((rc = build_data(e)) != APD_OK)
		return rc;
	ev->data = apd_buf_sv(&e->data);
	ev->message = apd_buf_sv(&e->msg);
	return APD_OK;
}

/*
 * One record into one event.  A record whose text passes the caps is
 * skipped with a warning.  Returns APD_OK, APD_FATAL or the sink's code.
 */
static int
emit_record(struct ev *e, const struct apd_evtx_record *r)
{
	struct apd_event ev;
	int rc;

	apd_event_init(&ev);
	rc = fill_event(e, r, &ev);
	if (rc == APD_FAILED) {
		e->warnings++;
		return apd_emit_warn(e->ps->sink, 0, r->offset, "record %llu: its text is larger "
		    "than %u bytes; skipped", (unsigned long long)r->id, TEXT_MAX);
	}
	if (rc != APD_OK)
		return rc;
	if (e->cut) {
		e->warnings++;
		if ((rc = apd_emit_warn(e->ps->sink, 0, r->offset, "record %llu: more than %u "
		    "fields; the rest left out of data", (unsigned long long)r->id, FIELD_MAX)) != APD_OK)
			return rc;
	}
	return apd_emit_event(e->ps->sink, &ev);
}

static void
ev_init(struct ev *e, struct apd_parse *ps)
{
	memset(e, 0, sizeof(*e));
	e->ps = ps;
	apd_buf_init(&e->keys, TEXT_MAX);
	apd_buf_init(&e->vals, TEXT_MAX);
	apd_buf_init(&e->data, TEXT_MAX);
	apd_buf_init(&e->data2, TEXT_MAX);
	apd_buf_init(&e->msg, TEXT_MAX);
	apd_buf_init(&e->tmp, TEXT_MAX);
	apd_buf_init(&e->provider, 64 * 1024);
	apd_buf_init(&e->channel, 64 * 1024);
	apd_buf_init(&e->computer, 64 * 1024);
	apd_buf_init(&e->sid, 64 * 1024);
	apd_buf_init(&e->thread, 64 * 1024);
}

static void
ev_done(struct ev *e)
{
	apd_buf_done(&e->keys);
	apd_buf_done(&e->vals);
	apd_buf_done(&e->data);
	apd_buf_done(&e->data2);
	apd_buf_done(&e->msg);
	apd_buf_done(&e->tmp);
	apd_buf_done(&e->provider);
	apd_buf_done(&e->channel);
	apd_buf_done(&e->computer);
	apd_buf_done(&e->sid);
	apd_buf_done(&e->thread);
	free(e->f);
	free(e->tab);
	apd_evtx_free(e->x);
}

/*
 * Decode the whole file.  Returns APD_OK, APD_WARN (damage was reported in
 * warnings; ps->err sums it up), APD_FAILED (not an EVTX file, or the
 * stream failed), or the sink's code.
 */
static int
run(struct apd_parse *ps)
{
	const struct apd_evtx_record *r;
	const struct apd_evtx_stats *s;
	struct ev e;
	int rc;

	ev_init(&e, ps);
	rc = apd_evtx_open(&e.x, ps->in, ps->path, true, warn_cb, &e, ps->err);
	if (rc == APD_OK)
		while ((rc = apd_evtx_next(e.x, &r)) == APD_OK)
			if ((rc = emit_record(&e, r)) != APD_OK)
				break;
	if (rc == APD_EOF) {
		rc = APD_OK;
		s = apd_evtx_stats(e.x);
		if (apd_evtx_warned(e.x) || e.warnings) {
			rc = APD_WARN;
			apd_set_error(ps->err, APD_WARN, "%s: damaged event log: %llu warnings "
			    "(%llu CRC mismatches, %llu records skipped, %llu recovered); see the "
			    "warning table", ps->path, e.warnings, (unsigned long long)s->crc_errors,
			    (unsigned long long)s->bad_records, (unsigned long long)s->recovered);
		}
	}
	ev_done(&e);
	return rc;
}

static int
bid(const struct apd_probe *pr)
{
	if (pr->len >= 8 && memcmp(pr->head, "ElfFile\0", 8) == 0)
		return 64;
	/* a name alone never wins against content, but an empty or cut file
	   named .evtx is still an event log, not "unknown" */
	if (apd_name_iendswith(pr->name, ".evtx"))
		return 8;
	return -1;
}

const struct apd_parser apd_parser_evtx = {
	.name = "evtx",
	.kind = "evtx",
	.bid = bid,
	.run = run,
	.note = NULL,
};
