#!/usr/bin/env bash
# The demo node told where its database is (DATABASE_URL), against a real PostgreSQL
# (auriga-postgres:15) on a network of the test's: each accepted transaction is one row (its txId,
# node, version and size) and counted as written; a wrong password keeps the node not ready, with
# PostgreSQL's words in its log; a database that goes away turns readiness DOWN and transactions
# into 503s counted as failed writes while the node stays alive, and once the database is back the
# node is ready and writing again; md5 logins work as SCRAM ones do; a URL that is not one stops the
# node with status 2 before it serves, naming the variable and never the password.
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../pg-lib.bash"

REPO=${DEMO_NODE_REPO:-auriga-demo-node}
docker image inspect "$REPO:v1" >/dev/null 2>&1 || { fail "image $REPO:v1 exists (make images builds it)"; exit 1; }
pg_image
pg_network "dn-db-$$"
DB=dn-db-$$-pg
pg_start "$DB" db || { fail "PostgreSQL starts"; exit 1; }
check "PostgreSQL answers" wait_for 120 pg_up "$DB"
psql_in "$DB" -c "create table transactions (id bigserial primary key, tx_id text not null, node text not null,
	version text not null, bytes int not null, created_at timestamptz not null default now())" ||
	{ fail "the transactions table"; exit 1; }

declare -A PORT
# node NAME ENV...: a demo node (v1) on the test's network with DEMO_NODE_ID=NAME and ENV, its port
# published on 127.0.0.1 (PORT[NAME]).
node() {
	local name=$1 envs=() e
	shift
	for e in "$@"; do envs+=(-e "$e"); done
	docker run -d --name "dn-db-$$-$name" --label "$TEST_LABEL" --network "$NET" -p 127.0.0.1::9003 \
		-e DEMO_NODE_ID="$name" "${envs[@]}" "$REPO:v1" >/dev/null || { fail "node $name starts"; return 1; }
	PORT[$name]=$(docker port "dn-db-$$-$name" 9003/tcp | sed -n 's/^127\.0\.0\.1://p' | head -n 1)
}
url() { echo "http://127.0.0.1:${PORT[$1]}$2"; }
code_of() { curl -s -o "$TEST_TMP/body" -w '%{http_code}' --max-time 10 "$@"; }
ready() { [ "$(code_of "$(url "$1" /q/health/ready)")" = 200 ]; }
not_ready() { [ "$(code_of "$(url "$1" /q/health/ready)")" = 503 ]; }
tx() { code_of -X POST --data "${2:-transfer}" "$(url "$1" /api/v11/transactions)"; }
# metric NAME SERIES: one exact series on NAME's /q/metrics, or 0 when absent.
metric() {
	curl -s --max-time 10 "$(url "$1" /q/metrics)" |
		awk -v s="$2" 'index($0, s " ") == 1 { v = $NF } END { print (v == "" ? 0 : v) }'
}
written='demo_node_db_writes_total{result="written"}'
failed='demo_node_db_writes_total{result="failed"}'
rows_of() { psql_in "$DB" -c "select count(*) from transactions where node = '$1'"; }
logs_of() { docker logs "dn-db-$$-$1" 2>&1; }

# A URL that is not one: status 2 before anything is served, the password never echoed.
BAD=dn-db-$$-badurl
docker run -d --name "$BAD" --label "$TEST_LABEL" -e DATABASE_URL=postgres://app:s3cret@db:99999/app "$REPO:v1" >/dev/null
wait_for 60 sh -c "[ \"\$(docker inspect -f '{{.State.Running}}' $BAD)\" = false ]"
expect_eq "a bad DATABASE_URL stops the node with status 2" "false 2" "$(docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$BAD")"
out=$(docker logs "$BAD" 2>&1)
expect_match "the error names the variable and the port" 'DATABASE_URL: .*the port is not an integer from 1 to 65535' "$out"
expect_no_match "the error does not show the password" 's3cret' "$out"

# A node told where: every accepted transaction is a row.
node a DATABASE_URL=postgres://postgres@db:5432/app PGPASSWORD="$PG_PASSWORD"
check "the node becomes ready once its database answers" wait_for 60 ready a
expect_match "its readiness says the database is UP" '"database":"UP"' "$(cat "$TEST_TMP/body")"
codes=$(for i in $(seq 1 20); do tx a "payment-$i"; echo; done | sort | uniq -c | awk '{ print $2 "x" $1 }' | xargs)
expect_eq "20 transactions accepted" "201x20" "$codes"
expect_eq "20 rows written by node a" 20 "$(rows_of a)"
expect_eq "the rows are the transactions answered (txId, version, size)" "a-1 v1 9|a-20 v1 10" \
	"$(psql_in "$DB" -F' ' -c "select tx_id, version, bytes from transactions where node = 'a' and tx_id in ('a-1', 'a-20') order by id" | paste -sd'|')"
expect_eq "metrics: 20 written" 20 "$(metric a "$written")"
expect_eq "metrics: none failed" 0 "$(metric a "$failed")"
expect_eq "metrics: the database is up" 1 "$(metric a demo_node_db_up)"

# A wrong password: never ready, PostgreSQL's words in the log, a transaction refused and counted.
node b DATABASE_URL=postgres://postgres:wrong@db/app
check "a wrong password: PostgreSQL refuses the login, in the node's log" \
	wait_for 60 sh -c "docker logs dn-db-$$-b 2>&1 | grep -q 'database down: FATAL: password authentication failed.*28P01'"
check "a wrong password: the node is not ready" not_ready b
expect_eq "a wrong password: a transaction is answered 503" 503 "$(tx b)"
expect_match "the answer names the database" '"error":"database: no connection to the database: FATAL: password' "$(cat "$TEST_TMP/body")"
expect_eq "a wrong password: one failed write counted, none written" "1 0" "$(metric b "$failed") $(metric b "$written")"
expect_eq "a wrong password: metrics say not ready and the database down" "0 0" "$(metric b demo_node_ready) $(metric b demo_node_db_up)"
expect_eq "a wrong password: no row" 0 "$(rows_of b)"

# md5 logins: a role whose password is stored as md5, and pg_hba asking for md5.
psql_in "$DB" -c "set password_encryption = 'md5'; create role clerk login password 'md5pw';
	grant insert, select on transactions to clerk; grant usage on sequence transactions_id_seq to clerk" ||
	fail "the md5 role"
docker exec "$DB" sh -c 'sed -i "s/scram-sha-256\$/md5/" "$PGDATA/pg_hba.conf"' && psql_in "$DB" -c "select pg_reload_conf()" >/dev/null
node m DATABASE_URL=postgres://clerk:md5pw@db:5432/app
check "an md5 login: the node becomes ready" wait_for 60 ready m
expect_eq "an md5 login: its transaction is written" "201 1" "$(tx m) $(rows_of m)"

# The database goes away: readiness DOWN, 503s counted, the node alive; back: ready and writing.
docker stop -t 5 "$DB" >/dev/null
check "the database stopped: the node turns not ready" wait_for 60 not_ready a
expect_match "its readiness says the database is DOWN" '"database":"DOWN"' "$(cat "$TEST_TMP/body")"
expect_eq "the database stopped: a transaction is answered 503" 503 "$(tx a)"
expect_eq "the database stopped: the failed write is counted" 1 "$(metric a "$failed")"
expect_eq "the database stopped: the node is still live" 200 "$(code_of "$(url a /q/health/live)")"
expect_eq "the database stopped: the node is still running" true "$(docker inspect -f '{{.State.Running}}' "dn-db-$$-a")"
docker start "$DB" >/dev/null
check "the database is back: the node is ready again" wait_for 120 ready a
expect_eq "the database is back: a transaction is written" 201 "$(tx a)"
expect_eq "the database is back: 21 rows of node a" 21 "$(rows_of a)"
expect_match "the node said the database went down and came back" 'database down: .*database up' "$(logs_of a | tr '\n' ' ')"

# Without DATABASE_URL: today's node, no database series.
node plain
check "a node without a database becomes ready" wait_for 60 ready plain
expect_eq "a node without a database: a transaction is accepted" 201 "$(tx plain)"
expect_eq "a node without a database: no database series" 0 "$(curl -s "$(url plain /q/metrics)" | grep -c '^demo_node_db_')"

done_testing
