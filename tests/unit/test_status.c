/* Unit tests for the status model: note rendering and parsing round trips, hostile strings, JSON, times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "status/status.h"
#include "testmain.h"
#include "util.h"

static void fill(struct fleet_status *s)
{
	struct status_deployment *d;
	struct status_condition *c;

	status_init(s);
	s->commit = xstrdup("3f2c1a0000000000000000000000000000000000");
	s->summary = xstrdup("phase business (2 of 3)\nrolling business-2 5/7");
	s->phase = STATUS_PROGRESSING;
	s->observed_at = 1767225600123LL;
	s->source_error = xstrdup("cannot connect to 'ssh://git@example': timed out");
	d = status_add_deployment(s, "slim");
	d->role = xstrdup("slim");
	d->phase = STATUS_HEALTHY;
	d->revision = xstrdup("9a41");
	d->desired = d->ready = d->updated = d->available = 5;
	d = status_add_deployment(s, "business-2");
	d->role = xstrdup("business");
	d->phase = STATUS_PROGRESSING;
	d->desired = 7;
	d->ready = 5;
	d->restarts = 2;
	d->strategy = xstrdup("Rolling");
	d->step = xstrdup("replacing business-2-5: \"quoted\" # not a comment");
	d->last_error = xstrdup("true");
	d->started_at = 1767225500000LL;
	c = status_add_condition(d, "Ready");
	c->status = xstrdup("False");
	c->reason = xstrdup("ProbeFailed");
	c->message = xstrdup("GET /q/health/ready: 503\n- key: injected");
	c->last_transition = 1767225590000LL;
}

static void note_round_trip(void **state)
{
	struct fleet_status s, back;
	char *text = NULL;

	(void)state;
	fill(&s);
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	/* The first line is the human summary, its newline flattened. */
	assert_true(str_has_prefix(text, "auriga: Progressing 10/12 ready, phase business (2 of 3) rolling business-2 5/7\n\n"));
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_string_equal(back.commit, s.commit);
	assert_string_equal(back.summary, s.summary);
	assert_int_equal(back.phase, STATUS_PROGRESSING);
	assert_int_equal(back.observed_at, s.observed_at);
	assert_string_equal(back.source_error, s.source_error);
	assert_int_equal(back.ndeployments, 2);
	assert_string_equal(back.deployments[1].name, "business-2");
	assert_string_equal(back.deployments[1].step, s.deployments[1].step);
	assert_string_equal(back.deployments[1].last_error, "true");
	assert_int_equal(back.deployments[1].ready, 5);
	assert_int_equal(back.deployments[1].desired, 7);
	assert_int_equal(back.deployments[1].restarts, 2);
	assert_int_equal(back.deployments[0].restarts, 0);
	assert_int_equal(back.deployments[1].started_at, 1767225500000LL);
	assert_int_equal(back.deployments[1].nconditions, 1);
	assert_string_equal(back.deployments[1].conditions[0].status, "False");
	/* An error text is noted with its control characters escaped (text_bounded). */
	assert_string_equal(back.deployments[1].conditions[0].message, "GET /q/health/ready: 503\\n- key: injected");
	/* A string that looks like a boolean stays a quoted string in the YAML. */
	assert_non_null(strstr(text, "lastError: \"true\""));
	free(text);
	status_release(&back);
	status_release(&s);
}

/* A surge, a pause and the last release control asked by hand: on the first line, in the note and back. */
static void note_release_control(void **state)
{
	struct fleet_status s, back;
	struct status_deployment *d;
	char *text = NULL;
	json_t *j;

	(void)state;
	status_init(&s);
	s.commit = xstrdup("c0ffee");
	s.phase = STATUS_ABORTED;
	d = status_add_deployment(&s, "web");
	d->phase = STATUS_ABORTED;
	d->desired = d->ready = 5;
	d->surge = 1;
	d->paused = 1;
	d->action = xstrdup("abort");
	d->action_by = xstrdup("alice");
	d->action_reason = xstrdup("p99 too high\n- injected: 1");
	d->action_at = 1767225600000LL;
	/* A canary midway: each slot's containers, ready against desired. */
	snprintf(d->slots[0].name, sizeof(d->slots[0].name), "green");
	d->slots[0].ready = 1;
	d->slots[0].desired = 2;
	snprintf(d->slots[1].name, sizeof(d->slots[1].name), "blue");
	d->slots[1].ready = d->slots[1].desired = 4;
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	assert_true(str_has_prefix(text, "auriga: Aborted 5/5 ready, 1 surge\n\n"));
	assert_non_null(strstr(text, "slots:\n      green: 1/2\n      blue: 4/4\n"));
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_int_equal(back.phase, STATUS_ABORTED);
	assert_int_equal(back.deployments[0].phase, STATUS_ABORTED);
	assert_int_equal(back.deployments[0].surge, 1);
	assert_int_equal(back.deployments[0].paused, 1);
	assert_non_null(back.deployments[0].action);
	assert_non_null(back.deployments[0].action_by);
	assert_non_null(back.deployments[0].action_reason);
	assert_string_equal(back.deployments[0].action, "abort");
	assert_string_equal(back.deployments[0].action_by, "alice");
	assert_string_equal(back.deployments[0].action_reason, "p99 too high\\n- injected: 1");
	assert_int_equal(back.deployments[0].action_at, 1767225600000LL);
	assert_string_equal(back.deployments[0].slots[0].name, "green");
	assert_int_equal(back.deployments[0].slots[0].ready, 1);
	assert_int_equal(back.deployments[0].slots[0].desired, 2);
	assert_string_equal(back.deployments[0].slots[1].name, "blue");
	assert_int_equal(back.deployments[0].slots[1].desired, 4);
	j = status_to_json(&s);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(json_array_get(
				 json_object_get(j, "deployments"), 0), "slots"), 0), "desired")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
				    json_object_get(j, "deployments"), 0), "lastAction"), "by")), "alice");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "deployments"), 0), "paused")));
	json_decref(j);
	free(text);
	status_release(&back);
	status_release(&s);
}

/* Each replica's host goes into the note and comes back, for auriga status to show. */
static void note_hosts(void **state)
{
	static const char bad[] = "auriga: X\n\ndeployments:\n  a:\n    hosts: [d1]\n";
	struct fleet_status s, back;
	struct status_deployment *d;
	struct error *err = NULL;
	char *text = NULL;

	(void)state;
	status_init(&s);
	status_init(&back);
	s.commit = xstrdup("c0ffee");
	d = status_add_deployment(&s, "validators");
	d->desired = d->ready = 2;
	str_set(&status_add_instance(d, "validators-0")->host, "d1");
	str_set(&status_add_instance(d, "validators-1")->host, "d2");
	status_add_instance(d, "validators-2");	/* no host known: left out */
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	assert_non_null(strstr(text, "hosts:\n      validators-0: d1\n      validators-1: d2\n"));
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_int_equal(back.deployments[0].ninstances, 2);
	assert_string_equal(back.deployments[0].instances[0].name, "validators-0");
	assert_string_equal(back.deployments[0].instances[0].host, "d1");
	assert_string_equal(back.deployments[0].instances[1].host, "d2");
	free(text);
	status_release(&back);
	status_init(&back);
	assert_int_equal(status_parse_note(&back, bad, strlen(bad), &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "'hosts' must be a mapping"));
	error_free(err);
	status_release(&back);
	/* A note is read from the notes ref anyone with push access writes: its hosts are bounded. */
	{
		struct buf b = BUF_INIT_MAX(1u << 20);
		int i;

		assert_int_equal(buf_printf(&b, "auriga: X\n\ndeployments:\n  a:\n    hosts:\n"), 0);
		for (i = 0; i <= STATUS_HOSTS_MAX; i++)
			assert_int_equal(buf_printf(&b, "      a-%d: d1\n", i), 0);
		err = NULL;
		status_init(&back);
		assert_int_equal(status_parse_note(&back, b.data, b.len, &err), ERR_INVALID);
		assert_non_null(strstr(error_msg(err), "'hosts' names more than 1000 replicas"));
		error_free(err);
		status_release(&back);
		buf_release(&b);
	}
	status_release(&s);
}

/*
 * On a Swarm: the service a deployment runs as and each task's node go into
 * the note and come back; the status's JSON gives the nodes and the tasks
 * Swarm moved, the latest STATUS_MOVES_MAX of them, and a copy keeps them.
 */
static void swarm_fields(void **state)
{
	struct fleet_status s, back, copy;
	struct status_deployment *d;
	struct status_node *n;
	struct status_move *m;
	char *text = NULL;
	json_t *j, *o;
	int i;

	(void)state;
	status_init(&s);
	status_init(&back);
	s.commit = xstrdup("c0ffee");
	d = status_add_deployment(&s, "web");
	d->desired = d->ready = 2;
	d->service = xstrdup("t1-web");
	str_set(&status_add_instance(d, "t1-web.1.abc")->node, "node-1");
	str_set(&status_add_instance(d, "t1-web.2.def")->node, "node-2");
	assert_int_equal(status_render_note(&s, &text, NULL), 0);
	assert_non_null(strstr(text, "service: t1-web\n"));
	assert_non_null(strstr(text, "nodes:\n      t1-web.1.abc: node-1\n      t1-web.2.def: node-2\n"));
	assert_int_equal(status_parse_note(&back, text, strlen(text), NULL), 0);
	assert_string_equal(back.deployments[0].service, "t1-web");
	assert_int_equal(back.deployments[0].ninstances, 2);
	assert_string_equal(back.deployments[0].instances[1].name, "t1-web.2.def");
	assert_string_equal(back.deployments[0].instances[1].node, "node-2");
	free(text);
	status_release(&back);
	n = status_add_node(&s, "node-2");
	n->state = xstrdup("down");
	n->address = xstrdup("10.0.0.3");
	n->tasks = 0;
	n = status_add_node(&s, "node-1");
	n->state = xstrdup("ready");
	n->tasks = 2;
	for (i = 0; i < STATUS_MOVES_MAX + 3; i++) {
		char task[32];

		snprintf(task, sizeof(task), "t1-web.%d", i);
		m = status_add_move(&s, "web", task);
		m->from = xstrdup("node-2");
		m->to = xstrdup("node-1");
		m->reason = xstrdup("node down");
		m->at = 1000 + i;
	}
	assert_int_equal(s.nmoves, STATUS_MOVES_MAX);
	assert_string_equal(s.moves[0].task, "t1-web.3");
	status_copy(&copy, &s);
	j = status_to_json(&copy);
	o = json_array_get(json_object_get(j, "nodes"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "node-2");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "down");
	assert_string_equal(json_string_value(json_object_get(o, "address")), "10.0.0.3");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "nodes"), 1), "tasks")), 2);
	o = json_array_get(json_object_get(j, "moves"), STATUS_MOVES_MAX - 1);
	assert_string_equal(json_string_value(json_object_get(o, "task")), "t1-web.34");
	assert_string_equal(json_string_value(json_object_get(o, "from")), "node-2");
	assert_string_equal(json_string_value(json_object_get(o, "to")), "node-1");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "node down");
	o = json_array_get(json_object_get(j, "deployments"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "service")), "t1-web");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(o, "instances"), 0), "node")),
			    "node-1");
	json_decref(j);
	status_release(&copy);
	/* Plain containers: no nodes, no moves, no service in the JSON. */
	status_init(&back);
	status_add_deployment(&back, "web");
	j = status_to_json(&back);
	assert_null(json_object_get(j, "nodes"));
	assert_null(json_object_get(j, "moves"));
	assert_null(json_object_get(json_array_get(json_object_get(j, "deployments"), 0), "service"));
	json_decref(j);
	status_release(&back);
	status_release(&s);
}

/* Every field a note can carry lands in its own place: each holds a value no other field has. */
static void parse_every_field(void **state)
{
	static const char note[] =
		"auriga: Degraded 2/3 ready\n\n"
		"commit: c0ffee\nphase: Degraded\nsummary: sum\nobservedAt: 2026-01-01T00:00:01.000Z\n"
		"source: {lastError: src-err, later: ignored}\n"
		"unknownKey: skipped\n"
		"deployments:\n"
		"  d1:\n"
		"    role: validator\n    phase: RolledBack\n    revision: abcdef\n"
		"    desired: 11\n    ready: 12\n    updated: 13\n    available: 14\n    restarts: 15\n"
		"    strategy: Canary\n    step: stepping\n    lastError: oops\n"
		"    startedAt: 2026-01-01T00:00:02.000Z\n    finishedAt: 2026-01-01T00:00:03.000Z\n"
		"    conditions:\n"
		"      - {type: Available, status: \"False\", reason: Why, message: msg,"
		" lastTransitionTime: 2026-01-01T00:00:04.000Z}\n";
	struct fleet_status s;
	struct error *err = NULL;
	const struct status_deployment *d;
	const struct status_condition *c;
	int64_t t0 = 0;

	(void)state;
	assert_int_equal(status_parse_time("2026-01-01T00:00:00.000Z", &t0), 0);
	assert_int_equal(status_parse_note(&s, note, strlen(note), &err), 0);
	assert_string_equal(s.commit, "c0ffee");
	assert_int_equal(s.phase, STATUS_DEGRADED);
	assert_string_equal(s.summary, "sum");
	assert_int_equal(s.observed_at, t0 + 1000);
	assert_string_equal(s.source_error, "src-err");
	assert_int_equal(s.ndeployments, 1);
	d = &s.deployments[0];
	assert_string_equal(d->name, "d1");
	assert_string_equal(d->role, "validator");
	assert_int_equal(d->phase, STATUS_ROLLEDBACK);
	assert_string_equal(d->revision, "abcdef");
	assert_int_equal(d->desired, 11);
	assert_int_equal(d->ready, 12);
	assert_int_equal(d->updated, 13);
	assert_int_equal(d->available, 14);
	assert_int_equal(d->restarts, 15);
	assert_string_equal(d->strategy, "Canary");
	assert_string_equal(d->step, "stepping");
	assert_string_equal(d->last_error, "oops");
	assert_int_equal(d->started_at, t0 + 2000);
	assert_int_equal(d->finished_at, t0 + 3000);
	assert_int_equal(d->nconditions, 1);
	c = &d->conditions[0];
	assert_string_equal(c->type, "Available");
	assert_string_equal(c->status, "False");
	assert_string_equal(c->reason, "Why");
	assert_string_equal(c->message, "msg");
	assert_int_equal(c->last_transition, t0 + 4000);
	status_release(&s);
}

static void parse_errors(void **state)
{
	struct fleet_status s;
	struct error *err = NULL;
	static const char bad_phase[] = "auriga: X 0/0 ready\n\nphase: Sideways\n";
	static const char bad_count[] = "auriga: X\n\ndeployments:\n  a:\n    ready: many\n";
	static const char bad_slot[] = "auriga: X\n\ndeployments:\n  a:\n    slots: {green: 1/x}\n";
	static const char bad_slot_name[] = "auriga: X\n\ndeployments:\n  a:\n    slots: {red: 1/1}\n";

	(void)state;
	assert_int_equal(status_parse_note(&s, "hello\n", 6, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "first line"));
	error_clear(&err);
	assert_int_equal(status_parse_note(&s, bad_phase, strlen(bad_phase), &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "unknown phase"));
	error_clear(&err);
	assert_int_equal(status_parse_note(&s, bad_slot, strlen(bad_slot), &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "ready/desired"));
	error_clear(&err);
	assert_int_equal(status_parse_note(&s, bad_slot_name, strlen(bad_slot_name), &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "blue and green only"));
	error_clear(&err);
	assert_int_equal(status_parse_note(&s, bad_count, strlen(bad_count), &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "line 5"));
	assert_non_null(strstr(error_msg(err), "'ready' must be a count"));
	error_clear(&err);
}

/* Notes come from the remote: hostile ones are refused with a message, quickly and without a crash. */
static void hostile_notes(void **state)
{
	struct fleet_status s;
	struct error *err = NULL;
	struct buf b = BUF_INIT_MAX(4u << 20);
	static const char aliases_ok[] = "auriga: Healthy 1/1 ready\n\n"
					 "x: &common {status: \"True\", reason: Fine}\n"
					 "deployments:\n"
					 "  a: {phase: Healthy, revision: 1234, conditions: [*common, *common]}\n";
	int i, j;

	(void)state;
	/* Deep nesting: 5000 open brackets. */
	assert_int_equal(buf_puts(&b, "auriga: X\n\ndeployments:\n  a: "), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_putc(&b, '['), 0);
	assert_int_equal(status_parse_note(&s, b.data, b.len, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "line 4"));
	assert_non_null(strstr(error_msg(err), "nesting deeper than the limit"));
	error_clear(&err);

	/* An alias bomb within the alias count: 8 aliases per level, 7 levels, 8^7 nodes expanded. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "auriga: X\n\nl0: &l0 [x, x, x, x, x, x, x, x]\n"), 0);
	for (i = 1; i < 8; i++) {
		assert_int_equal(buf_printf(&b, "l%d: &l%d [", i, i), 0);
		for (j = 0; j < 8; j++)
			assert_int_equal(buf_printf(&b, "%s*l%d", j ? ", " : "", i - 1), 0);
		assert_int_equal(buf_puts(&b, "]\n"), 0);
	}
	assert_int_equal(status_parse_note(&s, b.data, b.len, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "alias expansion"));
	error_clear(&err);

	/* Many cheap aliases. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "auriga: X\n\na: &a x\nb: ["), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_puts(&b, "*a, "), 0);
	assert_int_equal(buf_puts(&b, "*a]\n"), 0);
	assert_int_equal(status_parse_note(&s, b.data, b.len, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "aliases"));
	error_clear(&err);

	/* A huge scalar under the note's size bound, then a note over it. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "auriga: X\n\ncommit: "), 0);
	for (i = 0; i < 200000; i++)
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(buf_putc(&b, '\n'), 0);
	assert_int_equal(status_parse_note(&s, b.data, b.len, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "larger than the limit"));
	error_clear(&err);
	for (i = 0; i < (1 << 20); i++)
		assert_int_equal(buf_putc(&b, '#'), 0);
	assert_int_equal(status_parse_note(&s, b.data, b.len, &err), ERR_TOOBIG);
	assert_non_null(strstr(error_msg(err), "more than 1 MiB"));
	error_clear(&err);

	/* A few aliases are still YAML we read; a revision of digits stays text. */
	assert_int_equal(status_parse_note(&s, aliases_ok, strlen(aliases_ok), &err), 0);
	assert_int_equal(s.ndeployments, 1);
	assert_string_equal(s.deployments[0].revision, "1234");
	assert_int_equal(s.deployments[0].nconditions, 2);
	assert_string_equal(s.deployments[0].conditions[1].reason, "Fine");
	status_release(&s);
	buf_release(&b);
}

static void json_form(void **state)
{
	struct fleet_status s;
	json_t *j;

	(void)state;
	fill(&s);
	j = status_to_json(&s);
	assert_string_equal(json_string_value(json_object_get(j, "phase")), "Progressing");
	assert_int_equal(json_integer_value(json_object_get(j, "ready")), 10);
	assert_int_equal(json_integer_value(json_object_get(j, "desired")), 12);
	assert_string_equal(json_string_value(json_object_get(j, "observedAt")), "2026-01-01T00:00:00.123Z");
	assert_int_equal(json_array_size(json_object_get(j, "deployments")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "deployments"), 1),
							    "restarts")), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(j, "deployments"), 1), "conditions"), 0),
		"reason")), "ProbeFailed");
	json_decref(j);
	status_release(&s);
}

static void times(void **state)
{
	static const struct { const char *in; int ok; int64_t ms; } cases[] = {
		{ "2026-01-01T00:00:00.123Z", 0, 1767225600123LL },
		{ "2026-01-01T00:00:00Z", 0, 1767225600000LL },
		{ "2026-01-01T00:00:00.5Z", 0, 1767225600500LL },
		{ "2026-01-01T00:00:00", -1, 0 },
		{ "2026-01-01T00:00:00+02:00", -1, 0 },
		{ "yesterday", -1, 0 },
		/* Read only what is written back the same: no leap second, no day past the month, no time before 1970. */
		{ "9999-12-31T23:59:60.999Z", -1, 0 },
		{ "2026-02-30T00:00:00Z", -1, 0 },
		{ "1960-01-01T00:00:00.123Z", -1, 0 },
		{ "9999-12-31T23:59:59.999Z", 0, 253402300799999LL },
	};
	size_t i;
	char buf[40];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = 0;

		assert_int_equal(status_parse_time(cases[i].in, &ms), cases[i].ok);
		if (cases[i].ok == 0)
			assert_int_equal(ms, cases[i].ms);
	}
	assert_int_equal(status_format_time(1767225600123LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-01-01T00:00:00.123Z");
}

static void copy_is_deep(void **state)
{
	struct fleet_status s, c;

	(void)state;
	fill(&s);
	status_copy(&c, &s);
	status_release(&s);
	assert_string_equal(c.deployments[1].conditions[0].reason, "ProbeFailed");
	assert_int_equal(c.deployments[1].restarts, 2);
	status_release(&c);
}

/* Instances: in the JSON (readiness null while unknown), copied deep, and never in the note. */
static void instances(void **state)
{
	struct fleet_status s, c;
	struct status_instance *in;
	json_t *j, *v;
	char *note = NULL;

	(void)state;
	fill(&s);
	in = status_add_instance(&s.deployments[1], "web-0");
	in->revision = xstrdup("1234");
	in->slot = xstrdup("");
	in->state = xstrdup("running");
	in->endpoint = xstrdup("127.0.0.1:19003");
	in->ready = 1;
	in->probe_failure = xstrdup("liveness: GET http://u:pw@10.0.0.2:9003/x: 404");
	status_add_instance(&s.deployments[1], "web-1");
	status_copy(&c, &s);
	status_release(&s);
	j = status_to_json(&c);
	assert_null(json_object_get(json_array_get(json_object_get(j, "deployments"), 0), "instances"));
	v = json_object_get(json_array_get(json_object_get(j, "deployments"), 1), "instances");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "endpoint")), "127.0.0.1:19003");
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "state")), "running");
	assert_true(json_is_true(json_object_get(json_array_get(v, 0), "ready")));
	/* A served text: URL credentials masked. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "lastProbeFailure")),
			    "liveness: GET http://***@10.0.0.2:9003/x: 404");
	assert_true(json_is_null(json_object_get(json_array_get(v, 1), "ready")));
	assert_null(json_object_get(json_array_get(v, 1), "lastProbeFailure"));
	json_decref(j);
	assert_int_equal(status_render_note(&c, &note, NULL), 0);
	assert_null(strstr(note, "web-0"));
	free(note);
	status_release(&c);
}

/* The tree's compact text, as the API served it before it was encoded one deployment at a time. */
/* The status's text, read whole from its reader. */
static char *status_text(const struct fleet_status *s)
{
	struct status_text_reader *r = status_text_reader_new(s);
	struct buf b = BUF_INIT_MAX((size_t)64 << 20);
	char chunk[4096];
	ssize_t n;

	while ((n = status_text_read(r, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(&b, chunk, (size_t)n), 0);
	assert_int_equal(n, 0);
	status_text_reader_free(r);
	return buf_detach(&b, NULL);
}

static void assert_text_is_tree(const struct fleet_status *s)
{
	static const size_t sizes[] = { 1, 2, 7, 64, 4096 };
	json_t *j = status_to_json(s);
	char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *got = status_text(s);
	size_t i, len;

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	/*
	 * Read piece by piece (as /api/v1/status sends it), into buffers of any
	 * size: the same bytes, every read full but the last, then 0 for good.
	 */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct status_text_reader *r = status_text_reader_new(s);
		ssize_t n;

		got = xcalloc(1, strlen(want) + sizes[i] + 1);
		len = 0;
		while ((n = status_text_read(r, got + len, sizes[i])) > 0) {
			len += (size_t)n;
			if ((size_t)n < sizes[i])
				break;
		}
		assert_true(n >= 0);
		assert_int_equal(status_text_read(r, got + len, sizes[i]), 0);
		assert_int_equal(status_text_read(r, got + len, sizes[i]), 0);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(got, want, len);
		status_text_reader_free(r);
		free(got);
	}
	/* Dropped halfway, as when a client goes away: nothing is left behind (the sanitizers see it). */
	{
		struct status_text_reader *r = status_text_reader_new(s);
		char part[100];

		assert_true(status_text_read(r, part, sizeof(part)) > 0);
		status_text_reader_free(r);
	}
	free(want);
	json_decref(j);
}

/*
 * /api/v1/status is encoded one deployment at a time: the same bytes as the
 * whole tree, with no deployment, several, and a status with nothing but
 * its deployments.
 */
static void text_one_deployment_at_a_time(void **state)
{
	struct fleet_status s, bare;
	struct status_deployment *d;

	(void)state;
	fill(&s);
	d = status_add_deployment(&s, "validators");
	d->action = xstrdup("pause");
	d->action_by = xstrdup("dana");
	snprintf(d->slots[0].name, sizeof(d->slots[0].name), "blue");
	d->slots[0].ready = d->slots[0].desired = 2;
	assert_text_is_tree(&s);
	status_release(&s);
	status_init(&s);
	assert_text_is_tree(&s);
	status_init(&bare);
	bare.phase = STATUS_HEALTHY;
	(void)status_add_deployment(&bare, "slim");
	assert_text_is_tree(&bare);
	status_release(&s);
	status_release(&bare);
}

/*
 * A status built with a pool (as each pass builds it): its deployments'
 * strings, short, long (over a block's quarter: malloc'd alone) and set with
 * xstrdup beside them, read back whole, encode as a copy without a pool
 * does, and are all freed with it (the sanitizers see a string freed twice,
 * one freed that was never malloc'd, and one left behind).
 */
static void pooled_strings(void **state)
{
	struct fleet_status s, c;
	char *long_text = xcalloc(1, 20000), name[32], *a, *b;
	size_t i;

	(void)state;
	memset(long_text, 'x', 19999);
	status_init(&s);
	status_use_pool(&s);
	for (i = 0; i < 3000; i++) {
		struct status_deployment *d;
		struct status_condition *cd;
		struct status_instance *in;

		snprintf(name, sizeof(name), "node-%zu", i);
		d = status_add_deployment(&s, name);
		d->role = status_str(d, "business");
		d->revision = status_strf(d, "%064zx", i);
		d->step = i % 100 == 7	 ? status_str(d, long_text)
			  : i % 100 == 8 ? status_strf(d, "%s!", long_text)
					 : status_strf(d, "rolling %s %zu/3", name, i % 4);
		d->last_error = i % 3 ? NULL : xstrdup("set by hand: malloc'd in a pooled status");
		cd = status_add_condition(d, "Available");
		cd->status = status_str(d, i % 2 ? "True" : "False");
		cd->reason = status_str(d, NULL);
		in = status_add_instance(d, name);
		in->state = status_str(d, "running");
		in->endpoint = status_strf(d, "127.0.0.1:%zu", 20000 + i);
	}
	assert_string_equal(s.deployments[2999].name, "node-2999");
	assert_string_equal(s.deployments[107].step, long_text);
	assert_int_equal(strlen(s.deployments[108].step), 20000);
	assert_string_equal(s.deployments[109].step, "rolling node-109 1/3");
	assert_null(s.deployments[1].conditions[0].reason);
	assert_string_equal(s.deployments[42].instances[0].endpoint, "127.0.0.1:20042");
	status_copy(&c, &s);
	assert_null(c.pool);
	a = status_text(&s);
	b = status_text(&c);
	assert_non_null(a);
	assert_string_equal(a, b);
	FREE_ALL(a, b, long_text);
	status_release(&s);
	status_release(&c);
	/* Released, a status is empty again and takes a pool anew. */
	assert_null(s.pool);
	status_use_pool(&s);
	(void)status_add_deployment(&s, "again");
	status_release(&s);
}

TEST_MAIN(
	cmocka_unit_test(pooled_strings),
	cmocka_unit_test(text_one_deployment_at_a_time),
	cmocka_unit_test(note_round_trip),
	cmocka_unit_test(note_release_control),
	cmocka_unit_test(note_hosts),
	cmocka_unit_test(swarm_fields),
	cmocka_unit_test(parse_errors),
	cmocka_unit_test(parse_every_field),
	cmocka_unit_test(hostile_notes),
	cmocka_unit_test(json_form),
	cmocka_unit_test(times),
	cmocka_unit_test(copy_is_deep),
	cmocka_unit_test(instances))
