/* Verification Jobs as analysis metrics: each measurement of a Job metric runs the Job against the new slot. */
#include "engine/engine_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine/job.h"
#include "engine/job_place.h"
#include "rollout/traffic.h"
#include "runtime/log.h"
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
	char *env[3], *suffix, *network;

	if (dd == NULL || dd->spec == NULL || job == NULL || v->target_name == NULL) {
		snprintf(why, why_len, "%s", job == NULL ? "no such Job" : "no container of the new slot runs for the Job to reach");
		return NULL;
	}
	/* On the deployment's own network the Job reaches the slot by its name, else on the slot's loopback. */
	memset(&c, 0, sizeof(c));
	c.host = desired_network_to_create(&dd->tmpl) ? v->target_name : "127.0.0.1";
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
	network = xasprintf("container:%s", v->target_id);
	c.attach = network;
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
	FREE_ALL(env[0], env[1], suffix, network);
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
					const struct desired *const *desired, const char *deployment, const char *slot,
					const struct rollout_ctr *v, size_t n)
{
	struct engine_verify *ev = xcalloc(1, sizeof(*ev));
	const struct obs_container *target = NULL;
	size_t i;

	ev->jr = jr;
	ev->set = set;
	ev->desired = desired;
	ev->deployment = xstrdup(deployment);
	/* The new slot's first ready container, else its first running one. */
	for (i = 0; i < n; i++) {
		if (!traffic_in_slot(v[i].c, slot) || !obs_container_alive(v[i].c))
			continue;
		if (target == NULL)
			target = v[i].c;
		if (v[i].ready) {
			target = v[i].c;
			break;
		}
	}
	if (target != NULL) {
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
	FREE_ALL(v->deployment, v->target_id, v->target_name, v);
}
