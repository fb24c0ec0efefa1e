#!/usr/bin/env bash
# Requests per second of the controller's /metrics and /api/v1/status (a 25-deployment fleet,
# hack/bench/httpd_harness.c) under wrk on 127.0.0.1, beside nginx serving the same bytes as
# static files in the same run; prints both and their ratio. Bounded: wrk -d 5s, 16 connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/bench/bench-lib.bash
B=${BENCH_BUILD:-build}
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=2

for tool in wrk nginx curl cc; do
	command -v "$tool" >/dev/null || { echo "bench_httpd: $tool is missing (hack/deps.sh)" >&2; exit 1; }
done
make -s B="$B" "$B/libauriga.a" >/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-httpd.XXXXXX")
harness_pid= nginx_pid=
cleanup() {
	[ -n "$harness_pid" ] && kill "$harness_pid" 2>/dev/null && wait "$harness_pid" 2>/dev/null
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Iapi -Icontroller $(pkg-config --cflags jansson libmicrohttpd openssl) \
	-o "$tmp/httpd_harness" hack/bench/httpd_harness.c "$B/libauriga.a" \
	$(pkg-config --libs libgit2 yaml-0.1 jansson libcurl openssl libmicrohttpd) -lpthread -lm

p1=$(free_port)
p2=$(free_port)
"$tmp/httpd_harness" "$p1" "$THREADS" 2>"$tmp/harness.log" &
harness_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$p1/healthz" >/dev/null && break; sleep 0.1; done

mkdir -p "$tmp/www" "$tmp/logs"
# nginx's workers run as an unprivileged user and must be able to read the files (mktemp -d
# makes a folder only its owner can enter: nginx would answer 403 to every request).
chmod 755 "$tmp" "$tmp/www"
curl -fs "http://127.0.0.1:$p1/metrics" >"$tmp/www/metrics"
curl -fs "http://127.0.0.1:$p1/api/v1/status" >"$tmp/www/status"
static_nginx_conf "$tmp" "$p2" "$THREADS" >"$tmp/nginx.conf"
nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$p2/metrics" >/dev/null && break; sleep 0.1; done

rps() {
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$1" 2>&1 | awk '/^Requests\/sec:/ { print $2 }'
}
printf '%-18s %10s %14s %14s %8s\n' path bytes "auriga req/s" "nginx req/s" ratio
for path in metrics status; do
	url=/metrics
	[ "$path" = status ] && url=/api/v1/status
	bytes=$(wc -c <"$tmp/www/$path")
	a=$(rps "http://127.0.0.1:$p1$url")
	n=$(rps "http://127.0.0.1:$p2/$path")
	ratio=$(awk -v a="$a" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')
	printf '%-18s %10d %14.0f %14.0f %8s\n' "$url" "$bytes" "$a" "$n" "$ratio"
	bench_row "HTTP API $url, idle controller" "req/s" "$(printf '%.0f' "$a")" "nginx, same bytes" "$(printf '%.0f' "$n")" higher
done
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$harness_pid/status")
echo "auriga harness resident memory after the runs: ${rss} kB"
