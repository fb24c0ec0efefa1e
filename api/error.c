/* The error object: set once where a failure happens, wrapped with context on its way up. */
#include "error.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int error_set(struct error **err, int code, const char *fmt, ...)
{
	va_list ap;
	struct error *e;

	if (err == NULL || *err != NULL)
		return code;
	e = xcalloc(1, sizeof(*e));
	e->code = code;
	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
	*err = e;
	return code;
}

int error_wrap(struct error **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg;
	size_t n;

	if (err == NULL || *err == NULL)
		return ERR_GENERIC;
	va_start(ap, fmt);
	ctx = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(ctx) + strlen((*err)->msg) + 3;
	msg = xmalloc(n);
	snprintf(msg, n, "%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return (*err)->code;
}

const char *error_msg(const struct error *e)
{
	return e ? e->msg : "(no error)";
}

int error_code(const struct error *e)
{
	return e ? e->code : 0;
}

void error_free(struct error *e)
{
	if (e == NULL)
		return;
	free(e->msg);
	free(e);
}

void error_clear(struct error **err)
{
	if (err == NULL)
		return;
	error_free(*err);
	*err = NULL;
}
