/*
 * trace_win.c - `apdiag collect --trace start|stop|status` (Windows build):
 * the Autopilot WPR trace.
 *
 * The profile collect/autopilot.wprp (embedded at build time) lists the ETW
 * providers behind Autopilot, the ESP, enrollment, Entra join, TPM
 * attestation and IME, in file mode with bounded buffers.  This file only
 * runs Windows Performance Recorder (wpr.exe, System32), which is what owns
 * the ETW sessions:
 *   start   wpr -start <profile>!Autopilot.Verbose -filemode   (this boot), and
 *           wpr -boottrace -addboot <profile>!Autopilot.Verbose -filemode
 *           so that the trace goes on across the reboots of OOBE
 *   stop    wpr -stop <ProgramData>\apdiag\traces\apdiag-trace-<UTC>.etl, and
 *           wpr -boottrace -stopboot <...>-boot.etl when a boot trace runs;
 *           the profile entry "apdiag-traces" puts them into the next bundle
 *   status  wpr -status, and wpr -boottrace -status
 * Each command line is printed before it runs.  Without wpr.exe (Windows
 * editions without it, Wine) the verb says so and exits 3.
 * Exports apd_trace_main.
 */
#include "collect.h"
#include "plat.h"
#include "apd_win.h"
#include "../analyze/fe.h"

#include <windows.h>
#include <shlobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char apd_autopilot_wprp[];
int apd_trace_main(const char *what, const char *out, bool quiet);

#define WPR_PROFILE "Autopilot.Verbose"

/* Run one command line, wait (10 minutes at most: merging a large trace is slow). */
static int
run(const char *line, bool quiet, DWORD *code)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	wchar_t *w = apd_u2w(line);
	char txt[256];
	DWORD e;

	if (!quiet) {
		printf("apdiag: running: %s\n", line);
		fflush(stdout);
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (w == NULL || !CreateProcessW(NULL, w, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
		e = GetLastError();
		free(w);
		fe_err("collect: --trace: cannot run wpr.exe: %s", apd_win_strerror(e, txt, sizeof(txt)));
		return APD_EXIT_INPUT;
	}
	free(w);
	CloseHandle(pi.hThread);
	WaitForSingleObject(pi.hProcess, 600000);
	*code = 1;
	GetExitCodeProcess(pi.hProcess, code);
	CloseHandle(pi.hProcess);
	return 0;
}

/* <ProgramData>\apdiag\traces, created when asked. */
static char *
trace_dir(bool create)
{
	wchar_t w[MAX_PATH + 64];
	char *u;
	DWORD n = GetEnvironmentVariableW(L"ProgramData", w, MAX_PATH);

	if (n == 0 || n >= MAX_PATH)
		wcscpy(w, L"C:\\ProgramData");
	wcscat(w, L"\\apdiag");
	if (create)
		CreateDirectoryW(w, NULL);
	wcscat(w, L"\\traces");
	if (create)
		CreateDirectoryW(w, NULL);
	u = apd_w2u(w, -1);
	return u;
}

int
apd_trace_main(const char *what, const char *out, bool quiet)
{
	wchar_t wd[MAX_PATH + 1];
	char *windir = NULL, wpr[MAX_PATH * 3 + 32], line[4096], prof[MAX_PATH * 3 + 64];
	char stamp[32], *dir = NULL;
	struct tm tm;
	DWORD code = 0, attr;
	UINT n;
	int rc = 0;

	(void)out;
	if (strcmp(what, "start") != 0 && strcmp(what, "stop") != 0 && strcmp(what, "status") != 0) {
		fe_err("collect: --trace takes start, stop or status, not '%s'", what);
		return APD_EXIT_USAGE;
	}
	n = GetWindowsDirectoryW(wd, MAX_PATH);
	if (n == 0 || n > MAX_PATH || (windir = apd_w2u(wd, (int)n)) == NULL)
		return APD_EXIT_INTERNAL;
	snprintf(wpr, sizeof(wpr), "%s\\System32\\wpr.exe", windir);
	free(windir);
	apd_plat_gmtime(time(NULL), &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if ((dir = trace_dir(strcmp(what, "stop") == 0)) == NULL)
		return APD_EXIT_INTERNAL;
	{
		wchar_t *w = apd_u2w(wpr);
		attr = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;
		free(w);
	}
	if (strcmp(what, "start") == 0) {
		/* the profile, written where wpr can read it; removed once the trace runs */
		wchar_t tp[MAX_PATH + 1];
		char *t;
		FILE *f;
		if (GetTempPathW(MAX_PATH, tp) == 0 || (t = apd_w2u(tp, -1)) == NULL) {
			free(dir);
			return APD_EXIT_INTERNAL;
		}
		snprintf(prof, sizeof(prof), "%sapdiag-autopilot-%s.wprp", t, stamp);
		free(t);
		snprintf(line, sizeof(line), "\"%s\" -start \"%s!%s\" -filemode", wpr, prof,
		    WPR_PROFILE);
		if (attr == INVALID_FILE_ATTRIBUTES) {
			if (!quiet)
				printf("apdiag: would run: %s\n", line);
			fe_err("collect: --trace: %s is not on this device (Windows Performance "
			    "Recorder ships with Windows 10 1607 and later; on other systems install "
			    "the Windows Performance Toolkit)", wpr);
			free(dir);
			return APD_EXIT_INPUT;
		}
		if ((f = apd_plat_fopen(prof, "wb")) == NULL ||
		    fwrite(apd_autopilot_wprp, 1, strlen(apd_autopilot_wprp), f) !=
		    strlen(apd_autopilot_wprp) || fclose(f) != 0) {
			fe_err("collect: --trace: cannot write %s", prof);
			free(dir);
			return APD_EXIT_INTERNAL;
		}
		if ((rc = run(line, quiet, &code)) == 0 && code != 0) {
			fe_err("collect: --trace start: wpr.exe exited with 0x%08lx (is a trace already "
			    "running? `apdiag collect --trace status`)", (unsigned long)code);
			rc = APD_EXIT_PARTIAL;
		}
		if (rc == 0) {
			/* again at every boot until stopped: OOBE reboots */
			snprintf(line, sizeof(line), "\"%s\" -boottrace -addboot \"%s!%s\" -filemode", wpr,
			    prof, WPR_PROFILE);
			if (run(line, quiet, &code) == 0 && code != 0)
				fe_err("collect: --trace start: the boot trace could not be set up (wpr.exe "
				    "0x%08lx): this trace ends at the next reboot", (unsigned long)code);
			else if (!quiet)
				printf("apdiag: tracing; the trace goes on across reboots until "
				    "`apdiag collect --trace stop`\n");
		}
		apd_plat_unlink(prof);
	} else if (strcmp(what, "stop") == 0) {
		snprintf(line, sizeof(line), "\"%s\" -stop \"%s\\apdiag-trace-%s.etl\"", wpr, dir, stamp);
		if (attr == INVALID_FILE_ATTRIBUTES) {
			if (!quiet)
				printf("apdiag: would run: %s\n", line);
			fe_err("collect: --trace: %s is not on this device", wpr);
			free(dir);
			return APD_EXIT_INPUT;
		}
		if ((rc = run(line, quiet, &code)) == 0 && code != 0)
			fe_err("collect: --trace stop: no trace of this boot was running (wpr.exe "
			    "0x%08lx)", (unsigned long)code);
		snprintf(line, sizeof(line), "\"%s\" -boottrace -stopboot \"%s\\apdiag-trace-%s-boot.etl\"",
		    wpr, dir, stamp);
		if (rc == 0 && run(line, quiet, &code) == 0 && code != 0 && !quiet)
			printf("apdiag: no boot trace was set up\n");
		if (rc == 0 && !quiet)
			printf("apdiag: the trace is in %s; the next `apdiag collect` bundles it\n", dir);
	} else {
		snprintf(line, sizeof(line), "\"%s\" -status", wpr);
		if (attr == INVALID_FILE_ATTRIBUTES) {
			if (!quiet)
				printf("apdiag: would run: %s\n", line);
			fe_err("collect: --trace: %s is not on this device", wpr);
			free(dir);
			return APD_EXIT_INPUT;
		}
		rc = run(line, quiet, &code);
		snprintf(line, sizeof(line), "\"%s\" -boottrace -status", wpr);
		if (rc == 0)
			rc = run(line, quiet, &code);
	}
	free(dir);
	return rc;
}
