#!/usr/bin/env python3
"""evtx_oracle.py - the EVTX differential test: apdiag against libevtx.

    evtx_oracle.py APDIAG ALLOWLIST [CORPUS_DIR] [-v]

For every .evtx file under CORPUS_DIR (default: ../shared/corpus/evtx next
to the source tree), runs libevtx's `evtxexport -f xml` (the oracle) and
`apdiag evtx dump` twice (--xml --no-recovered, and --jsonl: the fields the
index gets), and checks

  count   the number of records (apdiag's allocated records against
          evtxexport's items);
  xml     each record's XML, after normalising whitespace (leading and
          trailing blanks of each line, blank lines);
  fields  each record's EventID, TimeCreated (to the microsecond), Provider,
          Channel and EventData/UserData name/value pairs, from apdiag's
          --jsonl (what `apdiag analyze` stores) against the oracle's XML;
  missing every record evtxexport prints is among apdiag's.

Records are paired by EventRecordID.  A divergence is allowed only when
ALLOWLIST lists it: file, record id (or *), check, reason (tab-separated).
An allow-list entry that matches nothing is an error too, so the list stays
true.  Exit status: 0 pass, 1 fail, 77 skipped (no evtxexport or no corpus).
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def say(*a):
    print(*a, flush=True)


def split_records(text):
    """evtxexport's XML output (or apdiag's) into a list of record texts."""
    recs, cur, prev_blank = [], None, True
    for line in text.split('\n'):
        if line.startswith('evtxexport '):
            continue
        if line.startswith('<!-- recovered'):
            prev_blank = True
            continue
        if prev_blank and line.startswith('<Event'):
            if cur is not None:
                recs.append(cur)
            cur = []
        prev_blank = line == ''
        if cur is not None:
            cur.append(line)
    if cur is not None:
        recs.append(cur)
    return ['\n'.join(r) for r in recs]


def normalise(rec):
    return '\n'.join(s for s in (l.strip() for l in rec.split('\n')) if s)


def unxml(s):
    return s.replace('&lt;', '<').replace('&gt;', '>').replace('&amp;', '&')


RX_ID = re.compile(r'<EventRecordID>(\d+)</EventRecordID>')
RX_EID = re.compile(r'<EventID(?: [^>]*)?>(\d+)</EventID>')
RX_TIME = re.compile(r'<TimeCreated SystemTime="([^"]*)"')
RX_PROV = re.compile(r'<Provider Name="([^"]*)"')
RX_CHAN = re.compile(r'<Channel>(.*?)</Channel>', re.S)
RX_ATTR = re.compile(r' ([\w:.-]+)="([^"]*)"')


def xml_fields(rec):
    """EventID, time (microseconds), provider, channel and data pairs of an
    evtxexport record, named the way apdiag names them (docs/sources/evtx.md)."""
    f = {}
    m = RX_EID.search(rec)
    f['event_id'] = int(m.group(1)) if m else None
    m = RX_TIME.search(rec)
    t = m.group(1) if m else None
    if t and re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$', t):
        t = t[:26] + 'Z'   # 100 ns digits + "00": keep microseconds
    f['time'] = t
    m = RX_PROV.search(rec)
    f['provider'] = unxml(m.group(1)) if m else None
    m = RX_CHAN.search(rec)
    f['channel'] = unxml(m.group(1)) if m else ('' if '<Channel/>' in rec else None)
    f['data'] = xml_data(rec)
    return f


RX_START = re.compile(r'^( *)<([A-Za-z_][\w:.-]*)((?: [\w:.-]+="[^"]*")*)(/?)>')


def parse_tree(text):
    """evtxexport's layout into [name, attrs, text, children] trees: one
    element per line, indented two spaces a level; an element's text
    follows its start tag (and may run over several lines up to its end
    tag); a start tag alone on its line with deeper lines after it has
    children."""
    lines = text.split('\n')
    root = ['#root', [], '', []]

    def parse(i, depth, parent):
        while i < len(lines):
            line = lines[i]
            m = RX_START.match(line)
            if not m or len(m.group(1)) != 2 * depth:
                return i
            node = [m.group(2), [(a, unxml(v)) for a, v in RX_ATTR.findall(m.group(3))], '', []]
            parent[3].append(node)
            rest = line[m.end():]
            close = '</%s>' % node[0]
            if m.group(4) == '/':
                i += 1
                continue
            nxt = lines[i + 1] if i + 1 < len(lines) else ''
            if rest == '' and nxt.startswith('  ' * (depth + 1) + '<') and \
                    not nxt.startswith('  ' * (depth + 1) + '</'):
                i = parse(i + 1, depth + 1, node)
                if i < len(lines) and lines[i].strip() == close:
                    i += 1
                continue
            buf = [rest]
            while not buf[-1].endswith(close) and i + 1 < len(lines):
                i += 1
                buf.append(lines[i])
            node[2] = unxml('\n'.join(buf)[:-len(close)] if buf[-1].endswith(close) else '\n'.join(buf))
            i += 1
        return i

    parse(0, 0, root)
    return root


def flatten(node, path, out):
    attrs = [(a, v) for a, v in node[1] if a != 'xmlns' and not a.startswith('xmlns:')]
    for a, v in attrs:
        out.append((path + '.' + a, v))
    if node[2] != '' or (not node[3] and not attrs):
        out.append((path, node[2]))
    for c in node[3]:
        flatten(c, path + '.' + c[0], out)


def xml_data(rec):
    tree = parse_tree(rec)
    pairs = []
    for ev in tree[3]:
        for part in ev[3]:
            if part[0] == 'EventData':
                n = 0
                for c in part[3]:
                    if c[0] == 'Data':
                        n += 1
                        name = dict(c[1]).get('Name')
                        pairs.append((name if name else str(n), c[2]))
                    else:
                        flatten(c, c[0], pairs)
            elif part[0] == 'UserData':
                for w in part[3]:
                    for c in w[3]:
                        flatten(c, c[0], pairs)
    return group(pairs)


def group(pairs):
    d = {}
    for k, v in pairs:
        d.setdefault(k, []).append(v)
    return d


def json_fields(obj):
    f = {'event_id': obj.get('event_id'), 'time': obj.get('time'),
         'provider': obj.get('provider'), 'channel': obj.get('channel')}
    pairs = []
    for k, v in (obj.get('data') or {}).items():
        for item in (v if isinstance(v, list) else [v]):
            pairs.append((k, item if isinstance(item, str) else json.dumps(item)))
    f['data'] = group(pairs)
    return f


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def load_allow(path):
    allow = {}
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            parts = line.split('\t')
            if len(parts) < 4 or not parts[3].strip():
                sys.exit('%s:%d: want file, record, check, reason (tab-separated)' % (path, n))
            allow[(parts[0], parts[1], parts[2])] = [n, parts[3], 0]
    return allow


def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    verbose = '-v' in sys.argv
    if len(args) < 2:
        sys.exit(__doc__)
    apdiag, allow_path = args[0], args[1]
    corpus = args[2] if len(args) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'corpus', 'evtx')
    if shutil.which('evtxexport') is None:
        say('SKIP: evtxexport (Debian libevtx-utils) is not installed')
        return SKIP
    if not os.path.isdir(corpus):
        say('SKIP: no EVTX corpus at %s' % corpus)
        return SKIP
    files = []
    for d, _, names in os.walk(corpus):
        files += [os.path.join(d, n) for n in names if n.lower().endswith('.evtx')]
    files.sort()
    if not files:
        say('SKIP: no .evtx file under %s' % corpus)
        return SKIP
    allow = load_allow(allow_path)
    failures, allowed = [], 0
    tot_lib = tot_apd = tot_rec = 0

    def diverge(fname, rid, check, what):
        nonlocal allowed
        key = (fname, str(rid), check)
        a = allow.get(key) or allow.get((fname, '*', check))
        if a:
            a[2] += 1
            allowed += 1
            if verbose:
                say('  allowed %s %s %s: %s' % (fname, rid, check, what))
        else:
            failures.append('%s: record %s: %s: %s' % (fname, rid, check, what))

    def outputs(path):
        return (run(['evtxexport', '-f', 'xml', path]),
                run([apdiag, 'evtx', 'dump', '--xml', '--no-recovered', path]),
                run([apdiag, 'evtx', 'dump', '--jsonl', path]))

    # two processes at a time: the tools are single-threaded
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(outputs, files))
    for path, (r_lib, r_xml, r_jsonl) in zip(files, results):
        fname = os.path.relpath(path, corpus)
        lib = split_records(r_lib[1])
        rc, out, err = r_xml
        if rc not in (0, 4):
            failures.append('%s: apdiag evtx dump --xml exited %d: %s' % (fname, rc, err.strip()[:300]))
            continue
        ours_xml = split_records(out)
        rc, out, err = r_jsonl
        if rc not in (0, 4):
            failures.append('%s: apdiag evtx dump --jsonl exited %d: %s' % (fname, rc, err.strip()[:300]))
            continue
        jl = [json.loads(l) for l in out.splitlines() if l.strip()]
        ours_json = [o for o in jl if not o.get('recovered')]
        tot_rec += len(jl) - len(ours_json)
        tot_lib += len(lib)
        tot_apd += len(ours_json)
        if len(ours_xml) != len(ours_json):
            failures.append('%s: --xml printed %d records, --jsonl %d' % (fname, len(ours_xml), len(ours_json)))
        if len(lib) != len(ours_json):
            diverge(fname, '-', 'count', 'libevtx %d records, apdiag %d' % (len(lib), len(ours_json)))
        by_id = {}
        for i, o in enumerate(ours_json):
            by_id.setdefault(str(o.get('record_id')), []).append(i)
        for rec in lib:
            m = RX_ID.search(rec)
            rid = m.group(1) if m else '?'
            idx = by_id.get(rid)
            if not idx:
                diverge(fname, rid, 'missing', 'libevtx has the record, apdiag does not')
                continue
            i = idx.pop(0)
            if i < len(ours_xml) and normalise(ours_xml[i]) != normalise(rec):
                a, b = normalise(rec).split('\n'), normalise(ours_xml[i]).split('\n')
                k = next((k for k in range(max(len(a), len(b)))
                          if (a[k] if k < len(a) else None) != (b[k] if k < len(b) else None)), 0)
                diverge(fname, rid, 'xml', 'line %d: libevtx %r, apdiag %r' % (
                    k + 1, (a[k] if k < len(a) else '')[:160], (b[k] if k < len(b) else '')[:160]))
            fl, fo = xml_fields(rec), json_fields(ours_json[i])
            for k in ('event_id', 'time', 'provider', 'channel', 'data'):
                if fl[k] != fo[k]:
                    if k == 'data':
                        keys = sorted(set(fl[k]) | set(fo[k]))
                        d = [x for x in keys if fl[k].get(x) != fo[k].get(x)][:3]
                        what = '; '.join('%s: libevtx %r, apdiag %r' % (
                            x, fl[k].get(x), fo[k].get(x)) for x in d)
                    else:
                        what = 'libevtx %r, apdiag %r' % (fl[k], fo[k])
                    diverge(fname, rid, 'fields', '%s: %s' % (k, what[:300]))
                    break
        if verbose:
            say('%s: libevtx %d, apdiag %d (+%d recovered)' % (fname, len(lib), len(ours_json),
                                                                 len(jl) - len(ours_json)))
    for (f, r, c), (n, reason, hits) in sorted(allow.items(), key=lambda kv: kv[1][0]):
        if hits == 0:
            failures.append('%s:%d: allow-list entry %s %s %s matched nothing (stale)' % (
                allow_path, n, f, r, c))
    say('%d files: libevtx %d records, apdiag %d (+%d recovered); %d divergences allowed '
        '(%d allow-list entries), %d not allowed' % (len(files), tot_lib, tot_apd, tot_rec,
                                                     allowed, len(allow), len(failures)))
    for f in failures[:200]:
        say('FAIL ' + f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
