#!/usr/bin/env bash
# Promote and abort through the daemon: `auriga run` follows a specs repository (a bare Git remote)
# and releases one API deployment through a real NGINX. A canary held at a pause until promoted
# keeps its weight (the share of responses read from the X-Node-Version header) until
# `auriga promote` with the API token moves it on to 100 % (a wrong or missing token gets 401 and
# changes nothing); a second canary held at its pause is aborted: all traffic returns to the stable
# slot in one router change, the canary's containers go, the note says so, and under bounded load
# no request fails after the abort; `auriga promote --full` finishes a third one at once, skipping
# its later steps; a blue-green release with autoPromotionEnabled false waits after its smoke
# test, serving the old version, until promoted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

# The daemon takes instance names of [a-z0-9.-] only.
FLEET_INSTANCE=e2e-traffic-control-$$
DEP=ctlapi$$
TOKEN=$TEST_TMP/token
AP=$(free_port)
specs_repo
SPECS=$WORK
. "$(dirname "$0")/traffic-lib.bash"

CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 30
        - pause: {}
        - setWeight: 60
        - pause: {duration: 3s}"
BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      autoPromotionEnabled: false
      postPromotionWindowSeconds: 3
      scaleDownDelaySeconds: 2"

# note COMMIT: the status note auriga pushed for COMMIT ("" when none yet).
note() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null; }
note_says() { note "$1" | head -1 | grep -q "$2"; }
# step: the deployment's status step from the daemon's HTTP API.
step() {
	curl -s --max-time 2 "http://127.0.0.1:$AP/api/v1/deployments/$DEP" |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("step") or "")' 2>/dev/null
}
step_says() { [[ $(step) == *"$1"* ]]; }
# await_failed: what a failed await adds to the daemon's last lines.
await_failed() {
	diag "step: $(step); upstream: $(upstream); images: $(images)"
	# Without the daemon nothing later can pass: stop here.
	kill -0 "$RUN_PID" 2>/dev/null || { fail "the daemon is running"; exit 1; }
}
ctl() { "$AURIGA_BIN" "$1" --listen "127.0.0.1:$AP" "${@:2}"; }
t0=$(date +%s)

# --- the daemon, and the first release (v1 straight to 100 % in slot blue) ---------------------
printf 'ctl-%s-secret\n' "$$" >"$TOKEN"
printf 'not-the-token\n' >"$TEST_TMP/wrong-token"
write_dep auriga-demo-node:v1 "$CANARY"
c0=$(commit "api v1")
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --state-dir "$FLEET_STATE" --instance "$FLEET_INSTANCE" \
	--listen "127.0.0.1:$AP" --api-token-file "$TOKEN" --poll-interval 1s
await "the first release: v1 in slot blue takes all traffic" 60 upstream_is "$BLUE_100"
await "the first release's note says Healthy" 30 note_says "$c0" Healthy

# --- a canary held at a pause until promoted -------------------------------------------------------
write_dep auriga-demo-node:v2 "$CANARY"
wpid=$(watch_router "$TEST_TMP/weights-1" 90)
on_exit "kill $wpid 2>/dev/null"
c1=$(commit "api v2, canary")
# Replicas follow the weight: at 30 % one v2 container beside both v1 ones, server weights 60 and 70
# so that v2 answers 30 % (60 / (60 + 2 * 70)).
HELD="$HP:70 $((HP + 1)):70 $((HP + 2)):60"
await "canary v2: held at 30 % (one v2 container at weight 60, two v1 at 70)" 60 upstream_is "$HELD"
await "canary v2: the status says paused until promoted" 10 step_says "paused until promoted"
s=$(sample 400)
diag "canary v2 held at 30 %: $s"
v2share=$(share v2 "$s")
check "canary v2: $v2share % of 400 requests answered by v2, 30 % within 7 points" within "$v2share" 30 7
expect_eq "canary v2: no request failed while held" 0 "$(cut -d' ' -f2 <<<"$s")"

# A wrong or missing token: 401, and nothing moves.
out=$(ctl promote --api-token-file "$TEST_TMP/wrong-token" "$DEP" 2>&1)
rc=$?
expect_eq "promote with a wrong token fails" 1 "$rc"
expect_match "promote with a wrong token: 401" "401" "$out"
out=$(AURIGA_API_TOKEN_FILE= ctl promote "$DEP" 2>&1)
rc=$?
expect_eq "promote without a token fails" 1 "$rc"
expect_match "promote without a token: 401" "401" "$out"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer wrong" \
	"http://127.0.0.1:$AP/api/v1/deployments/$DEP/promote?full=1")
expect_eq "promote?full=1 with a wrong bearer token: 401" 401 "$code"
sleep 3
expect_eq "after the refused promotes the canary is still held at 30 %" "$HELD" "$(upstream)"
check "after the refused promotes the status still says paused until promoted" step_says "paused until promoted"
check "the refusals were logged as unauthorized" grep -q 'msg="unauthorized request"' "$RUN_LOG"
# The release record beside the state file: no promote was recorded.
record() { python3 -c 'import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*.traffic")[0]))["deployments"][sys.argv[2]]
print("weight=%d promote=%d full=%d" % (r["weight"], r["promote"], r["full"]))' "$FLEET_STATE" "$DEP"; }
expect_eq "after the refused promotes the release record holds no promote" "weight=30 promote=0 full=0" "$(record)"

out=$(ctl promote --api-token-file "$TOKEN" "$DEP" 2>&1)
expect_match "promote with the token is accepted by the controller" "^auriga promote: $DEP: accepted by the controller at" "$out"
await "canary v2: after the promote, v2 takes all traffic" 60 upstream_is "$GREEN_100"
await "canary v2: the note on its commit says Healthy" 30 note_says "$c1" Healthy
kill "$wpid" 2>/dev/null
check "canary v2: the promote moved it on through 60 % (two v2 containers at 60, one v1 at 80)" \
	grep -q " $HP:80 $((HP + 2)):60 $((HP + 3)):60\$" "$TEST_TMP/weights-1"
expect_eq "canary v2: only v2 runs" "auriga-demo-node:v2 auriga-demo-node:v2" "$(images)"
expect_eq "canary v2: NGINX answers from v2 alone" "400 0 v2=400" "$(sample 400)"
diag "note on the v2 commit: $(note "$c1" | head -1)"

# --- a canary held at its pause and aborted, under load ------------------------------------------
write_dep auriga-demo-node:v3 "$CANARY"
wpid=$(watch_router "$TEST_TMP/weights-2" 90)
on_exit "kill $wpid 2>/dev/null"
c2=$(commit "api v3, canary to abort")
HELD="$HP:60 $((HP + 2)):70 $((HP + 3)):70"
lpid=$(load "$TEST_TMP/load-2" 90)
on_exit "kill $lpid 2>/dev/null"
await "canary v3: held at 30 % in slot blue" 60 upstream_is "$HELD"
sleep 2
abort_ms=$(date +%s%3N)
out=$(ctl abort --api-token-file "$TOKEN" "$DEP" 2>&1)
expect_match "abort with the token is accepted by the controller" "^auriga abort: $DEP: accepted by the controller at" "$out"
await "canary v3: after the abort v2 takes all traffic again" 30 upstream_is "$GREEN_100"
gone() { [ "$(images)" = "auriga-demo-node:v2 auriga-demo-node:v2" ] && [ "$(fleet_count)" = 2 ]; }
await "canary v3: its containers are removed, v2's two remain" 30 gone
await "canary v3: the note on its commit says Aborted" 30 note_says "$c2" Aborted
sleep 3
stop_load "$lpid"
kill "$wpid" 2>/dev/null
expect_match "canary v3: the note says it was aborted, and by whom" "aborted by api" "$(note "$c2" | head -1)"
diag "note on the v3 commit: $(note "$c2" | head -1)"
changes=$(awk -v a="$abort_ms" '$1 >= a' "$TEST_TMP/weights-2")
expect_eq "canary v3: one router change after the abort, straight to the stable slot" \
	"$GREEN_100" "$(cut -d' ' -f2- <<<"$changes")"
after=$(awk -v a="$abort_ms" '$1 >= a' "$TEST_TMP/load-2")
diag "abort under load: $(wc -l <"$TEST_TMP/load-2") requests in all, $(grep -c ' v3$' "$TEST_TMP/load-2") answered by v3, $(wc -l <<<"$after") after the abort"
expect_eq "canary v3: no request failed after the abort" 0 "$(awk '$2 < 200 || $2 >= 300' <<<"$after" | wc -l)"
expect_eq "canary v3: no request failed at all" 0 "$(awk '$2 < 200 || $2 >= 300' "$TEST_TMP/load-2" | wc -l)"
check "canary v3: v3 did serve before the abort" grep -q ' v3$' "$TEST_TMP/load-2"
# The revision is not tried again while the commit stays.
sleep 3
expect_eq "canary v3: not tried again on the same commit" "auriga-demo-node:v2 auriga-demo-node:v2" "$(images)"
out=$(ctl abort --api-token-file "$TOKEN" "$DEP" 2>&1)
expect_match "a second abort is refused by the engine: 409 with the reason" "(409).*no release under way to abort" "$out"

# --- promote --full finishes a held canary at once ---------------------------------------------
write_dep auriga-demo-node:v3 "$CANARY" 'RELEASE: "full"'
wpid=$(watch_router "$TEST_TMP/weights-3" 90)
on_exit "kill $wpid 2>/dev/null"
c3=$(commit "api v3 again, to promote at once")
await "canary v3 (again): held at 30 % in slot blue" 60 upstream_is "$HELD"
out=$(ctl promote --full --api-token-file "$TOKEN" "$DEP" 2>&1)
expect_match "promote --full is accepted" "^auriga promote: $DEP: accepted by the controller at" "$out"
await "canary v3: after promote --full v3 takes all traffic" 30 upstream_is "$BLUE_100"
await "canary v3: the note on its commit says Healthy" 30 note_says "$c3" Healthy
kill "$wpid" 2>/dev/null
# The router's states after the hold: the new slot at 100 (the old one as backups until it goes), never 60.
expect_eq "promote --full: straight from 30 % to 100 %, no 60 % step" "" \
	"$(awk -v h="$HELD" 'f && !/ '"$HP"':100 '"$((HP + 1))"':100/ { print } $0 ~ h { f = 1 }' "$TEST_TMP/weights-3")"
check "promote --full: the hold at 30 % was seen" grep -q " $HELD\$" "$TEST_TMP/weights-3"
check "promote --full: the daemon logged the action" grep -q 'action=promote-full' "$RUN_LOG"

# --- blue-green with autoPromotionEnabled false: held after the smoke test until promoted ------------
write_dep auriga-demo-node:v1 "$BLUEGREEN"
c4=$(commit "api v1, blue-green promoted by hand")
await "blue-green v1: slot green ready and smoke-tested, waiting for promote" 60 step_says "waiting for promote"
check "blue-green v1: the smoke test ran" grep -q "smoke test passed" "$RUN_LOG"
expect_eq "blue-green v1: held, the active service stays on v3 in slot blue" "$BLUE_100" "$(upstream)"
expect_eq "blue-green v1: the preview service points at slot green" "$GREEN_100" "$(upstream "$DEP-preview")"
pv=$(curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$PP/api/v11/transactions" | tr -d '\r' | sed -n 's/^X-Node-Version: //Ip')
expect_eq "blue-green v1: the preview answers from v1" v1 "$pv"
sleep 3
expect_eq "blue-green v1: 3 s later, still v3 alone through NGINX" "200 0 v3=200" "$(sample 200)"
check "blue-green v1: still waiting for promote" step_says "waiting for promote"
out=$(ctl promote --api-token-file "$TOKEN" "$DEP" 2>&1)
expect_match "blue-green promote is accepted" "^auriga promote: $DEP: accepted by the controller at" "$out"
# Slot blue stays as NGINX backup servers during the monitor window.
on_green() { [[ " $(upstream) " == *" $GREEN_100 "* ]]; }
await "blue-green v1: after the promote, slot green takes all traffic" 20 on_green
expect_eq "blue-green v1: NGINX answers from v1" "200 0 v1=200" "$(sample 200)"
await "blue-green v1: the note on its commit says Healthy" 30 note_says "$c4" Healthy
only_v1() { [ "$(images)" = "auriga-demo-node:v1 auriga-demo-node:v1" ] && [ "$(fleet_count)" = 2 ]; }
await "blue-green v1: slot blue is scaled down after the window and the delay" 30 only_v1

# The daemon stops cleanly on SIGTERM (under the sanitizers: no report either).
run_stop "the daemon exits 0 on SIGTERM"
expect_eq "no sanitizer report in the daemon's output" 0 "$(grep -cE 'Sanitizer|runtime error' "$RUN_LOG")"
diag "traffic_control took $(( $(date +%s) - t0 )) s"
[ "$_tap_failed" -eq 0 ] || { tail -5 "$NGX/error.log"; grep -E 'level=(warn|error)|traffic' "$RUN_LOG" | tail -30; } |
	while read -r l; do diag "$l"; done

done_testing
