/* A map from strings to pointers or indexes: chained hashing (FNV-1a), for lookups by name or id in large fleets. */
#ifndef AURIGA_STRMAP_H
#define AURIGA_STRMAP_H

#include <stddef.h>

struct strmap_ent;

struct strmap {
	struct strmap_ent **buckets;
	size_t n_buckets;	/* 0 or a power of two */
	size_t n;
};

#define STRMAP_INIT { NULL, 0, 0 }

/* The value stored for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Stores val (not NULL) for key (copied), replacing what was there. */
void strmap_put(struct strmap *m, const char *key, void *val);
/* An index instead of a pointer: stores idx for key; strmap_get_index returns 1 with *idx set, 0 when absent. */
void strmap_put_index(struct strmap *m, const char *key, size_t idx);
int strmap_get_index(const struct strmap *m, const char *key, size_t *idx);
/* Removes key; returns 1 when it was there. */
int strmap_del(struct strmap *m, const char *key);
/* Empties the map and frees its memory (the values are the caller's). */
void strmap_clear(struct strmap *m);

#endif
