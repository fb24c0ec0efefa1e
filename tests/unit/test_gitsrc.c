/* Unit tests for the Git source's pure parts: known_hosts matching (plain, hashed, revoked), SSH URLs, backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/gitsrc.h"
#include "testmain.h"
#include "util.h"

/* Two ed25519 public key blobs (the base64 of known_hosts), different keys. */
#define KEY_A "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define KEY_B "AAAAC3NzaC1lZDI1NTE5AAAAIGG1Zk1dBvvCwbwxIm2N5pWe6ZhOHpFxwvTE6CrTLQrT"

static char path[64];

static void write_file(const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/auriga-kh.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static unsigned char *blob(const char *b64, size_t *n)
{
	unsigned char *out = xmalloc(strlen(b64));
	int l = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)strlen(b64));

	assert_true(l > 0);
	*n = (size_t)l;
	return out;
}

static int check(const char *host, int port, const char *key, struct error **err)
{
	size_t n;
	unsigned char *k = blob(key, &n);
	int r = gitsrc_known_hosts_check(path, host, port, k, n, err);

	free(k);
	return r;
}

static void known_hosts_plain(void **state)
{
	struct error *err = NULL;

	(void)state;
	write_file("# comment\n"
		   "git.example.com,10.0.0.1 ssh-ed25519 " KEY_A "\n"
		   "[127.0.0.1]:2222 ssh-ed25519 " KEY_A " test\n"
		   "*.wild.example ssh-ed25519 " KEY_A "\n"
		   "!bad.wild.example,*.wild.example ssh-ed25519 " KEY_B "\n");
	assert_int_equal(check("git.example.com", 22, KEY_A, NULL), 0);
	assert_int_equal(check("10.0.0.1", 22, KEY_A, NULL), 0);
	assert_int_equal(check("127.0.0.1", 2222, KEY_A, NULL), 0);
	assert_int_equal(check("a.wild.example", 22, KEY_A, NULL), 0);
	/* Port 22 entries do not vouch for another port. */
	assert_int_equal(check("127.0.0.1", 22, KEY_A, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "unknown host '127.0.0.1'"));
	error_clear(&err);
	assert_int_equal(check("git.example.com", 22, KEY_B, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "changed"));
	error_clear(&err);
	/* A negated pattern does not vouch. */
	assert_int_equal(check("bad.wild.example", 22, KEY_B, &err), ERR_REFUSED);
	error_clear(&err);
	unlink(path);
}

static void known_hosts_hashed_and_revoked(void **state)
{
	unsigned char salt[20], mac[20];
	unsigned char salt64[64], mac64[64];
	unsigned maclen = 0;
	char text[1024];
	const char *name = "[git.example.com]:2200";
	struct error *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 7 + 3);
	HMAC(EVP_sha1(), salt, sizeof(salt), (const unsigned char *)name, strlen(name), mac, &maclen);
	EVP_EncodeBlock(salt64, salt, sizeof(salt));
	EVP_EncodeBlock(mac64, mac, (int)maclen);
	snprintf(text, sizeof(text), "|1|%s|%s ssh-ed25519 %s\n@revoked * ssh-ed25519 %s\n", salt64, mac64, KEY_A, KEY_B);
	write_file(text);
	assert_int_equal(check("git.example.com", 2200, KEY_A, NULL), 0);
	assert_int_equal(check("git.example.com", 22, KEY_A, &err), ERR_REFUSED);
	error_clear(&err);
	assert_int_equal(check("git.example.com", 2200, KEY_B, &err), ERR_REFUSED);
	assert_non_null(strstr(error_msg(err), "revoked"));
	error_clear(&err);
	unlink(path);
}

static void ssh_urls(void **state)
{
	static const struct { const char *url; int ok; const char *user, *host; int port; } cases[] = {
		{ "ssh://git@example.com/specs.git", 0, "git", "example.com", 22 },
		{ "ssh://deploy@127.0.0.1:2222/srv/specs.git", 0, "deploy", "127.0.0.1", 2222 },
		{ "ssh://[::1]:2200/x", 0, NULL, "::1", 2200 },
		{ "git@example.com:org/specs.git", 0, "git", "example.com", 22 },
		{ "ssh://example.com:99999/x", ERR_INVALID, NULL, NULL, 0 },
		{ "ssh://example.com", ERR_INVALID, NULL, NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *user = NULL, *host = NULL;
		int port = 0;

		assert_int_equal(gitsrc_parse_ssh_url(cases[i].url, &user, &host, &port, NULL), cases[i].ok);
		if (cases[i].ok == 0) {
			if (cases[i].user)
				assert_string_equal(user, cases[i].user);
			else
				assert_null(user);
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		}
		free(user);
		free(host);
	}
}

static void backoff(void **state)
{
	static const struct { unsigned n; int64_t want; } cases[] = {
		{ 1, 1000 }, { 2, 2000 }, { 3, 4000 }, { 6, 32000 }, { 9, 256000 }, { 10, 300000 }, { 50, 300000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(gitsrc_backoff_ms(cases[i].n, 1000, 300000), cases[i].want);
}

TEST_MAIN(
	cmocka_unit_test(known_hosts_plain),
	cmocka_unit_test(known_hosts_hashed_and_revoked),
	cmocka_unit_test(ssh_urls),
	cmocka_unit_test(backoff))
