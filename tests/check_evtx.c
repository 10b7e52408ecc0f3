/*
 * check_evtx.c - the EVTX decoder (lib/apd_evtx*.c) and parser
 * (lib/parsers/apd_parse_evtx.c).
 *
 * The files are built here, byte by byte, by a small writer (struct cb,
 * struct fb below): records with inline and referenced template
 * definitions and names, every token and value type, and the damage the
 * decoder must survive.  Test names say what each one reproduces; the
 * regression fixtures in tests/data/evtx/ are named after the bug they
 * reproduce (README.md there).
 *
 * Core:     fields, data and message of a record; every value type as XML
 *           text and JSON; arrays; optional substitutions; nested BinXML;
 *           tokens (CharRef, EntityRef, CDATA, PI); template and name reuse.
 * Damage:   CRCs, dirty headers, bad chunk signatures, slack recovery and
 *           de-duplication, cut and corrupt records, truncated files.
 * Hostile:  depth, nesting, counts, offsets and sizes out of bounds,
 *           unknown tokens, node explosion through arrays.
 * Blocks:   the same file in blocks of 1, 7, 4096 bytes and whole.
 * Corpus:   ../shared/corpus/evtx (skipped when absent): counts of a few
 *           files and decoding every file without a failure.
 *
 * With APD_EVTX_WRITE_FIXTURES=DIR set, the fixture test writes the seed
 * files of tests/data/evtx (types.evtx, templates.evtx, damaged.evtx) to DIR.
 */
#include "apd_test.h"
#include "apd_evtx.h"
#include "apd_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK APD_EVTX_CHUNK

/* ---------------------------------------------------------------- writer */

/* A chunk being built; offsets are relative to its start. */
struct cb {
	unsigned char *c;
	uint32_t pos;
	uint64_t first, last;   /* record ids */
	uint32_t nrec, last_rec;
};

static void
cb_init(struct cb *b)
{
	b->c = calloc(1, CHUNK);
	ck_assert_ptr_nonnull(b->c);
	b->pos = APD_EVTX_CHUNK_HEADER;
	b->first = b->last = 0;
	b->nrec = 0;
	b->last_rec = 0;
}

static void
p8(struct cb *b, unsigned v)
{
	ck_assert_uint_lt(b->pos, CHUNK);
	b->c[b->pos++] = (unsigned char)v;
}

static void
p16(struct cb *b, unsigned v)
{
	p8(b, v & 0xFF);
	p8(b, (v >> 8) & 0xFF);
}

static void
p32(struct cb *b, uint32_t v)
{
	p16(b, v & 0xFFFF);
	p16(b, v >> 16);
}

static void
p64(struct cb *b, uint64_t v)
{
	p32(b, (uint32_t)v);
	p32(b, (uint32_t)(v >> 32));
}

static void
pbytes(struct cb *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->pos + n, CHUNK);
	if (n)
		memcpy(b->c + b->pos, p, n);
	b->pos += (uint32_t)n;
}

static void
patch32(struct cb *b, uint32_t at, uint32_t v)
{
	b->c[at] = v & 0xFF;
	b->c[at + 1] = (v >> 8) & 0xFF;
	b->c[at + 2] = (v >> 16) & 0xFF;
	b->c[at + 3] = v >> 24;
}

/* ASCII as UTF-16LE, without a NUL. */
static void
putf16(struct cb *b, const char *s)
{
	while (*s)
		p16(b, (unsigned char)*s++);
}

/* A name stored inline right after its reference; returns its offset. */
static uint32_t
name_inline(struct cb *b, const char *s)
{
	uint32_t off = b->pos + 4, h = 0;
	const char *q;

	for (q = s; *q; q++)
		h = h * 65599 + (unsigned char)*q;
	p32(b, off);
	p32(b, 0);
	p16(b, h & 0xFFFF);
	p16(b, (unsigned)strlen(s));
	putf16(b, s);
	p16(b, 0);
	return off;
}

/* Element start: inline name, or a reference to an earlier name when s is NULL. */
static uint32_t
open_el(struct cb *b, bool dep, bool attrs, const char *s, uint32_t ref)
{
	uint32_t off = ref;

	p8(b, attrs ? 0x41 : 0x01);
	if (dep)
		p16(b, 0xFFFF);
	p32(b, 0);   /* data size: not used */
	if (s)
		off = name_inline(b, s);
	else
		p32(b, ref);
	if (attrs)
		p32(b, 0);
	return off;
}

static uint32_t
attr(struct cb *b, const char *s, uint32_t ref)
{
	p8(b, 0x06);
	if (s)
		return name_inline(b, s);
	p32(b, ref);
	return ref;
}

static void
subst(struct cb *b, unsigned idx, unsigned type, bool optional)
{
	p8(b, optional ? 0x0E : 0x0D);
	p16(b, idx);
	p8(b, type);
}

static void
text(struct cb *b, const char *s)
{
	p8(b, 0x05);
	p8(b, 0x01);
	p16(b, (unsigned)strlen(s));
	putf16(b, s);
}

static void close_start(struct cb *b) { p8(b, 0x02); }
static void close_empty(struct cb *b) { p8(b, 0x03); }
static void end_el(struct cb *b) { p8(b, 0x04); }

/* <name>%idx</name> inside a template. */
static void
el_subst(struct cb *b, const char *name, unsigned idx, unsigned type, bool opt)
{
	open_el(b, true, false, name, 0);
	close_start(b);
	subst(b, idx, type, opt);
	end_el(b);
}

/* <name attr="%idx"/> inside a template. */
static void
el_attr_subst(struct cb *b, const char *name, const char *an, unsigned idx, unsigned type,
    bool opt)
{
	open_el(b, true, true, name, 0);
	attr(b, an, 0);
	subst(b, idx, type, opt);
	close_empty(b);
}

/* A template instance with its definition inline, written by body(). */
static uint32_t
tmpl_inline(struct cb *b, void (*body)(struct cb *, const void *), const void *arg)
{
	static const unsigned char guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint32_t def, szpos, start;

	p8(b, 0x0C);
	p8(b, 1);
	p32(b, 0x12345678);
	def = b->pos + 4;
	p32(b, def);
	p32(b, 0);
	pbytes(b, guid, 16);
	szpos = b->pos;
	p32(b, 0);
	start = b->pos;
	p8(b, 0x0F); p8(b, 1); p8(b, 1); p8(b, 0);
	body(b, arg);
	p8(b, 0x00);
	patch32(b, szpos, b->pos - start);
	return def;
}

static void
tmpl_ref(struct cb *b, uint32_t def)
{
	p8(b, 0x0C);
	p8(b, 1);
	p32(b, 0x12345678);
	p32(b, def);
}

struct val {
	unsigned type;
	const void *p;
	unsigned n;
};

static void
values(struct cb *b, const struct val *v, size_t n)
{
	size_t i;

	p32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		p16(b, v[i].n);
		p8(b, v[i].type);
		p8(b, 0);
	}
	for (i = 0; i < n; i++)
		pbytes(b, v[i].p, v[i].n);
}

#define FT_2025 133850000000000000ull   /* 2025-02-22T... as a FILETIME */

/* Start a record: header and fragment header.  Returns its offset. */
static uint32_t
rec_begin(struct cb *b, uint64_t id)
{
	uint32_t at = b->pos;

	pbytes(b, "\x2a\x2a\x00\x00", 4);
	p32(b, 0);
	p64(b, id);
	p64(b, FT_2025 + id * 10000000);
	p8(b, 0x0F); p8(b, 1); p8(b, 1); p8(b, 0);
	return at;
}

/* End a record: pad to 8 bytes, copy of the size. */
static void
rec_end(struct cb *b, uint32_t at)
{
	uint64_t id;

	while ((b->pos + 4 - at) % 8)
		p8(b, 0);
	p32(b, b->pos + 4 - at);
	patch32(b, at + 4, b->pos - at);
	memcpy(&id, b->c + at + 8, 8);
	if (b->nrec++ == 0)
		b->first = id;
	b->last = id;
	b->last_rec = at;
}

/* Fill in the chunk header and its CRCs. */
static void
chunk_finish(struct cb *b)
{
	unsigned char *c = b->c;
	uint32_t crc;
	int i;

	memcpy(c, "ElfChnk\0", 8);
	for (i = 0; i < 8; i++) {
		c[8 + i] = (unsigned char)((uint64_t)1 >> (8 * i));
		c[16 + i] = (unsigned char)((uint64_t)b->nrec >> (8 * i));
		c[24 + i] = (unsigned char)(b->first >> (8 * i));
		c[32 + i] = (unsigned char)(b->last >> (8 * i));
	}
	patch32(b, 40, 128);
	patch32(b, 44, b->last_rec);
	patch32(b, 48, b->pos);
	patch32(b, 52, (uint32_t)crc32(0, c + 512, b->pos - 512));
	crc = (uint32_t)crc32(0, c, 120);
	crc = (uint32_t)crc32(crc, c + 128, 384);
	patch32(b, 124, crc);
}

/* A file: header and chunk slots. */
struct fb {
	unsigned char *p;
	size_t n;
};

static void
fb_init(struct fb *f, unsigned chunks_claimed, uint32_t flags)
{
	uint32_t crc;
	struct cb h;

	f->p = calloc(1, APD_EVTX_FILE_HEADER);
	f->n = APD_EVTX_FILE_HEADER;
	h.c = f->p;
	memcpy(f->p, "ElfFile\0", 8);
	f->p[16] = (unsigned char)(chunks_claimed ? chunks_claimed - 1 : 0);
	f->p[24] = 100;
	patch32(&h, 32, 128);
	f->p[36] = 1;
	f->p[38] = 3;
	f->p[40] = 0x00;
	f->p[41] = 0x10;
	f->p[42] = (unsigned char)chunks_claimed;
	patch32(&h, 120, flags);
	crc = (uint32_t)crc32(0, f->p, 120);
	patch32(&h, 124, crc);
}

static void
fb_add(struct fb *f, const unsigned char *p, size_t n)
{
	f->p = realloc(f->p, f->n + n);
	ck_assert_ptr_nonnull(f->p);
	memcpy(f->p + f->n, p, n);
	f->n += n;
}

static void
fb_chunk(struct fb *f, struct cb *b)
{
	fb_add(f, b->c, CHUNK);
	free(b->c);
	b->c = NULL;
}

/* ------------------------------------------------- the standard template */

/*
 * Event/System as Windows writes it, then EventData with one Data per
 * entry of names (NULL-terminated).  Values: 0 Provider, 1 EventID,
 * 2 Level, 3 TimeCreated, 4 EventRecordID, 5 ProcessID, 6 ThreadID,
 * 7 Channel, 8 Computer, 9 UserID (optional), then 10... the Data.
 */
struct std_args {
	const char *const *names;     /* Data names; "" for an unnamed Data */
	const unsigned *types;        /* their value types */
	bool optional;                /* Data substitutions optional */
	bool no_event_data;
};

static void
std_body(struct cb *b, const void *arg)
{
	const struct std_args *a = arg;
	size_t i;

	open_el(b, true, true, "Event", 0);
	attr(b, "xmlns", 0);
	text(b, "http://schemas.microsoft.com/win/2004/08/events/event");
	close_start(b);
	open_el(b, true, false, "System", 0);
	close_start(b);
	el_attr_subst(b, "Provider", "Name", 0, APD_EVTX_T_STRING, false);
	el_subst(b, "EventID", 1, APD_EVTX_T_UINT16, false);
	el_subst(b, "Level", 2, APD_EVTX_T_UINT8, false);
	el_attr_subst(b, "TimeCreated", "SystemTime", 3, APD_EVTX_T_FILETIME, false);
	el_subst(b, "EventRecordID", 4, APD_EVTX_T_UINT64, false);
	open_el(b, true, true, "Execution", 0);
	attr(b, "ProcessID", 0);
	subst(b, 5, APD_EVTX_T_UINT32, false);
	attr(b, "ThreadID", 0);
	subst(b, 6, APD_EVTX_T_UINT32, false);
	close_empty(b);
	el_subst(b, "Channel", 7, APD_EVTX_T_STRING, false);
	el_subst(b, "Computer", 8, APD_EVTX_T_STRING, false);
	el_attr_subst(b, "Security", "UserID", 9, APD_EVTX_T_SID, true);
	end_el(b);   /* System */
	if (!a->no_event_data) {
		open_el(b, true, false, "EventData", 0);
		close_start(b);
		for (i = 0; a->names && a->names[i]; i++) {
			if (a->names[i][0]) {
				open_el(b, true, true, "Data", 0);
				attr(b, "Name", 0);
				text(b, a->names[i]);
				close_start(b);
			} else {
				open_el(b, true, false, "Data", 0);
				close_start(b);
			}
			subst(b, 10 + (unsigned)i, a->types ? a->types[i] : APD_EVTX_T_STRING,
			    a->optional);
			end_el(b);
		}
		end_el(b);   /* EventData */
	}
	end_el(b);   /* Event */
}

static const unsigned char sid_system[] = { 1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0 };

/* The ten System values; u16s holds UTF-16 copies of the strings. */
struct sysvals {
	unsigned char provider[256], channel[256], computer[256];
	uint16_t eid;
	uint8_t level;
	uint64_t ft, rid;
	uint32_t pid, tid;
};

static size_t
u16(unsigned char *out, const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++) {
		out[2 * i] = (unsigned char)s[i];
		out[2 * i + 1] = 0;
	}
	return 2 * n;
}

static void
sys_values(struct sysvals *s, struct val *v, uint64_t rid, unsigned eid)
{
	s->eid = (uint16_t)eid;
	s->level = 2;
	s->ft = 133850000000000000ull + 1234567;   /* 2025-02-22T16:53:20.1234567Z */
	s->rid = rid;
	s->pid = 4242;
	s->tid = 77;
	v[0] = (struct val){ APD_EVTX_T_STRING, s->provider,
		(unsigned)u16(s->provider, "Microsoft-Windows-ModernDeployment-Diagnostics-Provider") };
	v[1] = (struct val){ APD_EVTX_T_UINT16, &s->eid, 2 };
	v[2] = (struct val){ APD_EVTX_T_UINT8, &s->level, 1 };
	v[3] = (struct val){ APD_EVTX_T_FILETIME, &s->ft, 8 };
	v[4] = (struct val){ APD_EVTX_T_UINT64, &s->rid, 8 };
	v[5] = (struct val){ APD_EVTX_T_UINT32, &s->pid, 4 };
	v[6] = (struct val){ APD_EVTX_T_UINT32, &s->tid, 4 };
	v[7] = (struct val){ APD_EVTX_T_STRING, s->channel,
		(unsigned)u16(s->channel, "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot") };
	v[8] = (struct val){ APD_EVTX_T_STRING, s->computer, (unsigned)u16(s->computer, "PC01") };
	v[9] = (struct val){ APD_EVTX_T_SID, sid_system, sizeof(sid_system) };
}

/* ---------------------------------------------------------------- running */

static const struct apd_parser *
evtx(void)
{
	const struct apd_parser *p = apd_parser_find("evtx");

	ck_assert_ptr_nonnull(p);
	ck_assert_msg(p->run != NULL, "evtx has no run()");
	return p;
}

static int
parse_fb(const struct fb *f, size_t block, struct apd_test_out *o, struct apd_error *err)
{
	apd_test_out_init(o);
	return apd_test_parse_mem_ex(evtx(), f->p, f->n, "test.evtx", NULL, block, o, err);
}

/* Decode record rec_off of a chunk and render it as XML (static buffer). */
static const char *
xml_of(const unsigned char *chunk, uint32_t rec_off, struct apd_error *err, int *rc)
{
	static struct apd_buf out;
	const struct apd_evtx_record *r;
	struct apd_evtx *x;

	apd_buf_done(&out);
	apd_buf_init(&out, 1 << 24);
	ck_assert_int_eq(apd_evtx_new_mem(&x, err), APD_OK);
	*rc = apd_evtx_decode_one(x, chunk, CHUNK, rec_off, &r, err);
	if (*rc == APD_OK)
		ck_assert_int_eq(apd_evtx_render_xml(r, &out), APD_OK);
	apd_evtx_free(x);
	return out.p ? out.p : "";
}

#define ck_contains(hay, needle) \
	ck_assert_msg(apd_test_contains((hay), (needle)), "'%s' not in:\n%s", (needle), (hay) ? (hay) : "(null)")

/* ---------------------------------------------------------------- core */

/* One ordinary record: every indexed field, data and message. */
START_TEST(test_evtx_record_fields)
{
	static const char *const names[] = { "HRESULT", "Message", NULL };
	static const unsigned types[] = { APD_EVTX_T_INT32, APD_EVTX_T_STRING };
	const struct std_args a = { names, types, false, false };
	unsigned char msg[64];
	int32_t hr = (int32_t)0x80072EFD;
	struct sysvals sv;
	struct val v[12];
	struct apd_test_out o;
	struct apd_error err;
	struct cb b;
	struct fb f;
	uint32_t at;
	const struct apd_test_event *e;

	cb_init(&b);
	at = rec_begin(&b, 7);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 7, 807);
	v[10] = (struct val){ APD_EVTX_T_INT32, &hr, 4 };
	v[11] = (struct val){ APD_EVTX_T_STRING, msg, (unsigned)u16(msg, "ZtdDeviceIsNotRegistered") };
	values(&b, v, 12);
	rec_end(&b, at);
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);

	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	e = &o.ev[0];
	ck_assert_str_eq(e->provider, "Microsoft-Windows-ModernDeployment-Diagnostics-Provider");
	ck_assert_str_eq(e->channel, "Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot");
	ck_assert_int_eq(e->event_id, 807);
	ck_assert_int_eq(e->level, 2);
	ck_assert_int_eq(e->record_id, 7);
	ck_assert_str_eq(e->computer, "PC01");
	ck_assert_str_eq(e->user_sid, "S-1-5-18");
	ck_assert_int_eq(e->pid, 4242);
	ck_assert_str_eq(e->thread, "77");
	ck_assert_int_eq(e->tz, APD_TZ_UTC);
	/* 133850000000000000 + 1234567 (100 ns) since 1601, to microseconds since 1970 */
	ck_assert_int_eq(e->ts_utc, (int64_t)(133850000001234567ull / 10) - 11644473600LL * 1000000);
	ck_assert(!e->recovered);
	ck_assert_uint_eq(e->offset, APD_EVTX_FILE_HEADER + 512);
	/* a negative Int32 keeps its sign: the HRESULT as Windows logs it */
	ck_assert_str_eq(e->data, "{\"HRESULT\":-2147012867,\"Message\":\"ZtdDeviceIsNotRegistered\"}");
	ck_assert_str_eq(e->message, "HRESULT=-2147012867; Message=ZtdDeviceIsNotRegistered");
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * libevtx 20181227 prints a negative Int32 as minus its low 31 bits
 * (0x80072EFD as -470781); apdiag writes the true value in XML as well.
 */
START_TEST(test_evtx_int32_negative_libevtx_bug)
{
	static const char *const names[] = { "ErrorCode", NULL };
	static const unsigned types[] = { APD_EVTX_T_INT32 };
	const struct std_args a = { names, types, false, false };
	int32_t hr = (int32_t)0x80072EFD;
	struct sysvals sv;
	struct val v[11];
	struct apd_error err;
	struct cb b;
	uint32_t at;
	const char *xml;
	int rc;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[10] = (struct val){ APD_EVTX_T_INT32, &hr, 4 };
	values(&b, v, 11);
	rec_end(&b, at);
	xml = xml_of(b.c, at, &err, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_contains(xml, "<Data Name=\"ErrorCode\">-2147012867</Data>");
	free(b.c);
}
END_TEST

/* Every value type, as text (XML) and in data (JSON). */
START_TEST(test_evtx_value_types)
{
	static const char *const names[] = {
		"i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "r32", "r64", "b0", "b1",
		"b2", "bin", "guid", "size4", "size8", "ft", "st", "sid", "hex32", "hex64", "ansi",
		"str", "null", "handle", NULL
	};
	static const unsigned types[] = {
		APD_EVTX_T_INT8, APD_EVTX_T_UINT8, APD_EVTX_T_INT16, APD_EVTX_T_UINT16,
		APD_EVTX_T_INT32, APD_EVTX_T_UINT32, APD_EVTX_T_INT64, APD_EVTX_T_UINT64,
		APD_EVTX_T_REAL32, APD_EVTX_T_REAL64, APD_EVTX_T_BOOL, APD_EVTX_T_BOOL,
		APD_EVTX_T_BOOL, APD_EVTX_T_BINARY, APD_EVTX_T_GUID, APD_EVTX_T_SIZET,
		APD_EVTX_T_SIZET, APD_EVTX_T_FILETIME, APD_EVTX_T_SYSTEMTIME, APD_EVTX_T_SID,
		APD_EVTX_T_HEX32, APD_EVTX_T_HEX64, APD_EVTX_T_ANSI, APD_EVTX_T_STRING,
		APD_EVTX_T_NULL, APD_EVTX_T_EVTHANDLE,
	};
	const struct std_args a = { names, types, false, false };
	int8_t i8 = -5;
	uint8_t u8 = 255;
	int16_t i16 = -300;
	uint16_t u16v = 65535;
	int32_t i32 = -2147483647 - 1;
	uint32_t u32 = 4294967295u, b0 = 0, b1 = 1, b2 = 2, hex32 = 0x8018002B;
	int64_t i64 = INT64_MIN;
	uint64_t u64 = UINT64_MAX, size8 = 0x100000000ull, ft = 116444736000000000ull + 15,
	    hex64 = 0x0080000000000000ull, handle = 0x1122334455667788ull;
	uint32_t size4 = 42;
	float r32 = 1.5f;
	double r64 = -0.25;
	static const unsigned char bin[] = { 0xDE, 0xAD, 0x01 };
	static const unsigned char guid[16] = { 0x53, 0xEE, 0xDE, 0x1E, 0xFE, 0x0A, 0x09, 0x46,
		0xB8, 0x46, 0xD8, 0xC0, 0xB2, 0x07, 0x5B, 0x1F };
	static const uint16_t st[8] = { 2025, 10, 3, 1, 9, 5, 7, 42 };
	static const unsigned char sid[] = { 1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0,
		2, 0, 0, 0, 3, 0, 0, 0, 0xF4, 1, 0, 0 };
	/* "café™" in Windows-1252, then a NUL */
	static const unsigned char ansi[] = { 'c', 'a', 'f', 0xE9, 0x99, 0 };
	/* "A<&>" "\"" U+1F600 (a surrogate pair), an unpaired surrogate, NUL-terminated */
	static const unsigned char str[] = { 'A', 0, '<', 0, '&', 0, '>', 0, '"', 0,
		0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 'z', 0, 0, 0 };
	struct sysvals sv;
	struct val v[36];
	struct apd_test_out o;
	struct apd_error err;
	struct cb b;
	struct fb f;
	uint32_t at;
	const char *xml;
	int rc;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 100);
	v[10] = (struct val){ APD_EVTX_T_INT8, &i8, 1 };
	v[11] = (struct val){ APD_EVTX_T_UINT8, &u8, 1 };
	v[12] = (struct val){ APD_EVTX_T_INT16, &i16, 2 };
	v[13] = (struct val){ APD_EVTX_T_UINT16, &u16v, 2 };
	v[14] = (struct val){ APD_EVTX_T_INT32, &i32, 4 };
	v[15] = (struct val){ APD_EVTX_T_UINT32, &u32, 4 };
	v[16] = (struct val){ APD_EVTX_T_INT64, &i64, 8 };
	v[17] = (struct val){ APD_EVTX_T_UINT64, &u64, 8 };
	v[18] = (struct val){ APD_EVTX_T_REAL32, &r32, 4 };
	v[19] = (struct val){ APD_EVTX_T_REAL64, &r64, 8 };
	v[20] = (struct val){ APD_EVTX_T_BOOL, &b0, 4 };
	v[21] = (struct val){ APD_EVTX_T_BOOL, &b1, 4 };
	v[22] = (struct val){ APD_EVTX_T_BOOL, &b2, 4 };
	v[23] = (struct val){ APD_EVTX_T_BINARY, bin, sizeof(bin) };
	v[24] = (struct val){ APD_EVTX_T_GUID, guid, 16 };
	v[25] = (struct val){ APD_EVTX_T_SIZET, &size4, 4 };
	v[26] = (struct val){ APD_EVTX_T_SIZET, &size8, 8 };
	v[27] = (struct val){ APD_EVTX_T_FILETIME, &ft, 8 };
	v[28] = (struct val){ APD_EVTX_T_SYSTEMTIME, st, 16 };
	v[29] = (struct val){ APD_EVTX_T_SID, sid, sizeof(sid) };
	v[30] = (struct val){ APD_EVTX_T_HEX32, &hex32, 4 };
	v[31] = (struct val){ APD_EVTX_T_HEX64, &hex64, 8 };
	v[32] = (struct val){ APD_EVTX_T_ANSI, ansi, sizeof(ansi) };
	v[33] = (struct val){ APD_EVTX_T_STRING, str, sizeof(str) };
	v[34] = (struct val){ APD_EVTX_T_NULL, NULL, 0 };
	v[35] = (struct val){ APD_EVTX_T_EVTHANDLE, &handle, 8 };
	values(&b, v, 36);
	rec_end(&b, at);

	xml = xml_of(b.c, at, &err, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_contains(xml, "<Data Name=\"i8\">-5</Data>");
	ck_contains(xml, "<Data Name=\"u8\">255</Data>");
	ck_contains(xml, "<Data Name=\"i16\">-300</Data>");
	ck_contains(xml, "<Data Name=\"u16\">65535</Data>");
	ck_contains(xml, "<Data Name=\"i32\">-2147483648</Data>");
	ck_contains(xml, "<Data Name=\"u32\">4294967295</Data>");
	ck_contains(xml, "<Data Name=\"i64\">-9223372036854775808</Data>");
	ck_contains(xml, "<Data Name=\"u64\">18446744073709551615</Data>");
	ck_contains(xml, "<Data Name=\"r32\">1.5</Data>");
	ck_contains(xml, "<Data Name=\"r64\">-0.25</Data>");
	ck_contains(xml, "<Data Name=\"b0\">false</Data>");
	ck_contains(xml, "<Data Name=\"b1\">true</Data>");
	ck_contains(xml, "<Data Name=\"b2\">true</Data>");
	ck_contains(xml, "<Data Name=\"bin\">DEAD01</Data>");
	ck_contains(xml, "<Data Name=\"guid\">{1EDEEE53-0AFE-4609-B846-D8C0B2075B1F}</Data>");
	ck_contains(xml, "<Data Name=\"size4\">42</Data>");
	ck_contains(xml, "<Data Name=\"size8\">4294967296</Data>");
	ck_contains(xml, "<Data Name=\"ft\">1970-01-01T00:00:00.000001500Z</Data>");
	ck_contains(xml, "<Data Name=\"st\">2025-10-01T09:05:07.042Z</Data>");
	ck_contains(xml, "<Data Name=\"sid\">S-1-5-21-1-2-3-500</Data>");
	ck_contains(xml, "<Data Name=\"hex32\">0x8018002b</Data>");
	ck_contains(xml, "<Data Name=\"hex64\">0x0080000000000000</Data>");
	/* 8-bit strings are not escaped in XML (as evtxexport); UTF-16 strings are */
	ck_contains(xml, "<Data Name=\"ansi\">caf\xC3\xA9\xE2\x84\xA2</Data>");
	ck_contains(xml, "<Data Name=\"str\">A&lt;&amp;&gt;\"\xF0\x9F\x98\x80\xEF\xBF\xBDz</Data>");
	ck_contains(xml, "<Data Name=\"null\"/>");
	ck_contains(xml, "<Data Name=\"handle\">8877665544332211</Data>");

	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	ck_contains(o.ev[0].data, "\"i8\":-5,\"u8\":255,\"i16\":-300,\"u16\":65535,"
	    "\"i32\":-2147483648,\"u32\":4294967295,\"i64\":-9223372036854775808,"
	    "\"u64\":18446744073709551615,\"r32\":\"1.5\"");
	ck_contains(o.ev[0].data, "\"str\":\"A<&>\\\"\xF0\x9F\x98\x80\xEF\xBF\xBDz\"");
	ck_contains(o.ev[0].data, "\"null\":\"\"");
	ck_contains(o.ev[0].data, "\"hex32\":\"0x8018002b\"");
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * The reference for test_evtx_text_every_length: unit by unit, as the
 * format says (a NUL ends the text; XML escapes & < >, JSON " \ and the
 * controls; other units become UTF-8).  Units here are below U+0800.
 */
static size_t
ref_text(char *o, const uint16_t *u, size_t n, enum apd_evtx_esc esc)
{
	char *s = o;
	size_t i;

	for (i = 0; i < n && u[i]; i++) {
		unsigned c = u[i];
		if (c >= 0x80) {
			*o++ = (char)(0xC0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3F));
		} else if (esc == APD_EVTX_ESC_XML && (c == '&' || c == '<' || c == '>')) {
			o += sprintf(o, "%s", c == '&' ? "&amp;" : c == '<' ? "&lt;" : "&gt;");
		} else if (esc == APD_EVTX_ESC_JSON && (c < 0x20 || c == '"' || c == '\\')) {
			o += c == '"' ? sprintf(o, "\\\"") : c == '\\' ? sprintf(o, "\\\\") :
			    c == '\n' ? sprintf(o, "\\n") : c == '\r' ? sprintf(o, "\\r") :
			    c == '\t' ? sprintf(o, "\\t") : sprintf(o, "\\u%04x", c);
		} else {
			*o++ = (char)c;
		}
	}
	return (size_t)(o - s);
}

/*
 * UTF-16 and 8-bit strings of every length up to 40 with one unit that
 * leaves the fast path (not ASCII, escaped, a control, a NUL) at every
 * position, or none: the decoder reads them sixteen bytes at a time and
 * reads a short end again, so every length and position meets a different
 * block boundary.  Each value sits alone in a heap block of its own size,
 * so that a read past it fails under ASan.
 */
START_TEST(test_evtx_text_every_length)
{
	static const uint16_t odd[] = { 0xE9, '&', '<', '"', '\\', '\n', 0x01, 0 };
	static const enum apd_evtx_esc escs[] = { APD_EVTX_ESC_NONE, APD_EVTX_ESC_XML,
		APD_EVTX_ESC_JSON };
	struct apd_buf b;
	uint16_t u[40];
	char want[40 * 6 + 1];
	size_t n, at, k, e, i, wn;
	unsigned long checked = 0;

	apd_buf_init(&b, 1u << 20);
	for (n = 0; n <= 40; n++)
		for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
			for (at = 0; at <= n; at++) {   /* at == n: no odd unit */
				unsigned char *w = malloc(2 * n + 1), *a = malloc(n + 1);
				ck_assert_ptr_nonnull(w);
				ck_assert_ptr_nonnull(a);
				for (i = 0; i < n; i++)
					u[i] = i == at ? odd[k] : (uint16_t)('a' + (i * 7 + n) % 26);
				for (i = 0; i < n; i++) {
					w[2 * i] = (unsigned char)u[i];
					w[2 * i + 1] = (unsigned char)(u[i] >> 8);
					a[i] = (unsigned char)u[i];   /* 0xE9 is U+00E9 in Windows-1252 too */
				}
				for (e = 0; e < 3; e++) {
					apd_buf_reset(&b);
					ck_assert_int_eq(apd_evtx_value_text(&b, APD_EVTX_T_STRING, w, 2 * n,
					    escs[e]), APD_OK);
					wn = ref_text(want, u, n, escs[e]);
					if (b.n != wn || memcmp(b.p, want, wn) != 0)
						ck_abort_msg("UTF-16, %zu units, U+%04X at %zu, escape %zu: "
						    "'%.*s', want '%.*s'", n, odd[k], at, e, (int)b.n, b.p,
						    (int)wn, want);
					/* 8-bit strings: XML leaves them as they are (as evtxexport) */
					apd_buf_reset(&b);
					ck_assert_int_eq(apd_evtx_value_text(&b, APD_EVTX_T_ANSI, a, n,
					    escs[e]), APD_OK);
					wn = ref_text(want, u, n, escs[e] == APD_EVTX_ESC_XML ?
					    APD_EVTX_ESC_NONE : escs[e]);
					if (b.n != wn || memcmp(b.p, want, wn) != 0)
						ck_abort_msg("8-bit, %zu bytes, 0x%02X at %zu, escape %zu: "
						    "'%.*s', want '%.*s'", n, odd[k], at, e, (int)b.n, b.p,
						    (int)wn, want);
					checked += 2;
				}
				free(w);
				free(a);
			}
	ck_assert_uint_eq(checked, 6 * 8 * (41 * 42 / 2));
	apd_buf_done(&b);
}
END_TEST

/* Array values repeat their element; in data a repeated name is a JSON array. */
START_TEST(test_evtx_arrays)
{
	static const char *const names[] = { "Strings", "Numbers", "Empty", NULL };
	static const unsigned types[] = { APD_EVTX_T_STRING | 0x80, APD_EVTX_T_UINT32 | 0x80,
		APD_EVTX_T_STRING | 0x80 };
	const struct std_args a = { names, types, false, false };
	static const unsigned char strs[] = { 'a', 0, 0, 0, 'b', 0, 'c', 0, 0, 0, 0, 0 };
	static const uint32_t nums[3] = { 1, 2, 3 };
	struct sysvals sv;
	struct val v[13];
	struct apd_test_out o;
	struct apd_error err;
	struct cb b;
	struct fb f;
	uint32_t at;
	const char *xml;
	int rc;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[10] = (struct val){ APD_EVTX_T_STRING | 0x80, strs, sizeof(strs) };
	v[11] = (struct val){ APD_EVTX_T_UINT32 | 0x80, nums, sizeof(nums) };
	v[12] = (struct val){ APD_EVTX_T_STRING | 0x80, strs, 0 };
	values(&b, v, 13);
	rec_end(&b, at);
	xml = xml_of(b.c, at, &err, &rc);
	ck_assert_int_eq(rc, APD_OK);
	/* "a", "bc", "" (the list ends at the last NUL) */
	ck_contains(xml, "<Data Name=\"Strings\">a</Data>\n    <Data Name=\"Strings\">bc</Data>\n"
	    "    <Data Name=\"Strings\"/>\n    <Data Name=\"Numbers\">1</Data>\n"
	    "    <Data Name=\"Numbers\">2</Data>\n    <Data Name=\"Numbers\">3</Data>\n"
	    "    <Data Name=\"Empty\"/>\n");
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_str_eq(o.ev[0].data, "{\"Strings\":[\"a\",\"bc\",\"\"],\"Numbers\":[1,2,3],\"Empty\":\"\"}");
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * Optional substitutions with a Null value drop their element or attribute;
 * normal ones keep an empty element; a substitution past the value table
 * keeps its element empty (libevtx does the same).
 */
START_TEST(test_evtx_optional_substitutions)
{
	static const char *const names[] = { "Opt", "Missing", NULL };
	const struct std_args a = { names, NULL, true, false };
	struct sysvals sv;
	struct val v[11];
	struct apd_error err;
	struct cb b;
	uint32_t at;
	const char *xml;
	int rc;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[9] = (struct val){ APD_EVTX_T_NULL, NULL, 0 };     /* Security/@UserID: optional */
	v[10] = (struct val){ APD_EVTX_T_NULL, NULL, 0 };    /* Opt: optional, Null */
	values(&b, v, 11);                                   /* no value 11: Missing */
	rec_end(&b, at);
	xml = xml_of(b.c, at, &err, &rc);
	ck_assert_int_eq(rc, APD_OK);
	ck_contains(xml, "<Security/>");
	ck_assert_msg(!apd_test_contains(xml, "\"Opt\""), "%s", xml);
	ck_contains(xml, "<EventData>\n    <Data Name=\"Missing\"/>\n  </EventData>");
	free(b.c);
}
END_TEST

/* Template to be nested as a BinXML value: <EventXML><Param>%0</Param>...</EventXML>. */
static void
userdata_body(struct cb *b, const void *arg)
{
	(void)arg;
	open_el(b, true, true, "EventXML", 0);
	attr(b, "xmlns", 0);
	text(b, "urn:test");
	close_start(b);
	el_subst(b, "Param1", 0, APD_EVTX_T_STRING, false);
	open_el(b, true, true, "Item", 0);
	attr(b, "Kind", 0);
	subst(b, 1, APD_EVTX_T_UINT32, false);
	close_empty(b);
	end_el(b);
}

static void
outer_userdata_body(struct cb *b, const void *arg)
{
	(void)arg;
	open_el(b, true, false, "Event", 0);
	close_start(b);
	open_el(b, true, false, "System", 0);
	close_start(b);
	el_subst(b, "EventID", 0, APD_EVTX_T_UINT16, false);
	end_el(b);
	open_el(b, true, false, "UserData", 0);
	close_start(b);
	subst(b, 1, APD_EVTX_T_BINXML, false);
	end_el(b);
	end_el(b);
}

/* UserData as nested BinXML (a template instance inside a value), flattened by path. */
START_TEST(test_evtx_nested_binxml_userdata)
{
	unsigned char s1[32];
	uint16_t eid = 5;
	uint32_t kind = 3, at, start;
	struct val iv[2];
	struct apd_test_out o;
	struct apd_error err;
	struct cb b;
	struct fb f;
	const char *xml;
	int rc;

	cb_init(&b);
	at = rec_begin(&b, 9);
	tmpl_inline(&b, outer_userdata_body, NULL);
	/* the outer values: EventID, then the nested fragment, written in
	   place (its chunk offsets must be right); its size is patched after */
	p32(&b, 2);
	p16(&b, 2); p8(&b, APD_EVTX_T_UINT16); p8(&b, 0);
	start = b.pos;
	p16(&b, 0); p8(&b, APD_EVTX_T_BINXML); p8(&b, 0);
	pbytes(&b, &eid, 2);
	{
		uint32_t v0 = b.pos;
		p8(&b, 0x0F); p8(&b, 1); p8(&b, 1); p8(&b, 0);
		tmpl_inline(&b, userdata_body, NULL);
		iv[0] = (struct val){ APD_EVTX_T_STRING, s1, (unsigned)u16(s1, "hello") };
		iv[1] = (struct val){ APD_EVTX_T_UINT32, &kind, 4 };
		values(&b, iv, 2);
		p8(&b, 0x00);
		b.c[start] = (unsigned char)((b.pos - v0) & 0xFF);
		b.c[start + 1] = (unsigned char)((b.pos - v0) >> 8);
	}
	rec_end(&b, at);
	xml = xml_of(b.c, at, &err, &rc);
	ck_assert_msg(rc == APD_OK, "%s", err.msg);
	ck_assert_str_eq(xml, "<Event>\n  <System>\n    <EventID>5</EventID>\n  </System>\n"
	    "  <UserData>\n    <EventXML xmlns=\"urn:test\">\n      <Param1>hello</Param1>\n"
	    "      <Item Kind=\"3\"/>\n    </EventXML>\n  </UserData>\n</Event>\n\n");
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_str_eq(o.ev[0].data, "{\"Param1\":\"hello\",\"Item.Kind\":3}");
	ck_assert_str_eq(o.ev[0].message, "Param1=hello; Item.Kind=3");
	ck_assert_int_eq(o.ev[0].event_id, 5);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* Unnamed Data get positional keys ("1", "2": the %N of the message); Binary keeps its name. */
static void
classic_body(struct cb *b, const void *arg)
{
	(void)arg;
	open_el(b, true, false, "Event", 0);
	close_start(b);
	open_el(b, true, false, "EventData", 0);
	close_start(b);
	el_subst(b, "Data", 0, APD_EVTX_T_STRING, false);
	el_subst(b, "Data", 1, APD_EVTX_T_STRING, false);
	el_subst(b, "Binary", 2, APD_EVTX_T_BINARY, false);
	end_el(b);
	end_el(b);
}

START_TEST(test_evtx_positional_data)
{
	unsigned char s1[16], s2[16];
	static const unsigned char bin[] = { 0xD9, 0x06, 0, 0 };
	struct val v[3];
	struct apd_test_out o;
	struct apd_error err;
	struct cb b;
	struct fb f;
	uint32_t at;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, classic_body, NULL);
	v[0] = (struct val){ APD_EVTX_T_STRING, s1, (unsigned)u16(s1, "WSearch") };
	v[1] = (struct val){ APD_EVTX_T_STRING, s2, (unsigned)u16(s2, "two") };
	v[2] = (struct val){ APD_EVTX_T_BINARY, bin, 4 };
	values(&b, v, 3);
	rec_end(&b, at);
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_str_eq(o.ev[0].data, "{\"1\":\"WSearch\",\"2\":\"two\",\"Binary\":\"D9060000\"}");
	ck_assert_str_eq(o.ev[0].message, "WSearch; two; Binary=D9060000");
	/* no System: the record header gives the time and the record id */
	ck_assert_int_eq(o.ev[0].record_id, 1);
	ck_assert_int_eq(o.ev[0].tz, APD_TZ_UTC);
	ck_assert_ptr_null(o.ev[0].provider);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * A second record uses the first's template by offset (compiled once);
 * names referenced by offset; a raw element without template and without
 * dependency ids; a PI before it; CharRef, EntityRef, CDATA.
 */
START_TEST(test_evtx_tokens_and_reuse)
{
	static const char *const names[] = { "A", NULL };
	const struct std_args a = { names, NULL, false, false };
	unsigned char s[16];
	struct sysvals sv;
	struct val v[11];
	struct apd_error err;
	const struct apd_evtx_record *r;
	struct apd_evtx *x;
	struct apd_buf out;
	struct cb b;
	uint32_t at1, at2, at3, def, nm;

	cb_init(&b);
	at1 = rec_begin(&b, 1);
	def = tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[10] = (struct val){ APD_EVTX_T_STRING, s, (unsigned)u16(s, "first") };
	values(&b, v, 11);
	rec_end(&b, at1);
	at2 = rec_begin(&b, 2);
	tmpl_ref(&b, def);
	sys_values(&sv, v, 2, 2);
	v[10] = (struct val){ APD_EVTX_T_STRING, s, (unsigned)u16(s, "second") };
	values(&b, v, 11);
	rec_end(&b, at2);
	/* a raw record: <?xml-stylesheet href?><Raw A="x&amp;&#65;"><![CDATA[c]]><Raw/></Raw> */
	at3 = rec_begin(&b, 3);
	p8(&b, 0x0A);
	name_inline(&b, "xml-stylesheet");
	p8(&b, 0x0B);
	p16(&b, 4);
	putf16(&b, "href");
	nm = open_el(&b, false, true, "Raw", 0);
	attr(&b, "A", 0);
	text(&b, "x");
	p8(&b, 0x09);
	name_inline(&b, "amp");
	p8(&b, 0x08);
	p16(&b, 65);
	close_start(&b);
	p8(&b, 0x07);
	p16(&b, 1);
	putf16(&b, "c");
	open_el(&b, false, false, NULL, nm);   /* the name by reference */
	close_empty(&b);
	end_el(&b);
	p8(&b, 0x00);
	rec_end(&b, at3);

	apd_buf_init(&out, 1 << 20);
	ck_assert_int_eq(apd_evtx_new_mem(&x, &err), APD_OK);
	ck_assert_int_eq(apd_evtx_decode_one(x, b.c, CHUNK, at1, &r, &err), APD_OK);
	ck_assert_int_eq(apd_evtx_render_xml(r, &out), APD_OK);
	ck_contains(out.p, "<Data Name=\"A\">first</Data>");
	ck_assert_int_eq(apd_evtx_decode_one(x, b.c, CHUNK, at2, &r, &err), APD_OK);
	apd_buf_reset(&out);
	ck_assert_int_eq(apd_evtx_render_xml(r, &out), APD_OK);
	ck_contains(out.p, "<Data Name=\"A\">second</Data>");
	ck_assert_int_eq(apd_evtx_decode_one(x, b.c, CHUNK, at3, &r, &err), APD_OK);
	apd_buf_reset(&out);
	ck_assert_int_eq(apd_evtx_render_xml(r, &out), APD_OK);
	/* entity references are written as their character, as evtxexport does */
	ck_assert_str_eq(out.p, "<?xml-stylesheet href?>\n<Raw A=\"x&amp;&#65;\">\n"
	    "  <![CDATA[c]]>\n  <Raw/>\n</Raw>\n\n");
	apd_evtx_free(x);
	apd_buf_done(&out);
	free(b.c);
}
END_TEST

/* One template definition used by every record of a chunk is compiled once. */
START_TEST(test_evtx_template_compiled_once)
{
	static const char *const names[] = { "A", NULL };
	const struct std_args a = { names, NULL, false, false };
	unsigned char s[16];
	struct sysvals sv;
	struct val v[11];
	struct apd_error err;
	const struct apd_evtx_record *r;
	struct apd_evtx *x;
	struct apd_mem_src m;
	struct apd_stream st;
	struct cb b;
	struct fb f;
	uint32_t at, def = 0;
	int i, n = 0, rc;

	cb_init(&b);
	for (i = 1; i <= 50; i++) {
		at = rec_begin(&b, (uint64_t)i);
		if (i == 1)
			def = tmpl_inline(&b, std_body, &a);
		else
			tmpl_ref(&b, def);
		sys_values(&sv, v, (uint64_t)i, 1);
		v[10] = (struct val){ APD_EVTX_T_STRING, s, (unsigned)u16(s, "x") };
		values(&b, v, 11);
		rec_end(&b, at);
	}
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	m = (struct apd_mem_src){ f.p, f.n, 0 };
	ck_assert_int_eq(apd_stream_open(&st, apd_mem_block, &m, "t", (int64_t)f.n, UINT64_MAX,
	    &err), APD_OK);
	ck_assert_int_eq(apd_evtx_open(&x, &st, "t", true, NULL, NULL, &err), APD_OK);
	while ((rc = apd_evtx_next(x, &r)) == APD_OK)
		n++;
	ck_assert_int_eq(rc, APD_EOF);
	ck_assert_int_eq(n, 50);
	ck_assert_uint_eq(apd_evtx_stats(x)->templates, 1);
	ck_assert(!apd_evtx_warned(x));
	apd_evtx_free(x);
	apd_stream_close(&st);
	free(f.p);
}
END_TEST

/* apd_crc32 (carry-less folding where the CPU has it) equals zlib's crc32. */
START_TEST(test_evtx_crc32_equals_zlib)
{
	unsigned char *buf = malloc(70000);
	size_t off, n, i;
	uint32_t seed = 1;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < 70000; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	for (off = 0; off < 16; off++)
		for (n = 0; n + off <= 70000; n += n < 300 ? 1 : 997)
			ck_assert_uint_eq(apd_crc32(0xA5A5A5A5u, buf + off, n),
			    (uint32_t)crc32(0xA5A5A5A5u, buf + off, (uInt)n));
	ck_assert_uint_eq(apd_crc32(0, "123456789", 9), 0xCBF43926u);
	free(buf);
}
END_TEST

/* ---------------------------------------------------------------- damage */

/* A file of n chunks with k records each (ids from first), standard template. */
static void
make_file(struct fb *f, unsigned nchunks, unsigned claimed, unsigned k, uint64_t first)
{
	static const char *const names[] = { "N", NULL };
	static const unsigned types[] = { APD_EVTX_T_UINT32 };
	const struct std_args a = { names, types, false, false };
	struct sysvals sv;
	struct val v[11];
	uint32_t n32, at, def = 0;
	unsigned c, i;
	struct cb b;

	fb_init(f, claimed, 0);
	for (c = 0; c < nchunks; c++) {
		cb_init(&b);
		for (i = 0; i < k; i++) {
			uint64_t id = first + c * k + i;
			at = rec_begin(&b, id);
			if (i == 0)
				def = tmpl_inline(&b, std_body, &a);
			else
				tmpl_ref(&b, def);
			sys_values(&sv, v, id, 1);
			n32 = (uint32_t)id;
			v[10] = (struct val){ APD_EVTX_T_UINT32, &n32, 4 };
			values(&b, v, 11);
			rec_end(&b, at);
		}
		chunk_finish(&b);
		fb_chunk(f, &b);
	}
}

static void
fb_put32(struct fb *f, size_t at, uint32_t v)
{
	f->p[at] = v & 0xFF;
	f->p[at + 1] = (v >> 8) & 0xFF;
	f->p[at + 2] = (v >> 16) & 0xFF;
	f->p[at + 3] = v >> 24;
}

/* Offset of record i (0-based) of chunk c in a make_file() file. */
static size_t
rec_off(const struct fb *f, unsigned c, unsigned i)
{
	size_t off = APD_EVTX_FILE_HEADER + (size_t)c * CHUNK + 512;
	uint32_t sz;

	while (i--) {
		memcpy(&sz, f->p + off + 4, 4);
		off += sz;
	}
	return off;
}

START_TEST(test_evtx_crc_mismatch_warns_keeps_records)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;

	make_file(&f, 2, 2, 5, 1);
	f.p[124] ^= 1;                                           /* file header CRC */
	f.p[APD_EVTX_FILE_HEADER + 124] ^= 1;                     /* chunk 0 header CRC */
	f.p[rec_off(&f, 1, 2) + 30] ^= 0x40;                     /* a record byte in chunk 1 */
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 10);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "file header CRC32 mismatch"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "chunk 0: header CRC32 mismatch"));
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "chunk 1: records CRC32 mismatch"));
	ck_contains(err.msg, "test.evtx: damaged event log");
	apd_test_out_free(&o);
	/* flag 0x4: no CRC32 at all, no warning */
	f.p[120] = 4;
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 10);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* The header's chunk count is not trusted either way. */
START_TEST(test_evtx_dirty_header_chunk_count)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;

	make_file(&f, 3, 1, 4, 1);   /* header says 1 chunk, 3 follow */
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 12);
	apd_test_out_free(&o);
	free(f.p);
	make_file(&f, 1, 9, 4, 1);   /* header says 9, one follows */
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 4);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* A slot without the chunk signature: its records are recovered, flagged. */
START_TEST(test_evtx_bad_chunk_magic_recovers)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	size_t i;

	make_file(&f, 2, 2, 3, 1);
	memset(f.p + APD_EVTX_FILE_HEADER + CHUNK, 0, 8);   /* chunk 1's signature */
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 6);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(o.ev[i].recovered, i >= 3);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "slot 1: no chunk signature"));
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * Records in the free space after the allocated ones: a new id is recovered,
 * an id already seen is dropped as a duplicate.
 */
START_TEST(test_evtx_slack_recovery_dedup)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	size_t r2, r3, sz;
	uint32_t fso;

	make_file(&f, 1, 1, 4, 1);
	/* shrink the allocated area to two records: 3 and 4 become slack */
	r2 = rec_off(&f, 0, 2);
	r3 = rec_off(&f, 0, 3);
	fso = (uint32_t)(r2 - APD_EVTX_FILE_HEADER);
	fb_put32(&f, APD_EVTX_FILE_HEADER + 48, fso);
	/* record 4 gets id 2 (seen): a duplicate */
	memcpy(&sz, f.p + r3 + 4, 4);
	f.p[r3 + 8] = 2;
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);   /* the CRCs no longer match */
	ck_assert_uint_eq(o.nev, 3);
	ck_assert(!o.ev[0].recovered);
	ck_assert(!o.ev[1].recovered);
	ck_assert(o.ev[2].recovered);
	ck_assert_int_eq(o.ev[2].record_id, 3);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * A record whose copy of its size is wrong ends the allocated records;
 * the records after it are still found, as recovered.  One whose end is
 * zeros (never written) is kept itself, as recovered.
 */
START_TEST(test_evtx_size_copy_mismatch)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	size_t r1, r2;
	uint32_t sz;

	make_file(&f, 1, 1, 4, 1);
	r1 = rec_off(&f, 0, 1);
	memcpy(&sz, f.p + r1 + 4, 4);
	fb_put32(&f, r1 + sz - 4, sz + 8);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert(!o.ev[0].recovered);
	ck_assert(o.ev[1].recovered && o.ev[2].recovered);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "no valid record at offset"));
	apd_test_out_free(&o);
	/* now the record's end never written: zeros from its values on */
	r2 = rec_off(&f, 0, 2);
	fb_put32(&f, r1 + sz - 4, 0);
	(void)r2;
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 4);
	ck_assert(o.ev[1].recovered);
	ck_assert_int_eq(o.ev[1].record_id, 2);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "ends without the copy of its size"));
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* Truncated files: inside the header, inside a chunk. */
START_TEST(test_evtx_truncated)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	size_t full;

	make_file(&f, 1, 1, 6, 1);
	full = f.n;
	f.n = 2000;
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "ends inside its 4096-byte header"));
	apd_test_out_free(&o);
	/* cut in the middle of record 4: three whole records survive */
	f.n = rec_off(&f, 0, 3) + 40;
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 3);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "chunk 0 cut after"));
	apd_test_out_free(&o);
	f.n = full;
	free(f.p);
}
END_TEST

START_TEST(test_evtx_not_evtx)
{
	struct apd_test_out o;
	struct apd_error err;
	static const char junk[] = "ElfFilx\0 not an event log";

	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(evtx(), junk, sizeof(junk), "x.evtx", &o, &err),
	    APD_FAILED);
	ck_contains(err.msg, "x.evtx: offset 0: no \"ElfFile\" signature");
	apd_test_out_free(&o);
	apd_test_out_init(&o);
	ck_assert_int_eq(apd_test_parse_mem(evtx(), "", 0, "empty.evtx", &o, &err), APD_FAILED);
	ck_contains(err.msg, "empty.evtx: offset 0: empty file");
	apd_test_out_free(&o);
}
END_TEST

/* ---------------------------------------------------------------- hostile */

/* Elements nested 100 deep: the record is skipped with a warning, not the file. */
static void
deep_body(struct cb *b, const void *arg)
{
	int i, n = *(const int *)arg;

	for (i = 0; i < n; i++) {
		open_el(b, true, false, i == 0 ? "Event" : "D", 0);
		close_start(b);
	}
	for (i = 0; i < n; i++)
		end_el(b);
}

START_TEST(test_evtx_hostile_depth)
{
	int depth = 100;
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	struct cb b;
	uint32_t at;

	make_file(&f, 1, 1, 2, 1);
	cb_init(&b);
	memcpy(b.c, f.p + APD_EVTX_FILE_HEADER, CHUNK);
	b.pos = (uint32_t)(rec_off(&f, 0, 2) - APD_EVTX_FILE_HEADER);
	b.nrec = 2;
	b.first = 1;
	b.last = 2;
	at = rec_begin(&b, 3);
	tmpl_inline(&b, deep_body, &depth);
	values(&b, NULL, 0);
	rec_end(&b, at);
	chunk_finish(&b);
	memcpy(f.p + APD_EVTX_FILE_HEADER, b.c, CHUNK);
	free(b.c);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 2);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "nested deeper than 64"));
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* Corrupt offsets, sizes, counts and tokens: each record skipped, each named. */
START_TEST(test_evtx_hostile_offsets_and_tokens)
{
	static const struct {
		int what;
		const char *warn;
	} cases[] = {
		{ 0, "template definition offset" },     /* def offset past the chunk */
		{ 1, "values do not fit" },               /* value count huge */
		{ 2, "runs past the record" },            /* a value size past the record */
		{ 3, "unexpected BinXML token 0x69" },    /* plaso #1215: token 0x69 */
		{ 4, "bad element" },                     /* a name offset past the chunk */
	};
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct apd_test_out o;
		struct apd_error err;
		struct fb f;
		size_t r0, r1, vals;
		uint32_t sz, tsz;

		make_file(&f, 1, 1, 3, 1);
		r0 = rec_off(&f, 0, 0);
		r1 = rec_off(&f, 0, 1);   /* uses r0's template by offset */
		memcpy(&tsz, f.p + r0 + 24 + 4 + 10 + 20, 4);
		vals = r0 + 24 + 4 + 10 + 24 + tsz;   /* record 0's value count */
		memcpy(&sz, f.p + r1 + 4, 4);
		switch (cases[k].what) {
		case 0:
			fb_put32(&f, r1 + 24 + 4 + 6, 0x7FFFFFF0);
			break;
		case 1:
			fb_put32(&f, r1 + 24 + 4 + 10, 0x40000000);
			break;
		case 2:
			f.p[r1 + 24 + 4 + 10 + 4 + 1] = 0xFF;   /* value 0's size */
			break;
		case 3:
			f.p[r1 + 24] = 0x69;
			break;
		case 4:
			/* the Event element's name offset in record 0's inline template */
			fb_put32(&f, r0 + 24 + 4 + 10 + 24 + 4 + 1 + 2 + 4, 0x00FFFFFF);
			break;
		default:
			break;
		}
		(void)vals;
		ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
		ck_assert_msg(apd_test_warn_with(&o, cases[k].warn) != NULL, "case %zu: no '%s' (%s)",
		    k, cases[k].warn, o.nwarns ? o.warns[o.nwarns - 1].value : "");
		/* the other records are there */
		ck_assert_uint_ge(o.nev, cases[k].what == 4 ? 0 : 2);
		apd_test_out_free(&o);
		free(f.p);
	}
}
END_TEST

/* BinXML nested in a value, which nests in a value ... 20 times: capped. */
START_TEST(test_evtx_hostile_nesting)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	struct cb b;
	uint32_t at, def, start[32];
	int i, n = 20;

	cb_init(&b);
	at = rec_begin(&b, 1);
	def = tmpl_inline(&b, outer_userdata_body, NULL);
	/* each level: the outer template again, value 1 holding the next level */
	for (i = 0; i < n; i++) {
		uint16_t eid = (uint16_t)i;
		p32(&b, 2);
		p16(&b, 2); p8(&b, APD_EVTX_T_UINT16); p8(&b, 0);
		start[i] = b.pos;
		p16(&b, 0); p8(&b, APD_EVTX_T_BINXML); p8(&b, 0);
		pbytes(&b, &eid, 2);
		if (i + 1 < n) {
			p8(&b, 0x0F); p8(&b, 1); p8(&b, 1); p8(&b, 0);
			tmpl_ref(&b, def);
		}
	}
	p8(&b, 0);
	for (i = n - 1; i >= 0; i--) {
		uint32_t sz = b.pos - (start[i] + 4 + 2);
		b.c[start[i]] = sz & 0xFF;
		b.c[start[i] + 1] = (unsigned char)(sz >> 8);
	}
	rec_end(&b, at);
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "BinXML nested deeper than 8"));
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/*
 * An array of 30000 empty strings repeating an element with attributes:
 * 150000 nodes (under the node cap), and the fields capped at 4096.
 */
START_TEST(test_evtx_hostile_array_explosion)
{
	static const char *const names[] = { "X", NULL };
	static const unsigned types[] = { APD_EVTX_T_STRING | 0x80 };
	const struct std_args a = { names, types, false, false };
	static unsigned char nuls[60000];
	struct sysvals sv;
	struct val v[11];
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	struct cb b;
	uint32_t at;
	const char *d;
	size_t commas = 0;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[10] = (struct val){ APD_EVTX_T_STRING | 0x80, nuls, 60000 };
	values(&b, v, 11);
	rec_end(&b, at);
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 1);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "more than 4096 fields"));
	for (d = o.ev[0].data; *d; d++)
		commas += *d == ',';
	ck_assert_uint_eq(commas, 4095);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* An array of 60000 one-byte items: 300000 nodes, past the node cap: the record is skipped. */
START_TEST(test_evtx_hostile_node_cap)
{
	static const char *const names[] = { "X", NULL };
	static const unsigned types[] = { APD_EVTX_T_UINT8 | 0x80 };
	const struct std_args a = { names, types, false, false };
	static unsigned char bytes[60000];
	struct sysvals sv;
	struct val v[11];
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;
	struct cb b;
	uint32_t at;

	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 1);
	v[10] = (struct val){ APD_EVTX_T_UINT8 | 0x80, bytes, 60000 };
	values(&b, v, 11);
	rec_end(&b, at);
	chunk_finish(&b);
	fb_init(&f, 1, 0);
	fb_chunk(&f, &b);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 0);
	ck_assert_ptr_nonnull(apd_test_warn_with(&o, "more than 262144 XML nodes in one record"));
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* ---------------------------------------------------------------- blocks */

static const size_t blocks[] = { 1, 7, 4096, 0 };

START_TEST(test_evtx_blocks)
{
	struct apd_test_out o, ref;
	struct apd_error err;
	struct fb f;
	size_t i;

	make_file(&f, 3, 3, 7, 100);
	f.p[APD_EVTX_FILE_HEADER + 2 * CHUNK + 3000] ^= 1;   /* some damage too */
	ck_assert_int_eq(parse_fb(&f, 0, &ref, &err), APD_WARN);
	ck_assert_int_eq(parse_fb(&f, blocks[_i], &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, ref.nev);
	ck_assert_uint_eq(o.nwarns, ref.nwarns);
	for (i = 0; i < o.nev; i++) {
		ck_assert_str_eq(o.ev[i].data, ref.ev[i].data);
		ck_assert_uint_eq(o.ev[i].offset, ref.ev[i].offset);
	}
	apd_test_out_free(&o);
	apd_test_out_free(&ref);
	free(f.p);
}
END_TEST

/* ---------------------------------------------------------------- fixtures */

/*
 * The seed files of tests/data/evtx (fuzz seeds): built here, compared with
 * the committed copies, and written out with APD_EVTX_WRITE_FIXTURES=DIR.
 */
static void
fixture_types(struct fb *f)
{
	static const char *const names[] = { "i8", "u64", "guid", "sid", "st", "hex64", "arr",
		"null", NULL };
	static const unsigned types[] = { APD_EVTX_T_INT8, APD_EVTX_T_UINT64, APD_EVTX_T_GUID,
		APD_EVTX_T_SID, APD_EVTX_T_SYSTEMTIME, APD_EVTX_T_HEX64, APD_EVTX_T_STRING | 0x80,
		APD_EVTX_T_NULL };
	const struct std_args a = { names, types, true, false };
	static const unsigned char guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint16_t st[8] = { 2025, 10, 3, 1, 9, 5, 7, 42 };
	static const unsigned char strs[] = { 'a', 0, 0, 0, 'b', 0, 0, 0 };
	int8_t i8 = -1;
	uint64_t u64 = 7, h64 = 0x8000000000000000ull;
	struct sysvals sv;
	struct val v[18];
	struct cb b;
	uint32_t at;

	fb_init(f, 1, 1);
	cb_init(&b);
	at = rec_begin(&b, 1);
	tmpl_inline(&b, std_body, &a);
	sys_values(&sv, v, 1, 808);
	v[10] = (struct val){ APD_EVTX_T_INT8, &i8, 1 };
	v[11] = (struct val){ APD_EVTX_T_UINT64, &u64, 8 };
	v[12] = (struct val){ APD_EVTX_T_GUID, guid, 16 };
	v[13] = (struct val){ APD_EVTX_T_SID, sid_system, sizeof(sid_system) };
	v[14] = (struct val){ APD_EVTX_T_SYSTEMTIME, st, 16 };
	v[15] = (struct val){ APD_EVTX_T_HEX64, &h64, 8 };
	v[16] = (struct val){ APD_EVTX_T_STRING | 0x80, strs, sizeof(strs) };
	v[17] = (struct val){ APD_EVTX_T_NULL, NULL, 0 };
	values(&b, v, 18);
	rec_end(&b, at);
	chunk_finish(&b);
	fb_chunk(f, &b);
}

static void
write_or_compare(const char *name, const struct fb *f)
{
	const char *dir = getenv("APD_EVTX_WRITE_FIXTURES");
	char rel[256];
	unsigned char *want;
	size_t n;

	if (dir) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		apd_test_write_file(path, f->p, f->n);
		return;
	}
	snprintf(rel, sizeof(rel), "tests/data/evtx/%s", name);
	want = apd_test_slurp_src(rel, &n);
	ck_assert_msg(n == f->n && memcmp(want, f->p, n) == 0,
	    "%s differs from what check_evtx builds (rebuild it: README.md there)", rel);
	free(want);
}

START_TEST(test_evtx_fixtures)
{
	struct apd_test_out o;
	struct apd_error err;
	struct fb f;

	fixture_types(&f);
	write_or_compare("types.evtx", &f);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_OK);
	ck_assert_uint_eq(o.nev, 1);
	apd_test_out_free(&o);
	free(f.p);

	make_file(&f, 2, 2, 20, 1);
	write_or_compare("templates.evtx", &f);
	free(f.p);

	/* header: 1 chunk, bad CRC; chunk 0: allocated records end at 2000
	   (the rest is slack); slot 1: no signature */
	make_file(&f, 2, 1, 10, 50);
	f.p[124] ^= 1;
	fb_put32(&f, APD_EVTX_FILE_HEADER + 48, 2000);
	memset(f.p + APD_EVTX_FILE_HEADER + CHUNK, 0, 8);
	write_or_compare("damaged.evtx", &f);
	ck_assert_int_eq(parse_fb(&f, 0, &o, &err), APD_WARN);
	ck_assert_uint_eq(o.nev, 20);
	apd_test_out_free(&o);
	free(f.p);
}
END_TEST

/* Every regression fixture of tests/data/evtx decodes without a crash or a failure. */
START_TEST(test_evtx_regressions)
{
	static const char *const files[] = { "types.evtx", "templates.evtx", "damaged.evtx" };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct apd_test_out o;
		struct apd_error err;
		char rel[256];
		int rc;

		snprintf(rel, sizeof(rel), "tests/data/evtx/%s", files[i]);
		apd_test_out_init(&o);
		rc = apd_test_parse_file(evtx(), apd_test_src(rel), &o, &err);
		ck_assert_msg(rc == APD_OK || rc == APD_WARN, "%s: %s", rel, err.msg);
		apd_test_out_free(&o);
	}
}
END_TEST

/* ---------------------------------------------------------------- corpus */

static const struct {
	const char *rel;
	size_t regular, recovered;
} corpus_counts[] = {
	{ "evtx/edge/security.evtx", 2261, 0 },
	{ "evtx/edge/sample_with_a_bad_chunk_magic.evtx", 267, 84 },
	{ "evtx/edge/2-vss_7-System.evtx", 1160, 25 },
	{ "evtx/edge/sysmon.evtx", 358, 0 },
	{ "evtx/edge/post-Security.evtx", 126, 0 },
	{ "evtx/edge/Application_no_crc32.evtx", 17, 0 },
	{ "evtx/edge/Security_with_size_t.evtx", 636, 0 },
};

START_TEST(test_evtx_corpus_counts)
{
	struct apd_test_out o;
	struct apd_error err;
	const char *path = apd_test_corpus(corpus_counts[_i].rel);
	size_t i, reg = 0, rec = 0;
	int rc;

	if (path == NULL) {
		printf("SKIP %s: no corpus (../shared/corpus)\n", corpus_counts[_i].rel);
		return;
	}
	apd_test_out_init(&o);
	rc = apd_test_parse_file(evtx(), path, &o, &err);
	ck_assert_msg(rc == APD_OK || rc == APD_WARN, "%s: %s", path, err.msg);
	for (i = 0; i < o.nev; i++) {
		if (o.ev[i].recovered)
			rec++;
		else
			reg++;
		ck_assert_ptr_nonnull(o.ev[i].data);
		ck_assert_int_eq(o.ev[i].data[0], '{');
	}
	ck_assert_uint_eq(reg, corpus_counts[_i].regular);
	ck_assert_uint_eq(rec, corpus_counts[_i].recovered);
	apd_test_out_free(&o);
}
END_TEST

static Suite *
evtx_suite(void)
{
	Suite *s = suite_create("evtx");
	TCase *core = tcase_create("Core");
	TCase *damage = tcase_create("Damage");
	TCase *hostile = tcase_create("Hostile");
	TCase *blk = tcase_create("Blocks");
	TCase *corpus = tcase_create("Corpus");

	tcase_add_test(core, test_evtx_record_fields);
	tcase_add_test(core, test_evtx_int32_negative_libevtx_bug);
	tcase_add_test(core, test_evtx_value_types);
	tcase_add_test(core, test_evtx_text_every_length);
	tcase_add_test(core, test_evtx_arrays);
	tcase_add_test(core, test_evtx_optional_substitutions);
	tcase_add_test(core, test_evtx_nested_binxml_userdata);
	tcase_add_test(core, test_evtx_positional_data);
	tcase_add_test(core, test_evtx_tokens_and_reuse);
	tcase_add_test(core, test_evtx_template_compiled_once);
	tcase_add_test(core, test_evtx_crc32_equals_zlib);
	tcase_add_test(core, test_evtx_fixtures);
	tcase_add_test(core, test_evtx_regressions);
	suite_add_tcase(s, core);
	tcase_add_test(damage, test_evtx_crc_mismatch_warns_keeps_records);
	tcase_add_test(damage, test_evtx_dirty_header_chunk_count);
	tcase_add_test(damage, test_evtx_bad_chunk_magic_recovers);
	tcase_add_test(damage, test_evtx_slack_recovery_dedup);
	tcase_add_test(damage, test_evtx_size_copy_mismatch);
	tcase_add_test(damage, test_evtx_truncated);
	tcase_add_test(damage, test_evtx_not_evtx);
	suite_add_tcase(s, damage);
	tcase_add_test(hostile, test_evtx_hostile_depth);
	tcase_add_test(hostile, test_evtx_hostile_offsets_and_tokens);
	tcase_add_test(hostile, test_evtx_hostile_nesting);
	tcase_add_test(hostile, test_evtx_hostile_array_explosion);
	tcase_add_test(hostile, test_evtx_hostile_node_cap);
	suite_add_tcase(s, hostile);
	tcase_add_loop_test(blk, test_evtx_blocks, 0, (int)(sizeof(blocks) / sizeof(blocks[0])));
	suite_add_tcase(s, blk);
	tcase_add_loop_test(corpus, test_evtx_corpus_counts, 0,
	    (int)(sizeof(corpus_counts) / sizeof(corpus_counts[0])));
	suite_add_tcase(s, corpus);
	return s;
}

int
main(void)
{
	return apd_test_run(evtx_suite());
}
