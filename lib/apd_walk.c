/*
 * apd_walk.c - walk folders, files and nested archives; bid; parse.
 *
 * Only the functions of apd_walk.h are exported.  One input file or
 * archive entry is handled by handle_stream(): it bids on the first bytes,
 * then either opens a container (recursively, bounded) or runs the winning
 * parser into the catalog's sink, and always finishes the source with a
 * status, the SHA-256 and the size of the bytes actually read.
 */
#include "apd_walk.h"
#include "apd_parser.h"
#include "apd_stream.h"
#include "apd_text.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FOLDER_DEPTH 64
#define PROGRESS_EVERY (8u << 20)

/* Where one item sits and what the walker knows about it before reading. */
struct item {
	int64_t parent_id;
	const char *path;       /* display path */
	const char *name;       /* base name */
	const char *origin;     /* Intune directive, or NULL */
	unsigned depth;         /* containers above it */
	int64_t size;           /* declared, -1 unknown */
};

/* A container being read, for the ratio and entry caps. */
struct container {
	struct archive *a;
	const char *path;
	uint64_t out_bytes;     /* uncompressed bytes handed out from it */
	int stop;               /* APD_OK, or why reading it stopped */
	char stop_msg[APD_ERRMSG_MAX];
};

struct entry_src {
	struct apd_walk *w;
	struct container *c;
	const char *path;
};

struct file_src {
	struct apd_walk *w;
	struct apd_fd_src fd;
	bool counted;   /* bytes count against max_total_bytes (not a container's hash pass) */
};

static int handle_stream(struct apd_walk *w, struct apd_stream *s, const struct item *it);

void
apd_walk_init(struct apd_walk *w, const struct apd_limits *lim, struct apd_catalog cat)
{
	memset(w, 0, sizeof(*w));
	w->lim = lim;
	w->cat = cat;
	w->prefetch_from = APD_WALK_PREFETCH_FROM;
}

int
apd_walk_skip_file(struct apd_walk *w, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return APD_OK;
	if (w->nskip == sizeof(w->skip) / sizeof(w->skip[0]))
		return APD_FAILED;
	w->skip[w->nskip].dev = (uint64_t)sb.st_dev;
	w->skip[w->nskip].ino = (uint64_t)sb.st_ino;
	w->nskip++;
	return APD_OK;
}

static bool
skipped_file(const struct apd_walk *w, const struct stat *sb)
{
	unsigned i;

	for (i = 0; i < w->nskip; i++)
		if (w->skip[i].dev == (uint64_t)sb->st_dev && w->skip[i].ino == (uint64_t)sb->st_ino)
			return true;
	return false;
}

static void
progress(struct apd_walk *w, const char *path, int force)
{
	if (w->progress == NULL)
		return;
	if (!force && w->st.bytes - w->last_progress < PROGRESS_EVERY)
		return;
	w->last_progress = w->st.bytes;
	w->progress(w->progress_ud, w->st.bytes, path);
}

/* Count bytes against the per-analysis total; APD_FAILED past it. */
static int
account(struct apd_walk *w, size_t n, const char *path, struct apd_error *err)
{
	w->st.bytes += n;
	if (w->st.bytes > w->lim->max_total_bytes)
		return apd_set_error(err, APD_FAILED,
		    "%s: the analysis read more than %llu bytes in total; stopped (raise --max-total)",
		    path, (unsigned long long)w->lim->max_total_bytes);
	progress(w, path, 0);
	return APD_OK;
}

static int
file_block(void *ud, const void **p, size_t *n, struct apd_error *err)
{
	struct file_src *fs = ud;
	int rc = apd_fd_block(&fs->fd, p, n, err);

	if (rc == APD_OK && fs->counted)
		rc = account(fs->w, *n, fs->fd.name, err);
	return rc;
}

static int
entry_block(void *ud, const void **p, size_t *n, struct apd_error *err)
{
	struct entry_src *es = ud;
	struct container *c = es->c;
	const struct apd_limits *lim = es->w->lim;
	la_int64_t off;
	int64_t in_bytes;
	int r;

	if (c->stop != APD_OK)
		return apd_set_error(err, APD_FAILED, "%s", c->stop_msg);
	r = archive_read_data_block(c->a, p, n, &off);
	if (r == ARCHIVE_EOF)
		return APD_EOF;
	if (r < ARCHIVE_WARN)
		return apd_set_error(err, APD_FAILED, "%s: %s (near byte %lld of %s)", es->path,
		    archive_error_string(c->a) ? archive_error_string(c->a) : "cannot read the entry",
		    (long long)archive_filter_bytes(c->a, -1), c->path);
	c->out_bytes += *n;
	in_bytes = archive_filter_bytes(c->a, -1);
	if (in_bytes < 1)
		in_bytes = 1;
	if (c->out_bytes > lim->ratio_floor &&
	    c->out_bytes / (uint64_t)in_bytes >= lim->max_ratio) {
		c->stop = APD_FAILED;
		snprintf(c->stop_msg, sizeof(c->stop_msg),
		    "%s: expands more than %u:1 (%llu bytes from %lld); stopped as a likely "
		    "decompression bomb (raise --max-ratio)", c->path, lim->max_ratio,
		    (unsigned long long)c->out_bytes, (long long)in_bytes);
		return apd_set_error(err, APD_FAILED, "%s", c->stop_msg);
	}
	if (account(es->w, *n, es->path, err) != APD_OK) {
		c->stop = APD_FAILED;
		snprintf(c->stop_msg, sizeof(c->stop_msg), "%s", err->msg);
		return APD_FAILED;
	}
	return APD_OK;
}

/* ---- names ---- */

bool
apd_walk_name_unsafe(const char *name)
{
	const char *p = name, *seg;
	size_t n;

	if (name[0] == '/' || name[0] == '\\')
		return true;
	if (((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')) &&
	    name[1] == ':')
		return true;
	while (*p) {
		seg = p;
		while (*p && *p != '/' && *p != '\\')
			p++;
		n = (size_t)(p - seg);
		if (n == 2 && seg[0] == '.' && seg[1] == '.')
			return true;
		if (*p)
			p++;
	}
	return false;
}

static const char *
base_name(const char *path)
{
	const char *s = path, *p;

	for (p = path; *p; p++)
		if ((*p == '/' || *p == '\\') && p[1])
			s = p + 1;
	return s;
}

static char *
join(const char *a, const char *sep, const char *b)
{
	size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
	char *s = malloc(na + ns + nb + 1);

	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, sep, ns);
		memcpy(s + na + ns, b, nb + 1);
	}
	return s;
}

/*
 * Intune flattened names: "(NN) <Directive> <descriptor>[ <file>|/<file>]".
 * Returns the origin "<Directive> <descriptor>" (malloc'd) or NULL.
 */
static char *
intune_origin(const char *name)
{
	static const char *const directives[] = { "RegistryKey ", "Command ", "Events ",
		"FoldersFiles " };
	static const char *const files[] = { " export.reg", " output.log", " Events.evtx" };
	const char *p = name, *end;
	size_t i, n, m;
	char *o;

	if (*p++ != '(')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == name + 1 || p[0] != ')' || p[1] != ' ')
		return NULL;
	p += 2;
	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strncmp(p, directives[i], strlen(directives[i])) == 0)
			break;
	if (i == sizeof(directives) / sizeof(directives[0]))
		return NULL;
	end = p + strcspn(p, "/\\");
	n = (size_t)(end - p);
	if (*end == '\0') {
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			m = strlen(files[i]);
			if (n > m && strncmp(end - m, files[i], m) == 0) {
				n -= m;
				break;
			}
		}
	}
	o = malloc(n + 1);
	if (o) {
		memcpy(o, p, n);
		o[n] = '\0';
	}
	return o;
}

/* "(NN) No Results - Error [0x80070001] RegistryKey HKLM_..." -> 1 with the HRESULT */
static int
intune_gap(const char *name, int64_t *hresult, const char **item)
{
	static const char marker[] = "No Results - Error [";
	const char *p = strstr(name, marker);
	char *end;
	unsigned long v;

	if (p == NULL || name[0] != '(')
		return 0;
	p += sizeof(marker) - 1;
	errno = 0;
	v = strtoul(p, &end, 16);
	if (errno || end == p || *end != ']')
		return 0;
	*hresult = (int64_t)(uint32_t)v;
	*item = end[1] == ' ' ? end + 2 : end + 1;
	return 1;
}

/* ---- sources ---- */

static const char *
container_kind(const unsigned char *h, size_t n)
{
	if (n >= 4 && memcmp(h, "PK\003\004", 4) == 0)
		return "zip";
	if (n >= 4 && memcmp(h, "PK\005\006", 4) == 0)
		return "zip";
	if (n >= 8 && memcmp(h, "MSCF\0\0\0\0", 8) == 0)
		return "cab";
	if (n >= 6 && memcmp(h, "7z\xBC\xAF\x27\x1C", 6) == 0)
		return "7z";
	if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
		return "tar";
	if (n >= 2 && h[0] == 0x1F && h[1] == 0x8B)
		return "gzip";
	if (n >= 6 && memcmp(h, "\xFD" "7zXZ\0", 6) == 0)
		return "xz";
	if (n >= 4 && memcmp(h, "\x28\xB5\x2F\xFD", 4) == 0)
		return "zstd";
	if (n >= 4 && memcmp(h, "BZh", 3) == 0 && h[3] >= '1' && h[3] <= '9')
		return "bzip2";
	return NULL;
}

static int
finish(struct apd_walk *w, int64_t id, const char *status, const char *error,
    const char *sha, int64_t size, const char *kind)
{
	struct apd_source_result r = { status, error, sha, size, kind };

	if (strcmp(status, "failed") == 0)
		w->st.failed++;
	else if (strcmp(status, "partial") == 0)
		w->st.partial++;
	else if (strcmp(status, "gap") == 0)
		w->st.gaps++;
	return w->cat.vt->end(w->cat.ud, id, &r);
}

static int64_t
begin(struct apd_walk *w, const struct item *it, const char *kind, const char *parser)
{
	struct apd_source_info si = { it->parent_id, it->path, kind, parser, it->origin, it->size };

	w->st.sources++;
	progress(w, it->path, 1);
	return w->cat.vt->begin(w->cat.ud, &si);
}

/* Record a source that is not read at all. */
static int
record_unread(struct apd_walk *w, const struct item *it, const char *kind, const char *status,
    const char *error)
{
	int64_t id = begin(w, it, kind, NULL);

	if (id < 0)
		return (int)id;
	return finish(w, id, status, error, NULL, -1, NULL);
}

/*
 * Read a container from a seekable fd.  The container's own source row has
 * already been begun as `id`; entries become its children.
 */
static int
walk_archive(struct apd_walk *w, int fd, const struct item *it, int64_t id, const char *kind,
    char *errbuf, size_t errlen)
{
	struct container c;
	struct archive_entry *ent;
	struct archive *a;
	unsigned long entries = 0;
	int r, rc = APD_OK;
	bool compressed_only;

	errbuf[0] = '\0';
	a = archive_read_new();
	if (a == NULL)
		return APD_FATAL;
	compressed_only = strcmp(kind, "gzip") == 0 || strcmp(kind, "xz") == 0 ||
	    strcmp(kind, "zstd") == 0 || strcmp(kind, "bzip2") == 0;
	archive_read_support_filter_all(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_7zip(a);
	if (compressed_only)
		archive_read_support_format_raw(a);   /* a compressed single file */
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.path = it->path;
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
		snprintf(errbuf, errlen, "%s: cannot open as %s: %s", it->path, kind,
		    archive_error_string(a) ? archive_error_string(a) : "unknown error");
		archive_read_free(a);
		return APD_FAILED;
	}
	for (;;) {
		struct apd_stream s;
		struct entry_src es;
		struct item sub;
		struct apd_error err;
		const char *name, *gap_item;
		char *path, *origin;
		int64_t hres;

		r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			snprintf(errbuf, errlen, "%s: after %lu entries, near byte %lld: %s", it->path,
			    entries, (long long)archive_filter_bytes(a, -1),
			    archive_error_string(a) ? archive_error_string(a) : "unreadable");
			rc = entries ? APD_WARN : APD_FAILED;
			break;
		}
		if (archive_entry_filetype(ent) == AE_IFDIR)
			continue;
		if (++entries > w->lim->max_entries) {
			snprintf(errbuf, errlen, "%s: more than %u entries; the rest was not read "
			    "(raise --max-entries)", it->path, w->lim->max_entries);
			rc = APD_WARN;
			break;
		}
		name = archive_entry_pathname_utf8(ent);
		if (name == NULL)
			name = archive_entry_pathname(ent);
		if (name == NULL || *name == '\0')
			name = compressed_only ? "data" : "(unnamed)";
		if (strlen(name) > APD_DEF_MAX_PATH)
			name = "(name too long)";
		path = join(it->path, "!", name);
		origin = intune_origin(name);
		if (path == NULL) {
			free(origin);
			rc = APD_FATAL;
			break;
		}
		sub.parent_id = id;
		sub.path = path;
		sub.name = base_name(name);
		sub.origin = origin;
		sub.depth = it->depth + 1;
		sub.size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1;

		if (apd_walk_name_unsafe(name)) {
			char msg[APD_ERRMSG_MAX];
			snprintf(msg, sizeof(msg), "%s: unsafe entry name (absolute path or '..' "
			    "component, possible path traversal); not read", path);
			r = record_unread(w, &sub, "unknown", "failed", msg);
		} else if (archive_entry_filetype(ent) != AE_IFREG) {
			r = record_unread(w, &sub, "unknown", "skipped",
			    "not a regular file (link or device entry); not read");
		} else if (sub.size == 0 && intune_gap(sub.name, &hres, &gap_item)) {
			int64_t gid;
			sub.origin = gap_item;
			gid = begin(w, &sub, "gap", NULL);
			struct apd_sink *sink;
			if (gid < 0) {
				r = (int)gid;
			} else {
				sink = w->cat.vt->sink(w->cat.ud, gid);
				r = apd_emit_gap(sink, apd_sv_cstr(gap_item), hres,
				    APD_SV_LIT("the device's collector reported no results"));
				if (r == APD_OK)
					r = finish(w, gid, "gap", NULL, NULL, 0, NULL);
			}
		} else {
			es.w = w;
			es.c = &c;
			es.path = path;
			apd_error_clear(&err);
			r = apd_stream_open(&s, entry_block, &es, path, sub.size,
			    w->lim->max_file_bytes, &err);
			if (r == APD_OK) {
				r = handle_stream(w, &s, &sub);
			} else if (r != APD_FATAL) {
				r = record_unread(w, &sub, "unknown", "failed", err.msg);
			}
			apd_stream_close(&s);
		}
		free(path);
		free(origin);
		if (r == APD_FATAL || r < APD_FATAL) {
			rc = APD_FATAL;
			break;
		}
		if (c.stop != APD_OK) {
			snprintf(errbuf, errlen, "%s", c.stop_msg);
			rc = APD_WARN;
			break;
		}
	}
	archive_read_free(a);
	return rc;
}

/* Begin a container source, walk it, finish it. */
static int
handle_container(struct apd_walk *w, int fd, const struct item *it, const char *kind,
    const char *sha, int64_t size)
{
	char errbuf[APD_ERRMSG_MAX];
	int64_t id;
	int rc;

	id = begin(w, it, kind, NULL);
	if (id < 0)
		return (int)id;
	w->st.containers++;
	rc = walk_archive(w, fd, it, id, kind, errbuf, sizeof(errbuf));
	if (rc == APD_FATAL)
		return rc;
	return finish(w, id, rc == APD_OK ? "ok" : rc == APD_WARN ? "partial" : "failed",
	    errbuf[0] ? errbuf : NULL, sha, size, NULL);
}

/* Copy the rest of a stream into an anonymous temporary file. */
static int
spool(struct apd_stream *s, FILE **out, struct apd_error *err)
{
	FILE *f = tmpfile();
	const void *p;
	size_t n;
	int rc;

	*out = NULL;
	if (f == NULL)
		return apd_set_errno(err, APD_FAILED, errno, "%s: cannot create a temporary file",
		    s->name);
	while ((rc = apd_stream_block(s, &p, &n)) == APD_OK) {
		if (fwrite(p, 1, n, f) != n) {
			fclose(f);
			return apd_set_errno(err, APD_FAILED, errno,
			    "%s: cannot write a temporary file", s->name);
		}
	}
	if (rc != APD_EOF || fflush(f) != 0) {
		fclose(f);
		return rc == APD_EOF ? apd_set_errno(err, APD_FAILED, errno,
		    "%s: cannot write a temporary file", s->name) : rc;
	}
	*out = f;
	return APD_OK;
}

static int
handle_parsed(struct apd_walk *w, struct apd_stream *s, const struct item *it)
{
	const struct apd_parser *p;
	struct apd_probe pr;
	struct apd_parse ps;
	struct apd_error err;
	const char *status, *error = NULL;
	char sha[65];
	int64_t id;
	int bid, rc = APD_OK, drc;

	pr.head = apd_stream_head(s, &pr.len);
	pr.name = it->name;
	pr.path = it->path;
	pr.size = it->size;
	p = apd_parser_choose(&pr, &bid);
	if (w->want && !w->want(w->want_ud, p ? p->kind : "unknown"))
		return APD_OK;   /* not read further: an archive skips the rest of the entry */
	id = begin(w, it, p ? p->kind : "unknown", p ? p->name : NULL);
	if (id < 0)
		return (int)id;
	apd_error_clear(&err);
	if (p && p->run) {
		/* parse here while a second core reads, inflates and hashes ahead;
		   without a thread it is only slower */
		if (it->size < 0 || (uint64_t)it->size >= w->prefetch_from)
			(void)apd_stream_prefetch(s);
		ps.in = s;
		ps.sink = w->cat.vt->sink(w->cat.ud, id);
		ps.lim = w->lim;
		ps.path = it->path;
		ps.name = it->name;
		ps.err = &err;
		rc = p->run(&ps);
		if (rc == APD_FATAL || rc < APD_FATAL)
			return APD_FATAL;
	}
	/* the stream's own failure (limit, truncation) names the cause best */
	if (s->state != APD_OK && s->state != APD_EOF) {
		status = rc == APD_OK || rc == APD_WARN ? "partial" : "failed";
		error = s->err->msg;
	} else {
		drc = apd_stream_drain(s);
		if (drc != APD_OK) {
			status = "partial";
			error = s->err->msg;
		} else if (p == NULL) {
			status = "ok";
		} else if (p->run == NULL) {
			status = "skipped";
			error = p->note;
		} else if (rc == APD_OK) {
			status = "ok";
		} else if (rc == APD_WARN) {
			status = "partial";
			error = err.msg[0] ? err.msg : "malformed input: see the warning table";
		} else {
			status = "failed";
			error = err.msg[0] ? err.msg : "unreadable";
		}
	}
	apd_stream_sha256_hex(s, sha);
	return finish(w, id, status, error, sha, (int64_t)s->pulled, NULL);
}

static int
handle_stream(struct apd_walk *w, struct apd_stream *s, const struct item *it)
{
	const unsigned char *h;
	const char *kind;
	struct apd_error err;
	char sha[65], msg[APD_ERRMSG_MAX];
	FILE *f;
	int64_t id;
	size_t n;
	int rc;

	h = apd_stream_head(s, &n);
	kind = container_kind(h, n);
	if (kind == NULL)
		return handle_parsed(w, s, it);
	if (it->depth >= w->lim->max_depth) {
		id = begin(w, it, kind, NULL);
		if (id < 0)
			return (int)id;
		rc = apd_stream_drain(s);
		apd_stream_sha256_hex(s, sha);
		snprintf(msg, sizeof(msg), "%s: archive nested deeper than %u levels; not opened "
		    "(raise --max-depth)", it->path, w->lim->max_depth);
		return finish(w, id, rc == APD_OK ? "skipped" : "failed",
		    rc == APD_OK ? msg : s->err->msg, sha, (int64_t)s->pulled, NULL);
	}
	apd_error_clear(&err);
	rc = spool(s, &f, &err);
	apd_stream_sha256_hex(s, sha);
	if (rc != APD_OK) {
		id = begin(w, it, kind, NULL);
		if (id < 0)
			return (int)id;
		return finish(w, id, "failed", s->err->msg[0] ? s->err->msg : err.msg, NULL,
		    (int64_t)s->pulled, NULL);
	}
	if (lseek(fileno(f), 0, SEEK_SET) != 0) {
		fclose(f);
		return apd_set_errno(&w->err, APD_FATAL, errno, "cannot rewind a temporary file");
	}
	rc = handle_container(w, fileno(f), it, kind, sha, (int64_t)s->pulled);
	fclose(f);
	return rc;
}

/* ---- files and folders ---- */

static int
walk_file(struct apd_walk *w, const char *fs_path, const struct item *it)
{
	struct file_src fsrc;
	struct apd_stream s;
	struct apd_error err;
	struct stat sb;
	const char *kind;
	const unsigned char *h;
	char sha[65];
	size_t n;
	int fd, rc;

	fd = open(fs_path, O_RDONLY | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		char msg[APD_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "%s: cannot open: %s", it->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return record_unread(w, it, "unknown", "failed", msg);
	}
	fsrc.w = w;
	fsrc.counted = true;
	if (apd_fd_src_init(&fsrc.fd, fd, it->path) != APD_OK) {
		close(fd);
		return APD_FATAL;
	}
	apd_error_clear(&err);
	rc = apd_stream_open(&s, file_block, &fsrc, it->path, (int64_t)sb.st_size,
	    w->lim->max_file_bytes, &err);
	if (rc == APD_OK) {
		h = apd_stream_head(&s, &n);
		kind = container_kind(h, n);
		if (kind && it->depth < w->lim->max_depth) {
			/* a file on disk: hash it, then let libarchive seek in it; only
			   what comes out of the archive counts against the total */
			fsrc.counted = false;
			w->st.bytes -= s.pulled;
			rc = apd_stream_drain(&s);
			apd_stream_sha256_hex(&s, sha);
			if (rc == APD_OK && lseek(fd, 0, SEEK_SET) == 0) {
				rc = handle_container(w, fd, it, kind, sha, (int64_t)s.pulled);
			} else {
				int64_t id = begin(w, it, kind, NULL);
				rc = id < 0 ? (int)id : finish(w, id, "failed", err.msg, NULL, -1, NULL);
			}
		} else {
			rc = handle_stream(w, &s, it);
		}
	} else if (rc != APD_FATAL) {
		rc = record_unread(w, it, "unknown", "failed", err.msg);
	}
	apd_stream_close(&s);
	apd_fd_src_done(&fsrc.fd);
	close(fd);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A folder is walked twice: first its registry exports (*.reg, at any
 * depth), then everything else.  The order only saves time: once the
 * registry's time zone is in, the index converts device-local log times as
 * it stores them instead of rewriting every event at the end.
 */
enum pass { PASS_REG, PASS_REST };

static bool
reg_name(const char *name)
{
	return apd_name_iendswith(name, ".reg");
}

static int
walk_folder(struct apd_walk *w, const char *fs_path, const char *rel, int64_t parent,
    unsigned level, enum pass pass)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = APD_OK, r;

	d = opendir(fs_path);
	if (d == NULL) {
		struct item it = { parent, rel, base_name(rel), NULL, 0, -1 };
		char msg[APD_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "%s: cannot list the folder: %s", rel, strerror(errno));
		return record_unread(w, &it, "folder", "failed", msg);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn;
			cap = cap ? 2 * cap : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL) {
				rc = APD_FATAL;
				break;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = APD_FATAL;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == APD_OK)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && rc != APD_FATAL; i++) {
		char *full = join(fs_path, "/", names[i]);
		char *path = *rel ? join(rel, "/", names[i]) : strdup(names[i]);
		struct item it;
		struct stat sb;

		if (full == NULL || path == NULL) {
			free(full);
			free(path);
			rc = APD_FATAL;
			break;
		}
		it.parent_id = parent;
		it.path = path;
		it.name = names[i];
		it.origin = NULL;
		it.depth = 0;
		it.size = -1;
		if (pass == PASS_REG) {
			/* registry exports only; the second pass reports everything else */
			r = APD_OK;
			if (lstat(full, &sb) != 0 || S_ISLNK(sb.st_mode))
				;
			else if (S_ISDIR(sb.st_mode) && level + 1 < MAX_FOLDER_DEPTH)
				r = walk_folder(w, full, path, parent, level + 1, pass);
			else if (S_ISREG(sb.st_mode) && reg_name(names[i]) && !skipped_file(w, &sb)) {
				it.size = (int64_t)sb.st_size;
				r = walk_file(w, full, &it);
			}
		} else if (lstat(full, &sb) != 0) {
			char msg[APD_ERRMSG_MAX];
			snprintf(msg, sizeof(msg), "%s: %s", path, strerror(errno));
			r = record_unread(w, &it, "unknown", "failed", msg);
		} else if (S_ISLNK(sb.st_mode)) {
			r = record_unread(w, &it, "unknown", "skipped",
			    "symbolic link; not followed");
		} else if (S_ISDIR(sb.st_mode)) {
			if (level + 1 >= MAX_FOLDER_DEPTH)
				r = record_unread(w, &it, "folder", "skipped",
				    "folders nested too deeply; not read");
			else
				r = walk_folder(w, full, path, parent, level + 1, pass);
		} else if (!S_ISREG(sb.st_mode)) {
			r = record_unread(w, &it, "unknown", "skipped", "not a regular file; not read");
		} else if (reg_name(names[i]) && !skipped_file(w, &sb)) {
			r = APD_OK;   /* read in the first pass */
		} else if (skipped_file(w, &sb)) {
			r = record_unread(w, &it, "unknown", "skipped",
			    "the index apdiag is writing; not read");
		} else {
			it.size = (int64_t)sb.st_size;
			r = walk_file(w, full, &it);
		}
		if (r == APD_FATAL || r < APD_FATAL)
			rc = APD_FATAL;
		free(full);
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
apd_walk_input(struct apd_walk *w, const char *path)
{
	struct stat sb;
	int rc;

	apd_error_clear(&w->err);
	if (stat(path, &sb) != 0)
		return apd_set_errno(&w->err, APD_FAILED, errno, "%s", path);
	if (S_ISDIR(sb.st_mode)) {
		rc = walk_folder(w, path, "", 0, 0, PASS_REG);
		if (rc > APD_FATAL)
			rc = walk_folder(w, path, "", 0, 0, PASS_REST);
	} else if (S_ISREG(sb.st_mode)) {
		struct item it = { 0, base_name(path), base_name(path), NULL, 0, (int64_t)sb.st_size };
		rc = walk_file(w, path, &it);
	} else {
		return apd_set_error(&w->err, APD_FAILED, "%s: not a file or a folder", path);
	}
	if (rc == APD_FATAL || rc < APD_FATAL)
		return APD_FATAL;
	return w->st.failed || w->st.partial ? APD_WARN : APD_OK;
}
