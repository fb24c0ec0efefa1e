/* Unit tests for placements in the specs: endpoint labels and addresses, defaults, refusals and warnings. */
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
#include "util.h"

/* Five endpoints the operator lists: two in zone z1, two in z2, one in z3. */
static const char policy_text[] =
	"endpoints:\n"
	"  - {name: a, url: \"unix:///run/a.sock\"}\n"
	"  - {name: b, url: \"unix:///run/b.sock\"}\n"
	"  - {name: c, url: \"unix:///run/c.sock\", address: 10.0.0.3}\n"
	"  - {name: d, url: \"unix:///run/d.sock\"}\n"
	"  - {name: e, url: \"tcp://10.0.0.5:2376\", certPath: /etc/auriga/e}\n";

#define CLUSTER5                                       \
	"apiVersion: auriga.io/v1\n"                   \
	"kind: Cluster\n"                              \
	"metadata: {name: fleet}\n"                    \
	"spec:\n"                                      \
	"  endpoints:\n"                               \
	"    - {name: a, labels: {zone: z1}}\n"        \
	"    - {name: b, labels: {zone: z1}}\n"        \
	"    - {name: c, labels: {zone: z2}}\n"        \
	"    - {name: d, labels: {zone: z2}}\n"        \
	"    - {name: e, labels: {zone: z3}}\n"

#define CLUSTER2                                       \
	"apiVersion: auriga.io/v1\n"                   \
	"kind: Cluster\n"                              \
	"metadata: {name: fleet}\n"                    \
	"spec:\n"                                      \
	"  endpoints:\n"                               \
	"    - {name: a, labels: {zone: z1}}\n"        \
	"    - {name: b}\n"                            \
	"\n"                                           \
	"\n"                                           \
	"\n"

/* A Deployment (line 11 on) of replicas with role, its placement from line 19. */
#define DEP(role, replicas, extra)                     \
	"---\n"                                        \
	"apiVersion: auriga.io/v1\n"                   \
	"kind: Deployment\n"                           \
	"metadata: {name: v}\n"                        \
	"spec:\n"                                      \
	"  role: " role "\n"                           \
	"  replicas: " replicas "\n"                   \
	"  template: {image: auriga-demo-node:v1}\n" extra

struct row {
	const char *what;
	const char *spec;
	const char *errors;	/* every diag, one a line; "" for none */
	const char *warnings;	/* every warning, one a line; "" for none */
	int max_per_endpoint;	/* the deployment's after the defaults; -1: not checked */
};

#define AT "fleet.yaml:"

static const struct row rows[] = {
	{ "validators one per endpoint by default", CLUSTER5 DEP("validator", "5", ""), "", "", 1 },
	{ "business nodes unbounded by default", CLUSTER5 DEP("business", "8", ""), "", "", 0 },
	{ "validators as even as two endpoints allow, and warned", CLUSTER2 DEP("validator", "5", ""), "",
	  AT "17:13: Deployment/v: spec.replicas: 3 of the 5 validators run on endpoint \"a\": losing that host "
	  "takes more than f = 1 of 3f+1 down and halts consensus (give the placement more endpoints, or "
	  "maxPerEndpoint 1)\n", 3 },
	{ "validators on one endpoint, by name", CLUSTER5 DEP("validator", "4", "  placement: {endpoints: [c]}\n"),
	  "", AT "19:14: Deployment/v: spec.placement: 4 of the 4 validators run on endpoint \"c\": losing that "
	  "host takes more than f = 1 of 3f+1 down and halts consensus (give the placement more endpoints, or "
	  "maxPerEndpoint 1)\n", 4 },
	{ "validators two per endpoint over a zone of two", CLUSTER5
	  DEP("validator", "4", "  placement: {endpointSelector: {zone: z1}, maxPerEndpoint: 2}\n"), "",
	  AT "19:14: Deployment/v: spec.placement: 2 of the 4 validators run on endpoint \"a\": losing that host "
	  "takes more than f = 1 of 3f+1 down and halts consensus (give the placement more endpoints, or "
	  "maxPerEndpoint 1)\n", 2 },
	{ "three validators: no placement survives a loss, none warned", CLUSTER2 DEP("validator", "3", ""), "", "",
	  2 },
	{ "an unknown endpoint in a placement", CLUSTER5
	  DEP("business", "2", "  placement: {endpoints: [a, nope]}\n"),
	  AT "19:30: Deployment/v: spec.placement.endpoints[1]: endpoint \"nope\" is not one of the Cluster's "
	  "(its endpoints: a, b, c, d, e)\n", "", -1 },
	{ "a canary over two endpoints: only its Service is asked for", CLUSTER2
	  DEP("business", "2", "  strategy: {type: Canary, canary: {steps: [{setWeight: 50}]}}\n"),
	  AT "19:13: Deployment/v: spec.strategy: a Canary deployment needs a Service in front of it to weight "
	  "traffic\n", "", -1 },
	{ "an endpoint listed twice", CLUSTER5 DEP("business", "2", "  placement: {endpoints: [a, a]}\n"),
	  AT "19:30: Deployment/v: spec.placement.endpoints[1]: endpoint \"a\" listed twice\n", "", -1 },
	{ "a placement that cannot be met", CLUSTER5
	  DEP("business", "5", "  placement:\n    endpoints: [a, b]\n    maxPerEndpoint: 2\n"),
	  AT "21:21: Deployment/v: spec.placement.maxPerEndpoint: cannot be met: 5 replicas on 2 endpoints at "
	  "most 2 each (1 left without one)\n", "", 2 },
	{ "a selector no endpoint matches", CLUSTER5
	  DEP("business", "2", "  placement:\n    endpointSelector: {zone: z9}\n"),
	  AT "20:23: Deployment/v: spec.placement.endpointSelector: no endpoint of the Cluster may run it (the "
	  "placement's endpoints and endpointSelector leave none)\n", "", -1 },
	{ "spreadBy a label an endpoint lacks", CLUSTER2 DEP("business", "2", "  placement: {spreadBy: zone}\n"),
	  AT "19:25: Deployment/v: spec.placement.spreadBy: endpoint \"b\" has no label \"zone\": every endpoint "
	  "the placement may use must carry it\n", "", -1 },
	{ "spreadBy over zones", CLUSTER5 DEP("validator", "7", "  placement: {spreadBy: zone}\n"), "", "", 2 },
	{ "an unknown field of a placement", CLUSTER5 DEP("business", "2", "  placement: {maxPerHost: 1}\n"),
	  AT "19:15: Deployment/v: spec.placement.maxPerHost: unknown field\n",
	  "", -1 },
	{ "maxPerEndpoint 0", CLUSTER5 DEP("business", "2", "  placement: {maxPerEndpoint: 0}\n"),
	  AT "19:31: Deployment/v: spec.placement.maxPerEndpoint: must be >= 1, got 0\n", "", -1 },
};

/* The lines of d, each ending in a newline. */
static char *lines(struct spec_diags *d)
{
	struct buf b = BUF_INIT_MAX(1 << 16);
	size_t i;

	spec_diags_sort(d);
	for (i = 0; i < d->n; i++) {
		char *line = spec_diag_format(&d->v[i]);

		buf_printf(&b, "%s\n", line);
		free(line);
	}
	return buf_detach(&b, NULL);
}

/* Loads text as fleet.yaml under policy_text (or the built-in policy): errors, warnings, the first deployment's bound. */
static void load(const char *policy, const char *text, char **errors, char **warnings, int *max_per_endpoint)
{
	struct spec_policy pol;
	struct spec_diags d;
	struct spec_set set;

	spec_policy_init(&pol);
	spec_diags_init(&d);
	if (policy)
		assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", policy, strlen(policy), &d), 0);
	spec_set_init(&set, NULL, NULL);
	set.policy = &pol;
	spec_set_load_buffer(&set, "fleet.yaml", text, strlen(text), &d);
	spec_set_finish(&set, &d);
	*errors = lines(&d);
	*warnings = lines(&set.warnings);
	*max_per_endpoint = set.n_deployments ? set.deployments[0]->placement.max_per_endpoint : -1;
	spec_set_release(&set);
	spec_diags_release(&d);
	spec_policy_release(&pol);
}

/* Loads each row and compares; how many rows differ (each one printed). */
static size_t run_rows(const struct row *rows_, size_t n)
{
	size_t i, failed = 0;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows_[i];
		char *errors, *warnings;
		int max;

		load(policy_text, r->spec, &errors, &warnings, &max);
		if (strcmp(errors, r->errors) != 0 || strcmp(warnings, r->warnings) != 0 ||
		    (r->max_per_endpoint >= 0 && max != r->max_per_endpoint)) {
			print_error("row '%s':\n  want errors: %s\n  got:         %s\n  want warnings: %s\n"
				    "  got:           %s\n  maxPerEndpoint want %d got %d\n",
				    r->what, r->errors, errors, r->warnings, warnings, r->max_per_endpoint, max);
			failed++;
		}
		free(errors);
		free(warnings);
	}
	return failed;
}

static void placement_rows(void **state)
{
	(void)state;
	assert_int_equal(run_rows(rows, sizeof(rows) / sizeof(rows[0])), 0);
}

/* The Cluster's side: labels and addresses, each where the operator's policy puts the endpoint. */
static const struct row cluster_rows[] = {
	{ "a label key that is not one",
	  "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: fleet}\nspec:\n  endpoints:\n"
	  "    - {name: a, labels: {\"-zone\": z1}}\n",
	  AT "6:25: Cluster/fleet: spec.endpoints[0].labels: label key \"-zone\": expected 1 to 63 letters, "
	  "digits, '-', '_', '.' or '/', beginning and ending with a letter or digit\n", "", -1 },
	{ "the policy's address", "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: fleet}\nspec:\n"
	  "  endpoints:\n    - {name: c, address: 10.0.0.3}\n    - {name: e, address: 10.0.0.5}\n"
	  "    - {name: a, address: 127.0.0.1}\n", "", "", -1 },
	{ "an address that is not the endpoint's",
	  "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: fleet}\nspec:\n"
	  "  endpoints:\n    - {name: c, address: 10.0.0.9}\n    - {name: e, address: 10.9.9.9}\n",
	  AT "6:26: Cluster/fleet: spec.endpoints[0].address: \"10.0.0.9\" is not endpoint \"c\"'s address "
	  "(10.0.0.3, its address in /etc/auriga/policy.yaml): the operator decides where an endpoint's ports "
	  "are reached\n"
	  AT "7:26: Cluster/fleet: spec.endpoints[1].address: \"10.9.9.9\" is not endpoint \"e\"'s address "
	  "(10.0.0.5, from its url in /etc/auriga/policy.yaml): the operator decides where an endpoint's ports "
	  "are reached\n", "", -1 },
	{ "an address with a port",
	  "apiVersion: auriga.io/v1\nkind: Cluster\nmetadata: {name: fleet}\nspec:\n"
	  "  endpoints:\n    - {name: c, address: \"10.0.0.3:80\"}\n",
	  AT "6:26: Cluster/fleet: spec.endpoints[0].address: must match "
	  "^([0-9A-Za-z]([-0-9A-Za-z.]*[0-9A-Za-z])?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$, got \"10.0.0.3:80\"\n", "", -1 },
};

static void cluster_row_cases(void **state)
{
	(void)state;
	assert_int_equal(run_rows(cluster_rows, sizeof(cluster_rows) / sizeof(cluster_rows[0])), 0);
}

/* The policy's side: an address that is not one, and where an endpoint's address comes from. */
static void policy_addresses(void **state)
{
	static const char bad[] = "endpoints:\n  - {name: a, url: \"unix:///run/a.sock\", address: \"a b\"}\n";
	struct spec_policy pol;
	struct spec_diags d;
	char *s;

	(void)state;
	spec_policy_init(&pol);
	spec_diags_init(&d);
	assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", policy_text, strlen(policy_text), &d), 0);
	s = spec_policy_endpoint_address(&pol, "c");
	assert_string_equal(s, "10.0.0.3");
	free(s);
	s = spec_policy_endpoint_address(&pol, "e");
	assert_string_equal(s, "10.0.0.5");
	free(s);
	s = spec_policy_endpoint_address(&pol, "a");
	assert_string_equal(s, "127.0.0.1");
	free(s);
	s = spec_policy_endpoint_address(&pol, "local");
	assert_string_equal(s, "127.0.0.1");
	free(s);
	assert_null(spec_policy_endpoint_address(&pol, "nope"));
	str_set(&pol.local_url, "tcp://[fd00::7]:2376");
	s = spec_policy_endpoint_address(&pol, "local");
	assert_string_equal(s, "fd00::7");
	free(s);
	spec_policy_release(&pol);
	spec_policy_init(&pol);
	assert_true(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", bad, strlen(bad), &d) != 0);
	s = spec_diag_format(&d.v[0]);
	assert_non_null(strstr(s, "\"a b\": expected an IP address or a host name, no port"));
	free(s);
	assert_true(spec_policy_address_ok("fd00::1"));
	assert_true(spec_policy_address_ok("host-1.example.com"));
	assert_false(spec_policy_address_ok("host:80"));
	assert_false(spec_policy_address_ok("-host"));
	assert_false(spec_policy_address_ok(""));
	spec_policy_release(&pol);
	spec_diags_release(&d);
}

TEST_MAIN(cmocka_unit_test(placement_rows), cmocka_unit_test(cluster_row_cases), cmocka_unit_test(policy_addresses))
