/*
 * fe.h - front-end helpers shared by the apdiag verbs.  Only front ends
 * print; everything they print from input passes through fe_safe().
 */
#ifndef APD_FE_H
#define APD_FE_H

#include "apd.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of apdiag (docs/apdiag.1.md, EXIT STATUS). */
enum apd_exit {
	APD_EXIT_OK = 0,        /* done; every source read completely */
	APD_EXIT_FINDINGS = 1,  /* reserved: findings at or above --fail-on (rules issue) */
	APD_EXIT_USAGE = 2,     /* bad command line */
	APD_EXIT_INPUT = 3,     /* the input cannot be read at all */
	APD_EXIT_PARTIAL = 4,   /* done, index written, but some sources failed or were cut */
	APD_EXIT_INTERNAL = 5,  /* the index could not be written, out of memory, a bug */
	APD_EXIT_REFUSED = 6,   /* upload: the service refused (403: the SAS; other 4xx) */
	APD_EXIT_GAVE_UP = 7,   /* upload: retried until --timeout; run again to resume */
	APD_EXIT_VERIFY = 8     /* upload: the committed blob does not match the file */
};

/* Print text with control characters and invalid UTF-8 escaped as \xNN. */
void fe_safe(FILE *f, const char *s);
void fe_safe_n(FILE *f, const char *s, size_t n);
void fe_err(const char *fmt, ...) APD_PRINTF(1, 2);   /* "apdiag: ..." on stderr */

/* Parse "123", "64k", "512M", "2G" (powers of 1024); false on junk or overflow. */
bool fe_parse_size(const char *s, uint64_t *out);
bool fe_parse_uint(const char *s, unsigned *out);

int apd_analyze_main(int argc, char **argv);
/* One option of a verb's table, which drives both parsing and --help. */
struct fe_opt {
	const char *name;   /* "--max-depth" */
	int type;           /* the verb's own enum; FE_OPT_FLAG (0) takes no value */
	size_t off;         /* where the value goes in the verb's options struct */
	const char *arg;    /* the value's name in --help, NULL for a flag */
	const char *help;
};
#define FE_OPT_FLAG 0

/*
 * The table entry for the option argv[*i] ("--name" or "--name=value"), with
 * *val its value (NULL for a flag); a value not given after '=' is the next
 * argument (*i advances).  On a usage error prints it, prefixed with verb,
 * and returns NULL.
 */
const struct fe_opt *fe_opt_next(const struct fe_opt *opts, size_t n, const char *verb,
    int argc, char **argv, int *i, const char **val);
/* The table as --help lines, the left column `width` wide. */
void fe_opt_help(FILE *f, const struct fe_opt *opts, size_t n, int width);

int apd_upload_main(int argc, char **argv);
int apd_report_main(int argc, char **argv);    /* analyze/report_cli.c */
/* analyze's option table (the report verb passes these on to analyze). */
const struct fe_opt *fe_analyze_opts(size_t *n);

struct apd_upload_opts;
/* Copy the SAS URL argument (or read it from stdin when it is "-") into an
   owned *sas, and blank its query string in argv.  0, or an exit code. */
int fe_sas_take(char *arg, const char *verb, char **sas);
/* Upload file through sas (owned: wiped and freed), print the summary on
   stderr and the blob's URL on stdout; returns the exit code (analyze/upload.c). */
int fe_upload(const char *file, char *sas, struct apd_upload_opts *uo, bool progress);
int apd_rules_main(int argc, char **argv);

struct apd_diag;
/* Where the shipped rules are (analyze/rules.c); NULL if no folder is found. */
const char *fe_rules_dir(void);
/* "apdiag: warning: file:line: message" on stderr. */
void fe_print_diag(const struct apd_diag *d);
int apd_collect_main(int argc, char **argv);   /* collect/cli.c */
int apd_verify_main(int argc, char **argv);    /* collect/cli.c */
int apd_evtx_main(int argc, char **argv);

/* Declared, not included: the Windows build (collector only) has no SQLite. */
struct report_opts;
struct sqlite3;
/*
 * Write the report of db to path ("-": stdout) in format fmt (an enum
 * report_format); on failure print why, prefixed with verb, remove the
 * partial file and return -1.  0 on success.
 */
int fe_report_file(struct sqlite3 *db, const char *path, int fmt, const struct report_opts *o,
    const char *verb);

#endif /* APD_FE_H */
