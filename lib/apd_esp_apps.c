/*
 * apd_esp_apps.c - apps and scripts of the deployment model: the app and
 * script registries, what the registry says about them (ESP tracking keys,
 * IME Win32Apps, MSI LOB, Store, Office, IME platform scripts), and the
 * fold of each app's timeline (app_event) into its app row.
 */
#include "apd_esp_int.h"
#include "apd_time.h"

#include <inttypes.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEVICE_USER "00000000-0000-0000-0000-000000000000"
#define DEVICE_SID  "S-0-0-00-0000000000-0000000000-000000000-000"

static const char *const kind_names[] = { "win32", "msi", "store", "office" };

/* ---- the app registry --------------------------------------------------- */

static uint64_t
hash_id(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch + 32);
		h = (h ^ ch) * 1099511628211ULL;
	}
	return h;
}

static int
rehash(struct esp_ctx *c, size_t cap)
{
	int *h = malloc(cap * sizeof(*h));
	size_t i;

	if (h == NULL) {
		c->rc = apd_set_error(c->err, APD_FATAL, "out of memory");
		return -1;
	}
	for (i = 0; i < cap; i++)
		h[i] = -1;
	for (i = 0; i < c->apps.n; i++) {
		struct app *a = VEC_AT(c->apps, struct app, i);
		size_t k = (size_t)(hash_id(a->id, strlen(a->id)) & (cap - 1));
		while (h[k] >= 0)
			k = (k + 1) & (cap - 1);
		h[k] = (int)i;
	}
	free(c->hash);
	c->hash = h;
	c->hcap = cap;
	return 0;
}

struct app *
esp_app(struct esp_ctx *c, int i)
{
	return VEC_AT(c->apps, struct app, i);
}

/* The app with this id (case-insensitive), added if new; -1 on OOM. */
int
esp_app_get(struct esp_ctx *c, const char *id, size_t n, enum app_kind kind)
{
	struct app *a;
	size_t k;

	if (c->hcap == 0 && rehash(c, 64) < 0)
		return -1;
	k = (size_t)(hash_id(id, n) & (c->hcap - 1));
	while (c->hash[k] >= 0) {
		a = esp_app(c, c->hash[k]);
		if (strlen(a->id) == n && strncasecmp(a->id, id, n) == 0)
			return c->hash[k];
		k = (k + 1) & (c->hcap - 1);
	}
	if ((c->apps.n + 1) * 2 > c->hcap) {
		if (rehash(c, c->hcap * 2) < 0)
			return -1;
		return esp_app_get(c, id, n, kind);
	}
	a = esp_vec_push(c, &c->apps);
	if (a == NULL)
		return -1;
	a->id = esp_strndup(c, id, n);
	if (a->id == NULL) {
		c->apps.n--;
		return -1;
	}
	if (kind == AK_WIN32) {   /* GUIDs as IME writes them */
		size_t i;
		for (i = 0; i < n; i++)
			if (a->id[i] >= 'A' && a->id[i] <= 'Z')
				a->id[i] = (char)(a->id[i] + 32);
	}
	a->kind = kind;
	a->reg_phase = -1;
	a->ime_phase = -1;
	c->hash[k] = (int)(c->apps.n - 1);
	return (int)(c->apps.n - 1);
}

/*
 * Names by priority: 5 IME policy JSON (Get policies), 4 other IME lines
 * that name the app, 3 registry display names, 2 the MSI download URL's
 * file name, 1 a fixed label.
 */
void
esp_app_name(struct esp_ctx *c, int i, struct apd_sv name, int prio, const char *src)
{
	struct app *a = esp_app(c, i);
	char *s;

	while (name.n && (name.p[name.n - 1] == ' ' || name.p[name.n - 1] == '.'))
		name.n--;
	if (name.p == NULL || name.n == 0 || prio <= a->name_prio)
		return;
	if ((s = esp_strndup(c, name.p, name.n)) == NULL)
		return;
	free(a->name);
	a->name = s;
	a->name_prio = prio;
	a->name_src = src;
}

struct script *
esp_script(struct esp_ctx *c, int i)
{
	return VEC_AT(c->scripts, struct script, i);
}

int
esp_script_get(struct esp_ctx *c, const char *id, size_t n, const char *kind)
{
	struct script *s;
	size_t i;

	for (i = 0; i < c->scripts.n; i++) {
		s = esp_script(c, (int)i);
		if (strlen(s->id) == n && strncasecmp(s->id, id, n) == 0)
			return (int)i;
	}
	s = esp_vec_push(c, &c->scripts);
	if (s == NULL)
		return -1;
	if ((s->id = esp_strndup(c, id, n)) == NULL) {
		c->scripts.n--;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (s->id[i] >= 'A' && s->id[i] <= 'Z')
			s->id[i] = (char)(s->id[i] + 32);
	s->kind = kind;
	return (int)(c->scripts.n - 1);
}

int
esp_app_event(struct esp_ctx *c, int app, const struct when *t, bool has_t, const char *kind,
    bool has_value, int64_t value, const char *detail, int64_t reg_val_id)
{
	sqlite3_stmt *s = c->ins_ev;
	int rc;

	if (app < 0 || c->rc != APD_OK)
		return c->rc;
	sqlite3_bind_text(s, 1, esp_app(c, app)->id, -1, SQLITE_STATIC);
	esp_bind_when(s, 2, 3, t, has_t);
	sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
	if (has_value)
		sqlite3_bind_int64(s, 5, value);
	if (detail)
		sqlite3_bind_text(s, 6, detail, -1, SQLITE_TRANSIENT);
	if (has_t && t->event_id > 0)
		sqlite3_bind_int64(s, 7, t->event_id);
	if (reg_val_id > 0)
		sqlite3_bind_int64(s, 8, reg_val_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return esp_fail(c, "app_event");
	/* the row as written, for esp_apps_write */
	{
		struct esp_aev *e = esp_vec_push(c, &c->aev);
		if (e == NULL)
			return c->rc;
		e->app = app;
		e->kind = kind;
		e->has_value = has_value;
		e->value = value;
		if (detail && (e->detail = esp_strndup(c, detail, strlen(detail))) == NULL)
			return c->rc;
		if (has_t) {
			e->has_utc = t->has_utc;
			e->utc = t->utc;
			snprintf(e->local, sizeof(e->local), "%s", t->local);
			e->event_id = t->event_id > 0 ? t->event_id : 0;
		}
		e->src = reg_val_id > 0 ? 'r' : e->local[0] ? 'l' : 'e';
	}
	return APD_OK;
}

int
esp_enforcement_code(struct apd_sv v)
{
	static const struct { const char *name; int code; } map[] = {
		{ "Success", 1000 }, { "SuccessFastNotify", 1003 }, { "InProgress", 2000 },
		{ "DependencyInstalling", 2007 }, { "PendingReboot", 2008 },
		{ "DownloadCompleted", 2009 }, { "RequirementsNotMet", 3000 }, { "Unknown", 4000 },
		{ "Error", 5000 }, { "ErrorDownloadingContent", 5003 },
		{ "ErrorConflictsPreventInstallation", 5006 }, { "ErrorWithImmediateRetry", 5999 },
		{ "NotAttempted", 6000 },
	};
	size_t i;

	if (v.p == NULL)
		return -1;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].name) == v.n && strncmp(map[i].name, v.p, v.n) == 0)
			return map[i].code;
	return -1;
}

/* ---- registry ------------------------------------------------------------ */

/* The n-th backslash-separated segment of key after its prefix; empty view if none. */
static struct apd_sv
seg(const char *rest, int n)
{
	const char *p = rest, *e;

	while (n-- > 0) {
		p = strchr(p, '\\');
		if (p == NULL)
			return apd_sv("", 0);
		p++;
	}
	e = strchr(p, '\\');
	return apd_sv(p, e ? (size_t)(e - p) : strlen(p));
}

static int
nseg(const char *rest)
{
	int n = 1;

	for (; *rest; rest++)
		n += *rest == '\\';
	return n;
}

/* The part of key after the (case-insensitive) marker, or NULL. */
static const char *
after(const char *key, const char *marker)
{
	size_t m = strlen(marker), n = strlen(key), i;

	for (i = 0; i + m <= n; i++)
		if (strncasecmp(key + i, marker, m) == 0)
			return key + i + m;
	return NULL;
}

static bool
sv_eq(struct apd_sv v, const char *s)
{
	return v.p && strlen(s) == v.n && strncasecmp(v.p, s, v.n) == 0;
}

/* "Win32App_<guid>_<rev>" anywhere in s: the guid and the revision. */
static bool
win32_item(const char *s, struct apd_sv *guid, int *rev)
{
	const char *p = s ? strstr(s, "Win32App_") : NULL;

	if (p == NULL || strlen(p) < 9 + 36)
		return false;
	*guid = apd_sv(p + 9, 36);
	*rev = p[45] == '_' ? atoi(p + 46) : 0;
	return true;
}

static const char *const state_names[] = { "", "NotInstalled", "InProgress", "Completed", "Error" };

static int
run_rows(struct esp_ctx *c, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, s, NULL) != SQLITE_OK)
		return esp_fail(c, "registry query");
	return APD_OK;
}

/* Tracking keys: EnrollmentStatusTracking\<Device|SID>\Setup\Apps\Tracking\Sidecar\Win32App_<id>_<rev>. */
static int
tracking_keys(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT v.id, k.key, v.value "
	    "FROM reg_key k CROSS JOIN reg_val v ON v.key_id = k.id "
	    "WHERE k.hive = 'HKLM' AND k.key LIKE "
	    "'SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\%\\Setup\\Apps\\Tracking\\%' "
	    "AND v.name = 'InstallationState'" NOT_DUP("v.source_id") " ORDER BY v.id", &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(s, 1);
		const char *rest = after(key, "EnrollmentStatusTracking\\");
		struct apd_sv owner, guid;
		int rev, i, st = sqlite3_column_int(s, 2);

		if (rest == NULL || !win32_item(rest, &guid, &rev))
			continue;
		owner = seg(rest, 0);
		if ((i = esp_app_get(c, guid.p, guid.n, AK_WIN32)) < 0)
			break;
		esp_app(c, i)->tracked = true;
		if (rev > esp_app(c, i)->rev)
			esp_app(c, i)->rev = rev;
		if (sv_eq(owner, "Device")) {
			esp_app(c, i)->reg_phase = PH_DEVSETUP;
			esp_app(c, i)->target |= 2;
		} else {
			esp_app(c, i)->reg_phase = PH_ACCTSETUP;
			esp_app(c, i)->target |= 1;
		}
		if (st >= 1 && st <= 4)
			esp_app(c, i)->esp_final = st;
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* Decode %XX in a URI segment into buf. */
static size_t
uri_decode(struct apd_sv v, char *buf, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < v.n && n + 1 < cap; i++) {
		if (v.p[i] == '%' && i + 2 < v.n) {
			char hex[3] = { v.p[i + 1], v.p[i + 2], 0 };
			buf[n++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			buf[n++] = v.p[i];
		}
	}
	buf[n] = '\0';
	return n;
}

/* The URI segment after "/<marker>/". */
static struct apd_sv
uri_after(const char *uri, const char *marker)
{
	const char *p = after(uri, marker), *e;

	if (p == NULL)
		return APD_SV_NULL;
	e = strchr(p, '/');
	return apd_sv(p, e ? (size_t)(e - p) : strlen(p));
}

/*
 * ESPTrackingInfo\Diagnostics\[<SID>\]<Category>\<timestamp>: one snapshot
 * of the tracked items per subkey.  Apps get an event per snapshot value.
 */
static int
snapshots(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT v.id, k.key, v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND k.key LIKE "
	    "'SOFTWARE\\Microsoft\\Windows\\Autopilot\\EnrollmentStatusTracking\\ESPTrackingInfo\\Diagnostics\\%' "
	    "AND v.name IS NOT NULL AND v.name <> ''" NOT_DUP("v.source_id") " ORDER BY k.key, v.id", &s)
	    != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *key = (const char *)sqlite3_column_text(s, 1);
		const char *name = (const char *)sqlite3_column_text(s, 2);
		const char *rest = after(key, "ESPTrackingInfo\\Diagnostics\\");
		struct apd_sv tsname, cat, guid;
		struct when t;
		int64_t ts, regid = sqlite3_column_int64(s, 0), value = sqlite3_column_int64(s, 3);
		bool user;
		int i, rev, ns;
		char buf[256];

		if (rest == NULL)
			continue;
		ns = nseg(rest);
		if (ns < 2)
			continue;
		tsname = seg(rest, ns - 1);
		cat = seg(rest, ns - 2);
		user = ns >= 3 || strncmp(name, "./User/", 7) == 0;
		/* only "...Z" names are UTC; anything else is not placed in time */
		if (!apd_parse_iso(tsname, &ts) || tsname.p[tsname.n - 1] != 'Z')
			continue;
		esp_when_utc(&t, ts);
		if (sv_eq(cat, "Sidecar") && win32_item(name, &guid, &rev)) {
			if ((i = esp_app_get(c, guid.p, guid.n, AK_WIN32)) < 0)
				break;
			esp_app(c, i)->tracked = true;
			esp_app(c, i)->target |= user ? 1 : 2;
			if (esp_app(c, i)->reg_phase < 0)
				esp_app(c, i)->reg_phase = user ? PH_ACCTSETUP : PH_DEVSETUP;
			if (rev > esp_app(c, i)->rev)
				esp_app(c, i)->rev = rev;
			esp_app_event(c, i, &t, true, "esp-state", true, value,
			    value >= 1 && value <= 4 ? state_names[value] : NULL, regid);
		} else if (sv_eq(cat, "ExpectedMSIAppPackages")) {
			struct apd_sv pc = uri_after(name, "/MSI/");
			size_t n;
			if (pc.p == NULL)
				continue;
			n = uri_decode(pc, buf, sizeof(buf));
			if ((i = esp_app_get(c, buf, n, AK_MSI)) < 0)
				break;
			esp_app(c, i)->tracked = true;
			esp_app(c, i)->target |= user ? 1 : 2;
			if (esp_app(c, i)->reg_phase < 0)
				esp_app(c, i)->reg_phase = user ? PH_ACCTSETUP : PH_DEVSETUP;
			esp_app_event(c, i, &t, true, "msi-status", true, value, NULL, regid);
		} else if (sv_eq(cat, "ExpectedModernAppPackages")) {
			const char *p = strrchr(name, '/');
			size_t n;
			if (p == NULL || p[1] == '\0')
				continue;
			n = uri_decode(apd_sv(p + 1, strlen(p + 1)), buf, sizeof(buf));
			if ((i = esp_app_get(c, buf, n, AK_STORE)) < 0)
				break;
			esp_app(c, i)->tracked = true;
			esp_app(c, i)->target |= user ? 1 : 2;
			if (esp_app(c, i)->reg_phase < 0)
				esp_app(c, i)->reg_phase = user ? PH_ACCTSETUP : PH_DEVSETUP;
			esp_app_event(c, i, &t, true, "store-status", true, value, NULL, regid);
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* IME's own registry: Win32Apps\<user>\<app>_<rev>\{ExitCode, EnforcementStateMessage, ...}. */
static int
ime_win32apps(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT v.id, k.key, v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND k.key LIKE "
	    "'SOFTWARE\\Microsoft\\IntuneManagementExtension\\Win32Apps\\%' AND v.name IS NOT NULL"
	    NOT_DUP("v.source_id") " ORDER BY v.id", &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *key = (const char *)sqlite3_column_text(s, 1);
		const char *name = (const char *)sqlite3_column_text(s, 2);
		const char *rest = after(key, "\\Win32Apps\\");
		struct apd_sv user, item;
		struct app *a;
		int i;

		if (rest == NULL || nseg(rest) < 2)
			continue;
		user = seg(rest, 0);
		item = seg(rest, 1);
		if (sv_eq(item, "GRS")) {
			if (strlen(name) == 36 && (i = esp_app_get(c, name, 36, AK_WIN32)) >= 0)
				esp_app_event(c, i, NULL, false, "grs", false, 0, "retry scheduled (registry)",
				    sqlite3_column_int64(s, 0));
			continue;
		}
		if (item.n < 36 || user.n != 36)
			continue;
		if ((i = esp_app_get(c, item.p, 36, AK_WIN32)) < 0)
			break;
		a = esp_app(c, i);
		a->target |= sv_eq(user, DEVICE_USER) ? 2 : 1;
		if (item.n > 37 && item.p[36] == '_' && atoi(item.p + 37) > a->rev)
			a->rev = atoi(item.p + 37);
		if (nseg(rest) == 2 && strcasecmp(name, "ExitCode") == 0) {
			a->reg_exit = sqlite3_column_int64(s, 3);
			a->has_reg_exit = true;
		} else if (nseg(rest) == 3 && (strcasecmp(name, "EnforcementStateMessage") == 0 ||
		    strcasecmp(name, "ComplianceStateMessage") == 0)) {
			const char *txt = (const char *)sqlite3_column_text(s, 3);
			struct json_object *o = txt ? json_tokener_parse(txt) : NULL, *v;
			if (o == NULL)
				continue;
			if (json_object_object_get_ex(o, "EnforcementState", &v) &&
			    json_object_is_type(v, json_type_int)) {
				a->reg_enf = json_object_get_int(v);
				a->has_reg_enf = true;
			}
			if (json_object_object_get_ex(o, "ComplianceState", &v) &&
			    json_object_is_type(v, json_type_int)) {
				a->reg_comp = json_object_get_int(v);
				a->has_reg_comp = true;
			}
			if (json_object_object_get_ex(o, "ErrorCode", &v) &&
			    json_object_is_type(v, json_type_int) && json_object_get_int64(v) != 0) {
				a->reg_err = (int32_t)json_object_get_int64(v);
				a->has_reg_err = true;
			}
			if (json_object_object_get_ex(o, "TargetType", &v) &&
			    json_object_is_type(v, json_type_int)) {
				int tt = json_object_get_int(v);
				if (tt == 1 || tt == 2)
					a->target |= (unsigned)tt;
				else if (tt == 3)
					a->target |= 3;
			}
			json_object_put(o);
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* EnterpriseDesktopAppManagement\<SID>\MSI\<ProductCode>: LOB MSI apps. */
static int
msi_lob(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT v.id, k.key, v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND k.key LIKE "
	    "'SOFTWARE\\Microsoft\\EnterpriseDesktopAppManagement\\%\\MSI\\%' AND v.name IS NOT NULL"
	    NOT_DUP("v.source_id") " ORDER BY v.id", &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *key = (const char *)sqlite3_column_text(s, 1);
		const char *name = (const char *)sqlite3_column_text(s, 2);
		const char *rest = after(key, "EnterpriseDesktopAppManagement\\");
		struct apd_sv sid, pc;
		struct app *a;
		int i;

		if (rest == NULL || nseg(rest) != 3 || !sv_eq(seg(rest, 1), "MSI"))
			continue;
		sid = seg(rest, 0);
		pc = seg(rest, 2);
		if ((i = esp_app_get(c, pc.p, pc.n, AK_MSI)) < 0)
			break;
		a = esp_app(c, i);
		a->target |= sv_eq(sid, DEVICE_SID) ? 2 : 1;
		if (strcasecmp(name, "Status") == 0) {
			a->msi_status = sqlite3_column_int(s, 3);
			a->has_msi = true;
		} else if (strcasecmp(name, "LastError") == 0 && sqlite3_column_int64(s, 3) != 0) {
			a->msi_error = (int32_t)sqlite3_column_int64(s, 3);
			a->has_msi_error = true;
		} else if (strcasecmp(name, "CurrentDownloadUrl") == 0) {
			const char *url = (const char *)sqlite3_column_text(s, 3);
			const char *f = url ? strrchr(url, '/') : NULL;
			if (f && strcasecmp(f + 1, "IntuneWindowsAgent.msi") == 0) {
				/* the agent itself: the Sidecar policy provider of DevicePreparation */
				esp_app_name(c, i, apd_sv_cstr("Intune Management Extension (agent MSI)"), 3,
				    "MSI download URL");
				a->reg_phase = PH_DEVPREP;
			} else if (f && f[1]) {
				esp_app_name(c, i, apd_sv_cstr(f + 1), 2, "MSI download URL");
			}
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* Store apps' display names (HKCU/HKLM EnterpriseModernAppManagement\AppManagement\<PFN>). */
static int
store_names(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT k.key, v.value "
	    "FROM reg_key k CROSS JOIN reg_val v ON v.key_id = k.id "
	    "WHERE k.key LIKE '%EnterpriseModernAppManagement\\AppManagement\\%' "
	    "AND v.name = 'DisplayName'" NOT_DUP("v.source_id") " ORDER BY v.id", &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *key = (const char *)sqlite3_column_text(s, 0);
		const char *pfn = strrchr(key, '\\');
		size_t i;

		if (pfn == NULL || sqlite3_column_type(s, 1) != SQLITE_TEXT)
			continue;
		pfn++;
		for (i = 0; i < c->apps.n; i++) {
			struct app *a = esp_app(c, (int)i);
			if (a->kind == AK_STORE && strcasecmp(a->id, pfn) == 0)
				esp_app_name(c, (int)i, apd_sv_cstr((const char *)sqlite3_column_text(s, 1)),
				    3, "registry DisplayName");
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* OfficeCSP\<id>\{Status, FinalStatus}: Microsoft 365 Apps through the Office CSP. */
static int
office(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT v.id, k.key, v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND k.key LIKE 'SOFTWARE\\Microsoft\\OfficeCSP\\%' "
	    "AND v.name IN ('Status', 'FinalStatus')" NOT_DUP("v.source_id") " ORDER BY v.name DESC, v.id",
	    &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *rest = after((const char *)sqlite3_column_text(s, 1), "OfficeCSP\\");
		struct apd_sv id;
		int i;

		if (rest == NULL)
			continue;
		id = seg(rest, 0);
		if ((i = esp_app_get(c, id.p, id.n, AK_OFFICE)) < 0)
			break;
		esp_app_name(c, i, apd_sv_cstr("Microsoft 365 Apps (Office CSP)"), 1, "fixed label");
		if (!esp_app(c, i)->has_msi) {   /* FinalStatus first (ORDER BY name DESC) */
			esp_app(c, i)->msi_status = sqlite3_column_int(s, 3);
			esp_app(c, i)->has_msi = true;
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

int
esp_apps_from_registry(struct esp_ctx *c)
{
	if (tracking_keys(c) != APD_OK || snapshots(c) != APD_OK || ime_win32apps(c) != APD_OK ||
	    msi_lob(c) != APD_OK || store_names(c) != APD_OK || office(c) != APD_OK)
		return c->rc;
	return APD_OK;
}

/* IME Policies\<user>\<script>\{Result, LastUpdatedTimeUtc, ResultDetails, ErrorCode}. */
int
esp_scripts_from_registry(struct esp_ctx *c)
{
	sqlite3_stmt *s;

	if (run_rows(c, "SELECT k.key, v.name, v.value FROM reg_key k CROSS JOIN reg_val v "
	    "ON v.key_id = k.id WHERE k.hive = 'HKLM' AND (k.key LIKE "
	    "'SOFTWARE\\Microsoft\\IntuneManagementExtension\\Policies\\%' OR k.key LIKE "
	    "'SOFTWARE\\Microsoft\\IntuneManagementExtension\\SideCarPolicies\\Scripts\\Reports\\%') "
	    "AND v.name IS NOT NULL" NOT_DUP("v.source_id") " ORDER BY v.id", &s) != APD_OK)
		return c->rc;
	while (sqlite3_step(s) == SQLITE_ROW && c->rc == APD_OK) {
		const char *key = (const char *)sqlite3_column_text(s, 0);
		const char *name = (const char *)sqlite3_column_text(s, 1);
		const char *txt = (const char *)sqlite3_column_text(s, 2);
		const char *rest = after(key, "\\IntuneManagementExtension\\Policies\\");
		const char *kind = "platform";
		struct apd_sv user, id;
		struct script *sc;
		int i;

		if (rest == NULL) {
			rest = after(key, "\\Scripts\\Reports\\");
			kind = "remediation";
		}
		if (rest == NULL || nseg(rest) < 2)
			continue;
		user = seg(rest, 0);
		id = seg(rest, 1);
		if (id.n != 36)
			continue;
		if ((i = esp_script_get(c, id.p, id.n, kind)) < 0)
			break;
		sc = esp_script(c, i);
		sc->src |= 2;
		if (sc->user == NULL)
			sc->user = esp_strndup(c, user.p, user.n);
		if (strcasecmp(name, "Result") == 0 && txt && sc->result == NULL) {
			sc->result = esp_strndup(c, txt, strlen(txt));
		} else if (strcasecmp(name, "ResultDetails") == 0 && txt && sc->error == NULL) {
			struct json_object *o = json_tokener_parse(txt), *v;
			if (o && json_object_object_get_ex(o, "ExecutionMsg", &v) &&
			    json_object_get_string_len(v) > 0)
				sc->error = esp_strndup(c, json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
			json_object_put(o);
		} else if (strcasecmp(name, "LastUpdatedTimeUtc") == 0 && txt && !sc->has_end) {
			unsigned mo, d, y, h, mi, se;
			int64_t us;
			/* "MM/dd/yyyy HH:mm:ss", UTC */
			if (sscanf(txt, "%u/%u/%u %u:%u:%u", &mo, &d, &y, &h, &mi, &se) == 6 &&
			    apd_civil_to_us((int)y, mo, d, h, mi, se, 0, &us) == 0) {
				esp_when_utc(&sc->end, us);
				sc->has_end = true;
			}
		} else if (strcasecmp(name, "ExecutionContext") == 0 && sc->context == NULL) {
			int64_t v = sqlite3_column_int64(s, 2);
			sc->context = esp_strndup(c, v == 0 ? "system" : "user", v == 0 ? 6 : 4);
		}
	}
	sqlite3_finalize(s);
	return c->rc;
}

/* ---- the fold: an app's timeline into its row ----------------------------- */

struct fold {
	struct when dl_start, dl_end, in_start, in_end, esp_start, esp_end, first_seen;
	bool has_dl_start, has_dl_end, has_in_start, has_in_end, has_esp_start, has_esp_end;
	bool has_first;
	int attempts;
	bool has_exit, has_hr, has_err, timeout, create_failed, exit_failed, dl_error, grs;
	bool not_applicable, detected_after, detect_after_seen, exit_ok;
	int64_t exit_code, hresult, err_code, create_code;
	int log_state;           /* last ESP state from the logs (IME) */
	struct when log_t;
	bool has_log_t;
	int utc_state;           /* last ESP state from snapshots and events */
	int enf;                 /* last EnforcementState from the logs, -1 */
	char detection[24];
	int msi_snap;            /* last ExpectedMSIAppPackages value, -1 */
	int store_snap;
	int64_t dl_total;
};

static bool
esp_when_earlier(const struct when *a, const struct when *b)
{
	bool ok;

	return esp_when_cmp(a, b, &ok) < 0 && ok;
}

static void
fold_init(struct fold *f)
{
	memset(f, 0, sizeof(*f));
	f->enf = -1;
	f->msi_snap = -1;
	f->store_snap = -1;
}

static int
state_code(const char *s)
{
	int i;

	for (i = 1; i <= 4; i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return i;
	return 0;
}

/* One app_event row into the fold.  src: 'r' registry, 'l' log, 'e' event log. */
static void
fold_row(struct fold *f, const char *kind, bool has_value, int64_t value, const char *detail,
    const struct when *t, bool has_t, char src)
{
	if (has_t && src != 'r' && (!f->has_first || esp_when_earlier(t, &f->first_seen))) {
		f->first_seen = *t;
		f->has_first = true;
	}
	if (strcmp(kind, "esp-state") == 0) {
		int st = has_value ? (int)value : state_code(detail);
		if (src == 'l') {
			f->log_state = st;
			if (has_t) {
				f->log_t = *t;
				f->has_log_t = true;
			}
			if (st == 2 && !f->has_esp_start && has_t) {
				f->esp_start = *t;
				f->has_esp_start = true;
			}
			if ((st == 3 || st == 4) && f->has_esp_start && !f->has_esp_end && has_t) {
				f->esp_end = *t;
				f->has_esp_end = true;
			}
		} else {
			f->utc_state = st;
		}
	} else if (strcmp(kind, "download-start") == 0 ||
	    (strcmp(kind, "download-progress") == 0 && has_value && value == 0)) {
		if (!f->has_dl_start && has_t) {
			f->dl_start = *t;
			f->has_dl_start = true;
		}
		if (!f->has_esp_start && has_t) {
			f->esp_start = *t;
			f->has_esp_start = true;
		}
	} else if (strcmp(kind, "download-end") == 0 ||
	    (strcmp(kind, "download-progress") == 0 && has_value && f->dl_total > 0 &&
	    value == f->dl_total)) {
		if (f->has_dl_start && !f->has_dl_end && has_t) {
			f->dl_end = *t;
			f->has_dl_end = true;
		}
		f->dl_error = false;
	} else if (strcmp(kind, "download-error") == 0) {
		f->dl_error = true;
	} else if (strcmp(kind, "install-start") == 0) {
		f->attempts++;
		f->has_in_end = f->has_exit = f->has_hr = f->timeout = f->create_failed = false;
		f->exit_failed = f->exit_ok = f->detect_after_seen = f->detected_after = false;
		if (has_t) {
			f->in_start = *t;
			f->has_in_start = true;
			if (!f->has_esp_start) {
				f->esp_start = *t;
				f->has_esp_start = true;
			}
		}
	} else if (strcmp(kind, "install-done") == 0 || strcmp(kind, "install-timeout") == 0 ||
	    strcmp(kind, "install-error") == 0) {
		if (strcmp(kind, "install-error") == 0) {
			if (!f->has_in_start || f->has_in_end) {   /* a failed launch is an attempt too */
				f->attempts++;
				if (has_t) {
					f->in_start = *t;
					f->has_in_start = true;
				}
			}
			f->create_failed = true;
			f->create_code = value;
		}
		if (strcmp(kind, "install-timeout") == 0)
			f->timeout = true;
		if (f->has_in_start && !f->has_in_end && has_t) {
			f->in_end = *t;
			f->has_in_end = true;
		}
	} else if (strcmp(kind, "exit-code") == 0 && has_value) {
		f->exit_code = value;
		f->has_exit = true;
	} else if (strcmp(kind, "hresult") == 0 && has_value) {
		f->hresult = value;
		f->has_hr = true;
	} else if (strcmp(kind, "exit-class") == 0 && detail) {
		f->exit_failed = strcmp(detail, "Failed") == 0;
		f->exit_ok = strcmp(detail, "Success") == 0 || strcmp(detail, "SoftReboot") == 0 ||
		    strcmp(detail, "HardReboot") == 0;
	} else if (strcmp(kind, "error-code") == 0 && has_value) {
		if (value != 0) {
			f->err_code = value;
			f->has_err = true;
		}
	} else if (strcmp(kind, "enforcement") == 0 && has_value) {
		f->enf = (int)value;
	} else if (strcmp(kind, "detection") == 0 && detail) {
		snprintf(f->detection, sizeof(f->detection), "%s", detail);
		if (f->has_in_end) {
			f->detected_after = strcmp(detail, "Detected") == 0;
			f->detect_after_seen = true;
		}
	} else if (strcmp(kind, "applicability") == 0 && detail) {
		f->not_applicable = strcmp(detail, "Applicable") != 0;
	} else if (strcmp(kind, "grs") == 0) {
		f->grs = true;
	} else if (strcmp(kind, "msi-status") == 0 && has_value) {
		f->msi_snap = (int)value;
	} else if (strcmp(kind, "store-status") == 0 && has_value) {
		f->store_snap = (int)value;
	}
}

static void
hex32(char out[16], int64_t v)
{
	snprintf(out, 16, "0x%08" PRIX32, (uint32_t)v);
}

/* HRESULT_FROM_WIN32 for a Win32 error code (1603 -> 0x80070643). */
static int64_t
hr_from_win32(int64_t code)
{
	return (int32_t)(0x80070000u | (uint32_t)(code & 0xFFFF));
}

/* The phase an app ran in: its tracking key, else the IME phase at its first activity. */
static int
app_phase(struct esp_ctx *c, const struct app *a, const struct fold *f)
{
	const struct esp_obs *best = NULL;
	size_t i;

	if (a->reg_phase >= 0)
		return a->reg_phase;
	if (a->ime_phase >= 0)
		return a->ime_phase;
	if (!f->has_first)
		return -1;
	for (i = 0; i < c->obs.n; i++) {
		const struct esp_obs *o = VEC_AT(c->obs, struct esp_obs, i);
		bool ok;
		if (esp_when_cmp(&o->t, &f->first_seen, &ok) <= 0 && ok &&
		    (best == NULL || esp_when_cmp(&o->t, &best->t, &ok) >= 0))
			best = o;
	}
	if (best == NULL || best->ph == PH_NOTINESP)
		return -1;
	return best->ph;
}

static const struct phase_row *
phase_of(const struct vec *phases, int ph)
{
	size_t i;
	const struct phase_row *last = NULL;

	for (i = 0; i < phases->n; i++) {
		const struct phase_row *p = VEC_AT(*phases, struct phase_row, i);
		if (p->ph == ph)
			last = p;
	}
	return last;
}

static void
bind_opt_when(sqlite3_stmt *s, int col, const struct when *w, bool set)
{
	esp_bind_when(s, col, col + 1, w, set);
}

static void
bind_secs(sqlite3_stmt *s, int col, const struct when *a, bool ha, const struct when *b, bool hb)
{
	double d;

	if (ha && hb && esp_when_diff(a, b, &d) && d >= 0)
		sqlite3_bind_double(s, col, d);
}

static int
write_app(struct esp_ctx *c, sqlite3_stmt *ins, struct app *a, struct fold *f,
    const struct vec *phases)
{
	const char *outcome = "unknown", *failure = NULL;
	char fbuf[256], hx[16];
	int64_t fcode = 0;
	bool has_fcode = false;
	int state;
	bool ok;

	/* IME's latest poll of the tracking state, if it is newer than its last transition */
	if (a->has_poll && (!f->log_state || !f->has_log_t ||
	    esp_when_cmp(&a->poll_t, &f->log_t, &ok) > 0 || !ok))
		f->log_state = a->poll_state;
	state = a->esp_final ? a->esp_final : f->utc_state ? f->utc_state : f->log_state;
	int enf = a->has_reg_enf ? a->reg_enf : f->enf;
	int ph = app_phase(c, a, f);
	int64_t hr = 0;
	bool has_hr = false;
	double held;

	if (f->has_hr && f->hresult != 0) {
		hr = f->hresult;
		has_hr = true;
	} else if (f->has_exit && f->exit_code > 0 && f->exit_code <= 0xFFFF) {
		hr = hr_from_win32(f->exit_code);
		has_hr = true;
	}
	fbuf[0] = '\0';
	if (a->kind == AK_MSI || a->kind == AK_OFFICE) {
		int st = a->has_msi ? a->msi_status : f->msi_snap;
		if (a->kind == AK_OFFICE) {
			outcome = st == 0 ? "installed" : st == 997 ? "in-progress" : "failed";
			if (st != 0 && st != 997) {
				snprintf(fbuf, sizeof(fbuf), "Office CSP status %d", st);
				fcode = st;
				has_fcode = true;
			}
		} else if (st == 70) {
			outcome = "installed";
		} else if (st == 60 || st == 30) {
			outcome = "failed";
			snprintf(fbuf, sizeof(fbuf), "%s (MSI status %d)",
			    st == 60 ? "enforcement failed" : "download failed", st);
		} else if (st == 10 || st == 0) {
			outcome = a->tracked ? "not-started" : "unknown";
		} else if (st > 0) {
			outcome = "in-progress";
		}
		if (a->has_msi_error && strcmp(outcome, "failed") == 0) {
			fcode = a->msi_error;
			has_fcode = true;
		}
	} else if (a->kind == AK_STORE) {
		outcome = f->store_snap == 1 ? "installed" : f->store_snap == 0 ? "in-progress" : "unknown";
	} else if (state == 3 || (enf >= 1000 && enf < 2000 && state != 4) ||
	    (state != 4 && f->exit_ok && f->detect_after_seen && f->detected_after)) {
		outcome = "installed";
	} else if (f->timeout || (f->has_err && (uint32_t)f->err_code == 0x87D300C9u)) {
		double d;
		outcome = "timed-out";
		if (f->has_in_start && f->has_in_end && esp_when_diff(&f->in_start, &f->in_end, &d))
			snprintf(fbuf, sizeof(fbuf), "installer timed out after %.0f min", d / 60);
		else
			snprintf(fbuf, sizeof(fbuf), "installer timed out");
		if (f->has_err) {
			fcode = f->err_code;
			has_fcode = true;
		}
	} else if (state == 4 || (enf >= 5000 && enf < 6000) || f->exit_failed || f->create_failed ||
	    f->dl_error || (f->exit_ok && f->detect_after_seen && !f->detected_after)) {
		outcome = "failed";
		if (f->create_failed) {
			snprintf(fbuf, sizeof(fbuf), "the installer could not be started (error %" PRId64 ")",
			    f->create_code);
			fcode = hr_from_win32(f->create_code);
			has_fcode = true;
		} else if (f->dl_error) {
			snprintf(fbuf, sizeof(fbuf), "content download failed");
		} else if (f->has_exit && f->exit_code != 0) {
			snprintf(fbuf, sizeof(fbuf), "exit code %" PRId64, f->exit_code);
		} else if (f->exit_ok && f->detect_after_seen && !f->detected_after) {
			snprintf(fbuf, sizeof(fbuf), "not detected after a successful install");
		} else if (a->has_reg_exit && a->reg_exit != 0) {
			snprintf(fbuf, sizeof(fbuf), "exit code %" PRId64, a->reg_exit);
		} else {
			snprintf(fbuf, sizeof(fbuf), "ESP tracking state Error");
		}
		if (!has_fcode && has_hr) {
			fcode = hr;
			has_fcode = true;
		} else if (!has_fcode && (f->has_err || a->has_reg_err)) {
			fcode = f->has_err ? f->err_code : a->reg_err;
			has_fcode = true;
		}
	} else if (f->not_applicable || enf == 3000) {
		outcome = "not-applicable";
	} else if (state == 2 || f->has_dl_start || f->has_in_start) {
		outcome = "in-progress";
	} else if (a->tracked) {
		outcome = "not-started";
	}
	if (fbuf[0])
		failure = fbuf;

	sqlite3_bind_text(ins, 1, a->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, kind_names[a->kind], -1, SQLITE_STATIC);
	if (a->rev > 0)
		sqlite3_bind_int(ins, 3, a->rev);
	if (a->name) {
		sqlite3_bind_text(ins, 4, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, a->name_src, -1, SQLITE_STATIC);
	}
	if (a->intent)
		sqlite3_bind_text(ins, 6, a->intent, -1, SQLITE_STATIC);
	if (a->target)
		sqlite3_bind_text(ins, 7, a->target == 3 ? "both" : a->target == 2 ? "device" : "user",
		    -1, SQLITE_STATIC);
	sqlite3_bind_int(ins, 8, a->tracked);
	if (ph >= 0)
		sqlite3_bind_text(ins, 9, esp_phase_names[ph], -1, SQLITE_STATIC);
	if (state >= 1 && state <= 4)
		sqlite3_bind_text(ins, 10, state_names[state], -1, SQLITE_STATIC);
	bind_opt_when(ins, 11, &f->dl_start, f->has_dl_start);
	bind_opt_when(ins, 13, &f->dl_end, f->has_dl_end);
	bind_secs(ins, 15, &f->dl_start, f->has_dl_start, &f->dl_end, f->has_dl_end);
	if (a->has_size)
		sqlite3_bind_int64(ins, 16, a->size);
	if (a->has_do)
		sqlite3_bind_double(ins, 17, a->do_pct);
	bind_opt_when(ins, 18, &f->in_start, f->has_in_start);
	bind_opt_when(ins, 20, &f->in_end, f->has_in_end);
	bind_secs(ins, 22, &f->in_start, f->has_in_start, &f->in_end, f->has_in_end);
	sqlite3_bind_int(ins, 23, f->attempts);
	if (f->has_exit)
		sqlite3_bind_int64(ins, 24, f->exit_code);
	else if (a->has_reg_exit && a->kind == AK_WIN32 && strcmp(outcome, "timed-out") != 0)
		sqlite3_bind_int64(ins, 24, a->reg_exit);
	if (has_hr) {
		sqlite3_bind_int64(ins, 25, hr);
		hex32(hx, hr);
		sqlite3_bind_text(ins, 26, hx, -1, SQLITE_TRANSIENT);
	}
	if (enf >= 0)
		sqlite3_bind_int(ins, 27, enf);
	if (a->has_reg_comp)
		sqlite3_bind_int(ins, 28, a->reg_comp);
	if (f->detection[0])
		sqlite3_bind_text(ins, 29, f->detection, -1, SQLITE_TRANSIENT);
	/* held the ESP: from its first activity to its ESP end (or install end), within the phase */
	if (a->tracked && f->has_esp_start) {
		const struct phase_row *p = ph >= 0 ? phase_of(phases, ph) : NULL;
		struct when end;
		bool has_end = false;
		double pd;
		if (f->has_esp_end) {
			end = f->esp_end;
			has_end = true;
		} else if (f->has_in_end) {
			end = f->in_end;
			has_end = true;
		} else if (p && p->has_end) {
			end = p->end;
			has_end = true;
		}
		if (has_end && esp_when_diff(&f->esp_start, &end, &held) && held >= 0) {
			if (p && p->has_start && p->has_end && esp_when_diff(&p->start, &p->end, &pd) &&
			    held > pd)
				held = pd;
			sqlite3_bind_double(ins, 30, held);
		}
	}
	sqlite3_bind_text(ins, 31, outcome, -1, SQLITE_STATIC);
	if (failure)
		sqlite3_bind_text(ins, 32, failure, -1, SQLITE_TRANSIENT);
	if (has_fcode) {
		sqlite3_bind_int64(ins, 33, (int32_t)fcode);
		hex32(hx, fcode);
		sqlite3_bind_text(ins, 34, hx, -1, SQLITE_TRANSIENT);
	}
	if (sqlite3_step(ins) != SQLITE_DONE) {
		sqlite3_reset(ins);
		return esp_fail(c, "app");
	}
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	return APD_OK;
}

/* App, then the SQL order: UTC times first, ascending; then the wall clock (none first); then
   the order written (the pointers are into one array). */
static int
aev_cmp(const void *pa, const void *pb)
{
	const struct esp_aev *a = *(const struct esp_aev *const *)pa, *b = *(const struct esp_aev *const *)pb;
	int r;

	if (a->app != b->app)
		return a->app < b->app ? -1 : 1;
	if (a->has_utc != b->has_utc)
		return a->has_utc ? -1 : 1;
	if (a->has_utc && a->utc != b->utc)
		return a->utc < b->utc ? -1 : 1;
	if (a->local[0] == '\0' || b->local[0] == '\0') {
		if (a->local[0] != b->local[0])
			return a->local[0] == '\0' ? -1 : 1;
	} else if ((r = strcmp(a->local, b->local)) != 0) {
		return r;
	}
	return a < b ? -1 : a > b;
}

int
esp_apps_write(struct esp_ctx *c, const struct vec *phases)
{
	sqlite3_stmt *ins;
	struct fold *folds;
	const struct esp_aev **order;
	size_t i;

	if (c->apps.n == 0)
		return APD_OK;
	folds = calloc(c->apps.n, sizeof(*folds));
	if (folds == NULL)
		return c->rc = apd_set_error(c->err, APD_FATAL, "out of memory");
	for (i = 0; i < c->apps.n; i++) {
		fold_init(&folds[i]);
		folds[i].dl_total = esp_app(c, (int)i)->has_size ? esp_app(c, (int)i)->size : 0;
	}
	/* registry values ('r'); logs, which keep the wall clock ('l'); event records ('e').
	   Within one app the rows of one kind of source share a clock.  The rows as
	   esp_app_event wrote them, per app in the order of SQL's "ORDER BY ts_utc IS NULL,
	   ts_utc, ts_local, id" (reading them back and sorting them in SQL cost ~0.1 s on a
	   bundle with 55,000 of them). */
	order = malloc((c->aev.n ? c->aev.n : 1) * sizeof(*order));
	if (order == NULL) {
		free(folds);
		return c->rc = apd_set_error(c->err, APD_FATAL, "out of memory");
	}
	for (i = 0; i < c->aev.n; i++)
		order[i] = VEC_AT(c->aev, struct esp_aev, i);
	qsort(order, c->aev.n, sizeof(*order), aev_cmp);
	for (i = 0; i < c->aev.n; i++) {
		const struct esp_aev *e = order[i];
		struct when t;
		esp_when_from(&t, e->has_utc ? &e->utc : NULL, e->local[0] ? e->local : NULL, e->event_id);
		fold_row(&folds[e->app], e->kind, e->has_value, e->value, e->detail, &t,
		    e->has_utc || e->local[0], e->src);
	}
	free(order);
	if (sqlite3_prepare_v2(c->db, "INSERT INTO app(id, kind, revision, name, name_source, intent, "
	    "target, esp_tracked, phase, esp_state, download_start_utc, download_start_local, "
	    "download_end_utc, download_end_local, download_s, size_bytes, do_peer_pct, "
	    "install_start_utc, install_start_local, install_end_utc, install_end_local, install_s, "
	    "attempts, exit_code, hresult, hresult_hex, enforcement_state, compliance_state, detection, "
	    "held_esp_s, outcome, failure, failure_code, failure_code_hex) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
	    "?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34)", -1, &ins, NULL) != SQLITE_OK) {
		free(folds);
		return esp_fail(c, "app insert");
	}
	for (i = 0; i < c->apps.n && c->rc == APD_OK; i++)
		write_app(c, ins, esp_app(c, (int)i), &folds[i], phases);
	sqlite3_finalize(ins);
	free(folds);
	return c->rc;
}

int
esp_scripts_write(struct esp_ctx *c)
{
	sqlite3_stmt *ins;
	size_t i;

	if (c->scripts.n == 0)
		return APD_OK;
	if (sqlite3_prepare_v2(c->db, "INSERT INTO script(id, kind, name, context, user_id, phase, "
	    "start_utc, start_local, end_utc, end_local, duration_s, runs, exit_code, result, error, "
	    "source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	    -1, &ins, NULL) != SQLITE_OK)
		return esp_fail(c, "script insert");
	for (i = 0; i < c->scripts.n; i++) {
		struct script *s = esp_script(c, (int)i);
		const struct esp_obs *best = NULL;
		size_t k;

		sqlite3_bind_text(ins, 1, s->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, s->kind, -1, SQLITE_STATIC);
		if (s->name)
			sqlite3_bind_text(ins, 3, s->name, -1, SQLITE_STATIC);
		if (s->context)
			sqlite3_bind_text(ins, 4, s->context, -1, SQLITE_STATIC);
		if (s->user)
			sqlite3_bind_text(ins, 5, s->user, -1, SQLITE_STATIC);
		for (k = 0; s->has_start && k < c->obs.n; k++) {
			const struct esp_obs *o = VEC_AT(c->obs, struct esp_obs, k);
			bool ok;
			if (esp_when_cmp(&o->t, &s->start, &ok) <= 0 && ok)
				best = o;
		}
		if (best && best->ph != PH_NOTINESP)
			sqlite3_bind_text(ins, 6, esp_phase_names[best->ph], -1, SQLITE_STATIC);
		esp_bind_when(ins, 7, 8, &s->start, s->has_start);
		esp_bind_when(ins, 9, 10, &s->end, s->has_end);
		bind_secs(ins, 11, &s->start, s->has_start, &s->end, s->has_end);
		sqlite3_bind_int(ins, 12, s->runs);
		if (s->has_exit)
			sqlite3_bind_int64(ins, 13, s->exit_code);
		if (s->result)
			sqlite3_bind_text(ins, 14, s->result, -1, SQLITE_STATIC);
		if (s->error)
			sqlite3_bind_text(ins, 15, s->error, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 16, s->src == 3 ? "ime+registry" : s->src == 2 ? "registry" : "ime",
		    -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			sqlite3_finalize(ins);
			return esp_fail(c, "script");
		}
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	sqlite3_finalize(ins);
	return APD_OK;
}

void
esp_apps_done(struct esp_ctx *c)
{
	size_t i;

	for (i = 0; i < c->apps.n; i++) {
		free(esp_app(c, (int)i)->id);
		free(esp_app(c, (int)i)->name);
	}
	for (i = 0; i < c->scripts.n; i++) {
		struct script *s = esp_script(c, (int)i);
		free(s->id);
		free(s->name);
		free(s->context);
		free(s->user);
		free(s->result);
		free(s->error);
	}
	free(c->hash);
	c->hash = NULL;
	c->hcap = 0;
}
