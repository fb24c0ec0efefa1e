/* The probe runner: a container's three probes on the loop, combined by a pure state machine with Kubernetes' rules. */
#include "probe/probe.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "probe/probe_internal.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "spec.h"
#include "strv.h"
#include "util.h"

#define DEFAULT_BODY_MAX 1024

const char *probe_type_name(enum probe_type t)
{
	static const char *const names[PROBE_TYPE_COUNT] = { "startup", "readiness", "liveness" };

	return NAME_OF(names, t, "?");
}

const char *probe_result_name(enum probe_result r)
{
	static const char *const names[] = { "success", "failure", "timeout", "error" };

	return NAME_OF(names, r, "?");
}

/* ================================================================ the machine */

void probe_params_from_spec(struct probe_params *out, const struct spec_probe *p)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL || p->kind == SPEC_PROBE_NONE)
		return;
	out->configured = 1;
	/* The spec loader fills Kubernetes' defaults; these guard a hand-made spec. */
	out->initial_delay_ms = p->initial_delay_seconds > 0 ? (int64_t)p->initial_delay_seconds * 1000 : 0;
	out->period_ms = (int64_t)(p->period_seconds > 0 ? p->period_seconds : 10) * 1000;
	out->timeout_ms = (int64_t)(p->timeout_seconds > 0 ? p->timeout_seconds : 1) * 1000;
	out->success_threshold = p->success_threshold > 0 ? (unsigned)p->success_threshold : 1;
	out->failure_threshold = p->failure_threshold > 0 ? (unsigned)p->failure_threshold : 3;
}

static void fsm_set_ready(struct probe_fsm *f, int ready, int64_t now, unsigned *changed)
{
	if (f->st.ready == ready)
		return;
	f->st.ready = ready;
	f->st.ready_since_ms = ready ? now : -1;
	*changed |= PROBE_CHANGED_READY;
}

static void fsm_set_started(struct probe_fsm *f, int64_t now, unsigned *changed)
{
	if (f->st.started)
		return;
	f->st.started = 1;
	f->st.started_since_ms = now;
	*changed |= PROBE_CHANGED_STARTED;
	/* Without a readiness probe, started is ready. */
	if (!f->slot[PROBE_READINESS].params.configured)
		fsm_set_ready(f, 1, now, changed);
	/*
	 * Readiness and liveness were held back; their initial delays count
	 * from the container's start, so whatever is already past is due now.
	 */
	for (int t = PROBE_READINESS; t <= PROBE_LIVENESS; t++)
		if (f->slot[t].due_ms < now)
			f->slot[t].due_ms = now;
}

void probe_fsm_init(struct probe_fsm *f, const struct probe_params params[PROBE_TYPE_COUNT], int64_t started_ms)
{
	unsigned ignored = 0;

	memset(f, 0, sizeof(*f));
	f->st.started_since_ms = -1;
	f->st.ready_since_ms = -1;
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		struct probe_fsm_slot *s = &f->slot[t];

		s->params = params[t];
		if (s->params.configured) {
			if (s->params.period_ms <= 0)
				s->params.period_ms = 10000;
			if (s->params.timeout_ms <= 0)
				s->params.timeout_ms = 1000;
			if (s->params.success_threshold == 0)
				s->params.success_threshold = 1;
			if (s->params.failure_threshold == 0)
				s->params.failure_threshold = 3;
			if (s->params.initial_delay_ms < 0)
				s->params.initial_delay_ms = 0;
		}
		s->due_ms = started_ms + s->params.initial_delay_ms;
		s->attempt_start_ms = -1;
		s->last = PROBE_SUCCESS;
	}
	if (!f->slot[PROBE_STARTUP].params.configured)
		fsm_set_started(f, started_ms, &ignored);
}

static int fsm_allowed(const struct probe_fsm *f, enum probe_type t)
{
	const struct probe_fsm_slot *s = &f->slot[t];

	if (!s->params.configured || s->held)
		return 0;
	if (t == PROBE_STARTUP)
		return 1;
	return f->st.started && !f->st.startup_failed;
}

static void fsm_message(char *dst, enum probe_type t, const char *msg)
{
	snprintf(dst, PROBE_MESSAGE_MAX, "%s: %s", probe_type_name(t), msg != NULL && *msg ? msg : "(no detail)");
}

static unsigned fsm_count(struct probe_fsm *f, enum probe_type t, enum probe_result r, int64_t now)
{
	struct probe_fsm_slot *s = &f->slot[t];
	enum probe_result counted = r == PROBE_SUCCESS ? PROBE_SUCCESS : PROBE_FAILURE;
	unsigned changed = 0;

	if (s->run > 0 && s->last == counted) {
		s->run++;
	} else {
		s->last = counted;
		s->run = 1;
	}
	f->st.consecutive_ok[t] = counted == PROBE_SUCCESS ? s->run : 0;
	f->st.consecutive_fail[t] = counted == PROBE_FAILURE ? s->run : 0;

	if (counted == PROBE_SUCCESS && s->run >= s->params.success_threshold) {
		if (t == PROBE_STARTUP) {
			/* Startup has done its work: it never runs again for this container. */
			s->held = 1;
			fsm_set_started(f, now, &changed);
		} else if (t == PROBE_READINESS) {
			fsm_set_ready(f, 1, now, &changed);
		}
	} else if (counted == PROBE_FAILURE && s->run >= s->params.failure_threshold) {
		if (t == PROBE_STARTUP) {
			s->held = 1;
			if (!f->st.startup_failed) {
				f->st.startup_failed = 1;
				changed |= PROBE_CHANGED_STARTUP_FAILED;
			}
		} else if (t == PROBE_READINESS) {
			fsm_set_ready(f, 0, now, &changed);
		} else {
			/*
			 * As the kubelet: stop probing a container that is
			 * about to be restarted.
			 */
			s->held = 1;
			if (!f->st.live_failed) {
				f->st.live_failed = 1;
				changed |= PROBE_CHANGED_LIVE_FAILED;
			}
		}
	}
	return changed;
}

unsigned probe_fsm_result(struct probe_fsm *f, enum probe_type t, enum probe_result r, const char *msg,
			  int64_t now)
{
	struct probe_fsm_slot *s;
	unsigned changed = 0;

	if ((unsigned)t >= PROBE_TYPE_COUNT)
		BUG("probe type %d", (int)t);
	s = &f->slot[t];
	if (s->attempt_start_ms < 0)
		return 0;
	s->attempt_start_ms = -1;
	s->desc[0] = '\0';
	f->st.attempts[t]++;
	fsm_message(f->st.last_message, t, msg);
	/* A probe that could not run says nothing about the container. */
	if (r == PROBE_ERROR)
		return 0;
	if (r != PROBE_SUCCESS)
		memcpy(f->st.last_failure, f->st.last_message, sizeof(f->st.last_failure));
	/* Held while running (startup passed meanwhile): the result no longer counts. */
	if (s->held)
		return 0;
	changed = fsm_count(f, t, r, now);
	/* An attempt longer than the period: the next one is due at once. */
	if (s->due_ms < now)
		s->due_ms = now;
	return changed;
}

void probe_fsm_step(struct probe_fsm *f, int64_t now, struct probe_fsm_actions *out)
{
	memset(out, 0, sizeof(*out));
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		struct probe_fsm_slot *s = &f->slot[t];
		char msg[PROBE_MESSAGE_MAX];

		if (s->attempt_start_ms < 0 || now < s->attempt_start_ms + s->params.timeout_ms)
			continue;
		snprintf(msg, sizeof(msg), "%s%stimed out after %" PRId64 " ms", s->desc, s->desc[0] ? ": " : "",
			 s->params.timeout_ms);
		out->expired |= 1u << t;
		out->changed |= probe_fsm_result(f, (enum probe_type)t, PROBE_TIMEOUT, msg, now);
	}
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		struct probe_fsm_slot *s = &f->slot[t];

		if (s->attempt_start_ms >= 0 || s->waiting || !fsm_allowed(f, (enum probe_type)t) || now < s->due_ms)
			continue;
		s->attempt_start_ms = now;
		s->due_ms = now + s->params.period_ms;
		s->desc[0] = '\0';
		out->start |= 1u << t;
	}
}

int64_t probe_fsm_next(const struct probe_fsm *f)
{
	int64_t next = INT64_MAX;

	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		const struct probe_fsm_slot *s = &f->slot[t];
		int64_t at;

		if (s->attempt_start_ms >= 0)
			at = s->attempt_start_ms + s->params.timeout_ms;
		else if (s->waiting)
			continue;
		else if (fsm_allowed(f, (enum probe_type)t))
			at = s->due_ms;
		else
			continue;
		if (at < next)
			next = at;
	}
	return next;
}

void probe_fsm_wait(struct probe_fsm *f, enum probe_type t)
{
	struct probe_fsm_slot *s = &f->slot[t];

	s->attempt_start_ms = -1;
	s->waiting = 1;
}

int probe_fsm_begin(struct probe_fsm *f, enum probe_type t, int64_t now)
{
	struct probe_fsm_slot *s = &f->slot[t];

	if (!s->waiting)
		return 0;
	s->waiting = 0;
	if (s->attempt_start_ms >= 0 || !fsm_allowed(f, t))
		return 0;
	s->attempt_start_ms = now;
	s->due_ms = now + s->params.period_ms;
	s->desc[0] = '\0';
	return 1;
}

/* ================================================================= the runner */

/* A probe's place in the budget's queue while its attempt waits. */
struct probe_wait {
	struct probe_runner *r;
	enum probe_type t;
	int queued;
	struct probe_wait *next, *prev;
};

struct probe_runner {
	struct loop *loop;
	struct http_client *http;
	struct docker *docker;
	char *container_id;
	struct probe_spec_copy spec[PROBE_TYPE_COUNT];
	probe_resolve_fn resolve;
	void *resolve_arg;
	struct probe_port *ports;
	size_t n_ports;
	char *address;
	size_t max_body;
	probe_state_fn on_change;
	probe_result_fn on_result;
	void *arg;
	struct probe_budget *budget;
	struct probe_wait wait[PROBE_TYPE_COUNT];	/* each probe's place in the budget's queue */

	struct probe_fsm fsm;
	struct probe_attempt *running[PROBE_TYPE_COUNT];
	uint64_t timer;
	int64_t timer_at;
	int depth;		/* nesting of pump/callback frames on the stack */
	int dead;		/* freed from inside a callback: release when the stack unwinds */
};

static void runner_pump(struct probe_runner *r, unsigned changed);
static void budget_kick(struct probe_budget *b);

/* Every attempt's outcome goes through here: into the machine, and to the owner's result callback. */
static unsigned runner_result(struct probe_runner *r, enum probe_type t, enum probe_result res, const char *msg,
			      int64_t now)
{
	unsigned before = r->fsm.st.attempts[t];
	unsigned changed = probe_fsm_result(&r->fsm, t, res, msg, now);

	/* A result the machine threw away (an attempt from before a restart) is not told either. */
	if (r->fsm.st.attempts[t] != before && r->on_result != NULL && !r->dead)
		r->on_result(r, t, res, r->arg);
	return changed;
}

static void spec_copy_release(struct probe_spec_copy *c)
{
	free(c->http_path);
	strv_free(c->http_headers);
	strv_free(c->exec_command);
	memset(c, 0, sizeof(*c));
}

static int spec_copy_init(struct probe_spec_copy *c, enum probe_type t, const struct spec_probe *p,
			  const struct probe_config *cfg, struct error **err)
{
	memset(c, 0, sizeof(*c));
	c->kind = p->kind;
	switch (p->kind) {
	case SPEC_PROBE_NONE:
		return 0;
	case SPEC_PROBE_HTTP:
		if (cfg->http == NULL)
			return error_set(err, ERR_INVALID, "%s probe of '%s': httpGet needs an http client",
					 probe_type_name(t), cfg->container_id);
		c->http_path = xstrdup(p->http_path != NULL && *p->http_path ? p->http_path : "/");
		c->http_https = p->http_https;
		c->http_headers = xcalloc(p->n_http_headers + 1, sizeof(char *));
		for (size_t i = 0; i < p->n_http_headers; i++) {
			struct buf b;

			buf_init(&b, 8192);
			if (buf_printf(&b, "%s: %s", p->http_headers[i].key, p->http_headers[i].value) < 0) {
				buf_release(&b);
				return error_set(err, ERR_INVALID, "%s probe of '%s': header '%s' is too long",
						 probe_type_name(t), cfg->container_id, p->http_headers[i].key);
			}
			c->http_headers[i] = buf_detach(&b, NULL);
		}
		break;
	case SPEC_PROBE_TCP:
		break;
	case SPEC_PROBE_EXEC:
		if (p->n_exec_command == 0)
			return error_set(err, ERR_INVALID, "%s probe of '%s': exec needs a command",
					 probe_type_name(t), cfg->container_id);
		if (cfg->docker == NULL)
			return error_set(err, ERR_INVALID, "%s probe of '%s': exec needs a docker client",
					 probe_type_name(t), cfg->container_id);
		c->exec_command = strv_copy(p->exec_command, p->n_exec_command);
		return 0;
	default:
		return error_set(err, ERR_INVALID, "%s probe of '%s': unknown kind %d", probe_type_name(t),
				 cfg->container_id, (int)p->kind);
	}

	/* httpGet and tcpSocket name a port of the container. */
	if (p->port.name != NULL && cfg->container != NULL)
		c->container_port = spec_container_port(cfg->container, &p->port);
	else if (p->port.name == NULL)
		c->container_port = p->port.number;
	if (c->container_port <= 0 || c->container_port > 65535) {
		if (p->port.name != NULL)
			return error_set(err, ERR_INVALID, "%s probe of '%s': port '%s' is not a port of the container",
					 probe_type_name(t), cfg->container_id, p->port.name);
		return error_set(err, ERR_INVALID, "%s probe of '%s': port %d is out of range",
				 probe_type_name(t), cfg->container_id, p->port.number);
	}
	return 0;
}

static int runner_target(struct probe_runner *r, int container_port, struct probe_target *out)
{
	memset(out, 0, sizeof(*out));
	if (r->resolve != NULL)
		return r->resolve(container_port, out, r->resolve_arg) == 0 && out->host[0] && out->port > 0 ? 0 : -1;
	for (size_t i = 0; i < r->n_ports; i++) {
		if (r->ports[i].container_port == container_port) {
			*out = r->ports[i].target;
			return out->host[0] && out->port > 0 ? 0 : -1;
		}
	}
	if (r->address != NULL) {
		snprintf(out->host, sizeof(out->host), "%s", r->address);
		out->port = container_port;
		return 0;
	}
	return -1;
}

/* dst = "<what>: <detail>", cut to fit; either part may be empty. */
static void join_message(char dst[PROBE_MESSAGE_MAX], const char *what, const char *detail)
{
	size_t o = 0;

	for (const char *p = what; *p && o + 1 < PROBE_MESSAGE_MAX; p++)
		dst[o++] = *p;
	if (what[0] && detail[0])
		for (const char *p = ": "; *p && o + 1 < PROBE_MESSAGE_MAX; p++)
			dst[o++] = *p;
	for (const char *p = detail; *p && o + 1 < PROBE_MESSAGE_MAX; p++)
		dst[o++] = *p;
	dst[o] = '\0';
}

/* An attempt that ends or is orphaned leaves the budget (an orphan may outlive its owner). */
static void attempt_unbudget(struct probe_attempt *a)
{
	struct probe_budget *b = a->budget;

	if (b == NULL)
		return;
	b->in_flight--;
	if (b->newest == a)
		b->newest = a->prev;
	DLIST_UNLINK(b->oldest, a);
	a->budget = NULL;
	/* A slot is free: the first attempt waiting takes it, from the loop. */
	if (b->wait_head != NULL)
		budget_kick(b);
}

static void attempt_budget(struct probe_attempt *a, struct probe_budget *b)
{
	if (b == NULL)
		return;
	a->budget = b;
	b->in_flight++;
	a->prev = b->newest;
	if (b->newest != NULL)
		b->newest->next = a;
	else
		b->oldest = a;
	b->newest = a;
}

void probe_attempt_free(struct probe_attempt *a)
{
	attempt_unbudget(a);
	free(a);
}

static void attempt_cancel(struct probe_runner *r, enum probe_type t)
{
	struct probe_attempt *a = r->running[t];

	if (a == NULL)
		return;
	r->running[t] = NULL;
	switch (a->spec->kind) {
	case SPEC_PROBE_HTTP:
		probe_http_cancel(a);
		break;
	case SPEC_PROBE_TCP:
		probe_tcp_cancel(a);
		break;
	case SPEC_PROBE_EXEC:
		/* Docker calls cannot be taken back: orphan it, it frees itself when Docker answers. */
		a->runner = NULL;
		attempt_unbudget(a);
		probe_exec_cancel(a);
		if (a->in_docker)
			return;
		break;
	default:
		break;
	}
	probe_attempt_free(a);
}

void probe_budget_init(struct probe_budget *b, unsigned max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->logged_ms = -1;
}

void probe_budget_release(struct probe_budget *b)
{
	if (b->timer != 0)
		loop_timer_cancel(b->loop, b->timer);
	b->timer = 0;
}

static void wait_unlink(struct probe_budget *b, struct probe_wait *w)
{
	if (!w->queued)
		return;
	w->queued = 0;
	b->waiting--;
	if (b->wait_tail == w)
		b->wait_tail = w->prev;
	DLIST_UNLINK(b->wait_head, w);
}

/* Takes the runner's waiting attempts out of the queue. */
static void budget_dequeue(struct probe_runner *r)
{
	for (int t = 0; t < PROBE_TYPE_COUNT && r->budget != NULL; t++)
		wait_unlink(r->budget, &r->wait[t]);
}

/* An attempt due while the budget is spent waits its turn; the cap logged at most once a minute. */
static void runner_wait(struct probe_runner *r, enum probe_type t, int64_t now)
{
	struct probe_budget *b = r->budget;
	struct probe_wait *w = &r->wait[t];

	probe_fsm_wait(&r->fsm, t);
	if (!w->queued) {
		w->r = r;
		w->t = t;
		w->queued = 1;
		w->prev = b->wait_tail;
		w->next = NULL;
		if (b->wait_tail != NULL)
			b->wait_tail->next = w;
		else
			b->wait_head = w;
		b->wait_tail = w;
		b->waiting++;
	}
	b->loop = r->loop;
	b->waited++;
	if (b->logged_ms < 0 || now - b->logged_ms >= 60000) {
		char max[16], n[24], nw[16], age[24];
		const struct probe_attempt *o = b->oldest;

		snprintf(max, sizeof(max), "%u", b->max);
		snprintf(n, sizeof(n), "%lu", b->waited - b->waited_logged);
		snprintf(nw, sizeof(nw), "%u", b->waiting);
		snprintf(age, sizeof(age), "%" PRId64 "ms", o != NULL ? now - o->started_ms : 0);
		log_warn("probe", "probe cap reached: attempts due wait until others end", "max-probes", max,
			 "waited", n, "waiting", nw, "container", r->container_id, "probe", probe_type_name(t),
			 "oldest_in_flight", o != NULL ? o->desc : "", "oldest_for", age, LOG_END);
		b->logged_ms = now;
		b->waited_logged = b->waited;
	}
}

/*
 * Starts one attempt of probe t; returns the PROBE_CHANGED_ bits of an
 * attempt that ended at once. Under a spent budget, or while others wait
 * (an attempt that just timed out must not take the slot it freed ahead of
 * them), it waits instead, unless its turn came (granted).
 */
static unsigned runner_start(struct probe_runner *r, enum probe_type t, int64_t now, int granted)
{
	const struct probe_spec_copy *spec = &r->spec[t];
	struct probe_budget *b = r->budget;
	struct probe_attempt *a;
	unsigned changed = 0;
	int rc;

	if (!granted && b != NULL && b->max > 0 && (b->in_flight >= b->max || b->wait_head != NULL)) {
		runner_wait(r, t, now);
		return 0;
	}
	a = xcalloc(1, sizeof(*a));
	a->runner = r;
	a->type = t;
	a->spec = spec;
	a->loop = r->loop;
	a->http = r->http;
	a->docker = r->docker;
	a->container_id = r->container_id;
	a->timeout_ms = r->fsm.slot[t].params.timeout_ms;
	a->max_body = r->max_body;
	a->fd = -1;
	if (spec->kind == SPEC_PROBE_HTTP || spec->kind == SPEC_PROBE_TCP) {
		if (runner_target(r, spec->container_port, &a->target) < 0) {
			char msg[PROBE_MESSAGE_MAX];

			snprintf(msg, sizeof(msg), "no address for container port %d of '%s'", spec->container_port,
				 r->container_id);
			changed = runner_result(r, t, PROBE_ERROR, msg, now);
			probe_attempt_free(a);
			return changed;
		}
	}
	switch (spec->kind) {
	case SPEC_PROBE_HTTP:
		rc = probe_http_start(a);
		break;
	case SPEC_PROBE_TCP:
		rc = probe_tcp_start(a);
		break;
	case SPEC_PROBE_EXEC:
		rc = probe_exec_start(a);
		break;
	default:
		BUG("probe kind %d", spec->kind);
	}
	snprintf(r->fsm.slot[t].desc, sizeof(r->fsm.slot[t].desc), "%s", a->desc);
	if (rc == 0) {
		r->running[t] = a;
		a->started_ms = now;
		attempt_budget(a, r->budget);
		return 0;
	}
	{
		char msg[PROBE_MESSAGE_MAX];

		join_message(msg, a->desc, a->message);
		changed = runner_result(r, t, a->result, msg, now);
	}
	probe_attempt_free(a);
	return changed;
}

/*
 * Runners made together for containers that started long ago (a controller
 * adopting its fleet after a restart) would all probe in the same
 * millisecond, every period, for ever. A first attempt that is already due
 * is moved by a fixed amount per container and probe, below a second (or the
 * period, when shorter), so the bursts spread without delaying much.
 */
static void runner_spread(struct probe_runner *r, int64_t now)
{
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		struct probe_fsm_slot *s = &r->fsm.slot[t];
		uint32_t h = 2166136261u;
		int64_t span;

		/* probe_fsm_init made every configured period positive. */
		if (!s->params.configured || s->due_ms >= now)
			continue;
		span = s->params.period_ms < 1000 ? s->params.period_ms : 1000;
		for (const char *p = r->container_id; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		h = (h ^ (uint32_t)t) * 16777619u;
		s->due_ms = now + (int64_t)(h % (uint32_t)span);
	}
}

static void runner_release(struct probe_runner *r)
{
	budget_dequeue(r);
	for (int t = 0; t < PROBE_TYPE_COUNT; t++)
		attempt_cancel(r, (enum probe_type)t);
	if (r->timer != 0)
		loop_timer_cancel(r->loop, r->timer);
	r->timer = 0;
}

static void runner_destroy(struct probe_runner *r)
{
	runner_release(r);
	for (int t = 0; t < PROBE_TYPE_COUNT; t++)
		spec_copy_release(&r->spec[t]);
	FREE_ALL(r->container_id, r->ports, r->address);
	free(r);
}

static void runner_timer(struct loop *l, void *arg)
{
	struct probe_runner *r = arg;

	(void)l;
	r->timer = 0;
	runner_pump(r, 0);
}

static void runner_arm(struct probe_runner *r, int64_t now)
{
	int64_t next = probe_fsm_next(&r->fsm);

	if (r->timer != 0 && r->timer_at == next)
		return;
	if (r->timer != 0)
		loop_timer_cancel(r->loop, r->timer);
	r->timer = 0;
	if (next == INT64_MAX)
		return;
	r->timer_at = next;
	r->timer = loop_timer_add(r->loop, next > now ? next - now : 0, runner_timer, r);
}

/*
 * Runs the machine until it has nothing more to do now (expire, start,
 * report what ended at once), arms the timer for the next thing, then tells
 * the owner what changed. The owner's callback may free the runner.
 */
static void runner_pump(struct probe_runner *r, unsigned changed)
{
	int64_t now = loop_now(r->loop);

	r->depth++;
	for (int round = 0; round < 8 && !r->dead; round++) {
		struct probe_fsm_actions act;

		probe_fsm_step(&r->fsm, now, &act);
		changed |= act.changed;
		for (int t = 0; t < PROBE_TYPE_COUNT; t++)
			if (act.expired & (1u << t)) {
				/* The machine recorded the timeout itself; the owner hears of it here. */
				if (r->on_result != NULL && !r->dead)
					r->on_result(r, (enum probe_type)t, PROBE_TIMEOUT, r->arg);
				attempt_cancel(r, (enum probe_type)t);
			}
		if (act.start == 0)
			break;
		for (int t = 0; t < PROBE_TYPE_COUNT; t++)
			if (act.start & (1u << t))
				changed |= runner_start(r, (enum probe_type)t, now, 0);
	}
	runner_arm(r, now);
	if (changed != 0 && r->on_change != NULL && !r->dead)
		r->on_change(r, &r->fsm.st, changed, r->arg);
	r->depth--;
	if (r->dead && r->depth == 0)
		runner_destroy(r);
}

/* Starts waiting attempts, first come first, while the budget has room. */
static void budget_timer(struct loop *l, void *arg)
{
	struct probe_budget *b = arg;

	(void)l;
	b->timer = 0;
	/* One attempt at a time, in the order they fell due. */
	while (b->wait_head != NULL && b->in_flight < b->max) {
		struct probe_wait *w = b->wait_head;
		struct probe_runner *r = w->r;
		enum probe_type t = w->t;
		int64_t now = loop_now(r->loop);
		unsigned changed = 0;

		wait_unlink(b, w);
		r->depth++;
		if (probe_fsm_begin(&r->fsm, t, now))
			changed = runner_start(r, t, now, 1);
		r->depth--;
		/* The pump arms its timer, tells the owner what changed, and may free it. */
		runner_pump(r, changed);
	}
}

static void budget_kick(struct probe_budget *b)
{
	if (b->timer == 0 && b->loop != NULL)
		b->timer = loop_timer_add(b->loop, 0, budget_timer, b);
}

void probe_notify_done(struct probe_attempt *a, enum probe_result res, const char *fmt, ...)
{
	struct probe_runner *r = a->runner;
	char detail[PROBE_MESSAGE_MAX];
	char msg[PROBE_MESSAGE_MAX];
	unsigned changed;
	va_list ap;

	if (r == NULL) {
		probe_attempt_free(a);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	join_message(msg, a->desc, detail);
	if (r->running[a->type] == a)
		r->running[a->type] = NULL;
	changed = runner_result(r, a->type, res, msg, loop_now(r->loop));
	probe_attempt_free(a);
	runner_pump(r, changed);
}

struct probe_runner *probe_runner_new(const struct probe_config *c, struct error **err)
{
	struct probe_runner *r = NULL;
	struct probe_params params[PROBE_TYPE_COUNT];
	const struct spec_probe *specs[PROBE_TYPE_COUNT];
	struct probe_runner *ret = NULL;
	int64_t started;

	if (c == NULL || c->loop == NULL || c->container_id == NULL || c->probes == NULL) {
		error_set(err, ERR_INVALID, "probe runner: loop, container id and probes are required");
		goto out;
	}
	specs[PROBE_STARTUP] = &c->probes->startup;
	specs[PROBE_READINESS] = &c->probes->readiness;
	specs[PROBE_LIVENESS] = &c->probes->liveness;

	r = xcalloc(1, sizeof(*r));
	r->loop = c->loop;
	r->http = c->http;
	r->docker = c->docker;
	r->container_id = xstrdup(c->container_id);
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		if (spec_copy_init(&r->spec[t], (enum probe_type)t, specs[t], c, err) < 0)
			goto out;
		probe_params_from_spec(&params[t], specs[t]);
	}
	r->resolve = c->resolve;
	r->resolve_arg = c->resolve_arg;
	if (c->n_ports > 0) {
		r->ports = xcalloc(c->n_ports, sizeof(*r->ports));
		memcpy(r->ports, c->ports, c->n_ports * sizeof(*r->ports));
		r->n_ports = c->n_ports;
	}
	r->address = xstrdup_or_null(c->address);
	r->max_body = c->max_body > 0 ? c->max_body : DEFAULT_BODY_MAX;
	r->on_change = c->on_change;
	r->on_result = c->on_result;
	r->arg = c->arg;
	r->budget = c->budget;

	started = c->started_at_ms != 0 ? c->started_at_ms : loop_now(c->loop);
	probe_fsm_init(&r->fsm, params, started);
	runner_spread(r, loop_now(c->loop));
	/* The first attempts: run from the loop, never from inside the caller. */
	runner_arm(r, loop_now(c->loop));
	ret = r;
	r = NULL;
out:
	if (r != NULL)
		runner_destroy(r);
	return ret;
}

void probe_runner_free(struct probe_runner *r)
{
	if (r == NULL)
		return;
	if (r->depth > 0) {
		/* Inside our own callback: stop everything now, free when the stack unwinds. */
		r->dead = 1;
		runner_release(r);
		return;
	}
	runner_destroy(r);
}

const struct probe_state *probe_runner_state(const struct probe_runner *r)
{
	return &r->fsm.st;
}

const char *probe_runner_container(const struct probe_runner *r)
{
	return r->container_id;
}

void probe_runner_restart(struct probe_runner *r, int64_t started_at_ms)
{
	struct probe_params params[PROBE_TYPE_COUNT];
	struct probe_state old = r->fsm.st;
	int64_t now = loop_now(r->loop);
	unsigned changed = 0;

	if (r->dead)
		return;
	budget_dequeue(r);
	for (int t = 0; t < PROBE_TYPE_COUNT; t++) {
		attempt_cancel(r, (enum probe_type)t);
		params[t] = r->fsm.slot[t].params;
	}
	probe_fsm_init(&r->fsm, params, started_at_ms != 0 ? started_at_ms : now);
	/* Messages stay: they explain why the container was restarted. */
	memcpy(r->fsm.st.last_message, old.last_message, sizeof(old.last_message));
	memcpy(r->fsm.st.last_failure, old.last_failure, sizeof(old.last_failure));
	if (old.started != r->fsm.st.started)
		changed |= PROBE_CHANGED_STARTED;
	if (old.ready != r->fsm.st.ready)
		changed |= PROBE_CHANGED_READY;
	if (old.live_failed != r->fsm.st.live_failed)
		changed |= PROBE_CHANGED_LIVE_FAILED;
	if (old.startup_failed != r->fsm.st.startup_failed)
		changed |= PROBE_CHANGED_STARTUP_FAILED;
	runner_pump(r, changed);
}
