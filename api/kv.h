/* The one key/value type (labels, annotations, env, headers, Docker's attributes) and its helpers. */
#ifndef AURIGA_KV_H
#define AURIGA_KV_H

#include <stddef.h>

/* Both strings are owned by the array that holds the pair; value may be NULL where a field says so. */
struct kv {
	char *key;
	char *value;
};

/* Frees the n pairs and the array. */
void kv_free(struct kv *v, size_t n);
/* A deep copy of n pairs (NULL when n is 0); a NULL value is copied as NULL. */
struct kv *kv_copy(const struct kv *v, size_t n);
/* The value stored for key, or NULL when there is none. */
const char *kv_get(const struct kv *v, size_t n, const char *key);
/* Sets key to a copy of value: a pair of that key is updated in place, else one is appended. */
void kv_put(struct kv **v, size_t *n, const char *key, const char *value);
/* The pairs as a JSON object (jansson's json_t); a pair whose value is NULL is left out. */
struct json_t;
struct json_t *kv_to_json(const struct kv *v, size_t n);
/* Sorts the pairs by key (a stable order for hashes and files). */
void kv_sort(struct kv *v, size_t n);

#endif
