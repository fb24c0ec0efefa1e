/* Allocation that never returns NULL, string helpers that check everything, and BUG(). */
#ifndef AURIGA_UTIL_H
#define AURIGA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
/* A copy of the n bytes at p, or NULL when n is 0. */
void *xmemdup(const void *p, size_t n);
/* A copy of s, or NULL when s is NULL. */
char *xstrdup_or_null(const char *s);
/* A formatted string in new memory, for the caller to free: the one printf-to-heap of the tree. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Replaces *dst with a copy of v (NULL: none); leaves it as it is when the text is the same. */
void str_set(char **dst, const char *v);
/* Frees each of n pointers: a struct's owned fields in one statement, FREE_ALL(a->x, a->y, a->z). */
void free_all(void *const *v, size_t n);
#define FREE_ALL(...) \
	free_all((void *const[]){ __VA_ARGS__ }, sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))
/* Grows *p (holding *cap elements of size elem) to hold at least need elements. */
void xgrow(void **p, size_t *cap, size_t need, size_t elem);
#define XGROW(arr, cap, need) xgrow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Whole-string integer parsing: 0 on success, -1 on junk, overflow or out of [min, max]. */
int parse_long(const char *s, long min, long max, long *out);
int parse_u64(const char *s, uint64_t *out);

/* Adds ms (0 or more) to ts, carrying nanoseconds into seconds: a deadline for pthread_cond_timedwait. */
void timespec_add_ms(struct timespec *ts, int64_t ms);

/* Monotonic and wall clocks in milliseconds. */
int64_t now_ms(void);
int64_t now_us(void);	/* the same monotonic clock, in microseconds */
int64_t wall_ms(void);

/* Enum names as tables: the name at index i of n, or fallback past the table or at a hole in it. */
const char *name_of(const char *const *names, size_t n, size_t i, const char *fallback);
#define NAME_OF(table, i, fallback) name_of((table), ARRAY_SIZE(table), (size_t)(i), (fallback))
/* The index of s among n names, or -1 when it is none of them. */
int name_index(const char *const *names, size_t n, const char *s);

int str_has_prefix(const char *s, const char *prefix);
/* The n bytes at in as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
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

/*
 * Text that came from outside (an error, a peer's answer) as it may be served
 * or written in a note, as a new string: invalid UTF-8 becomes U+FFFD, control
 * characters are escaped ("\n", "\u001b"), a URL's userinfo becomes "***",
 * and at most max bytes (max >= 4) are kept, cut after a whole character with
 * "…" at the end. s may be NULL (""). TEXT_MAX is the bound the API and notes use.
 */
#define TEXT_MAX 1024
char *text_bounded(const char *s, size_t max);

/* Takes n out of the doubly linked list (prev and next fields) that starts at head, and clears its links. */
#define DLIST_UNLINK(head, n)                        \
	do {                                         \
		if ((n)->prev)                       \
			(n)->prev->next = (n)->next; \
		else if ((head) == (n))              \
			(head) = (n)->next;          \
		if ((n)->next)                       \
			(n)->next->prev = (n)->prev; \
		(n)->prev = (n)->next = NULL;        \
	} while (0)

/* cleanup_free: frees a pointer variable when it goes out of scope. */
void freep(void *p);
#define cleanup_free __attribute__((cleanup(freep)))

#endif
