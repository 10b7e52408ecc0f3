#!/bin/sh
# bench/evtx.sh - EVTX throughput: apdiag against libevtx's evtxexport.
#
#	bench/evtx.sh [BUILD_DIR [SIZE_MIB]]
#
# In one run, side by side:
#   - the corpus (../shared/corpus/evtx, or $APD_CORPUS/evtx): evtxexport -f xml
#     on every file, and apdiag's EVTX parser alone (bench_parse: the stream
#     analyze uses, SHA-256 included, into a sink that only counts);
#   - a synthetic file of SIZE_MIB MiB (default 256) that bench/gen_evtx.py
#     makes from the corpus's dense chunks (new record ids, CRCs fixed): the
#     same two, plus `apdiag analyze` indexing it into SQLite with FTS5 (and
#     printing its text summary, to /dev/null, as it does by default), and
#     bench/sqlite_floor.py's floor: SQLite alone storing the rows analyze
#     stored, table and FTS5 at once, with no parsing.
# Each line gives wall time and CPU time (user + system, from GNU time): on
# a shared machine the CPU figures are the comparable ones.  "parse-only"
# includes the stream analyze reads through (SHA-256 of every byte), wall
# time the best of N runs and CPU time an N-th of the N's (N = 10 for the
# corpus, 3 for the synthetic file);
# "parser alone" is bench_parse's best of three runs with the stream's own
# time (read + SHA-256) taken off.  MB is 10^6 bytes.  Peak RSS is GNU
# time's maximum resident set size.
# Goals (issue 3): parse-only >= 50x evtxexport and >= 1M records/s on one
# core; indexing >= 300k records/s; peak RSS independent of the file size.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
size=${2:-256}
bp=$build/bench/bench_parse
ap=$build/analyze/apdiag
corpus=${APD_CORPUS:-$here/../../shared/corpus}/evtx

die() { echo "evtx.sh: $*" >&2; exit 2; }
[ -x "$bp" ] && [ -x "$ap" ] || die "$build is not built (ninja -C $build)"
command -v python3 >/dev/null || die "python3 is needed"
command -v evtxexport >/dev/null || die "evtxexport (libevtx-utils) is needed"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed"
[ -d "$corpus" ] || die "no EVTX corpus at $corpus"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/apd-bench-evtx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
find "$corpus" -name '*.evtx' -type f | LC_ALL=C sort > "$tmp/files"
nfiles=$(wc -l < "$tmp/files")
# into the page cache: measure decoding, not the disk
# shellcheck disable=SC2046
cat $(cat "$tmp/files") > /dev/null

bytes_of() { # FILE... -> total bytes
	wc -c "$@" | awk 'END { print $1 }'
}
corpus_bytes=$(xargs wc -c < "$tmp/files" | awk '$2 == "total" { t = $1 } END { print t }')
[ "$nfiles" -gt 1 ] || corpus_bytes=$(xargs wc -c < "$tmp/files" | awk '{ print $1 }')

# row LABEL TOOL RECORDS BYTES TIMEFILE: one line of the table
row() {
	# GNU time's last line (a failing command adds one before it)
	read -r wall usr sys rss <<EOF
$(tail -n 1 "$5")
EOF
	awk -v l="$1" -v t="$2" -v r="$3" -v b="$4" -v w="$wall" -v u="$usr" -v s="$sys" -v m="$rss" '
	BEGIN {
		c = u + s; if (c <= 0) c = 0.001; if (w <= 0) w = 0.001
		printf "%-10s %-24s %10d %9.1f %8.2f %9.1f %11.0f %8.2f %9.1f %11.0f %8.1f\n",
		    l, t, r, b / 1e6, w, b / 1e6 / w, r / w, c, b / 1e6 / c, r / c, m / 1024
	}'
}

# bare LABEL TOOL OUTPUT: a row from bench_parse's "parser alone" line (wall,
# best of 3 runs, the stream's read + SHA-256 time taken off)
bare() {
	awk -v l="$1" -v t="$2" '/^parser alone/ {
		printf "%-10s %-24s %10d %9.1f %8.3f %9.1f %11.0f %8s %9s %11s %8s\n",
		    l, t, $(NF - 1), $(NF - 4) / 1e6, $(NF - 3), $(NF - 2), $NF, "-", "-", "-", "-"
	}' "$3"
}

# best OUTPUT TIMEFILE RUNS: turn GNU time's line for `bench_parse -r RUNS`
# into one run's: wall from bench_parse's best run (its "total" line), CPU
# a RUNS-th of the process's (GNU time counts in 10 ms steps: the corpus's
# ~0.09 s per run needs 10 runs to be read to 1 ms), the peak RSS as
# measured over all
best() {
	w=$(awk '$1 == "total" { t = $3 } NF >= 7 && $1 != "file" && $1 != "total" && $1 != "peak" \
	    && $1 != "parser" { last = $3 } END { print (t != "" ? t : last) }' "$1")
	tail -n 1 "$2" | awk -v w="$w" -v r="$3" '{ printf "%s %.4f %.4f %s\n", w, $2 / r, $3 / r, $4 }' > "$2.1"
	mv "$2.1" "$2"
}

# the records line of bench_parse's output ("total" or the one file)
bp_records() {
	awk '$1 == "total" { r = $5 } NF >= 6 && $1 != "file" && $1 != "total" && $1 != "peak" { last = $5 }
	     END { print (r != "" ? r : last) }' "$1"
}

# corpus: evtxexport, every file (records counted from its output); the
# files it cannot read to the end are noted (and left out of the synthetic
# file, so that evtxexport reads all of that too)
/usr/bin/time -f '%e %U %S %M' -o "$tmp/t1" sh -c 'while read -r f; do
	evtxexport -f xml "$f" || echo "$f" >> "$2"; done < "$1"' \
    sh "$tmp/files" "$tmp/libevtx-fails" 2>/dev/null | grep -c '^<Event' > "$tmp/n1" || true
touch "$tmp/libevtx-fails"
grep -v -x -F -f "$tmp/libevtx-fails" "$tmp/files" > "$tmp/clean" || true
# shellcheck disable=SC2046
python3 "$here/gen_evtx.py" --size-mb "$size" -o "$tmp/synth.evtx" $(cat "$tmp/clean") > "$tmp/gen.txt"
cat "$tmp/synth.evtx" > /dev/null
synth_bytes=$(bytes_of "$tmp/synth.evtx")

echo "== EVTX throughput: apdiag ($build) against $(evtxexport -V 2>/dev/null | head -1)"
echo "   corpus: $nfiles files, $corpus_bytes bytes ($(wc -l < "$tmp/libevtx-fails") that evtxexport stops in)"
echo "   synthetic: $(sed "s|$tmp/||" "$tmp/gen.txt"), from the other files"
printf "%-10s %-24s %10s %9s %8s %9s %11s %8s %9s %11s %8s\n" input tool records MB wall-s \
    MB/s rec/s cpu-s MB/s-cpu rec/s-cpu RSS-MiB
row corpus "evtxexport -f xml" "$(cat "$tmp/n1")" "$corpus_bytes" "$tmp/t1"
# corpus: apdiag parse-only
# shellcheck disable=SC2046
/usr/bin/time -f '%e %U %S %M' -o "$tmp/t2" "$bp" -r 10 evtx $(cat "$tmp/files") > "$tmp/o2"
best "$tmp/o2" "$tmp/t2" 10
row corpus "apdiag parse-only" "$(bp_records "$tmp/o2")" "$corpus_bytes" "$tmp/t2"
# shellcheck disable=SC2046
"$bp" -r 3 -s evtx $(cat "$tmp/files") > "$tmp/o2s"
bare corpus "apdiag parser alone" "$tmp/o2s"

# synthetic: evtxexport
/usr/bin/time -f '%e %U %S %M' -o "$tmp/t3" evtxexport -f xml "$tmp/synth.evtx" 2>/dev/null |
    grep -c '^<Event' > "$tmp/n3" || true
row synthetic "evtxexport -f xml" "$(cat "$tmp/n3")" "$synth_bytes" "$tmp/t3"
# synthetic: apdiag parse-only
/usr/bin/time -f '%e %U %S %M' -o "$tmp/t4" "$bp" -r 3 evtx "$tmp/synth.evtx" > "$tmp/o4"
best "$tmp/o4" "$tmp/t4" 3
row synthetic "apdiag parse-only" "$(bp_records "$tmp/o4")" "$synth_bytes" "$tmp/t4"
"$bp" -r 3 -s evtx "$tmp/synth.evtx" > "$tmp/o4s"
bare synthetic "apdiag parser alone" "$tmp/o4s"
# synthetic: apdiag analyze into SQLite + FTS5
/usr/bin/time -f '%e %U %S %M' -o "$tmp/t5" "$ap" analyze "$tmp/synth.evtx" --db "$tmp/s.db" \
    > /dev/null 2>&1 || true
n5=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM event").fetchone()[0])' "$tmp/s.db")
row synthetic "apdiag analyze (SQLite)" "$n5" "$synth_bytes" "$tmp/t5"
# the floor under indexing: SQLite alone storing the same rows (no parsing)
python3 "$here/sqlite_floor.py" "$tmp/s.db" > "$tmp/floor"
sed 's/^/synthetic  /' "$tmp/floor"
awk -v a="$(tail -n 1 "$tmp/t5")" '$2 == "both" { f = $(NF - 3) }
END { split(a, A, " "); if (f > 0) printf "analyze against the floor: %.2fx its time\n", A[1] / f }' "$tmp/floor"

# the ratios the goals are about
awk -v a="$(tail -n 1 "$tmp/t1")" -v b="$(tail -n 1 "$tmp/t2")" -v c="$(tail -n 1 "$tmp/t3")" \
    -v d="$(tail -n 1 "$tmp/t4")" '
BEGIN {
	split(a, A, " "); split(b, B, " "); split(c, C, " "); split(d, D, " ")
	printf "parse-only against evtxexport: corpus %.1fx (cpu) %.1fx (wall); synthetic %.1fx (cpu) %.1fx (wall)\n",
	    (A[2] + A[3]) / (B[2] + B[3]), A[1] / B[1], (C[2] + C[3]) / (D[2] + D[3]), C[1] / D[1]
}'
# the parser without the stream (read + SHA-256), wall against wall
awk -v a="$(tail -n 1 "$tmp/t1")" -v c="$(tail -n 1 "$tmp/t3")" '
/^parser alone/ { w[++k] = $(NF - 3) }
END {
	split(a, A, " "); split(c, C, " ")
	if (k == 2 && w[1] > 0 && w[2] > 0)
		printf "parser alone against evtxexport (wall): corpus %.1fx; synthetic %.1fx\n", A[1] / w[1], C[1] / w[2]
}' "$tmp/o2s" "$tmp/o4s"
echo "peak RSS of parse-only: corpus $(tail -n 1 "$tmp/t2" | awk '{ printf "%.1f", $4 / 1024 }') MiB," \
    "synthetic $(tail -n 1 "$tmp/t4" | awk '{ printf "%.1f", $4 / 1024 }') MiB (the file is $(awk -v b="$synth_bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB)"
