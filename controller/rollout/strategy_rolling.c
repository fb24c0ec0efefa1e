/* Rolling: replace ordinal by ordinal within maxSurge extra containers and maxUnavailable missing ones. */
#include "rollout/rollout.h"

#include <stdlib.h>

/*
 * Three moves, in Kubernetes' order of preference:
 *  1. an old container whose ordinal already has an available replacement,
 *     or that is not available itself, goes: removing it costs no availability;
 *  2. while fewer than replicas + maxSurge containers exist, an ordinal still
 *     on the old revision gets its replacement beside it (surge);
 *  3. while more than replicas - maxUnavailable ordinals are available, an
 *     old container goes first and its ordinal is recreated on the next pass.
 * The budget check counts ordinals, so a replacement that is not available
 * yet never lets a second old container go early.
 */
void strategy_rolling_step(const struct rollout_input *in, struct rollout_slot *slots, struct rollout_result *r)
{
	int R = in->replicas, i;
	long live = 0, avail = r->available, min_avail = R - in->max_unavailable;
	size_t k;

	/* An ordinal with nothing is being (or about to be) created: it counts as one. */
	for (i = 0; i < R; i++)
		live += slots[i].cur || slots[i].n_old ? (slots[i].cur ? 1 : 0) + (long)slots[i].n_old : 1;
	for (i = 0; i < R; i++) {
		struct rollout_slot *s = &slots[i];
		int cur_avail = s->cur && s->cur->available;

		for (k = 0; k < s->n_old; k++) {
			/* Not yet probed since we (re)started is not the same as unavailable. */
			if (!cur_avail && (s->old[k]->available || !s->old[k]->known))
				continue;
			rollout_add_op(r, ROLLOUT_REMOVE, i, s->old[k]->c, NULL, 0,
				       cur_avail ? "superseded by %s" : "old revision, not available%s",
				       cur_avail ? s->cur->c->name : "");
			/* An ordinal emptied here is recreated on the next pass: it still counts as one. */
			if (s->cur || k + 1 < s->n_old)
				live--;
			s->busy = 1;
		}
		if (!cur_avail) {
			/* Keep only the available old containers as standing in for the ordinal. */
			size_t n = 0;

			for (k = 0; k < s->n_old; k++)
				if (s->old[k]->available || !s->old[k]->known)
					s->old[n++] = s->old[k];
			s->n_old = n;
		} else {
			s->n_old = 0;
		}
	}
	for (i = 0; i < R && live < R + in->max_surge; i++) {
		struct rollout_slot *s = &slots[i];
		char *name;
		int off;

		if (s->busy || s->cur || s->n_old == 0)
			continue;
		rollout_new_identity(in, s, r, &name, &off);
		rollout_add_op(r, ROLLOUT_CREATE, i, NULL, name, off, "surge: replaces %s", s->old[0]->c->name);
		free(name);
		s->busy = 1;
		live++;
	}
	for (i = 0; i < R; i++) {
		struct rollout_slot *s = &slots[i];

		if (s->busy || s->cur || s->n_old == 0)
			continue;
		if (avail - 1 < min_avail)
			break;
		for (k = 0; k < s->n_old; k++)
			rollout_add_op(r, ROLLOUT_REMOVE, i, s->old[k]->c, NULL, 0,
				       "make room: %ld of %d may be unavailable", in->max_unavailable, R);
		s->busy = 1;
		avail--;
	}
}
