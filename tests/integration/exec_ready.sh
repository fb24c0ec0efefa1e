#!/usr/bin/env bash
# An exec readiness probe is Docker's HEALTHCHECK (so `docker ps` shows it), and Docker makes its
# first check one interval after the start. auriga makes the same check itself from the start until
# it first passes, so readiness does not wait for Docker:
#   - with periodSeconds 30, a release of two replicas (rolling, one at a time, the new ready before
#     the old goes) completes while Docker still says "starting" for both new containers: auriga
#     did not wait the 30 s for Docker's first check; Docker's events show the command passing
#     (an exec that exited 0) in each new container before the old one of its ordinal was killed;
#   - a revision whose check never passes is never taken for ready, Docker's verdict or not: its
#     release fails at its progress deadline and the old revision keeps running.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

need_images v1 v2 never-ready
engine_instance execready

spec() { # IMAGE
	cat >"$SPECS/api.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: xr}
spec:
  role: business
  replicas: 2
  progressDeadlineSeconds: 20
  template:
    image: $1
  probes:
    readiness:
      exec: {command: [/demo-node, probe, /q/health/ready]}
      periodSeconds: 30
      timeoutSeconds: 5
      failureThreshold: 1
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
EOF
}
ids() { docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=xr"; }
images() { # the image of each running container, sorted
	local i
	i=$(ids)
	[ -n "$i" ] && docker inspect -f '{{.Config.Image}}' $i | sort | paste -sd' ' -
}
healths() { # Docker's health status of each running container, sorted
	local i
	i=$(ids)
	[ -n "$i" ] && docker inspect -f '{{.State.Health.Status}}' $i | sort | paste -sd' ' -
}

spec auriga-demo-node:v1
auriga_cmd apply --timeout-total 60 "$SPECS" >"$TEST_TMP/v1.out" 2>&1
rc=$?
healths_v1=$(healths)
expect_eq "v1: apply converges" 0 "$rc"
expect_eq "v1: two replicas run" "auriga-demo-node:v1 auriga-demo-node:v1" "$(images)"
# Both together: an apply that gave up before Docker's first check leaves them 'starting' too.
expect_eq "v1: converged before Docker's first check (both still 'starting')" "0 starting starting" \
	"$rc $healths_v1"

docker events --filter "label=$TEST_LABEL" --format '{{json .}}' >"$TEST_TMP/events" &
events_pid=$!
on_exit "kill $events_pid 2>/dev/null"
sleep 0.5
spec auriga-demo-node:v2
auriga_cmd apply --timeout-total 60 "$SPECS" >"$TEST_TMP/v2.out" 2>&1
rc=$?
healths_v2=$(healths)
sleep 0.5
kill $events_pid 2>/dev/null
wait $events_pid 2>/dev/null
expect_eq "v2: apply converges" 0 "$rc"
expect_eq "v2: two replicas run v2" "auriga-demo-node:v2 auriga-demo-node:v2" "$(images)"
expect_eq "v2: the release completed before Docker's first check of either new container" "starting starting" \
	"$healths_v2"
# Each old container was killed only once a new one had passed the check (an exec that exited 0).
out=$(python3 - "$TEST_TMP/events" <<'PY'
import json, sys
passed, kills = [], []
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("Type") != "container":
        continue
    a = ev["Actor"]["Attributes"]
    if a.get("auriga.io/deployment") != "xr":
        continue
    new = a.get("image") == "auriga-demo-node:v2"
    if ev["Action"] == "exec_die" and a.get("exitCode") == "0" and new and ev["Actor"]["ID"] not in [p[1] for p in passed]:
        passed.append((ev["timeNano"], ev["Actor"]["ID"]))
    if ev["Action"] == "kill" and not new:
        kills.append(ev["timeNano"])
bad = [k for k, t in enumerate(sorted(kills), 1) if sum(1 for p in passed if p[0] < t) < k]
print("ok" if len(kills) == 2 and len(passed) == 2 and not bad else f"bad kills={len(kills)} passed={len(passed)} early={bad}")
PY
)
expect_eq "v2: every old container killed only after as many new ones passed the check" ok "$out"

spec auriga-demo-node:never-ready
auriga_cmd apply --timeout-total 90 "$SPECS" >"$TEST_TMP/bad.out" 2>&1
rc=$?
expect_match "never-ready: apply does not converge" '^[1-9][0-9]*$' "$rc"
expect_match "never-ready: the release fails at its progress deadline" 'deadline|rolled back' "$(cat "$TEST_TMP/bad.out")"
expect_eq "never-ready: v2 keeps running" "auriga-demo-node:v2 auriga-demo-node:v2" "$(images)"
done_testing
