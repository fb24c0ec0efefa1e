/* HMAC-SHA256: of webhook bodies under their secret, and of what the controllers of an instance write to the specs remote under the operator's signing key. */
#ifndef AURIGA_SIGNING_H
#define AURIGA_SIGNING_H

#include <stddef.h>

#include "error.h"

/* The fewest bytes a signing key may have. */
#define SIGNING_KEY_MIN 16
/* The most. */
#define SIGNING_KEY_MAX 4096

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);
/* Lowercase hex HMAC-SHA256 of data under key into out (65 bytes). */
void hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65]);
/* 1 when hex is the HMAC-SHA256 of data under key, compared in constant time; 0 otherwise. */
int hmac_sha256_check(const void *key, size_t key_len, const void *data, size_t len, const char *hex);

/*
 * The operator's secret (signing-key-file): the approvals and the state an
 * instance's controllers write to the specs remote carry its HMAC, so that
 * someone who can only push to that remote cannot forge them.
 */
struct signing_key {
	unsigned char *data;	/* NULL: no key */
	size_t len;
};

/*
 * Reads the key from path (a regular file; one trailing newline dropped):
 * ERR_INVALID when it has fewer than SIGNING_KEY_MIN bytes, ERR_TOOBIG past
 * SIGNING_KEY_MAX; errors name the file.
 */
int signing_key_load(struct signing_key *k, const char *path, struct error **err);
void signing_key_release(struct signing_key *k);
/* The MAC of data under k (hex, 65 bytes); k must hold a key. */
void signing_mac(const struct signing_key *k, const void *data, size_t len, char out[65]);
/* 1 when hex is data's MAC under k; 0 when not, or when k holds no key. */
int signing_check(const struct signing_key *k, const void *data, size_t len, const char *hex);

#endif
