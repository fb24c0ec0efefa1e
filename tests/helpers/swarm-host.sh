#!/usr/bin/env bash
# A single-node Docker Swarm of the test's own: a dockerd in a network namespace made for it (so
# that what Swarm makes, docker_gwbridge and the ingress network, stays out of the machine's
# namespace), joined to the machine by a veth pair, with its own data root, exec root and socket
# under DIR, made a swarm manager, and given the images named. Ports its tasks publish (host mode)
# are reached at the namespace's address.
#   swarm-host.sh start DIR [IMAGE...]   prints "unix://DIR/d.sock ADDRESS" once the swarm answers
#   swarm-host.sh stop DIR               leaves the swarm, stops the daemon, removes the namespace
# Bounded: the daemon has 90 s to answer; stop waits 30 s before SIGKILL.
set -uo pipefail
cmd=${1:?usage: swarm-host.sh start|stop DIR [IMAGE...]}
dir=${2:?usage: swarm-host.sh start|stop DIR [IMAGE...]}
shift 2

# Names from DIR's inode: unique on the machine while DIR exists, and under 16 characters.
ids() {
	local ino
	ino=$(stat -c %i "$dir")
	ns=auriga-sw$((ino % 1000000))
	veth=asw$((ino % 1000000))
	# A /30 out of 10.253.0.0/16, also from the inode.
	local k=$((ino % 16384))
	net_host=10.253.$((k / 64)).$((k % 64 * 4 + 1))
	net_ns=10.253.$((k / 64)).$((k % 64 * 4 + 2))
}

stop() {
	local pid m
	[ -d "$dir" ] || return 0
	ids
	pid=$(cat "$dir/pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		docker -H "unix://$dir/d.sock" service ls -q 2>/dev/null | xargs -r docker -H "unix://$dir/d.sock" service rm >/dev/null 2>&1
		docker -H "unix://$dir/d.sock" swarm leave --force >/dev/null 2>&1
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	ip link del "$veth" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	return 0
}

start() {
	local img
	mkdir -p "$dir" || return 1
	ids
	ip netns add "$ns" || return 1
	ip netns exec "$ns" ip link set lo up || return 1
	ip link add "$veth" type veth peer name "${veth}p" || return 1
	ip link set "${veth}p" netns "$ns" || return 1
	ip addr add "$net_host/30" dev "$veth" && ip link set "$veth" up || return 1
	ip netns exec "$ns" ip addr add "$net_ns/30" dev "${veth}p" || return 1
	ip netns exec "$ns" ip link set "${veth}p" up || return 1
	echo '{}' >"$dir/daemon.json"
	# nsenter, not `ip netns exec`: the latter remounts /sys, and dockerd then finds no devices cgroup.
	setsid nsenter --net="/var/run/netns/$ns" dockerd --config-file "$dir/daemon.json" \
		--data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/pid" \
		-H "unix://$dir/d.sock" >>"$dir/log" 2>&1 </dev/null &
	for _ in $(seq 1 450); do
		docker -H "unix://$dir/d.sock" version >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! docker -H "unix://$dir/d.sock" version >/dev/null 2>&1; then
		echo "swarm-host: the daemon did not answer in 90 s; its log ends:" >&2
		tail -n 20 "$dir/log" >&2
		return 1
	fi
	docker -H "unix://$dir/d.sock" swarm init --advertise-addr "$net_ns" >"$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; return 1; }
	for img in "$@"; do
		docker save "$img" | docker -H "unix://$dir/d.sock" load >/dev/null ||
			{ echo "swarm-host: cannot give the swarm $img" >&2; return 1; }
	done
	echo "unix://$dir/d.sock $net_ns"
}

case $cmd in
start) start "$@" || { stop; exit 1; } ;;
stop) stop ;;
*) echo "swarm-host.sh: start or stop, not $cmd" >&2; exit 2 ;;
esac
