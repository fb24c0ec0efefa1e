#!/usr/bin/env bash
# A note on every commit auriga takes up, against a bare Git remote: a valid commit is applied and
# noted Healthy; a commit whose specs do not load is noted Refused with file:line:col, by
# `apply --repo` and by `run` (which logs it once over several polls); of two commits pushed at
# once the older is noted Superseded, naming the newer, and so is a release whose rollout a newer
# commit cut short. `auriga status` exits 0, 3, 4, 5 or 6 for a Healthy, Progressing, Refused,
# rolled back, Superseded or not yet noted head. The source section
# (head seen, commit applied, last fetch, last fetch error) is in the notes and /api/v1/status,
# which says within a bounded wait that the remote cannot be reached once it is moved away.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1
engine_instance notes
specs_repo
listen_port

note_of() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null; }
# note_says COMMIT REGEX: the first line of COMMIT's note matches REGEX.
note_says() { [[ $(note_of "$1" | head -1) =~ $2 ]]; }
# status_rc [REV]: `auriga status`'s exit code for the branch head (or REV); its output in status.out.
status_rc() {
	"$AURIGA_BIN" status --repo "$REMOTE" "$@" >"$TEST_TMP/status.out" 2>&1
	echo $?
}
status_is() { [ "$(status_rc)" = "$1" ]; }
api() { curl -sf --max-time 5 "$RUN_URL/api/v1/status"; }
api_field() { api | jq -r "$1 // \"\""; }
api_is() { [ "$(api_field "$1")" = "$2" ]; }
# An unknown field on line 8, column 5: the problem the Refused notes must name.
bad_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: 1
  template:
    image: auriga-demo-node:v1
    colour: blue
EOF
}
BAD_AT='bad\.yaml:8:5: Deployment/bad: spec\.template\.colour'
problems_of() { note_of "$1" | sed -n '/^problems:/,/^[a-z]/p'; }
# apply_repo N: `auriga apply --repo` of the head; its exit code, its output in aN.out (the last
# lines shown when it is not 0).
apply_repo() {
	local rc
	auriga_cmd apply --timeout-total 120 --repo "file://$REMOTE" >"$TEST_TMP/a$1.out" 2>&1
	rc=$?
	[ "$rc" = 0 ] || tail -n 8 "$TEST_TMP/a$1.out" | while read -r l; do diag "apply: $l"; done
	return "$rc"
}

# --- apply --repo: applied, refused, rolled back ---------------------------------------------------
node_yaml web >"$WORK/web.yaml"
c1=$(commit "web v1")
apply_repo 1
expect_eq "apply --repo applies a valid commit" 0 "$?"
check "its note says Healthy" note_says "$c1" "^auriga: Healthy 1/1 ready"
expect_match "the note's source section names the head fetched and the commit applied" \
	"source: +head: $c1 +applied: $c1 +lastFetchAt: 20" "$(note_of "$c1" | tr '\n' ' ')"
expect_eq "auriga status exits 0 for a Healthy head" 0 "$(status_rc)"
expect_match "the note gives each replica's host (the Cluster's endpoint: local)" \
	"hosts: +[a-z0-9-]*web-0: local" "$(note_of "$c1" | tr '\n' ' ')"
expect_match "auriga status shows each replica's host" "hosts: [a-z0-9-]*web-0 local" "$(cat "$TEST_TMP/status.out")"

bad_yaml >"$WORK/bad.yaml"
c2=$(commit "an unknown field")
apply_repo 2
expect_eq "apply --repo refuses a commit whose specs do not load (exit 1)" 1 "$?"
check "apply notes it Refused" note_says "$c2" "^auriga: Refused 0/0 ready"
expect_match "the note gives the problem with file:line:col" "$BAD_AT" "$(problems_of "$c2")"
expect_eq "auriga status exits 4 for a Refused head" 4 "$(status_rc)"
expect_match "auriga status shows the problem" "problems: +$BAD_AT" "$(cat "$TEST_TMP/status.out")"

rm "$WORK/bad.yaml"
node_yaml web 'env: {DEMO_NEVER_READY: "1"}' | sed 's/progressDeadlineSeconds: 60/progressDeadlineSeconds: 6/' \
	>"$WORK/web.yaml"
c3=$(commit "web never ready")
apply_repo 3
expect_eq "apply of a release that never gets ready exits 1" 1 "$?"
check "its note says it was rolled back" note_says "$c3" "^auriga: RolledBack"
expect_eq "auriga status exits 5 for a head rolled back" 5 "$(status_rc)"

# --- auriga run: applied, refused once, two commits at once -----------------------------------------
node_yaml web >"$WORK/web.yaml"
c4=$(commit "web v1 again")
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --state-dir "$STATE" --instance "$INST" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s
check "the daemon becomes ready" wait_for 30 run_is_ready
await "run notes the valid head Healthy" 90 note_says "$c4" "^auriga: Healthy 1/1"
await "/api/v1/status: source.head is the branch head" 20 api_is .source.head "$c4"
expect_eq "/api/v1/status: source.applied is the same commit" "$c4" "$(api_field .source.applied)"
expect_match "/api/v1/status: the last good fetch has its time" '^20[0-9-]+T' "$(api_field .source.lastFetchAt)"
check "auriga status exits 0" wait_for 30 status_is 0

bad_yaml >"$WORK/bad.yaml"
c5=$(commit "an unknown field, again")
await "run notes the invalid head Refused" 60 note_says "$c5" "^auriga: Refused 0/0 ready"
expect_match "run's note gives the problem with file:line:col" "$BAD_AT" "$(problems_of "$c5")"
expect_match "its source section names the commit the fleet stays on" "applied: $c4" "$(note_of "$c5")"
check "auriga status exits 4" wait_for 30 status_is 4
await "/api/v1/status: the head seen is the refused commit" 20 api_is .source.head "$c5"
expect_eq "/api/v1/status: the commit applied is still the last good one" "$c4" "$(api_field .source.applied)"
# notes_summary COMMIT: the first line of COMMIT's note as /api/v1/notes lists it ("" when absent).
notes_summary() {
	curl -sf --max-time 5 "$RUN_URL/api/v1/notes?limit=50" |
		jq -r --arg c "$1" '.notes[] | select(.commit == $c) | .summary' | head -1
}
expect_match "/api/v1/notes lists the refused commit's note" "^auriga: Refused" "$(notes_summary "$c5")"
sleep 4
expect_eq "run logs the refused commit once over several polls (1 s)" 1 \
	"$(grep -c 'the specs at this commit do not load' "$RUN_LOG")"

rm "$WORK/bad.yaml"
node_yaml web 'env: {RELEASE: "6"}' >"$WORK/web.yaml"
c6=$(commit_local "release 6, never applied")
node_yaml web 'env: {RELEASE: "7", DEMO_START_DELAY_MS: "15000"}' >"$WORK/web.yaml"
c7=$(commit "release 7, ready after 15 s")
await "run takes the newer commit: its note says Progressing" 60 note_says "$c7" "^auriga: Progressing"
check "auriga status exits 3 while the head is progressing" wait_for 30 status_is 3
await "the older commit is noted Superseded" 30 note_says "$c6" "^auriga: Superseded 0/0 ready"
expect_match "its note names the newer commit" "supersededBy: \"?$c7" "$(note_of "$c6")"
expect_match "/api/v1/notes lists the superseded commit's note" "^auriga: Superseded" "$(notes_summary "$c6")"
expect_eq "auriga status exits 6 for the superseded commit" 6 "$(status_rc "$c6")"
expect_match "and names the newer commit" "superseded: by $c7" "$(cat "$TEST_TMP/status.out")"
await "the newer commit becomes Healthy" 90 note_says "$c7" "^auriga: Healthy 1/1"
check "auriga status exits 0 again" wait_for 30 status_is 0

node_yaml web 'env: {RELEASE: "10", DEMO_START_DELAY_MS: "30000"}' >"$WORK/web.yaml"
c10=$(commit "release 10, ready after 30 s")
await "run takes a slow release: its note says Progressing" 60 note_says "$c10" "^auriga: Progressing"
node_yaml web 'env: {RELEASE: "11"}' >"$WORK/web.yaml"
c11=$(commit "release 11, before 10 was applied")
await "a rollout cut short by a newer commit is noted Superseded" 60 note_says "$c10" "^auriga: Superseded"
expect_match "naming the newer commit" "supersededBy: \"?$c11" "$(note_of "$c10")"
await "the newer commit becomes Healthy" 90 note_says "$c11" "^auriga: Healthy 1/1"

# --- the remote out of reach --------------------------------------------------------------------
mv "$REMOTE" "$REMOTE.away"
git_failing() { [[ $(api_field .source.lastError) == git:* ]]; }
await "/api/v1/status says the source cannot be fetched (a 1 s poll, within 15 s)" 15 git_failing
expect_match "with the fetch error" "$REMOTE" "$(api_field .source.lastFetchError)"
expect_match "and its time" '^20[0-9-]+T' "$(api_field .source.lastFetchErrorAt)"
expect_eq "beside the fleet's own phase" Healthy "$(api_field .phase)"
mv "$REMOTE.away" "$REMOTE"
git_good() { ! git_failing && api_is .source.head "$c11"; }
await "a good fetch again clears it (the last error stays, with its time)" 60 git_good
expect_match "the last fetch error is kept" "$REMOTE" "$(api_field .source.lastFetchError)"
run_stop "run stops with status 0"

# --- a head with no note yet, then passed over by apply --repo ----------------------------------
echo "not specs" >"$WORK/README"
c8=$(commit "a readme")
expect_eq "auriga status exits 6 for a head with no note yet" 6 "$(status_rc)"
expect_match "and says so before the newest note" "head: +$c8 has no status note yet; the newest before it" \
	"$(cat "$TEST_TMP/status.out")"
expect_eq "auriga status --json gives the head and the exit code" "$c8 6" \
	"$("$AURIGA_BIN" status --repo "$REMOTE" --json | jq -r '.head + " " + (.exitCode | tostring)')"
echo "still not specs" >"$WORK/README"
c9=$(commit "a readme again")
apply_repo 9
expect_eq "apply --repo applies the newer head" 0 "$?"
check "apply notes the commit it passed over Superseded" note_says "$c8" "^auriga: Superseded"
expect_match "naming the head" "supersededBy: \"?$c9" "$(note_of "$c8")"
expect_eq "no sanitizer report from the daemon" 0 "$(grep -c -E 'Sanitizer|runtime error' "$RUN_LOG")"

done_testing
