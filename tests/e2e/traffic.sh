#!/usr/bin/env bash
# Blue-green and canary releases through a real NGINX, under bounded load on 127.0.0.1: a good
# blue-green release loses no request; a release whose new slot dies in the monitor window is
# switched back and loses none after that; a canary with a 20 % error rate is stopped at its first
# analysis and rolled back; a good canary reaches 100 %, each step's share of responses (read from
# the X-Node-Version header) matching its weight. One small deployment, not the fleet.
# run-tests: alone
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

DEP=trafficapi$$
SPECS=$FLEET_SPECS
TRAFFIC_CLUSTER=traffic
TRAFFIC_IMAGES=flaky
. "$(dirname "$0")/traffic-lib.bash"
errors_template "$DEP-errors" >"$SPECS/analysis.yaml"

BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      postPromotionWindowSeconds: 9
      scaleDownDelaySeconds: 3"
CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 20
        - analysis: {templates: [{templateName: $DEP-errors}]}
        - pause: {duration: 6s}
        - setWeight: 50
        - pause: {duration: 6s}"

apply() { auriga_engine apply --timeout-total "${1:-120}" "$SPECS" >>"$TEST_TMP/apply.out" 2>>"$TEST_TMP/apply.err"; }

# --- first release: blue, straight to 100 % ------------------------------------------------------
write_dep auriga-demo-node:v1 "$BLUEGREEN"
apply
expect_eq "the first release comes up in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "NGINX answers from v1" v1 "$(version)"

# --- (a) blue-green of a good version under load: no request fails -------------------------------
# Nothing here happens in the monitor window (that is (b)'s): a window of 2 s, not 9.
write_dep auriga-demo-node:v2 "${BLUEGREEN/postPromotionWindowSeconds: 9/postPromotionWindowSeconds: 2}"
pid=$(load "$TEST_TMP/load-a" 90)
sleep 1
start=$(date +%s%N)
apply
rc_a=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
stop_load "$pid"
diag "blue-green v1 -> v2 took $took ms; $(wc -l <"$TEST_TMP/load-a") requests through NGINX"
expect_eq "blue-green: no request failed" 0 "$(failed_count "$TEST_TMP/load-a")"
expect_eq "blue-green: apply reports success" 0 "$rc_a"
now_a=$(slots)
expect_eq "blue-green: v2 runs in slot green, blue is gone" "green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$now_a"
[ "$now_a" = "green:auriga-demo-node:v2 green:auriga-demo-node:v2" ] ||
	tail -40 "$TEST_TMP/apply.err" | sed 's/^/# (a) /'

expect_eq "blue-green: the last requests were answered by v2" v2 "$(tail -1 "$TEST_TMP/load-a" | cut -d' ' -f3)"
# While NGINX's old worker drains, both versions answer for a moment; then only v2.
overlap=$(awk '$3 == "v2" && !f { f = $1 } $3 == "v1" { l = $1 } END { print l - f }' "$TEST_TMP/load-a")
diag "blue-green: v1 and v2 both answered for $overlap ms around the switch"
expect_eq "blue-green: after the switch only v2 answers (overlap under 1 s)" 1 "$([ "$overlap" -lt 1000 ] && echo 1 || echo 0)"
check "the smoke test ran and was answered by v2, the new slot it ran beside" \
	grep -q 'smoke test passed.*GET /q/health/ready: 200 from version v2' "$TEST_TMP/apply.err"

# --- (b) a version that dies in the monitor window is switched back ------------------------------
# It exits 7 s after it starts: after the switch (ready, preview routed, smoke-tested, switched: a
# few seconds) and well inside the 9 s monitor window that follows it.
write_dep auriga-demo-node:v3 "$BLUEGREEN" 'DEMO_CRASH_AFTER_S: "7"'
pid=$(load "$TEST_TMP/load-b" 90)
apply
rc=$?
sleep 2
stop_load "$pid"
expect_eq "window failure: apply reports the rollback" 1 "$rc"
expect_match "window failure: the reason is in the status" "stopped being ready after the switch" \
	"$(grep -h 'rolled back' "$TEST_TMP/apply.out" | tail -1)"
expect_eq "window failure: v2 serves again in slot green, v3 is gone" \
	"green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
# The switch back, from the controller's log: the first router apply after the failure (the reload)
# and the moment the router confirmed NGINX serves it.
read -r back served < <(python3 - "$TEST_TMP/apply.err" <<'PY'
import datetime, re, sys
def ms(line):
    t = re.search(r"time=(\S+)Z", line).group(1)
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000)
failed, back = False, None
for line in open(sys.argv[1]):
    if "deployment failed, rolling back" in line and "stopped being ready" in line:
        failed = True
    elif failed and back is None and 'msg="router applied"' in line:
        back = ms(line)
    elif back is not None and 'msg="configuration served"' in line:
        print(back, ms(line))
        break
PY
)
after=$(awk '$3 == "v3" { n = NR } END { print n + 0 }' "$TEST_TMP/load-b")
diag "window failure: $(wc -l <"$TEST_TMP/load-b") requests, $(grep -c ' v3$' "$TEST_TMP/load-b") answered by v3, $(failed_count "$TEST_TMP/load-b") failed in all"
expect_eq "window failure: v3 did serve before the switch back" 1 "$([ "$after" -gt 0 ] && echo 1 || echo 0)"
# The switch back as the client sees it: the first answer from v2 after the router applied it
# (NGINX's old worker takes a moment to hand over after the reload command returns).
seen=$(awk -v b="${back:-0}" 'b > 0 && $1 >= b && $3 == "v2" { print NR; exit }' "$TEST_TMP/load-b")
seen_ms=$(awk -v n="${seen:-0}" 'NR == n { print $1 }' "$TEST_TMP/load-b")
diag "window failure: $(awk -v b="${back:-0}" '$1 < b && ($2 < 200 || $2 >= 300)' "$TEST_TMP/load-b" | wc -l) requests failed while slot blue was down, before the router switched back"
diag "window failure: the first v2 answer came $(( ${seen_ms:-0} - ${back:-0} )) ms after the router applied the switch back"
# The old slot stays in the upstream as a backup while the new one is watched: NGINX falls back on
# it when the new slot's connections are refused. A POST that docker-proxy accepted for a crashed
# container is not retried (not idempotent), but marks that server down: until NGINX serves the
# switch back, at most one such failure per crashed container; once it serves it, none.
expect_eq "window failure: no request failed once NGINX served the switch back" 0 \
	"$(awk -v b="${served:-0}" 'b > 0 && $1 >= b && ($2 < 200 || $2 >= 300)' "$TEST_TMP/load-b" | wc -l)"
between=$(awk -v a="${back:-0}" -v b="${served:-0}" '$1 >= a && $1 < b && ($2 < 200 || $2 >= 300)' "$TEST_TMP/load-b" | wc -l)
diag "window failure: $between requests failed between the reload and NGINX serving the switch back ($(( ${served:-0} - ${back:-0} )) ms)"
expect_eq "window failure: meanwhile at most one failed request per crashed container (2)" 1 \
	"$([ "$between" -le 2 ] && echo 1 || echo 0)"
check "window failure: the switch back and its confirmation were seen in the log" test -n "$back" -a -n "$served"

# --- (c) a canary with a 20 % error rate stops at its first analysis -------------------------------
write_dep auriga-demo-node:flaky "$CANARY"
pid=$(load "$TEST_TMP/load-c" 90)
apply
rc=$?
sleep 2
stop_load "$pid"
expect_eq "flaky canary: apply reports the rollback" 1 "$rc"
summary=$(grep -h 'rolled back' "$TEST_TMP/apply.out" | tail -1)
diag "$summary"
expect_match "flaky canary: the failed metric and its value are in the status" \
	"analysis at 20% \(step 2 of 5\) failed: error-rate = 0\.[0-9]+ > 0\.05" "$summary"
expect_eq "flaky canary: v2 keeps all traffic, the canary is gone" \
	"green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
flaky=$(grep -c ' flaky$' "$TEST_TMP/load-c")
# Over every window of 100 consecutive requests from the canary's first answer to its last (not
# diluted over the whole run): a canary past its 20 % step would answer about half of a window.
expect_eq "flaky canary: the canary never got past 20 % (no window of 100 requests over 35 from it)" ok \
	"$(window_share_at_most "$TEST_TMP/load-c" flaky 35)"
after=$(awk '$3 == "flaky" { n = NR } END { print n + 0 }' "$TEST_TMP/load-c")
expect_eq "flaky canary: no request failed after the rollback" 0 \
	"$(tail -n +"$((after + 1))" "$TEST_TMP/load-c" | awk '$2 < 200 || $2 >= 300' | wc -l)"
diag "flaky canary: $(wc -l <"$TEST_TMP/load-c") requests, $flaky answered by the canary"

# --- (d) a good canary reaches 100 %, each step's share matching its weight ------------------------
write_dep auriga-demo-node:v3 "$CANARY"
pid=$(load "$TEST_TMP/load-d" 120)
# The active upstream at each change of the router's file ("ms port:weight ..."), with the time it
# was seen: the steps' boundaries.
watch_pid=$(watch_router "$TEST_TMP/weights" 120)
on_exit "kill $watch_pid"
apply
rc=$?
sleep 1
stop_load "$pid"
kill "$watch_pid" 2>/dev/null
expect_eq "good canary: converges" 0 "$rc"
expect_eq "good canary: v3 runs alone" 2 "$(slots | tr ' ' '\n' | grep -c ':auriga-demo-node:v3$')"
expect_eq "good canary: nothing else runs" 2 "$(fleet_count)"
# Per router state with both slots in the upstream: the share of v3 among requests sent from 0.3 s
# after it was seen to the next change. The expected shares are the spec's setWeight steps (20, then
# 50), in order, not the weights auriga wrote. Tolerance: 5 percentage points; both steps measured.
check "good canary: each step's share of v3 matches the spec's setWeight (20 %, then 50 %) within 5 points" python3 - \
	"$TEST_TMP/weights" "$TEST_TMP/load-d" "$HP" <<'PY'
import sys
SPEC_STEPS = [20.0, 50.0]
marks = [l.split(" ", 1) + [""] for l in open(sys.argv[1]).read().splitlines()]
marks = [(int(m[0]), m[1].strip()) for m in marks]
# The servers of each state (backup servers, "port:b", left out); a change of the backups alone is
# no new state.
marks = [(t, " ".join(s for s in w.split() if not s.endswith(":b"))) for t, w in marks]
marks = [m for i, m in enumerate(marks) if i == 0 or m[1] != marks[i - 1][1]]
reqs = [l.split() for l in open(sys.argv[2]).read().splitlines()]
reqs = [(int(t), int(s), v) for t, s, v in reqs]
ok = True
steps = 0
for i, (t0, w) in enumerate(marks):
    t1 = marks[i + 1][0] if i + 1 < len(marks) else 1 << 62
    # A weighted state has servers of both slots (blue: the two ports from HP, green: the next two);
    # replicas follow the weight, so a slot may have one server or two.
    ports = [int(s.split(":")[0]) for s in w.split()]
    if not any(p < int(sys.argv[3]) + 2 for p in ports) or not any(p >= int(sys.argv[3]) + 2 for p in ports):
        continue
    if steps >= len(SPEC_STEPS):
        print("# a weighted router state beyond the spec's steps: %s" % w)
        ok = False
        break
    expect = SPEC_STEPS[steps]
    steps += 1
    ins = [r for r in reqs if t0 + 300 <= r[0] < t1]
    share = 100.0 * sum(1 for r in ins if r[2] == "v3") / len(ins) if ins else -100.0
    print("# step %d (router weights %s): %d requests, %.1f %% answered by v3 (the spec says %.0f %%)"
          % (steps, w, len(ins), share, expect))
    if len(ins) < 100 or abs(share - expect) > 5:
        ok = False
if steps != len(SPEC_STEPS):
    print("# %d weighted steps were seen, the spec has %d" % (steps, len(SPEC_STEPS)))
    ok = False
sys.exit(0 if ok else 1)
PY
expect_eq "good canary: the last requests were answered by v3" v3 "$(tail -1 "$TEST_TMP/load-d" | cut -d' ' -f3)"
expect_eq "good canary: no request failed" 0 "$(failed_count "$TEST_TMP/load-d")"
[ "$_tap_failed" -eq 0 ] || { tail -5 "$NGX/error.log"; tail -30 "$TEST_TMP/apply.out"; grep -E 'level=(warn|error)|traffic' "$TEST_TMP/apply.err" | tail -30; } |
	while read -r l; do diag "$l"; done

done_testing
