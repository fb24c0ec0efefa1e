#!/usr/bin/env bash
# Runs test programs that speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, or tests/lib.sh),
# counts their "ok" and "not ok" lines, and records the layer's counts under BUILD/results.
#   run-tests.sh [-jN] LAYER BUILD TEST...  run one layer (-jN: up to N tests at a time, see below)
#   run-tests.sh --summary BUILD LAYER...   print each layer's counts and "N passed, N failed" over all
# A test file fails the run, with one failure counted, when it exits non-zero without reporting a
# failure (a crash, a sanitizer report, a timeout), prints no plan ("1..N"), or runs another number
# of checks than its plan says (an early exit). A skipped check ("ok N - ... # SKIP reason") is
# counted as skipped when it gives its reason and as a failure when it does not. In the summary a
# layer that did not report (its runner died, or it was never run) is a failure.
# AURIGA_TEST_FILTER=regex runs only the tests whose path matches. The shell tests run BUILD/auriga
# unless AURIGA_BIN names another.
# Each test's wall time goes to BUILD/results/LAYER.times ("SECONDS NAME" a line); the layer ends
# with its ten slowest tests.
set -uo pipefail

if [ "${1:-}" = "--summary" ]; then
	build=$2
	shift 2
	p=0 f=0 s=0
	for layer in "$@"; do
		r=$build/results/$layer.counts
		if ! [ -e "$r" ]; then
			echo "$layer: did not report (counted as 1 failed)"
			f=$((f + 1))
			continue
		fi
		read -r rp rf rs <"$r"
		rs=${rs:-0}
		echo "$layer: $rp passed, $rf failed, $rs skipped"
		p=$((p + rp)) f=$((f + rf)) s=$((s + rs))
	done
	if [ "$s" -gt 0 ]; then
		echo "$p passed, $f failed ($s skipped, each with its reason)"
	else
		echo "$p passed, $f failed"
	fi
	[ "$f" -eq 0 ]
	exit
fi

jobs=1
case "${1:-}" in -j[0-9]*) jobs=${1#-j}; shift ;; esac
[ "$jobs" -ge 1 ] 2>/dev/null || { echo "run-tests.sh: -jN takes a count from 1" >&2; exit 2; }
layer=$1 build=$2
shift 2
mkdir -p "$build/results" "$build/logs"
# The shell tests run the auriga of the build named (make exports it; a direct run would otherwise
# test build/auriga whatever BUILD says).
AURIGA_BIN=${AURIGA_BIN:-$(cd "$build" && pwd)/auriga}
export AURIGA_BIN
rm -f "$build/results/$layer.counts"
times="$build/results/$layer.times"
: >"$times"
layer_start=$(date +%s)
# One file per test while the layer runs ("passed failed skipped" and its report), summed at the end.
parts="$build/results/$layer.parts"
rm -rf "$parts"
mkdir -p "$parts"
export CMOCKA_MESSAGE_OUTPUT=TAP
# A sanitizer report exits with 86, never with a status a test expects of auriga (0, 1 or 2), so a
# check of an exit code also catches a sanitizer abort in the command it ran.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}
timeout_s=${AURIGA_TEST_TIMEOUT:-900}

# run_one TEST: runs it, judges its TAP log, and writes its counts and report under $parts.
run_one() {
	local t=$1 name log start rc ok nok skip bare_skip plan why secs
	name=$(basename "$t")
	log="$build/logs/$layer-$name.log"
	start=$(date +%s)
	timeout --kill-after=10 "$timeout_s" "$t" >"$log" 2>&1
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$log")
	nok=$(grep -cE '^not ok [0-9]+' "$log")
	skip=$(grep -ciE '^ok [0-9]+.*# *skip[^ ]* +[^ ]' "$log")
	bare_skip=$(( $(grep -ciE '^ok [0-9]+.*# *skip' "$log") - skip ))
	plan=$(grep -oE '^1\.\.[0-9]+' "$log" | tail -1 | cut -d. -f3)
	why=
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		why="exited with status $rc"
	elif [ -z "$plan" ]; then
		why="printed no plan (1..N)"
	elif [ "$plan" -ne $((ok + nok)) ]; then
		why="planned $plan checks and ran $((ok + nok))"
	elif [ "$bare_skip" -gt 0 ]; then
		why="skipped $bare_skip check(s) without a reason"
	fi
	if [ -n "$why" ]; then
		nok=$((nok + 1))
		echo "not ok - $name $why" >>"$log"
	fi
	ok=$((ok - skip - bare_skip))
	secs=$(( $(date +%s) - start ))
	echo "$secs $name" >>"$times"
	{
		if [ "$nok" -gt 0 ]; then
			printf '%-12s %-40s FAIL %d passed, %d failed (%ds)\n' "$layer" "$name" "$ok" "$nok" "$secs"
			grep -E '^not ok' "$log" | sed 's/^/    /'
			echo "    --- last lines of $log ---"
			tail -n 30 "$log" | sed 's/^/    /'
		else
			printf '%-12s %-40s ok   %d passed%s (%ds)\n' "$layer" "$name" "$ok" \
				"$([ "$skip" -gt 0 ] && echo ", $skip skipped")" "$secs"
			[ "$skip" -gt 0 ] && grep -iE '^ok [0-9]+.*# *skip' "$log" | sed 's/^/    /'
		fi
	} >"$parts/$name.report"
	echo "$ok $nok $skip" >"$parts/$name.counts"
}

# With -jN, up to N tests run at once; a test whose file holds the line "# run-tests: alone" (it
# shares something with the others: fixed names or ports, an extra Docker host, a timing it
# measures) runs by itself. Those run first, one after another, then the others N at a time, so that
# no test waits for a long one to end before it may start. Of the others, those marked
# "# run-tests: long" (a minute or more) start first: a long one started last would run on alone
# after the rest ended. Reports print as each test ends.
alone() { [ -f "$1" ] && grep -qx '# run-tests: alone' "$1" 2>/dev/null; }
long() { [ -f "$1" ] && grep -qx '# run-tests: long' "$1" 2>/dev/null; }
selected=()
for t in "$@"; do
	if [ -n "${AURIGA_TEST_FILTER:-}" ] && ! [[ $t =~ $AURIGA_TEST_FILTER ]]; then
		continue
	fi
	selected+=("$t")
done
if [ "$jobs" -eq 1 ]; then
	for t in "${selected[@]}"; do
		run_one "$t"
		cat "$parts/$(basename "$t").report"
	done
else
	together=() later=()
	for t in "${selected[@]}"; do
		if alone "$t"; then
			run_one "$t"
			cat "$parts/$(basename "$t").report"
		elif long "$t"; then
			together+=("$t")
		else
			later+=("$t")
		fi
	done
	together+=("${later[@]}")
	running=0
	for t in "${together[@]}"; do
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		( run_one "$t"; cat "$parts/$(basename "$t").report" ) &
		running=$((running + 1))
	done
	wait
fi

passed=0 failed=0 skipped=0
for c in "$parts"/*.counts; do
	[ -e "$c" ] || continue
	read -r p f k <"$c"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
done
rm -rf "$parts"
echo "$passed $failed $skipped" >"$build/results/$layer.counts"
if [ -s "$times" ]; then
	echo "$layer: slowest tests (seconds), $(awk '{ s += $1 } END { print s }' "$times") s in all," \
		"$(( $(date +%s) - layer_start )) s of wall time:"
	sort -rn "$times" | head -n 10 | awk '{ printf "    %5d  %s\n", $1, $2 }'
fi
echo "$layer: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
