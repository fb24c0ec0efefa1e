/* Recreate: stop an ordinal's old container first, then start the new one on the same named volumes. */
#include "rollout/rollout.h"

/*
 * Stateful nodes cannot run two containers on one chain volume, so there is
 * no surge: the old container of an ordinal goes, and the next pass creates
 * the new one with the same name, port and per-replica volumes. How many
 * ordinals may be down at once is the disruption budget (for validators, f
 * of n = 3f + 1, so consensus keeps its quorum); the next ordinal goes only
 * once the ones recreated are available again.
 */
void strategy_recreate_step(const struct rollout_input *in, struct rollout_slot *slots, struct rollout_result *r)
{
	struct rollout_input no_surge = *in;

	no_surge.max_surge = 0;
	if (no_surge.max_unavailable < 1)
		no_surge.max_unavailable = 1;
	strategy_rolling_step(&no_surge, slots, r);
}
