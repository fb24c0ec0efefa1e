#!/usr/bin/env bash
# Makes a local specs repo from a folder of specs (default: specs/): a bare repo to serve as the
# remote auriga pulls from and writes its notes to, and a work tree to commit changes in.
#
#   hack/demo-repo.sh DIR [SPECS]      DIR/specs.git (bare, branch main) and DIR/work (a clone)
#   hack/demo-repo.sh --commit DIR MSG commits and pushes what changed in DIR/work
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
git_id=(-c user.name=auriga-demo -c user.email=demo@auriga.invalid -c commit.gpgsign=false)

if [ "${1:-}" = "--commit" ]; then
	[ $# -eq 3 ] || { echo "usage: $0 --commit DIR MESSAGE" >&2; exit 2; }
	git -C "$2/work" add -A
	git -C "$2/work" "${git_id[@]}" commit -q -m "$3"
	git -C "$2/work" push -q origin main
	git -C "$2/work" rev-parse HEAD
	exit 0
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 DIR [SPECS]" >&2; exit 2; }
dir=$1
specs=${2:-$top/specs}
[ -d "$specs" ] || { echo "demo-repo: no specs folder '$specs'" >&2; exit 1; }
[ -e "$dir/specs.git" ] && { echo "demo-repo: '$dir/specs.git' exists already" >&2; exit 1; }
mkdir -p "$dir"
git init -q --bare -b main "$dir/specs.git"
git init -q -b main "$dir/work"
cp -R "$specs"/. "$dir/work/"
git -C "$dir/work" add -A
git -C "$dir/work" "${git_id[@]}" commit -q -m "The fleet: slim, business and validator nodes"
git -C "$dir/work" remote add origin "$dir/specs.git"
git -C "$dir/work" push -q origin main
git -C "$dir/work" rev-parse HEAD
