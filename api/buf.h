/* The one growable byte buffer: never NULL data, always NUL-terminated, with a mandatory maximum. */
#ifndef AURIGA_BUF_H
#define AURIGA_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Every body, blob and scalar read from outside goes through a buf whose max
 * bounds it: an append past max fails with ERR_TOOBIG and leaves the buffer
 * as it was. data is never NULL once initialised and always ends in '\0'.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT_MAX(m) { (char *)buf_empty, 0, 0, (m) }
extern const char buf_empty[1];

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Returns 0, or ERR_TOOBIG when len would pass max. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Makes room for extra more bytes at once (no content change); ERR_TOOBIG when len + extra would pass max. */
int buf_reserve(struct buf *b, size_t extra);
/* Hands the data over to the caller (who frees it) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
