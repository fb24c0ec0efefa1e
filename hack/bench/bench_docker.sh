#!/usr/bin/env bash
# Docker client overhead: list, inspect and create/start/remove N times through auriga's client
# and through curl (one process, one reused connection, the same requests) on the same socket,
# in the same run. Prints ms per operation for both and auriga's ratio to curl (1.00 = equal).
#   N_READ=200 N_CREATE=10 hack/bench/bench_docker.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/bench/bench-lib.bash
B=${AURIGA_BUILD:-$PWD/build}
N_READ=${N_READ:-200}
N_CREATE=${N_CREATE:-10}
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
IMG=auriga-test-sleeper:1
RUN=bench-docker-$$
LABEL="auriga.test.run=$RUN"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-docker.XXXXXX")
cleanup() {
	ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

tests/fakes/build-test-image.sh "$IMG"
[ -f "$B/libauriga.a" ] || make -s B="$B" "$B/libauriga.a"
cc -std=c11 -D_GNU_SOURCE -O2 -Iapi -Icontroller $(pkg-config --cflags jansson libcurl) \
	-o "$TMP/driver" hack/bench/bench_docker_driver.c "$B/libauriga.a" \
	$(pkg-config --libs libgit2 yaml-0.1 jansson libcurl openssl libmicrohttpd) -lpthread -lm

# One long-lived container to inspect, and one to find in the labelled list.
target=$(docker run -d --network none --label "$LABEL" --name "$RUN-target" "$IMG")
api=$(curl -s --unix-socket "$SOCK" http://localhost/version | jq -r .ApiVersion)
base="http://localhost/v$api"
filters=$(jq -rn --arg l "$LABEL" '{label: {($l): true}} | tojson | @uri')

ms_since() { echo "$(( ($(date +%s%N) - $1) / 1000 ))"; }	# microseconds

# curl: every request in one process, so one connection serves them all, as in auriga.
args=()
for ((i = 0; i < N_READ; i++)); do args+=(-o /dev/null "$base/containers/json?all=1&filters=$filters"); done
t=$(date +%s%N); curl -sf --unix-socket "$SOCK" "${args[@]}"; curl_list=$(ms_since "$t")
args=()
for ((i = 0; i < N_READ; i++)); do args+=(-o /dev/null "$base/containers/$target/json"); done
t=$(date +%s%N); curl -sf --unix-socket "$SOCK" "${args[@]}"; curl_inspect=$(ms_since "$t")
args=()
for ((i = 0; i < N_CREATE; i++)); do
	n="$RUN-c$i"
	body=$(jq -cn --arg img "$IMG" --arg k "${LABEL%%=*}" --arg v "${LABEL#*=}" \
		'{Image: $img, Labels: {($k): $v}, HostConfig: {NetworkMode: "none"}}')
	[ "$i" -gt 0 ] && args+=(--next)
	args+=(-sf --unix-socket "$SOCK" -o /dev/null -H 'Content-Type: application/json' -X POST -d "$body" "$base/containers/create?name=$n")
	args+=(--next -sf --unix-socket "$SOCK" -o /dev/null -X POST -d "" "$base/containers/$n/start")
	args+=(--next -sf --unix-socket "$SOCK" -o /dev/null -X DELETE "$base/containers/$n?force=1&v=1")
done
t=$(date +%s%N); curl "${args[@]}"; curl_csr=$(ms_since "$t")

out=$("$TMP/driver" "$N_READ" "$N_CREATE" "$LABEL" "$IMG" "$target" "$RUN")
a_list=$(awk '/^list /{print $2}' <<<"$out")
a_inspect=$(awk '/^inspect /{print $2}' <<<"$out")
a_csr=$(awk '/^create_start_remove /{print $2}' <<<"$out")

row() {	# name n auriga_ms_per_op curl_us_total
	awk -v name="$1" -v n="$2" -v a="$3" -v cu="$4" 'BEGIN {
		c = cu / 1000 / n
		printf "%-22s n=%-5d auriga %8.3f ms/op   curl %8.3f ms/op   ratio %.2f\n", name, n, a, c, a / c }'
}
echo "docker client vs curl on $SOCK (API $api), same requests, same run:"
per_op() { awk -v n="$1" -v cu="$2" 'BEGIN { printf "%.3f", cu / 1000 / n }'; }
bench_row "Docker API: container list" "ms/op" "$a_list" curl "$(per_op "$N_READ" "$curl_list")" lower
bench_row "Docker API: container inspect" "ms/op" "$a_inspect" curl "$(per_op "$N_READ" "$curl_inspect")" lower
bench_row "Docker API: create + start + remove" "ms/op" "$a_csr" curl "$(per_op "$N_CREATE" "$curl_csr")" lower
row list "$N_READ" "$a_list" "$curl_list"
row inspect "$N_READ" "$a_inspect" "$curl_inspect"
row create+start+remove "$N_CREATE" "$a_csr" "$curl_csr"
