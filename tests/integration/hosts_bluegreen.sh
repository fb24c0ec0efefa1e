#!/usr/bin/env bash
# run-tests: alone
# Releases by traffic over several Docker hosts: the API deployment's two replicas run one on each of
# two extra hosts (each its own dockerd and bridge, its endpoint's address in the operator's policy),
# behind a real NGINX on 127.0.0.1; the Cluster's first endpoint is "local" (the docker-host setting's
# engine), where the placement never puts them. A blue-green release v1 -> v2 with a smoke test and a verification Job
# as its pre-promotion analysis, under bounded load through NGINX: no request fails, each host then
# runs its replica of slot green at v2 and nothing else of the deployment, NGINX's upstream lists
# them at their hosts' addresses, both answer, and the smoke test and the verification Job each ran
# on a host of the new slot, none on the first endpoint. Then a canary v2 -> v3 (50 %, a scrape
# analysis reaching each replica at its host's address), under load: no request fails, v3 answers
# alone at the end on both hosts.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"
. "$TOP/tests/e2e/nginx-lib.bash"

need_images v1 v2 v3
JOB_IMG=auriga-test-sleeper:2
"$TOP/tests/fakes/build-test-image.sh" "$JOB_IMG" || { fail "build the Job image"; exit 1; }
engine_instance hostsbg
MAIN=unix:///var/run/docker.sock
[ -n "${DOCKER_HOST:-}" ] && MAIN=$DOCKER_HOST

for n in 1 2; do
	check "host $n starts" host_start "$n"
	check "the demo images are loaded into host $n" host_load "$n" v1 v2 v3
	check "the Job image is loaded into host $n" sh -c "docker save $JOB_IMG | docker -H ${HOST_URL[$n]} load -q >/dev/null"
	# Each host's container events, as "ACTION NAME", from now on.
	docker -H "${HOST_URL[$n]}" events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' \
		>"$TEST_TMP/events$n" 2>/dev/null &
	on_exit "kill $! 2>/dev/null"
done
docker -H "$MAIN" events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' \
	>"$TEST_TMP/events0" 2>/dev/null &
on_exit "kill $! 2>/dev/null"
# addr N: host N's bridge address (where its published ports are reached from this machine).
addr() { ip -4 -o addr show dev "${HOST_BRIDGE[$1]}" | awk '{ sub(/\/.*/, "", $4); print $4 }'; }
A1=$(addr 1)
A2=$(addr 2)
expect_match "the two hosts have addresses of their own" '^10\.[0-9.]+ 10\.[0-9.]+$' "$A1 $A2"

NGX=$TEST_TMP/nginx
nginx_setup "$NGX"
POLICY=$TEST_TMP/policy.yaml
cat >"$POLICY" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  reloadCommand: [$NGINX_RELOAD]
  listenAddress: [127.0.0.1]
endpoints:
  - {name: d1, url: "${HOST_URL[1]}", address: $A1}
  - {name: d2, url: "${HOST_URL[2]}", address: $A2}
EOF
LP=$(free_port)
PP=$(free_port)
HP=$(free_ports 4)
cat >"$SPECS/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: c}
spec:
  endpoints: [{name: local}, {name: d1}, {name: d2}]
  router: {type: NGINX, configPath: $NGX/auriga.conf, reloadCommand: $NGINX_RELOAD, listenAddress: 127.0.0.1}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: api}
spec: {deployment: api, port: $LP, targetPort: http}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: api-preview}
spec: {deployment: api, port: $PP, targetPort: http}
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: smoke}
spec:
  activeDeadlineSeconds: 20
  template:
    image: auriga-demo-node:v1
    command: [/demo-node, probe, /q/health/ready, "9003", "-"]
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: reach}
spec:
  activeDeadlineSeconds: 20
  template: {image: $JOB_IMG, command: [/t], args: [get, "-", "-", /q/health/ready]}
---
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: reach}
spec:
  metrics:
    - name: reach
      failureCondition: {operator: ">", value: 0}
      provider:
        job: {name: reach}
EOF
errors_template errors >"$SPECS/analysis.yaml"
BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: api
      previewService: api-preview
      smokeTestJob: smoke
      prePromotionAnalysis: {templates: [{templateName: reach}]}
      postPromotionWindowSeconds: 2
      scaleDownDelaySeconds: 2"
CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 50
        - analysis: {templates: [{templateName: errors}]}"
# write_dep IMAGE STRATEGY: the API deployment, two replicas, one on each of d1 and d2. Its readiness
# probe passes through each host's userland proxy (its dockerd runs without iptables): one attempt
# lost there under a busy machine is not the release's failure, so two in a row make it not ready
# (with one, a lost attempt in the monitor window rolled the release back).
write_dep() {
	cat >"$SPECS/api.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: api}
spec:
  role: api
  replicas: 2
  progressDeadlineSeconds: 120
  placement: {endpoints: [d1, d2], maxPerEndpoint: 1}
  template:
    image: $1
    env: {NODE_TYPE: api}
    ports: [{name: http, containerPort: 9003, hostPort: $HP, hostIP: 0.0.0.0}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 2}
  strategy:
$2
EOF
}
apply() {
	timeout 180 "$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
		--policy-file "$POLICY" "$SPECS" >"$TEST_TMP/apply.out" 2>&1
}
# on_host N: api's containers on host N as "slot:image", sorted.
on_host() {
	docker -H "${HOST_URL[$1]}" ps -a --filter "label=auriga.io/managed-by=$INST" --filter label=auriga.io/deployment=api \
		--format '{{.Label "auriga.io/slot"}}:{{.Image}}' | sort | xargs
}
# servers: the servers of api's active upstream in the router's file, "address:port", sorted.
servers() { nginx_servers "$NGX/$INST-auriga.conf" "$INST-api" | xargs -n1 | cut -d: -f1,2 | LC_ALL=C sort | xargs; }
# host_port N: the host port of api's running replica on host N.
host_port() {
	docker -H "${HOST_URL[$1]}" ps --filter "label=auriga.io/managed-by=$INST" --filter label=auriga.io/deployment=api \
		--format '{{.Ports}}' | sed -n 's/.*:\([0-9]*\)->9003.*/\1/p' | head -1
}
# load OUT: POSTs through NGINX one after another, 5 ms apart (a new connection each, at most 20000
# and for at most 150 s), until OUT.stop exists; "ms status version node" per request (status 0: no
# answer within 5 s, or the connection broke; "node" then names the exception).
load() {
	python3 - "$LP" "$1" >/dev/null 2>&1 <<'PY' &
import http.client, os, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
end = time.time() + 150
with open(out, "w", buffering=1) as f:
    for _ in range(20000):
        if time.time() >= end or os.path.exists(out + ".stop"):
            break
        t = int(time.time() * 1000)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("POST", "/api/v11/transactions", body=b"{}", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            f.write("%d %d %s %s\n" % (t, r.status, r.getheader("X-Node-Version", "-"), r.getheader("X-Node-Id", "-")))
            c.close()
        except Exception as e:
            f.write("%d 0 %s -\n" % (t, type(e).__name__))
        time.sleep(0.005)
PY
	LOAD_PID=$!
}
stop_load() {
	sleep 1
	touch "$1.stop"
	wait "$LOAD_PID" 2>/dev/null
}
# failures LOAD: the requests that failed; failed LOAD: how many.
failures() { awk '$2 < 200 || $2 >= 300' "$1"; }
failed() { failures "$1" | wc -l; }
# why_failed LOAD: when a request failed, each failed one (its time as UTC, status, version, node) and
# NGINX's error log and the release's output around then, as diagnostics.
why_failed() {
	failures "$1" | head -n 5 | while read -r ms st v nd; do
		diag "failed: $(date -u -d "@$((ms / 1000)).$(printf %03d $((ms % 1000)))" +%T.%3N) status $st $v $nd"
	done
	[ "$(failed "$1")" = 0 ] && return
	tail -n 10 "$NGX/error.log" 2>/dev/null | while read -r l; do diag "nginx: $l"; done
	apply_tail
}
apply_tail() { tail -n 20 "$TEST_TMP/apply.out" | while read -r l; do diag "$l"; done; }

# --- v1, the first release: one replica on each of d1 and d2, none on the first endpoint ---------
write_dep auriga-demo-node:v1 "$BLUEGREEN"
apply
rc=$?
expect_eq "v1: apply converges" 0 "$rc"
[ "$rc" = 0 ] || { apply_tail; exit 1; }
expect_eq "v1: host 1 runs one replica" "blue:auriga-demo-node:v1" "$(on_host 1)"
expect_eq "v1: host 2 runs one replica" "blue:auriga-demo-node:v1" "$(on_host 2)"
expect_eq "v1: nothing of it on the Cluster's first endpoint" 0 "$(host_count "$MAIN" "$INST")"
expect_eq "v1: NGINX's upstream lists each replica at its host's address" \
	"$(printf '%s:%s\n' "$A1" "$(host_port 1)" "$A2" "$(host_port 2)" | sort | xargs)" "$(servers)"

# --- blue-green v1 -> v2 under load ----------------------------------------------------------------
write_dep auriga-demo-node:v2 "$BLUEGREEN"
load "$TEST_TMP/load-bg"
sleep 1
start=$(date +%s%N)
apply
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
stop_load "$TEST_TMP/load-bg"
n=$(wc -l <"$TEST_TMP/load-bg")
diag "blue-green v1 -> v2 over two hosts took $took ms; $n requests through NGINX"
expect_eq "blue-green: apply converges" 0 "$rc"
[ "$rc" = 0 ] || apply_tail
expect_eq "blue-green: no request through NGINX failed" 0 "$(failed "$TEST_TMP/load-bg")"
why_failed "$TEST_TMP/load-bg"
expect_match "blue-green: the load ran throughout (over 100 requests)" '^[0-9]{3,}$' "$n"
expect_eq "blue-green: v1 answered first" v1 "$(head -1 "$TEST_TMP/load-bg" | cut -d' ' -f3)"
expect_eq "blue-green: v2 answered last" v2 "$(tail -1 "$TEST_TMP/load-bg" | cut -d' ' -f3)"
expect_eq "blue-green: host 1 runs its replica of slot green at v2 alone" "green:auriga-demo-node:v2" "$(on_host 1)"
expect_eq "blue-green: host 2 runs its replica of slot green at v2 alone" "green:auriga-demo-node:v2" "$(on_host 2)"
expect_eq "blue-green: NGINX's upstream lists the green replicas at their hosts' addresses" \
	"$(printf '%s:%s\n' "$A1" "$(host_port 1)" "$A2" "$(host_port 2)" | sort | xargs)" "$(servers)"
expect_eq "blue-green: both v2 replicas answered through NGINX" "api-green-0 api-green-1" \
	"$(awk '$3 == "v2" { print $4 }' "$TEST_TMP/load-bg" | sort -u | xargs)"
expect_match "blue-green: the smoke test passed" 'smoke test passed' "$(cat "$TEST_TMP/apply.out")"
expect_match "blue-green: the verification Job passed" 'verification job passed' "$(cat "$TEST_TMP/apply.out")"
# Each Job ran beside a container of the new slot: on d1 or d2, where that container runs, never on
# the Cluster's first endpoint.
smoke_on=$(grep -l "^create $INST-api-smoke-test\$" "$TEST_TMP/events1" "$TEST_TMP/events2" 2>/dev/null | wc -l)
expect_eq "blue-green: the smoke test ran on a host of the new slot" 1 "$smoke_on"
verify_on=$(grep -l "^create $INST-api-analysis-reach\$" "$TEST_TMP/events1" "$TEST_TMP/events2" 2>/dev/null | wc -l)
expect_eq "blue-green: the verification Job ran on a host of the new slot" 1 "$verify_on"
expect_eq "blue-green: no container of the instance was made on the first endpoint" 0 \
	"$(grep -c "^create $INST-" "$TEST_TMP/events0")"

# --- canary v2 -> v3 under load --------------------------------------------------------------------
write_dep auriga-demo-node:v3 "$CANARY"
load "$TEST_TMP/load-c"
sleep 1
apply
rc=$?
stop_load "$TEST_TMP/load-c"
n=$(wc -l <"$TEST_TMP/load-c")
diag "canary v2 -> v3 over two hosts: $n requests through NGINX, $(grep -c ' v3 ' "$TEST_TMP/load-c") answered by v3"
expect_eq "canary: apply converges" 0 "$rc"
[ "$rc" = 0 ] || apply_tail
expect_eq "canary: no request through NGINX failed" 0 "$(failed "$TEST_TMP/load-c")"
why_failed "$TEST_TMP/load-c"
grep 'run decided' "$TEST_TMP/apply.out" | while read -r l; do diag "$l"; done
expect_match "canary: its scrape analysis measured the new replicas at their hosts' addresses" \
	'run decided.*result=Successful.*error-rate = 0' "$(cat "$TEST_TMP/apply.out")"
expect_eq "canary: v3 answered last" v3 "$(tail -1 "$TEST_TMP/load-c" | cut -d' ' -f3)"
expect_match "canary: host 1 runs its v3 replica alone" '^[a-z]*:auriga-demo-node:v3$' "$(on_host 1)"
expect_match "canary: host 2 runs its v3 replica alone" '^[a-z]*:auriga-demo-node:v3$' "$(on_host 2)"
expect_eq "canary: no container of the instance was made on the first endpoint" 0 \
	"$(grep -c "^create $INST-" "$TEST_TMP/events0")"

done_testing
