#!/usr/bin/env python3
"""gen_evtx.py - a large synthetic EVTX file made of real chunks.

    gen_evtx.py --size-mb N -o OUT.evtx EVTX...

Takes every sound chunk of the given files (chunk signature, header and
records CRC32 right, at least 48 KiB of records: a long log's chunks are
full), and writes a file header followed by those chunks
over and over until OUT holds at least N MiB.  Each copy gets new record
numbers and identifiers, increasing through the file: the record header's
identifier, the EventRecordID value inside the record (the same 8 bytes,
found in the record's value data) and the chunk header's first/last
numbers; then the chunk's CRC32s and the file header's are recomputed.  The
result is a clean, dense event log: every 64 KiB holds real records in the
mix the corpus has.
"""
import argparse
import struct
import sys
import zlib

CHUNK = 65536
HEADER = 4096
MIN_USED = 48 * 1024


def sound_chunks(path):
    with open(path, 'rb') as f:
        d = f.read()
    if d[:8] != b'ElfFile\0':
        return
    flags = struct.unpack_from('<I', d, 120)[0]
    for off in range(HEADER, len(d) - CHUNK + 1, CHUNK):
        c = d[off:off + CHUNK]
        if c[:8] != b'ElfChnk\0':
            continue
        fso = struct.unpack_from('<I', c, 48)[0]
        if not MIN_USED < fso <= CHUNK:   # dense chunks only, as in a long log
            continue
        if not flags & 4 and (zlib.crc32(c[:120] + c[128:512]) != struct.unpack_from('<I', c, 124)[0]
                              or zlib.crc32(c[512:fso]) != struct.unpack_from('<I', c, 52)[0]):
            continue
        recs, o = [], 512
        while o + 28 <= fso:
            if c[o:o + 4] != b'**\0\0':
                break
            size = struct.unpack_from('<I', c, o + 4)[0]
            if size < 28 or o + size > fso or struct.unpack_from('<I', c, o + size - 4)[0] != size:
                break
            recs.append(o)
            o += size
        if recs and o == fso:
            yield bytearray(c), recs


def record_id_value(c, o, size, rid):
    """Chunk offset of the UInt64 template value holding rid, or 0: the
    record is a fragment header and a template instance whose value table
    follows the instance (after the definition when it is inline)."""
    p, end = o + 24, o + size - 4
    if c[p:p + 4] != b'\x0f\x01\x01\x00' or c[p + 4] != 0x0c:
        return 0
    p += 4
    defo = struct.unpack_from('<I', c, p + 6)[0]
    p += 10
    if defo == p:
        p += 24 + struct.unpack_from('<I', c, p + 20)[0]
    if p + 4 > end:
        return 0
    cnt = struct.unpack_from('<I', c, p)[0]
    p += 4
    q = p + 4 * cnt
    for k in range(cnt):
        if q > end:
            return 0
        vsize, vtype = struct.unpack_from('<HB', c, p + 4 * k)
        if vtype == 0x0a and vsize == 8 and struct.unpack_from('<Q', c, q)[0] == rid:
            return q
        q += vsize
    return 0


def renumber(c, recs, first):
    """Give the chunk's records the numbers first, first+1, ...; fix its CRCs."""
    n = first
    for o in recs:
        old = struct.unpack_from('<Q', c, o + 8)[0]
        size = struct.unpack_from('<I', c, o + 4)[0]
        struct.pack_into('<Q', c, o + 8, n)
        k = record_id_value(c, o, size, old)
        if k:   # the EventRecordID substitution value
            struct.pack_into('<Q', c, k, n)
        n += 1
    last = n - 1
    struct.pack_into('<QQQQ', c, 8, first, last, first, last)
    fso = struct.unpack_from('<I', c, 48)[0]
    struct.pack_into('<I', c, 52, zlib.crc32(bytes(c[512:fso])))
    struct.pack_into('<I', c, 124, zlib.crc32(bytes(c[:120]) + bytes(c[128:512])))
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--size-mb', type=int, default=256)
    ap.add_argument('-o', '--out', required=True)
    ap.add_argument('files', nargs='+')
    a = ap.parse_args()
    pool = []
    for p in a.files:
        pool += list(sound_chunks(p))
    if not pool:
        sys.exit('gen_evtx.py: no sound chunk in the input files')
    want = a.size_mb << 20
    nchunks = max(1, (want - HEADER + CHUNK - 1) // CHUNK)
    if nchunks > 65535:
        sys.exit('gen_evtx.py: at most 65535 chunks (4 GiB)')
    recno = 1
    with open(a.out, 'wb') as out:
        out.write(b'\0' * HEADER)
        for i in range(nchunks):
            c, recs = pool[i % len(pool)]
            c = bytearray(c)
            recno = renumber(c, recs, recno)
            out.write(c)
        h = bytearray(128)
        h[:8] = b'ElfFile\0'
        struct.pack_into('<QQQIHHHH', h, 8, 0, nchunks - 1, recno, 128, 1, 3, HEADER,
                         min(nchunks, 65535))
        struct.pack_into('<I', h, 120, 0)
        struct.pack_into('<I', h, 124, zlib.crc32(bytes(h[:120])))
        out.seek(0)
        out.write(h)
    print('%s: %d chunks (%d distinct), %d records, %d bytes' % (
        a.out, nchunks, len(pool), recno - 1, HEADER + nchunks * CHUNK))


if __name__ == '__main__':
    main()
