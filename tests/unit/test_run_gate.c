/* Unit tests for the promotion gate's decision: the earlier environment's note and the approval, to a verdict and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run_gate.h"
#include "testmain.h"

#define C "0123456789abcdef0123456789abcdef01234567"

static void decide_table(void **state)
{
	struct spec_environment after = { .promotion_after = (char *)"staging" };
	struct spec_environment both = { .promotion_after = (char *)"staging", .approval_required = 1 };
	struct spec_environment approval = { .approval_required = 1 };
	const struct {
		const struct spec_environment *env;
		int have;
		enum status_phase phase;
		int approved;
		enum gate_verdict want;
		const char *why;
	} rows[] = {
		{ NULL, 0, STATUS_UNKNOWN, 0, GATE_OPEN, NULL },
		{ &after, 0, STATUS_UNKNOWN, 0, GATE_WAIT_AFTER, "waiting for staging: it has no note on this commit yet" },
		{ &after, 1, STATUS_PROGRESSING, 0, GATE_WAIT_AFTER,
		  "waiting for staging: its note on this commit says Progressing" },
		{ &after, 1, STATUS_PENDING, 0, GATE_WAIT_AFTER, "waiting for staging: its note on this commit says Pending" },
		{ &after, 1, STATUS_HEALTHY, 0, GATE_OPEN, NULL },
		{ &after, 1, STATUS_ROLLEDBACK, 1, GATE_AFTER_FAILED,
		  "stopped at staging: its note on this commit says RolledBack" },
		{ &after, 1, STATUS_REFUSED, 0, GATE_AFTER_FAILED, "stopped at staging: its note on this commit says Refused" },
		{ &both, 1, STATUS_HEALTHY, 0, GATE_WAIT_APPROVAL,
		  "healthy in staging; waiting for approval (auriga approve " C ")" },
		{ &both, 1, STATUS_HEALTHY, 1, GATE_OPEN, NULL },
		{ &both, 1, STATUS_FAILED, 1, GATE_AFTER_FAILED, "stopped at staging: its note on this commit says Failed" },
		{ &approval, 0, STATUS_UNKNOWN, 0, GATE_WAIT_APPROVAL, "waiting for approval (auriga approve " C ")" },
		{ &approval, 0, STATUS_UNKNOWN, 1, GATE_OPEN, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *why = (char *)"unset";
		enum gate_verdict v = run_gate_decide(rows[i].env, rows[i].have, rows[i].phase, rows[i].approved, C, &why);

		assert_int_equal(v, rows[i].want);
		if (rows[i].why)
			assert_string_equal(why, rows[i].why);
		else
			assert_null(why);
		free(why);
	}
}

/* Approvals: only 40 hex digits, and only where the environment asks for one. */
static void approve_checks(void **state)
{
	struct run_gate g;
	struct error *err = NULL;

	(void)state;
	run_gate_init(&g);
	assert_int_equal(run_gate_approve(&g, C, "alice", 1, &err), ERR_CONFLICT);
	assert_string_equal(error_msg(err), "environment '(none)' asks for no approval (promotion.approval)");
	error_free(err);
	err = NULL;
	g.wants_approval = 1;
	assert_int_equal(run_gate_approve(&g, "HEAD", "alice", 1, &err), ERR_INVALID);
	error_free(err);
	err = NULL;
	assert_int_equal(run_gate_approve(&g, C, "alice", 1, &err), 0);
	assert_int_equal(run_gate_approve(&g, C, "bob", 2, &err), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.approvals[0].by, "alice");
	run_gate_release(&g);
}

/* A Waiting note carries the gate's record, and a restarted controller reads the approval back from it. */
static void waiting_note_round_trip(void **state)
{
	struct status_source src = { 0 };
	struct fleet_status s, back;
	char *text = NULL;

	(void)state;
	src.environment = (char *)"production";
	src.promotion = (char *)"stopped at staging: its note on this commit says RolledBack";
	src.approved_by = (char *)"alice";
	src.approved_at = 1767225600000;
	status_init(&s);
	status_set_waiting(&s, C, src.promotion, &src, 1767225660000);
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	assert_non_null(strstr(text, "auriga: Waiting 0/0 ready, not applied yet: stopped at staging"));
	status_init(&back);
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_int_equal(back.phase, STATUS_WAITING);
	assert_string_equal(back.source.environment, "production");
	assert_string_equal(back.source.promotion, src.promotion);
	assert_non_null(back.source.approved_by);
	assert_string_equal(back.source.approved_by, "alice");
	assert_true(back.source.approved_at == 1767225600000);
	assert_int_equal(status_exit_code(&back), STATUS_EXIT_PROGRESSING);
	free(text);
	status_release(&back);
	status_release(&s);
}

TEST_MAIN(
	cmocka_unit_test(decide_table),
	cmocka_unit_test(approve_checks),
	cmocka_unit_test(waiting_note_round_trip)
)
