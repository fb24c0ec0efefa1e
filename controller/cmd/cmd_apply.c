/* `auriga apply` and `auriga rollback`: one run of the engine to convergence or failure, with live progress. */
#include "cmd/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd/control_cli.h"
#include "cmd/engine_cli.h"
#include "docker/docker.h"
#include "engine/engine.h"
#include "runtime/http_client.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "source/gitsrc.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

struct apply {
	struct engine_cli cli;
	struct loop *loop;
	struct engine *engine;
	int tty;
	int drawn;		/* lines drawn by the last terminal update */
	char **last_lines;	/* plain mode: the last line printed per deployment */
	size_t n_last;
	int64_t deadline_ms;	/* monotonic; 0 = none */
	int interrupted;
	int timed_out;
	int notes;
	struct notes_debounce deb;
	const char *notes_ref;
	int push;
	const char *cmd;
	const char *rollback_dep;	/* rollback: the deployment named */
	const char *reason;		/* rollback --reason: why, sent to the controller or noted here */
	long total_s;		/* --timeout-total */
	int no_notes;
	struct status_source source;	/* --repo: the head fetched, the commit applied */
	struct config *conf;
	struct docker *docker;
	struct engine_cli_hosts hosts;	/* every endpoint's client, the first being docker */
	struct http_client *http;
};

static const char *phase_colour(enum status_phase p)
{
	switch (p) {
	case STATUS_HEALTHY: return "\033[32m";
	case STATUS_FAILED: return "\033[31m";
	case STATUS_ROLLEDBACK: case STATUS_DEGRADED: return "\033[33m";
	default: return "\033[36m";
	}
}

static void draw_tty(struct apply *a, const struct fleet_status *s)
{
	long ready, desired;
	size_t i;

	if (a->drawn)
		printf("\033[%dA", a->drawn);
	status_counts(s, &ready, &desired);
	printf("\033[2K%s%-12s\033[0m %ld/%ld ready  %s\n", phase_colour(s->phase), status_phase_name(s->phase),
	       ready, desired, s->summary ? s->summary : "");
	for (i = 0; i < s->ndeployments; i++) {
		const struct status_deployment *d = &s->deployments[i];

		printf("\033[2K  %s%-12s\033[0m %-16s %3ld/%-3ld ready %3ld updated  %.12s  %s\n",
		       phase_colour(d->phase), status_phase_name(d->phase), d->name, d->ready, d->desired, d->updated,
		       d->revision ? d->revision : "", d->step ? d->step : "");
	}
	a->drawn = (int)s->ndeployments + 1;
	fflush(stdout);
}

static void print_plain(struct apply *a, const struct fleet_status *s)
{
	size_t i;

	if (a->n_last < s->ndeployments) {
		a->last_lines = xrealloc(a->last_lines, s->ndeployments * sizeof(*a->last_lines));
		for (i = a->n_last; i < s->ndeployments; i++)
			a->last_lines[i] = NULL;
		a->n_last = s->ndeployments;
	}
	for (i = 0; i < s->ndeployments; i++) {
		const struct status_deployment *d = &s->deployments[i];
		char line[1024];

		char surge[32] = "";

		/* Surge apart from readiness: "5/5 ready, 1 surge", never "6/5 ready". */
		if (d->surge > 0)
			snprintf(surge, sizeof(surge), ", %ld surge", d->surge);
		snprintf(line, sizeof(line), "%s %s %ld/%ld ready%s, %ld updated, revision %.12s: %s%s%s", d->name,
			 status_phase_name(d->phase), d->ready, d->desired, surge, d->updated,
			 d->revision ? d->revision : "", d->step ? d->step : "", d->last_error ? "; " : "",
			 d->last_error ? d->last_error : "");
		if (a->last_lines[i] && strcmp(a->last_lines[i], line) == 0)
			continue;
		free(a->last_lines[i]);
		a->last_lines[i] = xstrdup(line);
		printf("%s\n", line);
	}
	fflush(stdout);
}

static void publish_note(struct apply *a, const struct fleet_status *pass, int final)
{
	char *commit = NULL, *text = NULL;
	struct error *err = NULL;
	struct fleet_status s;
	int r;

	if (!a->notes || pass->commit == NULL || pass->commit[0] == '\0')
		return;
	status_copy(&s, pass);
	status_set_source(&s, &a->source);
	r = notes_debounce_offer(&a->deb, &s, now_ms(), &commit, &text, &err);
	if (r == 0 && final) {
		/* The last status is always written, whatever the debounce says. */
		free(commit);
		free(text);
		commit = xstrdup(s.commit);
		r = status_render_note(&s, &text, &err);
		r = r < 0 ? r : 1;
	}
	if (r == 1 && notes_publish(a->cli.src, a->notes_ref, commit, text, a->push, &err) < 0) {
		log_warn("apply", "cannot write the status note", "commit", commit, "error", error_msg(err), (char *)NULL);
		if (!a->tty)
			fprintf(stderr, "auriga %s: cannot write the status note: %s\n", a->cmd, error_msg(err));
	}
	error_free(err);
	free(commit);
	free(text);
	status_release(&s);
}

/* --repo: a note written on the mirror only; the head's note pushes it with its own. */
static void note_on_mirror(void *arg, const char *commit, const char *text)
{
	struct apply *a = arg;
	struct error *err = NULL;

	if (notes_publish(a->cli.src, a->cli.git.notes_ref, commit, text, 0, &err) < 0)
		log_warn("apply", "cannot write the status note", "commit", commit, "error", error_msg(err), LOG_END);
	error_free(err);
}

/*
 * --repo, once the head is fetched: the notes others wrote are read in, and
 * the commits the head passed over since the last commit noted (or the
 * mirror's previous head) are noted Superseded.
 */
static void note_passed_over(struct apply *a)
{
	const char *stops[] = { a->cli.previous[0] ? a->cli.previous : NULL };
	struct error *err = NULL;

	str_set(&a->source.head, a->cli.commit);
	a->source.fetched_at = wall_ms();
	if (notes_pull(a->cli.src, a->cli.git.notes_ref, &err) < 0 ||
	    notes_supersede(a->cli.src, a->cli.git.notes_ref, a->cli.commit, stops, ARRAY_SIZE(stops), &a->source,
			    note_on_mirror, a, &err) < 0)
		log_warn("apply", "cannot note the commits the head passed over", "error", error_msg(err), LOG_END);
	error_free(err);
}

/*
 * --repo: a head whose specs do not load, that the engine refuses, or whose
 * signature the source refuses is noted Refused with every problem and
 * pushed (a head noted already, as a force push back to an older commit
 * would be, keeps its note). Other failures (a read, the network) say
 * nothing of the commit.
 */
static void note_refused(struct apply *a, const struct error *e)
{
	const char *why = a->cli.problems ? a->cli.problems : error_msg(e);
	struct error *err = NULL;
	struct fleet_status s;
	char *text = NULL;
	int code = error_code(e);

	if (a->no_notes || a->cli.src == NULL || a->cli.commit[0] == '\0')
		return;
	if (a->cli.problems == NULL && code != ERR_INVALID && code != ERR_TOOBIG && code != ERR_REFUSED)
		return;
	if (code == ERR_REFUSED) {
		gitsrc_lock(a->cli.src);
		code = notes_read(gitsrc_repo(a->cli.src), a->cli.git.notes_ref, a->cli.commit, &text, NULL);
		gitsrc_unlock(a->cli.src);
		free(text);
		text = NULL;
		if (code == 0)
			return;
	}
	status_init(&s);
	status_set_refused(&s, a->cli.commit, why, &a->source, wall_ms());
	if (status_render_note(&s, &text, &err) < 0 ||
	    notes_publish(a->cli.src, a->cli.git.notes_ref, a->cli.commit, text, config_bool(a->conf, CFG_NOTES_PUSH),
			  &err) < 0)
		fprintf(stderr, "auriga %s: cannot write the status note: %s\n", a->cmd, error_msg(err));
	free(text);
	error_free(err);
	status_release(&s);
}

static void on_pass(struct engine *e, void *arg)
{
	struct apply *a = arg;
	const struct fleet_status *s = engine_status(e);
	int done = engine_outcome(e) != ENGINE_RUNNING;

	if (a->tty)
		draw_tty(a, s);
	else
		print_plain(a, s);
	if (!done && a->deadline_ms && now_ms() > a->deadline_ms) {
		a->timed_out = 1;
		done = 1;
	}
	publish_note(a, s, done);
	if (done || a->interrupted)
		loop_stop(a->loop);
}

static void on_signal(struct loop *l, int fd, unsigned events, void *arg)
{
	struct apply *a = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		a->interrupted = 1;
		engine_drain(a->engine);
	}
	if (engine_idle(a->engine))
		loop_stop(l);
}

static void usage(FILE *out, const char *cmd, const struct config_extra_flag *extra)
{
	if (strcmp(cmd, "rollback") == 0)
		fprintf(out, "usage: auriga rollback [options] DEPLOYMENT [PATH]\n\n"
			     "Returns DEPLOYMENT to its last healthy revision (or the one before, when the\n"
			     "current one is the last healthy), as an automatic rollback would. The revision it\n"
			     "leaves is not tried again until the commit changes. When a controller of this\n"
			     "instance answers at the listen address (auriga run), it is asked through its HTTP\n"
			     "API and answers with its verdict; else the rollback runs here, one-shot, and waits\n"
			     "until the deployment runs there.\n\n");
	else
		fprintf(out, "usage: auriga apply [options] [PATH | --repo URL [--branch NAME]]\n\n"
			     "Brings the containers this instance owns in line with the specs, in phases (the\n"
			     "Cluster's roleOrder, then dependsOn), each deployment by its strategy, gated by its\n"
			     "probes; a deployment that misses its progress deadline or fails its startup probe is\n"
			     "returned to its last healthy revision and later phases are not started. With --repo\n"
			     "the status is written as a git note on the commit applied.\n\n");
	fprintf(out, "  PATH                       a folder (or file) of specs; or --repo, the specs repo\n"
		     "options:\n");
	config_usage_cmd(out, cmd, extra);
	fprintf(out, "\nexit status: 0 converged, 1 failed or rolled back (or interrupted), 2 usage error.\n");
}

/*
 * Rollback asks the running controller of this instance first: -1 when none
 * answers (the one-shot goes on, and says so), else the exit code.
 */
static int rollback_through_daemon(struct apply *a)
{
	struct control_call c;

	memset(&c, 0, sizeof(c));
	c.cmd = "rollback";
	c.deployment = a->rollback_dep;
	c.listen = config_str(a->conf, CFG_LISTEN);
	c.token_file = config_str(a->conf, CFG_API_TOKEN_FILE);
	c.instance = a->cli.instance;
	c.reason = a->reason;
	c.timeout_s = 15;
	switch (control_cli_call(&c)) {
	case CONTROL_ACCEPTED:
		return 0;
	case CONTROL_USAGE:
		return 2;
	case CONTROL_NO_DAEMON:
		fprintf(stderr, "auriga rollback: no controller of instance '%s' answers at %s: rolling back here, "
				"one-shot\n", c.instance, c.listen);
		return -1;
	default:
		return 1;
	}
}

/* The settings, options and arguments: -1 to go on, or the exit code (help or a usage error). */
static int apply_args(struct apply *a, int argc, char **argv)
{
	int help = 0, n_total = 0, n_reason = 0, rc = -1;
	const char *total = NULL;
	struct config_extra_flag extra[] = {
		{ "prune", &a->cli.prune, NULL, NULL, "remove containers of deployments no longer in the specs", 0, 0 },
		{ "timeout-total", &n_total, &total, "SECONDS", "give up after this long [default: 3600]", 1, 0 },
		{ "no-notes", &a->no_notes, NULL, NULL, "do not write status notes (--repo mode)", 0, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ "reason", &n_reason, &a->reason, "TEXT", "why, recorded with the rollback", 1, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct error *err = NULL;
	char **pos = NULL, **rest;
	int n = 0;

	if (strcmp(a->cmd, "rollback") != 0)
		extra[4].name = NULL;	/* --reason: rollback's alone */
	if (config_load(&a->conf, argc, argv, NULL, extra, &pos, &err) < 0) {
		fprintf(stderr, "auriga %s: %s\n", a->cmd, error_msg(err));
		rc = 2;
		goto out;
	}
	if (help) {
		usage(stdout, a->cmd, extra);
		rc = 0;
		goto out;
	}
	config_log_setup(a->conf);
	if (total && parse_long(total, 1, 7 * 86400, &a->total_s) < 0) {
		fprintf(stderr, "auriga %s: --timeout-total '%s': expected seconds\n", a->cmd, total);
		rc = 2;
		goto out;
	}
	rest = pos;
	if (strcmp(a->cmd, "rollback") == 0) {
		if (rest[0] == NULL) {
			usage(stderr, a->cmd, extra);
			rc = 2;
			goto out;
		}
		a->rollback_dep = *rest++;
	}
	while (rest[n])
		n++;
	if (engine_cli_finish(&a->cli, a->conf, n, rest, &err) < 0) {
		fprintf(stderr, "auriga %s: %s\n", a->cmd, error_msg(err));
		rc = 2;
	}
out:
	free(pos);
	error_free(err);
	return rc;
}

/* The specs loaded, the engine connected and given them, and the rollback asked for. */
static int apply_start(struct apply *a, struct error **err)
{
	struct spec_set *set = NULL;
	struct engine_options eo;
	int rc;

	a->cli.applies = 1;
	rc = engine_cli_load(&a->cli, &set, err);
	if (a->cli.commit[0] && !a->no_notes)
		note_passed_over(a);
	if (rc < 0) {
		note_refused(a, *err);
		goto out;
	}
	rc = -1;
	a->notes = !a->no_notes && a->cli.src != NULL;
	a->notes_ref = spec_set_cluster(set)->notes_ref ? spec_set_cluster(set)->notes_ref : a->cli.git.notes_ref;
	a->push = spec_set_cluster(set)->push_notes >= 0 ? spec_set_cluster(set)->push_notes
							  : config_bool(a->conf, CFG_NOTES_PUSH);
	if (engine_cli_connect(&a->cli, &a->loop, &a->docker, &a->http, err) < 0 ||
	    engine_cli_hosts_make(&a->hosts, a->loop, a->cli.cfg, a->cli.policy, set, a->docker, err) < 0)
		goto out;
	memset(&eo, 0, sizeof(eo));
	eo.endpoints = a->hosts.ep;
	eo.n_endpoints = a->hosts.n;
	eo.instance = a->cli.instance;
	eo.name_prefix = a->cli.name_prefix;
	eo.state_path = a->cli.state_path;
	eo.extra_labels = a->cli.labels;
	eo.router_error_log = a->cli.router_error_log;
	eo.n_extra_labels = a->cli.n_labels;
	eo.prune = a->cli.prune;
	eo.backup_max_bytes = (size_t)config_int(a->cli.cfg, CFG_BACKUP_MAX_BYTES);
	eo.watch_events = 1;
	eo.on_pass = on_pass;
	eo.arg = a;
	a->engine = engine_new(a->loop, a->docker, a->http, &eo, err);
	if (a->engine == NULL)
		goto out;
	/* The engine takes the set, whether it accepts it or not. */
	rc = engine_set_specs(a->engine, set, a->cli.commit, err);
	set = NULL;
	if (rc < 0)
		note_refused(a, *err);
	else
		str_set(&a->source.applied, a->cli.commit[0] ? a->cli.commit : NULL);
	if (rc == 0 && a->rollback_dep) {
		char *why = a->reason ? xasprintf("rolled back by hand: %s", a->reason) : xstrdup("rolled back by hand");

		if (engine_rollback(a->engine, a->rollback_dep, why, err) < 0)
			rc = -1;
		free(why);
	}
out:
	if (set)
		spec_set_free(set);
	return rc;
}

/* The line that ends the run, and the exit status it stands for. */
static int apply_outcome(struct apply *a)
{
	const struct fleet_status *s = engine_status(a->engine);
	const char *summary = s->summary;
	int rc = 1;

	switch (a->interrupted ? ENGINE_RUNNING : engine_outcome(a->engine)) {
	case ENGINE_CONVERGED:
		printf("%s: converged, %s\n", a->cmd, a->cli.commit[0] ? a->cli.commit : a->cli.path);
		rc = a->rollback_dep ? 1 : 0;
		break;
	case ENGINE_ROLLEDBACK:
		printf("%s: rolled back: %s\n", a->cmd, summary ? summary : "");
		rc = a->rollback_dep ? 0 : 1;
		break;
	case ENGINE_FAILED:
		printf("%s: failed: %s\n", a->cmd, summary ? summary : "");
		break;
	default:
		/* What kept it from converging, when the hosts or the repository would not answer. */
		printf("%s: %s before convergence%s%s\n", a->cmd, a->timed_out ? "timed out" : "interrupted",
		       s->source_error ? ": " : "", s->source_error ? s->source_error : "");
		break;
	}
	return rc;
}

static void apply_release(struct apply *a, int sfd)
{
	size_t i;

	if (a->engine)
		engine_free(a->engine);
	if (a->http)
		http_client_free(a->http);
	engine_cli_hosts_release(&a->hosts);
	if (a->docker)
		docker_free(a->docker);
	if (sfd >= 0) {
		if (a->loop)
			loop_unwatch(a->loop, sfd);
		close(sfd);
	}
	if (a->loop)
		loop_free(a->loop);
	for (i = 0; i < a->n_last; i++)
		free(a->last_lines[i]);
	free(a->last_lines);
	notes_debounce_release(&a->deb);
	status_source_release(&a->source);
	engine_cli_release(&a->cli);
	config_free(a->conf);
}

static int run(int argc, char **argv, const char *cmd)
{
	struct apply a;
	struct error *err = NULL;
	int rc, sfd = -1;
	sigset_t mask;

	/* Blocked before any thread starts, so every thread inherits the mask and signalfd gets them all. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	memset(&a, 0, sizeof(a));
	a.cmd = cmd;
	a.total_s = 3600;
	engine_cli_init(&a.cli);
	notes_debounce_init(&a.deb, 2000);
	rc = apply_args(&a, argc, argv);
	if (rc < 0 && a.rollback_dep)
		rc = rollback_through_daemon(&a);
	if (rc >= 0)
		goto out;
	if (apply_start(&a, &err) < 0)
		goto fail;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd >= 0 && loop_watch(a.loop, sfd, LOOP_READ, on_signal, &a, &err) < 0)
		goto fail;
	a.tty = isatty(STDOUT_FILENO);
	a.deadline_ms = now_ms() + a.total_s * 1000;
	loop_run(a.loop);
	/* Interrupted: let the operations already sent finish, so nothing is left half done. */
	while (a.interrupted && !engine_idle(a.engine))
		loop_run_once(a.loop, 200);
	rc = apply_outcome(&a);
	goto out;
fail:
	fprintf(stderr, "auriga %s: %s\n", cmd, error_msg(err));
	rc = 1;
out:
	error_free(err);
	apply_release(&a, sfd);
	return rc;
}

int cmd_apply(int argc, char **argv)
{
	return run(argc, argv, "apply");
}

int cmd_rollback(int argc, char **argv)
{
	return run(argc, argv, "rollback");
}
