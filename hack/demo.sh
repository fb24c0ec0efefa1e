#!/usr/bin/env bash
# The demo: starts one demo node per role of the example fleet on the local engine, on
# published 127.0.0.1 ports, and shows each one's health and version.
# `hack/demo.sh down` removes what it started.
set -euo pipefail
label=auriga.demo=1

if [ "${1:-}" = "down" ]; then
	ids=$(docker ps -aq --filter "label=$label")
	[ -n "$ids" ] && docker rm -f $ids >/dev/null
	echo "demo: removed"
	exit 0
fi

ids=$(docker ps -aq --filter "label=$label")
[ -n "$ids" ] && docker rm -f $ids >/dev/null
for role in slim business validator api; do
	docker run -d --name "auriga-demo-$role" --label "$label" -e "DEMO_NODE_ID=$role" \
		-p 127.0.0.1::9003 auriga-demo-node:v1 >/dev/null
done
printf '%-10s %-18s %-8s %s\n' ROLE ADDRESS VERSION READY
for role in slim business validator api; do
	addr=$(docker port "auriga-demo-$role" 9003/tcp | head -n1)
	for _ in $(seq 1 50); do
		curl -fs "http://$addr/q/health/ready" >/dev/null && break
		sleep 0.1
	done
	version=$(curl -sI "http://$addr/q/health/live" | awk -F': ' 'tolower($1)=="x-node-version" { print $2 }' | tr -d '\r')
	ready=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/q/health/ready")
	printf '%-10s %-18s %-8s %s\n' "$role" "$addr" "$version" "$ready"
done
echo "demo: running; 'hack/demo.sh down' removes it"
