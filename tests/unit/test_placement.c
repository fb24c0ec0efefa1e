/* Unit tests for the placement of ordinals on endpoints: stable, spread, bounded, hosts lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "spec.h"
#include "testmain.h"

#define MAXE 8
#define MAXR 40

static struct kv zone_a = { (char *)"zone", (char *)"a" };
static struct kv zone_b = { (char *)"zone", (char *)"b" };
static struct kv zone_c = { (char *)"zone", (char *)"c" };

/* Five endpoints: e0 and e1 in zone a, e2 and e3 in zone b, e4 in zone c. */
static struct placement_endpoint five[5] = {
	{ "e0", &zone_a, 1, 0, 0 }, { "e1", &zone_a, 1, 0, 0 }, { "e2", &zone_b, 1, 0, 0 },
	{ "e3", &zone_b, 1, 0, 0 }, { "e4", &zone_c, 1, 0, 0 },
};

static struct spec_placement no_bound(void)
{
	struct spec_placement p;

	memset(&p, 0, sizeof(p));
	return p;
}

static int assign(struct placement_endpoint *eps, size_t n, const struct spec_placement *p, int replicas,
		  const int *current, int move_down, int *out)
{
	struct placement_request r = { eps, n, p, replicas, current, move_down };

	return placement_assign(&r, out);
}

static void expect_out(const int *want, const int *got, int n)
{
	int o;

	for (o = 0; o < n; o++) {
		if (want[o] != got[o])
			print_error("ordinal %d: want %d, got %d\n", o, want[o], got[o]);
		assert_int_equal(want[o], got[o]);
	}
}

static void fresh_one_per_endpoint(void **state)
{
	struct spec_placement p = no_bound();
	int out[5], want[5] = { 0, 1, 2, 3, 4 };

	(void)state;
	p.max_per_endpoint = 1;
	assert_int_equal(assign(five, 5, &p, 5, NULL, 0, out), 0);
	expect_out(want, out, 5);
}

static void fresh_spread_evenly(void **state)
{
	int out[7], want[7] = { 0, 1, 2, 0, 1, 2, 0 };

	(void)state;
	/* No placement at all: every endpoint, no bound, as even as it goes. */
	assert_int_equal(assign(five, 3, NULL, 7, NULL, 0, out), 0);
	expect_out(want, out, 7);
}

static void stable_keeps_hosts(void **state)
{
	struct spec_placement p = no_bound();
	int cur[4] = { 4, 4, 0, -1 }, out[4], want[4] = { 4, 4, 0, 1 };

	(void)state;
	p.max_per_endpoint = 2;
	/* Ordinals 0-2 stay where they are, however uneven; ordinal 3 goes to the emptiest. */
	assert_int_equal(assign(five, 5, &p, 4, cur, 0, out), 0);
	expect_out(want, out, 4);
}

static void lowered_bound_moves_the_highest(void **state)
{
	struct spec_placement p = no_bound();
	int cur[3] = { 0, 0, 0 }, out[3], want[3] = { 0, 0, 1 };

	(void)state;
	p.max_per_endpoint = 2;
	assert_int_equal(assign(five, 2, &p, 3, cur, 0, out), 0);
	expect_out(want, out, 3);
}

static void host_down_stateful_stays(void **state)
{
	struct placement_endpoint eps[3] = { { "e0", NULL, 0, 0, 0 }, { "e1", NULL, 0, 1, 0 }, { "e2", NULL, 0, 0, 0 } };
	struct spec_placement p = no_bound();
	int cur[4] = { 0, 1, 2, -1 }, out[4], want[4] = { 0, 1, 2, 0 };

	(void)state;
	p.max_per_endpoint = 2;
	/* Ordinal 1 stays on the lost host (its volume is there); the new ordinal 3 avoids that host. */
	assert_int_equal(assign(eps, 3, &p, 4, cur, 0, out), 0);
	expect_out(want, out, 4);
}

static void host_down_stateless_moves(void **state)
{
	struct placement_endpoint eps[3] = { { "e0", NULL, 0, 0, 0 }, { "e1", NULL, 0, 1, 0 }, { "e2", NULL, 0, 0, 0 } };
	struct spec_placement p = no_bound();
	int cur[3] = { 0, 1, 2 }, out[3], want[3] = { 0, 0, 2 };

	(void)state;
	p.max_per_endpoint = 2;
	assert_int_equal(assign(eps, 3, &p, 3, cur, 1, out), 0);
	expect_out(want, out, 3);
}

static void host_down_leave_per_endpoint(void **state)
{
	/* e1 and e3 are down; e1's grace period is over (leave), e3's is not: only e1's replica is placed anew. */
	struct placement_endpoint eps[4] = { { "e0", NULL, 0, 0, 0 }, { "e1", NULL, 0, 1, 1 }, { "e2", NULL, 0, 0, 0 },
					     { "e3", NULL, 0, 1, 0 } };
	int cur[4] = { 0, 1, 2, 3 }, out[4], want[4] = { 0, 0, 2, 3 };

	(void)state;
	assert_int_equal(assign(eps, 4, NULL, 4, cur, 0, out), 0);
	expect_out(want, out, 4);
	/* A leave on an endpoint that answers moves nothing. */
	eps[1].down = 0;
	want[1] = 1;
	assert_int_equal(assign(eps, 4, NULL, 4, cur, 0, out), 0);
	expect_out(want, out, 4);
}

static void host_down_nowhere_to_go(void **state)
{
	struct placement_endpoint eps[2] = { { "e0", NULL, 0, 0, 0 }, { "e1", NULL, 0, 1, 0 } };
	struct spec_placement p = no_bound();
	int cur[2] = { 0, 1 }, out[2], want[2] = { 0, -1 };

	(void)state;
	p.max_per_endpoint = 1;
	/* One per endpoint and the other endpoint down: ordinal 1 waits, it is not doubled up on e0. */
	assert_int_equal(assign(eps, 2, &p, 2, cur, 1, out), 1);
	expect_out(want, out, 2);
}

static void every_host_down(void **state)
{
	struct placement_endpoint eps[2] = { { "e0", NULL, 0, 1, 0 }, { "e1", NULL, 0, 1, 0 } };
	int out[2], want[2] = { -1, -1 };

	(void)state;
	assert_int_equal(assign(eps, 2, NULL, 2, NULL, 0, out), 2);
	expect_out(want, out, 2);
}

static void names_and_selector(void **state)
{
	struct spec_placement p = no_bound();
	char *names[] = { (char *)"e1", (char *)"e2", (char *)"e4" };
	struct kv sel = { (char *)"zone", (char *)"b" };
	int out[3], want_names[3] = { 1, 2, 4 }, want_sel[3] = { 2, 3, 2 };

	(void)state;
	p.endpoints = names;
	p.n_endpoints = 3;
	assert_int_equal(assign(five, 5, &p, 3, NULL, 0, out), 0);
	expect_out(want_names, out, 3);
	p.endpoints = NULL;
	p.n_endpoints = 0;
	p.selector = &sel;
	p.n_selector = 1;
	assert_int_equal(assign(five, 5, &p, 3, NULL, 0, out), 0);
	expect_out(want_sel, out, 3);
}

static void no_longer_eligible_moves(void **state)
{
	struct spec_placement p = no_bound();
	char *names[] = { (char *)"e2", (char *)"e3" };
	int cur[2] = { 0, 3 }, out[2], want[2] = { 2, 3 };

	(void)state;
	p.endpoints = names;
	p.n_endpoints = 2;
	assert_int_equal(assign(five, 5, &p, 2, cur, 0, out), 0);
	expect_out(want, out, 2);
}

static void spread_by_zone(void **state)
{
	struct spec_placement p = no_bound();
	/* The emptiest zone first (a, b, c, a, b, c), then the emptier endpoint within it. */
	int out[6], want[6] = { 0, 2, 4, 1, 3, 4 };

	(void)state;
	p.spread_by = (char *)"zone";
	assert_int_equal(assign(five, 5, &p, 6, NULL, 0, out), 0);
	expect_out(want, out, 6);
}

static void spread_by_zone_counts_kept(void **state)
{
	struct spec_placement p = no_bound();
	int cur[3] = { 0, 1, -1 }, out[3], want[3] = { 0, 1, 2 };

	(void)state;
	/* Zone a holds two already: the new one goes to zone b, not to e0's emptier neighbour. */
	p.spread_by = (char *)"zone";
	assert_int_equal(assign(five, 4, &p, 3, cur, 0, out), 0);
	expect_out(want, out, 3);
}

static void not_enough_endpoints(void **state)
{
	struct spec_placement p = no_bound();
	int out[3], want[3] = { 0, 1, -1 };

	(void)state;
	p.max_per_endpoint = 1;
	assert_int_equal(assign(five, 2, &p, 3, NULL, 0, out), 1);
	expect_out(want, out, 3);
}

static void out_of_range_current(void **state)
{
	int cur[2] = { 7, -3 }, out[2], want[2] = { 0, 1 };

	(void)state;
	assert_int_equal(assign(five, 2, NULL, 2, cur, 0, out), 0);
	expect_out(want, out, 2);
}

static void max_on_one(void **state)
{
	int out[5] = { 0, 2, 2, -1, 1 };
	long at;

	(void)state;
	assert_int_equal(placement_max_on_one(out, 5, 3, &at), 2);
	assert_int_equal(at, 2);
	assert_int_equal(placement_max_on_one(out, 0, 3, &at), 0);
	assert_int_equal(at, -1);
}

/* A small deterministic generator: the shapes are the same on every run. */
static unsigned next(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

/* The rules, over one shape: bound, eligibility, no new replica on a lost host, stability, the count. */
static void check_shape(struct placement_endpoint *eps, size_t n, const struct spec_placement *p, int replicas,
			const int *cur, int move_down, const int *out, int unplaced)
{
	int count[MAXE] = { 0 }, kept[MAXE] = { 0 }, o, none = 0;
	size_t e;

	for (o = 0; o < replicas; o++) {
		if (out[o] < 0) {
			none++;
			continue;
		}
		assert_true((size_t)out[o] < n);
		assert_true(placement_eligible(p, &eps[out[o]]));
		count[out[o]]++;
		if (out[o] != cur[o])
			assert_false(eps[out[o]].down);
	}
	assert_int_equal(none, unplaced);
	for (e = 0; e < n; e++) {
		if (p->max_per_endpoint > 0)
			assert_true(count[e] <= p->max_per_endpoint);
	}
	/* Stable: an ordinal that may stay, stays (lower ordinals first within the bound). */
	for (o = 0; o < replicas; o++) {
		int c = cur[o];

		if (c < 0 || (size_t)c >= n || !placement_eligible(p, &eps[c]) || (eps[c].down && (move_down || eps[c].leave)))
			continue;
		if (p->max_per_endpoint > 0 && kept[c] >= p->max_per_endpoint)
			continue;
		kept[c]++;
		assert_int_equal(out[o], c);
	}
	/* Nothing waits while an endpoint that is up could take it. */
	if (unplaced > 0)
		for (e = 0; e < n; e++)
			assert_true(!placement_eligible(p, &eps[e]) || eps[e].down ||
				    (p->max_per_endpoint > 0 && count[e] >= p->max_per_endpoint));
}

static void many_shapes(void **state)
{
	static struct kv zones[3] = { { (char *)"zone", (char *)"a" }, { (char *)"zone", (char *)"b" },
				      { (char *)"zone", (char *)"c" } };
	unsigned seed = 19;
	int round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		struct placement_endpoint eps[MAXE];
		struct spec_placement p = no_bound();
		struct kv sel = { (char *)"zone", (char *)"a" };
		int cur[MAXR], out[MAXR], replicas = (int)(next(&seed) % MAXR), move_down = (int)(next(&seed) % 2);
		size_t n = 1 + next(&seed) % MAXE, e;
		int o, unplaced;

		for (e = 0; e < n; e++) {
			eps[e].name = "x";
			eps[e].labels = &zones[next(&seed) % 3];
			eps[e].n_labels = next(&seed) % 5 ? 1 : 0;
			eps[e].down = next(&seed) % 4 == 0;
			eps[e].leave = next(&seed) % 2;
		}
		for (o = 0; o < replicas; o++)
			cur[o] = (int)(next(&seed) % (n + 2)) - 1;
		p.max_per_endpoint = (int)(next(&seed) % 4);
		if (next(&seed) % 3 == 0)
			p.spread_by = (char *)"zone";
		if (next(&seed) % 5 == 0) {
			p.selector = &sel;
			p.n_selector = 1;
		}
		unplaced = assign(eps, n, &p, replicas, cur, move_down, out);
		check_shape(eps, n, &p, replicas, cur, move_down, out, unplaced);
	}
}

/* Placed from nothing with every endpoint up and no bound: no endpoint holds two more than another. */
static void fresh_is_even(void **state)
{
	unsigned seed = 7;
	int round;

	(void)state;
	for (round = 0; round < 500; round++) {
		struct placement_endpoint eps[MAXE];
		int out[MAXR], count[MAXE] = { 0 }, replicas = (int)(next(&seed) % MAXR), o, lo = MAXR, hi = 0;
		size_t n = 1 + next(&seed) % MAXE, e;

		for (e = 0; e < n; e++) {
			eps[e].name = "x";
			eps[e].labels = NULL;
			eps[e].n_labels = 0;
			eps[e].down = 0;
		}
		assert_int_equal(assign(eps, n, NULL, replicas, NULL, 0, out), 0);
		for (o = 0; o < replicas; o++)
			count[out[o]]++;
		for (e = 0; e < n; e++) {
			lo = count[e] < lo ? count[e] : lo;
			hi = count[e] > hi ? count[e] : hi;
		}
		assert_true(hi - lo <= 1);
	}
}

TEST_MAIN(cmocka_unit_test(fresh_one_per_endpoint), cmocka_unit_test(fresh_spread_evenly),
	  cmocka_unit_test(stable_keeps_hosts), cmocka_unit_test(lowered_bound_moves_the_highest),
	  cmocka_unit_test(host_down_stateful_stays), cmocka_unit_test(host_down_stateless_moves),
	  cmocka_unit_test(host_down_leave_per_endpoint),
	  cmocka_unit_test(host_down_nowhere_to_go), cmocka_unit_test(every_host_down),
	  cmocka_unit_test(names_and_selector), cmocka_unit_test(no_longer_eligible_moves),
	  cmocka_unit_test(spread_by_zone), cmocka_unit_test(spread_by_zone_counts_kept),
	  cmocka_unit_test(not_enough_endpoints), cmocka_unit_test(out_of_range_current),
	  cmocka_unit_test(max_on_one), cmocka_unit_test(many_shapes), cmocka_unit_test(fresh_is_even))
