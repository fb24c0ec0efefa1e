/* Error texts as served and noted: bounded, valid UTF-8, control characters escaped, no URL credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status/status.h"
#include "testmain.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6"

static void test_rows(void **state)
{
	static const struct {
		const char *desc;
		const char *in;
		size_t max;
		const char *want;
	} rows[] = {
		{ "plain text stays", "probe failed: 503", 64, "probe failed: 503" },
		{ "NULL is empty", NULL, 64, "" },
		{ "newline and tab escaped", "a\nb\tc", 64, "a\\nb\\tc" },
		{ "terminal escape", "\x1b[31mred", 64, "\\u001b[31mred" },
		{ "DEL and a C1 control", "x\x7fy\xc2\x85z", 64, "x\\u007fy\\u0085z" },
		{ "invalid bytes replaced", "a\xff\xfe", 64, "a\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a truncated sequence", "caf\xc3", 64, "caf\xef\xbf\xbd" },
		{ "an overlong form", "\xc0\xaf", 64, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a surrogate", "\xed\xa0\x80", 64, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "valid UTF-8 kept", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80", 64,
		  "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80" },
		{ "https password hidden", "fetch https://u:pw@host/r.git: 401", 64, "fetch https://***@host/r.git: 401" },
		{ "a token as the user hidden", "https://ghp_abc@github.com/x", 64, "https://***@github.com/x" },
		{ "ssh keeps its user", "ssh://git@example:22/r", 64, "ssh://git@example:22/r" },
		{ "ssh password hidden", "ssh://git:pw@example/r", 64, "ssh://git:***@example/r" },
		{ "an @ after the path is no userinfo", "https://host/a@b", 64, "https://host/a@b" },
		{ "fits exactly", "abcdefgh", 8, "abcdefgh" },
		{ "cut with an ellipsis", "abcdefghi", 8, "abcde" ELLIPSIS },
		{ "cut before a whole character", "abcd\xc3\xa9\xc3\xa9xyz", 8, "abcd" ELLIPSIS },
		{ "cut before a whole escape", "abc\x1b" "defgh", 8, "abc" ELLIPSIS },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		char *got = text_bounded(rows[i].in, rows[i].max);

		print_message("# %s: %s\n", rows[i].desc, got);
		assert_string_equal(got, rows[i].want);
		assert_true(strlen(got) <= rows[i].max);
		free(got);
	}
}

/* A megabyte of hostile bytes: TEXT_MAX at most, valid UTF-8 (jansson refuses anything else). */
static void test_large_hostile(void **state)
{
	size_t n = 1 << 20, i;
	char *in = xmalloc(n + 1), *got;
	json_t *j;

	(void)state;
	for (i = 0; i < n; i++)
		in[i] = (char)(i * 131 % 255 + 1);
	in[n] = '\0';
	got = text_bounded(in, TEXT_MAX);
	assert_true(strlen(got) <= TEXT_MAX);
	assert_true(strlen(got) > TEXT_MAX - 8);
	j = json_string(got);
	assert_non_null(j);
	json_decref(j);
	free(got);
	free(in);
}

/* The status document and the note carry error texts bounded and escaped. */
static void test_status_texts(void **state)
{
	struct fleet_status s, back;
	struct status_deployment *d;
	char *big = xmalloc(10001), *note = NULL;
	const char *le;
	json_t *doc;

	(void)state;
	memset(big, 'e', 10000);
	big[10000] = '\0';
	memcpy(big, "https://me:pw@h/\x1b\xff", 18);
	status_init(&s);
	s.commit = xstrdup("3f2c");
	s.source_error = xstrdup(big);
	d = status_add_deployment(&s, "slim");
	d->last_error = xstrdup(big);
	status_add_condition(d, "Ready")->message = xstrdup(big);
	doc = status_to_json(&s);
	le = json_string_value(json_object_get(json_array_get(json_object_get(doc, "deployments"), 0), "lastError"));
	assert_non_null(le);
	assert_true(strlen(le) <= TEXT_MAX);
	assert_true(str_has_prefix(le, "https://***@h/\\u001b\xef\xbf\xbd"));
	le = json_string_value(json_object_get(json_object_get(doc, "source"), "lastError"));
	assert_non_null(le);
	assert_true(strlen(le) <= TEXT_MAX);
	json_decref(doc);
	assert_int_equal(status_render_note(&s, &note, NULL), 0);
	assert_null(strstr(note, "pw@"));
	assert_int_equal(status_parse_note(&back, note, strlen(note), NULL), 0);
	assert_true(strlen(back.source_error) <= TEXT_MAX);
	assert_true(strlen(back.deployments[0].last_error) <= TEXT_MAX);
	assert_true(strlen(back.deployments[0].conditions[0].message) <= TEXT_MAX);
	assert_true(str_has_suffix(back.deployments[0].conditions[0].message, ELLIPSIS));
	status_release(&back);
	status_release(&s);
	free(note);
	free(big);
}

TEST_MAIN(
	cmocka_unit_test(test_rows),
	cmocka_unit_test(test_large_hostile),
	cmocka_unit_test(test_status_texts))
