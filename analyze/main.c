/*
 * main.c - apdiag: one binary, a static table of verbs.
 */
#include "fe.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static int verb_help(int argc, char **argv);
static int verb_version(int argc, char **argv);

static const struct verb verbs[] = {
	{ "analyze", apd_analyze_main, "index a bundle, cab, zip, folder or file into SQLite" },
	{ "report", apd_report_main, "write the report: HTML page, Markdown or JSON (docs/report.md)" },
	{ "upload", apd_upload_main, "upload a bundle to Azure Blob Storage through a SAS URL" },
	{ "rules", apd_rules_main, "lint and test rule files (rules lint|test [DIR])" },
	{ "collect", apd_collect_main, "bundle the Autopilot evidence of a Windows volume" },
	{ "verify", apd_verify_main, "check a bundle's entries against its manifest" },
	{ "evtx", apd_evtx_main, "decode an event log: evtx dump FILE [--xml | --jsonl]" },
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
	fprintf(f, "\n`apdiag VERB --help` describes a verb; `man apdiag` the exit codes.\n");
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

int
main(int argc, char **argv)
{
	size_t i;

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
