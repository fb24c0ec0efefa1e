/* The command line of every subcommand: the settings it takes, their old spellings, its own options. */
#include "runtime/config.h"
#include "runtime/config_internal.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ONESHOT_GIT (CFG_CMD_APPLY | CFG_CMD_ROLLBACK | CFG_CMD_PLAN | CFG_CMD_STATUS | CFG_CMD_SOURCE | CFG_CMD_BACKUP)
#define GIT (CFG_CMD_RUN | ONESHOT_GIT)
#define ONESHOT_ENGINE (CFG_CMD_APPLY | CFG_CMD_ROLLBACK | CFG_CMD_PLAN | CFG_CMD_BACKUP)
#define ENGINE (CFG_CMD_RUN | ONESHOT_ENGINE)
#define DOCKER (ENGINE | CFG_CMD_DOCKER)
/* The commands that ask the running controller over its HTTP API (rollback first, then one-shot). */
#define DAEMON_CLIENT \
	(CFG_CMD_RUN | CFG_CMD_ROLLBACK | CFG_CMD_PROMOTE | CFG_CMD_ABORT | CFG_CMD_PAUSE | CFG_CMD_RESUME | \
	 CFG_CMD_APPROVE)
#define LOGS (GIT | CFG_CMD_DOCKER)
#define ALL 0x7fffu

static const struct {
	const char *name;
	unsigned bit;
} commands[] = {
	{ "run", CFG_CMD_RUN },
	{ "apply", CFG_CMD_APPLY },
	{ "rollback", CFG_CMD_ROLLBACK },
	{ "plan", CFG_CMD_PLAN },
	{ "validate", CFG_CMD_VALIDATE },
	{ "status", CFG_CMD_STATUS },
	{ "source", CFG_CMD_SOURCE },
	{ "docker", CFG_CMD_DOCKER },
	{ "promote", CFG_CMD_PROMOTE },
	{ "abort", CFG_CMD_ABORT },
	{ "healthcheck", CFG_CMD_HEALTHCHECK },
	{ "pause", CFG_CMD_PAUSE },
	{ "resume", CFG_CMD_RESUME },
	{ "backup", CFG_CMD_BACKUP },
	{ "approve", CFG_CMD_APPROVE },
};

/*
 * The subcommands besides run that take a row (every row is the daemon's).
 * A row left out here is run's alone.
 */
static const unsigned others[CFG__COUNT] = {
	[CFG_CONFIG] = ALL,
	[CFG_REPO] = GIT,
	[CFG_BRANCH] = GIT,
	[CFG_REPO_PATH] = ENGINE,
	[CFG_STATE_DIR] = GIT,
	[CFG_DOCKER_HOST] = DOCKER | CFG_CMD_VALIDATE,	/* validate: the url of the endpoint "local" */
	[CFG_DOCKER_TLS_CA] = DOCKER,
	[CFG_DOCKER_TLS_CERT] = DOCKER,
	[CFG_DOCKER_TLS_KEY] = DOCKER,
	[CFG_DOCKER_CERT_PATH] = DOCKER,
	[CFG_DOCKER_TLS_VERIFY] = DOCKER,
	[CFG_DOCKER_TIMEOUT] = DOCKER,
	[CFG_LISTEN] = DAEMON_CLIENT | CFG_CMD_HEALTHCHECK,
	[CFG_API_TOKEN_FILE] = DAEMON_CLIENT,
	[CFG_LOG_LEVEL] = LOGS,
	[CFG_LOG_FORMAT] = LOGS,
	[CFG_NOTES_REF] = CFG_CMD_RUN | CFG_CMD_APPLY | CFG_CMD_ROLLBACK | CFG_CMD_STATUS | CFG_CMD_SOURCE,
	[CFG_NOTES_PUSH] = CFG_CMD_RUN | CFG_CMD_APPLY | CFG_CMD_ROLLBACK,
	[CFG_ALLOWED_SIGNERS] = GIT,
	[CFG_ALLOW_NON_FAST_FORWARD] = GIT,
	[CFG_KNOWN_HOSTS] = GIT,
	[CFG_SSH_KEY] = GIT,
	[CFG_SSH_USER] = GIT,
	[CFG_HTTPS_USER] = GIT,
	[CFG_HTTPS_TOKEN_FILE] = GIT,
	[CFG_HTTPS_TOKEN] = GIT,
	[CFG_CA_BUNDLE] = GIT,
	[CFG_GIT_TIMEOUT] = GIT,
	[CFG_INSTANCE] = CFG_CMD_APPLY | CFG_CMD_PLAN | CFG_CMD_BACKUP | DAEMON_CLIENT,
	[CFG_NAME_PREFIX] = ENGINE,
	[CFG_EXTRA_LABELS] = ENGINE,
	[CFG_ROUTER_ERROR_LOG] = CFG_CMD_RUN | CFG_CMD_APPLY | CFG_CMD_ROLLBACK,
	[CFG_POLICY_FILE] = ENGINE | CFG_CMD_VALIDATE | CFG_CMD_DOCKER,
	[CFG_BACKUP_MAX_BYTES] = CFG_CMD_BACKUP | CFG_CMD_APPLY | CFG_CMD_ROLLBACK,	/* apply: the backups before a rollout */
	[CFG_ENVIRONMENT] = ENGINE | CFG_CMD_VALIDATE | CFG_CMD_STATUS,
	[CFG_LEASE] = CFG_CMD_RUN,
	[CFG_LEASE_TTL] = CFG_CMD_RUN,
	[CFG_LEASE_RENEW_INTERVAL] = CFG_CMD_RUN,
	[CFG_LEASE_SKEW] = CFG_CMD_RUN,
};

/* The spellings the subcommands had before they shared the table: taken, with a deprecation line. */
static const struct {
	const char *name;	/* one letter: a short option (-H) */
	enum config_key key;
	unsigned cmds;
} aliases[] = {
	{ "ref", CFG_BRANCH, ONESHOT_GIT },
	{ "specs-path", CFG_REPO_PATH, ONESHOT_ENGINE },
	{ "label", CFG_EXTRA_LABELS, ONESHOT_ENGINE },
	{ "https-password-file", CFG_HTTPS_TOKEN_FILE, ONESHOT_GIT },
	{ "timeout", CFG_GIT_TIMEOUT, ONESHOT_GIT },
	{ "host", CFG_DOCKER_HOST, CFG_CMD_DOCKER },
	{ "H", CFG_DOCKER_HOST, CFG_CMD_DOCKER },
	{ "tlscacert", CFG_DOCKER_TLS_CA, CFG_CMD_DOCKER },
	{ "tlscert", CFG_DOCKER_TLS_CERT, CFG_CMD_DOCKER },
	{ "tlskey", CFG_DOCKER_TLS_KEY, CFG_CMD_DOCKER },
	{ "tlsverify", CFG_DOCKER_TLS_VERIFY, CFG_CMD_DOCKER },
};

/* Docker's own variables, honoured below every source of the table (as the docker CLI reads them). */
static const struct {
	enum config_key key;
	const char *env;
} foreign[] = {
	{ CFG_DOCKER_HOST, "DOCKER_HOST" },
	{ CFG_DOCKER_CERT_PATH, "DOCKER_CERT_PATH" },
	{ CFG_DOCKER_TLS_VERIFY, "DOCKER_TLS_VERIFY" },
};

unsigned config_cmds(enum config_key k)
{
	if ((unsigned)k >= CFG__COUNT)
		BUG("bad config key %d", (int)k);
	return CFG_CMD_RUN | others[k];
}

unsigned config_cmd_bit(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].bit;
	return 0;
}

const char *config_foreign_env(enum config_key k)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(foreign); i++)
		if (foreign[i].key == k)
			return foreign[i].env;
	return NULL;
}

/* The extra option spelled name (or, short, its letter); NULL when there is none. */
static const struct config_extra_flag *extra_find(const struct config_extra_flag *extra, const char *name, int is_short)
{
	for (; extra && extra->name; extra++) {
		if (is_short ? (extra->short_name && name[0] == extra->short_name) : strcmp(extra->name, name) == 0)
			return extra;
	}
	return NULL;
}

/* An extra option seen: counted, and its value kept. */
static int extra_take(const struct config_extra_flag *x, const char *value, struct error **err)
{
	int n = x->seen ? *x->seen : 0;

	if (x->metavar && x->value) {
		if (x->max > 1 && n >= x->max)
			return error_set(err, ERR_INVALID, "--%s: at most %d", x->name, x->max);
		x->value[x->max > 1 ? n : 0] = value;
	}
	if (x->seen)
		(*x->seen)++;
	return 0;
}

/* The row an old spelling stands for in cmd, or -1; its deprecation line is printed once per load. */
static int alias_find(const char *cmd, unsigned bit, const char *name, int is_short, unsigned *warned)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (!(aliases[i].cmds & bit) || strcmp(aliases[i].name, name) != 0 ||
		    (strlen(aliases[i].name) == 1) != (is_short != 0))
			continue;
		if (!(*warned & (1u << i)))
			fprintf(stderr, "auriga %s: %s%s is deprecated, use --%s\n", cmd, is_short ? "-" : "--", name,
				config_spec(aliases[i].key)->name);
		*warned |= 1u << i;
		return (int)aliases[i].key;
	}
	return -1;
}

/* A flag for row k: a list given again adds its items to the earlier ones. */
static void add_flag(struct config_args *a, int key, const char *value)
{
	if (config_spec((enum config_key)key)->type == CFGT_LIST) {
		size_t i;

		for (i = 0; i < a->nflags; i++) {
			if (a->flags[i].key == key) {
				char *joined = xasprintf("%s,%s", a->flags[i].value, value);

				free(a->flags[i].value);
				a->flags[i].value = joined;
				return;
			}
		}
	}
	XGROW(a->flags, a->cap, a->nflags + 1);
	a->flags[a->nflags].key = key;
	a->flags[a->nflags].value = xstrdup(value);
	a->nflags++;
}

/* The row a long option names in cmd (its own name, "no-" before a boolean's, or an old spelling). */
static int row_of(const char *cmd, unsigned bit, const char *name, int has_value, int *negate, unsigned *warned,
		  struct error **err)
{
	int k = config_lookup(name);

	*negate = 0;
	if (k < 0 && str_has_prefix(name, "no-")) {
		k = config_lookup(name + 3);
		*negate = 1;
		if (k >= 0 && (config_spec((enum config_key)k)->type != CFGT_BOOL || has_value))
			k = -1;
	}
	if (k >= 0 && !(config_cmds((enum config_key)k) & bit))
		return error_set(err, ERR_INVALID, "--%s is not a setting of 'auriga %s'", name, cmd);
	if (k < 0) {
		*negate = 0;
		k = alias_find(cmd, bit, name, 0, warned);
	}
	if (k < 0)
		return error_set(err, ERR_INVALID, "unknown option '--%s'", name);
	if (config_spec((enum config_key)k)->flags & CFG_SECRET)
		return error_set(err, ERR_INVALID,
				 "--%s: a secret cannot be given on the command line: use %s or the config file", name,
				 config_spec((enum config_key)k)->env);
	return k;
}

/* The value of an option: after '=', or the next argument; a boolean takes none. */
static int option_value(int argc, char **argv, int *a, const char *eq, int is_bool, int negate, const char *name,
			const char *metavar, const char **value, struct error **err)
{
	if (is_bool && !eq)
		*value = negate ? "false" : "true";
	else if (eq)
		*value = eq + 1;
	else if (*a + 1 < argc)
		*value = argv[++*a];
	else
		return error_set(err, ERR_INVALID, "--%s needs a value (%s)", name, metavar ? metavar : "VALUE");
	return 0;
}

/* One option argv[*a] (a long or one-letter one); *a moves past its value. */
static int one_option(struct config_args *a, const char *cmd, unsigned bit, int argc, char **argv, int *i,
		      const struct config_extra_flag *extra, unsigned *warned, struct error **err)
{
	const char *arg = argv[*i], *eq = NULL, *value = NULL;
	const struct config_extra_flag *x;
	int is_short = arg[1] != '-', negate = 0, k;
	char name[128];

	if (is_short && (arg[2] != '\0'))
		return error_set(err, ERR_INVALID, "unknown option '%s'", arg);
	if (is_short) {
		snprintf(name, sizeof(name), "%s", arg + 1);
	} else {
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq ? (size_t)(eq - arg - 2) : strlen(arg + 2)), arg + 2);
	}
	x = strcmp(arg, "-h") == 0 ? extra_find(extra, "help", 0) : extra_find(extra, name, is_short);
	if (x) {
		if (!x->metavar && eq)
			return error_set(err, ERR_INVALID, "--%s takes no value", x->name);
		if (x->metavar && option_value(argc, argv, i, eq, 0, 0, x->name, x->metavar, &value, err) < 0)
			return ERR_INVALID;
		return extra_take(x, value, err);
	}
	if (is_short) {
		k = alias_find(cmd, bit, name, 1, warned);
		if (k < 0)
			return error_set(err, ERR_INVALID, "unknown option '%s'", arg);
	} else if ((k = row_of(cmd, bit, name, eq != NULL, &negate, warned, err)) < 0) {
		return k;
	}
	if (option_value(argc, argv, i, eq, config_spec((enum config_key)k)->type == CFGT_BOOL, negate, name,
			 config_spec((enum config_key)k)->metavar, &value, err) < 0)
		return ERR_INVALID;
	add_flag(a, k, value);
	return 0;
}

int config_args_parse(struct config_args *a, int argc, char **argv, const struct config_extra_flag *extra,
		      struct error **err)
{
	const char *cmd = argc > 0 ? argv[0] : "run";
	unsigned bit = config_cmd_bit(cmd), warned = 0;
	int i, options_done = 0;

	if (bit == 0)
		BUG("settings read for '%s', not a subcommand", cmd);
	a->cmd = bit;
	a->pos = xcalloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof(char *));
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (one_option(a, cmd, bit, argc, argv, &i, extra, &warned, err) < 0)
			return ERR_INVALID;
	}
	return 0;
}

void config_args_release(struct config_args *a)
{
	size_t i;

	for (i = 0; i < a->nflags; i++)
		free(a->flags[i].value);
	free(a->flags);
	free(a->pos);
	memset(a, 0, sizeof(*a));
}
