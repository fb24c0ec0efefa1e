/* The settings as they may be shown: the dump, --help's options, log set-up; secrets and URL credentials masked. */
#include "runtime/config.h"

#include "runtime/log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000L
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

void config_format_duration(char *out, size_t n, long ms)
{
	if (ms % HOUR == 0 && ms)
		snprintf(out, n, "%ldh", ms / HOUR);
	else if (ms % MIN == 0 && ms)
		snprintf(out, n, "%ldm", ms / MIN);
	else if (ms % SEC == 0)
		snprintf(out, n, "%lds", ms / SEC);
	else
		snprintf(out, n, "%ldms", ms);
}

char *config_shown(const struct config *c, enum config_key k)
{
	const char *v = config_str(c, k);

	if ((config_spec(k)->flags & CFG_SECRET) && v[0])
		return xstrdup("********");
	/* A repo URL may carry a user and password or a token: never shown. */
	return url_redact(v);
}

/* The choices of log-level and log-format are listed in the order of log.h's enums. */
_Static_assert(LOG_DEBUG == 0 && LOG_INFO == 1 && LOG_WARN == 2 && LOG_ERROR == 3, "log levels");
_Static_assert(LOG_LOGFMT == 0 && LOG_JSON == 1, "log formats");

void config_log_setup(const struct config *c)
{
	log_setup((enum log_level)config_enum(c, CFG_LOG_LEVEL),
		  (enum log_format)config_enum(c, CFG_LOG_FORMAT));
}

void config_dump(const struct config *c, FILE *out)
{
	int k;

	for (k = 0; k < CFG__COUNT; k++) {
		char *v = config_shown(c, (enum config_key)k);

		fprintf(out, "%-28s %-40s # %s\n", config_spec((enum config_key)k)->name, *v ? v : "\"\"",
			config_origin(c, (enum config_key)k));
		free(v);
	}
}

static const char *type_hint(const struct config_spec *s, char *tmp, size_t n)
{
	char a[32], b[32];

	switch (s->type) {
	case CFGT_INT:
		snprintf(tmp, n, "An integer in [%ld, %ld].", s->min, s->max);
		return tmp;
	case CFGT_DURATION:
		config_format_duration(a, sizeof(a), s->min);
		config_format_duration(b, sizeof(b), s->max);
		snprintf(tmp, n, "A duration in [%s, %s].", a, b);
		return tmp;
	default:
		return NULL;
	}
}

/* One row as every --help shows it: flag, variable(s), help, bounds and default. */
static void usage_row(FILE *out, const struct config_spec *s, const char *foreign)
{
	char hint[96], also[64] = "";
	const char *h = type_hint(s, hint, sizeof(hint));

	if (foreign)
		snprintf(also, sizeof(also), ", else $%s", foreign);
	if (s->flags & CFG_SECRET)
		fprintf(out, "  (no flag: secret)   $%s%s\n", s->env, also);
	else if (s->type == CFGT_BOOL)
		fprintf(out, "  --[no-]%s   $%s%s\n", s->name, s->env, also);
	else
		fprintf(out, "  --%s %s   $%s%s\n", s->name, s->metavar, s->env, also);
	fprintf(out, "        %s", s->help);
	if (h)
		fprintf(out, " %s", h);
	if (*s->def)
		fprintf(out, " [default: %s]", s->def);
	fputc('\n', out);
}

static void usage_rows(FILE *out, unsigned bit)
{
	int k;

	fprintf(out, "settings (--flag VALUE, $ENVIRONMENT; the config file key is the flag's name):\n");
	for (k = 0; k < CFG__COUNT; k++)
		if (config_cmds((enum config_key)k) & bit)
			usage_row(out, config_spec((enum config_key)k), config_foreign_env((enum config_key)k));
}

void config_usage(FILE *out)
{
	usage_rows(out, CFG_CMD_RUN);
}

void config_usage_cmd(FILE *out, const char *cmd, const struct config_extra_flag *extra)
{
	unsigned bit = config_cmd_bit(cmd);

	if (bit == 0)
		BUG("usage of '%s', not a subcommand", cmd);
	for (; extra && extra->name; extra++) {
		char left[64];

		if (!extra->help)
			continue;
		if (extra->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", extra->short_name, extra->name,
				 extra->metavar ? " " : "", extra->metavar ? extra->metavar : "");
		else
			snprintf(left, sizeof(left), "--%s%s%s", extra->name, extra->metavar ? " " : "",
				 extra->metavar ? extra->metavar : "");
		fprintf(out, "  %-26s %s\n", left, extra->help);
	}
	fprintf(out, "  %-26s %s\n\n", "-h, --help", "this help");
	usage_rows(out, bit);
}
