#!/usr/bin/env python3
"""Write an empty, valid Windows registry hive (regf): one hbin holding the
root key (nk) and its security descriptor (sk).  hivexregedit --merge then
adds keys and values to it; this is the same shape as hivex's own
images/minimal test hive.  usage: mkhive.py OUT [ROOTNAME]"""
import struct, sys

def cell(payload, alloc=True):
    size = (len(payload) + 4 + 7) & ~7
    return struct.pack('<i', -size if alloc else size) + payload + b'\0' * (size - 4 - len(payload))

def main():
    out = sys.argv[1]
    root = (sys.argv[2] if len(sys.argv) > 2 else 'ROOT').encode('ascii')
    ts = 132500000000000000          # a FILETIME in 2020
    nk_off = 0x20                    # cell offsets are relative to the first hbin
    # the sk cell follows the nk cell
    nk_len = (4 + 0x4C + len(root) + 7) & ~7
    sk_off = nk_off + nk_len
    nk = struct.pack('<2sHQIIIIIIIIIIIIIIIHH', b'nk', 0x2C, ts, 0, 0, 0, 0,
                     0xFFFFFFFF, 0xFFFFFFFF, 0, 0xFFFFFFFF, sk_off, 0xFFFFFFFF,
                     0, 0, 0, 0, 0, len(root), 0) + root
    sd = struct.pack('<BBHIIII', 1, 0, 0x8000, 0, 0, 0, 0)
    sk = struct.pack('<2sHIIII', b'sk', 0, sk_off, sk_off, 1, len(sd)) + sd
    cells = cell(nk) + cell(sk)
    assert len(cell(nk)) == nk_len
    hbin_size = 4096
    free = hbin_size - 0x20 - len(cells)
    hbin = struct.pack('<4sII8sQI', b'hbin', 0, hbin_size, b'\0' * 8, ts, 0) + cells
    hbin += struct.pack('<i', free) + b'\0' * (free - 4)
    assert len(hbin) == hbin_size
    name = 'apdiag-test'.encode('utf-16-le')
    hdr = bytearray(4096)
    struct.pack_into('<4sIIQIIIIIII', hdr, 0, b'regf', 1, 1, ts, 1, 3, 0, 1, nk_off, hbin_size, 1)
    hdr[0x30:0x30 + len(name)] = name
    x = 0
    for i in range(0, 0x1FC, 4):
        x ^= struct.unpack_from('<I', hdr, i)[0]
    if x == 0xFFFFFFFF:
        x = 0xFFFFFFFE
    elif x == 0:
        x = 1
    struct.pack_into('<I', hdr, 0x1FC, x)
    with open(out, 'wb') as f:
        f.write(bytes(hdr) + hbin)

main()
