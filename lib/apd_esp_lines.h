/*
 * apd_esp_lines.h - the IME log lines the deployment model reads, loaded
 * from the embedded data file lib/apd_ime_lines.txt.
 *
 * Each entry of the file has a kind (what the line means), an FTS5 query
 * that finds every candidate line in the index (the prefilter), a PCRE2
 * regex with named groups (the confirmation) and examples.  The C code only
 * knows the kinds and the group names below; the texts stay in data.
 *
 *	struct apd_esp_lines *L;
 *	apd_esp_lines_load(&L, apd_ime_lines_txt, &err);
 *	...match with apd_esp_lines_match()...
 *	apd_esp_lines_free(L);
 */
#ifndef APD_ESP_LINES_H
#define APD_ESP_LINES_H

#include "apd.h"
#include "apd_error.h"

#include <stdbool.h>

/* What a line means.  The names in apd_ime_lines.txt are the strings in
   apd_esp_line_kind_name(). */
enum apd_esp_kind {
	ESPL_ESP_PHASE, ESPL_ESP_LOCKIN, ESPL_ESP_TRACKING, ESPL_ESP_DEVICE_DONE, ESPL_ESP_UPDATE,
	ESPL_APV2, ESPL_AGENT_VERSION,
	ESPL_POLICIES, ESPL_APP_CONTEXT, ESPL_INTENT, ESPL_DETECTION, ESPL_DETECTION_RULE,
	ESPL_APPLICABILITY, ESPL_DOWNLOAD_START, ESPL_DOWNLOAD_PROGRESS, ESPL_DOWNLOAD_DONE,
	ESPL_DO_TELEMETRY, ESPL_DOWNLOAD_STATE, ESPL_DOWNLOAD_ERROR, ESPL_INSTALL_START,
	ESPL_INSTALL_DONE, ESPL_INSTALL_TIMEOUT, ESPL_INSTALL_CREATE_FAILED, ESPL_EXIT_CODE,
	ESPL_EXIT_CLASS, ESPL_HRESULT, ESPL_ERROR_CODE, ESPL_ENFORCEMENT_SET, ESPL_ENFORCEMENT, ESPL_DETECTION_STATE,
	ESPL_REPORT, ESPL_GRS, ESPL_UNMAPPED_EXIT, ESPL_RESTART_REQUIRED,
	ESPL_PS_POLICY, ESPL_PS_CONTEXT, ESPL_PS_DONE, ESPL_PS_RESULT, ESPL_PS_FAIL,
	ESPL_HS_POLICIES, ESPL_HS_EXIT, ESPL_HS_RESULT, ESPL_HS_DETECT,
	ESPL__N
};

/* The named groups a regex may use. */
enum apd_esp_field {
	ESPF_APP, ESPF_REV, ESPF_NAME, ESPF_PHASE, ESPF_FROM, ESPF_TO, ESPF_STATE, ESPF_STATUS,
	ESPF_CODE, ESPF_BYTES, ESPF_TOTAL, ESPF_VIA, ESPF_JSON, ESPF_IDS, ESPF_INTENT, ESPF_VALUE,
	ESPF_TARGET, ESPF_SCRIPT, ESPF_USER, ESPF_RESULT,
	ESPF__N
};

#define APD_ESP_LINES_MAX 64   /* entries: a candidate row carries a 64-bit mask */

struct apd_esp_lines;

/* One example of an entry, for the tests. */
struct apd_esp_example {
	const char *text;
	bool positive;      /* ex: (true) or no: (false) */
};

/* The result of one entry matching one message: views into the message. */
struct apd_esp_match {
	enum apd_esp_kind kind;
	struct apd_sv f[ESPF__N];   /* absent groups: p == NULL */
};

/* Parse and compile the file text (NUL-terminated).  APD_OK, or APD_FAILED
   with a message naming the line. */
int apd_esp_lines_load(struct apd_esp_lines **out, const char *text, struct apd_error *err);
void apd_esp_lines_free(struct apd_esp_lines *L);

size_t apd_esp_lines_count(const struct apd_esp_lines *L);
enum apd_esp_kind apd_esp_lines_kind(const struct apd_esp_lines *L, size_t i);
const char *apd_esp_lines_fts(const struct apd_esp_lines *L, size_t i);
size_t apd_esp_lines_examples(const struct apd_esp_lines *L, size_t i,
    const struct apd_esp_example **ex);
unsigned apd_esp_lines_line(const struct apd_esp_lines *L, size_t i);   /* line in the file */

/*
 * The tokens of entry i's fts expression, by OR alternative: fn(ud, alt,
 * tok) for each token of each alternative (alt 0, 1, ...; tok lowercase,
 * split as FTS5's unicode61 splits ASCII text).  A message the expression
 * matches holds every token of one alternative, so rows found that way are
 * a superset of the expression's (its regex decides).  Returns the number
 * of alternatives, or 0, calling fn for none, if the expression is not one
 * this reads (NOT, NEAR, barewords, non-ASCII, a token of
 * APD_ESP_TOKEN_MAX bytes or more).
 */
#define APD_ESP_TOKEN_MAX 64
size_t apd_esp_lines_terms(const struct apd_esp_lines *L, size_t i,
    void (*fn)(void *ud, size_t alt, const char *tok), void *ud);

/* Try entry i on a message; true and *m filled if it matches. */
bool apd_esp_lines_match(const struct apd_esp_lines *L, size_t i, const char *msg, size_t n,
    struct apd_esp_match *m);

const char *apd_esp_line_kind_name(enum apd_esp_kind k);
const char *apd_esp_field_name(enum apd_esp_field f);

/* The embedded lib/apd_ime_lines.txt. */
extern const char apd_ime_lines_txt[];

#endif /* APD_ESP_LINES_H */
