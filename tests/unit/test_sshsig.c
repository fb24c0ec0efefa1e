/* Unit tests for SSH signature verification, with keys from ssh-keygen and commits signed by git itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "source/sshsig.h"
#include "util.h"

static char dir[64];

static int sh(const char *fmt, ...) ATTR_PRINTF(1, 2);

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *slurp(const char *name)
{
	char p[256];
	FILE *f;
	struct buf b;
	char chunk[1024];
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r");
	assert_non_null(f);
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static const char *const kinds[] = { "ed25519", "rsa", "ecdsa256", "ecdsa384", "ecdsa521" };

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/auriga-sshsig.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	if (sh("cd %s && ssh-keygen -q -t ed25519 -N '' -f ed25519 && ssh-keygen -q -t rsa -b 2048 -N '' -f rsa &&"
	       " ssh-keygen -q -t ecdsa -b 256 -N '' -f ecdsa256 && ssh-keygen -q -t ecdsa -b 384 -N '' -f ecdsa384 &&"
	       " ssh-keygen -q -t ecdsa -b 521 -N '' -f ecdsa521 && ssh-keygen -q -t ed25519 -N '' -f stranger &&"
	       " for k in ed25519 rsa ecdsa256 ecdsa384 ecdsa521; do echo \"$k@example $(cut -d' ' -f1,2 $k.pub)\";"
	       " done > allowed && printf 'the message\\n' > msg", dir) != 0)
		return -1;
	git_libgit2_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", dir);
	git_libgit2_shutdown();
	return 0;
}

/* Signs dir/msg with the key file key under the namespace ns; the signature's text. */
static char *sign_msg(const char *ns, const char *key)
{
	assert_int_equal(sh("cd %s && rm -f msg.sig && ssh-keygen -q -Y sign -n %s -f %s msg 2>/dev/null", dir, ns, key),
			 0);
	return slurp("msg.sig");
}

/* A check's result rc is ERR_REFUSED and *err says want; clears *err. */
static void assert_refused(int rc, struct error **err, const char *want)
{
	assert_int_equal(rc, ERR_REFUSED);
	if (strstr(error_msg(*err), want) == NULL)
		fail_msg("want '%s', got '%s'", want, error_msg(*err));
	error_clear(err);
}

/* Makes a repository dir/name for signed commits into path. */
static void make_repo(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", dir, name);
	assert_int_equal(sh("git init -q -b main %s && cd %s && git config user.name t && git config user.email t@t"
			    " && git config gpg.format ssh", path, path), 0);
}

/* The first line a command prints, cut to a commit id. */
static void read_hex(const char *cmd, char hex[64])
{
	FILE *p = popen(cmd, "r");

	assert_non_null(p);
	assert_non_null(fgets(hex, 64, p));
	pclose(p);
	hex[40] = '\0';
}

/* sig over msg checked under the namespace git. */
static int verify_git(const struct sshsig_signers *s, const char *sig, const char *msg, struct error **err)
{
	return sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", NULL, err);
}

static struct sshsig_signers *load(void)
{
	struct sshsig_signers *s = NULL;
	char p[256];

	snprintf(p, sizeof(p), "%s/allowed", dir);
	assert_int_equal(sshsig_signers_load(&s, p, NULL), 0);
	assert_int_equal(sshsig_signers_count(s), 5);
	return s;
}

static void sign_and_verify_each_key_type(void **state)
{
	struct sshsig_signers *s = load();
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		char *sig, *msg, *who = NULL, name[64];
		struct error *err = NULL;

		sig = sign_msg("git", kinds[i]);
		msg = slurp("msg");
		assert_int_equal(sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", &who, &err), 0);
		snprintf(name, sizeof(name), "%s@example", kinds[i]);
		assert_string_equal(who, name);
		free(who);
		/* One changed byte of the message and the signature no longer holds. */
		msg[0] ^= 1;
		assert_refused(verify_git(s, sig, msg, &err), &err, "does not match");
		free(sig);
		free(msg);
	}
	sshsig_signers_free(s);
}

static void wrong_namespace_and_stranger(void **state)
{
	struct sshsig_signers *s = load();
	struct error *err = NULL;
	char *sig, *msg;

	(void)state;
	sig = sign_msg("file", "ed25519");
	msg = slurp("msg");
	assert_refused(verify_git(s, sig, msg, &err), &err, "namespace 'file', not 'git'");
	free(sig);
	sig = sign_msg("git", "stranger");
	assert_refused(verify_git(s, sig, msg, &err), &err, "not an allowed signer");
	free(sig);
	free(msg);
	sshsig_signers_free(s);
}

static void signed_commits(void **state)
{
	struct sshsig_signers *s = load();
	git_repository *repo = NULL;
	char repo_path[128];
	static const char *const git_kinds[] = { "ed25519", "rsa", "ecdsa256" };
	size_t i;

	(void)state;
	make_repo(repo_path, sizeof(repo_path), "repo");
	for (i = 0; i <= ARRAY_SIZE(git_kinds); i++) {
		char hex[64], *who = NULL;
		struct error *err = NULL;
		char cmd[512];

		if (i < ARRAY_SIZE(git_kinds))
			assert_int_equal(sh("cd %s && echo %zu > f && git add f && git -c user.signingkey=%s/%s commit -q -S -m c%zu",
					    repo_path, i, dir, git_kinds[i], i), 0);
		else
			assert_int_equal(sh("cd %s && echo u > f && git commit -q -am unsigned", repo_path), 0);
		snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD", repo_path);
		read_hex(cmd, hex);
		assert_int_equal(git_repository_open(&repo, repo_path), 0);
		if (i < ARRAY_SIZE(git_kinds)) {
			assert_int_equal(sshsig_verify_commit(s, repo, hex, &who, &err), 0);
			free(who);
		} else {
			assert_refused(sshsig_verify_commit(s, repo, hex, NULL, &err), &err, "is not signed");
		}
		git_repository_free(repo);
	}
	sshsig_signers_free(s);
}

static void tampered_commit(void **state)
{
	struct sshsig_signers *s = load();
	git_repository *repo = NULL;
	struct error *err = NULL;
	char repo_path[128], cmd[512], hex[64];

	(void)state;
	make_repo(repo_path, sizeof(repo_path), "tamper");
	assert_int_equal(sh("cd %s && echo x > f && git add f && git -c user.signingkey=%s/ed25519 commit -q -S -m honest",
			    repo_path, dir), 0);
	/* The same signature over a commit whose message was changed afterwards. */
	snprintf(cmd, sizeof(cmd), "cd %s && git cat-file commit HEAD | sed 's/^honest$/evil/' |"
		 " git hash-object -t commit -w --stdin", repo_path);
	read_hex(cmd, hex);
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_refused(sshsig_verify_commit(s, repo, hex, NULL, &err), &err, "does not match");
	git_repository_free(repo);
	sshsig_signers_free(s);
}

static void signers_file_errors(void **state)
{
	struct sshsig_signers *s = NULL;
	struct error *err = NULL;
	static const char bad[] = "# ok\nalice ssh-ed25519 AAAA\nbob nonsense\n";

	(void)state;
	assert_int_equal(sshsig_signers_parse(&s, bad, strlen(bad), "allowed", &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "allowed:2"));
	error_clear(&err);
}

/* Loads an allowed-signers file of one line: OPTIONS then the ed25519 key. */
static int load_with(const char *opts, struct sshsig_signers **s, struct error **err)
{
	char p[256];

	assert_int_equal(sh("cd %s && echo \"ci@example %s $(cut -d' ' -f1,2 ed25519.pub)\" > allowed-opts", dir, opts), 0);
	snprintf(p, sizeof(p), "%s/allowed-opts", dir);
	return sshsig_signers_load(s, p, err);
}

static void validity_window(void **state)
{
	struct sshsig_signers *s = NULL;
	struct error *err = NULL;
	char *sig, *msg;
	/* 2026-01-01T00:00:00Z and 2026-07-01T12:30:00Z */
	int64_t after = 1767225600, before = 1782909000, t;

	(void)state;
	sig = sign_msg("git", "ed25519");
	msg = slurp("msg");
	assert_int_equal(load_with("namespaces=\\\"git\\\",valid-after=\\\"20260101Z\\\",valid-before=\\\"202607011230Z\\\"",
				   &s, &err), 0);
	/* Inside the window, and on both of its ends: allowed. */
	for (t = after; t <= before; t += (before - after) / 2)
		assert_int_equal(sshsig_verify_at(s, sig, strlen(sig), msg, strlen(msg), "git", &t, 1, NULL, &err), 0);
	t = after - 1;
	assert_refused(sshsig_verify_at(s, sig, strlen(sig), msg, strlen(msg), "git", &t, 1, NULL, &err), &err,
		       "not valid at 2025-12-31T23:59:59Z (valid-after 2026-01-01T00:00:00Z)");
	t = before + 1;
	assert_refused(sshsig_verify_at(s, sig, strlen(sig), msg, strlen(msg), "git", &t, 1, NULL, &err), &err,
		       "(valid-before 2026-07-01T12:30:00Z)");
	/* Every time given must fall inside: one in and one out is refused. */
	{
		int64_t two[2] = { after + 10, before + 10 };

		assert_int_equal(sshsig_verify_at(s, sig, strlen(sig), msg, strlen(msg), "git", two, 2, NULL, &err),
				 ERR_REFUSED);
		error_clear(&err);
	}
	sshsig_signers_free(s);
	/* Seconds and a local time (this test's zone is whatever the machine's is: only the form is checked). */
	assert_int_equal(load_with("valid-before=\\\"20990101000000\\\"", &s, &err), 0);
	assert_int_equal(verify_git(s, sig, msg, &err), 0);
	sshsig_signers_free(s);
	/* A key whose window ended before now is refused by the plain check (now). */
	assert_int_equal(load_with("valid-before=\\\"20200101Z\\\"", &s, &err), 0);
	assert_refused(verify_git(s, sig, msg, &err), &err, "valid-before 2020-01-01T00:00:00Z");
	sshsig_signers_free(s);
	free(sig);
	free(msg);
}

static void signer_option_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "valid-after=\\\"2026\\\"", "allowed-opts:1: valid-after: '2026' is not a time" },
		{ "valid-before=\\\"20261301Z\\\"", "allowed-opts:1: valid-before: '20261301Z' is not a time" },
		{ "valid-before=\\\"20260101250000\\\"", "'20260101250000' is not a time" },
		{ "no-touch-required", "allowed-opts:1: option 'no-touch-required' is not known" },
		{ "verify-required=1", "option 'verify-required' is not known" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct sshsig_signers *s = NULL;
		struct error *err = NULL;

		assert_int_equal(load_with(bad[i][0], &s, &err), ERR_INVALID);
		if (strstr(error_msg(err), bad[i][1]) == NULL)
			fail_msg("%s: got '%s'", bad[i][0], error_msg(err));
		error_clear(&err);
		assert_null(s);
	}
}

static void commit_outside_window(void **state)
{
	struct sshsig_signers *s = NULL;
	git_repository *repo = NULL;
	struct error *err = NULL;
	char repo_path[128], cmd[512], hex[64];

	(void)state;
	/* A commit made (so it says) in 2021, by a key allowed from 2022 on. */
	make_repo(repo_path, sizeof(repo_path), "window");
	assert_int_equal(sh("cd %s && echo x > f && git add f && GIT_COMMITTER_DATE='2021-06-01T00:00:00Z'"
			    " git -c user.signingkey=%s/ed25519 commit -q -S -m backdated", repo_path, dir), 0);
	snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD", repo_path);
	read_hex(cmd, hex);
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(load_with("valid-after=\\\"20220101Z\\\"", &s, &err), 0);
	assert_refused(sshsig_verify_commit(s, repo, hex, NULL, &err), &err,
		       "not valid at 2021-06-01T00:00:00Z (valid-after 2022-01-01T00:00:00Z)");
	sshsig_signers_free(s);
	assert_int_equal(load_with("valid-after=\\\"20200101Z\\\"", &s, &err), 0);
	assert_int_equal(sshsig_verify_commit(s, repo, hex, NULL, &err), 0);
	sshsig_signers_free(s);
	git_repository_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_and_verify_each_key_type),
		cmocka_unit_test(wrong_namespace_and_stranger),
		cmocka_unit_test(signed_commits),
		cmocka_unit_test(tampered_commit),
		cmocka_unit_test(signers_file_errors),
		cmocka_unit_test(validity_window),
		cmocka_unit_test(signer_option_errors),
		cmocka_unit_test(commit_outside_window),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
