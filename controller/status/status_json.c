/* The status's JSON form, as /api/v1/status serves it. */
#include "status/status.h"
#include "status/status_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static void json_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

/* As in notes, served error texts are bounded, valid UTF-8, escaped and free of URL credentials. */
static void json_text(json_t *o, const char *k, const char *v)
{
	char *t;

	if (!v)
		return;
	t = text_bounded(v, TEXT_MAX);
	json_object_set_new(o, k, json_string(t));
	free(t);
}

static void json_time(json_t *o, const char *k, int64_t ms)
{
	char t[40];

	if (ms > 0 && status_format_time(ms, t, sizeof(t)) == 0)
		json_object_set_new(o, k, json_string(t));
}

static void json_source(json_t *root, const struct fleet_status *s)
{
	const struct status_source *src = &s->source;
	json_t *o;

	if (!status_source_present(s))
		return;
	o = json_object();
	json_text(o, "head", src->head);
	json_text(o, "applied", src->applied);
	json_time(o, "lastFetchAt", src->fetched_at);
	json_text(o, "lastError", s->source_error);
	json_text(o, "lastFetchError", src->fetch_error);
	json_time(o, "lastFetchErrorAt", src->fetch_error_at);
	json_text(o, "environment", src->environment);
	json_text(o, "promotion", src->promotion);
	json_text(o, "approvedBy", src->approved_by);
	json_time(o, "approvedAt", src->approved_at);
	json_object_set_new(root, "source", o);
}

/* Text of several lines as an array, one bounded line an item. */
static void json_lines(json_t *o, const char *k, const char *text)
{
	json_t *a;
	const char *p = text;
	char *t;

	if (text == NULL)
		return;
	a = json_array();
	while ((t = status_next_line(&p)) != NULL) {
		json_array_append_new(a, json_string(t));
		free(t);
	}
	json_object_set_new(o, k, a);
}

/* Each slot's containers: ready against what the slot runs at the release's weight now. */
static json_t *slots_json(const struct status_deployment *d)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(d->slots) / sizeof(d->slots[0]) && d->slots[i].name[0]; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "slot", d->slots[i].name, "ready",
						   (json_int_t)d->slots[i].ready, "desired",
						   (json_int_t)d->slots[i].desired));
	return a;
}

static json_t *instances_json(const struct status_deployment *d)
{
	json_t *v = json_array();
	size_t i;

	for (i = 0; i < d->ninstances; i++) {
		const struct status_instance *in = &d->instances[i];
		json_t *o = json_object();

		json_str(o, "name", in->name);
		json_str(o, "revision", in->revision);
		json_str(o, "slot", in->slot);
		json_str(o, "state", in->state);
		json_str(o, "endpoint", in->endpoint);
		json_str(o, "host", in->host);
		json_str(o, "node", in->node);
		json_object_set_new(o, "ready", in->ready < 0 ? json_null() : json_boolean(in->ready));
		json_text(o, "lastProbeFailure", in->probe_failure);
		json_array_append_new(v, o);
	}
	return v;
}

/* What the release's analyses verified, as the note lists it. */
static json_t *verifications_json(const struct status_deployment *d)
{
	json_t *v = json_array();
	size_t i;

	for (i = 0; i < d->nverifications; i++) {
		const struct status_verification *x = &d->verifications[i];
		json_t *o = json_object();

		json_text(o, "metric", x->metric);
		json_text(o, "job", x->job);
		json_text(o, "figure", x->figure);
		json_text(o, "value", x->value);
		json_text(o, "failIf", x->fail_if);
		json_text(o, "verdict", x->verdict);
		json_text(o, "reason", x->reason);
		json_array_append_new(v, o);
	}
	return v;
}

/* A Swarm's nodes: each one's name, id, address, state, availability, role and this instance's tasks on it. */
static json_t *nodes_json(const struct fleet_status *s)
{
	json_t *v = json_array();
	size_t i;

	for (i = 0; i < s->nnodes; i++) {
		const struct status_node *n = &s->nodes[i];
		json_t *o = json_object();

		json_str(o, "name", n->name);
		json_str(o, "id", n->id);
		json_str(o, "address", n->address);
		json_str(o, "state", n->state);
		json_str(o, "availability", n->availability);
		json_str(o, "role", n->role);
		json_object_set_new(o, "tasks", json_integer(n->tasks));
		json_array_append_new(v, o);
	}
	return v;
}

/* The tasks Swarm moved to another node, oldest first. */
static json_t *moves_json(const struct fleet_status *s)
{
	json_t *v = json_array();
	size_t i;

	for (i = 0; i < s->nmoves; i++) {
		const struct status_move *m = &s->moves[i];
		json_t *o = json_object();

		json_str(o, "deployment", m->deployment);
		json_str(o, "task", m->task);
		json_str(o, "from", m->from);
		json_str(o, "to", m->to);
		json_str(o, "reason", m->reason);
		json_time(o, "at", m->at);
		json_array_append_new(v, o);
	}
	return v;
}

/* The status without its deployments: the first keys of status_to_json's object. */
static json_t *head_json(const struct fleet_status *s)
{
	json_t *root = json_object();
	long ready, desired;

	status_counts(s, &ready, &desired);
	json_str(root, "commit", s->commit);
	json_str(root, "phase", status_phase_name(s->phase));
	json_object_set_new(root, "ready", json_integer(ready));
	json_object_set_new(root, "desired", json_integer(desired));
	json_str(root, "summary", s->summary);
	json_time(root, "observedAt", s->observed_at);
	json_text(root, "supersededBy", s->superseded_by);
	json_source(root, s);
	json_lines(root, "problems", s->problems);
	if (s->nnodes)
		json_object_set_new(root, "nodes", nodes_json(s));
	if (s->nmoves)
		json_object_set_new(root, "moves", moves_json(s));
	return root;
}

json_t *status_deployment_json(const struct status_deployment *d)
{
	json_t *o = json_object(), *conds = json_array();
	size_t j;

	json_str(o, "name", d->name);
	json_str(o, "role", d->role);
	json_str(o, "phase", status_phase_name(d->phase));
	json_str(o, "revision", d->revision);
	json_object_set_new(o, "desired", json_integer(d->desired));
	json_object_set_new(o, "ready", json_integer(d->ready));
	json_object_set_new(o, "updated", json_integer(d->updated));
	json_object_set_new(o, "available", json_integer(d->available));
	json_object_set_new(o, "restarts", json_integer(d->restarts));
	json_str(o, "strategy", d->strategy);
	json_str(o, "step", d->step);
	json_str(o, "service", d->service);
	for (j = 0; j < d->nconditions; j++) {
		const struct status_condition *c = &d->conditions[j];
		json_t *co = json_object();

		json_str(co, "type", c->type);
		json_str(co, "status", c->status);
		json_str(co, "reason", c->reason);
		json_text(co, "message", c->message);
		json_time(co, "lastTransitionTime", c->last_transition);
		json_array_append_new(conds, co);
	}
	json_object_set_new(o, "conditions", conds);
	json_text(o, "lastError", d->last_error);
	json_time(o, "startedAt", d->started_at);
	json_time(o, "finishedAt", d->finished_at);
	json_object_set_new(o, "surge", json_integer(d->surge));
	json_object_set_new(o, "paused", json_boolean(d->paused));
	if (d->action) {
		json_t *a = json_object();

		json_str(a, "action", d->action);
		json_text(a, "by", d->action_by);
		json_text(a, "reason", d->action_reason);
		json_time(a, "at", d->action_at);
		json_object_set_new(o, "lastAction", a);
	}
	if (d->ninstances)
		json_object_set_new(o, "instances", instances_json(d));
	if (d->slots[0].name[0])
		json_object_set_new(o, "slots", slots_json(d));
	if (d->nverifications)
		json_object_set_new(o, "verification", verifications_json(d));
	return o;
}

json_t *status_to_json(const struct fleet_status *s)
{
	json_t *root = head_json(s), *deps = json_array();
	size_t i;

	for (i = 0; i < s->ndeployments; i++)
		json_array_append_new(deps, status_deployment_json(&s->deployments[i]));
	json_object_set_new(root, "deployments", deps);
	return root;
}

/*
 * Where a reader is in the text: the head's object without its closing
 * brace, the deployments' key, each deployment's object (a comma before all
 * but the first), then the closing "]}" and the end.
 */
enum text_part { TP_HEAD, TP_KEY, TP_DEPLOYMENT, TP_END };

struct status_text_reader {
	const struct fleet_status *s;
	enum text_part part;
	size_t next;		/* the next deployment to encode */
	int head_empty;		/* the head had no key: no comma before the deployments' key */
	int comma_due;		/* a deployment was written: a comma before the next */
	int failed;		/* a piece could not be encoded: every read fails from then on */
	const char *piece;	/* the piece being copied out, len bytes, off of them copied */
	size_t len, off;
	char *own;		/* the piece when it is malloc'd (an encoded object) */
};

struct status_text_reader *status_text_reader_new(const struct fleet_status *s)
{
	struct status_text_reader *r = xcalloc(1, sizeof(*r));

	r->s = s;
	return r;
}

static void set_piece(struct status_text_reader *r, const char *p, size_t len, char *own)
{
	free(r->own);
	r->own = own;
	r->piece = p;
	r->len = len;
	r->off = 0;
}

/* The compact text of o (dropped), less its last skip_tail bytes, as the next piece; -1 when jansson could not. */
static int piece_dumped(struct status_text_reader *r, json_t *o, size_t skip_tail)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (t == NULL)
		return -1;	/* no memory */
	set_piece(r, t, strlen(t) - skip_tail, t);
	return 0;
}

/* Makes the next piece; 0 at the end of the text, 1 when one is made, -1 on an error. */
static int next_piece(struct status_text_reader *r)
{
	static const char key[] = ",\"deployments\":[";

	switch (r->part) {
	case TP_HEAD:
		r->part = TP_KEY;
		if (piece_dumped(r, head_json(r->s), 1) < 0)
			return -1;
		r->head_empty = r->len <= 1;
		return 1;
	case TP_KEY:
		r->part = TP_DEPLOYMENT;
		/* After an empty head ("{"), no comma. */
		set_piece(r, key + r->head_empty, sizeof(key) - 1 - (size_t)r->head_empty, NULL);
		return 1;
	case TP_DEPLOYMENT:
		if (r->next >= r->s->ndeployments) {
			r->part = TP_END;
			set_piece(r, "]}", 2, NULL);
			return 1;
		}
		if (r->comma_due) {
			r->comma_due = 0;
			set_piece(r, ",", 1, NULL);
			return 1;
		}
		if (piece_dumped(r, status_deployment_json(&r->s->deployments[r->next]), 0) < 0)
			return -1;
		r->next++;
		r->comma_due = 1;
		return 1;
	case TP_END:
		break;
	}
	return 0;
}

ssize_t status_text_read(struct status_text_reader *r, char *out, size_t max)
{
	size_t n = 0, k;
	int rc;

	if (r->failed)
		return -1;
	while (n < max) {
		if (r->off == r->len) {
			rc = next_piece(r);
			if (rc < 0) {
				r->failed = 1;
				return -1;
			}
			if (rc == 0)
				break;
			continue;
		}
		k = r->len - r->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, r->piece + r->off, k);
		r->off += k;
		n += k;
	}
	return (ssize_t)n;
}

void status_text_reader_free(struct status_text_reader *r)
{
	if (r == NULL)
		return;
	free(r->own);
	free(r);
}
