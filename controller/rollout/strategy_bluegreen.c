/* Blue-green: smoke test and analysis against the preview, one switch, a monitor window, then the old slot goes. */
#include "rollout/traffic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The verdict of check kind for this pass: 1 passed, -1 failed (out->fail set), 0 running (out->want set). */
static int check(const struct traffic_input *in, enum traffic_check_kind kind, struct traffic_result *out)
{
	if (in->check == kind && in->check_state == TRAFFIC_CHECK_PASSED)
		return 1;
	if (in->check == kind && in->check_state == TRAFFIC_CHECK_FAILED) {
		out->fail = xasprintf("%s failed: %s", traffic_check_name(kind), in->check_msg ? in->check_msg : "");
		return -1;
	}
	out->want = kind;
	return 0;
}

/*
 * Called once every container of the new slot is ready and the stable slot
 * still serves. Before the switch the active service stays on the stable
 * slot and the preview points at the new one; the switch is one router
 * apply; after it, the monitor window watches the new slot (its readiness
 * in traffic_decide, the analysis here) and a failure switches back. The
 * release is complete when the window has passed (or a promote cut it short).
 */
void strategy_bluegreen_progress(const struct traffic_input *in, struct traffic_record *rec,
				 struct traffic_result *out)
{
	const struct spec_strategy *s = in->strategy;
	int64_t window_end;
	int r;

	if (!rec->switched) {
		out->new_weight = 0;
		if (s->smoke_test_job && !rec->smoke_ok) {
			r = check(in, TRAFFIC_CHECK_SMOKE, out);
			if (r <= 0) {
				if (r == 0)
					out->step = xasprintf("blue-green %s: smoke test '%s' against slot %s", in->deployment,
							s->smoke_test_job, out->new_slot);
				return;
			}
			rec->smoke_ok = 1;
		}
		if (s->n_pre_promotion_analysis && !rec->pre_ok) {
			r = check(in, TRAFFIC_CHECK_PRE, out);
			if (r <= 0) {
				if (r == 0) {
					out->holding = 1;
					out->step = xasprintf("blue-green %s: pre-promotion analysis of slot %s",
							in->deployment, out->new_slot);
				}
				return;
			}
			rec->pre_ok = 1;
		}
		if (!s->auto_promotion_enabled && !rec->promote) {
			out->holding = 1;
			out->step = xasprintf("blue-green %s: slot %s ready, waiting for promote", in->deployment, out->new_slot);
			return;
		}
		rec->promote = 0;
		rec->switched = 1;
		rec->switched_at = in->now;
	}
	out->new_weight = 100;
	window_end = rec->switched_at + (int64_t)s->post_promotion_window_seconds * 1000;
	if (s->n_pre_promotion_analysis) {
		r = check(in, TRAFFIC_CHECK_WINDOW, out);
		if (r < 0)
			return;
		/* The window ends with its analysis: a verdict still coming holds the release. */
		if (r == 0 && !rec->promote) {
			out->holding = 1;
			out->step = xasprintf("blue-green %s: slot %s active, monitor window analysis", in->deployment,
					out->new_slot);
			return;
		}
		out->want = TRAFFIC_CHECK_NONE;
	}
	if (in->now < window_end && !rec->promote) {
		out->holding = 1;
		out->step = xasprintf("blue-green %s: slot %s active, monitor window %llds left", in->deployment,
				out->new_slot, (long long)((window_end - in->now + 999) / 1000));
		return;
	}
	out->res.complete = 1;
	out->step = xasprintf("%s %d/%d available in slot %s", in->deployment, out->res.available, in->replicas,
			out->new_slot);
}
