#!/bin/sh
# bench/collect.sh - throughput of `apdiag collect` on a 1 GB Windows tree.
#
#	bench/collect.sh [BUILD_DIR [SIZE_MIB]]
#
# Builds a test volume with tests/collect/make-tree.py (real hives, corpus
# EVTX and ETL when ../shared/corpus is there), then adds SIZE_MIB MiB
# (default 1024) of files the profile collects: about 80% IME CMTrace logs
# (bench/gen_cmtrace.py: rotated IntuneManagementExtension-*.log, text that
# compresses well) and 20% binary traces in System32\LogFiles\WMI (random
# bytes, which do not compress: the worst case for every format).  Then it
# collects the tree once per format and prints, per format, the wall time,
# MB/s (10^6 bytes of input per second), the archive size and the peak RSS
# (GNU time).  The page cache is warm: the tree was just written.
# FORMATS="cab zip" limits the run to those formats; KEEP=DIR keeps the tree
# in DIR (and reuses it when it is already there).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
size=${2:-1024}
apdiag=$build/analyze/apdiag

[ -x "$apdiag" ] || { echo "collect.sh: $apdiag is not built (ninja -C $build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "collect.sh: GNU time (/usr/bin/time) is needed" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apd-bench-collect.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=${KEEP:-$tmp}/volume
corpus=${APD_CORPUS:-$here/../../shared/corpus}
[ -d "$corpus" ] || corpus=
if [ -n "${KEEP:-}" ] && [ -d "$root" ]; then
	reuse=1
else
	reuse=
	python3 "$here/../tests/collect/make-tree.py" "$root" $corpus >/dev/null
fi
logs=$root/ProgramData/Microsoft/intunemanagementextension/LOGS
wmi=$root/Windows/System32/LogFiles/WMI
mkdir -p "$wmi"
text=$((size * 8 / 10))
bin=$((size - text))
# IME rotates at about 3 MB; use 16 MiB files to keep the count sane
i=0
[ -n "$reuse" ] && i=$(( (text + 15) / 16 ))
while [ $((i * 16)) -lt "$text" ]; do
	python3 "$here/gen_cmtrace.py" --size-mb 16 --seed "$i" \
	    -o "$logs/IntuneManagementExtension-20251001-$(printf '%06d' "$i").log" 2>/dev/null
	i=$((i + 1))
done
j=0
[ -n "$reuse" ] && j=$(( (bin + 31) / 32 ))
while [ $((j * 32)) -lt "$bin" ]; do
	head -c $((32 * 1024 * 1024)) /dev/urandom >"$wmi/Trace$j.etl"
	j=$((j + 1))
done
sync
in_bytes=$(du -sb "$root" | cut -f1)
echo "tree: $root, $in_bytes bytes ($i CMTrace logs of 16 MiB, $j binary traces of 32 MiB, plus the base tree)"
printf '%-8s %9s %9s %14s %9s %10s\n' format seconds 'MB/s' 'archive bytes' ratio 'peak RSS'
for fmt in ${FORMATS:-cab tar tar.gz tar.zst zip}; do
	out=$tmp/bundle.$fmt
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$apdiag" collect --root "$root" -o "$out" \
	    --format "$fmt" --quiet
	read -r secs rss <"$tmp/time"
	asize=$(stat -c %s "$out")
	awk -v f="$fmt" -v s="$secs" -v b="$in_bytes" -v a="$asize" -v r="$rss" 'BEGIN {
		printf "%-8s %9.2f %9.1f %14d %9.3f %7.1f MB\n", f, s, b / 1e6 / s, a, a / b, r / 1024 }'
	"$apdiag" verify "$out" --quiet >/dev/null || echo "  verify FAILED for $fmt"
	rm -f "$out"
done
