#!/usr/bin/env bash
# `auriga status --watch`: started against a specs repo whose newest commit carries a status
# note, it prints that status; when `auriga apply --repo` lands a note on a newer commit, the
# watch prints the new status within a bounded time, as a table and with --json (read in place
# from the bare repo and through a mirror from a file:// URL); SIGINT and SIGTERM end it with
# status 0.
. "$(dirname "$0")/../lib.sh"

INST=it-watch-$$
STATE=$TEST_TMP/state
SPECS=$TEST_TMP/specs
REPO=$TEST_TMP/repo
mkdir -p "$SPECS" "$STATE"

run() {
	local cmd=$1
	shift
	"$AURIGA_BIN" "$cmd" --instance "$INST" --state-dir "$STATE" --label "$TEST_LABEL" "$@"
}
spec() { # IMAGE
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: gapwatch}
spec:
  progressDeadlineSeconds: 60
  template:
    image: $1
EOF
}
# The commits the table output has shown, one per status printed.
table_commits() { sed -n 's/^commit: *//p' "$TEST_TMP/watch.out"; }
# The commits of the JSON documents printed, one per document.
json_commits() { jq -r .noteCommit "$TEST_TMP/watch.json" 2>/dev/null; }
shows() { [ "$("$1" | tail -1)" = "$2" ]; }
ended() { ! kill -0 "$1" 2>/dev/null; }

spec auriga-demo-node:v1 >"$SPECS/watch.yaml"
c1=$("$TOP/hack/demo-repo.sh" "$REPO" "$SPECS")
run apply --timeout-total 60 --repo "$REPO/specs.git" --ref main >/dev/null 2>"$TEST_TMP/a1.err"
expect_eq "the first commit applies" 0 "$?"

"$AURIGA_BIN" status --watch --interval 1 --repo "$REPO/specs.git" --ref main \
	>"$TEST_TMP/watch.out" 2>"$TEST_TMP/watch.err" &
tpid=$!
"$AURIGA_BIN" status --watch --interval 1 --json --repo "file://$REPO/specs.git" --ref main \
	--state-dir "$STATE/mirror" >"$TEST_TMP/watch.json" 2>"$TEST_TMP/watch-json.err" &
jpid=$!
on_exit "kill -9 $tpid $jpid"

check "the watch prints the first commit's status" wait_for 30 shows table_commits "$c1"
check "the JSON watch prints it too" wait_for 30 shows json_commits "$c1"
expect_match "the table shows the deployment healthy" "gapwatch +([^ ]+ +)?Healthy +1/1" "$(cat "$TEST_TMP/watch.out")"

spec auriga-demo-node:v2 >"$REPO/work/watch.yaml"
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "gapwatch to v2")
run apply --timeout-total 60 --repo "$REPO/specs.git" --ref main >/dev/null 2>"$TEST_TMP/a2.err"
expect_eq "the second commit applies" 0 "$?"
t0=$(date +%s)
# Each watch re-reads every second; 20 s leaves room for a slow machine.
check "within 20 s the watch prints the status noted on the newer commit" wait_for 20 shows table_commits "$c2"
check "within 20 s the JSON watch prints it too" wait_for 20 shows json_commits "$c2"
diag "the new status was printed $(( $(date +%s) - t0 )) s after the apply"
expect_eq "the table watch printed two statuses (no repeat of an unchanged one)" "$c1 $c2" "$(table_commits | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the JSON watch printed two documents" "$c1 $c2" "$(json_commits | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the last document gives the new revision's phase and counts" "Healthy 1/1" \
	"$(jq -rs '.[-1].deployments[] | select(.name == "gapwatch") | "\(.phase) \(.ready)/\(.desired)"' "$TEST_TMP/watch.json")"
expect_eq "and the revision that runs" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' "$(docker ps -q --filter "label=auriga.io/managed-by=$INST")" | cut -c1-12)" \
	"$(jq -rs '.[-1].deployments[] | select(.name == "gapwatch") | .revision' "$TEST_TMP/watch.json" | cut -c1-12)"

kill -INT "$tpid"
check "SIGINT ends the watch" wait_for 15 ended "$tpid"
wait "$tpid"
expect_eq "with status 0" 0 "$?"
kill -TERM "$jpid"
check "SIGTERM ends the JSON watch" wait_for 15 ended "$jpid"
wait "$jpid"
expect_eq "with status 0" 0 "$?"
expect_eq "neither wrote an error or a sanitizer report" "" "$(cat "$TEST_TMP/watch.err" "$TEST_TMP/watch-json.err")"

done_testing
