/* `auriga run`: the daemon. Fetches the specs repo, follows Docker's events, reconciles on every change, writes notes. */
#include "cmd/cli.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cmd/engine_cli.h"
#include "cmd/run_daemon.h"
#include "cmd/run_schedule.h"
#include "cmd/run_control.h"
#include "cmd/run_gate.h"
#include "cmd/run_lease.h"
#include "cmd/run_notes.h"
#include "cmd/version.h"
#include "docker/docker.h"
#include "engine/engine.h"
#include "runtime/config.h"
#include "runtime/http_client.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "source/gitsrc.h"
#include "source/gitsrc_worker.h"
#include "source/policy_file.h"
#include "status/backup_records.h"
#include "status/metrics.h"
#include "status/notes.h"
#include "status/notes_recent.h"
#include "status/status.h"
#include "surface/httpd.h"
#include "surface/webhook.h"
#include "util.h"

#define COMPONENT "run"

/* The daemon's metrics, or NULL when /metrics is not served (the feeding functions then do nothing). */
static struct auriga_metrics *metrics_of(struct daemon *dm)
{
	return dm->metrics_on ? &dm->metrics : NULL;
}

static void publish_circuit(const struct run_circuit *rc)
{
	auriga_metrics_set_circuit(&rc->dm->metrics, rc->peer, breaker_state_name(docker_breaker_state(rc->docker)));
}

/* Every endpoint's breaker (after a pass). */
static void publish_circuits(struct daemon *dm)
{
	size_t i;

	for (i = 0; dm->metrics_on && i < dm->n_circuits; i++)
		publish_circuit(&dm->circuits[i]);
}

/* Mirrors a pass's status into the metrics that /metrics shows and the alerting rules read. */
static void publish_metrics(struct daemon *dm, const struct fleet_status *s)
{
	struct auriga_metrics *m = &dm->metrics;
	struct error *err = NULL;

	/* A pass that could not list the containers decided nothing. */
	if (s->source_error && str_has_prefix(s->source_error, "docker:")) {
		metric_inc(m->reconcile_total, METRIC_LABELS("error"));
	} else {
		metric_inc(m->reconcile_total, METRIC_LABELS("ok"));
		metric_set(m->last_reconcile, NULL, (double)wall_ms() / 1000.0);
	}
	publish_circuits(dm);
	auriga_metrics_publish_status(m, s);
	/* Backups are taken by `auriga backup run`: what it recorded shows with the next pass (read once per change). */
	if (backup_records_publish(config_str(dm->cfg, CFG_STATE_DIR), &dm->backups_seen, m->backup_last_success,
				   &err) < 0) {
		log_error(COMPONENT, "backup records unreadable", "error", error_msg(err), LOG_END);
		error_free(err);
	}
}

/* Every Docker call that ends: its latency, failure and the state of its client's breaker after it. */
static void on_docker_call(const struct docker_call_info *ci, void *arg)
{
	const struct run_circuit *rc = arg;
	struct daemon *dm = rc->dm;
	int failed = ci->status == DOCKER_TRANSPORT || ci->status == DOCKER_TIMEOUT ||
		     ci->status == DOCKER_SERVER_ERROR || ci->status == DOCKER_PROTOCOL ||
		     ci->status == DOCKER_TOOBIG || ci->status == DOCKER_CIRCUIT_OPEN ||
		     ci->status == DOCKER_BULKHEAD_FULL;

	if (ci->status == DOCKER_CANCELLED)
		return;
	auriga_metrics_docker_call(metrics_of(dm), ci->op, (double)ci->duration_ms / 1000.0, ci->attempts > 0,
				   failed);
	publish_circuit(rc);
}

/*
 * Each client's observer, told which endpoint it is: the first's as peer
 * "docker", every other's as "docker:NAME", so an endpoint that stops
 * answering shows as itself. Anew whenever the clients are.
 */
static void watch_circuits(struct daemon *dm)
{
	size_t i, n = dm->hosts.n ? dm->hosts.n : 1;

	if (!dm->metrics_on)
		return;
	free(dm->circuits);
	dm->circuits = xcalloc(n, sizeof(*dm->circuits));
	dm->n_circuits = n;
	for (i = 0; i < n; i++) {
		struct run_circuit *rc = &dm->circuits[i];

		rc->dm = dm;
		rc->docker = i == 0 ? dm->docker : dm->hosts.ep[i].docker;
		if (i == 0)
			snprintf(rc->peer, sizeof(rc->peer), "docker");
		else
			snprintf(rc->peer, sizeof(rc->peer), "docker:%s", dm->hosts.ep[i].name);
		docker_set_observer(rc->docker, on_docker_call, rc);
	}
}

/*
 * How long a request waits for the status a pass is building (before_status):
 * tens of ms at 10,000 deployments; past it, none is shown (503). Short, as
 * the wait holds one of the HTTP threads that /healthz needs too.
 */
#define SHOWN_WAIT_MS 1000

struct shown_status *shown_status_get(struct daemon *dm)
{
	struct shown_status *sh;

	pthread_mutex_lock(&dm->mu);
	if (dm->shown == NULL && dm->rebuilding) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		timespec_add_ms(&until, SHOWN_WAIT_MS);
		while (dm->shown == NULL && dm->rebuilding &&
		       pthread_cond_timedwait(&dm->shown_cv, &dm->mu, &until) == 0)
			;
	}
	sh = dm->shown;
	if (sh)
		sh->refs++;
	pthread_mutex_unlock(&dm->mu);
	return sh;
}

void shown_status_drop(struct daemon *dm, struct shown_status *sh)
{
	unsigned left;

	if (sh == NULL)
		return;
	pthread_mutex_lock(&dm->mu);
	left = --sh->refs;
	pthread_mutex_unlock(&dm->mu);
	if (left == 0) {
		status_release(&sh->s);
		free(sh->text);
		free(sh);
	}
}

/*
 * A pass's status is about to be built: the one shown goes first when no
 * request holds it, so the two are not held at once. A request that comes
 * meanwhile waits for the new one (shown_status_get); one under way keeps
 * the old one, and then both are held until it is done.
 */
static void before_status(struct engine *e, void *arg)
{
	struct daemon *dm = arg;
	struct shown_status *old = NULL;

	(void)e;
	pthread_mutex_lock(&dm->mu);
	if (dm->shown && dm->shown->refs == 1) {
		old = dm->shown;
		dm->shown = NULL;
		dm->rebuilding = 1;
	}
	pthread_mutex_unlock(&dm->mu);
	shown_status_drop(dm, old);
}

/*
 * The status the HTTP API serves, *fresh (moved in, left empty) with the
 * source section (what Git says): the engine's last pass, taken from it, or
 * the last one shown again when a fetch changed the source, so a remote that
 * cannot be reached shows within one poll. One copy, swapped in under the lock
 * (a request encoding the one before keeps it until it is done).
 */
static const struct fleet_status *publish_status(struct daemon *dm, struct fleet_status *fresh)
{
	struct shown_status *sh = xcalloc(1, sizeof(*sh)), *old;

	if (dm->worker)
		status_set_source(fresh, &dm->rn.source);
	sh->refs = 1;
	sh->s = *fresh;
	status_init(fresh);
	pthread_mutex_lock(&dm->mu);
	old = dm->shown;
	dm->shown = sh;
	dm->rebuilding = 0;
	pthread_cond_broadcast(&dm->shown_cv);
	pthread_mutex_unlock(&dm->mu);
	shown_status_drop(dm, old);
	return &sh->s;
}

static void on_pass(struct engine *e, void *arg)
{
	struct daemon *dm = arg;
	struct fleet_status fresh;
	const struct fleet_status *s;
	char *commit = NULL, *text = NULL;
	struct error *err = NULL;

	engine_status_take(e, &fresh);
	s = publish_status(dm, &fresh);

	pthread_mutex_lock(&dm->mu);
	dm->ready = 1;
	pthread_mutex_unlock(&dm->mu);
	if (dm->metrics_on) {
		/* The pass from its container list to its decision (engine_last_pass_us). */
		metric_observe(dm->metrics.reconcile_duration, NULL, (double)engine_last_pass_us(e) / 1e6);
		publish_metrics(dm, s);
	}
	if (dm->loaded && dm->commit && s->commit && strcmp(s->commit, dm->commit) == 0 &&
	    (s->phase == STATUS_HEALTHY || s->phase == STATUS_FAILED || s->phase == STATUS_ROLLEDBACK))
		dm->settled = 1;
	/* When the engine wrote its files since it was last asked (engine_saves), the leader shares them. */
	if (dm->lease)
		run_lease_state_saved(dm->lease);
	/* A follower writes no note: the leader notes the same commits. */
	if (dm->worker && s->commit && s->commit[0] && (dm->lease == NULL || run_lease_leading(dm->lease))) {
		int r = notes_debounce_offer(&dm->deb, s, now_ms(), &commit, &text, &err);

		if (r == 0)
			r = notes_debounce_tick(&dm->deb, now_ms(), &commit, &text);
		if (r == 1)
			run_notes_post(&dm->rn, commit, text, dm->notes_ref, dm->notes_push);
		else if (r < 0)
			log_warn(COMPONENT, "cannot render the status note", "error", error_msg(err), (char *)NULL);
	}
	error_free(err);
	free(commit);
	free(text);
	if (dm->stopping && engine_idle(e))
		loop_stop(dm->loop);
}

/* The engine on the set's endpoints, made anew when they change (engine_cli_use_endpoint). */
static int use_endpoint(struct daemon *dm, const struct spec_set *set, struct error **err)
{
	struct engine_cli_endpoint ce = { dm->loop, dm->cfg, dm->policy, dm->http, &dm->eo };
	char *key = engine_cli_set_endpoints_key(set);
	size_t i;

	if (dm->engine && dm->endpoint && strcmp(dm->endpoint, key) == 0) {
		free(key);
		return 0;
	}
	if (engine_cli_use_endpoint(&ce, set, &dm->docker, &dm->hosts, &dm->engine, err) < 0) {
		free(key);
		return -1;
	}
	watch_circuits(dm);
	/* Every endpoint's client is fenced by the lease, not only the first's. */
	for (i = 1; dm->lease && i < dm->hosts.n; i++)
		run_lease_attach(dm->lease, dm->hosts.ep[i].docker, NULL, NULL);
	if (dm->lease)
		run_lease_attach(dm->lease, dm->docker, dm->engine, NULL);
	free(dm->endpoint);
	dm->endpoint = key;
	return 0;
}

/* 0, or -1 with *err set when the engine refuses the set (the commit is then noted Refused). */
static int set_specs(struct daemon *dm, struct spec_set *set, const char *commit, struct error **err)
{
	const struct spec_cluster *c = spec_set_cluster(set);
	char *notes_ref = c && c->notes_ref ? xstrdup(c->notes_ref) : NULL;
	int notes_push = c ? c->push_notes : -1;
	int rc = use_endpoint(dm, set, err);

	/* The Cluster at this commit says where its notes go; the operator's settings fill in what it leaves out. */
	if (rc < 0)
		spec_set_free(set);
	else
		rc = engine_set_specs(dm->engine, set, commit, err);
	if (rc < 0) {
		free(notes_ref);
		log_error(COMPONENT, "cannot use the specs", "commit", commit, "error", error_msg(*err), (char *)NULL);
		auriga_metrics_error(metrics_of(dm), "spec");
		return -1;
	}
	/* The engine keeps the set from here on: the schedules take its policies. */
	run_schedule_set(dm->schedule, set);
	free(dm->commit);
	dm->commit = xstrdup(commit);
	free(dm->notes_ref);
	dm->notes_ref = notes_ref;
	dm->notes_push = notes_push;
	dm->loaded = 1;
	dm->settled = 0;
	run_notes_applied(&dm->rn, commit);
	log_info(COMPONENT, "specs loaded", "commit", commit[0] ? commit : dm->folder, (char *)NULL);
	return 0;
}

/*
 * A new head: the commits it passed over are noted Superseded; then its
 * specs are loaded. A commit whose specs do not load (a syntax error, a
 * field the operator's policy refuses) or that the engine refuses is noted
 * Refused with every problem, so that its author reads why it was not
 * applied where the other statuses are, and is not read again (nor logged)
 * at every poll; the engine stays on the last good commit. The commit being
 * applied when a newer one is taken is noted Superseded unless it settled.
 */
static void take_up(struct daemon *dm, const char *head, const char *previous)
{
	struct spec_set *set = NULL;
	struct error *err = NULL;
	char *problems = NULL, *was = NULL;

	run_notes_passed_over(&dm->rn, head, previous, dm->commit, dm->notes_ref, dm->notes_push);
	if (engine_cli_load_snapshot(dm->src, head, config_str(dm->cfg, CFG_REPO_PATH),
				     config_str(dm->cfg, CFG_ENVIRONMENT), dm->policy, &set, &problems, &err) < 0) {
		log_error(COMPONENT, "the specs at this commit do not load", "commit", head, "error", error_msg(err),
			  (char *)NULL);
		auriga_metrics_error(metrics_of(dm), "spec");
		/* The specs' own problems and a snapshot over the bounds are final; a failed read is tried again. */
		if (problems)
			run_notes_refused(&dm->rn, head, problems, dm->notes_ref, dm->notes_push);
		else if (error_code(err) == ERR_TOOBIG || error_code(err) == ERR_INVALID)
			run_notes_refused(&dm->rn, head, error_msg(err), dm->notes_ref, dm->notes_push);
		goto out;
	}
	/* An environment's promotion gate may hold the commit: it is noted Waiting and the fleet stays. */
	if (run_gate_hold(&dm->gate, &dm->rn, set->environment, head, dm->notes_ref, dm->notes_push)) {
		spec_set_free(set);
		goto out;
	}
	if (dm->loaded && dm->commit && dm->commit[0] && !dm->settled)
		was = xstrdup(dm->commit);
	if (set_specs(dm, set, head, &err) < 0) {
		run_notes_refused(&dm->rn, head, error_msg(err), dm->notes_ref, dm->notes_push);
		goto out;
	}
	if (was)
		run_notes_superseded(&dm->rn, was, head, dm->notes_ref, dm->notes_push);
out:
	free(was);
	free(problems);
	error_free(err);
}

/* A fetch that failed: in the source section; a head the source's checks refuse is logged and counted once. */
static void fetch_failed(struct daemon *dm, struct gitsrc_report *r)
{
	if (!run_notes_fetch_failed(&dm->rn, r->fetch.commit, r->err, dm->notes_ref, dm->notes_push)) {
		if (error_code(r->err) != ERR_REFUSED)
			log_warn(COMPONENT, "fetch failed", "error", error_msg(r->err), (char *)NULL);
		return;
	}
	/* A head the source's checks refuse (its signature, a non-fast-forward move): the engine stays. */
	log_error(COMPONENT, "the branch head is refused", "error", error_msg(r->err), (char *)NULL);
	auriga_metrics_error(metrics_of(dm), "git-refused");
	engine_set_git_error(dm->engine, error_msg(r->err));
	engine_kick(dm->engine);
}

static void on_report(void *arg, struct gitsrc_report *r)
{
	struct daemon *dm = arg;

	if (r->job == GITSRC_JOB_NOTE && r->fenced) {
		/* A note the fence held back (the lease lost while it waited): not written, and no failure. */
		log_info(COMPONENT, "note not written: not the leader", "commit", r->note_commit, "why", error_msg(r->err),
			 (char *)NULL);
		goto out;
	}
	if (r->job == GITSRC_JOB_NOTE) {
		auriga_metrics_git_push(metrics_of(dm), (double)r->duration_ms / 1000.0, r->ok);
		if (!r->ok)
			log_warn(COMPONENT, "cannot publish the note", "commit", r->note_commit, "error",
				 error_msg(r->err), (char *)NULL);
		goto out;
	}
	auriga_metrics_git_fetch(metrics_of(dm), (double)r->duration_ms / 1000.0, r->ok);
	if (!r->ok) {
		fetch_failed(dm, r);
	} else {
		if (run_notes_fetched(&dm->rn, r->fetch.commit)) {
			engine_set_git_error(dm->engine, NULL);
			engine_kick(dm->engine);
		}
		/* A commit is immutable: one taken up already is not read (up to the limits) at every poll. */
		if (!(dm->loaded && dm->commit && strcmp(dm->commit, r->fetch.commit) == 0) &&
		    !run_notes_is_refused(&dm->rn, r->fetch.commit))
			take_up(dm, r->fetch.commit, r->fetch.previous);
	}
	/* The source section is served at once, between passes. */
	if (dm->shown) {
		struct fleet_status again;

		status_copy(&again, &dm->shown->s);
		(void)publish_status(dm, &again);
	}
out:
	gitsrc_report_free(r);
}

static void folder_poll(struct loop *l, void *arg)
{
	struct daemon *dm = arg;
	struct engine_cli cli;
	struct spec_set *set = NULL;
	struct error *err = NULL;
	char *key;

	(void)l;
	dm->folder_timer = loop_timer_add(dm->loop, config_ms(dm->cfg, CFG_POLL_INTERVAL), folder_poll, dm);
	engine_cli_init(&cli);
	cli.path = dm->folder;
	cli.environment = config_str(dm->cfg, CFG_ENVIRONMENT);
	cli.applies = 1;
	cli.policy = dm->policy;
	if (engine_cli_load(&cli, &set, &err) < 0) {
		log_error(COMPONENT, "the specs do not load", "path", dm->folder, "error", error_msg(err), (char *)NULL);
		auriga_metrics_error(metrics_of(dm), "spec");
		error_free(err);
		engine_cli_release(&cli);
		return;
	}
	engine_cli_release(&cli);
	/* What the folder's set was is kept as a digest of its model, never held whole as JSON (megabytes at scale). */
	key = xmalloc(SPEC_REVISION_HEX);
	spec_set_digest(set, key);
	if (dm->folder_key && key && strcmp(dm->folder_key, key) == 0) {
		free(key);
		spec_set_free(set);
		return;
	}
	free(dm->folder_key);
	dm->folder_key = key;
	if (set_specs(dm, set, "", &err) < 0)
		error_free(err);
}

static void on_signal(struct loop *l, int fd, unsigned events, void *arg)
{
	struct daemon *dm = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct error *err = NULL;

			if (config_reload_file(&dm->cfg, &err) < 0) {
				log_error(COMPONENT, "configuration not reloaded", "error", error_msg(err), (char *)NULL);
				error_free(err);
			} else {
				/* The log's level and format take effect at once, as the settings table promises. */
				config_log_setup(dm->cfg);
				log_info(COMPONENT, "configuration reloaded", (char *)NULL);
				run_http_reload_secrets(dm);
				if (dm->worker)
					gitsrc_worker_fetch_now(dm->worker);
				engine_set_relist(dm->engine, config_ms(dm->cfg, CFG_POLL_INTERVAL));
				engine_kick(dm->engine);
			}
			continue;
		}
		log_info(COMPONENT, "stopping between steps", "signal", si.ssi_signo == SIGTERM ? "TERM" : "INT", (char *)NULL);
		dm->stopping = 1;
		engine_drain(dm->engine);
	}
	if (dm->stopping && engine_idle(dm->engine))
		loop_stop(l);
}

static void drain_check(struct loop *l, void *arg)
{
	struct daemon *dm = arg;

	if (dm->stopping && engine_idle(dm->engine)) {
		loop_stop(l);
		return;
	}
	loop_timer_add(l, 100, drain_check, dm);
}

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out, "usage: auriga run [options] [PATH]\n\n"
		     "The daemon: fetches --repo every --poll-interval (or reads the specs folder PATH),\n"
		     "follows the Docker engine's events, and reconciles whenever the specs or the fleet\n"
		     "change: phases in order, probes gating, rollback, self-heal; status notes on the\n"
		     "commit applied. SIGTERM stops between steps; SIGHUP reloads the configuration file.\n\n"
		     "options:\n");
	config_usage_cmd(out, "run", extra);
}

/*
 * `run --check`: the settings were read and checked by config_load; this
 * loads the specs the daemon would apply (the folder, or the branch's head
 * fetched from the repo) and reports every problem, like relayd's -n.
 */
static int run_check(struct daemon *dm)
{
	struct spec_set *set = NULL;
	struct error *err = NULL;
	struct gitsrc *src = NULL;
	int rc;

	if (dm->folder) {
		struct engine_cli c;

		engine_cli_init(&c);
		c.path = dm->folder;
		c.policy = dm->policy;
		rc = engine_cli_load(&c, &set, &err);
		engine_cli_release(&c);
	} else {
		struct gitsrc_config g;
		struct gitsrc_fetch_result fr;

		gitsrc_cli_config(&g, dm->cfg);
		memset(&fr, 0, sizeof(fr));
		rc = gitsrc_open(&src, &g, &err);
		if (rc == 0)
			rc = gitsrc_fetch(src, &fr, &err);
		if (rc == 0)
			rc = engine_cli_load_snapshot(src, fr.commit, config_str(dm->cfg, CFG_REPO_PATH),
						      config_str(dm->cfg, CFG_ENVIRONMENT), dm->policy, &set, NULL, &err);
		gitsrc_fetch_result_release(&fr);
	}
	if (rc < 0 || set == NULL) {
		fprintf(stderr, "auriga run: %s\n", error_msg(err));
		rc = 1;
	} else {
		printf("configuration OK: %zu deployments in %d phases\n", set->n_deployments,
		       spec_set_phase_count(set));
		rc = 0;
	}
	if (set)
		spec_set_free(set);
	if (src)
		gitsrc_free(src);
	error_free(err);
	return rc;
}

/* Reads the settings and PATH: -1 to go on, or the exit code (help, --check, or a usage error). */
static int run_args(struct daemon *dm, int argc, char **argv)
{
	int help = 0, check = 0, rc = -1;
	const struct config_extra_flag extra[] = {
		{ "check", &check, NULL, NULL,
		  "check the settings and the specs (fetched from --repo, or read from PATH),\n"
		  "                             print \"configuration OK\" and exit 0, or print every problem and exit 1",
		  0, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct error *err = NULL;

	if (config_load(&dm->cfg, argc, argv, NULL, extra, &dm->positional, &err) < 0) {
		fprintf(stderr, "auriga run: %s\n", error_msg(err));
		rc = 2;
		goto out;
	}
	if (help) {
		usage(stdout, extra);
		rc = 0;
		goto out;
	}
	config_log_setup(dm->cfg);
	if (dm->positional && dm->positional[0]) {
		dm->folder = dm->positional[0];
		if (dm->positional[1]) {
			fprintf(stderr, "auriga run: at most one PATH\n");
			rc = 2;
			goto out;
		}
	}
	if (config_str(dm->cfg, CFG_REPO)[0] == '\0' && dm->folder == NULL) {
		fprintf(stderr, "auriga run: give --repo URL (or a specs folder PATH)\n");
		rc = 2;
		goto out;
	}
	/* The operator's policy is read once: a new one takes a restart, like the Docker endpoint. */
	if (policy_file_load(&dm->policy, config_str(dm->cfg, CFG_POLICY_FILE), config_str(dm->cfg, CFG_DOCKER_HOST),
			     &err) < 0) {
		fprintf(stderr, "auriga run: %s\n", error_msg(err));
		rc = 2;
		goto out;
	}
	if (check)
		rc = run_check(dm);
out:
	error_free(err);
	return rc;
}

/* The engine's state file path, and its folder made the same way as for apply. */
static int state_prepare(struct daemon *dm, struct error **err)
{
	const char *dir = config_str(dm->cfg, CFG_STATE_DIR), *instance = config_str(dm->cfg, CFG_INSTANCE);
	size_t n = strlen(dir) + strlen(instance) + 32;
	struct engine_cli tmp;
	int rc;

	dm->state_path = xmalloc(n);
	snprintf(dm->state_path, n, "%s/engine-%s.json", dir, instance);
	engine_cli_init(&tmp);
	tmp.instance = instance;
	tmp.state_dir = dir;
	tmp.path = ".";
	tmp.policy = dm->policy;
	rc = engine_cli_finish(&tmp, NULL, 0, NULL, err);
	engine_cli_release(&tmp);
	return rc;
}

/* The loop, the Docker client, the HTTP client, the metrics when /metrics is served, and the engine. */
static int start_engine(struct daemon *dm, struct error **err)
{
	struct docker_config dcfg;
	struct engine_options *eo = &dm->eo;
	size_t n_labels = 0;
	const char *const *labels;

	dm->loop = loop_new(err);
	if (dm->loop == NULL)
		return -1;
	/* "local" until the specs name their endpoint (use_endpoint). */
	engine_cli_docker_config(&dcfg, dm->cfg);
	dm->docker = docker_new(dm->loop, &dcfg, err);
	if (dm->docker == NULL)
		return -1;
	dm->endpoint = xstrdup(SPEC_ENDPOINT_LOCAL);
	dm->http = http_client_new(dm->loop, err);
	if (dm->http == NULL)
		return -1;
	labels = config_list(dm->cfg, CFG_EXTRA_LABELS, &n_labels);
	memset(eo, 0, sizeof(*eo));
	eo->instance = config_str(dm->cfg, CFG_INSTANCE);
	eo->name_prefix = config_name_prefix(dm->cfg);
	eo->state_path = dm->state_path;
	eo->extra_labels = labels;
	eo->router_error_log = config_str(dm->cfg, CFG_ROUTER_ERROR_LOG);
	eo->n_extra_labels = n_labels;
	eo->max_probes = (unsigned)config_int(dm->cfg, CFG_MAX_PROBES);
	eo->backup_max_bytes = (size_t)config_int(dm->cfg, CFG_BACKUP_MAX_BYTES);
	eo->watch_events = 1;
	eo->relist_ms = config_ms(dm->cfg, CFG_POLL_INTERVAL);
	eo->on_pass = on_pass;
	eo->before_status = before_status;
	eo->arg = dm;
	/* The metrics exist whenever /metrics is served, before anything can feed them. */
	if (config_str(dm->cfg, CFG_LISTEN)[0]) {
		auriga_metrics_init(&dm->metrics, AURIGA_VERSION);
		dm->metrics_on = 1;
		watch_circuits(dm);
	}
	eo->metrics = metrics_of(dm);
	dm->engine = engine_new(dm->loop, dm->docker, dm->http, eo, err);
	if (dm->engine == NULL)
		return -1;
	dm->schedule = run_schedule_new(dm);
	return 0;
}


/* The specs' source: the folder polled on the loop, or the Git worker fetching the repo. */
static int start_source(struct daemon *dm, struct error **err)
{
	struct gitsrc_config gcfg;
	struct gitsrc_worker_config wcfg;
	const char *env = config_str(dm->cfg, CFG_ENVIRONMENT);
	char *approvals = env[0] ? approval_note_ref(env) : NULL;
	int rc;

	if (dm->folder) {
		free(approvals);
		loop_defer(dm->loop, folder_poll, dm);
		return 0;
	}
	gitsrc_cli_config(&gcfg, dm->cfg);
	if (gitsrc_open(&dm->src, &gcfg, err) < 0) {
		free(approvals);
		return -1;
	}
	memset(&wcfg, 0, sizeof(wcfg));
	wcfg.interval_ms = config_ms(dm->cfg, CFG_POLL_INTERVAL);
	wcfg.notes_ref = config_str(dm->cfg, CFG_NOTES_REF);
	wcfg.notes_push = config_bool(dm->cfg, CFG_NOTES_PUSH);
	/* The environment's approvals as the remote has them, before the gate first decides. */
	wcfg.pull_ref = approvals;
	rc = gitsrc_worker_start_loop(&dm->worker, dm->src, &wcfg, dm->loop, on_report, dm, err);
	free(approvals);
	if (rc < 0)
		return -1;
	/* Reports reach on_report on the loop, which runs only after this. */
	run_notes_init(&dm->rn, dm->src, dm->worker, &dm->recent, wcfg.notes_ref);
	if (run_lease_from_config(&dm->lease, dm->cfg, &gcfg, dm->loop, dm->metrics_on ? dm->metrics.reg : NULL,
				  dm->state_path, &dm->key, err) < 0)
		return -1;
	if (dm->lease) {
		run_lease_attach(dm->lease, dm->docker, dm->engine, dm->worker);
		run_notes_set_fence(&dm->rn, run_lease_note_fence, dm->lease);
	}
	return 0;
}

/* Everything the daemon holds, in the order that lets each part stop before what it uses. */
static void daemon_release(struct daemon *dm, int sfd)
{
	if (dm->httpd)
		httpd_stop(dm->httpd);
	if (dm->webhook)
		webhook_free(dm->webhook);
	if (dm->worker)
		gitsrc_worker_stop(dm->worker);
	run_schedule_free(dm->schedule);
	if (dm->engine)
		engine_free(dm->engine);
	if (dm->src)
		gitsrc_free(dm->src);
	if (dm->http)
		http_client_free(dm->http);
	engine_cli_hosts_release(&dm->hosts);
	if (dm->docker)
		docker_free(dm->docker);
	/* After the Git worker and the Docker clients, which ask its fences until they stop. */
	run_lease_stop(dm->lease);
	if (sfd >= 0) {
		if (dm->loop)
			loop_unwatch(dm->loop, sfd);
		close(sfd);
	}
	if (dm->loop)
		loop_free(dm->loop);
	/* Last: the HTTP server, the engine, its probes and the Docker client that fed them are gone. */
	if (dm->metrics_on)
		auriga_metrics_release(&dm->metrics);
	shown_status_drop(dm, dm->shown);
	dm->shown = NULL;
	notes_debounce_release(&dm->deb);
	notes_recent_release(&dm->recent);
	pthread_cond_destroy(&dm->shown_cv);
	pthread_mutex_destroy(&dm->mu);
	free(dm->folder_key);
	free(dm->commit);
	free(dm->notes_ref);
	run_notes_release(&dm->rn);
	run_gate_release(&dm->gate);
	signing_key_release(&dm->key);
	policy_file_free(dm->policy);
	free(dm->positional);
	free(dm->state_path);
	free(dm->endpoint);
	free(dm->circuits);
	config_free(dm->cfg);
}

int cmd_run(int argc, char **argv)
{
	struct daemon dm;
	struct error *err = NULL;
	sigset_t mask;
	int rc, sfd = -1;

	/* Blocked before any thread starts, so every thread inherits the mask and signalfd gets them all. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	memset(&dm, 0, sizeof(dm));
	dm.notes_push = -1;
	pthread_mutex_init(&dm.mu, NULL);
	pthread_cond_init(&dm.shown_cv, NULL);
	run_gate_init(&dm.gate);
	notes_debounce_init(&dm.deb, 5000);
	notes_recent_init(&dm.recent);
	rc = run_args(&dm, argc, argv);
	if (rc >= 0)
		goto out;
	dm.gate.instance = xstrdup(config_str(dm.cfg, CFG_INSTANCE));
	dm.gate.key = &dm.key;
	if (config_str(dm.cfg, CFG_SIGNING_KEY_FILE)[0] &&
	    signing_key_load(&dm.key, config_str(dm.cfg, CFG_SIGNING_KEY_FILE), &err) < 0)
		goto fail;
	if (state_prepare(&dm, &err) < 0 || start_engine(&dm, &err) < 0 || start_source(&dm, &err) < 0 ||
	    run_http_start(&dm, &err) < 0)
		goto fail;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || loop_watch(dm.loop, sfd, LOOP_READ, on_signal, &dm, &err) < 0) {
		error_set(&err, ERR_GENERIC, "cannot watch signals");
		goto fail;
	}
	loop_timer_add(dm.loop, 100, drain_check, &dm);
	log_info(COMPONENT, "started", "instance", config_str(dm.cfg, CFG_INSTANCE), "source",
		 dm.folder ? dm.folder : gitsrc_url(dm.src), (char *)NULL);
	loop_run(dm.loop);
	log_info(COMPONENT, "stopped", (char *)NULL);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "auriga run: %s\n", error_msg(err));
	rc = 1;
out:
	error_free(err);
	daemon_release(&dm, sfd);
	return rc;
}
