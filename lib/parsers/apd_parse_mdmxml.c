/*
 * apd_parse_mdmxml.c - MDMDiagReport.xml, the XML report of
 * MdmDiagnosticsTool.exe (DOMAIN.md §1.5).
 *
 * The report is read through apd_xml.c: libxml2's SAX2 push parser, fed
 * piece by piece from the stream and hardened against hostile input (no
 * network, no DTD, no entities, lim->max_xml_bytes and lim->max_xml_depth,
 * nothing printed).  Memory stays bounded whatever the size of the file:
 * only the path of open elements, the text of the innermost element and the
 * values of the record being assembled (one enrollment, one MSI package, one
 * error-log entry) are held.  No tree is built.
 *
 * What is extracted, and under which fact names, is documented in
 * docs/sources/mdmxml.md.
 *
 * Only apd_parser_mdmxml is exported; everything else has file scope.
 */
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_parser.h"
#include "apd_time.h"
#include "apd_xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ROOT_NAME    "MDMEnterpriseDiagnosticsReport"
#define MAX_VALUE    (64u * 1024)        /* text kept of one element */
#define MAX_RECORD   (1024u * 1024)      /* values kept of one record */
#define MAX_JSON     (8u * 1024 * 1024)  /* event.data of one record */
#define MAX_RECS     4                   /* records open at once (ErrorLog > SubComponent) */

/* Kinds of record: an element whose leaf values are collected, then emitted at its end. */
enum rec_kind {
	REC_ENROLLMENT,   /* Enrollments/Enrollment */
	REC_DMA,          /* DeviceManagementAccount/Enrollment */
	REC_FIRSTSYNC,    /* FirstSyncData */
	REC_ERRORLOG,     /* Diagnostics/ErrorLog */
	REC_SUBCOMP,      /* Diagnostics/ErrorLog/SubComponent */
	REC_MSI           /* EnterpriseDesktopAppManagementinfo/.../Package/Details */
};

struct rec {
	enum rec_kind kind;
	unsigned depth;          /* depth of the record element (root = 1) */
	uint64_t line;           /* line of its start tag */
	uint64_t offset;         /* approximate byte offset of its start tag */
	struct apd_buf leaves;   /* "relpath\0value\0" pairs */
	bool overflow;           /* values were dropped at MAX_RECORD */
	unsigned nsub;           /* REC_ERRORLOG: SubComponents seen */
};

struct mdm {
	struct apd_xml x;          /* the reader: depth, path, emitting */
	struct apd_buf text;       /* text of the innermost open element */
	bool text_cut;             /* a value was cut at MAX_VALUE (warned once) */
	struct rec recs[MAX_RECS];
	unsigned nrecs;
	struct apd_buf user_sid;   /* MsiInstallations/TargetedUser/UserSid */
	struct apd_buf pkg_type;   /* MsiInstallations/TargetedUser/Package/Type */
	struct apd_buf rel;        /* relpath of a record value */
	struct apd_buf name;       /* fact names */
	struct apd_buf msg;
	struct apd_buf json;
	unsigned n_enroll, n_msi, n_errorlog, n_expected;
	bool rec_overflow_warned;
};

/* ---- small helpers ---------------------------------------------------- */

/* A buffer operation failed: APD_FATAL (out of memory) stops everything. Returns rc. */
static int
buf_rc(struct mdm *m, int rc)
{
	return rc == APD_FATAL ? apd_xml_oom(&m->x) : rc;
}

/*
 * Emit fact "<prefix><suffix>" = value.  A name too long for the buffer is
 * skipped.  Returns APD_OK or the code that stopped the parse.
 */
static int
fact2(struct mdm *m, const char *prefix, const char *suffix, struct apd_sv value)
{
	int rc;

	apd_buf_reset(&m->name);
	rc = buf_rc(m, apd_buf_printf(&m->name, "%s%s", prefix, suffix));
	if (rc == APD_FATAL)
		return rc;
	if (rc != APD_OK)
		return APD_OK;
	return apd_xml_fact(&m->x, apd_buf_sv(&m->name), value);
}

/* Does a view equal an ASCII string, ignoring case? */
static bool
sv_ieq(struct apd_sv a, const char *b)
{
	size_t n = strlen(b);

	return a.p && a.n == n && strncasecmp(a.p, b, n) == 0;
}

/* Parse a signed or unsigned decimal, or 0x-prefixed hex, integer; false if malformed. */
static bool
parse_int(struct apd_sv s, int64_t *out)
{
	const char *p = s.p, *e;
	bool neg = false;
	uint64_t v = 0;
	unsigned digits = 0;

	if (p == NULL)   /* an absent value: no arithmetic on the NULL pointer */
		return false;
	e = s.p + s.n;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (p < e && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2; p < e; p++, digits++) {
			int d = (*p >= '0' && *p <= '9') ? *p - '0' :
			    (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 :
			    (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : -1;
			if (d < 0 || digits >= 16)
				return false;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		for (; p < e; p++, digits++) {
			if (*p < '0' || *p > '9' || digits >= 19)
				return false;
			v = v * 10 + (uint64_t)(*p - '0');
		}
	}
	if (digits == 0)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

/* Format microseconds since 1970 as "YYYY-MM-DDTHH:MM:SSZ" (whole seconds). */
static void
fmt_utc_sec(char out[32], int64_t us)
{
	char full[32];
	size_t n = apd_format_utc(full, us);

	/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" -> drop the fraction */
	if (n >= 20) {
		memcpy(out, full, 19);
		out[19] = 'Z';
		out[20] = '\0';
	} else {
		out[0] = '\0';
	}
}

/* A FILETIME written in decimal (MSI CreationTime); false if absent or 0. */
static bool
parse_filetime(struct apd_sv s, int64_t *us)
{
	int64_t v;

	if (!parse_int(s, &v) || v <= 0)
		return false;
	*us = apd_filetime_to_us((uint64_t)v);
	return true;
}

/*
 * ReportCreationTime: "Wednesday, 03 April 2024--07:45:12 (UTC)".  The
 * weekday is ignored; month names are English (full or three letters).
 * Returns false for anything else (a localized report keeps only the raw fact).
 */
static bool
parse_report_time(struct apd_sv s, int64_t *us)
{
	static const char *const months[12] = { "january", "february", "march", "april", "may",
		"june", "july", "august", "september", "october", "november", "december" };
	char buf[96], mon[16];
	const char *p;
	unsigned d, y, h, mi, sec, mo;
	int used = 0;
	size_t i;

	if (s.p == NULL || s.n == 0 || s.n >= sizeof(buf))
		return false;
	memcpy(buf, s.p, s.n);
	buf[s.n] = '\0';
	p = strchr(buf, ',');
	p = p ? p + 1 : buf;
	if (sscanf(p, " %2u %15[A-Za-z] %4u--%2u:%2u:%2u%n", &d, mon, &y, &h, &mi, &sec, &used) != 6)
		return false;
	for (i = 0; mon[i]; i++)
		mon[i] = (char)((mon[i] >= 'A' && mon[i] <= 'Z') ? mon[i] + 32 : mon[i]);
	for (mo = 0; mo < 12; mo++)
		if (strcmp(mon, months[mo]) == 0 || (strlen(mon) == 3 && strncmp(mon, months[mo], 3) == 0))
			break;
	if (mo == 12)
		return false;
	return apd_civil_to_us((int)y, mo + 1, d, h, mi, sec, 0, us) == 0;
}

/* DOMAIN §5.7: MSI LOB status codes. */
static const char *
msi_status_text(int64_t st)
{
	switch (st) {
	case 10: return "Initialized";
	case 20: return "Download In Progress";
	case 25: return "Pending Download Retry";
	case 30: return "Download Failed";
	case 40: return "Download Completed";
	case 48: return "Pending User Session";
	case 50: return "Enforcement In Progress";
	case 55: return "Pending Enforcement Retry";
	case 60: return "Enforcement Failed";
	case 70: return "Success";
	default: return NULL;
	}
}

/* ---- records ---------------------------------------------------------- */

/* Walk a record's values: returns the next relpath (NUL-terminated) or NULL. */
static const char *
leaf_next(const struct rec *r, size_t *pos, struct apd_sv *value)
{
	const char *k, *v;

	if (r->leaves.p == NULL || *pos >= r->leaves.n)
		return NULL;
	k = r->leaves.p + *pos;
	v = k + strlen(k) + 1;
	*value = apd_sv(v, strlen(v));
	*pos = (size_t)(v + value->n + 1 - r->leaves.p);
	return k;
}

/* The value of a record's relpath (case-insensitive), or an absent view. */
static struct apd_sv
leaf_get(const struct rec *r, const char *relpath)
{
	struct apd_sv v;
	size_t pos = 0;
	const char *k;

	while ((k = leaf_next(r, &pos, &v)) != NULL)
		if (strcasecmp(k, relpath) == 0)
			return v;
	return APD_SV_NULL;
}

/* Add a value to the innermost record; drops it (with one warning) past MAX_RECORD. */
static void
rec_add(struct mdm *m, struct rec *r, const char *relpath, size_t rlen, struct apd_sv value)
{
	size_t old = r->leaves.n;
	int rc;

	rc = apd_buf_add(&r->leaves, relpath, rlen);
	if (rc == APD_OK)
		rc = apd_buf_addc(&r->leaves, '\0');
	if (rc == APD_OK)
		rc = apd_buf_add(&r->leaves, value.p, value.n);
	if (rc == APD_OK)
		rc = apd_buf_addc(&r->leaves, '\0');
	if (rc == APD_OK)
		return;
	r->leaves.n = old;
	if (r->leaves.p)
		r->leaves.p[old] = '\0';
	if (buf_rc(m, rc) == APD_FATAL)
		return;
	r->overflow = true;
	if (!m->rec_overflow_warned) {
		m->rec_overflow_warned = true;
		apd_xml_warn(&m->x, r->line, "record starting here holds more than 1 MiB of values; "
		    "the rest were dropped");
	}
}

/* Fact name prefix "enrollment.<id>." (or "enrollment.noid-<n>.") of an enrollment record. */
static void
enrollment_prefix(struct mdm *m, const struct rec *r, char *out, size_t cap)
{
	struct apd_sv id = leaf_get(r, "EnrollmentId");

	if (id.p && id.n > 0 && id.n < cap - 16)
		snprintf(out, cap, "enrollment.%.*s.", (int)id.n, id.p);
	else
		snprintf(out, cap, "enrollment.noid-%u.", m->n_enroll);
}

/* Enrollments/Enrollment: every value as a fact. Returns APD_OK or the stop code. */
static int
finish_enrollment(struct mdm *m, const struct rec *r)
{
	char prefix[320];
	struct apd_sv v;
	size_t pos = 0;
	const char *k;

	enrollment_prefix(m, r, prefix, sizeof(prefix));
	m->n_enroll++;
	while ((k = leaf_next(r, &pos, &v)) != NULL)
		if (fact2(m, prefix, k, v) != APD_OK)
			return m->x.sink_rc;
	return APD_OK;
}

/*
 * DeviceManagementAccount/Enrollment: direct values and ProtectedInformation
 * only (OMADMSessions and CorrelationVectors repeat). Returns APD_OK or the stop code.
 */
static int
finish_dma(struct mdm *m, const struct rec *r)
{
	char prefix[320];
	struct apd_sv v;
	size_t pos = 0;
	const char *k;

	enrollment_prefix(m, r, prefix, sizeof(prefix));
	while ((k = leaf_next(r, &pos, &v)) != NULL) {
		if (strchr(k, '.') && strncasecmp(k, "ProtectedInformation.", 21) != 0)
			continue;
		if (fact2(m, prefix, k, v) != APD_OK)
			return m->x.sink_rc;
	}
	return APD_OK;
}

/* The list an ESP "expected" value belongs to: the last path part naming Expected*. */
static const char *
expected_list(const char *relpath, size_t *len)
{
	const char *s = relpath, *best = NULL, *dot;
	size_t bl = 0, n;

	while (*s) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		if (apd_memmem(s, n, "Expected", 8) != NULL) {
			best = s;
			bl = n;
		}
		s += n + (dot ? 1 : 0);
	}
	*len = bl;
	return best;
}

/*
 * One event for every item of an ESP expected list (items are split on
 * U+F000, the CSP list delimiter). Returns APD_OK or the stop code.
 */
static int
emit_expected(struct mdm *m, const struct rec *r, const char *relpath, struct apd_sv v)
{
	const char *list, *p = v.p ? v.p : "", *e = p + v.n, *q;
	size_t llen;
	struct apd_event ev;
	struct apd_sv item;
	struct apd_jw w;
	int rc;

	list = expected_list(relpath, &llen);
	if (list == NULL)
		return APD_OK;
	while (p < e) {
		q = apd_memmem(p, (size_t)(e - p), "\xEF\x80\x80", 3);   /* U+F000 */
		item = apd_sv(p, q ? (size_t)(q - p) : (size_t)(e - p));
		p = q ? q + 3 : e;
		while (item.n && (item.p[0] == ' ' || item.p[0] == '\r' || item.p[0] == '\n')) {
			item.p++;
			item.n--;
		}
		while (item.n && (item.p[item.n - 1] == ' ' || item.p[item.n - 1] == '\r' ||
		    item.p[item.n - 1] == '\n'))
			item.n--;
		if (item.n == 0)
			continue;
		apd_buf_reset(&m->msg);
		apd_buf_reset(&m->json);
		if ((rc = buf_rc(m, apd_buf_printf(&m->msg, "ESP expected %.*s: %.*s", (int)llen, list,
		    (int)item.n, item.p))) != APD_OK)
			return rc;
		apd_jw_begin(&w, &m->json);
		apd_jw_str(&w, "section", APD_SV_LIT("FirstSyncData"));
		apd_jw_str(&w, "list", apd_sv(list, llen));
		apd_jw_str(&w, "path", apd_sv_cstr(relpath));
		apd_jw_str(&w, "item", item);
		rc = apd_jw_end(&w);
		apd_event_init(&ev);
		ev.level = APD_LVL_INFO;
		ev.component = APD_SV_LIT("FirstSyncData");
		ev.message = apd_buf_sv(&m->msg);
		ev.data = rc == APD_OK ? apd_buf_sv(&m->json) : APD_SV_NULL;
		ev.line = r->line;
		ev.offset = r->offset;
		m->n_expected++;
		if (apd_xml_event(&m->x, &ev) != APD_OK)
			return m->x.sink_rc;
	}
	return APD_OK;
}

/* FirstSyncData: every value as a fact, expected items as events. Returns APD_OK or the stop code. */
static int
finish_firstsync(struct mdm *m, const struct rec *r)
{
	struct apd_sv v;
	size_t pos = 0;
	const char *k;

	while ((k = leaf_next(r, &pos, &v)) != NULL) {
		if (fact2(m, "firstsync.", k, v) != APD_OK)
			return m->x.sink_rc;
		if (emit_expected(m, r, k, v) != APD_OK)
			return m->x.sink_rc;
	}
	return APD_OK;
}

/* Append every value of a record to an open JSON object (errors stay in w->rc). */
static void
json_leaves(struct apd_jw *w, const struct rec *r)
{
	struct apd_sv v;
	size_t pos = 0;
	const char *k;

	while ((k = leaf_next(r, &pos, &v)) != NULL)
		apd_jw_str(w, k, v);
}

/*
 * Close a record's JSON (with "partial" when an error cut it short) and emit
 * it as one event: message from m->msg, data from m->json (NULL if the JSON
 * could not be built), time when us != APD_TS_NONE (UTC).  Returns the sink
 * code.
 */
static int
emit_record(struct mdm *m, const struct rec *r, struct apd_jw *w, bool partial, int level,
    struct apd_sv component, int64_t us)
{
	struct apd_event ev;
	int rc;

	if (partial)
		apd_jw_bool(w, "partial", true);
	rc = apd_jw_end(w);
	apd_event_init(&ev);
	if (us != APD_TS_NONE) {
		ev.ts_utc = us;
		ev.tz = APD_TZ_UTC;
	}
	ev.level = level;
	ev.component = component;
	ev.message = apd_buf_sv(&m->msg);
	ev.data = rc == APD_OK ? apd_buf_sv(&m->json) : APD_SV_NULL;
	ev.line = r->line;
	ev.offset = r->offset;
	return apd_xml_event(&m->x, &ev);
}

/*
 * One ErrorLog/SubComponent: an event with its time, error and metadata;
 * the Component comes from the enclosing ErrorLog. Returns the sink code.
 */
static int
finish_subcomp(struct mdm *m, const struct rec *r, bool partial)
{
	const struct rec *parent = m->nrecs >= 2 ? &m->recs[m->nrecs - 2] : NULL;
	struct apd_sv comp = parent ? leaf_get(parent, "Component") : APD_SV_NULL;
	struct apd_sv name = leaf_get(r, "Name"), err = leaf_get(r, "Error");
	struct apd_sv md1 = leaf_get(r, "Metadata1"), md2 = leaf_get(r, "Metadata2");
	struct apd_sv tm = leaf_get(r, "Time");
	struct apd_jw w;
	int64_t e = 0, us;
	bool have_err = parse_int(err, &e);
	char hex[16];
	int rc;

	if (parent && parent->kind == REC_ERRORLOG)
		m->recs[m->nrecs - 2].nsub++;
	snprintf(hex, sizeof(hex), "0x%08X", (unsigned)(uint32_t)e);
	apd_buf_reset(&m->msg);
	apd_buf_printf(&m->msg, "ErrorLog %.*s %.*s", (int)comp.n, comp.p ? comp.p : "",
	    (int)name.n, name.p ? name.p : "");
	if (have_err)
		apd_buf_printf(&m->msg, ": %s", hex);
	if (md1.n)
		apd_buf_printf(&m->msg, " %.*s", (int)md1.n, md1.p);
	if (md2.n)
		apd_buf_printf(&m->msg, " %.*s", (int)md2.n, md2.p);
	if ((rc = buf_rc(m, apd_buf_addc(&m->msg, '\0'))) != APD_OK)
		return rc;
	m->msg.n--;
	apd_buf_reset(&m->json);
	apd_jw_begin(&w, &m->json);
	apd_jw_str(&w, "section", APD_SV_LIT("Diagnostics/ErrorLog"));
	apd_jw_str(&w, "component", comp);
	json_leaves(&w, r);
	if (have_err)
		apd_jw_str(&w, "hresult", apd_sv_cstr(hex));
	m->n_errorlog++;
	return emit_record(m, r, &w, partial, have_err && e != 0 ? APD_LVL_ERROR : APD_LVL_INFO,
	    comp, apd_parse_iso(tm, &us) ? us : APD_TS_NONE);
}

/*
 * An ErrorLog without SubComponents (the AutoPilot one): one event plus
 * facts. Returns APD_OK or the stop code.
 */
static int
finish_errorlog(struct mdm *m, const struct rec *r, bool partial)
{
	struct apd_sv comp = leaf_get(r, "Component"), v;
	struct apd_jw w;
	char prefix[160];
	size_t pos = 0, i;
	const char *k;
	int rc;

	if (r->nsub > 0 || r->leaves.n == 0)
		return APD_OK;
	snprintf(prefix, sizeof(prefix), "mdmdiag.%.*s.", comp.n && comp.n < 96 ? (int)comp.n : 7,
	    comp.n && comp.n < 96 ? comp.p : "unknown");
	for (i = 8; prefix[i]; i++)
		if (prefix[i] >= 'A' && prefix[i] <= 'Z')
			prefix[i] = (char)(prefix[i] + 32);
	while ((k = leaf_next(r, &pos, &v)) != NULL) {
		if (strcasecmp(k, "Component") == 0)
			continue;
		if (fact2(m, prefix, k, v) != APD_OK)
			return m->x.sink_rc;
	}
	apd_buf_reset(&m->msg);
	if ((rc = buf_rc(m, apd_buf_printf(&m->msg, "ErrorLog %.*s", (int)comp.n,
	    comp.p ? comp.p : ""))) != APD_OK)
		return rc;
	apd_buf_reset(&m->json);
	apd_jw_begin(&w, &m->json);
	apd_jw_str(&w, "section", APD_SV_LIT("Diagnostics/ErrorLog"));
	json_leaves(&w, r);
	m->n_errorlog++;
	return emit_record(m, r, &w, partial, APD_LVL_INFO, comp, APD_TS_NONE);
}

/* One MSI package (Details): an event stamped with its CreationTime. Returns the sink code. */
static int
finish_msi(struct mdm *m, const struct rec *r, bool partial)
{
	struct apd_sv code = leaf_get(r, "ProductCode"), st = leaf_get(r, "Status");
	struct apd_sv le = leaf_get(r, "LastError"), ver = leaf_get(r, "ProductVersion");
	struct apd_sv ct = leaf_get(r, "CreationTime"), est = leaf_get(r, "EnforcementStartTime");
	int level;
	struct apd_jw w;
	int64_t status = -1, lasterr = 0, us_ct = 0, us_est;
	bool have_st = parse_int(st, &status), have_le = parse_int(le, &lasterr);
	bool have_ct = parse_filetime(ct, &us_ct);
	const char *stext = have_st ? msi_status_text(status) : NULL;
	char hex[16], iso[32];
	int rc;

	if (code.p == NULL || code.n == 0)
		code = leaf_get(r, "PackageId");
	snprintf(hex, sizeof(hex), "0x%08X", (unsigned)(uint32_t)lasterr);
	apd_buf_reset(&m->msg);
	apd_buf_printf(&m->msg, "MSI %.*s", (int)code.n, code.p ? code.p : "(no product code)");
	if (ver.n)
		apd_buf_printf(&m->msg, " %.*s", (int)ver.n, ver.p);
	if (have_st)
		apd_buf_printf(&m->msg, " status %lld (%s)", (long long)status, stext ? stext : "unknown");
	if (have_le && lasterr != 0)
		apd_buf_printf(&m->msg, " last error %s", hex);
	if ((rc = buf_rc(m, apd_buf_addc(&m->msg, '\0'))) != APD_OK)
		return rc;
	m->msg.n--;

	apd_buf_reset(&m->json);
	apd_jw_begin(&w, &m->json);
	apd_jw_str(&w, "section", APD_SV_LIT("EnterpriseDesktopAppManagementinfo/MsiInstallations"));
	apd_jw_str(&w, "user_sid", m->user_sid.n ? apd_buf_sv(&m->user_sid) : APD_SV_NULL);
	apd_jw_str(&w, "package_type", m->pkg_type.n ? apd_buf_sv(&m->pkg_type) : APD_SV_NULL);
	json_leaves(&w, r);
	if (stext)
		apd_jw_str(&w, "status_text", apd_sv_cstr(stext));
	if (have_le)
		apd_jw_str(&w, "last_error_hex", apd_sv_cstr(hex));
	if (have_ct) {
		fmt_utc_sec(iso, us_ct);
		apd_jw_str(&w, "creation_time_utc", apd_sv_cstr(iso));
	}
	if (parse_filetime(est, &us_est)) {
		fmt_utc_sec(iso, us_est);
		apd_jw_str(&w, "enforcement_start_time_utc", apd_sv_cstr(iso));
	}
	if (have_st && (status == 30 || status == 60))
		level = APD_LVL_ERROR;
	else if ((have_st && (status == 25 || status == 55)) || (have_le && lasterr != 0))
		level = APD_LVL_WARNING;
	else
		level = APD_LVL_INFO;
	m->n_msi++;
	return emit_record(m, r, &w, partial, level, APD_SV_LIT("EnterpriseDesktopAppManagement"),
	    have_ct ? us_ct : APD_TS_NONE);
}

/* Emit the innermost record (partial: cut by an error) and close it. Returns the sink code. */
static int
rec_pop(struct mdm *m, bool partial)
{
	struct rec *r = &m->recs[m->nrecs - 1];
	int rc = APD_OK;

	if (m->x.sink_rc == APD_OK) {
		switch (r->kind) {
		case REC_ENROLLMENT: rc = finish_enrollment(m, r); break;
		case REC_DMA: rc = finish_dma(m, r); break;
		case REC_FIRSTSYNC: rc = finish_firstsync(m, r); break;
		case REC_ERRORLOG: rc = finish_errorlog(m, r, partial); break;
		case REC_SUBCOMP: rc = finish_subcomp(m, r, partial); break;
		case REC_MSI: rc = finish_msi(m, r, partial); break;
		}
	}
	apd_buf_done(&r->leaves);
	m->nrecs--;
	return rc;
}

/* Open a record at the current element (ignored past MAX_RECS). */
static void
rec_push(struct mdm *m, enum rec_kind kind)
{
	struct rec *r;

	if (m->nrecs >= MAX_RECS)
		return;
	r = &m->recs[m->nrecs++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->depth = m->x.depth;
	r->line = apd_xml_line(&m->x);
	r->offset = apd_xml_offset(&m->x);
	apd_buf_init(&r->leaves, MAX_RECORD);
}

/* ---- callbacks of the XML reader ---------------------------------------- */

/* Is the element at depth d "/ROOT/<rel>" (case-insensitive)? */
static bool
path_is(const struct apd_xml *x, unsigned d, const char *rel)
{
	struct apd_sv p = apd_xml_path(x, 1, d);

	return p.p && p.n == strlen(rel) && strncasecmp(p.p, rel, p.n) == 0;
}

/* Start tag: a new value; open records, reset MSI context. */
static void
on_start(struct apd_xml *x, const char *nm)
{
	struct mdm *m = x->ud;
	unsigned d = x->depth;

	apd_buf_reset(&m->text);
	if (d == 2 && strcasecmp(nm, "FirstSyncData") == 0)
		rec_push(m, REC_FIRSTSYNC);
	else if (d == 3 && path_is(x, 3, "Enrollments/Enrollment"))
		rec_push(m, REC_ENROLLMENT);
	else if (d == 3 && path_is(x, 3, "DeviceManagementAccount/Enrollment"))
		rec_push(m, REC_DMA);
	else if (d == 3 && path_is(x, 3, "Diagnostics/ErrorLog"))
		rec_push(m, REC_ERRORLOG);
	else if (d == 4 && m->nrecs && m->recs[m->nrecs - 1].kind == REC_ERRORLOG &&
	    path_is(x, 4, "Diagnostics/ErrorLog/SubComponent"))
		rec_push(m, REC_SUBCOMP);
	else if (d == 4 &&
	    path_is(x, 4, "EnterpriseDesktopAppManagementinfo/MsiInstallations/TargetedUser")) {
		apd_buf_reset(&m->user_sid);
		apd_buf_reset(&m->pkg_type);
	} else if (d == 5 && path_is(x, 5,
	    "EnterpriseDesktopAppManagementinfo/MsiInstallations/TargetedUser/Package"))
		apd_buf_reset(&m->pkg_type);
	else if (d == 6 && path_is(x, 6,
	    "EnterpriseDesktopAppManagementinfo/MsiInstallations/TargetedUser/Package/Details"))
		rec_push(m, REC_MSI);
}

/*
 * A leaf element ended: its value goes to the open record, or becomes a
 * SystemInformation fact, or MSI context (UserSid, Package Type).
 */
static void
on_leaf(struct mdm *m, struct apd_sv nm, struct apd_sv value)
{
	unsigned d = m->x.depth;
	struct rec *r = m->nrecs ? &m->recs[m->nrecs - 1] : NULL;
	char sfx[160];
	int64_t us;

	if (r && r->depth < d) {
		/* relpath: names below the record element, joined by '.' */
		struct apd_sv rel = apd_xml_path(&m->x, r->depth, d);
		size_t i;

		apd_buf_reset(&m->rel);
		if (buf_rc(m, apd_buf_add(&m->rel, rel.p, rel.n)) != APD_OK)
			return;
		for (i = 0; i < m->rel.n; i++)
			if (m->rel.p[i] == '/')
				m->rel.p[i] = '.';
		rec_add(m, r, m->rel.p, m->rel.n, value);
		return;
	}
	if (d == 3 && path_is(&m->x, 2, "SystemInformation")) {
		snprintf(sfx, sizeof(sfx), "%.*s", (int)(nm.n < 120 ? nm.n : 120), nm.p);
		if (fact2(m, "mdmdiag.system.", sfx, value) != APD_OK)
			return;
		if (sv_ieq(nm, "ReportCreationTime") && parse_report_time(value, &us)) {
			char iso[32];

			fmt_utc_sec(iso, us);
			fact2(m, "mdmdiag.report_time", "", apd_sv_cstr(iso));
		} else if (sv_ieq(nm, "OSVersion")) {
			unsigned a, b, c, e2;
			char tmp[64], num[24];

			fact2(m, "os.version", "", value);
			if (value.n < sizeof(tmp)) {
				memcpy(tmp, value.p, value.n);
				tmp[value.n] = '\0';
				if (sscanf(tmp, "%u.%u.%u.%u", &a, &b, &c, &e2) == 4) {
					snprintf(num, sizeof(num), "%u", c);
					fact2(m, "os.build", "", apd_sv_cstr(num));
					snprintf(num, sizeof(num), "%u", e2);
					fact2(m, "os.ubr", "", apd_sv_cstr(num));
				}
			}
		} else if (sv_ieq(nm, "BuildBranch")) {
			fact2(m, "os.build_branch", "", value);
		} else if (sv_ieq(nm, "SerialNumber")) {
			fact2(m, "device.serial", "", value);
		} else if (sv_ieq(nm, "DeviceName") || sv_ieq(nm, "ComputerName") ||
		    sv_ieq(nm, "MachineName")) {
			fact2(m, "device.name", "", value);
		}
		return;
	}
	if (d == 2 && sv_ieq(nm, "Version")) {
		fact2(m, "mdmdiag.report_version", "", value);
		return;
	}
	if (d == 5 && sv_ieq(nm, "UserSid") &&
	    path_is(&m->x, 4, "EnterpriseDesktopAppManagementinfo/MsiInstallations/TargetedUser")) {
		apd_buf_reset(&m->user_sid);
		buf_rc(m, apd_buf_add(&m->user_sid, value.p, value.n));
		return;
	}
	if (d == 6 && sv_ieq(nm, "Type") && path_is(&m->x, 5,
	    "EnterpriseDesktopAppManagementinfo/MsiInstallations/TargetedUser/Package")) {
		apd_buf_reset(&m->pkg_type);
		buf_rc(m, apd_buf_add(&m->pkg_type, value.p, value.n));
	}
}

/* End tag: route a leaf value, close a record. */
static void
on_end(struct apd_xml *x)
{
	struct mdm *m = x->ud;

	if (apd_xml_leaf(x) && x->depth > 1)
		on_leaf(m, apd_xml_name(x, x->depth), apd_sv(m->text.p ? m->text.p : "", m->text.n));
	if (m->nrecs && m->recs[m->nrecs - 1].depth == x->depth)
		rec_pop(m, false);
	apd_buf_reset(&m->text);
}

/* Text and CDATA: collect a leaf's value, up to MAX_VALUE. */
static void
on_text(struct apd_xml *x, const char *p, size_t n)
{
	struct mdm *m = x->ud;
	size_t room;

	if (!apd_xml_leaf(x))
		return;
	room = MAX_VALUE - m->text.n;
	if (n > room) {
		n = room;
		if (!m->text_cut) {
			m->text_cut = true;
			apd_xml_warn(x, apd_xml_line(x), "a value longer than 64 KiB was cut");
		}
	}
	if (n)
		buf_rc(m, apd_buf_add(&m->text, p, n));
}

/* The parse is over: emit the records an early stop left open, marked partial. */
static void
on_flush(struct apd_xml *x)
{
	struct mdm *m = x->ud;

	while (m->nrecs)
		rec_pop(m, true);
}

/* Count facts at the end of a usable report. */
static void
on_summary(struct apd_xml *x)
{
	struct mdm *m = x->ud;
	char num[24];

	snprintf(num, sizeof(num), "%u", m->n_enroll);
	fact2(m, "mdmdiag.enrollments", "", apd_sv_cstr(num));
	snprintf(num, sizeof(num), "%u", m->n_msi);
	fact2(m, "mdmdiag.msi_installations", "", apd_sv_cstr(num));
	snprintf(num, sizeof(num), "%u", m->n_errorlog);
	fact2(m, "mdmdiag.errorlog_entries", "", apd_sv_cstr(num));
	snprintf(num, sizeof(num), "%u", m->n_expected);
	fact2(m, "firstsync.expected_items", "", apd_sv_cstr(num));
}

/* ---- bid ---------------------------------------------------------------- */

/*
 * An XML declaration (after an optional BOM) and the root element
 * MDMEnterpriseDiagnosticsReport: 64; the root without the declaration: 48;
 * the name MDMDiagReport.xml adds 8 (alone, on something XML-like: 8).
 */
static int
bid(const struct apd_probe *pr)
{
	char win[4096];
	const char *tag = NULL;
	size_t tl, rl = sizeof(ROOT_NAME) - 1;
	bool decl, name = apd_name_ieq(pr->name, "MDMDiagReport.xml");

	tl = apd_xml_head_tag(pr, win, sizeof(win), &tag, &decl);
	if (tl > rl + 1 && strncmp(tag + 1, ROOT_NAME, rl) == 0 &&
	    (tag[rl + 1] == '>' || tag[rl + 1] == ' ' || tag[rl + 1] == '\t' ||
	    tag[rl + 1] == '\r' || tag[rl + 1] == '\n' || tag[rl + 1] == '/'))
		return (decl ? 64 : 48) + (name ? 8 : 0);
	if (name && (tl > 0 || decl))
		return 8;
	return -1;
}

/* ---- run ---------------------------------------------------------------- */

static const struct apd_xml_ops mdm_ops = {
	.root = ROOT_NAME,
	.root_icase = true,
	.name_open = true,
	.start = on_start,
	.end = on_end,
	.text = on_text,
	.flush = on_flush,
	.summary = on_summary,
};

/*
 * Parse the report into the sink.  Returns APD_OK, APD_WARN (malformed or
 * capped: what was read before is kept), APD_FAILED (nothing usable; ps->err
 * names the file and line), APD_FATAL, or a sink's code.
 */
static int
run(struct apd_parse *ps)
{
	struct mdm m;
	int rc;

	memset(&m, 0, sizeof(m));
	apd_buf_init(&m.text, MAX_VALUE + 1);
	apd_buf_init(&m.user_sid, 4096);
	apd_buf_init(&m.pkg_type, 4096);
	apd_buf_init(&m.rel, APD_XML_MAX_PATH);
	apd_buf_init(&m.name, APD_XML_MAX_PATH + 512);
	apd_buf_init(&m.msg, 256u * 1024);
	apd_buf_init(&m.json, MAX_JSON);
	rc = apd_xml_run(&m.x, &mdm_ops, ps, &m);
	while (m.nrecs)
		apd_buf_done(&m.recs[--m.nrecs].leaves);
	apd_buf_done(&m.text);
	apd_buf_done(&m.user_sid);
	apd_buf_done(&m.pkg_type);
	apd_buf_done(&m.rel);
	apd_buf_done(&m.name);
	apd_buf_done(&m.msg);
	apd_buf_done(&m.json);
	return rc;
}

const struct apd_parser apd_parser_mdmxml = {
	.name = "mdmxml",
	.kind = "mdm-diag-report",
	.bid = bid,
	.run = run,
	.note = NULL,
};
