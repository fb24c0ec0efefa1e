#!/usr/bin/env bash
# run-tests: long
# A leader whose write of the shared state fails (the Git host refuses it: not a conflict) tries it
# again at its next renewal, not at once: over a window the failed state pushes stay within one per
# renew interval. The specs repository is served by git daemon, whose update hook refuses
# refs/auriga/state/* once the test says so.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

LEADER_TEST=leader-retry
N=2
. "$(dirname "$0")/../leader-lib.bash"
WINDOW=10

cat >"$REMOTE/hooks/update" <<HOOK
#!/bin/sh
case "\$1" in
refs/auriga/state/*) if [ -e "$TEST_TMP/refuse" ]; then echo "the shared state is refused" >&2; exit 1; fi ;;
esac
exit 0
HOOK
chmod +x "$REMOTE/hooks/update"
GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$TEST_TMP" --export-all \
	--enable=receive-pack "$TEST_TMP" >"$TEST_TMP/git-daemon.log" 2>&1 &
GPID=$!
on_exit "kill $GPID 2>/dev/null"
check "git daemon serves the specs repository" wait_for 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GPORT"
CTL_REPO=git://127.0.0.1:$GPORT/remote.git

# state_pushes RESULT: the leader's state pushes with that result (ok, conflict, refused, error).
state_pushes() {
	curl -sf --max-time 5 "http://127.0.0.1:${PORT[a]}/metrics" |
		awk -v r="$1" '$1 == "auriga_lease_operations_total{op=\"state-push\",result=\"" r "\"}" { n = $2 } END { print n + 0 }'
}
shared_exists() { git -C "$REMOTE" rev-parse -q --verify "refs/auriga/state/$INST" >/dev/null; }

write_specs v1
c1=$(commit "web v1")
start_ctl a
check "the controller takes the lease" wait_for 60 is_leader a
check "v1 runs, healthy" wait_for 180 healthy_on a "$c1"
check "the leader shares its state over git://" wait_for 30 shared_exists
touch "$TEST_TMP/refuse"
e0=$(state_pushes refused) t0=$(now_ns)
expect_eq "the leader accepts pause (a change of its state file to share)" 202 "$(post a pause)"
sleep "$WINDOW"
e1=$(state_pushes refused) t1=$(now_ns)
secs=$(((t1 - t0) / 1000000000))
n=$((e1 - e0))
diag "failed state pushes over $secs s with a renew interval of $RENEW_S s: $n"
check "the refused share failed (counted as refused, not as a conflict)" test "$n" -ge 1
check "... and was tried again at most once per renew interval (one more for where the window falls)" \
	test "$n" -le $((secs / RENEW_S + 1))
expect_eq "the leader still leads" 1 "$(leader_of a)"
rm -f "$TEST_TMP/refuse"
check "once the host accepts it again, the pause is shared at a renewal" \
	wait_for 30 sh -c "git -C '$REMOTE' show 'refs/auriga/state/$INST:engine.json' | jq -e '.deployments.$DEP.paused == true' >/dev/null"
done_testing
