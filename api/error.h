/* The error object that travels up from where a failure happens to the log, the API and the note. */
#ifndef AURIGA_ERROR_H
#define AURIGA_ERROR_H

#include <stddef.h>

/*
 * A failure: a message that says what failed and on what, and a code the
 * caller may act on (a negative errno, or one of the ERR_ kinds below).
 * Fallible functions return 0 or a negative number and fill *err when err is
 * not NULL; the first error set wins, later calls add context with
 * error_wrap().
 */
struct error {
	int code;
	char *msg;
};

enum error_kind {
	ERR_GENERIC = -1000,
	ERR_INVALID = -1001,	/* bad input: a spec, a flag, a file */
	ERR_TOOBIG = -1002,	/* a bound was hit */
	ERR_NOTFOUND = -1003,
	ERR_CONFLICT = -1004,
	ERR_TIMEOUT = -1005,
	ERR_TRANSPORT = -1006,	/* could not talk to a peer */
	ERR_PROTOCOL = -1007,	/* the peer answered something we cannot use */
	ERR_UNAVAILABLE = -1008,	/* circuit open, bulkhead full */
	ERR_REFUSED = -1009,	/* authentication, signature, policy */
};

#define ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets *err (when err is not NULL and *err is unset) and returns code. */
int error_set(struct error **err, int code, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Prefixes the message of *err with context ("context: message"); returns its code or ERR_GENERIC. */
int error_wrap(struct error **err, const char *fmt, ...) ATTR_PRINTF(2, 3);
const char *error_msg(const struct error *e);
int error_code(const struct error *e);
void error_free(struct error *e);
/* Frees *err and sets it to NULL. */
void error_clear(struct error **err);

#endif
