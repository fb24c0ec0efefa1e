/* Named volumes: adopt the old name when it is ours, else create with labels, and check whose the volume is. */
#include "engine/volume.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kv.h"
#include "model/observe.h"
#include "runtime/log.h"
#include "util.h"

#define COMPONENT "volume"

struct vol_ensure {
	struct docker *d;
	enum docker_kind k;
	char *name, *legacy, *instance, *deployment, *ordinal;
	struct kv *labels;
	size_t n_labels;
	volume_done_fn done;
	void *arg;
};

static void ve_free(struct vol_ensure *ve)
{
	FREE_ALL(ve->name, ve->legacy, ve->instance, ve->deployment, ve->ordinal);
	kv_free(ve->labels, ve->n_labels);
	free(ve);
}

static void ve_end(struct vol_ensure *ve, int ok, const char *name, const char *msg)
{
	ve->done(ok, name, msg, ve->arg);
	ve_free(ve);
}

static void ve_fail(struct vol_ensure *ve, const char *what, const struct docker_result *r)
{
	struct buf m;

	buf_init(&m, 4096);
	(void)buf_printf(&m, "cannot %s volume '%s': %s", what, ve->name,
			 r->message && r->message[0] ? r->message : docker_status_name(r->status));
	ve_end(ve, 0, NULL, m.data);
	buf_release(&m);
}

int volume_owned(const struct kv *labels, size_t n, const char *instance, const char *deployment,
		 const char *ordinal, char *why, size_t why_n)
{
	const char *mb = kv_get(labels, n, OBS_LABEL_MANAGED_BY);
	const char *dep = kv_get(labels, n, OBS_LABEL_DEPLOYMENT);
	const char *ord = kv_get(labels, n, OBS_LABEL_ORDINAL);

	if (mb && strcmp(mb, instance) == 0 && dep && strcmp(dep, deployment) == 0 &&
	    (ordinal == NULL || (ord && strcmp(ord, ordinal) == 0)))
		return 1;
	snprintf(why, why_n, "its labels say %s=%s, %s=%s%s%s", OBS_LABEL_MANAGED_BY, mb ? mb : "(none)",
		 OBS_LABEL_DEPLOYMENT, dep ? dep : "(none)", ordinal ? ", " OBS_LABEL_ORDINAL "=" : "",
		 ordinal ? (ord ? ord : "(none)") : "");
	return 0;
}

/* The labels of a volume in Docker's answer, borrowed into a kv array (freed by the caller). */
static struct kv *answer_labels(json_t *vol, size_t *n)
{
	json_t *obj = json_is_object(vol) ? json_object_get(vol, "Labels") : NULL;
	struct kv *v;
	const char *key;
	json_t *val;
	size_t i = 0;

	*n = json_is_object(obj) ? json_object_size(obj) : 0;
	v = xcalloc(*n + 1, sizeof(*v));
	if (*n == 0)
		return v;
	json_object_foreach(obj, key, val) {
		if (i >= *n || !json_is_string(val))
			continue;
		v[i].key = (char *)key;
		v[i].value = (char *)json_string_value(val);
		i++;
	}
	*n = i;
	return v;
}

static void ve_created(struct docker_result *r, void *arg)
{
	struct vol_ensure *ve = arg;
	struct kv *l;
	char why[512];
	size_t n;
	int owned;

	if (!docker_status_ok(r->status)) {
		ve_fail(ve, "create", r);
		return;
	}
	l = answer_labels(r->json, &n);
	owned = volume_owned(l, n, ve->instance, ve->deployment, ve->ordinal, why, sizeof(why));
	free(l);
	if (!owned) {
		struct buf m;

		buf_init(&m, 4096);
		(void)buf_printf(&m, "volume '%s' exists and is not deployment '%s''s of instance '%s' (%s): auriga "
				 "mounts no volume it does not own", ve->name, ve->deployment, ve->instance, why);
		ve_end(ve, 0, NULL, m.data);
		buf_release(&m);
		return;
	}
	ve_end(ve, 1, ve->name, "");
}

static void ve_create(struct vol_ensure *ve)
{
	struct error *err = NULL;

	if (docker_volume_create(ve->d, ve->k, ve->name, ve->labels, ve->n_labels, ve_created, ve, &err) < 0) {
		ve_end(ve, 0, NULL, error_msg(err));
		error_free(err);
	}
}

static void ve_listed(struct docker_result *r, void *arg)
{
	struct vol_ensure *ve = arg;
	char why[512];
	size_t i;

	if (!docker_status_ok(r->status)) {
		ve_fail(ve, "list the old name of", r);
		return;
	}
	/* Docker's name filter matches substrings: only the exact name counts. */
	for (i = 0; i < r->n_objects; i++) {
		const struct docker_object *o = &r->objects[i];
		const char *name = o->name ? o->name : o->id;

		if (name == NULL || strcmp(name, ve->legacy) != 0)
			continue;
		if (volume_owned(o->labels, o->n_labels, ve->instance, ve->deployment, ve->ordinal, why, sizeof(why))) {
			log_info(COMPONENT, "volume from the earlier naming adopted", "volume", ve->legacy, "deployment",
				 ve->deployment, (char *)NULL);
			ve_end(ve, 1, ve->legacy, "");
			return;
		}
		break;	/* someone else's: not ours to mount, and not in the way of the new name */
	}
	ve_create(ve);
}

int volume_ensure(struct docker *d, enum docker_kind k, const struct volume_want *w, volume_done_fn done,
		  void *arg, struct error **err)
{
	struct vol_ensure *ve;
	size_t i;
	int rc = 0;

	if (w->name == NULL || w->instance == NULL || w->deployment == NULL)
		return error_set(err, ERR_INVALID, "a volume needs its name, instance and deployment");
	ve = xcalloc(1, sizeof(*ve));
	ve->d = d;
	ve->k = k;
	ve->name = xstrdup(w->name);
	ve->legacy = w->legacy ? xstrdup(w->legacy) : NULL;
	ve->instance = xstrdup(w->instance);
	ve->deployment = xstrdup(w->deployment);
	ve->ordinal = w->ordinal ? xstrdup(w->ordinal) : NULL;
	ve->labels = xcalloc(w->n_labels + 1, sizeof(*ve->labels));
	for (i = 0; i < w->n_labels; i++) {
		ve->labels[i].key = xstrdup(w->labels[i].key);
		ve->labels[i].value = xstrdup(w->labels[i].value);
	}
	ve->n_labels = w->n_labels;
	ve->done = done;
	ve->arg = arg;
	if (ve->legacy == NULL) {
		rc = docker_volume_create(d, k, ve->name, ve->labels, ve->n_labels, ve_created, ve, err);
	} else {
		const char *filters[2];
		struct buf f;

		buf_init(&f, 1024);
		(void)buf_printf(&f, "name=%s", ve->legacy);
		filters[0] = f.data;
		filters[1] = NULL;
		rc = docker_volume_list(d, k, filters, ve_listed, ve, err);
		buf_release(&f);
	}
	if (rc < 0)
		ve_free(ve);	/* done never runs: the caller has the error */
	return rc;
}
