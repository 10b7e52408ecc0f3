/*
 * apd_parse_netcheck.c - the network reachability results that
 * `apdiag collect --network` writes to network/netcheck.json
 * (docs/sources/netcheck.md).
 *
 * One JSON document: {"format":"apdiag-netcheck","format_version":1, ...,
 * "results":[{"endpoint","host","port","check","status","ms","time_utc",
 * "detail","error","os_error","purpose"}, ...], "summary":{...}}.
 * Each result becomes one event (component = the check, level error when
 * it failed, warning when skipped, information when ok; data = the result
 * object) and one fact "netcheck.<endpoint>.<check>" = ok | failed |
 * skipped, so rules can test reachability by name; plus the facts
 * netcheck.probes and netcheck.failures.  A result that is not an object,
 * or lacks endpoint, check or status, is a warning.
 *
 * Only `apd_parser_netcheck` is exported.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_time.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char MAGIC[] = "{\"format\":\"apdiag-netcheck\"";

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
result(struct apd_parse *ps, struct json_object *r, size_t i, unsigned *warn)
{
	const char *ep = str(r, "endpoint"), *check = str(r, "check"), *status = str(r, "status");
	const char *host = str(r, "host"), *t = str(r, "time_utc"), *err = str(r, "error");
	const char *detail = str(r, "detail");
	struct json_object *v;
	struct apd_event ev;
	char msg[1400], name[300];
	long long ms = -1, port = 0;
	int rc;

	if (!json_object_is_type(r, json_type_object) || ep == NULL || check == NULL ||
	    status == NULL) {
		(*warn)++;
		return apd_emit_warn(ps->sink, 0, 0, "result %zu: not an object with endpoint, check "
		    "and status; skipped", i);
	}
	if (json_object_object_get_ex(r, "ms", &v))
		ms = json_object_get_int64(v);
	if (json_object_object_get_ex(r, "port", &v))
		port = json_object_get_int64(v);
	apd_event_init(&ev);
	if (t && apd_parse_iso(apd_sv_cstr(t), &ev.ts_utc))
		ev.tz = APD_TZ_UTC;
	else
		ev.ts_utc = APD_TS_NONE;
	ev.level = strcmp(status, "ok") == 0 ? APD_LVL_INFO :
	    strcmp(status, "skipped") == 0 ? APD_LVL_WARNING : APD_LVL_ERROR;
	ev.provider = APD_SV_LIT("apdiag-netcheck");
	ev.component = apd_sv_cstr(check);
	snprintf(msg, sizeof(msg), "%s %s %s:%lld %s%s%s (%lld ms)%s%s", ep, check,
	    host ? host : "?", port, status, err ? ": " : "", err ? err : "", ms,
	    detail ? "; " : "", detail ? detail : "");
	ev.message = apd_sv_cstr(msg);
	ev.data = apd_sv_cstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	if ((rc = apd_emit_event(ps->sink, &ev)) != APD_OK)
		return rc;
	snprintf(name, sizeof(name), "netcheck.%.120s.%.40s", ep, check);
	return apd_emit_fact(ps->sink, apd_sv_cstr(name), apd_sv_cstr(status));
}

static int
run(struct apd_parse *ps)
{
	struct json_object *doc = NULL, *res, *sum, *v;
	const char *why;
	size_t end, i;
	unsigned warn = 0;
	int rc;

	if ((rc = apd_parse_read_json(ps, &doc, &end, &why)) != APD_OK)
		return rc;
	if (doc == NULL) {
		rc = apd_set_error(ps->err, APD_FAILED, "%s: not valid JSON at byte %zu: %s", ps->path,
		    end, why);
		goto out;
	}
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "results", &res) ||
	    !json_object_is_type(res, json_type_array)) {
		rc = apd_set_error(ps->err, APD_FAILED, "%s: no \"results\" array: not an apdiag "
		    "network check", ps->path);
		goto out;
	}
	rc = APD_OK;
	for (i = 0; i < json_object_array_length(res) && rc == APD_OK; i++)
		rc = result(ps, json_object_array_get_idx(res, i), i, &warn);
	if (rc == APD_OK && json_object_object_get_ex(doc, "summary", &sum)) {
		char num[32];
		if (json_object_object_get_ex(sum, "probes", &v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
			rc = apd_emit_fact(ps->sink, APD_SV_LIT("netcheck.probes"), apd_sv_cstr(num));
		}
		if (rc == APD_OK && json_object_object_get_ex(sum, "failures", &v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
			rc = apd_emit_fact(ps->sink, APD_SV_LIT("netcheck.failures"), apd_sv_cstr(num));
		}
	}
	if (rc == APD_OK && warn)
		rc = APD_WARN;
out:
	json_object_put(doc);
	return rc;
}

/* 8 bits per byte of the fixed opening the writer puts first; -1 otherwise. */
static int
bid(const struct apd_probe *pr)
{
	size_t m = sizeof(MAGIC) - 1;

	if (pr->len >= m && memcmp(pr->head, MAGIC, m) == 0)
		return (int)(8 * m);
	return -1;
}

const struct apd_parser apd_parser_netcheck = {
	.name = "netcheck",       /* name */
	.kind = "netcheck",       /* kind */
	.bid = bid,               /* bid */
	.run = run,               /* run */
	.note = NULL,             /* note */
};
