#!/usr/bin/env bash
# `auriga run` and SIGHUP: a reload replaces the settings, and what the daemon handed out from the
# old ones must not outlive them. Here the Cluster's working router arrives after a reload; the
# router is made anew then, with the --router-error-log path the daemon was started with (a sanitizer
# build reports a read of the freed settings as a crash of the daemon). Every Cluster here names
# its own router file, never the default one under /etc/nginx.
. "$(dirname "$0")/../lib.sh"

INST=it-reload-$$
DEP=rld$$
SPECS=$TEST_TMP/specs
NGX=$TEST_TMP/router
port=$(free_port)
LP=$(free_port)
# Two consecutive free host ports: the one replica in the blue slot (HP), then in the green (HP+1).
HP=$(free_ports 2) || { fail "two free host ports"; exit 1; }
mkdir -p "$SPECS" "$NGX"
: >"$NGX/error.log"

# deployment RELEASE: the deployment (each RELEASE a revision of its own) and its Service.
deployment() {
	cat >"$SPECS/deployment.yaml.tmp" <<YAML
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 1
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:v1
    env: {RELEASE: "$1"}
    ports: [{name: http, containerPort: 9003, hostPort: $HP}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}
  strategy:
    type: BlueGreen
    blueGreen: {activeService: $DEP}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $DEP}
spec: {deployment: $DEP, port: $LP, targetPort: http}
YAML
	mv "$SPECS/deployment.yaml.tmp" "$SPECS/deployment.yaml"
}
deployment 1

# cluster ROUTER-LINES: the Cluster, its router in this test's folder.
cluster() {
	cat >"$SPECS/cluster.yaml.tmp" <<YAML
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: reload}
spec:
  router:
    type: NGINX
    configPath: $NGX/auriga.conf
    listenAddress: 127.0.0.1
$1
YAML
	mv "$SPECS/cluster.yaml.tmp" "$SPECS/cluster.yaml"
}
# First a router that cannot reload: the NGINX container it names does not exist.
cluster "    container: no-such-router"

log_has() { grep -q -- "$1" "$TEST_TMP/log"; }

# The operator's policy lets the Cluster name this test's router file, container and command.
cat >"$TEST_TMP/policy.yaml" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  container: [no-such-router]
  reloadCommand: [["true"]]
  listenAddress: [127.0.0.1]
EOF

"$AURIGA_BIN" run --state-dir "$TEST_TMP/state" --instance "$INST" --extra-labels "$TEST_LABEL" \
	--listen "127.0.0.1:$port" --poll-interval 1s --router-error-log "$NGX/error.log" --policy-file "$TEST_TMP/policy.yaml" "$SPECS" \
	>"$TEST_TMP/log" 2>&1 &
pid=$!
on_exit "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"

check "the router cannot reload yet, and the log says why" wait_for 60 log_has "cannot signal NGINX"

# The reload frees the settings the daemon started with (nothing changed, so nothing else happens).
kill -HUP "$pid"
check "the daemon reloads its settings" wait_for 10 log_has "configuration reloaded"

# A release stopped for want of a router is not tried again: the router's new settings arrive with
# the next one, and a router made from them takes over.
cluster '    reloadCommand: ["true"]'
deployment 2
router_written() { grep -q "upstream $INST-$DEP" "$NGX/$INST-auriga.conf" 2>/dev/null; }
check "the Cluster arriving after the reload gets its router" wait_for 90 router_written
# No NGINX serves this router, so its change is not confirmed; the reason given looks in the error log.
check "the router looks in the error log the daemon was started with" \
	wait_for 60 log_has "nothing new in NGINX's error log"
check "the daemon is still running" kill -0 "$pid"
# A sanitizer report names what was read and where it was freed.
grep -E "ERROR: AddressSanitizer|^SUMMARY|^    #[0-9]+ " "$TEST_TMP/log" | head -40 | sed 's/^/# /'

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the daemon with status 0" 0 "$?"

done_testing
