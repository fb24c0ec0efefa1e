/* Unit tests for the engine's pure hook decisions, from tables: which preDeploy, postDeploy or onRollback hook runs next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/decide.h"
#include "testmain.h"

/* done: one character per hook, '1' completed for the target revision; want: the hook that runs next (n: none). */
struct pre_case {
	const char *name;
	int turn, held, begun;
	const char *done;
	size_t want;
};

static const struct pre_case pre_cases[] = {
	{ "no hooks: the rollout goes on", 1, 0, 0, "", 0 },
	{ "a new revision on its turn: the first hook", 1, 0, 0, "00", 0 },
	{ "the first completed: the second", 1, 0, 0, "10", 1 },
	{ "a later one not done runs even after a gap", 1, 0, 0, "101", 1 },
	{ "all completed (also after a restart): the rollout goes on", 1, 0, 0, "11", 2 },
	{ "not its turn: no hook yet", 0, 0, 0, "00", 2 },
	{ "rolling back to its healthy revision: no preDeploy", 1, 1, 0, "00", 2 },
	{ "the rollout has begun (a container runs the target): none", 1, 0, 1, "00", 2 },
};

static void pre_deploy_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pre_cases) / sizeof(pre_cases[0]); i++) {
		const struct pre_case *c = &pre_cases[i];
		unsigned char done[8];
		struct decide_hook_in in;
		size_t j, got;

		memset(&in, 0, sizeof(in));
		in.turn = c->turn;
		in.held = c->held;
		in.begun = c->begun;
		in.n = strlen(c->done);
		for (j = 0; j < in.n; j++)
			done[j] = c->done[j] == '1';
		in.done = done;
		got = decide_pre_deploy(&in);
		if (got != c->want)
			fail_msg("%s: hook %zu, want %zu", c->name, got, c->want);
	}
}

/* The hooks after a rollout: postDeploy (after) 0, onRollback 1. */
struct after_case {
	const char *name;
	int rollback;
	int turn, held, complete, reached;
	const char *done;
	size_t want;
};

static const struct after_case after_cases[] = {
	{ "complete at a new revision: the first postDeploy hook", 0, 1, 0, 1, 0, "00", 0 },
	{ "the first completed: the second", 0, 1, 0, 1, 0, "10", 1 },
	{ "all completed (also after a restart): it may be recorded healthy", 0, 1, 0, 1, 0, "11", 2 },
	{ "not complete yet: no postDeploy hook", 0, 1, 0, 0, 0, "00", 2 },
	{ "not its turn: none", 0, 0, 0, 1, 0, "00", 2 },
	{ "back at its healthy revision (held): no postDeploy", 0, 1, 1, 1, 0, "00", 2 },
	{ "recorded healthy already (hooks added later): none", 0, 1, 0, 1, 1, "00", 2 },
	{ "held and back at the old revision: the first onRollback hook", 1, 1, 1, 1, 0, "00", 0 },
	{ "the first onRollback completed: the second", 1, 1, 1, 1, 0, "10", 1 },
	{ "all onRollback completed: none again", 1, 1, 1, 1, 0, "11", 2 },
	{ "still returning (not complete): no onRollback yet", 1, 1, 1, 0, 0, "00", 2 },
	{ "a later phase still returns (not its turn): none yet", 1, 0, 1, 1, 0, "00", 2 },
	{ "not held (a rollout): no onRollback", 1, 1, 0, 1, 0, "00", 2 },
};

static void after_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(after_cases) / sizeof(after_cases[0]); i++) {
		const struct after_case *c = &after_cases[i];
		unsigned char done[8];
		struct decide_after_in in;
		size_t j, got;

		memset(&in, 0, sizeof(in));
		in.turn = c->turn;
		in.held = c->held;
		in.complete = c->complete;
		in.reached = c->reached;
		in.n = strlen(c->done);
		for (j = 0; j < in.n; j++)
			done[j] = c->done[j] == '1';
		in.done = done;
		got = c->rollback ? decide_on_rollback(&in) : decide_post_deploy(&in);
		if (got != c->want)
			fail_msg("%s: hook %zu, want %zu", c->name, got, c->want);
	}
}

TEST_MAIN(cmocka_unit_test(pre_deploy_table), cmocka_unit_test(after_table))
