#!/usr/bin/env bash
# run-tests: alone
# Two controllers of one instance through LEADER_ROUNDS rollouts (default 20) of a fleet of
# LEADER_FLEET demo nodes (default 25, replaced one at a time), each hit at a random
# moment by kill -9 or a pause longer than the lease's TTL of a random one of them (the killed one
# is started again, as a supervisor would): every time the fleet converges on the commit with one
# container per ordinal and nothing else, one controller leads, and the commit has its note; at the
# end every commit still has its note (none lost).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

LEADER_TEST=leader-soak
N=${LEADER_FLEET:-25}
. "$(dirname "$0")/../leader-lib.bash"

rounds=${LEADER_ROUNDS:-20}
# A rollout replaces one node at a time, each ready 4 s after it starts: bounds grow with the fleet.
roll_s=$((120 + 15 * N))
diag "$rounds rounds on $N nodes"
leaders() { echo $(($( (leader_of a; leader_of b) | awk '{ s += $1 } END { print s + 0 }'))); }
one_leader() { [ "$(leaders)" = 1 ]; }
# converged IMAGE: ordinals 0..N-1 each running once on IMAGE, and no other container of the instance.
converged() {
	local want got
	want=$(seq 0 $((N - 1)) | tr '\n' ' ')
	got=$(docker ps --filter "label=auriga.io/managed-by=$INST" --format '{{.Label "auriga.io/ordinal"}} {{.Image}}' |
		awk -v img="$1" '$2 == img { print $1 }' | sort -n | tr '\n' ' ')
	[ "$got" = "$want" ] && [ "$(docker ps -aq --filter "label=auriga.io/managed-by=$INST" | wc -l)" = "$N" ]
}
either_healthy() { healthy_on a "$1" || healthy_on b "$1"; }
note_healthy() { [[ $(note_in "$WORK" "$1" | head -1) =~ ^auriga:\ Healthy ]]; }

write_specs v1
c=$(commit "web v1")
start_ctl a
start_ctl b
check "one controller leads" wait_for 60 one_leader
check "v1 converges" wait_for "$roll_s" either_healthy "$c"
commits=("$c")
for r in $(seq 1 "$rounds"); do
	img=v$((r % 2 + 1))
	write_specs "$img"
	c=$(commit "web $img, round $r")
	# A random moment of the rollout: 0 to 6 s in, or later on a larger fleet (its rollout lasts longer).
	sleep "$((RANDOM % (7 + N * 2)))"
	victim=$([ $((RANDOM % 2)) = 0 ] && echo a || echo b)
	if [ $((RANDOM % 2)) = 0 ]; then
		what="kill -9"
		kill -9 "${PID[$victim]}"
		wait "${PID[$victim]}" 2>/dev/null
		start_ctl "$victim"
	else
		what="pause $((TTL + 2)) s"
		kill -STOP "${PID[$victim]}"
		sleep $((TTL + 2))
		kill -CONT "${PID[$victim]}"
	fi
	diag "round $r: $img, $what of $victim"
	check "round $r ($what of $victim): the rollout to $img completes" wait_for "$roll_s" either_healthy "$c"
	check "round $r: one container per ordinal on $img, nothing else" wait_for 30 converged "auriga-demo-node:$img"
	check "round $r: one controller leads" wait_for 60 one_leader
	check "round $r: the commit has its Healthy note" wait_for 60 note_healthy "$c"
	commits+=("$c")
done
# No note lost: a controller's later note push (a follower's, or a woken leader's) replaced none.
lost=0
for c in "${commits[@]}"; do note_healthy "$c" || lost=$((lost + 1)); done
expect_eq "every commit of the $rounds rounds still has its Healthy note" 0 "$lost"
done_testing
