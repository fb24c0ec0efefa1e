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

int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point, or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Where the userinfo of a URL starting at s (just past "://") ends: its '@', or NULL without one. */
static const char *url_userinfo_end(const char *s)
{
	const char *at = NULL;

	for (; *s && !strchr("/?#\"'<> \t\r\n", *s); s++)
		if (*s == '@')
			at = s;
	return at;
}

/*
 * Where the secret in a URL's userinfo starts (sep points at "://", at at its
 * '@'), or NULL when there is none to hide: for ssh the password after the
 * user's ':', for other schemes the whole userinfo.
 */
static const char *url_secret_start(const char *s, const char *sep, const char *at)
{
	const char *colon;

	if (!(sep - s >= 3 && memcmp(sep - 3, "ssh", 3) == 0))
		return sep + 3;
	colon = memchr(sep + 3, ':', (size_t)(at - sep - 3));
	return colon ? colon + 1 : NULL;
}

char *text_bounded(const char *s, size_t max)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	const char *start = s ? s : "", *hide = NULL, *hide_end = NULL;
	const unsigned char *p = (const unsigned char *)start;
	size_t n = strlen(start), o = 0, fit = 0;
	size_t room = max > sizeof(ellipsis) - 1 ? max - (sizeof(ellipsis) - 1) : 0;
	char *out = xmalloc(max + 16);

	while (n && o <= max) {
		uint32_t cp = 0;
		size_t len;
		const char *at;

		if (!hide && n >= 3 && memcmp(p, "://", 3) == 0 && (at = url_userinfo_end((const char *)p + 3))) {
			/* Credentials in a URL are never shown (as url_redact: ssh keeps its user). */
			hide = url_secret_start(start, (const char *)p, at);
			hide_end = at;
		}
		if (hide && (const char *)p == hide) {
			memcpy(out + o, "***", 3);
			o += 3;
			n -= (size_t)(hide_end - hide);
			p = (const unsigned char *)hide_end;
			hide = NULL;
		} else if ((len = utf8_seq(p, n, &cp)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++, n--;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (cp == '\n' || cp == '\t')
				o += (size_t)snprintf(out + o, 16, "\\%c", cp == '\n' ? 'n' : 't');
			else
				o += (size_t)snprintf(out + o, 16, "\\u%04x", (unsigned)cp);
			p += len, n -= len;
		} else {
			memcpy(out + o, p, len);
			o += len;
			p += len, n -= len;
		}
		if (o <= room)
			fit = o;
	}
	if (n || o > max) {
		/* Cut after the last whole character (or escape) that leaves room for the ellipsis. */
		memcpy(out + fit, ellipsis, sizeof(ellipsis));
		return out;
	}
	out[o] = '\0';
	return out;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}
