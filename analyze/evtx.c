/*
 * evtx.c - `apdiag evtx dump FILE [--xml | --jsonl]`: decode one EVTX
 * event log for an engineer.
 *
 *   --xml    (default) every record as XML, laid out as libevtx's
 *            `evtxexport -f xml` writes it, a blank line after each;
 *   --jsonl  one JSON object per record: exactly the fields `apdiag
 *            analyze` indexes (the EVTX source parser's output).
 * Records recovered from unallocated space are included and marked (an XML
 * comment before the record, "recovered":true) unless --no-recovered.
 * Damage is reported on standard error, naming the file and the offset.
 */
#include "fe.h"
#include "apd_buf.h"
#include "apd_evtx.h"
#include "apd_json.h"
#include "apd_limits.h"
#include "apd_parser.h"
#include "apd_stream.h"
#include "apd_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dump {
	const char *path;
	bool jsonl, recovered, tty;
	unsigned long warnings;
	unsigned long long records;
	struct apd_buf out;
};

static void
evtx_help(FILE *f)
{
	fprintf(f, "usage: apdiag evtx dump FILE [--xml | --jsonl] [--no-recovered]\n\n"
	    "Decode a Windows event log (.evtx) and print every record.\n\n"
	    "Options:\n"
	    "  --xml            records as XML, as libevtx's `evtxexport -f xml` lays them\n"
	    "                   out (the default)\n"
	    "  --jsonl          one JSON object per record: the fields `apdiag analyze`\n"
	    "                   indexes (record_id, time, channel, provider, event_id, level,\n"
	    "                   computer, user_sid, pid, thread, recovered, offset, message,\n"
	    "                   data)\n"
	    "  --no-recovered   leave out records recovered from unallocated space\n"
	    "  -h, --help       show this help\n\n"
	    "Damage (CRC mismatches, corrupt records) is reported on standard error.\n"
	    "Exit status: 0 ok, 2 usage, 3 FILE unreadable or not an event log, 4 the log\n"
	    "is damaged (every readable record was printed), 5 internal error.\n");
}

/* Write buffered output; on a terminal through fe_safe_n, line by line. */
static int
flush_out(struct dump *d)
{
	size_t i = 0, j;

	if (!d->tty) {
		if (d->out.n && fwrite(d->out.p, 1, d->out.n, stdout) != d->out.n)
			return -1;
	} else {
		while (i < d->out.n) {
			for (j = i; j < d->out.n && d->out.p[j] != '\n'; j++)
				;
			fe_safe_n(stdout, d->out.p + i, j - i);
			if (j < d->out.n)
				fputc('\n', stdout);
			i = j + 1;
		}
	}
	apd_buf_reset(&d->out);
	return ferror(stdout) ? -1 : 0;
}

static void
print_warn(struct dump *d, uint64_t offset, const char *msg)
{
	d->warnings++;
	fprintf(stderr, "apdiag: ");
	fe_safe(stderr, d->path);
	fprintf(stderr, ": offset %llu: ", (unsigned long long)offset);
	fe_safe(stderr, msg);
	fputc('\n', stderr);
}

static int
x_warn(void *ud, uint64_t offset, const char *msg)
{
	print_warn(ud, offset, msg);
	return APD_OK;
}

/* ---- --jsonl: a sink that writes the parser's events ---- */

static int
j_event(void *ud, const struct apd_event *ev)
{
	struct dump *d = ud;
	struct apd_jw w;
	char t[40];

	if (ev->recovered && !d->recovered)
		return APD_OK;
	d->records++;
	apd_jw_begin(&w, &d->out);
	if (ev->record_id >= 0)
		apd_jw_int(&w, "record_id", ev->record_id);
	if (ev->ts_utc != APD_TS_NONE) {
		apd_format_utc(t, ev->ts_utc);
		apd_jw_str(&w, "time", apd_sv_cstr(t));
		apd_jw_int(&w, "ts_utc", ev->ts_utc);
	}
	apd_jw_str(&w, "channel", ev->channel);
	apd_jw_str(&w, "provider", ev->provider);
	if (ev->event_id >= 0)
		apd_jw_int(&w, "event_id", ev->event_id);
	apd_jw_int(&w, "level", ev->level);
	apd_jw_str(&w, "computer", ev->computer);
	apd_jw_str(&w, "user_sid", ev->user_sid);
	if (ev->pid >= 0)
		apd_jw_int(&w, "pid", ev->pid);
	apd_jw_str(&w, "thread", ev->thread);
	apd_jw_bool(&w, "recovered", ev->recovered);
	apd_jw_int(&w, "offset", (int64_t)ev->offset);
	apd_jw_str(&w, "message", ev->message);
	if (ev->data.p)
		apd_jw_raw(&w, "data", ev->data);
	if (apd_jw_end(&w) != APD_OK || apd_buf_addc(&d->out, '\n') != APD_OK)
		return APD_FATAL;
	if (d->out.n >= 1u << 20 && flush_out(d) != 0)
		return APD_FATAL;
	return APD_OK;
}

static int
j_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	(void)line;
	print_warn(ud, offset, msg);
	return APD_OK;
}

static const struct apd_sink_vtable jsonl_vt = {
	.event = j_event,
	.warn = j_warn,
};

/* ---- --xml: the decoder's records, rendered ---- */

static int
dump_xml(struct dump *d, struct apd_stream *s, struct apd_error *err)
{
	const struct apd_evtx_record *r;
	struct apd_evtx *x;
	int rc;

	if ((rc = apd_evtx_open(&x, s, d->path, d->recovered, x_warn, d, err)) != APD_OK)
		return rc;
	while ((rc = apd_evtx_next(x, &r)) == APD_OK) {
		d->records++;
		if (r->recovered && apd_buf_printf(&d->out, "<!-- recovered from unallocated space: "
		    "record %llu at offset %llu -->\n", (unsigned long long)r->id,
		    (unsigned long long)r->offset) != APD_OK) {
			rc = APD_FATAL;
			break;
		}
		if ((rc = apd_evtx_render_xml(r, &d->out)) != APD_OK) {
			rc = APD_FATAL;
			break;
		}
		if (d->out.n >= 1u << 20 && flush_out(d) != 0) {
			rc = APD_FATAL;
			break;
		}
	}
	if (rc == APD_EOF)
		rc = apd_evtx_warned(x) ? APD_WARN : APD_OK;
	apd_evtx_free(x);
	return rc;
}

static int
dump_file(struct dump *d)
{
	struct apd_fd_src fs;
	struct apd_stream s;
	struct apd_error err;
	struct apd_limits lim;
	struct stat sb;
	int fd, rc;

	apd_error_clear(&err);
	apd_limits_default(&lim);
	fd = open(d->path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fe_err("evtx dump: cannot read '%s': %s", d->path,
		    fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return APD_EXIT_INPUT;
	}
	if (apd_fd_src_init(&fs, fd, d->path) != APD_OK) {
		close(fd);
		fe_err("evtx dump: out of memory");
		return APD_EXIT_INTERNAL;
	}
	rc = apd_stream_open(&s, apd_fd_block, &fs, d->path, (int64_t)sb.st_size, UINT64_MAX, &err);
	if (rc == APD_OK) {
		if (d->jsonl) {
			struct apd_sink sink = { &jsonl_vt, d };
			struct apd_parse ps = { &s, &sink, &lim, d->path, d->path, &err };
			rc = apd_parser_find("evtx")->run(&ps);
		} else {
			rc = dump_xml(d, &s, &err);
		}
	}
	if (flush_out(d) != 0 && rc != APD_FATAL) {
		fe_err("evtx dump: cannot write the output");
		rc = APD_FATAL;
	}
	apd_stream_close(&s);
	apd_fd_src_done(&fs);
	close(fd);
	switch (rc) {
	case APD_OK:
		return APD_EXIT_OK;
	case APD_WARN:
		fe_err("evtx dump: %s: damaged: %lu warnings; %llu records printed", d->path,
		    d->warnings, d->records);
		return APD_EXIT_PARTIAL;
	case APD_FAILED:
		fe_err("%s", err.msg[0] ? err.msg : "cannot decode the file");
		return d->records ? APD_EXIT_PARTIAL : APD_EXIT_INPUT;
	default:
		if (err.msg[0])
			fe_err("%s", err.msg);
		return APD_EXIT_INTERNAL;
	}
}

int
apd_evtx_main(int argc, char **argv)
{
	struct dump d;
	int i, rc;

	memset(&d, 0, sizeof(d));
	d.recovered = true;
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		evtx_help(stdout);
		return APD_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "dump") != 0) {
		fe_err("evtx: expected 'dump FILE' (try: apdiag evtx --help)");
		return APD_EXIT_USAGE;
	}
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			evtx_help(stdout);
			return APD_EXIT_OK;
		} else if (strcmp(a, "--xml") == 0) {
			d.jsonl = false;
		} else if (strcmp(a, "--jsonl") == 0) {
			d.jsonl = true;
		} else if (strcmp(a, "--no-recovered") == 0) {
			d.recovered = false;
		} else if (a[0] == '-' && a[1] != '\0') {
			fe_err("evtx dump: unknown option '%s' (try: apdiag evtx --help)", a);
			return APD_EXIT_USAGE;
		} else if (d.path) {
			fe_err("evtx dump: more than one FILE ('%s' and '%s')", d.path, a);
			return APD_EXIT_USAGE;
		} else {
			d.path = a;
		}
	}
	if (d.path == NULL) {
		fe_err("evtx dump: no FILE given (try: apdiag evtx --help)");
		return APD_EXIT_USAGE;
	}
	d.tty = isatty(STDOUT_FILENO) != 0;
	apd_buf_init(&d.out, (size_t)1 << 30);
	rc = dump_file(&d);
	apd_buf_done(&d.out);
	return rc;
}
