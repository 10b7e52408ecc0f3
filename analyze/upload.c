/*
 * upload.c - `apdiag upload FILE SAS_URL`: put a bundle into Azure Blob
 * Storage through apd_upload_file() and print the blob's URL, without the
 * SAS, as the last line.
 *
 * The SAS never reaches the terminal: the core gives only redacted text,
 * and this file prints nothing else that came from the URL.  SAS_URL "-"
 * reads the URL from standard input, so that it need not be on the command
 * line at all; when it is, its query string is blanked in argv as soon as it
 * is copied, which hides it from ps(1) and /proc/PID/cmdline thereafter.
 *
 * The options are one table: it drives parsing and --help.
 */
#include "fe.h"
#include "apd_error.h"
#include "apd_sas.h"
#include "apd_upload.h"
#include "apd_compat.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

struct upload_opts {
	const char *file;
	char *sas;              /* owned copy */
	const char *name;
	const char *device;
	uint64_t block_size;
	unsigned parallel;
	unsigned timeout;
	unsigned stall;
	bool progress;
};

enum opt_type { OPT_FLAG, OPT_STR, OPT_SIZE, OPT_UINT };

#define O(f) offsetof(struct upload_opts, f)
static const struct fe_opt opts[] = {
	{ "--name", OPT_STR, O(name), "BLOB",
	  "blob name in a container SAS (default: apdiag-DEVICE-TIME-HASH.EXT)" },
	{ "--device", OPT_STR, O(device), "NAME", "device name for the blob name and metadata "
	  "(default: this host's name)" },
	{ "--block-size", OPT_SIZE, O(block_size), "SIZE", "block size; larger files go up in "
	  "blocks (8M)" },
	{ "--parallel", OPT_UINT, O(parallel), "N", "blocks sent at once, 1 to 16 (1)" },
	{ "--timeout", OPT_UINT, O(timeout), "S", "give up S seconds after the start (3600)" },
	{ "--stall-timeout", OPT_UINT, O(stall), "S", "retry a request that moves no data for S "
	  "seconds (60)" },
	{ "--no-progress", OPT_FLAG, O(progress), NULL, "no progress bar on a terminal" },
};
#undef O
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void
upload_help(FILE *f)
{

	fprintf(f, "usage: apdiag upload FILE SAS_URL [OPTIONS]\n\n"
	    "Upload FILE to Azure Blob Storage through a SAS URL that names a container or\n"
	    "a blob, resumably, and verify it.  Re-running an interrupted upload sends only\n"
	    "the blocks the service does not hold yet.  SAS_URL \"-\" reads the URL from\n"
	    "standard input.  The SAS is never printed; the last line printed is the blob's\n"
	    "URL without it.\n\nOptions:\n");
	fe_opt_help(f, opts, NOPTS, 22);
	fprintf(f, "  %-22s %s\n", "-h, --help", "show this help");
	fprintf(f, "\nSIZE takes k, M, G suffixes (powers of 1024).  Proxies: http_proxy,\n"
	    "https_proxy and no_proxy, as curl reads them.\n"
	    "Exit status: 0 uploaded and verified, 2 usage, 3 FILE unreadable, 5 internal\n"
	    "error, 6 refused by the service (403: SAS expired or without permission),\n"
	    "7 gave up after retrying until --timeout (run again to resume), 8 the blob\n"
	    "does not match after the commit.  See apdiag(1).\n");
}

/* Read the SAS URL from standard input: the first line, trimmed. */
static char *
read_sas_stdin(void)
{
	char line[8192];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	return n ? strdup(line) : NULL;
}

static int
parse_args(int argc, char **argv, struct upload_opts *o)
{
	char *sas_arg = NULL;
	int i;

	memset(o, 0, sizeof(*o));
	o->progress = true;
	o->block_size = APD_UPLOAD_DEF_BLOCK;
	o->parallel = 1;
	o->timeout = APD_UPLOAD_DEF_TIMEOUT_S;
	o->stall = APD_UPLOAD_DEF_STALL_S;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct fe_opt *op;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			upload_help(stdout);
			return -1;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (o->file == NULL) {
				o->file = a;
			} else if (sas_arg == NULL) {
				sas_arg = argv[i];
			} else {
				fe_err("upload: too many arguments (try: apdiag upload --help)");
				return APD_EXIT_USAGE;
			}
			continue;
		}
		if ((op = fe_opt_next(opts, NOPTS, "upload", argc, argv, &i, &val)) == NULL)
			return APD_EXIT_USAGE;
		switch (op->type) {
		case OPT_FLAG:
			*(bool *)((char *)o + op->off) = strncmp(op->name, "--no-", 5) != 0;
			break;
		case OPT_STR:
			*(const char **)((char *)o + op->off) = val;
			break;
		case OPT_SIZE: {
			uint64_t v;
			if (!fe_parse_size(val, &v) || v < APD_UPLOAD_MIN_BLOCK || v > APD_UPLOAD_MAX_BLOCK) {
				fe_err("upload: %s: '%s' is not a size from 64k to 4000M", op->name, val);
				return APD_EXIT_USAGE;
			}
			*(uint64_t *)((char *)o + op->off) = v;
			break;
		}
		case OPT_UINT:
		default: {
			unsigned v;
			if (!fe_parse_uint(val, &v) || v == 0) {
				fe_err("upload: %s: '%s' is not a positive number", op->name, val);
				return APD_EXIT_USAGE;
			}
			*(unsigned *)((char *)o + op->off) = v;
			break;
		}
		}
	}
	if (o->file && sas_arg == NULL && strstr(o->file, "://")) {
		/* a URL alone: never echo it, it may carry the SAS */
		char *q = strchr((char *)(uintptr_t)o->file, '?');
		if (q)
			memset(q + 1, 'x', strlen(q + 1));
		fe_err("upload: FILE is missing before the SAS URL (try: apdiag upload --help)");
		return APD_EXIT_USAGE;
	}
	if (o->file == NULL || sas_arg == NULL) {
		fe_err("upload: FILE and SAS_URL are needed (try: apdiag upload --help)");
		return APD_EXIT_USAGE;
	}
	if (o->parallel > APD_UPLOAD_MAX_PARALLEL) {
		fe_err("upload: --parallel is at most %u", APD_UPLOAD_MAX_PARALLEL);
		return APD_EXIT_USAGE;
	}
	return fe_sas_take(sas_arg, "upload", &o->sas);
}

int
fe_sas_take(char *arg, const char *verb, char **sas)
{
	char *q;

	if (strcmp(arg, "-") == 0) {
		*sas = read_sas_stdin();
		if (*sas == NULL) {
			fe_err("%s: no SAS URL on standard input", verb);
			return APD_EXIT_USAGE;
		}
		return 0;
	}
	*sas = strdup(arg);
	if (*sas == NULL) {
		fe_err("out of memory");
		return APD_EXIT_INTERNAL;
	}
	/* hide the SAS from ps(1) from now on */
	if ((q = strchr(arg, '?')) != NULL)
		memset(q + 1, 'x', strlen(q + 1));
	return 0;
}

/* ---- the progress bar ---- */

struct bar {
	double send_start;      /* elapsed seconds when sending began, -1 before */
	uint64_t base;          /* bytes done when sending began (held blocks) */
	bool shown;
};

static void
fmt_eta(char *out, size_t n, double s)
{
	unsigned long t = s < 0 ? 0 : s > 359999 ? 359999 : (unsigned long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, n, "%lu:%02lu", t / 60, t % 60);
}

static void
on_progress(void *ud, const struct apd_upload_progress *p)
{
	struct bar *b = ud;
	uint64_t now = p->done + p->in_flight;
	double frac = p->total ? (double)now / (double)p->total : 1, rate = 0;
	char eta[32] = "--:--", bar[31];
	int i, fill;

	if (frac > 1)
		frac = 1;
	if (strcmp(p->phase, "sending") == 0 && b->send_start < 0) {
		b->send_start = p->elapsed;
		b->base = p->done;
	}
	if (b->send_start >= 0 && p->elapsed - b->send_start > 0.2 && now > b->base) {
		rate = (double)(now - b->base) / (p->elapsed - b->send_start);
		fmt_eta(eta, sizeof(eta), (double)(p->total - (now > p->total ? p->total : now)) / rate);
	}
	fill = (int)(frac * 30);
	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[30] = '\0';
	fprintf(stderr, "\r\033[K%-10s [%s] %3d%%  %.1f/%.1f MB  %.1f MB/s  ETA %s", p->phase, bar,
	    (int)(frac * 100), (double)now / 1e6, (double)p->total / 1e6, rate / 1e6, eta);
	if (p->retries)
		fprintf(stderr, "  (%u retries)", p->retries);
	fflush(stderr);
	b->shown = true;
}

static int
exit_code(int failure)
{
	switch (failure) {
	case APD_UPF_USAGE: return APD_EXIT_USAGE;
	case APD_UPF_INPUT: return APD_EXIT_INPUT;
	case APD_UPF_DENIED:
	case APD_UPF_REFUSED: return APD_EXIT_REFUSED;
	case APD_UPF_GAVE_UP: return APD_EXIT_GAVE_UP;
	case APD_UPF_VERIFY: return APD_EXIT_VERIFY;
	default: return APD_EXIT_INTERNAL;
	}
}

int
apd_upload_main(int argc, char **argv)
{
	struct upload_opts o;
	struct apd_upload_opts uo;
	char host[256] = "";
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc != 0) {
		free(o.sas);
		return rc < 0 ? APD_EXIT_OK : rc;
	}
	if (apd_access_read(o.file) != 0) {
		char shown[1024];
		snprintf(shown, sizeof(shown), "%s", o.file);
		apd_sas_scrub(NULL, shown, sizeof(shown));
		fe_err("upload: %s: cannot read the file", shown);
		free(o.sas);
		return APD_EXIT_INPUT;
	}
#ifdef _WIN32
	if (o.device == NULL && GetEnvironmentVariableA("COMPUTERNAME", host, sizeof(host) - 1) > 0)
		o.device = host;
#else
	if (o.device == NULL && gethostname(host, sizeof(host) - 1) == 0)
		o.device = host;
#endif
	apd_upload_opts_default(&uo);
	uo.device = o.device;
	uo.blob_name = o.name;
	uo.block_size = o.block_size;
	uo.parallel = o.parallel;
	uo.timeout_s = o.timeout;
	uo.stall_s = o.stall;
	return fe_upload(o.file, o.sas, &uo, o.progress);
}

int
fe_upload(const char *file, char *sas, struct apd_upload_opts *uo, bool progress)
{
	struct apd_upload_result res;
	struct apd_error err;
	struct bar bar = { -1, 0, false };
	int rc;

	if (progress && isatty(2)) {
		uo->progress = on_progress;
		uo->progress_ud = &bar;
	}
	apd_error_clear(&err);
	rc = apd_upload_file(file, sas, uo, &res, &err);
	memset(sas, 0, strlen(sas));
	free(sas);
	uo->progress = NULL;
	if (bar.shown)
		fputs("\r\033[K", stderr);
	if (rc != APD_OK) {
		fe_err("upload: %s", err.msg);
		if (res.blob_url) {
			fputs("apdiag: upload: the blob: ", stderr);
			fe_safe(stderr, res.blob_url);
			fputc('\n', stderr);
		}
		apd_upload_result_done(&res);
		return exit_code(res.failure);
	}
	fputs("apdiag: uploaded ", stderr);
	fe_safe(stderr, file);
	if (res.blocks)
		fprintf(stderr, ": %llu bytes in %u blocks (%u already held, %u sent), %u requests, "
		    "%u retries", (unsigned long long)res.size, res.blocks, res.blocks_held,
		    res.blocks_sent, res.requests, res.retries);
	else
		fprintf(stderr, ": %llu bytes in one request, %u requests, %u retries",
		    (unsigned long long)res.size, res.requests, res.retries);
	fprintf(stderr, "%s\n", res.verified ? "; verified: length, MD5, SHA-256" : "");
	if (res.note[0]) {
		fputs("apdiag: upload: ", stderr);
		fe_safe(stderr, res.note);
		fputc('\n', stderr);
	}
	fflush(stderr);
	fe_safe(stdout, res.blob_url);
	fputc('\n', stdout);
	apd_upload_result_done(&res);
	return APD_EXIT_OK;
}
