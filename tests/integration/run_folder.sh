#!/usr/bin/env bash
# `auriga run PATH` on a specs folder (no commit to tell releases apart): a release that never
# becomes ready is rolled back, and the next good release of the same deployment rolls out and is
# reported Healthy, not held as the rollback still.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

INST=it-folder-$$
DEP=fld$$
SPECS=$TEST_TMP/specs
listen_port
mkdir -p "$SPECS"

write_specs() { # IMAGE
	web_yaml "$DEP" "$1" >"$SPECS/web.yaml.tmp"
	mv "$SPECS/web.yaml.tmp" "$SPECS/web.yaml"
}
phase() {
	curl -sf --max-time 5 "$RUN_URL/api/v1/deployments/$DEP" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("phase", ""))' 2>/dev/null
}
is_phase() { [ "$(phase)" = "$1" ]; }
images_are() { [ "$(images)" = "$1" ]; }
images() {
	local ids
	ids=$(docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$DEP")
	[ -n "$ids" ] && docker inspect -f '{{.Config.Image}}' $ids | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -
}

write_specs auriga-demo-node:v1
run_start "$TEST_TMP/log" --state-dir "$TEST_TMP/state" --instance "$INST" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s "$SPECS"

check "v1 comes up Healthy" wait_for 90 is_phase Healthy
expect_eq "two replicas at v1" "auriga-demo-node:v1x2" "$(images)"

write_specs auriga-demo-node:never-ready
check "a release that never becomes ready is rolled back" wait_for 90 is_phase RolledBack
wait_for 30 images_are auriga-demo-node:v1x2
expect_eq "v1 serves again" "auriga-demo-node:v1x2" "$(images)"

write_specs auriga-demo-node:v2
check "the next good release rolls out" wait_for 90 images_are auriga-demo-node:v2x2
check "and is reported Healthy" wait_for 30 is_phase Healthy
diag "phase at the end: $(phase)"
[ "$(phase)" = Healthy ] || tail -20 "$TEST_TMP/log"
run_stop "SIGTERM stops the daemon with status 0"

done_testing
