"""azlib.py - what the upload tests need around `apdiag upload`.

- Azurite: find it, start one per test on 127.0.0.1 with a free port and a
  temporary folder, stop it.
- SAS: sign service and account SAS tokens with the emulator's well-known
  development key (hmac/hashlib/base64 only).
- Blob REST calls the tests make themselves (create a container, download a
  blob, list its blocks), straight to Azurite.
- FaultProxy: a small HTTP proxy, reverse (the SAS URL points at it) or
  forward (http_proxy points at it), that counts requests and injects
  faults: connections dropped in the middle of a block, 503 with
  Retry-After, slow and stalled responses.

The proxy logs only methods, paths and the comp/blockid parameters: never a
query string, so the test logs never hold a SAS either.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "devstoreaccount1"
# The emulator's published development key (not a secret: it is in Azure's docs).
KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
       "K1SZFPTOtr/KBHBeksoGMGw==")
SAS_VERSION = "2021-08-06"
API_VERSION = "2023-11-03"
AZURITE_PREFIX = "/usr/local/lib/apdiag-azurite"   # tools/install-deps.sh installs here


class Skip(Exception):
    """A precondition is missing: the test exits 77 (meson: SKIP)."""


def find_azurite():
    """The azurite-blob launcher: $APD_AZURITE, the pinned install, or PATH."""
    cands = [os.environ.get("APD_AZURITE"),
             os.path.join(AZURITE_PREFIX, "node_modules", ".bin", "azurite-blob"),
             shutil.which("azurite-blob")]
    for c in cands:
        if c and os.access(c, os.X_OK):
            if shutil.which("node") is None:
                raise Skip("azurite found at %s but node is not installed" % c)
            return c
    raise Skip("Azurite is not installed (tools/install-deps.sh installs azurite@3.35.0 "
               "into %s; or set APD_AZURITE)" % AZURITE_PREFIX)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Azurite:
    """One Azurite blob service on 127.0.0.1:<random port>, data in a temp folder."""

    def __init__(self, workdir):
        self.exe = find_azurite()
        self.dir = tempfile.mkdtemp(prefix="azurite-", dir=workdir)
        self.proc = None
        self.port = None
        self.log = os.path.join(workdir, "azurite.log")

    def start(self):
        for _ in range(5):
            self.port = free_port()
            logf = open(self.log, "ab")
            self.proc = subprocess.Popen(
                [self.exe, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                 "--location", self.dir, "--silent", "--disableTelemetry"],
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
            logf.close()
            deadline = time.time() + 60
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.2)
            self.stop()
        raise RuntimeError("Azurite did not start; see %s" % self.log)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def base(self):
        return "http://127.0.0.1:%d/%s" % (self.port, ACCOUNT)


def _sign(string_to_sign):
    mac = hmac.new(base64.b64decode(KEY), string_to_sign.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def service_sas(container, blob=None, perms="racwl", expiry_s=3600, start_s=-300):
    """A service SAS query string for a container (sr=c) or a blob (sr=b)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    st, se = _iso(now + datetime.timedelta(seconds=start_s)), _iso(
        now + datetime.timedelta(seconds=expiry_s))
    sr = "b" if blob else "c"
    if blob:
        perms = "".join(c for c in perms if c != "l")
    res = "/blob/%s/%s%s" % (ACCOUNT, container, "/" + blob if blob else "")
    sts = "\n".join([perms, st, se, res, "", "", "", SAS_VERSION, sr, "", "", "", "", "", "", ""])
    q = [("sv", SAS_VERSION), ("st", st), ("se", se), ("sr", sr), ("sp", perms),
         ("sig", _sign(sts))]
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe=":")


def account_sas(perms="rwdlacup", expiry_s=3600):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    st, se = _iso(now - datetime.timedelta(minutes=5)), _iso(
        now + datetime.timedelta(seconds=expiry_s))
    sts = "\n".join([ACCOUNT, perms, "b", "sco", st, se, "", "", SAS_VERSION, ""]) + "\n"
    q = [("sv", SAS_VERSION), ("ss", "b"), ("srt", "sco"), ("sp", perms), ("st", st),
         ("se", se), ("sig", _sign(sts))]
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe=":")


def sig_of(query):
    """The signature of a SAS query string, decoded and as in the URL."""
    enc = [v for k, v in (p.split("=", 1) for p in query.split("&")) if k == "sig"][0]
    return urllib.parse.unquote(enc), enc


def _request(az, method, path, query, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", az.port, timeout=120)
    h = {"x-ms-version": API_VERSION}
    h.update(headers or {})
    c.request(method, "/%s/%s?%s" % (ACCOUNT, path, query), body=body, headers=h)
    r = c.getresponse()
    return c, r


def create_container(az, name):
    c, r = _request(az, "PUT", name, "restype=container&" + account_sas())
    r.read()
    c.close()
    if r.status not in (201, 409):
        raise RuntimeError("create container: HTTP %d" % r.status)


def blob_sha256(az, container, blob):
    """Download a blob (streamed) and return (sha256 hex, size, headers)."""
    c, r = _request(az, "GET", container + "/" + urllib.parse.quote(blob),
                    service_sas(container))
    if r.status != 200:
        r.read()
        c.close()
        raise RuntimeError("download %s: HTTP %d" % (blob, r.status))
    h, n = hashlib.sha256(), 0
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return h.hexdigest(), n, hdrs


def block_list(az, container, blob):
    """(committed ids, uncommitted ids) of a blob; empty lists if it does not exist."""
    c, r = _request(az, "GET", container + "/" + urllib.parse.quote(blob),
                    "comp=blocklist&blocklisttype=all&" + service_sas(container))
    data = r.read()
    c.close()
    if r.status == 404:
        return [], []
    root = ET.fromstring(data)
    out = []
    for tag in ("CommittedBlocks", "UncommittedBlocks"):
        el = root.find(tag)
        out.append([b.findtext("Name") for b in (el if el is not None else [])])
    return out[0], out[1]


def list_blobs(az, container):
    c, r = _request(az, "GET", container, "restype=container&comp=list&" +
                    service_sas(container))
    data = r.read()
    c.close()
    root = ET.fromstring(data)
    return [b.findtext("Name") for b in root.iter("Blob")]


def make_file(path, size, seed=1):
    """A file of size pseudo-random bytes (fast: a repeated 1 MiB random pattern
    shifted by a counter, so no two blocks are equal)."""
    rnd = hashlib.sha256(str(seed).encode()).digest()
    chunk = bytearray()
    while len(chunk) < (1 << 20):
        rnd = hashlib.sha256(rnd).digest()
        chunk += rnd
    chunk = bytes(chunk[:1 << 20])
    h = hashlib.sha256()
    with open(path, "wb") as f:
        i, left = 0, size
        while left > 0:
            piece = struct.pack("<Q", i) + chunk[8:]
            piece = piece[:left]
            f.write(piece)
            h.update(piece)
            left -= len(piece)
            i += 1
    return h.hexdigest()


# ---- the fault-injection proxy ----

class Faults:
    """What the proxy does to requests; every counter is guarded by lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = []                  # (method, comp, blockid, status or 'dropped')
        self.drop_blocks = set()       # Put Block numbers (1-based, in arrival order) to drop
        self.fail503 = set()           # request numbers (1-based) answered 503
        self.retry_after = "1"
        self.delay_s = 0.0             # added before every response
        self.stall_requests = set()    # request numbers that stall (never answered)
        self.stall_s = 0.0
        self.n_requests = 0
        self.n_put_blocks = 0
        self.ok_put_blocks = 0
        self.on_put_block_ok = None    # callback(count) after each forwarded 201 Put Block

    def count(self, method=None, comp=None, status=None):
        with self.lock:
            return sum(1 for m, c, _b, s in self.log
                       if (method is None or m == method) and (comp is None or c == comp)
                       and (status is None or s == status))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"

    def log_message(self, fmt, *args):   # quiet: and never a query string
        pass

    def _target(self):
        """(host, port, path?query) to forward to."""
        if self.path.startswith("http://"):          # forward proxy: absolute form
            u = urllib.parse.urlsplit(self.path)
            return u.hostname, u.port or 80, u.path + ("?" + u.query if u.query else "")
        return "127.0.0.1", self.server.upstream_port, self.path

    def _handle(self):
        try:
            self._proxy()
        except (ConnectionError, BrokenPipeError, TimeoutError, OSError):
            self.close_connection = True   # the client went away (killed, or timed out)

    def _proxy(self):
        f = self.server.faults
        host, port, path = self._target()
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        comp = (q.get("comp") or [""])[0]
        blockid = (q.get("blockid") or [""])[0]
        length = int(self.headers.get("Content-Length") or 0)
        with f.lock:
            f.n_requests += 1
            nreq = f.n_requests
            is_block = self.command == "PUT" and comp == "block"
            if is_block:
                f.n_put_blocks += 1
                nblk = f.n_put_blocks
        if is_block and nblk in f.drop_blocks:
            # read half the block, then reset the connection
            self.rfile.read(length // 2)
            with f.lock:
                f.log.append((self.command, comp, blockid, "dropped"))
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else None
        if nreq in f.stall_requests:
            with f.lock:
                f.log.append((self.command, comp, blockid, "stalled"))
            time.sleep(f.stall_s)
            self.close_connection = True
            return
        if nreq in f.fail503:
            with f.lock:
                f.log.append((self.command, comp, blockid, 503))
            self.send_response(503)
            self.send_header("Retry-After", f.retry_after)
            self.send_header("x-ms-error-code", "ServerBusy")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if f.delay_s:
            time.sleep(f.delay_s)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "proxy-connection", "keep-alive")}
        up = http.client.HTTPConnection(host, port, timeout=300)
        up.request(self.command, path, body=body, headers=hdrs)
        r = up.getresponse()
        data = r.read()
        up.close()
        with f.lock:
            f.log.append((self.command, comp, blockid, r.status))
            if is_block and r.status == 201:
                f.ok_put_blocks += 1
                cb, n = f.on_put_block_ok, f.ok_put_blocks
            else:
                cb = None
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        # a HEAD answer tells the length of the blob, not of its (empty) body
        self.send_header("Content-Length", r.getheader("Content-Length", "0")
                         if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if cb:
            cb(n)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a client killed or reset on purpose (the resume and drop tests): not news
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultProxy:
    def __init__(self, upstream_port, faults=None):
        self.faults = faults or Faults()
        self.srv = _Server(("127.0.0.1", 0), _Handler)
        self.srv.daemon_threads = True
        self.srv.faults = self.faults
        self.srv.upstream_port = upstream_port
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.srv.shutdown()
        self.srv.server_close()

    @property
    def base(self):
        return "http://127.0.0.1:%d/%s" % (self.port, ACCOUNT)
