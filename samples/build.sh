#!/usr/bin/env bash
# Rebuild every sample bundle in samples/ from the generator in samples/tools/.
#
#   samples/pieces/                         byte-faithful source files (generated)
#   samples/mdmdiag-esp-app-failure.cab     MdmDiagnosticsTool cab (MSZIP, gcab)
#   samples/mdmdiag-preprov-notcomputed.cab MdmDiagnosticsTool cab (MSZIP, gcab)
#   samples/mdmdiag-entra-join-801c0003.cab MdmDiagnosticsTool cab with event logs (MSZIP, gcab)
#   samples/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip            Intune zip, flattened
#   samples/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip   Intune zip, numbered folders
#   samples/folder-profile-not-assigned/    plain folder
#   samples/mdmdiag-hybrid-user-app-failure.cab  MdmDiagnosticsTool cab (MSZIP, gcab)
#   samples/mdmdiag-preprovisioned.cab           MdmDiagnosticsTool cab (MSZIP, gcab)
#   samples/lzx.cab, samples/lzx-multi.cab  LZX cabs (tools/mkcab_lzx.py)
#
# Deterministic: fixed clocks, fixed mtimes (touch -d, TZ=UTC), sorted
# entries.  Running it twice gives identical bytes; run with --check to also
# compare against what is committed (git diff --exit-code).
#
# Needs: bash, python3 (>= 3.8, stdlib only), gcab, cabextract, bsdtar
# (libarchive-tools), unzip, sha256sum.  Debian/Ubuntu:
#   apt-get install -y python3 gcab cabextract libarchive-tools unzip zip
# (zip itself is not needed: tools/mkzip.py writes the zips; unzip is only
# used to verify them.)
set -euo pipefail

export TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=1759313410   # 2025-10-01T10:10:10Z
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/tools"
pieces="$here/pieces"
stage="$here/out/stage"            # samples/out/ is git-ignored

for t in python3 gcab cabextract bsdtar unzip sha256sum; do
    command -v "$t" >/dev/null || { echo "build.sh: missing tool: $t" >&2; exit 1; }
done

rm -rf "$stage"
mkdir -p "$stage"

echo "== generating pieces"
python3 "$tools/gen_pieces.py" "$pieces"

# copy a pieces folder to the stage under the names the device writes (a piece
# named like a corpus log is kept as NAME.piece: gen_pieces.py), giving every
# file the same mtime
stage_copy() { # src dst mtime
    local f
    mkdir -p "$2"
    cp -R "$1/." "$2/"
    find "$2" -name '*.piece' -print0 | while IFS= read -r -d '' f; do mv "$f" "${f%.piece}"; done
    find "$2" -exec touch -h -d "$3" {} +
}

# gcab: flat MSZIP cab; files sorted case-insensitively like a Windows listing
make_cab() { # dir out.cab
    local d="$1" out="$2"
    ( cd "$d" && find . -maxdepth 1 -type f -printf '%f\n' | sort -f | tr '\n' '\0' \
        | xargs -0 gcab -c -z -n "$out" )
}

echo "== A: MdmDiagnosticsTool cab (ESP Win32 app failure)"
stage_copy "$pieces/esp-app-failure" "$stage/a" "2025-10-01 10:02:58"
make_cab "$stage/a" "$here/mdmdiag-esp-app-failure.cab"

echo "== B: Intune zip, flattened layout (0x801c0003 on first join attempt)"
stage_copy "$pieces/intune-pc01/mdmlogs" "$stage/b-cab" "2025-10-01 11:06:25"
stage_copy "$pieces/intune-pc01/zip" "$stage/b-zip" "2025-10-01 11:10:10"
nested="$(cat "$pieces/intune-pc01/nested-cab-path.txt")"
mkdir -p "$stage/b-zip/$(dirname "$nested")"
make_cab "$stage/b-cab" "$stage/b-zip/$nested"
python3 "$tools/mkzip.py" --date "2025-10-01 11:10:10" "$stage/b-zip" \
    "$here/DiagLogs-CONTOSO-PC01-20251001T101010Z.zip"

echo "== PC02: Intune zip, numbered-folder layout (ESP timeout, hung installer)"
stage_copy "$pieces/intune-pc02/mdmlogs" "$stage/c-cab" "2025-10-02 04:55:59"
stage_copy "$pieces/intune-pc02/zip" "$stage/c-zip" "2025-10-02 05:00:00"
nested="$(cat "$pieces/intune-pc02/nested-cab-path.txt")"
mkdir -p "$stage/c-zip/$(dirname "$nested")"
make_cab "$stage/c-cab" "$stage/c-zip/$nested"
python3 "$tools/mkzip.py" --date "2025-10-02 05:00:00" "$stage/c-zip" \
    "$here/DiagLogs-CONTOSO-PC02-20251002T090000Z-numbered.zip"

echo "== F: MdmDiagnosticsTool cab (pre-provisioned, user flow 7 months later: NotComputed)"
stage_copy "$pieces/preprov-notcomputed" "$stage/f" "2025-10-06 09:05:14"
make_cab "$stage/f" "$here/mdmdiag-preprov-notcomputed.cab"

echo "== C: plain folder (device not registered, no profile)"
rm -rf "$here/folder-profile-not-assigned"
cp -R "$pieces/profile-not-assigned" "$here/folder-profile-not-assigned"

echo "== D: MdmDiagnosticsTool cab (hybrid join, account setup fails on a user app)"
stage_copy "$pieces/hybrid-user-app-failure" "$stage/d" "2025-10-06 08:05:27"
make_cab "$stage/d" "$here/mdmdiag-hybrid-user-app-failure.cab"

echo "== E: MdmDiagnosticsTool cab (pre-provisioned: technician flow, then user flow)"
stage_copy "$pieces/preprovisioned" "$stage/e" "2025-10-09 15:31:59"
make_cab "$stage/e" "$here/mdmdiag-preprovisioned.cab"

echo "== G: MdmDiagnosticsTool cab (0x801c0003 in the event logs: UDR 204, AAD 1098/1105)"
# PC01's mdmlogs plus the event logs of the same story, named as MdmDiagnosticsTool
# names them (the channel lower-cased, '/' as '-')
stage_copy "$pieces/intune-pc01/mdmlogs" "$stage/g" "2025-10-01 11:06:25"
for f in "$pieces"/evtx/entra-join-801c0003/*.evtx; do
    n="$(basename "$f" .evtx)"
    n="$(printf '%s' "${n//%4/-}" | tr 'A-Z' 'a-z')"
    cp "$f" "$stage/g/$n.evtx"
    touch -h -d "2025-10-01 11:06:25" "$stage/g/$n.evtx"
done
make_cab "$stage/g" "$here/mdmdiag-entra-join-801c0003.cab"

echo "== LZX cabs"
python3 "$tools/mkcab_lzx.py" -o "$here/lzx.cab" \
    "$pieces/esp-app-failure/MdmLogCollectorFootPrint.txt"
python3 "$tools/mkcab_lzx.py" -o "$here/lzx-multi.cab" \
    "$stage/a/IntuneManagementExtension.log" \
    "$stage/a/MdmDiagReport_RegistryDump.reg"

echo "== verifying"
for c in mdmdiag-esp-app-failure mdmdiag-preprov-notcomputed mdmdiag-hybrid-user-app-failure \
         mdmdiag-preprovisioned mdmdiag-entra-join-801c0003; do
    cabextract -q -t "$here/$c.cab" >/dev/null
    bsdtar -tf "$here/$c.cab" >/dev/null
done
for z in "$here"/DiagLogs-*.zip; do
    unzip -tq "$z" >/dev/null
    bsdtar -tf "$z" >/dev/null
done
for n in b c; do
    cabextract -q -t "$(find "$stage/$n-zip" -name '*.cab')" >/dev/null
done
# the LZX cabs must extract byte-for-byte with libmspack and libarchive
check_lzx() { # cab file...
    local cab="$1"; shift
    local x="$stage/lzx-mspack" y="$stage/lzx-libarchive"
    rm -rf "$x" "$y"; mkdir -p "$x" "$y"
    cabextract -q -t "$cab" >/dev/null
    cabextract -q -d "$x" "$cab"
    bsdtar -xf "$cab" -C "$y"
    for f in "$@"; do
        cmp "$f" "$x/$(basename "$f")"
        cmp "$f" "$y/$(basename "$f")"
    done
}
check_lzx "$here/lzx.cab" "$pieces/esp-app-failure/MdmLogCollectorFootPrint.txt"
check_lzx "$here/lzx-multi.cab" "$stage/a/IntuneManagementExtension.log" \
    "$stage/a/MdmDiagReport_RegistryDump.reg"
for f in "$here"/*.cab "$here"/*.zip; do
    sz=$(stat -c %s "$f")
    if [ "$sz" -ge 204800 ]; then echo "build.sh: $f is $sz bytes (limit 200 KB)" >&2; exit 1; fi
done

echo "== sha256"
( cd "$here" && sha256sum ./*.cab ./*.zip )

if [ "${1:-}" = "--check" ]; then
    git -C "$here" diff --exit-code -- . && echo "== matches the committed samples"
fi
