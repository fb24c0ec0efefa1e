# One NGINX on 127.0.0.1 for the end-to-end tests that route through a real one (sourced after
# tests/lib.sh): its folder holds the router files of every instance, and the operator's policy lets
# a Cluster name them.

# nginx_setup DIR [host|none]: DIR/nginx.conf, whose http block includes every router file of DIR
# (auriga writes "<prefix>-auriga.conf" beside the Cluster's configPath DIR/auriga.conf), and, with
# host (the default), that NGINX started, stopped when the test ends. Sets NGINX_RELOAD, its reload
# command as a YAML flow list.
nginx_setup() {
	mkdir -p "$1"
	"$TOP/hack/nginx-conf.sh" "$1" "$1/*auriga.conf" >"$1/nginx.conf"
	NGINX_RELOAD="[nginx, -e, $1/error.log, -c, $1/nginx.conf, -s, reload]"
	if [ "${2:-host}" = host ]; then
		nginx -e "$1/error.log" -c "$1/nginx.conf" || { fail "nginx starts"; exit 1; }
		on_exit "kill \$(cat $1/nginx.pid)"
	fi
}

# nginx_policy FILE DIR [EXTRA_RELOAD]: the operator's policy that lets a Cluster name DIR/auriga.conf,
# NGINX_RELOAD (and EXTRA_RELOAD, one more reload command as a YAML flow list) and 127.0.0.1,
# written to FILE and exported as AURIGA_POLICY_FILE for every auriga command of the test.
nginx_policy() {
	cat >"$1" <<POLICY
router:
  configPath: [$2/auriga.conf]
  reloadCommand:
    - $NGINX_RELOAD${3:+
    - $3}
  listenAddress: [127.0.0.1]
POLICY
	export AURIGA_POLICY_FILE=$1
}

# nginx_servers FILE NAME: the servers of upstream NAME in the router file FILE as
# "address:port:weight" (backup servers "address:port:b"), sorted, space-separated (nothing while
# FILE or NAME is missing).
nginx_servers() {
	python3 - "$1" "$2" <<'PY'
import re, sys
try:
    text = open(sys.argv[1]).read()
except OSError:
    text = ""
m = re.search(r"upstream " + re.escape(sys.argv[2]) + r" \{(.*?)\}", text, re.S)
out = []
for line in (m.group(1).splitlines() if m else []):
    s = re.search(r"server ([0-9.]+):(\d+) (?:weight=(\d+)|(backup))", line)
    if s:
        out.append("%s:%s:%s" % (s.group(1), s.group(2), s.group(3) or "b"))
print(" ".join(sorted(out)))
PY
}

# nginx_upstream FILE NAME: nginx_servers of the servers on 127.0.0.1, as "port:weight" ("port:b").
nginx_upstream() {
	nginx_servers "$1" "$2" | xargs -n1 | sed -n 's/^127\.0\.0\.1://p' | LC_ALL=C sort | xargs
}

# nginx_version PORT: the version answering one transaction through NGINX on PORT (its
# X-Node-Version header).
nginx_version() {
	curl -s --max-time 5 -o /dev/null -D - -X POST "http://127.0.0.1:$1/api/v11/transactions" | tr -d '\r' |
		sed -n 's/^X-Node-Version: //Ip'
}

# errors_template NAME: an AnalysisTemplate of the new slot's error ratio (its transactions answered
# 5xx), scraped from its own containers every 2 s, twice, failing over 5 %.
errors_template() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: AnalysisTemplate
metadata: {name: $1}
spec:
  metrics:
    - name: error-rate
      interval: 2s
      count: 2
      failureLimit: 0
      failureCondition: {operator: ">", value: 0.05}
      provider:
        scrape:
          port: http
          path: /q/metrics
          metric: 'http_server_requests_total{uri="/api/v11/transactions",status=~"5.."} / http_server_requests_total{uri="/api/v11/transactions"}'
EOF
}
