/* The status of a commit beside its fleet: the source section (what Git says), a commit refused or superseded, and what `auriga status` exits with. */
#include "status/status.h"
#include "status/status_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Whether the status has a source section to show. */
int status_source_present(const struct fleet_status *s)
{
	const struct status_source *src = &s->source;

	return s->source_error || src->head || src->applied || src->fetched_at > 0 || src->fetch_error ||
	       src->fetch_error_at > 0 || src->environment;
}

void status_source_release(struct status_source *src)
{
	FREE_ALL(src->head, src->applied, src->fetch_error, src->environment, src->promotion, src->approved_by);
	memset(src, 0, sizeof(*src));
}

void status_source_copy(struct status_source *dst, const struct status_source *src)
{
	status_source_release(dst);
	dst->head = xstrdup_or_null(src->head);
	dst->applied = xstrdup_or_null(src->applied);
	dst->fetched_at = src->fetched_at;
	dst->fetch_error = xstrdup_or_null(src->fetch_error);
	dst->fetch_error_at = src->fetch_error_at;
	dst->environment = xstrdup_or_null(src->environment);
	dst->promotion = xstrdup_or_null(src->promotion);
	dst->approved_by = xstrdup_or_null(src->approved_by);
	dst->approved_at = src->approved_at;
}

void status_set_source(struct fleet_status *s, const struct status_source *src)
{
	const struct status_source *d = &s->source;

	status_source_copy(&s->source, src);
	if (s->source_error == NULL && d->fetch_error && d->fetch_error_at > d->fetched_at)
		s->source_error = xasprintf("git: %s", d->fetch_error);
}

/* The common part of a commit's status when it was not applied. */
static void set_not_applied(struct fleet_status *s, enum status_phase phase, const char *commit,
			    const struct status_source *src, int64_t now_wall_ms)
{
	s->commit = xstrdup(commit);
	s->phase = phase;
	s->observed_at = now_wall_ms;
	if (src)
		status_set_source(s, src);
}

void status_set_refused(struct fleet_status *s, const char *commit, const char *problems,
			const struct status_source *src, int64_t now_wall_ms)
{
	set_not_applied(s, STATUS_REFUSED, commit, src, now_wall_ms);
	s->summary = xstrdup("nothing of this commit was applied");
	s->problems = xstrdup(problems && problems[0] ? problems : "the specs do not load");
}

void status_set_superseded(struct fleet_status *s, const char *commit, const char *newer,
			   const struct status_source *src, int64_t now_wall_ms)
{
	set_not_applied(s, STATUS_SUPERSEDED, commit, src, now_wall_ms);
	s->summary = xasprintf("the newer commit %.12s came before it was applied", newer);
	s->superseded_by = xstrdup(newer);
}

void status_set_waiting(struct fleet_status *s, const char *commit, const char *why,
			const struct status_source *src, int64_t now_wall_ms)
{
	set_not_applied(s, STATUS_WAITING, commit, src, now_wall_ms);
	s->summary = xasprintf("not applied yet: %s", why);
}

enum status_exit status_exit_code(const struct fleet_status *s)
{
	if (s == NULL)
		return STATUS_EXIT_UNKNOWN;
	switch (s->phase) {
	case STATUS_HEALTHY: return STATUS_EXIT_HEALTHY;
	case STATUS_UNKNOWN: case STATUS_PROGRESSING: case STATUS_PENDING: case STATUS_WAITING:
		return STATUS_EXIT_PROGRESSING;
	case STATUS_REFUSED: return STATUS_EXIT_REFUSED;
	case STATUS_DEGRADED: case STATUS_FAILED: case STATUS_ROLLEDBACK: case STATUS_ABORTED:
		return STATUS_EXIT_FAILED;
	case STATUS_SUPERSEDED: break;
	}
	return STATUS_EXIT_UNKNOWN;
}
