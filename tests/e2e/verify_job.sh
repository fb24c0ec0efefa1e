#!/usr/bin/env bash
# Verification Jobs as analysis: a blue-green release whose pre-promotion analysis is a load-test
# Job (bash on the PostgreSQL image, POSTing transactions to the new slot and printing p95_ms= and
# error_rate= lines), judged against the guide's thresholds (p95 under 500 ms, errors under 1 %).
# A version answering in a few milliseconds is promoted; one answering in 700 ms is stopped by the
# p95 figure and rolled back, the reason (the figure against its threshold) in the status, and
# NGINX keeps answering from the stable slot. The same Job as a canary's analysis step stops a slow
# version at 50 % and promotes a fast one. Through `auriga apply` and a real NGINX.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=verifyapi$$
SPECS=$FLEET_SPECS
TRAFFIC_CLUSTER=verify
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/traffic-lib.bash"
if ! docker image inspect auriga-postgres:15 >/dev/null 2>&1; then
	diag "image auriga-postgres:15 is missing (hack/build-images.sh builds it)"
	fail "test images present"
	exit 1
fi

# The load test: up to 40 transactions, one after another, each timed; p95 and the error rate
# printed. Once 3 of them took 500 ms or more the p95 of 40 can no longer be under 500: it stops
# there and prints the figures of those it sent (a slow version is judged in seconds, not 40 x 700 ms).
cat >"$SPECS/jobs.yaml" <<'EOF'
apiVersion: auriga.io/v1
kind: Job
metadata: {name: loadtest}
spec:
  activeDeadlineSeconds: 90
  template:
    image: auriga-postgres:15
    command:
      - bash
      - -c
      - |
        n=0 bad=0 slow=0
        while [ $n -lt 40 ] && [ $slow -lt 3 ]; do
          n=$((n + 1))
          s=$(date +%s%N)
          if exec 3<>"/dev/tcp/$AURIGA_PREVIEW_HOST/$AURIGA_PREVIEW_PORT"; then
            printf 'POST /api/v11/transactions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' >&3
            read -r _ code _ <&3
            exec 3>&-
          else
            code=000
          fi
          case $code in 2??) ;; *) bad=$((bad + 1)) ;; esac
          ms=$(( ($(date +%s%N) - s) / 1000000 ))
          [ $ms -lt 500 ] || slow=$((slow + 1))
          echo $ms >>/tmp/ms
        done
        echo "requests=$n"
        echo "p95_ms=$(sort -n /tmp/ms | awk '{ v[NR] = $1 } END { i = int(NR * 0.95 + 0.999); print v[i] }')"
        echo "error_rate=$(awk -v b=$bad -v n=$n 'BEGIN { printf "%.4f", b / n }')"
EOF
cat >"$SPECS/analysis.yaml" <<EOF
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: $DEP-load}
spec:
  metrics:
    - name: p95
      failureCondition: {operator: ">=", value: 500}
      provider:
        job: {name: loadtest, figure: p95_ms}
    - name: errors
      failureCondition: {operator: ">=", value: 0.01}
      provider:
        job: {name: loadtest, figure: error_rate}
EOF

BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      prePromotionAnalysis: {templates: [{templateName: $DEP-load}]}
      postPromotionWindowSeconds: 2
      scaleDownDelaySeconds: 1"
CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 50
        - analysis: {templates: [{templateName: $DEP-load}]}"

# write_bg IMAGE [LATENCY_MS [STRATEGY]]: the deployment, two replicas on a network of their own,
# released blue-green (or by STRATEGY) with the load test as its analysis.
write_bg() {
	cat >"$SPECS/deployment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  role: api
  replicas: 2
  progressDeadlineSeconds: 150
  template:
    image: $1
    env: {NODE_TYPE: api, DEMO_LATENCY_MS: "${2:-0}"}
    ports: [{name: http, containerPort: 9003, hostPort: $HP}]
    network: verifynet
  probes:
    readiness:
      httpGet: {path: /q/health/ready, port: http}
      periodSeconds: 1
      timeoutSeconds: 2
      failureThreshold: 2
  strategy:
${3:-$BLUEGREEN}
EOF
}
apply() { auriga_engine apply --timeout-total 240 "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }

# --- the first release: v1 ---------------------------------------------------------------------------
write_bg auriga-demo-node:v1
check "the specs with a Job metric validate" "$AURIGA_BIN" validate "$SPECS"
apply
expect_eq "the first release: NGINX answers from v1" v1 "$(version)"

# --- v2 answers at once: its load test passes, it is promoted ---------------------------------------
write_bg auriga-demo-node:v2
: >"$TEST_TMP/apply.err"
apply
rc=$?
expect_eq "a fast v2: apply reports success" 0 "$rc"
expect_eq "a fast v2: promoted, NGINX answers from v2" v2 "$(version)"
passed=$(grep -c 'msg="verification job passed"' "$TEST_TMP/apply.err")
diag "$(grep 'msg="verification job passed"' "$TEST_TMP/apply.err" | grep -o 'message=.*' | head -2)"
check "a fast v2: both figures' Jobs ran against it and passed" test "$passed" -ge 2
check "a fast v2: the analysis decided on the figures (p95 under 500)" \
	grep -q 'msg="analysis decided".*result=Successful.*p95 = [0-9]' "$TEST_TMP/apply.err"

# --- v3 answers in 700 ms: p95 over 500, rolled back ------------------------------------------------
write_bg auriga-demo-node:v3 700
: >"$TEST_TMP/apply.err"
apply
rc=$?
expect_eq "a slow v3: apply reports the rollback" 1 "$rc"
reason=$(grep -h 'analysis decided' "$TEST_TMP/apply.err" | tail -1)
diag "$reason"
expect_match "a slow v3: the analysis failed on p95 against 500" 'result=Failed.*p95 = [0-9]+ >= 500' "$reason"
expect_match "a slow v3: the reason is in the status" 'p95 = [0-9]+ >= 500' "$(grep -h 'rolled back\|RolledBack\|failed' "$TEST_TMP/apply.out" | tail -3)"
expect_eq "a slow v3: NGINX still answers from v2" v2 "$(version)"
expect_eq "a slow v3: only v2 runs" "auriga-demo-node:v2 auriga-demo-node:v2" "$(images)"
# --- the same Job as a canary's analysis step -----------------------------------------------------------
# Another revision than the blue-green one that failed (a failed revision is not tried again).
write_bg auriga-demo-node:v3 750 "$CANARY"
: >"$TEST_TMP/apply.err"
apply
rc=$?
expect_eq "canary, a slow v3: apply reports the rollback" 1 "$rc"
reason=$(grep -h 'analysis decided' "$TEST_TMP/apply.err" | tail -1)
diag "$reason"
expect_match "canary, a slow v3: its analysis step failed on p95 against 500" 'result=Failed.*p95 = [0-9]+ >= 500' "$reason"
expect_eq "canary, a slow v3: NGINX answers from v2 again" v2 "$(version)"
write_bg auriga-demo-node:v3 0 "$CANARY"
: >"$TEST_TMP/apply.err"
apply
rc=$?
expect_eq "canary, a fast v3: apply reports success" 0 "$rc"
expect_eq "canary, a fast v3: promoted, NGINX answers from v3" v3 "$(version)"
check "canary, a fast v3: its analysis step passed on the Job's figures" \
	grep -q 'msg="analysis decided".*result=Successful.*p95 = [0-9]' "$TEST_TMP/apply.err"
check "no verification Job container is left" test -z "$(docker ps -aq --filter "label=auriga.io/analysis=$DEP")"

done_testing
