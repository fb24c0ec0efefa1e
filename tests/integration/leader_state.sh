#!/usr/bin/env bash
# run-tests: long
# The state a takeover continues from is shared: the leader writes its state file and release records
# to refs/auriga/state/<instance> of the specs repository (one commit, no history) and a new leader
# takes them up before it acts. A pause is answered once it is shared: killed right after the
# answer, the leader's rollout stays paused, until resume on the new leader; a revision the leader marked failed is not tried again by
# the new leader at the same commit. The lease's ref has no history either. A state a pusher to the specs
# remote forged (without the MAC of the controllers' signing key) is refused by the new leader.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

LEADER_TEST=leader-state
. "$(dirname "$0")/../leader-lib.bash"

# shared JQ: JQ over the state file the instance shares (empty when there is none).
shared() { git -C "$REMOTE" show "refs/auriga/state/$INST:engine.json" 2>/dev/null | jq -r "$1"; }
shared_is() { [ "$(shared "$1")" = "$2" ]; }
field_is() { [ "$(field "$1" "$2")" = "$3" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

write_specs v1
c1=$(commit "web v1")
start_two
check "v1 runs on all $N replicas, healthy" wait_for 180 healthy_on $L "$c1"
check "the leader shares its state: the ref holds v1's healthy revision" wait_for 30 shared_is ".deployments.$DEP.healthy.commit" "$c1"
expect_eq "the shared state is one commit, without history" 1 "$(git -C "$REMOTE" rev-list --count "refs/auriga/state/$INST")"
sleep 3
expect_eq "the lease is one commit after several renewals, without history" 1 "$(git -C "$REMOTE" rev-list --count "refs/auriga/lease/$INST")"
expect_eq "the follower wrote no note (its log)" "" "$(grep -E 'status note|cannot publish the note|note not written' "$TEST_TMP/$F.log")"
# notes_pushed NAME: the note writes controller NAME attempted (auriga_git_note_push_duration_seconds_count, 0 when none).
notes_pushed() { curl -sf --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" | awk '$1 == "auriga_git_note_push_duration_seconds_count" { n = $2 } END { print n + 0 }'; }
check "the leader wrote notes" test "$(notes_pushed $L)" -ge 1
expect_eq "the follower attempted no note write" 0 "$(notes_pushed $F)"
expect_eq "... and counted no error of notes" "" "$(curl -sf --max-time 5 "http://127.0.0.1:${PORT[$F]}/metrics" | grep '^auriga_errors_total{.*notes')"

# (1) A rollout paused on the leader stays paused across a takeover, until resume on the new leader.
write_specs v2
c2=$(commit "web v2")
check "the rollout to v2 is under way" wait_for 120 some_on v2
expect_eq "the leader accepts pause" 202 "$(post $L pause)"
# Killed at once: no wait for a pass, nor for the share.
kill -9 "${PID[$L]}"
check "the pause mark was shared when the leader answered" shared_is ".deployments.$DEP.paused" true
held=$(running auriga-demo-node:v2)
diag "v2 containers when paused: $held"
wait_for 10 gone "${PID[$L]}"
check "the follower takes the lease after the kill" wait_for 60 is_leader $F
check "the new leader's status says paused" wait_for 30 field_is $F paused true
grew=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	[ "$(running auriga-demo-node:v2)" -gt "$held" ] && grew=1
done
expect_eq "paused after the takeover: no new v2 container over ten seconds of the new leader" 0 "$grew"
expect_eq "the new leader accepts resume" 202 "$(post $F resume)"
check "resumed: the new leader completes the rollout to v2" wait_for 180 healthy_on $F "$c2"
expect_eq "... all $N replicas on v2" "$N" "$(running auriga-demo-node:v2)"
check "the resume is shared" wait_for 30 shared_is ".deployments.$DEP.paused // false" false

# (2) A failure mark survives a takeover: the new leader does not try the failed revision again.
start_ctl $L
sleep 3
expect_eq "the restarted controller follows" 0 "$(leader_of $L)"
write_specs v1 'DEMO_NEVER_READY: "1"' 12
c3=$(commit "web v1, never ready")
failed_shared() { [ "$(shared ".deployments.$DEP.failed.commit")" = "$c3" ]; }
check "the leader marks the revision failed at its deadline, and shares the mark" wait_for 120 failed_shared
check "the leader rolls back to v2" wait_for 120 field_is $F phase RolledBack
kill -9 "${PID[$F]}"
wait_for 10 gone "${PID[$F]}"
t_kill=$(now_ns)
check "the restarted controller takes the lease after the kill" wait_for 60 is_leader $L
sleep 10
check "the new leader's status says the commit rolled back" wait_for 30 field_is $L phase RolledBack
events_mark "evmark-$$-1"
wait_for 30 grep -q "|destroy|evmark-$$-1|" "$TEST_TMP/ev"
expect_eq "no container of the failed revision is created after the takeover" "" \
	"$(creates_since "$t_kill" | awk -F'|' '$6 == "auriga-demo-node:v1"')"
expect_eq "... all $N replicas still on v2" "$N" "$(running auriga-demo-node:v2)"

# (3) A state forged by a pusher to the specs remote is not taken up: the shared state carries the MAC
# of the controllers' signing key, which a pusher does not have. The forgery keeps the MAC the leader
# wrote and names v1 where the state says v2.
start_ctl $F
check "the controller started again follows" wait_for 30 follows "$F"
forge() {
	local f=$TEST_TMP/forged.json blob tree
	git -C "$REMOTE" show "refs/auriga/state/$INST:engine.json" | sed 's/auriga-demo-node:v2/auriga-demo-node:v1/g' >"$f"
	blob=$(git -C "$REMOTE" hash-object -w "$f")
	tree=$(git -C "$REMOTE" ls-tree "refs/auriga/state/$INST" |
		awk -v b="$blob" -F'\t' '{ split($1, m, " "); if ($2 == "engine.json") m[3] = b; printf "%s %s %s\t%s\n", m[1], m[2], m[3], $2 }' |
		git -C "$REMOTE" mktree)
	git -C "$REMOTE" update-ref "refs/auriga/state/$INST" "$(git -C "$REMOTE" commit-tree "$tree" -m "forged state")"
}
forge
forged_v1() { ! git -C "$REMOTE" show "refs/auriga/state/$INST:engine.json" | grep -q "auriga-demo-node:v2"; }
check "the forged state names v1 where it said v2" forged_v1
check "it keeps the leader's MAC beside it" test -n "$(git -C "$REMOTE" show "refs/auriga/state/$INST:state.mac" 2>/dev/null)"
kill -9 "${PID[$L]}"
wait_for 10 gone "${PID[$L]}"
t_kill=$(now_ns)
refused() {
	curl -sf --max-time 5 "http://127.0.0.1:${PORT[$F]}/metrics" |
		awk '/^auriga_lease_operations_total\{/ && /op="state-fetch"/ && /result="refused"/ { n += $NF } END { exit !(n >= 1) }'
}
check "the new leader refuses the forged state: counted" wait_for 90 refused
check "... and logged, naming why" grep -q "does not carry the MAC of signing-key-file" "$TEST_TMP/$F.log"
sleep 5
events_mark "evmark-$$-2"
wait_for 30 grep -q "|destroy|evmark-$$-2|" "$TEST_TMP/ev"
expect_eq "no container of the forged state's image is created" "" \
	"$(creates_since "$t_kill" | awk -F'|' '$6 == "auriga-demo-node:v1"')"
expect_eq "... all $N replicas still on v2" "$N" "$(running auriga-demo-node:v2)"
done_testing
