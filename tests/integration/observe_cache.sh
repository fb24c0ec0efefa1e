#!/usr/bin/env bash
# The observed state as a cache: with Docker's events followed, a pass that finds nothing changed
# makes no Docker call (the list requests, counted at a proxy in front of the real daemon, stay
# still while passes go on); a container removed by hand is seen at once through its event; and when
# the event stream is cut silently (the proxy throws its events away, the stream still open), the
# periodic relist (poll-interval) finds what changed, counts it as corrected, and the fleet converges;
# a daemon that hangs with its stream open is found out by the heartbeat's ping.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
engine_instance cache
SOCK=$TEST_TMP/docker.sock
FLAG=$TEST_TMP/drop-events
PLOG=$TEST_TMP/proxy.log
: >"$PLOG"
python3 "$TOP/tests/helpers/docker_proxy.py" "$SOCK" /var/run/docker.sock "$FLAG" "$PLOG" &
PROXY_PID=$!
on_exit "kill -CONT $PROXY_PID 2>/dev/null; kill $PROXY_PID 2>/dev/null"
check "the proxy listens" wait_for 10 test -S "$SOCK"

cat >"$SPECS/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
listen_port
RELIST_S=25
run_start "$TEST_TMP/run.log" --instance "$INST" --state-dir "$STATE" --docker-host "unix://$SOCK" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval "${RELIST_S}s" --docker-timeout 3s "$SPECS"
running() { docker ps --filter "label=auriga.io/managed-by=$INST" --filter status=running -q | wc -l; }
phase() { curl -sf --max-time 5 "$RUN_URL/api/v1/deployments/web" | jq -r '.phase // empty'; }
healthy() { [ "$(phase)" = Healthy ] && [ "$(running)" = 3 ]; }
lists() { grep -c '^GET /v[0-9.]*/containers/json' "$PLOG"; }
passes() { metric 'auriga_reconcile_total{result="ok"}'; }
await "three replicas run, Healthy" 90 healthy
# The image's own HEALTHCHECK changes what the list shows once, when it first passes: after that.
docker_healthy() { [ "$(docker ps --filter "label=auriga.io/managed-by=$INST" --filter health=healthy -q | wc -l)" = 3 ]; }
await "Docker's health checks pass on the three" 60 docker_healthy
sleep 1

# 1. Nothing changes: passes go on, and none lists.
l0=$(lists) p0=$(passes) c0=$(metric auriga_observe_cached_passes_total)
# Passes come every 10 s when all is quiet; a kick of the folder poll may add one.
sleep 12
l1=$(lists) p1=$(passes) c1=$(metric auriga_observe_cached_passes_total)
diag "in 12 s of quiet: $((p1 - p0)) passes, $((c1 - c0)) from the cache, $((l1 - l0)) container lists"
check "passes went on" test "$p1" -gt "$p0"
expect_eq "none of them listed the containers" 0 "$((l1 - l0))"
check "and the cached passes are counted" test "$((c1 - c0))" -ge "$((p1 - p0))"

# 2. A container removed by hand: its event makes the next pass list, and the replica is made again.
victim=$(docker ps --filter "label=auriga.io/managed-by=$INST" --format '{{.Names}}' | head -1)
l0=$(lists)
t0=$(date +%s%N)
docker rm -f "$victim" >/dev/null
remade() { [ "$(running)" = 3 ] && docker ps --filter "name=^$victim\$" -q | grep -q .; }
await "the removed replica is made again" 30 remade
diag "made again in $((($(date +%s%N) - t0) / 1000000)) ms (the relist interval is ${RELIST_S} s)"
check "after its event, the pass listed" test "$(lists)" -gt "$l0"
expect_eq "nothing was corrected: the event told" 0 "$(metric 'auriga_observe_cache_corrections_total{endpoint="unix://'"$SOCK"'"}')"
await "Healthy again" 60 healthy

# 3. Events lost: the stream stays open, but what the daemon sends on it is thrown away.
touch "$FLAG"
docker rm -f "$victim" >/dev/null
stopped=$(docker ps --filter "label=auriga.io/managed-by=$INST" --format '{{.Names}}' | grep -v "^$victim\$" | head -1)
docker stop -t 1 "$stopped" >/dev/null
diag "events dropped: $victim removed, $stopped stopped by hand"
corrected() { metric_reaches 'auriga_observe_cache_corrections_total{endpoint="unix://'"$SOCK"'"}' 2; }
await "the periodic relist finds both changes the events did not tell, and counts them" $((RELIST_S + 30)) corrected
check "its log line says events were missed" grep -q 'msg="the relist corrected the cache: events were missed".*containers=2' "$TEST_TMP/run.log"
await "the fleet converges: three replicas run again" 60 healthy
rm -f "$FLAG"

# 4. The daemon hangs (the proxy is stopped: connections open, nothing answers, no event): the
# heartbeat's ping gets no answer, the next pass lists, and the list's failure is the pass's error.
e0=$(metric 'auriga_reconcile_total{result="error"}')
kill -STOP "$PROXY_PID"
t0=$(date +%s%N)
hung() { metric_above 'auriga_reconcile_total{result="error"}' "$e0"; }
await "a hung daemon is found out: a pass fails on it" 40 hung
diag "found out in $((($(date +%s%N) - t0) / 1000000)) ms (quiet for 10 s, a ping, then a list under docker-timeout 3 s)"
check "the heartbeat said why it listed" grep -q 'msg="endpoint quiet: listing it"' "$TEST_TMP/run.log"
kill -CONT "$PROXY_PID"
await "it answers again: Healthy" 60 healthy

run_stop "the daemon stops with status 0"
done_testing
