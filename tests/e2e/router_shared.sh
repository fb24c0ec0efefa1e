#!/usr/bin/env bash
# Two instances, one NGINX: each `auriga run` names the same configPath in its Cluster and has a
# Service of the same name (a name of its own) on a port of its own. Each writes its own file beside the
# configPath ("<prefix>-auriga.conf") with its upstreams named "<prefix>-<service>", so NGINX loads both
# and `nginx -t` passes. A fleet whose router file was written under the earlier names (the file at
# configPath itself, upstream named as its Service) is taken over by its instance on upgrade: the new file replaces
# the old in one reload, with no failed request. A release in one instance does not disturb the
# other's traffic (no failed request under a bounded load), and a Service moved onto the other
# instance's port is refused, naming both instances, while the other's listener keeps serving.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2
A=it-sha-$$
B=it-shb-$$
# The deployment and Service of both instances (a name of this test's: B first runs without a prefix).
W=shweb$$
NGX=$TEST_TMP/nginx
mkdir -p "$NGX" "$TEST_TMP/specs-$A" "$TEST_TMP/specs-$B"
LPA=$(free_port)
LPB=$(free_port)
APA=$(free_port)
HPA=$(free_ports 4) || { fail "four free host ports"; exit 1; }
HPB=$(free_ports 4) || { fail "four free host ports"; exit 1; }
on_exit "docker_cleanup_label auriga.io/managed-by=$A; docker_cleanup_label auriga.io/managed-by=$B"

# One NGINX that includes every router file of its folder.
"$TOP/hack/nginx-conf.sh" "$NGX" "$NGX/*auriga.conf" >"$NGX/nginx.conf"
nginx -e "$NGX/error.log" -c "$NGX/nginx.conf" || { fail "nginx starts"; exit 1; }
on_exit "kill \$(cat $NGX/nginx.pid)"
RELOAD="[nginx, -e, $NGX/error.log, -c, $NGX/nginx.conf, -s, reload]"
cat >"$TEST_TMP/policy.yaml" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  reloadCommand:
    - $RELOAD
  listenAddress: [127.0.0.1]
EOF
export AURIGA_POLICY_FILE=$TEST_TMP/policy.yaml

# specs INSTANCE IMAGE SERVICE_PORT HOST_PORT: the instance's Cluster (the shared configPath), the
# deployment $W (two replicas, Rolling) and its Service $W.
specs() {
	cat >"$TEST_TMP/specs-$1/web.yaml.tmp" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: shared}
spec:
  router:
    type: NGINX
    configPath: $NGX/auriga.conf
    reloadCommand: $RELOAD
    listenAddress: 127.0.0.1
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $W}
spec:
  role: api
  replicas: 2
  progressDeadlineSeconds: 120
  template:
    image: $2
    env: {NODE_TYPE: api, DEMO_DRAIN_MS: "0"}
    ports: [{name: http, containerPort: 9003, hostPort: $4}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $W}
spec: {deployment: $W, port: $3, targetPort: http}
EOF
	mv "$TEST_TMP/specs-$1/web.yaml.tmp" "$TEST_TMP/specs-$1/web.yaml"
}
# start INSTANCE [ARGS...]: `auriga run` of the instance on its specs folder; sets its pid in PID_<A|B>.
start() {
	local inst=$1
	shift
	"$AURIGA_BIN" run --extra-labels "$TEST_LABEL" --state-dir "$TEST_TMP/state-$inst" --instance "$inst" \
		--listen "127.0.0.1:$([ "$inst" = "$A" ] && echo "$APA" || free_port)" --poll-interval 1s "$@" "$TEST_TMP/specs-$inst" >>"$TEST_TMP/$inst.log" 2>&1 &
	echo $!
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# version PORT: the version answering one transaction through NGINX on PORT.
version() {
	curl -s --max-time 5 -o /dev/null -D - -X POST "http://127.0.0.1:$1/api/v11/transactions" | tr -d '\r' |
		sed -n 's/^X-Node-Version: //Ip'
}
version_is() { [ "$(version "$1")" = "$2" ]; }
# upstream FILE NAME: the servers of upstream NAME in FILE, as sorted ports.
upstream() {
	python3 - "$1" "$2" <<'PY'
import re, sys
try:
    text = open(sys.argv[1]).read()
except OSError:
    text = ""
m = re.search(r"upstream " + re.escape(sys.argv[2]) + r" \{(.*?)\}", text, re.S)
print(" ".join(sorted(re.findall(r"server 127\.0\.0\.1:(\d+) weight=", m.group(1) if m else ""))))
PY
}
upstream_is() { [ "$(upstream "$1" "$2")" = "$3" ]; }
generation() { curl -s --max-time 5 "http://127.0.0.1:$1/.auriga/router-generation"; }
serves() { local g; g=$(sed -n 's/.*return 200 "\([0-9a-f]*\)\\n";/\1/p' "$1" 2>/dev/null | head -1); [ -n "$g" ] && [ "$(generation "$2")" = "$g" ]; }
RUN_LOG=$TEST_TMP/$B.log
await_failed() { tail -n 5 "$TEST_TMP/$A.log" | while read -r l; do diag "$A: $l"; done; }

# --- B under the earlier names: its file is configPath itself, its upstream named as its Service ---
specs "$B" auriga-demo-node:v1 "$LPB" "$HPB"
pid_b=$(start "$B" --name-prefix "")
on_exit "kill -TERM $pid_b 2>/dev/null"
await "B, named as before (no prefix), routes $W through NGINX from configPath itself" 90 \
	upstream_is "$NGX/auriga.conf" "$W" "$HPB $((HPB + 1))"
await "NGINX serves it" 30 serves "$NGX/auriga.conf" "$LPB"
# The file as a release before instance names were written into it began.
sed -i '1s/.*/# Generated by auriga; rewritten on every change of weights./' "$NGX/auriga.conf"
stop "$pid_b"
LP=$LPB
lpid=$(load "$TEST_TMP/load-b" 300)
on_exit "kill $lpid 2>/dev/null"

# --- A joins the same NGINX, a Service of the same name on its own port -----------------------------
specs "$A" auriga-demo-node:v1 "$LPA" "$HPA"
pid_a=$(start "$A")
on_exit "kill -TERM $pid_a 2>/dev/null"
await "A writes its own file beside B's, its upstream named $A-$W" 90 \
	upstream_is "$NGX/$A-auriga.conf" "$A-$W" "$HPA $((HPA + 1))"
await "NGINX serves A's file on A's port" 30 serves "$NGX/$A-auriga.conf" "$LPA"
expect_eq "A's port answers from A's fleet (v1)" v1 "$(version "$LPA")"
check "B's file under the earlier names is not A's to take over: it stays" test -s "$NGX/auriga.conf"
expect_eq "A's log says it took nothing over" "" "$(grep "taking over" "$TEST_TMP/$A.log")"
expect_eq "B's port answers from B's fleet (v1)" v1 "$(version "$LPB")"

# --- upgrade: B with its name prefix takes its file over, in one reload ------------------------------
n_before=$(wc -l <"$TEST_TMP/$B.log")
pid_b=$(start "$B")
on_exit "kill -TERM $pid_b 2>/dev/null"
await "B, upgraded, writes its own file with its upstream named $B-$W" 90 \
	upstream_is "$NGX/$B-auriga.conf" "$B-$W" "$HPB $((HPB + 1))"
await "NGINX serves B's new file on B's port" 30 serves "$NGX/$B-auriga.conf" "$LPB"
check "the file under the earlier names is gone" test ! -e "$NGX/auriga.conf"
check "and its table" test ! -e "$NGX/auriga.conf.services.json"
check "B's log says it took the file over" grep -q "taking over the file written under the earlier names" "$TEST_TMP/$B.log"
expect_eq "one reload did it (NGINX reloaded once by the upgraded B)" 1 \
	"$(tail -n +"$((n_before + 1))" "$TEST_TMP/$B.log" | grep -c 'msg="configuration applied"')"
check "NGINX still serves A's file on A's port" serves "$NGX/$A-auriga.conf" "$LPA"
check "nginx -t passes on the configuration with both files" nginx -t -q -e "$NGX/error.log" -c "$NGX/nginx.conf"

# --- a release in A, under B's load ----------------------------------------------------------------
specs "$A" auriga-demo-node:v2 "$LPA" "$HPA"
await "A releases v2: NGINX answers from it on A's port" 120 version_is "$LPA" v2
a_v2() { [ "$(docker ps --filter "label=auriga.io/managed-by=$A" --format '{{.Image}}' | sort -u)" = auriga-demo-node:v2 ]; }
await "A runs v2 only" 120 a_v2
check "B's port still serves B's file" serves "$NGX/$B-auriga.conf" "$LPB"

# --- A's Service moved onto B's port: refused, naming both ------------------------------------------
a_file=$(cat "$NGX/$A-auriga.conf")
specs "$A" auriga-demo-node:v2 "$LPB" "$HPA"
refused() { grep -q "Service '$W' of instance '$A' cannot listen on 127.0.0.1:$LPB: instance '$B' listens there already (upstream '$B-$W' in $NGX/$B-auriga.conf)" "$TEST_TMP/$A.log"; }
await "A refuses to listen on B's port, naming both instances and B's file" 60 refused
grep -m1 "cannot listen on" "$TEST_TMP/$A.log" | sed 's/^/# /'
a_error() {
	curl -s --max-time 5 "http://127.0.0.1:$APA/api/v1/deployments/$W" |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("lastError") or "")' 2>/dev/null
}
a_says() { a_error | grep -q "cannot listen on 127.0.0.1:$LPB: instance '$B' listens there already"; }
await "A's status says why (the deployment's lastError)" 30 a_says
diag "A's lastError: $(a_error)"
diag "A's deployment: $(curl -s --max-time 5 "http://127.0.0.1:$APA/api/v1/deployments/$W" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("phase"), d.get("step"))' 2>/dev/null); refusals logged: $(grep -c "cannot listen on" "$TEST_TMP/$A.log")"
sleep 3
check "A's file is unchanged (still on A's port)" test "$(cat "$NGX/$A-auriga.conf")" = "$a_file"
check "NGINX still serves A on A's port" serves "$NGX/$A-auriga.conf" "$LPA"
check "and B on B's port" serves "$NGX/$B-auriga.conf" "$LPB"
expect_eq "B's port answers from B's fleet (v1)" v1 "$(version "$LPB")"
check "nginx -t passes" nginx -t -q -e "$NGX/error.log" -c "$NGX/nginx.conf"

stop_load "$lpid"
total=$(wc -l <"$TEST_TMP/load-b")
failed=$(failed_count "$TEST_TMP/load-b")
diag "$total requests to B through NGINX (A's arrival, B's upgrade, A's release and refused port), $failed failed"
check "the load on B ran throughout (at least 200 requests)" test "$total" -ge 200
expect_eq "no request to B failed" 0 "$failed"
expect_eq "every answer to B came from B's fleet (v1), none from A's" "" \
	"$(awk '$3 != "v1"' "$TEST_TMP/load-b" | head -3)"

stop "$pid_a"
stop "$pid_b"
done_testing
