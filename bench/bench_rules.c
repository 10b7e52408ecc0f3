/*
 * bench_rules.c - the rules engine's benchmark driver (bench/rules.sh runs it).
 *
 *   bench_rules index OUT.db EVENTS   write an index of EVENTS synthetic records with
 *                                     the real store: IME lines of about 40 kinds for
 *                                     200 apps (exit codes, detection states, ESP
 *                                     phases, downloads, rare failures), Autopilot
 *                                     event records, and ESP tracking registry values
 *   bench_rules eval DB DIR [RUNS]    load the rules of DIR, evaluate them RUNS times
 *                                     (default 2) over DB, print the times
 *
 * The data is deterministic (a fixed LCG), so two runs measure the same work.
 */
#include "apd_limits.h"
#include "apd_rules.h"
#include "apd_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t seed = 0x2545F4914F6CDD1Dull;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(seed >> 33) % n;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
app_id(char out[40], unsigned k)
{
	snprintf(out, 40, "%08x-%04x-4%03x-8%03x-%012" PRIx64, 0x1d7b3e5fu + k * 7919u, k & 0xffff,
	    (k * 13) & 0xfff, (k * 29) & 0xfff, (uint64_t)0x3f5a7c9e1b2dull ^ ((uint64_t)k * 104729u));
}

/* One IME-style message; rare failures a few times in a million. */
static void
ime_line(char *buf, size_t n, unsigned *level)
{
	static const char *const states[] = { "Detected", "NotDetected", "Detected", "Detected" };
	static const int codes[] = { 0, 0, 0, 0, 0, 0, 0, 1, 1707, 3010, 1641, 2, 5 };
	char id[40];
	uint32_t r = rnd(1000000), k = rnd(40);

	*level = 1;
	app_id(id, rnd(200));
	if (r < 3) {
		snprintf(buf, n, "[Win32App][DetectionActionHandler] Detection for policy with id: %s "
		    "resulted in action status: Failed and detection state: NotComputed.", id);
		*level = 3;
		return;
	}
	if (r < 10) {
		snprintf(buf, n, "[Win32App] lpExitCode %d", r < 6 ? 1603 : 1618);
		return;
	}
	if (r < 12) {
		snprintf(buf, n, "[Win32App] Installation is timeout, collecting result");
		*level = 3;
		return;
	}
	switch (k) {
	case 0: snprintf(buf, n, "[Win32App][V3Processor] Processing subgraph with app ids: %s", id); break;
	case 1: snprintf(buf, n, "[Win32App][DetectionActionHandler] Detection for policy with id: %s "
	    "resulted in action status: Success and detection state: %s.", id, states[rnd(4)]); break;
	case 2: snprintf(buf, n, "[Win32App][ApplicabilityActionHandler] Applicability check for policy "
	    "with id: %s resulted in action status: Success and applicability state: Applicable.", id); break;
	case 3: snprintf(buf, n, "[Win32App] Content cache miss for app (id = %s, name = Contoso App %u), "
	    "start downloading", id, rnd(200)); break;
	case 4: snprintf(buf, n, "[StatusService] Downloading app (id = %s, name Contoso App %u) via DO, "
	    "bytes %u/%u for user 00000000-0000-0000-0000-000000000000", id, rnd(200), rnd(100000),
	    100000 + rnd(100000)); break;
	case 5: snprintf(buf, n, "[Win32App] lpExitCode %d", codes[rnd(13)]); break;
	case 6: snprintf(buf, n, "[Win32App] lpExitCode is defined as %s", rnd(10) ? "Success" : "Retry"); break;
	case 7: snprintf(buf, n, "[Win32App] Installer process timeout milliseconds: 3600000."); break;
	case 8: snprintf(buf, n, "[Win32App][EspHelper][CheckEspPhase] In EspPhase: %s",
	    rnd(2) ? "DeviceSetup" : "AccountSetup"); break;
	case 9: snprintf(buf, n, "[Win32App][EspManager] Updating ESP tracked install status from "
	    "InProgress to Completed for application %s.", id); break;
	case 10: snprintf(buf, n, "[Win32App][ReportingManager] Execution state for app with id: %s has "
	    "been updated. Report delta: {\"EnforcementState\":{\"OldValue\":\"InProgress\",\"NewValue\":"
	    "\"Success\"},\"ErrorCode\":{\"OldValue\":null,\"NewValue\":0}}", id); break;
	case 11: snprintf(buf, n, "[Win32App] hResultFromWin32 0"); break;
	case 12: snprintf(buf, n, "[PowerShell] Processing policy with id = %s for user "
	    "00000000-0000-0000-0000-000000000000", id); break;
	case 13: snprintf(buf, n, "[Win32App] ===Step=== Detection rules after Execution"); break;
	case 14: snprintf(buf, n, "Powershell execution is done, exitCode = %u", rnd(3) ? 0 : 1); break;
	case 15: snprintf(buf, n, "[Win32App] SetCurrentDirectory: C:\\Windows\\IMECache\\%s_%u", id, rnd(9)); break;
	case 16: snprintf(buf, n, "[Win32App DO] DO Job Id = %s ", id); break;
	case 17: snprintf(buf, n, "AAD User check is failed, exception is Intune Management Extension Error."); *level = 3; break;
	case 18: snprintf(buf, n, "[Win32App][GRSManager] App with id: %s is not expected but has GRS, "
	    "setting GRS for retry.", id); break;
	case 19: snprintf(buf, n, "[Location Service] Got address for service: SideCarGatewayService, url: "
	    "https://fef.msub02.manage.microsoft.com/TrafficGateway/TrafficRoutingService/SideCar/"
	    "StatelessSideCarGatewayService"); break;
	default: snprintf(buf, n, "[Win32App][EspHelper][CheckDeviceAndAccountSetupStateWithWmi] DEVICE: "
	    "got trackingApp Win32App_%s_%u, install: %u, reboot: ", id, rnd(9), 1 + rnd(3)); break;
	}
}

static int
make_index(const char *path, unsigned long nev)
{
	static const int eids[] = { 100, 101, 103, 109, 111, 153, 160, 161, 164, 170, 172, 178, 179, 181,
		190, 205, 208, 252, 253, 287, 288, 293, 296, 297, 303, 505, 509, 702, 703 };
	struct apd_limits lim;
	struct apd_store *st;
	struct apd_error err;
	struct apd_catalog cat;
	unsigned long i, per_file = 50000, nevtx = nev / 20;
	int64_t t = 1759305600LL * 1000000;   /* 2025-10-01T08:00:00Z */
	char msg[512], key[512];
	double t0 = now();

	apd_limits_default(&lim);
	apd_error_clear(&err);
	if (apd_store_create(&st, path, &lim, &err) != APD_OK) {
		fprintf(stderr, "bench_rules: %s\n", err.msg);
		return 1;
	}
	cat = apd_store_catalog(st);
	for (i = 0; i < nev - nevtx;) {
		char name[64];
		struct apd_source_info si = { 0, name, "cmtrace", "cmtrace", NULL, -1 };
		struct apd_source_result sr = { "ok", NULL, NULL, -1, NULL };
		int64_t id;
		struct apd_sink *sink;
		unsigned long k;

		snprintf(name, sizeof(name), "Logs/IntuneManagementExtension-%04lu.log", i / per_file);
		id = cat.vt->begin(cat.ud, &si);
		sink = cat.vt->sink(cat.ud, id);
		for (k = 0; k < per_file && i < nev - nevtx; k++, i++) {
			struct apd_event ev;
			unsigned level;
			apd_event_init(&ev);
			ime_line(msg, sizeof(msg), &level);
			t += 1000 + rnd(400000);
			ev.ts_utc = t;
			ev.tz = APD_TZ_UTC;
			ev.level = level == 3 ? 2 : 4;
			ev.component = apd_sv_cstr("AppWorkload");
			ev.thread = apd_sv_cstr("8");
			ev.message = apd_sv_cstr(msg);
			ev.data = apd_sv_cstr(level == 3 ? "{\"type\":\"3\"}" : "{\"type\":\"1\"}");
			ev.line = k + 1;
			if (apd_emit_event(sink, &ev) != APD_OK)
				return 1;
		}
		cat.vt->end(cat.ud, id, &sr);
	}
	{
		struct apd_source_info si = { 0, "microsoft-windows-moderndeployment-diagnostics-provider-autopilot.evtx",
			"evtx", "evtx", NULL, -1 };
		struct apd_source_result sr = { "ok", NULL, NULL, -1, NULL };
		int64_t id = cat.vt->begin(cat.ud, &si);
		struct apd_sink *sink = cat.vt->sink(cat.ud, id);

		for (i = 0; i < nevtx; i++) {
			struct apd_event ev;
			int e = eids[rnd(sizeof(eids) / sizeof(eids[0]))];
			apd_event_init(&ev);
			t += 1000 + rnd(200000);
			ev.ts_utc = t;
			ev.tz = APD_TZ_UTC;
			ev.level = e == 100 ? 3 : 4;
			ev.channel = apd_sv_cstr("Microsoft-Windows-ModernDeployment-Diagnostics-Provider/Autopilot");
			ev.provider = apd_sv_cstr("Microsoft-Windows-ModernDeployment-Diagnostics-Provider");
			ev.event_id = e;
			snprintf(msg, sizeof(msg), "AutopilotManager event %d: state %u", e, rnd(30));
			ev.message = apd_sv_cstr(msg);
			ev.data = apd_sv_cstr("{}");
			if (apd_emit_event(sink, &ev) != APD_OK)
				return 1;
		}
		/* ESP tracking values and the usual facts' keys */
		for (i = 0; i < 20000; i++) {
			struct apd_regval rv;
			char id2[40];
			memset(&rv, 0, sizeof(rv));
			app_id(id2, (unsigned)i);
			snprintf(key, sizeof(key), "software\\microsoft\\windows\\autopilot\\EnrollmentStatusTracking\\"
			    "%s\\Setup\\Apps\\Tracking\\Sidecar\\Win32App_%s_%lu", i % 50 ? "Device" : "S-1-12-1-1-2-3-4",
			    id2, i % 7);
			rv.hive = apd_sv_cstr("HKLM");
			rv.key = apd_sv_cstr(key);
			rv.name = apd_sv_cstr(i % 3 ? "InstallationState" : "RebootRequired");
			rv.type = APD_REG_DWORD;
			rv.kind = APD_RV_INT;
			rv.num = i % 3 ? (i % 997 == 0 ? 4 : 3) : 1;
			rv.line = i + 1;
			if (apd_emit_regval(sink, &rv) != APD_OK)
				return 1;
		}
		cat.vt->end(cat.ud, id, &sr);
	}
	if (apd_store_finish(st, &err) != APD_OK) {
		fprintf(stderr, "bench_rules: %s\n", err.msg);
		return 1;
	}
	apd_store_free(st);
	printf("index: %lu events (%lu IME lines, %lu event records), 20000 registry values in %.1f s\n",
	    nev, nev - nevtx, nevtx, now() - t0);
	return 0;
}

static int
eval(const char *dbpath, const char *dir, int runs)
{
	struct apd_ruleset *rs;
	struct apd_error err;
	sqlite3 *db;
	double t0, tl;
	size_t i, enabled = 0;
	int r, rc;

	apd_error_clear(&err);
	t0 = now();
	if (apd_ruleset_new(&rs, &err) != APD_OK || (rc = apd_ruleset_load_dir(rs, dir, &err)) == APD_FAILED ||
	    rc == APD_FATAL) {
		fprintf(stderr, "bench_rules: %s\n", err.msg);
		return 1;
	}
	tl = now() - t0;
	for (i = 0; i < apd_ruleset_ndiags(rs); i++)
		if (apd_ruleset_diag(rs, i)->level == APD_DIAG_ERROR)
			fprintf(stderr, "bench_rules: %s\n", apd_ruleset_diag(rs, i)->msg);
	for (i = 0; i < apd_ruleset_size(rs); i++) {
		struct apd_rule_info ri;
		apd_ruleset_info(rs, i, &ri);
		enabled += ri.enabled;
	}
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_rules: %s: cannot open\n", dbpath);
		return 1;
	}
	for (r = 0; r < runs; r++) {
		struct apd_rules_opts o = { NULL, false };
		struct apd_rules_result *res;
		unsigned long cand = 0, matches = 0;
		double te, c0 = cpu(), ce;

		t0 = now();
		if (apd_rules_eval(rs, db, &o, &res, &err) != APD_OK) {
			fprintf(stderr, "bench_rules: %s\n", err.msg);
			return 1;
		}
		te = now() - t0;
		ce = cpu() - c0;
		for (i = 0; i < apd_ruleset_size(rs); i++) {
			cand += apd_rules_stats(res, i)->candidates;
			matches += apd_rules_stats(res, i)->matches;
		}
		printf("rules %5zu  load %6.3f s  eval %6.3f s (cpu %6.3f s)  findings %4zu  candidates %8lu  "
		    "trigger records %7lu  (run %d)\n", enabled, tl, te, ce, apd_rules_nfindings(res), cand,
		    matches, r + 1);
		apd_rules_result_free(res);
	}
	sqlite3_close(db);
	apd_ruleset_free(rs);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "index") == 0)
		return make_index(argv[2], strtoul(argv[3], NULL, 10));
	if (argc >= 4 && strcmp(argv[1], "eval") == 0)
		return eval(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 2);
	fprintf(stderr, "usage: bench_rules index OUT.db EVENTS | eval DB DIR [RUNS]\n");
	return 2;
}
