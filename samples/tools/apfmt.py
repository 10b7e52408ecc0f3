"""Writers for the Windows text formats found in Autopilot diagnostics bundles.

Every writer returns bytes exactly as Windows would put them on disk (line
endings, encodings, byte-order marks), so that the parsers are tested on the
real grammar.  Used by gen_pieces.py; nothing here does I/O.

Formats (see docs DOMAIN.md):
  * MdmDiagReport_RegistryDump.reg  (MdmLogCollector::DumpRegistryKey, §1.4)
  * reg.exe / regedit export        (§3)
  * CMTrace lines as IME writes them (§4)
"""

import datetime as _dt

# ---------------------------------------------------------------------------
# Registry model
#
# A key is a Node: ordered values + subkeys.  Values are tuples
# (name, kind, data); name '' is the default value.
#   kind: 'sz' str | 'dword' int | 'qword' int | 'multi' [str] |
#         'expand' str | 'binary' bytes | ('hex', n) bytes
# Subkeys are enumerated case-insensitively sorted, as RegEnumKeyExW returns
# them; values keep their insertion order, as RegEnumValueW returns them.
# ---------------------------------------------------------------------------


class Node:
    def __init__(self, values=None):
        self.values = list(values or [])
        self.subkeys = {}

    def key(self, path):
        """Return (creating) the descendant at backslash-separated path."""
        node = self
        for part in path.split("\\"):
            if not part:
                continue
            found = None
            for name in node.subkeys:
                if name.lower() == part.lower():
                    found = name
                    break
            if found is None:
                node.subkeys[part] = Node()
                found = part
            node = node.subkeys[found]
        return node

    def set(self, name, kind, data):
        self.values.append((name, kind, data))
        return self

    def sz(self, name, s):
        return self.set(name, "sz", s)

    def dword(self, name, v):
        return self.set(name, "dword", v & 0xFFFFFFFF)

    def qword(self, name, v):
        return self.set(name, "qword", v & 0xFFFFFFFFFFFFFFFF)

    def multi(self, name, items):
        return self.set(name, "multi", list(items))

    def expand(self, name, s):
        return self.set(name, "expand", s)

    def binary(self, name, b):
        return self.set(name, "binary", bytes(b))

    def sorted_subkeys(self):
        return sorted(self.subkeys.items(), key=lambda kv: kv[0].lower())


def utf16z(s):
    return s.encode("utf-16-le") + b"\x00\x00"


def multi_bytes(items):
    return b"".join(utf16z(s) for s in items) + b"\x00\x00"


def filetime(dt):
    """REG_BINARY FILETIME (100 ns ticks since 1601-01-01 UTC), little-endian."""
    epoch = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc)
    ticks = int((dt - epoch).total_seconds()) * 10_000_000 + dt.microsecond * 10
    return ticks.to_bytes(8, "little")


def systemtime(year, month, dow, day, hour, minute=0, sec=0, ms=0):
    """SYSTEMTIME, 8 little-endian WORDs (16 bytes), as TIME_ZONE_INFORMATION uses."""
    out = b""
    for w in (year, month, dow, day, hour, minute, sec, ms):
        out += w.to_bytes(2, "little")
    return out


# --- MdmDiagReport_RegistryDump.reg --------------------------------------


def _hexbytes(b):
    return ",".join("%02x" % x for x in b)


def _ansi(s):
    # narrow fwprintf through the ANSI code page: unmappable -> '?'
    return s.encode("cp1252", errors="replace")


def mdm_dump_key(hive, path, node):
    """Dump one key and its subtree the way MdmLogCollector::DumpRegistryKey does.

    File opened with _wfopen_s(.., "a+") in text mode: every \\n becomes CRLF.
    """
    out = []
    out.append(_ansi("[%s\\%s]" % (hive, path)) + b"\r\n")
    for name, kind, data in node.values:
        line = _ansi('    "%s"=' % name) if name else b"    @="
        if kind == "sz":
            line += b'"' + _ansi(data) + b'"'
        elif kind == "dword":
            line += b"DWORD:%08x" % data
        elif kind == "qword":
            line += b"QWORD:%x" % data
        elif kind == "multi":
            line += b"MULTI_SZ:" + b",".join(b'"' + _ansi(s) + b'"' for s in data)
        elif kind == "expand":
            line += b"hex(2):" + _hexbytes(utf16z(data)).encode()
        elif kind == "binary":
            line += b"hex(3):" + _hexbytes(data).encode()
        elif isinstance(kind, tuple) and kind[0] == "hex":
            line += b"hex(%x):" % kind[1] + _hexbytes(data).encode()
        else:
            raise ValueError(kind)
        out.append(line + b"\r\n")
    out.append(b"\r\n")
    for sub, child in node.sorted_subkeys():
        out.append(mdm_dump_key(hive, path + "\\" + sub, child))
    return b"".join(out)


# --- reg.exe EXPORT (version 5) -------------------------------------------


def _reg_escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _reg_hex(prefix, data):
    """regedit/reg.exe hex list: wrap when the line reaches 77 columns,
    end the line with ',\\' and indent the continuation by two spaces."""
    parts = [prefix]
    line_len = len(prefix)
    n = len(data)
    for i, byte in enumerate(data):
        parts.append("%02x" % byte)
        if i == n - 1:
            break
        parts.append(",")
        line_len += 3
        if line_len >= 77:
            parts.append("\\\r\n  ")
            line_len = 2
    return "".join(parts)


def regexport_key(path, node):
    out = ["[%s]\r\n" % path]
    for name, kind, data in node.values:
        lhs = '"%s"=' % _reg_escape(name) if name else "@="
        if kind == "sz":
            out.append(lhs + '"' + _reg_escape(data) + '"')
        elif kind == "dword":
            out.append(lhs + "dword:%08x" % data)
        elif kind == "qword":
            out.append(_reg_hex(lhs + "hex(b):", data.to_bytes(8, "little")))
        elif kind == "multi":
            out.append(_reg_hex(lhs + "hex(7):", multi_bytes(data)))
        elif kind == "expand":
            out.append(_reg_hex(lhs + "hex(2):", utf16z(data)))
        elif kind == "binary":
            out.append(_reg_hex(lhs + "hex:", data))
        elif isinstance(kind, tuple) and kind[0] == "hex":
            out.append(_reg_hex(lhs + "hex(%x):" % kind[1], data))
        else:
            raise ValueError(kind)
        out.append("\r\n")
    out.append("\r\n")
    for sub, child in node.sorted_subkeys():
        out.append(regexport_key(path + "\\" + sub, child))
    return "".join(out)


def regexport(path, node):
    """Whole export.reg: UTF-16LE with BOM, CRLF, version-5 header."""
    text = "Windows Registry Editor Version 5.00\r\n\r\n" + regexport_key(path, node)
    return b"\xff\xfe" + text.encode("utf-16-le")


# --- CMTrace (IME) ----------------------------------------------------------


class CMTrace:
    """Accumulates IME-style CMTrace records.

    time is device-local with 7 fractional digits and no bias; date is
    M-D-YYYY without zero padding; context and file are empty.  The file is
    UTF-8 with BOM and CRLF.  A message may contain CRLF (or, like IME's
    exception text, a bare LF) and is then a multi-line record whose
    metadata sits on its last line.
    """

    def __init__(self, component, start, rng, thread=4):
        self.component = component
        self.ticks = int((start - _dt.datetime(1, 1, 1)).total_seconds()) * 10_000_000
        self.rng = rng
        self.thread = thread
        self.records = []

    def now(self):
        return _dt.datetime(1, 1, 1) + _dt.timedelta(microseconds=self.ticks // 10)

    def advance(self, seconds=0.0, jitter=0.0):
        extra = self.rng.uniform(0, jitter) if jitter else 0.0
        self.ticks += int((seconds + extra) * 10_000_000)

    def set_time(self, dt):
        t = int((dt - _dt.datetime(1, 1, 1)).total_seconds()) * 10_000_000
        if t > self.ticks:
            self.ticks = t + self.rng.randrange(0, 9_999_999)

    def log(self, msg, type_=1, thread=None, step=0.004, component=None):
        # IME stamps often repeat: the clock it reads has ~1-15 ms resolution
        if step:
            if self.rng.random() < 0.35:
                pass
            else:
                self.ticks += self.rng.randrange(1, int(step * 10_000_000) + 2)
        th = self.thread if thread is None else thread
        self.records.append((msg, self.ticks, component or self.component, type_, th))

    @staticmethod
    def _fmt(msg, ticks, component, type_, thread):
        dt = _dt.datetime(1, 1, 1) + _dt.timedelta(microseconds=ticks // 10)
        frac = ticks % 10_000_000
        return '<![LOG[%s]LOG]!><time="%02d:%02d:%02d.%07d" date="%d-%d-%d" component="%s" context="" type="%d" thread="%d" file="">\r\n' % (
            msg, dt.hour, dt.minute, dt.second, frac, dt.month, dt.day, dt.year,
            component, type_, thread)

    def render(self, records=None):
        recs = self.records if records is None else records
        return b"\xef\xbb\xbf" + "".join(self._fmt(*r) for r in recs).encode("utf-8")


def crlf(text):
    """Normalise a Python text block to CRLF line endings."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
