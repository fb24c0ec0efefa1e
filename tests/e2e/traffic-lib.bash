# Shared by the traffic-control end-to-end tests (sourced after tests/lib.sh and fleet-lib.bash):
# test images, free ports, an NGINX on 127.0.0.1 that includes the file auriga's router writes,
# the specs of one API deployment released through it, and clients that read the answering version
# from the X-Node-Version header. The caller sets DEP (the deployment) and SPECS (the specs folder),
# and may set TRAFFIC_CLUSTER (the Cluster's name, default traffic-control), TRAFFIC_IMAGES (more
# demo image tags the test needs besides v1, v2 and v3), TRAFFIC_PREVIEW=no (no preview Service
# and no smoke-test Job: a release that routes the active Service alone), TRAFFIC_SMOKE=no (a
# preview Service but no smoke-test Job), TRAFFIC_HOSTPORT=no (the deployment publishes no fixed
# host port: the engine picks each replica's) and TRAFFIC_NGINX=none (no NGINX started on the
# host: the test runs its own).

TRAFFIC_PREVIEW=${TRAFFIC_PREVIEW:-yes}
TRAFFIC_SMOKE=${TRAFFIC_SMOKE:-$TRAFFIC_PREVIEW}
for tag in v1 v2 v3 ${TRAFFIC_IMAGES:-}; do
	if ! docker image inspect "auriga-demo-node:$tag" >/dev/null 2>&1; then
		diag "image auriga-demo-node:$tag is missing (hack/build-images.sh builds it)"
		fail "test images present"
		exit 1
	fi
done

. "$(dirname "${BASH_SOURCE[0]}")/nginx-lib.bash"
NGX=$TEST_TMP/nginx
mkdir -p "$SPECS"
LP=$(free_port)
PP=$(free_port)
# Four consecutive free host ports: two replicas in each of two slots (blue HP, HP+1; green HP+2, HP+3).
HP=$(free_ports 4) || { fail "four free host ports"; exit 1; }
BLUE_100="$HP:100 $((HP + 1)):100"
GREEN_100="$((HP + 2)):100 $((HP + 3)):100"

# NGINX includes every router file of the folder: auriga writes its own beside the Cluster's
# configPath, named with the instance's name-prefix ("<prefix>-auriga.conf").
nginx_setup "$NGX" "${TRAFFIC_NGINX:-host}"
# router_conf: the file auriga's router writes for this test's instance; router_upstream SERVICE: the
# NGINX name of a Service's upstream there.
router_conf() { echo "$NGX/$FLEET_INSTANCE-auriga.conf"; }
router_upstream() { echo "$FLEET_INSTANCE-$1"; }

# The operator's policy lets the Cluster name this test's NGINX files and reload command (every
# auriga command of the test reads it through the environment). TRAFFIC_RELOAD_EXTRA: one more
# reload command it lists, as a YAML flow list.
TRAFFIC_POLICY=$TEST_TMP/policy.yaml
nginx_policy "$TRAFFIC_POLICY" "$NGX" "${TRAFFIC_RELOAD_EXTRA:-}"

cat >"$SPECS/cluster.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Cluster
metadata: {name: ${TRAFFIC_CLUSTER:-traffic-control}}
spec:
  router:
    type: NGINX
    configPath: $NGX/auriga.conf
    reloadCommand: $NGINX_RELOAD
    listenAddress: 127.0.0.1
EOF
cat >"$SPECS/services.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $DEP}
spec: {deployment: $DEP, port: $LP, targetPort: http}
EOF
[ "$TRAFFIC_PREVIEW" = no ] || cat >>"$SPECS/services.yaml" <<EOF
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: $DEP-preview}
spec: {deployment: $DEP, port: $PP, targetPort: http}
EOF

# write_dep IMAGE STRATEGY_BLOCK [ENV_LINE]: the deployment, REPLICAS replicas (default 2) given
# DEADLINE seconds to progress (default 60), on the network NETWORK if set, readiness every second
# and the probes PROBES lists besides (YAML lines under probes:), and its smoke-test Job (unless
# TRAFFIC_SMOKE=no).
write_dep() {
	cat >"$SPECS/deployment.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  role: api
  replicas: ${REPLICAS:-2}
  progressDeadlineSeconds: ${DEADLINE:-60}
  template:
    image: $1
    env: {NODE_TYPE: api${3:+, $3}}
    ports: [{name: http, containerPort: 9003$([ "${TRAFFIC_HOSTPORT:-yes}" = no ] || echo ", hostPort: $HP")}]${NETWORK:+
    network: $NETWORK}
  probes:
    readiness:
      httpGet: {path: /q/health/ready, port: http}
      periodSeconds: 1
      timeoutSeconds: 1
      failureThreshold: 1${PROBES:+
$PROBES}
  strategy:
$2
EOF
	[ "$TRAFFIC_SMOKE" = no ] || printf -- '---\n%s\n' "$(smoke_job "$DEP-smoke" 9003 "$1")" >>"$SPECS/deployment.yaml"
}

# upstream [NAME]: the active (or NAME's) upstream in the router's file as "port:weight" (backup
# servers "port:b"), sorted, space-separated.
upstream() { nginx_upstream "$(router_conf)" "$(router_upstream "${1:-$DEP}")"; }
upstream_is() { [ "$(upstream)" = "$1" ]; }
images() { fleet_images | sort | tr '\n' ' ' | sed 's/ $//'; }
# slots: each container of this instance as "slot:image", sorted.
slots() { fleet_ps '{{.Label "auriga.io/slot"}}:{{.Image}}' | sort | tr '\n' ' ' | sed 's/ $//'; }
# version: the version answering one transaction through NGINX.
version() { nginx_version "$LP"; }

# sample N: N requests through NGINX; prints "<requests> <failed> <version>=<count>...".
sample() {
	python3 - "$LP" "$1" <<'PY'
import collections, http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
seen, failed = collections.Counter(), 0
for _ in range(n):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("POST", "/api/v11/transactions", body=b"{}", headers={"Connection": "close"})
        r = c.getresponse()
        r.read()
        if r.status // 100 != 2:
            failed += 1
        seen[r.getheader("X-Node-Version", "-")] += 1
        c.close()
    except Exception:
        failed += 1
print(n, failed, " ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY
}
# share VERSION LINE: the percentage of a sample's answers given by VERSION.
share() { awk -v v="$1" '{ for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == v) n = a[2] } } END { printf "%.1f", 100 * n / $1 }' <<<"$2"; }
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# watch_router OUT SECONDS: every change of the active upstream in the router's file, as
# "ms port:weight..."; prints its pid.
watch_router() { watch_upstream file "$@"; }
# watch_served OUT SECONDS: every change of what NGINX serves on the Service's listener, as
# "ms generation port...": the generation its /.auriga/router-generation answers (as the router's
# confirmation reads it, on a new connection each time) and the active upstream's servers in the
# router's file of that generation ("?" while the file of that generation was not seen); prints its pid.
watch_served() { watch_upstream served "$@"; }
watch_upstream() {
	python3 - "$1" "$(router_conf)" "$2" "$3" "$(router_upstream "$DEP")" "$LP" >/dev/null 2>&1 <<'PY' &
import re, sys, time, urllib.request
mode, path, out, secs, up, lp = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
servers = {}
last = None
end = time.time() + secs
with open(out, "w", buffering=1) as f:
    while time.time() < end:
        try:
            text = open(path).read()
        except OSError:
            text = ""
        m = re.search(r"upstream " + re.escape(up) + r" \{(.*?)\}", text, re.S)
        cur = []
        for line in (m.group(1).splitlines() if m else []):
            s = re.search(r"server 127\.0\.0\.1:(\d+) (?:weight=(\d+)|(backup))", line)
            if s:
                cur.append("%s:%s" % (s.group(1), s.group(2) or "b"))
        cur = " ".join(sorted(cur))
        if mode == "served":
            g = re.search(r'return 200 "([0-9a-f]+)\\n"', text)
            if g and m:
                servers[g.group(1)] = " ".join(x.split(":")[0] for x in cur.split() if not x.endswith(":b"))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/.auriga/router-generation" % lp, timeout=1) as r:
                    gen = r.read().decode().strip()
            except Exception:
                gen = "-"
            cur = "%s %s" % (gen, servers.get(gen, "?"))
        if cur != last:
            last = cur
            f.write("%d %s\n" % (int(time.time() * 1000), cur))
        time.sleep(0.02)
PY
	echo $!
}

# --- Prometheus on 127.0.0.1 (PROM its folder, PROMP its port) ---------------------------------------
PROM=$TEST_TMP/prometheus
PROMP=$(free_port)
# start_prometheus SCRAPE_CONFIGS: Prometheus in the background (prom_pid), scraping and evaluating
# every second with the scrape_configs given (YAML list items); stopped when the test ends.
start_prometheus() {
	mkdir -p "$PROM"
	cat >"$PROM/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
$1
EOF
	prometheus --config.file="$PROM/prometheus.yml" --storage.tsdb.path="$PROM/data" \
		--web.listen-address="127.0.0.1:$PROMP" >"$PROM/log" 2>&1 &
	prom_pid=$!
	on_exit "kill $prom_pid; wait $prom_pid"
}
# prom QUERY: the value of an instant query ("" for no data).
prom() {
	curl -sf --max-time 5 -G "http://127.0.0.1:$PROMP/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
prom_is() { [ "$(prom "$1")" = "$2" ]; }
# prom_metric NAME INTERVAL COUNT FAILURE_LIMIT OPERATOR VALUE QUERY: one metric of an
# AnalysisTemplate (an item of spec.metrics), the value of QUERY at this Prometheus.
prom_metric() {
	cat <<EOF
    - name: $1
      interval: $2
      count: $3
      failureLimit: $4
      failureCondition: {operator: "$5", value: $6}
      provider:
        prometheus:
          address: http://127.0.0.1:$PROMP
          query: '$7'
EOF
}
