#!/usr/bin/env bash
# Jobs run on a network auriga owns and mount their deployment's volumes, against real dockerd: a
# hook of a deployment that names its network runs on that network (Docker's inspect of the Job's
# container says so) and reaches the deployment's container by name, a hook of a deployment that
# names none runs on the instance's jobs network, neither reaches a service listening on the
# host's loopback; a hook writes a dump into the deployment's volume and the deployment's container
# reads it back; a volume of the name auriga does not own fails the hook with nothing created; the
# Job's limits and labels are its container's; a smoke-test Job with ports is refused when the
# specs load, at its file, line and field.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

IMG=auriga-test-sleeper:3
"$TOP/tests/fakes/build-test-image.sh" "$IMG" || { fail "build the test image"; exit 1; }
engine_instance jobnet
REPO=$TEST_TMP/repo
A=jnwa$$
B=jnwb$$
C=jnwc$$
NET=$INST-net
# The engine's name of it: the instance's names carry its prefix (the instance by default).
DNET=$INST-$NET
JOBNET=jobs-auriga-$INST

# A service on the host's loopback only: it answers GET / with 200.
HL=$(free_port)
mkdir -p "$TEST_TMP/www"
python3 -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" "$HL" >/dev/null 2>&1 &
on_exit "kill $!"
check "the loopback-only service answers on the host" wait_for 15 curl -sf -o /dev/null "http://127.0.0.1:$HL/"

apply() { auriga_cmd apply --timeout-total "${2:-90}" --repo "$REPO/specs.git" --ref main >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"; }
ctr_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1" \
		--format '{{.Names}}' | head -1
}
hook_ctr() { docker ps -q --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook=$1" | head -1; }
hook_running() { [ -n "$(hook_ctr "$1")" ]; }
# mount_of CONTAINER PATH: the name of the volume mounted at PATH.
mount_of() {
	docker inspect -f '{{range .Mounts}}{{if eq .Destination "'"$2"'"}}{{.Name}}{{end}}{{end}}' "$1"
}

# deps HOOK-A REV [VOLUME-C]: A (on network NET, volume data, its container serving /data/dump.txt on
# 8080) with preDeploy HOOK-A; B (no network) with hook-b; with VOLUME-C, C (volume data) too.
deps() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $A}
spec:
  progressDeadlineSeconds: 60
  template:
    image: $IMG
    command: [/t]
    args: [http, "8080", /data/dump.txt]
    env: {REV: "$2"}
    network: $NET
    volumes: [{name: data, mountPath: /data}]
  hooks:
    preDeploy: [$1]
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $B}
spec:
  progressDeadlineSeconds: 60
  template:
    image: $IMG
  hooks:
    preDeploy: [hook-b]
EOF
	[ -n "${3:-}" ] && cat <<EOF
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $C}
spec:
  progressDeadlineSeconds: 60
  template:
    image: $IMG
    volumes: [{name: data, mountPath: /data}]
  hooks:
    preDeploy: [hook-write]
EOF
	return 0
}
# job NAME ARGS...: a hook Job running /t ARGS, held 8 s before it exits, with the volume data at
# /backup (not hook-b: B has no volume), a label and limits.
job() {
	local name=$1 a
	shift
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n  activeDeadlineSeconds: 60\n' "$name"
	printf '  template:\n    image: %s\n    command: [/t]\n    args: [' "$IMG"
	for a in "$@"; do printf '"%s", ' "$a"; done
	printf ']\n    env: {HOLD_SECONDS: "8"}\n    labels: {team: data}\n'
	printf '    resources: {limits: {memory: 64Mi, cpu: 500m}}\n'
	[ "$name" = hook-b ] || printf '    volumes: [{name: data, mountPath: /backup}]\n'
}
{
	job hook-write write /backup/dump.txt "dump of release 1"; echo ---
	job hook-get get "$A" 8080 /; echo ---
	job hook-host get 127.0.0.1 "$HL" /; echo ---
	job hook-b env 8 0
} >"$SPECS/jobs.yaml"
deps hook-write 1 >"$SPECS/deps.yaml"
"$TOP/hack/demo-repo.sh" "$REPO" "$SPECS" >/dev/null

# --- where the hooks run, seen by Docker's inspect while they run --------------------------------
apply a1 &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
check "A's hook starts" wait_for 60 hook_running "$A"
hook_a=$(hook_ctr "$A")
expect_eq "A's hook runs on A's network (NetworkMode)" "$DNET" "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$hook_a")"
expect_eq "and is attached to it alone" "$DNET " \
	"$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$hook_a")"
expect_eq "A's network is auriga's (its managed-by label)" "$INST" \
	"$(docker network inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$DNET")"
expect_eq "the Job's memory and CPU limits are its container's" "67108864 500000000" \
	"$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' "$hook_a")"
expect_eq "and so are its template's labels" data "$(docker inspect -f '{{index .Config.Labels "team"}}' "$hook_a")"
hook_vol=$(mount_of "$hook_a" /backup)
check "A's hook mounts a named volume at /backup" test -n "$hook_vol"
expect_eq "the volume is auriga's" "$INST" "$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$hook_vol")"
expect_eq "and A's" "$A" "$(docker volume inspect -f '{{index .Labels "auriga.io/deployment"}}' "$hook_vol")"
check "B's hook starts" wait_for 60 hook_running "$B"
hook_b=$(hook_ctr "$B")
expect_eq "B names no network: its hook runs on the instance's jobs network" "$JOBNET" \
	"$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$hook_b")"
expect_eq "attached to it alone" "$JOBNET " \
	"$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$hook_b")"
expect_eq "the jobs network is auriga's" "$INST" \
	"$(docker network inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$JOBNET")"
wait "$pid"
expect_eq "the release with both hooks applies" 0 "$?"

# --- the hook's dump is in the deployment's volume -----------------------------------------------
a_ctr=$(ctr_of "$A")
expect_eq "A's container mounts the volume the hook wrote into" "$hook_vol" "$(mount_of "$a_ctr" /data)"
expect_eq "A's container reads the hook's dump back" "dump of release 1" \
	"$(docker exec "$a_ctr" /t cat /data/dump.txt)"

# --- a hook reaches the deployment's container by name -------------------------------------------
deps hook-get 2 >"$REPO/work/deps.yaml"
"$TOP/hack/demo-repo.sh" --commit "$REPO" "release 2 behind a hook that reads A by name" >/dev/null
apply a2
expect_eq "release 2 applies" 0 "$?"
check "its hook reached A's container by the name $A on A's network and got the dump" \
	grep -q "preDeploy hook completed.*GET http://$A:8080/: HTTP/1.0 200 OK.*dump of release 1" "$TEST_TMP/a2.err"

# --- nor reaches the host's loopback ------------------------------------------------------------
deps hook-host 3 >"$REPO/work/deps.yaml"
c3=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "release 3 behind a hook that reaches for the host")
apply a3
check "the release whose hook reached for the host's loopback fails" test "$?" -ne 0
note=$(note_in "$REPO/work" "$c3")
expect_match "the note names the hook" "preDeploy hook 'hook-host' failed" "$note"
expect_match "which found nothing listening on 127.0.0.1:$HL" "connect to 127\\.0\\.0\\.1:$HL: Connection refused" "$note"
check "the service still answers on the host's loopback" curl -sf -o /dev/null "http://127.0.0.1:$HL/"
expect_eq "A keeps release 2" 2 "$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(ctr_of "$A")" | sed -n 's/^REV=//p')"

# --- a volume of the name auriga does not own is not mounted --------------------------------------
cvol=$(python3 -c 'import hashlib, sys; i, d = sys.argv[1:3]
print("%s.data.%s" % (d, hashlib.sha256(("%s\0%s\0data\0-1\0" % (i, d)).encode()).hexdigest()[:10]))' "$INST" "$C")
docker volume create --label "$TEST_LABEL" "$cvol" >/dev/null
deps hook-get 2 C >"$REPO/work/deps.yaml"
c4=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "C, whose volume someone else made")
apply a4
check "the release with C fails" test "$?" -ne 0
note=$(note_in "$REPO/work" "$c4")
expect_match "C's hook is refused the volume auriga does not own" \
	"preDeploy hook 'hook-write' failed.*volume '$cvol' exists and is not deployment '$C''s.*auriga mounts no volume it does not own" \
	"$note"
expect_eq "no container of C was made" "" "$(docker ps -aq --filter "label=$TEST_LABEL" --filter "label=auriga.io/deployment=$C")"
expect_eq "nor of C's hook" "" "$(docker ps -aq --filter "label=$TEST_LABEL" --filter "label=auriga.io/hook=$C")"
expect_eq "the foreign volume is unchanged (no labels of auriga's)" "" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$cvol")"

# --- a smoke-test Job with ports is refused when the specs load ---------------------------------
mkdir -p "$TEST_TMP/smoke"
cat >"$TEST_TMP/smoke/smoke.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003, hostPort: 19003}]
  strategy:
    type: BlueGreen
    blueGreen: {activeService: web, smokeTestJob: web-smoke}
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: web}
spec: {deployment: web, port: 9003, targetPort: http}
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: web-smoke}
spec:
  template:
    image: auriga-demo-node:v1
    command: [/demo-node, probe, /q/health/ready]
    ports: [{containerPort: 9003}]
EOF
out=$(cd "$TEST_TMP/smoke" && "$AURIGA_BIN" validate . 2>&1 >/dev/null)
expect_eq "validate refuses the smoke-test Job with ports" 1 "$?"
expect_match "at its file, line and field" \
	"smoke\\.yaml:24:12: Job/web-smoke: spec\\.template\\.ports: refused: a Job publishes no ports" "$out"

done_testing
