/* Unit tests for env files: the line format, errors with file and line, merging order, and the revision following the content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/desired.h"
#include "source/envfile.h"
#include "testfs.h"
#include "util.h"

static void test_parse_values(void **state)
{
	const char *text = "# comment\n\nA=1\r\nB= two words \nexport_X=\n_C=a=b\nA=3";
	struct kv *v;
	size_t n;
	struct error *err = NULL;

	(void)state;
	assert_int_equal(envfile_parse("f.env", text, strlen(text), &v, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].key, "A");
	assert_string_equal(v[0].value, "1");
	assert_string_equal(v[1].key, "B");
	assert_string_equal(v[1].value, " two words ");
	assert_string_equal(v[2].key, "export_X");
	assert_string_equal(v[2].value, "");
	assert_string_equal(v[3].key, "_C");
	assert_string_equal(v[3].value, "a=b");
	assert_string_equal(v[4].value, "3");
	kv_free(v, n);
}

static void expect_parse_error(const char *text, size_t len, const char *msg)
{
	struct kv *v = NULL;
	size_t n = 9;
	struct error *err = NULL;

	assert_int_equal(envfile_parse("conf/node.env", text, len, &v, &n, &err), ERR_INVALID);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_string_equal(error_msg(err), msg);
	error_free(err);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("A=1\nnot a pair\n", 15, "conf/node.env:2: expected KEY=value, found 'not a pair'");
	expect_parse_error("A=1\n\n# x\n1A=2\n", 13, "conf/node.env:4: '1A' is not a variable name (letters, digits, _)");
	expect_parse_error("B =1\n", 5, "conf/node.env:1: 'B ' is not a variable name (letters, digits, _)");
	expect_parse_error("A=1\0B=2\n", 8, "conf/node.env: the file holds a NUL byte; env files are text");
}

/* ---- envfile_apply on a folder, and the revision ---- */

/* Writes text to rel under the test's folder. */
static void write_file(const char *rel, const char *text)
{
	assert_int_equal(test_write(test_dir, rel, text), 0);
}

static const char *SPEC = "apiVersion: auriga.io/v1\n"
			  "kind: Deployment\n"
			  "metadata: {name: web}\n"
			  "spec:\n"
			  "  template:\n"
			  "    image: demo:1\n"
			  "    env: {B: from-spec}\n"
			  "    envFiles: [conf/a.env, conf/b.env]\n";

/* Reads set's env files from test_dir: every diag, one a line (NULL when none); the reader never fails here. */
static char *apply_env(struct spec_set *set)
{
	struct spec_diags diags;
	struct error *err = NULL;
	char *text = NULL;
	size_t i, len = 0;

	spec_diags_init(&diags);
	assert_int_equal(envfile_apply(set, envfile_read_dir, test_dir, &diags, &err), 0);
	assert_null(err);
	for (i = 0; i < diags.n; i++) {
		char *line = spec_diag_format(&diags.v[i]);

		text = xrealloc(text, len + strlen(line) + 2);
		snprintf(text + len, strlen(line) + 2, "%s%s", i ? "\n" : "", line);
		len += strlen(line) + (i ? 1 : 0);
		free(line);
	}
	spec_diags_release(&diags);
	return text;
}

/* Loads SPEC and its env files; the revision, and the diags' text (NULL when none) in *msg. */
static void load(struct spec_set *set, char rev[SPEC_REVISION_HEX], char **msg)
{
	struct spec_diags diags;

	spec_diags_init(&diags);
	spec_set_init(set, NULL, NULL);
	spec_set_load_buffer(set, "web.yaml", SPEC, strlen(SPEC), &diags);
	spec_set_finish(set, &diags);
	assert_int_equal(diags.n, 0);
	spec_diags_release(&diags);
	*msg = apply_env(set);
	if (*msg == NULL)
		spec_deployment_revision(spec_set_deployment(set, "web"), rev);
}

static void test_apply_merges_and_revision_follows(void **state)
{
	struct spec_set set;
	char rev1[SPEC_REVISION_HEX], rev2[SPEC_REVISION_HEX], rev3[SPEC_REVISION_HEX];
	struct desired_tmpl t;
	const struct spec_deployment *d;
	char *msg;

	(void)state;
	write_file("conf/a.env", "A=from-a\nB=from-a\nC=from-a\n");
	write_file("conf/b.env", "# later file wins\nC=from-b\n");
	load(&set, rev1, &msg);
	assert_null(msg);
	d = spec_set_deployment(&set, "web");
	desired_tmpl_from_spec(&t, &d->tmpl);
	/* Files in order, the template's own env last; sorted by key. */
	assert_string_equal(t.env[0], "A=from-a");
	assert_string_equal(t.env[1], "B=from-spec");
	assert_string_equal(t.env[2], "C=from-b");
	assert_null(t.env[3]);
	desired_tmpl_release(&t);
	spec_set_release(&set);

	/* The same content gives the same revision; a changed value a new one. */
	load(&set, rev2, &msg);
	assert_null(msg);
	spec_set_release(&set);
	assert_string_equal(rev1, rev2);
	write_file("conf/b.env", "C=changed\n");
	load(&set, rev3, &msg);
	assert_null(msg);
	spec_set_release(&set);
	assert_string_not_equal(rev1, rev3);
}

static void test_apply_errors_name_the_deployment_and_line(void **state)
{
	struct spec_set set;
	char rev[SPEC_REVISION_HEX], p[128], *msg;

	(void)state;
	write_file("conf/a.env", "A=1\n");
	write_file("conf/b.env", "A=1\noops\n");
	load(&set, rev, &msg);
	assert_string_equal(msg, "web.yaml:8:28: Deployment/web: spec.template.envFiles[1]: "
				 "conf/b.env:2: expected KEY=value, found 'oops'");
	free(msg);
	/* The template's env is left as written: nothing of a file that cannot be used is merged. */
	assert_int_equal(spec_set_deployment(&set, "web")->tmpl.n_env, 1);
	spec_set_release(&set);

	snprintf(p, sizeof(p), "%s/conf/b.env", test_dir);
	unlink(p);
	load(&set, rev, &msg);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "web.yaml:8:28: Deployment/web: spec.template.envFiles[1]: "
				    "env file 'conf/b.env': cannot open env file 'b.env'"));
	free(msg);
	spec_set_release(&set);

	/* Every entry that cannot be used is a diag of its own, in one pass. */
	write_file("conf/a.env", "1A=1\n");
	load(&set, rev, &msg);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "web.yaml:8:16: Deployment/web: spec.template.envFiles[0]: conf/a.env:1: "
				    "'1A' is not a variable name"));
	assert_non_null(strstr(msg, "\nweb.yaml:8:28: Deployment/web: spec.template.envFiles[1]: "
				    "env file 'conf/b.env': cannot open"));
	free(msg);
	spec_set_release(&set);
	write_file("conf/a.env", "A=1\n");
	write_file("conf/b.env", "\n");
}

static void test_apply_refuses_paths_out_of_the_repo(void **state)
{
	struct spec_set set;
	struct spec_diags diags;
	char *msg;
	const char *spec = "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\n"
			   "spec:\n  template:\n    image: demo:1\n    envFiles: [conf/../../etc/passwd]\n";

	(void)state;
	spec_diags_init(&diags);
	spec_set_init(&set, NULL, NULL);
	spec_set_load_buffer(&set, "web.yaml", spec, strlen(spec), &diags);
	spec_set_finish(&set, &diags);
	spec_diags_release(&diags);
	msg = apply_env(&set);
	assert_string_equal(msg, "web.yaml:7:16: Deployment/web: spec.template.envFiles[0]: "
				 "'conf/../../etc/passwd' must be relative to the specs repository, "
				 "without '..' or '.git'");
	free(msg);
	spec_set_release(&set);
}

/* Loads spec (one Deployment, web.yaml) and applies its env files from test_dir; the error, or NULL. */
static char *apply_spec(const char *spec)
{
	struct spec_set set;
	struct spec_diags diags;
	char *msg;

	spec_diags_init(&diags);
	spec_set_init(&set, NULL, NULL);
	spec_set_load_buffer(&set, "web.yaml", spec, strlen(spec), &diags);
	spec_set_finish(&set, &diags);
	assert_int_equal(diags.n, 0);
	spec_diags_release(&diags);
	msg = apply_env(&set);
	spec_set_release(&set);
	return msg;
}

static void test_apply_refuses_links_at_any_component(void **state)
{
	static const char head[] = "apiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: web}\n"
				   "spec:\n  template:\n    image: demo:1\n    envFiles: [";
	char spec[512], p[160], *msg;

	(void)state;
	write_file("conf/a.env", "A=1\n");
	snprintf(p, sizeof(p), "%s/lnk", test_dir);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/inside", test_dir);
	assert_int_equal(symlink("conf", p), 0);
	snprintf(p, sizeof(p), "%s/conf/last.env", test_dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);

	/* A link out of the folder as a middle component: /etc/passwd is never read. */
	snprintf(spec, sizeof(spec), "%slnk/passwd]\n", head);
	msg = apply_spec(spec);
	assert_non_null(msg);
	assert_string_equal(msg, "web.yaml:7:16: Deployment/web: spec.template.envFiles[0]: env file 'lnk/passwd': "
				 "'lnk' is a symbolic link or not a folder: env files are read beneath the specs "
				 "folder, through no link");
	free(msg);
	/* Deeper, and a link that stays inside: no link is followed at all. */
	snprintf(spec, sizeof(spec), "%sconf/../lnk/passwd]\n", head);
	free(apply_spec(spec));
	snprintf(spec, sizeof(spec), "%s./inside/a.env]\n", head);
	msg = apply_spec(spec);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "spec.template.envFiles[0]: env file './inside/a.env': './inside' is a symbolic link"));
	free(msg);
	/* The last component. */
	snprintf(spec, sizeof(spec), "%sconf/last.env]\n", head);
	msg = apply_spec(spec);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "web.yaml:7:16: Deployment/web: spec.template.envFiles[0]: "));
	assert_null(strstr(msg, "root:"));
	free(msg);
	/* The same file through real folders is read. */
	snprintf(spec, sizeof(spec), "%s./conf//a.env]\n", head);
	assert_null(apply_spec(spec));

	snprintf(p, sizeof(p), "%s/lnk", test_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/inside", test_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/conf/last.env", test_dir);
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_apply_merges_and_revision_follows),
		cmocka_unit_test(test_apply_errors_name_the_deployment_and_line),
		cmocka_unit_test(test_apply_refuses_paths_out_of_the_repo),
		cmocka_unit_test(test_apply_refuses_links_at_any_component),
	};

	return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
