/* Unit tests for the probe state machine: Kubernetes' thresholds, gating, delays and timeouts, as tables in injected time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"
#include "spec.h"
#include "testmain.h"

/* Combined flags, compared after every row. */
#define F_STARTED 1u
#define F_READY 2u
#define F_LIVE_FAILED 4u
#define F_STARTUP_FAILED 8u

#define B_S (1u << PROBE_STARTUP)
#define B_R (1u << PROBE_READINESS)
#define B_L (1u << PROBE_LIVENESS)

#define NEVER INT64_MAX

enum op {
	OP_END,
	OP_STEP,	/* probe_fsm_step(at): start and expired must equal the row's bits */
	OP_RESULT,	/* probe_fsm_result(type, res, at): returned changed bits must equal `changed` */
	OP_NEXT,	/* probe_fsm_next() must equal `at` */
};

struct row {
	enum op op;
	int64_t at;
	enum probe_type type;
	enum probe_result res;
	unsigned start;		/* STEP */
	unsigned expired;	/* STEP */
	unsigned changed;	/* RESULT, and STEP's expirations */
	unsigned flags;		/* after the row */
};

/* A probe's settings in seconds, as a spec writes them; period 0: absent. */
struct secs {
	int delay, period, timeout, success, failure;
};

struct fsm_case {
	const char *name;
	struct secs probe[PROBE_TYPE_COUNT];
	unsigned flags0;	/* right after init at t=0 */
	struct row rows[40];
};

#define STEP(t, st, ex, fl) { OP_STEP, (t), PROBE_STARTUP, PROBE_SUCCESS, (st), (ex), 0, (fl) }
#define STEPX(t, st, ex, ch, fl) { OP_STEP, (t), PROBE_STARTUP, PROBE_SUCCESS, (st), (ex), (ch), (fl) }
#define RES(t, ty, r, ch, fl) { OP_RESULT, (t), (ty), (r), 0, 0, (ch), (fl) }
#define NEXT(t) { OP_NEXT, (t), PROBE_STARTUP, PROBE_SUCCESS, 0, 0, 0, 0 }

#define OK PROBE_SUCCESS
#define FAIL PROBE_FAILURE
#define TMO PROBE_TIMEOUT
#define ERR PROBE_ERROR
#define SU PROBE_STARTUP
#define RD PROBE_READINESS
#define LV PROBE_LIVENESS
#define C_S PROBE_CHANGED_STARTED
#define C_R PROBE_CHANGED_READY
#define C_L PROBE_CHANGED_LIVE_FAILED
#define C_F PROBE_CHANGED_STARTUP_FAILED
#define SR (F_STARTED | F_READY)

static const struct fsm_case cases[] = {
	{
		"no probes: started and ready at once, nothing ever runs",
		{ { 0 }, { 0 }, { 0 } },
		SR,
		{ STEP(0, 0, 0, SR), NEXT(NEVER), STEP(1000000, 0, 0, SR) },
	},
	{
		"readiness: not ready before the first result, initial delay, period",
		{ { 0 }, { 5, 10, 1, 1, 3 }, { 0 } },
		F_STARTED,
		{
			NEXT(5000),
			STEP(4999, 0, 0, F_STARTED),
			STEP(5000, B_R, 0, F_STARTED),
			NEXT(6000),	/* the attempt's deadline */
			RES(5100, RD, OK, C_R, SR),
			NEXT(15000),
			STEP(14999, 0, 0, SR),
			STEP(15000, B_R, 0, SR),
			RES(15010, RD, FAIL, 0, SR),
			STEP(25000, B_R, 0, SR),
			RES(25010, RD, FAIL, 0, SR),
			STEP(35000, B_R, 0, SR),
			/* the third failure in a row */
			RES(35010, RD, FAIL, C_R, F_STARTED),
			STEP(45000, B_R, 0, F_STARTED),
			RES(45010, RD, OK, C_R, SR),
		},
	},
	{
		"readiness successThreshold 3: a failure starts the count again",
		{ { 0 }, { 0, 1, 1, 3, 2 }, { 0 } },
		F_STARTED,
		{
			STEP(0, B_R, 0, F_STARTED), RES(10, RD, OK, 0, F_STARTED),
			STEP(1000, B_R, 0, F_STARTED), RES(1010, RD, OK, 0, F_STARTED),
			STEP(2000, B_R, 0, F_STARTED), RES(2010, RD, FAIL, 0, F_STARTED),
			STEP(3000, B_R, 0, F_STARTED), RES(3010, RD, OK, 0, F_STARTED),
			STEP(4000, B_R, 0, F_STARTED), RES(4010, RD, OK, 0, F_STARTED),
			STEP(5000, B_R, 0, F_STARTED), RES(5010, RD, OK, C_R, SR),
			/* failureThreshold 2: one failure keeps it ready */
			STEP(6000, B_R, 0, SR), RES(6010, RD, FAIL, 0, SR),
			STEP(7000, B_R, 0, SR), RES(7010, RD, OK, 0, SR),
			STEP(8000, B_R, 0, SR), RES(8010, RD, FAIL, 0, SR),
			STEP(9000, B_R, 0, SR), RES(9010, RD, FAIL, C_R, F_STARTED),
		},
	},
	{
		"startup holds readiness and liveness back until it succeeds",
		{ { 0, 1, 1, 1, 3 }, { 0, 10, 1, 1, 3 }, { 0, 10, 1, 1, 3 } },
		0,
		{
			STEP(0, B_S, 0, 0),
			RES(100, SU, FAIL, 0, 0),
			NEXT(1000),
			STEP(1000, B_S, 0, 0),
			RES(1100, SU, FAIL, 0, 0),
			STEP(2000, B_S, 0, 0),
			RES(2100, SU, OK, C_S, F_STARTED),
			/* the others' delays are long past: they run at once; startup never again */
			STEP(2100, B_R | B_L, 0, F_STARTED),
			RES(2200, RD, OK, C_R, SR),
			RES(2200, LV, OK, 0, SR),
			STEP(3000, 0, 0, SR),
			NEXT(12100),
			STEP(12100, B_R | B_L, 0, SR),
		},
	},
	{
		"startup failing failureThreshold times: failed to start, nothing runs after",
		{ { 0, 1, 1, 1, 3 }, { 0, 10, 1, 1, 3 }, { 0, 10, 1, 1, 3 } },
		0,
		{
			STEP(0, B_S, 0, 0), RES(10, SU, FAIL, 0, 0),
			STEP(1000, B_S, 0, 0), RES(1010, SU, TMO, 0, 0),
			STEP(2000, B_S, 0, 0), RES(2010, SU, FAIL, C_F, F_STARTUP_FAILED),
			NEXT(NEVER),
			STEP(60000, 0, 0, F_STARTUP_FAILED),
		},
	},
	{
		"no readiness probe: ready exactly when startup passes",
		{ { 2, 1, 1, 1, 5 }, { 0 }, { 0 } },
		0,
		{
			STEP(0, 0, 0, 0),
			NEXT(2000),
			STEP(2000, B_S, 0, 0),
			RES(2500, SU, OK, C_S | C_R, SR),
			NEXT(NEVER),
		},
	},
	{
		"liveness: failureThreshold failures in a row, then it stops probing",
		{ { 0 }, { 0 }, { 0, 1, 1, 1, 2 } },
		SR,
		{
			STEP(0, B_L, 0, SR), RES(10, LV, FAIL, 0, SR),
			STEP(1000, B_L, 0, SR), RES(1010, LV, OK, 0, SR),
			STEP(2000, B_L, 0, SR), RES(2010, LV, FAIL, 0, SR),
			STEP(3000, B_L, 0, SR), RES(3010, LV, FAIL, C_L, SR | F_LIVE_FAILED),
			NEXT(NEVER),
			STEP(4000, 0, 0, SR | F_LIVE_FAILED),
		},
	},
	{
		"timeouts are failures; a late answer after the deadline is ignored",
		{ { 0 }, { 0, 10, 1, 1, 2 }, { 0 } },
		F_STARTED,
		{
			STEP(0, B_R, 0, F_STARTED), RES(10, RD, OK, C_R, SR),
			STEP(10000, B_R, 0, SR),
			STEP(10999, 0, 0, SR),
			STEP(11000, 0, B_R, SR),
			/* the answer that comes after its deadline changes nothing */
			RES(11500, RD, OK, 0, SR),
			NEXT(20000),
			STEP(20000, B_R, 0, SR),
			STEPX(21000, 0, B_R, C_R, F_STARTED),
		},
	},
	{
		"initial delays count from the container's start, also behind a startup probe",
		{ { 0, 1, 1, 1, 10 }, { 0, 10, 1, 1, 3 }, { 30, 10, 1, 1, 3 } },
		0,
		{
			STEP(0, B_S, 0, 0), RES(10, SU, FAIL, 0, 0),
			STEP(1000, B_S, 0, 0), RES(1010, SU, OK, C_S, F_STARTED),
			STEP(1010, B_R, 0, F_STARTED),
			RES(1020, RD, OK, C_R, SR),
			NEXT(11010),
			STEP(11010, B_R, 0, SR), RES(11020, RD, OK, 0, SR),
			STEP(21010, B_R, 0, SR), RES(21020, RD, OK, 0, SR),
			NEXT(30000),
			STEP(30000, B_L, 0, SR),
		},
	},
	{
		"a probe that could not run counts neither way",
		{ { 0 }, { 0, 1, 1, 1, 1 }, { 0, 1, 1, 1, 1 } },
		F_STARTED,
		{
			STEP(0, B_R | B_L, 0, F_STARTED),
			RES(10, RD, ERR, 0, F_STARTED),
			RES(10, LV, ERR, 0, F_STARTED),
			STEP(1000, B_R | B_L, 0, F_STARTED),
			RES(1010, RD, OK, C_R, SR),
			RES(1010, LV, ERR, 0, SR),
			STEP(2000, B_R | B_L, 0, SR),
			RES(2010, RD, ERR, 0, SR),
			RES(2010, LV, FAIL, C_L, SR | F_LIVE_FAILED),
		},
	},
	{
		"an attempt longer than its period: the next starts when it ends, never two at once",
		{ { 0 }, { 0, 2, 5, 1, 3 }, { 0 } },
		F_STARTED,
		{
			STEP(0, B_R, 0, F_STARTED),
			STEP(2000, 0, 0, F_STARTED),
			NEXT(5000),
			RES(4000, RD, OK, C_R, SR),
			NEXT(4000),
			STEP(4000, B_R, 0, SR),
			RES(4100, RD, OK, 0, SR),
			NEXT(6000),
		},
	},
};

static unsigned flags_of(const struct probe_state *st)
{
	return (st->started ? F_STARTED : 0) | (st->ready ? F_READY : 0) | (st->live_failed ? F_LIVE_FAILED : 0) |
	       (st->startup_failed ? F_STARTUP_FAILED : 0);
}

static void params_of(const struct fsm_case *c, struct probe_params p[PROBE_TYPE_COUNT])
{
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		memset(&p[t], 0, sizeof(p[t]));
		if (c->probe[t].period == 0)
			continue;
		p[t].configured = 1;
		p[t].initial_delay_ms = (int64_t)c->probe[t].delay * 1000;
		p[t].period_ms = (int64_t)c->probe[t].period * 1000;
		p[t].timeout_ms = (int64_t)c->probe[t].timeout * 1000;
		p[t].success_threshold = (unsigned)c->probe[t].success;
		p[t].failure_threshold = (unsigned)c->probe[t].failure;
	}
}

static void fsm_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fsm_case *c = &cases[i];
		struct probe_params p[PROBE_TYPE_COUNT];
		struct probe_fsm f;

		params_of(c, p);
		probe_fsm_init(&f, p, 0);
		if (flags_of(&f.st) != c->flags0)
			fail_msg("case '%s': flags after init %u, want %u", c->name, flags_of(&f.st), c->flags0);
		for (size_t k = 0; k < sizeof(c->rows) / sizeof(c->rows[0]) && c->rows[k].op != OP_END; k++) {
			const struct row *r = &c->rows[k];
			struct probe_fsm_actions act;
			unsigned changed = 0;
			int64_t next;

			switch (r->op) {
			case OP_STEP:
				probe_fsm_step(&f, r->at, &act);
				if (act.start != r->start || act.expired != r->expired || act.changed != r->changed)
					fail_msg("case '%s' row %zu (step at %lld): start %#x expired %#x changed %#x, "
						 "want %#x %#x %#x", c->name, k, (long long)r->at, act.start, act.expired,
						 act.changed, r->start, r->expired, r->changed);
				break;
			case OP_RESULT:
				changed = probe_fsm_result(&f, r->type, r->res, "detail", r->at);
				if (changed != r->changed)
					fail_msg("case '%s' row %zu (%s %s at %lld): changed %#x, want %#x", c->name, k,
						 probe_type_name(r->type), probe_result_name(r->res), (long long)r->at,
						 changed, r->changed);
				break;
			case OP_NEXT:
				next = probe_fsm_next(&f);
				if (next != r->at)
					fail_msg("case '%s' row %zu: next %lld, want %lld", c->name, k, (long long)next,
						 (long long)r->at);
				continue;
			case OP_END:
				break;
			}
			if (flags_of(&f.st) != r->flags)
				fail_msg("case '%s' row %zu: flags %#x, want %#x", c->name, k, flags_of(&f.st), r->flags);
		}
	}
}

static void start_one(struct probe_fsm *f, int64_t at, unsigned want)
{
	struct probe_fsm_actions act;

	probe_fsm_step(f, at, &act);
	assert_int_equal(act.start, want);
}

/* Counters, ready_since and the messages the engine shows. */
static void fsm_counts_and_messages(void **state)
{
	struct probe_params p[PROBE_TYPE_COUNT];
	struct probe_fsm f;
	struct probe_fsm_actions act;

	(void)state;
	memset(p, 0, sizeof(p));
	p[PROBE_READINESS] = (struct probe_params){ 1, 0, 1000, 500, 2, 3 };
	probe_fsm_init(&f, p, 100);
	assert_int_equal(f.st.ready_since_ms, -1);
	assert_int_equal(f.st.started_since_ms, 100);

	start_one(&f, 100, B_R);
	probe_fsm_result(&f, RD, FAIL, "GET http://127.0.0.1:32771/q/health/ready: 503", 110);
	assert_string_equal(f.st.last_message, "readiness: GET http://127.0.0.1:32771/q/health/ready: 503");
	assert_string_equal(f.st.last_failure, f.st.last_message);
	assert_int_equal(f.st.consecutive_fail[RD], 1);
	assert_int_equal(f.st.consecutive_ok[RD], 0);

	start_one(&f, 1100, B_R);
	probe_fsm_result(&f, RD, OK, "GET http://127.0.0.1:32771/q/health/ready: 200", 1110);
	start_one(&f, 2100, B_R);
	probe_fsm_result(&f, RD, OK, "GET http://127.0.0.1:32771/q/health/ready: 200", 2110);
	assert_int_equal(f.st.ready, 1);
	assert_int_equal(f.st.ready_since_ms, 2110);
	assert_int_equal(f.st.consecutive_ok[RD], 2);
	assert_int_equal(f.st.consecutive_fail[RD], 0);
	assert_int_equal(f.st.attempts[RD], 3);
	assert_string_equal(f.st.last_message, "readiness: GET http://127.0.0.1:32771/q/health/ready: 200");
	/* The failure stays on record for the status note. */
	assert_string_equal(f.st.last_failure, "readiness: GET http://127.0.0.1:32771/q/health/ready: 503");

	/* An expiry names what the driver said the attempt does. */
	start_one(&f, 3100, B_R);
	snprintf(f.slot[RD].desc, sizeof(f.slot[RD].desc), "tcp 127.0.0.1:9");
	probe_fsm_step(&f, 3600, &act);
	assert_int_equal(act.expired, B_R);
	assert_string_equal(f.st.last_failure, "readiness: tcp 127.0.0.1:9: timed out after 500 ms");
	assert_int_equal(f.st.ready, 1);
	assert_int_equal(f.st.ready_since_ms, 2110);
}

/* The timing probe_params_from_spec gave p: its delay, period and timeout (ms) and thresholds. */
static void expect_timing(const struct probe_params *p, int64_t delay, int64_t period, int64_t timeout,
			  int success, int failure)
{
	assert_int_equal(p->initial_delay_ms, delay);
	assert_int_equal(p->period_ms, period);
	assert_int_equal(p->timeout_ms, timeout);
	assert_int_equal(p->success_threshold, success);
	assert_int_equal(p->failure_threshold, failure);
}

static void params_from_spec(void **state)
{
	struct spec_probe sp;
	struct probe_params p;

	(void)state;
	memset(&sp, 0, sizeof(sp));
	probe_params_from_spec(&p, &sp);
	assert_int_equal(p.configured, 0);

	sp.kind = SPEC_PROBE_HTTP;
	sp.initial_delay_seconds = 60;
	sp.period_seconds = 30;
	sp.timeout_seconds = 5;
	sp.success_threshold = 1;
	sp.failure_threshold = 2;
	probe_params_from_spec(&p, &sp);
	assert_int_equal(p.configured, 1);
	expect_timing(&p, 60000, 30000, 5000, 1, 2);

	/* Unset numbers take Kubernetes' defaults. */
	memset(&sp, 0, sizeof(sp));
	sp.kind = SPEC_PROBE_TCP;
	probe_params_from_spec(&p, &sp);
	expect_timing(&p, 0, 10000, 1000, 1, 3);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(probe_type_name(PROBE_STARTUP), "startup");
	assert_string_equal(probe_type_name(PROBE_READINESS), "readiness");
	assert_string_equal(probe_type_name(PROBE_LIVENESS), "liveness");
	assert_string_equal(probe_result_name(PROBE_TIMEOUT), "timeout");
}

TEST_MAIN(
	cmocka_unit_test(fsm_table),
	cmocka_unit_test(fsm_counts_and_messages),
	cmocka_unit_test(params_from_spec),
	cmocka_unit_test(names))
