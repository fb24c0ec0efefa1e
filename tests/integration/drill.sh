#!/usr/bin/env bash
# Restore and drill against a real PostgreSQL (auriga-postgres:15) that is a deployment of the fleet:
# `auriga restore` refuses a tampered dump with nothing touched (Docker's events), restores a kept
# dump into a named database (and into a fresh one from the policy's template) with the same row
# count and checksum as the source, refuses the running production database without --force; `auriga
# drill` restores the newest backup into containers of its own on a network of its own, runs the
# verify Jobs (a failing one fails the drill), removes everything it made, notes its report under
# refs/notes/auriga-drills and serves it at /api/v1/drills. Last, the guide's recovery scenarios are
# timed and printed beside its targets: a node lost, the database corrupted, the whole fleet lost.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/../pg-lib.bash"

need_images v1
pg_image
engine_instance drill
specs_repo
pg_network "$INST-net"
events_start
REPO=(--repo "$REMOTE" --branch main)
# run CMD [VERB] ARGS...: auriga CMD under the test's instance, state, labels and policy (VERB: backup's run).
run() {
	if [ "$1" = backup ]; then
		"$AURIGA_BIN" backup "$2" --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" "${@:3}"
	else
		auriga_cmd "$1" --policy-file "$POLICY" "${@:2}"
	fi
}

# The fleet: the database (a deployment on the test's network, alias db) and one demo node.
cat >"$WORK/db.yaml" <<EOF
apiVersion: auriga.io/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 1
  progressDeadlineSeconds: 180
  strategy: {type: Recreate}
  template:
    image: $PG
    env: {POSTGRES_PASSWORD: pw, POSTGRES_DB: app}
    network: $NET
  probes:
    readiness: {exec: {command: [pg_isready, -q, -h, 127.0.0.1, -U, postgres, -d, app]}, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 3}
EOF
node_yaml web >"$WORK/web.yaml"
commit "the fleet" >/dev/null
run apply --timeout-total 240 "${REPO[@]}" >"$TEST_TMP/apply.out" 2>&1
rc=$?
expect_eq "the fleet is applied" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$TEST_TMP/apply.out" | tail -20
db_container() {
	docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=db" --format '{{.Names}}' | head -1
}
DBC=$(db_container)
check "the fleet's database answers" wait_for 120 pg_up "$DBC"
pg_seed "$DBC" 5000
expect_eq "5000 rows in the fleet's database" 5000 "$want_rows"

# policy [ROWS]: the BackupPolicy db (pg_dump --clean | gzip from the fleet's database), its restore
# Job (waits for the database, then gunzip | psql), the database a drill starts, and the two verify
# Jobs: the row count, and the md5 of the rows, each against what the source held (ROWS: another count).
policy() {
	cat >"$WORK/backup.yaml" <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: db}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, 'pg_dump --clean --if-exists -h db -U postgres app | gzip > /backup/\$AURIGA_BACKUP_FILE']
    env: {PGPASSWORD: pw}
    network: $NET
  target: {volume: dumps}
  restore:
    job: restore-db
    database:
      image: $PG
      env: {POSTGRES_PASSWORD: pw, POSTGRES_DB: app}
  drill:
    schedule: "0 4 1 * *"
    verify: [check-rows, check-sum]
EOF
	cat >"$WORK/jobs.yaml" <<EOF
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
    command:
      - bash
      - -c
      - |
        n=\$(psql -h "\$AURIGA_RESTORE_HOST" -U postgres -d app -Atc "$ROWS")
        echo "rows \$n, want \$WANT"
        [ "\$n" = "\$WANT" ]
    env: {PGPASSWORD: pw, WANT: "${1:-$want_rows}"}
---
apiVersion: auriga.io/v1
kind: Job
metadata: {name: check-sum}
spec:
  activeDeadlineSeconds: 120
  template:
    image: $PG
    command:
      - bash
      - -c
      - |
        s=\$(psql -h "\$AURIGA_RESTORE_HOST" -U postgres -d app -Atc "$SUM")
        echo "md5 \$s, want \$WANT"
        [ "\$s" = "\$WANT" ]
    env: {PGPASSWORD: pw, WANT: "$want_sum"}
EOF
}
policy
HEAD=$(commit "backups, restore and drill")
run backup run "${REPO[@]}" db >"$TEST_TMP/backup.out" 2>&1
expect_eq "backup run exits 0" 0 "$?"
records() { "$AURIGA_BIN" backup list --json --state-dir "$STATE"; }
FILE=$(records | jq -r '.backups[-1].file')
VOL=$(records | jq -r '.backups[-1].target' | sed -n 's/^volume //p')
expect_eq "the backup is kept" ok "$(records | jq -r '.backups[-1].status')"

# restore_to OUT TARGET [ARGS]: auriga restore FILE --target TARGET, its output in OUT.
restore_to() { run restore "${REPO[@]}" --target "$2" "${@:3}" "$FILE" >"$TEST_TMP/$1.out" 2>&1; }

# A named target that is no database of the fleet: the test's own second PostgreSQL.
DB2=$INST-db2
pg_start "$DB2"
check "the second PostgreSQL answers" wait_for 120 pg_up "$DB2"

# A tampered dump: refused at its checksum, the target untouched, no restore Job made.
docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" sh -c "cp /backup/$FILE /backup/keep && echo x >>/backup/$FILE"
since=$(date +%s.%N)
restore_to tampered "$DB2"
expect_eq "a restore of a tampered dump exits 1" 1 "$?"
expect_match "refused at its checksum" "checksum mismatch: $FILE on volume $VOL has sha256 [0-9a-f]{64} .*the record says $(records | jq -r '.backups[-1].sha256')" \
	"$(cat "$TEST_TMP/tampered.out")"
expect_eq "Docker saw nothing done to the target and no restore Job" "" \
	"$(events_since "$since" | awk -F'|' -v t="$DB2" '$3 == t || $3 ~ /-restore-/ { print $2 " " $3 }')"
expect_eq "the target has no table restored" 0 "$(psql_in "$DB2" -c "select count(*) from pg_tables where tablename = 'tx'")"
docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" sh -c "mv /backup/keep /backup/$FILE"

restore_to named "$DB2"
expect_eq "a restore into the named target exits 0" 0 "$?"
sed 's/^/# /' "$TEST_TMP/named.out"
expect_eq "the restore has the source's row count" "$want_rows" "$(psql_in "$DB2" -c "$ROWS")"
expect_eq "the restore has the source's checksum of the rows" "$want_sum" "$(psql_in "$DB2" -c "$SUM")"

# A target that does not exist: started from spec.restore.database, then restored.
FRESH=$INST-fresh
restore_to fresh "$FRESH"
expect_eq "a restore into a new target exits 0" 0 "$?"
expect_eq "the new target is the policy's database" "$PG $INST" \
	"$(docker inspect -f '{{.Config.Image}} {{index .Config.Labels "auriga.io/restore-of"}}' "$FRESH" 2>/dev/null)"
expect_eq "and holds the source's rows" "$want_rows $want_sum" "$(psql_in "$FRESH" -c "$ROWS" 2>/dev/null) $(psql_in "$FRESH" -c "$SUM" 2>/dev/null)"

# The running production database: refused without --force, its rows as they were.
psql_in "$DBC" -c "insert into tx values (5001, 'acct-new', 1.00)"
restore_to prod "$DBC"
expect_eq "a restore into the fleet's running database exits 1" 1 "$?"
expect_match "refused as production, naming the deployment" "container '$DBC' is a running production database \(deployment 'db' of the fleet\): nothing was restored; give --force" \
	"$(cat "$TEST_TMP/prod.out")"
expect_eq "the fleet's database keeps its rows" 5001 "$(psql_in "$DBC" -c "$ROWS")"

# The drill, end to end.
drill() { run drill "$@" >"$TEST_TMP/drill.out" 2>&1; }
since=$(date +%s.%N)
drill "${REPO[@]}" db
expect_eq "the drill exits 0" 0 "$?"
sed 's/^/# /' "$TEST_TMP/drill.out" | head -40
drills() { jq -c '.drills' "$STATE/drills.json"; }
ID=$(jq -r '.drills[-1].id' "$STATE/drills.json")
expect_match "the drill's id names the policy" '^drill-db-[0-9]{8}t[0-9]{6}z$' "$ID"
expect_eq "the report says passed, from the kept backup, on the commit in force" "passed $FILE $HEAD" \
	"$(jq -r '.drills[-1] | "\(.status) \(.backup.file) \(.commit)"' "$STATE/drills.json")"
expect_eq "both verify Jobs passed" "check-rows:true check-sum:true" \
	"$(jq -r '[.drills[-1].verify[] | "\(.job):\(.ok)"] | join(" ")' "$STATE/drills.json")"
made=$(events_since "$since" | awk -F'|' '$2 == "create" { print $3 }' | sort -u)
expect_match "its database was a container of its own, named for the drill" "$INST-$ID-db" "$made"
expect_match "its restore and verify Jobs ran as containers named for the drill" "$INST-$ID-restore-restore-db.*$INST-$ID-verify-check-rows" "$(echo $made)"
expect_eq "no container of the drill is left" "" "$(docker ps -aq --filter "label=auriga.io/drill=$ID")"
expect_eq "nor its network" "" "$(docker network ls -q --filter "label=auriga.io/drill=$ID")"
git -C "$WORK" fetch -q origin '+refs/notes/*:refs/notes/*'
note=$(git -C "$WORK" log -1 --format=%N --notes=auriga-drills "$HEAD")
expect_match "the report is noted on the commit under refs/notes/auriga-drills" "^auriga drill: Passed db, RTO [0-9.]+ s, RPO [0-9]+ s" "$note"
expect_match "the note carries the report" "\"id\": \"$ID\"" "$note"
DRILL_RTO=$(jq -r '.drills[-1].rtoSeconds' "$STATE/drills.json")
DRILL_RPO=$(jq -r '.drills[-1].rpoSeconds' "$STATE/drills.json")

# A verify Job that fails fails the drill, and the drill still removes what it made.
policy 4999
drill db "$WORK"
expect_eq "a drill whose verify Job fails exits 1" 1 "$?"
expect_eq "its report says so, naming the Job" "failed verify false" \
	"$(jq -r '.drills[-1] | "\(.status) \(.stage) \(.verify[0].ok)"' "$STATE/drills.json")"
expect_match "with the Job's own words" "rows 5000, want 4999" "$(jq -r '.drills[-1].message' "$STATE/drills.json")"
ID2=$(jq -r '.drills[-1].id' "$STATE/drills.json")
expect_eq "and nothing of it is left" "" \
	"$(docker ps -aq --filter "label=auriga.io/drill=$ID2")$(docker network ls -q --filter "label=auriga.io/drill=$ID2")"
git -C "$WORK" checkout -q -- jobs.yaml

# Bad input refused at its line: a restore Job that is not in the specs, a drill schedule that does not parse.
mkdir -p "$TEST_TMP/bad"
cp "$WORK"/*.yaml "$TEST_TMP/bad/"
sed -i -e 's/job: restore-db/job: restore-gone/' -e 's/schedule: "0 4 1 \* \*"/schedule: "0 4 1-7 * 8"/' "$TEST_TMP/bad/backup.yaml"
"$AURIGA_BIN" validate --policy-file "$POLICY" "$TEST_TMP/bad" >"$TEST_TMP/bad.out" 2>&1
expect_eq "specs naming a missing restore Job do not validate" 1 "$?"
expect_match "the missing Job, at its line" 'backup.yaml:12:[0-9]+: BackupPolicy/db: spec.restore.job: names no Job "restore-gone" in the specs' "$(cat "$TEST_TMP/bad.out")"
expect_match "the schedule, at its line" 'backup.yaml:17:[0-9]+: BackupPolicy/db: spec.drill.schedule: "0 4 1-7 \* 8" does not parse' "$(cat "$TEST_TMP/bad.out")"

# The daemon serves the reports, and --due finds the drill not due before the next first Sunday.
listen_port
run_start "$TEST_TMP/run.log" --instance "$INST" --state-dir "$STATE" --policy-file "$POLICY" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s "${REPO[@]}"
check "the daemon becomes ready" wait_for 60 run_is_ready
expect_eq "/api/v1/drills serves both reports" "$ID passed $ID2 failed" \
	"$(curl -sf --max-time 5 "$RUN_URL/api/v1/drills" | jq -r '[.drills[] | "\(.id) \(.status)"] | join(" ")')"
run drill --due "${REPO[@]}" >"$TEST_TMP/due.out" 2>&1
expect_eq "drill --due exits 0" 0 "$?"
expect_match "the drill is not due again yet" 'drill db: not due \(next at [0-9]+\)' "$(cat "$TEST_TMP/due.out")"

# ---- the guide's recovery scenarios, timed ----
# since_s T0: seconds from T0 (date +%s.%N) to now; age_s MS: seconds from MS (unix ms) to now.
since_s() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
age_s() { awk -v a="$1" -v b="$(date +%s)" 'BEGIN { printf "%.0f", b - a / 1000 }'; }
healthy() { curl -sf --max-time 2 "$RUN_URL/api/v1/status" | jq -e --arg d "$1" '.deployments[] | select(.name == $d) | .phase == "Healthy"' >/dev/null; }
web_running() { [ -n "$(docker ps -q --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=web" --filter status=running)" ] && healthy web; }
await "web is Healthy under the daemon" 120 web_running
# Single node failure: a node of the fleet stopped; recovered once auriga has the deployment Healthy again.
WEBC=$(docker ps --filter "label=auriga.io/managed-by=$INST" --filter "label=auriga.io/deployment=web" --format '{{.Names}}' | head -1)
t0=$(date +%s.%N)
docker stop -t 1 "$WEBC" >/dev/null
wait_for 20 sh -c "! curl -sf --max-time 2 '$RUN_URL/api/v1/status' | jq -e '.deployments[] | select(.name == \"web\") | .phase == \"Healthy\"' >/dev/null" 2>/dev/null
await "auriga has web Healthy again after its node stopped" 300 web_running
NODE_RTO=$(since_s "$t0")

# Database corruption: half the rows gone; restored from the hourly backup into the fleet's database.
psql_in "$DBC" -c "delete from tx where id % 2 = 0"
t0=$(date +%s.%N)
restore_to corrupt "$DBC" --force
expect_eq "a forced restore into the fleet's database exits 0" 0 "$?"
CORRUPT_RTO=$(since_s "$t0")
CORRUPT_RPO=$(age_s "$(records | jq '.backups[-1].timeMs')")
expect_eq "the database is back at the backup's rows" "$want_rows $want_sum" "$(psql_in "$DBC" -c "$ROWS") $(psql_in "$DBC" -c "$SUM")"

# The whole fleet lost: the daemon gone, every container of the fleet removed with its data; then
# auriga apply and a restore from the kept backup, timed to the database holding its rows again.
kill -TERM "$RUN_PID"; wait "$RUN_PID"
docker rm -f -v $(docker ps -aq --filter "label=auriga.io/managed-by=$INST") >/dev/null
t0=$(date +%s.%N)
run apply --timeout-total 240 "${REPO[@]}" >"$TEST_TMP/reapply.out" 2>&1
expect_eq "the fleet is applied again" 0 "$?"
DBC=$(db_container)
wait_for 120 pg_up "$DBC"
restore_to loss "$DBC" --force
expect_eq "the kept backup restores into the new database" 0 "$?"
LOSS_RTO=$(since_s "$t0")
LOSS_RPO=$(age_s "$(records | jq '.backups[-1].timeMs')")
expect_eq "the new database holds the backup's rows" "$want_rows $want_sum" "$(psql_in "$DBC" -c "$ROWS") $(psql_in "$DBC" -c "$SUM")"

# row SCENARIO RTO_TARGET_S RTO_S RPO_TARGET_S RPO_S: one line of the table, judged against the targets.
row() {
	local v=met
	awk -v a="$3" -v b="$2" -v c="$5" -v d="$4" 'BEGIN { exit !(a <= b && c <= d) }' || v=MISSED
	printf '# %-36s %8s %10.1f %8s %10.0f  %s\n' "$1" "${2}s" "$3" "${4}s" "$5" "$v"
}
echo "# recovery measured against the deployment guide's targets (seconds)"
printf '# %-36s %8s %10s %8s %10s  %s\n' scenario "RTO max" "RTO" "RPO max" "RPO" verdict
row "single node failure" 30 "$NODE_RTO" 0 0
row "database corruption (hourly backup)" 900 "$CORRUPT_RTO" 3600 "$CORRUPT_RPO"
row "complete loss of the fleet" 1800 "$LOSS_RTO" 14400 "$LOSS_RPO"
row "drill (vs. the corruption targets)" 900 "$DRILL_RTO" 3600 "$DRILL_RPO"
done_testing
