#!/usr/bin/env bash
# Blue-green and canary on Docker Swarm, through a real NGINX on 127.0.0.1, under bounded load: on a
# swarm of two nodes of the test's own (tests/helpers/swarm-host.sh: a manager and a worker, each a
# dockerd in a network namespace), each slot of the API deployment is a replicated service
# ("<prefix>-<deployment>-<slot>") whose tasks publish a port Swarm picks on their node, and the
# router sends the Services' requests to those ports at each task's node address. The first
# release comes up in slot blue, its tasks spread over both nodes; a blue-green release of v2 makes
# slot green's service beside it, switches NGINX to it with no request failed, and removes blue's
# service after the scale-down delay; a canary of v3 grows slot blue's service with the weight (one
# task at 50 %, while green's keeps both of its tasks: Swarm picks the task a smaller service
# loses, so the stable slot is never made smaller mid-release), the answers through NGINX follow
# the weight and its analysis scrapes the new task at its node's address; a canary whose tasks never become ready is rolled back at its deadline, its
# service removed, NGINX answering from the stable slot all along.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=swapi$$
SPECS=$FLEET_SPECS
TRAFFIC_CLUSTER=swarm-traffic
TRAFFIC_IMAGES=never-ready
# The deployment is traffic-lib's (write_dep), two replicas with no hostPort (Swarm picks each
# task's port) and no smoke-test Job (one is refused on a swarm of several nodes), given 90 s to
# progress.
TRAFFIC_HOSTPORT=no TRAFFIC_SMOKE=no DEADLINE=90
. "$(dirname "$0")/traffic-lib.bash"

SW=$TEST_TMP/swarm W1=$TEST_TMP/w1
mkdir -p "$SW" "$W1"
IMAGES="auriga-demo-node:v1 auriga-demo-node:v2 auriga-demo-node:v3 auriga-demo-node:never-ready"
# Stopped in reverse: the worker first, then the manager (and its bridge).
on_exit "$TOP/tests/helpers/swarm-host.sh stop $SW"
on_exit "$TOP/tests/helpers/swarm-host.sh stop $W1"
read -r SW_URL SW_ADDR < <("$TOP/tests/helpers/swarm-host.sh" start "$SW" $IMAGES)
[ -n "${SW_URL:-}" ] || { fail "the manager starts"; exit 1; }
read -r W1_URL W1_ADDR < <("$TOP/tests/helpers/swarm-host.sh" join "$W1" "$SW" $IMAGES)
[ -n "${W1_URL:-}" ] || { fail "a worker joins"; exit 1; }
sw() { docker -H "$SW_URL" "$@"; }
ready_nodes() { [ "$(sw node ls --format '{{.Status}}' | grep -c Ready)" = 2 ]; }
check "a swarm of two nodes: the manager at $SW_ADDR, a worker at $W1_ADDR" wait_for 60 ready_nodes

# The operator's policy: this test's NGINX (traffic-lib) and the swarm's endpoint; the Cluster
# makes that endpoint its swarm.
printf 'endpoints:\n  - {name: swarm, url: "%s", address: %s}\n' "$SW_URL" "$SW_ADDR" >>"$TRAFFIC_POLICY"
printf '  endpoints:\n    - {name: swarm, engine: swarm}\n' >>"$SPECS/cluster.yaml"

BLUEGREEN="    type: BlueGreen
    blueGreen: {activeService: $DEP, previewService: $DEP-preview, postPromotionWindowSeconds: 2, scaleDownDelaySeconds: 3}"
CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 50
        - analysis: {templates: [{templateName: $DEP-errors}]}
        - pause: {duration: 10s}"
# The canary's analysis: the new slot's error ratio, scraped from its tasks at their nodes' addresses.
errors_template "$DEP-errors" >"$SPECS/analysis.yaml"

apply() { auriga_engine apply --timeout-total "${1:-150}" "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }
# services: this instance's services as "name=replicas@image", sorted.
services() {
	sw service ls --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format '{{.Name}}={{.Replicas}}@{{.Image}}' |
		sed "s/^$FLEET_INSTANCE-//; s|=\([0-9]*\)/[0-9]*@|=\1@|; s|@auriga-demo-node:|@|; s|@\([a-z0-9-]*\)@sha256.*|@\1|" |
		sort | xargs
}
# tasks: this instance's running tasks' containers on both nodes as "slot:image", sorted.
tasks() {
	local u
	for u in "$SW_URL" "$W1_URL"; do
		docker -H "$u" ps --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" \
			--format '{{.Label "auriga.io/slot"}}:{{.Image}}'
	done | sed 's/auriga-demo-node://; s/@sha256.*//' | sort | xargs
}
# servers [NAME]: the active (or NAME's) upstream in the router's file as "address:port:weight".
servers() { nginx_servers "$(router_conf)" "$(router_upstream "${1:-$DEP}")"; }
# published SLOT: where the slot's running tasks publish their port, "NODE-ADDRESS:PORT", sorted.
published() {
	local id node
	for id in $(sw service ps -q --filter desired-state=running "$FLEET_INSTANCE-$DEP-$1" 2>/dev/null); do
		node=$(sw inspect "$id" --format '{{.NodeID}}')
		sw inspect "$id" --format '{{range .Status.PortStatus.Ports}}{{.PublishedPort}} {{end}}' |
			xargs -n1 | sed "s/^/$(sw node inspect "$node" --format '{{.Status.Addr}}'):/"
	done | sort -u | xargs
}
# routed [NAME]: the servers NGINX sends the Service's requests to (not its backups), "ADDRESS:PORT".
routed() { servers "$@" | xargs -n1 | grep -v ':b$' | cut -d: -f1,2 | sort | xargs; }
# nodes_of LIST: the distinct addresses in a list of "ADDRESS:PORT".
nodes_of() { xargs -n1 <<<"$1" | cut -d: -f1 | sort -u | xargs; }

# --- first release: slot blue, straight to 100 % ------------------------------------------------------
write_dep auriga-demo-node:v1 "$BLUEGREEN"
apply
rc=$?
expect_eq "the first release comes up on the swarm (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$TEST_TMP/apply.err" | sed 's/^/# up: /'
expect_eq "slot blue is one service of two tasks at v1" "$DEP-blue=2@v1" "$(services)"
expect_eq "its tasks' containers, one on each node, carry the slot" "blue:v1 blue:v1" "$(tasks)"
blue_at=$(published blue)
expect_eq "NGINX sends the Service's requests to the two tasks, at the ports Swarm published on their nodes" \
	"2 $blue_at" "$(wc -w <<<"$blue_at" | xargs) $(routed)"
expect_eq "Swarm spread slot blue's tasks over both nodes" "$(printf '%s\n' "$SW_ADDR" "$W1_ADDR" | sort | xargs)" \
	"$(nodes_of "$blue_at")"
expect_eq "NGINX answers from v1" v1 "$(version)"

# --- blue-green v1 -> v2 under load: no request fails ------------------------------------------------
write_dep auriga-demo-node:v2 "$BLUEGREEN"
pid=$(load "$TEST_TMP/load-bg" 120)
sleep 1
start=$(date +%s%N)
apply
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
stop_load "$pid"
diag "blue-green v1 -> v2 on Swarm took $took ms; $(wc -l <"$TEST_TMP/load-bg") requests through NGINX"
expect_eq "blue-green: apply exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$TEST_TMP/apply.err" | sed 's/^/# bg: /'
expect_eq "blue-green: no request through NGINX failed" 0 "$(failed_count "$TEST_TMP/load-bg")"
expect_eq "blue-green: v1 answered first, v2 last" "v1 v2" \
	"$(head -1 "$TEST_TMP/load-bg" | cut -d' ' -f3) $(tail -1 "$TEST_TMP/load-bg" | cut -d' ' -f3)"
diag "blue-green: v1 and v2 both answered for $(awk '$3 == "v2" && !f { f = $1 } $3 == "v1" { l = $1 } END { print (l > f ? l - f : 0) }' "$TEST_TMP/load-bg") ms (NGINX's old workers handing over after the reload)"
expect_eq "slot green's service runs v2; blue's service is gone after the scale-down delay" "$DEP-green=2@v2" \
	"$(services)"
green_at=$(published green)
expect_eq "the active Service routes slot green's two tasks, on their nodes" "2 $green_at" \
	"$(wc -w <<<"$green_at" | xargs) $(routed)"
previewed() { [ -n "$green_at" ] && [ "$(routed "$DEP-preview")" = "$green_at" ]; }
check "the preview Service routes slot green's tasks too" previewed
expect_eq "auriga removed blue's service, not its tasks one by one" "1 0" \
	"$(grep -c "msg=\"service removed\".*service=$FLEET_INSTANCE-$DEP-blue" "$TEST_TMP/apply.err") $(grep -c 'msg=remove .*container=' "$TEST_TMP/apply.err")"

# --- canary v2 -> v3: slot blue grows with the weight, green stays whole ------------------------------
write_dep auriga-demo-node:v3 "$CANARY"
: >"$TEST_TMP/apply.err"
pid=$(load "$TEST_TMP/load-canary" 120)
apply &
apply_pid=$!
mid() { [ "$(services)" = "$DEP-blue=1@v3 $DEP-green=2@v2" ] && [ "$(routed | wc -w)" = 3 ]; }
check "at 50 %: slot blue's service has one task at v3, green's both of its v2 tasks, all three routed" \
	wait_for 60 mid
s=$(sample 200)
diag "canary at 50 % on Swarm: $s"
expect_eq "no request failed at 50 %" 0 "$(awk '{print $2}' <<<"$s")"
within "$(share v3 "$s")" 50 15 &&
	ok "the answers through NGINX follow the weight (v3 $(share v3 "$s") % at 50 %)" ||
	fail "the answers through NGINX follow the weight (v3 $(share v3 "$s") % at 50 %)"
wait "$apply_pid"
rc=$?
stop_load "$pid"
expect_eq "canary: apply exits 0" 0 "$rc"
expect_eq "canary: its analysis scraped the new slot's task and was decided Successful" 1 \
	"$(grep -c "msg=\"analysis decided\" deployment=$DEP result=Successful" "$TEST_TMP/apply.err")"
expect_eq "canary: no request through NGINX failed" 0 "$(failed_count "$TEST_TMP/load-canary")"
[ "$rc" = 0 ] || tail -20 "$TEST_TMP/apply.err" | sed 's/^/# canary: /'
expect_eq "canary: slot blue's service has both tasks at v3, green's is gone" "$DEP-blue=2@v3" "$(services)"
expect_eq "NGINX answers from v3" v3 "$(version)"
expect_eq "green's service was scaled by nobody mid-release (no update of it in the log)" 0 \
	"$(grep -c "msg=\"update service\".*service=$FLEET_INSTANCE-$DEP-green" "$TEST_TMP/apply.err")"

# --- a canary that never becomes ready: rolled back at its deadline ---------------------------------
DEADLINE=15
write_dep auriga-demo-node:never-ready "$CANARY"
pid=$(load "$TEST_TMP/load-bad" 90)
apply 90
rc=$?
stop_load "$pid"
expect_eq "the never-ready canary fails (apply exits 1)" 1 "$rc"
expect_match "at its progress deadline" "progress deadline of 15s exceeded" "$(cat "$TEST_TMP/apply.err")"
settled() { [ "$(services)" = "$DEP-blue=2@v3" ]; }
check "its slot's service is removed; blue's stays at v3 with both tasks" wait_for 60 settled
expect_eq "no request through NGINX failed, and every answer came from v3" "0 v3" \
	"$(failed_count "$TEST_TMP/load-bad") $(awk '{print $3}' "$TEST_TMP/load-bad" | sort -u | xargs)"

done_testing
