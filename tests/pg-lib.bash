# PostgreSQL for the tests that need a real one (sourced after tests/lib.sh): the image
# auriga-postgres:15 built from Debian's packages (deploy/postgres), a network of the test's and the
# operator's policy listing it, servers on it, psql inside them, and a table of rows with the
# queries of its count and checksum. Everything is labelled as the test's run, so lib.sh removes it.

PG=auriga-postgres:15
PG_PASSWORD=pw

# pg_image: builds the image when its build folder changed; the test stops at once when it cannot.
pg_image() {
	"$TOP/hack/build-postgres-image.sh" || { fail "the PostgreSQL image $PG builds"; exit 1; }
}

# pg_network NAME: a network of the test's (NET) and the operator's policy listing it (POLICY).
pg_network() {
	NET=$1
	POLICY=$TEST_TMP/policy.yaml
	docker network create --label "$TEST_LABEL" "$NET" >/dev/null || { fail "the test's network"; exit 1; }
	printf 'networks: [%s]\n' "$NET" >"$POLICY"
}

# pg_start NAME [ALIAS] [VOLUME]: a PostgreSQL container NAME on $NET (also answering to ALIAS
# there), database app, password $PG_PASSWORD; with VOLUME, its data in a volume of the test's.
pg_start() {
	local vol=()
	if [ -n "${3:-}" ]; then
		docker volume create --label "$TEST_LABEL" "$3" >/dev/null || return 1
		vol=(-v "$3:/var/lib/postgresql/data")
	fi
	docker run -d --name "$1" --label "$TEST_LABEL" --network "$NET" ${2:+--network-alias "$2"} \
		"${vol[@]}" -e POSTGRES_PASSWORD="$PG_PASSWORD" -e POSTGRES_DB=app "$PG" >/dev/null
}

# psql_in CONTAINER ARGS...: psql as postgres on database app inside CONTAINER, unaligned, quiet,
# stopping at the first error.
psql_in() { docker exec -i "$1" psql -U postgres -d app -v ON_ERROR_STOP=1 -Atq "${@:2}"; }
pg_up() { [ "$(psql_in "$1" -c 'select 1' 2>/dev/null)" = 1 ]; }

# pg_seed CONTAINER N: the table tx with N rows; ROWS and SUM are the queries of its row count and
# of a checksum of its rows, want_rows and want_sum their answers now. The test stops when it fails.
ROWS="select count(*) from tx"
SUM="select md5(string_agg(id || ':' || payer || ':' || amount, ',' order by id)) from tx"
pg_seed() {
	psql_in "$1" -c "create table tx (id int primary key, payer text, amount numeric(12,2));
		insert into tx select g, 'acct-' || (g % 97), g * 1.25 from generate_series(1, $2) g;" ||
		{ fail "the table and its rows"; exit 1; }
	want_rows=$(psql_in "$1" -c "$ROWS")
	want_sum=$(psql_in "$1" -c "$SUM")
}
