/*
 * verify.c - `apdiag verify ARCHIVE`: check every entry of a bundle against
 * its manifest.
 *
 * Exports apd_verify_archive.  The archive (cab, tar, tar.gz, tar.zst, zip:
 * whatever libarchive reads) must start with manifest.json; every item the
 * manifest lists (entries[].items[]) must be in the archive with the same
 * size and SHA-256, and the archive must hold nothing else.  Names compare
 * with '\\' and '/' as the same separator (cab names use '\\').
 */
#include "collect.h"
#include "apd_sha256.h"

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)256 << 20)

struct want {
	char *path;
	int64_t size;
	char sha[65];
	bool seen;
};

static int
cmp_want(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->path, ((const struct want *)b)->path);
}

static void
slashes(char *s)
{
	for (; *s; s++)
		if (*s == '\\')
			*s = '/';
}

/* Items of the manifest into a sorted array.  APD_OK or APD_FAILED. */
static int
load_wants(const char *text, size_t n, struct want **out, size_t *nw, struct apd_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *root, *entries, *items, *it, *v;
	struct want *w = NULL;
	size_t cap = 0, k = 0, i, j;
	int rc = APD_OK;

	*out = NULL;
	*nw = 0;
	if (tok == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	root = json_tokener_parse_ex(tok, text, (int)n);
	json_tokener_free(tok);
	if (root == NULL || !json_object_object_get_ex(root, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array)) {
		json_object_put(root);
		return apd_set_error(err, APD_FAILED, "manifest.json is not an apdiag manifest "
		    "(no entries array)");
	}
	for (i = 0; i < json_object_array_length(entries) && rc == APD_OK; i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(entries, i), "items", &items) ||
		    !json_object_is_type(items, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(items); j++) {
			const char *p, *sha;
			it = json_object_array_get_idx(items, j);
			p = json_object_object_get_ex(it, "path", &v) ? json_object_get_string(v) : NULL;
			sha = json_object_object_get_ex(it, "sha256", &v) ? json_object_get_string(v) :
			    NULL;
			if (p == NULL || sha == NULL || strlen(sha) != 64 ||
			    !json_object_object_get_ex(it, "size", &v)) {
				rc = apd_set_error(err, APD_FAILED, "manifest.json: item %zu of entry %zu "
				    "lacks path, size or sha256", j, i);
				break;
			}
			if (k == cap) {
				struct want *nw2;
				cap = cap ? 2 * cap : 64;
				if ((nw2 = realloc(w, cap * sizeof(*w))) == NULL) {
					rc = apd_set_error(err, APD_FATAL, "out of memory");
					break;
				}
				w = nw2;
			}
			w[k].path = strdup(p);
			if (w[k].path == NULL) {
				rc = apd_set_error(err, APD_FATAL, "out of memory");
				break;
			}
			slashes(w[k].path);
			w[k].size = json_object_get_int64(v);
			memcpy(w[k].sha, sha, 65);
			w[k].seen = false;
			k++;
		}
	}
	json_object_put(root);
	if (w)
		qsort(w, k, sizeof(*w), cmp_want);
	*out = w;
	*nw = k;
	return rc;
}

static void
no_report(void *ud, const char *what, const char *path, const char *detail)
{
	(void)ud;
	(void)what;
	(void)path;
	(void)detail;
}

int
apd_verify_archive(const char *path, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res, struct apd_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct want *w = NULL, key, *hit;
	size_t nw = 0, i;
	char *mtext = NULL, *name = NULL, detail[256];
	size_t mn = 0;
	bool first = true;
	int r, rc = APD_OK;

	memset(res, 0, sizeof(*res));
	if (report == NULL)
		report = no_report;
	if (a == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = apd_set_error(err, APD_FAILED, "%s: %s", path, archive_error_string(a) ?
		    archive_error_string(a) : "cannot open");
		archive_read_free(a);
		return rc;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		struct apd_sha256 h;
		const void *blk;
		size_t bn;
		la_int64_t off;
		uint64_t got = 0;
		char sha[65];
		const char *nm;

		if (r < ARCHIVE_WARN) {
			rc = apd_set_error(err, APD_FAILED, "%s: %s", path, archive_error_string(a) ?
			    archive_error_string(a) : "unreadable");
			goto out;
		}
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		nm = archive_entry_pathname_utf8(e);
		if (nm == NULL)
			nm = archive_entry_pathname(e);
		free(name);
		if ((name = strdup(nm ? nm : "")) == NULL) {
			rc = apd_set_error(err, APD_FATAL, "out of memory");
			goto out;
		}
		slashes(name);
		if (first) {
			first = false;
			if (strcmp(name, "manifest.json") != 0) {
				rc = apd_set_error(err, APD_FAILED, "%s: the first entry is '%s', not "
				    "manifest.json: not an apdiag bundle", path, name);
				goto out;
			}
			while ((r = archive_read_data_block(a, &blk, &bn, &off)) == ARCHIVE_OK) {
				char *nt;
				if (mn + bn > MANIFEST_MAX) {
					rc = apd_set_error(err, APD_FAILED, "%s: manifest.json is larger than "
					    "256 MiB", path);
					goto out;
				}
				if ((nt = realloc(mtext, mn + bn + 1)) == NULL) {
					rc = apd_set_error(err, APD_FATAL, "out of memory");
					goto out;
				}
				mtext = nt;
				memcpy(mtext + mn, blk, bn);
				mn += bn;
			}
			if (r != ARCHIVE_EOF) {
				rc = apd_set_error(err, APD_FAILED, "%s: manifest.json: %s", path,
				    archive_error_string(a) ? archive_error_string(a) : "unreadable");
				goto out;
			}
			if ((rc = load_wants(mtext ? mtext : "", mn, &w, &nw, err)) != APD_OK) {
				apd_prefix_error(err, "%s: ", path);
				goto out;
			}
			continue;
		}
		apd_sha256_init(&h);
		while ((r = archive_read_data_block(a, &blk, &bn, &off)) == ARCHIVE_OK) {
			apd_sha256_update(&h, blk, bn);
			got += bn;
		}
		apd_sha256_final_hex(&h, sha);
		apd_sha256_done(&h);
		if (r != ARCHIVE_EOF) {
			res->mismatched++;
			report(ud, "unreadable", name, archive_error_string(a) ?
			    archive_error_string(a) : "cannot read the entry");
			rc = APD_WARN;
			if (r == ARCHIVE_FATAL)
				break;
			continue;
		}
		key.path = name;
		hit = w ? bsearch(&key, w, nw, sizeof(*w), cmp_want) : NULL;
		if (hit == NULL || hit->seen) {
			res->extra++;
			report(ud, hit ? "duplicate" : "extra", name,
			    hit ? "listed once in the manifest, present again" :
			    "not listed in the manifest");
			rc = APD_WARN;
			continue;
		}
		hit->seen = true;
		if ((int64_t)got != hit->size || strcmp(sha, hit->sha) != 0) {
			res->mismatched++;
			snprintf(detail, sizeof(detail), "manifest: %lld bytes sha256 %.16s..., "
			    "archive: %llu bytes sha256 %.16s...", (long long)hit->size, hit->sha,
			    (unsigned long long)got, sha);
			report(ud, "mismatch", name, detail);
			rc = APD_WARN;
			continue;
		}
		res->checked++;
	}
	if (first) {
		rc = apd_set_error(err, APD_FAILED, "%s: empty archive, no manifest.json", path);
		goto out;
	}
	for (i = 0; i < nw; i++)
		if (!w[i].seen) {
			res->missing++;
			report(ud, "missing", w[i].path, "listed in the manifest, not in the archive");
			rc = APD_WARN;
		}
out:
	for (i = 0; i < nw; i++)
		free(w[i].path);
	free(w);
	free(mtext);
	free(name);
	archive_read_free(a);
	return rc;
}
