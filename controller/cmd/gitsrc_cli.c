/* Command-line options for reaching a specs repo, and `auriga source`: fetch, snapshot and note from a shell. */
#include "cmd/gitsrc_cli.h"

#include "buf.h"
#include "cmd/cli.h"
#include "runtime/file.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gitsrc_cli_init(struct gitsrc_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->notes_ref = NOTES_DEFAULT_REF;
}

void gitsrc_cli_release(struct gitsrc_cli *c)
{
	if (c->tmp_state)
		file_remove_tree(c->tmp_state);
	free(c->tmp_state);
	memset(c, 0, sizeof(*c));
}

void gitsrc_cli_config(struct gitsrc_config *g, const struct config *cfg)
{
	memset(g, 0, sizeof(*g));
	g->url = config_str(cfg, CFG_REPO);
	g->ref = config_str(cfg, CFG_BRANCH);
	g->state_dir = config_str(cfg, CFG_STATE_DIR);
	if (config_str(cfg, CFG_SSH_KEY)[0])
		g->ssh_key = config_str(cfg, CFG_SSH_KEY);
	if (config_str(cfg, CFG_SSH_USER)[0])
		g->ssh_user = config_str(cfg, CFG_SSH_USER);
	if (config_str(cfg, CFG_KNOWN_HOSTS)[0])
		g->known_hosts = config_str(cfg, CFG_KNOWN_HOSTS);
	if (config_str(cfg, CFG_ALLOWED_SIGNERS)[0])
		g->allowed_signers = config_str(cfg, CFG_ALLOWED_SIGNERS);
	g->allow_non_fast_forward = config_bool(cfg, CFG_ALLOW_NON_FAST_FORWARD);
	if (config_str(cfg, CFG_CA_BUNDLE)[0])
		g->ca_bundle = config_str(cfg, CFG_CA_BUNDLE);
	if (config_str(cfg, CFG_HTTPS_USER)[0])
		g->https_user = config_str(cfg, CFG_HTTPS_USER);
	if (config_str(cfg, CFG_HTTPS_TOKEN)[0])
		g->https_password = config_str(cfg, CFG_HTTPS_TOKEN);
	g->timeout_ms = config_ms(cfg, CFG_GIT_TIMEOUT);
	g->helper = GITSRC_HELPER_SELF;
}

void gitsrc_cli_setup(struct gitsrc_cli *c, const struct config *cfg)
{
	gitsrc_cli_config(&c->cfg, cfg);
	c->repo = config_str(cfg, CFG_REPO)[0] ? config_str(cfg, CFG_REPO) : NULL;
	c->notes_ref = config_str(cfg, CFG_NOTES_REF);
	c->ref_given = config_source_of(cfg, CFG_BRANCH) != CFG_SRC_DEFAULT;
	if (config_source_of(cfg, CFG_STATE_DIR) == CFG_SRC_DEFAULT)
		c->cfg.state_dir = NULL;
}

int gitsrc_cli_finish(struct gitsrc_cli *c, struct error **err)
{
	c->cfg.url = c->repo ? c->repo : ".";
	c->cfg.helper = GITSRC_HELPER_SELF;
	if (c->cfg.state_dir == NULL) {
		char tmpl[] = "/tmp/auriga-source.XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			return error_set(err, -errno, "cannot make a temporary directory: %s", strerror(errno));
		c->tmp_state = xstrdup(tmpl);
		c->cfg.state_dir = c->tmp_state;
	}
	return 0;
}

/* `auriga source`: the Git source's operations one at a time, for scripts, tests and benchmarks. */

#define SOURCE_DEPLOYMENTS_MAX 256

/* What `auriga source` was asked beside the settings. */
struct source_args {
	const char *path;	/* snapshot: the folder inside the tree */
	int count_only;		/* snapshot: counts, not the files */
	int push;		/* note: push the notes ref */
	long observed;		/* note: its observedAt in ms, 0 for now */
	struct fleet_status st;	/* note: the status it renders */
	int help, n_path, n_phase, n_summary, n_observed, n_deps;
	const char *phase, *summary, *observed_text;
	const char *deps[SOURCE_DEPLOYMENTS_MAX];
};

/* The options of `auriga source` that are not settings; the table's NULL-terminated. */
static void source_extra(struct source_args *a, struct config_extra_flag x[9])
{
	const struct config_extra_flag t[9] = {
		{ "path", &a->n_path, &a->path, "DIR", "snapshot: the folder inside the tree", 1, 0 },
		{ "count", &a->count_only, NULL, NULL, "snapshot: print counts, not the files", 0, 0 },
		{ "push", &a->push, NULL, NULL, "note: push the notes ref", 0, 0 },
		{ "phase", &a->n_phase, &a->phase, "PHASE", "note: the phase [default: Healthy]", 1, 0 },
		{ "summary", &a->n_summary, &a->summary, "TEXT", "note: the summary line", 1, 0 },
		{ "observed-at", &a->n_observed, &a->observed_text, "MS", "note: its observedAt, ms since the epoch",
		  1, 0 },
		{ "deployment", &a->n_deps, a->deps, "NAME=PHASE,READY,DESIRED", "note: one deployment (repeatable)",
		  SOURCE_DEPLOYMENTS_MAX, 0 },
		{ "help", &a->help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};

	memcpy(x, t, sizeof(t));
}

static void source_usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga source [options] fetch\n"
		"       auriga source [options] snapshot [--path DIR] [--count] [COMMIT]\n"
		"       auriga source [options] note [--push] [--phase P] [--summary S] [--observed-at MS]\n"
		"                                    [--deployment NAME=PHASE,READY,DESIRED]... COMMIT\n\n"
		"Runs one operation of the Git source against --repo (its mirror under --state-dir, a\n"
		"temporary one when it is not given): fetch the branch and print the commit, list the\n"
		"YAML files of a snapshot, or write (and push) a status note.\n\noptions:\n");
	config_usage_cmd(out, "source", extra);
}

static int add_deployment_arg(struct fleet_status *s, const char *arg, struct error **err)
{
	char *copy = xstrdup(arg), *eq, *c1, *c2;
	long ready, desired;
	struct status_deployment *d;
	enum status_phase phase;
	int r = 0;

	eq = strchr(copy, '=');
	c1 = eq ? strchr(eq + 1, ',') : NULL;
	c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	if (c2 == NULL || eq == copy) {
		r = error_set(err, ERR_INVALID, "--deployment '%s': expected NAME=PHASE,READY,DESIRED", arg);
		goto out;
	}
	*eq = *c1 = *c2 = '\0';
	if (status_phase_parse(eq + 1, &phase) < 0) {
		r = error_set(err, ERR_INVALID, "--deployment '%s': unknown phase '%s'", arg, eq + 1);
		goto out;
	}
	if (parse_long(c1 + 1, 0, 1000000, &ready) < 0 || parse_long(c2 + 1, 0, 1000000, &desired) < 0) {
		r = error_set(err, ERR_INVALID, "--deployment '%s': READY and DESIRED must be counts", arg);
		goto out;
	}
	d = status_add_deployment(s, copy);
	d->phase = phase;
	d->ready = ready;
	d->desired = desired;
	d->updated = ready;
	d->available = ready;
out:
	free(copy);
	return r;
}

/* The note's fields from their options. */
static int source_note_fields(struct source_args *a, struct error **err)
{
	int i;

	if (a->phase && status_phase_parse(a->phase, &a->st.phase) < 0)
		return error_set(err, ERR_INVALID, "--phase '%s': unknown phase", a->phase);
	if (a->summary) {
		free(a->st.summary);
		a->st.summary = xstrdup(a->summary);
	}
	if (a->observed_text && parse_long(a->observed_text, 1, INT64_MAX / 2, &a->observed) < 0)
		return error_set(err, ERR_INVALID, "--observed-at '%s': expected milliseconds", a->observed_text);
	for (i = 0; i < a->n_deps; i++)
		if (add_deployment_arg(&a->st, a->deps[i], err) < 0)
			return ERR_INVALID;
	return 0;
}

/*
 * The settings, the options and the operation: -1 to go on ((*pos)[0]
 * names it), or the exit status (1 with *err set).
 */
static int source_opts(struct config **conf, struct source_args *a, int argc, char **argv, char ***pos,
		       struct error **err)
{
	struct config_extra_flag extra[9];

	source_extra(a, extra);
	if (config_load(conf, argc, argv, NULL, extra, pos, err) < 0)
		return 2;
	if (a->help) {
		source_usage(stdout, extra);
		return 0;
	}
	config_log_setup(*conf);
	if (source_note_fields(a, err) < 0)
		return 1;
	if ((*pos)[0] == NULL) {
		source_usage(stderr, extra);
		return 2;
	}
	return -1;
}

static int source_fetch(struct gitsrc *src, struct error **err)
{
	struct gitsrc_fetch_result res;

	if (gitsrc_fetch(src, &res, err) < 0)
		return 1;
	printf("commit %s changed %d forced %d%s%s\n", res.commit, res.changed, res.forced,
	       res.signer ? " signer " : "", res.signer ? res.signer : "");
	gitsrc_fetch_result_release(&res);
	return 0;
}

static int source_snapshot(struct gitsrc *src, const struct source_args *a, const char *commit, struct error **err)
{
	struct gitsrc_snapshot *snap = NULL;

	if (gitsrc_snapshot(src, commit, a->path, &snap, err) < 0)
		return 1;
	if (a->count_only) {
		printf("%zu files %zu bytes\n", snap->nfiles, snap->total_bytes);
	} else {
		size_t i;

		for (i = 0; i < snap->nfiles; i++)
			printf("%s %zu\n", snap->files[i].path, snap->files[i].len);
	}
	gitsrc_snapshot_free(snap);
	return 0;
}

static int source_note(struct gitsrc *src, const char *notes_ref, struct source_args *a, const char *commit,
		       struct error **err)
{
	char *text = NULL;
	int rc = 1;

	if (commit == NULL) {
		error_set(err, ERR_INVALID, "note: which commit?");
		return 1;
	}
	a->st.commit = xstrdup(commit);
	a->st.observed_at = a->observed > 0 ? a->observed : wall_ms();
	if (status_render_note(&a->st, &text, err) == 0)
		rc = notes_publish(src, notes_ref, a->st.commit, text, a->push, err) < 0;
	free(text);
	return rc;
}

int cmd_source(int argc, char **argv)
{
	struct gitsrc_cli c;
	struct source_args a;
	struct config *conf = NULL;
	struct gitsrc *src = NULL;
	struct error *err = NULL;
	char **pos = NULL;
	const char *op, *arg;
	int rc;

	gitsrc_cli_init(&c);
	memset(&a, 0, sizeof(a));
	a.path = "";
	status_init(&a.st);
	a.st.phase = STATUS_HEALTHY;
	rc = source_opts(&conf, &a, argc, argv, &pos, &err);
	if (rc >= 0)
		goto out;
	rc = 1;
	op = pos[0];
	arg = pos[1];
	gitsrc_cli_setup(&c, conf);
	if (gitsrc_cli_finish(&c, &err) < 0 || gitsrc_open(&src, &c.cfg, &err) < 0)
		goto out;
	if (strcmp(op, "fetch") == 0) {
		rc = source_fetch(src, &err);
	} else if (strcmp(op, "snapshot") == 0) {
		rc = source_snapshot(src, &a, arg, &err);
	} else if (strcmp(op, "note") == 0) {
		rc = source_note(src, c.notes_ref, &a, arg, &err);
	} else {
		error_set(&err, ERR_INVALID, "unknown source operation '%s'", op);
		rc = 2;
	}
out:
	if (err) {
		fprintf(stderr, "auriga source: %s\n", error_msg(err));
		error_free(err);
		if (rc == 0)
			rc = 1;
	}
	status_release(&a.st);
	gitsrc_free(src);
	gitsrc_cli_release(&c);
	free(pos);
	config_free(conf);
	return rc;
}
