#!/usr/bin/env bash
# The daemon runs the BackupPolicies' schedules itself, against a real PostgreSQL (auriga-postgres:15):
# with spec.schedule and spec.drill.schedule every minute, `auriga run` makes a backup record and a
# drill record of its own within a bounded wait, and its next backup waits for the next minute's
# slot; they are served on /api/v1/backups, /api/v1/drills and in the metrics as `auriga backup
# run`'s are. A daemon killed with -9 in the middle of a backup and started again runs no second
# backup for the same slot: the backup its child finishes is recorded ok, and one whose process was
# killed too is recorded failed ("interrupted"), never lost. With backup-schedules off, no backup is
# taken while one is due. Backups before a rollout get retention too (the one retention no longer
# keeps pruned, its file gone from the volume) and the limit of every backup, backup-max-bytes.
#
# One minute boundary is waited for at most, and the kills are done while it comes: a policy never
# backed up is due at once, so the backups killed are those of policies added for it, whose next
# slot is half an hour away. Their Job waits for a gate the test opens (a table in the database), so
# a kill always lands in the middle of one, however loaded the host.
# run-tests: long
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

# A slot no run of this test reaches: the minute half an hour from now, every hour.
FAR="$(( ($(date -u +%-M) + 30) % 60 )) * * * *"
# put FILE: the document on stdin becomes $SPECS/FILE at once (the daemon never reads half of it).
put() { cat >"$SPECS/.$1" && mv "$SPECS/.$1" "$SPECS/$1"; }
# policy NAME SCHEDULE COMMAND [DRILL_SCHEDULE]: a BackupPolicy whose Job runs COMMAND (a YAML
# single-quoted string) with $PG on the test's network, into the volume dumps; with DRILL_SCHEDULE,
# drilled by restoring into a database of its own and counting the rows.
policy() {
	local drill=
	[ -n "${4:-}" ] && drill="  restore:
    job: restore-db
    database:
      image: $PG
      env: {POSTGRES_PASSWORD: pw, POSTGRES_DB: app}
  drill:
    schedule: \"$4\"
    verify: [check-rows]"
	put "$1.yaml" <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: $1}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, $3]
    env: {PGPASSWORD: pw}
    network: $NET
    activeDeadlineSeconds: 300
  target: {volume: dumps}
  schedule: "$2"
  retention: {hourly: 24, daily: 0, weekly: 0, monthly: 0}
$drill
EOF
}
DUMP='pg_dump -h db -U postgres app | gzip > /backup/$AURIGA_BACKUP_FILE'
# A dump that waits until the table go exists: the test opens that gate when it wants it done.
GATED="'until psql -h db -U postgres -d app -Atqc \"select 1 from go\" >/dev/null 2>&1; do sleep 0.5; done; $DUMP'"
# A record of a few bytes, to see that the daemon has looked at its schedules.
MARK="'echo mark > /backup/\$AURIGA_BACKUP_FILE'"
put jobs.yaml <<EOF
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
# The BackupPolicy db backed up and drilled every minute.
policy db "* * * * *" "'$DUMP'" "* * * * *"
listen_port
# daemon LOG [ARGS]: the daemon on the specs folder, this test's state and instance.
daemon() {
	run_start "$TEST_TMP/$1" --state-dir "$STATE" --instance "$INST" --policy-file "$POLICY" \
		--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s "${@:2}" "$SPECS"
}
# backups [POLICY] / drills [POLICY]: the records of POLICY (db by default), oldest first.
backups() { jq -c --arg p "${1:-db}" '[.backups[] | select(.policy == $p)]' "$STATE/backups.json" 2>/dev/null || echo '[]'; }
drills() { jq -c --arg p "${1:-db}" '[.drills[] | select(.policy == $p)]' "$STATE/drills.json" 2>/dev/null || echo '[]'; }
ok_backups() { backups | jq '[.[] | select(.status == "ok")] | length'; }
has_ok_backup() { [ "$(ok_backups)" -ge 1 ]; }
has_passed_drill() { [ "$(drills | jq '[.[] | select(.status == "passed")] | length')" -ge 1 ]; }
# started_pid LOG POLICY: the pid of the last scheduled backup of POLICY that LOG says was started.
started_pid() { sed -n "s/.*scheduled run started.*kind=backup.*policy=$2 .*pid=\"\{0,1\}\([0-9]*\).*/\1/p" "$TEST_TMP/$1" | tail -1; }
has_started() { [ -n "$(started_pid "$1" "$2")" ]; }
status_of() { backups "$1" | jq -r --arg f "$2" '[.[] | select(.file == $f)][0].status'; }
# await_failed: shows what the daemon's children said.
await_failed() { tail -n 20 "$STATE"/schedule-*.log 2>/dev/null | while read -r l; do diag "$l"; done; }

daemon run1.log
check "the daemon becomes ready" wait_for 60 run_is_ready
await "the daemon takes a backup of its own (spec.schedule)" 150 has_ok_backup
expect_match "the log names the scheduled runs" 'scheduled run started.*kind=backup.*policy=db' "$(cat "$RUN_LOG")"
first_slot=$(backups | jq '[.[] | select(.status == "ok")][0].timeMs / 60000 | floor')

# While db's next slot comes: the daemon is killed with -9 in the middle of a backup of policy slow1
# (its child with it), then started again.
policy slow1 "$FAR" "$GATED"
await "a backup of a policy added is under way at once (recorded running first)" 150 has_started run1.log slow1
running_file() { backups "$1" | jq -r '[.[] | select(.status == "running")][-1].file // empty'; }
await "its child records it running" 60 eval '[ -n "$(running_file slow1)" ]'
F1=$(running_file slow1)
child=$(started_pid run1.log slow1)
check "the daemon runs it in a child of its own" grep -qx "$child" <(ps -o pid= --ppid "$RUN_PID" | tr -d ' ')
kill -9 "$RUN_PID" "$child"
wait "$RUN_PID" 2>/dev/null
expect_eq "killed with its child, the backup is still recorded (running)" running "$(status_of slow1 "$F1")"
# The restarted daemon's first look at its schedules starts mark2 (never backed up): once mark2's
# backup is recorded, slow1 has been looked at too. A deployment new in its specs (ready 40 s after it
# starts) keeps its first apply from settling for that long: mark2 waits for it, the record of the
# killed run is closed all the same at the first look.
node_yaml slow 'env: {DEMO_START_DELAY_MS: "40000"}' | put slow.yaml
policy mark2 "$FAR" "$MARK"
daemon run2.log
check "the daemon becomes ready again" wait_for 60 run_is_ready
await "the interrupted backup is closed" 30 eval '[ "$(status_of slow1 "$F1")" != running ]'
expect_eq "recorded failed, as interrupted" "failed interrupted" \
	"$(backups slow1 | jq -r --arg f "$F1" '[.[] | select(.file == $f)][0] | .status + " " + (.message | split(":")[0])')"
await "the restarted daemon looks at its schedules" 120 eval '[ "$(backups mark2 | jq -r ".[0].status")" = ok ]'
expect_eq "no second backup for its slot" 1 "$(backups slow1 | jq 'length')"
expect_no_match "nor one started" 'scheduled run started.*policy=slow1 ' "$(cat "$RUN_LOG")"

# Killed alone this time (policy slow2): the child goes on and records its backup; the restarted
# daemon leaves its record alone while it runs, and adds none.
policy slow2 "$FAR" "$GATED"
await "the next slow backup is under way" 150 eval '[ -n "$(running_file slow2)" ]'
F2=$(running_file slow2)
kill -9 "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
policy mark3 "$FAR" "$MARK"
daemon run3.log
check "the daemon becomes ready a third time" wait_for 60 run_is_ready
await "the restarted daemon looks at its schedules" 120 eval '[ "$(backups mark3 | jq -r ".[0].status")" = ok ]'
expect_eq "the backup the killed daemon started is still running, recorded so" running "$(status_of slow2 "$F2")"
psql_in "$DB" -c "create table go ()" || fail "the gate opens"
await "the backup the killed daemon started is recorded ok" 180 eval '[ "$(status_of slow2 "$F2")" = ok ]'
expect_eq "no second backup for its slot" 1 "$(backups slow2 | jq 'length')"
expect_no_match "nor one started" 'scheduled run started.*policy=slow2 ' "$(cat "$RUN_LOG")"
expect_match "the checksum is recorded" '^[0-9a-f]{64}$' "$(backups slow2 | jq -r --arg f "$F2" '[.[] | select(.file == $f)][0].sha256')"

# db's next slot, by now come or coming: a backup then, not before, and the drill of a good one.
second_ok() { [ "$(ok_backups)" -ge 2 ]; }
await "the daemon backs db up again in the next minute's slot" 150 second_ok
expect_eq "not before that slot" "$((first_slot + 1))" \
	"$(backups | jq '[.[] | select(.status == "ok")][1].timeMs / 60000 | floor')"
await "and drills it (spec.drill.schedule)" 150 has_passed_drill
passed_file=$(drills | jq -r '[.[] | select(.status == "passed")][0].backup.file')
expect_match "the drill restored one of the daemon's backups" "^($(backups | jq -r '[.[] | select(.status == "ok") | .file] | join("|")'))\$" \
	"$passed_file"
api_has() { curl -sf --max-time 5 "$RUN_URL/api/v1/$1" | jq -e "$2" >/dev/null; }
check "/api/v1/backups serves the daemon's backup" api_has backups '[.backups[] | select(.policy == "db" and .status == "ok")] | length >= 2'
check "/api/v1/drills serves the daemon's drill" api_has drills '[.drills[] | select(.policy == "db" and .status == "passed")] | length >= 1'
newest=$(backups | jq '[.[] | select(.status == "ok") | .timeMs] | max / 1000 | floor')
await "the metric has the newest good backup" 30 metric_reaches \
	'auriga_backup_last_success_timestamp_seconds{policy="db"}' "$newest"
expect_eq "every record's start is in a slot of its own (one per minute)" \
	"$(backups | jq '[.[].timeMs / 60000 | floor] | unique | length')" "$(backups | jq 'length')"
run_stop "the daemon stops cleanly"

# backup-schedules off: the policy off, never backed up nor drilled, is due from the start, and the
# daemon takes no backup (nor drill) of it or of db. The runs the last daemon left to end on their
# own end first. The same daemon rolls out a deployment with a backup before each revision (policy
# pre, retention: one an hour), its dumps read back within backup-max-bytes (1 MiB here).
none_running() { [ "$(jq -s '[.[0].backups[], .[1].drills[] | select(.status == "running")] | length' \
	"$STATE/backups.json" "$STATE/drills.json")" = 0 ]; }
await "the runs left behind end" 180 none_running
policy off "* * * * *" "'$DUMP'" "* * * * *"
# pre BYTES WEB_ENV: the deployment web (its template's env WEB_ENV) and the policy pre backing it up
# before each revision, a dump of BYTES bytes (the policy first: the revision is never read with the
# policy it replaces).
pre() {
	put pre.yaml <<EOF
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
	node_yaml web "env: {V: \"$2\"}" | put web.yaml
}
pre 1000 1
# scheduled_runs KIND: how many backups or drills the records hold, pre's backups left out.
scheduled_runs() { jq "[.$1[] | select(.policy != \"pre\")] | length" "$STATE/$1.json"; }
n_backups=$(scheduled_runs backups)
n_drills=$(scheduled_runs drills)
daemon run4.log --backup-schedules=false --backup-max-bytes 1048576 --schedule-start-hold 0
check "the daemon with its schedules off becomes ready" wait_for 60 run_is_ready
ready_at=$(date +%s)
pres() { backups pre; }
pre_is() { [ "$(pres | jq -r ".[$1].status")" = "$2" ]; }
await "the backup before web's first revision is taken" 120 pre_is 0 ok

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
# With no hold (schedule-start-hold 0), schedules that were on would start off's run at their first
# look, within 5 s of the daemon's start: 15 s after it answered ready leaves room for a child to
# have recorded its start.
left=$((ready_at + 15 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
expect_eq "no backup was taken" "$n_backups" "$(scheduled_runs backups)"
expect_eq "no drill was run" "$n_drills" "$(scheduled_runs drills)"
expect_no_match "and no scheduled run started" 'scheduled run started' "$(cat "$RUN_LOG")"
run_stop "the daemon with its schedules off stops cleanly"
# Every child a daemon reaped ended by itself: none by a signal or a sanitizer's report (exit 86).
expect_eq "no scheduled run crashed" "" \
	"$(grep -hE 'scheduled run ended.*status="(signal [0-9]+|exit 86)"' "$TEST_TMP"/run*.log)"
done_testing
