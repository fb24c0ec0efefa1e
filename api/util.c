/* Allocation wrappers, checked number parsing, clocks and BUG(). */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static _Noreturn void oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void *xmemdup(const void *p, size_t n)
{
	return n ? memcpy(xmalloc(n), p, n) : NULL;
}

char *xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	va_list cp;
	char *s;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)	/* EOVERFLOW or a bad multibyte string: say so rather than fail the caller */
		return xstrdup("(unformattable text)");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void str_set(char **dst, const char *v)
{
	if (*dst && v && strcmp(*dst, v) == 0)
		return;
	free(*dst);
	*dst = xstrdup_or_null(v);
}

void free_all(void *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
}

void xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			oom(SIZE_MAX);
		n *= 2;
	}
	*p = xrealloc(*p, n * elem);
	*cap = n;
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (uint64_t)v;
	return 0;
}

void timespec_add_ms(struct timespec *ts, int64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *name_of(const char *const *names, size_t n, size_t i, const char *fallback)
{
	return i < n && names[i] ? names[i] : fallback;
}

int name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *url_redact(const char *url)
{
	const char *sep = strstr(url, "://"), *host, *end, *at = NULL, *p;
	size_t keep, n;
	char *out;

	if (sep == NULL)
		return xstrdup(url);
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return xstrdup(url);
	keep = (size_t)(host - url);
	if (str_has_prefix(url, "ssh://") || str_has_prefix(url, "git+ssh://")) {
		const char *colon = memchr(host, ':', (size_t)(at - host));

		if (colon == NULL)
			return xstrdup(url);
		keep = (size_t)(colon + 1 - url);
	}
	n = keep + 3 + strlen(at) + 1;
	out = xmalloc(n);
	snprintf(out, n, "%.*s***%s", (int)keep, url, at);
	return out;
}

/*
 * The secret of a URL's userinfo: the password, or for schemes other than
 * ssh the whole userinfo (a token given as the user); NULL without one.
 */
char *url_secret(const char *url)
{
	const char *host = strstr(url, "://"), *end, *at = NULL, *colon, *p;

	if (host == NULL)
		return NULL;
	host += 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || at == host)
		return NULL;
	colon = memchr(host, ':', (size_t)(at - host));
	if (colon)
		return colon + 1 < at ? xstrndup(colon + 1, (size_t)(at - colon - 1)) : NULL;
	if (str_has_prefix(url, "ssh://") || str_has_prefix(url, "git+ssh://"))
		return NULL;
	return xstrndup(host, (size_t)(at - host));
}

/* s with every needle replaced by with (a new string). */
char *str_replace_all(const char *s, const char *needle, const char *with)
{
	size_t n = strlen(needle), wn = strlen(with), len = strlen(s), count = 0, o = 0;
	const char *p;
	char *out;

	if (n == 0)
		return xstrdup(s);
	for (p = strstr(s, needle); p; p = strstr(p + n, needle))
		count++;
	out = xmalloc(len + count * wn + 1);
	for (p = s; *p;) {
		if (strncmp(p, needle, n) == 0) {
			memcpy(out + o, with, wn);
			o += wn;
			p += n;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

void freep(void *p)
{
	free(*(void **)p);
}
