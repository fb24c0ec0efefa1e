#!/usr/bin/env bash
# A daemon that follows a specs folder takes up a BackupPolicy added to it, or changed in it, while it
# runs (a change of a BackupPolicy alone is a change of the specs): the new policy, never backed up,
# is due at once and its backup is recorded without a restart of the daemon. Its Job runs on the
# network of a deployment of the specs, as the daemon names it (the instance before the name).
# The policy the daemon starts with is due at once too, but its run waits until the daemon's first apply
# has settled: its Job asks the deployment, which becomes ready only seconds after it starts, whether it
# is ready, and fails if not (a run at once would be recorded failed and wait for next year's slot).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"

PG=auriga-postgres:15
"$TOP/hack/build-postgres-image.sh" || { fail "the PostgreSQL image $PG builds"; exit 1; }
engine_instance reload
# policy NAME [NETWORK [PRE]]: a BackupPolicy whose Job writes a small dump after the shell command PRE
# succeeds, due once a year (never run: due at once), on NETWORK when given.
policy() {
	cat >"$SPECS/$1.yaml" <<EOF
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
recorded() { jq -e --arg p "$1" '[.backups[] | select(.policy == $p and .status == "ok")] | length >= 1' \
	"$STATE/backups.json" >/dev/null 2>&1; }
on_exit "docker volume rm -f $INST-dumps >/dev/null 2>&1"

need_images slow-start
node_yaml db "network: data" | sed 's/auriga-demo-node:v1/auriga-demo-node:slow-start/' >"$SPECS/db.yaml"
# The deployment db answers ready (5 s after it starts), as its alias on its network reaches it.
db_ready='exec 3<>/dev/tcp/db/9003 && printf "GET /q/health/ready HTTP/1.0\r\n\r\n" >&3 && head -n 1 <&3 | grep -q " 200 "'
policy first data "$db_ready"
listen_port
run_start "$TEST_TMP/run.log" --state-dir "$STATE" --instance "$INST" --listen "127.0.0.1:$RUN_PORT" \
	--poll-interval 1s "$SPECS"
check "the daemon becomes ready" wait_for 60 run_is_ready
await "the policy it started with is backed up, once its deployment is ready" 120 recorded first
failed_first() { jq -e '[.backups[] | select(.policy == "first" and .status != "ok")] | length == 0' \
	"$STATE/backups.json" >/dev/null; }
check "no run of it was made before the fleet's first apply settled (none failed)" failed_first
check "the daemon logged that its schedules waited for the first apply" \
	grep -q "scheduled runs wait until the fleet's first apply settles" "$TEST_TMP/run.log"
net_of_db() { docker network inspect "$INST-data" >/dev/null 2>&1; }
await "the deployment's network is made, named after the instance" 120 net_of_db
policy second data
await "a policy added to the folder is taken up and backed up on the deployment's network, with no restart" 120 recorded second
check "the daemon started first still runs" kill -0 "$RUN_PID"
run_stop "the daemon stops cleanly"
done_testing
