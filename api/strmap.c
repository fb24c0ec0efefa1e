/* A map from strings to pointers: chained hashing (FNV-1a), grown at a load of one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct strmap_ent {
	struct strmap_ent *next;
	uint64_t hash;
	void *val;
	size_t idx;
	char key[];
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct strmap_ent **slot(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_ent **p = &m->buckets[h & (m->n_buckets - 1)];

	while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_ent **p;

	if (m->n == 0)
		return NULL;
	p = slot(m, key, hash_key(key));
	return *p ? (*p)->val : NULL;
}

static void grow(struct strmap *m)
{
	size_t nb = m->n_buckets ? m->n_buckets * 2 : 16, i;
	struct strmap_ent **b = xcalloc(nb, sizeof(struct strmap_ent *));

	for (i = 0; i < m->n_buckets; i++) {
		struct strmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
}

/* The entry for key, made when missing. */
static struct strmap_ent *entry(struct strmap *m, const char *key)
{
	uint64_t h = hash_key(key);
	struct strmap_ent **p, *e;
	size_t len;

	if (m->n + 1 > m->n_buckets)
		grow(m);
	p = slot(m, key, h);
	e = *p;
	if (e != NULL)
		return e;
	len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	e->next = NULL;
	e->hash = h;
	e->val = NULL;
	e->idx = 0;
	memcpy(e->key, key, len + 1);
	*p = e;
	m->n++;
	return e;
}

void strmap_put(struct strmap *m, const char *key, void *val)
{
	if (val == NULL)
		BUG("strmap_put of a NULL value for '%s'", key);
	entry(m, key)->val = val;
}

void strmap_put_index(struct strmap *m, const char *key, size_t idx)
{
	entry(m, key)->idx = idx;
}

int strmap_get_index(const struct strmap *m, const char *key, size_t *idx)
{
	struct strmap_ent **p;

	if (m->n == 0)
		return 0;
	p = slot(m, key, hash_key(key));
	if (*p == NULL)
		return 0;
	*idx = (*p)->idx;
	return 1;
}

int strmap_del(struct strmap *m, const char *key)
{
	struct strmap_ent **p, *e;

	if (m->n == 0)
		return 0;
	p = slot(m, key, hash_key(key));
	e = *p;
	if (e == NULL)
		return 0;
	*p = e->next;
	free(e);
	m->n--;
	return 1;
}

void strmap_clear(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->n_buckets; i++) {
		struct strmap_ent *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = 0;
	m->n = 0;
}
