#!/usr/bin/env bash
# `auriga run` against a Git remote that accepts the connection and then never answers: while a
# fetch hangs (75 s), the loop goes on. /q/health/live and /api/v1/status answer within 2 s each
# (50 of each, a round every half second, the slowest reported), POST /api/v1/sync (which asks the
# Git worker for a fetch from the loop) is accepted, and reconcile passes (one a second) go on
# counting in both halves.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
wait_port() { wait_for 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"; }
SRV=$T/srv
mkdir -p "$SRV" "$T/work"
git init -q --bare -b main "$SRV/specs.git"
git init -q -b main "$T/work"
cp "$TOP/specs/cluster.yaml" "$T/work/"
git -C "$T/work" add cluster.yaml
git -C "$T/work" -c user.name=t -c user.email=t@example.com commit -q -m specs
git -C "$T/work" push -q "$SRV/specs.git" main

GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$SRV" --export-all "$SRV" \
	>"$T/git-daemon.log" 2>&1 &
on_exit "kill $!"

# The remote auriga talks to: passes connections through to git daemon until $T/hang exists;
# from then on it accepts, reads what the client says and answers nothing for 75 s.
PPORT=$(free_port)
python3 "$TOP/tests/helpers/git_proxy.py" "$PPORT" "$GPORT" "$T/hang" "$T/proxy.log" &
PROXY=$!
on_exit "kill $PROXY"
wait_port "$GPORT" || fail "git daemon did not start"
wait_port "$PPORT" || fail "the proxy did not start"

echo api-token-hang-3f1c >"$T/token"
port=$(free_port)
url=http://127.0.0.1:$port
# git-timeout far past the hang: this test is about the loop while a fetch is in progress
# (git_silent.sh shows the fetch cut at the deadline).
AURIGA_REPO=git://127.0.0.1:$PPORT/specs.git AURIGA_POLL_INTERVAL=1s AURIGA_API_TOKEN_FILE=$T/token AURIGA_GIT_TIMEOUT=10m \
	AURIGA_LISTEN=127.0.0.1:$port AURIGA_STATE_DIR=$T/state AURIGA_INSTANCE=hang-$$ \
	"$AURIGA_BIN" run >"$T/log" 2>&1 &
pid=$!
on_exit "kill -TERM $pid"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
ready() { [ "$(code "$url/q/health/ready")" = 200 ]; }
passes() { curl -s --max-time 5 "$url/metrics" | sed -n 's/^auriga_reconcile_total{result="ok"} //p'; }
check "the daemon becomes ready with the specs fetched through the remote" wait_for 60 ready

touch "$T/hang"
hung() { grep -q '^hung' "$T/proxy.log"; }
check "a fetch reaches the remote that never answers" wait_for 30 hung
before=$(passes)

slow=0 worst=0 n=0 sync_ok=0
for i in $(seq 1 50); do
	for path in /q/health/live /api/v1/status; do
		t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$url$path")
		ms=$(awk -v t="${t#* }" 'BEGIN { printf "%d", t * 1000 }')
		n=$((n + 1))
		[ "$ms" -gt "$worst" ] && worst=$ms
		if [ "${t%% *}" != 200 ] || [ "$ms" -gt 2000 ]; then
			slow=$((slow + 1))
			diag "$path: $t"
		fi
	done
	if [ $((i % 10)) = 0 ]; then
		[ "$(code -X POST -H "Authorization: Bearer $(cat "$T/token")" "$url/api/v1/sync")" = 202 ] &&
			sync_ok=$((sync_ok + 1))
	fi
	[ "$i" = 25 ] && mid=$(passes)
	sleep 0.5
done
after=$(passes)
diag "during the hang: $n requests, the slowest ${worst} ms; reconcile passes $before -> $mid -> $after"
expect_eq "every request during the hang answered 200 within 2 s" 0 "$slow"
expect_eq "POST /api/v1/sync was accepted during the hang" 5 "$sync_ok"
check "reconcile passes went on in the first half of the hang" [ "${mid:-0}" -gt "${before:-0}" ]
check "reconcile passes went on in the second half (after the syncs asked the worker for fetches)" \
	[ "${after:-0}" -gt "${mid:-0}" ]
expect_eq "the fetch was still hung at the end (the remote never answered)" 0 \
	"$(grep -c '^released' "$T/proxy.log")"
check "the daemon is still running" kill -0 "$pid"
kill -TERM "$pid"
sleep 1
kill "$PROXY"
wait "$pid"
expect_eq "SIGTERM stops it with status 0 once the remote goes away" 0 "$?"

done_testing
