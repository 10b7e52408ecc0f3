/*
 * src_offline.c - the offline source: a Windows volume mounted on any OS,
 * or a test tree shaped like one.
 *
 * Exports apd_csrc_offline and apd_ci_resolve.  Paths are looked up
 * case-insensitively, one component at a time, as NTFS would.  Registry
 * keys come from the offline hives through hivex (Debian's libhivex):
 *   HKLM\SOFTWARE  Windows/System32/config/SOFTWARE
 *   HKLM\SYSTEM    Windows/System32/config/SYSTEM; "CurrentControlSet" is
 *                  the control set that SYSTEM\Select\Current names
 *   HKEY_USERS\<SID>  Users/<name>/NTUSER.DAT, the SID from the SOFTWARE
 *                  hive's ProfileList (the folder name when none matches)
 * Commands are not applicable offline.
 */
#include "collect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIR_DEPTH   64     /* folder levels below a glob */
#define MAX_KEY_DEPTH   512    /* registry levels below a key */

struct hive {
	char *root;       /* "HKEY_LOCAL_MACHINE\\SOFTWARE", "HKEY_USERS\\S-1-5-..." */
	char *file;       /* host path of the hive file */
	hive_h *h;        /* opened on first use */
	int open_errno;   /* why it could not be opened (after a try) */
	bool tried;
	bool dirty;       /* the header's sequence numbers differ: logs not replayed */
	bool dirty_told;
};

struct off {
	char *root;
	struct hive *hv;
	size_t nhv;
	char ccs[16];     /* "ControlSet001" */
	bool ccs_done;
	bool users_done;
};

/* ---- paths ---- */

static char *
join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 2);

	if (s) {
		memcpy(s, a, na);
		s[na] = '/';
		memcpy(s + na + 1, b, nb + 1);
	}
	return s;
}

/* The name in dir that equals comp ignoring ASCII case (exact match first); malloc'd. */
static char *
ci_find(const char *dir, const char *comp)
{
	struct stat sb;
	struct dirent *de;
	char *p, *hit = NULL;
	DIR *d;

	p = join(dir, comp);
	if (p == NULL)
		return NULL;
	if (lstat(p, &sb) == 0) {
		free(p);
		return strdup(comp);
	}
	free(p);
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL)
		if (strcasecmp(de->d_name, comp) == 0) {
			hit = strdup(de->d_name);
			break;
		}
	closedir(d);
	if (hit == NULL)
		errno = ENOENT;
	return hit;
}

char *
apd_ci_resolve(const char *root, const char *winpath)
{
	char *cur = strdup(root), *copy = strdup(winpath), *save = NULL, *c;

	if (cur == NULL || copy == NULL) {
		free(cur);
		free(copy);
		errno = ENOMEM;
		return NULL;
	}
	for (c = strtok_r(copy, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
		char *name = ci_find(cur, c), *next;
		if (name == NULL) {
			int e = errno;
			free(cur);
			free(copy);
			errno = e ? e : ENOENT;
			return NULL;
		}
		next = join(cur, name);
		free(name);
		free(cur);
		if ((cur = next) == NULL) {
			free(copy);
			errno = ENOMEM;
			return NULL;
		}
	}
	free(copy);
	return cur;
}

/* ---- files ---- */

struct finder {
	struct off *o;
	apd_found_fn cb;
	void *ud;
	char **comp;       /* glob components */
	size_t ncomp;
	bool recurse;
	int rc;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "C:\\" + rel with '/' turned into '\\' */
static char *
win_name(const char *rel)
{
	size_t n = strlen(rel), i;
	char *s = malloc(n + 4);

	if (s == NULL)
		return NULL;
	memcpy(s, "C:\\", 3);
	for (i = 0; i <= n; i++)
		s[3 + i] = rel[i] == '/' ? '\\' : rel[i];
	return s;
}

static int
report(struct finder *f, const char *host, const char *rel, int os_error, const char *reason)
{
	struct apd_cfound cf;
	char *orig = win_name(rel);
	int rc;

	if (orig == NULL)
		return APD_FATAL;
	memset(&cf, 0, sizeof(cf));
	cf.orig = orig;
	cf.rel = rel;
	cf.handle = host;
	cf.os_error = os_error;
	cf.reason = reason;
	rc = f->cb(f->ud, &cf);
	free(orig);
	return rc;
}

/* Sorted names of a folder (without . and ..), or NULL with errno. */
static char **
list_dir(const char *dir, size_t *n)
{
	struct dirent *de;
	char **names = NULL, **nn;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL)
				goto oom;
			names = nn;
		}
		if ((names[*n] = strdup(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (names == NULL)
		names = malloc(sizeof(*names));
	if (names)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
oom:
	closedir(d);
	while (*n > 0)
		free(names[--*n]);
	free(names);
	errno = ENOMEM;
	return NULL;
}

static void
free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

static int walk_all(struct finder *f, const char *host, const char *rel, unsigned depth);

/* A path that matched the whole glob. */
static int
matched(struct finder *f, const char *host, const char *rel, unsigned depth)
{
	struct stat sb;

	if (lstat(host, &sb) != 0)
		return report(f, host, rel, errno, "cannot stat");
	if (S_ISLNK(sb.st_mode))
		return report(f, host, rel, 0, "a symbolic link or junction; not followed");
	if (S_ISDIR(sb.st_mode))
		return f->recurse ? walk_all(f, host, rel, depth + 1) : APD_OK;
	if (!S_ISREG(sb.st_mode))
		return report(f, host, rel, 0, "not a regular file; not read");
	return report(f, host, rel, 0, NULL);
}

/* Everything below a matched folder (recurse="yes"). */
static int
walk_all(struct finder *f, const char *host, const char *rel, unsigned depth)
{
	char **names;
	size_t n, i;
	int rc = APD_OK;

	if (depth > MAX_DIR_DEPTH)
		return report(f, host, rel, 0, "folders nested too deeply; not read");
	if ((names = list_dir(host, &n)) == NULL)
		return errno == ENOMEM ? APD_FATAL : report(f, host, rel, errno, "cannot list the folder");
	for (i = 0; i < n && rc == APD_OK; i++) {
		char *h = join(host, names[i]), *r = join(rel, names[i]);
		rc = h && r ? matched(f, h, r, depth) : APD_FATAL;
		free(h);
		free(r);
	}
	free_names(names, n);
	return rc;
}

static bool
has_wild(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/* Match glob components k.. below host (rel is the part below the root). */
static int
walk_glob(struct finder *f, const char *host, const char *rel, size_t k)
{
	const char *c = f->comp[k];
	bool last = k + 1 == f->ncomp;
	char **names;
	size_t n, i;
	int rc = APD_OK;

	if (!has_wild(c)) {
		char *name = ci_find(host, c), *h, *r;
		if (name == NULL)
			return errno == ENOMEM ? APD_FATAL : APD_OK;   /* absent: no match */
		h = join(host, name);
		r = *rel ? join(rel, name) : strdup(name);
		free(name);
		if (h == NULL || r == NULL)
			rc = APD_FATAL;
		else if (last)
			rc = matched(f, h, r, 0);
		else
			rc = walk_glob(f, h, r, k + 1);
		free(h);
		free(r);
		return rc;
	}
	if ((names = list_dir(host, &n)) == NULL)
		return errno == ENOMEM ? APD_FATAL : errno == ENOENT || errno == ENOTDIR ? APD_OK :
		    report(f, host, *rel ? rel : ".", errno, "cannot list the folder");
	for (i = 0; i < n && rc == APD_OK; i++) {
		char *h, *r;
		struct stat sb;
		if (!apd_glob_match(c, names[i]))
			continue;
		h = join(host, names[i]);
		r = *rel ? join(rel, names[i]) : strdup(names[i]);
		if (h == NULL || r == NULL)
			rc = APD_FATAL;
		else if (last)
			rc = matched(f, h, r, 0);
		else if (lstat(h, &sb) == 0 && S_ISDIR(sb.st_mode))
			rc = walk_glob(f, h, r, k + 1);
		free(h);
		free(r);
	}
	free_names(names, n);
	return rc;
}

static int
off_find(struct apd_csrc *s, const char *glob, bool recurse, apd_found_fn cb, void *ud,
    struct apd_error *err)
{
	struct off *o = s->priv;
	struct finder f;
	char *copy = strdup(glob), *save = NULL, *c;
	char *comp[64];
	int rc;

	if (copy == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	memset(&f, 0, sizeof(f));
	for (c = strtok_r(copy, "\\", &save); c && f.ncomp < 64; c = strtok_r(NULL, "\\", &save))
		comp[f.ncomp++] = c;
	f.o = o;
	f.cb = cb;
	f.ud = ud;
	f.comp = comp;
	f.recurse = recurse;
	rc = f.ncomp ? walk_glob(&f, o->root, "", 0) : APD_OK;
	free(copy);
	if (rc == APD_FATAL && err->code == APD_OK)
		apd_set_error(err, APD_FATAL, "out of memory");
	return rc;
}

static int
off_events(struct apd_csrc *s, const char *channel, apd_found_fn cb, void *ud,
    struct apd_error *err)
{
	struct off *o = s->priv;
	struct apd_cfound cf;
	char name[600], *host, rel[700];
	size_t i, k = 0;
	int rc;

	for (i = 0; channel[i] && k + 4 < sizeof(name) - 6; i++) {
		if (channel[i] == '/') {
			memcpy(name + k, "%4", 2);
			k += 2;
		} else {
			name[k++] = channel[i];
		}
	}
	memcpy(name + k, ".evtx", 6);
	snprintf(rel, sizeof(rel), "Windows\\System32\\winevt\\Logs\\%s", name);
	host = apd_ci_resolve(o->root, rel);
	if (host == NULL)
		return apd_set_errno(err, APD_FAILED, errno, "C:\\%s", rel);
	/* the real case of the path, below the root */
	snprintf(rel, sizeof(rel), "%s", host + strlen(o->root) + 1);
	memset(&cf, 0, sizeof(cf));
	cf.rel = rel;
	cf.handle = host;
	{
		char *orig = win_name(rel);
		cf.orig = orig;
		rc = orig ? cb(ud, &cf) : APD_FATAL;
		free(orig);
	}
	free(host);
	return rc;
}

/* ---- file reading ---- */

static void
fill_stat(const struct stat *sb, struct apd_cstat *st)
{
	st->size = (uint64_t)sb->st_size;
	st->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
	st->change = (uint64_t)sb->st_ctim.tv_sec * 1000000000u + (uint64_t)sb->st_ctim.tv_nsec;
}

static int
off_open(struct apd_csrc *s, const char *handle, void **fh, struct apd_cstat *st,
    struct apd_error *err)
{
	struct stat sb;
	int fd, *p;

	(void)s;
	fd = open(handle, O_RDONLY | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return apd_set_errno(err, APD_FAILED, errno, "cannot open");
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int e = S_ISREG(sb.st_mode) ? errno : EINVAL;
		close(fd);
		return apd_set_errno(err, APD_FAILED, e, "not a readable regular file");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if ((p = malloc(sizeof(*p))) == NULL) {
		close(fd);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	*p = fd;
	*fh = p;
	fill_stat(&sb, st);
	return APD_OK;
}

static long
off_read(struct apd_csrc *s, void *fh, void *buf, size_t n, struct apd_error *err)
{
	ssize_t r;

	(void)s;
	do
		r = read(*(int *)fh, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		apd_set_errno(err, APD_FAILED, errno, "read error");
	return (long)r;
}

static int
off_stat(struct apd_csrc *s, void *fh, struct apd_cstat *st, struct apd_error *err)
{
	struct stat sb;

	(void)s;
	if (fstat(*(int *)fh, &sb) != 0)
		return apd_set_errno(err, APD_FAILED, errno, "cannot stat");
	fill_stat(&sb, st);
	return APD_OK;
}

static void
off_close(struct apd_csrc *s, void *fh)
{
	(void)s;
	if (fh) {
		close(*(int *)fh);
		free(fh);
	}
}

/* ---- hives ---- */

static struct hive *
add_hive(struct off *o, const char *root, const char *file)
{
	struct hive *nh = realloc(o->hv, (o->nhv + 1) * sizeof(*nh)), *h;

	if (nh == NULL)
		return NULL;
	o->hv = nh;
	h = &nh[o->nhv];
	memset(h, 0, sizeof(*h));
	h->root = strdup(root);
	h->file = file ? strdup(file) : NULL;
	if (h->root == NULL || (file && h->file == NULL)) {
		free(h->root);
		free(h->file);
		return NULL;
	}
	o->nhv++;
	return h;
}

/* Open a hive on first use; NULL with err set when it cannot be. */
static hive_h *
hive_get(struct hive *hv, struct apd_error *err)
{
	if (!hv->tried) {
		hv->tried = true;
		if (hv->file == NULL) {
			hv->open_errno = ENOENT;
		} else {
			errno = 0;
			hv->h = hivex_open(hv->file, 0);
			if (hv->h == NULL) {
				hv->open_errno = errno ? errno : EINVAL;
			} else {
				/* regf primary and secondary sequence numbers (offsets 4, 8) */
				unsigned char hdr[12];
				FILE *f = fopen(hv->file, "rb");
				if (f && fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr) &&
				    memcmp(hdr + 4, hdr + 8, 4) != 0)
					hv->dirty = true;
				if (f)
					fclose(f);
			}
		}
	}
	if (hv->h == NULL) {
		if (hv->open_errno == ENOENT)
			apd_set_errno(err, APD_FAILED, ENOENT, "hive file of %s not found", hv->root);
		else
			apd_set_errno(err, APD_FAILED, hv->open_errno,
			    "hive file %s of %s cannot be opened (missing, unreadable or corrupt)",
			    hv->file, hv->root);
	}
	return hv->h;
}

/* Walk to a subkey path ('\\'-separated, case-insensitive).  0 with errno when missing. */
static hive_node_h
descend(hive_h *h, hive_node_h node, const char *path)
{
	char *copy = strdup(path), *save = NULL, *c;

	if (copy == NULL) {
		errno = ENOMEM;
		return 0;
	}
	for (c = strtok_r(copy, "\\", &save); c && node; c = strtok_r(NULL, "\\", &save)) {
		errno = 0;
		node = hivex_node_get_child(h, node, c);
		if (node == 0 && errno == 0)
			errno = ENOENT;
	}
	free(copy);
	return node;
}

static int
load_ccs(struct off *o, struct apd_error *err)
{
	struct hive *sys = NULL;
	hive_node_h sel;
	hive_value_h v;
	size_t i;
	int32_t cur;

	if (o->ccs_done)
		return APD_OK;
	o->ccs_done = true;
	snprintf(o->ccs, sizeof(o->ccs), "ControlSet001");
	for (i = 0; i < o->nhv; i++)
		if (strcmp(o->hv[i].root, "HKEY_LOCAL_MACHINE\\SYSTEM") == 0)
			sys = &o->hv[i];
	if (sys == NULL || hive_get(sys, err) == NULL)
		return APD_OK;
	sel = descend(sys->h, hivex_root(sys->h), "Select");
	if (sel && (v = hivex_node_get_value(sys->h, sel, "Current")) != 0) {
		errno = 0;
		cur = hivex_value_dword(sys->h, v);
		if (errno == 0 && cur > 0 && cur < 1000)
			snprintf(o->ccs, sizeof(o->ccs), "ControlSet%03d", (int)cur);
	}
	return APD_OK;
}

/*
 * Split a full key path into its hive and the path inside the hive file.
 * *inner is malloc'd; *display_root is what the output names the hive's root
 * ("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet" for the control set).
 */
static struct hive *
split_key(struct off *o, const char *key, char **inner, char *display_root, size_t dlen,
    struct apd_error *err)
{
	static const char ccs[] = "CurrentControlSet";
	size_t i, rl;

	*inner = NULL;
	for (i = 0; i < o->nhv; i++) {
		rl = strlen(o->hv[i].root);
		if (strncasecmp(key, o->hv[i].root, rl) == 0 && (key[rl] == '\0' || key[rl] == '\\'))
			break;
	}
	if (i == o->nhv) {
		apd_set_errno(err, APD_FAILED, ENOENT, "%s: no hive for this key", key);
		return NULL;
	}
	key += rl;
	if (*key == '\\')
		key++;
	snprintf(display_root, dlen, "%s", o->hv[i].root);
	if (strcmp(o->hv[i].root, "HKEY_LOCAL_MACHINE\\SYSTEM") == 0 &&
	    strncasecmp(key, ccs, sizeof(ccs) - 1) == 0 &&
	    (key[sizeof(ccs) - 1] == '\0' || key[sizeof(ccs) - 1] == '\\')) {
		load_ccs(o, err);
		apd_error_clear(err);
		key += sizeof(ccs) - 1;
		if (*key == '\\')
			key++;
		snprintf(display_root, dlen, "%s\\%s", o->hv[i].root, ccs);
		if ((*inner = malloc(strlen(o->ccs) + strlen(key) + 2)) != NULL)
			sprintf(*inner, "%s%s%s", o->ccs, *key ? "\\" : "", key);
	} else {
		*inner = strdup(key);
	}
	if (*inner == NULL)
		apd_set_error(err, APD_FATAL, "out of memory");
	return *inner ? &o->hv[i] : NULL;
}

struct kwalk {
	hive_h *h;
	const struct apd_reg_visit *v;
	bool recurse;
	char path[8192];
};

static int
walk_node(struct kwalk *k, hive_node_h node, size_t plen, unsigned depth)
{
	hive_value_h *vals;
	hive_node_h *kids;
	size_t i;
	int rc;

	if ((rc = k->v->key(k->v->ud, k->path)) != APD_OK)
		return rc;
	errno = 0;
	vals = hivex_node_values(k->h, node);
	if (vals == NULL) {
		if ((rc = k->v->problem(k->v->ud, k->path, errno ? errno : EINVAL,
		    "the key's values cannot be read (corrupt hive?)")) != APD_OK)
			return rc;
	}
	for (i = 0; vals && vals[i]; i++) {
		hive_type t;
		size_t len;
		char *name, *data;

		errno = 0;
		name = hivex_value_key(k->h, vals[i]);
		data = name ? hivex_value_value(k->h, vals[i], &t, &len) : NULL;
		if (name == NULL || data == NULL) {
			rc = k->v->problem(k->v->ud, k->path, errno ? errno : EINVAL,
			    "a value cannot be read (corrupt hive?)");
		} else {
			rc = k->v->value(k->v->ud, name, (uint32_t)t, data, len);
		}
		free(name);
		free(data);
		if (rc != APD_OK) {
			free(vals);
			return rc;
		}
	}
	free(vals);
	if (!k->recurse)
		return APD_OK;
	if (depth >= MAX_KEY_DEPTH)
		return k->v->problem(k->v->ud, k->path, 0, "keys nested too deeply; not read");
	errno = 0;
	kids = hivex_node_children(k->h, node);
	if (kids == NULL)
		return k->v->problem(k->v->ud, k->path, errno ? errno : EINVAL,
		    "the key's subkeys cannot be read (corrupt hive?)");
	for (i = 0; kids[i]; i++) {
		char *name = hivex_node_name(k->h, kids[i]);
		size_t nl;
		if (name == NULL) {
			rc = k->v->problem(k->v->ud, k->path, errno ? errno : EINVAL,
			    "a subkey name cannot be read");
		} else if (plen + 1 + (nl = strlen(name)) >= sizeof(k->path)) {
			rc = k->v->problem(k->v->ud, k->path, ENAMETOOLONG, "key path too long; not read");
		} else {
			k->path[plen] = '\\';
			memcpy(k->path + plen + 1, name, nl + 1);
			rc = walk_node(k, kids[i], plen + 1 + nl, depth + 1);
			k->path[plen] = '\0';
		}
		free(name);
		if (rc != APD_OK)
			break;
	}
	free(kids);
	return rc;
}

static int load_users(struct off *o, struct apd_error *err);

static int
off_reg_walk(struct apd_csrc *s, const char *key, bool recurse, const struct apd_reg_visit *v,
    struct apd_error *err)
{
	struct off *o = s->priv;
	struct kwalk *k;
	struct hive *hv;
	char *inner, droot[256];
	hive_node_h node;
	int rc;

	if (strncasecmp(key, "HKEY_USERS\\", 11) == 0 && (rc = load_users(o, err)) != APD_OK)
		return rc;
	if ((hv = split_key(o, key, &inner, droot, sizeof(droot), err)) == NULL)
		return err->code;
	if (hive_get(hv, err) == NULL) {
		free(inner);
		return APD_FAILED;
	}
	if (hv->dirty && !hv->dirty_told && v->note) {
		char why[600];
		hv->dirty_told = true;
		snprintf(why, sizeof(why), "the hive file %s was not closed cleanly; its "
		    "transaction logs (.LOG1, .LOG2) are not replayed, so the latest changes may be "
		    "missing from its exports", hv->file);
		if ((rc = v->note(v->ud, hv->root, why)) != APD_OK) {
			free(inner);
			return rc;
		}
	}
	node = *inner ? descend(hv->h, hivex_root(hv->h), inner) : hivex_root(hv->h);
	if (node == 0) {
		rc = apd_set_errno(err, APD_FAILED, errno ? errno : ENOENT, "%s", key);
		free(inner);
		return rc;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		free(inner);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	k->h = hv->h;
	k->v = v;
	k->recurse = recurse;
	/* the display path: the root as Windows names it, then the names as stored */
	{
		const char *rest = key + strlen(hv->root);
		if (strcmp(droot, hv->root) != 0)   /* CurrentControlSet */
			rest += strlen("\\CurrentControlSet");
		snprintf(k->path, sizeof(k->path), "%s%s", droot, rest);
	}
	rc = walk_node(k, node, strlen(k->path), 0);
	free(k);
	free(inner);
	return rc;
}

static int
off_reg_get(struct apd_csrc *s, const char *key, const char *name, uint32_t *type,
    struct apd_buf *b, struct apd_error *err)
{
	struct off *o = s->priv;
	struct hive *hv;
	hive_node_h node;
	hive_value_h val;
	hive_type t;
	char *inner, droot[256], *data;
	size_t len;
	int rc;

	if ((hv = split_key(o, key, &inner, droot, sizeof(droot), err)) == NULL)
		return err->code;
	if (hive_get(hv, err) == NULL) {
		free(inner);
		return APD_FAILED;
	}
	node = *inner ? descend(hv->h, hivex_root(hv->h), inner) : hivex_root(hv->h);
	free(inner);
	if (node == 0)
		return apd_set_errno(err, APD_FAILED, ENOENT, "%s", key);
	errno = 0;
	val = hivex_node_get_value(hv->h, node, name);
	if (val == 0)
		return apd_set_errno(err, APD_FAILED, errno ? errno : ENOENT, "%s\\%s", key, name);
	if ((data = hivex_value_value(hv->h, val, &t, &len)) == NULL)
		return apd_set_errno(err, APD_FAILED, errno ? errno : EINVAL, "%s\\%s", key, name);
	apd_buf_reset(b);
	rc = apd_buf_add(b, data, len);
	free(data);
	*type = (uint32_t)t;
	return rc == APD_OK ? APD_OK : apd_set_error(err, APD_FAILED, "%s\\%s: too large", key, name);
}

/* Users/<name>/NTUSER.DAT, named by their SID from the SOFTWARE hive's ProfileList. */
static int
load_users(struct off *o, struct apd_error *err)
{
	static const char plist[] = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\"
	    "CurrentVersion\\ProfileList";
	struct hive *sw = NULL;
	hive_node_h pl = 0, *sids = NULL;
	char *users, **names;
	size_t n, i, j;

	if (o->users_done)
		return APD_OK;
	o->users_done = true;
	users = apd_ci_resolve(o->root, "Users");
	if (users == NULL)
		return APD_OK;
	names = list_dir(users, &n);
	if (names == NULL) {
		free(users);
		return APD_OK;
	}
	for (i = 0; i < o->nhv; i++)
		if (strcmp(o->hv[i].root, "HKEY_LOCAL_MACHINE\\SOFTWARE") == 0)
			sw = &o->hv[i];
	if (sw && hive_get(sw, err) != NULL) {
		pl = descend(sw->h, hivex_root(sw->h), plist + strlen("HKEY_LOCAL_MACHINE\\SOFTWARE\\"));
		if (pl)
			sids = hivex_node_children(sw->h, pl);
	}
	apd_error_clear(err);
	for (i = 0; i < n; i++) {
		char *dir, *hivefile, root[300];
		const char *label = names[i];
		char *sidname = NULL;

		if (strcasecmp(names[i], "Default") == 0 || strcasecmp(names[i], "Public") == 0 ||
		    strcasecmp(names[i], "Default User") == 0 || strcasecmp(names[i], "All Users") == 0)
			continue;
		dir = join(users, names[i]);
		hivefile = dir ? ci_find(dir, "NTUSER.DAT") : NULL;
		if (hivefile) {
			char *full = join(dir, hivefile);
			free(hivefile);
			hivefile = full;
		}
		for (j = 0; sids && sids[j] && hivefile; j++) {
			hive_value_h v = hivex_node_get_value(sw->h, sids[j], "ProfileImagePath");
			char *pip = v ? hivex_value_string(sw->h, v) : NULL;
			const char *base = pip ? strrchr(pip, '\\') : NULL;
			if (base && strcasecmp(base + 1, names[i]) == 0)
				sidname = hivex_node_name(sw->h, sids[j]);
			free(pip);
			if (sidname)
				break;
		}
		if (sidname)
			label = sidname;
		snprintf(root, sizeof(root), "HKEY_USERS\\%s", label);
		if (hivefile && add_hive(o, root, hivefile) == NULL) {
			free(sidname);
			free(hivefile);
			free(dir);
			free(sids);
			free_names(names, n);
			free(users);
			return apd_set_error(err, APD_FATAL, "out of memory");
		}
		free(sidname);
		free(hivefile);
		free(dir);
	}
	free(sids);
	free_names(names, n);
	free(users);
	return APD_OK;
}

static int
off_users(struct apd_csrc *s, char ***roots, size_t *n, struct apd_error *err)
{
	struct off *o = s->priv;
	size_t i, k = 0;
	int rc;

	*roots = NULL;
	*n = 0;
	if ((rc = load_users(o, err)) != APD_OK)
		return rc;
	if ((*roots = calloc(o->nhv + 1, sizeof(char *))) == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	for (i = 0; i < o->nhv; i++)
		if (strncmp(o->hv[i].root, "HKEY_USERS\\", 11) == 0)
			if (((*roots)[k++] = strdup(o->hv[i].root)) == NULL)
				return apd_set_error(err, APD_FATAL, "out of memory");
	*n = k;
	return APD_OK;
}

static int
off_command(struct apd_csrc *s, const struct apd_pentry *e, const char *out_path, int *exit_code,
    char **artifact, struct apd_error *err)
{
	(void)s;
	(void)e;
	(void)out_path;
	*exit_code = -1;
	*artifact = NULL;
	return apd_set_error(err, APD_FAILED, "not applicable offline");
}

static void
off_free(struct apd_csrc *s)
{
	struct off *o = s->priv;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nhv; i++) {
		if (o->hv[i].h)
			hivex_close(o->hv[i].h);
		free(o->hv[i].root);
		free(o->hv[i].file);
	}
	free(o->hv);
	free(o->root);
	free(o);
	s->priv = NULL;
}

static const struct apd_csrc_vtable offline_vt = {
	.mode = "offline",
	.find = off_find,
	.events = off_events,
	.open = off_open,
	.read = off_read,
	.stat_fh = off_stat,
	.close = off_close,
	.users = off_users,
	.reg_walk = off_reg_walk,
	.reg_get = off_reg_get,
	.command = off_command,
	.free = off_free,
};

int
apd_csrc_offline(struct apd_csrc *s, const char *root, struct apd_error *err)
{
	struct off *o;
	struct stat sb;
	char *win, *sw, *sy;

	s->vt = &offline_vt;
	s->priv = NULL;
	if (stat(root, &sb) != 0)
		return apd_set_errno(err, APD_FAILED, errno, "%s", root);
	if (!S_ISDIR(sb.st_mode))
		return apd_set_error(err, APD_FAILED, "%s: not a folder (expected a mounted "
		    "Windows volume)", root);
	win = apd_ci_resolve(root, "Windows");
	if (win == NULL)
		return apd_set_error(err, APD_FAILED, "%s: no Windows folder; not a Windows system "
		    "volume", root);
	free(win);
	if ((o = calloc(1, sizeof(*o))) == NULL || (o->root = strdup(root)) == NULL) {
		free(o);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	s->priv = o;
	sw = apd_ci_resolve(root, "Windows\\System32\\config\\SOFTWARE");
	sy = apd_ci_resolve(root, "Windows\\System32\\config\\SYSTEM");
	if (add_hive(o, "HKEY_LOCAL_MACHINE\\SOFTWARE", sw) == NULL ||
	    add_hive(o, "HKEY_LOCAL_MACHINE\\SYSTEM", sy) == NULL) {
		free(sw);
		free(sy);
		off_free(s);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	free(sw);
	free(sy);
	return APD_OK;
}
