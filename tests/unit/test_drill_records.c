/* drills.json: reports appended and read back in order, bounded, a file that is not ours refused by name, and when a drill is due. */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status/drill_records.h"
#include "status/records_lock.h"
#include "testfs.h"
#include "utc.h"
#include "util.h"

static int64_t at_s(int64_t y, int m, int d, int h, int min)
{
	return utc_days_from(y, m, d) * 86400 + (int64_t)h * 3600 + (int64_t)min * 60;
}

static json_t *report(const char *policy, int64_t ms)
{
	return json_pack("{s:s, s:I, s:s}", "policy", policy, "timeMs", (json_int_t)ms, "status", "passed");
}

static void appended(void **state)
{
	struct error *err = NULL;
	json_t *list = NULL, *r;
	char *path = xasprintf("%s/%s", test_dir, DRILL_RECORDS_FILE), *why = NULL;
	int i;

	(void)state;
	/* A missing file is no drill yet. */
	assert_int_equal(drill_records_load(&list, path, &err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	for (i = 0; i < 3; i++) {
		r = report(i == 1 ? "other" : "db", 1000 * (i + 1));
		assert_int_equal(drill_records_append(path, r, &err), 0);
		json_decref(r);
	}
	list = drill_records_json_at(test_dir, &why);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "policy")), "other");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 2), "timeMs")), 3000);
	json_decref(list);
	free(path);
}

static void bounded(void **state)
{
	struct error *err = NULL;
	json_t *list = json_array(), *doc, *r;
	char *path = xasprintf("%s/%s", test_dir, DRILL_RECORDS_FILE), *text;
	int i;

	(void)state;
	/* A file holding as many reports as it keeps: one more appended, the oldest goes. */
	for (i = 0; i < DRILL_RECORDS_KEEP; i++)
		json_array_append_new(list, report("db", i));
	doc = json_pack("{s:o}", "drills", list);
	text = json_dumps(doc, 0);
	assert_int_equal(test_write(test_dir, DRILL_RECORDS_FILE, text), 0);
	r = report("db", DRILL_RECORDS_KEEP);
	assert_int_equal(drill_records_append(path, r, &err), 0);
	json_decref(r);
	json_decref(doc);
	assert_int_equal(drill_records_load(&list, path, &err), 0);
	assert_int_equal(json_array_size(list), DRILL_RECORDS_KEEP);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "timeMs")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, DRILL_RECORDS_KEEP - 1), "timeMs")),
			 DRILL_RECORDS_KEEP);
	json_decref(list);
	free(text);
	free(path);
}

static void not_ours(void **state)
{
	struct error *err = NULL;
	json_t *list = NULL;
	char *path = xasprintf("%s/%s", test_dir, DRILL_RECORDS_FILE), *why = NULL;

	(void)state;
	assert_int_equal(test_write(test_dir, DRILL_RECORDS_FILE, "{\"backups\": []}\n"), 0);
	assert_true(drill_records_load(&list, path, &err) < 0);
	assert_non_null(strstr(error_msg(err), "not a list of drills"));
	assert_non_null(strstr(error_msg(err), path));
	assert_null(list);
	error_free(err);
	assert_null(drill_records_json_at(test_dir, &why));
	assert_non_null(why);
	free(why);
	free(path);
}

static void due(void **state)
{
	struct cron c;
	char msg[128];
	int64_t next;
	json_t *list = json_array();

	(void)state;
	/* 04:00 UTC on the first seven days of a month or a Sunday (Vixie cron: either day field matches). */
	assert_int_equal(cron_parse(&c, "0 4 1-7 * 0", msg, sizeof(msg)), 0);
	assert_true(drill_records_due(list, "db", &c, at_s(2026, 3, 10, 12, 0), &next));
	json_array_append_new(list, report("db", at_s(2026, 3, 1, 4, 0) * 1000));
	json_array_append_new(list, report("other", at_s(2026, 3, 9, 4, 0) * 1000));
	/* After a drill on March 1st, the next time named is March 2nd at 04:00: not come at 03:00. */
	assert_false(drill_records_due(list, "db", &c, at_s(2026, 3, 2, 3, 0), &next));
	assert_int_equal(next, at_s(2026, 3, 2, 4, 0));
	assert_true(drill_records_due(list, "db", &c, at_s(2026, 3, 2, 4, 0), &next));
	/* Another policy's drill counts for that one only. */
	assert_false(drill_records_due(list, "other", &c, at_s(2026, 3, 9, 5, 0), &next));
	json_decref(list);
}

/* A drill's running report is replaced by its result (same id); one whose process is gone is closed as interrupted. */
static void running_then_settled(void **state)
{
	struct error *err = NULL;
	char *path = xasprintf("%s/%s", test_dir, DRILL_RECORDS_FILE), *lock = records_run_lock_path(test_dir, "drill", "held");
	json_t *list = NULL, *r;
	int fd = -1;

	(void)state;
	r = json_pack("{s:s, s:s, s:I, s:s}", "policy", "db", "id", "drill-db-1", "timeMs", (json_int_t)1000, "status",
		      "running");
	assert_int_equal(drill_records_append(path, r, &err), 0);
	json_decref(r);
	r = json_pack("{s:s, s:s, s:I, s:s}", "policy", "held", "id", "drill-held-1", "timeMs", (json_int_t)2000,
		      "status", "running");
	assert_int_equal(drill_records_append(path, r, &err), 0);
	json_decref(r);
	assert_int_equal(records_lock(lock, 0, &fd, &err), 1);
	assert_int_equal(drill_records_settle(test_dir, &err), 1);
	records_unlock(fd);
	r = json_pack("{s:s, s:s, s:I, s:s}", "policy", "held", "id", "drill-held-1", "timeMs", (json_int_t)2000,
		      "status", "passed");
	assert_int_equal(drill_records_append(path, r, &err), 0);
	json_decref(r);
	assert_int_equal(drill_records_settle(test_dir, &err), 0);
	assert_int_equal(drill_records_load(&list, path, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")), "failed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")), "interrupted");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "status")), "passed");
	json_decref(list);
	FREE_ALL(path, lock);
}

TEST_MAIN(TEST_IN_DIR(appended), TEST_IN_DIR(running_then_settled), TEST_IN_DIR(bounded), TEST_IN_DIR(not_ours), cmocka_unit_test(due))
