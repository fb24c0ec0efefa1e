/* The leader's lease: its record as text and the decisions on it, pure (no clock read, no I/O). */
#include "runtime/lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void lease_record_release(struct lease_record *r)
{
	FREE_ALL(r->holder, r->api);
	memset(r, 0, sizeof(*r));
}

char *lease_record_format(const struct lease_record *r, const char *instance)
{
	return xasprintf("auriga lease %s: %s, generation %" PRIu64 "\n\n"
			 "holder: %s\ngeneration: %" PRIu64 "\nrenewedAtMs: %" PRId64 "\nttlMs: %" PRId64
			 "\napi: %s\n",
			 instance, r->holder, r->generation, r->holder, r->generation, r->renewed_at_ms, r->ttl_ms,
			 r->api ? r->api : "");
}

int lease_holder_valid(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 127)
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == ':' || *p == '@' || *p == '-'))
			return 0;
	return 1;
}

/* One "key: value" line of the record into out; 0, or ERR_INVALID. */
static int parse_field(struct lease_record *out, const char *key, const char *val, unsigned line,
		       struct error **err)
{
	long v;

	if (strcmp(key, "holder") == 0) {
		if (!lease_holder_valid(val))
			return error_set(err, ERR_INVALID, "lease line %u: holder: '%s' is not a holder name", line, val);
		str_set(&out->holder, val);
	} else if (strcmp(key, "generation") == 0) {
		if (parse_u64(val, &out->generation) < 0 || out->generation == 0 ||
		    out->generation >= LEASE_GENERATION_MAX)
			return error_set(err, ERR_INVALID,
					 "lease line %u: generation: '%s' is not a number above 0 and below 2^62", line,
					 val);
	} else if (strcmp(key, "renewedAtMs") == 0 || strcmp(key, "ttlMs") == 0) {
		if (parse_long(val, 0, key[0] == 't' ? LEASE_TTL_MAX_MS : INT64_MAX, &v) < 0)
			return error_set(err, ERR_INVALID, "lease line %u: %s: '%s' is not a number%s", line, key, val,
					 key[0] == 't' ? " of at most 600000 (ten minutes)" : "");
		if (key[0] == 'r')
			out->renewed_at_ms = v;
		else
			out->ttl_ms = v;
	} else if (strcmp(key, "api") == 0) {
		str_set(&out->api, val);
	}
	/* Fields a later version adds are left to it: a lease is read by every version in a rolling upgrade. */
	return 0;
}

/* One line (len bytes at p) of the record: a "key: value" field, or none. */
static int parse_line(struct lease_record *out, const char *p, size_t len, unsigned line, struct error **err)
{
	const char *colon = memchr(p, ':', len);
	char key[32], val[256];
	size_t kl;

	if (colon == NULL || (kl = (size_t)(colon - p)) >= sizeof(key))
		return 0;
	memcpy(key, p, kl);
	key[kl] = '\0';
	colon += colon + 1 < p + len && colon[1] == ' ' ? 2 : 1;
	len -= (size_t)(colon - p);
	if (len >= sizeof(val))
		return error_set(err, ERR_INVALID, "lease line %u: %s: too long", line, key);
	memcpy(val, colon, len);
	val[len] = '\0';
	return parse_field(out, key, val, line, err);
}

int lease_record_parse(const char *text, struct lease_record *out, struct error **err)
{
	const char *p = text, *nl;
	unsigned line = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (rc == 0 && p && *p) {
		line++;
		nl = strchr(p, '\n');
		/* The summary line and the blank one after it hold no field. */
		if (line > 2)
			rc = parse_line(out, p, nl ? (size_t)(nl - p) : strlen(p), line, err);
		p = nl ? nl + 1 : NULL;
	}
	if (rc == 0 && (out->holder == NULL || out->generation == 0 || out->ttl_ms <= 0))
		rc = error_set(err, ERR_INVALID, "lease: %s missing", out->holder == NULL ? "holder"
									: out->generation == 0 ? "generation"
											       : "ttlMs");
	if (rc < 0)
		lease_record_release(out);
	return rc;
}

const char *lease_step_name(enum lease_step s)
{
	switch (s) {
	case LEASE_RENEW: return "renew";
	case LEASE_STEP_DOWN: return "step-down";
	case LEASE_FOLLOW: return "follow";
	case LEASE_TAKE: return "take";
	}
	return "?";
}

int lease_valid(int64_t renewed_began, int64_t now, int64_t ttl_ms, int64_t skew_ms)
{
	return now - renewed_began < ttl_ms - skew_ms;
}

enum lease_step lease_decide(const struct lease_view *v)
{
	int64_t wait = v->their_ttl_ms > v->ttl_ms ? v->their_ttl_ms : v->ttl_ms;

	if (v->leading) {
		/* Another commit in the home (a taker's), or none: someone else decides now. */
		if (!v->exists || !v->mine)
			return LEASE_STEP_DOWN;
		return lease_valid(v->renewed_began, v->now, v->ttl_ms, v->skew_ms) ? LEASE_RENEW : LEASE_STEP_DOWN;
	}
	if (!v->exists)
		return LEASE_TAKE;
	/* Expired for a follower only once the longer TTL has passed on its own clock since it saw the commit. */
	return v->now - v->seen_since >= wait ? LEASE_TAKE : LEASE_FOLLOW;
}

int lease_settings_check(int64_t ttl_ms, int64_t renew_ms, int64_t skew_ms, struct error **err)
{
	if (skew_ms * 3 >= ttl_ms)
		return error_set(err, ERR_INVALID, "lease-skew (%" PRId64 " ms) must be below a third of lease-ttl (%" PRId64
				 " ms)", skew_ms, ttl_ms);
	if (renew_ms * 2 > ttl_ms - skew_ms)
		return error_set(err, ERR_INVALID,
				 "lease-renew-interval (%" PRId64 " ms) must be at most half of lease-ttl minus lease-skew (%" PRId64
				 " ms), so that one lost renewal does not cost the lease",
				 renew_ms, ttl_ms - skew_ms);
	return 0;
}
