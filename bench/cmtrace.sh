#!/bin/sh
# bench/cmtrace.sh - parse-only throughput of the cmtrace parser.
#
#	bench/cmtrace.sh [BUILD_DIR [SIZE_MIB]]
#
# Generates a synthetic IME-like log of SIZE_MIB MiB (default 512) with
# bench/gen_cmtrace.py into a temporary directory (removed on exit), then
# runs BUILD_DIR/bench/bench_parse (default BUILD_DIR: ./build) on it and on
# the real IME logs of the corpus, if present ($APD_CORPUS, else
# ../shared/corpus next to the source tree).  bench_parse prints MB/s
# (10^6 bytes/s), records/s, the stream alone (read + SHA-256, the floor
# under any parser) and peak RSS.  Target: >= 500 MB/s on the synthetic log.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
size=${2:-512}
bp=$build/bench/bench_parse

if [ ! -x "$bp" ]; then
	echo "cmtrace.sh: $bp is not built (ninja -C $build)" >&2
	exit 2
fi
command -v python3 >/dev/null || { echo "cmtrace.sh: python3 is needed" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apd-bench-cmtrace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
log=$tmp/IntuneManagementExtension.log

python3 "$here/gen_cmtrace.py" --size-mb "$size" --seed 1 -o "$log"
cat "$log" >/dev/null   # into the page cache: measure parsing, not the disk

echo "== synthetic IME log ($size MiB)"
"$bp" -r 3 -s cmtrace "$log"

corpus=${APD_CORPUS:-$here/../../shared/corpus}
if [ -d "$corpus/ime" ]; then
	echo "== corpus IME logs ($corpus/ime)"
	find "$corpus/ime" -name '*.log' -type f | LC_ALL=C sort | xargs "$bp" -r 20 -s cmtrace
else
	echo "== corpus not found at $corpus; skipped"
fi
