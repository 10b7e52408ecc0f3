#!/usr/bin/env python3
"""sqlite_floor.py - how fast SQLite alone can store an index's events.

    sqlite_floor.py INDEX.db

Takes the events of an index that `apdiag analyze` wrote and stores them
again the way analyze does, with no parsing at all: in one process the
rows go into a fresh `event` table with its indexes, and in another the
messages go into a fresh FTS5 table, the two at the same time, as analyze's
loading and indexing threads run.  The table, index and FTS5 definitions
and FTS5's settings (automerge) are read from INDEX.db itself, and the
page size, journal, cache and locking settings are analyze's
(lib/apd_store.c, lib/apd_fts.c).  Each process first copies its rows into
memory, then both wait on one barrier and are timed from there: the time
is what SQLite needs for these rows on this machine, a floor under any
parser's `analyze` of the same file.  Rules, the model and copying the
full-text index into the main file (analyze's work after loading) are
not in it.

Prints one line per process and one for both:
    floor event table   N rows  S s  R rows/s
    floor FTS5          N rows  S s  R rows/s
    floor both          N rows  S s  R rows/s   (wall, from the barrier)
"""
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time

PRAGMAS = ("PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
           "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY")


def schema(src, names):
    try:
        con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        rows = dict(con.execute("SELECT name, sql FROM sqlite_schema WHERE name IN (%s)" %
                                ",".join("?" * len(names)), names).fetchall())
    except sqlite3.Error as e:
        sys.exit(f"sqlite_floor.py: {src}: {e}")
    settings = []
    try:
        settings = con.execute("SELECT k, v FROM event_fts_config WHERE k = 'automerge'").fetchall()
    except sqlite3.Error:
        pass
    con.close()
    missing = [n for n in names if n not in rows]
    if missing:
        sys.exit(f"sqlite_floor.py: {src}: no {', '.join(missing)}")
    return [rows[n] for n in names], settings


def load(job, ddl, settings, src, out, barrier, result):
    try:
        store(job, ddl, settings, src, out, barrier, result)
    except BaseException:
        barrier.abort()   # the parent stops waiting at once
        raise


def store(job, ddl, settings, src, out, barrier, result):
    con = sqlite3.connect(out, isolation_level=None)
    con.executescript(PRAGMAS)
    con.execute("ATTACH ? AS s", (src,))
    if job == "event":
        for d in ddl:
            con.execute(d)
        con.execute("CREATE TEMP TABLE rows AS SELECT * FROM s.event ORDER BY id")
        insert = "INSERT INTO main.event SELECT * FROM temp.rows"
    else:
        con.execute("CREATE TABLE event(id INTEGER PRIMARY KEY, message TEXT)")
        con.execute(ddl[0])
        for k, v in settings:
            con.execute("INSERT INTO event_fts(event_fts, rank) VALUES (?, ?)", (k, v))
        con.execute("CREATE TEMP TABLE rows AS SELECT id, message FROM s.event ORDER BY id")
        insert = "INSERT INTO event_fts(rowid, message) SELECT id, message FROM temp.rows"
    n = con.execute("SELECT count(*) FROM temp.rows").fetchone()[0]
    con.execute("DETACH s")
    barrier.wait()
    t0 = time.monotonic()
    con.execute("BEGIN")
    con.execute(insert)
    con.execute("COMMIT")
    con.close()
    result.put((job, n, time.monotonic() - t0))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sqlite_floor.py INDEX.db")
    src = sys.argv[1]
    # read once here: a loader gets its definitions and never fails on them
    table, settings = schema(src, ["event", "event_source", "event_ts", "event_eid", "event_fts"])
    jobs = {"event": (table[:4], []), "fts": (table[4:], settings)}
    with tempfile.TemporaryDirectory(prefix="apd-floor.") as tmp:
        barrier = mp.Barrier(3)
        result = mp.Queue()
        procs = [mp.Process(target=load, args=(j, ddl, conf, src, os.path.join(tmp, j + ".db"),
                                               barrier, result)) for j, (ddl, conf) in jobs.items()]
        for p in procs:
            p.start()
        try:
            barrier.wait(timeout=900)
            t0 = time.monotonic()
            got = [result.get(timeout=900) for _ in procs]
        except Exception:
            for p in procs:
                p.kill()
            sys.exit("sqlite_floor.py: a loader failed or took more than 15 minutes")
        wall = time.monotonic() - t0
        for p in procs:
            p.join()
            if p.exitcode != 0:
                sys.exit(f"sqlite_floor.py: a loader failed ({p.exitcode})")
    label = {"event": "event table", "fts": "FTS5"}
    for job, n, s in sorted(got):
        print(f"floor {label[job]:<12} {n:>9} rows {s:7.2f} s {n / s:10.0f} rows/s")
    n = got[0][1]
    print(f"floor both         {n:>9} rows {wall:7.2f} s {n / wall:10.0f} rows/s")


if __name__ == "__main__":
    main()
