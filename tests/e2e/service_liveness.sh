#!/usr/bin/env bash
# A liveness restart behind a Service drains first: two replicas of a Rolling deployment behind a real
# NGINX, each turning its liveness DOWN some seconds after it starts (readiness stays UP, so only
# the liveness restart can take it out), the second started well after the first so that one is
# restarted at a time. Under a bounded load through NGINX: each replica auriga restarts has left
# the upstream NGINX serves (the generation its listener answers) before Docker sees it killed, the
# upstream never lists a replica that does not answer ready (a stopped one, or its replacement
# before it is ready), the replacement joins once ready, and no request fails.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

DEP=svlive$$
SPECS=$TEST_TMP/specs
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/traffic-lib.bash"
listen_port
# Each replica's liveness turns DOWN LIVE_S after it starts; the second starts about LIVE_S/2 after
# the first, so their restarts come about LIVE_S/2 apart.
LIVE_S=24

# The deployment (write_dep of traffic-lib.bash), Rolling, liveness every second besides readiness; a
# node is ready 1.5 s after it starts and exits at once on SIGTERM (no drain of its own): a replica
# still routed when it is stopped would fail the requests it holds.
DEADLINE=120
NETWORK=lvnet
PROBES="    liveness: {httpGet: {path: /q/health/live, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}"
ROLLING="    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}"
LIVE_ENV="DEMO_DRAIN_MS: \"0\", DEMO_START_DELAY_MS: \"1500\", DEMO_LIVE_FAIL_AFTER_S: \"$LIVE_S\""

events=$TEST_TMP/events
docker events --since "$(date +%s)" --filter type=container --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" \
	--format '{{.TimeNano}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "auriga.io/ordinal"}}' \
	>"$events" 2>"$TEST_TMP/events.err" &
ev_pid=$!
on_exit "kill $ev_pid"

REPLICAS=1 write_dep auriga-demo-node:v1 "$ROLLING" "$LIVE_ENV"
run_start "$TEST_TMP/run.log" --state-dir "$FLEET_STATE" --instance "$FLEET_INSTANCE" --listen "127.0.0.1:$RUN_PORT" \
	--poll-interval 1s "$SPECS"
await "the first replica is ready and NGINX's upstream lists it" 90 upstream_is "$HP:1"
t_first=$(date +%s)
# Bounded load from here on, and NGINX's upstream watched throughout.
SECS=$((LIVE_S * 3 + 30))
lpid=$(load "$TEST_TMP/load" "$SECS")
on_exit "kill $lpid 2>/dev/null"
wpid=$(watch_router "$TEST_TMP/router" "$SECS")
on_exit "kill $wpid 2>/dev/null"
gpid=$(watch_served "$TEST_TMP/served" "$SECS")
on_exit "kill $gpid 2>/dev/null"
# Every 50 ms, each server of the upstream as last seen by watch_router, asked /q/health/ready
# directly (the node's own answer), as "seconds port:status..." (status 0: no answer).
python3 - "$TEST_TMP/router" "$TEST_TMP/samples" "$SECS" >/dev/null 2>&1 <<'PY' &
import sys, time, urllib.request
router, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
def status(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/q/health/ready" % port, timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return 0
end = time.time() + secs
with open(out, "w", buffering=1) as f:
    while time.time() < end:
        try:
            ports = [int(x.split(":")[0]) for x in open(router).read().splitlines()[-1].split()[1:]]
        except (OSError, IndexError, ValueError):
            time.sleep(0.05)
            continue
        f.write("%.3f %s\n" % (time.time(), " ".join("%d:%d" % (p, status(p)) for p in ports)))
        time.sleep(0.05)
PY
spid=$!
on_exit "kill $spid 2>/dev/null"

# The second replica, half a liveness period of the node later.
sleep $((LIVE_S / 2 - 3))
REPLICAS=2 write_dep auriga-demo-node:v1 "$ROLLING" "$LIVE_ENV"
await "two replicas are ready and NGINX's upstream lists both" 60 upstream_is "$HP:1 $((HP + 1)):1"

# kills ORDINAL: Docker's kill events of the replica at ORDINAL, as "nanoseconds id".
kills() { awk -v o="$1" '$2 == "kill" && $4 == o {print $1, $3}' "$events"; }
restarted_both() { [ "$(kills 0 | wc -l)" -ge 1 ] && [ "$(kills 1 | wc -l)" -ge 1 ]; }
await "auriga restarts each replica once its liveness fails" $((LIVE_S * 2 + 30)) restarted_both
await "after the restarts both replicas are ready again and NGINX's upstream lists both" 60 \
	upstream_is "$HP:1 $((HP + 1)):1"
sleep 2
stop_load "$lpid"
kill "$wpid" "$spid" "$gpid" 2>/dev/null
wait "$wpid" "$spid" "$gpid" 2>/dev/null

n_restarts=$(grep -c "liveness failed: liveness: GET" "$TEST_TMP/run.log")
diag "restarts in the log: $n_restarts; kills: $(awk '$2 == "kill"' "$events" | wc -l), $(($(date +%s) - t_first)) s of load"
check "the log says each restart was for liveness" test "$n_restarts" -ge 2
check "the log says the replica left the router first" grep -q "liveness failed: leaving the router first" "$TEST_TMP/run.log"

# Each kill against what NGINX served: the generation its listener answered last before the kill
# must be one whose upstream leaves the replica out, after one that listed it.
check "each replica restarted had left the upstream NGINX serves before Docker killed it, and was in it before" \
	python3 - "$events" "$TEST_TMP/served" "$HP" <<'PY'
import sys
events, served, hp = sys.argv[1], sys.argv[2], int(sys.argv[3])
changes = []
for line in open(served):
    f = line.split()
    if len(f) >= 3 and f[2] != "?":
        changes.append((int(f[0]), f[1], {int(x) for x in f[2:]}))
    elif len(f) >= 2:
        changes.append((int(f[0]), f[1], None))
bad, n = 0, 0
for line in open(events):
    f = line.split()
    if len(f) < 4 or f[1] != "kill":
        continue
    t, port = int(f[0]) // 1000000, hp + int(f[3])
    before = [c for c in changes if c[0] <= t]
    if not before:
        continue
    n += 1
    ms, gen, ports = before[-1]
    last_in = max((i for i, c in enumerate(before) if c[2] is not None and port in c[2]), default=None)
    ok = gen != "-" and ports is not None and port not in ports and last_in is not None
    left = before[last_in + 1][0] if last_in is not None and last_in + 1 < len(before) else None
    print("# kill of %d at %d: NGINX served generation %s with %s, since %s ms before" %
          (port, t, gen, sorted(ports) if ports is not None else "an unseen file", (t - left) if left else "-"))
    bad += not ok
sys.exit(0 if n >= 2 and bad == 0 else 1)
PY

check "NGINX's upstream never listed a replica that did not answer ready (a stopped one, or one not ready yet)" \
	python3 - "$TEST_TMP/samples" <<'PY'
import sys
samples = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = [s for s in samples if any(not x.endswith(":200") for x in s[1:])]
for s in bad[:10]:
    print("# %s" % " ".join(s))
print("# %d samples, %d with a server not ready" % (len(samples), len(bad)))
sys.exit(0 if len(samples) >= 100 and not bad else 1)
PY

total=$(wc -l <"$TEST_TMP/load")
failed=$(failed_count "$TEST_TMP/load")
diag "$total requests through NGINX in $SECS s at most, $failed failed"
check "the load ran throughout (at least 200 requests)" test "$total" -ge 200
expect_eq "no request through NGINX failed while the replicas were restarted one at a time" 0 "$failed"

run_stop "SIGTERM stops the daemon with status 0"
done_testing
