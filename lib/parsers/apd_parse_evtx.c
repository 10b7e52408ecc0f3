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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX   4096u           /* fields kept per record */
#define TEXT_MAX    (16u << 20)     /* text of one record (data, message) */
#define PATH_MAX_N  1024u           /* a flattened UserData key */

struct field {
	uint32_t koff, klen;    /* key in keys */
	uint32_t voff, vlen;    /* value as JSON in vals */
	uint32_t hash;
	int32_t next;           /* next field with the same key, -1 */
	bool done;
};

struct ev {
	struct apd_parse *ps;
	struct apd_evtx *x;
	struct apd_buf keys, vals, data, msg, tmp;
	struct apd_buf provider, channel, computer, sid, thread;
	struct field *f;
	size_t nf, cf;
	int32_t *tab;            /* key hash table for duplicate detection */
	size_t ntab;
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

static uint32_t
hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/*
 * Add one field: key k (UTF-8), value the text of nodes (element i's own
 * text, or attribute i's value).  Returns APD_OK or an apd_buf code.
 */
static int
add_field(struct ev *e, const char *k, size_t kn, const struct apd_evtx_record *r, size_t i,
    bool attr)
{
	const struct apd_evtx_node *nd = &r->node[i];
	struct field *f;
	size_t vstart, j, nvals = 0, vi = 0;
	int64_t num;
	bool is_num = false;
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
	/* one integer value: a JSON number */
	if (attr) {
		if (nd->n == 1) {
			nvals = 1;
			vi = i + 1;
		}
	} else {
		size_t end = nd->n;
		for (j = i + 1; j < end && r->node[j].kind == APD_EVTX_ATTR; j += 1 + r->node[j].n)
			;
		for (; j < end; j++) {
			if (r->node[j].kind == APD_EVTX_OPEN) {
				j = r->node[j].n;
				continue;
			}
			nvals++;
			vi = j;
		}
	}
	if (nvals == 1 && r->node[vi].kind == APD_EVTX_VALUE && r->node[vi].type >= APD_EVTX_T_INT8 &&
	    r->node[vi].type <= APD_EVTX_T_UINT64 &&
	    apd_evtx_value_int(r->node[vi].type, r->node[vi].p, r->node[vi].n, &num))
		is_num = true;
	apd_buf_reset(&e->tmp);
	rc = attr ? apd_evtx_attr_text(r, i, &e->tmp, APD_EVTX_ESC_NONE) :
	    apd_evtx_element_text(r, i, &e->tmp, APD_EVTX_ESC_NONE);
	if (rc != APD_OK)
		return rc;
	f = &e->f[e->nf];
	f->koff = (uint32_t)e->keys.n;
	f->klen = (uint32_t)kn;
	if ((rc = apd_buf_add(&e->keys, k, kn)) != APD_OK)
		return rc;
	vstart = e->vals.n;
	if (is_num)
		rc = apd_buf_add(&e->vals, e->tmp.p, e->tmp.n);
	else
		rc = apd_json_escape(&e->vals, apd_buf_sv(&e->tmp));
	if (rc != APD_OK)
		return rc;
	f->voff = (uint32_t)vstart;
	f->vlen = (uint32_t)(e->vals.n - vstart);
	f->hash = hash_key(k, kn);
	f->next = -1;
	f->done = false;
	e->nf++;
	/* the message: "Name=value; " or the bare value of a positional field */
	if (!e->has_message) {
		if (e->msg.n && (rc = apd_buf_add(&e->msg, "; ", 2)) != APD_OK)
			return rc;
		if (!(kn && k[0] >= '0' && k[0] <= '9')) {
			if ((rc = apd_buf_add(&e->msg, k, kn)) != APD_OK ||
			    (rc = apd_buf_addc(&e->msg, '=')) != APD_OK)
				return rc;
		}
		rc = apd_buf_add(&e->msg, e->tmp.p ? e->tmp.p : "", e->tmp.n);
	}
	return rc;
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
		if ((rc = add_field(e, path, nl, r, j, true)) != APD_OK)
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
		if ((rc = add_field(e, path, pn, r, i, false)) != APD_OK)
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
	char pos[24];
	size_t j, end = r->node[i].n, k, pn;
	int rc;

	for (j = i + 1; j < end; j++) {
		const struct apd_evtx_node *c = &r->node[j];
		if (c->kind != APD_EVTX_OPEN)
			continue;
		if (c->name->known == APD_EVTX_K_DATA) {
			bool named = false;
			e->ndata++;
			for (k = j + 1; k < c->n && r->node[k].kind == APD_EVTX_ATTR;
			    k += 1 + r->node[k].n) {
				if (r->node[k].name->known != APD_EVTX_K_NAME)
					continue;
				apd_buf_reset(&e->tmp);
				if ((rc = apd_evtx_attr_text(r, k, &e->tmp, APD_EVTX_ESC_NONE)) != APD_OK)
					return rc;
				if (e->tmp.n == 0 || e->tmp.n >= PATH_MAX_N)
					break;
				memcpy(path, e->tmp.p, e->tmp.n);
				pn = e->tmp.n;
				named = true;
				break;
			}
			if (!named) {
				pn = (size_t)snprintf(pos, sizeof(pos), "%u", e->ndata);
				memcpy(path, pos, pn);
			}
			if ((rc = add_field(e, path, pn, r, j, false)) != APD_OK)
				return rc;
		} else {
			memcpy(path, c->name->s, c->name->n < PATH_MAX_N ? c->name->n : 0);
			if (c->name->n < PATH_MAX_N &&
			    (rc = flatten(e, r, j, path, c->name->n)) != APD_OK)
				return rc;
		}
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
	apd_buf_reset(b);
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

/* data = the fields as one JSON object, repeated names as arrays. */
static int
build_data(struct ev *e)
{
	size_t i, want = 16, h;
	int32_t k;
	struct field *f;
	int rc;

	apd_buf_reset(&e->data);
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
			    memcmp(e->keys.p + e->f[k].koff, e->keys.p + f->koff, f->klen) == 0) {
				/* append to k's chain */
				while (e->f[k].next >= 0)
					k = e->f[k].next;
				e->f[k].next = (int32_t)i;
				f->done = true;   /* written with the first */
				break;
			}
		}
	}
	if ((rc = apd_buf_addc(&e->data, '{')) != APD_OK)
		return rc;
	for (i = 0; i < e->nf; i++) {
		f = &e->f[i];
		if (f->done)
			continue;
		if (e->data.n > 1 && (rc = apd_buf_addc(&e->data, ',')) != APD_OK)
			return rc;
		if ((rc = apd_json_escape(&e->data, apd_sv(e->keys.p + f->koff, f->klen))) != APD_OK ||
		    (rc = apd_buf_addc(&e->data, ':')) != APD_OK)
			return rc;
		if (f->next < 0) {
			rc = apd_buf_add(&e->data, e->vals.p + f->voff, f->vlen);
		} else {
			rc = apd_buf_addc(&e->data, '[');
			for (k = (int32_t)i; k >= 0 && rc == APD_OK; k = e->f[k].next) {
				if (k != (int32_t)i)
					rc = apd_buf_addc(&e->data, ',');
				if (rc == APD_OK)
					rc = apd_buf_add(&e->data, e->vals.p + e->f[k].voff, e->f[k].vlen);
			}
			if (rc == APD_OK)
				rc = apd_buf_addc(&e->data, ']');
		}
		if (rc != APD_OK)
			return rc;
	}
	return apd_buf_addc(&e->data, '}');
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
	apd_buf_reset(&e->keys);
	apd_buf_reset(&e->vals);
	apd_buf_reset(&e->msg);
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
