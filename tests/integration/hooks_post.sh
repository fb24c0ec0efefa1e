#!/usr/bin/env bash
# postDeploy and onRollback hooks against real dockerd. A postDeploy hook runs once the deployment
# is ready at its new revision and before the next phase starts, told what happens through its
# environment; its failure rolls the deployment back to the old revision, after which the
# onRollback hook runs with the revisions from and to; with postDeployFailure: Mark the new revision
# keeps running and the deployment is marked failed, after a restart too; a postDeploy hook
# interrupted by kill -9 of the controller runs again to completion once, then the next phase.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 v3
HOOK_IMG=auriga-test-sleeper:2
"$TOP/tests/fakes/build-test-image.sh" "$HOOK_IMG" || { fail "build the hook image"; exit 1; }
engine_instance hookpost
REPO=$TEST_TMP/repo
A=gaphpa
B=gaphpb
# The demo node answers ready this long after its start: a hook seen later ran after readiness.
DELAY_MS=3000

run() { auriga_cmd "$@"; }
apply() { run apply --timeout-total 180 --repo "$REPO/specs.git" --ref main >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"; }
# revs DEP: the revisions of DEP's running containers, one line each, sorted.
revs() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--format '{{.Label "auriga.io/revision"}}' | sort
}
image_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--format '{{.Image}}' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
events_start
# ev SINCE: this run's container events since SINCE (events_since: NANOS|ACTION|NAME|DEPLOYMENT|HOOK|REVISION).
ev() { events_since "$1"; }
# hook_ev SINCE STAGE JOB ACTION: the times of ACTION on the hook container of A's JOB at STAGE.
hook_ev() { ev "$1" | awk -F'|' -v n="$INST-$A-$2-$3" -v a="$4" -v h="$A" '$5 == h && $2 == a && $3 == n {print $1}'; }
# dep_ev SINCE DEP ACTION: the times of ACTION on DEP's containers.
dep_ev() { ev "$1" | awk -F'|' -v d="$2" -v a="$3" '$4 == d && $2 == a {print $1}'; }
# hook_all SINCE: every event of A's hook containers.
hook_all() { ev "$1" | awk -F'|' -v h="$A" '$5 == h'; }
count() { grep -c . <<<"$1"; }
# after T0 T1: T1 came at least the start delay after T0 (both in ns).
after_ready() { [ -n "$1" ] && [ -n "$2" ] && [ $(($2 - $1)) -ge $((DELAY_MS * 1000000)) ]; }
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ]; }

# deps IMAGE HOOKS [FAILURE]: A (phase 0, 2 replicas, ready DELAY_MS after start) with HOOKS (its hooks: body), B (phase 1) on IMAGE.
deps() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $A}
spec:
  phase: 0
  replicas: 2
  progressDeadlineSeconds: 120
  template:
    image: $1
    env: {DEMO_START_DELAY_MS: "$DELAY_MS"}
  probes:
    readiness:
      exec: {command: [/demo-node, probe, /q/health/ready]}
      periodSeconds: 1
      timeoutSeconds: 5
      failureThreshold: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  hooks:
$2
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $B}
spec:
  phase: 1
  progressDeadlineSeconds: 120
  template:
    image: $1
EOF
}
# job NAME SECONDS CODE: a hook Job that prints its AURIGA_* environment, works SECONDS, exits CODE.
job() {
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n  activeDeadlineSeconds: 60\n' "$1"
	printf '  template:\n    image: %s\n    command: [/t]\n    args: [env, "%s", "%s"]\n' "$HOOK_IMG" "$2" "$3"
}
{ job post-ok 0 0; echo ---; job post-fail 0 4; echo ---; job post-slow 12 0; echo ---; job undo 0 0; echo ---
	job undo-fail 0 5; } >"$SPECS/jobs.yaml"

# (1) A postDeploy hook after the new revision is ready, before the next phase.
deps auriga-demo-node:v1 "    postDeploy: [post-ok]
    onRollback: [undo]" >"$SPECS/deps.yaml"
c1=$("$TOP/hack/demo-repo.sh" "$REPO" "$SPECS")
plan=$(run plan --repo "$REPO/specs.git" --ref main 2>&1)
expect_match "auriga plan lists the postDeploy hook" "postDeploy hook 'post-ok' runs once healthy" "$plan"
expect_match "and the onRollback hook, as run on rollback" "onRollback hook 'undo' runs on rollback" "$plan"
expect_eq "auriga plan --json lists both" '["post-ok"] ["undo"]' \
	"$(run plan --json --repo "$REPO/specs.git" --ref main 2>/dev/null |
		jq -r --arg a "$A" '.phases[].deployments[] | select(.name == $a) |
			"\(.postDeployHooks | tojson) \(.onRollbackHooks | tojson)"')"
t0=$(date +%s.%N)
apply a1
expect_eq "v1 applies with its postDeploy hook" 0 "$?"
expect_eq "A runs v1" "auriga-demo-node:v1" "$(image_of $A)"
expect_eq "B runs v1" "auriga-demo-node:v1" "$(image_of $B)"
created=$(hook_ev "$t0" postdeploy post-ok create)
expect_eq "the postDeploy hook ran once" 1 "$(count "$created")"
last_start=$(dep_ev "$t0" $A start | tail -1)
check "it was created once A was ready (at least ${DELAY_MS} ms after A's last start)" after_ready "$last_start" "$created"
check "it ended before B's first container was created" before "$(hook_ev "$t0" postdeploy post-ok destroy)" \
	"$(dep_ev "$t0" $B create | head -1)"
expect_eq "no onRollback hook ran" 0 "$(hook_ev "$t0" onrollback undo create | grep -c .)"
rev1=$(revs $A | head -1)
log=$(cat "$TEST_TMP/a1.err")
expect_match "the hook was told its stage" "AURIGA_HOOK=postDeploy" "$log"
expect_match "the hook was told the revision it went to" "AURIGA_REVISION_TO=$rev1" "$log"
expect_match "the hook was told the reason" "AURIGA_REASON=rollout" "$log"
expect_match "the hook was told the deployment" "AURIGA_DEPLOYMENT=$A" "$log"
expect_match "the hook was told the commit" "AURIGA_COMMIT=$c1" "$log"
expect_match "the status showed the hook while it ran" "$A Progressing .*postDeploy hook 'post-ok' running" \
	"$(cat "$TEST_TMP/a1.out")"
expect_match "the state file records the completed hook" '"postDeploy/post-ok"' "$(cat "$STATE/engine-$INST.json")"

# (2) A failing postDeploy hook: back to v1, the onRollback hook told from and to, B untouched.
deps auriga-demo-node:v2 "    postDeploy: [post-fail]
    onRollback: [undo]" >"$REPO/work/deps.yaml"
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v2 behind a failing postDeploy hook")
t1=$(date +%s.%N)
apply a2
rc=$?
check "the apply does not converge" test "$rc" -ne 0
rev2=$(ev "$t1" | awk -F'|' -v d="$A" '$4 == d && $2 == "create" {print $6}' | head -1)
check "A's v2 containers were made" test -n "$rev2" -a "$rev2" != "$rev1"
expect_eq "A is back at v1: its two containers at v1's revision" "$rev1 $rev1" "$(revs $A | tr '\n' ' ' | sed 's/ $//')"
expect_eq "B (a later phase) still runs v1, untouched" "auriga-demo-node:v1:0" \
	"$(image_of $B):$(dep_ev "$t1" $B create | grep -c .)"
failed=$(hook_ev "$t1" postdeploy post-fail create)
expect_eq "the postDeploy hook ran once" 1 "$(count "$failed")"
undo=$(hook_ev "$t1" onrollback undo create)
expect_eq "the onRollback hook ran once" 1 "$(count "$undo")"
check "after A was ready at v1 again" after_ready "$(dep_ev "$t1" $A start | tail -1)" "$undo"
log=$(grep 'onRollback hook completed' "$TEST_TMP/a2.err")
expect_match "the onRollback hook was told its stage" "AURIGA_HOOK=onRollback" "$log"
expect_match "the revision rolled back from" "AURIGA_REVISION_FROM=$rev2" "$log"
expect_match "the revision returned to" "AURIGA_REVISION_TO=$rev1" "$log"
expect_match "and why" "AURIGA_REASON=postDeploy hook 'post-fail' failed" "$log"
note=$(note_in "$REPO/work" "$c2")
expect_match "the note says rolled back" "RolledBack" "$note"
expect_match "the note names the hook" "postDeploy hook 'post-fail' failed" "$note"
expect_match "with its exit code" "exited with 4" "$note"
expect_match "and the last lines of its output" "hook done" "$note"
[ -n "${KEEP_DIAG:-}" ] && echo "$note" | while read -r l; do diag "$l"; done

# (3) postDeployFailure: Mark: the new revision keeps running, marked failed, after a restart too.
deps auriga-demo-node:v2 "    postDeploy: [post-fail]
    onRollback: [undo]
    postDeployFailure: Mark" >"$REPO/work/deps.yaml"
c3=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v2 again, a failing postDeploy hook only marks it")
t2=$(date +%s.%N)
apply a3
rc=$?
check "the apply does not converge" test "$rc" -ne 0
expect_eq "A keeps v2 running: its two containers at v2's revision" "$rev2 $rev2" \
	"$(revs $A | tr '\n' ' ' | sed 's/ $//')"
expect_eq "B (a later phase) still runs v1" "auriga-demo-node:v1" "$(image_of $B)"
expect_eq "the postDeploy hook ran once" 1 "$(hook_ev "$t2" postdeploy post-fail create | grep -c .)"
expect_eq "no onRollback hook ran" 0 "$(hook_ev "$t2" onrollback undo create | grep -c .)"
note=$(note_in "$REPO/work" "$c3")
expect_match "the note says failed" "^auriga: Failed" "$note"
expect_match "and names the hook" "postDeploy hook 'post-fail' failed" "$note"
expect_match "the state file records the failure" '"postDeploy/post-fail": "postDeploy hook' \
	"$(cat "$STATE/engine-$INST.json")"
t3=$(date +%s.%N)
apply a3b
rc=$?
check "an apply after a restart still fails it" test "$rc" -ne 0
expect_match "with the hook's failure" "postDeploy hook 'post-fail' failed" "$(cat "$TEST_TMP/a3b.out")"
expect_eq "without running the hook again" 0 "$(hook_ev "$t3" postdeploy post-fail create | grep -c .)"
expect_eq "nor touching a container" "" \
	"$(ev "$t3" | awk -F'|' '$2 == "create" || $2 == "start" || $2 == "stop" || $2 == "destroy"')"

# (4) kill -9 of the controller while a postDeploy hook runs: it runs again to completion once.
deps auriga-demo-node:v3 "    postDeploy: [post-slow]
    onRollback: [undo]" >"$REPO/work/deps.yaml"
c4=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v3 behind a slow postDeploy hook")
t4=$(date +%s.%N)
auriga_bg "$TEST_TMP/a4.out" "$TEST_TMP/a4.err" apply --timeout-total 180 --repo "$REPO/specs.git" --ref main
pid=$AURIGA_PID
on_exit "kill -KILL $pid 2>/dev/null"
hook_running() {
	[ -n "$(docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook-stage=postDeploy")" ]
}
check "the slow hook starts" wait_for 120 hook_running
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "no controller of the instance runs on after kill -9" sh -c "! pgrep -f -- '--instance[ ]$INST ' >/dev/null"
check "the hook's container outlives the killed controller" hook_running
expect_eq "A runs v3" "auriga-demo-node:v3" "$(image_of $A)"
expect_eq "B was not touched yet" "auriga-demo-node:v1" "$(image_of $B)"
apply a5
expect_eq "the next apply converges" 0 "$?"
expect_eq "A runs v3" "auriga-demo-node:v3" "$(image_of $A)"
expect_eq "B runs v3" "auriga-demo-node:v3" "$(image_of $B)"
expect_eq "the interrupted hook ran again: two containers in all" 2 "$(hook_ev "$t4" postdeploy post-slow create | grep -c .)"
expect_match "to completion, once" "^1$" "$(grep -c 'postDeploy hook completed.*post-slow' "$TEST_TMP/a5.err")"
expect_match "from v1's revision (v2 never was healthy)" "AURIGA_REVISION_FROM=$rev1" "$(cat "$TEST_TMP/a5.err")"
check "B's first container came after the hook's last end" before \
	"$(hook_ev "$t4" postdeploy post-slow destroy | tail -1)" "$(dep_ev "$t4" $B create | head -1)"
expect_eq "no hook container is left" "" "$(docker ps -aq --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook")"
t5=$(date +%s.%N)
apply a6
expect_eq "an apply after the rollout converges" 0 "$?"
expect_eq "and runs no hook again" "" "$(hook_all "$t5")"
expect_match "the note of the last commit says healthy" "Healthy" "$(note_in "$REPO/work" "$c4")"
rev3=$(revs $A | head -1)

# (5) auriga rollback by hand: the onRollback hooks run once v1 is back; one that fails is in the
# note and the status, and the rollback stands.
deps auriga-demo-node:v3 "    postDeploy: [post-slow]
    onRollback: [undo, undo-fail]" >"$REPO/work/deps.yaml"
c5=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v3, two onRollback hooks")
apply a7
expect_eq "a commit that only changes the onRollback hooks converges" 0 "$?"
t6=$(date +%s.%N)
run rollback --timeout-total 180 --reason "bad release" --repo "$REPO/specs.git" --ref main $A \
	>"$TEST_TMP/rb.out" 2>"$TEST_TMP/rb.err"
expect_eq "auriga rollback exits 0" 0 "$?"
expect_eq "A is back at v1: its two containers at v1's revision" "$rev1 $rev1" "$(revs $A | tr '\n' ' ' | sed 's/ $//')"
undo=$(hook_ev "$t6" onrollback undo create)
expect_eq "the first onRollback hook ran once" 1 "$(count "$undo")"
check "after A was ready at v1 again" after_ready "$(dep_ev "$t6" $A start | tail -1)" "$undo"
log=$(grep 'onRollback hook completed' "$TEST_TMP/rb.err")
expect_match "it was told the revision rolled back from" "AURIGA_REVISION_FROM=$rev3" "$log"
expect_match "the revision returned to" "AURIGA_REVISION_TO=$rev1" "$log"
expect_match "and the reason given by hand" "AURIGA_REASON=rolled back by hand: bad release" "$log"
expect_eq "the failing one ran once" 1 "$(hook_ev "$t6" onrollback undo-fail create | grep -c .)"
note=$(note_in "$REPO/work" "$c5")
expect_match "the note says rolled back" "RolledBack" "$note"
expect_match "and has the onRollback hook's failure" "onRollback hook 'undo-fail' failed after 1 attempt: .*exited with 5" \
	"$note"
expect_match "the status too" "$A RolledBack .*onRollback hook 'undo-fail' failed" "$(cat "$TEST_TMP/rb.out")"
t7=$(date +%s.%N)
apply a8
expect_eq "an apply after it keeps the rollback" "$rev1 $rev1" "$(revs $A | tr '\n' ' ' | sed 's/ $//')"
expect_eq "and runs no hook again" "" "$(hook_all "$t7")"
expect_match "the failure still shown" "onRollback hook 'undo-fail' failed" "$(cat "$TEST_TMP/a8.out")"

done_testing
