/* Named volumes of a template: adopted when an earlier auriga made them, else created with auriga's labels; never mounted when not ours. */
#ifndef AURIGA_VOLUME_H
#define AURIGA_VOLUME_H

#include <stddef.h>

#include "docker/docker.h"
#include "error.h"

/* What the volume must be, and whose. Strings are copied. */
struct volume_want {
	const char *name;		/* the name to create (desired_volume_name) */
	const char *legacy;		/* the name an earlier auriga gave it, or NULL */
	const char *instance;		/* its managed-by label must say this */
	const char *deployment;		/* and its deployment label this */
	const char *ordinal;		/* a per-replica volume's ordinal label; NULL for a shared one */
	const struct kv *labels;	/* put on a volume created now */
	size_t n_labels;
};

/*
 * done: ok, and the name to mount; or not ok, and msg says why (a Docker
 * failure, or a volume of that name that is not this deployment's).
 */
typedef void (*volume_done_fn)(int ok, const char *name, const char *msg, void *arg);

/*
 * Makes sure the volume exists and is ours. With a legacy name, a volume of
 * that exact name whose labels say it is this instance's (and deployment's,
 * and ordinal's) is adopted as it is, so data kept under the old naming is
 * not left behind on an upgrade; a legacy-named volume that is not ours is
 * left alone. Otherwise the volume is created with the labels; Docker
 * answers a create of an existing name with that volume, whose labels must
 * then be ours, or it is refused. done runs on the loop, once.
 */
int volume_ensure(struct docker *d, enum docker_kind k, const struct volume_want *w, volume_done_fn done,
		  void *arg, struct error **err);

/*
 * Whether labels make a volume this instance's and deployment's (and, when
 * ordinal is not NULL, that replica's): 1, or 0 with why (what they say).
 */
int volume_owned(const struct kv *labels, size_t n, const char *instance, const char *deployment,
		 const char *ordinal, char *why, size_t why_n);

#endif
