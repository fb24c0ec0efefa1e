/* The metrics registry: exact exposition text, escaping, histograms, state sets, bounds, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(struct metrics *r)
{
	struct buf b = BUF_INIT_MAX(1 << 24);

	assert_int_equal(metrics_render(r, &b), 0);
	return buf_detach(&b, NULL);
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

static void test_state_set_and_forget(void **state)
{
	struct auriga_metrics m;
	char *text;

	(void)state;
	auriga_metrics_init(&m, "1.2.3");
	auriga_metrics_set_phase(&m, "slim", "Progressing");
	auriga_metrics_set_phase(&m, "slim", "Healthy");
	auriga_metrics_set_phase(&m, "validators", "Degraded");
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("slim", "Healthy")) == 1);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("slim", "Progressing")) == 0);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("validators", "Degraded")) == 1);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("validators", "Healthy")) == 0);
	auriga_metrics_set_circuit(&m, "docker", "open");
	auriga_metrics_set_circuit(&m, "docker", "closed");
	assert_true(metric_value(m.circuit_state, METRIC_LABELS("docker", "open")) == 0);
	assert_true(metric_value(m.circuit_state, METRIC_LABELS("docker", "closed")) == 1);
	metric_set(m.replicas_ready, METRIC_LABELS("slim"), 5);
	auriga_metrics_forget_deployment(&m, "slim");
	text = render(m.reg);
	assert_null(strstr(text, "deployment=\"slim\""));
	assert_non_null(strstr(text, "deployment=\"validators\""));
	assert_non_null(strstr(text, "auriga_build_info{version=\"1.2.3\"} 1\n"));
	assert_non_null(strstr(text, "auriga_reconcile_total{result=\"error\"} 0\n"));
	free(text);
	auriga_metrics_release(&m);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge_text),
		cmocka_unit_test(test_histogram_text),
		cmocka_unit_test(test_state_set_and_forget),
		cmocka_unit_test(test_series_bound),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
