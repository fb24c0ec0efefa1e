/* What the engine's commands share: options, spec loading from a folder or a repo snapshot, Docker and loop set-up. */
#include "cmd/engine_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "docker/docker.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "source/envfile.h"
#include "source/policy_file.h"
#include "source/specdir.h"
#include "traffic/analysis.h"
#include "util.h"

void engine_cli_init(struct engine_cli *c)
{
	memset(c, 0, sizeof(*c));
	gitsrc_cli_init(&c->git);
}

void engine_cli_release(struct engine_cli *c)
{
	if (c->src)
		gitsrc_free(c->src);
	gitsrc_cli_release(&c->git);
	free(c->state_path);
	free(c->problems);
	policy_file_free(c->own_policy);
	memset(c, 0, sizeof(*c));
}

int engine_cli_opt(struct engine_cli *c, int opt, const char *arg, struct error **err)
{
	switch (opt) {
	case ENGINE_OPT_INSTANCE:
		if (arg[0] == '\0' || strchr(arg, '=') != NULL)
			return error_set(err, ERR_INVALID, "--instance '%s': expected a non-empty name without '='", arg);
		c->instance = arg;
		return 1;
	case ENGINE_OPT_LABEL:
		if (c->n_labels == ENGINE_CLI_MAX_LABELS)
			return error_set(err, ERR_INVALID, "--label: at most %d labels", ENGINE_CLI_MAX_LABELS);
		if (strchr(arg, '=') == NULL || arg[0] == '=')
			return error_set(err, ERR_INVALID, "--label '%s': expected KEY=VALUE", arg);
		c->labels[c->n_labels++] = arg;
		return 1;
	case ENGINE_OPT_PRUNE:
		c->prune = 1;
		return 1;
	case ENGINE_OPT_SPECS_PATH:
		c->specs_path = arg;
		return 1;
	case ENGINE_OPT_DOCKER_HOST:
		c->docker_host = arg;
		return 1;
	case ENGINE_OPT_ROUTER_ERROR_LOG:
		if (arg[0] != '/')
			return error_set(err, ERR_INVALID, "--router-error-log '%s': expected an absolute path", arg);
		c->router_error_log = arg;
		return 1;
	case ENGINE_OPT_POLICY_FILE:
		c->policy_file = arg;
		return 1;
	default:
		/* --state-dir is ours too: the state file lives beside the mirror. */
		if (opt == GITSRC_OPT_STATE_DIR)
			c->state_dir = arg;
		if (opt >= GITSRC_OPT_REPO && opt <= GITSRC_OPT_TIMEOUT) {
			int rc = gitsrc_cli_opt(&c->git, opt, arg, err);
			return rc < 0 ? rc : 1;
		}
		return 0;
	}
}

static int mkdir_p(const char *path, struct error **err)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = error_set(err, -errno, "cannot create '%s': %s", p, strerror(errno));
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = error_set(err, -errno, "cannot create state directory '%s': %s", p, strerror(errno));
out:
	free(p);
	return rc;
}

int engine_cli_finish(struct engine_cli *c, int argc, char **argv, struct error **err)
{
	size_t n;
	int rc;

	if (argc > 1)
		return error_set(err, ERR_INVALID, "expected at most one PATH, got %d arguments", argc);
	if (argc == 1)
		c->path = argv[0];
	if (c->path && c->git.repo)
		return error_set(err, ERR_INVALID, "give either --repo or a PATH, not both");
	if (c->path == NULL && c->git.repo == NULL)
		c->path = ".";
	if (c->instance == NULL) {
		const char *v = getenv("AURIGA_INSTANCE");

		c->instance = v && v[0] ? v : "auriga";
	}
	if (c->router_error_log == NULL) {
		const char *v = getenv("AURIGA_ROUTER_ERROR_LOG");

		if (v != NULL && v[0] != '\0') {
			if (v[0] != '/')
				return error_set(err, ERR_INVALID, "AURIGA_ROUTER_ERROR_LOG '%s': expected an absolute path", v);
			c->router_error_log = v;
		}
	}
	if ((rc = engine_cli_load_policy(c, err)) < 0)
		return rc;
	if (c->state_dir == NULL) {
		const char *v = getenv("AURIGA_STATE_DIR");

		c->state_dir = v && v[0] ? v : "/var/lib/auriga";
	}
	if (c->git.cfg.state_dir == NULL)
		c->git.cfg.state_dir = c->state_dir;
	if ((rc = mkdir_p(c->state_dir, err)) < 0)
		return rc;
	n = strlen(c->state_dir) + strlen(c->instance) + 32;
	c->state_path = xmalloc(n);
	snprintf(c->state_path, n, "%s/engine-%s.json", c->state_dir, c->instance);
	if (c->git.repo)
		return gitsrc_cli_finish(&c->git, err);
	return 0;
}

int engine_cli_load_policy(struct engine_cli *c, struct error **err)
{
	const char *path = c->policy_file;
	int rc;

	if (c->policy != NULL)
		return 0;
	if (path == NULL) {
		const char *v = getenv("AURIGA_POLICY_FILE");

		path = v && v[0] ? v : NULL;
	}
	if ((rc = policy_file_load(&c->own_policy, path, err)) < 0)
		return rc;
	c->policy = c->own_policy;
	return 0;
}

/* The most diagnostics a refused commit's note carries; the count says how many there were. */
#define PROBLEMS_MAX_BYTES (8 * 1024)

/*
 * Finishes the set, reads its env files (through read, ctx), parses its
 * analysis selectors and reports every problem: on stderr, and as *problems
 * (when given) for the note on a refused commit.
 */
static int finish_set(struct spec_set *set, struct spec_diags *diags, envfile_read_fn read, void *ctx,
		      const char *what, char **problems, struct error **err)
{
	struct buf text = BUF_INIT_MAX(PROBLEMS_MAX_BYTES);
	size_t i, shown = 0, total;
	char *more;
	int rc;

	spec_set_finish(set, diags);
	if ((rc = envfile_apply(set, read, ctx, diags, err)) < 0)
		return rc;
	analysis_scrape_check(set, diags);
	total = spec_diags_total(diags);
	if (total == 0)
		return 0;
	spec_diags_sort(diags);
	for (i = 0; i < diags->n; i++) {
		char *line = spec_diag_format(&diags->v[i]);

		fprintf(stderr, "%s\n", line);
		if (shown == i && buf_printf(&text, "%s%s", i ? "\n" : "", line) == 0)
			shown++;
		free(line);
	}
	more = spec_diags_format_dropped(diags);
	if (more)
		fprintf(stderr, "%s\n", more);
	free(more);
	if (shown < total)
		buf_printf(&text, "\n(and %zu more)", total - shown);
	if (problems)
		*problems = buf_detach(&text, NULL);
	buf_release(&text);
	return error_set(err, ERR_INVALID, "%s: %zu problem%s in the specs", what, total, total == 1 ? "" : "s");
}

int engine_cli_load_snapshot(struct gitsrc *src, const char *commit, const char *specs_path,
			     const struct spec_policy *policy, struct spec_set **out, char **problems,
			     struct error **err)
{
	struct gitsrc_snapshot *snap = NULL;
	struct spec_set *set = NULL;
	struct spec_diags diags;
	struct envfile_git eg;
	size_t i;
	int rc;

	*out = NULL;
	if (problems)
		*problems = NULL;
	spec_diags_init(&diags);
	rc = gitsrc_snapshot(src, commit, specs_path ? specs_path : ".", &snap, err);
	if (rc < 0)
		goto out;
	set = xmalloc(sizeof(*set));
	spec_set_init(set, NULL, NULL);
	set->policy = policy;
	for (i = 0; i < snap->nfiles; i++)
		spec_set_load_buffer(set, snap->files[i].path, snap->files[i].data, snap->files[i].len, &diags);
	/* Env files are named relative to the repository root, whatever the specs path. */
	eg.src = src;
	eg.commit = snap->commit;
	rc = finish_set(set, &diags, envfile_read_git, &eg, snap->commit, problems, err);
	if (rc < 0)
		goto out;
	*out = set;
	set = NULL;
out:
	if (set)
		spec_set_free(set);
	spec_diags_release(&diags);
	if (snap)
		gitsrc_snapshot_free(snap);
	return rc;
}

int engine_cli_load(struct engine_cli *c, struct spec_set **out, struct error **err)
{
	struct spec_set *set;
	struct spec_diags diags;
	char *root;
	int rc;

	*out = NULL;
	c->commit[0] = '\0';
	if (c->git.repo) {
		struct gitsrc_fetch_result fr;

		if (c->src == NULL && (rc = gitsrc_open(&c->src, &c->git.cfg, err)) < 0)
			return rc;
		memset(&fr, 0, sizeof(fr));
		rc = gitsrc_fetch(c->src, &fr, err);
		/* A head the source refuses (its signature) is named too, for its note. */
		snprintf(c->commit, sizeof(c->commit), "%s", fr.commit);
		if (rc < 0)
			return rc;
		snprintf(c->previous, sizeof(c->previous), "%s", fr.previous);
		gitsrc_fetch_result_release(&fr);
		free(c->problems);
		return engine_cli_load_snapshot(c->src, c->commit, c->specs_path, c->policy, out, &c->problems, err);
	}
	spec_diags_init(&diags);
	set = xmalloc(sizeof(*set));
	spec_set_init(set, NULL, NULL);
	set->policy = c->policy;
	specdir_load(set, c->path, &diags);
	/* In a folder, env files are relative to the folder given (or to a single file's own folder). */
	root = envfile_dir_root(c->path);
	rc = finish_set(set, &diags, envfile_read_dir, root, c->path, NULL, err);
	free(root);
	spec_diags_release(&diags);
	if (rc < 0) {
		spec_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

int engine_cli_connect(struct engine_cli *c, struct loop **l, struct docker **d, struct http_client **h,
		       struct error **err)
{
	struct docker_config cfg;

	*l = NULL;
	*d = NULL;
	if (h)
		*h = NULL;
	docker_config_default(&cfg);
	cfg.host = c->docker_host;
	if (docker_config_from_env(&cfg, err) < 0)
		return ERR_INVALID;
	*l = loop_new(err);
	if (*l == NULL)
		return ERR_GENERIC;
	*d = docker_new(*l, &cfg, err);
	if (*d == NULL)
		goto fail;
	if (h && (*h = http_client_new(*l, err)) == NULL)
		goto fail;
	return 0;
fail:
	if (*d)
		docker_free(*d);
	loop_free(*l);
	*l = NULL;
	*d = NULL;
	return ERR_GENERIC;
}
