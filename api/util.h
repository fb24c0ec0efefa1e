/* Allocation that never returns NULL, string helpers that check everything, and BUG(). */
#ifndef AURIGA_UTIL_H
#define AURIGA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Aborts with file and line: only for programmer errors, never for input or peers. */
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Out of memory is not an outcome auriga can act on: these abort on it. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grows *p (holding *cap elements of size elem) to hold at least need elements. */
void xgrow(void **p, size_t *cap, size_t need, size_t elem);
#define XGROW(arr, cap, need) xgrow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Whole-string integer parsing: 0 on success, -1 on junk, overflow or out of [min, max]. */
int parse_long(const char *s, long min, long max, long *out);
int parse_u64(const char *s, uint64_t *out);

/* Monotonic and wall clocks in milliseconds. */
int64_t now_ms(void);
int64_t wall_ms(void);

int str_has_prefix(const char *s, const char *prefix);
int str_has_suffix(const char *s, const char *suffix);
/*
 * url as it may be shown (logs, errors, status): the userinfo before '@' in
 * its authority becomes three asterisks, so neither a user:password nor a
 * token given as the user is shown; ssh:// and git+ssh:// keep the user and
 * hide only a password. Anything without "://" is returned as it is.
 */
char *url_redact(const char *url);
/*
 * The secret of url's userinfo (a new string): the password, or for schemes
 * other than ssh the whole userinfo (a token given as the user); NULL without one.
 */
char *url_secret(const char *url);
/* s with every needle (not empty) replaced by with, as a new string. */
char *str_replace_all(const char *s, const char *needle, const char *with);

/* cleanup_free: frees a pointer variable when it goes out of scope. */
void freep(void *p);
#define cleanup_free __attribute__((cleanup(freep)))

#endif
