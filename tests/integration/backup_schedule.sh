#!/usr/bin/env bash
# The daemon runs the BackupPolicies' schedules itself, against a real PostgreSQL (auriga-postgres:15):
# with spec.schedule and spec.drill.schedule every minute, `auriga run` makes a backup record and a
# drill record of its own within a bounded wait, served on /api/v1/backups, /api/v1/drills and in the
# metrics as `auriga backup run`'s are. A daemon killed with -9 in the middle of a backup and started
# again runs no second backup for the same slot: the backup its child finishes is recorded ok, and one
# whose process was killed too is recorded failed ("interrupted"), never lost. With backup-schedules
# off, no backup is taken once a slot has passed. Backups before a rollout get retention too (the
# one retention no longer keeps pruned, its file gone from the volume) and the limit of every backup,
# backup-max-bytes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/../pg-lib.bash"

need_images v1
pg_image
engine_instance sched
pg_network "$INST-net"
DB=$INST-db
pg_start "$DB" db || { fail "PostgreSQL starts"; exit 1; }
check "PostgreSQL answers" wait_for 120 pg_up "$DB"
pg_seed "$DB" 500

# specs SLOW: the BackupPolicy db backed up and drilled every minute; its Job sleeps SLOW seconds
# before pg_dump, so that a test can stop the daemon in the middle of one.
specs() {
	cat >"$SPECS/backup.yaml" <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: db}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, 'sleep $1; pg_dump -h db -U postgres app | gzip > /backup/\$AURIGA_BACKUP_FILE']
    env: {PGPASSWORD: pw}
    network: $NET
    activeDeadlineSeconds: 300
  target: {volume: dumps}
  schedule: "* * * * *"
  retention: {hourly: 24, daily: 0, weekly: 0, monthly: 0}
  restore:
    job: restore-db
    database:
      image: $PG
      env: {POSTGRES_PASSWORD: pw, POSTGRES_DB: app}
  drill:
    schedule: "* * * * *"
    verify: [check-rows]
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: restore-db}
spec:
  activeDeadlineSeconds: 300
  template:
    image: $PG
    command: [bash, -o, pipefail, -c, 'until pg_isready -q -h "\$AURIGA_RESTORE_HOST" -U postgres -d app; do sleep 1; done; gunzip < "/backup/\$AURIGA_BACKUP_FILE" | psql -h "\$AURIGA_RESTORE_HOST" -U postgres -d app -v ON_ERROR_STOP=1 -q >/dev/null']
    env: {PGPASSWORD: pw}
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: check-rows}
spec:
  activeDeadlineSeconds: 120
  template:
    image: $PG
    command: [bash, -c, '[ "\$(psql -h "\$AURIGA_RESTORE_HOST" -U postgres -d app -Atc "select count(*) from tx")" = 500 ]']
    env: {PGPASSWORD: pw}
EOF
}
specs 0
listen_port
# daemon LOG [ARGS]: the daemon on the specs folder, this test's state and instance.
daemon() {
	run_start "$TEST_TMP/$1" --state-dir "$STATE" --instance "$INST" --policy-file "$POLICY" \
		--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s "${@:2}" "$SPECS"
}
backups() { jq -c '[.backups[] | select(.policy == "db")]' "$STATE/backups.json" 2>/dev/null || echo '[]'; }
drills() { jq -c '[.drills[] | select(.policy == "db")]' "$STATE/drills.json" 2>/dev/null || echo '[]'; }
has_ok_backup() { [ "$(backups | jq '[.[] | select(.status == "ok")] | length')" -ge 1 ]; }
has_passed_drill() { [ "$(drills | jq '[.[] | select(.status == "passed")] | length')" -ge 1 ]; }

daemon run1.log
check "the daemon becomes ready" wait_for 60 run_is_ready
await "the daemon takes a backup of its own (spec.schedule)" 150 has_ok_backup
await "and drills it (spec.drill.schedule)" 240 has_passed_drill
expect_match "the log names the scheduled runs" 'scheduled run started.*kind=backup.*policy=db' "$(cat "$RUN_LOG")"
expect_match "the drill restored the daemon's backup" "$(backups | jq -r '[.[] | select(.status == "ok")][0].file')" \
	"$(drills | jq -r '[.[] | select(.status == "passed")][].backup.file')"
api_has() { curl -sf --max-time 5 "$RUN_URL/api/v1/$1" | jq -e "$2" >/dev/null; }
check "/api/v1/backups serves the daemon's backup" api_has backups '[.backups[] | select(.status == "ok")] | length >= 1'
check "/api/v1/drills serves the daemon's drill" api_has drills '[.drills[] | select(.status == "passed")] | length >= 1'
newest=$(backups | jq '[.[] | select(.status == "ok") | .timeMs] | max / 1000 | floor')
await "the metric has the newest good backup" 30 metric_reaches \
	'auriga_backup_last_success_timestamp_seconds{policy="db"}' "$newest"
expect_eq "every record's start is in a slot of its own (one per minute)" \
	"$(backups | jq '[.[].timeMs / 60000 | floor] | unique | length')" "$(backups | jq 'length')"

# A slow backup: the daemon is killed with -9 in the middle of it (its child with it), then started again.
specs 40
n_before=$(backups | jq 'length')
running_file() { backups | jq -r '[.[] | select(.status == "running")][-1].file // empty'; }
has_running() { [ -n "$(running_file)" ] && [ "$(backups | jq 'length')" -gt "$n_before" ]; }
# await_failed: shows what the daemon's children said.
await_failed() { tail -n 20 "$STATE"/schedule-*.log 2>/dev/null | while read -r l; do diag "$l"; done; }
await "a slow backup is under way (recorded running first)" 150 has_running
F1=$(running_file)
children=$(ps -o pid= --ppid "$RUN_PID" | tr -d ' ')
check "the daemon runs it in a child of its own" [ -n "$children" ]
kill -9 "$RUN_PID" $children
wait "$RUN_PID" 2>/dev/null
status_of() { backups | jq -r --arg f "$1" '[.[] | select(.file == $f)][0].status'; }
expect_eq "killed with its child, the backup is still recorded (running)" running "$(status_of "$F1")"
daemon run2.log
check "the daemon becomes ready again" wait_for 60 run_is_ready
settled() { [ "$(status_of "$1")" != running ]; }
await "the interrupted backup is closed" 30 settled "$F1"
expect_eq "recorded failed, as interrupted" "failed interrupted" \
	"$(backups | jq -r --arg f "$F1" '[.[] | select(.file == $f)][0] | .status + " " + (.message | split(":")[0])')"
slot_count() { backups | jq --arg f "$1" '([.[] | select(.file == $f)][0].timeMs / 60000 | floor) as $s | [.[] | select((.timeMs / 60000 | floor) == $s)] | length'; }
expect_eq "no second backup for its slot" 1 "$(slot_count "$F1")"

# Killed alone this time: the child goes on and records its backup; the restarted daemon adds none.
n_before=$(backups | jq 'length')
await "the next slow backup is under way" 150 has_running
F2=$(running_file)
kill -9 "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
daemon run3.log
check "the daemon becomes ready a third time" wait_for 60 run_is_ready
await "the backup the killed daemon started is recorded ok" 180 eval '[ "$(status_of "$F2")" = ok ]'
expect_eq "no second backup for its slot" 1 "$(slot_count "$F2")"
expect_match "the checksum is recorded" '^[0-9a-f]{64}$' "$(backups | jq -r --arg f "$F2" '[.[] | select(.file == $f)][0].sha256')"
run_stop "the daemon stops cleanly"

# backup-schedules off: a slot passes and the daemon takes no backup (nor drill). The runs the last
# daemon left to end on their own end first. The same daemon rolls out a deployment with a backup
# before each revision (policy pre, retention: one an hour), its dumps read back within
# backup-max-bytes (1 MiB here).
specs 0
none_running() { [ "$(backups | jq '[.[] | select(.status == "running")] | length')$(drills | jq '[.[] | select(.status == "running")] | length')" = 00 ]; }
await "the runs left behind end" 180 none_running
# pre BYTES WEB_ENV: the deployment web (its template's env WEB_ENV) and the policy pre backing it up
# before each revision, a dump of BYTES bytes.
pre() {
	node_yaml web "env: {V: \"$2\"}" >"$SPECS/web.yaml"
	cat >"$SPECS/pre.yaml" <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: pre}
spec:
  job:
    image: $PG
    command: [sh, -c, 'head -c $1 /dev/zero > /backup/\$AURIGA_BACKUP_FILE']
  target: {volume: pre-dumps}
  before: [web]
  retention: {hourly: 1, daily: 0, weekly: 0, monthly: 0}
EOF
}
pre 1000 1
n_backups=$(backups | jq 'length')
n_drills=$(drills | jq 'length')
daemon run4.log --backup-schedules=false --backup-max-bytes 1048576
check "the daemon with its schedules off becomes ready" wait_for 60 run_is_ready
pres() { jq -c '[.backups[] | select(.policy == "pre")]' "$STATE/backups.json" 2>/dev/null || echo '[]'; }
pre_is() { [ "$(pres | jq -r ".[$1].status")" = "$2" ]; }
await "the backup before web's first revision is taken" 120 pre_is 0 ok
# Past the next minute's slot, with room for a child to have recorded its start.
sleep $((60 - $(date +%s) % 60 + 15))
expect_eq "no backup was taken" "$n_backups" "$(backups | jq 'length')"
expect_eq "no drill was run" "$n_drills" "$(drills | jq 'length')"
expect_no_match "and no scheduled run started" 'scheduled run started' "$(cat "$RUN_LOG")"

# A second revision: its backup is taken, and retention (one an hour) prunes the first, file and record.
pre 1000 2
await "the backup before web's second revision is taken" 120 pre_is 1 ok
await "retention prunes the first (its record)" 60 pre_is 0 pruned
PVOL=$(pres | jq -r '.[1].target' | sed -n 's/^volume //p')
expect_eq "only the second dump is left on the volume" "$(pres | jq -r '.[1].file')" \
	"$(docker run --rm --label "$TEST_LABEL" -v "$PVOL:/backup" "$PG" ls /backup 2>&1)"
# A third whose dump (2 MB) is past backup-max-bytes: recorded failed, the revision not rolled out.
pre 2000000 3
await "the backup before web's third revision ends" 120 eval '[ "$(pres | jq -r ".[2].status")" = failed ]'
expect_match "failed for its size, past backup-max-bytes" 'cannot be read back' "$(pres | jq -r '.[2].message')"
run_stop "the daemon with its schedules off stops cleanly"
# Every child a daemon reaped ended by itself: none by a signal or a sanitizer's report (exit 86).
expect_eq "no scheduled run crashed" "" \
	"$(grep -hE 'scheduled run ended.*status="(signal [0-9]+|exit 86)"' "$TEST_TMP"/run*.log)"
done_testing
