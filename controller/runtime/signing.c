/* HMAC-SHA256 and the operator's signing key. */
#include "runtime/signing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runtime/file.h"
#include "util.h"

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32])
{
	unsigned int outlen = 32;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &outlen) || outlen != 32)
		BUG("HMAC-SHA256 failed");
}

void hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65])
{
	unsigned char mac[32];

	hmac_sha256(key, key_len, data, len, mac);
	hex_encode(mac, sizeof(mac), out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 64 hex digits (either case) into out; -1 for anything else. */
static int hmac_unhex(const char *s, unsigned char out[32])
{
	size_t i;

	if (strlen(s) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int hmac_sha256_check(const void *key, size_t key_len, const void *data, size_t len, const char *hex)
{
	unsigned char want[32], got[32];

	if (hex == NULL || hmac_unhex(hex, got) < 0)
		return 0;
	hmac_sha256(key, key_len, data, len, want);
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

int signing_key_load(struct signing_key *k, const char *path, struct error **err)
{
	struct buf data;
	int rc;

	memset(k, 0, sizeof(*k));
	/* Room for the key and the newline an editor adds. */
	buf_init(&data, SIGNING_KEY_MAX + 2);
	rc = file_read(path, "signing key file", FILE_REGULAR | FILE_SECRET, &data, err);
	if (rc == 0) {
		file_trim_end(&data, "\n");
		file_trim_end(&data, "\r");
		if (data.len < SIGNING_KEY_MIN)
			rc = error_set(err, ERR_INVALID, "signing-key-file '%s' holds %zu bytes; a key needs at least %d",
				       path, data.len, SIGNING_KEY_MIN);
		else if (data.len > SIGNING_KEY_MAX)
			rc = error_set(err, ERR_TOOBIG, "signing-key-file '%s' holds more than %d bytes", path,
				       SIGNING_KEY_MAX);
	} else {
		error_wrap(err, "signing-key-file");
	}
	if (rc == 0) {
		k->data = xmalloc(data.len);
		memcpy(k->data, data.data, data.len);
		k->len = data.len;
	}
	OPENSSL_cleanse(data.data, data.len);
	buf_release(&data);
	return rc;
}

void signing_key_release(struct signing_key *k)
{
	if (k->data) {
		OPENSSL_cleanse(k->data, k->len);
		free(k->data);
	}
	memset(k, 0, sizeof(*k));
}

void signing_mac(const struct signing_key *k, const void *data, size_t len, char out[65])
{
	if (k == NULL || k->data == NULL)
		BUG("a MAC asked of no signing key");
	else
		hmac_sha256_hex(k->data, k->len, data, len, out);
}

int signing_check(const struct signing_key *k, const void *data, size_t len, const char *hex)
{
	return k && k->data && hmac_sha256_check(k->data, k->len, data, len, hex);
}
