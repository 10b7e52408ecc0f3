/*
 * main.c - apdiag: one binary, a static table of verbs.
 */
#include "fe.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include "apd_win.h"
#include <windows.h>
#include <fcntl.h>
#include <shellapi.h>
#endif

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int verb_help(int argc, char **argv);
static int verb_version(int argc, char **argv);

/* The Windows build (APD_COLLECTOR_ONLY) has the verbs that run on the device. */
static const struct verb verbs[] = {
#ifndef APD_COLLECTOR_ONLY
	{ "analyze", apd_analyze_main, "index a bundle, cab, zip, folder or file into SQLite" },
	{ "report", apd_report_main, "write the report: HTML page, Markdown or JSON (docs/report.md)" },
#endif
	{ "upload", apd_upload_main, "upload a bundle to Azure Blob Storage through a SAS URL" },
#ifndef APD_COLLECTOR_ONLY
	{ "rules", apd_rules_main, "lint and test rule files (rules lint|test [DIR])" },
	{ "collect", apd_collect_main, "bundle the Autopilot evidence of a Windows volume" },
#else
	{ "collect", apd_collect_main, "bundle the Autopilot evidence of this device (or a volume)" },
#endif
	{ "verify", apd_verify_main, "check a bundle's entries against its manifest" },
#ifndef APD_COLLECTOR_ONLY
	{ "evtx", apd_evtx_main, "decode an event log: evtx dump FILE [--xml | --jsonl]" },
#endif
	{ "help", verb_help, "show this help, or a verb's help" },
	{ "version", verb_version, "print the version" },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: apdiag [--version] [--help] VERB [ARGS]\n\n"
	    "Diagnose failed Windows Autopilot deployments.\n\nVerbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
#ifdef APD_COLLECTOR_ONLY
	fprintf(f, "\n`apdiag VERB --help` describes a verb.  This is the Windows build: analyze\n"
	    "the bundle with apdiag on any OS.\n");
#else
	fprintf(f, "\n`apdiag VERB --help` describes a verb; `man apdiag` the exit codes.\n");
#endif
}

static int
verb_help(int argc, char **argv)
{
	char *sub[] = { NULL, (char *)"--help", NULL };
	size_t i;

	if (argc >= 2) {
		for (i = 0; i < NVERBS; i++)
			if (strcmp(argv[1], verbs[i].name) == 0 && verbs[i].run != verb_help) {
				sub[0] = argv[1];
				return verbs[i].run(2, sub);
			}
		fe_err("unknown verb '%s'", argv[1]);
		return APD_EXIT_USAGE;
	}
	usage(stdout);
	return APD_EXIT_OK;
}

static int
verb_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("apdiag %s\n", apd_version());
	return APD_EXIT_OK;
}

#ifdef _WIN32
/*
 * Windows: the arguments as UTF-8 (from the UTF-16 command line, not the
 * ANSI code page), binary file I/O, and UTF-8 on the console.
 */
static char **
utf8_args(int *argc)
{
	int n = 0, i;
	wchar_t **wv = CommandLineToArgvW(GetCommandLineW(), &n);
	char **v;

	if (wv == NULL || (v = calloc((size_t)n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((v[i] = apd_w2u(wv[i], -1)) == NULL)
			return NULL;
	LocalFree(wv);
	*argc = n;
	return v;
}
#endif

int
main(int argc, char **argv)
{
	size_t i;

#ifdef _WIN32
	{
		char **v = utf8_args(&argc);
		if (v)
			argv = v;   /* lives as long as the process */
		_fmode = _O_BINARY;
		SetConsoleOutputCP(CP_UTF8);
	}
#endif

	/*
	 * Archive entry names are UTF-8 (cab with the UTF flag, pax, zip):
	 * libarchive converts them through the locale's character type, which
	 * in the "C" locale cannot hold them.  Text is not otherwise affected.
	 */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		setlocale(LC_CTYPE, "");
	if (argc < 2) {
		usage(stderr);
		return APD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return verb_version(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return verb_help(1, argv + 1);
	for (i = 0; i < NVERBS; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	fe_err("unknown verb '%s' (try: apdiag --help)", argv[1]);
	return APD_EXIT_USAGE;
}
