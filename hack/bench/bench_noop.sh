#!/usr/bin/env bash
# The cost of a pass that finds nothing to do, at 25 deployments: `auriga plan` (load and check the
# specs, one labelled container list, the plan) against its peer in the same run, `docker ps` with
# the same label filter (the list alone, through the docker CLI). Prints both and the ratio, and
# auriga's resident memory during a no-op `auriga apply`.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}
n=${BENCH_DEPLOYMENTS:-25}
rounds=${BENCH_ROUNDS:-20}
inst=bench-noop-$$
label=auriga.bench=$inst
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-noop.XXXXXX")
cleanup() {
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/specs"
for i in $(seq 1 "$n"); do
	cat >"$tmp/specs/d$i.yaml" <<YAML
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: d$i
spec:
  role: business
  replicas: 1
  template:
    image: auriga-demo-node:v1
YAML
done
run() { "$auriga" "$1" --instance "$inst" --state-dir "$tmp/state" --label "$label" "${@:2}" "$tmp/specs"; }
run apply --timeout-total 300 >/dev/null 2>&1
run plan >/dev/null || { echo "bench_noop: the fleet did not converge" >&2; exit 1; }

ms() { python3 -c 'import sys,time; print(time.time()*1000)'; }
t0=$(date +%s%N)
for _ in $(seq 1 "$rounds"); do run plan >/dev/null; done
t1=$(date +%s%N)
for _ in $(seq 1 "$rounds"); do
	docker ps -a --filter "label=auriga.io/managed-by=$inst" --format '{{json .}}' >/dev/null
done
t2=$(date +%s%N)
plan_ms=$(( (t1 - t0) / rounds / 1000000 ))
ps_ms=$(( (t2 - t1) / rounds / 1000000 ))
/usr/bin/time -f '%M' -o "$tmp/rss" "$auriga" apply --instance "$inst" --state-dir "$tmp/state" --label "$label" \
	--timeout-total 60 "$tmp/specs" >/dev/null 2>&1 || true
echo "no-op pass at $n deployments: auriga plan ${plan_ms} ms, docker ps (peer) ${ps_ms} ms," \
	"ratio $(python3 -c "print(round($plan_ms / max($ps_ms, 1), 2))")x; auriga apply max RSS $(cat "$tmp/rss") KiB"
