/* The status's note form (a summary line and a YAML document: written with libyaml's emitter, read with our bounded loader); the model is in status_model.c, the JSON form in status_json.c. */
#include "status/status.h"
#include "status/status_internal.h"

#include "buf.h"
#include "util.h"
#include "yaml_tree.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

#define NOTE_MAX (1u << 20)
/* A bound in an error's text, as the number it is defined as. */
#define STATUS_STR_(x) #x
#define STATUS_STR(x) STATUS_STR_(x)

/* Emitting: every scalar goes through libyaml, which quotes what needs quoting. */

struct emit {
	yaml_emitter_t em;
	struct buf out;
	int failed;
};

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
	struct emit *e = data;

	if (buf_append(&e->out, buffer, size) < 0) {
		e->failed = 1;
		return 0;
	}
	return 1;
}

static void emit_event(struct emit *e, yaml_event_t *ev)
{
	if (e->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&e->em, ev))
		e->failed = 1;
}

/* Strings that a YAML 1.1 reader would take for another type are quoted to stay strings. */
static int looks_typed(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n" };
	size_t i;
	char *end;

	if (*s == '\0')
		return 1;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	(void)strtod(s, &end);
	return *end == '\0';
}

static void emit_scalar(struct emit *e, const char *s, int force_quote)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (force_quote || looks_typed(s))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
					  style == YAML_ANY_SCALAR_STYLE, 1, style)) {
		e->failed = 1;
		return;
	}
	emit_event(e, &ev);
}

static void emit_key(struct emit *e, const char *k)
{
	emit_scalar(e, k, 0);
}

static void emit_str(struct emit *e, const char *k, const char *v)
{
	if (v == NULL)
		return;
	emit_key(e, k);
	emit_scalar(e, v, 0);
}

/* An error text from outside: bounded, valid UTF-8, escaped, free of URL credentials (text_bounded). */
static void emit_text(struct emit *e, const char *k, const char *v)
{
	char *t;

	if (v == NULL)
		return;
	t = text_bounded(v, TEXT_MAX);
	emit_str(e, k, t);
	free(t);
}

static void emit_long(struct emit *e, const char *k, long v)
{
	char n[32];
	yaml_event_t ev;

	snprintf(n, sizeof(n), "%ld", v);
	emit_key(e, k);
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)n, (int)strlen(n), 1, 0,
					  YAML_PLAIN_SCALAR_STYLE)) {
		e->failed = 1;
		return;
	}
	emit_event(e, &ev);
}

static void emit_time(struct emit *e, const char *k, int64_t ms)
{
	char t[40];

	if (ms <= 0 || status_format_time(ms, t, sizeof(t)) < 0)
		return;
	emit_key(e, k);
	emit_scalar(e, t, 0);
}

static void emit_mapping_start(struct emit *e)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
	emit_event(e, &ev);
}

static void emit_mapping_end(struct emit *e)
{
	yaml_event_t ev;

	yaml_mapping_end_event_initialize(&ev);
	emit_event(e, &ev);
}

/* The key k and the start of its block sequence, or (k NULL) the sequence's end. */
static void emit_sequence(struct emit *e, const char *k)
{
	yaml_event_t ev;

	if (k) {
		emit_key(e, k);
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
	} else {
		yaml_sequence_end_event_initialize(&ev);
	}
	emit_event(e, &ev);
}

/* A two-slot release's slots: "green: 1/1", ready against desired. */
static void emit_slots(struct emit *e, const struct status_deployment *d)
{
	size_t i;

	if (d->slots[0].name[0] == '\0')
		return;
	emit_key(e, "slots");
	emit_mapping_start(e);
	for (i = 0; i < ARRAY_SIZE(d->slots) && d->slots[i].name[0]; i++) {
		char v[48];

		snprintf(v, sizeof(v), "%ld/%ld", d->slots[i].ready, d->slots[i].desired);
		emit_str(e, d->slots[i].name, v);
	}
	emit_mapping_end(e);
}

/* What the release's analyses verified: each metric, its Job and figure, the value, the threshold, the verdict. */
static void emit_verifications(struct emit *e, const struct status_deployment *d)
{
	size_t i;

	if (d->nverifications == 0)
		return;
	emit_sequence(e, "verification");
	for (i = 0; i < d->nverifications; i++) {
		const struct status_verification *v = &d->verifications[i];

		emit_mapping_start(e);
		emit_text(e, "metric", v->metric);
		emit_text(e, "job", v->job);
		emit_text(e, "figure", v->figure);
		emit_text(e, "value", v->value);
		emit_text(e, "failIf", v->fail_if);
		emit_str(e, "verdict", v->verdict);
		emit_text(e, "reason", v->reason);
		emit_mapping_end(e);
	}
	emit_sequence(e, NULL);
}

/* An instance whose host the note gives: one it knows, and not the old container of a replica moved off it. */
static int host_shown(const struct status_instance *in)
{
	return in->host != NULL && (in->state == NULL || strcmp(in->state, "moved") != 0);
}

/* Each replica's host: "web-0: d1", the Docker endpoint it runs on. */
static void emit_hosts(struct emit *e, const struct status_deployment *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ninstances; i++)
		n += host_shown(&d->instances[i]);
	if (n == 0)
		return;
	emit_key(e, "hosts");
	emit_mapping_start(e);
	for (i = 0; i < d->ninstances; i++)
		if (host_shown(&d->instances[i]))
			emit_str(e, d->instances[i].name, d->instances[i].host);
	emit_mapping_end(e);
}

/* On a Swarm, each task's node: "web.1.x7f...: node-2". */
static void emit_nodes(struct emit *e, const struct status_deployment *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ninstances; i++)
		n += d->instances[i].node != NULL;
	if (n == 0)
		return;
	emit_key(e, "nodes");
	emit_mapping_start(e);
	for (i = 0; i < d->ninstances; i++)
		if (d->instances[i].node)
			emit_str(e, d->instances[i].name, d->instances[i].node);
	emit_mapping_end(e);
}

static void emit_deployment(struct emit *e, const struct status_deployment *d)
{
	emit_key(e, d->name);
	emit_mapping_start(e);
	emit_str(e, "role", d->role);
	emit_str(e, "phase", status_phase_name(d->phase));
	emit_str(e, "revision", d->revision);
	emit_long(e, "desired", d->desired);
	emit_long(e, "ready", d->ready);
	if (d->surge > 0)
		emit_long(e, "surge", d->surge);
	emit_long(e, "updated", d->updated);
	emit_long(e, "available", d->available);
	emit_long(e, "restarts", d->restarts);
	emit_str(e, "strategy", d->strategy);
	emit_str(e, "step", d->step);
	emit_str(e, "service", d->service);
	if (d->nconditions) {
		emit_sequence(e, "conditions");
		for (size_t i = 0; i < d->nconditions; i++) {
			const struct status_condition *c = &d->conditions[i];

			emit_mapping_start(e);
			emit_str(e, "type", c->type);
			emit_str(e, "status", c->status);
			emit_str(e, "reason", c->reason);
			emit_text(e, "message", c->message);
			emit_time(e, "lastTransitionTime", c->last_transition);
			emit_mapping_end(e);
		}
		emit_sequence(e, NULL);
	}
	emit_text(e, "lastError", d->last_error);
	emit_verifications(e, d);
	emit_time(e, "startedAt", d->started_at);
	emit_time(e, "finishedAt", d->finished_at);
	emit_slots(e, d);
	emit_hosts(e, d);
	emit_nodes(e, d);
	if (d->paused)
		emit_long(e, "paused", 1);
	if (d->action) {
		emit_str(e, "lastAction", d->action);
		emit_text(e, "lastActionBy", d->action_by);
		emit_text(e, "lastActionReason", d->action_reason);
		emit_time(e, "lastActionAt", d->action_at);
	}
	emit_mapping_end(e);
}

/* The next line of *p, bounded (text_bounded), and *p moved past it; NULL after the last. */
char *status_next_line(const char **p)
{
	const char *nl;
	char *line, *t;

	if (*p == NULL)
		return NULL;
	nl = strchr(*p, '\n');
	line = nl ? xstrndup(*p, (size_t)(nl - *p)) : xstrdup(*p);
	t = text_bounded(line, TEXT_MAX);
	free(line);
	*p = nl ? nl + 1 : NULL;
	return t;
}

/* What Git says: the head seen, the commit applied, the last good fetch, the last error and when. */
static void emit_source(struct emit *e, const struct fleet_status *s)
{
	const struct status_source *src = &s->source;

	if (!status_source_present(s))
		return;
	emit_key(e, "source");
	emit_mapping_start(e);
	emit_text(e, "head", src->head);
	emit_text(e, "applied", src->applied);
	emit_time(e, "lastFetchAt", src->fetched_at);
	emit_text(e, "lastError", s->source_error);
	emit_text(e, "lastFetchError", src->fetch_error);
	emit_time(e, "lastFetchErrorAt", src->fetch_error_at);
	emit_text(e, "environment", src->environment);
	emit_text(e, "promotion", src->promotion);
	emit_text(e, "approvedBy", src->approved_by);
	emit_time(e, "approvedAt", src->approved_at);
	emit_mapping_end(e);
}

/* Text of several lines as a list, one bounded line an item. */
static void emit_lines(struct emit *e, const char *k, const char *text)
{
	const char *p = text;
	char *t;

	if (text == NULL)
		return;
	emit_sequence(e, k);
	while ((t = status_next_line(&p)) != NULL) {
		emit_scalar(e, t, 0);
		free(t);
	}
	emit_sequence(e, NULL);
}

int status_render_note(const struct fleet_status *s, char **out, struct error **err)
{
	struct emit e;
	yaml_event_t ev;
	long ready, desired, surge = 0;
	size_t i;
	int r = 0;

	memset(&e, 0, sizeof(e));
	buf_init(&e.out, NOTE_MAX);
	status_counts(s, &ready, &desired);
	/* The summary line is ours: a stray newline in the detail must not start the YAML early. */
	buf_printf(&e.out, "auriga: %s %ld/%ld ready", status_phase_name(s->phase), ready, desired);
	for (i = 0; i < s->ndeployments; i++)
		surge += s->deployments[i].surge;
	if (surge > 0)
		buf_printf(&e.out, ", %ld surge", surge);
	if (s->summary && *s->summary) {
		buf_puts(&e.out, ", ");
		for (i = 0; s->summary[i]; i++)
			buf_putc(&e.out, s->summary[i] == '\n' || s->summary[i] == '\r' ? ' ' : s->summary[i]);
	}
	buf_puts(&e.out, "\n\n");

	if (!yaml_emitter_initialize(&e.em)) {
		r = error_set(err, ERR_GENERIC, "cannot start the YAML emitter");
		goto out;
	}
	yaml_emitter_set_output(&e.em, emit_write, &e);
	yaml_emitter_set_unicode(&e.em, 1);
	yaml_emitter_set_width(&e.em, -1);
	yaml_emitter_set_indent(&e.em, 2);

	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit_event(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit_event(&e, &ev);
	emit_mapping_start(&e);
	emit_str(&e, "commit", s->commit);
	emit_str(&e, "phase", status_phase_name(s->phase));
	emit_long(&e, "ready", ready);
	emit_long(&e, "desired", desired);
	emit_str(&e, "summary", s->summary);
	emit_time(&e, "observedAt", s->observed_at);
	emit_text(&e, "supersededBy", s->superseded_by);
	emit_source(&e, s);
	emit_lines(&e, "problems", s->problems);
	emit_key(&e, "deployments");
	if (s->ndeployments == 0) {
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_MAPPING_STYLE);
		emit_event(&e, &ev);
		emit_mapping_end(&e);
	} else {
		emit_mapping_start(&e);
		for (i = 0; i < s->ndeployments; i++)
			emit_deployment(&e, &s->deployments[i]);
		emit_mapping_end(&e);
	}
	emit_mapping_end(&e);
	yaml_document_end_event_initialize(&ev, 1);
	emit_event(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit_event(&e, &ev);
	if (!e.failed && !yaml_emitter_flush(&e.em))
		e.failed = 1;
	if (e.failed) {
		r = error_set(err, e.em.error ? ERR_INVALID : ERR_TOOBIG, "cannot render the status note: %s",
			      e.em.problem ? e.em.problem : "larger than 1 MiB");
		goto out;
	}
	if (e.out.len && e.out.data[e.out.len - 1] != '\n')
		buf_putc(&e.out, '\n');
	*out = buf_detach(&e.out, NULL);
out:
	yaml_emitter_delete(&e.em);
	buf_release(&e.out);
	return r;
}

/*
 * Parsing: notes come from the remote, so they go through our bounded loader
 * (depth, aliases, nodes with aliases expanded, sizes), then a walk over the
 * nodes we know. Lines in messages count the summary line: the YAML starts on
 * line 2 of the note.
 */

/* A note has a handful of levels and one entry per deployment; these leave room for any real fleet. */
static const struct ytree_limits note_limits = {
	.max_depth = 16,
	.max_aliases = 64,
	.max_nodes = 200000,
	.max_scalar = 64 * 1024,
	.max_document = NOTE_MAX,
	.max_file = NOTE_MAX,
	.max_documents = 4,
};

struct parse {
	struct error **err;
	int r;
};

static int perr(struct parse *p, const struct ynode *n, const char *what)
{
	if (p->r == 0)
		p->r = error_set(p->err, ERR_INVALID, "status note line %d: %s", n->line + 1, what);
	return p->r;
}

/* The text of a scalar of any resolved type (a revision of digits reads as an integer). */
static const char *scalar(struct parse *p, const struct ynode *n, const char *field)
{
	if (n->type != YNODE_SCALAR) {
		char msg[128];

		snprintf(msg, sizeof(msg), "'%s' must be a scalar", field);
		perr(p, n, msg);
		return NULL;
	}
	return n->str;
}

/* One field of a note's mapping: its key, how its scalar reads, and where it goes in the struct. */
enum field_type { F_STR, F_LONG, F_TIME, F_PHASE };

struct field {
	const char *key;
	enum field_type type;
	size_t off;
};

#define FIELD(st, key, type, member) { key, type, offsetof(struct st, member) }

static const struct field condition_fields[] = {
	FIELD(status_condition, "type", F_STR, type),
	FIELD(status_condition, "status", F_STR, status),
	FIELD(status_condition, "reason", F_STR, reason),
	FIELD(status_condition, "message", F_STR, message),
	FIELD(status_condition, "lastTransitionTime", F_TIME, last_transition),
};

static const struct field deployment_fields[] = {
	FIELD(status_deployment, "role", F_STR, role),
	FIELD(status_deployment, "phase", F_PHASE, phase),
	FIELD(status_deployment, "revision", F_STR, revision),
	FIELD(status_deployment, "desired", F_LONG, desired),
	FIELD(status_deployment, "ready", F_LONG, ready),
	FIELD(status_deployment, "updated", F_LONG, updated),
	FIELD(status_deployment, "available", F_LONG, available),
	FIELD(status_deployment, "restarts", F_LONG, restarts),
	FIELD(status_deployment, "strategy", F_STR, strategy),
	FIELD(status_deployment, "step", F_STR, step),
	FIELD(status_deployment, "service", F_STR, service),
	FIELD(status_deployment, "lastError", F_STR, last_error),
	FIELD(status_deployment, "startedAt", F_TIME, started_at),
	FIELD(status_deployment, "finishedAt", F_TIME, finished_at),
	FIELD(status_deployment, "surge", F_LONG, surge),
	FIELD(status_deployment, "paused", F_LONG, paused),
	FIELD(status_deployment, "lastAction", F_STR, action),
	FIELD(status_deployment, "lastActionBy", F_STR, action_by),
	FIELD(status_deployment, "lastActionReason", F_STR, action_reason),
	FIELD(status_deployment, "lastActionAt", F_TIME, action_at),
};

static const struct field verification_fields[] = {
	FIELD(status_verification, "metric", F_STR, metric),
	FIELD(status_verification, "job", F_STR, job),
	FIELD(status_verification, "figure", F_STR, figure),
	FIELD(status_verification, "value", F_STR, value),
	FIELD(status_verification, "failIf", F_STR, fail_if),
	FIELD(status_verification, "verdict", F_STR, verdict),
	FIELD(status_verification, "reason", F_STR, reason),
};

static const struct field root_fields[] = {
	FIELD(fleet_status, "commit", F_STR, commit),
	FIELD(fleet_status, "phase", F_PHASE, phase),
	FIELD(fleet_status, "summary", F_STR, summary),
	FIELD(fleet_status, "observedAt", F_TIME, observed_at),
	FIELD(fleet_status, "supersededBy", F_STR, superseded_by),
};

static const struct field source_fields[] = {
	FIELD(fleet_status, "head", F_STR, source.head),
	FIELD(fleet_status, "applied", F_STR, source.applied),
	FIELD(fleet_status, "lastFetchAt", F_TIME, source.fetched_at),
	FIELD(fleet_status, "lastError", F_STR, source_error),
	FIELD(fleet_status, "lastFetchError", F_STR, source.fetch_error),
	FIELD(fleet_status, "lastFetchErrorAt", F_TIME, source.fetch_error_at),
	FIELD(fleet_status, "environment", F_STR, source.environment),
	FIELD(fleet_status, "promotion", F_STR, source.promotion),
	FIELD(fleet_status, "approvedBy", F_STR, source.approved_by),
	FIELD(fleet_status, "approvedAt", F_TIME, source.approved_at),
};

/* Reads the scalar n into the field; a value of the wrong form fails the parse with its line. */
static void set_field(struct parse *p, const struct ynode *n, const struct field *f, void *base)
{
	const char *v = scalar(p, n, f->key);
	void *dst = (char *)base + f->off;
	const char *bad = NULL;

	if (v == NULL)
		return;
	switch (f->type) {
	case F_STR:
		str_set(dst, v);
		break;
	case F_LONG:
		if (parse_long(v, 0, 1L << 30, dst) < 0)
			bad = "must be a count";
		break;
	case F_TIME:
		if (status_parse_time(v, dst) < 0)
			bad = "must be an RFC 3339 UTC time";
		break;
	case F_PHASE:
		if (status_phase_parse(v, dst) < 0)
			perr(p, n, "unknown phase");
		break;
	}
	if (bad) {
		char msg[128];

		snprintf(msg, sizeof(msg), "'%s' %s", f->key, bad);
		perr(p, n, msg);
	}
}

/* Called for a key the table does not name; 0 to go on, -1 to stop reading the mapping. */
typedef int (*other_fn)(struct parse *p, const char *key, const struct ynode *v, void *base);

/* Reads the keys of the mapping n that fields names into base; keys of later versions are skipped. */
static void read_fields(struct parse *p, const struct ynode *n, const struct field *fields, size_t nf, void *base,
			other_fn other)
{
	size_t i, k;

	for (i = 0; i + 1 < n->n && !p->r; i += 2) {
		const char *key = scalar(p, n->kids[i], "key");

		if (key == NULL)
			break;
		for (k = 0; k < nf && strcmp(key, fields[k].key) != 0; k++)
			;
		if (k < nf)
			set_field(p, n->kids[i + 1], &fields[k], base);
		else if (other && other(p, key, n->kids[i + 1], base) < 0)
			break;
	}
}

static void parse_condition(struct parse *p, const struct ynode *n, struct status_deployment *d)
{
	if (n->type != YNODE_MAP) {
		perr(p, n, "a condition must be a mapping");
		return;
	}
	read_fields(p, n, condition_fields, ARRAY_SIZE(condition_fields), status_add_condition(d, ""), NULL);
}

/* slots: {green: 1/1, blue: 4/4}; a third slot or a count that is not "ready/desired" is an error. */
static int parse_slots(struct parse *p, const struct ynode *v, struct status_deployment *d)
{
	size_t j, k = 0;

	if (v->type != YNODE_MAP)
		return perr(p, v, "'slots' must be a mapping");
	for (j = 0; j + 1 < v->n && !p->r; j += 2, k++) {
		const char *name = scalar(p, v->kids[j], "slots"), *val = scalar(p, v->kids[j + 1], "slots");
		struct status_slot *sl;
		char *end = NULL, *end2 = NULL;

		if (name == NULL || val == NULL)
			break;
		if (k >= ARRAY_SIZE(d->slots) || (strcmp(name, "blue") != 0 && strcmp(name, "green") != 0))
			return perr(p, v->kids[j], "'slots' names blue and green only");
		sl = &d->slots[k];
		errno = 0;
		sl->ready = strtol(val, &end, 10);
		if (end != val && *end == '/')
			sl->desired = strtol(end + 1, &end2, 10);
		if (end == val || *end != '/' || end2 == end + 1 || end2 == NULL || *end2 != '\0' || errno != 0 ||
		    sl->ready < 0 || sl->desired < 0)
			return perr(p, v->kids[j + 1], "a slot's count must be ready/desired");
		snprintf(sl->name, sizeof(sl->name), "%s", name);
	}
	return 0;
}

/* verification: a list of mappings, at most STATUS_VERIFICATIONS_MAX. */
static int parse_verifications(struct parse *p, const struct ynode *v, struct status_deployment *d)
{
	size_t j;

	if (v->type != YNODE_SEQ)
		return perr(p, v, "'verification' must be a list");
	if (v->n > STATUS_VERIFICATIONS_MAX)
		return perr(p, v, "'verification' names more than " STATUS_STR(STATUS_VERIFICATIONS_MAX) " metrics");
	for (j = 0; j < v->n && !p->r; j++) {
		if (v->kids[j]->type != YNODE_MAP)
			return perr(p, v->kids[j], "a verification must be a mapping");
		read_fields(p, v->kids[j], verification_fields, ARRAY_SIZE(verification_fields),
			    status_add_verification(d, NULL), NULL);
	}
	return p->r;
}

/* hosts: each replica's Docker endpoint, read back as instances that know their host alone. */
static int parse_hosts(struct parse *p, const struct ynode *v, struct status_deployment *d)
{
	size_t j;

	if (v->type != YNODE_MAP)
		return perr(p, v, "'hosts' must be a mapping");
	if (v->n / 2 > STATUS_HOSTS_MAX)
		return perr(p, v, "'hosts' names more than " STATUS_STR(STATUS_HOSTS_MAX) " replicas");
	for (j = 0; j + 1 < v->n && !p->r; j += 2) {
		const char *host = scalar(p, v->kids[j + 1], "hosts");

		if (host)
			str_set(&status_add_instance(d, v->kids[j]->str)->host, host);
	}
	return p->r;
}

/* nodes: each task's Swarm node, on the instance hosts named, or a new one. */
static int parse_nodes(struct parse *p, const struct ynode *v, struct status_deployment *d)
{
	size_t i, j;

	if (v->type != YNODE_MAP)
		return perr(p, v, "'nodes' must be a mapping");
	if (v->n / 2 > STATUS_HOSTS_MAX)
		return perr(p, v, "'nodes' names more than " STATUS_STR(STATUS_HOSTS_MAX) " replicas");
	for (j = 0; j + 1 < v->n && !p->r; j += 2) {
		const char *node = scalar(p, v->kids[j + 1], "nodes");
		struct status_instance *in = NULL;

		if (node == NULL)
			continue;
		for (i = 0; i < d->ninstances && in == NULL; i++)
			if (strcmp(d->instances[i].name, v->kids[j]->str) == 0)
				in = &d->instances[i];
		str_set(&(in ? in : status_add_instance(d, v->kids[j]->str))->node, node);
	}
	return p->r;
}

static int deployment_other(struct parse *p, const char *key, const struct ynode *v, void *base)
{
	size_t j;

	if (strcmp(key, "slots") == 0)
		return parse_slots(p, v, base) < 0 ? -1 : 0;
	if (strcmp(key, "verification") == 0)
		return parse_verifications(p, v, base) < 0 ? -1 : 0;
	if (strcmp(key, "hosts") == 0)
		return parse_hosts(p, v, base) < 0 ? -1 : 0;
	if (strcmp(key, "nodes") == 0)
		return parse_nodes(p, v, base) < 0 ? -1 : 0;
	if (strcmp(key, "conditions") != 0)
		return 0;
	if (v->type != YNODE_SEQ)
		return perr(p, v, "'conditions' must be a list");
	for (j = 0; j < v->n && !p->r; j++)
		parse_condition(p, v->kids[j], base);
	return 0;
}

static void parse_deployment(struct parse *p, const char *name, const struct ynode *n, struct fleet_status *s)
{
	if (n->type != YNODE_MAP) {
		perr(p, n, "a deployment must be a mapping");
		return;
	}
	read_fields(p, n, deployment_fields, ARRAY_SIZE(deployment_fields), status_add_deployment(s, name),
		    deployment_other);
}

/* A list of scalars as one text, an item a line (a Refused note's problems). */
static int parse_lines(struct parse *p, const struct ynode *v, char **out)
{
	struct buf b = BUF_INIT_MAX(NOTE_MAX);
	size_t j;

	if (v->type != YNODE_SEQ)
		return perr(p, v, "'problems' must be a list");
	for (j = 0; j < v->n && !p->r; j++) {
		const char *line = scalar(p, v->kids[j], "problems");

		if (line && buf_printf(&b, "%s%s", j ? "\n" : "", line) < 0)
			perr(p, v, "'problems' is too long");
	}
	free(*out);
	*out = buf_detach(&b, NULL);
	buf_release(&b);
	return p->r;
}

static int root_other(struct parse *p, const char *key, const struct ynode *v, void *base)
{
	size_t j;

	if (strcmp(key, "source") == 0 && v->type == YNODE_MAP)
		read_fields(p, v, source_fields, ARRAY_SIZE(source_fields), base, NULL);
	if (strcmp(key, "problems") == 0)
		return parse_lines(p, v, &((struct fleet_status *)base)->problems);
	if (strcmp(key, "deployments") != 0)
		return 0;
	if (v->type != YNODE_MAP)
		return perr(p, v, "'deployments' must be a mapping");
	for (j = 0; j + 1 < v->n && !p->r; j += 2) {
		const char *name = scalar(p, v->kids[j], "name");

		if (name)
			parse_deployment(p, name, v->kids[j + 1], base);
	}
	return 0;
}

static void parse_root(struct parse *p, const struct ynode *root, struct fleet_status *s)
{
	if (root == NULL || root->type != YNODE_MAP) {
		if (p->r == 0)
			p->r = error_set(p->err, ERR_INVALID, "status note: the document is not a mapping");
		return;
	}
	read_fields(p, root, root_fields, ARRAY_SIZE(root_fields), s, root_other);
}

int status_parse_note(struct fleet_status *out, const char *text, size_t len, struct error **err)
{
	struct ytree t;
	struct ytree_error yerr;
	struct parse p;
	const char *nl;
	size_t off;

	status_init(out);
	memset(&p, 0, sizeof(p));
	p.err = err;
	if (len > NOTE_MAX)
		return error_set(err, ERR_TOOBIG, "status note: %zu bytes, more than 1 MiB", len);
	if (len < 8 || strncmp(text, "auriga: ", 8) != 0)
		return error_set(err, ERR_INVALID, "status note: the first line does not start with 'auriga: '");
	nl = memchr(text, '\n', len);
	off = nl ? (size_t)(nl - text) + 1 : len;
	memset(&yerr, 0, sizeof(yerr));
	if (ytree_parse(&t, "status note", text + off, len - off, &note_limits, &yerr) < 0) {
		if (yerr.line > 0)
			p.r = error_set(err, ERR_INVALID, "status note line %d: %s", yerr.line + 1, yerr.msg);
		else
			p.r = error_set(err, ERR_INVALID, "status note: %s", yerr.msg);
		ytree_release(&t);
		return p.r;
	}
	/* Only the first document is the status; a note without one is not a mapping either. */
	parse_root(&p, t.n_docs > 0 ? t.docs[0].root : NULL, out);
	ytree_release(&t);
	if (p.r)
		status_release(out);
	return p.r;
}
