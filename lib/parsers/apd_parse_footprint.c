/*
 * apd_parse_footprint.c - MdmLogCollectorFootPrint.txt, the run log that
 * MdmDiagnosticsTool.exe writes next to what it collected (DOMAIN.md §1.6).
 *
 * ASCII (an ANSI code page for non-ASCII paths), CRLF, times in UTC:
 *
 *	--- Start at:2024-04-03T07:45:13
 *	"AreaName" : "deviceenrollment;deviceprovisioning;autopilot;"
 *	Collected EventViewer Entry: Microsoft-Windows-AAD/Operational
 *	Copied file:<src>, to:<dst>
 *	Failed (HResult: 0x80070002) to CollectFileEntry:<path>
 *	Succeeded to dump HKLM registry:<key>
 *	--- 15 HKLM registry entries are collected
 *	--- End at:2024-04-03T07:46:02
 *
 * Every non-empty line becomes an event (UTC, stamped with the latest
 * "--- Start at:" time, or its own time for Start/End lines).  Every
 * "Failed ..." line also becomes a gap: what the collector could not
 * collect, with its HRESULT.  Lines of unknown form are events like any
 * other.  Facts and event data are documented in docs/sources/footprint.md.
 *
 * Only apd_parser_footprint is exported; everything else has file scope.
 */
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_parser.h"
#include "apd_text.h"
#include "apd_time.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define START     "--- Start at:"
#define END       "--- End at:"
#define MAX_BAD   20u    /* warnings about lines with binary data */

struct fp {
	struct apd_parse *ps;
	struct apd_lines lr;
	struct apd_buf json;
	int64_t cur_ts;            /* latest Start time, or APD_TS_NONE */
	int64_t first_start, last_end;
	char areas[512];
	bool have_areas;
	unsigned long lines, runs, failed, copied, channels, keys, bad_lines;
	unsigned long long hklm, hkcu;
	bool warned;
	int rc;                    /* first sink code that was not APD_OK */
};

static int warn(struct fp *f, const char *fmt, ...) APD_PRINTF(2, 3);

/* Warn about the current line. Returns the sink code (kept in f->rc). */
static int
warn(struct fp *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->warned = true;
	rc = apd_emit_warn(f->ps->sink, f->lr.lineno, f->lr.offset, "%s", msg);
	if (rc != APD_OK && f->rc == APD_OK)
		f->rc = rc;
	return rc;
}

/* Does the line start with this ASCII text? */
static bool
starts(struct apd_sv s, const char *p)
{
	size_t n = strlen(p);

	return s.n >= n && memcmp(s.p, p, n) == 0;
}

/* Find an ASCII needle case-insensitively; returns the offset or -1. */
static ptrdiff_t
ifind(struct apd_sv s, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= s.n; i++)
		if (strncasecmp(s.p + i, needle, n) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/* The view without leading and trailing blanks. */
static struct apd_sv
trim(struct apd_sv s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of microseconds (whole seconds). */
static void
fmt_utc_sec(char out[32], int64_t us)
{
	char full[32];

	if (apd_format_utc(full, us) >= 20) {
		memcpy(out, full, 19);
		memcpy(out + 19, "Z", 2);
	} else {
		out[0] = '\0';
	}
}

/*
 * The HRESULT of a "Failed" line: "HResult: 0x..", "HResult:0x..", or a
 * Win32 "(err:N)" as HRESULT_FROM_WIN32(N).  INT64_MIN if none.
 */
static int64_t
line_hresult(struct apd_sv s)
{
	ptrdiff_t at = ifind(s, "HResult");
	uint64_t v = 0;
	size_t i, digits = 0;

	if (at >= 0) {
		i = (size_t)at + 7;
		while (i < s.n && (s.p[i] == ':' || s.p[i] == ' ' || s.p[i] == '='))
			i++;
		if (i + 1 < s.n && s.p[i] == '0' && (s.p[i + 1] == 'x' || s.p[i + 1] == 'X'))
			i += 2;
		for (; i < s.n && digits < 8; i++, digits++) {
			char c = s.p[i];
			int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			    (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
			if (d < 0)
				break;
			v = v << 4 | (uint64_t)d;
		}
		if (digits > 0)
			return (int64_t)v;
	}
	at = ifind(s, "(err:");
	if (at >= 0) {
		for (i = (size_t)at + 5; i < s.n && s.p[i] >= '0' && s.p[i] <= '9' && digits < 10;
		    i++, digits++)
			v = v * 10 + (uint64_t)(s.p[i] - '0');
		/* HRESULT_FROM_WIN32 */
		if (digits > 0 && v <= 0xFFFFFFFFu)
			return v == 0 ? 0 : (int64_t)(0x80070000u | (uint32_t)(v & 0xFFFF));
	}
	return INT64_MIN;
}

/*
 * What a "Failed" line could not do: the text after ") to " for
 * "Failed (...) to X", the X of "Failed to X. HResult:...", else the text
 * after "Failed ".
 */
static struct apd_sv
failed_item(struct apd_sv s)
{
	ptrdiff_t at;
	struct apd_sv r;

	if (starts(s, "Failed (") && (at = ifind(s, ") to ")) >= 0)
		return trim(apd_sv(s.p + at + 5, s.n - (size_t)at - 5));
	if (starts(s, "Failed to ")) {
		r = apd_sv(s.p + 10, s.n - 10);
		at = ifind(r, ". HResult");
		if (at >= 0)
			r.n = (size_t)at;
		return trim(r);
	}
	return trim(apd_sv(s.p + 6, s.n - 6));
}

/* The number after "--- " in "--- N HKLM registry entries are collected". */
static bool
line_count(struct apd_sv s, unsigned long long *n)
{
	size_t i = 4, digits = 0;

	*n = 0;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9' && digits < 18; i++, digits++)
		*n = *n * 10 + (unsigned long long)(s.p[i] - '0');
	return digits > 0;
}

/* Parse the time after a "--- Start at:" / "--- End at:" prefix. */
static bool
line_time(struct apd_sv s, size_t skip, int64_t *us)
{
	return apd_parse_iso(trim(apd_sv(s.p + skip, s.n - skip)), us);
}

/* Build event.data for the line kinds that have fields; leaves it absent otherwise. */
static struct apd_sv
line_data(struct fp *f, struct apd_sv s, const char *kind, int64_t hr)
{
	struct apd_jw w;
	ptrdiff_t at;
	char hex[16];
	unsigned long long n;

	apd_buf_reset(&f->json);
	apd_jw_begin(&w, &f->json);
	apd_jw_str(&w, "kind", apd_sv_cstr(kind));
	if (strcmp(kind, "copied") == 0 && (at = ifind(s, ", to:")) >= 0) {
		apd_jw_str(&w, "src", trim(apd_sv(s.p + 12, (size_t)at - 12)));
		apd_jw_str(&w, "dst", trim(apd_sv(s.p + at + 5, s.n - (size_t)at - 5)));
	} else if (strcmp(kind, "eventlog") == 0) {
		at = ifind(s, ":");
		apd_jw_str(&w, "channel", trim(apd_sv(s.p + at + 1, s.n - (size_t)at - 1)));
	} else if (strcmp(kind, "registry") == 0) {
		at = ifind(s, "registry:");
		apd_jw_str(&w, "hive", apd_sv(s.p + 18, 4));
		apd_jw_str(&w, "key", trim(apd_sv(s.p + at + 9, s.n - (size_t)at - 9)));
	} else if (strcmp(kind, "registry_count") == 0) {
		if (line_count(s, &n))
			apd_jw_int(&w, "count", (int64_t)n);
		apd_jw_str(&w, "hive", apd_sv(ifind(s, " HKCU ") >= 0 ? "HKCU" : "HKLM", 4));
	} else if (strcmp(kind, "failed") == 0) {
		apd_jw_str(&w, "item", failed_item(s));
		if (hr != INT64_MIN) {
			snprintf(hex, sizeof(hex), "0x%08X", (unsigned)(uint32_t)hr);
			apd_jw_str(&w, "hresult", apd_sv_cstr(hex));
		}
	}
	return apd_jw_end(&w) == APD_OK ? apd_buf_sv(&f->json) : APD_SV_NULL;
}

/* One non-empty line: an event, maybe a gap, and the counters. Returns the sink code. */
static int
do_line(struct fp *f, struct apd_sv s)
{
	struct apd_event ev;
	const char *kind = "other";
	int64_t own = APD_TS_NONE, hr = INT64_MIN, t;
	unsigned long long n;
	int rc;

	if (starts(s, START)) {
		kind = "start";
		f->runs++;
		if (line_time(s, strlen(START), &t)) {
			f->cur_ts = own = t;
			if (f->first_start == APD_TS_NONE)
				f->first_start = t;
		} else if ((rc = warn(f, "unreadable time in '%.*s'", (int)(s.n < 80 ? s.n : 80),
		    s.p)) != APD_OK) {
			return rc;
		}
	} else if (starts(s, END)) {
		kind = "end";
		if (line_time(s, strlen(END), &t))
			f->last_end = own = t;
		else if ((rc = warn(f, "unreadable time in '%.*s'", (int)(s.n < 80 ? s.n : 80),
		    s.p)) != APD_OK)
			return rc;
	} else if (starts(s, "--- ") && ifind(s, " registry entries are collected") >= 0) {
		kind = "registry_count";
		if (line_count(s, &n)) {
			if (ifind(s, " HKCU ") >= 0)
				f->hkcu += n;
			else
				f->hklm += n;
		}
	} else if (starts(s, "\"AreaName\"")) {
		ptrdiff_t q = ifind(s, ": \"");
		kind = "areas";
		if (q >= 0 && s.n > (size_t)q + 3) {
			struct apd_sv a = apd_sv(s.p + q + 3, s.n - (size_t)q - 3);
			if (a.n && a.p[a.n - 1] == '"')
				a.n--;
			snprintf(f->areas, sizeof(f->areas), "%.*s", (int)a.n, a.p);
			f->have_areas = true;
		}
	} else if (starts(s, "Collected EventViewer Entry:")) {
		kind = "eventlog";
		f->channels++;
	} else if (starts(s, "Copied file:")) {
		kind = "copied";
		f->copied++;
	} else if ((starts(s, "Succeeded to dump HKLM registry:") ||
	    starts(s, "Succeeded to dump HKCU registry:"))) {
		kind = "registry";
		f->keys++;
	} else if (starts(s, "Failed")) {
		kind = "failed";
		f->failed++;
		hr = line_hresult(s);
	}

	apd_event_init(&ev);
	if (own != APD_TS_NONE || f->cur_ts != APD_TS_NONE) {
		ev.ts_utc = own != APD_TS_NONE ? own : f->cur_ts;
		ev.tz = APD_TZ_UTC;
	}
	ev.level = strcmp(kind, "failed") == 0 ? APD_LVL_WARNING : APD_LVL_INFO;
	ev.message = s;
	ev.data = line_data(f, s, kind, hr);
	ev.line = f->lr.lineno;
	ev.offset = f->lr.offset;
	if ((rc = apd_emit_event(f->ps->sink, &ev)) != APD_OK)
		return rc;
	if (strcmp(kind, "failed") == 0)
		return apd_emit_gap(f->ps->sink, failed_item(s), hr, s);
	return APD_OK;
}

/* The facts of the whole file. Returns the sink code. */
static int
emit_facts(struct fp *f)
{
	static const char *const names[] = { "footprint.lines", "footprint.runs", "footprint.failed",
		"footprint.files_copied", "footprint.eventlogs_collected",
		"footprint.registry_keys_dumped", "footprint.hklm_entries", "footprint.hkcu_entries" };
	unsigned long long vals[8];
	char buf[32];
	size_t i;
	int rc;

	vals[0] = f->lines;
	vals[1] = f->runs;
	vals[2] = f->failed;
	vals[3] = f->copied;
	vals[4] = f->channels;
	vals[5] = f->keys;
	vals[6] = f->hklm;
	vals[7] = f->hkcu;
	if (f->first_start != APD_TS_NONE) {
		fmt_utc_sec(buf, f->first_start);
		if ((rc = apd_emit_fact(f->ps->sink, APD_SV_LIT("footprint.start"),
		    apd_sv_cstr(buf))) != APD_OK)
			return rc;
	}
	if (f->last_end != APD_TS_NONE) {
		fmt_utc_sec(buf, f->last_end);
		if ((rc = apd_emit_fact(f->ps->sink, APD_SV_LIT("footprint.end"),
		    apd_sv_cstr(buf))) != APD_OK)
			return rc;
	}
	if (f->have_areas && (rc = apd_emit_fact(f->ps->sink, APD_SV_LIT("footprint.areas"),
	    apd_sv_cstr(f->areas))) != APD_OK)
		return rc;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		snprintf(buf, sizeof(buf), "%llu", vals[i]);
		if ((rc = apd_emit_fact(f->ps->sink, apd_sv_cstr(names[i]), apd_sv_cstr(buf))) != APD_OK)
			return rc;
	}
	return APD_OK;
}

/* Does a decoded line hold NUL or other binary control bytes? */
static bool
line_binary(struct apd_sv s)
{
	size_t i;

	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == 0 || (c < 0x20 && c != '\t' && c != 0x0C))
			return true;
	}
	return false;
}

/*
 * Read the footprint into events, gaps and facts.  Returns APD_OK, APD_WARN
 * (lines cut or skipped, unreadable times, no Start line), APD_FAILED
 * (binary or empty), the stream's failure, or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct fp f;
	struct apd_sv line;
	const unsigned char *head;
	size_t hl, bom;
	int rc;

	head = apd_stream_head(ps->in, &hl);
	if (apd_enc_sniff(head, hl, &bom) < APD_ENC_UTF16LE &&
	    apd_looks_binary(head + bom, hl - bom))
		return apd_set_error(ps->err, APD_FAILED, "%s: binary data, not a footprint log",
		    ps->path);
	memset(&f, 0, sizeof(f));
	f.ps = ps;
	f.cur_ts = f.first_start = f.last_end = APD_TS_NONE;
	apd_buf_init(&f.json, 3 * ps->lim->max_line + 1024);
	apd_lines_init(&f.lr, ps->in, ps->lim->max_line);

	while (f.rc == APD_OK) {
		rc = apd_lines_next(&f.lr, &line);
		if (rc == APD_EOF)
			break;
		if (rc == APD_WARN) {
			if (warn(&f, "line longer than %zu bytes; cut", ps->lim->max_line) != APD_OK)
				break;
		} else if (rc != APD_OK) {
			f.rc = rc;             /* the stream failed and set ps->err */
			break;
		}
		line = trim(line);
		if (line.n == 0)
			continue;
		if (line_binary(line)) {
			f.bad_lines++;
			if (f.bad_lines <= MAX_BAD)
				warn(&f, "binary data in the line; skipped");
			continue;
		}
		f.lines++;
		if ((rc = do_line(&f, line)) != APD_OK)
			f.rc = rc;
	}
	if (f.rc == APD_OK && f.lines == 0)
		f.rc = apd_set_error(ps->err, APD_FAILED, "%s:%llu: no footprint lines%s", ps->path,
		    (unsigned long long)f.lr.lineno, f.bad_lines ? " (only binary data)" : "");
	if (f.rc == APD_OK && f.runs == 0)
		warn(&f, "no '--- Start at:' line; the events have no time");
	if (f.rc == APD_OK && f.bad_lines > MAX_BAD)
		warn(&f, "%lu lines with binary data skipped in all", f.bad_lines);
	if (f.rc == APD_OK)
		f.rc = emit_facts(&f);
	rc = f.rc != APD_OK ? f.rc : f.warned || f.lr.n_cut ? APD_WARN : APD_OK;
	apd_lines_done(&f.lr);
	apd_buf_done(&f.json);
	return rc;
}

/*
 * "--- Start at:" at the start (after an optional BOM, 8-bit or UTF-16LE):
 * 56; the name MdmLogCollectorFootPrint.txt adds 8, and alone, on text, is 8.
 */
static int
bid(const struct apd_probe *pr)
{
	size_t bom;
	bool name = apd_name_ieq(pr->name, "MdmLogCollectorFootPrint.txt");

	if (pr->len == 0)
		return -1;
	if (apd_enc_sniff(pr->head, pr->len, &bom) < APD_ENC_UTF16LE &&
	    apd_looks_binary(pr->head + bom, pr->len - bom))
		return -1;
	if (apd_head_starts_text(pr, START))
		return 56 + (name ? 8 : 0);
	return name ? 8 : -1;
}

const struct apd_parser apd_parser_footprint = {
	.name = "footprint",
	.kind = "mdm-footprint",
	.bid = bid,
	.run = run,
	.note = NULL,
};
