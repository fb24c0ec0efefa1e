#!/usr/bin/env bash
# A Service in front of a Rolling deployment, through `auriga run` and a real NGINX, under bounded
# load: scaled 3 -> 6 -> 2 and upgraded v1 -> v2 by commits to the specs repo, no request fails,
# and NGINX's upstream, sampled throughout, never lists a container that is not running and ready
# (a replica leaves it before it is stopped, joins once ready) and equals the ready replicas once
# each change is done. The Service's upstreamHealth is on every server line. The same deployment
# released by Recreate has no replica while it is down: NGINX's upstream is then the placeholder
# and users get 502 Bad Gateway, until the new replicas are ready.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"
. "$(dirname "$0")/../run-lib.bash"

FLEET_INSTANCE=e2e-service-rolling-$$
DEP=svroll$$
AP=$(free_port)
specs_repo
SPECS=$WORK
TRAFFIC_PREVIEW=no
. "$(dirname "$0")/traffic-lib.bash"
# Sixteen consecutive free host ports: six replicas and the surge containers of a rolling update.
HP=$(free_ports 16) || { fail "sixteen free host ports"; exit 1; }
while [ "$LP" -ge "$HP" ] && [ "$LP" -lt $((HP + 16)) ]; do
	HP=$(free_ports 16) || { fail "sixteen free host ports"; exit 1; }
done
cat >"$SPECS/services.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $DEP}
spec:
  deployment: $DEP
  port: $LP
  targetPort: http
  upstreamHealth: {maxFails: 2, failTimeoutSeconds: 7}
EOF

ROLLING="    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}"
# write_rolling IMAGE REPLICAS [STRATEGY_BLOCK [START_DELAY_MS]]: the deployment (write_dep of
# traffic-lib.bash) on a network of its own. Each node runs START_DELAY_MS (default 2000) before it
# is ready, so a replica routed before it is ready is seen, and exits at once on SIGTERM (no drain):
# a replica still routed when it is stopped fails requests.
write_rolling() {
	REPLICAS=$2 DEADLINE=120 NETWORK=svnet write_dep "$1" "${3:-$ROLLING}" \
		"DEMO_DRAIN_MS: \"0\", DEMO_START_DELAY_MS: \"${4:-2000}\""
}

# instances: the deployment's containers in the HTTP API as "port:state:ready", sorted.
instances() {
	curl -s --max-time 2 "http://127.0.0.1:$AP/api/v1/deployments/$DEP" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%s:%s" % ((i.get("endpoint") or ":0").rsplit(":", 1)[1], i.get("state"), i.get("ready"))
                      for i in d.get("instances", []))))' 2>/dev/null
}
# ready_ports: the published ports of the running, ready containers, sorted like upstream's.
ready_ports() { instances | tr ' ' '\n' | awk -F: '$2 == "running" && $3 == "True" { print $1 ":1" }' | sort | paste -sd' '; }
# running N IMAGE: exactly N running containers of the instance, all on IMAGE.
running() { [ "$(fleet_images | grep -cx "$2")" = "$1" ] && [ "$(fleet_images | wc -l)" = "$1" ]; }
# settled N IMAGE: N containers on IMAGE run, all ready, and NGINX's upstream lists exactly them.
settled() {
	local up
	up=$(upstream)
	running "$1" "$2" && [ "$(wc -w <<<"$up")" = "$1" ] && [ "$up" = "$(ready_ports)" ]
}
note_says() { git --git-dir="$REMOTE" notes --ref=auriga show "$1" 2>/dev/null | head -1 | grep -q "$2"; }
await_failed() {
	diag "upstream: $(upstream); instances: $(instances)"
	kill -0 "$RUN_PID" 2>/dev/null || { fail "the daemon is running"; exit 1; }
}

# sampler OUT SECONDS: every 50 ms NGINX's upstream, and the replicas that are ready then (each
# running container the API lists, and each server of the upstream, asked /q/health/ready
# directly: the node's own answer, not auriga's), as one JSON line; prints its pid.
sampler() {
	python3 - "$(router_conf)" "$DEP" "$AP" "$1" "$2" "$(router_upstream "$DEP")" >/dev/null 2>&1 <<'PY' &
import json, re, sys, time, urllib.request
path, dep, ap, out, secs, up = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6]
def running():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/api/v1/deployments/%s" % (ap, dep), timeout=2) as r:
            d = json.load(r)
    except Exception:
        return None
    return {int(i["endpoint"].rsplit(":", 1)[1]) for i in d.get("instances", [])
            if i.get("endpoint") and i.get("state") == "running"}
def ready(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/q/health/ready" % port, timeout=2) as r:
            return r.status == 200
    except Exception:
        return False
def upstream():
    try:
        text = open(path).read()
    except OSError:
        return []
    m = re.search(r"upstream " + re.escape(up) + r" \{(.*?)\}", text, re.S)
    return sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+) weight=", m.group(1) if m else ""))
end = time.time() + secs
with open(out, "w", buffering=1) as f:
    while time.time() < end:
        ports = running()
        if ports is not None:
            u = upstream()
            r = sorted(p for p in ports | set(u) if ready(p))
            f.write(json.dumps({"t": round(time.time(), 3), "up": u, "ready": r}) + "\n")
        time.sleep(0.05)
PY
	echo $!
}

RUN_URL=http://127.0.0.1:$AP

# --- three v1 replicas behind NGINX --------------------------------------------------------------------
write_rolling auriga-demo-node:v1 3
c0=$(commit "api v1, 3 replicas")
run_start "$TEST_TMP/run.log" --repo "file://$REMOTE" --state-dir "$FLEET_STATE" --instance "$FLEET_INSTANCE" \
	--listen "127.0.0.1:$AP" --poll-interval 1s
await "three v1 replicas run, ready, and NGINX's upstream lists exactly them" 90 settled 3 auriga-demo-node:v1
await "the note on the first commit says Healthy" 60 note_says "$c0" Healthy
expect_eq "NGINX answers from v1" v1 "$(version)"
lines=$(awk "/upstream $(router_upstream "$DEP") \\{/,/\\}/" "$(router_conf)" | grep -c "server 127.0.0.1:[0-9]* weight=1 max_fails=2 fail_timeout=7s;")
expect_eq "the Service's upstreamHealth is on each of the three server lines (max_fails=2 fail_timeout=7s)" 3 "$lines"

lpid=$(load "$TEST_TMP/load" 300)
on_exit "kill $lpid 2>/dev/null"
spid=$(sampler "$TEST_TMP/samples" 300)
on_exit "kill $spid 2>/dev/null"
sleep 1

# --- scaled to six, then to two, then upgraded, all under load ------------------------------------------
write_rolling auriga-demo-node:v1 6
c1=$(commit "api: 6 replicas")
await "scaled to six: six v1 replicas run, ready, and NGINX's upstream lists exactly them" 120 settled 6 auriga-demo-node:v1
await "the note on the scale-up says Healthy" 60 note_says "$c1" Healthy
write_rolling auriga-demo-node:v1 2
c2=$(commit "api: 2 replicas")
await "scaled to two: two v1 replicas run, and NGINX's upstream lists exactly them" 120 settled 2 auriga-demo-node:v1
await "the note on the scale-down says Healthy" 60 note_says "$c2" Healthy
write_rolling auriga-demo-node:v2 2
c3=$(commit "api v2")
await "rolled to v2: two v2 replicas run, and NGINX's upstream lists exactly them" 120 settled 2 auriga-demo-node:v2
await "the note on the upgrade says Healthy" 60 note_says "$c3" Healthy
sleep 1
stop_load "$lpid"
diag "$(wc -l <"$TEST_TMP/load") requests through NGINX while scaling and upgrading; $(failed_count "$TEST_TMP/load") failed"
expect_eq "no request failed while scaling 3 -> 6 -> 2 and upgrading" 0 "$(failed_count "$TEST_TMP/load")"
expect_eq "the last requests were answered by v2" v2 "$(tail -1 "$TEST_TMP/load" | cut -d' ' -f3)"
# --- Recreate: while no replica is up, NGINX answers 502 --------------------------------------------------
RECREATE="    type: Recreate"
write_rolling auriga-demo-node:v3 2 "$RECREATE" 6000
c4=$(commit "api v3, recreate")
empty() { [ -z "$(upstream)" ] && grep -A2 "upstream $(router_upstream "$DEP") {" "$(router_conf)" | grep -q "server 127.0.0.1:1 down;"; }
await "recreate: while the old replicas are gone and the new ones not ready, the upstream is the placeholder" 60 empty
# The file is written before NGINX has reloaded it (and before the old replicas' stops have ended), so
# a request right after may still reach an old replica: NGINX answers 502 once it serves the file,
# well before the new replicas are ready (6 s to start).
answers_502() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "http://127.0.0.1:$LP/api/v11/transactions")
	[ "$code" = 502 ]
}
await "recreate: meanwhile users get 502 Bad Gateway" 5 answers_502
await "recreate: two v3 replicas run, ready, and NGINX's upstream lists exactly them" 120 settled 2 auriga-demo-node:v3
await "the note on the recreate says Healthy" 60 note_says "$c4" Healthy
expect_eq "recreate: NGINX answers from v3" v3 "$(version)"

kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
check "NGINX's upstream never listed a replica that was not ready, and equalled the ready replicas within 10 s of each change (scaling, upgrade, recreate)" \
	python3 - "$TEST_TMP/samples" <<'PY'
import json, sys
samples = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad, differ, longest, since, sizes = 0, 0, 0.0, None, set()
for s in samples:
    up, ready = set(s["up"]), set(s["ready"])
    sizes.add(len(up))
    if not up <= ready:
        bad += 1
        print("# %.3f upstream %s, ready %s" % (s["t"], sorted(up), sorted(ready)))
    if up != ready:
        differ += 1
        since = s["t"] if since is None else since
        longest = max(longest, s["t"] - since)
    else:
        since = None
print("# %d samples, upstream sizes %s, %d listing a replica not ready, %d apart from the ready ones (longest %.1f s)"
      % (len(samples), sorted(sizes), bad, differ, longest))
sys.exit(0 if len(samples) >= 50 and bad == 0 and longest < 10 and {2, 3, 6} <= sizes else 1)
PY

run_stop "the daemon stops cleanly"
done_testing
