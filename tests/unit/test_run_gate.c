/* Unit tests for the promotion gate's decision (the earlier environment's note and the approval, to a verdict and why), and approvals as Git records them. */
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
#include "runtime/signing.h"
#include "util.h"
#include "testmain.h"

#define C "0123456789abcdef0123456789abcdef01234567"

static void decide_table(void **state)
{
	struct spec_environment after = { .promotion_after = (char *)"staging" };
	struct spec_environment both = { .promotion_after = (char *)"staging", .approval_required = 1 };
	struct spec_environment approval = { .approval_required = 1 };
	struct approval alice = { .by = (char *)"alice" };
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
		enum gate_verdict v = run_gate_decide(rows[i].env, rows[i].have ? &note : NULL,
						      rows[i].approved ? &alice : NULL, C, &why);

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
		if (strcmp(verdicts[i], "Skipped") == 0)
			v->reason = xstrdup("promoted in full");
	}
}

/* The gate's verdict on staging's note (phase, verdicts) with approval a; why starts with why_prefix (NULL: none). */
static void expect_decision(const struct spec_environment *env, enum status_phase phase, const char *const *verdicts,
			    const struct approval *a, enum gate_verdict want, const char *why_prefix)
{
	struct fleet_status after;
	char *why = NULL;

	staging_note(&after, phase, verdicts);
	assert_int_equal(run_gate_decide(env, &after, a, C, &why), want);
	if (why_prefix) {
		assert_non_null(why);
		assert_ptr_equal(strstr(why, why_prefix), why);
	} else {
		assert_null(why);
	}
	free(why);
	status_release(&after);
}

/*
 * What verified nothing (Skipped, Inconclusive) passes only with a person's
 * unverified approval, which the gate says it took; a Failed verification,
 * one still running, or a plain approval never does.
 */
static void decide_unverified(void **state)
{
	struct spec_environment both = { .promotion_after = (char *)"staging", .approval_required = 1 };
	struct spec_environment after_only = { .promotion_after = (char *)"staging" };
	struct approval plain = { .by = (char *)"dana" };
	struct approval over = { .by = (char *)"dana", .unverified_by = (char *)"erin" };
	const struct {
		const struct spec_environment *env;
		const char *verdicts[3];
		const struct approval *a;
		enum gate_verdict want;
		const char *why;
	} rows[] = {
		{ &both, { "Skipped", "Skipped", NULL }, &plain, GATE_AFTER_FAILED, "stopped at staging: web: integration skipped" },
		{ &both, { "Skipped", "Inconclusive", NULL }, &over, GATE_OPEN,
		  "let through unverified by erin: web: integration skipped (promoted in full); web: loadtest p95_ms=812 "
		  "inconclusive" },
		{ &after_only, { "Skipped", "Passed", NULL }, &over, GATE_OPEN, "let through unverified by erin" },
		{ &after_only, { "Skipped", "Passed", NULL }, NULL, GATE_AFTER_FAILED, "stopped at staging" },
		{ &both, { "Skipped", "Failed", NULL }, &over, GATE_AFTER_FAILED,
		  "stopped at staging: web: loadtest p95_ms=812 failed (fails at >= 500); web: integration skipped "
		  "(promoted in full)" },
		{ &both, { "Skipped", "Unfinished", NULL }, &over, GATE_WAIT_AFTER, "waiting for staging's verification" },
		{ &both, { "Passed", "Passed", NULL }, &plain, GATE_OPEN, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_decision(rows[i].env, STATUS_HEALTHY, rows[i].verdicts, rows[i].a, rows[i].want, rows[i].why);
}

/* Healthy is not enough: every verification staging's note names must have Passed (Skipped verified nothing). */
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
		{ STATUS_HEALTHY, { "Skipped", "Passed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: integration skipped (promoted in full): only a verification that Passed "
		  "there opens the gate (auriga approve --unverified " C " lets it through, on the record)" },
		{ STATUS_HEALTHY, { "Skipped", "Pending", NULL }, GATE_WAIT_AFTER,
		  "waiting for staging's verification: web: integration skipped (promoted in full); web: loadtest" },
		{ STATUS_HEALTHY, { "Passed", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: loadtest p95_ms=812 failed (fails at >= 500)" },
		{ STATUS_HEALTHY, { "Inconclusive", "Passed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: integration inconclusive" },
		{ STATUS_HEALTHY, { "Passed", "Pending", NULL }, GATE_WAIT_AFTER,
		  "waiting for staging's verification: web: loadtest p95_ms=812 pending" },
		/* What failed is said first: a run stopped at a failure leaves the others undecided. */
		{ STATUS_HEALTHY, { "Pending", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: loadtest p95_ms=812 failed (fails at >= 500); web: integration pending" },
		{ STATUS_HEALTHY, { "Inconclusive", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: web: loadtest p95_ms=812 failed (fails at >= 500); web: integration inconclusive" },
		{ STATUS_ROLLEDBACK, { "Passed", "Failed", NULL }, GATE_AFTER_FAILED,
		  "stopped at staging: its note on this commit says RolledBack; web: loadtest p95_ms=812 failed (fails at >= 500)" },
		{ STATUS_HEALTHY, { "passed", NULL }, GATE_AFTER_FAILED, "stopped at staging: web: integration passed" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_decision(&both, rows[i].phase, rows[i].verdicts, NULL, rows[i].want, rows[i].why);
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

static const struct signing_key KEY = { (unsigned char *)"0123456789abcdef-operator", 25 };
static const struct signing_key OTHER_KEY = { (unsigned char *)"0123456789abcdef-pusher", 23 };

/*
 * Approvals: only with a signing key, only 40 hex digits, only where the
 * environment asks for one (unverified: where it names promotion.after),
 * only once the repository was read.
 */
static void approve_checks(void **state)
{
	struct run_gate g;
	struct error *err = NULL;
	struct approval a = { .by = (char *)"alice", .at = 1 };
	unsigned i;

	(void)state;
	run_gate_init(&g);
	/* Without the operator's key a note is one any pusher could write: nothing is taken. */
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 0, 1, &err), ERR_CONFLICT);
	assert_non_null(strstr(error_msg(err), "signing-key-file is not set"));
	error_clear(&err);
	g.key = &KEY;
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 0, 1, &err), ERR_CONFLICT);
	assert_string_equal(error_msg(err), "environment '(none)' asks for no approval (promotion.approval)");
	error_free(err);
	err = NULL;
	/* Following none, not even a person letting it through unverified has a gate to open. */
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 1, 1, &err), ERR_CONFLICT);
	error_free(err);
	err = NULL;
	g.environment = xstrdup("production");
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 0, 1, &err), ERR_CONFLICT);
	error_free(err);
	err = NULL;
	g.wants_approval = 1;
	/* No promotion.after: no verification to let through. */
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 1, 1, &err), ERR_CONFLICT);
	assert_non_null(strstr(error_msg(err), "names no promotion.after"));
	error_clear(&err);
	g.has_after = 1;
	assert_int_equal(run_gate_approve(&g, "HEAD", "alice", NULL, 0, 1, &err), ERR_INVALID);
	error_free(err);
	err = NULL;
	/* Nothing is held in memory alone: before the repository was read it cannot be recorded. */
	assert_int_equal(run_gate_approve(&g, C, "alice", NULL, 0, 1, &err), ERR_UNAVAILABLE);
	assert_string_equal(error_msg(err), "the controller has not read the specs repository yet");
	error_free(err);
	assert_int_equal(g.n, 0);
	/* In memory: the first stands, an unverified one adds its who; bounded, the oldest going first. */
	run_gate_remember(&g, C, &a);
	a.by = (char *)"bob";
	a.unverified_by = (char *)"bob";
	a.unverified_at = 2;
	a.unverified_reason = (char *)"the canary analysis was skipped";
	run_gate_remember(&g, C, &a);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.approvals[0].a.by, "alice");
	assert_string_equal(g.approvals[0].a.unverified_by, "bob");
	assert_string_equal(g.approvals[0].a.unverified_reason, "the canary analysis was skipped");
	a.unverified_by = NULL;
	a.unverified_reason = NULL;
	for (i = 1; i <= GATE_APPROVALS_MAX; i++) {
		char c[41];

		snprintf(c, sizeof(c), "%040x", i);
		run_gate_remember(&g, c, &a);
	}
	assert_int_equal(g.n, GATE_APPROVALS_MAX);
	assert_string_equal(g.approvals[0].commit, "0000000000000000000000000000000000000001");
	assert_string_equal(g.approvals[GATE_APPROVALS_MAX - 1].commit, "0000000000000000000000000000000000000020");
	run_gate_release(&g);
}

/* A note with field changed to value (a pusher editing the note), malloc'd. */
static char *tampered(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);

	assert_non_null(at);
	return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

/*
 * An approval's note says who, when, for which environment and instance,
 * and comes back the same under the key; a note whose MAC is missing, made
 * under another key, for another commit, or over a field changed since, is
 * refused; junk is refused.
 */
static void approval_note_round_trip(void **state)
{
	struct approval a = { .environment = (char *)"production", .instance = (char *)"prod-1", .by = (char *)"dana",
			      .at = 1767225600000, .unverified_by = (char *)"erin", .unverified_at = 1767225660000,
			      .reason = (char *)"staging was promoted in full: \"hotfix\"",
			      .unverified_reason = (char *)"the analysis was skipped" };
	static const char *const edits[][2] = {
		{ "\"approvedBy\": \"dana\"", "\"approvedBy\": \"mallory\"" },
		{ "\"unverifiedBy\": \"erin\"", "\"unverifiedBy\": \"mallory\"" },
		{ "\"approvedAt\": \"2026-01-01T00:00:00.000Z\"", "\"approvedAt\": \"2026-01-01T00:00:01.000Z\"" },
		{ "\"environment\": \"production\"", "\"environment\": \"staging\"" },
		{ "\"unverifiedReason\": \"the analysis was skipped\"", "\"unverifiedReason\": \"x\"" },
		{ "\"mac\": \"", "\"mac-was\": \"" },
	};
	struct approval back;
	struct error *err = NULL;
	char *text = approval_note_render(&a, C, &KEY), *ref = approval_note_ref("production");
	char *other = approval_note_render(&a, C, &OTHER_KEY);
	size_t i;

	(void)state;
	assert_string_equal(ref, "refs/notes/auriga-approvals-production");
	assert_ptr_equal(strstr(text, "auriga: Approved for production by dana, its verification overridden by erin"),
			 text);
	assert_non_null(strstr(text, "\"approvedAt\": \"2026-01-01T00:00:00.000Z\""));
	assert_int_equal(approval_note_parse(&back, text, C, &KEY, &err), 0);
	assert_string_equal(back.environment, "production");
	assert_string_equal(back.instance, "prod-1");
	assert_string_equal(back.by, "dana");
	assert_true(back.at == a.at);
	assert_string_equal(back.unverified_by, "erin");
	assert_true(back.unverified_at == a.unverified_at);
	assert_string_equal(back.reason, a.reason);
	assert_string_equal(back.unverified_reason, a.unverified_reason);
	approval_release(&back);
	/* Made under another key (a pusher's), or read without a key: refused. */
	assert_int_equal(approval_note_parse(&back, other, C, &KEY, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "does not carry the MAC of signing-key-file"));
	assert_null(back.by);
	error_clear(&err);
	assert_int_equal(approval_note_parse(&back, text, C, NULL, &err), ERR_REFUSED);
	error_clear(&err);
	/* The same note on another commit: refused. */
	assert_int_equal(approval_note_parse(&back, text, "fedcba9876543210fedcba9876543210fedcba98", &KEY, &err),
			 ERR_REFUSED);
	error_clear(&err);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *t = tampered(text, edits[i][0], edits[i][1]);

		assert_int_equal(approval_note_parse(&back, t, C, &KEY, &err), ERR_REFUSED);
		error_clear(&err);
		free(t);
	}
	assert_int_equal(approval_note_parse(&back, "auriga: Approved\n\n{\"approvedAt\": \"2026-01-01T00:00:00Z\"}\n",
					     C, &KEY, &err), ERR_INVALID);
	assert_null(back.by);
	error_clear(&err);
	assert_int_equal(approval_note_parse(&back, "auriga: Healthy 1/1 ready\nobservedAt: x\n", C, &KEY, &err),
			 ERR_INVALID);
	error_free(err);
	FREE_ALL(text, other, ref);
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
	cmocka_unit_test(decide_unverified),
	cmocka_unit_test(verification_round_trip),
	cmocka_unit_test(verification_bounded),
	cmocka_unit_test(approve_checks),
	cmocka_unit_test(approval_note_round_trip),
	cmocka_unit_test(waiting_note_round_trip)
)
