/* The demo node's settings: one table, read from the environment, validated before anything starts. */
#include "node.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum setting_type { SET_ID, SET_LONG, SET_RATE, SET_BOOL, SET_DB };


struct config cfg;

struct setting {
	const char *env;
	enum setting_type type;
	long min, max;
	const char *def;	/* NULL: computed (the node id defaults to the host name) */
	void *dst;
	const char *what;
};

static const struct setting settings[] = {
	{ "DEMO_VERSION", SET_ID, 0, 0, "v1", cfg.version, "version reported in X-Node-Version" },
	{ "DEMO_NODE_ID", SET_ID, 0, 0, NULL, cfg.node, "node id reported in X-Node-Id (default: host name)" },
	{ "DEMO_PORT", SET_LONG, 1, 65535, "9003", &cfg.port, "TCP port to listen on" },
	{ "DEMO_START_DELAY_MS", SET_LONG, 0, 3600000, "0", &cfg.start_delay_ms,
	  "startup and readiness report DOWN until this has passed" },
	{ "DEMO_NEVER_READY", SET_BOOL, 0, 1, "0", &cfg.never_ready, "readiness never turns UP" },
	{ "DEMO_ERROR_RATE", SET_RATE, 0, 1, "0", &cfg.error_rate, "share of transactions answered 500" },
	{ "DEMO_LATENCY_MS", SET_LONG, 0, 600000, "0", &cfg.latency_ms, "added to every transaction" },
	{ "DEMO_CRASH_AFTER_S", SET_LONG, 0, 86400, "0", &cfg.crash_after_s,
	  "exit with status 3 after this many seconds (0: never)" },
	{ "DEMO_DRAIN_MS", SET_LONG, 0, 600000, "500", &cfg.drain_ms,
	  "on SIGTERM, keep serving this long with readiness DOWN, then exit 0" },
	{ "DEMO_LIVE_FAIL_AFTER_S", SET_LONG, 0, 86400, "0", &cfg.live_fail_after_s,
	  "liveness turns DOWN after this many seconds (0: never)" },
	{ "DATABASE_URL", SET_DB, 0, 0, "", &cfg.db,
	  "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE: write each transaction there "
	  "(password: PGPASSWORD when the URL has none)" },
};

/* Ids go into headers, JSON strings and Prometheus labels unescaped, so only safe bytes are allowed. */
static int id_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+';
}

int id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ID_MAX)
		return 0;
	for (; *s; s++)
		if (!id_char(*s))
			return 0;
	return 1;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* The host name, cut to ID_MAX bytes, with any byte an id may not hold turned into '-'. */
static void default_node_id(char *dst, size_t size)
{
	char host[256] = "";
	size_t i, n;

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		memcpy(host, "demo-node", sizeof("demo-node"));
	n = strnlen(host, size - 1);
	for (i = 0; i < n; i++)
		dst[i] = id_char(host[i]) ? host[i] : '-';
	dst[n] = '\0';
}

/*
 * DATABASE_URL: empty leaves the node without a database. The error names the
 * variable but never echoes the value, which may hold a password.
 */
static int load_db(const char *env, const char *v, struct db_target *t)
{
	char why[128];
	const char *pw;

	if (v[0] == '\0')
		return 0;
	if (db_url_parse(v, t, why, sizeof(why)) != 0) {
		fprintf(stderr, "demo-node: %s: not postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE: %s\n",
			env, why);
		return -1;
	}
	pw = getenv("PGPASSWORD");
	if (t->password[0] == '\0' && pw != NULL && snprintf(t->password, sizeof(t->password), "%s", pw) >=
	    (int)sizeof(t->password)) {
		fprintf(stderr, "demo-node: PGPASSWORD: longer than %d bytes\n", DB_FIELD_MAX);
		return -1;
	}
	return 0;
}

/* Reads every setting; on a bad value prints which variable and why, and returns -1. */
int config_load(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *s = &settings[i];
		const char *v = getenv(s->env);
		int rc = 0;

		if (v == NULL || v[0] == '\0') {
			if (s->def == NULL) {
				default_node_id(s->dst, ID_MAX + 1);
				continue;
			}
			v = s->def;
		}
		switch (s->type) {
		case SET_ID:
			if (!id_valid(v)) {
				fprintf(stderr, "demo-node: %s: '%s' is not a valid id "
					"(1 to %d of A-Z a-z 0-9 . _ - +)\n", s->env, v, ID_MAX);
				rc = -1;
			} else {
				snprintf(s->dst, ID_MAX + 1, "%s", v);
			}
			break;
		case SET_LONG:
			if (parse_long(v, s->min, s->max, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not an integer from %ld to %ld\n",
					s->env, v, s->min, s->max);
				rc = -1;
			}
			break;
		case SET_RATE:
			if (parse_rate(v, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not a number from 0 to 1\n", s->env, v);
				rc = -1;
			}
			break;
		case SET_BOOL:
			if (parse_bool(v, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not a boolean (1, 0, true, false, yes, no)\n",
					s->env, v);
				rc = -1;
			}
			break;
		case SET_DB:
			rc = load_db(s->env, v, s->dst);
			break;
		}
		if (rc != 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

void config_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: demo-node              serve (configured by the environment)\n"
		   "       demo-node probe URL-PATH [PORT [HOST]]\n"
		   "                              GET http://HOST:PORT/URL-PATH (HOST 127.0.0.1; \"-\": AURIGA_PREVIEW_*)\n"
		   "                              exit 0 on 2xx, 1 otherwise (and when DEMO_PROBE_WANT_VERSION\n"
		   "                              is set and another version answered)\n"
		   "environment:\n");
	for (i = 0; i < ARRAY_SIZE(settings); i++) {
		int def = settings[i].def != NULL && settings[i].def[0] != '\0';

		fprintf(f, "  %-24s %s%s%s%s\n", settings[i].env, settings[i].what,
			def ? " (default " : "", def ? settings[i].def : "", def ? ")" : "");
	}
}
