#!/usr/bin/env python3
"""Write a spec-faithful Microsoft cabinet whose folder is LZX-compressed,
using only UNCOMPRESSED LZX blocks (no LZX compressor is packaged in Debian).

Cabinet layout [MS-CAB]:
  CFHEADER  'MSCF', cbCabinet, coffFiles, version 1.3, cFolders=1, cFiles, flags=0
  CFFOLDER  coffCabStart, cCFData, typeCompress = 0x0003 | (window_bits << 8)
            (window 2^15..2^21: 0x0F03..0x1503; default 21 -> 0x1503)
  CFFILE[]  cbFile, uoffFolderStart, iFolder=0, date, time, attribs, szName
  CFDATA[]  csum, cbData, cbUncomp, ab[cbData]

LZX bitstream ([MS-PATCH] LZXD section 2, cabinet variant; libmspack lzxd.c):
  * read as 16-bit little-endian words, most significant bit first;
  * the folder stream starts with 1 bit "E8 translation" (0 here);
  * the output is cut into 32768-byte frames, one frame per CFDATA, and the
    bitstream is re-aligned to 16 bits at every frame end;
  * each frame here is exactly one UNCOMPRESSED block:
        3 bits block type = 3, 24 bits block size (MSB first),
        pad to the next 16-bit boundary (1..16 bits: libmspack discards a whole
        word when already aligned, libarchive discards 0..15 bits; the header
        is 28 bits in the first frame and 27 bits in later ones, so it is never
        aligned and both readers agree),
        R0, R1, R2 as 32-bit little-endian (1, 1, 1),
        the raw bytes,
        one pad byte if the block size is odd (libarchive reads it at block
        end, libmspack before the next block header).

Checksums are real [MS-CAB] CFDATA checksums (use --zero-checksums for 0).

Usage: mkcab_lzx.py -o OUT.cab [--window 21] [--mtime 'YYYY-MM-DD HH:MM:SS']
                    [--zero-checksums] FILE...
Files are stored under their base names, in the order given.
"""

import argparse
import datetime as dt
import os
import struct
import sys

FRAME = 32768


def cab_checksum(data, seed=0):
    """[MS-CAB] CSUMCompute, as libmspack cabd_checksum implements it."""
    csum = seed
    n4 = len(data) // 4
    for (w,) in struct.iter_unpack("<I", data[: n4 * 4]):
        csum ^= w
    rest = data[n4 * 4:]
    ul = 0
    if len(rest) == 3:
        ul = rest[0] << 16 | rest[1] << 8 | rest[2]
    elif len(rest) == 2:
        ul = rest[0] << 8 | rest[1]
    elif len(rest) == 1:
        ul = rest[0]
    return (csum ^ ul) & 0xFFFFFFFF


class BitWriter:
    """LZX bit writer: bits fill 16-bit words MSB first; words are stored LE."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, value, count):
        for i in range(count - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 16:
                self.out += struct.pack("<H", self.acc)
                self.acc = 0
                self.n = 0

    def align16(self):
        if self.n:
            self.bits(0, 16 - self.n)

    def raw(self, b):
        assert self.n == 0
        self.out += b


def lzx_frames(data):
    """Yield (compressed frame bytes, uncompressed length) per 32 KiB frame."""
    first = True
    for off in range(0, max(len(data), 1), FRAME):
        chunk = data[off:off + FRAME]
        bw = BitWriter()
        if first:
            bw.bits(0, 1)                 # no Intel E8 translation
            first = False
        bw.bits(3, 3)                     # block type: uncompressed
        bw.bits(len(chunk), 24)           # block size
        assert bw.n != 0                  # never aligned here (see module doc)
        bw.align16()
        bw.raw(struct.pack("<III", 1, 1, 1))   # R0, R1, R2
        bw.raw(chunk)
        if len(chunk) & 1:
            bw.raw(b"\x00")               # re-align after an odd-sized block
        yield bytes(bw.out), len(chunk)


def dos_datetime(t):
    d = ((t.year - 1980) << 9) | (t.month << 5) | t.day
    tm = (t.hour << 11) | (t.minute << 5) | (t.second // 2)
    return d, tm


def build(files, window=21, mtime=None, zero_checksums=False):
    if not 15 <= window <= 21:
        raise SystemExit("window bits must be 15..21")
    names, blobs = [], []
    for f in files:
        with open(f, "rb") as fh:
            blobs.append(fh.read())
        names.append(os.path.basename(f).encode("ascii"))
    stream = b"".join(blobs)
    if mtime is None:
        mtime = dt.datetime(2025, 10, 1, 10, 2, 30)
    ddate, dtime = dos_datetime(mtime)

    frames = list(lzx_frames(stream)) if stream else []
    cfheader_size = 36
    cffolder_size = 8
    cffiles = b""
    off = 0
    for name, blob in zip(names, blobs):
        cffiles += struct.pack("<IIHHHH", len(blob), off, 0, ddate, dtime, 0x20) + name + b"\x00"
        off += len(blob)
    coff_files = cfheader_size + cffolder_size
    coff_cabstart = coff_files + len(cffiles)
    cfdata = b""
    for comp, ulen in frames:
        hdr_tail = struct.pack("<HH", len(comp), ulen)
        csum = 0 if zero_checksums else cab_checksum(hdr_tail, cab_checksum(comp))
        cfdata += struct.pack("<I", csum) + hdr_tail + comp
    total = coff_cabstart + len(cfdata)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, coff_files, 0,
                         3, 1, 1, len(names), 0, 0x0A57, 0)
    folder = struct.pack("<IHH", coff_cabstart, len(frames), 0x0003 | (window << 8))
    out = header + folder + cffiles + cfdata
    assert len(out) == total
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--window", type=int, default=21)
    ap.add_argument("--mtime", default="2025-10-01 10:02:30",
                    help="DOS date/time stored for every file (device-local)")
    ap.add_argument("--zero-checksums", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    t = dt.datetime.strptime(a.mtime, "%Y-%m-%d %H:%M:%S")
    data = build(a.files, a.window, t, a.zero_checksums)
    with open(a.output, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
