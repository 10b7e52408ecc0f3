/*
 * apd_esp.c - the deployment model (apd_esp.h, docs/esp.md).
 *
 * Only apd_esp_derive() is exported.  In order:
 *   1. apps and scripts from the registry (apd_esp_apps.c) and from the IME
 *      logs (apd_esp_ime.c), each app's timeline going to app_event;
 *   2. the markers the event logs give (Shell-Core CXH 62407, ModernDeployment,
 *      DeviceManagement), when EVTX records are in the index;
 *   3. the ESP phases, per flow (technician, user) when the device was
 *      pre-provisioned, from the events, the registry snapshots and
 *      category states, and the IME phase lines, in that precedence;
 *   4. the app rows (their timelines folded), the scripts;
 *   5. the scenario, the profile, the ESP settings, the outcome and the
 *      blocking item: the deployment row.
 */
#include "apd_esp_int.h"
#include "apd_time.h"

#include <inttypes.h>
#include <json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const esp_phase_names[PH__N] = {
	"DevicePreparation", "DeviceSetup", "AccountSetup", "NotInEsp",
};

/* ---- small helpers shared by the model's files ---------------------------- */

void
esp_vec_init(struct vec *v, size_t size)
{
	memset(v, 0, sizeof(*v));
	v->size = size;
}

void *
esp_vec_push(struct esp_ctx *c, struct vec *v)
{
	char *p;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *nv = realloc(v->v, cap * v->size);
		if (nv == NULL) {
			c->rc = apd_set_error(c->err, APD_FATAL, "out of memory");
			return NULL;
		}
		v->v = nv;
		v->cap = cap;
	}
	p = (char *)v->v + v->n++ * v->size;
	memset(p, 0, v->size);
	return p;
}

void
esp_vec_done(struct vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

int
esp_fail(struct esp_ctx *c, const char *what)
{
	if (c->rc == APD_OK)
		c->rc = apd_set_error(c->err, APD_FATAL, "deployment model: %s: %s", what,
		    sqlite3_errmsg(c->db));
	return APD_FATAL;
}

char *
esp_strndup(struct esp_ctx *c, const char *p, size_t n)
{
	char *s;

	if (p == NULL)
		return NULL;
	s = malloc(n + 1);
	if (s == NULL) {
		c->rc = apd_set_error(c->err, APD_FATAL, "out of memory");
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

bool
esp_parse_i64(struct apd_sv v, int64_t *out)
{
	int64_t x = 0;
	size_t i = 0;
	bool neg = false;

	if (v.p == NULL || v.n == 0)
		return false;
	if (v.p[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == v.n)
		return false;
	for (; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || x > (INT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (v.p[i] - '0');
	}
	*out = neg ? -x : x;
	return true;
}

int
esp_phase_of(struct apd_sv name)
{
	int i;

	for (i = 0; i < PH__N; i++)
		if (name.p && strlen(esp_phase_names[i]) == name.n &&
		    strncmp(esp_phase_names[i], name.p, name.n) == 0)
			return i;
	return -1;
}

void
esp_when_row(struct when *w, sqlite3_stmt *s, int col_utc, int col_local, int64_t event_id)
{
	int64_t utc;
	bool has = sqlite3_column_type(s, col_utc) != SQLITE_NULL;

	if (has)
		utc = sqlite3_column_int64(s, col_utc);
	esp_when_from(w, has ? &utc : NULL, (const char *)sqlite3_column_text(s, col_local), event_id);
}

/* A time from its stored columns: UTC (NULL: none), the wall clock as text (NULL: none). */
void
esp_when_from(struct when *w, const int64_t *utc, const char *local, int64_t event_id)
{
	memset(w, 0, sizeof(*w));
	if (utc) {
		w->utc = *utc;
		w->has_utc = true;
	}
	if (local && apd_parse_iso(apd_sv_cstr(local), &w->loc)) {
		w->has_loc = true;
		snprintf(w->local, sizeof(w->local), "%s", local);
	}
	w->event_id = event_id;
}

void
esp_when_utc(struct when *w, int64_t utc)
{
	memset(w, 0, sizeof(*w));
	w->utc = utc;
	w->has_utc = true;
}

bool
esp_when_set(const struct when *w)
{
	return w->has_utc || w->has_loc;
}

int
esp_when_cmp(const struct when *a, const struct when *b, bool *ok)
{
	*ok = true;
	if (a->has_utc && b->has_utc)
		return a->utc < b->utc ? -1 : a->utc > b->utc;
	if (a->has_loc && b->has_loc)
		return a->loc < b->loc ? -1 : a->loc > b->loc;
	*ok = false;
	return 0;
}

bool
esp_when_diff(const struct when *from, const struct when *to, double *secs)
{
	if (from->has_utc && to->has_utc)
		*secs = (double)(to->utc - from->utc) / 1e6;
	else if (from->has_loc && to->has_loc)
		*secs = (double)(to->loc - from->loc) / 1e6;
	else
		return false;
	return true;
}

void
esp_bind_when(sqlite3_stmt *s, int col_utc, int col_local, const struct when *w, bool set)
{
	if (!set || w == NULL)
		return;
	if (w->has_utc)
		sqlite3_bind_int64(s, col_utc, w->utc);
	if (w->local[0])
		sqlite3_bind_text(s, col_local, w->local, -1, SQLITE_TRANSIENT);
}

/* The later instant when (a) has UTC; else the wall clock; d in seconds. */
static struct when
when_add(const struct when *a, double d)
{
	struct when w = *a;
	int64_t us = (int64_t)(d * 1e6);

	w.event_id = 0;
	w.local[0] = '\0';
	if (w.has_utc)
		w.utc += us;
	if (w.has_loc) {
		w.loc += us;
		apd_format_utc(w.local, w.loc);   /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
		w.local[10] = ' ';
		w.local[26] = '\0';
	}
	return w;
}

/* ---- the model's inputs that only this file reads ----------------------------- */

enum evx_type {
	EV_CAT_START, EV_CAT_OK, EV_CAT_FAIL, EV_PAGE_EXIT, EV_WG_MODE, EV_WG_OK, EV_WG_FAIL,
	EV_ESP_FAIL, EV_ESP_TIMEOUT, EV_SUBCAT_FAIL, EV_WG_POLICY, EV_HYBRID_ODJ, EV_ENROLLED
};

struct evx {
	struct when t;
	enum evx_type type;
	int ph;                      /* for category events, else -1 */
	char detail[96];
};

struct snap {
	struct when t;
	bool user, sidecar;
	int total, done, errors;
};

struct catstat {
	bool present;
	const char *outcome;         /* succeeded, failed, timed-out, in-progress, not-started, unknown */
	char *detail;                /* JSON object: subcategory -> state */
	char failed_sub[96];         /* the first failed (or timed-out) subcategory */
};

struct model {
	struct vec ev;               /* struct evx, in time order */
	struct vec snaps;            /* struct snap */
	struct catstat cat[3];
	int sidecar_state;           /* DevicePreparation\PolicyProviders\Sidecar InstallationState */
	int64_t sidecar_error;
	int prov_done_device;        /* Device\Setup\HasProvisioningCompleted: -1 unknown */
	int prov_done_user;
	int timeout_min;             /* 0 unknown */
	bool device_page_off, user_page_off;
	struct when collected;
	bool has_collected;
	struct vec pending;          /* char *: expected policies still 0 in their last snapshot */
};

struct window {
	bool has_lo, has_hi;
	int64_t lo, hi;              /* UTC */
};

static bool
in_window(const struct window *w, const struct when *t)
{
	if (!w->has_lo && !w->has_hi)
		return true;
	if (!t->has_utc)
		return false;
	return (!w->has_lo || t->utc >= w->lo) && (!w->has_hi || t->utc < w->hi);
}

static char *
q1s(struct esp_ctx *c, const char *sql, const char *arg)
{
	sqlite3_stmt *s;
	char *r = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
		esp_fail(c, "query");
		return NULL;
	}
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		r = esp_strndup(c, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_finalize(s);
	return r;
}

/* A registry value below HKLM as text (NULL if absent). */
static char *
reg_text(struct esp_ctx *c, const char *key, const char *name)
{
	sqlite3_stmt *s;
	char *r = NULL;

	if (sqlite3_prepare_v2(c->db, "SELECT CAST(value AS TEXT) FROM reg_value WHERE hive = 'HKLM' "
	    "AND key = ?1 AND name = ?2 ORDER BY id LIMIT 1", -1, &s, NULL) != SQLITE_OK) {
		esp_fail(c, "registry");
		return NULL;
	}
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		r = esp_strndup(c, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
	sqlite3_finalize(s);
	return r;
}

static bool
reg_int(struct esp_ctx *c, const char *key, const char *name, int64_t *out)
{
	char *t = reg_text(c, key, name);
	bool ok = t && esp_parse_i64(apd_sv_cstr(t), out);

	free(t);
	return ok;
}

static bool
reg_key_exists(struct esp_ctx *c, const char *like)
{
	char *t = q1s(c, "SELECT 1 FROM reg_key WHERE hive = 'HKLM' AND key LIKE ?1 LIMIT 1", like);
	bool r = t != NULL;

	free(t);
	return r;
}

static char *
fact(struct esp_ctx *c, const char *name)
{
	return q1s(c, "SELECT value FROM fact WHERE name = ?1 ORDER BY rowid LIMIT 1", name);
}

#define AP_KEY  "SOFTWARE\\Microsoft\\Provisioning\\Diagnostics\\Autopilot"
#define APS_KEY "SOFTWARE\\Microsoft\\Provisioning\\AutopilotSettings"
#define EST_KEY "SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking"

/* ---- registry inputs of the phases ------------------------------------------------ */

static void
catstat_parse(struct catstat *cs, const char *txt)
{
	struct json_object *o = txt ? json_tokener_parse(txt) : NULL, *v, *subs = NULL, *out;
	const char *state = NULL;
	bool any_failed = false, any_timeout = false, all_ok = true, any = false;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	cs->present = true;
	out = json_object_new_object();
	if (json_object_object_get_ex(o, "subcategoryStates", &v) &&
	    json_object_is_type(v, json_type_object))
		subs = v;
	{
		struct json_object_iterator it, end;
		struct json_object *src = subs ? subs : o;
		it = json_object_iter_begin(src);
		end = json_object_iter_end(src);
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *k = json_object_iter_peek_name(&it);
			struct json_object *val = json_object_iter_peek_value(&it), *sv;
			const char *st = NULL;
			if (!subs && strstr(k, "Subcategory") == NULL)
				continue;
			if (json_object_is_type(val, json_type_string))
				st = json_object_get_string(val);
			else if (json_object_is_type(val, json_type_object) &&
			    json_object_object_get_ex(val, "subcategoryState", &sv))
				st = json_object_get_string(sv);
			if (st == NULL)
				continue;
			any = true;
			json_object_object_add(out, k, json_object_new_string(st));
			if (strcasecmp(st, "succeeded") != 0)
				all_ok = false;
			if ((strcasecmp(st, "failed") == 0 || strcasecmp(st, "timedOut") == 0) &&
			    cs->failed_sub[0] == '\0')
				snprintf(cs->failed_sub, sizeof(cs->failed_sub), "%s", k);
			any_failed |= strcasecmp(st, "failed") == 0;
			any_timeout |= strcasecmp(st, "timedOut") == 0;
		}
	}
	if (json_object_object_get_ex(o, "categorySucceeded", &v) &&
	    json_object_is_type(v, json_type_boolean))
		state = json_object_get_boolean(v) ? "succeeded" : "failed";
	else if (json_object_object_get_ex(o, "categoryState", &v))
		state = json_object_get_string(v);
	if (state == NULL)
		cs->outcome = !any ? "unknown" : any_timeout ? "timed-out" : any_failed ? "failed" :
		    all_ok ? "succeeded" : "in-progress";
	else if (strcasecmp(state, "succeeded") == 0)
		cs->outcome = "succeeded";
	else if (strcasecmp(state, "failed") == 0)
		cs->outcome = any_timeout ? "timed-out" : "failed";
	else if (strcasecmp(state, "timedOut") == 0)
		cs->outcome = "timed-out";
	else if (strcasecmp(state, "notStarted") == 0)
		cs->outcome = "not-started";
	else if (strcasecmp(state, "inProgress") == 0)
		cs->outcome = "in-progress";
	else
		cs->outcome = "unknown";
	{
		const char *js = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
		cs->detail = js ? strdup(js) : NULL;
	}
	json_object_put(out);
	json_object_put(o);
}

static int
phase_registry(struct esp_ctx *c, struct model *M)
{
	static const char *const cats[3] = { "DevicePreparationCategory.Status",
		"DeviceSetupCategory.Status", "AccountSetupCategory.Status" };
	sqlite3_stmt *s;
	int64_t v;
	int i;
	char *t;

	for (i = 0; i < 3; i++) {
		t = reg_text(c, APS_KEY, cats[i]);
		catstat_parse(&M->cat[i], t);
		free(t);
	}
	M->prov_done_device = reg_int(c, EST_KEY "\\Device\\Setup", "HasProvisioningCompleted", &v) ?
	    (v == 1) : -1;
	if (reg_int(c, EST_KEY "\\Device\\DevicePreparation\\PolicyProviders\\Sidecar",
	    "InstallationState", &v))
		M->sidecar_state = (int)v;
	if (reg_int(c, EST_KEY "\\Device\\DevicePreparation\\PolicyProviders\\Sidecar", "LastError", &v))
		M->sidecar_error = (int32_t)v;
	t = q1s(c, "SELECT CAST(value AS TEXT) FROM reg_value WHERE hive = 'HKLM' AND key LIKE "
	    "'" EST_KEY "\\S-%\\Setup' AND name = 'HasProvisioningCompleted' ORDER BY id DESC LIMIT 1",
	    NULL);
	M->prov_done_user = t ? atoi(t) == 1 : -1;
	free(t);

	/* the ESP tracking snapshots, one per subkey */
	if (sqlite3_prepare_v2(c->db, "SELECT k.key, count(*), sum(v.value = 3), sum(v.value = 4), "
	    "sum(v.name LIKE './User/%'), sum(v.value = 0) "
	    "FROM reg_key k CROSS JOIN reg_val v ON v.key_id = k.id "
	    "WHERE k.hive = 'HKLM' AND k.key LIKE '" EST_KEY "\\ESPTrackingInfo\\Diagnostics\\%' "
	    "AND v.name IS NOT NULL AND v.name <> ''" NOT_DUP("v.source_id") " GROUP BY k.id", -1, &s,
	    NULL) != SQLITE_OK)
		return esp_fail(c, "snapshots");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(s, 0);
		const char *last = strrchr(key, '\\'), *p;
		char cat[64] = "";
		int nseg = 0;
		int64_t ts;
		struct snap *sn;

		if (last == NULL || !apd_parse_iso(apd_sv_cstr(last + 1), &ts) ||
		    last[strlen(last) - 1] != 'Z')
			continue;
		p = strstr(key, "\\Diagnostics\\");
		if (p == NULL)
			continue;
		for (p += 13; *p; p++)
			nseg += *p == '\\';
		{   /* the category is the segment before the timestamp */
			const char *e = last, *b = last - 1;
			while (b > key && *b != '\\')
				b--;
			snprintf(cat, sizeof(cat), "%.*s", (int)(e - b - 1), b + 1);
		}
		sn = esp_vec_push(c, &M->snaps);
		if (sn == NULL)
			break;
		esp_when_utc(&sn->t, ts);
		sn->user = nseg >= 2 || sqlite3_column_int(s, 4) > 0;
		sn->sidecar = strcasecmp(cat, "Sidecar") == 0;
		sn->total = sqlite3_column_int(s, 1);
		sn->done = sqlite3_column_int(s, 2);
		sn->errors = sqlite3_column_int(s, 3);
	}
	sqlite3_finalize(s);

	/* expected policies whose last snapshot still says 0 */
	if (sqlite3_prepare_v2(c->db, "SELECT v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND k.key LIKE '" EST_KEY
	    "\\ESPTrackingInfo\\Diagnostics\\%Expected%' AND k.key NOT LIKE '%AppPackages%' "
	    "AND v.name IS NOT NULL AND v.name <> ''" NOT_DUP("v.source_id") " ORDER BY k.key DESC",
	    -1, &s, NULL) != SQLITE_OK)
		return esp_fail(c, "expected policies");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		char **slot;
		size_t k;
		bool seen = false;
		for (k = 0; k < M->pending.n; k++)
			seen |= strcmp(*VEC_AT(M->pending, char *, k), name) == 0;
		if (seen || sqlite3_column_int64(s, 1) != 0)
			continue;
		if ((slot = esp_vec_push(c, &M->pending)) != NULL)
			*slot = esp_strndup(c, name, strlen(name));
	}
	sqlite3_finalize(s);

	/* ESP settings (the MS DM Server enrollment's FirstSync, docs/facts.md) */
	if ((t = fact(c, "esp.SyncFailureTimeout")) != NULL)
		M->timeout_min = atoi(t);
	free(t);
	if ((t = fact(c, "esp.SkipDeviceStatusPage")) != NULL)
		M->device_page_off = strcmp(t, "0") != 0;
	free(t);
	if ((t = fact(c, "esp.SkipUserStatusPage")) != NULL)
		M->user_page_off = strcmp(t, "0") != 0;
	free(t);
	/* when the bundle was collected */
	t = q1s(c, "SELECT value FROM fact WHERE name IN ('footprint.start', 'mdmdiag.report_time', "
	    "'intune.collected_at') ORDER BY rowid LIMIT 1", NULL);
	if (t && apd_parse_iso(apd_sv_cstr(t), &M->collected.utc)) {
		M->collected.has_utc = true;
		M->has_collected = true;
	}
	free(t);
	return c->rc;
}

/* ---- event-log markers --------------------------------------------------------- */

static int
cat_phase(const char *text)
{
	const char *a = strstr(text, "DevicePreparation"), *b = strstr(text, "DeviceSetup"),
	    *d = strstr(text, "AccountSetup");

	if (a && (!b || a < b) && (!d || a < d))
		return PH_DEVPREP;
	if (b && (!d || b < d))
		return PH_DEVSETUP;
	return d ? PH_ACCTSETUP : -1;
}

static int
evtx_scan(struct esp_ctx *c, struct model *M)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(c->db, "SELECT e.id, e.ts_utc, e.ts_local, e.event_id, "
	    "coalesce(e.provider, '') || ' ' || coalesce(e.channel, ''), "
	    "coalesce(e.message, '') || ' ' || coalesce(e.data, '') FROM event e "
	    "WHERE e.event_id IN (62407, 509, 296, 297, 298, 299, 72, 75, 107)" NOT_DUP("e.source_id")
	    " ORDER BY e.ts_utc, e.id", -1, &s, NULL) != SQLITE_OK)
		return esp_fail(c, "event logs");
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *prov = (const char *)sqlite3_column_text(s, 4);
		const char *text = (const char *)sqlite3_column_text(s, 5);
		int id = sqlite3_column_int(s, 3), type = -1, ph = -1;
		struct evx *x;
		char detail[96] = "";

		if (strstr(prov, "Shell-Core") && id == 62407) {
			if (strstr(text, "CommercialOOBE_ESPProgress_Category_Started"))
				type = EV_CAT_START;
			else if (strstr(text, "CommercialOOBE_ESPProgress_Category_Success"))
				type = EV_CAT_OK;
			else if (strstr(text, "CommercialOOBE_ESPProgress_Category_Failed"))
				type = EV_CAT_FAIL;
			else if (strstr(text, "CommercialOOBE_ESPProgress_Page_Exiting"))
				type = EV_PAGE_EXIT;
			else if (strstr(text, "CommercialOOBE_ESPProgress_WhiteGloveMode_True"))
				type = EV_WG_MODE;
			else if (strstr(text, "CommercialOOBE_ESPProgress_WhiteGlove_Success"))
				type = EV_WG_OK;
			else if (strstr(text, "CommercialOOBE_ESPProgress_WhiteGlove_Failed"))
				type = EV_WG_FAIL;
			else if (strstr(text, "CommercialOOBE_ESPProgress_Timeout"))
				type = EV_ESP_TIMEOUT;
			else if (strstr(text, "CommercialOOBE_ESPProgress_Failure"))
				type = EV_ESP_FAIL;
			else if (strstr(text, "SubcategoryProcessing_Failed")) {
				const char *p = strstr(text, "Subcategory ID = ");
				type = EV_SUBCAT_FAIL;
				if (p) {
					p += 17;
					snprintf(detail, sizeof(detail), "%.*s", (int)strcspn(p, "; \"'"), p);
				}
			}
			if (type == EV_CAT_START || type == EV_CAT_OK || type == EV_CAT_FAIL) {
				ph = cat_phase(text);
				if (ph < 0)
					continue;
			}
		} else if (strstr(prov, "ModernDeployment") && id == 509) {
			type = EV_WG_POLICY;
		} else if (strstr(prov, "ModernDeployment") && id >= 296 && id <= 299) {
			/* tracked app events: Win32App_<guid>_<rev> in the insertion strings */
			const char *p = strstr(text, "Win32App_");
			struct when t;
			int a;
			static const int st[] = { 3, 2, 4, 0 };   /* 296 done, 297 start, 298 error, 299 reboot */
			if (p == NULL || strlen(p) < 45)
				continue;
			if ((a = esp_app_get(c, p + 9, 36, AK_WIN32)) < 0)
				break;
			esp_app(c, a)->tracked = true;
			esp_when_row(&t, s, 1, 2, sqlite3_column_int64(s, 0));
			if (st[id - 296])
				esp_app_event(c, a, &t, true, "esp-state", true, st[id - 296],
				    id == 296 ? "Completed" : id == 297 ? "InProgress" : "Error", 0);
			else
				esp_app_event(c, a, &t, true, "restart-required", false, 0, NULL, 0);
			continue;
		} else if (strstr(prov, "DeviceManagement-Enterprise") && (id == 72 || id == 75)) {
			type = EV_ENROLLED;
		} else if (strstr(prov, "DeviceManagement-Enterprise") && id == 107) {
			type = EV_HYBRID_ODJ;
		}
		if (type < 0 || (x = esp_vec_push(c, &M->ev)) == NULL)
			continue;
		esp_when_row(&x->t, s, 1, 2, sqlite3_column_int64(s, 0));
		x->type = (enum evx_type)type;
		x->ph = ph;
		snprintf(x->detail, sizeof(x->detail), "%s", detail);
	}
	sqlite3_finalize(s);
	return c->rc;
}

static const struct evx *
first_ev(const struct model *M, const struct window *w, enum evx_type type, int ph,
    const struct when *after)
{
	size_t i;

	for (i = 0; i < M->ev.n; i++) {
		const struct evx *x = VEC_AT(M->ev, struct evx, i);
		bool ok;
		if (x->type != type || (ph >= 0 && x->ph != ph) || !in_window(w, &x->t))
			continue;
		if (after && esp_when_cmp(&x->t, after, &ok) < 0 && ok)
			continue;
		return x;
	}
	return NULL;
}

/* ---- the phases ------------------------------------------------------------- */

struct pick {
	struct when t;
	const char *src;
	bool set;
	int rank;          /* lower wins over any UTC/local rule */
};

/* Offer a candidate instant; the earliest (latest) wins, UTC over wall clock. */
static void
offer(struct pick *p, const struct when *t, const char *src, bool latest)
{
	bool ok;
	int cmp;

	if (t == NULL || !esp_when_set(t))
		return;
	if (!p->set) {
		p->t = *t;
		p->src = src;
		p->set = true;
		return;
	}
	if (t->has_utc && !p->t.has_utc) {
		p->t = *t;
		p->src = src;
		return;
	}
	if (!t->has_utc && p->t.has_utc)
		return;
	cmp = esp_when_cmp(t, &p->t, &ok);
	if (ok && (latest ? cmp > 0 : cmp < 0)) {
		p->t = *t;
		p->src = src;
	}
}

/* The first IME phase observation of ph (at or after `after`) in the window. */
static const struct esp_obs *
first_obs(struct esp_ctx *c, const struct window *w, int ph, const struct when *after)
{
	size_t i;

	for (i = 0; i < c->obs.n; i++) {
		const struct esp_obs *o = VEC_AT(c->obs, struct esp_obs, i);
		bool ok;
		int cmp;
		if (o->ph != ph || !in_window(w, &o->t))
			continue;
		if (after) {
			cmp = esp_when_cmp(&o->t, after, &ok);
			if (!ok || cmp < 0)
				continue;
		}
		return o;
	}
	return NULL;
}

/* The earliest ESP-state Error of an app that belongs to ph. */
static int
error_time(struct esp_ctx *c, const struct window *w, int ph, struct pick *p)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(c->db, "SELECT app_id, ts_utc, ts_local, event_id FROM app_event "
	    "WHERE kind = 'esp-state' AND (detail = 'Error' OR value = 4) "
	    "AND (ts_utc IS NOT NULL OR ts_local IS NOT NULL)", -1, &s, NULL) != SQLITE_OK)
		return esp_fail(c, "errors");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		int a = esp_app_get(c, id, strlen(id), AK_WIN32), aph;
		struct when t;

		if (a < 0)
			break;
		aph = esp_app(c, a)->reg_phase >= 0 ? esp_app(c, a)->reg_phase : esp_app(c, a)->ime_phase;
		if (aph < 0)
			aph = esp_app(c, a)->target == 1 ? PH_ACCTSETUP : PH_DEVSETUP;
		if (aph != ph)
			continue;
		esp_when_row(&t, s, 1, 2, sqlite3_column_int64(s, 3));
		if (in_window(w, &t))
			offer(p, &t, t.event_id ? "app Error in the logs" : "ESP tracking snapshot with Error",
			    false);
	}
	sqlite3_finalize(s);
	return c->rc;
}

static void
set_outcome(struct phase_row *r, const char *outcome, const char *src)
{
	if (r->outcome == NULL) {
		r->outcome = outcome;
		r->outcome_src = src;
	}
}

static void
compute_phase(struct esp_ctx *c, struct model *M, const struct window *w, bool last, bool technician,
    struct phase_row *r, const struct phase_row *prev)
{
	const int ph = r->ph;
	struct pick start = { 0 }, end = { 0 };
	const struct evx *x;
	const struct esp_obs *o;
	size_t i;

	/* start */
	if ((x = first_ev(M, w, EV_CAT_START, ph, NULL)) != NULL) {
		start.t = x->t;
		start.src = "Shell-Core 62407 Category_Started";
		start.set = true;
	} else if (ph != PH_DEVPREP) {
		for (i = 0; i < M->snaps.n; i++) {
			const struct snap *sn = VEC_AT(M->snaps, struct snap, i);
			if (sn->user == (ph == PH_ACCTSETUP) && in_window(w, &sn->t))
				offer(&start, &sn->t, "first ESPTrackingInfo snapshot", false);
		}
		/* IME reports AccountSetup from the device session on, before anyone signs
		   in; the user's first snapshot is written once the user is there */
		if ((o = first_obs(c, w, ph, NULL)) != NULL && (ph == PH_DEVSETUP || !start.set))
			offer(&start, &o->t, "IME CheckEspPhase", false);
	}

	/* outcome */
	if ((x = first_ev(M, w, EV_CAT_OK, ph, NULL)) != NULL)
		set_outcome(r, "succeeded", "Shell-Core 62407 Category_Success");
	else if ((x = first_ev(M, w, EV_CAT_FAIL, ph, NULL)) != NULL)
		set_outcome(r, "failed", "Shell-Core 62407 Category_Failed");
	if (last && M->cat[ph].present && strcmp(M->cat[ph].outcome, "unknown") != 0)
		set_outcome(r, M->cat[ph].outcome, ph == PH_DEVPREP ?
		    "registry DevicePreparationCategory.Status" : ph == PH_DEVSETUP ?
		    "registry DeviceSetupCategory.Status" : "registry AccountSetupCategory.Status");
	if (technician && (ph == PH_DEVPREP || ph == PH_DEVSETUP)) {
		if (first_ev(M, w, EV_WG_OK, -1, NULL))
			set_outcome(r, "succeeded", "Shell-Core 62407 WhiteGlove_Success");
		else if (ph == PH_DEVSETUP && first_ev(M, w, EV_WG_FAIL, -1, NULL))
			set_outcome(r, "failed", "Shell-Core 62407 WhiteGlove_Failed");
	}
	if (ph == PH_DEVPREP) {
		if (last && M->sidecar_state == 4)
			set_outcome(r, "failed", "registry PolicyProviders\\Sidecar InstallationState 4");
		else if (last && M->sidecar_state == 3)
			set_outcome(r, "succeeded", "registry PolicyProviders\\Sidecar InstallationState 3");
	} else if (last) {
		bool err = false;
		for (i = 0; i < c->apps.n; i++) {
			const struct app *a = esp_app(c, (int)i);
			int aph = a->reg_phase >= 0 ? a->reg_phase : a->ime_phase;
			if (a->tracked && aph == ph && a->esp_final == 4)
				err = true;
		}
		if (err)
			set_outcome(r, "failed", "registry ESP tracking InstallationState 4");
		if ((ph == PH_DEVSETUP ? M->prov_done_device : M->prov_done_user) == 1)
			set_outcome(r, "succeeded", "registry HasProvisioningCompleted 1");
	}
	if (start.set && ph != PH_DEVPREP) {
		/* a tracked app reached Error (logs, snapshots, events): the ESP stops there, unless
		   IME saw the next phase (or the end of the ESP) after it (a retry got through) */
		const struct esp_obs *next = ph == PH_DEVSETUP ? first_obs(c, w, PH_ACCTSETUP, &start.t)
		    : NULL;
		struct pick err = { 0 };
		bool ok;
		if (next == NULL)
			next = first_obs(c, w, PH_NOTINESP, &start.t);
		error_time(c, w, ph, &err);
		if (err.set && (next == NULL || esp_when_cmp(&next->t, &err.t, &ok) <= 0 || !ok))
			set_outcome(r, "failed", "a tracked app reached Error");
		if (next)
			set_outcome(r, "succeeded", ph == PH_DEVSETUP ? "IME: AccountSetup or NotInEsp next" :
			    "IME: NotInEsp next");
	}
	if (r->outcome == NULL && start.set) {
		double d;
		if (M->timeout_min > 0 && M->has_collected && last &&
		    esp_when_diff(&start.t, &M->collected, &d) && d > M->timeout_min * 60.0)
			set_outcome(r, "timed-out", "still tracking past the ESP timeout when collected");
		else
			set_outcome(r, "in-progress", "started, no end seen");
	}
	if (r->outcome == NULL) {
		if ((ph == PH_ACCTSETUP && M->user_page_off) || (ph != PH_ACCTSETUP && M->device_page_off))
			set_outcome(r, "skipped", "registry FirstSync Skip*StatusPage");
		else if (prev && (strcmp(prev->outcome, "failed") == 0 ||
		    strcmp(prev->outcome, "timed-out") == 0 || strcmp(prev->outcome, "not-started") == 0))
			set_outcome(r, "not-started", "the phase before did not finish");
	}

	/* end */
	if ((x = first_ev(M, w, EV_CAT_OK, ph, NULL)) != NULL ||
	    (x = first_ev(M, w, EV_CAT_FAIL, ph, NULL)) != NULL) {
		end.t = x->t;
		end.src = x->type == EV_CAT_OK ? "Shell-Core 62407 Category_Success" :
		    "Shell-Core 62407 Category_Failed";
		end.set = true;
	} else if (r->outcome && strcmp(r->outcome, "succeeded") == 0 && ph != PH_DEVPREP) {
		for (i = 0; i < M->snaps.n; i++) {   /* the snapshot in which every app completed */
			const struct snap *sn = VEC_AT(M->snaps, struct snap, i);
			if (sn->sidecar && sn->user == (ph == PH_ACCTSETUP) && sn->total > 0 &&
			    sn->done == sn->total && in_window(w, &sn->t)) {
				offer(&end, &sn->t, "ESPTrackingInfo snapshot: all apps completed", false);
			}
		}
		if (start.set) {
			const struct esp_obs *next = ph == PH_DEVSETUP ?
			    first_obs(c, w, PH_ACCTSETUP, &start.t) : NULL;
			if (next == NULL)
				next = first_obs(c, w, PH_NOTINESP, &start.t);
			if (next)
				offer(&end, &next->t, ph == PH_DEVSETUP ? "IME: next phase seen" :
				    "IME: NotInEsp seen", false);
			if ((x = first_ev(M, w, EV_PAGE_EXIT, -1, &start.t)) != NULL)
				offer(&end, &x->t, "Shell-Core 62407 Page_Exiting", false);
		}
		if (technician && (x = first_ev(M, w, EV_WG_OK, -1, NULL)) != NULL)
			offer(&end, &x->t, "Shell-Core 62407 WhiteGlove_Success", false);
	} else if (r->outcome && strcmp(r->outcome, "failed") == 0 && ph != PH_DEVPREP) {
		error_time(c, w, ph, &end);
		for (i = 0; i < M->snaps.n; i++) {
			const struct snap *sn = VEC_AT(M->snaps, struct snap, i);
			if (sn->user == (ph == PH_ACCTSETUP) && sn->errors > 0 && in_window(w, &sn->t))
				offer(&end, &sn->t, "ESPTrackingInfo snapshot with Error", false);
		}
		if ((x = first_ev(M, w, EV_ESP_FAIL, -1, start.set ? &start.t : NULL)) != NULL)
			offer(&end, &x->t, "Shell-Core 62407 ESPProgress_Failure", false);
	} else if (r->outcome && strcmp(r->outcome, "timed-out") == 0 && start.set &&
	    M->timeout_min > 0) {
		end.t = when_add(&start.t, M->timeout_min * 60.0);
		end.src = "start + ESP timeout (SyncFailureTimeout)";
		end.set = true;
		if ((x = first_ev(M, w, EV_ESP_TIMEOUT, -1, &start.t)) != NULL) {
			end.t = x->t;
			end.src = "Shell-Core 62407 ESPProgress_Timeout";
		}
	}
	r->start = start.t;
	r->has_start = start.set;
	r->start_src = start.src;
	r->end = end.t;
	r->has_end = end.set;
	r->end_src = end.src;
	r->timeout_min = ph == PH_DEVPREP ? 0 : M->timeout_min;
	if (last && M->cat[ph].detail)
		r->detail = strdup(M->cat[ph].detail);
}

static void
flow_phases(struct esp_ctx *c, struct model *M, const struct window *w, const char *flow, bool last,
    bool technician, struct vec *out)
{
	struct phase_row *prep, *setup, *acct = NULL;
	size_t base = out->n;

	prep = esp_vec_push(c, out);
	setup = esp_vec_push(c, out);
	if (!technician)
		acct = esp_vec_push(c, out);
	if (c->rc != APD_OK)
		return;
	/* pointers may have moved while pushing */
	prep = VEC_AT(*out, struct phase_row, base);
	setup = VEC_AT(*out, struct phase_row, base + 1);
	if (!technician)
		acct = VEC_AT(*out, struct phase_row, base + 2);
	prep->ph = PH_DEVPREP;
	setup->ph = PH_DEVSETUP;
	prep->flow = setup->flow = flow;
	compute_phase(c, M, w, last, technician, setup, NULL);
	compute_phase(c, M, w, last, technician, prep, NULL);
	/* preparation ends where device setup starts, and succeeded if it started */
	if (prep->outcome == NULL && setup->has_start)
		set_outcome(prep, "succeeded", "DeviceSetup started");
	if (!prep->has_end && setup->has_start && prep->outcome &&
	    strcmp(prep->outcome, "succeeded") == 0) {
		prep->end = setup->start;
		prep->has_end = true;
		prep->end_src = "DeviceSetup start";
	}
	if (prep->outcome == NULL)
		set_outcome(prep, "unknown", NULL);
	if (setup->outcome == NULL && (strcmp(prep->outcome, "failed") == 0 ||
	    strcmp(prep->outcome, "timed-out") == 0))
		set_outcome(setup, "not-started", "DevicePreparation did not finish");
	if (setup->outcome == NULL)
		set_outcome(setup, "unknown", NULL);
	if (acct) {
		acct->ph = PH_ACCTSETUP;
		acct->flow = flow;
		compute_phase(c, M, w, last, false, acct, setup);
		if (acct->outcome == NULL)
			set_outcome(acct, "unknown", NULL);
	}
}

static void
phases_free(struct vec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(VEC_AT(*v, struct phase_row, i)->detail);
	esp_vec_done(v);
}

static int
phases_write(struct esp_ctx *c, struct vec *phases)
{
	sqlite3_stmt *ins, *cnt;
	size_t i;

	if (sqlite3_prepare_v2(c->db, "INSERT INTO esp_phase(phase, flow, start_utc, start_local, "
	    "start_source, end_utc, end_local, end_source, duration_s, outcome, outcome_source, "
	    "timeout_min, apps, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14)", -1, &ins, NULL) != SQLITE_OK)
		return esp_fail(c, "esp_phase");
	if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM app WHERE esp_tracked AND phase = ?1",
	    -1, &cnt, NULL) != SQLITE_OK) {
		sqlite3_finalize(ins);
		return esp_fail(c, "esp_phase");
	}
	for (i = 0; i < phases->n; i++) {
		struct phase_row *r = VEC_AT(*phases, struct phase_row, i);
		double d;

		sqlite3_bind_text(cnt, 1, esp_phase_names[r->ph], -1, SQLITE_STATIC);
		if (sqlite3_step(cnt) == SQLITE_ROW && (r->flow == NULL || i + 3 >= phases->n))
			r->apps = sqlite3_column_int(cnt, 0);
		sqlite3_reset(cnt);
		sqlite3_bind_text(ins, 1, esp_phase_names[r->ph], -1, SQLITE_STATIC);
		if (r->flow)
			sqlite3_bind_text(ins, 2, r->flow, -1, SQLITE_STATIC);
		esp_bind_when(ins, 3, 4, &r->start, r->has_start);
		if (r->has_start)
			sqlite3_bind_text(ins, 5, r->start_src, -1, SQLITE_STATIC);
		esp_bind_when(ins, 6, 7, &r->end, r->has_end);
		if (r->has_end)
			sqlite3_bind_text(ins, 8, r->end_src, -1, SQLITE_STATIC);
		if (r->has_start && r->has_end && esp_when_diff(&r->start, &r->end, &d) && d >= 0)
			sqlite3_bind_double(ins, 9, d);
		sqlite3_bind_text(ins, 10, r->outcome, -1, SQLITE_STATIC);
		if (r->outcome_src)
			sqlite3_bind_text(ins, 11, r->outcome_src, -1, SQLITE_STATIC);
		if (r->timeout_min > 0)
			sqlite3_bind_int(ins, 12, r->timeout_min);
		sqlite3_bind_int(ins, 13, r->apps);
		if (r->detail)
			sqlite3_bind_text(ins, 14, r->detail, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			sqlite3_finalize(ins);
			sqlite3_finalize(cnt);
			return esp_fail(c, "esp_phase");
		}
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(cnt);
	return APD_OK;
}

/* ---- scenario, profile, settings, blocking: the deployment row ---------------- */

struct dep {
	const char *scenario, *flow, *join;
	struct json_object *evidence;          /* array of strings */
	char *tenant_id, *tenant_domain, *profile_name, *profile_src, *name_template, *ztd;
	char *error_reason;
	bool has_oobe, has_forced, has_error, has_download;
	int64_t oobe, forced, error;
	int64_t download_utc;
	const char *esp_outcome;
	struct when esp_start, esp_end;
	bool has_esp_start, has_esp_end;
	const char *b_kind, *b_phase;
	char *b_id, *b_name, *b_reason;
	bool has_b_code;
	int64_t b_code;
};

static void
evidence(struct dep *d, const char *fmt, ...) APD_PRINTF(2, 3);

static void
evidence(struct dep *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_array_add(d->evidence, json_object_new_string(buf));
}

/*
 * A profile field: AutopilotDDSZTDFile.json (fact from a json source), else
 * the registry's Diagnostics\Autopilot, else AutopilotPolicyCache's JSON.
 */
static char *
profile_field(struct esp_ctx *c, const char *field, const char **src)
{
	char name[96], *v;
	sqlite3_stmt *s;

	snprintf(name, sizeof(name), "autopilot.%s", field);
	v = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT f.value, s.path FROM fact f JOIN source s "
	    "ON s.id = f.source_id WHERE f.name = ?1 AND s.kind = 'json' ORDER BY f.rowid LIMIT 1",
	    -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
			v = esp_strndup(c, (const char *)sqlite3_column_text(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0));
			*src = "AutopilotDDSZTDFile.json";
		}
		sqlite3_finalize(s);
	}
	if (v == NULL && (v = reg_text(c, AP_KEY, field)) != NULL)
		*src = "registry Provisioning\\Diagnostics\\Autopilot";
	if (v == NULL) {
		char *js = reg_text(c, "SOFTWARE\\Microsoft\\Provisioning\\AutopilotPolicyCache",
		    "PolicyJsonCache");
		struct json_object *o = js ? json_tokener_parse(js) : NULL, *m;
		if (o && json_object_object_get_ex(o, field, &m) && m &&
		    !json_object_is_type(m, json_type_null)) {
			const char *t = json_object_get_string(m);
			v = esp_strndup(c, t, strlen(t));
			*src = "registry AutopilotPolicyCache";
		}
		json_object_put(o);
		free(js);
	}
	if (v && v[0] == '\0') {
		free(v);
		v = NULL;
	}
	return v;
}

static const struct { unsigned bit; const char *name; } oobe_bits[] = {
	{ 1, "SkipCortanaOptIn" }, { 2, "OobeUserNotLocalAdmin" }, { 4, "SkipExpressSettings" },
	{ 8, "SkipOemRegistration" }, { 16, "SkipEula" }, { 32, "TpmAttestation" },
	{ 64, "AadDeviceAuth" }, { 128, "AadTpmRequired" }, { 256, "SkipWindowsUpgradeUX" },
	{ 512, "EnablePatchDownload" }, { 1024, "SkipKeyboardSelection" },
};

static void
profile(struct esp_ctx *c, struct dep *d)
{
	const char *src = NULL, *s2 = NULL;
	char *t;

	d->tenant_id = profile_field(c, "CloudAssignedTenantId", &s2);
	d->tenant_domain = profile_field(c, "CloudAssignedTenantDomain", &s2);
	d->profile_name = profile_field(c, "DeploymentProfileName", &src);
	if (src)
		d->profile_src = esp_strndup(c, src, strlen(src));
	else if (d->tenant_id)
		d->profile_src = esp_strndup(c, s2, strlen(s2));
	d->name_template = profile_field(c, "CloudAssignedDeviceName", &s2);
	d->ztd = profile_field(c, "ZtdCorrelationId", &s2);
	if ((t = profile_field(c, "CloudAssignedOobeConfig", &s2)) != NULL)
		d->has_oobe = esp_parse_i64(apd_sv_cstr(t), &d->oobe);
	free(t);
	if ((t = profile_field(c, "CloudAssignedForcedEnrollment", &s2)) != NULL)
		d->has_forced = esp_parse_i64(apd_sv_cstr(t), &d->forced);
	free(t);
	if ((t = profile_field(c, "ErrorCode", &s2)) != NULL)
		d->has_error = esp_parse_i64(apd_sv_cstr(t), &d->error);
	free(t);
	d->error_reason = profile_field(c, "ErrorReason", &s2);
	if ((t = profile_field(c, "PolicyDownloadDate", &s2)) != NULL && t[strlen(t) - 1] == 'Z')
		d->has_download = apd_parse_iso(apd_sv_cstr(t), &d->download_utc);
	free(t);
	if (d->tenant_id == NULL && d->profile_name == NULL) {
		/* no profile: the registry's defaults (OOBE config 0, ...) are not one */
		d->has_oobe = d->has_forced = false;
		free(d->name_template);
		free(d->ztd);
		d->name_template = d->ztd = NULL;
	}
}

static void
scenario(struct esp_ctx *c, struct model *M, struct dep *d, bool preprov)
{
	const char *src = NULL;
	char *join = profile_field(c, "CloudAssignedDomainJoinMethod", &src), *t;
	int64_t v;
	bool apv2 = false, enrolled, hybrid_evidence = false;

	if (join) {
		d->join = strcmp(join, "1") == 0 ? "hybrid" : strcmp(join, "0") == 0 ? "entra" : NULL;
		if (d->join)
			evidence(d, "CloudAssignedDomainJoinMethod = %s (%s join) from %s", join,
			    d->join[0] == 'h' ? "hybrid" : "Entra", src);
	}
	free(join);
	if (reg_int(c, "SOFTWARE\\Microsoft\\Provisioning\\OMADM\\SyncML", "ODJApplied", &v) && v) {
		hybrid_evidence = true;
		evidence(d, "registry OMADM\\SyncML\\ODJApplied = %" PRId64 " (offline domain join blob applied)", v);
	}
	if (first_ev(M, &(struct window){ 0 }, EV_HYBRID_ODJ, -1, NULL)) {
		hybrid_evidence = true;
		evidence(d, "DeviceManagement-Enterprise event 107: offline domain join blob applied");
	}
	if (d->join == NULL && hybrid_evidence)
		d->join = "hybrid";
	/* Autopilot device preparation (v2) */
	if ((t = reg_text(c, APS_KEY, "AutopilotDevicePrepHint")) != NULL) {
		apv2 = true;
		evidence(d, "registry AutopilotSettings\\AutopilotDevicePrepHint present");
	}
	free(t);
	if (reg_int(c, APS_KEY "\\DevicePreparation", "PageEnabled", &v) && v == 1) {
		apv2 = true;
		evidence(d, "registry AutopilotSettings\\DevicePreparation\\PageEnabled = 1");
	}
	if (reg_key_exists(c, "SOFTWARE\\Microsoft\\IntuneManagementExtension\\Win32Apps\\ProvisioningProgress")) {
		apv2 = true;
		evidence(d, "registry IntuneManagementExtension\\Win32Apps\\ProvisioningProgress present");
	}
	if (c->apv2) {
		apv2 = true;
		evidence(d, "IME log: the device is in APv2 mode (event %" PRId64 ")", c->apv2_event);
	}
	t = q1s(c, "SELECT value FROM fact WHERE name LIKE 'enrollment.%.ProviderID' AND "
	    "value = 'MS DM Server' LIMIT 1", NULL);
	enrolled = t != NULL || M->timeout_min > 0;
	free(t);
	if (apv2) {
		d->scenario = "device-preparation";
		return;
	}
	if (preprov) {
		d->scenario = "pre-provisioned";
		return;
	}
	if (d->tenant_id || d->profile_name) {
		evidence(d, "Autopilot profile%s%s%s for tenant %s (%s)", d->profile_name ? " \"" : "",
		    d->profile_name ? d->profile_name : "", d->profile_name ? "\"" : "",
		    d->tenant_domain ? d->tenant_domain : d->tenant_id ? d->tenant_id : "?",
		    d->profile_src ? d->profile_src : "?");
		if (d->has_oobe && (d->oobe & 64)) {
			d->scenario = "self-deploying";
			evidence(d, "CloudAssignedOobeConfig %" PRId64 " has AadDeviceAuth (64): the "
			    "device authenticates itself, no user signs in", d->oobe);
		} else if (d->join && strcmp(d->join, "hybrid") == 0) {
			d->scenario = "user-driven-hybrid";
		} else if (d->join) {
			d->scenario = "user-driven-entra";
			if (d->has_oobe)
				evidence(d, "CloudAssignedOobeConfig %" PRId64 " has no AadDeviceAuth (64): a "
				    "user signs in", d->oobe);
		} else {
			d->scenario = "unknown";
			evidence(d, "the join method is not in the evidence");
		}
		return;
	}
	if (d->has_error) {
		evidence(d, "no Autopilot profile: AutopilotDDSZTDFile.json ErrorCode %" PRId64 "%s%s",
		    d->error, d->error_reason ? " " : "", d->error_reason ? d->error_reason : "");
	}
	if (reg_int(c, AP_KEY, "IsAutoPilotDisabled", &v) && v == 1)
		evidence(d, "registry Diagnostics\\Autopilot\\IsAutoPilotDisabled = 1");
	if (enrolled) {
		d->scenario = "esp-only";
		evidence(d, "MDM enrollment with ESP settings (FirstSync) but no Autopilot profile");
		return;
	}
	d->scenario = d->has_error || (reg_int(c, AP_KEY, "IsAutoPilotDisabled", &v) && v == 1) ?
	    "none" : "unknown";
}

/* The app or policy that kept the ESP from finishing (the first phase that did not succeed). */
static void
blocking(struct esp_ctx *c, struct model *M, const struct vec *phases, struct dep *d)
{
	const struct phase_row *bad = NULL;
	sqlite3_stmt *s;
	size_t i;
	char reason[512];

	for (i = 0; i < phases->n && bad == NULL; i++) {
		const struct phase_row *r = VEC_AT(*phases, struct phase_row, i);
		if (strcmp(r->outcome, "failed") == 0 || strcmp(r->outcome, "timed-out") == 0 ||
		    strcmp(r->outcome, "in-progress") == 0)
			bad = r;
	}
	if (bad == NULL)
		return;
	d->b_phase = esp_phase_names[bad->ph];
	if (bad->ph == PH_DEVPREP) {
		if (M->sidecar_state == 4 || strcmp(bad->outcome, "failed") != 0) {
			d->b_kind = "policy-provider";
			d->b_id = esp_strndup(c, "Sidecar", 7);
			d->b_name = esp_strndup(c, "Intune Management Extension (Sidecar policy provider)", 54);
			snprintf(reason, sizeof(reason), "the policy provider %s",
			    M->sidecar_state == 4 ? "failed to install" : "did not finish installing");
			d->b_reason = esp_strndup(c, reason, strlen(reason));
			if (M->sidecar_error) {
				d->b_code = M->sidecar_error;
				d->has_b_code = true;
			}
		}
		return;
	}
	/* a tracked app of that phase: failed first, then timed out, then still installing */
	if (sqlite3_prepare_v2(c->db, "SELECT id, name, outcome, failure, failure_code, esp_state, "
	    "held_esp_s, kind FROM app WHERE esp_tracked AND (phase = ?1 OR phase IS NULL) "
	    "AND outcome IN ('failed', 'timed-out', 'in-progress', 'not-started') "
	    "ORDER BY CASE outcome WHEN 'failed' THEN 0 WHEN 'timed-out' THEN 1 "
	    "WHEN 'in-progress' THEN 2 ELSE 3 END, phase IS NULL, "
	    "coalesce(install_end_utc, install_start_utc), install_end_local, held_esp_s DESC, id",
	    -1, &s, NULL) != SQLITE_OK) {
		esp_fail(c, "blocking");
		return;
	}
	sqlite3_bind_text(s, 1, esp_phase_names[bad->ph], -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *outcome = (const char *)sqlite3_column_text(s, 2);
		const char *failure = (const char *)sqlite3_column_text(s, 3);
		d->b_kind = "app";
		d->b_id = esp_strndup(c, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)
			d->b_name = esp_strndup(c, (const char *)sqlite3_column_text(s, 1),
			    (size_t)sqlite3_column_bytes(s, 1));
		if (failure)
			snprintf(reason, sizeof(reason), "%s", failure);
		else if (strcmp(outcome, "in-progress") == 0)
			snprintf(reason, sizeof(reason), "%s", strcmp(bad->outcome, "timed-out") == 0 ?
			    "still installing when the ESP timed out" : strcmp(bad->outcome, "failed") == 0 ?
			    "still installing when the ESP failed" : "still installing at the end of the logs");
		else
			snprintf(reason, sizeof(reason), "%s", strcmp(outcome, "not-started") == 0 ?
			    "never started" : outcome);
		if (strcmp(bad->outcome, "timed-out") == 0 && bad->timeout_min > 0 &&
		    strcmp(outcome, "failed") != 0) {
			size_t n = strlen(reason);
			snprintf(reason + n, sizeof(reason) - n, "; the ESP timed out after %d min",
			    bad->timeout_min);
		}
		d->b_reason = esp_strndup(c, reason, strlen(reason));
		if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
			d->b_code = sqlite3_column_int64(s, 4);
			d->has_b_code = true;
		}
	}
	sqlite3_finalize(s);
	if (d->b_kind)
		return;
	if (M->pending.n > 0) {
		const char *uri = *VEC_AT(M->pending, char *, 0);
		d->b_kind = "policy";
		d->b_id = esp_strndup(c, uri, strlen(uri));
		snprintf(reason, sizeof(reason), "expected policy not applied in the last ESP snapshot");
		d->b_reason = esp_strndup(c, reason, strlen(reason));
	} else if (M->cat[bad->ph].failed_sub[0]) {
		d->b_kind = "subcategory";
		d->b_id = esp_strndup(c, M->cat[bad->ph].failed_sub, strlen(M->cat[bad->ph].failed_sub));
		snprintf(reason, sizeof(reason), "ESP subcategory %s", bad->outcome);
		d->b_reason = esp_strndup(c, reason, strlen(reason));
	}
}

static void
esp_overall(struct model *M, const struct vec *phases, struct dep *d)
{
	const char *worst = NULL;
	bool any = false, all_ok = true;
	size_t i;

	for (i = 0; i < phases->n; i++) {
		const struct phase_row *r = VEC_AT(*phases, struct phase_row, i);
		const char *o = r->outcome;
		bool ok;
		/* with flows (pre-provisioning) the ESP the user saw is the last flow's */
		if (r->flow && phases->n > 0 &&
		    r->flow != VEC_AT(*phases, struct phase_row, phases->n - 1)->flow)
			continue;
		if (r->has_start || strcmp(o, "unknown") != 0)
			any = true;
		if (strcmp(o, "succeeded") != 0 && strcmp(o, "skipped") != 0)
			all_ok = false;
		if (worst == NULL && (strcmp(o, "failed") == 0 || strcmp(o, "timed-out") == 0 ||
		    strcmp(o, "in-progress") == 0))
			worst = o;
		if (r->has_start && (!d->has_esp_start ||
		    (esp_when_cmp(&r->start, &d->esp_start, &ok) < 0 && ok) ||
		    (r->start.has_utc && !d->esp_start.has_utc))) {
			d->esp_start = r->start;
			d->has_esp_start = true;
		}
		if (r->has_end) {
			d->esp_end = r->end;
			d->has_esp_end = true;
		}
	}
	if (!any && M->timeout_min == 0)
		d->esp_outcome = "not-shown";
	else if (worst)
		d->esp_outcome = worst;
	else if (any && all_ok)
		d->esp_outcome = "succeeded";
	else
		d->esp_outcome = "unknown";
	/* an end only for an ESP that finished */
	if (strcmp(d->esp_outcome, "failed") != 0 && strcmp(d->esp_outcome, "timed-out") != 0 &&
	    strcmp(d->esp_outcome, "succeeded") != 0)
		d->has_esp_end = false;
}

static int
deployment_write(struct esp_ctx *c, struct model *M, struct dep *d)
{
	sqlite3_stmt *s;
	struct json_object *bits = json_object_new_array();
	char hx[16], *t;
	size_t i;
	int64_t v;
	double dur;

	if (sqlite3_prepare_v2(c->db, "INSERT INTO deployment(id, scenario, flow, join_method, evidence, "
	    "tenant_id, tenant_domain, profile_name, profile_source, oobe_config, oobe_config_bits, "
	    "forced_enrollment, device_name_template, ztd_correlation_id, policy_download_utc, "
	    "profile_error, profile_error_reason, esp_device_page, esp_user_page, esp_timeout_min, "
	    "esp_block_flags, esp_allow_reset, esp_allow_retry, esp_allow_continue, esp_outcome, "
	    "esp_start_utc, esp_start_local, esp_end_utc, esp_end_local, esp_duration_s, blocking_kind, "
	    "blocking_id, blocking_name, blocking_phase, blocking_reason, blocking_code, "
	    "blocking_code_hex) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, "
	    "?33, ?34, ?35, ?36)", -1, &s, NULL) != SQLITE_OK) {
		json_object_put(bits);
		return esp_fail(c, "deployment");
	}
	sqlite3_bind_text(s, 1, d->scenario, -1, SQLITE_STATIC);
	if (d->flow)
		sqlite3_bind_text(s, 2, d->flow, -1, SQLITE_STATIC);
	if (d->join)
		sqlite3_bind_text(s, 3, d->join, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, json_object_to_json_string_ext(d->evidence, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE), -1, SQLITE_TRANSIENT);
	if (d->tenant_id)
		sqlite3_bind_text(s, 5, d->tenant_id, -1, SQLITE_STATIC);
	if (d->tenant_domain)
		sqlite3_bind_text(s, 6, d->tenant_domain, -1, SQLITE_STATIC);
	if (d->profile_name)
		sqlite3_bind_text(s, 7, d->profile_name, -1, SQLITE_STATIC);
	if (d->profile_src)
		sqlite3_bind_text(s, 8, d->profile_src, -1, SQLITE_STATIC);
	if (d->has_oobe) {
		sqlite3_bind_int64(s, 9, d->oobe);
		for (i = 0; i < sizeof(oobe_bits) / sizeof(oobe_bits[0]); i++)
			if ((uint64_t)d->oobe & oobe_bits[i].bit)
				json_object_array_add(bits, json_object_new_string(oobe_bits[i].name));
		sqlite3_bind_text(s, 10, json_object_to_json_string_ext(bits, JSON_C_TO_STRING_PLAIN), -1,
		    SQLITE_TRANSIENT);
	}
	if (d->has_forced)
		sqlite3_bind_int64(s, 11, d->forced);
	if (d->name_template)
		sqlite3_bind_text(s, 12, d->name_template, -1, SQLITE_STATIC);
	if (d->ztd)
		sqlite3_bind_text(s, 13, d->ztd, -1, SQLITE_STATIC);
	if (d->has_download)
		sqlite3_bind_int64(s, 14, d->download_utc);
	if (d->has_error)
		sqlite3_bind_int64(s, 15, d->error);
	if (d->error_reason)
		sqlite3_bind_text(s, 16, d->error_reason, -1, SQLITE_STATIC);
	if ((t = fact(c, "esp.SkipDeviceStatusPage")) != NULL)
		sqlite3_bind_int(s, 17, !M->device_page_off);
	free(t);
	if ((t = fact(c, "esp.SkipUserStatusPage")) != NULL)
		sqlite3_bind_int(s, 18, !M->user_page_off);
	free(t);
	if (M->timeout_min > 0)
		sqlite3_bind_int(s, 19, M->timeout_min);
	if ((t = fact(c, "esp.BlockInStatusPage")) != NULL && esp_parse_i64(apd_sv_cstr(t), &v)) {
		sqlite3_bind_int64(s, 20, v);
		sqlite3_bind_int(s, 21, (v & 1) != 0);
		sqlite3_bind_int(s, 22, (v & 2) != 0);
		sqlite3_bind_int(s, 23, (v & 4) != 0);
	}
	free(t);
	sqlite3_bind_text(s, 24, d->esp_outcome, -1, SQLITE_STATIC);
	esp_bind_when(s, 25, 26, &d->esp_start, d->has_esp_start);
	esp_bind_when(s, 27, 28, &d->esp_end, d->has_esp_end);
	if (d->has_esp_start && d->has_esp_end && esp_when_diff(&d->esp_start, &d->esp_end, &dur) &&
	    dur >= 0)
		sqlite3_bind_double(s, 29, dur);
	if (d->b_kind) {
		sqlite3_bind_text(s, 30, d->b_kind, -1, SQLITE_STATIC);
		if (d->b_id)
			sqlite3_bind_text(s, 31, d->b_id, -1, SQLITE_STATIC);
		if (d->b_name)
			sqlite3_bind_text(s, 32, d->b_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 33, d->b_phase, -1, SQLITE_STATIC);
		if (d->b_reason)
			sqlite3_bind_text(s, 34, d->b_reason, -1, SQLITE_STATIC);
		if (d->has_b_code) {
			sqlite3_bind_int64(s, 35, (int32_t)d->b_code);
			snprintf(hx, sizeof(hx), "0x%08" PRIX32, (uint32_t)d->b_code);
			sqlite3_bind_text(s, 36, hx, -1, SQLITE_TRANSIENT);
		}
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		esp_fail(c, "deployment");
	sqlite3_finalize(s);
	json_object_put(bits);
	return c->rc;
}

static void
dep_free(struct dep *d)
{
	json_object_put(d->evidence);
	free(d->tenant_id);
	free(d->tenant_domain);
	free(d->profile_name);
	free(d->profile_src);
	free(d->name_template);
	free(d->ztd);
	free(d->error_reason);
	free(d->b_id);
	free(d->b_name);
	free(d->b_reason);
}

/* A device phase and the account phase hours apart: say so (pre-provisioning shows so). */
static void
gap_note(const struct vec *phases, struct dep *d)
{
	const struct phase_row *setup = NULL, *acct = NULL;
	size_t i;
	double gap;

	for (i = 0; i < phases->n; i++) {
		const struct phase_row *r = VEC_AT(*phases, struct phase_row, i);
		if (r->ph == PH_DEVSETUP)
			setup = r;
		else if (r->ph == PH_ACCTSETUP)
			acct = r;
	}
	if (setup && acct && setup->has_end && acct->has_start &&
	    esp_when_diff(&setup->end, &acct->start, &gap) && gap > 4 * 3600.0)
		evidence(d, "the account setup started %.0f h after the device setup ended: a "
		    "pre-provisioned device (technician flow, then user flow) shows this; the "
		    "Shell-Core and ModernDeployment event logs would confirm it", gap / 3600);
}

static int
obs_cmp(const void *a, const void *b)
{
	const struct esp_obs *x = a, *y = b;
	int64_t p = x->t.has_utc ? x->t.utc : x->t.loc, q = y->t.has_utc ? y->t.utc : y->t.loc;

	if (p != q)
		return p < q ? -1 : 1;
	return x->t.event_id < y->t.event_id ? -1 : x->t.event_id > y->t.event_id;
}

int
apd_esp_derive(sqlite3 *db, struct apd_error *err)
{
	struct esp_ctx c;
	struct model M;
	struct dep d;
	struct vec phases;
	const struct evx *wg_end;
	bool preprov = false;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&M, 0, sizeof(M));
	memset(&d, 0, sizeof(d));
	c.db = db;
	c.err = err;
	esp_vec_init(&c.apps, sizeof(struct app));
	esp_vec_init(&c.scripts, sizeof(struct script));
	esp_vec_init(&c.obs, sizeof(struct esp_obs));
	esp_vec_init(&c.tctx, sizeof(struct tctx));
	esp_vec_init(&c.aev, sizeof(struct esp_aev));
	esp_vec_init(&M.ev, sizeof(struct evx));
	esp_vec_init(&M.snaps, sizeof(struct snap));
	esp_vec_init(&M.pending, sizeof(char *));
	esp_vec_init(&phases, sizeof(struct phase_row));
	M.prov_done_device = M.prov_done_user = -1;
	d.evidence = json_object_new_array();
	if (d.evidence == NULL) {
		c.rc = apd_set_error(err, APD_FATAL, "out of memory");
		goto out;
	}
	if (apd_esp_lines_load(&c.lines, apd_ime_lines_txt, err) != APD_OK) {
		c.rc = APD_FATAL;
		goto out;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO app_event(app_id, ts_utc, ts_local, kind, value, detail, "
	    "event_id, reg_val_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &c.ins_ev, NULL) !=
	    SQLITE_OK) {
		esp_fail(&c, "app_event");
		goto out;
	}
	/* a file met twice (the IME logs in the zip and in its nested cab) is read once */
	if (sqlite3_exec(db, "CREATE TEMP TABLE esp_dup(id INTEGER PRIMARY KEY);"
	    "INSERT INTO esp_dup SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY sha256 "
	    "ORDER BY id) AS n FROM source WHERE sha256 IS NOT NULL) WHERE n > 1", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		esp_fail(&c, "duplicates");
		goto out;
	}

	/* 1-2: apps, scripts, events */
	if (esp_apps_from_registry(&c) != APD_OK || esp_scripts_from_registry(&c) != APD_OK ||
	    esp_ime_scan(&c) != APD_OK || phase_registry(&c, &M) != APD_OK ||
	    evtx_scan(&c, &M) != APD_OK)
		goto out;
	if (c.obs.n > 1)
		qsort(c.obs.v, c.obs.n, sizeof(struct esp_obs), obs_cmp);

	/* 3: phases, per flow */
	preprov = first_ev(&M, &(struct window){ 0 }, EV_WG_MODE, -1, NULL) ||
	    first_ev(&M, &(struct window){ 0 }, EV_WG_OK, -1, NULL) ||
	    first_ev(&M, &(struct window){ 0 }, EV_WG_FAIL, -1, NULL) ||
	    first_ev(&M, &(struct window){ 0 }, EV_WG_POLICY, -1, NULL);
	wg_end = first_ev(&M, &(struct window){ 0 }, EV_WG_OK, -1, NULL);
	if (wg_end == NULL)
		wg_end = first_ev(&M, &(struct window){ 0 }, EV_WG_FAIL, -1, NULL);
	if (preprov && wg_end && wg_end->t.has_utc) {
		struct window tech = { false, true, 0, wg_end->t.utc + 1 };
		struct window user = { true, false, wg_end->t.utc + 1, 0 };
		bool user_seen = false;
		for (i = 0; i < M.ev.n; i++)
			user_seen |= in_window(&user, &VEC_AT(M.ev, struct evx, i)->t);
		for (i = 0; i < c.obs.n; i++)
			user_seen |= in_window(&user, &VEC_AT(c.obs, struct esp_obs, i)->t);
		for (i = 0; i < M.snaps.n; i++)
			user_seen |= in_window(&user, &VEC_AT(M.snaps, struct snap, i)->t);
		flow_phases(&c, &M, &tech, "technician", !user_seen, true, &phases);
		if (user_seen)
			flow_phases(&c, &M, &user, "user", true, false, &phases);
		d.flow = user_seen ? "technician+user" : "technician";
		evidence(&d, "Shell-Core 62407: pre-provisioning (WhiteGlove) technician flow ended %s",
		    wg_end->type == EV_WG_OK ? "in success (reseal)" : "in failure");
		if (user_seen)
			evidence(&d, "ESP activity after the reseal: the user flow");
	} else {
		struct window all = { 0 };
		flow_phases(&c, &M, &all, preprov ? "technician" : NULL, true, preprov, &phases);
		if (preprov) {
			d.flow = "technician";
			evidence(&d, "pre-provisioning (WhiteGlove) markers in the event logs, no reseal seen");
		}
	}
	if (c.rc != APD_OK)
		goto out;

	/* 4: apps, scripts; the phases unless the ESP never showed */
	esp_overall(&M, &phases, &d);
	if (esp_apps_write(&c, &phases) != APD_OK || esp_scripts_write(&c) != APD_OK ||
	    (strcmp(d.esp_outcome, "not-shown") != 0 && phases_write(&c, &phases) != APD_OK))
		goto out;

	/* 5: the deployment row */
	profile(&c, &d);
	scenario(&c, &M, &d, preprov);
	if (!preprov)
		gap_note(&phases, &d);
	blocking(&c, &M, &phases, &d);
	if (c.rc == APD_OK && c.ime_version[0]) {   /* the newest agent version the logs name */
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, "INSERT INTO fact(name, value) VALUES ('ime.version', ?1)", -1,
		    &s, NULL) != SQLITE_OK) {
			esp_fail(&c, "fact");
			goto out;
		}
		sqlite3_bind_text(s, 1, c.ime_version, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			esp_fail(&c, "fact");
		sqlite3_finalize(s);
	}
	if (c.rc == APD_OK && deployment_write(&c, &M, &d) == APD_OK &&
	    sqlite3_exec(db, "CREATE INDEX app_event_app ON app_event(app_id)", NULL, NULL, NULL) !=
	    SQLITE_OK)
		esp_fail(&c, "app_event index");
out:
	sqlite3_finalize(c.ins_ev);
	apd_esp_lines_free(c.lines);
	esp_apps_done(&c);
	esp_vec_done(&c.apps);
	esp_vec_done(&c.scripts);
	esp_vec_done(&c.obs);
	esp_vec_done(&c.tctx);
	for (i = 0; i < c.aev.n; i++)
		free(VEC_AT(c.aev, struct esp_aev, i)->detail);
	esp_vec_done(&c.aev);
	esp_vec_done(&M.ev);
	esp_vec_done(&M.snaps);
	for (i = 0; i < M.pending.n; i++)
		free(*VEC_AT(M.pending, char *, i));
	esp_vec_done(&M.pending);
	for (i = 0; i < 3; i++)
		free(M.cat[i].detail);
	phases_free(&phases);
	dep_free(&d);
	sqlite3_exec(db, "DROP TABLE IF EXISTS temp.esp_dup", NULL, NULL, NULL);
	return c.rc;
}
