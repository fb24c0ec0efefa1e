/* Units in specs: Go-style durations and Kubernetes quantities for memory and CPU. */
#include "spec.h"

#include <stdint.h>
#include <string.h>

/*
 * Reads digits with an optional fraction into a value scaled by 10^9 (so
 * "1.5" is 1500000000); returns the characters used, 0 on junk.
 */
static size_t read_decimal(const char *s, int64_t *nano)
{
	const char *p = s;
	int64_t whole = 0, frac = 0, scale = 1000000000;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (whole > (INT64_MAX / 1000000000 - 9) / 10)
			return 0;
		whole = whole * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
			p++;
			digits++;
		}
	}
	if (!digits)
		return 0;
	*nano = whole * 1000000000 + frac;
	return (size_t)(p - s);
}

int64_t spec_parse_duration_ms(const char *s)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = { { "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000LL }, { "m", 60000000000LL }, { "h", 3600000000000LL } };
	int64_t total_ns = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*p) {
		int64_t v, ns = 0;
		size_t n = read_decimal(p, &v), i, best = 0;

		if (n == 0)
			return -1;
		p += n;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, l) == 0 && l > best) {
				best = l;
				ns = units[i].ns;
			}
		}
		if (!best)
			return -1;
		p += best;
		/* v is scaled by 1e9: v * ns / 1e9 nanoseconds, checked for overflow. */
		if (ns >= 1000000000LL) {
			int64_t f = ns / 1000000000LL;

			if (v > INT64_MAX / f)
				return -1;
			v *= f;
		} else {
			v = v / (1000000000LL / ns);
		}
		if (total_ns > INT64_MAX - v)
			return -1;
		total_ns += v;
	}
	return total_ns / 1000000;
}

int64_t spec_parse_memory(const char *s)
{
	static const struct {
		const char *suffix;
		int64_t mult;
	} sfx[] = { { "Ki", 1LL << 10 }, { "Mi", 1LL << 20 }, { "Gi", 1LL << 30 },
		{ "Ti", 1LL << 40 }, { "k", 1000LL }, { "M", 1000000LL }, { "G", 1000000000LL },
		{ "T", 1000000000000LL }, { "", 1 } };
	int64_t whole = 0, nano = 0, scale = 1000000000, frac;
	const char *p = s;
	size_t i;

	if (s == NULL || *p < '0' || *p > '9')
		return -1;
	/* The whole part in the full 64-bit range (a size in bytes needs it), the fraction in ns. */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				nano += (*p - '0') * scale;
			}
		}
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(p, sfx[i].suffix) != 0)
			continue;
		if (whole > INT64_MAX / sfx[i].mult)
			return -1;
		whole *= sfx[i].mult;
		frac = (int64_t)((long double)nano * sfx[i].mult / 1e9L);
		if (whole > INT64_MAX - frac)
			return -1;
		/* Less than a byte but not zero ("0.5") is no size: it would mean "no limit". */
		if (whole + frac == 0 && nano != 0)
			return -1;
		return whole + frac;
	}
	return -1;
}

int64_t spec_parse_cpu_millis(const char *s)
{
	int64_t v;
	size_t n;

	if (s == NULL)
		return -1;
	n = read_decimal(s, &v);
	if (n == 0)
		return -1;
	if (strcmp(s + n, "m") == 0)
		v /= 1000000000;
	else if (s[n] != '\0')
		return -1;
	else
		v /= 1000000;
	/* Past a million cores is no host's: refused, and Docker's nanocores never overflow. */
	return v > SPEC_CPU_MILLIS_MAX ? -1 : v;
}
