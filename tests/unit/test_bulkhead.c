/* Unit tests for bulkhead accounting: slots, the FIFO queue, rejection, hand-over, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/bulkhead.h"
#include "testmain.h"

static void limit_then_queue_then_reject(void **state)
{
	struct bulkhead b;
	struct bulkhead_waiter w[6];
	static const enum bulkhead_verdict want[] = {
		BULKHEAD_RUN, BULKHEAD_RUN, BULKHEAD_QUEUED, BULKHEAD_QUEUED, BULKHEAD_QUEUED, BULKHEAD_REJECTED,
	};
	int i;

	(void)state;
	bulkhead_init(&b, 2, 3);
	for (i = 0; i < 6; i++) {
		w[i].arg = &w[i];
		assert_int_equal(bulkhead_enter(&b, &w[i]), want[i]);
	}
	assert_int_equal(b.active, 2);
	assert_int_equal(b.queued, 3);
	assert_int_equal(b.rejected, 1);
	/* Slots pass to waiters in the order they came. */
	assert_ptr_equal(bulkhead_release(&b), &w[2]);
	assert_ptr_equal(bulkhead_release(&b), &w[3]);
	assert_int_equal(b.active, 2);
	assert_ptr_equal(bulkhead_release(&b), &w[4]);
	assert_null(bulkhead_release(&b));
	assert_int_equal(b.active, 1);
	assert_null(bulkhead_release(&b));
	assert_int_equal(b.active, 0);
	assert_int_equal(b.admitted, 5);
}

static void reject_mode_never_queues(void **state)
{
	struct bulkhead b;
	struct bulkhead_waiter w;

	(void)state;
	bulkhead_init(&b, 1, 0);
	assert_int_equal(bulkhead_enter(&b, &w), BULKHEAD_RUN);
	assert_int_equal(bulkhead_enter(&b, &w), BULKHEAD_REJECTED);
	assert_int_equal(bulkhead_enter(&b, NULL), BULKHEAD_REJECTED);
	assert_int_equal(b.queued, 0);
}

static void compartments_are_independent(void **state)
{
	struct bulkhead probe, rollout;
	struct bulkhead_waiter w[20];
	int i;

	(void)state;
	bulkhead_init(&probe, 4, 8);
	bulkhead_init(&rollout, 2, 8);
	for (i = 0; i < 20; i++)
		(void)bulkhead_enter(&probe, &w[i]);
	/* Probes filled and overflowed their own compartment; rollout still runs at once. */
	assert_int_equal(probe.active, 4);
	assert_int_equal(probe.queued, 8);
	assert_int_equal(probe.rejected, 8);
	assert_int_equal(bulkhead_enter(&rollout, NULL), BULKHEAD_RUN);
}

static void removed_waiters_do_not_get_slots(void **state)
{
	struct bulkhead b;
	struct bulkhead_waiter w[4];
	int i;

	(void)state;
	bulkhead_init(&b, 1, 3);
	for (i = 0; i < 4; i++)
		(void)bulkhead_enter(&b, &w[i]);
	assert_true(bulkhead_remove(&b, &w[2]));
	assert_false(bulkhead_remove(&b, &w[2]));
	assert_true(bulkhead_remove(&b, &w[3]));	/* the tail */
	assert_int_equal(b.queued, 1);
	assert_ptr_equal(bulkhead_release(&b), &w[1]);
	assert_null(bulkhead_release(&b));
	/* The queue is empty and its tail reset: a new waiter is first and last. */
	assert_int_equal(bulkhead_enter(&b, &w[0]), BULKHEAD_RUN);
	assert_int_equal(bulkhead_enter(&b, &w[3]), BULKHEAD_QUEUED);
	assert_ptr_equal(bulkhead_release(&b), &w[3]);
}

TEST_MAIN(
	cmocka_unit_test(limit_then_queue_then_reject),
	cmocka_unit_test(reject_mode_never_queues),
	cmocka_unit_test(compartments_are_independent),
	cmocka_unit_test(removed_waiters_do_not_get_slots))
