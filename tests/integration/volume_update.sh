#!/usr/bin/env bash
# A per-replica volume (perReplica: true) keeps each replica's data across an update: data written
# into replica 0's volume is read back from the new container of replica 0 after the image tag is
# bumped (a rolling update), replica 1 has a volume of its own that never sees replica 0's data,
# and the update makes no new volume. Volume names are unambiguous (deployment a-b with volume c
# and deployment a with volume b-c get two volumes), a volume of the name auriga would use that is
# not auriga's is never mounted (the deployment fails, naming it), a volume under the earlier
# naming (<deployment>-<volume>) is adopted only when its labels say it is this deployment's.
# The image also declares an anonymous volume (VOLUME /cache): a replaced container's goes with
# it, as a finished Job's does, and nothing else of the deployment's is removed.
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
mounts() {
	docker inspect -f '{{range .Mounts}}{{if ne .Destination "/cache"}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}{{end}}' \
		"$(cid "$1")" 2>/dev/null
}
# anon CONTAINER: the name of the anonymous volume its image declares at /cache.
anon() { docker inspect -f '{{range .Mounts}}{{if eq .Destination "/cache"}}{{.Name}}{{end}}{{end}}' "$1" 2>/dev/null; }
# The demo node with an anonymous volume, under tags of this test's own.
IMG=auriga-test-anonvol-$$
for v in v1 v2; do
	printf 'FROM auriga-demo-node:%s\nVOLUME /cache\n' "$v" | docker build -q -t "$IMG:$v" - >/dev/null ||
		{ fail "the test image $IMG:$v is built"; done_testing; exit 1; }
done
on_exit "docker rmi $IMG:v1 $IMG:v2 >/dev/null 2>&1"
# volname DEPLOYMENT VOLUME [ORDINAL]: the name auriga gives the volume:
# <deployment>.<volume>[.<ordinal>].<first 10 hex of sha256(instance NUL deployment NUL volume NUL ordinal NUL)>,
# the ordinal -1 for a shared volume.
volname() {
	local h
	h=$(printf '%s\0%s\0%s\0%s\0' "$INST" "$1" "$2" "${3:--1}" | sha256sum | cut -c1-10)
	echo "$1.$2${3:+.$3}.$h"
}

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

write_specs $IMG:v1
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply1.out" 2>"$TEST_TMP/apply1.err"
rc=$?
expect_eq "v1 comes up (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply1.err" | while read -r l; do diag "$l"; done
expect_eq "replica 0 mounts its own volume at /data" "volume:$(volname "$DEP" data 0):/data " "$(mounts 0)"
expect_eq "replica 1 mounts its own volume at /data" "volume:$(volname "$DEP" data 1):/data " "$(mounts 1)"
expect_eq "the volumes are labelled as this instance's" "$INST $INST" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$(volname "$DEP" data 0)" \
		"$(volname "$DEP" data 1)" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
old0=$(cid 0) old1=$(cid 1)
anon0=$(anon "$old0") anon1=$(anon "$old1")
check "each replica has an anonymous volume at /cache" test -n "$anon0" -a -n "$anon1" -a "$anon0" != "$anon1"

token0="chain of replica 0 $(date +%s%N)"
token1="chain of replica 1 $(date +%s%N)"
check "data is written into replica 0's volume" put 0 block-0 "$token0"
check "data is written into replica 1's volume" put 1 block-1 "$token1"
expect_eq "replica 0 reads its data" "$token0" "$(get 0 block-0)"
check "replica 1 does not see replica 0's data" test -z "$(get 1 block-0)"

write_specs $IMG:v2
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply2.out" 2>"$TEST_TMP/apply2.err"
rc=$?
expect_eq "the update to v2 rolls out (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply2.err" | while read -r l; do diag "$l"; done
expect_eq "both replicas run v2" "$IMG:v2 $IMG:v2" \
	"$(docker inspect -f '{{.Config.Image}}' "$(cid 0)" "$(cid 1)" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
check "replica 0 is a new container" test -n "$(cid 0)" -a "$(cid 0)" != "$old0"
check "replica 1 is a new container" test -n "$(cid 1)" -a "$(cid 1)" != "$old1"
expect_eq "the new replica 0 reads the data written before the update" "$token0" "$(get 0 block-0)"
expect_eq "the new replica 1 reads its own data" "$token1" "$(get 1 block-1)"
check "the new replica 1 does not see replica 0's data" test -z "$(get 1 block-0)"
check "the new replica 0 does not see replica 1's data" test -z "$(get 0 block-1)"
expect_eq "the new replica 0 mounts the same volume" "volume:$(volname "$DEP" data 0):/data " "$(mounts 0)"
expect_eq "two volumes for the deployment, no more" 2 \
	"$(docker volume ls -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$DEP" | wc -l)"
check "the replaced containers' anonymous volumes are removed with them" \
	test -z "$(docker volume ls -q --filter "name=^$anon0\$"; docker volume ls -q --filter "name=^$anon1\$")"
check "the new containers have anonymous volumes of their own" \
	test -n "$(anon "$(cid 0)")" -a "$(anon "$(cid 0)")" != "$anon0"

# --- names without ambiguity, foreign volumes, the earlier naming ---------------------------------
# one NAME VOLUME [PER_REPLICA]: a one-replica deployment mounting VOLUME at /data.
one() {
	echo ---
	node_yaml "$1" "volumes: [{name: $2, mountPath: /data, perReplica: ${3:-false}}]"
}
# mounts_of DEPLOYMENT: the mounts of its running container.
mounts_of() {
	docker inspect -f '{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}} {{end}}' \
		"$(docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" | head -1)" 2>/dev/null
}
AB=${DEP}a-b A=${DEP}a OLD=${DEP}old MINE=${DEP}mine
# The earlier naming of OLD's volume "state" is taken by a volume auriga did not make (as the
# controller's own "auriga-state" would be for a deployment "auriga"); MINE's replica 0 has one
# auriga made under the earlier naming, labelled as its own.
docker volume create --label "$TEST_LABEL" "$OLD-state" >/dev/null
docker volume create --label "$TEST_LABEL" --label "auriga.io/managed-by=$INST" --label "auriga.io/deployment=$MINE" \
	--label "auriga.io/ordinal=0" "$MINE-keep-0" >/dev/null
{ one "$AB" c; one "$A" b-c; one "$OLD" state; one "$MINE" keep true; } >"$SPECS/more.yaml"
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/apply3.out" 2>"$TEST_TMP/apply3.err"
rc=$?
expect_eq "the four deployments come up (apply exits 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -5 "$TEST_TMP/apply3.err" | while read -r l; do diag "$l"; done
expect_eq "a-b with volume c mounts its own volume" "volume:$(volname "$AB" c):/data " "$(mounts_of "$AB")"
expect_eq "a with volume b-c mounts another" "volume:$(volname "$A" b-c):/data " "$(mounts_of "$A")"
check "the two names differ" test "$(volname "$AB" c)" != "$(volname "$A" b-c)"
expect_eq "a volume of the earlier name that auriga did not make is not mounted" \
	"volume:$(volname "$OLD" state):/data " "$(mounts_of "$OLD")"
expect_eq "the earlier name's foreign volume keeps its labels (none of auriga's)" "" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$OLD-state")"
expect_eq "a volume auriga made under the earlier naming is adopted" "volume:$MINE-keep-0:/data " "$(mounts_of "$MINE")"
check "and no new volume is made beside it" test -z "$(docker volume ls -q --filter "name=$(volname "$MINE" keep 0)")"

# A volume that has the very name auriga would use, made by someone else: refused, never mounted.
BAD=${DEP}bad
docker volume create --label "$TEST_LABEL" "$(volname "$BAD" data)" >/dev/null
one "$BAD" data >"$SPECS/bad.yaml"
run apply --timeout-total 20 "$SPECS" >"$TEST_TMP/apply4.out" 2>"$TEST_TMP/apply4.err"
rc=$?
check "apply fails" test "$rc" != 0
expect_match "the status names the volume and says it is not auriga's" \
	"volume '$(volname "$BAD" data)' exists and is not deployment '$BAD''s of instance '$INST'.*mounts no volume it does not own" \
	"$(cat "$TEST_TMP/apply4.out" "$TEST_TMP/apply4.err")"
expect_eq "no container of that deployment was made" "" \
	"$(docker ps -aq --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$BAD")"

done_testing
