#!/usr/bin/env bash
# Smoke-test Jobs run off the host's network, on the jobs network a container of the new slot joins: a Job
# that reaches for a service listening on the host's loopback only finds nothing there (the release
# is refused and the old slot keeps serving), one that reaches the release under test on its port
# passes; a container of the Job's name that auriga did not make is left alone. One small
# blue-green deployment through a real NGINX, not the fleet.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=smokenet$$
SPECS=$FLEET_SPECS
. "$(dirname "$0")/traffic-lib.bash"

# A service on the host's loopback only: it answers GET / with 200.
HL=$(free_port)
mkdir -p "$TEST_TMP/www"
python3 -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" "$HL" >/dev/null 2>&1 &
on_exit "kill $!"
check "the loopback-only service answers on the host" wait_for 15 curl -sf -o /dev/null "http://127.0.0.1:$HL/"

BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      postPromotionWindowSeconds: 1
      scaleDownDelaySeconds: 1"
apply() { auriga_engine apply --timeout-total "${1:-120}" "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }
# job_to_host: the smoke-test Job GETs / on 127.0.0.1 at the host's loopback service's port instead
# of the release.
job_to_host() {
	sed -i -e "s|command: \\[/demo-node, probe, /q/health/ready, \"9003\", \"-\"\\]|command: [/demo-node, probe, /, \"$HL\", 127.0.0.1]|" \
		-e 's|env: {DEMO_PROBE_WANT_VERSION: "[a-z0-9]*"}|env: {}|' "$SPECS/deployment.yaml"
}

write_dep auriga-demo-node:v1 "$BLUEGREEN"
apply
expect_eq "the first release comes up in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "its containers are named <instance>-<deployment>-<slot>-<ordinal>" \
	"$FLEET_INSTANCE-$DEP-blue-0 $FLEET_INSTANCE-$DEP-blue-1" "$(fleet_ps '{{.Names}}' | sort | paste -sd' ' -)"

# --- a Job that reaches for the host's loopback finds nothing there ------------------------------
write_dep auriga-demo-node:v2 "$BLUEGREEN"
job_to_host
check "the Job now targets the host's loopback service" grep -q "probe, /, \"$HL\", 127.0.0.1\]" "$SPECS/deployment.yaml"
apply
rc=$?
expect_eq "the release whose smoke test reached for the host fails" 1 "$rc"
check "the Job found nothing listening on 127.0.0.1:$HL" \
	grep -q "smoke test failed.*connect to 127.0.0.1:$HL: Connection refused" "$TEST_TMP/apply.err"
expect_eq "v1 keeps serving in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "NGINX answers from v1" v1 "$(version)"
expect_eq "no Job container is left" "" "$(docker ps -aq --filter "label=auriga.io/job-of=$FLEET_INSTANCE")"

# --- a Job that reaches for the release under test gets it --------------------------------------
# (v3: a revision that failed is not tried again.)
write_dep auriga-demo-node:v3 "$BLUEGREEN"
apply
expect_eq "with the Job reaching the release, it goes through" 0 $?
check "the smoke test was answered by v3, the new slot it ran beside" \
	grep -q 'smoke test passed.*GET /q/health/ready: 200 from version v3' "$TEST_TMP/apply.err"
expect_eq "v3 serves in slot green" "green:auriga-demo-node:v3 green:auriga-demo-node:v3" "$(slots)"

# --- a container of the Job's name that auriga did not make stays --------------------------------
docker create --name "$FLEET_INSTANCE-$DEP-smoke-test" --label "$TEST_LABEL" auriga-demo-node:v1 >/dev/null
foreign=$(docker inspect -f '{{.Id}}' "$FLEET_INSTANCE-$DEP-smoke-test")
write_dep auriga-demo-node:v1 "$BLUEGREEN" 'RELEASE: "4"'
apply
expect_eq "the release cannot run its smoke test and fails" 1 $?
check "the status says the container is in the way and not auriga's" \
	grep -q "a container named '$FLEET_INSTANCE-$DEP-smoke-test' is in the way and is not this Job's.*removes only containers it owns" \
	"$TEST_TMP/apply.err"
expect_eq "the foreign container is still there" "$foreign" "$(docker inspect -f '{{.Id}}' "$FLEET_INSTANCE-$DEP-smoke-test" 2>/dev/null)"
expect_eq "v3 keeps serving in slot green" "green:auriga-demo-node:v3 green:auriga-demo-node:v3" "$(slots)"

done_testing
