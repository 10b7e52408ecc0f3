/*
 * report_cli.c - `apdiag report INPUT|DB [-o FILE] [--format html|md|json]`.
 *
 * A DB (a file that starts with the SQLite header) is an existing index:
 * it is opened read-only and its PRAGMA user_version must be the schema
 * version this build writes.  Anything else is an INPUT: the verb runs
 * `apdiag analyze INPUT --quiet --report FILE` into the --db given, or into
 * a temporary index that is removed afterwards, so the report of an input
 * and the report of its index are the same page.
 *
 * Where the report goes: -o FILE; "-o -" is standard output.  Without -o,
 * Markdown and JSON go to standard output and HTML to ./<input name>.html
 * (a page on a terminal helps no one); the path is said on stderr.
 *
 * Exports apd_report_main() and fe_report_file().
 */
#include "fe.h"
#include "apd_store.h"
#include "report_out.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct report_cli {
	const char *input;
	const char *out;
	int format;              /* enum report_format, -1 from the name */
	unsigned max_events;
	const char *db;          /* --db, passed on to analyze */
	char **pass;             /* analyze options, passed on */
	int npass;
};

int
fe_report_file(sqlite3 *db, const char *path, int fmt, const struct report_opts *o,
    const char *verb)
{
	struct apd_error err;
	bool out = strcmp(path, "-") == 0;
	FILE *f = out ? stdout : fopen(path, "wb");
	int rc;

	if (f == NULL) {
		fe_err("%s: %s: cannot write the report: %s", verb, path, strerror(errno));
		return -1;
	}
	apd_error_clear(&err);
	rc = report_write(db, (enum report_format)fmt, o, f, &err);
	if (!out && fclose(f) != 0 && rc == APD_OK) {
		apd_set_errno(&err, APD_FAILED, errno, "cannot write: %s", strerror(errno));
		rc = APD_FAILED;
	}
	if (rc != APD_OK) {
		fe_err("%s: %s: %s", verb, path, err.msg);
		if (!out)
			remove(path);
		return -1;
	}
	return 0;
}

static void
report_help(FILE *f)
{
	size_t n, i;
	const struct fe_opt *ao = fe_analyze_opts(&n);

	fprintf(f, "usage: apdiag report INPUT|DB [-o FILE] [--format html|md|json] [OPTIONS]\n\n"
	    "Write the report of a deployment: the verdict and findings, device and profile\n"
	    "facts, the ESP phases and apps on a time axis, the app table, the merged\n"
	    "timeline and the collection gaps.  DB is an index written by apdiag analyze;\n"
	    "any other INPUT is analyzed first (into --db FILE, or a temporary index).\n\n"
	    "Options:\n");
	fprintf(f, "  %-22s %s\n", "-o, --output FILE", "write here; - is standard output (default: "
	    "stdout for md and json, ./<input name>.html for html)");
	fprintf(f, "  %-22s %s\n", "--format FMT", "html, md or json (default: from -o's extension, "
	    "else html)");
	fprintf(f, "  %-22s %s\n", "--max-events N", "timeline rows in the page or JSON (200000)");
	fprintf(f, "  %-22s %s\n", "-h, --help", "show this help");
	fprintf(f, "\nWhen INPUT is not an index, the options of apdiag analyze apply too:\n");
	for (i = 0; i < n; i++)
		if (strcmp(ao[i].name, "--json") != 0 && strncmp(ao[i].name, "--report", 8) != 0 &&
		    strcmp(ao[i].name, "--max-events") != 0)
			fprintf(f, "  %s%s%s\n", ao[i].name, ao[i].arg ? " " : "", ao[i].arg ? ao[i].arg : "");
	fprintf(f, "\nExit status: 0 ok, 1 a finding at or above --fail-on, 2 usage, 3 input or\n"
	    "index unreadable (or an index of another schema version), 4 some sources\n"
	    "failed or were cut (the report is still written), 5 internal error or the\n"
	    "report could not be written.  See apdiag(1) and docs/report.md.\n");
}

/* The analyze option named by argv[*i] (without "=value"), or NULL. */
static const struct fe_opt *
analyze_opt(const char *a)
{
	size_t n, k, len = strcspn(a, "=");
	const struct fe_opt *ao = fe_analyze_opts(&n);

	for (k = 0; k < n; k++)
		if (strlen(ao[k].name) == len && strncmp(ao[k].name, a, len) == 0)
			return &ao[k];
	return NULL;
}

/* Is a "--name" or "--name=value"? */
static bool
is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);

	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static int
parse_args(int argc, char **argv, struct report_cli *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->format = -1;
	o->max_events = REPORT_MAX_EVENTS;
	o->pass = calloc((size_t)argc + 1, sizeof(*o->pass));
	if (o->pass == NULL) {
		fe_err("out of memory");
		return APD_EXIT_INTERNAL;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		const struct fe_opt *ao;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			report_help(stdout);
			return -1;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (o->input) {
				fe_err("report: more than one INPUT ('%s' and '%s')", o->input, a);
				return APD_EXIT_USAGE;
			}
			o->input = a;
			continue;
		}
		if (strcmp(a, "-o") == 0 || is_opt(a, "--output") || is_opt(a, "--format") ||
		    is_opt(a, "--max-events")) {
			const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
			if (val == NULL) {
				fe_err("report: %.*s needs a value", (int)strcspn(a, "="), a);
				return APD_EXIT_USAGE;
			}
			if (strcmp(a, "-o") == 0 || is_opt(a, "--output")) {
				o->out = val;
			} else if (is_opt(a, "--format")) {
				enum report_format f;
				if (!report_format_parse(val, &f)) {
					fe_err("report: --format: '%s' is not html, md or json", val);
					return APD_EXIT_USAGE;
				}
				o->format = (int)f;
			} else if (!fe_parse_uint(val, &o->max_events) || o->max_events == 0) {
				fe_err("report: --max-events: '%s' is not a number above 0", val);
				return APD_EXIT_USAGE;
			}
			continue;
		}
		ao = analyze_opt(a);
		if (ao == NULL || strcmp(ao->name, "--json") == 0 || strncmp(ao->name, "--report", 8) == 0) {
			fe_err("report: unknown option '%.*s' (try: apdiag report --help)",
			    (int)strcspn(a, "="), a);
			return APD_EXIT_USAGE;
		}
		o->pass[o->npass++] = argv[i];
		if (ao->type != FE_OPT_FLAG && eq == NULL) {
			if (i + 1 >= argc) {
				fe_err("report: %s needs a value", ao->name);
				return APD_EXIT_USAGE;
			}
			o->pass[o->npass++] = argv[++i];
		}
		if (strcmp(ao->name, "--db") == 0)
			o->db = eq ? eq + 1 : argv[i];
	}
	if (o->input == NULL) {
		fe_err("report: no INPUT or DB given (try: apdiag report --help)");
		return APD_EXIT_USAGE;
	}
	if (o->format < 0)
		o->format = (int)(o->out ? report_format_guess(o->out) : REPORT_HTML);
	return 0;
}

/* Does path start with the SQLite header? */
static bool
is_sqlite(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	FILE *f = fopen(path, "rb");
	bool yes;

	if (f == NULL)
		return false;
	yes = fread(head, 1, sizeof(head), f) == sizeof(head) && memcmp(head, magic, 16) == 0;
	fclose(f);
	return yes;
}

/* ./<input base name>.html */
static char *
default_out(const char *input)
{
	size_t n = strlen(input);
	const char *b;
	char *out;

	while (n > 1 && input[n - 1] == '/')
		n--;
	b = input + n;
	while (b > input && b[-1] != '/')
		b--;
	if (b == input + n || (input + n - b == 1 && *b == '.') ||
	    (input + n - b == 2 && b[0] == '.' && b[1] == '.')) {
		b = "report";
		n = 6;
		out = malloc(n + 6);
		if (out)
			snprintf(out, n + 6, "%s.html", b);
		return out;
	}
	out = malloc((size_t)(input + n - b) + 6);
	if (out)
		snprintf(out, (size_t)(input + n - b) + 6, "%.*s.html", (int)(input + n - b), b);
	return out;
}

static int
report_from_db(const struct report_cli *o, const char *out)
{
	struct report_opts ro = { NULL, o->max_events };
	sqlite3 *db = NULL;
	sqlite3_stmt *s;
	int ver = -1, rc;
	bool meta = false;

	if (o->npass) {
		fe_err("report: %s is an index already: the options of analyze (%s) do not apply",
		    o->input, o->pass[0]);
		return APD_EXIT_USAGE;
	}
	if (sqlite3_open_v2(o->input, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fe_err("report: %s: %s", o->input, db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return APD_EXIT_INPUT;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		ver = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key = 'schema_version'", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		meta = true;
	sqlite3_finalize(s);
	if (ver == -1) {
		fe_err("report: %s: cannot read the database: %s", o->input, sqlite3_errmsg(db));
		sqlite3_close(db);
		return APD_EXIT_INPUT;
	}
	if (!meta && ver == 0) {
		fe_err("report: %s: an SQLite database, but not an apdiag index", o->input);
		sqlite3_close(db);
		return APD_EXIT_INPUT;
	}
	if (ver != APD_SCHEMA_VERSION) {
		fe_err("report: %s: an apdiag index of schema version %d; this apdiag reads version %d "
		    "(run apdiag analyze on the original input again)", o->input, ver, APD_SCHEMA_VERSION);
		sqlite3_close(db);
		return APD_EXIT_INPUT;
	}
	rc = fe_report_file(db, out, o->format, &ro, "report") == 0 ? APD_EXIT_OK : APD_EXIT_INTERNAL;
	sqlite3_close(db);
	return rc;
}

static int
report_from_input(const struct report_cli *o, const char *out)
{
	char tmpl[4096], dbpath[4200], fmtarg[16], evarg[32];
	const char *tmp = getenv("TMPDIR");
	char **av;
	int ac = 0, rc, k;
	bool own = o->db == NULL;

	av = calloc((size_t)o->npass + 16, sizeof(*av));
	if (av == NULL) {
		fe_err("out of memory");
		return APD_EXIT_INTERNAL;
	}
	if (own) {
		snprintf(tmpl, sizeof(tmpl), "%s/apdiag-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(tmpl) == NULL) {
			fe_err("report: cannot make a temporary folder in %s: %s", tmp && *tmp ? tmp :
			    "/tmp", strerror(errno));
			free(av);
			return APD_EXIT_INTERNAL;
		}
		snprintf(dbpath, sizeof(dbpath), "%s/index.apdiag.db", tmpl);
	}
	snprintf(fmtarg, sizeof(fmtarg), "%s", report_format_name((enum report_format)o->format));
	snprintf(evarg, sizeof(evarg), "%u", o->max_events);
	av[ac++] = (char *)"report";
	av[ac++] = (char *)o->input;
	av[ac++] = (char *)"--quiet";
	av[ac++] = (char *)"--report";
	av[ac++] = (char *)out;
	av[ac++] = (char *)"--report-format";
	av[ac++] = fmtarg;
	av[ac++] = (char *)"--max-events";
	av[ac++] = evarg;
	if (own) {
		av[ac++] = (char *)"--db";
		av[ac++] = dbpath;
	}
	for (k = 0; k < o->npass; k++)
		av[ac++] = o->pass[k];
	av[ac] = NULL;
	rc = apd_analyze_main(ac, av);
	free(av);
	if (own) {
		static const char *const ext[] = { "", ".partial", "-journal", "-wal", "-shm",
			".partial-journal", ".partial-wal", ".partial-shm" };
		char p[4300];
		size_t i;
		for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", dbpath, ext[i]);
			(void)remove(p);
		}
		(void)rmdir(tmpl);
	}
	return rc;
}

int
apd_report_main(int argc, char **argv)
{
	struct report_cli o;
	char *def = NULL;
	const char *out;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc != 0) {
		free(o.pass);
		return rc < 0 ? APD_EXIT_OK : rc;
	}
	if (access(o.input, R_OK) != 0) {
		fe_err("report: %s: cannot read the input", o.input);
		free(o.pass);
		return APD_EXIT_INPUT;
	}
	out = o.out;
	if (out == NULL) {
		if (o.format == REPORT_HTML) {
			def = default_out(o.input);
			if (def == NULL) {
				fe_err("out of memory");
				free(o.pass);
				return APD_EXIT_INTERNAL;
			}
			out = def;
		} else {
			out = "-";
		}
	}
	rc = is_sqlite(o.input) ? report_from_db(&o, out) : report_from_input(&o, out);
	if ((rc == APD_EXIT_OK || rc == APD_EXIT_FINDINGS || rc == APD_EXIT_PARTIAL) &&
	    strcmp(out, "-") != 0) {
		fputs("apdiag: report: ", stderr);
		fe_safe(stderr, out);
		fprintf(stderr, " (%s)\n", report_format_name((enum report_format)o.format));
	}
	free(def);
	free(o.pass);
	return rc;
}
