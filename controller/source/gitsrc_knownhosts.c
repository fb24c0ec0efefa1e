/* known_hosts checking for SSH remotes: plain and hashed (|1|salt|hmac) host patterns, revoked keys. */
#include "buf.h"
#include "source/gitsrc.h"
#include "source/sshsig.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNOWN_HOSTS_MAX (4u << 20)

enum host_match { HOST_NO, HOST_YES, HOST_NEGATED };

/* OpenSSH's patterns: '*' and '?' only ('[' is literal, as in "[host]:port"), case-insensitive. */
static int wildcard(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			if (p[1] == '\0')
				return 1;
			for (; *s; s++)
				if (wildcard(p + 1, s))
					return 1;
			return 0;
		}
		if (*s == '\0')
			return 0;
		if (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s))
			return 0;
	}
	return *s == '\0';
}

static int hashed_match(const char *pattern, const char *name)
{
	char salt64[128], hash64[128];
	unsigned char *salt = NULL, *hash = NULL, mac[EVP_MAX_MD_SIZE];
	size_t salt_len = 0, hash_len = 0;
	unsigned mac_len = 0;
	const char *bar;
	int ok = 0;

	/* |1|<base64 salt>|<base64 HMAC-SHA1(salt, name)> */
	pattern += 3;
	bar = strchr(pattern, '|');
	if (bar == NULL || (size_t)(bar - pattern) >= sizeof(salt64) || strlen(bar + 1) >= sizeof(hash64))
		return 0;
	memcpy(salt64, pattern, (size_t)(bar - pattern));
	salt64[bar - pattern] = '\0';
	snprintf(hash64, sizeof(hash64), "%s", bar + 1);
	if (sshsig_b64decode(salt64, strlen(salt64), &salt, &salt_len) < 0 ||
	    sshsig_b64decode(hash64, strlen(hash64), &hash, &hash_len) < 0)
		goto out;
	if (HMAC(EVP_sha1(), salt, (int)salt_len, (const unsigned char *)name, strlen(name), mac, &mac_len) == NULL)
		goto out;
	ok = mac_len == hash_len && CRYPTO_memcmp(mac, hash, mac_len) == 0;
out:
	free(salt);
	free(hash);
	return ok;
}

/* Matches name against a comma-separated list of patterns (with ! negation and wildcards). */
static enum host_match hosts_match(char *list, const char *name)
{
	enum host_match m = HOST_NO;
	char *save = NULL, *pat;

	if (str_has_prefix(list, "|1|"))
		return hashed_match(list, name) ? HOST_YES : HOST_NO;
	for (pat = strtok_r(list, ",", &save); pat; pat = strtok_r(NULL, ",", &save)) {
		int neg = *pat == '!';

		if (neg)
			pat++;
		if (wildcard(pat, name)) {
			if (neg)
				return HOST_NEGATED;
			m = HOST_YES;
		}
	}
	return m;
}

/* The key type named inside an SSH key blob (its first string). */
static void blob_type(const unsigned char *key, size_t len, char *out, size_t n)
{
	uint32_t l;

	snprintf(out, n, "?");
	if (len < 4)
		return;
	l = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	if (l > len - 4 || l >= n)
		return;
	memcpy(out, key + 4, l);
	out[l] = '\0';
}

int gitsrc_known_hosts_check(const char *path, const char *host, int port, const unsigned char *key,
			     size_t key_len, struct error **err)
{
	FILE *f;
	char name[300], type[64];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0, other_key_line = 0;
	int found = 0, revoked = 0, r = 0;
	struct buf other_types;

	buf_init(&other_types, 256);
	if (port == 22 || port <= 0)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	blob_type(key, key_len, type, sizeof(type));
	f = fopen(path, "r");
	if (f == NULL)
		return error_set(err, ERR_REFUSED, "cannot read known_hosts '%s': %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *save = NULL, *marker = NULL, *hosts, *ktype, *k64;
		unsigned char *blob = NULL;
		size_t blob_len = 0;

		lineno++;
		if ((size_t)n > KNOWN_HOSTS_MAX)
			break;
		hosts = strtok_r(line, " \t\r\n", &save);
		if (hosts == NULL || *hosts == '#')
			continue;
		if (*hosts == '@') {
			marker = hosts;
			hosts = strtok_r(NULL, " \t\r\n", &save);
		}
		ktype = strtok_r(NULL, " \t\r\n", &save);
		k64 = strtok_r(NULL, " \t\r\n", &save);
		if (hosts == NULL || ktype == NULL || k64 == NULL)
			continue;
		if (marker && strcmp(marker, "@revoked") != 0)
			continue;	/* @cert-authority: host certificates are not used here */
		if (!marker && hosts_match(hosts, name) != HOST_YES)
			continue;
		if (sshsig_b64decode(k64, strlen(k64), &blob, &blob_len) < 0)
			continue;
		if (blob_len == key_len && memcmp(blob, key, key_len) == 0) {
			if (marker)
				revoked = 1;
			else
				found = 1;
		} else if (!marker) {
			if (strcmp(ktype, type) == 0 && other_key_line == 0)
				other_key_line = lineno;
			else if (strstr(other_types.data, ktype) == NULL)
				buf_printf(&other_types, "%s%s", other_types.len ? ", " : "", ktype);
		}
		free(blob);
	}
	free(line);
	fclose(f);
	if (revoked)
		r = error_set(err, ERR_REFUSED, "the %s host key of '%s' is revoked in '%s'", type, name, path);
	else if (found)
		r = 0;
	else if (other_key_line)
		r = error_set(err, ERR_REFUSED,
			      "the %s host key of '%s' changed: it does not match '%s' line %u (refused)",
			      type, name, path, other_key_line);
	else if (other_types.len)
		r = error_set(err, ERR_REFUSED,
			      "the %s host key of '%s' is unknown: '%s' has only %s keys for it (refused)",
			      type, name, path, other_types.data);
	else
		r = error_set(err, ERR_REFUSED, "unknown host '%s': no entry in '%s' (refused)", name, path);
	buf_release(&other_types);
	return r;
}

/* The host and port an SSH URL names (ssh://[user@]host[:port]/path or scp-like [user@]host:path). */
int gitsrc_parse_ssh_url(const char *url, char **user, char **host, int *port, struct error **err)
{
	const char *p, *at, *end, *colon;
	long n;
	char num[16];

	*user = NULL;
	*host = NULL;
	*port = 22;
	if (strncmp(url, "ssh://", 6) == 0) {
		p = url + 6;
		end = strchr(p, '/');
		if (end == NULL)
			return error_set(err, ERR_INVALID, "ssh URL '%s' has no path", url);
		at = memchr(p, '@', (size_t)(end - p));
		if (at) {
			*user = xstrndup(p, (size_t)(at - p));
			p = at + 1;
		}
		if (*p == '[') {
			const char *rb = memchr(p, ']', (size_t)(end - p));

			if (rb == NULL)
				goto bad;
			*host = xstrndup(p + 1, (size_t)(rb - p - 1));
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		} else {
			colon = memchr(p, ':', (size_t)(end - p));
			*host = xstrndup(p, (size_t)((colon ? colon : end) - p));
		}
		if (colon) {
			if ((size_t)(end - colon - 1) >= sizeof(num))
				goto bad;
			memcpy(num, colon + 1, (size_t)(end - colon - 1));
			num[end - colon - 1] = '\0';
			if (parse_long(num, 1, 65535, &n) < 0)
				goto bad;
			*port = (int)n;
		}
	} else {
		/* scp-like: [user@]host:path */
		colon = strchr(url, ':');
		if (colon == NULL || strchr(url, '/') < colon)
			return error_set(err, ERR_INVALID, "'%s' is not an SSH URL", url);
		at = memchr(url, '@', (size_t)(colon - url));
		p = url;
		if (at) {
			*user = xstrndup(url, (size_t)(at - url));
			p = at + 1;
		}
		*host = xstrndup(p, (size_t)(colon - p));
	}
	if (**host == '\0')
		goto bad;
	return 0;
bad:
	free(*user);
	free(*host);
	*user = NULL;
	*host = NULL;
	return error_set(err, ERR_INVALID, "cannot parse the host and port of ssh URL '%s'", url);
}
