#!/usr/bin/env bash
# progressDeadlineSeconds survives a restart: an apply that gives up part way through a rollout
# that never becomes ready leaves the rollout's last progress in the state file, and the next
# apply fails the deployment when the deadline counted from then passes, not a whole deadline
# after its own start.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance deadline
DEADLINE=24

run() { auriga_cmd "$@"; }

cat >"$SPECS/dl.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gapdl}
spec:
  progressDeadlineSeconds: $DEADLINE
  autoRollback: false
  template:
    image: auriga-demo-node:never-ready
    ports: [{name: http, containerPort: 9003, hostPort: $(free_port)}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1}
EOF

run apply --timeout-total 12 "$SPECS" >/dev/null 2>"$TEST_TMP/a1.err"
expect_eq "the first apply gives up before the deadline" 1 "$?"
rec=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["deployments"]["gapdl"].get("progress"); print(p["revision"][:12], p["at"]) if p else print("none")' \
	"$STATE/engine-$INST.json" 2>&1)
rev=$(docker ps -a --filter "label=auriga.io/managed-by=$INST" --format '{{.Label "auriga.io/revision"}}' | head -1)
expect_match "the state file keeps the rollout's last progress for its revision" "^${rev:0:12} [0-9]{13}$" "$rec"
at=${rec#* }

start=$(date +%s%3N)
out=$(run apply --timeout-total 60 "$SPECS" 2>"$TEST_TMP/a2.err")
rc=$?
end=$(date +%s%3N)
expect_eq "the second apply fails the deployment" 1 "$rc"
expect_match "on its progress deadline" "progress deadline of ${DEADLINE}s exceeded" "$out"
diag "last progress recorded at $at; second apply started $((start - at)) ms after it and took $((end - start)) ms"
check "the deadline counted from the recorded progress, not from the restart" \
	test "$((end - start))" -lt "$((DEADLINE * 1000 - (start - at) + 5000))"
check "and not before it" test "$end" -ge "$((at + DEADLINE * 1000))"

done_testing
