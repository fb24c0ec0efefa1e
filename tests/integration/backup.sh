#!/usr/bin/env bash
# Backups against a real PostgreSQL (auriga-postgres:15, built from Debian's packages) on a network
# this test makes: `auriga backup run` records a dump whose SHA-256 is the one of the file copied
# out of the target volume, and that dump restores into a second PostgreSQL with the same row count
# and the same checksum of the rows; a second backup prunes the first by retention (the file gone
# from the volume); a failing dump is recorded as failed with pg_dump's own words; a host path the
# policy does not allow and a schedule that does not parse are refused at their line with nothing
# created.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../run-lib.bash"
. "$(dirname "$0")/../pg-lib.bash"

pg_image
engine_instance backup
pg_network "$INST-net"
DB=$INST-db
DB2=$INST-db2

START=$(date +%s.%N)
# The servers keep their data in volumes of the test's.
pg_start "$DB" db "$DB-data" || { fail "PostgreSQL starts"; exit 1; }
check "PostgreSQL answers" wait_for 60 pg_up "$DB"
pg_seed "$DB" 5000
expect_eq "5000 rows to back up" 5000 "$want_rows"

# spec TARGET [TAIL]: the BackupPolicy db dumping app with pg_dump | gzip to TARGET (pipefail: a
# pg_dump that fails must fail the Job, whatever gzip says).
spec() {
	cat >"$SPECS/backup.yaml" <<EOF
apiVersion: auriga.io/v1
kind: BackupPolicy
metadata: {name: db}
spec:
  job:
    image: $PG
    command: [bash, -o, pipefail, -c, 'pg_dump -h db -U postgres app | gzip > /backup/\$AURIGA_BACKUP_FILE']
    env: {PGPASSWORD: ${PASSWORD:-pw}}
    network: $NET
  target: $1
  retention: {hourly: 1, daily: 0, weekly: 0, monthly: 0}
${2:-}
EOF
}
backup() {
	"$AURIGA_BIN" backup run --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
		db "$SPECS" >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err"
}
records() { "$AURIGA_BIN" backup list --json --state-dir "$STATE"; }
# field N KEY: a field of the Nth record (from 0).
field() { records | jq -r ".backups[$1].$2"; }
count_made() {
	echo "$(docker ps -aq --filter "label=$TEST_LABEL" | wc -l) $(docker volume ls -q --filter "label=$TEST_LABEL" | wc -l)"
}

printf 'networks: [%s]\nhostPaths: [%s]\n' "$NET" "$TEST_TMP/allowed" >"$POLICY"
spec "{volume: dumps}"
backup first
expect_eq "backup run exits 0" 0 "$?"
sed 's/^/# /' "$TEST_TMP/first.out" "$TEST_TMP/first.err"
expect_eq "one backup recorded" 1 "$(records | jq '.backups | length')"
expect_eq "recorded as ok" ok "$(field 0 status)"
FILE=$(field 0 file)
VOL=$(field 0 target | sed -n 's/^volume //p')
expect_match "the file is named by the policy and the time" '^db-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.dump$' "$FILE"
expect_eq "the target volume is labelled as this instance's" "$INST" \
	"$(docker volume inspect -f '{{index .Labels "auriga.io/managed-by"}}' "$VOL" 2>/dev/null)"

# The dump as Docker gives it, through a container of the test's on the same volume.
READER=$(docker create --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" true)
docker cp "$READER:/backup/$FILE" "$TEST_TMP/dump.gz" 2>/dev/null
docker rm -v "$READER" >/dev/null
expect_eq "the recorded sha256 is the dump's" "$(sha256sum "$TEST_TMP/dump.gz" | cut -d' ' -f1)" "$(field 0 sha256)"
expect_eq "the recorded size is the dump's" "$(stat -c %s "$TEST_TMP/dump.gz")" "$(field 0 size)"
expect_match "the dump is pg_dump's" 'PostgreSQL database dump' "$(gzip -dc "$TEST_TMP/dump.gz" | head -5)"

# Restored into a second PostgreSQL: the same rows, the same checksum.
pg_start "$DB2" "" "$DB2-data" || { fail "the second PostgreSQL starts"; exit 1; }
check "the second PostgreSQL answers" wait_for 60 pg_up "$DB2"
gzip -dc "$TEST_TMP/dump.gz" | psql_in "$DB2" >/dev/null
expect_eq "the restore has the same row count" "$want_rows" "$(psql_in "$DB2" -c "$ROWS")"
expect_eq "the restore has the same checksum of the rows" "$want_sum" "$(psql_in "$DB2" -c "$SUM")"

# A second backup in the same hour: hourly 1 keeps it alone, and the first is removed from the volume.
psql_in "$DB" -c "insert into tx values (5001, 'acct-x', 1.00)"
backup second
expect_eq "the second backup run exits 0" 0 "$?"
expect_eq "the first backup is recorded as pruned" pruned "$(field 0 status)"
expect_eq "the second is kept" ok "$(field 1 status)"
on_volume=$(docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" ls /backup)
expect_eq "only the second dump is on the volume" "$(field 1 file)" "$on_volume"

# verify reads the kept dump back and finds the recorded checksum; once the file on the volume is
# changed, it refuses it as not the backup taken (nothing else touched: the file stays as it is).
verify() {
	"$AURIGA_BIN" backup verify --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
		db "$1" "$SPECS" >"$TEST_TMP/verify.out" 2>"$TEST_TMP/verify.err"
}
KEPT=$(field 1 file)
verify "$KEPT"
expect_eq "verify of the kept dump exits 0" 0 "$?"
expect_match "and says it is verified" "backup db: $KEPT verified, sha256 $(field 1 sha256)" "$(cat "$TEST_TMP/verify.out")"
docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" sh -c "cp /backup/$KEPT /backup/keep && echo x >>/backup/$KEPT"
verify "$KEPT"
expect_eq "verify of a changed dump exits 1" 1 "$?"
expect_match "a checksum mismatch, named" "checksum mismatch: $KEPT on volume $VOL has sha256 [0-9a-f]{64} \([0-9]+ bytes\), the record says $(field 1 sha256)" \
	"$(cat "$TEST_TMP/verify.err")"
verify db-19700101T000000.000Z.dump
expect_match "verify of a backup never recorded is refused" "no kept backup 'db-19700101T000000.000Z.dump' of policy 'db'" \
	"$(cat "$TEST_TMP/verify.err")"
docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" sh -c "mv /backup/keep /backup/$KEPT"
verify "$KEPT"
expect_eq "the dump put back verifies again" 0 "$?"

# A dump that fails: recorded as failed with pg_dump's words, nothing pruned, exit 1.
PASSWORD=wrong spec "{volume: dumps}"
backup failing
expect_eq "a failing dump exits 1" 1 "$?"
expect_eq "it is recorded as failed" failed "$(field 2 status)"
expect_match "with pg_dump's own words" 'exited with 1: .*password authentication failed' "$(field 2 message)"
expect_eq "and without a checksum" "" "$(field 2 sha256)"
expect_eq "the good backup stays kept" ok "$(field 1 status)"
expect_eq "what the failed Job wrote is removed, the good dump stays" "$(field 1 file)" \
	"$(docker run --rm --label "$TEST_LABEL" -v "$VOL:/backup" "$PG" ls /backup)"

# Refused before anything is made: a host path the policy does not allow, a schedule that does not parse.
before=$(count_made)
since=$(date +%s.%N)
mkdir -p "$TEST_TMP/allowed" "$TEST_TMP/elsewhere"
spec "{hostPath: $TEST_TMP/elsewhere}"
backup outside
expect_eq "a host path outside the policy exits 1" 1 "$?"
expect_match "refused at its line, naming the policy setting" \
	"backup.yaml:10:[0-9]+: BackupPolicy/db: spec.target.hostPath: host path \"$TEST_TMP/elsewhere\" refused by the operator's policy \(not under hostPaths in $POLICY\)" \
	"$(cat "$TEST_TMP/outside.err")"
spec "{volume: dumps}" '  schedule: "0 24 * * *"'
backup schedule
expect_eq "a schedule that does not parse exits 1" 1 "$?"
expect_match "refused at its line" \
	'backup.yaml:12:13: BackupPolicy/db: spec.schedule: "0 24 \* \* \*" does not parse: field 2 \(hour\)' \
	"$(cat "$TEST_TMP/schedule.err")"
expect_eq "nothing was created by the refused runs" "$before" "$(count_made)"
expect_eq "Docker saw no container or volume made by them" "" \
	"$(docker events --since "$since" --until "$(date +%s.%N)" --filter "label=$TEST_LABEL" --filter event=create \
		--format '{{.Type}} {{.Actor.Attributes.name}}')"
expect_eq "and nothing recorded" 3 "$(records | jq '.backups | length')"
expect_eq "nothing landed in the host path" "" "$(ls -A "$TEST_TMP/elsewhere")"

# An allowed host path: the dump lands there, with the recorded checksum.
spec "{hostPath: $TEST_TMP/allowed}"
chmod 0777 "$TEST_TMP/allowed"
backup hostpath
expect_eq "a backup to an allowed host path exits 0" 0 "$?"
HFILE=$(field 3 file)
expect_eq "its sha256 is the file's on the host" "$(sha256sum "$TEST_TMP/allowed/$HFILE" 2>/dev/null | cut -d' ' -f1)" \
	"$(field 3 sha256)"
# Schedules: --due backs up a policy never backed up, and leaves one whose next slot (January 1st) has
# not come since its newest backup.
spec "{volume: dumps}" '  schedule: "0 0 1 1 *"'
sed -e 's/name: db}/name: fresh}/' "$SPECS/backup.yaml" >"$SPECS/fresh.yaml"
"$AURIGA_BIN" backup run --due --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
	"$SPECS" >"$TEST_TMP/due.out" 2>"$TEST_TMP/due.err"
expect_eq "backup run --due exits 0" 0 "$?"
expect_match "db is not due" 'backup db: not due \(next at [0-9]+\)' "$(cat "$TEST_TMP/due.out")"
expect_eq "fresh, never backed up, is backed up" ok "$(records | jq -r '[.backups[] | select(.policy == "fresh")][0].status')"
expect_eq "db got no new backup" 4 "$(records | jq '[.backups[] | select(.policy == "db")] | length')"

# The daemon on the same state folder serves the records (/api/v1/backups) and the start of each
# policy's newest good backup (auriga_backup_last_success_timestamp_seconds{policy}).
listen_port
run_start "$TEST_TMP/run.log" --state-dir "$STATE" --instance "$INST" --policy-file "$POLICY" \
	--listen "127.0.0.1:$RUN_PORT" --poll-interval 1s "$SPECS"
check "the daemon becomes ready" wait_for 60 run_is_ready
expect_eq "/api/v1/backups serves every record" "$(records | jq -c '[.backups[].sha256]')" \
	"$(curl -sf --max-time 5 "$RUN_URL/api/v1/backups" | jq -c '[.backups[].sha256]')"
newest_db=$(records | jq '[.backups[] | select(.policy == "db" and .status == "ok") | .timeMs] | max / 1000 | floor')
await "the metric has db's newest good backup" 30 metric_is \
	'auriga_backup_last_success_timestamp_seconds{policy="db"}' "$newest_db"
run_stop "the daemon stops cleanly"

# The image declares its data folder a volume: every container auriga made for a backup (the Jobs,
# the removals, the reads) took an anonymous one there, and each is gone with its container.
made=$(docker events --since "$START" --until "$(date +%s.%N)" --filter "label=$TEST_LABEL" --filter type=container \
	--filter event=create --format '{{.Actor.ID}} {{.Actor.Attributes.name}}' |
	awk -v p="$INST-backup-" 'index($2, p) == 1 { print $1 }')
anon=$(docker events --since "$START" --until "$(date +%s.%N)" --filter type=volume --filter event=mount \
	--format '{{.Actor.ID}} {{.Actor.Attributes.container}} {{.Actor.Attributes.destination}}' |
	awk -v ids="$(echo $made)" 'BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) m[a[i]] = 1 }
		m[$2] && $3 == "/var/lib/postgresql/data" { print $1 }' | sort -u)
expect_match "auriga made its backup containers" '[0-9a-f]{64}' "$made"
left=0
for v in $anon; do docker volume inspect "$v" >/dev/null 2>&1 && left=$((left + 1)); done
expect_eq "none of their $(echo $anon | wc -w) anonymous volumes is left" 0 "$left"

# The Job's user and deadline are carried out: "who" runs as 4242 (its dump says so), "slow" sleeps
# past activeDeadlineSeconds and is stopped, recorded as failed.
# job_yaml NAME USER DEADLINE COMMAND: a BackupPolicy writing to the allowed host path.
job_yaml() {
	printf 'apiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: %s}\nspec:\n  job:\n    image: %s\n    user: "%s"\n    activeDeadlineSeconds: %s\n    command: [sh, -c, '"'"'%s'"'"']\n  target: {hostPath: %s}\n' \
		"$1" "$PG" "$2" "$3" "$4" "$TEST_TMP/allowed"
}
rm -f "$SPECS"/*.yaml
job_yaml who 4242 60 'id -u > /backup/$AURIGA_BACKUP_FILE' >"$SPECS/who.yaml"
job_yaml slow 4242 2 'sleep 60' >"$SPECS/slow.yaml"
"$AURIGA_BIN" backup run --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
	who "$SPECS" >/dev/null 2>"$TEST_TMP/who.err"
expect_eq "the Job ran as its user" 4242 "$(cat "$TEST_TMP/allowed/$(records | jq -r '[.backups[] | select(.policy == "who")][0].file')" 2>/dev/null)"
t0=$(date +%s)
"$AURIGA_BIN" backup run --instance "$INST" --state-dir "$STATE" --extra-labels "$TEST_LABEL" --policy-file "$POLICY" \
	slow "$SPECS" >/dev/null 2>"$TEST_TMP/slow.err"
expect_eq "a Job past its deadline fails the backup" 1 "$?"
expect_match "recorded as failed, naming the deadline" 'did not end within its deadline \(activeDeadlineSeconds 2\)' \
	"$(records | jq -r '[.backups[] | select(.policy == "slow")][0].status + ": " + [.backups[] | select(.policy == "slow")][0].message')"
check "and stopped well before it would have ended" [ $(($(date +%s) - t0)) -lt 40 ]

# The Job wrote as the image's user: the test's own container removes it, so the folder can go.
docker run --rm --label "$TEST_LABEL" -v "$TEST_TMP/allowed:/backup" "$PG" sh -c 'rm -f /backup/*' 2>/dev/null
done_testing
