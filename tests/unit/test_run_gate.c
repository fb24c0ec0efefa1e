/* Unit tests for the promotion gate's decision: the earlier environment's note and the approval, to a verdict and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd/run_gate.h"
#include "util.h"
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
		struct fleet_status note = { .phase = rows[i].phase };
		enum gate_verdict v = run_gate_decide(rows[i].env, rows[i].have ? &note : NULL, rows[i].approved, C, &why);

		assert_int_equal(v, rows[i].want);
		if (rows[i].why)
			assert_string_equal(why, rows[i].why);
		else
			assert_null(why);
		free(why);
	}
}

/* after: a Healthy note of staging whose deployment "web" names verifications with these verdicts (NULL ends). */
static void staging_note(struct fleet_status *after, enum status_phase phase, const char *const *verdicts)
{
	struct status_deployment *d;
	size_t i;

	status_init(after);
	after->phase = phase;
	d = status_add_deployment(after, "web");
	for (i = 0; verdicts[i]; i++) {
		struct status_verification *v = status_add_verification(d, i ? "p95" : "integration");

		v->job = xstrdup(i ? "loadtest" : "integration");
		v->figure = i ? xstrdup("p95_ms") : NULL;
		v->value = xstrdup(i ? "812" : "0");
		v->fail_if = xstrdup(i ? ">= 500" : "!= 0");
		v->verdict = xstrdup(verdicts[i]);
	}
}

/* Healthy is not enough: every verification staging's note names must have passed (or been skipped). */
static void decide_verification(void **state)
{
	struct spec_environment both = { .promotion_after = (char *)"staging", .approval_required = 1 };
	const struct {
		enum status_phase phase;
		const char *verdicts[3];
		enum gate_verdict want;
		const char *why;
	} rows[] = {
		{ STATUS_HEALTHY, { NULL }, GATE_WAIT_APPROVAL, "healthy in staging; waiting for approval" },
		{ STATUS_HEALTHY, { "Passed", "Passed", NULL }, GATE_WAIT_APPROVAL, "healthy in staging; waiting" },
		{ STATUS_HEALTHY, { "Skipped", "Passed", NULL }, GATE_WAIT_APPROVAL, "healthy in staging; waiting" },
		{ STATUS_HEALTHY, { "Passed", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: loadtest p95_ms=812 failed (fails at >= 500)" },
		{ STATUS_HEALTHY, { "Inconclusive", "Passed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: integration inconclusive" },
		{ STATUS_HEALTHY, { "Passed", "Pending", NULL }, GATE_WAIT_AFTER,
		  "waiting for staging's verification: web: loadtest p95_ms=812 pending" },
		{ STATUS_HEALTHY, { "Pending", "Failed", NULL }, GATE_AFTER_FAILED, "stopped at staging: web: integration" },
		{ STATUS_ROLLEDBACK, { "Passed", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: its note on this commit says RolledBack; web: loadtest p95_ms=812 failed (fails at >= 500)" },
		{ STATUS_HEALTHY, { "passed", NULL }, GATE_AFTER_FAILED, "stopped at staging: web: integration passed" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fleet_status after;
		char *why = NULL;
		enum gate_verdict v;

		staging_note(&after, rows[i].phase, rows[i].verdicts);
		v = run_gate_decide(&both, &after, 0, C, &why);
		assert_int_equal(v, rows[i].want);
		assert_non_null(why);
		assert_ptr_equal(strstr(why, rows[i].why), why);
		free(why);
		status_release(&after);
	}
}

/* The verifications go into the note and come back from it as they were. */
static void verification_round_trip(void **state)
{
	const char *const verdicts[] = { "Passed", "Failed", NULL };
	struct fleet_status s, back;
	char *text = NULL;
	json_t *j, *list;

	(void)state;
	staging_note(&s, STATUS_ROLLEDBACK, verdicts);
	s.commit = xstrdup(C);
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	assert_non_null(strstr(text, "    verification:\n    - metric: integration\n"));
	assert_non_null(strstr(text, "failIf: '>= 500'"));
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_int_equal(back.ndeployments, 1);
	assert_int_equal(back.deployments[0].nverifications, 2);
	assert_string_equal(back.deployments[0].verifications[1].metric, "p95");
	assert_string_equal(back.deployments[0].verifications[1].job, "loadtest");
	assert_string_equal(back.deployments[0].verifications[1].figure, "p95_ms");
	assert_string_equal(back.deployments[0].verifications[1].value, "812");
	assert_string_equal(back.deployments[0].verifications[1].fail_if, ">= 500");
	assert_string_equal(back.deployments[0].verifications[1].verdict, "Failed");
	assert_null(back.deployments[0].verifications[0].figure);
	/* The HTTP API says the same. */
	j = status_to_json(&back);
	list = json_object_get(json_array_get(json_object_get(j, "deployments"), 0), "verification");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "verdict")), "Failed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "value")), "812");
	json_decref(j);
	free(text);
	status_release(&back);
	status_release(&s);
}

/* A note naming more verifications than a deployment can have is refused, with its line. */
static void verification_bounded(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct fleet_status back;
	struct error *err = NULL;
	int i;

	(void)state;
	(void)buf_printf(&b, "auriga: Healthy 1/1 ready\n\ndeployments:\n  web:\n    verification:\n");
	for (i = 0; i < STATUS_VERIFICATIONS_MAX + 1; i++)
		(void)buf_printf(&b, "    - {metric: m%d, verdict: Passed}\n", i);
	assert_int_equal(status_parse_note(&back, b.data, b.len, &err), ERR_INVALID);
	assert_string_equal(error_msg(err), "status note line 6: 'verification' names more than 64 metrics");
	error_free(err);
	err = NULL;
	assert_int_equal(status_parse_note(&back, "auriga: Healthy 1/1 ready\n\ndeployments:\n  web:\n    verification: {a: b}\n",
					   72, &err), ERR_INVALID);
	assert_string_equal(error_msg(err), "status note line 5: 'verification' must be a list");
	error_free(err);
	buf_release(&b);
}

/* Approvals: only 40 hex digits, and only where the environment asks for one. */
static void approve_checks(void **state)
{
	struct run_gate g;
	struct error *err = NULL;
	unsigned i;

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
	/* Bounded: past GATE_APPROVALS_MAX the oldest goes. */
	for (i = 1; i <= GATE_APPROVALS_MAX; i++) {
		char c[41];

		snprintf(c, sizeof(c), "%040x", i);
		assert_int_equal(run_gate_approve(&g, c, "carol", 2 + i, &err), 0);
	}
	assert_int_equal(g.n, GATE_APPROVALS_MAX);
	assert_string_equal(g.approvals[0].commit, "0000000000000000000000000000000000000001");
	assert_string_equal(g.approvals[GATE_APPROVALS_MAX - 1].commit, "0000000000000000000000000000000000000020");
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
	cmocka_unit_test(decide_verification),
	cmocka_unit_test(verification_round_trip),
	cmocka_unit_test(verification_bounded),
	cmocka_unit_test(approve_checks),
	cmocka_unit_test(waiting_note_round_trip)
)
