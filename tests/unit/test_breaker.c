/* Unit tests for the circuit breaker: scripted outcomes on an injected clock, state checked after each step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/breaker.h"
#include "testmain.h"

/* One step: at time t, either ask (allow expected) or record an outcome; then the state expected. */
enum op { ASK, OK, FAIL };
struct step {
	int64_t t;
	enum op op;
	int n;			/* repeat count */
	int allowed;		/* for ASK */
	enum breaker_state after;
};

static void run(const struct step *steps, size_t n)
{
	struct breaker_config c;
	struct breaker b;
	size_t i;

	breaker_config_default(&c);
	breaker_init(&b, &c);
	for (i = 0; i < n; i++) {
		int k;

		for (k = 0; k < (steps[i].n ? steps[i].n : 1); k++) {
			if (steps[i].op == ASK)
				assert_int_equal(breaker_allow(&b, steps[i].t), steps[i].allowed);
			else
				breaker_record(&b, steps[i].t, steps[i].op == OK);
		}
		if (breaker_state_at(&b, steps[i].t) != steps[i].after)
			fail_msg("step %zu: state %s, want %s", i, breaker_state_name(breaker_state_at(&b, steps[i].t)),
				 breaker_state_name(steps[i].after));
	}
}

static void opens_at_twenty_requests_half_failed(void **state)
{
	static const struct step s[] = {
		{ 1000, OK, 10, 0, BREAKER_CLOSED },
		{ 1100, FAIL, 9, 0, BREAKER_CLOSED },	/* 19 requests: below the minimum */
		{ 1200, FAIL, 1, 0, BREAKER_OPEN },	/* 20 requests, 10 failed: 50 % */
		{ 1300, ASK, 1, 0, BREAKER_OPEN },	/* refused at once */
		{ 6199, ASK, 1, 0, BREAKER_OPEN },	/* 5 s not yet over */
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

static void stays_closed_below_the_ratio(void **state)
{
	static const struct step s[] = {
		{ 1000, OK, 11, 0, BREAKER_CLOSED },
		{ 1000, FAIL, 9, 0, BREAKER_CLOSED },	/* 45 % */
		{ 1000, FAIL, 1, 0, BREAKER_CLOSED },	/* 10 of 21: 47.6 % */
		{ 1000, FAIL, 1, 0, BREAKER_OPEN },	/* 11 of 22: 50 % */
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

static void old_failures_leave_the_window(void **state)
{
	static const struct step s[] = {
		{ 1000, FAIL, 15, 0, BREAKER_CLOSED },
		/* 10 s later those 15 are out of the window: 5 more failures make 5, not 20. */
		{ 11500, FAIL, 5, 0, BREAKER_CLOSED },
		{ 11500, OK, 14, 0, BREAKER_CLOSED },
		{ 11500, FAIL, 1, 0, BREAKER_CLOSED },	/* 6 of 20: 30 % */
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

static void half_open_closes_after_two_successes(void **state)
{
	static const struct step s[] = {
		{ 0, FAIL, 20, 0, BREAKER_OPEN },
		{ 5000, ASK, 1, 1, BREAKER_HALF_OPEN },	/* trial 1 */
		{ 5000, ASK, 1, 1, BREAKER_HALF_OPEN },	/* trial 2 */
		{ 5000, ASK, 1, 0, BREAKER_HALF_OPEN },	/* no third trial at once */
		{ 5100, OK, 1, 0, BREAKER_HALF_OPEN },
		{ 5200, OK, 1, 0, BREAKER_CLOSED },
		{ 5300, ASK, 1, 1, BREAKER_CLOSED },
		/* Closed afresh: the old failures are forgotten. */
		{ 5300, FAIL, 19, 0, BREAKER_CLOSED },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

static void half_open_failure_opens_again(void **state)
{
	static const struct step s[] = {
		{ 0, FAIL, 20, 0, BREAKER_OPEN },
		{ 5000, ASK, 1, 1, BREAKER_HALF_OPEN },
		{ 5050, FAIL, 1, 0, BREAKER_OPEN },
		{ 10049, ASK, 1, 0, BREAKER_OPEN },	/* a new 5 s from the failed trial */
		{ 10050, ASK, 1, 1, BREAKER_HALF_OPEN },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

static void counts_and_names(void **state)
{
	struct breaker_config c;
	struct breaker b;
	unsigned ok, failed;

	(void)state;
	breaker_config_default(&c);
	breaker_init(&b, &c);
	breaker_record(&b, 100, 1);
	breaker_record(&b, 2100, 0);
	breaker_counts(&b, 2100, &ok, &failed);
	assert_int_equal(ok, 1);
	assert_int_equal(failed, 1);
	breaker_counts(&b, 10500, &ok, &failed);	/* the first has left the window */
	assert_int_equal(ok, 0);
	assert_int_equal(failed, 1);
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
	assert_int_equal(b.opens, 0);
}

TEST_MAIN(
	cmocka_unit_test(opens_at_twenty_requests_half_failed),
	cmocka_unit_test(stays_closed_below_the_ratio),
	cmocka_unit_test(old_failures_leave_the_window),
	cmocka_unit_test(half_open_closes_after_two_successes),
	cmocka_unit_test(half_open_failure_opens_again),
	cmocka_unit_test(counts_and_names))
