/*
 * verify.c - `apdiag verify ARCHIVE`: check every entry of a bundle against
 * its manifest.
 *
 * Exports apd_verify_archive.  The archive (cab, tar, tar.gz, tar.zst, zip:
 * whatever libarchive reads) must start with manifest.json; every item the
 * manifest lists (entries[].items[]) must be in the archive with the same
 * size and SHA-256, and the archive must hold nothing else.  Names compare
 * with '\\' and '/' as the same separator (cab names use '\\').  This file is
 * the reader (libarchive, json-c); the comparison is verify_check.c.
 */
#include "verify.h"
#include "apd_sha256.h"

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Items of the manifest (entries[].items[]), through json-c.  APD_OK or APD_FAILED. */
int
apd_vcheck_load(struct apd_vcheck *c, const char *text, size_t n, struct apd_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *root, *entries, *items, *it, *v;
	size_t i, j;
	int rc = APD_OK;

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
		for (j = 0; j < json_object_array_length(items) && rc == APD_OK; j++) {
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
			rc = apd_vcheck_want(c, p, json_object_get_int64(v), sha, err);
		}
	}
	json_object_put(root);
	return rc;
}

int
apd_verify_archive(const char *path, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res, struct apd_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct apd_vcheck ck;
	char *mtext = NULL, *name = NULL;
	size_t mn = 0;
	bool first = true;
	int r, rc = APD_OK;

	apd_vcheck_init(&ck, report, ud, res);
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
		for (char *q = name; *q; q++)
			if (*q == '\\')
				*q = '/';
		if (first) {
			first = false;
			if (strcmp(name, "manifest.json") != 0) {
				rc = apd_set_error(err, APD_FAILED, "%s: the first entry is '%s', not "
				    "manifest.json: not an apdiag bundle", path, name);
				goto out;
			}
			while ((r = archive_read_data_block(a, &blk, &bn, &off)) == ARCHIVE_OK) {
				char *nt;
				if (mn + bn > APD_MANIFEST_MAX) {
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
			if ((rc = apd_vcheck_load(&ck, mtext ? mtext : "", mn, err)) != APD_OK) {
				apd_prefix_error(err, "%s: ", path);
				goto out;
			}
			apd_vcheck_ready(&ck);
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
			apd_vcheck_unreadable(&ck, name, archive_error_string(a) ?
			    archive_error_string(a) : "cannot read the entry");
			if (r == ARCHIVE_FATAL)
				break;
			continue;
		}
		if (apd_vcheck_entry(&ck, name, got, sha) != APD_OK) {
			rc = apd_set_error(err, APD_FATAL, "out of memory");
			goto out;
		}
	}
	if (first) {
		rc = apd_set_error(err, APD_FAILED, "%s: empty archive, no manifest.json", path);
		goto out;
	}
	rc = apd_vcheck_finish(&ck);
out:
	apd_vcheck_done(&ck);
	free(mtext);
	free(name);
	archive_read_free(a);
	return rc;
}
