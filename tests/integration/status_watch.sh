#!/usr/bin/env bash
# `auriga status --watch`: started against a specs repo whose newest commit carries a status
# note, it prints that status; when `auriga apply --repo` lands a note on a newer commit, the
# watch prints the new status within a bounded time, as a table and with --json (read in place
# from the bare repo and through a mirror from a file:// URL); SIGINT and SIGTERM end it with
# status 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance watch
REPO=$TEST_TMP/repo

run() { auriga_cmd "$@"; }
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
table_phase() { sed -n 's/^phase: *//p' "$TEST_TMP/watch.out"; }
json_last() {
	jq -rs '.[-1].deployments[] | select(.name == "gapwatch") | "\(.phase) \(.ready)/\(.desired)"' \
		"$TEST_TMP/watch.json" 2>/dev/null
}
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
# Each watch re-reads every second; 20 s leaves room for a slow machine. A note on the newer
# commit may first say Progressing (written while the rollout ran), then Healthy.
check "within 20 s the watch prints the status noted on the newer commit" wait_for 20 shows table_commits "$c2"
check "within 20 s the JSON watch prints it too" wait_for 20 shows json_commits "$c2"
check "within 20 s the table shows it Healthy" wait_for 20 shows table_phase "Healthy  1/1 ready"
check "within 20 s the JSON watch shows it Healthy" wait_for 20 shows json_last "Healthy 1/1"
diag "the final status was printed $(( $(date +%s) - t0 )) s after the apply"
expect_eq "the table watch went from the first commit to the newer one" "$c1 $c2" \
	"$(table_commits | uniq | tr '\n' ' ' | sed 's/ $//')"
expect_eq "and so did the JSON watch" "$c1 $c2" "$(json_commits | uniq | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no status was printed twice in a row (only changes are printed)" 0 \
	"$(jq -cs '[range(1; length) as $i | select(.[$i] == .[$i - 1])] | length' "$TEST_TMP/watch.json")"
expect_eq "the last document names the revision that runs" \
	"$(docker inspect -f '{{index .Config.Labels "auriga.io/revision"}}' "$(docker ps -q --filter "label=auriga.io/managed-by=$INST")" | cut -c1-12)" \
	"$(jq -rs '.[-1].deployments[] | select(.name == "gapwatch") | .revision' "$TEST_TMP/watch.json" | cut -c1-12)"

# stop PID SIGNAL: sends SIGNAL; $stop_rc is then its exit status, or "still running" (and it is killed).
stop() {
	kill "-$2" "$1"
	if wait_for 15 ended "$1"; then
		wait "$1"
		stop_rc=$?
	else
		kill -9 "$1"
		wait "$1"
		stop_rc="still running 15 s after SIG$2"
	fi
}
stop "$tpid" INT
expect_eq "SIGINT ends the watch with status 0" 0 "$stop_rc"
stop "$jpid" TERM
expect_eq "SIGTERM ends the JSON watch with status 0" 0 "$stop_rc"
# A read that races a push may be reported and retried; a sanitizer report would also change the
# exit status above (the runner makes it 86).
cat "$TEST_TMP/watch.err" "$TEST_TMP/watch-json.err" | while read -r l; do diag "stderr: $l"; done
expect_eq "neither wrote a sanitizer report" 0 \
	"$(cat "$TEST_TMP/watch.err" "$TEST_TMP/watch-json.err" | grep -c -E 'Sanitizer|runtime error')"

done_testing
