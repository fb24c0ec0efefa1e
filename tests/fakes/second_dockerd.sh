# Sourced by tests: starts and stops a second, private dockerd beside the main one, which other
# tests keep using and which is never restarted. Everything lives under a directory of its own:
# data root, exec root (with its own containerd), pid file, socket, and a bridge interface of its
# own. Never --bridge=none: a daemon started so deletes the host's docker0, which belongs to the
# main daemon. No iptables.
#   second_dockerd_start DIR ARGS...   start with extra ARGS (-H ..., TLS flags); waits for it
#   second_dockerd_stop DIR            SIGTERM to that daemon's pid only, waits for it to exit

second_dockerd_start() {
	local dir=$1 br n
	shift
	mkdir -p "$dir/data" "$dir/exec"
	br=$(cat "$dir/bridge" 2>/dev/null || true)
	if [ -z "$br" ]; then
		# A private bridge on a subnet no route uses yet; removed by second_dockerd_stop.
		for n in $(seq $(( $$ % 200 + 20 )) 250) $(seq 20 250); do
			ip route | grep -q "^10\.213\.$n\." || break
		done
		br=aurt$$
		ip link add "$br" type bridge
		ip addr add "10.213.$n.1/24" dev "$br"
		ip link set "$br" up
		echo "$br" >"$dir/bridge"
	fi
	# Short paths: unix sockets under the exec root must fit in 108 bytes.
	nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
		--bridge="$br" --iptables=false --ip6tables=false --ip-masq=false \
		--containerd-namespace auriga-second --containerd-plugins-namespace auriga-second-plugins \
		"$@" >>"$dir/dockerd.log" 2>&1 </dev/null &
	echo $! >"$dir/launcher.pid"
}

# second_dockerd_pid DIR: the daemon's pid as it wrote it.
second_dockerd_pid() { cat "$1/dockerd.pid" 2>/dev/null; }

second_dockerd_stop() {
	local dir=$1 pid i
	pid=$(cat "$dir/launcher.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/launcher.pid"
}

# second_dockerd_cleanup DIR: stops the daemon and removes its bridge.
second_dockerd_cleanup() {
	local br
	second_dockerd_stop "$1"
	br=$(cat "$1/bridge" 2>/dev/null || true)
	[ -n "$br" ] && ip link del "$br" 2>/dev/null
	rm -f "$1/bridge"
	return 0
}
