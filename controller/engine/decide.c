/* The engine's pure decisions: given what a pass observed and the clock, what it does. */
#include "engine/decide.h"

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
	if (!in->turn || in->held || in->complete)
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
	/* A stopped container is known to be down; one nobody probes is taken at its word. */
	if (!in->alive || !in->probed) {
		out->known = 1;
		return;
	}
	out->ready = in->ready;
	out->known = in->ready || in->startup_failed || in->readiness_attempts > 0 ||
		     (in->readiness_none && in->started);
	if (in->docker_health) {
		/* Readiness is Docker's verdict (engine_probe_ensure leaves it out of the runner). */
		out->ready = in->ready && in->health == DECIDE_HEALTH_HEALTHY;
		out->known = in->startup_failed || in->health == DECIDE_HEALTH_HEALTHY ||
			     in->health == DECIDE_HEALTH_UNHEALTHY;
		/* minReadySeconds counts from Docker's healthy verdict, not from the runner's start. */
		if (!out->ready)
			out->healthy_since = 0;
		else if (out->healthy_since == 0)
			out->healthy_since = in->now;
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
	if (out->ready && !out->available && in->created_ms < in->born_wall_ms &&
	    in->wall_now - in->created_ms >= in->min_ready_ms)
		out->available = 1;
}
