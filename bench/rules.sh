#!/usr/bin/env bash
# Benchmark of the rules engine: an index of EVENTS records (default 1,000,000: IME lines,
# Autopilot event records, ESP registry values; bench_rules.c), then the shipped rules
# padded with variants to 100 and to 1000 rules (gen_rules.py), each evaluated twice.
# Targets (issue 4): 100 rules over 1M events in under 5 s; 1000 rules in less than 3x
# the time of 100.  Run on demand; not part of the test suite.
#
#   bench/rules.sh [EVENTS] [BUILD_DIR]
set -euo pipefail
events=${1:-1000000}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/.." && pwd)"
build=${2:-"$top/build"}
ninja -C "$build" bench/bench_rules >/dev/null
bench="$build/bench/bench_rules"
work="$(mktemp -d /tmp/apdiag-bench-rules-XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores; build: $build"
"$bench" index "$work/i.db" "$events"
python3 "$here/gen_rules.py" "$top/rules" "$work/r100" 100
python3 "$here/gen_rules.py" "$top/rules" "$work/r1000" 1000
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: cpu time is the steadier number)"
"$bench" eval "$work/i.db" "$work/r100" 3 | tee "$work/t100"
"$bench" eval "$work/i.db" "$work/r1000" 3 | tee "$work/t1000"
best() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); sub(/^\(/, "", v); print v } }' "$1" | sort -g | head -1; }
t100=$(best "$work/t100" eval)
t1000=$(best "$work/t1000" eval)
c100=$(best "$work/t100" "(cpu")
c1000=$(best "$work/t1000" "(cpu")
awk -v a="$t100" -v b="$t1000" -v ca="$c100" -v cb="$c1000" 'BEGIN {
	printf "best of 3: 100 rules %.3f s (cpu %.3f s; target < 5 s: %s); 1000 rules %.3f s (cpu %.3f s) = %.2fx wall, %.2fx cpu (target < 3x: %s)\n",
	    a, ca, a < 5 ? "met" : "MISSED", b, cb, b / a, cb / ca, b / a < 3 ? "met" : "MISSED" }'
