#!/usr/bin/env bash
# Several Swarm nodes: a manager and two workers, each a dockerd in a network namespace of its own,
# joined over a bridge (tests/helpers/swarm-host.sh). auriga talks to the manager alone and reads the
# tasks wherever Swarm placed them: a Deployment of six replicas comes up Healthy with tasks on every
# node, its readiness probe (HTTP, auriga's own) reaching each task at its node's address; a bump
# replaces all six, each node's tasks too; a never-ready release is
# rolled back by auriga with the six tasks at the last good version again, on every node. Validators
# run one per node; a volume per replica is refused while Swarm could move a slot away from it. Worker 2's
# daemon killed: Swarm moves its tasks to the nodes left; auriga issues nothing of its own and
# converges with six on two nodes (a task on a node that is not ready counts as unreachable until
# Swarm moves it: test_observe). Not alone: its daemons, bridge and ports are its own, in namespaces
# of its own, and its nine containers are probed over HTTP, not by exec.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$(dirname "$0")/fleet-lib.bash"

need_images v1 v2 never-ready
IMAGES="auriga-demo-node:v1 auriga-demo-node:v2 auriga-demo-node:never-ready"
M=$TEST_TMP/m W1=$TEST_TMP/w1 W2=$TEST_TMP/w2
mkdir -p "$M" "$W1" "$W2"
# Stopped in reverse: the workers first, then the manager (and its bridge).
on_exit "$TOP/tests/helpers/swarm-host.sh stop $M"
on_exit "$TOP/tests/helpers/swarm-host.sh stop $W1"
on_exit "$TOP/tests/helpers/swarm-host.sh stop $W2"
read -r URL ADDR < <("$TOP/tests/helpers/swarm-host.sh" start "$M" $IMAGES)
[ -n "${URL:-}" ] || { fail "the manager starts"; exit 1; }
read -r W1_URL W1_ADDR < <("$TOP/tests/helpers/swarm-host.sh" join "$W1" "$M" $IMAGES)
read -r W2_URL W2_ADDR < <("$TOP/tests/helpers/swarm-host.sh" join "$W2" "$M" $IMAGES)
[ -n "${W1_URL:-}" ] && [ -n "${W2_URL:-}" ] || { fail "two workers join"; exit 1; }
sw() { docker -H "$URL" "$@"; }
ready_nodes() { [ "$(sw node ls --format '{{.Status}}' | grep -c Ready)" = 3 ]; }
check "a swarm of three nodes: the manager at $ADDR, workers at $W1_ADDR and $W2_ADDR" wait_for 60 ready_nodes

POLICY=$TEST_TMP/policy.yaml
printf 'endpoints:\n  - {name: swarm, url: "%s", address: %s}\n' "$URL" "$ADDR" >"$POLICY"
mkdir -p "$FLEET_SPECS"
cat >"$FLEET_SPECS/cluster.yaml" <<'YAML'
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: swarm}
spec:
  endpoints:
    - {name: swarm, engine: swarm}
YAML
web() { # IMAGE DEADLINE_S
	demo_deployment web business 6 "$1" "$2" \
		"    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 1}" >"$FLEET_SPECS/web.yaml"
}
swarm_engine() {
	local cmd=$1
	shift
	auriga_engine "$cmd" --policy-file "$POLICY" "$@"
}
# The running tasks of the service on each node: "NODE-ADDRESS IMAGE", one a line.
tasks_by_node() {
	local id
	for id in $(sw node ls -q); do
		local addr
		addr=$(sw node inspect "$id" --format '{{.Status.Addr}}')
		sw node ps "$id" --filter desired-state=running --filter "name=$FLEET_INSTANCE-web" \
			--format '{{.Image}} {{.CurrentState}}' | awk -v a="$addr" '$2 == "Running" { print a, $1 }'
	done
}

web auriga-demo-node:v1 120
swarm_engine apply --timeout-total 180 "$FLEET_SPECS" >"$TEST_TMP/up.out" 2>"$TEST_TMP/up.err"
rc=$?
expect_eq "six replicas come up Healthy over the swarm" 0 "$rc"
[ "$rc" = 0 ] || { tail -5 "$TEST_TMP/up.out"; grep -E 'level=(warn|error)' "$TEST_TMP/up.err" | tail -8; } |
	while read -r l; do diag "$l"; done
tasks_by_node >"$TEST_TMP/placed"
diag "tasks per node: $(cut -d' ' -f1 "$TEST_TMP/placed" | sort | uniq -c | xargs)"
expect_eq "six tasks run at v1" 6 "$(grep -c ' auriga-demo-node:v1$' "$TEST_TMP/placed")"
expect_eq "on all three nodes" 3 "$(cut -d' ' -f1 "$TEST_TMP/placed" | sort -u | wc -l)"
expect_match "auriga counts the six ready, the workers' tasks included" "web Healthy 6/6 ready, 6 updated" \
	"$(cat "$TEST_TMP/up.out")"

web auriga-demo-node:v2 120
plan=$(swarm_engine plan "$FLEET_SPECS" 2>&1)
expect_match "plan replaces all six tasks, the workers' too" "Plan: 0 to create, 6 to replace" "$plan"
swarm_engine apply --timeout-total 180 "$FLEET_SPECS" >"$TEST_TMP/bump.out" 2>"$TEST_TMP/bump.err"
expect_eq "the bump to v2 converges" 0 $?
tasks_by_node >"$TEST_TMP/placed"
expect_eq "six tasks run at v2" 6 "$(grep -c ' auriga-demo-node:v2$' "$TEST_TMP/placed")"
expect_eq "none at v1" 0 "$(grep -c ' auriga-demo-node:v1$' "$TEST_TMP/placed")"
expect_eq "on more than one node" 1 "$([ "$(cut -d' ' -f1 "$TEST_TMP/placed" | sort -u | wc -l)" -ge 2 ] && echo 1)"

web auriga-demo-node:never-ready 5
swarm_engine apply --timeout-total 120 "$FLEET_SPECS" >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.err"
expect_eq "a never-ready release exits 1" 1 $?
expect_match "rolled back by auriga, and why" "rolled back: web rolled back: progress deadline of 5s exceeded" \
	"$(tail -1 "$TEST_TMP/bad.out")"
back() { [ "$(tasks_by_node | grep -c ' auriga-demo-node:v2$')" = 6 ] && ! tasks_by_node | grep -q never-ready; }
check "six tasks at v2 again and none never-ready, on the swarm's own word" wait_for 90 back

# --- validators one per node; a volume per replica refused while a slot is not pinned to its node ---
V=$TEST_TMP/vspecs
mkdir -p "$V"
cp "$FLEET_SPECS/cluster.yaml" "$V/"
demo_deployment vals validator 3 auriga-demo-node:v1 120 "    type: Recreate" >"$V/vals.yaml"
other() { "$AURIGA_BIN" apply --instance "$FLEET_INSTANCE-v" --state-dir "$TEST_TMP/state-v" --policy-file "$POLICY" "$@"; }
other --timeout-total 120 "$V" >"$TEST_TMP/vals.out" 2>&1
expect_eq "three validators come up" 0 $?
expect_eq "Swarm is told one per node" 1 \
	"$(sw service inspect "$FLEET_INSTANCE-v-vals" --format '{{.Spec.TaskTemplate.Placement.MaxReplicas}}')"
# (By node id: the nodes share this machine's host name.)
expect_eq "and runs them on three nodes" 3 \
	"$(sw service ps -q "$FLEET_INSTANCE-v-vals" --filter desired-state=running |
		xargs docker -H "$URL" inspect --format '{{.NodeID}}' | sort -u | wc -l)"
cat >"$V/chain.yaml" <<'YAML'
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: chain}
spec:
  role: validator
  replicas: 2
  progressDeadlineSeconds: 5
  template:
    image: auriga-demo-node:v1
    volumes:
      - {name: chain, mountPath: /data, perReplica: true}
  strategy: {type: Recreate}
YAML
other --timeout-total 60 "$V" >"$TEST_TMP/chain.out" 2>&1
expect_eq "a volume per replica on a swarm of three nodes fails its deployment" 1 $?
expect_match "saying why" "per-replica volumes are not supported on a swarm of 3 nodes yet" "$(cat "$TEST_TMP/chain.out")"
expect_eq "and no service is made for it" "" "$(sw service ls -q --filter "name=$FLEET_INSTANCE-v-chain")"
sw service ls -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE-v" | xargs -r docker -H "$URL" service rm >/dev/null

# --- a node lost: Swarm moves its tasks, auriga counts them unavailable meanwhile and never fights it ---
web auriga-demo-node:v2 120
kill -KILL "$(cat "$W2/pid")"
node_down() { sw node ls --format '{{.Status}}' | grep -qx Down; }
check "the swarm sees worker 2 down" wait_for 60 node_down
swarm_engine apply --timeout-total 150 "$FLEET_SPECS" >"$TEST_TMP/lost.out" 2>"$TEST_TMP/lost.err"
rc=$?
expect_eq "apply converges once Swarm has moved the lost node's tasks" 0 "$rc"
[ "$rc" = 0 ] || { tail -5 "$TEST_TMP/lost.out"; grep -E 'level=(warn|error)' "$TEST_TMP/lost.err" | tail -8; } |
	while read -r l; do diag "$l"; done
diag "apply's view while Swarm moved them: $(grep -o 'web [A-Za-z]* [0-9]/6 ready' "$TEST_TMP/lost.out" | uniq | xargs)"
tasks_by_node >"$TEST_TMP/placed"
diag "tasks per node after the loss: $(cut -d' ' -f1 "$TEST_TMP/placed" | sort | uniq -c | xargs)"
expect_eq "six tasks run at v2 on the two nodes left" "6 2" \
	"$(grep -c ' auriga-demo-node:v2$' "$TEST_TMP/placed") $(cut -d' ' -f1 "$TEST_TMP/placed" | sort -u | wc -l)"
expect_eq "auriga made and removed no task itself" 0 "$(grep -cE 'msg=(create|remove|update service) ' "$TEST_TMP/lost.err")"

done_testing
