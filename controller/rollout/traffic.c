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
	free(r->route);
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

int traffic_canary_new_count(int replicas, int weight)
{
	int n;

	if (replicas <= 0)
		return 0;
	if (weight >= 100)
		return replicas;
	n = (replicas * (weight < 0 ? 0 : weight) + 99) / 100;
	return n < 1 ? 1 : n;
}

int traffic_canary_stable_count(int replicas, int weight)
{
	int n;

	if (replicas <= 0 || weight >= 100)
		return 0;
	if (weight <= 0)
		return replicas;
	n = (replicas * (100 - weight) + 99) / 100;
	return n < 1 ? 1 : n;
}

#define MAX_SERVER_WEIGHT 1000

static long gcd(long a, long b)
{
	while (b != 0) {
		long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

void traffic_server_weights(int w, int n_new, int n_old, int *w_new, int *w_old)
{
	long a, b, g, top;

	if (w <= 0 || w >= 100 || n_new <= 0 || n_old <= 0) {
		*w_new = w <= 0 ? 0 : 100;
		*w_old = w >= 100 ? 0 : 100;
		return;
	}
	/* Each new server weighs w per old server, each old one 100 - w per new server. */
	g = gcd(n_new, n_old);
	a = (long)w * (n_old / g);
	b = (long)(100 - w) * (n_new / g);
	top = a > b ? a : b;
	if (top > MAX_SERVER_WEIGHT) {
		a = (a * MAX_SERVER_WEIGHT + top / 2) / top;
		b = (b * MAX_SERVER_WEIGHT + top / 2) / top;
	}
	*w_new = a < 1 ? 1 : (int)a;
	*w_old = b < 1 ? 1 : (int)b;
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

/* A container of slot at ordinal, at the target revision or (stable) the last healthy one. */
static void add_create(const struct traffic_input *in, const char *slot, int ordinal, int stable,
		       struct traffic_result *out)
{
	char base[256], *name;
	size_t n = out->res.n_ops;

	snprintf(base, sizeof(base), "%s-%s-%d", in->deployment, slot, ordinal);
	name = desired_prefixed(in->name_prefix, base);
	rollout_add_op(&out->res, ROLLOUT_CREATE, ordinal, NULL, name, traffic_port_offset(slot, in->replicas, ordinal),
		       stable ? "stable slot %s: missing for the next weight" : "slot %s: missing", slot);
	free(name);
	snprintf(out->res.ops[n].slot, sizeof(out->res.ops[n].slot), "%s", slot);
	out->res.ops[n].stable = stable;
}

/* One pass's view of the slots, shared by the steps of traffic_decide. */
struct slots {
	const char *slot;			/* the new slot */
	const struct traffic_ctr **cur;		/* the new slot's container at each ordinal (replicas entries) */
	int in_progress;			/* the target is not the stable revision yet */
	int keep_old;				/* the old slot stays for the scale-down delay */
	int canary;				/* a canary release under way: replicas follow the weight */
	int returning;				/* canary: the slot being left keeps its share until the new one is full */
	const char *left_rev;			/* returning: the revision of the slot being left */
	size_t n_other;				/* containers outside the new slot or not at the target */
	int stable_ready;			/* ready containers of the stable slot */
	int stable_unknown;			/* stable containers whose readiness is not known yet */
	int left_ready;				/* returning: ready containers of the slot being left */
	int want;				/* the containers the new slot runs now */
	const struct traffic_ctr **stable_at;	/* canary: the stable slot's container at each ordinal */
	int stable_want;			/* canary: the stable containers needed before the next weight */
	int stable_keep;			/* the stable containers kept and routed (by ordinal) */
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

/* A container of the stable slot, serving beside the new one while the release is under way. */
static int is_stable(const struct traffic_input *in, const struct slots *s, const struct obs_container *c)
{
	return s->in_progress && in->stable_rev && obs_revision_eq(c->revision, in->stable_rev) &&
	       !traffic_in_slot(c, s->slot);
}

/* A container of the slot a return leaves, serving until the slot returned to is full. */
static int is_left(const struct slots *s, const struct obs_container *c)
{
	return s->returning && obs_revision_eq(c->revision, s->left_rev) && !traffic_in_slot(c, s->slot);
}

/* Any other container: the stable slot serves on, the old slot waits out its delay, the rest goes. */
static void sort_other(const struct traffic_input *in, struct slots *s, const struct traffic_ctr *x,
		       struct traffic_result *out)
{
	const struct obs_container *c = x->c;
	int in_new = traffic_in_slot(c, s->slot);

	s->n_other++;
	if (is_stable(in, s, c)) {
		/* The stable slot, serving until the new one takes over. */
		s->stable_ready += x->ready;
		s->stable_unknown += x->unknown && obs_container_alive(c);
		if (s->stable_at && c->ordinal >= 0 && c->ordinal < in->replicas &&
		    (s->stable_at[c->ordinal] == NULL || (x->ready && !s->stable_at[c->ordinal]->ready)))
			s->stable_at[c->ordinal] = x;
		return;
	}
	if (is_left(s, c)) {
		s->left_ready += x->ready;
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

/* Nothing serves from the stable slot: the new one takes all traffic at once, with every replica. */
static int no_stable(const struct slots *s)
{
	return s->stable_ready == 0 && (!s->canary || s->stable_unknown == 0);
}

/*
 * The containers each slot runs now. A canary's follow its weight: the
 * weight the steps would reach this pass (worked out on a copy of the
 * record, nothing kept) against the current one. The new slot is at the
 * higher weight's size and the stable slot at the lower one's, both ready,
 * before the router moves to the next share. Every other release runs
 * them all in the new slot.
 */
static void size_slots(const struct traffic_input *in, const struct traffic_record *rec, struct slots *s)
{
	struct traffic_record r = *rec;
	struct traffic_result o;
	int w;

	s->want = in->replicas;
	s->stable_want = 0;
	if (!s->canary || in->rollback || rec->full || rec->switched || no_stable(s))
		return;
	if (in->heal_only) {
		s->want = traffic_canary_new_count(in->replicas, rec->weight);
		return;
	}
	memset(&o, 0, sizeof(o));
	snprintf(o.new_slot, sizeof(o.new_slot), "%s", s->slot);
	strategy_canary_progress(in, &r, &o);
	w = o.fail ? rec->weight : o.res.complete ? 100 : o.new_weight;
	traffic_result_release(&o);
	s->want = traffic_canary_new_count(in->replicas, w > rec->weight ? w : rec->weight);
	/* A stable slot kept whole needs nothing grown back for a lower weight. */
	s->stable_want = in->stable_full ? 0 : traffic_canary_stable_count(in->replicas, w < rec->weight ? w : rec->weight);
}

/* The stable slot's containers below s->stable_want that are ready. */
static int stable_ready_below(const struct traffic_input *in, const struct slots *s)
{
	int i, n = 0;

	for (i = 0; s->stable_at && i < s->stable_want && i < in->replicas; i++)
		n += s->stable_at[i] && s->stable_at[i]->ready;
	return n;
}

/*
 * A weight going down grows the stable slot back first: its missing
 * ordinals are made at the last healthy revision.
 */
static void grow_stable(const struct traffic_input *in, const struct slots *s, struct traffic_result *out)
{
	const char *slot = strcmp(s->slot, TRAFFIC_SLOT_BLUE) == 0 ? TRAFFIC_SLOT_GREEN : TRAFFIC_SLOT_BLUE;
	int i;

	for (i = 0; s->stable_at && i < s->stable_want && i < in->replicas; i++)
		if (s->stable_at[i] == NULL)
			add_create(in, slot, i, 1, out);
}

/*
 * Each ordinal of the new slot below s->want: created when missing,
 * started when stopped, counted when ready. One past it goes (a canary's
 * weight went down); the router stops sending it requests first.
 */
static void fill_ordinals(const struct traffic_input *in, struct slots *s, struct traffic_result *out)
{
	int i;

	for (i = 0; i < in->replicas; i++) {
		const struct traffic_ctr *x = s->cur[i];

		if (i >= s->want) {
			if (x != NULL && !in->heal_only)
				add_remove(out, x->c, "canary: past the replicas of the weight");
			continue;
		}
		if (x == NULL) {
			add_create(in, s->slot, i, 0, out);
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
 * (a controller restarted in the window) has not been seen to stop, nor
 * has one whose endpoint does not answer (its Docker is down, not it:
 * the pass waits for the endpoint, and a list that timed out is no
 * verdict on the release). 1 when one stopped: the release fails.
 */
static int window_lost(const struct traffic_input *in, const struct traffic_record *rec, const struct slots *s,
		       struct traffic_result *out)
{
	int i;

	if (!s->in_progress || !rec->switched || out->res.updated != in->replicas || s->stable_ready == 0 ||
	    in->strategy->type != SPEC_STRATEGY_BLUEGREEN)
		return 0;
	for (i = 0; i < in->replicas && (s->cur[i]->ready || s->cur[i]->unknown || s->cur[i]->c->unreachable); i++)
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
		set_text(&out->step, "healing %s %d/%d", in->deployment, s->ready_new, s->want);
	} else if (s->ready_new < s->want) {
		if (!window_lost(in, rec, s, out))
			set_text(&out->step, "%s %s: slot %s %d/%d ready",
				 in->strategy->type == SPEC_STRATEGY_CANARY ? "canary" : "blue-green", in->deployment,
				 s->slot, s->ready_new, s->want);
	} else if (s->stable_want > traffic_canary_stable_count(R, rec->weight) &&
		   stable_ready_below(in, s) < s->stable_want) {
		set_text(&out->step, "canary %s: stable slot %d/%d ready", in->deployment, stable_ready_below(in, s),
			 s->stable_want);
	} else if (!s->in_progress) {
		/* Back at the stable revision with every replica ready: the slot left gets nothing more. */
		rec->left_rev[0] = '\0';
		rec->left_weight = 0;
		out->new_weight = 100;
		out->res.complete = 1;
		set_text(&out->step, "%s %d/%d available in slot %s", in->deployment, s->ready_new, R, s->slot);
	} else if (in->rollback || no_stable(s) || rec->full) {
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

/*
 * A canary's stable slot follows the weight the router is given now
 * (w_before: the weight it had): the containers past the weight's count go. Their removal waits (in the
 * engine) until NGINX serves routes without them, so the stable slot
 * shrinks only after the new weights are served.
 */
static void scale_stable(const struct traffic_input *in, struct slots *s, int w_before, struct traffic_result *out)
{
	size_t k;

	s->stable_keep = in->replicas;
	if (!s->canary || in->stable_full || in->heal_only || in->rollback || out->fail || out->new_weight >= 100)
		return;
	s->stable_keep = traffic_canary_stable_count(in->replicas, out->new_weight);
	/* Grown for a lower weight not given yet: what was made for it stays. */
	if (out->new_weight == w_before && s->stable_want > s->stable_keep)
		s->stable_keep = s->stable_want;
	for (k = 0; k < in->n; k++) {
		const struct obs_container *c = in->v[k].c;

		if (c->state != OBS_REMOVING && is_stable(in, s, c) && (c->ordinal < 0 || c->ordinal >= s->stable_keep))
			add_remove(out, c, "canary: the stable slot past the replicas of the weight");
	}
}

/* 1: routed in the new slot, 2: routed in the other, 0: not routed. */
static int route_side(const struct traffic_input *in, const struct slots *s, const struct traffic_ctr *x)
{
	const struct obs_container *c = x->c;

	if (!x->ready || !obs_container_alive(c) || c->state == OBS_REMOVING)
		return 0;
	if (traffic_in_slot(c, s->slot))
		return c->ordinal >= 0 && c->ordinal < s->want && s->cur && s->cur[c->ordinal] == x ? 1 : 0;
	if (s->returning)
		return is_left(s, c) ? 2 : 0;
	if (!obs_revision_eq(c->revision, in->stable_rev))
		return 0;
	return c->ordinal >= 0 && c->ordinal < s->stable_keep ? 2 : 0;
}

/*
 * A canary's table at a weight between 0 and 100 lists the containers
 * the design gives each slot at that weight, no more: one made ready for
 * the next weight waits for it, one grown back for a lower weight waits
 * for that. The lowest ordinals are kept.
 */
static void cap_side(const struct traffic_input *in, struct traffic_result *out, int side, int cap, int *n_side)
{
	while (n_side[side] > cap) {
		size_t k, top = in->n;

		for (k = 0; k < in->n; k++)
			if (out->route[k] == side && (top == in->n || in->v[k].c->ordinal > in->v[top].c->ordinal))
				top = k;
		out->route[top] = 0;
		n_side[side]--;
		n_side[0]++;
	}
}

/*
 * The active service's servers: the new slot's ready containers at its
 * share, the other slot's (stable, or the slot a return leaves) at the
 * rest, server weights set so the shares hold whatever the two counts.
 * The stable slot's servers at a share of 0 stay as backups.
 */
static void fill_route(const struct traffic_input *in, const struct slots *s, struct traffic_result *out)
{
	int n_side[3] = { 0, 0, 0 }, w_new, w_old;
	size_t k;

	out->route = in->n ? xcalloc(in->n, sizeof(*out->route)) : NULL;
	for (k = 0; k < in->n; k++) {
		out->route[k] = route_side(in, s, &in->v[k]);
		n_side[out->route[k]]++;
	}
	if (s->canary && !s->returning && out->new_weight > 0 && out->new_weight < 100) {
		cap_side(in, out, 1, traffic_canary_new_count(in->replicas, out->new_weight), n_side);
		if (!in->stable_full)
			cap_side(in, out, 2, traffic_canary_stable_count(in->replicas, out->new_weight), n_side);
	}
	traffic_server_weights(out->new_weight, n_side[1], n_side[2], &w_new, &w_old);
	for (k = 0; k < in->n; k++)
		if (out->route[k] == 1)
			out->route[k] = w_new;
		else if (out->route[k] == 2)
			/* A slot a return leaves is never a fallback: it failed, or was aborted. */
			out->route[k] = out->new_weight < 100 ? w_old : s->returning ? 0 : TRAFFIC_ROUTE_BACKUP;
	/* Each slot as the status shows it: what it holds ready against what it runs at this weight. */
	snprintf(out->slots[0].slot, sizeof(out->slots[0].slot), "%s", s->slot);
	out->slots[0].ready = s->ready_new;
	out->slots[0].desired = s->want;
	snprintf(out->slots[1].slot, sizeof(out->slots[1].slot), "%s",
		 strcmp(s->slot, TRAFFIC_SLOT_BLUE) == 0 ? TRAFFIC_SLOT_GREEN : TRAFFIC_SLOT_BLUE);
	for (k = 0; k < in->n; k++)
		out->slots[1].ready += in->v[k].ready && !traffic_in_slot(in->v[k].c, s->slot) &&
				       (s->returning ? is_left(s, in->v[k].c)
						     : is_stable(in, s, in->v[k].c) && in->v[k].c->ordinal < s->stable_keep);
	out->slots[1].desired = s->in_progress && !in->rollback && !out->res.complete && !out->fail ? s->stable_keep : 0;
	/* Midway a canary serves from both slots: both count as available, as a Rollout's replica sets do. */
	if (s->canary && out->slots[1].desired > 0)
		out->res.available += out->slots[1].ready;
}

/* A new revision: a new record; a canary left midway is remembered, for a return to route it until it is full. */
static void record_reset(const struct traffic_input *in, struct traffic_record *rec)
{
	struct traffic_record old = *rec;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->rev, sizeof(rec->rev), "%s", in->rev);
	if (in->strategy->type == SPEC_STRATEGY_CANARY && old.rev[0] && !old.switched && old.weight > 0) {
		snprintf(rec->left_rev, sizeof(rec->left_rev), "%s", old.rev);
		rec->left_weight = old.weight;
	}
}

void traffic_decide(const struct traffic_input *in, struct traffic_record *rec, struct traffic_result *out)
{
	struct slots s;
	int w_before;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (strcmp(rec->rev, in->rev) != 0)
		record_reset(in, rec);
	s.slot = choose_slot(in);
	snprintf(out->new_slot, sizeof(out->new_slot), "%s", s.slot);
	s.in_progress = in->stable_rev == NULL || !obs_revision_eq(in->stable_rev, in->rev);
	s.canary = in->strategy->type == SPEC_STRATEGY_CANARY;
	if (s.in_progress) {
		/* Forward: nothing is returned from. */
		rec->left_rev[0] = '\0';
		rec->left_weight = 0;
	}
	s.returning = s.canary && !s.in_progress && rec->left_weight > 0 && rec->left_rev[0] &&
		      !obs_revision_eq(rec->left_rev, in->rev);
	s.left_rev = rec->left_rev;
	/* After the switch the old slot stays for the scale-down delay: a rollback is then one reload. */
	s.keep_old = !s.in_progress && rec->switched_at > 0 && in->strategy->type == SPEC_STRATEGY_BLUEGREEN &&
		     in->now < rec->switched_at + (int64_t)in->strategy->scale_down_delay_seconds * 1000;
	out->res.total = (int)in->n;
	if (in->replicas > 0)
		s.cur = xcalloc((size_t)in->replicas, sizeof(const struct traffic_ctr *));
	if (in->replicas > 0 && s.canary && s.in_progress)
		s.stable_at = xcalloc((size_t)in->replicas, sizeof(const struct traffic_ctr *));
	sort_containers(in, &s, out);
	size_slots(in, rec, &s);
	fill_ordinals(in, &s, out);
	if (!in->heal_only)
		grow_stable(in, &s, out);
	w_before = rec->switched ? 100 : rec->weight;
	out->preview_new = 1;
	out->new_weight = s.in_progress ? (rec->switched ? 100 : rec->weight) : 100;
	/* A return keeps the slot it leaves at its share until the slot returned to has every replica ready. */
	if (s.returning && s.left_ready > 0)
		out->new_weight = 100 - rec->left_weight;
	decide_progress(in, rec, &s, out);
	scale_stable(in, &s, w_before, out);
	fill_route(in, &s, out);
	out->more = out->res.complete && s.n_other > 0;
	out->res.waiting = !out->res.complete && out->res.n_ops == 0;
	free(s.cur);
	free(s.stable_at);
}
