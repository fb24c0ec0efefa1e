#!/usr/bin/env bash
# Canary releases judged by a real Prometheus, under bounded load through a real NGINX on 127.0.0.1:
# the daemon (`auriga run` following a git remote) releases a version answering 20 % of transactions
# with 500 and stops it at its first analysis, whose instant query reads the error ratio of the
# canary's containers alone (selected by the {{revision}} and {{instances}} placeholders) from
# Prometheus, and rolls it back with no failed request after that; a good version passes the same
# analysis and reaches 100 %. A second metric counts the series a query selects by {{deployment}}
# and {{containers}}: exactly the new slot's containers (one at 20 %), at the release's revision. Prometheus
# scrapes the containers at their published 127.0.0.1 ports, found by a file_sd list the test keeps
# current, and auriga's own /metrics, which must show the canary weight at each router change (back
# to 0 at the end) and every measurement's result.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

command -v prometheus >/dev/null || { fail "prometheus is installed (hack/deps.sh)"; exit 1; }

# Instance names allow no underscore, which this test's file name has.
FLEET_INSTANCE=e2e-traffic-prometheus-$$
DEP=promapi$$
SPECS=$FLEET_SPECS
REMOTE=$TEST_TMP/remote.git
AP=$(free_port)		# auriga's HTTP server
# NGINX serves the service at LP, Prometheus listens at PROMP; a canary routes no preview.
TRAFFIC_CLUSTER=traffic-prometheus
TRAFFIC_IMAGES=flaky
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/traffic-lib.bash"
git init -q --bare -b main "$REMOTE"
git init -q -b main "$SPECS"
git -C "$SPECS" remote add origin "$REMOTE"

# --- Prometheus on 127.0.0.1: the containers (file_sd) and auriga, every second -----------------
mkdir -p "$PROM"
echo '[]' >"$PROM/targets.json"
start_prometheus "  - job_name: canary
    metrics_path: /q/metrics
    file_sd_configs: [{files: ['$PROM/targets.json'], refresh_interval: 1s}]
  - job_name: auriga
    static_configs: [{targets: ['127.0.0.1:$AP']}]"
if ! wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$PROMP/-/ready"; then
	fail "prometheus gets ready"
	tail -5 "$PROM/log" | while read -r l; do diag "$l"; done
	exit 1
fi

# The file_sd list: every running container of this instance at its published 127.0.0.1 port,
# labelled with its deployment, slot, revision and name, rewritten (atomically) every 0.3 s for at
# most 240 s.
python3 - "$FLEET_INSTANCE" "$PROM/targets.json" 240 <<'PY' >"$PROM/sd.log" 2>&1 &
import json, os, subprocess, sys, time
inst, path, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
fmt = '{{.Names}}\t{{.Label "auriga.io/deployment"}}\t{{.Label "auriga.io/slot"}}\t{{.Label "auriga.io/revision"}}\t{{.Ports}}'
last = None
end = time.time() + secs
while time.time() < end:
    out = subprocess.run(["docker", "ps", "--filter", "label=auriga.io/managed-by=" + inst, "--format", fmt],
                         capture_output=True, text=True, timeout=10).stdout
    groups = []
    for line in sorted(out.splitlines()):
        name, dep, slot, rev, ports = (line.split("\t") + [""] * 5)[:5]
        for p in ports.split(", "):
            # "127.0.0.1:20001->9003/tcp"
            if p.startswith("127.0.0.1:") and p.endswith("->9003/tcp"):
                addr = p.split("->")[0]
                groups.append({"targets": [addr], "labels": {"container": name, "deployment": dep,
                                                             "slot": slot, "revision": rev}})
    text = json.dumps(groups)
    if text != last:
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
        last = text
        print(int(time.time() * 1000), text, flush=True)
    time.sleep(0.3)
PY
sd_pid=$!
on_exit "kill $sd_pid"

# --- the specs ---------------------------------------------------------------------------------
# Prometheus starts scraping a target some seconds after it is listed (its scrape manager applies
# new targets every 5 s), and increase() needs two samples: the canary's steps give it 7 s at 20 %
# before the analysis, whose measurements are 3 s apart, and one no-data measurement is tolerated.
# The canary's error ratio over the last 10 s, from its own containers only: the release's revision
# and the addresses Prometheus scrapes them at. No transaction yet (or no scrape yet) is no data,
# which the analysis counts as inconclusive. At 20 % the stable slot's answers would dilute a 20 %
# error rate to 4 %, under the 5 % threshold: only a query that sees the canary alone fails it.
SEL='job="canary",revision="{{revision}}",instance=~"{{instances}}",uri="/api/v11/transactions"'
QUERY="(sum(increase(http_server_requests_total{$SEL,status=~\"5..\"}[10s])) or vector(0)) / sum(increase(http_server_requests_total{$SEL}[10s]))"
# The containers a query names by {{deployment}} and {{containers}} (the file_sd list labels each
# target with its deployment and container name), as ten times their number plus the number of them
# at the release's revision: 11 when they are exactly the new slot's one container (at 20 % the
# canary runs ceil(2 x 20 %) = 1 of the two replicas); 31 when the stable slot's two are among
# them, 20 when they are the stable slot's alone, no data when they match nothing.
NAMED='job="canary",deployment="{{deployment}}",container=~"{{containers}}"'
BYNAME="count(up{$NAMED}) * 10 + (count(up{$NAMED,revision=\"{{revision}}\"}) or vector(0))"
cat >"$SPECS/analysis.yaml" <<EOF
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: $DEP-errors}
spec:
  metrics:
$(prom_metric error-rate 3s 3 1 ">" 0.05 "$QUERY")
$(prom_metric by-container 3s 3 1 "!=" 11 "$BYNAME")
EOF

CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 7s}
        - analysis: {templates: [{templateName: $DEP-errors}]}
        - setWeight: 50
        - pause: {duration: 5s}"
# release IMAGE: the deployment, released by canary, committed and pushed to the remote the daemon
# follows.
release() {
	write_dep "$1" "$CANARY"
	git -C "$SPECS" add -A
	git -C "$SPECS" -c user.name=t -c user.email=t@example.com commit -qm "$1"
	git -C "$SPECS" push -q origin main
}

release auriga-demo-node:v1
"$AURIGA_BIN" run --instance "$FLEET_INSTANCE" --state-dir "$FLEET_STATE" --extra-labels "$TEST_LABEL" \
	--listen "127.0.0.1:$AP" --poll-interval 1s --repo "$REMOTE" >"$TEST_TMP/run.log" 2>&1 &
run_pid=$!
on_exit "kill -TERM $run_pid; wait $run_pid"

# auriga's /metrics every 0.2 s for at most 240 s: each change of the deployment's canary weight
# ("ms weight") and the last value of each analysis result counter.
python3 - "127.0.0.1:$AP" "$DEP" "$TEST_TMP/weights" "$TEST_TMP/results" 240 <<'PY' >/dev/null 2>&1 &
import sys, time, urllib.request
addr, dep, wout, rout, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
wkey = 'auriga_canary_weight_percent{deployment="%s"} ' % dep
rkey = 'auriga_analysis_results_total{deployment="%s",' % dep
last = None
end = time.time() + secs
with open(wout, "w", buffering=1) as w:
    while time.time() < end:
        try:
            text = urllib.request.urlopen("http://%s/metrics" % addr, timeout=2).read().decode()
        except Exception:
            time.sleep(0.2)
            continue
        res = []
        for line in text.splitlines():
            if line.startswith(wkey):
                v = line[len(wkey):].strip()
                if v != last:
                    last = v
                    w.write("%d %s\n" % (int(time.time() * 1000), v))
            elif line.startswith(rkey):
                res.append(line)
        with open(rout + ".tmp", "w") as r:
            r.write("\n".join(res) + "\n")
        import os
        os.rename(rout + ".tmp", rout)
        time.sleep(0.2)
PY
poll_pid=$!
on_exit "kill $poll_pid"

status_json() { curl -sf --max-time 5 "http://127.0.0.1:$AP/api/v1/status"; }
# dep_field FIELD: one field of the deployment's status.
dep_field() {
	status_json | python3 -c 'import json, sys
d = [x for x in json.load(sys.stdin)["deployments"] if x["name"] == sys.argv[1]]
print(d[0].get(sys.argv[2], "") if d else "")' "$DEP" "$1"
}
# all_images: the image of each container of this instance, stopped ones too, sorted.
all_images() { fleet_ps '{{.Image}}' | sort | tr '\n' ' ' | sed 's/ $//'; }
only() { [ "$(all_images)" = "$1 $1" ] && [ "$(dep_field phase)" = "$2" ]; }
# result NAME [METRIC]: the deployment's count of the metric's measurements with that result (0 when
# none); the metric is error-rate unless named.
result() {
	awk -v r="metric=\"${2:-error-rate}\",result=\"$1\"" 'index($0, r) { v = $NF } END { print (v == "" ? 0 : v) }' \
		"$TEST_TMP/results" 2>/dev/null
}
show_log() { grep -E 'level=(warn|error)|traffic|analysis' "$TEST_TMP/run.log" | tail -${1:-20} | while read -r l; do diag "$l"; done; }

# --- the first release: v1, straight to 100 % ----------------------------------------------------
if wait_for 60 only auriga-demo-node:v1 Healthy; then ok "the first release (v1) is healthy"; else
	fail "the first release (v1) is healthy"; diag "images: $(all_images), phase $(dep_field phase)"
	tail -20 "$TEST_TMP/run.log" | while read -r l; do diag "$l"; done; exit 1; fi
wait_for 10 test "$(version)" = v1
expect_eq "NGINX answers from v1" v1 "$(version)"
check "Prometheus scrapes v1's two containers" wait_for 20 prom_is 'count(up{job="canary"} == 1)' 2
check "Prometheus scrapes auriga" wait_for 20 prom_is 'up{job="auriga"}' 1

# --- (a) a canary answering 20 % of transactions with 500 ----------------------------------------
flaky_start=$(date +%s%3N)
pid=$(load "$TEST_TMP/load-a" 100)
release auriga-demo-node:flaky
rolled() { only auriga-demo-node:v1 RolledBack; }
if wait_for 90 rolled; then ok "flaky canary: rolled back, v1 alone again"; else
	fail "flaky canary: rolled back, v1 alone again"; diag "images: $(all_images), phase $(dep_field phase)"; show_log; fi
sleep 2
stop_load "$pid"
err=$(dep_field lastError)
diag "flaky canary: $err"
expect_match "flaky canary: the status names the failed analysis step, metric and value" \
	"canary analysis at 20% \(step 3 of 5\) failed: error-rate = 0\.[0-9]+ > 0\.05" "$err"
value=$(echo "$err" | sed -n 's/.*error-rate = \([0-9.e+-]*\) > .*/\1/p')
# The canary's own error ratio: the demo node fails 20 of every 100 transactions.
expect_eq "flaky canary: the measured error ratio is the canary's own (0.1 to 0.3, not the diluted ~0.04)" 1 \
	"$(awk -v v="${value:-0}" 'BEGIN { print (v >= 0.1 && v <= 0.3) ? 1 : 0 }')"
n_a=$(wc -l <"$TEST_TMP/load-a")
flaky=$(grep -c ' flaky$' "$TEST_TMP/load-a")
diag "flaky canary: $n_a requests through NGINX, $flaky answered by the canary, $(failed_count "$TEST_TMP/load-a") failed in all (the canary's 500s)"
# Every window of 100 consecutive requests while the canary ran, not the whole run diluted.
expect_eq "flaky canary: the canary did serve, never past 20 % (no window of 100 requests over 35 from it)" ok \
	"$(window_share_at_most "$TEST_TMP/load-a" flaky 35)"
after=$(awk '$3 == "flaky" { n = NR } END { print n + 0 }' "$TEST_TMP/load-a")
tail_a=$(tail -n +"$((after + 1))" "$TEST_TMP/load-a" | wc -l)
diag "flaky canary: $tail_a requests after the canary's last answer"
expect_eq "flaky canary: no request failed after the rollback" 0 \
	"$(tail -n +"$((after + 1))" "$TEST_TMP/load-a" | awk '$2 < 200 || $2 >= 300' | wc -l)"
check "flaky canary: requests were served after the rollback" test "$tail_a" -gt 0
failed_a=$(result failed)
diag "flaky canary: analysis measurements: $failed_a failed, $(result successful) successful, $(result inconclusive) inconclusive"
check "flaky canary: auriga_analysis_results_total counted the failed measurements" test "$failed_a" -ge 2
w_a=$(awk -v s="$flaky_start" '$1 >= s { print $2 }' "$TEST_TMP/weights" | tr '\n' ' ' | sed 's/ $//')
diag "flaky canary: auriga_canary_weight_percent went $w_a"
expect_eq "flaky canary: the weight metric went 20, then back to 0" "20 0" "$w_a"

# --- (b) a good canary passes the analysis and reaches 100 % ---------------------------------------
good_start=$(date +%s%3N)
named_before=$(result successful by-container)
pid=$(load "$TEST_TMP/load-b" 100)
release auriga-demo-node:v2
if wait_for 90 only auriga-demo-node:v2 Healthy; then ok "good canary: v2 reaches 100 %, alone and healthy"; else
	fail "good canary: v2 reaches 100 %, alone and healthy"; diag "images: $(all_images), phase $(dep_field phase)"; show_log; fi
sleep 1
stop_load "$pid"
expect_eq "good canary: the last requests were answered by v2" v2 "$(tail -1 "$TEST_TMP/load-b" | cut -d' ' -f3)"
diag "good canary: $(wc -l <"$TEST_TMP/load-b") requests, $(grep -c ' v2$' "$TEST_TMP/load-b") answered by v2"
expect_eq "good canary: no request failed" 0 "$(failed_count "$TEST_TMP/load-b")"
sleep 1
succ=$(result successful)
diag "good canary: analysis measurements: $succ successful, $(result inconclusive) inconclusive (no data yet) in all"
check "good canary: the analysis passed on measured values (at least 2 successful measurements)" test "$succ" -ge 2
named=$(( $(result successful by-container) - named_before ))
diag "by-container: $named successful, $(result failed by-container) failed, $(result inconclusive by-container) inconclusive in all"
check "good canary: {{deployment}} and {{containers}} selected the new slot's container alone (at least 2 measurements of 11)" \
	test "$named" -ge 2
expect_eq "in neither release did they select another count of containers (no by-container measurement failed)" 0 \
	"$(result failed by-container)"
w_b=$(awk -v s="$good_start" '$1 >= s { print $2 }' "$TEST_TMP/weights" | tr '\n' ' ' | sed 's/ $//')
diag "good canary: auriga_canary_weight_percent went $w_b"
expect_eq "good canary: the weight metric went 20, 50, then 0 once complete" "20 50 0" "$w_b"
check "Prometheus saw auriga's canary weight at 50" test -n "$(prom "max_over_time(auriga_canary_weight_percent{deployment=\"$DEP\"}[5m]) == 50")"

kill -TERM "$run_pid"
wait "$run_pid"
rc=$?
expect_eq "SIGTERM stops the daemon with status 0 (no sanitizer report)" 0 "$rc"
[ "$rc" -eq 0 ] || tail -30 "$TEST_TMP/run.log" | while read -r l; do diag "$l"; done
[ "$_tap_failed" -eq 0 ] || { tail -5 "$NGX/error.log"; show_log 40; tail -3 "$PROM/sd.log"; } | while read -r l; do diag "$l"; done

done_testing
