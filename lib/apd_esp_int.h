/*
 * apd_esp_int.h - what the deployment model's files share (apd_esp.c,
 * apd_esp_ime.c, apd_esp_apps.c).  Not a public interface.
 *
 * Times.  A struct when is one instant as a piece of evidence gives it: its
 * UTC time when known, and the device's wall clock when the evidence was
 * logged in local time.  Two instants compare on UTC when both have it,
 * else on the wall clock when both have that, else not at all: the model
 * never mixes clocks and never guesses a zone.
 */
#ifndef APD_ESP_INT_H
#define APD_ESP_INT_H

#include "apd_esp.h"
#include "apd_esp_lines.h"

#include <sqlite3.h>
#include <stdbool.h>

/* SQL: leave out the sources that repeat an earlier one byte for byte (temp.esp_dup). */
#define NOT_DUP(col) " AND " col " NOT IN (SELECT id FROM temp.esp_dup)"

enum esp_ph { PH_DEVPREP, PH_DEVSETUP, PH_ACCTSETUP, PH_NOTINESP, PH__N };

struct when {
	int64_t utc;          /* µs since 1970 UTC, when has_utc */
	int64_t loc;          /* the wall clock read as UTC, when has_loc */
	bool has_utc, has_loc;
	char local[32];       /* the wall clock as logged ("" if none) */
	int64_t event_id;     /* the event it came from, 0 if none */
};

/* An ESP phase seen at some instant (IME CheckEspPhase lines). */
struct esp_obs {
	struct when t;
	int ph;               /* enum esp_ph */
};

enum app_kind { AK_WIN32, AK_MSI, AK_STORE, AK_OFFICE };

struct app {
	char *id;
	enum app_kind kind;
	int rev;                     /* 0 unknown */
	char *name;
	int name_prio;               /* higher wins; see set_name() */
	const char *name_src;
	const char *intent;          /* required, available, uninstall, not-targeted */
	unsigned target;             /* 1 user, 2 device */
	bool tracked;                /* the ESP waited for it */
	int reg_phase;               /* phase from the tracking key (Device or <SID>), -1 */
	int ime_phase;               /* phase from IME "DEVICE:/USER: got trackingApp", -1 */
	int esp_final;               /* registry Tracking\...\InstallationState 1-4, 0 none */
	int last_track;              /* last ESP state IME logged (polls repeating it are no news) */
	unsigned polls_logged;       /* bit n: a poll with state n is in app_event */
	int poll_state;              /* the latest poll of the tracking state ("install: N") */
	struct when poll_t;
	bool has_poll, grs_noted;    /* grs_noted: GRS logged since the last install start */
	char last_detection[24];     /* the last detection state put in app_event */
	bool has_reg_enf, has_reg_comp, has_reg_exit, has_reg_err, has_msi, has_size, has_do;
	int reg_enf, reg_comp;       /* IME registry EnforcementState, ComplianceState */
	int64_t reg_exit, reg_err;   /* IME registry ExitCode, ErrorCode */
	int msi_status;              /* EnterpriseDesktopAppManagement Status */
	int64_t msi_error;
	bool has_msi_error;
	int64_t size;
	double do_pct;
};

struct script {
	char *id;
	const char *kind;            /* platform, remediation */
	char *name, *context, *user, *result, *error;
	struct when start, end;
	bool has_start, has_end, has_exit;
	int64_t exit_code;
	int runs;
	unsigned src;                /* 1 ime, 2 registry */
};

struct vec {
	void *v;
	size_t n, cap, size;
};

/* Per (log, thread): the app and the script being processed there. */
struct tctx {
	int64_t source;
	char thread[24];
	int app, script;             /* indexes, -1 none */
};

/* An app_event row as written (esp_app_event), kept for esp_apps_write's fold. */
struct esp_aev {
	int app;
	const char *kind;            /* a literal */
	char *detail;                /* owned, or NULL */
	int64_t value, utc, event_id;   /* event_id 0: none */
	bool has_value, has_utc;
	char src;                    /* 'r' registry, 'l' log, 'e' event log */
	char local[32];              /* "" if none */
};

struct esp_ctx {
	sqlite3 *db;
	struct apd_error *err;
	struct apd_esp_lines *lines;
	sqlite3_stmt *ins_ev;        /* INSERT INTO app_event */
	struct vec apps;             /* struct app */
	int *hash;                   /* open addressing over apps, -1 empty */
	size_t hcap;
	struct vec scripts;          /* struct script */
	struct vec obs;              /* struct esp_obs from the IME logs */
	struct vec tctx;             /* struct tctx */
	struct vec aev;              /* struct esp_aev: the app_event rows written, in order */
	bool apv2;                   /* IME said the device is in APv2 mode */
	int64_t apv2_event;
	char ime_version[32];        /* "Agent version is: …", the newest seen */
	int rc;                      /* first fatal error */
};

/* apd_esp.c */
void esp_vec_init(struct vec *v, size_t size);
void *esp_vec_push(struct esp_ctx *c, struct vec *v);   /* zeroed; NULL on OOM (c->rc set) */
void esp_vec_done(struct vec *v);
#define VEC_AT(vec, type, i) (&((type *)(vec).v)[i])
int esp_fail(struct esp_ctx *c, const char *what);     /* records the SQLite error; APD_FATAL */
void esp_when_row(struct when *w, sqlite3_stmt *s, int col_utc, int col_local, int64_t event_id);
void esp_when_from(struct when *w, const int64_t *utc, const char *local, int64_t event_id);
void esp_when_utc(struct when *w, int64_t utc);
int esp_when_cmp(const struct when *a, const struct when *b, bool *ok);
bool esp_when_diff(const struct when *from, const struct when *to, double *secs);
bool esp_when_set(const struct when *w);
void esp_bind_when(sqlite3_stmt *s, int col_utc, int col_local, const struct when *w, bool set);
char *esp_strndup(struct esp_ctx *c, const char *p, size_t n);
bool esp_parse_i64(struct apd_sv v, int64_t *out);
int esp_phase_of(struct apd_sv name);                  /* enum esp_ph or -1 */
extern const char *const esp_phase_names[PH__N];

/* apd_esp_apps.c */
int esp_app_get(struct esp_ctx *c, const char *id, size_t n, enum app_kind kind);   /* index or -1 */
struct app *esp_app(struct esp_ctx *c, int i);
void esp_app_name(struct esp_ctx *c, int i, struct apd_sv name, int prio, const char *src);
int esp_script_get(struct esp_ctx *c, const char *id, size_t n, const char *kind);
struct script *esp_script(struct esp_ctx *c, int i);
int esp_app_event(struct esp_ctx *c, int app, const struct when *t, bool has_t, const char *kind,
    bool has_value, int64_t value, const char *detail, int64_t reg_val_id);
int esp_apps_from_registry(struct esp_ctx *c);
int esp_scripts_from_registry(struct esp_ctx *c);
int esp_apps_write(struct esp_ctx *c, const struct vec *phases);
int esp_scripts_write(struct esp_ctx *c);
void esp_apps_done(struct esp_ctx *c);
int esp_enforcement_code(struct apd_sv name);          /* "Error" -> 5000; -1 unknown */

/* apd_esp_ime.c */
int esp_ime_scan(struct esp_ctx *c);

/* A phase as the model resolved it (apd_esp.c), read by esp_apps_write(). */
struct phase_row {
	int ph;
	const char *flow;            /* NULL, "technician", "user" */
	struct when start, end;
	bool has_start, has_end;
	const char *start_src, *end_src, *outcome, *outcome_src;
	int timeout_min;
	char *detail;                /* JSON, malloc'd */
	int apps;
};

#endif /* APD_ESP_INT_H */
