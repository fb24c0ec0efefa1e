#!/usr/bin/env bash
# Release control through the daemon: `auriga run` follows a specs repository with a Rolling
# deployment and a Canary one released through a real NGINX, and answers every
# POST /api/v1/deployments/NAME/{promote,pause,resume,abort,rollback} with the engine's verdict.
# A promote with nothing to promote is refused (409 with the reason, 404 for an unknown deployment)
# and leaves the note and the release record as they were; `auriga pause` holds a rolling update
# (the count of new-revision containers does not grow over several passes, nor across a restart of
# the daemon) until `auriga resume` lets it finish; `auriga abort` stops a canary held at its pause,
# its phase Aborted in /api/v1/status and in the note, with who asked (the token file's name) and
# why; `auriga rollback` goes through the daemon and says so. Ready never shows past desired.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../e2e/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

# The daemon takes instance names of [a-z0-9.-] only.
FLEET_INSTANCE=it-release-control-$$
DEP=cnry$$
ROLL=roll$$
TOKEN=$TEST_TMP/token
listen_port
specs_repo
SPECS=$WORK
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/../e2e/traffic-lib.bash"

CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 50
        - pause: {}"

# roll_yaml IMAGE [START_DELAY_MS]: three replicas rolled one at a time (one surge, none unavailable).
roll_yaml() {
	cat >"$SPECS/roll.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $ROLL}
spec:
  role: api
  replicas: 3
  progressDeadlineSeconds: 120
  template:
    image: $1
    env: {DEMO_START_DELAY_MS: "${2:-0}"}
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1}
  strategy:
    type: Rolling
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
EOF
}

# note COMMIT: the status note auriga pushed for COMMIT ("" when none yet).
note() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null; }
note_says() { note "$1" | grep -q "$2"; }
# field NAME KEY: one field of a deployment in /api/v1/status (JSON), "" when absent.
field() {
	curl -s --max-time 5 "$RUN_URL/api/v1/status" | python3 -c 'import json, sys
for d in json.load(sys.stdin).get("deployments", []):
    if d.get("name") == sys.argv[1]:
        v = d
        for k in sys.argv[2].split("."):
            v = v.get(k) if isinstance(v, dict) else None
        print("" if v is None else json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2" 2>/dev/null
}
field_is() { [ "$(field "$1" "$2")" = "$3" ]; }
step_has() { [[ $(field "$1" step) == *"$2"* ]]; }
# running IMAGE: running containers of the rolling deployment on IMAGE.
running() { fleet_running_count "$ROLL" "$1"; }
# post NAME VERB: the HTTP status and body of an action with the token, as "CODE BODY".
post() {
	curl -s --max-time 15 -w ' %{http_code}' -X POST -H "Authorization: Bearer ctl-$$-secret" \
		"$RUN_URL/api/v1/deployments/$1/$2"
}
ctl() { "$AURIGA_BIN" "$1" --listen "127.0.0.1:$RUN_PORT" --api-token-file "$TOKEN" "${@:2}"; }
start_daemon() {
	run_start "$TEST_TMP/run$1.log" --repo "file://$REMOTE" --state-dir "$FLEET_STATE" \
		--instance "$FLEET_INSTANCE" --listen "127.0.0.1:$RUN_PORT" --api-token-file "$TOKEN" \
		--poll-interval 1s
}
await_failed() { diag "roll: $(field "$ROLL" step); $DEP: $(field "$DEP" step); images: $(images)"; }

printf '# name: alice\nctl-%s-secret\n' "$$" >"$TOKEN"
chmod 0600 "$TOKEN"
write_dep auriga-demo-node:v1 "$CANARY"
roll_yaml auriga-demo-node:v1
c0=$(commit "v1")
start_daemon 1
run_health "while it starts"
await "v1: both deployments Healthy" 90 note_says "$c0" "^auriga: Healthy"

# --- nothing to promote: 409 with the reason, nothing recorded ---------------------------------
before=$(note "$c0")
out=$(post "$ROLL" promote)
expect_match "promote of a Rolling deployment: 409" ' 409$' "$out"
expect_match "the 409 says why" "released by Rolling: nothing to promote" "$out"
out=$(post "$DEP" promote)
expect_match "promote of a canary with no release under way: 409 with the reason" \
	"no release under way to promote.* 409$" "$out"
expect_match "promote of an unknown deployment: 404" ' 404$' "$(post ghost$$ promote)"
out=$(ctl promote "$DEP" 2>&1)
expect_eq "auriga promote with nothing to promote exits 1" 1 "$?"
expect_match "auriga promote prints the controller's refusal" "refused by the controller.*(409).*no release under way" "$out"
sleep 3
expect_eq "the refused promotes leave the note as it was" "$before" "$(note "$c0")"
expect_eq "the refused promotes record no action in the status" "" "$(field "$DEP" lastAction)"
record() { python3 -c 'import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*.traffic")[0]))["deployments"].get(sys.argv[2], {})
print("promote=%d full=%d" % (r.get("promote", 0), r.get("full", 0)))' "$FLEET_STATE" "$DEP"; }
expect_eq "the refused promotes leave the release record as it was" "promote=0 full=0" "$(record)"

# --- pause holds a rolling update, across a restart, until resume -------------------------------
roll_yaml auriga-demo-node:v2 3000
c1=$(commit "$ROLL to v2, slowly")
first_v2() { [ "$(running auriga-demo-node:v2)" -ge 1 ]; }
await "v2: the rolling update has begun" 60 first_v2
out=$(ctl pause "$ROLL" --reason "hold for the change window" 2>&1)
expect_eq "auriga pause exits 0" 0 "$?"
expect_match "auriga pause says the controller took it" "^auriga pause: $ROLL: accepted by the controller at 127.0.0.1:$RUN_PORT" "$out"
held=$(running auriga-demo-node:v2)
diag "v2 containers when paused: $held"
grew=0
for _ in 1 2 3 4 5 6 7 8; do
	sleep 1
	[ "$(running auriga-demo-node:v2)" -gt "$held" ] && grew=1
done
expect_eq "paused: the count of v2 containers does not grow over several passes" 0 "$grew"
expect_eq "paused: v1 is not all replaced" 1 "$([ "$(running auriga-demo-node:v1)" -ge 1 ] && echo 1)"
expect_eq "the status says paused" true "$(field "$ROLL" paused)"
expect_match "the step says paused at" "^paused at rolling $ROLL" "$(field "$ROLL" step)"
expect_eq "the status records who paused it (the token file's name)" alice "$(field "$ROLL" lastAction.by)"
expect_eq "the status records why" "hold for the change window" "$(field "$ROLL" lastAction.reason)"
ready=$(field "$ROLL" ready)
surge=$(field "$ROLL" surge)
total=$(fleet_ps '{{.Label "auriga.io/deployment"}}' | grep -cx "$ROLL")
diag "paused: $ready ready of 3, $surge surge, $total containers"
expect_eq "ready never shows past desired" 1 "$([ "$ready" -le 3 ] && echo 1)"
expect_eq "the surge is shown apart: containers past desired" "$((total - 3))" "$surge"
await "the note on the v2 commit records the pause and who asked" 30 note_says "$c1" "lastActionBy: alice"
out=$(post "$ROLL" pause)
expect_match "a second pause: 409, already paused" "already paused.* 409$" "$out"

run_stop "the paused daemon stops on SIGTERM"
start_daemon 2
check "the daemon becomes ready again" wait_for 30 run_is_ready
await "after a restart the deployment is still paused" 30 field_is "$ROLL" paused true
grew=0
for _ in 1 2 3 4 5 6; do
	sleep 1
	[ "$(running auriga-demo-node:v2)" -gt "$held" ] && grew=1
done
expect_eq "after a restart: still no new v2 container" 0 "$grew"

out=$(ctl resume "$ROLL" 2>&1)
expect_eq "auriga resume exits 0" 0 "$?"
expect_match "auriga resume says the controller took it" "^auriga resume: $ROLL: accepted by the controller" "$out"
all_v2() { [ "$(running auriga-demo-node:v2)" = 3 ] && [ "$(running auriga-demo-node:v1)" = 0 ]; }
await "resumed: the rolling update finishes, three v2 containers and no v1" 90 all_v2
await "resumed: the note on the v2 commit says Healthy" 60 note_says "$c1" "^auriga: Healthy"
expect_match "a resume of a deployment not paused: 409" "is not paused.* 409$" "$(post "$ROLL" resume)"
expect_match "a pause of a canary: 409, it pauses at its own steps" "released by Canary.* 409$" \
	"$(post "$DEP" pause)"

# --- abort: its own phase, with who and why ------------------------------------------------------
write_dep auriga-demo-node:v2 "$CANARY"
c2=$(commit "$DEP v2, canary to abort")
await "canary v2: held at its pause" 60 step_has "$DEP" "paused until promoted"
out=$(ctl abort "$DEP" --reason "p99 too high" 2>&1)
expect_eq "auriga abort exits 0" 0 "$?"
expect_match "auriga abort says the controller took it" "^auriga abort: $DEP: accepted by the controller" "$out"
await "after the abort the deployment's phase is Aborted in /api/v1/status" 30 field_is "$DEP" phase Aborted
only_v1() { [ "$(fleet_running_count "$DEP" auriga-demo-node:v2)" = 0 ]; }
await "after the abort the canary's containers are gone" 60 only_v1
await "the note on the aborted commit says Aborted" 60 note_says "$c2" "^auriga: Aborted"
n=$(note "$c2")
expect_match "the note names who aborted" "lastActionBy: alice" "$n"
expect_match "the note gives the reason" "lastActionReason: p99 too high" "$n"
expect_match "the note's deployment phase is Aborted, not RolledBack" "phase: Aborted" "$n"
expect_match "a second abort: 409" "no release under way to abort.* 409$" "$(post "$DEP" abort)"

# --- rollback through the daemon ------------------------------------------------------------------
out=$(ctl rollback "$ROLL" --instance "$FLEET_INSTANCE" --state-dir "$FLEET_STATE" 2>&1)
expect_eq "auriga rollback exits 0" 0 "$?"
expect_match "auriga rollback went through the daemon and says so" \
	"^auriga rollback: $ROLL: accepted by the controller at 127.0.0.1:$RUN_PORT" "$out"
all_v1() { [ "$(running auriga-demo-node:v1)" = 3 ] && [ "$(running auriga-demo-node:v2)" = 0 ]; }
await "the daemon rolls $ROLL back to v1" 90 all_v1
expect_match "a second rollback: 409, already rolled back" "already rolled back.* 409$" "$(post "$ROLL" rollback)"

run_stop "the daemon exits 0 on SIGTERM"
expect_eq "no sanitizer report in the daemon's output" 0 "$(cat "$TEST_TMP"/run*.log | grep -cE 'Sanitizer|runtime error')"
[ "$_tap_failed" -eq 0 ] || grep -hE 'level=(warn|error)' "$TEST_TMP"/run*.log | tail -20 | while read -r l; do diag "$l"; done

done_testing
