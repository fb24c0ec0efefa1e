/* The demo node's modules and the state they share: settings, health, metrics, HTTP, probe, database. */
#ifndef DEMO_NODE_H
#define DEMO_NODE_H

#include "buf.h"
#include "util.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_BAD_CONFIG 2	/* an environment variable or argument is wrong */
#define EXIT_CRASH 3		/* DEMO_CRASH_AFTER_S ran out */
#define ID_MAX 64		/* versions and node ids */
#define TX_BODY_MAX (1024 * 1024)
#define OUT_MAX (1024 * 1024)	/* largest response we build */
#define PROBE_TIMEOUT_S 5
#define DB_FIELD_MAX 255	/* user, password, host and database of DATABASE_URL */

/* Where the node writes its transactions (DATABASE_URL); host[0] == '\0' when it is not told. */
struct db_target {
	char user[DB_FIELD_MAX + 1];
	char password[DB_FIELD_MAX + 1];
	char host[DB_FIELD_MAX + 1];
	char dbname[DB_FIELD_MAX + 1];
	long port;
};

struct config {
	char version[ID_MAX + 1];
	char node[ID_MAX + 1];
	long port;
	long start_delay_ms;
	long never_ready;
	double error_rate;
	long latency_ms;
	long crash_after_s;
	long drain_ms;
	long live_fail_after_s;
	struct db_target db;
};

extern struct config cfg;

/* config.c: the settings table, read from the environment. */
int config_load(void);
void config_usage(FILE *f);
int id_valid(const char *s);

/* demo-node.c: the node's clock and health. */
extern int64_t start_ms;		/* monotonic */
extern int64_t start_wall_ms;
extern atomic_int draining;
extern atomic_uint_fast64_t tx_seq;	/* transactions received, numbers the spread of errors */
extern atomic_uint_fast64_t tx_accepted, tx_failed;
int64_t uptime_ms(void);
int is_started(void);
int is_live(void);
int is_ready(void);
int tx_should_fail(uint64_t n);

/* metrics.c: the request series and the node's own gauges. */
void metrics_record(const char *method, const char *uri, unsigned status, int64_t us);
int metrics_render(struct buf *out);

/* http.c: the server. */
int serve(void);

/* net.c: blocking TCP for the probe and the database client, bounded by a timeout. */
int net_connect(const char *host, long port, int timeout_s, char *why, size_t why_size);
int net_write_all(int fd, const char *p, size_t n);
int net_read_full(int fd, void *p, size_t n);

/* probe.c: `demo-node probe`. */
int probe_main(int argc, char **argv);

/* db.c: the transactions written to PostgreSQL when DATABASE_URL is set. */
int db_url_parse(const char *url, struct db_target *t, char *why, size_t why_size);
int db_enabled(void);
int db_start(void);
int db_ready(void);
int db_write(uint64_t seq, size_t bytes, char *why, size_t why_size);
int db_metrics_render(struct buf *out);

#endif
