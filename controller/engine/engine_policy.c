/* A template taken back from the state file is held against the operator's policy in force now. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "policy.h"
#include "util.h"

/*
 * The Cluster's narrowing as spec_policy_check_template takes it. The set in
 * hand holds what is in force (policy and Cluster resolved); where that is
 * off because the operator forbids it, the operator's setting is named.
 */
static int narrowing(int in_force, int operator_allows)
{
	if (in_force)
		return 1;
	return operator_allows ? 0 : -1;
}

int engine_tmpl_refused(const struct engine *e, const struct desired_tmpl *t, const char *rev, char *msg, size_t n)
{
	const struct spec_policy *p = e->set && e->set->policy ? e->set->policy : spec_policy_default();
	const struct spec_cluster *c = e->set ? spec_set_cluster(e->set) : NULL;
	struct spec_policy_tmpl pt;
	char **hp;
	size_t i, nv = t->n_volumes, refused;
	int priv, hbm;

	hp = xcalloc(nv + 1, sizeof(*hp));
	for (i = 0; i < nv; i++)
		hp[i] = t->volumes[i].host_path;
	memset(&pt, 0, sizeof(pt));
	pt.privileged = t->privileged;
	pt.network = t->network;
	pt.image = t->image;
	pt.cap_add = t->cap_add;
	for (i = 0; t->cap_add && t->cap_add[i]; i++)
		pt.n_cap_add++;
	pt.host_paths = hp;
	pt.n_volumes = nv;
	pt.memory_limit = t->memory_bytes;
	pt.cpu_millis = t->cpu_millis;
	priv = narrowing(c ? c->allow_privileged > 0 : p->privileged, p->privileged);
	hbm = narrowing(c ? c->allow_host_bind_mounts > 0 : p->n_host_paths > 0, p->n_host_paths > 0);
	refused = spec_policy_check_template(p, priv, hbm, &pt, rev, msg, n);
	free(hp);
	return refused > 0;
}
