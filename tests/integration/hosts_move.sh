#!/usr/bin/env bash
# run-tests: alone
# A host killed for good (its dockerd SIGKILLed) over a Cluster of three extra daemons: the stateless
# deployment's replica there (placement.moveAfter) is made on another host and ready within moveAfter
# plus its start and a pass or two; the stateful one's (a perReplica volume) stays there, reported
# unreachable, and no container of that ordinal is made anywhere else. The host started again on its
# data root brings its old containers back (their restart policy): the moved ordinal's old container
# is removed there, never counted ready, and once it is gone no ordinal runs twice (every host sampled
# while it converges); the stateful replica is ready on it again.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"

need_images v1
engine_instance hmove
specs_repo
listen_port
N=3
GONE=2
MOVE=5

for n in $(seq 1 $N); do
	check "host $n starts" host_start "$n"
	check "the demo image is loaded into host $n" host_load "$n" v1
done

POLICY=$TEST_TMP/policy.yaml
{
	echo "endpoints:"
	for n in $(seq 1 $N); do printf '  - {name: d%s, url: "%s"}\n' "$n" "${HOST_URL[$n]}"; done
} >"$POLICY"
{
	printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n'
	for n in $(seq 1 $N); do printf '    - {name: d%s}\n' "$n"; done
} >"$WORK/cluster.yaml"
# deployment NAME PLACEMENT [VOLUMES]: three replicas of the demo node, spread over the hosts, ready
# once its own probe says so.
deployment() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $N
  progressDeadlineSeconds: 600
  placement: $2
  template:
    image: auriga-demo-node:v1
EOF
	[ -z "${3:-}" ] || printf '    volumes: %s\n' "$3"
	printf '  probes:\n    readiness: {exec: {command: [/demo-node, probe, /q/health/ready]}, periodSeconds: 1, failureThreshold: 2}\n'
}
deployment web "{moveAfter: ${MOVE}s}" >"$WORK/web.yaml"
deployment store "{maxPerEndpoint: 1}" "[{name: data, mountPath: /data, perReplica: true}]" >"$WORK/store.yaml"
c1=$(commit "web (moveAfter ${MOVE}s) and store (a volume per replica) on three hosts")

run_start "$TEST_TMP/run.log" --instance "$INST" --state-dir "$STATE" --listen "127.0.0.1:$RUN_PORT" \
	--policy-file "$POLICY" --poll-interval 1s --repo "file://$REMOTE"

api() { curl -sf --max-time 5 "$RUN_URL/api/v1/status"; }
field_of() { api | jq -r ".deployments[] | select(.name == \"$1\") | .$2"; }
both_healthy() { [ "$(field_of web phase)" = Healthy ] && [ "$(field_of store phase)" = Healthy ]; }
note_of() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null; }
# on_host N DEP [STATE]: the ordinals of DEP's containers on host N (in STATE, e.g. running), sorted.
on_host() {
	local f=()
	[ -n "${3:-}" ] && f=(--filter "status=$3")
	timeout 10 docker -H "${HOST_URL[$1]}" ps -a --filter "label=auriga.io/managed-by=$INST" \
		--filter "label=auriga.io/deployment=$2" "${f[@]}" --format '{{.Label "auriga.io/ordinal"}}' | sort | xargs
}
# instance DEP ORDINAL FIELD...: FIELDs of DEP's instances of ORDINAL in the API, one instance a line.
instance() {
	api | jq -r --arg n "$INST-$1-$2" ".deployments[] | select(.name == \"$1\") | .instances[] |
		select(.name == \$n) | [$3] | join(\" \")"
}

await "web and store become Healthy on three hosts" 240 both_healthy
for n in $(seq 1 $N); do
	expect_match "host $n runs one replica of web" "^[0-2]$" "$(on_host "$n" web running)"
	STORE_AT[$n]=$(on_host "$n" store running)
	expect_match "host $n runs one replica of store" "^[0-2]$" "${STORE_AT[$n]}"
done
W=$(on_host $GONE web)
S=$(on_host $GONE store)
diag "on host $GONE: web-$W and store-$S"

# Host GONE crashes for good.
T0=$(date +%s.%N)
check "host $GONE's dockerd is killed (SIGKILL)" host_kill $GONE
# moved_ready: web's ordinal W has a ready instance on another host.
moved_ready() {
	instance web "$W" '.host, (.ready|tostring), .state' | grep -qE "^d[^$GONE ]+ true running$"
}
await "web-$W is made on another host and ready" 90 moved_ready
MOVED=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
diag "web-$W ready elsewhere $MOVED s after host $GONE was killed (moveAfter ${MOVE}s)"
check "within moveAfter + start + a few passes (${MOVE} + 15 s)" \
	awk -v m="$MOVED" -v l="$((MOVE + 15))" 'BEGIN { exit !(m <= l) }'
TO=$(instance web "$W" '.host' | grep -v "^d$GONE$" | head -1)
TO=${TO#d}
expect_eq "web-$W runs once on the hosts that answer (on d$TO)" "1" \
	"$(for n in $(seq 1 $N); do [ "$n" = $GONE ] || on_host "$n" web running; done | tr ' ' '\n' | grep -c "^$W$")"
expect_eq "the API shows web-$W's old container on d$GONE as moved" "moved" \
	"$(instance web "$W" '.host, .state' | awk -v h="d$GONE" '$1 == h { print $2 }')"
hosts_note() { note_of "$c1" | grep -q "web-$W: d$TO"; }
check "the note gives web-$W's new host d$TO" wait_for 30 hosts_note
expect_no_match "the note does not name web-$W's old host" "web-$W: d$GONE" "$(note_of "$c1")"
"$AURIGA_BIN" status --repo "$REMOTE" >"$TEST_TMP/status.out" 2>&1
expect_match "auriga status prints web-$W on d$TO" "web-$W d$TO" "$(cat "$TEST_TMP/status.out")"

# The stateful replica stays: unreachable, the deployment not Healthy, nothing of its ordinal elsewhere.
sleep $((MOVE + 5))
expect_eq "store-$S is reported unreachable on d$GONE" "d$GONE unreachable" "$(instance store "$S" '.host, .state')"
expect_match "store is not Healthy while its replica's host is gone" "Progressing|Degraded" "$(field_of store phase)"
for n in $(seq 1 $N); do
	[ "$n" = $GONE ] && continue
	expect_eq "no container of store-$S is made on host $n" "" \
		"$(on_host "$n" store | tr ' ' '\n' | grep "^$S$")"
	expect_eq "host $n still holds one store volume" 1 \
		"$(docker -H "${HOST_URL[$n]}" volume ls -q --filter "label=auriga.io/managed-by=$INST" | wc -l)"
done

# Host GONE starts again on its data root: its containers come back, the moved one goes.
# sample: every host's running web and store ordinals, and whether the API counts web-W on d$GONE ready.
sample() {
	local n line
	while [ ! -e "$TEST_TMP/stop" ]; do
		line="$(date +%s.%N)"
		for n in $(seq 1 $N); do line="$line|$(on_host "$n" web running)"; done
		line="$line|$(instance web "$W" '.host, (.ready|tostring)' | awk -v h="d$GONE" '$1 == h { print $2 }' | xargs)"
		echo "$line" >>"$TEST_TMP/samples"
		sleep 0.3
	done
}
check "host $GONE starts again on its data root" host_daemon $GONE
T1=$(date +%s.%N)
sample &
SAMPLER=$!
on_exit "touch $TEST_TMP/stop; kill $SAMPLER 2>/dev/null"
converged() {
	[ -z "$(on_host $GONE web)" ] && both_healthy &&
		[ "$(instance store "$S" '.host, (.ready|tostring)')" = "d$GONE true" ]
}
await "web-$W's old container is removed from host $GONE, and store-$S is ready on it again" 180 converged
diag "converged $(awk -v a="$T1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after host $GONE answered"
sleep 3
touch "$TEST_TMP/stop"
wait "$SAMPLER" 2>/dev/null
# on_gone: the samples' lines in which web-W runs on host GONE.
on_gone() { awk -F'|' -v g=$((GONE + 1)) -v w="$W" '(" " $g " ") ~ (" " w " ")' "$TEST_TMP/samples"; }
diag "web-$W's old container seen running on host $GONE in $(on_gone | wc -l) of $(wc -l <"$TEST_TMP/samples") samples"
# twice: the samples in which an ordinal runs on two hosts at once.
twice() { awk -F'|' '{ delete c; for (i = 2; i < NF; i++) { n = split($i, o, " "); for (j = 1; j <= n; j++) if (++c[o[j]] > 1) { print; next } } }'; }
last=$(awk -F'|' -v g=$((GONE + 1)) -v w="$W" '(" " $g " ") ~ (" " w " ") { l = NR } END { print l + 0 }' "$TEST_TMP/samples")
after=$(($(wc -l <"$TEST_TMP/samples") - last))
runs_once() {
	[ "$after" -gt 0 ] || { echo "web-$W still runs on host $GONE at the last sample"; return; }
	tail -n +$((last + 1)) "$TEST_TMP/samples" | twice | head -3
}
expect_eq "web-$W runs once: its old container goes, and after that no ordinal of web runs on two hosts at once ($after samples)" \
	"" "$(runs_once)"
overlap=$(twice <"$TEST_TMP/samples" | awk -F'|' 'NR == 1 { a = $1 } { b = $1 } END { printf "%.1f", b - a }')
diag "web-$W ran on two hosts for about $overlap s (its daemon restarted it before auriga saw the host again)"
expect_eq "the API never counted web-$W's old container ready" "" "$(awk -F'|' '$NF == "true"' "$TEST_TMP/samples")"
check "the removal is logged" grep -q "replica moved off endpoint 'd$GONE' while it was down: removing its old container" \
	"$RUN_LOG"
for n in $(seq 1 $N); do
	expect_eq "host $n runs one replica of store, the one it had" "${STORE_AT[$n]}" "$(on_host "$n" store running)"
	expect_eq "and nothing else of store" "${STORE_AT[$n]}" "$(on_host "$n" store)"
done
expect_eq "store-$S runs on host $GONE, once in all" "$S 1" \
	"$(on_host $GONE store running) $(for n in $(seq 1 $N); do on_host "$n" store; done | tr ' ' '\n' | grep -c "^$S$")"
expect_eq "web's three ordinals run once each, none on host $GONE" "0 1 2" \
	"$(for n in $(seq 1 $N); do on_host "$n" web running; done | tr ' ' '\n' | sort | xargs)"
run_stop "run stops cleanly"

done_testing
