# Shared by the tests of several `auriga run --lease` on one fleet (sourced after tests/lib.sh and
# tests/run-lib.bash): a specs repository, a Deployment of N demo nodes replaced one at a time, a
# recording of Docker's events with each container's creator and fencing generation, controllers
# started by name, and readers of their leader gauge and status.

need_images v1 v2
engine_instance "$LEADER_TEST"
specs_repo
DEP=web
N=${N:-4}
TTL=${TTL:-6}
# The lease's renew interval, in seconds (a test that measures against it reads it here).
RENEW_S=${RENEW_S:-1}
# The controllers' shared secret: the state the leader shares carries its MAC.
echo "leader-test-signing-key-$$" >"$TEST_TMP/signing-key"
chmod 0600 "$TEST_TMP/signing-key"
LEASE=(--lease --lease-ttl "${TTL}s" --lease-renew-interval "${RENEW_S}s" --lease-skew 1s --signing-key-file "$TEST_TMP/signing-key")
echo "leader-test-token-$$" >"$TEST_TMP/token"
chmod 0600 "$TEST_TMP/token"

# write_specs VERSION [ENV [DEADLINE]]: N demo nodes replaced one at a time, each ready START_DELAY_MS
# after it starts (4000 by default; ENV: more of its environment, as YAML "KEY: VALUE"; DEADLINE: the
# progress deadline, 120 s).
write_specs() {
	cat >"$WORK/web.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: $N
  progressDeadlineSeconds: ${3:-120}
  template:
    image: auriga-demo-node:$1
    env: {DEMO_START_DELAY_MS: "${START_DELAY_MS:-4000}"${2:+, $2}}
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
EOF
}

# Every container event of this run with its creator (ctl label) and fencing generation:
# NANOS|ACTION|NAME|CTL|FENCE|IMAGE.
docker events --filter "label=$TEST_LABEL" --filter type=container --format \
	'{{.TimeNano}}|{{.Action}}|{{.Actor.Attributes.name}}|{{index .Actor.Attributes "auriga-test-ctl"}}|{{index .Actor.Attributes "auriga.io/fence"}}|{{.Actor.Attributes.image}}' \
	>"$TEST_TMP/ev" 2>/dev/null &
EV_PID=$!
on_exit "kill $EV_PID 2>/dev/null"
events_mark() { docker create -q --label "$TEST_LABEL" --name "$1" auriga-demo-node:v1 >/dev/null && docker rm "$1" >/dev/null; }
events_mark "evmark-$$-0"
wait_for 30 grep -q "|destroy|evmark-$$-0|" "$TEST_TMP/ev"

# start_ctl NAME: `auriga run` as controller NAME (its own state folder and port), pid in PID_NAME; its
# repo is CTL_REPO when set (the same repository served otherwise than by path), else REMOTE.
declare -A PID PORT
start_ctl() {
	PORT[$1]=$(free_port)
	mkdir -p "$TEST_TMP/state-$1"
	"$AURIGA_BIN" run --instance "$INST" --state-dir "$TEST_TMP/state-$1" --repo "${CTL_REPO:-$REMOTE}" --poll-interval 2s \
		--listen "127.0.0.1:${PORT[$1]}" --api-token-file "$TEST_TMP/token" --extra-labels "$TEST_LABEL,auriga-test-ctl=$1" "${LEASE[@]}" \
		>"$TEST_TMP/$1.log" 2>&1 &
	PID[$1]=$!
	on_exit "kill -9 ${PID[$1]} 2>/dev/null; kill -CONT ${PID[$1]} 2>/dev/null"
}
leader_of() { curl -sf --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" | awk '$1 == "auriga_leader" { print $2 }'; }
is_leader() { [ "$(leader_of "$1")" = 1 ]; }
# running IMAGE: how many of the deployment's containers run IMAGE.
running() { docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$DEP" --format '{{.Image}}' | grep -c "^$1\$"; }
some_on() { [ "$(running "auriga-demo-node:$1")" -ge 1 ] && [ "$(running "auriga-demo-node:$1")" -lt "$N" ]; }
now_ns() { date +%s%N; }
# healthy_on NAME COMMIT: controller NAME's status says Healthy at COMMIT.
healthy_on() {
	[ "$(curl -sf --max-time 5 "http://127.0.0.1:${PORT[$1]}/api/v1/status" | jq -r '.phase + " " + (.commit // "")')" = "Healthy $2" ]
}
# field NAME FIELD: the deployment's FIELD in controller NAME's status.
field() {
	curl -sf --max-time 5 "http://127.0.0.1:${PORT[$1]}/api/v1/status" | jq -r --arg d "$DEP" ".deployments[] | select(.name == \$d) | .$2"
}
# post NAME VERB: the HTTP status of a release control asked of controller NAME.
post() {
	curl -s -o /dev/null --max-time 10 -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$TEST_TMP/token")" \
		"http://127.0.0.1:${PORT[$1]}/api/v1/deployments/$DEP/$2"
}
# start_two: controllers a and b; once one leads, L names it and F the other, which follows.
either_leads() { is_leader a || is_leader b; }
follows() { [ "$(leader_of "$1")" = 0 ]; }
start_two() {
	start_ctl a
	start_ctl b
	check "one of the two controllers takes the lease" wait_for 60 either_leads
	if is_leader a; then L=a F=b; else L=b F=a; fi
	diag "leader: $L, follower: $F"
	# The follower's server may answer a moment after the leader's (it starts as soon, not sooner).
	check "the follower's auriga_leader gauge is 0" wait_for 30 follows "$F"
}
# creates_since NANOS: the create events after NANOS, as NANOS|create|NAME|CTL|FENCE|IMAGE.
creates_since() { grep -v '|evmark-' "$TEST_TMP/ev" | awk -F'|' -v t="$1" '$1 > t && $2 == "create"'; }

