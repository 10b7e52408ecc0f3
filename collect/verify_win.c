/*
 * verify_win.c - the reader of `apdiag verify` in the Windows build: the
 * cab through cabinet.dll's FDI (the decompressor Windows' own expand.exe
 * uses), manifest.json through a small JSON reader.  The comparison is
 * verify_check.c, shared with the libarchive reader (verify.c).
 *
 * FDI hands each entry to fdintCOPY_FILE, which returns a sink instead of
 * a file: the entry's bytes are hashed as FDI "writes" them, nothing lands
 * on disk.  The JSON reader is strict (RFC 8259), depth-limited, and keeps
 * only entries[].items[].{path,size,sha256}; the Windows build has no
 * JSON library, and the manifest is apdiag's own, well-defined document.
 * Exports apd_verify_archive and apd_vcheck_load.
 */
#include "verify.h"
#include "apd_sha256.h"
#include "apd_win.h"

#include <windows.h>
#include <fdi.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- manifest.json ---- */

struct jr {
	const char *p, *end;
	struct apd_vcheck *c;
	struct apd_error *err;
	int rc;
};

#define JMAX_DEPTH 32

static void
ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
bad(struct jr *j, const char *what)
{
	if (j->rc == APD_OK)
		j->rc = apd_set_error(j->err, APD_FAILED, "manifest.json: not valid JSON (%s)", what);
	return -1;
}

static void
put_utf8(struct apd_buf *b, unsigned cp)
{
	if (cp < 0x80) {
		apd_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		apd_buf_addc(b, (char)(0xC0 | cp >> 6));
		apd_buf_addc(b, (char)(0x80 | (cp & 63)));
	} else if (cp < 0x10000) {
		apd_buf_addc(b, (char)(0xE0 | cp >> 12));
		apd_buf_addc(b, (char)(0x80 | ((cp >> 6) & 63)));
		apd_buf_addc(b, (char)(0x80 | (cp & 63)));
	} else {
		apd_buf_addc(b, (char)(0xF0 | cp >> 18));
		apd_buf_addc(b, (char)(0x80 | ((cp >> 12) & 63)));
		apd_buf_addc(b, (char)(0x80 | ((cp >> 6) & 63)));
		apd_buf_addc(b, (char)(0x80 | (cp & 63)));
	}
}

static int
hex4(struct jr *j, unsigned *v)
{
	int i;

	*v = 0;
	if (j->end - j->p < 4)
		return bad(j, "short \\u escape");
	for (i = 0; i < 4; i++) {
		char ch = *j->p++;
		*v <<= 4;
		if (ch >= '0' && ch <= '9')
			*v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			*v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			*v |= (unsigned)(ch - 'A' + 10);
		else
			return bad(j, "bad \\u escape");
	}
	return 0;
}

/* A string at j->p (after ws); into b when b is not NULL. */
static int
jstring(struct jr *j, struct apd_buf *b)
{
	if (j->p >= j->end || *j->p != '"')
		return bad(j, "string expected");
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char ch = (unsigned char)*j->p++;
		if (ch < 0x20)
			return bad(j, "control character in a string");
		if (ch != '\\') {
			if (b)
				apd_buf_addc(b, (char)ch);
			continue;
		}
		if (j->p >= j->end)
			return bad(j, "unfinished escape");
		ch = (unsigned char)*j->p++;
		switch (ch) {
		case '"': case '\\': case '/':
			if (b)
				apd_buf_addc(b, (char)ch);
			break;
		case 'b': if (b) apd_buf_addc(b, '\b'); break;
		case 'f': if (b) apd_buf_addc(b, '\f'); break;
		case 'n': if (b) apd_buf_addc(b, '\n'); break;
		case 'r': if (b) apd_buf_addc(b, '\r'); break;
		case 't': if (b) apd_buf_addc(b, '\t'); break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(j, &cp))
				return -1;
			if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u') {
				j->p += 2;
				if (hex4(j, &lo))
					return -1;
				cp = lo >= 0xDC00 && lo < 0xE000 ? 0x10000 + ((cp - 0xD800) << 10) +
				    (lo - 0xDC00) : 0xFFFD;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			if (b)
				put_utf8(b, cp);
			break;
		}
		default:
			return bad(j, "bad escape");
		}
	}
	if (j->p >= j->end)
		return bad(j, "unfinished string");
	j->p++;
	return 0;
}

/* level: 0 root, 1 entries array, 2 an entry, 3 its items array, 4 an item; -1 elsewhere */
static int jvalue(struct jr *j, int level, int depth, int64_t *num, struct apd_buf *str);

static int
jobject(struct jr *j, int level, int depth)
{
	struct apd_buf key, path, sha;
	int64_t size = -1;
	bool have_size = false, have_path = false, have_sha = false;
	int rc = 0;

	j->p++;
	apd_buf_init(&key, 1 << 16);
	apd_buf_init(&path, 1 << 16);
	apd_buf_init(&sha, 256);
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		goto done;
	}
	for (;;) {
		int sub = -1;
		ws(j);
		apd_buf_reset(&key);
		if ((rc = jstring(j, &key)) != 0)
			break;
		apd_buf_addc(&key, '\0');
		ws(j);
		if (j->p >= j->end || *j->p != ':') {
			rc = bad(j, "':' expected");
			break;
		}
		j->p++;
		ws(j);
		if (level == 0 && strcmp(key.p, "entries") == 0)
			sub = 1;
		else if (level == 2 && strcmp(key.p, "items") == 0)
			sub = 3;
		if (level == 4 && strcmp(key.p, "path") == 0) {
			rc = jvalue(j, -1, depth + 1, NULL, &path);
			have_path = rc == 0 && path.n > 0;
		} else if (level == 4 && strcmp(key.p, "sha256") == 0) {
			rc = jvalue(j, -1, depth + 1, NULL, &sha);
			have_sha = rc == 0 && sha.n == 64;
		} else if (level == 4 && strcmp(key.p, "size") == 0) {
			rc = jvalue(j, -1, depth + 1, &size, NULL);
			have_size = rc == 0 && size >= 0;
		} else {
			rc = jvalue(j, sub, depth + 1, NULL, NULL);
		}
		if (rc != 0)
			break;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		rc = bad(j, "',' or '}' expected");
		break;
	}
done:
	if (rc == 0 && level == 4) {
		if (!have_path || !have_sha || !have_size) {
			j->rc = apd_set_error(j->err, APD_FAILED, "manifest.json: an item lacks path, size "
			    "or sha256");
			rc = -1;
		} else {
			apd_buf_addc(&path, '\0');
			apd_buf_addc(&sha, '\0');
			if ((j->rc = apd_vcheck_want(j->c, path.p, size, sha.p, j->err)) != APD_OK)
				rc = -1;
		}
	}
	apd_buf_done(&key);
	apd_buf_done(&path);
	apd_buf_done(&sha);
	return rc;
}

static int
jarray(struct jr *j, int level, int depth)
{
	int el = level == 1 ? 2 : level == 3 ? 4 : -1;

	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if (jvalue(j, el, depth + 1, NULL, NULL) != 0)
			return -1;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		return bad(j, "',' or ']' expected");
	}
}

static int
jvalue(struct jr *j, int level, int depth, int64_t *num, struct apd_buf *str)
{
	ws(j);
	if (depth > JMAX_DEPTH)
		return bad(j, "nested too deeply");
	if (j->p >= j->end)
		return bad(j, "value expected");
	switch (*j->p) {
	case '{':
		return jobject(j, level, depth);
	case '[':
		return jarray(j, level, depth);
	case '"':
		return jstring(j, str);
	case 't':
		if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
			j->p += 4;
			return 0;
		}
		return bad(j, "bad literal");
	case 'f':
		if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
			j->p += 5;
			return 0;
		}
		return bad(j, "bad literal");
	case 'n':
		if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
			j->p += 4;
			return 0;
		}
		return bad(j, "bad literal");
	default: {
		const char *s = j->p;
		bool neg = *s == '-';
		int64_t v = 0;
		bool digits = false, frac = false;
		if (neg)
			s++;
		while (s < j->end && *s >= '0' && *s <= '9') {
			if (v < INT64_MAX / 10)
				v = v * 10 + (*s - '0');
			s++;
			digits = true;
		}
		while (s < j->end && (*s == '.' || *s == 'e' || *s == 'E' || *s == '+' || *s == '-' ||
		    (*s >= '0' && *s <= '9'))) {
			frac = true;
			s++;
		}
		if (!digits)
			return bad(j, "unexpected character");
		j->p = s;
		if (num)
			*num = frac ? -1 : neg ? -v : v;
		return 0;
	}
	}
}

int
apd_vcheck_load(struct apd_vcheck *c, const char *text, size_t n, struct apd_error *err)
{
	struct jr j;

	j.p = text;
	j.end = text + n;
	j.c = c;
	j.err = err;
	j.rc = APD_OK;
	if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		j.p += 3;
	ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return apd_set_error(err, APD_FAILED, "manifest.json is not an apdiag manifest "
		    "(no entries array)");
	if (jvalue(&j, 0, 0, NULL, NULL) != 0)
		return j.rc != APD_OK ? j.rc : apd_set_error(err, APD_FAILED, "manifest.json: bad JSON");
	ws(&j);
	if (j.p != j.end)
		return apd_set_error(err, APD_FAILED, "manifest.json: text after the document");
	return APD_OK;
}

/* ---- the cab, through FDI ---- */

enum { H_FILE = 1, H_SINK };

struct fh {
	int kind;
	HANDLE h;                /* H_FILE */
	struct apd_sha256 sha;   /* H_SINK */
	uint64_t n;
	char *name;
	bool manifest;
};

struct vstate {
	const char *path;        /* the cab */
	struct apd_vcheck *ck;
	struct apd_error *err;
	struct apd_buf mtext;    /* manifest.json */
	bool first_done;
	int rc;
	bool oom;
};

static struct vstate *vs;    /* FDI's open callback has no user pointer */

static void *DIAMONDAPI
fdi_alloc(ULONG cb)
{
	return malloc(cb ? cb : 1);
}

static void DIAMONDAPI
fdi_free(void *p)
{
	free(p);
}

static INT_PTR DIAMONDAPI
fdi_open(char *name, int oflag, int pmode)
{
	struct fh *f;
	wchar_t *w;

	(void)name;
	(void)oflag;
	(void)pmode;
	if ((f = calloc(1, sizeof(*f))) == NULL || (w = apd_u2w(vs->path)) == NULL) {
		free(f);
		return -1;
	}
	f->kind = H_FILE;
	f->h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, NULL);
	free(w);
	if (f->h == INVALID_HANDLE_VALUE) {
		free(f);
		return -1;
	}
	return (INT_PTR)f;
}

static UINT DIAMONDAPI
fdi_read(INT_PTR hf, void *pv, UINT cb)
{
	struct fh *f = (struct fh *)hf;
	DWORD got = 0;

	if (f->kind != H_FILE || !ReadFile(f->h, pv, cb, &got, NULL))
		return (UINT)-1;
	return got;
}

static UINT DIAMONDAPI
fdi_write(INT_PTR hf, void *pv, UINT cb)
{
	struct fh *f = (struct fh *)hf;

	if (f->kind != H_SINK)
		return (UINT)-1;
	if (f->manifest) {
		if (vs->mtext.n + cb > APD_MANIFEST_MAX || apd_buf_add(&vs->mtext, pv, cb) != APD_OK)
			return (UINT)-1;
	} else {
		apd_sha256_update(&f->sha, pv, cb);
	}
	f->n += cb;
	return cb;
}

static int DIAMONDAPI
fdi_close(INT_PTR hf)
{
	struct fh *f = (struct fh *)hf;

	if (f->kind == H_FILE)
		CloseHandle(f->h);
	else if (f->sha.md)
		apd_sha256_done(&f->sha);
	free(f->name);
	free(f);
	return 0;
}

static LONG DIAMONDAPI
fdi_seek(INT_PTR hf, LONG dist, int type)
{
	struct fh *f = (struct fh *)hf;
	LARGE_INTEGER d, pos;

	d.QuadPart = dist;
	if (f->kind != H_FILE || !SetFilePointerEx(f->h, d, &pos, type == SEEK_SET ? FILE_BEGIN :
	    type == SEEK_CUR ? FILE_CURRENT : FILE_END))
		return -1;
	return (LONG)pos.QuadPart;
}

static INT_PTR DIAMONDAPI
fdi_notify(FDINOTIFICATIONTYPE t, PFDINOTIFICATION n)
{
	struct fh *f;

	switch (t) {
	case fdintCOPY_FILE:
		if (vs->rc != APD_OK)
			return -1;
		if ((f = calloc(1, sizeof(*f))) == NULL || (f->name = strdup(n->psz1)) == NULL) {
			free(f);
			vs->oom = true;
			return -1;
		}
		f->kind = H_SINK;
		if (!vs->first_done) {
			vs->first_done = true;
			if (strcmp(f->name, "manifest.json") != 0) {
				vs->rc = apd_set_error(vs->err, APD_FAILED, "%s: the first entry is '%s', not "
				    "manifest.json: not an apdiag bundle", vs->path, f->name);
				free(f->name);
				free(f);
				return -1;
			}
			f->manifest = true;
		} else if (apd_sha256_init(&f->sha) != APD_OK) {
			free(f->name);
			free(f);
			vs->oom = true;
			return -1;
		}
		return (INT_PTR)f;
	case fdintCLOSE_FILE_INFO:
		f = (struct fh *)n->hf;
		if (f->manifest) {
			vs->rc = apd_vcheck_load(vs->ck, vs->mtext.p ? vs->mtext.p : "", vs->mtext.n,
			    vs->err);
			if (vs->rc != APD_OK)
				apd_prefix_error(vs->err, "%s: ", vs->path);
			apd_vcheck_ready(vs->ck);
		} else {
			char sha[65];
			apd_sha256_final_hex(&f->sha, sha);
			if (apd_vcheck_entry(vs->ck, f->name, f->n, sha) != APD_OK)
				vs->oom = true;
		}
		fdi_close(n->hf);
		return vs->rc == APD_OK && !vs->oom ? TRUE : FALSE;
	default:
		return 0;
	}
}

int
apd_verify_archive(const char *path, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res, struct apd_error *err)
{
	static const char *const errs[] = { "none", "cannot open the cab", "not a cab",
	    "unknown cab version", "corrupt cab", "out of memory", "unknown compression",
	    "write failed", "reserved", "interrupted" };
	struct vstate st;
	struct apd_vcheck ck;
	HFDI fdi;
	ERF erf;
	BOOL ok;
	int rc;

	apd_vcheck_init(&ck, report, ud, res);
	memset(&st, 0, sizeof(st));
	st.path = path;
	st.ck = &ck;
	st.err = err;
	st.rc = APD_OK;
	apd_buf_init(&st.mtext, APD_MANIFEST_MAX);
	vs = &st;
	memset(&erf, 0, sizeof(erf));
	fdi = FDICreate(fdi_alloc, fdi_free, fdi_open, fdi_read, fdi_write, fdi_close, fdi_seek,
	    cpuUNKNOWN, &erf);
	if (fdi == NULL) {
		apd_buf_done(&st.mtext);
		return apd_set_error(err, APD_FATAL, "cabinet.dll: cannot start FDI");
	}
	/* FDI joins path and name: give it the whole path as the name, an empty path */
	ok = FDICopy(fdi, (char *)"|cab|", (char *)"", 0, fdi_notify, NULL, NULL);
	FDIDestroy(fdi);
	vs = NULL;
	if (st.oom)
		rc = apd_set_error(err, APD_FATAL, "out of memory");
	else if (st.rc != APD_OK)
		rc = st.rc;
	else if (!ok && !st.first_done)
		rc = apd_set_error(err, APD_FAILED, "%s: %s", path, erf.erfOper >= 0 &&
		    erf.erfOper < 10 ? errs[erf.erfOper] : "not a readable cab");
	else if (!ok)
		rc = apd_set_error(err, APD_FAILED, "%s: %s (the cab is damaged)", path,
		    erf.erfOper >= 0 && erf.erfOper < 10 ? errs[erf.erfOper] : "read error");
	else if (!st.first_done)
		rc = apd_set_error(err, APD_FAILED, "%s: empty archive, no manifest.json", path);
	else
		rc = apd_vcheck_finish(&ck);
	apd_vcheck_done(&ck);
	apd_buf_done(&st.mtext);
	return rc;
}
