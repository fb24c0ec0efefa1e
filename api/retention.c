/* Backup retention by the restic/borg rule (see retention.h): pure date arithmetic in UTC, no clock, no I/O. */
#include "retention.h"

#include <stdlib.h>

#include "utc.h"
#include "util.h"

/*
 * The period of t under each rule, as a number that differs between periods:
 * the hour and the day since the epoch; the ISO week by its Monday (a week is
 * the same whichever year its days fall in); the month as year * 12 + month.
 */
static int64_t period(int rule, int64_t t)
{
	int64_t day = utc_floor_div(t, 86400), y;
	int m, d;

	switch (rule) {
	case RETAIN_HOURLY:
		return utc_floor_div(t, 3600);
	case RETAIN_DAILY:
		return day;
	case RETAIN_WEEKLY:
		/* Its Monday: weekday 1; a Sunday (0) belongs to the week that began six days before. */
		return day - (utc_weekday(day) + 6) % 7;
	default:
		utc_from_days(day, &y, &m, &d);
		return y * 12 + m - 1;
	}
}

struct ordered {
	int64_t time;
	size_t index;
};

/* Newest first; at the same second the later index is the newer. */
static int newest_first(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return x->index < y->index ? 1 : (x->index > y->index ? -1 : 0);
}

size_t retention_select(const struct retention_item *items, size_t n, const struct retention_policy *p,
			unsigned *keep)
{
	static const int rules[] = { RETAIN_HOURLY, RETAIN_DAILY, RETAIN_WEEKLY, RETAIN_MONTHLY };
	int left[4] = { p->hourly, p->daily, p->weekly, p->monthly };
	int64_t last[4] = { 0, 0, 0, 0 };
	int any[4] = { 0, 0, 0, 0 };
	struct ordered *order = xcalloc(n + 1, sizeof(*order));
	size_t i, k, m = 0, kept = 0;

	for (i = 0; i < n; i++) {
		keep[i] = 0;
		if (items[i].good) {
			order[m].time = items[i].time;
			order[m++].index = i;
		}
	}
	qsort(order, m, sizeof(*order), newest_first);
	for (i = 0; i < m; i++) {
		unsigned *kp = &keep[order[i].index];

		for (k = 0; k < ARRAY_SIZE(rules); k++) {
			int64_t pd;

			if (left[k] <= 0)
				continue;
			pd = period(rules[k], order[i].time);
			if (any[k] && pd == last[k])
				continue;
			any[k] = 1;
			last[k] = pd;
			left[k]--;
			*kp |= (unsigned)rules[k];
		}
		if (*kp)
			kept++;
	}
	free(order);
	return kept;
}
