/* Metric analysis for canary and blue-green: measurements from Prometheus or a direct scrape, judged against the AnalysisTemplate. */
#ifndef AURIGA_ANALYSIS_H
#define AURIGA_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "spec.h"

struct loop;
struct http_client;

/*
 * The outcome of one measurement, of one metric's run and of a whole run.
 * A measurement is FAILED when (value fail_op fail_value) holds, INCONCLUSIVE
 * when there is no value (source unreachable, no data, NaN, parse error).
 */
enum analysis_result {
	ANALYSIS_RUNNING,
	ANALYSIS_SUCCESSFUL,
	ANALYSIS_FAILED,
	ANALYSIS_INCONCLUSIVE,
};

const char *analysis_result_name(enum analysis_result r);
/* The operator as written in a spec: ">", ">=", "<", "<=", "==", "!=". */
const char *analysis_cmp_text(enum spec_cmp op);

/* 1 when (value op ref) holds. NaN never compares true. */
int analysis_compare(double value, enum spec_cmp op, double ref);

/* One measurement: have_value 0 (or a NaN value) is INCONCLUSIVE, else FAILED or SUCCESSFUL. */
enum analysis_result analysis_measure(int have_value, double value, enum spec_cmp fail_op, double fail_value);

/*
 * The tallies of one metric's run and its limits. inconclusive_limit is the
 * number of inconclusive measurements tolerated: the metric's
 * inconclusiveLimit, by default its failureLimit.
 */
struct analysis_tally {
	int successful;
	int failed;
	int inconclusive;
};

/*
 * The decision after each measurement: FAILED as soon as failed >
 * failure_limit, INCONCLUSIVE as soon as inconclusive > inconclusive_limit
 * (both decided early: no further measurement is taken), RUNNING while fewer
 * than count measurements were taken, INCONCLUSIVE when all count of them
 * were inconclusive (tolerated one by one, yet no evidence), else SUCCESSFUL.
 */
enum analysis_result analysis_decide(const struct analysis_tally *t, int count, int failure_limit,
				     int inconclusive_limit);

/* A template's result from its metrics': any FAILED, else any INCONCLUSIVE, else any RUNNING, else SUCCESSFUL. */
enum analysis_result analysis_combine(const enum analysis_result *r, size_t n);

/* ---- Prometheus: GET <address>/api/v1/query?query=<PromQL> ---- */

/*
 * Builds the instant-query URL for address (http://host:port, a trailing
 * slash allowed) and query, percent-encoded.
 */
int analysis_prometheus_url(struct buf *out, const char *address, const char *query, struct error **err);
/*
 * Reads an instant-query answer: a scalar, or a vector of exactly one
 * sample. Returns 1 with *value set, 0 for no data (an empty vector, or a
 * NaN value), or a negative ERR_PROTOCOL with *err set (not JSON, status
 * "error" with Prometheus' message, a matrix, several samples).
 */
int analysis_prometheus_parse(const char *body, size_t len, double *value, struct error **err);

/*
 * A Prometheus query may name the release it judges with placeholders,
 * which a run replaces before sending it: {{name}} (spaces inside the
 * braces allowed) becomes the value of the argument called name. The
 * engine passes deployment, slot, revision (the new slot's), instances
 * (the new slot's containers as a regular expression of their
 * 127.0.0.1:port, escaped for a PromQL double-quoted string) and
 * containers (their names as a regular expression), e.g.
 *
 *   http_server_requests_total{revision="{{revision}}",instance=~"{{instances}}"}
 *
 * An unknown or unterminated placeholder is an ERR_INVALID naming it.
 */
struct analysis_arg {
	const char *name;
	const char *value;
};

int analysis_query_expand(struct buf *out, const char *query, const struct analysis_arg *args, size_t n_args,
			  struct error **err);

/* ---- Direct scrape of the app's Prometheus text metrics ---- */

/*
 * An AnalysisTemplate's scrape `metric` is a selector, or a ratio of two:
 *
 *   name                         every sample of that name, summed
 *   name{l="v",l!="v",l=~"re",l!~"re"}   the samples whose labels match
 *                                (regular expressions are POSIX extended,
 *                                anchored at both ends, as in PromQL)
 *   A / B                        a ratio of counters
 *
 * A selector alone is a gauge: the measurement is the sum over the
 * containers scraped. A ratio is one of counter increases: the run scrapes
 * once as a baseline, and each measurement is increase(A) / increase(B)
 * since the scrape before, summed over the containers; no increase of B (no
 * traffic) is no data, hence inconclusive. The error rate of the demo node:
 *
 *   http_server_requests_total{uri="/api/v11/transactions",status=~"5.."}
 *     / http_server_requests_total{uri="/api/v11/transactions"}
 */
struct analysis_selector;

/*
 * Parses every scrape metric of set's AnalysisTemplates as a run would: one
 * that does not parse is a diag at its field when the specs load, not a
 * failed analysis in the middle of a release. Returns the diags added.
 */
size_t analysis_scrape_check(const struct spec_set *set, struct spec_diags *diags);

int analysis_selector_parse(const char *text, struct analysis_selector **out, struct error **err);
void analysis_selector_free(struct analysis_selector *s);
int analysis_selector_is_ratio(const struct analysis_selector *s);

/*
 * Sums the samples of a scrape body that the selector's numerator
 * (which 0) or denominator (which 1) matches into *sum; *matched is the
 * number of samples. Returns 0, or ERR_PROTOCOL with the line number of a
 * malformed line.
 */
int analysis_scrape_sum(const struct analysis_selector *s, int which, const char *body, size_t len,
			double *sum, size_t *matched, struct error **err);

/* ---- A run over the loop ---- */

struct analysis_metric_report {
	const char *name;
	enum analysis_result result;
	struct analysis_tally tally;
	int have_value;
	double last_value;	/* the last measured value */
};

struct analysis_report {
	enum analysis_result result;
	/* "error-rate = 0.2 > 0.05", "latency-p99: inconclusive: ...", or "all metrics passed" */
	const char *message;
	const struct analysis_metric_report *metrics;
	size_t n_metrics;
};

/* Called once, on the loop thread, when the run is decided; the report is valid during the call. */
typedef void (*analysis_done_fn)(const struct analysis_report *report, void *arg);
/*
 * Called on the loop thread after every measurement of metric with its
 * result (SUCCESSFUL, FAILED or INCONCLUSIVE), before the run decides on
 * it; arg is the run's. It must not free the run.
 */
typedef void (*analysis_measured_fn)(const char *metric, enum analysis_result result, void *arg);

/* ---- Jobs as metrics ---- */

/*
 * The last figure NAME=NUMBER that a Job's output (job.c's message: "job
 * container 'x' exited with N: " and its last lines) holds, at the start of
 * a line or after a space, into *value. Returns 1, or 0 when it holds none.
 */
int analysis_job_figure(const char *output, const char *figure, double *value);

/*
 * A JOB metric's measurement is one run of the Job, by the run's owner:
 * start(metric, job, token, arg) starts it and returns a handle (NULL when it cannot,
 * with why filled), and the owner reports through analysis_job_measured()
 * once, unless cancel(handle, arg) came first (the run ended or was freed).
 */
struct analysis_job_token;
struct analysis_job_ops {
	void *(*start)(const char *metric, const char *job, struct analysis_job_token *token, void *arg,
		       char *why, size_t why_len);
	void (*cancel)(void *handle, void *arg);
	void *arg;
};

/*
 * The Job of a measurement ended: succeeded (exit code 0) and what it said.
 * A failed Job is a failed measurement, whatever it printed; else the value
 * is the metric's figure (none printed: inconclusive), or 0 (its exit code)
 * when the metric names no figure.
 */
void analysis_job_measured(struct analysis_job_token *token, int succeeded, const char *output);

struct analysis_opts {
	const struct spec_metric *metrics;	/* copied */
	size_t n_metrics;
	/*
	 * For scrape metrics: the base URLs of the containers to scrape
	 * ("http://127.0.0.1:32768"); the metric's scrape path is appended.
	 */
	const char *const *scrape_targets;
	size_t n_scrape_targets;
	int64_t request_timeout_ms;	/* per query or scrape; 0: 10 s, capped by the interval */
	/* The values of the placeholders in Prometheus queries (copied into the query at start). */
	const struct analysis_arg *query_args;
	size_t n_query_args;
	analysis_measured_fn measured;	/* NULL: none */
	const struct analysis_job_ops *jobs;	/* JOB metrics (copied); NULL: they are refused */
};

struct analysis_run;

/*
 * Starts a run: each metric takes its first measurement at once (a ratio
 * scrape takes its baseline at once and its first measurement one interval
 * later), then one every interval_ms, until analysis_decide() settles it;
 * a FAILED or INCONCLUSIVE metric ends the whole run at once. done is never
 * called synchronously. Returns NULL with *err set on a bad option (a bad
 * selector, no scrape target).
 */
struct analysis_run *analysis_run_start(struct loop *l, struct http_client *h, const struct analysis_opts *o,
					analysis_done_fn done, void *arg, struct error **err);
/* Stops a run (no callback) and frees it; after done has run it only frees. */
void analysis_run_free(struct analysis_run *run);

#endif
