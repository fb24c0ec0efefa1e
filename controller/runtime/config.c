/* The settings table and the sources it is filled from: defaults, a YAML file, the environment, flags. */
#include "runtime/config.h"
#include "runtime/config_internal.h"

#include "buf.h"
#include "runtime/file.h"
#include "runtime/lease.h"
#include "runtime/log.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define SEC 1000L
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_formats[] = { "logfmt", "json", NULL };

/* The table. Keep it in enum config_key order; a test checks names, flags and environment names. */
static const struct config_spec table[CFG__COUNT] = {
	[CFG_CONFIG] = { "config", CFGT_PATH, "", 0, 0, NULL, "AURIGA_CONFIG", "FILE", CFG_NO_FILE,
			 "Configuration file: a YAML mapping of setting names to values." },
	[CFG_REPO] = { "repo", CFGT_STRING, "", 0, 0, NULL, "AURIGA_REPO", "URL", 0,
		       "URL of the specs repository (ssh://, https://, file:// or a path)." },
	[CFG_BRANCH] = { "branch", CFGT_STRING, "main", 0, 0, NULL, "AURIGA_BRANCH", "NAME", 0,
			 "Branch of the specs repository to follow." },
	[CFG_REPO_PATH] = { "repo-path", CFGT_STRING, ".", 0, 0, NULL, "AURIGA_REPO_PATH", "DIR", 0,
			    "Folder within the specs repository that holds the specs." },
	[CFG_STATE_DIR] = { "state-dir", CFGT_PATH, "/var/lib/auriga", 0, 0, NULL, "AURIGA_STATE_DIR",
			    "DIR", CFG_RESTART,
			    "Where auriga keeps its clone of the specs repository and its state." },
	[CFG_POLL_INTERVAL] = { "poll-interval", CFGT_DURATION, "60s", 1 * SEC, 24 * HOUR, NULL,
				"AURIGA_POLL_INTERVAL", "DURATION", 0,
				"How often the specs repository is fetched and every Docker endpoint listed in full "
				"(at least every 5 minutes; in between, a pass lists an endpoint only when its events "
				"say something changed)." },
	[CFG_DOCKER_HOST] = { "docker-host", CFGT_STRING, "unix:///var/run/docker.sock", 0, 0, NULL,
			      "AURIGA_DOCKER_HOST", "URL", CFG_RESTART,
			      "The Docker endpoint \"local\" (a Cluster's default): unix:///path or tcp://host:port (with TLS)." },
	[CFG_DOCKER_TLS_CA] = { "docker-tls-ca", CFGT_PATH, "", 0, 0, NULL, "AURIGA_DOCKER_TLS_CA",
				"FILE", CFG_RESTART, "CA certificate that signed the Docker host's certificate." },
	[CFG_DOCKER_TLS_CERT] = { "docker-tls-cert", CFGT_PATH, "", 0, 0, NULL,
				  "AURIGA_DOCKER_TLS_CERT", "FILE", CFG_RESTART,
				  "Client certificate for mutual TLS with the Docker host." },
	[CFG_DOCKER_TLS_KEY] = { "docker-tls-key", CFGT_PATH, "", 0, 0, NULL, "AURIGA_DOCKER_TLS_KEY",
				 "FILE", CFG_RESTART, "Client key for mutual TLS with the Docker host." },
	[CFG_DOCKER_TIMEOUT] = { "docker-timeout", CFGT_DURATION, "30s", 1 * SEC, 10 * MIN, NULL,
				 "AURIGA_DOCKER_TIMEOUT", "DURATION", CFG_RESTART,
				 "Deadline of one Docker Engine API call of the reconcile (list, inspect, create, start, "
				 "remove, networks), retries included; a stop adds the container's stop timeout, exec "
				 "probes keep their own timeout and the events stream has none." },
	[CFG_LISTEN] = { "listen", CFGT_STRING, "127.0.0.1:8080", 0, 0, NULL, "AURIGA_LISTEN",
			 "ADDR:PORT", CFG_RESTART,
			 "Address of the HTTP server (health, metrics, API, webhooks); \":PORT\" for every address." },
	[CFG_TLS_CERT] = { "tls-cert", CFGT_PATH, "", 0, 0, NULL, "AURIGA_TLS_CERT", "FILE",
			   CFG_RESTART, "PEM certificate of the HTTP server; TLS is on when it and tls-key are set." },
	[CFG_TLS_KEY] = { "tls-key", CFGT_PATH, "", 0, 0, NULL, "AURIGA_TLS_KEY", "FILE", CFG_RESTART,
			  "PEM private key of the HTTP server." },
	[CFG_API_TOKEN_FILE] = { "api-token-file", CFGT_PATH, "", 0, 0, NULL, "AURIGA_API_TOKEN_FILE",
				 "FILE", 0,
				 "File holding the bearer token of POST /api/v1/...; without it those requests are refused." },
	[CFG_GITHUB_SECRET_FILE] = { "github-webhook-secret-file", CFGT_PATH, "", 0, 0, NULL,
				     "AURIGA_GITHUB_WEBHOOK_SECRET_FILE", "FILE", 0,
				     "File holding the GitHub webhook secret; enables /api/v1/webhooks/github." },
	[CFG_GITLAB_TOKEN_FILE] = { "gitlab-webhook-token-file", CFGT_PATH, "", 0, 0, NULL,
				    "AURIGA_GITLAB_WEBHOOK_TOKEN_FILE", "FILE", 0,
				    "File holding the GitLab webhook token; enables /api/v1/webhooks/gitlab." },
	[CFG_GITEA_SECRET_FILE] = { "gitea-webhook-secret-file", CFGT_PATH, "", 0, 0, NULL,
				    "AURIGA_GITEA_WEBHOOK_SECRET_FILE", "FILE", 0,
				    "File holding the Gitea webhook secret; enables /api/v1/webhooks/gitea." },
	[CFG_HTTP_MAX_BODY] = { "http-max-body", CFGT_INT, "1048576", 1024, 64L * 1024 * 1024, NULL,
				"AURIGA_HTTP_MAX_BODY", "BYTES", CFG_RESTART,
				"Largest request body the HTTP server accepts; larger ones get 413." },
	[CFG_HTTP_MAX_CONNECTIONS] = { "http-max-connections", CFGT_INT, "64", 2, 4096, NULL,
				       "AURIGA_HTTP_MAX_CONNECTIONS", "N", CFG_RESTART,
				       "Connections the HTTP server holds at once." },
	[CFG_HTTP_IDLE_TIMEOUT] = { "http-idle-timeout", CFGT_DURATION, "30s", 1 * SEC, 10 * MIN, NULL,
				    "AURIGA_HTTP_IDLE_TIMEOUT", "DURATION", CFG_RESTART,
				    "A connection without traffic for this long is closed." },
	[CFG_HTTP_REQUEST_TIMEOUT] = { "http-request-timeout", CFGT_DURATION, "10s", 1 * SEC, 5 * MIN,
				       NULL, "AURIGA_HTTP_REQUEST_TIMEOUT", "DURATION", CFG_RESTART,
				       "A request not fully received this long after it began is cut off." },
	[CFG_HTTP_THREADS] = { "http-threads", CFGT_INT, "2", 1, 64, NULL, "AURIGA_HTTP_THREADS", "N",
			       CFG_RESTART, "Threads serving HTTP." },
	[CFG_WEBHOOK_DEDUP] = { "webhook-dedup", CFGT_INT, "1024", 16, 65536, NULL,
				"AURIGA_WEBHOOK_DEDUP", "N", CFG_RESTART,
				"Recent webhook delivery ids, and bodies of accepted pushes, remembered to refuse replays." },
	[CFG_LOG_LEVEL] = { "log-level", CFGT_ENUM, "info", 0, 0, log_levels, "AURIGA_LOG_LEVEL",
			    "LEVEL", 0, "Least severe level logged: debug, info, warn or error." },
	[CFG_LOG_FORMAT] = { "log-format", CFGT_ENUM, "logfmt", 0, 0, log_formats, "AURIGA_LOG_FORMAT",
			     "FORMAT", 0, "Log line format: logfmt or json." },
	[CFG_NOTES_REF] = { "notes-ref", CFGT_STRING, "refs/notes/auriga", 0, 0, NULL,
			    "AURIGA_NOTES_REF", "REF", 0, "Git notes ref the status notes are written to." },
	[CFG_NOTES_PUSH] = { "notes-push", CFGT_BOOL, "true", 0, 0, NULL, "AURIGA_NOTES_PUSH", NULL, 0,
			     "Push the status notes to the specs repository's remote." },
	[CFG_ALLOWED_SIGNERS] = { "allowed-signers", CFGT_PATH, "", 0, 0, NULL,
				  "AURIGA_ALLOWED_SIGNERS", "FILE", 0,
				  "ssh allowed-signers file; when set, only commits signed by a key in it are applied." },
	[CFG_KNOWN_HOSTS] = { "known-hosts", CFGT_PATH, "", 0, 0, NULL, "AURIGA_KNOWN_HOSTS", "FILE", 0,
			      "known_hosts file checked for ssh:// specs repositories." },
	[CFG_SSH_KEY] = { "ssh-key", CFGT_PATH, "", 0, 0, NULL, "AURIGA_SSH_KEY", "FILE", 0,
			  "Private key (deploy key) for ssh:// specs repositories." },
	[CFG_HTTPS_TOKEN_FILE] = { "https-token-file", CFGT_PATH, "", 0, 0, NULL,
				   "AURIGA_HTTPS_TOKEN_FILE", "FILE", CFG_RESTART,
				   "File holding the token (one line) for https:// specs repositories, sent as the "
				   "password of https-user." },
	[CFG_HTTPS_TOKEN] = { "https-token", CFGT_STRING, "", 0, 0, NULL, "AURIGA_HTTPS_TOKEN", "TOKEN",
			      CFG_SECRET | CFG_RESTART,
			      "Token for https:// specs repositories (environment or file only; prefer https-token-file)." },
	[CFG_CA_BUNDLE] = { "ca-bundle", CFGT_PATH, "", 0, 0, NULL, "AURIGA_CA_BUNDLE", "FILE", 0,
			    "CA certificates trusted for https:// remotes instead of the system's." },
	[CFG_INSTANCE] = { "instance", CFGT_STRING, "auriga", 0, 0, NULL, "AURIGA_INSTANCE", "NAME",
			   CFG_RESTART,
			   "Name of this controller, written in the auriga.io/managed-by label of what it manages." },
	[CFG_NAME_PREFIX] = { "name-prefix", CFGT_STRING, "", 0, 0, NULL, "AURIGA_NAME_PREFIX", "PREFIX",
			      CFG_RESTART,
			      "Put before the names of the containers and networks auriga makes "
			      "(\"<prefix>-<deployment>-<ordinal>\"), and of the router's file and NGINX upstreams, so "
			      "that instances share a Docker engine and an NGINX: "
			      "the instance when not set; set empty, the names carry no prefix." },
	[CFG_MAX_PROBES] = { "max-probes", CFGT_INT, "16", 1, 256, NULL, "AURIGA_MAX_PROBES", "N", CFG_RESTART,
			     "Health probe attempts in flight at once, across containers; one due while they are "
			     "waits, first come first, until one ends (its timeout counts from its start), and the "
			     "cap is logged." },
	[CFG_EXTRA_LABELS] = { "extra-labels", CFGT_LIST, "", 0, 32, NULL, "AURIGA_EXTRA_LABELS",
			       "K=V,...", CFG_RESTART,
			       "Labels added to every container auriga creates." },
	[CFG_ROUTER_ERROR_LOG] = { "router-error-log", CFGT_PATH, "", 0, 0, NULL, "AURIGA_ROUTER_ERROR_LOG", "FILE",
				   CFG_RESTART,
				   "NGINX's error log: when NGINX does not serve a router change in time, the error it "
				   "wrote there is quoted in the status." },
	[CFG_POLICY_FILE] = { "policy-file", CFGT_PATH, "", 0, 0, NULL, "AURIGA_POLICY_FILE", "FILE", CFG_RESTART,
			      "The operator's policy: what the specs may ask of the hosts (privileged, host paths, "
			      "networks, capabilities, images, bounds, router); without it every escalation is refused." },
	[CFG_ALLOW_NON_FAST_FORWARD] = { "allow-non-fast-forward", CFGT_BOOL, "false", 0, 0, NULL,
					 "AURIGA_ALLOW_NON_FAST_FORWARD", NULL, 0,
					 "With allowed-signers set, also take a branch head that does not descend from "
					 "the last one taken (a force push); refused otherwise." },
	[CFG_API_READ_TOKEN] = { "api-read-token", CFGT_BOOL, "false", 0, 0, NULL, "AURIGA_API_READ_TOKEN", NULL,
				 CFG_RESTART,
				 "Reads of /api/v1/ and /metrics need the bearer token too (health checks do not); "
				 "needs api-token-file." },
	[CFG_API_MAX_CONNECTIONS_PER_CLIENT] = { "api-max-connections-per-client", CFGT_INT, "16", 1, 4096, NULL,
						 "AURIGA_API_MAX_CONNECTIONS_PER_CLIENT", "N", CFG_RESTART,
						 "Connections one source address may hold at once; more are closed "
						 "at once and logged." },
	[CFG_DOCKER_CERT_PATH] = { "docker-cert-path", CFGT_PATH, "", 0, 0, NULL, "AURIGA_DOCKER_CERT_PATH", "DIR",
				   CFG_RESTART,
				   "Folder of ca.pem, cert.pem and key.pem for TLS with the Docker host, where "
				   "docker-tls-ca, -cert and -key name none (default ~/.docker); needs docker-tls-verify." },
	[CFG_DOCKER_TLS_VERIFY] = { "docker-tls-verify", CFGT_BOOL, "false", 0, 0, NULL, "AURIGA_DOCKER_TLS_VERIFY",
				    NULL, CFG_RESTART,
				    "Speak TLS to the tcp:// Docker host and verify it (on too when docker-tls-ca is set)." },
	[CFG_SSH_USER] = { "ssh-user", CFGT_STRING, "", 0, 0, NULL, "AURIGA_SSH_USER", "NAME", CFG_RESTART,
			   "User for ssh:// specs repositories (default: the URL's user, else git)." },
	[CFG_HTTPS_USER] = { "https-user", CFGT_STRING, "x-access-token", 0, 0, NULL, "AURIGA_HTTPS_USER", "NAME",
			     CFG_RESTART, "User sent with the https token for https:// specs repositories." },
	[CFG_GIT_TIMEOUT] = { "git-timeout", CFGT_DURATION, "60s", 1 * SEC, HOUR, NULL, "AURIGA_GIT_TIMEOUT",
			      "DURATION", CFG_RESTART,
			      "Deadline of one Git network operation (a fetch, a notes fetch or push), whatever the "
			      "remote does: each runs in a helper process, killed when it passes." },
	[CFG_BACKUP_MAX_BYTES] = { "backup-max-bytes", CFGT_INT, "268435456", 1L << 20, 4L << 30, NULL,
				   "AURIGA_BACKUP_MAX_BYTES", "BYTES", 0,
				   "Largest dump auriga reads back to hash, for every backup (`auriga backup run`, the daemon's schedules, the "
				   "backups before a rollout, restore and drill checks); a larger one fails the backup." },
	[CFG_ENVIRONMENT] = { "environment", CFGT_STRING, "", 0, 0, NULL, "AURIGA_ENVIRONMENT", "NAME", CFG_RESTART,
			      "The Environment of the specs this instance follows (environments/<name>/: its base and "
			      "patches, its promotion gate); its notes go to refs/notes/auriga-<name> unless notes-ref "
			      "is set. Empty: the specs as they are, with no Environment." },
	[CFG_LEASE] = { "lease", CFGT_BOOL, "false", 0, 0, NULL, "AURIGA_LEASE", NULL, CFG_RESTART,
			"Run as one of several controllers of the instance: only the holder of the lease "
			"(refs/auriga/lease/<instance> in the specs repository) acts; the others observe and "
			"take over when it lapses. Needs repo." },
	[CFG_LEASE_TTL] = { "lease-ttl", CFGT_DURATION, "30s", 3 * SEC, 10 * MIN, NULL, "AURIGA_LEASE_TTL",
			    "DURATION", CFG_RESTART,
			    "How long the lease holds after a renewal: a follower takes it over when it has not "
			    "moved for this long." },
	[CFG_LEASE_RENEW_INTERVAL] = { "lease-renew-interval", CFGT_DURATION, "10s", 200, 5 * MIN, NULL,
				       "AURIGA_LEASE_RENEW_INTERVAL", "DURATION", CFG_RESTART,
				       "Between two renewals by the leader, and two reads of the lease by a follower "
				       "(one Git push or fetch each); at most half of lease-ttl minus lease-skew." },
	[CFG_LEASE_SKEW] = { "lease-skew", CFGT_DURATION, "3s", 0, 5 * MIN, NULL, "AURIGA_LEASE_SKEW", "DURATION",
			     CFG_RESTART,
			     "The bound on how far two controllers' clocks drift apart within one lease-ttl: the "
			     "leader stops acting this much before a follower may take over; below a third of "
			     "lease-ttl." },
	[CFG_BACKUP_SCHEDULES] = { "backup-schedules", CFGT_BOOL, "true", 0, 0, NULL, "AURIGA_BACKUP_SCHEDULES", NULL, 0,
				   "The daemon takes each BackupPolicy's backups at its spec.schedule and its drills at "
				   "spec.drill.schedule (a child process each, as `auriga backup run` and `auriga drill`); "
				   "false leaves them to `backup run --due` and `drill --due` from cron." },
	[CFG_SCHEDULE_START_HOLD] = { "schedule-start-hold", CFGT_DURATION, "15m", 0, HOUR, NULL,
				      "AURIGA_SCHEDULE_START_HOLD", "DURATION", 0,
				      "How long, at most, the scheduled runs of a BackupPolicy new or changed in the "
				      "commit applied (every policy when the daemon starts) wait for that commit to "
				      "settle (Healthy, Failed or RolledBack): its Job needs the network, volume and "
				      "database the deployments make. 0: no wait." },
	[CFG_SIGNING_KEY_FILE] = { "signing-key-file", CFGT_PATH, "", 0, 0, NULL, "AURIGA_SIGNING_KEY_FILE", "FILE",
				   CFG_RESTART,
				   "File holding a secret of at least 16 bytes, the same for every controller of the "
				   "instance: the approvals (auriga approve) and the state the lease's holder shares "
				   "carry its HMAC-SHA256, so that a pusher to the specs remote cannot forge them. "
				   "Without it approve is refused; lease needs it." },
};

struct value {
	enum config_source src;
	char *text;
	char *origin;
	long num;
	char **list;	/* NULL-terminated */
	size_t nlist;
};

struct config {
	struct value v[CFG__COUNT];
	/* What the settings were built from, kept for config_reload_file(). */
	char *env[CFG__COUNT];
	char *denv[CFG__COUNT];	/* Docker's own variables (config_foreign_env) */
	struct flagarg *flags;
	size_t nflags;
};

const struct config_spec *config_spec(enum config_key k)
{
	if ((unsigned)k >= CFG__COUNT)
		BUG("bad config key %d", (int)k);
	return &table[k];
}

int config_lookup(const char *name)
{
	int i;

	for (i = 0; i < CFG__COUNT; i++)
		if (strcmp(table[i].name, name) == 0)
			return i;
	return -1;
}

/* The specs' duration syntax (Go's: "500ms", "1.5s", "1h30m"), and a bare number of seconds. */
int config_parse_duration(const char *s, long *ms)
{
	int64_t v;
	char *end;

	if (*s >= '0' && *s <= '9') {
		long n;

		errno = 0;
		n = strtol(s, &end, 10);
		if (*end == '\0') {
			if (errno || n > LONG_MAX / SEC)
				return -1;
			*ms = n * SEC;
			return 0;
		}
	}
	v = spec_parse_duration_ms(s);
	if (v < 0 || v > LONG_MAX)
		return -1;
	*ms = (long)v;
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static void value_release(struct value *v)
{
	size_t i;

	free(v->text);
	free(v->origin);
	for (i = 0; i < v->nlist; i++)
		free(v->list[i]);
	free(v->list);
	memset(v, 0, sizeof(*v));
}

static void list_split(struct value *v, const char *text)
{
	const char *p = text;

	v->list = xcalloc(1, sizeof(char *));
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *a = p, *b = p + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a) {
			v->list = xrealloc(v->list, (v->nlist + 2) * sizeof(char *));
			v->list[v->nlist++] = xstrndup(a, (size_t)(b - a));
			v->list[v->nlist] = NULL;
		}
		p = end ? end + 1 : p + len;
	}
}

/* Parses text for row k into v (text and the typed value); the message says what is wrong. */
static int parse_value(int k, const char *text, struct value *v, struct buf *msg)
{
	const struct config_spec *s = &table[k];
	size_t i;

	memset(v, 0, sizeof(*v));
	if (strlen(text) > VALUE_MAX)
		return buf_printf(msg, "value is longer than %d bytes", VALUE_MAX), -1;
	if (memchr(text, '\n', strlen(text)) && s->type != CFGT_STRING)
		return buf_puts(msg, "value spans several lines"), -1;
	switch (s->type) {
	case CFGT_BOOL:
		if (parse_bool(text, &v->num) < 0)
			return buf_printf(msg, "'%s' is not a boolean (true or false)", text), -1;
		text = v->num ? "true" : "false";
		break;
	case CFGT_INT:
		if (parse_long(text, LONG_MIN, LONG_MAX, &v->num) < 0)
			return buf_printf(msg, "'%s' is not an integer", text), -1;
		if (v->num < s->min || v->num > s->max)
			return buf_printf(msg, "%ld is out of range [%ld, %ld]", v->num, s->min, s->max), -1;
		break;
	case CFGT_DURATION:
		if (config_parse_duration(text, &v->num) < 0)
			return buf_printf(msg, "'%s' is not a duration (like 500ms, 30s, 5m, 1h)", text), -1;
		if (v->num < s->min || v->num > s->max) {
			char a[32], b[32];

			config_format_duration(a, sizeof(a), s->min);
			config_format_duration(b, sizeof(b), s->max);
			return buf_printf(msg, "'%s' is out of range [%s, %s]", text, a, b), -1;
		}
		break;
	case CFGT_ENUM:
		for (i = 0; s->choices[i]; i++)
			if (strcmp(s->choices[i], text) == 0)
				break;
		if (!s->choices[i]) {
			buf_printf(msg, "'%s' is not one of", text);
			for (i = 0; s->choices[i]; i++)
				buf_printf(msg, "%s %s", i ? "," : "", s->choices[i]);
			return -1;
		}
		v->num = (long)i;
		break;
	case CFGT_LIST:
		list_split(v, text);
		if ((long)v->nlist > s->max) {
			buf_printf(msg, "%zu items, at most %ld", v->nlist, s->max);
			value_release(v);
			return -1;
		}
		break;
	case CFGT_PATH:
	case CFGT_STRING:
		break;
	}
	v->text = xstrdup(text);
	return 0;
}

/* Sets row k from a source; origin is where (for messages and the dump). */
int config_assign(struct config *c, int k, const char *text, enum config_source src,
		  const char *origin, struct error **err)
{
	struct buf msg = BUF_INIT_MAX(1024);
	struct value v;
	int rc = 0;

	if (parse_value(k, text, &v, &msg) < 0) {
		rc = error_set(err, ERR_INVALID, "%s: %s: %s", origin, table[k].name, msg.data);
		goto out;
	}
	v.src = src;
	v.origin = xstrdup(origin);
	value_release(&c->v[k]);
	c->v[k] = v;
out:
	buf_release(&msg);
	return rc;
}

static struct config *config_defaults(void)
{
	struct config *c = xcalloc(1, sizeof(*c));
	int k;

	for (k = 0; k < CFG__COUNT; k++)
		if (config_assign(c, k, table[k].def, CFG_SRC_DEFAULT, "default", NULL) < 0)
			BUG("default of '%s' does not parse", table[k].name);
	return c;
}

void config_free(struct config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CFG__COUNT; i++) {
		value_release(&c->v[i]);
		free(c->env[i]);
		free(c->denv[i]);
	}
	for (i = 0; i < c->nflags; i++)
		free(c->flags[i].value);
	free(c->flags);
	free(c);
}

static int checked_path(const struct config *c, int k)
{
	return c->v[k].text[0] != '\0';
}

static int err_at(struct error **err, const struct config *c, int k, const char *msg)
{
	return error_set(err, ERR_INVALID, "%s: %s: %s", c->v[k].origin, table[k].name, msg);
}

/*
 * The Docker endpoint: TLS (docker-tls-verify, or the files named) only to a
 * tcp:// host, a client certificate with its key, a certificate folder only
 * where TLS is on.
 */
static int validate_docker(const struct config *c, struct error **err)
{
	static const enum config_key tls_keys[] = { CFG_DOCKER_TLS_VERIFY, CFG_DOCKER_TLS_CA, CFG_DOCKER_TLS_CERT,
						    CFG_DOCKER_TLS_KEY };
	const char *host = c->v[CFG_DOCKER_HOST].text;
	int tls = -1;
	size_t i;

	/* The first setting that turns TLS on is the one an error names. */
	for (i = 0; i < ARRAY_SIZE(tls_keys) && tls < 0; i++)
		if (tls_keys[i] == CFG_DOCKER_TLS_VERIFY ? c->v[tls_keys[i]].num != 0 : checked_path(c, tls_keys[i]))
			tls = (int)tls_keys[i];
	if (!str_has_prefix(host, "unix://") && !str_has_prefix(host, "tcp://"))
		return err_at(err, c, CFG_DOCKER_HOST, "must start with unix:// or tcp://");
	if (tls >= 0 && !str_has_prefix(host, "tcp://"))
		return err_at(err, c, tls, "docker TLS settings need a tcp:// host");
	if (checked_path(c, CFG_DOCKER_TLS_CERT) != checked_path(c, CFG_DOCKER_TLS_KEY))
		return err_at(err, c, checked_path(c, CFG_DOCKER_TLS_CERT) ? CFG_DOCKER_TLS_CERT : CFG_DOCKER_TLS_KEY,
			      "docker-tls-cert and docker-tls-key go together");
	/* Docker's own DOCKER_CERT_PATH is used only with TLS, as the docker CLI does; auriga's setting is a promise. */
	if (checked_path(c, CFG_DOCKER_CERT_PATH) && tls < 0 &&
	    strcmp(c->v[CFG_DOCKER_CERT_PATH].origin, "DOCKER_CERT_PATH") != 0)
		return err_at(err, c, CFG_DOCKER_CERT_PATH, "needs docker-tls-verify (TLS to a tcp:// host)");
	return 0;
}

/*
 * name-prefix: Docker's name characters ([a-zA-Z0-9][a-zA-Z0-9_.-]*), at
 * most 63 of them; empty is allowed (no prefix).
 */
static int validate_name_prefix(const struct config *c, struct error **err)
{
	static const char msg[] = "must be empty or 1 to 63 of [a-zA-Z0-9_.-], starting with a letter or digit";
	const char *s = c->v[CFG_NAME_PREFIX].text, *p;

	if (*s == '\0')
		return 0;
	if (strlen(s) > 63 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return err_at(err, c, CFG_NAME_PREFIX, msg);
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '.' || *p == '-'))
			return err_at(err, c, CFG_NAME_PREFIX, msg);
	return 0;
}

/* environment: an Environment's metadata.name ([a-z0-9-], at most 63), or empty. */
static int validate_environment(const struct config *c, struct error **err)
{
	const char *s = c->v[CFG_ENVIRONMENT].text, *p;

	if (*s == '\0')
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (*p == '-' && p != s && p[1])))
			break;
	if (*p || strlen(s) > 63)
		return err_at(err, c, CFG_ENVIRONMENT,
			      "must be empty or an Environment's name: 1 to 63 of [a-z0-9-], not starting or ending with -");
	return 0;
}

const char *config_name_prefix(const struct config *c)
{
	if (c->v[CFG_NAME_PREFIX].src == CFG_SRC_DEFAULT)
		return c->v[CFG_INSTANCE].text;
	return c->v[CFG_NAME_PREFIX].text;
}

/* Checks that need several settings or more than the type says. */
static int validate(const struct config *c, struct error **err)
{
	const char *inst = c->v[CFG_INSTANCE].text;
	const char *listen = c->v[CFG_LISTEN].text;
	const char *colon, *p;
	size_t i;
	long port;

	colon = strrchr(listen, ':');
	if (!colon || parse_long(colon + 1, 0, 65535, &port) < 0 ||
	    (listen[0] == '[' && (colon == listen || colon[-1] != ']')))
		return err_at(err, c, CFG_LISTEN, "must be HOST:PORT, [IPV6]:PORT or :PORT");
	if (checked_path(c, CFG_TLS_CERT) != checked_path(c, CFG_TLS_KEY))
		return err_at(err, c, checked_path(c, CFG_TLS_CERT) ? CFG_TLS_CERT : CFG_TLS_KEY,
			      "tls-cert and tls-key go together");
	if (validate_docker(c, err) < 0 || validate_name_prefix(c, err) < 0)
		return ERR_INVALID;
	if (!*inst || strlen(inst) > 63 || !((*inst >= 'a' && *inst <= 'z') || (*inst >= '0' && *inst <= '9')))
		return err_at(err, c, CFG_INSTANCE, "must be 1 to 63 of [a-z0-9.-], starting with a letter or digit");
	for (p = inst; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return err_at(err, c, CFG_INSTANCE,
				      "must be 1 to 63 of [a-z0-9.-], starting with a letter or digit");
	if (validate_environment(c, err) < 0)
		return ERR_INVALID;
	if (c->v[CFG_LEASE].num && !c->v[CFG_REPO].text[0])
		return err_at(err, c, CFG_LEASE, "needs repo: the lease lives in the specs repository");
	if (c->v[CFG_LEASE].num && !c->v[CFG_SIGNING_KEY_FILE].text[0])
		return err_at(err, c, CFG_LEASE,
			      "needs signing-key-file: the state the leader shares in the specs remote carries its MAC");
	if (c->v[CFG_LEASE].num && lease_settings_check(c->v[CFG_LEASE_TTL].num, c->v[CFG_LEASE_RENEW_INTERVAL].num,
							 c->v[CFG_LEASE_SKEW].num, err) < 0)
		/* The message names the setting at fault; where it was set comes first. */
		return error_wrap(err, "%s", c->v[c->v[CFG_LEASE_SKEW].num * 3 >= c->v[CFG_LEASE_TTL].num
							 ? CFG_LEASE_SKEW
							 : CFG_LEASE_RENEW_INTERVAL].origin);
	if (!str_has_prefix(c->v[CFG_NOTES_REF].text, "refs/notes/"))
		return err_at(err, c, CFG_NOTES_REF, "must start with refs/notes/");
	if (!*c->v[CFG_BRANCH].text || strchr(c->v[CFG_BRANCH].text, ' ') ||
	    strstr(c->v[CFG_BRANCH].text, ".."))
		return err_at(err, c, CFG_BRANCH, "is not a valid branch name");
	if (checked_path(c, CFG_ROUTER_ERROR_LOG) && c->v[CFG_ROUTER_ERROR_LOG].text[0] != '/')
		return err_at(err, c, CFG_ROUTER_ERROR_LOG, "must be an absolute path");
	for (i = 0; i < c->v[CFG_EXTRA_LABELS].nlist; i++) {
		const char *l = c->v[CFG_EXTRA_LABELS].list[i];

		if (!strchr(l, '=') || l[0] == '=')
			return err_at(err, c, CFG_EXTRA_LABELS, "items must be KEY=VALUE");
		if (str_has_prefix(l, "auriga.io/"))
			return err_at(err, c, CFG_EXTRA_LABELS, "the auriga.io/ label prefix is reserved");
	}
	return 0;
}

/*
 * https-token-file: its content (one line) becomes https-token, the secret
 * the Git source sends for https:// remotes. Read at every load and reload,
 * never shown; its origin is the file's path.
 */
static int read_token_file(struct config *c, struct error **err)
{
	const char *path = c->v[CFG_HTTPS_TOKEN_FILE].text;
	struct buf b = BUF_INIT_MAX(VALUE_MAX);
	int rc;

	if (!*path)
		return 0;
	if (c->v[CFG_HTTPS_TOKEN].src != CFG_SRC_DEFAULT)
		return err_at(err, c, CFG_HTTPS_TOKEN_FILE, "https-token-file and https-token cannot both be set");
	rc = file_read(path, "https token file", FILE_REGULAR | FILE_SECRET, &b, err);
	if (rc < 0) {
		error_wrap(err, "%s: %s", c->v[CFG_HTTPS_TOKEN_FILE].origin, table[CFG_HTTPS_TOKEN_FILE].name);
		goto out;
	}
	file_trim_end(&b, "\r\n");
	if (b.len == 0 || memchr(b.data, '\n', b.len) || memchr(b.data, '\0', b.len)) {
		rc = err_at(err, c, CFG_HTTPS_TOKEN_FILE, "the file must hold the token on one line");
		goto out;
	}
	rc = config_assign(c, CFG_HTTPS_TOKEN, b.data, c->v[CFG_HTTPS_TOKEN_FILE].src, path, err);
out:
	if (b.len)
		memset(b.data, 0, b.len);
	buf_release(&b);
	return rc;
}

/* Sets the rows that have a value in env[]: AURIGA_* variables, or Docker's own when foreign. */
static int assign_env(struct config *c, char *const env[CFG__COUNT], int foreign, struct error **err)
{
	int k;

	for (k = 0; k < CFG__COUNT; k++) {
		const char *name = foreign ? config_foreign_env((enum config_key)k) : table[k].env;

		if (env[k] && config_assign(c, k, env[k], CFG_SRC_ENV, name, err) < 0)
			return ERR_INVALID;
	}
	return 0;
}

/*
 * Builds settings from a file (or none), saved environment values (Docker's
 * own in denv, below the file) and saved flags.
 */
static int build(struct config **out, const char *file, char *const env[CFG__COUNT],
		 char *const denv[CFG__COUNT], const struct flagarg *flags, size_t nflags, struct error **err)
{
	struct config *c = config_defaults();
	char origin[128];
	size_t i;
	int k, rc;

	*out = NULL;
	for (k = 0; k < CFG__COUNT; k++) {
		c->env[k] = env[k] ? xstrdup(env[k]) : NULL;
		c->denv[k] = denv[k] ? xstrdup(denv[k]) : NULL;
	}
	c->flags = xcalloc(nflags ? nflags : 1, sizeof(*c->flags));
	for (i = 0; i < nflags; i++) {
		c->flags[i].key = flags[i].key;
		c->flags[i].value = xstrdup(flags[i].value);
	}
	c->nflags = nflags;
	rc = assign_env(c, denv, 1, err);
	if (rc < 0)
		goto out;
	if (file && *file) {
		rc = config_file_apply(c, file, err);
		if (rc < 0)
			goto out;
	}
	rc = assign_env(c, env, 0, err);
	if (rc < 0)
		goto out;
	for (i = 0; i < nflags; i++) {
		snprintf(origin, sizeof(origin), "--%s", table[flags[i].key].name);
		rc = config_assign(c, flags[i].key, flags[i].value, CFG_SRC_FLAG, origin, err);
		if (rc < 0)
			goto out;
	}
	rc = read_token_file(c, err);
	if (rc < 0)
		goto out;
	if (file && *file && c->v[CFG_CONFIG].src == CFG_SRC_DEFAULT) {
		free(c->v[CFG_CONFIG].text);
		c->v[CFG_CONFIG].text = xstrdup(file);
	}
	rc = validate(c, err);
	if (rc < 0)
		goto out;
	/* Two environments' instances write to refs of their own, so that neither replaces the other's notes. */
	if (c->v[CFG_ENVIRONMENT].text[0] && c->v[CFG_NOTES_REF].src == CFG_SRC_DEFAULT) {
		free(c->v[CFG_NOTES_REF].text);
		c->v[CFG_NOTES_REF].text = xasprintf("refs/notes/auriga-%s", c->v[CFG_ENVIRONMENT].text);
	}
	*out = c;
	c = NULL;
out:
	config_free(c);
	return rc;
}

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		return getenv(name);
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int config_load(struct config **out, int argc, char **argv, char *const *envp,
		const struct config_extra_flag *extra, char ***positional, struct error **err)
{
	struct config_args args;
	char *env[CFG__COUNT] = { NULL }, *denv[CFG__COUNT] = { NULL };
	const char *file = NULL;
	size_t i;
	int k, rc;

	*out = NULL;
	if (positional)
		*positional = NULL;
	memset(&args, 0, sizeof(args));
	rc = config_args_parse(&args, argc, argv, extra, err);
	if (rc < 0)
		goto out;
	/* The environment of the rows this subcommand takes; an empty Docker variable is none, as for docker. */
	for (k = 0; k < CFG__COUNT; k++) {
		const char *v = env_lookup(envp, table[k].env), *dv = NULL;

		if (!(config_cmds((enum config_key)k) & args.cmd))
			continue;
		if (config_foreign_env((enum config_key)k))
			dv = env_lookup(envp, config_foreign_env((enum config_key)k));
		env[k] = v ? xstrdup(v) : NULL;
		denv[k] = dv && *dv ? xstrdup(dv) : NULL;
	}
	file = env[CFG_CONFIG];
	for (i = 0; i < args.nflags; i++)
		if (args.flags[i].key == CFG_CONFIG)
			file = args.flags[i].value;
	rc = build(out, file, env, denv, args.flags, args.nflags, err);
	if (rc == 0 && positional) {
		*positional = args.pos;
		args.pos = NULL;
	}
out:
	for (k = 0; k < CFG__COUNT; k++) {
		free(env[k]);
		free(denv[k]);
	}
	config_args_release(&args);
	return rc;
}

int config_reload_file(struct config **cfg, struct error **err)
{
	struct config *old = *cfg, *fresh = NULL;
	const char *file = old->v[CFG_CONFIG].text;
	int k, rc;

	rc = build(&fresh, file, old->env, old->denv, old->flags, old->nflags, err);
	if (rc < 0) {
		error_wrap(err, "reload refused, settings unchanged");
		return rc;
	}
	for (k = 0; k < CFG__COUNT; k++) {
		char *shown;

		if (strcmp(old->v[k].text, fresh->v[k].text) == 0)
			continue;
		shown = config_shown(fresh, (enum config_key)k);
		log_info("config", (table[k].flags & CFG_RESTART) ? "setting changed; takes effect on restart"
								   : "setting changed",
			 "setting", table[k].name, "value", shown, "source",
			 fresh->v[k].origin, LOG_END);
		free(shown);
	}
	*cfg = fresh;
	config_free(old);
	return 0;
}

static const struct value *get(const struct config *c, enum config_key k, int type)
{
	if ((unsigned)k >= CFG__COUNT)
		BUG("bad config key %d", (int)k);
	if (type >= 0 && table[k].type != (enum config_type)type)
		BUG("setting '%s' read as the wrong type", table[k].name);
	return &c->v[k];
}

int config_bool(const struct config *c, enum config_key k)
{
	return (int)get(c, k, CFGT_BOOL)->num;
}

long config_int(const struct config *c, enum config_key k)
{
	return get(c, k, CFGT_INT)->num;
}

long config_ms(const struct config *c, enum config_key k)
{
	return get(c, k, CFGT_DURATION)->num;
}

const char *config_str(const struct config *c, enum config_key k)
{
	return get(c, k, -1)->text;
}

int config_enum(const struct config *c, enum config_key k)
{
	return (int)get(c, k, CFGT_ENUM)->num;
}

const char *const *config_list(const struct config *c, enum config_key k, size_t *n)
{
	const struct value *v = get(c, k, CFGT_LIST);

	if (n)
		*n = v->nlist;
	return (const char *const *)v->list;
}

enum config_source config_source_of(const struct config *c, enum config_key k)
{
	return get(c, k, -1)->src;
}

const char *config_origin(const struct config *c, enum config_key k)
{
	return get(c, k, -1)->origin;
}

