#!/usr/bin/env bash
# What `auriga run` shows on /metrics while it really deploys: Docker call latencies, Git fetches
# and note pushes, probe results, the circuit state, and the rollout counters through a first
# rollout, an upgrade and an upgrade that fails and is rolled back; promtool accepts the text.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 never-ready

INST=it-metrics-$$
DEP=mtr$$
specs_repo

# write_specs IMAGE: the cluster and one deployment of two replicas running IMAGE.
write_specs() {
	cluster_yaml it-metrics >"$WORK/cluster.yaml"
	web_yaml "$DEP" "$1" >"$WORK/web.yaml"
}

write_specs auriga-demo-node:v1
commit "v1" >/dev/null

listen_port
run_start "$TEST_TMP/log" --repo "$REMOTE" --state-dir "$TEST_TMP/state" --instance "$INST" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s
positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }

started="auriga_rollouts_started_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
succeeded="auriga_rollouts_succeeded_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
rolled_back="auriga_rollouts_rolled_back_total{deployment=\"$DEP\",strategy=\"Rolling\"}"
# images: the images the deployment's containers run, one line each, sorted and unique.
images() { docker ps -a --filter "label=auriga.io/deployment=$DEP" --filter "label=$TEST_LABEL" --format '{{.Image}}' | sort -u; }
healthy="auriga_deployment_phase{deployment=\"$DEP\",phase=\"Healthy\"}"

# --- the first rollout ---------------------------------------------------------------------
await "the first rollout is counted as succeeded" 60 metric_reaches "$succeeded" 1
expect_eq "one rollout started" 1 "$(metric "$started")"
expect_eq "the deployment's phase is Healthy" 1 "$(metric "$healthy")"
expect_eq "two replicas ready" 2 "$(metric "auriga_deployment_replicas_ready{deployment=\"$DEP\"}")"
check "reconcile passes were timed" positive "$(metric 'auriga_reconcile_duration_seconds_count')"
check "Docker list calls were timed" positive \
	"$(metric 'auriga_docker_request_duration_seconds_count{op="list_containers"}')"
check "Docker create calls were timed (one per replica at least)" metric_reaches \
	'auriga_docker_request_duration_seconds_count{op="create_container"}' 2
check "the Docker latency sum is above zero" positive \
	"$(metric 'auriga_docker_request_duration_seconds_sum{op="list_containers"}')"
expect_eq "no Docker call failed" 0 "$(metric 'auriga_docker_request_failures_total{op="create_container"}')"
expect_eq "Docker's circuit is closed" 1 "$(metric 'auriga_circuit_breaker_state{peer="docker",state="closed"}')"
expect_eq "Docker's circuit is not open" 0 "$(metric 'auriga_circuit_breaker_state{peer="docker",state="open"}')"
check "the Git fetch was timed" positive "$(metric 'auriga_git_fetch_duration_seconds_count')"
expect_eq "the Git peer is up" 1 "$(metric 'auriga_peer_up{peer="git"}')"
expect_eq "no fetch failed" 0 "$(metric 'auriga_git_fetch_failures_total')"
check "the last fetch time is set" positive "$(metric 'auriga_last_git_fetch_success_timestamp_seconds')"
check "readiness probe successes were counted" positive \
	"$(metric "auriga_probe_results_total{deployment=\"$DEP\",probe=\"readiness\",result=\"success\"}")"
noted() { positive "$(metric 'auriga_git_note_push_duration_seconds_count')"; }
await "the status note push was timed" 20 noted
check "/metrics passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"

# --- an upgrade --------------------------------------------------------------------------
write_specs auriga-demo-node:v2
commit "v2" >/dev/null
await "the upgrade is counted as a second success" 60 metric_reaches "$succeeded" 2
expect_eq "two rollouts started" 2 "$(metric "$started")"
expect_eq "none rolled back" 0 "$(metric "$rolled_back")"
expect_eq "only v2 runs" auriga-demo-node:v2 "$(images)"

# --- an upgrade that never gets ready: rolled back to v2 --------------------------------
write_specs auriga-demo-node:never-ready
commit "never ready" >/dev/null
await "the failed upgrade is counted as rolled back" 90 metric_reaches "$rolled_back" 1
expect_eq "three rollouts started (the way back is not a new one)" 3 "$(metric "$started")"
back() {
	[ "$(metric "auriga_deployment_phase{deployment=\"$DEP\",phase=\"RolledBack\"}")" = 1 ] &&
		[ "$(images)" = auriga-demo-node:v2 ]
}
await "the deployment is back on v2, phase RolledBack" 60 back
expect_eq "still two successes" 2 "$(metric "$succeeded")"
check "the rollback counts as an error of kind rollout" metric_reaches 'auriga_errors_total{kind="rollout"}' 1
check "readiness probe failures were counted" positive \
	"$(metric "auriga_probe_results_total{deployment=\"$DEP\",probe=\"readiness\",result=\"failure\"}")"
metrics_scrape
check "/metrics still passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"

run_stop "SIGTERM stops it with status 0"

done_testing
