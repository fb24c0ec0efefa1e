/* Unit tests for canary replicas that follow the weight: the counts, the server weights, and releases run pass by pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/traffic.h"
#include "testmain.h"
#include "util.h"

#define NEW "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OLD "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MAX_CTRS 32

/* Each slot's containers at a weight: the table the design promises. */
static const struct count_case {
	int replicas, weight, new_count, stable_count;
} counts[] = {
	{ 5, 0, 1, 5 },	  { 5, 10, 1, 5 }, { 5, 20, 1, 4 }, { 5, 50, 3, 3 }, { 5, 80, 4, 1 },
	{ 5, 100, 5, 0 }, { 1, 10, 1, 1 }, { 1, 50, 1, 1 }, { 1, 90, 1, 1 }, { 1, 100, 1, 0 },
	{ 2, 20, 1, 2 },  { 2, 50, 1, 1 }, { 2, 80, 2, 1 }, { 2, 100, 2, 0 },
};

static void test_counts(void **state)
{
	size_t i;
	int r, w;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		const struct count_case *c = &counts[i];

		print_message("# %d replicas at %d%%: %d new, %d stable\n", c->replicas, c->weight, c->new_count,
			      c->stable_count);
		assert_int_equal(traffic_canary_new_count(c->replicas, c->weight), c->new_count);
		assert_int_equal(traffic_canary_stable_count(c->replicas, c->weight), c->stable_count);
	}
	/* Between the steps the two slots never hold more than one container past the replicas. */
	for (r = 1; r <= 20; r++)
		for (w = 1; w < 100; w++)
			assert_true(traffic_canary_new_count(r, w) + traffic_canary_stable_count(r, w) <= r + 1);
}

/* The server weights give each side its share exactly, whatever the two counts. */
static void test_server_weights(void **state)
{
	int r, w, a, b;

	(void)state;
	traffic_server_weights(30, 2, 2, &a, &b);
	assert_int_equal(a, 30);
	assert_int_equal(b, 70);
	traffic_server_weights(60, 2, 1, &a, &b);
	assert_int_equal(a, 60);
	assert_int_equal(b, 80);
	traffic_server_weights(100, 2, 1, &a, &b);
	assert_int_equal(a, 100);
	assert_int_equal(b, 0);
	traffic_server_weights(0, 1, 2, &a, &b);
	assert_int_equal(a, 0);
	assert_int_equal(b, 100);
	for (r = 1; r <= 10; r++)
		for (w = 1; w < 100; w++) {
			int nn = traffic_canary_new_count(r, w), no = traffic_canary_stable_count(r, w);

			traffic_server_weights(w, nn, no, &a, &b);
			assert_true(a >= 1 && a <= 1000 && b >= 1 && b <= 1000);
			/* nn * a / (nn * a + no * b) == w / 100 */
			assert_int_equal((long)nn * a * 100, (long)w * ((long)nn * a + (long)no * b));
		}
}

/* ------------------------------------------------------------ a release pass by pass */

/*
 * A small world: containers that become ready one pass after they are
 * made, and an engine that carries out the decision's operations, except
 * the removal of a running container while the router's table changed in
 * that pass (the engine holds it until NGINX serves the new table).
 */
struct world {
	struct obs_container oc[MAX_CTRS];
	char names[MAX_CTRS][32];
	char slots[MAX_CTRS][8];
	int ready[MAX_CTRS];
	size_t n;
	int last_route[2][3];	/* the last table: per slot (0 blue, 1 green), servers and their weights */
	int served_weight;	/* the weight of the last table the router was given */
};

static void world_add(struct world *wd, const char *slot, const char *rev, int ordinal, int ready)
{
	size_t i = wd->n++;

	assert_true(wd->n <= MAX_CTRS);
	snprintf(wd->names[i], sizeof(wd->names[i]), "c-%s-%d", slot, ordinal);
	snprintf(wd->slots[i], sizeof(wd->slots[i]), "%s", slot);
	memset(&wd->oc[i], 0, sizeof(wd->oc[i]));
	wd->oc[i].id = wd->names[i];
	wd->oc[i].name = wd->names[i];
	wd->oc[i].slot = wd->slots[i];
	wd->oc[i].revision = (char *)rev;
	wd->oc[i].ordinal = ordinal;
	wd->oc[i].state = OBS_RUNNING;
	wd->ready[i] = ready;
}

static void world_drop(struct world *wd, const struct obs_container *c)
{
	size_t i = (size_t)(c - wd->oc);

	assert_true(i < wd->n);
	wd->oc[i].state = OBS_REMOVING;
}

/* Containers of slot at rev, ready ones in *ready. */
static int world_count(const struct world *wd, const char *slot, const char *rev, int *ready)
{
	int n = 0;
	size_t i;

	*ready = 0;
	for (i = 0; i < wd->n; i++)
		if (wd->oc[i].state != OBS_REMOVING && strcmp(wd->slots[i], slot) == 0 &&
		    strcmp(wd->oc[i].revision, rev) == 0) {
			n++;
			*ready += wd->ready[i];
		}
	return n;
}

/* Compacts away what was removed, so the next pass sees Docker's list. */
static void world_sweep(struct world *wd)
{
	size_t i, k = 0;

	for (i = 0; i < wd->n; i++) {
		if (wd->oc[i].state == OBS_REMOVING)
			continue;
		if (k != i) {
			wd->oc[k] = wd->oc[i];
			memcpy(wd->names[k], wd->names[i], sizeof(wd->names[k]));
			memcpy(wd->slots[k], wd->slots[i], sizeof(wd->slots[k]));
			wd->ready[k] = wd->ready[i];
		}
		wd->oc[k].id = wd->names[k];
		wd->oc[k].name = wd->names[k];
		wd->oc[k].slot = wd->slots[k];
		k++;
	}
	wd->n = k;
}

struct run {
	struct spec_strategy st;
	struct traffic_record rec;
	const char *rev, *stable;
	int rollback;
	int replicas;
};

/*
 * One pass: the decision, its invariants, and its operations carried out.
 * Returns 1 when the router's table changed (its weights or servers).
 */
static int pass(struct world *wd, struct run *ru, struct traffic_result *out)
{
	struct traffic_ctr v[MAX_CTRS];
	struct traffic_input in;
	int table[2][3], changed, nn, no, rn, ro;
	size_t i;

	world_sweep(wd);
	for (i = 0; i < wd->n; i++) {
		v[i].c = &wd->oc[i];
		v[i].ready = wd->ready[i];
		v[i].unknown = 0;
	}
	memset(&in, 0, sizeof(in));
	in.deployment = "api";
	in.strategy = &ru->st;
	in.replicas = ru->replicas;
	in.rev = ru->rev;
	in.stable_rev = ru->stable;
	in.rollback = ru->rollback;
	in.now = 1000;
	in.v = v;
	in.n = wd->n;
	traffic_decide(&in, &ru->rec, out);
	assert_null(out->fail);
	/* The table: servers and weights per slot; every routed server is ready. */
	memset(table, 0, sizeof(table));
	for (i = 0; i < wd->n; i++) {
		int s = strcmp(wd->slots[i], "green") == 0;

		if (out->route[i] == 0)
			continue;
		assert_true(wd->ready[i]);
		table[s][0]++;
		table[s][out->route[i] == TRAFFIC_ROUTE_BACKUP ? 2 : 1] +=
			out->route[i] == TRAFFIC_ROUTE_BACKUP ? 1 : out->route[i];
	}
	changed = memcmp(table, wd->last_route, sizeof(table)) != 0;
	memcpy(wd->last_route, table, sizeof(table));
	/* The new slot never gets a share before it has the containers that share needs, ready. */
	nn = world_count(wd, out->new_slot, ru->rev, &rn);
	no = world_count(wd, strcmp(out->new_slot, "green") == 0 ? "blue" : "green",
			 ru->rollback ? NEW : OLD, &ro);
	if (!ru->rollback && out->new_weight > wd->served_weight)
		assert_true(rn >= traffic_canary_new_count(ru->replicas, out->new_weight));
	/* Nor does the stable slot get a larger share back before it has grown, ready. */
	if (!ru->rollback && out->new_weight < wd->served_weight)
		assert_true(ro >= traffic_canary_stable_count(ru->replicas, out->new_weight));
	/* At a weight between 0 and 100 the table lists the design's servers per slot, no more and no fewer. */
	if (!ru->rollback && out->new_weight > 0 && out->new_weight < 100) {
		int g = strcmp(out->new_slot, "green") == 0;

		assert_int_equal(table[g][0], traffic_canary_new_count(ru->replicas, out->new_weight));
		assert_int_equal(table[!g][0], traffic_canary_stable_count(ru->replicas, out->new_weight));
	}
	/* Two slots side by side: never more than twice the replicas. */
	assert_true(nn + no <= 2 * ru->replicas);
	wd->served_weight = out->new_weight;
	for (i = 0; i < out->res.n_ops; i++) {
		const struct rollout_op *op = &out->res.ops[i];

		if (op->kind == ROLLOUT_CREATE) {
			world_add(wd, op->slot, op->stable ? ru->stable : ru->rev, op->ordinal, 0);
			continue;
		}
		if (op->kind != ROLLOUT_REMOVE)
			continue;
		/* A container the decision removes is not in its table: the engine's hold is then enough. */
		assert_int_equal(out->route[op->c - wd->oc], 0);
		if (!changed)
			world_drop(wd, op->c);
	}
	return changed;
}

/*
 * Everything made before this pass is ready now; or, staggered, only the
 * one made first of those not ready yet (containers seldom pass their
 * probes in the same pass).
 */
static int staggered;

static void world_ready(struct world *wd)
{
	size_t i;

	for (i = 0; i < wd->n; i++) {
		if (staggered && wd->ready[i])
			continue;
		wd->ready[i] = 1;
		if (staggered)
			break;
	}
}

static void strategy(struct spec_strategy *st, struct spec_canary_step *steps, const int *weights, size_t n)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->type = SPEC_STRATEGY_CANARY;
	for (i = 0; i < n; i++) {
		steps[2 * i] = (struct spec_canary_step){ .kind = SPEC_STEP_SET_WEIGHT, .weight = weights[i] };
		steps[2 * i + 1] = (struct spec_canary_step){ .kind = SPEC_STEP_PAUSE, .pause_ms = -1 };
	}
	st->steps = steps;
	st->n_steps = 2 * n;
}

/*
 * A release of r replicas through setWeight steps, each followed by a pause
 * until promoted: at every pause, once the router serves the weight, the new
 * slot runs new_count(w) and the stable slot stable_count(w); at the end the
 * new slot runs r.
 */
static void release(int r, const int *weights, size_t n_weights)
{
	struct spec_canary_step steps[16];
	struct world *wd = calloc(1, sizeof(*wd));
	struct traffic_result out;
	struct run ru;
	size_t seen = 0;
	int i, k, nn, no, rn, ro, settled = 0;

	assert_non_null(wd);
	memset(&ru, 0, sizeof(ru));
	strategy(&ru.st, steps, weights, n_weights);
	ru.rev = NEW;
	ru.stable = OLD;
	ru.replicas = r;
	for (i = 0; i < r; i++)
		world_add(wd, "blue", OLD, i, 1);
	for (k = 0; k < 200; k++) {
		int changed = pass(wd, &ru, &out), holding = out.holding, complete = out.res.complete;
		int w = out.new_weight, available = out.res.available;
		struct traffic_slot_count shown[2];

		memcpy(shown, out.slots, sizeof(shown));
		traffic_result_release(&out);
		world_ready(wd);
		if (complete) {
			assert_int_equal(seen, n_weights);
			break;
		}
		/* Held at a pause: once the table stands still two passes, the slots are at the weight's size. */
		settled = holding && !changed ? settled + 1 : 0;
		if (settled < 2)
			continue;
		nn = world_count(wd, "green", NEW, &rn);
		no = world_count(wd, "blue", OLD, &ro);
		print_message("# %d replicas at %d%%: green %d (%d ready), blue %d (%d ready)\n", r, w, nn, rn, no, ro);
		assert_true(seen < n_weights);
		assert_int_equal(w, weights[seen]);
		assert_int_equal(nn, traffic_canary_new_count(r, w));
		assert_int_equal(rn, nn);
		assert_int_equal(no, traffic_canary_stable_count(r, w));
		assert_true(nn + no <= r + 1);
		/* The status: each slot ready against what it runs at this weight. */
		assert_string_equal(shown[0].slot, "green");
		assert_int_equal(shown[0].ready, nn);
		assert_int_equal(shown[0].desired, nn);
		assert_string_equal(shown[1].slot, "blue");
		assert_int_equal(shown[1].ready, no);
		assert_int_equal(shown[1].desired, no);
		/* Both slots serve: the deployment counts them all available. */
		assert_int_equal(available, nn + no);
		seen++;
		ru.rec.promote = 1;
		settled = 0;
	}
	assert_true(k < 200);
	/* Healthy: the stable slot is the new revision's, the old slot goes. */
	ru.stable = NEW;
	for (k = 0; k < 10; k++) {
		(void)pass(wd, &ru, &out);
		traffic_result_release(&out);
		world_ready(wd);
	}
	nn = world_count(wd, "green", NEW, &rn);
	no = world_count(wd, "blue", OLD, &ro);
	assert_int_equal(nn, r);
	assert_int_equal(rn, r);
	assert_int_equal(no, 0);
	free(wd);
}

static void test_release_five(void **state)
{
	static const int w[] = { 10, 20, 50, 80 };

	(void)state;
	release(5, w, ARRAY_SIZE(w));
}

static void test_release_one(void **state)
{
	static const int w[] = { 20, 50, 80 };

	(void)state;
	release(1, w, ARRAY_SIZE(w));
}

static void test_release_two(void **state)
{
	static const int w[] = { 20, 50, 80 };

	(void)state;
	release(2, w, ARRAY_SIZE(w));
}

/*
 * The same releases with containers ready one a pass: one ready early
 * for the next weight is not routed before that weight, so each weight's
 * table is the design's whatever the order containers become ready in.
 */
static void test_release_staggered(void **state)
{
	static const int w[] = { 20, 50, 80 }, down[] = { 80, 20 };

	(void)state;
	staggered = 1;
	release(5, w, ARRAY_SIZE(w));
	release(7, w, ARRAY_SIZE(w));
	release(5, down, ARRAY_SIZE(down));
	staggered = 0;
}

/* A weight that goes down: the stable slot grows back, ready, before it gets its share again. */
static void test_weight_down(void **state)
{
	static const int w[] = { 80, 20 };

	(void)state;
	release(5, w, ARRAY_SIZE(w));
}

/*
 * An abort at 50 % of five replicas (three in each slot): the stable slot
 * is made whole again, five ready, while the canary keeps its share; only
 * then does the stable slot take all traffic, and the canary goes after.
 */
static void test_abort_midway(void **state)
{
	struct spec_canary_step steps[4];
	static const int weights[] = { 50, 80 };
	struct world *wd = calloc(1, sizeof(*wd));
	struct traffic_result out;
	struct run ru;
	int i, nn, rn, no, ro;

	(void)state;
	assert_non_null(wd);
	memset(&ru, 0, sizeof(ru));
	strategy(&ru.st, steps, weights, ARRAY_SIZE(weights));
	ru.replicas = 5;
	for (i = 0; i < 3; i++) {
		world_add(wd, "blue", OLD, i, 1);
		world_add(wd, "green", NEW, i, 1);
	}
	snprintf(ru.rec.rev, sizeof(ru.rec.rev), "%s", NEW);
	ru.rec.step = 2;
	ru.rec.weight = 50;
	/* The return: the target is the stable revision, in slot blue. */
	ru.rev = OLD;
	ru.stable = OLD;
	ru.rollback = 1;
	(void)pass(wd, &ru, &out);
	assert_string_equal(out.new_slot, "blue");
	assert_int_equal(out.new_weight, 50);
	assert_int_equal(out.res.complete, 0);
	assert_int_equal(out.slots[0].desired, 5);
	assert_int_equal(out.slots[0].ready, 3);
	assert_int_equal(world_count(wd, "blue", OLD, &ro), 5);
	assert_int_equal(world_count(wd, "green", NEW, &rn), 3);
	traffic_result_release(&out);
	/* A pass before the new ones are ready: still half and half. */
	(void)pass(wd, &ru, &out);
	assert_int_equal(out.new_weight, 50);
	traffic_result_release(&out);
	world_ready(wd);
	(void)pass(wd, &ru, &out);
	assert_int_equal(out.new_weight, 100);
	assert_int_equal(out.res.complete, 1);
	assert_int_equal(ru.rec.left_weight, 0);
	/* The canary is no fallback once the stable slot takes everything. */
	for (i = 0; i < (int)wd->n; i++)
		if (strcmp(wd->slots[i], "green") == 0)
			assert_int_equal(out.route[i], 0);
	traffic_result_release(&out);
	for (i = 0; i < 3; i++) {
		(void)pass(wd, &ru, &out);
		assert_int_equal(out.new_weight, 100);
		traffic_result_release(&out);
	}
	nn = world_count(wd, "blue", OLD, &rn);
	no = world_count(wd, "green", NEW, &ro);
	print_message("# after the abort: blue %d (%d ready), green %d\n", nn, rn, no);
	assert_int_equal(nn, 5);
	assert_int_equal(rn, 5);
	assert_int_equal(no, 0);
	free(wd);
}

TEST_MAIN(
	cmocka_unit_test(test_counts),
	cmocka_unit_test(test_server_weights),
	cmocka_unit_test(test_release_staggered),
	cmocka_unit_test(test_release_five),
	cmocka_unit_test(test_release_one),
	cmocka_unit_test(test_release_two),
	cmocka_unit_test(test_weight_down),
	cmocka_unit_test(test_abort_midway))
