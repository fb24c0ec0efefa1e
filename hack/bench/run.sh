#!/usr/bin/env bash
# make bench: runs every benchmark under hack/bench/ (bench_*.sh), each printing its own figures,
# and then one table of them all: each figure beside its peer measured in the same run, the ratio
# (how many times better auriga is: above 1 it is ahead), and the goal, met or not. The no-op pass
# runs at 25 deployments on the real engine and at each of BENCH_SIZES (1,000 10,000 50,000 by
# default) against the fake fleet daemon: the growth curve of pass time and memory.
# BENCH_ONLY="noop rollout" runs only those benchmarks (bench_noop.sh, bench_rollout.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
sizes=${BENCH_SIZES-1000 10000 50000}	# empty: the 25 on the engine alone
only=${BENCH_ONLY:-}
table=$(mktemp "${TMPDIR:-/tmp}/auriga-bench-table.XXXXXX")
trap 'rm -f "$table"' EXIT
export BENCH_TABLE=$table
status=0
failed=()

run() { # NAME ENV... SCRIPT
	local name=$1
	shift
	echo "== $name"
	env "$@" || { echo "$name failed" >&2; status=1; failed+=("$name"); }
}
wanted() { [ -z "$only" ] || [[ " $only " == *" ${1#bench_} "* ]]; }

for b in hack/bench/bench_*.sh; do
	[ -e "$b" ] || continue
	name=$(basename "$b" .sh)
	wanted "$name" || continue
	if [ "$name" = bench_noop ]; then
		run "$name (25)" BENCH_PARTS=small "$b"
		for n in $sizes; do
			run "$name ($n)" BENCH_PARTS=large BENCH_LARGE="$n" "$b"
		done
	else
		run "$name" "$b"
	fi
done

echo
echo "== the table ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$table" <<'PY'
import sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out = [("figure", "auriga", "peer (same run)", "peer", "ratio", "goal", "")]
for fig, unit, a, peer, pv, better, goal in rows:
    a_v = float(a)
    r, met = None, ""
    if peer != "-" and pv and a_v > 0 and float(pv) > 0:
        r = float(pv) / a_v if better == "lower" else a_v / float(pv)
    ratio = f"{r:.2f}x" if r is not None else ""
    if goal:
        if goal[0] == "x":
            want = float(goal[1:])
            ok = r is not None and r >= want
            goal_txt = f"{want:g}x the peer"
        else:
            want = float(goal[1:])
            ok = a_v < want if goal[0] == "<" else a_v > want
            goal_txt = f"{goal[0]} {want:g} {unit}"
        met = "met" if ok else "NOT met"
    else:
        goal_txt = ""
    out.append((fig, f"{a} {unit}", peer if peer != "-" else "", f"{pv} {unit}" if pv else "", ratio, goal_txt, met))
w = [max(len(r[i]) for r in out) for i in range(len(out[0]))]
for i, r in enumerate(out):
    print("| " + " | ".join(c.ljust(w[j]) for j, c in enumerate(r)) + " |")
    if i == 0:
        print("|" + "|".join("-" * (x + 2) for x in w) + "|")
print("ratio: how many times better auriga is than the peer (time and memory: the peer's over auriga's; "
      "requests a second: auriga's over the peer's)")
PY
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]} (their rows are missing)"
exit $status
