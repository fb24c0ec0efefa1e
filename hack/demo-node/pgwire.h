/* A PostgreSQL client of the protocol's simple-query subset (pgwire.c), for the demo node's transactions. */
#ifndef DEMO_NODE_PGWIRE_H
#define DEMO_NODE_PGWIRE_H

#include "node.h"

#define PG_MSG_MAX (64 * 1024)	/* the largest message read from the server */
#define PG_FAILED (-1)		/* the statement failed; the connection is still good */
#define PG_BROKEN (-2)		/* the connection is gone or out of step: close it */

struct pgconn {
	int fd;			/* -1 when closed */
	char type;		/* the last message read, its body and its length */
	size_t len;
	char msg[PG_MSG_MAX + 1];
};

/* Connects and logs in, bounded by timeout_s per socket operation; -1 with the reason in why. */
int pg_open(struct pgconn *c, const struct db_target *t, int timeout_s, char *why, size_t n);
/* Runs sql as a simple query; the first column of its first row (when first is not NULL) goes to first. */
int pg_query(struct pgconn *c, const char *sql, char *first, size_t first_size, char *why, size_t n);
void pg_close(struct pgconn *c);

#endif
