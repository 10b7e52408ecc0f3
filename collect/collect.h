/*
 * collect.h - the collector's internal interfaces (apdiag collect, verify).
 *
 * The collector is four layers, each behind a small interface so that the
 * live Windows build (issue 8) slots in beside the offline one:
 *
 *   profile   what to collect, from a data file (collect/profile.xml,
 *             embedded at build time; docs/collect.md)        profile.c
 *   source    where it comes from: a platform backend behind struct
 *             apd_csrc (offline: a mounted Windows volume and its hives
 *             through hivex, src_offline.c; live: the device itself,
 *             src_win.c, in the Windows build)
 *   bundle    the platform-independent core: staging copies with
 *             SHA-256, the .reg writer, device facts, gaps, redaction,
 *             the manifest, --max-size                     collect.c, regwrite.c,
 *                                                          manifest.c, redact.c
 *   archive   the output: struct apd_awriter (cab through libgcab,
 *             tar/tar.gz/tar.zst/zip through libarchive; on Windows,
 *             cabinet.dll FCI behind the same calls)       archive.c
 *
 * Errors follow lib/apd_error.h.  Nothing here prints: the front end
 * (collect/cli.c) does.
 */
#ifndef APD_COLLECT_H
#define APD_COLLECT_H

#include "apd.h"
#include "apd_buf.h"
#include "apd_error.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- profile (profile.c) ---- */

enum apd_pkind {
	APD_P_EVENTS,     /* an event channel */
	APD_P_FILES,      /* a file glob below the volume root */
	APD_P_REGISTRY,   /* a registry key, exported to a .reg file */
	APD_P_COMMAND     /* a read-only command (live only) */
};

struct apd_pentry {
	enum apd_pkind kind;
	char *id;          /* unique, [a-z0-9-]; named in the manifest */
	char *spec;        /* channel name, path glob, "HKLM\\path" / "HKCU\\path", command line */
	bool recurse;      /* files: descend into folders; registry: subkeys (default yes) */
	bool optional;     /* missing on a healthy device is normal (the gap says "not present") */
	unsigned timeout;  /* command: seconds */
	char *output;      /* command: bundle file name of its output */
};

struct apd_profile {
	char *name;
	char *version;
	char sha256[65];             /* of the profile text */
	struct apd_pentry *e;
	size_t n;
	char **hwhash;               /* file-name globs of hardware-hash files */
	size_t nhwhash;
};

/* Parse a profile from memory (name is for messages).  APD_OK, APD_FAILED, APD_FATAL. */
int apd_profile_load(struct apd_profile *p, const char *text, size_t n, const char *name,
    struct apd_error *err);
void apd_profile_free(struct apd_profile *p);
/* The built-in profile (collect/profile.xml). */
extern const char apd_profile_xml[];
extern const char apd_endpoints_xml[];

/* Case-insensitive glob on one path component: '*' and '?' (ASCII case folding). */
bool apd_glob_match(const char *pat, const char *name);

/* ---- the platform source (src_offline.c, later src_win.c) ---- */

/* A file the source found. */
struct apd_cfound {
	const char *orig;    /* as Windows names it: "C:\\ProgramData\\...\\x.log" */
	const char *rel;     /* below the volume root, '/'-separated, original case */
	const char *handle;  /* what open() takes (offline: the host path) */
	int os_error;        /* with reason: why this path could not be taken */
	const char *reason;  /* NULL: a file to collect; else a problem to record */
	bool fallback;       /* with reason: the preferred way failed, another follows
	                        (live: EvtExportLog failed, the .evtx is copied) */
};

struct apd_cstat {
	uint64_t size;
	int64_t mtime_ns;    /* nanoseconds since 1970, UTC */
	uint64_t change;     /* anything that changes when the file does (ctime, USN) */
};

typedef int (*apd_found_fn)(void *ud, const struct apd_cfound *f);

/* Registry walk callbacks: key paths are full ("HKEY_LOCAL_MACHINE\\SOFTWARE\\..."). */
struct apd_reg_visit {
	int (*key)(void *ud, const char *path);
	int (*value)(void *ud, const char *name, uint32_t type, const void *data, size_t n);
	/* a subkey or value that could not be read; the walk goes on */
	int (*problem)(void *ud, const char *what, int os_error, const char *reason);
	/* something that makes the export less than current, though all of it was read
	   (a dirty hive whose transaction logs were not replayed) */
	int (*note)(void *ud, const char *what, const char *reason);
	void *ud;
};

struct apd_csrc;

struct apd_csrc_vtable {
	const char *mode;    /* "offline" or "live" */
	/* files matching a '\\'-separated glob below the system volume */
	int (*find)(struct apd_csrc *s, const char *glob, bool recurse, apd_found_fn cb, void *ud,
	    struct apd_error *err);
	/* an event channel: cb gets a file holding it (offline: the .evtx itself) */
	int (*events)(struct apd_csrc *s, const char *channel, apd_found_fn cb, void *ud,
	    struct apd_error *err);
	int (*open)(struct apd_csrc *s, const char *handle, void **fh, struct apd_cstat *st,
	    struct apd_error *err);
	/* bytes read, 0 at the end, -1 with err set */
	long (*read)(struct apd_csrc *s, void *fh, void *buf, size_t n, struct apd_error *err);
	int (*stat_fh)(struct apd_csrc *s, void *fh, struct apd_cstat *st, struct apd_error *err);
	void (*close)(struct apd_csrc *s, void *fh);
	/* user hives: fills roots with "HKEY_USERS\\<SID>" names (caller frees) */
	int (*users)(struct apd_csrc *s, char ***roots, size_t *n, struct apd_error *err);
	/* walk a key ("HKEY_LOCAL_MACHINE\\SOFTWARE\\...", "HKEY_USERS\\<SID>\\..."):
	   APD_OK, APD_FAILED (key missing: err->os_errno ENOENT; hive unreadable) */
	int (*reg_walk)(struct apd_csrc *s, const char *key, bool recurse,
	    const struct apd_reg_visit *v, struct apd_error *err);
	/* one value into b (raw bytes): APD_OK, APD_FAILED when absent */
	int (*reg_get)(struct apd_csrc *s, const char *key, const char *name, uint32_t *type,
	    struct apd_buf *b, struct apd_error *err);
	/* run a command, its standard output and error into the file out_path: APD_OK
	   with *exit_code, or APD_FAILED (offline: "not applicable offline"; live: not on
	   the device, cannot start, timed out; out_path keeps what it wrote).  A command
	   line with {tmp} writes a file into the source's temporary folder: *artifact is
	   then its path (malloc'd), when it exists afterwards */
	int (*command)(struct apd_csrc *s, const struct apd_pentry *e, const char *out_path,
	    int *exit_code, char **artifact, struct apd_error *err);
	void (*free)(struct apd_csrc *s);
};

struct apd_csrc {
	const struct apd_csrc_vtable *vt;
	void *priv;
};

/* The offline backend: root is a mounted Windows volume (or a tree shaped like one). */
int apd_csrc_offline(struct apd_csrc *s, const char *root, struct apd_error *err);
#ifdef _WIN32
/* The live backend (src_win.c): the device this runs on. */
int apd_csrc_live(struct apd_csrc *s, struct apd_error *err);
/* Does this process run elevated (a full administrator token)? */
bool apd_live_elevated(void);
#endif

/*
 * Resolve a '\\'-separated relative path under root case-insensitively, one
 * component at a time (exact name first).  Returns a malloc'd host path, or
 * NULL with errno set (ENOENT when some component is missing).
 */
char *apd_ci_resolve(const char *root, const char *winpath);

/* ---- .reg writer (regwrite.c) ---- */

struct apd_redact;

/*
 * Writes reg.exe EXPORT text: UTF-16LE with a BOM, CRLF, the
 * "Windows Registry Editor Version 5.00" header, key blocks, every value type
 * (strings that read back exactly as "text"; dword:; hex: / hex(n): wrapped
 * as reg.exe wraps them), hashing the bytes as they are written.
 */
struct apd_regw {
	FILE *f;
	struct apd_buf line;     /* UTF-8 text of the current line */
	struct apd_buf u16;      /* the same in UTF-16LE */
	struct apd_redact *rd;   /* NULL: no redaction */
	void *sha;               /* struct apd_sha256 * */
	uint64_t bytes;
	uint64_t keys, values;
	int err_no;              /* first write error */
};

int apd_regw_open(struct apd_regw *w, FILE *f, struct apd_redact *rd);
int apd_regw_key(struct apd_regw *w, const char *path);
int apd_regw_value(struct apd_regw *w, const char *name, uint32_t type, const void *data,
    size_t n);
/* Flush; *sha_hex gets the SHA-256 of everything written.  APD_OK or APD_FAILED (errno). */
int apd_regw_close(struct apd_regw *w, char sha_hex[65]);
/* UTF-8 -> UTF-16LE (invalid bytes become U+FFFD). */
int apd_utf8_to_utf16le(struct apd_buf *out, const char *p, size_t n);

/* ---- redaction (redact.c) ---- */

struct apd_redact {
	uint64_t replaced;   /* strings replaced so far */
};
/*
 * Replace UPNs and e-mail addresses, user names in profile paths
 * (C:\Users\<name>, /Users/<name>) and "User Name = x"-style fields in
 * p[0..n) into out.  Tokens are the first 10 hex digits of SHA-256 of the
 * lower-cased text, so the same input always gives the same token.
 */
int apd_redact_text(struct apd_redact *r, const char *p, size_t n, struct apd_buf *out);

/* ---- archive writers (archive.c) ---- */

enum apd_afmt { APD_AF_CAB, APD_AF_TAR, APD_AF_TGZ, APD_AF_TZST, APD_AF_ZIP };

struct apd_awriter;
/* Open a writer on the temporary output file: fd, and its path (the cab writer seeks). */
int apd_awriter_open(struct apd_awriter **w, enum apd_afmt fmt, int fd, const char *path,
    struct apd_error *err);
/* Add a file: name uses '/'; the cab writer turns it into '\\'. */
int apd_awriter_add(struct apd_awriter *w, const char *name, const char *path, uint64_t size,
    int64_t mtime_ns, struct apd_error *err);
int apd_awriter_finish(struct apd_awriter *w, struct apd_error *err);
void apd_awriter_free(struct apd_awriter *w);
const char *apd_afmt_name(enum apd_afmt f);
const char *apd_afmt_ext(enum apd_afmt f);
bool apd_afmt_parse(const char *s, enum apd_afmt *f);
/* Can one entry of this size go into an archive of this format? */
bool apd_afmt_fits(enum apd_afmt f, uint64_t size);
/* Upper bound of the bytes one entry adds to an archive of this format. */
uint64_t apd_afmt_cost(enum apd_afmt f, uint64_t size, size_t name_len);

/* ---- the collection (collect.c) ---- */

struct apd_collect_opts {
	const char *root;          /* offline: the volume; NULL: live (issue 8, src_win.c) */
	const char *out;           /* final archive path */
	enum apd_afmt fmt;
	uint64_t max_size;         /* 0: no cap */
	bool redact;
	bool include_hwhash;
	bool network;
	const char *profile_path;  /* NULL: built in */
	const char *endpoints_path;/* NULL: built in */
	const char *staging_dir;   /* NULL: beside the output */
	unsigned net_timeout_ms;
	/* progress: called per item; may be NULL */
	void (*progress)(void *ud, size_t done, size_t total, const char *what, uint64_t bytes);
	void *progress_ud;
	/* set to non-zero (by a signal handler) to stop: the run removes what it
	   wrote and ends with APD_FATAL, "interrupted"; may be NULL */
	volatile sig_atomic_t *cancel;
	/* tests: called after each block copied from a source file */
	void (*copy_hook)(void *ud, const char *orig, uint64_t copied);
	void *copy_hook_ud;
};

struct apd_collect_result {
	size_t items;
	size_t gaps;
	size_t failed;             /* gaps that are read errors, not absences */
	size_t left_out;           /* dropped by --max-size */
	uint64_t archive_bytes;
	uint64_t input_bytes;      /* bytes of the collected items */
	double seconds;
};

/*
 * Collect into opts->out.  APD_OK (archive written; gaps are in the
 * manifest), APD_WARN (written, but some items failed to read or were
 * left out), APD_FAILED (the root is unusable; nothing written), APD_FATAL
 * (the output could not be written; nothing left under the final name).
 */
int apd_collect_run(const struct apd_collect_opts *o, struct apd_collect_result *res,
    struct apd_error *err);

/* ---- verify (verify.c) ---- */

struct apd_verify_result {
	size_t checked;      /* entries whose hash and size matched */
	size_t mismatched;   /* hash or size differs */
	size_t missing;      /* in the manifest, not in the archive */
	size_t extra;        /* in the archive, not in the manifest */
};
typedef void (*apd_verify_report_fn)(void *ud, const char *what, const char *path,
    const char *detail);
/* APD_OK (all matched), APD_WARN (mismatches), APD_FAILED (unreadable / no manifest). */
int apd_verify_archive(const char *path, apd_verify_report_fn report, void *ud,
    struct apd_verify_result *res, struct apd_error *err);

/* ---- network check (netcheck.c) ---- */

struct apd_netcheck_opts {
	unsigned timeout_ms;
	const char *ca_file;   /* extra trust anchor for TLS (tests); NULL: system store */
};
/* Probe every endpoint of the list (XML text) and write the result JSON to f. */
int apd_netcheck_run(const char *endpoints_xml, size_t n, const struct apd_netcheck_opts *o,
    FILE *f, unsigned *probes, unsigned *failures, struct apd_error *err);

#endif /* APD_COLLECT_H */
