/*
 * rules.c - `apdiag rules lint [DIR]` and `apdiag rules test [DIR]`: the
 * tooling of rule authors (docs/rules.md), and where the shipped rules are.
 *
 * Exit status: 0 all good, 1 a rule problem (lint) or a failing test case
 * (test), 2 usage, 3 the folder cannot be read, 5 internal error.
 */
#include "fe.h"
#include "apd_rules.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
is_dir(const char *p)
{
	struct stat st;

	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The shipped rules: $APDIAG_RULES_DIR; else the source tree's rules/ when
 * this binary runs from its build tree; else the installed folder; else the
 * source tree's (a build that was never installed).  NULL if none exists.
 */
const char *
fe_rules_dir(void)
{
	const char *env = getenv("APDIAG_RULES_DIR");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		size_t k = strlen(APD_BUILD_ROOT);
		self[n] = '\0';
		if (strncmp(self, APD_BUILD_ROOT, k) == 0 && self[k] == '/' && is_dir(APD_SOURCE_RULES_DIR))
			return APD_SOURCE_RULES_DIR;
	}
	if (is_dir(APD_RULES_DIR))
		return APD_RULES_DIR;
	if (is_dir(APD_SOURCE_RULES_DIR))
		return APD_SOURCE_RULES_DIR;
	return NULL;
}

void
fe_print_diag(const struct apd_diag *d)
{
	static const char *const lvl[] = { "note", "warning", "error" };

	fprintf(stderr, "apdiag: %s: ", lvl[d->level < 0 || d->level > 2 ? 2 : d->level]);
	fe_safe(stderr, d->msg);
	fputc('\n', stderr);
}

struct tally {
	unsigned long pass, fail, error, vacuous, tests;
	bool verbose, lint;
};

static void
on_test(void *ud, const struct apd_rules_test_report *t)
{
	struct tally *ty = ud;
	const char *what = t->status == APD_TEST_PASS ? "ok" : t->status == APD_TEST_FAIL ? "FAIL" :
	    "ERROR";

	ty->tests++;
	if (ty->lint) {
		if (t->vacuous) {
			ty->vacuous++;
			printf("%s:%u: rule %s: negative case \"", t->file, t->line, t->rule_id);
			fe_safe(stdout, t->name);
			printf("\" cannot fail: none of its records reaches the rule's selector "
			    "(same source kind, channel, event id, registry key or literal phrase)\n");
		} else if (t->status == APD_TEST_ERROR) {
			ty->error++;
			printf("%s:%u: rule %s: negative case \"", t->file, t->line, t->rule_id);
			fe_safe(stdout, t->name);
			printf("\" does not run: ");
			fe_safe(stdout, t->msg);
			putchar('\n');
		}
		return;
	}
	if (t->status == APD_TEST_PASS)
		ty->pass++;
	else if (t->status == APD_TEST_FAIL)
		ty->fail++;
	else
		ty->error++;
	if (t->status != APD_TEST_PASS || ty->verbose) {
		printf("%-5s %s %s:%u %s \"", what, t->rule_id, t->file, t->line,
		    t->expect_match ? "match" : "no-match");
		fe_safe(stdout, t->name);
		printf("\"");
		if (t->msg[0]) {
			printf(": ");
			fe_safe(stdout, t->msg);
		}
		putchar('\n');
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: apdiag rules lint [DIR] [--rule ID]\n"
	    "       apdiag rules test [DIR] [--rule ID] [--verbose]\n\n"
	    "lint  validate every rule file of DIR against the schema, compile it, check that\n"
	    "      every rule has a positive and a negative test case and that each negative\n"
	    "      case reaches the rule's selector (so it can fail), and warn about\n"
	    "      selectors that scan every event and placeholders nothing captures.\n"
	    "test  run every rule's test cases; --verbose lists the passing ones too.\n\n"
	    "DIR defaults to the shipped rules (%s).\n"
	    "Exit status: 0 all good, 1 a rule problem or a failing test, 2 usage,\n"
	    "3 DIR cannot be read, 5 internal error.\n", fe_rules_dir() ? fe_rules_dir() : "none found");
}

int
apd_rules_main(int argc, char **argv)
{
	const char *sub, *dir = NULL, *only = NULL, *tmp;
	struct apd_ruleset *rs = NULL;
	struct apd_error err;
	struct tally ty;
	size_t i, errors = 0, warnings = 0;
	int rc, a;

	memset(&ty, 0, sizeof(ty));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? APD_EXIT_USAGE : APD_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "lint") != 0 && strcmp(sub, "test") != 0) {
		fe_err("rules: unknown command '%s' (lint or test)", sub);
		return APD_EXIT_USAGE;
	}
	ty.lint = strcmp(sub, "lint") == 0;
	for (a = 2; a < argc; a++) {
		if (strcmp(argv[a], "--rule") == 0 && a + 1 < argc) {
			only = argv[++a];
		} else if (strcmp(argv[a], "--verbose") == 0) {
			ty.verbose = true;
		} else if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return APD_EXIT_OK;
		} else if (argv[a][0] == '-') {
			fe_err("rules: unknown option '%s'", argv[a]);
			return APD_EXIT_USAGE;
		} else if (dir == NULL) {
			dir = argv[a];
		} else {
			fe_err("rules: more than one DIR");
			return APD_EXIT_USAGE;
		}
	}
	if (dir == NULL && (dir = fe_rules_dir()) == NULL) {
		fe_err("rules: no rules folder found; name one");
		return APD_EXIT_INPUT;
	}
	apd_error_clear(&err);
	if (apd_ruleset_new(&rs, &err) != APD_OK) {
		fe_err("%s", err.msg);
		return APD_EXIT_INTERNAL;
	}
	rc = apd_ruleset_load_dir(rs, dir, &err);
	if (rc == APD_FAILED || rc == APD_FATAL) {
		fe_err("%s", err.msg);
		apd_ruleset_free(rs);
		return rc == APD_FAILED ? APD_EXIT_INPUT : APD_EXIT_INTERNAL;
	}
	if (only && apd_ruleset_find(rs, only) < 0) {
		fe_err("rules: no rule %s in %s", only, dir);
		apd_ruleset_free(rs);
		return APD_EXIT_USAGE;
	}
	if (ty.lint)
		(void)apd_ruleset_lint(rs);
	for (i = 0; i < apd_ruleset_ndiags(rs); i++) {
		const struct apd_diag *d = apd_ruleset_diag(rs, i);
		if (only && d->rule_id && strcmp(d->rule_id, only) != 0)
			continue;
		if (d->level == APD_DIAG_ERROR)
			errors++;
		else if (d->level == APD_DIAG_WARN)
			warnings++;
		if (ty.lint || d->level == APD_DIAG_ERROR)
			fe_print_diag(d);
	}
	tmp = getenv("TMPDIR");
	if (tmp == NULL || !is_dir(tmp))
		tmp = "/tmp";
	if (apd_rules_run_tests(rs, only, ty.lint ? APD_RULES_TEST_NEGATIVE_ONLY : 0, tmp, on_test,
	    &ty, &err) != APD_OK) {
		fe_err("%s", err.msg);
		apd_ruleset_free(rs);
		return APD_EXIT_INTERNAL;
	}
	if (ty.lint) {
		printf("rules lint: %zu rules, %lu negative cases: %zu errors, %lu vacuous cases, "
		    "%lu cases that do not run, %zu warnings\n", only ? (size_t)1 : apd_ruleset_size(rs),
		    ty.tests, errors, ty.vacuous, ty.error, warnings);
		rc = errors || ty.vacuous || ty.error ? 1 : 0;
	} else {
		printf("rules test: %zu rules, %lu tests: %lu passed, %lu failed, %lu errors\n",
		    only ? (size_t)1 : apd_ruleset_size(rs), ty.tests, ty.pass, ty.fail, ty.error);
		rc = ty.fail || ty.error || errors ? 1 : 0;
	}
	apd_ruleset_free(rs);
	return rc;
}
