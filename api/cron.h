/* Five-field cron schedules in UTC: parsed with a message saying which field is wrong, and the next time due. */
#ifndef AURIGA_CRON_H
#define AURIGA_CRON_H

#include <stddef.h>
#include <stdint.h>

/*
 * "minute hour day-of-month month day-of-week", as crontab(5) writes them:
 * each field `*`, a number, a range `a-b`, a step `*\/s` or `a-b/s`, or a
 * comma list of those; day of week 0-7 (0 and 7 are Sunday); month and
 * weekday names are not taken. @hourly, @daily (@midnight), @weekly,
 * @monthly and @yearly (@annually) stand for their five fields. As in Vixie
 * cron, when both day fields are restricted (neither is `*`) a day matches
 * when either does. Times are UTC: no daylight saving time.
 */
struct cron {
	uint64_t minutes;	/* bit m: minute m */
	uint32_t hours;
	uint32_t mdays;		/* bit d: day d (1..31) */
	uint16_t months;	/* bit m: month m (1..12) */
	uint8_t wdays;		/* bit w: weekday w (0 Sunday .. 6) */
	int mday_any, wday_any;	/* the field was `*` */
};

/* 0, or -1 with msg (n bytes) saying what is wrong: "field 2 (hour): 24 is out of range 0-23". */
int cron_parse(struct cron *c, const char *text, char *msg, size_t n);
/*
 * The first whole minute strictly after `after` (UTC seconds) that the
 * schedule names, or -1 when none comes within eight years (February 30th).
 */
int64_t cron_next(const struct cron *c, int64_t after);

#endif
