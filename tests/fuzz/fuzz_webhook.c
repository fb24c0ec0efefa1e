/* libFuzzer target: webhook deliveries (headers and body) from any provider, with the signature right or wrong. */
#include "runtime/signing.h"
#include "surface/webhook.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret"
#define MAX_HEADERS 16

struct headers {
	const char *sig_name;	/* the right signature or token, found before any fuzzed header */
	char sig_value[80];
	char *name[MAX_HEADERS];
	char *value[MAX_HEADERS];
	size_t n;
};

static const char *get_header(void *ctx, const char *name)
{
	struct headers *h = ctx;
	size_t i;

	if (h->sig_name && strcasecmp(h->sig_name, name) == 0)
		return h->sig_value;
	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void add_header(struct headers *h, const char *name, size_t name_len, const char *value,
		       size_t value_len)
{
	if (h->n == MAX_HEADERS)
		return;
	h->name[h->n] = strndup(name, name_len);
	h->value[h->n] = strndup(value, value_len);
	h->n++;
}

/*
 * The input: byte 0 picks the provider (low two bits) and whether the right
 * signature or token is added (bit 2); then "Name: value" lines up to an
 * empty line; the rest is the body.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sig_header[] = { "X-Hub-Signature-256", "X-Gitlab-Token", "X-Gitea-Signature" };
	struct webhook *w = NULL;
	struct webhook_request req;
	struct webhook_result res;
	struct headers h;
	const char *text = (const char *)data + 1, *end = (const char *)data + size, *body, *p;
	size_t i;
	int p_sel, sign;

	if (size < 1)
		return 0;
	p_sel = (data[0] & 3) % WEBHOOK__COUNT;
	sign = (data[0] & 4) != 0;
	memset(&h, 0, sizeof(h));
	body = memmem(text, (size_t)(end - text), "\n\n", 2);
	if (body) {
		for (p = text; p < body;) {
			const char *nl = memchr(p, '\n', (size_t)(body - p)), *le = nl ? nl : body;
			const char *colon = memchr(p, ':', (size_t)(le - p));

			if (colon) {
				const char *v = colon + 1 < le && colon[1] == ' ' ? colon + 2 : colon + 1;

				add_header(&h, p, (size_t)(colon - p), v, (size_t)(le - v));
			}
			p = le + 1;
		}
		body += 2;
	} else {
		body = text;
	}
	memset(&req, 0, sizeof(req));
	req.provider = (enum webhook_provider)p_sel;
	req.header = get_header;
	req.ctx = &h;
	req.body = body;
	req.body_len = (size_t)(end - body);
	if (sign) {
		char hex[65];

		hmac_sha256_hex(SECRET, strlen(SECRET), req.body, req.body_len, hex);
		h.sig_name = sig_header[p_sel];
		if (p_sel == WEBHOOK_GITHUB)
			snprintf(h.sig_value, sizeof(h.sig_value), "sha256=%s", hex);
		else if (p_sel == WEBHOOK_GITLAB)
			snprintf(h.sig_value, sizeof(h.sig_value), "%s", SECRET);
		else
			snprintf(h.sig_value, sizeof(h.sig_value), "%s", hex);
	}
	if (webhook_new(&w, "main", 4, NULL) == 0) {
		for (i = 0; i < WEBHOOK__COUNT; i++)
			webhook_set_secret(w, (enum webhook_provider)i, SECRET, strlen(SECRET), NULL);
		memset(&res, 0, sizeof(res));
		webhook_handle(w, &req, &res);
		/* The same delivery twice: the second is a replay when it carried an id. */
		memset(&res, 0, sizeof(res));
		webhook_handle(w, &req, &res);
		if (res.status < 100 || res.status > 599 || res.outcome == NULL || res.reason == NULL)
			abort();
		webhook_free(w);
	}
	for (i = 0; i < h.n; i++) {
		free(h.name[i]);
		free(h.value[i]);
	}
	return 0;
}
