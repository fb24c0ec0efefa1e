/* Where a deployment's Job runs and what it mounts: a network auriga owns, and the deployment's own volumes. */
#ifndef AURIGA_JOB_PLACE_H
#define AURIGA_JOB_PLACE_H

#include <stddef.h>

#include "engine/job.h"
#include "error.h"

struct desired;
struct desired_deployment;
struct spec_job;
struct spec_policy;

struct job_place {
	/*
	 * The deployment's network when its template names one Docker lets
	 * auriga create (not host, bridge, none or container:), so that a hook
	 * reaches the deployment's containers by name; else the instance's jobs
	 * network (job_place_jobs_network). Never the host's, never Docker's
	 * default bridge.
	 */
	char *network;		/* as the deployment's containers name it (desired_network_name) */
	char *network_legacy;	/* the template's own name for it, when not the same, or NULL */
	int on_deployment_network;
	int foreign_network_ok;	/* the deployment's network is not auriga's and the policy lists it */
	struct kv *net_labels, *vol_labels;
	size_t n_net_labels, n_vol_labels;
	struct job_mount *mounts;	/* the Job's template.volumes, as the deployment's volumes of their names */
	size_t n_mounts;
	char **strings;		/* what mounts point to */
};

/*
 * The network a Job of an instance joins when its deployment names none:
 * "jobs-auriga-<instance>", a name after Docker's "bridge" in its order.
 */
char *job_place_jobs_network(const char *instance);

/*
 * Places job as a Job of deployment dd: its network, and each volume of its
 * template resolved as the deployment's volume of that name (a named volume
 * is the deployment's shared one, a hostPath the deployment's bind). A volume
 * the deployment does not declare, or declares per replica, is an error (the
 * specs' validation refuses both). Returns 0, or -1 with *err set and p empty.
 */
int job_place_init(struct job_place *p, const struct desired *d, const struct desired_deployment *dd,
		   const struct spec_job *job, const struct spec_policy *policy, struct error **err);
/* Fills js's network and mounts fields from p (borrowed: p outlives the job_start call). */
void job_place_apply(const struct job_place *p, const struct desired *d, const char *deployment,
		     struct job_spec *js);
void job_place_release(struct job_place *p);

/*
 * js for spec Job job run as container name for deployment owner: its
 * template (made in *tmpl, released by the caller with
 * desired_tmpl_release), activeDeadlineSeconds and backoffLimit; the rest of
 * js zeroed for the caller to fill.
 */
void job_place_spec(struct job_spec *js, struct desired_tmpl *tmpl, const struct spec_job *job, const char *name,
		    const char *owner);

/*
 * job_start for a Job of deployment dd, placed as above: js says the rest
 * (its network and mounts fields are filled here). When dd names no network
 * and attach (a container of dd) is not NULL, that container is connected to
 * the jobs network for the run (job_spec.attach), so that the Job reaches it
 * there by name; on dd's own network it is there already. A Job that cannot
 * be placed reports at once through done
 * (0 attempts) and NULL is returned, as job_start does for a run it cannot
 * begin.
 */
struct job_run *job_place_start(struct job_runner *jr, struct job_spec *js, const struct desired *d,
				const struct desired_deployment *dd, const struct spec_job *job,
				const struct spec_policy *policy, const char *attach, job_done_fn done,
				void *arg);

/*
 * A Job that checks a container of a new slot (a smoke test, a verification
 * Job of an analysis): told where the container is, named after its
 * deployment, labelled auriga.io/job-of (the instance) and label (the
 * deployment).
 */
struct job_check {
	const char *label;		/* "auriga.io/smoke-test", "auriga.io/analysis" */
	const char *suffix;		/* the name after PREFIX-DEPLOYMENT-: "smoke-test", "analysis-METRIC" */
	const char *host;		/* AURIGA_PREVIEW_HOST, and AURIGA_PREVIEW_URL's */
	int port;			/* AURIGA_PREVIEW_PORT, and the URL's */
	const char *target;		/* AURIGA_TARGET_CONTAINER */
	const char *const *env;		/* more KEY=value after those, or NULL */
	int tail_lines;			/* as job_spec's */
	size_t max_output;
	const char *what;		/* for the log: "smoke test" */
	const char *attach;		/* as job_place_start's */
};

/*
 * job_place_start for the check Job job of deployment dd: its template,
 * deadline and backoffLimit, with c's name, labels and environment.
 */
struct job_run *job_place_check_start(struct job_runner *jr, const struct desired *d,
				      const struct desired_deployment *dd, const struct spec_job *job,
				      const struct spec_policy *policy, const struct job_check *c, job_done_fn done,
				      void *arg);

#endif
