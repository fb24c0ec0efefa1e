#!/usr/bin/env bash
# `auriga run` with api-read-token and a per-client connection cap: reads need the token, health
# stays open, a third connection from one address is refused and logged, a webhook push replayed
# under a new delivery id is a duplicate, and api-read-token without a token file is refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

mkdir -p "$TEST_TMP/specs"
cp "$TOP/specs/cluster.yaml" "$TEST_TMP/specs/"
tok=read-token-3e8a61c07f
hook_secret=webhook-secret-0c9d7e21ab
echo "$tok" >"$TEST_TMP/token"
printf '%s' "$hook_secret" >"$TEST_TMP/hook-secret"
listen_port
port=$RUN_PORT url=$RUN_URL

# Bounded: a daemon that took the setting without a token would run on (status 124).
AURIGA_API_READ_TOKEN=true AURIGA_LISTEN=127.0.0.1:$port AURIGA_STATE_DIR=$TEST_TMP/state0 \
	AURIGA_INSTANCE=readtok0-$$ timeout 30 "$AURIGA_BIN" run "$TEST_TMP/specs" >"$TEST_TMP/log0" 2>&1
rc=$?
expect_eq "api-read-token without a token file: the daemon refuses to start (status $rc)" 1 \
	"$(( rc != 0 && rc != 124 ))"
expect_match "and the error names the setting" 'api-read-token' "$(cat "$TEST_TMP/log0")"

AURIGA_API_TOKEN_FILE=$TEST_TMP/token AURIGA_API_READ_TOKEN=true AURIGA_API_MAX_CONNECTIONS_PER_CLIENT=2 \
	AURIGA_GITHUB_WEBHOOK_SECRET_FILE=$TEST_TMP/hook-secret AURIGA_LISTEN=127.0.0.1:$port \
	AURIGA_STATE_DIR=$TEST_TMP/state AURIGA_INSTANCE=readtok-$$ run_start "$TEST_TMP/log" "$TEST_TMP/specs"
run_health "answers without the token"
for path in /api/v1/status /api/v1/deployments/slim /metrics; do
	expect_eq "$path without the token: 401" 401 "$(http_code "$url$path")"
done
expect_eq "/api/v1/status with a wrong token: 401" 401 "$(http_code -H "Authorization: Bearer nope" "$url/api/v1/status")"
expect_eq "/api/v1/status with the token: 200" 200 "$(http_code -H "Authorization: Bearer $tok" "$url/api/v1/status")"
expect_eq "/metrics with the token: 200" 200 "$(http_code -H "Authorization: Bearer $tok" "$url/metrics")"

body='{"ref":"refs/heads/main","after":"89abcdef0123456789abcdef0123456789abcdef"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$hook_secret" | sed 's/^.*= //')
hook() { curl -s --max-time 5 -w ' %{http_code}' -X POST "$url/api/v1/webhooks/github" -H 'X-GitHub-Event: push' \
	-H "X-GitHub-Delivery: $1" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body"; }
expect_match "a signed push is accepted" ' 202$' "$(hook replay-1)"
expect_match "the same push under a new delivery id is a duplicate" '"duplicate".* 200$' "$(hook replay-2)"

# Two connections held open from 127.0.0.1, each answered once and kept alive, so
# the server holds both: the third is closed at once. Until the server has seen
# the earlier clients' connections close, they count, so the pair is retried.
ask() {
	local line=
	( printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&"$1" ) 2>/dev/null &&
		IFS= read -r -t 5 line <&"$1" && [[ $line == "HTTP/1.1 200"* ]]
}
two_held() {
	exec 3>&- 4>&-
	exec 3<>"/dev/tcp/127.0.0.1/$port" && ask 3 && exec 4<>"/dev/tcp/127.0.0.1/$port" && ask 4
}
check "two connections are answered and held open" wait_for 10 two_held
expect_eq "a third connection from the same address is refused" 000 "$(http_code "$url/healthz")"
exec 3>&- 4>&-
served() { [ "$(http_code "$url/healthz")" = 200 ]; }
check "once they are closed it is served again" wait_for 10 served
expect_match "the refusal is logged" 'connection refused' "$(cat "$TEST_TMP/log")"
run_stop "SIGTERM stops it with status 0"

done_testing
