#!/usr/bin/env python3
"""test_upload.py SCENARIO APDIAG LOGDIR - `apdiag upload` against Azurite.

Each scenario starts its own Azurite (127.0.0.1, a free port, a temporary
folder), signs its SAS with the emulator's development key, runs the built
apdiag, downloads what arrived and compares SHA-256.  Everything apdiag
printed goes to LOGDIR/SCENARIO/*.out, and every SAS signature the scenario
used to LOGDIR/SCENARIO/sigs; the scenario fails if one of its signatures
appears in its output, and the scenario `nosig` (run last) greps the output of
all of them for all signatures.

Exit status: 0 pass, 1 fail, 77 skip (Azurite or node missing; under CI=true,
where tools/install-deps.sh has installed it, a missing Azurite fails).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import azlib  # noqa: E402

MiB = 1 << 20


class Ctx:
    def __init__(self, name, apdiag, logdir):
        self.name = name
        self.apdiag = apdiag
        self.logdir = os.path.join(logdir, name)
        shutil.rmtree(self.logdir, ignore_errors=True)
        os.makedirs(self.logdir)
        self.tmp = tempfile.mkdtemp(prefix="apd-upload-%s-" % name)
        self.sigs = []
        self.nrun = 0

    def sas(self, query):
        """Remember a SAS query's signature (both spellings) for the leak checks."""
        for s in azlib.sig_of(query):
            if s not in self.sigs:
                self.sigs.append(s)
        with open(os.path.join(self.logdir, "sigs"), "w") as f:
            f.write("\n".join(self.sigs) + "\n")
        return query

    def run(self, args, stdin=None, env_extra=None, timeout=600, popen=False, verb="upload"):
        """Run apdiag; returns (rc, stdout, stderr), both saved to the log folder."""
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env.update(env_extra or {})
        self.nrun += 1
        base = os.path.join(self.logdir, "run%02d" % self.nrun)
        with open(base + ".cmd", "w") as f:
            # the command line without the SAS URL's query string
            f.write(" ".join(re.sub(r"\?.*", "?<SAS>", a) for a in args) + "\n")
        out = open(base + ".stdout.out", "wb")
        err = open(base + ".stderr.out", "wb")
        p = subprocess.Popen([self.apdiag, verb] + args, stdout=out, stderr=err,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             env=env)
        if popen:
            out.close()
            err.close()
            return p, base
        try:
            p.communicate(stdin.encode() if stdin is not None else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
        out.close()
        err.close()
        return p.returncode, open(base + ".stdout.out").read(), open(base + ".stderr.out").read()

    def check_no_sig(self):
        leaks = find_leaks(self.logdir, self.sigs)
        assert not leaks, "the SAS signature was printed: %s" % leaks

    def done(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def find_leaks(folder, sigs):
    hits = []
    for root, _dirs, files in os.walk(folder):
        for fn in files:
            if not fn.endswith(".out"):
                continue
            data = open(os.path.join(root, fn), "rb").read().decode("utf-8", "replace")
            for s in sigs:
                if s and s in data:
                    hits.append(os.path.join(root, fn))
    return hits


def expect_ok(ctx, rc, out, err, az, container, want_sha, size, name=None):
    """rc 0, the last line printed is the blob URL without a query, the bytes arrived."""
    assert rc == 0, "apdiag upload exited %d: %s" % (rc, err)
    lines = out.strip().splitlines()
    assert lines, "nothing printed on stdout"
    url = lines[-1]
    assert "?" not in url and "sig=" not in url, "last line is not a clean URL: %r" % url
    prefix = "http://127.0.0.1:"
    assert url.startswith(prefix) and ("/%s/%s/" % (azlib.ACCOUNT, container)) in url, url
    blob = url.split("/%s/%s/" % (azlib.ACCOUNT, container), 1)[1]
    if name:
        assert blob == name, (blob, name)
    got_sha, got_size, hdrs = azlib.blob_sha256(az, container, azlib_unquote(blob))
    assert got_size == size, "size %d != %d" % (got_size, size)
    assert got_sha == want_sha, "the blob's SHA-256 differs from the file's"
    assert hdrs.get("x-ms-meta-sha256") == want_sha, hdrs
    assert hdrs.get("x-ms-meta-apdiag_version"), hdrs
    assert "verified" in err, err
    return azlib_unquote(blob)


def azlib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


# ---- scenarios ----

def sc_small(ctx):
    """Put Blob through a container SAS (derived name), a blob SAS, and a SAS on stdin."""
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "PC01-bundle.cab")
        sha = azlib.make_file(f, 300 * 1024 + 7)
        q = ctx.sas(azlib.service_sas("bundles"))
        rc, out, err = ctx.run([f, az.base + "/bundles?" + q, "--device", "PC 01/x"])
        blob = expect_ok(ctx, rc, out, err, az, "bundles", sha, 300 * 1024 + 7)
        assert re.fullmatch(r"apdiag-PC_01_x-\d{8}T\d{6}Z-%s\.cab" % sha[:12], blob), blob
        assert "in one request" in err, err
        # the same file again: the same (deterministic) name, overwritten in place
        rc, out2, err = ctx.run([f, az.base + "/bundles?" + q, "--device", "PC 01/x"])
        assert rc == 0 and out2.strip().splitlines()[-1] == out.strip().splitlines()[-1]
        # a blob SAS, with a name that needs encoding
        name = "site a/PC01 bundle+1.cab"
        import urllib.parse
        qb = ctx.sas(azlib.service_sas("bundles", name))
        rc, out, err = ctx.run([f, az.base + "/bundles/" + urllib.parse.quote(name) + "?" + qb])
        expect_ok(ctx, rc, out, err, az, "bundles", sha, 300 * 1024 + 7, urllib.parse.quote(name))
        # --name with a container SAS, the URL on standard input, an empty file
        e = os.path.join(ctx.tmp, "empty.zip")
        open(e, "wb").close()
        rc, out, err = ctx.run([e, "-", "--name", "named/empty.zip"],
                               stdin=az.base + "/bundles?" + q + "\n")
        expect_ok(ctx, rc, out, err, az, "bundles",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0,
                  "named/empty.zip")


def sc_large(ctx):
    """A 100 MiB + file in 8 MiB blocks, 4 at a time, arrives byte-identical."""
    size = 100 * MiB + 12345
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "big.tar.zst")
        sha = azlib.make_file(f, size, seed=7)
        q = ctx.sas(azlib.service_sas("bundles"))
        t = time.time()
        rc, out, err = ctx.run([f, az.base + "/bundles?" + q, "--parallel", "4"])
        secs = time.time() - t
        blob = expect_ok(ctx, rc, out, err, az, "bundles", sha, size)
        assert blob.endswith(".tar.zst"), blob
        committed, uncommitted = azlib.block_list(az, "bundles", blob)
        assert len(committed) == 13 and not uncommitted, (len(committed), len(uncommitted))
        assert "13 blocks (0 already held, 13 sent)" in err, err
        print("large: %d bytes in %.1f s (%.0f MB/s)" % (size, secs, size / secs / 1e6))


def _through_proxy(ctx, faults, size, extra, seed):
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "bundle.cab")
        sha = azlib.make_file(f, size, seed=seed)
        with azlib.FaultProxy(az.port, faults) as px:
            q = ctx.sas(azlib.service_sas("bundles"))
            t = time.time()
            rc, out, err = ctx.run([f, px.base + "/bundles?" + q] + extra, timeout=300)
            secs = time.time() - t
        expect_ok(ctx, rc, out, err, az, "bundles", sha, size)
        return err, secs


def sc_drop(ctx):
    """Connections reset in the middle of blocks: the blocks are sent again."""
    faults = azlib.Faults()
    faults.drop_blocks = {2, 7, 8}
    err, _ = _through_proxy(ctx, faults, 24 * MiB + 5, ["--block-size", "1M", "--parallel", "3"],
                            3)
    dropped = faults.count("PUT", "block", "dropped")
    ok = faults.count("PUT", "block", 201)
    print("drop: %d Put Block dropped mid-body, %d accepted (25 blocks)" % (dropped, ok))
    assert dropped == 3 and ok == 25, (dropped, ok)
    assert re.search(r"[1-9]\d* retries", err), err


def sc_busy(ctx):
    """503 with Retry-After: 2 on the block list, a block and the commit: waited for, then done."""
    faults = azlib.Faults()
    faults.fail503 = {1, 4, 5, 13}
    faults.retry_after = "2"
    faults.timed = []
    err, secs = _through_proxy(ctx, faults, 10 * MiB + 1, ["--block-size", "1M"], 4)
    n503 = faults.count(status=503)
    print("busy: %d answers 503 (Retry-After: 2), done in %.1f s" % (n503, secs))
    assert n503 == 4, n503
    # at least two 2-second waits in a row happened (requests 4 and 5 are one block's retries)
    assert secs >= 6, "Retry-After was not honoured (%.1f s)" % secs
    assert "4 retries" in err, err


def sc_slow(ctx):
    """Slow answers everywhere, and one request that stalls until --stall-timeout."""
    faults = azlib.Faults()
    faults.delay_s = 0.2
    faults.stall_requests = {3}
    faults.stall_s = 12
    err, secs = _through_proxy(ctx, faults, 6 * MiB + 3,
                               ["--block-size", "1M", "--stall-timeout", "2", "--parallel", "2"], 5)
    print("slow: 0.2 s per answer, one stall, done in %.1f s" % secs)
    assert faults.count(status="stalled") == 1
    assert secs < 11, "the stall was not cut at --stall-timeout (%.1f s)" % secs
    assert re.search(r"[1-9]\d* retries", err), err


def sc_resume(ctx):
    """Kill the uploader half-way; the second run sends only the blocks the service lacks."""
    size, bs = 40 * MiB + 99, "1M"
    nblocks = 41
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "resume.cab")
        sha = azlib.make_file(f, size, seed=11)
        q = ctx.sas(azlib.service_sas("bundles"))
        args = [f, None, "--block-size", bs, "--parallel", "2", "--device", "PC02"]
        f1 = azlib.Faults()
        f1.delay_s = 0.05
        with azlib.FaultProxy(az.port, f1) as px:
            args[1] = px.base + "/bundles?" + q
            p, _base = ctx.run(args, popen=True)
            killed = []

            cmdline = []

            def kill_at(n):
                if n == 15 and not killed:
                    # while it runs, ps(1) shows no SAS: apdiag blanked it in argv
                    with open("/proc/%d/cmdline" % p.pid, "rb") as c:
                        cmdline.append(c.read().decode("utf-8", "replace"))
                    p.send_signal(signal.SIGKILL)
                    killed.append(n)
            f1.on_put_block_ok = kill_at
            p.wait(300)
            assert p.returncode == -signal.SIGKILL, "run 1 was not killed (rc %d)" % p.returncode
            assert cmdline and "bundles?xxx" in cmdline[0], "argv not blanked"
            with open(os.path.join(ctx.logdir, "cmdline.out"), "w") as c:
                c.write(cmdline[0].replace("\0", " ") + "\n")
        names = [b for b in azlib.list_blobs(az, "bundles")]
        assert names == [], "run 1 committed a blob: %s" % names
        # what the service holds now, asked directly
        blob_guess = None
        rc, out, err = None, None, None
        f2 = azlib.Faults()
        with azlib.FaultProxy(az.port, f2) as px:
            args[1] = px.base + "/bundles?" + q
            # the name is deterministic, so the held blocks can be listed before run 2
            import datetime
            mtime = datetime.datetime.fromtimestamp(os.stat(f).st_mtime, datetime.timezone.utc)
            blob_guess = "apdiag-PC02-%s-%s.cab" % (mtime.strftime("%Y%m%dT%H%M%SZ"), sha[:12])
            # Azurite may still be storing the block whose 201 the kill raced:
            # ask until two answers half a second apart agree
            _c, held = azlib.block_list(az, "bundles", blob_guess)
            for _ in range(20):
                time.sleep(0.5)
                _c, again = azlib.block_list(az, "bundles", blob_guess)
                if again == held:
                    break
                held = again
            rc, out, err = ctx.run(args)
        blob = expect_ok(ctx, rc, out, err, az, "bundles", sha, size)
        assert blob == blob_guess, (blob, blob_guess)
        sent1 = f1.count("PUT", "block")
        ok1 = f1.count("PUT", "block", 201)
        sent2 = f2.count("PUT", "block")
        ids2 = {b for m, c, b, s in f2.log if m == "PUT" and c == "block"}
        import urllib.parse
        held_ids = set(held)
        resent = {urllib.parse.unquote(b) for b in ids2} & held_ids
        print("resume: run 1 killed after %d Put Block accepted (%d sent); the service held %d "
              "of %d blocks; run 2 made %d requests: %d Get Block List, %d Put Block, "
              "%d Put Block List, %d Get Blob Properties"
              % (ok1, sent1, len(held), nblocks, f2.n_requests,
                 f2.count("GET", "blocklist"), sent2, f2.count("PUT", "blocklist"),
                 f2.count("HEAD")))
        assert len(held) >= 15, len(held)
        assert not resent, "run 2 sent again %d blocks the service held" % len(resent)
        assert sent2 == nblocks - len(held), (sent2, nblocks, len(held))
        assert "(%d already held, %d sent)" % (len(held), nblocks - len(held)) in err, err


def sc_denied(ctx):
    """An expired SAS: 403, fails fast with a clear message and exit 6, no retries."""
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "denied.cab")
        azlib.make_file(f, 3 * MiB, seed=5)
        q = ctx.sas(azlib.service_sas("bundles", expiry_s=-60, start_s=-7200))
        faults = azlib.Faults()
        with azlib.FaultProxy(az.port, faults) as px:
            for extra in (["--block-size", "1M"], []):   # blocks, and one Put Blob
                t = time.time()
                rc, out, err = ctx.run([f, px.base + "/bundles?" + q] + extra)
                secs = time.time() - t
                assert rc == 6, "exit %d, want 6: %s" % (rc, err)
                assert "403" in err and "SAS" in err, err
                assert out == "", out
                assert secs < 10, "took %.1f s" % secs
        print("denied: %d requests in all, every answer 403, no retries" % faults.n_requests)
        assert faults.count(status=403) == faults.n_requests
        # Get Block List (403 tolerated: no read permission), Put Block; then Put Blob
        assert faults.n_requests == 3, faults.log


def sc_proxyenv(ctx):
    """http_proxy is followed (curl's convention), and no_proxy too."""
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        f = os.path.join(ctx.tmp, "p.zip")
        sha = azlib.make_file(f, 2 * MiB + 1, seed=6)
        q = ctx.sas(azlib.service_sas("bundles"))
        faults = azlib.Faults()
        with azlib.FaultProxy(az.port, faults) as px:
            env = {"http_proxy": "http://127.0.0.1:%d" % px.port}
            rc, out, err = ctx.run([f, az.base + "/bundles?" + q, "--block-size", "1M"],
                                   env_extra=env)
            expect_ok(ctx, rc, out, err, az, "bundles", sha, 2 * MiB + 1)
            via = faults.n_requests
            env["no_proxy"] = "127.0.0.1"
            rc, out, err = ctx.run([f, az.base + "/bundles?" + q, "--block-size", "1M"],
                                   env_extra=env)
            expect_ok(ctx, rc, out, err, az, "bundles", sha, 2 * MiB + 1)
        print("proxyenv: %d requests through http_proxy, %d more with no_proxy"
              % (via, faults.n_requests - via))
        assert via >= 5 and faults.n_requests == via


def sc_cli(ctx):
    """Usage errors, plain http to a remote host, a URL without sig: nothing leaks."""
    f = os.path.join(ctx.tmp, "x.cab")
    azlib.make_file(f, 1000)
    q = ctx.sas(azlib.service_sas("bundles"))
    cases = [
        ([f, "http://example.invalid/devstoreaccount1/bundles?" + q], 2, "plain"),
        ([f, "https://acct.blob.core.windows.net/bundles?sv=2021-08-06&sp=cw"], 2, "sig="),
        (["http://127.0.0.1:9/devstoreaccount1/bundles?" + q], 2, "FILE"),
        ([os.path.join(ctx.tmp, "missing.cab"), "http://127.0.0.1:9/a/b?" + q], 3, "cannot read"),
        ([f, "http://127.0.0.1:9/devstoreaccount1/bundles?" + q, "--parallel", "17"], 2, "16"),
        ([f, "http://127.0.0.1:9/devstoreaccount1/bundles?" + q, "--block-size", "1k"], 2, "64k"),
        ([f, "ftp://127.0.0.1/devstoreaccount1/bundles?" + q], 2, "http"),
        # nothing listens on port 9: connection refused, retried until --timeout
        ([f, "http://127.0.0.1:9/devstoreaccount1/bundles?" + q, "--timeout", "3"], 7, "gave up"),
    ]
    for args, want, words in cases:
        rc, out, err = ctx.run(args)
        assert rc == want, "%s: exit %d, want %d: %s" % (words, rc, want, err)
        assert words in err, (words, err)
    rc, out, err = ctx.run(["--help"])
    assert rc == 0 and "SAS_URL" in out


def sc_collect(ctx):
    """apdiag collect --upload: the archive just written goes up, named after the device."""
    root = os.path.join(ctx.tmp, "vol")
    os.makedirs(os.path.join(root, "Windows", "System32"))
    cab = os.path.join(ctx.tmp, "out.cab")
    with azlib.Azurite(ctx.tmp) as az:
        azlib.create_container(az, "bundles")
        q = ctx.sas(azlib.service_sas("bundles"))
        rc, out, err = ctx.run(["--root", root, "-o", cab, "--no-progress",
                                "--upload", az.base + "/bundles?" + q], verb="collect")
        import hashlib
        data = open(cab, "rb").read()
        blob = expect_ok(ctx, rc, out, err, az, "bundles", hashlib.sha256(data).hexdigest(),
                         len(data))
        assert out.startswith("apdiag collect: "), out
        assert re.fullmatch(r"apdiag-unknown-\d{8}T\d{6}Z-[0-9a-f]{12}\.cab", blob), blob
        # the URL on standard input; an expired SAS ends with upload's exit code, the
        # archive stays
        qx = ctx.sas(azlib.service_sas("bundles", expiry_s=-3600))
        rc, out, err = ctx.run(["--root", root, "-o", cab, "--no-progress", "--upload", "-"],
                               stdin=az.base + "/bundles?" + qx + "\n", verb="collect")
        assert rc == 6, (rc, err)
        assert os.path.exists(cab)


SCENARIOS = {
    "collect": sc_collect,
    "cli": sc_cli, "small": sc_small, "large": sc_large, "drop": sc_drop, "busy": sc_busy,
    "slow": sc_slow, "resume": sc_resume, "denied": sc_denied, "proxyenv": sc_proxyenv,
}


def nosig(logdir):
    """Grep everything every scenario printed for every signature any of them used."""
    sigs, folders = [], 0
    if os.path.isdir(logdir):
        for d in sorted(os.listdir(logdir)):
            p = os.path.join(logdir, d, "sigs")
            if os.path.exists(p):
                folders += 1
                sigs += [s for s in open(p).read().split("\n") if s]
    if folders == 0:
        print("SKIP: no upload test has run yet (no logs in %s)" % logdir)
        return 77
    leaks = find_leaks(logdir, sigs)
    files = sum(len([f for f in fs if f.endswith(".out")]) for _r, _d, fs in os.walk(logdir))
    print("nosig: %d signatures, %d output files of %d scenarios: %d leaks"
          % (len(sigs), files, folders, len(leaks)))
    for leak in leaks:
        print("LEAK: " + leak)
    return 1 if leaks else 0


def main():
    name, apdiag, logdir = sys.argv[1], sys.argv[2], sys.argv[3]
    if name == "nosig":
        return nosig(logdir)
    ctx = Ctx(name, apdiag, logdir)
    try:
        if name != "cli":
            azlib.find_azurite()
        SCENARIOS[name](ctx)
        ctx.check_no_sig()
        print("PASS " + name)
        return 0
    except azlib.Skip as e:
        if os.environ.get("CI") == "true":
            # CI installs Azurite (tools/install-deps.sh): there a skip is a failure
            print("FAIL (CI=true): " + str(e))
            return 1
        print("SKIP: " + str(e))
        return 77
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        ctx.done()


if __name__ == "__main__":
    sys.exit(main())
