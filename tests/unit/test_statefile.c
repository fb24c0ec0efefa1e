/* Unit tests for the state file: round trip, atomic replacement, corrupt files, the failed-revision memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/statefile.h"
#include "testfs.h"
#include "testmain.h"
#include "util.h"

#define REV_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REV_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void tmpl_of(struct desired_tmpl *t, const char *image)
{
	struct spec_container c;
	struct spec_port port = { (char *)"http", 9003, 20000, NULL, SPEC_PROTO_TCP };
	struct spec_volume vol = { (char *)"chain", (char *)"/data", NULL, 1, 0 };
	struct kv env[] = { { (char *)"NODE_TYPE", (char *)"validator" } };

	memset(&c, 0, sizeof(c));
	c.image = (char *)image;
	c.ports = &port;
	c.n_ports = 1;
	c.volumes = &vol;
	c.n_volumes = 1;
	c.env = env;
	c.n_env = 1;
	c.memory_limit = 64 << 20;
	desired_tmpl_from_spec(t, &c);
}

static void round_trip(void **state)
{
	struct statefile s, r;
	struct desired_tmpl t;
	struct error *err = NULL;
	char path[128];
	const struct desired_tmpl *back;
	json_t *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	tmpl_of(&t, "auriga-demo-node:v1");
	statefile_set_healthy(&s, "validators", REV_A, &t, "c1", 1000);
	statefile_set_failed(&s, "validators", REV_B, "c2", "readiness never passed", 2000);
	statefile_set_applied(&s, "slim", REV_B, &t);
	assert_true(s.dirty);
	assert_int_equal(statefile_save(&s, &err), 0);
	assert_false(s.dirty);

	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_int_equal(r.n, 2);
	back = statefile_tmpl(&r, "validators", REV_A);
	assert_non_null(back);
	a = desired_tmpl_to_json(&t);
	b = desired_tmpl_to_json(back);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	assert_non_null(statefile_tmpl(&r, "slim", REV_B));
	assert_null(statefile_tmpl(&r, "slim", REV_A));
	assert_true(statefile_is_failed(&r, "validators", REV_B, "c2"));
	/* A new commit gives the revision another chance; other revisions never were failed. */
	assert_false(statefile_is_failed(&r, "validators", REV_B, "c3"));
	assert_false(statefile_is_failed(&r, "validators", REV_A, "c2"));
	assert_false(statefile_is_failed(&r, "slim", REV_B, "c2"));
	assert_string_equal(statefile_failed_reason(statefile_get(&r, "validators", 0)), "readiness never passed");
	desired_tmpl_release(&t);
	statefile_release(&s);
	statefile_release(&r);
}

static void save_leaves_no_temporary(void **state)
{
	struct statefile s;
	struct error *err = NULL;
	char path[128];
	DIR *d;
	struct dirent *e;
	int n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	statefile_get(&s, "x", 1);
	assert_int_equal(statefile_save(&s, &err), 0);
	statefile_remove(&s, "x");
	assert_int_equal(statefile_save(&s, &err), 0);
	d = opendir(test_dir);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			assert_string_equal(e->d_name, "state.json");
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
	statefile_release(&s);
}

static void missing_is_empty_and_corrupt_is_an_error(void **state)
{
	struct statefile s;
	struct error *err = NULL;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.json", test_dir);
	statefile_init(&s, NULL);
	assert_int_equal(statefile_load(&s, path, &err), 0);
	assert_int_equal(s.n, 0);
	snprintf(path, sizeof(path), "%s/bad.json", test_dir);
	f = fopen(path, "w");
	fputs("{\"version\": 1, \"deployments\": {\"x\": {\"healthy\": {\"revision\": 5}}}}", f);
	fclose(f);
	assert_int_equal(statefile_load(&s, path, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "bad.json"));
	assert_non_null(strstr(error_msg(err), "'x'"));
	error_clear(&err);
	f = fopen(path, "w");
	fputs("{\"version\": 1, ", f);
	fclose(f);
	assert_int_equal(statefile_load(&s, path, &err), ERR_INVALID);
	error_clear(&err);
	assert_int_equal(s.n, 0);
	statefile_release(&s);
}

/* The rollout's last progress survives a restart, so progressDeadlineSeconds does not start over. */
static void progress_survives_a_reload(void **state)
{
	struct statefile s, r;
	struct error *err = NULL;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	assert_int_equal(statefile_progress(&s, "business", REV_A), 0);
	statefile_set_progress(&s, "business", REV_A, 1700000000123);
	assert_true(s.dirty);
	assert_int_equal(statefile_save(&s, &err), 0);
	/* The same value again is no change to write. */
	statefile_set_progress(&s, "business", REV_A, 1700000000123);
	assert_false(s.dirty);

	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_int_equal(statefile_progress(&r, "business", REV_A), 1700000000123);
	/* Another revision's rollout, or another deployment, knows nothing of it. */
	assert_int_equal(statefile_progress(&r, "business", REV_B), 0);
	assert_int_equal(statefile_progress(&r, "slim", REV_A), 0);
	/* A new revision's rollout replaces the old record. */
	statefile_set_progress(&r, "business", REV_B, 1700000005000);
	assert_int_equal(statefile_progress(&r, "business", REV_A), 0);
	assert_int_equal(statefile_progress(&r, "business", REV_B), 1700000005000);
	assert_int_equal(statefile_save(&r, &err), 0);
	statefile_release(&r);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_int_equal(statefile_progress(&r, "business", REV_B), 1700000005000);
	assert_non_null(statefile_get(&r, "business", 0)->rare);
	/* A complete rollout is forgotten, and forgetting makes no entry for a deployment without one. */
	statefile_set_progress(&r, "business", "", 0);
	assert_true(r.dirty);
	assert_int_equal(statefile_progress(&r, "business", REV_B), 0);
	assert_int_equal(statefile_progress(&r, "business", ""), 0);
	/* Nothing rare left: the entry holds no room for it. */
	assert_null(statefile_get(&r, "business", 0)->rare);
	r.dirty = 0;
	statefile_set_progress(&r, "nothing-here", "", 0);
	assert_false(r.dirty);
	assert_null(statefile_get(&r, "nothing-here", 0));
	assert_int_equal(statefile_save(&r, &err), 0);
	statefile_release(&r);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_int_equal(statefile_progress(&r, "business", REV_B), 0);
	statefile_release(&r);
	statefile_release(&s);
}

/* A completed hook is recorded for its revision, survives a reload, and goes when another revision's is made. */
static void hooks_survive_a_reload(void **state)
{
	struct statefile s, r;
	struct error *err = NULL;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	assert_false(statefile_hook_done(&s, "validators", REV_A, "preDeploy/backup"));
	statefile_set_hook_done(&s, "validators", REV_A, "preDeploy/backup");
	statefile_set_hook_done(&s, "validators", REV_A, "preDeploy/migrate");
	assert_int_equal(statefile_save(&s, &err), 0);
	/* Recorded again: no change to write. */
	statefile_set_hook_done(&s, "validators", REV_A, "preDeploy/backup");
	assert_false(s.dirty);

	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_true(statefile_hook_done(&r, "validators", REV_A, "preDeploy/backup"));
	assert_true(statefile_hook_done(&r, "validators", REV_A, "preDeploy/migrate"));
	/* Another revision, hook or deployment knows nothing of it. */
	assert_false(statefile_hook_done(&r, "validators", REV_B, "preDeploy/backup"));
	assert_false(statefile_hook_done(&r, "validators", REV_A, "preDeploy/other"));
	assert_false(statefile_hook_done(&r, "slim", REV_A, "preDeploy/backup"));
	/* The first record of a new revision replaces the old ones. */
	statefile_set_hook_done(&r, "validators", REV_B, "preDeploy/backup");
	assert_false(statefile_hook_done(&r, "validators", REV_A, "preDeploy/migrate"));
	assert_false(statefile_hook_done(&r, "validators", REV_B, "preDeploy/migrate"));
	assert_true(statefile_hook_done(&r, "validators", REV_B, "preDeploy/backup"));
	statefile_release(&r);

	/* A record that is not a list of strings is a corrupt file, named. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"version\": 1, \"deployments\": {\"v\": {\"hooks\": {\"revision\": \"%s\", "
		   "\"done\": [1]}}}}", REV_A);
	fclose(f);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "hooks.done[0] is not a string"));
	error_free(err);
	statefile_release(&r);
	statefile_release(&s);
}

/* A failed hook counts as done, keeps its reason across a reload, and goes with its revision's records. */
static void failed_hooks_survive_a_reload(void **state)
{
	struct statefile s, r;
	struct error *err = NULL;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	statefile_set_hook_done(&s, "validators", REV_A, "postDeploy/smoke");
	statefile_set_hook_failed(&s, "validators", REV_A, "onRollback/undo", "onRollback hook 'undo' failed");
	assert_true(statefile_hook_done(&s, "validators", REV_A, "onRollback/undo"));
	assert_null(statefile_hook_failed(&s, "validators", REV_A, "postDeploy/smoke"));
	assert_int_equal(statefile_save(&s, &err), 0);

	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	assert_true(statefile_hook_done(&r, "validators", REV_A, "postDeploy/smoke"));
	assert_true(statefile_hook_done(&r, "validators", REV_A, "onRollback/undo"));
	assert_non_null(statefile_hook_failed(&r, "validators", REV_A, "onRollback/undo"));
	assert_string_equal(statefile_hook_failed(&r, "validators", REV_A, "onRollback/undo"),
			    "onRollback hook 'undo' failed");
	assert_null(statefile_hook_failed(&r, "validators", REV_B, "onRollback/undo"));
	/* Another revision's first record takes the failures with the rest. */
	statefile_set_hook_done(&r, "validators", REV_B, "preDeploy/backup");
	assert_null(statefile_hook_failed(&r, "validators", REV_B, "onRollback/undo"));
	assert_false(statefile_hook_done(&r, "validators", REV_B, "onRollback/undo"));
	statefile_release(&r);

	/* A failure that is not a string is a corrupt file, named. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"version\": 1, \"deployments\": {\"v\": {\"hooks\": {\"revision\": \"%s\", "
		   "\"done\": [], \"failed\": {\"onRollback/undo\": 3}}}}}", REV_A);
	fclose(f);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "hooks.failed.onRollback/undo is not a string"));
	error_free(err);
	statefile_release(&r);
	statefile_release(&s);
}

/*
 * The healthy template is most often the applied one: the state keeps one
 * copy of it, whether set in a pass or read back from the file, and a new
 * healthy revision keeps the old one as the previous, still sharing it with
 * what was applied. Each slot reads as what was set (under ASan, nothing
 * leaks and nothing is freed twice when the shared copy goes).
 */
static void equal_templates_are_kept_once(void **state)
{
	struct statefile s, r;
	struct desired_tmpl v1, v1_again, v2;
	struct error *err = NULL;
	const struct statefile_entry *e;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	tmpl_of(&v1, "auriga-demo-node:v1");
	tmpl_of(&v1_again, "auriga-demo-node:v1");
	tmpl_of(&v2, "auriga-demo-node:v2");
	statefile_set_applied(&s, "api", REV_A, &v1);
	statefile_set_healthy(&s, "api", REV_A, &v1_again, "c1", 1000);
	e = statefile_get(&s, "api", 0);
	assert_ptr_equal(e->healthy_tmpl, e->applied_tmpl);
	assert_ptr_not_equal(e->healthy_tmpl, &v1);
	/* Many more entries move the array: the templates stay where they are. */
	for (int i = 0; i < 200; i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%03d", i);
		statefile_set_applied(&s, name, REV_B, &v2);
	}
	e = statefile_get(&s, "api", 0);
	assert_string_equal(statefile_tmpl(&s, "api", REV_A)->image, "auriga-demo-node:v1");
	/* v2 healthy: v1 becomes the previous, still the applied one's copy. */
	statefile_set_healthy(&s, "api", REV_B, &v2, "c2", 2000);
	assert_ptr_equal(e->previous_tmpl, e->applied_tmpl);
	assert_string_equal(e->healthy_tmpl->image, "auriga-demo-node:v2");
	assert_string_equal(e->previous_tmpl->image, "auriga-demo-node:v1");
	/* v2 applied too: it shares the healthy one's; v1 stays as the previous alone. */
	statefile_set_applied(&s, "api", REV_B, &v2);
	assert_ptr_equal(e->healthy_tmpl, e->applied_tmpl);
	assert_string_equal(e->previous_tmpl->image, "auriga-demo-node:v1");
	assert_int_equal(statefile_save(&s, &err), 0);

	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	e = statefile_get(&r, "api", 0);
	assert_ptr_equal(e->healthy_tmpl, e->applied_tmpl);
	assert_ptr_not_equal(e->previous_tmpl, e->healthy_tmpl);
	assert_string_equal(statefile_tmpl(&r, "api", REV_B)->image, "auriga-demo-node:v2");
	assert_string_equal(statefile_tmpl(&r, "api", REV_A)->image, "auriga-demo-node:v1");
	e = statefile_get(&r, "d000", 0);
	assert_true(e->has_applied && !e->has_healthy && e->healthy_tmpl == NULL);
	statefile_remove(&r, "api");
	assert_null(statefile_tmpl(&r, "api", REV_B));
	desired_tmpl_release(&v1);
	desired_tmpl_release(&v1_again);
	desired_tmpl_release(&v2);
	statefile_release(&s);
	statefile_release(&r);
}

/* The text as jansson writes the whole document (indented by two, keys sorted), read back the same. */
static void assert_canonical(const struct statefile *s)
{
	char *text = statefile_dump(s), *again;
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	again = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_string_equal(text, again);
	free(again);
	free(text);
	json_decref(j);
}

/*
 * The state file is written one deployment at a time, never as one JSON
 * tree: the text is the one the whole tree gave (empty, without and with an
 * instance, with every kind of record, names that sort with '-' and digits).
 */
static void written_one_deployment_at_a_time(void **state)
{
	struct statefile s, r;
	struct desired_tmpl t;
	struct error *err = NULL;
	char path[128];
	char *a, *b;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.json", test_dir);
	statefile_init(&s, path);
	assert_canonical(&s);
	tmpl_of(&t, "auriga-demo-node:v1");
	statefile_set_healthy(&s, "validators", REV_A, &t, "c1", 1000);
	statefile_set_healthy(&s, "validators", REV_B, &t, "c2", 1500);
	statefile_set_failed(&s, "validators", REV_B, "c2", "readiness \"never\" passed\n", 2000);
	statefile_set_aborted(&s, "validators");
	statefile_set_applied(&s, "slim-2", REV_B, &t);
	statefile_set_applied(&s, "slim-10", REV_A, &t);
	statefile_set_paused(&s, "slim-10", 1);
	statefile_set_progress(&s, "slim", REV_A, 3000);
	statefile_set_hook_done(&s, "api", REV_A, "preDeploy/migrate");
	statefile_set_hook_failed(&s, "api", REV_A, "postDeploy/smoke", "exit 1");
	statefile_get(&s, "bare", 1);
	assert_canonical(&s);
	s.instance = xstrdup("prod");
	assert_canonical(&s);
	assert_int_equal(statefile_save(&s, &err), 0);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	a = statefile_dump(&s);
	b = statefile_dump(&r);
	assert_string_equal(a, b);
	free(a);
	free(b);
	desired_tmpl_release(&t);
	statefile_release(&s);
	statefile_release(&r);
}

/* The bytes of path, whole (the test's files are small). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	return data;
}

/*
 * A large state is written to its file as it is made, piece by piece (about
 * 64 kB each): the file holds exactly the text statefile_dump makes whole,
 * across the pieces' seams, reads back the same, and no temporary is left.
 */
static void a_large_state_is_written_in_pieces(void **state)
{
	struct statefile s, r;
	struct desired_tmpl t;
	struct error *err = NULL;
	char path[128], name[32];
	char *want, *got, *again;
	DIR *d;
	struct dirent *e;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/large.json", test_dir);
	statefile_init(&s, path);
	s.instance = xstrdup("prod");
	tmpl_of(&t, "auriga-demo-node:v1");
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "d%04d", i);
		statefile_set_healthy(&s, name, i % 2 ? REV_A : REV_B, &t, "c1", 1000 + i);
		if (i % 7 == 0)
			statefile_set_failed(&s, name, REV_A, "c2", "readiness never passed", 2000 + i);
	}
	assert_canonical(&s);
	want = statefile_dump(&s);
	assert_non_null(want);
	assert_true(strlen(want) > 4 * (64 << 10));
	assert_int_equal(statefile_save(&s, &err), 0);
	got = slurp(path);
	assert_string_equal(got, want);
	statefile_init(&r, NULL);
	assert_int_equal(statefile_load(&r, path, &err), 0);
	again = statefile_dump(&r);
	assert_string_equal(again, want);
	d = opendir(test_dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		assert_null(strstr(e->d_name, ".tmp."));
	closedir(d);
	FREE_ALL(want, got, again);
	desired_tmpl_release(&t);
	statefile_release(&s);
	statefile_release(&r);
}

/*
 * A rollback applies a template the state itself holds (the healthy or the
 * previous one, passed with the entry's own revision field): it is shared,
 * not copied, and the applied one it replaces goes without taking it along
 * (under ASan: no use after free, no leak).
 */
static void applying_a_kept_template_shares_it(void **state)
{
	struct statefile s;
	struct desired_tmpl v1, v2, v3;
	struct statefile_entry *e;

	(void)state;
	statefile_init(&s, NULL);
	tmpl_of(&v1, "auriga-demo-node:v1");
	tmpl_of(&v2, "auriga-demo-node:v2");
	tmpl_of(&v3, "auriga-demo-node:v3");
	statefile_set_healthy(&s, "api", REV_A, &v1, "c1", 1000);
	statefile_set_healthy(&s, "api", REV_B, &v2, "c2", 2000);
	statefile_set_applied(&s, "api", "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", &v3);
	e = statefile_get(&s, "api", 0);
	/* Back to the healthy revision. */
	statefile_set_applied(&s, "api", e->healthy_rev, e->healthy_tmpl);
	assert_ptr_equal(e->applied_tmpl, e->healthy_tmpl);
	assert_string_equal(e->applied_rev, REV_B);
	/* Back to the one before it. */
	statefile_set_applied(&s, "api", e->previous_rev, e->previous_tmpl);
	assert_ptr_equal(e->applied_tmpl, e->previous_tmpl);
	assert_string_equal(e->applied_rev, REV_A);
	assert_string_equal(e->healthy_tmpl->image, "auriga-demo-node:v2");
	assert_string_equal(statefile_tmpl(&s, "api", REV_A)->image, "auriga-demo-node:v1");
	desired_tmpl_release(&v1);
	desired_tmpl_release(&v2);
	desired_tmpl_release(&v3);
	statefile_release(&s);
}

TEST_MAIN(
	TEST_IN_DIR(applying_a_kept_template_shares_it),
	TEST_IN_DIR(written_one_deployment_at_a_time),
	TEST_IN_DIR(a_large_state_is_written_in_pieces),
	TEST_IN_DIR(equal_templates_are_kept_once),
	TEST_IN_DIR(hooks_survive_a_reload),
	TEST_IN_DIR(failed_hooks_survive_a_reload),
	TEST_IN_DIR(round_trip),
	TEST_IN_DIR(save_leaves_no_temporary),
	TEST_IN_DIR(missing_is_empty_and_corrupt_is_an_error),
	TEST_IN_DIR(progress_survives_a_reload))
