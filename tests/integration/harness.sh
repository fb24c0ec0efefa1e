#!/usr/bin/env bash
# The test harness itself (hack/run-tests.sh and tests/lib.sh): a file with no plan, fewer checks
# than its plan, a skip without a reason, a crash, or an early exit of a lib.sh script each count
# as a failure; a skip with its reason is counted apart; a layer that did not report fails the
# summary.
source "$(dirname "$0")/../lib.sh"

H=$TEST_TMP/h
mkdir -p "$H"
t() { printf '#!/bin/bash\n%s\n' "$2" >"$H/$1"; chmod +x "$H/$1"; }
t noplan 'echo "ok 1 - a"'
t short 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b"'
t bareskip 'echo 1..2; echo "ok 1 - a # SKIP"; echo "ok 2 - b"'
t skip 'echo 1..2; echo "ok 1 - a # SKIP no second host here"; echo "ok 2 - b"'
t good 'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"'
t crash 'echo 1..1; echo "ok 1 - a"; kill -SEGV $$'
t early "source '$TOP/tests/lib.sh'; ok a; exit 0; ok b; done_testing"
t whole "source '$TOP/tests/lib.sh'; ok a; ok b; done_testing"

run() { "$TOP/hack/run-tests.sh" "$1" "$TEST_TMP/b" "$H/$1" 2>&1 | grep -v '^    '; }
line() { run "$1" | grep -E "^x? *$1 " ; }
for name in noplan short bareskip crash early; do
	out=$(run "$name")
	expect_match "$name: counted as a failure" " FAIL " "$out"
done
expect_match "no plan: says so" "printed no plan" "$(cat "$TEST_TMP/b/logs/noplan-noplan.log")"
expect_match "fewer checks than planned: says so" "planned 3 checks and ran 2" \
	"$(cat "$TEST_TMP/b/logs/short-short.log")"
expect_match "a skip without a reason: says so" "without a reason" \
	"$(cat "$TEST_TMP/b/logs/bareskip-bareskip.log")"
expect_match "an early exit of a lib.sh script: says so" "ended before done_testing" \
	"$(cat "$TEST_TMP/b/logs/early-early.log")"
expect_match "a skip with its reason passes and is counted apart" "ok +1 passed, 1 skipped" "$(run skip)"
expect_eq "the layer records it" "1 0 1" "$(cat "$TEST_TMP/b/results/skip.counts")"
expect_match "a complete file passes" "ok +2 passed" "$(run good)"
expect_match "a complete lib.sh script passes" "ok +2 passed" "$(run whole)"
out=$("$TOP/hack/run-tests.sh" --summary "$TEST_TMP/b" good skip never)
expect_eq "the summary fails when a layer did not report" 1 "$?"
expect_match "and names it" "never: did not report" "$out"
expect_match "and ends in the totals" "3 passed, 1 failed \(1 skipped" "$(tail -1 <<<"$out")"

# -j2: two tests run at once (each waits, 20 s at most, for the other to have started), and a test
# marked "# run-tests: alone" runs while no other does: for the 2 s it runs, no other is between
# its start and its end.
M=$TEST_TMP/marks
mkdir -p "$M"
together() {
	t "$1" "echo 1..1; touch $M/started.$1
for i in \$(seq 200); do [ -e $M/started.$2 ] && break; sleep 0.1; done
[ -e $M/started.$2 ] && echo 'ok 1 - beside $2' || echo 'not ok 1 - $2 never ran beside it'
touch $M/ended.$1"
}
together par1 par2
together par2 par1
t lone "# run-tests: alone
echo 1..1; busy=
for i in \$(seq 20); do
	for p in par1 par2; do [ -e $M/started.\$p ] && ! [ -e $M/ended.\$p ] && busy=\$p; done
	sleep 0.1
done
[ -z \"\$busy\" ] && echo 'ok 1 - by itself' || echo \"not ok 1 - beside \$busy\""
out=$("$TOP/hack/run-tests.sh" -j2 jobs "$TEST_TMP/b" "$H/par1" "$H/lone" "$H/par2" 2>&1)
expect_eq "-j2: two tests run at once, and one marked alone by itself (all pass)" "3 0 0" \
	"$(cat "$TEST_TMP/b/results/jobs.counts")"
[ "$(cat "$TEST_TMP/b/results/jobs.counts")" = "3 0 0" ] || diag "$out"

done_testing
