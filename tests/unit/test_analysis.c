/* Unit tests for analysis: comparisons, the run decision table, query placeholders, Prometheus answers and scrape selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "testmain.h"
#include "runtime/loop.h"
#include "traffic/analysis.h"
#include "util.h"

static void compare_and_measure(void **state)
{
	static const struct {
		double v;
		enum spec_cmp op;
		double ref;
		int want;
	} t[] = {
		{ 0.2, SPEC_CMP_GT, 0.05, 1 },	{ 0.05, SPEC_CMP_GT, 0.05, 0 }, { 0.05, SPEC_CMP_GE, 0.05, 1 },
		{ 0.01, SPEC_CMP_LT, 0.05, 1 }, { 0.05, SPEC_CMP_LE, 0.05, 1 }, { 0.06, SPEC_CMP_LE, 0.05, 0 },
		{ 1, SPEC_CMP_EQ, 1, 1 },	{ 1, SPEC_CMP_NE, 1, 0 },	{ 2, SPEC_CMP_NE, 1, 1 },
		{ NAN, SPEC_CMP_NE, 1, 0 },	{ INFINITY, SPEC_CMP_GT, 1e9, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (analysis_compare(t[i].v, t[i].op, t[i].ref) != t[i].want)
			fail_msg("case %zu: %g %s %g", i, t[i].v, analysis_cmp_text(t[i].op), t[i].ref);
	assert_int_equal(analysis_measure(1, 0.2, SPEC_CMP_GT, 0.05), ANALYSIS_FAILED);
	assert_int_equal(analysis_measure(1, 0.01, SPEC_CMP_GT, 0.05), ANALYSIS_SUCCESSFUL);
	assert_int_equal(analysis_measure(0, 0.2, SPEC_CMP_GT, 0.05), ANALYSIS_INCONCLUSIVE);
	assert_int_equal(analysis_measure(1, NAN, SPEC_CMP_GT, 0.05), ANALYSIS_INCONCLUSIVE);
}

/* A row of analysis_decide's table: the tally so far, the run's count and limits, the verdict. */
struct decide_row {
	int s, f, i;		/* successful, failed, inconclusive so far */
	int count, flimit, ilimit;
	enum analysis_result want;
};

static void check_decisions(const struct decide_row *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct analysis_tally tl = { t[i].s, t[i].f, t[i].i };
		enum analysis_result r = analysis_decide(&tl, t[i].count, t[i].flimit, t[i].ilimit);

		if (r != t[i].want)
			fail_msg("case %zu: %d successful, %d failed, %d inconclusive of %d with failureLimit %d and "
				 "inconclusiveLimit %d: %s, want %s",
				 i, t[i].s, t[i].f, t[i].i, t[i].count, t[i].flimit, t[i].ilimit,
				 analysis_result_name(r), analysis_result_name(t[i].want));
	}
}

static void decision_table(void **state)
{
	static const struct decide_row t[] = {
		{ 0, 0, 0, 1, 0, 0, ANALYSIS_RUNNING },
		{ 1, 0, 0, 1, 0, 0, ANALYSIS_SUCCESSFUL },
		{ 0, 1, 0, 1, 0, 0, ANALYSIS_FAILED },
		{ 0, 0, 1, 1, 0, 0, ANALYSIS_INCONCLUSIVE },
		{ 2, 0, 0, 5, 1, 1, ANALYSIS_RUNNING },
		{ 2, 1, 0, 5, 1, 1, ANALYSIS_RUNNING },		/* one failure tolerated */
		{ 2, 2, 0, 5, 1, 1, ANALYSIS_FAILED },		/* decided early, before count */
		{ 3, 1, 1, 5, 1, 1, ANALYSIS_SUCCESSFUL },	/* both within their limits */
		{ 1, 0, 2, 5, 1, 1, ANALYSIS_INCONCLUSIVE },
		{ 0, 2, 2, 5, 1, 1, ANALYSIS_FAILED },		/* failure wins over inconclusive */
		{ 5, 0, 0, 5, 0, 0, ANALYSIS_SUCCESSFUL },
		{ 1, 0, 0, 0, 0, 0, ANALYSIS_SUCCESSFUL },	/* count 0 means one */
	};

	(void)state;
	check_decisions(t, sizeof(t) / sizeof(t[0]));
}

/*
 * inconclusiveLimit set apart from failureLimit: each limit counts its own kind of measurement.
 * Inconclusive measurements beyond inconclusiveLimit end the run inconclusive (which fails the
 * release) even while the failures are within failureLimit; failures beyond failureLimit fail it
 * even while the inconclusive ones are within inconclusiveLimit; within both, the run goes on to
 * its count and passes.
 */
static void decision_table_separate_limits(void **state)
{
	static const struct decide_row t[] = {
		/* A lenient failureLimit does not lend its tolerance to inconclusive measurements. */
		{ 1, 0, 1, 5, 3, 0, ANALYSIS_INCONCLUSIVE },
		{ 0, 3, 1, 5, 3, 0, ANALYSIS_INCONCLUSIVE },
		{ 2, 3, 0, 5, 3, 0, ANALYSIS_SUCCESSFUL },	/* three failures tolerated, no inconclusive */
		{ 1, 3, 0, 5, 3, 0, ANALYSIS_RUNNING },
		{ 1, 4, 0, 5, 3, 0, ANALYSIS_FAILED },
		/* The reverse: a lenient inconclusiveLimit does not tolerate a failure. */
		{ 1, 1, 0, 5, 0, 3, ANALYSIS_FAILED },
		{ 0, 1, 3, 5, 0, 3, ANALYSIS_FAILED },
		{ 2, 0, 3, 5, 0, 3, ANALYSIS_SUCCESSFUL },	/* three inconclusive tolerated */
		{ 1, 0, 3, 5, 0, 3, ANALYSIS_RUNNING },
		{ 0, 0, 4, 5, 0, 3, ANALYSIS_INCONCLUSIVE },
		/* Every measurement inconclusive, each within the limit: no evidence is never a pass. */
		{ 0, 0, 3, 3, 0, 3, ANALYSIS_INCONCLUSIVE },
		{ 0, 0, 3, 3, 3, 3, ANALYSIS_INCONCLUSIVE },
		{ 0, 0, 1, 0, 0, 1, ANALYSIS_INCONCLUSIVE },	/* count 0 means one */
		{ 1, 0, 2, 3, 0, 2, ANALYSIS_SUCCESSFUL },
		/* Both set, each at its own bound. */
		{ 1, 2, 2, 5, 2, 2, ANALYSIS_SUCCESSFUL },
		{ 0, 2, 3, 5, 2, 2, ANALYSIS_INCONCLUSIVE },
		{ 0, 3, 2, 5, 2, 2, ANALYSIS_FAILED },
		{ 0, 3, 3, 6, 2, 2, ANALYSIS_FAILED },		/* a failure still wins over inconclusive */
	};

	(void)state;
	check_decisions(t, sizeof(t) / sizeof(t[0]));
}

static void combine_table(void **state)
{
	enum analysis_result a[] = { ANALYSIS_SUCCESSFUL, ANALYSIS_INCONCLUSIVE, ANALYSIS_FAILED };
	enum analysis_result b[] = { ANALYSIS_SUCCESSFUL, ANALYSIS_RUNNING, ANALYSIS_INCONCLUSIVE };
	enum analysis_result c[] = { ANALYSIS_SUCCESSFUL, ANALYSIS_RUNNING };
	enum analysis_result d[] = { ANALYSIS_SUCCESSFUL, ANALYSIS_SUCCESSFUL };

	(void)state;
	assert_int_equal(analysis_combine(a, 3), ANALYSIS_FAILED);
	assert_int_equal(analysis_combine(b, 3), ANALYSIS_INCONCLUSIVE);
	assert_int_equal(analysis_combine(c, 2), ANALYSIS_RUNNING);
	assert_int_equal(analysis_combine(d, 2), ANALYSIS_SUCCESSFUL);
}

static void prometheus_url(void **state)
{
	struct error *err = NULL;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(analysis_prometheus_url(&b, "http://127.0.0.1:9090/", "sum(rate(x{a=\"5..\"}[1m])) / 2", &err), 0);
	assert_string_equal(b.data, "http://127.0.0.1:9090/api/v1/query?query="
				    "sum%28rate%28x%7Ba%3D%225..%22%7D%5B1m%5D%29%29%20%2F%202");
	buf_reset(&b);
	assert_int_equal(analysis_prometheus_url(&b, "127.0.0.1:9090", "up", &err), ERR_INVALID);
	error_clear(&err);
	assert_int_equal(analysis_prometheus_url(&b, "http://p", "", &err), ERR_INVALID);
	error_free(err);
	buf_release(&b);
}

/* Placeholders in a query are the release's: replaced whole, spaces inside the braces allowed; unknown ones are errors. */
static void query_placeholders(void **state)
{
	static const struct analysis_arg args[] = {
		{ "revision", "9a41" },
		{ "instances", "127\\\\.0\\\\.0\\\\.1:32768|127\\\\.0\\\\.0\\\\.1:32769" },
		{ "slot", "" },
	};
	/* A query and what it expands to (good), or a query and its error's text (bad). */
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "up", "up" },
		{ "x{revision=\"{{revision}}\"}", "x{revision=\"9a41\"}" },
		{ "x{revision=\"{{ revision }}\",instance=~\"{{instances}}\"}",
		  "x{revision=\"9a41\",instance=~\"127\\\\.0\\\\.0\\\\.1:32768|127\\\\.0\\\\.0\\\\.1:32769\"}" },
		{ "{{revision}}{{revision}}", "9a419a41" },
		{ "a{{slot}}b", "ab" },
		{ "x{a=\"{\"}", "x{a=\"{\"}" },
	}, bad[] = {
		{ "x{revision=\"{{rev}}\"}", "unknown placeholder '{{rev}}'" },
		{ "x{revision=\"{{revision\"}", "'{{' without '}}'" },
		{ "{{}}", "unknown placeholder '{{}}'" },
	};
	struct error *err = NULL;
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		buf_reset(&b);
		if (analysis_query_expand(&b, good[i].in, args, ARRAY_SIZE(args), &err) != 0)
			fail_msg("case %zu: %s", i, error_msg(err));
		assert_string_equal(b.data, good[i].out);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_reset(&b);
		assert_int_equal(analysis_query_expand(&b, bad[i].in, args, ARRAY_SIZE(args), &err), ERR_INVALID);
		if (strstr(error_msg(err), bad[i].out) == NULL)
			fail_msg("case %zu: error '%s' lacks '%s'", i, error_msg(err), bad[i].out);
		error_clear(&err);
	}
	buf_release(&b);
}

static void prometheus_answers(void **state)
{
	static const struct {
		const char *body;
		int want;	/* 1 value, 0 no data, <0 error */
		double value;
		const char *msg;
	} t[] = {
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		  "\"value\":[1700000000.1,\"0.2\"]}]}}", 1, 0.2, NULL },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000,\"0.013\"]}}",
		  1, 0.013, NULL },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", 0, 0, NULL },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		  "\"value\":[1,\"NaN\"]}]}}", 0, 0, NULL },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
		  "\"value\":[1,\"+Inf\"]}]}}", 1, INFINITY, NULL },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"1\"},"
		  "\"value\":[1,\"1\"]},{\"metric\":{\"a\":\"2\"},\"value\":[1,\"2\"]}]}}", ERR_PROTOCOL, 0,
		  "returned 2 series" },
		{ "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 3\"}", ERR_PROTOCOL,
		  0, "parse error at char 3" },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", ERR_PROTOCOL, 0,
		  "'matrix' is not scalar or vector" },
		{ "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"zz\"]}}", ERR_PROTOCOL,
		  0, "'zz' is not a number" },
		{ "<html>", ERR_PROTOCOL, 0, "not JSON" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct error *err = NULL;
		double v = -1;
		int rc = analysis_prometheus_parse(t[i].body, strlen(t[i].body), &v, &err);

		if (rc != t[i].want)
			fail_msg("case %zu: %d, want %d (%s)", i, rc, t[i].want, err != NULL ? error_msg(err) : "");
		if (rc == 1 && v != t[i].value)
			fail_msg("case %zu: value %g, want %g", i, v, t[i].value);
		if (t[i].msg != NULL && (err == NULL || strstr(error_msg(err), t[i].msg) == NULL))
			fail_msg("case %zu: error '%s' lacks '%s'", i, err != NULL ? error_msg(err) : "", t[i].msg);
		error_free(err);
	}
}

static const char scrape_body[] =
	"# HELP http_server_requests_total Requests.\n"
	"# TYPE http_server_requests_total counter\n"
	"http_server_requests_total{method=\"POST\",uri=\"/api/v11/transactions\",status=\"201\"} 80\n"
	"http_server_requests_total{method=\"POST\",uri=\"/api/v11/transactions\",status=\"500\"} 20\n"
	"http_server_requests_total{method=\"GET\",uri=\"/q/health/ready\",status=\"200\"} 7\n"
	"http_server_requests_total{method=\"GET\",uri=\"NOT_FOUND\",status=\"404\"} 3 1700000000000\n"
	"demo_node_info{version=\"a \\\"q\\\" b\",node=\"n1\"} 1\n"
	"demo_node_ready 1\n"
	"\n";

static void scrape_selectors(void **state)
{
	static const struct {
		const char *sel;
		int which;
		double sum;
		size_t matched;
	} t[] = {
		{ "http_server_requests_total", 0, 110, 4 },
		{ "http_server_requests_total{status=~\"5..\"}", 0, 20, 1 },
		{ "http_server_requests_total{status=~\"5\"}", 0, 0, 0 },	/* anchored */
		{ "http_server_requests_total{ uri = \"/api/v11/transactions\" }", 0, 100, 2 },
		{ "http_server_requests_total{uri=\"/api/v11/transactions\",status!=\"201\"}", 0, 20, 1 },
		{ "http_server_requests_total{status!~\"2..\"}", 0, 23, 2 },
		{ "http_server_requests_total{status=~\"5..\"} / http_server_requests_total{uri=\"/api/v11/transactions\"}",
		  1, 100, 2 },
		{ "demo_node_info{version=\"a \\\"q\\\" b\"}", 0, 1, 1 },
		{ "http_server_requests_total{status=~\"2|5\"}", 0, 0, 0 },	/* no prefix match */
		{ "http_server_requests_total{status=~\"20|50\"}", 0, 0, 0 },
		{ "http_server_requests_total{status=~\"201|500\"}", 0, 100, 2 },
		{ "http_server_requests_total{status=~\"20.|4.*\"}", 0, 90, 3 },
		{ "demo_node_ready{absent=\"\"}", 0, 1, 1 },	/* a missing label is "" */
		{ "no_such_metric", 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct analysis_selector *s = NULL;
		struct error *err = NULL;
		size_t matched = 99;
		double sum = -1;

		if (analysis_selector_parse(t[i].sel, &s, &err) != 0)
			fail_msg("case %zu: %s", i, error_msg(err));
		if (analysis_scrape_sum(s, t[i].which, scrape_body, strlen(scrape_body), &sum, &matched, &err) != 0)
			fail_msg("case %zu: %s", i, error_msg(err));
		if (sum != t[i].sum || matched != t[i].matched)
			fail_msg("case %zu: sum %g of %zu samples, want %g of %zu", i, sum, matched, t[i].sum,
				 t[i].matched);
		analysis_selector_free(s);
	}
}

static void scrape_bad_input(void **state)
{
	static const struct {
		const char *sel;
		const char *msg;
	} bad[] = {
		{ "", "a metric name expected at column 1" },
		{ "9abc", "a metric name expected" },
		{ "a{b}", "=, !=, =~ or !~ expected at column 4" },
		{ "a{b=c}", "a quoted label value expected" },
		{ "a{b=~\"(\"}", "bad regular expression" },
		{ "a{b=\"1\" c=\"2\"}", "',' or '}' expected" },
		{ "a / ", "a metric name expected at column 5" },
		{ "a b", "unexpected 'b' at column 3" },
	};
	struct analysis_selector *s = NULL;
	struct error *err = NULL;
	size_t i, matched;
	double sum;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (analysis_selector_parse(bad[i].sel, &s, &err) != ERR_INVALID)
			fail_msg("case %zu: '%s' accepted", i, bad[i].sel);
		if (strstr(error_msg(err), bad[i].msg) == NULL)
			fail_msg("case %zu: error '%s' lacks '%s'", i, error_msg(err), bad[i].msg);
		error_clear(&err);
	}
	assert_int_equal(analysis_selector_parse("a", &s, &err), 0);
	assert_int_equal(analysis_scrape_sum(s, 0, "ok 1\nbroken{x=\"1\" 2\n", 21, &sum, &matched, &err), ERR_PROTOCOL);
	assert_non_null(strstr(error_msg(err), "line 2"));
	error_free(err);
	analysis_selector_free(s);
}

/* A verification Job's figures: the last NAME=NUMBER at the start of a line or after a space. */
static void job_figures(void **state)
{
	static const struct {
		const char *out, *fig;
		int found;
		double v;
	} t[] = {
		{ "p95_ms=123\nerror_rate=0.004", "p95_ms", 1, 123 },
		{ "p95_ms=123\nerror_rate=0.004", "error_rate", 1, 0.004 },
		{ "job container 'x' exited with 1: p95_ms=900 error_rate=0.2", "p95_ms", 1, 900 },
		{ "p95_ms=1\np95_ms=2\n", "p95_ms", 1, 2 },
		{ "p95_ms=1\np95_ms=oops", "p95_ms", 1, 1 },
		{ "xp95_ms=5", "p95_ms", 0, 0 },
		{ "p95_ms=", "p95_ms", 0, 0 },
		{ "p95_ms = 4", "p95_ms", 0, 0 },
		{ "p95_ms=4ms", "p95_ms", 0, 0 },
		{ "", "p95_ms", 0, 0 },
		{ "p99_ms=7", "p95_ms", 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		double v = -1;
		int found = analysis_job_figure(t[i].out, t[i].fig, &v);

		if (found != t[i].found || (found && v != t[i].v))
			fail_msg("case %zu: %s in \"%s\": found %d, %g", i, t[i].fig, t[i].out, found, v);
	}
}

/* A fake Job runner: start hands the token over, the test reports for the Job. */
struct fake_jobs {
	struct analysis_job_token *token;
	int started, cancelled, refuse;
	char job[32];
};

static void *fake_start(const char *metric, const char *job, struct analysis_job_token *token, void *arg, char *why,
			size_t why_len)
{
	struct fake_jobs *f = arg;

	(void)metric;
	f->started++;
	snprintf(f->job, sizeof(f->job), "%s", job);
	if (f->refuse) {
		snprintf(why, why_len, "job '%s': cannot be placed", job);
		return NULL;
	}
	f->token = token;
	return f;
}

static void fake_cancel(void *handle, void *arg)
{
	struct fake_jobs *f = arg;

	assert_ptr_equal(handle, f);
	f->cancelled++;
	f->token = NULL;
}

struct job_outcome {
	int done;
	enum analysis_result result;
	char message[512];
};

static void job_done(const struct analysis_report *rep, void *arg)
{
	struct job_outcome *o = arg;

	o->done++;
	o->result = rep->result;
	snprintf(o->message, sizeof(o->message), "%s", rep->message);
}

/*
 * A Job metric p95 (fails at >= 500) on job 'load': the run starts the Job once per
 * measurement; output (NULL: the Job is left running) is what it reports, succeeded its exit.
 */
static void job_run(struct loop *l, struct fake_jobs *f, const char *figure, int succeeded, const char *output,
		    struct job_outcome *o)
{
	struct spec_metric m;
	struct analysis_job_ops ops = { fake_start, fake_cancel, f };
	struct analysis_opts opts;
	struct analysis_run *run;
	struct error *err = NULL;
	int i;

	memset(&m, 0, sizeof(m));
	m.name = (char *)"p95";
	m.provider = SPEC_METRIC_JOB;
	m.job_name = (char *)"load";
	m.job_figure = (char *)figure;
	m.fail_op = SPEC_CMP_GE;
	m.fail_value = 500;
	m.count = 1;
	m.interval_ms = 1000;
	m.failure_limit = 0;
	m.inconclusive_limit = -1;
	memset(&opts, 0, sizeof(opts));
	opts.metrics = &m;
	opts.n_metrics = 1;
	opts.jobs = &ops;
	memset(o, 0, sizeof(*o));
	run = analysis_run_start(l, NULL, &opts, job_done, o, &err);
	assert_non_null(run);
	for (i = 0; i < 50 && f->started == 0; i++)
		loop_run_once(l, 10);
	assert_int_equal(f->started, 1);
	assert_string_equal(f->job, "load");
	if (output != NULL && f->token != NULL)
		analysis_job_measured(f->token, succeeded, output);
	analysis_run_free(run);
}

static void job_metrics(void **state)
{
	struct loop *l = loop_new(NULL);
	struct fake_jobs f;
	struct job_outcome o;
	struct analysis_opts opts;
	struct spec_metric m;
	struct error *err = NULL;

	(void)state;
	assert_non_null(l);
	/* The figure judged against the threshold, over and under. */
	memset(&f, 0, sizeof(f));
	job_run(l, &f, "p95_ms", 1, "requests=200\np95_ms=650\nerror_rate=0", &o);
	assert_int_equal(o.done, 1);
	assert_int_equal(o.result, ANALYSIS_FAILED);
	assert_string_equal(o.message, "p95 = 650 >= 500");
	memset(&f, 0, sizeof(f));
	job_run(l, &f, "p95_ms", 1, "p95_ms=120\nerror_rate=0", &o);
	assert_int_equal(o.result, ANALYSIS_SUCCESSFUL);
	assert_string_equal(o.message, "p95 = 120");
	/* A Job that fails fails the measurement, whatever it printed. */
	memset(&f, 0, sizeof(f));
	job_run(l, &f, "p95_ms", 0, "job container 'x' exited with 3: p95_ms=10", &o);
	assert_int_equal(o.result, ANALYSIS_FAILED);
	assert_string_equal(o.message, "p95: job 'load' failed: job container 'x' exited with 3: p95_ms=10");
	/* No figure printed: no evidence, inconclusive. */
	memset(&f, 0, sizeof(f));
	job_run(l, &f, "p95_ms", 1, "all fine", &o);
	assert_int_equal(o.result, ANALYSIS_INCONCLUSIVE);
	assert_non_null(strstr(o.message, "job 'load' printed no line p95_ms=NUMBER"));
	/* No figure named: its exit code (0) is the value. */
	memset(&f, 0, sizeof(f));
	job_run(l, &f, NULL, 1, "", &o);
	assert_int_equal(o.result, ANALYSIS_SUCCESSFUL);
	/* A Job that cannot start is a failed measurement, saying why. */
	memset(&f, 0, sizeof(f));
	f.refuse = 1;
	job_run(l, &f, "p95_ms", 1, NULL, &o);
	assert_int_equal(o.result, ANALYSIS_FAILED);
	assert_string_equal(o.message, "p95: job 'load': cannot be placed");
	/* A run freed while its Job runs cancels it: no verdict afterwards. */
	memset(&f, 0, sizeof(f));
	job_run(l, &f, "p95_ms", 1, NULL, &o);
	assert_int_equal(f.cancelled, 1);
	assert_int_equal(o.done, 0);
	/* Without a Job runner a Job metric is refused when the run starts. */
	memset(&m, 0, sizeof(m));
	m.name = (char *)"p95";
	m.provider = SPEC_METRIC_JOB;
	m.job_name = (char *)"load";
	memset(&opts, 0, sizeof(opts));
	opts.metrics = &m;
	opts.n_metrics = 1;
	assert_null(analysis_run_start(l, NULL, &opts, job_done, &o, &err));
	assert_non_null(strstr(error_msg(err), "no Job runner"));
	error_free(err);
	loop_free(l);
}

TEST_MAIN(
	cmocka_unit_test(job_figures),
	cmocka_unit_test(job_metrics),
	cmocka_unit_test(compare_and_measure),
	cmocka_unit_test(decision_table),
	cmocka_unit_test(decision_table_separate_limits),
	cmocka_unit_test(combine_table),
	cmocka_unit_test(prometheus_url),
	cmocka_unit_test(query_placeholders),
	cmocka_unit_test(prometheus_answers),
	cmocka_unit_test(scrape_selectors),
	cmocka_unit_test(scrape_bad_input))
