#!/usr/bin/env bash
# A per-replica volume (perReplica: true) keeps each replica's data across an update: data written
# into replica 0's volume is read back from the new container of replica 0 after the image tag is
# bumped (a rolling update), replica 1 has a volume of its own that never sees replica 0's data,
# and the update makes no new volume.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance volume
DEP=vol$$

run() { auriga_cmd "$@"; }
# cid ORDINAL: the running container of that ordinal (names change across updates).
cid() {
	docker ps -q --no-trunc --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$DEP" \
		--filter "label=auriga.io/ordinal=$1" | head -1
}
# put ORDINAL FILE TEXT: writes TEXT to /data/FILE in that replica's container (docker cp: the
# image has no shell).
put() {
	mkdir -p "$TEST_TMP/put"
	printf '%s\n' "$3" >"$TEST_TMP/put/$2"
	docker cp "$TEST_TMP/put/$2" "$(cid "$1"):/data/$2"
}
# get ORDINAL FILE: what /data/FILE holds in that replica's container; fails when it is not there.
get() { docker cp "$(cid "$1"):/data/$2" - 2>/dev/null | tar -xO 2>/dev/null; }
mounts() { docker inspect -f '{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}' "$(cid "$1")" 2>/dev/null; }

write_specs() { # IMAGE
	cat >"$SPECS/nodes.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  template:
    image: $1
    ports: [{name: http, containerPort: 9003}]
    volumes: [{name: data, mountPath: /data, perReplica: true}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
EOF
}

write_specs auriga-demo-node:v1
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply1.out" 2>"$TEST_TMP/apply1.err"
rc=$?
expect_eq "v1 comes up (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply1.err" | while read -r l; do diag "$l"; done
expect_eq "replica 0 mounts its own volume at /data" "volume:$DEP-data-0:/data " "$(mounts 0)"
expect_eq "replica 1 mounts its own volume at /data" "volume:$DEP-data-1:/data " "$(mounts 1)"
expect_eq "the volumes are labelled as this instance's" "$INST $INST" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$DEP-data-0" "$DEP-data-1" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
old0=$(cid 0) old1=$(cid 1)

token0="chain of replica 0 $(date +%s%N)"
token1="chain of replica 1 $(date +%s%N)"
check "data is written into replica 0's volume" put 0 block-0 "$token0"
check "data is written into replica 1's volume" put 1 block-1 "$token1"
expect_eq "replica 0 reads its data" "$token0" "$(get 0 block-0)"
check "replica 1 does not see replica 0's data" test -z "$(get 1 block-0)"

write_specs auriga-demo-node:v2
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply2.out" 2>"$TEST_TMP/apply2.err"
rc=$?
expect_eq "the update to v2 rolls out (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply2.err" | while read -r l; do diag "$l"; done
expect_eq "both replicas run v2" "auriga-demo-node:v2 auriga-demo-node:v2" \
	"$(docker inspect -f '{{.Config.Image}}' "$(cid 0)" "$(cid 1)" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
check "replica 0 is a new container" test -n "$(cid 0)" -a "$(cid 0)" != "$old0"
check "replica 1 is a new container" test -n "$(cid 1)" -a "$(cid 1)" != "$old1"
expect_eq "the new replica 0 reads the data written before the update" "$token0" "$(get 0 block-0)"
expect_eq "the new replica 1 reads its own data" "$token1" "$(get 1 block-1)"
check "the new replica 1 does not see replica 0's data" test -z "$(get 1 block-0)"
check "the new replica 0 does not see replica 1's data" test -z "$(get 0 block-1)"
expect_eq "the new replica 0 mounts the same volume" "volume:$DEP-data-0:/data " "$(mounts 0)"
expect_eq "two volumes for the deployment, no more" 2 \
	"$(docker volume ls -q --filter "label=auriga.io/managed-by=$INST" | grep -c "^$DEP-")"

done_testing
