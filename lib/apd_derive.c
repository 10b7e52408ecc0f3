/*
 * apd_derive.c - what the index learns once every source is in it.
 *
 * apd_derive_all() is exported, and the zone reading the store shares
 * (apd_tz_read, apd_tz_equal).  In order:
 *   1. device facts from registry values (a table below) and from file
 *      names (DiagLogs-<device>-<UTC time>.zip);
 *   2. Intune old-layout folders ("3/export.reg") get their origin from the
 *      n-th directive of results.xml (fact intune.directive.<n>);
 *   3. the device time zone (HKLM\SYSTEM\...\TimeZoneInformation), then
 *      every event logged in device-local time gets ts_utc under that
 *      zone's rules, with tz_source 'registry' (those the store did not
 *      already convert while loading: struct apd_tz_done).  Without evidence the
 *      events keep ts_utc NULL and tz_source 'local', and the fact
 *      time.zone_source says 'none'.
 */
#include "apd_store.h"
#include "apd_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry value -> fact.  Keys are below HKLM and compared case-insensitively. */
static const struct {
	const char *fact;
	const char *key;
	const char *value;
} reg_facts[] = {
	{ "os.product_name", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "ProductName" },
	{ "os.edition", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "EditionID" },
	{ "os.build", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "CurrentBuild" },
	{ "os.ubr", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "UBR" },
	{ "os.display_version", "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "DisplayVersion" },
	{ "device.name", "SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName",
	  "ComputerName" },
	{ "device.timezone", "SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation",
	  "TimeZoneKeyName" },
	{ "device.timezone", "SYSTEM\\ControlSet001\\Control\\TimeZoneInformation",
	  "TimeZoneKeyName" },
#define AP "SOFTWARE\\Microsoft\\Provisioning\\Diagnostics\\Autopilot"
	{ "autopilot.CloudAssignedTenantId", AP, "CloudAssignedTenantId" },
	{ "autopilot.CloudAssignedTenantDomain", AP, "CloudAssignedTenantDomain" },
	{ "autopilot.DeploymentProfileName", AP, "DeploymentProfileName" },
	{ "autopilot.IsAutoPilotDisabled", AP, "IsAutoPilotDisabled" },
	{ "autopilot.TenantMatched", AP, "TenantMatched" },
	{ "autopilot.CloudAssignedOobeConfig", AP, "CloudAssignedOobeConfig" },
	{ "autopilot.CloudAssignedForcedEnrollment", AP, "CloudAssignedForcedEnrollment" },
	{ "autopilot.ZtdCorrelationId", AP, "ZtdCorrelationId" },
	{ "autopilot.AadTenantId", AP, "AadTenantId" },
#undef AP
};

static int
run(sqlite3 *db, const char *sql, struct apd_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		apd_set_error(err, APD_FATAL, "deriving facts: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return APD_FATAL;
	}
	return APD_OK;
}

static int
registry_facts(sqlite3 *db, struct apd_error *err)
{
	sqlite3_stmt *s;
	size_t i;

	if (sqlite3_prepare_v2(db, "INSERT INTO fact(name, value, source_id) "
	    "SELECT ?1, CAST(value AS TEXT), source_id FROM reg_value "
	    "WHERE hive = 'HKLM' AND key = ?2 AND name = ?3 ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return apd_set_error(err, APD_FATAL, "deriving facts: %s", sqlite3_errmsg(db));
	for (i = 0; i < sizeof(reg_facts) / sizeof(reg_facts[0]); i++) {
		sqlite3_bind_text(s, 1, reg_facts[i].fact, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, reg_facts[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, reg_facts[i].value, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE) {
			apd_set_error(err, APD_FATAL, "deriving facts: %s", sqlite3_errmsg(db));
			sqlite3_finalize(s);
			return APD_FATAL;
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);

	/* enrollments, and the ESP settings of the Intune (MS DM Server) one */
	return run(db,
	    "INSERT INTO fact(name, value, source_id) "
	    "SELECT 'enrollment.' || substr(key, 32) || '.' || name, CAST(value AS TEXT), source_id "
	    "FROM reg_value WHERE hive = 'HKLM' AND key LIKE 'SOFTWARE\\Microsoft\\Enrollments\\%' "
	    "AND instr(substr(key, 32), '\\') = 0 "
	    "AND name IN ('ProviderID', 'UPN', 'EnrollmentState', 'EnrollmentType', 'AADTenantID', "
	    "'DiscoveryServiceFullURL') ORDER BY id;"
	    "INSERT INTO fact(name, value, source_id) "
	    "SELECT 'esp.' || fs.name, CAST(fs.value AS TEXT), fs.source_id FROM reg_value fs "
	    "WHERE fs.hive = 'HKLM' AND fs.key LIKE 'SOFTWARE\\Microsoft\\Enrollments\\%\\FirstSync' "
	    "AND fs.name IN ('SkipDeviceStatusPage', 'SkipUserStatusPage', 'SyncFailureTimeout', "
	    "'BlockInStatusPage', 'AllowCollectLogsButton', 'IsServerProvisioningDone') "
	    "AND EXISTS (SELECT 1 FROM reg_value p WHERE p.hive = 'HKLM' "
	    "AND p.key = substr(fs.key, 1, length(fs.key) - 10) AND p.name = 'ProviderID' "
	    "AND p.value = 'MS DM Server') ORDER BY fs.id;", err);
}

/* DiagLogs-<device>-<YYYYMMDDTHHMMSSZ>.zip at the top of the input. */
static int
name_facts(sqlite3 *db, struct apd_error *err)
{
	sqlite3_stmt *q, *ins;
	int rc = APD_OK;

	if (sqlite3_prepare_v2(db, "SELECT id, path FROM source WHERE parent_id IS NULL "
	    "AND path LIKE 'DiagLogs-%'", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO fact(name, value, source_id) VALUES (?1, ?2, ?3)",
	    -1, &ins, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return apd_set_error(err, APD_FATAL, "deriving facts: %s", sqlite3_errmsg(db));
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(q, 1);
		const char *dev = path + strlen("DiagLogs-");
		const char *dash = strrchr(dev, '-');
		char iso[32];

		if (dash == NULL || dash == dev || strlen(dash + 1) < 16 || dash[9] != 'T' ||
		    dash[16] != 'Z')
			continue;
		snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", dash + 1, dash + 5,
		    dash + 7, dash + 10, dash + 12, dash + 14);
		sqlite3_bind_text(ins, 1, "device.name", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, dev, (int)(dash - dev), SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 3, sqlite3_column_int64(q, 0));
		if (sqlite3_step(ins) != SQLITE_DONE)
			rc = APD_FATAL;
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, "intune.collected_at", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, iso, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			rc = APD_FATAL;
		sqlite3_reset(ins);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	if (rc != APD_OK)
		return apd_set_error(err, APD_FATAL, "deriving facts: %s", sqlite3_errmsg(db));
	return APD_OK;
}

static int
intune_numbered_origins(sqlite3 *db, struct apd_error *err)
{
	return run(db,
	    "WITH e AS (SELECT s.id, s.parent_id, substr(s.path, length(p.path) + 2) AS entry "
	    "           FROM source s JOIN source p ON p.id = s.parent_id WHERE s.origin IS NULL), "
	    "n AS (SELECT id, parent_id, substr(entry, 1, instr(entry, '/') - 1) AS num FROM e "
	    "      WHERE instr(entry, '/') > 1) "
	    "UPDATE source SET origin = (SELECT f.value FROM n JOIN source r ON r.parent_id = n.parent_id "
	    "  JOIN fact f ON f.source_id = r.id "
	    "  WHERE n.id = source.id AND f.name = 'intune.directive.' || n.num) "
	    "WHERE id IN (SELECT id FROM n WHERE num NOT GLOB '*[^0-9]*') "
	    "AND origin IS NULL", err);
}

/* ---- time zone ---- */

/* apd_local_to_utc()'s user data: the zone, and the memo of its last year */
struct zone_fn {
	const struct apd_tzinfo *tz;
	struct apd_tz_memo memo;
};

static void
local_to_utc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct zone_fn *z = sqlite3_user_data(ctx);
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	int64_t us;

	(void)argc;
	if (s == NULL || !apd_parse_iso(apd_sv(s, (size_t)sqlite3_value_bytes(argv[0])), &us)) {
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_int64(ctx, apd_tz_local_to_utc_memo(z->tz, &z->memo, us));
}

static bool
systime_equal(const struct apd_systime *a, const struct apd_systime *b)
{
	return a->year == b->year && a->month == b->month && a->dow == b->dow &&
	    a->day == b->day && a->hour == b->hour && a->minute == b->minute &&
	    a->second == b->second && a->msec == b->msec;
}

bool
apd_tz_equal(const struct apd_tzinfo *a, const struct apd_tzinfo *b)
{
	return a->bias == b->bias && a->standard_bias == b->standard_bias &&
	    a->daylight_bias == b->daylight_bias && a->dynamic_dst_disabled == b->dynamic_dst_disabled &&
	    systime_equal(&a->standard_start, &b->standard_start) &&
	    systime_equal(&a->daylight_start, &b->daylight_start);
}

const char *const apd_tz_keys[2] = {
	"SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation",
	"SYSTEM\\ControlSet001\\Control\\TimeZoneInformation",
};

bool
apd_tz_feed(struct apd_tzinfo *tz, const char *name, int64_t num, const void *blob, size_t blob_len)
{
	int32_t v32 = (int32_t)(uint32_t)num;

	if (sqlite3_stricmp(name, "Bias") == 0) {
		tz->bias = v32;
		return true;
	} else if (sqlite3_stricmp(name, "StandardBias") == 0) {
		tz->standard_bias = v32;
	} else if (sqlite3_stricmp(name, "DaylightBias") == 0) {
		tz->daylight_bias = v32;
	} else if (sqlite3_stricmp(name, "DynamicDaylightTimeDisabled") == 0) {
		tz->dynamic_dst_disabled = v32 != 0;
	} else if (sqlite3_stricmp(name, "StandardStart") == 0 && blob) {
		apd_systime_decode(blob, blob_len, &tz->standard_start);
	} else if (sqlite3_stricmp(name, "DaylightStart") == 0 && blob) {
		apd_systime_decode(blob, blob_len, &tz->daylight_start);
	}
	return false;
}

int
apd_tz_read(sqlite3 *db, struct apd_tzinfo *tz, int64_t *source_id)
{
	sqlite3_stmt *s;
	int found = 0;

	memset(tz, 0, sizeof(*tz));
	if (sqlite3_prepare_v2(db, "SELECT name, value, source_id FROM reg_value WHERE hive = 'HKLM' "
	    "AND key IN (?1, ?2) AND name IS NOT NULL ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(s, 1, apd_tz_keys[0], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, apd_tz_keys[1], -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		bool blob = sqlite3_column_type(s, 1) == SQLITE_BLOB;
		const void *b = blob ? sqlite3_column_blob(s, 1) : NULL;
		size_t nb = blob ? (size_t)sqlite3_column_bytes(s, 1) : 0;

		if (blob && b == NULL)
			b = "";   /* a zero-length blob is still binary */
		if (apd_tz_feed(tz, name, sqlite3_column_int64(s, 1), b, nb)) {
			found = 1;
			*source_id = sqlite3_column_int64(s, 2);
		}
	}
	sqlite3_finalize(s);
	/* Windows ignores DynamicDaylightTimeDisabled unless a DST rule exists */
	return found;
}

/*
 * Which device-local events still need converting under the zone found:
 * those the store left local, or all of them when the store converted some
 * under another zone (a later registry source changed it).  NULL: none.
 */
static const char *
to_convert(const struct apd_tz_done *done, const struct apd_tzinfo *tz)
{
	if (done == NULL || !done->used)
		return "tz_source = 'local'";
	if (done->mixed || !apd_tz_equal(&done->tz, tz))
		return "tz_source IN ('local', 'registry')";
	return done->left ? "tz_source = 'local'" : NULL;
}

static int
time_zone(sqlite3 *db, struct apd_tz_done *done, struct apd_error *err)
{
	struct apd_tzinfo tz;
	int64_t src = 0;
	const char *which;
	char sql[256];

	if (!apd_tz_read(db, &tz, &src)) {
		/* the store saw a zone that is gone now: cannot happen short of a
		   source rolled back, but then its times are not known either */
		if (done && done->used) {
			done->rewritten = done->rewrote_all = true;
			if (run(db, "UPDATE event SET ts_utc = NULL, tz_source = 'local' "
			    "WHERE tz_source = 'registry'", err) != APD_OK)
				return APD_FATAL;
		}
		return run(db, "INSERT INTO fact(name, value) VALUES ('time.zone_source', 'none')", err);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO fact(name, value, source_id) VALUES "
	    "('time.zone_source', 'registry', %lld), ('time.bias_minutes', '%d', %lld)",
	    (long long)src, (int)tz.bias, (long long)src);
	if (run(db, sql, err) != APD_OK)
		return APD_FATAL;
	if ((which = to_convert(done, &tz)) != NULL) {
		if (done) {
			done->rewritten = true;
			done->rewrote_all = strcmp(which, "tz_source = 'local'") != 0;
		}
		snprintf(sql, sizeof(sql), "%s AND ts_local IS NOT NULL", which);
		return apd_tz_convert(db, &tz, "event", ", tz_source = 'registry'", sql, err);
	}
	return APD_OK;
}

int
apd_tz_convert(sqlite3 *db, const struct apd_tzinfo *tz, const char *table, const char *also,
    const char *where, struct apd_error *err)
{
	struct zone_fn z = { tz, { 0, 0, 0, 0 } };
	char sql[512];
	int rc;

	if (sqlite3_create_function(db, "apd_local_to_utc", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
	    &z, local_to_utc, NULL, NULL) != SQLITE_OK)
		return apd_set_error(err, APD_FATAL, "deriving times: %s", sqlite3_errmsg(db));
	snprintf(sql, sizeof(sql), "UPDATE %s SET ts_utc = apd_local_to_utc(ts_local)%s WHERE %s",
	    table, also, where);
	rc = run(db, sql, err);
	/* the function's user data is the caller's: unregister it */
	sqlite3_create_function(db, "apd_local_to_utc", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
	return rc;
}

int
apd_derive_all(sqlite3 *db, struct apd_tz_done *done, struct apd_error *err)
{
	if (registry_facts(db, err) != APD_OK || name_facts(db, err) != APD_OK ||
	    intune_numbered_origins(db, err) != APD_OK || time_zone(db, done, err) != APD_OK)
		return APD_FATAL;
	return APD_OK;
}
