# Extra Docker hosts for the tests that need more than one engine (sourced after tests/lib.sh): each is a
# dockerd of its own, with its data root, exec root, pid file and socket under $TEST_TMP, a bridge of
# its own and no iptables rules, given the demo images it needs, and stopped when the test ends (only the daemon
# started here is signalled, by its pid).

# host_start N [DOCKERD_ARGS...]: starts host N listening on unix://$TEST_TMP/dN.sock (HOST_URL[N]),
# with DOCKERD_ARGS added (another -H, TLS); fails when it does not answer within 90 s.
# The bridge is made here and named for the test: a daemon started with --bridge=none deletes the
# host's docker0 as it starts, which takes the default network from the main engine's containers.
declare -A HOST_PID HOST_URL HOST_BRIDGE
host_start() {
	local n=$1 dir=$TEST_TMP/d$1 br
	shift
	mkdir -p "$dir"
	echo '{}' >"$dir/daemon.json"
	HOST_URL[$n]=unix://$TEST_TMP/d$n.sock
	br=ah$(($$ % 100000))-$n
	HOST_BRIDGE[$n]=$br
	on_exit "ip link del $br 2>/dev/null"
	ip link add name "$br" type bridge || return 1
	ip addr add "10.$((200 + n % 50)).$(($$ % 250)).1/24" dev "$br" || return 1
	ip link set "$br" up || return 1
	on_exit "host_stop $n"
	host_daemon "$n" "$@"
}

# host_daemon N [DOCKERD_ARGS...]: runs host N's dockerd on the data root, exec root, socket and bridge
# host_start made (again after host_kill: its containers come back per their restart policy); fails
# when it does not answer within 90 s.
host_daemon() {
	local n=$1 dir=$TEST_TMP/d$1
	shift
	dockerd --config-file "$dir/daemon.json" --data-root "$dir/root" --exec-root "$dir/exec" \
		--pidfile "$dir/pid" -H "${HOST_URL[$n]}" --bridge="${HOST_BRIDGE[$n]}" --iptables=false \
		--ip6tables=false "$@" >>"$dir/log" 2>&1 </dev/null &
	HOST_PID[$n]=$!
	if ! wait_for 90 host_ping "${HOST_URL[$n]}"; then
		diag "host $n did not answer; its log ends:"
		tail -n 20 "$dir/log" | while read -r l; do diag "$l"; done
		return 1
	fi
}

# host_ping URL: the engine at URL answers.
host_ping() { docker -H "$1" version >/dev/null 2>&1; }

# host_kill N: kills host N's dockerd (SIGKILL, as a crash: it stops nothing of its own) and reaps it.
host_kill() {
	local pid=${HOST_PID[$1]:-}
	[ -n "$pid" ] || return 1
	kill -KILL "$pid" || return 1
	wait "$pid" 2>/dev/null
	HOST_PID[$1]=
}

# host_stop N: removes host N's containers and networks (a network's bridge is in the machine's
# namespace and would outlive the daemon and its data root, taking one of Docker's address pools
# for good), stops it (SIGTERM, then SIGKILL after 30 s) and unmounts what it left mounted.
host_stop() {
	local n=$1 pid=${HOST_PID[$1]:-} dir=$TEST_TMP/d$1 m ids
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	if host_ping "${HOST_URL[$n]}"; then
		ids=$(docker -H "${HOST_URL[$n]}" ps -aq 2>/dev/null)
		[ -n "$ids" ] && docker -H "${HOST_URL[$n]}" rm -fv $ids >/dev/null 2>&1
		docker -H "${HOST_URL[$n]}" network prune -f >/dev/null 2>&1
	fi
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	HOST_PID[$n]=
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	return 0
}

# host_load N TAG...: loads auriga-demo-node:TAG from the main engine into host N.
host_load() {
	local n=$1 tag
	shift
	for tag in "$@"; do
		docker save "auriga-demo-node:$tag" | docker -H "${HOST_URL[$n]}" load -q >/dev/null || return 1
	done
}

# host_count URL INSTANCE [STATE]: how many containers of INSTANCE (in STATE, e.g. running) the engine at URL has.
host_count() {
	local filter=()
	[ -n "${3:-}" ] && filter=(--filter "status=$3")
	docker -H "$1" ps -aq --filter "label=auriga.io/managed-by=$2" "${filter[@]}" | wc -l
}

# tls_material DIR HOST: a CA, a server certificate for HOST (an IP address) and a client certificate,
# made with openssl in DIR: server-{cert,key}.pem and, as Docker's client folder, client/{ca,cert,key}.pem.
tls_material() {
	local d=$1 ip=$2
	mkdir -p "$d/client"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout server-key.pem -out server.csr
		printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile server.ext -out server-cert.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=auriga -keyout client/key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile client.ext -out client/cert.pem
		cp ca.pem client/ca.pem
	) >/dev/null 2>&1
}
