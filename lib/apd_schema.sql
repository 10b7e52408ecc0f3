-- apd_schema.sql - the apdiag index, schema version 3 (PRAGMA user_version).
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
  records   INTEGER NOT NULL DEFAULT 0,      -- event + reg_val rows from it
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

-- Registry values are stored in two tables: each key path once in reg_key,
-- and the values in reg_val pointing at it.  A large dump holds ~14 values
-- per key, so this keeps 70+ byte paths out of a million rows and their
-- index.  The view reg_value joins them back and is what queries use.
CREATE TABLE reg_key (
  id        INTEGER PRIMARY KEY,
  hive      TEXT NOT NULL COLLATE NOCASE,    -- HKLM, HKCU, HKU, HKCR, HKCC
  key       TEXT NOT NULL COLLATE NOCASE     -- path below the hive, as first written
);
CREATE UNIQUE INDEX reg_key_path ON reg_key(key, hive);

CREATE TABLE reg_val (
  id        INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL REFERENCES source(id),
  key_id    INTEGER NOT NULL REFERENCES reg_key(id),
  name      TEXT COLLATE NOCASE,             -- '' default value; NULL marks the key itself
  type      TEXT,                            -- REG_SZ, REG_DWORD, ... or REG_<n>
  value,                                     -- INTEGER, TEXT (MULTI_SZ: JSON array) or BLOB
  line      INTEGER
);
CREATE INDEX reg_val_key ON reg_val(key_id, name);

CREATE VIEW reg_value AS
SELECT v.id, v.source_id, k.hive, k.key, v.name, v.type, v.value, v.line
FROM reg_val v JOIN reg_key k ON k.id = v.key_id;

-- Kept up to date while loading: events arrive in (source_id, seq) order, so
-- event_source grows at its right edge, and the partial indexes only see the
-- rows that have a UTC time or an event id (none of a log's local-time
-- lines).  The registry indexes grow mostly at their right edge too: keys
-- arrive grouped, and new keys get new ids.
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

-- What the rules found (lib/apd_rules_eval.c; docs/rules.md).  rank 1 is
-- the verdict: severity, then confidence band, then the earliest first time.
CREATE TABLE finding (
  id          INTEGER PRIMARY KEY,
  rank        INTEGER NOT NULL,                -- 1, 2, ... in report order
  rule_id     TEXT NOT NULL,
  rule_version INTEGER,
  severity    TEXT NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
  category    TEXT,
  confidence  INTEGER,                         -- 0-100
  title       TEXT NOT NULL,                   -- placeholders filled
  explanation TEXT,
  remediation TEXT,                            -- JSON array of steps
  refs        TEXT,                            -- JSON array of {"title", "url"}
  group_value TEXT,                            -- the rule's group-by value, NULL if none
  first_ts    INTEGER,                         -- µs UTC (or local read as UTC); NULL if no time
  last_ts     INTEGER,
  count       INTEGER NOT NULL                 -- trigger records in this finding
);

-- The records behind a finding: one of event_id (event.id, not the Windows
-- event ID), reg_value_id, fact (a fact name) or gap_id per row.
CREATE TABLE finding_evidence (
  finding_id   INTEGER NOT NULL REFERENCES finding(id),
  role         TEXT NOT NULL CHECK (role IN ('match', 'context')),
  event_id     INTEGER REFERENCES event(id),
  reg_value_id INTEGER REFERENCES reg_val(id),    -- reg_value.id
  fact         TEXT,
  gap_id       INTEGER REFERENCES gap(id),
  ts_utc       INTEGER
);
CREATE INDEX finding_evidence_finding ON finding_evidence(finding_id);

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

-- ---- The deployment model (lib/apd_esp.c, docs/esp.md) ----------------------
-- Derived once after the load from the registry, the logs and the events, so
-- that rules and reports share it.  Times: *_utc INTEGER µs since 1970 UTC,
-- *_local TEXT device wall clock; NULL when unknown.  Each start or end
-- names the evidence it came from (*_source).

CREATE TABLE deployment (
  id                   INTEGER PRIMARY KEY CHECK (id = 1),
  scenario             TEXT NOT NULL,        -- user-driven-entra, user-driven-hybrid, self-deploying, pre-provisioned, device-preparation, esp-only, none, unknown
  flow                 TEXT,                 -- pre-provisioned: technician, user, technician+user
  join_method          TEXT,                 -- entra, hybrid
  evidence             TEXT NOT NULL,        -- JSON array: what the scenario rests on
  tenant_id            TEXT,
  tenant_domain        TEXT,
  profile_name         TEXT,
  profile_source       TEXT,                 -- where the profile fields came from
  oobe_config          INTEGER,              -- CloudAssignedOobeConfig
  oobe_config_bits     TEXT,                 -- JSON array of the bits' names
  forced_enrollment    INTEGER,
  device_name_template TEXT,
  ztd_correlation_id   TEXT,
  policy_download_utc  INTEGER,
  profile_error        INTEGER,              -- AutopilotDDSZTDFile.json ErrorCode
  profile_error_reason TEXT,
  esp_device_page      INTEGER,              -- 1 shown, 0 skipped
  esp_user_page        INTEGER,
  esp_timeout_min      INTEGER,
  esp_block_flags      INTEGER,              -- BlockInStatusPage
  esp_allow_reset      INTEGER,
  esp_allow_retry      INTEGER,
  esp_allow_continue   INTEGER,
  esp_outcome          TEXT NOT NULL,        -- succeeded, failed, timed-out, in-progress, not-shown, unknown
  esp_start_utc        INTEGER,
  esp_start_local      TEXT,
  esp_end_utc          INTEGER,
  esp_end_local        TEXT,
  esp_duration_s       REAL,
  blocking_kind        TEXT,                 -- app, policy-provider, subcategory, policy
  blocking_id          TEXT,
  blocking_name        TEXT,
  blocking_phase       TEXT,
  blocking_reason      TEXT,
  blocking_code        INTEGER,              -- HRESULT, signed 32-bit
  blocking_code_hex    TEXT
);

CREATE TABLE esp_phase (
  id             INTEGER PRIMARY KEY,        -- in order
  phase          TEXT NOT NULL,              -- DevicePreparation, DeviceSetup, AccountSetup
  flow           TEXT,                       -- technician or user (pre-provisioning), else NULL
  start_utc      INTEGER,
  start_local    TEXT,
  start_source   TEXT,
  end_utc        INTEGER,
  end_local      TEXT,
  end_source     TEXT,
  duration_s     REAL,                       -- only when start and end share a clock
  outcome        TEXT NOT NULL,              -- succeeded, failed, timed-out, in-progress, not-started, skipped, unknown
  outcome_source TEXT,
  timeout_min    INTEGER,
  apps           INTEGER NOT NULL DEFAULT 0, -- tracked apps in this phase
  detail         TEXT                        -- JSON: subcategory states
);

CREATE TABLE app (
  id                   TEXT PRIMARY KEY COLLATE NOCASE, -- Win32 app GUID, MSI ProductCode, package family name, Office CSP id
  kind                 TEXT NOT NULL,        -- win32, msi, store, office
  revision             INTEGER,
  name                 TEXT,
  name_source          TEXT,
  intent               TEXT,                 -- required, available, uninstall, not-targeted
  target               TEXT,                 -- device, user, both
  esp_tracked          INTEGER NOT NULL,     -- 1 if the ESP waited for it
  phase                TEXT,                 -- DeviceSetup or AccountSetup
  esp_state            TEXT,                 -- last ESP tracking state: NotInstalled, InProgress, Completed, Error
  download_start_utc   INTEGER,
  download_start_local TEXT,
  download_end_utc     INTEGER,
  download_end_local   TEXT,
  download_s           REAL,
  size_bytes           INTEGER,
  do_peer_pct          REAL,                 -- Delivery Optimization: share from peers, percent
  install_start_utc    INTEGER,
  install_start_local  TEXT,
  install_end_utc      INTEGER,
  install_end_local    TEXT,
  install_s            REAL,
  attempts             INTEGER NOT NULL DEFAULT 0,
  exit_code            INTEGER,
  hresult              INTEGER,
  hresult_hex          TEXT,
  enforcement_state    INTEGER,              -- 1000 success, 2000 in progress, 5000 error, ... (DOMAIN.md 5.4)
  compliance_state     INTEGER,              -- 1 installed, 2 not installed, 4 error, 5 unknown
  detection            TEXT,                 -- Detected, NotDetected, ... (last logged)
  held_esp_s           REAL,                 -- time the ESP waited for it
  outcome              TEXT NOT NULL,        -- installed, failed, timed-out, in-progress, not-started, not-applicable, unknown
  failure              TEXT,
  failure_code         INTEGER,
  failure_code_hex     TEXT
);

CREATE TABLE app_event (
  id          INTEGER PRIMARY KEY,
  app_id      TEXT NOT NULL COLLATE NOCASE,
  ts_utc      INTEGER,
  ts_local    TEXT,
  kind        TEXT NOT NULL,                 -- docs/esp.md: esp-state, download-start, install-end, ...
  value       INTEGER,
  detail      TEXT,
  event_id    INTEGER REFERENCES event(id),
  reg_val_id  INTEGER REFERENCES reg_val(id)
);
-- index app_event_app ON app_event(app_id) is built by the model once its rows are in

CREATE TABLE script (
  id          TEXT PRIMARY KEY COLLATE NOCASE,
  kind        TEXT NOT NULL,                 -- platform, remediation
  name        TEXT,
  context     TEXT,                          -- system, user
  user_id     TEXT,
  phase       TEXT,
  start_utc   INTEGER,
  start_local TEXT,
  end_utc     INTEGER,
  end_local   TEXT,
  duration_s  REAL,
  runs        INTEGER NOT NULL DEFAULT 0,
  exit_code   INTEGER,
  result      TEXT,                          -- Success, Failed, ...
  error       TEXT,
  source      TEXT                           -- ime, registry, ime+registry
);
