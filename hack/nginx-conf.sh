#!/usr/bin/env bash
# Prints a minimal nginx.conf for an NGINX whose pid, logs and temporary files live in DIR and whose
# http block includes INCLUDE (the router's file, or a glob of such files): what the demo, the
# benchmarks and the tests that run a real NGINX share.
#
#   hack/nginx-conf.sh DIR INCLUDE [--foreground] [--workers N] [--error-level LEVEL]
#   --foreground   no `daemon on;` (an NGINX in a container, started with -g 'daemon off;')
set -euo pipefail
usage() { echo "usage: $0 DIR INCLUDE [--foreground] [--workers N] [--error-level LEVEL]" >&2; exit 2; }
[ $# -ge 2 ] || usage
dir=$1 include=$2
shift 2
daemon=1 workers=1 level=
while [ $# -gt 0 ]; do
	case $1 in
	--foreground) daemon=0; shift ;;
	--workers) [ $# -ge 2 ] || usage; workers=$2; shift 2 ;;
	--error-level) [ $# -ge 2 ] || usage; level=" $2"; shift 2 ;;
	*) usage ;;
	esac
done
[ "$daemon" = 1 ] && echo "daemon on;"
cat <<EOF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log$level;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	include $include;
}
EOF
