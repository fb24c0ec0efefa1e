/* Five-field cron schedules in UTC (see cron.h): a parser that names the wrong field, and the next due minute. */
#include "cron.h"

#include <stdio.h>
#include <string.h>

#include "utc.h"
#include "util.h"

struct field {
	const char *name;
	int lo, hi;
};

static const struct field fields[5] = {
	{ "minute", 0, 59 }, { "hour", 0, 23 }, { "day of month", 1, 31 }, { "month", 1, 12 },
	{ "day of week", 0, 7 },
};

static const struct {
	const char *name, *fields;
} macros[] = {
	{ "@hourly", "0 * * * *" },  { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },  { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

/* A whole decimal number at *s within [lo, hi]: 0 and *s past it, or -1. */
static int number(const char **s, int lo, int hi, int *out)
{
	long v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9' && v <= 1000)
		v = v * 10 + (*p++ - '0');
	if (v < lo || v > hi)
		return -1;
	*out = (int)v;
	*s = p;
	return 0;
}

/* One comma-separated part of field f, its bits set in *bits; 0, or -1 with msg. */
static int part(const char *s, size_t fi, uint64_t *bits, int *star, char *msg, size_t n)
{
	const struct field *f = &fields[fi];
	const char *p = s;
	int a = f->lo, b = f->hi, step = 1, v;

	if (*p == '*') {
		p++;
		*star = p[0] == '\0';
	} else {
		if (number(&p, f->lo, f->hi, &a) < 0)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (number(&p, f->lo, f->hi, &b) < 0 || b < a)
				goto bad;
		}
	}
	if (*p == '/') {
		p++;
		if (number(&p, 1, f->hi - f->lo + 1, &step) < 0)
			goto bad;
		if (s[0] != '*' && b == a)
			b = f->hi;
	}
	if (*p != '\0')
		goto bad;
	for (v = a; v <= b; v += step)
		*bits |= 1ULL << (fi == 4 && v == 7 ? 0 : v);
	return 0;
bad:
	snprintf(msg, n, "field %zu (%s): \"%s\" is not a number, range or step within %d-%d", fi + 1, f->name, s,
		 f->lo, f->hi);
	return -1;
}

static int parse_field(const char *text, size_t fi, uint64_t *bits, int *star, char *msg, size_t n)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(msg, n, "field %zu (%s) is too long", fi + 1, fields[fi].name);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	*bits = 0;
	*star = 0;
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")) {
		snprintf(msg, n, "field %zu (%s): \"%s\" has an empty list item", fi + 1, fields[fi].name, text);
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (part(tok, fi, bits, star, msg, n) < 0)
			return -1;
	return 0;
}

int cron_parse(struct cron *c, const char *text, char *msg, size_t n)
{
	char buf[512], *words[6], *save = NULL, *w;
	uint64_t bits[5];
	int star[5];
	size_t i, nw = 0;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ARRAY_SIZE(macros); i++)
		if (strcmp(text, macros[i].name) == 0)
			text = macros[i].fields;
	if (strlen(text) >= sizeof(buf)) {
		snprintf(msg, n, "the schedule is longer than %zu bytes", sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	for (w = strtok_r(buf, " \t", &save); w && nw < ARRAY_SIZE(words); w = strtok_r(NULL, " \t", &save))
		words[nw++] = w;
	if (nw != 5) {
		snprintf(msg, n, "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as "
			 "@daily, got %s%zu", nw > 5 ? "more than " : "", nw > 5 ? (size_t)5 : nw);
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (parse_field(words[i], i, &bits[i], &star[i], msg, n) < 0)
			return -1;
	c->minutes = bits[0];
	c->hours = (uint32_t)bits[1];
	c->mdays = (uint32_t)bits[2];
	c->months = (uint16_t)bits[3];
	c->wdays = (uint8_t)bits[4];
	c->mday_any = star[2];
	c->wday_any = star[4];
	return 0;
}

static int day_matches(const struct cron *c, int64_t day)
{
	int64_t y;
	int m, d, mday_ok, wday_ok;

	utc_from_days(day, &y, &m, &d);
	if (!(c->months & (1u << m)))
		return 0;
	mday_ok = (c->mdays >> d) & 1u;
	wday_ok = (c->wdays >> utc_weekday(day)) & 1u;
	if (c->mday_any || c->wday_any)
		return mday_ok && wday_ok;
	return mday_ok || wday_ok;
}

int64_t cron_next(const struct cron *c, int64_t after)
{
	int64_t t = utc_floor_div(after, 60) * 60 + 60;
	int64_t day = utc_floor_div(t, 86400), last = day + 8 * 366;
	int minute = (int)((t - day * 86400) / 60);

	for (; day <= last; day++, minute = 0) {
		int m;

		if (!day_matches(c, day))
			continue;
		for (m = minute; m < 24 * 60; m++)
			if (((c->hours >> (m / 60)) & 1u) && ((c->minutes >> (m % 60)) & 1u))
				return day * 86400 + (int64_t)m * 60;
	}
	return -1;
}
