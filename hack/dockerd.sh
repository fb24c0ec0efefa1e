#!/usr/bin/env bash
# Makes sure a Docker engine answers on the socket the tests use (DOCKER_HOST or the default),
# starting dockerd when none does and waiting for /_ping. Safe to call any number of times.
set -euo pipefail

sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in
	unix://*) sock=${DOCKER_HOST#unix://} ;;
	"") ;;
	*) echo "dockerd.sh: DOCKER_HOST=$DOCKER_HOST is not a unix socket; not starting anything" >&2
	   exit 0 ;;
esac

ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

if ping; then
	exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
	echo "dockerd.sh: dockerd is not installed (run hack/deps.sh)" >&2
	exit 1
fi

logdir=${AURIGA_STATE_DIR:-/var/tmp/auriga}
mkdir -p "$logdir"
# iptables may be unavailable in the sandboxes this runs in; containers still get a bridge.
nohup dockerd --host "unix://$sock" --iptables=false --ip6tables=false \
	>"$logdir/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
	if ping; then
		exit 0
	fi
	sleep 0.5
done
echo "dockerd.sh: dockerd did not answer on $sock within 60 s; last log lines:" >&2
tail -n 20 "$logdir/dockerd.log" >&2 || true
exit 1
