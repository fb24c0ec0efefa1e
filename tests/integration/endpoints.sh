#!/usr/bin/env bash
# run-tests: alone
# The Cluster's endpoint is the engine auriga drives: a Cluster naming an extra daemon's socket (an
# endpoint the operator's policy lists) puts its containers there and none on the default engine, for
# apply, plan and run alike; a tcp:// endpoint is reached with mutual TLS from its certPath folder
# (Docker's ca.pem, cert.pem, key.pem); an endpoint the policy does not list is refused at its line
# and nothing is created anywhere; a TLS folder missing a file is an error naming the endpoint.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"

need_images v1
engine_instance endpoints
MAIN=unix:///var/run/docker.sock
[ -n "${DOCKER_HOST:-}" ] && MAIN=$DOCKER_HOST

# Every command is bounded: an endpoint that cannot be reached must not hold the test up.
T=120

# cluster_on NAME: a Cluster whose endpoint is NAME; web REPLICAS: two demo nodes with no port and no probe
# (the extra hosts have no bridge), ready once running.
cluster_on() {
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n    - name: %s\n' "$1"
}
web() {
	printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: %s\n' "$1"
	printf '  progressDeadlineSeconds: 120\n  template:\n    image: auriga-demo-node:v1\n'
}

docker0_before=$(cat /sys/class/net/docker0/ifindex 2>/dev/null)
check "host 1 starts" host_start 1
check "the demo image is loaded into host 1" host_load 1 v1

POLICY=$TEST_TMP/policy.yaml
cat >"$POLICY" <<EOF
endpoints:
  - name: d1
    url: "${HOST_URL[1]}"
EOF
cluster_on d1 >"$SPECS/cluster.yaml"
web 2 >"$SPECS/web.yaml"

# apply: the Cluster's endpoint, not docker-host.
timeout $T "$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$SPECS" >"$TEST_TMP/apply.out" 2>&1
rc=$?
expect_eq "apply on the endpoint d1 converges" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 20 "$TEST_TMP/apply.out" | while read -r l; do diag "$l"; done
expect_eq "both replicas run on host 1" 2 "$(host_count "${HOST_URL[1]}" "$INST" running)"
# hosts_of URL: the auriga.io/endpoint label of each of the instance's containers at URL, sorted.
hosts_of() {
	docker -H "$1" ps -a --filter "label=auriga.io/managed-by=$INST" --format '{{.Label "auriga.io/endpoint"}}' |
		sort | xargs
}
expect_eq "each replica records its host: auriga.io/endpoint=d1" "d1 d1" "$(hosts_of "${HOST_URL[1]}")"
expect_eq "none is on the default engine" 0 "$(host_count "$MAIN" "$INST")"
timeout $T "$AURIGA_BIN" plan --instance "$INST" --state-dir "$STATE" --policy-file "$POLICY" "$SPECS" \
	>"$TEST_TMP/plan.out" 2>&1
expect_eq "plan reads host 1's containers: nothing to change" 0 "$?"

# run: the engine moves to the Cluster's endpoint when the specs name it.
web 3 >"$SPECS/web.yaml"
listen_port
run_start "$TEST_TMP/run.log" --instance "$INST" --state-dir "$STATE" --listen "127.0.0.1:$RUN_PORT" \
	--policy-file "$POLICY" --poll-interval 1s "$SPECS"
host_has_three() { [ "$(host_count "${HOST_URL[1]}" "$INST" running)" = 3 ]; }
await "run scales web to 3 on host 1" 120 host_has_three
expect_eq "run made none on the default engine" 0 "$(host_count "$MAIN" "$INST")"
expect_eq "the replica run made records its host too" "d1 d1 d1" "$(hosts_of "${HOST_URL[1]}")"
api_hosts() {
	curl -sf --max-time 5 "$RUN_URL/api/v1/status" |
		jq -r '.deployments[] | select(.name == "web") | [.instances[].host] | join(" ")'
}
api_hosts_d1() { [ "$(api_hosts)" = "d1 d1 d1" ]; }
await "/api/v1/status shows each replica's host (d1)" 60 api_hosts_d1
[ "$(api_hosts)" = "d1 d1 d1" ] || diag "hosts in the API: $(api_hosts)"
expect_match "run says which endpoint it drives" 'docker endpoint.*d1' "$(cat "$RUN_LOG")"
run_stop "run stops cleanly"

# An endpoint the policy does not list: refused at its line, nothing created anywhere.
INST2=$INST-refused
mkdir -p "$TEST_TMP/refused"
cluster_on d9 >"$TEST_TMP/refused/cluster.yaml"
web 1 >"$TEST_TMP/refused/web.yaml"
out=$(timeout $T "$AURIGA_BIN" apply --instance "$INST2" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$TEST_TMP/refused" 2>&1)
expect_eq "apply naming an unlisted endpoint exits 1" 1 "$?"
expect_match "the refusal names the file, line and field" \
	'cluster\.yaml:6:13: Cluster/c: spec\.endpoints\[0\]\.name: endpoint "d9" refused by the operator.s policy \(not listed in endpoints in [^ ]*policy\.yaml' \
	"$out"
expect_eq "nothing made on the default engine" 0 "$(host_count "$MAIN" "$INST2")"
expect_eq "nothing made on host 1" 0 "$(host_count "${HOST_URL[1]}" "$INST2")"

# A tcp:// endpoint: mutual TLS from its certPath folder.
TLS=$TEST_TMP/tls
check "TLS material is made" tls_material "$TLS" 127.0.0.1
PORT=$(free_port)
check "host 2 starts with TLS on tcp://127.0.0.1:$PORT" host_start 2 -H "tcp://127.0.0.1:$PORT" --tlsverify \
	--tlscacert "$TLS/ca.pem" --tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem"
check "the demo image is loaded into host 2" host_load 2 v1
cat >>"$POLICY" <<EOF
  - name: d2
    url: "tcp://127.0.0.1:$PORT"
    certPath: "$TLS/client"
EOF
INST3=$INST-tls
mkdir -p "$TEST_TMP/tls-specs"
cluster_on d2 >"$TEST_TMP/tls-specs/cluster.yaml"
web 1 >"$TEST_TMP/tls-specs/web.yaml"
timeout $T "$AURIGA_BIN" apply --instance "$INST3" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
	"$TEST_TMP/tls-specs" >"$TEST_TMP/tls.out" 2>&1
rc=$?
expect_eq "apply on the TLS endpoint d2 converges" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 20 "$TEST_TMP/tls.out" | while read -r l; do diag "$l"; done
expect_eq "its replica runs on host 2" 1 "$(host_count "${HOST_URL[2]}" "$INST3" running)"
expect_eq "none is on the default engine" 0 "$(host_count "$MAIN" "$INST3")"

# The same folder without key.pem: an error naming the endpoint and the file, at the policy's line.
mkdir -p "$TEST_TMP/partial"
cp "$TLS/client/ca.pem" "$TLS/client/cert.pem" "$TEST_TMP/partial/"
sed -i "s|certPath: \"$TLS/client\"|certPath: \"$TEST_TMP/partial\"|" "$POLICY"
out=$(timeout $T "$AURIGA_BIN" apply --instance "$INST3" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$TEST_TMP/tls-specs" 2>&1)
rc=$?
expect_eq "apply with a TLS folder missing key.pem exits 2" 2 "$rc"
expect_match "the error names the endpoint and the missing file at the policy's line" \
	'policy\.yaml:6:15: endpoints\[1\]\.certPath: endpoint "d2": TLS folder "[^"]*partial" has no readable key\.pem' \
	"$out"
expect_eq "host 2 still runs the one replica" 1 "$(host_count "${HOST_URL[2]}" "$INST3")"
expect_eq "the main engine's docker0 is the one it had (the extra hosts took none of it)" \
	"$docker0_before" "$(cat /sys/class/net/docker0/ifindex 2>/dev/null)"

done_testing
