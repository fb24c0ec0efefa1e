/* Retention by the restic/borg rule over simulated years of backups, and five-field cron schedules in UTC. */
#include "testmain.h"

#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "retention.h"
#include "utc.h"
#include "util.h"

#define H 3600
#define D 86400

static int64_t at(int64_t y, int m, int d, int hour)
{
	return utc_days_from(y, m, d) * D + (int64_t)hour * H;
}

/* Whether the item at time t is kept, and by exactly the rules in want. */
static unsigned kept_by(const struct retention_item *v, const unsigned *keep, size_t n, int64_t t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].time == t)
			return keep[i];
	fail_msg("no backup at %lld", (long long)t);
	return 0;
}

static void count_rules(const unsigned *keep, size_t n, int counts[4])
{
	size_t i;
	int k;

	memset(counts, 0, 4 * sizeof(int));
	for (i = 0; i < n; i++)
		for (k = 0; k < 4; k++)
			if (keep[i] & (1u << k))
				counts[k]++;
}

/*
 * 400 days of hourly backups, the last at Sunday 2026-05-31 23:00 UTC, the
 * guide's 24/7/4/12. Hourly keeps the 24 newest (May 31 00:00-23:00). Daily
 * keeps each day's 23:00 for May 25-31: May 31's is the newest backup, kept
 * by hourly too, so daily adds 6. Weekly keeps the Sunday 23:00 of the four
 * ISO weeks up to May 31: that week's is the newest backup again, and May 24,
 * 17 and 10 are new: 3. Monthly keeps each month's last day at 23:00 from
 * June 2025 to May 2026: May's is the newest backup, the other 11 are new.
 * 24 + 6 + 3 + 11 = 44 kept, 9,556 pruned.
 */
static void four_hundred_days(void **state)
{
	size_t n = 400 * 24, i;
	struct retention_item *v = xcalloc(n, sizeof(*v));
	unsigned *keep = xcalloc(n, sizeof(*keep));
	struct retention_policy p = { RETENTION_DEFAULT_HOURLY, RETENTION_DEFAULT_DAILY, RETENTION_DEFAULT_WEEKLY,
				      RETENTION_DEFAULT_MONTHLY };
	int64_t last = at(2026, 5, 31, 23);
	int counts[4];
	static const int month_ends[][3] = { { 2025, 6, 30 }, { 2025, 7, 31 }, { 2025, 8, 31 }, { 2025, 9, 30 },
					     { 2025, 10, 31 }, { 2025, 11, 30 }, { 2025, 12, 31 }, { 2026, 1, 31 },
					     { 2026, 2, 28 }, { 2026, 3, 31 }, { 2026, 4, 30 } };

	(void)state;
	for (i = 0; i < n; i++) {
		/* Shuffled order: the rule must not depend on the order it is given. */
		v[i].time = last - (int64_t)((i * 7919) % n) * H;
		v[i].good = 1;
	}
	assert_int_equal(retention_select(v, n, &p, keep), 44);
	count_rules(keep, n, counts);
	assert_int_equal(counts[0], 24);
	assert_int_equal(counts[1], 7);
	assert_int_equal(counts[2], 4);
	assert_int_equal(counts[3], 12);
	assert_int_equal(kept_by(v, keep, n, last), RETAIN_HOURLY | RETAIN_DAILY | RETAIN_WEEKLY | RETAIN_MONTHLY);
	for (i = 1; i < 24; i++)
		assert_int_equal(kept_by(v, keep, n, last - (int64_t)i * H), RETAIN_HOURLY);
	assert_int_equal(kept_by(v, keep, n, last - 24 * H), RETAIN_DAILY);
	assert_int_equal(kept_by(v, keep, n, at(2026, 5, 25, 23)), RETAIN_DAILY);
	assert_int_equal(kept_by(v, keep, n, at(2026, 5, 24, 23)), RETAIN_WEEKLY);
	assert_int_equal(kept_by(v, keep, n, at(2026, 5, 10, 23)), RETAIN_WEEKLY);
	assert_int_equal(kept_by(v, keep, n, at(2026, 5, 3, 23)), 0);
	for (i = 0; i < ARRAY_SIZE(month_ends); i++)
		assert_int_equal(kept_by(v, keep, n, at(month_ends[i][0], month_ends[i][1], month_ends[i][2], 23)),
				 RETAIN_MONTHLY);
	assert_int_equal(kept_by(v, keep, n, at(2025, 5, 31, 23)), 0);
	free(v);
	free(keep);
}

/*
 * Daily backups at noon across New Year: the ISO week of Monday 2025-12-29
 * runs to Sunday 2026-01-04, one week across two years, so weekly keeps Jan 10
 * (its week), Jan 4 and Dec 28; monthly keeps Jan 10 and Dec 31.
 */
static void year_boundary(void **state)
{
	struct retention_item v[22];
	unsigned keep[22];
	struct retention_policy p = { 0, 0, 3, 2 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		v[i].time = at(2025, 12, 20, 12) + (int64_t)i * D;
		v[i].good = 1;
	}
	assert_int_equal(v[21].time, at(2026, 1, 10, 12));
	assert_int_equal(retention_select(v, ARRAY_SIZE(v), &p, keep), 4);
	assert_int_equal(kept_by(v, keep, 22, at(2026, 1, 10, 12)), RETAIN_WEEKLY | RETAIN_MONTHLY);
	assert_int_equal(kept_by(v, keep, 22, at(2026, 1, 4, 12)), RETAIN_WEEKLY);
	assert_int_equal(kept_by(v, keep, 22, at(2025, 12, 28, 12)), RETAIN_WEEKLY);
	assert_int_equal(kept_by(v, keep, 22, at(2025, 12, 31, 12)), RETAIN_MONTHLY);
	assert_int_equal(kept_by(v, keep, 22, at(2026, 1, 1, 12)), 0);
}

/* A month boundary in a leap year: Feb 29th 2024 is February's last backup, Mar 1st March's first. */
static void leap_month(void **state)
{
	struct retention_item v[3] = { { at(2024, 2, 28, 23), 1 }, { at(2024, 2, 29, 23), 1 }, { at(2024, 3, 1, 0), 1 } };
	unsigned keep[3];
	struct retention_policy p = { 0, 0, 0, 5 };

	(void)state;
	assert_int_equal(retention_select(v, 3, &p, keep), 2);
	assert_int_equal(keep[0], 0);
	assert_int_equal(keep[1], RETAIN_MONTHLY);
	assert_int_equal(keep[2], RETAIN_MONTHLY);
}

/* A gap: daily 3 keeps the newest of the three latest days that have backups, reaching past the gap. */
static void gaps_reach_further(void **state)
{
	struct retention_item v[5] = { { at(2026, 3, 1, 5), 1 }, { at(2026, 3, 1, 9), 1 }, { at(2026, 3, 2, 9), 1 },
				       { at(2026, 3, 10, 1), 1 }, { at(2026, 3, 10, 2), 1 } };
	unsigned keep[5];
	struct retention_policy p = { 0, 3, 0, 0 };

	(void)state;
	assert_int_equal(retention_select(v, 5, &p, keep), 3);
	assert_int_equal(keep[0], 0);
	assert_int_equal(keep[1], RETAIN_DAILY);
	assert_int_equal(keep[2], RETAIN_DAILY);
	assert_int_equal(keep[3], 0);
	assert_int_equal(keep[4], RETAIN_DAILY);
}

/* Failed backups are never kept and never take a period's place. */
static void failed_never_count(void **state)
{
	struct retention_item v[4] = { { at(2026, 3, 1, 10), 1 }, { at(2026, 3, 1, 11), 1 }, { at(2026, 3, 1, 12), 0 },
				       { at(2026, 3, 1, 12) + 60, 0 } };
	unsigned keep[4];
	struct retention_policy p = { 2, 0, 0, 0 };
	struct retention_policy none = { 0, 0, 0, 0 };

	(void)state;
	assert_int_equal(retention_select(v, 4, &p, keep), 2);
	assert_int_equal(keep[0], RETAIN_HOURLY);
	assert_int_equal(keep[1], RETAIN_HOURLY);
	assert_int_equal(keep[2], 0);
	assert_int_equal(keep[3], 0);
	assert_int_equal(retention_select(v, 4, &none, keep), 0);
	assert_int_equal(retention_select(v, 0, &p, keep), 0);
}

/* Two backups in one hour: the newer is kept, by time and not by position in the list. */
static void same_period_newest(void **state)
{
	struct retention_item v[2] = { { at(2026, 3, 1, 10) + 1800, 1 }, { at(2026, 3, 1, 10) + 60, 1 } };
	unsigned keep[2];
	struct retention_policy p = { 1, 0, 0, 0 };

	(void)state;
	assert_int_equal(retention_select(v, 2, &p, keep), 1);
	assert_int_equal(keep[0], RETAIN_HOURLY);
	assert_int_equal(keep[1], 0);
}

static void calendar(void **state)
{
	int64_t y;
	int m, d;

	(void)state;
	assert_int_equal(utc_days_from(1970, 1, 1), 0);
	assert_int_equal(utc_weekday(0), 4);
	assert_int_equal(utc_weekday(utc_days_from(2026, 5, 31)), 0);
	utc_from_days(utc_days_from(2000, 2, 29), &y, &m, &d);
	assert_int_equal(y, 2000);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
	utc_from_days(-1, &y, &m, &d);
	assert_int_equal(y, 1969);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
}

/* A table of schedules: the next time after a start, in UTC. */
static void cron_next_table(void **state)
{
	static const struct {
		const char *expr;
		int64_t after, want;
	} t[] = {
		{ "0 * * * *", 0, H },
		{ "@hourly", 30, H },
		{ "*/15 * * * *", 15 * 60, 30 * 60 },
		{ "30 2 * * *", 0, 2 * H + 1800 },
		{ "0 0 1 * *", 1, 31 * D },
		{ "0 0 29 2 *", 0, 0 },	/* filled in below: 1972-02-29 */
		{ "0 12 * * 1-5", 2 * D, 4 * D + 12 * H },	/* Sat 1970-01-03 -> Mon 01-05 */
		{ "0 0 * * 7", 0, 3 * D },	/* 7 is Sunday: 1970-01-04 */
		{ "0 0 13 * 5", 0, 1 * D },	/* either day field: Friday 01-02 */
		{ "5,10 8-9 * * *", 8 * H + 5 * 60, 8 * H + 10 * 60 },
	};
	struct cron c;
	char msg[200];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		int64_t want = t[i].want;

		if (i == 5)
			want = utc_days_from(1972, 2, 29) * D;
		assert_int_equal(cron_parse(&c, t[i].expr, msg, sizeof(msg)), 0);
		if (cron_next(&c, t[i].after) != want)
			fail_msg("'%s' after %lld: %lld, expected %lld", t[i].expr, (long long)t[i].after,
				 (long long)cron_next(&c, t[i].after), (long long)want);
	}
	assert_int_equal(cron_parse(&c, "0 0 30 2 *", msg, sizeof(msg)), 0);
	assert_int_equal(cron_next(&c, 0), -1);
}

static void cron_errors(void **state)
{
	static const struct {
		const char *expr, *msg;
	} t[] = {
		{ "0 * * *", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 4" },
		{ "0 24 * * *", "field 2 (hour): \"24\" is not a number, range or step within 0-23" },
		{ "61 * * * *", "field 1 (minute): \"61\" is not a number, range or step within 0-59" },
		{ "* * 0 * *", "field 3 (day of month): \"0\" is not a number, range or step within 1-31" },
		{ "* * * 1-13 *", "field 4 (month): \"1-13\" is not a number, range or step within 1-12" },
		{ "* * * * mon", "field 5 (day of week): \"mon\" is not a number, range or step within 0-7" },
		{ "*/0 * * * *", "field 1 (minute): \"*/0\" is not a number, range or step within 0-59" },
		{ "5-1 * * * *", "field 1 (minute): \"5-1\" is not a number, range or step within 0-59" },
		{ "1,,2 * * * *", "field 1 (minute): \"1,,2\" has an empty list item" },
		{ "@often", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 1" },
		{ "", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 0" },
	};
	struct cron c;
	char msg[200];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(cron_parse(&c, t[i].expr, msg, sizeof(msg)), -1);
		assert_string_equal(msg, t[i].msg);
	}
}

TEST_MAIN(cmocka_unit_test(four_hundred_days), cmocka_unit_test(year_boundary), cmocka_unit_test(leap_month),
	  cmocka_unit_test(gaps_reach_further), cmocka_unit_test(failed_never_count),
	  cmocka_unit_test(same_period_newest), cmocka_unit_test(calendar), cmocka_unit_test(cron_next_table),
	  cmocka_unit_test(cron_errors))
