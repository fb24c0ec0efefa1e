#!/usr/bin/env bash
# A smoke-test Job of a deployment that names its network runs on that network, never in another
# container's namespace (Docker's inspect of the Job's container says so), and reaches the new
# slot by its container's name (AURIGA_PREVIEW_HOST); it mounts the deployment's shared volume,
# the very volume the deployment's containers mount. Told to reach the release on 127.0.0.1, it
# finds nothing there and the release is refused. A deployment that names no network has its
# smoke-test Job on the instance's jobs network, which the new slot's container joins for the test
# alone, its published port left where it was: the Job reaches it by name, catches a bad release,
# and the container leaves the jobs network when the test ends, passed or failed. One small
# blue-green deployment through a real NGINX, not the fleet.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=smokejn$$
SPECS=$FLEET_SPECS
. "$(dirname "$0")/traffic-lib.bash"

IMG=auriga-test-sleeper:3
"$TOP/tests/fakes/build-test-image.sh" "$IMG" || { fail "build the test image"; exit 1; }
NET=$FLEET_INSTANCE-net
# The engine's name of it: the instance's names carry its prefix (the instance by default).
DNET=$FLEET_INSTANCE-$NET

apply() { auriga_engine apply --timeout-total "${1:-120}" "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }
# write_net_dep IMAGE [HOST]: the deployment on network NET with the shared volume "shared", and
# its smoke-test Job, which GETs the new slot's readiness at HOST (default: what auriga tells it)
# and saves the answer into that volume.
write_net_dep() {
	cat >"$SPECS/deployment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  role: api
  replicas: 2
  progressDeadlineSeconds: 60
  template:
    image: $1
    env: {NODE_TYPE: api}
    ports: [{name: http, containerPort: 9003, hostPort: $HP}]
    network: $NET
    volumes: [{name: shared, mountPath: /shared}]
  probes:
    readiness:
      httpGet: {path: /q/health/ready, port: http}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1
  strategy:
    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      postPromotionWindowSeconds: 1
      scaleDownDelaySeconds: 1
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: $DEP-smoke}
spec:
  activeDeadlineSeconds: 30
  template:
    image: $IMG
    command: [/t]
    args: [get, "${2:--}", "-", /q/health/ready]
    env: {HOLD_SECONDS: "6", SAVE_TO: /out/answer.txt}
    volumes: [{name: shared, mountPath: /out}]
EOF
}
smoke_ctr() { docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/smoke-test=$DEP" | head -1; }
smoke_running() { [ -n "$(smoke_ctr)" ]; }
env_of() { docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n "s/^$2=//p"; }
mount_of() {
	docker inspect -f '{{range .Mounts}}{{if eq .Destination "'"$2"'"}}{{.Name}}{{end}}{{end}}' "$1"
}

write_net_dep auriga-demo-node:v1
apply
expect_eq "the first release comes up in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"

# --- the smoke test of v2 runs on the deployment's network and reaches green by name ------------
write_net_dep auriga-demo-node:v2
apply &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
check "the smoke test starts" wait_for 90 smoke_running
job=$(smoke_ctr)
expect_eq "it runs on the deployment's network (NetworkMode)" "$DNET" "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$job")"
expect_eq "attached to it alone" "$DNET " \
	"$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$job")"
target=$(env_of "$job" AURIGA_PREVIEW_HOST)
expect_eq "it is told the new slot's container by name" \
	"green:auriga-demo-node:v2" "$(docker inspect -f '{{index .Config.Labels "auriga.io/slot"}}:{{.Config.Image}}' "$target" 2>&1)"
expect_eq "and the URL by that name" "http://$target:9003" "$(env_of "$job" AURIGA_PREVIEW_URL)"
job_vol=$(mount_of "$job" /out)
expect_eq "it mounts the volume the deployment's containers mount" "$(mount_of "$target" /shared)" "$job_vol"
wait "$pid"
expect_eq "the release goes through" 0 "$?"
check "the smoke test passed: the new slot's readiness answered UP" \
	grep -q 'smoke test passed.*"readiness.*UP' "$TEST_TMP/apply.err"
expect_eq "v2 serves in slot green" "green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
expect_match "the answer it saved in the deployment's volume came from v2 at its name" "X-Node-Version: v2" \
	"$(docker run --rm --label "$TEST_LABEL" -v "$job_vol:/x:ro" "$IMG" cat /x/answer.txt)"

# --- told to reach the release on 127.0.0.1, it finds nothing: the release is refused ---------
write_net_dep auriga-demo-node:v3 127.0.0.1
apply
expect_eq "the release whose smoke test reached for 127.0.0.1 fails" 1 "$?"
check "the Job found nothing listening on 127.0.0.1:9003" \
	grep -q "smoke test failed.*connect to 127.0.0.1:9003: Connection refused" "$TEST_TMP/apply.err"
expect_eq "v2 keeps serving in slot green" "green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
expect_eq "no Job container is left" "" "$(docker ps -aq --filter "label=auriga.io/job-of=$FLEET_INSTANCE")"

# --- a deployment on no network: its smoke test runs on the jobs network ------------------------
JOBS_NET=jobs-auriga-$FLEET_INSTANCE
BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      postPromotionWindowSeconds: 1
      scaleDownDelaySeconds: 1"
# nets_of CONTAINER: the networks it is attached to, sorted, space-separated.
nets_of() {
	docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1" 2>/dev/null |
		tr ' ' '\n' | sed '/^$/d' | sort | paste -sd' ' -
}
# on_jobs_net: the containers of the deployment attached to the jobs network now, by name.
on_jobs_net() {
	local c
	for c in $(fleet_ps '{{.Names}}'); do
		[[ " $(nets_of "$c") " == *" $JOBS_NET "* ]] && echo "$c"
	done
}
# The smoke-test Job of write_dep gives way to one that stays a few seconds (HOLD_SECONDS), so that
# the test can look at it, and GETs the new slot's readiness where auriga says it is.
write_dep auriga-demo-node:v1 "$BLUEGREEN"
sed -i '/^---$/,$d' "$SPECS/deployment.yaml"
cat >>"$SPECS/deployment.yaml" <<EOF
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: $DEP-smoke}
spec:
  activeDeadlineSeconds: 30
  template:
    image: $IMG
    command: [/t]
    args: [get, "-", "-", /q/health/ready]
    env: {HOLD_SECONDS: "6"}
EOF
check "the deployment names no network now" bash -c "! grep -q 'network:' '$SPECS/deployment.yaml'"
: >"$TEST_TMP/apply.err"
apply &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
check "the smoke test of the release on no network starts" wait_for 90 smoke_running
job=$(smoke_ctr)
mode=$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$job")
expect_eq "it runs on the instance's jobs network (NetworkMode)" "$JOBS_NET" "$mode"
expect_no_match "not in a container's namespace, the host's or Docker's bridge" '^(container:|host$|bridge$|default$)' \
	"$mode"
expect_eq "attached to it alone" "$JOBS_NET" "$(nets_of "$job")"
expect_eq "the jobs network is auriga's" "$FLEET_INSTANCE" \
	"$(docker network inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$JOBS_NET")"
target=$(env_of "$job" AURIGA_PREVIEW_HOST)
expect_eq "it is told the new slot's container by name" "blue:auriga-demo-node:v1" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/slot"}}:{{.Config.Image}}' "$target" 2>&1)"
expect_eq "the URL names it too" "http://$target:9003" "$(env_of "$job" AURIGA_PREVIEW_URL)"
expect_eq "while the test runs, that container alone of the deployment is on the jobs network" "$target" \
	"$(on_jobs_net)"
# Docker moves a container's published ports to the first of its networks by name, restarting their
# proxy (this engine runs without iptables: the proxy carries them) and breaking every connection it
# carries. Joining the jobs network moves nothing: the proxy still leads to the container on bridge.
port=$(docker inspect -f '{{(index (index .NetworkSettings.Ports "9003/tcp") 0).HostPort}}' "$target")
addr=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' "$target")
expect_match "while it is on the jobs network, its published port still leads to it on Docker's bridge" \
	"-host-port $port -container-ip ${addr//./\\.} " "$(pgrep -af "^[^ ]*docker-proxy .*-host-port $port ")"
wait "$pid"
expect_eq "the release on no network goes through" 0 "$?"
check "the smoke test reached the new slot by name: its readiness answered UP" \
	grep -q 'smoke test passed.*"readiness.*UP' "$TEST_TMP/apply.err"
expect_eq "v1 serves in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "the tested container left the jobs network after the test" "" "$(on_jobs_net)"
expect_eq "and is on its own network as before" "bridge" "$(nets_of "$target")"

# --- a bad release (liveness DOWN after 1 s, readiness UP) is caught by the smoke test ------------
write_dep auriga-demo-node:v3 "$BLUEGREEN" 'DEMO_LIVE_FAIL_AFTER_S: "1"'
sed -i 's|command: \[/demo-node, probe, /q/health/ready, |command: [/demo-node, probe, /q/health/live, |' \
	"$SPECS/deployment.yaml"
# Ready no sooner than 3 s after its start, so that its liveness is down by the time the smoke test runs
# (a smoke test within the first second would find it live, and the release good).
sed -i 's|^      periodSeconds: 1$|      periodSeconds: 1\n      initialDelaySeconds: 3|' "$SPECS/deployment.yaml"
check "its readiness waits 3 s" grep -q '^      initialDelaySeconds: 3$' "$SPECS/deployment.yaml"
check "the smoke test now GETs liveness" grep -q 'probe, /q/health/live, "9003", "-"' "$SPECS/deployment.yaml"
: >"$TEST_TMP/apply.err"
apply
expect_eq "the bad release is refused by its smoke test" 1 "$?"
check "the smoke test reached v3 on the jobs network and found it not live" \
	grep -q 'smoke test failed.*GET /q/health/live: 503 from version v3' "$TEST_TMP/apply.err"
expect_eq "v1 keeps serving in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "NGINX answers from v1" v1 "$(version)"
expect_eq "no container of the deployment is left on the jobs network" "" "$(on_jobs_net)"
expect_eq "no Job container is left after the failed test" "" \
	"$(docker ps -aq --filter "label=auriga.io/job-of=$FLEET_INSTANCE")"

done_testing
