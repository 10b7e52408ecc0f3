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
	APD_EXIT_INTERNAL = 5   /* the index could not be written, out of memory, a bug */
};

/* Print text with control characters and invalid UTF-8 escaped as \xNN. */
void fe_safe(FILE *f, const char *s);
void fe_safe_n(FILE *f, const char *s, size_t n);
void fe_err(const char *fmt, ...) APD_PRINTF(1, 2);   /* "apdiag: ..." on stderr */

/* Parse "123", "64k", "512M", "2G" (powers of 1024); false on junk or overflow. */
bool fe_parse_size(const char *s, uint64_t *out);
bool fe_parse_uint(const char *s, unsigned *out);

int apd_analyze_main(int argc, char **argv);
int apd_evtx_main(int argc, char **argv);

#endif /* APD_FE_H */
