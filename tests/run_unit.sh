#!/usr/bin/env bash
# Runs every host unit-test binary in build/unit/ (build them first with
# `make unit-bin`), shows each one's cmocka output, and ends with one line:
#   unit: N passed, M failed
# counting individual cmocka test cases.  Exits non-zero if any test failed,
# a binary crashed (sanitizer report, signal) or there was nothing to run.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${UNIT_DIR:-$here/build/unit}"

passed=0
failed=0
bad_bins=0
nbins=0

for bin in "$dir"/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    nbins=$((nbins + 1))
    name="$(basename "$bin")"
    echo "=== $name"
    out="$(mktemp)"
    # cmocka prints results on stdout and failure details on stderr: keep
    # both, in order.  Sanitizer reports make the run fatal.
    ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        "$bin" >"$out" 2>&1
    rc=$?
    cat "$out"

    run=$(sed -n 's/^\[==========\] Running \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | head -n1)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | head -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*/\1/p' "$out" | head -n1)
    ok=$(grep -c '^\[       OK \]' "$out")
    rm -f "$out"

    if [ -n "$p" ]; then
        # Completed: trust cmocka's own summary.
        f=${f:-0}
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "$name: exit status $rc after all tests passed (sanitizer or leak report?)"
            bad_bins=$((bad_bins + 1))
        fi
    else
        # Crashed before its summary: what did not report OK failed.
        run=${run:-0}
        lost=$((run > ok ? run - ok : 1))
        passed=$((passed + ok))
        failed=$((failed + lost))
        echo "$name: crashed (exit status $rc) after $ok passing test(s); counting $lost as failed"
        bad_bins=$((bad_bins + 1))
    fi
done

if [ "$nbins" -eq 0 ]; then
    echo "no unit-test binaries in $dir (run make unit-bin)"
    bad_bins=1
fi

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$bad_bins" -eq 0 ]
