/* Unit tests for the lease: its decisions from given times (no clock read), its record's text, its settings' rule. */
#include <stdlib.h>
#include <string.h>

#include "runtime/lease.h"
#include "testmain.h"

#define TTL 10000
#define SKEW 2000

/* One decision: what is known, and the step expected. */
struct row {
	const char *what;
	int exists, mine, leading;
	int64_t renewed_began, seen_since, now, their_ttl;
	enum lease_step want;
};

static const struct row rows[] = {
	{ "no lease: a follower takes it", 0, 0, 0, 0, 0, 5, 0, LEASE_TAKE },
	{ "a fresh lease of another: follow", 1, 0, 0, 0, 1000, 1000, TTL, LEASE_FOLLOW },
	{ "another's lease unmoved just short of its TTL: follow", 1, 0, 0, 0, 1000, 1000 + TTL - 1, TTL,
	  LEASE_FOLLOW },
	{ "another's lease unmoved for its TTL: take", 1, 0, 0, 0, 1000, 1000 + TTL, TTL, LEASE_TAKE },
	{ "the holder states a longer TTL: the follower waits for it", 1, 0, 0, 0, 1000, 1000 + TTL, 3 * TTL,
	  LEASE_FOLLOW },
	{ "... and takes once it passed", 1, 0, 0, 0, 1000, 1000 + 3 * TTL, 3 * TTL, LEASE_TAKE },
	{ "a shorter stated TTL does not shorten the follower's own", 1, 0, 0, 0, 1000, 1000 + TTL / 2, TTL / 4,
	  LEASE_FOLLOW },
	{ "the leader's own lease, renewed lately: renew", 1, 1, 1, 1000, 1000, 1000 + TTL - SKEW - 1, TTL,
	  LEASE_RENEW },
	{ "the leader at TTL minus skew since its renewal began: step down", 1, 1, 1, 1000, 1000,
	  1000 + TTL - SKEW, TTL, LEASE_STEP_DOWN },
	{ "a paused leader that wakes long after: step down", 1, 1, 1, 1000, 1000, 1000 + 5 * TTL, TTL,
	  LEASE_STEP_DOWN },
	{ "the leader finds another's commit: step down", 1, 0, 1, 1000, 1500, 1500, TTL, LEASE_STEP_DOWN },
	{ "the leader finds no lease: step down", 0, 0, 1, 1000, 0, 1500, 0, LEASE_STEP_DOWN },
};

static void decisions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct lease_view v = { r->exists,   r->mine, r->leading, r->renewed_began, r->seen_since,
					r->now,	     TTL,     r->their_ttl, SKEW };
		enum lease_step got = lease_decide(&v);

		if (got != r->want)
			fail_msg("%s: got %s, want %s", r->what, lease_step_name(got), lease_step_name(r->want));
	}
}

/*
 * The promise the decisions keep: for any renewal start and any moment a
 * follower first sees that renewal (after it began), the holder stops acting
 * before the follower may take, by at least the skew.
 */
static void holder_stops_before_follower_takes(void **state)
{
	int64_t began, seen, now;

	(void)state;
	for (began = 0; began <= 3000; began += 1000)
		for (seen = began; seen <= began + TTL; seen += 500)
			for (now = began; now <= began + 2 * TTL; now += 250) {
				struct lease_view f = { 1, 0, 0, 0, seen, now, TTL, TTL, SKEW };
				int holds = lease_valid(began, now, TTL, SKEW);

				if (holds && lease_decide(&f) == LEASE_TAKE)
					fail_msg("renewal at %lld seen at %lld: at %lld both act", (long long)began,
						 (long long)seen, (long long)now);
				if (lease_decide(&f) == LEASE_TAKE && lease_valid(began, now - SKEW + 1, TTL, SKEW))
					fail_msg("at %lld the holder stopped less than the skew before", (long long)now);
			}
}

static void record_round_trip(void **state)
{
	struct lease_record r = { "host-1:42:beef", 7, 1700000000123LL, 15000, "127.0.0.1:8080" }, back;
	struct error *err = NULL;
	char *text = lease_record_format(&r, "prod");

	(void)state;
	assert_non_null(strstr(text, "auriga lease prod: host-1:42:beef, generation 7\n"));
	assert_int_equal(lease_record_parse(text, &back, &err), 0);
	assert_string_equal(back.holder, "host-1:42:beef");
	assert_int_equal(back.generation, 7);
	assert_int_equal(back.renewed_at_ms, 1700000000123LL);
	assert_int_equal(back.ttl_ms, 15000);
	assert_string_equal(back.api, "127.0.0.1:8080");
	lease_record_release(&back);
	free(text);
}

/* A record that is not one is refused with the line and field. */
static void record_refusals(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "s\n\nholder: a b\ngeneration: 1\nttlMs: 5\n", "lease line 3: holder: 'a b' is not a holder name" },
		{ "s\n\nholder: h\ngeneration: x\nttlMs: 5\n", "lease line 4: generation: 'x' is not a number above 0 and below 2^62" },
		{ "s\n\nholder: h\ngeneration: 0\nttlMs: 5\n", "lease line 4: generation: '0' is not a number above 0 and below 2^62" },
		/* A committer to the specs repo cannot make a taker's generation wrap, nor keep followers waiting. */
		{ "s\n\nholder: h\ngeneration: 18446744073709551615\nttlMs: 5\n",
		  "lease line 4: generation: '18446744073709551615' is not a number above 0 and below 2^62" },
		{ "s\n\nholder: h\ngeneration: 2\nttlMs: 9000000000000000000\n",
		  "lease line 5: ttlMs: '9000000000000000000' is not a number of at most 600000 (ten minutes)" },
		{ "s\n\nholder: h\ngeneration: 2\nttlMs: -1\n", "lease line 5: ttlMs: '-1' is not a number of at most 600000 (ten minutes)" },
		{ "s\n\ngeneration: 2\nttlMs: 5\n", "lease: holder missing" },
		{ "s\n\nholder: h\nttlMs: 5\n", "lease: generation missing" },
		{ "s\n\nholder: h\ngeneration: 3\n", "lease: ttlMs missing" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lease_record r;
		struct error *err = NULL;

		assert_int_equal(lease_record_parse(bad[i].text, &r, &err), ERR_INVALID);
		assert_string_equal(error_msg(err), bad[i].want);
		assert_null(r.holder);
		error_free(err);
	}
}

static void settings_rule(void **state)
{
	struct error *err = NULL;

	(void)state;
	assert_int_equal(lease_settings_check(30000, 10000, 3000, &err), 0);
	assert_int_equal(lease_settings_check(30000, 10000, 10000, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "lease-skew (10000 ms) must be below a third of lease-ttl"));
	error_clear(&err);
	assert_int_equal(lease_settings_check(30000, 14000, 3000, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "lease-renew-interval (14000 ms) must be at most half"));
	error_free(err);
}

TEST_MAIN(cmocka_unit_test(decisions), cmocka_unit_test(holder_stops_before_follower_takes),
	  cmocka_unit_test(record_round_trip), cmocka_unit_test(record_refusals), cmocka_unit_test(settings_rule))
