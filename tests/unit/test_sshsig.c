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

		assert_int_equal(sh("cd %s && rm -f msg.sig && ssh-keygen -q -Y sign -n git -f %s msg 2>/dev/null", dir,
				    kinds[i]), 0);
		sig = slurp("msg.sig");
		msg = slurp("msg");
		assert_int_equal(sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", &who, &err), 0);
		snprintf(name, sizeof(name), "%s@example", kinds[i]);
		assert_string_equal(who, name);
		free(who);
		/* One changed byte of the message and the signature no longer holds. */
		msg[0] ^= 1;
		assert_int_equal(sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", NULL, &err), ERR_REFUSED);
		assert_non_null(strstr(error_msg(err), "does not match"));
		error_clear(&err);
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
	assert_int_equal(sh("cd %s && rm -f msg.sig && ssh-keygen -q -Y sign -n file -f ed25519 msg 2>/dev/null", dir), 0);
	sig = slurp("msg.sig");
	msg = slurp("msg");
	assert_int_equal(sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", NULL, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "namespace 'file', not 'git'"));
	error_clear(&err);
	free(sig);
	assert_int_equal(sh("cd %s && rm -f msg.sig && ssh-keygen -q -Y sign -n git -f stranger msg 2>/dev/null", dir), 0);
	sig = slurp("msg.sig");
	assert_int_equal(sshsig_verify(s, sig, strlen(sig), msg, strlen(msg), "git", NULL, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "not an allowed signer"));
	error_clear(&err);
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
	snprintf(repo_path, sizeof(repo_path), "%s/repo", dir);
	assert_int_equal(sh("git init -q -b main %s && cd %s && git config user.name t && git config user.email t@t"
			    " && git config gpg.format ssh", repo_path, repo_path), 0);
	for (i = 0; i <= ARRAY_SIZE(git_kinds); i++) {
		char hex[64], *who = NULL;
		struct error *err = NULL;
		FILE *p;
		char cmd[512];

		if (i < ARRAY_SIZE(git_kinds))
			assert_int_equal(sh("cd %s && echo %zu > f && git add f && git -c user.signingkey=%s/%s commit -q -S -m c%zu",
					    repo_path, i, dir, git_kinds[i], i), 0);
		else
			assert_int_equal(sh("cd %s && echo u > f && git commit -q -am unsigned", repo_path), 0);
		snprintf(cmd, sizeof(cmd), "git -C %s rev-parse HEAD", repo_path);
		p = popen(cmd, "r");
		assert_non_null(fgets(hex, sizeof(hex), p));
		pclose(p);
		hex[40] = '\0';
		assert_int_equal(git_repository_open(&repo, repo_path), 0);
		if (i < ARRAY_SIZE(git_kinds)) {
			assert_int_equal(sshsig_verify_commit(s, repo, hex, &who, &err), 0);
			free(who);
		} else {
			assert_int_equal(sshsig_verify_commit(s, repo, hex, NULL, &err), ERR_REFUSED);
			assert_non_null(strstr(error_msg(err), "is not signed"));
			error_clear(&err);
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
	FILE *p;

	(void)state;
	snprintf(repo_path, sizeof(repo_path), "%s/tamper", dir);
	assert_int_equal(sh("git init -q -b main %s && cd %s && git config user.name t && git config user.email t@t"
			    " && git config gpg.format ssh && echo x > f && git add f"
			    " && git -c user.signingkey=%s/ed25519 commit -q -S -m honest", repo_path, repo_path, dir), 0);
	/* The same signature over a commit whose message was changed afterwards. */
	snprintf(cmd, sizeof(cmd), "cd %s && git cat-file commit HEAD | sed 's/^honest$/evil/' |"
		 " git hash-object -t commit -w --stdin", repo_path);
	p = popen(cmd, "r");
	assert_non_null(fgets(hex, sizeof(hex), p));
	pclose(p);
	hex[40] = '\0';
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(sshsig_verify_commit(s, repo, hex, NULL, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "does not match"));
	error_clear(&err);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_and_verify_each_key_type),
		cmocka_unit_test(wrong_namespace_and_stranger),
		cmocka_unit_test(signed_commits),
		cmocka_unit_test(tampered_commit),
		cmocka_unit_test(signers_file_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
