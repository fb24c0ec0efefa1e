#!/usr/bin/env bash
# run-tests: alone
# Probes and NGINX reach replicas on other hosts at their endpoint's address: two extra Docker hosts (the
# first through its socket, the second over tcp with mutual TLS), each given its bridge's address as its
# endpoint's address in the operator's policy; a Rolling
# deployment of two API nodes spread one per host, published on every address of its host; a Service
# in front of it through a real NGINX. `auriga apply` converges (readiness probed at each endpoint's
# address), NGINX's upstream lists each replica at its host's address and port, and requests through
# NGINX are answered by both replicas. A deployment placed on the second host alone runs its preDeploy
# hook there, and its exec startup probe runs in its container there, and its readiness probe reaches
# it at its endpoint's address (its port is published on that address alone: loopback does not answer).
# Without hostIP (published on 127.0.0.1), a port of a deployment that may run on those hosts is refused
# at the field. `auriga docker --endpoint d2` reaches host 2 through the policy's url and TLS folder.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"

need_images v1
HOOK_IMG=auriga-test-sleeper:2
"$TOP/tests/fakes/build-test-image.sh" "$HOOK_IMG" || { fail "build the hook image"; exit 1; }
engine_instance hostsrouter
# Host 2 is also reached over tcp with mutual TLS: its endpoint is that, from a DOCKER_CERT_PATH-style folder.
TLS=$TEST_TMP/tls
check "TLS material is made" tls_material "$TLS" 127.0.0.1
TPORT=$(free_port)
for n in 1 2; do
	if [ "$n" = 2 ]; then
		check "host 2 starts, with TLS on tcp://127.0.0.1:$TPORT" host_start 2 -H "tcp://127.0.0.1:$TPORT" --tlsverify \
			--tlscacert "$TLS/ca.pem" --tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem"
	else
		check "host $n starts" host_start "$n"
	fi
	check "the demo image is loaded into host $n" host_load "$n" v1
	check "the hook image is loaded into host $n" sh -c "docker save $HOOK_IMG | docker -H ${HOST_URL[$n]} load -q"
	# Each host's container events, as "ACTION NAME", from now on.
	docker -H "${HOST_URL[$n]}" events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' \
		>"$TEST_TMP/events$n" 2>/dev/null &
	on_exit "kill $! 2>/dev/null"
done
# addr N: host N's bridge address (where its published ports are reached from this machine).
addr() { ip -4 -o addr show dev "${HOST_BRIDGE[$1]}" | awk '{ sub(/\/.*/, "", $4); print $4 }'; }
A1=$(addr 1)
A2=$(addr 2)
expect_match "the two hosts have addresses of their own" '^10\.[0-9.]+ 10\.[0-9.]+$' "$A1 $A2"

NGX=$TEST_TMP/nginx
mkdir -p "$NGX"
# NGINX includes every router file of the folder: auriga writes its own beside the Cluster's
# configPath, named with the instance's name-prefix ("<prefix>-auriga.conf").
"$TOP/hack/nginx-conf.sh" "$NGX" "$NGX/*auriga.conf" >"$NGX/nginx.conf"
: >"$NGX/auriga.conf"
nginx -e "$NGX/error.log" -c "$NGX/nginx.conf" || { fail "nginx starts"; exit 1; }
on_exit "kill \$(cat $NGX/nginx.pid)"
RELOAD="[nginx, -e, $NGX/error.log, -c, $NGX/nginx.conf, -s, reload]"
POLICY=$TEST_TMP/policy.yaml
cat >"$POLICY" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  reloadCommand: [$RELOAD]
  listenAddress: [127.0.0.1]
endpoints:
  - {name: d1, url: "${HOST_URL[1]}", address: $A1}
  - {name: d2, url: "tcp://127.0.0.1:$TPORT", certPath: "$TLS/client", address: $A2}
EOF
LP=$(free_port)
HP=$(free_ports 4)
SP=$(free_port)
cat >"$SPECS/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: c}
spec:
  endpoints: [{name: d1}, {name: d2}]
  router: {type: NGINX, configPath: $NGX/auriga.conf, reloadCommand: $RELOAD, listenAddress: 127.0.0.1}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: api}
spec: {deployment: api, port: $LP, targetPort: http}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  placement: {maxPerEndpoint: 1}
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003, hostPort: $HP, hostIP: 0.0.0.0}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: side}
spec:
  replicas: 1
  progressDeadlineSeconds: 120
  placement: {endpoints: [d2]}
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003, hostPort: $SP, hostIP: $A2}]
  probes:
    startup: {exec: {command: [/demo-node, probe, /q/health/startup]}, periodSeconds: 1, failureThreshold: 30}
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
  hooks: {preDeploy: [mark]}
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: mark}
spec:
  activeDeadlineSeconds: 60
  template: {image: $HOOK_IMG, command: [/t], args: [env, "0", "0"]}
EOF

# The same specs with api's port published on 127.0.0.1 (no hostIP): refused, nothing is made.
BAD=$TEST_TMP/bad
mkdir -p "$BAD"
sed 's/, hostIP: 0.0.0.0}/}/' "$SPECS/cluster.yaml" >"$BAD/cluster.yaml"
out=$(cd "$BAD" && "$AURIGA_BIN" validate --policy-file "$POLICY" cluster.yaml 2>&1 >/dev/null)
expect_eq "a port on 127.0.0.1 of a deployment that may run on d1 or d2: validate exits 1" 1 "$?"
expect_match "the refusal names the file, the field and the endpoint's address" \
	"^cluster\.yaml:[0-9]+:[0-9]+: Deployment/api: spec\.template\.ports\[0\]\.hostIP: port $HP is published on 127\.0\.0\.1, but endpoint \"d1\", which the placement may use, is reached at $A1" "$out"

timeout 180 "$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$SPECS" >"$TEST_TMP/apply.out" 2>&1
rc=$?
expect_eq "apply converges with the replicas on two hosts behind NGINX" 0 "$rc"
[ "$rc" = 0 ] || tail -n 15 "$TEST_TMP/apply.out" | while read -r l; do diag "$l"; done
# port_on N: the host port of api's replica on host N.
port_on() {
	docker -H "${HOST_URL[$1]}" ps --filter "label=auriga.io/managed-by=$INST" --filter label=auriga.io/deployment=api \
		--format '{{.Ports}}' |
		sed -n 's/.*:\([0-9]*\)->9003.*/\1/p' | head -1
}
P1=$(port_on 1)
P2=$(port_on 2)
expect_match "each host runs one replica" '^[0-9]+ [0-9]+$' "$P1 $P2"
# The deployment side runs on d2 alone (not the Cluster's first endpoint): its hook runs there.
expect_eq "side's one replica runs on host 2" 1 \
	"$(docker -H "${HOST_URL[2]}" ps -q --filter "label=auriga.io/managed-by=$INST" --filter label=auriga.io/deployment=side | wc -l)"
expect_eq "side's preDeploy hook ran once, on host 2 where side runs" 1 \
	"$(grep -c "^create $INST-side-predeploy-mark\$" "$TEST_TMP/events2")"
expect_eq "and not on host 1, the Cluster's first endpoint" 0 "$(grep -c "predeploy-mark" "$TEST_TMP/events1")"
expect_match "side's startup probe ran in its container on host 2 (docker exec there)" \
	"exec_start: /demo-node probe /q/health/startup $INST-side-0" "$(cat "$TEST_TMP/events2")"
expect_eq "no exec went to host 1" 0 "$(grep -c '^exec_' "$TEST_TMP/events1")"
# side's port is published on host 2's address alone: its readiness (apply converged) was probed there.
expect_eq "side answers at host 2's address $A2:$SP" 200 "$(http_code --max-time 2 "http://$A2:$SP/q/health/ready")"
expect_eq "and not on loopback" 000 "$(http_code --max-time 2 "http://127.0.0.1:$SP/q/health/ready")"
servers=$(grep -o 'server [0-9.]*:[0-9]*' "$NGX/$INST-auriga.conf" | sort | xargs)
want=$(printf 'server %s:%s\nserver %s:%s\n' "$A1" "$P1" "$A2" "$P2" | sort | xargs)
expect_eq "NGINX's upstream lists each replica at its endpoint's address and port" "$want" "$servers"
# auriga docker --endpoint reaches a policy's endpoint through its url and TLS folder.
out=$("$AURIGA_BIN" docker --policy-file "$POLICY" --endpoint d2 ping 2>&1)
expect_match "auriga docker --endpoint d2 ping speaks TLS to host 2" "^api 1\.[0-9]+ endpoint tcp://127\.0\.0\.1:$TPORT\$" "$out"
out=$("$AURIGA_BIN" docker --policy-file "$POLICY" --endpoint d2 ps --filter "label=auriga.io/managed-by=$INST" 2>&1)
expect_eq "auriga docker --endpoint d2 ps lists host 2's containers of the instance" \
	"$INST-api-1 $INST-side-0" "$(echo "$out" | awk '{ print $2 }' | sort | xargs)"
out=$("$AURIGA_BIN" docker --policy-file "$POLICY" --endpoint d9 ping 2>&1)
expect_eq "an endpoint the policy lacks: exit 1" 1 "$?"
expect_eq "and the error names it" "auriga docker: endpoint 'd9' is not listed in the operator's policy" "$out"
# A policy file named is read even when no --endpoint picks from it: a broken one is an error, not ignored.
printf 'endpoints: [oops\n' >"$TEST_TMP/broken-policy.yaml"
out=$("$AURIGA_BIN" docker --policy-file "$TEST_TMP/broken-policy.yaml" ping 2>&1)
expect_eq "a broken policy file without --endpoint: exit 1" 1 "$?"
expect_match "naming the file" "policy file '$TEST_TMP/broken-policy.yaml': 1 problem" "$out"
ids=""
fails=0
for _ in $(seq 1 20); do
	h=$(curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$LP/q/health/ready" | tr -d '\r')
	case $h in *" 200"*) ;; *) fails=$((fails + 1)) ;; esac
	ids="$ids $(echo "$h" | sed -n 's/^X-Node-Id: //Ip')"
done
expect_eq "twenty requests through NGINX, none failed" 0 "$fails"
expect_eq "both replicas answer through NGINX" "api-0 api-1" "$(echo $ids | tr ' ' '\n' | sort -u | xargs)"

done_testing
