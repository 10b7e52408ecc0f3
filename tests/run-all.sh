#!/bin/sh
# Build apdiag twice (plain, and with AddressSanitizer + UBSan) and run the
# whole test suite in both; cross-build apdiag.exe for Windows (mingw-w64) and
# run its tests under Wine (tests/win/).  Prints "N passed, N failed" last;
# exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
status=0
run() {   # run BUILDDIR [meson setup options...]
	dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || { echo "meson setup $dir failed"; status=1; return; }
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir" | tail -30; echo "build $dir failed"; status=1; failed=$((failed + 1)); return; }
	meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir/test-output.txt" 2>&1
	rc=$?
	tail -n 12 "$dir/test-output.txt"
	[ $rc -eq 0 ] || { grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)' "$dir/test-output.txt"; status=1; }
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$dir/test-output.txt")
	ko=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$dir/test-output.txt")
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$dir/test-output.txt")
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${ko:-0} + ${to:-0}))
}
echo "== plain build (build/)"
run build
echo "== Windows build (build-win/: apdiag.exe with mingw-w64, tests under Wine)"
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	run build-win --cross-file tools/cross/x86_64-w64-mingw32.ini \
	    -Dnative_apdiag="$PWD/build/analyze/apdiag"
elif [ "${CI:-}" = true ]; then
	echo "x86_64-w64-mingw32-gcc is missing (tools/install-deps.sh installs it): FAIL under CI"
	status=1
	failed=$((failed + 1))
else
	echo "skipped: x86_64-w64-mingw32-gcc is missing (tools/install-deps.sh installs it)"
fi
echo "== sanitizer build (build-asan/: address,undefined)"
# UBSan only prints by default: make every report fail the test that made it
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
run build-asan -Db_sanitize=address,undefined -Dbuildtype=debug
echo "$passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
