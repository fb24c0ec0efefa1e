#!/usr/bin/env bash
# Liveness restarts by auriga, read from Docker's events: a node whose liveness turns DOWN is
# removed and made anew (a new container, not Docker's restart policy bringing the old one back)
# once failureThreshold probes in a row have failed, not at the first failure; a node that only
# fails readiness is never restarted; the log says which container went and why, and the status
# counts the restart.
. "$(dirname "$0")/../lib.sh"

INST=it-live-$$
LIVE=live$$
IDLE=idle$$
SPECS=$TEST_TMP/specs
port=$(free_port)
url=http://127.0.0.1:$port
mkdir -p "$SPECS"
# The live node turns DOWN LIVE_FAIL_S after it starts; liveness runs every PERIOD_S and needs
# THRESHOLD failures in a row, so the restart comes between (THRESHOLD-1) and THRESHOLD periods
# after the first failure that can be seen.
LIVE_FAIL_S=6
PERIOD_S=3
THRESHOLD=3

cat >"$SPECS/nodes.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $LIVE}
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  template:
    image: auriga-demo-node:v1
    env: {DEMO_LIVE_FAIL_AFTER_S: "$LIVE_FAIL_S"}
    ports: [{name: http, containerPort: 9003}]
    restartPolicy: Always
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
    liveness: {httpGet: {path: /q/health/live, port: http}, periodSeconds: $PERIOD_S, timeoutSeconds: 1, failureThreshold: $THRESHOLD}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $IDLE}
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  template:
    image: auriga-demo-node:never-ready
    ports: [{name: http, containerPort: 9003}]
    restartPolicy: Always
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}
    liveness: {httpGet: {path: /q/health/live, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3}
EOF

# Docker's events for this instance's containers, followed from before the first one exists.
events=$TEST_TMP/events
t0=$(date +%s)
docker events --since "$t0" --filter type=container --filter "label=auriga.io/managed-by=$INST" \
	--format '{{.TimeNano}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "auriga.io/deployment"}} {{index .Actor.Attributes "auriga.io/ordinal"}}' \
	>"$events" 2>"$TEST_TMP/events.err" &
ev_pid=$!
on_exit "kill $ev_pid"

"$AURIGA_BIN" run --state-dir "$TEST_TMP/state" --instance "$INST" --extra-labels "$TEST_LABEL" \
	--listen "127.0.0.1:$port" --poll-interval 1s "$SPECS" >"$TEST_TMP/log" 2>&1 &
pid=$!
on_exit "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"

# ev ACTION DEPLOYMENT: "time id" of each such event, in order.
ev() { awk -v a="$1" -v d="$2" '$2 == a && $4 == d {print $1, $3}' "$events"; }
two_creates() { [ "$(ev create "$LIVE" | wc -l)" -ge 2 ]; }

check "the live node is made a second time" wait_for 90 two_creates
sleep 2
first=$(ev start "$LIVE" | head -1)
old_id=${first#* } t_start=${first%% *}
t_kill=$(ev kill "$LIVE" | awk -v id="$old_id" '$2 == id {print $1; exit}')
t_destroy=$(ev destroy "$LIVE" | awk -v id="$old_id" '$2 == id {print $1; exit}')
second=$(ev create "$LIVE" | sed -n 2p)
new_id=${second#* } t_create=${second%% *}
diag "events: $(awk -v d="$LIVE" '$4 == d {printf "%s %s %.12s; ", $1, $2, $3}' "$events")"

check "the first container was stopped by a kill (SIGTERM from auriga)" test -n "$t_kill"
# -1 when there was no kill: every bound below then fails.
after_ms=-1
[ -n "$t_kill" ] && after_ms=$(( (t_kill - t_start) / 1000000 ))
least_ms=$(( (LIVE_FAIL_S + (THRESHOLD - 1) * PERIOD_S) * 1000 ))
most_ms=$(( (LIVE_FAIL_S + THRESHOLD * PERIOD_S) * 1000 + 10000 ))
diag "started -> killed: $after_ms ms (liveness DOWN after $((LIVE_FAIL_S * 1000)) ms, $THRESHOLD failures every $PERIOD_S s)"
# The node's clock starts a little before Docker's start event, and a late probe can shorten one
# interval: a second is allowed for that, less than the two periods a missed threshold would show.
check "not killed before $THRESHOLD failed probes ($after_ms ms >= $least_ms ms after start)" \
	test "$after_ms" -ge $((least_ms - 1000))
check "killed within $((most_ms / 1000)) s of its start ($after_ms ms)" test "$after_ms" -ge 0 -a "$after_ms" -le "$most_ms"
check "the old container was removed (destroy event)" test -n "$t_destroy"
check "a new container was made for ordinal 0" \
	test "$(awk -v id="$new_id" '$2 == "create" && $3 == id {print $5}' "$events")" = 0
check "the replacement is a new container, not the old one restarted (ids differ)" \
	test -n "$new_id" -a "$new_id" != "$old_id"
check "the replacement was made after the old one was removed" test "${t_create:-0}" -gt "${t_destroy:-0}"
expect_eq "Docker started the old container once (its restart policy never brought it back)" 1 \
	"$(ev start "$LIVE" | awk -v id="$old_id" '$2 == id' | wc -l)"
expect_eq "Docker records no restart of its own" 0 "$(awk '$2 == "restart"' "$events" | wc -l)"

# The node that only fails readiness: alive all along, the same container, never stopped.
idle_id=$(ev start "$IDLE" | head -1 | cut -d' ' -f2)
idle_age=$(( ($(date +%s%N) - $(ev start "$IDLE" | head -1 | cut -d' ' -f1)) / 1000000000 ))
check "the never-ready node was started" test -n "$idle_id"
diag "the never-ready node has been failing readiness for $idle_age s"
check "it has failed readiness for longer than it took to restart the live node" \
	test "$idle_age" -gt $((after_ms / 1000))
expect_eq "no kill, die, stop or destroy for the node that fails readiness only" "" \
	"$(awk -v d="$IDLE" '$4 == d && ($2 == "kill" || $2 == "die" || $2 == "stop" || $2 == "destroy")' "$events")"
expect_eq "it is still the same running container" "$idle_id running" \
	"$(docker inspect -f '{{.Id}} {{.State.Status}}' "$idle_id" 2>/dev/null)"
expect_eq "and Docker's own restart count is 0" 0 "$(docker inspect -f '{{.RestartCount}}' "$idle_id" 2>/dev/null)"

# What auriga says: the log names the container it removed and the failed probe.
line=$(grep 'liveness failed' "$TEST_TMP/log" | grep -m1 "deployment=$LIVE ")
diag "log: $line"
expect_match "the log says the live node was removed because liveness failed (503 from /q/health/live)" \
	"remove.*$LIVE.*liveness failed: liveness: GET http://[^ ]*/q/health/live: 503" "$line"
expect_eq "the log says so for no node that fails readiness only" "" \
	"$(grep 'liveness failed' "$TEST_TMP/log" | grep "$IDLE")"

# What auriga says: the status counts the restart, on the deployment it restarted only.
restarts() {
	curl -sf --max-time 5 "$url/api/v1/deployments/$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["restarts"])' 2>/dev/null
}
live_restarted() { [ "$(restarts "$LIVE")" -ge 1 ] 2>/dev/null; }
wait_for 10 live_restarted
check "the status of the live node counts its restart (restarts: $(restarts "$LIVE"))" live_restarted
expect_eq "the status of the node that fails readiness only counts no restart" 0 "$(restarts "$IDLE")"

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the daemon with status 0" 0 "$?"

done_testing
