#!/usr/bin/env bash
# `hack/demo.sh`, the story `make demo` tells, run as a newcomer would see it (under this run's
# instance, label and folder): the fleet comes up phase by phase; the ledger's transactions become
# rows in PostgreSQL; its bad release is preceded by a backup whose recorded checksum is the one of
# the dump on the volume, runs its migration, is rolled back with its undo (the schema at the old
# version, no row lost); the API's blue-green release through NGINX fails no request, the bad canary
# is stopped by its analysis and rolled back with no failed request after, a killed node is healed,
# each commit has its note, a drill restores the newest backup and passes; then `hack/demo.sh down`
# leaves nothing behind.
# run-tests: long
. "$(dirname "$0")/../lib.sh"

export AURIGA_DEMO_DIR=$TEST_TMP/demo AURIGA_DEMO_INSTANCE=e2e-demo-$$ AURIGA_DEMO_LABEL=$TEST_LABEL
on_exit "'$TOP/hack/demo.sh' down >/dev/null 2>&1"
start=$(date +%s)
timeout 600 "$TOP/hack/demo.sh" >"$TEST_TMP/out" 2>&1
rc=$?
secs=$(($(date +%s) - start))
out=$(sed 's/\x1b\[[0-9;]*m//g' "$TEST_TMP/out")
diag "the demo took $secs s"
expect_eq "the demo ends with status 0" 0 "$rc"
[ "$rc" = 0 ] || { sed 's/^/    /' "$TEST_TMP/out" | tail -40; }
# The time is reported, not held to a bound here: speed targets live in hack/bench/.

# The fleet phase by phase: slim healthy before business-1 starts, business-2 before validators.
first_line() { grep -n "$1" <<<"$out" | head -1 | cut -d: -f1; }
s_ok=$(first_line 'slim  *slim  *Healthy')
b1_go=$(first_line 'business-1  *business  *Progressing  *[1-9]')
b2_ok=$(first_line 'business-2  *business  *Healthy')
v_go=$(first_line 'validators  *validator  *Progressing .*\(recreate\|rolling\)')
check "the fleet becomes Healthy" grep -q 'the fleet is Healthy' <<<"$out"
check "business-1 has ready nodes only after slim is Healthy" [ -n "$s_ok" ] && [ -n "$b1_go" ] && [ "$s_ok" -lt "$b1_go" ]
check "validators start only after business-2 is Healthy" [ -n "$b2_ok" ] && [ -n "$v_go" ] && [ "$b2_ok" -lt "$v_go" ]

bg=$(grep 'during the release:' <<<"$out")
diag "$bg"
expect_match "blue-green through NGINX: no request failed" ' [1-9][0-9]* requests, 0 failed;' "$bg"
expect_match "both versions answered during the release" '11\.0\.0: [1-9].*|11\.1\.0: [1-9].*11\.0\.0: [1-9]' "$bg"
check "the bad canary is rolled back" grep -q 'explorer is RolledBack' <<<"$out"
expect_match "the reason names the analysis and the measured error ratio" \
	'explorer: canary analysis at 25% \(step 3 of 5\) failed: error-rate = 0\.[0-9]+ > 0\.05' "$out"
after=$(grep 'after the rollback:' <<<"$out")
diag "$after"
expect_match "no request failed after the rollback" ' [1-9][0-9]* requests, 0 failed' "$after"
expect_match "a killed slim node is healed" 'slim: 5 of 5 running and ready again [0-9]+ ms after the kill' "$out"
expect_match "the first commit's note says Healthy" 'The fleet: slim, business and validator nodes
    phase: Healthy' "$out"
expect_match "the canary commit's note says RolledBack" 'Release the explorer.*
    phase: RolledBack' "$out"
check "the status page's address is printed" grep -q 'status page:  http://127.0.0.1:[0-9]*/' <<<"$out"

# The ledger and its database.
PGC=$(docker ps -q --filter "label=auriga.io/managed-by=$AURIGA_DEMO_INSTANCE" --filter "label=auriga.io/deployment=postgres" | head -1)
sql() { docker exec "$PGC" psql -U postgres -d ledger -Atq -c "$1" 2>/dev/null; }
grow=$(grep -o 'rows in transactions: [0-9]*, then [0-9]*' <<<"$out")
diag "$grow"
check "the ledger's rows grow while transactions flow" awk -v a="$(awk '{ print $4 + 0 }' <<<"$grow")" \
	-v b="$(awk '{ print $6 + 0 }' <<<"$grow")" 'BEGIN { exit !(b > a) }'
check "the bad ledger release is rolled back" grep -q 'ledger is RolledBack' <<<"$out"
# The backup taken before the bad ledger release: the first at its commit. The policy's hourly schedule
# takes another when the demo runs across the hour, so the last one is not it.
c_ledger=$(grep -o '^[0-9a-f]\{7,\} Release the ledger 4.4.5' <<<"$out" | head -1 | cut -d' ' -f1)
rec=$("$AURIGA_BIN" backup list --json --state-dir "$AURIGA_DEMO_DIR/state" 2>/dev/null |
	jq -c --arg c "$c_ledger" '.backups | map(select(.policy == "ledger-pre-deploy" and .status == "ok" and
		(.commit | startswith($c)))) | first')
FILE=$(jq -r .file <<<"$rec")
VOL=$(jq -r .target <<<"$rec" | sed -n 's/^volume //p')
expect_match "the backup before the release is recorded, with its checksum" '^ledger-pre-deploy-.*[0-9a-f]{64}$' \
	"$FILE $(jq -r .sha256 <<<"$rec")"
expect_match "the demo shows its record" "the backup before the release: $FILE, [0-9]+ bytes, sha256 [0-9a-f]{64}, ok" "$out"
READER=$(docker create --label "$TEST_LABEL" -v "$VOL:/backup" auriga-postgres:15 true 2>/dev/null)
docker cp "$READER:/backup/$FILE" "$TEST_TMP/dump.gz" 2>/dev/null
docker rm -v "$READER" >/dev/null 2>&1
expect_eq "the recorded sha256 is the dump's on the volume" "$(jq -r .sha256 <<<"$rec")" "$(sha256sum "$TEST_TMP/dump.gz" | cut -d' ' -f1)"
expect_eq "the recorded size is the dump's" "$(jq -r .size <<<"$rec")" "$(stat -c %s "$TEST_TMP/dump.gz" 2>/dev/null)"
expect_match "the dump is pg_dump's of the ledger" 'CREATE TABLE public.transactions' "$(gzip -dc "$TEST_TMP/dump.gz" 2>/dev/null)"
expect_eq "the migration ran up and its undo down" "V1 up,V2 up,V2 down" \
	"$(sql "select 'V' || version || ' ' || direction from schema_log order by at" | paste -sd,)"
expect_eq "the schema after the rollback is the old one (V1, no memo column)" "1 0" \
	"$(sql "select max(version) from schema_history") $(sql "select count(*) from information_schema.columns where table_name = 'transactions' and column_name = 'memo'")"
kept=$(grep -o 'rows: [0-9]* before the release, [0-9]* after the rollback, [0-9]* of the earlier ones missing' <<<"$out")
diag "$kept"
expect_eq "no row lost: every row from before the release is there after the rollback" 0 "$(awk '{ print $10 }' <<<"$kept")"
check "the count after the rollback is at least the one before" awk -v a="$(awk '{ print $2 + 0 }' <<<"$kept")" \
	-v b="$(awk '{ print $6 + 0 }' <<<"$kept")" 'BEGIN { exit !(a > 0 && b >= a) }'
check "nor did it go down since" [ "$(sql "select count(*) from transactions")" -ge "$(awk '{ print $6 + 0 }' <<<"$kept")" ]
expect_match "the backups are listed" "ledger-pre-deploy.*$FILE" "$out"
expect_match "the drill restores the newest backup and passes" 'auriga drill: Passed ledger-pre-deploy, RTO [0-9.]+ s' "$out"
expect_match "its check finds the ledger's schema and rows" 'verify ledger-verify: passed: .*schema 1, [1-9][0-9]* transactions' "$out"

"$TOP/hack/demo.sh" down >/dev/null 2>&1
expect_eq "down: no container of the demo is left" 0 "$(docker ps -aq --filter "label=$TEST_LABEL" | wc -l)"
expect_eq "down: nor a volume or a network" 0 \
	"$( (docker volume ls -q --filter "label=$TEST_LABEL"; docker network ls -q --filter "label=$TEST_LABEL") | wc -l)"
check "down: the daemon is stopped" sh -c "! pgrep -f -- '--instance[ ]$AURIGA_DEMO_INSTANCE' >/dev/null"
check "down: its folder is removed" [ ! -e "$AURIGA_DEMO_DIR" ]

done_testing
