/* Structured logging to stderr: logfmt or JSON, one line per event, written with one write(2). */
#include "runtime/log.h"

#include "buf.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_LOGFMT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level min, enum log_format fmt)
{
	min_level = min;
	format = fmt;
}

int log_level_parse(const char *s, enum log_level *out)
{
	int i = name_index(level_names, ARRAY_SIZE(level_names), s);

	if (i < 0)
		return -1;
	*out = (enum log_level)i;
	return 0;
}

static void logfmt_value(struct buf *b, const char *v)
{
	const char *p;
	int quote = *v == '\0';

	for (p = v; *p && !quote; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
			quote = 1;
	if (!quote) {
		buf_puts(b, v);
		return;
	}
	buf_putc(b, '"');
	for (p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		if (*p == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

static void timestamp(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

void log_event(enum log_level lvl, const char *component, const char *msg, ...)
{
	struct buf b = BUF_INIT_MAX(64 * 1024);
	char ts[48];
	const char *k, *v;
	va_list ap;

	if (lvl < min_level)
		return;
	timestamp(ts, sizeof(ts));
	va_start(ap, msg);
	if (format == LOG_JSON) {
		json_t *o = json_object();
		char *s;

		json_object_set_new(o, "time", json_string(ts));
		json_object_set_new(o, "level", json_string(level_names[lvl]));
		json_object_set_new(o, "component", json_string(component));
		json_object_set_new(o, "msg", json_string(msg));
		while ((k = va_arg(ap, const char *)) != NULL) {
			v = va_arg(ap, const char *);
			json_object_set_new(o, k, json_string(v ? v : ""));
		}
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			buf_puts(&b, s);
		free(s);
		json_decref(o);
	} else {
		buf_printf(&b, "time=%s level=%s component=", ts, level_names[lvl]);
		logfmt_value(&b, component);
		buf_puts(&b, " msg=");
		logfmt_value(&b, msg);
		while ((k = va_arg(ap, const char *)) != NULL) {
			v = va_arg(ap, const char *);
			buf_printf(&b, " %s=", k);
			logfmt_value(&b, v ? v : "");
		}
	}
	va_end(ap);
	buf_putc(&b, '\n');
	if (write(STDERR_FILENO, b.data, b.len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	buf_release(&b);
}
