/* The backoff schedule: exponential, capped, with jitter from a random value the caller supplies. */
#include "runtime/retry.h"

#include <time.h>
#include <unistd.h>

void retry_policy_default(struct retry_policy *p)
{
	const struct retry_policy d = RETRY_POLICY_DEFAULT;

	*p = d;
}

int64_t retry_base_delay_ms(const struct retry_policy *p, unsigned attempt)
{
	int64_t d = p->initial_ms > 0 ? p->initial_ms : 1;
	unsigned i;

	for (i = 1; i < attempt && d < p->max_ms; i++) {
		if (p->multiplier <= 1)
			break;
		d *= p->multiplier;
	}
	return d > p->max_ms ? p->max_ms : d;
}

int64_t retry_delay_ms(const struct retry_policy *p, unsigned attempt, uint32_t rnd)
{
	int64_t base = retry_base_delay_ms(p, attempt);
	int64_t span = base * (int64_t)(p->jitter_pct > 100 ? 100 : p->jitter_pct) / 100;
	/* rnd spread over [-span, +span]. */
	int64_t d = base - span + (int64_t)(((uint64_t)rnd * (uint64_t)(2 * span)) / UINT32_MAX);

	if (d > p->max_ms)
		d = p->max_ms;
	return d < 1 ? 1 : d;
}

int retry_allowed(const struct retry_policy *p, unsigned attempt)
{
	return p->max_attempts == 0 || attempt < p->max_attempts;
}

uint32_t retry_random(void)
{
	static _Thread_local uint64_t state;

	if (state == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 1;
	}
	/* xorshift64*: jitter needs spread, not secrecy. */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 2685821657736338717ULL) >> 32);
}
