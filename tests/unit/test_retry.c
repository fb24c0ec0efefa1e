/* Unit tests for the backoff schedule: the guide's delays, the cap, the jitter bounds, the attempt limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/retry.h"
#include "testmain.h"

static void default_schedule_is_the_guides(void **state)
{
	struct retry_policy p;
	static const int64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000 };
	unsigned i;

	(void)state;
	retry_policy_default(&p);
	assert_int_equal(p.max_attempts, 5);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(retry_base_delay_ms(&p, i + 1), want[i]);
	/* Far past the cap it stays at the cap (no overflow). */
	assert_int_equal(retry_base_delay_ms(&p, 200), 30000);
}

static void attempts_are_limited(void **state)
{
	struct retry_policy p = RETRY_POLICY_DEFAULT;
	static const struct { unsigned attempt; int allowed; } table[] = {
		{ 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 0 }, { 6, 0 },
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(retry_allowed(&p, table[i].attempt), table[i].allowed);
	p.max_attempts = 0;
	assert_true(retry_allowed(&p, 1000000));
	p.max_attempts = 1;
	assert_false(retry_allowed(&p, 1));
}

static void jitter_stays_in_bounds(void **state)
{
	struct retry_policy p = RETRY_POLICY_DEFAULT;	/* 20 % */
	static const struct { unsigned attempt; uint32_t rnd; int64_t want; } table[] = {
		{ 1, 0, 80 },			/* -20 % */
		{ 1, UINT32_MAX, 120 },		/* +20 % */
		{ 1, UINT32_MAX / 2, 99 },	/* the middle, rounded down */
		{ 4, 0, 640 },
		{ 4, UINT32_MAX, 960 },
		{ 20, 0, 24000 },
		{ 20, UINT32_MAX, 30000 },	/* never above the cap */
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(retry_delay_ms(&p, table[i].attempt, table[i].rnd), table[i].want);
	p.jitter_pct = 0;
	assert_int_equal(retry_delay_ms(&p, 3, 12345), 400);
}

static void random_values_spread(void **state)
{
	uint32_t a = retry_random(), b = retry_random(), c = retry_random();

	(void)state;
	/* Three equal draws in a row from a 32-bit generator would be a broken generator. */
	assert_false(a == b && b == c);
}

TEST_MAIN(
	cmocka_unit_test(default_schedule_is_the_guides),
	cmocka_unit_test(attempts_are_limited),
	cmocka_unit_test(jitter_stays_in_bounds),
	cmocka_unit_test(random_values_spread))
