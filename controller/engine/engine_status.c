/* The fleet status after a pass: each deployment's phase, counts and conditions, and the one-line summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "engine/engine_internal.h"
#include "util.h"

static enum status_phase status_phase_of(enum decide_phase p)
{
	switch (p) {
	case DECIDE_PHASE_PROGRESSING: return STATUS_PROGRESSING;
	case DECIDE_PHASE_HEALTHY: return STATUS_HEALTHY;
	case DECIDE_PHASE_DEGRADED: return STATUS_DEGRADED;
	case DECIDE_PHASE_FAILED: return STATUS_FAILED;
	case DECIDE_PHASE_ROLLEDBACK: return STATUS_ROLLEDBACK;
	case DECIDE_PHASE_PENDING: return STATUS_PENDING;
	case DECIDE_PHASE_ABORTED: return STATUS_ABORTED;
	}
	return STATUS_UNKNOWN;
}

/* The deployment's containers as the last list saw them, with their probes' verdicts and latest failures. */
static void add_instances(struct engine *e, struct status_deployment *sd)
{
	const struct obs_deployment *od = observed_deployment(&e->obs, sd->name);
	const struct desired_deployment *dd = desired_find(&e->desired, sd->name);
	const struct eng_dep *ed = engine_dep_find(e, sd->name);
	size_t i, j;

	for (i = 0; od && i < od->n; i++) {
		const struct obs_container *c = od->v[i];
		struct status_instance *in = status_add_instance(sd, c->name);
		const struct eng_probe *p = engine_probe_find(e, c->id);
		/* Its ordinal was made on another endpoint while this one's did not answer: removed once it does. */
		int moved = dd && ed && engine_move_old(e, dd, ed, od, c);

		in->revision = status_str(sd, c->revision);
		in->slot = status_str(sd, c->slot ? c->slot : "");
		in->state = status_str(sd, moved ? "moved" : c->unreachable ? "unreachable" : obs_state_name(c->state));
		/* The endpoint it was listed from; its recorded host when the list is unnamed. */
		in->host = status_str(sd, c->host);
		in->node = status_str(sd, c->node_name);
		if (sd->service == NULL && c->swarm_service)
			sd->service = status_str(sd, c->swarm_service);
		for (j = 0; j < c->n_ports && in->endpoint == NULL; j++) {
			const char *ip = c->address ? c->address : c->ports[j].host_ip[0] ? c->ports[j].host_ip : "0.0.0.0";

			if (c->ports[j].host_port > 0 && !c->ports[j].udp)
				in->endpoint = status_strf(sd, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, c->ports[j].host_port);
		}
		if (c->host_mismatch) {
			struct status_condition *cd = status_add_condition(sd, "EndpointLabel");

			cd->status = status_str(sd, "False");
			cd->reason = status_str(sd, "Mismatch");
			cd->message = status_strf(sd, "container '%s' is labelled endpoint '%s' but is listed from endpoint "
						"'%s': it is taken as running there", c->name, c->endpoint, c->host);
		}
		if (p && (p->r || p->bare) && !c->unreachable && !moved) {
			struct probe_state bare;
			const struct probe_state *st = engine_probe_state(p, &bare);

			in->ready = st->ready;
			in->probe_failure = st->last_failure[0] ? status_str(sd, st->last_failure) : NULL;
		}
	}
}

/* A Swarm's nodes as its last list gave them, with this instance's tasks running on each, and what Swarm moved. */
static void add_swarm(const struct engine *e, struct fleet_status *s)
{
	size_t i, j, k;
	const json_t *x;
	json_t *running = NULL;	/* node name -> this instance's tasks running there, counted once */

	for (i = 0; i < e->n_hosts; i++) {
		const struct eng_host *h = &e->hosts[i];

		if (json_array_size(h->swarm_node_list) && running == NULL) {
			running = json_object();
			for (k = 0; k < e->obs.n_containers; k++) {
				const struct obs_container *c = e->obs.containers[k];

				if (c->node_name && c->state == OBS_RUNNING && !c->node_down)
					json_object_set_new(running, c->node_name,
							    json_integer(json_integer_value(
									 json_object_get(running, c->node_name)) + 1));
			}
		}
		json_array_foreach(h->swarm_node_list, j, x) {
			const json_t *st = json_object_get(x, "Status"), *sp = json_object_get(x, "Spec");
			const char *name = json_string_value(json_object_get(json_object_get(x, "Description"), "Hostname"));
			const char *id = json_string_value(json_object_get(x, "ID"));
			struct status_node *n = status_add_node(s, name ? name : id ? id : "?");

			n->id = id ? xasprintf("%.12s", id) : NULL;
			n->address = xstrdup_or_null(json_string_value(json_object_get(st, "Addr")));
			n->state = xstrdup_or_null(json_string_value(json_object_get(st, "State")));
			n->availability = xstrdup_or_null(json_string_value(json_object_get(sp, "Availability")));
			n->role = xstrdup_or_null(json_string_value(json_object_get(sp, "Role")));
			n->tasks = name ? json_integer_value(json_object_get(running, name)) : 0;
		}
		json_array_foreach(h->swarm_moves, j, x) {
			struct status_move *m = status_add_move(s, json_string_value(json_object_get(x, "deployment")),
								json_string_value(json_object_get(x, "task")));

			m->from = xstrdup_or_null(json_string_value(json_object_get(x, "from")));
			m->to = xstrdup_or_null(json_string_value(json_object_get(x, "to")));
			m->reason = xstrdup_or_null(json_string_value(json_object_get(x, "reason")));
			m->at = json_integer_value(json_object_get(x, "at"));
		}
	}
	json_decref(running);
}

void engine_build_status(struct engine *e)
{
	struct fleet_status *s = &e->status;
	struct decide_fleet_in fi;
	size_t i, n_prog = 0, n_failed = 0, n_rb = 0, n_aborted = 0, n_pending = 0;
	const char *first_prog = NULL;
	int prog_phase = -1;
	char *summary = NULL;

	if (e->o.before_status)
		e->o.before_status(e, e->o.arg);
	status_release(s);
	status_init(s);
	status_use_pool(s);
	s->commit = xstrdup(e->desired.commit ? e->desired.commit : "");
	s->observed_at = wall_ms();
	add_swarm(e, s);
	if (e->list_error)
		s->source_error = xasprintf("docker: %s", e->list_error);
	else if (e->git_error)
		s->source_error = xasprintf("git: %s", e->git_error);
	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *dd = &e->desired.v[i];
		struct eng_dep *ed = engine_dep_get(e, dd->name);
		struct status_deployment *sd = status_add_deployment(s, dd->name);
		struct status_condition *c;
		struct decide_status_in si;
		struct decide_status ds;

		sd->role = status_str(sd, dd->role);
		sd->revision = status_str(sd, ed->rev_shown[0] ? ed->rev_shown : dd->revision);
		sd->desired = dd->replicas;
		sd->updated = ed->res.updated;
		sd->available = ed->res.available;
		sd->restarts = ed->restarts;
		sd->strategy = status_str(sd, plan_strategy_name(dd->strategy));
		sd->step = status_str(sd, ed->step);
		sd->last_error = status_str(sd, ed->last_error);
		sd->started_at = ed->started_at;
		sd->finished_at = ed->finished_at;
		sd->paused = ed->paused;
		for (size_t k = 0; k < ARRAY_SIZE(sd->slots) && engine_traffic_handles(dd); k++) {
			snprintf(sd->slots[k].name, sizeof(sd->slots[k].name), "%s", ed->slots[k].slot);
			sd->slots[k].ready = ed->slots[k].ready;
			sd->slots[k].desired = ed->slots[k].desired;
		}
		sd->action = status_str(sd, ed->action);
		sd->action_by = status_str(sd, ed->action_by);
		sd->action_reason = status_str(sd, ed->action_reason);
		sd->action_at = ed->action_at;
		add_instances(e, sd);
		if (engine_traffic_handles(dd))
			engine_traffic_verification(e->traffic, dd, sd);
		memset(&si, 0, sizeof(si));
		si.failed = ed->failed;
		si.rolled_back = ed->rolled_back;
		si.aborted = ed->aborted;
		si.paused = ed->paused;
		si.complete = ed->complete;
		si.blocked = ed->blocked;
		si.replicas = dd->replicas;
		si.max_unavailable = dd->max_unavailable;
		si.available = ed->res.available;
		si.total = ed->res.total;
		si.ready = ed->res.ready;
		si.unknown = ed->unknown;
		si.verdicts = ed->verdicts;
		decide_status(&si, &ds);
		sd->phase = status_phase_of(ds.phase);
		sd->ready = ds.ready;
		sd->surge = ds.surge;
		n_failed += ds.phase == DECIDE_PHASE_FAILED;
		n_rb += ed->rolled_back && !ed->failed;
		n_aborted += ds.phase == DECIDE_PHASE_ABORTED;
		n_pending += ds.phase == DECIDE_PHASE_PENDING;
		if (ds.progressing) {
			n_prog++;
			if (first_prog == NULL) {
				first_prog = ed->step;
				prog_phase = dd->phase;
			}
		}
		c = status_add_condition(sd, "Available");
		c->status = status_str(sd, ds.available ? "True" : "False");
		c->reason = status_str(sd, ds.available_reason);
		c = status_add_condition(sd, "Progressing");
		c->status = status_str(sd, ds.progress_ok ? "True" : "False");
		c->reason = status_str(sd, ds.progress_reason);
		if (ed->last_error && ds.show_error)
			c->message = status_str(sd, ed->last_error);
		ed->phase = sd->phase;
	}
	memset(&fi, 0, sizeof(fi));
	fi.n_failed = n_failed;
	fi.n_rolled_back = n_rb;
	fi.n_progressing = n_prog;
	fi.n_aborted = n_aborted;
	fi.n_pending = n_pending;
	fi.running = e->outcome == ENGINE_RUNNING;
	s->phase = status_phase_of(decide_fleet_phase(&fi));
	for (i = 0; i < s->ndeployments && summary == NULL; i++) {
		const struct status_deployment *sd = &s->deployments[i];

		if (decide_summary_names(sd->phase == STATUS_FAILED,
					 sd->phase == STATUS_ROLLEDBACK || sd->phase == STATUS_ABORTED, sd->last_error))
			summary = xasprintf("%s %s: %s", sd->name,
					    sd->phase == STATUS_FAILED	   ? "failed"
					    : sd->phase == STATUS_ABORTED ? "aborted"
									  : "rolled back",
					    sd->last_error ? sd->last_error : "");
	}
	if (summary == NULL && first_prog)
		summary = xasprintf("phase %d of %d, %s", prog_phase + 1, e->desired.n_phases, first_prog);
	s->summary = summary;
}
