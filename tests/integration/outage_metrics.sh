#!/usr/bin/env bash
# What `auriga run` shows on /metrics and /api/v1/status while its peers really fail, read during
# the outage: a specs commit that does not load, the specs remote gone (moved away), and the Docker
# daemon stopped (a second, private one: the main daemon is never touched). Each failure-side
# series moves while the fault lasts, and each returns to its healthy value once it is removed.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$TOP/tests/fakes/second_dockerd.sh"

need_images v1
IMG=auriga-demo-node:v1

D=$TEST_TMP/d
mkdir -p "$D"
sock=$D/s.sock
dk() { docker -H "unix://$sock" "$@"; }
# Last: a container's mount the stopped daemon left behind would keep its data root from going.
on_exit "awk -v d='$D/' 'index(\$2, d) == 1 { print \$2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l"
on_exit "second_dockerd_cleanup $D"
on_exit 'ids=$(dk ps -aq 2>/dev/null); [ -n "$ids" ] && dk rm -f $ids'

second_dockerd_start "$D" -H "unix://$sock"
if ! wait_for 60 dk version >/dev/null; then
	fail "second dockerd answers on $sock"
	tail -n 20 "$D/dockerd.log" | sed 's/^/# /'
	exit 1
fi
docker save "$IMG" | dk load -q >/dev/null
has_image() { dk image inspect "$IMG" >/dev/null 2>&1; }
check "the demo image is loaded into the second daemon" has_image

INST=it-outage-$$
DEP=out$$
listen_port
specs_repo

# write_specs REPLICAS: the cluster and one deployment of REPLICAS demo nodes (no probe: running is ready).
write_specs() {
	cluster_yaml it-outage >"$WORK/cluster.yaml"
	cat >"$WORK/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: $1
  progressDeadlineSeconds: 60
  template:
    image: $IMG
EOF
}
write_specs 1
c1=$(commit "one replica")
run_start "$TEST_TMP/log" --repo "$REMOTE" --state-dir "$TEST_TMP/state" --instance "$INST" \
	--docker-host "unix://$sock" --listen "127.0.0.1:$RUN_PORT" --poll-interval 1s

# status_field JQ: a field of /api/v1/status.
status_field() { curl -sf --max-time 5 "$RUN_URL/api/v1/status" | jq -r "$1"; }
status_is() { [ "$(status_field "$1")" = "$2" ]; }
# fetched_since T: a fetch succeeded after unix time T.
fetched_since() { metric_above 'auriga_last_git_fetch_success_timestamp_seconds' "$1"; }
# steady DESC SERIES: the series does not move across three good fetches (a fault gone for good).
steady() {
	local before t
	before=$(metric "$2")
	t=$(date +%s)
	wait_for 30 fetched_since "$((t + 3))"
	expect_eq "$1" "$before" "$(metric "$2")"
}

# steady_over DESC SERIES CALLS: SERIES does not move while CALLS (a count of the calls that would
# move it) goes up by at least one.
steady_over() {
	local before n
	before=$(metric "$2")
	n=$(metric "$3")
	if ! wait_for 60 metric_above "$3" "$n"; then
		fail "$1"
		diag "no new $3 within 60 s"
		return
	fi
	expect_eq "$1" "$before" "$(metric "$2")"
}

healthy="auriga_deployment_phase{deployment=\"$DEP\",phase=\"Healthy\"}"
git_up='auriga_peer_up{peer="git"}'
docker_up='auriga_peer_up{peer="docker"}'
closed='auriga_circuit_breaker_state{peer="docker",state="closed"}'
open='auriga_circuit_breaker_state{peer="docker",state="open"}'
rec_error='auriga_reconcile_total{result="error"}'
rec_ok='auriga_reconcile_total{result="ok"}'
spec_errors='auriga_errors_total{kind="spec"}'
git_errors='auriga_errors_total{kind="git"}'
docker_errors='auriga_errors_total{kind="docker"}'
fetch_failures='auriga_git_fetch_failures_total'
list_failures='auriga_docker_request_failures_total{op="list_containers"}'

# --- healthy ---------------------------------------------------------------------------------
await "the deployment is Healthy on the second daemon" 90 metric_is "$healthy" 1
expect_eq "$git_up is 1" 1 "$(metric "$git_up")"
expect_eq "$docker_up is 1" 1 "$(metric "$docker_up")"
expect_eq "$closed is 1" 1 "$(metric "$closed")"
expect_eq "$rec_error is 0" 0 "$(metric "$rec_error")"
expect_eq "$fetch_failures is 0" 0 "$(metric "$fetch_failures")"
expect_eq "$spec_errors is 0" 0 "$(metric "$spec_errors")"
expect_eq "/api/v1/status names no source error" null "$(status_field '.source.lastError')"

# --- a specs commit that does not load --------------------------------------------------------
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: broken}\nspec: {replicas: -3}\n' \
	>"$WORK/broken.yaml"
bad=$(commit "a deployment that does not load")
await "a commit that does not load: $spec_errors goes above 0" 60 metric_above "$spec_errors" 0
n=$(metric "$spec_errors")
# A commit is immutable: the one refused is noted once and not read again at every fetch.
t_last=$(metric 'auriga_last_git_fetch_success_timestamp_seconds')
await "fetches go on while the refused commit is the branch's head" 30 fetched_since "$(awk -v t="$t_last" 'BEGIN { printf "%.3f", t + 2 }')"
expect_eq "and $spec_errors stays at $n: the refused commit is not read again" "$n" "$(metric "$spec_errors")"
expect_eq "/api/v1/status stays on the last good commit" "$c1" "$(status_field .commit)"
expect_eq "the deployment stays Healthy on it" 1 "$(metric "$healthy")"
rm -f "$WORK/broken.yaml"
write_specs 2
c2=$(commit "two replicas, nothing broken")
await "the next good commit is applied (/api/v1/status names it)" 60 status_is .commit "$c2"
steady "$spec_errors stops counting once the head loads" "$spec_errors"
await "the good commit's two replicas are Healthy" 90 metric_is "auriga_deployment_replicas_ready{deployment=\"$DEP\"}" 2
diag "bad commit $bad"

# --- the specs remote goes away ---------------------------------------------------------------
g0=$(metric "$git_errors")
f0=$(metric "$fetch_failures")
mv "$REMOTE" "$REMOTE.away"
on_exit "[ -d '$REMOTE.away' ] && mv '$REMOTE.away' '$REMOTE'"
await "remote gone: $git_up drops to 0" 60 metric_is "$git_up" 0
check "$fetch_failures went up during the outage" metric_above "$fetch_failures" "$f0"
check "auriga_errors_total{kind=\"git\"} went up during the outage" metric_above "$git_errors" "$g0"
t_last=$(metric 'auriga_last_git_fetch_success_timestamp_seconds')
expect_eq "the deployment stays Healthy on the last good commit" 1 "$(metric "$healthy")"
mv "$REMOTE.away" "$REMOTE"
await "remote back: $git_up returns to 1" 120 metric_is "$git_up" 1
await "the last good fetch time moves on" 30 metric_above 'auriga_last_git_fetch_success_timestamp_seconds' "$t_last"
steady "$fetch_failures stops counting" "$fetch_failures"

# --- the Docker daemon stops ------------------------------------------------------------------
e0=$(metric "$rec_error")
d0=$(metric "$docker_errors")
df0=$(metric "$list_failures")
second_dockerd_stop "$D"
await "daemon stopped: $docker_up drops to 0" 60 metric_is "$docker_up" 0
await "$rec_error goes up: passes cannot list the containers" 60 metric_above "$rec_error" "$e0"
check "$list_failures went up during the outage" metric_above "$list_failures" "$df0"
check "auriga_errors_total{kind=\"docker\"} went up during the outage" metric_above "$docker_errors" "$d0"
await "the circuit opens: $open is 1" 60 metric_is "$open" 1
expect_eq "and $closed is 0" 0 "$(metric "$closed")"
await "/api/v1/status names the Docker error as the source's last error" 30 \
	status_is '.source.lastError | startswith("docker:")' true
t_rec=$(metric 'auriga_last_reconcile_success_timestamp_seconds')
ok0=$(metric "$rec_ok")
second_dockerd_start "$D" -H "unix://$sock"
dk_up() { dk version >/dev/null; }
check "the second daemon answers again" wait_for 60 dk_up
await "daemon back: $docker_up returns to 1" 60 metric_is "$docker_up" 1
await "the circuit closes again: $closed is 1" 60 metric_is "$closed" 1
expect_eq "and $open is 0" 0 "$(metric "$open")"
await "a reconcile pass succeeds again (last success time moves on)" 60 \
	metric_above 'auriga_last_reconcile_success_timestamp_seconds' "$t_rec"
steady_over "$rec_error stops counting (passes go on)" "$rec_error" "$rec_ok"
steady_over "$list_failures stops counting (list calls go on)" "$list_failures" \
	'auriga_docker_request_duration_seconds_count{op="list_containers"}'
await "/api/v1/status no longer names a source error" 60 status_is '.source.lastError' null
await "the deployment is Healthy again, two replicas ready" 120 \
	metric_is "auriga_deployment_replicas_ready{deployment=\"$DEP\"}" 2
check "$rec_ok counts again" metric_above "$rec_ok" "$ok0"

run_stop "SIGTERM stops it with status 0"

done_testing
