/* Unit tests for the notes kept for GET /api/v1/notes: order, one entry per commit, the bound, the JSON. */
#include "testmain.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "status/notes_recent.h"

/* The commits of the first n entries of the list, in order, joined by spaces. */
static void commits_of(struct notes_recent *r, size_t n, char *out, size_t cap)
{
	json_t *j = notes_recent_json(r, n), *e;
	size_t i, len = 0;

	out[0] = '\0';
	json_array_foreach(j, i, e) {
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "",
					json_string_value(json_object_get(e, "commit")));
	}
	json_decref(j);
}

static void newest_first_one_per_commit(void **state)
{
	struct notes_recent r;
	char got[256];
	static const struct {
		const char *commit;
		const char *want;	/* the list after adding it */
	} rows[] = {
		{ "a", "a" },
		{ "b", "b a" },
		{ "c", "c b a" },
		{ "b", "b c a" },	/* a newer note on b: b moves first, once */
		{ "b", "b c a" },
		{ "a", "a b c" },
	};
	size_t i;

	(void)state;
	notes_recent_init(&r);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		notes_recent_add(&r, rows[i].commit, "auriga: Healthy 1/1 ready\n\nphase: Healthy\n", (int64_t)i);
		commits_of(&r, 10, got, sizeof(got));
		assert_string_equal(got, rows[i].want);
	}
	commits_of(&r, 2, got, sizeof(got));
	assert_string_equal(got, "a b");
	notes_recent_release(&r);
}

static void bounded(void **state)
{
	struct notes_recent r;
	char commit[16], got[16];
	json_t *j;
	int i;

	(void)state;
	notes_recent_init(&r);
	for (i = 0; i < NOTES_RECENT_MAX + 7; i++) {
		snprintf(commit, sizeof(commit), "c%d", i);
		notes_recent_add(&r, commit, "note", i);
	}
	assert_int_equal(r.n, NOTES_RECENT_MAX);
	j = notes_recent_json(&r, 1000);
	assert_int_equal(json_array_size(j), NOTES_RECENT_MAX);
	/* The newest stays, the oldest went. */
	snprintf(got, sizeof(got), "c%d", NOTES_RECENT_MAX + 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "commit")), got);
	snprintf(got, sizeof(got), "c%d", 7);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, NOTES_RECENT_MAX - 1), "commit")),
			    got);
	json_decref(j);
	notes_recent_release(&r);
}

static void json_fields(void **state)
{
	struct notes_recent r;
	json_t *j, *e;

	(void)state;
	notes_recent_init(&r);
	notes_recent_add(&r, "0123abcd", "auriga: Progressing 1/2 ready, phase 1 of 1\n\nphase: Progressing\n",
			 1767225600123);
	notes_recent_add(&r, "4567ef01", "one line, no newline", 1767225601000);
	j = notes_recent_json(&r, 10);
	e = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(e, "commit")), "0123abcd");
	assert_string_equal(json_string_value(json_object_get(e, "summary")),
			    "auriga: Progressing 1/2 ready, phase 1 of 1");
	assert_string_equal(json_string_value(json_object_get(e, "note")),
			    "auriga: Progressing 1/2 ready, phase 1 of 1\n\nphase: Progressing\n");
	assert_string_equal(json_string_value(json_object_get(e, "writtenAt")), "2026-01-01T00:00:00.123Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "summary")), "one line, no newline");
	json_decref(j);
	j = notes_recent_json(&r, 0);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	notes_recent_release(&r);
}

TEST_MAIN(cmocka_unit_test(newest_first_one_per_commit), cmocka_unit_test(bounded), cmocka_unit_test(json_fields))
