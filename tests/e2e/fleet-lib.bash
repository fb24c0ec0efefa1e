# Shared by the engine's end-to-end tests (sourced after tests/lib.sh): a copy of the example fleet
# from specs/ with short probe periods, and helpers to run auriga against it under a test instance.

# Instance names are [a-z0-9.-] for every command: the test's underscores become dashes.
FLEET_INSTANCE=e2e-${TEST_NAME//_/-}-$$
FLEET_STATE=$TEST_TMP/state
FLEET_SPECS=$TEST_TMP/specs

# make_fleet DIR [IMAGE] [DEADLINE_S]: the 25 nodes of specs/ (slim, two business groups,
# validators) and their Cluster and Jobs, with probes every second instead of every 5-30 s so a
# rollout takes seconds, the image set to IMAGE (default v1) and the progress deadline to
# DEADLINE_S (default 60).
make_fleet() {
	local dir=$1 image=${2:-auriga-demo-node:v1} deadline=${3:-60} f
	mkdir -p "$dir/nodes"
	cp "$TOP/specs/cluster.yaml" "$TOP/specs/jobs.yaml" "$dir/"
	for f in "$TOP"/specs/nodes/*.yaml; do
		sed -e "s|image: auriga-demo-node:.*|image: $image|" \
			-e 's/periodSeconds: [0-9]*/periodSeconds: 1/' \
			-e 's/timeoutSeconds: [0-9]*/timeoutSeconds: 1/' \
			-e "s/^  replicas: \([0-9]*\)/  replicas: \1\n  progressDeadlineSeconds: $deadline/" \
			"$f" >"$dir/nodes/$(basename "$f")"
	done
}

# set_image DIR DEPLOYMENT_FILE IMAGE: changes the image of the deployments in one file.
set_image() {
	sed -i -e "s|image: auriga-demo-node:.*|image: $3|" "$1/nodes/$2"
}

# demo_deployment NAME ROLE REPLICAS IMAGE DEADLINE_S STRATEGY [TEMPLATE]: one Deployment of demo
# nodes, readiness probed every second; STRATEGY is the strategy block's lines and TEMPLATE more
# lines of the template, each indented as it stands in the document.
demo_deployment() {
	cat <<YAML
apiVersion: auriga.io/v1
kind: Deployment
metadata:
  name: $1
spec:
  role: $2
  replicas: $3
  progressDeadlineSeconds: $5
  template:
    image: $4
    ports:
      - {name: http, containerPort: 9003}
${7:+$7
}  probes:
    readiness:
      httpGet: {path: /q/health/ready, port: http}
      periodSeconds: 1
      timeoutSeconds: 1
  strategy:
$6
YAML
}

# auriga_engine CMD ARGS...: runs auriga with this test's instance, state and label.
auriga_engine() {
	local cmd=$1
	shift
	"$AURIGA_BIN" "$cmd" --instance "$FLEET_INSTANCE" --state-dir "$FLEET_STATE" \
		--extra-labels "$TEST_LABEL" "$@"
}

# fleet_ps [FORMAT]: this instance's containers, one a line.
FLEET_PS_FORMAT='{{.Names}} {{.State}} {{.Label "auriga.io/deployment"}} {{.Label "auriga.io/ordinal"}} {{.Label "auriga.io/revision"}}'
fleet_ps() {
	local format=$FLEET_PS_FORMAT
	[ $# -gt 0 ] && format=$1
	docker ps -a --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --format "$format"
}

fleet_count() { fleet_ps '{{.ID}}' | wc -l; }

# fleet_running_count DEPLOYMENT IMAGE: running containers of a deployment on an image.
fleet_running_count() {
	fleet_images "label=auriga.io/deployment=$1" | grep -cx "$2"
}

# fleet_images [FILTER]: the image each running container was made from (the name, even when the
# tag has moved since: `docker ps` would show an id then).
fleet_images() {
	local ids
	ids=$(docker ps -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" ${1:+--filter "$1"})
	[ -n "$ids" ] && docker inspect -f '{{.Config.Image}}' $ids
}

# exec_readiness DIR PERIOD: every deployment's readiness probe becomes an exec of the demo node's
# own checker, which auriga also hands to Docker as the HEALTHCHECK: Docker's events then carry
# health_status for each container, a clock independent of auriga's.
exec_readiness() {
	local f
	for f in "$1"/nodes/*.yaml; do
		python3 - "$f" "$2" <<'PY'
import re, sys
path, period = sys.argv[1], sys.argv[2]
text = open(path).read()
# An exec goes through the Docker API (create, start, inspect): give it more than a second.
text = re.sub(r"(    readiness:\n)      httpGet: \{path: (/q/health/ready), port: http\}\n      periodSeconds: \d+\n      timeoutSeconds: \d+",
              r"\1      exec: {command: [/demo-node, probe, \2]}\n      periodSeconds: " + period + r"\n      timeoutSeconds: 5", text)
open(path, "w").write(text)
PY
	done
}

# health_poller OUT SECONDS: GETs /q/health/ready on every running node of this instance twice a
# second (ports looked up afresh each round, since replacements publish new ones) and writes
# "total failed min_validators" to OUT after each round: min_validators is the fewest validators
# that answered ready in any round once all five had.
health_poller() {
	python3 - "$FLEET_INSTANCE" "$1" "$2" >/dev/null 2>&1 <<'PY' &
import subprocess, sys, time, urllib.request
inst, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
total = failed = 0
min_val = None
end = time.time() + secs
while time.time() < end:
    ps = subprocess.run(["docker", "ps", "--filter", "label=auriga.io/managed-by=" + inst,
                         "--format", '{{.Label "auriga.io/deployment"}} {{.Ports}}'],
                        capture_output=True, text=True).stdout.splitlines()
    val = 0
    for line in ps:
        dep, _, ports = line.partition(" ")
        for p in ports.split():
            if "->9003" not in p:
                continue
            hostport = p.split("->")[0].rstrip(",")
            total += 1
            try:
                urllib.request.urlopen("http://" + hostport + "/q/health/ready", timeout=2).read()
                if dep == "validators":
                    val += 1
            except Exception:
                failed += 1
    if val >= 5 or min_val is not None:
        min_val = val if min_val is None else min(min_val, val)
    with open(out, "w") as f:
        f.write("%d %d %d\n" % (total, failed, -1 if min_val is None else min_val))
    time.sleep(0.5)
PY
	# Its stdout is not ours: the caller's $(...) must not wait for it.
	echo $!
}

# load OUT SECONDS: POSTs through the NGINX listening on 127.0.0.1:$LP one after another (a new
# connection each, for at most SECONDS and at most 2,000,000 requests) and writes "ms status version"
# per request; prints its pid. The count is a bound, not the end a test waits for: at about 10,000
# requests a second, 100,000 ran out before a canary's release did, and its last requests were
# then the old revision's.
load() {
	python3 - "$LP" "$1" "$2" >/dev/null 2>&1 <<'PY' &
import http.client, sys, time
port, out, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
end = time.time() + secs
with open(out, "w", buffering=1) as f:
    for _ in range(2000000):
        if time.time() >= end:
            break
        t = int(time.time() * 1000)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("POST", "/api/v11/transactions", body=b"{}", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            f.write("%d %d %s\n" % (t, r.status, r.getheader("X-Node-Version", "-")))
            c.close()
        except Exception as e:
            f.write("%d 0 %s\n" % (t, type(e).__name__))
PY
	# Its stdout is not ours: the caller's $(...) must not wait for it.
	echo $!
}
stop_load() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
failed_count() { awk '$2 < 200 || $2 >= 300' "$1" | wc -l; }

# window_share_at_most LOAD VERSION MAX: "ok" when, in a load log ("ms status version" lines), no
# window of 100 consecutive requests between VERSION's first and last answer holds more than MAX
# answers from VERSION; otherwise what was seen. A share measured over the whole run would be
# diluted by the requests before and after the release.
window_share_at_most() {
	python3 - "$@" <<'PY'
import sys
path, ver, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
v = [(l.split() + ["-", "-", "-"])[2] for l in open(path).read().splitlines()]
idx = [i for i, x in enumerate(v) if x == ver]
if not idx:
    print("%s never answered" % ver)
    sys.exit(0)
span = v[idx[0]:idx[-1] + 1]
if len(span) < 100:
    print("only %d requests while %s answered" % (len(span), ver))
    sys.exit(0)
worst = max(sum(1 for x in span[i:i + 100] if x == ver) for i in range(len(span) - 99))
print("ok" if worst <= most else "a window of 100 requests had %d from %s" % (worst, ver))
PY
}

# smoke_job NAME PORT IMAGE: a smoke-test Job (one attempt) that GETs readiness on the new slot's
# container auriga names to it (AURIGA_PREVIEW_HOST, on the network they share) at PORT (the
# container's, 9003) and passes only when the release's own version answers: the tag of IMAGE.
smoke_job() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Job
metadata: {name: $1}
spec:
  activeDeadlineSeconds: 20
  template:
    image: auriga-demo-node:v1
    command: [/demo-node, probe, /q/health/ready, "$2", "-"]
    env: {DEMO_PROBE_WANT_VERSION: "${3##*:}"}
EOF
}
