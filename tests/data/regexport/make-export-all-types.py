#!/usr/bin/env python3
"""Write export-all-types.reg exactly as regedit / reg.exe EXPORT would.

The layout follows regedit's writer (Wine's programs/regedit/export.c
reproduces it byte for byte): UTF-16LE with a BOM, CRLF, the version 5
header and a blank line, one block per key ended by a blank line, REG_SZ
as "text" with \\ and \" escaped, REG_DWORD as dword:%08x, REG_BINARY as
hex:, every other type as hex(<type in hex>):, and hex lists wrapped once
a line reaches 77 characters: ",\\" then CRLF and two spaces.

Run from this folder: python3 make-export-all-types.py
"""
import struct

HKLM = "HKEY_LOCAL_MACHINE"
IME = HKLM + "\\SOFTWARE\\Microsoft\\IntuneManagementExtension"
APP = "8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1"


def sz(s):
    return (s + "\0").encode("utf-16-le")


def multi(*items):
    return b"".join(sz(s) for s in items) + b"\0\0"


KEYS = [
    (IME, [
        ("", 1, sz("Intune Management Extension")),
        ("AgentVersion", 1, sz("1.93.102.0")),
        ("Empty", 1, sz("")),
        ('Path "quoted" \\ name', 1,
         sz('C:\\Program Files (x86)\\Microsoft Intune Management Extension\\ "x"')),
        ("LogLevel", 4, struct.pack("<I", 10)),
        ("AllOnes", 4, struct.pack("<I", 0xFFFFFFFF)),
        ("DwordNoData", 4, b""),
        ("Sig", 3, bytes([1, 2, 0xFF])),
        ("Blob", 3, bytes(range(100))),
        ("None", 0, b""),
        ("NoneData", 0, bytes([0xDE, 0xAD, 0xBE, 0xEF])),
        ("Unicode", 1, sz("h\u00e9llo w\u00f6rld \u20ac")),
        ("InstallDir", 2, sz("%ProgramFiles(x86)%\\Microsoft Intune Management Extension")),
        ("BigEndian", 5, bytes([0, 0, 1, 2])),
        ("SymLink", 6, "\\Registry\\Machine\\Software\\Classes".encode("utf-16-le")),
        ("TrackedApps", 7, multi(
            "Win32App_8b1f3a2e-1c2d-4e5f-9a8b-7c6d5e4f3a2b_1",
            "Win32App_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0_3",
            "\u00dcberwachung \u20ac",
            "./Device/Vendor/MSFT/EnrollmentStatusTracking/Setup/Apps/Tracking/Sidecar",
            "C:\\Windows\\IMECache \"quoted\"")),
        ("MultiEmpty", 7, b"\0\0"),
        ("ResList", 8, bytes([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0])),
        ("FullRes", 9, bytes([5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 3, 0, 0, 0])),
        ("ReqList", 10, bytes([0x20, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0])),
        ("QwordHigh", 11, struct.pack("<Q", 0x8000000000000001)),
        ("LastSync", 11, struct.pack("<Q", 0x01DA7F9A2B5C6D7E)),
    ]),
    (IME + "\\Win32Apps", []),
    (IME + "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\" + APP
     + "\\ComplianceStateMessage", [
        ("ComplianceStateMessage", 1, sz(
            '{"Applicability":0,"ComplianceState":4,"DesiredState":2,'
            '"ErrorCode":-2016345060,"TargetingMethod":0,"InstallContext":2,'
            '"TargetType":2,"ProductVersion":null,"AssignmentFilterIds":null}')),
    ]),
    (IME + "\\Win32Apps\\00000000-0000-0000-0000-000000000000\\" + APP
     + "\\EnforcementStateMessage", [
        ("EnforcementStateMessage", 1, sz(
            '{"EnforcementState":5000,"ErrorCode":-2016345060,"TargetingMethod":0}')),
    ]),
]


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def value_line(name, typ, data):
    head = '"%s"=' % esc(name) if name else "@="
    if typ == 1 and len(data) >= 2 and data[-2:] == b"\0\0" and len(data) % 2 == 0:
        return head + '"%s"' % esc(data[:-2].decode("utf-16-le"))
    if typ == 4 and len(data) == 4:
        return head + "dword:%08x" % struct.unpack("<I", data)[0]
    out = head + ("hex:" if typ == 3 else "hex(%x):" % typ)
    line_len = len(out)
    for i, b in enumerate(data):
        out += "%02x" % b
        if i == len(data) - 1:
            break
        out += ","
        line_len += 3
        if line_len >= 77:
            out += "\\\r\n  "
            line_len = 2
    return out


def main():
    text = "Windows Registry Editor Version 5.00\r\n\r\n"
    for key, values in KEYS:
        text += "[%s]\r\n" % key
        for v in values:
            text += value_line(*v) + "\r\n"
        text += "\r\n"
    with open("export-all-types.reg", "wb") as f:
        f.write(b"\xff\xfe" + text.encode("utf-16-le"))


if __name__ == "__main__":
    main()
