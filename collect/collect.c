/*
 * collect.c - one collection: profile -> staged copies -> manifest ->
 * archive (see collect.h for the layers and docs/collect.md for the bundle).
 *
 * Exports apd_collect_run only.  The flow:
 *   1. every profile entry is gathered through the platform source into a
 *      staging folder beside the output, hashing each copy as it is
 *      written; what cannot be had becomes a gap with its reason and OS
 *      error code;
 *   2. device facts are read through the source's registry;
 *   3. --max-size picks what fits, in profile order, and names the rest;
 *   4. manifest.json is written, then the archive: manifest first, then the
 *      staged copies, into a temporary file that is renamed to the final
 *      name only when complete and flushed to disk.
 * The staging folder and the temporary file are removed on every path out.
 * A write failure (full disk, RLIMIT_FSIZE) ends the run with APD_FATAL and
 * nothing under the final name.
 */
#include "collect.h"
#include "plat.h"
#include "apd_json.h"
#include "apd_sha256.h"
#include "apd_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK        ((size_t)1 << 20)
#define COPY_TRIES   3
#define MAX_NAME     255          /* bundle names fit a cab's CFFILE name */
#define REDACT_CHUNK ((size_t)1 << 20)
#define PROGRESS_EVERY ((uint64_t)64 << 20)  /* progress inside a file this often */

struct item {
	size_t entry;        /* index into the profile */
	char *path;          /* bundle path, '/'-separated */
	char *orig;          /* as the device names it */
	char *staged;        /* host path of the staged copy */
	uint64_t size;
	int64_t mtime_ns;
	char sha[65];
	int redacted;        /* -1 not asked, 0 not text, 1 redacted */
	bool changed;        /* still changing after COPY_TRIES copies */
	bool keep;           /* goes into the archive (--max-size) */
	bool too_large;      /* larger than the format can hold */
	bool has_exit;       /* a command's output: exit_code is set */
	int exit_code;       /* the command's exit code (-1: it did not finish) */
};

struct gap {
	size_t entry;        /* (size_t)-1: not from a profile entry */
	char *item;
	const char *kind;    /* absent, error, excluded, not-applicable, changed, skipped */
	char *reason;
	int os_error;
};

struct fact {
	const char *name;
	char *value;
};

struct coll {
	const struct apd_collect_opts *o;
	struct apd_profile prof;
	bool prof_builtin;
	struct apd_csrc src;
	char *stage;              /* staging folder */
	unsigned nstaged;
	struct item *it;
	size_t nit, cit;
	struct gap *gp;
	size_t ngp, cgp;
	struct fact facts[8];
	size_t nfacts;
	char **seen;              /* hash set of collected host paths */
	size_t nseen, cseen;
	struct apd_redact rd;
	unsigned char *blk;
	char started[32], ended[32];
	size_t cur_entry;
	size_t *entry_items;      /* items per entry */
	unsigned net_probes, net_failures;
	bool net_done;
	uint64_t bytes_done;      /* bytes of the items staged so far */
	bool elevated;            /* live: the process had an administrator token */
};

/* ---- small helpers ---- */

static bool
cancelled(const struct coll *c)
{
	return c->o->cancel && *c->o->cancel;
}

static void
iso_utc(int64_t secs, char out[32])
{
	struct tm tm;
	time_t t = (time_t)secs;

	if (apd_plat_gmtime(t, &tm) != 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
	else
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t
now_secs(void)
{
	return (int64_t)time(NULL);
}

static char *redacted(struct coll *c, const char *s);
static int
add_gap(struct coll *c, size_t entry, const char *item, const char *kind, int os_error,
    const char *fmt, ...) APD_PRINTF(6, 7);

static int
add_gap(struct coll *c, size_t entry, const char *item, const char *kind, int os_error,
    const char *fmt, ...)
{
	char msg[APD_ERRMSG_MAX];
	va_list ap;
	struct gap *g;

	if (c->ngp == c->cgp) {
		size_t nc = c->cgp ? 2 * c->cgp : 64;
		struct gap *ng = realloc(c->gp, nc * sizeof(*ng));
		if (ng == NULL)
			return APD_FATAL;
		c->gp = ng;
		c->cgp = nc;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g = &c->gp[c->ngp];
	g->entry = entry;
	g->kind = kind;
	g->os_error = os_error;
	g->item = redacted(c, item);
	g->reason = redacted(c, msg);
	if (g->item == NULL || g->reason == NULL) {
		free(g->item);
		free(g->reason);
		return APD_FATAL;
	}
	c->ngp++;
	return APD_OK;
}

/* Gap kind for an OS error from reading: ENOENT is absence, anything else an error. */
static const char *
err_kind(int os_error)
{
	return apd_plat_err_absent(os_error) ? "absent" : "error";
}

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Insert into the seen-set; returns 1 when new, 0 when already there, -1 on ENOMEM. */
static int
seen_add(struct coll *c, const char *s)
{
	size_t i;

	if (2 * (c->nseen + 1) > c->cseen) {
		size_t nc = c->cseen ? 2 * c->cseen : 1024, k;
		char **ns = calloc(nc, sizeof(*ns));
		if (ns == NULL)
			return -1;
		for (k = 0; k < c->cseen; k++)
			if (c->seen[k]) {
				for (i = fnv(c->seen[k]) & (nc - 1); ns[i]; i = (i + 1) & (nc - 1))
					;
				ns[i] = c->seen[k];
			}
		free(c->seen);
		c->seen = ns;
		c->cseen = nc;
	}
	for (i = fnv(s) & (c->cseen - 1); c->seen[i]; i = (i + 1) & (c->cseen - 1))
		if (strcmp(c->seen[i], s) == 0)
			return 0;
	if ((c->seen[i] = strdup(s)) == NULL)
		return -1;
	c->nseen++;
	return 1;
}

/*
 * A bundle path: prefix + name with '\\' turned into '/', bytes that are not
 * UTF-8 or not allowed in Windows names escaped as %XX; longer than
 * MAX_NAME bytes, it becomes prefix + "_long/<16 hex>-<end of the name>".
 */
static char *
clean_name(const char *prefix, const char *name, bool path)
{
	struct apd_buf b;
	const unsigned char *p = (const unsigned char *)name;
	size_t i, n = strlen(name);
	char *out;

	apd_buf_init(&b, (size_t)1 << 20);
	apd_buf_adds(&b, prefix);
	for (i = 0; i < n; i++) {
		unsigned char ch = p[i];
		size_t len = ch < 0x80 ? 1 : ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 ? 2 : 0;
		if (path && ch == '\\') {
			apd_buf_addc(&b, '/');
		} else if (ch < 0x20 || ch == 0x7F || len == 0 || i + len > n ||
		    (len > 1 && !apd_utf8_valid(name + i, len)) || (path && (ch == ':' || ch == '*' ||
		    ch == '?' || ch == '"' || ch == '<' || ch == '>' || ch == '|'))) {
			apd_buf_printf(&b, "%%%02X", ch);
		} else {
			apd_buf_add(&b, name + i, len);
			i += len - 1;
		}
	}
	if (path && b.n > MAX_NAME) {
		struct apd_sha256 h;
		char hex[65];
		const char *base = strrchr(b.p, '/');
		size_t bl, room;
		struct apd_buf s;

		base = base ? base + 1 : b.p;
		apd_sha256_init(&h);
		apd_sha256_update(&h, b.p, b.n);
		apd_sha256_final_hex(&h, hex);
		apd_sha256_done(&h);
		apd_buf_init(&s, 1024);
		apd_buf_printf(&s, "%s_long/%.16s-", prefix, hex);
		room = MAX_NAME - s.n;
		bl = strlen(base);
		if (bl > room) {
			base += bl - room;
			while (((unsigned char)*base & 0xC0) == 0x80)   /* whole characters only */
				base++;
		}
		apd_buf_adds(&s, base);
		apd_buf_done(&b);
		b = s;
	}
	out = b.p ? strdup(b.p) : NULL;
	apd_buf_done(&b);
	return out;
}

static char *
bundle_path(const char *prefix, const char *name)
{
	return clean_name(prefix, name, true);
}

/* A name valid as JSON text: invalid UTF-8 bytes and controls become %XX. */
static char *
utf8_name(const char *name)
{
	return clean_name("", name, false);
}

static char *
stage_name(struct coll *c)
{
	char *s = malloc(strlen(c->stage) + 16);

	if (s)
		sprintf(s, "%s/%06u", c->stage, ++c->nstaged);
	return s;
}

/* A copy of s, redacted when --redact is on (paths and messages name users too). */
static char *
redacted(struct coll *c, const char *s)
{
	struct apd_buf b;
	char *r;

	if (!c->o->redact)
		return strdup(s);
	apd_buf_init(&b, strlen(s) * 4 + 64);
	if (apd_redact_text(&c->rd, s, strlen(s), &b) != APD_OK) {
		apd_buf_done(&b);
		return NULL;
	}
	r = strdup(b.p ? b.p : "");
	apd_buf_done(&b);
	return r;
}

/*
 * Make a bundle path unique in the archive: two sources whose names escape
 * to the same text get "~2", "~3"... before the extension.  Takes bp,
 * returns the path to use (malloc'd) or NULL.
 */
static char *
unique_path(struct coll *c, char *bp)
{
	char key[MAX_NAME + 16], *out;
	const char *slash, *dot;
	unsigned k;
	int s;

	for (k = 1; k < 1000; k++) {
		if (k == 1) {
			out = strdup(bp);
		} else {
			slash = strrchr(bp, '/');
			dot = strrchr(slash ? slash : bp, '.');
			if (dot == NULL || dot == (slash ? slash + 1 : bp))
				dot = bp + strlen(bp);
			out = malloc(strlen(bp) + 8);
			if (out)
				sprintf(out, "%.*s~%u%s", (int)(dot - bp), bp, k, dot);
		}
		if (out == NULL)
			break;
		snprintf(key, sizeof(key), "\001%s", out);
		if ((s = seen_add(c, key)) == 1) {
			free(bp);
			return out;
		}
		free(out);
		if (s < 0)
			break;
	}
	free(bp);
	return NULL;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *q = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static struct item *
new_item(struct coll *c)
{
	struct item *it;

	if (c->nit == c->cit) {
		size_t nc = c->cit ? 2 * c->cit : 64;
		struct item *ni = realloc(c->it, nc * sizeof(*ni));
		if (ni == NULL)
			return NULL;
		c->it = ni;
		c->cit = nc;
	}
	it = &c->it[c->nit];
	memset(it, 0, sizeof(*it));
	it->entry = c->cur_entry;
	it->redacted = -1;
	it->keep = true;
	return it;
}

static void
progress(struct coll *c, const char *what)
{
	if (c->o->progress)
		c->o->progress(c->o->progress_ud, c->cur_entry, c->prof.n, what, c->bytes_done);
}

/* ---- copying with redaction ---- */

enum tmode { T_RAW, T_TEXT8, T_TEXT16 };

struct sink {
	struct coll *c;
	int fd;
	struct apd_sha256 sha;
	uint64_t out;
	enum tmode mode;
	struct apd_buf carry;
	bool bom_done;
	int werr;                 /* first write error */
};

static void
sink_put(struct sink *s, const void *p, size_t n)
{
	int e;

	if (s->werr || n == 0)
		return;
	if ((e = write_all(s->fd, p, n)) != 0) {
		s->werr = e;
		return;
	}
	apd_sha256_update(&s->sha, p, n);
	s->out += n;
}

/* Redact and write carry[0..n), keeping the rest. */
static int
flush_text(struct sink *s, size_t n)
{
	struct apd_buf u8, red, u16;
	int rc = APD_OK;

	/* replacements grow text at most 5.4 times ("a@b.cc" -> 32 bytes): caps to match */
	apd_buf_init(&red, 16 * n + 1024);
	if (s->mode == T_TEXT8) {
		rc = apd_redact_text(&s->c->rd, s->carry.p, n, &red);
		if (rc == APD_OK)
			sink_put(s, red.p, red.n);
	} else {
		apd_buf_init(&u8, 2 * n + 64);
		apd_buf_init(&u16, 32 * n + 1024);
		rc = apd_utf16_to_utf8(&u8, (const unsigned char *)s->carry.p, n, false);
		if (rc == APD_OK)
			rc = apd_redact_text(&s->c->rd, u8.p ? u8.p : "", u8.n, &red);
		if (rc == APD_OK)
			rc = apd_utf8_to_utf16le(&u16, red.p ? red.p : "", red.n);
		if (rc == APD_OK)
			sink_put(s, u16.p, u16.n);
		apd_buf_done(&u8);
		apd_buf_done(&u16);
	}
	apd_buf_done(&red);
	if (rc != APD_OK)
		return rc;
	memmove(s->carry.p, s->carry.p + n, s->carry.n - n);
	s->carry.n -= n;
	return APD_OK;
}

/* Feed input bytes; text is cut at the last line end of what has come. */
static int
sink_feed(struct sink *s, const unsigned char *p, size_t n, bool last)
{
	size_t cut;
	int rc;

	if (s->mode == T_RAW) {
		sink_put(s, p, n);
		return APD_OK;
	}
	if (!s->bom_done && s->mode == T_TEXT16) {
		size_t k = n < 2 - s->carry.n ? n : 2 - s->carry.n;   /* pass the BOM through */
		apd_buf_add(&s->carry, p, k);
		p += k;
		n -= k;
		if (s->carry.n < 2 && !last)
			return APD_OK;
		sink_put(s, s->carry.p, s->carry.n);
		s->carry.n = 0;
		s->bom_done = true;
	}
	if ((rc = apd_buf_add(&s->carry, p, n)) != APD_OK)
		return rc;
	if (last) {
		size_t k = s->mode == T_TEXT16 ? s->carry.n & ~(size_t)1 : s->carry.n;
		if (k && flush_text(s, k) != APD_OK)
			return APD_FATAL;
		sink_put(s, s->carry.p, s->carry.n);   /* an odd last byte of UTF-16 */
		s->carry.n = 0;
		return APD_OK;
	}
	for (cut = s->carry.n; cut > 0; cut--) {
		if (s->mode == T_TEXT8 && s->carry.p[cut - 1] == '\n')
			break;
		if (s->mode == T_TEXT16 && cut >= 2 && (cut & 1) == 0 && s->carry.p[cut - 2] == '\n' &&
		    s->carry.p[cut - 1] == 0)
			break;
	}
	if (cut == 0 && s->carry.n >= REDACT_CHUNK)
		cut = s->carry.n & (s->mode == T_TEXT16 ? ~(size_t)1 : ~(size_t)0);
	return cut ? flush_text(s, cut) : APD_OK;
}

/* Does the head look like text we can redact? */
static enum tmode
sniff(const unsigned char *p, size_t n)
{
	size_t bom;
	enum apd_enc e = apd_enc_sniff(p, n, &bom);

	if (e == APD_ENC_UTF16LE && bom == 2)
		return T_TEXT16;
	if (e == APD_ENC_UTF16LE || e == APD_ENC_UTF16BE)
		return T_RAW;
	return apd_looks_binary(p + bom, n - bom > 65536 ? 65536 : n - bom) ? T_RAW : T_TEXT8;
}

/*
 * Copy one file into the staging folder as an item of the current entry.
 * A file that changes while it is copied is copied again, up to COPY_TRIES
 * times.  Returns APD_OK (item or gap recorded) or APD_FATAL (cannot write
 * the staging copy: the whole run stops).
 */
static int
copy_item(struct coll *c, const char *handle, const char *orig, const char *bpath)
{
	const struct apd_csrc_vtable *vt = c->src.vt;
	struct apd_cstat st0, st1;
	struct apd_error err;
	struct sink s;
	struct item *it;
	char *staged = NULL;
	uint64_t in;
	void *fh;
	int try, rc = APD_OK;
	bool changed = true;
	long r;

	if ((staged = stage_name(c)) == NULL)
		return APD_FATAL;
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.fd = -1;
	for (try = 0; try < COPY_TRIES && changed; try++) {
		apd_error_clear(&err);
		if (vt->open(&c->src, handle, &fh, &st0, &err) != APD_OK) {
			rc = err.code == APD_FATAL ? APD_FATAL : add_gap(c, c->cur_entry, orig,
			    err_kind(err.os_errno), err.os_errno, "%s", err.msg);
			goto out_rm;
		}
		if (s.fd >= 0)
			close(s.fd);
		apd_buf_done(&s.carry);
		if (s.sha.md)
			apd_sha256_done(&s.sha);
		memset(&s, 0, sizeof(s));
		s.c = c;
		apd_buf_init(&s.carry, 4 * REDACT_CHUNK);
		if (try > 0)
			apd_plat_unlink(staged);   /* the copy of the earlier try */
		s.fd = apd_plat_create(staged);
		if (s.fd < 0 || apd_sha256_init(&s.sha) != APD_OK) {
			int e = errno;
			vt->close(&c->src, fh);
			rc = APD_FATAL;
			errno = e;
			goto out_rm;
		}
		in = 0;
		s.mode = T_RAW;
		/* read what the file held when opened: a log that keeps growing still ends */
		for (;;) {
			size_t want = st0.size - in < BLOCK ? (size_t)(st0.size - in) : BLOCK;
			r = want ? vt->read(&c->src, fh, c->blk, want, &err) : 0;
			if (r < 0)
				break;
			if (in == 0 && c->o->redact)
				s.mode = sniff(c->blk, (size_t)r);
			if (sink_feed(&s, c->blk, (size_t)r, r == 0) != APD_OK) {
				r = -2;
				break;
			}
			if (r == 0)
				break;
			in += (uint64_t)r;
			if (cancelled(c)) {
				r = -2;
				s.werr = EINTR;
				break;
			}
			if (c->o->copy_hook)
				c->o->copy_hook(c->o->copy_hook_ud, orig, in);
			if (c->o->progress && in % PROGRESS_EVERY < (uint64_t)r)   /* a large file */
				c->o->progress(c->o->progress_ud, c->cur_entry, c->prof.n, orig,
				    c->bytes_done + in);
		}
		if (r == -2) {
			vt->close(&c->src, fh);
			errno = s.werr ? s.werr : ENOMEM;
			rc = APD_FATAL;
			goto out_rm;
		}
		if (r < 0) {
			vt->close(&c->src, fh);
			rc = add_gap(c, c->cur_entry, orig, "error", err.os_errno, "%s", err.msg);
			goto out_rm;
		}
		if (vt->stat_fh(&c->src, fh, &st1, &err) != APD_OK)
			st1 = st0;
		vt->close(&c->src, fh);
		if (s.werr) {
			errno = s.werr;
			rc = APD_FATAL;
			goto out_rm;
		}
		changed = in != st0.size || st1.size != st0.size || st1.mtime_ns != st0.mtime_ns ||
		    st1.change != st0.change;
	}
	if ((it = new_item(c)) == NULL) {
		rc = APD_FATAL;
		goto out_rm;
	}
	it->path = strdup(bpath);
	it->orig = utf8_name(orig);
	it->staged = staged;
	it->size = s.out;
	it->mtime_ns = st1.mtime_ns;
	it->changed = changed;
	it->redacted = c->o->redact ? s.mode != T_RAW : -1;
	apd_sha256_final_hex(&s.sha, it->sha);
	apd_sha256_done(&s.sha);
	apd_buf_done(&s.carry);
	close(s.fd);
	if (it->path == NULL || it->orig == NULL)
		return APD_FATAL;
	c->nit++;
	c->bytes_done += it->size;
	c->entry_items[c->cur_entry]++;
	if (changed)
		return add_gap(c, c->cur_entry, orig, "changed", 0,
		    "changed while being copied (%d copies); the bundle holds the last copy, "
		    "which may mix old and new content", COPY_TRIES);
	return APD_OK;
out_rm:
	{
		int e = errno;
		if (s.fd >= 0)
			close(s.fd);
		if (s.sha.md)
			apd_sha256_done(&s.sha);
		apd_buf_done(&s.carry);
		apd_plat_unlink(staged);
		free(staged);
		errno = e;
	}
	return rc;
}

/* ---- entries ---- */

static bool
is_hwhash(const struct coll *c, const char *rel)
{
	const char *base = strrchr(rel, '/');
	size_t i;

	base = base ? base + 1 : rel;
	for (i = 0; i < c->prof.nhwhash; i++)
		if (apd_glob_match(c->prof.hwhash[i], base))
			return true;
	return false;
}

struct found_ctx {
	struct coll *c;
	const char *prefix;      /* bundle folder */
	size_t matches;
	bool events;
};

static int
on_found(void *ud, const struct apd_cfound *f)
{
	struct found_ctx *fc = ud;
	struct coll *c = fc->c;
	char *bp, *orig;
	int rc, s;

	if (f->reason)
		return add_gap(c, c->cur_entry, f->orig, f->fallback ? "fallback" : f->os_error ?
		    err_kind(f->os_error) : "skipped", f->os_error, "%s", f->reason);
	fc->matches++;
	if ((s = seen_add(c, f->handle)) <= 0)
		return s < 0 ? APD_FATAL : APD_OK;   /* collected by an earlier entry */
	if (!c->o->include_hwhash && is_hwhash(c, f->rel))
		return add_gap(c, c->cur_entry, f->orig, "excluded", 0,
		    "Autopilot hardware hash: not collected without --include-hardware-hash");
	if (fc->events) {
		const char *base = strrchr(f->rel, '/');
		bp = bundle_path(fc->prefix, base ? base + 1 : f->rel);
	} else {
		bp = bundle_path(fc->prefix, f->rel);
	}
	if (bp && c->o->redact) {
		char *r = redacted(c, bp);
		free(bp);
		bp = r;
	}
	if (bp == NULL || (bp = unique_path(c, bp)) == NULL || (orig = redacted(c, f->orig)) == NULL) {
		free(bp);
		return APD_FATAL;
	}
	if (c->o->progress)
		c->o->progress(c->o->progress_ud, c->cur_entry, c->prof.n, orig, c->bytes_done);
	rc = copy_item(c, f->handle, orig, bp);
	free(bp);
	free(orig);
	return rc;
}

static int
do_events(struct coll *c, const struct apd_pentry *e)
{
	struct found_ctx fc = { c, "events/", 0, true };
	struct apd_error err;
	int rc;

	apd_error_clear(&err);
	rc = c->src.vt->events(&c->src, e->spec, on_found, &fc, &err);
	if (rc == APD_FATAL)
		return rc;
	if (rc != APD_OK)
		return add_gap(c, c->cur_entry, e->spec, err_kind(err.os_errno), err.os_errno,
		    "%s: %s", err_kind(err.os_errno)[0] == 'a' ? "no event log file" :
		    "cannot read the event log", err.msg);
	return APD_OK;
}

static int
do_files(struct coll *c, const struct apd_pentry *e)
{
	struct found_ctx fc = { c, "files/", 0, false };
	struct apd_error err;
	char orig[1200];
	int rc;

	apd_error_clear(&err);
	rc = c->src.vt->find(&c->src, e->spec, e->recurse, on_found, &fc, &err);
	if (rc == APD_FATAL)
		return rc;
	if (fc.matches == 0) {
		snprintf(orig, sizeof(orig), "C:\\%s", e->spec);
		return add_gap(c, c->cur_entry, orig, "absent", ENOENT, "no file matches");
	}
	return APD_OK;
}

struct regctx {
	struct coll *c;
	struct apd_regw w;
	int rc;
};

static int
rv_key(void *ud, const char *path)
{
	struct regctx *r = ud;

	if (cancelled(r->c)) {
		r->w.err_no = EINTR;
		return APD_FAILED;
	}
	return apd_regw_key(&r->w, path) == APD_OK ? APD_OK : APD_FAILED;
}

static int
rv_value(void *ud, const char *name, uint32_t type, const void *data, size_t n)
{
	struct regctx *r = ud;

	return apd_regw_value(&r->w, name, type, data, n) == APD_OK ? APD_OK : APD_FAILED;
}

static int
rv_problem(void *ud, const char *what, int os_error, const char *reason)
{
	struct regctx *r = ud;

	return add_gap(r->c, r->c->cur_entry, what, "error", os_error, "%s", reason);
}

static int
rv_note(void *ud, const char *what, const char *reason)
{
	struct regctx *r = ud;

	return add_gap(r->c, r->c->cur_entry, what, "stale", 0, "%s", reason);
}

/* "HKEY_LOCAL_MACHINE\\SOFTWARE\\x y" -> "registry/HKLM_SOFTWARE_x y.reg" */
static char *
reg_bundle_path(const char *key)
{
	struct apd_buf b;
	const char *p = key;
	char *out;

	apd_buf_init(&b, 1 << 16);
	if (strncmp(p, "HKEY_LOCAL_MACHINE", 18) == 0) {
		apd_buf_adds(&b, "HKLM");
		p += 18;
	} else if (strncmp(p, "HKEY_USERS", 10) == 0) {
		apd_buf_adds(&b, "HKU");
		p += 10;
	}
	for (; *p; p++)
		apd_buf_addc(&b, *p == '\\' || *p == '/' ? '_' : *p);
	apd_buf_adds(&b, ".reg");
	out = b.p ? bundle_path("registry/", b.p) : NULL;
	apd_buf_done(&b);
	return out;
}

static int
export_key(struct coll *c, const char *key, bool recurse)
{
	struct apd_reg_visit v;
	struct regctx r;
	struct apd_error err;
	struct item *it;
	char *staged, *bp;
	FILE *f;
	int fd = -1, rc, wrc;

	if ((staged = stage_name(c)) == NULL || (bp = reg_bundle_path(key)) == NULL) {
		free(staged);
		return APD_FATAL;
	}
	if (c->o->redact) {
		char *red = redacted(c, bp);
		free(bp);
		bp = red;
	}
	if (bp == NULL || (bp = unique_path(c, bp)) == NULL) {
		free(staged);
		return APD_FATAL;
	}
	if ((fd = apd_plat_create(staged)) < 0 || (f = fdopen(fd, "wb")) == NULL) {
		if (fd >= 0)
			close(fd);
		free(staged);
		free(bp);
		return APD_FATAL;
	}
	memset(&r, 0, sizeof(r));
	r.c = c;
	if (apd_regw_open(&r.w, f, c->o->redact ? &c->rd : NULL) == APD_FATAL) {
		fclose(f);
		apd_plat_unlink(staged);
		free(staged);
		free(bp);
		return APD_FATAL;
	}
	v.key = rv_key;
	v.value = rv_value;
	v.problem = rv_problem;
	v.note = rv_note;
	v.ud = &r;
	apd_error_clear(&err);
	rc = c->src.vt->reg_walk(&c->src, key, recurse, &v, &err);
	{
		char sha[65];
		int e;
		wrc = apd_regw_close(&r.w, sha);
		e = r.w.err_no;
		if (fclose(f) != 0 && wrc == APD_OK) {
			wrc = APD_FAILED;
			e = errno;
		}
		if (wrc != APD_OK || (rc == APD_FAILED && r.w.err_no)) {
			apd_plat_unlink(staged);
			free(staged);
			free(bp);
			errno = e ? e : EIO;
			return APD_FATAL;   /* the staging copy could not be written */
		}
		if (rc == APD_FATAL) {
			apd_plat_unlink(staged);
			free(staged);
			free(bp);
			return APD_FATAL;
		}
		if (rc != APD_OK || r.w.keys == 0) {
			apd_plat_unlink(staged);
			free(staged);
			free(bp);
			return add_gap(c, c->cur_entry, key, err_kind(err.os_errno), err.os_errno, "%s",
			    err.os_errno == ENOENT ? (strstr(err.msg, "hive") ? err.msg :
			    "key not found") : err.msg);
		}
		if ((it = new_item(c)) == NULL) {
			free(staged);
			free(bp);
			return APD_FATAL;
		}
		it->path = bp;
		it->orig = redacted(c, key);
		it->staged = staged;
		it->size = r.w.bytes;
		it->mtime_ns = (int64_t)now_secs() * 1000000000;
		it->redacted = c->o->redact ? 1 : -1;
		memcpy(it->sha, sha, sizeof(sha));
		if (it->orig == NULL)
			return APD_FATAL;
		c->nit++;
		c->bytes_done += it->size;
		c->entry_items[c->cur_entry]++;
	}
	return APD_OK;
}

static int
do_registry(struct coll *c, const struct apd_pentry *e)
{
	struct apd_error err;
	char **users = NULL, key[2048];
	size_t n = 0, i;
	int rc = APD_OK;

	if (strncmp(e->spec, "HKLM\\", 5) == 0) {
		snprintf(key, sizeof(key), "HKEY_LOCAL_MACHINE\\%s", e->spec + 5);
		return export_key(c, key, e->recurse);
	}
	apd_error_clear(&err);
	if ((rc = c->src.vt->users(&c->src, &users, &n, &err)) != APD_OK)
		return rc == APD_FATAL ? rc : add_gap(c, c->cur_entry, e->spec, "error",
		    err.os_errno, "%s", err.msg);
	if (n == 0)
		rc = add_gap(c, c->cur_entry, e->spec, "absent", ENOENT,
		    "no user hives (Users\\*\\NTUSER.DAT) found");
	for (i = 0; i < n && rc != APD_FATAL; i++) {
		snprintf(key, sizeof(key), "%s\\%s", users[i], e->spec + 5);
		rc = export_key(c, key, e->recurse);
	}
	for (i = 0; i < n; i++)
		free(users[i]);
	free(users);
	return rc;
}

/* Take a file already written into the staging folder as an item of the current entry. */
static int
add_staged(struct coll *c, char *staged, const char *bpath, const char *orig, int exit_code)
{
	struct apd_sha256 h;
	struct item *it;
	uint64_t size = 0;
	size_t r;
	FILE *f;
	char *bp;

	if ((f = apd_plat_fopen(staged, "rb")) == NULL)
		return APD_FATAL;
	if (apd_sha256_init(&h) != APD_OK) {
		fclose(f);
		return APD_FATAL;
	}
	while ((r = fread(c->blk, 1, BLOCK, f)) > 0) {
		apd_sha256_update(&h, c->blk, r);
		size += r;
	}
	if (ferror(f) || (bp = unique_path(c, bundle_path("", bpath))) == NULL ||
	    (it = new_item(c)) == NULL) {
		fclose(f);
		apd_sha256_done(&h);
		return APD_FATAL;
	}
	fclose(f);
	it->path = bp;
	it->orig = redacted(c, orig);
	it->staged = staged;
	it->size = size;
	it->mtime_ns = (int64_t)now_secs() * 1000000000;
	it->has_exit = true;
	it->exit_code = exit_code;
	apd_sha256_final_hex(&h, it->sha);
	apd_sha256_done(&h);
	if (it->orig == NULL)
		return APD_FATAL;
	c->nit++;
	c->bytes_done += size;
	c->entry_items[c->cur_entry]++;
	return APD_OK;
}

/*
 * A read-only command (live only).  Its console output becomes the item
 * e->output; a file the command wrote into the source's temporary folder
 * ({tmp} in the command line, e.g. MdmDiagnosticsTool's cab) becomes
 * e->output instead, and the console output "<output without extension>
 * -console.txt".  Each carries the exit code; a command that could not run
 * or did not finish is a gap.
 */
static int
do_command(struct coll *c, const struct apd_pentry *e)
{
	struct apd_error err;
	char *staged, *artifact = NULL, cname[600], *dot;
	int code = -1, rc, r2 = APD_OK;
	uint64_t had = 0;

	if ((staged = stage_name(c)) == NULL)
		return APD_FATAL;
	apd_error_clear(&err);
	rc = c->src.vt->command(&c->src, e, staged, &code, &artifact, &err);
	if (rc == APD_FATAL) {
		apd_plat_unlink(staged);
		free(staged);
		free(artifact);
		return rc;
	}
	if (strcmp(c->src.vt->mode, "offline") == 0) {
		apd_plat_unlink(staged);
		free(staged);
		return add_gap(c, c->cur_entry, e->spec, "not-applicable", err.os_errno, "%s",
		    err.msg);
	}
	{
		FILE *f = apd_plat_fopen(staged, "rb");
		if (f) {
			fseek(f, 0, SEEK_END);
			had = (uint64_t)ftell(f);
			fclose(f);
		}
	}
	snprintf(cname, sizeof(cname), "%s", e->output);
	if (artifact) {
		size_t before = c->nit;
		dot = strrchr(cname, '.');
		if (dot && !strchr(dot, '/'))
			*dot = '\0';
		snprintf(cname + strlen(cname), sizeof(cname) - strlen(cname), "-console.txt");
		char *bp = unique_path(c, bundle_path("", e->output));
		r2 = bp ? copy_item(c, artifact, e->spec, bp) : APD_FATAL;
		free(bp);
		if (r2 == APD_OK && c->nit > before) {
			c->it[c->nit - 1].has_exit = true;
			c->it[c->nit - 1].exit_code = code;
		}
		free(artifact);
	}
	if (r2 == APD_OK && (rc == APD_OK || had > 0))
		r2 = add_staged(c, staged, cname, e->spec, code);   /* takes staged */
	else {
		apd_plat_unlink(staged);
		free(staged);
	}
	if (r2 != APD_OK)
		return r2;
	if (rc != APD_OK)
		return add_gap(c, c->cur_entry, e->spec, err_kind(err.os_errno), err.os_errno, "%s",
		    err.msg);
	return APD_OK;
}

/* ---- facts ---- */

static int
add_fact(struct coll *c, const char *name, const char *value)
{
	if (c->nfacts == sizeof(c->facts) / sizeof(c->facts[0]))
		return APD_OK;
	c->facts[c->nfacts].name = name;
	if ((c->facts[c->nfacts].value = strdup(value)) == NULL)
		return APD_FATAL;
	c->nfacts++;
	return APD_OK;
}

static int
read_facts(struct coll *c)
{
	static const struct {
		const char *fact, *key, *value;
	} map[] = {
		{ "os.product_name", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "ProductName" },
		{ "os.build", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "CurrentBuild" },
		{ "os.ubr", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "UBR" },
		{ "os.edition", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "EditionID" },
		{ "os.display_version", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
		  "DisplayVersion" },
		{ "os.install_date", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "InstallDate" },
		{ "device.name", "SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName",
		  "ComputerName" },
		{ "device.timezone", "SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation",
		  "TimeZoneKeyName" },
	};
	struct apd_error err;
	struct apd_buf b, t;
	char key[512], v[64];
	uint32_t type;
	size_t i;
	int rc = APD_OK;

	apd_buf_init(&b, 1 << 16);
	apd_buf_init(&t, 1 << 17);
	for (i = 0; i < sizeof(map) / sizeof(map[0]) && rc == APD_OK; i++) {
		snprintf(key, sizeof(key), "HKEY_LOCAL_MACHINE\\%s", map[i].key);
		apd_error_clear(&err);
		if (c->src.vt->reg_get(&c->src, key, map[i].value, &type, &b, &err) != APD_OK)
			continue;
		if ((type == 4 || type == 11) && (b.n == 4 || b.n == 8)) {
			uint64_t u = 0;
			size_t k;
			for (k = b.n; k > 0; k--)
				u = u << 8 | (unsigned char)b.p[k - 1];
			if (strcmp(map[i].fact, "os.install_date") == 0)
				iso_utc((int64_t)u, v);
			else
				snprintf(v, sizeof(v), "%llu", (unsigned long long)u);
			rc = add_fact(c, map[i].fact, v);
		} else if (type == 1 || type == 2) {
			size_t n = b.n;
			apd_buf_reset(&t);
			while (n >= 2 && b.p[n - 1] == 0 && b.p[n - 2] == 0)
				n -= 2;
			if (apd_utf16_to_utf8(&t, (const unsigned char *)b.p, n & ~(size_t)1, false) ==
			    APD_OK)
				rc = add_fact(c, map[i].fact, t.p ? t.p : "");
		}
	}
	apd_buf_done(&b);
	apd_buf_done(&t);
	return rc;
}

static const char *
fact(const struct coll *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nfacts; i++)
		if (strcmp(c->facts[i].name, name) == 0)
			return c->facts[i].value;
	return NULL;
}

/* ---- network ---- */

static int
do_network(struct coll *c)
{
	struct apd_netcheck_opts no;
	struct apd_error err;
	struct apd_sha256 h;
	struct item *it;
	char *staged, *text = NULL, buf[65536];
	size_t tn = 0;
	FILE *f;
	int fd, rc;

	if (c->o->endpoints_path) {
		FILE *ef = apd_plat_fopen(c->o->endpoints_path, "rb");
		size_t cap = 0, r;
		if (ef == NULL)
			return add_gap(c, (size_t)-1, c->o->endpoints_path, "error", errno,
			    "cannot read the endpoint list");
		while ((r = fread(buf, 1, sizeof(buf), ef)) > 0 && tn < ((size_t)1 << 24)) {
			char *nt;
			if (tn + r + 1 > cap) {
				cap = 2 * (tn + r + 1);
				if ((nt = realloc(text, cap)) == NULL) {
					fclose(ef);
					free(text);
					return APD_FATAL;
				}
				text = nt;
			}
			memcpy(text + tn, buf, r);
			tn += r;
		}
		fclose(ef);
	}
	if ((staged = stage_name(c)) == NULL || (fd = apd_plat_create(staged)) < 0 ||
	    (close(fd), (f = apd_plat_fopen(staged, "wb+")) == NULL)) {
		free(staged);
		free(text);
		return APD_FATAL;
	}
	memset(&no, 0, sizeof(no));
	no.timeout_ms = c->o->net_timeout_ms ? c->o->net_timeout_ms : 5000;
	no.ca_file = getenv("APDIAG_NETCHECK_CAFILE");
	apd_error_clear(&err);
	rc = apd_netcheck_run(c->o->endpoints_path ? (text ? text : "") : apd_endpoints_xml,
	    c->o->endpoints_path ? tn : strlen(apd_endpoints_xml), &no, f, &c->net_probes,
	    &c->net_failures, &err);
	free(text);
	if (rc != APD_OK || fflush(f) != 0) {
		fclose(f);
		apd_plat_unlink(staged);
		free(staged);
		if (rc == APD_FATAL)
			return rc;
		return add_gap(c, (size_t)-1, "network check", "error", err.os_errno, "%s", err.msg);
	}
	/* hash what was written */
	rewind(f);
	apd_sha256_init(&h);
	{
		size_t r;
		while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
			apd_sha256_update(&h, buf, r);
	}
	if (ferror(f) || (it = new_item(c)) == NULL) {
		fclose(f);
		apd_sha256_done(&h);
		free(staged);
		return APD_FATAL;
	}
	it->entry = (size_t)-1;
	it->path = strdup("network/netcheck.json");
	it->orig = strdup("network reachability check");
	it->staged = staged;
	it->size = (uint64_t)ftell(f);
	it->mtime_ns = (int64_t)now_secs() * 1000000000;
	apd_sha256_final_hex(&h, it->sha);
	apd_sha256_done(&h);
	fclose(f);
	if (it->path == NULL || it->orig == NULL)
		return APD_FATAL;
	c->nit++;
	c->net_done = true;
	return APD_OK;
}

/* ---- manifest ---- */

static const char *const kind_names[] = { "events", "files", "registry", "command" };

static const char *
entry_status(const struct coll *c, size_t e)
{
	size_t i, left = 0, err = 0, na = 0, kept = 0;

	for (i = 0; i < c->nit; i++)
		if (c->it[i].entry == e)
			kept += c->it[i].keep, left += !c->it[i].keep;
	for (i = 0; i < c->ngp; i++)
		if (c->gp[i].entry == e) {
			if (strcmp(c->gp[i].kind, "not-applicable") == 0)
				na++;
			else if (strcmp(c->gp[i].kind, "error") == 0 ||
			    strcmp(c->gp[i].kind, "changed") == 0)
				err++;
		}
	if (na)
		return "not-applicable";
	if (kept == 0 && left)
		return "left-out";
	if (kept && (err || left))
		return "partial";
	if (kept)
		return "collected";
	return err ? "failed" : "absent";
}

static void
jw_item(struct apd_jw *w, const struct item *it)
{
	char t[32];

	apd_jw_open(w, NULL, '{');
	apd_jw_str(w, "path", apd_sv_cstr(it->path));
	apd_jw_str(w, "original", apd_sv_cstr(it->orig));
	apd_jw_int(w, "size", (int64_t)it->size);
	apd_jw_str(w, "sha256", apd_sv_cstr(it->sha));
	iso_utc(it->mtime_ns / 1000000000, t);
	apd_jw_str(w, "mtime_utc", apd_sv_cstr(t));
	if (it->redacted >= 0)
		apd_jw_bool(w, "redacted", it->redacted == 1);
	if (it->changed)
		apd_jw_bool(w, "changed_during_copy", true);
	if (it->has_exit)
		apd_jw_int(w, "exit_code", it->exit_code);
	apd_jw_close(w, '}');
}

static int
write_manifest(struct coll *c, const char *path, uint64_t *size)
{
	struct apd_buf b;
	struct apd_jw w;
	size_t i, k, ngaps = 0;
	uint64_t bytes = 0;
	FILE *f;
	int rc;

	apd_buf_init(&b, (size_t)1 << 30);
	apd_jw_begin(&w, &b);
	apd_jw_str(&w, "format", APD_SV_LIT("apdiag-collect-manifest"));
	apd_jw_int(&w, "format_version", 1);
	apd_jw_open(&w, "tool", '{');
	apd_jw_str(&w, "name", APD_SV_LIT("apdiag"));
	apd_jw_str(&w, "version", apd_sv_cstr(apd_version()));
	apd_jw_close(&w, '}');
	apd_jw_str(&w, "mode", apd_sv_cstr(c->src.vt->mode));
	if (c->o->root) {
		char *r = utf8_name(c->o->root);
		apd_jw_str(&w, "root", apd_sv_cstr(r));
		free(r);
	} else {
		apd_jw_str(&w, "root", APD_SV_NULL);   /* live: the device itself */
	}
	if (c->o->root == NULL)
		apd_jw_bool(&w, "elevated", c->elevated);
	apd_jw_open(&w, "profile", '{');
	apd_jw_str(&w, "name", apd_sv_cstr(c->prof.name));
	apd_jw_str(&w, "version", apd_sv_cstr(c->prof.version));
	apd_jw_str(&w, "sha256", apd_sv_cstr(c->prof.sha256));
	apd_jw_str(&w, "source", c->prof_builtin ? APD_SV_LIT("built-in") :
	    apd_sv_cstr(c->o->profile_path));
	apd_jw_close(&w, '}');
	apd_jw_str(&w, "started_utc", apd_sv_cstr(c->started));
	apd_jw_str(&w, "ended_utc", apd_sv_cstr(c->ended));
	apd_jw_open(&w, "archive", '{');
	apd_jw_str(&w, "format", apd_sv_cstr(apd_afmt_name(c->o->fmt)));
	if (c->o->max_size)
		apd_jw_int(&w, "max_size", (int64_t)c->o->max_size);
	else
		apd_jw_str(&w, "max_size", APD_SV_NULL);
	apd_jw_close(&w, '}');
	apd_jw_open(&w, "redaction", '{');
	apd_jw_bool(&w, "applied", c->o->redact);
	if (c->o->redact) {
		apd_jw_int(&w, "replacements", (int64_t)c->rd.replaced);
		apd_jw_str(&w, "scope", APD_SV_LIT("UPNs, e-mail addresses and profile user names "
		    "in text files and registry exports; binary files (.evtx, .etl, archives) are "
		    "not redacted"));
		apd_jw_str(&w, "token", APD_SV_LIT("first 10 hex digits of SHA-256(\"apdiag-redact:\" "
		    "+ lower-cased text)"));
	}
	apd_jw_close(&w, '}');
	apd_jw_open(&w, "hardware_hash", '{');
	apd_jw_bool(&w, "included", c->o->include_hwhash);
	apd_jw_close(&w, '}');
	apd_jw_open(&w, "facts", '{');
	for (i = 0; i < c->nfacts; i++)
		apd_jw_str(&w, c->facts[i].name, apd_sv_cstr(c->facts[i].value));
	apd_jw_close(&w, '}');
	apd_jw_open(&w, "entries", '[');
	for (k = 0; k <= c->prof.n; k++) {
		bool net = k == c->prof.n;
		size_t e = net ? (size_t)-1 : k;
		if (net && !c->o->network)
			break;
		apd_jw_open(&w, NULL, '{');
		apd_jw_str(&w, "id", net ? APD_SV_LIT("network") : apd_sv_cstr(c->prof.e[k].id));
		apd_jw_str(&w, "kind", net ? APD_SV_LIT("network") :
		    apd_sv_cstr(kind_names[c->prof.e[k].kind]));
		apd_jw_str(&w, "spec", net ? APD_SV_LIT("endpoint list") :
		    apd_sv_cstr(c->prof.e[k].spec));
		if (!net && c->prof.e[k].optional)
			apd_jw_bool(&w, "optional", true);
		apd_jw_str(&w, "status", net ? (c->net_done ? APD_SV_LIT("collected") :
		    APD_SV_LIT("failed")) : apd_sv_cstr(entry_status(c, e)));
		if (net && c->net_done) {
			apd_jw_int(&w, "probes", c->net_probes);
			apd_jw_int(&w, "failures", c->net_failures);
		}
		apd_jw_open(&w, "items", '[');
		for (i = 0; i < c->nit; i++)
			if (c->it[i].entry == e && c->it[i].keep) {
				jw_item(&w, &c->it[i]);
				bytes += c->it[i].size;
			}
		apd_jw_close(&w, ']');
		apd_jw_close(&w, '}');
	}
	apd_jw_close(&w, ']');
	apd_jw_open(&w, "gaps", '[');
	for (i = 0; i < c->ngp; i++) {
		const struct gap *g = &c->gp[i];
		char *item = utf8_name(g->item), *reason = utf8_name(g->reason);
		apd_jw_open(&w, NULL, '{');
		apd_jw_str(&w, "entry", g->entry == (size_t)-1 ? APD_SV_LIT("network") :
		    apd_sv_cstr(c->prof.e[g->entry].id));
		apd_jw_str(&w, "item", apd_sv_cstr(item));
		apd_jw_str(&w, "kind", apd_sv_cstr(g->kind));
		apd_jw_str(&w, "reason", apd_sv_cstr(reason));
		apd_jw_int(&w, "os_error", g->os_error);
		if (g->os_error) {
			char et[256];
			apd_jw_str(&w, "os_error_text",
			    apd_sv_cstr(apd_plat_strerror(g->os_error, et, sizeof(et))));
		}
		apd_jw_close(&w, '}');
		free(item);
		free(reason);
		ngaps++;
	}
	apd_jw_close(&w, ']');
	apd_jw_open(&w, "left_out", '[');
	for (i = 0; i < c->nit; i++)
		if (!c->it[i].keep) {
			apd_jw_open(&w, NULL, '{');
			apd_jw_str(&w, "entry", c->it[i].entry == (size_t)-1 ? APD_SV_LIT("network") :
			    apd_sv_cstr(c->prof.e[c->it[i].entry].id));
			apd_jw_str(&w, "path", apd_sv_cstr(c->it[i].path));
			apd_jw_str(&w, "original", apd_sv_cstr(c->it[i].orig));
			apd_jw_int(&w, "size", (int64_t)c->it[i].size);
			apd_jw_str(&w, "sha256", apd_sv_cstr(c->it[i].sha));
			apd_jw_str(&w, "reason", c->it[i].too_large ? (c->o->fmt == APD_AF_CAB ?
			    APD_SV_LIT("larger than a cab folder holds (1.5 GiB); use --format tar.zst") :
			    APD_SV_LIT("larger than the archive format holds")) :
			    APD_SV_LIT("left out to stay within --max-size"));
			apd_jw_close(&w, '}');
		}
	apd_jw_close(&w, ']');
	apd_jw_open(&w, "summary", '{');
	{
		size_t kept = 0;
		for (i = 0; i < c->nit; i++)
			kept += c->it[i].keep;
		apd_jw_int(&w, "items", (int64_t)kept);
	}
	apd_jw_int(&w, "gaps", (int64_t)ngaps);
	apd_jw_int(&w, "bytes", (int64_t)bytes);
	apd_jw_close(&w, '}');
	rc = apd_jw_end(&w);
	if (rc == APD_OK)
		rc = apd_buf_addc(&b, '\n');
	if (rc != APD_OK) {
		apd_buf_done(&b);
		errno = ENOMEM;
		return APD_FATAL;
	}
	f = apd_plat_fopen(path, "wb");
	if (f == NULL || fwrite(b.p, 1, b.n, f) != b.n || fflush(f) != 0) {
		int e = errno;
		if (f)
			fclose(f);
		apd_buf_done(&b);
		errno = e ? e : EIO;
		return APD_FATAL;
	}
	if (fclose(f) != 0) {
		apd_buf_done(&b);
		return APD_FATAL;
	}
	*size = b.n;
	apd_buf_done(&b);
	return APD_OK;
}

/* ---- --max-size ---- */

#define ARCHIVE_BASE 4096u   /* archive header and trailer, generously */

/* Choose what fits beside a manifest of mlen bytes: keep = false for the rest. */
static void
select_items(struct coll *c, uint64_t mlen)
{
	uint64_t used, cost;
	size_t i;

	for (i = 0; i < c->nit; i++) {
		c->it[i].keep = apd_afmt_fits(c->o->fmt, c->it[i].size);
		c->it[i].too_large = !c->it[i].keep;
	}
	if (c->o->max_size == 0)
		return;
	used = ARCHIVE_BASE + apd_afmt_cost(c->o->fmt, mlen, 13);
	for (i = 0; i < c->nit; i++) {
		if (!c->it[i].keep)
			continue;   /* too large for the format (apd_afmt_fits) */
		cost = apd_afmt_cost(c->o->fmt, c->it[i].size, strlen(c->it[i].path));
		if (used + cost <= c->o->max_size)
			used += cost;
		else
			c->it[i].keep = false;
	}
}

/* ---- the run ---- */

static void
rm_stage(struct coll *c)
{
	size_t i;
	char *m;

	if (c->stage == NULL)
		return;
	for (i = 0; i < c->nit; i++)
		if (c->it[i].staged)
			apd_plat_unlink(c->it[i].staged);
	if ((m = malloc(strlen(c->stage) + 32)) != NULL) {
		sprintf(m, "%s/manifest.json", c->stage);
		apd_plat_unlink(m);
		free(m);
	}
	apd_plat_rm_flat_dir(c->stage);   /* and anything a failed step left behind */
}

static void
coll_free(struct coll *c)
{
	size_t i;

	rm_stage(c);
	for (i = 0; i < c->nit; i++) {
		free(c->it[i].path);
		free(c->it[i].orig);
		free(c->it[i].staged);
	}
	free(c->it);
	for (i = 0; i < c->ngp; i++) {
		free(c->gp[i].item);
		free(c->gp[i].reason);
	}
	free(c->gp);
	for (i = 0; i < c->nfacts; i++)
		free(c->facts[i].value);
	for (i = 0; i < c->cseen; i++)
		free(c->seen[i]);
	free(c->seen);
	free(c->entry_items);
	free(c->stage);
	free(c->blk);
	if (c->src.vt)
		c->src.vt->free(&c->src);
	apd_profile_free(&c->prof);
}

static char *
dir_of(const char *path)
{
	const char *s = apd_plat_last_sep(path);
	char *d;

	if (s == NULL)
		return strdup(".");
	if (s == path)
		return strdup("/");
	if ((d = malloc((size_t)(s - path) + 1)) != NULL) {
		memcpy(d, path, (size_t)(s - path));
		d[s - path] = '\0';
	}
	return d;
}

static int
load_profile(struct coll *c, struct apd_error *err)
{
	char *text = NULL, buf[65536];
	size_t n = 0, cap = 0, r;
	FILE *f;
	int rc;

	if (c->o->profile_path == NULL) {
		c->prof_builtin = true;
		return apd_profile_load(&c->prof, apd_profile_xml, strlen(apd_profile_xml),
		    "collect/profile.xml", err);
	}
	if ((f = apd_plat_fopen(c->o->profile_path, "rb")) == NULL)
		return apd_set_errno(err, APD_FAILED, errno, "%s", c->o->profile_path);
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (n + r > cap) {
			char *nt;
			cap = 2 * (n + r);
			if ((nt = realloc(text, cap)) == NULL) {
				free(text);
				fclose(f);
				return apd_set_error(err, APD_FATAL, "out of memory");
			}
			text = nt;
		}
		memcpy(text + n, buf, r);
		n += r;
		if (n > ((size_t)1 << 24))
			break;
	}
	fclose(f);
	rc = apd_profile_load(&c->prof, text ? text : "", n, c->o->profile_path, err);
	free(text);
	return rc;
}

/* The source for root: offline from a volume, or live (Windows build, root NULL). */
static int
open_source(struct apd_csrc *s, const char *root, struct apd_error *err)
{
	memset(s, 0, sizeof(*s));
	if (root)
		return apd_csrc_offline(s, root, err);
#ifdef _WIN32
	return apd_csrc_live(s, err);
#else
	return apd_set_error(err, APD_FAILED, "live collection runs on Windows only: give --root");
#endif
}

static int
write_archive(struct coll *c, const char *manifest, uint64_t mlen, struct apd_collect_result *res,
    struct apd_error *err)
{
	struct apd_awriter *aw = NULL;
	struct stat sb;
	char *dir, *tmp;
	const char *base;
	size_t i;
	int fd, rc;

	if ((dir = dir_of(c->o->out)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	base = apd_plat_last_sep(c->o->out);
	base = base ? base + 1 : c->o->out;
	if ((tmp = malloc(strlen(dir) + strlen(base) + 32)) == NULL) {
		free(dir);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	sprintf(tmp, "%s/.%s.partial-XXXXXX", dir, base);
	if ((fd = apd_plat_mkstemp(tmp)) < 0) {
		rc = apd_set_errno(err, APD_FATAL, errno, "%s: cannot create the output", c->o->out);
		free(tmp);
		free(dir);
		return rc;
	}
	rc = apd_awriter_open(&aw, c->o->fmt, fd, tmp, err);
	if (rc == APD_OK)
		rc = apd_awriter_add(aw, "manifest.json", manifest, mlen,
		    (int64_t)now_secs() * 1000000000, err);
	for (i = 0; rc == APD_OK && i < c->nit; i++) {
		if (!c->it[i].keep)
			continue;
		if (cancelled(c)) {
			rc = apd_set_error(err, APD_FATAL, "interrupted");
			break;
		}
		rc = apd_awriter_add(aw, c->it[i].path, c->it[i].staged, c->it[i].size,
		    c->it[i].mtime_ns, err);
		if (c->o->progress)
			c->o->progress(c->o->progress_ud, i, c->nit, "writing the archive", 0);
	}
	if (rc == APD_OK)
		rc = apd_awriter_finish(aw, err);
	apd_awriter_free(aw);
	if (rc == APD_OK && apd_plat_fsync(fd) != 0)
		rc = apd_set_errno(err, APD_FATAL, errno, "%s: cannot flush the output", c->o->out);
	if (rc == APD_OK && fstat(fd, &sb) != 0)
		rc = apd_set_errno(err, APD_FATAL, errno, "%s", c->o->out);
	if (close(fd) != 0 && rc == APD_OK)
		rc = apd_set_errno(err, APD_FATAL, errno, "%s: cannot write the output", c->o->out);
	if (rc == APD_OK && c->o->max_size && (uint64_t)sb.st_size > c->o->max_size)
		rc = apd_set_error(err, APD_FATAL, "%s: the archive came out at %lld bytes, above "
		    "--max-size %llu (a bug in the size estimate)", c->o->out, (long long)sb.st_size,
		    (unsigned long long)c->o->max_size);
	if (rc == APD_OK && c->o->fmt == APD_AF_CAB && (uint64_t)sb.st_size > 0xFFFFFFFFull)
		rc = apd_set_error(err, APD_FATAL, "%s: a cab cannot be larger than 4 GiB; use "
		    "--format tar.zst or --max-size", c->o->out);
	if (rc == APD_OK && apd_plat_replace(tmp, c->o->out) != 0)
		rc = apd_set_errno(err, APD_FATAL, errno, "%s: cannot rename the finished archive",
		    c->o->out);
	if (rc != APD_OK) {
		apd_plat_unlink(tmp);
		if (err->code == APD_FAILED)
			err->code = APD_FATAL;
		rc = APD_FATAL;
	} else {
		apd_plat_fsync_dir(dir);
		res->archive_bytes = (uint64_t)sb.st_size;
	}
	free(tmp);
	free(dir);
	return rc;
}

int
apd_collect_run(const struct apd_collect_opts *o, struct apd_collect_result *res,
    struct apd_error *err)
{
	struct coll c;
	struct timespec t0, t1;
	char *dir = NULL, *manifest = NULL;
	uint64_t mlen = 0;
	size_t i, tries;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(res, 0, sizeof(*res));
	c.o = o;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	iso_utc(now_secs(), c.started);
	if ((rc = load_profile(&c, err)) != APD_OK)
		goto out;
	/* the platform source: offline from a volume; live (the device itself) when root is NULL */
	if ((rc = open_source(&c.src, o->root, err)) != APD_OK)
		goto out;
#ifdef _WIN32
	c.elevated = o->root == NULL && apd_live_elevated();
#endif
	c.blk = malloc(BLOCK);
	c.entry_items = calloc(c.prof.n + 1, sizeof(size_t));
	dir = o->staging_dir ? strdup(o->staging_dir) : dir_of(o->out);
	if (c.blk == NULL || c.entry_items == NULL || dir == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	if ((c.stage = malloc(strlen(dir) + 40)) == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	sprintf(c.stage, "%s/.apdiag-staging-XXXXXX", dir);
	if (apd_plat_mkdtemp(c.stage) != 0) {
		rc = apd_set_errno(err, APD_FATAL, errno, "%s: cannot create the staging folder", dir);
		free(c.stage);
		c.stage = NULL;
		goto out;
	}
	for (i = 0; i < c.prof.n; i++) {
		const struct apd_pentry *e = &c.prof.e[i];
		c.cur_entry = i;
		if (cancelled(&c)) {
			rc = apd_set_error(err, APD_FATAL, "interrupted");
			goto out;
		}
		progress(&c, e->id);
		switch (e->kind) {
		case APD_P_EVENTS: rc = do_events(&c, e); break;
		case APD_P_FILES: rc = do_files(&c, e); break;
		case APD_P_REGISTRY: rc = do_registry(&c, e); break;
		default: rc = do_command(&c, e); break;
		}
		if (rc == APD_FATAL) {
			if (cancelled(&c))
				rc = apd_set_error(err, APD_FATAL, "interrupted");
			else
				rc = apd_set_errno(err, APD_FATAL, errno,
				    "%s: cannot write the staging copy in %s", e->id, dir);
			goto out;
		}
	}
	if ((rc = read_facts(&c)) != APD_OK) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	if (o->network) {
		c.cur_entry = c.prof.n;
		progress(&c, "network");
		if ((rc = do_network(&c)) != APD_OK) {
			rc = apd_set_errno(err, APD_FATAL, errno, "network: cannot write the result");
			goto out;
		}
	}
	iso_utc(now_secs(), c.ended);
	if ((manifest = malloc(strlen(c.stage) + 32)) == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	sprintf(manifest, "%s/manifest.json", c.stage);
	/* pick what fits; the manifest names what did not, so its size is settled in turns */
	select_items(&c, 0);
	for (tries = 0; tries < 4; tries++) {
		uint64_t prev = mlen;
		if (write_manifest(&c, manifest, &mlen) != APD_OK) {
			rc = apd_set_errno(err, APD_FATAL, errno, "cannot write the manifest");
			goto out;
		}
		if (o->max_size == 0 || (tries > 0 && mlen <= prev))
			break;
		select_items(&c, mlen + 4096);
	}
	if (o->max_size && ARCHIVE_BASE + apd_afmt_cost(o->fmt, mlen, 13) > o->max_size) {
		rc = apd_set_error(err, APD_FAILED, "--max-size %llu is too small even for the "
		    "manifest (%llu bytes)", (unsigned long long)o->max_size, (unsigned long long)mlen);
		goto out;
	}
	rc = write_archive(&c, manifest, mlen, res, err);
	if (rc != APD_OK)
		goto out;
	for (i = 0; i < c.nit; i++) {
		if (c.it[i].keep) {
			res->items++;
			res->input_bytes += c.it[i].size;
		} else {
			res->left_out++;
		}
	}
	res->gaps = c.ngp;
	for (i = 0; i < c.ngp; i++)
		if (strcmp(c.gp[i].kind, "error") == 0 || strcmp(c.gp[i].kind, "changed") == 0)
			res->failed++;
	rc = res->failed || res->left_out ? APD_WARN : APD_OK;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	(void)fact;
	free(manifest);
	free(dir);
	coll_free(&c);
	return rc;
}

/* The computer name for the default output name, read before collecting. */
int apd_collect_device_name(const char *root, char *out, size_t n);
int
apd_collect_device_name(const char *root, char *out, size_t n)
{
	struct apd_csrc s;
	struct apd_error err;
	struct apd_buf b, t;
	uint32_t type;
	int rc = APD_FAILED;

	out[0] = '\0';
	apd_error_clear(&err);
	if (open_source(&s, root, &err) != APD_OK) {
		if (s.priv)
			s.vt->free(&s);
		return APD_FAILED;
	}
	apd_buf_init(&b, 4096);
	apd_buf_init(&t, 8192);
	if (s.vt->reg_get(&s, "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
	    "ComputerName\\ComputerName", "ComputerName", &type, &b, &err) == APD_OK &&
	    (type == 1 || type == 2) && apd_utf16_to_utf8(&t, (const unsigned char *)b.p,
	    b.n & ~(size_t)1, false) == APD_OK && t.n > 0) {
		size_t i, k = 0;
		for (i = 0; i < t.n && k + 1 < n; i++) {
			char ch = t.p[i];
			if (ch == 0)
				break;
			if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
				out[k++] = ch;
		}
		out[k] = '\0';
		rc = k ? APD_OK : APD_FAILED;
	}
	apd_buf_done(&b);
	apd_buf_done(&t);
	s.vt->free(&s);
	return rc;
}
