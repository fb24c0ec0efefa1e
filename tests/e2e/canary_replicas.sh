#!/usr/bin/env bash
# Canary replicas follow the weight, through `auriga run` and a real NGINX, under bounded load: a
# canary of five replicas held at 20 %, 50 % and 80 % runs 1, 3 and 4 containers of the new version
# and 4, 3 and 1 of the stable one (counted from Docker's labels), the router lists exactly those,
# ready, at server weights that give the new slot its share; /metrics (which the status page's
# weight column reads) and the deployment's slots in /api/v1 say the same. At 100 % the new slot
# runs all five and the old one is gone. A second canary aborted at 50 % gets the stable slot back
# to five ready containers before it takes all traffic again, and only then do the canary's go.
# No request through NGINX fails while the slots change size.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/page-lib.bash"

# The daemon takes instance names of [a-z0-9.-] only.
FLEET_INSTANCE=e2e-canary-replicas-$$
DEP=canaryapi$$
TOKEN=$TEST_TMP/token
AP=$(free_port)
specs_repo
SPECS=$WORK
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/traffic-lib.bash"
R=5
# Ten consecutive free host ports: five replicas in each slot (blue HP.., green HP+5..).
HP=$(free_ports 10) || { fail "ten free host ports"; exit 1; }
# The Service's listener must not fall in the range the deployment publishes (auriga refuses that).
while [ "$LP" -ge "$HP" ] && [ "$LP" -lt $((HP + 10)) ]; do
	HP=$(free_ports 10) || { fail "ten free host ports"; exit 1; }
done

CANARY="    type: Canary
    canary:
      steps:
        - setWeight: 20
        - pause: {}
        - setWeight: 50
        - pause: {}
        - setWeight: 80
        - pause: {}"

# write_canary IMAGE: the deployment (write_dep of traffic-lib.bash), five replicas.
write_canary() { REPLICAS=$R DEADLINE=90 write_dep "$1" "$CANARY"; }

# The design's counts: the new slot ceil(R*w/100), the stable slot ceil(R*(100-w)/100).
new_count() { echo $(( (R * $1 + 99) / 100 )); }
stable_count() { echo $(( (R * (100 - $1) + 99) / 100 )); }
# in_slot SLOT TAG: running containers labelled with slot SLOT, made from auriga-demo-node:TAG.
in_slot() { fleet_images "label=auriga.io/slot=$1" | grep -cx "auriga-demo-node:$2"; }
# slots_are GREEN_TAG N BLUE_TAG M: exactly N running in slot green on GREEN_TAG, M in blue on BLUE_TAG,
# and nothing else.
slots_are() {
	[ "$(in_slot green "$1")" = "$2" ] && [ "$(in_slot blue "$3")" = "$4" ] &&
		[ "$(fleet_images | wc -l)" = $(($2 + $4)) ]
}
# servers SLOT: the servers the router's file lists for slot (non-backup), by port range.
servers() {
	upstream | tr ' ' '\n' | awk -v hp="$HP" -v s="$1" -F: '$2 != "b" && $1 != "" {
		g = ($1 >= hp + 5); if ((s == "green") == g) n++ } END { print n + 0 }'
}
step() {
	curl -s --max-time 2 "http://127.0.0.1:$AP/api/v1/deployments/$DEP" |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("step") or "")' 2>/dev/null
}
step_says() { [[ $(step) == *"$1"* ]]; }
# api_slots: the deployment's slots in the HTTP API, as "slot ready/desired ...".
api_slots() {
	curl -s --max-time 2 "http://127.0.0.1:$AP/api/v1/deployments/$DEP" |
		python3 -c 'import json, sys
print(" ".join("%s %d/%d" % (s["slot"], s["ready"], s["desired"]) for s in json.load(sys.stdin).get("slots", [])))' 2>/dev/null
}
weight_metric() { metric "auriga_canary_weight_percent{deployment=\"$DEP\"}"; }
# served: NGINX answers on the Service's listener with the generation of the router's file (the file
# is written before the reload; its table counts once NGINX serves it).
served() {
	local want
	want=$(grep -o 'return 200 "[A-Za-z0-9-]*' "$(router_conf)" | head -1 | cut -d'"' -f2)
	[ -n "$want" ] && [ "$(curl -s --max-time 2 "http://127.0.0.1:$LP/.auriga/router-generation")" = "$want" ]
}
held_at() {
	served && step_says "$1% (step" && step_says "paused until promoted" &&
		slots_are v2 "$(new_count "$1")" v1 "$(stable_count "$1")" &&
		[ "$(servers green)" = "$(new_count "$1")" ] && [ "$(servers blue)" = "$(stable_count "$1")" ]
}
await_failed() {
	diag "step: $(step); upstream: $(upstream); slots: $(fleet_ps '{{.Label "auriga.io/slot"}}:{{.Image}}:{{.State}}' | sort | paste -sd' ')"
	kill -0 "$RUN_PID" 2>/dev/null || { fail "the daemon is running"; exit 1; }
}
# note_says COMMIT WORD: the first line of auriga's note on COMMIT holds WORD.
note_says() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null | head -1 | grep -q "$2"; }
ctl() { "$AURIGA_BIN" "$1" --listen "127.0.0.1:$AP" --api-token-file "$TOKEN" "${@:2}"; }
RUN_URL=http://127.0.0.1:$AP
t0=$(date +%s)

# --- the first release: five v1 containers in slot blue ---------------------------------------------
printf 'canary-%s-secret\n' "$$" >"$TOKEN"
write_canary auriga-demo-node:v1
c0=$(commit "api v1")
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --state-dir "$FLEET_STATE" --instance "$FLEET_INSTANCE" \
	--listen "127.0.0.1:$AP" --api-token-file "$TOKEN" --poll-interval 1s
first() { slots_are v1 0 v1 "$R" && [ "$(servers blue)" = "$R" ]; }
await "the first release: five v1 containers in slot blue, all routed" 90 first
await "the first release's note says Healthy" 60 note_says "$c0" Healthy

# --- a canary of v2 held at each weight -------------------------------------------------------------
lpid=$(load "$TEST_TMP/load-1" 240)
on_exit "kill $lpid 2>/dev/null"
wpid=$(watch_router "$TEST_TMP/weights-1" 240)
on_exit "kill $wpid 2>/dev/null"
# The status page in Chromium, open throughout: its weight column must follow the canary.
page_start
page_ok "the status page opens in Chromium" open "http://127.0.0.1:$AP/"
page_ok "the status page lists the deployment" wait 30 "$(cell "$DEP" phase)?.textContent === 'Healthy'"
write_canary auriga-demo-node:v2
c1=$(commit "api v2, canary")
for w in 20 50 80; do
	n=$(new_count "$w")
	m=$(stable_count "$w")
	await "canary at $w %: $n v2 containers in slot green, $m v1 in slot blue, the router lists those" 90 held_at "$w"
	expect_eq "canary at $w %: /metrics gives the weight the status page shows" "$w" "$(weight_metric)"
	expect_eq "canary at $w %: the API shows each slot ready/desired" "green $n/$n blue $m/$m" "$(api_slots)"
	page_ok "canary at $w %: the status page's weight column shows $w%, never reloaded" wait 30 \
		"$(cell "$DEP" weight)?.textContent === '$w%'"
	# NGINX's old workers finish their connections for a moment after a reload.
	sleep 1
	s=$(sample 300)
	diag "canary at $w %: $s"
	check "canary at $w %: $(share v2 "$s") % of 300 requests answered by v2, $w % within 8 points" \
		within "$(share v2 "$s")" "$w" 8
	out=$(ctl promote "$DEP" 2>&1)
	expect_match "canary at $w %: promote accepted" "accepted by the controller" "$out"
done
done_v2() { slots_are v2 "$R" v1 0 && [ "$(servers green)" = "$R" ]; }
await "canary v2 at 100 %: five v2 containers in slot green, slot blue gone" 90 done_v2
page_ok "canary v2 at 100 %: the status page shows it Healthy" wait 30 "$(cell "$DEP" phase)?.textContent === 'Healthy'"
drv quit >/dev/null
kill "$wpid" 2>/dev/null
expect_eq "canary v2 at 100 %: the API shows slot green 5/5" "green 5/5" "$(api_slots | cut -d' ' -f1-2)"
# Every router state with both slots: the new slot's share is a setWeight of the spec, and it lists
# exactly the containers the design gives each slot at that weight (ready ones: auriga routes no
# other), so the new slot was scaled up before the weight and the stable one down only after.
check "canary v2: every weighted router state has the design's servers per slot for its weight" python3 - \
	"$TEST_TMP/weights-1" "$HP" "$R" <<'PY'
import sys
hp, r = int(sys.argv[2]), int(sys.argv[3])
ok = True
seen = []
for line in open(sys.argv[1]).read().splitlines():
    ms, _, servers = line.partition(" ")
    green = [int(s.split(":")[1]) for s in servers.split() if not s.endswith(":b") and int(s.split(":")[0]) >= hp + 5]
    blue = [int(s.split(":")[1]) for s in servers.split() if not s.endswith(":b") and int(s.split(":")[0]) < hp + 5]
    if not green or not blue:
        continue
    share = 100.0 * sum(green) / (sum(green) + sum(blue))
    w = min((20, 50, 80), key=lambda x: abs(x - share))
    want = ((r * w + 99) // 100, (r * (100 - w) + 99) // 100)
    print("# router: %s -> green %d at %.1f %%, blue %d" % (servers, len(green), share, len(blue)))
    if abs(share - w) > 0.5 or (len(green), len(blue)) != want:
        print("# not the design's state for %d %%: want %s" % (w, want))
        ok = False
    if not seen or seen[-1] != w:
        seen.append(w)
if seen != [20, 50, 80]:
    print("# weighted states seen: %s" % seen)
    ok = False
sys.exit(0 if ok else 1)
PY
await "canary v2: the note on its commit says Healthy" 60 note_says "$c1" Healthy
note_slots() { git --git-dir="$REMOTE" notes --ref=auriga show "$c1" 2>/dev/null | grep -qx '      green: 5/5'; }
await "canary v2: the note on its commit gives slot green 5/5 (what auriga status shows)" 60 note_slots

# --- a canary of v3 aborted at 50 %: the stable slot made whole before it takes all traffic -------
write_canary auriga-demo-node:v3
wpid=$(watch_router "$TEST_TMP/weights-2" 180)
on_exit "kill $wpid 2>/dev/null"
c2=$(commit "api v3, canary to abort")
held3() { step_says "20% (step" && step_says "paused until promoted"; }
await "canary v3: held at 20 %" 90 held3
out=$(ctl promote "$DEP" 2>&1)
held3_50() {
	step_says "50% (step" && [ "$(in_slot blue v3)" = 3 ] && [ "$(in_slot green v2)" = 3 ] &&
		[ "$(servers blue)" = 3 ] && [ "$(servers green)" = 3 ]
}
await "canary v3: held at 50 %, three v3 in slot blue and three v2 in slot green" 90 held3_50
abort_ms=$(date +%s%3N)
out=$(ctl abort "$DEP" --reason "canary replicas test" 2>&1)
expect_match "abort accepted" "accepted by the controller" "$out"
back() { slots_are v2 "$R" v3 0 && [ "$(servers green)" = "$R" ] && [ "$(servers blue)" = 0 ]; }
await "after the abort: five v2 containers in slot green take all traffic, the canary is gone" 90 back
await "the note on the aborted commit says Aborted" 60 note_says "$c2" Aborted
kill "$wpid" 2>/dev/null
check "after the abort: slot green was whole (five servers) before it took all traffic, the canary answering until then" \
	python3 - "$TEST_TMP/weights-2" "$HP" "$abort_ms" "$TEST_TMP/load-1" <<'PY'
import sys
hp, t_abort = int(sys.argv[2]), int(sys.argv[3])
ok, full_seen, split_after, t_full = True, False, False, None
for line in open(sys.argv[1]).read().splitlines():
    ms, _, servers = line.partition(" ")
    if int(ms) < t_abort:
        continue
    green = [s for s in servers.split() if not s.endswith(":b") and int(s.split(":")[0]) >= hp + 5]
    blue = [s for s in servers.split() if not s.endswith(":b") and int(s.split(":")[0]) < hp + 5]
    print("# after the abort: %s" % servers)
    if blue and green:
        split_after = True
    if green and not blue:
        full_seen = True
        t_full = int(ms) if t_full is None else t_full
        if len(green) != 5:
            print("# slot green took all traffic with %d servers" % len(green))
            ok = False
if not full_seen:
    print("# slot green never took all traffic")
    ok = False
# The canary keeps its share while slot green grows back: it answers after the abort, until then.
v3 = []
for line in open(sys.argv[4]).read().splitlines():
    r = line.split()
    if len(r) >= 3 and r[2] == "v3" and int(r[0]) >= t_abort:
        v3.append(int(r[0]))
until = [t for t in v3 if t_full is None or t < t_full]
print("# %d requests answered by v3 after the abort, %d of them before slot green took all traffic (%s ms later)"
      % (len(v3), len(until), None if t_full is None else t_full - t_abort))
if not until:
    ok = False
sys.exit(0 if ok else 1)
PY
stop_load "$lpid"
diag "load: $(wc -l <"$TEST_TMP/load-1") requests in all, $(grep -c ' v2$' "$TEST_TMP/load-1") from v2, $(grep -c ' v3$' "$TEST_TMP/load-1") from v3"
expect_eq "no request through NGINX failed while the slots changed size" 0 "$(failed_count "$TEST_TMP/load-1")"
check "v3 did serve during its canary" grep -q ' v3$' "$TEST_TMP/load-1"

# The order, from the daemon's log: a container goes only once NGINX serves a table without it (a
# router change, then its confirmation, then the removal), never between a change and its confirmation.
check "every removal came after NGINX served the router change that dropped the container" python3 - "$RUN_LOG" <<'PY'
import sys
pending, n, ok = False, 0, True
for line in open(sys.argv[1]):
    if 'msg="router applied"' in line:
        pending = True
    elif 'msg="configuration served"' in line:
        pending = False
    elif 'msg=remove ' in line:
        n += 1
        if pending:
            print("# removed before NGINX served the change: " + line.strip())
            ok = False
print("# %d removals" % n)
sys.exit(0 if ok and n > 0 else 1)
PY
run_stop "the daemon exits 0 on SIGTERM"
expect_eq "no sanitizer report in the daemon's output" 0 "$(grep -cE 'Sanitizer|runtime error' "$RUN_LOG")"
diag "canary_replicas took $(( $(date +%s) - t0 )) s"
[ "$_tap_failed" -eq 0 ] || { tail -5 "$NGX/error.log"; grep -E 'level=(warn|error)|traffic' "$RUN_LOG" | tail -30; } |
	while read -r l; do diag "$l"; done

done_testing
