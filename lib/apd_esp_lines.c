/*
 * apd_esp_lines.c - loads lib/apd_ime_lines.txt (see apd_esp_lines.h):
 * parses the entries, expands {GUID}, compiles each regex once with PCRE2
 * (JIT when available) and maps its named groups onto enum apd_esp_field.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "apd_esp_lines.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUID_RE "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
#define MAX_EXAMPLES 8

static const char *const kind_names[ESPL__N] = {
	[ESPL_ESP_PHASE] = "esp-phase", [ESPL_ESP_LOCKIN] = "esp-lockin",
	[ESPL_ESP_TRACKING] = "esp-tracking", [ESPL_ESP_DEVICE_DONE] = "esp-device-done",
	[ESPL_ESP_UPDATE] = "esp-update", [ESPL_APV2] = "apv2", [ESPL_AGENT_VERSION] = "agent-version", [ESPL_POLICIES] = "policies",
	[ESPL_APP_CONTEXT] = "app-context", [ESPL_INTENT] = "intent", [ESPL_DETECTION] = "detection",
	[ESPL_DETECTION_RULE] = "detection-rule", [ESPL_APPLICABILITY] = "applicability",
	[ESPL_DOWNLOAD_START] = "download-start", [ESPL_DOWNLOAD_PROGRESS] = "download-progress",
	[ESPL_DOWNLOAD_DONE] = "download-done", [ESPL_DO_TELEMETRY] = "do-telemetry",
	[ESPL_DOWNLOAD_STATE] = "download-state", [ESPL_DOWNLOAD_ERROR] = "download-error",
	[ESPL_INSTALL_START] = "install-start", [ESPL_INSTALL_DONE] = "install-done",
	[ESPL_INSTALL_TIMEOUT] = "install-timeout",
	[ESPL_INSTALL_CREATE_FAILED] = "install-create-failed", [ESPL_EXIT_CODE] = "exit-code",
	[ESPL_EXIT_CLASS] = "exit-class", [ESPL_HRESULT] = "hresult", [ESPL_ERROR_CODE] = "error-code",
	[ESPL_ENFORCEMENT_SET] = "enforcement-set", [ESPL_ENFORCEMENT] = "enforcement", [ESPL_DETECTION_STATE] = "detection-state",
	[ESPL_REPORT] = "report", [ESPL_GRS] = "grs", [ESPL_UNMAPPED_EXIT] = "unmapped-exit",
	[ESPL_RESTART_REQUIRED] = "restart-required", [ESPL_PS_POLICY] = "ps-policy",
	[ESPL_PS_CONTEXT] = "ps-context", [ESPL_PS_DONE] = "ps-done", [ESPL_PS_RESULT] = "ps-result",
	[ESPL_PS_FAIL] = "ps-fail", [ESPL_HS_POLICIES] = "hs-policies", [ESPL_HS_EXIT] = "hs-exit",
	[ESPL_HS_RESULT] = "hs-result", [ESPL_HS_DETECT] = "hs-detect",
};

static const char *const field_names[ESPF__N] = {
	[ESPF_APP] = "app", [ESPF_REV] = "rev", [ESPF_NAME] = "name", [ESPF_PHASE] = "phase",
	[ESPF_FROM] = "from", [ESPF_TO] = "to", [ESPF_STATE] = "state", [ESPF_STATUS] = "status",
	[ESPF_CODE] = "code", [ESPF_BYTES] = "bytes", [ESPF_TOTAL] = "total", [ESPF_VIA] = "via",
	[ESPF_JSON] = "json", [ESPF_IDS] = "ids", [ESPF_INTENT] = "intent", [ESPF_VALUE] = "value",
	[ESPF_TARGET] = "target", [ESPF_SCRIPT] = "script", [ESPF_USER] = "user",
	[ESPF_RESULT] = "result",
};

struct entry {
	enum apd_esp_kind kind;
	unsigned line;                 /* of its [kind] header */
	char *fts;
	char *re;
	pcre2_code *code;
	pcre2_match_data *md;
	int group[ESPF__N];            /* capture group number, 0 if the regex has none */
	struct apd_esp_example ex[MAX_EXAMPLES];
	size_t nex;
};

struct apd_esp_lines {
	struct entry e[APD_ESP_LINES_MAX];
	size_t n;
};

const char *
apd_esp_line_kind_name(enum apd_esp_kind k)
{
	return (unsigned)k < ESPL__N ? kind_names[k] : "?";
}

const char *
apd_esp_field_name(enum apd_esp_field f)
{
	return (unsigned)f < ESPF__N ? field_names[f] : "?";
}

static char *
dup_n(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* The regex with every {GUID} replaced. */
static char *
expand(const char *p, size_t n)
{
	static const char tok[] = "{GUID}";
	size_t k = 0, i, out = 0;
	char *s;

	for (i = 0; i + sizeof(tok) - 1 <= n; i++)
		if (memcmp(p + i, tok, sizeof(tok) - 1) == 0)
			k++;
	s = malloc(n + k * sizeof(GUID_RE) + 1);
	if (s == NULL)
		return NULL;
	for (i = 0; i < n; ) {
		if (i + sizeof(tok) - 1 <= n && memcmp(p + i, tok, sizeof(tok) - 1) == 0) {
			memcpy(s + out, GUID_RE, sizeof(GUID_RE) - 1);
			out += sizeof(GUID_RE) - 1;
			i += sizeof(tok) - 1;
		} else {
			s[out++] = p[i++];
		}
	}
	s[out] = '\0';
	return s;
}

static int
compile(struct entry *e, struct apd_error *err)
{
	PCRE2_SIZE off;
	uint32_t count = 0, size = 0, i;
	PCRE2_SPTR table;
	int ec;

	e->code = pcre2_compile((PCRE2_SPTR)e->re, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
	if (e->code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: regex: %s at offset %zu",
		    e->line, (const char *)msg, (size_t)off);
	}
	(void)pcre2_jit_compile(e->code, PCRE2_JIT_COMPLETE);   /* the interpreter otherwise */
	e->md = pcre2_match_data_create_from_pattern(e->code, NULL);
	if (e->md == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	pcre2_pattern_info(e->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(e->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(e->code, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < count; i++) {
		const unsigned char *ent = table + (size_t)i * size;
		int num = (ent[0] << 8) | ent[1];
		const char *name = (const char *)ent + 2;
		int f;

		for (f = 0; f < ESPF__N; f++)
			if (strcmp(field_names[f], name) == 0)
				break;
		if (f == ESPF__N)
			return apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: unknown group "
			    "name '%s'", e->line, name);
		e->group[f] = num;
	}
	return APD_OK;
}

int
apd_esp_lines_load(struct apd_esp_lines **out, const char *text, struct apd_error *err)
{
	struct apd_esp_lines *L;
	struct entry *cur = NULL;
	const char *p = text;
	unsigned lineno = 0;
	size_t i;

	*out = NULL;
	L = calloc(1, sizeof(*L));
	if (L == NULL)
		return apd_set_error(err, APD_FATAL, "out of memory");
	while (*p) {
		const char *eol = strchr(p, '\n'), *end;
		size_t n;

		if (eol == NULL)
			eol = p + strlen(p);
		end = eol;
		if (end > p && end[-1] == '\r')
			end--;
		n = (size_t)(end - p);
		lineno++;
		if (n == 0 || p[0] == '#') {
			/* blank or comment */
		} else if (p[0] == '[' && p[n - 1] == ']') {
			int k;
			if (L->n == APD_ESP_LINES_MAX) {
				apd_esp_lines_free(L);
				return apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: more than "
				    "%d entries", lineno, APD_ESP_LINES_MAX);
			}
			for (k = 0; k < ESPL__N; k++)
				if (strlen(kind_names[k]) == n - 2 && memcmp(kind_names[k], p + 1, n - 2) == 0)
					break;
			if (k == ESPL__N) {
				apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: unknown kind '%.*s'",
				    lineno, (int)n, p);
				apd_esp_lines_free(L);
				return APD_FAILED;
			}
			cur = &L->e[L->n++];
			cur->kind = (enum apd_esp_kind)k;
			cur->line = lineno;
		} else if (cur != NULL && ((n > 5 && memcmp(p, "fts: ", 5) == 0) ||
		    (n > 4 && (memcmp(p, "re: ", 4) == 0 || memcmp(p, "ex: ", 4) == 0 ||
		    memcmp(p, "no: ", 4) == 0)))) {
			const char *v = p + (p[0] == 'f' ? 5 : 4);
			size_t vn = n - (size_t)(v - p);
			char *s;

			while (vn && *v == ' ') {
				v++;
				vn--;
			}
			s = p[0] == 'r' ? expand(v, vn) : dup_n(v, vn);
			if (s == NULL) {
				apd_esp_lines_free(L);
				return apd_set_error(err, APD_FATAL, "out of memory");
			}
			if (p[0] == 'f' || p[0] == 'r') {
				char **slot = p[0] == 'f' ? &cur->fts : &cur->re;
				free(*slot);
				*slot = s;
			} else if (cur->nex < MAX_EXAMPLES) {
				cur->ex[cur->nex].text = s;
				cur->ex[cur->nex].positive = p[0] == 'e';
				cur->nex++;
			} else {
				free(s);
			}
		} else {
			apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: cannot read '%.*s'", lineno,
			    (int)(n > 60 ? 60 : n), p);
			apd_esp_lines_free(L);
			return APD_FAILED;
		}
		p = *eol ? eol + 1 : eol;
	}
	for (i = 0; i < L->n; i++) {
		struct entry *e = &L->e[i];
		int rc;
		if (e->fts == NULL || e->re == NULL || e->nex == 0 || !e->ex[0].positive) {
			apd_set_error(err, APD_FAILED, "apd_ime_lines.txt:%u: an entry needs fts:, re: "
			    "and an ex: first", e->line);
			apd_esp_lines_free(L);
			return APD_FAILED;
		}
		if ((rc = compile(e, err)) != APD_OK) {
			apd_esp_lines_free(L);
			return rc;
		}
	}
	*out = L;
	return APD_OK;
}

void
apd_esp_lines_free(struct apd_esp_lines *L)
{
	size_t i, k;

	if (L == NULL)
		return;
	for (i = 0; i < L->n; i++) {
		free(L->e[i].fts);
		free(L->e[i].re);
		pcre2_match_data_free(L->e[i].md);
		pcre2_code_free(L->e[i].code);
		for (k = 0; k < L->e[i].nex; k++)
			free((char *)L->e[i].ex[k].text);
	}
	free(L);
}

size_t
apd_esp_lines_count(const struct apd_esp_lines *L)
{
	return L->n;
}

enum apd_esp_kind
apd_esp_lines_kind(const struct apd_esp_lines *L, size_t i)
{
	return L->e[i].kind;
}

const char *
apd_esp_lines_fts(const struct apd_esp_lines *L, size_t i)
{
	return L->e[i].fts;
}

unsigned
apd_esp_lines_line(const struct apd_esp_lines *L, size_t i)
{
	return L->e[i].line;
}

size_t
apd_esp_lines_examples(const struct apd_esp_lines *L, size_t i, const struct apd_esp_example **ex)
{
	*ex = L->e[i].ex;
	return L->e[i].nex;
}

bool
apd_esp_lines_match(const struct apd_esp_lines *L, size_t i, const char *msg, size_t n,
    struct apd_esp_match *m)
{
	const struct entry *e = &L->e[i];
	PCRE2_SIZE *ov;
	int rc, f;

	rc = pcre2_match(e->code, (PCRE2_SPTR)msg, n, 0, 0, e->md, NULL);
	if (rc < 0)
		return false;
	ov = pcre2_get_ovector_pointer(e->md);
	m->kind = e->kind;
	for (f = 0; f < ESPF__N; f++) {
		int g = e->group[f];
		m->f[f] = APD_SV_NULL;
		if (g > 0 && g < rc && ov[2 * g] != PCRE2_UNSET)
			m->f[f] = apd_sv(msg + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
	return true;
}

#define TERM_TOKENS 32   /* tokens in one fts expression, at most */

size_t
apd_esp_lines_terms(const struct apd_esp_lines *L, size_t i,
    void (*fn)(void *ud, size_t alt, const char *tok), void *ud)
{
	const char *p = apd_esp_lines_fts(L, i);
	char tok[TERM_TOKENS][APD_ESP_TOKEN_MAX];
	size_t alt[TERM_TOKENS], n = 0, nalt = 0, k;
	bool quoted = false, any = false;

	if (p == NULL)
		return 0;
	while (*p) {
		if (*p == '"') {
			quoted = !quoted;
			p++;
		} else if (!quoted && strncmp(p, "OR", 2) == 0 && (p[2] == ' ' || p[2] == '"')) {
			if (!any)
				return 0;   /* an empty alternative */
			nalt++;
			any = false;
			p += 2;
		} else if (!quoted && strncmp(p, "AND", 3) == 0 && (p[3] == ' ' || p[3] == '"')) {
			p += 3;
		} else if ((unsigned char)*p >= 0x80 || (!quoted && *p != ' ')) {
			return 0;   /* not ASCII, or syntax (NOT, NEAR, barewords) this does not read */
		} else if (quoted && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))) {
			const char *t = p;
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'))
				p++;
			if ((size_t)(p - t) >= APD_ESP_TOKEN_MAX || n == TERM_TOKENS)
				return 0;
			for (k = 0; k < (size_t)(p - t); k++)
				tok[n][k] = (char)(t[k] >= 'A' && t[k] <= 'Z' ? t[k] - 'A' + 'a' : t[k]);
			tok[n][k] = '\0';
			alt[n++] = nalt;
			any = true;
		} else {
			p++;   /* separators inside a phrase, spaces */
		}
	}
	if (!any || quoted)
		return 0;
	for (k = 0; k < n; k++)
		fn(ud, alt[k], tok[k]);
	return nalt + 1;
}
