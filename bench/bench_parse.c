/*
 * bench_parse.c - parse-only throughput of one source parser.
 *
 *	bench_parse [-r RUNS] [-s] PARSER FILE...
 *
 * Runs the parser named PARSER (apd_parser_find) over each FILE through the
 * same stream analyze uses (reads of APD_FD_BLOCK bytes, SHA-256 of every
 * byte) into a sink that only counts what it receives.  For each file it
 * prints the size, the best wall time of RUNS runs, MB/s (10^6 bytes per
 * second), records/s and warnings; at the end the process's peak RSS
 * (getrusage ru_maxrss).  -s also times the stream alone (read + hash),
 * the floor under any parser, and prints the parser's own share: the
 * totals with the stream's time taken off.
 *
 * Exit status: 0 when every file parsed (APD_OK or APD_WARN), 1 when a
 * parse failed, 2 on a usage error.
 */
#include "apd.h"
#include "apd_error.h"
#include "apd_limits.h"
#include "apd_parser.h"
#include "apd_sink.h"
#include "apd_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What the counting sink saw. */
struct counts {
	unsigned long long events, regvals, facts, gaps, warns;
	unsigned long long msg_bytes;   /* sum of message lengths: a cheap checksum */
};

static int
c_event(void *ud, const struct apd_event *ev)
{
	struct counts *c = ud;

	c->events++;
	c->msg_bytes += ev->message.n;
	return APD_OK;
}

static int
c_regval(void *ud, const struct apd_regval *rv)
{
	(void)rv;
	((struct counts *)ud)->regvals++;
	return APD_OK;
}

static int
c_fact(void *ud, struct apd_sv name, struct apd_sv value)
{
	(void)name;
	(void)value;
	((struct counts *)ud)->facts++;
	return APD_OK;
}

static int
c_gap(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	(void)item;
	(void)hresult;
	(void)reason;
	((struct counts *)ud)->gaps++;
	return APD_OK;
}

static int
c_warn(void *ud, uint64_t line, uint64_t offset, const char *msg)
{
	(void)line;
	(void)offset;
	(void)msg;
	((struct counts *)ud)->warns++;
	return APD_OK;
}

static const struct apd_sink_vtable count_vt = {
	.event = c_event,
	.regval = c_regval,
	.fact = c_fact,
	.gap = c_gap,
	.warn = c_warn,
};

/* Monotonic seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * One pass over path: parse with p (or only drain the stream when p is
 * NULL).  Returns the parser's code; *secs gets the wall time.
 */
static int
one_run(const struct apd_parser *p, const char *path, const struct apd_limits *lim,
    struct counts *cnt, double *secs, struct apd_error *err)
{
	struct apd_sink sink = { &count_vt, cnt };
	struct apd_fd_src fs;
	struct apd_stream st;
	struct apd_parse ps;
	struct stat sb;
	const char *base = strrchr(path, '/');
	double t0;
	int fd, rc;

	memset(cnt, 0, sizeof(*cnt));
	apd_error_clear(err);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return apd_set_errno(err, APD_FAILED, errno, "%s: cannot open", path);
	}
	if (apd_fd_src_init(&fs, fd, path) != APD_OK) {
		close(fd);
		return apd_set_error(err, APD_FATAL, "out of memory");
	}
	t0 = now();
	rc = apd_stream_open(&st, apd_fd_block, &fs, path, (int64_t)sb.st_size,
	    (uint64_t)sb.st_size > lim->max_file_bytes ? (uint64_t)sb.st_size : lim->max_file_bytes,
	    err);
	if (rc == APD_OK) {
		if (p == NULL) {
			rc = apd_stream_drain(&st);
		} else {
			ps.in = &st;
			ps.sink = &sink;
			ps.lim = lim;
			ps.path = path;
			ps.name = base ? base + 1 : path;
			ps.err = err;
			rc = p->run(&ps);
		}
	}
	*secs = now() - t0;
	apd_stream_close(&st);
	apd_fd_src_done(&fs);
	close(fd);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_parse [-r RUNS] [-s] PARSER FILE...\n");
}

int
main(int argc, char **argv)
{
	const struct apd_parser *p;
	struct apd_limits lim;
	struct apd_error err;
	struct counts cnt, best_cnt;
	struct rusage ru;
	struct stat sb;
	double secs, best, sbest, total_bytes = 0, total_secs = 0, total_stream = 0;
	unsigned long long total_rec = 0;
	int runs = 1, stream_only = 0, opt, i, r, rc, status = 0;

	while ((opt = getopt(argc, argv, "r:sh")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			if (runs < 1)
				runs = 1;
			break;
		case 's':
			stream_only = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage();
		return 2;
	}
	p = apd_parser_find(argv[optind]);
	if (p == NULL || p->run == NULL) {
		fprintf(stderr, "bench_parse: no parser '%s' with a run()\n", argv[optind]);
		return 2;
	}
	apd_limits_default(&lim);
	printf("%-44s %12s %9s %10s %10s %12s %8s%s\n", "file", "bytes", "secs", "MB/s", "records",
	    "records/s", "warns", stream_only ? "  stream-MB/s" : "");
	for (i = optind + 1; i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "bench_parse: %s: cannot stat\n", argv[i]);
			status = 1;
			continue;
		}
		best = 1e30;
		memset(&best_cnt, 0, sizeof(best_cnt));
		rc = APD_OK;
		for (r = 0; r < runs; r++) {
			rc = one_run(p, argv[i], &lim, &cnt, &secs, &err);
			if (rc != APD_OK && rc != APD_WARN)
				break;
			if (secs < best) {
				best = secs;
				best_cnt = cnt;
			}
		}
		if (rc != APD_OK && rc != APD_WARN) {
			fprintf(stderr, "bench_parse: %s: %s: %s\n", argv[i], apd_status_name(rc),
			    err.msg);
			status = 1;
			continue;
		}
		printf("%-44s %12lld %9.3f %10.1f %10llu %12.0f %8llu", argv[i],
		    (long long)sb.st_size, best, (double)sb.st_size / best / 1e6, best_cnt.events,
		    (double)best_cnt.events / best, best_cnt.warns);
		if (stream_only) {
			sbest = 1e30;
			for (r = 0; r < runs; r++) {
				if (one_run(NULL, argv[i], &lim, &cnt, &secs, &err) == APD_OK &&
				    secs < sbest)
					sbest = secs;
			}
			printf("  %11.1f", (double)sb.st_size / sbest / 1e6);
			total_stream += sbest < best ? sbest : best;
		}
		printf("\n");
		total_bytes += (double)sb.st_size;
		total_secs += best;
		total_rec += best_cnt.events;
	}
	if (total_secs > 0)
		printf("%-44s %12.0f %9.3f %10.1f %10llu %12.0f\n", "total", total_bytes, total_secs,
		    total_bytes / total_secs / 1e6, total_rec, (double)total_rec / total_secs);
	/* -s: the parser's own share, the stream's time (read + SHA-256) taken off */
	if (stream_only && total_secs > total_stream)
		printf("%-44s %12.0f %9.3f %10.1f %10llu %12.0f\n", "parser alone (total - stream)",
		    total_bytes, total_secs - total_stream,
		    total_bytes / (total_secs - total_stream) / 1e6, total_rec,
		    (double)total_rec / (total_secs - total_stream));
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
	return status;
}
