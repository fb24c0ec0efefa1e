#!/usr/bin/env bash
# /api/v1/status while passes replace it: at 2,000 deployments a pass lets the status shown go as
# it builds the next (the two are not held at once), so requests that come meanwhile wait for the
# new one. Against tests/fakes/fleet_dockerd.py (a fleet larger than this machine runs), a pass
# asked for every 50 ms while the status is read 150 times: every read is whole (200, every
# deployment in it, valid JSON, some sent in chunks), none finds it missing (503), and the passes
# did run under the reads. Bounded: 150 reads and 200 syncs, each under a timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

n=2000
inst=it-status-passes-$$
sock=$TEST_TMP/fake.sock
token=status-passes-token
printf '%s' "$token" >"$TEST_TMP/token"
python3 "$TOP/tests/fakes/fleet_specs.py" specs "$TEST_TMP/specs" "$n" 100
api=$(docker version -f '{{.Server.APIVersion}}' 2>/dev/null || echo 1.41)
python3 "$TOP/tests/fakes/fleet_dockerd.py" "$sock" "$TEST_TMP/fleet.json" --api "$api" 2>"$TEST_TMP/fake.log" &
fake_pid=$!
on_exit "kill $fake_pid 2>/dev/null; wait $fake_pid 2>/dev/null"
check "the fake daemon listens" wait_for 30 test -S "$sock"
# The fleet runs what auriga wants: the revisions come from its own plan against the empty host.
timeout 300 "$AURIGA_BIN" plan --json --instance "$inst" --state-dir "$TEST_TMP/plan-state" \
	--extra-labels "$TEST_LABEL" --docker-host "unix://$sock" "$TEST_TMP/specs" >"$TEST_TMP/plan.json"
python3 "$TOP/tests/fakes/fleet_specs.py" fleet "$TEST_TMP/plan.json" "$TEST_TMP/fleet.json" "$inst" "$TEST_LABEL"

listen_port
run_start "$TEST_TMP/run.log" --instance "$inst" --state-dir "$TEST_TMP/state" --docker-host "unix://$sock" \
	--listen "127.0.0.1:$RUN_PORT" --api-token-file "$TEST_TMP/token" --poll-interval 1h "$TEST_TMP/specs"
status_whole() { curl -sf --max-time 10 "$RUN_URL/api/v1/status" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["phase"] == "Healthy" and len(d["deployments"]) == int(sys.argv[1]) else 1)' "$n"; }
await "the first status shows all $n deployments Healthy" 120 status_whole || true
passes_before=$(metric auriga_reconcile_duration_seconds_count)

# Passes asked for one after the other, every 50 ms, while the status is read.
(
	for _ in $(seq 1 200); do
		curl -s -o /dev/null --max-time 5 -X POST -H "Authorization: Bearer $token" "$RUN_URL/api/v1/sync"
		sleep 0.05
	done
) &
syncs=$!
on_exit "kill $syncs 2>/dev/null"
bad=0 chunked=0
for i in $(seq 1 150); do
	code=$(curl -s -D "$TEST_TMP/h.$i" -o "$TEST_TMP/b.$i" -w '%{http_code}' --max-time 10 "$RUN_URL/api/v1/status")
	if [ "$code" != 200 ] || ! python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if len(d["deployments"]) == int(sys.argv[2]) else 1)' "$TEST_TMP/b.$i" "$n"; then
		bad=$((bad + 1))
		diag "read $i: status $code, $(wc -c <"$TEST_TMP/b.$i") bytes"
	fi
	grep -qi '^transfer-encoding: chunked' "$TEST_TMP/h.$i" && chunked=$((chunked + 1))
	rm -f "$TEST_TMP/b.$i" "$TEST_TMP/h.$i"
done
kill "$syncs" 2>/dev/null
wait "$syncs" 2>/dev/null
expect_eq "150 reads while passes replaced the status: every one whole, none missing" 0 "$bad"
expect_eq "each sent as it is encoded (chunked: the text is over 1 MiB, never kept whole)" 150 "$chunked"
passes_after=$(metric auriga_reconcile_duration_seconds_count)
expect_eq "passes ran under the reads (at least 10: $passes_before, then $passes_after)" 1 \
	"$(( passes_after - passes_before >= 10 ))"
expect_no_match "no sanitizer report, no crash" 'AddressSanitizer|runtime error|LeakSanitizer' "$(cat "$TEST_TMP/run.log")"
run_stop "the daemon stops cleanly"
done_testing
