/* The settings table: precedence of sources, types and bounds, file errors with lines, reload, dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/config.h"
#include "runtime/log.h"
#include "testmain.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char file_path[64];

static const char *write_conf(const char *text)
{
	FILE *f;

	snprintf(file_path, sizeof(file_path), "/tmp/auriga-conf-%d.yml", (int)getpid());
	f = fopen(file_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return file_path;
}

/* Loads with argv (NULL-terminated, without the command name) and envp. */
static int load(struct config **c, const char *const *args, char *const *envp, struct error **e)
{
	char *argv[32] = { (char *)"run" };
	int argc = 1;

	while (args && args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return config_load(c, argc, argv, envp, NULL, NULL, e);
}

static void test_defaults(void **state)
{
	char *envp[] = { NULL };
	struct config *c = NULL;
	struct error *e = NULL;

	(void)state;
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:8080");
	assert_int_equal(config_source_of(c, CFG_LISTEN), CFG_SRC_DEFAULT);
	assert_int_equal(config_ms(c, CFG_POLL_INTERVAL), 60000);
	assert_int_equal(config_int(c, CFG_HTTP_MAX_BODY), 1048576);
	assert_true(config_bool(c, CFG_NOTES_PUSH));
	assert_string_equal(config_str(c, CFG_LOG_FORMAT), "logfmt");
	assert_int_equal(config_enum(c, CFG_LOG_LEVEL), 1);
	assert_string_equal(config_str(c, CFG_API_TOKEN_FILE), "");
	config_free(c);
}

static void test_precedence(void **state)
{
	const char *path = write_conf("# settings\nlisten: 127.0.0.1:1111\nbranch: release\n"
				      "poll-interval: 2m\nextra-labels:\n  - team=dlt\n  - env=prod\n");
	char conf_env[128];
	char *env_listen = (char *)"AURIGA_LISTEN=127.0.0.1:2222";
	char *envp[] = { conf_env, env_listen, NULL };
	const char *flags[] = { "--listen", "127.0.0.1:3333", NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	const char *const *labels;
	size_t n;

	(void)state;
	snprintf(conf_env, sizeof(conf_env), "AURIGA_CONFIG=%s", path);
	assert_int_equal(load(&c, flags, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:3333");
	assert_int_equal(config_source_of(c, CFG_LISTEN), CFG_SRC_FLAG);
	assert_string_equal(config_origin(c, CFG_LISTEN), "--listen");
	assert_string_equal(config_str(c, CFG_BRANCH), "release");
	assert_int_equal(config_ms(c, CFG_POLL_INTERVAL), 120000);
	labels = config_list(c, CFG_EXTRA_LABELS, &n);
	assert_int_equal(n, 2);
	assert_string_equal(labels[0], "team=dlt");
	assert_string_equal(labels[1], "env=prod");
	config_free(c);

	/* Without the flag the environment wins over the file. */
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:2222");
	assert_string_equal(config_origin(c, CFG_LISTEN), "AURIGA_LISTEN");
	config_free(c);

	/* Without either, the file's value, with its line and column. */
	envp[1] = NULL;
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:1111");
	assert_int_equal(config_source_of(c, CFG_LISTEN), CFG_SRC_FILE);
	assert_true(str_has_suffix(config_origin(c, CFG_LISTEN), ".yml:2:9"));
	config_free(c);

	/* --config=FILE on the command line too, and --key=value syntax. */
	{
		char conf_flag[128];
		const char *f2[] = { conf_flag, "--branch=hotfix", NULL };
		char *noenv[] = { NULL };

		snprintf(conf_flag, sizeof(conf_flag), "--config=%s", path);
		assert_int_equal(load(&c, f2, noenv, &e), 0);
		assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:1111");
		assert_string_equal(config_str(c, CFG_BRANCH), "hotfix");
		config_free(c);
	}
	unlink(path);
}

static void test_types_and_bounds(void **state)
{
	static const struct {
		const char *args[4];
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ { "--poll-interval", "500ms" }, "--poll-interval: poll-interval: '500ms' is out of range [1s, 24h]" },
		{ { "--poll-interval", "25h" }, "out of range" },
		{ { "--poll-interval", "1h30m" }, NULL },
		{ { "--poll-interval", "90" }, NULL },
		{ { "--poll-interval", "5 s" }, "is not a duration" },
		{ { "--poll-interval", "-5s" }, "is not a duration" },
		{ { "--max-probes", "0" }, "--max-probes: max-probes: 0 is out of range [1, 256]" },
		{ { "--max-probes", "257" }, "out of range" },
		{ { "--max-probes", "12x" }, "'12x' is not an integer" },
		{ { "--max-probes", "99999999999999999999" }, "is not an integer" },
		{ { "--log-level", "loud" }, "'loud' is not one of debug, info, warn, error" },
		{ { "--log-format=json" }, NULL },
		{ { "--notes-push=maybe" }, "is not a boolean" },
		{ { "--no-notes-push" }, NULL },
		{ { "--no-listen" }, "unknown option '--no-listen'" },
		{ { "--bogus", "1" }, "unknown option '--bogus'" },
		{ { "-x" }, "unknown option '-x'" },
		{ { "--listen" }, "--listen needs a value" },
		{ { "--listen", "nope" }, "listen: must be HOST:PORT" },
		{ { "--listen", "127.0.0.1:99999" }, "listen: must be HOST:PORT" },
		{ { "--listen", ":9090" }, NULL },
		{ { "--listen", "[::1]:9090" }, NULL },
		{ { "--tls-cert", "/c.pem" }, "--tls-cert: tls-cert: tls-cert and tls-key go together" },
		{ { "--docker-tls-ca", "/ca.pem" }, "docker TLS settings need a tcp:// host" },
		{ { "--docker-host", "http://x" }, "must start with unix:// or tcp://" },
		{ { "--instance", "Bad_Name" }, "instance: must be 1 to 63" },
		{ { "--notes-ref", "refs/heads/x" }, "must start with refs/notes/" },
		{ { "--extra-labels", "a=b,noval" }, "items must be KEY=VALUE" },
		{ { "--extra-labels", "auriga.io/x=1" }, "reserved" },
		{ { "--https-token", "abc" }, "a secret cannot be given on the command line: use AURIGA_HTTPS_TOKEN" },
		{ { "--lease", "--repo", "/specs.git" }, "lease: needs signing-key-file" },
		{ { "--lease", "--repo=/specs.git", "--signing-key-file", "/key" }, NULL },
	};
	char *envp[] = { NULL };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config *c = NULL;
		struct error *e = NULL;
		int rc = load(&c, cases[i].args, envp, &e);

		print_message("# %s %s -> %s\n", cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "",
			      rc < 0 ? error_msg(e) : "ok");
		if (!cases[i].error) {
			assert_int_equal(rc, 0);
		} else {
			assert_true(rc < 0);
			assert_null(c);
			assert_non_null(strstr(error_msg(e), cases[i].error));
		}
		error_free(e);
		config_free(c);
	}
}

static void test_env_errors(void **state)
{
	char *envp[] = { (char *)"AURIGA_MAX_PROBES=1000", NULL };
	struct config *c = NULL;
	struct error *e = NULL;

	(void)state;
	assert_true(load(&c, NULL, envp, &e) < 0);
	assert_string_equal(error_msg(e), "AURIGA_MAX_PROBES: max-probes: 1000 is out of range [1, 256]");
	error_free(e);
}

static void test_file_errors(void **state)
{
	/* Each error names the file, the line and column, and the setting when there is one. */
	static const struct {
		const char *text;
		const char *error;	/* the whole message after "FILE" */
	} cases[] = {
		{ "listen: 127.0.0.1:1\nbogus: 1\n", ":2:1: bogus: unknown setting" },
		{ "branch: a\n\nbranch: b\n", ":3:1: duplicate key \"branch\" (first at line 1)" },
		{ "max-probes: many\n", ":1:13: max-probes: 'many' is not an integer" },
		{ "poll-interval: 0s\n", ":1:16: poll-interval: '0s' is out of range [1s, 24h]" },
		{ "# settings\n\n  poll-interval: 5x\n", ":3:18: poll-interval: '5x' is not a duration (like 500ms, 30s, 5m, 1h)" },
		{ "repo:\n  url: x\n", ":2:3: repo: value must be a scalar or a list, got a mapping" },
		{ "branch: {a: 1}\n", ":1:9: branch: value must be a scalar or a list, got a mapping" },
		{ "branch: [a, b]\n", ":1:9: branch: a list is not allowed here" },
		{ "extra-labels:\n  - a=1\n  - {b: 2}\n", ":3:5: extra-labels: list items must be scalars, got a mapping" },
		{ "extra-labels:\n  - a=1\n  - [b]\n", ":3:5: extra-labels: list items must be scalars, got a list" },
		{ "a: &x 1\nbranch: *x\n", ":1:1: a: unknown setting" },
		{ "branch: *x\n", ":1:9: unknown anchor \"x\"" },
		{ "listen: [\n", ":2:1: yaml: did not find expected node content while parsing a flow node at line 2" },
		{ "- a\n- b\n", ":1:1: the file must be a mapping of setting names to values, got a list" },
		{ "just text\n", ":1:1: the file must be a mapping of setting names to values, got a string" },
		{ "branch: a\n---\nlisten: :1\n", ":3:1: the file holds one YAML document, this is a second" },
		{ "config: /etc/other.yml\n", ":1:1: config: cannot be set in the config file" },
		{ "[a]: 1\n", ":1:1: mapping keys must be scalars, got a list" },
		{ "extra-labels:\n  - a=1,b=2\n", ":2:5: extra-labels: list items cannot hold ','" },
		{ "branch: !!binary aGk=\n", ":1:9: unsupported tag \"tag:yaml.org,2002:binary\"" },
		{ "tls-cert: /x.pem\n", ":1:11: tls-cert: tls-cert and tls-key go together" },
		/* The loader's bounds hold for the settings file as for the specs. */
		{ "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		  "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
		  ":5:33: document expands to more than the limit of 100000 nodes (alias expansion)" },
	};
	char env[128];
	char *envp[] = { env, NULL };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config *c = NULL;
		struct error *e = NULL;
		const char *path = write_conf(cases[i].text);
		char want[256];

		snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].error);
		assert_true(load(&c, NULL, envp, &e) < 0);
		print_message("# %s\n", error_msg(e));
		assert_string_equal(error_msg(e), want);
		error_free(e);
		unlink(path);
	}
	/* Nesting deeper than the loader's limit of 64 levels is refused at the level that breaks it. */
	{
		char deep[512], want[256];
		struct config *c = NULL;
		struct error *e = NULL;
		const char *path;
		size_t n = 0, d;

		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "extra-labels: ");
		for (d = 0; d < 70; d++)
			deep[n++] = '[';
		deep[n] = '\0';
		path = write_conf(deep);
		snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
		snprintf(want, sizeof(want), "%s:1:78: nesting deeper than the limit of 64 levels", path);
		assert_true(load(&c, NULL, envp, &e) < 0);
		assert_string_equal(error_msg(e), want);
		error_free(e);
		unlink(path);
	}
	/* A file over the bound is refused before it is parsed. */
	{
		struct config *c = NULL;
		struct error *e = NULL;
		FILE *f;
		const char *path = write_conf("");

		f = fopen(path, "w");
		assert_non_null(f);
		for (i = 0; i < 1024 * 1024 / 16 + 1; i++)
			fputs("# sixteen bytes\n", f);
		fclose(f);
		snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
		assert_true(load(&c, NULL, envp, &e) < 0);
		print_message("# %s\n", error_msg(e));
		assert_non_null(strstr(error_msg(e), path));
		assert_non_null(strstr(error_msg(e), "larger than"));
		error_free(e);
		unlink(path);
	}
	/* A missing file names itself. */
	{
		struct config *c = NULL;
		struct error *e = NULL;

		snprintf(env, sizeof(env), "AURIGA_CONFIG=/nonexistent/auriga.yml");
		assert_true(load(&c, NULL, envp, &e) < 0);
		assert_non_null(strstr(error_msg(e), "'/nonexistent/auriga.yml'"));
		error_free(e);
	}
}

static void test_empty_and_null_values(void **state)
{
	const char *path = write_conf("# only comments\n");
	char env[128];
	char *envp[] = { env, NULL };
	struct config *c = NULL;
	struct error *e = NULL;

	(void)state;
	snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	config_free(c);
	write_conf("ssh-key: ~\nrepo: \"ssh://git@host/specs.git\"\nnotes-push: no\n");
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_SSH_KEY), "");
	assert_string_equal(config_str(c, CFG_REPO), "ssh://git@host/specs.git");
	assert_false(config_bool(c, CFG_NOTES_PUSH));
	config_free(c);
	unlink(path);
}

static void test_reload(void **state)
{
	const char *path = write_conf("branch: one\nmax-probes: 4\nlisten: 127.0.0.1:5000\n");
	char env[128];
	char *envp[] = { env, (char *)"AURIGA_MAX_PROBES=7", NULL };
	const char *flags[] = { "--listen", "127.0.0.1:6000", NULL };
	struct config *c = NULL, *before;
	struct error *e = NULL;

	(void)state;
	snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
	assert_int_equal(load(&c, flags, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_BRANCH), "one");
	/* A good file: applied, and the environment and flags still win. */
	write_conf("branch: two\nmax-probes: 4\nlisten: 127.0.0.1:5001\n");
	assert_int_equal(config_reload_file(&c, &e), 0);
	assert_string_equal(config_str(c, CFG_BRANCH), "two");
	assert_int_equal(config_int(c, CFG_MAX_PROBES), 7);
	assert_string_equal(config_str(c, CFG_LISTEN), "127.0.0.1:6000");
	/* A bad file: refused whole, the old settings stay. */
	before = c;
	write_conf("branch: three\nmax-probes: lots\n");
	assert_true(config_reload_file(&c, &e) < 0);
	assert_ptr_equal(c, before);
	assert_string_equal(config_str(c, CFG_BRANCH), "two");
	assert_non_null(strstr(error_msg(e), ":2:13: max-probes: 'lots' is not an integer"));
	assert_non_null(strstr(error_msg(e), "reload refused"));
	error_clear(&e);
	/* A file that vanished: refused too. */
	unlink(path);
	assert_true(config_reload_file(&c, &e) < 0);
	assert_string_equal(config_str(c, CFG_BRANCH), "two");
	error_clear(&e);
	config_free(c);
}

static char *capture(void (*fn)(const struct config *, FILE *), const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fn(c, f);
	fclose(f);
	return text;
}

static void usage_adapter(const struct config *c, FILE *f)
{
	(void)c;
	config_usage(f);
}

static void test_dump_masks_secrets(void **state)
{
	char *envp[] = { (char *)"AURIGA_HTTPS_TOKEN=hunter2-very-secret", NULL };
	const char *flags[] = { "--branch", "prod", NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	char *text;

	(void)state;
	assert_int_equal(load(&c, flags, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_HTTPS_TOKEN), "hunter2-very-secret");
	text = capture(config_dump, c);
	assert_null(strstr(text, "hunter2"));
	assert_non_null(strstr(text, "https-token"));
	assert_non_null(strstr(text, "********"));
	assert_non_null(strstr(text, "# AURIGA_HTTPS_TOKEN"));
	assert_non_null(strstr(text, "prod"));
	assert_non_null(strstr(text, "# --branch"));
	assert_non_null(strstr(text, "127.0.0.1:8080"));
	free(text);
	config_free(c);
}

/* Every row has a flag and variable name that follow the rule, and --help and the man page list it. */
static void test_table_usage_and_man_page(void **state)
{
	char *usage = capture(usage_adapter, NULL), *man = NULL;
	FILE *f = fopen("doc/auriga.1", "r");
	size_t len = 0;
	int k;

	(void)state;
	assert_non_null(f);
	assert_true(getdelim(&man, &len, '\0', f) > 0);
	fclose(f);
	for (k = 0; k < CFG__COUNT; k++) {
		const struct config_spec *s = config_spec((enum config_key)k);
		char want[160], upper[96];
		size_t i;

		for (i = 0; s->name[i] && i + 1 < sizeof(upper); i++)
			upper[i] = s->name[i] == '-' ? '_' : (char)(s->name[i] - (s->name[i] >= 'a' && s->name[i] <= 'z' ? 32 : 0));
		upper[i] = '\0';
		snprintf(want, sizeof(want), "AURIGA_%s", upper);
		assert_string_equal(s->env, want);
		assert_int_equal(config_lookup(s->name), k);
		assert_non_null(strstr(usage, s->env));
		assert_non_null(s->help);
		/* troff escapes the dashes of a flag: \-\-name */
		snprintf(want, sizeof(want), "\\fB%s\\fR", s->env);
		if (!strstr(man, want))
			fail_msg("doc/auriga.1 does not describe %s", s->env);
		if (!(s->flags & CFG_SECRET)) {
			char flag[128];
			size_t j, o = 0;

			for (j = 0; s->name[j] && o + 3 < sizeof(flag); j++) {
				if (s->name[j] == '-')
					flag[o++] = '\\';
				flag[o++] = s->name[j];
			}
			flag[o] = '\0';
			snprintf(want, sizeof(want), "\\-\\-%s", flag);
			if (!strstr(man, want))
				fail_msg("doc/auriga.1 does not describe --%s", s->name);
		}
	}
	free(usage);
	free(man);
}

static void test_duration_parse(void **state)
{
	static const struct {
		const char *text;
		long ms;
	} ok[] = { { "1", 1000 }, { "250ms", 250 }, { "30s", 30000 }, { "5m", 300000 },
		   { "2h", 7200000 }, { "1h30m", 5400000 }, { "1m30s500ms", 90500 },
		   /* The specs' syntax, the same in settings: fractions and small units. */
		   { "1.5s", 1500 }, { "0.25m", 15000 }, { "1500us", 1 } };
	static const char *const bad[] = { "", "s", "1x", "-1s", "1 s", "1.5", "99999999999999999999h" };
	size_t i;
	long ms;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(config_parse_duration(ok[i].text, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(config_parse_duration(bad[i], &ms), -1);
}

/* log-level and log-format reach the logger: JSON lines, and nothing below the level. */
static void test_log_setup(void **state)
{
	const char *flags[] = { "--log-format", "json", "--log-level", "warn", NULL };
	char *envp[] = { NULL };
	char path[] = "/tmp/auriga-log-XXXXXX", line[512];
	struct config *c = NULL;
	struct error *e = NULL;
	int fd = mkstemp(path), saved = dup(2);
	FILE *f;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(load(&c, flags, envp, &e), 0);
	config_log_setup(c);
	fflush(stderr);
	dup2(fd, 2);
	log_info("test", "hidden", "k", "v", LOG_END);
	log_warn("test", "shown", "k", "v", LOG_END);
	dup2(saved, 2);
	close(saved);
	log_setup(LOG_INFO, LOG_LOGFMT);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_true(line[0] == '{');
	assert_non_null(strstr(line, "\"msg\":\"shown\""));
	assert_non_null(strstr(line, "\"level\":\"warn\""));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	config_free(c);
}

static void test_positional_and_extra(void **state)
{
	char *argv[] = { (char *)"run", (char *)"--check", (char *)"specs/", (char *)"-h",
			 (char *)"--", (char *)"--listen", NULL };
	char *envp[] = { NULL };
	int check = 0, help = 0;
	struct config_extra_flag extra[] = {
		{ "check", &check, NULL, NULL, NULL, 0, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct config *c = NULL;
	struct error *e = NULL;
	char **pos = NULL;

	(void)state;
	assert_int_equal(config_load(&c, 6, argv, envp, extra, &pos, &e), 0);
	assert_int_equal(check, 1);
	assert_int_equal(help, 1);
	assert_string_equal(pos[0], "specs/");
	assert_string_equal(pos[1], "--listen");
	assert_null(pos[2]);
	free(pos);
	config_free(c);
}

/* https-token-file: the token is read from it into https-token, never shown, re-read on reload. */
static void test_https_token_file(void **state)
{
	char tok_path[64], env[128], want[256];
	char *envp[] = { env, NULL, NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	const char *path;
	char *text;
	FILE *f;

	(void)state;
	snprintf(tok_path, sizeof(tok_path), "/tmp/auriga-token-%d", (int)getpid());
	f = fopen(tok_path, "w");
	assert_non_null(f);
	fputs("ghp-token-value-1\n", f);
	fclose(f);
	snprintf(env, sizeof(env), "AURIGA_HTTPS_TOKEN_FILE=%s", tok_path);
	assert_int_equal(load(&c, NULL, envp, &e), 0);
	assert_string_equal(config_str(c, CFG_HTTPS_TOKEN), "ghp-token-value-1");
	assert_string_equal(config_origin(c, CFG_HTTPS_TOKEN), tok_path);
	text = capture(config_dump, c);
	assert_null(strstr(text, "ghp-token"));
	free(text);
	/* A reload reads the file again. */
	f = fopen(tok_path, "w");
	assert_non_null(f);
	fputs("ghp-token-value-2\r\n", f);
	fclose(f);
	assert_int_equal(config_reload_file(&c, &e), 0);
	assert_string_equal(config_str(c, CFG_HTTPS_TOKEN), "ghp-token-value-2");
	config_free(c);
	c = NULL;

	/* Both the token and its file: refused. */
	envp[1] = (char *)"AURIGA_HTTPS_TOKEN=other";
	assert_true(load(&c, NULL, envp, &e) < 0);
	assert_string_equal(error_msg(e),
			    "AURIGA_HTTPS_TOKEN_FILE: https-token-file: https-token-file and https-token cannot both be set");
	error_clear(&e);
	envp[1] = NULL;

	/* From the settings file: an empty token file, and a missing one, name the line. */
	f = fopen(tok_path, "w");
	assert_non_null(f);
	fputs("\n", f);
	fclose(f);
	snprintf(want, sizeof(want), "https-token-file: %s\n", tok_path);
	path = write_conf(want);
	snprintf(env, sizeof(env), "AURIGA_CONFIG=%s", path);
	assert_true(load(&c, NULL, envp, &e) < 0);
	snprintf(want, sizeof(want), "%s:1:19: https-token-file: the file must hold the token on one line", path);
	assert_string_equal(error_msg(e), want);
	error_clear(&e);
	write_conf("\nhttps-token-file: /nonexistent/token\n");
	assert_true(load(&c, NULL, envp, &e) < 0);
	print_message("# %s\n", error_msg(e));
	snprintf(want, sizeof(want), "%s:2:19: https-token-file: ", path);
	assert_true(str_has_prefix(error_msg(e), want));
	assert_non_null(strstr(error_msg(e), "'/nonexistent/token'"));
	error_clear(&e);
	unlink(path);
	unlink(tok_path);
}

/* A repo URL's credentials are never shown: not in the dump, not in a reload's log. */
static void test_repo_credentials_hidden(void **state)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{ "https://auriga:s3cret@git.example.com/specs.git", "https://***@git.example.com/specs.git" },
		{ "https://ghp_abc123@github.com/o/r.git", "https://***@github.com/o/r.git" },
		{ "http://u:p@10.0.0.1:8080/x?y=@z", "http://***@10.0.0.1:8080/x?y=@z" },
		{ "ssh://git:pw@host:22/specs.git", "ssh://git:***@host:22/specs.git" },
		{ "ssh://git@host/specs.git", "ssh://git@host/specs.git" },
		{ "git@github.com:o/r.git", "git@github.com:o/r.git" },
		{ "https://github.com/o/r@v1.git", "https://github.com/o/r@v1.git" },
		{ "/srv/specs.git", "/srv/specs.git" },
	};
	char env[256];
	char *envp[] = { env, NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *shown, *text;

		snprintf(env, sizeof(env), "AURIGA_REPO=%s", cases[i].url);
		assert_int_equal(load(&c, NULL, envp, &e), 0);
		assert_string_equal(config_str(c, CFG_REPO), cases[i].url);
		shown = config_shown(c, CFG_REPO);
		assert_string_equal(shown, cases[i].shown);
		text = capture(config_dump, c);
		assert_non_null(strstr(text, cases[i].shown));
		assert_true(strcmp(cases[i].url, cases[i].shown) == 0 || strstr(text, cases[i].url) == NULL);
		free(text);
		free(shown);
		config_free(c);
	}
}

/* Loads argv (argv[0] the subcommand) with envp; what config_load wrote on stderr goes to *said (free it). */
static int load_cmd(struct config **c, char **argv, char *const *envp, char **said, struct error **e)
{
	char path[] = "/tmp/auriga-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), argc = 0, rc;
	FILE *f;
	long n;

	assert_true(fd >= 0 && saved >= 0);
	while (argv[argc])
		argc++;
	fflush(stderr);
	dup2(fd, 2);
	rc = config_load(c, argc, argv, envp, NULL, NULL, e);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*said = xcalloc(1, (size_t)n + 1);
	assert_int_equal(fread(*said, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return rc;
}

/* Docker's own variables sit below every source of the table: default < DOCKER_* < file < AURIGA_* < flag. */
static void test_docker_variables(void **state)
{
	const char *path = write_conf("docker-host: unix:///file.sock\n");
	char conf_env[128];
	char *envp[] = { (char *)"DOCKER_HOST=unix:///docker.sock", (char *)"DOCKER_TLS_VERIFY=1", NULL, NULL, NULL };
	char *run[] = { (char *)"run", NULL, NULL, NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	char *said = NULL;

	(void)state;
	snprintf(conf_env, sizeof(conf_env), "AURIGA_CONFIG=%s", path);
	/* TLS on (from DOCKER_TLS_VERIFY) to a unix socket: refused, naming Docker's variable. */
	assert_true(load_cmd(&c, run, envp, &said, &e) < 0);
	assert_string_equal(error_msg(e), "DOCKER_TLS_VERIFY: docker-tls-verify: docker TLS settings need a tcp:// host");
	error_clear(&e);
	free(said);
	envp[1] = (char *)"DOCKER_CERT_PATH=/certs";
	assert_int_equal(load_cmd(&c, run, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_DOCKER_HOST), "unix:///docker.sock");
	assert_string_equal(config_origin(c, CFG_DOCKER_HOST), "DOCKER_HOST");
	/* DOCKER_CERT_PATH without TLS is left unused, as docker does. */
	assert_string_equal(config_str(c, CFG_DOCKER_CERT_PATH), "/certs");
	assert_false(config_bool(c, CFG_DOCKER_TLS_VERIFY));
	config_free(c);
	free(said);
	envp[2] = conf_env;
	assert_int_equal(load_cmd(&c, run, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_DOCKER_HOST), "unix:///file.sock");
	config_free(c);
	free(said);
	envp[3] = (char *)"AURIGA_DOCKER_HOST=unix:///auriga.sock";
	assert_int_equal(load_cmd(&c, run, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_DOCKER_HOST), "unix:///auriga.sock");
	config_free(c);
	free(said);
	run[1] = (char *)"--docker-host=unix:///flag.sock";
	assert_int_equal(load_cmd(&c, run, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_DOCKER_HOST), "unix:///flag.sock");
	config_free(c);
	free(said);
	/* An empty DOCKER_HOST is none, and the table's own docker-cert-path needs TLS. */
	{
		char *env2[] = { (char *)"DOCKER_HOST=", (char *)"AURIGA_DOCKER_CERT_PATH=/c", NULL };
		char *plan[] = { (char *)"plan", NULL };

		assert_true(load_cmd(&c, plan, env2, &said, &e) < 0);
		assert_string_equal(error_msg(e),
				    "AURIGA_DOCKER_CERT_PATH: docker-cert-path: needs docker-tls-verify (TLS to a tcp:// host)");
		error_clear(&e);
		free(said);
		env2[1] = NULL;
		assert_int_equal(load_cmd(&c, plan, env2, &said, &e), 0);
		assert_string_equal(config_str(c, CFG_DOCKER_HOST), "unix:///var/run/docker.sock");
		config_free(c);
		free(said);
	}
	unlink(path);
}

/* Each subcommand takes its rows by the same names; another's setting is refused, its variable not read. */
static void test_command_rows(void **state)
{
	static const struct {
		const char *argv[4];
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ { "apply", "--branch", "x" }, NULL },
		{ { "status", "--branch", "x" }, NULL },
		{ { "plan", "--docker-host", "unix:///d.sock" }, NULL },
		{ { "docker", "--docker-tls-verify", "--docker-host=tcp://h:1" }, NULL },
		{ { "promote", "--listen", ":7" }, NULL },
		{ { "pause", "--listen", ":7" }, NULL },
		{ { "resume", "--api-token-file=/t", "--listen=:7" }, NULL },
		{ { "abort", "--instance=blue", "--listen=:7" }, NULL },
		{ { "rollback", "--listen", ":7" }, NULL },
		{ { "rollback", "--api-token-file=/t", "--listen=:7" }, NULL },
		{ { "pause", "--repo", "x" }, "--repo is not a setting of 'auriga pause'" },
		{ { "resume", "--docker-host", "unix:///x" }, "--docker-host is not a setting of 'auriga resume'" },
		{ { "healthcheck", "--listen", ":9" }, NULL },
		{ { "validate", "--policy-file", "/p" }, NULL },
		{ { "apply", "--listen", ":1" }, "--listen is not a setting of 'auriga apply'" },
		{ { "validate", "--repo", "x" }, "--repo is not a setting of 'auriga validate'" },
		{ { "healthcheck", "--docker-host", "unix:///x" }, "--docker-host is not a setting of 'auriga healthcheck'" },
		{ { "plan", "--notes-ref", "refs/notes/x" }, "--notes-ref is not a setting of 'auriga plan'" },
		{ { "run", "--ref", "x" }, "unknown option '--ref'" },
		{ { "status", "-H", "unix:///x" }, "unknown option '-H'" },
	};
	char *envp[] = { (char *)"AURIGA_LISTEN=not-an-address", NULL };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[4] = { NULL };
		struct config *c = NULL;
		struct error *e = NULL;
		char *said = NULL;
		int j, rc;

		for (j = 0; j < 3 && cases[i].argv[j]; j++)
			argv[j] = (char *)cases[i].argv[j];
		rc = load_cmd(&c, argv, envp, &said, &e);
		print_message("# %s %s -> %s\n", argv[0], argv[1], rc < 0 ? error_msg(e) : "ok");
		if (cases[i].error) {
			assert_true(rc < 0);
			assert_string_equal(error_msg(e), cases[i].error);
		} else {
			assert_int_equal(rc, 0);
		}
		error_free(e);
		config_free(c);
		free(said);
	}
}

/* The old spellings: the new setting set, one deprecation line each however often given, a list adding up. */
static void test_old_spellings(void **state)
{
	char *apply[] = { (char *)"apply", (char *)"--ref", (char *)"rel", (char *)"--label", (char *)"a=1",
			  (char *)"--label=b=2", (char *)"--ref=rel2", (char *)"--specs-path", (char *)"sub",
			  (char *)"--timeout", (char *)"7", NULL };
	char *docker[] = { (char *)"docker", (char *)"-H", (char *)"tcp://h:2376", (char *)"--tlsverify",
			   (char *)"--tlscacert", (char *)"/ca", (char *)"--tlscert", (char *)"/c", (char *)"--tlskey",
			   (char *)"/k", NULL };
	char *envp[] = { NULL };
	struct config *c = NULL;
	struct error *e = NULL;
	const char *const *labels;
	char *said = NULL;
	size_t n;

	(void)state;
	assert_int_equal(load_cmd(&c, apply, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_BRANCH), "rel2");
	assert_string_equal(config_str(c, CFG_REPO_PATH), "sub");
	assert_int_equal(config_ms(c, CFG_GIT_TIMEOUT), 7000);
	labels = config_list(c, CFG_EXTRA_LABELS, &n);
	assert_int_equal(n, 2);
	assert_string_equal(labels[0], "a=1");
	assert_string_equal(labels[1], "b=2");
	assert_string_equal(said, "auriga apply: --ref is deprecated, use --branch\n"
				  "auriga apply: --label is deprecated, use --extra-labels\n"
				  "auriga apply: --specs-path is deprecated, use --repo-path\n"
				  "auriga apply: --timeout is deprecated, use --git-timeout\n");
	config_free(c);
	free(said);
	assert_int_equal(load_cmd(&c, docker, envp, &said, &e), 0);
	assert_string_equal(config_str(c, CFG_DOCKER_HOST), "tcp://h:2376");
	assert_true(config_bool(c, CFG_DOCKER_TLS_VERIFY));
	assert_string_equal(config_str(c, CFG_DOCKER_TLS_CA), "/ca");
	assert_string_equal(config_str(c, CFG_DOCKER_TLS_CERT), "/c");
	assert_string_equal(config_str(c, CFG_DOCKER_TLS_KEY), "/k");
	assert_non_null(strstr(said, "auriga docker: -H is deprecated, use --docker-host\n"));
	assert_non_null(strstr(said, "auriga docker: --tlsverify is deprecated, use --docker-tls-verify\n"));
	config_free(c);
	free(said);
}

/* A subcommand's --help: its own options, then exactly the rows it takes, each once. */
static void test_usage_per_command(void **state)
{
	int help = 0, json = 0;
	const struct config_extra_flag extra[] = {
		{ "json", &json, NULL, NULL, "one JSON document", 0, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int k;

	(void)state;
	assert_non_null(f);
	config_usage_cmd(f, "plan", extra);
	fclose(f);
	assert_non_null(strstr(text, "  --json                     one JSON document\n"));
	for (k = 0; k < CFG__COUNT; k++) {
		const struct config_spec *s = config_spec((enum config_key)k);
		char want[128];
		const char *at;
		int seen = 0;

		/* "   $VAR" ends the flag's line, or is followed by Docker's variable. */
		snprintf(want, sizeof(want), "   $%s", s->env);
		for (at = strstr(text, want); at; at = strstr(at + 1, want))
			seen += at[strlen(want)] == '\n' || at[strlen(want)] == ',';
		if (seen != ((config_cmds((enum config_key)k) & CFG_CMD_PLAN) ? 1 : 0))
			fail_msg("plan's --help lists %s %d times", s->name, seen);
	}
	assert_non_null(strstr(text, "--docker-host URL   $AURIGA_DOCKER_HOST, else $DOCKER_HOST\n"));
	free(text);
}

TEST_MAIN(
	cmocka_unit_test(test_docker_variables),
	cmocka_unit_test(test_command_rows),
	cmocka_unit_test(test_old_spellings),
	cmocka_unit_test(test_usage_per_command),
	cmocka_unit_test(test_defaults),
	cmocka_unit_test(test_precedence),
	cmocka_unit_test(test_types_and_bounds),
	cmocka_unit_test(test_env_errors),
	cmocka_unit_test(test_file_errors),
	cmocka_unit_test(test_empty_and_null_values),
	cmocka_unit_test(test_reload),
	cmocka_unit_test(test_dump_masks_secrets),
	cmocka_unit_test(test_table_usage_and_man_page),
	cmocka_unit_test(test_duration_parse),
	cmocka_unit_test(test_log_setup),
	cmocka_unit_test(test_positional_and_extra),
	cmocka_unit_test(test_https_token_file),
	cmocka_unit_test(test_repo_credentials_hidden))
