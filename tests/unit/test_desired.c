/* Unit tests for the rollout budgets the desired state resolves: surge and unavailability from counts and percentages, clamped by the disruption budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
