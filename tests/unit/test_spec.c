/* Unit tests for the spec model: every kind, default and rule, the revision hash, JSON, phases, units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "schema.h"
#include "source/specdir.h"
#include "spec.h"
#include "spec_backup.h"
#include "testfs.h"
#include "testmain.h"

#define DEP(name, extra)                            \
	"apiVersion: auriga.io/v1\n"               \
	"kind: Deployment\n"                        \
	"metadata: {name: " name "}\n"              \
	"spec:\n"                                   \
	"  replicas: 3\n"                           \
	"  template:\n"                             \
	"    image: node:1\n"                       \
	"    ports: [{name: http, containerPort: 9003}]\n" extra

/* A Deployment whose template has no ports yet. */
#define DEPN(name, extra)                           \
	"apiVersion: auriga.io/v1\n"               \
	"kind: Deployment\n"                        \
	"metadata: {name: " name "}\n"              \
	"spec:\n"                                   \
	"  replicas: 3\n"                           \
	"  template:\n"                             \
	"    image: node:1\n" extra

/* The operator's policy the next load is held to; NULL: the built-in one. */
static const struct spec_policy *load_policy;

/* Loads one buffer and finishes the set; returns the number of diags. */
static size_t load(struct spec_set *set, struct spec_diags *d, const char *yaml)
{
	spec_diags_init(d);
	spec_set_init(set, NULL, NULL);
	set->policy = load_policy;
	spec_set_load_buffer(set, "t.yaml", yaml, strlen(yaml), d);
	spec_set_finish(set, d);
	spec_diags_sort(d);
	return d->n;
}

static void done(struct spec_set *set, struct spec_diags *d)
{
	spec_set_release(set);
	spec_diags_release(d);
}

/* Every diag formatted, one per line. */
static char *all_diags(const struct spec_diags *d)
{
	size_t i, len = 1;
	char *out, **lines = calloc(d->n + 1, sizeof(*lines));

	for (i = 0; i < d->n; i++) {
		lines[i] = spec_diag_format(&d->v[i]);
		len += strlen(lines[i]) + 1;
	}
	out = calloc(1, len);
	for (i = 0; i < d->n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

static void expect_valid(const char *yaml)
{
	struct spec_set set;
	struct spec_diags d;

	if (load(&set, &d, yaml) != 0) {
		char *s = all_diags(&d);

		fail_msg("unexpected diags:\n%s", s);
	}
	done(&set, &d);
}

/* The set must produce exactly one diag, containing want. */
static void expect_one(const char *yaml, const char *want)
{
	struct spec_set set;
	struct spec_diags d;
	char *s;

	load(&set, &d, yaml);
	s = all_diags(&d);
	if (d.n != 1 || strstr(s, want) == NULL)
		fail_msg("want one diag with \"%s\", got %zu:\n%s", want, d.n, s);
	free(s);
	done(&set, &d);
}

/* ---- kinds and defaults ---- */

static void deployment_defaults(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	const struct spec_deployment *dep;

	(void)state;
	assert_int_equal(load(&set, &d,
			      "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\n"
			      "spec:\n  template: {image: node:1, ports: [{name: http, containerPort: 80}]}\n"
			      "  probes:\n    readiness: {httpGet: {port: http}}\n"),
			 0);
	dep = spec_set_deployment(&set, "web");
	assert_non_null(dep);
	assert_int_equal(dep->replicas, 1);
	assert_string_equal(dep->role, "");
	assert_int_equal(dep->phase, -1);
	assert_int_equal(dep->auto_rollback, 1);
	assert_int_equal(dep->tmpl.restart_policy, SPEC_RESTART_ALWAYS);
	assert_int_equal(dep->tmpl.ports[0].protocol, SPEC_PROTO_TCP);
	assert_null(dep->tmpl.ports[0].host_ip);
	/* Kubernetes' probe defaults. */
	assert_int_equal(dep->probes->readiness.kind, SPEC_PROBE_HTTP);
	assert_string_equal(dep->probes->readiness.http_path, "/");
	assert_int_equal(dep->probes->readiness.initial_delay_seconds, 0);
	assert_int_equal(dep->probes->readiness.period_seconds, 10);
	assert_int_equal(dep->probes->readiness.timeout_seconds, 1);
	assert_int_equal(dep->probes->readiness.success_threshold, 1);
	assert_int_equal(dep->probes->readiness.failure_threshold, 3);
	assert_int_equal(dep->probes->liveness.kind, SPEC_PROBE_NONE);
	assert_int_equal(spec_container_port(&dep->tmpl, &dep->probes->readiness.port), 80);
	/* Kubernetes' rolling defaults: 25 % and 25 %, 600 s deadline. */
	assert_int_equal(dep->strategy.type, SPEC_STRATEGY_ROLLING);
	assert_true(dep->strategy.max_unavailable.percent);
	assert_int_equal(dep->strategy.max_unavailable.value, 25);
	assert_int_equal(dep->strategy.max_surge.value, 25);
	assert_int_equal(dep->strategy.min_ready_seconds, 0);
	assert_int_equal(dep->strategy.progress_deadline_seconds, 600);
	assert_false(dep->budget.min_available.set || dep->budget.max_unavailable.set);
	done(&set, &d);
}

static void intpct_rounding(void **state)
{
	struct spec_intpct p25 = { 1, 1, 25 }, n2 = { 1, 0, 2 }, unset = { 0, 0, 0 };

	(void)state;
	/* Surge rounds up, unavailable rounds down, as Kubernetes does. */
	assert_int_equal(spec_intpct_resolve(&p25, 10, 1), 3);
	assert_int_equal(spec_intpct_resolve(&p25, 10, 0), 2);
	assert_int_equal(spec_intpct_resolve(&p25, 1, 1), 1);
	assert_int_equal(spec_intpct_resolve(&p25, 1, 0), 0);
	assert_int_equal(spec_intpct_resolve(&n2, 10, 0), 2);
	assert_int_equal(spec_intpct_resolve(&unset, 10, 0), 0);
}

static void validator_budget_is_bft(void **state)
{
	static const struct {
		int replicas, f;
	} cases[] = { { 1, 0 }, { 3, 0 }, { 4, 1 }, { 5, 1 }, { 7, 2 }, { 10, 3 } };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec_set set;
		struct spec_diags d;
		char yaml[512];
		const struct spec_deployment *dep;

		snprintf(yaml, sizeof(yaml),
			 "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: v}\nspec:\n"
			 "  role: validator\n  replicas: %d\n  strategy: {type: Recreate}\n"
			 "  template: {image: node:1}\n",
			 cases[i].replicas);
		assert_int_equal(load(&set, &d, yaml), 0);
		dep = spec_set_deployment(&set, "v");
		assert_true(dep->budget.defaulted);
		assert_true(dep->budget.max_unavailable.set);
		assert_false(dep->budget.max_unavailable.percent);
		assert_int_equal(dep->budget.max_unavailable.value, cases[i].f);
		done(&set, &d);
	}
}

static void strategies_decode(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	const struct spec_deployment *bg, *ca;

	(void)state;
	assert_int_equal(
		load(&set, &d,
		     DEPN("bg", "    ports: [{name: http, containerPort: 9003, hostPort: 19100}]\n"
				"  strategy:\n    type: BlueGreen\n    blueGreen:\n"
			       "      activeService: front\n      previewService: preview\n"
			       "      autoPromotionEnabled: false\n      smokeTestJob: smoke\n"
			       "      prePromotionAnalysis: {templates: [{templateName: slo}]}\n")
		     "---\n" DEPN("ca", "    ports: [{name: http, containerPort: 9003, hostPort: 19200}]\n"
					"  strategy:\n    type: Canary\n    canary:\n      steps:\n"
				       "        - setWeight: 5\n        - pause: {duration: 1m30s}\n"
				       "        - pause: {duration: 45}\n        - pause: {}\n"
				       "        - analysis: {templates: [{templateName: slo}]}\n")
		     "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: front}\n"
		     "spec: {deployment: bg, port: 8080}\n"
		     "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: preview}\n"
		     "spec: {deployment: bg, port: 8081}\n"
		     "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: ca}\n"
		     "spec: {deployment: ca, port: 8082, targetPort: 9003}\n"
		     "---\napiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: smoke}\n"
		     "spec: {template: {image: node:1, command: [check]}}\n"
		     "---\napiVersion: auriga.io/v1\nkind: AnalysisTemplate\nmetadata: {name: slo}\n"
		     "spec:\n  metrics:\n    - name: errors\n      failureCondition: {operator: \">\", value: 0.05}\n"
		     "      provider: {prometheus: {query: up}}\n"
		     "    - name: p99\n      interval: 1m\n      count: 3\n      failureLimit: 1\n"
		     "      inconclusiveLimit: 2\n"
		     "      failureCondition: {operator: \">=\", value: 1000}\n"
		     "      provider: {scrape: {port: http, metric: latency_p99}}\n"),
		0);
	bg = spec_set_deployment(&set, "bg");
	assert_int_equal(bg->strategy.type, SPEC_STRATEGY_BLUEGREEN);
	assert_string_equal(bg->strategy.active_service, "front");
	assert_string_equal(bg->strategy.preview_service, "preview");
	assert_int_equal(bg->strategy.auto_promotion_enabled, 0);
	assert_string_equal(bg->strategy.smoke_test_job, "smoke");
	assert_int_equal(bg->strategy.n_pre_promotion_analysis, 1);
	assert_int_equal(bg->strategy.post_promotion_window_seconds, 300);
	assert_int_equal(bg->strategy.scale_down_delay_seconds, 30);
	assert_false(bg->strategy.max_surge.set);
	ca = spec_set_deployment(&set, "ca");
	assert_int_equal(ca->strategy.type, SPEC_STRATEGY_CANARY);
	assert_int_equal(ca->strategy.n_steps, 5);
	assert_int_equal(ca->strategy.steps[0].kind, SPEC_STEP_SET_WEIGHT);
	assert_int_equal(ca->strategy.steps[0].weight, 5);
	assert_int_equal(ca->strategy.steps[1].pause_ms, 90000);
	assert_int_equal(ca->strategy.steps[2].pause_ms, 45000);
	assert_int_equal(ca->strategy.steps[3].pause_ms, -1);
	assert_int_equal(ca->strategy.steps[4].kind, SPEC_STEP_ANALYSIS);
	assert_string_equal(ca->strategy.steps[4].templates[0], "slo");
	/* Service, Job and AnalysisTemplate defaults. */
	assert_string_equal(spec_set_service(&set, "front")->upstream, "front");
	assert_int_equal(spec_set_service(&set, "front")->max_fails, 1);
	assert_int_equal(spec_set_service(&set, "front")->fail_timeout_seconds, 10);
	assert_int_equal(spec_set_service(&set, "ca")->target_port.number, 9003);
	assert_int_equal(spec_set_job(&set, "smoke")->tmpl.restart_policy, SPEC_RESTART_NEVER);
	assert_int_equal(spec_set_job(&set, "smoke")->active_deadline_seconds, 600);
	assert_int_equal(spec_set_job(&set, "smoke")->backoff_limit, 0);
	{
		const struct spec_analysis_template *a = spec_set_analysis_template(&set, "slo");

		assert_int_equal(a->n_metrics, 2);
		assert_string_equal(a->metrics[0].prometheus_address, "http://127.0.0.1:9090");
		assert_int_equal(a->metrics[0].interval_ms, 30000);
		assert_int_equal(a->metrics[0].count, 1);
		assert_int_equal(a->metrics[0].failure_limit, 0);
		assert_int_equal(a->metrics[0].inconclusive_limit, 0);
		assert_int_equal(a->metrics[1].failure_limit, 1);
		assert_int_equal(a->metrics[1].inconclusive_limit, 2);
		assert_int_equal(a->metrics[0].fail_op, SPEC_CMP_GT);
		assert_true(a->metrics[0].fail_value == 0.05);
		assert_int_equal(a->metrics[1].provider, SPEC_METRIC_SCRAPE);
		assert_string_equal(a->metrics[1].scrape_path, "/metrics");
		assert_int_equal(a->metrics[1].interval_ms, 60000);
		assert_int_equal(a->metrics[1].fail_op, SPEC_CMP_GE);
	}
	assert_null(spec_set_deployment(&set, "nope"));
	done(&set, &d);
}

static void cluster_defaults_and_default_cluster(void **state)
{
	static const char pol_text[] = "privileged: true\nhostPaths: [/var/log]\n"
				       "router: {reloadCommand: [[/usr/sbin/nginx, -s, reload]]}\n"
				       "endpoints: [{name: remote, url: \"tcp://10.1.2.3:2376\", certPath: /etc/auriga/remote}]\n";
	struct spec_policy pol;
	struct spec_set set;
	struct spec_diags d;
	const struct spec_cluster *c;

	(void)state;
	assert_int_equal(load(&set, &d, DEP("web", "")), 0);
	c = spec_set_cluster(&set);
	assert_non_null(c);
	assert_true(c->meta.defaulted);
	assert_int_equal(set.n_clusters, 1);
	assert_int_equal(c->n_endpoints, 1);
	/* "local" with no url: the docker-host setting. */
	assert_string_equal(c->endpoints[0].name, "local");
	assert_null(c->endpoints[0].url);
	assert_int_equal(c->n_role_order, 3);
	assert_string_equal(c->role_order[0], "slim");
	assert_string_equal(c->role_order[2], "validator");
	assert_string_equal(c->router.config_path, "/etc/nginx/conf.d/auriga.conf");
	assert_int_equal(c->router.n_reload_command, 3);
	assert_string_equal(c->router.listen_address, "127.0.0.1");
	assert_null(c->notes_ref);
	assert_int_equal(c->push_notes, -1);
	assert_int_equal(c->allow_privileged, 0);
	assert_int_equal(c->allow_host_bind_mounts, 0);
	done(&set, &d);

	/* What this Cluster asks for is what the operator's policy allows. */
	spec_policy_init(&pol);
	spec_diags_init(&d);
	assert_int_equal(spec_policy_parse(&pol, "policy.yaml", pol_text, strlen(pol_text), &d), 0);
	spec_diags_release(&d);
	load_policy = &pol;
	assert_int_equal(load(&set, &d,
			      "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: prod}\nspec:\n"
			      "  endpoints:\n    - name: remote\n      url: tcp://10.1.2.3:2376\n"
			      "  roleOrder: [validator]\n"
			      "  router: {reloadCommand: [/usr/sbin/nginx, -s, reload]}\n"
			      "  status: {push: false}\n"
			      "  policy: {allowPrivileged: true, allowHostBindMounts: true}\n"
			      "---\n" DEP("web", "    privileged: true\n"
					      "    volumes: [{name: logs, mountPath: /logs, hostPath: /var/log}]\n")),
			 0);
	c = spec_set_cluster(&set);
	assert_false(c->meta.defaulted);
	assert_string_equal(c->endpoints[0].name, "remote");
	assert_int_equal(c->router.n_reload_command, 3);
	assert_string_equal(c->router.reload_command[0], "/usr/sbin/nginx");
	assert_null(c->router.container);
	assert_int_equal(c->push_notes, 0);
	assert_int_equal(c->allow_privileged, 1);
	done(&set, &d);
	load_policy = NULL;
	spec_policy_release(&pol);
}

static void phases(void **state)
{
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	assert_int_equal(load(&set, &d,
			      DEP("v", "  role: validator\n") "---\n" DEP("s", "  role: slim\n")
			      "---\n" DEP("b", "  role: business\n") "---\n" DEP("z", "  role: zeta\n")
			      "---\n" DEP("a", "  role: api\n") "---\n" DEP("a2", "  role: api\n")
			      "---\n" DEP("o", "  role: slim\n  phase: 7\n")),
			 0);
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "s")), 0);
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "b")), 1);
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "v")), 2);
	/* Unlisted roles come after, one phase each in name order. */
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "a")), 3);
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "a2")), 3);
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "z")), 4);
	/* An explicit phase wins over the role. */
	assert_int_equal(spec_deployment_phase_index(&set, spec_set_deployment(&set, "o")), 7);
	assert_int_equal(spec_set_phase_count(&set), 8);
	done(&set, &d);
}

static void host_port_span(void **state)
{
	struct spec_deployment dep;

	(void)state;
	memset(&dep, 0, sizeof(dep));
	dep.replicas = 4;
	dep.strategy.type = SPEC_STRATEGY_RECREATE;
	assert_int_equal(spec_deployment_host_port_span(&dep), 4);
	dep.strategy.type = SPEC_STRATEGY_ROLLING;
	dep.strategy.max_surge = (struct spec_intpct){ 1, 1, 25 };
	assert_int_equal(spec_deployment_host_port_span(&dep), 5);
	dep.strategy.type = SPEC_STRATEGY_BLUEGREEN;
	assert_int_equal(spec_deployment_host_port_span(&dep), 8);
	dep.strategy.type = SPEC_STRATEGY_CANARY;
	assert_int_equal(spec_deployment_host_port_span(&dep), 8);
}

/* ---- rules: each one alone, with the message it must give ---- */

static void rules(void **state)
{
	(void)state;
	expect_one(DEP("web", "  replica: 2\n"), "t.yaml:9:3: Deployment/web: spec.replica: unknown field (did you mean \"replicas\"?)");
	expect_one(DEP("web", "  dependsOn: [db]\n"), "spec.dependsOn[0]: no Deployment named \"db\"");
	expect_one(DEP("a", "  dependsOn: [b]\n") "---\n" DEP("b", "  dependsOn: [a]\n"),
		   "dependsOn cycle: a -> b -> a");
	expect_one(DEP("a", "  dependsOn: [a]\n"), "cannot depend on itself");
	expect_one(DEP("a", "  role: slim\n  dependsOn: [b]\n") "---\n" DEP("b", "  role: validator\n"),
		   "which rolls out in a later phase (2 > 0)");
	expect_one(DEP("a", "") "---\n" DEP("a", ""), "t.yaml:12:18: Deployment/a: metadata.name: duplicate Deployment name");
	expect_one(DEP("a", "  disruptionBudget: {maxUnavailable: 4}\n"), "4 is more than the 3 replicas");
	expect_one(DEP("a", "  disruptionBudget: {minAvailable: 4}\n"), "4 is more than the 3 replicas");
	expect_valid(DEP("a", "  disruptionBudget: {minAvailable: \"100%\"}\n"));
	expect_one(DEP("a", "  probes: {readiness: {tcpSocket: {port: admin}}}\n"),
		   "spec.probes.readiness.tcpSocket.port: no port named \"admin\"");
	expect_one(DEP("a", "  probes: {startup: {exec: {command: [x]}, successThreshold: 3}}\n"),
		   "spec.probes.startup.successThreshold: must be 1 for startup probes, got 3");
	expect_valid(DEP("a", "  probes: {readiness: {exec: {command: [x]}, successThreshold: 3}}\n"));
	expect_one(DEP("a", "  probes: {liveness: {periodSeconds: 3}}\n"), "needs exactly one of httpGet");
	expect_one(DEP("a", "    privileged: true\n"), "refused by the operator's policy");
	expect_one(DEP("a", "    volumes: [{name: x, mountPath: /x, hostPath: /srv}]\n"), "refused by the operator's policy");
	expect_one(DEP("a", "    volumes: [{name: x, mountPath: /x}, {name: x, mountPath: /y}]\n"),
		   "volume name \"x\" used twice");
	expect_one(DEP("a", "    volumes: [{name: x, mountPath: /x}, {name: y, mountPath: /x}]\n"),
		   "mount path \"/x\" used twice");
	expect_one(DEP("a", "    env: {\"A B\": x}\n"), "not a valid environment variable name");
	expect_one(DEP("a", "  hooks: {preDeploy: [migrate]}\n"), "spec.hooks.preDeploy[0]: no Job named \"migrate\"");
	expect_one(DEP("a", "  strategy: {type: Canary, canary: {steps: [{setWeight: 10}]}}\n"),
		   "needs a Service in front of it");
	expect_one(DEP("a", "  strategy: {type: BlueGreen}\n"), "activeService: required with type BlueGreen");
	expect_one(DEP("a", "  strategy: {type: Canary}\n"), "canary.steps: required with type Canary");
	expect_one(DEP("a", "  strategy: {type: Recreate, canary: {steps: [{setWeight: 1}]}}\n"),
		   "spec.strategy.canary: only allowed with type Canary");
	expect_one(DEP("a", "  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: \"10%\"}}\n"),
		   "maxUnavailable and maxSurge cannot both be 0");
	expect_valid(DEP("a", "  strategy: {type: Rolling, rollingUpdate: {maxSurge: 0, maxUnavailable: \"34%\"}}\n"));
	expect_one(DEPN("a", "    ports: [{containerPort: 1, hostPort: 65535}]\n"), "run past 65535");
	expect_one(DEPN("a", "    ports: [{containerPort: 1, hostPort: 30000}]\n  strategy: {type: Recreate}\n")
		   "---\n" DEPN("b", "    ports: [{containerPort: 1, hostPort: 30002}]\n  strategy: {type: Recreate}\n"),
		   "host port clash: Deployment/b's host ports 30002-30004 and Deployment/a's host ports 30000-30002");
	/* UDP and TCP on the same host port do not clash; adjacent ranges do not either. */
	expect_valid(DEPN("a", "    ports: [{containerPort: 1, hostPort: 30000}]\n  strategy: {type: Recreate}\n")
		     "---\n" DEPN("b", "    ports: [{containerPort: 1, hostPort: 30000, protocol: UDP}]\n  strategy: {type: Recreate}\n")
		     "---\n" DEPN("c", "    ports: [{containerPort: 1, hostPort: 30003}]\n  strategy: {type: Recreate}\n"));
	expect_one("apiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: s}\nspec: {deployment: x, port: 1}\n",
		   "spec.deployment: no Deployment named \"x\"");
	/* A Service reaches replicas at their published ports, whatever the strategy: none published routes nowhere. */
	expect_one(DEP("a", "") "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: s}\n"
			    "spec: {deployment: a, port: 8080}\n",
		   "spec.deployment: Deployment \"a\" does not publish port 9003 (no hostPort)");
	expect_one(DEPN("a", "    ports: [{name: http, containerPort: 9003, hostPort: 19003}]\n  strategy: {type: Recreate}\n")
		   "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: s}\n"
		   "spec: {deployment: a, port: 8080, targetPort: 9009}\n",
		   "spec.targetPort: Deployment \"a\" does not publish port 9009 (no hostPort)");
	expect_valid(DEPN("a", "    ports: [{name: http, containerPort: 9003, hostPort: 19003}]\n")
		     "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: s}\n"
		     "spec: {deployment: a, port: 8080, targetPort: http, upstreamHealth: {maxFails: 2}}\n");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n"
		   "    image: x\n    volumes: [{name: d, mountPath: /d, perReplica: true}]\n",
		   "a Job has no replicas");
	expect_one("apiVersion: auriga.io/v1\nkind: AnalysisTemplate\nmetadata: {name: a}\nspec:\n  metrics:\n"
		   "    - {name: m, failureCondition: {operator: \">\", value: 1}, provider: {prometheus: {query: q}}}\n"
		   "    - {name: m, failureCondition: {operator: \">\", value: 1}, provider: {prometheus: {query: q}}}\n",
		   "metric name \"m\" used twice");
	expect_one("apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  endpoints:\n"
		   "    - {name: local, tls: {caFile: a}}\n",
		   "an endpoint's TLS material is the operator's");
}

static void schema_rules(void **state)
{
	(void)state;
	expect_one(DEPN("a", "    ports: [{name: http, containerPort: 9003}, {name: HTTP, containerPort: 1}]\n"),
		   "spec.template.ports[1].name: must match");
	expect_one(DEP("a", "  strategy: {rollingUpdate: {maxSurge: 1.5}}\n"),
		   "maxSurge: must be an integer or a string, got a number 1.5");
	expect_one(DEP("a", "  strategy: {rollingUpdate: {maxSurge: -1}}\n"), "maxSurge: must be >= 0, got -1");
	expect_one(DEP("a", "  strategy: {type: Canary, canary: {steps: []}}\n"), "must have at least 1 item");
	expect_one(DEP("a", "    image: \"\"\n"), "duplicate key \"image\"");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {image: \"\"}}\n",
		   "spec.template.image: must be at least 1 characters long");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {image: x}, backoffLimit: 101}\n",
		   "spec.backoffLimit: must be <= 100, got 101");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\n", "t.yaml:1:1: Job/j: spec: required field is missing");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {image: x, env: [A=1]}}\n",
		   "spec.template.env: must be a mapping, got a list");
	expect_one("apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j, namespace: x}\nspec: {template: {image: x}}\n",
		   "metadata.namespace: unknown field");
}

static void all_errors_are_collected(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	char *s;

	(void)state;
	load(&set, &d,
	     "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
	     "  replicas: -2\n  bogus: 1\n  template: {image: 5, restartPolicy: Sometimes}\n"
	     "  dependsOn: [ghost]\n"
	     "---\n" DEP("ok", "  dependsOn: [web, ghost2]\n"));
	s = all_diags(&d);
	/* The invalid Deployment is still known by name: "web" is not reported as missing. */
	assert_string_equal(s,
			    "t.yaml:5:13: Deployment/web: spec.replicas: must be >= 0, got -2\n"
			    "t.yaml:6:3: Deployment/web: spec.bogus: unknown field\n"
			    "t.yaml:7:21: Deployment/web: spec.template.image: must be a string, got an integer 5\n"
			    "t.yaml:7:39: Deployment/web: spec.template.restartPolicy: must be one of Always, OnFailure, Never, got \"Sometimes\"\n"
			    "t.yaml:18:20: Deployment/ok: spec.dependsOn[1]: no Deployment named \"ghost2\"\n");
	free(s);
	done(&set, &d);
}

/* ---- revision ---- */

static void revision_of(const char *yaml, const char *name, char out[SPEC_REVISION_HEX])
{
	struct spec_set set;
	struct spec_diags d;

	if (load(&set, &d, yaml) != 0) {
		char *s = all_diags(&d);

		fail_msg("unexpected diags:\n%s", s);
	}
	spec_deployment_revision(spec_set_deployment(&set, name), out);
	done(&set, &d);
}

static void revision_is_canonical(void **state)
{
	char base[SPEC_REVISION_HEX], other[SPEC_REVISION_HEX];
	static const char *const same[] = {
		/* key order, flow vs block style, comments, quoting */
		"apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
		"  template:\n    env: {B: \"2\", A: \"1\"}\n    image: node:1\n"
		"    ports: [{containerPort: 9003, name: http}]\n",
		"# a comment\nkind: Deployment\napiVersion: auriga.io/v1\nmetadata:\n  name: web\nspec:\n"
		"  template:\n    image: 'node:1'   # pinned\n    ports:\n      - name: http\n        containerPort: 9003\n"
		"    env:\n      A: '1'\n      B: \"2\"\n",
		/* defaults written out, and what must not count: replicas, strategy, probes, budget, hooks */
		"apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web, labels: {x: y}}\nspec:\n"
		"  replicas: 9\n  strategy: {type: Recreate}\n  disruptionBudget: {maxUnavailable: 1}\n"
		"  probes: {readiness: {tcpSocket: {port: http}}}\n"
		"  template:\n    image: node:1\n    restartPolicy: Always\n    privileged: false\n"
		"    ports: [{containerPort: 9003, name: http, protocol: TCP}]\n    env: {A: \"1\", B: \"2\"}\n",
	};
	static const char *const changed[] = {
		"    image: node:2\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"3\"}\n",
		"    image: node:1\n    ports: [{containerPort: 9004, name: http}]\n    env: {A: \"1\", B: \"2\"}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http, hostPort: 1000}]\n    env: {A: \"1\", B: \"2\"}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    command: [x]\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    args: [x]\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    labels: {a: b}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    network: n\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    restartPolicy: OnFailure\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    resources: {limits: {memory: 1Gi}}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    resources: {limits: {cpu: 500m}}\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    volumes: [{name: d, mountPath: /d}]\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    envFiles: [a.env]\n",
		"    image: node:1\n    ports: [{containerPort: 9003, name: http}]\n    env: {A: \"1\", B: \"2\"}\n    user: \"1000\"\n",
	};
	size_t i;

	(void)state;
	revision_of(same[0], "web", base);
	assert_int_equal(strlen(base), 64);
	for (i = 1; i < sizeof(same) / sizeof(same[0]); i++) {
		revision_of(same[i], "web", other);
		if (strcmp(base, other) != 0)
			fail_msg("variant %zu changed the revision", i);
	}
	for (i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		char yaml[1024];

		snprintf(yaml, sizeof(yaml),
			 "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
			 "  template:\n%s", changed[i]);
		revision_of(yaml, "web", other);
		if (strcmp(base, other) == 0)
			fail_msg("change %zu did not change the revision", i);
	}
}

static void canonical_json_is_sorted_and_compact(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	char *s;

	(void)state;
	assert_int_equal(load(&set, &d, DEP("web", "    env: {Z: z, A: a}\n")), 0);
	s = spec_container_canonical_json(&spec_set_deployment(&set, "web")->tmpl);
	assert_non_null(strstr(s, "\"env\":{\"A\":\"a\",\"Z\":\"z\"}"));
	assert_null(strchr(s, ' '));
	assert_true(strstr(s, "\"args\"") < strstr(s, "\"command\""));
	free(s);
	done(&set, &d);
}

/* ---- JSON ---- */

static void json_of_the_model(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	json_t *j, *dep;
	char rev[SPEC_REVISION_HEX];

	(void)state;
	assert_int_equal(load(&set, &d, DEP("web", "  role: business\n  strategy: {rollingUpdate: {maxSurge: 2}}\n")), 0);
	j = spec_set_to_json(&set);
	dep = json_array_get(json_object_get(j, "deployments"), 0);
	spec_deployment_revision(spec_set_deployment(&set, "web"), rev);
	assert_string_equal(json_string_value(json_object_get(dep, "revision")), rev);
	assert_int_equal(json_integer_value(json_object_get(dep, "phase")), 1);
	assert_int_equal(json_integer_value(json_object_get(dep, "replicas")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(dep, "strategy"),
									   "rollingUpdate"), "maxSurge")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(dep, "strategy"),
									      "rollingUpdate"), "maxUnavailable")), "25%");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(dep, "metadata"), "source"),
							    "line")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "clusters")), 1);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "clusters"), 0), "defaulted")));
	json_decref(j);
	done(&set, &d);
}

/* digest_of YAML: spec_set_digest of the set YAML loads (no diags). */
static void digest_of(const char *yaml, char out[SPEC_REVISION_HEX])
{
	struct spec_set set;
	struct spec_diags d;

	if (load(&set, &d, yaml) != 0)
		fail_msg("unexpected diags:\n%s", all_diags(&d));
	spec_set_digest(&set, out);
	done(&set, &d);
}

/*
 * The set's digest (what `auriga run` keeps of a folder's specs) follows its
 * model: the same specs give the same digest; a change to a deployment's
 * replicas or strategy (no new revision), or a Job more, gives another.
 */
static void set_digest_follows_the_model(void **state)
{
	char a[SPEC_REVISION_HEX], b[SPEC_REVISION_HEX], c[SPEC_REVISION_HEX], e[SPEC_REVISION_HEX];

	(void)state;
	digest_of(DEP("web", "  role: business\n"), a);
	digest_of(DEP("web", "  role: business\n"), b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	digest_of(DEP("web", "  role: business\n  strategy: {rollingUpdate: {maxSurge: 2}}\n"), c);
	assert_string_not_equal(a, c);
	digest_of(DEP("web", "  role: business\n") "---\napiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: j}\n"
		  "spec: {template: {image: 'node:1'}}\n", e);
	assert_string_not_equal(a, e);
}

/* ---- units ---- */

static void units(void **state)
{
	(void)state;
	assert_int_equal(spec_parse_duration_ms("30s"), 30000);
	assert_int_equal(spec_parse_duration_ms("5m"), 300000);
	assert_int_equal(spec_parse_duration_ms("1m30s"), 90000);
	assert_int_equal(spec_parse_duration_ms("1.5h"), 5400000);
	assert_int_equal(spec_parse_duration_ms("250ms"), 250);
	assert_int_equal(spec_parse_duration_ms("1500us"), 1);
	assert_int_equal(spec_parse_duration_ms("0"), 0);
	assert_int_equal(spec_parse_duration_ms("5"), -1);
	assert_int_equal(spec_parse_duration_ms("5 m"), -1);
	assert_int_equal(spec_parse_duration_ms("s"), -1);
	assert_int_equal(spec_parse_duration_ms("99999999999999h"), -1);
	assert_int_equal(spec_parse_memory("512Mi"), 512LL << 20);
	assert_int_equal(spec_parse_memory("2Gi"), 2LL << 30);
	assert_int_equal(spec_parse_memory("1.5Gi"), 3LL << 29);
	assert_int_equal(spec_parse_memory("1G"), 1000000000LL);
	assert_int_equal(spec_parse_memory("1000"), 1000);
	assert_int_equal(spec_parse_memory("1Xi"), -1);
	assert_int_equal(spec_parse_cpu_millis("500m"), 500);
	assert_int_equal(spec_parse_cpu_millis("1.5"), 1500);
	assert_int_equal(spec_parse_cpu_millis("2"), 2000);
	assert_int_equal(spec_parse_cpu_millis("2x"), -1);
	/* Sizes that overflow or mean less than a byte are refused (-1), never "no limit" (0). */
	assert_int_equal(spec_parse_memory("9223372.9T"), -1);
	assert_int_equal(spec_parse_memory("9223372T"), 9223372000000000000LL);
	assert_int_equal(spec_parse_memory("9223372036854775807"), INT64_MAX);
	assert_int_equal(spec_parse_memory("9223372036854775808"), -1);
	assert_int_equal(spec_parse_memory("8388608Ti"), -1);
	assert_int_equal(spec_parse_memory("10737418240"), 10737418240LL);
	assert_int_equal(spec_parse_memory("0.5"), -1);
	assert_int_equal(spec_parse_memory("0"), 0);
	assert_int_equal(spec_parse_memory("1."), -1);
	assert_int_equal(spec_parse_memory(".5Gi"), -1);
	assert_int_equal(spec_parse_cpu_millis("1000000000m"), SPEC_CPU_MILLIS_MAX);
	assert_int_equal(spec_parse_cpu_millis("1000000"), SPEC_CPU_MILLIS_MAX);
	assert_int_equal(spec_parse_cpu_millis("1000000001m"), -1);
	assert_int_equal(spec_parse_cpu_millis("1000000.001"), -1);
	assert_int_equal(spec_parse_cpu_millis("99999999999"), -1);
}

/* ---- hostile loads: the diag cap and the bounds over all files ---- */

static void diags_are_capped(void **state)
{
	struct spec_pos pos = { "a.yaml", 1, 1 };
	struct spec_diags d;
	char *more;
	size_t i;

	(void)state;
	spec_diags_init(&d);
	for (i = 0; i < SPEC_DIAGS_MAX + 500; i++)
		spec_diags_add(&d, &pos, "Deployment", "web", "spec.template.command", "diag %zu", i);
	assert_int_equal(d.n, SPEC_DIAGS_MAX);
	assert_int_equal(d.dropped, 500);
	assert_int_equal(spec_diags_total(&d), SPEC_DIAGS_MAX + 500);
	assert_string_equal(d.v[SPEC_DIAGS_MAX - 1].msg, "diag 999");
	more = spec_diags_format_dropped(&d);
	assert_string_equal(more, "... and 500 more errors");
	free(more);
	/* A problem with a whole file is kept past the cap, in the place of the latest field's. */
	spec_diags_add(&d, &pos, NULL, NULL, NULL, "file larger than the limit");
	assert_int_equal(d.n, SPEC_DIAGS_MAX);
	assert_int_equal(d.dropped, 501);
	assert_string_equal(d.v[SPEC_DIAGS_MAX - 1].msg, "file larger than the limit");
	d.dropped = 319000;
	more = spec_diags_format_dropped(&d);
	assert_string_equal(more, "... and 319,000 more errors");
	free(more);
	d.dropped = 1;
	more = spec_diags_format_dropped(&d);
	assert_string_equal(more, "... and 1 more error");
	free(more);
	spec_diags_release(&d);
	assert_null(spec_diags_format_dropped(&d));
}

static void load_bounds_over_all_files(void **state)
{
	static const char doc[] = DEP("web", "");
	struct spec_limits lim = *spec_limits_default();
	struct spec_set set;
	struct spec_diags d;
	char want[128];

	(void)state;
	/* Bytes: two files fit, the third passes the total and is not parsed. */
	lim.max_total_bytes = 2 * (sizeof(doc) - 1) + 10;
	spec_diags_init(&d);
	spec_set_init(&set, NULL, &lim);
	assert_int_equal(spec_set_load_buffer(&set, "a.yaml", doc, sizeof(doc) - 1, &d), 0);
	assert_int_equal(spec_set_load_buffer(&set, "b.yaml", doc, sizeof(doc) - 1, &d), 0);
	assert_int_equal(spec_set_load_buffer(&set, "c.yaml", doc, sizeof(doc) - 1, &d), 1);
	assert_string_equal(d.v[0].file, "c.yaml");
	snprintf(want, sizeof(want), "the spec files together pass the limit of %zu bytes", lim.max_total_bytes);
	assert_string_equal(d.v[0].msg, want);
	done(&set, &d);

	/* Nodes: what is left of the budget bounds the next file, then nothing is left. */
	lim = *spec_limits_default();
	lim.max_total_nodes = 40;
	spec_diags_init(&d);
	spec_set_init(&set, NULL, &lim);
	assert_int_equal(spec_set_load_buffer(&set, "a.yaml", doc, sizeof(doc) - 1, &d), 0);
	assert_int_equal(spec_set_load_buffer(&set, "b.yaml", doc, sizeof(doc) - 1, &d), 1);
	assert_non_null(strstr(d.v[0].msg, "left of the limit for all the files together"));
	assert_int_equal(spec_set_load_buffer(&set, "c.yaml", "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]", 46,
					      &d), 1);
	assert_int_equal(spec_set_load_buffer(&set, "d.yaml", "a: 1", 4, &d), 1);
	assert_string_equal(d.v[2].msg, "the spec files together pass the limit of 40 nodes");
	done(&set, &d);
}

/* ---- files ---- */

/* Writes text to rel under dir, making the folders on the way. */
static void write_file(const char *dir, const char *rel, const char *text)
{
	assert_int_equal(test_write(dir, rel, text), 0);
}

static void directory_walk_and_its_bound(void **state)
{
	char dir[] = "/tmp/auriga-spec-XXXXXX", path[256];
	struct spec_limits lim = *spec_limits_default();
	struct spec_set set;
	struct spec_diags d;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, ".hidden/x.yaml", "junk: [\n");
	write_file(dir, "readme.md", "junk: [\n");
	for (i = 0; i < 4; i++) {
		char yaml[512];

		snprintf(path, sizeof(path), "sub/d%d.%s", i, i % 2 ? "yml" : "yaml");
		snprintf(yaml, sizeof(yaml), DEP("d%d", ""), i);
		write_file(dir, path, yaml);
	}
	spec_diags_init(&d);
	spec_set_init(&set, NULL, NULL);
	assert_int_equal(specdir_load(&set, dir, &d), 0);
	assert_int_equal(spec_set_finish(&set, &d), 0);
	assert_int_equal(set.n_deployments, 4);
	assert_int_equal(set.n_files, 4);
	assert_non_null(spec_set_deployment(&set, "d3"));
	done(&set, &d);

	lim.max_files = 3;
	spec_diags_init(&d);
	spec_set_init(&set, NULL, &lim);
	assert_int_equal(specdir_load(&set, dir, &d), 1);
	assert_int_equal(set.n_deployments, 3);
	assert_non_null(strstr(d.v[0].msg, "more than the limit of 3 spec files"));
	done(&set, &d);

	assert_int_equal(test_rmtree(dir), 0);
}

static void example_fleet_validates(void **state)
{
	struct spec_set set;
	struct spec_diags d;
	const struct spec_deployment *v;

	(void)state;
	spec_diags_init(&d);
	spec_set_init(&set, NULL, NULL);
	specdir_load(&set, "specs", &d);
	spec_set_finish(&set, &d);
	if (d.n) {
		char *s = all_diags(&d);

		fail_msg("specs/ has errors:\n%s", s);
	}
	assert_int_equal(set.n_deployments, 7);
	assert_int_equal(spec_set_deployment(&set, "slim")->replicas, 5);
	assert_int_equal(spec_set_deployment(&set, "business-1")->replicas, 8);
	assert_int_equal(spec_set_deployment(&set, "business-2")->replicas, 7);
	assert_string_equal(spec_set_deployment(&set, "business-2")->depends_on[0], "business-1");
	v = spec_set_deployment(&set, "validators");
	assert_int_equal(v->replicas, 5);
	assert_int_equal(v->strategy.type, SPEC_STRATEGY_RECREATE);
	assert_true(v->tmpl.volumes[0].per_replica);
	assert_int_equal(v->probes->liveness.period_seconds, 30);
	assert_int_equal(v->probes->liveness.failure_threshold, 2);
	assert_int_equal(v->probes->startup.failure_threshold, 30);
	assert_int_equal(spec_set_deployment(&set, "api")->strategy.type, SPEC_STRATEGY_BLUEGREEN);
	assert_int_equal(spec_set_service(&set, "api")->port, 9003);
	/* The ledger and its database: the schema it needs (the demo brings V2), the backup before it. */
	assert_string_equal(spec_set_deployment(&set, "ledger")->tmpl.schema_version, "1");
	assert_null(spec_set_deployment(&set, "postgres")->tmpl.schema_version);
	assert_string_equal(spec_set_backup_policy(&set, "ledger-pre-deploy")->before[0], "ledger");
	done(&set, &d);
}

static void crds_load_from_a_directory(void **state)
{
	struct spec_schemas s;
	struct spec_diags d;
	int k;

	(void)state;
	spec_schemas_init(&s);
	spec_diags_init(&d);
	assert_int_equal(specdir_load_schemas(&s, "crds", &d), 0);
	for (k = 0; k < SPEC_KIND_COUNT; k++)
		assert_non_null(s.kinds[k]);
	/* A broken CRD is reported with its position. */
	assert_int_equal(spec_schemas_add_crd(&s, "x.yaml", "kind: Nope\n", 10, &d), 1);
	assert_non_null(strstr(d.v[0].msg, "not an apiextensions.k8s.io/v1 CustomResourceDefinition"));
	spec_diags_release(&d);
	spec_schemas_release(&s);
}

TEST_MAIN(
	cmocka_unit_test(deployment_defaults),
	cmocka_unit_test(intpct_rounding),
	cmocka_unit_test(validator_budget_is_bft),
	cmocka_unit_test(strategies_decode),
	cmocka_unit_test(cluster_defaults_and_default_cluster),
	cmocka_unit_test(phases),
	cmocka_unit_test(host_port_span),
	cmocka_unit_test(rules),
	cmocka_unit_test(schema_rules),
	cmocka_unit_test(all_errors_are_collected),
	cmocka_unit_test(revision_is_canonical),
	cmocka_unit_test(canonical_json_is_sorted_and_compact),
	cmocka_unit_test(json_of_the_model),
	cmocka_unit_test(set_digest_follows_the_model),
	cmocka_unit_test(units),
	cmocka_unit_test(diags_are_capped),
	cmocka_unit_test(load_bounds_over_all_files),
	cmocka_unit_test(directory_walk_and_its_bound),
	cmocka_unit_test(example_fleet_validates),
	cmocka_unit_test(crds_load_from_a_directory))
