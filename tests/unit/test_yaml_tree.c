/* Unit tests for the bounded YAML loader: positions, scalar typing, aliases and every limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testmain.h"
#include "yaml_tree.h"

static const struct ytree_limits lim = { 16, 8, 1000, 64, 4096, 8192, 4 };

static int parse(struct ytree *t, const char *s, struct ytree_error *e)
{
	return ytree_parse(t, "t.yaml", s, strlen(s), &lim, e);
}

static void positions_are_one_based(void **state)
{
	struct ytree t;
	struct ytree_error e;
	const struct ynode *root, *b;

	(void)state;
	assert_int_equal(parse(&t, "a: 1\nb:\n  c: [x, y]\n", &e), 0);
	assert_int_equal(t.n_docs, 1);
	root = t.docs[0].root;
	assert_int_equal(root->type, YNODE_MAP);
	b = ynode_get(root, "b");
	assert_non_null(b);
	assert_int_equal(b->line, 3);
	assert_int_equal(b->col, 3);
	assert_int_equal(ynode_get(b, "c")->kids[1]->line, 3);
	assert_int_equal(ynode_get(b, "c")->kids[1]->col, 10);
	assert_int_equal(ynode_key(root, "b")->line, 2);
	assert_int_equal(ynode_key(root, "b")->col, 1);
	ytree_release(&t);
}

static void scalars_follow_the_core_schema(void **state)
{
	static const struct {
		const char *text;
		enum yscalar type;
	} cases[] = {
		{ "~", YS_NULL }, { "null", YS_NULL }, { "", YS_NULL }, { "true", YS_BOOL },
		{ "False", YS_BOOL }, { "yes", YS_STR }, { "12", YS_INT }, { "-3", YS_INT },
		{ "0x1F", YS_INT }, { "0o17", YS_INT }, { "1.5", YS_FLOAT }, { "1e3", YS_FLOAT },
		{ ".inf", YS_FLOAT }, { "\"12\"", YS_STR }, { "'true'", YS_STR },
		{ "!!str 12", YS_STR }, { "25%", YS_STR }, { "1m30s", YS_STR }, { "v1.2", YS_STR },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ytree t;
		struct ytree_error e;
		char doc[64];

		snprintf(doc, sizeof(doc), "k: %s\n", cases[i].text);
		assert_int_equal(parse(&t, doc, &e), 0);
		if (ynode_get(t.docs[0].root, "k")->stype != cases[i].type)
			fail_msg("%s: got type %d, want %d", cases[i].text,
				 ynode_get(t.docs[0].root, "k")->stype, cases[i].type);
		ytree_release(&t);
	}
}

static void accessors_check_types(void **state)
{
	struct ytree t;
	struct ytree_error e;
	const struct ynode *r;
	long long i;
	double d;
	int b;

	(void)state;
	assert_int_equal(parse(&t, "i: 0x10\nf: 2.5\nb: true\ns: text\n", &e), 0);
	r = t.docs[0].root;
	assert_int_equal(ynode_int(ynode_get(r, "i"), &i), 0);
	assert_int_equal(i, 16);
	assert_int_equal(ynode_float(ynode_get(r, "f"), &d), 0);
	assert_true(d == 2.5);
	assert_int_equal(ynode_float(ynode_get(r, "i"), &d), 0);
	assert_true(d == 16.0);
	assert_int_equal(ynode_bool(ynode_get(r, "b"), &b), 0);
	assert_int_equal(b, 1);
	assert_string_equal(ynode_str(ynode_get(r, "s")), "text");
	assert_int_equal(ynode_int(ynode_get(r, "s"), &i), -1);
	assert_null(ynode_str(ynode_get(r, "i")));
	assert_null(ynode_get(r, "missing"));
	assert_string_equal(ynode_describe(r), "a mapping");
	ytree_release(&t);
}

static void aliases_share_nodes(void **state)
{
	struct ytree t;
	struct ytree_error e;
	const struct ynode *r;

	(void)state;
	assert_int_equal(parse(&t, "a: &x {k: v}\nb: *x\n", &e), 0);
	r = t.docs[0].root;
	assert_ptr_equal(ynode_get(r, "a"), ynode_get(r, "b"));
	ytree_release(&t);
}

static void expect_error(const char *doc, int line, int col, const char *msg)
{
	struct ytree t;
	struct ytree_error e;

	assert_int_equal(parse(&t, doc, &e), -1);
	assert_int_equal(t.n_docs, 0);
	if (e.line != line || e.col != col || strstr(e.msg, msg) == NULL)
		fail_msg("got %d:%d: %s; want %d:%d: ...%s...", e.line, e.col, e.msg, line, col, msg);
	ytree_release(&t);
}

static void limits_are_enforced(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	int i;

	(void)state;
	/* depth 16 */
	expect_error("a: [[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]\n", 1, 19, "nesting deeper than the limit of 16");
	/* aliases 8 */
	expect_error("a: &x 1\nb: [*x, *x, *x, *x, *x, *x, *x, *x, *x]\n", 2, 37, "more than the limit of 8 aliases");
	/* expansion budget 1000 nodes: 4 aliases of 10, then of 40, ... */
	buf_puts(&b, "a: &a [");
	for (i = 0; i < 59; i++)
		buf_puts(&b, "1,");
	buf_puts(&b, "1]\nb: &b [*a,*a,*a,*a,*a]\nc: [*b,*b,*b]\n");
	expect_error(b.data, 3, 11, "expands to more than the limit of 1000 nodes (alias expansion)");
	buf_reset(&b);
	/* scalar 64 bytes */
	expect_error("a: 01234567890123456789012345678901234567890123456789012345678901234\n", 1, 4,
		     "scalar of 65 bytes is larger than the limit of 64");
	/* documents 4 */
	expect_error("a: 1\n---\na: 2\n---\na: 3\n---\na: 4\n---\na: 5\n", 8, 1,
		     "more than the limit of 4 documents");
	/* alias depth: an alias to a deep node below a deep node */
	expect_error("a: &x [[[[[[[[[[1]]]]]]]]]]\nb: [[[[[[[*x]]]]]]]\n", 2, 11, "nests deeper");
	expect_error("a: *nope\n", 1, 4, "unknown anchor \"nope\"");
	expect_error("a: &x [1, *x]\n", 1, 11, "refers to itself");
	expect_error("a: 1\na: 2\n", 2, 1, "duplicate key \"a\" (first at line 1)");
	expect_error("a: !custom 1\n", 1, 4, "unsupported tag");
	expect_error("a: !!int abc\n", 1, 4, "does not match its tag");
	expect_error("a: \"open\n", 2, 1, "yaml: found unexpected end of stream");
	/* file and document size */
	for (i = 0; i < 600; i++)
		buf_puts(&b, "- abcdefghijklmn\n");
	expect_error(b.data, 0, 0, "file of 10200 bytes is larger than the limit of 8192");
	buf_reset(&b);
	for (i = 0; i < 300; i++)
		buf_puts(&b, "- abcdefghijklmn\n");
	expect_error(b.data, 242, 3, "document larger than the limit of 4096 bytes");
	buf_release(&b);
}

static void invalid_utf8_has_a_position(void **state)
{
	(void)state;
	expect_error("a: ok\nb: \xff\n", 2, 4, "invalid leading UTF-8 octet");
}

static void empty_documents_are_flagged(void **state)
{
	struct ytree t;
	struct ytree_error e;

	(void)state;
	assert_int_equal(parse(&t, "# only a comment\n", &e), 0);
	assert_int_equal(t.n_docs, 0);
	ytree_release(&t);
	assert_int_equal(parse(&t, "a: 1\n---\n", &e), 0);
	assert_int_equal(t.n_docs, 2);
	assert_int_equal(t.docs[0].empty, 0);
	assert_int_equal(t.docs[1].empty, 1);
	ytree_release(&t);
}

/*
 * Trees parsed one after another share slabs, each giving back what its last
 * blocks did not use: no tree's nodes or text may be overwritten by the next
 * one's. 300 small trees (one to forty keys, and a scalar past a small text
 * block), then each read back whole, released in an order of their own.
 */
static void trees_in_a_row_stay_whole(void **state)
{
	enum { N = 300 };
	static const struct ytree_limits wide = { 16, 8, 1000, 4096, 65536, 65536, 4 };
	static struct ytree t[N];
	struct ytree_error e;
	size_t i, k, keys;
	char big[120];

	(void)state;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < N; i++) {
		struct buf b;

		buf_init(&b, 8192);
		keys = 1 + i % 40;
		for (k = 0; k < keys; k++)
			assert_int_equal(buf_printf(&b, "k%zu: v%zu-%zu%s\n", k, i, k, k == 5 ? big : ""), 0);
		assert_int_equal(ytree_parse(&t[i], "t.yaml", b.data, b.len, &wide, &e), 0);
		buf_release(&b);
	}
	for (i = 0; i < N; i++) {
		const struct ynode *root = t[i].docs[0].root;

		keys = 1 + i % 40;
		assert_int_equal(root->type, YNODE_MAP);
		assert_int_equal(root->n, 2 * keys);
		for (k = 0; k < keys; k++) {
			char key[32], want[160];

			snprintf(key, sizeof(key), "k%zu", k);
			snprintf(want, sizeof(want), "v%zu-%zu%s", i, k, k == 5 ? big : "");
			assert_string_equal(ynode_str(ynode_get(root, key)), want);
			assert_int_equal(ynode_get(root, key)->line, (int)k + 1);
		}
	}
	for (i = 0; i < N; i += 2)
		ytree_release(&t[i]);
	for (i = 1; i < N; i += 2)
		ytree_release(&t[i]);
}

TEST_MAIN(
	cmocka_unit_test(positions_are_one_based),
	cmocka_unit_test(trees_in_a_row_stay_whole),
	cmocka_unit_test(scalars_follow_the_core_schema),
	cmocka_unit_test(accessors_check_types),
	cmocka_unit_test(aliases_share_nodes),
	cmocka_unit_test(limits_are_enforced),
	cmocka_unit_test(invalid_utf8_has_a_position),
	cmocka_unit_test(empty_documents_are_flagged))
