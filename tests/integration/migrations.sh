#!/usr/bin/env bash
# Backups before rollouts and migrations with their undo, against a real PostgreSQL (auriga-postgres:15)
# on a network this test makes. A BackupPolicy's spec.before names the deployment app: a rollout
# whose backup fails touches no container (Docker's events prove it) and its note names the policy
# with pg_dump's words; one whose backup succeeds records a dump that restores to the same row count
# and checksum. app declares its schema version (template.schemaVersion); its migration is a preDeploy
# Job and its undo an onRollback Job, both told AURIGA_SCHEMA_FROM and _TO. A release whose migration
# succeeds but whose nodes never become ready is rolled back, the undo runs, and the schema is back at
# the old version (the history table) with no row lost. kill -9 of the controller during the backup
# and during the migration: each runs again and completes exactly once. Bad input (a schema version
# that is not one, a before naming no Deployment) is refused at its line, nothing touched.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/../pg-lib.bash"

need_images v1 never-ready
pg_image
engine_instance migr
pg_network "$INST-net"
DB=$INST-db
DB2=$INST-db2
REPO=$TEST_TMP/repo

pg_start "$DB" db || { fail "PostgreSQL starts"; exit 1; }
check "PostgreSQL answers" wait_for 60 pg_up "$DB"
# Schema version 1: the rows, and the history table the migrations keep.
pg_seed "$DB" 3000
psql_in "$DB" -c "create table schema_history (version int primary key, applied_at timestamptz not null default now());
	insert into schema_history (version) values (1);" || { fail "the history table"; exit 1; }
VERSION="select max(version) from schema_history"
HAS_MEMO="select count(*) from information_schema.columns where table_name = 'tx' and column_name = 'memo'"

# The BackupPolicy pgdump: pg_dump | gzip before every new revision of app and of later, once the
# table DUMP_GATE exists (at once when not given: the test opens a gate when it wants the dump
# done); later has no preDeploy hook, so its backup alone stands before its rollout.
backup_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: pgdump}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, 'until [ -z "\$DUMP_GATE" ] || psql -h db -U postgres -d app -Atqc "select 1 from \$DUMP_GATE" >/dev/null 2>&1; do sleep 0.5; done; pg_dump -h db -U postgres app | gzip > /backup/\$AURIGA_BACKUP_FILE']
    env: {PGPASSWORD: $1, DUMP_GATE: "${2:-}"}
    network: $NET
  target: {volume: dumps}
  before: [${3:-app, later}]
EOF
}
# migration_job NAME [GATE]: the migration tool (psql and the history table) as a Job: it moves the
# schema from what the history says to AURIGA_SCHEMA_TO, up or down, once the table GATE exists.
migration_job() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Job
metadata: {name: $1}
spec:
  activeDeadlineSeconds: 120
  template:
    image: $PG
    env: {PGPASSWORD: pw, GATE: "${2:-}"}
    command:
      - bash
      - -euc
      - |
        q() { psql -h db -U postgres -d app -v ON_ERROR_STOP=1 -Atq "\$@"; }
        have=\$(q -c "select max(version) from schema_history")
        to=\$AURIGA_SCHEMA_TO
        echo "schema at \$have, from \$AURIGA_SCHEMA_FROM to \$to"
        until [ -z "\$GATE" ] || q -c "select 1 from \$GATE" >/dev/null 2>&1; do sleep 0.5; done
        while [ "\$have" -lt "\$to" ]; do
          case \$((have + 1)) in
          2) q -c "begin; alter table tx add column memo text; insert into schema_history (version) values (2); commit" ;;
          *) echo "no migration to \$((have + 1))"; exit 1 ;;
          esac
          have=\$((have + 1)); echo "migrated to \$have"
        done
        while [ "\$have" -gt "\$to" ]; do
          case \$have in
          2) q -c "begin; alter table tx drop column memo; delete from schema_history where version = 2; commit" ;;
          *) echo "no undo of \$have"; exit 1 ;;
          esac
          have=\$((have - 1)); echo "undone to \$have"
        done
EOF
}
# app IMAGE VERSION: one demo node on the test's network needing schema VERSION, migrated before and
# undone after (phase 0), ready within APP_DEADLINE seconds (30 by default); later, a demo node of
# the next phase.
app_yaml() {
	cat <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: later}
spec:
  phase: 1
  replicas: 1
  template: {image: auriga-demo-node:v1, network: $NET}
---
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: app}
spec:
  phase: 0
  replicas: 1
  progressDeadlineSeconds: ${APP_DEADLINE:-30}
  template:
    image: $1
    network: $NET
    schemaVersion: "$2"
    ports: [{name: http, containerPort: 9003}]
  probes:
    readiness: {httpGet: {path: /q/health/ready, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
  hooks:
    preDeploy: [migrate]
    onRollback: [migrate-undo]
EOF
}
# specs PASSWORD DUMP_GATE MIGRATE_GATE DIR IMAGE VERSION: the three files in DIR (a gate "": none).
specs() {
	backup_yaml "$1" "$2" >"$4/backup.yaml"
	{ migration_job migrate "$3"; echo ---; migration_job migrate-undo; } >"$4/jobs.yaml"
	app_yaml "$5" "$6" >"$4/app.yaml"
}
run() { auriga_cmd "$@" --policy-file "$POLICY"; }
apply() { run apply --timeout-total "${2:-120}" --repo "$REPO/specs.git" --branch main >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"; }
records() { "$AURIGA_BIN" backup list --json --state-dir "$STATE" | jq -c '.backups'; }
# events SINCE: "ACTION NAME" of this run's containers since SINCE.
events() { events_since "$1" | awk -F'|' '{print $2 " " $3}'; }
creates() { events "$1" | grep -c "^create $INST-$2\$"; }
image_of() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=${1:-app}" \
		--format '{{.Image}}' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
events_start

# (1) A before-backup that fails (a wrong password): no container but the backup's is touched.
specs wrong "" "" "$SPECS" auriga-demo-node:v1 1
"$TOP/hack/demo-repo.sh" "$REPO" "$SPECS" >/dev/null
c1=$(git -C "$REPO/work" rev-parse HEAD)
plan=$(run plan --repo "$REPO/specs.git" --branch main 2>&1)
expect_match "auriga plan names the backup taken first" "backup 'pgdump' \(BackupPolicy spec.before\) is taken first" "$plan"
expect_eq "auriga plan --json lists it" '["pgdump"]' \
	"$(run plan --json --repo "$REPO/specs.git" --branch main 2>/dev/null |
		jq -c '.phases[].deployments[] | select(.name == "app") | .backupsBefore')"
t1=$(date +%s.%N)
apply a1 60
check "the apply fails" test "$?" -ne 0
ev=$(events "$t1")
expect_eq "the backup ran once" 1 "$(creates "$t1" app-backup-pgdump)"
expect_eq "no container event but the backup's" "" "$(echo "$ev" | grep -v " $INST-app-backup-pgdump\$")"
expect_eq "no container of app exists" "" "$(image_of)"
expect_eq "nor of the later phase" "" "$(image_of later)"
note=$(note_in "$REPO/work" "$c1")
expect_match "the note names the policy" "backup 'pgdump' before the rollout failed" "$note"
expect_match "with pg_dump's own words" "password authentication failed" "$note"
expect_eq "the failed backup is recorded as failed" failed "$(records | jq -r '.[-1].status')"
expect_eq "the schema is untouched" 1 "$(psql_in "$DB" -c "$VERSION")"

# (2) The password put right and the dump held at a gate: kill -9 mid-backup, then the backup runs
# again (the gate opened once it has) and completes once, the migration (to version 1, already there)
# runs once, app runs v1.
specs pw dump_go "" "$REPO/work" auriga-demo-node:v1 1
c2=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "the right password")
t2=$(date +%s.%N)
auriga_bg "$TEST_TMP/a2.out" "$TEST_TMP/a2.err" apply --timeout-total 120 --policy-file "$POLICY" \
	--repo "$REPO/specs.git" --branch main
pid=$AURIGA_PID
on_exit "kill -KILL $pid 2>/dev/null"
running() { [ -n "$(docker ps -q --filter "label=$TEST_LABEL" --filter "name=^$INST-app-$1\$")" ]; }
check "the backup starts" wait_for 60 running backup-pgdump
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "its container outlives the killed controller" running backup-pgdump
expect_eq "no container of app yet" "" "$(image_of)"
apply a3 &
a3=$!
await "the next apply runs the backup again" 60 eval '[ "$(creates "$t2" app-backup-pgdump)" -ge 2 ]'
psql_in "$DB" -c "create table dump_go ()" || fail "the dump's gate opens"
wait "$a3"
expect_eq "the next apply converges" 0 "$?"
expect_eq "app runs v1" "auriga-demo-node:v1" "$(image_of)"
expect_eq "and the later phase" "auriga-demo-node:v1" "$(image_of later)"
expect_eq "the interrupted backup ran again: two containers in all" 2 "$(creates "$t2" app-backup-pgdump)"
# Retention (24 hourly by default) keeps the newest of an hour: the first of the two may be pruned.
expect_eq "two good backups recorded for the commit (app's, then later's), kept or pruned by retention" 2 \
	"$(records | jq --arg c "$c2" '[.[] | select(.commit == $c and (.status == "ok" or .status == "pruned"))] | length')"
expect_eq "the migration ran once" 1 "$(creates "$t2" app-predeploy-migrate)"
ev=$(events "$t2")
first_app=$(echo "$ev" | grep -n "^create $INST-app-0" | head -1 | cut -d: -f1)
last_backup=$(echo "$ev" | grep -n "^destroy $INST-app-backup-pgdump\$" | tail -1 | cut -d: -f1)
check "the backup ended before app's first container was made" test "${last_backup:-999}" -lt "${first_app:-0}"
first_later=$(echo "$ev" | grep -n "^create $INST-later-0" | head -1 | cut -d: -f1)
later_backup=$(echo "$ev" | grep -n "^destroy $INST-later-backup-pgdump\$" | tail -1 | cut -d: -f1)
check "later's backup (no preDeploy hook behind it) ended before its first container was made" \
	test "${later_backup:-999}" -lt "${first_later:-0}"
expect_match "the migration was told the versions" "schema at 1, from  to 1" \
	"$(grep 'preDeploy hook completed' "$TEST_TMP/a3.err")"

# The dump restores into a second PostgreSQL with the same rows.
FILE=$(records | jq -r --arg c "$c2" '[.[] | select(.commit == $c and .status == "ok")][0].file')
VOL=$(records | jq -r --arg c "$c2" '[.[] | select(.commit == $c and .status == "ok")][0].target' | sed -n 's/^volume //p')
expect_eq "the target volume is the instance's, with the extra labels" "$INST $TEST_RUN_ID" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}} {{index .Labels "auriga.test.run"}}' "$VOL")"
READER=$(docker create --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" true)
docker cp "$READER:/backup/$FILE" "$TEST_TMP/dump.gz" 2>/dev/null
docker rm -v "$READER" >/dev/null
expect_eq "the recorded sha256 is the dump's" "$(sha256sum "$TEST_TMP/dump.gz" | cut -d' ' -f1)" \
	"$(records | jq -r --arg f "$FILE" '.[] | select(.file == $f) | .sha256')"
pg_start "$DB2" || fail "the second PostgreSQL starts"
check "the second PostgreSQL answers" wait_for 60 pg_up "$DB2"
gzip -dc "$TEST_TMP/dump.gz" | psql_in "$DB2" >/dev/null
expect_eq "the restore has the same row count" "$want_rows" "$(psql_in "$DB2" -c "$ROWS")"
expect_eq "the restore has the same checksum of the rows" "$want_sum" "$(psql_in "$DB2" -c "$SUM")"
t3=$(date +%s.%N)
apply a4
expect_eq "an apply of the same commit converges" 0 "$?"
expect_eq "and takes no backup again" "0 0" "$(creates "$t3" app-backup-pgdump) $(creates "$t3" later-backup-pgdump)"

# (3) v2 needs schema 2, its migration held at a gate: kill -9 mid-migration; the migration runs again
# (the gate opened once it has) and completes once; v2 never becomes ready, so app is rolled back and
# the undo returns the schema to 1. It never becomes ready, however long it is given: a short
# deadline costs no check.
APP_DEADLINE=8 specs pw "" migrate_go "$REPO/work" auriga-demo-node:never-ready 2
c4=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "v2 needs schema 2")
t4=$(date +%s.%N)
auriga_bg "$TEST_TMP/a5.out" "$TEST_TMP/a5.err" apply --timeout-total 120 --policy-file "$POLICY" \
	--repo "$REPO/specs.git" --branch main
pid=$AURIGA_PID
on_exit "kill -KILL $pid 2>/dev/null"
check "the migration starts" wait_for 90 running predeploy-migrate
kill -KILL "$pid"
wait "$pid" 2>/dev/null
expect_eq "app still runs v1" "auriga-demo-node:v1" "$(image_of)"
apply a6 150 &
a6=$!
await "the next apply runs the migration again" 60 eval '[ "$(creates "$t4" app-predeploy-migrate)" -ge 2 ]'
psql_in "$DB" -c "create table migrate_go ()" || fail "the migration's gate opens"
wait "$a6"
check "the release is rolled back (the apply fails)" test "$?" -ne 0
expect_eq "app runs v1 again" "auriga-demo-node:v1" "$(image_of)"
expect_eq "one backup before v2" 1 "$(creates "$t4" app-backup-pgdump)"
expect_eq "none before later, unchanged" 0 "$(creates "$t4" later-backup-pgdump)"
expect_eq "the interrupted migration ran again: two containers in all" 2 "$(creates "$t4" app-predeploy-migrate)"
expect_eq "it completed once" 1 "$(grep -c 'preDeploy hook completed' "$TEST_TMP/a6.err")"
expect_match "to version 2" "migrated to 2" "$(grep 'preDeploy hook completed' "$TEST_TMP/a6.err")"
expect_eq "the undo ran once" 1 "$(creates "$t4" app-onrollback-migrate-undo)"
undo=$(grep 'onRollback hook completed' "$TEST_TMP/a6.err")
expect_match "told from 2 to 1" "schema at 2, from 2 to 1" "$undo"
expect_match "and undid it" "undone to 1" "$undo"
expect_eq "the history is back at version 1" 1 "$(psql_in "$DB" -c "$VERSION")"
expect_eq "the migration's column is gone" 0 "$(psql_in "$DB" -c "$HAS_MEMO")"
expect_eq "no row lost" "$want_rows" "$(psql_in "$DB" -c "$ROWS")"
expect_eq "the rows unchanged" "$want_sum" "$(psql_in "$DB" -c "$SUM")"
expect_match "the note says rolled back" "RolledBack|rolled back" "$(note_in "$REPO/work" "$c4")"

# (4) Bad input, refused at its line with nothing touched.
made() { docker ps -aq --filter "label=$TEST_LABEL" | sort | tr '\n' ' '; }
before=$(made)
t5=$(date +%s.%N)
mkdir -p "$TEST_TMP/bad"
specs pw "" "" "$TEST_TMP/bad" auriga-demo-node:v1 two
out=$("$AURIGA_BIN" validate "$TEST_TMP/bad" 2>&1)
expect_match "a schema version that is not one: its file, line and field" \
	"app.yaml:19:[0-9]+: Deployment/app: spec.template.schemaVersion: must match .*got \"two\"" "$out"
specs pw "" "" "$TEST_TMP/bad" auriga-demo-node:v1 1
backup_yaml pw 0 nosuch >"$TEST_TMP/bad/backup.yaml"
out=$("$AURIGA_BIN" validate "$TEST_TMP/bad" 2>&1)
expect_match "a before naming no Deployment: its file, line and field" \
	"backup.yaml:11:[0-9]+: BackupPolicy/pgdump: spec.before\[0\]: names no Deployment 'nosuch'" "$out"
cp "$TEST_TMP/bad/backup.yaml" "$REPO/work/backup.yaml"
c6=$("$TOP/hack/demo-repo.sh" --commit "$REPO" "a before naming no deployment")
apply a7 60
check "an apply of it fails" test "$?" -ne 0
expect_match "and says why" "spec.before\[0\]: names no Deployment 'nosuch'" "$(cat "$TEST_TMP/a7.err")"
# Docker's own health checks (exec_*, health_status) go on; no container is made, started, stopped or removed.
expect_eq "no container made, started, stopped or removed" "" "$(events "$t5" | grep -vE '^(exec_|health_status)')"
expect_eq "nothing made or removed" "$before" "$(made)"
[ -n "${KEEP_DIAG:-}" ] && sed 's/^/# /' "$TEST_TMP/a6.err" | tail -40

done_testing
