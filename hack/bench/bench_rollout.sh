#!/usr/bin/env bash
# A 25-replica rolling update (v1 -> v2) by auriga against Docker Swarm's `service update` on the
# same engine, with the same constraints:
#   - one at a time, the new started before the old is stopped (auriga maxSurge 1 /
#     maxUnavailable 0; swarm --update-parallelism 1 --update-order start-first, no update delay);
#   - the same image and the same health check: the image's own exec HEALTHCHECK
#     (/demo-node probe /q/health/ready), run by Docker every second, timeout 5 s, one retry, no
#     start period (auriga's exec readiness probe becomes exactly that HEALTHCHECK; swarm keeps the
#     image's command and gets the same timing flags);
#   - a one-second monitor window (auriga minReadySeconds 1, swarm --update-monitor 1s). They are
#     not the same thing: auriga waits out minReadySeconds for every replica before it removes the
#     old one, swarm watches each task for failure in the background while it goes on.
# auriga runs four times. First with the exec probe above, which it hands to Docker as the
# container's HEALTHCHECK (Docker's events then carry each verdict) and makes itself from the start
# until Docker's first check, one interval on: readiness does not wait for that check, where swarm's
# does. Again with no minReadySeconds. Then with the same check made by auriga's own
# prober: an HTTP GET of the same endpoint (/q/health/ready, which is what the image's exec checker
# fetches), every second, timeout 5 s, one failure, to the container's address on a network auriga
# creates (no port published, as swarm publishes none). Kubernetes' probe timing applies there: the
# first probe is due at initialDelaySeconds (0) after the start, not one interval later. That run is
# made with minReadySeconds 1 and again with 0: auriga waits minReadySeconds out before it touches
# the next replica, swarm's monitor window holds nothing back, so the second run is the like-for-like
# one for the mechanism and the first the like-for-like one for the timing of the gate. Mind the
# cost of the check itself: an exec health check every second on 25 containers is 25 `runc exec`
# a second, enough to keep two cores busy (load 35-45 here), which slows every container start in
# the exec runs, swarm's included; an HTTP probe from outside costs next to nothing.
# Then auriga on the same swarm (engine: swarm), handing the update to Swarm with the same update
# config and health check: its time against swarm's alone is auriga's overhead on top of Swarm.
# All runs are timed by the same clock (this host's realtime clock, which also stamps Docker's
# events): from the command to its exit, and from the command to the Docker event that marked the
# last of the 25 new containers healthy. Prints both times, both ratios, and auriga's engine pass
# figures from its own log. The fleet lock is held for the whole run. Leaves swarm mode if it
# entered it.
set -euo pipefail
. "$(dirname "$0")/bench-lib.bash"
n=${BENCH_REPLICAS:-25}
deadline=${BENCH_TIMEOUT:-600}
inst=bench-rollout-$$
label=auriga.bench=$inst
svc=auriga-bench-$$
v1=auriga-demo-node:v1
v2=auriga-demo-node:v2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-rollout.XXXXXX")
joined=0 gwbridge_before=1 events_pid=
cleanup() {
	set +e # everything is tried, even when something is already gone
	[ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
	docker service rm "$svc" >/dev/null 2>&1 || true
	# auriga's own service on the swarm (engine: swarm), by its label.
	svcs=$(docker service ls -q --filter "label=auriga.io/managed-by=$inst-sw" 2>/dev/null)
	[ -n "$svcs" ] && docker service rm $svcs >/dev/null 2>&1
	# auriga names its networks with the instance before them: by its label, not by $net.
	nets=$(docker network ls -q --filter "label=auriga.io/managed-by=$inst")
	[ -n "$nets" ] && docker network rm $nets >/dev/null 2>&1
	if [ "$joined" = 1 ]; then
		# Under load the first leave can fail on a closing RPC connection: try again.
		for _ in 1 2 3 4 5; do
			docker swarm leave --force >/dev/null 2>&1
			[ "$(docker info -f '{{.Swarm.LocalNodeState}}')" = inactive ] && break
			sleep 2
		done
		[ "$gwbridge_before" = 0 ] && docker network rm docker_gwbridge >/dev/null 2>&1 || true
		# Tasks swarm was still making as it left stay behind, created and never started.
		ids=$(docker ps -aq --filter "label=$label")
		[ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
bench_need_images "$v1" "$v2"
bench_fleet_lock

net=auriga-bench-$$
specs() { # IMAGE [exec|http MIN_READY_SECONDS]
	local min_ready=${3:-1} network="" check="exec: {command: [/demo-node, probe, /q/health/ready]}"
	if [ "${2:-}" = http ]; then
		min_ready=$3 network="
    network: $net" check="httpGet: {path: /q/health/ready, port: 9003}"
	fi
	cat >"$tmp/bench.yaml" <<YAML
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: bench
spec:
  role: business
  replicas: $n
  minReadySeconds: $min_ready
  progressDeadlineSeconds: 120
  template:
    image: $1$network
  probes:
    readiness:
      $check
      periodSeconds: 1
      timeoutSeconds: 5
      failureThreshold: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
YAML
}

# Docker's events for our containers, from now on, one JSON object a line.
events_start() { # FILE
	docker events --filter "label=$label" --format '{{json .}}' >"$1" &
	events_pid=$!
	sleep 0.5
}
events_stop() {
	sleep 1 # the last events reach the stream
	kill "$events_pid" 2>/dev/null
	wait "$events_pid" 2>/dev/null || true
	events_pid=
}

# Milliseconds from T0 (ns) to the health event that made the last of the n running containers
# at IMAGE healthy; fails unless exactly n such containers run and each has such an event. auriga
# may be done before Docker's first check of its last containers (it makes the exec check itself
# until then): their verdicts are waited for first, 30 s at most.
last_healthy_ms() { # EVENTS T0 IMAGE
	for _ in $(seq 1 60); do
		[ "$(docker ps --filter "label=$label" --format '{{.Image}} {{.Status}}' |
			awk -v i="$3" '$1 == i && /\(healthy\)/' | wc -l)" -ge "$n" ] && break
		sleep 0.5
	done
	sleep 1 # the last health event reaches the stream
	docker ps --no-trunc --filter "label=$label" --format '{{.ID}} {{.Image}} {{.Status}}' >"$tmp/ps"
	python3 - "$1" "$2" "$3" "$n" "$tmp/ps" <<'PY'
import json, sys
events, t0, image, n, ps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
running = set()
for line in open(ps):
    cid, img, status = line.split(" ", 2)
    if img.split("@")[0] == image and "(healthy)" in status:
        running.add(cid)
healthy = {}
for line in open(events):
    ev = json.loads(line)
    if ev.get("Type") == "container" and ev.get("Action") == "health_status: healthy":
        cid = ev["Actor"]["ID"]
        healthy.setdefault(cid, ev["timeNano"])
missing = [c for c in running if c not in healthy]
if len(running) != n or missing:
    sys.exit(f"bench_rollout: {len(running)} healthy containers at {image} (want {n}), "
             f"{len(missing)} without a health event:\n" + open(ps).read())
print((max(healthy[c] for c in running) - t0) // 1000000)
PY
}

# ---- auriga
run() { "$auriga" apply --instance "$inst" --state-dir "$tmp/state" --label "$label" --timeout-total "$deadline" "$tmp/bench.yaml"; }
specs "$v1"
run >"$tmp/auriga-v1.log" 2>&1 || { cat "$tmp/auriga-v1.log" >&2; echo "bench_rollout: auriga did not bring up v1" >&2; exit 1; }
specs "$v2"
events_start "$tmp/auriga.events"
t0=$(date +%s%N)
run >"$tmp/auriga-v2.log" 2>&1 || { tail -20 "$tmp/auriga-v2.log" >&2; echo "bench_rollout: auriga's rollout failed" >&2; exit 1; }
auriga_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
auriga_healthy_ms=$(last_healthy_ms "$tmp/auriga.events" "$t0" "$v2") || { tail -30 "$tmp/auriga-v2.log" >&2; exit 1; }
events_stop
# Engine figures from its own log: passes, and how long the pass itself took (list to decision).
echo "auriga: rolling update of $n replicas in ${auriga_ms} ms to exit, ${auriga_healthy_ms} ms to the last new container healthy"
ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -fv $ids >/dev/null
rm -rf "$tmp/state"

# ---- auriga, the same check made by its own prober: with minReadySeconds 1 as above, and with 0,
# where nothing holds the next replica once the last is ready (as swarm's monitor window does not)
auriga_http() { # MIN_READY_SECONDS: prints the milliseconds from the command to its exit
	local ms got old ids
	rm -rf "$tmp/state"
	specs "$v1" http "$1"
	run >"$tmp/auriga-http-v1.log" 2>&1 || { cat "$tmp/auriga-http-v1.log" >&2; echo "bench_rollout: auriga did not bring up v1 (http)" >&2; return 1; }
	specs "$v2" http "$1"
	t0=$(date +%s%N)
	run >"$tmp/auriga-http-v2.log" 2>&1 || { tail -20 "$tmp/auriga-http-v2.log" >&2; echo "bench_rollout: auriga's rollout (http) failed" >&2; return 1; }
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	# Done only when all n run at v2 and none at v1.
	got=$(docker ps -q --filter "label=$label" --filter "ancestor=$v2" | wc -l)
	old=$(docker ps -q --filter "label=$label" --filter "ancestor=$v1" | wc -l)
	[ "$got" = "$n" ] && [ "$old" = 0 ] ||
		{ echo "bench_rollout: after auriga's rollout (http): $got at v2, $old at v1" >&2; return 1; }
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null
	echo "$ms"
}
# ---- auriga, the exec check again with no minReadySeconds
rm -rf "$tmp/state"
ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -fv $ids >/dev/null
specs "$v1" exec 0
run >"$tmp/auriga-exec0-v1.log" 2>&1 || { cat "$tmp/auriga-exec0-v1.log" >&2; echo "bench_rollout: auriga did not bring up v1 (exec, 0)" >&2; exit 1; }
specs "$v2" exec 0
t0=$(date +%s%N)
run >"$tmp/auriga-exec0-v2.log" 2>&1 || { tail -20 "$tmp/auriga-exec0-v2.log" >&2; echo "bench_rollout: auriga's rollout (exec, 0) failed" >&2; exit 1; }
auriga_exec0_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "auriga (exec check, minReadySeconds 0): rolling update of $n replicas in ${auriga_exec0_ms} ms to exit"
ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -fv $ids >/dev/null
rm -rf "$tmp/state"

auriga_http_ms=$(auriga_http 1)
echo "auriga (own HTTP readiness probe, minReadySeconds 1): rolling update of $n replicas in ${auriga_http_ms} ms to exit"
auriga_http0_ms=$(auriga_http 0)
echo "auriga (own HTTP readiness probe, minReadySeconds 0): rolling update of $n replicas in ${auriga_http0_ms} ms to exit"

# ---- docker swarm
if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
	docker network inspect docker_gwbridge >/dev/null 2>&1 || gwbridge_before=0
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	docker swarm init --advertise-addr 127.0.0.1 --listen-addr "127.0.0.1:$port" >/dev/null
	joined=1
fi
# No --health-cmd: that would be a shell command, and the image has no shell; the image's exec
# HEALTHCHECK stays, with the same timing as auriga's. No published ports (no ingress needed).
docker service create -d --name "$svc" --replicas "$n" --label "$label" --container-label "$label" \
	--health-interval 1s --health-timeout 5s --health-retries 1 --health-start-period 1ms \
	--update-parallelism 1 --update-order start-first --update-delay 0s --update-monitor 1s \
	--update-failure-action pause "$v1" >/dev/null 2>"$tmp/swarm-create.err"
for _ in $(seq 1 "$deadline"); do
	[ "$(docker service ls --filter "name=$svc" --format '{{.Replicas}}')" = "$n/$n" ] && break
	sleep 1
done
[ "$(docker service ls --filter "name=$svc" --format '{{.Replicas}}')" = "$n/$n" ] ||
	{ echo "bench_rollout: swarm did not bring up v1" >&2; exit 1; }
events_start "$tmp/swarm.events"
t0=$(date +%s%N)
timeout "$deadline" docker service update --detach=false --image "$v2" "$svc" >"$tmp/swarm-update.log" 2>&1 ||
	{ tail -5 "$tmp/swarm-update.log" >&2; echo "bench_rollout: swarm's update failed" >&2; exit 1; }
swarm_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
events_stop
# Swarm's old tasks stop in the background: count only the running ones at v2.
swarm_healthy_ms=$(last_healthy_ms "$tmp/swarm.events" "$t0" "$v2") || { docker service ps "$svc" | head -40 >&2; exit 1; }
state=$(docker service inspect -f '{{.UpdateStatus.State}}' "$svc")
[ "$state" = completed ] || { echo "bench_rollout: swarm's update ended $state" >&2; exit 1; }

# ---- auriga on the same swarm (engine: swarm): the update handed to Swarm as a service update with
# the same update config (start-first, one at a time, monitor 1 s) and health check (the exec
# readiness probe becomes the service's), and judged by auriga: its time against swarm's alone is
# what auriga adds on top of Swarm.
docker service rm "$svc" >/dev/null
for _ in $(seq 1 120); do
	[ -z "$(docker ps -q --filter "label=$label")" ] && break
	sleep 0.5
done
ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -fv $ids >/dev/null
mkdir -p "$tmp/sw"
printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n  endpoints:\n    - {name: local, engine: swarm}\n' \
	>"$tmp/sw/cluster.yaml"
run_sw() { "$auriga" apply --instance "$inst-sw" --state-dir "$tmp/state-sw" --label "$label" --timeout-total "$deadline" "$tmp/sw"; }
specs "$v1"
cp "$tmp/bench.yaml" "$tmp/sw/"
run_sw >"$tmp/auriga-sw-v1.log" 2>&1 || { tail -20 "$tmp/auriga-sw-v1.log" >&2; echo "bench_rollout: auriga did not bring up v1 on swarm" >&2; exit 1; }
specs "$v2"
cp "$tmp/bench.yaml" "$tmp/sw/"
events_start "$tmp/auriga-sw.events"
t0=$(date +%s%N)
run_sw >"$tmp/auriga-sw-v2.log" 2>&1 || { tail -20 "$tmp/auriga-sw-v2.log" >&2; echo "bench_rollout: auriga's rollout on swarm failed" >&2; exit 1; }
auriga_sw_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
auriga_sw_healthy_ms=$(last_healthy_ms "$tmp/auriga-sw.events" "$t0" "$v2") || { tail -30 "$tmp/auriga-sw-v2.log" >&2; exit 1; }
events_stop
echo "auriga on swarm: rolling update of $n replicas in ${auriga_sw_ms} ms to exit, ${auriga_sw_healthy_ms} ms to the last new task healthy"

ratio() { python3 -c "print(round($1 / max($2, 1), 2))"; }
echo "rolling update of $n replicas, command to exit: auriga ${auriga_ms} ms, docker swarm ${swarm_ms} ms," \
	"swarm/auriga $(ratio "$swarm_ms" "$auriga_ms")x"
echo "rolling update of $n replicas, command to last new container healthy (Docker's events):" \
	"auriga ${auriga_healthy_ms} ms, docker swarm ${swarm_healthy_ms} ms," \
	"swarm/auriga $(ratio "$swarm_healthy_ms" "$auriga_healthy_ms")x"
echo "rolling update of $n replicas, command to exit, the exec check with no minReadySeconds (nothing holds" \
	"the next replica, as with swarm's monitor window): auriga ${auriga_exec0_ms} ms, docker swarm ${swarm_ms} ms," \
	"swarm/auriga $(ratio "$swarm_ms" "$auriga_exec0_ms")x"
echo "rolling update of $n replicas, command to exit, auriga probing the same endpoint itself:" \
	"auriga ${auriga_http_ms} ms, docker swarm ${swarm_ms} ms, swarm/auriga $(ratio "$swarm_ms" "$auriga_http_ms")x"
echo "rolling update of $n replicas, command to exit, auriga probing itself with no minReadySeconds" \
	"(nothing holds the next replica, as with swarm's monitor window): auriga ${auriga_http0_ms} ms," \
	"docker swarm ${swarm_ms} ms, swarm/auriga $(ratio "$swarm_ms" "$auriga_http0_ms")x"
echo "rolling update of $n replicas on swarm, command to exit: auriga (engine: swarm) ${auriga_sw_ms} ms," \
	"docker service update ${swarm_ms} ms: auriga adds $(( auriga_sw_ms - swarm_ms )) ms" \
	"($(ratio "$swarm_ms" "$auriga_sw_ms")x); to the last new task healthy ${auriga_sw_healthy_ms} ms against ${swarm_healthy_ms} ms"
s() { python3 -c "print(round($1 / 1000, 1))"; }
bench_row "rolling update, $n replicas, exec check, minReadySeconds 1 (to exit)" s "$(s "$auriga_ms")" \
	"docker service update" "$(s "$swarm_ms")" lower x2
bench_row "rolling update, $n replicas, exec check, to the last new container healthy" s "$(s "$auriga_healthy_ms")" \
	"docker service update" "$(s "$swarm_healthy_ms")" lower
bench_row "rolling update, $n replicas, exec check, minReadySeconds 0 (to exit)" s "$(s "$auriga_exec0_ms")" \
	"docker service update" "$(s "$swarm_ms")" lower x2
bench_row "rolling update, $n replicas, auriga's HTTP probe, minReadySeconds 1" s "$(s "$auriga_http_ms")" \
	"docker service update" "$(s "$swarm_ms")" lower
bench_row "rolling update, $n replicas, auriga's HTTP probe, minReadySeconds 0" s "$(s "$auriga_http0_ms")" \
	"docker service update" "$(s "$swarm_ms")" lower x2
bench_row "rolling update, $n replicas, auriga on Swarm (engine: swarm), exec check (to exit)" s "$(s "$auriga_sw_ms")" \
	"docker service update" "$(s "$swarm_ms")" lower
bench_row "rolling update, $n replicas, auriga on Swarm, to the last new task healthy" s "$(s "$auriga_sw_healthy_ms")" \
	"docker service update" "$(s "$swarm_healthy_ms")" lower
echo "per replica: auriga $(( auriga_ms / n )) ms (minReadySeconds 1000 ms of it), with its own probe" \
	"$(( auriga_http_ms / n )) ms (the same), with no minReadySeconds $(( auriga_http0_ms / n )) ms; swarm $(( swarm_ms / n )) ms;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "minReadySeconds 1 holds each of the $n replicas for 1000 ms, one after another: $n s at the least," \
	"where twice swarm's speed is $(python3 -c "print(round($swarm_ms / 2000, 1))") s"

# What preparing the next replica's container while the current one is probed could take off each
# step: the create itself (Docker's API by curl on the same engine, mean of 10), against a step.
api=$(docker version -f '{{.Server.APIVersion}}')
create_ms=$(for _ in $(seq 1 10); do
	curl -fs -o /dev/null -w '%{time_total}\n' --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' \
		-d "{\"Image\": \"$v1\", \"Labels\": {\"${label%%=*}\": \"${label#*=}\"}}" "http://localhost/v$api/containers/create"
done | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(round(sum(v) * 1000 / len(v), 1))')
ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -fv $ids >/dev/null
echo "creating one container: $create_ms ms (curl, mean of 10), $(python3 -c "print(round($create_ms * 100 * $n / max($auriga_exec0_ms, 1), 1))") %" \
	"of a replica's step with the exec check and no minReadySeconds ($(( auriga_exec0_ms / n )) ms): the most that" \
	"preparing the next replica's container while the current one is probed could save"
bench_row "creating one container, the most a prepared next replica saves a step" ms "$create_ms" - "" lower
