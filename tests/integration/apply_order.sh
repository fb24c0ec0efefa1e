#!/usr/bin/env bash
# Order and budget within one phase, checked on Docker's own events:
#   - `dependsOn`: apo-b waits for apo-a. While apo-a's new revision never becomes ready, apo-b is
#     left alone and says whom it waits for; once apo-a's new revision is healthy, apo-b follows,
#     and Docker's events show apo-a's new container passing its check (healthy, or the check's exec
#     exiting 0) before apo-b's new one was created.
#   - maxUnavailable 0 / maxSurge 1 holds for an apply started afresh over a fleet an earlier
#     process made: apo-c's k-th old container is stopped only after k of its new ones are healthy
#     (an earlier fault took every running old container for unavailable, since a fresh process had
#     not seen it ready for minReadySeconds, and removed them all at once).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

engine_instance order

run() { auriga_cmd "$@"; }
images_of() { # DEPLOYMENT: the image each running container was made from, by name even when the tag has moved since
	local ids
	ids=$(docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=$1")
	[ -n "$ids" ] && docker inspect -f '{{.Config.Image}}' $ids | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd, -
}

specs() { # IMAGE_A IMAGE_B IMAGE_C
	local name img replicas extra
	for name in a b c; do
		case $name in
		a) img=$1 replicas=1 extra="  autoRollback: false" ;;
		b) img=$2 replicas=1 extra="  dependsOn: [apo-a]" ;;
		c) img=$3 replicas=3 extra="  minReadySeconds: 2" ;;
		esac
		cat >"$SPECS/$name.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: apo-$name}
spec:
  role: business
  replicas: $replicas
  progressDeadlineSeconds: 300
$extra
  template:
    image: $img
  probes:
    readiness:
      exec: {command: [/demo-node, probe, /q/health/ready]}
      periodSeconds: 1
      timeoutSeconds: 5
      failureThreshold: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
EOF
	done
}

v1=auriga-demo-node:v1 v2=auriga-demo-node:v2 bad=auriga-demo-node:never-ready

specs $v1 $v1 $v1
run apply --timeout-total 120 "$SPECS" >"$TEST_TMP/up.out" 2>"$TEST_TMP/up.err"
expect_eq "the three deployments come up" 0 "$?"
expect_eq "apo-c runs v1" "${v1}x3" "$(images_of apo-c)"

# apo-a's new revision never becomes ready: apo-b must not move.
specs $bad $v2 $v1
run apply --timeout-total 12 "$SPECS" >"$TEST_TMP/stuck.out" 2>"$TEST_TMP/stuck.err"
expect_eq "the apply gives up at its time limit" 1 "$?"
expect_eq "apo-b still runs v1 only" "${v1}x1" "$(images_of apo-b)"
expect_match "apo-b says it waits for apo-a" "apo-b .*waiting for 'apo-a'" "$(cat "$TEST_TMP/stuck.out")"

# A good apo-a: apo-b follows it; apo-c rolls in the same fresh process.
docker events --filter "label=$TEST_LABEL" --format '{{json .}}' >"$TEST_TMP/events" &
events_pid=$!
on_exit "kill $events_pid 2>/dev/null"
sleep 0.5
specs $v2 $v2 $v2
run apply --timeout-total 180 "$SPECS" >"$TEST_TMP/good.out" 2>"$TEST_TMP/good.err"
rc=$?
expect_eq "the apply converges" 0 "$rc"
[ "$rc" = 0 ] || tail -20 "$TEST_TMP/good.err"
sleep 1
kill $events_pid 2>/dev/null
wait $events_pid 2>/dev/null
expect_eq "apo-a runs v2" "${v2}x1" "$(images_of apo-a)"
expect_eq "apo-b runs v2" "${v2}x1" "$(images_of apo-b)"
expect_eq "apo-c runs v2" "${v2}x3" "$(images_of apo-c)"

out=$(python3 - "$TEST_TMP/events" "$v2" <<'PY'
import json, sys
events, v2 = sys.argv[1], sys.argv[2]
first = {}	# (deployment, what) -> first timeNano
healthy_new, kills_old = {}, []
for line in open(events):
    ev = json.loads(line)
    if ev.get("Type") != "container":
        continue
    a = ev["Actor"]["Attributes"]
    dep, img, act, t = a.get("auriga.io/deployment"), a.get("image"), ev["Action"], ev["timeNano"]
    if dep is None:
        continue
    new = img == v2
    if act == "create" and new:
        first.setdefault((dep, "create"), t)
    # Ready: Docker's healthy verdict, or before it the check passing in auriga's own first run of it
    # (an exec that exited 0: auriga does not wait for Docker's first check, one interval on).
    if (act == "health_status: healthy" or (act == "exec_die" and a.get("exitCode") == "0")) and new:
        first.setdefault((dep, "healthy"), t)
        if dep == "apo-c":
            healthy_new.setdefault(ev["Actor"]["ID"], t)
    if act == "kill" and not new and dep == "apo-c":
        kills_old.append(t)
a_ok = first.get(("apo-a", "healthy"))
b_new = first.get(("apo-b", "create"))
print("order", "ok" if a_ok and b_new and a_ok < b_new else f"bad a_healthy={a_ok} b_create={b_new}")
# Before the k-th kill of an old apo-c container, at least k new ones were healthy.
hs = sorted(healthy_new.values())
bad = [k for k, t in enumerate(sorted(kills_old), 1) if sum(1 for h in hs if h < t) < k]
print("budget", "ok" if len(kills_old) == 3 and not bad else f"bad kills={len(kills_old)} early={bad}")
PY
)
expect_eq "apo-a's new container was healthy before apo-b's new one was created" "order ok" "$(grep ^order <<<"$out")"
expect_eq "apo-c: every old container stopped only after as many new ones were healthy" "budget ok" \
	"$(grep ^budget <<<"$out")"

done_testing
