/* The API's bearer token file: one token line, and an optional "# name: NAME" comment naming its holder. */
#include "surface/token.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "runtime/file.h"
#include "util.h"

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '@' || c == '-';
}

/* The length of the blanks that s (n bytes) starts with. */
static size_t blanks(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[k] == ' ')
		k++;
	return k;
}

/* A "# name: NAME" comment: 1 and the name copied, 0 for another comment, or an error naming the line. */
static int comment_name(const char *path, int line, const char *s, size_t len, char *name, size_t name_len,
			struct error **err)
{
	static const char key[] = "name:";
	const char *v;
	size_t n;

	s++;
	len--;
	n = blanks(s, len);
	s += n;
	len -= n;
	if (len < sizeof(key) - 1 || strncmp(s, key, sizeof(key) - 1) != 0)
		return 0;
	n = blanks(s + sizeof(key) - 1, len - (sizeof(key) - 1));
	v = s + sizeof(key) - 1 + n;
	n = len - (sizeof(key) - 1) - n;
	if (n == 0 || n > API_TOKEN_NAME_MAX || n >= name_len)
		return error_set(err, ERR_INVALID, "API token file '%s' line %d: name: must be 1 to %d characters",
				 path, line, API_TOKEN_NAME_MAX);
	for (size_t k = 0; k < n; k++)
		if (!name_char(v[k]))
			return error_set(err, ERR_INVALID,
					 "API token file '%s' line %d: name: must be of [A-Za-z0-9._@-]", path, line);
	memcpy(name, v, n);
	name[n] = '\0';
	return 1;
}

int api_token_read(const char *path, struct buf *token, char *name, size_t name_len, struct error **err)
{
	struct buf raw;
	size_t at = 0;
	int line = 0, rc = 0, token_line = 0;

	name[0] = '\0';
	buf_init(&raw, API_TOKEN_MAX);
	if (file_read(path, "API token file", FILE_REGULAR | FILE_SECRET, &raw, err) < 0) {
		rc = -1;
		goto out;
	}
	while (at < raw.len && rc == 0) {
		const char *s = raw.data + at, *nl = memchr(s, '\n', raw.len - at);
		size_t len = nl ? (size_t)(nl - s) : raw.len - at;

		at += len + (nl != NULL);
		line++;
		while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (s[0] == '#') {
			rc = comment_name(path, line, s, len, name, name_len, err);
			rc = rc < 0 ? rc : 0;
			continue;
		}
		if (token_line)
			rc = error_set(err, ERR_INVALID, "API token file '%s' line %d: a second token (line %d has one)",
				       path, line, token_line);
		else if (buf_append(token, s, len) < 0)
			rc = error_set(err, ERR_TOOBIG, "API token file '%s': the token is too long", path);
		token_line = line;
	}
	if (rc == 0 && token_line == 0)
		rc = error_set(err, ERR_INVALID, "API token file '%s' is empty", path);
out:
	if (raw.cap)
		OPENSSL_cleanse(raw.data, raw.cap);
	buf_release(&raw);
	return rc;
}
