/* A template taken back from the state file is held against the operator's policy in force now. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "policy.h"
#include "strv.h"
#include "util.h"

int engine_tmpl_refused(const struct engine *e, const struct desired_tmpl *t, const char *rev, char *msg, size_t n)
{
	struct spec_policy_tmpl pt;
	char **hp;
	size_t i, nv = t->n_volumes, refused;

	hp = xcalloc(nv + 1, sizeof(*hp));
	for (i = 0; i < nv; i++)
		hp[i] = t->volumes[i].host_path;
	memset(&pt, 0, sizeof(pt));
	pt.privileged = t->privileged;
	pt.network = t->network;
	pt.image = t->image;
	pt.cap_add = t->cap_add;
	pt.n_cap_add = strv_len(t->cap_add);
	pt.host_paths = hp;
	pt.n_volumes = nv;
	pt.memory_limit = t->memory_bytes;
	pt.cpu_millis = t->cpu_millis;
	refused = spec_policy_check_set_template(e->set, &pt, rev, msg, n);
	free(hp);
	return refused > 0;
}
