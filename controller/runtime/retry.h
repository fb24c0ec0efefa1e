/* Retry with exponential backoff and jitter: the pure schedule, with the randomness passed in. */
#ifndef AURIGA_RETRY_H
#define AURIGA_RETRY_H

#include <stdint.h>

/*
 * The deployment guide's defaults: at most 5 attempts, 100 ms before the
 * second, doubling each time, never more than 30 s (100, 200, 400, 800 ms),
 * each delay moved by up to +/- jitter_pct percent so that many callers that
 * failed together do not come back together.
 */
struct retry_policy {
	unsigned max_attempts;	/* including the first; 1 disables retries, 0 retries without end */
	int64_t initial_ms;
	int64_t max_ms;
	unsigned multiplier;	/* 2: doubling */
	unsigned jitter_pct;	/* 0..100 */
};

#define RETRY_POLICY_DEFAULT { 5, 100, 30000, 2, 20 }

void retry_policy_default(struct retry_policy *p);

/* The delay before the next attempt without jitter, after `attempt` attempts (1-based) have failed. */
int64_t retry_base_delay_ms(const struct retry_policy *p, unsigned attempt);

/*
 * The delay with jitter: rnd is a uniform random 32-bit value (tests pass
 * fixed ones). 0 maps to -jitter, UINT32_MAX to +jitter; never above max_ms
 * and never below 1.
 */
int64_t retry_delay_ms(const struct retry_policy *p, unsigned attempt, uint32_t rnd);

/* 1 when another attempt is allowed after `attempt` attempts have failed. */
int retry_allowed(const struct retry_policy *p, unsigned attempt);

/* A random 32-bit value for the jitter (from a per-thread generator seeded once). */
uint32_t retry_random(void);

#endif
