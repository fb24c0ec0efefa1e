/* The fleet status after a pass: each deployment's phase, counts and conditions, and the one-line summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "util.h"

void engine_build_status(struct engine *e)
{
	struct fleet_status *s = &e->status;
	size_t i, n_prog = 0, n_failed = 0, n_rb = 0;
	const char *first_prog = NULL;
	int prog_phase = -1;
	char *summary = NULL;

	status_release(s);
	status_init(s);
	s->commit = xstrdup(e->desired.commit ? e->desired.commit : "");
	s->observed_at = wall_ms();
	if (e->list_error)
		s->source_error = engine_fmt("docker: %s", e->list_error);
	else if (e->git_error)
		s->source_error = engine_fmt("git: %s", e->git_error);
	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *dd = &e->desired.v[i];
		struct eng_dep *ed = engine_dep_get(e, dd->name);
		struct status_deployment *sd = status_add_deployment(s, dd->name);
		struct status_condition *c;

		sd->role = xstrdup(dd->role);
		sd->revision = xstrdup(ed->rev_shown[0] ? ed->rev_shown : dd->revision);
		sd->desired = dd->replicas;
		sd->ready = ed->res.ready;
		sd->updated = ed->res.updated;
		sd->available = ed->res.available;
		sd->restarts = ed->restarts;
		sd->strategy = xstrdup(plan_strategy_name(dd->strategy));
		sd->step = ed->step ? xstrdup(ed->step) : NULL;
		sd->last_error = ed->last_error ? xstrdup(ed->last_error) : NULL;
		sd->started_at = ed->started_at;
		sd->finished_at = ed->finished_at;
		if (ed->failed) {
			sd->phase = STATUS_FAILED;
			n_failed++;
		} else if (ed->rolled_back) {
			sd->phase = ed->complete ? STATUS_ROLLEDBACK : STATUS_PROGRESSING;
			n_rb++;
		} else if (ed->complete && !ed->blocked) {
			sd->phase = STATUS_HEALTHY;
		} else if (ed->blocked && ed->res.available < dd->replicas && ed->res.total > 0) {
			sd->phase = STATUS_DEGRADED;
		} else {
			sd->phase = STATUS_PROGRESSING;
		}
		if (sd->phase == STATUS_PROGRESSING && !ed->blocked) {
			n_prog++;
			if (first_prog == NULL) {
				first_prog = ed->step;
				prog_phase = dd->phase;
			}
		}
		c = status_add_condition(sd, "Available");
		c->status = xstrdup(ed->res.available >= dd->replicas - dd->max_unavailable ? "True" : "False");
		c->reason = xstrdup(ed->res.available >= dd->replicas ? "AllAvailable" : "SomeUnavailable");
		c = status_add_condition(sd, "Progressing");
		c->status = xstrdup(ed->failed ? "False" : "True");
		c->reason = xstrdup(ed->failed		 ? "ProgressDeadlineExceeded"
				    : ed->rolled_back	 ? "RolledBack"
				    : ed->complete	 ? "NewRevisionAvailable"
				    : ed->blocked	 ? "WaitingForEarlierPhase"
							 : "RollingOut");
		if (ed->last_error && (ed->failed || ed->rolled_back))
			c->message = xstrdup(ed->last_error);
		ed->phase = sd->phase;
	}
	if (n_failed)
		s->phase = STATUS_FAILED;
	else if (n_rb)
		s->phase = e->outcome == ENGINE_RUNNING ? STATUS_PROGRESSING : STATUS_ROLLEDBACK;
	else if (n_prog || e->outcome == ENGINE_RUNNING)
		s->phase = STATUS_PROGRESSING;
	else
		s->phase = STATUS_HEALTHY;
	for (i = 0; i < s->ndeployments && summary == NULL; i++) {
		const struct status_deployment *sd = &s->deployments[i];

		if (sd->phase == STATUS_FAILED || (sd->phase == STATUS_ROLLEDBACK && sd->last_error &&
						   !str_has_prefix(sd->last_error, "rolled back because")))
			summary = engine_fmt("%s %s: %s", sd->name, sd->phase == STATUS_FAILED ? "failed" : "rolled back",
				      sd->last_error ? sd->last_error : "");
	}
	if (summary == NULL && first_prog)
		summary = engine_fmt("phase %d of %d, %s", prog_phase + 1, e->desired.n_phases, first_prog);
	s->summary = summary;
}
