#!/usr/bin/env python3
"""The Windows build (apdiag.exe) under Wine: one meson test per scenario.

usage: test_win.py SCENARIO APDIAG_EXE NATIVE_APDIAG SRCDIR WORKDIR

Every scenario shares one Wine prefix (WORKDIR/prefix), made once by
`wineboot -i` under a lock, with WINEDEBUG=-all and Mono/Gecko disabled.
Each scenario collects with its own --profile, so that scenarios running at
the same time do not see each other's keys and files.  The native apdiag
(NATIVE_APDIAG, the Linux build) analyzes what apdiag.exe wrote.

Exit status: 0 pass, 1 fail, 77 skip (Wine, or the native apdiag for the
scenarios that need it, missing; under CI=true a skip is a failure).
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET

SRC = None


class Skip(Exception):
    pass


def find_wine():
    for c in (os.environ.get("APD_WINE"), shutil.which("wine64"), "/usr/lib/wine/wine64",
              shutil.which("wine")):
        if c and os.access(c, os.X_OK):
            return c
    raise Skip("Wine is not installed (tools/install-deps.sh installs Debian's wine64)")


class Win:
    """One Wine prefix shared by every scenario of a test run."""

    def __init__(self, exe, workdir):
        self.exe = exe
        self.wine = find_wine()
        self.prefix = os.path.join(workdir, "prefix")
        self.env = dict(os.environ, WINEPREFIX=self.prefix, WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=", DISPLAY="", LC_ALL="C.UTF-8")
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "prefix.lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(self.prefix, ".apdiag-ready")):
                shutil.rmtree(self.prefix, ignore_errors=True)
                r = subprocess.run([self.wine, "wineboot", "-i"], env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   timeout=300)
                subprocess.run([os.path.join(os.path.dirname(self.wine), "wineserver"), "-w"],
                               env=self.env, timeout=120)
                if r.returncode != 0 or not os.path.isdir(os.path.join(self.prefix, "drive_c")):
                    raise RuntimeError("wineboot -i failed (%d)" % r.returncode)
                open(os.path.join(self.prefix, ".apdiag-ready"), "w").close()
        self.c = os.path.join(self.prefix, "drive_c")

    @staticmethod
    def path(p):
        """A Linux path as Wine's Z: drive names it."""
        return "Z:" + os.path.abspath(p).replace("/", "\\")

    def run(self, args, timeout=600, stdin=None):
        r = subprocess.run([self.wine, self.exe] + args, env=self.env, capture_output=True,
                           timeout=timeout, input=stdin)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8",
                                                                                  "replace")

    def tool(self, args, timeout=120):
        r = subprocess.run([self.wine] + args, env=self.env, capture_output=True,
                           timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8",
                                                                                  "replace")

    def reg_add(self, key, name, typ, data):
        args = ["reg", "add", key, "/f", "/t", typ]
        args += ["/ve"] if name == "" else ["/v", name]
        if data is not None:
            args += ["/d", data]
        rc, out, err = self.tool(args)
        assert rc == 0, "reg add %s %s: %s %s" % (key, name, out, err)

    def collect(self, tmp, profile_xml, extra=()):
        prof = os.path.join(tmp, "profile.xml")
        with open(prof, "w", encoding="utf-8") as f:
            f.write(profile_xml)
        out = os.path.join(tmp, "out.cab")
        if os.path.exists(out):
            os.unlink(out)
        t0 = time.monotonic()
        rc, so, se = self.run(["collect", "--profile", self.path(prof), "-o", self.path(out),
                               "--quiet"] + list(extra))
        took = time.monotonic() - t0
        assert rc in (0, 4), "collect exit %d: %s %s" % (rc, so, se)
        assert os.path.exists(out), "no archive: " + so + se
        left = [n for n in os.listdir(tmp) if n.startswith(".apdiag") or ".partial" in n]
        assert not left, "left behind beside the output: %s" % left
        return out, rc, took


def manifest(cab):
    r = subprocess.run(["cabextract", "-q", "-p", "-F", "manifest.json", cab],
                       capture_output=True, check=True)
    return json.loads(r.stdout)


def extract(cab, d):
    subprocess.run(["cabextract", "-q", "-d", d, cab], check=True, capture_output=True)


def profile(*entries):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<profile name="test" version="1">\n'
            + "\n".join(entries) + "\n</profile>\n")


def need_native(native):
    if not native or not os.access(native, os.X_OK):
        raise Skip("the native apdiag (build/analyze/apdiag) is needed to analyze the bundle; "
                   "configure with -Dnative_apdiag=PATH")


def analyze(native, cab, tmp):
    db = os.path.join(tmp, "idx.db")
    if os.path.exists(db):
        os.unlink(db)
    r = subprocess.run([native, "analyze", cab, "--db", db, "--quiet"], capture_output=True)
    assert r.returncode in (0, 1, 4), "analyze exit %d: %s" % (r.returncode, r.stderr)
    return sqlite3.connect(db)


# ---- scenarios ----

def sc_exe(w, native, tmp):
    """apdiag.exe is one file that needs only DLLs every Windows has."""
    rc, out, err = w.run(["--version"])
    assert rc == 0 and out.startswith("apdiag "), (rc, out, err)
    rc, out, err = w.run(["--help"])
    verbs = set(re.findall(r"^  (\w+) ", out, re.M))
    assert {"collect", "verify", "upload"} <= verbs, out
    dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", w.exe], capture_output=True,
                          text=True)
    if dump.returncode == 0:
        dlls = {d.lower() for d in re.findall(r"DLL Name: (\S+)", dump.stdout)}
        system = {"advapi32.dll", "bcrypt.dll", "cabinet.dll", "kernel32.dll", "msvcrt.dll",
                  "shell32.dll", "shlwapi.dll", "wevtapi.dll", "winhttp.dll", "ole32.dll",
                  "user32.dll", "ws2_32.dll", "secur32.dll", "crypt32.dll"}
        assert dlls <= system, "imports beyond Windows' own DLLs: %s" % (dlls - system)
    print("apdiag.exe: %d bytes" % os.path.getsize(w.exe))


REG_VALUES = [
    # name, reg.exe type, /d, what analyze must read back (type, value)
    ("Plain", "REG_SZ", 'quote " backslash \\ end', ("REG_SZ", 'quote " backslash \\ end')),
    ("", "REG_SZ", "the default value", ("REG_SZ", "the default value")),
    ("Expand", "REG_EXPAND_SZ", "%SystemRoot%\\System32", ("REG_EXPAND_SZ",
                                                          "%SystemRoot%\\System32")),
    ("Multi", "REG_MULTI_SZ", "one\\0two\\0three", ("REG_MULTI_SZ", '["one","two","three"]')),
    ("Dword", "REG_DWORD", "305419896", ("REG_DWORD", 305419896)),
    ("Qword", "REG_QWORD", "0x123456789abcdef0", ("REG_QWORD", 0x123456789abcdef0)),
    ("Binary", "REG_BINARY", "00010203deadbeefff" * 9,
     ("REG_BINARY", bytes.fromhex("00010203deadbeefff" * 9))),
    ("Ünïcödé 名前", "REG_SZ", "vålue ✓ 値", ("REG_SZ", "vålue ✓ 値")),
]


def sc_registry(w, native, tmp):
    """Values set with `wine reg add` come back identical through the .reg and analyze."""
    need_native(native)
    base = "HKLM\\SOFTWARE\\ApdiagTest\\Round"
    w.tool(["reg", "delete", base, "/f"])
    for name, typ, data, _ in REG_VALUES:
        w.reg_add(base, name, typ, data)
    w.reg_add(base + "\\Sub Key ü", "Inner", "REG_DWORD", "7")
    cab, rc, _ = w.collect(tmp, profile(
        '<registry id="reg-round" key="HKLM\\SOFTWARE\\ApdiagTest\\Round"/>',
        '<registry id="reg-absent" key="HKLM\\SOFTWARE\\ApdiagTest\\Nope" optional="yes"/>'))
    m = manifest(cab)
    st = {e["id"]: e["status"] for e in m["entries"]}
    assert st == {"reg-round": "collected", "reg-absent": "absent"}, st
    assert m["mode"] == "live" and m["root"] is None, m
    d = os.path.join(tmp, "x")
    extract(cab, d)
    reg = open(os.path.join(d, "registry", "HKLM_SOFTWARE_ApdiagTest_Round.reg"), "rb").read()
    assert reg.startswith(b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n".encode(
        "utf-16-le")), reg[:80]
    db = analyze(native, cab, tmp)
    key = "SOFTWARE\\ApdiagTest\\Round"
    for name, _typ, _data, (etype, evalue) in REG_VALUES:
        row = db.execute("SELECT type, value FROM reg_value WHERE key = ? AND name = ?",
                         (key, name)).fetchall()
        assert row == [(etype, evalue)], "%r: %r != %r" % (name, row, (etype, evalue))
    row = db.execute("SELECT type, value FROM reg_value WHERE key = ? AND name = 'Inner'",
                     (key + "\\Sub Key ü",)).fetchall()
    assert row == [("REG_DWORD", 7)], row
    n = db.execute("SELECT count(*) FROM reg_value WHERE key = ? AND name IS NOT NULL",
                   (key,)).fetchone()[0]
    assert n == len(REG_VALUES), n
    print("registry: %d values and a subkey round-tripped" % n)


def make_ime_tree(root, total, seed=7):
    """A fake IME log tree: CMTrace logs (text) plus one binary file, total bytes."""
    os.makedirs(os.path.join(root, "Sub Dir"), exist_ok=True)
    files = {}
    line = ('<![LOG[[Win32App] ExecManager: processing app {6f2c1a4e-0000-4000-8000-%012d} '
            'with intent 3]LOG]!><time="10:00:00.0000000" date="10-1-2025" '
            'component="IntuneManagementExtension" context="" type="1" thread="7" file="">\r\n')
    names = ["IntuneManagementExtension.log", "AgentExecutor.log", "AppWorkload.log",
             "IntuneManagementExtension-20251001-095959.log", "Sub Dir/Sensor-ünïcödé.log"]
    per = max(1, total // (len(names) + 1))
    for i, n in enumerate(names):
        p = os.path.join(root, n)
        with open(p, "wb") as f:
            k = 0
            while f.tell() < per:
                f.write(line.replace("%012d", "%012d" % (i * 10**6 + k)).encode())
                k += 1
        files[n] = p
    b = os.path.join(root, "trace.bin")
    with open(b, "wb") as f:
        left = per
        x = seed
        while left > 0:
            chunk = bytes(((x * 1103515245 + 12345 + j * 7) >> 8) & 255 for j in range(4096))
            f.write(chunk[:left])
            left -= 4096
            x += 1
    files["trace.bin"] = b
    return files


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def sc_files(w, native, tmp):
    """IME logs copied with their hashes; the FCI cab passes cabextract -t and libarchive."""
    logs = os.path.join(w.c, "ProgramData", "Microsoft", "IntuneManagementExtension", "Logs")
    shutil.rmtree(logs, ignore_errors=True)
    files = make_ime_tree(logs, 3 << 20)
    cab, rc, _ = w.collect(tmp, profile(
        '<files id="ime-logs" path="ProgramData\\Microsoft\\IntuneManagementExtension\\Logs\\*" '
        'recurse="yes"/>'))
    m = manifest(cab)
    items = {i["path"]: i for e in m["entries"] for i in e["items"]}
    for rel, p in files.items():
        bp = "files/ProgramData/Microsoft/IntuneManagementExtension/Logs/" + rel
        assert bp in items, "%s not in %s" % (bp, sorted(items))
        assert items[bp]["sha256"] == sha256(p) and items[bp]["size"] == os.path.getsize(p), bp
        assert items[bp]["original"].startswith("C:\\ProgramData\\Microsoft\\"), items[bp]
    t = subprocess.run(["cabextract", "-t", cab], capture_output=True, text=True)
    assert t.returncode == 0 and "All done, no errors" in t.stdout, t.stdout + t.stderr
    lst = subprocess.run(["bsdtar", "-tf", cab], capture_output=True, text=True)
    assert lst.returncode == 0 and lst.stdout.splitlines()[0] == "manifest.json", lst
    assert any("Sensor-ünïcödé.log" in l for l in lst.stdout.splitlines()), lst.stdout
    d = os.path.join(tmp, "x")
    subprocess.run(["bsdtar", "-xf", cab, "-C", tmp], check=True)
    for rel, p in files.items():
        got = os.path.join(tmp, "files/ProgramData/Microsoft/IntuneManagementExtension/Logs", rel)
        assert sha256(got) == sha256(p), rel
    del d
    # verify, by apdiag.exe itself and by the native build
    rc, out, err = w.run(["verify", w.path(cab)])
    assert rc == 0 and "is intact" in out, (rc, out, err)
    if native and os.access(native, os.X_OK):
        r = subprocess.run([native, "verify", cab], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    # a folder with a non-ASCII name as -o: the default name, written and verified there
    folder = os.path.join(tmp, "Fälle 名")
    os.makedirs(folder)
    prof = os.path.join(tmp, "profile.xml")
    rc, out, err = w.run(["collect", "--profile", w.path(prof), "-o", w.path(folder), "--quiet"])
    assert rc == 0, (rc, out, err)
    names = os.listdir(folder)
    assert len(names) == 1 and re.fullmatch(r"apdiag-[A-Za-z0-9_-]+-\d{8}T\d{6}Z\.cab", names[0]), \
        names
    rc, out, err = w.run(["verify", w.path(os.path.join(folder, names[0]))])
    assert rc == 0 and "is intact" in out, (rc, out, err)
    print("files: %d files, hashes match; cabextract -t and bsdtar read the cab; default name "
          "%s in a non-ASCII folder" % (len(files), names[0]))


def sc_gaps(w, native, tmp):
    """EvtExportLog's failure and the .evtx fallback, missing commands: gaps, no crash."""
    logs = os.path.join(w.c, "windows", "system32", "winevt", "Logs")
    os.makedirs(logs, exist_ok=True)
    evtx = os.path.join(logs, "Microsoft-Windows-AAD%4Operational.evtx")
    with open(evtx, "wb") as f:
        f.write(b"ElfFile\0" + bytes(range(256)) * 16)
    cab, rc, _ = w.collect(tmp, profile(
        '<events id="ev-aad" channel="Microsoft-Windows-AAD/Operational"/>',
        '<events id="ev-none" channel="Microsoft-Windows-Nope/Operational" optional="yes"/>',
        '<command id="cmd-ipconfig" run="ipconfig.exe /all" timeout="30" '
        'output="commands/ipconfig-all.txt"/>',
        '<command id="cmd-dsregcmd" run="dsregcmd.exe /status" timeout="60" '
        'output="commands/dsregcmd-status.txt"/>',
        '<command id="cmd-mdmdiag" run="MdmDiagnosticsTool.exe -area Autopilot;TPM -cab '
        '{tmp}\\mdmdiag.cab" timeout="600" output="commands/mdmdiag.cab"/>'),
        ["--network", "--endpoints", w.path(os.path.join(tmp, "no-such-endpoints.xml"))])
    m = manifest(cab)
    gaps = m["gaps"]
    st = {e["id"]: e for e in m["entries"]}
    fb = [g for g in gaps if g["entry"] == "ev-aad" and g["kind"] == "fallback"]
    assert fb and fb[0]["os_error"] == 120 and "EvtExportLog" in fb[0]["reason"], gaps
    assert st["ev-aad"]["status"] == "collected", st["ev-aad"]
    it = st["ev-aad"]["items"][0]
    assert it["path"] == "events/Microsoft-Windows-AAD%4Operational.evtx", it
    assert it["sha256"] == sha256(evtx), it
    none = [g for g in gaps if g["entry"] == "ev-none" and g["kind"] == "absent"]
    assert none and none[0]["os_error"] in (2, 3), gaps
    ip = st["cmd-ipconfig"]
    assert ip["status"] == "collected" and ip["items"][0]["exit_code"] == 0, ip
    for cid, exe in (("cmd-dsregcmd", "dsregcmd.exe"), ("cmd-mdmdiag", "MdmDiagnosticsTool.exe")):
        g = [g for g in gaps if g["entry"] == cid]
        assert g and g[0]["kind"] == "absent" and g[0]["os_error"] == 2 and exe in g[0]["reason"] \
            and g[0]["os_error_text"], g
    net = [g for g in gaps if g["entry"] == "network"]
    # an endpoint list that cannot be read is the network check's gap (sc_network runs it)
    assert net and "endpoint list" in net[0]["reason"] and net[0]["os_error"] == 2, gaps
    # absences and fallbacks are not read errors: only the network check counts as one
    errs = [g for g in gaps if g["kind"] == "error"]
    assert all(g["entry"] == "network" for g in errs) and rc == 4, (rc, errs)
    print("gaps: %d recorded, EvtExportLog error 120 with the .evtx fallback" % len(gaps))


def sc_commands(w, native, tmp):
    """A command's nested cab, its exit code, and a hung command ended at its time-out."""
    fake = os.environ.get("APD_FAKECMD_EXE")
    if not fake:
        raise Skip("APD_FAKECMD_EXE is not set (meson passes tests/win/fakecmd.exe)")
    sys32 = os.path.join(w.c, "windows", "system32")
    for name in ("apdfake-mdmdiag.exe", "apdfake-hang.exe", "apdfake-exit.exe"):
        shutil.copy(fake, os.path.join(sys32, name))
    cab, rc, took = w.collect(tmp, profile(
        '<command id="cmd-mdm" run="apdfake-mdmdiag.exe -area Autopilot;TPM -cab '
        '{tmp}\\mdmdiag.cab" timeout="60" output="commands/mdmdiag.cab"/>',
        '<command id="cmd-hang" run="apdfake-hang.exe -sleep 120" timeout="2" '
        'output="commands/hang.txt"/>',
        '<command id="cmd-exit" run="apdfake-exit.exe -exit 7" timeout="30" '
        'output="commands/exit.txt"/>'))
    m = manifest(cab)
    st = {e["id"]: e for e in m["entries"]}
    items = {i["path"]: i for i in st["cmd-mdm"]["items"]}
    assert set(items) == {"commands/mdmdiag.cab", "commands/mdmdiag-console.txt"}, items
    assert items["commands/mdmdiag.cab"]["exit_code"] == 0, items
    d = os.path.join(tmp, "x")
    extract(cab, d)
    assert open(os.path.join(d, "commands", "mdmdiag.cab"), "rb").read() == \
        b"MSCF-fake nested cab\n"
    assert b"wrote " in open(os.path.join(d, "commands", "mdmdiag-console.txt"), "rb").read()
    hang = st["cmd-hang"]
    g = [g for g in m["gaps"] if g["entry"] == "cmd-hang"]
    assert hang["status"] == "partial" and g and g[0]["os_error"] == 1460, (hang, g)
    assert hang["items"][0]["exit_code"] == -1, hang
    assert b"sleeping" in open(os.path.join(d, "commands", "hang.txt"), "rb").read()
    assert took < 60, "the hung command was not stopped at its time-out (%.0f s)" % took
    ex = st["cmd-exit"]
    assert ex["status"] == "collected" and ex["items"][0]["exit_code"] == 7, ex
    # the private temporary folder is gone
    temp = os.path.join(w.c, "users")
    left = [p for p, _d, _f in os.walk(temp) if os.path.basename(p).startswith("apdiag-")]
    assert not left, left
    print("commands: nested cab, exit code 7, a hung command stopped after %.1f s" % took)


def temp_leftovers(w):
    """apdiag's private temporary folders still in the prefix's %TEMP% folders."""
    found = []
    for base, dirs, _files in os.walk(os.path.join(w.c, "users")):
        found += [os.path.join(base, d) for d in dirs if re.fullmatch(r"apdiag-[0-9a-f]{8}", d)]
    return found


def sc_cleanup(w, native, tmp):
    """The temporary and staging folders are removed after a failure too."""
    before = set(temp_leftovers(w))
    prof = os.path.join(tmp, "p.xml")
    with open(prof, "w") as f:
        f.write(profile('<events id="ev-aad" channel="Microsoft-Windows-AAD/Operational"/>',
                        '<files id="ini" path="windows\\*.ini"/>',
                        '<command id="cmd-ipconfig" run="ipconfig.exe /all" timeout="30" '
                        'output="commands/ipconfig-all.txt"/>'))
    # 1. the output folder does not exist: nothing can be written
    rc, so, se = w.run(["collect", "--profile", w.path(prof), "-o",
                        w.path(os.path.join(tmp, "no", "such", "dir", "x.cab")), "--quiet"])
    assert rc in (2, 3, 5) and "apdiag: collect:" in se, (rc, so, se)
    # 2. --max-size too small for even the manifest, after everything was staged
    rc, so, se = w.run(["collect", "--profile", w.path(prof), "-o",
                        w.path(os.path.join(tmp, "small.cab")), "--max-size", "1k", "--quiet"])
    assert rc == 2 and "--max-size" in se, (rc, so, se)
    assert not os.path.exists(os.path.join(tmp, "small.cab"))
    left = [n for n in os.listdir(tmp) if n != "p.xml"]
    assert not left, "left beside the output: %s" % left
    after = set(temp_leftovers(w)) - before
    # the prefix is shared: a scenario collecting at the same time (network, commands) has its
    # own folder there until it ends; one of this scenario's stays for good
    deadline = time.monotonic() + 90
    while after and time.monotonic() < deadline:
        time.sleep(0.5)
        after = set(temp_leftovers(w)) - before
    assert not after, "temporary folders left: %s" % sorted(after)
    # 3. the free-space check names the folder and the verb goes on (a real drive has room)
    rc, so, se = w.run(["collect", "--profile", w.path(prof), "-o",
                        w.path(os.path.join(tmp, "ok.cab"))])
    assert rc == 0 and re.search(r"MB free in ", se), (rc, se)
    print("cleanup: nothing left after a failed write and a failed --max-size")


def sc_hostile(w, native, tmp):
    """A file held with a deny-write share, 10,000 values, a 1 MB value, an unreadable key."""
    base = "HKLM\\SOFTWARE\\ApdiagTest\\Hostile"
    w.tool(["reg", "delete", base, "/f"])
    regf = os.path.join(tmp, "many.reg")
    with open(regf, "w", encoding="utf-16") as f:
        f.write("Windows Registry Editor Version 5.00\r\n\r\n[%s\\Many]\r\n"
                % base.replace("HKLM", "HKEY_LOCAL_MACHINE"))
        for i in range(10000):
            f.write('"v%05d"=dword:%08x\r\n' % (i, i))
        f.write("\r\n[%s\\Big]\r\n" % base.replace("HKLM", "HKEY_LOCAL_MACHINE"))
        f.write('"Mega"=hex:' + ",".join(["ab"] * (1 << 20)) + "\r\n")
    rc, out, err = w.tool(["regedit", "/S", w.path(regf)], timeout=600)
    assert rc == 0, (out, err)
    # a file another process holds open for writing, sharing only reads
    d = os.path.join(w.c, "ProgramData", "ApdiagHostile")
    os.makedirs(d, exist_ok=True)
    held = os.path.join(d, "held.log")
    with open(held, "wb") as f:
        f.write(b"held open\r\n" * 1000)
    # a key this process cannot read: Inner denies everything to Everyone
    locked = "SOFTWARE\\ApdiagTest\\Hostile\\Locked%d" % os.getpid()
    deny = os.environ.get("APD_REGDENY_EXE")
    if deny:
        rc, out, err = w.tool([deny, locked])
        assert rc == 0 and "denied" in out, (rc, out, err)
        # Wine does not enforce registry ACLs: the collector's test hook denies the same key
        w.env["APDIAG_TEST_DENY_KEY"] = "HKEY_LOCAL_MACHINE\\%s\\Inner" % locked
    hold_exe = os.environ.get("APD_HOLDFILE_EXE")
    holder = None
    if hold_exe:
        holder = subprocess.Popen([w.wine, hold_exe, "C:\\ProgramData\\ApdiagHostile\\held.log",
                                   "60"], env=w.env, stdout=subprocess.PIPE)
        assert holder.stdout.readline().strip() == b"holding", "holdfile did not start"
    try:
        cab, rc, took = w.collect(tmp, profile(
            '<registry id="reg-many" key="HKLM\\SOFTWARE\\ApdiagTest\\Hostile\\Many"/>',
            '<registry id="reg-big" key="HKLM\\SOFTWARE\\ApdiagTest\\Hostile\\Big"/>',
            '<registry id="reg-locked" key="HKLM\\%s"/>' % locked,
            '<registry id="reg-locked-inner" key="HKLM\\%s\\Inner"/>' % locked,
            '<files id="held" path="ProgramData\\ApdiagHostile\\*"/>'))
    finally:
        if holder:
            holder.kill()
            holder.wait()
    m = manifest(cab)
    st = {e["id"]: e for e in m["entries"]}
    assert st["reg-many"]["status"] == "collected", st["reg-many"]
    assert st["reg-big"]["status"] == "collected", st["reg-big"]
    assert st["reg-big"]["items"][0]["size"] > 3 * (1 << 20), st["reg-big"]
    if deny:
        # the readable part is kept, the unreadable subkey is a gap with its error
        assert st["reg-locked"]["status"] == "partial", st["reg-locked"]
        assert st["reg-locked-inner"]["status"] == "failed", st["reg-locked-inner"]
        lg = [g for g in m["gaps"] if g["entry"] in ("reg-locked", "reg-locked-inner")]
        assert len(lg) == 2 and all(g["kind"] == "error" and g["os_error"] == 5 for g in lg), lg
    h = st["held"]
    if h["status"] == "collected":
        assert h["items"][0]["sha256"] == sha256(held), h
    else:
        assert any(g["entry"] == "held" and g["kind"] == "error" for g in m["gaps"]), m["gaps"]
    if native and os.access(native, os.X_OK):
        db = analyze(native, cab, tmp)
        n = db.execute("SELECT count(*) FROM reg_value WHERE key = ? AND name IS NOT NULL",
                       ("SOFTWARE\\ApdiagTest\\Hostile\\Many",)).fetchone()[0]
        assert n == 10000, n
        big = db.execute("SELECT length(value) FROM reg_value WHERE key = ? AND name = 'Mega'",
                         ("SOFTWARE\\ApdiagTest\\Hostile\\Big",)).fetchone()
        assert big == (1 << 20,), big
    print("hostile: held file %s, 10000 values and a 1 MiB value collected (%.1f s)"
          % (h["status"], took))


NTP_AHEAD = 2.5   # the test SNTP server's clock leads by this much


def sc_network(w, native, tmp):
    """--network with Winsock and Schannel against tests/collect/netservers.py on 127.0.0.1:
    the Linux build's JSON document, with real DNS, TCP, TLS, HTTP and NTP results."""
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ports = os.path.join(tmp, "ports")
    srv = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "collect", "netservers.py"),
                            ports, cert, key, "120"],
                           env=dict(os.environ, NETSERVERS_NTP_AHEAD=str(NTP_AHEAD)))
    try:
        for _ in range(100):
            if os.path.exists(ports) and os.path.getsize(ports):
                break
            time.sleep(0.1)
        hp, sp, np_, closed = (int(x) for x in open(ports).read().split())
        eps = os.path.join(tmp, "endpoints.xml")
        with open(eps, "w") as f:
            f.write('<endpoints version="1">\n'
                    '<endpoint id="ncsi" host="127.0.0.1" port="%d" path="/connecttest.txt" '
                    'expect="Microsoft Connect Test" checks="dns tcp http" purpose="test NCSI"/>\n'
                    '<endpoint id="wrongtext" host="127.0.0.1" port="%d" path="/other" '
                    'expect="Microsoft Connect Test" checks="dns tcp http" purpose="test body"/>\n'
                    '<endpoint id="time" host="127.0.0.1" port="%d" checks="dns ntp" '
                    'purpose="test NTP"/>\n'
                    '<endpoint id="refused" host="127.0.0.1" port="%d" checks="dns tcp tls http" '
                    'purpose="test closed port"/>\n'
                    '<endpoint id="https-ok" host="localhost" port="%d" path="/connecttest.txt" '
                    'expect="Microsoft Connect Test" checks="dns tcp tls http" purpose="test TLS"/>\n'
                    '<endpoint id="wrongname" host="127.0.0.1" port="%d" checks="tcp tls" '
                    'purpose="test TLS name"/>\n'
                    '</endpoints>\n' % (hp, hp, np_, closed, sp, sp))
        net = ["--network", "--endpoints", w.path(eps), "--net-timeout", "3000"]
        w.env["APDIAG_NETCHECK_CAFILE"] = w.path(cert)
        try:
            cab, rc, took = w.collect(tmp, profile(
                '<registry id="reg-cn" key="HKLM\\SYSTEM\\CurrentControlSet\\Control\\'
                'ComputerName"/>'), net)
            d = os.path.join(tmp, "x")
            extract(cab, d)
        finally:
            del w.env["APDIAG_NETCHECK_CAFILE"]
        # without the test CA: the same server's certificate is not trusted
        os.makedirs(os.path.join(tmp, "second"))
        cab2, _rc, _t = w.collect(os.path.join(tmp, "second"), profile(
            '<registry id="reg-cn" key="HKLM\\SYSTEM\\CurrentControlSet\\Control\\'
            'ComputerName"/>'), net)
        d2 = os.path.join(tmp, "y")
        extract(cab2, d2)
    finally:
        srv.kill()
        srv.wait()
    m = manifest(cab)
    assert not [g for g in m["gaps"] if g["entry"] == "network"], m["gaps"]
    doc = json.load(open(os.path.join(d, "network", "netcheck.json"), encoding="utf-8"))
    assert doc["format"] == "apdiag-netcheck" and doc["format_version"] == 1, doc
    assert doc["timeout_ms"] == 3000, doc
    res = {(r["endpoint"], r["check"]): r for r in doc["results"]}
    keys = {"endpoint", "host", "port", "check", "status", "ms", "time_utc", "detail", "error",
            "os_error", "purpose"}
    for r in doc["results"]:
        assert set(r) == keys, r
    st = lambda ep: " ".join(r["status"] for r in doc["results"] if r["endpoint"] == ep)
    # NCSI over plain HTTP: real DNS, TCP, the status line and the body's text
    assert st("ncsi") == "ok ok ok", doc["results"]
    assert res[("ncsi", "dns")]["detail"] == "127.0.0.1", res[("ncsi", "dns")]
    assert res[("ncsi", "tcp")]["detail"] == "connected to 127.0.0.1 port %d" % hp
    assert res[("ncsi", "http")]["detail"].startswith("HTTP/1.0 200 "), res[("ncsi", "http")]
    wt = res[("wrongtext", "http")]
    assert wt["status"] == "failed" and 'lacks "Microsoft Connect Test"' in wt["error"], wt
    # NTP: the server's stratum and its lead
    t = res[("time", "ntp")]
    mo = re.fullmatch(r"stratum 2, clock offset ([+-]\d+\.\d{3}) s", t["detail"] or "")
    assert t["status"] == "ok" and mo and abs(float(mo.group(1)) - NTP_AHEAD) < 0.5, t
    # a closed port: TCP fails with Winsock's error, TLS and HTTP are skipped
    assert st("refused") == "ok failed skipped skipped", doc["results"]
    rt = res[("refused", "tcp")]
    assert rt["os_error"] == 10061 and rt["error"], rt      # WSAECONNREFUSED
    # Schannel: handshake with SNI, the test CA trusted, HTTP over TLS
    assert st("https-ok") == "ok ok ok ok", doc["results"]
    tl = res[("https-ok", "tls")]
    assert re.fullmatch(r"TLSv1\.[23] \S.*, certificate CN=localhost, valid until "
                        r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT", tl["detail"]), tl
    assert res[("https-ok", "http")]["detail"].startswith("HTTP/1.0 200 "), res
    # the host name is checked too: 127.0.0.1 is not in the certificate
    wn = res[("wrongname", "tls")]
    assert wn["status"] == "failed" and wn["error"].startswith("certificate not trusted") \
        and wn["os_error"] & 0xffffffff == 0x800B010F, wn        # CERT_E_CN_NO_MATCH
    s = doc["summary"]
    assert s == {"endpoints": 6, "probes": len(doc["results"]), "failures": 3}, s
    # without APDIAG_NETCHECK_CAFILE the self-signed certificate is untrusted
    doc2 = json.load(open(os.path.join(d2, "network", "netcheck.json"), encoding="utf-8"))
    u = [r for r in doc2["results"] if r["endpoint"] == "https-ok" and r["check"] == "tls"][0]
    assert u["status"] == "failed" and u["error"].startswith("certificate not trusted") and \
        u["os_error"] & 0xffffffff == 0x800B0109 and u["detail"], u        # CERT_E_UNTRUSTEDROOT
    if native and os.access(native, os.X_OK):
        db = analyze(native, cab, tmp)
        facts = dict(db.execute("SELECT name, value FROM fact WHERE name LIKE 'netcheck.%'"))
        for k, v in (("ncsi.http", "ok"), ("refused.tcp", "failed"), ("time.ntp", "ok"),
                     ("https-ok.tls", "ok"), ("https-ok.http", "ok")):
            assert facts.get("netcheck." + k) == v, (k, facts)
        n = db.execute("SELECT count(*) FROM event e JOIN source s ON e.source_id = s.id "
                       "WHERE s.kind = 'netcheck'").fetchone()[0]
        assert n == len(doc["results"]), n
    print("network: %d probes; TLS %s; NTP %s; closed port: %s; untrusted: %s; wrong name: %s "
          "(%.1f s)" % (len(doc["results"]), tl["detail"], t["detail"], rt["error"], u["error"],
                        wn["error"], took))


def sc_trace(w, native, tmp):
    """--trace start builds the wpr command line, and says clearly that wpr.exe is absent."""
    rc, out, err = w.run(["collect", "--trace", "start"])
    assert rc == 3, (rc, out, err)
    assert re.search(r'would run: "C:\\windows\\System32\\wpr\.exe" -start "[^"]+\.wprp'
                     r'!Autopilot\.Verbose" -filemode', out, re.I), out
    assert "wpr.exe is not on this device" in err, err
    rc, out, err = w.run(["collect", "--trace", "bogus"])
    assert rc == 2 and "start, stop or status" in err, (rc, err)
    print("trace: " + out.strip())


def sc_wprp(w, native, tmp):
    """collect/autopilot.wprp: well-formed WPR profile, expected structure, valid GUIDs."""
    check_wprp(os.path.join(SRC, "collect", "autopilot.wprp"))


GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{12}\}?$")


def check_wprp(path):
    root = ET.parse(path).getroot()
    assert root.tag == "WindowsPerformanceRecorder", root.tag
    profs = root.find("Profiles")
    assert profs is not None
    collectors = {c.get("Id"): c for c in profs.findall("EventCollector")}
    assert collectors, "no EventCollector"
    for c in collectors.values():
        bs, bn = c.find("BufferSize"), c.find("Buffers")
        assert bs is not None and bn is not None, "unbounded buffers"
        assert 4 <= int(bs.get("Value")) <= 1024 and 4 <= int(bn.get("Value")) <= 256
    providers = {p.get("Id"): p for p in profs.findall("EventProvider")}
    assert len(providers) >= 10, len(providers)
    byguid = 0
    for pid, p in providers.items():
        name = p.get("Name") or ""
        # a provider is named by its GUID, or by its registered manifest name
        if re.fullmatch(r"\{?[0-9a-fA-F-]{32,38}\}?", name) or "-" in name and name[:8].isalnum() \
                and re.fullmatch(r"[0-9a-fA-F]{8}-.*", name):
            assert GUID.match(name), "%s: '%s' is not a valid GUID" % (pid, name)
            byguid += 1
        else:
            assert re.fullmatch(r"Microsoft-Windows-[A-Za-z0-9-]+", name), "%s: %s" % (pid, name)
        assert p.get("Level") in ("1", "2", "3", "4", "5"), pid
    names = [p.get("Name").lower() for p in providers.values()]
    assert len(set(names)) == len(names), "a provider is listed twice"
    assert byguid >= 10, byguid
    # the areas the issue names
    text = open(path, encoding="utf-8").read()
    for area in ("ModernDeployment", "CloudExperienceHost", "DeviceManagement-Enterprise",
                 "AAD", "User Device Registration", "TPM"):
        assert area in text, area
    profiles = profs.findall("Profile")
    ids = {p.get("Id") for p in profiles}
    assert "Autopilot.Verbose.File" in ids, ids
    for p in profiles:
        assert p.get("LoggingMode") == "File", p.get("Id")
        ec = p.find("Collectors/EventCollectorId")
        assert ec is not None and ec.get("Value") in collectors, p.get("Id")
        refs = [r.get("Value") for r in ec.findall("EventProviders/EventProviderId")]
        assert refs and all(r in providers for r in refs), refs
    print("wprp: %d providers, %d profiles" % (len(providers), len(profiles)))


def sc_upload(w, native, tmp):
    """apdiag.exe upload (WinHTTP) puts a file into Azurite on 127.0.0.1, byte-identical."""
    sys.path.insert(0, os.path.join(SRC, "tests", "upload"))
    import azlib
    try:
        azlib.find_azurite()
    except azlib.Skip as e:
        raise Skip(str(e))
    with azlib.Azurite(tmp) as az:
        azlib.create_container(az, "bundles")
        out = {}
        for name, size in (("small.cab", 300 * 1024 + 7), ("large.cab", 20 * (1 << 20) + 12345)):
            f = os.path.join(tmp, name)
            sha = azlib.make_file(f, size)
            q = azlib.service_sas("bundles")
            rc, so, se = w.run(["upload", w.path(f), az.base + "/bundles?" + q, "--device",
                                "WINE-PC", "--block-size", "4M", "--no-progress"])
            for x in azlib.sig_of(q):   # decoded and as in the URL
                assert x not in so and x not in se, "the SAS signature was printed"
            assert rc == 0, (rc, so, se)
            blob_url = so.strip().splitlines()[-1]
            assert "sig=" not in blob_url, blob_url
            blob = blob_url.rsplit("/", 1)[-1]
            got, got_size, _hdrs = azlib.blob_sha256(az, "bundles", blob)
            assert got == sha and got_size == size, (name, got, got_size, sha, size)
            out[name] = blob
        # collect --upload: the bundle goes up after it is written, named after the device
        q = azlib.service_sas("bundles")
        bundle = os.path.join(tmp, "bundle.cab")
        prof = os.path.join(tmp, "p.xml")
        with open(prof, "w") as f:
            f.write(profile('<registry id="reg-cn" key="HKLM\\SYSTEM\\CurrentControlSet\\'
                            'Control\\ComputerName"/>'))
        rc, so, se = w.run(["collect", "--profile", w.path(prof), "-o", w.path(bundle),
                            "--quiet", "--upload", az.base + "/bundles?" + q])
        assert rc == 0, (rc, so, se)
        assert all(x not in so + se for x in azlib.sig_of(q)), "the SAS signature was printed"
        blob = so.strip().splitlines()[-1].rsplit("/", 1)[-1]
        assert re.fullmatch(r"apdiag-[A-Za-z0-9_-]+-\d{8}T\d{6}Z-[0-9a-f]{12}\.cab", blob), blob
        got, got_size, _h = azlib.blob_sha256(az, "bundles", blob)
        assert got == sha256(bundle) and got_size == os.path.getsize(bundle), blob
        out["collect --upload"] = blob
    print("upload: %s arrived byte-identical" % ", ".join(sorted(out)))


SCENARIOS = {"exe": sc_exe, "registry": sc_registry, "files": sc_files, "gaps": sc_gaps,
             "commands": sc_commands, "cleanup": sc_cleanup,
             "hostile": sc_hostile, "trace": sc_trace, "wprp": sc_wprp, "upload": sc_upload, "network": sc_network}
NO_WINE = {"wprp"}


def main():
    global SRC
    name, exe, native, SRC, workdir = sys.argv[1:6]
    tmp = tempfile.mkdtemp(prefix="win-%s-" % name, dir=workdir if os.path.isdir(workdir)
                           else None)
    try:
        w = None if name in NO_WINE else Win(exe, workdir)
        SCENARIOS[name](w, native, tmp)
        print("PASS " + name)
        return 0
    except Skip as e:
        if os.environ.get("CI") == "true":
            print("FAIL (CI=true): " + str(e))
            return 1
        print("SKIP: " + str(e))
        return 77
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
