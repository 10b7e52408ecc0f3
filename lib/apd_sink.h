/*
 * apd_sink.h - what parsers emit, and the interface they emit it into.
 *
 * Parsers never know SQLite.  A parser reads bytes and emits records into
 * a struct apd_sink: events (one per log entry or event record), registry
 * values, device facts, collection gaps and warnings.  The SQLite index
 * writer (apd_store.c) is one sink; tests and `apdiag ... dump` use others.
 *
 * Ownership: every pointer in a record is borrowed for the duration of the
 * emit call only.  A sink that keeps data copies it.
 *
 * Return value of every sink callback: APD_OK to go on; any other code
 * stops the parser, which must return that code unchanged (APD_FATAL when
 * the index cannot be written).
 */
#ifndef APD_SINK_H
#define APD_SINK_H

#include "apd.h"

#include <stdbool.h>

#define APD_TS_NONE INT64_MIN   /* ts_utc when the record has no usable time */

/* How an event's ts_utc was obtained; stored as text in event.tz_source. */
enum apd_tz {
	APD_TZ_NONE = 0,     /* the record has no timestamp */
	APD_TZ_UTC,          /* the source logs UTC (EVTX, footprint) */
	APD_TZ_BIAS,         /* local time plus a bias written on the line (ConfigMgr) */
	APD_TZ_LOCAL         /* device-local wall clock, zone not yet known; ts_utc is
	                        APD_TS_NONE and ts_local holds the time.  The index
	                        converts these once the bundle's zone is known. */
};

/* Windows event levels; CMTrace types map onto them (see apd_parse_cmtrace.c). */
enum apd_level {
	APD_LVL_NONE = 0,
	APD_LVL_CRITICAL = 1,
	APD_LVL_ERROR = 2,
	APD_LVL_WARNING = 3,
	APD_LVL_INFO = 4,
	APD_LVL_VERBOSE = 5
};

struct apd_event {
	int64_t ts_utc;           /* microseconds since 1970-01-01T00:00:00Z, or APD_TS_NONE */
	struct apd_sv ts_local;   /* local wall clock "YYYY-MM-DD HH:MM:SS[.fffffff]", or absent */
	int64_t ts_local_us;      /* ts_local as microseconds, read as if it were UTC (what
	                             apd_parse_iso gives), when the parser has it at hand;
	                             APD_TS_NONE: the store reads ts_local */
	enum apd_tz tz;
	int level;                /* enum apd_level */
	struct apd_sv channel;    /* EVTX channel; absent for logs */
	struct apd_sv provider;   /* EVTX provider */
	int64_t event_id;         /* -1 when the source has none */
	struct apd_sv component;  /* CMTrace component */
	struct apd_sv thread;     /* thread id as written */
	struct apd_sv message;    /* the text; searchable through FTS5 */
	struct apd_sv data;       /* a JSON object of structured fields, or absent */
	uint64_t offset;          /* byte offset of the record in its (decoded) stream */
	uint64_t line;            /* 1-based first line, 0 if not line-oriented */
	/* event logs (EVTX) */
	int64_t record_id;        /* EventRecordID, -1 when the source has none */
	struct apd_sv computer;   /* Computer */
	struct apd_sv user_sid;   /* Security/@UserID, "S-1-5-18" */
	int64_t pid;              /* Execution/@ProcessID, -1 when none (the thread id goes
	                             in .thread, as text) */
	bool recovered;           /* carved from unallocated space of the file */
};

/* Registry value types (winnt.h REG_*). */
enum apd_reg_type {
	APD_REG_NONE = 0, APD_REG_SZ = 1, APD_REG_EXPAND_SZ = 2, APD_REG_BINARY = 3,
	APD_REG_DWORD = 4, APD_REG_DWORD_BIG_ENDIAN = 5, APD_REG_LINK = 6,
	APD_REG_MULTI_SZ = 7, APD_REG_RESOURCE_LIST = 8,
	APD_REG_FULL_RESOURCE_DESCRIPTOR = 9, APD_REG_RESOURCE_REQUIREMENTS_LIST = 10,
	APD_REG_QWORD = 11
};

/* How struct apd_regval carries its value (decided by the parser from the type). */
enum apd_rv_kind {
	APD_RV_INT,    /* DWORD, DWORD_BIG_ENDIAN, QWORD: in .num */
	APD_RV_TEXT,   /* SZ, EXPAND_SZ, LINK as UTF-8; MULTI_SZ as a JSON array of strings */
	APD_RV_BLOB    /* everything else: raw bytes in .blob */
};

struct apd_regval {
	struct apd_sv hive;       /* "HKLM", "HKCU", "HKU", "HKCR", "HKCC" */
	struct apd_sv key;        /* path below the hive, as written (no leading '\') */
	struct apd_sv name;       /* value name; "" for the default value (@) */
	int type;                 /* enum apd_reg_type, or the number written in hex(n) */
	enum apd_rv_kind kind;
	int64_t num;              /* APD_RV_INT (QWORD above INT64_MAX wraps: read as unsigned) */
	struct apd_sv text;       /* APD_RV_TEXT */
	const void *blob;         /* APD_RV_BLOB */
	size_t blob_len;
	uint64_t line;            /* 1-based line of the value in the file */
};

struct apd_sink_vtable {
	int (*event)(void *ud, const struct apd_event *ev);
	int (*regval)(void *ud, const struct apd_regval *rv);
	/* a device fact, e.g. "os.build" = "22631"; later facts of the same name
	   from a more trusted source may replace earlier ones */
	int (*fact)(void *ud, struct apd_sv name, struct apd_sv value);
	/* something the device's collector could not collect: item, HRESULT
	   (INT64_MIN if none), reason */
	int (*gap)(void *ud, struct apd_sv item, int64_t hresult, struct apd_sv reason);
	/* a malformed piece of input that was kept or skipped */
	int (*warn)(void *ud, uint64_t line, uint64_t offset, const char *msg);
};

struct apd_sink {
	const struct apd_sink_vtable *vt;
	void *ud;
};

static inline void
apd_event_init(struct apd_event *ev)
{
	static const struct apd_event zero = { .ts_utc = APD_TS_NONE,
		.ts_local_us = APD_TS_NONE, .event_id = -1, .record_id = -1, .pid = -1 };
	*ev = zero;
}

static inline int
apd_emit_event(struct apd_sink *s, const struct apd_event *ev)
{
	return s->vt->event ? s->vt->event(s->ud, ev) : APD_OK;
}

static inline int
apd_emit_regval(struct apd_sink *s, const struct apd_regval *rv)
{
	return s->vt->regval ? s->vt->regval(s->ud, rv) : APD_OK;
}

static inline int
apd_emit_fact(struct apd_sink *s, struct apd_sv name, struct apd_sv value)
{
	return s->vt->fact ? s->vt->fact(s->ud, name, value) : APD_OK;
}

static inline int
apd_emit_gap(struct apd_sink *s, struct apd_sv item, int64_t hresult, struct apd_sv reason)
{
	return s->vt->gap ? s->vt->gap(s->ud, item, hresult, reason) : APD_OK;
}

int apd_emit_warn(struct apd_sink *s, uint64_t line, uint64_t offset, const char *fmt, ...)
	APD_PRINTF(4, 5);

#endif /* APD_SINK_H */
