#!/usr/bin/env python3
"""Write byte-faithful Windows EVTX files from a declarative JSON spec.

    evtx_write.py SPEC.json -o OUT.evtx [--expect OUT.jsonl]

The output has the layout Windows' event log service writes (DOMAIN.md §8):
a 4096-byte file header, 64 KiB chunks with their string and template
tables, records whose BinXML is a template instance of the standard System
template, and the EventData or UserData in a nested template instance (value
17, as modern manifest providers log it) or in the outer template itself
("flat", as older Security events do).  Names and template definitions are
written inline the first time a chunk uses them and referenced by offset
afterwards.  All CRCs are real.  `--expect` writes, one JSON object a record,
what a faithful reader must render (see README.md next to this file).

Standard library only; deterministic (same spec, same bytes).
"""

import argparse
import datetime as _dt
import hashlib
import json
import re
import struct
import sys
import zlib

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"

# ---------------------------------------------------------------------------
# Value types (DOMAIN.md §8.6).  name -> (code, fixed size or None)
# ---------------------------------------------------------------------------

TYPES = {
    "null": (0x00, 0),
    "string": (0x01, None),
    "ansistring": (0x02, None),
    "int8": (0x03, 1), "uint8": (0x04, 1),
    "int16": (0x05, 2), "uint16": (0x06, 2),
    "int32": (0x07, 4), "uint32": (0x08, 4),
    "int64": (0x09, 8), "uint64": (0x0A, 8),
    "real32": (0x0B, 4), "real64": (0x0C, 8),
    "bool": (0x0D, 4),
    "binary": (0x0E, None),
    "guid": (0x0F, 16),
    "sizet": (0x10, 8),
    "filetime": (0x11, 8),
    "systemtime": (0x12, 16),
    "sid": (0x13, None),
    "hexint32": (0x14, 4),
    "hexint64": (0x15, 8),
    "binxml": (0x21, None),
}
INT_FMT = {"int8": "<b", "uint8": "<B", "int16": "<h", "uint16": "<H",
           "int32": "<i", "uint32": "<I", "int64": "<q", "uint64": "<Q",
           "hexint32": "<I", "hexint64": "<Q", "sizet": "<Q", "bool": "<I"}
ARRAY_OK = {"string", "ansistring", "int8", "uint8", "int16", "uint16", "int32",
            "uint32", "int64", "uint64", "real32", "real64", "bool", "guid",
            "sizet", "filetime", "systemtime", "hexint32", "hexint64"}


class SpecError(Exception):
    pass


def base_type(t):
    return t[:-2] if t.endswith("[]") else t


def type_code(t):
    b = base_type(t)
    if b not in TYPES:
        raise SpecError("unknown value type %r" % t)
    code = TYPES[b][0]
    if t.endswith("[]"):
        if b not in ARRAY_OK:
            raise SpecError("no array form for %r" % b)
        code |= 0x80
    return code


# ---------------------------------------------------------------------------
# Scalar conversions
# ---------------------------------------------------------------------------

_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc)
_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z?$")


def parse_time(s):
    """ISO 8601 UTC ('2025-10-01T09:12:03.1234567Z') -> FILETIME ticks."""
    if isinstance(s, int):
        return s
    m = _ISO.match(s)
    if not m:
        raise SpecError("bad time %r (want YYYY-MM-DDTHH:MM:SS[.fffffff]Z)" % s)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "").ljust(7, "0")
    dt = _dt.datetime(y, mo, d, h, mi, se, tzinfo=_dt.timezone.utc)
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**7 + int(frac)


def format_filetime(ft):
    """FILETIME -> '2025-10-01T09:12:03.1234567Z' (100 ns precision)."""
    secs, frac = divmod(ft, 10**7)
    dt = _EPOCH + _dt.timedelta(seconds=secs)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%07dZ" % frac


def guid_bytes(s):
    h = s.strip("{}").replace("-", "")
    if len(h) != 32:
        raise SpecError("bad GUID %r" % s)
    raw = bytes.fromhex(h)
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


def guid_str(b):
    return "{%08X-%04X-%04X-%s-%s}" % (
        struct.unpack_from("<I", b)[0], struct.unpack_from("<H", b, 4)[0],
        struct.unpack_from("<H", b, 6)[0], b[8:10].hex().upper(), b[10:].hex().upper())


def sid_bytes(s):
    parts = s.split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise SpecError("bad SID %r" % s)
    rev, auth = int(parts[1]), int(parts[2])
    subs = [int(x) for x in parts[3:]]
    return (struct.pack("<BB", rev, len(subs)) + auth.to_bytes(6, "big")
            + b"".join(struct.pack("<I", x) for x in subs))


def systemtime_bytes(s):
    """'2025-10-01T09:12:03.123Z' -> SYSTEMTIME (8 x u16; weekday computed)."""
    m = _ISO.match(s)
    if not m:
        raise SpecError("bad SYSTEMTIME %r" % s)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    ms = int((m.group(7) or "0").ljust(3, "0")[:3])
    wd = (_dt.date(y, mo, d).weekday() + 1) % 7        # Sunday = 0
    return struct.pack("<8H", y, mo, wd, d, h, mi, se, ms)


def parse_int(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v, 0)
    raise SpecError("not an integer: %r" % (v,))


def scalar_bytes(t, v):
    """Encode one scalar value of base type t (no array)."""
    if t == "string":
        return v.encode("utf-16-le")
    if t == "ansistring":
        try:
            return v.encode("cp1252") + b"\0"
        except UnicodeEncodeError:
            raise SpecError("AnsiString %r is not Windows-1252 text" % v)
    if t in INT_FMT:
        if t == "bool" and isinstance(v, bool):
            v = int(v)
        return struct.pack(INT_FMT[t], parse_int(v))
    if t == "real32":
        return struct.pack("<f", float(v))
    if t == "real64":
        return struct.pack("<d", float(v))
    if t == "binary":
        return bytes.fromhex(v)
    if t == "guid":
        return guid_bytes(v)
    if t == "filetime":
        return struct.pack("<Q", parse_time(v))
    if t == "systemtime":
        return systemtime_bytes(v)
    if t == "sid":
        return sid_bytes(v)
    raise SpecError("cannot encode %r" % t)


def array_bytes(t, values):
    b = base_type(t)
    if b == "string":
        return b"".join(x.encode("utf-16-le") + b"\0\0" for x in values)
    if b == "ansistring":
        return b"".join(x.encode("cp1252") + b"\0" for x in values)
    return b"".join(scalar_bytes(b, x) for x in values)


# ---------------------------------------------------------------------------
# Rendering: what the XML of a faithful reader shows (libevtx conventions)
# ---------------------------------------------------------------------------

def _fmt_real(x, single):
    """libevtx's rendering of reals: C "%e" with a 3-digit exponent."""
    if single:
        x = struct.unpack("<f", struct.pack("<f", x))[0]
    m, e = ("%.6e" % x).split("e")
    return "%se%s%03d" % (m, e[0], abs(int(e)))


def render_scalar(t, v):
    if t in ("string", "ansistring"):
        return v
    if t in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"):
        return str(parse_int(v))
    if t == "bool":
        return "true" if parse_int(v) else "false"
    if t == "hexint32":
        return "0x%08x" % (parse_int(v) & 0xFFFFFFFF)
    if t == "hexint64":
        return "0x%016x" % (parse_int(v) & 0xFFFFFFFFFFFFFFFF)
    if t == "sizet":
        return str(parse_int(v) & 0xFFFFFFFFFFFFFFFF)      # libevtx: decimal
    if t == "real32":
        return _fmt_real(float(v), True)
    if t == "real64":
        return _fmt_real(float(v), False)
    if t == "binary":
        return v.upper()
    if t == "guid":
        return guid_str(guid_bytes(v))
    if t == "filetime":
        return format_filetime(parse_time(v))
    if t == "systemtime":
        y, mo, _wd, d, h, mi, se, ms = struct.unpack("<8H", systemtime_bytes(v))
        return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (y, mo, d, h, mi, se, ms)
    if t == "sid":
        return v.upper() if v[:2].lower() == "s-" else v
    raise SpecError("cannot render %r" % t)


def tree_xml(node):
    """Compact XML of a literal element tree (nested BinXML values)."""
    def esc(s, attr=False):
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return s.replace('"', "&quot;") if attr else s
    out = "<" + node["name"]
    for k, v in node.get("attrs", {}).items():
        out += ' %s="%s"' % (k, esc(v, True))
    kids = node.get("children", [])
    text = node.get("text")
    if not kids and text is None:
        return out + "/>"
    out += ">"
    if text is not None:
        out += esc(text)
    for k in kids:
        out += tree_xml(k)
    return out + "</%s>" % node["name"]


# ---------------------------------------------------------------------------
# Chunk builder
# ---------------------------------------------------------------------------

def name_hash(s):
    """MS-EVEN6 name hash over UTF-16 code units, low 16 bits."""
    h = 0
    raw = s.encode("utf-16-le")
    for (unit,) in struct.iter_unpack("<H", raw):
        h = (h * 65599 + unit) & 0xFFFFFFFF
    return h & 0xFFFF


class Chunk:
    def __init__(self, index):
        self.index = index
        self.buf = bytearray(CHUNK_SIZE)
        self.pos = CHUNK_HEADER_SIZE
        self.names = {}                   # name -> offset
        self.str_heads = [0] * 64
        self.templates = {}               # template key -> definition offset
        self.tpl_heads = [0] * 32
        self.records = []                 # (record id, offset)
        self.last_record_offset = 0

    def snapshot(self):
        return (dict(self.names), list(self.str_heads), dict(self.templates),
                list(self.tpl_heads))

    def restore(self, snap):
        self.names, self.str_heads, self.templates, self.tpl_heads = (
            snap[0], snap[1], snap[2], snap[3])

    def finish(self):
        b = self.buf
        first_id = self.records[0][0]
        last_id = self.records[-1][0]
        struct.pack_into("<8sQQQQIII", b, 0, b"ElfChnk\0", first_id, last_id,
                         first_id, last_id, 128, self.last_record_offset, self.pos)
        struct.pack_into("<I", b, 52, zlib.crc32(b[CHUNK_HEADER_SIZE:self.pos]) & 0xFFFFFFFF)
        struct.pack_into("<I", b, 120, 1)      # Windows sets 1 in every chunk it writes
        struct.pack_into("<64I", b, 128, *self.str_heads)
        struct.pack_into("<32I", b, 384, *self.tpl_heads)
        crc = zlib.crc32(bytes(b[0:120]) + bytes(b[128:512])) & 0xFFFFFFFF
        struct.pack_into("<I", b, 124, crc)
        return bytes(b)


class Out:
    """BinXML emitter that knows the chunk offset of every byte it writes."""

    def __init__(self, chunk, base):
        self.chunk = chunk
        self.base = base
        self.b = bytearray()

    def off(self):
        return self.base + len(self.b)

    def u8(self, v):
        self.b += struct.pack("<B", v)

    def u16(self, v):
        self.b += struct.pack("<H", v)

    def u32(self, v):
        self.b += struct.pack("<I", v)

    def patch32(self, at, v):
        struct.pack_into("<I", self.b, at - self.base, v)

    def name(self, s):
        """Name reference; the name itself follows inline on first use."""
        ch = self.chunk
        if s in ch.names:
            self.u32(ch.names[s])
            return
        at = self.off() + 4
        self.u32(at)
        h = name_hash(s)
        bucket = h % 64
        raw = s.encode("utf-16-le")
        self.u32(ch.str_heads[bucket])
        self.u16(h)
        self.u16(len(raw) // 2)
        self.b += raw + b"\0\0"
        ch.names[s] = at
        ch.str_heads[bucket] = at


# Template trees.  A node is one of
#   ("elem", name, dependency_id, [(attr_name, content)], [children])
#   ("text", str)                                   literal value (token 0x05)
#   ("subst", index, type_code, optional)           token 0x0D, or 0x0E if optional
# Attribute content is a "text" or a "subst" node.

def emit_content(o, c):
    if c[0] == "text":
        raw = c[1].encode("utf-16-le")
        o.u8(0x05)
        o.u8(0x01)                       # value type: UTF-16 string
        o.u16(len(raw) // 2)
        o.b += raw
    elif c[0] == "subst":
        _, idx, code, optional = c
        o.u8(0x0E if optional else 0x0D)
        o.u16(idx)
        o.u8(code)
    else:
        raise AssertionError(c)


def emit_elem(o, e, with_dep):
    """OpenStartElement ... EndElement/CloseEmptyElement.

    The element size counts every byte after the size field, inline name
    included, up to and including the closing token.  with_dep=False writes
    no dependency identifier (content of a BinXml substitution value).
    """
    _, name, dep, attrs, kids = e
    o.u8(0x41 if attrs else 0x01)
    if with_dep:
        o.u16(dep)
    size_at = o.off()
    o.u32(0)
    o.name(name)
    if attrs:
        alist_at = o.off()
        o.u32(0)
        start = o.off()
        for i, (an, ac) in enumerate(attrs):
            o.u8(0x46 if i + 1 < len(attrs) else 0x06)
            o.name(an)
            emit_content(o, ac)
        o.patch32(alist_at, o.off() - start)
    if not kids:
        o.u8(0x03)
    else:
        o.u8(0x02)
        for k in kids:
            if k[0] == "elem":
                emit_elem(o, k, with_dep)
            else:
                emit_content(o, k)
        o.u8(0x04)
    o.patch32(size_at, o.off() - size_at - 4)


def tree_key(e):
    """The logical identity of a template tree (used to share definitions)."""
    if e[0] == "elem":
        return ("e", e[1], e[2], tuple((a, tuple(c)) for a, c in e[3]),
                tuple(tree_key(k) for k in e[4]))
    return tuple(e)


def emit_template_instance(o, tree, values, where):
    """Token 0x0C: definition inline on its first use in the chunk, else by offset.

    values: list of (type_code, payload) in substitution order; payload is
    bytes, or a callable(o) that writes a BinXml value at its final chunk
    offset (names and templates inside it are chunk-relative).
    """
    ch = o.chunk
    key = tree_key(tree)
    guid = hashlib.md5(repr(key).encode("utf-8")).digest()
    tid = struct.unpack_from("<I", guid)[0]    # Windows: the GUID's first dword
    o.u8(0x0C)
    o.u8(0x01)
    o.u32(tid)
    if key in ch.templates:
        o.u32(ch.templates[key])
    else:
        at = o.off() + 4
        o.u32(at)
        bucket = tid % 32     # Windows' bucket function is unknown; readers do not use it
        o.u32(ch.tpl_heads[bucket])            # next template in the bucket
        o.b += guid
        size_at = o.off()
        o.u32(0)
        start = o.off()
        o.b += b"\x0f\x01\x01\x00"             # fragment header
        emit_elem(o, tree, True)
        o.u8(0x00)                             # EOF
        o.patch32(size_at, o.off() - start)
        ch.templates[key] = at
        ch.tpl_heads[bucket] = at
    o.u32(len(values))
    desc_at = o.off()
    o.b += b"\0" * (4 * len(values))
    for i, (code, payload) in enumerate(values):
        start = o.off()
        if callable(payload):
            payload(o)
        else:
            o.b += payload
        n = o.off() - start
        if n > 0xFFFF:
            raise SpecError("%s: value %d is %d bytes (a descriptor holds 65535)" % (where, i, n))
        struct.pack_into("<HBB", o.b, desc_at - o.base + 4 * i, n, code, 0)


# ---------------------------------------------------------------------------
# Spec -> records
# ---------------------------------------------------------------------------

RECORD_FIELDS = ("provider", "channel", "event_id", "version", "level", "task",
                 "opcode", "keywords", "qualifiers", "time", "process_id",
                 "thread_id", "computer", "user_id", "activity_id",
                 "related_activity_id", "layout", "event_data", "user_data",
                 "record_id", "comment")


def literal_tree(node):
    """Spec element tree with literal text only -> template node."""
    attrs = [(k, ("text", v)) for k, v in node.get("attrs", {}).items()]
    kids = []
    if node.get("text") is not None:
        kids.append(("text", node["text"]))
    kids += [literal_tree(k) for k in node.get("children", [])]
    return ("elem", node["name"], 0xFFFF, attrs, kids)


class Value:
    """One substitution value: declared type, value (None = NULL), optional flag."""

    def __init__(self, spec, where):
        if not isinstance(spec, dict) or "type" not in spec:
            raise SpecError("%s: a value needs a type" % where)
        unknown = set(spec) - {"name", "type", "value", "optional", "repeat", "comment"}
        if unknown:
            raise SpecError("%s: unknown key(s) %s" % (where, sorted(unknown)))
        self.where = where
        self.type = spec["type"]
        self.code = type_code(self.type)
        v = spec.get("value")
        if "repeat" in spec and v is not None:
            v = v * int(spec["repeat"])          # strings and arrays
        self.value = v
        self.optional = bool(spec.get("optional", v is None))
        if v is None and not self.optional:
            raise SpecError("%s: a NULL value must be an optional substitution" % where)
        if self.type.endswith("[]") and v is not None and not isinstance(v, list):
            raise SpecError("%s: an array value must be a JSON list" % where)

    def payload(self):
        """(descriptor type code, bytes or writer) for the instance data."""
        if self.value is None:
            return (0x00, b"")
        if self.type == "binxml":
            tree = literal_tree(self.value)

            def write(o):
                # As Windows writes CAPI2's nested XML: no fragment header,
                # no dependency identifiers inside substitution content.
                emit_elem(o, tree, False)
                o.u8(0x00)
            return (0x21, write)
        if self.type.endswith("[]"):
            return (self.code, array_bytes(self.type, self.value))
        return (self.code, scalar_bytes(self.type, self.value))

    def rendered(self):
        """Rendered strings, one per element the value produces.

        NULL: no element.  Array: one element per item; an empty array still
        gives one empty element.
        """
        if self.value is None:
            return []
        if self.type.endswith("[]"):
            return [render_scalar(base_type(self.type), x) for x in self.value] or [""]
        if self.type == "binxml":
            return [tree_xml(self.value)]
        return [render_scalar(self.type, self.value)]


class Payload:
    """EventData or UserData of one record: a template tree plus its values."""

    def __init__(self, rec, where):
        self.where = where
        if rec.get("user_data") is not None:
            if rec.get("event_data") is not None:
                raise SpecError("%s: event_data and user_data are exclusive" % where)
            self.kind = "UserData"
            self.node = rec["user_data"]
        else:
            # no payload: Windows still logs an EventData element (empty)
            self.kind = "EventData"
            self.items = rec.get("event_data") or []
        self.values, self.pairs = [], []
        self.tree = self._build()

    def _subst(self, vspec, where):
        v = Value(vspec, where)
        self.values.append(v)
        return ("subst", len(self.values) - 1, v.code, v.optional), v

    def _build(self):
        if self.kind == "EventData":
            kids = []
            for i, it in enumerate(self.items):
                sub, v = self._subst(it, "%s: event_data[%d]" % (self.where, i))
                name = it.get("name")
                attrs = [] if name is None else [("Name", ("text", name))]
                kids.append(("elem", "Data", 0xFFFF, attrs, [sub]))
                self.pairs += [[name, x, v.type] for x in v.rendered()]
            return ("elem", "EventData", 0xFFFF, [], kids)

        def build(node, path):
            if "name" not in node:
                raise SpecError("%s: user_data element without a name" % path)
            attrs = [(k, ("text", v)) for k, v in node.get("attrs", {}).items()]
            kids = []
            leaf = not node.get("children")
            if "value" in node:
                sub, v = self._subst(node["value"], path)
                kids.append(sub)
                self.pairs += [[node["name"], x, v.type] for x in v.rendered()]
            elif node.get("text") is not None:
                kids.append(("text", node["text"]))
                self.pairs.append([node["name"], node["text"], "text"])
            elif leaf:
                self.pairs.append([node["name"], "", "text"])
            for k in node.get("children", []):
                kids.append(build(k, path + "/" + k.get("name", "?")))
            return ("elem", node["name"], 0xFFFF, attrs, kids)

        inner = build(self.node, "%s: user_data/%s" % (self.where, self.node.get("name")))
        return ("elem", "UserData", 0xFFFF, [], [inner])

    def with_base(self, base):
        """The tree with substitution indices shifted by base (flat layout)."""
        def shift(n):
            if n[0] == "subst":
                return ("subst", n[1] + base, n[2], n[3])
            if n[0] == "elem":
                return ("elem", n[1], n[2], [(a, shift(c)) for a, c in n[3]],
                        [shift(k) for k in n[4]])
            return n
        return shift(self.tree)


def system_tree(computer, flat_payload):
    """The System template as Windows writes it for manifest providers.

    Substitutions: 0 Level, 1 Opcode, 2 Task, 3 EventID, 4 Qualifiers,
    5 Keywords, 6 TimeCreated, 7 ActivityID, 8 ProcessID, 9 ThreadID,
    10 EventRecordID, 11 Version, 12 UserID, 13 RelatedActivityID,
    14 Provider Name, 15 Provider Guid, 16 Channel; then either 17 = the
    payload as a nested template instance (BinXml value, "nested" layout) or
    the payload element itself with substitutions from 17 on ("flat").
    Dependency identifiers follow what Windows writes; Computer is literal.
    """
    def S(i, code):
        return ("subst", i, code, True)

    def E(name, dep, attrs, kids):
        return ("elem", name, dep, attrs, kids)

    system = E("System", 0xFFFF, [], [
        E("Provider", 0xFFFF, [("Name", S(14, 0x01)), ("Guid", S(15, 0x0F))], []),
        E("EventID", 3, [("Qualifiers", S(4, 0x06))], [S(3, 0x06)]),
        E("Version", 11, [], [S(11, 0x04)]),
        E("Level", 0, [], [S(0, 0x04)]),
        E("Task", 2, [], [S(2, 0x06)]),
        E("Opcode", 1, [], [S(1, 0x04)]),
        E("Keywords", 5, [], [S(5, 0x15)]),
        E("TimeCreated", 0xFFFF, [("SystemTime", S(6, 0x11))], []),
        E("EventRecordID", 10, [], [S(10, 0x0A)]),
        E("Correlation", 0xFFFF, [("ActivityID", S(7, 0x0F)),
                                  ("RelatedActivityID", S(13, 0x0F))], []),
        E("Execution", 0xFFFF, [("ProcessID", S(8, 0x08)), ("ThreadID", S(9, 0x08))], []),
        E("Channel", 16, [], [S(16, 0x01)]),
        E("Computer", 0xFFFF, [], [("text", computer)]),
        E("Security", 0xFFFF, [("UserID", S(12, 0x13))], []),
    ])
    if flat_payload is not None:
        return E("Event", 0xFFFF, [("xmlns", ("text", EVENT_NS))], [system, flat_payload])
    return E("Event", 17, [("xmlns", ("text", EVENT_NS))], [system, S(17, 0x21)])


class Record:
    def __init__(self, spec, defaults, record_id, where):
        r = dict(defaults)
        r.update(spec)
        for k in r:
            if k not in RECORD_FIELDS:
                raise SpecError("%s: unknown field %r" % (where, k))
        for k in ("provider", "channel", "event_id", "time", "computer"):
            if r.get(k) is None:
                raise SpecError("%s: %s is required" % (where, k))
        self.r = r
        self.where = where
        self.record_id = record_id
        self.ft = parse_time(r["time"])
        self.layout = r.get("layout", "nested")
        if self.layout not in ("nested", "flat"):
            raise SpecError("%s: layout must be \"nested\" or \"flat\"" % where)
        self.payload = Payload(r, where)

    def system_values(self):
        r = self.r
        prov = r["provider"]

        def opt(code, conv, v):
            return (0x00, b"") if v is None else (code, conv(v))
        u8 = lambda v: struct.pack("<B", parse_int(v))     # noqa: E731
        u16 = lambda v: struct.pack("<H", parse_int(v))    # noqa: E731
        u32 = lambda v: struct.pack("<I", parse_int(v))    # noqa: E731
        return [
            (0x04, u8(r.get("level", 4))),
            (0x04, u8(r.get("opcode", 0))),
            (0x06, u16(r.get("task", 0))),
            (0x06, u16(r["event_id"])),
            opt(0x06, u16, r.get("qualifiers")),
            (0x15, struct.pack("<Q", parse_int(r.get("keywords", "0x8000000000000000")))),
            (0x11, struct.pack("<Q", self.ft)),
            opt(0x0F, guid_bytes, r.get("activity_id")),
            (0x08, u32(r.get("process_id", 4))),
            (0x08, u32(r.get("thread_id", 8))),
            (0x0A, struct.pack("<Q", self.record_id)),
            (0x04, u8(r.get("version", 0))),
            opt(0x13, sid_bytes, r.get("user_id")),
            opt(0x0F, guid_bytes, r.get("related_activity_id")),
            (0x01, prov["name"].encode("utf-16-le")),
            opt(0x0F, guid_bytes, prov.get("guid")),
            (0x01, r["channel"].encode("utf-16-le")),
        ]

    def emit(self, chunk, offset):
        """The record's bytes at this chunk offset (chunk tables updated)."""
        o = Out(chunk, offset + 24)
        o.b += b"\x0f\x01\x01\x00"                 # fragment header
        p = self.payload
        vals = self.system_values()
        if self.layout == "flat":
            tree = system_tree(self.r["computer"], p.with_base(17))
            vals += [v.payload() for v in p.values]
        else:
            tree = system_tree(self.r["computer"], None)

            def nested(o2):
                emit_template_instance(o2, p.tree, [v.payload() for v in p.values], self.where)
            vals.append((0x21, nested))
        emit_template_instance(o, tree, vals, self.where)
        o.u8(0x00)                                 # EOF
        body = bytes(o.b)
        size = 24 + len(body) + 4
        pad = (-size) % 8                          # Windows keeps records 8-byte aligned
        size += pad
        return (struct.pack("<IIQQ", 0x00002A2A, size, self.record_id, self.ft)
                + body + b"\0" * pad + struct.pack("<I", size))

    def expectation(self):
        r = self.r
        prov = r["provider"]
        return {
            "EventRecordID": self.record_id,
            "TimeCreated": format_filetime(self.ft),
            "Provider": prov["name"],
            "ProviderGuid": None if prov.get("guid") is None else guid_str(guid_bytes(prov["guid"])),
            "EventID": parse_int(r["event_id"]),
            "Qualifiers": None if r.get("qualifiers") is None else parse_int(r["qualifiers"]),
            "Version": parse_int(r.get("version", 0)),
            "Level": parse_int(r.get("level", 4)),
            "Task": parse_int(r.get("task", 0)),
            "Opcode": parse_int(r.get("opcode", 0)),
            "Keywords": "0x%016x" % parse_int(r.get("keywords", "0x8000000000000000")),
            "ProcessID": parse_int(r.get("process_id", 4)),
            "ThreadID": parse_int(r.get("thread_id", 8)),
            "Channel": r["channel"],
            "Computer": r["computer"],
            "UserID": r.get("user_id"),
            "ActivityID": None if r.get("activity_id") is None else guid_str(guid_bytes(r["activity_id"])),
            "RelatedActivityID": (None if r.get("related_activity_id") is None
                                  else guid_str(guid_bytes(r["related_activity_id"]))),
            self.payload.kind: self.payload.pairs,
        }


# ---------------------------------------------------------------------------
# File
# ---------------------------------------------------------------------------

def build(spec):
    """spec (dict) -> (evtx bytes, [expectation dict per record], [records per chunk])."""
    for k in spec:
        if k not in ("comment", "file", "defaults", "records"):
            raise SpecError("unknown top-level key %r" % k)
    fopt = spec.get("file", {})
    for k in fopt:
        if k not in ("dirty", "full", "minor_version", "first_record_id",
                     "max_records_per_chunk", "header_overrides", "comment"):
            raise SpecError("unknown file option %r" % k)
    defaults = spec.get("defaults", {})
    recs_spec = spec.get("records", [])
    if not recs_spec:
        raise SpecError("spec has no records")
    next_id = parse_int(fopt.get("first_record_id", 1))
    per_chunk = fopt.get("max_records_per_chunk")
    records = []
    for i, rs in enumerate(recs_spec):
        rid = parse_int(rs.get("record_id", next_id))
        records.append(Record(rs, defaults, rid, "records[%d]" % i))
        next_id = rid + 1

    chunks = [Chunk(0)]
    for rec in records:
        ch = chunks[-1]
        full = per_chunk is not None and len(ch.records) >= per_chunk
        if not full:
            snap = ch.snapshot()
            data = rec.emit(ch, ch.pos)
            if ch.pos + len(data) > CHUNK_SIZE:
                ch.restore(snap)
                full = True
        if full:
            if not ch.records:
                raise SpecError("%s does not fit in an empty chunk" % rec.where)
            ch = Chunk(len(chunks))
            chunks.append(ch)
            data = rec.emit(ch, ch.pos)
            if ch.pos + len(data) > CHUNK_SIZE:
                raise SpecError("%s does not fit in an empty chunk" % rec.where)
        ch.buf[ch.pos:ch.pos + len(data)] = data
        ch.records.append((rec.record_id, ch.pos))
        ch.last_record_offset = ch.pos
        ch.pos += len(data)

    dirty = bool(fopt.get("dirty", False))
    hdr = bytearray(FILE_HEADER_SIZE)
    n = len(chunks)
    struct.pack_into("<8sQQQIHHHH", hdr, 0, b"ElfFile\0", 0, n - 1,
                     records[-1].record_id + 1, 128, parse_int(fopt.get("minor_version", 1)),
                     3, 4096, n)
    over = fopt.get("header_overrides", {})
    for field, (fmt, at) in {"first_chunk": ("<Q", 8), "last_chunk": ("<Q", 16),
                             "next_record_id": ("<Q", 24), "chunk_count": ("<H", 42)}.items():
        if field in over:
            struct.pack_into(fmt, hdr, at, parse_int(over[field]))
    flags = (1 if dirty else 0) | (2 if fopt.get("full") else 0)
    struct.pack_into("<I", hdr, 120, flags)
    struct.pack_into("<I", hdr, 124, zlib.crc32(bytes(hdr[:120])) & 0xFFFFFFFF)
    out = bytes(hdr) + b"".join(c.finish() for c in chunks)
    return out, [rec.expectation() for rec in records], [len(c.records) for c in chunks]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", help="JSON spec (see tests/tools/README.md)")
    ap.add_argument("-o", "--output", required=True, help="the .evtx to write")
    ap.add_argument("--expect", help="write the expected rendering as JSON lines")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    with open(a.spec, encoding="utf-8") as f:
        spec = json.load(f)
    try:
        data, exps, per_chunk = build(spec)
    except SpecError as e:
        print("evtx_write: %s: %s" % (a.spec, e), file=sys.stderr)
        return 2
    with open(a.output, "wb") as f:
        f.write(data)
    if a.expect:
        with open(a.expect, "w", encoding="utf-8", newline="\n") as f:
            for e in exps:
                f.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
    if not a.quiet:
        print("%s: %d records in %d chunks (%s), %d bytes" % (
            a.output, len(exps), len(per_chunk), "+".join(map(str, per_chunk)), len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
