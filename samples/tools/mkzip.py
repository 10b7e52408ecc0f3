#!/usr/bin/env python3
"""Deterministic zip writer for the Intune "Collect diagnostics" samples.

Entries are written in natural order ("(2) ..." before "(10) ..."), with one
fixed DOS date/time, "made by" MS-DOS (as the Windows DiagnosticLog CSP
writes them), the archive attribute, no extra fields, and '/' as the path
separator (APPNOTE 4.4.17).  Empty files are stored, others deflated.

Usage: mkzip.py --date 'YYYY-MM-DD HH:MM:SS' ROOTDIR OUT.zip
"""
import argparse
import datetime as dt
import os
import re
import sys
import zipfile


def natural(s):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", s)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--date", required=True)
    ap.add_argument("root")
    ap.add_argument("out")
    a = ap.parse_args()
    t = dt.datetime.strptime(a.date, "%Y-%m-%d %H:%M:%S")
    entries = []
    for base, dirs, files in os.walk(a.root):
        for f in files:
            full = os.path.join(base, f)
            entries.append(os.path.relpath(full, a.root).replace(os.sep, "/"))
    entries.sort(key=natural)
    with zipfile.ZipFile(a.out, "w") as z:
        for name in entries:
            with open(os.path.join(a.root, name), "rb") as fh:
                data = fh.read()
            zi = zipfile.ZipInfo(name, date_time=(t.year, t.month, t.day, t.hour, t.minute, t.second))
            zi.create_system = 0
            zi.create_version = 20
            zi.extract_version = 20
            zi.external_attr = 0x20
            zi.compress_type = zipfile.ZIP_DEFLATED if data else zipfile.ZIP_STORED
            z.writestr(zi, data, compresslevel=6 if data else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
