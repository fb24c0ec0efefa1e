/* Placement: which Docker endpoint each ordinal of a deployment runs on, decided from what it is given. */
#include "placement.h"
#include "spec.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int placement_eligible(const struct spec_placement *p, const struct placement_endpoint *e)
{
	size_t i;
	int named = 0;

	if (p == NULL)
		return 1;
	for (i = 0; i < p->n_endpoints; i++)
		named |= e->name && strcmp(p->endpoints[i], e->name) == 0;
	if (p->n_endpoints > 0 && !named)
		return 0;
	for (i = 0; i < p->n_selector; i++) {
		const char *v = kv_get(e->labels, e->n_labels, p->selector[i].key);

		if (v == NULL || strcmp(v, p->selector[i].value ? p->selector[i].value : "") != 0)
			return 0;
	}
	return p->spread_by == NULL || kv_get(e->labels, e->n_labels, p->spread_by) != NULL;
}

/* The spreadBy label's value of endpoint e ("" without spreadBy: one group of every endpoint). */
static const char *group_of(const struct placement_request *r, size_t e)
{
	const char *v;

	if (r->placement == NULL || r->placement->spread_by == NULL)
		return "";
	v = kv_get(r->endpoints[e].labels, r->endpoints[e].n_labels, r->placement->spread_by);
	return v ? v : "";
}

/* Replicas placed so far on the endpoints of e's group. */
static int group_count(const struct placement_request *r, const int *count, size_t e)
{
	const char *g = group_of(r, e);
	int n = 0;
	size_t i;

	for (i = 0; i < r->n_endpoints; i++)
		if (strcmp(group_of(r, i), g) == 0)
			n += count[i];
	return n;
}

/* The endpoint the next new replica goes to, or -1 when none may take one. */
static long pick(const struct placement_request *r, const char *eligible, const int *count, int max)
{
	long best = -1;
	int best_group = INT_MAX, best_count = INT_MAX;
	size_t e;

	for (e = 0; e < r->n_endpoints; e++) {
		int g;

		if (!eligible[e] || r->endpoints[e].down || (max > 0 && count[e] >= max))
			continue;
		g = group_count(r, count, e);
		if (g < best_group || (g == best_group && count[e] < best_count)) {
			best = (long)e;
			best_group = g;
			best_count = count[e];
		}
	}
	return best;
}

int placement_assign(const struct placement_request *r, int *out)
{
	const struct spec_placement *p = r->placement;
	int max = p && p->max_per_endpoint > 0 ? p->max_per_endpoint : 0;
	char *eligible = xcalloc(r->n_endpoints + 1, 1);
	int *count = xcalloc(r->n_endpoints + 1, sizeof(*count));
	int o, unplaced = 0;
	size_t e;

	for (e = 0; e < r->n_endpoints; e++)
		eligible[e] = (char)placement_eligible(p, &r->endpoints[e]);
	/* First every ordinal that may stay where it is recorded, lower ordinals first. */
	for (o = 0; o < r->replicas; o++) {
		int cur = r->current ? r->current[o] : -1;

		out[o] = -1;
		if (cur < 0 || (size_t)cur >= r->n_endpoints || !eligible[cur])
			continue;
		if (r->endpoints[cur].down && (r->move_down || r->endpoints[cur].leave))
			continue;
		if (max > 0 && count[cur] >= max)
			continue;
		out[o] = cur;
		count[cur]++;
	}
	/* Then the others, each where the spread is thinnest. */
	for (o = 0; o < r->replicas; o++) {
		long to;

		if (out[o] >= 0)
			continue;
		to = pick(r, eligible, count, max);
		if (to < 0) {
			unplaced++;
			continue;
		}
		out[o] = (int)to;
		count[to]++;
	}
	free(eligible);
	free(count);
	return unplaced;
}

int placement_max_on_one(const int *out, int replicas, size_t n_endpoints, long *at)
{
	int *count = xcalloc(n_endpoints + 1, sizeof(*count));
	int o, best = 0;
	size_t e;

	*at = -1;
	for (o = 0; o < replicas; o++)
		if (out[o] >= 0 && (size_t)out[o] < n_endpoints)
			count[out[o]]++;
	for (e = 0; e < n_endpoints; e++)
		if (count[e] > best) {
			best = count[e];
			*at = (long)e;
		}
	free(count);
	return best;
}
