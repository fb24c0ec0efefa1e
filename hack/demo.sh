#!/usr/bin/env bash
# The GitOps story on the local engine: a specs repo made from specs/ (hack/demo-repo.sh), auriga
# bringing the fleet up from it phase by phase, the status note on the commit, then a commit that
# bumps the image and the rollout it causes. `hack/demo.sh down` removes what the demo made.
#
# Probe periods are cut to a second (the guide's 5-30 s are for production) so it takes a minute.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}
label=auriga.demo=1
instance=demo
dir=${AURIGA_DEMO_DIR:-${TMPDIR:-/tmp}/auriga-demo}

down() {
	local ids
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	ids=$(docker volume ls -q --filter "label=$label")
	[ -n "$ids" ] && docker volume rm -f $ids >/dev/null
	rm -rf "$dir"
	return 0
}
if [ "${1:-}" = "down" ]; then
	down
	echo "demo: removed"
	exit 0
fi
down
mkdir -p "$dir"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a specs repo made from specs/ (the 25 nodes: slim, business in two groups, validators)"
mkdir -p "$dir/specs"
cp "$top/specs/cluster.yaml" "$top/specs/jobs.yaml" "$dir/specs/"
mkdir -p "$dir/specs/nodes"
for f in "$top"/specs/nodes/*.yaml; do
	sed -e 's/periodSeconds: [0-9]*/periodSeconds: 1/' -e 's/timeoutSeconds: [0-9]*/timeoutSeconds: 1/' \
		"$f" >"$dir/specs/nodes/$(basename "$f")"
done
commit=$("$top/hack/demo-repo.sh" "$dir/repo" "$dir/specs")
git -C "$dir/repo/work" log --oneline -1

run_auriga() {
	"$auriga" "$1" --repo "$dir/repo/specs.git" --ref main --instance "$instance" \
		--state-dir "$dir/state" --label "$label" "${@:2}"
}

say "auriga plan: what the first apply will do"
run_auriga plan | tail -8 || true

say "auriga apply: phase by phase, each gated by its probes"
run_auriga apply --timeout-total 300 2>"$dir/apply.log"

say "the status note auriga wrote on $commit"
git -C "$dir/repo/work" fetch -q origin 'refs/notes/*:refs/notes/*'
git -C "$dir/repo/work" log -1 --notes=auriga | sed -n '1,14p'

say "a commit bumps the nodes to v2; auriga rolls it out slim -> business -> validators"
sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$dir/repo/work"/nodes/*.yaml
commit=$("$top/hack/demo-repo.sh" --commit "$dir/repo" "Bump the nodes to v2")
run_auriga apply --timeout-total 600 2>>"$dir/apply.log"
git -C "$dir/repo/work" fetch -q origin 'refs/notes/*:refs/notes/*'
git -C "$dir/repo/work" log -1 --notes=auriga --format='%h %s%n%N' | sed -n '1,3p'

say "the fleet"
docker ps --filter "label=auriga.io/managed-by=$instance" --format '{{.Names}}\t{{.Image}}\t{{.Status}}' | sort | head -30
echo
echo "demo: running; 'hack/demo.sh down' removes it (log: $dir/apply.log)"
