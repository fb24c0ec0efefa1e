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

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: auriga status [options] [--json] [--watch [--interval SECONDS]] [REV]\n\n"
		"Prints what auriga wrote about the newest commit with a status note on the branch\n"
		"(or on REV and its first parents): phase, replica counts and each deployment's state.\n\n"
		"options:\n" GITSRC_CLI_HELP
		"  --json                     one JSON document instead of the table\n"
		"  --watch                    keep going: re-read every --interval seconds (default 3)\n"
		"                             and print the status again when it changed\n");
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
	if (ms <= 0 || status_format_time(ms, out, n) < 0)
		snprintf(out, n, "-");
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
	if (s->source_error)
		printf("source:     %s\n", s->source_error);
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

/* One read: the note text and the commit it is on. */
static int read_once(struct gitsrc_cli *c, struct gitsrc *src, git_repository *local, const char *rev,
		     char note_commit[GITSRC_OID_HEX], char **text, struct error **err)
{
	char start[GITSRC_OID_HEX];
	git_repository *repo = local;
	int r;

	if (src) {
		struct gitsrc_fetch_result res;

		r = gitsrc_fetch(src, &res, err);
		if (r < 0)
			return r;
		gitsrc_fetch_result_release(&res);
		r = gitsrc_fetch_ref(src, c->notes_ref, c->notes_ref, err);
		if (r == ERR_NOTFOUND) {
			error_clear(err);
			return error_set(err, ERR_NOTFOUND, "'%s' has no status notes yet ('%s')", gitsrc_url(src),
					 c->notes_ref);
		}
		if (r < 0)
			return r;
		gitsrc_lock(src);
		repo = gitsrc_repo(src);
		r = rev ? resolve_start(repo, rev, start, err) : resolve_start(repo, gitsrc_ref(src), start, err);
		if (r == 0)
			r = notes_find_latest(repo, c->notes_ref, start, WALK_MAX, note_commit, text, err);
		gitsrc_unlock(src);
		return r;
	}
	if (rev == NULL && c->cfg.ref == NULL) {
		/* HEAD, or main when HEAD points nowhere (a bare repo made with another default). */
		r = resolve_start(repo, "HEAD", start, NULL);
		if (r < 0)
			r = resolve_start(repo, "main", start, err);
	} else {
		r = resolve_start(repo, rev ? rev : c->cfg.ref, start, err);
	}
	if (r == 0)
		r = notes_find_latest(repo, c->notes_ref, start, WALK_MAX, note_commit, text, err);
	return r;
}

static int show(const char *note_commit, const char *text, int json, struct error **err)
{
	struct fleet_status s;
	int r;

	r = status_parse_note(&s, text, strlen(text), err);
	if (r < 0) {
		error_wrap(err, "the note on %.12s", note_commit);
		return r;
	}
	if (json) {
		json_t *j = status_to_json(&s);
		char *out;

		json_object_set_new(j, "noteCommit", json_string(note_commit));
		out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (out)
			printf("%s\n", out);
		free(out);
		json_decref(j);
	} else {
		print_table(note_commit, &s);
	}
	fflush(stdout);
	status_release(&s);
	return 0;
}

/* What `auriga status` was asked beside the Git source's options. */
struct status_args {
	int json;
	int watch;
	long interval;		/* seconds between reads when watching */
	const char *rev;	/* where to look, NULL for the branch */
};

/* The options and REV: -1 to go on, or the exit status (1 with *err set). */
static int status_opts(struct gitsrc_cli *c, struct status_args *a, int argc, char **argv, struct error **err)
{
	enum { O_JSON = 1, O_WATCH, O_INTERVAL };
	static const struct option longopts[] = {
		GITSRC_CLI_LONGOPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "watch", no_argument, NULL, O_WATCH },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc = -1;

	optind = 1;
	while (rc < 0 && (opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt >= GITSRC_OPT_REPO) {
			if (gitsrc_cli_opt(c, opt, optarg, err) < 0)
				rc = 1;
		} else if (opt == O_JSON) {
			a->json = 1;
		} else if (opt == O_WATCH) {
			a->watch = 1;
		} else if (opt == O_INTERVAL) {
			if (parse_long(optarg, 1, 3600, &a->interval) < 0) {
				error_set(err, ERR_INVALID, "--interval '%s': expected seconds in [1, 3600]", optarg);
				rc = 1;
			}
		} else {
			status_usage(opt == 'h' ? stdout : stderr);
			rc = opt == 'h' ? 0 : 2;
		}
	}
	if (rc < 0 && optind < argc)
		a->rev = argv[optind++];
	if (rc < 0 && optind < argc) {
		status_usage(stderr);
		rc = 2;
	}
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
			    const struct status_args *a, char **last, struct error **err)
{
	char note_commit[GITSRC_OID_HEX];
	char *text = NULL, *key;
	size_t n;
	int rc = -1;

	if (read_once(c, src, local, a->rev, note_commit, &text, err) < 0 || text == NULL)
		goto out;
	n = strlen(note_commit) + strlen(text) + 2;
	key = xmalloc(n);
	snprintf(key, n, "%s\n%s", note_commit, text);
	if (*last && strcmp(*last, key) == 0) {
		free(key);
		rc = 0;
		goto out;
	}
	if (*last && !a->json)
		printf("\n");
	if (show(note_commit, text, a->json, err) < 0 && !a->watch) {
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
	struct error *err = NULL;
	char *last = NULL;
	int rc;

	gitsrc_cli_init(&c);
	git_libgit2_init();
	rc = status_opts(&c, &a, argc, argv, &err);
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
		if (status_read_show(&c, src, local, &a, &last, &err) == 0)
			rc = 0;
		else if (!a.watch)
			goto out;
		else
			fprintf(stderr, "auriga status: %s\n", error_msg(err));
		if (a.watch)
			watch_sleep(a.interval);
	} while (a.watch && !stop_watch);
	error_clear(&err);
	rc = 0;
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
	git_libgit2_shutdown();
	return rc;
}
