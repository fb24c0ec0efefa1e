/* Unit tests for the shared helpers (xasprintf, str_set, FREE_ALL, name tables, kv, strv, lists) and every enum's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "engine/engine.h"
#include "engine/plan.h"
#include "kv.h"
#include "model/observe.h"
#include "probe/probe.h"
#include "runtime/breaker.h"
#include "status/status.h"
#include "strv.h"
#include "testmain.h"
#include "traffic/analysis.h"
#include "util.h"

static void xasprintf_has_no_size_limit(void **state)
{
	char *big = xcalloc(40001, 1);
	char *s;

	(void)state;
	memset(big, 'x', 40000);
	s = xasprintf("<%s|%d>", big, 7);
	assert_int_equal(strlen(s), 40004);
	assert_memory_equal(s, "<xxx", 4);
	assert_string_equal(s + 40001, "|7>");
	free(s);
	free(big);
	s = xasprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
}

static void str_set_replaces_keeps_and_clears(void **state)
{
	char *s = NULL;
	char *before;

	(void)state;
	str_set(&s, "a");
	assert_string_equal(s, "a");
	before = s;
	str_set(&s, s);	/* the same text, even the same memory: left as it is (no free before the copy) */
	assert_ptr_equal(s, before);
	assert_string_equal(s, "a");
	str_set(&s, "b");
	assert_string_equal(s, "b");
	str_set(&s, NULL);
	assert_null(s);
	assert_null(xstrdup_or_null(NULL));
	s = xstrdup_or_null("c");
	assert_string_equal(s, "c");
	free(s);
	assert_null(xmemdup("abc", 0));
	s = xmemdup("abc", 4);
	assert_string_equal(s, "abc");
	/* FREE_ALL frees each (the sanitizer build counts a leak), NULLs included. */
	FREE_ALL(s, NULL, xstrdup("d"));
}

static void name_tables(void **state)
{
	static const char *const names[] = { "zero", NULL, "two" };

	(void)state;
	assert_string_equal(NAME_OF(names, 0, "?"), "zero");
	assert_string_equal(NAME_OF(names, 1, "?"), "?");	/* a hole */
	assert_string_equal(NAME_OF(names, 2, "?"), "two");
	assert_string_equal(NAME_OF(names, 3, "?"), "?");	/* past the end */
	assert_string_equal(NAME_OF(names, -1, "?"), "?");
	assert_int_equal(name_index(names, ARRAY_SIZE(names), "two"), 2);
	assert_int_equal(name_index(names, ARRAY_SIZE(names), "zero"), 0);
	assert_int_equal(name_index(names, ARRAY_SIZE(names), "one"), -1);
	assert_int_equal(name_index(names, ARRAY_SIZE(names), ""), -1);
}

/* Every enum's names, value by value: the tables are in the enums' order, so a swap shows here. */
static void enum_names(void **state)
{
	const char *got[] = {
		plan_kind_name(PLAN_CREATE), plan_kind_name(PLAN_REPLACE), plan_kind_name(PLAN_START),
		plan_kind_name(PLAN_REMOVE_SUPERSEDED), plan_kind_name(PLAN_REMOVE_DUPLICATE),
		plan_kind_name(PLAN_SCALE_DOWN), plan_kind_name(PLAN_REMOVE_ORPHAN), plan_kind_name(PLAN_KIND_COUNT),
		plan_strategy_name(SPEC_STRATEGY_ROLLING), plan_strategy_name(SPEC_STRATEGY_RECREATE),
		plan_strategy_name(SPEC_STRATEGY_BLUEGREEN), plan_strategy_name(SPEC_STRATEGY_CANARY),
		engine_outcome_name(ENGINE_RUNNING), engine_outcome_name(ENGINE_CONVERGED),
		engine_outcome_name(ENGINE_ROLLEDBACK), engine_outcome_name(ENGINE_FAILED),
		probe_type_name(PROBE_STARTUP), probe_type_name(PROBE_READINESS), probe_type_name(PROBE_LIVENESS),
		probe_type_name(PROBE_TYPE_COUNT),
		probe_result_name(PROBE_SUCCESS), probe_result_name(PROBE_FAILURE), probe_result_name(PROBE_TIMEOUT),
		probe_result_name(PROBE_ERROR),
		breaker_state_name(BREAKER_CLOSED), breaker_state_name(BREAKER_OPEN),
		breaker_state_name(BREAKER_HALF_OPEN),
		analysis_result_name(ANALYSIS_RUNNING), analysis_result_name(ANALYSIS_SUCCESSFUL),
		analysis_result_name(ANALYSIS_FAILED), analysis_result_name(ANALYSIS_INCONCLUSIVE),
		status_phase_name(STATUS_UNKNOWN), status_phase_name(STATUS_PROGRESSING),
		status_phase_name(STATUS_HEALTHY), status_phase_name(STATUS_DEGRADED),
		status_phase_name(STATUS_FAILED), status_phase_name(STATUS_ROLLEDBACK),
		status_phase_name(STATUS_PENDING), status_phase_name(STATUS_ABORTED),
		obs_state_name(OBS_CREATED), obs_state_name(OBS_RUNNING), obs_state_name(OBS_RESTARTING),
		obs_state_name(OBS_PAUSED), obs_state_name(OBS_EXITED), obs_state_name(OBS_DEAD),
		obs_state_name(OBS_REMOVING), obs_state_name(OBS_OTHER),
		docker_status_name(DOCKER_OK), docker_status_name(DOCKER_NOT_MODIFIED),
		docker_status_name(DOCKER_NOT_FOUND), docker_status_name(DOCKER_CONFLICT),
		docker_status_name(DOCKER_BAD_REQUEST), docker_status_name(DOCKER_SERVER_ERROR),
		docker_status_name(DOCKER_TRANSPORT), docker_status_name(DOCKER_TIMEOUT),
		docker_status_name(DOCKER_TOOBIG), docker_status_name(DOCKER_PROTOCOL),
		docker_status_name(DOCKER_CIRCUIT_OPEN), docker_status_name(DOCKER_BULKHEAD_FULL),
		docker_status_name(DOCKER_CANCELLED), docker_status_name(DOCKER_STATUS_COUNT),
	};
	static const char *const want[] = {
		"create", "replace", "start", "remove-superseded", "remove-duplicate", "scale-down", "remove-orphan", "?",
		"Rolling", "Recreate", "BlueGreen", "Canary",
		"running", "converged", "rolled back", "failed",
		"startup", "readiness", "liveness", "?",
		"success", "failure", "timeout", "error",
		"closed", "open", "half-open",
		"Running", "Successful", "Failed", "Inconclusive",
		"Unknown", "Progressing", "Healthy", "Degraded", "Failed", "RolledBack", "Pending", "Aborted",
		"created", "running", "restarting", "paused", "exited", "dead", "removing", "unknown",
		"ok", "not-modified", "not-found", "conflict", "bad-request", "server-error", "transport", "timeout",
		"too-big", "protocol", "circuit-open", "bulkhead-full", "cancelled", "unknown",
	};
	enum status_phase ph = STATUS_UNKNOWN;
	size_t i;

	(void)state;
	assert_int_equal(ARRAY_SIZE(got), ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		print_message("# %zu: %s\n", i, got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_int_equal(status_phase_parse("RolledBack", &ph), 0);
	assert_int_equal(ph, STATUS_ROLLEDBACK);
	assert_int_equal(status_phase_parse("Rolledback", &ph), -1);
	assert_int_equal(ph, STATUS_ROLLEDBACK);
}

static void kv_put_get_copy_sort(void **state)
{
	struct kv *v = NULL, *c;
	size_t n = 0;
	json_t *j;
	char *text;

	(void)state;
	kv_put(&v, &n, "b", "1");
	kv_put(&v, &n, "a", "2");
	kv_put(&v, &n, "b", "3");	/* a later value of a key replaces the earlier one, in place */
	kv_put(&v, &n, "z", NULL);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].key, "b");
	assert_string_equal(kv_get(v, n, "b"), "3");
	assert_string_equal(kv_get(v, n, "a"), "2");
	assert_null(kv_get(v, n, "z"));
	assert_null(kv_get(v, n, "c"));
	assert_null(kv_get(NULL, 0, "a"));
	c = kv_copy(v, n);
	free(c[0].value);
	c[0].value = xstrdup("changed");
	assert_string_equal(kv_get(v, n, "b"), "3");	/* a deep copy */
	assert_null(c[2].value);
	kv_sort(c, n);
	assert_string_equal(c[0].key, "a");
	assert_string_equal(c[1].key, "b");
	assert_string_equal(c[2].key, "z");
	j = kv_to_json(c, n);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"a\":\"2\",\"b\":\"changed\"}");	/* a NULL value is left out */
	free(text);
	json_decref(j);
	assert_null(kv_copy(v, 0));
	kv_free(c, n);
	kv_free(v, n);
	kv_free(NULL, 0);
}

static void strv_copy_len_free(void **state)
{
	char *src[] = { "x", "y", "z", NULL };
	char **v;
	json_t *j;
	char *text;

	(void)state;
	assert_int_equal(strv_len(src), 3);
	assert_int_equal(strv_len(NULL), 0);
	assert_null(strv_copy(src, 0));
	assert_null(strv_copy(NULL, 2));
	assert_null(strv_dup(NULL));
	v = strv_copy(src, 2);
	assert_int_equal(strv_len(v), 2);	/* terminated after the n copied */
	assert_string_equal(v[1], "y");
	assert_ptr_not_equal(v[0], src[0]);
	strv_free(v);
	v = strv_dup(src);
	assert_int_equal(strv_len(v), 3);
	j = strv_to_json(v, 3);
	text = json_dumps(j, JSON_COMPACT);
	assert_string_equal(text, "[\"x\",\"y\",\"z\"]");
	free(text);
	json_decref(j);
	strv_free_n(v, 3);
	strv_free(NULL);
	strv_free_n(NULL, 0);
}

struct node {
	struct node *prev, *next;
	int id;
};

static void dlist_unlink_head_middle_tail(void **state)
{
	struct node n[3] = { { NULL, &n[1], 0 }, { &n[0], &n[2], 1 }, { &n[1], NULL, 2 } };
	struct node *head = &n[0];

	(void)state;
	DLIST_UNLINK(head, &n[1]);
	assert_ptr_equal(head, &n[0]);
	assert_ptr_equal(n[0].next, &n[2]);
	assert_ptr_equal(n[2].prev, &n[0]);
	assert_null(n[1].prev);
	assert_null(n[1].next);
	DLIST_UNLINK(head, &n[0]);
	assert_ptr_equal(head, &n[2]);
	assert_null(n[2].prev);
	DLIST_UNLINK(head, &n[2]);
	assert_null(head);
}

static void timespec_carries(void **state)
{
	struct timespec ts = { 10, 900000000L };

	(void)state;
	timespec_add_ms(&ts, 250);
	assert_int_equal(ts.tv_sec, 11);
	assert_int_equal(ts.tv_nsec, 150000000L);
	timespec_add_ms(&ts, 3600 * 1000);
	assert_int_equal(ts.tv_sec, 3611);
	assert_int_equal(ts.tv_nsec, 150000000L);
	timespec_add_ms(&ts, 0);
	assert_int_equal(ts.tv_sec, 3611);
}

TEST_MAIN(
	cmocka_unit_test(xasprintf_has_no_size_limit),
	cmocka_unit_test(str_set_replaces_keeps_and_clears),
	cmocka_unit_test(name_tables),
	cmocka_unit_test(enum_names),
	cmocka_unit_test(kv_put_get_copy_sort),
	cmocka_unit_test(strv_copy_len_free),
	cmocka_unit_test(dlist_unlink_head_middle_tail),
	cmocka_unit_test(timespec_carries))
