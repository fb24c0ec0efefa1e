/* UTC calendar arithmetic without the C library's time zone state: pure, exact for any year. */
#ifndef AURIGA_UTC_H
#define AURIGA_UTC_H

#include <stdint.h>

/* Floor division (b > 0), for negative a too. */
int64_t utc_floor_div(int64_t a, int64_t b);
/* The date of a day count since 1970-01-01: year, month 1..12, day 1..31. */
void utc_from_days(int64_t days, int64_t *year, int *month, int *day);
/* The day count since 1970-01-01 of a date (month 1..12, day 1..31). */
int64_t utc_days_from(int64_t year, int month, int day);
/* The weekday of a day count: 0 Sunday .. 6 Saturday (1970-01-01 was a Thursday). */
int utc_weekday(int64_t days);

#endif
