#!/usr/bin/env bash
# The daemon's HTTP surface under load while it reconciles, and its cost at rest.
#   1. `auriga run` on the 25-node fleet of specs/ (Cluster, Jobs, slim, business, validators)
#      brings the fleet up from nothing on the real engine; while that rollout runs, wrk asks
#      /metrics and /api/v1/status on 127.0.0.1, and nginx serves a static file of the same size
#      in the same run (2 threads, 16 connections, 5 s each). Prints requests per second, the
#      ratio auriga/nginx, and how many passes ran during the load.
#   2. Once the fleet is healthy, the daemon is left alone for BENCH_IDLE seconds (default 60):
#      its CPU use from /proc/PID/stat (utime + stime) over that window and its resident memory.
# Bounded: fixed durations, a convergence deadline; the fleet lock is held throughout.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNECTIONS:-16}
IDLE=${BENCH_IDLE:-60}
DEADLINE=${BENCH_TIMEOUT:-300}
THREADS=2
inst=bench-daemon-$$
label=auriga.bench=$inst
token=bench-daemon-token
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-daemon.XXXXXX")
run_pid= nginx_pid=
cleanup() {
	set +e # everything is tried, even when something is already gone
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	vols=$(docker volume ls -q --filter "label=$label")
	[ -n "$vols" ] && docker volume rm -f $vols >/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
for tool in wrk nginx curl python3; do
	command -v "$tool" >/dev/null || { echo "bench_daemon: $tool is missing (hack/deps.sh)" >&2; exit 1; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
metric() { curl -fs "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
phase() { curl -fs "http://127.0.0.1:$port/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("phase",""))'; }
rps() { wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$1" 2>&1 | awk '/^Requests\/sec:/ { print $2 }'; }

mkdir -p "$tmp/specs/nodes" "$tmp/www" "$tmp/logs"
cp "$top/specs/cluster.yaml" "$top/specs/jobs.yaml" "$tmp/specs/"
cp "$top"/specs/nodes/*.yaml "$tmp/specs/nodes/"
printf '%s' "$token" >"$tmp/token"

exec 9>/tmp/auriga-fleet.lock
flock -w 900 9 || { echo "bench_daemon: the fleet lock stayed busy" >&2; exit 1; }

port=$(free_port)
nport=$(free_port)
"$auriga" run --instance "$inst" --state-dir "$tmp/state" --listen "127.0.0.1:$port" \
	--api-token-file "$tmp/token" --poll-interval 1h --extra-labels "$label" "$tmp/specs" >"$tmp/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/q/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
# Ready: the first pass has run (the rollout from nothing has begun).
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done

curl -fs "http://127.0.0.1:$port/metrics" >"$tmp/www/metrics"
curl -fs "http://127.0.0.1:$port/api/v1/status" >"$tmp/www/status"
cat >"$tmp/nginx.conf" <<NGINX
worker_processes $THREADS;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	default_type text/plain;
	server {
		listen 127.0.0.1:$nport;
		root $tmp/www;
		location / { }
	}
}
NGINX
nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$nport/metrics" >/dev/null && break; sleep 0.1; done

printf '%-16s %8s %13s %13s %7s %7s %s\n' path bytes "auriga req/s" "nginx req/s" ratio passes "fleet phase after"
for path in metrics status; do
	url=/metrics
	[ "$path" = status ] && url=/api/v1/status
	bytes=$(wc -c <"$tmp/www/$path")
	p0=$(metric auriga_reconcile_duration_seconds_count)
	a=$(rps "http://127.0.0.1:$port$url")
	p1=$(metric auriga_reconcile_duration_seconds_count)
	n=$(rps "http://127.0.0.1:$nport/$path")
	ratio=$(awk -v a="$a" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')
	printf '%-16s %8d %13.0f %13.0f %7s %7d %s\n' "$url" "$bytes" "$a" "$n" "$ratio" $((p1 - p0)) "$(phase)"
done
kill "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=

# The fleet converges, then the daemon rests.
t0=$(date +%s)
while [ "$(phase)" != Healthy ]; do
	[ $(($(date +%s) - t0)) -lt "$DEADLINE" ] || { tail -5 "$tmp/run.log" >&2; echo "bench_daemon: the fleet is not healthy after ${DEADLINE}s" >&2; exit 1; }
	sleep 1
done
up=$(docker ps -q --filter "label=$label" --filter health=healthy | wc -l)
echo "fleet healthy after $(($(date +%s) - t0)) s more: $up healthy containers"
sleep 5 # the last probes of the rollout settle
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$run_pid/stat"; }
c0=$(cpu)
p0=$(metric auriga_reconcile_duration_seconds_count)
s0=$(date +%s%N)
sleep "$IDLE"
c1=$(cpu)
s1=$(date +%s%N)
p1=$(metric auriga_reconcile_duration_seconds_count)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$run_pid/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$run_pid/status")
thr=$(awk '/^Threads/ { print $2 }' "/proc/$run_pid/status")
python3 -c "
ticks = $c1 - $c0; secs = ($s1 - $s0) / 1e9
print(f'idle with the 25-node fleet for {secs:.0f} s: auriga run CPU {ticks / $hz:.2f} s = {100 * ticks / $hz / secs:.2f} % of one core,'
      f' {$p1 - $p0} passes; VmRSS $rss kB, VmHWM $hwm kB, $thr threads')"
