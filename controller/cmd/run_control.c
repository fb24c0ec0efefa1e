/* Release controls asked through the HTTP API: carried to the loop, and the engine's verdict carried back. */
#include "cmd/run_control.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cmd/run_lease.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "util.h"

#define COMPONENT "run"

/* One request, shared by the HTTP thread that waits and the loop that decides: the last to let go frees it. */
struct ask {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	int done;
	struct engine *e;
	struct run_lease *lease;
	uint64_t shared;		/* run_lease_state_saved's ticket for what the request saved */
	struct engine_request rq;
	char *deployment, *by, *reason;
	int rc;
	struct error *err;
};

static void ask_unref(struct ask *a)
{
	int last;

	pthread_mutex_lock(&a->mu);
	last = --a->refs == 0;
	pthread_mutex_unlock(&a->mu);
	if (!last)
		return;
	error_free(a->err);
	FREE_ALL(a->deployment, a->by, a->reason);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* The loop's reference, when it stopped before it answered. */
static void ask_drop(void *arg)
{
	ask_unref(arg);
}

static void on_ask(struct loop *l, void *arg)
{
	struct ask *a = arg;
	struct error *err = NULL;
	uint64_t shared = 0;
	int rc;

	(void)l;
	rc = engine_control(a->e, &a->rq, &err);
	/* What the request saved goes to the state the instance shares now, not after the next pass. */
	if (rc == 0 && a->lease)
		shared = run_lease_state_saved(a->lease);
	pthread_mutex_lock(&a->mu);
	a->shared = shared;
	a->rc = rc;
	a->err = err;
	a->done = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	ask_unref(a);
}

int run_control_ask(struct loop *l, struct engine *e, struct run_lease *lease, const struct engine_request *rq,
		    long wait_ms, struct error **err)
{
	struct ask *a = xcalloc(1, sizeof(*a));
	struct timespec until;
	uint64_t shared = 0;
	int rc = 0, timed_out = 0;

	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->refs = 2;
	a->e = e;
	a->lease = lease;
	a->deployment = xstrdup(rq->deployment);
	a->by = xstrdup(rq->by);
	a->reason = xstrdup_or_null(rq->reason);
	a->rq = *rq;
	a->rq.deployment = a->deployment;
	a->rq.by = a->by;
	a->rq.reason = a->reason;
	if (loop_post_owned(l, on_ask, a, ask_drop) < 0) {
		a->refs = 1;
		ask_unref(a);
		return error_set(err, ERR_UNAVAILABLE, "the controller's loop does not answer");
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->mu);
	while (!a->done && !timed_out)
		timed_out = pthread_cond_timedwait(&a->cv, &a->mu, &until) == ETIMEDOUT;
	if (!a->done) {
		rc = error_set(err, ERR_UNAVAILABLE, "the controller's loop did not answer within %ld ms", wait_ms);
	} else if (a->rc < 0 && a->err == NULL) {
		rc = error_set(err, a->rc, "refused");
	} else if (a->rc < 0) {
		rc = a->rc;
		if (err)
			*err = a->err;
		else
			error_free(a->err);
		a->err = NULL;
	}
	shared = a->shared;
	pthread_mutex_unlock(&a->mu);
	ask_unref(a);
	/*
	 * Answered once a takeover would see it: the share written (or failed, to
	 * be tried again at the next renewal; the change is saved here either way).
	 */
	if (rc == 0 && run_lease_wait_shared(lease, shared, wait_ms) < 0)
		log_warn(COMPONENT, "answered before the change was shared: the lease's thread is busy", LOG_END);
	return rc;
}
