#!/usr/bin/env bash
# `auriga run`'s settings at work: errors in the settings file named by file, line, column and
# setting (at start and on SIGHUP); docker-timeout as the deadline of the reconcile's Docker calls
# (against a daemon that never answers a list); credentials in the repo URL and the HTTPS token never
# in a log line, the API or the metrics; max-probes capping probe attempts in flight, with its log
# line and the error results in the metrics.
. "$(dirname "$0")/../lib.sh"

A=$AURIGA_BIN
T=$TEST_TMP
INST=it-settings-$$

# 1. The settings file's errors, as the command line prints them (exit 2, nothing started).
conf=$T/auriga.yml
conf_error() { # DESC TEXT EXPECTED-AFTER-FILE
	local out rc
	printf '%b' "$2" >"$conf"
	out=$("$A" run --check --config "$conf" "$TOP/specs" 2>&1)
	rc=$?
	expect_eq "$1: exit 2" 2 "$rc"
	expect_eq "$1: file, line, column and setting" "auriga run: $conf$3" "$out"
}
conf_error "a bad duration" 'listen: 127.0.0.1:1\n\n  # comment\npoll-interval: 5x\n' \
	":4:16: poll-interval: '5x' is not a duration (like 500ms, 30s, 5m, 1h)"
conf_error "a mapping where a string is wanted" 'repo:\n  url: https://example.com/x.git\n' \
	":2:3: repo: value must be a scalar or a list, got a mapping"
conf_error "a key set twice" 'branch: a\nbranch: b\n' ':2:1: duplicate key "branch" (first at line 1)'
conf_error "an unknown key" 'pol-interval: 5s\n' ":1:1: pol-interval: unknown setting"
conf_error "a list item that is a mapping" 'extra-labels:\n  - a=1\n  - {b: 2}\n' \
	":3:5: extra-labels: list items must be scalars, got a mapping"
conf_error "an alias bomb" 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n' \
	":5:33: document expands to more than the limit of 100000 nodes (alias expansion)"
printf 'poll-interval: 5s\n' >"$conf"
out=$(AURIGA_CONFIG=$conf "$A" run --check "$TOP/specs" 2>&1)
expect_match "a good file through AURIGA_CONFIG checks out" "^configuration OK" "$out"

# A Docker daemon that answers the version handshake and nothing else: every other call hangs.
SOCK=$T/docker.sock
cat >"$T/hung_dockerd.py" <<'PY'
import socket, sys, threading, time
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(64)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            return
        data += d
    line = data.split(b"\r\n", 1)[0]
    # One request per connection: the client does not reuse it.
    if b" /_ping " in line:
        c.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK")
    elif b" /version " in line:
        b = b'{"Version":"20.10.0","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}'
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(b), b))
    else:
        time.sleep(3600)
    c.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
python3 "$T/hung_dockerd.py" "$SOCK" >"$T/hung_dockerd.log" 2>&1 &
fpid=$!
on_exit "kill $fpid"
wait_for 15 test -S "$SOCK"

# 2. docker-timeout: the list the pass starts ends at that deadline, as libcurl says.
mkdir -p "$T/specs"
printf 'apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: dt%s}\nspec:\n  replicas: 1\n  template: {image: "auriga-demo-node:v1"}\n' \
	$$ >"$T/specs/dt.yaml"
printf 'docker-timeout: 3s\n' >"$conf"
port=$(free_port)
"$A" run --config "$conf" --docker-host "unix://$SOCK" --listen "127.0.0.1:$port" --state-dir "$T/st-dt" \
	--instance "$INST" --poll-interval 1s "$T/specs" >"$T/dt.log" 2>&1 &
dpid=$!
on_exit "kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null"
check "the pass's container list times out" wait_for 90 grep -q 'msg="observe failed"' "$T/dt.log"
line=$(grep -m1 'msg="observe failed"' "$T/dt.log")
expect_match "at the docker-timeout of the settings file (3 s), not the default 30 s" \
	"cannot list containers on unix://$SOCK: Operation timed out after [0-9]{1,4} milliseconds" "$line"
# SIGHUP with a broken file: refused with the position, the running settings kept.
printf 'docker-timeout: 3s\nmax-probes: [1]\n' >"$conf"
kill -HUP "$dpid"
check "a reload of a bad file is refused" wait_for 30 grep -q 'msg="configuration not reloaded"' "$T/dt.log"
expect_match "and the log names the file, line, column and setting" \
	"reload refused, settings unchanged: $conf:2:13: max-probes: a list is not allowed here" \
	"$(grep -m1 'configuration not reloaded' "$T/dt.log")"
kill -TERM "$dpid"
wait "$dpid"
expect_eq "the daemon stops with status 0" 0 "$?"

# 3. Credentials: the repo URL's password and the HTTPS token are never shown.
closed=$(free_port)
port=$(free_port)
AURIGA_HTTPS_TOKEN=tok-e5b7-never-shown "$A" run --docker-host "unix://$SOCK" --listen "127.0.0.1:$port" \
	--state-dir "$T/st-cred" --instance "$INST" --repo "https://deploy:pw-31c9-never-shown@127.0.0.1:$closed/specs.git" \
	--poll-interval 1s >"$T/cred.log" 2>&1 &
cpid=$!
on_exit "kill -TERM $cpid 2>/dev/null; wait $cpid 2>/dev/null"
check "the fetch fails and is logged" wait_for 60 grep -q 'msg="fetch failed"' "$T/cred.log"
check "the API answers" wait_for 30 curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$port/healthz"
seen=$(cat "$T/cred.log"; curl -s --max-time 5 "http://127.0.0.1:$port/api/v1/status"
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics")
expect_match "the log shows the URL with its credentials masked" \
	"url=https://\*\*\*@127.0.0.1:$closed/specs.git" "$(cat "$T/cred.log")"
expect_match "the start line too" "msg=started .*source=https://\*\*\*@127.0.0.1:$closed/specs.git" \
	"$(cat "$T/cred.log")"
expect_no_match "neither the URL's password nor the token in the log, the status or the metrics" \
	"pw-31c9|tok-e5b7" "$seen"
kill -TERM "$cpid"
wait "$cpid"
expect_eq "the daemon stops with status 0" 0 "$?"

# 4. max-probes 1 against a real container: when the startup probe passes, readiness and liveness
# fall due together and only one may run; the other waits its turn (logged, never an error result),
# both keep running, and the deployment becomes Healthy on its readiness.
DEP=mp$$
cat >"$T/specs/dt.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: $DEP}
spec:
  replicas: 1
  template:
    image: auriga-demo-node:v1
    ports: [{name: http, containerPort: 9003}]
  probes:
    startup: {httpGet: {path: /q/health/started, port: http}, periodSeconds: 1, failureThreshold: 30}
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1}
    liveness: {httpGet: {path: /q/health/live, port: http}, periodSeconds: 1}
EOF
port=$(free_port)
"$A" run --max-probes 1 --state-dir "$T/st-mp" --instance "$INST" --extra-labels "$TEST_LABEL" \
	--listen "127.0.0.1:$port" --poll-interval 1s "$T/specs" >"$T/mp.log" 2>&1 &
mpid=$!
on_exit "kill -TERM $mpid 2>/dev/null; wait $mpid 2>/dev/null"
phase() {
	curl -sf --max-time 5 "http://127.0.0.1:$port/api/v1/deployments/$DEP" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("phase", ""))' 2>/dev/null
}
is_healthy() { [ "$(phase)" = Healthy ]; }
check "the deployment becomes Healthy" wait_for 120 is_healthy
check "the cap is logged" wait_for 30 grep -q 'msg="probe cap reached' "$T/mp.log"
expect_match "with the setting's value" 'max-probes=1 .*probe=liveness' "$(grep -m1 'probe cap reached' "$T/mp.log")"
# count PROBE RESULT: auriga_probe_results_total of the deployment's PROBE with RESULT (0 when absent).
count() {
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics" |
		awk -v k="auriga_probe_results_total{deployment=\"$DEP\",probe=\"$1\",result=\"$2\"}" '$1 == k { n = $2 } END { print n + 0 }'
}
both_run() { [ "$(count readiness success)" -ge 3 ] && [ "$(count liveness success)" -ge 3 ]; }
check "readiness and liveness both keep running under the cap" wait_for 30 both_run
expect_match "the cap's log line counts the attempts that waited" 'waited=[1-9]' "$(grep -m1 'probe cap reached' "$T/mp.log")"
expect_eq "no attempt is an error result (none is refused)" "0 0" "$(count readiness error) $(count liveness error)"
kill -TERM "$mpid"
wait "$mpid"
expect_eq "the daemon stops with status 0" 0 "$?"

done_testing
