#!/usr/bin/env bash
# What Docker runs for a template: env files merged into the env (a changed file rolls out, a bad
# line is refused with file and line), the network the template names created and labelled as
# auriga's (a network auriga does not own joined and left alone), aliases on it, privileged
# passed through; and a tcpSocket probe on a port that is published but where nothing listens
# fails, because on auriga's network probes go to the container's own address.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance container
NET=auriga-it-net-$$
DNET=$INST-$NET	# its name on the engine: the instance's own (name-prefix)
FOREIGN=auriga-it-foreign-$$
P1=$(free_port)
P2=$(free_port)
mkdir -p "$SPECS/conf"

# cid DEPLOYMENT ORDINAL: the running container of that ordinal (names change across updates).
cid() {
	docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--filter "label=auriga.io/ordinal=$2" | head -1
}

run() { local c=$1; shift; auriga_cmd "$c" --policy-file "$TEST_TMP/policy.yaml" "$@"; }

# The operator's policy allows what this test asks for: privileged containers and the foreign network.
cat >"$TEST_TMP/policy.yaml" <<EOF
privileged: true
networks: [$FOREIGN]
EOF

cat >"$SPECS/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: it}
spec:
  policy: {allowPrivileged: true}
EOF
cat >"$SPECS/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gapweb}
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  template:
    image: auriga-demo-node:v1
    env: {DEMO_VERSION: from-spec, SHARED: from-spec}
    envFiles: [conf/node.env]
    network: $NET
    privileged: true
    ports: [{name: http, containerPort: 9003, hostPort: $P1}]
  probes:
    readiness: {tcpSocket: {port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gapother}
spec:
  template:
    image: auriga-demo-node:v1
    network: $FOREIGN
EOF
printf '# node settings\nDEMO_NODE_ID=from-file\nSHARED=from-file\n\nEXTRA=a=b\n' >"$SPECS/conf/node.env"

# A network auriga does not own, made by someone else: joined, never relabelled or removed.
docker network create --label "$TEST_LABEL" --label owner=someone-else "$FOREIGN" >/dev/null

run apply --timeout-total 150 "$SPECS" >"$TEST_TMP/apply1.out" 2>"$TEST_TMP/apply1.err"
rc=$?
expect_eq "apply converges" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply1.err" | while read -r l; do diag "$l"; done

env0=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(cid gapweb 0)" 2>/dev/null)
expect_match "env file values reach the container" "DEMO_NODE_ID=from-file" "$env0"
expect_match "a value holding '=' is kept whole" "EXTRA=a=b" "$env0"
expect_match "the template's env wins over the file" "SHARED=from-spec" "$env0"
expect_eq "privileged reaches Docker" "true" "$(docker inspect -f '{{.HostConfig.Privileged}}' "$(cid gapweb 0)" 2>/dev/null)"
expect_eq "the other deployment is not privileged" "false" \
	"$(docker inspect -f '{{.HostConfig.Privileged}}' "$(cid gapother 0)" 2>/dev/null)"
expect_eq "auriga created the network, labelled as its own" "$INST" \
	"$(docker network inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$DNET" 2>/dev/null)"
expect_eq "the network carries the run's label (cleaned up with it)" "1" \
	"$(docker network ls -q --filter "label=$TEST_LABEL" --filter "name=^$DNET\$" | wc -l)"
aliases=$(docker inspect -f "{{range \$k, \$v := .NetworkSettings.Networks}}{{\$k}}:{{join \$v.Aliases \",\"}} {{end}}" "$(cid gapweb 1)" 2>/dev/null)
expect_match "gapweb-1 is on the network with its aliases" "$DNET:.*gapweb,gapweb-1" "$aliases"
expect_eq "the container says its network is auriga's" "$DNET" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/network"}}' "$(cid gapweb 0)" 2>/dev/null)"
other_nets=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$(cid gapother 0)" 2>/dev/null)
expect_match "the foreign network is joined" "$FOREIGN" "$other_nets"
expect_eq "the foreign network is left as it was" "someone-else/" \
	"$(docker network inspect -f '{{.Labels.owner}}/{{index .Labels "auriga.io/managed-by"}}' "$FOREIGN")"
expect_eq "gapother-0 carries no network label (probes use its published ports)" "" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/network"}}' "$(cid gapother 0)" 2>/dev/null)"

# Idempotent: a second apply creates nothing and leaves one network of the name.
rev1=$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' "$(cid gapweb 0)" 2>/dev/null)
# A recreated container would share the revision label: the container ids tell.
ids1=$(docker ps -a --no-trunc -q --filter "label=auriga.io/managed-by=$INST" | sort)
run apply --timeout-total 60 "$SPECS" >/dev/null 2>"$TEST_TMP/apply2.err"
rc=$?
expect_eq "a second apply succeeds" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply2.err" | while read -r l; do diag "$l"; done
expect_eq "still one network of that name" 1 "$(docker network ls -q --filter "name=^$DNET\$" | wc -l)"
expect_eq "the containers were kept (the same container ids)" "$ids1" \
	"$(docker ps -a --no-trunc -q --filter "label=auriga.io/managed-by=$INST" | sort)"
check "there were containers to keep" test -n "$ids1"

# A changed env file is a new revision: plan says so, apply rolls it out.
sed -i 's/DEMO_NODE_ID=from-file/DEMO_NODE_ID=changed/' "$SPECS/conf/node.env"
plan=$(run plan "$SPECS" 2>&1)
expect_eq "plan exits 2 when the env file changed" 2 "$?"
expect_match "plan names the changed variable" "env: DEMO_NODE_ID changed" "$plan"
check "plan does not show its value" bash -c "! grep -q 'DEMO_NODE_ID=changed' <<<'$plan'"
run apply --timeout-total 150 "$SPECS" >"$TEST_TMP/apply3.out" 2>"$TEST_TMP/apply3.err"
rc=$?
expect_eq "the env change rolls out" 0 "$rc"
[ "$rc" = 0 ] || tail -3 "$TEST_TMP/apply3.out" | while read -r l; do diag "$l"; done
expect_match "the new value runs" "DEMO_NODE_ID=changed" \
	"$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(cid gapweb 0)" 2>/dev/null)"
rev2=$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' "$(cid gapweb 0)" 2>/dev/null)
check "at a new revision" test -n "$rev2" -a "$rev2" != "$rev1"

# A bad line is refused with the file and the line, and nothing changes.
printf 'GOOD=1\nthis is not a pair\n' >"$SPECS/conf/node.env"
out=$(run apply --timeout-total 30 "$SPECS" 2>&1)
rc=$?
expect_eq "a bad env file fails the apply (exit 1)" 1 "$rc"
expect_match "the error names the file and line" \
	"[a-z]+\.yaml:[0-9]+:[0-9]+: Deployment/gapweb: spec\.template\.envFiles\[0\]: conf/node.env:2: expected KEY=value" "$out"
printf 'DEMO_NODE_ID=changed\nSHARED=from-file\nEXTRA=a=b\n' >"$SPECS/conf/node.env"

# --- probes: published, yet nothing listens -------------------------------------------------
# docker-proxy accepts every connect on a published port, so only the container's own address
# tells the truth. Port 9999 is published but the node listens on 9003.
cat >"$SPECS/deaf.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gapdeaf}
spec:
  progressDeadlineSeconds: 6
  autoRollback: false
  template:
    image: auriga-demo-node:v1
    network: $NET
    ports: [{name: deaf, containerPort: 9999, hostPort: $P2}]
  probes:
    readiness: {tcpSocket: {port: deaf}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}
EOF
run apply --timeout-total 40 "$SPECS" >"$TEST_TMP/deaf.out" 2>"$TEST_TMP/deaf.err"
rc=$?
expect_eq "apply fails: the tcp probe on a port nothing listens on never passes" 1 "$rc"
expect_match "it failed on the container's own address, not the published port" \
	"readiness: tcp [0-9.]*:9999: Connection refused" "$(cat "$TEST_TMP/deaf.out")"
check "docker-proxy does accept on the published port (what a loopback probe would have believed)" \
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $P2), 2).close()"
expect_match "the deployment is reported failed" "gapdeaf Failed 0/1 ready" "$(cat "$TEST_TMP/deaf.out")"
ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$DNET\").IPAddress}}" "$(cid gapdeaf 0)" 2>/dev/null)
expect_match "gapdeaf-0 has an address on auriga's network" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "$ip"
check "the container's own address refuses port 9999" \
	python3 -c "import socket,sys
if not '$ip': sys.exit(1)
try:
    socket.create_connection(('$ip', 9999), 2).close(); sys.exit(1)
except OSError: sys.exit(0)"
check "and the same address answers on 9003, where gapweb's probe passed" \
	python3 -c "import socket; socket.create_connection(('$ip', 9003), 2).close()"

done_testing
