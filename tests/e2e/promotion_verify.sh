#!/usr/bin/env bash
# Promotion gates that require staging's verification: one specs repository, a base and two
# Environments, two `auriga run` instances on one engine, both routing through one NGINX (each its
# own file and upstream names there, and its own Service port) and each publishing its own host
# port (a patch of the base's port, by its name). The deployment "web" is released blue-green, its
# pre-promotion analysis an integration Job (the demo node's probe against the new slot, judged by
# its exit code) and a load-test Job (20 transactions one after another, p95_ms and error_rate
# printed, failing at p95 >= 500 ms and errors >= 1 %). Staging's note lists each verification with
# its value and verdict; only Passed opens production's gate.
# - The first release ran no analysis (Skipped): production holds it, a plain approval does not open
#   the gate, `auriga approve --unverified` does, and the notes record who let it through.
# - A commit with a good image, approved in production before staging has even seen it (staging is
#   stopped, a wrong token is refused and records nothing): the approval is a note under
#   refs/notes/auriga-approvals-production on the remote, production is killed (-9) and restarted,
#   and once staging verifies the commit production reaches it blue-green with no new approval.
# - A commit that changes only the load test's threshold: staging verifies the release again and
#   the new threshold fails it; production stops.
# - A commit whose handler answers in 700 ms breaks the p95 threshold at staging and stops there,
#   and production's note says which figure did it while its fleet stays as it was.
# - A slow commit promoted in full at staging while its load test runs: staging says Skipped
#   (promoted in full), and production holds it, approval or not.
# An approval of a commit the repository does not have is a 404.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 v3
if ! docker image inspect auriga-postgres:15 >/dev/null 2>&1; then
	diag "image auriga-postgres:15 is missing (hack/build-images.sh builds it)"
	fail "test images present"
	exit 1
fi
ST=it-pvst-$$
PR=it-pvpr-$$
TOKEN=$TEST_TMP/token
# The instances' shared secret: an approval note carries its MAC.
KEY=$TEST_TMP/signing-key
printf 'signing-key-%s-0123456789\n' "$$" >"$KEY"
ST_PORT=$(free_port)
PR_PORT=$(free_port)
ST_LP=$(free_port)
PR_LP=$(free_port)
# Two consecutive free host ports per environment: one replica in each of two slots.
ST_HP=$(free_ports 2) || { fail "two free host ports"; exit 1; }
PR_HP=$(free_ports 2) || { fail "two free host ports"; exit 1; }
specs_repo
on_exit "docker_cleanup_label auriga.io/managed-by=$ST; docker_cleanup_label auriga.io/managed-by=$PR"
on_exit "docker_cleanup_label auriga.io/job-of=$ST; docker_cleanup_label auriga.io/job-of=$PR"
printf '# name: dana\nverify-%s-secret\n' "$$" >"$TOKEN"
chmod 0600 "$TOKEN"

# One NGINX for both environments: each instance writes its own file into its folder, the
# Cluster's configPath behind the instance's name, its upstreams named so too, so the two Services
# named "web" do not collide.
NGX=$TEST_TMP/nginx
mkdir -p "$NGX"
"$TOP/hack/nginx-conf.sh" "$NGX" "$NGX/*auriga.conf" >"$NGX/nginx.conf"
nginx -e "$NGX/error.log" -c "$NGX/nginx.conf" || { fail "nginx starts"; exit 1; }
on_exit "kill \$(cat $NGX/nginx.pid)"
reload() { echo "[nginx, -e, $NGX/error.log, -c, $NGX/nginx.conf, -s, reload]"; }
cat >"$TEST_TMP/policy.yaml" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  reloadCommand:
    - $(reload)
  listenAddress: [127.0.0.1]
EOF
export AURIGA_POLICY_FILE=$TEST_TMP/policy.yaml

# base IMAGE LATENCY_MS [P95_FAIL_MS]: the shared base, the load test failing at p95 >= P95_FAIL_MS
# (500 when not given).
base() {
	mkdir -p "$WORK/base"
	cat >"$WORK/base/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: verify}
spec:
  router:
    type: NGINX
    configPath: $NGX/auriga.conf
    reloadCommand: $(reload)
    listenAddress: 127.0.0.1
EOF
	cat >"$WORK/base/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  role: api
  replicas: 1
  progressDeadlineSeconds: 150
  template:
    image: $1
    env: {NODE_TYPE: api, DEMO_LATENCY_MS: "$2"}
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 2}
  strategy:
    type: BlueGreen
    blueGreen:
      activeService: web
      prePromotionAnalysis: {templates: [{templateName: verify}]}
      postPromotionWindowSeconds: 2
      scaleDownDelaySeconds: 1
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: web}
spec: {deployment: web, port: $ST_LP, targetPort: http}
EOF
	cat >"$WORK/base/verify.yaml" <<EOF
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: verify}
spec:
  metrics:
    - name: integration
      failureCondition: {operator: "!=", value: 0}
      provider:
        job: {name: integration}
    - name: p95
      failureCondition: {operator: ">=", value: ${3:-500}}
      provider:
        job: {name: loadtest, figure: p95_ms}
    - name: errors
      failureCondition: {operator: ">=", value: 0.01}
      provider:
        job: {name: loadtest, figure: error_rate}
EOF
	cat >>"$WORK/base/verify.yaml" <<'EOF'
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: integration}
spec:
  activeDeadlineSeconds: 60
  template:
    image: auriga-demo-node:v1
    command: [/demo-node, probe, /q/health/ready, "-", "-"]
---
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
        n=20 bad=0
        for i in $(seq $n); do
          s=$(date +%s%N)
          if exec 3<>"/dev/tcp/$AURIGA_PREVIEW_HOST/$AURIGA_PREVIEW_PORT"; then
            printf 'POST /api/v11/transactions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' >&3
            read -r _ code _ <&3
            exec 3>&-
          else
            code=000
          fi
          case $code in 2??) ;; *) bad=$((bad + 1)) ;; esac
          echo $(( ($(date +%s%N) - s) / 1000000 )) >>/tmp/ms
        done
        echo "requests=$n"
        echo "p95_ms=$(sort -n /tmp/ms | awk '{ v[NR] = $1 } END { i = int(NR * 0.95 + 0.999); print v[i] }')"
        echo "error_rate=$(awk -v b=$bad -v n=$n 'BEGIN { printf "%.4f", b / n }')"
EOF
}

# environment NAME HOSTPORT [EXTRA]: environments/NAME over the base, its own host port (a patch of
# the base's port http by name) and EXTRA patch lines of the Cluster and the Service.
environment() {
	mkdir -p "$WORK/environments/$1"
	cat >"$WORK/environments/$1/environment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Environment
metadata: {name: $1}
spec:
  resources: [../../base]${4:+
  promotion: $4}
  patches:
    - target: {kind: Deployment, name: web}
      patch:
        spec:
          template:
            ports: [{name: http, hostPort: $2}]
$3
EOF
}

note() { git --git-dir="$REMOTE" notes --ref="auriga-$1" show "$2" 2>/dev/null; }
note_says() { note "$1" "$2" | grep -q -- "$3"; }
# note_matches ENV COMMIT ERE: the note on one line, spaces squeezed, matches ERE.
note_matches() { note "$1" "$2" | tr '\n' ' ' | tr -s ' ' | grep -Eq -- "$3"; }
# approval COMMIT: production's approval of COMMIT, as the remote has it.
approval() { git --git-dir="$REMOTE" notes --ref=auriga-approvals-production show "$1" 2>/dev/null; }
approval_says() { approval "$1" | grep -q -- "$2"; }
# analysis_running INSTANCE: a verification Job of INSTANCE runs now.
analysis_running() { [ -n "$(docker ps -q --filter "label=auriga.io/job-of=$1" --filter label=auriga.io/analysis)" ]; }
# no_analysis INSTANCE: no container of a verification Job of INSTANCE is left, running or not (its
# Job has ended, been read and removed).
no_analysis() { [ -z "$(docker ps -aq --filter "label=auriga.io/job-of=$1" --filter label=auriga.io/analysis)" ]; }
# version PORT: the version answering one transaction through NGINX on PORT.
version() {
	curl -s --max-time 10 -o /dev/null -D - -X POST "http://127.0.0.1:$1/api/v11/transactions" | tr -d '\r' |
		sed -n 's/^X-Node-Version: //Ip'
}
version_is() { [ "$(version "$1")" = "$2" ]; }
running() {
	docker ps --filter "label=auriga.io/managed-by=$1" --filter "label=auriga.io/deployment=web" \
		--format '{{.Image}}' | sort | tr '\n' ' ' | sed 's/ $//'
}
running_is() { [ "$(running "$1")" = "$2" ]; }
start() {
	run_start "$TEST_TMP/$1.log" --repo "file://$REMOTE" --state-dir "$TEST_TMP/state-$1" --instance "$1" \
		--environment "$2" --listen "127.0.0.1:$3" --api-token-file "$TOKEN" --signing-key-file "$KEY" --poll-interval 1s
}
approve() { "$AURIGA_BIN" approve --listen "127.0.0.1:$PR_PORT" --api-token-file "$TOKEN" "$@" 2>&1; }
await_failed() {
	diag "staging: $(note staging "${cur:-}" | head -n 1) / production: $(note production "${cur:-}" | head -n 1)"
	tail -n 8 "$TEST_TMP/$ST.log" | while read -r l; do diag "staging: $l"; done
}

base auriga-demo-node:v1 0
environment staging "$ST_HP" ""
environment production "$PR_HP" "    - target: {kind: Service, name: web}
      patch: {spec: {port: $PR_LP}}" "{after: staging, approval: required}"
c1=$(commit "v1")
cur=$c1
check "the specs validate for staging" "$AURIGA_BIN" validate --environment staging "$WORK"
check "and for production" "$AURIGA_BIN" validate --environment production "$WORK"

# --- v1: the first release in both (nothing served before it: its verification is Skipped) -------
start "$ST" staging "$ST_PORT"
ST_PID=$RUN_PID
start "$PR" production "$PR_PORT"
PR_PID=$RUN_PID
RUN_LOG=$TEST_TMP/$ST.log
await "staging brings v1 to Healthy" 180 note_says staging "$c1" "^auriga: Healthy"
check "staging's note names the load test, Skipped on a first release, and why" note_matches staging "$c1" \
	"verdict: Skipped reason: '?the release ran no analysis: nothing served before it"
expect_eq "NGINX answers from staging's v1 on staging's port" v1 "$(version "$ST_LP")"
RUN_LOG=$TEST_TMP/$PR.log
await "production holds v1: its verification was skipped at staging, and says which" 60 note_says production "$c1" \
	"^auriga: Waiting.*stopped at staging: web: integration skipped (the release ran no analysis"
check "production's note says how to let it through" note_says production "$c1" \
	"only a verification that Passed there opens the gate (auriga approve --unverified $c1"
code=$(http_code -X POST -H "Authorization: Bearer verify-$$-secret" \
	"http://127.0.0.1:$PR_PORT/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve")
expect_eq "an approval of a commit the specs repository does not have: 404" 404 "$code"
out=$(approve 0123456789abcdef0123456789abcdef01234567)
expect_match "auriga approve says why" "not in the specs repository" "$out"
out=$(approve "$c1")
expect_match "a plain approval of v1 is taken" "approve: $c1: accepted by the controller" "$out"
await "production notes v1 again, with its approval" 60 note_says production "$c1" "approvedBy: dana"
check "and does not open the gate over what staging did not verify" note_says production "$c1" \
	"^auriga: Waiting.*stopped at staging: web: integration skipped"
expect_eq "production made nothing" "" "$(running "$PR")"
out=$(approve --unverified --reason "first release" "$c1")
expect_match "v1 let through unverified" "approve: $c1: accepted by the controller" "$out"
await "production brings v1 to Healthy" 180 note_says production "$c1" "^auriga: Healthy"
check "production's note records who let it through unverified, and what was not verified" note_says production \
	"$c1" "let through unverified by dana: web: integration skipped"
await "the approvals ref on the remote records it on the commit" 30 approval_says "$c1" '"unverifiedBy": "dana"'
check "with the first approval" approval_says "$c1" '"approvedBy": "dana"'
check "for production" approval_says "$c1" '"environment": "production"'
check "and the reason, as the one given with --unverified" approval_says "$c1" '"unverifiedReason": "first release"'
expect_eq "NGINX answers from production's v1 on production's port" v1 "$(version "$PR_LP")"

# --- v2, a good commit: approved in production before staging saw it; production restarted --------
RUN_PID=$ST_PID
run_stop "staging stops for a while (v2 waits for it)"
base auriga-demo-node:v2 0
c2=$(commit "v2")
cur=$c2
RUN_LOG=$TEST_TMP/$PR.log
await "production holds v2: staging has no note on it" 60 note_says production "$c2" \
	"waiting for staging: it has no note on this commit yet"
code=$(http_code -X POST -H "Authorization: Bearer not-the-token" "http://127.0.0.1:$PR_PORT/api/v1/commits/$c2/approve")
expect_eq "an approval of v2 with a wrong token: 401" 401 "$code"
sleep 2
expect_eq "it recorded nothing" "" "$(approval "$c2")"
check "and production still holds v2, waiting for staging" note_says production "$c2" "waiting for staging"
out=$(approve "$c2")
expect_match "v2 approved before staging verified it" "approve: $c2: accepted by the controller" "$out"
await "the approval is a note on v2 under refs/notes/auriga-approvals-production on the remote" 30 \
	approval_says "$c2" '"approvedBy": "dana"'
check "naming the controller that took it" approval_says "$c2" "\"instance\": \"$PR\""
kill -9 "$PR_PID"
wait "$PR_PID" 2>/dev/null
start "$PR" production "$PR_PORT"
PR_PID=$RUN_PID
start "$ST" staging "$ST_PORT"
ST_PID=$RUN_PID
RUN_LOG=$TEST_TMP/$ST.log
await "staging brings v2 to Healthy after its verification" 300 note_says staging "$c2" "^auriga: Healthy"
n=$(note staging "$c2")
diag "$(printf '%s\n' "$n" | sed -n '/verification:/,/startedAt/p' | tr '\n' ' ')"
expect_match "staging's note: the integration Job passed" \
	'- metric: integration +job: integration +failIf: .!= 0. +verdict: Passed' "$(printf '%s' "$n" | tr '\n' ' ' | tr -s ' ')"
expect_match "staging's note: the load test's p95 passed, with its figure and threshold" \
	'- metric: p95 +job: loadtest +figure: p95_ms +value: "[0-9]+" +failIf: .>= 500. +verdict: Passed' \
	"$(printf '%s' "$n" | tr '\n' ' ' | tr -s ' ')"
expect_match "staging's note: the load test's error rate passed" \
	'- metric: errors +job: loadtest +figure: error_rate +value: "0" +failIf: .>= 0.01. +verdict: Passed' \
	"$(printf '%s' "$n" | tr '\n' ' ' | tr -s ' ')"
expect_eq "staging answers from v2" v2 "$(version "$ST_LP")"
RUN_LOG=$TEST_TMP/$PR.log
await "production, killed and restarted since, brings v2 to Healthy on the approval Git kept" 300 \
	note_says production "$c2" "^auriga: Healthy"
check "production's note says who approved it" note_says production "$c2" "approvedBy: dana"
expect_no_match "nobody was asked again" "waiting for approval" "$(note production "$c2")"
check "production released it blue-green" note_says production "$c2" "strategy: BlueGreen"
await "NGINX answers from production's v2 on production's port" 30 version_is "$PR_LP" v2
await "production runs v2 alone once the old slot is gone" 60 running_is "$PR" auriga-demo-node:v2

# --- only the load test's threshold changes: staging verifies again, and the new threshold decides -
base auriga-demo-node:v2 0 0
ct=$(commit "the load test fails at p95 >= 0 ms")
cur=$ct
RUN_LOG=$TEST_TMP/$ST.log
await "staging verifies the unchanged release again under the new threshold: p95 Failed" 180 note_matches staging \
	"$ct" '- metric: p95 job: loadtest figure: p95_ms value: "[0-9]+" failIf: .>= 0. verdict: Failed'
# The run stops at the first metric that fails: the integration Job, started at the same moment,
# passed when it ended first, or was not judged (Inconclusive) when p95 failed first; never Failed.
check "the integration Job passed again, or was left undecided when p95 failed first" note_matches staging "$ct" \
	'- metric: integration job: integration failIf: .!= 0. verdict: (Passed|Inconclusive)'
RUN_LOG=$TEST_TMP/$PR.log
await "production's note says it stopped at staging, on the new threshold" 60 note_says production "$ct" \
	"^auriga: Waiting.*stopped at staging: web: loadtest p95_ms=[0-9]* failed (fails at >= 0)"
expect_eq "production still answers from v2" v2 "$(version "$PR_LP")"

# --- v3 answers in 700 ms: its load test breaks p95 at staging, production does not move ---------
base auriga-demo-node:v3 700
c3=$(commit "v3, slow")
cur=$c3
RUN_LOG=$TEST_TMP/$ST.log
await "staging does not take the slow v3" 300 note_says staging "$c3" "^auriga: \(RolledBack\|Failed\|Degraded\)"
n=$(note staging "$c3" | tr '\n' ' ' | tr -s ' ')
expect_match "staging's note: the load test's p95 failed, with the figure" \
	'- metric: p95 +job: loadtest +figure: p95_ms +value: "[0-9]+" +failIf: .>= 500. +verdict: Failed' "$n"
expect_eq "staging answers from v2 again" v2 "$(version "$ST_LP")"
RUN_LOG=$TEST_TMP/$PR.log
await "production's note says it stopped at staging, and which figure" 60 note_says production "$c3" \
	"^auriga: Waiting.*stopped at staging: its note on this commit says [A-Za-z]*; web: loadtest p95_ms=[0-9]* failed (fails at >= 500)"
diag "$(note production "$c3" | head -n 1)"
out=$(approve "$c3")
expect_match "an approval of v3 is taken" "accepted by the controller" "$out"
sleep 3
check "and does not move it past the failed verification" note_says production "$c3" "stopped at staging"
expect_eq "production still answers from v2" v2 "$(version "$PR_LP")"
expect_eq "production still runs v2 alone" "auriga-demo-node:v2" "$(running "$PR")"

# --- v3 at 650 ms promoted in full at staging while its load test runs: Skipped, production holds --
base auriga-demo-node:v3 650
c4=$(commit "v3 at 650 ms, promoted in full at staging")
cur=$c4
RUN_LOG=$TEST_TMP/$ST.log
await "staging's verification of it is under way" 180 analysis_running "$ST"
out=$("$AURIGA_BIN" promote --full --listen "127.0.0.1:$ST_PORT" --api-token-file "$TOKEN" web 2>&1)
expect_match "staging promotes it in full" "promote: web: accepted by the controller" "$out"
await "staging brings it to Healthy" 120 note_says staging "$c4" "^auriga: Healthy"
check "staging's note: its verification Skipped, promoted in full" note_matches staging "$c4" \
	"- metric: p95 job: loadtest figure: p95_ms failIf: .>= 500. verdict: Skipped reason: promoted in full"
RUN_LOG=$TEST_TMP/$PR.log
await "production's note says it stopped at staging, which verification was skipped and why it holds" 60 \
	note_says production "$c4" \
	"^auriga: Waiting.*stopped at staging: web: integration skipped (promoted in full).*only a verification that Passed"
out=$(approve "$c4")
expect_match "an approval of it is taken" "accepted by the controller" "$out"
await "production notes it again, with its approval" 60 note_says production "$c4" "approvedBy: dana"
check "and does not move it past the skipped verification" note_says production "$c4" "^auriga: Waiting.*stopped at staging"
expect_eq "production still answers from v2" v2 "$(version "$PR_LP")"
expect_eq "production still runs v2 alone" "auriga-demo-node:v2" "$(running "$PR")"
RUN_LOG=$TEST_TMP/$ST.log
await "the verification Job the full promotion skipped ends, and its container goes" 120 no_analysis "$ST"

RUN_PID=$ST_PID
run_stop "staging stops with status 0"
RUN_PID=$PR_PID
run_stop "production stops with status 0"
check "no verification Job container is left" \
	test -z "$(docker ps -aq --filter "label=auriga.io/job-of=$ST")$(docker ps -aq --filter "label=auriga.io/job-of=$PR")"
done_testing
