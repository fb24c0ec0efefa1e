#!/usr/bin/env bash
# Runs every demo-node image as a real container on a published 127.0.0.1 port and checks each
# endpoint, and that each behaviour switch really changes what the container does.
# run-tests: alone
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

REPO=${DEMO_NODE_REPO:-auriga-demo-node}
TAGS=(v1 v2 v3 never-ready flaky slow-start)
declare -A PORT CNAME
CODE=

for t in "${TAGS[@]}"; do
	if ! docker image inspect "$REPO:$t" >/dev/null 2>&1; then
		fail "image $REPO:$t exists (make images builds it)"
		exit 1
	fi
done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# start NAME IMAGE [docker run args...]: a detached container with its port published on
# 127.0.0.1 (container port $CPORT, 9003 unless set); fills PORT[NAME] and CNAME[NAME].
start() {
	local name=$1 image=$2 cport=${CPORT:-9003} c=$TEST_RUN_ID-$1
	shift 2
	CNAME[$name]=$c
	PORT[$name]=
	if ! docker run -d --name "$c" --label "$TEST_LABEL" -p "127.0.0.1::$cport" "$@" "$image" >/dev/null; then
		fail "docker run $name ($image)"
		return 1
	fi
	PORT[$name]=$(docker port "$c" "$cport/tcp" | sed -n 's/^127\.0\.0\.1://p' | head -n 1)
	[ -n "${PORT[$name]}" ] || { fail "published port of $name"; return 1; }
}
started_all=1

# req METHOD NAME PATH [curl args...]: sets CODE, leaves the body and headers in $TEST_TMP.
req() {
	local m=$1 name=$2 path=$3
	shift 3
	CODE=$(curl -s -X "$m" -o "$TEST_TMP/body" -D "$TEST_TMP/headers" -w '%{http_code}' \
		--max-time 10 "$@" "http://127.0.0.1:${PORT[$name]}$path") || true
}
body() { cat "$TEST_TMP/body"; }
hdr() { grep -i "^$1:" "$TEST_TMP/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
is_code() { req GET "$1" "$2"; [ "$CODE" = "$3" ]; }
state() { docker inspect -f "$2" "${CNAME[$1]}" 2>/dev/null; }
not_running() { [ "$(state "$1" '{{.State.Running}}')" = false ]; }
health_is() { [ "$(state "$1" '{{.State.Health.Status}}')" = "$2" ]; }

# metric NAME SERIES: the value of one exact series (labels included) on NAME's /q/metrics, or 0.
metric() {
	req GET "$1" /q/metrics
	awk -v s="$2" 'index($0, s " ") == 1 { v = $NF } END { print (v == "" ? 0 : v) }' "$TEST_TMP/body"
}
series() { echo "http_server_requests_total{method=\"$1\",uri=\"$2\",status=\"$3\"}"; }

# Every http_server_requests_seconds series has 14 buckets with rising le ending in +Inf,
# non-decreasing counts, +Inf equal to _count, and a _sum.
histogram_ok() {
	grep -q '^# TYPE http_server_requests_seconds histogram$' "$1" &&
	awk '
	function key(l) { sub(/^[a-z_]+\{/, "", l); sub(/,?le="[^"]*"/, "", l); sub(/\}.*/, "", l); return l }
	/^http_server_requests_seconds_bucket\{/ {
		k = key($0); v = $NF + 0
		match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
		lv = (le == "+Inf") ? 1e300 : le + 0
		if ((k in last) && (v < last[k] || lv <= lastle[k])) { print "not monotonic: " $0; bad = 1 }
		last[k] = v; lastle[k] = lv; nb[k]++
		if (le == "+Inf") inf[k] = v
	}
	/^http_server_requests_seconds_count\{/ { cnt[key($0)] = $NF + 0 }
	/^http_server_requests_seconds_sum\{/ { sum[key($0)] = $NF + 0 }
	END {
		for (k in nb) {
			n++
			if (nb[k] != 14 || !(k in inf) || !(k in cnt) || cnt[k] != inf[k] || !(k in sum) || sum[k] < 0) {
				print "malformed series: " k; bad = 1
			}
		}
		if (n == 0) { print "no histogram series"; bad = 1 }
		exit bad
	}' "$1"
}

# ---- start everything up front, so the waits overlap ----
t_slow=$(ms)
start slow "$REPO:slow-start" || started_all=0
req GET slow /q/health/ready
slow_ready_first=$CODE slow_ready_first_body=$(body)
req GET slow /q/health/startup
slow_startup_first=$CODE
req GET slow /q/health/live
slow_live_first=$CODE
# A poller in the background notes when ready first answers 200, while the rest starts.
(
	deadline=$(( $(ms) + 20000 ))
	while [ "$(ms)" -lt "$deadline" ]; do
		c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${PORT[slow]}/q/health/ready")
		if [ "$c" = 200 ]; then
			ms >"$TEST_TMP/slow-ready-at"
			exit 0
		fi
		sleep 0.1
	done
) &
slow_poller=$!
on_exit "kill $slow_poller"
hc=(--health-interval=1s --health-timeout=5s --health-retries=2 --health-start-period=1s)
start v1 "$REPO:v1" "${hc[@]}" || started_all=0
start v2 "$REPO:v2" || started_all=0
start v3 "$REPO:v3" || started_all=0
start never "$REPO:never-ready" "${hc[@]}" || started_all=0
start flaky "$REPO:flaky" || started_all=0
start rate1 "$REPO:flaky" -e DEMO_ERROR_RATE=1 || started_all=0
start lat "$REPO:v1" -e DEMO_LATENCY_MS=400 || started_all=0
start drain "$REPO:v1" -e DEMO_DRAIN_MS=5000 -e DEMO_LATENCY_MS=1000 || started_all=0
CPORT=9100 start port "$REPO:v2" -e DEMO_PORT=9100 -e DEMO_NODE_ID=validator-7 || started_all=0
# The two that change by themselves after a few seconds start last and are looked at first.
start livefail "$REPO:v1" -e DEMO_LIVE_FAIL_AFTER_S=8 || started_all=0
start crash "$REPO:v1" -e DEMO_CRASH_AFTER_S=6 || started_all=0

# Nothing below means anything without its containers: stop here rather than wait on each.
[ "$started_all" = 1 ] || { echo "Bail out! containers could not be started"; exit 1; }
wait_for 8 is_code livefail /q/health/live 200
expect_eq "DEMO_LIVE_FAIL_AFTER_S=8: live is 200 at first" 200 "$CODE"
for n in v1 v2 v3 never flaky rate1 lat drain port; do
	wait_for 15 is_code "$n" /q/health/live 200 || fail "$n answers /q/health/live"
done

# ---- the images themselves ----
for t in "${TAGS[@]}"; do
	cfg=$(docker image inspect -f '{{.Config.User}}|{{json .Config.ExposedPorts}}|{{index .Config.Labels "io.auriga.demo-node.hash"}}|{{json .Config.Healthcheck.Test}}' "$REPO:$t")
	expect_match "$t: image runs as a non-root numeric user, exposes 9003, has a hash label and a probe HEALTHCHECK" \
		'^[1-9][0-9]*:[0-9]+\|\{"9003/tcp":\{\}\}\|[0-9a-f]{64}\|\["CMD","/demo-node","probe","/q/health/ready"\]$' "$cfg"
done
expect_eq "the process in the container runs as uid 65534" 65534 \
	"$(docker top "${CNAME[v1]}" -o pid,uid | awk 'NR == 2 { print $2 }')"
before=$(for t in "${TAGS[@]}"; do docker image inspect -f '{{.Id}}' "$REPO:$t"; done)
out=$("$TOP/hack/build-images.sh" 2>&1)
after=$(for t in "${TAGS[@]}"; do docker image inspect -f '{{.Id}}' "$REPO:$t"; done)
expect_eq "a second hack/build-images.sh prints nothing" "" "$out"
expect_eq "a second hack/build-images.sh keeps every image as it was" "$before" "$after"

# ---- version and node headers, per image ----
for pair in v1:v1 v2:v2 v3:v3 never:never-ready flaky:flaky slow:slow-start; do
	n=${pair%%:*} want=${pair#*:}
	req GET "$n" /q/health/live
	expect_eq "$n: X-Node-Version is $want" "$want" "$(hdr X-Node-Version)"
	expect_eq "$n: X-Node-Id is the container's host name" "$(state "$n" '{{.Config.Hostname}}')" "$(hdr X-Node-Id)"
done
req GET port /api/v11/info
expect_eq "DEMO_NODE_ID sets X-Node-Id" validator-7 "$(hdr X-Node-Id)"
expect_eq "DEMO_NODE_ID is the info's node" validator-7 "$(body | jq -r .node)"

# ---- every endpoint on a good node ----
for p in /q/health/live /q/health/ready /q/health/startup /q/health/started /q/health; do
	req GET v1 "$p"
	expect_eq "v1: GET $p is 200" 200 "$CODE"
	expect_eq "v1: $p says UP with its checks" "UP true" "$(body | jq -r '"\(.status) \(.checks | length > 0)"')"
done
req GET v1 /api/v11/info
expect_eq "v1: GET /api/v11/info is 200" 200 "$CODE"
expect_eq "v1: info names the version and is ready" "v1 true" "$(body | jq -r '"\(.version) \(.ready)"')"
req POST v1 /api/v11/transactions -H 'Content-Type: application/json' -d '{"from":"a","to":"b","amount":5}'
expect_eq "v1: POST /api/v11/transactions is 201" 201 "$CODE"
expect_match "v1: the transaction gets an id and counts its body" '^[A-Za-z0-9._+-]+-[0-9]+ ACCEPTED 32$' \
	"$(body | jq -r '"\(.txId) \(.status) \(.bytes)"')"
expect_eq "v1: a transaction answer carries X-Node-Version" v1 "$(hdr X-Node-Version)"
req GET v1 /api/v11/transactions
expect_eq "v1: GET on the transactions path is 405" 405 "$CODE"
expect_eq "v1: the 405 names the allowed method" POST "$(hdr Allow)"
req GET v1 /no/such/path
expect_eq "v1: an unknown path is 404" 404 "$CODE"
expect_eq "v1: a 404 carries X-Node-Version too" v1 "$(hdr X-Node-Version)"
head -c 1100000 /dev/zero >"$TEST_TMP/big"
req POST v1 /api/v11/transactions --data-binary @"$TEST_TMP/big"
expect_eq "v1: a transaction body over 1 MiB is 413" 413 "$CODE"
req GET v1 /q/metrics
expect_eq "v1: GET /q/metrics is 200" 200 "$CODE"
expect_match "v1: metrics are Prometheus text" '^text/plain; version=0.0.4' "$(hdr Content-Type)"
expect_eq "v1: demo_node_info names version and node" 1 \
	"$(metric v1 "demo_node_info{version=\"v1\",node=\"$(state v1 '{{.Config.Hostname}}')\"}")"

# ---- slow start: startup and ready DOWN, then UP once the delay has passed ----
expect_eq "slow-start: ready is 503 right after start" 503 "$slow_ready_first"
expect_eq "slow-start: the early ready body says DOWN" DOWN "$(jq -r .status <<<"$slow_ready_first_body")"
expect_eq "slow-start: startup is 503 right after start" 503 "$slow_startup_first"
expect_eq "slow-start: live is 200 right after start" 200 "$slow_live_first"
wait "$slow_poller"
if [ -s "$TEST_TMP/slow-ready-at" ]; then
	took=$(( $(cat "$TEST_TMP/slow-ready-at") - t_slow ))
	ok "slow-start: ready turns 200"
	check "slow-start: ready turned 200 no sooner than the 5 s delay (${took} ms)" [ "$took" -ge 5000 ]
	req GET slow /q/health/startup
	expect_eq "slow-start: startup is 200 after the delay" 200 "$CODE"
else
	fail "slow-start: ready turns 200"
fi

# ---- never ready: ready stays 503 while live and startup are 200 ----
never_codes=
for _ in 1 2 3 4 5; do
	req GET never /q/health/ready
	never_codes+="$CODE "
	sleep 0.5
done
expect_eq "never-ready: ready is 503 every time" "503 503 503 503 503 " "$never_codes"
req GET never /q/health/ready
expect_eq "never-ready: the readiness check says why" "DOWN true" \
	"$(body | jq -r '"\(.status) \(.checks[] | select(.name == "readiness") | .data.neverReady)"')"
req GET never /q/health/live
expect_eq "never-ready: live is 200" 200 "$CODE"
req GET never /q/health/startup
expect_eq "never-ready: startup is 200" 200 "$CODE"

# ---- error rate: 0.2 fails 20 +- 5 of 100 transactions; 0 and 1 do what they say ----
fails=0
for _ in $(seq 100); do
	req POST flaky /api/v11/transactions -d '{}'
	[ "$CODE" = 500 ] && fails=$((fails + 1))
done
diag "flaky: $fails of 100 transactions answered 500"
check "flaky: 20 +- 5 of 100 transactions answer 500 ($fails)" in_range "$fails" 15 25
expect_eq "flaky: the 500 counter matches what clients saw" "$fails" \
	"$(metric flaky "$(series POST /api/v11/transactions 500)")"
expect_eq "flaky: demo_node_transactions_total{result=\"failed\"} matches" "$fails" \
	"$(metric flaky 'demo_node_transactions_total{result="failed"}')"
rate1_codes=
for _ in 1 2 3 4 5; do
	req POST rate1 /api/v11/transactions -d '{}'
	rate1_codes+="$CODE "
done
expect_eq "DEMO_ERROR_RATE=1 fails every transaction" "500 500 500 500 500 " "$rate1_codes"
good_fails=0
for _ in $(seq 20); do
	req POST v3 /api/v11/transactions -d '{}'
	[ "$CODE" = 201 ] || good_fails=$((good_fails + 1))
done
expect_eq "v3 (no error rate): 20 of 20 transactions succeed" 0 "$good_fails"

# ---- latency: added to transactions, not to health checks ----
t_lat=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 -X POST -d '{}' \
	"http://127.0.0.1:${PORT[lat]}/api/v11/transactions")
t_base=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 -X POST -d '{}' \
	"http://127.0.0.1:${PORT[v3]}/api/v11/transactions")
t_live=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "http://127.0.0.1:${PORT[lat]}/q/health/live")
diag "transaction: ${t_lat}s with DEMO_LATENCY_MS=400, ${t_base}s without; live ${t_live}s"
check "DEMO_LATENCY_MS=400: a transaction takes at least 0.4 s ($t_lat s)" awk -v t="$t_lat" 'BEGIN { exit !(t >= 0.4) }'
check "without latency a transaction takes under 0.4 s ($t_base s)" awk -v t="$t_base" 'BEGIN { exit !(t < 0.4) }'
check "DEMO_LATENCY_MS leaves health checks fast ($t_live s)" awk -v t="$t_live" 'BEGIN { exit !(t < 0.4) }'
s='method="POST",uri="/api/v11/transactions",status="201"'
expect_eq "lat: the histogram puts the transaction above 0.25 s" 0 \
	"$(metric lat "http_server_requests_seconds_bucket{$s,le=\"0.25\"}")"
expect_eq "lat: ... and counts it under +Inf" 1 "$(metric lat "http_server_requests_seconds_bucket{$s,le=\"+Inf\"}")"
check "lat: the histogram's sum holds the 0.4 s" awk -v t="$(metric lat "http_server_requests_seconds_sum{$s}")" \
	'BEGIN { exit !(t >= 0.4) }'

# ---- metrics: counters grow with requests, the histogram is well-formed ----
live_series=$(series GET /q/health/live 200)
c0=$(metric v2 "$live_series")
for _ in 1 2 3 4 5; do req GET v2 /q/health/live; done
c1=$(metric v2 "$live_series")
expect_eq "v2: 5 more GET /q/health/live add 5 to the counter" "$((c0 + 5))" "$c1"
t0=$(metric v2 "$(series POST /api/v11/transactions 201)")
for _ in 1 2 3; do req POST v2 /api/v11/transactions -d '{}'; done
expect_eq "v2: 3 transactions add 3 to the 201 counter" "$((t0 + 3))" \
	"$(metric v2 "$(series POST /api/v11/transactions 201)")"
req GET v2 /nowhere
expect_eq "v2: a 404 is counted under uri NOT_FOUND" 1 "$(metric v2 "$(series GET NOT_FOUND 404)")"
req GET v2 /q/metrics
cp "$TEST_TMP/body" "$TEST_TMP/metrics-v2"
check "v2: the latency histogram is well-formed" histogram_ok "$TEST_TMP/metrics-v2"
expect_eq "v2: the histogram counts the 5+ live requests" "$c1" \
	"$(awk -v s="http_server_requests_seconds_count{${live_series#*\{}" 'index($0, s " ") == 1 { print $NF }' "$TEST_TMP/metrics-v2")"
req GET flaky /q/metrics
check "flaky: the histogram is well-formed" histogram_ok "$TEST_TMP/body"

# ---- liveness failure after N seconds ----
if wait_for 20 is_code livefail /q/health/live 503; then
	ok "DEMO_LIVE_FAIL_AFTER_S=8: live turns 503"
	expect_eq "DEMO_LIVE_FAIL_AFTER_S: the body says DOWN" DOWN "$(body | jq -r .status)"
	req GET livefail /q/health/ready
	expect_eq "DEMO_LIVE_FAIL_AFTER_S: ready is unaffected" 200 "$CODE"
else
	fail "DEMO_LIVE_FAIL_AFTER_S=8: live turns 503"
fi
req GET v1 /q/health/live
expect_eq "v1 (no live failure): live is still 200" 200 "$CODE"

# ---- crash after N seconds ----
if wait_for 20 not_running crash; then
	ok "DEMO_CRASH_AFTER_S=6: the container stops by itself"
	expect_match "DEMO_CRASH_AFTER_S: it was serving, then crashed as asked" \
		'listening on port 9003.*crashing after 6 s' "$(docker logs "${CNAME[crash]}" 2>&1 | tr '\n' ' ')"
	expect_eq "DEMO_CRASH_AFTER_S: exit code 3" 3 "$(state crash '{{.State.ExitCode}}')"
	up_ms=$(( ($(date -d "$(state crash '{{.State.FinishedAt}}')" +%s%N) -
		$(date -d "$(state crash '{{.State.StartedAt}}')" +%s%N)) / 1000000 ))
	check "DEMO_CRASH_AFTER_S: it ran about 6 s first (${up_ms} ms)" in_range "$up_ms" 5500 15000
else
	fail "DEMO_CRASH_AFTER_S=6: the container stops by itself"
fi
check "v1 (no crash switch) is still running" [ "$(state v1 '{{.State.Running}}')" = true ]

# ---- SIGTERM with a drain: ready DOWN at once, keeps serving, exits 0 after the drain ----
wait_for 10 is_code drain /q/health/ready 200 || fail "drain: ready before SIGTERM"
curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -d '{}' \
	"http://127.0.0.1:${PORT[drain]}/api/v11/transactions" >"$TEST_TMP/inflight" &
inflight=$!
sleep 0.3
t_term=$(ms)
docker kill -s TERM "${CNAME[drain]}" >/dev/null
check "drain: ready turns 503 right after SIGTERM" wait_for 3 is_code drain /q/health/ready 503
expect_eq "drain: the ready body says draining" true \
	"$(body | jq -r '.checks[] | select(.name == "readiness") | .data.draining')"
req GET drain /q/health/live
expect_eq "drain: live is still 200 while draining" 200 "$CODE"
req POST drain /api/v11/transactions -d '{}'
expect_eq "drain: a new transaction during the drain is 201" 201 "$CODE"
check "drain: the container is still running during the drain" [ "$(state drain '{{.State.Running}}')" = true ]
wait "$inflight"
expect_eq "drain: the transaction in flight at SIGTERM completes with 201" 201 "$(cat "$TEST_TMP/inflight")"
if wait_for 15 not_running drain; then
	took=$(( $(ms) - t_term ))
	ok "drain: the container exits after the drain"
	expect_eq "drain: exit code 0" 0 "$(state drain '{{.State.ExitCode}}')"
	check "drain: it served for the 5 s drain before exiting (${took} ms)" [ "$took" -ge 4800 ]
else
	fail "drain: the container exits after the drain"
fi
t_stop=$(ms)
docker stop -t 10 "${CNAME[v3]}" >/dev/null
took=$(( $(ms) - t_stop ))
expect_eq "docker stop (default 500 ms drain): exit code 0" 0 "$(state v3 '{{.State.ExitCode}}')"
check "docker stop with the default drain ends before its 10 s kill (${took} ms)" [ "$took" -lt 9000 ]

# ---- probe mode, as an exec and as the image's HEALTHCHECK ----
out=$(docker exec "${CNAME[v1]}" /demo-node probe /q/health/live)
rc=$?
expect_eq "probe exec on a live node exits 0 and prints the status and the version that answered" \
	"0 GET /q/health/live: 200 from version v1" "$rc $out"
out=$(docker exec -e DEMO_PROBE_WANT_VERSION=v1 "${CNAME[v1]}" /demo-node probe /q/health/live)
expect_eq "probe exec wanting the version that answers exits 0" 0 "$?"
out=$(docker exec -e DEMO_PROBE_WANT_VERSION=v2 "${CNAME[v1]}" /demo-node probe /q/health/live)
expect_eq "probe exec wanting another version exits 1" 1 "$?"
expect_match "and says which version answered" "answered by version 'v1', not 'v2'" "$out"
docker exec "${CNAME[never]}" /demo-node probe /q/health/ready >/dev/null
expect_eq "probe exec of ready on never-ready exits 1" 1 "$?"
docker exec "${CNAME[v1]}" /demo-node probe /q/health/live 9999 >/dev/null 2>&1
expect_eq "probe exec to a port nobody listens on exits 1" 1 "$?"
docker exec "${CNAME[v1]}" /demo-node probe /no/such >/dev/null
expect_eq "probe exec of a 404 exits 1" 1 "$?"
docker exec "${CNAME[port]}" /demo-node probe /q/health/ready >/dev/null
expect_eq "probe exec follows DEMO_PORT=9100" 0 "$?"
check "HEALTHCHECK: v1 becomes healthy" wait_for 20 health_is v1 healthy
check "HEALTHCHECK: never-ready becomes unhealthy" wait_for 20 health_is never unhealthy
expect_match "HEALTHCHECK: its log holds the probe's output" 'GET /q/health/ready: 503' \
	"$(state never '{{range .State.Health.Log}}{{.Output}}{{end}}')"

# ---- bad settings: a clear error naming the variable, exit 2 ----
# Detached, so a node that wrongly starts serving cannot hold the test up.
bads=(DEMO_ERROR_RATE=1.5 DEMO_PORT=abc DEMO_START_DELAY_MS=-5 DEMO_NEVER_READY=maybe DEMO_LATENCY_MS=1e3
	'DEMO_VERSION=v 1' DEMO_CRASH_AFTER_S=x DEMO_DRAIN_MS=-1 DEMO_LIVE_FAIL_AFTER_S=0x5)
for i in "${!bads[@]}"; do
	CNAME[bad$i]=$TEST_RUN_ID-bad$i
	docker run -d --name "${CNAME[bad$i]}" --label "$TEST_LABEL" -e "${bads[$i]}" "$REPO:v1" >/dev/null ||
		fail "docker run with ${bads[$i]}"
done
for i in "${!bads[@]}"; do
	bad=${bads[$i]}
	if wait_for 10 not_running "bad$i"; then
		expect_eq "$bad: exits 2" 2 "$(state "bad$i" '{{.State.ExitCode}}')"
	else
		fail "$bad: exits 2 (still running after 10 s)"
	fi
	expect_match "$bad: the error names the variable and the value" "^demo-node: ${bad%%=*}: '${bad#*=}' is" \
		"$(docker logs "${CNAME[bad$i]}" 2>&1)"
done

done_testing
