/* Command-line options for reaching a specs repo, and `auriga source`: fetch, snapshot and note from a shell. */
#include "cmd/gitsrc_cli.h"

#include "buf.h"
#include "cmd/cli.h"
#include "runtime/file.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
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

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void gitsrc_cli_release(struct gitsrc_cli *c)
{
	if (c->tmp_state)
		nftw(c->tmp_state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(c->tmp_state);
	free(c->password);
	memset(c, 0, sizeof(*c));
}

static int read_secret(const char *path, char **out, struct error **err)
{
	struct buf b;

	buf_init(&b, 8192);
	if (file_read(path, "password file", FILE_REGULAR | FILE_SECRET, &b, err) < 0) {
		buf_release(&b);
		return -1;
	}
	file_trim_end(&b, "\r\n");
	*out = buf_detach(&b, NULL);
	return 0;
}

int gitsrc_cli_opt(struct gitsrc_cli *c, int opt, const char *arg, struct error **err)
{
	long n;

	switch (opt) {
	case GITSRC_OPT_REPO:
		c->repo = arg;
		break;
	case GITSRC_OPT_REF:
		c->cfg.ref = arg;
		break;
	case GITSRC_OPT_STATE_DIR:
		c->cfg.state_dir = arg;
		break;
	case GITSRC_OPT_SSH_USER:
		c->cfg.ssh_user = arg;
		break;
	case GITSRC_OPT_SSH_KEY:
		c->cfg.ssh_key = arg;
		break;
	case GITSRC_OPT_KNOWN_HOSTS:
		c->cfg.known_hosts = arg;
		break;
	case GITSRC_OPT_HTTPS_USER:
		c->cfg.https_user = arg;
		break;
	case GITSRC_OPT_HTTPS_PASSWORD_FILE:
		free(c->password);
		c->password = NULL;
		if (read_secret(arg, &c->password, err) < 0)
			return ERR_INVALID;
		c->cfg.https_password = c->password;
		break;
	case GITSRC_OPT_CA_BUNDLE:
		c->cfg.ca_bundle = arg;
		break;
	case GITSRC_OPT_ALLOWED_SIGNERS:
		c->cfg.allowed_signers = arg;
		break;
	case GITSRC_OPT_NOTES_REF:
		if (!str_has_prefix(arg, "refs/notes/"))
			return error_set(err, ERR_INVALID, "--notes-ref '%s': must start with refs/notes/", arg);
		c->notes_ref = arg;
		break;
	case GITSRC_OPT_ALLOW_NON_FF:
		c->cfg.allow_non_fast_forward = 1;
		break;
	case GITSRC_OPT_TIMEOUT:
		if (parse_long(arg, 1, 3600, &n) < 0)
			return error_set(err, ERR_INVALID, "--timeout '%s': expected seconds in [1, 3600]", arg);
		c->cfg.timeout_ms = n * 1000;
		break;
	default:
		BUG("unknown source option %d", opt);
	}
	return 0;
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

static void source_usage(FILE *out)
{
	fprintf(out,
		"usage: auriga source [options] fetch\n"
		"       auriga source [options] snapshot [--path DIR] [--count] [COMMIT]\n"
		"       auriga source [options] note [--push] [--phase P] [--summary S] [--observed-at MS]\n"
		"                                    [--deployment NAME=PHASE,READY,DESIRED]... COMMIT\n\n"
		"Runs one operation of the Git source against --repo (its mirror under --state-dir):\n"
		"fetch the ref and print the commit, list the YAML files of a snapshot, or write (and\n"
		"push) a status note.\n\noptions:\n" GITSRC_CLI_HELP);
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

/* What `auriga source` was asked beside the Git source's own options. */
struct source_args {
	const char *path;	/* snapshot: the folder inside the tree */
	int count_only;		/* snapshot: counts, not the files */
	int push;		/* note: push the notes ref */
	long observed;		/* note: its observedAt in ms, 0 for now */
	struct fleet_status st;	/* note: the status it renders */
};

/* The options and the operation: -1 to go on (argv[optind] names it), or the exit status (1 with *err set). */
static int source_opts(struct gitsrc_cli *c, struct source_args *a, int argc, char **argv, struct error **err)
{
	enum { O_PATH = 1, O_COUNT, O_PUSH, O_PHASE, O_SUMMARY, O_OBSERVED, O_DEPLOYMENT };
	static const struct option longopts[] = {
		GITSRC_CLI_LONGOPTS,
		{ "path", required_argument, NULL, O_PATH },
		{ "count", no_argument, NULL, O_COUNT },
		{ "push", no_argument, NULL, O_PUSH },
		{ "phase", required_argument, NULL, O_PHASE },
		{ "summary", required_argument, NULL, O_SUMMARY },
		{ "observed-at", required_argument, NULL, O_OBSERVED },
		{ "deployment", required_argument, NULL, O_DEPLOYMENT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc = -1;

	optind = 1;
	while (rc < 0 && (opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt >= GITSRC_OPT_REPO) {
			if (gitsrc_cli_opt(c, opt, optarg, err) < 0)
				rc = 1;
			continue;
		}
		switch (opt) {
		case O_PATH:
			a->path = optarg;
			break;
		case O_COUNT:
			a->count_only = 1;
			break;
		case O_PUSH:
			a->push = 1;
			break;
		case O_PHASE:
			if (status_phase_parse(optarg, &a->st.phase) < 0) {
				error_set(err, ERR_INVALID, "--phase '%s': unknown phase", optarg);
				rc = 1;
			}
			break;
		case O_SUMMARY:
			free(a->st.summary);
			a->st.summary = xstrdup(optarg);
			break;
		case O_OBSERVED:
			if (parse_long(optarg, 1, INT64_MAX / 2, &a->observed) < 0) {
				error_set(err, ERR_INVALID, "--observed-at '%s': expected milliseconds", optarg);
				rc = 1;
			}
			break;
		case O_DEPLOYMENT:
			if (add_deployment_arg(&a->st, optarg, err) < 0)
				rc = 1;
			break;
		case 'h':
			source_usage(stdout);
			rc = 0;
			break;
		default:
			source_usage(stderr);
			rc = 2;
			break;
		}
	}
	if (rc < 0 && optind >= argc) {
		source_usage(stderr);
		rc = 2;
	}
	return rc;
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
	struct gitsrc *src = NULL;
	struct error *err = NULL;
	const char *op, *arg;
	int rc;

	gitsrc_cli_init(&c);
	memset(&a, 0, sizeof(a));
	a.path = "";
	status_init(&a.st);
	a.st.phase = STATUS_HEALTHY;
	rc = source_opts(&c, &a, argc, argv, &err);
	if (rc >= 0)
		goto out;
	rc = 1;
	op = argv[optind++];
	arg = optind < argc ? argv[optind] : NULL;
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
	return rc;
}
