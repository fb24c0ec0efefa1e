#!/usr/bin/env bash
# `auriga run` heals the fleet: a container removed by hand comes back, one stopped by hand is
# started, one replaced by hand with another image is replaced again; a change of the specs rolls
# out without a restart; SIGHUP reloads the settings file (the log turns to JSON at once); SIGTERM
# stops cleanly.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/fleet-lib.bash"

mkdir -p "$FLEET_SPECS"
demo_deployment web business 3 auriga-demo-node:v1 60 '    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 1}' >"$FLEET_SPECS/web.yaml"

SETTINGS=$TEST_TMP/auriga.yaml
echo "log-format: logfmt" >"$SETTINGS"
"$AURIGA_BIN" run --config "$SETTINGS" --instance "$FLEET_INSTANCE" --state-dir "$FLEET_STATE" \
	--extra-labels "$TEST_LABEL" --listen 127.0.0.1:0 --poll-interval 1s "$FLEET_SPECS" >"$TEST_TMP/run.log" 2>&1 &
pid=$!
on_exit "kill -9 $pid"

running() { [ "$(docker ps -q --filter "label=auriga.io/managed-by=$FLEET_INSTANCE" --filter "label=auriga.io/deployment=web" | wc -l)" = "$1" ]; }
on_image() { [ "$(fleet_running_count web "$1")" = 3 ] && [ "$(fleet_count)" = 3 ]; }
check "the daemon brings up 3 replicas" wait_for 60 running 3

name1=$(fleet_ps '{{.Names}} {{.Label "auriga.io/ordinal"}}' | awk '$2 == 1 {print $1}')
docker rm -f "$name1" >/dev/null
check "a container removed by hand comes back" wait_for 30 on_image auriga-demo-node:v1

name2=$(fleet_ps '{{.Names}} {{.Label "auriga.io/ordinal"}}' | awk '$2 == 2 {print $1}')
docker stop -t 1 "$name2" >/dev/null
check "a container stopped by hand is started again" wait_for 30 running 3

rev=$(fleet_ps '{{.Label "auriga.io/revision"}}' | sort -u)
name0=$(fleet_ps '{{.Names}} {{.Label "auriga.io/ordinal"}}' | awk '$2 == 0 {print $1}')
docker rm -f "$name0" >/dev/null
docker run -d --name "$name0" --label "$TEST_LABEL" --label "auriga.io/managed-by=$FLEET_INSTANCE" \
	--label auriga.io/deployment=web --label "auriga.io/revision=$rev" --label auriga.io/ordinal=0 \
	auriga-demo-node:v3 >/dev/null
check "a container changed by hand (another image) is replaced" wait_for 40 on_image auriga-demo-node:v1

echo "log-format: json" >"$SETTINGS"
kill -HUP "$pid"
json_reloaded() { grep -q '^{.*"msg":"configuration reloaded"' "$TEST_TMP/run.log"; }
check "SIGHUP reloads the settings file: the log is JSON from the reload on" wait_for 10 json_reloaded
check "SIGHUP does not stop the daemon" kill -0 "$pid"

sed -i 's|image: auriga-demo-node:v1|image: auriga-demo-node:v2|' "$FLEET_SPECS/web.yaml"
check "a change of the specs rolls out" wait_for 90 on_image auriga-demo-node:v2

kill -TERM "$pid"
stopped() { ! kill -0 "$pid" 2>/dev/null; }
check "SIGTERM stops the daemon" wait_for 20 stopped
wait "$pid"
expect_eq "and it exits 0" 0 $?
expect_eq "the fleet stays as it was" 3 "$(fleet_running_count web auriga-demo-node:v2)"
check "the rollout after the reload logged in JSON too" grep -q '^{.*"msg":"stopping between steps"' "$TEST_TMP/run.log"

done_testing
