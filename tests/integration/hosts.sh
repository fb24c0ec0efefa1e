#!/usr/bin/env bash
# run-tests: alone
# Several Docker hosts: a Cluster of four endpoints (four extra daemons, each its own bridge) and
# four validators placed one per host go from nothing to Healthy; each host runs exactly the replica
# placed there (docker -H), and the note, `auriga status` and the API show each replica's host. A
# Recreate upgrade while one host is stopped (SIGSTOP) never has more than f = 1 validator
# unavailable counting the stopped host's (sampled on every host throughout), waits, and completes
# once the host answers again (SIGCONT), with no ordinal twice anywhere. The stopped host is ordinal
# 0's, at the default Docker timeout: meanwhile a validator killed on another host is made again
# within a few passes, and v2's preDeploy hook waits for that host (the deployment does not fail)
# and runs there once it answers. After a restart with a host stopped from the start, the validators
# wait for it while a deployment placed elsewhere goes on. Bad input: a placement
# naming an endpoint the Cluster lacks, and a TLS folder missing a file, each an error naming the
# endpoint, with nothing touched on the hosts.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"

need_images v1 v2
HOOK_IMG=auriga-test-sleeper:2
"$TOP/tests/fakes/build-test-image.sh" "$HOOK_IMG" || { fail "build the hook image"; exit 1; }
engine_instance hosts
specs_repo
listen_port
N=4
MAIN=unix:///var/run/docker.sock
[ -n "${DOCKER_HOST:-}" ] && MAIN=$DOCKER_HOST

for n in $(seq 1 $N); do
	check "host $n starts" host_start "$n"
	check "the demo images are loaded into host $n" host_load "$n" v1 v2
	check "the hook image is loaded into host $n" sh -c "docker save $HOOK_IMG | docker -H ${HOST_URL[$n]} load -q >/dev/null"
done

POLICY=$TEST_TMP/policy.yaml
{
	echo "endpoints:"
	for n in $(seq 1 $N); do printf '  - {name: d%s, url: "%s"}\n' "$n" "${HOST_URL[$n]}"; done
} >"$POLICY"
cluster() {
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n'
	for n in $(seq 1 $N); do printf '    - {name: d%s, labels: {zone: z%s}}\n' "$n" "$n"; done
}
PORT=$(free_ports $N)
# validators TAG [HOOK]: four validators (role validator: one per endpoint by default), Recreate, each with its
# own chain volume, ready once /q/health/ready answers on its published port.
validators() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: validators}
spec:
  role: validator
  replicas: $N
  progressDeadlineSeconds: 600
  strategy: {type: Recreate}
  template:
    image: auriga-demo-node:$1
    ports: [{name: http, containerPort: 9003, hostPort: $PORT}]
    volumes: [{name: chain, mountPath: /data, perReplica: true}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
EOF
	[ -z "${2:-}" ] || printf '  hooks:\n    preDeploy: [%s]\n' "$2"
}
# job NAME: a hook Job that prints its AURIGA_* environment and exits 0.
job() {
	printf 'apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n  activeDeadlineSeconds: 60\n' "$1"
	printf '  template:\n    image: %s\n    command: [/t]\n    args: [env, "0", "0"]\n' "$HOOK_IMG"
}
cluster >"$WORK/cluster.yaml"
validators v1 >"$WORK/validators.yaml"
c1=$(commit "validators v1 on four hosts")

T0=$SECONDS
run_start "$TEST_TMP/run.log" --instance "$INST" --state-dir "$STATE" --listen "127.0.0.1:$RUN_PORT" \
	--policy-file "$POLICY" --poll-interval 1s --repo "file://$REMOTE"

api() { curl -sf --max-time 5 "$RUN_URL/api/v1/status"; }
phase() { api | jq -r '.deployments[] | select(.name == "validators") | .phase'; }
phase_is() { [ "$(phase)" = "$1" ]; }
note_of() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null; }
note_says() { [[ $(note_of "$1" | head -1) =~ $2 ]]; }
# on_host N: "ORDINAL:ENDPOINT-LABEL:STATE" of each of the instance's containers on host N, sorted.
on_host() {
	docker -H "${HOST_URL[$1]}" ps -a --filter "label=auriga.io/managed-by=$INST" \
		--format '{{.Label "auriga.io/ordinal"}}:{{.Label "auriga.io/endpoint"}}:{{.State}}' | sort | xargs
}

await "the four validators become Healthy" 240 phase_is Healthy
diag "from nothing to Healthy on $N hosts: $((SECONDS - T0)) s (daemon start included)"
declare -A ORD
all=""
for n in $(seq 1 $N); do
	got=$(on_host "$n")
	expect_match "host $n runs exactly one validator, labelled with its endpoint d$n" "^[0-3]:d$n:running$" "$got"
	ORD[$n]=${got%%:*}
	all="$all ${ORD[$n]}"
done
expect_eq "the four ordinals are on four hosts, each once" "0 1 2 3" "$(echo $all | tr ' ' '\n' | sort | xargs)"
expect_eq "none is on the default engine" 0 "$(host_count "$MAIN" "$INST")"
vols() { docker -H "${HOST_URL[$1]}" volume ls -q --filter "label=auriga.io/managed-by=$INST" | wc -l; }
expect_eq "each host holds the chain volume of its own replica only" "1 1 1 1" \
	"$(for n in $(seq 1 $N); do vols "$n"; done | xargs)"
hosts_api() { api | jq -r '.deployments[] | select(.name == "validators") | [.instances[] | "\(.name)=\(.host)"] | sort | join(" ")'; }
want=""
for n in $(seq 1 $N); do want="$want $INST-validators-${ORD[$n]}=d$n"; done
want=$(echo $want | tr ' ' '\n' | sort | xargs)
expect_eq "/api/v1/status gives each replica's host" "$want" "$(hosts_api)"
check "the note on the commit says Healthy" wait_for 60 note_says "$c1" "^auriga: Healthy 4/4 ready"
note_hosts=$(note_of "$c1" | tr '\n' ' ')
for n in $(seq 1 $N); do
	expect_match "the note names validators-${ORD[$n]}'s host d$n" "validators-${ORD[$n]}: d$n" "$note_hosts"
done
"$AURIGA_BIN" status --repo "$REMOTE" >"$TEST_TMP/status.out" 2>&1
for n in $(seq 1 $N); do
	expect_match "auriga status prints validators-${ORD[$n]} on d$n" "validators-${ORD[$n]} d$n" \
		"$(cat "$TEST_TMP/status.out")"
done

# plan --json of the v2 specs: each action on its ordinal's host.
PLANDIR=$TEST_TMP/plan-specs
mkdir -p "$PLANDIR"
cluster >"$PLANDIR/cluster.yaml"
validators v2 >"$PLANDIR/validators.yaml"
timeout 120 "$AURIGA_BIN" plan --json --instance "$INST" --state-dir "$STATE" --policy-file "$POLICY" "$PLANDIR" \
	>"$TEST_TMP/plan.json" 2>"$TEST_TMP/plan.err"
expect_eq "plan --json over four hosts exits 2 (changes)" 2 "$?"
plan_hosts=$(jq -r '[.phases[].deployments[].actions[] | "\(.ordinal)=\(.host)"] | unique | join(" ")' "$TEST_TMP/plan.json")
want_plan=$(for n in $(seq 1 $N); do echo "${ORD[$n]}=d$n"; done | sort | xargs)
expect_eq "plan --json gives each action its ordinal's host" "$want_plan" "$plan_hosts"

# The upgrade while ordinal 0's host is stopped: its validator counts as unavailable, so no other
# goes down.
for n in $(seq 1 $N); do [ "${ORD[$n]}" = 0 ] && STOPPED=$n; done
OTHER=$((STOPPED % N + 1))
kill -STOP "${HOST_PID[$STOPPED]}"
on_exit "kill -CONT ${HOST_PID[$STOPPED]} 2>/dev/null"
down_seen() { grep -q "endpoint does not answer.*d$STOPPED" "$RUN_LOG"; }
await "auriga sees host $STOPPED stop answering" 60 down_seen
# A hung host does not stall the other hosts' passes: a validator killed meanwhile is made again.
T2=$SECONDS
docker -H "${HOST_URL[$OTHER]}" kill "$INST-validators-${ORD[$OTHER]}" >/dev/null
other_ready() { [ "$(http_code --max-time 1 "http://127.0.0.1:$((PORT + ${ORD[$OTHER]}))/q/health/ready")" = 200 ]; }
gone() { ! other_ready; }
await "the killed validator on host $OTHER stops answering" 20 gone
await "while host $STOPPED hangs, the validator killed on host $OTHER runs and is ready again" 20 other_ready
diag "validator killed on host $OTHER ready again $((SECONDS - T2)) s after the kill, host $STOPPED stopped"
T3=$(date +%s)
job hook-ok >"$WORK/jobs.yaml"
validators v2 hook-ok >"$WORK/validators.yaml"
c2=$(commit "validators v2, preDeploy hook-ok")
# sample: every second, how many validators are unavailable (not answering ready on their published
# port; the stopped host's counts as one while it is stopped), written to samples until stop exists.
# ready_code URL: the status the readiness endpoint answers. A request that timed out (curl's 28: the
# machine is loaded, the node did not refuse) is asked again with more time; a refused connection
# or any answer counts as it is ("t:CODE" in the samples when asked again).
ready_code() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")
	[ $? = 28 ] && code="t:$(http_code --max-time 5 "$1")"
	echo "$code"
}
sample() {
	local o down codes code
	while [ ! -e "$TEST_TMP/stop" ]; do
		down=0 codes=""
		for o in $(seq 0 $((N - 1))); do
			if [ "$o" = "${ORD[$STOPPED]}" ] && [ ! -e "$TEST_TMP/resumed" ]; then
				down=$((down + 1)) code=stopped
			else
				code=$(ready_code "http://127.0.0.1:$((PORT + o))/q/health/ready")
				[ "${code#t:}" = 200 ] || down=$((down + 1))
			fi
			codes="$codes $o:$code"
		done
		echo "$down $(date +%T)$codes" >>"$TEST_TMP/samples"
		sleep 0.5
	done
}
sample &
SAMPLER=$!
on_exit "touch $TEST_TMP/stop; kill $SAMPLER 2>/dev/null"
commit_seen() { api | jq -r '.commit' | grep -q "^$c2"; }
await "the daemon takes up the v2 commit" 60 commit_seen
# The upgrade comes to the stopped host's ordinal, whose preDeploy hook waits for its endpoint; for
# 10 s more nothing may move on the other hosts (the sampler counts what is down throughout).
T4=$SECONDS
hook_waits() {
	[[ $(api | jq -r '.deployments[] | select(.name == "validators") | .step') == *"waits for endpoint 'd$STOPPED'"* ]]
}
await "the upgrade comes to the stopped host's ordinal and waits there" 60 hook_waits
diag "the upgrade waited for host $STOPPED $((SECONDS - T4)) s after the commit was taken up"
sleep 10
revs_on() {
	timeout 10 docker -H "${HOST_URL[$1]}" ps -a --filter "label=auriga.io/managed-by=$INST" --format '{{.Image}}' | xargs
}
held=1
for n in $(seq 1 $N); do
	[ "$n" = "$STOPPED" ] && continue
	[ "$(revs_on "$n")" = "auriga-demo-node:v1" ] || held=0
done
expect_eq "while host $STOPPED is stopped the rollout holds: every other host still runs v1" 1 "$held"
[ "$held" = 1 ] || for n in $(seq 1 $N); do [ "$n" = "$STOPPED" ] || diag "host $n: $(revs_on "$n")"; done
phase_now=$(phase)
expect_match "the deployment is not Healthy while a host does not answer" "Progressing|Degraded|Pending" "$phase_now"
expect_match "the status says which endpoint does not answer" "docker: endpoint 'd$STOPPED' does not answer" \
	"$(api | jq -r '.source.lastError // ""')"
expect_eq "its replica is shown unreachable on d$STOPPED" "unreachable" \
	"$(api | jq -r ".deployments[] | select(.name == \"validators\") | .instances[] | select(.host == \"d$STOPPED\") | .state")"
expect_match "the preDeploy hook waits for ordinal 0's endpoint" "waits for endpoint 'd$STOPPED'" \
	"$(api | jq -r '.deployments[] | select(.name == "validators") | .step')"

kill -CONT "${HOST_PID[$STOPPED]}"
touch "$TEST_TMP/resumed"
T1=$SECONDS
v2_everywhere() {
	local n
	for n in $(seq 1 $N); do [ "$(revs_on "$n")" = "auriga-demo-node:v2" ] || return 1; done
	phase_is Healthy
}
await "after host $STOPPED answers again the upgrade completes on every host" 300 v2_everywhere
hook_made() {
	docker -H "${HOST_URL[$1]}" events --since "$T3" --until "$(date +%s)" --filter type=container \
		--filter event=create --filter "label=auriga.io/hook=validators" --format '{{.Actor.Attributes.name}}' |
		grep -c "^$INST-validators-predeploy-hook-ok$"
}
expect_eq "the preDeploy hook ran once, on ordinal 0's host d$STOPPED, after it answered" 1 "$(hook_made "$STOPPED")"
expect_eq "and on no other host" "0 0 0" "$(for n in $(seq 1 $N); do [ "$n" = "$STOPPED" ] || hook_made "$n"; done | xargs)"
diag "the upgrade of $N validators completed $((SECONDS - T1)) s after host $STOPPED answered again"
touch "$TEST_TMP/stop"
wait "$SAMPLER" 2>/dev/null
max_down=$(awk '{ if ($1 > m) m = $1 } END { print m + 0 }' "$TEST_TMP/samples")
expect_eq "never more than f = 1 validator unavailable, the stopped host's counted ($(wc -l <"$TEST_TMP/samples") samples)" \
	1 "$max_down"
if [ "$max_down" != 1 ]; then
	grep -v '^1 ' "$TEST_TMP/samples" | head -5 | while read -r l; do diag "sample: $l"; done
	grep -E 'msg=(create|created|remove|stop|"operation held")' "$RUN_LOG" | tail -n 24 | while read -r l; do diag "$l"; done
fi
for n in $(seq 1 $N); do
	expect_eq "host $n still runs exactly its own ordinal ${ORD[$n]}, once" "${ORD[$n]}:d$n:running" "$(on_host "$n")"
done
check "the note on v2 says Healthy" wait_for 60 note_says "$c2" "^auriga: Healthy 4/4 ready"
run_stop "run stops cleanly"

# A restart while host N is stopped: it has not answered since the start, so the validators (their
# placement may use it) wait for it; solo, placed on d1 alone, goes on.
kill -STOP "${HOST_PID[$N]}"
on_exit "kill -CONT ${HOST_PID[$N]} 2>/dev/null"
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: solo}\nspec:\n  replicas: 1\n  placement: {endpoints: [d1]}\n  template: {image: auriga-demo-node:v1}\n' \
	>"$WORK/solo.yaml"
c3=$(commit "solo on d1")
run_start "$TEST_TMP/run2.log" --instance "$INST" --state-dir "$STATE" --listen "127.0.0.1:$RUN_PORT" \
	--policy-file "$POLICY" --poll-interval 1s --repo "file://$REMOTE"
field_of() { api | jq -r ".deployments[] | select(.name == \"$1\") | .$2"; }
solo_healthy() { [ "$(field_of solo phase)" = Healthy ] && [ "$(on_host 1 | tr ' ' '\n' | grep -c ':d1:running$')" = 2 ]; }
T4=$SECONDS
await "while d$N has not answered since the start, solo (on d1 alone) becomes Healthy" 60 solo_healthy
diag "solo Healthy $((SECONDS - T4)) s after the restart, d$N stopped"
expect_match "the validators wait for d$N to answer once" "waits for endpoint 'd$N' to answer once" \
	"$(field_of validators step)"
kill -CONT "${HOST_PID[$N]}"
await "once d$N answers, the validators are Healthy again" 120 phase_is Healthy
run_stop "the second run stops cleanly"

# Bad input: nothing is touched on any host.
before=$(for n in $(seq 1 $N); do docker -H "${HOST_URL[$n]}" ps -aq --filter "label=auriga.io/managed-by=$INST" | sort; done | xargs)
BAD=$TEST_TMP/bad
mkdir -p "$BAD"
cluster >"$BAD/cluster.yaml"
validators v1 >"$BAD/validators.yaml"
printf '  placement: {endpoints: [d1, d9]}\n' >>"$BAD/validators.yaml"
out=$(timeout 120 "$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$BAD" 2>&1)
expect_eq "apply with a placement naming an unknown endpoint exits 1" 1 "$?"
expect_match "the refusal names the file, field and endpoint" \
	'validators\.yaml:[0-9]+:[0-9]+: Deployment/validators: spec\.placement\.endpoints\[1\]: endpoint "d9" is not one of the Cluster.s' "$out"
TLS=$TEST_TMP/tls
mkdir -p "$TLS"
check "TLS material is made" tls_material "$TLS" 127.0.0.1
rm -f "$TLS/client/key.pem"
TPORT=$(free_port)
printf '  - {name: d5, url: "tcp://127.0.0.1:%s", certPath: "%s"}\n' "$TPORT" "$TLS/client" >>"$POLICY"
validators v1 >"$BAD/validators.yaml"
{ cluster; printf '    - {name: d5}\n'; } >"$BAD/cluster.yaml"
out=$(timeout 120 "$AURIGA_BIN" apply --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" \
	--policy-file "$POLICY" "$BAD" 2>&1)
rc=$?
expect_eq "apply with an endpoint whose TLS folder lacks key.pem exits 2" 2 "$rc"
expect_match "the error names the endpoint and the missing file" 'endpoint "d5": TLS folder "[^"]*" has no readable key\.pem' "$out"
after=$(for n in $(seq 1 $N); do docker -H "${HOST_URL[$n]}" ps -aq --filter "label=auriga.io/managed-by=$INST" | sort; done | xargs)
expect_eq "no container was made, started or removed on any host by the refused applies" "$before" "$after"

done_testing
