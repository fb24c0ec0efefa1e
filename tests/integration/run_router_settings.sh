#!/usr/bin/env bash
# Router settings changed in the specs take effect at the next reconcile of a running `auriga run`,
# without a restart: a new configPath (the file moves; the old one and its table are removed, so an
# NGINX that includes the folder does not load both), a new listenAddress (NGINX serves there and no
# longer on the old one) and a new reloadCommand (the next reload runs it). Each change counts once
# NGINX serves it, seen with curl through NGINX.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
engine_instance rtset
DEP=rset$$
NGX=$TEST_TMP/nginx
LP=$(free_port)
HP=$(free_ports 2) || { fail "two free host ports"; exit 1; }
listen_port
mkdir -p "$NGX/conf.d"

# A host NGINX that includes every file of conf.d: the router's file may move within it. The file
# auriga writes is the configPath's name behind the instance's name-prefix ("$INST-a.conf").
"$TOP/hack/nginx-conf.sh" "$NGX" "$NGX/conf.d/*.conf" >"$NGX/nginx.conf"
nginx -e "$NGX/error.log" -c "$NGX/nginx.conf" || { fail "nginx starts"; exit 1; }
on_exit "kill \$(cat $NGX/nginx.pid)"

RELOAD="[nginx, -e, $NGX/error.log, -c, $NGX/nginx.conf, -s, reload]"
MARKED="[sh, -c, 'touch $TEST_TMP/marked && exec nginx -e $NGX/error.log -c $NGX/nginx.conf -s reload']"
cat >"$TEST_TMP/policy.yaml" <<EOF
router:
  configPath: [$NGX/conf.d/a.conf, $NGX/conf.d/b.conf]
  reloadCommand:
    - $RELOAD
    - $MARKED
  listenAddress: [127.0.0.1, 127.0.0.2]
EOF

cat >"$SPECS/deployment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 1
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003, hostPort: $HP}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
  strategy:
    type: BlueGreen
    blueGreen: {activeService: $DEP}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $DEP}
spec: {deployment: $DEP, port: $LP, targetPort: http}
EOF

# cluster FILE ADDRESS COMMAND: the Cluster's router settings.
cluster() {
	cat >"$SPECS/cluster.yaml.tmp" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: rtset}
spec:
  router:
    type: NGINX
    configPath: $NGX/conf.d/$1
    listenAddress: $2
    reloadCommand: $3
EOF
	mv "$SPECS/cluster.yaml.tmp" "$SPECS/cluster.yaml"
}
cluster a.conf 127.0.0.1 "$RELOAD"

run_start "$TEST_TMP/log" --state-dir "$STATE" --instance "$INST" --listen "127.0.0.1:$RUN_PORT" \
	--poll-interval 1s --policy-file "$TEST_TMP/policy.yaml" "$SPECS"

# served ADDRESS: the demo node answers ready through NGINX at ADDRESS:LP.
served() { [ "$(http_code "http://$1:$LP/q/health/ready")" = 200 ]; }
# generation_of FILE: the generation the file holds; serves_file ADDRESS FILE: NGINX at ADDRESS
# answers with it.
generation_of() { sed -n 's/.*return 200 "\([0-9a-f]*\)\\n";/\1/p' "$1" 2>/dev/null | head -1; }
serves_file() {
	local g
	g=$(generation_of "$2")
	[ -n "$g" ] && [ "$(curl -s --max-time 5 "http://$1:$LP/.auriga/router-generation")" = "$g" ]
}

await "the release is served through NGINX from a.conf" 120 serves_file 127.0.0.1 "$NGX/conf.d/$INST-a.conf"
await "the demo node answers through NGINX" 60 served 127.0.0.1
check "the table of services sits beside a.conf" test -s "$NGX/conf.d/$INST-a.conf.services.json"

# --- configPath: the router's file moves ---------------------------------------------------------
cluster b.conf 127.0.0.1 "$RELOAD"
await "the new configPath is written and served" 60 serves_file 127.0.0.1 "$NGX/conf.d/$INST-b.conf"
check "the old file is removed" test ! -e "$NGX/conf.d/$INST-a.conf"
check "the old table is removed" test ! -e "$NGX/conf.d/$INST-a.conf.services.json"
check "the new file routes the service" grep -q "upstream $INST-$DEP " "$NGX/conf.d/$INST-b.conf"
check "the demo node still answers through NGINX" served 127.0.0.1

# --- listenAddress: NGINX listens at the new address only -----------------------------------------
cluster b.conf 127.0.0.2 "$RELOAD"
await "NGINX serves at the new listen address" 60 serves_file 127.0.0.2 "$NGX/conf.d/$INST-b.conf"
check "the demo node answers at the new address" served 127.0.0.2
old_gone() { ! served 127.0.0.1; }
check "nothing answers at the old address any more" wait_for 10 old_gone

# --- reloadCommand: the next reload runs the new command ---------------------------------------------
cluster b.conf 127.0.0.2 "$MARKED"
await "the new reload command runs" 60 test -e "$TEST_TMP/marked"
check "NGINX still serves the file" serves_file 127.0.0.2 "$NGX/conf.d/$INST-b.conf"
check "the router was made anew from each change" \
	test "$(grep -c "router settings changed" "$TEST_TMP/log")" -eq 3

check "the same daemon ran throughout" kill -0 "$RUN_PID"
run_stop "SIGTERM stops the daemon with status 0"
done_testing
