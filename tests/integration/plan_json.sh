#!/usr/bin/env bash
# `auriga plan --json` against the real engine, and `--prune` with its guard: the plan parses,
# lists per deployment the actions and reasons (create, replace with the containers' ids and
# revisions, start), exits 2 when something would change, 0 when nothing would and 1 on any error
# (a usage error too), and what it lists is exactly what `auriga apply` then changes (compared by
# container id). A deployment gone from the specs keeps running without --prune; with --prune its
# containers go, at most a quarter of the fleet per pass ("prune held back"), the rest in the
# passes after.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance plan

run() { auriga_cmd "$@"; }
# ids [DEPLOYMENT]: the ids of this instance's containers (of one deployment), sorted.
ids() {
	docker ps -a --no-trunc -q --filter "label=auriga.io/managed-by=$INST" \
		${1:+--filter "label=auriga.io/deployment=$1"} | sort
}
parses() { jq -e . "$1" >/dev/null; }
# jqp FILTER: reads the plan saved in $TEST_TMP/plan.json.
jqp() { jq -r "$1" "$TEST_TMP/plan.json"; }
# plan_json [ARGS]: the plan as JSON into $TEST_TMP/plan.json; its exit status in $prc.
plan_json() {
	run plan --json "$@" "$SPECS" >"$TEST_TMP/plan.json" 2>"$TEST_TMP/plan.err"
	prc=$?
	[ "$prc" = 1 ] && tail -3 "$TEST_TMP/plan.err" | while read -r l; do diag "$l"; done
	return 0
}
apply() {
	local log=$1
	shift
	run apply --timeout-total 120 "$@" "$SPECS" >"$TEST_TMP/$log.out" 2>"$TEST_TMP/$log.err"
	arc=$?
	[ "$arc" = 0 ] || tail -5 "$TEST_TMP/$log.err" | while read -r l; do diag "$l"; done
}
deployment() { # NAME REPLICAS IMAGE
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  progressDeadlineSeconds: 60
  template:
    image: $3
---
EOF
}

deployment pja 2 auriga-demo-node:v1 >"$SPECS/pja.yaml"
deployment pjb 1 auriga-demo-node:v1 >"$SPECS/pjb.yaml"

# --- errors are 1, never 2 (which says only that something would change) ----------------------
run plan --json --no-such-option "$SPECS" >/dev/null 2>&1
expect_eq "an unknown option exits 1" 1 "$?"
mkdir -p "$TEST_TMP/broken"
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: pjx}\nspec: {replicas: -1, template: {image: x}}\n' \
	>"$TEST_TMP/broken/x.yaml"
out=$(run plan --json "$TEST_TMP/broken" 2>&1 >/dev/null)
expect_eq "specs that do not load exit 1" 1 "$?"
expect_match "with the file and position of the error" "x.yaml:4:[0-9]+: Deployment/pjx: spec.replicas" "$out"
run plan --json --docker-host "unix://$TEST_TMP/no-docker.sock" "$SPECS" >/dev/null 2>"$TEST_TMP/nodocker.err"
expect_eq "an engine that does not answer exits 1" 1 "$?"

# --- nothing runs yet: three containers to create --------------------------------------------
plan_json
expect_eq "plan exits 2 when containers are missing" 2 "$prc"
check "plan --json is one JSON document" parses "$TEST_TMP/plan.json"
expect_eq "it names the instance" "$INST" "$(jqp .instance)"
expect_eq "it lists both deployments" "pja pjb" "$(jqp '[.phases[].deployments[].name] | sort | join(" ")')"
expect_eq "three containers to create, named by instance and ordinal, each 'missing'" \
	"create $INST-pja-0 missing|create $INST-pja-1 missing|create $INST-pjb-0 missing" \
	"$(jqp '[.phases[].deployments[].actions[] | "\(.action) \(.container) \(.reason)"] | sort | join("|")')"
expect_eq "the counts say three creates and three changes" "3 3" "$(jqp '"\(.counts.create) \(.changes)"')"
expect_eq "each action names its host, the Cluster's endpoint" "local local local" \
	"$(jqp '[.phases[].deployments[].actions[].host] | join(" ")')"
check "nothing was created by the plan" test -z "$(ids)"
rev_a1=$(jqp '.phases[].deployments[] | select(.name == "pja") | .revision')

apply a1
expect_eq "apply converges" 0 "$arc"
expect_eq "three containers run" 3 "$(ids | wc -l)"
expect_eq "pja runs the revision the plan announced" "$rev_a1" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' $(ids pja) | sort -u)"

# --- converged: nothing to do ---------------------------------------------------------------
plan_json
expect_eq "plan exits 0 when the fleet matches the specs" 0 "$prc"
expect_eq "no changes and no actions" "0 0" "$(jqp '"\(.changes) \([.phases[].deployments[].actions[]] | length)"')"
expect_eq "every deployment up to date" "pja 2/2 pjb 1/1" \
	"$(jqp '[.phases[].deployments[] | "\(.name) \(.upToDate)/\(.desired)"] | sort | join(" ")')"
run plan "$SPECS" >"$TEST_TMP/plan.txt" 2>&1
expect_eq "the text plan exits 0 as well" 0 "$?"
expect_match "and says so" "No changes. The fleet matches the specs." "$(cat "$TEST_TMP/plan.txt")"

# --- a new image for pja, pjb stopped by hand -------------------------------------------------
a_before=$(ids pja)
b_before=$(ids pjb)
docker stop -t 1 "$b_before" >/dev/null
deployment pja 2 auriga-demo-node:v2 >"$SPECS/pja.yaml"
plan_json
expect_eq "plan exits 2 when a template changed" 2 "$prc"
expect_eq "pja's two containers are to be replaced, by id" "$a_before" \
	"$(jqp '.phases[].deployments[] | select(.name == "pja") | .actions[] | select(.action == "replace") | .containerId' | sort)"
expect_eq "each replace says from which revision to which" \
	"revision ${rev_a1:0:12} -> $(jqp '.phases[].deployments[] | select(.name == "pja") | .revision' | cut -c1-12)" \
	"$(jqp '.phases[].deployments[] | select(.name == "pja") | .actions[].reason' | sort -u)"
expect_match "the diff names the image change" "image: .*auriga-demo-node:v1 -> auriga-demo-node:v2" \
	"$(jqp '.phases[].deployments[] | select(.name == "pja") | .diff | join(";")')"
expect_eq "pjb's stopped container is to be started, by id, with the reason" "start $b_before exited, not running" \
	"$(jqp '.phases[].deployments[] | select(.name == "pjb") | .actions[] | "\(.action) \(.containerId) \(.reason)"')"
expect_eq "three changes in all" 3 "$(jqp .changes)"
rev_a2=$(jqp '.phases[].deployments[] | select(.name == "pja") | .revision')
check "nothing was changed by the plan" test "$(docker inspect -f '{{.State.Running}}' "$b_before")" = false

apply a2
expect_eq "apply converges on the new image" 0 "$arc"
a_after=$(ids pja)
expect_eq "the replaced containers are gone (none of the planned ids is left)" "" \
	"$(comm -12 <(echo "$a_before") <(echo "$a_after"))"
expect_eq "two new pja containers at the revision the plan announced" "2 $rev_a2" \
	"$(echo "$a_after" | wc -l) $(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' $a_after | sort -u)"
expect_eq "pjb was started, not replaced (the same id)" "$b_before" "$(ids pjb)"
expect_eq "and runs" true "$(docker inspect -f '{{.State.Running}}' "$b_before")"
plan_json
expect_eq "after apply the plan is empty (exit 0)" "0 0" "$prc $(jqp .changes)"

# --- pjb leaves the specs: kept without --prune, removed with it ------------------------------
rm "$SPECS/pjb.yaml"
plan_json
expect_eq "without --prune, a deployment gone from the specs is no change (exit 0)" 0 "$prc"
expect_eq "the plan counts its container as kept, with no orphan action" "1 0" "$(jqp '"\(.kept) \(.orphans | length)"')"
apply a3
expect_eq "apply without --prune converges" 0 "$arc"
expect_eq "pjb's container still runs (the same id)" "$b_before true" \
	"$(ids pjb) $(docker inspect -f '{{.State.Running}}' "$b_before")"
plan_json --prune
expect_eq "with --prune the plan exits 2" 2 "$prc"
expect_eq "and lists pjb's container by id for removal, with the reason" \
	"remove-orphan pjb $b_before deployment removed from the specs" \
	"$(jqp '.orphans[] | "\(.action) \(.deployment) \(.containerId) \(.reason)"')"
apply a4 --prune
expect_eq "apply --prune converges" 0 "$arc"
expect_eq "pjb's container is gone" "" "$(ids pjb)"
expect_eq "pja's containers are untouched (the same ids)" "$a_after" "$(ids pja)"

# --- the guard: four orphans in a fleet of six, at most one removed per pass -------------------
deployment pjc 4 auriga-demo-node:v1 >"$SPECS/pjc.yaml"
apply a5
expect_eq "pjc's four replicas come up" "0 4" "$arc $(ids pjc | wc -l)"
c_before=$(ids pjc)
rm "$SPECS/pjc.yaml"
plan_json --prune
expect_eq "the plan lists all four orphans (the guard limits a pass, not the plan)" "$c_before" \
	"$(jqp '.orphans[].containerId' | sort)"
since=$(date +%s.%N)
apply a6 --prune
until_=$(date +%s.%N)
expect_eq "apply --prune converges" 0 "$arc"
expect_eq "every orphan is gone in the end" "" "$(ids pjc)"
expect_eq "pja's containers are untouched" "$a_after" "$(ids pja)"
expect_match "the log says prune was held back" "prune held back" "$(cat "$TEST_TMP/a6.err")"
# Docker's events tell how many orphans were being removed at once: six containers at 25 % allow
# one per pass, and a pass waits for its removals, so each orphan's kill..destroy span must end
# before the next one's begins.
docker events --since "$since" --until "$until_" --filter "label=auriga.io/managed-by=$INST" \
	--filter "label=auriga.io/deployment=pjc" --filter type=container \
	--format '{{.TimeNano}} {{.Action}} {{.Actor.ID}}' >"$TEST_TMP/events"
overlap=$(sort -n "$TEST_TMP/events" | awk '
	{ if (!($3 in first)) { first[$3] = $1; order[n++] = $3 } if ($2 == "destroy") last[$3] = $1 }
	END {
		bad = 0
		for (i = 1; i < n; i++) if (first[order[i]] < last[order[i - 1]]) bad++
		print n " removed, " bad " overlapping"
	}')
expect_eq "the four orphans were removed one after another, never two at once" "4 removed, 0 overlapping" "$overlap"

done_testing
