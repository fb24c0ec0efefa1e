/* The Git source's worker thread: fetch on start, on an interval and on demand; note pushes; reports back. */
#include "source/gitsrc_worker.h"

#include "runtime/log.h"
#include "runtime/loop.h"
#include "status/notes.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct note_job {
	char *commit;
	char *text;
	char *notes_ref;	/* NULL: the worker's */
	int push;		/* -1: the worker's */
};

struct gitsrc_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;	/* wakes the worker */
	pthread_cond_t reported;	/* wakes gitsrc_worker_wait */
	struct gitsrc *src;
	struct gitsrc_worker_config cfg;
	char *notes_ref;
	char *watch_ref;	/* NULL: none */
	char *pull_ref;		/* a notes ref merged with the remote's after each fetch; NULL: none */
	gitsrc_report_fn fn;
	void *arg;
	struct loop *loop;
	int stop;
	int fetch_wanted;
	int64_t next_fetch;	/* monotonic ms */
	unsigned failures;
	struct note_job *notes;
	size_t nnotes, notes_cap;
	struct gitsrc_report **queue;
	size_t nqueue, queue_cap;
	gitsrc_fence_fn fence;	/* set before the thread starts, or under mu */
	void *fence_arg;
};

void gitsrc_report_free(struct gitsrc_report *r)
{
	if (r == NULL)
		return;
	gitsrc_fetch_result_release(&r->fetch);
	error_free(r->err);
	free(r);
}

/* Delivery through the loop: the report rides along with the call. */
struct loop_delivery {
	gitsrc_report_fn fn;
	void *arg;
	struct gitsrc_report *r;
};

static void deliver_on_loop(struct loop *l, void *p)
{
	struct loop_delivery *d = p;

	(void)l;
	d->fn(d->arg, d->r);
	free(d);
}

/* A delivery the loop never ran (it stopped first). */
static void drop_delivery(void *p)
{
	struct loop_delivery *d = p;

	gitsrc_report_free(d->r);
	free(d);
}

static void report(struct gitsrc_worker *w, struct gitsrc_report *r)
{
	if (w->loop) {
		struct loop_delivery *d;
		int stopping;

		/* A job that ends after the stop (a fetch that hung until then) reaches no loop: it runs no more. */
		pthread_mutex_lock(&w->mu);
		stopping = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stopping) {
			gitsrc_report_free(r);
			return;
		}
		d = xmalloc(sizeof(*d));

		d->fn = w->fn;
		d->arg = w->arg;
		d->r = r;
		if (loop_post_owned(w->loop, deliver_on_loop, d, drop_delivery) < 0) {
			log_error("gitsrc", "cannot wake the loop: report dropped", LOG_END);
			free(d);
			gitsrc_report_free(r);
		}
		return;
	}
	if (w->fn) {
		w->fn(w->arg, r);
		return;
	}
	pthread_mutex_lock(&w->mu);
	XGROW(w->queue, w->queue_cap, w->nqueue + 1); /* NOLINT(bugprone-sizeof-expression): an array of pointers */
	w->queue[w->nqueue++] = r;
	pthread_cond_broadcast(&w->reported);
	pthread_mutex_unlock(&w->mu);
}

/* The watched notes ref as the remote has it, before the fetch is reported: its reader sees it with the head. */
static void fetch_watched(struct gitsrc_worker *w)
{
	struct error *e = NULL;
	char *ref;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	ref = w->watch_ref ? xstrdup(w->watch_ref) : NULL;
	pthread_mutex_unlock(&w->mu);
	if (ref)
		rc = gitsrc_fetch_ref(w->src, ref, ref, &e);
	if (rc < 0 && rc != ERR_NOTFOUND)
		log_warn("gitsrc", "cannot fetch the watched notes", "ref", ref, "error", error_msg(e), LOG_END);
	error_free(e);
	free(ref);
}

/* The pulled notes ref merged with the remote's (notes written here and not pushed yet stay). */
static void pull_notes(struct gitsrc_worker *w)
{
	struct error *e = NULL;
	char *ref;

	pthread_mutex_lock(&w->mu);
	ref = xstrdup_or_null(w->pull_ref);
	pthread_mutex_unlock(&w->mu);
	if (ref && notes_pull(w->src, ref, &e) < 0)
		log_warn("gitsrc", "cannot pull the notes", "ref", ref, "error", error_msg(e), LOG_END);
	error_free(e);
	free(ref);
}

void gitsrc_worker_pull(struct gitsrc_worker *w, const char *ref)
{
	pthread_mutex_lock(&w->mu);
	if (!(ref && w->pull_ref && strcmp(ref, w->pull_ref) == 0)) {
		free(w->pull_ref);
		w->pull_ref = xstrdup_or_null(ref);
	}
	pthread_mutex_unlock(&w->mu);
}

void gitsrc_worker_watch(struct gitsrc_worker *w, const char *ref)
{
	pthread_mutex_lock(&w->mu);
	free(w->watch_ref);
	w->watch_ref = ref ? xstrdup(ref) : NULL;
	w->cfg.watch_ref = w->watch_ref;
	pthread_mutex_unlock(&w->mu);
}

static void do_fetch(struct gitsrc_worker *w)
{
	struct gitsrc_report *r = xcalloc(1, sizeof(*r));
	int64_t now, began = now_ms();

	r->job = GITSRC_JOB_FETCH;
	r->ok = gitsrc_fetch(w->src, &r->fetch, &r->err) == 0;
	if (r->ok) {
		fetch_watched(w);
		pull_notes(w);
	}
	now = now_ms();
	r->duration_ms = now - began;
	pthread_mutex_lock(&w->mu);
	if (r->ok) {
		w->failures = 0;
		w->next_fetch = w->cfg.interval_ms >= 0 ? now + w->cfg.interval_ms : INT64_MAX;
	} else {
		w->failures++;
		w->next_fetch = now + gitsrc_backoff_ms(w->failures, w->cfg.retry_min_ms, w->cfg.retry_max_ms);
		r->retry_at_ms = w->next_fetch;
	}
	r->failures = w->failures;
	pthread_mutex_unlock(&w->mu);
	/* A head the source's checks refuse is the owner's to log, once, not at every attempt. */
	if (!r->ok && error_code(r->err) != ERR_REFUSED)
		log_warn("gitsrc", "fetch failed; the last good commit stays", "url", gitsrc_url(w->src), "error",
			 error_msg(r->err), LOG_END);
	report(w, r);
}

void gitsrc_worker_set_fence(struct gitsrc_worker *w, gitsrc_fence_fn fn, void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->fence = fn;
	w->fence_arg = arg;
	pthread_mutex_unlock(&w->mu);
}

/* 1 when the fence refuses the note (r then says why), checked just before it is written. */
static int note_fenced(struct gitsrc_worker *w, struct gitsrc_report *r)
{
	gitsrc_fence_fn fn;
	void *arg;
	char why[512];

	pthread_mutex_lock(&w->mu);
	fn = w->fence;
	arg = w->fence_arg;
	pthread_mutex_unlock(&w->mu);
	why[0] = '\0';
	if (fn == NULL || fn(arg, why, sizeof(why)) == 0)
		return 0;
	r->ok = 0;
	r->fenced = 1;
	error_set(&r->err, ERR_REFUSED, "status note on %s not written: %s", r->note_commit, why);
	return 1;
}

static void do_note(struct gitsrc_worker *w, struct note_job *job)
{
	struct gitsrc_report *r = xcalloc(1, sizeof(*r));
	int64_t began = now_ms();

	r->job = GITSRC_JOB_NOTE;
	snprintf(r->note_commit, sizeof(r->note_commit), "%s", job->commit);
	if (note_fenced(w, r))
		goto out;
	r->ok = notes_publish(w->src, job->notes_ref ? job->notes_ref : w->notes_ref, job->commit, job->text,
			      job->push >= 0 ? job->push : w->cfg.notes_push, &r->err) == 0;
	r->duration_ms = now_ms() - began;
	if (!r->ok)
		log_warn("gitsrc", "status note not published", "commit", job->commit, "error", error_msg(r->err), LOG_END);
out:
	FREE_ALL(job->commit, job->text, job->notes_ref);
	report(w, r);
}

static void *worker_main(void *p)
{
	struct gitsrc_worker *w = p;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		int64_t now = now_ms();

		if (w->nnotes) {
			struct note_job job = w->notes[0];

			memmove(w->notes, w->notes + 1, (w->nnotes - 1) * sizeof(*w->notes));
			w->nnotes--;
			pthread_mutex_unlock(&w->mu);
			do_note(w, &job);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->fetch_wanted || now >= w->next_fetch) {
			w->fetch_wanted = 0;
			pthread_mutex_unlock(&w->mu);
			do_fetch(w);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		{
			struct timespec ts;
			int64_t wait = w->next_fetch - now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			timespec_add_ms(&ts, wait > 3600 * 1000 ? 3600 * 1000 : wait);
			pthread_cond_timedwait(&w->cond, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int start(struct gitsrc_worker **out, struct gitsrc *src, const struct gitsrc_worker_config *cfg,
		 struct loop *l, gitsrc_report_fn fn, void *arg, struct error **err)
{
	struct gitsrc_worker *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int e;

	*out = NULL;
	w->src = src;
	if (cfg)
		w->cfg = *cfg;
	if (w->cfg.interval_ms == 0)
		w->cfg.interval_ms = 60000;
	if (w->cfg.retry_min_ms <= 0)
		w->cfg.retry_min_ms = 1000;
	if (w->cfg.retry_max_ms <= 0)
		w->cfg.retry_max_ms = 300000;
	w->notes_ref = xstrdup(w->cfg.notes_ref ? w->cfg.notes_ref : NOTES_DEFAULT_REF);
	w->cfg.notes_ref = w->notes_ref;
	w->watch_ref = w->cfg.watch_ref ? xstrdup(w->cfg.watch_ref) : NULL;
	w->cfg.watch_ref = w->watch_ref;
	w->pull_ref = xstrdup_or_null(w->cfg.pull_ref);
	w->cfg.pull_ref = NULL;
	w->fn = fn;
	w->arg = arg;
	w->loop = l;
	w->fetch_wanted = 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_cond_init(&w->reported, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&w->thread, NULL, worker_main, w);
	if (e != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_cond_destroy(&w->reported);
		pthread_mutex_destroy(&w->mu);
		FREE_ALL(w->notes_ref, w->watch_ref, w->pull_ref);
		free(w);
		return error_set(err, -e, "cannot start the Git worker thread: %s", strerror(e));
	}
	*out = w;
	return 0;
}

int gitsrc_worker_start(struct gitsrc_worker **out, struct gitsrc *src, const struct gitsrc_worker_config *cfg,
			gitsrc_report_fn fn, void *arg, struct error **err)
{
	return start(out, src, cfg, NULL, fn, arg, err);
}

int gitsrc_worker_start_loop(struct gitsrc_worker **out, struct gitsrc *src,
			     const struct gitsrc_worker_config *cfg, struct loop *l, gitsrc_report_fn fn,
			     void *arg, struct error **err)
{
	if (l == NULL || fn == NULL)
		BUG("gitsrc_worker_start_loop needs a loop and a callback");
	return start(out, src, cfg, l, fn, arg, err);
}

void gitsrc_worker_stop(struct gitsrc_worker *w)
{
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	for (i = 0; i < w->nnotes; i++)
		FREE_ALL(w->notes[i].commit, w->notes[i].text, w->notes[i].notes_ref);
	free(w->notes);
	for (i = 0; i < w->nqueue; i++)
		gitsrc_report_free(w->queue[i]);
	free(w->queue);
	FREE_ALL(w->notes_ref, w->watch_ref, w->pull_ref);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->reported);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void gitsrc_worker_fetch_now(struct gitsrc_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->fetch_wanted = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

void gitsrc_worker_post_note(struct gitsrc_worker *w, const char *commit, const char *text, const char *notes_ref,
			     int push)
{
	struct note_job *job;
	size_t i;

	pthread_mutex_lock(&w->mu);
	/* A note on the same commit under another ref (an approval beside a status) is another job. */
	for (i = 0; i < w->nnotes; i++) {
		if (strcmp(w->notes[i].commit, commit) == 0 &&
		    (w->notes[i].notes_ref == NULL) == (notes_ref == NULL) &&
		    (notes_ref == NULL || strcmp(w->notes[i].notes_ref, notes_ref) == 0)) {
			job = &w->notes[i];
			free(job->text);
			free(job->notes_ref);
			goto set;
		}
	}
	XGROW(w->notes, w->notes_cap, w->nnotes + 1);
	job = &w->notes[w->nnotes++];
	job->commit = xstrdup(commit);
set:
	job->text = xstrdup(text);
	job->notes_ref = xstrdup_or_null(notes_ref);
	job->push = push;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static struct gitsrc_report *take(struct gitsrc_worker *w)
{
	struct gitsrc_report *r;

	if (w->nqueue == 0)
		return NULL;
	r = w->queue[0];
	memmove(w->queue, w->queue + 1, (w->nqueue - 1) * sizeof(*w->queue)); /* NOLINT(bugprone-sizeof-expression) */
	w->nqueue--;
	return r;
}

int gitsrc_worker_poll(struct gitsrc_worker *w, struct gitsrc_report **out)
{
	pthread_mutex_lock(&w->mu);
	*out = take(w);
	pthread_mutex_unlock(&w->mu);
	return *out != NULL;
}

int gitsrc_worker_wait(struct gitsrc_worker *w, int64_t timeout_ms, struct gitsrc_report **out)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (w->nqueue == 0) {
		if (pthread_cond_timedwait(&w->reported, &w->mu, &ts) == ETIMEDOUT)
			break;
	}
	*out = take(w);
	pthread_mutex_unlock(&w->mu);
	return *out != NULL;
}
