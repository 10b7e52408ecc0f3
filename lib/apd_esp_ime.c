/*
 * apd_esp_ime.c - reads the IME logs for the deployment model.
 *
 * The lines are found through the full-text index: one FTS5 query per entry
 * of apd_ime_lines.txt marks candidate rows with the entry's bit, and only
 * those entries' regexes run on a candidate.  Candidates are read in event
 * id order, which is each log's own order, so a line without an app id
 * ("lpExitCode 1603") belongs to the app last named on the same thread of
 * the same log.
 */
#include "apd_esp_int.h"

#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
	struct when t;
	int64_t source;
	const char *thread;
};

static struct tctx *
thread_ctx(struct esp_ctx *c, const struct row *r)
{
	struct tctx *x;
	size_t i;

	/* rows come log by log: the latest entries answer almost every call */
	for (i = c->tctx.n; i-- > 0; ) {
		x = VEC_AT(c->tctx, struct tctx, i);
		if (x->source != r->source)
			break;
		if (strcmp(x->thread, r->thread) == 0)
			return x;
	}
	x = esp_vec_push(c, &c->tctx);
	if (x == NULL)
		return NULL;
	x->source = r->source;
	snprintf(x->thread, sizeof(x->thread), "%s", r->thread);
	x->app = -1;
	x->script = -1;
	return x;
}

static int
app_of(struct esp_ctx *c, const struct apd_esp_match *m, const struct row *r, bool set_ctx)
{
	struct tctx *x = thread_ctx(c, r);
	int i;

	if (m->f[ESPF_APP].p == NULL)
		return x ? x->app : -1;
	i = esp_app_get(c, m->f[ESPF_APP].p, m->f[ESPF_APP].n, AK_WIN32);
	if (i >= 0 && x && set_ctx)
		x->app = i;
	if (i >= 0 && m->f[ESPF_REV].p) {
		int64_t rev;
		if (esp_parse_i64(m->f[ESPF_REV], &rev) && rev > esp_app(c, i)->rev)
			esp_app(c, i)->rev = (int)rev;
	}
	return i;
}

static const char *
intent_name(struct apd_sv v)
{
	static const struct { const char *text, *name; } map[] = {
		{ "RequiredUninstall", "uninstall" }, { "RequiredInstall", "required" },
		{ "Required", "required" }, { "AvailableInstall", "available" },
		{ "Available", "available" }, { "NotTargeted", "not-targeted" },
	};
	size_t i;

	for (i = 0; v.p && i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].text) == v.n && memcmp(map[i].text, v.p, v.n) == 0)
			return map[i].name;
	return NULL;
}

static const char *
intent_code(int64_t i)
{
	switch (i) {
	case 0: return "not-targeted";
	case 1: return "available";
	case 3: return "required";
	case 4: return "uninstall";
	default: return NULL;
	}
}

/* A JSON document at v (json-c), or NULL. */
static struct json_object *
parse_json(struct apd_sv v)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (v.p == NULL || v.n > (size_t)INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, v.p, (int)v.n);
	json_tokener_free(tok);
	return o;
}

static bool
jint(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return false;
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		*out = json_object_get_int64(v);
		return true;
	}
	return false;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The NewValue of a ReportingManager delta member ({"X":{"OldValue":..,"NewValue":..}}). */
static struct json_object *
new_value(struct json_object *o, const char *member)
{
	struct json_object *m, *v;

	if (!json_object_object_get_ex(o, member, &m) || !json_object_is_type(m, json_type_object) ||
	    !json_object_object_get_ex(m, "NewValue", &v))
		return NULL;
	return v;
}

/* Call fn on each object of a "Get policies = [...]" array; anything else is ignored. */
static void
each_policy(struct esp_ctx *c, struct apd_sv json,
    void (*fn)(struct esp_ctx *c, struct json_object *p))
{
	struct json_object *arr = parse_json(json);
	size_t i, n;

	if (arr != NULL && json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++)
			fn(c, json_object_array_get_idx(arr, i));
	}
	json_object_put(arr);
}

/* Get policies = [{"Id":..,"Name":..,"Version":..,"Intent":..,"TargetType":..}, ...] */
static void
policy_app(struct esp_ctx *c, struct json_object *p)
{
	const char *id = jstr(p, "Id"), *name = jstr(p, "Name");
	int64_t v;
	int k;

	if (id == NULL || strlen(id) != 36 || (k = esp_app_get(c, id, 36, AK_WIN32)) < 0)
		return;
	if (name)
		esp_app_name(c, k, apd_sv_cstr(name), 5, "IME policy (Get policies)");
	if (jint(p, "Version", &v) && v > esp_app(c, k)->rev)
		esp_app(c, k)->rev = (int)v;
	if (jint(p, "Intent", &v) && intent_code(v))
		esp_app(c, k)->intent = intent_code(v);
	if (jint(p, "TargetType", &v) && v >= 1 && v <= 3)
		esp_app(c, k)->target |= (unsigned)v;
}

/* [HS] Get policies = [...]: remediation names. */
static void
policy_remediation(struct esp_ctx *c, struct json_object *p)
{
	const char *id = jstr(p, "PolicyId") ? jstr(p, "PolicyId") : jstr(p, "Id");
	const char *name = jstr(p, "PolicyName") ? jstr(p, "PolicyName") : jstr(p, "Name");
	int k;

	if (id == NULL || strlen(id) != 36 || (k = esp_script_get(c, id, 36, "remediation")) < 0)
		return;
	if (name && esp_script(c, k)->name == NULL)
		esp_script(c, k)->name = esp_strndup(c, name, strlen(name));
}

static void
ev(struct esp_ctx *c, int app, const struct row *r, const char *kind, bool has_value,
    int64_t value, const char *detail)
{
	esp_app_event(c, app, &r->t, true, kind, has_value, value, detail, 0);
}

/*
 * A poll of an app's ESP tracking state (IME checks every few minutes).  The
 * latest poll is kept on the app; app_event gets a state the first time it is
 * polled, and polls that repeat what IME last logged add nothing.
 */
static void
poll(struct esp_ctx *c, int a, const struct row *r, int state, const char *detail)
{
	static const char *const st[] = { "", "NotInstalled", "InProgress", "Completed", "Error" };
	struct app *x = esp_app(c, a);
	bool ok;

	if (state < 1 || state > 4)
		return;
	if (!x->has_poll || esp_when_cmp(&r->t, &x->poll_t, &ok) >= 0 || !ok) {
		x->poll_state = state;
		x->poll_t = r->t;
		x->has_poll = true;
	}
	if (state == x->last_track || (x->polls_logged & (1u << state)))
		return;
	x->last_track = state;
	x->polls_logged |= 1u << state;
	ev(c, a, r, "esp-tracking", true, state, detail ? detail : st[state]);
}

/* A detection result; the same result again (each check-in) is not repeated. */
static void
detection(struct esp_ctx *c, int a, const struct row *r, const char *state)
{
	struct app *x = esp_app(c, a);

	if (strcmp(x->last_detection, state) == 0)
		return;
	snprintf(x->last_detection, sizeof(x->last_detection), "%s", state);
	ev(c, a, r, "detection", false, 0, state);
}

/* Dotted versions, numerically: "1.101.1.0" is newer than "1.97.104.0". */
static bool
version_newer(const char *a, const char *b)
{
	while (*a || *b) {
		char *ea, *eb;
		unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
		if (x != y)
			return x > y;
		a = ea;
		b = eb;
		a += *a == '.';
		b += *b == '.';
		if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
			break;
	}
	return false;
}

static void
set_script_start(struct script *s, const struct row *r)
{
	s->start = r->t;
	s->has_start = true;
	s->has_end = false;
	s->runs++;
	s->src |= 1;
}

static void
handle(struct esp_ctx *c, const struct apd_esp_match *m, const struct row *r)
{
	const struct apd_sv *f = m->f;
	int64_t v = 0;
	int a;

	switch (m->kind) {
	case ESPL_ESP_PHASE: {
		int ph = esp_phase_of(f[ESPF_PHASE]);
		struct esp_obs *o;
		if (ph < 0 || ph == PH_DEVPREP)
			break;
		o = esp_vec_push(c, &c->obs);
		if (o) {
			o->t = r->t;
			o->ph = ph;
		}
		break;
	}
	case ESPL_ESP_LOCKIN: {
		const char *p = f[ESPF_IDS].p, *e = p + f[ESPF_IDS].n;
		while (p && p + 36 <= e) {
			if (p[8] == '-' && p[13] == '-' && (a = esp_app_get(c, p, 36, AK_WIN32)) >= 0) {
				if (!esp_app(c, a)->tracked)
					ev(c, a, r, "esp-tracked", false, 0, NULL);
				esp_app(c, a)->tracked = true;
				p += 36;
			} else {
				p++;
			}
		}
		break;
	}
	case ESPL_ESP_TRACKING:
		if ((a = app_of(c, m, r, false)) < 0)
			break;
		esp_app(c, a)->tracked = true;
		if (f[ESPF_TARGET].p && f[ESPF_TARGET].p[0] == 'U') {
			esp_app(c, a)->ime_phase = PH_ACCTSETUP;
			esp_app(c, a)->target |= 1;
		} else {
			if (esp_app(c, a)->ime_phase < 0)
				esp_app(c, a)->ime_phase = PH_DEVSETUP;
			esp_app(c, a)->target |= 2;
		}
		if (esp_parse_i64(f[ESPF_STATE], &v))
			poll(c, a, r, (int)v, NULL);
		break;
	case ESPL_ESP_DEVICE_DONE: {
		size_t i;
		for (i = 0; i < c->apps.n; i++) {
			struct app *x = esp_app(c, (int)i);
			if (x->tracked && x->kind == AK_WIN32 &&
			    (x->ime_phase == PH_DEVSETUP || x->reg_phase == PH_DEVSETUP))
				poll(c, (int)i, r, 3, "Completed (all apps completed for device)");
		}
		break;
	}
	case ESPL_ESP_UPDATE: {
		static const char *const st[] = { "NotInstalled", "InProgress", "Completed", "Error" };
		char detail[64];
		int k;
		if ((a = app_of(c, m, r, false)) < 0)
			break;
		esp_app(c, a)->tracked = true;
		esp_app_name(c, a, f[ESPF_NAME], 4, "IME log");
		snprintf(detail, sizeof(detail), "%.*s", (int)f[ESPF_TO].n, f[ESPF_TO].p);
		for (k = 0; k < 4; k++)   /* a later poll saying the same is no news */
			if (strcmp(detail, st[k]) == 0)
				esp_app(c, a)->last_track = k + 1;
		ev(c, a, r, "esp-state", false, 0, detail);
		break;
	}
	case ESPL_APV2:
		if (f[ESPF_VALUE].p && f[ESPF_VALUE].p[0] == 'T') {
			c->apv2 = true;
			c->apv2_event = r->t.event_id;
		}
		break;
	case ESPL_AGENT_VERSION: {
		char ver[32];
		snprintf(ver, sizeof(ver), "%.*s", (int)f[ESPF_VALUE].n, f[ESPF_VALUE].p);
		if (version_newer(ver, c->ime_version))
			memcpy(c->ime_version, ver, sizeof(ver));
		break;
	}
	case ESPL_POLICIES:
		each_policy(c, f[ESPF_JSON], policy_app);
		break;
	case ESPL_APP_CONTEXT:
		if ((a = app_of(c, m, r, true)) >= 0)
			esp_app_name(c, a, f[ESPF_NAME], 4, "IME log");
		break;
	case ESPL_INTENT:
		if ((a = app_of(c, m, r, true)) >= 0 && intent_name(f[ESPF_INTENT]))
			esp_app(c, a)->intent = intent_name(f[ESPF_INTENT]);
		break;
	case ESPL_DETECTION: {
		char st[24];
		if ((a = app_of(c, m, r, true)) < 0)
			break;
		snprintf(st, sizeof(st), "%.*s", (int)f[ESPF_STATE].n, f[ESPF_STATE].p);
		detection(c, a, r, st);
		break;
	}
	case ESPL_DETECTION_RULE:
		if ((a = app_of(c, m, r, false)) >= 0)
			detection(c, a, r, f[ESPF_VALUE].p[0] == 'T' ? "Detected" : "NotDetected");
		break;
	case ESPL_APPLICABILITY: {
		char st[32];
		if ((a = app_of(c, m, r, true)) < 0)
			break;
		snprintf(st, sizeof(st), "%.*s", (int)f[ESPF_STATE].n, f[ESPF_STATE].p);
		ev(c, a, r, "applicability", false, 0, st);
		break;
	}
	case ESPL_DOWNLOAD_START:
		if ((a = app_of(c, m, r, true)) < 0)
			break;
		esp_app_name(c, a, f[ESPF_NAME], 4, "IME log");
		ev(c, a, r, "download-start", false, 0, NULL);
		break;
	case ESPL_DOWNLOAD_PROGRESS: {
		int64_t total = 0;
		char detail[48];
		if ((a = app_of(c, m, r, true)) < 0)
			break;
		esp_app_name(c, a, f[ESPF_NAME], 4, "IME log");
		if (esp_parse_i64(f[ESPF_TOTAL], &total) && total > 0) {
			esp_app(c, a)->size = total;
			esp_app(c, a)->has_size = true;
		}
		esp_parse_i64(f[ESPF_BYTES], &v);
		snprintf(detail, sizeof(detail), "via %.*s", (int)f[ESPF_VIA].n, f[ESPF_VIA].p);
		ev(c, a, r, "download-progress", true, v, detail);
		break;
	}
	case ESPL_DOWNLOAD_DONE:
		if ((a = app_of(c, m, r, false)) < 0)
			break;
		if (f[ESPF_BYTES].p) {   /* "6,365,195.00" */
			int64_t n = 0;
			size_t i;
			for (i = 0; i < f[ESPF_BYTES].n && f[ESPF_BYTES].p[i] != '.'; i++)
				if (f[ESPF_BYTES].p[i] >= '0' && f[ESPF_BYTES].p[i] <= '9')
					n = n * 10 + (f[ESPF_BYTES].p[i] - '0');
			if (n > 0) {
				esp_app(c, a)->size = n;
				esp_app(c, a)->has_size = true;
			}
			/* older IME writes no start line: the download is the step before */
		}
		ev(c, a, r, "download-end", false, 0, NULL);
		break;
	case ESPL_DO_TELEMETRY: {
		struct json_object *o;
		int64_t peers, http = 0, total = 0, pct;
		char detail[96];
		if ((a = app_of(c, m, r, false)) < 0 || (o = parse_json(f[ESPF_JSON])) == NULL)
			break;
		if (jint(o, "BytesFromPeers", &peers)) {
			if (!jint(o, "TotalBytesDownloaded", &total) || total <= 0) {
				jint(o, "BytesFromHttp", &http);
				total = peers + http;
			}
			if (total > 0) {
				esp_app(c, a)->do_pct = 100.0 * (double)peers / (double)total;
				esp_app(c, a)->has_do = true;
			}
		} else if (jint(o, "PercentPeerCaching", &pct)) {
			esp_app(c, a)->do_pct = (double)pct;
			esp_app(c, a)->has_do = true;
		}
		if (jint(o, "FileSize", &total) && total > 0 && !esp_app(c, a)->has_size) {
			esp_app(c, a)->size = total;
			esp_app(c, a)->has_size = true;
		}
		if (esp_app(c, a)->has_do) {
			snprintf(detail, sizeof(detail), "%.1f%% from peers", esp_app(c, a)->do_pct);
			ev(c, a, r, "do-telemetry", true, (int64_t)(esp_app(c, a)->do_pct + 0.5), detail);
		}
		json_object_put(o);
		break;
	}
	case ESPL_DOWNLOAD_STATE: {
		struct json_object *o, *nv;
		if ((a = app_of(c, m, r, true)) < 0 || (o = parse_json(f[ESPF_JSON])) == NULL)
			break;
		if ((nv = new_value(o, "DownloadState")) && json_object_is_type(nv, json_type_string)) {
			const char *s = json_object_get_string(nv);
			if (strcmp(s, "Completed") == 0)
				ev(c, a, r, "download-end", false, 0, NULL);
			else if (strstr(s, "Error") || strstr(s, "Fail"))
				ev(c, a, r, "download-error", false, 0, s);
		}
		if ((nv = new_value(o, "EnforcementState")) && json_object_is_type(nv, json_type_string)) {
			const char *s = json_object_get_string(nv);
			int code = esp_enforcement_code(apd_sv_cstr(s));
			if (strstr(s, "Download"))
				ev(c, a, r, "download-error", false, 0, s);
			if (code >= 0)
				ev(c, a, r, "enforcement", true, code, s);
		}
		json_object_put(o);
		break;
	}
	case ESPL_DOWNLOAD_ERROR:
		if ((a = app_of(c, m, r, true)) >= 0)
			ev(c, a, r, "download-error", false, 0, NULL);
		break;
	case ESPL_INSTALL_START: {
		char detail[32];
		if ((a = app_of(c, m, r, false)) < 0)
			break;
		esp_app(c, a)->grs_noted = false;
		esp_app(c, a)->last_detection[0] = '\0';   /* the detection after it counts */
		snprintf(detail, sizeof(detail), "%.*s session", (int)f[ESPF_VALUE].n, f[ESPF_VALUE].p);
		ev(c, a, r, "install-start", false, 0, detail);
		break;
	}
	case ESPL_INSTALL_DONE:
		if ((a = app_of(c, m, r, false)) >= 0)
			ev(c, a, r, "install-done", false, 0, NULL);
		break;
	case ESPL_INSTALL_TIMEOUT:
		if ((a = app_of(c, m, r, false)) >= 0)
			ev(c, a, r, "install-timeout", false, 0, NULL);
		break;
	case ESPL_INSTALL_CREATE_FAILED:
		if ((a = app_of(c, m, r, false)) >= 0 && esp_parse_i64(f[ESPF_CODE], &v))
			ev(c, a, r, "install-error", true, v, "the installer could not be started");
		break;
	case ESPL_EXIT_CODE:
		if ((a = app_of(c, m, r, false)) >= 0 && esp_parse_i64(f[ESPF_CODE], &v))
			ev(c, a, r, "exit-code", true, v, NULL);
		break;
	case ESPL_EXIT_CLASS: {
		char cls[24];
		if ((a = app_of(c, m, r, false)) < 0)
			break;
		snprintf(cls, sizeof(cls), "%.*s", (int)f[ESPF_VALUE].n, f[ESPF_VALUE].p);
		ev(c, a, r, "exit-class", false, 0, cls);
		break;
	}
	case ESPL_HRESULT:
		if ((a = app_of(c, m, r, false)) >= 0 && esp_parse_i64(f[ESPF_CODE], &v))
			ev(c, a, r, "hresult", true, (int32_t)v, NULL);
		break;
	case ESPL_ERROR_CODE:
		if ((a = app_of(c, m, r, false)) >= 0 && esp_parse_i64(f[ESPF_CODE], &v))
			ev(c, a, r, "error-code", true, (int32_t)v, NULL);
		if (a >= 0 && f[ESPF_STATE].p) {
			char st[32];
			int code = esp_enforcement_code(f[ESPF_STATE]);
			snprintf(st, sizeof(st), "%.*s", (int)f[ESPF_STATE].n, f[ESPF_STATE].p);
			if (code >= 0)
				ev(c, a, r, "enforcement", true, code, st);
		}
		break;
	case ESPL_ENFORCEMENT_SET: {
		char st[32];
		int code = esp_enforcement_code(f[ESPF_STATE]);
		if ((a = app_of(c, m, r, false)) < 0 || code < 0)
			break;
		snprintf(st, sizeof(st), "%.*s", (int)f[ESPF_STATE].n, f[ESPF_STATE].p);
		ev(c, a, r, "enforcement", true, code, st);
		break;
	}
	case ESPL_ENFORCEMENT: {
		struct json_object *o, *nv;
		if ((a = app_of(c, m, r, true)) < 0 || (o = parse_json(f[ESPF_JSON])) == NULL)
			break;
		if ((nv = new_value(o, "EnforcementState")) && json_object_is_type(nv, json_type_string)) {
			int code = esp_enforcement_code(apd_sv_cstr(json_object_get_string(nv)));
			if (code >= 0)
				ev(c, a, r, "enforcement", true, code, json_object_get_string(nv));
		}
		if ((nv = new_value(o, "ErrorCode")) && json_object_is_type(nv, json_type_int) &&
		    json_object_get_int64(nv) != 0)
			ev(c, a, r, "error-code", true, (int32_t)json_object_get_int64(nv), NULL);
		json_object_put(o);
		break;
	}
	case ESPL_DETECTION_STATE: {
		struct json_object *o, *nv;
		if ((a = app_of(c, m, r, true)) < 0 || (o = parse_json(f[ESPF_JSON])) == NULL)
			break;
		if ((nv = new_value(o, "DetectionState")) && json_object_is_type(nv, json_type_string))
			ev(c, a, r, "detection-state", false, 0, json_object_get_string(nv));
		json_object_put(o);
		break;
	}
	case ESPL_REPORT: {
		struct json_object *o = parse_json(f[ESPF_JSON]);
		const char *id = o ? jstr(o, "ApplicationId") : NULL;
		if (id && strlen(id) == 36 && (a = esp_app_get(c, id, 36, AK_WIN32)) >= 0) {
			if (jint(o, "EnforcementState", &v) && v > 0)
				ev(c, a, r, "enforcement", true, v, "company portal report");
			if (jint(o, "EnforcementErrorCode", &v) && v != 0)
				ev(c, a, r, "error-code", true, (int32_t)v, NULL);
			if (jint(o, "Intent", &v) && intent_code(v) && esp_app(c, a)->intent == NULL)
				esp_app(c, a)->intent = intent_code(v);
		}
		json_object_put(o);
		break;
	}
	case ESPL_GRS:
		if ((a = app_of(c, m, r, false)) >= 0 && !esp_app(c, a)->grs_noted) {
			esp_app(c, a)->grs_noted = true;   /* each check-in repeats it */
			ev(c, a, r, "grs", false, 0, "in GRS (retry later)");
		}
		break;
	case ESPL_UNMAPPED_EXIT:
		if ((a = app_of(c, m, r, false)) >= 0 && esp_parse_i64(f[ESPF_CODE], &v))
			ev(c, a, r, "unmapped-exit", true, v, "exit code not mapped in the app's return codes");
		break;
	case ESPL_RESTART_REQUIRED:
		if ((a = app_of(c, m, r, false)) >= 0)
			ev(c, a, r, "restart-required", false, 0, NULL);
		break;
	case ESPL_PS_POLICY: {
		struct tctx *x = thread_ctx(c, r);
		int s = esp_script_get(c, f[ESPF_SCRIPT].p, f[ESPF_SCRIPT].n, "platform");
		if (s < 0)
			break;
		set_script_start(esp_script(c, s), r);
		if (esp_script(c, s)->user == NULL)
			esp_script(c, s)->user = esp_strndup(c, f[ESPF_USER].p, f[ESPF_USER].n);
		if (x)
			x->script = s;
		break;
	}
	case ESPL_PS_CONTEXT: {
		struct tctx *x = thread_ctx(c, r);
		struct script *s = x && x->script >= 0 ? esp_script(c, x->script) : NULL;
		if (s && s->context == NULL) {
			s->context = esp_strndup(c, f[ESPF_VALUE].p, f[ESPF_VALUE].n);
			if (s->context && s->context[0] >= 'A' && s->context[0] <= 'Z')
				s->context[0] = (char)(s->context[0] + 32);
		}
		break;
	}
	case ESPL_PS_DONE:
	case ESPL_HS_EXIT: {
		struct tctx *x = thread_ctx(c, r);
		struct script *s = x && x->script >= 0 ? esp_script(c, x->script) : NULL;
		if (s && esp_parse_i64(f[ESPF_CODE], &v)) {
			s->exit_code = v;
			s->has_exit = true;
			s->end = r->t;
			s->has_end = true;
		}
		break;
	}
	case ESPL_PS_RESULT: {
		int s = esp_script_get(c, f[ESPF_SCRIPT].p, f[ESPF_SCRIPT].n, "platform");
		if (s < 0)
			break;
		free(esp_script(c, s)->result);
		esp_script(c, s)->result = esp_strndup(c, f[ESPF_RESULT].p, f[ESPF_RESULT].n);
		esp_script(c, s)->src |= 1;
		if (!esp_script(c, s)->has_end) {
			esp_script(c, s)->end = r->t;
			esp_script(c, s)->has_end = true;
		}
		break;
	}
	case ESPL_PS_FAIL: {
		struct tctx *x = thread_ctx(c, r);
		struct script *s = x && x->script >= 0 ? esp_script(c, x->script) : NULL;
		struct json_object *o;
		const char *msg;
		if (s == NULL || (o = parse_json(f[ESPF_JSON])) == NULL)
			break;
		if ((msg = jstr(o, "ExecutionMsg")) && *msg) {
			free(s->error);
			s->error = esp_strndup(c, msg, strlen(msg));
		}
		json_object_put(o);
		break;
	}
	case ESPL_HS_POLICIES:
		each_policy(c, f[ESPF_JSON], policy_remediation);
		break;
	case ESPL_HS_DETECT: {
		struct tctx *x = thread_ctx(c, r);
		int s = esp_script_get(c, f[ESPF_SCRIPT].p, f[ESPF_SCRIPT].n, "remediation");
		if (s < 0)
			break;
		if (!esp_script(c, s)->has_start || esp_script(c, s)->has_end)
			set_script_start(esp_script(c, s), r);
		if (x)
			x->script = s;
		break;
	}
	case ESPL_HS_RESULT: {
		struct json_object *o = parse_json(f[ESPF_JSON]);
		const char *id = o ? jstr(o, "PolicyId") : NULL;
		int s;
		if (id && strlen(id) == 36 && (s = esp_script_get(c, id, 36, "remediation")) >= 0) {
			char res[32];
			if (jint(o, "Result", &v)) {
				snprintf(res, sizeof(res), "%lld", (long long)v);
				free(esp_script(c, s)->result);
				esp_script(c, s)->result = esp_strndup(c, res, strlen(res));
			}
			esp_script(c, s)->src |= 1;
			if (!esp_script(c, s)->has_end) {
				esp_script(c, s)->end = r->t;
				esp_script(c, s)->has_end = true;
			}
		}
		json_object_put(o);
		break;
	}
	case ESPL__N:
		break;
	}
}

/*
 * The IME lines: each entry's regex is tried on the CMTrace rows that may
 * match it.  Those rows come from the full-text thread's watch when the
 * index is being built (fts.watch: the rows holding an entry's anchor
 * token, with their columns, apd_store.c start_fts), else from querying the
 * full-text index with each entry's expression and looking the rows up.
 */
int
esp_ime_scan(struct esp_ctx *c)
{
	sqlite3_stmt *ins = NULL, *q = NULL;
	size_t n = apd_esp_lines_count(c->lines), i;
	int rc = APD_OK;

	bool watch = sqlite3_table_column_metadata(c->db, "fts", "watch", "mask", NULL, NULL, NULL,
	    NULL, NULL) == SQLITE_OK;

	/* where the candidates came from, for whoever wonders (docs/schema.md) */
	if (sqlite3_exec(c->db, watch ? "INSERT OR REPLACE INTO meta VALUES ('model.ime_from', 'watch')" :
	    "INSERT OR REPLACE INTO meta VALUES ('model.ime_from', 'index')", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return esp_fail(c, "meta");
	if (watch) {
		if (sqlite3_prepare_v2(c->db, "SELECT w.id, w.mask, w.source_id, coalesce(w.thread, ''), "
		    "w.ts_utc, w.ts_local, w.message FROM fts.watch w WHERE 1" NOT_DUP("w.source_id")
		    " ORDER BY w.id", -1, &q, NULL) != SQLITE_OK)
			return esp_fail(c, "candidates");
		goto walk;
	}
	if (sqlite3_exec(c->db, "CREATE TEMP TABLE esp_cand(id INTEGER PRIMARY KEY, mask INTEGER "
	    "NOT NULL)", NULL, NULL, NULL) != SQLITE_OK)
		return esp_fail(c, "candidates");
	if (sqlite3_prepare_v2(c->db, "INSERT INTO esp_cand(id, mask) SELECT rowid, ?2 FROM event_fts "
	    "WHERE event_fts MATCH ?1 ON CONFLICT(id) DO UPDATE SET mask = mask | excluded.mask",
	    -1, &ins, NULL) != SQLITE_OK) {
		rc = esp_fail(c, "candidates");
		goto out;
	}
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(ins, 1, apd_esp_lines_fts(c->lines, i), -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (int64_t)((uint64_t)1 << i));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = esp_fail(c, apd_esp_lines_fts(c->lines, i));
			goto out;
		}
		sqlite3_reset(ins);
	}
	/* CROSS JOIN keeps the candidates as the outer loop: walked in rowid order they need no
	 * sort, and each event and source is one rowid lookup (the planner otherwise scans every
	 * cmtrace event through event_source and sorts ~all candidates in a temp file) */
	if (sqlite3_prepare_v2(c->db, "SELECT c.id, c.mask, e.source_id, coalesce(e.thread, ''), "
	    "e.ts_utc, e.ts_local, e.message FROM esp_cand c CROSS JOIN event e ON e.id = c.id "
	    "CROSS JOIN source s ON s.id = e.source_id WHERE s.kind = 'cmtrace' AND e.message IS NOT NULL"
	    NOT_DUP("e.source_id") " ORDER BY c.id", -1, &q, NULL) != SQLITE_OK) {
		rc = esp_fail(c, "candidates");
		goto out;
	}
walk:
	while (c->rc == APD_OK && sqlite3_step(q) == SQLITE_ROW) {
		uint64_t mask = (uint64_t)sqlite3_column_int64(q, 1);
		const char *msg = (const char *)sqlite3_column_text(q, 6);
		size_t len = (size_t)sqlite3_column_bytes(q, 6);
		struct row r;
		bool timed = false;

		r.source = sqlite3_column_int64(q, 2);
		r.thread = (const char *)sqlite3_column_text(q, 3);
		for (i = 0; i < n; i++) {
			struct apd_esp_match m;
			if (!(mask >> i & 1) || !apd_esp_lines_match(c->lines, i, msg, len, &m))
				continue;
			if (!timed) {   /* most candidates match nothing: read the time only now */
				esp_when_row(&r.t, q, 4, 5, sqlite3_column_int64(q, 0));
				timed = true;
			}
			handle(c, &m, &r);
		}
	}
	rc = c->rc;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(q);
	sqlite3_exec(c->db, "DROP TABLE IF EXISTS temp.esp_cand", NULL, NULL, NULL);
	return rc;
}
