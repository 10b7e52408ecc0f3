#!/usr/bin/env python3
"""Write a folder of N rules for bench/rules.sh: the shipped rules plus variants of them.

A variant is a shipped rule with a new id and a trigger selector that differs the way a
larger rule pack differs: another exit code or HRESULT or event id, a literal that does
not occur, or the same literal with another regex (a PCRE2 comment makes the regex text,
not its meaning, different, so the engine cannot share the selector).  The <when>
selectors stay as they are, as rule authors reuse them (the app name lookups).

Usage: gen_rules.py RULES_DIR OUT_DIR N [SEED]
"""

import copy
import os
import random
import shutil
import sys
import xml.etree.ElementTree as ET

CODES = [0, 1, 2, 5, 87, 1603, 1618, 1619, 1625, 1638, 1641, 1707, 3010, 13, 1223]
HRESULTS = [0x801C0003, 0x80180014, 0x80180018, 0x800705B4, 0x81036502, 0x801C03EA, 0x80070774,
            0x80180022, 0x87D1041C, 0x87D300C9, 0x80070643, 0x80070652, 0x80D02002, 0x8018002B]


def vary_selector(sel, k, rng):
    for c in sel.iter("contains"):
        words = (c.text or "").split(" ")
        nums = [i for i, w in enumerate(words) if w.isdigit()]
        if nums:
            words[nums[-1]] = str(rng.choice(CODES))
            c.text = " ".join(words)
        elif rng.random() < 0.3:
            c.text = (c.text or "") + " zq%04d" % k
    for r in sel.iter("regex"):
        r.text = (r.text or "") + "(?#v%d)" % k
    for h in sel.iter("hresult"):
        h.text = "0x%08X" % (rng.choice(HRESULTS) if rng.random() < 0.5 else 0x80070000 + rng.randrange(1, 0xFFFF))
    for e in sel.iter("event-id"):
        e.text = " ".join(str(rng.randrange(100, 1010)) for _ in range(1 + rng.randrange(2)))
    for v in sel.iter("value"):
        if sel.tag == "fact":
            v.text = "Edition%04d" % k
    if sel.tag in ("registry", "gap"):
        r = ET.SubElement(sel, "regex")
        r.set("field", "key" if sel.tag == "registry" else "item")
        r.text = "(?#v%d)." % k


def main():
    src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    rules = []
    for name in sorted(os.listdir(src)):
        if name.endswith(".xml"):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
            rules += ET.parse(os.path.join(src, name)).getroot().findall("rule")
    variants = []
    k = 0
    while len(rules) + len(variants) < n:
        base = rules[k % len(rules)]
        v = copy.deepcopy(base)
        v.set("id", "%s-V%04d" % (base.get("id"), k))
        for t in v.findall("test"):
            v.remove(t)
        ET.SubElement(v, "test", {"expect": "match"})
        for m in v.findall("match"):
            for sel in list(m):
                vary_selector(sel, k, rng)
        variants.append(v)
        k += 1
    for i in range(0, len(variants), 50):
        root = ET.Element("rules", {"format": "1"})
        root.extend(variants[i:i + 50])
        ET.ElementTree(root).write(os.path.join(out, "variants-%04d.xml" % (i // 50)),
                                   encoding="UTF-8", xml_declaration=True)
    print("%s: %d rules (%d shipped, %d variants)" % (out, len(rules) + len(variants), len(rules), len(variants)))


if __name__ == "__main__":
    main()
