/* `auriga run`'s HTTP side: what the API and the status page read of the daemon, release controls, webhook secrets. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run_control.h"
#include "cmd/run_daemon.h"
#include "cmd/run_lease.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "source/gitsrc_worker.h"
#include "status/drill_records.h"
#include "surface/httpd.h"
#include "surface/webhook.h"
#include "buf.h"
#include "util.h"

#define COMPONENT "run"


static int p_ready(void *ctx)
{
	struct daemon *dm = ctx;
	int r;

	pthread_mutex_lock(&dm->mu);
	r = dm->ready;
	pthread_mutex_unlock(&dm->mu);
	return r;
}

/*
 * A text up to this size is kept with the status it encodes, so a dashboard
 * polling a small fleet is not encoded again for every request between
 * passes; a larger one (about 1,500 deployments) is encoded each time, as it
 * is sent, rather than held.
 */
#define STATUS_TEXT_KEPT ((size_t)1 << 20)

/*
 * A status text being sent: read from the status shown when the request
 * came, held until the response is done with, and kept with that status
 * when it was read whole within STATUS_TEXT_KEPT.
 */
struct status_stream {
	struct daemon *dm;
	struct shown_status *sh;
	struct status_text_reader *r;
	struct buf kept;
	int keeping;		/* kept holds all read so far */
};

static ssize_t status_stream_read(void *arg, char *out, size_t max)
{
	struct status_stream *st = arg;
	ssize_t n = status_text_read(st->r, out, max);
	size_t len;
	char *t;

	if (n > 0 && st->keeping && buf_append(&st->kept, out, (size_t)n) != 0) {
		st->keeping = 0;
		buf_release(&st->kept);
		pthread_mutex_lock(&st->dm->mu);
		st->sh->text_big = 1;
		pthread_mutex_unlock(&st->dm->mu);
	}
	/* The end (a read of no room says nothing): kept at its size, not the buffer's. */
	if (n == 0 && max > 0 && st->keeping) {
		st->keeping = 0;
		t = buf_detach(&st->kept, &len);
		t = xrealloc(t, len + 1);
		pthread_mutex_lock(&st->dm->mu);
		if (st->sh->text == NULL) {
			st->sh->text = t;
			t = NULL;
		}
		pthread_mutex_unlock(&st->dm->mu);
		free(t);
	}
	return n;
}

static void status_stream_close(void *arg)
{
	struct status_stream *st = arg;

	status_text_reader_free(st->r);
	buf_release(&st->kept);
	shown_status_drop(st->dm, st->sh);
	free(st);
}

static int p_status_body(void *ctx, struct httpd_body *out)
{
	struct daemon *dm = ctx;
	struct shown_status *sh = shown_status_get(dm);
	struct status_stream *st;
	const char *kept;
	int big;

	if (sh == NULL)
		return -1;
	pthread_mutex_lock(&dm->mu);
	kept = sh->text;
	big = sh->text_big;
	pthread_mutex_unlock(&dm->mu);
	if (kept != NULL) {
		out->text = xstrdup(kept);
		out->len = strlen(kept);
		shown_status_drop(dm, sh);
		return 0;
	}
	st = xcalloc(1, sizeof(*st));
	st->dm = dm;
	st->sh = sh;
	st->r = status_text_reader_new(&sh->s);
	buf_init(&st->kept, STATUS_TEXT_KEPT);
	/* Once a request found the text too large to keep, the next do not copy 1 MiB of it to learn that again. */
	st->keeping = !big;
	out->read = status_stream_read;
	out->close = status_stream_close;
	out->arg = st;
	return 0;
}

/* One deployment's object, encoded alone. */
static json_t *p_deployment(void *ctx, const char *name)
{
	struct daemon *dm = ctx;
	struct shown_status *sh = shown_status_get(dm);
	json_t *out = NULL;
	size_t i;

	for (i = 0; sh && out == NULL && i < sh->s.ndeployments; i++)
		if (sh->s.deployments[i].name && strcmp(sh->s.deployments[i].name, name) == 0)
			out = status_deployment_json(&sh->s.deployments[i]);
	shown_status_drop(dm, sh);
	return out;
}

static json_t *p_notes(void *ctx, size_t limit)
{
	struct daemon *dm = ctx;

	return dm->worker ? notes_recent_json(&dm->recent, limit) : NULL;
}

static json_t *p_backups(void *ctx, char **why)
{
	return backup_records_json_at(config_str(((struct daemon *)ctx)->cfg, CFG_STATE_DIR), why);
}

static json_t *p_drills(void *ctx, char **why)
{
	return drill_records_json_at(config_str(((struct daemon *)ctx)->cfg, CFG_STATE_DIR), why);
}

static void on_sync(struct loop *l, void *arg)
{
	struct daemon *dm = arg;

	(void)l;
	if (dm->worker)
		gitsrc_worker_fetch_now(dm->worker);
	/* Asked for by hand: the truth of every endpoint, not the cache. */
	engine_relist(dm->engine);
}

/* How long an HTTP thread waits for the loop's verdict on a release control. */
#define CONTROL_WAIT_MS 10000

static int p_action(void *ctx, enum httpd_action a, const char *deployment, const char *who, const char *why,
		    const char *commit, struct error **err)
{
	struct daemon *dm = ctx;
	struct engine_request rq;

	if (dm->lease && a != HTTPD_SYNC && run_lease_refuse(dm->lease, err) < 0)	/* a follower: 503 naming the leader */
		return -1;
	if (a == HTTPD_APPROVE || a == HTTPD_APPROVE_UNVERIFIED) {
		if (run_gate_approve(&dm->gate, commit, who, why, a == HTTPD_APPROVE_UNVERIFIED, wall_ms(), err) < 0)
			return -1;
		/* The head is read again at once: the gate decides with the approval. */
		if (dm->worker)
			gitsrc_worker_fetch_now(dm->worker);
		return 0;
	}
	if (a == HTTPD_SYNC) {
		if (loop_post(dm->loop, on_sync, dm) < 0)
			return error_set(err, ERR_UNAVAILABLE, "the controller's loop does not answer");
		return 0;
	}
	/* A release control is answered with the engine's verdict: 202 only when it is accepted. */
	rq.action = a == HTTPD_PROMOTE	    ? ENGINE_PROMOTE
		    : a == HTTPD_PROMOTE_FULL ? ENGINE_PROMOTE_FULL
		    : a == HTTPD_ABORT	    ? ENGINE_ABORT
		    : a == HTTPD_ROLLBACK	    ? ENGINE_ROLLBACK
		    : a == HTTPD_PAUSE	    ? ENGINE_PAUSE
					    : ENGINE_RESUME;
	rq.deployment = deployment;
	rq.by = who;
	rq.reason = why;
	return run_control_ask(dm->loop, dm->engine, dm->lease, &rq, CONTROL_WAIT_MS, err);
}


/* The webhook secret files, as named by the settings; keeps the old secret of a file that fails. */
static const struct {
	enum config_key key;
	enum webhook_provider provider;
} secret_files[] = {
	{ CFG_GITHUB_SECRET_FILE, WEBHOOK_GITHUB },
	{ CFG_GITLAB_TOKEN_FILE, WEBHOOK_GITLAB },
	{ CFG_GITEA_SECRET_FILE, WEBHOOK_GITEA },
};

static int load_secrets(struct daemon *dm, struct error **err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < ARRAY_SIZE(secret_files); i++) {
		const char *path = config_str(dm->cfg, secret_files[i].key);

		if (path[0] && webhook_load_secret_file(dm->webhook, secret_files[i].provider, path, err) < 0)
			rc = ERR_INVALID;
	}
	return rc;
}

void run_http_reload_secrets(struct daemon *dm)
{
	struct error *err = NULL;

	if (dm->httpd && config_str(dm->cfg, CFG_API_TOKEN_FILE)[0] &&
	    httpd_reload_token(dm->httpd, config_str(dm->cfg, CFG_API_TOKEN_FILE), &err) < 0) {
		log_error(COMPONENT, "API token not reloaded", "error", error_msg(err), (char *)NULL);
		error_clear(&err);
	}
	if (dm->webhook && load_secrets(dm, &err) < 0)
		log_error(COMPONENT, "webhook secret not reloaded", "error", error_msg(err), (char *)NULL);
	error_free(err);
}


int run_http_start(struct daemon *dm, struct error **err)
{
	const struct httpd_provider hp = {
		.ctx = dm,
		.ready = p_ready,
		.started = p_ready,
		.status_body = p_status_body,
		.deployment = p_deployment,
		.notes = p_notes,
		.backups = p_backups,
		.drills = p_drills,
		.action = p_action,
	};
	struct httpd_options ho;

	if (config_str(dm->cfg, CFG_LISTEN)[0] == '\0')
		return 0;
	httpd_options_init(&ho);
	ho.listen = config_str(dm->cfg, CFG_LISTEN);
	ho.instance = config_str(dm->cfg, CFG_INSTANCE);
	if (config_str(dm->cfg, CFG_API_TOKEN_FILE)[0])
		ho.token_file = config_str(dm->cfg, CFG_API_TOKEN_FILE);
	if (config_str(dm->cfg, CFG_TLS_CERT)[0]) {
		ho.tls_cert_file = config_str(dm->cfg, CFG_TLS_CERT);
		ho.tls_key_file = config_str(dm->cfg, CFG_TLS_KEY);
	}
	ho.max_body = (size_t)config_int(dm->cfg, CFG_HTTP_MAX_BODY);
	ho.max_connections = (unsigned)config_int(dm->cfg, CFG_HTTP_MAX_CONNECTIONS);
	ho.max_connections_per_client = (unsigned)config_int(dm->cfg, CFG_API_MAX_CONNECTIONS_PER_CLIENT);
	ho.read_token = config_bool(dm->cfg, CFG_API_READ_TOKEN);
	ho.idle_timeout_s = (unsigned)(config_ms(dm->cfg, CFG_HTTP_IDLE_TIMEOUT) / 1000);
	ho.request_timeout_ms = config_ms(dm->cfg, CFG_HTTP_REQUEST_TIMEOUT);
	ho.threads = (unsigned)config_int(dm->cfg, CFG_HTTP_THREADS);
	ho.metrics = &dm->metrics;
	if (webhook_new(&dm->webhook, config_str(dm->cfg, CFG_BRANCH), (size_t)config_int(dm->cfg, CFG_WEBHOOK_DEDUP),
			err) < 0)
		return -1;
	if (load_secrets(dm, err) < 0)
		return -1;
	ho.webhook = dm->webhook;
	if (httpd_start(&dm->httpd, &ho, &hp, err) < 0)
		return -1;
	log_info(COMPONENT, "listening", "address", ho.listen, (char *)NULL);
	return 0;
}
