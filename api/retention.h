/* Backup retention: which backups a {hourly, daily, weekly, monthly} policy keeps, by the restic/borg rule. */
#ifndef AURIGA_RETENTION_H
#define AURIGA_RETENTION_H

#include <stddef.h>
#include <stdint.h>

/*
 * The rule, as restic's and borg's `forget --keep-hourly/-daily/-weekly/-monthly`:
 *
 *   Only good backups count; a failed one is never kept by a rule and never
 *   takes a period's place. The good backups are walked newest first. Each
 *   rule has a period (the UTC hour; the UTC day; the ISO 8601 week, Monday
 *   to Sunday, numbered within its ISO year; the UTC calendar month) and a
 *   count N. A backup is kept by the rule when its period differs from the
 *   period of the backup that rule kept last and the rule has kept fewer than
 *   N: so the rule keeps the newest backup of each of the N most recent
 *   periods that hold a backup. A period without any backup (a gap) is skipped
 *   and not counted, so after a gap the rule reaches further back.
 *
 *   A backup kept by several rules is kept once: the set kept is the union,
 *   and the rest are pruned. Two backups at the same second are ordered by
 *   their index (the later index is the newer). Times are UTC seconds since
 *   the epoch; there is no daylight saving time in UTC.
 */
struct retention_policy {
	int hourly, daily, weekly, monthly;	/* each >= 0 */
};

#define RETENTION_DEFAULT_HOURLY 24
#define RETENTION_DEFAULT_DAILY 7
#define RETENTION_DEFAULT_WEEKLY 4
#define RETENTION_DEFAULT_MONTHLY 12

/* The rules a backup is kept by, as bits of keep[i]. */
enum {
	RETAIN_HOURLY = 1,
	RETAIN_DAILY = 2,
	RETAIN_WEEKLY = 4,
	RETAIN_MONTHLY = 8,
};

struct retention_item {
	int64_t time;	/* UTC seconds since the epoch */
	int good;	/* 0: a failed backup, never kept by a rule */
};

/*
 * Fills keep[i] (n entries) with the rules that keep items[i], 0 when it is
 * to be pruned; returns how many are kept. Pure: the caller gives the times.
 */
size_t retention_select(const struct retention_item *items, size_t n, const struct retention_policy *p,
			unsigned *keep);

#endif
