/* Verification Jobs as analysis metrics: each measurement of a Job metric runs the Job against the new slot. */
#include "engine/engine_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "engine/job.h"
#include "engine/job_place.h"
#include "rollout/traffic.h"
#include "runtime/log.h"
#include "status/status.h"
#include "strv.h"
#include "util.h"

#define COMPONENT "traffic"
#define ANALYSIS_LABEL "auriga.io/analysis"

struct engine_verify {
	struct job_runner *jr;
	const struct spec_set *const *set;
	const struct desired *const *desired;
	char *deployment;
	char *target_id, *target_name;	/* the new slot's container the Jobs run beside, or NULL */
	char *none;			/* why none runs when there is no such container */
	struct analysis_job_ops ops;
};

/* One Job run for one measurement. */
struct verify_run {
	struct analysis_job_token *token;
	struct job_run *run;
	char *what;		/* "verification Job 'JOB' of metric 'METRIC'", for the log */
	int starting;		/* inside job_place_start: a verdict now is kept, not reported */
	int ended_early;
	char *early;
};

static void on_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct verify_run *vr = arg;
	struct analysis_job_token *token = vr->token;
	char n[16];

	if (vr->starting) {
		vr->ended_early = 1;
		vr->early = xstrdup(message ? message : "");
		return;
	}
	snprintf(n, sizeof(n), "%d", attempts);
	log_info(COMPONENT, succeeded ? "verification job passed" : "verification job failed", "job", vr->what,
		 "attempts", n, "message", message ? message : "", (char *)NULL);
	FREE_ALL(vr->what, vr->early, vr);
	/* The analysis run may end, and its owner free it, from here. */
	analysis_job_measured(token, succeeded, message);
}

static void *verify_start(const char *metric, const char *job_name, struct analysis_job_token *token, void *arg,
			  char *why, size_t why_len)
{
	struct engine_verify *v = arg;
	const struct desired *d = *v->desired;
	const struct desired_deployment *dd = d ? desired_find(d, v->deployment) : NULL;
	const struct spec_job *job = *v->set ? spec_set_job(*v->set, job_name) : NULL;
	struct verify_run *vr;
	struct job_check c;
	char *env[3], *suffix;

	if (dd == NULL || dd->spec == NULL || job == NULL || v->target_name == NULL) {
		snprintf(why, why_len, "%s", job == NULL ? "no such Job" : v->none);
		return NULL;
	}
	/* On the deployment's network, or on the instance's jobs network the slot joins for the run: by name. */
	memset(&c, 0, sizeof(c));
	c.host = v->target_name;
	c.port = dd->spec->tmpl.n_ports ? dd->spec->tmpl.ports[0].container_port : 0;
	c.target = v->target_name;
	env[0] = xasprintf("AURIGA_DEPLOYMENT=%s", dd->name);
	env[1] = xasprintf("AURIGA_METRIC=%s", metric);
	env[2] = NULL;
	c.env = (const char *const *)env;
	c.label = ANALYSIS_LABEL;
	suffix = xasprintf("analysis-%s", metric);
	c.suffix = suffix;
	/* The figures are read from its last lines. */
	c.tail_lines = 20;
	c.max_output = 2048;
	c.what = "verification job";
	c.attach = v->target_id;
	vr = xcalloc(1, sizeof(*vr));
	vr->token = token;
	vr->what = xasprintf("%s (metric %s)", job_name, metric);
	vr->starting = 1;
	vr->run = job_place_check_start(v->jr, d, dd, job, *v->set ? (*v->set)->policy : NULL, &c, on_done, vr);
	vr->starting = 0;
	if (vr->ended_early) {
		snprintf(why, why_len, "job '%s': %s", job_name, vr->early);
		FREE_ALL(vr->what, vr->early, vr);
		vr = NULL;
	}
	FREE_ALL(env[0], env[1], suffix);
	return vr;
}

/* The run is no longer wanted: its container is still removed, its verdict goes nowhere. */
static void verify_cancel(void *handle, void *arg)
{
	struct verify_run *vr = handle;

	(void)arg;
	job_orphan(vr->run);
	FREE_ALL(vr->what, vr->early, vr);
}

struct engine_verify *engine_verify_new(struct job_runner *jr, const struct spec_set *const *set,
					const struct desired *const *desired, const char *deployment,
					const struct obs_container *target, const char *why)
{
	struct engine_verify *ev = xcalloc(1, sizeof(*ev));

	ev->jr = jr;
	ev->set = set;
	ev->desired = desired;
	ev->deployment = xstrdup(deployment);
	ev->none = xstrdup(why && why[0] ? why : "no container of the new slot runs for the Job to reach");
	if (target != NULL && jr != NULL) {
		ev->target_id = xstrdup(target->id);
		ev->target_name = xstrdup(target->name);
	}
	ev->ops.start = verify_start;
	ev->ops.cancel = verify_cancel;
	ev->ops.arg = ev;
	return ev;
}

const struct analysis_job_ops *engine_verify_ops(struct engine_verify *v)
{
	return &v->ops;
}

void engine_verify_free(struct engine_verify *v)
{
	if (v == NULL)
		return;
	FREE_ALL(v->deployment, v->target_id, v->target_name, v->none, v);
}

/* ------------------------------------------------------------ verdicts by revision */

void verify_book_release(struct verify_book *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].metric);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

static void book_drop(struct verify_book *b, size_t i)
{
	if (b->v == NULL || i >= b->n)
		return;
	free(b->v[i].metric);
	memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(*b->v));
	b->n--;
}

static const struct verify_verdict *book_find(const struct verify_book *b, const char *rev, const char *metric)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->v[i].rev, rev) == 0 && strcmp(b->v[i].metric, metric) == 0)
			return &b->v[i];
	return NULL;
}

static void book_put(struct verify_book *b, const char *rev, const char *metric, enum analysis_result result,
		     int have_value, double value)
{
	const struct verify_verdict *old = book_find(b, rev, metric);
	struct verify_verdict *v;
	size_t i, j, revs = 0;

	if (old)
		book_drop(b, (size_t)(old - b->v));
	b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
	v = &b->v[b->n++];
	snprintf(v->rev, sizeof(v->rev), "%s", rev);
	v->metric = xstrdup(metric);
	v->result = result;
	v->have_value = have_value;
	v->value = value;
	/* The oldest revision's verdicts (the first ones) go once more than VERIFY_BOOK_REVS are kept. */
	for (i = 0; i < b->n; i++) {
		for (j = 0; j < i && strcmp(b->v[j].rev, b->v[i].rev) != 0; j++)
			;
		revs += j == i;
	}
	if (revs > VERIFY_BOOK_REVS) {
		char first[VERIFY_KEY_LEN];

		snprintf(first, sizeof(first), "%s", b->v[0].rev);
		for (i = b->n; i-- > 0;)
			if (strcmp(b->v[i].rev, first) == 0)
				book_drop(b, i);
	}
}

void verify_book_record(struct verify_book *b, const char *key, const struct analysis_report *r)
{
	size_t i;

	for (i = 0; i < r->n_metrics; i++)
		book_put(b, key, r->metrics[i].name, r->metrics[i].result, r->metrics[i].have_value,
			 r->metrics[i].last_value);
}

int verify_book_due(const struct verify_book *b, const char *key)
{
	const char *dot = strchr(key, '.');
	size_t i, rl = dot ? (size_t)(dot - key) : strlen(key);
	int same_rev = 0;

	for (i = 0; i < b->n; i++) {
		if (strcmp(b->v[i].rev, key) == 0)
			return 0;
		same_rev |= strncmp(b->v[i].rev, key, rl) == 0 && (b->v[i].rev[rl] == '.' || b->v[i].rev[rl] == '\0');
	}
	return same_rev;
}

json_t *verify_book_to_json(const struct verify_book *b)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < b->n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "rev", b->v[i].rev, "metric", b->v[i].metric, "result",
				      analysis_result_name(b->v[i].result));

		if (o && b->v[i].have_value)
			json_object_set_new(o, "value", json_real(b->v[i].value));
		json_array_append_new(a, o);
	}
	return a;
}

void verify_book_from_json(struct verify_book *b, json_t *j)
{
	static const enum analysis_result results[] = { ANALYSIS_RUNNING, ANALYSIS_SUCCESSFUL, ANALYSIS_FAILED,
							ANALYSIS_INCONCLUSIVE };
	size_t i, k;
	json_t *o;

	verify_book_release(b);
	json_array_foreach(j, i, o) {
		const char *rev = NULL, *metric = NULL, *result = NULL;
		json_t *value = json_object_get(o, "value");

		if (json_unpack(o, "{s:s, s:s, s:s}", "rev", &rev, "metric", &metric, "result", &result) < 0 ||
		    strlen(rev) >= VERIFY_KEY_LEN)
			continue;
		for (k = 0; k < ARRAY_SIZE(results) && strcmp(analysis_result_name(results[k]), result) != 0; k++)
			;
		if (k < ARRAY_SIZE(results))
			book_put(b, rev, metric, results[k], json_is_number(value), json_number_value(value));
	}
}

static const char *verdict_word(const struct verify_verdict *v, const char *skipped)
{
	if (v == NULL)
		return skipped ? "Skipped" : "Pending";
	switch (v->result) {
	case ANALYSIS_SUCCESSFUL: return "Passed";
	case ANALYSIS_FAILED: return "Failed";
	case ANALYSIS_INCONCLUSIVE: return "Inconclusive";
	case ANALYSIS_RUNNING: break;
	}
	return "Unfinished";
}

/* Each metric of template name, once (a metric another template named before is not named again). */
static void declare_template(const struct verify_book *b, const struct spec_set *set, const char *name,
			     const char *rev, const char *skipped, struct status_deployment *sd)
{
	const struct spec_analysis_template *at = spec_set_analysis_template(set, name);
	size_t i, k;

	for (i = 0; at && i < at->n_metrics; i++) {
		const struct spec_metric *m = &at->metrics[i];
		const struct verify_verdict *vv = book_find(b, rev, m->name);
		struct status_verification *v;

		for (k = 0; k < sd->nverifications && strcmp(sd->verifications[k].metric, m->name) != 0; k++)
			;
		if (k < sd->nverifications || sd->nverifications >= STATUS_VERIFICATIONS_MAX)
			continue;
		v = status_add_verification(sd, m->name);
		if (m->provider == SPEC_METRIC_JOB) {
			v->job = xstrdup(m->job_name);
			v->figure = xstrdup_or_null(m->job_figure);
		}
		/* A Job judged by its exit code has no value to tell: its verdict says it. */
		if (vv && vv->have_value && !(m->provider == SPEC_METRIC_JOB && m->job_figure == NULL))
			v->value = xasprintf("%g", vv->value);
		v->fail_if = xasprintf("%s %g", analysis_cmp_text(m->fail_op), m->fail_value);
		v->verdict = xstrdup(verdict_word(vv, skipped));
		if (vv == NULL && skipped)
			v->reason = xstrdup(skipped);
	}
}

void verify_book_status(const struct verify_book *b, const struct spec_set *set,
			const struct desired_deployment *dd, const char *key, const char *skipped,
			struct status_deployment *sd)
{
	char **names = NULL;
	size_t i, n;

	if (set == NULL)
		return;
	n = desired_verify_templates(dd, &names);
	for (i = 0; i < n; i++)
		declare_template(b, set, names[i], key, skipped, sd);
	free(names);
}
