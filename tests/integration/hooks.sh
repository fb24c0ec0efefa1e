#!/usr/bin/env bash
# preDeploy hooks against real dockerd: a hook runs before the first container of a new revision
# is touched, told what happens through its environment; a failing one stops the deployment and the
# later phases with no container of theirs touched (Docker's events prove it) and the note names it
# with its output; one interrupted by kill -9 of the controller runs again to completion once, and
# a completed one does not run again. The hook image declares an anonymous volume; no hook
# container's is left once the hook is done. A hook whose Docker call gets no answer is run again,
# not failed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 v3
"$TOP/tests/fakes/build-test-image.sh" auriga-test-sleeper:2 || { fail "build the hook image"; exit 1; }
HOOK_IMG=auriga-test-sleeper-vol-$$:2
printf 'FROM auriga-test-sleeper:2\nVOLUME /scratch\n' | docker build -q -t "$HOOK_IMG" - >/dev/null ||
	{ fail "build the hook image with a volume"; exit 1; }
on_exit "docker rmi $HOOK_IMG >/dev/null 2>&1"
engine_instance hooks
# This run's container creations and the daemon's volume mounts, recorded as they happen: a replay
# with `docker events --since` holds only the daemon's last 256 events, which the exec checks of
# this and other runs overrun.
docker events --filter type=container --filter event=create --filter "label=$TEST_LABEL" \
	--format '{{.Actor.ID}}' >"$TEST_TMP/creates" 2>/dev/null &
on_exit "kill $! 2>/dev/null"
docker events --filter type=volume --filter event=mount \
	--format '{{.Actor.Attributes.container}} {{.Actor.Attributes.destination}} {{.Actor.ID}}' \
	>"$TEST_TMP/mounts" 2>/dev/null &
on_exit "kill $! 2>/dev/null"
sleep 0.5
REPO=$TEST_TMP/repo
A=gaphka
B=gaphkb

run() { auriga_cmd "$@"; }
apply() { run apply --timeout-total "${2:-90}" --repo "$REPO/specs.git" --ref main >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"; }
image_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--format '{{.Image}}' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
rev_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--format '{{.Label "auriga.io/revision"}}' | head -1
}
# events SINCE: the container events of this run's containers since SINCE, as "ACTION NAME HOOK-OF".
events() { events_since "$1" | awk -F'|' '{print $2 " " $3 " " $5}'; }
events_start
# hook_creates SINCE JOB: how many containers of hook JOB were created since SINCE.
hook_creates() { events "$1" | grep -c "^create $INST-$A-predeploy-$2 $A\$"; }

# deps IMAGE HOOK: A (phase 0) with preDeploy HOOK on IMAGE, B (phase 1) on IMAGE.
deps() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $A}
spec:
  phase: 0
  progressDeadlineSeconds: 60
  template:
    image: $1
  hooks:
    preDeploy: [$2]
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $B}
spec:
  phase: 1
  progressDeadlineSeconds: 60
  template:
    image: $1
EOF
}
# job NAME SECONDS CODE: a hook Job that prints its AURIGA_* environment, works SECONDS, exits CODE.
job() {
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n  activeDeadlineSeconds: 60\n' "$1"
	printf '  template:\n    image: %s\n    command: [/t]\n    args: [env, "%s", "%s"]\n' "$HOOK_IMG" "$2" "$3"
}
{ job hook-ok 0 0; echo ---; job hook-fail 0 3; echo ---; job hook-slow 12 0; } >"$SPECS/jobs.yaml"
deps auriga-demo-node:v1 hook-ok >"$SPECS/deps.yaml"
c1=$("$TOP/hack/demo-repo.sh" "$REPO" "$SPECS")

# (2) A succeeding hook, then the rollout; the hook saw what happens.
t0=$(date +%s.%N)
apply a1
expect_eq "v1 applies with its preDeploy hook" 0 "$?"
expect_eq "A runs v1" "auriga-demo-node:v1" "$(image_of $A)"
expect_eq "B runs v1" "auriga-demo-node:v1" "$(image_of $B)"
ev=$(events "$t0")
first=$(echo "$ev" | grep -n "^create " | head -1)
expect_match "the hook's container is the first created, before any of A" "^1:create $INST-$A-predeploy-hook-ok $A\$" "$first"
expect_eq "the hook ran once" 1 "$(echo "$ev" | grep -c "^create $INST-$A-predeploy-hook-ok ")"
expect_match "and its container was removed after" "destroy $INST-$A-predeploy-hook-ok $A" "$ev"
log=$(cat "$TEST_TMP/a1.err")
expect_match "the hook was told the deployment" "AURIGA_DEPLOYMENT=$A" "$log"
expect_match "the hook was told the stage" "AURIGA_HOOK=preDeploy" "$log"
expect_match "the hook was told the commit" "AURIGA_COMMIT=$c1" "$log"
expect_match "the hook was told the revision it goes to" "AURIGA_REVISION_TO=$(rev_of $A)" "$log"
expect_match "the hook was told it comes from no revision" "AURIGA_REVISION_FROM=( |\\\\n|$)" "$log"
expect_match "the state file records the completed hook" '"preDeploy/hook-ok"' "$(cat "$STATE/engine-$INST.json")"
rev1=$(rev_of $A)

# (1) A failing hook: no container of A or B touched, the note names the hook and its output.
deps auriga-demo-node:v2 hook-fail >"$REPO/work/deps.yaml"
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v2 behind a failing hook")
plan=$(run plan --repo "$REPO/specs.git" --ref main 2>&1)
expect_match "auriga plan says which hook the change runs first" "preDeploy hook 'hook-fail' runs first" "$plan"
expect_eq "auriga plan --json lists it" '["hook-fail"]' \
	"$(run plan --json --repo "$REPO/specs.git" --ref main 2>/dev/null |
		jq -c --arg a "$A" '.phases[].deployments[] | select(.name == $a) | .preDeployHooks')"
t1=$(date +%s.%N)
apply a2
rc=$?
check "the apply fails" test "$rc" -ne 0
ev=$(events "$t1")
expect_eq "the failing hook ran once (no backoff)" 1 "$(echo "$ev" | grep -c "^create $INST-$A-predeploy-hook-fail ")"
expect_eq "no container event but the hook's" "" "$(echo "$ev" | grep -v " $A\$")"
expect_eq "A still runs v1" "auriga-demo-node:v1" "$(image_of $A)"
expect_eq "B (a later phase) still runs v1" "auriga-demo-node:v1" "$(image_of $B)"
note=$(note_in "$REPO/work" "$c2")
expect_match "the note names the hook" "preDeploy hook 'hook-fail' failed" "$note"
expect_match "with its exit code" "exited with 3" "$note"
expect_match "and the last lines of its output" "hook done" "$note"
[ -n "${KEEP_DIAG:-}" ] && echo "$note" | while read -r l; do diag "$l"; done

# (4) kill -9 of the controller while a hook runs: it runs again to completion once, then the rollout.
deps auriga-demo-node:v2 hook-slow >"$REPO/work/deps.yaml"
c3=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v2 behind a slow hook")
t2=$(date +%s.%N)
# auriga itself in the background: a subshell's pid would be killed and leave the controller running on.
auriga_bg "$TEST_TMP/a3.out" "$TEST_TMP/a3.err" apply --timeout-total 90 --repo "$REPO/specs.git" --ref main
pid=$AURIGA_PID
on_exit "kill -KILL $pid 2>/dev/null"
hook_running() { [ -n "$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook=$A")" ]; }
check "the slow hook starts" wait_for 60 hook_running
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "no controller of the instance runs on after kill -9" sh -c "! pgrep -f -- '--instance[ ]$INST ' >/dev/null"
check "its container outlives the killed controller" hook_running
expect_eq "A was not touched yet" "auriga-demo-node:v1" "$(image_of $A)"
apply a4
expect_eq "the next apply converges" 0 "$?"
expect_eq "A runs v2" "auriga-demo-node:v2" "$(image_of $A)"
expect_eq "B runs v2" "auriga-demo-node:v2" "$(image_of $B)"
expect_eq "the interrupted hook ran again: two containers in all" 2 "$(hook_creates "$t2" hook-slow)"
expect_match "to completion" "preDeploy hook completed.*hook-slow|hook-slow.*preDeploy hook completed" \
	"$(grep 'preDeploy hook completed' "$TEST_TMP/a4.err")"
expect_match "from v1's revision" "AURIGA_REVISION_FROM=$rev1" "$(cat "$TEST_TMP/a4.err")"
expect_eq "no hook container is left" "" "$(docker ps -aq --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook")"
# The anonymous volumes this run's containers mounted at /scratch (only hook containers do).
sleep 1 # the last events reach the recordings
ours=$(cat "$TEST_TMP/creates")
vols=$(awk -v ours="$ours" 'BEGIN { n = split(ours, a, "\n"); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
		$2 == "/scratch" && ($1 in mine) { print $3 }' "$TEST_TMP/mounts" | sort -u)
check "hook containers mounted anonymous volumes" test "$(echo "$vols" | grep -c .)" -ge 4
left=$(for v in $vols; do docker volume ls -q --filter "name=^$v\$"; done)
expect_eq "none of them is left" "" "$left"
t3=$(date +%s.%N)
expect_no_match "auriga plan runs no hook for a revision rolled out" "runs first" \
	"$(run plan --repo "$REPO/specs.git" --ref main 2>&1)"
apply a5
expect_eq "an apply after the rollout converges" 0 "$?"
expect_eq "and runs no hook again" 0 "$(hook_creates "$t3" hook-slow)"
expect_match "the note of the last commit says healthy" "Healthy" "$(note_in "$REPO/work" "$c3")"

# (6) Docker not answering a hook's call is no verdict on the hook: through a proxy in front of the
# daemon, the hook container's create is cut once (the connection closed, nothing answered); the
# hook is not failed but run again on a later pass, and the release goes on.
SOCK=$TEST_TMP/docker.sock
CUT=$TEST_TMP/cut
python3 "$TOP/tests/helpers/docker_proxy.py" "$SOCK" /var/run/docker.sock "$TEST_TMP/no-flag" "$TEST_TMP/proxy.log" \
	"$CUT" &
on_exit "kill $! 2>/dev/null"
check "the proxy listens" wait_for 10 test -S "$SOCK"
deps auriga-demo-node:v3 hook-ok >"$REPO/work/deps.yaml"
c6=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v3 behind a hook whose create Docker does not answer")
echo "^POST [^ ]*/containers/create[?]name=$INST-$A-predeploy-hook-ok(&|\$)" >"$CUT"
t4=$(date +%s.%N)
run apply --timeout-total 90 --docker-host "unix://$SOCK" --repo "$REPO/specs.git" --ref main \
	>"$TEST_TMP/a6.out" 2>"$TEST_TMP/a6.err"
expect_eq "the apply converges" 0 "$?"
expect_match "the hook's create was cut" "^cut POST .*/containers/create[?]name=$INST-$A-predeploy-hook-ok" \
	"$(grep '^cut ' "$TEST_TMP/proxy.log")"
expect_match "the controller says the hook did not run and runs again" \
	"hook not run: Docker did not answer; it runs again on a later pass" "$(cat "$TEST_TMP/a6.err")"
expect_no_match "it does not say the hook failed" "hook 'hook-ok' failed" "$(cat "$TEST_TMP/a6.err" "$TEST_TMP/a6.out")"
expect_eq "Docker made the hook's container once (the cut create never reached it)" 1 "$(hook_creates "$t4" hook-ok)"
expect_match "and it completed" "preDeploy hook completed" "$(cat "$TEST_TMP/a6.err")"
expect_eq "A runs v3" "auriga-demo-node:v3" "$(image_of $A)"
expect_eq "B runs v3" "auriga-demo-node:v3" "$(image_of $B)"
expect_match "the note says healthy" "Healthy" "$(note_in "$REPO/work" "$c6")"

done_testing
