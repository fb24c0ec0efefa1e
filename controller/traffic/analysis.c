/* Analysis runs: measurements on the loop every interval, judged by the pure decision functions here. */
#include "traffic/analysis.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/http_client.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "strv.h"
#include "util.h"

#define MAX_BODY (8u << 20)
#define MAX_MESSAGE 4096

const char *analysis_result_name(enum analysis_result r)
{
	static const char *const names[] = { "Running", "Successful", "Failed", "Inconclusive" };

	return NAME_OF(names, r, "?");
}

const char *analysis_cmp_text(enum spec_cmp op)
{
	static const char *const ops[] = { ">", ">=", "<", "<=", "==", "!=" };

	return NAME_OF(ops, op, "?");
}

int analysis_compare(double value, enum spec_cmp op, double ref)
{
	if (isnan(value) || isnan(ref))
		return 0;
	switch (op) {
	case SPEC_CMP_GT:
		return value > ref;
	case SPEC_CMP_GE:
		return value >= ref;
	case SPEC_CMP_LT:
		return value < ref;
	case SPEC_CMP_LE:
		return value <= ref;
	case SPEC_CMP_EQ:
		return value == ref;	/* exact, as the spec's == asks */
	case SPEC_CMP_NE:
		return value != ref;
	}
	return 0;
}

enum analysis_result analysis_measure(int have_value, double value, enum spec_cmp fail_op, double fail_value)
{
	if (!have_value || isnan(value))
		return ANALYSIS_INCONCLUSIVE;
	return analysis_compare(value, fail_op, fail_value) ? ANALYSIS_FAILED : ANALYSIS_SUCCESSFUL;
}

enum analysis_result analysis_decide(const struct analysis_tally *t, int count, int failure_limit,
				     int inconclusive_limit)
{
	if (t->failed > failure_limit)
		return ANALYSIS_FAILED;
	if (t->inconclusive > inconclusive_limit)
		return ANALYSIS_INCONCLUSIVE;
	if (t->successful + t->failed + t->inconclusive < (count > 0 ? count : 1))
		return ANALYSIS_RUNNING;
	/* Inconclusive ones within their limit are tolerated, but a run of nothing else is no evidence. */
	if (t->successful + t->failed == 0)
		return ANALYSIS_INCONCLUSIVE;
	return ANALYSIS_SUCCESSFUL;
}

enum analysis_result analysis_combine(const enum analysis_result *r, size_t n)
{
	static const enum analysis_result order[] = { ANALYSIS_FAILED, ANALYSIS_INCONCLUSIVE, ANALYSIS_RUNNING };
	size_t i, k;

	for (k = 0; k < ARRAY_SIZE(order); k++)
		for (i = 0; i < n; i++)
			if (r[i] == order[k])
				return order[k];
	return ANALYSIS_SUCCESSFUL;
}

/* ------------------------------------------------------------ runs */

struct metric_state;

struct scrape_req {
	struct metric_state *ms;
	struct http_request *req;
};

struct metric_state {
	struct analysis_run *run;
	char *name;
	enum spec_metric_provider provider;
	char *url;			/* PROMETHEUS: the query URL */
	char *scrape_path;
	struct analysis_selector *sel;	/* SCRAPE */
	enum spec_cmp fail_op;
	double fail_value;
	int64_t interval_ms;
	int count;
	int failure_limit;
	int inconclusive_limit;

	struct analysis_tally tally;
	enum analysis_result result;
	uint64_t timer;
	struct scrape_req *reqs;	/* one per scrape target, or one for the query */
	size_t pending;
	/* the scrape in progress */
	double acc[2];
	size_t matched;
	char *acc_error;
	/* the baseline of a ratio */
	int have_base;
	double base[2];

	int have_value;
	double last_value;
	char *last_error;
	/* JOB: the Job, the figure judged, the run under way and why the last run failed */
	char *job_name;
	char *job_figure;
	void *job;
	char *fail_why;
};

struct analysis_run {
	struct loop *l;
	struct http_client *h;
	struct metric_state *ms;
	size_t n;
	char **targets;
	size_t n_targets;
	int64_t timeout_ms;
	analysis_done_fn done;
	analysis_measured_fn measured;
	void *arg;
	int finished;
	struct analysis_job_ops jobs;
};

static void measure(struct metric_state *ms);

static void cancel_metric(struct metric_state *ms)
{
	size_t i, n = ms->provider == SPEC_METRIC_SCRAPE ? ms->run->n_targets : 1;

	if (ms->timer != 0)
		loop_timer_cancel(ms->run->l, ms->timer);
	ms->timer = 0;
	for (i = 0; i < n; i++) {
		if (ms->reqs[i].req != NULL)
			http_request_cancel(ms->run->h, ms->reqs[i].req);
		ms->reqs[i].req = NULL;
	}
	ms->pending = 0;
	if (ms->job != NULL && ms->run->jobs.cancel != NULL)
		ms->run->jobs.cancel(ms->job, ms->run->jobs.arg);
	ms->job = NULL;
}

static void finish_run(struct analysis_run *run)
{
	struct analysis_metric_report *reports = xcalloc(run->n > 0 ? run->n : 1, sizeof(*reports));
	enum analysis_result *results = xcalloc(run->n > 0 ? run->n : 1, sizeof(*results));
	struct analysis_report rep;
	struct buf msg;
	size_t i;

	buf_init(&msg, MAX_MESSAGE);
	for (i = 0; i < run->n; i++) {
		struct metric_state *ms = &run->ms[i];

		cancel_metric(ms);
		if (ms->result == ANALYSIS_RUNNING)
			ms->result = ANALYSIS_INCONCLUSIVE;	/* ended early by another metric */
		results[i] = ms->result;
		reports[i].name = ms->name;
		reports[i].result = ms->result;
		reports[i].tally = ms->tally;
		reports[i].have_value = ms->have_value;
		reports[i].last_value = ms->last_value;
	}
	rep.result = analysis_combine(results, run->n);
	/* The message names the metric that decided, with its value against the threshold. */
	for (i = 0; i < run->n; i++) {
		const struct metric_state *ms = &run->ms[i];

		if (ms->result != rep.result)
			continue;
		if (msg.len > 0)
			buf_puts(&msg, "; ");
		if (rep.result == ANALYSIS_FAILED && ms->fail_why != NULL)
			buf_printf(&msg, "%s: %s", ms->name, ms->fail_why);
		else if (rep.result == ANALYSIS_FAILED)
			buf_printf(&msg, "%s = %g %s %g", ms->name, ms->last_value, analysis_cmp_text(ms->fail_op),
				   ms->fail_value);
		else if (rep.result == ANALYSIS_INCONCLUSIVE)
			buf_printf(&msg, "%s: inconclusive (%d of %d measurements): %s", ms->name,
				   ms->tally.inconclusive, ms->count,
				   ms->last_error != NULL ? ms->last_error : "stopped by another metric");
		else if (ms->have_value)
			buf_printf(&msg, "%s = %g", ms->name, ms->last_value);
		else
			buf_printf(&msg, "%s passed", ms->name);
	}
	rep.message = msg.data;
	rep.metrics = reports;
	rep.n_metrics = run->n;
	run->finished = 1;
	log_info("analysis", "run decided", "result", analysis_result_name(rep.result), "message", rep.message,
		 LOG_END);
	{
		analysis_done_fn done = run->done;
		void *arg = run->arg;

		free(results);
		/* done may free the run: nothing of it is touched afterwards. */
		done(&rep, arg);
	}
	free(reports);
	buf_release(&msg);
}

static void next_due(struct loop *l, void *arg)
{
	struct metric_state *ms = arg;

	(void)l;
	ms->timer = 0;
	measure(ms);
}

/*
 * Records one measurement, judged (failed_why NULL) or failed for failed_why
 * (a Job that did not succeed); may end the run (and the run may be freed by
 * its callback).
 */
static void record_as(struct metric_state *ms, int have_value, double value, const char *why,
		      const char *failed_why)
{
	struct analysis_run *run = ms->run;
	enum analysis_result r = failed_why != NULL ? ANALYSIS_FAILED
						    : analysis_measure(have_value, value, ms->fail_op, ms->fail_value);
	size_t i;

	str_set(&ms->fail_why, failed_why);
	if (r == ANALYSIS_INCONCLUSIVE) {
		ms->tally.inconclusive++;
		str_set(&ms->last_error, why != NULL ? why : "no data");
	} else {
		ms->have_value = 1;
		ms->last_value = value;
		if (r == ANALYSIS_FAILED)
			ms->tally.failed++;
		else
			ms->tally.successful++;
	}
	if (run->measured != NULL)
		run->measured(ms->name, r, run->arg);
	ms->result = analysis_decide(&ms->tally, ms->count, ms->failure_limit, ms->inconclusive_limit);
	if (ms->result == ANALYSIS_FAILED || ms->result == ANALYSIS_INCONCLUSIVE) {
		finish_run(run);
		return;
	}
	if (ms->result == ANALYSIS_RUNNING) {
		ms->timer = loop_timer_add(run->l, ms->interval_ms, next_due, ms);
		return;
	}
	for (i = 0; i < run->n; i++)
		if (run->ms[i].result == ANALYSIS_RUNNING)
			return;
	finish_run(run);
}

static void record(struct metric_state *ms, int have_value, double value, const char *why)
{
	record_as(ms, have_value, value, why, NULL);
}

int analysis_job_figure(const char *output, const char *figure, double *value)
{
	size_t flen = strlen(figure);
	const char *p = output;
	int found = 0;

	while (p != NULL && flen > 0 && (p = strstr(p, figure)) != NULL) {
		const char *start = p, *num = p + flen + 1;
		char *end;
		double v;

		p += flen;
		if ((start != output && start[-1] != '\n' && start[-1] != ' ') || *p != '=')
			continue;
		errno = 0;
		v = strtod(num, &end);
		if (end == num || errno != 0 || (*end != '\0' && *end != '\n' && *end != ' ' && *end != '\r'))
			continue;
		*value = v;
		found = 1;
	}
	return found;
}

void analysis_job_measured(struct analysis_job_token *token, int succeeded, const char *output)
{
	struct metric_state *ms = (struct metric_state *)token;
	char why[768];
	double v = 0;
	int have = 1;

	ms->job = NULL;
	if (!succeeded) {
		snprintf(why, sizeof(why), "job '%s' failed: %s", ms->job_name, output && *output ? output : "no output");
		record_as(ms, 0, 0, NULL, why);
		return;
	}
	if (ms->job_figure != NULL)
		have = analysis_job_figure(output ? output : "", ms->job_figure, &v);
	snprintf(why, sizeof(why), "job '%s' printed no line %s=NUMBER", ms->job_name,
		 ms->job_figure ? ms->job_figure : "");
	record(ms, have, v, have ? NULL : why);
}

static void query_done(struct http_response *resp, void *arg)
{
	struct scrape_req *sr = arg;
	struct metric_state *ms = sr->ms;
	struct error *err = NULL;
	char why[512];
	double v = 0;
	int rc;

	sr->req = NULL;
	ms->pending = 0;
	if (resp->result != 0) {
		snprintf(why, sizeof(why), "prometheus unreachable: %s", resp->error);
		record(ms, 0, 0, why);
		return;
	}
	rc = analysis_prometheus_parse(resp->body.data, resp->body.len, &v, &err);
	if (rc < 0) {
		snprintf(why, sizeof(why), "HTTP %ld: %s", resp->status, error_msg(err));
		error_free(err);
		record(ms, 0, 0, why);
		return;
	}
	record(ms, rc == 1, v, rc == 1 ? NULL : "no data");
}

/* All targets of a scrape answered: one measurement (or the baseline of a ratio). */
static void scrape_complete(struct metric_state *ms)
{
	struct analysis_run *run = ms->run;
	double d0, d1;

	if (ms->acc_error != NULL) {
		char why[600];

		snprintf(why, sizeof(why), "%s", ms->acc_error);
		str_set(&ms->acc_error, NULL);
		record(ms, 0, 0, why);
		return;
	}
	if (!analysis_selector_is_ratio(ms->sel)) {
		record(ms, ms->matched > 0, ms->acc[0], "no sample matches the scrape metric");
		return;
	}
	if (!ms->have_base) {
		ms->have_base = 1;
		ms->base[0] = ms->acc[0];
		ms->base[1] = ms->acc[1];
		ms->timer = loop_timer_add(run->l, ms->interval_ms, next_due, ms);
		return;
	}
	d0 = ms->acc[0] - ms->base[0];
	d1 = ms->acc[1] - ms->base[1];
	ms->base[0] = ms->acc[0];
	ms->base[1] = ms->acc[1];
	if (d1 <= 0 || d0 < 0) {
		record(ms, 0, 0, d1 < 0 || d0 < 0 ? "a counter went back (restart)" : "no increase of the denominator (no traffic)");
		return;
	}
	record(ms, 1, d0 / d1, NULL);
}

static void scrape_done(struct http_response *resp, void *arg)
{
	struct scrape_req *sr = arg;
	struct metric_state *ms = sr->ms;
	struct error *err = NULL;
	double s0 = 0, s1 = 0;
	size_t m0 = 0, m1 = 0;

	sr->req = NULL;
	ms->pending--;
	if (ms->acc_error == NULL) {
		if (resp->result != 0 || resp->status != 200) {
			char why[512];

			snprintf(why, sizeof(why), "scrape failed: %s", resp->result != 0 ? resp->error : "not HTTP 200");
			str_set(&ms->acc_error, why);
		} else if (analysis_scrape_sum(ms->sel, 0, resp->body.data, resp->body.len, &s0, &m0, &err) < 0 ||
			   (analysis_selector_is_ratio(ms->sel) &&
			    analysis_scrape_sum(ms->sel, 1, resp->body.data, resp->body.len, &s1, &m1, &err) < 0)) {
			str_set(&ms->acc_error, error_msg(err));
			error_free(err);
		} else {
			ms->acc[0] += s0;
			ms->acc[1] += s1;
			ms->matched += m0 + m1;
		}
	}
	if (ms->pending == 0)
		scrape_complete(ms);
}

static void measure(struct metric_state *ms)
{
	struct analysis_run *run = ms->run;
	struct http_request_opts o;
	struct error *err = NULL;
	size_t i;

	if (ms->provider == SPEC_METRIC_JOB) {
		char why[512] = "cannot start the Job";

		ms->job = run->jobs.start(ms->name, ms->job_name, (struct analysis_job_token *)ms, run->jobs.arg, why,
					  sizeof(why));
		if (ms->job == NULL)
			record_as(ms, 0, 0, NULL, why);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.timeout_ms = run->timeout_ms;
	o.connect_timeout_ms = run->timeout_ms;
	o.max_body = MAX_BODY;
	if (ms->provider == SPEC_METRIC_PROMETHEUS) {
		o.url = ms->url;
		ms->reqs[0].req = http_client_start(run->h, &o, query_done, &ms->reqs[0], &err);
		if (ms->reqs[0].req == NULL) {
			char why[512];

			snprintf(why, sizeof(why), "%s", error_msg(err));
			error_free(err);
			record(ms, 0, 0, why);
			return;
		}
		ms->pending = 1;
		return;
	}
	ms->acc[0] = ms->acc[1] = 0;
	ms->matched = 0;
	str_set(&ms->acc_error, NULL);
	ms->pending = run->n_targets;
	for (i = 0; i < run->n_targets; i++) {
		char url[1024];

		snprintf(url, sizeof(url), "%s%s", run->targets[i], ms->scrape_path);
		o.url = url;
		ms->reqs[i].req = http_client_start(run->h, &o, scrape_done, &ms->reqs[i], &err);
		if (ms->reqs[i].req == NULL) {
			if (ms->acc_error == NULL)
				str_set(&ms->acc_error, error_msg(err));
			error_clear(&err);
			ms->pending--;
		}
	}
	if (ms->pending == 0)
		scrape_complete(ms);
}

static void first_due(struct loop *l, void *arg)
{
	struct metric_state *ms = arg;

	(void)l;
	ms->timer = 0;
	measure(ms);
}

void analysis_run_free(struct analysis_run *run)
{
	size_t i;

	if (run == NULL)
		return;
	for (i = 0; i < run->n; i++) {
		struct metric_state *ms = &run->ms[i];

		if (ms->reqs != NULL)
			cancel_metric(ms);
		FREE_ALL(ms->reqs, ms->name, ms->url, ms->scrape_path, ms->acc_error, ms->last_error, ms->job_name,
			 ms->job_figure, ms->fail_why);
		analysis_selector_free(ms->sel);
	}
	free(run->ms);
	strv_free_n(run->targets, run->n_targets);
	free(run);
}

struct analysis_run *analysis_run_start(struct loop *l, struct http_client *h, const struct analysis_opts *o,
					analysis_done_fn done, void *arg, struct error **err)
{
	struct analysis_run *run;
	size_t i;

	if (o->n_metrics == 0) {
		error_set(err, ERR_INVALID, "analysis: a run needs at least one metric");
		return NULL;
	}
	run = xcalloc(1, sizeof(*run));
	run->l = l;
	run->h = h;
	run->done = done;
	run->measured = o->measured;
	run->arg = arg;
	if (o->jobs != NULL)
		run->jobs = *o->jobs;
	run->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 10000;
	run->n_targets = o->n_scrape_targets;
	run->targets = xcalloc(o->n_scrape_targets + 1, sizeof(char *));
	for (i = 0; i < o->n_scrape_targets; i++)
		run->targets[i] = xstrdup(o->scrape_targets[i]);
	run->n = o->n_metrics;
	run->ms = xcalloc(o->n_metrics + 1, sizeof(*run->ms));
	for (i = 0; i < o->n_metrics; i++) {
		const struct spec_metric *m = &o->metrics[i];
		struct metric_state *ms = &run->ms[i];
		size_t k, nreq;

		ms->run = run;
		ms->name = xstrdup(m->name != NULL ? m->name : "metric");
		ms->provider = m->provider;
		ms->fail_op = m->fail_op;
		ms->fail_value = m->fail_value;
		ms->interval_ms = m->interval_ms > 0 ? m->interval_ms : 30000;
		ms->count = m->count > 0 ? m->count : 1;
		ms->failure_limit = m->failure_limit >= 0 ? m->failure_limit : 0;
		ms->inconclusive_limit = m->inconclusive_limit >= 0 ? m->inconclusive_limit : ms->failure_limit;
		ms->result = ANALYSIS_RUNNING;
		nreq = m->provider == SPEC_METRIC_SCRAPE ? o->n_scrape_targets : 1;
		ms->reqs = xcalloc(nreq + 1, sizeof(*ms->reqs));
		for (k = 0; k < nreq; k++)
			ms->reqs[k].ms = ms;
		if (m->provider == SPEC_METRIC_PROMETHEUS) {
			struct buf url, query;

			buf_init(&url, 64 * 1024);
			buf_init(&query, 32 * 1024);
			if (analysis_query_expand(&query, m->query != NULL ? m->query : "", o->query_args,
						  o->n_query_args, err) < 0 ||
			    analysis_prometheus_url(&url, m->prometheus_address != NULL ? m->prometheus_address
											: "http://127.0.0.1:9090",
						    query.data, err) < 0) {
				buf_release(&query);
				buf_release(&url);
				error_wrap(err, "metric '%s'", ms->name);
				goto fail;
			}
			buf_release(&query);
			ms->url = buf_detach(&url, NULL);
		} else if (m->provider == SPEC_METRIC_JOB) {
			if (run->jobs.start == NULL || run->jobs.cancel == NULL) {
				error_set(err, ERR_INVALID, "analysis: metric '%s': no Job runner for a Job metric", ms->name);
				goto fail;
			}
			ms->job_name = xstrdup(m->job_name != NULL ? m->job_name : "");
			ms->job_figure = m->job_figure != NULL ? xstrdup(m->job_figure) : NULL;
		} else {
			if (o->n_scrape_targets == 0) {
				error_set(err, ERR_INVALID, "analysis: metric '%s': no container to scrape", ms->name);
				goto fail;
			}
			if (analysis_selector_parse(m->scrape_metric, &ms->sel, err) < 0) {
				error_wrap(err, "metric '%s'", ms->name);
				goto fail;
			}
			ms->scrape_path = xstrdup(m->scrape_path != NULL ? m->scrape_path : "/metrics");
		}
	}
	if (run->timeout_ms > 0)
		for (i = 0; i < run->n; i++)
			if (run->ms[i].interval_ms < run->timeout_ms && run->ms[i].interval_ms >= 100)
				run->timeout_ms = run->ms[i].interval_ms;
	/* The first measurements run from the loop, so that done is never called from here. */
	for (i = 0; i < run->n; i++)
		run->ms[i].timer = loop_timer_add(l, 0, first_due, &run->ms[i]);
	return run;
fail:
	run->n = i + 1;
	analysis_run_free(run);
	return NULL;
}
