#!/usr/bin/env bash
# The example fleet on Docker Swarm (engine: swarm on the Cluster's endpoint), on a single-node
# swarm of the test's own (tests/helpers/swarm-host.sh: a dockerd in a network namespace, made a
# manager): the same story as rollout.sh. From nothing to Healthy, each Deployment one replicated
# service whose tasks carry auriga's labels and the validators' chain volumes one per slot; an image
# bump in phase order (Docker's events on the swarm: every slim task healthy at v2 before the first
# business task of v2 is made, every business one before the first validator's) with never more
# than one of the five validators down; then a release that never becomes ready rolled back by
# auriga (slim serves v2 again, no never-ready task runs) with the later phases' tasks untouched,
# held there by plan and a second apply. A deployment gone from the specs (prune) takes its service
# with it, not its tasks one by one. What Swarm cannot do through auriga yet is refused at the line.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$(dirname "$0")/fleet-lib.bash"

need_images v1 v2 never-ready
SW=$TEST_TMP/swarm
mkdir -p "$SW"
on_exit "$TOP/tests/helpers/swarm-host.sh stop $SW"
read -r SW_URL SW_ADDR < <("$TOP/tests/helpers/swarm-host.sh" start "$SW" \
	auriga-demo-node:v1 auriga-demo-node:v2 auriga-demo-node:never-ready)
[ -n "${SW_URL:-}" ] || { fail "a single-node swarm starts"; exit 1; }
ok "a single-node swarm starts ($SW_URL, tasks' ports at $SW_ADDR)"
sw() { docker -H "$SW_URL" "$@"; }

# The operator's policy names the endpoint (its url and where its ports are reached); the Cluster
# makes it the swarm.
POLICY=$TEST_TMP/policy.yaml
printf 'endpoints:\n  - {name: swarm, url: "%s", address: %s}\n' "$SW_URL" "$SW_ADDR" >"$POLICY"
make_fleet "$FLEET_SPECS" auriga-demo-node:v1 120
exec_readiness "$FLEET_SPECS" 1
python3 - "$FLEET_SPECS/cluster.yaml" <<'PY'
import re, sys
p = sys.argv[1]
t = open(p).read()
t, n = re.subn(r"  endpoints:\n    - name: local\n", "  endpoints:\n    - {name: swarm, engine: swarm}\n", t)
assert n == 1, "the example Cluster's endpoints changed"
open(p, "w").write(t)
PY
swarm_engine() {
	local cmd=$1
	shift
	auriga_engine "$cmd" --policy-file "$POLICY" "$@"
}
# Running tasks' containers of this instance on the swarm: FORMAT, one a line.
tasks_ps() { sw ps --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format "$1"; }
tasks_of() { tasks_ps '{{.Label "auriga.io/deployment"}} {{.Image}}' | grep -c "^$1 $2\$"; }

# --- from nothing to Healthy ---------------------------------------------------------------------
swarm_engine apply --timeout-total 300 "$FLEET_SPECS" >"$TEST_TMP/up.out" 2>"$TEST_TMP/up.err"
rc=$?
expect_eq "the fleet comes up at v1 on the swarm" 0 "$rc"
[ "$rc" = 0 ] || { tail -6 "$TEST_TMP/up.out"; grep -v exec "$TEST_TMP/up.err" | tail -10; } |
	while read -r l; do diag "$l"; done
expect_eq "one service per Deployment, each named for it" \
	"$FLEET_INSTANCE-business-1 $FLEET_INSTANCE-business-2 $FLEET_INSTANCE-slim $FLEET_INSTANCE-validators" \
	"$(sw service ls --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format '{{.Name}}' | sort | xargs)"
expect_eq "each service carries its Deployment and revision" 4 \
	"$(sw service ls -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | xargs docker -H "$SW_URL" service inspect \
		--format '{{index .Spec.Labels "auriga.io/deployment"}} {{index .Spec.Labels "auriga.io/revision"}}' |
		grep -cE '^[a-z0-9-]+ [0-9a-f]{64}$')"
expect_eq "each service carries the operator's extra labels (--extra-labels), as its tasks do" 4 \
	"$(sw service ls -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" | wc -l)"
expect_eq "25 tasks run at v1" 25 "$(tasks_ps '{{.Image}}' | grep -cx auriga-demo-node:v1)"
expect_eq "Swarm replaces validators stop-first, one at a time (the disruption budget)" "stop-first 1" \
	"$(sw service inspect "$FLEET_INSTANCE-validators" --format '{{.Spec.UpdateConfig.Order}} {{.Spec.UpdateConfig.Parallelism}}')"
expect_eq "and slim start-first (maxSurge 1)" "start-first 1" \
	"$(sw service inspect "$FLEET_INSTANCE-slim" --format '{{.Spec.UpdateConfig.Order}} {{.Spec.UpdateConfig.Parallelism}}')"
expect_eq "each validator slot has its own chain volume" "1 2 3 4 5" \
	"$(sw volume ls --format '{{.Name}}' | sed -n 's/^validators\.chain\.\([0-9]*\)\.[0-9a-f]*$/\1/p' | sort -n | xargs)"
expect_match "the validators' preDeploy hook ran first" "preDeploy hook completed.*deployment=validators" \
	"$(cat "$TEST_TMP/up.err")"

# --- the bump: v1 -> v2 everywhere, in phase order -------------------------------------------------
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$FLEET_SPECS"/nodes/*.yaml
plan=$(swarm_engine plan "$FLEET_SPECS" 2>&1)
expect_match "plan shows the image diff" "image: auriga-demo-node:v1 -> auriga-demo-node:v2" "$plan"
expect_match "plan replaces the 25 running tasks, not Swarm's history" "Plan: 0 to create, 25 to replace" "$plan"
expect_eq "plan names each task it replaces and its node (the swarm's one node, by its host name)" 25 \
	"$(grep -cE "replace $FLEET_INSTANCE-(slim|business-1|business-2|validators)\.[0-9]+\.[a-z0-9]+ on node swarm " <<<"$plan")"
# (docker itself in the background, not the function: its pid is the one to kill.)
docker -H "$SW_URL" events --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter type=container \
	--format '{{.TimeNano}} {{.ID}} {{index .Actor.Attributes "auriga.io/deployment"}} {{.Actor.Attributes.image}} {{.Action}}' \
	>"$TEST_TMP/events" &
events_pid=$!
on_exit "kill $events_pid 2>/dev/null"
sleep 1
start=$(date +%s%N)
swarm_engine apply --timeout-total 400 "$FLEET_SPECS" >"$TEST_TMP/bump.out" 2>"$TEST_TMP/bump.err"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
kill "$events_pid" 2>/dev/null
expect_eq "the bump converges" 0 "$rc"
[ "$rc" = 0 ] || { tail -6 "$TEST_TMP/bump.out"; grep -v exec "$TEST_TMP/bump.err" | tail -10; } |
	while read -r l; do diag "$l"; done
diag "25-node rollout v1 -> v2 on Swarm took $took ms"
expect_eq "25 tasks run at v2" 25 "$(tasks_ps '{{.Image}}' | grep -cx auriga-demo-node:v2)"
expect_eq "auriga asked Swarm for the updates in phase order" "slim business-1 business-2 validators" \
	"$(sed -n 's/.*msg="update service" deployment=\([^ ]*\).*/\1/p' "$TEST_TMP/bump.err" | xargs)"
diag "$(wc -l <"$TEST_TMP/events") container events on the swarm during the rollout"
check "phase order and quorum hold in the swarm's own events" "$TOP/tests/helpers/phase-order.py" "$TEST_TMP/events"

# --- a release that never becomes ready ------------------------------------------------------------
before=$(tasks_ps '{{.ID}} {{.Label "auriga.io/deployment"}}' | grep -v ' slim$' | sort)
sed -i 's|image: auriga-demo-node:v2|image: auriga-demo-node:never-ready|' "$FLEET_SPECS"/nodes/*.yaml
sed -i 's/progressDeadlineSeconds: [0-9]*/progressDeadlineSeconds: 5/' "$FLEET_SPECS"/nodes/*.yaml
swarm_engine apply --timeout-total 180 "$FLEET_SPECS" >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err"
expect_eq "apply of a never-ready release exits 1" 1 $?
expect_match "apply says it rolled back and why" "rolled back: slim rolled back: progress deadline of 5s exceeded" \
	"$(tail -1 "$TEST_TMP/bad.out")"
expect_eq "slim serves the last good version again" 5 "$(tasks_of slim auriga-demo-node:v2)"
await() { wait_for 60 "$@"; }
no_never_ready() { [ "$(tasks_ps '{{.Image}}' | grep -c never-ready)" = 0 ]; }
check "no never-ready task runs once Swarm has rolled slim back" await no_never_ready
expect_eq "the service is back at the last healthy revision" \
	"$(sed -n 's/.*msg="update service" deployment=slim .*revision=\([0-9a-f]*\).*/\1/p' "$TEST_TMP/bump.err")" \
	"$(sw service inspect "$FLEET_INSTANCE-slim" --format '{{index .Spec.Labels "auriga.io/revision"}}')"
after=$(tasks_ps '{{.ID}} {{.Label "auriga.io/deployment"}}' | grep -v ' slim$' | sort)
expect_eq "business and validators were never touched (the same 20 containers)" "$before" "$after"
expect_eq "(20 of them)" 20 "$(echo "$after" | grep -c .)"
plan=$(swarm_engine plan "$FLEET_SPECS" 2>&1)
expect_match "plan holds slim at the last healthy revision" "slim \(held\)" "$plan"
since=$(date +%s.%N)
swarm_engine apply --timeout-total 60 "$FLEET_SPECS" >"$TEST_TMP/again.out" 2>&1
expect_eq "a second apply reports slim held (exit 1, as rolled back)" 1 $?
until=$(date +%s.%N)
expect_eq "and does not retry the failed revision (no never-ready task made)" 0 \
	"$(sw events --since "$since" --until "$until" --filter type=container --filter event=create \
		--filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format '{{.Actor.Attributes.image}}' |
		grep -c never-ready)"

# --- a deployment gone from the specs: its service goes ---------------------------------------------
sed -i 's|image: auriga-demo-node:never-ready|image: auriga-demo-node:v2|' "$FLEET_SPECS"/nodes/*.yaml
python3 - "$FLEET_SPECS/nodes/business.yaml" <<'PY'
import sys
p = sys.argv[1]
docs = open(p).read().split("\n---\n")
open(p, "w").write("\n---\n".join(d for d in docs if "name: business-2" not in d))
PY
swarm_engine apply --prune --timeout-total 120 "$FLEET_SPECS" >"$TEST_TMP/prune.out" 2>"$TEST_TMP/prune.err"
expect_eq "apply with business-2 gone converges" 0 $?
gone() { ! sw service inspect "$FLEET_INSTANCE-business-2" >/dev/null 2>&1 && [ "$(tasks_of business-2 auriga-demo-node:v2)" = 0 ]; }
check "business-2's service is removed, and its tasks with it" await gone
expect_eq "auriga removed the service, not its tasks one by one" "1 0" \
	"$(grep -c 'msg="service removed".*deployment=business-2' "$TEST_TMP/prune.err") $(grep -c 'msg=remove .*deployment=business-2' "$TEST_TMP/prune.err")"
expect_eq "the rest still runs: 18 tasks at v2" 18 "$(tasks_ps '{{.Image}}' | grep -cx auriga-demo-node:v2)"

# --- what auriga does not do on Swarm yet: refused with the file and line ----------------------------
BAD=$TEST_TMP/bad
mkdir -p "$BAD"
cp "$FLEET_SPECS/cluster.yaml" "$BAD/"
cat >"$BAD/api.yaml" <<'YAML'
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: api}
spec:
  role: api
  replicas: 2
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003, hostPort: 19003}]
  strategy:
    type: BlueGreen
    blueGreen: {activeService: api}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: api}
spec: {deployment: api, port: 19080, targetPort: http}
YAML
out=$(swarm_engine apply --timeout-total 30 "$BAD" 2>&1)
expect_eq "a BlueGreen Deployment whose slots would both publish one hostPort is refused on Swarm (exit 1)" 1 $?
expect_match "naming the file, line and field" "api.yaml:9:[0-9]+: Deployment/api: spec.template.ports\[0\].hostPort: on a swarm endpoint a BlueGreen release runs each slot as a service" "$out"
expect_eq "and nothing of it was made" "" "$(sw service ls -q --filter "name=$FLEET_INSTANCE-api")"

done_testing
