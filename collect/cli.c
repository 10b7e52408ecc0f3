/*
 * cli.c - the `apdiag collect` and `apdiag verify` verbs: options, progress
 * and the summary.  Everything else is in the collector library
 * (collect/collect.h); only this file prints.
 */
#include "collect.h"
#include "plat.h"
#include "../analyze/fe.h"
#include "apd_upload.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _WIN32
#include "apd_win.h"
#include <windows.h>
#endif

int apd_collect_device_name(const char *root, char *out, size_t n);

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct collect_cli {
	const char *root;
	const char *out;
	const char *format;
	uint64_t max_size;
	bool redact;
	bool include_hwhash;
	bool network;
	const char *profile;
	const char *endpoints;
	const char *staging;
	unsigned net_timeout;
	bool quiet;
	bool progress;
	char *upload_sas;       /* --upload: owned copy of the SAS URL, NULL if none */
	const char *trace;      /* Windows: --trace start|stop|status */
};

enum opt_type { OPT_FLAG, OPT_STR, OPT_SIZE, OPT_UINT };

#define O(f) offsetof(struct collect_cli, f)
static const struct fe_opt opts[] = {
#ifdef _WIN32
	{ "--root", OPT_STR, O(root), "DIR",
	  "collect offline from this mounted Windows volume (default: this device, live)" },
	{ "--trace", OPT_STR, O(trace), "start|stop|status",
	  "the Autopilot WPR trace (autopilot.wprp): start it, stop it into the next bundle" },
#else
	{ "--root", OPT_STR, O(root), "DIR", "the mounted Windows volume to collect from (offline)" },
#endif
	{ "--output", OPT_STR, O(out), "OUT",
	  "archive to write, or a folder for it (default: ./apdiag-<PC>-<UTC>.<format>)" },
	{ "--format", OPT_STR, O(format), "FMT", "cab (default), tar, tar.gz, tar.zst or zip" },
	{ "--max-size", OPT_SIZE, O(max_size), "SIZE",
	  "keep the archive at most SIZE; the manifest names what was left out" },
	{ "--redact", OPT_FLAG, O(redact), NULL,
	  "replace UPNs, e-mail addresses and user names in text with stable tokens" },
	{ "--include-hardware-hash", OPT_FLAG, O(include_hwhash), NULL,
	  "also collect the Autopilot hardware hash CSV (left out by default)" },
	{ "--network", OPT_FLAG, O(network), NULL,
	  "probe the Autopilot endpoints (DNS, TCP, TLS, HTTP, NTP) into the bundle" },
	{ "--profile", OPT_STR, O(profile), "FILE", "collection profile (default: the built-in one)" },
	{ "--endpoints", OPT_STR, O(endpoints), "FILE",
	  "endpoint list for --network (default: the built-in one)" },
	{ "--staging", OPT_STR, O(staging), "DIR",
	  "folder for the staged copies (default: beside the output)" },
	{ "--net-timeout", OPT_UINT, O(net_timeout), "MS", "time-out of each network check (5000)" },
	{ "--quiet", OPT_FLAG, O(quiet), NULL, "print nothing but errors" },
	{ "--no-progress", OPT_FLAG, O(progress), NULL, "no progress line on a terminal" },
};
#undef O
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void
collect_help(FILE *f)
{

	fprintf(f, "usage: apdiag collect --root DIR [OPTIONS]\n\n"
	    "Collect the Autopilot evidence of a Windows volume (mounted on any OS) into one\n"
	    "archive: event logs, IME and setup logs, profile files, registry keys exported\n"
	    "from the offline hives as reg.exe .reg files, and manifest.json (first entry)\n"
	    "with every item's SHA-256 and every gap with its reason.  `apdiag verify`\n"
	    "checks the archive; `apdiag analyze` indexes it.\n\nOptions:\n");
	fe_opt_help(f, opts, NOPTS, 29);
	fprintf(f, "  %-29s %s\n", "-o OUT", "the same as --output");
	fprintf(f, "  %-29s %s\n", "--upload SAS_URL", "then upload the archive to Azure Blob Storage "
	    "(as apdiag upload; - reads the URL from standard input)");
	fprintf(f, "  %-29s %s\n", "-h, --help", "show this help");
	fprintf(f, "\nSIZE takes k, M, G suffixes (powers of 1024).\n"
	    "Exit status: 0 written, 2 usage, 3 the root is not a readable Windows volume,\n"
	    "4 written but some items could not be read or were left out (see the\n"
	    "manifest), 5 the archive could not be written (nothing is left under its\n"
	    "name); with --upload, once the archive is written, the exit status of\n"
	    "apdiag upload when the upload fails (6 refused, 7 gave up, 8 mismatch).\n"
	    "See apdiag(1).\n");
}

static int
parse(int argc, char **argv, struct collect_cli *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->progress = true;
	o->format = "cab";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct fe_opt *op;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			collect_help(stdout);
			return -1;
		}
		if (strcmp(a, "--upload") == 0 || strncmp(a, "--upload=", 9) == 0) {
			char *v = a[8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : NULL);
			int rc;
			if (v == NULL || *v == '\0') {
				fe_err("collect: --upload needs a SAS URL");
				return APD_EXIT_USAGE;
			}
			free(o->upload_sas);
			if ((rc = fe_sas_take(v, "collect", &o->upload_sas)) != 0)
				return rc;
			continue;
		}
		if (strcmp(a, "-o") == 0) {
			if (i + 1 >= argc) {
				fe_err("collect: -o needs a value");
				return APD_EXIT_USAGE;
			}
			o->out = argv[++i];
			continue;
		}
		if ((op = fe_opt_next(opts, NOPTS, "collect", argc, argv, &i, &val)) == NULL)
			return APD_EXIT_USAGE;
		switch (op->type) {
		case OPT_FLAG:
			*(bool *)((char *)o + op->off) = strncmp(op->name, "--no-", 5) != 0;
			break;
		case OPT_STR:
			*(const char **)((char *)o + op->off) = val;
			break;
		case OPT_SIZE:
			if (!fe_parse_size(val, (uint64_t *)((char *)o + op->off))) {
				fe_err("collect: %s: '%s' is not a size", op->name, val);
				return APD_EXIT_USAGE;
			}
			break;
		default:
			if (!fe_parse_uint(val, (unsigned *)((char *)o + op->off))) {
				fe_err("collect: %s: '%s' is not a number", op->name, val);
				return APD_EXIT_USAGE;
			}
			break;
		}
	}
#ifndef _WIN32
	if (o->root == NULL) {
		fe_err("collect: --root DIR is required (this build collects offline, from a mounted "
		    "Windows volume)");
		return APD_EXIT_USAGE;
	}
#endif
	return 0;
}

static void
on_progress(void *ud, size_t done, size_t total, const char *what, uint64_t bytes)
{
	(void)ud;
	if (bytes)
		fprintf(stderr, "\r\033[K[%zu/%zu] %8.1f MB  ", done + 1, total, (double)bytes / 1e6);
	else
		fprintf(stderr, "\r\033[K[%zu/%zu] ", done + 1, total);
	if (strlen(what) > 50) {   /* the end of a long path says the most */
		const char *t = what + strlen(what) - 47;
		while (((unsigned char)*t & 0xC0) == 0x80)
			t++;
		fputs("...", stderr);
		what = t;
	}
	fe_safe(stderr, what);
	fflush(stderr);
}

static void
human(uint64_t n, char *out, size_t len)
{
	if (n >= 10u * 1024 * 1024)
		snprintf(out, len, "%.1f MB", (double)n / 1048576.0);
	else if (n >= 10u * 1024)
		snprintf(out, len, "%.1f kB", (double)n / 1024.0);
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
}

static int collect_run(struct collect_cli *clp);
#ifdef _WIN32
int apd_trace_main(const char *what, const char *out, bool quiet);   /* trace_win.c */

/*
 * Live collection on the device: say what an unelevated run will miss, and
 * check that the output's drive (a USB stick) has room.  0 to go on, or an
 * exit code.
 */
static int
live_checks(const char *out, bool quiet)
{
	ULARGE_INTEGER avail;
	char *dir = strdup(out);
	const char *sep;
	wchar_t *w;
	BOOL ok;

	if (dir == NULL)
		return APD_EXIT_INTERNAL;
	sep = apd_plat_last_sep(dir);
	if (sep)
		dir[sep - dir + (sep == dir || (sep == dir + 2 && dir[1] == ':'))] = '\0';
	else
		strcpy(dir, ".");
	w = apd_u2w(dir);
	ok = w && GetDiskFreeSpaceExW(w, &avail, NULL, NULL);
	free(w);
	if (ok && avail.QuadPart < ((uint64_t)64 << 20)) {
		fe_err("collect: only %llu MB free in %s: a bundle needs its items' size twice "
		    "(staged copies and the archive); free some space or give -o on another drive",
		    (unsigned long long)(avail.QuadPart >> 20), dir);
		free(dir);
		return APD_EXIT_INTERNAL;
	}
	if (!quiet && ok)
		fprintf(stderr, "apdiag: %llu MB free in %s\n", (unsigned long long)(avail.QuadPart >> 20),
		    dir);
	free(dir);
	if (!apd_live_elevated())
		fe_err("collect: not running as administrator: event logs that need it (Security and "
		    "some Operational channels), MdmDiagnosticsTool, tpmtool and registry keys "
		    "readable only by administrators or SYSTEM will be recorded as gaps; run from "
		    "an elevated prompt (Shift+F10 in OOBE is) for a complete bundle");
	return 0;
}
#endif

int
apd_collect_main(int argc, char **argv)
{
	struct collect_cli cl;
	int rc;

	rc = parse(argc, argv, &cl);
#ifdef _WIN32
	if (rc == 0 && cl.trace)
		rc = apd_trace_main(cl.trace, cl.out, cl.quiet);
	else
#endif
	if (rc == 0)
		rc = collect_run(&cl);
	else if (rc < 0)
		rc = APD_EXIT_OK;
	if (cl.upload_sas) {   /* not used: wipe it */
		memset(cl.upload_sas, 0, strlen(cl.upload_sas));
		free(cl.upload_sas);
	}
	return rc;
}

static int
collect_run(struct collect_cli *clp)
{
	struct collect_cli cl = *clp;
	struct apd_collect_opts o;
	struct apd_collect_result res;
	struct apd_error err;
	char *out = NULL, pc[64], stamp[32], sz[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	memset(&o, 0, sizeof(o));
	if (!apd_afmt_parse(cl.format, &o.fmt)) {
		fe_err("collect: --format: '%s' is not one of cab, tar, tar.gz, tar.zst, zip", cl.format);
		return APD_EXIT_USAGE;
	}
	if (cl.root && !apd_plat_is_dir(cl.root)) {
		fe_err("collect: %s: not a readable folder", cl.root);
		return APD_EXIT_INPUT;
	}
	/* default name: apdiag-<COMPUTERNAME>-<UTC yyyymmddThhmmssZ>.<ext> */
	if (cl.out == NULL || apd_plat_is_dir(cl.out)) {
		const char *dir = cl.out ? cl.out : ".";
		if (apd_collect_device_name(cl.root, pc, sizeof(pc)) != APD_OK)
			snprintf(pc, sizeof(pc), "unknown");
		apd_plat_gmtime(now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		out = malloc(strlen(dir) + strlen(pc) + 64);
		if (out == NULL) {
			fe_err("out of memory");
			return APD_EXIT_INTERNAL;
		}
#ifdef _WIN32
		sprintf(out, "%s\\apdiag-%s-%s.%s", dir, pc, stamp, apd_afmt_ext(o.fmt));
#else
		sprintf(out, "%s/apdiag-%s-%s.%s", dir, pc, stamp, apd_afmt_ext(o.fmt));
#endif
	} else if ((out = strdup(cl.out)) == NULL) {
		fe_err("out of memory");
		return APD_EXIT_INTERNAL;
	}
	o.root = cl.root;
	o.out = out;
	o.max_size = cl.max_size;
	o.redact = cl.redact;
	o.include_hwhash = cl.include_hwhash;
	o.network = cl.network;
	o.profile_path = cl.profile;
	o.endpoints_path = cl.endpoints;
	o.staging_dir = cl.staging;
	o.net_timeout_ms = cl.net_timeout;
	if (cl.progress && !cl.quiet && isatty(2))
		o.progress = on_progress;
#ifdef _WIN32
	if (cl.root == NULL && (rc = live_checks(out, cl.quiet)) != 0) {
		free(out);
		return rc;
	}
	/* Ctrl-C: stop, and remove the staging folder and the partial archive */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	o.cancel = &stop;
#else
	/* a file-size limit must fail the write (EFBIG), not kill the process */
	signal(SIGXFSZ, SIG_IGN);
	/* Ctrl-C and kill: stop, and remove the staging folder and the partial archive */
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		o.cancel = &stop;
	}
#endif
	apd_error_clear(&err);
	rc = apd_collect_run(&o, &res, &err);
	if (o.progress)
		fputs("\r\033[K", stderr);
	if (rc == APD_FAILED) {
		fe_err("collect: %s", err.msg);
		free(out);
		return err.msg[0] && strstr(err.msg, "--max-size") ? APD_EXIT_USAGE : APD_EXIT_INPUT;
	}
	if (rc == APD_FATAL) {
		fe_err("collect: %s; nothing was written to %s", err.msg, out);
		free(out);
		return stop ? 128 + SIGINT : APD_EXIT_INTERNAL;
	}
	if (!cl.quiet) {
		human(res.archive_bytes, sz, sizeof(sz));
		printf("apdiag collect: %zu items, %zu gaps, %s, ", res.items, res.gaps, sz);
		fe_safe(stdout, out);
		putchar('\n');
		if (res.failed || res.left_out)
			printf("  %zu items could not be read completely, %zu left out (--max-size, or "
			    "too large for the format): see \"gaps\" and \"left_out\" in manifest.json\n",
			    res.failed, res.left_out);
		fflush(stdout);
	}
	if (cl.upload_sas) {
		struct apd_upload_opts uo;
		int urc;

		/* the blob is named after the device and the collection time */
		if (apd_collect_device_name(cl.root, pc, sizeof(pc)) != APD_OK)
			snprintf(pc, sizeof(pc), "unknown");
		apd_upload_opts_default(&uo);
		uo.device = pc;
		uo.name_time = now;
		urc = fe_upload(out, cl.upload_sas, &uo, cl.progress && !cl.quiet);
		clp->upload_sas = NULL;   /* fe_upload wiped and freed it */
		if (urc != APD_EXIT_OK) {
			free(out);
			return urc;
		}
	}
	free(out);
	return rc == APD_WARN ? APD_EXIT_PARTIAL : APD_EXIT_OK;
}

/* ---- verify ---- */

static void
on_report(void *ud, const char *what, const char *path, const char *detail)
{
	bool *quiet = ud;

	if (*quiet)
		return;
	printf("%-10s ", what);
	fe_safe(stdout, path);
	printf("  (");
	fe_safe(stdout, detail);
	printf(")\n");
}

static void
verify_help(FILE *f)
{
	fprintf(f, "usage: apdiag verify ARCHIVE [--quiet]\n\n"
	    "Check every entry of an apdiag bundle (cab, tar, tar.gz, tar.zst, zip) against\n"
	    "the SHA-256 and size its manifest.json records, and that nothing is missing\n"
	    "or added.  Prints one line per problem, then a summary.\n\nOptions:\n"
	    "  %-29s %s\n  %-29s %s\n", "--quiet", "print only the summary",
	    "-h, --help", "show this help");
	fprintf(f, "\nExit status: 0 every entry matches, 2 usage, 3 the archive cannot be read\n"
	    "or has no manifest.json first, 4 mismatched, missing or extra entries,\n"
	    "5 internal error.  See apdiag(1).\n");
}

int
apd_verify_main(int argc, char **argv)
{
	struct apd_verify_result res;
	struct apd_error err;
	const char *path = NULL;
	bool quiet = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			verify_help(stdout);
			return APD_EXIT_OK;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			quiet = true;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fe_err("verify: unknown option '%s' (try: apdiag verify --help)", argv[i]);
			return APD_EXIT_USAGE;
		} else if (path) {
			fe_err("verify: more than one ARCHIVE");
			return APD_EXIT_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (path == NULL) {
		fe_err("verify: no ARCHIVE given (try: apdiag verify --help)");
		return APD_EXIT_USAGE;
	}
	apd_error_clear(&err);
	rc = apd_verify_archive(path, on_report, &quiet, &res, &err);
	if (rc == APD_FAILED) {
		fe_err("verify: %s", err.msg);
		return APD_EXIT_INPUT;
	}
	if (rc == APD_FATAL) {
		fe_err("verify: %s", err.msg);
		return APD_EXIT_INTERNAL;
	}
	printf("apdiag verify: %zu entries match, %zu mismatched, %zu missing, %zu extra: ",
	    res.checked, res.mismatched, res.missing, res.extra);
	fe_safe(stdout, path);
	printf(rc == APD_OK ? " is intact\n" : " FAILED\n");
	return rc == APD_OK ? APD_EXIT_OK : APD_EXIT_PARTIAL;
}
