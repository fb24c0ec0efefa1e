#!/usr/bin/env bash
# An image bump rolls out in phase order: Docker's own event timestamps show every slim node
# healthy at the new version before the first business node changed, every business node before
# the first validator, and never more than f = 1 of the 5 validators down. Then a version that
# never becomes ready is rolled back automatically and the later phases are never touched.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

make_fleet "$FLEET_SPECS" auriga-demo-node:v1 120
exec_readiness "$FLEET_SPECS" 2
auriga_engine apply --timeout-total 300 "$FLEET_SPECS" >"$TEST_TMP/up.out" 2>"$TEST_TMP/up.err"
rc=$?
expect_eq "the fleet comes up at v1" 0 "$rc"
[ "$rc" = 0 ] || { tail -6 "$TEST_TMP/up.out"; grep -v exec "$TEST_TMP/up.err" | grep -v 'msg=create' | tail -10; } |
	while read -r l; do diag "$l"; done

# --- the bump: v1 -> v2 everywhere -------------------------------------------------------------
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$FLEET_SPECS"/nodes/*.yaml
plan=$(auriga_engine plan "$FLEET_SPECS" 2>&1)
expect_match "plan shows the image diff" "image: auriga-demo-node:v1 -> auriga-demo-node:v2" "$plan"
expect_match "plan replaces all 25" "Plan: 0 to create, 25 to replace" "$plan"

poll_out=$TEST_TMP/poll
poller=$(health_poller "$poll_out" 600)
on_exit "kill $poller"
# Docker keeps only its latest events in memory: follow the stream while the rollout runs.
docker events --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter type=container \
	--format '{{.TimeNano}} {{.ID}} {{index .Actor.Attributes "auriga.io/deployment"}} {{.Actor.Attributes.image}} {{.Action}}' \
	>"$TEST_TMP/events" &
events_pid=$!
on_exit "kill $events_pid"
sleep 1
start=$(date +%s%N)
auriga_engine apply --timeout-total 400 "$FLEET_SPECS" >"$TEST_TMP/bump.out" 2>"$TEST_TMP/bump.err"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
kill "$events_pid" 2>/dev/null
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null
expect_eq "the bump converges" 0 "$rc"
diag "25-node rollout v1 -> v2 took $took ms"
read -r total failed min_validators <"$poll_out" || true
diag "health requests during the rollout: ${total:-0} sent, ${failed:-0} failed (old nodes stopping, new ones starting)"
check "the health poller ran during the rollout" test "${total:-0}" -gt 100
# Seen from outside, by the nodes' own readiness: quorum (4 of 5 validators) held in every round.
check "validators answering ready never fell below 4 of 5 (polled every 0.5 s; fewest: ${min_validators:-none})" \
	test "${min_validators:--1}" -ge 4
expect_eq "every node runs v2" 25 "$(fleet_images | grep -cx auriga-demo-node:v2)"
expect_eq "no container is left over" 25 "$(fleet_count)"

diag "$(wc -l <"$TEST_TMP/events") container events during the rollout"
check "phase order and quorum hold in Docker's events" "$TOP/tests/helpers/phase-order.py" "$TEST_TMP/events"

# --- a release that never becomes ready --------------------------------------------------------
before=$(fleet_ps '{{.ID}} {{.Label "auriga.io/deployment"}}' | grep -v ' slim$' | sort)
sed -i 's|image: auriga-demo-node:v2|image: auriga-demo-node:never-ready|' "$FLEET_SPECS"/nodes/*.yaml
# It never becomes ready, however long it is given: a short deadline costs no check.
sed -i 's/progressDeadlineSeconds: [0-9]*/progressDeadlineSeconds: 5/' "$FLEET_SPECS"/nodes/*.yaml
auriga_engine apply --timeout-total 180 "$FLEET_SPECS" >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err"
expect_eq "apply of a never-ready release exits 1" 1 $?
expect_match "apply says it rolled back and why" "rolled back: slim rolled back: progress deadline of 5s exceeded" "$(tail -1 "$TEST_TMP/bad.out")"
grep -q "rolled back: slim" "$TEST_TMP/bad.out" || { tail -8 "$TEST_TMP/bad.out"; grep -v exec "$TEST_TMP/bad.err" | tail -25; } | while read -r l; do diag "$l"; done
expect_eq "slim serves the last good version again" 5 "$(fleet_running_count slim auriga-demo-node:v2)"
expect_eq "no never-ready container is left" 0 "$(fleet_images | grep -c never-ready)"
after=$(fleet_ps '{{.ID}} {{.Label "auriga.io/deployment"}}' | grep -v ' slim$' | sort)
expect_eq "business and validators were never touched" "$before" "$after"
expect_match "the state remembers the failed revision" '"failed"' "$(cat "$FLEET_STATE"/engine-*.json)"
plan=$(auriga_engine plan "$FLEET_SPECS" 2>&1)
expect_match "plan holds slim at the last healthy revision" "slim \(held\)" "$plan"
since=$(date +%s.%N)
auriga_engine apply --timeout-total 60 "$FLEET_SPECS" >"$TEST_TMP/again.out" 2>&1
rc=$?
until=$(date +%s.%N)
expect_eq "a second apply reports slim held at the last healthy revision (exit 1, as rolled back)" 1 "$rc"
expect_match "and says so" "slim.*(RolledBack|rolled back)" "$(cat "$TEST_TMP/again.out")"
# A retried revision would be created and then rolled back: Docker's events tell, not the end state.
expect_eq "a second apply does not retry the failed revision (no never-ready container created)" 0 \
	"$(docker events --since "$since" --until "$until" --filter type=container --filter event=create \
		--filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format '{{.Actor.Attributes.image}}' |
		grep -c never-ready)"
expect_eq "and none runs" 0 "$(fleet_images | grep -c never-ready)"

done_testing
