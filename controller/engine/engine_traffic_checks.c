/* The checks a blue-green or canary release's decision asks for: analysis runs, verification Jobs, smoke tests. */
#include "engine/engine_traffic_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine/job.h"
#include "engine/job_place.h"
#include "runtime/log.h"
#include "status/metrics.h"
#include "traffic/analysis.h"
#include "util.h"

#define COMPONENT "traffic"
#define SMOKE_LABEL "auriga.io/smoke-test"

/* Drops a verification run of a complete release (its Jobs are cancelled). */
void et_rerun_drop(struct et_dep *d)
{
	analysis_run_free(d->rerun);
	d->rerun = NULL;
	engine_verify_free(d->reverify);
	d->reverify = NULL;
	d->rerun_done = 0;
}

/* Drops the check under way (its run stops, a smoke container still running is left to its own end). */
void et_check_drop(struct et_dep *d)
{
	analysis_run_free(d->run);
	d->run = NULL;
	engine_verify_free(d->verify);
	d->verify = NULL;
	job_orphan(d->smoke);
	d->smoke = NULL;
	d->check = TRAFFIC_CHECK_NONE;
	d->check_step = 0;
	d->state = TRAFFIC_CHECK_RUNNING;
	free(d->msg);
	d->msg = NULL;
	d->gen++;
}

static void check_done(struct engine_traffic *t, struct et_dep *d, int passed, const char *msg)
{
	d->state = passed ? TRAFFIC_CHECK_PASSED : TRAFFIC_CHECK_FAILED;
	free(d->msg);
	d->msg = xstrdup(msg ? msg : "");
	log_info(COMPONENT, passed ? "check passed" : "check failed", "deployment", d->name, "check",
		 traffic_check_name(d->check), "message", d->msg, (char *)NULL);
	t->kick(t->arg);
}

static void on_analysis(const struct analysis_report *r, void *arg)
{
	struct et_dep *d = arg;

	/* The run is decided: keep the report's words (they name the metric and its value). */
	d->state = r->result == ANALYSIS_SUCCESSFUL ? TRAFFIC_CHECK_PASSED : TRAFFIC_CHECK_FAILED;
	free(d->msg);
	d->msg = xstrdup(r->message ? r->message : analysis_result_name(r->result));
	log_info(COMPONENT, "analysis decided", "deployment", d->name, "result", analysis_result_name(r->result),
		 "message", d->msg, (char *)NULL);
	/* Each metric's verdict is the record of what it verified (staging's note says it). */
	verify_book_record(&d->book, d->run_key, r);
	et_records_save(d->t);
	d->t->kick(d->t->arg);
}

/* A complete release verified again decided: its verdicts are recorded, the release stays as it is. */
static void on_reverified(const struct analysis_report *r, void *arg)
{
	struct et_dep *d = arg;

	log_info(COMPONENT, "verification run again decided", "deployment", d->name, "result",
		 analysis_result_name(r->result), "message", r->message ? r->message : "", (char *)NULL);
	verify_book_record(&d->book, d->rerun_key, r);
	d->rerun_done = 1;
	et_records_save(d->t);
	d->t->kick(d->t->arg);
}

/* Every measurement of a run, counted per deployment and metric for /metrics. */
static void on_measured(const char *metric, enum analysis_result r, void *arg)
{
	struct et_dep *d = arg;

	auriga_metrics_analysis_result(d->t->metrics, d->name, metric, analysis_result_name(r));
}

/*
 * The container a smoke test or a verification Job runs beside: the slot's
 * first ready one, else its first running one, or NULL.
 */
static const struct obs_container *slot_target(const struct rollout_ctr *v, size_t n, const char *slot)
{
	const struct obs_container *alive = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!traffic_in_slot(v[i].c, slot) || !obs_container_alive(v[i].c))
			continue;
		if (v[i].ready)
			return v[i].c;
		if (alive == NULL)
			alive = v[i].c;
	}
	return alive;
}

/*
 * The Jobs beside container c run on its endpoint: its Docker reaches it
 * by name on a network there. NULL (why says so) when the engine drives no
 * endpoint of that name.
 */
static struct job_runner *jobs_at(struct engine_traffic *t, const struct obs_container *c, char *why, size_t n)
{
	size_t i;

	if (t->n_hosts == 0)
		return t->jobs;
	for (i = 0; i < t->n_hosts; i++)
		if (c->host && strcmp(c->host, t->hosts[i].name) == 0)
			return t->hosts[i].jobs;
	snprintf(why, n, "container '%s' runs on endpoint '%s', which the Cluster does not name", c->name,
		 c->host ? c->host : "?");
	return NULL;
}

/*
 * An analysis run of templates against slot's containers, reporting to done;
 * its verification Jobs into *verify. NULL (with *err, or without when no
 * template names a metric) when it cannot start.
 */
static struct analysis_run *analysis_begin(struct engine_traffic *t, struct et_dep *d,
					   const struct desired_deployment *dd, char *const *templates,
					   size_t n_templates, const struct rollout_ctr *v, size_t n, const char *slot,
					   analysis_done_fn done, struct engine_verify **verify, struct error **err)
{
	struct analysis_run *run;
	struct spec_metric *metrics = NULL;
	struct analysis_opts o;
	struct analysis_arg args[5];
	struct buf instances, containers;
	const char **targets = NULL;
	const struct obs_container *target;
	struct job_runner *jr;
	char why[512] = "";
	size_t i, j, nm = 0, nt = 0;
	int cport = 0;

	for (i = 0; i < n_templates; i++) {
		const struct spec_analysis_template *at = spec_set_analysis_template(t->set, templates[i]);

		for (j = 0; at && j < at->n_metrics; j++) {
			metrics = xrealloc(metrics, (nm + 1) * sizeof(*metrics));
			metrics[nm++] = at->metrics[j];
			if (cport == 0 && at->metrics[j].provider == SPEC_METRIC_SCRAPE)
				cport = spec_container_port(&dd->spec->tmpl, &at->metrics[j].scrape_port);
		}
	}
	if (cport == 0 && dd->spec->tmpl.n_ports)
		cport = dd->spec->tmpl.ports[0].container_port;
	targets = n ? xcalloc(n, sizeof(*targets)) : NULL;
	for (i = 0; i < n; i++) {
		int hp = obs_container_host_port(v[i].c, cport);
		struct buf b;

		if (!traffic_in_slot(v[i].c, slot) || hp == 0 || !obs_container_alive(v[i].c))
			continue;
		buf_init(&b, 256);
		(void)buf_printf(&b, "http://%s:%d", obs_container_addr(v[i].c, NULL), hp);
		targets[nt++] = buf_detach(&b, NULL);
	}
	/*
	 * What a Prometheus query may name: the new slot's containers, by the
	 * address Prometheus scrapes them at, obs_container_addr (dots escaped for a
	 * regular expression inside a PromQL string) and by name.
	 */
	buf_init(&instances, 16 * 1024);
	buf_init(&containers, 16 * 1024);
	for (i = 0; i < n; i++) {
		int hp = obs_container_host_port(v[i].c, cport);

		if (!traffic_in_slot(v[i].c, slot) || !obs_container_alive(v[i].c))
			continue;
		if (hp != 0) {
			const char *a = obs_container_addr(v[i].c, NULL);

			(void)buf_puts(&instances, instances.len ? "|" : "");
			for (; *a; a++)
				(void)(*a == '.' ? buf_puts(&instances, "\\\\.") : buf_printf(&instances, "%c", *a));
			(void)buf_printf(&instances, ":%d", hp);
		}
		(void)buf_printf(&containers, "%s%s", containers.len ? "|" : "", v[i].c->name);
	}
	args[0] = (struct analysis_arg){ "deployment", dd->name };
	args[1] = (struct analysis_arg){ "slot", slot };
	args[2] = (struct analysis_arg){ "revision", d->rec.rev };
	args[3] = (struct analysis_arg){ "instances", instances.data };
	args[4] = (struct analysis_arg){ "containers", containers.data };
	memset(&o, 0, sizeof(o));
	o.metrics = metrics;
	o.n_metrics = nm;
	o.scrape_targets = targets;
	o.n_scrape_targets = nt;
	o.query_args = args;
	o.n_query_args = ARRAY_SIZE(args);
	o.measured = on_measured;
	target = slot_target(v, n, slot);
	jr = target ? jobs_at(t, target, why, sizeof(why)) : NULL;
	*verify = engine_verify_new(jr, &t->set, &t->desired, dd->name, target, why);
	o.jobs = engine_verify_ops(*verify);
	run = nm ? analysis_run_start(t->loop, t->http, &o, done, d, err) : NULL;
	for (i = 0; i < nt; i++)
		free((void *)targets[i]);
	free((void *)targets);
	free(metrics);
	buf_release(&instances);
	buf_release(&containers);
	return run;
}

void et_analysis_start(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		       char *const *templates, size_t n_templates, const struct rollout_ctr *v, size_t n,
		       const char *slot)
{
	struct error *err = NULL;

	snprintf(d->run_key, sizeof(d->run_key), "%s", dd->verify_key);
	d->run = analysis_begin(t, d, dd, templates, n_templates, v, n, slot, on_analysis, &d->verify, &err);
	if (d->run == NULL) {
		d->state = TRAFFIC_CHECK_FAILED;
		free(d->msg);
		d->msg = xstrdup(err ? error_msg(err) : "the analysis names no metric");
		error_free(err);
	}
}

/*
 * A complete release whose templates changed since it was verified (its
 * revision has verdicts under another key, none under this one): its
 * verification runs again against the slot that serves, once per key, so
 * the new thresholds, queries or Jobs decide what its note says. The
 * release itself stays as it is.
 */
void et_reverify(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		 const struct rollout_ctr *v, size_t n, const char *slot)
{
	const char *key = dd->verify_key;
	char **names = NULL;
	struct error *err = NULL;
	size_t nt;

	if (d->rerun && d->rerun_done)
		et_rerun_drop(d);
	if (d->rerun || strcmp(d->rerun_key, key) == 0 || !verify_book_due(&d->book, key))
		return;
	snprintf(d->rerun_key, sizeof(d->rerun_key), "%s", key);
	nt = desired_verify_templates(dd, &names);
	log_info(COMPONENT, "its analysis templates changed: verifying again", "deployment", dd->name, "slot", slot,
		 (char *)NULL);
	d->rerun = analysis_begin(t, d, dd, names, nt, v, n, slot, on_reverified, &d->reverify, &err);
	if (d->rerun == NULL) {
		log_error(COMPONENT, "cannot verify again", "deployment", dd->name, "error",
			  err ? error_msg(err) : "the analysis names no metric", (char *)NULL);
		engine_verify_free(d->reverify);
		d->reverify = NULL;
	}
	error_free(err);
	free(names);
}

/* The smoke-test Job ended: its verdict and what it said (what answered it) are the check's. */
static void on_smoke_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct et_dep *d = arg;
	char n[16];

	snprintf(n, sizeof(n), "%d", attempts);
	d->smoke = NULL;
	d->state = succeeded ? TRAFFIC_CHECK_PASSED : TRAFFIC_CHECK_FAILED;
	free(d->msg);
	d->msg = xstrdup(message ? message : "");
	log_info(COMPONENT, succeeded ? "smoke test passed" : "smoke test failed", "deployment", d->name,
		 "attempts", n, "message", d->msg, (char *)NULL);
	d->t->kick(d->t->arg);
}

/*
 * The smoke-test Job runs on the deployment's network when its template
 * names one (auriga's, job_place.c); else on the instance's jobs network,
 * which a container of the new slot joins for the length of the test (and
 * leaves after it: the jobs network reaches no container of the fleet
 * between tests). Either way the Job reaches that container by its name and
 * nothing of the host's network, not the host's loopback-only services.
 * AURIGA_PREVIEW_URL, _HOST and _PORT say where (the preview Service's
 * targetPort, else the template's first port); AURIGA_TARGET_CONTAINER names
 * the container. It mounts the deployment's volumes its template names.
 */
void et_smoke_start(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		    const struct rollout_ctr *v, size_t nv, const char *slot)
{
	const struct spec_strategy *st = &dd->spec->strategy;
	const struct spec_job *job = spec_set_job(t->set, st->smoke_test_job);
	const struct spec_service *pv = st->preview_service ? spec_set_service(t->set, st->preview_service) : NULL;
	const struct obs_container *target = slot_target(v, nv, slot);
	struct job_runner *jr;
	struct job_check c;
	char why[512];

	if (job == NULL) {
		check_done(t, d, 0, "no such Job");
		return;
	}
	if (job->tmpl.network) {
		/* A network of its own would be a promise not kept: the Job runs where it reaches the slot. */
		check_done(t, d, 0, "a smoke-test Job runs on the network of the container it tests: its "
				    "template.network is refused");
		return;
	}
	if (target == NULL) {
		check_done(t, d, 0, "no container of the new slot runs for the smoke test to reach");
		return;
	}
	jr = jobs_at(t, target, why, sizeof(why));
	if (jr == NULL) {
		check_done(t, d, 0, why);
		return;
	}
	memset(&c, 0, sizeof(c));
	if (pv)
		c.port = spec_container_port(&dd->spec->tmpl, &pv->target_port);
	if (c.port == 0 && dd->spec->tmpl.n_ports)
		c.port = dd->spec->tmpl.ports[0].container_port;
	c.label = SMOKE_LABEL;
	c.suffix = "smoke-test";
	c.host = target->name;
	c.target = target->name;
	c.what = "smoke test";
	c.attach = target->id;
	d->smoke = job_place_check_start(jr, t->desired, dd, job, t->set ? t->set->policy : NULL, &c,
					 on_smoke_done, d);
}

