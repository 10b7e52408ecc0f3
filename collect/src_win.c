/*
 * src_win.c - the live source: the Windows device apdiag runs on (issue 8),
 * behind the same struct apd_csrc as the offline source (src_offline.c).
 *
 * Exports apd_csrc_live and apd_live_elevated.  Everything is read, nothing
 * is changed: no registry writes, no service changes.
 *   files     CreateFileW with FILE_SHARE_READ | FILE_SHARE_WRITE |
 *             FILE_SHARE_DELETE (IME keeps its logs open and rotates them);
 *             globs walked with FindFirstFileExW; reparse points recorded,
 *             not followed; paths past MAX_PATH through \\?\.
 *   events    EvtExportLog (wevtapi) of the whole channel into the private
 *             temporary folder; when it fails, the channel's .evtx in
 *             winevt\Logs is copied instead, and the failure is recorded as
 *             a "fallback" gap.
 *   registry  advapi32 in the 64-bit view (KEY_WOW64_64KEY): RegEnumValueW
 *             and RegEnumKeyExW, every value as raw bytes for regwrite.c.
 *   commands  CreateProcessW from System32 only, stdout and stderr into the
 *             output file, stdin from NUL, inside a job object so that a
 *             time-out ends the whole process tree.
 * The private temporary folder (%TEMP%\apdiag-XXXXXXXX) holds exports and the
 * MdmDiagnosticsTool cab; it is removed when the source is freed, on every
 * path out.  Error codes are Win32 codes (collect.c records them as
 * os_error).
 */
#include "collect.h"
#include "apd_win.h"

#include <windows.h>
#include <winevt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define MAX_DIR_DEPTH   64     /* folder levels below a glob */
#define MAX_KEY_DEPTH   512    /* registry levels below a key */

struct live {
	char *sysroot;     /* "C:\\" */
	char *windir;      /* "C:\\Windows" */
	char *tmp;         /* private temporary folder, UTF-8 */
	unsigned ntmp;     /* exports made so far */
};

bool apd_live_elevated(void);
int apd_csrc_live(struct apd_csrc *s, struct apd_error *err);

/* ---- paths ---- */

/* UTF-8 path -> wide, with the \\?\ prefix when it is long (and absolute). */
static wchar_t *
wpath(const char *p)
{
	wchar_t *w = apd_u2w(p), *l;
	size_t n;

	if (w == NULL || (n = wcslen(w)) < 240 || w[1] != L':')
		return w;
	if ((l = malloc((n + 5) * sizeof(wchar_t))) == NULL) {
		free(w);
		return NULL;
	}
	wcscpy(l, L"\\\\?\\");
	wcscat(l, w);
	for (n = 4; l[n]; n++)
		if (l[n] == L'/')
			l[n] = L'\\';
	free(w);
	return l;
}

static char *
join(const char *a, const char *b, char sep)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 2);

	if (s) {
		memcpy(s, a, na);
		if (na && a[na - 1] != sep)
			s[na++] = sep;
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

static bool
exists(const char *path, DWORD *attr)
{
	wchar_t *w = wpath(path);
	DWORD a = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;

	free(w);
	if (attr)
		*attr = a;
	return a != INVALID_FILE_ATTRIBUTES;
}

/* ---- files ---- */

struct finder {
	struct live *l;
	apd_found_fn cb;
	void *ud;
	char **comp;
	size_t ncomp;
	bool recurse;
};

static int
report(struct finder *f, const char *host, const char *rel, int os_error, const char *reason)
{
	struct apd_cfound cf;

	memset(&cf, 0, sizeof(cf));
	cf.orig = host;
	cf.rel = rel;
	cf.handle = host;
	cf.os_error = os_error;
	cf.reason = reason;
	return f->cb(f->ud, &cf);
}

struct dent {
	char *name;
	DWORD attr;
};

static int
cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static void
free_dents(struct dent *d, size_t n)
{
	while (n > 0)
		free(d[--n].name);
	free(d);
}

/* The entries of a folder, sorted; NULL with *e the Win32 error (0: out of memory). */
static struct dent *
list_dir(const char *dir, size_t *n, DWORD *e)
{
	WIN32_FIND_DATAW fd;
	struct dent *d = NULL, *nd;
	size_t cap = 0;
	char *pat = join(dir, "*", '\\');
	wchar_t *w = pat ? wpath(pat) : NULL;
	HANDLE h;

	*n = 0;
	*e = 0;
	free(pat);
	if (w == NULL)
		return NULL;
	h = FindFirstFileExW(w, FindExInfoBasic, &fd, FindExSearchNameMatch, NULL,
	    FIND_FIRST_EX_LARGE_FETCH);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		*e = GetLastError();
		if (*e == ERROR_FILE_NOT_FOUND)   /* an empty folder (no . even) */
			return calloc(1, sizeof(*d));
		return NULL;
	}
	do {
		if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nd = realloc(d, cap * sizeof(*nd))) == NULL)
				goto oom;
			d = nd;
		}
		if ((d[*n].name = apd_w2u(fd.cFileName, -1)) == NULL)
			goto oom;
		d[*n].attr = fd.dwFileAttributes;
		(*n)++;
	} while (FindNextFileW(h, &fd));
	FindClose(h);
	if (d == NULL)
		d = calloc(1, sizeof(*d));
	if (d)
		qsort(d, *n, sizeof(*d), cmp_dent);
	return d;
oom:
	FindClose(h);
	free_dents(d, *n);
	*n = 0;
	return NULL;
}

static int walk_all(struct finder *f, const char *host, const char *rel, unsigned depth);

static int
matched(struct finder *f, const char *host, const char *rel, DWORD attr, unsigned depth)
{
	if (attr & FILE_ATTRIBUTE_REPARSE_POINT)
		return report(f, host, rel, 0, "a symbolic link or junction; not followed");
	if (attr & FILE_ATTRIBUTE_DIRECTORY)
		return f->recurse ? walk_all(f, host, rel, depth + 1) : APD_OK;
	if (attr & FILE_ATTRIBUTE_DEVICE)
		return report(f, host, rel, 0, "not a regular file; not read");
	return report(f, host, rel, 0, NULL);
}

static int
walk_all(struct finder *f, const char *host, const char *rel, unsigned depth)
{
	struct dent *d;
	size_t n, i;
	DWORD e;
	int rc = APD_OK;

	if (depth > MAX_DIR_DEPTH)
		return report(f, host, rel, 0, "folders nested too deeply; not read");
	if ((d = list_dir(host, &n, &e)) == NULL)
		return e == 0 ? APD_FATAL : report(f, host, rel, (int)e, "cannot list the folder");
	for (i = 0; i < n && rc == APD_OK; i++) {
		char *h = join(host, d[i].name, '\\'), *r = join(rel, d[i].name, '/');
		rc = h && r ? matched(f, h, r, d[i].attr, depth) : APD_FATAL;
		free(h);
		free(r);
	}
	free_dents(d, n);
	return rc;
}

static int
walk_glob(struct finder *f, const char *host, const char *rel, size_t k)
{
	const char *c = f->comp[k];
	bool last = k + 1 == f->ncomp;
	struct dent *d;
	size_t n, i;
	DWORD e;
	int rc = APD_OK;

	/* every component is listed and matched, so that the real case is kept */
	if ((d = list_dir(host, &n, &e)) == NULL)
		return e == 0 ? APD_FATAL : e == ERROR_PATH_NOT_FOUND || e == ERROR_DIRECTORY ||
		    e == ERROR_FILE_NOT_FOUND ? APD_OK :
		    report(f, host, *rel ? rel : ".", (int)e, "cannot list the folder");
	for (i = 0; i < n && rc == APD_OK; i++) {
		char *h, *r;
		if (!apd_glob_match(c, d[i].name))
			continue;
		h = join(host, d[i].name, '\\');
		r = *rel ? join(rel, d[i].name, '/') : strdup(d[i].name);
		if (h == NULL || r == NULL)
			rc = APD_FATAL;
		else if (last)
			rc = matched(f, h, r, d[i].attr, 0);
		else if ((d[i].attr & FILE_ATTRIBUTE_DIRECTORY) &&
		    !(d[i].attr & FILE_ATTRIBUTE_REPARSE_POINT))
			rc = walk_glob(f, h, r, k + 1);
		free(h);
		free(r);
	}
	free_dents(d, n);
	return rc;
}

static int
live_find(struct apd_csrc *s, const char *glob, bool recurse, apd_found_fn cb, void *ud,
    struct apd_error *err)
{
	struct live *l = s->priv;
	struct finder f;
	char *copy = strdup(glob), *save = NULL, *c, *root;
	char *comp[64];
	int rc;

	if (copy == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	memset(&f, 0, sizeof(f));
	for (c = strtok_r(copy, "\\", &save); c && f.ncomp < 64; c = strtok_r(NULL, "\\", &save))
		comp[f.ncomp++] = c;
	f.l = l;
	f.cb = cb;
	f.ud = ud;
	f.comp = comp;
	f.recurse = recurse;
	root = strdup(l->sysroot);
	if (root && strlen(root) > 2)
		root[2] = '\0';   /* "C:": join adds the separator */
	rc = root == NULL ? APD_FATAL : f.ncomp ? walk_glob(&f, root, "", 0) : APD_OK;
	free(root);
	free(copy);
	if (rc == APD_FATAL && err->code == APD_OK)
		apd_set_error(err, APD_FATAL, "out of memory");
	return rc;
}

/* ---- event channels ---- */

static char *
tmp_name(struct live *l, const char *ext)
{
	char name[64];

	snprintf(name, sizeof(name), "%04u%s", ++l->ntmp, ext);
	return join(l->tmp, name, '\\');
}

static int
live_events(struct apd_csrc *s, const char *channel, apd_found_fn cb, void *ud,
    struct apd_error *err)
{
	struct live *l = s->priv;
	struct apd_cfound cf;
	char name[600], rel[700], *out, *file = NULL, txt[256];
	wchar_t *wch, *wout;
	size_t i, k = 0;
	DWORD e;
	BOOL ok;
	int rc;

	/* the file name Windows gives the channel's log: '/' spelled %4 */
	for (i = 0; channel[i] && k + 8 < sizeof(name) - 6; i++) {
		if (channel[i] == '/') {
			memcpy(name + k, "%4", 2);
			k += 2;
		} else {
			name[k++] = channel[i];
		}
	}
	memcpy(name + k, ".evtx", 6);
	snprintf(rel, sizeof(rel), "Windows/System32/winevt/Logs/%s", name);
	if ((out = tmp_name(l, ".evtx")) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	wch = apd_u2w(channel);
	wout = wpath(out);
	if (wch == NULL || wout == NULL) {
		free(wch);
		free(wout);
		free(out);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	SetLastError(0);
	ok = EvtExportLog(NULL, wch, L"*", wout, EvtExportLogChannelPath);
	e = ok ? 0 : GetLastError();
	free(wch);
	free(wout);
	memset(&cf, 0, sizeof(cf));
	if (ok) {
		cf.orig = channel;
		cf.rel = rel;
		cf.handle = out;
		rc = cb(ud, &cf);
		DeleteFileW(wout = wpath(out));
		free(wout);
		free(out);
		return rc;
	}
	free(out);
	if (e == ERROR_EVT_CHANNEL_NOT_FOUND)
		return apd_set_win(err, APD_FAILED, (int)e, "the channel does not exist");
	/* the fallback: a copy of the log file itself, opened share-friendly */
	if ((file = malloc(strlen(l->windir) + strlen(name) + 64)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	sprintf(file, "%s\\System32\\winevt\\Logs\\%s", l->windir, name);
	{
		char reason[400];
		snprintf(reason, sizeof(reason), "EvtExportLog failed (%s); fell back to copying the "
		    "channel's .evtx file from winevt\\Logs", apd_win_strerror(e, txt, sizeof(txt)));
		cf.orig = channel;
		cf.rel = rel;
		cf.handle = file;
		cf.os_error = (int)e;
		cf.reason = reason;
		cf.fallback = true;
		if ((rc = cb(ud, &cf)) != APD_OK) {
			free(file);
			return rc;
		}
	}
	if (!exists(file, NULL)) {
		DWORD fe = GetLastError();
		rc = apd_set_win(err, APD_FAILED, (int)fe, "%s: %s", file,
		    apd_win_strerror(fe, txt, sizeof(txt)));
		free(file);
		return rc;
	}
	memset(&cf, 0, sizeof(cf));
	cf.orig = file;
	cf.rel = rel;
	cf.handle = file;
	rc = cb(ud, &cf);
	free(file);
	return rc;
}

/* ---- file reading ---- */

static int64_t
ft_ns(FILETIME ft)
{
	uint64_t t = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;

	return ((int64_t)t - 116444736000000000LL) * 100;
}

static int
fill_stat(HANDLE h, struct apd_cstat *st, struct apd_error *err)
{
	BY_HANDLE_FILE_INFORMATION bi;
	FILE_BASIC_INFO fb;

	if (!GetFileInformationByHandle(h, &bi))
		return apd_set_win(err, APD_FAILED, (int)GetLastError(), "cannot stat");
	st->size = (uint64_t)bi.nFileSizeHigh << 32 | bi.nFileSizeLow;
	st->mtime_ns = ft_ns(bi.ftLastWriteTime);
	st->change = (uint64_t)st->mtime_ns;
	if (GetFileInformationByHandleEx(h, FileBasicInfo, &fb, sizeof(fb)))
		st->change = (uint64_t)fb.ChangeTime.QuadPart;
	return APD_OK;
}

static int
live_open(struct apd_csrc *s, const char *handle, void **fh, struct apd_cstat *st,
    struct apd_error *err)
{
	wchar_t *w = wpath(handle);
	HANDLE h;
	char txt[256];
	DWORD e;

	(void)s;
	if (w == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	/* share everything: IME and the event log service keep writing and rotating */
	h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, NULL);
	e = GetLastError();
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return apd_set_win(err, APD_FAILED, (int)e, "cannot open: %s",
		    apd_win_strerror(e, txt, sizeof(txt)));
	if (GetFileType(h) != FILE_TYPE_DISK || fill_stat(h, st, err) != APD_OK) {
		CloseHandle(h);
		return err->code ? err->code : apd_set_win(err, APD_FAILED, ERROR_INVALID_FUNCTION,
		    "not a regular file");
	}
	*fh = h;
	return APD_OK;
}

static long
live_read(struct apd_csrc *s, void *fh, void *buf, size_t n, struct apd_error *err)
{
	DWORD got = 0;
	char txt[256];

	(void)s;
	if (n > 0x7FFFFFFF)
		n = 0x7FFFFFFF;
	if (!ReadFile((HANDLE)fh, buf, (DWORD)n, &got, NULL)) {
		DWORD e = GetLastError();
		if (e == ERROR_HANDLE_EOF)
			return 0;
		apd_set_win(err, APD_FAILED, (int)e, "read error: %s",
		    apd_win_strerror(e, txt, sizeof(txt)));
		return -1;
	}
	return (long)got;
}

static int
live_stat(struct apd_csrc *s, void *fh, struct apd_cstat *st, struct apd_error *err)
{
	(void)s;
	return fill_stat((HANDLE)fh, st, err);
}

static void
live_close(struct apd_csrc *s, void *fh)
{
	(void)s;
	if (fh)
		CloseHandle((HANDLE)fh);
}

/* ---- registry ---- */

/* "HKEY_LOCAL_MACHINE\\SOFTWARE\\x" -> HKEY_LOCAL_MACHINE and "SOFTWARE\\x" */
static HKEY
split_key(const char *key, const char **sub)
{
	static const struct {
		const char *name;
		HKEY h;
	} roots[] = {
		{ "HKEY_LOCAL_MACHINE", HKEY_LOCAL_MACHINE },
		{ "HKEY_USERS", HKEY_USERS },
		{ "HKEY_CURRENT_USER", HKEY_CURRENT_USER },
	};
	size_t i, n;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		n = strlen(roots[i].name);
		if (strncmp(key, roots[i].name, n) == 0 && (key[n] == '\\' || key[n] == '\0')) {
			*sub = key[n] ? key + n + 1 : key + n;
			return roots[i].h;
		}
	}
	return NULL;
}

/*
 * Test hook: APDIAG_TEST_DENY_KEY names a key path (full, as written in the
 * .reg) that opens as ERROR_ACCESS_DENIED.  Wine does not enforce registry
 * ACLs, so tests/win uses it to reach the unreadable-key path; on Windows
 * tests/win/regdeny.exe makes a really unreadable key.
 */
static LONG
open_key(HKEY parent, const wchar_t *sub, const char *path, HKEY *out)
{
	static const char *deny;
	static bool looked;

	if (!looked) {
		deny = getenv("APDIAG_TEST_DENY_KEY");
		looked = true;
	}
	if (deny && *deny && _stricmp(deny, path) == 0)
		return ERROR_ACCESS_DENIED;
	return RegOpenKeyExW(parent, sub, 0, KEY_READ | KEY_WOW64_64KEY, out);
}

struct kwalk {
	const struct apd_reg_visit *v;
	bool recurse;
	struct apd_buf path;       /* the key's full name, UTF-8 */
	BYTE *data;
	DWORD cdata;
	wchar_t *name;
	DWORD cname;
	int rc;
};

static int
problem(struct kwalk *k, DWORD e, const char *what)
{
	char txt[256], msg[400];

	snprintf(msg, sizeof(msg), "%s: %s", what, apd_win_strerror(e, txt, sizeof(txt)));
	return k->v->problem(k->v->ud, k->path.p, (int)e, msg) == APD_FATAL ? APD_FATAL : APD_OK;
}

static int
walk_values(struct kwalk *k, HKEY h)
{
	DWORD i, nlen, dlen, type, e, nvals = 0, maxn = 0, maxd = 0;
	int rc;

	if (RegQueryInfoKeyW(h, NULL, NULL, NULL, NULL, NULL, NULL, &nvals, &maxn, &maxd, NULL,
	    NULL) == ERROR_SUCCESS) {
		if (maxn + 1 > k->cname) {
			wchar_t *nn = realloc(k->name, (maxn + 1) * sizeof(wchar_t));
			if (nn == NULL)
				return APD_FATAL;
			k->name = nn;
			k->cname = maxn + 1;
		}
		if (maxd > k->cdata) {
			BYTE *nd = realloc(k->data, maxd);
			if (nd == NULL)
				return APD_FATAL;
			k->data = nd;
			k->cdata = maxd;
		}
	}
	for (i = 0;; i++) {
		char *u;
		nlen = k->cname;
		dlen = k->cdata;
		e = RegEnumValueW(h, i, k->name, &nlen, NULL, &type, k->data, &dlen);
		if (e == ERROR_NO_MORE_ITEMS)
			break;
		if (e == ERROR_MORE_DATA) {   /* grew since RegQueryInfoKeyW: grow and retry */
			DWORD nc = k->cname < 32768 ? 32768 : k->cname;
			DWORD dc = dlen > k->cdata ? dlen : k->cdata * 2 + 4096;
			wchar_t *nn = realloc(k->name, nc * sizeof(wchar_t));
			BYTE *nd;
			if (nn == NULL)
				return APD_FATAL;
			k->name = nn;
			k->cname = nc;
			if ((nd = realloc(k->data, dc)) == NULL)
				return APD_FATAL;
			k->data = nd;
			k->cdata = dc;
			if (dc > ((DWORD)1 << 30))
				return problem(k, e, "a value larger than 1 GiB; not read");
			i--;
			continue;
		}
		if (e != ERROR_SUCCESS) {
			if ((rc = problem(k, e, "cannot read a value")) != APD_OK)
				return rc;
			break;
		}
		if ((u = apd_w2u(k->name, (int)nlen)) == NULL)
			return APD_FATAL;
		rc = k->v->value(k->v->ud, u, type, k->data, dlen);
		free(u);
		if (rc != APD_OK)
			return rc;
	}
	return APD_OK;
}

static int
walk_key(struct kwalk *k, HKEY h, unsigned depth)
{
	wchar_t **subs = NULL, sub[256];
	size_t nsub = 0, csub = 0, i, plen;
	DWORD idx, len, e;
	int rc;

	if ((rc = k->v->key(k->v->ud, k->path.p)) != APD_OK)
		return rc;
	if ((rc = walk_values(k, h)) != APD_OK || !k->recurse)
		return rc;
	if (depth >= MAX_KEY_DEPTH)
		return problem(k, ERROR_CANTREAD, "keys nested too deeply; not read");
	/* names first, then the walk: a key that changes meanwhile cannot derail it */
	for (idx = 0;; idx++) {
		len = 256;
		e = RegEnumKeyExW(h, idx, sub, &len, NULL, NULL, NULL, NULL);
		if (e == ERROR_NO_MORE_ITEMS)
			break;
		if (e != ERROR_SUCCESS) {
			rc = problem(k, e, "cannot list the subkeys");
			break;
		}
		if (nsub == csub) {
			size_t nc = csub ? 2 * csub : 16;
			wchar_t **ns = realloc(subs, nc * sizeof(*ns));
			if (ns == NULL) {
				rc = APD_FATAL;
				break;
			}
			subs = ns;
			csub = nc;
		}
		if ((subs[nsub] = _wcsdup(sub)) == NULL) {
			rc = APD_FATAL;
			break;
		}
		nsub++;
	}
	plen = k->path.n;
	for (i = 0; i < nsub && rc == APD_OK; i++) {
		HKEY c;
		char *u = apd_w2u(subs[i], -1);
		if (u == NULL || apd_buf_addc(&k->path, '\\') != APD_OK ||
		    apd_buf_adds(&k->path, u) != APD_OK) {
			free(u);
			rc = APD_FATAL;
			break;
		}
		free(u);
		e = open_key(h, subs[i], k->path.p, &c);
		if (e != ERROR_SUCCESS) {
			rc = problem(k, e, "cannot open the key");
		} else {
			rc = walk_key(k, c, depth + 1);
			RegCloseKey(c);
		}
		k->path.n = plen;
		k->path.p[plen] = '\0';
	}
	for (i = 0; i < nsub; i++)
		free(subs[i]);
	free(subs);
	return rc;
}

static int
live_reg_walk(struct apd_csrc *s, const char *key, bool recurse, const struct apd_reg_visit *v,
    struct apd_error *err)
{
	struct kwalk k;
	const char *sub = NULL;
	HKEY root = split_key(key, &sub), h;
	wchar_t *wsub;
	char txt[256];
	DWORD e;
	int rc;

	(void)s;
	if (root == NULL)
		return apd_set_win(err, APD_FAILED, ERROR_FILE_NOT_FOUND, "%s: not a known hive", key);
	if ((wsub = apd_u2w(sub)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	e = open_key(root, wsub, key, &h);
	free(wsub);
	if (e != ERROR_SUCCESS)
		return apd_set_win(err, APD_FAILED, (int)e, "%s", e == ERROR_FILE_NOT_FOUND ?
		    "key not found" : apd_win_strerror(e, txt, sizeof(txt)));
	memset(&k, 0, sizeof(k));
	k.v = v;
	k.recurse = recurse;
	apd_buf_init(&k.path, 1 << 20);
	apd_buf_adds(&k.path, key);
	rc = walk_key(&k, h, 0);
	RegCloseKey(h);
	apd_buf_done(&k.path);
	free(k.data);
	free(k.name);
	if (rc == APD_FATAL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	return rc;
}

static int
live_reg_get(struct apd_csrc *s, const char *key, const char *name, uint32_t *type,
    struct apd_buf *b, struct apd_error *err)
{
	const char *sub = NULL;
	HKEY root = split_key(key, &sub), h;
	wchar_t *wsub, *wname;
	DWORD e, t = 0, n = 0;

	(void)s;
	if (root == NULL)
		return apd_set_win(err, APD_FAILED, ERROR_FILE_NOT_FOUND, "not a known hive");
	wsub = apd_u2w(sub);
	wname = apd_u2w(name);
	if (wsub == NULL || wname == NULL) {
		free(wsub);
		free(wname);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	e = RegOpenKeyExW(root, wsub, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &h);
	if (e == ERROR_SUCCESS) {
		e = RegQueryValueExW(h, wname, NULL, &t, NULL, &n);
		apd_buf_reset(b);
		if (e == ERROR_SUCCESS && n > 0 && apd_buf_reserve(b, n) != APD_OK)
			e = ERROR_NOT_ENOUGH_MEMORY;
		if (e == ERROR_SUCCESS && n > 0)
			e = RegQueryValueExW(h, wname, NULL, &t, (BYTE *)b->p, &n);
		if (e == ERROR_SUCCESS)
			b->n = n;
		RegCloseKey(h);
	}
	free(wsub);
	free(wname);
	if (e != ERROR_SUCCESS)
		return apd_set_win(err, APD_FAILED, (int)e, "cannot read the value");
	*type = t;
	return APD_OK;
}

/* The loaded user hives: HKEY_USERS\<SID> of local and Entra users. */
static int
live_users(struct apd_csrc *s, char ***roots, size_t *n, struct apd_error *err)
{
	wchar_t name[256];
	DWORD i, len;
	char **r = NULL, **nr;
	size_t k = 0;

	(void)s;
	*roots = NULL;
	*n = 0;
	for (i = 0;; i++) {
		char *u;
		len = 256;
		if (RegEnumKeyExW(HKEY_USERS, i, name, &len, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
			break;
		if ((wcsncmp(name, L"S-1-5-21-", 9) != 0 && wcsncmp(name, L"S-1-12-1-", 9) != 0) ||
		    (len > 8 && wcscmp(name + len - 8, L"_Classes") == 0))
			continue;
		if ((nr = realloc(r, (k + 1) * sizeof(*nr))) == NULL ||
		    (u = apd_w2u(name, (int)len)) == NULL ||
		    (nr[k] = malloc(strlen(u) + 16)) == NULL) {
			if (nr)
				r = nr;
			while (k > 0)
				free(r[--k]);
			free(r);
			return apd_set_error(err, APD_FATAL, "out of memory");
		}
		r = nr;
		sprintf(r[k++], "HKEY_USERS\\%s", u);
		free(u);
	}
	*roots = r;
	*n = k;
	return APD_OK;
}

/* ---- commands ---- */

/* "{tmp}" in a command line -> the private temporary folder */
static char *
expand(struct live *l, const char *spec, char **artifact)
{
	struct apd_buf b;
	const char *p = spec, *t;
	char *out;

	*artifact = NULL;
	apd_buf_init(&b, 1 << 16);
	while ((t = strstr(p, "{tmp}")) != NULL) {
		const char *end = t + 5;
		apd_buf_add(&b, p, (size_t)(t - p));
		apd_buf_adds(&b, l->tmp);
		/* the token holding {tmp} names a file the command writes: the artifact */
		while (*end && *end != ' ' && *end != '"')
			end++;
		if (*artifact == NULL) {
			size_t nl = strlen(l->tmp) + (size_t)(end - t - 5) + 1;
			if ((*artifact = malloc(nl)) != NULL)
				snprintf(*artifact, nl, "%s%.*s", l->tmp, (int)(end - t - 5), t + 5);
		}
		apd_buf_add(&b, t + 5, (size_t)(end - t - 5));
		p = end;
	}
	apd_buf_adds(&b, p);
	out = b.p ? strdup(b.p) : NULL;
	apd_buf_done(&b);
	return out;
}

static int
live_command(struct apd_csrc *s, const struct apd_pentry *e, const char *out_path,
    int *exit_code, char **artifact, struct apd_error *err)
{
	struct live *l = s->priv;
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	HANDLE out = INVALID_HANDLE_VALUE, nul = INVALID_HANDLE_VALUE, job = NULL;
	char *line = NULL, *exe = NULL, *args, txt[256];
	wchar_t *wline = NULL, *wexe = NULL, *wout = NULL;
	size_t en;
	DWORD code = 0, w, le;
	int rc = APD_OK;

	*exit_code = -1;
	*artifact = NULL;
	if ((line = expand(l, e->spec, artifact)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	/* only System32's own tools: never a same-named program beside apdiag on the stick */
	args = strchr(line, ' ');
	en = args ? (size_t)(args - line) : strlen(line);
	if ((exe = malloc(strlen(l->windir) + en + 32)) == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	sprintf(exe, "%s\\System32\\%.*s", l->windir, (int)en, line);
	if (!exists(exe, NULL)) {
		le = GetLastError();
		rc = apd_set_win(err, APD_FAILED, (int)le, "not on this device: %s (%s)", exe,
		    apd_win_strerror(le, txt, sizeof(txt)));
		goto out;
	}
	{
		size_t nl = strlen(exe) + strlen(line) + 8;
		char *full = malloc(nl);
		if (full == NULL) {
			rc = apd_set_error(err, APD_FATAL, "out of memory");
			goto out;
		}
		snprintf(full, nl, "\"%s\"%s", exe, args ? args : "");
		wline = apd_u2w(full);
		free(full);
	}
	wexe = wpath(exe);
	wout = wpath(out_path);
	if (wline == NULL || wexe == NULL || wout == NULL) {
		rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	out = CreateFileW(wout, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
	    OPEN_EXISTING, 0, NULL);
	if (out == INVALID_HANDLE_VALUE) {
		errno = EIO;
		rc = APD_FATAL;   /* the staging copy cannot be written */
		goto out;
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = nul == INVALID_HANDLE_VALUE ? NULL : nul;
	si.hStdOutput = out;
	si.hStdError = out;
	/* the whole tree ends with the job: nothing outlives the command holding our files */
	if ((job = CreateJobObjectW(NULL, NULL)) != NULL) {
		JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
		memset(&li, 0, sizeof(li));
		li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
		SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li, sizeof(li));
	}
	if (!CreateProcessW(wexe, wline, NULL, NULL, TRUE, CREATE_NO_WINDOW | CREATE_SUSPENDED |
	    CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) {
		le = GetLastError();
		rc = apd_set_win(err, APD_FAILED, (int)le, "cannot start %s: %s", exe,
		    apd_win_strerror(le, txt, sizeof(txt)));
		goto out;
	}
	if (job)
		AssignProcessToJobObject(job, pi.hProcess);
	ResumeThread(pi.hThread);
	CloseHandle(pi.hThread);
	w = WaitForSingleObject(pi.hProcess, e->timeout * 1000u);
	if (w != WAIT_OBJECT_0) {
		if (job)
			TerminateJobObject(job, 1);
		TerminateProcess(pi.hProcess, 1);
		WaitForSingleObject(pi.hProcess, 5000);
		rc = apd_set_win(err, APD_FAILED, ERROR_TIMEOUT, "did not finish within %u s; "
		    "stopped (the output so far is kept)", e->timeout);
	} else if (GetExitCodeProcess(pi.hProcess, &code)) {
		*exit_code = (int)code;
	}
	CloseHandle(pi.hProcess);
out:
	if (job) {
		TerminateJobObject(job, 1);   /* children the command left running */
		CloseHandle(job);
	}
	if (out != INVALID_HANDLE_VALUE)
		CloseHandle(out);
	if (nul != INVALID_HANDLE_VALUE)
		CloseHandle(nul);
	if (*artifact && !exists(*artifact, NULL)) {
		free(*artifact);
		*artifact = NULL;
	}
	free(wline);
	free(wexe);
	free(wout);
	free(exe);
	free(line);
	return rc;
}

/* ---- the source ---- */

static void
rm_tree(const char *dir, unsigned depth)
{
	struct dent *d;
	size_t n, i;
	DWORD e;
	wchar_t *w;

	if (depth < 16 && (d = list_dir(dir, &n, &e)) != NULL) {
		for (i = 0; i < n; i++) {
			char *p = join(dir, d[i].name, '\\');
			if (p == NULL)
				continue;
			if ((d[i].attr & FILE_ATTRIBUTE_DIRECTORY) &&
			    !(d[i].attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
				rm_tree(p, depth + 1);
			} else if ((w = wpath(p)) != NULL) {
				SetFileAttributesW(w, FILE_ATTRIBUTE_NORMAL);
				DeleteFileW(w);
				free(w);
			}
			free(p);
		}
		free_dents(d, n);
	}
	if ((w = wpath(dir)) != NULL) {
		RemoveDirectoryW(w);
		free(w);
	}
}

static void
live_free(struct apd_csrc *s)
{
	struct live *l = s->priv;

	if (l == NULL)
		return;
	if (l->tmp)
		rm_tree(l->tmp, 0);
	free(l->tmp);
	free(l->windir);
	free(l->sysroot);
	free(l);
	s->priv = NULL;
}

static const struct apd_csrc_vtable live_vt = {
	"live",
	live_find,
	live_events,
	live_open,
	live_read,
	live_stat,
	live_close,
	live_users,
	live_reg_walk,
	live_reg_get,
	live_command,
	live_free,
};

bool
apd_live_elevated(void)
{
	HANDLE tok;
	TOKEN_ELEVATION te;
	DWORD n = 0;
	bool r = false;

	if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) {
		if (GetTokenInformation(tok, TokenElevation, &te, sizeof(te), &n))
			r = te.TokenIsElevated != 0;
		CloseHandle(tok);
	}
	return r;
}

int
apd_csrc_live(struct apd_csrc *s, struct apd_error *err)
{
	struct live *l = calloc(1, sizeof(*l));
	wchar_t w[MAX_PATH + 1];
	UINT n;
	unsigned i;

	s->vt = &live_vt;
	s->priv = l;
	if (l == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	n = GetWindowsDirectoryW(w, MAX_PATH);
	if (n == 0 || n > MAX_PATH)
		return apd_set_win(err, APD_FAILED, (int)GetLastError(),
		    "cannot find the Windows folder");
	if ((l->windir = apd_w2u(w, (int)n)) == NULL || (l->sysroot = malloc(4)) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	snprintf(l->sysroot, 4, "%c:\\", l->windir[0]);
	/* the private temporary folder: %TEMP%\apdiag-<random> */
	n = GetTempPathW(MAX_PATH, w);
	if (n == 0 || n > MAX_PATH - 24)
		return apd_set_win(err, APD_FAILED, (int)GetLastError(),
		    "cannot find the temporary folder");
	for (i = 0; i < 100; i++) {
		wchar_t d[MAX_PATH + 32];
		swprintf(d, MAX_PATH + 32, L"%lsapdiag-%08lx", w,
		    (unsigned long)(GetTickCount() ^ (GetCurrentProcessId() << 16) ^ (i * 2654435761u)));
		if (CreateDirectoryW(d, NULL)) {
			size_t k;
			if ((l->tmp = apd_w2u(d, -1)) == NULL)
				return apd_set_error(err, APD_FATAL, "out of memory");
			for (k = 0; l->tmp[k]; k++)
				if (l->tmp[k] == '/')
					l->tmp[k] = '\\';
			return APD_OK;
		}
		if (GetLastError() != ERROR_ALREADY_EXISTS)
			break;
	}
	return apd_set_win(err, APD_FAILED, (int)GetLastError(),
	    "cannot create a temporary folder");
}
