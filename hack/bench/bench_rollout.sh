#!/usr/bin/env bash
# A 25-replica rolling update (v1 -> v2) by auriga against Docker Swarm's `service update` on the
# same engine, with the same constraints: one at a time, start the new before stopping the old
# (auriga maxSurge 1 / maxUnavailable 0; swarm --update-parallelism 1 --update-order start-first),
# the same readiness check every second, and a one-second monitor window (auriga minReadySeconds 1,
# swarm --update-monitor 1s). Prints both times and the ratio. Leaves swarm mode if it entered it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}
n=${BENCH_REPLICAS:-25}
inst=bench-rollout-$$
label=auriga.bench=$inst
svc=auriga-bench-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-rollout.XXXXXX")
joined=0
cleanup() {
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	docker service rm "$svc" >/dev/null 2>&1 || true
	[ "$joined" = 1 ] && docker swarm leave --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

specs() { # IMAGE
	cat >"$tmp/bench.yaml" <<YAML
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: bench
spec:
  role: business
  replicas: $n
  minReadySeconds: 1
  progressDeadlineSeconds: 120
  template:
    image: $1
  probes:
    readiness:
      exec: {command: [/demo-node, probe, /q/health/ready]}
      periodSeconds: 1
      timeoutSeconds: 5
      failureThreshold: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
YAML
}
run() { "$auriga" apply --instance "$inst" --state-dir "$tmp/state" --label "$label" --timeout-total 900 "$tmp/bench.yaml"; }
specs auriga-demo-node:v1
run >/dev/null 2>&1
specs auriga-demo-node:v2
t0=$(date +%s%N)
run >/dev/null 2>&1
auriga_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ids=$(docker ps -aq --filter "label=$label")
docker rm -f $ids >/dev/null

if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null
	joined=1
fi
docker service create -d --name "$svc" --replicas "$n" --label "$label" --container-label "$label" \
	--health-cmd '/demo-node probe /q/health/ready' --health-interval 1s --health-timeout 5s \
	--health-retries 1 --update-parallelism 1 --update-order start-first --update-delay 0s \
	--update-monitor 1s --update-failure-action pause auriga-demo-node:v1 >/dev/null
docker service update --detach=false --quiet --replicas "$n" "$svc" >/dev/null 2>&1 || true
for _ in $(seq 1 300); do
	[ "$(docker service ls --filter "name=$svc" --format '{{.Replicas}}')" = "$n/$n" ] && break
	sleep 1
done
t0=$(date +%s%N)
docker service update --detach=false --quiet --image auriga-demo-node:v2 "$svc" >/dev/null 2>&1
swarm_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "rolling update of $n replicas: auriga ${auriga_ms} ms, docker swarm ${swarm_ms} ms," \
	"swarm/auriga $(python3 -c "print(round($swarm_ms / max($auriga_ms, 1), 2))")x"
