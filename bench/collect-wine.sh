#!/bin/bash
# bench/collect-wine.sh - time `apdiag.exe collect` (the Windows build) under
# Wine on a 500 MB IME log tree, with the built-in profile.
#
# usage: bench/collect-wine.sh [BUILD_WIN_DIR] [MB]      (defaults: build-win 500)
# Needs: wine64, a built BUILD_WIN_DIR/apdiag.exe, cabextract.  Uses its own Wine
# prefix under BUILD_WIN_DIR/bench-wine (kept between runs; the tree is rebuilt).
# Prints the exe size, the tree size, the collection time, MB/s and the cab size.
set -euo pipefail
cd "$(dirname "$0")/.."
BW=${1:-build-win}
MB=${2:-500}
EXE=$PWD/$BW/apdiag.exe
[ -x "$EXE" ] || { echo "no $EXE: ninja -C $BW first" >&2; exit 1; }
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$WINE" ] || { echo "wine64 is not installed" >&2; exit 1; }
export WINEPREFIX=$PWD/$BW/bench-wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -d "$WINEPREFIX/drive_c" ]; then
	"$WINE" wineboot -i >/dev/null 2>&1
	# a new prefix goes on initialising in the background: wait, or the first run is 4x slower
	"$(dirname "$(readlink -f "$WINE")")/wineserver" -w || true
fi
LOGS="$WINEPREFIX/drive_c/ProgramData/Microsoft/IntuneManagementExtension/Logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
# CMTrace logs of 16 MiB (IME's own rotation size is smaller; larger files stress
# the copy loop, not the walk) plus a few binary files; MB in total
python3 - "$LOGS" "$MB" <<'PY'
import os, sys
root, mb = sys.argv[1], int(sys.argv[2])
total = mb * 1000 * 1000
line = ('<![LOG[[Win32App][ReportingManager] Sending status to company portal based on '
        'report: {"ApplicationId":"%08d-0000-4000-8000-000000000000","ResultantAppState":1}]'
        'LOG]!><time="10:00:00.0000000" date="10-1-2025" component="IntuneManagementExtension" '
        'context="" type="1" thread="7" file="">\r\n')
block = "".join(line % i for i in range(4096)).encode()
done, n = 0, 0
while done < total:
    size = min(16 << 20, total - done)
    name = ("IntuneManagementExtension-202510%02d-%06d.log" % (n % 28 + 1, n)) if n % 8 else \
        ("AgentExecutor-%d.log" % n)
    with open(os.path.join(root, name), "wb") as f:
        left = size
        while left > 0:
            f.write(block[:left])
            left -= len(block)
    done += size
    n += 1
with open(os.path.join(root, "binary.dat"), "wb") as f:
    f.write(os.urandom(8 << 20))
PY
bytes=$(du -sb "$LOGS" | cut -f1)
files=$(find "$LOGS" -type f | wc -l)
OUT=$(mktemp -d "$PWD/$BW/bench-out.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
"$WINE" "$EXE" --version >/dev/null   # wineserver up before timing
t0=$(date +%s.%N)
"$WINE" "$EXE" collect -o "Z:${OUT//\//\\}\\bench.cab" --quiet || true
t1=$(date +%s.%N)
cab=$(stat -c %s "$OUT/bench.cab")
secs=$(python3 -c "print('%.1f' % ($t1 - $t0))")
cabextract -t "$OUT/bench.cab" >/dev/null && ok=ok || ok=FAILED
echo "apdiag.exe: $(stat -c %s "$EXE") bytes"
echo "IME tree: $files files, $bytes bytes"
echo "collect (built-in profile, cab): $secs s, $(python3 -c "print('%.1f' % ($bytes / 1e6 / ($t1 - $t0)))") MB/s, cab $cab bytes ($(python3 -c "print('%.3f' % ($cab / $bytes))") of the input), cabextract -t $ok"
