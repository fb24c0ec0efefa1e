#!/bin/sh
# Starts PostgreSQL on the container's network. On the first start (an empty data folder) it makes
# the cluster with initdb, the superuser `postgres` having the password in POSTGRES_PASSWORD
# (required), a database named POSTGRES_DB when set, and password (scram) logins from any address.
# With arguments other than the server's options, it runs them instead (psql, pg_dump, sh ...).
set -eu

case "${1:-}" in
"" | -*) ;;
*) exec "$@" ;;
esac

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "auriga-postgres: POSTGRES_PASSWORD is required to make a new cluster" >&2
		exit 1
	fi
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust \
		--auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	rm -f "$pwfile"
	echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
	echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
	if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
		postgres --single -D "$PGDATA" postgres >/dev/null <<SQL
CREATE DATABASE "$POSTGRES_DB";
SQL
	fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
