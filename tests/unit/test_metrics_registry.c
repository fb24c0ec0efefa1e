/* The generic metrics registry: exact exposition text, escaping, histograms, bounds, threads, re-rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "runtime/metrics_registry.h"
#include "testmain.h"
#include "testmetrics.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(struct metrics *r)
{
	char *text = test_metrics_text(r);

	assert_non_null(text);
	return text;
}

static void test_counter_gauge_text(void **state)
{
	struct metrics *r = metrics_new();
	struct metric *c = metrics_counter(r, "x_total", "Things counted.", METRIC_LABELS("kind"));
	struct metric *g = metrics_gauge(r, "y", "A level\nwith \\ in help.", NULL);
	char *text;

	(void)state;
	metric_inc(c, METRIC_LABELS("a"));
	metric_add(c, METRIC_LABELS("a"), 2.5);
	metric_add(c, METRIC_LABELS("a"), -10);	/* counters never go down */
	metric_inc(c, METRIC_LABELS("q\"u\\o\nte"));
	metric_set(g, NULL, -3);
	text = render(r);
	assert_string_equal(text,
			    "# HELP x_total Things counted.\n"
			    "# TYPE x_total counter\n"
			    "x_total{kind=\"a\"} 3.5\n"
			    "x_total{kind=\"q\\\"u\\\\o\\nte\"} 1\n"
			    "# HELP y A level\\nwith \\\\ in help.\n"
			    "# TYPE y gauge\n"
			    "y -3\n");
	free(text);
	assert_true(metric_value(c, METRIC_LABELS("a")) == 3.5);
	assert_true(metric_value(c, METRIC_LABELS("none")) == 0);
	metrics_free(r);
}

static void test_histogram_text(void **state)
{
	static const double buckets[] = { 0.1, 0.5, 1 };
	struct metrics *r = metrics_new();
	struct metric *h = metrics_histogram(r, "d_seconds", "Durations.", METRIC_LABELS("op"),
					     buckets, ARRAY_SIZE(buckets));
	char *text;

	(void)state;
	metric_observe(h, METRIC_LABELS("get"), 0.05);
	metric_observe(h, METRIC_LABELS("get"), 0.1);	/* le is inclusive */
	metric_observe(h, METRIC_LABELS("get"), 0.7);
	metric_observe(h, METRIC_LABELS("get"), 3);
	text = render(r);
	assert_string_equal(text,
			    "# HELP d_seconds Durations.\n"
			    "# TYPE d_seconds histogram\n"
			    "d_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
			    "d_seconds_bucket{op=\"get\",le=\"0.5\"} 2\n"
			    "d_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
			    "d_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
			    "d_seconds_sum{op=\"get\"} 3.85\n"
			    "d_seconds_count{op=\"get\"} 4\n");
	free(text);
	assert_true(metric_value(h, METRIC_LABELS("get")) == 4);
	metrics_free(r);
}

static void test_series_bound(void **state)
{
	struct metrics *r = metrics_new();
	struct metric *c = metrics_counter(r, "many_total", "Many.", METRIC_LABELS("id"));
	char id[16];
	int i;

	(void)state;
	for (i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(id, sizeof(id), "%d", i);
		metric_inc(c, METRIC_LABELS(id));
	}
	assert_true(metric_value(c, METRIC_LABELS("0")) == 1);
	snprintf(id, sizeof(id), "%d", METRICS_MAX_SERIES + 5);
	assert_true(metric_value(c, METRIC_LABELS(id)) == 0);
	metrics_free(r);
}

static void *bump(void *arg)
{
	int i;

	for (i = 0; i < 20000; i++)
		metric_inc(arg, METRIC_LABELS("t"));
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics *r = metrics_new();
	struct metric *c = metrics_counter(r, "t_total", "Threads.", METRIC_LABELS("l"));
	pthread_t t[4];
	char *text;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bump, c);
	for (i = 0; i < 20; i++) {
		text = render(r);
		free(text);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_true(metric_value(c, METRIC_LABELS("t")) == 80000);
	metrics_free(r);
}

/*
 * A scrape re-renders only the families that changed since the last one: each
 * kind of change (new series, add, set, observe, state set, forget) must show
 * in the next render, and the text must equal a fresh registry's.
 */
static void test_render_follows_changes(void **state)
{
	static const double buckets[] = { 0.25, 1 };
	struct metrics *r = metrics_new();
	struct metric *c = metrics_counter(r, "c_total", "C.", METRIC_LABELS("k"));
	struct metric *g = metrics_gauge(r, "g", "G.", METRIC_LABELS("d", "s"));
	struct metric *h = metrics_histogram(r, "h_seconds", "H.", NULL, buckets, ARRAY_SIZE(buckets));
	char *text;

	(void)state;
	metric_inc(c, METRIC_LABELS("a"));
	metric_set(g, METRIC_LABELS("x", "on"), 1);
	text = render(r);
	assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total{k=\"a\"} 1\n"
				  "# HELP g G.\n# TYPE g gauge\ng{d=\"x\",s=\"on\"} 1\n"
				  "# HELP h_seconds H.\n# TYPE h_seconds histogram\n");
	free(text);
	metric_add(c, METRIC_LABELS("a"), 0);	/* no change */
	metric_set(g, METRIC_LABELS("x", "on"), 1);
	metric_inc(c, METRIC_LABELS("b"));	/* a new series */
	metric_set_state(g, METRIC_LABELS("x", "off"), 1);
	metric_observe(h, NULL, 0.5);
	text = render(r);
	assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total{k=\"a\"} 1\n"
				  "c_total{k=\"b\"} 1\n"
				  "# HELP g G.\n# TYPE g gauge\ng{d=\"x\",s=\"on\"} 0\n"
				  "g{d=\"x\",s=\"off\"} 1\n"
				  "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
				  "h_seconds_bucket{le=\"0.25\"} 0\nh_seconds_bucket{le=\"1\"} 1\n"
				  "h_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 0.5\nh_seconds_count 1\n");
	free(text);
	metric_add(c, METRIC_LABELS("a"), 2);
	metric_set_state(g, METRIC_LABELS("x", "on"), 1);
	metric_forget(c, 0, "b");
	text = render(r);
	assert_non_null(strstr(text, "c_total{k=\"a\"} 3\n# HELP g"));
	assert_non_null(strstr(text, "g{d=\"x\",s=\"on\"} 1\ng{d=\"x\",s=\"off\"} 0\n"));
	free(text);
	metrics_free(r);
}

/* A snapshot read whole, in pieces of k bytes. */
static char *read_snapshot(struct metrics_snapshot *sn, size_t k)
{
	struct buf b = BUF_INIT_MAX(1 << 24);
	char piece[64];
	size_t n;

	assert_true(k <= sizeof(piece));
	while ((n = metrics_snapshot_read(sn, piece, k)) > 0)
		assert_int_equal(buf_append(&b, piece, n), 0);
	return buf_detach(&b, NULL);
}

/*
 * A scrape's snapshot is the text as of when it was taken, however the
 * registry changes while it is sent (the family is rendered again into a
 * text of its own), and reads the same in pieces of any size; the next one
 * sees the change. Freed in either order, nothing is lost or freed twice
 * (the sanitizers watch).
 */
static void test_snapshot_held_while_sent(void **state)
{
	struct metrics *r = metrics_new();
	struct metric *c = metrics_counter(r, "x_total", "Things counted.", METRIC_LABELS("kind"));
	struct metric *g = metrics_gauge(r, "y", "A level.", NULL);
	struct metrics_snapshot *a, *b;
	char *before, *ta, *tb;
	size_t k;

	(void)state;
	metric_inc(c, METRIC_LABELS("a"));
	metric_set(g, NULL, 1);
	before = render(r);
	a = metrics_snapshot(r);
	assert_non_null(a);
	assert_int_equal(metrics_snapshot_size(a), strlen(before));
	metric_inc(c, METRIC_LABELS("b"));
	metric_set(g, NULL, 2);
	b = metrics_snapshot(r);
	assert_non_null(b);
	ta = read_snapshot(a, 7);
	assert_string_equal(ta, before);
	tb = read_snapshot(b, 64);
	assert_non_null(strstr(tb, "x_total{kind=\"b\"} 1\n"));
	assert_non_null(strstr(tb, "y 2\n"));
	assert_null(strstr(ta, "kind=\"b\""));
	metrics_snapshot_free(b);
	/* Read again from the start, in every piece size: the same text. */
	for (k = 1; k <= 64; k++) {
		struct metrics_snapshot *sn = metrics_snapshot(r);
		char *t = read_snapshot(sn, k);

		assert_string_equal(t, tb);
		free(t);
		metrics_snapshot_free(sn);
	}
	metric_set(g, NULL, 3);
	metrics_snapshot_free(a);
	free(ta);
	free(tb);
	tb = render(r);
	assert_non_null(strstr(tb, "y 3\n"));
	free(tb);
	free(before);
	metrics_free(r);
}

/* Numbers: whole ones are printed as %.15g would, the rest as the shortest exact form. */
static void test_number_text(void **state)
{
	static const struct {
		double v;
		const char *text;
	} rows[] = {
		{ 0, "0" },
		{ -0.0, "-0" },
		{ 7, "7" },
		{ -42, "-42" },
		{ 1764320000, "1764320000" },
		{ 999999999999999, "999999999999999" },
		{ 1e15, "1e+15" },
		{ -1e15, "-1e+15" },
		{ 9007199254740993.0, "9007199254740992" },
		{ 0.1, "0.1" },
		{ 1764320000.123, "1764320000.123" },
		{ 2.5e-7, "2.5e-07" },
		{ 1.0 / 3.0, "0.33333333333333331" },
	};
	struct metrics *r = metrics_new();
	struct metric *g = metrics_gauge(r, "n", "N.", NULL);
	char want[128], *text;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		metric_set(g, NULL, rows[i].v);
		text = render(r);
		snprintf(want, sizeof(want), "# HELP n N.\n# TYPE n gauge\nn %s\n", rows[i].text);
		assert_string_equal(text, want);
		free(text);
	}
	metrics_free(r);
}

TEST_MAIN(
	cmocka_unit_test(test_counter_gauge_text),
	cmocka_unit_test(test_histogram_text),
	cmocka_unit_test(test_series_bound),
	cmocka_unit_test(test_threads),
	cmocka_unit_test(test_render_follows_changes),
	cmocka_unit_test(test_snapshot_held_while_sent),
	cmocka_unit_test(test_number_text))
