/* Unit tests for where a deployment's Job runs and what it mounts (job_place.c), from a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/job_place.h"
#include "kv.h"
#include "model/desired.h"
#include "model/observe.h"
#include "spec.h"
#include "util.h"
#include "testmain.h"

#define INSTANCE "prod"
#define DEP "db"

/* The deployment's volumes: "data" shared, "chain" per replica, "logs" a host path. */
static struct desired_volume dep_volumes[] = {
	{ "data", "/var/lib/db", NULL, 0, 0 },
	{ "chain", "/chain", NULL, 1, 0 },
	{ "logs", "/logs", "/srv/logs", 0, 1 },
};

struct place_case {
	const char *name;
	const char *dep_network;	/* the deployment's template.network */
	const char *job_volume;		/* the one volume the Job names, or NULL */
	int job_read_only;
	const char *want_network;	/* NULL: the placement fails */
	int want_on_dep;
	int want_bind;
	const char *want_source;	/* for a named volume: desired_volume_name's; else the host path */
};

static const struct place_case cases[] = {
	{ "a deployment on its network: the Job joins it", "backend", NULL, 0, "backend", 1, 0, NULL },
	{ "a deployment on no network: the jobs network", NULL, NULL, 0, "jobs-auriga-" INSTANCE, 0, 0, NULL },
	{ "on the host's network: the jobs network, never the host's", "host", NULL, 0, "jobs-auriga-" INSTANCE,
	  0, 0, NULL },
	{ "on Docker's bridge: the jobs network", "bridge", NULL, 0, "jobs-auriga-" INSTANCE, 0, 0, NULL },
	{ "in a container's namespace: the jobs network", "container:web", NULL, 0, "jobs-auriga-" INSTANCE, 0, 0,
	  NULL },
	{ "the deployment's shared volume, read-only as the Job says", "backend", "data", 1, "backend", 1, 0, "" },
	{ "the deployment's host path, as it declares it", NULL, "logs", 0, "jobs-auriga-" INSTANCE, 0, 1,
	  "/srv/logs" },
	{ "a per-replica volume: refused", "backend", "chain", 0, NULL, 0, 0, NULL },
	{ "a volume the deployment does not declare: refused", "backend", "dumps", 0, NULL, 0, 0, NULL },
};

static int reported;

static void on_done(int succeeded, int attempts, const char *message, void *arg)
{
	(void)arg;
	assert_int_equal(succeeded, 0);
	assert_int_equal(attempts, 0);
	assert_non_null(strstr(message, "which is not a shared volume of deployment 'db'"));
	reported++;
}

static void check_mount(const struct place_case *c, const struct job_place *p)
{
	char *name;

	assert_int_equal(p->n_mounts, 1);
	assert_string_equal(p->mounts[0].target, "/in-job");
	assert_int_equal(p->mounts[0].read_only, c->job_read_only);
	assert_int_equal(p->mounts[0].bind, c->want_bind);
	if (c->want_bind) {
		assert_string_equal(p->mounts[0].source, c->want_source);
		assert_null(p->mounts[0].legacy);
		return;
	}
	name = desired_volume_name(INSTANCE, DEP, c->job_volume, -1);
	assert_string_equal(p->mounts[0].source, name);
	free(name);
	name = desired_volume_legacy_name(DEP, c->job_volume, -1);
	assert_string_equal(p->mounts[0].legacy, name);
	free(name);
}

static void place_table(void **state)
{
	struct kv extra = { "auriga.test.run", "x" };
	struct desired d;
	size_t i;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.instance = INSTANCE;
	d.extra_labels = &extra;
	d.n_extra_labels = 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct place_case *c = &cases[i];
		struct spec_volume jv = { (char *)c->job_volume, "/in-job", NULL, 0, c->job_read_only };
		struct desired_deployment dd;
		struct spec_job job;
		struct job_place p;
		struct error *err = NULL;
		int rc;

		print_message("%s\n", c->name);
		memset(&dd, 0, sizeof(dd));
		memset(&job, 0, sizeof(job));
		dd.name = DEP;
		dd.tmpl.network = (char *)c->dep_network;
		dd.tmpl.volumes = dep_volumes;
		dd.tmpl.n_volumes = sizeof(dep_volumes) / sizeof(dep_volumes[0]);
		job.meta.name = "backup";
		job.tmpl.volumes = c->job_volume ? &jv : NULL;
		job.tmpl.n_volumes = c->job_volume ? 1 : 0;
		rc = job_place_init(&p, &d, &dd, &job, NULL, &err);
		if (c->want_network == NULL) {
			struct job_spec js;

			assert_true(rc < 0);
			assert_non_null(strstr(error_msg(err), "Job 'backup' mounts volume"));
			error_free(err);
			/* job_place_start reports it through done, with no run begun. */
			memset(&js, 0, sizeof(js));
			reported = 0;
			assert_null(job_place_start(NULL, &js, &d, &dd, &job, NULL, NULL, on_done, NULL));
			assert_int_equal(reported, 1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(p.network, c->want_network);
		assert_int_equal(p.on_deployment_network, c->want_on_dep);
		assert_int_equal(p.foreign_network_ok, 0);
		/* What auriga creates carries its labels, and the test's. */
		assert_string_equal(kv_get(p.net_labels, p.n_net_labels, OBS_LABEL_MANAGED_BY), INSTANCE);
		assert_string_equal(kv_get(p.vol_labels, p.n_vol_labels, OBS_LABEL_MANAGED_BY), INSTANCE);
		assert_string_equal(kv_get(p.vol_labels, p.n_vol_labels, OBS_LABEL_DEPLOYMENT), DEP);
		assert_string_equal(kv_get(p.vol_labels, p.n_vol_labels, "auriga.test.run"), "x");
		if (c->job_volume)
			check_mount(c, &p);
		else
			assert_int_equal(p.n_mounts, 0);
		job_place_release(&p);
	}
}

/*
 * A replica on Docker's bridge joins the jobs network while a Job tests it;
 * Docker moves a container's published ports to the first of its networks by
 * name (byte order), so the jobs network sorts after "bridge" whatever the
 * instance is called, "a" and "0" and "auriga" as much as "zeta".
 */
static void jobs_network_after_bridge(void **state)
{
	static const char *const instances[] = { "a", "0", "A", "auriga", "b", "bridge", "prod", "zeta" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
		char *name = job_place_jobs_network(instances[i]);

		if (strcmp(name, "bridge") <= 0)
			fail_msg("instance '%s': jobs network '%s' sorts before Docker's bridge", instances[i], name);
		free(name);
	}
}

TEST_MAIN(cmocka_unit_test(place_table), cmocka_unit_test(jobs_network_after_bridge))
