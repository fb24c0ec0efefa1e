/* Placements in the specs: their defaults, the checks that refuse one that cannot be met, and the warnings. */
#include "placement.h"
#include "spec.h"
#include "spec_backup.h"
#include "spec_internal.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(d, meta, path, ...) spec_obj_err((d), SPEC_DEPLOYMENT, (meta), (path), __VA_ARGS__)

/* The smallest BFT network that survives one faulty validator: 3f+1 with f = 1. */
#define BFT_MIN_REPLICAS 4

/* The Cluster's endpoints as the assignment sees them, every one up; the caller frees the array. */
static struct placement_endpoint *endpoints_of(const struct spec_cluster *c)
{
	struct placement_endpoint *v = xcalloc(c->n_endpoints + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < c->n_endpoints; i++) {
		v[i].name = c->endpoints[i].name;
		v[i].labels = c->endpoints[i].labels;
		v[i].n_labels = c->endpoints[i].n_labels;
	}
	return v;
}

static size_t count_eligible(const struct spec_cluster *c, const struct placement_endpoint *eps,
			     const struct spec_placement *p)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_endpoints; i++)
		n += (size_t)placement_eligible(p, &eps[i]);
	return n;
}

static int is_validator(const struct spec_deployment *d)
{
	return d->role && strcmp(d->role, "validator") == 0;
}

void spec_placement_defaults(struct spec_set *set)
{
	const struct spec_cluster *c = spec_set_cluster(set);
	struct placement_endpoint *eps;
	size_t i;

	if (c == NULL)
		return;
	eps = endpoints_of(c);
	for (i = 0; i < set->n_deployments; i++) {
		struct spec_deployment *d = set->deployments[i];
		size_t n;

		if (d->placement.max_per_endpoint >= 0)
			continue;
		d->placement.max_per_endpoint = 0;
		n = count_eligible(c, eps, &d->placement);
		/*
		 * Validators one per endpoint where the endpoints are enough, else
		 * as evenly as they allow: a host lost takes as few as it can.
		 */
		if (is_validator(d) && d->replicas > 0 && n > 0) {
			d->placement.max_per_endpoint = (int)(((size_t)d->replicas + n - 1) / n);
			d->placement.max_defaulted = 1;
		}
	}
	free(eps);
}

/* A label key: 1 to 63 letters, digits, '-', '_', '.' and '/', a letter or digit at each end. */
static int label_key_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_./", s[i]))
			return 0;
	return 1;
}

static void check_cluster_labels(const struct spec_cluster *c, struct spec_diags *diags)
{
	char path[160];
	size_t i, j;

	for (i = 0; i < c->n_endpoints; i++)
		for (j = 0; j < c->endpoints[i].n_labels; j++) {
			const char *k = c->endpoints[i].labels[j].key;

			if (label_key_ok(k))
				continue;
			snprintf(path, sizeof(path), "spec.endpoints[%zu].labels", i);
			spec_obj_err(diags, SPEC_CLUSTER, &c->meta, path, "label key \"%.80s\": expected 1 to 63 "
				     "letters, digits, '-', '_', '.' or '/', beginning and ending with a letter or digit", k);
		}
}

/* The Cluster's endpoint names, for messages: "local, a, b". */
static void names_of(const struct spec_cluster *c, char *buf, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < c->n_endpoints && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", c->endpoints[i].name ? c->endpoints[i].name : "?");
}

static long endpoint_index(const struct spec_cluster *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_endpoints; i++)
		if (c->endpoints[i].name && strcmp(c->endpoints[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Names the placement lists: each one of the Cluster's, once. Returns how many were refused. */
static size_t check_names(const struct spec_cluster *c, const struct spec_deployment *d, struct spec_diags *diags)
{
	const struct spec_placement *p = &d->placement;
	char path[96], names[512];
	size_t i, j, bad = 0;

	names_of(c, names, sizeof(names));
	for (i = 0; i < p->n_endpoints; i++) {
		snprintf(path, sizeof(path), "spec.placement.endpoints[%zu]", i);
		if (endpoint_index(c, p->endpoints[i]) < 0) {
			ERR(diags, &d->meta, path, "endpoint \"%s\" is not one of the Cluster's (its endpoints: %s)",
			    p->endpoints[i], names);
			bad++;
		}
		for (j = 0; j < i; j++)
			if (strcmp(p->endpoints[i], p->endpoints[j]) == 0) {
				ERR(diags, &d->meta, path, "endpoint \"%s\" listed twice", p->endpoints[i]);
				bad++;
				break;
			}
	}
	return bad;
}

/* With spreadBy, every endpoint the names and the selector allow must carry the label. */
static size_t check_spread_by(const struct spec_cluster *c, const struct placement_endpoint *eps,
			      const struct spec_deployment *d, struct spec_diags *diags)
{
	struct spec_placement q = d->placement;
	size_t i;

	if (d->placement.spread_by == NULL)
		return 0;
	q.spread_by = NULL;
	for (i = 0; i < c->n_endpoints; i++)
		if (placement_eligible(&q, &eps[i]) &&
		    kv_get(eps[i].labels, eps[i].n_labels, d->placement.spread_by) == NULL) {
			ERR(diags, &d->meta, "spec.placement.spreadBy",
			    "endpoint \"%s\" has no label \"%s\": every endpoint the placement may use must carry it",
			    eps[i].name ? eps[i].name : "?", d->placement.spread_by);
			return 1;
		}
	return 0;
}

/* Whether the replicas fit: every ordinal placed when every endpoint answers. */
static void check_fit(const struct spec_cluster *c, const struct placement_endpoint *eps,
		      const struct spec_deployment *d, struct spec_diags *diags)
{
	const struct spec_placement *p = &d->placement;
	struct placement_request r = { eps, c->n_endpoints, p, d->replicas, NULL, 0 };
	int *out = xcalloc((size_t)d->replicas + 1, sizeof(*out));
	size_t n = count_eligible(c, eps, p);
	int unplaced = placement_assign(&r, out);

	if (n == 0)
		ERR(diags, &d->meta, p->n_selector ? "spec.placement.endpointSelector" : "spec.placement",
		    "no endpoint of the Cluster may run it (the placement's endpoints and endpointSelector "
		    "leave none)");
	else if (unplaced > 0)
		ERR(diags, &d->meta, p->max_defaulted ? "spec.placement" : "spec.placement.maxPerEndpoint",
		    "cannot be met: %d replicas on %zu endpoint%s at most %d each (%d left without one)",
		    d->replicas, n, n == 1 ? "" : "s", p->max_per_endpoint, unplaced);
	free(out);
}

/*
 * A network of 3f+1 validators halts when more than f are down: with more
 * than f of them on one endpoint, losing that host halts it.
 */
static void warn_one_host(struct spec_set *set, const struct spec_cluster *c, const struct placement_endpoint *eps,
			  const struct spec_deployment *d)
{
	struct placement_request r = { eps, c->n_endpoints, &d->placement, d->replicas, NULL, 0 };
	int *out = xcalloc((size_t)d->replicas + 1, sizeof(*out));
	int f = (d->replicas - 1) / 3, most;
	long at;

	placement_assign(&r, out);
	most = placement_max_on_one(out, d->replicas, c->n_endpoints, &at);
	if (most > f && at >= 0)
		ERR(&set->warnings, &d->meta, d->placement.set ? "spec.placement" : "spec.replicas",
		    "%d of the %d validators run on endpoint \"%s\": losing that host takes more than f = %d "
		    "of 3f+1 down and halts consensus (give the placement more endpoints, or maxPerEndpoint %d)",
		    most, d->replicas, eps[at].name ? eps[at].name : "?", f, f);
	free(out);
}

/* The first endpoint the placement may use besides the Cluster's first, or NULL when it keeps to the first. */
static const char *beyond_first(const struct spec_cluster *c, const struct placement_endpoint *eps,
				const struct spec_deployment *d)
{
	size_t i;

	for (i = 1; i < c->n_endpoints; i++)
		if (placement_eligible(d->placement.set ? &d->placement : NULL, &eps[i]))
			return eps[i].name ? eps[i].name : "?";
	return NULL;
}

/*
 * A named volume the replicas share is one Docker volume per host: replicas
 * on several endpoints would not share it, so it is refused (perReplica
 * volumes are each replica's own, and host bind mounts are the host's).
 */
static void check_shared_volumes(const struct spec_deployment *d, struct spec_diags *diags)
{
	size_t i;
	char path[64];

	for (i = 0; i < d->tmpl.n_volumes; i++) {
		const struct spec_volume *v = &d->tmpl.volumes[i];

		if (v->per_replica || v->host_path)
			continue;
		snprintf(path, sizeof(path), "spec.template.volumes[%zu]", i);
		ERR(diags, &d->meta, path, "volume \"%s\" is shared by the replicas, and they may run on several "
		    "endpoints: each host would hold its own, not shared (give it perReplica: true, or keep the "
		    "placement to one endpoint)", v->name ? v->name : "?");
	}
}

/*
 * On several endpoints the engine makes, starts, stops and removes each
 * replica on its ordinal's endpoint and runs its hooks there, NGINX and
 * analysis reach each at its endpoint's address, and a smoke test or
 * verification Job runs on the endpoint of the container it tests; backups
 * still work on the Cluster's first endpoint alone, so a deployment backed up
 * before its rollout that may run elsewhere is refused at the field.
 */
static void check_several(struct spec_set *set, const struct spec_cluster *c, const struct placement_endpoint *eps,
			  struct spec_diags *diags)
{
	const char *first = eps[0].name ? eps[0].name : "?";
	size_t i, j;

	for (i = 0; i < set->n_deployments; i++) {
		const struct spec_deployment *d = set->deployments[i];
		const char *other = d->meta.invalid ? NULL : beyond_first(c, eps, d);

		if (other && count_eligible(c, eps, d->placement.set ? &d->placement : NULL) > 1)
			check_shared_volumes(d, diags);
	}
	for (i = 0; i < set->n_backup_policies; i++) {
		const struct spec_backup_policy *b = set->backup_policies[i];
		char path[64];

		for (j = 0; !b->meta.invalid && j < b->n_before; j++) {
			const struct spec_deployment *d = spec_set_deployment(set, b->before[j]);
			const char *other = d && !d->meta.invalid ? beyond_first(c, eps, d) : NULL;

			snprintf(path, sizeof(path), "spec.before[%zu]", j);
			if (other)
				spec_obj_err(diags, SPEC_BACKUP_POLICY, &b->meta, path, "Deployment \"%s\" may run on "
					     "endpoint \"%s\": backups run on the Cluster's first endpoint (\"%s\") alone "
					     "yet (give it placement.endpoints: [%s])", d->meta.name, other, first, first);
		}
	}
}

/*
 * moveAfter moves stateless replicas alone: a volume (per replica or shared,
 * named or a host path) lives on its host, and a validator keeps its chain there.
 */
static void check_move_after(const struct spec_deployment *d, struct spec_diags *diags)
{
	const char *path = "spec.placement.moveAfter";

	if (d->placement.move_after_ms < 0)
		return;
	if (d->placement.move_after_ms == 0)
		ERR(diags, &d->meta, path, "must be more than 0 (leave it out never to move the replicas)");
	else if (is_validator(d))
		ERR(diags, &d->meta, path, "a validator keeps its chain on its host: it is never moved off it "
		    "(leave moveAfter out)");
	else if (d->tmpl.n_volumes > 0)
		ERR(diags, &d->meta, path, "the replicas are stateful: their volume at \"%s\" "
		    "(spec.template.volumes[0]) lives on its host, so they are never moved off it (leave moveAfter out)",
		    d->tmpl.volumes[0].mount_path ? d->tmpl.volumes[0].mount_path : "?");
}

size_t spec_placement_check(struct spec_set *set, struct spec_diags *diags)
{
	const struct spec_cluster *c = spec_set_cluster(set);
	size_t before = spec_diags_total(diags), i;
	struct placement_endpoint *eps;

	for (i = 0; i < set->n_deployments; i++)
		if (!set->deployments[i]->meta.invalid)
			check_move_after(set->deployments[i], diags);
	if (c == NULL || c->meta.invalid)
		return spec_diags_total(diags) - before;
	check_cluster_labels(c, diags);
	eps = endpoints_of(c);
	for (i = 0; i < set->n_deployments; i++) {
		const struct spec_deployment *d = set->deployments[i];

		if (d->meta.invalid)
			continue;
		if (check_names(c, d, diags) + check_spread_by(c, eps, d, diags) > 0)
			continue;
		check_fit(c, eps, d, diags);
		if (is_validator(d) && d->replicas >= BFT_MIN_REPLICAS)
			warn_one_host(set, c, eps, d);
	}
	if (c->n_endpoints > 1)
		check_several(set, c, eps, diags);
	free(eps);
	return spec_diags_total(diags) - before;
}
