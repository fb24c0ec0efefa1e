#!/usr/bin/env bash
# Git source benchmark: a no-change fetch and a snapshot read of a 1,000-file specs tree with auriga,
# side by side with `git fetch` and `git archive` on the same repo, printed as ratios (auriga / git).
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/bench/bench-lib.bash
A=${AURIGA_BIN:-$PWD/build/auriga}
N=${BENCH_GIT_ROUNDS:-20}
T=$(mktemp -d "${TMPDIR:-/tmp}/auriga-bench-git.XXXXXX")
trap 'rm -rf "$T"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

[ -x "$A" ] || { echo "bench_git: no auriga binary at $A (run make)" >&2; exit 1; }
git init -q -b main "$T/work"
mkdir -p "$T/work/specs"
for i in $(seq 1 1000); do
	d=$T/work/specs/group$((i % 10))
	mkdir -p "$d"
	printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata:\n  name: node-%d\nspec:\n  replicas: %d\n' "$i" "$i" >"$d/node-$i.yaml"
done
git -C "$T/work" add -A
git -C "$T/work" commit -qm "1000 specs"
git clone -q --bare "$T/work" "$T/remote.git"
git clone -q --bare "$T/remote.git" "$T/git-mirror.git"
"$A" source --repo "$T/remote.git" --state-dir "$T/state" fetch >/dev/null

# time_n CMD...: total milliseconds for N runs of CMD.
time_n() {
	local s e i
	s=$(date +%s%N)
	for ((i = 0; i < N; i++)); do "$@" >/dev/null; done
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}

files=$("$A" source --repo "$T/remote.git" --state-dir "$T/state" snapshot --path specs --count)
[ "${files%% *}" = 1000 ] || { echo "bench_git: snapshot saw '$files', expected 1000 files" >&2; exit 1; }

af=$(time_n "$A" source --repo "$T/remote.git" --state-dir "$T/state" fetch)
gf=$(time_n git -C "$T/git-mirror.git" fetch -q "$T/remote.git" "+refs/heads/main:refs/heads/main")
as=$(time_n "$A" source --repo "$T/remote.git" --state-dir "$T/state" snapshot --path specs --count)
gs=$(time_n git -C "$T/git-mirror.git" archive --format=tar main specs)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 1; printf "%.2f", a / b }'; }
printf '%-34s %10s %10s %8s\n' "operation ($N rounds, whole process)" "auriga ms" "git ms" "ratio"
printf '%-34s %10d %10d %8s\n' "no-change fetch (file remote)" "$af" "$gf" "$(ratio "$af" "$gf")"
printf '%-34s %10d %10d %8s\n' "snapshot of 1000 files vs archive" "$as" "$gs" "$(ratio "$as" "$gs")"
bench_row "no-change fetch, file remote ($N rounds)" ms "$af" "git fetch" "$gf" lower
bench_row "snapshot of 1,000 spec files ($N rounds)" ms "$as" "git archive" "$gs" lower
