/* The daemon's settings: one table of names, types, bounds, defaults, flags and environment variables. */
#ifndef AURIGA_CONFIG_H
#define AURIGA_CONFIG_H

#include "error.h"

#include <stddef.h>
#include <stdio.h>

/*
 * Every setting is one row of the table in config.c. A value comes from, in
 * increasing precedence: the table's default, Docker's own variable for the
 * Docker settings (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY), the
 * optional configuration file (YAML, one "key: value" mapping), the
 * environment (AURIGA_*), the command line (--key value or --key=value).
 * Every subcommand reads the same table: the rows it takes (config_cmds) by
 * the same flag and variable names; the file may hold any row. The keys
 * below index the table; the typed getters check the type and BUG() on a
 * mismatch (a programmer error).
 */
enum config_key {
	CFG_CONFIG,		/* the configuration file itself (flag or environment only) */
	CFG_REPO,		/* specs repo URL */
	CFG_BRANCH,
	CFG_REPO_PATH,		/* folder within the repo holding the specs */
	CFG_STATE_DIR,
	CFG_POLL_INTERVAL,
	CFG_DOCKER_HOST,
	CFG_DOCKER_TLS_CA,
	CFG_DOCKER_TLS_CERT,
	CFG_DOCKER_TLS_KEY,
	CFG_DOCKER_TIMEOUT,
	CFG_LISTEN,
	CFG_TLS_CERT,
	CFG_TLS_KEY,
	CFG_API_TOKEN_FILE,
	CFG_GITHUB_SECRET_FILE,
	CFG_GITLAB_TOKEN_FILE,
	CFG_GITEA_SECRET_FILE,
	CFG_HTTP_MAX_BODY,
	CFG_HTTP_MAX_CONNECTIONS,
	CFG_HTTP_IDLE_TIMEOUT,
	CFG_HTTP_REQUEST_TIMEOUT,
	CFG_HTTP_THREADS,
	CFG_WEBHOOK_DEDUP,
	CFG_LOG_LEVEL,
	CFG_LOG_FORMAT,
	CFG_NOTES_REF,
	CFG_NOTES_PUSH,
	CFG_ALLOWED_SIGNERS,
	CFG_KNOWN_HOSTS,
	CFG_SSH_KEY,
	CFG_HTTPS_TOKEN_FILE,
	CFG_HTTPS_TOKEN,	/* secret: environment or file only */
	CFG_CA_BUNDLE,
	CFG_INSTANCE,
	CFG_NAME_PREFIX,
	CFG_MAX_PROBES,
	CFG_EXTRA_LABELS,
	CFG_ROUTER_ERROR_LOG,
	CFG_POLICY_FILE,
	CFG_ALLOW_NON_FAST_FORWARD,
	CFG_API_READ_TOKEN,
	CFG_API_MAX_CONNECTIONS_PER_CLIENT,
	CFG_DOCKER_CERT_PATH,
	CFG_DOCKER_TLS_VERIFY,
	CFG_SSH_USER,
	CFG_HTTPS_USER,
	CFG_GIT_TIMEOUT,
	CFG_BACKUP_MAX_BYTES,
	CFG_ENVIRONMENT,	/* the Environment of the specs this instance follows; "" for none */
	CFG_LEASE,		/* elect one leader among the controllers of the instance */
	CFG_LEASE_TTL,
	CFG_LEASE_RENEW_INTERVAL,
	CFG_LEASE_SKEW,
	CFG_BACKUP_SCHEDULES,	/* the daemon runs the BackupPolicies' schedules and drill schedules */
	CFG_SCHEDULE_START_HOLD,	/* how long a new or changed policy's runs wait for the commit applied to settle */
	CFG_SIGNING_KEY_FILE,	/* the operator's secret: MACs of the approvals and of the shared state */
	CFG__COUNT
};

enum config_type {
	CFGT_BOOL,
	CFGT_INT,
	CFGT_DURATION,	/* "250ms", "30s", "5m", "1h"; a bare number is seconds; kept in ms */
	CFGT_STRING,
	CFGT_PATH,
	CFGT_ENUM,
	CFGT_LIST,	/* comma-separated on the command line and in the environment, a sequence in the file */
};

enum config_source { CFG_SRC_DEFAULT, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

#define CFG_SECRET 0x1		/* never logged or printed; no command-line flag (ps would show it) */
#define CFG_RESTART 0x2		/* a reload that changes it takes effect only after a restart */
#define CFG_NO_FILE 0x4		/* cannot be set from the configuration file */

struct config_spec { /* NOLINT(clang-analyzer-optin.performance.Padding): rows read in table order */
	const char *name;	/* file key; the flag is "--" name */
	enum config_type type;
	const char *def;	/* default, as text in the flag's syntax */
	long min, max;		/* bounds: int value, duration in ms, list length */
	const char *const *choices;	/* enum: NULL-terminated */
	const char *env;	/* environment variable */
	const char *metavar;
	unsigned flags;
	const char *help;
};

/* The subcommands, as a mask of the rows each takes. */
#define CFG_CMD_RUN 0x1u
#define CFG_CMD_APPLY 0x2u
#define CFG_CMD_ROLLBACK 0x4u
#define CFG_CMD_PLAN 0x8u
#define CFG_CMD_VALIDATE 0x10u
#define CFG_CMD_STATUS 0x20u
#define CFG_CMD_SOURCE 0x40u
#define CFG_CMD_DOCKER 0x80u
#define CFG_CMD_PROMOTE 0x100u
#define CFG_CMD_ABORT 0x200u
#define CFG_CMD_HEALTHCHECK 0x400u
#define CFG_CMD_PAUSE 0x800u
#define CFG_CMD_RESUME 0x1000u
#define CFG_CMD_BACKUP 0x2000u
#define CFG_CMD_APPROVE 0x4000u

struct config;

/* The table, CFG__COUNT rows in enum config_key order. */
const struct config_spec *config_spec(enum config_key k);
/* Finds a row by file key or flag name (without "--"); -1 when unknown. */
int config_lookup(const char *name);
/* The subcommands that take row k (CFG_CMD_*): every row is run's, some are others' too. */
unsigned config_cmds(enum config_key k);
/* The subcommand's bit for its name ("apply"); 0 when no subcommand has that name. */
unsigned config_cmd_bit(const char *name);
/* Docker's own variable that row k honours below every source of the table, or NULL. */
const char *config_foreign_env(enum config_key k);

/*
 * Options of a subcommand that are not settings (--check, --help, --json):
 * a flag named here is accepted by config_load and counted in *seen. With a
 * metavar it takes a value: stored in value[0] (the last one wins) or, when
 * max > 1, in value[0..max-1] in order, more than max being an error.
 * short_name, when set, is its one-letter spelling (-n).
 */
struct config_extra_flag {
	const char *name;
	int *seen;
	const char **value;
	const char *metavar;
	const char *help;
	int max;
	char short_name;
};

/*
 * Builds the effective settings from defaults, the file named by --config
 * or AURIGA_CONFIG, envp (NULL means the process environment) and argv
 * (argv[0] is the subcommand, whose rows are read; it is skipped). Old
 * spellings of a flag are taken with one deprecation line on stderr naming
 * the new one. Arguments that are not options are returned in *positional
 * (NULL-terminated, the strings borrowed from argv; free the array). On
 * error nothing is returned and *err says which source, line or flag is
 * wrong.
 */
int config_load(struct config **out, int argc, char **argv, char *const *envp,
		const struct config_extra_flag *extra, char ***positional, struct error **err);

/*
 * Reads the configuration file again for SIGHUP: the new settings are built
 * and validated whole from the same environment and command line as *cfg,
 * then *cfg is replaced and the old one freed. A bad file leaves *cfg as it
 * was and returns the error. Changed settings are logged (secrets masked);
 * those marked CFG_RESTART are reported as needing a restart.
 */
int config_reload_file(struct config **cfg, struct error **err);

void config_free(struct config *c);

/* Typed getters; the strings belong to c. Unset strings and paths are "". */
int config_bool(const struct config *c, enum config_key k);
long config_int(const struct config *c, enum config_key k);
long config_ms(const struct config *c, enum config_key k);
const char *config_str(const struct config *c, enum config_key k);
/* The index of the value in the row's choices. */
int config_enum(const struct config *c, enum config_key k);
const char *const *config_list(const struct config *c, enum config_key k, size_t *n);
enum config_source config_source_of(const struct config *c, enum config_key k);
/* Where the value came from: "default", "FILE:LINE:COL", "AURIGA_X" or "--x". */
const char *config_origin(const struct config *c, enum config_key k);

/*
 * name-prefix as it applies: the instance when it is not set, "" (names
 * without a prefix) when it is set empty.
 */
const char *config_name_prefix(const struct config *c);

/* Sets up logging (runtime/log.h) from log-level and log-format. */
void config_log_setup(const struct config *c);

/*
 * The value as it may be logged or printed (free it): "********" for a
 * secret that is set, a URL's credentials replaced by "***" (url_redact).
 */
char *config_shown(const struct config *c, enum config_key k);
/* Prints every effective setting with its source, secrets and URL credentials masked. */
void config_dump(const struct config *c, FILE *out);
/* Prints the options section of run's --help, generated from the table. */
void config_usage(FILE *out);
/*
 * Prints the options section of one subcommand's --help: its own options
 * (extra, those with a help text), then the rows it takes, each as
 * config_usage prints it, so a setting reads the same in every --help.
 */
void config_usage_cmd(FILE *out, const char *cmd, const struct config_extra_flag *extra);

/* Formats ms as the largest whole unit: "2h", "5m", "30s", "250ms". */
void config_format_duration(char *out, size_t n, long ms);

/* Parses a duration ("250ms", "30s", "5m", "2h", "1h30m"; a bare number is seconds) into ms. */
int config_parse_duration(const char *s, long *ms);

#endif
