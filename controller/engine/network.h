/* Networks a template names: created and labelled by auriga when missing, joined as they are when not auriga's. */
#ifndef AURIGA_NETWORK_H
#define AURIGA_NETWORK_H

#include <stddef.h>

#include "docker/docker.h"
#include "error.h"

struct spec_policy;

enum network_outcome {
	NETWORK_OWNED,		/* auriga created it now, or earlier (its managed-by label is ours) */
	NETWORK_FOREIGN,	/* it exists and is not ours: joined, never changed or removed */
	NETWORK_FAILED,		/* cannot list or create it; msg says why */
};

/* used: the name of the network to join (name, or legacy when that one was taken). */
typedef void (*network_done_fn)(enum network_outcome o, const char *used, const char *msg, void *arg);

/*
 * Makes sure the bridge network name exists: a list by name first (an
 * existing network, ours or not, is left as it is), else a create with
 * labels (which must hold managed-by = instance). legacy (NULL: none), a
 * name the network had before, part of name: when no network has name and
 * one of ours has legacy, that one is used (a fleet made under the earlier
 * names stays on one network); one of another's is told as NETWORK_FOREIGN
 * with used = legacy (the spec named it: the caller refuses or joins it, a
 * network of our own is not made in its place). A create that loses a race to another
 * creator (409) is listed again. done runs on the loop, once.
 */
int network_ensure(struct docker *d, enum docker_kind k, const char *name, const char *legacy, const char *instance,
		   const struct kv *labels, size_t n_labels, network_done_fn done, void *arg,
		   struct error **err);

/*
 * What network_ensure decides from a list of networks r: NETWORK_OWNED or
 * NETWORK_FOREIGN, with *used the name it would join (name, or legacy as
 * above), or -1 when neither is listed (it would create name, as auriga's).
 */
int network_listed(const struct docker_result *r, const char *name, const char *legacy, const char *instance,
		   const char **used);

/*
 * Why a network auriga does not own is refused (policy NULL: the built-in
 * one), in the words of the engine and of `auriga plan` alike (malloc'd).
 */
char *network_refusal(const char *name, const struct spec_policy *policy);

#endif
