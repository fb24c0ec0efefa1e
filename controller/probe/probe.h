/* Container health probes: startup, readiness and liveness over HTTP, TCP and exec, with Kubernetes' meaning, run on the loop. */
#ifndef AURIGA_PROBE_H
#define AURIGA_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct loop;
struct http_client;
struct docker;
struct spec_container;
struct spec_probe;
struct spec_probes;

/*
 * One struct probe_runner watches one container. It runs the container's
 * three probes on the loop (one timer per runner, no threads, nothing
 * blocking) and combines their results exactly as the kubelet does:
 *
 * - A startup probe, when configured, holds readiness and liveness back
 *   until it has succeeded once; failureThreshold consecutive failures mean
 *   the container failed to start (startup_failed). Without a startup probe
 *   the container counts as started from started_at_ms (the runner takes
 *   the container to be running: the engine frees it when it stops).
 * - Readiness: a container with a readiness probe is not ready before its
 *   first results; it becomes ready after successThreshold consecutive
 *   successes and not ready after failureThreshold consecutive failures.
 *   Without a readiness probe it is ready as soon as it is started.
 * - Liveness: failureThreshold consecutive failures set live_failed; the
 *   engine restarts the container.
 * - Each probe first runs initialDelaySeconds after the container started
 *   (when that is already past, as for a container adopted after a
 *   controller restart, within the next second, spread per container so
 *   that a fleet's probes do not all fire in the same instant), then every
 *   periodSeconds; an attempt that takes longer than
 *   timeoutSeconds is a failure. An attempt still running when the next is
 *   due delays the next until it ends (never two attempts of one probe).
 * - A failed liveness or startup probe stops running (the container is
 *   about to be restarted); probe_runner_restart() resumes from scratch.
 *
 * What the engine reads is struct probe_state; it is told of changes to the
 * four flags through the callback.
 */
struct probe_runner;

enum probe_type { PROBE_STARTUP, PROBE_READINESS, PROBE_LIVENESS, PROBE_TYPE_COUNT };

/* "startup", "readiness", "liveness". */
const char *probe_type_name(enum probe_type t);

/*
 * The outcome of one attempt. ERROR means the probe could not be run at all
 * for reasons outside the container (Docker's breaker open, bulkhead full,
 * the container gone, no address for the port): as in the kubelet such a
 * result is thrown away, it counts neither as success nor as failure.
 */
enum probe_result { PROBE_SUCCESS, PROBE_FAILURE, PROBE_TIMEOUT, PROBE_ERROR };

const char *probe_result_name(enum probe_result r);

#define PROBE_MESSAGE_MAX 256

struct probe_state {
	int started;		/* running and the startup probe (if any) has succeeded */
	int ready;		/* see above; a liveness failure leaves it as it is, as in Kubernetes */
	int live_failed;	/* liveness failed failureThreshold times in a row: restart the container */
	int startup_failed;	/* the startup probe failed failureThreshold times in a row */
	unsigned consecutive_ok[PROBE_TYPE_COUNT];	/* current run of successes per probe */
	unsigned consecutive_fail[PROBE_TYPE_COUNT];	/* current run of failures (timeouts count) */
	unsigned attempts[PROBE_TYPE_COUNT];		/* attempts ended, any result */
	int64_t started_since_ms;	/* loop time started became 1; -1 while not started */
	int64_t ready_since_ms;		/* loop time ready became 1; -1 while not ready (minReadySeconds) */
	/* The latest attempt of any probe: "readiness: GET http://127.0.0.1:32771/q/health/ready: 503". */
	char last_message[PROBE_MESSAGE_MAX];
	/* The latest failure, kept when later attempts succeed: what the status note shows. */
	char last_failure[PROBE_MESSAGE_MAX];
};

/* Bits of the `changed` argument of the callback. */
enum probe_change {
	PROBE_CHANGED_STARTED = 1u << 0,
	PROBE_CHANGED_READY = 1u << 1,
	PROBE_CHANGED_LIVE_FAILED = 1u << 2,
	PROBE_CHANGED_STARTUP_FAILED = 1u << 3,
};

/*
 * Called on the loop thread whenever started, ready, live_failed or
 * startup_failed changes; changed says which. st is valid for the call
 * only. The callback may call probe_runner_free(r) or probe_runner_restart(r).
 */
typedef void (*probe_state_fn)(struct probe_runner *r, const struct probe_state *st, unsigned changed,
			       void *arg);

/*
 * Called on the loop thread with the outcome of every attempt (timeouts
 * included, and ERROR results that the state ignores): for metrics. It must
 * not free or restart the runner.
 */
typedef void (*probe_result_fn)(struct probe_runner *r, enum probe_type t, enum probe_result res, void *arg);

/* ------------------------------------------------------------ addressing */

#define PROBE_HOST_MAX 64

/* Where probe traffic for one container port goes: a numeric IPv4 or IPv6 address and a port. */
struct probe_target {
	char host[PROBE_HOST_MAX];
	int port;
};

/* One entry of a port map: container port -> where to reach it (its published port on 127.0.0.1). */
struct probe_port {
	int container_port;
	struct probe_target target;
};

/*
 * Resolves a container port to a target at the time of each attempt (so a
 * port published anew after a restart is picked up). Returns 0 with *out
 * filled, or -1 when the port cannot be reached now (the attempt is then an
 * ERROR result).
 */
typedef int (*probe_resolve_fn)(int container_port, struct probe_target *out, void *arg);

/* ---------------------------------------------------------------- runner */

/*
 * A cap on probe attempts in flight at once, shared by the runners given it
 * (the engine's, from the max-probes setting). An attempt that falls due
 * while max are in flight waits, in the order it fell due, until one ends:
 * nothing is refused, so no runner starves however the runners' periods
 * line up (after a pause of the process, or runners made together, every
 * attempt falls due in the same tick). The attempt's timeout counts from
 * when it starts. Reaching the cap is logged at most once a minute, with the
 * attempts that waited since, how many wait now, and the oldest attempt in
 * flight (what holds the budget).
 */
struct probe_attempt;
struct probe_runner;
struct probe_wait;
struct loop;
struct probe_budget {
	unsigned max;			/* 0: no cap */
	unsigned in_flight;
	struct probe_attempt *oldest;	/* the attempts in flight, oldest first */
	struct probe_attempt *newest;
	struct probe_wait *wait_head;	/* the attempts waiting, first come first */
	struct probe_wait *wait_tail;
	unsigned waiting;		/* attempts waiting */
	struct loop *loop;		/* the runners' loop, for the timer that starts waiting attempts */
	uint64_t timer;
	unsigned long waited;		/* attempts that had to wait, since the start */
	unsigned long waited_logged;	/* waited when the cap was last logged */
	int64_t logged_ms;		/* loop time of that log line; -1: never */
};

void probe_budget_init(struct probe_budget *b, unsigned max);
/* Stops the budget's timer; its runners must be freed first. */
void probe_budget_release(struct probe_budget *b);

struct probe_config {
	struct loop *loop;
	struct http_client *http;	/* for httpGet probes; may be NULL when none is configured */
	struct docker *docker;		/* for exec probes (DOCKER_PROBE kind); may be NULL when none */
	const char *container_id;	/* id or name, for exec and for messages */
	/*
	 * The container's template and probes: named ports are resolved through
	 * the template, and everything needed is copied, so both may be freed
	 * once probe_runner_new() returns.
	 */
	const struct spec_container *container;
	const struct spec_probes *probes;
	/*
	 * How container ports are reached, in this order: resolve (when set);
	 * else the entry of ports[] for the container port; else address (the
	 * container's address on a network auriga manages) with the container
	 * port itself; else the attempt is an ERROR. Copied.
	 */
	probe_resolve_fn resolve;
	void *resolve_arg;
	const struct probe_port *ports;
	size_t n_ports;
	const char *address;
	/*
	 * When the container started, in loop time (loop_now()); initial
	 * delays count from here. 0: now. An engine that adopts a running
	 * container converts Docker's StartedAt to loop time.
	 */
	int64_t started_at_ms;
	size_t max_body;		/* bound on a buffered HTTP answer (the excess is dropped, the status counts); 0: 1 KiB */
	probe_state_fn on_change;
	probe_result_fn on_result;	/* may be NULL; called with arg too */
	void *arg;
	struct probe_budget *budget;	/* may be NULL: no cap; must outlive the runner */
};

/*
 * Makes a runner and schedules the first attempts. The state right after
 * this is read with probe_runner_state() (without probes a container is
 * started and ready at once); the callback reports changes from then on. Returns NULL with *err
 * set (ERR_INVALID) when the probes cannot run: a port name the template
 * does not have, an exec probe without a command, an http probe without an
 * http client, an exec probe without a docker client.
 */
struct probe_runner *probe_runner_new(const struct probe_config *c, struct error **err);
/*
 * Cancels pending attempts and timers; no callback runs afterwards. NULL is
 * ignored. An exec attempt still inside Docker cannot be taken back: it is
 * left to end on its own and frees itself then (free the runners before the
 * docker client, and let the loop run out such calls).
 */
void probe_runner_free(struct probe_runner *r);
/* The combined state now; valid until the next loop callback or probe_runner_free(). */
const struct probe_state *probe_runner_state(const struct probe_runner *r);
/*
 * The container was restarted in place (same id): every probe starts over
 * as for a new container started at started_at_ms (0: now), with
 * initial delays, thresholds and gating reset. Attempts running are
 * cancelled. Calls the callback for the flags that change back.
 */
void probe_runner_restart(struct probe_runner *r, int64_t started_at_ms);
const char *probe_runner_container(const struct probe_runner *r);

/* -------------------------------------------- the pure state machine */

/*
 * The runner is a thin shell around this: a time-injected machine with no
 * I/O, unit-tested with tables. The driver asks it what to start
 * (probe_fsm_step), starts those attempts, reports each result
 * (probe_fsm_result), and sleeps until probe_fsm_next().
 */

/* One probe's settings, in milliseconds; configured 0: the probe is absent. */
struct probe_params {
	int configured;
	int64_t initial_delay_ms;
	int64_t period_ms;
	int64_t timeout_ms;
	unsigned success_threshold;
	unsigned failure_threshold;
};

/* Kubernetes' numbers from a spec probe (defaults already filled in by the spec loader). */
void probe_params_from_spec(struct probe_params *out, const struct spec_probe *p);

struct probe_fsm_slot {
	struct probe_params params;
	int64_t due_ms;		/* next attempt at this time (once allowed) */
	int64_t attempt_start_ms;	/* start of the attempt running; -1 when none */
	int held;		/* stopped: startup passed, or liveness/startup failed */
	int waiting;		/* due, but waits for the budget (probe_fsm_wait) */
	enum probe_result last;	/* last counted result */
	unsigned run;		/* consecutive counted results equal to last */
	/* What the running attempt does ("GET http://..."), set by the driver; names expirations. */
	char desc[PROBE_MESSAGE_MAX];
};

struct probe_fsm {
	struct probe_fsm_slot slot[PROBE_TYPE_COUNT];
	struct probe_state st;
};

/* Starts the machine for a container started at started_ms. */
void probe_fsm_init(struct probe_fsm *f, const struct probe_params params[PROBE_TYPE_COUNT], int64_t started_ms);

/* What probe_fsm_step asks the driver to do. */
struct probe_fsm_actions {
	unsigned start;		/* bit (1u << type): start an attempt of this probe now */
	unsigned expired;	/* bit (1u << type): the running attempt passed its timeout; cancel it (recorded as TIMEOUT) */
	unsigned changed;	/* PROBE_CHANGED_ bits from expirations */
};

/*
 * Advances to now: running attempts past their timeout are ended as
 * TIMEOUT failures, and probes that are due (and allowed: readiness and
 * liveness only once started) are marked running and returned in start.
 */
void probe_fsm_step(struct probe_fsm *f, int64_t now, struct probe_fsm_actions *out);

/*
 * Records the result of the running attempt of probe t (ignored when none
 * is running, e.g. after it expired). msg describes the attempt ("GET
 * http://...: 503") and becomes "<type>: <msg>" in the state. Returns the
 * PROBE_CHANGED_ bits.
 */
unsigned probe_fsm_result(struct probe_fsm *f, enum probe_type t, enum probe_result r, const char *msg,
			  int64_t now);

/* The earliest time probe_fsm_step has something to do; INT64_MAX when nothing ever will. */
int64_t probe_fsm_next(const struct probe_fsm *f);

/*
 * The attempt of probe t that probe_fsm_step just marked running cannot
 * start yet (the budget is spent): it is not running, and step neither
 * starts nor times it until probe_fsm_begin.
 */
void probe_fsm_wait(struct probe_fsm *f, enum probe_type t);

/*
 * The waiting attempt of probe t starts now (its timeout and the next
 * period count from now): 1, or 0 when none waits or the probe is no longer
 * allowed to run (then it no longer waits).
 */
int probe_fsm_begin(struct probe_fsm *f, enum probe_type t, int64_t now);

#endif
