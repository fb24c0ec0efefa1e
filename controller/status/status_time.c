/* The times of the status and its note: UTC with milliseconds (2026-01-02T03:04:05.678Z), written and read back exactly. */
#include "status/status.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int status_format_time(int64_t wall_ms, char *out, size_t n)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char base[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -1;
	if (snprintf(out, n, "%s.%03dZ", base, (int)(wall_ms % 1000)) >= (int)n)
		return -1;
	return 0;
}

int status_parse_time(const char *s, int64_t *wall_ms)
{
	struct tm tm, norm;
	const char *p;
	long ms = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		int digits = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	/*
	 * Only a time status_format_time writes back as it was read: strptime
	 * takes a leap second (":60") and days past the month's end, which
	 * timegm carries over (9999-12-31T23:59:60 would become year 10000),
	 * and a time before 1970 has no non-negative milliseconds.
	 */
	norm = tm;
	t = timegm(&norm);
	if (t < 0 || norm.tm_year != tm.tm_year || norm.tm_mon != tm.tm_mon ||
	    norm.tm_mday != tm.tm_mday || norm.tm_hour != tm.tm_hour || norm.tm_min != tm.tm_min ||
	    norm.tm_sec != tm.tm_sec)
		return -1;
	*wall_ms = (int64_t)t * 1000 + ms;
	return 0;
}
