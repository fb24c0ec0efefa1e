/* Canary: the spec's steps (setWeight, pause, analysis) move the new slot's share at the router, analysis gating each. */
#include "rollout/traffic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * Called once every container of the new slot is ready and the stable slot
 * still serves. rec->step counts the steps done: a setWeight is done when
 * recorded, a pause when its time has passed (counted from rec->step_at,
 * which survives a restart) or a promote skipped it, an analysis when its
 * run passed. A failed analysis fails the release with the run's message,
 * which names the metric and its value. After the last step the new slot
 * takes all traffic and the release is complete.
 */
void strategy_canary_progress(const struct traffic_input *in, struct traffic_record *rec, struct traffic_result *out)
{
	const struct spec_strategy *s = in->strategy;
	int n = (int)s->n_steps;

	while (rec->step < n) {
		const struct spec_canary_step *st = &s->steps[rec->step];

		out->new_weight = rec->weight;
		switch (st->kind) {
		case SPEC_STEP_SET_WEIGHT:
			rec->weight = st->weight;
			rec->step++;
			rec->step_at = 0;
			continue;
		case SPEC_STEP_PAUSE:
			if (rec->promote) {
				rec->promote = 0;
				rec->step++;
				rec->step_at = 0;
				continue;
			}
			out->holding = 1;
			if (st->pause_ms < 0) {
				out->step = xasprintf("canary %s %d%% (step %d of %d): paused until promoted", in->deployment,
						rec->weight, rec->step + 1, n);
				return;
			}
			if (rec->step_at == 0)
				rec->step_at = in->now;
			if (in->now >= rec->step_at + st->pause_ms) {
				rec->step++;
				rec->step_at = 0;
				continue;
			}
			out->step = xasprintf("canary %s %d%% (step %d of %d): paused, %llds left", in->deployment,
					rec->weight, rec->step + 1, n,
					(long long)((rec->step_at + st->pause_ms - in->now + 999) / 1000));
			return;
		case SPEC_STEP_ANALYSIS:
			if (in->check == TRAFFIC_CHECK_STEP && in->check_step == rec->step &&
			    in->check_state == TRAFFIC_CHECK_PASSED) {
				rec->step++;
				continue;
			}
			if (in->check == TRAFFIC_CHECK_STEP && in->check_step == rec->step &&
			    in->check_state == TRAFFIC_CHECK_FAILED) {
				out->fail = xasprintf("canary analysis at %d%% (step %d of %d) failed: %s", rec->weight,
						rec->step + 1, n, in->check_msg ? in->check_msg : "");
				return;
			}
			out->want = TRAFFIC_CHECK_STEP;
			out->want_step = rec->step;
			out->holding = 1;
			out->step = xasprintf("canary %s %d%% (step %d of %d): analysis", in->deployment, rec->weight,
					rec->step + 1, n);
			return;
		}
	}
	rec->switched = 1;
	if (rec->switched_at == 0)
		rec->switched_at = in->now;
	out->new_weight = 100;
	out->res.complete = 1;
	out->step = xasprintf("%s %d/%d available in slot %s", in->deployment, out->res.available, in->replicas,
			out->new_slot);
}
