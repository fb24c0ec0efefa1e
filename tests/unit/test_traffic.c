/* Unit tests for blue-green and canary decisions: slots, weights, checks and failures from a table. */
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
#define BAD "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct c { const char *slot; int ordinal; const char *rev; int ready; };	/* ready -1: not probed yet; -2: its endpoint does not answer */
#define END { NULL, 0, NULL, 0 }

enum strat { BG, BG_MANUAL, BG_SMOKE, CANARY };

struct tcase {
	const char *name;
	enum strat strat;
	const char *stable;		/* the last healthy revision */
	int rollback;
	struct c ctrs[8];
	struct traffic_record rec;	/* rev NEW is filled in when rec_set */
	int rec_set;
	int64_t now;
	enum traffic_check_kind check;
	int check_step;
	enum traffic_check_state check_state;
	/* expected */
	int creates, removes;
	const char *slot;
	int weight;
	enum traffic_check_kind want;
	int want_step;
	const char *fail;		/* substring, or NULL for no failure */
	int complete;
	int holding;
	int rec_switched, rec_step;
};

#define S1 { "blue", 0, OLD, 1 }, { "blue", 1, OLD, 1 }
#define G_READY { "green", 0, NEW, 1 }, { "green", 1, NEW, 1 }
/* A canary of two replicas runs one container up to 50 %. */
#define G1_READY { "green", 0, NEW, 1 }

static const struct tcase cases[] = {
	{ "first release: blue slot made", BG, NULL, 0, { END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 2, 0, "blue", 0, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 0, 0 },
	{ "new revision goes to the other slot, traffic stays", BG, OLD, 0, { S1, END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 2, 0, "green", 0, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 0, 0 },
	{ "slot not ready yet: wait, no switch", BG, OLD, 0, { S1, { "green", 0, NEW, 1 }, { "green", 1, NEW, 0 }, END },
	  { .rev = "" }, 0, 1000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 0, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 0, 0 },
	{ "smoke test asked before the switch", BG_SMOKE, OLD, 0, { S1, G_READY, END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 0, TRAFFIC_CHECK_SMOKE, 0, NULL, 0, 0, 0, 0 },
	{ "smoke test failed: the release fails, no switch", BG_SMOKE, OLD, 0, { S1, G_READY, END }, { .rev = "" }, 0,
	  1000, TRAFFIC_CHECK_SMOKE, 0, TRAFFIC_CHECK_FAILED, 0, 0, "green", 0, TRAFFIC_CHECK_NONE, 0,
	  "smoke test failed: exit 1", 0, 0, 0, 0 },
	{ "smoke test passed: switch, monitor window", BG_SMOKE, OLD, 0, { S1, G_READY, END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_SMOKE, 0, TRAFFIC_CHECK_PASSED, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 1, 0 },
	{ "autoPromotion off: wait for promote", BG_MANUAL, OLD, 0, { S1, G_READY, END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 0, TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 0, 0 },
	{ "autoPromotion off, promoted: switch", BG_MANUAL, OLD, 0, { S1, G_READY, END }, { .promote = 1 }, 1, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 1, 0 },
	{ "a new container stops being ready in the window: fail", BG, OLD, 0,
	  { S1, { "green", 0, NEW, 1 }, { "green", 1, NEW, 0 }, END }, { .switched = 1, .switched_at = 1000 }, 1, 2000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0,
	  "container 'c-green-1' of slot green stopped being ready after the switch", 0, 0, 1, 0 },
	{ "restarted in the window: a new container not probed yet is not a failure", BG, OLD, 0,
	  { S1, { "green", 0, NEW, 1 }, { "green", 1, NEW, -1 }, END }, { .switched = 1, .switched_at = 1000 }, 1, 2000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 1, 0 },
	{ "its endpoint does not answer in the window: not seen to stop, no failure", BG, OLD, 0,
	  { S1, { "green", 0, NEW, 1 }, { "green", 1, NEW, -2 }, END }, { .switched = 1, .switched_at = 1000 }, 1, 2000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 1, 0 },
	{ "restarted in the window: one not probed yet, the other seen not ready: fail", BG, OLD, 0,
	  { S1, { "green", 0, NEW, -1 }, { "green", 1, NEW, 0 }, END }, { .switched = 1, .switched_at = 1000 }, 1, 2000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0,
	  "container 'c-green-1' of slot green stopped being ready after the switch", 0, 0, 1, 0 },
	{ "window over: complete, old slot still counted", BG, OLD, 0, { S1, G_READY, END },
	  { .switched = 1, .switched_at = 1000 }, 1, 20000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "healthy now: old slot kept for the scale-down delay", BG, NEW, 0, { S1, G_READY, END },
	  { .switched = 1, .switched_at = 1000 }, 1, 3000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "healthy now, delay over: old slot removed", BG, NEW, 0, { S1, G_READY, END },
	  { .switched = 1, .switched_at = 1000 }, 1, 40000, TRAFFIC_CHECK_NONE, 0, 0, 0, 2, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "switched back: the failed slot goes at once, stable takes all", BG, OLD, 1,
	  { S1, { "green", 0, BAD, 1 }, { "green", 1, BAD, 0 }, END }, { .rev = "" }, 0, 3000, TRAFFIC_CHECK_NONE, 0,
	  0, 0, 2, "blue", 100, TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 0, 0 },
	{ "canary: first weight and its analysis", CANARY, OLD, 0, { S1, G1_READY, END }, { .rev = "" }, 0, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 20, TRAFFIC_CHECK_STEP, 1, NULL, 0, 1, 0, 1 },
	{ "canary: analysis failed: the release fails with its message", CANARY, OLD, 0, { S1, G1_READY, END },
	  { .step = 1, .weight = 20 }, 1, 1000, TRAFFIC_CHECK_STEP, 1, TRAFFIC_CHECK_FAILED, 0, 0, "green", 20,
	  TRAFFIC_CHECK_NONE, 0, "canary analysis at 20% (step 2 of 5) failed: exit 1", 0, 0, 0, 1 },
	{ "canary: analysis passed, timed pause starts", CANARY, OLD, 0, { S1, G1_READY, END },
	  { .step = 1, .weight = 20 }, 1, 1000, TRAFFIC_CHECK_STEP, 1, TRAFFIC_CHECK_PASSED, 0, 0, "green", 20,
	  TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 0, 2 },
	{ "canary: pause over, next weight, indefinite pause; the stable slot down to one", CANARY, OLD, 0,
	  { S1, G1_READY, END }, { .step = 2, .weight = 20, .step_at = 1000 }, 1, 12000, TRAFFIC_CHECK_NONE, 0, 0, 0,
	  1, "green", 50,
	  TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 0, 4 },
	{ "canary: promoted out of the last pause: 100 %", CANARY, OLD, 0, { S1, G_READY, END },
	  { .step = 4, .weight = 50, .promote = 1 }, 1, 12000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 5 },
	{ "canary: full promote skips every step", CANARY, OLD, 0, { S1, G_READY, END }, { .full = 1 }, 1, 1000,
	  TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 100, TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "a container past the replicas goes", BG, OLD, 0, { S1, G_READY, { "green", 2, NEW, 1 }, END },
	  { .switched = 1, .switched_at = 1000 }, 1, 20000, TRAFFIC_CHECK_NONE, 0, 0, 0, 1, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "a second container at an ordinal goes", BG, OLD, 0, { S1, G_READY, { "green", 0, NEW, 1 }, END },
	  { .switched = 1, .switched_at = 1000 }, 1, 20000, TRAFFIC_CHECK_NONE, 0, 0, 0, 1, "green", 100,
	  TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1, 0 },
	{ "the new slot at another revision goes, its ordinals made", BG, OLD, 0, { S1, { "green", 0, BAD, 1 }, END },
	  { .rev = "" }, 0, 1000, TRAFFIC_CHECK_NONE, 0, 0, 2, 1, "green", 0, TRAFFIC_CHECK_NONE, 0, NULL, 0, 0, 0, 0 },
	{ "rollback never replays the steps: straight to 100 %", CANARY, NEW, 1,
	  { { "blue", 0, OLD, 1 }, { "blue", 1, OLD, 1 }, { "green", 0, NEW, 1 }, { "green", 1, NEW, 1 }, END },
	  { .rev = "" }, 0, 1000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "blue", 100, TRAFFIC_CHECK_NONE, 0, NULL, 1, 0, 1,
	  0 },
};

/* traffic_input.stable_full (Swarm): a canary's stable slot kept whole until the release ends. */
static const struct tcase swarm_cases[] = {
	{ "canary on Swarm: pause over, next weight; the stable slot kept whole", CANARY, OLD, 0,
	  { S1, G1_READY, END }, { .step = 2, .weight = 20, .step_at = 1000 }, 1, 12000, TRAFFIC_CHECK_NONE, 0, 0, 0,
	  0, "green", 50, TRAFFIC_CHECK_NONE, 0, NULL, 0, 1, 0, 4 },
	{ "canary on Swarm: first weight, nothing of the stable slot goes", CANARY, OLD, 0, { S1, G1_READY, END },
	  { .rev = "" }, 0, 1000, TRAFFIC_CHECK_NONE, 0, 0, 0, 0, "green", 20, TRAFFIC_CHECK_STEP, 1, NULL, 0, 1, 0,
	  1 },
};

static void run_case(const struct tcase *tc, int stable_full)
{
	static char *templates[] = { (char *)"errors" };
	struct spec_canary_step steps[5] = {
		{ .kind = SPEC_STEP_SET_WEIGHT, .weight = 20 },
		{ .kind = SPEC_STEP_ANALYSIS, .templates = templates, .n_templates = 1 },
		{ .kind = SPEC_STEP_PAUSE, .pause_ms = 10000 },
		{ .kind = SPEC_STEP_SET_WEIGHT, .weight = 50 },
		{ .kind = SPEC_STEP_PAUSE, .pause_ms = -1 },
	};
	struct spec_strategy st;
	struct obs_container oc[8];
	struct traffic_ctr v[8];
	struct traffic_input in;
	struct traffic_record rec;
	struct traffic_result out;
	char names[8][32];
	size_t n = 0, i;
	int creates = 0, removes = 0;

	memset(&st, 0, sizeof(st));
	st.type = tc->strat == CANARY ? SPEC_STRATEGY_CANARY : SPEC_STRATEGY_BLUEGREEN;
	st.auto_promotion_enabled = tc->strat != BG_MANUAL;
	st.smoke_test_job = tc->strat == BG_SMOKE ? (char *)"smoke" : NULL;
	st.post_promotion_window_seconds = 5;
	st.scale_down_delay_seconds = 30;
	st.steps = steps;
	st.n_steps = tc->strat == CANARY ? ARRAY_SIZE(steps) : 0;
	memset(oc, 0, sizeof(oc));
	for (i = 0; tc->ctrs[i].slot; i++, n++) {
		snprintf(names[i], sizeof(names[i]), "c-%s-%d", tc->ctrs[i].slot, tc->ctrs[i].ordinal);
		oc[i].id = names[i];
		oc[i].name = names[i];
		oc[i].slot = (char *)tc->ctrs[i].slot;
		oc[i].revision = (char *)tc->ctrs[i].rev;
		oc[i].ordinal = tc->ctrs[i].ordinal;
		oc[i].state = OBS_RUNNING;
		v[i].c = &oc[i];
		v[i].ready = tc->ctrs[i].ready > 0;
		v[i].unknown = tc->ctrs[i].ready == -1;
		oc[i].unreachable = tc->ctrs[i].ready == -2;
	}
	rec = tc->rec;
	if (tc->rec_set)
		snprintf(rec.rev, sizeof(rec.rev), "%s", tc->rollback ? OLD : NEW);
	memset(&in, 0, sizeof(in));
	in.deployment = "c";
	in.strategy = &st;
	in.replicas = 2;
	in.rev = tc->rollback ? OLD : NEW;
	in.stable_rev = tc->stable;
	in.rollback = tc->rollback;
	in.stable_full = stable_full;
	in.now = tc->now;
	in.v = v;
	in.n = n;
	in.check = tc->check;
	in.check_step = tc->check_step;
	in.check_state = tc->check_state;
	in.check_msg = "exit 1";
	traffic_decide(&in, &rec, &out);
	for (i = 0; i < out.res.n_ops; i++) {
		if (out.res.ops[i].kind == ROLLOUT_CREATE) {
			creates++;
			assert_string_equal(out.res.ops[i].slot, tc->slot);
		}
		if (out.res.ops[i].kind == ROLLOUT_REMOVE)
			removes++;
	}
	print_message("# %s\n", tc->name);
	assert_int_equal(creates, tc->creates);
	assert_int_equal(removes, tc->removes);
	assert_string_equal(out.new_slot, tc->slot);
	if (!out.fail)
		assert_int_equal(out.new_weight, tc->weight);
	assert_int_equal(out.want, tc->want);
	if (tc->want == TRAFFIC_CHECK_STEP)
		assert_int_equal(out.want_step, tc->want_step);
	if (tc->fail) {
		assert_non_null(out.fail);
		assert_non_null(strstr(out.fail, tc->fail));
	} else {
		assert_null(out.fail);
	}
	assert_int_equal(out.res.complete, tc->complete);
	assert_int_equal(out.holding, tc->holding);
	assert_int_equal(rec.switched, tc->rec_switched);
	assert_int_equal(rec.step, tc->rec_step);
	/* A stable slot kept whole serves whole: every ready stable container is routed, at its share. */
	if (stable_full && !out.fail && out.new_weight < 100)
		for (i = 0; i < n; i++)
			if (strcmp(oc[i].slot, "blue") == 0 && v[i].ready)
				assert_true(out.route[i] > 0);
	traffic_result_release(&out);
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i], 0);
	for (i = 0; i < ARRAY_SIZE(swarm_cases); i++)
		run_case(&swarm_cases[i], 1);
}

static void test_ports(void **state)
{
	struct obs_container c;

	(void)state;
	assert_int_equal(traffic_port_offset("blue", 2, 1), 1);
	assert_int_equal(traffic_port_offset("green", 2, 1), 3);
	memset(&c, 0, sizeof(c));
	c.slot = (char *)"";
	assert_true(traffic_in_slot(&c, "blue"));
	assert_false(traffic_in_slot(&c, "green"));
}

TEST_MAIN(
	cmocka_unit_test(test_table),
	cmocka_unit_test(test_ports))
