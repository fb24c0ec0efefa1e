#!/usr/bin/env bash
# A Git remote that accepts the connection and then says nothing, against `auriga run` with
# git-timeout 3 s: each fetch ends with "timed out after 3 s" well within 30 s (the URL's
# credentials masked) in the log and the status, its helper process killed with its connection and
# no child left behind, the helper given no credential on its command line or in its environment;
# once the remote answers again the next commit is applied. `auriga source` fetches and pushes notes
# against the silent remote within the same bound.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

T=$TEST_TMP
wait_port() { wait_for 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"; }
specs_repo
cluster_yaml silent >"$WORK/cluster.yaml"
c1=$(commit "specs")

GPORT=$(free_port)
git daemon --reuseaddr --listen=127.0.0.1 --port="$GPORT" --base-path="$T" --export-all "$T" \
	>"$T/git-daemon.log" 2>&1 &
on_exit "kill $!"
# The remote auriga talks to: git daemon's answers until $T/silent exists, then silence.
PPORT=$(free_port)
python3 "$TOP/tests/helpers/git_proxy.py" "$PPORT" "$GPORT" "$T/silent" "$T/proxy.log" &
on_exit "kill $!"
wait_port "$GPORT" || fail "git daemon did not start"
wait_port "$PPORT" || fail "the proxy did not start"

# The token in the URL must show nowhere: not in a message, nor in the helper's argv or environment.
URL=git://tok-5e1f@127.0.0.1:$PPORT/remote.git
SHOWN="git://\*\*\*@127.0.0.1:$PPORT/remote.git"
echo api-token-silent-77a0 >"$T/token"
listen_port
export AURIGA_REPO=$URL
run_start "$T/log" --state-dir "$T/state" --instance "it-silent-$$" --listen "127.0.0.1:$RUN_PORT" \
	--poll-interval 1s --git-timeout 3s --api-token-file "$T/token"
unset AURIGA_REPO
status_field() { curl -sf --max-time 5 "$RUN_URL/api/v1/status" | jq -r "$1 // \"\""; }
status_is() { [ "$(status_field "$1")" = "$2" ]; }
status_has() { [[ $(status_field "$1") == *"$2"* ]]; }
await "the daemon takes the first commit through the remote" 60 status_is .commit "$c1"
# A fetch through the CLI while the remote answers, so its mirror has the commit to note below.
"$AURIGA_BIN" source --repo "$URL" --state-dir "$T/cli" fetch >/dev/null 2>&1

touch "$T/silent"
start=$(date +%s)
timed_out() { grep -q "fetch failed.*timed out after 3 s" "$T/log"; }
await "a fetch against the silent remote ends with the timeout" 30 timed_out
diag "the first fetch cut after $(($(date +%s) - start)) s (git-timeout 3 s)"
expect_match "the log names the operation, the remote (credentials masked) and the deadline" \
	"cannot fetch 'main' from '$SHOWN': timed out after 3 s" "$(grep -m1 'fetch failed.*timed out' "$T/log")"
await "the status's source.lastError says so" 15 status_has .source.lastError "timed out after 3 s"
expect_eq "the daemon stays on the commit it had" "$c1" "$(status_field .commit)"

# While the remote stays silent: at most one helper at a time (the fetch in progress), never a zombie,
# and a helper's command line and environment hold no credential.
most=0 zombies=0 seen=0 leaked=0
for i in $(seq 1 40); do
	kids=$(ps -o pid=,stat= --ppid "$RUN_PID")
	n=$(grep -c . <<<"$kids")
	[ "$n" -gt "$most" ] && most=$n
	grep -q ' Z' <<<"$kids" && zombies=$((zombies + 1))
	for k in $(awk '{ print $1 }' <<<"$kids"); do
		cmd=$(tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null) || continue
		env=$(tr '\0' '\n' <"/proc/$k/environ" 2>/dev/null) || continue
		[ "$cmd" = "auriga git-net-helper " ] && seen=$((seen + 1))
		grep -q 'tok-5e1f\|^AURIGA_' <<<"$cmd"$'\n'"$env" && leaked=$((leaked + 1))
	done
	sleep 0.25
done
diag "over 10 s of silence: at most $most child(ren), $seen samples of a helper"
check "at most one helper process at a time" [ "$most" -le 1 ]
expect_eq "no helper left a zombie" 0 "$zombies"
check "the helper was seen running as 'auriga git-net-helper'" [ "$seen" -gt 0 ]
expect_eq "no helper had the token or an AURIGA_ setting in its argv or environment" 0 "$leaked"
check "each cut fetch closed its connection to the remote" \
	[ "$(grep -c '^client closed' "$T/proxy.log")" -ge 2 ]

# The CLI against the silent remote: a fetch and a notes push, each cut at --timeout.
cli() { "$AURIGA_BIN" source --repo "$URL" --state-dir "$T/cli" --timeout 3 "$@" 2>&1; }
for op in fetch "note --push --phase Healthy $c1"; do
	t0=$(date +%s)
	# shellcheck disable=SC2086
	out=$(cli $op)
	rc=$? took=$(($(date +%s) - t0))
	diag "auriga source $op: status $rc after $took s: $out"
	check "auriga source ${op%% *} fails within 30 s" test "$rc" -ne 0 -a "$took" -lt 30
	case $op in
	fetch) want="cannot fetch 'main' from '$SHOWN': timed out after 3 s" ;;
	*) want="cannot push 'refs/notes/auriga' to '$SHOWN': timed out after 3 s" ;;
	esac
	expect_match "auriga source ${op%% *} says it timed out" "$want" "$out"
done

# The remote answers again: the next commit is applied and the error leaves the status.
rm "$T/silent"
printf 'apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: silent}\nspec: {}\n# two\n' \
	>"$WORK/cluster.yaml"
c2=$(commit "specs, again")
expect_eq "POST /api/v1/sync asks for a fetch now" 202 \
	"$(http_code -X POST -H "Authorization: Bearer $(cat "$T/token")" "$RUN_URL/api/v1/sync")"
await "once the remote answers, the next commit is applied" 60 status_is .commit "$c2"
await "and the source's error is gone from the status" 15 status_is .source.lastError ""
no_children() { [ -z "$(ps -o pid= --ppid "$RUN_PID")" ]; }
check "no child process of the daemon is left" wait_for 15 no_children
expect_eq "the token shows nowhere in the log" 0 "$(grep -c 'tok-5e1f' "$T/log")"
run_stop "SIGTERM stops the daemon with status 0"

done_testing
