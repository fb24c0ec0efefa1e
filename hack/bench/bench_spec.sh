#!/usr/bin/env bash
# Decodes and validates 10,000 generated Deployments (100 files of 100 documents) and prints the
# time and peak RSS per 1,000 documents of auriga's whole spec pipeline (YAML with limits, CRD
# schema, decode, defaults, cross-document checks), against two peers measured in the same run:
# a bare libyaml event parse of the same files (nothing kept or checked) and PyYAML's
# safe_load_all with its libyaml loader (builds Python objects, checks nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/bench/bench-lib.bash
docs=${BENCH_DOCS:-10000}
per_file=100
tmp=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-spec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The driver is built from api/ alone (what the pipeline is made of), optimised as in `make`.
hack/embed-crds.sh "$tmp/crds.c" $(ls crds/*.yaml | sort)
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Iapi -Icontroller $(pkg-config --cflags yaml-0.1 jansson openssl) \
	-o "$tmp/bench_spec" hack/bench/bench_spec.c api/*.c controller/source/specdir.c controller/runtime/file.c \
	"$tmp/crds.c" \
	$(pkg-config --libs yaml-0.1 jansson openssl) -lpthread -lm

mkdir -p "$tmp/specs"
python3 - "$tmp/specs" "$docs" "$per_file" <<'PY'
import sys
out, docs, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
roles = ["slim", "business", "validator"]
for f in range((docs + per - 1) // per):
    with open(f"{out}/deployments-{f:04d}.yaml", "w") as fh:
        for k in range(per):
            i = f * per + k
            if i >= docs:
                break
            # A chain inside each role (same phase): node-i waits for node-(i-3).
            dep = f"  dependsOn: [node-{i - 3:05d}]\n" if i >= 3 and i % 10 else ""
            fh.write(f"""---
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: node-{i:05d}
  labels: {{tier: dlt, group: g{i % 17}}}
spec:
  role: {roles[i % 3]}
  phase: {i % 3}
{dep}  replicas: {1 + i % 7}
  template:
    image: auriga-demo-node:v{i % 5}
    env: {{NODE_TYPE: {roles[i % 3]}, NODE_ID: "{i}", DEMO_VERSION: "4.4.{i % 9}"}}
    ports:
      - {{name: http, containerPort: 9003}}
    volumes:
      - {{name: data, mountPath: /data, perReplica: true}}
    resources:
      limits: {{memory: 512Mi, cpu: 500m}}
  probes:
    startup: {{httpGet: {{path: /q/health/startup, port: http}}, periodSeconds: 5, failureThreshold: 30}}
    readiness: {{httpGet: {{path: /q/health/ready, port: http}}, periodSeconds: 10, timeoutSeconds: 5}}
    liveness: {{httpGet: {{path: /q/health/live, port: http}}, periodSeconds: 30, failureThreshold: 2}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxUnavailable: 1, maxSurge: "25%"}}
""")
PY
bytes=$(cat "$tmp"/specs/*.yaml | wc -c)

# Each measurement runs in its own process so that its peak RSS is its own; best of 3 runs.
measure() {
	local best="" line
	for _ in 1 2 3; do
		line=$("$@") || return 1
		if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
			best=$line
		fi
	done
	echo "$best"
}
full=$(measure "$tmp/bench_spec" full "$tmp/specs") || exit 1
raw=$(measure "$tmp/bench_spec" raw "$tmp/specs") || exit 1
py=$(measure /usr/bin/python3 -c '
import glob, resource, sys, time, yaml
t = time.monotonic(); n = 0
for p in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    with open(p) as f:
        n += sum(1 for d in yaml.load_all(f, Loader=yaml.CSafeLoader) if d)
print("pyyaml %.6f %d %d" % (time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n))
' "$tmp/specs") || exit 1

read -r _ ft frss fn <<<"$full"
read -r _ rt rrss _ <<<"$raw"
read -r _ pt prss pn <<<"$py"
[ "$fn" -eq "$docs" ] || { echo "bench_spec: decoded $fn of $docs deployments" >&2; exit 1; }
[ "$pn" -eq "$docs" ] || { echo "bench_spec: PyYAML read $pn of $docs documents" >&2; exit 1; }
bench_row "spec pipeline, $docs Deployments (read, schema, checks)" s "$(printf '%.3f' "$ft")" \
	"PyYAML CSafeLoader, parse only" "$(printf '%.3f' "$pt")" lower
bench_row "spec pipeline peak RSS, $docs Deployments" MB "$(awk -v k="$frss" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')" \
	"PyYAML CSafeLoader" "$(awk -v k="$prss" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')" lower
awk -v n="$docs" -v bytes="$bytes" -v ft="$ft" -v frss="$frss" -v rt="$rt" -v rrss="$rrss" \
	-v pt="$pt" -v prss="$prss" 'BEGIN {
	k = n / 1000
	printf "spec pipeline: %d Deployments, %.1f MiB of YAML in %d-document files\n", n, bytes / 1048576, 100
	printf "%-34s %10s %16s %16s\n", "", "total s", "ms / 1000 docs", "peak RSS MiB"
	printf "%-34s %10.3f %16.1f %16.1f\n", "auriga (load+schema+checks)", ft, ft * 1000 / k, frss / 1024
	printf "%-34s %10.3f %16.1f %16.1f\n", "libyaml events only (baseline)", rt, rt * 1000 / k, rrss / 1024
	printf "%-34s %10.3f %16.1f %16.1f\n", "PyYAML CSafeLoader (peer)", pt, pt * 1000 / k, prss / 1024
	printf "peak RSS per 1000 documents: auriga %.2f MiB (whole process / %d)\n", frss / 1024 / k, k
	printf "ratio: auriga / raw libyaml parse = %.2fx time\n", ft / rt
	printf "ratio: auriga / PyYAML safe_load_all = %.2fx time, %.2fx peak RSS\n", ft / pt, frss / prss
}'
