#!/usr/bin/env bash
# Blue-green switch and rollback time at the router, as a client sees it: a real NGINX on
# 127.0.0.1, two slots of demo nodes (v1 blue, v2 green), and a client that keeps sending requests
# (a new connection each) and reads each answer's X-Node-Version. Each round switches blue->green
# and back through router_set (render, nginx -t, rename, reload by `nginx -s reload`, then the
# same with a router that reloads by SIGHUP to the pid file), and then the same two switches
# written by hand without the check: rename + `nginx -s reload`, and rename + SIGHUP (the floor:
# what NGINX itself needs to turn its workers over to a new configuration).
# Printed, median / max from the decision: when the call returned, the first answer from the new
# slot, and the send time from which every request was answered by the new slot; failed requests;
# `nginx -t` alone and a plain reload of an unchanged configuration under the same load; and the
# naive rollback, `docker stop` + `docker start` of a node until it answers ready, with its ratio.
#   BENCH_ROUNDS=10 BENCH_HOLD_MS=800 BENCH_SLOT_SIZE=2 BENCH_DOCKER_ROUNDS=3 hack/bench/bench_switch.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/bench/bench-lib.bash
B=${AURIGA_BUILD:-$PWD/build}
ROUNDS=${BENCH_ROUNDS:-10}
HOLD_MS=${BENCH_HOLD_MS:-800}
SLOT_SIZE=${BENCH_SLOT_SIZE:-2}
DOCKER_ROUNDS=${BENCH_DOCKER_ROUNDS:-3}
BLUE=auriga-demo-node:v1
GREEN=auriga-demo-node:v2
RUN=bench-switch-$$
LABEL="auriga.test.run=$RUN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-switch.XXXXXX")
cleanup() {
	local pid
	pid=$(cat "$TMP/nginx.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_need_images "$BLUE" "$GREEN"
[ -f "$B/libauriga.a" ] || make -s B="$B" "$B/libauriga.a"
# The driver finds NGINX's master and workers with the C tests' helper (tests/helpers/nginx.c).
${CC:-cc} -std=c11 -D_GNU_SOURCE ${CFLAGS:--O2} -Iapi -Icontroller -Itests/helpers $(pkg-config --cflags jansson libcurl) \
	-o "$TMP/driver" hack/bench/bench_switch.c tests/helpers/nginx.c tests/helpers/testsh.c "$B/libauriga.a" \
	$(pkg-config --libs libgit2 yaml-0.1 jansson libcurl openssl libmicrohttpd) -lpthread -lm

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# node_port CONTAINER: the port Docker published for the node on 127.0.0.1.
node_port() { docker port "$1" 9003/tcp | head -n1 | sed 's/.*://'; }
# wait_ready PORT: polls the node's readiness every 10 ms, for at most 30 s.
wait_ready() {
	local end=$(( $(date +%s) + 30 ))
	until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1/q/health/ready"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# The two slots: SLOT_SIZE nodes each, every one answering before the run starts.
slot() { # IMAGE NAME
	local ports=() id p
	for ((i = 0; i < SLOT_SIZE; i++)); do
		id=$(docker run -d --label "$LABEL" --name "$RUN-$2-$i" -p 127.0.0.1::9003 "$1")
		p=$(node_port "$id")
		wait_ready "$p" || { echo "bench_switch: $1 did not become ready" >&2; return 1; }
		ports+=("$p")
	done
	local IFS=,
	echo "${ports[*]}"
}
blue_ports=$(slot "$BLUE" blue)
green_ports=$(slot "$GREEN" green)

# NGINX of our own, on a free port of 127.0.0.1; the router's file starts empty.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
hack/nginx-conf.sh "$TMP" "$TMP/auriga.conf" --workers auto >"$TMP/nginx.conf"
: >"$TMP/auriga.conf"
nginx -e "$TMP/error.log" -c "$TMP/nginx.conf"

echo "blue-green switch at the router: nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(nproc) cores," \
	"load average $(cut -d' ' -f1 /proc/loadavg), slots of $SLOT_SIZE nodes ($BLUE blue, $GREEN green)," \
	"hold $HOLD_MS ms between switches"
status=0
out=$("$TMP/driver" "$TMP" "$port" "$ROUNDS" "$HOLD_MS" v1 "$blue_ports" v2 "$green_ports") || status=$?
echo "$out" | grep -v '^result '
result=$(echo "$out" | grep '^result ' || true)
[ -n "$result" ] || { echo "bench_switch: the driver failed (status $status)" >&2; exit 1; }

# The naive rollback: stop a node and start it again (its 500 ms drain included), until it answers.
peer=$(docker run -d --label "$LABEL" --name "$RUN-peer" -p 127.0.0.1::9003 "$BLUE")
wait_ready "$(node_port "$peer")"
times=() stops=()
for ((i = 0; i < DOCKER_ROUNDS; i++)); do
	t=$(date +%s%N)
	docker stop "$peer" >/dev/null
	stops+=("$(ms_since "$t")")
	docker start "$peer" >/dev/null
	wait_ready "$(node_port "$peer")"
	times+=("$(ms_since "$t")")
done
rb=$(sed 's/.*rollback_all_median_ms \([0-9.]*\).*/\1/' <<<"$result")
rbdone=$(sed 's/.*rollback_done_median_ms \([0-9.]*\).*/\1/' <<<"$result")
rbmax=$(sed 's/.*rollback_done_max_ms \([0-9.]*\).*/\1/' <<<"$result")
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$DOCKER_ROUNDS" -v stops="${stops[*]}" -v rb="$rb" -v rbdone="$rbdone" -v rbmax="$rbmax" '
	{ v[NR] = $1 }
	END {
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "peer: docker stop + start of a node until ready, n=%d: %.0f / %.0f ms (median / max; the stops alone: %s ms)\n", n, med, v[n], stops
		printf "ratio docker stop+start / router rollback (all new, medians): %.1f\n", med / rb
		printf "ROLLBACK, reported done once NGINX serves it (the call, confirmation included): %.1f ms median, %.1f ms max   guide target: 10 s (%.0fx under at the max)   aim: under 1 s\n", rbdone, rbmax, 10000 / rbmax
	}'
med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
bench_row "blue-green rollback at the router, until NGINX serves it (median)" ms "$rbdone" \
	"docker stop + start of a node until ready" "$med" lower "<1000"
exit "$status"
