#!/usr/bin/env bash
# `auriga run`'s HTTP surface with no deployments to touch: every health endpoint, /metrics that
# promtool accepts, bearer-token actions, a signed GitHub webhook, SIGHUP rotating the token
# without a restart, and no secret (API tokens, webhook secret, Git token) in the log even at
# debug level.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

mkdir -p "$TEST_TMP/specs"
cp "$TOP/specs/cluster.yaml" "$TEST_TMP/specs/"
# Distinct values, so that finding one in the log can only mean it was logged.
tok1=api-token-one-7c1e5b90d2
tok2=api-token-two-44f0a3e9b6
hook_secret=webhook-secret-a81d6e2f35
git_token=git-token-5be09c7d14
echo "$tok1" >"$TEST_TMP/token"
printf '%s' "$hook_secret" >"$TEST_TMP/hook-secret"
listen_port
port=$RUN_PORT url=$RUN_URL
AURIGA_API_TOKEN_FILE=$TEST_TMP/token AURIGA_LISTEN=127.0.0.1:$port \
	AURIGA_GITHUB_WEBHOOK_SECRET_FILE=$TEST_TMP/hook-secret AURIGA_HTTPS_TOKEN=$git_token \
	AURIGA_LOG_LEVEL=debug AURIGA_STATE_DIR=$TEST_TMP/state AURIGA_INSTANCE=surface-$$ \
	run_start "$TEST_TMP/log" "$TEST_TMP/specs"
pid=$RUN_PID
run_health "answers 200 once ready"
expect_match "/q/health/startup says UP" '"status":"UP"' "$(curl -s --max-time 5 "$url/q/health/startup")"
curl -s --max-time 5 "$url/metrics" >"$TEST_TMP/metrics"
check "/metrics passes promtool check metrics" promtool check metrics <"$TEST_TMP/metrics"
expect_match "/metrics counts reconcile passes" 'auriga_reconcile_total\{result="ok"\} [1-9]' \
	"$(cat "$TEST_TMP/metrics")"
expect_eq "an action without a token is refused" 401 "$(http_code -X POST "$url/api/v1/sync")"
expect_eq "an action with a wrong token is refused" 401 \
	"$(http_code -X POST -H "Authorization: Bearer $tok2" "$url/api/v1/sync")"
expect_eq "an action with the token is accepted" 202 \
	"$(http_code -X POST -H "Authorization: Bearer $tok1" "$url/api/v1/sync")"
body='{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$hook_secret" | sed 's/^.*= //')
hook() { http_code -X POST "$url/api/v1/webhooks/github" -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: $1" \
	-H "X-Hub-Signature-256: sha256=$2" --data-binary "$body"; }
expect_eq "a signed push webhook is accepted" 202 "$(hook surface-1 "$sig")"
expect_eq "a webhook signed with another secret is refused" 401 \
	"$(hook surface-2 "$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$tok1" | sed 's/^.*= //')")"
echo "$tok2" >"$TEST_TMP/token"
kill -HUP "$pid"
rotated() { [ "$(http_code -X POST -H "Authorization: Bearer $tok2" "$url/api/v1/sync")" = 202 ]; }
check "after SIGHUP the new token is accepted" wait_for 10 rotated
expect_eq "after SIGHUP the old token is refused" 401 \
	"$(http_code -X POST -H "Authorization: Bearer $tok1" "$url/api/v1/sync")"
check "the daemon is still running after SIGHUP" kill -0 "$pid"
run_stop "SIGTERM stops it with status 0"
expect_match "the log is at debug level and names the requests" 'level=debug' "$(cat "$TEST_TMP/log")"
expect_match "the log shows the accepted webhook" 'delivery=surface-1' "$(cat "$TEST_TMP/log")"
for secret in "$tok1" "$tok2" "$hook_secret" "$git_token"; do
	expect_eq "no secret in the log (${secret%%-[0-9a-f]*})" 0 "$(grep -cF -- "$secret" "$TEST_TMP/log")"
done

done_testing
