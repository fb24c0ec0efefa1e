/* Unit tests for the status beside its fleet: the source section, Refused and Superseded notes, `auriga status`'s exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "status/status.h"
#include "testmain.h"
#include "util.h"

#define HEAD "a111111111111111111111111111111111111111"
#define OLDER "b222222222222222222222222222222222222222"
#define T0 1767225600000LL

/* A source that fetched HEAD at T0 + 2 s after a failure at T0 + 1 s; the fleet runs OLDER. */
static void fill_source(struct status_source *src)
{
	memset(src, 0, sizeof(*src));
	src->head = xstrdup(HEAD);
	src->applied = xstrdup(OLDER);
	src->fetched_at = T0 + 2000;
	src->fetch_error = xstrdup("cannot reach 'file:///gone.git': not found");
	src->fetch_error_at = T0 + 1000;
}

/* The note of s, read back into back; the text is returned (the caller frees it). */
static char *round_trip(const struct fleet_status *s, struct fleet_status *back)
{
	char *text = NULL;

	assert_int_equal(status_render_note(s, &text, NULL), 0);
	assert_int_equal(status_parse_note(back, text, strlen(text), NULL), 0);
	return text;
}

static const char *json_at(json_t *j, const char *a, const char *b)
{
	return json_string_value(json_object_get(b ? json_object_get(j, a) : j, b ? b : a));
}

/* The source section goes into the note and the JSON, and a note's reads back as it was. */
static void source_round_trip(void **state)
{
	struct fleet_status s, back;
	struct status_source src;
	char *text;
	json_t *j;

	(void)state;
	status_init(&s);
	s.commit = xstrdup(HEAD);
	s.phase = STATUS_HEALTHY;
	s.observed_at = T0 + 3000;
	fill_source(&src);
	status_set_source(&s, &src);
	status_source_release(&src);
	/* The last fetch was good: nothing is wrong now, the earlier error is kept with its time. */
	assert_null(s.source_error);
	text = round_trip(&s, &back);
	assert_non_null(strstr(text, "source:\n  head: " HEAD "\n  applied: " OLDER "\n  lastFetchAt: "));
	assert_string_equal(back.source.head, HEAD);
	assert_string_equal(back.source.applied, OLDER);
	assert_int_equal(back.source.fetched_at, T0 + 2000);
	assert_string_equal(back.source.fetch_error, s.source.fetch_error);
	assert_int_equal(back.source.fetch_error_at, T0 + 1000);
	assert_null(back.source_error);
	j = status_to_json(&back);
	assert_string_equal(json_at(j, "source", "head"), HEAD);
	assert_string_equal(json_at(j, "source", "applied"), OLDER);
	assert_string_equal(json_at(j, "source", "lastFetchAt"), "2026-01-01T00:00:02.000Z");
	assert_string_equal(json_at(j, "source", "lastFetchError"), s.source.fetch_error);
	assert_string_equal(json_at(j, "source", "lastFetchErrorAt"), "2026-01-01T00:00:01.000Z");
	assert_null(json_object_get(json_object_get(j, "source"), "lastError"));
	json_decref(j);
	free(text);
	status_release(&back);
	status_release(&s);
}

/* While fetches fail, source.lastError says so beside any phase; an error of Docker's stays first. */
static void failing_fetch_shows(void **state)
{
	struct fleet_status s;
	struct status_source src;

	(void)state;
	fill_source(&src);
	src.fetch_error_at = T0 + 5000;
	status_init(&s);
	s.phase = STATUS_HEALTHY;
	status_set_source(&s, &src);
	assert_string_equal(s.source_error, "git: cannot reach 'file:///gone.git': not found");
	status_release(&s);

	status_init(&s);
	s.source_error = xstrdup("docker: cannot list the containers");
	status_set_source(&s, &src);
	assert_string_equal(s.source_error, "docker: cannot list the containers");
	status_release(&s);
	status_source_release(&src);
}

/* A refused commit: Refused on the first line, every problem an item of a list, read back line by line. */
static void refused_note(void **state)
{
	static const char problems[] = "web.yaml:8:5: Deployment/web: spec.template.colour: unknown field\n"
				       "web.yaml:9:1: Deployment/web: spec.x: unknown field";
	struct fleet_status s, back;
	struct status_source src;
	char *text;
	json_t *j;

	(void)state;
	fill_source(&src);
	status_init(&s);
	status_set_refused(&s, HEAD, problems, &src, T0);
	status_source_release(&src);
	text = round_trip(&s, &back);
	assert_true(str_has_prefix(text, "auriga: Refused 0/0 ready, nothing of this commit was applied\n\n"));
	assert_non_null(strstr(text, "problems:\n- 'web.yaml:8:5: "));
	assert_int_equal(back.phase, STATUS_REFUSED);
	assert_string_equal(back.commit, HEAD);
	assert_string_equal(back.problems, problems);
	assert_string_equal(back.source.applied, OLDER);
	j = status_to_json(&back);
	assert_string_equal(json_at(j, "phase", NULL), "Refused");
	assert_int_equal(json_array_size(json_object_get(j, "problems")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "problems"), 1)),
			    "web.yaml:9:1: Deployment/web: spec.x: unknown field");
	json_decref(j);
	free(text);
	status_release(&back);
	status_release(&s);
	/* A refusal that says nothing still says why in general terms. */
	status_init(&s);
	status_set_refused(&s, HEAD, "", NULL, T0);
	assert_string_equal(s.problems, "the specs do not load");
	status_release(&s);
}

/* A commit passed over: Superseded, naming the newer commit on the first line and in full. */
static void superseded_note(void **state)
{
	struct fleet_status s, back;
	char *text;
	json_t *j;

	(void)state;
	status_init(&s);
	status_set_superseded(&s, OLDER, HEAD, NULL, T0);
	text = round_trip(&s, &back);
	assert_true(str_has_prefix(text, "auriga: Superseded 0/0 ready, the newer commit a11111111111 came before it"));
	assert_int_equal(back.phase, STATUS_SUPERSEDED);
	assert_string_equal(back.commit, OLDER);
	assert_string_equal(back.superseded_by, HEAD);
	j = status_to_json(&back);
	assert_string_equal(json_at(j, "supersededBy", NULL), HEAD);
	assert_null(json_object_get(j, "source"));
	json_decref(j);
	free(text);
	status_release(&back);
	status_release(&s);
}

/* `auriga status`'s exit code for each phase of the note on the head, and for a head with none. */
static void exit_codes(void **state)
{
	static const struct {
		enum status_phase phase;
		int code;
	} rows[] = {
		{ STATUS_HEALTHY, 0 },	 { STATUS_PROGRESSING, 3 }, { STATUS_UNKNOWN, 3 },    { STATUS_REFUSED, 4 },
		{ STATUS_FAILED, 5 },	 { STATUS_DEGRADED, 5 },    { STATUS_ROLLEDBACK, 5 }, { STATUS_SUPERSEDED, 6 },
	};
	struct fleet_status s;
	size_t i;

	(void)state;
	status_init(&s);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		s.phase = rows[i].phase;
		assert_int_equal(status_exit_code(&s), rows[i].code);
	}
	assert_int_equal(status_exit_code(NULL), STATUS_EXIT_UNKNOWN);
	assert_int_equal(STATUS_EXIT_UNKNOWN, 6);
}

/* A copy carries the source section, problems and supersededBy as they are, deriving nothing. */
static void copy_keeps_them(void **state)
{
	struct fleet_status s, c;

	(void)state;
	status_init(&s);
	fill_source(&s.source);
	s.source.fetch_error_at = T0 + 5000;
	s.problems = xstrdup("a\nb");
	s.superseded_by = xstrdup(HEAD);
	status_copy(&c, &s);
	assert_string_equal(c.source.head, HEAD);
	assert_string_equal(c.source.fetch_error, s.source.fetch_error);
	assert_int_equal(c.source.fetch_error_at, T0 + 5000);
	assert_ptr_not_equal(c.source.head, s.source.head);
	assert_string_equal(c.problems, "a\nb");
	assert_string_equal(c.superseded_by, HEAD);
	assert_null(c.source_error);
	status_release(&c);
	status_release(&s);
}

TEST_MAIN(
	cmocka_unit_test(source_round_trip),
	cmocka_unit_test(failing_fetch_shows),
	cmocka_unit_test(refused_note),
	cmocka_unit_test(superseded_note),
	cmocka_unit_test(exit_codes),
	cmocka_unit_test(copy_keeps_them))
