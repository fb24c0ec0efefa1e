/* Unit tests for one rollout step: Rolling and Recreate moves from a table of fleets and their readiness; Swarm's counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout/rollout.h"
#include "testmain.h"
#include "util.h"

#define NEW "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OLD "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* ready_only: ready by its probe, not yet available (minReadySeconds not over). */
struct c { int ordinal; const char *rev; int running; int known; int avail; int port; int ready_only; };
#define END { -1, NULL, 0, 0, 0, 0, 0 }

struct op { int kind; int ordinal; const char *name; int port_offset; };
#define NO_OP { -1, 0, NULL, 0 }

struct rcase {
	const char *name;
	enum spec_strategy_type strategy;
	int replicas;
	long surge, unavail;
	int heal_only;
	struct c ctrs[8];
	struct op want[8];
	int complete;
	int waiting;
};

static const struct rcase cases[] = {
	{ "rolling: one surge and one old goes within maxUnavailable", SPEC_STRATEGY_ROLLING, 3, 1, 1, 0,
	  { { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 }, END },
	  { { ROLLOUT_CREATE, 0, "web-0-aaaaaa", 3 }, { ROLLOUT_REMOVE, 1, NULL, 0 }, NO_OP }, 0, 0 },
	{ "rolling: no surge, no unavailability budget left: wait", SPEC_STRATEGY_ROLLING, 3, 0, 1, 0,
	  { { 0, NEW, 1, 1, 0, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 }, END },
	  { NO_OP }, 0, 1 },
	{ "rolling: an available replacement retires its old container, the next surges", SPEC_STRATEGY_ROLLING, 2, 1, 0, 0,
	  { { 0, NEW, 1, 1, 1, 20002, 0 }, { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, { ROLLOUT_CREATE, 1, "web-1-aaaaaa", 3 }, NO_OP }, 0, 0 },
	{ "rolling: old containers not probed yet are not taken for unavailable", SPEC_STRATEGY_ROLLING, 2, 0, 1, 0,
	  { { 0, OLD, 1, 0, 0, 20000, 0 }, { 1, OLD, 1, 0, 0, 20001, 0 }, END },
	  { NO_OP }, 0, 1 },
	{ "rolling: an old container known to be down goes at no cost", SPEC_STRATEGY_ROLLING, 2, 0, 1, 0,
	  { { 0, OLD, 1, 1, 0, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, NO_OP }, 0, 0 },
	{ "recreate: one ordinal at a time, stop first", SPEC_STRATEGY_RECREATE, 3, 0, 1, 0,
	  { { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, NO_OP }, 0, 0 },
	{ "recreate: the emptied ordinal is made again with its own name and port", SPEC_STRATEGY_RECREATE, 3, 0, 1, 0,
	  { { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 }, END },
	  { { ROLLOUT_CREATE, 0, "web-0", 0 }, NO_OP }, 0, 0 },
	{ "recreate: never a second ordinal down while the first is not back", SPEC_STRATEGY_RECREATE, 3, 0, 1, 0,
	  { { 0, NEW, 1, 0, 0, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 }, END },
	  { NO_OP }, 0, 1 },
	{ "complete", SPEC_STRATEGY_ROLLING, 2, 1, 1, 0,
	  { { 0, NEW, 1, 1, 1, 20000, 0 }, { 1, NEW, 1, 1, 1, 20001, 0 }, END },
	  { NO_OP }, 1, 0 },
	{ "stopped at the target: start it; missing: create it", SPEC_STRATEGY_ROLLING, 2, 1, 1, 0,
	  { { 0, NEW, 0, 1, 0, 0, 0 }, END },
	  { { ROLLOUT_START, 0, NULL, 0 }, { ROLLOUT_CREATE, 1, "web-1", 1 }, NO_OP }, 0, 0 },
	{ "duplicates and ordinals past replicas go", SPEC_STRATEGY_ROLLING, 1, 1, 1, 0,
	  { { 0, NEW, 1, 1, 1, 20000, 0 }, { 0, NEW, 0, 1, 0, 0, 0 }, { 1, NEW, 1, 1, 1, 20001, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, { ROLLOUT_REMOVE, 1, NULL, 0 }, NO_OP }, 0, 0 },
	{ "rolling: a new container ready but not yet available (minReadySeconds) retires nothing",
	  SPEC_STRATEGY_ROLLING, 2, 1, 0, 0,
	  { { 0, NEW, 1, 1, 0, 20002, 1 }, { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, END },
	  { NO_OP }, 0, 1 },
	{ "rolling: once available it retires its old container and the next surges", SPEC_STRATEGY_ROLLING, 2, 1, 0,
	  0, { { 0, NEW, 1, 1, 1, 20002, 0 }, { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, { ROLLOUT_CREATE, 1, "web-1-aaaaaa", 3 }, NO_OP }, 0, 0 },
	{ "rolling: maxSurge 2 makes two new containers at once", SPEC_STRATEGY_ROLLING, 4, 2, 0, 0,
	  { { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 },
	    { 3, OLD, 1, 1, 1, 20003, 0 }, END },
	  { { ROLLOUT_CREATE, 0, "web-0-aaaaaa", 4 }, { ROLLOUT_CREATE, 1, "web-1-aaaaaa", 5 }, NO_OP }, 0, 0 },
	{ "rolling: maxUnavailable 2 lets two old containers go at once", SPEC_STRATEGY_ROLLING, 4, 0, 2, 0,
	  { { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 },
	    { 3, OLD, 1, 1, 1, 20003, 0 }, END },
	  { { ROLLOUT_REMOVE, 0, NULL, 0 }, { ROLLOUT_REMOVE, 1, NULL, 0 }, NO_OP }, 0, 0 },
	{ "rolling: one down already uses one of maxUnavailable 2", SPEC_STRATEGY_ROLLING, 4, 0, 2, 0,
	  { { 0, NEW, 1, 1, 0, 20000, 0 }, { 1, OLD, 1, 1, 1, 20001, 0 }, { 2, OLD, 1, 1, 1, 20002, 0 },
	    { 3, OLD, 1, 1, 1, 20003, 0 }, END },
	  { { ROLLOUT_REMOVE, 1, NULL, 0 }, NO_OP }, 0, 0 },
	{ "heal only: missing comes back, nothing old is replaced", SPEC_STRATEGY_ROLLING, 3, 1, 1, 1,
	  { { 0, OLD, 1, 1, 1, 20000, 0 }, { 1, NEW, 1, 1, 1, 20001, 0 }, END },
	  { { ROLLOUT_CREATE, 2, "web-2", 2 }, NO_OP }, 0, 0 },
};

static void table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(cases); ci++) {
		const struct rcase *rc = &cases[ci];
		struct obs_container oc[8];
		struct obs_port ports[8];
		struct rollout_ctr ctrs[8];
		struct desired_port dport = { NULL, 9003, 20000, NULL, 0 };
		struct desired_tmpl tmpl;
		struct rollout_input in;
		struct rollout_result res;
		size_t n = 0, i, nw = 0;

		print_message("case: %s\n", rc->name);
		memset(oc, 0, sizeof(oc));
		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.ports = &dport;
		tmpl.n_ports = 1;
		for (n = 0; rc->ctrs[n].rev; n++) {
			char name[32];

			snprintf(name, sizeof(name), "c%zu", n);
			oc[n].id = xstrdup(name);
			oc[n].name = xstrdup(name);
			oc[n].deployment = (char *)"web";
			oc[n].revision = (char *)rc->ctrs[n].rev;
			oc[n].ordinal = rc->ctrs[n].ordinal;
			oc[n].state = rc->ctrs[n].running ? OBS_RUNNING : OBS_EXITED;
			memset(&ports[n], 0, sizeof(ports[n]));
			ports[n].container_port = 9003;
			ports[n].host_port = rc->ctrs[n].port;
			oc[n].ports = &ports[n];
			oc[n].n_ports = rc->ctrs[n].port ? 1 : 0;
			ctrs[n].c = &oc[n];
			ctrs[n].known = rc->ctrs[n].known;
			ctrs[n].ready = rc->ctrs[n].avail || rc->ctrs[n].ready_only;
			ctrs[n].available = rc->ctrs[n].avail;
		}
		memset(&in, 0, sizeof(in));
		in.deployment = "web";
		in.strategy = rc->strategy;
		in.replicas = rc->replicas;
		in.max_surge = rc->surge;
		in.max_unavailable = rc->unavail;
		in.rev = NEW;
		in.tmpl = &tmpl;
		in.heal_only = rc->heal_only;
		in.v = ctrs;
		in.n = n;
		rollout_step(&in, &res);
		while (rc->want[nw].kind != -1)
			nw++;
		for (i = 0; i < res.n_ops; i++)
			print_message("  got %s ordinal %d %s +%d (%s)\n", rollout_op_name(res.ops[i].kind),
				      res.ops[i].ordinal, res.ops[i].name ? res.ops[i].name : "",
				      res.ops[i].port_offset, res.ops[i].why);
		assert_int_equal(res.n_ops, nw);
		for (i = 0; i < nw; i++) {
			assert_int_equal(res.ops[i].kind, rc->want[i].kind);
			assert_int_equal(res.ops[i].ordinal, rc->want[i].ordinal);
			if (rc->want[i].name) {
				assert_string_equal(res.ops[i].name, rc->want[i].name);
				assert_int_equal(res.ops[i].port_offset, rc->want[i].port_offset);
			}
		}
		assert_int_equal(res.complete, rc->complete);
		assert_int_equal(res.waiting, rc->waiting);
		rollout_result_release(&res);
		for (i = 0; i < n; i++) {
			free(oc[i].id);
			free(oc[i].name);
		}
	}
}

/* On Swarm: the tasks counted (a stopped one is history), one SERVICE op while not complete and it is the turn. */
struct scase {
	const char *name;
	int replicas;
	int heal_only;
	int service_at;
	struct c ctrs[8];
	int want_op;
	int updated, available, total, complete;
	int held;				/* not asked: it would break the budget */
	enum spec_strategy_type strategy;	/* Rolling when not given */
	long surge, unavail;
};

static const struct scase swarm_cases[] = {
	{ "nothing yet: the service is asked for", 2, 0, 0, { END }, 1, 0, 0, 0, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	{ "Swarm at work: one new available, one old still serving: nothing asked", 2, 0, 1,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, END }, 0, 1, 2, 2, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	{ "stopped tasks are history, not replicas: complete", 2, 0, 1,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 0, OLD, 0, 1, 0, 0, 0 }, { 1, NEW, 1, 1, 1, 0, 0 }, { 1, OLD, 0, 1, 0, 0, 0 },
	    END }, 0, 2, 2, 2, 1, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	{ "a new task not yet available: not complete", 2, 0, 1,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 1, NEW, 1, 1, 0, 0, 1 }, END }, 0, 2, 1, 2, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	{ "a task past the replicas (scaled down): not complete until Swarm removes it", 1, 0, 1,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 1, NEW, 1, 1, 1, 0, 0 }, END }, 0, 1, 1, 2, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	{ "not its turn (or paused): counted, nothing asked", 2, 1, 0,
	  { { 0, OLD, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, END }, 0, 0, 2, 2, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	/* A rollback after a paused update: the old tasks never stopped, but the spec is the failed one's. */
	{ "every task at the target but not the service's spec: not complete, the service asked for", 2, 0, 0,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 1, NEW, 1, 1, 1, 0, 0 }, END }, 1, 2, 2, 2, 0, 0, SPEC_STRATEGY_ROLLING, 0, 0 },
	/*
	 * Validators, one down on a lost node (its task cannot be placed): Swarm
	 * would stop one more first. Held until all three serve; then asked.
	 */
	{ "validators 2/3 available, stop-first, budget 1: held", 3, 0, 0,
	  { { 0, OLD, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, { 2, OLD, 1, 1, 0, 0, 0 }, END }, 0, 0, 2, 3, 0, 1,
	  SPEC_STRATEGY_RECREATE, 0, 1 },
	{ "validators 3/3 available: asked", 3, 0, 0,
	  { { 0, OLD, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, { 2, OLD, 1, 1, 1, 0, 0 }, END }, 1, 0, 3, 3, 0, 0,
	  SPEC_STRATEGY_RECREATE, 0, 1 },
	{ "five validators, budget 2, one down: Swarm stops two at a time, held", 5, 0, 0,
	  { { 0, OLD, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, { 2, OLD, 1, 1, 1, 0, 0 }, { 3, OLD, 1, 1, 1, 0, 0 },
	    END }, 0, 0, 4, 4, 0, 1, SPEC_STRATEGY_RECREATE, 0, 2 },
	{ "the unavailable ones are all that is old: nothing available goes down, asked", 3, 0, 0,
	  { { 0, NEW, 1, 1, 1, 0, 0 }, { 1, NEW, 1, 1, 1, 0, 0 }, { 2, OLD, 1, 1, 0, 0, 0 }, END }, 1, 2, 2, 3, 0, 0,
	  SPEC_STRATEGY_RECREATE, 0, 1 },
	{ "validators whose readiness is not known yet (a controller just started): held", 3, 0, 0,
	  { { 0, OLD, 1, 0, 0, 0, 0 }, { 1, OLD, 1, 0, 0, 0, 0 }, { 2, OLD, 1, 0, 0, 0, 0 }, END }, 0, 0, 0, 3, 0, 2,
	  SPEC_STRATEGY_RECREATE, 0, 1 },
	{ "start-first (a surge) with one down: nothing stops first, asked", 3, 0, 0,
	  { { 0, OLD, 1, 1, 1, 0, 0 }, { 1, OLD, 1, 1, 1, 0, 0 }, { 2, OLD, 1, 0, 0, 0, 0 }, END }, 1, 0, 2, 3, 0, 0,
	  SPEC_STRATEGY_ROLLING, 1, 0 },
};

static void swarm_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(swarm_cases); ci++) {
		const struct scase *sc = &swarm_cases[ci];
		struct obs_container oc[8];
		struct rollout_ctr ctrs[8];
		struct rollout_input in;
		struct rollout_result res;
		size_t n;

		print_message("case: %s\n", sc->name);
		memset(oc, 0, sizeof(oc));
		for (n = 0; sc->ctrs[n].rev; n++) {
			oc[n].id = (char *)"x";
			oc[n].name = (char *)"web.1.x";
			oc[n].deployment = (char *)"web";
			oc[n].revision = (char *)sc->ctrs[n].rev;
			oc[n].ordinal = sc->ctrs[n].ordinal;
			oc[n].state = sc->ctrs[n].running ? OBS_RUNNING : OBS_EXITED;
			ctrs[n].c = &oc[n];
			ctrs[n].known = sc->ctrs[n].known;
			ctrs[n].ready = sc->ctrs[n].avail || sc->ctrs[n].ready_only;
			ctrs[n].available = sc->ctrs[n].avail;
		}
		memset(&in, 0, sizeof(in));
		in.deployment = "web";
		in.strategy = sc->strategy;
		in.max_surge = sc->surge;
		in.max_unavailable = sc->unavail;
		in.replicas = sc->replicas;
		in.rev = NEW;
		in.heal_only = sc->heal_only;
		in.service_at_target = sc->service_at;
		in.v = ctrs;
		in.n = n;
		rollout_swarm_step(&in, &res);
		assert_int_equal(res.n_ops, sc->want_op);
		if (sc->want_op) {
			assert_int_equal(res.ops[0].kind, ROLLOUT_SERVICE);
			assert_null(res.ops[0].c);
		}
		assert_int_equal(res.updated, sc->updated);
		assert_int_equal(res.available, sc->available);
		assert_int_equal(res.total, sc->total);
		assert_int_equal(res.complete, sc->complete);
		assert_int_equal(res.waiting, !sc->complete && !sc->want_op);
		assert_int_equal(res.held, sc->held);
		rollout_result_release(&res);
	}
}

/* The containers of a swarm's slot services, and a traffic release's operations on them. */
static void set_task(struct obs_container *c, struct rollout_ctr *x, const char *svc, const char *slot, int ordinal,
		     const char *rev)
{
	memset(c, 0, sizeof(*c));
	memset(x, 0, sizeof(*x));
	c->id = (char *)"x";
	c->name = (char *)"task";
	c->deployment = (char *)"web";
	c->swarm_service = (char *)svc;
	c->slot = (char *)slot;
	c->ordinal = ordinal;
	c->revision = (char *)rev;
	c->state = OBS_RUNNING;
	x->c = c;
	x->known = x->ready = x->available = 1;
}

static const struct rollout_op *op_named(const struct rollout_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_ops; i++)
		if (r->ops[i].name && strcmp(r->ops[i].name, name) == 0)
			return &r->ops[i];
	return NULL;
}

static void create(struct rollout_result *r, const char *slot, int ordinal, int stable)
{
	rollout_add_op(r, ROLLOUT_CREATE, ordinal, NULL, "c", 0, "slot %s: missing", slot);
	snprintf(r->ops[r->n_ops - 1].slot, sizeof(r->ops[0].slot), "%s", slot);
	r->ops[r->n_ops - 1].stable = stable;
}

static void swarm_slots(void **state)
{
	struct obs_container oc[4];
	struct rollout_ctr v[4];
	struct rollout_result r;
	const struct rollout_op *op;

	(void)state;
	set_task(&oc[0], &v[0], "p-web-blue", "blue", 0, OLD);
	set_task(&oc[1], &v[1], "p-web-blue", "blue", 1, OLD);
	/* A new slot wanted whole beside the stable one: one service made with both ordinals. */
	memset(&r, 0, sizeof(r));
	create(&r, "green", 0, 0);
	create(&r, "green", 1, 0);
	rollout_swarm_slots(&r, v, 2, "p", "web");
	assert_int_equal(r.n_ops, 1);
	op = op_named(&r, "p-web-green");
	assert_non_null(op);
	assert_int_equal(op->kind, ROLLOUT_SERVICE);
	assert_int_equal(op->replicas, 2);
	assert_string_equal(op->slot, "green");
	assert_false(op->stable);
	rollout_result_release(&r);

	/*
	 * The switch made, the old slot released: its service goes (0 replicas), never a task by itself;
	 * one task Swarm still starts (health: starting) counts as the slot's.
	 */
	oc[1].state = OBS_CREATED;
	set_task(&oc[2], &v[2], "p-web-green", "green", 0, NEW);
	set_task(&oc[3], &v[3], "p-web-green", "green", 1, NEW);
	memset(&r, 0, sizeof(r));
	rollout_add_op(&r, ROLLOUT_REMOVE, 0, &oc[0], NULL, 0, "old slot: released");
	rollout_add_op(&r, ROLLOUT_REMOVE, 1, &oc[1], NULL, 0, "old slot: released");
	rollout_swarm_slots(&r, v, 4, "p", "web");
	assert_int_equal(r.n_ops, 1);
	op = op_named(&r, "p-web-blue");
	assert_non_null(op);
	assert_int_equal(op->replicas, 0);
	rollout_result_release(&r);

	/* Scaled down (the highest ordinal goes): the service keeps the ordinals below it. */
	memset(&r, 0, sizeof(r));
	rollout_add_op(&r, ROLLOUT_REMOVE, 1, &oc[3], NULL, 0, "scale down: ordinal past replicas");
	rollout_swarm_slots(&r, v, 4, "p", "web");
	assert_int_equal(r.n_ops, 1);
	assert_int_equal(op_named(&r, "p-web-green")->replicas, 1);
	rollout_result_release(&r);

	/* A canary's next weight grows its slot; a stopped task is Swarm's to restart; a stable grow is marked. */
	memset(&r, 0, sizeof(r));
	oc[3].state = OBS_EXITED;
	rollout_add_op(&r, ROLLOUT_START, 1, &oc[3], NULL, 0, "exited, not running");
	create(&r, "blue", 1, 1);
	rollout_swarm_slots(&r, v, 4, "p", "web");
	assert_int_equal(r.n_ops, 1);
	op = op_named(&r, "p-web-blue");
	assert_int_equal(op->replicas, 2);
	assert_true(op->stable);
	rollout_result_release(&r);

	/* Nothing asked of the containers: nothing asked of the services. */
	memset(&r, 0, sizeof(r));
	rollout_swarm_slots(&r, v, 4, "p", "web");
	assert_int_equal(r.n_ops, 0);
	rollout_result_release(&r);
}

/* Rolling again after blue-green: the slots' services serve until the deployment's own is complete, then go. */
static void swarm_other_services(void **state)
{
	struct obs_container oc[4];
	struct rollout_ctr v[4];
	struct rollout_input in;
	struct rollout_result r;

	(void)state;
	set_task(&oc[0], &v[0], "p-web-green", "green", 0, OLD);
	set_task(&oc[1], &v[1], "p-web-green", "green", 1, OLD);
	memset(&in, 0, sizeof(in));
	in.deployment = "web";
	in.service = "p-web";
	in.strategy = SPEC_STRATEGY_ROLLING;
	in.max_surge = 1;
	in.replicas = 2;
	in.rev = NEW;
	in.v = v;
	in.n = 2;
	rollout_swarm_step(&in, &r);
	assert_int_equal(r.n_ops, 1);
	assert_string_equal(r.ops[0].name, "p-web");
	assert_int_equal(r.ops[0].replicas, 2);
	assert_int_equal(r.available, 2);
	assert_false(r.complete);
	rollout_result_release(&r);

	/* Its own tasks up but not all ready: the slot's service stays. */
	in.service_at_target = 1;
	set_task(&oc[2], &v[2], "p-web", "", 0, NEW);
	set_task(&oc[3], &v[3], "p-web", "", 1, NEW);
	v[3].ready = v[3].available = 0;
	in.n = 4;
	rollout_swarm_step(&in, &r);
	assert_int_equal(r.n_ops, 0);
	assert_false(r.complete);
	rollout_result_release(&r);

	/* All of its own available: the slot's service goes; complete once it has. */
	v[3].ready = v[3].available = 1;
	rollout_swarm_step(&in, &r);
	assert_int_equal(r.n_ops, 1);
	assert_string_equal(r.ops[0].name, "p-web-green");
	assert_int_equal(r.ops[0].replicas, 0);
	assert_false(r.complete);
	rollout_result_release(&r);
	in.v = v + 2;
	in.n = 2;
	rollout_swarm_step(&in, &r);
	assert_int_equal(r.n_ops, 0);
	assert_true(r.complete);
	rollout_result_release(&r);
}

/* A volume per replica on several nodes: each ordinal a service of its own, asked for what its container would be. */
static void swarm_ordinals(void **state)
{
	struct obs_container oc[4];
	struct rollout_ctr v[4];
	struct rollout_result r;
	const struct rollout_op *op;

	(void)state;
	set_task(&oc[0], &v[0], "p-db-0", "", 0, OLD);
	set_task(&oc[1], &v[1], "p-db-1", "", 1, OLD);
	set_task(&oc[2], &v[2], "p-db-2", "", 2, OLD);
	set_task(&oc[3], &v[3], "p-db", "", 0, OLD);
	memset(&r, 0, sizeof(r));
	/* Recreate's two steps on ordinal 0 are one update of its service; a start is Swarm's to make. */
	rollout_add_op(&r, ROLLOUT_REMOVE, 0, &oc[0], NULL, 0, "old revision");
	rollout_add_op(&r, ROLLOUT_CREATE, 0, NULL, "db-0", 0, "missing");
	rollout_add_op(&r, ROLLOUT_START, 1, &oc[1], NULL, 0, "exited, not running");
	/* Past the replicas (2): its service goes; a task of a service made before (one for all) goes with it. */
	rollout_add_op(&r, ROLLOUT_REMOVE, 2, &oc[2], NULL, 0, "scale down");
	rollout_add_op(&r, ROLLOUT_REMOVE, 0, &oc[3], NULL, 0, "duplicate");
	rollout_swarm_ordinals(&r, 2, "p", "db");
	assert_int_equal(r.n_ops, 3);
	op = op_named(&r, "p-db-0");
	assert_non_null(op);
	assert_int_equal(op->kind, ROLLOUT_SERVICE);
	assert_int_equal(op->ordinal, 0);
	assert_int_equal(op->replicas, 1);
	op = op_named(&r, "p-db-2");
	assert_non_null(op);
	assert_int_equal(op->replicas, 0);
	op = op_named(&r, "p-db");
	assert_non_null(op);
	assert_int_equal(op->replicas, 0);
	assert_null(op_named(&r, "p-db-1"));
	rollout_result_release(&r);
}

TEST_MAIN(
	cmocka_unit_test(table),
	cmocka_unit_test(swarm_ordinals),
	cmocka_unit_test(swarm_table),
	cmocka_unit_test(swarm_slots),
	cmocka_unit_test(swarm_other_services))
