/*
 * apd_parse_json.c - JSON documents: the Autopilot profile
 * (AutopilotDDSZTDFile.json), MdmDiagLogMetadata.json, and any other JSON
 * (DiagnosticsFrameworkData.json and the like).
 *
 * The bytes are decoded to UTF-8 first (UTF-16LE/BE with or without a BOM,
 * UTF-8 with a BOM, else UTF-8 or, if that is invalid, Windows-1252) and
 * fed block by block into json-c's incremental tokener.  A stream may hold
 * several concatenated documents; each becomes one event.  What a document
 * is follows from its keys, not from the file name: profile fields become
 * facts "autopilot.<Field>", the MdmDiagnosticsTool metadata becomes
 * "os.*" and "mdmdiag.*" facts (docs/sources/json.md lists them all).
 *
 * Malformed input: documents completed before the fault are kept; of the
 * faulty document the members completed before the fault are kept too (the
 * prefix is closed and parsed again).  Both give APD_WARN; nothing usable
 * gives APD_FAILED.  Input is capped at lim->max_json_bytes and nesting at
 * lim->max_json_depth (json-c's depth, which counts every value level,
 * scalars included).
 *
 * Only apd_parser_json is exported; everything else has file scope.
 */
#include "apd_parser.h"
#include "apd_buf.h"
#include "apd_json.h"
#include "apd_text.h"
#include "apd_time.h"

#include <json.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DATA_MAX    (1024u * 1024)   /* event.data beyond this is replaced by a prefix */
#define JSON_DATA_PREFIX (64u * 1024)     /* ... of this many bytes */
#define JSON_MSG_MAX     (1024u * 1024)   /* flattened message text */
#define JSON_PATH_MAX    1024u            /* one "a.b[3].c" path in the message */
#define JSON_FLAT_DEPTH  256u             /* flattening stops descending here */
#define JSON_BID_VIEW    8192u            /* head characters a bid looks at */
#define JSON_FACT_KEY    64u              /* longest member name turned into a fact name */

/* Parse state of one stream. */
struct jp {
	struct apd_parse *ps;
	struct json_tokener *tok;
	enum apd_enc enc;
	bool cp1252;              /* 8-bit input found not to be UTF-8 */
	unsigned char carry[4];   /* undecoded tail of the last block */
	size_t ncarry;
	struct apd_buf doc;       /* decoded text from the start of the current document */
	struct apd_buf scratch;   /* carry + block, for decoding */
	size_t fed;               /* bytes of doc already given to the tokener */
	uint64_t doc_off;         /* decoded offset of doc.p[0] in the stream */
	uint64_t doc_line;        /* 1-based line of doc.p[0] */
	uint64_t raw;             /* raw bytes taken from the stream */
	unsigned ndocs;           /* documents emitted, salvaged ones included */
	bool degraded;            /* a warning was emitted */
};

/* ---- decoding ---------------------------------------------------------- */

/* Bytes at the end of p[0..n) that start an incomplete UTF-8 sequence (0-3). */
static size_t
utf8_incomplete_tail(const unsigned char *p, size_t n)
{
	size_t k, back, need;

	for (back = 1; back <= 3 && back <= n; back++) {
		k = n - back;
		if ((p[k] & 0xC0) == 0x80)
			continue;   /* continuation byte: look further back */
		if (p[k] >= 0xC2 && p[k] <= 0xDF)
			need = 2;
		else if (p[k] >= 0xE0 && p[k] <= 0xEF)
			need = 3;
		else if (p[k] >= 0xF0 && p[k] <= 0xF4)
			need = 4;
		else
			return 0;   /* ASCII or an invalid lead: nothing to wait for */
		return back < need ? back : 0;
	}
	return 0;
}

/*
 * Decode p[0..n) (eof: no more input follows) and append UTF-8 to j->doc.
 * A UTF-16 code unit or surrogate pair, or a UTF-8 sequence, split across
 * blocks is carried over to the next call.  Returns APD_OK or the apd_buf
 * code (APD_FAILED: the decoded text would pass its cap).
 */
static int
decode(struct jp *j, const unsigned char *p, size_t n, bool eof)
{
	const unsigned char *s;
	size_t len, use, tail;
	unsigned u;
	int rc;

	if (j->ncarry) {
		apd_buf_reset(&j->scratch);
		if ((rc = apd_buf_add(&j->scratch, j->carry, j->ncarry)) != APD_OK ||
		    (rc = apd_buf_add(&j->scratch, p, n)) != APD_OK)
			return rc;
		s = (const unsigned char *)j->scratch.p;
		len = j->scratch.n;
		j->ncarry = 0;
	} else {
		s = p;
		len = n;
	}
	if (len == 0)
		return APD_OK;
	if (j->enc == APD_ENC_UTF16LE || j->enc == APD_ENC_UTF16BE) {
		bool be = j->enc == APD_ENC_UTF16BE;

		use = len & ~(size_t)1;
		if (!eof && use >= 2) {
			u = be ? (unsigned)(s[use - 2] << 8 | s[use - 1]) :
			    (unsigned)(s[use - 1] << 8 | s[use - 2]);
			if (u >= 0xD800 && u <= 0xDBFF)
				use -= 2;   /* its low surrogate is in the next block */
		}
		if (eof)
			use = len;      /* a lone odd byte becomes U+FFFD */
		tail = len - use;
		memcpy(j->carry, s + use, tail);
		j->ncarry = tail;
		return apd_utf16_to_utf8(&j->doc, s, use, be);
	}
	if (j->cp1252)
		return apd_cp1252_to_utf8(&j->doc, (const char *)s, len);
	tail = eof ? 0 : utf8_incomplete_tail(s, len);
	use = len - tail;
	if (!apd_utf8_valid((const char *)s, use)) {
		/* not UTF-8 after all: read this and all later bytes as Windows-1252 */
		j->cp1252 = true;
		return apd_cp1252_to_utf8(&j->doc, (const char *)s, len);
	}
	memcpy(j->carry, s + use, tail);
	j->ncarry = tail;
	return apd_buf_add(&j->doc, s, use);
}

/* decode() with its apd_buf failures described in ps->err. */
static int
decode_chk(struct jp *j, const unsigned char *p, size_t n, bool eof)
{
	int rc = decode(j, p, n, eof);

	if (rc == APD_FATAL)
		return apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
	if (rc != APD_OK)   /* cannot happen below max_json_bytes: the cap is 3 per byte */
		return apd_set_error(j->ps->err, APD_FAILED, "%s: decoded JSON text too large",
		    j->ps->path);
	return APD_OK;
}

/* ---- small helpers ------------------------------------------------------ */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Line (1-based) and column of doc offset `at`, counting from doc.p[0]. */
static void
doc_position(const struct jp *j, size_t at, uint64_t *line, uint64_t *col)
{
	size_t i, last = 0;
	uint64_t l = j->doc_line;
	bool seen = false;

	for (i = 0; i < at && i < j->doc.n; i++) {
		if (j->doc.p[i] == '\n') {
			l++;
			last = i + 1;
			seen = true;
		}
	}
	*line = l;
	/* a document that starts mid-line: its column is unknown before the first
	   newline, so count from doc.p[0] (right for the usual single document) */
	*col = (uint64_t)(at - (seen ? last : 0)) + 1;
}

/* Append s to b with control characters replaced by spaces. */
static int
add_clean(struct apd_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;
	int rc;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7F)
			continue;
		if ((rc = apd_buf_add(b, s + run, i - run)) != APD_OK ||
		    (rc = apd_buf_addc(b, ' ')) != APD_OK)
			return rc;
		run = i + 1;
	}
	return apd_buf_add(b, s + run, n - run);
}

/*
 * The text of a scalar member: a string's value, or the JSON spelling of a
 * number or boolean (objects and arrays: compact JSON).  Absent for null
 * and for a missing member.  Borrowed from the json-c object.
 */
static struct apd_sv
value_sv(struct json_object *v)
{
	const char *s;
	size_t n = 0;

	if (v == NULL || json_object_is_type(v, json_type_null))
		return APD_SV_NULL;
	if (json_object_is_type(v, json_type_string))
		return apd_sv(json_object_get_string(v), (size_t)json_object_get_string_len(v));
	s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	return s ? apd_sv(s, n) : APD_SV_NULL;
}

static struct apd_sv
member_sv(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return APD_SV_NULL;
	return value_sv(v);
}

static bool
has_member(struct json_object *o, const char *key)
{
	return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, NULL);
}

/* Is a member name usable in a fact name: 1-64 of [A-Za-z0-9_.-]? */
static bool
fact_key_ok(const char *k)
{
	size_t i, n = strlen(k);

	if (n == 0 || n > JSON_FACT_KEY)
		return false;
	for (i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Emit fact `name` = v with control characters replaced.  Absent v: nothing. */
static int
emit_fact_sv(struct jp *j, struct apd_buf *tmp, const char *name, struct apd_sv v)
{
	int rc;

	if (v.p == NULL)
		return APD_OK;
	apd_buf_reset(tmp);
	if ((rc = add_clean(tmp, v.p, v.n)) != APD_OK)
		return rc == APD_FATAL ? rc : APD_OK;   /* an oversized value is skipped */
	return apd_emit_fact(j->ps->sink, apd_sv_cstr(name), apd_buf_sv(tmp));
}

/*
 * Parse a time as Windows writes it in JSON: ISO 8601 with Z or an offset
 * ("2024-04-03T07:45:12Z"), or "/Date(ms[+-hhmm])/".  *zoned tells whether
 * the text names its zone; without one the value is the wall clock.
 * Returns false if the text is neither.
 */
static bool
parse_json_time(struct apd_sv s, int64_t *us, bool *zoned)
{
	const char *p, *e;
	int64_t v = 0;
	unsigned oh, om;
	int sign;

	if (s.p == NULL)
		return false;
	e = s.p + s.n;
	if (s.n > 7 && memcmp(s.p, "/Date(", 6) == 0) {
		p = s.p + 6;
		sign = 1;
		if (p < e && *p == '-') {
			sign = -1;
			p++;
		}
		if (p >= e || *p < '0' || *p > '9')
			return false;
		while (p < e && *p >= '0' && *p <= '9') {
			if (v > INT64_MAX / 10000)
				return false;
			v = v * 10 + (*p++ - '0');
		}
		*us = sign * v * 1000;   /* ms since 1970 UTC; a written offset is display-only */
		*zoned = true;
		return true;
	}
	if (!apd_parse_iso(s, us) || s.n < 19)
		return false;
	p = s.p + 19;
	if (p < e && *p == '.')
		for (p++; p < e && *p >= '0' && *p <= '9'; p++)
			;
	*zoned = false;
	if (p < e && (*p == 'Z' || *p == 'z')) {
		*zoned = true;
	} else if (p < e && (*p == '+' || *p == '-') && e - p >= 6 && p[3] == ':' &&
	    p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9') {
		oh = (unsigned)((p[1] - '0') * 10 + (p[2] - '0'));
		om = (unsigned)((p[4] - '0') * 10 + (p[5] - '0'));
		if (oh > 23 || om > 59)
			return false;
		/* local = UTC + offset */
		*us -= (*p == '+' ? 1 : -1) * (int64_t)(oh * 60 + om) * 60 * APD_US_PER_SEC;
		*zoned = true;
	}
	return true;
}

/* ---- flattening: "key.path=value" lines for full-text search ----------- */

struct flat {
	struct apd_buf *out;
	struct apd_buf path;
	bool truncated;
};

static void flatten(struct flat *f, struct json_object *o, unsigned depth);

static void
flat_line(struct flat *f, struct json_object *o)
{
	struct apd_sv v;
	size_t keep = f->out->n;

	if (json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0)
		v = APD_SV_LIT("{}");
	else if (json_object_is_type(o, json_type_array) && json_object_array_length(o) == 0)
		v = APD_SV_LIT("[]");
	else if (o == NULL || json_object_is_type(o, json_type_null))
		v = APD_SV_LIT("null");
	else
		v = value_sv(o);
	if ((f->out->n && apd_buf_addc(f->out, '\n') != APD_OK) ||
	    (f->path.n && (apd_buf_add(f->out, f->path.p, f->path.n) != APD_OK ||
	    apd_buf_addc(f->out, '=') != APD_OK)) ||
	    (v.p && add_clean(f->out, v.p, v.n) != APD_OK)) {
		f->out->n = keep;
		if (f->out->p)
			f->out->p[keep] = '\0';
		f->truncated = true;
	}
}

/* Append one path step; false (and truncated set) if the path is too long. */
static bool
flat_push(struct flat *f, const char *key, size_t idx, bool is_index)
{
	int rc;

	if (is_index)
		rc = apd_buf_printf(&f->path, "[%zu]", idx);
	else if (f->path.n)
		rc = apd_buf_printf(&f->path, ".%s", key);
	else
		rc = apd_buf_adds(&f->path, key);
	if (rc != APD_OK)
		f->truncated = true;
	return rc == APD_OK;
}

static void
flat_pop(struct flat *f, size_t n)
{
	f->path.n = n;
	if (f->path.p)
		f->path.p[n] = '\0';
}

/* Flatten o below the current path into f->out (bounded; sets truncated). */
static void
flatten(struct flat *f, struct json_object *o, unsigned depth)
{
	struct json_object_iterator it, end;
	size_t keep = f->path.n, i, n;

	if (f->truncated)
		return;
	if (depth >= JSON_FLAT_DEPTH) {
		f->truncated = true;
		return;
	}
	if (json_object_is_type(o, json_type_object) && json_object_object_length(o) > 0) {
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		while (!json_object_iter_equal(&it, &end) && !f->truncated) {
			if (flat_push(f, json_object_iter_peek_name(&it), 0, false))
				flatten(f, json_object_iter_peek_value(&it), depth + 1);
			flat_pop(f, keep);
			json_object_iter_next(&it);
		}
	} else if (json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0) {
		n = json_object_array_length(o);
		for (i = 0; i < n && !f->truncated; i++) {
			if (flat_push(f, NULL, i, true))
				flatten(f, json_object_array_get_idx(o, i), depth + 1);
			flat_pop(f, keep);
		}
	} else {
		flat_line(f, o);
	}
}

/* ---- what the documents mean ------------------------------------------- */

/* CloudAssignedOobeConfig bits (DOMAIN.md 5.3, as Get-AutopilotDiagnostics decodes them). */
static const struct {
	unsigned bit;
	const char *name;
} oobe_bits[] = {
	{ 1024, "skip keyboard selection" },
	{ 512, "enable patch download" },
	{ 256, "skip Windows upgrade UX" },
	{ 128, "Entra ID TPM required" },
	{ 64, "Entra ID device auth" },
	{ 32, "TPM attestation" },
	{ 16, "skip EULA" },
	{ 8, "skip OEM registration" },
	{ 4, "skip express settings" },
	{ 2, "user not local admin" },
	{ 1, "skip Cortana opt-in" },
};

/* Append the decoded OOBE config bitmap (a number as text) to b. */
static void
add_oobe_bits(struct apd_buf *b, struct apd_sv v)
{
	unsigned long bits = 0;
	size_t i;
	bool first = true;

	for (i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || bits > 0xFFFFFFFul)
			return;   /* not a plain number: the raw value stands alone */
		bits = bits * 10 + (unsigned long)(v.p[i] - '0');
	}
	(void)apd_buf_adds(b, " (");
	for (i = 0; i < sizeof(oobe_bits) / sizeof(oobe_bits[0]); i++) {
		if (bits & oobe_bits[i].bit) {
			(void)apd_buf_printf(b, "%s%s", first ? "" : ", ", oobe_bits[i].name);
			first = false;
			bits &= ~(unsigned long)oobe_bits[i].bit;
		}
	}
	if (bits)
		(void)apd_buf_printf(b, "%sother bits 0x%lX", first ? "" : ", ", bits);
	else if (first)
		(void)apd_buf_adds(b, "none");
	(void)apd_buf_addc(b, ')');
}

static void
add_sv(struct apd_buf *b, struct apd_sv v)
{
	(void)add_clean(b, v.p ? v.p : "", v.p ? v.n : 0);
}

/* Is this the downloaded Autopilot profile (success or failure form)? */
static bool
is_ztd_profile(struct json_object *o, const char *name)
{
	if (!json_object_is_type(o, json_type_object))
		return false;
	if (has_member(o, "CloudAssignedTenantId") || has_member(o, "ZtdRegistrationId") ||
	    has_member(o, "CloudAssignedOobeConfig") || has_member(o, "DeploymentProfileName") ||
	    has_member(o, "CloudAssignedTenantDomain"))
		return true;
	if (has_member(o, "ErrorCode") && has_member(o, "PolicyDownloadDate"))
		return true;
	return apd_name_ieq(name, "AutopilotDDSZTDFile.json") &&
	    (has_member(o, "ErrorCode") || has_member(o, "PolicyDownloadDate"));
}

static bool
is_mdmdiag_meta(struct json_object *o, const char *name)
{
	if (!json_object_is_type(o, json_type_object))
		return false;
	return has_member(o, "MdmDiagVersion") ||
	    (apd_name_ieq(name, "MdmDiagLogMetadata.json") && has_member(o, "CurrentBuild"));
}

/* Facts autopilot.<Field> for every top-level member with a usable name. */
static int
ztd_facts(struct jp *j, struct json_object *o, struct apd_buf *tmp)
{
	struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
	char name[16 + JSON_FACT_KEY];
	const char *k;
	int rc;

	while (!json_object_iter_equal(&it, &end)) {
		k = json_object_iter_peek_name(&it);
		if (fact_key_ok(k)) {
			snprintf(name, sizeof(name), "autopilot.%s", k);
			rc = emit_fact_sv(j, tmp, name, value_sv(json_object_iter_peek_value(&it)));
			if (rc != APD_OK)
				return rc;
		}
		json_object_iter_next(&it);
	}
	return APD_OK;
}

/* One-line summary of the profile into msg; sets the event's level and time. */
static void
ztd_summary(struct json_object *o, struct apd_buf *msg, struct apd_event *ev, char *local)
{
	struct apd_sv v, date = member_sv(o, "PolicyDownloadDate");
	int64_t us;
	bool zoned;

	if (has_member(o, "ErrorCode")) {
		ev->level = APD_LVL_ERROR;
		(void)apd_buf_adds(msg, "Autopilot profile download failed: ErrorCode ");
		add_sv(msg, member_sv(o, "ErrorCode"));
		if ((v = member_sv(o, "ErrorReason")).p) {
			(void)apd_buf_adds(msg, " (");
			add_sv(msg, v);
			(void)apd_buf_addc(msg, ')');
		}
	} else {
		ev->level = APD_LVL_INFO;
		(void)apd_buf_adds(msg, "Autopilot profile");
		if ((v = member_sv(o, "DeploymentProfileName")).p) {
			(void)apd_buf_adds(msg, " \"");
			add_sv(msg, v);
			(void)apd_buf_addc(msg, '"');
		}
		if ((v = member_sv(o, "CloudAssignedTenantDomain")).p) {
			(void)apd_buf_adds(msg, " for ");
			add_sv(msg, v);
		}
		if ((v = member_sv(o, "CloudAssignedTenantId")).p) {
			(void)apd_buf_adds(msg, " (tenant ");
			add_sv(msg, v);
			(void)apd_buf_addc(msg, ')');
		}
		if ((v = member_sv(o, "CloudAssignedDomainJoinMethod")).p) {
			if (v.n == 1 && v.p[0] == '0')
				(void)apd_buf_adds(msg, "; Entra ID join");
			else if (v.n == 1 && v.p[0] == '1')
				(void)apd_buf_adds(msg, "; hybrid Entra ID join");
			else {
				(void)apd_buf_adds(msg, "; domain join method ");
				add_sv(msg, v);
			}
		}
		if ((v = member_sv(o, "CloudAssignedOobeConfig")).p) {
			(void)apd_buf_adds(msg, "; OOBE config ");
			add_sv(msg, v);
			add_oobe_bits(msg, v);
		}
		if ((v = member_sv(o, "CloudAssignedForcedEnrollment")).p) {
			(void)apd_buf_adds(msg, "; forced enrollment ");
			add_sv(msg, v);
		}
	}
	if (date.p) {
		(void)apd_buf_adds(msg, "; policy download date ");
		add_sv(msg, date);
	}
	if (parse_json_time(date, &us, &zoned)) {
		if (zoned) {
			ev->ts_utc = us;
			ev->tz = APD_TZ_UTC;
		} else {
			/* keep the wall clock with the fraction as written (up to 7 digits) */
			int y;
			unsigned mo, d, secs, frac = 0, nd = 0;
			int64_t days = us / (86400 * APD_US_PER_SEC);
			int64_t rem = us % (86400 * APD_US_PER_SEC);
			size_t i;

			if (rem < 0) {
				rem += 86400 * APD_US_PER_SEC;
				days--;
			}
			apd_civil_from_days(days, &y, &mo, &d);
			secs = (unsigned)(rem / APD_US_PER_SEC);
			if (date.n > 20 && date.p[19] == '.')
				for (i = 20; i < date.n && nd < 7 && date.p[i] >= '0' && date.p[i] <= '9'; i++) {
					frac = frac * 10 + (unsigned)(date.p[i] - '0');
					nd++;
				}
			ev->ts_local = apd_sv(local, apd_format_local(local, y, mo, d, secs / 3600,
			    secs / 60 % 60, secs % 60, frac, nd));
			ev->tz = APD_TZ_LOCAL;
		}
	}
}

/* os.* and mdmdiag.* facts and a one-line summary. */
static int
mdmdiag_facts(struct jp *j, struct json_object *o, struct apd_buf *msg, struct apd_buf *tmp)
{
	static const struct {
		const char *key, *fact;
	} map[] = {
		{ "CurrentBuild", "os.build" },
		{ "UBR", "os.ubr" },
		{ "EditionID", "os.edition" },
		{ "ProductName", "os.product_name" },
		{ "BuildBranch", "os.build_branch" },
		{ "BuildLab", "os.build_lab" },
		{ "InstallDate", "os.install_date" },
		{ "AreaName", "mdmdiag.areas" },
		{ "MdmDiagVersion", "mdmdiag.version" },
	};
	struct apd_sv v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((rc = emit_fact_sv(j, tmp, map[i].fact, member_sv(o, map[i].key))) != APD_OK)
			return rc;
	(void)apd_buf_adds(msg, "MdmDiagnosticsTool metadata:");
	if ((v = member_sv(o, "ProductName")).p) {
		(void)apd_buf_addc(msg, ' ');
		add_sv(msg, v);
	}
	if ((v = member_sv(o, "EditionID")).p) {
		(void)apd_buf_adds(msg, " (");
		add_sv(msg, v);
		(void)apd_buf_addc(msg, ')');
	}
	if ((v = member_sv(o, "CurrentBuild")).p) {
		(void)apd_buf_adds(msg, " build ");
		add_sv(msg, v);
		if ((v = member_sv(o, "UBR")).p) {
			(void)apd_buf_addc(msg, '.');
			add_sv(msg, v);
		}
	}
	if ((v = member_sv(o, "AreaName")).p) {
		(void)apd_buf_adds(msg, "; areas ");
		add_sv(msg, v);
	}
	return APD_OK;
}

/*
 * Emit one document: facts by kind, then its event.  `at` and `line` place
 * the document's first character.  Returns APD_OK, APD_FATAL (out of
 * memory) or the sink's code.
 */
static int
emit_doc(struct jp *j, struct json_object *o, uint64_t at, uint64_t line)
{
	struct apd_buf msg, tmp, data;
	struct apd_event ev;
	struct flat f;
	const char *js;
	char local[32];
	size_t n = 0, cut;
	int rc = APD_OK;

	apd_event_init(&ev);
	apd_buf_init(&msg, JSON_MSG_MAX);
	apd_buf_init(&tmp, JSON_MSG_MAX);
	apd_buf_init(&data, 7 * JSON_DATA_PREFIX + 256);   /* escaping at most doubles it */
	if (is_ztd_profile(o, j->ps->name)) {
		ztd_summary(o, &msg, &ev, local);
		rc = ztd_facts(j, o, &tmp);
	} else if (is_mdmdiag_meta(o, j->ps->name)) {
		rc = mdmdiag_facts(j, o, &msg, &tmp);
	}
	if (rc != APD_OK)
		goto out;
	/* the flattened document follows the summary, so values are searchable */
	f.out = &msg;
	f.truncated = false;
	apd_buf_init(&f.path, JSON_PATH_MAX);
	flatten(&f, o, 0);
	apd_buf_done(&f.path);
	if (f.truncated) {
		j->degraded = true;
		rc = apd_emit_warn(j->ps->sink, line, at,
		    "JSON document at line %llu: message text cut at %zu bytes (flattened text "
		    "too long or nested too deep); event.data keeps the document",
		    (unsigned long long)line, msg.n);
		if (rc != APD_OK)
			goto out;
	}
	js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (js == NULL) {
		rc = apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
		goto out;
	}
	if (n > JSON_DATA_MAX) {
		/* keep a valid JSON object: the size and a prefix cut on a character boundary */
		cut = JSON_DATA_PREFIX;
		while (cut > 0 && ((unsigned char)js[cut] & 0xC0) == 0x80)
			cut--;
		if (apd_buf_printf(&data, "{\"truncated\":true,\"size\":%zu,\"prefix\":", n) != APD_OK ||
		    apd_json_escape(&data, apd_sv(js, cut)) != APD_OK ||
		    apd_buf_addc(&data, '}') != APD_OK) {
			rc = apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
			goto out;
		}
		ev.data = apd_buf_sv(&data);
		j->degraded = true;
		rc = apd_emit_warn(j->ps->sink, line, at,
		    "JSON document at line %llu is %zu bytes compact; event.data keeps the first "
		    "%zu bytes", (unsigned long long)line, n, cut);
		if (rc != APD_OK)
			goto out;
	} else {
		ev.data = apd_sv(js, n);
	}
	ev.message = apd_buf_sv(&msg);
	ev.offset = at;
	ev.line = line;
	rc = apd_emit_event(j->ps->sink, &ev);
	if (rc == APD_OK)
		j->ndocs++;
out:
	apd_buf_done(&msg);
	apd_buf_done(&tmp);
	apd_buf_done(&data);
	return rc;
}

/* ---- salvage: keep what a malformed document had completed ------------- */

/*
 * Scan JSON text p[0..n) and return the length of the longest prefix that
 * ends right after a complete member or element inside the top container
 * (0 if none).  If `stack` is not NULL it receives the brackets open at the
 * end of p[0..n) and *depth their count (at most cap).  The text is known
 * to be valid JSON as far as json-c read it.
 */
static size_t
scan_cut(const char *p, size_t n, char *stack, size_t cap, size_t *depth)
{
	size_t i, d = 0, cut = 0;
	bool in_str = false, esc = false, in_scalar = false, is_key = false;
	char quote = 0;
	/* per level: does the next string in this object name a key?  Bit per level
	   for the first 64 levels; deeper levels are treated like arrays, which
	   only makes their cut points coarser. */
	uint64_t expect_key = 0;
	char top = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == quote) {
				in_str = false;
				if (d > 0 && !is_key)
					cut = i + 1;
			}
			continue;
		}
		if (in_scalar && (is_ws(c) || c == ',' || c == '}' || c == ']')) {
			in_scalar = false;
			if (d > 0)
				cut = i;
		}
		switch (c) {
		case '"':
		case '\'':
			in_str = true;
			quote = c;
			is_key = top == '{' && d <= 64 && ((expect_key >> (d - 1)) & 1) != 0;
			break;
		case '{':
		case '[':
			if (stack && d < cap)
				stack[d] = c;
			d++;
			top = c;
			if (d <= 64) {
				if (c == '{')
					expect_key |= (uint64_t)1 << (d - 1);
				else
					expect_key &= ~((uint64_t)1 << (d - 1));
			}
			break;
		case '}':
		case ']':
			if (d > 0)
				d--;
			if (d > 0)
				cut = i + 1;
			top = d > 0 && stack && d <= cap ? stack[d - 1] : (d > 0 ? '[' : 0);
			break;
		case ':':
			if (d > 0 && d <= 64)
				expect_key &= ~((uint64_t)1 << (d - 1));
			break;
		case ',':
			if (d > 0 && d <= 64 && top == '{')
				expect_key |= (uint64_t)1 << (d - 1);
			break;
		default:
			if (!is_ws(c))
				in_scalar = true;
			break;
		}
	}
	if (depth)
		*depth = d;
	return cut;
}

/*
 * Rebuild the part of the faulty document doc[0..upto) that was complete,
 * parse it and emit it.  Returns APD_OK with *kept set, or APD_FATAL / a
 * sink code.
 */
static int
salvage(struct jp *j, size_t upto, bool *kept)
{
	struct json_tokener *t2;
	struct json_object *o;
	struct apd_buf fix;
	char *stack;
	size_t cap, cut, depth = 0, i, first = 0;
	int rc = APD_OK;

	*kept = false;
	while (first < upto && is_ws(j->doc.p[first]))
		first++;
	cap = (size_t)j->ps->lim->max_json_depth + 1;
	stack = malloc(cap);
	if (stack == NULL)
		return apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
	/* pass 1: where to cut; pass 2: which brackets are open there.  Both
	   passes need the bracket types, so pass 1 fills the stack too. */
	cut = scan_cut(j->doc.p, upto, stack, cap, NULL);
	if (cut > first)
		(void)scan_cut(j->doc.p, cut, stack, cap, &depth);
	if (cut <= first || depth == 0 || depth > cap) {
		free(stack);
		return APD_OK;
	}
	if (cut + depth >= INT_MAX) {
		free(stack);
		return APD_OK;
	}
	apd_buf_init(&fix, cut + depth + 2);
	if (apd_buf_add(&fix, j->doc.p, cut) != APD_OK) {
		free(stack);
		apd_buf_done(&fix);
		return apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
	}
	for (i = depth; i > 0; i--)
		(void)apd_buf_addc(&fix, stack[i - 1] == '{' ? '}' : ']');
	free(stack);
	t2 = json_tokener_new_ex((int)j->ps->lim->max_json_depth);
	if (t2 == NULL) {
		apd_buf_done(&fix);
		return apd_set_error(j->ps->err, APD_FATAL, "%s: out of memory", j->ps->path);
	}
	o = json_tokener_parse_ex(t2, fix.p, (int)fix.n);
	if (o != NULL && json_tokener_get_error(t2) == json_tokener_success &&
	    ((json_object_is_type(o, json_type_object) && json_object_object_length(o) > 0) ||
	    (json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0))) {
		uint64_t line, col;

		doc_position(j, first, &line, &col);
		rc = emit_doc(j, o, j->doc_off + first, line);
		*kept = rc == APD_OK;
	}
	json_object_put(o);
	json_tokener_free(t2);
	apd_buf_done(&fix);
	return rc;
}

/*
 * The tokener failed at doc offset `at`: keep what can be kept, warn, and
 * return APD_WARN, or APD_FAILED with ps->err set when nothing is usable.
 */
static int
doc_error(struct jp *j, enum json_tokener_error jerr, size_t at, const char *why)
{
	uint64_t line, col;
	bool kept = false;
	int rc;

	doc_position(j, at, &line, &col);
	if ((rc = salvage(j, at, &kept)) != APD_OK)
		return rc;
	if (j->ndocs == 0)
		return apd_set_error(j->ps->err, APD_FAILED,
		    "%s: not usable JSON: %s at line %llu, column %llu (offset %llu of the UTF-8 text)",
		    j->ps->path, why ? why : json_tokener_error_desc(jerr),
		    (unsigned long long)line, (unsigned long long)col,
		    (unsigned long long)(j->doc_off + at));
	j->degraded = true;
	rc = apd_emit_warn(j->ps->sink, line, j->doc_off + at,
	    "%s at line %llu, column %llu (offset %llu of the UTF-8 text); %s",
	    why ? why : json_tokener_error_desc(jerr), (unsigned long long)line,
	    (unsigned long long)col, (unsigned long long)(j->doc_off + at),
	    kept ? "kept the members completed before it" : "the rest of the input is skipped");
	return rc != APD_OK ? rc : APD_WARN;
}

/* ---- driving the tokener ----------------------------------------------- */

/* Drop doc[0..end): the next document starts there. */
static void
consume(struct jp *j, size_t end)
{
	size_t i;

	for (i = 0; i < end; i++)
		if (j->doc.p[i] == '\n')
			j->doc_line++;
	j->doc_off += end;
	memmove(j->doc.p, j->doc.p + end, j->doc.n - end);
	j->doc.n -= end;
	j->doc.p[j->doc.n] = '\0';
	j->fed = 0;
}

/* Offset of the first non-space byte of doc[0..end), or end. */
static size_t
skip_ws(const struct jp *j, size_t end)
{
	size_t i = 0;

	while (i < end && is_ws(j->doc.p[i]))
		i++;
	return i;
}

/*
 * A document ended at doc offset `end`: emit it and drop its text.
 * Returns APD_OK or a failure / sink code.
 */
static int
doc_done(struct jp *j, struct json_object *o, size_t end)
{
	size_t first = skip_ws(j, end);
	uint64_t line, col;
	int rc;

	doc_position(j, first, &line, &col);
	rc = emit_doc(j, o, j->doc_off + first, line);
	json_object_put(o);
	if (rc == APD_OK)
		consume(j, end);
	return rc;
}

/*
 * Give the tokener every decoded byte it has not seen.  Returns APD_OK
 * (continue reading), APD_WARN / APD_FAILED after a syntax error (stop),
 * or APD_FATAL / a sink code.
 */
static int
feed(struct jp *j)
{
	struct json_object *o;
	enum json_tokener_error jerr;
	size_t len;
	int rc;

	while (j->fed < j->doc.n) {
		len = j->doc.n - j->fed;
		if (len > INT_MAX / 2)
			len = INT_MAX / 2;
		o = json_tokener_parse_ex(j->tok, j->doc.p + j->fed, (int)len);
		jerr = json_tokener_get_error(j->tok);
		if (jerr == json_tokener_continue) {
			j->fed += len;
			continue;
		}
		if (jerr != json_tokener_success) {   /* (success with NULL is a "null" document) */
			json_object_put(o);
			return doc_error(j, jerr, j->fed + json_tokener_get_parse_end(j->tok), NULL);
		}
		if ((rc = doc_done(j, o, j->fed + json_tokener_get_parse_end(j->tok))) != APD_OK)
			return rc;
	}
	return APD_OK;
}

/* End of input: finish a pending document.  Same returns as feed(). */
static int
finish(struct jp *j)
{
	struct json_object *o;
	enum json_tokener_error jerr;

	if (skip_ws(j, j->doc.n) == j->doc.n) {
		if (j->ndocs > 0)
			return APD_OK;
		return apd_set_error(j->ps->err, APD_FAILED, "%s: no JSON document (empty input)",
		    j->ps->path);
	}
	/* a NUL tells json-c the input ended (completes a top-level number) */
	o = json_tokener_parse_ex(j->tok, "", 1);
	jerr = json_tokener_get_error(j->tok);
	if (jerr == json_tokener_success)
		return doc_done(j, o, j->doc.n);
	json_object_put(o);
	return doc_error(j, jerr, j->doc.n, "unexpected end of input (truncated JSON)");
}

/* Parse the stream.  Returns the parser contract's codes (apd_parser.h). */
static int
run(struct apd_parse *ps)
{
	struct jp j;
	const unsigned char *head, *p;
	const void *blk;
	size_t hlen, bom, n, skip;
	uint64_t cap = ps->lim->max_json_bytes;
	size_t doc_cap;
	bool over = false;
	int rc;

	memset(&j, 0, sizeof(j));
	j.ps = ps;
	j.doc_line = 1;
	head = apd_stream_head(ps->in, &hlen);
	j.enc = apd_enc_sniff(head, hlen, &bom);
	/* decoded UTF-8 is at most 3 bytes per input byte (Windows-1252 0x80-0x9F) */
	doc_cap = cap < SIZE_MAX / 4 ? (size_t)cap * 3 + 64 : SIZE_MAX / 2;
	apd_buf_init(&j.doc, doc_cap);
	apd_buf_init(&j.scratch, doc_cap);
	j.tok = json_tokener_new_ex((int)(ps->lim->max_json_depth > INT_MAX ? INT_MAX :
	    ps->lim->max_json_depth));
	if (j.tok == NULL) {
		rc = apd_set_error(ps->err, APD_FATAL, "%s: out of memory", ps->path);
		goto out;
	}
	for (;;) {
		rc = apd_stream_block(ps->in, &blk, &n);
		if (rc == APD_EOF)
			break;
		if (rc != APD_OK)
			goto out;   /* the stream described the failure */
		p = blk;
		if (n > cap - j.raw) {
			n = (size_t)(cap - j.raw);
			over = true;
		}
		j.raw += n;
		/* the BOM may be split across the first blocks */
		skip = bom < n ? bom : n;
		bom -= skip;
		rc = decode_chk(&j, p + skip, n - skip, false);
		if (rc == APD_OK)
			rc = feed(&j);
		if (rc != APD_OK)
			goto out;
		if (over)
			break;
	}
	if ((rc = decode_chk(&j, NULL, 0, true)) == APD_OK && (rc = feed(&j)) == APD_OK) {
		if (over) {
			uint64_t line, col;

			doc_position(&j, j.doc.n, &line, &col);
			if (skip_ws(&j, j.doc.n) == j.doc.n && j.ndocs > 0) {
				/* the cut fell between documents */
				j.degraded = true;
				rc = apd_emit_warn(ps->sink, line, j.doc_off + j.doc.n,
				    "input longer than the limit of %llu bytes (max_json_bytes); "
				    "the rest is skipped", (unsigned long long)cap);
			} else {
				char why[160];

				snprintf(why, sizeof(why), "input longer than the limit of %llu bytes "
				    "(max_json_bytes)", (unsigned long long)cap);
				rc = doc_error(&j, json_tokener_continue, j.doc.n, why);
			}
		} else {
			rc = finish(&j);
		}
	}
	if (rc == APD_OK && j.degraded)
		rc = APD_WARN;
out:
	if (j.tok)
		json_tokener_free(j.tok);
	apd_buf_done(&j.doc);
	apd_buf_done(&j.scratch);
	return rc;
}

/* ---- bidding ------------------------------------------------------------ */

/*
 * An ASCII view of the head: UTF-16 code units below 0x80 as bytes, others
 * as '?'; 8-bit text as is.  Returns the view's length, or (size_t)-1 if
 * the head looks binary.
 */
static size_t
narrow_head(const struct apd_probe *pr, char *view, size_t cap)
{
	size_t bom, i, n = 0, ctl = 0;
	enum apd_enc enc = apd_enc_sniff(pr->head, pr->len, &bom);
	const unsigned char *p = pr->head + bom;
	size_t len = pr->len - bom;
	unsigned u;

	if (enc == APD_ENC_UTF16LE || enc == APD_ENC_UTF16BE) {
		for (i = 0; i + 1 < len && n < cap; i += 2) {
			u = enc == APD_ENC_UTF16BE ? (unsigned)(p[i] << 8 | p[i + 1]) :
			    (unsigned)(p[i + 1] << 8 | p[i]);
			if (u == 0)
				return (size_t)-1;
			if (u < 0x20 && u != '\t' && u != '\n' && u != '\r' && u != 0x0C)
				ctl++;
			view[n++] = u < 0x80 ? (char)u : '?';
		}
		return ctl * 20 > n ? (size_t)-1 : n;
	}
	n = len < cap ? len : cap;
	if (apd_looks_binary(p, n))
		return (size_t)-1;
	memcpy(view, p, n);
	return n;
}

static bool
view_has(const char *v, size_t n, const char *s)
{
	return apd_memmem(v, n, s, strlen(s)) != NULL;
}

/*
 * 24 when the text starts like a JSON object or array, 48 when it also
 * names keys of a known document, +8 for a .json name; 8 for a known file
 * name alone; -1 otherwise and for binary data.
 */
static int
bid(const struct apd_probe *pr)
{
	char view[JSON_BID_VIEW];
	size_t n, i, k;
	int b = -1;
	bool known_name = apd_name_ieq(pr->name, "AutopilotDDSZTDFile.json") ||
	    apd_name_ieq(pr->name, "MdmDiagLogMetadata.json") ||
	    apd_name_ieq(pr->name, "DiagnosticsFrameworkData.json") ||
	    apd_name_ieq(pr->name, "AutopilotConciergeFile.json");

	n = narrow_head(pr, view, sizeof(view));
	if (n == (size_t)-1)
		return -1;
	for (i = 0; i < n && is_ws(view[i]); i++)
		;
	if (i < n && (view[i] == '{' || view[i] == '[')) {
		/* the next token must fit: a key (or '}') after '{', a value after '[' */
		for (k = i + 1; k < n && is_ws(view[k]); k++)
			;
		if (k == n || (view[i] == '{' && (view[k] == '"' || view[k] == '}')) ||
		    (view[i] == '[' && view[k] != '\0' && strchr("{[\"]-0123456789tfn", view[k]) != NULL))
			b = 24;
	}
	if (b < 0)
		return known_name && i < n ? 8 : -1;
	if (view_has(view, n, "\"CloudAssignedTenantId\"") ||
	    view_has(view, n, "\"ZtdRegistrationId\"") ||
	    view_has(view, n, "\"CloudAssignedOobeConfig\"") ||
	    view_has(view, n, "\"MdmDiagVersion\"") ||
	    (view_has(view, n, "\"ErrorCode\"") && view_has(view, n, "\"PolicyDownloadDate\"")))
		b = 48;
	if (apd_name_iendswith(pr->name, ".json"))
		b += 8;
	return b;
}

const struct apd_parser apd_parser_json = {
	.name = "json",
	.kind = "json",
	.bid = bid,
	.run = run,
	.note = NULL,
};
