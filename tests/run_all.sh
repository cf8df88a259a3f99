#!/usr/bin/env bash
# Runs Nestor's test suites and ends with one summary line
# "total: N passed, M failed".
#   tests/run_all.sh              unit (cmocka + tool) and integration tests
#   tests/run_all.sh unit         host unit tests only
#   tests/run_all.sh integration  emulator-based tests only
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3            # Debian's: it has python3-pytest
what=${1:-all}
passed=0
failed=0

# Adds the counts from a "N passed, M failed"-style line (pytest or ours).
count() {
    local line=$1 n
    for n in $(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+'); do passed=$((passed + n)); done
    for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '[0-9]+'); do failed=$((failed + n)); done
}

run_cmocka() {
    local out rc
    out=$(bash tests/run_unit.sh 2>&1); rc=$?
    echo "$out"
    local line
    line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "cmocka tests did not report"; return; fi
    count "$line"
    [ $rc -eq 0 ] || [ "${line##*, }" != "0 failed" ] || failed=$((failed + 1))
}

run_pytest() {
    local out rc line
    out=$($PY -m pytest -q -p no:cacheprovider "$@" 2>&1); rc=$?
    echo "$out"
    line=$(grep -E '[0-9]+ (passed|failed)' <<<"$out" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "pytest ran no test in $*"; return; fi
    count "$line"
    if [ $rc -ne 0 ] && ! grep -qE '[0-9]+ (failed|error)' <<<"$line"; then failed=$((failed + 1)); fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    echo "== host unit tests (cmocka) =="
    run_cmocka
    echo "== tool unit tests (pytest) =="
    run_pytest tests/unit
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
    echo "== integration tests (Bochs tigerlake, QEMU) =="
    run_pytest tests/integration
fi
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
