#!/usr/bin/env python3
"""browser_test.py MODE APDIAG SRCDIR OUTDIR [SAMPLE] - the HTML report in headless Chromium.

MODE
  sample SAMPLE  analyze samples/SAMPLE, write its report from the index, open it, and
                 compare the DOM with the index: the verdict text, the number of Gantt
                 bars, the app table's rows, the timeline's rows
  hostile        the report of tests/data/report/hostile-log-line (made by `apdiag
                 report INPUT`): no script of the log runs, no <img> appears, the text
                 shows verbatim; the Markdown escapes it
  perf [N]       a 100,000-event (or N) CMTrace log generated into OUTDIR: the page's first
                 screen (the timeline drawn) must come within 2 s of navigation start;
                 the figure is printed
  empty          a lone text file: empty model tables still make a valid page

Every mode asserts that the page threw no exception, logged no console error and made
no network request besides the file:// document, and saves a screenshot
OUTDIR/report-<name>.png.

Chromium (Debian's `chromium`) is driven through the DevTools protocol over
--remote-debugging-pipe: fd 3 carries commands to the browser and fd 4 its answers,
each message JSON ending with a NUL byte; no websocket library is needed.

Exit status: 0 pass, 1 fail, 77 skip (chromium not installed; under CI=true, where
tools/install-deps.sh installs it, a missing chromium fails).
"""

import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-sync", "--disable-component-update",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars"]


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    print("ok   " + msg)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, exe, tmp):
        to_r, to_w = os.pipe()       # we write, Chromium reads on fd 3
        from_r, from_w = os.pipe()   # Chromium writes on fd 4, we read
        # keep the child's ends clear of 3 and 4 until dup2 puts them there
        to_r2 = os.dup2(to_r, 100 + to_r) if to_r < 10 else to_r
        from_w2 = os.dup2(from_w, 100 + from_w) if from_w < 10 else from_w
        if to_r2 != to_r:
            os.close(to_r)
        if from_w2 != from_w:
            os.close(from_w)

        def child():
            os.dup2(to_r2, 3)
            os.dup2(from_w2, 4)

        self.stderr = open(os.path.join(tmp, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [exe] + FLAGS + ["--user-data-dir=" + os.path.join(tmp, "profile"),
                             "--window-size=1400,1000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr,
            pass_fds=(3, 4), preexec_fn=child)
        os.close(to_r2)
        os.close(from_w2)
        self.w = to_w
        self.r = from_r
        self.next_id = 0
        self.replies = {}
        self.events = []
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.r, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cv:
                    self.replies[None] = "closed"
                    self.cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                m = json.loads(msg)
                with self.cv:
                    if "id" in m:
                        self.replies[m["id"]] = m
                    else:
                        self.events.append(m)
                    self.cv.notify_all()

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        os.write(self.w, data)
        end = time.monotonic() + timeout
        with self.cv:
            while mid not in self.replies:
                if None in self.replies:
                    raise Fail("chromium closed the DevTools pipe (see chromium.log)")
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail("no answer to %s within %d s" % (method, timeout))
                self.cv.wait(left)
            m = self.replies.pop(mid)
        if "error" in m:
            raise Fail("%s: %s" % (method, m["error"]))
        return m.get("result", {})

    def wait_event(self, method, timeout=30, since=0):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for ev in self.events[since:]:
                    if ev.get("method") == method:
                        return ev
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail("no %s within %d s" % (method, timeout))
                self.cv.wait(left)

    def attach(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        if pages:
            tid = pages[0]["targetId"]
        else:
            tid = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True},
                                 session=False)["sessionId"]
        for dom in ("Runtime", "Log", "Network", "Page"):
            self.send(dom + ".enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout=60):
        since = len(self.events)
        t0 = time.monotonic()
        res = self.send("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise Fail("navigate: " + res["errorText"])
        self.wait_event("Page.loadEventFired", timeout, since)
        return since, time.monotonic() - t0

    def eval(self, expr, timeout=30):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise Fail("evaluate %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def screenshot(self, path):
        m = self.send("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        h = min(int(size["height"]), 8000)
        r = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1400, "height": h, "scale": 1}}, timeout=60)
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        print("screenshot: " + path)

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except Fail:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        self.stderr.close()


def clean_page(b, since, doc_url):
    """No exception, no console or log error, no request but the document."""
    evs = b.events[since:]
    exc = [e for e in evs if e.get("method") == "Runtime.exceptionThrown"]
    check(not exc, "no JavaScript exception" + ("" if not exc else ": %s" % exc[:1]))
    cons = [e["params"] for e in evs if e.get("method") == "Runtime.consoleAPICalled"
            and e["params"].get("type") in ("error", "assert")]
    check(not cons, "no console error" + ("" if not cons else ": %s" % cons[:1]))
    logs = [e["params"]["entry"] for e in evs if e.get("method") == "Log.entryAdded"
            and e["params"]["entry"].get("level") == "error"]
    check(not logs, "no error in the browser log" + ("" if not logs else ": %s" % logs[:1]))
    reqs = [e["params"]["request"]["url"] for e in evs
            if e.get("method") == "Network.requestWillBeSent"]
    other = [u for u in reqs if u != doc_url]
    check(other == [], "no network request besides the document (%d request%s: %s)"
          % (len(reqs), "" if len(reqs) == 1 else "s", ", ".join(reqs)[:200]))


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode not in (0, 1, 4):
        raise Fail("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


def expected_bars(db):
    """What docs/report.md says is drawn: a phase or an app with a start and an end on
    the chart's clock, UTC when any item has both in UTC, else the device's local clock."""
    jl = "(julianday(%s) - 2440587.5) * 86400.0"
    rows = db.execute("SELECT start_utc, end_utc, %s, %s FROM esp_phase"
                      % (jl % "start_local", jl % "end_local")).fetchall()
    rows += db.execute(
        "SELECT coalesce(download_start_utc, install_start_utc), "
        "coalesce(install_end_utc, download_end_utc), %s, %s FROM app"
        % (jl % "coalesce(download_start_local, install_start_local)",
           jl % "coalesce(install_end_local, download_end_local)")).fetchall()

    def ok(s, e):
        return s is not None and e is not None and e >= s
    utc = sum(1 for r in rows if ok(r[0] / 1e6 if r[0] is not None else None,
                                    r[1] / 1e6 if r[1] is not None else None))
    if utc:
        return utc
    return sum(1 for r in rows if ok(r[2], r[3]))


def expected_verdict(db):
    r = db.execute("SELECT title FROM finding WHERE rank = 1").fetchone()
    if r:
        return r[0]
    n = db.execute("SELECT value FROM meta WHERE key = 'rules.evaluated'").fetchone()
    if n is None:
        return "Not evaluated: the rules did not run on this index."
    if int(n[0]) == 0:
        return "Not evaluated: no rules were loaded."
    return ("No known failure found: %d rules were checked against every source and none "
            "matched." % int(n[0]))


def check_page(b, html, db_path, name, outdir):
    url = "file://" + os.path.abspath(html)
    since, secs = b.navigate(url)
    print("loaded %s in %.2f s" % (os.path.basename(html), secs))
    b.eval("new Promise(r => { (function w() { if (window.__apdiagFirstScreen !== undefined) r(1);"
           " else setTimeout(w, 20); })(); })", timeout=60)
    db = sqlite3.connect(db_path)
    verdict = b.eval("document.getElementById('verdict-title').textContent")
    check(verdict == expected_verdict(db), "verdict is the index's: %r" % verdict)
    bars = b.eval("document.querySelectorAll('#gantt rect.bar').length")
    want = expected_bars(db)
    check(bars == want, "Gantt bars: %d drawn, the model says %d" % (bars, want))
    phase_bars = b.eval("document.querySelectorAll('#gantt rect.bar[data-kind=phase]').length")
    check(phase_bars <= db.execute("SELECT count(*) FROM esp_phase").fetchone()[0],
          "phase bars (%d) at most one per phase" % phase_bars)
    apps = db.execute("SELECT count(*) FROM app").fetchone()[0]
    rows = b.eval("document.querySelectorAll('#app-table tbody tr').length")
    check(rows == apps, "app table: %d rows, the index has %d apps" % (rows, apps))
    events = db.execute("SELECT count(*) FROM event").fetchone()[0]
    shown = b.eval("document.getElementById('tl-count').textContent")
    check(shown == "%d of %d events shown" % (min(events, 200000), min(events, 200000)),
          "timeline count: %r (%d events)" % (shown, events))
    if events:
        drawn = b.eval("document.querySelectorAll('#tl-rows .tl-row').length")
        check(0 < drawn <= 200, "timeline is virtualised: %d rows in the DOM" % drawn)
    if apps > 1:
        # sorting by name puts the table in name order, and again reversed
        order = b.eval("(function(){var th=document.querySelector('#app-table thead th');th.click();"
                       "return Array.prototype.map.call(document.querySelectorAll("
                       "'#app-table tbody tr td:first-child'),function(t){return t.textContent;});})()")
        check(order == sorted(order, key=lambda s: s.lower()) or
              order == sorted(order), "app table sorts by name: %s" % order)
    gaps = db.execute("SELECT count(*) FROM gap").fetchone()[0]
    grows = b.eval("document.querySelectorAll('#gap-table tbody tr').length")
    check(grows == gaps, "gap table: %d rows, the index has %d gaps" % (grows, gaps))
    clean_page(b, since, url)
    b.screenshot(os.path.join(outdir, "report-%s.png" % name))
    db.close()


HOSTILE = ["<script>window.__pwned=1</script>", "\"><img src=x onerror=\"window.__pwned=1\">",
           "</script>", "\u2028"]


def mode_hostile(b, apdiag, src, out):
    fixture = os.path.join(src, "tests", "data", "report", "hostile-log-line")
    html = os.path.join(out, "report-hostile.html")
    db = os.path.join(out, "hostile.apdiag.db")
    run([apdiag, "report", fixture, "-o", html, "--db", db])
    url = "file://" + html
    since, _ = b.navigate(url)
    b.eval("new Promise(r => { (function w() { if (window.__apdiagFirstScreen !== undefined) r(1);"
           " else setTimeout(w, 20); })(); })")
    check(b.eval("typeof window.__pwned") == "undefined", "no script from the log ran")
    check(b.eval("document.querySelectorAll('img').length") == 0, "no <img> in the page")
    check(b.eval("document.querySelectorAll('#timeline img, #timeline script').length") == 0,
          "no element from the log in the timeline")
    text = b.eval("Array.prototype.map.call(document.querySelectorAll('#tl-rows .tl-row'),"
                  "function(r){return r.textContent;}).join('\\n')")
    for h in HOSTILE:
        check(h in text, "the timeline shows %r as text" % h)
    # the whole message in the detail pane, after a search that finds it
    b.eval("(function(){var q=document.getElementById('tl-search');q.value='onerror';"
           "q.dispatchEvent(new Event('input'));})()")
    b.eval("new Promise(r => setTimeout(r, 400))")
    n = b.eval("document.querySelectorAll('#tl-rows .tl-row').length")
    check(n >= 1, "search 'onerror' finds %d row%s" % (n, "" if n == 1 else "s"))
    b.eval("document.querySelector('#tl-rows .tl-row').click()")
    det = b.eval("document.getElementById('tl-detail').textContent")
    check(HOSTILE[1] in det, "the detail pane shows the line verbatim")
    check(b.eval("typeof window.__pwned") == "undefined", "still no script from the log ran")
    raw = open(html, encoding="utf-8").read()
    check("<script>window.__pwned" not in raw and "<img" not in raw,
          "the HTML file holds no markup from the log")
    check(raw.count("</script>") == 2, "the file has exactly its own two </script>")
    clean_page(b, since, url)
    b.screenshot(os.path.join(out, "report-hostile.png"))
    md = run([apdiag, "report", db, "--format", "md"]).stdout.decode()
    check("<script" not in md and "<img" not in md, "the Markdown holds no raw markup")
    for esc in ["\"&gt;&lt;img src=x onerror=\"window.\\_\\_pwned=1\"&gt;",
                "&lt;/script&gt;&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;"]:
        check(esc in md, "the Markdown escapes the line as %s" % esc)


def gen_cmtrace(path, n):
    """n one-line CMTrace entries, one second apart, some errors and warnings."""
    comps = ["IntuneManagementExtension", "AppWorkload", "AgentExecutor", "HealthScripts"]
    msgs = ["[Win32App][EspHelper][CheckEspPhase] In EspPhase: DeviceSetup",
            "[Win32App] Downloading app (id = %08x-0000-4000-8000-000000000000) bytes %d/52428800",
            "Session change detected.", "[Location Service] Service URL is not available",
            "[Win32App] lpExitCode %d", "Unable to reach the service, status %d, retrying"]
    with open(path, "w", encoding="utf-8", newline="\r\n") as f:
        f.write("\ufeff")
        for i in range(n):
            t = 8 * 3600 + i // 4
            m = msgs[i % len(msgs)]
            if "%" in m:
                m = m % ((i, i * 512) if m.count("%") == 2 else (i,))
            f.write('<![LOG[%s]LOG]!><time="%02d:%02d:%02d.%07d" date="10-1-2025" '
                    'component="%s" context="" type="%d" thread="%d" file="">\n'
                    % (m, t // 3600 % 24, t // 60 % 60, t % 60, (i % 4) * 2500000,
                       comps[i % 4], 3 if i % 97 == 0 else 2 if i % 31 == 0 else 1, 4 + i % 9))


def mode_perf(b, apdiag, src, out, n=100000):
    d = os.path.join(out, "perf-100k")
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "IntuneManagementExtension.log")
    gen_cmtrace(log, n)
    db = os.path.join(out, "perf-100k.apdiag.db")
    html = os.path.join(out, "report-perf-100k.html")
    t0 = time.monotonic()
    run([apdiag, "analyze", d, "--db", db, "--quiet", "--no-progress"])
    t1 = time.monotonic()
    run([apdiag, "report", db, "-o", html])
    t2 = time.monotonic()
    events = sqlite3.connect(db).execute("SELECT count(*) FROM event").fetchone()[0]
    check(events == n, "the generated log has %d events" % events)
    size = os.path.getsize(html)
    print("analyze %.2f s, report %.2f s, page %.1f MB" % (t1 - t0, t2 - t1, size / 1e6))
    url = "file://" + html
    best = None
    for attempt in range(2):
        since, secs = b.navigate(url, timeout=120)
        b.eval("new Promise(r => { (function w() { if (window.__apdiagFirstScreen !== undefined) "
               "r(1); else setTimeout(w, 20); })(); })", timeout=120)
        first = b.eval("window.__apdiagFirstScreen")
        load = b.eval("performance.getEntriesByType('navigation')[0].loadEventEnd")
        print("first screen %.0f ms after navigation start (load event %.0f ms), run %d"
              % (first, load, attempt + 1))
        best = first if best is None else min(best, first)
        clean_page(b, since, url)
    shown = b.eval("document.getElementById('tl-count').textContent")
    check(shown == "%d of %d events shown" % (n, n), "timeline count: %r" % shown)
    drawn = b.eval("document.querySelectorAll('#tl-rows .tl-row').length")
    check(drawn <= 200, "only the visible rows are in the DOM (%d)" % drawn)
    # filters over 100k rows stay interactive
    ms = b.eval("(function(){var t=performance.now(),s=document.getElementById('tl-level');"
                "s.value='le3';s.dispatchEvent(new Event('change'));return performance.now()-t;})()")
    print("level filter over %d rows: %.0f ms" % (n, ms))
    check(best < 2000, "FIRST_SCREEN_MS=%.0f for %d events (limit 2000)" % (best, n))
    b.screenshot(os.path.join(out, "report-perf-100k.png"))


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    mode, apdiag, src, out = sys.argv[1:5]
    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI") == "true":
            print("FAIL (CI=true): chromium is not installed (tools/install-deps.sh installs it)")
            return 1
        print("SKIP: chromium is not installed (apt-get install chromium)")
        return 77
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="apdiag-browser-")
    b = Browser(exe, tmp)
    try:
        b.attach()
        if mode == "sample":
            name = sys.argv[5]
            stem = os.path.splitext(name)[0]
            db = os.path.join(out, stem + ".apdiag.db")
            html = os.path.join(out, "report-%s.html" % stem)
            run([apdiag, "analyze", os.path.join(src, "samples", name), "--db", db, "--quiet",
                 "--no-progress"])
            run([apdiag, "report", db, "-o", html])
            check_page(b, html, db, stem, out)
        elif mode == "empty":
            d = os.path.join(tmp, "lone")
            os.makedirs(d)
            with open(os.path.join(d, "notes.txt"), "w") as f:
                f.write("nothing to see\n")
            db = os.path.join(out, "empty.apdiag.db")
            html = os.path.join(out, "report-empty.html")
            run([apdiag, "analyze", os.path.join(d, "notes.txt"), "--db", db, "--quiet"])
            run([apdiag, "report", db, "-o", html])
            check_page(b, html, db, "empty", out)
        elif mode == "hostile":
            mode_hostile(b, apdiag, src, out)
        elif mode == "perf":
            mode_perf(b, apdiag, src, out, int(sys.argv[5]) if len(sys.argv) > 5 else 100000)
        else:
            print("unknown mode " + mode)
            return 2
    except Fail as e:
        print("FAIL " + str(e))
        try:
            print(open(os.path.join(tmp, "chromium.log"), errors="replace").read()[-2000:])
        except OSError:
            pass
        return 1
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
