#!/usr/bin/env bash
# run-tests: alone
# Endpoints that cannot be used, each named in a clear error with nothing touched on the others: a
# daemon over mutual TLS whose certificate is for another host (the same daemon and material reached
# at the host the certificate names serves), and a daemon that speaks an older Docker API than
# auriga needs (a fake: a real one cannot be made to). A deployment with one replica on each
# endpoint gets no container on the good one; `plan` and `apply` fail naming the endpoint and why.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"

need_images v1
engine_instance hosterr

# Host 1: one daemon over mutual TLS on two loopback addresses, its certificate for 127.0.0.2 only.
TLS=$TEST_TMP/tls
mkdir -p "$TLS"
check "TLS material for 127.0.0.2 is made" tls_material "$TLS" 127.0.0.2
TPORT=$(free_port)
check "host 1 starts (TLS on 127.0.0.1 and 127.0.0.2)" host_start 1 --tlsverify --tlscacert "$TLS/ca.pem" \
	--tlscert "$TLS/server-cert.pem" --tlskey "$TLS/server-key.pem" \
	-H "tcp://127.0.0.1:$TPORT" -H "tcp://127.0.0.2:$TPORT"
# Host 2: a good daemon over its socket.
check "host 2 starts" host_start 2
check "the demo image is loaded into host 2" host_load 2 v1
# Host 3: an engine that speaks API 1.30 at most.
OLD_SOCK=$TEST_TMP/old.sock
python3 "$TOP/tests/fakes/fake_dockerd.py" "$OLD_SOCK" --api 1.30 >"$TEST_TMP/fake.log" 2>&1 &
FAKE_PID=$!
on_exit "kill $FAKE_PID 2>/dev/null"
check "the old engine answers" wait_for 20 test -S "$OLD_SOCK"

POLICY=$TEST_TMP/policy.yaml
cat >"$POLICY" <<P
endpoints:
  - {name: tls-right, url: "tcp://127.0.0.2:$TPORT", certPath: "$TLS/client"}
  - {name: tls-wrong, url: "tcp://127.0.0.1:$TPORT", certPath: "$TLS/client"}
  - {name: good, url: "${HOST_URL[2]}"}
  - {name: old, url: "unix://$OLD_SOCK"}
P
# specs FIRST: a Cluster of FIRST and good, and a deployment with one replica on each.
specs() {
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n'
	printf '    - {name: %s}\n    - {name: good}\n---\n' "$1"
	cat <<Y
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: nodes}
spec:
  role: validator
  replicas: 2
  progressDeadlineSeconds: 60
  template:
    image: auriga-demo-node:v1
Y
}
on_good() { docker -H "${HOST_URL[2]}" ps -aq --filter "label=auriga.io/managed-by=$INST" | wc -l; }
run() { timeout 120 "$AURIGA_BIN" "$@" --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" --docker-timeout 5s; }

# The certificate's own host works: plan reaches both endpoints and places a replica on each.
specs tls-right >"$SPECS/all.yaml"
run plan --json "$SPECS" >"$TEST_TMP/plan.json" 2>"$TEST_TMP/plan.err"
expect_eq "plan with the certificate's host exits 2 (changes)" 2 "$?"
expect_eq "and places a replica on each endpoint" "tls-right good" \
	"$(jq -r '[.phases[].deployments[].actions[].host] | sort | reverse | join(" ")' "$TEST_TMP/plan.json")"

# refused FIRST WHAT WHY: with a Cluster of FIRST and good, plan fails at once and apply holds, each
# naming FIRST and WHY (a regular expression); nothing is made on the good endpoint.
refused() {
	local out
	specs "$1" >"$SPECS/all.yaml"
	out=$(run plan "$SPECS" 2>&1)
	expect_eq "plan with $2 fails (exit 1)" 1 "$?"
	expect_match "naming the endpoint and why" "$1.*$3" "$out"
	echo "$out" >>"$TEST_TMP/errors.txt"
	run apply --timeout-total 15 "$SPECS" >"$TEST_TMP/apply.out" 2>"$TEST_TMP/apply.err"
	expect_eq "apply with $2 fails (exit 1)" 1 "$?"
	out=$(tail -n 1 "$TEST_TMP/apply.out")
	expect_match "its last line names the endpoint and why, the breaker open or not" \
		"timed out before convergence: docker: endpoint '$1' does not answer: .*$3" "$out"
	echo "$out" >>"$TEST_TMP/errors.txt"
	expect_eq "no container on the good endpoint" 0 "$(on_good)"
}
# The same daemon and material at a host the certificate does not name.
refused tls-wrong "a certificate for another host" "(certificate|subject name|host name)"
# An engine older than auriga needs.
refused old "an engine of API 1.30" "speaks API 1\.30 at most; auriga needs 1\.[0-9]+ or newer"

tail -n 40 "$TEST_TMP/errors.txt" | while read -r l; do diag "$l"; done
done_testing
