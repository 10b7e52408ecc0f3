/*
 * apd_parse_manifest.c - manifest.json of an apdiag bundle, as `apdiag
 * collect` writes it (docs/collect.md, docs/sources/manifest.md).
 *
 * What the collector could not get becomes the `gap` table, the same way
 * MdmLogCollectorFootPrint.txt and Intune's results.xml feed it: one gap
 * per manifest gap (reason "<kind>: <reason> (OS error N: text)"; the
 * manifest's OS error is errno or a Win32 code, not an HRESULT, so the
 * hresult column stays NULL) and one per item --max-size left out.  The
 * device facts are re-emitted under their own names (os.build, device.name,
 * ...), with collect.* facts about the run, and the start and end of the
 * collection become two events on the timeline.
 *
 * Only `apd_parser_manifest` is exported.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_time.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char MAGIC[] = "{\"format\":\"apdiag-collect-manifest\"";

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long
num(struct json_object *o, const char *key, long long def)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return def;
	return (long long)json_object_get_int64(v);
}

static int
fact(struct apd_parse *ps, const char *name, const char *value)
{
	if (value == NULL)
		return APD_OK;
	return apd_emit_fact(ps->sink, apd_sv_cstr(name), apd_sv_cstr(value));
}

static int
mark(struct apd_parse *ps, const char *when, const char *msg)
{
	struct apd_event ev;

	apd_event_init(&ev);
	if (when && apd_parse_iso(apd_sv_cstr(when), &ev.ts_utc))
		ev.tz = APD_TZ_UTC;
	else
		ev.ts_utc = APD_TS_NONE;
	ev.level = APD_LVL_INFO;
	ev.provider = APD_SV_LIT("apdiag-collect");
	ev.message = apd_sv_cstr(msg);
	return apd_emit_event(ps->sink, &ev);
}

static int
walk(struct apd_parse *ps, struct json_object *doc, unsigned *warn)
{
	struct json_object *o, *a, *g;
	struct json_object_iterator it, end;
	char msg[1200], n[32];
	size_t i;
	int rc = APD_OK;

	o = json_object_object_get_ex(doc, "tool", &o) ? o : NULL;
	if ((rc = fact(ps, "collect.tool_version", str(o, "version"))) != APD_OK ||
	    (rc = fact(ps, "collect.mode", str(doc, "mode"))) != APD_OK ||
	    (rc = fact(ps, "collect.started_utc", str(doc, "started_utc"))) != APD_OK ||
	    (rc = fact(ps, "collect.ended_utc", str(doc, "ended_utc"))) != APD_OK)
		return rc;
	if (json_object_object_get_ex(doc, "redaction", &o) &&
	    json_object_object_get_ex(o, "applied", &a) &&
	    (rc = fact(ps, "collect.redacted", json_object_get_boolean(a) ? "true" : "false")) !=
	    APD_OK)
		return rc;
	if (json_object_object_get_ex(doc, "facts", &o) && json_object_is_type(o, json_type_object)) {
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; rc == APD_OK && !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			struct json_object *v = json_object_iter_peek_value(&it);
			if (json_object_is_type(v, json_type_string))
				rc = fact(ps, json_object_iter_peek_name(&it), json_object_get_string(v));
		}
	}
	if (rc == APD_OK && json_object_object_get_ex(doc, "summary", &o)) {
		snprintf(n, sizeof(n), "%lld", num(o, "items", 0));
		rc = fact(ps, "collect.items", n);
		snprintf(n, sizeof(n), "%lld", num(o, "gaps", 0));
		if (rc == APD_OK)
			rc = fact(ps, "collect.gaps", n);
	}
	if (rc == APD_OK) {
		o = json_object_object_get_ex(doc, "profile", &o) ? o : NULL;
		snprintf(msg, sizeof(msg), "apdiag collect %s started (%s mode, profile %s %s)",
		    str(json_object_object_get_ex(doc, "tool", &a) ? a : NULL, "version") ?
		    str(a, "version") : "?", str(doc, "mode") ? str(doc, "mode") : "?",
		    str(o, "name") ? str(o, "name") : "?", str(o, "version") ? str(o, "version") : "?");
		rc = mark(ps, str(doc, "started_utc"), msg);
	}
	if (rc == APD_OK) {
		o = json_object_object_get_ex(doc, "summary", &o) ? o : NULL;
		snprintf(msg, sizeof(msg), "apdiag collect ended: %lld items, %lld gaps", num(o, "items",
		    0), num(o, "gaps", 0));
		rc = mark(ps, str(doc, "ended_utc"), msg);
	}
	if (rc == APD_OK && json_object_object_get_ex(doc, "gaps", &a) &&
	    json_object_is_type(a, json_type_array)) {
		for (i = 0; rc == APD_OK && i < json_object_array_length(a); i++) {
			const char *item, *kind, *reason, *ostext;
			long long oe;
			g = json_object_array_get_idx(a, i);
			item = str(g, "item");
			kind = str(g, "kind");
			reason = str(g, "reason");
			if (item == NULL || kind == NULL) {
				(*warn)++;
				rc = apd_emit_warn(ps->sink, 0, 0, "gap %zu: no item or kind; skipped", i);
				continue;
			}
			oe = num(g, "os_error", 0);
			ostext = str(g, "os_error_text");
			if (oe)
				snprintf(msg, sizeof(msg), "%s: %s (OS error %lld%s%s)", kind,
				    reason ? reason : "", oe, ostext ? ": " : "", ostext ? ostext : "");
			else
				snprintf(msg, sizeof(msg), "%s: %s", kind, reason ? reason : "");
			rc = apd_emit_gap(ps->sink, apd_sv_cstr(item), INT64_MIN, apd_sv_cstr(msg));
		}
	}
	if (rc == APD_OK && json_object_object_get_ex(doc, "left_out", &a) &&
	    json_object_is_type(a, json_type_array)) {
		for (i = 0; rc == APD_OK && i < json_object_array_length(a); i++) {
			const char *orig;
			g = json_object_array_get_idx(a, i);
			orig = str(g, "original") ? str(g, "original") : str(g, "path");
			if (orig == NULL) {
				(*warn)++;
				rc = apd_emit_warn(ps->sink, 0, 0, "left_out %zu: no path; skipped", i);
				continue;
			}
			snprintf(msg, sizeof(msg), "left-out: %lld bytes left out to stay within "
			    "--max-size", num(g, "size", 0));
			rc = apd_emit_gap(ps->sink, apd_sv_cstr(orig), INT64_MIN, apd_sv_cstr(msg));
		}
	}
	return rc;
}

static int
run(struct apd_parse *ps)
{
	struct json_object *doc;
	const char *why;
	size_t end;
	unsigned warn = 0;
	int rc;

	if ((rc = apd_parse_read_json(ps, &doc, &end, &why)) != APD_OK)
		return rc;
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		rc = apd_set_error(ps->err, APD_FAILED, "%s: not a valid JSON object (byte %zu: %s)",
		    ps->path, end, why ? why : "not an object");
	} else {
		rc = walk(ps, doc, &warn);
		if (rc == APD_OK && warn)
			rc = APD_WARN;
	}
	json_object_put(doc);
	return rc;
}

/* 8 bits per byte of the fixed opening the collector writes first; -1 otherwise. */
static int
bid(const struct apd_probe *pr)
{
	size_t m = sizeof(MAGIC) - 1;

	if (pr->len >= m && memcmp(pr->head, MAGIC, m) == 0)
		return (int)(8 * m);
	return -1;
}

const struct apd_parser apd_parser_manifest = {
	.name = "manifest",              /* name */
	.kind = "apdiag-manifest",       /* kind */
	.bid = bid,                      /* bid */
	.run = run,                      /* run */
	.note = NULL,                    /* note */
};
