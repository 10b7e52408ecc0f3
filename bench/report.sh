#!/usr/bin/env bash
# Benchmark of `apdiag report`: generates a CMTrace log of N events (default
# 100000, the generator of tests/report/browser_test.py), indexes it, and
# prints for each format the report's generation time, size and peak RSS;
# then opens the HTML page in headless Chromium and prints the time from
# navigation start to the first screen (the timeline drawn).  Run on demand;
# not part of the test suite (the `report-browser-perf` test asserts < 2 s).
#
#   bench/report.sh [N] [BUILD_DIR]
#
# Needs GNU time (/usr/bin/time) and chromium for the browser figure.
set -euo pipefail
n=${1:-100000}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/.." && pwd)"
build=${2:-"$top/build"}
[ -x /usr/bin/time ] || { echo "bench/report.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" >/dev/null
apdiag="$build/analyze/apdiag"
work="$(mktemp -d /tmp/apdiag-bench-report-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
python3 - "$top/tests/report/browser_test.py" "$work/in/IntuneManagementExtension.log" "$n" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("browser_test", sys.argv[1])
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)
bt.gen_cmtrace(sys.argv[2], int(sys.argv[3]))
PY
"$apdiag" analyze "$work/in" --db "$work/x.db" --quiet --no-progress || true
echo "input: $(sqlite3 "$work/x.db" 'SELECT count(*) FROM event') events, index $(du -m "$work/x.db" | cut -f1) MB; $(nproc) cores"
for fmt in html md json; do
	best=
	for i in 1 2 3; do
		/usr/bin/time -f "%e %M" -o "$work/time" "$apdiag" report "$work/x.db" --format "$fmt" -o "$work/r.$fmt" 2>/dev/null
		read -r secs kb < "$work/time"
		if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; bkb=$kb; fi
	done
	size=$(stat -c %s "$work/r.$fmt")
	awk -v f="$fmt" -v s="$best" -v k="$bkb" -v z="$size" \
	    'BEGIN { printf "report %-4s %6.2f s (best of 3)  %7.1f MB  peak RSS %6.1f MB\n", f, s, z / 1e6, k / 1024 }'
done
if command -v chromium >/dev/null 2>&1; then
	python3 "$top/tests/report/browser_test.py" perf "$apdiag" "$top" "$work/browser" "$n" |
	    grep -E '^(first screen|level filter|analyze|ok   FIRST)' || true
else
	echo "chromium not installed: no browser figure"
fi
