/* The node's transactions written to PostgreSQL (DATABASE_URL): one row each, counted, with readiness following the database. */

/*
 * One connection, shared by the connection threads under a lock: a
 * transaction's row is inserted before its 201 is sent, so an accepted
 * transaction is a written one. A keeper thread opens the connection, opens it
 * again after a failure (once a second), and checks every second that the
 * table can be read. While the node has no working connection its readiness
 * is DOWN (so a router sends it no traffic) and a transaction that still
 * reaches it is answered 503 and counted as a failed write; the node never
 * stops for it.
 */
#include "pgwire.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_TIMEOUT_S 5
#define DB_TABLE "transactions"

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pgconn *db_conn;		/* under db_lock; fd -1 while closed */
static char db_error[256];		/* under db_lock: why the last attempt failed */
static atomic_int db_up;
static atomic_uint_fast64_t db_written, db_failed;

int db_enabled(void)
{
	return cfg.db.host[0] != '\0';
}

int db_ready(void)
{
	return !db_enabled() || atomic_load(&db_up);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies [s, s+len) to dst with %XX decoded; -1 when it is too long, holds a NUL or a bad escape. */
static int url_decode(const char *s, size_t len, char *dst, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (c == 0 || o + 1 >= size)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_';
}

static int url_bad(char *why, size_t n, const char *what)
{
	snprintf(why, n, "%s", what);
	return -1;
}

/* HOST[:PORT] in [hp, end): a name or an IPv4 address, and a port from 1 to 65535. */
static int parse_host_port(const char *hp, const char *end, struct db_target *t, char *why, size_t n)
{
	const char *colon = memchr(hp, ':', (size_t)(end - hp));
	const char *host_end = colon != NULL ? colon : end;
	char port_s[8];
	size_t i, len = (size_t)(host_end - hp);

	if (len == 0 || len > DB_FIELD_MAX)
		return url_bad(why, n, "no host, or one over 255 bytes");
	for (i = 0; i < len; i++)
		if (!host_char(hp[i]))
			return url_bad(why, n, "the host is not a name or an IPv4 address");
	memcpy(t->host, hp, len);
	t->host[len] = '\0';
	if (colon == NULL)
		return 0;
	len = (size_t)(end - colon - 1);
	if (len == 0 || len >= sizeof(port_s))
		return url_bad(why, n, "the port is not an integer from 1 to 65535");
	memcpy(port_s, colon + 1, len);
	port_s[len] = '\0';
	if (parse_long(port_s, 1, 65535, &t->port) != 0)
		return url_bad(why, n, "the port is not an integer from 1 to 65535");
	return 0;
}

/* postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE; why never quotes the password. */
int db_url_parse(const char *url, struct db_target *t, char *why, size_t n)
{
	const char *p, *at, *slash, *colon;

	memset(t, 0, sizeof(*t));
	t->port = 5432;
	if (strncmp(url, "postgres://", 11) == 0)
		p = url + 11;
	else if (strncmp(url, "postgresql://", 13) == 0)
		p = url + 13;
	else
		return url_bad(why, n, "the scheme is not postgres://");
	if (strpbrk(p, "?#") != NULL)
		return url_bad(why, n, "parameters (?...) are not supported");
	slash = strchr(p, '/');
	if (slash == NULL)
		return url_bad(why, n, "no /DATABASE");
	at = memrchr(p, '@', (size_t)(slash - p));
	if (at == NULL || at == p)
		return url_bad(why, n, "no USER@ before the host");
	colon = memchr(p, ':', (size_t)(at - p));
	if (url_decode(p, (size_t)((colon != NULL ? colon : at) - p), t->user, sizeof(t->user)) != 0 ||
	    (colon != NULL && url_decode(colon + 1, (size_t)(at - colon - 1), t->password, sizeof(t->password)) != 0))
		return url_bad(why, n, "the user or the password is over 255 bytes or badly %-escaped");
	if (t->user[0] == '\0')
		return url_bad(why, n, "no USER@ before the host");
	if (parse_host_port(at + 1, slash, t, why, n) != 0)
		return -1;
	if (slash[1] == '\0' || url_decode(slash + 1, strlen(slash + 1), t->dbname, sizeof(t->dbname)) != 0)
		return url_bad(why, n, "no DATABASE after the host, or one over 255 bytes or badly %-escaped");
	return 0;
}

static void set_error(const char *why)
{
	snprintf(db_error, sizeof(db_error), "%s", why);
}

/* Under db_lock: whether the open connection can read the table; closes it when it is broken. */
static int check_locked(void)
{
	char why[256];
	int rc = pg_query(db_conn, "select 1 from " DB_TABLE " limit 0", NULL, 0, why, sizeof(why));

	if (rc == PG_BROKEN)
		pg_close(db_conn);
	if (rc != 0)
		set_error(why);
	return rc;
}

/* Once a second: a connection opened (outside the lock, so writes fail fast meanwhile) and checked. */
static void *keeper(void *arg)
{
	struct pgconn *fresh = xcalloc(1, sizeof(*fresh));
	struct timespec second = { 1, 0 };
	char why[256], said[256] = "";

	(void)arg;
	fresh->fd = -1;
	for (;;) {
		int closed, up;

		pthread_mutex_lock(&db_lock);
		closed = db_conn->fd < 0;
		pthread_mutex_unlock(&db_lock);
		if (closed && pg_open(fresh, &cfg.db, DB_TIMEOUT_S, why, sizeof(why)) == 0) {
			struct pgconn *old;

			pthread_mutex_lock(&db_lock);
			old = db_conn;
			db_conn = fresh;
			fresh = old;
			pthread_mutex_unlock(&db_lock);
			fprintf(stderr, "demo-node: connected to the database at %s:%ld/%s\n", cfg.db.host,
				cfg.db.port, cfg.db.dbname);
		}
		pthread_mutex_lock(&db_lock);
		if (closed && db_conn->fd < 0)
			set_error(why);
		up = db_conn->fd >= 0 && check_locked() == 0;
		atomic_store(&db_up, up);
		/* Said once per change: up, or down for another reason. */
		if (strcmp(said, up ? "up" : db_error) != 0) {
			snprintf(said, sizeof(said), "%s", up ? "up" : db_error);
			fprintf(stderr, "demo-node: database %s%s\n", up ? "up" : "down: ", up ? "" : db_error);
		}
		pthread_mutex_unlock(&db_lock);
		nanosleep(&second, NULL);
	}
	return NULL;
}

int db_start(void)
{
	pthread_t t;

	if (!db_enabled())
		return 0;
	db_conn = xcalloc(1, sizeof(*db_conn));
	db_conn->fd = -1;
	set_error("not connected yet");
	if (pthread_create(&t, NULL, keeper, NULL) != 0) {
		fprintf(stderr, "demo-node: cannot start the database thread\n");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

/* One transaction's row; -1 with the reason (safe inside a JSON string) when it is not written. */
int db_write(uint64_t seq, size_t bytes, char *why, size_t n)
{
	char sql[512];
	int rc;

	snprintf(sql, sizeof(sql), "insert into " DB_TABLE " (tx_id, node, version, bytes) values "
		 "('%s-%" PRIu64 "', '%s', '%s', %zu)", cfg.node, seq, cfg.node, cfg.version, bytes);
	pthread_mutex_lock(&db_lock);
	if (db_conn->fd < 0) {
		snprintf(why, n, "no connection to the database: %s", db_error);
		rc = -1;
	} else {
		rc = pg_query(db_conn, sql, NULL, 0, why, n);
		if (rc == PG_BROKEN)
			pg_close(db_conn);
		if (rc != 0) {
			set_error(why);
			atomic_store(&db_up, 0);
		}
	}
	pthread_mutex_unlock(&db_lock);
	atomic_fetch_add(rc == 0 ? &db_written : &db_failed, 1);
	return rc == 0 ? 0 : -1;
}

int db_metrics_render(struct buf *out)
{
	if (!db_enabled())
		return 0;
	return buf_printf(out, "# HELP demo_node_db_writes_total Transactions written to the database, by result.\n"
			  "# TYPE demo_node_db_writes_total counter\n"
			  "demo_node_db_writes_total{result=\"written\"} %" PRIu64 "\n"
			  "demo_node_db_writes_total{result=\"failed\"} %" PRIu64 "\n"
			  "# HELP demo_node_db_up 1 while the node holds a connection that can read its table.\n"
			  "# TYPE demo_node_db_up gauge\ndemo_node_db_up %d\n",
			  (uint64_t)atomic_load(&db_written), (uint64_t)atomic_load(&db_failed),
			  atomic_load(&db_up));
}
