/* Unit tests for plan: a table of observed fleets against one desired deployment, and the actions each gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/plan.h"
#include "policy.h"
#include "spec.h"
#include "strv.h"
#include "testmain.h"
#include "util.h"

#define REV_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REV_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define COMMIT "0123456789012345678901234567890123456789"

struct ctr {
	const char *deployment;	/* NULL: "web" */
	int ordinal;
	const char *rev;
	const char *state;
	const char *image;	/* NULL: the image of rev */
};

#define END { NULL, -1, NULL, NULL, NULL }
#define MAXC 8
#define MAXA 8
#define NONE (-1)

struct plan_case {
	const char *name;
	int replicas;
	struct ctr ctrs[MAXC];
	int prune;
	int failed_a;		/* the state says A failed at COMMIT and B was healthy */
	int kinds[MAXA];	/* expected actions of "web" in order, NONE-terminated */
	int ordinals[MAXA];
	int orphans;
	size_t kept;
	int held;
};

static const struct plan_case cases[] = {
	{ "empty host: one create per replica", 3, { END }, 0, 0,
	  { PLAN_CREATE, PLAN_CREATE, PLAN_CREATE, NONE }, { 0, 1, 2 }, 0, 0, 0 },
	{ "all at the target and running: nothing", 3,
	  { { NULL, 0, REV_A, "running", NULL }, { NULL, 1, REV_A, "running", NULL },
	    { NULL, 2, REV_A, "running", NULL }, END }, 0, 0, { NONE }, { 0 }, 0, 0, 0 },
	{ "all at an old revision: replace each", 2,
	  { { NULL, 0, REV_B, "running", NULL }, { NULL, 1, REV_B, "running", NULL }, END }, 0, 0,
	  { PLAN_REPLACE, PLAN_REPLACE, NONE }, { 0, 1 }, 0, 0, 0 },
	{ "a rollout in progress", 3,
	  { { NULL, 0, REV_A, "running", NULL }, { NULL, 0, REV_B, "running", NULL },
	    { NULL, 1, REV_B, "running", NULL }, { NULL, 2, REV_A, "exited", NULL }, END }, 0, 0,
	  { PLAN_REMOVE_SUPERSEDED, PLAN_REPLACE, PLAN_START, NONE }, { 0, 1, 2 }, 0, 0, 0 },
	{ "too many replicas: scale down the highest", 2,
	  { { NULL, 0, REV_A, "running", NULL }, { NULL, 1, REV_A, "running", NULL },
	    { NULL, 2, REV_A, "running", NULL }, { NULL, 3, REV_B, "exited", NULL }, END }, 0, 0,
	  { PLAN_SCALE_DOWN, PLAN_SCALE_DOWN, NONE }, { 2, 3 }, 0, 0, 0 },
	{ "two containers at the target for one ordinal", 1,
	  { { NULL, 0, REV_A, "exited", NULL }, { NULL, 0, REV_A, "running", NULL }, END }, 0, 0,
	  { PLAN_REMOVE_DUPLICATE, NONE }, { 0 }, 0, 0, 0 },
	{ "changed by hand: the image differs from the template", 1,
	  { { NULL, 0, REV_A, "running", "auriga-demo-node:v1" }, END }, 0, 0,
	  { PLAN_REPLACE, NONE }, { 0 }, 0, 0, 0 },
	{ "scale up", 3, { { NULL, 0, REV_A, "running", NULL }, END }, 0, 0,
	  { PLAN_CREATE, PLAN_CREATE, NONE }, { 1, 2 }, 0, 0, 0 },
	{ "a failed revision is held at the last healthy one", 2,
	  { { NULL, 0, REV_A, "running", NULL }, { NULL, 1, REV_B, "running", NULL }, END }, 0, 1,
	  { PLAN_REPLACE, NONE }, { 0 }, 0, 0, 1 },
	{ "a gone deployment is kept without prune", 1,
	  { { NULL, 0, REV_A, "running", NULL }, { "gone", 0, REV_B, "running", NULL },
	    { "gone", 1, REV_B, "running", NULL }, END }, 0, 0, { NONE }, { 0 }, 0, 2, 0 },
	{ "a gone deployment is removed with prune", 1,
	  { { NULL, 0, REV_A, "running", NULL }, { "gone", 0, REV_B, "running", NULL }, END }, 1, 0,
	  { NONE }, { 0 }, 1, 0, 0 },
};

static json_t *list_of(const struct ctr *ctrs)
{
	json_t *a = json_array();
	int i;

	for (i = 0; ctrs[i].rev; i++) {
		const struct ctr *c = &ctrs[i];
		const char *dep = c->deployment ? c->deployment : "web";
		char id[32], name[64], ord[16];
		const char *image = c->image ? c->image
					     : strcmp(c->rev, REV_A) == 0 ? "auriga-demo-node:v2" : "auriga-demo-node:v1";

		snprintf(id, sizeof(id), "id%d", i);
		snprintf(name, sizeof(name), "/%s-%d-%d", dep, c->ordinal, i);
		snprintf(ord, sizeof(ord), "%d", c->ordinal);
		json_array_append_new(a, json_pack("{s:s, s:[s], s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "Id", id,
						   "Names", name, "Image", image, "State", c->state, "Labels",
						   "auriga.io/managed-by", "t", "auriga.io/deployment", dep,
						   "auriga.io/revision", c->rev, "auriga.io/ordinal", ord));
	}
	return a;
}

static void desired_of(struct desired *d, int replicas)
{
	struct spec_container sc;
	struct desired_deployment *dd;

	memset(&sc, 0, sizeof(sc));
	sc.image = (char *)"auriga-demo-node:v2";
	desired_init(d);
	d->instance = xstrdup("t");
	d->commit = xstrdup(COMMIT);
	d->n = 1;
	d->n_phases = 1;
	d->v = xcalloc(1, sizeof(*d->v));
	dd = &d->v[0];
	dd->name = xstrdup("web");
	dd->role = xstrdup("business");
	dd->replicas = replicas;
	dd->strategy = SPEC_STRATEGY_ROLLING;
	snprintf(dd->revision, sizeof(dd->revision), "%s", REV_A);
	desired_tmpl_from_spec(&dd->tmpl, &sc);
}

static void plan_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct plan_case *pc = &cases[ci];
		struct desired d;
		struct observed o;
		struct statefile st;
		struct plan p;
		struct plan_options opt = { .prune = pc->prune };
		struct error *err = NULL;
		json_t *list = list_of(pc->ctrs);
		size_t i, n_expected = 0;

		print_message("case: %s\n", pc->name);
		desired_of(&d, pc->replicas);
		observed_init(&o);
		assert_int_equal(observe_from_json(&o, "t", list, &err), 0);
		statefile_init(&st, NULL);
		if (pc->failed_a) {
			struct desired_tmpl old;
			struct spec_container sc;

			memset(&sc, 0, sizeof(sc));
			sc.image = (char *)"auriga-demo-node:v1";
			desired_tmpl_from_spec(&old, &sc);
			statefile_set_healthy(&st, "web", REV_B, &old, "c0", 1);
			statefile_set_failed(&st, "web", REV_A, COMMIT, "never ready", 2);
			desired_tmpl_release(&old);
		}
		plan_init(&p);
		plan_build(&p, &d, &o, &st, &opt);
		assert_int_equal(p.n_deps, 1);
		while (pc->kinds[n_expected] != NONE)
			n_expected++;
		assert_int_equal(p.deps[0].n_actions, n_expected);
		for (i = 0; i < n_expected; i++) {
			assert_int_equal(p.deps[0].actions[i].kind, pc->kinds[i]);
			assert_int_equal(p.deps[0].actions[i].ordinal, pc->ordinals[i]);
			assert_non_null(p.deps[0].actions[i].reason);
		}
		assert_int_equal(p.n_orphans, pc->orphans);
		assert_int_equal(p.n_kept, pc->kept);
		assert_int_equal(p.deps[0].held, pc->held);
		assert_int_equal(p.n_changes, n_expected + (size_t)pc->orphans);
		if (pc->held)
			assert_string_equal(p.deps[0].to_rev, REV_B);
		plan_release(&p);
		statefile_release(&st);
		observed_release(&o);
		desired_release(&d);
		json_decref(list);
	}
}

static void replace_reasons_and_diff(void **state)
{
	struct ctr ctrs[] = { { NULL, 0, REV_B, "running", NULL }, { NULL, 1, REV_A, "running", "other:1" }, END };
	struct desired d;
	struct observed o;
	struct plan p;
	struct error *err = NULL;
	json_t *list = list_of(ctrs), *j;
	struct buf text;

	(void)state;
	desired_of(&d, 2);
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t", list, &err), 0);
	plan_init(&p);
	plan_build(&p, &d, &o, NULL, NULL);
	assert_int_equal(p.deps[0].n_actions, 2);
	assert_string_equal(p.deps[0].actions[0].reason, "revision bbbbbbbbbbbb -> aaaaaaaaaaaa");
	assert_non_null(strstr(p.deps[0].actions[1].reason, "changed by hand"));
	/* Without a state file, the diff comes from the image Docker reports. */
	assert_int_equal(p.deps[0].n_diff, 1);
	assert_string_equal(p.deps[0].diff[0], "image: auriga-demo-node:v1 -> auriga-demo-node:v2");

	buf_init(&text, 1 << 20);
	plan_render_text(&p, &d, &text, 0);
	assert_non_null(strstr(text.data, "phase 1 (business)"));
	assert_non_null(strstr(text.data, "-/+ replace web-0-0"));
	assert_non_null(strstr(text.data, "Plan: 0 to create, 2 to replace, 0 to start, 0 to remove."));
	buf_release(&text);

	j = plan_to_json(&p, &d);
	assert_int_equal(json_integer_value(json_object_get(j, "changes")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_array_get(json_object_get(
									   json_array_get(json_object_get(j, "phases"), 0),
									   "deployments"), 0), "actions"), 0),
				    "action")),
			    "replace");
	json_decref(j);
	plan_release(&p);
	observed_release(&o);
	desired_release(&d);
	json_decref(list);
}

static void no_changes_text(void **state)
{
	struct ctr ctrs[] = { { NULL, 0, REV_A, "running", NULL }, END };
	struct desired d;
	struct observed o;
	struct plan p;
	struct error *err = NULL;
	json_t *list = list_of(ctrs);
	struct buf text;

	(void)state;
	desired_of(&d, 1);
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t", list, &err), 0);
	plan_init(&p);
	plan_build(&p, &d, &o, NULL, NULL);
	assert_int_equal(p.n_changes, 0);
	assert_int_equal(p.deps[0].up_to_date, 1);
	buf_init(&text, 1 << 20);
	plan_render_text(&p, &d, &text, 0);
	assert_non_null(strstr(text.data, "= web: up to date, 1/1"));
	assert_non_null(strstr(text.data, "No changes."));
	buf_release(&text);
	plan_release(&p);
	observed_release(&o);
	desired_release(&d);
	json_decref(list);
}

static void template_diff_lists_changed_fields(void **state)
{
	struct spec_container a, b;
	struct kv env_a[] = { { (char *)"A", (char *)"old-pass" }, { (char *)"GONE", (char *)"x" } };
	struct kv env_b[] = { { (char *)"A", (char *)"new-pass" }, { (char *)"NEW", (char *)"s3cret" },
				   { (char *)"SAME", (char *)"" } };
	struct desired_tmpl ta, tb;
	char **lines = NULL;
	size_t n = 0, i;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.image = b.image = (char *)"img:1";
	a.env = env_a;
	a.n_env = 2;
	b.env = env_b;
	b.n_env = 2;
	b.memory_limit = 1 << 20;
	desired_tmpl_from_spec(&ta, &a);
	desired_tmpl_from_spec(&tb, &b);
	desired_tmpl_diff(&ta, &tb, &lines, &n);
	/* Env variables are named, never shown with their values: these lines are printed and logged. */
	assert_int_equal(n, 4);
	assert_string_equal(lines[0], "env: A changed");
	assert_string_equal(lines[1], "env: NEW added");
	assert_string_equal(lines[2], "env: GONE removed");
	assert_string_equal(lines[3], "memoryBytes: 0 -> 1048576");
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	desired_tmpl_release(&tb);

	/* A template without env beside one with: every variable is removed, by name. */
	b.n_env = 0;
	desired_tmpl_from_spec(&tb, &b);
	lines = NULL;
	n = 0;
	desired_tmpl_diff(&ta, &tb, &lines, &n);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "env: A removed");
	assert_string_equal(lines[1], "env: GONE removed");
	assert_string_equal(lines[2], "memoryBytes: 0 -> 1048576");
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	desired_tmpl_release(&ta);
	desired_tmpl_release(&tb);
}

/* A plan of one deployment "web" (A failed at COMMIT, B healthy and privileged) under opt. */
static void plan_held_privileged(struct plan *p, struct desired *d, const struct plan_options *opt)
{
	struct ctr ctrs[] = { { NULL, 0, REV_A, "running", NULL }, END };
	struct observed o;
	struct statefile st;
	struct desired_tmpl old;
	struct spec_container sc;
	struct error *err = NULL;
	json_t *list = list_of(ctrs);

	desired_of(d, 1);
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t", list, &err), 0);
	statefile_init(&st, NULL);
	memset(&sc, 0, sizeof(sc));
	sc.image = (char *)"auriga-demo-node:v1";
	sc.privileged = 1;
	desired_tmpl_from_spec(&old, &sc);
	statefile_set_healthy(&st, "web", REV_B, &old, "c0", 1);
	statefile_set_failed(&st, "web", REV_A, COMMIT, "never ready", 2);
	desired_tmpl_release(&old);
	plan_init(p);
	plan_build(p, d, &o, &st, opt);
	statefile_release(&st);
	observed_release(&o);
	json_decref(list);
}

/* A rollback template the policy refuses now: the plan says so as apply does, and lists no action. */
static void held_template_refused_by_policy(void **state)
{
	struct plan_options opt;
	struct desired d;
	struct plan p;
	struct buf text;
	struct spec_policy pol;
	struct spec_diags diags;
	struct spec_set set;
	json_t *j;

	(void)state;
	memset(&opt, 0, sizeof(opt));
	opt.check_policy = 1;
	plan_held_privileged(&p, &d, &opt);
	assert_int_equal(p.deps[0].held, 1);
	assert_int_equal(p.deps[0].n_actions, 0);
	assert_int_equal(p.n_changes, 0);
	assert_int_equal(p.n_refused, 1);
	assert_string_equal(p.deps[0].refused, "cannot roll back: revision bbbbbbbbbbbb: spec.template.privileged: "
					       "refused by the operator's policy (privileged: false in the built-in "
					       "policy)");
	buf_init(&text, 1 << 20);
	plan_render_text(&p, &d, &text, 0);
	assert_non_null(strstr(text.data, "  ! web (held): Rolling, 1 replicas, revision aaaaaaaaaaaa -> bbbbbbbbbbbb "
					  "refused\n      ! cannot roll back: revision bbbbbbbbbbbb: "));
	assert_non_null(strstr(text.data, "Refused: 1 deployment cannot be rolled back under the operator's policy"));
	buf_release(&text);
	j = plan_to_json(&p, &d);
	assert_int_equal(json_integer_value(json_object_get(j, "refused")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_array_get(json_object_get(j, "phases"), 0),
								   "deployments"), 0), "refused")),
			    p.deps[0].refused);
	json_decref(j);
	plan_release(&p);
	desired_release(&d);

	/* Under a policy that allows privileged containers the rollback is planned: the refusal was the policy's. */
	spec_policy_init(&pol);
	spec_diags_init(&diags);
	assert_int_equal(spec_policy_parse(&pol, "/etc/auriga/policy.yaml", "privileged: true\n", 17, &diags), 0);
	spec_set_init(&set, NULL, NULL);
	set.policy = &pol;
	assert_int_equal(spec_set_finish(&set, &diags), 0);
	opt.set = &set;
	plan_held_privileged(&p, &d, &opt);
	assert_int_equal(p.n_refused, 0);
	assert_null(p.deps[0].refused);
	assert_int_equal(p.deps[0].n_actions, 1);
	assert_int_equal(p.deps[0].actions[0].kind, PLAN_REPLACE);
	plan_release(&p);
	desired_release(&d);
	spec_set_release(&set);
	spec_diags_release(&diags);
	spec_policy_release(&pol);
}

/*
 * template.schemaVersion: carried into the desired template and the state
 * file's copy of it, part of the revision only when set (templates without
 * one keep theirs), and shown in a template's diff.
 */
static void schema_version_in_template(void **state)
{
	struct spec_container a, b;
	struct desired_tmpl ta, tb, back;
	struct error *err = NULL;
	char *ja, *jb, **lines = NULL;
	json_t *j;
	size_t n = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.image = b.image = (char *)"img:1";
	b.schema_version = (char *)"2";
	ja = spec_container_canonical_json(&a);
	jb = spec_container_canonical_json(&b);
	assert_null(strstr(ja, "schemaVersion"));
	assert_non_null(strstr(jb, "\"schemaVersion\":\"2\""));
	desired_tmpl_from_spec(&ta, &a);
	desired_tmpl_from_spec(&tb, &b);
	assert_null(ta.schema_version);
	assert_string_equal(tb.schema_version, "2");
	j = desired_tmpl_to_json(&tb);
	memset(&back, 0, sizeof(back));
	assert_int_equal(desired_tmpl_from_json(&back, j, &err), 0);
	assert_string_equal(back.schema_version, "2");
	desired_tmpl_diff(&ta, &tb, &lines, &n);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "schemaVersion: (none) -> 2");
	free(lines[0]);
	free(lines);
	json_decref(j);
	desired_tmpl_release(&back);
	desired_tmpl_release(&ta);
	desired_tmpl_release(&tb);
	FREE_ALL(ja, jb);
}

/* The set of two BackupPolicies naming web in spec.before, and web itself. */
static const char before_specs[] =
	"apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
	"    image: auriga-demo-node:v2\n"
	"---\napiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: first}\nspec:\n  job:\n"
	"    image: auriga-postgres:15\n    command: [pg_dump]\n  target: {volume: a}\n  before: [web]\n"
	"---\napiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: second}\nspec:\n  job:\n"
	"    image: auriga-postgres:15\n    command: [pg_dump]\n  target: {volume: b}\n  before: [web]\n";

/*
 * Which backup stands before web's rollout to REV_A: the first not taken for
 * that revision, none once both were, none when the rollout has begun, when
 * its turn has not come, or when it returns to its healthy revision.
 */
static void backups_before_rollout(void **state)
{
	struct spec_set set;
	struct spec_diags diags;
	struct statefile st;
	struct desired d;
	char **names = NULL;
	size_t n = 0;

	(void)state;
	spec_diags_init(&diags);
	spec_set_init(&set, NULL, NULL);
	spec_set_load_buffer(&set, "b.yaml", before_specs, strlen(before_specs), &diags);
	assert_int_equal(spec_set_finish(&set, &diags), 0);
	desired_of(&d, 1);
	statefile_init(&st, NULL);
#define NEXT(turn, held) plan_backups_before(&set, &d.v[0], &st, NULL, REV_A, turn, held, &names, &n)
	assert_int_equal(NEXT(1, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "first");
	assert_string_equal(names[1], "second");
	strv_free(names);
	assert_int_equal(NEXT(0, 0), 2);
	strv_free(names);
	assert_int_equal(NEXT(1, 1), 2);
	strv_free(names);
	statefile_set_hook_done(&st, "web", REV_A, PLAN_BACKUP_STAGE "/first");
	assert_int_equal(NEXT(1, 0), 1);
	strv_free(names);
	/* Taken for another revision: not for this one. */
	statefile_set_hook_done(&st, "web", REV_B, PLAN_BACKUP_STAGE "/second");
	assert_int_equal(NEXT(1, 0), 0);
	strv_free(names);
	statefile_set_hook_done(&st, "web", REV_A, PLAN_BACKUP_STAGE "/first");
	statefile_set_hook_done(&st, "web", REV_A, PLAN_BACKUP_STAGE "/second");
	assert_int_equal(NEXT(1, 0), 2);
	strv_free(names);
	/* A revision already applied has begun: nothing stands before it. */
	statefile_release(&st);
	statefile_init(&st, NULL);
	statefile_set_applied(&st, "web", REV_A, &d.v[0].tmpl);
	assert_int_equal(NEXT(1, 0), 2);
	strv_free(names);
#undef NEXT
	statefile_release(&st);
	desired_release(&d);
	spec_set_release(&set);
	spec_diags_release(&diags);
}

TEST_MAIN(
	cmocka_unit_test(schema_version_in_template),
	cmocka_unit_test(backups_before_rollout),
	cmocka_unit_test(plan_table),
	cmocka_unit_test(replace_reasons_and_diff),
	cmocka_unit_test(no_changes_text),
	cmocka_unit_test(template_diff_lists_changed_fields),
	cmocka_unit_test(held_template_refused_by_policy))
