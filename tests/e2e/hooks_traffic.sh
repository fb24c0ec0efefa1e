#!/usr/bin/env bash
# postDeploy and onRollback hooks with BlueGreen and Canary, through a real NGINX. A postDeploy hook
# runs once the release is complete: while it runs, every request through NGINX is answered by the
# new slot. One that fails rolls the release back: traffic goes back to the old slot through NGINX,
# and the onRollback hook runs after that (while it runs, NGINX answers from the old release alone),
# told the revisions from and to and why. The same for a canary release. One small deployment, not
# the fleet.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=hookstr$$
SPECS=$FLEET_SPECS
TRAFFIC_CLUSTER=hooks
. "$(dirname "$0")/traffic-lib.bash"
HOOK_IMG=auriga-test-sleeper:2
"$TOP/tests/fakes/build-test-image.sh" "$HOOK_IMG" || { fail "build the hook image"; exit 1; }

# job NAME SECONDS CODE: a hook Job that prints its AURIGA_* environment, works SECONDS, exits CODE.
job() {
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n  activeDeadlineSeconds: 60\n' "$1"
	printf '  template:\n    image: %s\n    command: [/t]\n    args: [env, "%s", "%s"]\n' "$HOOK_IMG" "$2" "$3"
}
{ job post-hold 6 0; echo ---; job post-fail 6 4; echo ---; job undo 6 0; } >"$SPECS/hookjobs.yaml"

BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      postPromotionWindowSeconds: 2
      scaleDownDelaySeconds: 2"
CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 50
        - pause: {duration: 2s}"
# hooks POSTDEPLOY: the deployment's hooks block (after its strategy), undo on rollback.
hooks() { printf '  hooks:\n    postDeploy: [%s]\n    onRollback: [undo]' "$1"; }

apply_bg() {
	: >"$TEST_TMP/apply.err"
	auriga_engine apply --timeout-total 240 "$SPECS" >"$TEST_TMP/apply.out" 2>"$TEST_TMP/apply.err" &
	APPLY_PID=$!
	on_exit "kill -KILL $APPLY_PID 2>/dev/null"
}
# hook_running STAGE JOB: a hook container of the deployment for JOB at STAGE runs now.
hook_running() {
	[ -n "$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook=$DEP" \
		--filter "label=auriga.io/hook-stage=$1" --filter "name=$FLEET_INSTANCE-$DEP-${1,,}-$2")" ]
}
# sampler_start OUT: a request through NGINX every 20 ms until the test ends, each answer as
# "EPOCH_MS VERSION" in OUT; sets SAMPLER_PID.
sampler_start() {
	python3 - "$LP" "$1" >/dev/null 2>&1 <<'PY' &
import http.client, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w", buffering=1) as f:
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("POST", "/api/v11/transactions", body=b"{}", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            f.write("%d %s\n" % (int(time.time() * 1000), r.getheader("X-Node-Version", "-")))
            c.close()
        except Exception:
            pass
        time.sleep(0.02)
PY
	SAMPLER_PID=$!
	on_exit "kill $SAMPLER_PID 2>/dev/null"
}
# created_ms CONTAINER: when Docker created it, in ms since the epoch.
created_ms() { date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s%3N; }
# all_from VERSION: 20 requests through NGINX, every one answered by VERSION.
all_from() { [ "$(sample 20)" = "20 0 $1=20" ]; }
rev_of() { fleet_ps '{{.Label "auriga.io/revision"}}' | sort -u | head -1; }

# release NAME IMAGE STRATEGY ENV: one release whose postDeploy hook holds 6 s and passes: while it
# runs NGINX answers from the new release alone; then the apply converges.
release() {
	write_dep "$2" "$3
$(hooks post-hold)" "${4:-}"
	apply_bg
	check "$1: the postDeploy hook starts" wait_for 150 hook_running postDeploy post-hold
	check "$1: while it runs, NGINX answers from ${2##*:} alone (the release is complete)" all_from "${2##*:}"
	wait "$APPLY_PID"
	expect_eq "$1: the apply converges" 0 "$?"
	check "$1: the hook completed" grep -q "postDeploy hook completed.*post-hold" "$TEST_TMP/apply.err"
}

# bad_release NAME IMAGE STRATEGY ENV OLD: a release whose postDeploy hook fails: while it runs NGINX
# answers from the new release; then back to OLD, and the onRollback hook runs only once NGINX
# answers from OLD alone.
bad_release() {
	local old=$5 from to
	to=$(rev_of)
	write_dep "$2" "$3
$(hooks post-fail)" "${4:-}"
	# Sampling from the apply on: on a loaded host the failing hook can end, and the release go
	# back, before a sampler started only once the hook was seen has sent its first request.
	sampler_start "$TEST_TMP/answers"
	apply_bg
	check "$1: the failing postDeploy hook starts" wait_for 150 hook_running postDeploy post-fail
	check "$1: while it runs, NGINX answers from ${2##*:} alone" all_from "${2##*:}"
	from=$(fleet_ps '{{.Image}} {{.Label "auriga.io/revision"}}' | awk -v i="$2" '$1 == i {print $2}' | head -1)
	check "$1: the onRollback hook starts" wait_for 120 hook_running onRollback undo
	undo_at=$(created_ms "$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook-stage=onRollback")")
	kill "$SAMPLER_PID"
	check "$1: by then NGINX answers from $old alone, the old slot" all_from "$old"
	last_new=$(awk -v v="${2##*:}" '$2 == v { t = $1 } END { print (t == "" ? 0 : t) }' "$TEST_TMP/answers")
	check "$1: the last answer from ${2##*:} came before the onRollback hook was created ($last_new < $undo_at)" \
		test "$last_new" -gt 0 -a "$last_new" -lt "${undo_at:-0}"
	wait "$APPLY_PID"
	expect_eq "$1: the apply reports the rollback" 1 "$?"
	expect_match "$1: rolled back for the hook's failure" "postDeploy hook 'post-fail' failed" "$(cat "$TEST_TMP/apply.err")"
	expect_eq "$1: the old release serves alone" "auriga-demo-node:$old" "$(fleet_images | sort -u | paste -sd' ' -)"
	expect_eq "$1: NGINX answers from $old" "20 0 $old=20" "$(sample 20)"
	undo=$(grep 'onRollback hook completed' "$TEST_TMP/apply.err")
	expect_match "$1: the onRollback hook was told the revision rolled back from" "AURIGA_REVISION_FROM=${from:-none}" "$undo"
	expect_match "$1: and the one returned to" "AURIGA_REVISION_TO=$to" "$undo"
	expect_match "$1: and why" "AURIGA_REASON=postDeploy hook 'post-fail' failed" "$undo"
	expect_eq "$1: the onRollback hook completed once" 1 "$(grep -c 'onRollback hook completed' "$TEST_TMP/apply.err")"
}

# --- blue-green ------------------------------------------------------------------------------------
release "blue-green v1" auriga-demo-node:v1 "$BLUEGREEN"
release "blue-green v2" auriga-demo-node:v2 "$BLUEGREEN"
bad_release "blue-green v3" auriga-demo-node:v3 "$BLUEGREEN" "" v2

# --- canary ----------------------------------------------------------------------------------------
release "canary v1" auriga-demo-node:v1 "$CANARY" 'RELEASE: "4"'
bad_release "canary v3" auriga-demo-node:v3 "$CANARY" 'RELEASE: "5"' v1

expect_eq "no hook container is left" "" "$(docker ps -aq --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook")"

done_testing
