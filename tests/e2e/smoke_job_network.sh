#!/usr/bin/env bash
# A smoke-test Job of a deployment that names its network runs on that network, never in another
# container's namespace (Docker's inspect of the Job's container says so), and reaches the new
# slot by its container's name (AURIGA_PREVIEW_HOST); it mounts the deployment's shared volume,
# the very volume the deployment's containers mount. Told to reach the release on 127.0.0.1, it
# finds nothing there and the release is refused. One small blue-green deployment through a real
# NGINX, not the fleet.
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

done_testing
