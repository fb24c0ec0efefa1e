/* Networks a template names: list by name, create with auriga's labels when missing, tell the caller whose it is. */
#include "engine/network.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model/observe.h"
#include "policy.h"
#include "util.h"

struct net_waiter {
	network_done_fn done;
	void *arg;
};

struct net_ensure {
	struct net_ensure *next;
	struct docker *d;
	enum docker_kind k;
	char *name;
	char *legacy;		/* an earlier name of it, taken when that network is ours; NULL: none */
	char *instance;
	struct kv *labels;
	size_t n_labels;
	int listed_after_conflict;
	struct net_waiter *w;	/* the first caller, then those who asked while this one ran */
	size_t n_w;
};

/*
 * Ensures in flight, so that creates of several replicas in one pass share
 * one list-then-create: Docker's CheckDuplicate is not atomic, and two
 * concurrent creates of a name make two networks. Loop thread only.
 */
static struct net_ensure *inflight;

static void ne_free(struct net_ensure *ne)
{
	kv_free(ne->labels, ne->n_labels);
	FREE_ALL(ne->name, ne->legacy, ne->instance, ne->w, ne);
}

static void ne_end(struct net_ensure *ne, enum network_outcome o, const char *used, const char *msg)
{
	struct net_ensure **pp;
	size_t i;

	for (pp = &inflight; *pp; pp = &(*pp)->next)
		if (*pp == ne) {
			*pp = ne->next;
			break;
		}
	for (i = 0; i < ne->n_w; i++)
		ne->w[i].done(o, used, msg, ne->w[i].arg);
	ne_free(ne);
}

static void ne_wait(struct net_ensure *ne, network_done_fn done, void *arg)
{
	ne->w = xrealloc(ne->w, (ne->n_w + 1) * sizeof(*ne->w));
	ne->w[ne->n_w].done = done;
	ne->w[ne->n_w].arg = arg;
	ne->n_w++;
}

static int ne_list(struct net_ensure *ne, struct error **err);

static void ne_fail(struct net_ensure *ne, const char *what, const struct docker_result *r)
{
	char *m = xasprintf("cannot %s network '%s': %s", what, ne->name, docker_result_reason(r));

	ne_end(ne, NETWORK_FAILED, ne->name, m);
	free(m);
}

static void ne_created(struct docker_result *r, void *arg)
{
	struct net_ensure *ne = arg;
	struct error *err = NULL;

	if (docker_status_ok(r->status)) {
		ne_end(ne, NETWORK_OWNED, ne->name, "");
		return;
	}
	if (r->status == DOCKER_CONFLICT && !ne->listed_after_conflict) {
		/* Someone made it between our list and our create: see whose it is. */
		ne->listed_after_conflict = 1;
		if (ne_list(ne, &err) == 0)
			return;
		ne_end(ne, NETWORK_FAILED, ne->name, error_msg(err));
		error_free(err);
		return;
	}
	ne_fail(ne, "create", r);
}

/* The listed network named name: 1 ours, 0 another's, -1 none has the name. */
static int listed_owner(const struct docker_result *r, const char *name, const char *instance)
{
	size_t i;

	/* Docker's name filter matches substrings: only the exact name counts. */
	for (i = 0; i < r->n_objects; i++) {
		const struct docker_object *o = &r->objects[i];
		const char *mb;

		if (o->name == NULL || strcmp(o->name, name) != 0)
			continue;
		mb = kv_get(o->labels, o->n_labels, OBS_LABEL_MANAGED_BY);
		return mb && strcmp(mb, instance) == 0;
	}
	return -1;
}

int network_listed(const struct docker_result *r, const char *name, const char *legacy, const char *instance,
		   const char **used)
{
	int owner = listed_owner(r, name, instance);

	*used = name;
	if (owner >= 0)
		return owner ? NETWORK_OWNED : NETWORK_FOREIGN;
	/*
	 * Made under its earlier name by this instance: its containers are there,
	 * and so go new ones. Someone else's of that name is what the spec asked
	 * to join: told as foreign (the caller refuses it unless the policy lists
	 * it), never quietly swapped for a network of our own.
	 */
	owner = legacy ? listed_owner(r, legacy, instance) : -1;
	if (owner < 0)
		return -1;
	*used = legacy;
	return owner ? NETWORK_OWNED : NETWORK_FOREIGN;
}

char *network_refusal(const char *name, const struct spec_policy *p)
{
	char where[300];

	return xasprintf("network '%s' is not auriga's: refused by the operator's policy (not listed in networks %s)",
			 name, spec_policy_origin(p ? p : spec_policy_default(), where, sizeof(where)));
}

static void ne_listed(struct docker_result *r, void *arg)
{
	struct net_ensure *ne = arg;
	struct error *err = NULL;
	const char *used;
	int o;

	if (!docker_status_ok(r->status)) {
		ne_fail(ne, "list", r);
		return;
	}
	o = network_listed(r, ne->name, ne->legacy, ne->instance, &used);
	if (o >= 0) {
		ne_end(ne, (enum network_outcome)o, used, "");
		return;
	}
	if (ne->listed_after_conflict) {
		ne_end(ne, NETWORK_FAILED, ne->name, "network create said conflict, yet no network has the name");
		return;
	}
	if (docker_network_create(ne->d, ne->k, ne->name, "bridge", 0, ne->labels, ne->n_labels, ne_created, ne,
				  &err) < 0) {
		ne_end(ne, NETWORK_FAILED, ne->name, error_msg(err));
		error_free(err);
	}
}

static int ne_list(struct net_ensure *ne, struct error **err)
{
	/* The earlier name is part of the new one ("<prefix>-<name>"): one list finds both. */
	char *f = xasprintf("name=%s", ne->legacy ? ne->legacy : ne->name);
	const char *filters[2] = { f, NULL };
	int rc = docker_network_list(ne->d, ne->k, filters, ne_listed, ne, err);

	free(f);
	return rc;
}

int network_ensure(struct docker *d, enum docker_kind k, const char *name, const char *legacy, const char *instance,
		   const struct kv *labels, size_t n_labels, network_done_fn done, void *arg,
		   struct error **err)
{
	struct net_ensure *ne;
	int rc;

	for (ne = inflight; ne; ne = ne->next)
		if (ne->d == d && strcmp(ne->name, name) == 0 && strcmp(ne->instance, instance) == 0) {
			ne_wait(ne, done, arg);
			return 0;
		}
	ne = xcalloc(1, sizeof(*ne));
	ne->d = d;
	ne->k = k;
	ne->name = xstrdup(name);
	ne->legacy = xstrdup_or_null(legacy);
	ne->instance = xstrdup(instance);
	ne->labels = kv_copy(labels, n_labels);
	ne->n_labels = n_labels;
	ne_wait(ne, done, arg);
	/* In the list before the call, in case its callback runs at once. */
	ne->next = inflight;
	inflight = ne;
	rc = ne_list(ne, err);
	if (rc < 0) {
		inflight = ne->next;
		ne_free(ne);
	}
	return rc;
}
