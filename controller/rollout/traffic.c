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

void traffic_decide(const struct traffic_input *in, struct traffic_record *rec, struct traffic_result *out)
{
	const struct traffic_ctr **cur = NULL;
	const char *slot;
	int R = in->replicas, i, ready_new = 0, stable_ready = 0, in_progress, keep_old;
	size_t k, n_other = 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(rec->rev, in->rev) != 0) {
		memset(rec, 0, sizeof(*rec));
		snprintf(rec->rev, sizeof(rec->rev), "%s", in->rev);
	}
	slot = choose_slot(in);
	snprintf(out->new_slot, sizeof(out->new_slot), "%s", slot);
	in_progress = in->stable_rev == NULL || !obs_revision_eq(in->stable_rev, in->rev);
	/* After the switch the old slot stays for the scale-down delay: a rollback is then one reload. */
	keep_old = !in_progress && rec->switched_at > 0 && in->strategy->type == SPEC_STRATEGY_BLUEGREEN &&
		   in->now < rec->switched_at + (int64_t)in->strategy->scale_down_delay_seconds * 1000;
	out->res.total = (int)in->n;
	if (R > 0)
		cur = xcalloc((size_t)R, sizeof(const struct traffic_ctr *));
	for (k = 0; k < in->n; k++) {
		const struct traffic_ctr *x = &in->v[k];
		const struct obs_container *c = x->c;

		if (c->state == OBS_REMOVING)
			continue;
		if (x->ready)
			out->res.ready++;
		if (traffic_in_slot(c, slot) && obs_revision_eq(c->revision, in->rev)) {
			if (c->ordinal < 0 || c->ordinal >= R || cur == NULL) {
				if (!in->heal_only)
					add_remove(out, c, "scale down: ordinal past replicas");
				continue;
			}
			if (c->state == OBS_DEAD) {
				add_remove(out, c, "dead");
				continue;
			}
			if (cur[c->ordinal] == NULL) {
				cur[c->ordinal] = x;
				continue;
			}
			if (!obs_container_alive(cur[c->ordinal]->c) && obs_container_alive(c)) {
				add_remove(out, cur[c->ordinal]->c, "duplicate at the same revision");
				cur[c->ordinal] = x;
			} else {
				add_remove(out, c, "duplicate at the same revision");
			}
			continue;
		}
		if (in->heal_only)
			continue;
		n_other++;
		if (in_progress && in->stable_rev && obs_revision_eq(c->revision, in->stable_rev) &&
		    !traffic_in_slot(c, slot)) {
			if (x->ready)
				stable_ready++;
			continue;	/* the stable slot, serving until the new one takes over */
		}
		if (keep_old && !traffic_in_slot(c, slot))
			continue;
		add_remove(out, c, traffic_in_slot(c, slot) ? "new slot: not at the target revision"
				   : in_progress ? "neither stable nor new"
						 : "old slot: released");
	}
	for (i = 0; i < R; i++) {
		if (cur[i] == NULL) {
			char name[256];
			size_t n = out->res.n_ops;

			snprintf(name, sizeof(name), "%s-%s-%d", in->deployment, slot, i);
			rollout_add_op(&out->res, ROLLOUT_CREATE, i, NULL, name, traffic_port_offset(slot, R, i),
				       "slot %s: missing", slot);
			snprintf(out->res.ops[n].slot, sizeof(out->res.ops[n].slot), "%s", slot);
			continue;
		}
		out->res.updated++;
		if (!obs_container_alive(cur[i]->c)) {
			rollout_add_op(&out->res, ROLLOUT_START, i, cur[i]->c, NULL, 0, "%s, not running",
				       obs_state_name(cur[i]->c->state));
			continue;
		}
		if (cur[i]->ready) {
			ready_new++;
			out->res.available++;
		}
	}
	out->preview_new = 1;
	out->new_weight = in_progress ? (rec->switched ? 100 : rec->weight) : 100;
	if (in->heal_only) {
		set_text(&out->step, "healing %s %d/%d", in->deployment, ready_new, R);
		goto out;
	}
	if (ready_new < R) {
		/*
		 * After the switch every new container must stay ready: that is the
		 * monitor window's probe check. One whose readiness is not known yet
		 * (a controller restarted in the window) has not been seen to stop.
		 */
		if (in_progress && rec->switched && out->res.updated == R && stable_ready > 0 &&
		    in->strategy->type == SPEC_STRATEGY_BLUEGREEN) {
			for (i = 0; i < R && (cur[i]->ready || cur[i]->unknown); i++)
				;
			if (i < R) {
				set_text(&out->fail, "container '%s' of slot %s stopped being ready after the switch",
					 cur[i]->c->name, slot);
				goto out;
			}
		}
		set_text(&out->step, "%s %s: slot %s %d/%d ready", in->strategy->type == SPEC_STRATEGY_CANARY ? "canary"
											 : "blue-green",
			 in->deployment, slot, ready_new, R);
		goto out;
	}
	if (!in_progress) {
		out->res.complete = 1;
		set_text(&out->step, "%s %d/%d available in slot %s", in->deployment, ready_new, R, slot);
		goto out;
	}
	if (in->rollback || stable_ready == 0 || rec->full) {
		/* Nothing serves yet, or a return to a known revision: all traffic at once, no steps. */
		if (!rec->switched) {
			rec->switched = 1;
			rec->switched_at = in->now;
		}
		out->new_weight = 100;
		out->res.complete = 1;
		set_text(&out->step, "%s %d/%d available in slot %s", in->deployment, ready_new, R, slot);
		goto out;
	}
	if (in->strategy->type == SPEC_STRATEGY_CANARY)
		strategy_canary_progress(in, rec, out);
	else
		strategy_bluegreen_progress(in, rec, out);
out:
	out->more = out->res.complete && n_other > 0;
	out->res.waiting = !out->res.complete && out->res.n_ops == 0;
	free(cur);
}
