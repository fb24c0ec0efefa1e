#!/usr/bin/env bash
# `hack/demo.sh`, the story `make demo` tells, run as a newcomer would see it (under this run's
# instance, label and folder): the fleet comes up phase by phase, the API's blue-green release
# through NGINX fails no request, the bad canary is stopped by its analysis and rolled back with no
# failed request after, a killed node is healed, each commit has its note; then `hack/demo.sh down`
# leaves nothing behind.
. "$(dirname "$0")/../lib.sh"

export AURIGA_DEMO_DIR=$TEST_TMP/demo AURIGA_DEMO_INSTANCE=e2e-demo-$$ AURIGA_DEMO_LABEL=$TEST_LABEL
on_exit "'$TOP/hack/demo.sh' down >/dev/null 2>&1"
start=$(date +%s)
timeout 300 "$TOP/hack/demo.sh" >"$TEST_TMP/out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
out=$(sed 's/\x1b\[[0-9;]*m//g' "$TEST_TMP/out")
diag "the demo took $secs s"
expect_eq "the demo ends with status 0" 0 "$rc"
[ "$rc" = 0 ] || { sed 's/^/    /' "$TEST_TMP/out" | tail -40; }
# The time is reported, not held to a bound here: speed targets live in hack/bench/.

# The fleet phase by phase: slim healthy before business-1 starts, business-2 before validators.
first_line() { grep -n "$1" <<<"$out" | head -1 | cut -d: -f1; }
s_ok=$(first_line 'slim  *slim  *Healthy')
b1_go=$(first_line 'business-1  *business  *Progressing  *[1-9]')
b2_ok=$(first_line 'business-2  *business  *Healthy')
v_go=$(first_line 'validators  *validator  *Progressing .*\(recreate\|rolling\)')
check "the fleet becomes Healthy" grep -q 'the fleet is Healthy' <<<"$out"
check "business-1 has ready nodes only after slim is Healthy" [ -n "$s_ok" ] && [ -n "$b1_go" ] && [ "$s_ok" -lt "$b1_go" ]
check "validators start only after business-2 is Healthy" [ -n "$b2_ok" ] && [ -n "$v_go" ] && [ "$b2_ok" -lt "$v_go" ]

bg=$(grep 'during the release:' <<<"$out")
diag "$bg"
expect_match "blue-green through NGINX: no request failed" ' [1-9][0-9]* requests, 0 failed;' "$bg"
expect_match "both versions answered during the release" '11\.0\.0: [1-9].*|11\.1\.0: [1-9].*11\.0\.0: [1-9]' "$bg"
check "the bad canary is rolled back" grep -q 'explorer is RolledBack' <<<"$out"
expect_match "the reason names the analysis and the measured error ratio" \
	'explorer: canary analysis at 25% \(step 3 of 5\) failed: error-rate = 0\.[0-9]+ > 0\.05' "$out"
after=$(grep 'after the rollback:' <<<"$out")
diag "$after"
expect_match "no request failed after the rollback" ' [1-9][0-9]* requests, 0 failed' "$after"
expect_match "a killed slim node is healed" 'slim: 5 of 5 running and ready again [0-9]+ ms after the kill' "$out"
expect_match "the first commit's note says Healthy" 'The fleet: slim, business and validator nodes
    phase: Healthy' "$out"
expect_match "the canary commit's note says RolledBack" 'Release the explorer.*
    phase: RolledBack' "$out"
check "the status page's address is printed" grep -q 'status page:  http://127.0.0.1:[0-9]*/' <<<"$out"

"$TOP/hack/demo.sh" down >/dev/null 2>&1
expect_eq "down: no container of the demo is left" 0 "$(docker ps -aq --filter "label=$TEST_LABEL" | wc -l)"
check "down: the daemon is stopped" sh -c "! pgrep -f -- '--instance[ ]$AURIGA_DEMO_INSTANCE' >/dev/null"
check "down: its folder is removed" [ ! -e "$AURIGA_DEMO_DIR" ]

done_testing
