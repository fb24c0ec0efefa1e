#!/usr/bin/env bash
# Blue-green gates and the router's upstream settings through a real NGINX (and a real Prometheus),
# under bounded load on 127.0.0.1, each released by `auriga apply`:
# - prePromotionAnalysis: a version whose error rate, scraped from the preview slot's own
#   containers while the test sends transactions to the preview, is over the threshold is never
#   switched to (NGINX answers from the old version alone), the release fails and its slot goes;
#   a good version is switched to only after the analysis passed (auriga's log against the first
#   answer from the new version through NGINX);
# - the monitor window: the same analysis, a Prometheus query on a gauge the test flips once the
#   switch is served, switches back to the old slot, with no request lost once NGINX serves it;
# - scaleDownDelaySeconds: the old slot's containers are destroyed (Docker's events) no earlier
#   than the delay after NGINX served the switch (auriga's log), and not much later;
# - Service upstreamHealth: maxFails and failTimeoutSeconds are in the server lines NGINX loads
#   (`nginx -T`), and NGINX acts on them: with maxFails 1 a stopped container is tried about once
#   per failTimeout, with maxFails 0 on every turn (its error log), no request failing either way.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

command -v prometheus >/dev/null || { fail "prometheus is installed (hack/deps.sh)"; exit 1; }
DEP=anaapi$$
SPECS=$FLEET_SPECS
TRAFFIC_IMAGES=flaky
# The slow reload of (3) below, which the operator's policy must list too.
TRAFFIC_RELOAD_EXTRA="[sh, -c, 'sleep 2; exec nginx -e $TEST_TMP/nginx/error.log -c $TEST_TMP/nginx/nginx.conf -s reload']"
. "$(dirname "$0")/traffic-lib.bash"
t0=$(date +%s)

# --- Prometheus on 127.0.0.1, scraping a gauge the test writes: release_gate{slot} ---------------
GP=$(free_port)
mkdir -p "$PROM/gate"
# set_gate VALUE: the gate of slot green, written atomically (served as a static file).
set_gate() {
	printf '# TYPE release_gate gauge\nrelease_gate{slot="green"} %s\nrelease_gate{slot="blue"} 0\n' "$1" \
		>"$PROM/gate/metrics.txt.tmp"
	mv "$PROM/gate/metrics.txt.tmp" "$PROM/gate/metrics.txt"
}
set_gate 0
python3 -m http.server --bind 127.0.0.1 --directory "$PROM/gate" "$GP" >"$PROM/gate.log" 2>&1 &
gate_pid=$!
on_exit "kill $gate_pid; wait $gate_pid"
start_prometheus "  - job_name: gate
    metrics_path: /metrics.txt
    static_configs: [{targets: ['127.0.0.1:$GP']}]"

# --- the analyses ---------------------------------------------------------------------------------
# errors: the new slot's own error ratio, scraped from its containers (the preview's traffic before
# the switch). gate: the Prometheus gauge of the new slot, through the {{slot}} placeholder.
{
	errors_template "$DEP-errors"
	cat <<EOF
---
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: $DEP-gate}
spec:
  metrics:
$(prom_metric gate 1s 12 0 ">" 0.5 'max(release_gate{slot="{{slot}}"})')
EOF
} >"$SPECS/analysis.yaml"

# bluegreen [ANALYSIS WINDOW DELAY]: the strategy block.
bluegreen() {
	cat <<EOF
    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
EOF
	[ -n "$1" ] && printf '      prePromotionAnalysis: {templates: [{templateName: %s}]}\n' "$DEP-$1"
	printf '      postPromotionWindowSeconds: %s\n      scaleDownDelaySeconds: %s\n' "$2" "$3"
}

# release NAME [TIMEOUT]: `auriga apply` of the specs; its output in NAME.out, its log in NAME.err.
release() {
	auriga_engine apply --timeout-total "${2:-150}" "$SPECS" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"
}
# logms FILE REGEX...: the time (ms) of the first line of auriga's log matching every REGEX in order
# of lines (the first matching the first REGEX, then the next matching the second after it, ...).
logms() {
	python3 - "$@" <<'PY'
import datetime, re, sys
pats = [re.compile(p) for p in sys.argv[2:]]
t = None
for line in open(sys.argv[1]):
    if pats and pats[0].search(line):
        m = re.search(r"time=(\S+?)Z", line)
        d = datetime.datetime.strptime(m.group(1)[:23], "%Y-%m-%dT%H:%M:%S.%f")
        t = int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
        pats.pop(0)
print(t if not pats and t is not None else "")
PY
}
# first_from LOAD VERSION: the time (ms) of VERSION's first answer in a load log ("" when none).
first_from() { awk -v v="$2" '$3 == v { print $1; exit }' "$1"; }
show() { tail -n "${2:-20}" "$TEST_TMP/$1.err" | while read -r l; do diag "$l"; done; }
SWITCH_GREEN="msg=\"router applied\" deployment=$DEP service=$DEP slot=green weight=100"
SWITCH_BLUE="msg=\"router applied\" deployment=$DEP service=$DEP slot=blue weight=100"
SERVED='msg="configuration served"'

# --- the first release: v1 in slot blue ----------------------------------------------------------
write_dep auriga-demo-node:v1 "$(bluegreen errors 3 1)"
release r0
expect_eq "the first release comes up in slot blue" "blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"

# --- (1a) prePromotionAnalysis fails against the preview: no switch -------------------------------
# The flaky version answers 20 % of transactions with 500; the test sends transactions to the
# preview listener (the new slot alone), which the analysis reads from its containers.
write_dep auriga-demo-node:flaky "$(bluegreen errors 3 1)"
lpid=$(load "$TEST_TMP/load-1a" 120)
ppid=$(LP=$PP load "$TEST_TMP/preview-1a" 120)
release r1a
rc=$?
sleep 1
stop_load "$lpid"
stop_load "$ppid"
expect_eq "pre-promotion analysis failing: apply reports the failure" 1 "$rc"
why=$(grep -h 'rolled back' "$TEST_TMP/r1a.out" | tail -1)
diag "$why"
expect_match "pre-promotion analysis failing: the status names the analysis, metric and value" \
	"pre-promotion analysis failed: error-rate = 0\.[0-9]+ > 0\.05" "$why"
check "pre-promotion analysis failing: the preview did answer from the flaky version" grep -q ' flaky$' "$TEST_TMP/preview-1a"
diag "through NGINX: $(wc -l <"$TEST_TMP/load-1a") requests: $(cut -d' ' -f3 "$TEST_TMP/load-1a" | sort | uniq -c | tr '\n' ' ')"
expect_eq "pre-promotion analysis failing: every request through the active service answered by v1, none failed" \
	"" "$(awk '$2 < 200 || $2 >= 300 || $3 != "v1"' "$TEST_TMP/load-1a" | head -3)"
check "pre-promotion analysis failing: requests were served meanwhile (at least 100)" \
	test "$(wc -l <"$TEST_TMP/load-1a")" -ge 100
expect_eq "pre-promotion analysis failing: the router never switched the active service to green" 0 \
	"$(grep -cF "$SWITCH_GREEN" "$TEST_TMP/r1a.err")"
expect_eq "pre-promotion analysis failing: the new slot is removed, v1 alone in slot blue" \
	"blue:auriga-demo-node:v1 blue:auriga-demo-node:v1" "$(slots)"
expect_eq "pre-promotion analysis failing: NGINX answers from v1 alone" "100 0 v1=100" "$(sample 100)"
[ "$rc" = 1 ] || show r1a

# --- (1b) prePromotionAnalysis passes: the switch comes after its verdict ------------------------
write_dep auriga-demo-node:v2 "$(bluegreen errors 3 1)"
lpid=$(load "$TEST_TMP/load-1b" 120)
ppid=$(LP=$PP load "$TEST_TMP/preview-1b" 120)
release r1b
rc=$?
sleep 1
stop_load "$lpid"
stop_load "$ppid"
expect_eq "pre-promotion analysis passing: apply succeeds" 0 "$rc"
expect_eq "pre-promotion analysis passing: v2 in slot green, slot blue gone" \
	"green:auriga-demo-node:v2 green:auriga-demo-node:v2" "$(slots)"
decided=$(logms "$TEST_TMP/r1b.err" 'msg="analysis decided" deployment='"$DEP"' result=Successful')
switched=$(logms "$TEST_TMP/r1b.err" "$SWITCH_GREEN")
first_v2=$(first_from "$TEST_TMP/load-1b" v2)
diag "pre-promotion analysis passing: analysis decided at $decided, router switched at $switched, first v2 answer through NGINX at $first_v2"
check "pre-promotion analysis passing: the analysis verdict and the switch are in the log" test -n "$decided" -a -n "$switched"
check "pre-promotion analysis passing: the router switched after the analysis passed" test "${switched:-0}" -ge "${decided:-1}"
check "pre-promotion analysis passing: NGINX answered from v2 only after the analysis passed" \
	test "${first_v2:-0}" -ge "${decided:-1}"
expect_eq "pre-promotion analysis passing: no request through NGINX failed" 0 "$(failed_count "$TEST_TMP/load-1b")"
expect_eq "pre-promotion analysis passing: NGINX answers from v2 alone" "100 0 v2=100" "$(sample 100)"
[ "$rc" = 0 ] || show r1b

# --- (3) scaleDownDelaySeconds: the old slot stays that long after the switch --------------------
# The reload takes 2 s here (a loaded host): the delay counts from the moment NGINX serves the switch,
# not from the decision to switch, 2 s earlier.
# slow_reload: the Cluster's reload command after a pause of 2 s; fast_reload: as it was.
cp "$SPECS/cluster.yaml" "$TEST_TMP/cluster.yaml"
slow_reload() {
	python3 - "$TEST_TMP/cluster.yaml" "$SPECS/cluster.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"reloadCommand: \[(nginx[^\]]*)\]", text)
new = "reloadCommand: [sh, -c, 'sleep 2; exec %s']" % m.group(1).replace(",", "")
open(sys.argv[2], "w").write(text[:m.start()] + new + text[m.end():])
PY
}
fast_reload() { cp "$TEST_TMP/cluster.yaml" "$SPECS/cluster.yaml"; }
DELAY=15
write_dep auriga-demo-node:v3 "$(bluegreen "" 2 $DELAY)"
slow_reload
since=$(date +%s)
release r3
rc=$?
fast_reload
until_t=$(( $(date +%s) + 1 ))
expect_eq "scale-down delay: apply succeeds" 0 "$rc"
expect_eq "scale-down delay: v3 in slot blue, slot green gone" \
	"blue:auriga-demo-node:v3 blue:auriga-demo-node:v3" "$(slots)"
served=$(logms "$TEST_TMP/r3.err" "$SWITCH_BLUE" "$SERVED")
docker events --since "$since" --until "$until_t" --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" \
	--filter "label=auriga.io/slot=green" --filter event=kill --filter event=destroy \
	--format '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}' >"$TEST_TMP/events-3"
while read -r l; do diag "event: $l"; done <"$TEST_TMP/events-3"
# first EVENT: the time (ms) of the first such event in the list, and how many there were.
first() { awk -v e="$1" '$2 == e { n++; t = int($1 / 1000000); if (!min || t < min) min = t } END { printf "%d %.0f\n", n, min }' "$TEST_TMP/events-3"; }
read -r n_k first_k <<<"$(first kill)"
read -r n_d first_d <<<"$(first destroy)"
last_d=$(awk '$2 == "destroy" { t = int($1 / 1000000); if (t > max) max = t } END { printf "%.0f\n", max }' "$TEST_TMP/events-3")
diag "scale-down delay: NGINX served the switch at ${served:-?}; slot green stopped at $first_k, destroyed from $first_d to $last_d"
check "scale-down delay: the served switch is in the log" test -n "$served"
expect_eq "scale-down delay: Docker stopped and destroyed both containers of the old slot" "2 2" "$n_k $n_d"
# The removal starts with the stop (SIGTERM): the slot must still be whole until the delay is over.
check "scale-down delay: the old slot's removal started no earlier than ${DELAY} s after NGINX served the switch ($(( first_k - ${served:-0} )) ms)" \
	test $(( first_k - ${served:-0} )) -ge $((DELAY * 1000))
check "scale-down delay: and it was destroyed within $((DELAY + 15)) s of it ($(( last_d - ${served:-0} )) ms)" \
	test $(( last_d - ${served:-0} )) -le $(( (DELAY + 15) * 1000 ))
[ "$rc" = 0 ] || show r3

# --- (2) the monitor window: the analysis turns failing after the switch, auriga switches back -----
if wait_for 30 prom_is 'max(release_gate{slot="green"})' 0; then ok "Prometheus reads the gate (0)"; else
	fail "Prometheus reads the gate (0)"; tail -5 "$PROM/log" | while read -r l; do diag "$l"; done; fi
write_dep auriga-demo-node:v1 "$(bluegreen gate 25 1)"
lpid=$(load "$TEST_TMP/load-2" 150)
release r2 &
apid=$!
on_green() { [[ " $(upstream) " == *" $GREEN_100 "* ]]; }
if wait_for 90 on_green; then ok "monitor window: slot green (v1) takes the traffic after the pre-promotion analysis"; else
	fail "monitor window: slot green (v1) takes the traffic after the pre-promotion analysis"; show r2; fi
# The switch is served once v1 answers through NGINX; then the gate turns.
wait_for 10 test "$(sample 1 | cut -d' ' -f3)" = v1=1
flip=$(date +%s%3N)
set_gate 1
wait "$apid"
rc=$?
sleep 2
stop_load "$lpid"
expect_eq "monitor window: apply reports the switch back" 1 "$rc"
why=$(grep -h 'rolled back' "$TEST_TMP/r2.out" | tail -1)
diag "$why"
expect_match "monitor window: the status names the window analysis and the gate's value" \
	"monitor window analysis failed: gate = 1 > 0\.5" "$why"
back=$(logms "$TEST_TMP/r2.err" "$SWITCH_GREEN" "$SWITCH_BLUE")
back_served=$(logms "$TEST_TMP/r2.err" "$SWITCH_GREEN" "$SWITCH_BLUE" "$SERVED")
diag "monitor window: gate flipped at $flip, switched back at ${back:-?}, served at ${back_served:-?}"
check "monitor window: the switch back came after the gate turned, within the 25 s window" \
	test "${back:-0}" -ge "$flip" -a "${back:-0}" -le $((flip + 25000))
expect_eq "monitor window: v3 in slot blue again, slot green gone" \
	"blue:auriga-demo-node:v3 blue:auriga-demo-node:v3" "$(slots)"
expect_eq "monitor window: NGINX answers from v3 alone" "100 0 v3=100" "$(sample 100)"
check "monitor window: v1 did serve through NGINX before the switch back" grep -q ' v1$' "$TEST_TMP/load-2"
failed_2=$(failed_count "$TEST_TMP/load-2")
diag "monitor window: $(wc -l <"$TEST_TMP/load-2") requests through NGINX, $failed_2 failed, $(grep -c ' v1$' "$TEST_TMP/load-2") answered by v1"
expect_eq "monitor window: no request failed once NGINX served the switch back" 0 \
	"$(awk -v b="${back_served:-0}" 'b > 0 && $1 >= b && ($2 < 200 || $2 >= 300)' "$TEST_TMP/load-2" | wc -l)"
check "monitor window: at most 2 requests failed in all ($failed_2)" test "$failed_2" -le 2
expect_eq "monitor window: the last requests were answered by v3" v3 "$(tail -1 "$TEST_TMP/load-2" | cut -d' ' -f3)"
[ "$rc" = 1 ] || show r2

# --- (4) Service upstreamHealth: in NGINX's configuration and in what NGINX does ------------------
# with_health MAXFAILS FAILTIMEOUT: the active service with upstreamHealth.
with_health() {
	python3 - "$SPECS/services.yaml" "$DEP" "$1" "$2" <<'PY'
import re, sys
path, dep, mf, ft = sys.argv[1:]
text = open(path).read()
text = re.sub(r"(metadata: \{name: %s\}\nspec: \{deployment: %s, port: \d+, targetPort: http)(, upstreamHealth: \{[^}]*\})?\}"
              % (re.escape(dep), re.escape(dep)),
              r"\1, upstreamHealth: {maxFails: %s, failTimeoutSeconds: %s}}" % (mf, ft), text)
open(path, "w").write(text)
PY
}
# servers: the active upstream's server lines in the configuration NGINX loads (`nginx -T`).
servers() {
	nginx -T -e "$NGX/error.log" -c "$NGX/nginx.conf" 2>/dev/null |
		awk -v u="upstream $(router_upstream "$DEP") {" '$0 ~ u { f = 1; next } f && /^}/ { exit } f && /server/' | sed 's/^[ \t]*//' | sort
}
# stopped_run NAME: stops the second container of slot blue (its port refuses connections; nothing
# re-routes: apply has exited), sends 200 requests through NGINX, and prints the sample and how many
# of NGINX's connection attempts to the stopped one failed meanwhile; starts it again.
stopped_run() {
	local c before
	c=$(docker ps -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter "label=auriga.io/ordinal=1")
	docker stop -t 1 "$c" >/dev/null
	before=$(wc -l <"$NGX/error.log")
	sample 200 >"$TEST_TMP/$1.sample"
	tail -n +"$((before + 1))" "$NGX/error.log" >"$TEST_TMP/$1.errlog"
	echo "$(cat "$TEST_TMP/$1.sample") connect-failed=$(grep -c "connect() failed.*127.0.0.1:$((HP + 1))" "$TEST_TMP/$1.errlog")"
	docker start "$c" >/dev/null
}

# The running revision again (the last commit's was rolled back), with the service's new settings.
write_dep auriga-demo-node:v3 "$(bluegreen "" 2 $DELAY)"
ids=$(fleet_ps '{{.ID}}' | sort)
with_health 1 30
release r4a
rc=$?
expect_eq "upstreamHealth maxFails 1: apply succeeds" 0 "$rc"
[ "$rc" = 0 ] || { sed 's/^/# /' "$TEST_TMP/r4a.out"; show r4a; }
expect_eq "upstreamHealth maxFails 1: the same containers serve (a router change, no release)" "$ids" "$(fleet_ps '{{.ID}}' | sort)"
expect_eq "upstreamHealth maxFails 1: NGINX loads max_fails=1 fail_timeout=30s on each server" \
	"server 127.0.0.1:$HP weight=100 max_fails=1 fail_timeout=30s;
server 127.0.0.1:$((HP + 1)) weight=100 max_fails=1 fail_timeout=30s;" "$(servers)"
out=$(stopped_run mf1)
diag "upstreamHealth maxFails 1, one container stopped: $out"
expect_eq "upstreamHealth maxFails 1: every request succeeds, answered by v3" "200 0 v3=200" "$(cut -d' ' -f1-3 <<<"$out")"
n1=${out##*connect-failed=}
check "upstreamHealth maxFails 1: NGINX took the stopped container out (tried it at most twice in 200 requests: $n1)" \
	test "$n1" -ge 1 -a "$n1" -le 2

with_health 0 30
release r4b
expect_eq "upstreamHealth maxFails 0: apply succeeds" 0 "$?"
expect_eq "upstreamHealth maxFails 0: NGINX loads max_fails=0 on each server" \
	"server 127.0.0.1:$HP weight=100 max_fails=0 fail_timeout=30s;
server 127.0.0.1:$((HP + 1)) weight=100 max_fails=0 fail_timeout=30s;" "$(servers)"
out=$(stopped_run mf0)
diag "upstreamHealth maxFails 0, one container stopped: $out"
expect_eq "upstreamHealth maxFails 0: every request succeeds (passed to the next server)" "200 0 v3=200" "$(cut -d' ' -f1-3 <<<"$out")"
n0=${out##*connect-failed=}
check "upstreamHealth maxFails 0: NGINX never marks it failed, it tries the stopped container on its turns (at least 50 of 200: $n0)" \
	test "$n0" -ge 50

expect_eq "no sanitizer report in any apply's output" "" \
	"$(grep -lE 'Sanitizer|runtime error' "$TEST_TMP"/r*.err "$TEST_TMP"/r*.out 2>/dev/null)"
diag "traffic_analysis took $(( $(date +%s) - t0 )) s"
[ "$_tap_failed" -eq 0 ] || { tail -5 "$NGX/error.log"; tail -3 "$PROM/log"; } | while read -r l; do diag "$l"; done

done_testing
