/* What the engine's commands share: options, spec loading from a folder or a repo snapshot, Docker and loop set-up. */
#include "cmd/engine_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/engine.h"
#include "runtime/log.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "source/envfile.h"
#include "source/policy_file.h"
#include "source/specdir.h"
#include "traffic/analysis.h"
#include "strv.h"
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
	FREE_ALL(c->problems, c->endpoint);
	policy_file_free(c->own_policy);
	memset(c, 0, sizeof(*c));
}

void engine_cli_docker_config(struct docker_config *d, const struct config *cfg)
{
	docker_config_default(d);
	d->host = config_str(cfg, CFG_DOCKER_HOST);
	if (config_str(cfg, CFG_DOCKER_TLS_CA)[0])
		d->ca_file = config_str(cfg, CFG_DOCKER_TLS_CA);
	if (config_str(cfg, CFG_DOCKER_TLS_CERT)[0])
		d->cert_file = config_str(cfg, CFG_DOCKER_TLS_CERT);
	if (config_str(cfg, CFG_DOCKER_TLS_KEY)[0])
		d->key_file = config_str(cfg, CFG_DOCKER_TLS_KEY);
	if (config_str(cfg, CFG_DOCKER_CERT_PATH)[0])
		d->cert_path = config_str(cfg, CFG_DOCKER_CERT_PATH);
	/* The table read DOCKER_TLS_VERIFY below its own sources: the environment is not read again. */
	d->tls = config_bool(cfg, CFG_DOCKER_TLS_VERIFY) || d->ca_file || d->cert_file ? 1 : 0;
	/* The reconcile's calls (list, inspect, create, start, stop, remove, networks) share the deadline. */
	d->timeout_ms[DOCKER_OBSERVE] = config_ms(cfg, CFG_DOCKER_TIMEOUT);
	d->timeout_ms[DOCKER_ROLLOUT] = config_ms(cfg, CFG_DOCKER_TIMEOUT);
}

const char *engine_cli_set_endpoint(const struct spec_set *set)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;

	return c && c->n_endpoints && c->endpoints[0].name ? c->endpoints[0].name : SPEC_ENDPOINT_LOCAL;
}

int engine_cli_endpoint_config(struct docker_config *d, const struct config *cfg, const struct spec_policy *p,
			       const char *endpoint, struct error **err)
{
	const struct spec_policy_endpoint *e;

	engine_cli_docker_config(d, cfg);
	if (endpoint == NULL || strcmp(endpoint, SPEC_ENDPOINT_LOCAL) == 0)
		return 0;
	e = spec_policy_endpoint_find(p, endpoint);
	if (e == NULL)
		return error_set(err, ERR_INVALID, "endpoint '%s' is not listed in the operator's policy", endpoint);
	/* The docker-tls-* settings are local's; this endpoint's TLS is its folder, as DOCKER_CERT_PATH. */
	d->host = e->url;
	d->ca_file = d->cert_file = d->key_file = NULL;
	d->cert_path = e->cert_path;
	d->tls = e->cert_path != NULL;
	return 0;
}

int engine_cli_hosts_make(struct engine_cli_hosts *h, struct loop *l, const struct config *cfg,
			  const struct spec_policy *p, const struct spec_set *set, struct docker *first,
			  struct error **err)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;
	size_t i, n = c && c->n_endpoints ? c->n_endpoints : 1;

	memset(h, 0, sizeof(*h));
	h->ep = xcalloc(n, sizeof(*h->ep));
	h->names = xcalloc(n + 1, sizeof(*h->names));
	h->names[0] = xstrdup(engine_cli_set_endpoint(set));
	h->ep[0].name = h->names[0];
	h->ep[0].docker = first;
	h->n = 1;
	for (i = 1; i < n; i++) {
		struct docker_config dcfg;
		struct docker *d;

		if (engine_cli_endpoint_config(&dcfg, cfg, p, c->endpoints[i].name, err) < 0 ||
		    (d = docker_new(l, &dcfg, err)) == NULL) {
			error_wrap(err, "endpoint '%s'", c->endpoints[i].name);
			engine_cli_hosts_release(h);
			return -1;
		}
		h->names[i] = xstrdup(c->endpoints[i].name);
		h->ep[i].name = h->names[i];
		h->ep[i].docker = d;
		h->n++;
	}
	return 0;
}

void engine_cli_hosts_release(struct engine_cli_hosts *h)
{
	size_t i;

	for (i = 1; i < h->n; i++)
		docker_free(h->ep[i].docker);
	strv_free_n(h->names, h->n);
	free(h->ep);
	memset(h, 0, sizeof(*h));
}

char *engine_cli_set_endpoints_key(const struct spec_set *set)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 16);
	(void)buf_puts(&b, engine_cli_set_endpoint(set));
	for (i = 1; c && i < c->n_endpoints; i++)
		(void)buf_printf(&b, ",%s", c->endpoints[i].name ? c->endpoints[i].name : "");
	return buf_detach(&b, NULL);
}

int engine_cli_use_endpoint(const struct engine_cli_endpoint *ce, const struct spec_set *set, struct docker **d,
			    struct engine_cli_hosts *hosts, struct engine **e, struct error **err)
{
	const char *name = engine_cli_set_endpoint(set);
	struct engine_options eo = *ce->eo;
	struct engine_cli_hosts nh;
	struct docker_config dcfg;
	struct docker *nd;
	struct engine *ne;
	size_t i;

	if (engine_cli_endpoint_config(&dcfg, ce->cfg, ce->policy, name, err) < 0 ||
	    (nd = docker_new(ce->loop, &dcfg, err)) == NULL)
		return -1;
	if (engine_cli_hosts_make(&nh, ce->loop, ce->cfg, ce->policy, set, nd, err) < 0) {
		docker_free(nd);
		return -1;
	}
	eo.endpoints = nh.ep;
	eo.n_endpoints = nh.n;
	/*
	 * The new engine first, so that a failure leaves the old one running.
	 * It reads the state file the old one saved at its last change; the old
	 * one's calls still running are cancelled with its clients, as a
	 * restart would leave them.
	 */
	ne = engine_new(ce->loop, nd, ce->http, &eo, err);
	if (ne == NULL) {
		engine_cli_hosts_release(&nh);
		docker_free(nd);
		return -1;
	}
	engine_free(*e);
	engine_cli_hosts_release(hosts);
	docker_free(*d);
	*d = nd;
	*hosts = nh;
	*e = ne;
	for (i = 0; i < nh.n; i++)
		log_info("run", "docker endpoint", "endpoint", nh.ep[i].name, "url", docker_endpoint(nh.ep[i].docker),
			 (char *)NULL);
	return 0;
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

/* The fields the settings give. */
static void from_settings(struct engine_cli *c, const struct config *cfg)
{
	c->cfg = cfg;
	gitsrc_cli_setup(&c->git, cfg);
	c->specs_path = config_str(cfg, CFG_REPO_PATH);
	c->environment = config_str(cfg, CFG_ENVIRONMENT)[0] ? config_str(cfg, CFG_ENVIRONMENT) : NULL;
	c->instance = config_str(cfg, CFG_INSTANCE);
	c->name_prefix = config_name_prefix(cfg);
	c->state_dir = config_str(cfg, CFG_STATE_DIR);
	c->router_error_log = config_str(cfg, CFG_ROUTER_ERROR_LOG)[0] ? config_str(cfg, CFG_ROUTER_ERROR_LOG) : NULL;
	c->policy_file = config_str(cfg, CFG_POLICY_FILE)[0] ? config_str(cfg, CFG_POLICY_FILE) : NULL;
	c->labels = config_list(cfg, CFG_EXTRA_LABELS, &c->n_labels);
}

int engine_cli_finish(struct engine_cli *c, const struct config *cfg, int argc, char **argv, struct error **err)
{
	size_t n;
	int rc;

	if (cfg)
		from_settings(c, cfg);
	if (argc > 1)
		return error_set(err, ERR_INVALID, "expected at most one PATH, got %d arguments", argc);
	if (argc == 1)
		c->path = argv[0];
	if (c->path && c->git.repo)
		return error_set(err, ERR_INVALID, "give either --repo or a PATH, not both");
	if (c->path == NULL && c->git.repo == NULL)
		c->path = ".";
	if ((rc = engine_cli_load_policy(c, err)) < 0)
		return rc;
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
	int rc;

	if (c->policy != NULL)
		return 0;
	if ((rc = policy_file_load(&c->own_policy, c->policy_file, c->cfg ? config_str(c->cfg, CFG_DOCKER_HOST) : NULL,
				   err)) < 0)
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
			     const char *environment, const struct spec_policy *policy, struct spec_set **out,
			     char **problems, struct error **err)
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
	spec_set_follow(set, environment);
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

/*
 * An environment's promotion gate is read from the notes on the commit by
 * `auriga run` following the repository; a command that would apply the
 * specs around it is refused, not let through.
 */
static int gate_refused(const struct engine_cli *c, const struct spec_set *set, struct error **err)
{
	const struct spec_environment *e = set->environment;

	if (!c->applies || e == NULL || (e->promotion_after == NULL && !e->approval_required))
		return 0;
	return error_set(err, ERR_CONFLICT,
			 "environment '%s' is promoted through a gate (%s: spec.promotion): its commits are applied by "
			 "'auriga run --repo', which reads the gate from the notes on them; nothing was applied",
			 e->meta.name, e->meta.pos.file);
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
		rc = engine_cli_load_snapshot(c->src, c->commit, c->specs_path, c->environment, c->policy, out,
					      &c->problems, err);
		if (rc == 0 && (rc = gate_refused(c, *out, err)) < 0) {
			spec_set_free(*out);
			*out = NULL;
		}
		if (rc == 0)
			str_set(&c->endpoint, engine_cli_set_endpoint(*out));
		return rc;
	}
	spec_diags_init(&diags);
	set = xmalloc(sizeof(*set));
	spec_set_init(set, NULL, NULL);
	set->policy = c->policy;
	spec_set_follow(set, c->environment);
	specdir_load(set, c->path, &diags);
	/* In a folder, env files are relative to the folder given (or to a single file's own folder). */
	root = envfile_dir_root(c->path);
	rc = finish_set(set, &diags, envfile_read_dir, root, c->path, NULL, err);
	free(root);
	spec_diags_release(&diags);
	if (rc == 0)
		rc = gate_refused(c, set, err);
	if (rc < 0) {
		spec_set_free(set);
		return rc;
	}
	*out = set;
	str_set(&c->endpoint, engine_cli_set_endpoint(set));
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
	if (c->cfg == NULL)
		BUG("engine_cli_connect without settings");
	if (engine_cli_endpoint_config(&cfg, c->cfg, c->policy, c->endpoint, err) < 0)
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
