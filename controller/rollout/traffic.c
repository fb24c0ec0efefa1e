/* Traffic strategies: which slot is new, what each slot's containers need, and when the release is done. */
#include "rollout/traffic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

const char *traffic_check_name(enum traffic_check_kind k)
{
	switch (k) {
	case TRAFFIC_CHECK_NONE: return "none";
	case TRAFFIC_CHECK_SMOKE: return "smoke test";
	case TRAFFIC_CHECK_PRE: return "pre-promotion analysis";
	case TRAFFIC_CHECK_WINDOW: return "monitor window analysis";
	case TRAFFIC_CHECK_STEP: return "analysis";
	}
	return "?";
}

void traffic_result_release(struct traffic_result *r)
{
	rollout_result_release(&r->res);
	free(r->fail);
	free(r->step);
	memset(r, 0, sizeof(*r));
}

int traffic_in_slot(const struct obs_container *c, const char *slot)
{
	const char *s = c->slot && c->slot[0] ? c->slot : TRAFFIC_SLOT_BLUE;

	return strcmp(s, slot) == 0;
}

int traffic_port_offset(const char *slot, int replicas, int ordinal)
{
	return (strcmp(slot, TRAFFIC_SLOT_GREEN) == 0 ? replicas : 0) + ordinal;
}

static void set_text(char **dst, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void set_text(char **dst, const char *f, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 4096);
	va_start(ap, f);
	(void)buf_vprintf(&b, f, ap);
	va_end(ap);
	free(*dst);
	*dst = buf_detach(&b, NULL);
}

/*
 * The new slot: the one that already holds the target revision; else the
 * slot beside the stable containers (those at the last healthy revision);
 * else blue.
 */
static const char *choose_slot(const struct traffic_input *in)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		if (obs_revision_eq(in->v[i].c->revision, in->rev) && in->v[i].c->slot && in->v[i].c->slot[0])
			return traffic_in_slot(in->v[i].c, TRAFFIC_SLOT_GREEN) ? TRAFFIC_SLOT_GREEN : TRAFFIC_SLOT_BLUE;
	for (i = 0; i < in->n; i++)
		if (obs_revision_eq(in->v[i].c->revision, in->rev))
			return TRAFFIC_SLOT_BLUE;
	for (i = 0; i < in->n; i++)
		if (in->stable_rev && obs_revision_eq(in->v[i].c->revision, in->stable_rev) && obs_container_alive(in->v[i].c))
			return traffic_in_slot(in->v[i].c, TRAFFIC_SLOT_BLUE) ? TRAFFIC_SLOT_GREEN : TRAFFIC_SLOT_BLUE;
	return TRAFFIC_SLOT_BLUE;
}

static void add_remove(struct traffic_result *out, const struct obs_container *c, const char *why)
{
	rollout_add_op(&out->res, ROLLOUT_REMOVE, c->ordinal, c, NULL, 0, "%s", why);
}

/* One pass's view of the slots, shared by the steps of traffic_decide. */
struct slots {
	const char *slot;			/* the new slot */
	const struct traffic_ctr **cur;		/* the new slot's container at each ordinal (replicas entries) */
	int in_progress;			/* the target is not the stable revision yet */
	int keep_old;				/* the old slot stays for the scale-down delay */
	size_t n_other;				/* containers outside the new slot or not at the target */
	int stable_ready;			/* ready containers of the stable slot */
	int ready_new;				/* ready containers of the new slot */
};

/* A container of the new slot at the target revision: it holds its ordinal, or it goes. */
static void claim_ordinal(const struct traffic_input *in, struct slots *s, const struct traffic_ctr *x,
			  struct traffic_result *out)
{
	const struct obs_container *c = x->c;

	if (c->ordinal < 0 || c->ordinal >= in->replicas || s->cur == NULL) {
		if (!in->heal_only)
			add_remove(out, c, "scale down: ordinal past replicas");
	} else if (c->state == OBS_DEAD) {
		add_remove(out, c, "dead");
	} else if (s->cur[c->ordinal] == NULL) {
		s->cur[c->ordinal] = x;
	} else if (!obs_container_alive(s->cur[c->ordinal]->c) && obs_container_alive(c)) {
		add_remove(out, s->cur[c->ordinal]->c, "duplicate at the same revision");
		s->cur[c->ordinal] = x;
	} else {
		add_remove(out, c, "duplicate at the same revision");
	}
}

/* Any other container: the stable slot serves on, the old slot waits out its delay, the rest goes. */
static void sort_other(const struct traffic_input *in, struct slots *s, const struct traffic_ctr *x,
		       struct traffic_result *out)
{
	const struct obs_container *c = x->c;
	int in_new = traffic_in_slot(c, s->slot);

	s->n_other++;
	if (s->in_progress && in->stable_rev && obs_revision_eq(c->revision, in->stable_rev) && !in_new) {
		/* The stable slot, serving until the new one takes over. */
		if (x->ready)
			s->stable_ready++;
		return;
	}
	if (s->keep_old && !in_new)
		return;
	add_remove(out, c, in_new ? "new slot: not at the target revision"
			   : s->in_progress ? "neither stable nor new"
					    : "old slot: released");
}

static void sort_containers(const struct traffic_input *in, struct slots *s, struct traffic_result *out)
{
	size_t k;

	for (k = 0; k < in->n; k++) {
		const struct traffic_ctr *x = &in->v[k];

		if (x->c->state == OBS_REMOVING)
			continue;
		if (x->ready)
			out->res.ready++;
		if (traffic_in_slot(x->c, s->slot) && obs_revision_eq(x->c->revision, in->rev))
			claim_ordinal(in, s, x, out);
		else if (!in->heal_only)
			sort_other(in, s, x, out);
	}
}

/* Each ordinal of the new slot: created when missing, started when stopped, counted when ready. */
static void fill_ordinals(const struct traffic_input *in, struct slots *s, struct traffic_result *out)
{
	int i;

	for (i = 0; i < in->replicas; i++) {
		const struct traffic_ctr *x = s->cur[i];

		if (x == NULL) {
			char base[256], *name;
			size_t n = out->res.n_ops;

			snprintf(base, sizeof(base), "%s-%s-%d", in->deployment, s->slot, i);
			name = desired_prefixed(in->name_prefix, base);
			rollout_add_op(&out->res, ROLLOUT_CREATE, i, NULL, name,
				       traffic_port_offset(s->slot, in->replicas, i), "slot %s: missing", s->slot);
			free(name);
			snprintf(out->res.ops[n].slot, sizeof(out->res.ops[n].slot), "%s", s->slot);
			continue;
		}
		out->res.updated++;
		if (!obs_container_alive(x->c)) {
			rollout_add_op(&out->res, ROLLOUT_START, i, x->c, NULL, 0, "%s, not running",
				       obs_state_name(x->c->state));
		} else if (x->ready) {
			s->ready_new++;
			out->res.available++;
		}
	}
}

/*
 * After the switch every new container must stay ready: that is the
 * monitor window's probe check. One whose readiness is not known yet
 * (a controller restarted in the window) has not been seen to stop.
 * 1 when one stopped: the release fails.
 */
static int window_lost(const struct traffic_input *in, const struct traffic_record *rec, const struct slots *s,
		       struct traffic_result *out)
{
	int i;

	if (!s->in_progress || !rec->switched || out->res.updated != in->replicas || s->stable_ready == 0 ||
	    in->strategy->type != SPEC_STRATEGY_BLUEGREEN)
		return 0;
	for (i = 0; i < in->replicas && (s->cur[i]->ready || s->cur[i]->unknown); i++)
		;
	if (i == in->replicas)
		return 0;
	set_text(&out->fail, "container '%s' of slot %s stopped being ready after the switch", s->cur[i]->c->name,
		 s->slot);
	return 1;
}

/* Once the containers are sorted: healing, waiting on the new slot, done, or the strategy's own steps. */
static void decide_progress(const struct traffic_input *in, struct traffic_record *rec, const struct slots *s,
			    struct traffic_result *out)
{
	int R = in->replicas;

	if (in->heal_only) {
		set_text(&out->step, "healing %s %d/%d", in->deployment, s->ready_new, R);
	} else if (s->ready_new < R) {
		if (!window_lost(in, rec, s, out))
			set_text(&out->step, "%s %s: slot %s %d/%d ready",
				 in->strategy->type == SPEC_STRATEGY_CANARY ? "canary" : "blue-green", in->deployment,
				 s->slot, s->ready_new, R);
	} else if (!s->in_progress) {
		out->res.complete = 1;
		set_text(&out->step, "%s %d/%d available in slot %s", in->deployment, s->ready_new, R, s->slot);
	} else if (in->rollback || s->stable_ready == 0 || rec->full) {
		/* Nothing serves yet, or a return to a known revision: all traffic at once, no steps. */
		if (!rec->switched) {
			rec->switched = 1;
			rec->switched_at = in->now;
		}
		out->new_weight = 100;
		out->res.complete = 1;
		set_text(&out->step, "%s %d/%d available in slot %s", in->deployment, s->ready_new, R, s->slot);
	} else if (in->strategy->type == SPEC_STRATEGY_CANARY) {
		strategy_canary_progress(in, rec, out);
	} else {
		strategy_bluegreen_progress(in, rec, out);
	}
}

void traffic_decide(const struct traffic_input *in, struct traffic_record *rec, struct traffic_result *out)
{
	struct slots s;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (strcmp(rec->rev, in->rev) != 0) {
		memset(rec, 0, sizeof(*rec));
		snprintf(rec->rev, sizeof(rec->rev), "%s", in->rev);
	}
	s.slot = choose_slot(in);
	snprintf(out->new_slot, sizeof(out->new_slot), "%s", s.slot);
	s.in_progress = in->stable_rev == NULL || !obs_revision_eq(in->stable_rev, in->rev);
	/* After the switch the old slot stays for the scale-down delay: a rollback is then one reload. */
	s.keep_old = !s.in_progress && rec->switched_at > 0 && in->strategy->type == SPEC_STRATEGY_BLUEGREEN &&
		     in->now < rec->switched_at + (int64_t)in->strategy->scale_down_delay_seconds * 1000;
	out->res.total = (int)in->n;
	if (in->replicas > 0)
		s.cur = xcalloc((size_t)in->replicas, sizeof(const struct traffic_ctr *));
	sort_containers(in, &s, out);
	fill_ordinals(in, &s, out);
	out->preview_new = 1;
	out->new_weight = s.in_progress ? (rec->switched ? 100 : rec->weight) : 100;
	decide_progress(in, rec, &s, out);
	out->more = out->res.complete && s.n_other > 0;
	out->res.waiting = !out->res.complete && out->res.n_ops == 0;
	free(s.cur);
}
