/*
 * fuzz_rules.c - a libFuzzer target for rule files: the input is written to
 * a temporary file and loaded (well-formedness, the RELAX NG schema, the
 * compiler: regexes, durations, fields, tests), then linted (placeholder
 * parsing).  Nothing may crash; a bad file is only an error with file:line.
 */
#include "apd_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
remove_tmp(void)
{
	if (path[0])
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apd_ruleset *rs;
	struct apd_error err;
	FILE *f;

	if (path[0] == '\0') {
		int fd;
		snprintf(path, sizeof(path), "/tmp/apdiag-fuzz-rules-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			return 0;
		close(fd);
		atexit(remove_tmp);
	}
	f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);
	apd_error_clear(&err);
	if (apd_ruleset_new(&rs, &err) != APD_OK)
		abort();
	if (apd_ruleset_load_file(rs, path, &err) == APD_OK)
		(void)apd_ruleset_lint(rs);
	else if (err.msg[0] == '\0')
		abort();   /* every failure says why */
	apd_ruleset_free(rs);
	return 0;
}
