/* The key/value pairs' free, copy, lookup, set and sort, for every list of them in the tree. */
#include "kv.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void kv_free(struct kv *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		FREE_ALL(v[i].key, v[i].value);
	free(v);
}

struct kv *kv_copy(const struct kv *v, size_t n)
{
	struct kv *out;
	size_t i;

	if (v == NULL || n == 0)
		return NULL;
	out = xcalloc(n, sizeof(*out));
	for (i = 0; i < n; i++) {
		out[i].key = xstrdup(v[i].key);
		out[i].value = xstrdup_or_null(v[i].value);
	}
	return out;
}

const char *kv_get(const struct kv *v, size_t n, const char *key)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return v[i].value;
	return NULL;
}

void kv_put(struct kv **v, size_t *n, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, key) == 0) {
			free((*v)[i].value);
			(*v)[i].value = xstrdup_or_null(value);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = xstrdup(key);
	(*v)[*n].value = xstrdup_or_null(value);
	(*n)++;
}

json_t *kv_to_json(const struct kv *v, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; v && i < n; i++)
		json_object_set_new(o, v[i].key, json_string(v[i].value));
	return o;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

void kv_sort(struct kv *v, size_t n)
{
	if (v && n > 1)
		qsort(v, n, sizeof(*v), by_key);
}
