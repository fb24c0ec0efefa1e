#!/usr/bin/env bash
# A Docker Swarm of the test's own: each node a dockerd in a network namespace made for it (so that
# what Swarm makes, docker_gwbridge and the ingress network, stays out of the machine's namespace),
# with its own data root, exec root and socket under its DIR, joined to a bridge of the swarm's on
# the machine (the nodes reach each other there, and the machine reaches them), and given the
# images named. Ports its tasks publish (host mode) are reached at their node's address.
#   swarm-host.sh start DIR [IMAGE...]         the manager: prints "unix://DIR/d.sock ADDRESS"
#   swarm-host.sh join DIR MANAGER_DIR [IMAGE...]   a worker joined to that manager's swarm: the same
#   swarm-host.sh restart DIR                  starts again a node's daemon that was killed (its
#                                              namespace and data root kept: it rejoins its swarm)
#   swarm-host.sh stop DIR                     leaves the swarm, stops the daemon, removes its
#                                              namespace (the manager's stop: the bridge too)
# Bounded: a daemon has 90 s to answer; stop waits 30 s before SIGKILL.
set -uo pipefail
cmd=${1:?usage: swarm-host.sh start|join|restart|stop DIR ...}
dir=${2:?usage: swarm-host.sh start|join|restart|stop DIR ...}
shift 2

# Names from a directory's inode: unique on the machine while it exists, and under 16 characters.
ino() { stat -c %i "$1"; }
# The swarm's bridge from its manager's directory, and its /24 (10.253.X.0) as start chose it;
# node N is .(N+1).
swarm_ids() { # MANAGER_DIR
	local i
	i=$(ino "$1")
	bridge=aswb$((i % 1000000))
	subnet=$(cat "$1/subnet" 2>/dev/null)
}
# A /24 no other swarm's bridge holds (two swarms may start at once: the choice and the address
# are made under one lock), from the directory's inode on.
choose_subnet() {
	local i x k
	i=$(ino "$dir")
	exec 9>/tmp/auriga-swarm-subnet.lock
	flock -w 30 9 || return 1
	for k in $(seq 0 249); do
		x=$(( (i + k) % 250 ))
		ip -o -4 addr show | grep -q " 10\.253\.$x\." && continue
		subnet=10.253.$x
		echo "$subnet" >"$dir/subnet"
		ip addr add "$subnet.1/24" dev "$bridge" && ip link set "$bridge" up
		local rc=$?
		exec 9>&-
		return $rc
	done
	exec 9>&-
	echo "swarm-host: no free /24 in 10.253.0.0/16" >&2
	return 1
}
node_ids() {
	local i
	i=$(ino "$dir")
	ns=auriga-sw$((i % 1000000))
	veth=asw$((i % 1000000))
}

# The daemon in the node's network namespace and a UTS namespace of its own, named for its directory
# (Swarm names a node by its host name: each node has its own, as on machines of their own).
daemon_up() {
	setsid unshare --uts nsenter --net="/var/run/netns/$ns" sh -c 'hostname "$1" && shift && exec "$@"' sh \
		"$(basename "$dir")" dockerd --config-file "$dir/daemon.json" \
		--data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/pid" \
		-H "unix://$dir/d.sock" >>"$dir/log" 2>&1 </dev/null &
	for _ in $(seq 1 450); do
		docker -H "unix://$dir/d.sock" version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "swarm-host: the daemon did not answer in 90 s; its log ends:" >&2
	tail -n 20 "$dir/log" >&2
	return 1
}

# The node's namespace, on the swarm's bridge at ADDRESS, and its daemon; then its images.
node_up() { # ADDRESS IMAGE...
	local addr=$1 img
	shift
	ip netns add "$ns" || return 1
	ip netns exec "$ns" ip link set lo up || return 1
	ip link add "$veth" type veth peer name "${veth}p" || return 1
	ip link set "${veth}p" netns "$ns" || return 1
	ip link set "$veth" master "$bridge" && ip link set "$veth" up || return 1
	ip netns exec "$ns" ip addr add "$addr/24" dev "${veth}p" || return 1
	ip netns exec "$ns" ip link set "${veth}p" up || return 1
	echo '{}' >"$dir/daemon.json"
	# nsenter, not `ip netns exec`: the latter remounts /sys, and dockerd then finds no devices cgroup.
	daemon_up || return 1
	for img in "$@"; do
		docker save "$img" | docker -H "unix://$dir/d.sock" load >/dev/null ||
			{ echo "swarm-host: cannot give the node $img" >&2; return 1; }
	done
}

stop() {
	local pid m
	[ -d "$dir" ] || return 0
	node_ids
	pid=$(cat "$dir/pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		if [ -f "$dir/manager" ]; then
			docker -H "unix://$dir/d.sock" service ls -q 2>/dev/null |
				xargs -r docker -H "unix://$dir/d.sock" service rm >/dev/null 2>&1
		fi
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
	if [ -f "$dir/manager" ]; then
		swarm_ids "$dir"
		ip link del "$bridge" 2>/dev/null
	fi
	return 0
}

start() {
	mkdir -p "$dir" || return 1
	touch "$dir/manager" "$dir/nodes"
	swarm_ids "$dir"
	node_ids
	ip link add name "$bridge" type bridge || return 1
	choose_subnet || return 1
	node_up "$subnet.2" "$@" || return 1
	echo 1 >"$dir/nodes"
	docker -H "unix://$dir/d.sock" swarm init --advertise-addr "$subnet.2" >"$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; return 1; }
	echo "unix://$dir/d.sock $subnet.2"
}

join() { # MANAGER_DIR IMAGE...
	local mgr=${1:?swarm-host.sh join DIR MANAGER_DIR}
	local n token
	shift
	mkdir -p "$dir" || return 1
	swarm_ids "$mgr"
	node_ids
	n=$(( $(cat "$mgr/nodes") + 1 ))
	echo "$n" >"$mgr/nodes"
	node_up "$subnet.$((n + 1))" "$@" || return 1
	token=$(docker -H "unix://$mgr/d.sock" swarm join-token -q worker) || return 1
	docker -H "unix://$dir/d.sock" swarm join --token "$token" --advertise-addr "$subnet.$((n + 1))" \
		"$subnet.2:2377" >"$dir/join.log" 2>&1 || { cat "$dir/join.log" >&2; return 1; }
	echo "unix://$dir/d.sock $subnet.$((n + 1))"
}

case $cmd in
start) start "$@" || { stop; exit 1; } ;;
join) join "$@" || { stop; exit 1; } ;;
restart) node_ids && daemon_up ;;
stop) stop ;;
*) echo "swarm-host.sh: start, join, restart or stop, not $cmd" >&2; exit 2 ;;
esac
