/* The event loop: epoll for fds, a binary heap of timers, a deferred list, and an eventfd for posts from other threads. */
#include "runtime/loop.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct watch {
	loop_fd_fn fn;
	void *arg;
	unsigned events;
	uint32_t gen;		/* bumped on every unwatch, so stale epoll events are dropped */
	int active;
};

struct timer {
	int64_t when;
	uint64_t id;
	loop_fn fn;
	void *arg;
};

struct call {
	struct call *next;
	loop_fn fn;
	void *arg;
	void (*drop)(void *arg);	/* frees arg when the call never runs; NULL: nothing owned */
};

struct loop {
	int epfd;
	int wakefd;
	struct watch *watches;	/* indexed by fd */
	size_t nwatches;
	struct timer *timers;	/* min-heap on (when, id) */
	size_t ntimers, timers_cap;
	uint64_t next_timer_id;
	struct call *defer_head, *defer_tail;
	pthread_mutex_t post_lock;
	struct call *post_head, *post_tail;	/* guarded by post_lock */
	int stop;				/* guarded by post_lock */
	int64_t now;
};

#define WAKE_TAG UINT64_MAX

struct loop *loop_new(struct error **err)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	struct epoll_event ev = { 0 };

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0) {
		error_set(err, -errno, "cannot create the event loop: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = WAKE_TAG;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) {
		error_set(err, -errno, "cannot watch the loop's eventfd: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&l->post_lock, NULL);
	l->next_timer_id = 1;
	l->now = now_ms();
	return l;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	free(l);
	return NULL;
}

/* Calls that never ran: what each owns goes with it. */
static void free_calls(struct call *c)
{
	while (c) {
		struct call *n = c->next;

		if (c->drop)
			c->drop(c->arg);
		free(c);
		c = n;
	}
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	close(l->wakefd);
	free_calls(l->defer_head);
	free_calls(l->post_head);
	pthread_mutex_destroy(&l->post_lock);
	free(l->watches);
	free(l->timers);
	free(l);
}

static uint32_t to_epoll(unsigned events)
{
	uint32_t e = 0;

	if (events & LOOP_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		e |= EPOLLOUT;
	return e;
}

int loop_watch(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg, struct error **err)
{
	struct epoll_event ev = { 0 };
	struct watch *w;
	int op;

	if (fd < 0 || fn == NULL)
		BUG("loop_watch: fd %d without a callback", fd);
	if ((size_t)fd >= l->nwatches) {
		size_t n = l->nwatches ? l->nwatches : 64;

		while (n <= (size_t)fd)
			n *= 2;
		l->watches = xrealloc(l->watches, n * sizeof(*l->watches));
		memset(l->watches + l->nwatches, 0, (n - l->nwatches) * sizeof(*l->watches));
		l->nwatches = n;
	}
	w = &l->watches[fd];
	op = w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ev.events = to_epoll(events);
	ev.data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
		return error_set(err, -errno, "cannot watch fd %d: %s", fd, strerror(errno));
	w->fn = fn;
	w->arg = arg;
	w->events = events;
	w->active = 1;
	return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
	struct watch *w;

	if (fd < 0 || (size_t)fd >= l->nwatches || !l->watches[fd].active)
		return;
	w = &l->watches[fd];
	/* The fd may already be closed by its owner: then the kernel dropped it. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->active = 0;
	w->fn = NULL;
	w->arg = NULL;
	w->gen++;
}

/* ------------------------------------------------------------------ timers */

static int timer_before(const struct timer *a, const struct timer *b)
{
	return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void heap_swap(struct loop *l, size_t i, size_t j)
{
	struct timer t = l->timers[i];

	l->timers[i] = l->timers[j];
	l->timers[j] = t;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!timer_before(&l->timers[i], &l->timers[p]))
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < l->ntimers && timer_before(&l->timers[a], &l->timers[m]))
			m = a;
		if (b < l->ntimers && timer_before(&l->timers[b], &l->timers[m]))
			m = b;
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_remove(struct loop *l, size_t i)
{
	l->ntimers--;
	if (i == l->ntimers)
		return;
	l->timers[i] = l->timers[l->ntimers];
	heap_down(l, i);
	heap_up(l, i);
}

uint64_t loop_timer_add(struct loop *l, int64_t delay_ms, loop_fn fn, void *arg)
{
	struct timer *t;
	uint64_t id;

	if (fn == NULL)
		BUG("loop_timer_add without a callback");
	XGROW(l->timers, l->timers_cap, l->ntimers + 1);
	t = &l->timers[l->ntimers];
	/* Measured from the real clock: l->now may be stale when called between iterations. */
	t->when = now_ms() + (delay_ms > 0 ? delay_ms : 0);
	id = l->next_timer_id++;
	t->id = id;
	t->fn = fn;
	t->arg = arg;
	l->ntimers++;
	heap_up(l, l->ntimers - 1);
	return id;
}

int loop_timer_cancel(struct loop *l, uint64_t id)
{
	size_t i;

	/* A linear search: the loop holds hundreds of timers, not millions. */
	for (i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			heap_remove(l, i);
			return 1;
		}
	}
	return 0;
}

unsigned loop_timer_count(const struct loop *l)
{
	return (unsigned)l->ntimers;
}

/* ------------------------------------------------------- deferred and posts */

static struct call *call_new(loop_fn fn, void *arg)
{
	struct call *c = xcalloc(1, sizeof(*c));

	if (fn == NULL)
		BUG("deferred call without a function");
	c->fn = fn;
	c->arg = arg;
	return c;
}

void loop_defer(struct loop *l, loop_fn fn, void *arg)
{
	struct call *c = call_new(fn, arg);

	if (l->defer_tail)
		l->defer_tail->next = c;
	else
		l->defer_head = c;
	l->defer_tail = c;
}

static int wake(struct loop *l)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake anyway. */
	if (write(l->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int loop_post(struct loop *l, loop_fn fn, void *arg)
{
	return loop_post_owned(l, fn, arg, NULL);
}

int loop_post_owned(struct loop *l, loop_fn fn, void *arg, void (*drop)(void *arg))
{
	struct call *c = call_new(fn, arg), *prev;
	int rc;

	c->drop = drop;
	pthread_mutex_lock(&l->post_lock);
	prev = l->post_tail;
	if (prev)
		prev->next = c;
	else
		l->post_head = c;
	l->post_tail = c;
	/* Under the lock, so that a call whose wakeup failed leaves the queue: its arg stays the caller's. */
	rc = wake(l);
	if (rc < 0) {
		if (prev)
			prev->next = NULL;
		else
			l->post_head = NULL;
		l->post_tail = prev;
		free(c);
	}
	pthread_mutex_unlock(&l->post_lock);
	return rc;
}

void loop_stop(struct loop *l)
{
	pthread_mutex_lock(&l->post_lock);
	l->stop = 1;
	pthread_mutex_unlock(&l->post_lock);
	(void)wake(l);
}

int64_t loop_now(const struct loop *l)
{
	return l->now;
}

/* Runs the calls queued so far; ones they queue run on the next pass. */
static int run_calls(struct loop *l, struct call *c)
{
	int n = 0;

	while (c) {
		struct call *next = c->next;

		c->fn(l, c->arg);
		free(c);
		c = next;
		n++;
	}
	return n;
}

static int run_deferred(struct loop *l)
{
	struct call *c = l->defer_head;

	l->defer_head = l->defer_tail = NULL;
	return run_calls(l, c);
}

static int run_posted(struct loop *l)
{
	struct call *c;
	uint64_t v;

	if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&l->post_lock);
	c = l->post_head;
	l->post_head = l->post_tail = NULL;
	pthread_mutex_unlock(&l->post_lock);
	return run_calls(l, c);
}

static int run_timers(struct loop *l)
{
	int n = 0;
	/* Only timers due at the start run now: a timer added with delay 0 waits for the next pass. */
	int64_t now = l->now;
	uint64_t limit = l->next_timer_id;

	while (l->ntimers > 0 && l->timers[0].when <= now && l->timers[0].id < limit) {
		struct timer t = l->timers[0];

		heap_remove(l, 0);
		t.fn(l, t.arg);
		n++;
	}
	return n;
}

int loop_run_once(struct loop *l, int64_t max_wait_ms)
{
	struct epoll_event evs[64];
	int64_t wait = max_wait_ms;
	int i, n, ran = 0;

	l->now = now_ms();
	ran += run_deferred(l);
	if (l->defer_head)
		wait = 0;
	if (l->ntimers > 0) {
		int64_t due = l->timers[0].when - now_ms();

		if (due < 0)
			due = 0;
		if (wait < 0 || due < wait)
			wait = due;
	}
	if (wait > 60000)
		wait = 60000;
	n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), (int)wait);
	if (n < 0) {
		if (errno == EINTR)
			return ran;
		return -errno;
	}
	l->now = now_ms();
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		unsigned events = 0;
		int fd;
		struct watch *w;

		if (tag == WAKE_TAG) {
			int r = run_posted(l);

			if (r < 0)
				return r;
			ran += r;
			continue;
		}
		fd = (int)(uint32_t)tag;
		if ((size_t)fd >= l->nwatches)
			continue;
		w = &l->watches[fd];
		/* Unwatched (or re-watched after close) by an earlier callback in this batch. */
		if (!w->active || w->gen != (uint32_t)(tag >> 32))
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
			events |= LOOP_READ;
		if (evs[i].events & EPOLLOUT)
			events |= LOOP_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			events |= LOOP_ERROR;
		w->fn(l, fd, events, w->arg);
		ran++;
	}
	ran += run_timers(l);
	return ran;
}

int loop_run(struct loop *l)
{
	for (;;) {
		int stop, r;

		pthread_mutex_lock(&l->post_lock);
		stop = l->stop;
		l->stop = 0;
		pthread_mutex_unlock(&l->post_lock);
		if (stop)
			return 0;
		r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
}
