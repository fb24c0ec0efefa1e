#!/usr/bin/env bash
# run-tests: long
# The lease's cost on the specs remote, with the default lease settings (TTL 30 s, a renewal or read
# every 10 s): each controller's Git operations on the lease's home (auriga_lease_operations_total:
# lease pushes and fetches, shared-state pushes and fetches) counted over a minute while idle, and
# over a rollout, on the leader and on the follower, printed per minute. Each stays within what the
# settings allow: one lease operation per renew interval, and a follower writes nothing. The leader
# reads its files to share them only after a pass that wrote them: none while idle, whatever the
# passes, and during the rollout at most one read per pass and one state push per read.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

LEADER_TEST=leader-cost
N=6
. "$(dirname "$0")/../leader-lib.bash"
LEASE=(--lease --signing-key-file "$TEST_TMP/signing-key")
RENEW_S=10
WINDOW=${LEASE_COST_WINDOW:-60}

# ops NAME: controller NAME's lease operations by kind, "push fetch state-push state-fetch", then its
# reads of its files to share them and its passes: "... state-reads passes".
ops() {
	curl -sf --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" | awk '
		/^auriga_lease_operations_total\{/ {
			match($0, /op="[^"]*"/); op = substr($0, RSTART + 4, RLENGTH - 5); n[op] += $NF
		}
		$1 == "auriga_lease_state_reads_total" { reads = $2 }
		$1 == "auriga_reconcile_duration_seconds_count" { passes = $2 }
		END { printf "%d %d %d %d %d %d\n", n["push"], n["fetch"], n["state-push"], n["state-fetch"], reads, passes }'
}
# delta BEFORE AFTER FIELD: the growth of one field (1-based) of two ops lines.
delta() { echo $(($(echo "$2" | cut -d' ' -f"$3") - $(echo "$1" | cut -d' ' -f"$3"))); }
# per_min BEFORE AFTER SECONDS: the difference of two ops lines, per minute (one decimal).
per_min() {
	awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= 4; i++) printf "%s%.1f", (i > 1 ? " " : ""), (y[i] - x[i]) * 60 / s
		print ""
	}'
}
show() { local p f sp sf; read -r p f sp sf <<<"$2"; diag "$1: lease pushes $p, lease fetches $f, state pushes $sp, state fetches $sf (per minute)"; }
# within BEFORE AFTER MAXPUSH MAXFETCH MAXSTATEPUSH: the operations between two ops lines, each at
# most its bound (lease pushes, lease fetches, state pushes; state fetches none).
within() {
	local p0 f0 s0 g0 p1 f1 s1 g1
	read -r p0 f0 s0 g0 _ <<<"$1"
	read -r p1 f1 s1 g1 _ <<<"$2"
	[ $((p1 - p0)) -le "$3" ] && [ $((f1 - f0)) -le "$4" ] && [ $((s1 - s0)) -le "$5" ] && [ "$g1" = "$g0" ]
}

write_specs v1
c1=$(commit "web v1")
start_two
check "v1 runs on all $N replicas, healthy" wait_for 240 healthy_on $L "$c1"
sleep 5

# Idle: the fleet converged, nothing changes.
l0=$(ops $L) f0=$(ops $F) t0=$(now_ns)
sleep "$WINDOW"
l1=$(ops $L) f1=$(ops $F) t1=$(now_ns)
secs=$(((t1 - t0) / 1000000000))
idle_l=$(per_min "$l0" "$l1" "$secs") idle_f=$(per_min "$f0" "$f1" "$secs")
show "idle, leader" "$idle_l"
show "idle, follower" "$idle_f"
# One renewal per renew interval, one more for where the window falls.
rounds=$((secs / RENEW_S + 1))
check "idle, the leader: at most one lease push per renew interval, no fetch, no state push" \
	within "$l0" "$l1" $rounds 0 0
check "idle, the follower: at most one lease fetch per renew interval, no push" \
	within "$f0" "$f1" 0 $rounds 0
diag "idle, the leader: $(delta "$l0" "$l1" 6) passes, $(delta "$l0" "$l1" 5) reads of its files to share"
check "idle, the leader ran passes" test "$(delta "$l0" "$l1" 6)" -ge 1
expect_eq "... and read its files to share them after none (nothing written)" 0 "$(delta "$l0" "$l1" 5)"

# A rollout: from the commit to Healthy.
write_specs v2
l0=$(ops $L) f0=$(ops $F) t0=$(now_ns)
c2=$(commit "web v2")
check "the rollout to v2 completes" wait_for 300 healthy_on $L "$c2"
l1=$(ops $L) f1=$(ops $F) t1=$(now_ns)
secs=$(((t1 - t0) / 1000000000))
diag "the rollout of $N replicas took $secs s"
roll_l=$(per_min "$l0" "$l1" "$secs") roll_f=$(per_min "$f0" "$f1" "$secs")
show "rollout, leader" "$roll_l"
show "rollout, follower" "$roll_f"
sp=$(delta "$l0" "$l1" 3) reads=$(delta "$l0" "$l1" 5) passes=$(delta "$l0" "$l1" 6)
diag "in the whole rollout: $passes passes, $reads reads of the leader's files to share, $sp state pushes"
# A renewal stays one per interval; the state is read after a pass that wrote it (one per pass at
# most), and pushed when what was read differs from what is shared (one push per read at most;
# one more each for a pass or read under way where the window starts).
rounds=$((secs / RENEW_S + 1))
check "rollout, the leader: at most one lease push per renew interval" \
	within "$l0" "$l1" $rounds 0 $((reads + 1))
check "rollout, the leader: at most one read of its files per pass" test "$reads" -le $((passes + 1))
check "rollout, the leader: at most one state push per read" test "$sp" -le $((reads + 1))
check "rollout, the follower: the same reads as while idle, no push" \
	within "$f0" "$f1" 0 $rounds 0
check "the leader shared its state during the rollout" test "$sp" -ge 1
done_testing
