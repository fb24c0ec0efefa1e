/* Unit tests for the base types every module uses: struct buf, struct error, number parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "strmap.h"
#include "testmain.h"
#include "util.h"

static void buf_starts_empty_and_terminated(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void buf_respects_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, '9'), ERR_TOOBIG);
	/* A refused append leaves the buffer as it was. */
	assert_string_equal(b.data, "12345678");
	assert_int_equal(b.len, 8);
	buf_release(&b);
}

static void buf_printf_grows(void **state)
{
	struct buf b;
	size_t len;
	char *s;
	int i;

	(void)state;
	buf_init(&b, 1 << 20);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%d,", i), 0);
	assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
	assert_int_equal(buf_printf(&b, "%s", "x"), 0);
	s = buf_detach(&b, &len);
	assert_int_equal(strlen(s), len);
	assert_int_equal(s[len - 1], 'x');
	assert_int_equal(b.len, 0);
	free(s);
	buf_release(&b);
}

static void buf_printf_past_max_fails(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_printf(&b, "%s", "0123456789abc"), ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void buf_detach_of_empty_is_freeable(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 4);
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "");
	free(s);
}

static void error_first_wins_and_wraps(void **state)
{
	struct error *err = NULL;

	(void)state;
	assert_int_equal(error_set(&err, ERR_NOTFOUND, "no container '%s'", "a-1"), ERR_NOTFOUND);
	assert_int_equal(error_set(&err, ERR_CONFLICT, "second"), ERR_CONFLICT);
	assert_string_equal(error_msg(err), "no container 'a-1'");
	assert_int_equal(error_wrap(&err, "cannot start '%s'", "a"), ERR_NOTFOUND);
	assert_string_equal(error_msg(err), "cannot start 'a': no container 'a-1'");
	assert_int_equal(error_code(err), ERR_NOTFOUND);
	error_clear(&err);
	assert_null(err);
	/* A NULL error pointer means the caller does not want the message. */
	assert_int_equal(error_set(NULL, ERR_INVALID, "ignored"), ERR_INVALID);
}

static void parse_long_table(void **state)
{
	static const struct {
		const char *in;
		long min, max;
		int rc;
		long out;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "-3", -5, 5, 0, -3 },
		{ "", 0, 10, -1, 0 },
		{ "12abc", 0, 100, -1, 0 },
		{ " 1", 0, 10, 0, 1 },
		{ "99999999999999999999999", 0, 10, -1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		long out = 0;
		int rc = parse_long(cases[i].in, cases[i].min, cases[i].max, &out);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_int_equal(out, cases[i].out);
	}
}

static void parse_u64_rejects_signs(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("-1", &v), -1);
	assert_int_equal(parse_u64("+1", &v), -1);
	assert_int_equal(parse_u64("18446744073709551616", &v), -1);
}

static void suffix_prefix(void **state)
{
	(void)state;
	assert_true(str_has_suffix("a.yaml", ".yaml"));
	assert_false(str_has_suffix("yaml", ".yaml"));
	assert_true(str_has_prefix("auriga.io/deployment", "auriga.io/"));
	assert_false(str_has_prefix("auriga", "auriga.io/"));
}

static void xgrow_keeps_contents(void **state)
{
	int *a = NULL;
	size_t cap = 0, i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		XGROW(a, cap, i + 1);
		a[i] = (int)i;
	}
	assert_true(cap >= 1000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(a[i], (int)i);
	free(a);
}

/* 5,000 keys through several growths: each found with its value, replaced, deleted, absent after. */
static void strmap_put_get_del(void **state)
{
	struct strmap m = STRMAP_INIT;
	static int vals[5000];
	char key[32];
	size_t i;

	(void)state;
	assert_null(strmap_get(&m, "absent"));
	assert_int_equal(strmap_del(&m, "absent"), 0);
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		snprintf(key, sizeof(key), "deployment-%zu", i);
		strmap_put(&m, key, &vals[i]);
	}
	assert_int_equal(m.n, ARRAY_SIZE(vals));
	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		snprintf(key, sizeof(key), "deployment-%zu", i);
		assert_ptr_equal(strmap_get(&m, key), &vals[i]);
	}
	strmap_put(&m, "deployment-7", &vals[8]);
	assert_int_equal(m.n, ARRAY_SIZE(vals));
	assert_ptr_equal(strmap_get(&m, "deployment-7"), &vals[8]);
	for (i = 0; i < ARRAY_SIZE(vals); i += 2) {
		snprintf(key, sizeof(key), "deployment-%zu", i);
		assert_int_equal(strmap_del(&m, key), 1);
	}
	assert_int_equal(m.n, ARRAY_SIZE(vals) / 2);
	assert_null(strmap_get(&m, "deployment-0"));
	assert_ptr_equal(strmap_get(&m, "deployment-1"), &vals[1]);
	assert_null(strmap_get(&m, "deployment-"));
	assert_null(strmap_get(&m, ""));
	strmap_clear(&m);
	assert_int_equal(m.n, 0);
	assert_null(strmap_get(&m, "deployment-1"));
	strmap_put(&m, "", &vals[0]);
	assert_ptr_equal(strmap_get(&m, ""), &vals[0]);
	strmap_clear(&m);
	for (i = 0; i < 100; i++) {
		size_t at = 999;

		snprintf(key, sizeof(key), "series-%zu", i);
		strmap_put_index(&m, key, i);
		assert_int_equal(strmap_get_index(&m, key, &at), 1);
		assert_int_equal(at, i);
	}
	{
		size_t at = 999;

		assert_int_equal(strmap_get_index(&m, "series-100", &at), 0);
		assert_int_equal(at, 999);
	}
	strmap_clear(&m);
}

TEST_MAIN(
	cmocka_unit_test(buf_starts_empty_and_terminated),
	cmocka_unit_test(buf_respects_max),
	cmocka_unit_test(buf_printf_grows),
	cmocka_unit_test(buf_printf_past_max_fails),
	cmocka_unit_test(buf_detach_of_empty_is_freeable),
	cmocka_unit_test(error_first_wins_and_wraps),
	cmocka_unit_test(parse_long_table),
	cmocka_unit_test(parse_u64_rejects_signs),
	cmocka_unit_test(suffix_prefix),
	cmocka_unit_test(xgrow_keeps_contents),
	cmocka_unit_test(strmap_put_get_del))
