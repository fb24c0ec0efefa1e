#!/usr/bin/env bash
# The whole story on the local engine, in about three minutes, with a live display:
#   1. a specs repo (25 DLT nodes in three phases, the API released blue-green, an explorer
#      released by canary, the ledger's PostgreSQL and the ledger nodes that write to it) and a
#      real NGINX in front of the API, the explorer and the ledger;
#   2. `auriga run` follows the repo and brings the fleet up phase by phase (slim, business,
#      validators, then the API, the database and the ledger), each gated by its probes;
#   3. transactions sent to the ledger through NGINX become rows in PostgreSQL;
#   4. a commit releases a bad ledger that needs schema V2: the guide's backup is taken first (its
#      record: size, checksum), the migration runs, the nodes never become ready, auriga rolls the
#      release back and the undo migration runs: the schema is V1 again and no row is lost;
#   5. a commit releases the API blue-green through NGINX while a client sends requests: the
#      count of failed requests is printed;
#   6. a commit releases a bad explorer by canary: its analysis sees the errors and auriga
#      rolls it back on its own;
#   7. a container is killed and auriga heals it;
#   8. the note auriga wrote on each commit, the backups, and a drill that restores the newest
#      one into a database of its own and checks it; the address of the status page.
# The fleet and the daemon are left running; `hack/demo.sh down` removes what the demo made.
# DEMO_NODE_REPO (default auriga-demo-node) runs the fleet on another build of the node's images
# (hack/build-images.sh builds them under that name).
# Probe periods are cut to a second and the release windows to seconds (the guide's are for
# production).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}
label=${AURIGA_DEMO_LABEL:-auriga.demo=1}
instance=${AURIGA_DEMO_INSTANCE:-demo}
dir=${AURIGA_DEMO_DIR:-${TMPDIR:-/tmp}/auriga-demo}
node_repo=${DEMO_NODE_REPO:-auriga-demo-node}
repo=$dir/repo
work=$repo/work

stop_pid() { # FILE: stops the process whose pid FILE holds, waiting up to 10 s
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}
down() {
	local ids
	touch "$dir/load.stop" 2>/dev/null || true
	stop_pid "$dir/run.pid"
	stop_pid "$dir/nginx/nginx.pid"
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -fv $ids >/dev/null
	ids=$(docker volume ls -q --filter "label=$label")
	[ -n "$ids" ] && docker volume rm -f $ids >/dev/null
	ids=$(docker network ls -q --filter "label=$label")
	[ -n "$ids" ] && docker network rm $ids >/dev/null
	rm -rf "$dir"
	return 0
}
if [ "${1:-}" = "down" ]; then
	down
	echo "demo: removed"
	exit 0
fi
down
mkdir -p "$dir/specs/nodes" "$dir/nginx"
t0=$(date +%s)
step() { printf '\n\033[1m== [%3ss] %s\033[0m\n' "$(($(date +%s) - t0))" "$*"; }
# ports N: the first of N consecutive free ports on 127.0.0.1.
ports() {
	python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
for base in range(19000, 29000, 10):
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
PY
}
base=$(ports 16)
listen=$base              # auriga's HTTP API and status page
svc_api=$((base + 1))     # NGINX: the API, its preview, the explorer
svc_preview=$((base + 2))
svc_explorer=$((base + 3))
hp_api=$((base + 4))      # host ports of the slots' replicas (four each)
hp_explorer=$((base + 8))
svc_ledger=$((base + 12)) # NGINX: the ledger; its replicas publish the three ports after it
hp_ledger=$((base + 13))
url=http://127.0.0.1:$listen

step "a specs repo: 25 DLT nodes in three phases, the API (blue-green), the explorer (canary), the ledger and its PostgreSQL"
ngx=$dir/nginx
# The router writes "<instance>-auriga.conf" beside the configPath: NGINX includes every such file.
"$top/hack/nginx-conf.sh" "$ngx" "$ngx/*auriga.conf" >"$ngx/nginx.conf"
nginx -e "$ngx/error.log" -c "$ngx/nginx.conf"
reload="[nginx, -e, $ngx/error.log, -c, $ngx/nginx.conf, -s, reload]"
# The operator's policy, outside the repo: the router's file and reload command the Cluster may name.
cat >"$dir/policy.yaml" <<EOF
router:
  configPath: [$ngx/auriga.conf]
  reloadCommand:
    - $reload
  listenAddress: [127.0.0.1]
EOF
fast() { sed -e 's/periodSeconds: [0-9]*/periodSeconds: 1/' -e 's/timeoutSeconds: [0-9]*/timeoutSeconds: 1/' "$@"; }
sed -e "s|configPath: .*|configPath: $ngx/auriga.conf|" -e "s|reloadCommand: .*|reloadCommand: $reload|" \
	"$top/specs/cluster.yaml" >"$dir/specs/cluster.yaml"
for f in "$top"/specs/nodes/*.yaml; do fast "$f" >"$dir/specs/nodes/$(basename "$f")"; done
cp "$top/specs/jobs.yaml" "$dir/specs/"
# The ledger: PostgreSQL probed every 2 s, the ledger's release given up after 45 s without progress.
sed -e 's/periodSeconds: [0-9]*/periodSeconds: 2/' -e "s/hostPort: 19010/hostPort: $hp_ledger/" \
	-e "s/^  port: 9005$/  port: $svc_ledger/" -e 's/^  role: ledger$/&\n  progressDeadlineSeconds: 45/' \
	"$top/specs/database.yaml" >"$dir/specs/database.yaml"
fast "$top/specs/api.yaml" | sed -e "s/hostPort: 19003/hostPort: $hp_api/" -e "s/^  port: 9003$/  port: $svc_api/" \
	-e "s/^  port: 9004$/  port: $svc_preview/" -e 's/postPromotionWindowSeconds: [0-9]*/postPromotionWindowSeconds: 5/' \
	-e 's/scaleDownDelaySeconds: [0-9]*/scaleDownDelaySeconds: 3/' \
	-e '/prePromotionAnalysis:/,/templateName: api-critical/d' >"$dir/specs/api.yaml"
# The API's green slot is checked by its smoke test before the switch (the guide's analysis reads a
# Prometheus, and green has no traffic of its own before it); the canary below is gated by analysis.
# errors TEMPLATE: an AnalysisTemplate of the new version's own error ratio, read from its
# containers' /q/metrics every 2 s, three times, failing over 5 % (the guide's critical line).
errors() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: $1}
spec:
  metrics:
    - name: error-rate
      interval: 2s
      count: 3
      failureLimit: 0
      failureCondition: {operator: ">", value: 0.05}
      provider:
        scrape:
          port: http
          path: /q/metrics
          metric: 'http_server_requests_total{uri="/api/v11/transactions",status=~"5.."} / http_server_requests_total{uri="/api/v11/transactions"}'
EOF
}
errors explorer-errors >"$dir/specs/analysis.yaml"
cat >"$dir/specs/explorer.yaml" <<EOF
# The block explorer's backend behind NGINX, released by canary: 25 % of requests, then its
# error ratio is measured; a bad version is rolled back on its own.
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: explorer}
spec:
  role: api
  replicas: 2
  template:
    image: auriga-demo-node:v1
    env: {NODE_TYPE: api}
    ports: [{name: http, containerPort: 9003, hostPort: $hp_explorer}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1}
  strategy:
    type: Canary
    canary:
      steps:
        - setWeight: 25
        - pause: {duration: 2s}
        - analysis: {templates: [{templateName: explorer-errors}]}
        - setWeight: 50
        - pause: {duration: 2s}
  autoRollback: true
---
apiVersion: auriga.io/v1
kind: Service
metadata: {name: explorer}
spec: {deployment: explorer, port: $svc_explorer, targetPort: http}
EOF
sed -i "s|image: auriga-demo-node:|image: $node_repo:|" "$dir"/specs/*.yaml "$dir"/specs/nodes/*.yaml
c1=$("$top/hack/demo-repo.sh" "$repo" "$dir/specs")
git -C "$work" log --oneline -1
echo "NGINX on 127.0.0.1: the API at :$svc_api (preview :$svc_preview), the explorer at :$svc_explorer, the ledger at :$svc_ledger"

step "auriga run follows the repo: the fleet comes up phase by phase, each gated by its probes"
"$auriga" run --repo "$repo/specs.git" --branch main --instance "$instance" --state-dir "$dir/state" \
	--extra-labels "$label" --listen "127.0.0.1:$listen" --poll-interval 1s \
	--policy-file "$dir/policy.yaml" >"$dir/run.log" 2>&1 &
echo $! >"$dir/run.pid"
watch() { "$top/hack/demo-watch.py" "$url" "$@" || { echo "demo: see $dir/run.log" >&2; exit 1; }; }
watch 240 "$c1"

# load NAME PORT: the load client through NGINX in the background; stop_load ends it.
load() {
	rm -f "$dir/load.stop"
	"$top/hack/demo-load.py" "$2" "$dir/load-$1" "$dir/load.stop" &
	echo $! >"$dir/load.pid"
	sleep 1
}
stop_load() { touch "$dir/load.stop"; wait "$(cat "$dir/load.pid")" 2>/dev/null || true; }
# tally FILE: "N requests, F failed; answered by VERSION: COUNT ..."
tally() {
	awk '{ n++; if ($2 < 200 || $2 >= 300) f++; v[$3]++ }
	     END { printf "%d requests, %d failed; answered by", n, f; for (k in v) printf " %s: %d", k, v[k]; print "" }' "$1"
}

# sql QUERY: QUERY's answer from the ledger's PostgreSQL (unaligned, one row a line).
sql() {
	docker exec "$(docker ps -q --filter "label=auriga.io/managed-by=$instance" \
		--filter "label=auriga.io/deployment=postgres" | head -1)" psql -U postgres -d ledger -Atq -c "$1"
}
rows() { sql "select count(*) from transactions"; }

step "the ledger writes each transaction it accepts to PostgreSQL (through NGINX)"
rm -f "$dir/ledger.stop"
"$top/hack/demo-load.py" "$svc_ledger" "$dir/load-ledger" "$dir/ledger.stop" &
echo $! >"$dir/ledger.pid"
r1=$(rows)
sleep 3
r2=$(rows)
echo "rows in transactions: $r1, then $r2 three seconds later"
echo "the ledger's schema: V$(sql "select max(version) from schema_history")"

step "a bad ledger release that needs schema V2: backup, migration, rollback, undo"
sql "select id from transactions" | sort >"$dir/rows-before"
sed -i -e 's|DEMO_VERSION: "4.4.4"|DEMO_VERSION: "4.4.5"\n      DEMO_NEVER_READY: "1"|' \
	-e 's|schemaVersion: "1"|schemaVersion: "2"|' "$work/database.yaml"
c_ledger=$("$top/hack/demo-repo.sh" --commit "$repo" "Release the ledger 4.4.5 (schema V2; a build that never becomes ready)")
git -C "$work" log --oneline -1
watch 240 "$c_ledger" ledger RolledBack
sql "select id from transactions" | sort >"$dir/rows-after"
touch "$dir/ledger.stop"
wait "$(cat "$dir/ledger.pid")" 2>/dev/null || true
# The policy's first backup at the release's commit: the one taken before it (the hourly schedule's may come later).
"$auriga" backup list --json --state-dir "$dir/state" | jq -r --arg c "$c_ledger" \
	'.backups | map(select(.policy == "ledger-pre-deploy" and .status == "ok" and .commit == $c)) | first |
	"the backup before the release: \(.file), \(.size) bytes, sha256 \(.sha256), \(.status)"'
echo "migrations run: $(sql "select 'V' || version || ' ' || direction from schema_log order by at" | paste -sd, | sed 's/,/, /g')"
echo "the ledger's schema after the rollback: V$(sql "select max(version) from schema_history")"
echo "rows: $(wc -l <"$dir/rows-before") before the release, $(wc -l <"$dir/rows-after") after the rollback," \
	"$(comm -23 "$dir/rows-before" "$dir/rows-after" | wc -l) of the earlier ones missing"
echo "through NGINX to the ledger: $(tally "$dir/load-ledger")"
# The bad release stays rolled back until the repo says otherwise: reverted, as its author would.
git -C "$work" checkout -q HEAD~1 -- database.yaml
c_revert=$("$top/hack/demo-repo.sh" --commit "$repo" "Revert the ledger 4.4.5 release")
git -C "$work" log --oneline -1
watch 60 "$c_revert"

step "the API released blue-green through NGINX while a client sends requests"
load api "$svc_api"
sed -i -e "s|image: $node_repo:v1|image: $node_repo:v2|" -e 's|DEMO_VERSION: "11.0.0"|DEMO_VERSION: "11.1.0"|' "$work/api.yaml"
c2=$("$top/hack/demo-repo.sh" --commit "$repo" "Release the API 11.1.0 (blue-green)")
git -C "$work" log --oneline -1
watch 120 "$c2"
sleep 1
stop_load
echo "through NGINX during the release: $(tally "$dir/load-api")"

step "a bad explorer released by canary: its analysis sees the errors, auriga rolls it back"
load explorer "$svc_explorer"
sed -i "s|image: $node_repo:v1|image: $node_repo:flaky|" "$work/explorer.yaml"
c3=$("$top/hack/demo-repo.sh" --commit "$repo" "Release the explorer (a build that fails 20 % of requests)")
git -C "$work" log --oneline -1
watch 120 "$c3" explorer RolledBack
sleep 2
stop_load
curl -s --max-time 5 "$url/api/v1/status" | jq -r '.deployments[] | select(.name == "explorer") | "explorer: \(.lastError // "-")"'
echo "through NGINX during the canary: $(tally "$dir/load-explorer") (the canary's 500s)"
echo "after the rollback: $(awk -v t="$(awk '$3 == "flaky" { t = $1 } END { print t + 0 }' "$dir/load-explorer")" \
	'$1 > t { n++; if ($2 < 200 || $2 >= 300) f++ } END { printf "%d requests, %d failed", n, f }' "$dir/load-explorer")"

step "a slim node is killed; auriga heals it"
victim=$(docker ps -q --filter "label=auriga.io/managed-by=$instance" --filter "label=auriga.io/deployment=slim" | head -1)
docker kill "$victim" >/dev/null
t_kill=$(date +%s%N)
echo "killed $(docker inspect -f '{{.Name}}' "$victim" | tr -d /)"
healed() {
	[ "$(docker ps -q --filter "label=auriga.io/managed-by=$instance" --filter "label=auriga.io/deployment=slim" \
		--filter status=running | wc -l)" -ge 5 ] &&
		curl -s --max-time 2 "$url/api/v1/status" | jq -e '.deployments[] | select(.name == "slim") | .phase == "Healthy" and .ready == .desired' >/dev/null
}
for _ in $(seq 1 300); do healed && break; sleep 0.1; done
echo "slim: 5 of 5 running and ready again $(( ($(date +%s%N) - t_kill) / 1000000 )) ms after the kill"

step "the note auriga wrote on each commit (git log --notes=auriga)"
# The head's note is rewritten as the fleet moves (the healed node made it Progressing for a moment):
# it is shown once it is settled, waiting at most 30 s.
for _ in $(seq 1 60); do
	git -C "$work" fetch -q origin 'refs/notes/*:refs/notes/*'
	git -C "$work" notes --ref=auriga show "$c3" 2>/dev/null | grep -qE '^phase: (Progressing|Pending)$' || break
	sleep 0.5
done
for c in "$c1" "$c_ledger" "$c2" "$c3"; do
	git -C "$work" log -1 --format='%h %s' "$c"
	git -C "$work" notes --ref=auriga show "$c" 2>/dev/null | grep -E '^(phase|summary|  (api|explorer|slim|ledger) )' | sed 's/^/    /' | head -6
done

step "the backups auriga keeps, and a drill: the newest restored into a database of its own and checked"
"$auriga" backup list --state-dir "$dir/state"
"$auriga" drill --instance "$instance" --state-dir "$dir/state" --extra-labels "$label" \
	--policy-file "$dir/policy.yaml" --repo "$repo/specs.git" --branch main ledger-pre-deploy \
	>"$dir/drill.out" 2>"$dir/drill.log" || { cat "$dir/drill.out" "$dir/drill.log"; echo "demo: the drill failed" >&2; exit 1; }
head -1 "$dir/drill.out"
sed 1d "$dir/drill.out" | jq -r '"backup \(.backup.file), restored in \(.restoreSeconds) s",
	(.verify[] | "verify \(.job): \(if .ok then "passed" else "failed" end): \(.message)")' 2>/dev/null || true

step "done in $(($(date +%s) - t0)) s"
echo "status page:  $url/"
echo "status API:   $url/api/v1/status      metrics: $url/metrics"
echo "auriga status --repo $repo/specs.git   (the note on the branch head)"
echo "the fleet and auriga run are left running (log: $dir/run.log); 'hack/demo.sh down' removes them"
