# Sourced by tests: starts and stops a second, private dockerd beside the main one, which other
# tests keep using and which is never restarted. Everything lives under a directory of its own:
# data root, exec root (with its own containerd), pid file, socket. No bridge, no iptables.
#   second_dockerd_start DIR ARGS...   start with extra ARGS (-H ..., TLS flags); waits for it
#   second_dockerd_stop DIR            SIGTERM to that daemon's pid only, waits for it to exit

second_dockerd_start() {
	local dir=$1
	shift
	mkdir -p "$dir/data" "$dir/exec"
	echo "$@" >"$dir/args"
	# Short paths: unix sockets under the exec root must fit in 108 bytes.
	nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		--containerd-namespace auriga-second --containerd-plugins-namespace auriga-second-plugins \
		"$@" >>"$dir/dockerd.log" 2>&1 </dev/null &
	echo $! >"$dir/launcher.pid"
}

# second_dockerd_pid DIR: the daemon's pid as it wrote it.
second_dockerd_pid() { cat "$1/dockerd.pid" 2>/dev/null; }

second_dockerd_stop() {
	local dir=$1 pid i
	pid=$(cat "$dir/launcher.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$dir/launcher.pid"
}
