#!/usr/bin/env bash
# Several Swarm nodes: a manager and two workers, each a dockerd in a network namespace of its own,
# joined over a bridge (tests/helpers/swarm-host.sh). auriga talks to the manager alone and reads the
# tasks wherever Swarm placed them: a Deployment of six replicas comes up Healthy with tasks on every
# node, its readiness probe (HTTP, auriga's own) reaching each task at its node's address; a bump
# replaces all six, each node's tasks too; a never-ready release is
# rolled back by auriga with the six tasks at the last good version again, on every node. Validators
# run one per node; with a volume per replica each replica is a service of one task pinned to a
# node, and a bump replaces each on its node with its volume's data kept; an exec liveness probe is
# refused (auriga execs through the manager, which reaches its own node alone). Then
# `auriga run` follows a Git repository of the same specs and three validators: its status API, its
# page in Chromium, the note on the commit and `auriga status` give the services, each task's node
# and the nodes (each with its own host name). Worker 2's daemon killed: Swarm moves the web tasks
# to the nodes left; auriga issues nothing of its own, lists each task moved (from, to, why) and
# converges with six on two nodes (a task on a node that is not ready counts as unreachable until
# Swarm moves it: test_observe). The validator there cannot move (one per node): a bump of the
# validators is held while Swarm would stop one more first, the service untouched, and goes through
# once worker 2 is back, never fewer than two serving. Not alone: its daemons, bridge and ports are
# its own, in namespaces of its own, and its containers are probed over HTTP, not by exec.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/page-lib.bash"

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

# --- validators one per node; a volume per replica: each replica a service pinned to a node -------
V=$TEST_TMP/vspecs
mkdir -p "$V"
cp "$FLEET_SPECS/cluster.yaml" "$V/"
demo_deployment vals validator 3 auriga-demo-node:v1 120 "    type: Recreate" >"$V/vals.yaml"
other() { "$AURIGA_BIN" apply --instance "$FLEET_INSTANCE-v" --state-dir "$TEST_TMP/state-v" --policy-file "$POLICY" "$@"; }
other --timeout-total 120 "$V" >"$TEST_TMP/vals.out" 2>&1
expect_eq "three validators come up" 0 $?
expect_eq "Swarm is told one per node" 1 \
	"$(sw service inspect "$FLEET_INSTANCE-v-vals" --format '{{.Spec.TaskTemplate.Placement.MaxReplicas}}')"
expect_eq "and runs them on three nodes" 3 \
	"$(sw service ps -q "$FLEET_INSTANCE-v-vals" --filter desired-state=running |
		xargs docker -H "$URL" inspect --format '{{.NodeID}}' | sort -u | wc -l)"
cat >"$V/chain.yaml" <<'YAML'
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: chain}
spec:
  role: business
  replicas: 2
  progressDeadlineSeconds: 90
  template:
    image: auriga-demo-node:v1
    volumes:
      - {name: chain, mountPath: /data, perReplica: true}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 0}
YAML
other --timeout-total 120 "$V" >"$TEST_TMP/chain.out" 2>&1
expect_eq "a volume per replica on a swarm of three nodes: the deployment comes up" 0 $?
# Each node's daemon by its node id: where a pinned ordinal's task and volume are looked at.
declare -A NODE_URL
for u in "$URL" "$W1_URL" "$W2_URL"; do NODE_URL[$(docker -H "$u" info --format '{{.Swarm.NodeID}}')]=$u; done
pin_of() { sw service inspect "$FLEET_INSTANCE-v-chain-$1" --format '{{join .Spec.TaskTemplate.Placement.Constraints ","}}' | sed -n 's/^node\.id==//p'; }
task_node() { sw service ps -q --filter desired-state=running "$FLEET_INSTANCE-v-chain-$1" | head -1 | xargs -r docker -H "$URL" inspect --format '{{.NodeID}}'; }
chain_volume() { docker -H "${NODE_URL[$2]}" volume ls -q | grep "^chain\.chain\.$1\." ; }
markers() {
	local i pin vol
	for i in 0 1; do
		pin=$(pin_of "$i")
		vol=$(chain_volume "$i" "$pin")
		cat "$(docker -H "${NODE_URL[$pin]}" volume inspect "$vol" --format '{{.Mountpoint}}')/marker"
	done 2>/dev/null | xargs
}
pin0=$(pin_of 0) pin1=$(pin_of 1)
check "each replica is a service of its own, pinned to a node of its own" \
	test -n "$pin0" -a -n "$pin1" -a "$pin0" != "$pin1" -a -n "${NODE_URL[$pin0]:-}" -a -n "${NODE_URL[$pin1]:-}"
expect_eq "each replica's task runs on its pinned node" "$pin0 $pin1" "$(task_node 0) $(task_node 1)"
for i in 0 1; do
	pin=$(pin_of "$i")
	vol=$(chain_volume "$i" "$pin")
	mp=$(docker -H "${NODE_URL[$pin]}" volume inspect "$vol" --format '{{.Mountpoint}}' 2>/dev/null)
	[ -n "$mp" ] && echo "ordinal $i was here" >"$mp/marker"
done
expect_eq "each replica's volume is on its node, and a file is written into it there" \
	"ordinal 0 was here ordinal 1 was here" "$(markers)"
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$V/chain.yaml"
other --timeout-total 150 "$V" >"$TEST_TMP/chain2.out" 2>&1
expect_eq "a bump of the replicas with their volumes completes" 0 $?
expect_eq "each replica's new task runs v2 on the same node as before" \
	"$pin0 $pin1 auriga-demo-node:v2 auriga-demo-node:v2" \
	"$(task_node 0) $(task_node 1) $(sw service inspect "$FLEET_INSTANCE-v-chain-0" "$FLEET_INSTANCE-v-chain-1" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' | sed 's/@.*//' | xargs)"
expect_eq "and finds its volume as it was left: the data stayed with the replica" \
	"ordinal 0 was here ordinal 1 was here" "$(markers)"
expect_eq "each replica's service was updated once, nothing made anew" "2 0" \
	"$(grep -c 'msg="update service".*deployment=chain' "$TEST_TMP/chain2.out") $(grep -c 'msg="create service".*deployment=chain' "$TEST_TMP/chain2.out")"
rm "$V/chain.yaml"
# An exec liveness probe: auriga would run it through the manager, which reaches its own node's
# containers alone; refused, not left failing on the workers' tasks.
demo_deployment live business 2 auriga-demo-node:v1 5 "    type: Recreate" >"$V/live.yaml"
python3 - "$V/live.yaml" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
t = t.replace("  probes:\n", "  probes:\n    liveness:\n      exec: {command: [/demo-node, probe, /q/health/live]}\n      periodSeconds: 2\n      timeoutSeconds: 5\n", 1)
open(p, "w").write(t)
PY
other --timeout-total 60 "$V" >"$TEST_TMP/live.out" 2>&1
expect_eq "an exec liveness probe on a swarm of three nodes fails its deployment" 1 $?
expect_match "saying why" "exec startup and liveness probes are not supported on a swarm of 3 nodes yet" \
	"$(cat "$TEST_TMP/live.out")"
expect_eq "and no service is made for it" "" "$(sw service ls -q --filter "name=$FLEET_INSTANCE-v-live")"
sw service ls -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE-v" | xargs -r docker -H "$URL" service rm >/dev/null

# --- a node lost, under `auriga run`: Swarm moves its tasks, auriga never fights it and says so ---
# The daemon follows a Git repository holding the same specs and three validators, one per node:
# its status API, its page in Chromium and the note on the commit give the services, each task's
# node and the nodes. Worker 2's daemon killed: the web tasks Swarm moves off it are listed as moved;
# the validator there cannot move (one per node), so a bump of the validators is held (Swarm would
# stop one more first) until worker 2 is back, and never fewer than two serve.
web auriga-demo-node:v2 120
demo_deployment vals validator 3 auriga-demo-node:v1 600 "    type: Recreate" >"$FLEET_SPECS/vals.yaml"
specs_repo
cp "$FLEET_SPECS"/*.yaml "$WORK/"
c0=$(commit "web v2 and three validators on the swarm")
printf 'swarm-nodes-%s-secret\n' "$$" >"$TEST_TMP/token"
listen_port
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --policy-file "$POLICY" --state-dir "$FLEET_STATE" \
	--instance "$FLEET_INSTANCE" --listen "127.0.0.1:$RUN_PORT" --api-token-file "$TEST_TMP/token" --poll-interval 1s
# q EXPR: EXPR of the status API's JSON (d; web and vals its deployments, nodes by name), in Python.
q() {
	curl -s --max-time 3 "$RUN_URL/api/v1/status" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
deps = {x["name"]: x for x in d.get("deployments", [])}
web, vals = deps.get("web", {}), deps.get("vals", {})
nodes = {n["name"]: n for n in d.get("nodes", [])}
print(eval(sys.argv[1]))' "$1" 2>/dev/null
}
healthy() { [ "$(q 'web.get("phase"), web.get("ready")')" = "('Healthy', 6)" ]; }
both() { healthy && [ "$(q 'vals.get("phase"), vals.get("ready")')" = "('Healthy', 3)" ]; }
await "the daemon finds web Healthy 6/6 and brings the validators up, 3/3, on the swarm" 120 both
expect_eq "the status names the service each runs as" "$FLEET_INSTANCE-web $FLEET_INSTANCE-vals" \
	"$(q 'web.get("service"), vals.get("service")' | tr -d "(),'")"
expect_eq "and the swarm's three nodes, by name, each ready" "m:ready w1:ready w2:ready" \
	"$(q '" ".join(sorted("%s:%s" % (n, v["state"]) for n, v in nodes.items()))')"
expect_eq "with the nine tasks among them" 9 "$(q 'sum(v["tasks"] for v in nodes.values())')"
expect_eq "each task with its node, the validators one on each" "6 m w1 w2" \
	"$(q '"%d %s" % (len([i for i in web.get("instances", []) if i.get("node") in nodes]), " ".join(sorted(i.get("node", "?") for i in vals.get("instances", []))))')"
on_w2=$(q 'len([i for i in web["instances"] if i.get("node") == "w2"])')
expect_eq "worker 2 runs some of web's tasks ($on_w2)" 1 "$([ "${on_w2:-0}" -gt 0 ] 2>/dev/null && echo 1)"
note_has_nodes() { note_in "$WORK" "$c0" | grep -c "^      $FLEET_INSTANCE-web\.[1-6]\.[a-z0-9]*: \(m\|w1\|w2\)\$" | grep -qx 6; }
await "the note on the commit gives each of web's six tasks its node" 60 note_has_nodes
expect_match "and the service" "service: $FLEET_INSTANCE-web" "$(note_in "$WORK" "$c0")"
st=$("$AURIGA_BIN" status --repo "$REMOTE" 2>&1)
expect_match "auriga status shows the service and the tasks' nodes from the note" \
	"service: $FLEET_INSTANCE-web.*nodes: $FLEET_INSTANCE-web\." "$(echo "$st" | tr '\n' ' ')"
page_start
page_ok "the status page opens in Chromium" open "$RUN_URL/"
page_ok "the page lists the three nodes, each ready" wait 30 \
	"!document.getElementById('swarm').hidden && [...document.querySelectorAll('#nodes tbody tr')].map(r => r.dataset.node + ':' + r.querySelector('td.state').textContent).sort().join(' ') === 'm:ready w1:ready w2:ready'"

# The validators available, twice a second, from here to the end.
( while :; do q 'vals.get("available", -1)'; sleep 0.5; done >"$TEST_TMP/vals-available" ) &
sampler=$!
on_exit "kill $sampler 2>/dev/null"
log_at=$(wc -l <"$TEST_TMP/run.log")
kill -KILL "$(cat "$W2/pid")"
node_down() { sw node ls --format '{{.Status}}' | grep -qx Down; }
check "the swarm sees worker 2 down" wait_for 60 node_down
lost() { [ "$(q 'nodes["w2"]["state"], nodes["w2"]["tasks"]')" = "('down', 0)" ]; }
await "the status gives worker 2 down, none of the tasks running there" 60 lost
moved() {
	[ "$(q 'len([m for m in d.get("moves", []) if m["from"] == "w2" and m["to"] in ("m", "w1") and m["reason"] == "node down"])')" = "$on_w2" ] && healthy
}
await "every web task worker 2 ran is listed moved to a node left, and web is Healthy 6/6 again" 150 moved
diag "moves: $(q '"; ".join("%s %s->%s (%s)" % (m["task"], m["from"], m["to"], m["reason"]) for m in d.get("moves", []))')"
expect_eq "web's six tasks on the two nodes left; the validator there moved nowhere (one per node)" "6 0 2" \
	"$(q '"%d %d %d" % (len([i for i in web["instances"] if i.get("node") in ("m", "w1")]), nodes["w2"]["tasks"], vals.get("available", -1))')"
expect_eq "the daemon logged each move" "$on_w2" "$(grep -c 'msg="task moved".*from=w2' "$TEST_TMP/run.log")"
page_ok "the page shows worker 2 down and the tasks moved off it" wait 30 \
	"document.querySelector('#nodes tr[data-node=\"w2\"] td.state')?.textContent === 'down' && [...document.querySelectorAll('#moves tbody tr td.from')].filter(t => t.textContent === 'w2').length === $on_w2"
drv quit >/dev/null
tasks_by_node >"$TEST_TMP/placed"
diag "web's tasks per node after the loss: $(cut -d' ' -f1 "$TEST_TMP/placed" | sort | uniq -c | xargs)"
expect_eq "six web tasks run at v2 on the two nodes left, on the swarm's own word" "6 2" \
	"$(grep -c ' auriga-demo-node:v2$' "$TEST_TMP/placed") $(cut -d' ' -f1 "$TEST_TMP/placed" | sort -u | wc -l)"
expect_eq "auriga made, updated and removed no task or service itself meanwhile" 0 \
	"$(tail -n +"$((log_at + 1))" "$TEST_TMP/run.log" | grep -cE 'msg="?(create|remove|update service|service (created|updated|removed))')"

# A bump of the validators while one is lost: held, the service untouched, two still serving.
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$WORK/vals.yaml"
c1=$(commit "validators v2 while worker 2 is lost")
held() { [[ $(q 'vals.get("step", "")') == *"held: 2/3 available"* ]]; }
await "the validators' bump is held: Swarm would stop one more first, past the budget" 60 held
sleep 5
expect_eq "the service is left at v1 meanwhile, two validators serving" "v1 2" \
	"$(sw service inspect "$FLEET_INSTANCE-vals" --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' | sed 's/.*://; s/@.*//') $(q 'vals.get("available", -1)')"
expect_eq "auriga asked nothing of Swarm for it" 0 "$(grep -cE 'msg="?update service.*deployment=vals' "$TEST_TMP/run.log")"
"$TOP/tests/helpers/swarm-host.sh" restart "$W2" >/dev/null
node_back() { [ "$(sw node ls --format '{{.Status}}' | grep -c Ready)" = 3 ]; }
check "worker 2's daemon starts again and rejoins the swarm" wait_for 90 node_back
bumped() {
	[ "$(q 'vals.get("phase"), vals.get("ready"), vals.get("updated")')" = "('Healthy', 3, 3)" ] &&
		[ "$(sw service ps "$FLEET_INSTANCE-vals" --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' | grep -c '^auriga-demo-node:v2 Running')" = 3 ]
}
await "once all three serve again, the bump goes through: three validators at v2" 180 bumped
expect_eq "then, and only then, Swarm was asked to update it" 1 \
	"$([ "$(grep -cE 'msg="?update service.*deployment=vals' "$TEST_TMP/run.log")" -ge 1 ] && echo 1)"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
diag "validators available from the loss on: $(sort -n "$TEST_TMP/vals-available" | uniq -c | xargs)"
expect_eq "never fewer than two validators available from the loss to the end" 2 \
	"$(grep -E '^[0-9]+$' "$TEST_TMP/vals-available" | sort -n | head -1)"
note_says() { note_in "$WORK" "$c1" | head -1 | grep -q Healthy; }
await "the note on the bump says Healthy" 60 note_says
run_stop "the daemon exits 0 on SIGTERM"
expect_eq "no sanitizer report in the daemon's output" 0 "$(grep -cE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$TEST_TMP/run.log")"

done_testing
