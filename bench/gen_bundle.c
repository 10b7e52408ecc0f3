/* gen_bundle.c - write a large synthetic Autopilot diagnostics folder for
 * benchmarks: rotated IME CMTrace logs (IntuneManagementExtension, AppWorkload,
 * AgentExecutor; UTF-8 BOM, CRLF, 7 fractional digits, M-D-YYYY, multi-line
 * .NET stack traces, inline JSON) and a large MdmDiagReport_RegistryDump.reg
 * (8-bit, CRLF, 4-space indent, DWORD:/QWORD:/hex(n):/MULTI_SZ:, unescaped
 * JSON strings).  Deterministic for a given seed and size.
 *
 * usage: gen_bundle OUTDIR [TOTAL_MB [SEED [MIX]]]   MIX: corpus (default) or dense
 *
 * Built and run by bench/make-bundle.sh; not part of the meson build.
 * All identifiers are invented.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned rndn(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- buffered output --------------------------------------------------- */

struct out {
	FILE *f;
	char *buf;
	size_t len, cap;
	uint64_t written;
};

static void out_flush(struct out *o)
{
	if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len) {
		perror("write");
		exit(1);
	}
	o->written += o->len;
	o->len = 0;
}

static void out_open(struct out *o, const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	o->f = fopen(path, "wb");
	if (!o->f) {
		fprintf(stderr, "gen_bundle: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (!o->buf) {
		o->cap = 1u << 20;
		o->buf = malloc(o->cap);
		if (!o->buf)
			exit(1);
	}
	o->len = 0;
	o->written = 0;
}

static void out_close(struct out *o)
{
	out_flush(o);
	fclose(o->f);
	o->f = NULL;
}

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->cap - o->len < 16384)
		out_flush(o);
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		fprintf(stderr, "gen_bundle: record too long\n");
		exit(1);
	}
	o->len += (size_t)n;
}

static uint64_t out_size(const struct out *o) { return o->written + o->len; }

/* ---- identifiers ------------------------------------------------------- */

#define NAPPS 24
static char app_id[NAPPS][37];
static const char *app_name[NAPPS] = {
	"Contoso VPN Client 5.2", "Contoso Root Certificates", "7-Zip 24.08 (x64)",
	"Contoso LOB Suite 2025", "Notepad++ 8.6", "Contoso Printer Pack",
	"Contoso Timesheet", "Contoso Chat Desktop", "Contoso PDF Reader",
	"Contoso Backup Agent", "Contoso Font Pack", "Contoso Dev Tools",
	"Contoso CAD Viewer", "Contoso Inventory Agent", "Contoso Browser Ext",
	"Contoso Kiosk Shell", "Contoso Drivers 2025.09", "Contoso Zip Helper",
	"Contoso Meeting Rooms", "Contoso Scanner", "Contoso HR Portal",
	"Contoso Java Runtime", "Contoso Python 3.12", "Contoso Remote Help",
};

static void make_guid(char *s)
{
	uint64_t a = rnd(), b = rnd();
	snprintf(s, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%c%03" PRIx64 "-%012" PRIx64,
		 a >> 32, (a >> 16) & 0xffff, a & 0xfff, "89ab"[b & 3], (b >> 2) & 0xfff,
		 (uint64_t)((b >> 16) & 0xffffffffffffull));
}

/* ---- CMTrace writer ---------------------------------------------------- */

struct clock7 {
	int64_t sec;   /* local seconds since 1970 (treated as UTC for gmtime) */
	int64_t frac;  /* 0..9999999 */
};

static void clk_step(struct clock7 *c, int64_t ticks)
{
	c->frac += ticks;
	c->sec += c->frac / 10000000;
	c->frac %= 10000000;
}

static const char *component;
static struct clock7 clk;

static void rec(struct out *o, int type, int thread, const char *fmt, ...)
{
	char msg[12288];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (rndn(100) >= 35)
		clk_step(&clk, (int64_t)rndn(80000) + 1);
	time_t t = (time_t)clk.sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	out_printf(o,
		   "<![LOG[%s]LOG]!><time=\"%02d:%02d:%02d.%07" PRId64 "\" date=\"%d-%d-%d\" "
		   "component=\"%s\" context=\"\" type=\"%d\" thread=\"%d\" file=\"\">\r\n",
		   msg, tm.tm_hour, tm.tm_min, tm.tm_sec, clk.frac, tm.tm_mon + 1, tm.tm_mday,
		   tm.tm_year + 1900, component, type, thread);
}

static const char *enr_id = "6F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9";

/* The line mix.  "corpus" (the default) follows the real IME logs in
 * ../shared/corpus/ime/: about 6% of their entries are lines the deployment
 * model reads (apd_ime_lines.txt), the rest is agent chatter: token requests,
 * impersonation, certificate checks, status service, web requests.  We write
 * a little more than that (about 12%, bench/analyze.sh prints the figure).
 * "dense" is the older mix, over half of the entries ESP or app lines: a
 * stress case for the model, not a device log. */
static int dense;

/* agent chatter, shaped after the most frequent lines of the corpus logs;
 * none of them is a line the model reads */
static void background_block(struct out *o)
{
	char g[37], u[37];
	int th = 1 + (int)rndn(40);
	make_guid(g);
	make_guid(u);
	switch (rndn(10)) {
	case 8: {   /* the long lines: a third of the corpus bytes are in 1.5% of its entries */
		char buf[4096];
		size_t n = (size_t)snprintf(buf, sizeof buf, "[ReportManager] old reuslt = {\"AppId\":\"%s\","
		    "\"InternalVersion\":1,\"UserId\":\"00000000-0000-0000-0000-000000000000\",\"DeviceId\":\"%s\","
		    "\"Results\":[", app_id[rndn(NAPPS)], g);
		for (int i = 0; i < 12; i++)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s{\"PolicyId\":\"%s\",\"Status\":%u,"
			    "\"ResultDetails\":\"Remediation script did not run, the detection script reported compliant\","
			    "\"Timestamp\":\"2025-09-01T0%u:12:34.5678901Z\"}", i ? "," : "", u, rndn(4), rndn(10));
		snprintf(buf + n, sizeof buf - n, "]}");
		rec(o, 1, th, "%s", buf);
		break;
	}
	case 9:
		rec(o, 1, th, "[Win32App] ProcessDetectionRules Parsing InstallEx...");
		rec(o, 1, th, "CheckProductCodeExists fails with product code {%s}, errorCode = 1605, try without brace", g);
		rec(o, 1, th, "[Win32App] start ProcessTargetingLevelConflict");
		break;
	case 0:
		rec(o, 1, th, "Found 1 MDM certificates from LocalMachine\\My with issuer Microsoft Intune MDM Device CA");
		rec(o, 1, th, "Add MdmDeviceCertificate 109110224D70CBBA805F5D04F890FFF683BF%04X into WebRequest", rndn(65536));
		rec(o, 1, th, "SendWebRequest, client-request-id: %s, Method: PUT", g);
		rec(o, 1, th, "Sending network request... retryCount = 0");
		rec(o, 1, th, "[SendWebRequestInternal] iteration [0] sending request");
		break;
	case 1:
		rec(o, 1, th, "starting impersonation, session id = %u", 1 + rndn(2));
		rec(o, 1, th, "After impersonation: CONTOSO\\user%03u", rndn(500));
		rec(o, 1, th, "get provider, provider name = Work or school account");
		rec(o, 1, th, "provider id = https://login.microsoft.com, provider name = Work or school account");
		rec(o, 1, th, "[TokenManager::GetTokenForNewRequestUsingWamAsync] Successfully get the token with client id %s", u);
		break;
	case 2:
		rec(o, 1, th, "[StatusService] Saved AppInstallStatusReport for user 00000000-0000-0000-0000-000000000000 for app %s in the StatusServiceReports registry.", app_id[rndn(NAPPS)]);
		rec(o, 1, th, "[StatusService] No subscribers to SendUpdate.");
		rec(o, 1, th, "Adding new state transition - From:Installing To:Installed With Event:InstallSucceeded.");
		break;
	case 3:
		rec(o, 1, th, "[Package Manager] BytesRequired - %u", 100000 + rndn(900000));
		rec(o, 1, th, "[Win32App] applicationRequirementMetadata.RequiredMemory is , skip check.");
		rec(o, 1, th, "[Win32App] applicationRequirementMetadata.RequiredFreespace is , skip check.");
		rec(o, 1, th, "[Win32App] Checked reg path: Computer\\HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Clients\\{%s}, name: pv, operator: GreaterThanOrEqual", g);
		break;
	case 4:
		rec(o, 1, th, "[TelemetryJob.Execute] Events processed: %u, events left: 0", rndn(50));
		rec(o, 1, th, "Checking throttle setting");
		rec(o, 1, th, "Successfully updated throttling info.");
		rec(o, 1, th, "set timer, start the timer for workload GenericPolicy");
		break;
	case 5:
		rec(o, 1, th, "co-mgt features is not available, ex = System.Management.ManagementException, not fatal");
		rec(o, 1, th, "Comgt app workload status False");
		rec(o, 1, th, "Skip Token for device check-in");
		rec(o, 1, th, "[ServiceBase], check in using device check in, client request id %s", g);
		break;
	case 6:
		rec(o, 1, th, "Get 1 active user sessions");
		rec(o, 1, th, "Total valid AAD User session count is 0");
		rec(o, 1, th, "[Discovery Service] Service URL is not available or expired, retrieving with LocationService ServiceAddresses Controller");
		rec(o, 1, th, "Saved app relationship version with value 0 for %s", app_id[rndn(NAPPS)]);
		break;
	default:
		rec(o, 2, th, "Failed to get AAD token. len = 34 using client id %s, error: -2145844848", u);
		rec(o, 1, th, "Add File to the Job, File Id: %s_%s", g, u);
		rec(o, 1, th, "[AppStatusMgr] downloadTime is 1/1/0001 12:00:00 AM");
		rec(o, 1, th, "Found the registry key.");
		break;
	}
}

static void ime_block(struct out *o)
{
	int th = 11 + (int)rndn(4);
	unsigned k = rndn(100);
	if (!dense && rndn(100) < 88) {
		background_block(o);
		return;
	}
	if (k < 55) {
		const char *p = "[Win32App][EspHelper]";
		rec(o, 1, th, "%s[CheckEspPhase] Checking ESP status and phase for sessionId: 0", p);
		rec(o, 1, th, "%s[CheckDeviceOnlyFromFirstSyncReg] Opening SOFTWARE\\\\Microsoft\\\\Enrollments", p);
		rec(o, 1, th, "%s[CheckDeviceOnlyFromFirstSyncReg] Found FirstSync under: SOFTWARE\\\\Microsoft\\\\Enrollments\\%s", p, enr_id);
		rec(o, 1, th, "%s[CheckDeviceOnlyFromFirstSyncReg] Got skipDeviceStatusPageString: 0 under: SOFTWARE\\\\Microsoft\\\\Enrollments\\%s\\FirstSync", p, enr_id);
		rec(o, 1, th, "%s[CheckDeviceOnlyFromFirstSyncReg] Set skipDeviceStatusPage: False", p);
		rec(o, 1, th, "%s[GetLogonIdFromFirstSyncReg] Returning UserSIDFromFirstSync: ", p);
		rec(o, 1, th, "%s[CheckEspPhase] ESP Checking SidecarCspProvider status", p);
		rec(o, 2, th, "%s[GetHasProvisioningCompletedWmi] Got HasProvisioningCompletedWmi value as False", p);
		for (int i = 0; i < 6; i++) {
			unsigned a = rndn(NAPPS);
			rec(o, 1, th, "%s[CheckDeviceAndAccountSetupStateWithWmi] DEVICE: got trackingApp Win32App_%s_%u, install: %u, reboot: ",
			    p, app_id[a], 1 + a % 5, 1 + rndn(4));
		}
		rec(o, 2, th, "%s[CheckEspPhase] In EspPhase: DeviceSetup", p);
		rec(o, 1, th, "%s[CheckEspPhase] Returning device and account setup state: DeviceSetup", p);
	} else if (k < 70) {
		rec(o, 1, 17,
		    "AAD User check is failed, exception is Intune Management Extension Error.\n"
		    "Exception: Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.TokenAquireException: Attempt to get token, but failed.\r\n"
		    "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.IntuneTokenManager.<AcquireUserTokenAsync>d__31.MoveNext()\r\n"
		    "--- End of stack trace from previous location where exception was thrown ---\r\n"
		    "   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)\r\n"
		    "   at System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)\r\n"
		    "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.DiscoveryService.<CheckAadUserAsync>d__22.MoveNext()\r\n"
		    "--- End of stack trace from previous location where exception was thrown ---\r\n"
		    "   at System.Runtime.CompilerServices.TaskAwaiter.GetResult()\r\n"
		    "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.ImpersonateHelper.<RunImpersonatedAsync>d__7.MoveNext(), session is 1");
		rec(o, 3, 17, "AAD User check using device check in app is failed, now fallback to the Graph audience. ex = Intune Management Extension Error.");
	} else if (k < 80) {
		char buf[8192];
		size_t n = 0;
		n += (size_t)snprintf(buf + n, sizeof buf - n, "Get policies = [");
		for (int i = 0; i < 8; i++) {
			unsigned a = rndn(NAPPS);
			n += (size_t)snprintf(buf + n, sizeof buf - n,
					      "%s{\"Id\":\"%s\",\"Name\":\"%s\",\"Version\":%u,\"Intent\":3,\"TargetType\":2,"
					      "\"InstallCommandLine\":\"msiexec /i \\\"app.msi\\\" /qn\",\"MaxRetries\":3,"
					      "\"ReturnCodes\":[{\"ReturnCode\":0,\"Type\":1},{\"ReturnCode\":3010,\"Type\":2}]}",
					      i ? "," : "", app_id[a], app_name[a], 1 + a % 5);
		}
		snprintf(buf + n, sizeof buf - n, "]");
		rec(o, 1, 12, "%s", buf);
	} else if (k < 90) {
		rec(o, 1, 15, "[PowerShell] Polling thread starts.");
		rec(o, 1, 15, "[PowerShell] Get 1 active user sessions");
		rec(o, 1, 15, "[PowerShell] Processing user session 0, user id = 00000000-0000-0000-0000-000000000000");
		rec(o, 1, 15, "Create proxy process successfully. Process id = %u", 1000 + rndn(9000));
		rec(o, 1, 15, "Powershell execution is done, exitCode = %u", rndn(4) == 0);
		rec(o, 1, 15, "[PowerShell] Polling thread stopped.");
	} else {
		rec(o, 2, 21,
		    "[ServiceBase] Web Exception occurs when sending network request, It's retryable. the exception is System.Net.WebException: The operation has timed out\r\n"
		    "   at System.Net.HttpWebRequest.GetResponse()\r\n"
		    "   at Microsoft.Management.Services.IntuneWindowsAgent.AgentCommon.ServiceBase.<SendWebRequestInternalAsync>d__18.MoveNext()\r\n"
		    "--- End of stack trace from previous location where exception was thrown ---\r\n"
		    "   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)");
	}
}

static void appworkload_block(struct out *o)
{
	unsigned a = rndn(NAPPS);
	const char *id = app_id[a];
	unsigned rev = 1 + a % 5;
	unsigned fail = rndn(12) == 0;
	if (!dense) {   /* the chatter between two apps of a real AppWorkload log */
		for (int i = 0; i < 16; i++)
			background_block(o);
	}
	rec(o, 1, 8, "[Win32App][V3Processor] Processing subgraph with app ids: %s", id);
	rec(o, 1, 8, "[Win32App][DetectionActionHandler] Detection for policy with id: %s resulted in action status: Success and detection state: NotDetected.", id);
	rec(o, 1, 8, "[Win32App][ActionProcessor] App with id: %s, targeted intent: RequiredInstall, and enforceability: Enforceable has projected enforcement classification: EnforcementPoint with desired state: Present. Current state is:\r\n"
		     "Detection state: NotDetected\r\nApplicability state: Applicable\r\nReboot state: Clean, timestamp: 1/1/0001 12:00:00 AM\r\n"
		     "Download state: NotStarted\r\nExecution state: NotStarted", id);
	rec(o, 1, 8, "[StatusService] Downloading app (id = %s, name %s) via DO, bytes %u/%u for user 00000000-0000-0000-0000-000000000000",
	    id, app_name[a], rndn(5000000), 5000000 + a * 1000);
	rec(o, 1, 8, "[Win32App] Starts verifying encrypted hash");
	rec(o, 1, 8, "[Win32App] Decryption is done successfully.");
	rec(o, 1, 8, "[Win32App] SetCurrentDirectory: C:\\Windows\\IMECache\\%s_%u", id, rev);
	rec(o, 1, 8, "[Win32App][EspManager] Updating ESP tracked install status from NotInstalled to InProgress for application %s.", id);
	clk_step(&clk, (int64_t)(20 + rndn(300)) * 10000000);
	rec(o, 1, 8, "[Win32App] lpExitCode %u", fail ? 1603u : 0u);
	if (fail) {
		rec(o, 3, 8, "[Win32App] lpExitCode is defined as Failed");
		rec(o, 1, 8, "[Win32App][EspManager] Updating ESP tracked install status from InProgress to Error for application %s.", id);
	} else {
		rec(o, 1, 8, "[Win32App] lpExitCode is defined as Success");
		rec(o, 1, 8, "[Win32App][EspManager] Updating ESP tracked install status from InProgress to Completed for application %s.", id);
	}
	rec(o, 1, 8, "[Win32App][ReportingManager] Execution state for app with id: %s has been updated. Report delta: {\"EnforcementState\":{\"OldValue\":\"InProgress\",\"NewValue\":\"%s\"},\"ErrorCode\":{\"OldValue\":null,\"NewValue\":%d}}",
	    id, fail ? "Error" : "Success", fail ? -2147023293 : 0);
}

static void agentexecutor_block(struct out *o)
{
	char g[37];
	make_guid(g);
	const char *base = "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies";
	rec(o, 1, 1, "ExecutorLog AgentExecutor gets invoked");
	rec(o, 1, 1, "PowerShell option gets invoked");
	rec(o, 1, 1, "%s\\Scripts\\00000000-0000-0000-0000-000000000000_%s.ps1", base, g);
	rec(o, 1, 1, "cmd line for running powershell is -NoProfile -executionPolicy bypass -file  \"%s\\Scripts\\00000000-0000-0000-0000-000000000000_%s.ps1\" ", base, g);
	rec(o, 1, 1, "Powershell exit code is %d", rndn(5) == 0);
	if (rndn(5) == 0)
		rec(o, 3, 1, "error from script =New-ItemProperty : The property already exists.\r\n"
			     "At %s\\Scripts\\00000000-0000-0000-0000-000000000000_%s.ps1:12 char:1\r\n"
			     "+ New-ItemProperty -Path HKLM:\\SOFTWARE\\Contoso -Name Tenant ...\r\n"
			     "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n"
			     "    + CategoryInfo          : ResourceExists: (HKEY_LOCAL_MACH...\\Contoso:String) [New-ItemProperty], IOException\r\n"
			     "    + FullyQualifiedErrorId : System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand\r\n ",
		    base, g);
	rec(o, 1, 1, "Powershell script is successfully executed.");
}

typedef void (*block_fn)(struct out *);

/* write one log family as rotated files of ~rot_bytes until total_bytes */
static uint64_t write_family(const char *dir, const char *base, const char *comp, block_fn fn,
			     uint64_t total_bytes, uint64_t rot_bytes, int64_t start)
{
	struct out o = {0};
	uint64_t done = 0;
	int nfile = 0;
	component = comp;
	clk.sec = start;
	clk.frac = (int64_t)rndn(10000000);
	while (done < total_bytes) {
		/* the newest file has the plain name; rotated ones carry the time
		 * of rotation: we write oldest first, so name each file when it
		 * is closed */
		char tmpname[256];
		snprintf(tmpname, sizeof tmpname, ".%s.tmp", base);
		out_open(&o, dir, tmpname);
		out_printf(&o, "\xEF\xBB\xBF");
		uint64_t limit = rot_bytes;
		if (total_bytes - done < limit)
			limit = total_bytes - done;
		while (out_size(&o) < limit) {
			fn(&o);
			if (rndn(8) == 0)
				clk_step(&clk, (int64_t)(5 + rndn(120)) * 10000000);
		}
		done += out_size(&o);
		out_close(&o);
		char from[4096], to[4096];
		snprintf(from, sizeof from, "%s/%s", dir, tmpname);
		if (done >= total_bytes) {
			snprintf(to, sizeof to, "%s/%s.log", dir, base);
		} else {
			time_t t = (time_t)clk.sec;
			struct tm tm;
			gmtime_r(&t, &tm);
			snprintf(to, sizeof to, "%s/%s-%04d%02d%02d-%02d%02d%02d.log", dir, base,
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		}
		if (rename(from, to) != 0) {
			perror("rename");
			exit(1);
		}
		nfile++;
		clk_step(&clk, 10000);
	}
	free(o.buf);
	fprintf(stderr, "  %s: %d files, %" PRIu64 " MB\n", base, nfile, done >> 20);
	return done;
}

/* ---- registry dump ------------------------------------------------------ */

static uint64_t write_regdump(const char *dir, uint64_t total_bytes)
{
	struct out o = {0};
	out_open(&o, dir, "MdmDiagReport_RegistryDump.reg");
	out_printf(&o, "[HKEY_CURRENT_USER\\software\\microsoft\\windows\\currentversion\\useroobe]\r\n"
		       "    \"UserOOBEComplete\"=DWORD:00000000\r\n\r\n");
	out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\enrollments\\%s\\FirstSync]\r\n"
		       "    \"SyncFailureTimeout\"=DWORD:0000003c\r\n    \"BlockInStatusPage\"=DWORD:00000007\r\n"
		       "    \"SkipDeviceStatusPage\"=DWORD:00000000\r\n    \"SkipUserStatusPage\"=DWORD:ffffffff\r\n\r\n",
		   enr_id);
	out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\AutopilotPolicyCache]\r\n"
		       "    \"PolicyJsonCache\"=\"{\"CloudAssignedTenantDomain\":\"contoso.onmicrosoft.com\",\"CloudAssignedOobeConfig\":284,"
		       "\"CloudAssignedAadServerData\":\"{\\\"ZeroTouchConfig\\\":{\\\"ForcedEnrollment\\\":1}}\"}\"\r\n"
		       "    \"ProfileAvailable\"=DWORD:00000001\r\n\r\n");
	/* every device's dump has its zone: the IME logs' local times are converted with it */
	out_printf(&o, "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation]\r\n"
		       "    \"ActiveTimeBias\"=DWORD:ffffff88\r\n    \"Bias\"=DWORD:ffffffc4\r\n"
		       "    \"DaylightBias\"=DWORD:ffffffc4\r\n    \"DaylightName\"=\"@tzres.dll,-321\"\r\n"
		       "    \"DaylightStart\"=hex(3):00,00,03,00,00,00,05,00,02,00,00,00,00,00,00,00\r\n"
		       "    \"DynamicDaylightTimeDisabled\"=DWORD:00000000\r\n    \"StandardBias\"=DWORD:00000000\r\n"
		       "    \"StandardName\"=\"@tzres.dll,-322\"\r\n"
		       "    \"StandardStart\"=hex(3):00,00,0a,00,00,00,05,00,03,00,00,00,00,00,00,00\r\n"
		       "    \"TimeZoneKeyName\"=\"W. Europe Standard Time\"\r\n\r\n");
	uint64_t n = 0;
	int64_t ts = 1759333000; /* 2025-10-01 */
	while (out_size(&o) < total_bytes) {
		n++;
		/* ESPTrackingInfo snapshots: every 4th key in the dense mix; in the
		   corpus mix one key in 64 (a real device keeps tens to hundreds) */
		unsigned kind = (unsigned)(n % 4);
		if (!dense && kind == 0 && n % 64 != 0)
			kind = 1 + (unsigned)(n / 4 % 3);
		switch (kind) {
		case 0: {
			time_t t = (time_t)(ts + (int64_t)n * 7);
			struct tm tm;
			gmtime_r(&t, &tm);
			out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\windows\\autopilot\\EnrollmentStatusTracking\\ESPTrackingInfo\\Diagnostics\\Sidecar\\%04d-%02d-%02dT%02d:%02d:%02d.%03uZ]\r\n",
				   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rndn(1000));
			for (int i = 0; i < 8; i++) {
				unsigned a = rndn(NAPPS);
				out_printf(&o, "    \"./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar/Win32App_%s_%u\"=DWORD:%08x\r\n",
					   app_id[a], 1 + a % 5, 1 + rndn(4));
			}
			break;
		}
		case 1:
			out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\policymanager\\current\\device\\Area%06" PRIu64 "]\r\n", n);
			for (int i = 0; i < 12; i++)
				out_printf(&o, "    \"Setting%02d\"=DWORD:%08x\r\n    \"Setting%02d_ProviderSet\"=DWORD:00000001\r\n"
					       "    \"Setting%02d_WinningProvider\"=\"%s\"\r\n",
					   i, rndn(100), i, i, enr_id);
			out_printf(&o, "    \"LastWrite\"=QWORD:%" PRIx64 "\r\n", (uint64_t)(0x1dc32e0000000000ull + rnd() % 0xffffffffull));
			break;
		case 2:
			out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\enrollments\\%s\\FirstSync\\S-1-12-1-%u-%u-%u-%u]\r\n"
				       "    \"Timestamp\"=hex(3):",
				   enr_id, (unsigned)rnd(), (unsigned)rnd(), (unsigned)rnd(), (unsigned)rnd());
			for (int i = 0; i < 8; i++)
				out_printf(&o, "%s%02x", i ? "," : "", (unsigned)(rnd() & 0xff));
			out_printf(&o, "\r\n    \"IsSyncDone\"=DWORD:%08x\r\n    \"Groups\"=MULTI_SZ:\"Contoso-Devices\",\"Contoso-Pilot\"\r\n", rndn(2));
			out_printf(&o, "    \"LogPath\"=hex(2):25,00,77,00,69,00,6e,00,64,00,69,00,72,00,25,00,5c,00,54,00,65,00,6d,00,70,00,00,00\r\n");
			break;
		default:
			out_printf(&o, "[HKEY_LOCAL_MACHINE\\software\\microsoft\\provisioning\\NodeCache\\CSP\\Device\\MS DM Server\\Nodes\\%" PRIu64 "]\r\n"
				       "    \"NodeUri\"=\"./Vendor/MSFT/Policy/Config/Area%06" PRIu64 "/Setting%02u\"\r\n"
				       "    \"ExpectedValue\"=\"{\"value\":%u,\"source\":\"C:\\Windows\\Temp\"}\"\r\n",
				   n, n, rndn(12), rndn(100));
			break;
		}
		out_printf(&o, "\r\n");
	}
	uint64_t sz = out_size(&o);
	out_close(&o);
	free(o.buf);
	fprintf(stderr, "  MdmDiagReport_RegistryDump.reg: %" PRIu64 " MB\n", sz >> 20);
	return sz;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUTDIR [TOTAL_MB [SEED [corpus|dense]]]\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	uint64_t total_mb = argc > 2 ? strtoull(argv[2], NULL, 10) : 520;
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 20251001;
	dense = argc > 4 && strcmp(argv[4], "dense") == 0;
	if (argc > 4 && !dense && strcmp(argv[4], "corpus") != 0) {
		fprintf(stderr, "%s: MIX must be corpus or dense\n", argv[0]);
		return 2;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	for (int i = 0; i < NAPPS; i++)
		make_guid(app_id[i]);
	uint64_t total = total_mb << 20, sum = 0;
	int64_t t0 = 1756684800; /* 2025-09-01 00:00 device-local */
	sum += write_family(dir, "IntuneManagementExtension", "IntuneManagementExtension", ime_block,
			    total * 55 / 100, 3u << 20, t0);
	sum += write_family(dir, "AppWorkload", "AppWorkload", appworkload_block, total * 25 / 100, 3u << 20, t0);
	sum += write_family(dir, "AgentExecutor", "AgentExecutor", agentexecutor_block, total * 8 / 100, 2u << 20, t0);
	sum += write_regdump(dir, sum < total ? total - sum : (uint64_t)1 << 20);
	fprintf(stderr, "  total: %" PRIu64 " MB\n", sum >> 20);
	return 0;
}
