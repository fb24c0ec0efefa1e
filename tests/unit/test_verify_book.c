/* Unit tests for the verdicts of a release's analyses by what they verified, and the verifications a status says from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_verify.h"
#include "status/status.h"
#include "testmain.h"
#include "util.h"

/* The specs, the load test failing at p95 >= TH. */
#define SPECS_T(TH)                                                                                            \
	"apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: loadtest}\n"                                    \
	"spec: {template: {image: node:1, command: [load]}}\n"                                                 \
	"---\napiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: integration}\n"                            \
	"spec: {template: {image: node:1, command: [check]}}\n"                                                 \
	"---\napiVersion: auriga.io/v1\nkind: AnalysisTemplate\nmetadata: {name: load}\n"                      \
	"spec:\n  metrics:\n    - name: p95\n      failureCondition: {operator: \">=\", value: " TH "}\n"       \
	"      provider: {job: {name: loadtest, figure: p95_ms}}\n"                                            \
	"    - name: integration\n      failureCondition: {operator: \"!=\", value: 0}\n"                       \
	"      provider: {job: {name: integration}}\n"                                                         \
	"---\napiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\n"                              \
	"spec:\n  replicas: 1\n  template: {image: node:1, ports: [{name: http, containerPort: 9003, hostPort: 18080}]}\n"       \
	"  strategy: {type: BlueGreen, blueGreen: {activeService: web, prePromotionAnalysis: {templates: "     \
	"[{templateName: load}, {templateName: load}]}}}\n"                                                    \
	"---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: web}\nspec: {deployment: web, port: 8080}\n"
#define SPECS SPECS_T("500")

#define REV_A "aaaa"
#define REV_B "bbbb"

/* A decided report of two metrics. */
static void report(struct verify_book *b, const char *rev, enum analysis_result p95, double value,
		   enum analysis_result integration)
{
	struct analysis_metric_report m[2];
	struct analysis_report r;

	memset(m, 0, sizeof(m));
	m[0].name = "p95";
	m[0].result = p95;
	m[0].have_value = 1;
	m[0].last_value = value;
	m[1].name = "integration";
	m[1].result = integration;
	memset(&r, 0, sizeof(r));
	r.metrics = m;
	r.n_metrics = 2;
	verify_book_record(b, rev, &r);
}

static void load_text(struct spec_set *set, struct desired_deployment *dd, const char *rev, const char *file,
		      const char *text)
{
	struct spec_diags d;

	spec_diags_init(&d);
	spec_set_init(set, NULL, NULL);
	spec_set_load_buffer(set, file, text, strlen(text), &d);
	spec_set_finish(set, &d);
	if (d.n)
		fail_msg("%s", d.v[0].msg);
	spec_diags_release(&d);
	memset(dd, 0, sizeof(*dd));
	dd->name = (char *)"web";
	snprintf(dd->revision, sizeof(dd->revision), "%s", rev);
	dd->spec = spec_set_deployment(set, "web");
}

static void load(struct spec_set *set, struct desired_deployment *dd, const char *rev)
{
	load_text(set, dd, rev, "t.yaml", SPECS);
}

/* Each declared metric once, with the verdict of dd's key; Pending while it runs, Skipped (and why) once complete without one. */
static void status_from_book(void **state)
{
	struct verify_book b = { 0 };
	struct spec_set set;
	struct desired_deployment dd;
	struct fleet_status fs;
	struct status_deployment *sd;
	char key[VERIFY_KEY_LEN];

	(void)state;
	load(&set, &dd, REV_B);
	desired_verify_key(&set, &dd, key);
	report(&b, REV_A, ANALYSIS_SUCCESSFUL, 20, ANALYSIS_SUCCESSFUL);
	status_init(&fs);
	sd = status_add_deployment(&fs, "web");
	verify_book_status(&b, &set, &dd, key, NULL, sd);
	assert_int_equal(sd->nverifications, 2);
	assert_string_equal(sd->verifications[0].metric, "p95");
	assert_string_equal(sd->verifications[0].job, "loadtest");
	assert_string_equal(sd->verifications[0].figure, "p95_ms");
	assert_string_equal(sd->verifications[0].fail_if, ">= 500");
	assert_string_equal(sd->verifications[0].verdict, "Pending");
	assert_null(sd->verifications[0].value);
	assert_null(sd->verifications[1].figure);
	assert_string_equal(sd->verifications[1].fail_if, "!= 0");
	status_release(&fs);
	status_init(&fs);
	sd = status_add_deployment(&fs, "web");
	verify_book_status(&b, &set, &dd, key, "promoted in full", sd);
	assert_string_equal(sd->verifications[0].verdict, "Skipped");
	assert_string_equal(sd->verifications[0].reason, "promoted in full");
	status_release(&fs);
	report(&b, key, ANALYSIS_FAILED, 812, ANALYSIS_SUCCESSFUL);
	status_init(&fs);
	sd = status_add_deployment(&fs, "web");
	verify_book_status(&b, &set, &dd, key, "promoted in full", sd);
	assert_string_equal(sd->verifications[0].verdict, "Failed");
	assert_string_equal(sd->verifications[0].value, "812");
	assert_null(sd->verifications[0].reason);
	assert_string_equal(sd->verifications[1].verdict, "Passed");
	/* A Job judged by its exit code: its verdict alone. */
	assert_null(sd->verifications[1].value);
	status_release(&fs);
	verify_book_release(&b);
	spec_set_release(&set);
}

/* A later run of the same revision replaces the verdicts; only the latest revisions are kept; JSON round trip. */
static void book_bounded_and_saved(void **state)
{
	struct verify_book b = { 0 }, back = { 0 };
	char rev[8];
	json_t *j;
	int i;

	(void)state;
	report(&b, REV_A, ANALYSIS_FAILED, 900, ANALYSIS_SUCCESSFUL);
	report(&b, REV_A, ANALYSIS_SUCCESSFUL, 30, ANALYSIS_SUCCESSFUL);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.v[1].result, ANALYSIS_SUCCESSFUL);
	for (i = 0; i < VERIFY_BOOK_REVS + 2; i++) {
		snprintf(rev, sizeof(rev), "r%d", i);
		report(&b, rev, ANALYSIS_SUCCESSFUL, i, ANALYSIS_INCONCLUSIVE);
	}
	assert_int_equal(b.n, 2 * VERIFY_BOOK_REVS);
	assert_string_equal(b.v[0].rev, "r2");
	j = verify_book_to_json(&b);
	verify_book_from_json(&back, j);
	json_decref(j);
	assert_int_equal(back.n, b.n);
	for (i = 0; i < (int)b.n; i++) {
		assert_string_equal(back.v[i].rev, b.v[i].rev);
		assert_string_equal(back.v[i].metric, b.v[i].metric);
		assert_int_equal(back.v[i].result, b.v[i].result);
		assert_int_equal(back.v[i].have_value, b.v[i].have_value);
	}
	/* What is not a verdict is left out. */
	j = json_loads("[{\"rev\": \"x\", \"metric\": \"m\", \"result\": \"Maybe\"}, {\"rev\": 1}, 7]", 0, NULL);
	verify_book_from_json(&back, j);
	json_decref(j);
	assert_int_equal(back.n, 0);
	verify_book_release(&back);
	verify_book_release(&b);
}

/*
 * The key is the revision and what the templates verify: a changed threshold
 * is another key of the same revision (verified again), a template moved to
 * another file is not.
 */
static void key_follows_templates(void **state)
{
	struct verify_book b = { 0 };
	struct spec_set set, tighter, moved;
	struct desired_deployment dd, dd_t, dd_m;
	char key[VERIFY_KEY_LEN], key_t[VERIFY_KEY_LEN], key_m[VERIFY_KEY_LEN], key_job[VERIFY_KEY_LEN];
	char *job_changed;

	(void)state;
	load(&set, &dd, REV_B);
	load_text(&tighter, &dd_t, REV_B, "t.yaml", SPECS_T("200"));
	load_text(&moved, &dd_m, REV_B, "elsewhere/specs.yaml", "# moved\n\n" SPECS);
	desired_verify_key(&set, &dd, key);
	desired_verify_key(&tighter, &dd_t, key_t);
	desired_verify_key(&moved, &dd_m, key_m);
	assert_int_equal(strlen(key), strlen(REV_B) + 1 + 64);
	assert_memory_equal(key, REV_B ".", 5);
	assert_string_not_equal(key, key_t);
	assert_string_equal(key, key_m);
	spec_set_release(&moved);
	/* The Job a metric runs is part of it too. */
	job_changed = xstrdup(SPECS);
	memcpy(strstr(job_changed, "[load]"), "[lode]", 6);
	load_text(&moved, &dd_m, REV_B, "t.yaml", job_changed);
	desired_verify_key(&moved, &dd_m, key_job);
	assert_string_not_equal(key, key_job);
	/* Nothing verified this revision: nothing to run again (a first release stays Skipped). */
	assert_false(verify_book_due(&b, key));
	report(&b, REV_A ".x", ANALYSIS_SUCCESSFUL, 20, ANALYSIS_SUCCESSFUL);
	assert_false(verify_book_due(&b, key));
	/* Verified under the old templates: the new ones run again, until they have verdicts of their own. */
	report(&b, key, ANALYSIS_SUCCESSFUL, 20, ANALYSIS_SUCCESSFUL);
	assert_false(verify_book_due(&b, key));
	assert_true(verify_book_due(&b, key_t));
	report(&b, key_t, ANALYSIS_FAILED, 320, ANALYSIS_SUCCESSFUL);
	assert_false(verify_book_due(&b, key_t));
	verify_book_release(&b);
	free(job_changed);
	spec_set_release(&moved);
	spec_set_release(&tighter);
	spec_set_release(&set);
}

/* desired_build makes each deployment's key once, with its revision: the one desired_verify_key gives. */
static void key_made_with_revision(void **state)
{
	struct spec_set set;
	struct desired_deployment dd;
	struct desired d;
	const struct desired_deployment *web;
	char key[VERIFY_KEY_LEN];
	struct error *err = NULL;

	(void)state;
	load(&set, &dd, REV_B);
	desired_init(&d);
	assert_int_equal(desired_build(&d, &set, "t", "", NULL, 0, &err), 0);
	web = desired_find(&d, "web");
	assert_non_null(web);
	desired_verify_key(&set, web, key);
	assert_string_equal(web->verify_key, key);
	assert_memory_equal(web->verify_key, web->revision, strlen(web->revision));
	assert_int_equal(web->verify_key[strlen(web->revision)], '.');
	desired_release(&d);
	spec_set_release(&set);
}

TEST_MAIN(
	cmocka_unit_test(status_from_book),
	cmocka_unit_test(key_follows_templates),
	cmocka_unit_test(key_made_with_revision),
	cmocka_unit_test(book_bounded_and_saved)
)
