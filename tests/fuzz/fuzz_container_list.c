/*
 * libFuzzer target: any bytes as the body of Docker's container list, read one entry at a time
 * (observe_parse_list) and checked against the whole body read as one JSON tree
 * (observe_from_json): both accept it or both refuse it, and they hold the same containers.
 */
#include "model/observe.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same containers, in the same order, by id and deployment. */
static int same(const struct observed *a, const struct observed *b)
{
	size_t i;

	if (a->n_containers != b->n_containers || a->n_deployments != b->n_deployments)
		return 0;
	for (i = 0; i < a->n_containers; i++) {
		const struct obs_container *x = a->containers[i], *y = b->containers[i];

		if (strcmp(x->id, y->id) != 0 || x->ordinal != y->ordinal || x->malformed != y->malformed ||
		    (x->deployment == NULL) != (y->deployment == NULL) ||
		    (x->deployment && strcmp(x->deployment, y->deployment) != 0))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct observed one, whole, joined;
	struct error *err = NULL;
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	int rc_one, rc_whole = -1;
	struct obs_list l = { NULL, NULL, &one, 0, NULL, 0 };

	observed_init(&one);
	observed_init(&whole);
	observed_init(&joined);
	rc_one = observe_parse_list(&one, "fuzz", (const char *)data, size, &err);
	error_free(err);
	err = NULL;
	if (j != NULL && json_is_array(j)) {
		rc_whole = observe_from_json(&whole, "fuzz", j, &err);
		error_free(err);
		err = NULL;
	}
	/*
	 * Accepted one way, accepted the other; and then the same containers. A body with a NUL byte
	 * is refused entry by entry, whatever jansson makes of the whole (it reads some as the end).
	 */
	if (memchr(data, '\0', size) != NULL ? rc_one == 0 : (rc_one == 0) != (rc_whole == 0))
		abort();
	if (rc_one == 0) {
		if (observe_from_lists(&joined, "fuzz", &l, 1, &err) != 0 || !same(&joined, &whole))
			abort();
		error_free(err);
	}
	json_decref(j);
	observed_release(&one);
	observed_release(&whole);
	observed_release(&joined);
	return 0;
}
