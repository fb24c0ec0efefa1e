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
#include "spec.h"
#include "util.h"

struct bcase {
	const char *name;
	int replicas;
	const char *role;
	const char *extra;	/* YAML under spec:, two spaces in */
	long surge, unavail;
	int min_ready;
};

static const struct bcase cases[] = {
	{ "rolling defaults: 25 % each, surge rounded up, unavailable down", 6, "business", "", 2, 1, 0 },
	{ "rolling: counts above 1", 8, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}\n", 3, 2, 0 },
	{ "rolling: percentages, 50 % of 5 surges 3, 40 % of 5 lets 2 go", 5, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 50%, maxUnavailable: 40%}}\n", 3, 2, 0 },
	{ "rolling: 100 % surge, none unavailable", 4, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 100%, maxUnavailable: 0}}\n", 4, 0, 0 },
	{ "rolling: the disruption budget's maxUnavailable caps the strategy's", 8, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 4}}\n"
	  "  disruptionBudget: {maxUnavailable: 1}\n", 1, 1, 0 },
	{ "rolling: minAvailable 80 % of 5 leaves one to lose", 5, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 3}}\n"
	  "  disruptionBudget: {minAvailable: 80%}\n", 1, 1, 0 },
	{ "rolling: minAvailable 4 of 7 leaves three", 7, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 5}}\n"
	  "  disruptionBudget: {minAvailable: 4}\n", 0, 3, 0 },
	{ "rolling: minAvailable 100 % leaves none down: it surges instead", 3, "business",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n"
	  "  disruptionBudget: {minAvailable: 100%}\n", 1, 0, 0 },
	{ "validators: f = floor((n-1)/3) down at most by default", 7, "validator",
	  "  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 5}}\n", 0, 2, 0 },
	{ "recreate: the budget's count at a time", 6, "business",
	  "  strategy: {type: Recreate}\n  disruptionBudget: {maxUnavailable: 2}\n", 0, 2, 0 },
	{ "recreate: at least one at a time even when the budget allows none", 3, "business",
	  "  strategy: {type: Recreate}\n  disruptionBudget: {minAvailable: 100%}\n", 0, 1, 0 },
	{ "minReadySeconds reaches the rollout", 2, "business",
	  "  minReadySeconds: 7\n", 1, 0, 7 },
};

static void budgets(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bcase *c = &cases[i];
		struct spec_diags diags;
		struct spec_set set;
		struct desired d;
		struct error *err = NULL;
		struct buf y;

		print_message("case: %s\n", c->name);
		buf_init(&y, 1 << 16);
		buf_printf(&y,
			   "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
			   "  role: %s\n  replicas: %d\n  template:\n    image: node:1\n%s",
			   c->role, c->replicas, c->extra);
		spec_diags_init(&diags);
		spec_set_init(&set, NULL, NULL);
		spec_set_load_buffer(&set, "t.yaml", y.data, y.len, &diags);
		spec_set_finish(&set, &diags);
		if (diags.n > 0)
			fail_msg("case '%s': the spec is refused: %s: %s", c->name, diags.v[0].path ? diags.v[0].path : "", diags.v[0].msg);
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
		spec_diags_release(&diags);
		buf_release(&y);
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budgets),
		cmocka_unit_test(volume_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
