#!/usr/bin/env bash
# A daemon that follows a specs folder takes up a BackupPolicy added to it, or changed in it, while it
# runs (a change of a BackupPolicy alone is a change of the specs): the new policy, never backed up,
# is due at once and its backup is recorded without a restart of the daemon. Its Job runs on the
# network of a deployment of the specs, as the daemon names it (the instance before the name).
# A policy new in the commit applied (every policy when the daemon starts) is due at once, but its run
# waits until that commit has settled: its Job asks a deployment of the same change, on a network of
# the same change, which becomes ready only seconds after it starts, whether it is ready, and fails if
# not (a run at once would be recorded failed and wait for next year's slot). The wait is bounded by
# schedule-start-hold (30 s here): a policy added with a deployment that never becomes ready runs once
# that time has passed, and the daemon says so.
# run-tests: long
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

PG=auriga-postgres:15
"$TOP/hack/build-postgres-image.sh" || { fail "the PostgreSQL image $PG builds"; exit 1; }
engine_instance reload
# policy NAME [NETWORK [PRE]]: a BackupPolicy whose Job writes a small dump after the shell command PRE
# succeeds, due once a year (never run: due at once), on NETWORK when given.
policy() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: $1}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, '${3:-true} && echo $1 | gzip > /backup/\$AURIGA_BACKUP_FILE']
    activeDeadlineSeconds: 120${2:+
    network: $2}
  target: {volume: $INST-dumps}
  schedule: "0 0 1 1 *"
EOF
}
# put FILE: the documents on stdin become $SPECS/FILE at once (the daemon never reads half of them).
put() { cat >"$SPECS/.$1" && mv "$SPECS/.$1" "$SPECS/$1"; }
recorded() { jq -e --arg p "$1" '[.backups[] | select(.policy == $p and .status == "ok")] | length >= 1' \
	"$STATE/backups.json" >/dev/null 2>&1; }
# none_failed POLICY: no run of POLICY was recorded other than ok.
none_failed() { jq -e --arg p "$1" '[.backups[] | select(.policy == $p and .status != "ok")] | length == 0' \
	"$STATE/backups.json" >/dev/null; }
# line_of REGEX: the number of the first line of the daemon's log that matches, or 0.
line_of() { grep -n -m1 -e "$1" "$TEST_TMP/run.log" | cut -d: -f1 | grep . || echo 0; }
on_exit "docker volume rm -f $INST-dumps >/dev/null 2>&1"

need_images slow-start never-ready
# ready_cmd NAME: a shell command that succeeds when deployment NAME answers ready (5 s after it
# starts), as its alias on its network reaches it.
ready_cmd() { echo "exec 3<>/dev/tcp/$1/9003 && printf \"GET /q/health/ready HTTP/1.0\r\n\r\n\" >&3 && head -n 1 <&3 | grep -q \" 200 \""; }
node_yaml db "network: data" auriga-demo-node:slow-start | put db.yaml
policy first data "$(ready_cmd db)" | put first.yaml
listen_port
run_start "$TEST_TMP/run.log" --state-dir "$STATE" --instance "$INST" --listen "127.0.0.1:$RUN_PORT" \
	--poll-interval 1s --schedule-start-hold 30s "$SPECS"
check "the daemon becomes ready" wait_for 60 run_is_ready
await "the policy it started with is backed up, once its deployment is ready" 120 recorded first
check "no run of it was made before the fleet's first apply settled (none failed)" none_failed first
check "the daemon logged that the policy's runs waited for the commit to settle" \
	test "$(line_of 'scheduled runs wait until the commit applied settles.*policy="\{0,1\}first')" -gt 0
net_of_db() { docker network inspect "$INST-data" >/dev/null 2>&1; }
await "the deployment's network is made, named after the instance" 120 net_of_db

# A slow deployment on a network of its own and a policy asking it, in one change.
{ node_yaml db2 "network: data2" auriga-demo-node:slow-start; echo ---; policy second data2 "$(ready_cmd db2)"; } |
	put second.yaml
await "a policy added with a deployment is taken up and backed up on its new network, with no restart" 120 \
	recorded second
check "no run of it was made before the change settled (none failed)" none_failed second
check "the daemon started first still runs" kill -0 "$RUN_PID"

# A deployment that never becomes ready and a policy, in one change: the run starts once
# schedule-start-hold has passed, and the daemon says why.
{ node_yaml stuck "" auriga-demo-node:never-ready; echo ---; policy third; } | put third.yaml
await "a policy whose change never settles is backed up once the hold has passed" 120 recorded third
warned=$(line_of 'level=warn.*scheduled runs start: the commit applied did not settle in time.*policy="\{0,1\}third')
check "the daemon warned that the change did not settle in time" test "$warned" -gt 0
check "and started the run after that" test "$warned" -gt 0 -a "$(line_of 'scheduled run started.*policy="\{0,1\}third')" -gt "$warned"
run_stop "the daemon stops cleanly"
done_testing
