# Shared by the benchmarks (sourced; BENCH_NAME names the one running in its messages): the tree's
# top (top) and the auriga binary (auriga, or AURIGA_BIN), a free port, the demo images each needs,
# the lock that keeps fleet runs one at a time, and an NGINX configuration that serves static files
# beside the controller.
BENCH_NAME=${BENCH_NAME:-$(basename "$0" .sh)}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
auriga=${AURIGA_BIN:-$top/build/auriga}

# free_port: a free TCP port on 127.0.0.1, from the tests' register (none a test beside takes).
free_port() { "$top/tests/helpers/free-ports.py" 1; }

# bench_need_images IMAGE...: each image is present, or the benchmark stops saying which is not.
bench_need_images() {
	local img
	for img in "$@"; do
		docker image inspect "$img" >/dev/null 2>&1 || { echo "$BENCH_NAME: no image $img (make images)" >&2; exit 1; }
	done
}

# bench_fleet_lock: holds /tmp/auriga-fleet.lock on fd 9 (other fleet runs, end-to-end tests and
# benchmarks, would share the two cores: one at a time); stops after 900 s of waiting.
bench_fleet_lock() {
	exec 9>/tmp/auriga-fleet.lock
	flock -w 900 9 || { echo "$BENCH_NAME: the fleet lock stayed busy" >&2; exit 1; }
}

# static_nginx_conf DIR PORT WORKERS: an nginx.conf (for `nginx -p DIR`) with WORKERS workers that
# serves DIR/www as text on 127.0.0.1:PORT, its pid in DIR and its error log in DIR/logs.
static_nginx_conf() {
	cat <<NGINX
worker_processes $3;
pid $1/nginx.pid;
error_log $1/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	default_type text/plain;
	server {
		listen 127.0.0.1:$2;
		root $1/www;
		location / { }
	}
}
NGINX
}

# bench_row FIGURE UNIT AURIGA PEER PEER_VALUE BETTER [GOAL]: one row of the table hack/bench/run.sh
# prints, written to $BENCH_TABLE when it is set (a bench run alone prints its own lines only).
# AURIGA and PEER_VALUE are in UNIT; PEER names the peer measured in the same run ("-" and "" when
# the figure has none); BETTER is lower or higher; GOAL is "<N" or ">N" (auriga's value against N,
# in UNIT) or "xN" (auriga at least N times better than the peer), empty when there is none.
bench_row() {
	[ -n "${BENCH_TABLE:-}" ] || return 0
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" >>"$BENCH_TABLE"
}
