/* Unit tests for the engine's pure decisions after a step, from tables: completion, status, outcome, step text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "engine/decide.h"
#include "testmain.h"
#include "util.h"

#define MAXC 12

/* ------------------------------------------------------- completion */

/* want: 'h' recorded healthy, 'f' finished now, 'e' error cleared, 'a' recorded applied, 'i' operations issued. */
struct complete_case {
	const char *name;
	struct decide_complete_in in;
	const char *want;
};

static const struct complete_case complete_cases[] = {
	{ .name = "complete on its turn: healthy, finished, no error to show",
	  .in = { .complete = 1, .turn = 1 }, .want = "hfe" },
	{ .name = "complete as it was: not finished a second time", .in = { .complete = 1, .was_complete = 1,
	  .turn = 1 }, .want = "he" },
	{ .name = "back at its healthy revision: finished, not recorded healthy, the failure still shown",
	  .in = { .complete = 1, .turn = 1, .held = 1 }, .want = "f" },
	{ .name = "complete but stopped after a failure: not recorded healthy",
	  .in = { .complete = 1, .turn = 1, .failed = 1 }, .want = "fe" },
	{ .name = "complete while not its turn (its healthy revision kept): nothing recorded",
	  .in = { .complete = 1 }, .want = "" },
	{ .name = "operations on its turn: recorded applied and issued", .in = { .turn = 1, .n_ops = 2 },
	  .want = "ai" },
	{ .name = "operations while not its turn (healing only): issued, not recorded applied",
	  .in = { .n_ops = 1 }, .want = "i" },
	{ .name = "draining: recorded applied, nothing issued", .in = { .turn = 1, .n_ops = 2, .draining = 1 },
	  .want = "a" },
	{ .name = "no operations: nothing issued", .in = { .turn = 1 }, .want = "" },
};

static void complete_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(complete_cases); ci++) {
		const struct complete_case *cc = &complete_cases[ci];
		struct decide_complete out;
		char got[8];
		size_t k = 0;

		print_message("case: %s\n", cc->name);
		memset(&out, 0x5a, sizeof(out));
		decide_complete(&cc->in, &out);
		if (out.record_healthy == 1)
			got[k++] = 'h';
		if (out.finished == 1)
			got[k++] = 'f';
		if (out.clear_error == 1)
			got[k++] = 'e';
		if (out.record_applied == 1)
			got[k++] = 'a';
		if (out.issue == 1)
			got[k++] = 'i';
		got[k] = '\0';
		if (strcmp(got, cc->want) != 0)
			fail_msg("%s: %s, want %s", cc->name, got, cc->want);
	}
}

/* ------------------------------------------------------------ status */

struct status_case {
	const char *name;
	struct decide_status_in in;
	enum decide_phase phase;
	int progressing, available;
	const char *available_reason, *progress_reason;
	int progress_ok, show_error;
};

static const struct status_case status_cases[] = {
	{ .name = "failed: Failed, not progressing, the error shown",
	  .in = { .failed = 1, .replicas = 3, .available = 1, .total = 3 },
	  .phase = DECIDE_PHASE_FAILED, .available = 0, .available_reason = "SomeUnavailable",
	  .progress_ok = 0, .progress_reason = "ProgressDeadlineExceeded", .show_error = 1 },
	{ .name = "back at its healthy revision: RolledBack",
	  .in = { .rolled_back = 1, .complete = 1, .replicas = 3, .available = 3, .total = 3 },
	  .phase = DECIDE_PHASE_ROLLEDBACK, .available = 1, .available_reason = "AllAvailable", .progress_ok = 1,
	  .progress_reason = "RolledBack", .show_error = 1 },
	{ .name = "returning to its healthy revision: Progressing, and moving",
	  .in = { .rolled_back = 1, .replicas = 3, .available = 2, .total = 3 },
	  .phase = DECIDE_PHASE_PROGRESSING, .progressing = 1, .available = 0,
	  .available_reason = "SomeUnavailable", .progress_ok = 1, .progress_reason = "RolledBack",
	  .show_error = 1 },
	{ .name = "complete: Healthy, NewRevisionAvailable",
	  .in = { .complete = 1, .replicas = 3, .available = 3, .total = 3 },
	  .phase = DECIDE_PHASE_HEALTHY, .available = 1, .available_reason = "AllAvailable", .progress_ok = 1,
	  .progress_reason = "NewRevisionAvailable" },
	{ .name = "blocked with fewer available than desired: Degraded, waiting",
	  .in = { .blocked = 1, .replicas = 3, .available = 2, .total = 3 },
	  .phase = DECIDE_PHASE_DEGRADED, .available = 0, .available_reason = "SomeUnavailable", .progress_ok = 1,
	  .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "blocked with no container yet: Progressing, but not moving",
	  .in = { .blocked = 1, .replicas = 3 },
	  .phase = DECIDE_PHASE_PROGRESSING, .available = 0, .available_reason = "SomeUnavailable",
	  .progress_ok = 1, .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "blocked with all available: Progressing, not Degraded",
	  .in = { .blocked = 1, .replicas = 2, .available = 2, .total = 2 },
	  .phase = DECIDE_PHASE_PROGRESSING, .available = 1, .available_reason = "AllAvailable", .progress_ok = 1,
	  .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "complete but blocked (a phase before it moves again): not Healthy",
	  .in = { .complete = 1, .blocked = 1, .replicas = 2, .available = 2, .total = 2 },
	  .phase = DECIDE_PHASE_PROGRESSING, .available = 1, .available_reason = "AllAvailable", .progress_ok = 1,
	  .progress_reason = "NewRevisionAvailable" },
	{ .name = "rolling within maxUnavailable: Available, some unavailable",
	  .in = { .replicas = 4, .max_unavailable = 1, .available = 3, .total = 5 },
	  .phase = DECIDE_PHASE_PROGRESSING, .progressing = 1, .available = 1,
	  .available_reason = "SomeUnavailable", .progress_ok = 1, .progress_reason = "RollingOut" },
	{ .name = "rolling below replicas - maxUnavailable: not Available",
	  .in = { .replicas = 4, .max_unavailable = 1, .available = 2, .total = 4 },
	  .phase = DECIDE_PHASE_PROGRESSING, .progressing = 1, .available = 0,
	  .available_reason = "SomeUnavailable", .progress_ok = 1, .progress_reason = "RollingOut" },
	{ .name = "a running fleet no probe has judged yet (a fresh apply, a restart): Pending, not Degraded",
	  .in = { .blocked = 1, .replicas = 8, .total = 8, .unknown = 8 },
	  .phase = DECIDE_PHASE_PENDING, .available = 0, .available_reason = "SomeUnavailable", .progress_ok = 1,
	  .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "its turn, running, none judged yet: Pending, not moving",
	  .in = { .replicas = 3, .total = 3, .unknown = 3 },
	  .phase = DECIDE_PHASE_PENDING, .available = 0, .available_reason = "SomeUnavailable", .progress_ok = 1,
	  .progress_reason = "RollingOut" },
	{ .name = "the first verdict came: no longer Pending",
	  .in = { .replicas = 3, .total = 3, .unknown = 2, .verdicts = 1, .available = 1 },
	  .phase = DECIDE_PHASE_PROGRESSING, .progressing = 1, .available = 0,
	  .available_reason = "SomeUnavailable", .progress_ok = 1, .progress_reason = "RollingOut" },
	{ .name = "blocked, two judged ready and two awaiting a verdict: not Degraded",
	  .in = { .blocked = 1, .replicas = 4, .available = 2, .total = 4, .unknown = 2, .verdicts = 2 },
	  .phase = DECIDE_PHASE_PROGRESSING, .available = 0, .available_reason = "SomeUnavailable",
	  .progress_ok = 1, .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "blocked, one judged down and one awaiting a verdict: Degraded",
	  .in = { .blocked = 1, .replicas = 4, .available = 2, .total = 4, .unknown = 1, .verdicts = 3 },
	  .phase = DECIDE_PHASE_DEGRADED, .available = 0, .available_reason = "SomeUnavailable",
	  .progress_ok = 1, .progress_reason = "WaitingForEarlierPhase" },
	{ .name = "failed with no verdict yet: Failed, not Pending",
	  .in = { .failed = 1, .replicas = 2, .total = 2, .unknown = 2 },
	  .phase = DECIDE_PHASE_FAILED, .available = 0, .available_reason = "SomeUnavailable", .progress_ok = 0,
	  .progress_reason = "ProgressDeadlineExceeded", .show_error = 1 },
	{ .name = "aborted by hand, still returning: Aborted at once, not Progressing or RolledBack",
	  .in = { .rolled_back = 1, .aborted = 1, .replicas = 2, .available = 1, .total = 3 },
	  .phase = DECIDE_PHASE_ABORTED, .available = 0, .available_reason = "SomeUnavailable", .progress_ok = 1,
	  .progress_reason = "RolloutAborted", .show_error = 1 },
	{ .name = "aborted by hand and back: Aborted",
	  .in = { .rolled_back = 1, .aborted = 1, .complete = 1, .replicas = 2, .available = 2, .total = 2 },
	  .phase = DECIDE_PHASE_ABORTED, .available = 1, .available_reason = "AllAvailable", .progress_ok = 1,
	  .progress_reason = "RolloutAborted", .show_error = 1 },
	{ .name = "paused in the middle of a rollout: Progressing, DeploymentPaused",
	  .in = { .paused = 1, .replicas = 3, .available = 3, .total = 4, .verdicts = 4 },
	  .phase = DECIDE_PHASE_PROGRESSING, .progressing = 1, .available = 1, .available_reason = "AllAvailable",
	  .progress_ok = 1, .progress_reason = "DeploymentPaused" },
};

static void status_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(status_cases); ci++) {
		const struct status_case *sc = &status_cases[ci];
		struct decide_status out;

		print_message("case: %s\n", sc->name);
		memset(&out, 0, sizeof(out));
		decide_status(&sc->in, &out);
		if (out.phase != sc->phase || out.progressing != sc->progressing)
			fail_msg("%s: phase %d progressing %d, want %d %d", sc->name, (int)out.phase, out.progressing,
				 (int)sc->phase, sc->progressing);
		if (out.available != sc->available || strcmp(out.available_reason, sc->available_reason) != 0)
			fail_msg("%s: Available %d %s, want %d %s", sc->name, out.available, out.available_reason,
				 sc->available, sc->available_reason);
		if (out.progress_ok != sc->progress_ok || strcmp(out.progress_reason, sc->progress_reason) != 0 ||
		    out.show_error != sc->show_error)
			fail_msg("%s: Progressing %d %s error %d, want %d %s %d", sc->name, out.progress_ok,
				 out.progress_reason, out.show_error, sc->progress_ok, sc->progress_reason,
				 sc->show_error);
	}
}

/* The counts shown: ready never past replicas, the containers past replicas apart as surge. */
struct counts_case {
	const char *name;
	int ready, total, replicas;
	int want_ready, want_surge;
};

static const struct counts_case counts_cases[] = {
	{ "a rolling surge: 6 ready of 5 wanted is 5/5 ready, 1 surge", 6, 6, 5, 5, 1 },
	{ "a surge not ready yet: 5/5 ready, 1 surge", 5, 6, 5, 5, 1 },
	{ "fewer ready than replicas, nothing extra", 4, 5, 5, 4, 0 },
	{ "nothing running", 0, 0, 3, 0, 0 },
	{ "two slots of a release side by side: the second slot is surge", 3, 8, 4, 3, 4 },
};

static void counts_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(counts_cases); ci++) {
		const struct counts_case *cc = &counts_cases[ci];
		struct decide_status_in in;
		struct decide_status out;

		print_message("case: %s\n", cc->name);
		memset(&in, 0, sizeof(in));
		in.ready = cc->ready;
		in.total = cc->total;
		in.replicas = cc->replicas;
		in.available = cc->ready;
		decide_status(&in, &out);
		if (out.ready != cc->want_ready || out.surge != cc->want_surge)
			fail_msg("%s: %d ready, %d surge, want %d, %d", cc->name, out.ready, out.surge, cc->want_ready,
				 cc->want_surge);
	}
}

struct fleet_case {
	const char *name;
	struct decide_fleet_in in;
	enum decide_phase want;
};

static const struct fleet_case fleet_cases[] = {
	{ .name = "a failure makes the fleet Failed, whatever else moves",
	  .in = { .n_failed = 1, .n_rolled_back = 1, .n_progressing = 2, .running = 1 },
	  .want = DECIDE_PHASE_FAILED },
	{ .name = "a rollback under way: Progressing", .in = { .n_rolled_back = 1, .running = 1 },
	  .want = DECIDE_PHASE_PROGRESSING },
	{ .name = "a rollback done and the engine quiet: RolledBack", .in = { .n_rolled_back = 2 },
	  .want = DECIDE_PHASE_ROLLEDBACK },
	{ .name = "a deployment moving: Progressing", .in = { .n_progressing = 1 },
	  .want = DECIDE_PHASE_PROGRESSING },
	{ .name = "nothing moving but the engine running: Progressing", .in = { .running = 1 },
	  .want = DECIDE_PHASE_PROGRESSING },
	{ .name = "all quiet: Healthy", .in = { .n_progressing = 0 }, .want = DECIDE_PHASE_HEALTHY },
	{ .name = "nothing moving, some awaiting their first verdict: Pending",
	  .in = { .n_pending = 2, .running = 1 }, .want = DECIDE_PHASE_PENDING },
	{ .name = "one moving beside one pending: Progressing", .in = { .n_progressing = 1, .n_pending = 1,
	  .running = 1 }, .want = DECIDE_PHASE_PROGRESSING },
	{ .name = "every rollback an abort, the engine quiet: Aborted", .in = { .n_rolled_back = 1, .n_aborted = 1 },
	  .want = DECIDE_PHASE_ABORTED },
	{ .name = "an abort beside a rollback on a failure: RolledBack",
	  .in = { .n_rolled_back = 2, .n_aborted = 1 }, .want = DECIDE_PHASE_ROLLEDBACK },
	{ .name = "an abort still returning: Progressing", .in = { .n_rolled_back = 1, .n_aborted = 1, .running = 1 },
	  .want = DECIDE_PHASE_PROGRESSING },
};

static void fleet_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(fleet_cases); ci++) {
		const struct fleet_case *fc = &fleet_cases[ci];
		enum decide_phase got;

		print_message("case: %s\n", fc->name);
		got = decide_fleet_phase(&fc->in);
		if (got != fc->want)
			fail_msg("%s: phase %d, want %d", fc->name, (int)got, (int)fc->want);
	}
}

struct summary_case {
	const char *name;
	int failed, rolled_back;
	const char *last_error;
	int want;
};

static const struct summary_case summary_cases[] = {
	{ .name = "a failed deployment is named", .failed = 1, .last_error = "progress deadline of 60s exceeded",
	  .want = 1 },
	{ .name = "a failed one is named even without an error", .failed = 1, .want = 1 },
	{ .name = "rolled back for its own failure: named", .rolled_back = 1,
	  .last_error = "container 'web-1' failed its startup probe", .want = 1 },
	{ .name = "rolled back because an earlier phase failed: not named", .rolled_back = 1,
	  .last_error = "rolled back because 'db' failed", .want = 0 },
	{ .name = "rolled back with no error: not named", .rolled_back = 1, .want = 0 },
	{ .name = "an error on a deployment neither failed nor back: not named", .last_error = "boom", .want = 0 },
};

static void summary_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(summary_cases); ci++) {
		const struct summary_case *sc = &summary_cases[ci];
		int got;

		print_message("case: %s\n", sc->name);
		got = decide_summary_names(sc->failed, sc->rolled_back, sc->last_error);
		if (got != sc->want)
			fail_msg("%s: named %d, want %d", sc->name, got, sc->want);
	}
}

/* ----------------------------------------------------------- outcome */

/* deps: one string of flags per deployment: 'f' failed, 'b' rolled back, 'c' complete, 'w' blocked. */
struct outcome_case {
	const char *name;
	const char *deps[MAXC];
	int busy;
	enum decide_outcome want;
};

static const struct outcome_case outcome_cases[] = {
	{ .name = "every deployment complete: converged", .deps = { "c", "c", NULL }, .want = DECIDE_CONVERGED },
	{ .name = "no deployments: converged", .deps = { NULL }, .want = DECIDE_CONVERGED },
	{ .name = "one still moving: running", .deps = { "c", "", NULL }, .want = DECIDE_RUNNING },
	{ .name = "operations issued or running: running", .deps = { "c", NULL }, .busy = 1,
	  .want = DECIDE_RUNNING },
	{ .name = "one failed, the others complete: failed", .deps = { "c", "f", NULL }, .want = DECIDE_FAILED },
	{ .name = "one failed while another still moves: running", .deps = { "f", "", NULL },
	  .want = DECIDE_RUNNING },
	{ .name = "back at the healthy revision and quiet: rolled back", .deps = { "bc", "c", NULL },
	  .want = DECIDE_ROLLEDBACK },
	{ .name = "still returning: running", .deps = { "b", "c", NULL }, .want = DECIDE_RUNNING },
	{ .name = "returning, held behind a later phase's return: running", .deps = { "bw", "bc", NULL },
	  .want = DECIDE_RUNNING },
	{ .name = "blocked with nothing failed or back: running (it waits for a phase still moving)",
	  .deps = { "c", "w", NULL }, .want = DECIDE_RUNNING },
	{ .name = "blocked behind a failure: failed, not running", .deps = { "f", "w", NULL },
	  .want = DECIDE_FAILED },
	{ .name = "blocked behind a rollback done: rolled back", .deps = { "bc", "w", NULL },
	  .want = DECIDE_ROLLEDBACK },
};

static void outcome_table(void **state)
{
	size_t ci, n;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(outcome_cases); ci++) {
		const struct outcome_case *oc = &outcome_cases[ci];
		struct decide_outcome_dep v[MAXC];
		enum decide_outcome got;

		print_message("case: %s\n", oc->name);
		for (n = 0; oc->deps[n] != NULL; n++) {
			v[n].failed = strchr(oc->deps[n], 'f') != NULL;
			v[n].rolled_back = strchr(oc->deps[n], 'b') != NULL;
			v[n].complete = strchr(oc->deps[n], 'c') != NULL;
			v[n].blocked = strchr(oc->deps[n], 'w') != NULL;
		}
		got = decide_outcome(v, n, oc->busy);
		if (got != oc->want)
			fail_msg("%s: outcome %d, want %d", oc->name, (int)got, (int)oc->want);
	}
}

/* -------------------------------------------------------------- step */

struct step_case {
	const char *name;
	int standing;		/* not its turn, nothing to keep running: decide_step_standing */
	struct decide_step_in in;
	const char *want;
};

static const struct step_case step_cases[] = {
	{ .name = "standing while an earlier deployment is not there: says for whom",
	  .standing = 1, .in = { .waiting_for = "db" }, .want = "waiting for 'db'" },
	{ .name = "standing after a failure: says so", .standing = 1, .want = "stopped after a failure" },
	{ .name = "a release's step is shown as it is", .in = { .release_step = "canary 20%" },
	  .want = "canary 20%" },
	{ .name = "returning to the healthy revision: said before the step",
	  .in = { .held = 1, .release_step = "stable 100%" }, .want = "rolling back stable 100%" },
	{ .name = "back at the healthy revision: no longer rolling back",
	  .in = { .held = 1, .complete = 1, .release_step = "stable 100%" }, .want = "stable 100%" },
	{ .name = "paused in the middle of a rollout: said before the step",
	  .in = { .paused = 1, .release_step = "rolling web 2/5" }, .want = "paused at rolling web 2/5" },
	{ .name = "paused but complete: nothing held, the step alone",
	  .in = { .paused = 1, .complete = 1, .release_step = "web 5/5 available" }, .want = "web 5/5 available" },
	{ .name = "its healthy revision kept while waiting: the step, then for whom",
	  .in = { .release_step = "stable 100%", .waiting_for = "db" }, .want = "stable 100%; waiting for 'db'" },
};

static void step_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(step_cases); ci++) {
		const struct step_case *sc = &step_cases[ci];
		struct buf b;

		print_message("case: %s\n", sc->name);
		buf_init(&b, 1024);
		if (sc->standing)
			decide_step_standing(sc->in.waiting_for, &b);
		else
			decide_step(&sc->in, NULL, NULL, &b);
		if (strcmp(b.data ? b.data : "", sc->want) != 0)
			fail_msg("%s: '%s', want '%s'", sc->name, b.data ? b.data : "", sc->want);
		buf_release(&b);
	}
}

TEST_MAIN(
	cmocka_unit_test(complete_table),
	cmocka_unit_test(status_table),
	cmocka_unit_test(counts_table),
	cmocka_unit_test(fleet_table),
	cmocka_unit_test(summary_table),
	cmocka_unit_test(outcome_table),
	cmocka_unit_test(step_table))
