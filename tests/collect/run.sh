#!/bin/bash
# End-to-end tests of `apdiag collect` and `apdiag verify` (issue 5).
#
# usage: run.sh APDIAG SRCDIR
#
# Builds a Windows test tree (make-tree.py: real hives made with hivex,
# EVTX and IME logs from ../shared/corpus when it is there), collects it
# into every format, verifies each archive, lists it with cabextract and
# bsdtar, indexes it with `apdiag analyze` and checks that every collected
# item was indexed; then the failure cases: an unreadable file, a missing
# and a corrupt hive, a path longer than 260 characters, a non-ASCII name,
# a full disk (RLIMIT_FSIZE), --max-size, tampering, and --network against
# servers of its own on 127.0.0.1.  (A file that changes while it is copied
# is tested in tests/check_collect.c, which can hook the copy.)
#
# Prints one "ok N - ..." / "not ok N - ..." line per check and ends with
# "N passed, N failed".
set -u
APDIAG=$(realpath "$1")
SRC=$(cd "$2" && pwd -L)
CORPUS="${APDIAG_CORPUS:-$SRC/../shared/corpus}"   # APDIAG_CORPUS=/nonexistent: test without it
for tool in python3 hivexregedit cabextract gcab bsdtar sqlite3 openssl setpriv; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/install-deps.sh)"; exit 77; }
done
T=$(mktemp -d /tmp/apdiag-collect-test.XXXXXX)
SERVERS=
cleanup() {
	[ -n "$SERVERS" ] && kill "$SERVERS" 2>/dev/null
	chmod -R u+rwx "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export LC_ALL=C.UTF-8
pass=0
fail=0
n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
ko() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else ko "$d"; fi; }
# check_rc WANT DESC CMD...: the command's exit status must be WANT
check_rc() {
	local want=$1 d=$2; shift 2
	"$@" >"$T/last.out" 2>"$T/last.err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "$d"; else ko "$d (exit $rc, want $want)"; sed 's/^/#   /' "$T/last.err" "$T/last.out" | head -20; fi
}
# manifest of an archive, as JSON on stdout
manifest() { bsdtar -xOf "$1" manifest.json; }
mq() { manifest "$1" | python3 -c "import json,sys; m=json.load(sys.stdin); print($2)"; }

if [ -d "$CORPUS" ]; then
	echo "# corpus: $CORPUS"
else
	echo "# SKIP the corpus parts: $CORPUS is absent (no .evtx, .etl or real IME logs in the tree)"
	CORPUS=
fi
ROOT="$T/volume"
python3 "$SRC/tests/collect/make-tree.py" "$ROOT" ${CORPUS:+"$CORPUS"} >/dev/null ||
	{ echo "not ok 1 - make-tree.py failed"; echo "0 passed, 1 failed"; exit 1; }
ok "test tree built from real hives${CORPUS:+, corpus EVTX and IME logs}"

# ---- help and man page in step ----
undoc=
for o in $("$APDIAG" collect --help | grep -o '^  --[a-z-]*') $("$APDIAG" verify --help | grep -o '^  --[a-z-]*'); do
	grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$SRC/docs/apdiag.1" || undoc="$undoc $o"
done
check "every option of collect --help and verify --help is in docs/apdiag.1 (missing:${undoc:- none})" test -z "$undoc"
check "the exit statuses of collect and verify are in docs/apdiag.1" \
	sh -c "grep -q '^For\$' '$SRC/docs/apdiag.1' && grep -q '^.BR collect :' '$SRC/docs/apdiag.1' && grep -q '^.BR verify :' '$SRC/docs/apdiag.1'"

# ---- every format ----
for fmt in cab tar tar.gz tar.zst zip; do
	out="$T/out/bundle.$fmt"
	mkdir -p "$T/out"
	check_rc 0 "collect --format $fmt" "$APDIAG" collect --root "$ROOT" -o "$out" --format "$fmt"
	check "$fmt: summary line names items, gaps, size and path" \
		grep -Eq "^apdiag collect: [0-9]+ items, [0-9]+ gaps, .*, $out\$" "$T/last.out"
	check_rc 0 "verify $fmt" "$APDIAG" verify "$out"
	check "$fmt: manifest.json is the first entry (bsdtar)" \
		test "$(bsdtar -tf "$out" | head -1)" = manifest.json
	if [ "$fmt" = cab ]; then
		check "cab: cabextract -t passes" sh -c "cabextract -q -t '$out' >/dev/null"
		check "cab: cabextract lists manifest.json first" \
			sh -c "cabextract -l '$out' | sed -n 4p | grep -q 'manifest.json\$'"
		check "cab: gcab -t passes" sh -c "gcab -t '$out' >/dev/null"
		cabextract -l "$out" | sed 's/^/#   /' | head -40
	fi
	n_items=$(mq "$out" "sum(len(e['items']) for e in m['entries'])")
	n_list=$(bsdtar -tf "$out" | wc -l)
	check "$fmt: the archive holds the manifest plus its $n_items items" test "$n_list" = $((n_items + 1))
	rm -f "$T/idx.db"
	"$APDIAG" analyze "$out" --db "$T/idx.db" --quiet
	arc=$(basename "$out")
	missing=$(manifest "$out" | python3 -c "
import json, sqlite3, sys
m = json.load(sys.stdin)
db = sqlite3.connect(sys.argv[1])
have = {r[0] for r in db.execute('SELECT path FROM source')}
miss = [i['path'] for e in m['entries'] for i in e['items'] if sys.argv[2] + '!' + i['path'] not in have]
print(len(miss), *miss[:5])" "$T/idx.db" "$arc")
	check "$fmt: apdiag analyze indexed every collected item (missing: $missing)" test "${missing%% *}" = 0
done
OUT="$T/out/bundle.cab"

# ---- content ----
check "facts: device name from the current control set (ControlSet002)" \
	test "$(mq "$OUT" "m['facts']['device.name']")" = CONTOSO-PC07
check "facts: OS product, build, UBR, edition, time zone, install date" \
	test "$(mq "$OUT" "'|'.join(m['facts'][k] for k in ('os.product_name','os.build','os.ubr','os.edition','device.timezone','os.install_date'))")" = \
	"Windows 10 Pro|22631|3390|Professional|W. Europe Standard Time|2024-01-12T21:44:35Z"
check "live-only commands are recorded as not applicable offline" \
	test "$(mq "$OUT" "sum(1 for g in m['gaps'] if g['kind']=='not-applicable' and g['reason']=='not applicable offline')")" = 7
check "hardware hash CSV excluded by default, and the gap says so" \
	test "$(mq "$OUT" "[g['kind'] for g in m['gaps'] if 'DeviceHash_' in g['item']]")" = "['excluded']"
check "IME logs found case-insensitively, rotated log included" \
	sh -c "bsdtar -tf '$OUT' | grep -q 'LOGS/IntuneManagementExtension-20251001-095959.log'"
check "non-ASCII file name kept (cabextract)" \
	sh -c "cabextract -l '$OUT' | grep -q 'Sensor-ünïcödé.log'"
bsdtar -xOf "$OUT" 'registry/HKLM_SOFTWARE_Microsoft_IntuneManagementExtension.reg' >"$T/ime.reg"
check ".reg: UTF-16LE with BOM and the reg.exe header" \
	sh -c "head -c 76 '$T/ime.reg' | od -An -tx1 | tr -d ' \n' | grep -q '^fffe570069006e0064006f0077007300200052006500670069007300740072007900200045006400690074006f0072002000560065007200730069006f006e00200035002e0030003000'"
rm -f "$T/idx.db"; "$APDIAG" analyze "$OUT" --db "$T/idx.db" --quiet
regq() { python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); r=db.execute(\"SELECT type, quote(value) FROM reg_value WHERE key=? AND name=?\", (sys.argv[2], sys.argv[3])).fetchall(); print('|'.join(map(str, r[0])) if r else 'absent')" "$T/idx.db" "$@"; }
IMEK='SOFTWARE\Microsoft\IntuneManagementExtension'
check ".reg round trip: REG_SZ with quote, backslash and tab" test "$(regq "$IMEK" String)" = "REG_SZ|'quote \" backslash \\ tab	end'"
check ".reg round trip: non-ASCII value name and data" test "$(regq "$IMEK" 'Unicode ünï 名前')" = "REG_SZ|'vålue ✓ 𝄞'"
check ".reg round trip: REG_MULTI_SZ" test "$(regq "$IMEK" Multi)" = "REG_MULTI_SZ|'[\"one\",\"\",\"three\"]'"
check ".reg round trip: REG_QWORD" test "$(regq "$IMEK" Qword)" = "REG_QWORD|72623859790382856"
check ".reg round trip: REG_BINARY over several lines" test "$(regq "$IMEK" Binary | cut -c1-22)" = "REG_BINARY|X'000102030"
check ".reg round trip: unknown type 0x1234" test "$(regq "$IMEK" Unknown)" = "REG_4660|X'0102'"
check ".reg round trip: HKU user hive named by its SID" \
	test "$(regq 'S-1-5-21-1111111111-2222222222-3333333333-1001\Software\Microsoft\Windows\CurrentVersion\UserOOBE' OOBEStatus)" = "REG_DWORD|1"
check ".reg round trip: a key with 10,000 values and a 16,000-byte one" \
	test "$(sqlite3 "$T/idx.db" "SELECT count(*) || ' ' || max(length(value)) FROM reg_value WHERE key = 'SOFTWARE\Microsoft\Provisioning\NodeCache\CSP\Device\Many' AND name IS NOT NULL")" = "10001 16000"
check "analyze puts every manifest gap and left-out item into the gap table" \
	test "$(sqlite3 "$T/idx.db" "SELECT count(*) FROM gap WHERE source_id = (SELECT id FROM source WHERE path LIKE '%!manifest.json')")" = \
	"$(mq "$OUT" "len(m['gaps']) + len(m['left_out'])")"
check "analyze indexes manifest.json as the apdiag manifest" \
	test "$(sqlite3 "$T/idx.db" "SELECT kind FROM source WHERE path LIKE '%!manifest.json'")" = apdiag-manifest
check "analyze derives the time zone from the exported SYSTEM keys" \
	test "$(sqlite3 "$T/idx.db" "SELECT value FROM fact WHERE name='time.zone_source'")" = registry

# ---- options ----
check_rc 0 "--include-hardware-hash" "$APDIAG" collect --root "$ROOT" -o "$T/hw.tar" --format tar --include-hardware-hash
check "the hardware hash is collected when asked" sh -c "bsdtar -tf '$T/hw.tar' | grep -q DeviceHash_SERIAL123.csv"
check_rc 0 "--redact" "$APDIAG" collect --root "$ROOT" -o "$T/red.tar" --format tar --redact
mkdir -p "$T/red" && bsdtar -xf "$T/red.tar" -C "$T/red"
check "--redact: no UPN left in any text file or .reg export" python3 -c "
import os, sys
bad = []
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        b = open(os.path.join(d, f), 'rb').read()
        t = b.decode('utf-16-le', 'replace') if b[:2] == b'\xff\xfe' else b.decode('utf-8', 'replace')
        if f.endswith(('.evtx', '.etl')): continue
        if 'jane.doe@contoso.example' in t.lower() or '\\\\Users\\\\jdoe' in t: bad.append(f)
sys.exit(1 if bad else 0)" "$T/red"
tok=$(grep -aho 'user-[0-9a-f]\{10\}@redacted.invalid' "$T/red/files/ProgramData/Microsoft/intunemanagementextension/LOGS/IntuneManagementExtension.log" | head -1)
check "--redact: the same UPN gets the same token in the IME log and the .reg export" \
	python3 -c "import sys; t=open(sys.argv[1],'rb').read().decode('utf-16-le'); sys.exit(0 if sys.argv[2] and sys.argv[2] in t else 1)" \
	"$T/red/registry/HKLM_SOFTWARE_Microsoft_Enrollments.reg" "$tok"
check "--redact: the manifest names no user either" sh -c "! bsdtar -xOf '$T/red.tar' manifest.json | grep -qi 'jane.doe\|jdoe'"
check "--redact: the manifest says redaction was applied" test "$(mq "$T/red.tar" "m['redaction']['applied']")" = True
check_rc 0 "verify the redacted bundle" "$APDIAG" verify "$T/red.tar"

# --max-size: small enough that some items must be left out
check_rc 4 "--max-size 300k leaves items out (exit 4)" "$APDIAG" collect --root "$ROOT" -o "$T/small.zip" --format zip --max-size 300k
check "--max-size: the archive is within 300 KiB" test "$(stat -c %s "$T/small.zip")" -le 307200
check "--max-size: the manifest names what was left out" test "$(mq "$T/small.zip" "len(m['left_out']) > 0")" = True
check_rc 0 "verify the size-capped bundle" "$APDIAG" verify "$T/small.zip"
check_rc 2 "--max-size too small for the manifest is a usage error" "$APDIAG" collect --root "$ROOT" -o "$T/tiny.zip" --format zip --max-size 1k
check "no archive under the final name after a refused --max-size" test ! -e "$T/tiny.zip"

# ---- verify finds tampering ----
cp "$T/out/bundle.tar" "$T/tampered.tar"
python3 - "$T/tampered.tar" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
i = b.find(b'OOBE   Started'); b[i] ^= 0x20; open(p, 'wb').write(b)
EOF
check_rc 4 "verify: a changed byte is a mismatch (exit 4)" "$APDIAG" verify "$T/tampered.tar"
check "verify: the mismatch names the entry" grep -q '^mismatch *files/Windows/Panther/UnattendGC/setupact.log' "$T/last.out"
check_rc 3 "verify: an archive without a manifest (exit 3)" "$APDIAG" verify "$SRC/samples/mdmdiag-esp-app-failure.cab"
check_rc 3 "collect: a root that is not a Windows volume (exit 3)" "$APDIAG" collect --root "$T/out" -o "$T/x.cab"
check_rc 2 "collect: an unknown format (exit 2)" "$APDIAG" collect --root "$ROOT" --format rar

# ---- progress on a terminal, quiet otherwise ----
if command -v script >/dev/null; then
	script -qec "'$APDIAG' collect --root '$ROOT' -o '$T/tty.tar' --format tar" /dev/null >"$T/tty.out" 2>&1
	check "progress: a [n/N] line on a terminal" grep -q "$(printf '\r\033\\[K\\[1/')" "$T/tty.out"
	"$APDIAG" collect --root "$ROOT" -o "$T/notty.tar" --format tar >/dev/null 2>"$T/notty.err"
	check "progress: nothing on stderr when it is not a terminal" test ! -s "$T/notty.err"
	rm -f "$T/tty.tar" "$T/notty.tar"
else
	echo "# SKIP progress checks: script(1) is not installed"
fi

# ---- interrupted: a 1 GiB sparse log keeps the copy busy long enough ----
INT="$T/intvol"
mkdir -p "$INT/Windows" "$INT/ProgramData/Microsoft/IntuneManagementExtension/Logs" "$T/intout"
truncate -s 1G "$INT/ProgramData/Microsoft/IntuneManagementExtension/Logs/IntuneManagementExtension.log"
check_rc 130 "SIGINT during the copy: exit 130" timeout --preserve-status -s INT 0.5 "$APDIAG" collect --root "$INT" -o "$T/intout/b.cab"
check "SIGINT: the error says interrupted" grep -q 'interrupted; nothing was written' "$T/last.err"
check "SIGINT: no archive, no partial file, no staging folder left" test -z "$(ls -A "$T/intout")"
rm -rf "$INT"

# ---- failure cases ----
BAD="$T/bad"
cp -a "$ROOT" "$BAD"
# a path longer than 260 characters
deep="$BAD/Windows/Provisioning/Diagnostics"
for i in 1 2 3 4 5 6; do deep="$deep/a-rather-long-folder-name-of-forty-chars-$i"; done
mkdir -p "$deep" && echo "deep file" >"$deep/deep-$(printf 'x%.0s' $(seq 1 60)).log"
# a corrupt SOFTWARE hive: its first hbin overwritten
python3 - "$BAD/Windows/System32/config/SOFTWARE" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
b[4096:4096 + 64] = b'\xde\xad' * 32
open(p, 'wb').write(b)
EOF
# a dirty NTUSER.DAT: the primary and secondary sequence numbers differ (checksum kept valid)
python3 - "$BAD/Users/jdoe/NTUSER.DAT" <<'EOF'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
struct.pack_into('<I', b, 8, struct.unpack_from('<I', b, 4)[0] + 1)
x = 0
for i in range(0, 0x1FC, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
struct.pack_into('<I', b, 0x1FC, 0xFFFFFFFE if x == 0xFFFFFFFF else (1 if x == 0 else x))
open(p, 'wb').write(b)
EOF
# two names that escape to the same bundle name ('a:b' is written 'a%3Ab')
echo colon >"$BAD/Windows/Provisioning/Diagnostics/a:b.log"
echo percent >"$BAD/Windows/Provisioning/Diagnostics/a%3Ab.log"
# a missing SYSTEM hive
rm "$BAD/Windows/System32/config/SYSTEM"
# an unreadable file (mode 000; collect runs unprivileged when we are root)
chmod 000 "$BAD/Windows/Logs/CBS/CBS.log"
RUNAS=()
if [ "$(id -u)" = 0 ]; then
	RUNAS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod -R a+rX "$T" && chmod 000 "$BAD/Windows/Logs/CBS/CBS.log"
	mkdir -p "$T/bout" && chmod 777 "$T/bout"
fi
mkdir -p "$T/bout"
check_rc 4 "damaged volume: collected with gaps (exit 4)" "${RUNAS[@]}" "$APDIAG" collect --root "$BAD" -o "$T/bout/bad.cab"
check_rc 0 "damaged volume: verify passes" "$APDIAG" verify "$T/bout/bad.cab"
gapkind() { mq "$T/bout/bad.cab" "sorted({g['kind'] for g in m['gaps'] if $1})"; }
check "unreadable file: an error gap with EACCES (13)" \
	test "$(mq "$T/bout/bad.cab" "[(g['kind'], g['os_error']) for g in m['gaps'] if g['item'].endswith('CBS.log')]")" = "[('error', 13)]"
check "missing SYSTEM hive: absent gaps naming the hive" \
	test "$(gapkind "'HKEY_LOCAL_MACHINE\\\\SYSTEM' in g['item'] and 'hive file' in g['reason']")" = "['absent']"
check "corrupt SOFTWARE hive: error gaps" \
	test "$(gapkind "'HKEY_LOCAL_MACHINE\\\\SOFTWARE' in g['item']")" = "['error']"
check "names that escape alike are both kept, the second as ~2" \
	sh -c "bsdtar -tf '$T/bout/bad.cab' | grep -c 'Diagnostics/a%3Ab\(~2\)\?.log' | grep -qx 2"
check "dirty user hive: collected, with a stale gap about the unreplayed logs" \
	test "$(gapkind "g['item'].startswith('HKEY_USERS') and 'transaction logs' in g['reason']")" = "['stale']"
check "path over 260 characters: collected, original path kept, name within 255 bytes" python3 -c "
import json, subprocess, sys
m = json.loads(subprocess.run(['bsdtar', '-xOf', sys.argv[1], 'manifest.json'], capture_output=True).stdout)
it = [i for e in m['entries'] for i in e['items'] if 'deep-x' in i['original']]
sys.exit(0 if it and len(it[0]['original']) > 260 and len(it[0]['path'].encode()) <= 255 else 1)" "$T/bout/bad.cab"
check "path over 260 characters: cabextract lists the shortened name" \
	sh -c "cabextract -l '$T/bout/bad.cab' | grep -q 'files/_long/'"
check "damaged volume: apdiag analyze indexes the bundle" \
	sh -c "'$APDIAG' analyze '$T/bout/bad.cab' --db '$T/bad.db' --quiet; test -s '$T/bad.db'"

# a full disk: a file-size limit of 1 MiB while writing the staging copies and the archive
mkdir -p "$T/full"
check_rc 5 "full disk (RLIMIT_FSIZE): a clean error (exit 5)" bash -c "ulimit -f 1024; exec '$APDIAG' collect --root '$ROOT' -o '$T/full/b.cab'"
check "full disk: the error says why" grep -q 'File too large' "$T/last.err"
check "full disk: nothing under the final name, no partial file or staging folder left" \
	test -z "$(ls -A "$T/full")"
# 2 MiB: every staged copy fits (the largest is a 1.1 MB .evtx), the 4.8 MB tar does not
check_rc 5 "full disk while writing the archive itself (RLIMIT_FSIZE 2 MiB, tar)" bash -c "ulimit -f 2048; exec '$APDIAG' collect --root '$ROOT' -o '$T/full/b.tar' --format tar"
check "full disk while archiving: the error names the archive" grep -q "Write error: File too large; nothing was written" "$T/last.err"
check "full disk while archiving: nothing left behind" test -z "$(ls -A "$T/full")"

# ---- --network against servers of our own ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
python3 "$SRC/tests/collect/netservers.py" "$T/ports" "$T/cert.pem" "$T/key.pem" 60 &
SERVERS=$!
for i in $(seq 50); do [ -s "$T/ports" ] && break; sleep 0.1; done
read -r HTTP HTTPS NTP CLOSED <"$T/ports"
cat >"$T/endpoints.xml" <<EOF
<endpoints version="1">
  <endpoint id="https-ok" host="localhost" port="$HTTPS" checks="dns tcp tls http" purpose="test HTTPS"/>
  <endpoint id="ncsi" host="localhost" port="$HTTP" path="/connecttest.txt" expect="Microsoft Connect Test" checks="dns tcp http" purpose="test NCSI"/>
  <endpoint id="time" host="127.0.0.1" port="$NTP" checks="dns ntp" purpose="test NTP"/>
  <endpoint id="refused" host="127.0.0.1" port="$CLOSED" checks="dns tcp tls http" purpose="test closed port"/>
  <endpoint id="untrusted" host="localhost" port="$HTTPS" checks="tcp tls" purpose="test without the CA"/>
</endpoints>
EOF
check_rc 0 "--network with a local endpoint list" env APDIAG_NETCHECK_CAFILE="$T/cert.pem" \
	"$APDIAG" collect --root "$ROOT" -o "$T/net.tar.zst" --format tar.zst --network --endpoints "$T/endpoints.xml" --net-timeout 3000
bsdtar -xOf "$T/net.tar.zst" network/netcheck.json >"$T/netcheck.json"
nres() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join(x['status'] for x in r if x['endpoint']==sys.argv[2]))" "$T/netcheck.json" "$1"; }
check "network: DNS, TCP, TLS and HTTP succeed against the local HTTPS server" test "$(nres https-ok)" = "ok ok ok ok"
check "network: the NCSI probe finds its text over plain HTTP" test "$(nres ncsi)" = "ok ok ok"
check "network: NTP over UDP answers" test "$(nres time)" = "ok ok"
check "network: a refused port fails TCP and skips TLS and HTTP" test "$(nres refused)" = "ok failed skipped skipped"
check "network: the CA check still runs (this run trusts the test CA)" test "$(nres untrusted)" = "ok ok"
check_rc 0 "network: verify passes" "$APDIAG" verify "$T/net.tar.zst"
rm -f "$T/net.db"; "$APDIAG" analyze "$T/net.tar.zst" --db "$T/net.db" --quiet
check "network: apdiag analyze indexes the results (kind netcheck, one event per probe)" \
	test "$(sqlite3 "$T/net.db" "SELECT s.kind || ' ' || count(e.id) FROM source s JOIN event e ON e.source_id = s.id WHERE s.path LIKE '%netcheck.json' GROUP BY s.id")" = "netcheck 15"
check "network: the failure is a fact rules can use" \
	test "$(sqlite3 "$T/net.db" "SELECT value FROM fact WHERE name = 'netcheck.refused.tcp'")" = failed
check_rc 0 "network: without the test CA the handshake is recorded as untrusted" \
	"$APDIAG" collect --root "$ROOT" -o "$T/net2.tar" --format tar --network --endpoints "$T/endpoints.xml" --net-timeout 3000
bsdtar -xOf "$T/net2.tar" network/netcheck.json >"$T/netcheck.json"
check "network: untrusted certificate named in the TLS result" \
	python3 -c "import json,sys; r=[x for x in json.load(open(sys.argv[1]))['results'] if x['endpoint']=='untrusted' and x['check']=='tls'][0]; sys.exit(0 if r['status']=='failed' and 'certificate' in r['error'] else 1)" "$T/netcheck.json"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
