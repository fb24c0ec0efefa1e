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

/* A "# name: NAME" comment: 1 and the name copied, 0 for another comment, or an error naming the line. */
static int comment_name(const char *path, int line, const char *s, size_t len, char *name, size_t name_len,
			struct error **err)
{
	static const char key[] = "name:";
	size_t i = 1;

	while (i < len && s[i] == ' ')
		i++;
	if (len - i < sizeof(key) - 1 || strncmp(s + i, key, sizeof(key) - 1) != 0)
		return 0;
	i += sizeof(key) - 1;
	while (i < len && s[i] == ' ')
		i++;
	if (len - i == 0 || len - i > API_TOKEN_NAME_MAX || len - i >= name_len)
		return error_set(err, ERR_INVALID, "API token file '%s' line %d: name: must be 1 to %d characters",
				 path, line, API_TOKEN_NAME_MAX);
	for (size_t k = i; k < len; k++)
		if (!name_char(s[k]))
			return error_set(err, ERR_INVALID,
					 "API token file '%s' line %d: name: must be of [A-Za-z0-9._@-]", path, line);
	memcpy(name, s + i, len - i);
	name[len - i] = '\0';
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
