#!/usr/bin/env bash
# The event stream across a daemon restart: auriga's watch sees a container die, notices the
# break when the daemon stops, reconnects with `since` when it is back, and sees what follows.
# The restarted daemon is a second, private one: the main daemon is never touched.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fakes/second_dockerd.sh"

D=$TEST_TMP/d
IMG=auriga-test-sleeper:1
mkdir -p "$D"
sock=$D/s.sock
dk() { docker -H "unix://$sock" "$@"; }
on_exit "second_dockerd_cleanup $D"
had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)
on_exit 'ids=$(dk ps -aq 2>/dev/null); [ -n "$ids" ] && dk rm -f $ids'

"$TOP/tests/fakes/build-test-image.sh" "$IMG" || { fail "build the test image"; exit 1; }
second_dockerd_start "$D" -H "unix://$sock"
if ! wait_for 60 dk version >/dev/null; then
	fail "second dockerd answers on $sock"
	tail -n 20 "$D/dockerd.log" | sed 's/^/# /'
	exit 1
fi
ok "second dockerd answers on its own socket"
docker save "$IMG" | dk load -q >/dev/null
has_image() { dk image inspect "$IMG" >/dev/null 2>&1; }
check "test image loaded into the second daemon" has_image

out=$TEST_TMP/events
"$AURIGA_BIN" docker -H "unix://$sock" events -f "label=$TEST_LABEL" -f type=container --timeout 120 \
	>"$out" 2>"$TEST_TMP/events.err" &
watcher=$!
on_exit "kill $watcher"
wait_for 20 grep -q "stream connected" "$out"
check "the watch connects" grep -q "stream connected" "$out"

run() { dk run -d --label "$TEST_LABEL" --name "$1" "${@:2}" "$IMG" >/dev/null; }
run always-up --restart always
run doomed
dk kill doomed >/dev/null
wait_for 20 grep -q "event container die [0-9a-f]* doomed" "$out"
check "the watch sees a container die" grep -q "event container die [0-9a-f]* doomed" "$out"

old_pid=$(second_dockerd_pid "$D")
second_dockerd_stop "$D"
wait_for 20 grep -q "stream broken" "$out"
check "the watch notices the daemon going away" grep -q "stream broken transport" "$out"

second_dockerd_start "$D" -H "unix://$sock"
wait_for 60 dk version >/dev/null
new_pid=$(second_dockerd_pid "$D")
check "the second daemon restarted (new pid)" test -n "$new_pid" -a "$new_pid" != "$old_pid"
# The daemon starts the restart-policy container itself, possibly before the watch is back:
# resuming with `since` delivers that start anyway.
wait_for 60 grep -q "event container start [0-9a-f]* always-up" <(sed -n '/stream broken/,$p' "$out")
check "after the restart: the daemon's own start of always-up is seen" \
	grep -q "event container start [0-9a-f]* always-up" <(sed -n '/stream broken/,$p' "$out")
run after
dk kill after >/dev/null
wait_for 30 grep -q "event container die [0-9a-f]* after" "$out"
check "after the restart: a new container's death is seen" grep -q "event container die [0-9a-f]* after" "$out"
expect_eq "connected twice (once per daemon life)" "2" "$(grep -c 'stream connected' "$out")"
expect_eq "each die event delivered once" "1" "$(grep -c 'event container die [0-9a-f]* doomed' "$out")"
kill "$watcher" 2>/dev/null
diag "$(grep -v '^event' "$out" | head -5)"

second_dockerd_stop "$D"
has_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)
expect_eq "the main daemon's docker0 is untouched by the second daemon" "$had_docker0" "$has_docker0"

done_testing
