#!/usr/bin/env bash
# Runs test programs that speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, or tests/lib.sh),
# counts their "ok" and "not ok" lines, and records the layer's counts under BUILD/results.
#   run-tests.sh LAYER BUILD TEST...   run one layer
#   run-tests.sh --summary BUILD       print "N passed, N failed" over every layer run
# A test that exits non-zero without reporting a failure (a crash, a sanitizer report, a
# timeout) counts as one failure. AURIGA_TEST_FILTER=regex runs only the tests whose path matches.
set -uo pipefail

if [ "${1:-}" = "--summary" ]; then
	build=$2
	p=0 f=0
	for r in "$build"/results/*.counts; do
		[ -e "$r" ] || continue
		read -r rp rf <"$r"
		p=$((p + rp)) f=$((f + rf))
	done
	echo "$p passed, $f failed"
	[ "$f" -eq 0 ]
	exit
fi

layer=$1 build=$2
shift 2
mkdir -p "$build/results" "$build/logs"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
timeout_s=${AURIGA_TEST_TIMEOUT:-900}

passed=0 failed=0
for t in "$@"; do
	if [ -n "${AURIGA_TEST_FILTER:-}" ] && ! [[ $t =~ $AURIGA_TEST_FILTER ]]; then
		continue
	fi
	name=$(basename "$t")
	log="$build/logs/$layer-$name.log"
	start=$(date +%s)
	timeout --kill-after=10 "$timeout_s" "$t" >"$log" 2>&1
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$log")
	nok=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok)) failed=$((failed + nok))
	secs=$(( $(date +%s) - start ))
	if [ "$nok" -gt 0 ]; then
		printf '%-12s %-40s FAIL %d passed, %d failed (%ds)\n' "$layer" "$name" "$ok" "$nok" "$secs"
		grep -E '^not ok' "$log" | sed 's/^/    /'
		echo "    --- last lines of $log ---"
		tail -n 30 "$log" | sed 's/^/    /'
	else
		printf '%-12s %-40s ok   %d passed (%ds)\n' "$layer" "$name" "$ok" "$secs"
	fi
done
echo "$passed $failed" >"$build/results/$layer.counts"
echo "$layer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
