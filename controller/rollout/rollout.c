/* One rollout step: the cleanup every strategy shares (scale down, duplicates, stopped, missing), then the strategy's own. */
#include "rollout/rollout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *rollout_op_name(enum rollout_op_kind k)
{
	switch (k) {
	case ROLLOUT_CREATE: return "create";
	case ROLLOUT_START: return "start";
	case ROLLOUT_REMOVE: return "remove";
	case ROLLOUT_SERVICE: return "service";
	}
	return "?";
}

void rollout_result_release(struct rollout_result *r)
{
	size_t i;

	for (i = 0; i < r->n_ops; i++)
		FREE_ALL(r->ops[i].name, r->ops[i].why);
	free(r->ops);
	memset(r, 0, sizeof(*r));
}

void rollout_add_op(struct rollout_result *r, enum rollout_op_kind k, int ordinal, const struct obs_container *c,
		    const char *name, int port_offset, const char *fmt, ...)
{
	struct rollout_op *op;
	va_list ap;

	r->ops = xrealloc(r->ops, (r->n_ops + 1) * sizeof(*r->ops));
	op = &r->ops[r->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = k;
	op->ordinal = ordinal;
	op->c = c;
	op->name = xstrdup_or_null(name);
	op->port_offset = port_offset;
	va_start(ap, fmt);
	op->why = xvasprintf(fmt, ap);
	va_end(ap);
}

static int at_target(const struct rollout_input *in, const struct obs_container *c)
{
	if (!obs_revision_eq(c->revision, in->rev))
		return 0;
	/* Changed by hand: Docker shows an id instead of the name when a tag moved, which is not drift. */
	if (in->tmpl && c->image && in->tmpl->image && !observe_image_is_id(c->image) &&
	    strcmp(c->image, in->tmpl->image) != 0)
		return 0;
	return 1;
}

/* Taken by a container that runs, or by one this step creates (two surges must not share a port). */
static int port_used(const struct rollout_input *in, const struct rollout_result *r, int base, int off)
{
	int host_port = base + off;
	size_t i, j;

	for (i = 0; r != NULL && i < r->n_ops; i++)
		if (r->ops[i].kind == ROLLOUT_CREATE && r->ops[i].port_offset == off)
			return 1;
	for (i = 0; i < in->n; i++) {
		const struct obs_container *c = in->v[i].c;

		for (j = 0; j < c->n_ports; j++)
			if (c->ports[j].host_port == host_port)
				return 1;
	}
	return 0;
}

void rollout_new_identity(const struct rollout_input *in, const struct rollout_slot *s,
			  const struct rollout_result *r, char **name, int *port_offset)
{
	int base = 0, k;

	*name = desired_container_name(in->name_prefix, in->deployment, s->ordinal, s->n_old || s->cur ? in->rev : NULL);
	*port_offset = s->ordinal;
	if (in->tmpl) {
		size_t i;

		for (i = 0; i < in->tmpl->n_ports && base == 0; i++)
			base = in->tmpl->ports[i].host_port;
	}
	if (base == 0 || !port_used(in, r, base, s->ordinal))
		return;
	/* The ordinal's own port is taken (its old container still runs): a surge port past the replicas. */
	for (k = 0; k < in->replicas + (int)in->max_surge + 1; k++) {
		int off = in->replicas + k;

		if (!port_used(in, r, base, off)) {
			*port_offset = off;
			return;
		}
	}
	for (k = 0; k < in->replicas; k++)
		if (!port_used(in, r, base, k)) {
			*port_offset = k;
			return;
		}
}

static int alive(const struct rollout_ctr *x)
{
	return obs_container_alive(x->c);
}

void rollout_step(const struct rollout_input *in, struct rollout_result *out)
{
	struct rollout_slot *slots = NULL;
	int R = in->replicas, i;
	size_t k;

	memset(out, 0, sizeof(*out));
	out->total = (int)in->n;
	if (R > 0)
		slots = xcalloc((size_t)R, sizeof(*slots));
	for (i = 0; i < R; i++)
		slots[i].ordinal = i;
	for (k = 0; k < in->n; k++) {
		const struct rollout_ctr *x = &in->v[k];
		const struct obs_container *c = x->c;
		struct rollout_slot *s;

		if (c->ordinal < 0 || c->ordinal >= R || slots == NULL) {
			if (!in->heal_only)
				rollout_add_op(out, ROLLOUT_REMOVE, c->ordinal, c, NULL, 0,
					       "scale down: ordinal %d is past replicas %d", c->ordinal, R);
			continue;
		}
		if (c->state == OBS_REMOVING)
			continue;
		s = &slots[c->ordinal];
		if (x->ready)
			out->ready++;
		if (x->available)
			s->avail = 1;
		if (at_target(in, c)) {
			const struct rollout_ctr *drop = x;

			if (c->state == OBS_DEAD) {
				rollout_add_op(out, ROLLOUT_REMOVE, c->ordinal, c, NULL, 0, "dead");
				continue;
			}
			if (s->cur == NULL) {
				s->cur = x;
				continue;
			}
			if (!alive(s->cur) && alive(x)) {
				drop = s->cur;
				s->cur = x;
			}
			rollout_add_op(out, ROLLOUT_REMOVE, c->ordinal, drop->c, NULL, 0,
				       "duplicate of %s at the same revision", s->cur->c->name);
			continue;
		}
		if (s->n_old < ARRAY_SIZE(s->old)) {
			s->old[s->n_old++] = x;
			continue;
		}
		if (!in->heal_only)
			rollout_add_op(out, ROLLOUT_REMOVE, c->ordinal, c, NULL, 0, "one old container too many");
	}
	for (i = 0; i < R; i++) {
		struct rollout_slot *s = &slots[i];

		if (s->cur)
			out->updated++;
		if (s->avail)
			out->available++;
		if (s->cur && !alive(s->cur)) {
			rollout_add_op(out, ROLLOUT_START, i, s->cur->c, NULL, 0, "%s, not running",
				       obs_state_name(s->cur->c->state));
			s->busy = 1;
		} else if (s->cur == NULL && s->n_old == 0) {
			char *name;
			int off;

			rollout_new_identity(in, s, out, &name, &off);
			rollout_add_op(out, ROLLOUT_CREATE, i, NULL, name, off, "missing");
			free(name);
			s->busy = 1;
		}
	}
	if (!in->heal_only && R > 0) {
		if (in->strategy == SPEC_STRATEGY_RECREATE)
			strategy_recreate_step(in, slots, out);
		else
			strategy_rolling_step(in, slots, out);
	}
	out->complete = out->n_ops == 0 && out->total == R;
	for (i = 0; i < R && out->complete; i++)
		if (slots[i].cur == NULL || !slots[i].cur->available || slots[i].n_old)
			out->complete = 0;
	out->waiting = !out->complete && out->n_ops == 0;
	free(slots);
}

void rollout_describe(const struct rollout_input *in, const struct rollout_result *r, struct buf *out)
{
	const char *verb = in->strategy == SPEC_STRATEGY_RECREATE ? "recreate" : "rolling";

	if (r->complete)
		(void)buf_printf(out, "%s %d/%d available", in->deployment, r->available, in->replicas);
	else if (r->held == 2)
		(void)buf_printf(out, "%s held until its tasks' readiness is known (Swarm would stop old tasks first)",
				 in->deployment);
	else if (r->held)
		(void)buf_printf(out, "%s held: %d/%d available, and Swarm would stop old tasks first, which the "
				 "disruption budget (%ld down at most) does not allow now", in->deployment, r->available,
				 in->replicas, in->max_unavailable > 0 ? in->max_unavailable : 1);
	else if (in->heal_only)
		(void)buf_printf(out, "healing %s %d/%d", in->deployment, r->available, in->replicas);
	else
		(void)buf_printf(out, "%s %s %d/%d", verb, in->deployment, r->updated, in->replicas);
}
