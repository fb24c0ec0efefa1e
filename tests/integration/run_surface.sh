#!/usr/bin/env bash
# `auriga run`'s HTTP surface with no deployments to touch: health, /metrics that promtool
# accepts, bearer-token actions, and SIGHUP rotating the token without a restart.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$TEST_TMP/specs"
cp "$TOP/specs/cluster.yaml" "$TEST_TMP/specs/"
echo tok1 >"$TEST_TMP/token"
port=$(free_port)
url=http://127.0.0.1:$port
AURIGA_API_TOKEN_FILE=$TEST_TMP/token AURIGA_LISTEN=127.0.0.1:$port \
	AURIGA_STATE_DIR=$TEST_TMP/state AURIGA_INSTANCE=surface-$$ \
	"$AURIGA_BIN" run "$TEST_TMP/specs" >"$TEST_TMP/log" 2>&1 &
pid=$!
on_exit "kill -TERM $pid"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
ready() { [ "$(code "$url/q/health/ready")" = 200 ]; }
check "the daemon becomes ready" wait_for 30 ready
expect_eq "liveness answers 200" 200 "$(code "$url/q/health/live")"
curl -s --max-time 5 "$url/metrics" >"$TEST_TMP/metrics"
check "/metrics passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"
expect_match "/metrics counts reconcile passes" 'auriga_reconcile_total\{result="ok"\} [1-9]' \
	"$(cat "$TEST_TMP/metrics")"
expect_eq "an action without a token is refused" 401 "$(code -X POST "$url/api/v1/sync")"
expect_eq "an action with the token is accepted" 202 \
	"$(code -X POST -H 'Authorization: Bearer tok1' "$url/api/v1/sync")"
echo tok2 >"$TEST_TMP/token"
kill -HUP "$pid"
rotated() { [ "$(code -X POST -H 'Authorization: Bearer tok2' "$url/api/v1/sync")" = 202 ]; }
check "after SIGHUP the new token is accepted" wait_for 10 rotated
expect_eq "after SIGHUP the old token is refused" 401 \
	"$(code -X POST -H 'Authorization: Bearer tok1' "$url/api/v1/sync")"
check "the daemon is still running after SIGHUP" kill -0 "$pid"
kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops it with status 0" 0 "$?"
