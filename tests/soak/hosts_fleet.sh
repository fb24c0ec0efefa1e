#!/usr/bin/env bash
# The 25-node fleet of specs/ over five Docker hosts against the same specs on one: five extra
# daemons (tests/hosts-lib.bash), the fleet brought up from nothing with `auriga apply --repo` and
# then upgraded to v2, once with a Cluster of one endpoint and once with five (each its own
# instance). On five, the validators run one per host, every host runs a share of the fleet, each
# container is on the endpoint its label names, and the note and `auriga status` name every
# replica's host. Prints the times and the five-host/one-host ratios: the cost of spreading.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/run-lib.bash"
. "$TOP/tests/hosts-lib.bash"
. "$TOP/tests/e2e/fleet-lib.bash"

need_images v1 v2
N=5
for n in $(seq 1 $N); do
	check "host $n starts" host_start "$n"
	check "the demo images are loaded into host $n" host_load "$n" v1 v2
done
POLICY=$TEST_TMP/policy.yaml
{
	echo "endpoints:"
	for n in $(seq 1 $N); do printf '  - {name: d%s, url: "%s"}\n' "$n" "${HOST_URL[$n]}"; done
} >"$POLICY"

# ms_since START_NS
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# on_hosts INST: "ENDPOINT-LABEL:DEPLOYMENT" of each of INST's running containers, host by host,
# as "dN=ENDPOINT-LABEL:DEPLOYMENT".
on_hosts() {
	local n
	for n in $(seq 1 $N); do
		docker -H "${HOST_URL[$n]}" ps --filter "label=auriga.io/managed-by=$1" \
			--format "d$n={{.Label \"auriga.io/endpoint\"}}:{{.Label \"auriga.io/deployment\"}}"
	done
}
declare -A UP UPGRADE
# fleet HOSTS: the fleet on the first HOSTS endpoints, up and upgraded; sets UP[HOSTS], UPGRADE[HOSTS].
fleet() {
	local hosts=$1 inst=soak-hosts$1-$$ dir=$TEST_TMP/fleet$1 repo c1 c2 n out
	repo=$dir/repo
	make_fleet "$dir/specs"
	# The Cluster's endpoints: d1..dHOSTS in place of the local engine.
	python3 - "$dir/specs/cluster.yaml" "$hosts" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
text = open(path).read()
eps = "".join("    - name: d%d\n" % i for i in range(1, n + 1))
assert "    - name: local\n" in text
open(path, "w").write(text.replace("    - name: local\n", eps, 1))
PY
	c1=$("$TOP/hack/demo-repo.sh" "$repo" "$dir/specs")
	a() {
		"$AURIGA_BIN" apply --instance "$inst" --state-dir "$dir/state" --extra-labels "$TEST_LABEL" \
			--policy-file "$POLICY" --timeout-total 600 --repo "$repo/specs.git" --ref main "$@"
	}
	# timed_apply NAME ARRAY WHAT: applies the repo's head; ARRAY[hosts] gets how long it took (ms).
	timed_apply() {
		local start rc
		start=$(date +%s%N)
		a >"$dir/$1.out" 2>"$dir/$1.err"
		rc=$?
		printf -v "$2[$hosts]" '%s' "$(ms_since "$start")"
		expect_eq "on $hosts host(s): $3 (apply exits 0)" 0 "$rc"
		[ "$rc" = 0 ] || tail -n 5 "$dir/$1.out" | while read -r l; do diag "$l"; done
	}
	timed_apply up UP "the fleet comes up"
	out=$(on_hosts "$inst")
	expect_eq "on $hosts host(s): 25 containers run" 25 "$(echo "$out" | grep -c .)"
	expect_eq "on $hosts host(s): each on the endpoint its label names" 0 \
		"$(echo "$out" | awk -F'[=:]' '$1 != $2' | grep -c .)"
	expect_eq "on $hosts host(s): the validators run one per host, on min($hosts, 5) hosts" \
		"$((hosts < 5 ? hosts : 5))" "$(echo "$out" | grep ':validators$' | cut -d= -f1 | sort -u | wc -l)"
	if [ "$hosts" -gt 1 ]; then
		for n in $(seq 1 "$hosts"); do
			check "on $hosts hosts: host d$n runs a share of the fleet" test "$(echo "$out" | grep -c "^d$n=")" -ge 3
		done
		note=$(git --git-dir="$repo/specs.git" notes --ref=auriga show "$c1" 2>/dev/null)
		expect_match "the note says Healthy 25/25" "^auriga: Healthy 25/25" "$note"
		expect_eq "the note names a host for each of the 25 replicas" 25 \
			"$(echo "$note" | grep -o "$inst-[a-z0-9-]*-[0-9]*: d[1-5]" | sort -u | wc -l)"
		"$AURIGA_BIN" status --repo "$repo/specs.git" >"$dir/status.out" 2>&1
		expect_eq "auriga status names a host for each of the 25 replicas" 25 \
			"$(grep -o "$inst-[a-z0-9-]*-[0-9]* d[1-5]" "$dir/status.out" | sort -u | wc -l)"
	fi
	for f in slim.yaml business.yaml validators.yaml; do set_image "$dir/repo/work" "$f" auriga-demo-node:v2; done
	c2=$("$TOP/hack/demo-repo.sh" --commit "$repo" "Every node to v2")
	timed_apply upgrade UPGRADE "the upgrade to v2 converges"
	out=$(on_hosts "$inst")
	expect_eq "on $hosts host(s): 25 containers run v2" 25 \
		"$(for n in $(seq 1 $N); do docker -H "${HOST_URL[$n]}" ps --filter "label=auriga.io/managed-by=$inst" \
			--format '{{.Image}}'; done | grep -cx auriga-demo-node:v2)"
	expect_eq "on $hosts host(s): no ordinal of a deployment twice" "" \
		"$(for n in $(seq 1 $N); do docker -H "${HOST_URL[$n]}" ps -a --filter "label=auriga.io/managed-by=$inst" \
			--format '{{.Label "auriga.io/deployment"}}-{{.Label "auriga.io/ordinal"}}'; done | sort | uniq -d)"
	diag "on $hosts host(s): up ${UP[$hosts]} ms, upgrade ${UPGRADE[$hosts]} ms (c1 ${c1:0:12}, c2 ${c2:0:12})"
	for n in $(seq 1 $N); do
		ids=$(docker -H "${HOST_URL[$n]}" ps -aq --filter "label=auriga.io/managed-by=$inst")
		[ -n "$ids" ] && docker -H "${HOST_URL[$n]}" rm -fv $ids >/dev/null 2>&1
	done
}
fleet 1
fleet 5
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
diag "the 25-node fleet, one host against five: up ${UP[1]} ms vs ${UP[5]} ms (x$(ratio "${UP[5]}" "${UP[1]}")), upgrade ${UPGRADE[1]} ms vs ${UPGRADE[5]} ms (x$(ratio "${UPGRADE[5]}" "${UPGRADE[1]}"))"

done_testing
