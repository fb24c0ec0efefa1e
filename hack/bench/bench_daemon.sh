#!/usr/bin/env bash
# The daemon's HTTP surface under load while a rollout runs, and its cost at rest.
#   1. `auriga run` follows a specs repository (a bare Git repository on disk, file://) holding
#      the 25-node fleet of specs/ (Cluster, Jobs, slim, business, validators) and brings the
#      fleet up from nothing on the real engine.
#   2. Once the fleet is healthy, the daemon is left alone for BENCH_IDLE seconds (default 60):
#      its CPU use from /proc/PID/stat (utime + stime) over that window and its resident memory.
#   3. A commit moves every node to the v2 image with DEMO_START_DELAY_MS=15000 (a node that
#      takes 15 s to start, as a real one does; with the 5 s startup probe period each replica
#      takes 15 to 20 s) and POST /api/v1/sync makes auriga fetch it at once: a rolling update
#      of all 25 nodes, phase by phase, that lasts minutes. While it runs, wrk asks /metrics
#      and /api/v1/status on 127.0.0.1, and nginx serves static files of the same bytes, in
#      alternating windows (2 threads, 16 connections, BENCH_DURATION each, default 5 s), so both
#      sides run under the same rollout load. During every window a sampler reads the fleet's
#      phase from /api/v1/status four times a second: the figures count only if every sample of
#      every window says Progressing on the new commit, and fewer than 25 containers run v2 after
#      the last window. Printed beside each figure: the reconcile passes that ran during the
#      window (auriga_reconcile_duration_seconds_count) and the containers at v2 (docker ps)
#      before and after it.
# Bounded: fixed durations, a convergence deadline; the fleet lock is held throughout; the v2
# rollout is not waited for (cleanup removes the fleet).
set -euo pipefail
. "$(dirname "$0")/bench-lib.bash"
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNECTIONS:-16}
IDLE=${BENCH_IDLE:-60}
DEADLINE=${BENCH_TIMEOUT:-300}
THREADS=2
v1='auriga-demo-node:v1'
v2='auriga-demo-node:v2'
inst=bench-daemon-$$
label=auriga.bench=$inst
token=bench-daemon-token
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-daemon.XXXXXX")
run_pid='' nginx_pid='' sampler_pid=''
cleanup() {
	set +e # everything is tried, even when something is already gone
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null
	vols=$(docker volume ls -q --filter "label=$label")
	[ -n "$vols" ] && docker volume rm -f $vols >/dev/null
	nets=$(docker network ls -q --filter "label=$label")
	[ -n "$nets" ] && docker network rm $nets >/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for tool in wrk nginx curl python3 git jq; do
	command -v "$tool" >/dev/null || { echo "bench_daemon: $tool is missing (hack/deps.sh)" >&2; exit 1; }
done
bench_need_images "$v1" "$v2"
metric() { curl -fs "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
# "PHASE COMMIT": the fleet's phase and the specs commit being applied.
fleet() {
	curl -fs --max-time 5 "http://127.0.0.1:$port/api/v1/status" | jq -r '"\(.phase) \(.commit)"'
}
at_v2() { docker ps -q --filter "label=$label" --filter "ancestor=$v2" | wc -l; }
phase() { fleet | awk '{ print $1 }'; }
git_() { git -c user.name=bench -c user.email=bench@localhost -C "$tmp/work" "$@"; }

# The specs repository: a bare repository the daemon fetches, and a work tree the bench commits in.
git init -q --bare -b main "$tmp/specs.git"
git init -q -b main "$tmp/work"
mkdir -p "$tmp/work/nodes" "$tmp/www" "$tmp/logs"
# nginx's workers run as an unprivileged user: they must be able to read the files (mktemp -d
# makes a folder only its owner can enter, and nginx would answer 403 to every request).
chmod 755 "$tmp" "$tmp/www"
cp "$top/specs/cluster.yaml" "$top/specs/jobs.yaml" "$tmp/work/"
cp "$top"/specs/nodes/*.yaml "$tmp/work/nodes/"
git_ add -A
git_ commit -qm "fleet at v1"
git_ push -q "$tmp/specs.git" main
printf '%s' "$token" >"$tmp/token"

bench_fleet_lock

port=$(free_port)
"$auriga" run --instance "$inst" --state-dir "$tmp/state" --listen "127.0.0.1:$port" \
	--repo "file://$tmp/specs.git" --api-token-file "$tmp/token" --poll-interval 1h \
	--extra-labels "$label" --api-max-connections-per-client $((CONNS + 16)) >"$tmp/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/q/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done

# The fleet comes up from nothing, then the daemon rests.
t0=$(date +%s)
while [ "$(phase)" != Healthy ]; do
	[ $(($(date +%s) - t0)) -lt "$DEADLINE" ] || { tail -5 "$tmp/run.log" >&2; echo "bench_daemon: the fleet is not healthy after ${DEADLINE}s" >&2; exit 1; }
	sleep 1
done
up=$(docker ps -q --filter "label=$label" --filter "ancestor=$v1" | wc -l)
echo "fleet up from nothing in $(($(date +%s) - t0)) s: $up containers running $v1"
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
      f' {$p1 - $p0} passes; VmRSS $rss kB ({$rss / 1024:.1f} MB), VmHWM $hwm kB, $thr threads')"

# The same bytes for nginx: what /metrics and /api/v1/status answer now.
curl -fs "http://127.0.0.1:$port/metrics" >"$tmp/www/metrics"
curl -fs "http://127.0.0.1:$port/api/v1/status" >"$tmp/www/status"
# The port is picked now, not at the start: another program may have taken one picked minutes
# ago. nginx counts only once it is the one answering, with the same bytes.
start_nginx() {
	nport=$(free_port)
	static_nginx_conf "$tmp" "$nport" "$THREADS" >"$tmp/nginx.conf"
	nginx -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' 2>>"$tmp/logs/start.log" &
	nginx_pid=$!
	for _ in $(seq 50); do
		kill -0 "$nginx_pid" 2>/dev/null || break
		curl -fs "http://127.0.0.1:$nport/metrics" 2>/dev/null | cmp -s - "$tmp/www/metrics" && return 0
		sleep 0.1
	done
	kill "$nginx_pid" 2>/dev/null
	wait "$nginx_pid" 2>/dev/null
	nginx_pid=
	return 1
}
for _ in 1 2 3; do start_nginx && break; done
[ -n "$nginx_pid" ] || { cat "$tmp/logs/start.log" >&2; echo "bench_daemon: nginx did not start" >&2; exit 1; }

# The rolling update: every node to v2, slow to start, fetched at once through the API.
sed -i -e "s|image: $v1|image: $v2|" \
	-e 's|^\( *\)DEMO_VERSION: "4.4.4"$|\1DEMO_VERSION: "4.4.5"\n\1DEMO_START_DELAY_MS: "15000"|' \
	"$tmp"/work/nodes/*.yaml
[ "$(grep -c DEMO_START_DELAY_MS "$tmp"/work/nodes/*.yaml | awk -F: '{ n += $2 } END { print n }')" = 4 ] ||
	{ echo "bench_daemon: the specs did not take the v2 edit" >&2; exit 1; }
git_ commit -qam "every node to v2, 15 s to start"
git_ push -q "$tmp/specs.git" main
c2=$(git_ rev-parse HEAD)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/sync")
[ "$code" = 202 ] || { echo "bench_daemon: POST /api/v1/sync answered $code" >&2; exit 1; }
t0=$(date +%s)
until read -r ph com < <(fleet) && [ "$com" = "$c2" ] && [ "$ph" = Progressing ]; do
	[ $(($(date +%s) - t0)) -lt 60 ] || { tail -5 "$tmp/run.log" >&2; echo "bench_daemon: the v2 rollout did not start" >&2; exit 1; }
	sleep 0.2
done
echo "rolling update to $v2 under way $(($(date +%s) - t0)) s after the sync: $(at_v2) of 25 containers at v2"

sample() { while :; do echo "$(date +%s%N) $(fleet)"; sleep 0.25; done; }
# window NAME URL: wrk on URL with the sampler running; prints "rps passes samples bad v2-before v2-after".
window() {
	local out=$tmp/samples.$1 p0 p1 a v0
	v0=$(at_v2)
	sample >"$out" 2>/dev/null &
	sampler_pid=$!
	p0=$(metric auriga_reconcile_duration_seconds_count)
	wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$2" >"$out.wrk" 2>&1 || true
	a=$(awk '/^Requests\/sec:/ { print $2 }' "$out.wrk")
	p1=$(metric auriga_reconcile_duration_seconds_count)
	sleep 0.3 # one more sample after wrk ends
	kill "$sampler_pid"
	wait "$sampler_pid" 2>/dev/null || true
	sampler_pid=
	# Error answers or broken connections make the figure worthless: the window fails.
	if grep -Eq 'Non-2xx|Socket errors' "$out.wrk"; then
		grep -E 'Non-2xx|Socket errors' "$out.wrk" | sed "s|^|bench_daemon: $1: |" >&2
		echo bad >>"$out"
	fi
	awk -v a="${a:-0}" -v p=$((p1 - p0)) -v c="$c2" -v v0="$v0" -v v1="$(at_v2)" '
		NF == 3 { n++; if ($2 != "Progressing" || $3 != c) bad++ }
		NF != 3 { bad++ }
		END { printf "%s %d %d %d %d %d\n", a, p, n, bad, v0, v1 }' "$out"
}

printf '%-16s %8s %13s %13s %7s   %s\n' path bytes "auriga req/s" "nginx req/s" ratio "during auriga's window / nginx's window"
all_ok=1 last=0
for path in metrics status; do
	url=/metrics
	[ "$path" = status ] && url=/api/v1/status
	bytes=$(wc -c <"$tmp/www/$path")
	read -r a ap an ab av0 av1 < <(window "a-$path" "http://127.0.0.1:$port$url")
	read -r n np nn nb nv0 nv1 < <(window "n-$path" "http://127.0.0.1:$nport/$path")
	last=$nv1
	ratio=$(awk -v a="$a" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? a / n : 0) }')
	printf '%-16s %8d %13.0f %13.0f %7s   %d passes, %d->%d at v2 / %d passes, %d->%d at v2\n' \
		"$url" "$bytes" "$a" "$n" "$ratio" "$ap" "$av0" "$av1" "$np" "$nv0" "$nv1"
	bench_row "HTTP API $url during a 25-node rollout" "req/s" "$(printf '%.0f' "$a")" "nginx, same bytes" "$(printf '%.0f' "$n")" higher
	if [ "$ab" -ne 0 ] || [ "$nb" -ne 0 ] || [ "$an" -lt 4 ] || [ "$nn" -lt 4 ]; then
		all_ok=0
		echo "  bad samples (not Progressing on the v2 commit) or wrk errors: $ab of $an (auriga window), $nb of $nn (nginx window)" >&2
	fi
done
if [ "$all_ok" = 1 ] && [ "$last" -lt 25 ]; then
	echo "the rolling update was in progress in every sample of every window (phase Progressing on the v2 commit; $last of 25 at v2 after the last)"
else
	echo "bench_daemon: the rollout did not cover every window; the figures above are not under load" >&2
	exit 1
fi
echo "the rollout is not waited for: cleanup removes the fleet"
