-- apd_schema.sql - the apdiag index, schema version 2 (PRAGMA user_version).
--
-- This schema is a public interface: rules, reports and support engineers
-- query it with SQL.  docs/schema.md documents every table and column;
-- tests/check_store.c pins it.  Change it only together with user_version.
--
-- Times: ts_utc is INTEGER microseconds since 1970-01-01T00:00:00Z.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT
);

CREATE TABLE source (
  id        INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES source(id),   -- the container it came out of
  path      TEXT NOT NULL,                   -- inside the input; nested archives joined by '!'
  kind      TEXT NOT NULL,                   -- what the file is: cmtrace, reg-export, zip, cab, unknown, ...
  parser    TEXT,                            -- parser that read it, NULL if none
  origin    TEXT,                            -- what the device collected it from (Intune directive)
  size      INTEGER,                         -- bytes, uncompressed
  sha256    TEXT,                            -- hex, of the uncompressed bytes
  status    TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed', 'skipped', 'gap')),
  error     TEXT,                            -- why it is not 'ok'
  records   INTEGER NOT NULL DEFAULT 0,      -- event + reg_value rows from it
  warnings  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE event (
  id        INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES source(id),
  seq       INTEGER NOT NULL,                -- 1, 2, ... in source order
  ts_utc    INTEGER,                         -- µs since 1970 UTC; NULL when the zone is unknown
  ts_local  TEXT,                            -- device wall clock as logged, 'YYYY-MM-DD HH:MM:SS.fffffff'
  tz_source TEXT,                            -- how ts_utc was found: utc, bias, registry, local, none
  level     INTEGER,                         -- 1 critical, 2 error, 3 warning, 4 info, 5 verbose, 0 none
  channel   TEXT,
  provider  TEXT,
  event_id  INTEGER,
  component TEXT,
  thread    TEXT,
  message   TEXT,
  data      TEXT,                            -- JSON object of structured fields
  line      INTEGER,                         -- first line in the source, if line-oriented
  offset    INTEGER,                         -- byte offset in the source
  record_id INTEGER,                         -- EVTX EventRecordID
  computer  TEXT,                            -- EVTX Computer
  user_sid  TEXT,                            -- EVTX Security/@UserID
  pid       INTEGER,                         -- EVTX Execution/@ProcessID (the thread id is in thread)
  recovered INTEGER                          -- 1: an EVTX record carved from unallocated space
);

CREATE VIRTUAL TABLE event_fts USING fts5(
  message,
  content = 'event',
  content_rowid = 'id',
  columnsize = 0
);

CREATE TABLE reg_value (
  id        INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES source(id),
  hive      TEXT NOT NULL COLLATE NOCASE,    -- HKLM, HKCU, HKU, HKCR, HKCC
  key       TEXT NOT NULL COLLATE NOCASE,    -- path below the hive
  name      TEXT COLLATE NOCASE,             -- '' default value; NULL marks the key itself
  type      TEXT,                            -- REG_SZ, REG_DWORD, ... or REG_<n>
  value,                                     -- INTEGER, TEXT (MULTI_SZ: JSON array) or BLOB
  line      INTEGER
);

-- Kept up to date while loading: events arrive in (source_id, seq) order, so
-- event_source grows at its right edge, and the partial indexes only see the
-- rows that have a UTC time or an event id (none of a log's local-time
-- lines).  reg_value(key, name) is built at the end: maintaining it row by
-- row costs more than one sort.
CREATE INDEX event_source ON event(source_id, seq);
CREATE INDEX event_ts ON event(ts_utc) WHERE ts_utc IS NOT NULL;
CREATE INDEX event_eid ON event(event_id) WHERE event_id IS NOT NULL;

CREATE TABLE fact (
  name      TEXT NOT NULL,
  value     TEXT,
  source_id INTEGER REFERENCES source(id)    -- NULL for facts derived from several sources
);

CREATE TABLE gap (
  id        INTEGER PRIMARY KEY,
  source_id INTEGER REFERENCES source(id),
  item      TEXT NOT NULL,                   -- what could not be collected
  hresult   INTEGER,                         -- as a signed 32-bit value, NULL if none
  hresult_hex TEXT,                          -- '0x80070002'
  reason    TEXT
);

CREATE TABLE warning (
  id        INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES source(id),
  line      INTEGER,
  offset    INTEGER,
  message   TEXT NOT NULL
);

-- One timeline across all sources.  Events whose zone is unknown sort by
-- their local time read as if it were UTC; tz_source says which is which.
CREATE VIEW timeline AS
SELECT e.id, e.source_id, s.path AS source_path, s.kind AS source_kind, e.seq,
       COALESCE(e.ts_utc,
                CAST(ROUND((julianday(e.ts_local) - 2440587.5) * 86400000000.0) AS INTEGER))
         AS ts_sort,
       CASE WHEN e.ts_utc IS NOT NULL
            THEN strftime('%Y-%m-%dT%H:%M:%f', e.ts_utc / 1000000.0, 'unixepoch') || 'Z'
       END AS time_utc,
       e.ts_local, e.tz_source, e.level, e.channel, e.provider, e.event_id,
       e.component, e.thread, e.message, e.data,
       e.record_id, e.computer, e.user_sid, e.pid, e.recovered
FROM event e JOIN source s ON s.id = e.source_id;
