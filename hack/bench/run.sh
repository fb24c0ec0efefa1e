#!/usr/bin/env bash
# Runs every benchmark under hack/bench/ (bench_*.sh), each printing its figures and ratios.
set -uo pipefail
cd "$(dirname "$0")/../.."
status=0
for b in hack/bench/bench_*.sh; do
	[ -e "$b" ] || continue
	echo "== $b"
	"$b" || { echo "$b failed" >&2; status=1; }
done
exit $status
