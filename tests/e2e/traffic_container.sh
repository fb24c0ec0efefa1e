#!/usr/bin/env bash
# NGINX in a container: the Cluster's spec.router.container names it (a name the operator's policy
# lists); auriga writes the file the container reads through a bind mount, reloads NGINX by sending
# SIGHUP to the container through the Docker Engine API, and goes on once NGINX serves the change.
# A blue-green release switches through it (seen with curl through NGINX); a container the policy
# does not list is refused at its field, a reloadCommand beside a container too; a listed container
# that does not exist fails the release with what Docker said.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=ctrapi$$
SPECS=$FLEET_SPECS
TRAFFIC_CLUSTER=edge
TRAFFIC_PREVIEW=no
TRAFFIC_NGINX=none
. "$(dirname "$0")/traffic-lib.bash"

IMAGE=auriga-test-nginx:1
EDGE=$FLEET_INSTANCE-nginx
ABSENT=$FLEET_INSTANCE-absent

# An NGINX image built here from the project's Debian base image (hack/base-image.sh), once.
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
	"$TOP/hack/base-image.sh" || { fail "the Debian base image"; exit 1; }
	(
		flock 9
		docker image inspect "$IMAGE" >/dev/null 2>&1 ||
			docker build -q --network host -t "$IMAGE" - >"$TEST_TMP/build.log" 2>&1 <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	nginx-light >/dev/null && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["nginx", "-g", "daemon off;"]
EOF
	) 9>"${TMPDIR:-/tmp}/auriga-test-nginx.lock"
	docker image inspect "$IMAGE" >/dev/null 2>&1 || {
		sed 's/^/# /' "$TEST_TMP/build.log"
		fail "the NGINX image $IMAGE builds"
		exit 1
	}
fi

# The container's main configuration: it includes the router's file, which the host writes. It
# runs on the host's network (the upstreams are ports published on 127.0.0.1) as this user, its
# folder bind-mounted at the same path; notice level so the log shows each SIGHUP.
"$TOP/hack/nginx-conf.sh" "$NGX" "$NGX/*auriga.conf" --foreground --error-level notice >"$NGX/nginx.conf"
docker run -d --name "$EDGE" --label "$TEST_LABEL" --network host --user "$(id -u):$(id -g)" \
	-v "$NGX:$NGX" "$IMAGE" -e "$NGX/error.log" -c "$NGX/nginx.conf" >/dev/null ||
	{ fail "the NGINX container starts"; exit 1; }
nginx_up() { [ "$(docker inspect -f '{{.State.Running}}' "$EDGE" 2>/dev/null)" = true ] && [ -s "$NGX/nginx.pid" ]; }
check "NGINX runs in its container" wait_for 30 nginx_up

# The operator's policy lists the two containers, the file and the address; no reload command.
cat >"$TRAFFIC_POLICY" <<EOF
router:
  configPath: [$NGX/auriga.conf]
  container: [$EDGE, $ABSENT]
  listenAddress: [127.0.0.1]
EOF

# cluster ROUTER_LINES: the Cluster with these lines under spec.router.
cluster() {
	cat >"$SPECS/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: edge}
spec:
  router:
    type: NGINX
    configPath: $NGX/auriga.conf
    listenAddress: 127.0.0.1
$1
EOF
}
BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      postPromotionWindowSeconds: 3
      scaleDownDelaySeconds: 1"
write_dep auriga-demo-node:v1 "$BLUEGREEN"
validate() { "$AURIGA_BIN" validate "$SPECS" 2>&1; }
validate_ok() { validate >/dev/null; }

# --- refusals at validation: the field's position and the policy setting ----------------------
cluster "    container: other-nginx"
out=$(validate)
expect_match "a container the policy does not list is refused at its field" \
	"cluster\.yaml:9:[0-9]+: Cluster/edge: spec\.router\.container: \"other-nginx\" refused by the operator's policy \(not listed in router\.container in $TRAFFIC_POLICY\)" "$out"
cluster "    container: $EDGE
    reloadCommand: [nginx, -s, reload]"
out=$(validate)
expect_match "a container and a reload command together are refused" \
	"cluster\.yaml:9:[0-9]+: Cluster/edge: spec\.router\.container: give reloadCommand or container, not both" "$out"

apply() { auriga_engine apply --timeout-total "${1:-120}" "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }

# --- the first release, then a blue-green switch, through NGINX in its container -------------------
cluster "    container: $EDGE"
apply
expect_eq "the first release serves v1 through NGINX in its container" v1 "$(version)"
hups() { grep -c "signal 1 (SIGHUP) received" "$NGX/error.log"; }
before=$(hups)
check "NGINX was reloaded by SIGHUP" test "$before" -ge 1
check "auriga sent it through the Docker Engine API" grep -q "router reload.*container=$EDGE" "$TEST_TMP/apply.err"

write_dep auriga-demo-node:v2 "$BLUEGREEN"
apply
rc=$?
expect_eq "blue-green v1 -> v2 through the container completes" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$TEST_TMP/apply.err" | sed 's/^/# /'
expect_eq "v2 runs in slot green, blue is gone" "green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
s=$(sample 20)
expect_eq "NGINX in its container answers 20 of 20 from v2" "20 0 v2=20" "$s"
check "the switch was another SIGHUP" test "$(hups)" -gt "$before"
# The generation NGINX serves is the one in the file auriga wrote.
gen=$(sed -n 's/.*return 200 "\([0-9a-f]*\)\\n";/\1/p' "$(router_conf)" | head -1)
expect_eq "NGINX serves the generation of the file auriga wrote" "$gen" \
	"$(curl -s --max-time 5 "http://127.0.0.1:$LP/.auriga/router-generation")"
check "NGINX still runs in its container" nginx_up

# --- a listed container that does not exist: the release fails with Docker's answer -----------------
cluster "    container: $ABSENT"
check "a Cluster naming another listed container validates" validate_ok
write_dep auriga-demo-node:v3 "$BLUEGREEN"
apply 60
check "a container that does not exist fails the release, saying so" \
	grep -q "cannot signal NGINX in container '$ABSENT': .*[Nn]o such container" "$TEST_TMP/apply.err"


done_testing
