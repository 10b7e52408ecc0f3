#!/usr/bin/env bash
# Generate a large synthetic Autopilot diagnostics bundle for benchmarks.
#
#   bench/make-bundle.sh OUTDIR [--size-mb N] [--seed S] [--mix corpus|dense] [--tar-zst]
#
# Writes OUTDIR/bundle/ (rotated IME CMTrace logs: IntuneManagementExtension-
# YYYYMMDD-HHMMSS.log, AppWorkload-*.log, AgentExecutor-*.log plus the current
# *.log of each, and a large MdmDiagReport_RegistryDump.reg), about N MB in
# total (default 520), and with --tar-zst also OUTDIR/bundle.tar.zst.
# --mix: "corpus" (default) mixes ESP/app lines and agent chatter about as
# the real IME logs of ../shared/corpus/ime/ do; "dense" writes mostly ESP and
# app lines, a stress case for the deployment model (bench/gen_bundle.c).
# Deterministic for a given size, seed and mix.  OUTDIR must be outside the git
# work tree: these files are never committed.
#
# Needs a C compiler (cc) and, for --tar-zst, tar and zstd.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

[ $# -ge 1 ] || usage
out="$1"; shift
size=520 seed=20251001 mix=corpus tarzst=0
while [ $# -gt 0 ]; do
    case "$1" in
        --size-mb) size="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --mix) mix="$2"; shift 2 ;;
        --tar-zst) tarzst=1; shift ;;
        *) usage ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(realpath -m "$out")"
repo="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || true)"
case "$out/" in
    "$repo"/*) if [ -n "$repo" ]; then echo "make-bundle.sh: $out is inside the repository; use a temp dir" >&2; exit 1; fi ;;
esac
mkdir -p "$out"

gen="$out/.gen_bundle"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -o "$gen" "$here/gen_bundle.c"

rm -rf "$out/bundle" "$out/bundle.tar.zst"
start=$(date +%s%N)
"$gen" "$out/bundle" "$size" "$seed" "$mix"
mid=$(date +%s%N)
echo "generated $(du -sm "$out/bundle" | cut -f1) MB in $(( (mid - start) / 1000000 )) ms: $out/bundle"

if [ "$tarzst" = 1 ]; then
    tar --sort=name --mtime=@1759313410 --owner=0 --group=0 --numeric-owner \
        -C "$out" -cf - bundle | zstd -q -T0 -3 -o "$out/bundle.tar.zst"
    end=$(date +%s%N)
    echo "packed $(du -m "$out/bundle.tar.zst" | cut -f1) MB in $(( (end - mid) / 1000000 )) ms: $out/bundle.tar.zst"
fi
