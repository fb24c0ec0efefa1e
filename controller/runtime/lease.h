/* The leader's lease: its record (holder, fencing generation, renewal, TTL) and the pure decisions taken on it. */
#ifndef AURIGA_LEASE_H
#define AURIGA_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The longest TTL a lease record may state (lease-ttl's own bound): a record in the specs repo
 * cannot keep followers waiting longer than the operator allows. */
#define LEASE_TTL_MAX_MS (10 * 60 * 1000L)
/* Generations at or past this are refused, so that a taker's +1 never wraps. */
#define LEASE_GENERATION_MAX (UINT64_C(1) << 62)

/*
 * One lease as its home keeps it. The generation is the fencing token: it
 * grows by one each time the holder changes and never otherwise, so what a
 * leader stamps with it tells the leaders apart.
 */
struct lease_record {
	char *holder;		/* the controller holding it: host:pid:nonce */
	uint64_t generation;
	int64_t renewed_at_ms;	/* the holder's wall clock, for people; the decisions never compare it */
	int64_t ttl_ms;		/* how long it holds after a renewal, as the holder counts */
	char *api;		/* where the holder's HTTP API listens ("" when it serves none) */
};

void lease_record_release(struct lease_record *r);
/* The record as the text of a lease commit's message (its first line a summary). */
char *lease_record_format(const struct lease_record *r, const char *instance);
/* Parses what lease_record_format wrote; ERR_INVALID naming the line and field otherwise. */
int lease_record_parse(const char *text, struct lease_record *out, struct error **err);
/* 1 when s may be a holder: 1 to 127 of [A-Za-z0-9._:@-]. */
int lease_holder_valid(const char *s);

/*
 * What a controller knows at one round, all times on its own monotonic
 * clock (ms). Wall clocks are never compared across controllers: a follower
 * counts the TTL from the moment it first saw the current lease commit,
 * which is after its holder began the renewal that made it; the holder
 * counts from the start of that renewal and gives up skew_ms earlier. So
 * with clocks whose rates differ by less than skew_ms over one TTL, the
 * holder always stops before any follower may take the lease.
 */
struct lease_view {
	int exists;		/* the home holds a lease */
	int mine;		/* ... and it is the commit this controller pushed last */
	int leading;		/* this controller holds the lease as far as it knows */
	int64_t renewed_began;	/* when its last successful renewal began (leading) */
	int64_t seen_since;	/* when the home's current lease commit was first seen */
	int64_t now;
	int64_t ttl_ms;		/* this controller's TTL */
	int64_t their_ttl_ms;	/* the TTL the current record states (a follower waits the longer) */
	int64_t skew_ms;	/* the bound on how far two controllers' clocks may drift apart in one TTL */
};

enum lease_step {
	LEASE_RENEW,		/* hold: write the next renewal */
	LEASE_STEP_DOWN,	/* stop acting at once: lost, gone, or not renewed in time */
	LEASE_FOLLOW,		/* another holds it: observe */
	LEASE_TAKE,		/* none, or expired: try to take it with the next generation */
};

const char *lease_step_name(enum lease_step s);
enum lease_step lease_decide(const struct lease_view *v);

/*
 * 1 while a holder whose last renewal began at renewed_began may act at now:
 * less than ttl_ms - skew_ms has passed. What every mutating action checks.
 */
int lease_valid(int64_t renewed_began, int64_t now, int64_t ttl_ms, int64_t skew_ms);

/*
 * The settings' rule: skew below a third of the TTL, and at least two
 * renewals within what the holder may use (ttl - skew), so one lost renewal
 * does not cost the lease. ERR_INVALID saying which.
 */
int lease_settings_check(int64_t ttl_ms, int64_t renew_ms, int64_t skew_ms, struct error **err);

#endif
