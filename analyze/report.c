/*
 * report.c - the verdict and the findings, read back from the index's
 * finding tables (docs/schema.md): text for a technician, JSON for tools.
 *
 * The verdict is the finding of rank 1; every finding is then shown with
 * its evidence (time, source path, line or record) and its fix.  Text from
 * the input is printed through fe_safe().
 */
#include "fe.h"
#include "report.h"

#include <stdio.h>
#include <string.h>

#define TEXT_MATCHES 5       /* trigger records shown per finding in text */
#define TEXT_CONTEXT 3       /* and context records */
#define WRAP 100

static const char *
col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	return v ? v : "";
}

/* Print text word-wrapped at WRAP columns, continuation lines indented. */
static void
wrap(const char *text, size_t first_col, size_t indent)
{
	size_t colno = first_col;
	const char *p = text;
	bool line_start = true;

	while (*p) {
		size_t n;
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		if (!line_start && colno + 1 + n > WRAP) {
			printf("\n%*s", (int)indent, "");
			colno = indent;
		} else if (!line_start) {
			putchar(' ');
			colno++;
		}
		line_start = false;
		fe_safe_n(stdout, p, n);
		colno += n;
		p += n;
	}
	putchar('\n');
}

/*
 * The evidence of finding ?1.  Registry rows are read from reg_val and
 * reg_key, not through the reg_value view: SQLite cannot flatten a view that
 * is a join into the right side of a LEFT JOIN, so it materialized every
 * registry value of the index once per finding (1.5 s per finding for a
 * dump of 1.2 million values; tests/check_report.c checks the plan).
 */
const char *const report_evidence_sql =
    "SELECT fe.role, "
    "  CASE WHEN fe.event_id IS NOT NULL THEN 'event' WHEN fe.reg_value_id IS NOT NULL THEN 'registry' "
    "       WHEN fe.fact IS NOT NULL THEN 'fact' ELSE 'gap' END, "
    "  CASE WHEN e.ts_utc IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%SZ', e.ts_utc / 1000000, 'unixepoch') "
    "       WHEN fe.ts_utc IS NOT NULL AND fe.fact IS NOT NULL "
    "       THEN strftime('%Y-%m-%dT%H:%M:%SZ', fe.ts_utc / 1000000, 'unixepoch') END, "
    "  e.ts_local, COALESCE(se.path, sr.path, sg.path), COALESCE(e.line, r.line), e.seq, "
    "  e.event_id, e.channel, e.message, rk.hive, rk.key, r.name, "
    "  CASE WHEN typeof(r.value) = 'blob' THEN 'hex:' || hex(substr(r.value, 1, 64)) ELSE r.value END, "
    "  fe.fact, (SELECT value FROM fact WHERE name = fe.fact ORDER BY rowid LIMIT 1), "
    "  g.item, g.hresult_hex, fe.event_id, fe.reg_value_id, fe.gap_id "
    "FROM finding_evidence fe "
    "LEFT JOIN event e ON e.id = fe.event_id LEFT JOIN source se ON se.id = e.source_id "
    "LEFT JOIN reg_val r ON r.id = fe.reg_value_id LEFT JOIN reg_key rk ON rk.id = r.key_id "
    "LEFT JOIN source sr ON sr.id = r.source_id "
    "LEFT JOIN gap g ON g.id = fe.gap_id LEFT JOIN source sg ON sg.id = g.source_id "
    "WHERE fe.finding_id = ?1 "
    "ORDER BY fe.role = 'context', fe.ts_utc IS NULL, fe.ts_utc, fe.rowid";

const char *const report_finding_sql =
    "SELECT id, rank, rule_id, rule_version, severity, category, confidence, title, explanation, "
    "  remediation, refs, group_value, "
    "  strftime('%Y-%m-%dT%H:%M:%SZ', first_ts / 1000000, 'unixepoch'), "
    "  strftime('%Y-%m-%dT%H:%M:%SZ', last_ts / 1000000, 'unixepoch'), count "
    "FROM finding ORDER BY rank";

/* The first line of a message, at most n bytes of it. */
static void
first_line(const char *m, size_t max)
{
	size_t n = strcspn(m, "\r\n");

	if (n > max) {
		fe_safe_n(stdout, m, max);
		fputs("...", stdout);
	} else {
		fe_safe_n(stdout, m, n);
		if (m[n])
			fputs(" ...", stdout);
	}
}

static void
print_evidence(sqlite3 *db, int64_t fid)
{
	sqlite3_stmt *s;
	int matches = 0, context = 0, more = 0;

	if (sqlite3_prepare_v2(db, report_evidence_sql, -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, fid);
	printf("   Evidence:\n");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *kind = col(s, 1);
		bool ctx = strcmp(col(s, 0), "context") == 0;

		if (ctx ? context == TEXT_CONTEXT : matches == TEXT_MATCHES) {
			more++;
			continue;
		}
		if (ctx)
			context++;
		else
			matches++;
		printf("     %s", strcmp(col(s, 0), "context") == 0 ? "(context) " : "");
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			printf("%s  ", col(s, 2));
		else if (sqlite3_column_type(s, 3) != SQLITE_NULL)
			printf("%.19s (device local time)  ", col(s, 3));
		else
			printf("(no time)  ");
		fe_safe(stdout, col(s, 4));
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			printf(":%lld", sqlite3_column_int64(s, 5));
		else if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			printf(" record %lld", sqlite3_column_int64(s, 6));
		printf("\n       ");
		if (strcmp(kind, "event") == 0) {
			if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
				printf("event %lld ", sqlite3_column_int64(s, 7));
				if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
					putchar('(');
					fe_safe(stdout, col(s, 8));
					fputs(") ", stdout);
				}
			}
			first_line(col(s, 9), 200);
		} else if (strcmp(kind, "registry") == 0) {
			fe_safe(stdout, col(s, 10));
			putchar('\\');
			fe_safe(stdout, col(s, 11));
			putchar('\\');
			fe_safe(stdout, col(s, 12));
			fputs(" = ", stdout);
			first_line(col(s, 13), 200);
		} else if (strcmp(kind, "fact") == 0) {
			fputs("fact ", stdout);
			fe_safe(stdout, col(s, 14));
			fputs(" = ", stdout);
			first_line(col(s, 15), 200);
		} else {
			fputs("not collected: ", stdout);
			fe_safe(stdout, col(s, 16));
			if (sqlite3_column_type(s, 17) != SQLITE_NULL)
				printf(" (%s)", col(s, 17));
		}
		putchar('\n');
	}
	if (more)
		printf("     ... and %d more: SELECT * FROM finding_evidence WHERE finding_id = %lld\n",
		    more, (long long)fid);
	sqlite3_finalize(s);
}

const char *const report_key_facts[][2] = {
	{ "device.name", "device" },
	{ "device.serial", "serial" },
	{ "device.manufacturer", "manufacturer" },
	{ "device.model", "model" },
	{ "os.product_name", "Windows" },
	{ "os.version", "version" },
	{ "os.build", "build" },
	{ "os.ubr", "update (UBR)" },
	{ "autopilot.DeploymentProfileName", "Autopilot profile" },
	{ "autopilot.CloudAssignedTenantDomain", "tenant" },
	{ "autopilot.CloudAssignedTenantId", "tenant id" },
	{ "autopilot.ErrorCode", "profile download error" },
	{ "autopilot.ErrorReason", "profile error reason" },
	{ "esp.SkipDeviceStatusPage", "ESP device page skipped" },
	{ "esp.SkipUserStatusPage", "ESP user page skipped" },
	{ "esp.SyncFailureTimeout", "ESP timeout (minutes)" },
	{ "ime.version", "IME agent version" },
	{ "device.timezone", "time zone" },
	{ "intune.collected_at", "collected (UTC)" },
	{ "mdmdiag.areas", "MdmDiagnostics areas" },
};

const size_t report_nkey_facts = sizeof(report_key_facts) / sizeof(report_key_facts[0]);

/* Steps and references are JSON arrays in the index; json_each reads them. */
sqlite3_stmt *
report_list_rows(sqlite3 *db, const char *json, bool refs)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, refs ? "SELECT json_extract(value, '$.title'), "
	    "json_extract(value, '$.url') FROM json_each(?1)" : "SELECT value, NULL FROM json_each(?1)",
	    -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, json, -1, SQLITE_TRANSIENT);
	return s;
}

static void
print_list(sqlite3 *db, const char *json, const char *head, bool numbered, bool refs)
{
	sqlite3_stmt *s;
	int n = 0;

	if ((s = report_list_rows(db, json, refs)) == NULL)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n++ == 0)
			printf("   %s\n", head);
		if (numbered) {
			printf("     %d. ", n);
			wrap(col(s, 0), 8, 8);
		} else {
			printf("     ");
			fe_safe(stdout, col(s, 0));
			fputs(": ", stdout);
			fe_safe(stdout, col(s, 1));
			putchar('\n');
		}
	}
	sqlite3_finalize(s);
}

void
report_text(sqlite3 *db, const struct report_rules *rr)
{
	sqlite3_stmt *s;
	int n = 0, total = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM finding", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		total = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rr->failed) {
		printf("\nVerdict: not evaluated: the rules could not be evaluated (see the error above)\n");
		return;
	}
	if (rr->evaluated == 0) {
		printf("\nVerdict: not evaluated: no rules were loaded%s\n",
		    rr->disabled ? " (--no-default-rules and no --rules)" : "");
		return;
	}
	if (total == 0) {
		printf("\nVerdict: no known failure found. %u rules were checked against every source "
		    "and none matched.\n", rr->evaluated);
		printf("         If the deployment still failed, the cause is not in the rule pack: "
		    "read the timeline (below).\n");
		return;
	}
	if (sqlite3_prepare_v2(db, report_finding_sql, -1, &s, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t fid = sqlite3_column_int64(s, 0);

		if (n == 0) {
			printf("\nVerdict: ");
			wrap(col(s, 7), 9, 9);
			printf("         %s, %s, confidence %d (rule %s)", col(s, 4), col(s, 5),
			    sqlite3_column_int(s, 6), col(s, 2));
			if (sqlite3_column_type(s, 12) != SQLITE_NULL)
				printf(", first seen %s", col(s, 12));
			putchar('\n');
			printf("\nFindings (%d, most likely cause first):\n", total);
		}
		n++;
		printf("\n%2d. [%s] ", n, col(s, 4));
		wrap(col(s, 7), 7 + strlen(col(s, 4)), 4);
		printf("   rule %s v%d (%s), confidence %d, %lld record%s", col(s, 2),
		    sqlite3_column_int(s, 3), col(s, 5), sqlite3_column_int(s, 6),
		    sqlite3_column_int64(s, 14), sqlite3_column_int64(s, 14) == 1 ? "" : "s");
		if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
			printf(", %s", col(s, 12));
			if (strcmp(col(s, 12), col(s, 13)) != 0)
				printf(" to %s", col(s, 13));
		}
		putchar('\n');
		printf("   Why: ");
		wrap(col(s, 8), 8, 8);
		print_evidence(db, fid);
		print_list(db, col(s, 9), "Fix:", true, false);
		print_list(db, col(s, 10), "See:", false, true);
	}
	sqlite3_finalize(s);
	if (rr->warnings)
		printf("\n(%u rule warnings on standard error)\n", rr->warnings);
}

void
report_json(struct apd_jw *w, sqlite3 *db, const struct report_rules *rr)
{
	static const char *const ev_names[] = { NULL, NULL, "time_utc", "time_local", "source",
		"line", "seq", "event_id", "channel", "message", "hive", "key", "name", "value", "fact",
		"fact_value", "item", "hresult", "event_row", "reg_value_row", "gap_row" };
	sqlite3_stmt *s, *e = NULL;
	size_t i;

	if (sqlite3_prepare_v2(db, "SELECT title FROM finding WHERE rank = 1", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		apd_jw_str(w, "verdict", apd_sv_cstr(col(s, 0)));
	else
		apd_jw_str(w, "verdict", APD_SV_NULL);
	sqlite3_finalize(s);
	apd_jw_open(w, "findings", '[');
	if (sqlite3_prepare_v2(db, report_finding_sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, report_evidence_sql, -1, &e, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			apd_jw_open(w, NULL, '{');
			apd_jw_int(w, "rank", sqlite3_column_int64(s, 1));
			apd_jw_str(w, "rule", apd_sv_cstr(col(s, 2)));
			apd_jw_int(w, "version", sqlite3_column_int64(s, 3));
			apd_jw_str(w, "severity", apd_sv_cstr(col(s, 4)));
			apd_jw_str(w, "category", apd_sv_cstr(col(s, 5)));
			apd_jw_int(w, "confidence", sqlite3_column_int64(s, 6));
			apd_jw_str(w, "title", apd_sv_cstr(col(s, 7)));
			apd_jw_str(w, "explanation", apd_sv_cstr(col(s, 8)));
			apd_jw_raw(w, "remediation", apd_sv_cstr(col(s, 9)[0] ? col(s, 9) : "[]"));
			apd_jw_raw(w, "references", apd_sv_cstr(col(s, 10)[0] ? col(s, 10) : "[]"));
			apd_jw_str(w, "group", sqlite3_column_type(s, 11) == SQLITE_NULL ? APD_SV_NULL :
			    apd_sv_cstr(col(s, 11)));
			apd_jw_str(w, "first_utc", sqlite3_column_type(s, 12) == SQLITE_NULL ? APD_SV_NULL :
			    apd_sv_cstr(col(s, 12)));
			apd_jw_str(w, "last_utc", sqlite3_column_type(s, 13) == SQLITE_NULL ? APD_SV_NULL :
			    apd_sv_cstr(col(s, 13)));
			apd_jw_int(w, "count", sqlite3_column_int64(s, 14));
			apd_jw_open(w, "evidence", '[');
			sqlite3_bind_int64(e, 1, sqlite3_column_int64(s, 0));
			while (sqlite3_step(e) == SQLITE_ROW) {
				apd_jw_open(w, NULL, '{');
				apd_jw_str(w, "role", apd_sv_cstr(col(e, 0)));
				apd_jw_str(w, "kind", apd_sv_cstr(col(e, 1)));
				for (i = 2; i < sizeof(ev_names) / sizeof(ev_names[0]); i++) {
					switch (sqlite3_column_type(e, (int)i)) {
					case SQLITE_NULL:
						break;
					case SQLITE_INTEGER:
						apd_jw_int(w, ev_names[i], sqlite3_column_int64(e, (int)i));
						break;
					default:
						apd_jw_str(w, ev_names[i], apd_sv((const char *)sqlite3_column_text(e, (int)i),
						    (size_t)sqlite3_column_bytes(e, (int)i)));
						break;
					}
				}
				apd_jw_close(w, '}');
			}
			sqlite3_reset(e);
			apd_jw_close(w, ']');
			apd_jw_close(w, '}');
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(e);
	apd_jw_close(w, ']');
	apd_jw_open(w, "rules", '{');
	apd_jw_int(w, "evaluated", rr->evaluated);
	apd_jw_int(w, "milliseconds", (int64_t)rr->ms);
	apd_jw_open(w, "folders", '[');
	for (i = 0; i < rr->ndirs; i++)
		apd_jw_str(w, NULL, apd_sv_cstr(rr->dirs[i]));
	apd_jw_close(w, ']');
	apd_jw_open(w, "diagnostics", '[');
	for (i = 0; i < rr->ndiags; i++)
		apd_jw_str(w, NULL, apd_sv_cstr(rr->diags[i]));
	apd_jw_close(w, ']');
	apd_jw_close(w, '}');
}

/* ---- the model as JSON (analyze --json, report --format json) ---- */

static void
json_rows(struct apd_jw *w, sqlite3 *db, const char *key, const char *sql,
    const char *const *names, int ncols)
{
	sqlite3_stmt *s;
	int i;

	apd_jw_open(w, key, '[');
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			apd_jw_open(w, NULL, '{');
			for (i = 0; i < ncols; i++) {
				switch (sqlite3_column_type(s, i)) {
				case SQLITE_NULL:
					apd_jw_str(w, names[i], APD_SV_NULL);
					break;
				case SQLITE_INTEGER:
					apd_jw_int(w, names[i], sqlite3_column_int64(s, i));
					break;
				default:
					apd_jw_str(w, names[i], apd_sv((const char *)sqlite3_column_text(s, i),
					    (size_t)sqlite3_column_bytes(s, i)));
					break;
				}
			}
			apd_jw_close(w, '}');
		}
	}
	sqlite3_finalize(s);
	apd_jw_close(w, ']');
}

#define ISO_UTC(c) "strftime('%Y-%m-%dT%H:%M:%fZ', " c " / 1e6, 'unixepoch')"

/* "esp": the deployment model (docs/esp.md); null when the model is not there. */
static void
json_esp(struct apd_jw *w, sqlite3 *db)
{
	static const char *const dep_cols[] = { "scenario", "flow", "join_method", "evidence",
		"tenant_id", "tenant_domain", "profile_name", "profile_source", "oobe_config",
		"oobe_config_bits", "outcome", "start_utc", "start_local", "end_utc", "end_local",
		"duration_s", "timeout_min", "device_page", "user_page", "block_flags" };
	static const char *const blk_cols[] = { "kind", "id", "name", "phase", "reason", "code",
		"code_hex" };
	static const char *const ph_cols[] = { "phase", "flow", "start_utc", "start_local",
		"start_source", "end_utc", "end_local", "end_source", "duration_s", "outcome",
		"outcome_source", "timeout_min", "apps" };
	static const char *const app_cols[] = { "id", "kind", "name", "intent", "target",
		"esp_tracked", "phase", "esp_state", "outcome", "exit_code", "hresult_hex",
		"enforcement_state", "compliance_state", "detection", "held_esp_s", "download_s",
		"install_s", "size_bytes", "failure", "failure_code_hex" };
	sqlite3_stmt *s;
	int i;

	if (sqlite3_prepare_v2(db, "SELECT scenario, flow, join_method, evidence, tenant_id, "
	    "tenant_domain, profile_name, profile_source, oobe_config, oobe_config_bits, esp_outcome, "
	    ISO_UTC("esp_start_utc") ", esp_start_local, " ISO_UTC("esp_end_utc") ", esp_end_local, "
	    "CAST(round(esp_duration_s) AS INTEGER), esp_timeout_min, esp_device_page, esp_user_page, "
	    "esp_block_flags, "
	    "blocking_kind, blocking_id, blocking_name, blocking_phase, blocking_reason, blocking_code, "
	    "blocking_code_hex FROM deployment", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		apd_jw_raw(w, "esp", APD_SV_LIT("null"));
		return;
	}
	apd_jw_open(w, "esp", '{');
	for (i = 0; i < 20; i++) {
		int t = sqlite3_column_type(s, i);
		if (t == SQLITE_NULL)
			apd_jw_str(w, dep_cols[i], APD_SV_NULL);
		else if (i == 3 || i == 9)   /* JSON arrays */
			apd_jw_raw(w, dep_cols[i], apd_sv_cstr(col(s, i)));
		else if (t == SQLITE_INTEGER)
			apd_jw_int(w, dep_cols[i], sqlite3_column_int64(s, i));
		else
			apd_jw_str(w, dep_cols[i], apd_sv_cstr(col(s, i)));
	}
	if (sqlite3_column_type(s, 20) == SQLITE_NULL) {
		apd_jw_raw(w, "blocking", APD_SV_LIT("null"));
	} else {
		apd_jw_open(w, "blocking", '{');
		for (i = 0; i < 7; i++) {
			int t = sqlite3_column_type(s, 20 + i);
			if (t == SQLITE_NULL)
				apd_jw_str(w, blk_cols[i], APD_SV_NULL);
			else if (t == SQLITE_INTEGER)
				apd_jw_int(w, blk_cols[i], sqlite3_column_int64(s, 20 + i));
			else
				apd_jw_str(w, blk_cols[i], apd_sv_cstr(col(s, 20 + i)));
		}
		apd_jw_close(w, '}');
	}
	sqlite3_finalize(s);
	json_rows(w, db, "phases", "SELECT phase, flow, " ISO_UTC("start_utc") ", start_local, "
	    "start_source, " ISO_UTC("end_utc") ", end_local, end_source, "
	    "CAST(round(duration_s) AS INTEGER), outcome, outcome_source, timeout_min, apps "
	    "FROM esp_phase ORDER BY id", ph_cols, 13);
	json_rows(w, db, "apps", "SELECT id, kind, name, intent, target, esp_tracked, phase, esp_state, "
	    "outcome, exit_code, hresult_hex, enforcement_state, compliance_state, detection, "
	    "CAST(round(held_esp_s) AS INTEGER), CAST(round(download_s) AS INTEGER), "
	    "CAST(round(install_s) AS INTEGER), size_bytes, failure, failure_code_hex FROM app "
	    "ORDER BY esp_tracked DESC, phase, coalesce(install_start_utc, download_start_utc), "
	    "install_start_local, id", app_cols, 20);
	apd_jw_close(w, '}');
}


void
report_json_model(struct apd_jw *w, sqlite3 *db)
{
	static const char *const src_cols[] = { "path", "kind", "parser", "status", "records",
		"warnings", "error", "size", "sha256", "origin" };
	static const char *const gap_cols[] = { "item", "hresult", "hresult_hex", "reason",
		"source" };
	sqlite3_stmt *s;

	json_rows(w, db, "sources", "SELECT path, kind, parser, status, records, warnings, error, "
	    "size, sha256, origin FROM source ORDER BY id", src_cols, 10);
	apd_jw_open(w, "facts", '{');
	if (sqlite3_prepare_v2(db, "SELECT name, value FROM fact WHERE rowid IN "
	    "(SELECT min(rowid) FROM fact GROUP BY name) ORDER BY name", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			apd_jw_str(w, col(s, 0), apd_sv_cstr(col(s, 1)));
	}
	sqlite3_finalize(s);
	apd_jw_close(w, '}');
	json_rows(w, db, "gaps", "SELECT item, hresult, hresult_hex, reason, "
	    "(SELECT path FROM source WHERE id = gap.source_id) FROM gap ORDER BY id", gap_cols, 5);
	json_esp(w, db);
}
