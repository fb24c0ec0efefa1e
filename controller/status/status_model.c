/* The status model: its phases by name, a fleet status made, copied, counted and freed. */
#include "status/status.h"
#include "status/status_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* In enum status_phase's order. */
static const char *const phase_names[] = { "Unknown", "Progressing", "Healthy", "Degraded",
					   "Failed",  "RolledBack",  "Pending", "Aborted", "Refused", "Superseded",
					   "Waiting" };

const char *status_phase_name(enum status_phase p)
{
	return NAME_OF(phase_names, p, "Unknown");
}

int status_phase_parse(const char *s, enum status_phase *out)
{
	int i = name_index(phase_names, ARRAY_SIZE(phase_names), s);

	if (i < 0)
		return -1;
	*out = (enum status_phase)i;
	return 0;
}

void status_init(struct fleet_status *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * The pool's blocks double from 4 KiB to 256 KiB (past malloc's mmap
 * threshold, which main sets, so a big block goes back to the system with
 * its status). A string over a quarter of the next block is malloc'd alone.
 */
#define POOL_FIRST ((size_t)4 << 10)
#define POOL_MAX ((size_t)256 << 10)

struct pool_block {
	char *p;
	size_t size;
};

struct status_pool {
	struct pool_block *v;
	size_t n, cap;
	size_t used;		/* of the last block */
};

void status_use_pool(struct fleet_status *s)
{
	if (s->pool == NULL && s->ndeployments == 0)
		s->pool = xcalloc(1, sizeof(*s->pool));
}

static void pool_free(struct status_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->v[i].p);
	free(p->v);
	free(p);
}

/* n bytes from the pool, or NULL when they are malloc'd instead. */
static char *pool_take(struct status_pool *p, size_t n)
{
	struct pool_block *b = p->n ? &p->v[p->n - 1] : NULL;
	char *r;

	if (b == NULL || b->size - p->used < n) {
		size_t size = b == NULL ? POOL_FIRST : b->size < POOL_MAX ? b->size * 2 : POOL_MAX;

		if (n > size / 4)
			return NULL;
		XGROW(p->v, p->cap, p->n + 1);
		b = &p->v[p->n++];
		b->p = xmalloc(size);
		b->size = size;
		p->used = 0;
	}
	r = b->p + p->used;
	p->used += n;
	return r;
}

/* Whether s lies in one of the pool's blocks (the last ones are the biggest, so they are looked at first). */
static int pool_owns(const struct status_pool *p, const char *s)
{
	uintptr_t a = (uintptr_t)s;
	size_t i;

	if (p == NULL || s == NULL)
		return 0;
	for (i = p->n; i-- > 0;)
		if (a >= (uintptr_t)p->v[i].p && a - (uintptr_t)p->v[i].p < p->v[i].size)
			return 1;
	return 0;
}

char *status_str(struct status_deployment *d, const char *v)
{
	size_t n;
	char *r;

	if (v == NULL)
		return NULL;
	n = strlen(v) + 1;
	if (d->pool == NULL || (r = pool_take(d->pool, n)) == NULL)
		return xstrdup(v);
	return memcpy(r, v, n);
}

/* Formatted straight into the pool when it takes the length, not into a malloc'd text copied there. */
char *status_strf(struct status_deployment *d, const char *fmt, ...)
{
	va_list ap;
	char *r = NULL;

	if (d->pool != NULL) {
		int n;

		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
		if (n >= 0 && (r = pool_take(d->pool, (size_t)n + 1)) != NULL) {
			va_start(ap, fmt);
			(void)vsnprintf(r, (size_t)n + 1, fmt, ap);
			va_end(ap);
			return r;
		}
	}
	va_start(ap, fmt);
	r = xvasprintf(fmt, ap);
	va_end(ap);
	return r;
}

/* Frees each of a deployment's strings that is not its pool's. */
static void drop_strs(const struct status_pool *p, char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!pool_owns(p, v[i]))
			free(v[i]);
}

#define DROP_ALL(pool, ...) \
	drop_strs((pool), (char *const[]){ __VA_ARGS__ }, sizeof((char *const[]){ __VA_ARGS__ }) / sizeof(char *))

static void condition_release(const struct status_pool *p, struct status_condition *c)
{
	DROP_ALL(p, c->type, c->status, c->reason, c->message);
}

static void move_release(struct status_move *m)
{
	FREE_ALL(m->deployment, m->task, m->from, m->to, m->reason);
}

static void deployment_release(struct status_deployment *d)
{
	const struct status_pool *p = d->pool;
	size_t i;

	DROP_ALL(p, d->name, d->role, d->revision, d->strategy, d->step, d->last_error, d->action, d->action_by,
		 d->action_reason, d->service);
	for (i = 0; i < d->nconditions; i++)
		condition_release(p, &d->conditions[i]);
	free(d->conditions);
	for (i = 0; i < d->ninstances; i++)
		DROP_ALL(p, d->instances[i].name, d->instances[i].revision, d->instances[i].slot, d->instances[i].state,
			 d->instances[i].endpoint, d->instances[i].probe_failure, d->instances[i].host,
			 d->instances[i].node);
	free(d->instances);
	status_verifications_release(d);
}

void status_release(struct fleet_status *s)
{
	size_t i;

	FREE_ALL(s->commit, s->summary, s->source_error, s->superseded_by, s->problems);
	status_source_release(&s->source);
	for (i = 0; i < s->nnodes; i++)
		FREE_ALL(s->nodes[i].name, s->nodes[i].id, s->nodes[i].address, s->nodes[i].state,
			 s->nodes[i].availability, s->nodes[i].role);
	free(s->nodes);
	for (i = 0; i < s->nmoves; i++)
		move_release(&s->moves[i]);
	free(s->moves);
	for (i = 0; i < s->ndeployments; i++)
		deployment_release(&s->deployments[i]);
	free(s->deployments);
	pool_free(s->pool);
	status_init(s);
}

struct status_deployment *status_add_deployment(struct fleet_status *s, const char *name)
{
	struct status_deployment *d;

	s->deployments = xrealloc(s->deployments, (s->ndeployments + 1) * sizeof(*d));
	d = &s->deployments[s->ndeployments++];
	memset(d, 0, sizeof(*d));
	d->pool = s->pool;
	d->name = status_str(d, name);
	return d;
}

struct status_node *status_add_node(struct fleet_status *s, const char *name)
{
	struct status_node *n;

	s->nodes = xrealloc(s->nodes, (s->nnodes + 1) * sizeof(*n));
	n = &s->nodes[s->nnodes++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	return n;
}

struct status_move *status_add_move(struct fleet_status *s, const char *deployment, const char *task)
{
	struct status_move *m;

	if (s->nmoves == STATUS_MOVES_MAX) {
		move_release(&s->moves[0]);
		memmove(&s->moves[0], &s->moves[1], (s->nmoves - 1) * sizeof(*m));
		s->nmoves--;
	}
	s->moves = xrealloc(s->moves, (s->nmoves + 1) * sizeof(*m));
	m = &s->moves[s->nmoves++];
	memset(m, 0, sizeof(*m));
	m->deployment = xstrdup(deployment);
	m->task = xstrdup(task);
	return m;
}

struct status_condition *status_add_condition(struct status_deployment *d, const char *type)
{
	struct status_condition *c;

	d->conditions = xrealloc(d->conditions, (d->nconditions + 1) * sizeof(*c));
	c = &d->conditions[d->nconditions++];
	memset(c, 0, sizeof(*c));
	c->type = status_str(d, type);
	return c;
}

struct status_instance *status_add_instance(struct status_deployment *d, const char *name)
{
	struct status_instance *in;

	d->instances = xrealloc(d->instances, (d->ninstances + 1) * sizeof(*in));
	in = &d->instances[d->ninstances++];
	memset(in, 0, sizeof(*in));
	in->name = status_str(d, name);
	in->ready = -1;
	return in;
}

static void instances_copy(struct status_deployment *d, const struct status_deployment *sd)
{
	size_t i;

	for (i = 0; i < sd->ninstances; i++) {
		const struct status_instance *si = &sd->instances[i];
		struct status_instance *in = status_add_instance(d, si->name);

		in->revision = xstrdup_or_null(si->revision);
		in->slot = xstrdup_or_null(si->slot);
		in->state = xstrdup_or_null(si->state);
		in->endpoint = xstrdup_or_null(si->endpoint);
		in->host = xstrdup_or_null(si->host);
		in->ready = si->ready;
		in->probe_failure = xstrdup_or_null(si->probe_failure);
		in->node = xstrdup_or_null(si->node);
	}
	d->service = xstrdup_or_null(sd->service);
}

void status_copy(struct fleet_status *dst, const struct fleet_status *src)
{
	size_t i, j;

	status_init(dst);
	dst->commit = xstrdup_or_null(src->commit);
	dst->summary = xstrdup_or_null(src->summary);
	dst->source_error = xstrdup_or_null(src->source_error);
	dst->superseded_by = xstrdup_or_null(src->superseded_by);
	dst->problems = xstrdup_or_null(src->problems);
	status_source_copy(&dst->source, &src->source);
	dst->phase = src->phase;
	dst->observed_at = src->observed_at;
	for (i = 0; i < src->ndeployments; i++) {
		const struct status_deployment *sd = &src->deployments[i];
		struct status_deployment *d = status_add_deployment(dst, sd->name);

		d->role = xstrdup_or_null(sd->role);
		d->phase = sd->phase;
		d->revision = xstrdup_or_null(sd->revision);
		d->desired = sd->desired;
		d->ready = sd->ready;
		d->updated = sd->updated;
		d->available = sd->available;
		d->restarts = sd->restarts;
		d->strategy = xstrdup_or_null(sd->strategy);
		d->step = xstrdup_or_null(sd->step);
		d->last_error = xstrdup_or_null(sd->last_error);
		d->started_at = sd->started_at;
		d->finished_at = sd->finished_at;
		d->surge = sd->surge;
		d->paused = sd->paused;
		memcpy(d->slots, sd->slots, sizeof(d->slots));
		d->action = xstrdup_or_null(sd->action);
		d->action_by = xstrdup_or_null(sd->action_by);
		d->action_reason = xstrdup_or_null(sd->action_reason);
		d->action_at = sd->action_at;
		for (j = 0; j < sd->nconditions; j++) {
			const struct status_condition *sc = &sd->conditions[j];
			struct status_condition *c = status_add_condition(d, sc->type);

			c->status = xstrdup_or_null(sc->status);
			c->reason = xstrdup_or_null(sc->reason);
			c->message = xstrdup_or_null(sc->message);
			c->last_transition = sc->last_transition;
		}
		instances_copy(d, sd);
		status_verifications_copy(d, sd);
	}
	for (i = 0; i < src->nnodes; i++) {
		const struct status_node *sn = &src->nodes[i];
		struct status_node *n = status_add_node(dst, sn->name);

		n->id = xstrdup_or_null(sn->id);
		n->address = xstrdup_or_null(sn->address);
		n->state = xstrdup_or_null(sn->state);
		n->availability = xstrdup_or_null(sn->availability);
		n->role = xstrdup_or_null(sn->role);
		n->tasks = sn->tasks;
	}
	for (i = 0; i < src->nmoves; i++) {
		const struct status_move *sm = &src->moves[i];
		struct status_move *m = status_add_move(dst, sm->deployment, sm->task);

		m->from = xstrdup_or_null(sm->from);
		m->to = xstrdup_or_null(sm->to);
		m->reason = xstrdup_or_null(sm->reason);
		m->at = sm->at;
	}
}

void status_counts(const struct fleet_status *s, long *ready, long *desired)
{
	size_t i;

	*ready = 0;
	*desired = 0;
	for (i = 0; i < s->ndeployments; i++) {
		*ready += s->deployments[i].ready;
		*desired += s->deployments[i].desired;
	}
}
