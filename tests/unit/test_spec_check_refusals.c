/* Unit tests for the fields refused when the specs load rather than when they run: a Job's network; on Swarm; names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "spec.h"
#include "testmain.h"

/* A Job whose template takes the lines in extra (4-space indented). */
#define JOB(extra)                                  \
	"apiVersion: auriga.io/v1\n"               \
	"kind: Job\n"                               \
	"metadata: {name: smoke}\n"                 \
	"spec:\n"                                   \
	"  template:\n"                             \
	"    image: auriga-demo-node:v1\n" extra

/* A Cluster whose one endpoint is a swarm, then a Deployment with the lines in extra (2-space indented). */
#define SWARM_CLUSTER                                                                                    \
	"apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n"              \
	"    - {name: local, engine: swarm}\n---\n"
#define DEP(extra)                                                                                       \
	"apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n"         \
	"  template:\n    image: auriga-demo-node:v1\n" extra

/* A second Deployment, named name, one replica. */
#define DEP_NAMED(name)                                                                                  \
	"---\napiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: " name "}\nspec:\n"           \
	"  template:\n    image: auriga-demo-node:v1\n"
#define WEB_SERVICE                                                                                      \
	"---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: web}\n"                           \
	"spec: {deployment: web, port: 8080, targetPort: 9003}\n"
#define WEB_BLUEGREEN                                                                                    \
	DEP("    ports: [{name: http, containerPort: 9003, hostPort: 19003}]\n"                                           \
	    "  strategy: {type: BlueGreen, blueGreen: {activeService: web}}\n") WEB_SERVICE

struct row {
	const char *what;
	const char *policy;	/* NULL: the built-in policy */
	const char *spec;
	const char *expect;	/* every diag, one a line; NULL: none */
};

#define JOB_REFUSED(value, col)                                                                             \
	"jobs.yaml:7:" col ": Job/smoke: spec.template.network: \"" value "\" refused: a Job runs on the "       \
	"network of the deployment it runs for (or auriga's jobs network), never on a network of its own or "    \
	"the host's (leave network out)"

static const struct row rows[] = {
	{ "a Job without a network", NULL, JOB(""), NULL },
	{ "a Job on a network of its own", NULL, JOB("    network: backend\n"), JOB_REFUSED("backend", "14") },
	/* One diag at the field, not the policy's as well: the Job's network is refused whatever the policy says. */
	{ "a Job on the host's network", NULL, JOB("    network: host\n"), JOB_REFUSED("host", "14") },
	{ "a Job on the host's network, the policy allowing it", "hostNetwork: true\n", JOB("    network: host\n"),
	  JOB_REFUSED("host", "14") },
	{ "a Job in another container's namespace", "containerNetwork: true\n",
	  JOB("    network: \"container:web\"\n"), JOB_REFUSED("container:web", "14") },
	{ "a Job on a network the policy lists", "networks: [shared]\n", JOB("    network: shared\n"),
	  JOB_REFUSED("shared", "14") },
	/* A Job publishes nothing, smoke test or hook: its ports are refused at the field. */
	{ "a Job with ports", NULL, JOB("    ports: [{containerPort: 9003, hostPort: 19003}]\n"),
	  "jobs.yaml:7:12: Job/smoke: spec.template.ports: refused: a Job publishes no ports (it runs once and "
	  "nothing is meant to reach it); remove them" },
	/* A Job mounts its deployment's volumes by name; a host path of its own is refused, the policy not asked. */
	{ "a Job with a host path", "hostPaths: [/srv]\n",
	  JOB("    volumes: [{name: dumps, mountPath: /dumps, hostPath: /srv/dumps}]\n"),
	  "jobs.yaml:7:58: Job/smoke: spec.template.volumes[0].hostPath: a Job mounts the volumes of the "
	  "deployment it runs for, by name: a host path is the deployment's to declare" },
	{ "a Job with a named volume", NULL, JOB("    volumes: [{name: dumps, mountPath: /dumps}]\n"), NULL },
	/* A Deployment's network is still its own to choose, within the policy. */
	{ "a Deployment on a network of its own", NULL,
	  "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
	  "    image: auriga-demo-node:v1\n    network: backend\n",
	  NULL },
	/* On Swarm (engine: swarm): Rolling and Recreate run; what is not built there is refused at its field. */
	{ "a Rolling Deployment on a swarm", NULL, SWARM_CLUSTER DEP("  strategy: {type: Recreate}\n"), NULL },
	{ "a BlueGreen Deployment on a swarm: its slots are services; a hostPort both would take", NULL,
	  SWARM_CLUSTER DEP("    ports: [{containerPort: 9003, hostPort: 19003}]\n"
			    "  strategy: {type: BlueGreen, blueGreen: {activeService: web}}\n"),
	  "jobs.yaml:15:45: Deployment/web: spec.template.ports[0].hostPort: on a swarm endpoint a BlueGreen release "
	  "runs each slot as a service whose tasks publish hostPort 19003 themselves, so the two slots would clash on "
	  "a node; leave hostPort out and Swarm picks one for each task (the router's Services are where clients "
	  "connect)\n"
	  "jobs.yaml:16:58: Deployment/web: spec.strategy.blueGreen.activeService: no Service named \"web\"" },
	{ "a placement on a swarm", NULL, SWARM_CLUSTER DEP("  placement: {maxPerEndpoint: 2}\n"),
	  "jobs.yaml:15:14: Deployment/web: spec.placement: a placement is not supported on a swarm endpoint (the "
	  "Cluster's endpoint \"local\" has engine: swarm): Swarm places the tasks over its nodes" },
	{ "a port on a swarm: hostIP that Swarm cannot keep, a hostPort every replica would take", NULL,
	  SWARM_CLUSTER DEP("    ports: [{containerPort: 9003, hostPort: 19003, hostIP: 127.0.0.1}]\n"),
	  "jobs.yaml:15:45: Deployment/web: spec.template.ports[0].hostPort: on a swarm endpoint every task publishes "
	  "hostPort 19003 itself (no port per replica), so 2 replicas would clash on a node; leave hostPort out and "
	  "Swarm picks one for each task\n"
	  "jobs.yaml:15:60: Deployment/web: spec.template.ports[0].hostIP: \"127.0.0.1\" cannot be kept on a swarm "
	  "endpoint: Swarm publishes a task's port on every address of its node (leave hostIP out, or give 0.0.0.0)" },
	{ "a port on a swarm without hostIP or hostPort, and 0.0.0.0", NULL,
	  SWARM_CLUSTER DEP("    ports: [{containerPort: 9003}, {containerPort: 9004, hostIP: 0.0.0.0}]\n"), NULL },
	{ "a swarm beside another endpoint", "endpoints: [{name: east, url: \"unix:///run/east.sock\"}]\n",
	  "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n"
	  "    - {name: local, engine: swarm}\n    - {name: east}\n",
	  "jobs.yaml:6:29: Cluster/c: spec.endpoints[0].engine: a swarm endpoint is the Cluster's only endpoint "
	  "(Swarm places the tasks over its nodes); this Cluster names 2" },
	/* Names another deployment's containers or services would have: refused at the name. */
	{ "a deployment named as a BlueGreen deployment's slot", NULL, WEB_BLUEGREEN DEP_NAMED("web-blue"),
	  "jobs.yaml:18:18: Deployment/web-blue: metadata.name: \"web-blue\" is the name of deployment \"web\"'s "
	  "slot blue (BlueGreen): both would name a container web-blue-0; rename one of them" },
	{ "a deployment named as a Rolling deployment's slot would be: no clash", NULL,
	  DEP("") DEP_NAMED("web-blue"), NULL },
	{ "a deployment named as a BlueGreen deployment's replica: no clash on containers", NULL,
	  WEB_BLUEGREEN DEP_NAMED("web-0"), NULL },
	{ "a deployment named as a pinned replica's service on a swarm", NULL,
	  SWARM_CLUSTER DEP("    volumes: [{name: data, mountPath: /data, perReplica: true}]\n") DEP_NAMED("web-1"),
	  "jobs.yaml:19:18: Deployment/web-1: metadata.name: \"web-1\" is the name of the service of deployment "
	  "\"web\"'s replica 1 on the swarm (with a per-replica volume, each replica is a service of its own once "
	  "the swarm has several nodes); rename one of them" },
};

/* Loads spec (as jobs.yaml) under policy; every diag's text, one a line. */
static char *load(const char *policy, const char *spec)
{
	struct spec_policy pol;
	struct spec_diags d;
	struct spec_set set;
	struct buf b = BUF_INIT_MAX(1 << 16);
	size_t i;

	spec_policy_init(&pol);
	spec_diags_init(&d);
	if (policy)
		assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", policy, strlen(policy), &d), 0);
	spec_set_init(&set, NULL, NULL);
	set.policy = &pol;
	spec_set_load_buffer(&set, "jobs.yaml", spec, strlen(spec), &d);
	spec_set_finish(&set, &d);
	spec_diags_sort(&d);
	for (i = 0; i < d.n; i++) {
		char *line = spec_diag_format(&d.v[i]);

		buf_printf(&b, "%s\n", line);
		free(line);
	}
	spec_set_release(&set);
	spec_diags_release(&d);
	spec_policy_release(&pol);
	return buf_detach(&b, NULL);
}

static void job_template_rows(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char *got = load(r->policy, r->spec), want[1024];

		snprintf(want, sizeof(want), "%s%s", r->expect ? r->expect : "", r->expect ? "\n" : "");
		if (strcmp(got, want) != 0) {
			print_error("row '%s':\n  want: %s\n  got:  %s\n", r->what, want, got);
			failed++;
		}
		free(got);
	}
	assert_int_equal(failed, 0);
}

TEST_MAIN(cmocka_unit_test(job_template_rows))
