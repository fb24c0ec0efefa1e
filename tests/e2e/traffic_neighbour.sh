#!/usr/bin/env bash
# Two deployments behind one NGINX, each released blue-green through its own Service: while one of
# them is released (its preview route, its switch and its old slot's removal each a reload that
# auriga confirms), the other, whose routes do not change, stays Healthy throughout. The daemon's
# API is read every 50 ms during the release; the neighbour must never show another phase or be
# held "waiting" on a change that is not its own. Its routes are unchanged and still served.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

FLEET_INSTANCE=e2e-traffic-neighbour-$$
DEP=nbapi$$
NB=nbexp$$
AP=$(free_port)
specs_repo
SPECS=$WORK
. "$(dirname "$0")/traffic-lib.bash"

BLUEGREEN="    type: BlueGreen
    blueGreen:
      activeService: $DEP
      previewService: $DEP-preview
      smokeTestJob: $DEP-smoke
      autoPromotionEnabled: true
      postPromotionWindowSeconds: 2
      scaleDownDelaySeconds: 1"

# The neighbour: its own Service on its own port, two replicas on two host ports of its own,
# released by rolling update (its routes change only when its own containers do).
NP=$(free_port)
NHP=$(free_ports 2) || { fail "two free host ports"; exit 1; }
cat >"$SPECS/neighbour.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $NB}
spec: {deployment: $NB, port: $NP, targetPort: http}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $NB}
spec:
  role: api
  replicas: 2
  progressDeadlineSeconds: 60
  template:
    image: auriga-demo-node:v1
    env: {NODE_TYPE: api}
    ports: [{name: http, containerPort: 9003, hostPort: $NHP}]
  probes:
    readiness:
      httpGet: {path: /q/health/ready, port: http}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1
  strategy:
    type: BlueGreen
    blueGreen:
      activeService: $NB
      autoPromotionEnabled: true
EOF

# phase NAME: the deployment's phase from the daemon's HTTP API.
phase() {
	curl -s --max-time 2 "http://127.0.0.1:$AP/api/v1/deployments/$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("phase") or "")' 2>/dev/null
}
healthy() { [ "$(phase "$1")" = Healthy ]; }
await_failed() {
	diag "$DEP: $(phase "$DEP"); $NB: $(phase "$NB"); upstream: $(upstream); images: $(images)"
	kill -0 "$RUN_PID" 2>/dev/null || { fail "the daemon is running"; exit 1; }
}

write_dep auriga-demo-node:v1 "$BLUEGREEN"
c0=$(commit "api v1 and its neighbour")
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --state-dir "$FLEET_STATE" --instance "$FLEET_INSTANCE" \
	--listen "127.0.0.1:$AP" --poll-interval 1s
await "the first release: $DEP v1 takes all traffic" 90 upstream_is "$BLUE_100"
await "$DEP is Healthy" 60 healthy "$DEP"
await "the neighbour is Healthy" 60 healthy "$NB"
nb_up=$(upstream "$NB")
check "the neighbour's upstream has two servers" test "$(wc -w <<<"$nb_up")" = 2

# The watcher: every 50 ms until told to stop (at most 120 s), the neighbour's phase and step in
# one file and the released deployment's in another, one a line.
python3 - "http://127.0.0.1:$AP/api/v1/deployments" "$TEST_TMP/stop" "$NB" "$DEP" "$TEST_TMP/phases" \
	"$TEST_TMP/released" <<'PY' &
import json, os, sys, time, urllib.request
url, stop, names, outs = sys.argv[1], sys.argv[2], sys.argv[3:5], [open(p, "w") for p in sys.argv[5:7]]
end = time.time() + 120
while time.time() < end and not os.path.exists(stop):
    for name, out in zip(names, outs):
        try:
            d = json.load(urllib.request.urlopen(url + "/" + name, timeout=2))
            out.write("%s|%s\n" % (d.get("phase"), d.get("step") or ""))
        except Exception as e:
            out.write("error|%s\n" % e)
        out.flush()
    time.sleep(0.05)
PY
wpid=$!
on_exit "kill $wpid 2>/dev/null"
reloads0=$(grep -c 'msg="router applied".*deployment='"$DEP" "$RUN_LOG")

write_dep auriga-demo-node:v2 "$BLUEGREEN"
c1=$(commit "api v2 (blue-green)")
await "the release: $DEP v2 takes all traffic" 90 upstream_is "$GREEN_100"
old_gone() { [ "$(fleet_ps '{{.Image}}' | grep -c 'v1$')" = 2 ]; }
await "the release: $DEP's old slot is removed (the neighbour's two v1 remain)" 60 old_gone
await "$DEP is Healthy at v2" 30 healthy "$DEP"
sleep 1
: >"$TEST_TMP/stop"
wait "$wpid"

reloads=$(($(grep -c 'msg="router applied".*deployment='"$DEP" "$RUN_LOG") - reloads0))
diag "router changes for $DEP during its release: $reloads"
check "the release changed the router at least twice (preview, switch)" test "$reloads" -ge 2
n=$(wc -l <"$TEST_TMP/phases")
diag "the neighbour's phase read $n times: $(cut -d'|' -f1 "$TEST_TMP/phases" | sort | uniq -c | tr -s ' \n' ' ')"
check "the neighbour's phase was read at least 40 times during the release" test "$n" -ge 40
other=$(grep -v '^Healthy|' "$TEST_TMP/phases" | sort | uniq -c | head -5)
expect_eq "the neighbour was Healthy at every read during the other's release" "" "$other"
# The released deployment itself: once Healthy at the end of its release (its old slot then goes
# from NGINX's backups and from Docker), it is not shown moving again.
after=$(awk -F'|' '$1 != "Healthy" { bad = 1 } bad && $1 == "Healthy" { seen = 1 } seen && $1 != "Healthy" { print; exit }' \
	"$TEST_TMP/released")
diag "$DEP's phases during its release: $(cut -d'|' -f1 "$TEST_TMP/released" | uniq -c | tr -s ' \n' ' ')"
expect_eq "$DEP, once Healthy after its release, stayed Healthy while its old slot was removed" "" "$after"
expect_eq "the neighbour's upstream is unchanged" "$nb_up" "$(upstream "$NB")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "http://127.0.0.1:$NP/api/v11/transactions")
expect_eq "NGINX still serves the neighbour (201 Created)" 201 "$code"

done_testing
