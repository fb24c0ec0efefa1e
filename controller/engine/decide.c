/* The engine's pure decisions: given what a pass observed and the clock, what it does. */
#include "engine/decide.h"

#include <string.h>

size_t decide_prune(const unsigned char *orphan, size_t n, int max_percent, int draining, unsigned char *go)
{
	size_t i, limit, issued = 0, n_orphans = 0;
	int pct = max_percent > 0 ? max_percent : 25;

	limit = (n * (size_t)pct) / 100;
	if (limit < 1)
		limit = 1;
	for (i = 0; i < n; i++) {
		go[i] = 0;
		if (!orphan[i])
			continue;
		n_orphans++;
		if (draining || issued >= limit)
			continue;
		go[i] = 1;
		issued++;
	}
	return n_orphans;
}

size_t decide_restarts(const struct decide_ctr *v, size_t n, int draining, unsigned char *restart)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		restart[i] = !draining && v[i].probed && v[i].live_failed;
		k += restart[i];
	}
	return k;
}

enum decide_failure decide_deadline(const struct decide_deadline_in *in, const struct decide_ctr *v, size_t n,
				    size_t *startup, size_t *failing)
{
	size_t i;

	*startup = n;
	*failing = n;
	if (!in->turn || in->held || in->complete || in->paused)
		return DECIDE_GOING;
	for (i = 0; i < n; i++) {
		if (!v[i].probed || !v[i].at_target)
			continue;
		if (v[i].startup_failed)
			*startup = i;
		if (!v[i].ready)
			*failing = i;
	}
	if (*startup < n)
		return DECIDE_STARTUP_FAILED;
	if (in->now - in->progress_at > (int64_t)in->deadline_seconds * 1000)
		return DECIDE_DEADLINE_EXCEEDED;
	return DECIDE_GOING;
}

void decide_container(const struct decide_container_in *in, struct decide_verdict *out)
{
	int64_t since = in->ready_since_ms;

	out->healthy_since = in->healthy_since;
	out->ready = 0;
	out->available = 0;
	out->available_at = 0;
	/* A stopped container is known to be down; one nobody probes is taken at its word. */
	if (!in->alive || !in->probed) {
		out->known = 1;
		return;
	}
	out->ready = in->ready;
	out->known = in->ready || in->startup_failed || in->readiness_attempts > 0 ||
		     (in->readiness_none && in->started);
	if (in->docker_health) {
		/*
		 * Readiness is Docker's verdict (engine_probe_ensure leaves it out
		 * of the runner); before Docker's first check, the runner's own
		 * first pass of the same command (exec_first) says it already.
		 */
		int first = in->exec_first && in->started && in->health != DECIDE_HEALTH_HEALTHY &&
			    in->health != DECIDE_HEALTH_UNHEALTHY;

		/*
		 * Docker's healthy is enough when the runner's startup slot is
		 * only that early check (a container Docker already judged, as
		 * one a restarted controller finds, is ready before the runner's
		 * own first pass).
		 */
		out->ready = (in->health == DECIDE_HEALTH_HEALTHY && (in->ready || in->exec_first)) ||
			     (first && in->ready);
		out->known = in->startup_failed || in->health == DECIDE_HEALTH_HEALTHY ||
			     in->health == DECIDE_HEALTH_UNHEALTHY || first;
		/* minReadySeconds counts from the first verdict that said healthy, not from the runner's start. */
		if (!out->ready)
			out->healthy_since = 0;
		else if (out->healthy_since == 0)
			out->healthy_since = first && in->ready_since_ms >= 0 ? in->ready_since_ms : in->now;
		since = out->ready ? out->healthy_since : -1;
	}
	out->available = out->ready && since >= 0 && in->now - since >= in->min_ready_ms;
	/*
	 * A container made before this engine started cannot have its ready time
	 * known here; when it is ready and has existed for minReadySeconds it
	 * counts as available, or a restarted controller would take every old
	 * replica for unavailable and remove them all at once, breaking
	 * maxUnavailable.
	 */
	/* Docker gives the creation time in whole seconds: the engine's own second is not "before". */
	if (out->ready && !out->available && in->created_ms < in->born_wall_ms - in->born_wall_ms % 1000 &&
	    in->wall_now - in->created_ms >= in->min_ready_ms)
		out->available = 1;
	if (out->ready && !out->available && since >= 0)
		out->available_at = since + in->min_ready_ms;
}

size_t decide_blocker(const struct decide_gate_in *in, size_t *reach_ok)
{
	size_t first = in->n, i;
	int mine = in->phase[in->self];

	while (*reach_ok < in->n && in->phase[*reach_ok] < mine && in->reached(in->arg, *reach_ok))
		(*reach_ok)++;
	if (*reach_ok < in->n && in->phase[*reach_ok] < mine)
		first = *reach_ok;
	for (i = 0; i < in->n_depends_on; i++) {
		size_t o = in->depends_on[i];

		if (o < in->n && o != in->self && o < first && !in->reached(in->arg, o))
			first = o;
	}
	return first;
}

int decide_later_rollback(const int *phase, const unsigned char *rolling_back, size_t n, size_t self)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (phase[i] > phase[self] && rolling_back[i])
			return 1;
	return 0;
}

void decide_turn(const struct decide_turn_in *in, struct decide_turn *out)
{
	if (in->held) {
		/* Returning: phase by phase in reverse, and always towards the held revision. */
		out->turn = !in->later_rollback;
		out->roll = DECIDE_ROLL_TARGET;
		return;
	}
	out->turn = !in->waiting && !in->failed;
	if (out->turn)
		out->roll = DECIDE_ROLL_TARGET;
	else if (in->has_healthy && !in->failed)
		out->roll = DECIDE_ROLL_HEALTHY;
	else
		out->roll = DECIDE_ROLL_NONE;
}

static int other_rev(const char *r, const char *rev)
{
	return r != NULL && strcmp(r, rev) != 0;
}

enum decide_back decide_rollback(const struct decide_rollback_in *in)
{
	if (in->automatic && !in->auto_rollback)
		return DECIDE_BACK_NONE;
	if (other_rev(in->healthy_rev, in->rev))
		return DECIDE_BACK_HEALTHY;
	if (other_rev(in->previous_rev, in->rev))
		return DECIDE_BACK_PREVIOUS;
	return DECIDE_BACK_NONE;
}

int decide_cascade(const struct decide_cascade_in *in)
{
	return in->phase > in->failed_phase && !in->rolled_back && !in->failed && in->runs_new;
}

void decide_progress(const struct decide_progress_in *in, struct decide_progress *out)
{
	int64_t now = in->now;

	out->progress_at = in->progress_at;
	out->started_at = in->started_at;
	out->finished_reset = 0;
	if (in->turn && !in->was_turn) {
		out->progress_at = now;
		if (!in->complete && out->started_at == 0)
			out->started_at = in->wall;
	}
	out->last_updated = in->last_updated;
	out->last_available = in->last_available;
	if (in->retarget) {
		out->progress_at = now;
		out->started_at = in->wall;
		out->finished_reset = 1;
		/* A restart in the middle of this rollout: its deadline runs on from the state file. */
		if (in->recorded > 0 && in->recorded <= in->wall && !in->complete) {
			out->progress_at = now - (in->wall - in->recorded);
			out->last_updated = in->updated;
			out->last_available = in->available;
		}
	}
	/* A deployment that was complete and lost a container starts a new deadline, not an old one. */
	if (in->was_complete && !in->complete)
		out->progress_at = now;
	if (in->updated > out->last_updated || in->available > out->last_available)
		out->progress_at = now;
	out->last_updated = in->updated;
	out->last_available = in->available;
	out->record = DECIDE_RECORD_KEEP;
	if (out->progress_at == now && !in->complete) {
		if (in->wall - in->recorded >= 1000)
			out->record = DECIDE_RECORD_NOW;
	} else if (in->complete) {
		out->record = DECIDE_RECORD_FORGET;
	}
	if (in->paused && !in->complete) {
		out->progress_at = now;
		out->record = DECIDE_RECORD_KEEP;
	}
}

void decide_complete(const struct decide_complete_in *in, struct decide_complete *out)
{
	int got_there = in->complete && in->turn;

	out->record_healthy = got_there && !in->held && !in->failed;
	out->finished = got_there && !in->was_complete;
	/* A failure stays: it says why the deployment is back. */
	out->clear_error = got_there && !in->held;
	out->record_applied = in->n_ops > 0 && in->turn;
	out->issue = in->n_ops > 0 && !in->draining;
}

/* The phase alone: decide_status's first row that matches. */
static enum decide_phase phase_of(const struct decide_status_in *in)
{
	/* Not one container judged yet: the probes have not answered, nothing is known to be down. */
	int unjudged = in->unknown > 0 && in->verdicts == 0;

	if (in->failed)
		return DECIDE_PHASE_FAILED;
	if (in->rolled_back && in->aborted)
		return DECIDE_PHASE_ABORTED;
	if (in->rolled_back)
		return in->complete ? DECIDE_PHASE_ROLLEDBACK : DECIDE_PHASE_PROGRESSING;
	if (in->complete && !in->blocked)
		return DECIDE_PHASE_HEALTHY;
	if (unjudged)
		return DECIDE_PHASE_PENDING;
	/* Degraded counts only what is known down: a container waiting for its first verdict is not. */
	if (in->blocked && in->available + in->unknown < in->replicas && in->total > 0)
		return DECIDE_PHASE_DEGRADED;
	return DECIDE_PHASE_PROGRESSING;
}

void decide_status(const struct decide_status_in *in, struct decide_status *out)
{
	out->phase = phase_of(in);
	out->progressing = out->phase == DECIDE_PHASE_PROGRESSING && !in->blocked;
	out->available = in->available >= in->replicas - in->max_unavailable;
	out->available_reason = in->available >= in->replicas ? "AllAvailable" : "SomeUnavailable";
	out->progress_ok = !in->failed;
	out->progress_reason = in->failed	 ? "ProgressDeadlineExceeded"
			       : in->aborted && in->rolled_back ? "RolloutAborted"
			       : in->rolled_back ? "RolledBack"
			       : in->complete	 ? "NewRevisionAvailable"
			       : in->paused	 ? "DeploymentPaused"
			       : in->blocked	 ? "WaitingForEarlierPhase"
						 : "RollingOut";
	out->show_error = in->failed || in->rolled_back;
	out->ready = in->ready < in->replicas ? in->ready : in->replicas;
	out->surge = in->total > in->replicas ? in->total - in->replicas : 0;
}

enum decide_phase decide_fleet_phase(const struct decide_fleet_in *in)
{
	if (in->n_failed)
		return DECIDE_PHASE_FAILED;
	/* Every deployment that rolled back was aborted: the fleet is Aborted, not RolledBack. */
	if (in->n_rolled_back && in->n_aborted == in->n_rolled_back && !in->running)
		return DECIDE_PHASE_ABORTED;
	if (in->n_rolled_back)
		return in->running ? DECIDE_PHASE_PROGRESSING : DECIDE_PHASE_ROLLEDBACK;
	if (in->n_progressing)
		return DECIDE_PHASE_PROGRESSING;
	/* Nothing moves but some wait for their first probe verdict: Pending, not Progressing or Degraded. */
	if (in->n_pending)
		return DECIDE_PHASE_PENDING;
	if (in->running)
		return DECIDE_PHASE_PROGRESSING;
	return DECIDE_PHASE_HEALTHY;
}

int decide_summary_names(int failed, int rolled_back, const char *last_error)
{
	/* The reason cascade_rollback gives a later phase. */
	static const char cascaded[] = "rolled back because";

	if (failed)
		return 1;
	return rolled_back && last_error != NULL && strncmp(last_error, cascaded, sizeof(cascaded) - 1) != 0;
}

enum decide_outcome decide_outcome(const struct decide_outcome_dep *v, size_t n, int busy)
{
	size_t i;
	int failed = 0, rb = 0;

	for (i = 0; i < n; i++) {
		if (v[i].failed) {
			failed = 1;
			continue;
		}
		if (v[i].rolled_back)
			rb = 1;
		if (!v[i].complete && !v[i].blocked)
			busy = 1;
		if (v[i].rolled_back && !v[i].complete)
			busy = 1;
	}
	/* Blocked deployments wait for a phase that is still moving, or are stopped by a failure. */
	if (!busy && !failed && !rb)
		for (i = 0; i < n; i++)
			if (v[i].blocked)
				busy = 1;
	return busy ? DECIDE_RUNNING : failed ? DECIDE_FAILED : rb ? DECIDE_ROLLEDBACK : DECIDE_CONVERGED;
}

/* The first hook not done, or n. */
static size_t first_not_done(const unsigned char *done, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!done[i])
			return i;
	return n;
}

size_t decide_pre_deploy(const struct decide_hook_in *in)
{
	if (!in->turn || in->held || in->begun)
		return in->n;
	return first_not_done(in->done, in->n);
}

size_t decide_post_deploy(const struct decide_after_in *in)
{
	if (!in->turn || in->held || !in->complete || in->reached)
		return in->n;
	return first_not_done(in->done, in->n);
}

size_t decide_on_rollback(const struct decide_after_in *in)
{
	if (!in->turn || !in->held || !in->complete)
		return in->n;
	return first_not_done(in->done, in->n);
}

void decide_step_standing(const char *waiting_for, struct buf *out)
{
	if (waiting_for != NULL)
		(void)buf_printf(out, "waiting for '%s'", waiting_for);
	else
		(void)buf_puts(out, "stopped after a failure");
}

void decide_step(const struct decide_step_in *in, const struct rollout_input *ri, const struct rollout_result *res,
		 struct buf *out)
{
	if (in->held && !in->complete)
		(void)buf_printf(out, "rolling back ");
	else if (in->paused && !in->complete)
		(void)buf_puts(out, "paused at ");
	if (in->release_step != NULL)
		(void)buf_puts(out, in->release_step);
	else
		rollout_describe(ri, res, out);
	/* Held at its healthy revision while an earlier one is not there yet: say for whom. */
	if (in->waiting_for != NULL)
		(void)buf_printf(out, "; waiting for '%s'", in->waiting_for);
}
