/* Unit tests for the event loop: timer order and cancel, deferred calls, fd readiness, posts from another thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/loop.h"
#include "util.h"
#include "testmain.h"

struct trace {
	char order[64];
	size_t n;
	struct loop *l;
	uint64_t cancel_me;
};

static void mark(struct trace *t, char c)
{
	if (t->n + 1 < sizeof(t->order))
		t->order[t->n++] = c;
}

static void timer_a(struct loop *l, void *arg) { (void)l; mark(arg, 'a'); }
static void timer_b(struct loop *l, void *arg) { (void)l; mark(arg, 'b'); }
static void timer_c(struct loop *l, void *arg) { (void)l; mark(arg, 'c'); }

static void timer_cancels(struct loop *l, void *arg)
{
	struct trace *t = arg;

	mark(t, 'x');
	assert_int_equal(loop_timer_cancel(l, t->cancel_me), 1);
}

static void run_until(struct loop *l, struct trace *t, size_t n)
{
	int guard = 1000;

	while (t->n < n && guard-- > 0)
		loop_run_once(l, 50);
}

static void timers_run_in_due_order(void **state)
{
	struct loop *l = loop_new(NULL);
	struct trace t = { 0 };

	(void)state;
	/* Equal due times run in the order they were added; a cancelled one never runs. The due times
	 * are 100 ms apart, so that the time spent adding them cannot reorder them on a loaded host. */
	loop_timer_add(l, 200, timer_c, &t);
	loop_timer_add(l, 0, timer_a, &t);
	loop_timer_add(l, 0, timer_b, &t);
	t.cancel_me = loop_timer_add(l, 300, timer_a, &t);
	loop_timer_add(l, 100, timer_cancels, &t);
	assert_int_equal(loop_timer_count(l), 5);
	run_until(l, &t, 4);
	assert_string_equal(t.order, "abxc");
	assert_int_equal(loop_timer_count(l), 0);
	assert_int_equal(loop_timer_cancel(l, t.cancel_me), 0);
	loop_free(l);
}

static void deferred_in_deferred(struct loop *l, void *arg)
{
	mark(arg, 'e');
	(void)l;
}

static void deferred_first(struct loop *l, void *arg)
{
	mark(arg, 'd');
	/* Queued while running: waits for the next iteration. */
	loop_defer(l, deferred_in_deferred, arg);
}

static void deferred_calls_run_next_iteration(void **state)
{
	struct loop *l = loop_new(NULL);
	struct trace t = { 0 };

	(void)state;
	loop_defer(l, deferred_first, &t);
	assert_int_equal(loop_run_once(l, 0), 1);
	assert_string_equal(t.order, "d");
	loop_run_once(l, 0);
	assert_string_equal(t.order, "de");
	loop_free(l);
}

struct fdtest {
	int reads;
	char got[16];
};

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct fdtest *f = arg;
	ssize_t n;

	assert_true(events & LOOP_READ);
	n = read(fd, f->got, sizeof(f->got) - 1);
	if (n > 0)
		f->got[n] = '\0';
	f->reads++;
	loop_unwatch(l, fd);
}

static void fd_watch_reports_readiness(void **state)
{
	struct loop *l = loop_new(NULL);
	struct fdtest f = { 0 };
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_watch(l, p[0], LOOP_READ, on_readable, &f, NULL), 0);
	loop_run_once(l, 0);
	assert_int_equal(f.reads, 0);	/* nothing to read yet */
	assert_int_equal(write(p[1], "ping", 4), 4);
	loop_run_once(l, 1000);
	assert_int_equal(f.reads, 1);
	assert_string_equal(f.got, "ping");
	/* Unwatched inside its callback: more data does not call it again. */
	assert_int_equal(write(p[1], "more", 4), 4);
	loop_run_once(l, 0);
	assert_int_equal(f.reads, 1);
	loop_unwatch(l, p[0]);	/* twice is harmless */
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

struct posted {
	struct loop *l;
	int count;
};

static void on_post(struct loop *l, void *arg)
{
	struct posted *p = arg;

	(void)l;
	p->count++;
	if (p->count == 100)
		loop_stop(p->l);
}

static void *poster(void *arg)
{
	struct posted *p = arg;
	int i;

	for (i = 0; i < 100; i++)
		assert_int_equal(loop_post(p->l, on_post, p), 0);
	return NULL;
}

static void posts_from_another_thread_wake_the_loop(void **state)
{
	struct posted p = { 0 };
	pthread_t th;

	(void)state;
	p.l = loop_new(NULL);
	assert_int_equal(pthread_create(&th, NULL, poster, &p), 0);
	/* loop_run blocks with no timer at all: only the eventfd can wake it. */
	assert_int_equal(loop_run(p.l), 0);
	pthread_join(th, NULL);
	assert_int_equal(p.count, 100);
	loop_free(p.l);
}

static int owned_ran, owned_dropped;

static void on_owned(struct loop *l, void *arg)
{
	(void)l;
	free(arg);
	owned_ran++;
}

static void drop_owned(void *arg)
{
	free(arg);
	owned_dropped++;
}

/* A call posted as the loop stops never runs: what it owns is dropped when the loop is freed (no leak). */
static void a_post_the_loop_never_ran_is_dropped(void **state)
{
	struct loop *l = loop_new(NULL);

	(void)state;
	owned_ran = owned_dropped = 0;
	assert_int_equal(loop_post_owned(l, on_owned, xstrdup("ran"), drop_owned), 0);
	assert_int_equal(loop_run_once(l, 0), 1);
	assert_int_equal(owned_ran, 1);
	loop_stop(l);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(loop_post_owned(l, on_owned, xstrdup("late"), drop_owned), 0);
	assert_int_equal(loop_post(l, on_post, NULL), 0);
	loop_free(l);
	assert_int_equal(owned_ran, 1);
	assert_int_equal(owned_dropped, 1);
}

TEST_MAIN(
	cmocka_unit_test(timers_run_in_due_order),
	cmocka_unit_test(a_post_the_loop_never_ran_is_dropped),
	cmocka_unit_test(deferred_calls_run_next_iteration),
	cmocka_unit_test(fd_watch_reports_readiness),
	cmocka_unit_test(posts_from_another_thread_wake_the_loop))
