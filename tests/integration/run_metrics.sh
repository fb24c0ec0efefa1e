#!/usr/bin/env bash
# What `auriga run` shows on /metrics while it really deploys: Docker call latencies, Git fetches
# and note pushes, probe results, the circuit state, and the rollout counters through a first
# rollout, an upgrade and an upgrade that fails and is rolled back; promtool accepts the text.
. "$(dirname "$0")/../lib.sh"

for tag in v1 v2 never-ready; do
	if ! docker image inspect "auriga-demo-node:$tag" >/dev/null 2>&1; then
		diag "image auriga-demo-node:$tag is missing (hack/build-images.sh builds it)"
		fail "test images present"
		exit 1
	fi
done

INST=it-metrics-$$
DEP=mtr$$
REMOTE=$TEST_TMP/remote.git
WORK=$TEST_TMP/work
port=$(free_port)
url=http://127.0.0.1:$port

git init -q --bare -b main "$REMOTE"
git init -q -b main "$WORK"
git -C "$WORK" remote add origin "$REMOTE"

# write_specs IMAGE: the cluster and one deployment of two replicas running IMAGE.
write_specs() {
	cat >"$WORK/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: it-metrics}
spec: {}
EOF
	cat >"$WORK/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 2
  progressDeadlineSeconds: 6
  template:
    image: $1
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
}

# push MESSAGE: commits the work tree and pushes it to the remote auriga follows.
push() {
	git -C "$WORK" add -A
	git -C "$WORK" -c user.name=t -c user.email=t@example.com commit -qm "$1"
	git -C "$WORK" push -q origin main
}

write_specs auriga-demo-node:v1
push "v1"

"$AURIGA_BIN" run --repo "$REMOTE" --state-dir "$TEST_TMP/state" --instance "$INST" \
	--extra-labels "$TEST_LABEL" --listen "127.0.0.1:$port" --poll-interval 1s \
	>"$TEST_TMP/log" 2>&1 &
pid=$!
on_exit "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"

scrape() { curl -sf --max-time 5 "$url/metrics" >"$TEST_TMP/metrics"; }
# value SERIES: the value of one exact series (name and labels as rendered), or 0 when absent.
value() {
	scrape >/dev/null 2>&1
	awk -v s="$1" 'index($0, s " ") == 1 { v = $NF } END { print (v == "" ? 0 : v) }' "$TEST_TMP/metrics"
}
positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }
# reaches SERIES N: the series' value is at least N now.
reaches() { awk -v v="$(value "$1")" -v n="$2" 'BEGIN { exit !(v >= n) }'; }
# await DESC SECONDS CMD...: check that CMD comes true within SECONDS; the log's tail when not.
await() {
	local desc=$1 secs=$2
	shift 2
	if wait_for "$secs" "$@"; then
		ok "$desc"
	else
		fail "$desc"
		tail -n 15 "$TEST_TMP/log" | while read -r l; do diag "$l"; done
	fi
}

started="auriga_rollouts_started_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
succeeded="auriga_rollouts_succeeded_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
rolled_back="auriga_rollouts_rolled_back_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
# images: the images the deployment's containers run, one line each, sorted and unique.
images() { docker ps -a --filter "label=auriga.io/deployment=$DEP" --filter "label=$TEST_LABEL" --format '{{.Image}}' | sort -u; }
healthy="auriga_deployment_phase{deployment=\"$DEP\",phase=\"Healthy\"}"

# --- the first rollout ---------------------------------------------------------------------
await "the first rollout is counted as succeeded" 60 reaches "$succeeded" 1
expect_eq "one rollout started" 1 "$(value "$started")"
expect_eq "the deployment's phase is Healthy" 1 "$(value "$healthy")"
expect_eq "two replicas ready" 2 "$(value "auriga_deployment_replicas_ready{deployment=\"$DEP\"}")"
check "reconcile passes were timed" positive "$(value 'auriga_reconcile_duration_seconds_count')"
check "Docker list calls were timed" positive \
	"$(value 'auriga_docker_request_duration_seconds_count{op="list_containers"}')"
check "Docker create calls were timed (one per replica at least)" reaches \
	'auriga_docker_request_duration_seconds_count{op="create_container"}' 2
check "the Docker latency sum is above zero" positive \
	"$(value 'auriga_docker_request_duration_seconds_sum{op="list_containers"}')"
expect_eq "no Docker call failed" 0 "$(value 'auriga_docker_request_failures_total{op="create_container"}')"
expect_eq "Docker's circuit is closed" 1 "$(value 'auriga_circuit_breaker_state{peer="docker",state="closed"}')"
expect_eq "Docker's circuit is not open" 0 "$(value 'auriga_circuit_breaker_state{peer="docker",state="open"}')"
check "the Git fetch was timed" positive "$(value 'auriga_git_fetch_duration_seconds_count')"
expect_eq "the Git peer is up" 1 "$(value 'auriga_peer_up{peer="git"}')"
expect_eq "no fetch failed" 0 "$(value 'auriga_git_fetch_failures_total')"
check "the last fetch time is set" positive "$(value 'auriga_last_git_fetch_success_timestamp_seconds')"
check "readiness probe successes were counted" positive \
	"$(value "auriga_probe_results_total{deployment=\"$DEP\",probe=\"readiness\",result=\"success\"}")"
noted() { positive "$(value 'auriga_git_note_push_duration_seconds_count')"; }
await "the status note push was timed" 20 noted
check "/metrics passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"

# --- an upgrade --------------------------------------------------------------------------
write_specs auriga-demo-node:v2
push "v2"
await "the upgrade is counted as a second success" 60 reaches "$succeeded" 2
expect_eq "two rollouts started" 2 "$(value "$started")"
expect_eq "none rolled back" 0 "$(value "$rolled_back")"
expect_eq "only v2 runs" auriga-demo-node:v2 "$(images)"

# --- an upgrade that never gets ready: rolled back to v2 --------------------------------
write_specs auriga-demo-node:never-ready
push "never ready"
await "the failed upgrade is counted as rolled back" 90 reaches "$rolled_back" 1
expect_eq "three rollouts started (the way back is not a new one)" 3 "$(value "$started")"
back() {
	[ "$(value "auriga_deployment_phase{deployment=\"$DEP\",phase=\"RolledBack\"}")" = 1 ] &&
		[ "$(images)" = auriga-demo-node:v2 ]
}
await "the deployment is back on v2, phase RolledBack" 60 back
expect_eq "still two successes" 2 "$(value "$succeeded")"
check "the rollback counts as an error of kind rollout" reaches 'auriga_errors_total{kind="rollout"}' 1
check "readiness probe failures were counted" positive \
	"$(value "auriga_probe_results_total{deployment=\"$DEP\",probe=\"readiness\",result=\"failure\"}")"
scrape
check "/metrics still passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"

kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops it with status 0" 0 "$?"

done_testing
