/* The private state of the engine's blue-green and canary releases, shared by engine_traffic.c and engine_traffic_checks.c. */
#ifndef AURIGA_ENGINE_TRAFFIC_INTERNAL_H
#define AURIGA_ENGINE_TRAFFIC_INTERNAL_H

#include <stddef.h>

#include "engine/engine_traffic.h"
#include "engine/engine_verify.h"
#include "model/desired.h"
#include "rollout/rollout.h"
#include "rollout/traffic.h"
#include "traffic/analysis.h"

struct job_runner;
struct job_run;

struct et_dep {
	struct engine_traffic *t;
	char *name;
	struct traffic_record rec;
	int complete;			/* the last decision found the release complete */
	/* The check for rec.rev: what, its verdict, its message. */
	enum traffic_check_kind check;
	int check_step;
	enum traffic_check_state state;
	char *msg;
	unsigned gen;
	struct analysis_run *run;
	struct engine_verify *verify;	/* the run's verification Jobs */
	struct job_run *smoke;		/* the smoke-test Job under way */
	int switch_unserved;		/* rec.switched, and NGINX not yet seen serving it */
	struct verify_book book;	/* its analyses' verdicts by what they verified, for the status */
	char run_key[VERIFY_KEY_LEN];	/* what the run under way verifies (desired_deployment.verify_key) */
	/*
	 * A complete release verified again because its templates changed: the
	 * run, its Jobs, what it verifies, and the last key it was started for
	 * (started once per key).
	 */
	struct analysis_run *rerun;
	struct engine_verify *reverify;
	int rerun_done;
	char rerun_key[VERIFY_KEY_LEN];
};

struct engine_traffic {
	struct loop *loop;
	struct docker *docker;
	struct http_client *http;
	char *path;
	void (*kick)(void *arg);
	void *arg;
	const struct spec_set *set;
	const struct desired *desired;
	struct engine_router *router;
	struct et_dep **deps;
	size_t n_deps;
	struct job_runner *jobs;	/* smoke-test and verification Jobs when the engine drives one client */
	/* With the Cluster's endpoints: each one's runner, where a Job beside a container of that endpoint runs. */
	struct et_host {
		char *name;
		struct job_runner *jobs;
	} *hosts;
	size_t n_hosts;
	unsigned long saves;		/* writes of the records file */
	struct auriga_metrics *metrics;	/* NULL: none */
};


/* engine_traffic.c: replaces the records file atomically and durably (see file_replace). */
void et_records_save(struct engine_traffic *t);

/* engine_traffic_checks.c: the checks a release's decision asks for. */
/* Drops a verification run of a complete release (its Jobs are cancelled). */
void et_rerun_drop(struct et_dep *d);
/* Drops the check under way (its run stops, a smoke container still running is left to its own end). */
void et_check_drop(struct et_dep *d);
/* Starts the analysis of templates against slot's containers (v, n) for d's revision. */
void et_analysis_start(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		       char *const *templates, size_t n_templates, const struct rollout_ctr *v, size_t n,
		       const char *slot);
/* Verifies a complete release again when its templates changed since it was verified. */
void et_reverify(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		 const struct rollout_ctr *v, size_t n, const char *slot);
/* Starts the smoke-test Job beside a container of slot, on that container's endpoint. */
void et_smoke_start(struct engine_traffic *t, struct et_dep *d, const struct desired_deployment *dd,
		    const struct rollout_ctr *v, size_t nv, const char *slot);

#endif
