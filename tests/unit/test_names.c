/* Unit tests for the names auriga gives on an engine: the name-prefix setting, containers, Jobs' and networks' names. */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model/desired.h"
#include "runtime/config.h"
#include "util.h"

/* `auriga run ARGS...` with an empty environment: 0, or the error in *e. */
static int load(struct config **c, const char *const *args, struct error **e)
{
	char *argv[8] = { (char *)"run" };
	char *envp[] = { NULL };
	int argc = 1;

	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return config_load(c, argc, argv, envp, NULL, NULL, e);
}

/* name-prefix: the instance when unset, "" when set empty, else as given; a bad one refused, naming it. */
static void test_prefix_setting(void **state)
{
	static const struct {
		const char *args[4];
		const char *prefix;	/* NULL: refused */
	} t[] = {
		{ { NULL }, "auriga" },
		{ { "--instance", "staging", NULL }, "staging" },
		{ { "--instance", "staging", "--name-prefix=", NULL }, "" },
		{ { "--name-prefix", "Prod_2.eu-1", NULL }, "Prod_2.eu-1" },
		{ { "--name-prefix", "a/b", NULL }, NULL },
		{ { "--name-prefix", "-a", NULL }, NULL },
		{ { "--name-prefix", "_a", NULL }, NULL },
		{ { "--name-prefix", "a b", NULL }, NULL },
		{ { "--name-prefix", "p234567890123456789012345678901234567890123456789012345678901234", NULL }, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct config *c = NULL;
		struct error *e = NULL;
		int rc = load(&c, t[i].args, &e);

		print_message("# %s %s -> %s\n", t[i].args[0] ? t[i].args[0] : "", t[i].args[1] ? t[i].args[1] : "",
			      rc < 0 ? error_msg(e) : config_name_prefix(c));
		if (t[i].prefix) {
			assert_int_equal(rc, 0);
			assert_string_equal(config_name_prefix(c), t[i].prefix);
		} else {
			assert_true(rc < 0);
			assert_non_null(strstr(error_msg(e), "--name-prefix: name-prefix: must be empty or 1 to 63"));
		}
		error_free(e);
		config_free(c);
	}
}

/* Containers: "<prefix>-<deployment>-<ordinal>[-<rev6>]", and the old names with no prefix. */
static void test_container_names(void **state)
{
	static const struct {
		const char *prefix, *dep;
		int ord;
		const char *rev, *want;
	} t[] = {
		{ "prod", "slim", 1, NULL, "prod-slim-1" },
		{ "staging", "slim", 1, NULL, "staging-slim-1" },
		{ "prod", "web", 0, "0123456789ab", "prod-web-0-012345" },
		{ "", "slim", 1, NULL, "slim-1" },
		{ NULL, "web", 2, "abcdef99", "web-2-abcdef" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		char *n = desired_container_name(t[i].prefix, t[i].dep, t[i].ord, t[i].rev);

		assert_string_equal(n, t[i].want);
		free(n);
	}
}

/* A create request on a template's network: the prefixed network, unprefixed aliases and hostname. */
static void test_network_names(void **state)
{
	char *external[] = { (char *)"shared", NULL };
	struct desired d;
	struct desired_tmpl tmpl;
	struct desired_create cr;
	char *n;

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&tmpl, 0, sizeof(tmpl));
	d.instance = (char *)"prod";
	d.name_prefix = (char *)"prod";
	d.external_networks = external;
	tmpl.image = (char *)"node:1";
	tmpl.network = (char *)"dlt-net";
	n = desired_network_name(&d, &tmpl);
	assert_string_equal(n, "prod-dlt-net");
	free(n);

	desired_create_build(&cr, &d, "validators", &tmpl, "0123456789ab", 2, "prod-validators-2", NULL, 2);
	assert_string_equal(cr.spec.name, "prod-validators-2");
	assert_string_equal(cr.spec.network, "prod-dlt-net");
	assert_string_equal(cr.create_network, "prod-dlt-net");
	assert_string_equal(cr.network_legacy, "dlt-net");
	assert_string_equal(cr.aliases[0], "validators");
	assert_string_equal(cr.aliases[1], "validators-2");
	assert_string_equal(cr.spec.hostname, "validators-2");
	/* Made without an endpoint: no label saying where. */
	assert_null(kv_get(cr.labels, cr.n_labels, "auriga.io/endpoint"));
	desired_create_release(&cr);
	/* Each container records the endpoint it is made on, its host. */
	desired_create_build(&cr, &d, "validators", &tmpl, "0123456789ab", 2, "prod-validators-2", "east", 2);
	assert_non_null(kv_get(cr.labels, cr.n_labels, "auriga.io/endpoint"));
	assert_string_equal(kv_get(cr.labels, cr.n_labels, "auriga.io/endpoint"), "east");
	desired_create_release(&cr);

	/* One the operator's policy lists is another's: joined by its own name. */
	tmpl.network = (char *)"shared";
	n = desired_network_name(&d, &tmpl);
	assert_string_equal(n, "shared");
	free(n);
	/* Docker's own are never renamed. */
	tmpl.network = (char *)"bridge";
	n = desired_network_name(&d, &tmpl);
	assert_string_equal(n, "bridge");
	free(n);
	tmpl.network = NULL;
	assert_null(desired_network_name(&d, &tmpl));

	/* No prefix: the names as they were, nothing to adopt. */
	d.name_prefix = (char *)"";
	tmpl.network = (char *)"dlt-net";
	desired_create_build(&cr, &d, "validators", &tmpl, "0123456789ab", 2, "validators-2", NULL, 2);
	assert_string_equal(cr.spec.network, "dlt-net");
	assert_null(cr.network_legacy);
	assert_string_equal(cr.spec.hostname, "validators-2");
	desired_create_release(&cr);
}

TEST_MAIN(cmocka_unit_test(test_prefix_setting), cmocka_unit_test(test_container_names),
	  cmocka_unit_test(test_network_names))
