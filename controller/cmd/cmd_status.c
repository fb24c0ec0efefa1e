/* `auriga status`: reads the newest status note on the specs repo's branch (or on REV) and prints it. */
#include "cmd/cli.h"
#include "cmd/gitsrc_cli.h"
#include "source/gitsrc.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

#include <git2.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WALK_MAX 1000

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static void status_usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga status [options] [--json] [--watch [--interval SECONDS]] [REV]\n\n"
		"Prints what auriga wrote about the branch head (or REV): the newest status note on it\n"
		"or its first parents: phase, replica counts, each deployment's state, and the source\n"
		"(the head auriga saw, the commit applied, its last fetch and fetch error); a commit\n"
		"auriga did not apply is noted Refused (with every problem) or Superseded (naming the\n"
		"newer commit). A repository on this machine is read in place (from HEAD unless\n"
		"--branch is given); another through a mirror under --state-dir, a temporary one when\n"
		"it is not given.\n\n"
		"options:\n");
	config_usage_cmd(out, "status", extra);
	fprintf(out, "\nexit status, for the head (or REV): 0 Healthy; 3 Progressing; 4 Refused; 5 Failed,\n"
		     "Degraded or RolledBack; 6 Superseded, or no note on it yet (the newest note before it\n"
		     "is shown); 1 the repo or its notes cannot be read; 2 usage error. --watch exits 0 on\n"
		     "SIGINT or SIGTERM.\n");
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
	if (ms <= 0 || status_format_time(ms, out, n) < 0)
		snprintf(out, n, "-");
}

/* The lines of a text, each after the label (the first) or its indent. */
static void print_lines(const char *label, const char *text)
{
	const char *p = text, *nl;

	do {
		nl = strchr(p, '\n');
		printf("%-12s%.*s\n", p == text ? label : "", nl ? (int)(nl - p) : (int)strlen(p), p);
		p = nl ? nl + 1 : p;
	} while (nl);
}

/* Each replica's host, "  hosts: web-0 d1, web-1 d2", when the status knows them. */
static void print_hosts(const struct status_deployment *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->ninstances; i++)
		if (d->instances[i].host)
			printf("%s %s %s", n++ ? "," : "  hosts:", d->instances[i].name, d->instances[i].host);
	if (n)
		printf("\n");
}

/* On a Swarm: the service, and each task's node, "  nodes: web.1.x node-1, web.2.y node-2". */
static void print_nodes(const struct status_deployment *d)
{
	size_t i, n = 0;

	if (d->service)
		printf("  service: %s\n", d->service);
	for (i = 0; i < d->ninstances; i++)
		if (d->instances[i].node)
			printf("%s %s %s", n++ ? "," : "  nodes:", d->instances[i].name, d->instances[i].node);
	if (n)
		printf("\n");
}

/* What Git says: the head auriga saw, the commit applied, the last fetch and the last fetch error. */
static void print_source(const struct fleet_status *s)
{
	const struct status_source *src = &s->source;
	char t[40];

	if (s->superseded_by)
		printf("superseded: by %s\n", s->superseded_by);
	if (s->problems)
		print_lines("problems:", s->problems);
	if (src->head || src->applied)
		printf("source:     head %.12s, applied %.12s\n", src->head ? src->head : "-",
		       src->applied ? src->applied : "-");
	if (src->fetched_at > 0) {
		fmt_time(src->fetched_at, t, sizeof(t));
		printf("fetched:    %s\n", t);
	}
	if (src->fetch_error) {
		fmt_time(src->fetch_error_at, t, sizeof(t));
		printf("fetch error: %s (%s)\n", src->fetch_error, t);
	}
	if (s->source_error)
		printf("error:      %s\n", s->source_error);
}

static void print_table(const char *note_commit, const struct fleet_status *s)
{
	long ready, desired;
	char t[40];
	size_t i, j;

	status_counts(s, &ready, &desired);
	fmt_time(s->observed_at, t, sizeof(t));
	printf("commit:     %s\n", note_commit);
	printf("phase:      %s  %ld/%ld ready\n", status_phase_name(s->phase), ready, desired);
	if (s->summary)
		printf("summary:    %s\n", s->summary);
	printf("observed:   %s\n", t);
	print_source(s);
	if (s->ndeployments == 0)
		return;
	printf("\n%-20s %-10s %-12s %7s %7s %9s  %-10s %-12s %s\n", "DEPLOYMENT", "ROLE", "PHASE", "READY",
	       "UPDATED", "AVAILABLE", "STRATEGY", "REVISION", "STEP");
	for (i = 0; i < s->ndeployments; i++) {
		const struct status_deployment *d = &s->deployments[i];
		char counts[32];

		snprintf(counts, sizeof(counts), "%ld/%ld", d->ready, d->desired);
		printf("%-20s %-10s %-12s %7s %7ld %9ld  %-10s %-12.12s %s\n", d->name, d->role ? d->role : "-",
		       status_phase_name(d->phase), counts, d->updated, d->available,
		       d->strategy ? d->strategy : "-", d->revision ? d->revision : "-", d->step ? d->step : "");
		for (j = 0; j < d->nconditions; j++) {
			const struct status_condition *c = &d->conditions[j];

			if (c->status && strcmp(c->status, "True") == 0)
				continue;
			printf("  %s=%s %s: %s\n", c->type, c->status ? c->status : "?", c->reason ? c->reason : "",
			       c->message ? c->message : "");
		}
		for (j = 0; j < ARRAY_SIZE(d->slots) && d->slots[j].name[0]; j++)
			printf("%s slot %s %ld/%ld ready", j ? "," : "  slots:", d->slots[j].name, d->slots[j].ready,
			       d->slots[j].desired);
		if (d->slots[0].name[0])
			printf("\n");
		print_hosts(d);
		print_nodes(d);
		if (d->restarts > 0)
			printf("  restarts: %ld (liveness failed)\n", d->restarts);
		if (d->last_error)
			printf("  last error: %s\n", d->last_error);
	}
}

/* Where to start looking: REV, the configured ref, or HEAD, resolved in repo. */
static int resolve_start(git_repository *repo, const char *rev, char out[GITSRC_OID_HEX], struct error **err)
{
	git_object *obj = NULL, *peeled = NULL;
	int gr;

	gr = git_revparse_single(&obj, repo, rev);
	if (gr == 0)
		gr = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	if (gr < 0) {
		const git_error *ge = git_error_last();

		git_object_free(obj);
		return error_set(err, ERR_NOTFOUND, "cannot resolve '%s': %s", rev,
				 ge && ge->message ? ge->message : "not found");
	}
	git_oid_tostr(out, GITSRC_OID_HEX, git_object_id(peeled));
	git_object_free(peeled);
	git_object_free(obj);
	return 0;
}

/* The newest note at or before start: 0 with *text NULL when there is none. */
static int find_note(git_repository *repo, const char *notes_ref, const char *start, char note_commit[GITSRC_OID_HEX],
		     char **text, struct error **err)
{
	int r = notes_find_latest(repo, notes_ref, start, WALK_MAX, note_commit, text, err);

	if (r == ERR_NOTFOUND) {
		error_clear(err);
		note_commit[0] = '\0';
		r = 0;
	}
	return r;
}

/*
 * One read: the commit asked about (start: the branch head, or REV) and the
 * newest note at or before it, with the commit it is on (*text NULL when no
 * commit within reach has one).
 */
static int read_once(struct gitsrc_cli *c, struct gitsrc *src, git_repository *local, const char *rev,
		     char start[GITSRC_OID_HEX], char note_commit[GITSRC_OID_HEX], char **text, struct error **err)
{
	git_repository *repo = local;
	int r;

	*text = NULL;
	if (src) {
		struct gitsrc_fetch_result res;

		r = gitsrc_fetch(src, &res, err);
		if (r < 0)
			return r;
		gitsrc_fetch_result_release(&res);
		/* A remote with no notes yet: no commit has one. */
		r = gitsrc_fetch_ref(src, c->notes_ref, c->notes_ref, err);
		if (r == ERR_NOTFOUND) {
			error_clear(err);
			r = 0;
		}
		if (r < 0)
			return r;
		gitsrc_lock(src);
		repo = gitsrc_repo(src);
		r = resolve_start(repo, rev ? rev : gitsrc_ref(src), start, err);
		if (r == 0)
			r = find_note(repo, c->notes_ref, start, note_commit, text, err);
		gitsrc_unlock(src);
		return r;
	}
	if (rev == NULL && !c->ref_given) {
		/* HEAD, or main when HEAD points nowhere (a bare repo made with another default). */
		r = resolve_start(repo, "HEAD", start, NULL);
		if (r < 0)
			r = resolve_start(repo, "main", start, err);
	} else {
		r = resolve_start(repo, rev ? rev : c->cfg.ref, start, err);
	}
	if (r == 0)
		r = find_note(repo, c->notes_ref, start, note_commit, text, err);
	return r;
}

/*
 * Prints the status of start: the note on it, or that it has none yet and
 * the newest note before it (text, NULL when none). *code is the exit status
 * it stands for.
 */
static int show(const char *start, const char *note_commit, const char *text, int json, int *code,
		struct error **err)
{
	struct fleet_status s;
	int noted = text && strcmp(note_commit, start) == 0;

	status_init(&s);
	if (text && status_parse_note(&s, text, strlen(text), err) < 0) {
		error_wrap(err, "the note on %.12s", note_commit);
		return ERR_INVALID;
	}
	*code = noted ? (int)status_exit_code(&s) : (int)STATUS_EXIT_UNKNOWN;
	if (json) {
		json_t *j = text ? status_to_json(&s) : json_object();
		char *out;

		if (text)
			json_object_set_new(j, "noteCommit", json_string(note_commit));
		json_object_set_new(j, "head", json_string(start));
		json_object_set_new(j, "exitCode", json_integer(*code));
		out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (out)
			printf("%s\n", out);
		free(out);
		json_decref(j);
	} else {
		if (!noted)
			printf("head:       %s has no status note yet%s\n", start,
			       text ? "; the newest before it:" : ", nor has any commit before it");
		if (text)
			print_table(note_commit, &s);
	}
	fflush(stdout);
	status_release(&s);
	return 0;
}

/* What `auriga status` was asked beside the settings. */
struct status_args {
	int json;
	int watch;
	long interval;		/* seconds between reads when watching */
	const char *rev;	/* where to look, NULL for the branch */
};

/* The settings, the options and REV: -1 to go on, or the exit status (1 with *err set). */
static int status_opts(struct gitsrc_cli *c, struct config **conf, struct status_args *a, int argc, char **argv,
		       struct error **err)
{
	int help = 0, n_interval = 0, rc = -1;
	const char *interval = NULL;
	const struct config_extra_flag extra[] = {
		{ "json", &a->json, NULL, NULL, "one JSON document instead of the table", 0, 0 },
		{ "watch", &a->watch, NULL, NULL,
		  "keep going: re-read every --interval, print the status again when it changed", 0, 0 },
		{ "interval", &n_interval, &interval, "SECONDS", "seconds between reads with --watch [default: 3]", 1, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	char **pos = NULL;

	if (config_load(conf, argc, argv, NULL, extra, &pos, err) < 0)
		return 2;
	if (help) {
		status_usage(stdout, extra);
		rc = 0;
	} else if (interval && parse_long(interval, 1, 3600, &a->interval) < 0) {
		error_set(err, ERR_INVALID, "--interval '%s': expected seconds in [1, 3600]", interval);
		rc = 1;
	} else if (pos[0] && pos[1]) {
		status_usage(stderr, extra);
		rc = 2;
	} else {
		a->rev = pos[0];
		config_log_setup(*conf);
		gitsrc_cli_setup(c, *conf);
	}
	free(pos);
	return rc;
}

/* A repository on this machine is read in place; anything else through a mirror. */
static int status_open(struct gitsrc_cli *c, struct gitsrc **src, git_repository **local, struct error **err)
{
	if (git_repository_open_ext(local, c->repo ? c->repo : ".", GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0 ||
	    (c->repo && strstr(c->repo, "://"))) {
		git_repository_free(*local);
		*local = NULL;
		if (gitsrc_cli_finish(c, err) < 0 || gitsrc_open(src, &c->cfg, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * One read, and the note printed when it differs from the last one shown
 * (*last). 0, or -1 with *err set. When watching, a note that does not
 * parse is passed over (and the next one compared with it).
 */
static int status_read_show(struct gitsrc_cli *c, struct gitsrc *src, git_repository *local,
			    const struct status_args *a, char **last, int *code, struct error **err)
{
	char start[GITSRC_OID_HEX], note_commit[GITSRC_OID_HEX];
	char *text = NULL, *key;
	int rc = -1;

	if (read_once(c, src, local, a->rev, start, note_commit, &text, err) < 0)
		goto out;
	key = xasprintf("%s\n%s\n%s", start, note_commit, text ? text : "");
	if (*last && strcmp(*last, key) == 0) {
		free(key);
		rc = 0;
		goto out;
	}
	if (*last && !a->json)
		printf("\n");
	if (show(start, note_commit, text, a->json, code, err) < 0 && !a->watch) {
		free(key);
		goto out;
	}
	free(*last);
	*last = key;
	rc = 0;
out:
	free(text);
	return rc;
}

/* Sleeps through the interval, or until SIGINT or SIGTERM. */
static void watch_sleep(long interval)
{
	struct timespec ts = { interval, 0 };

	while (!stop_watch && nanosleep(&ts, &ts) < 0 && !stop_watch)
		;
}

int cmd_status(int argc, char **argv)
{
	struct gitsrc_cli c;
	struct status_args a = { 0, 0, 3, NULL };
	struct gitsrc *src = NULL;
	git_repository *local = NULL;
	struct config *conf = NULL;
	struct error *err = NULL;
	char *last = NULL;
	int rc, code = STATUS_EXIT_UNKNOWN;

	gitsrc_cli_init(&c);
	git_libgit2_init();
	rc = status_opts(&c, &conf, &a, argc, argv, &err);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (status_open(&c, &src, &local, &err) < 0)
		goto out;
	if (a.watch) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	do {
		error_clear(&err);
		if (status_read_show(&c, src, local, &a, &last, &code, &err) < 0 && !a.watch)
			goto out;
		if (err)
			fprintf(stderr, "auriga status: %s\n", error_msg(err));
		if (a.watch)
			watch_sleep(a.interval);
	} while (a.watch && !stop_watch);
	error_clear(&err);
	/* One read says what the commit is; a watch ends on a signal, with 0. */
	rc = a.watch ? 0 : code;
out:
	if (err) {
		fprintf(stderr, "auriga status: %s\n", error_msg(err));
		error_free(err);
		if (rc == 0)
			rc = 1;
	}
	free(last);
	git_repository_free(local);
	gitsrc_free(src);
	gitsrc_cli_release(&c);
	config_free(conf);
	git_libgit2_shutdown();
	return rc;
}
