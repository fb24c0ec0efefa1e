#!/usr/bin/env bash
# deploy/grafana/auriga-fleet.json against the real thing: a real Prometheus scrapes a real
# `auriga run` (one deployment of demo nodes from a specs repo) and a demo node serving the node
# metrics, with deploy/alerts.yml's recording rules loaded. Every query of the dashboard must
# parse, name only metrics that Prometheus has (scraped or recorded), and use only label values
# that exist on those metrics; the fleet's core panels must show data.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

DASH=$TOP/deploy/grafana/auriga-fleet.json
command -v prometheus >/dev/null || { fail "prometheus is installed (hack/deps.sh)"; exit 1; }
need_images v1

check "the dashboard is valid JSON" jq -e . "$DASH"
jq -r '.panels[] | select(.type != "row") | .targets[].expr' "$DASH" >"$TEST_TMP/queries"
expect_eq "every panel but the rows has a query" 0 \
	"$(jq '[.panels[] | select(.type != "row") | select((.targets // []) | length == 0)] | length' "$DASH")"
expect_eq "every panel reads the datasource given at import" 0 \
	"$(jq '[.panels[] | select(.type != "row") | select(.datasource.uid != "${DS_PROMETHEUS}")] | length' "$DASH")"
n=$(wc -l <"$TEST_TMP/queries")
check "the dashboard has at least 20 queries ($n)" [ "$n" -ge 20 ]

# --- a real auriga, a demo node, a real Prometheus ---------------------------------------------
engine_instance dash
specs_repo
web_yaml gdash auriga-demo-node:v1 >"$WORK/web.yaml"
commit "gdash v1" >/dev/null
listen_port
run_start "$TEST_TMP/log" --repo "$REMOTE" --state-dir "$STATE" --instance "$INST" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s
check "the daemon becomes ready" wait_for 60 run_is_ready

NODEP=$(free_port)
DEMO_PORT=$NODEP DEMO_ERROR_RATE=0.2 "$TOP/hack/demo-node/demo-node" >"$TEST_TMP/node.log" 2>&1 &
node_pid=$!
on_exit "kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null"

PROM=$TEST_TMP/prom
PROMP=$(free_port)
mkdir -p "$PROM"
cp "$TOP/deploy/alerts.yml" "$PROM/"
cat >"$PROM/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: auriga
    static_configs: [{targets: ["127.0.0.1:$RUN_PORT"]}]
  - job_name: validator
    metrics_path: /q/metrics
    static_configs: [{targets: ["127.0.0.1:$NODEP"]}]
EOF
prometheus --config.file="$PROM/prometheus.yml" --storage.tsdb.path="$PROM/data" \
	--web.listen-address="127.0.0.1:$PROMP" >"$PROM/log" 2>&1 &
prom_pid=$!
on_exit "kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null"
prom_ready() { curl -sf --max-time 2 "http://127.0.0.1:$PROMP/-/ready" >/dev/null; }
check "prometheus gets ready" wait_for 60 prom_ready

# Traffic for the node metrics, errors included (DEMO_ERROR_RATE), bounded in count.
for _ in $(seq 1 60); do
	curl -s -o /dev/null --max-time 2 -X POST -d '{}' "http://127.0.0.1:$NODEP/api/v11/transactions"
done
healthy() { curl -sf --max-time 2 "$RUN_URL/api/v1/status" | jq -e '.deployments[] | select(.name == "gdash") | .phase == "Healthy"' >/dev/null; }
check "the deployment becomes Healthy" wait_for 90 healthy

# prom_has QUERY: the instant query has at least one series.
prom_has() {
	curl -sf --max-time 5 -G "http://127.0.0.1:$PROMP/api/v1/query" --data-urlencode "query=$1" |
		jq -e '.data.result | length > 0' >/dev/null
}
check "auriga's phases are scraped" wait_for 60 prom_has 'auriga_deployment_phase{deployment="gdash"}'
check "the error ratio rule is recorded" wait_for 60 prom_has 'job:http_server_requests:error_ratio_5m'
check "the latency rule is recorded" wait_for 60 prom_has 'job:http_server_requests_seconds:p99_5m'
for _ in $(seq 1 20); do # more traffic, so rate() windows hold two samples at least
	curl -s -o /dev/null --max-time 2 -X POST -d '{}' "http://127.0.0.1:$NODEP/api/v11/transactions"
done
sleep 3

# Every query: parses at Prometheus, names only known metrics, uses only existing label values.
# Metrics auriga declares but has no series for until their first event (a canary weight, an
# analysis result, a webhook) are known by their TYPE line in auriga's own /metrics.
curl -sf --max-time 5 "$RUN_URL/metrics" >"$TEST_TMP/metrics"
python3 - "$TEST_TMP/queries" "http://127.0.0.1:$PROMP" "$TEST_TMP/metrics" >"$TEST_TMP/verdicts" 2>&1 <<'PY'
import json, re, sys, urllib.parse, urllib.request
queries = [q for q in open(sys.argv[1]).read().split("\n") if q.strip()]
base = sys.argv[2]
declared = {}
for line in open(sys.argv[3]):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        declared[m.group(1)] = m.group(2)
        if m.group(2) == "histogram":
            for sfx in ("_bucket", "_sum", "_count"):
                declared[m.group(1) + sfx] = "histogram"
def get(path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)
names = set(get("/api/v1/label/__name__/values")["data"]) | set(declared)
WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
for q in queries:
    r = get("/api/v1/query", query=q)
    if r.get("status") != "success":
        print("BAD parse: %s: %s" % (q, r.get("error"))); continue
    body = re.sub(r'"[^"]*"', '""', q)
    body = re.sub(r'\[[^\]]*\]', '', body)
    body = re.sub(r'\b(by|without|on|ignoring)\s*\([^)]*\)', ' ', body)
    body = re.sub(r'\{[^}]*\}', '', body)
    bad = []
    for m in re.finditer(r'[A-Za-z_:][A-Za-z0-9_:]*', body):
        w = m.group(0)
        rest = body[m.end():].lstrip()
        if w in WORDS or rest.startswith("("):
            continue
        if w not in names:
            bad.append(w)
    for metric, sel in re.findall(r'([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}', q):
        for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', sel):
            if op in ("=~", "!~"):
                continue
            have = get("/api/v1/series", **{"match[]": metric})["data"]
            values = {s.get(label) for s in have}
            if not have and metric in declared:
                print("# no series yet for %s: %s=%s not checked" % (metric, label, value))
                continue
            if value not in values:
                bad.append('%s{%s%s"%s"} (values: %s)' % (metric, label, op, value, sorted(v for v in values if v)))
    print(("BAD names: %s: %s" % (q, ", ".join(bad))) if bad else "OK " + q)
PY
expect_eq "every query parses, names known metrics and existing label values" "" \
	"$(grep -v '^OK \|^# ' "$TEST_TMP/verdicts")"
grep '^# ' "$TEST_TMP/verdicts" | while read -r line; do diag "${line#\# }"; done
expect_eq "every query was checked" "$n" "$(grep -c '^OK ' "$TEST_TMP/verdicts")"

# The core panels show data for this fleet.
panel_has() { # TITLE: the panel's first query has at least one series
	prom_has "$(jq -r --arg t "$1" '.panels[] | select(.title == $t) | .targets[0].expr' "$DASH")"
}
for title in "Deployments by phase" "Replicas ready / desired" "Error ratio by node kind" \
	"Latency p99 / p95" "Requests per second" "Reconcile passes" "Peers" "Version"; do
	check "panel \"$title\" shows data" wait_for 30 panel_has "$title"
done
run_stop "the daemon stops with status 0"

done_testing
