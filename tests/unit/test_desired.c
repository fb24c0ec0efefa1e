/* Unit tests for the rollout budgets the desired state resolves: surge and unavailability from counts and percentages, clamped by the disruption budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model/desired.h"
#include "model/observe.h"
#include "policy.h"
#include "spec.h"
#include "util.h"

/* A row: one Deployment (its replicas, role, strategy and disruption budget, each inside braces, or
 * NULL to leave it out; extra is more YAML under spec:) and the budgets the desired state resolves. */
struct bcase {
	const char *name;
	int replicas;
	const char *role;
	const char *strategy;
	const char *budget;
	const char *extra;
	long surge, unavail;
	int min_ready;
};

static const struct bcase cases[] = {
	{ .name = "rolling defaults: 25 % each, surge rounded up, unavailable down", .replicas = 6,
	  .surge = 2, .unavail = 1 },
	{ .name = "rolling: counts above 1", .replicas = 8,
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}", .surge = 3, .unavail = 2 },
	{ .name = "rolling: percentages, 50 % of 5 surges 3, 40 % of 5 lets 2 go", .replicas = 5,
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 50%, maxUnavailable: 40%}", .surge = 3,
	  .unavail = 2 },
	{ .name = "rolling: 100 % surge, none unavailable", .replicas = 4,
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 100%, maxUnavailable: 0}", .surge = 4 },
	{ .name = "rolling: the disruption budget's maxUnavailable caps the strategy's", .replicas = 8,
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 4}",
	  .budget = "maxUnavailable: 1", .surge = 1, .unavail = 1 },
	{ .name = "rolling: minAvailable 80 % of 5 leaves one to lose", .replicas = 5, .budget = "minAvailable: 80%",
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 3}", .surge = 1, .unavail = 1 },
	{ .name = "rolling: minAvailable 4 of 7 leaves three", .replicas = 7, .budget = "minAvailable: 4",
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 5}", .unavail = 3 },
	{ .name = "rolling: minAvailable 100 % leaves none down: it surges instead", .replicas = 3,
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}",
	  .budget = "minAvailable: 100%", .surge = 1 },
	{ .name = "validators: f = floor((n-1)/3) down at most by default", .replicas = 7, .role = "validator",
	  .strategy = "type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 5}", .unavail = 2 },
	{ .name = "recreate: the budget's count at a time", .replicas = 6, .strategy = "type: Recreate",
	  .budget = "maxUnavailable: 2", .unavail = 2 },
	{ .name = "recreate: at least one at a time even when the budget allows none", .replicas = 3,
	  .strategy = "type: Recreate", .budget = "minAvailable: 100%", .unavail = 1 },
	{ .name = "minReadySeconds reaches the rollout", .replicas = 2, .extra = "  minReadySeconds: 7\n", .surge = 1,
	  .min_ready = 7 },
};

/* load_row: the row's Deployment as a spec set, failing the test when it is refused. */
static void load_row(const struct bcase *c, struct spec_set *set)
{
	struct spec_diags diags;
	struct buf y;

	buf_init(&y, 1 << 16);
	buf_printf(&y,
		   "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
		   "  role: %s\n  replicas: %d\n  template:\n    image: node:1\n",
		   c->role != NULL ? c->role : "business", c->replicas);
	if (c->strategy != NULL)
		buf_printf(&y, "  strategy: {%s}\n", c->strategy);
	if (c->budget != NULL)
		buf_printf(&y, "  disruptionBudget: {%s}\n", c->budget);
	if (c->extra != NULL)
		buf_printf(&y, "%s", c->extra);
	spec_diags_init(&diags);
	spec_set_init(set, NULL, NULL);
	spec_set_load_buffer(set, "t.yaml", y.data, y.len, &diags);
	spec_set_finish(set, &diags);
	if (diags.n > 0)
		fail_msg("case '%s': the spec is refused: %s: %s", c->name, diags.v[0].path ? diags.v[0].path : "",
			 diags.v[0].msg);
	spec_diags_release(&diags);
	buf_release(&y);
}

/* One row, run as a test of its own (named after the row). */
static void budget_row(void **state)
{
	const struct bcase *c = *state;
	struct spec_set set;
	struct desired d;
	struct error *err = NULL;

	load_row(c, &set);
	desired_init(&d);
	if (desired_build(&d, &set, "t", "c0ffee", NULL, 0, &err) != 0)
		fail_msg("case '%s': %s", c->name, error_msg(err));
	assert_int_equal(d.n, 1);
	if (d.v[0].max_surge != c->surge || d.v[0].max_unavailable != c->unavail)
		fail_msg("case '%s': surge %ld unavailable %ld, want %ld and %ld", c->name, d.v[0].max_surge,
			 d.v[0].max_unavailable, c->surge, c->unavail);
	assert_int_equal(d.v[0].min_ready_seconds, c->min_ready);
	desired_release(&d);
	spec_set_release(&set);
}

/* Volume names: one per (instance, deployment, volume, ordinal), none another program's by accident. */
static void volume_names(void **state)
{
	static const struct {
		const char *inst, *dep, *vol;
		int ord;
	} t[] = {
		{ "prod", "a-b", "c", -1 }, { "prod", "a", "b-c", -1 },	/* the old naming's collision pair */
		{ "prod", "a", "b", 0 }, { "prod", "a", "b-0", -1 },	/* and per-replica against shared */
		{ "prod", "a", "b", -1 }, { "staging", "a", "b", -1 },	/* two instances on one engine */
		{ "prod", "auriga", "state", -1 }, { "prod", "a", "b", 1 },
	};
	char *names[ARRAY_SIZE(t)];
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++)
		names[i] = desired_volume_name(t[i].inst, t[i].dep, t[i].vol, t[i].ord);
	for (i = 0; i < ARRAY_SIZE(t); i++)
		for (j = i + 1; j < ARRAY_SIZE(t); j++)
			if (strcmp(names[i], names[j]) == 0)
				fail_msg("'%s' names both %zu and %zu", names[i], i, j);
	/* The readable part, then the hash: "<deployment>.<volume>[.<ordinal>].<10 hex>". */
	assert_int_equal(strlen(names[0]), strlen("a-b.c.") + 10);
	assert_memory_equal(names[0], "a-b.c.", 6);
	assert_memory_equal(names[2], "a.b.0.", 6);
	assert_true(strcmp(names[6], "auriga-state") != 0);
	assert_memory_equal(names[6], "auriga.state.", 13);
	/* The same tuple, the same name (a restart finds its volumes). */
	{
		char *again = desired_volume_name("prod", "a-b", "c", -1);

		assert_string_equal(again, names[0]);
		free(again);
	}
	for (i = 0; i < ARRAY_SIZE(t); i++)
		free(names[i]);
	/* The earlier naming, kept for adopting what it made. */
	names[0] = desired_volume_legacy_name("a-b", "c", -1);
	names[1] = desired_volume_legacy_name("a", "b-c", -1);
	assert_string_equal(names[0], "a-b-c");
	assert_string_equal(names[1], "a-b-c");
	free(names[0]);
	free(names[1]);
	names[0] = desired_volume_legacy_name("a", "b", 3);
	assert_string_equal(names[0], "a-b-3");
	free(names[0]);
}

/* Placement over a Cluster of d1, d2, d3: web's three replicas, one on each, moveAfter 5s. */
static void place_moves(void **state)
{
	static const char *y = "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n"
			       "  endpoints: [{name: d1}, {name: d2}, {name: d3}]\n---\n"
			       "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
			       "  replicas: 3\n  placement: {moveAfter: 5s}\n  template:\n    image: node:1\n";
	static const char *policy = "endpoints:\n  - {name: d1, url: \"unix:///run/d1.sock\"}\n"
				    "  - {name: d2, url: \"unix:///run/d2.sock\"}\n  - {name: d3, url: \"unix:///run/d3.sock\"}\n";
	struct spec_policy pol;
	struct spec_set set;
	struct spec_diags diags;
	struct desired d;
	struct error *err = NULL;
	struct obs_container c[4];
	struct obs_container *v[4] = { &c[0], &c[1], &c[2], &c[3] };
	struct obs_deployment od = { (char *)"web", v, 3 };
	const char *hosts[4] = { "d1", "d2", "d3", "d1" };
	int64_t down[3] = { -1, 4999, -1 };
	int out[3], i;

	(void)state;
	spec_diags_init(&diags);
	spec_policy_init(&pol);
	assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", policy, strlen(policy), &diags), 0);
	spec_set_init(&set, NULL, NULL);
	set.policy = &pol;
	spec_set_load_buffer(&set, "t.yaml", y, strlen(y), &diags);
	spec_set_finish(&set, &diags);
	if (diags.n > 0)
		fail_msg("the spec is refused: %s: %s", diags.v[0].path ? diags.v[0].path : "", diags.v[0].msg);
	desired_init(&d);
	if (desired_build(&d, &set, "t", "c0ffee", NULL, 0, &err) != 0)
		fail_msg("%s", error_msg(err));
	memset(c, 0, sizeof(c));
	for (i = 0; i < 4; i++) {
		c[i].ordinal = i < 3 ? i : 1;
		c[i].host = (char *)hosts[i];
		c[i].created = 100 + i;
	}
	/* d2 down for less than moveAfter: ordinal 1 stays there. */
	desired_place(&set, &d.v[0], &od, down, out);
	assert_int_equal(out[1], 1);
	/* For moveAfter: placed anew, where the spread is thinnest (the first listed on a tie). */
	down[1] = 5000;
	desired_place(&set, &d.v[0], &od, down, out);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 2);
	/* Without moveAfter it never leaves. */
	set.deployments[0]->placement.move_after_ms = -1;
	desired_place(&set, &d.v[0], &od, down, out);
	assert_int_equal(out[1], 1);
	/* Moved: ordinal 1 on d2 and, newer, on d1; d2 answers again: it is where its newest container is. */
	set.deployments[0]->placement.move_after_ms = 5000;
	od.n = 4;
	desired_place(&set, &d.v[0], &od, NULL, out);
	assert_int_equal(out[1], 0);
	/* Whatever the order the containers are listed in. */
	v[1] = &c[3];
	v[3] = &c[1];
	desired_place(&set, &d.v[0], &od, NULL, out);
	assert_int_equal(out[1], 0);
	desired_release(&d);
	spec_diags_release(&diags);
	spec_set_release(&set);
	spec_policy_release(&pol);
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(cases) + 2];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[i] = (struct CMUnitTest){ .name = cases[i].name, .test_func = budget_row,
						.initial_state = (void *)&cases[i] };
	tests[i++] = (struct CMUnitTest){ .name = "volume_names", .test_func = volume_names };
	tests[i] = (struct CMUnitTest){ .name = "place_moves", .test_func = place_moves };
	return _cmocka_run_group_tests("desired", tests, ARRAY_SIZE(tests), NULL, NULL);
}
