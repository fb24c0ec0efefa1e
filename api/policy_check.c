/* A spec set held against the operator's policy: every field asking for more than it allows is refused at its position. */
#include "policy.h"
#include "placement.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec_internal.h"
#include "util.h"

/* The built-in router settings: what a Cluster may name when the policy lists none. */
static const char *const builtin_config_path = "/etc/nginx/conf.d/auriga.conf";
static const char *const builtin_reload[] = { "nginx", "-s", "reload" };
static const char *const builtin_listen = "127.0.0.1";

/* Where the Docker socket lives: a host path at or above one of these hands over the host. */
static const char *const docker_sockets[] = { "/var/run/docker.sock", "/run/docker.sock" };

struct pcheck {
	const struct spec_policy *p;
	struct spec_diags *d;		/* positioned diags; NULL: the first refusal goes to msg */
	int allow_privileged;		/* the Cluster's word: -1 none, 0 narrows, 1 */
	int allow_host_bind_mounts;
	/* The template in hand: its object (with d) or its revision (with msg). */
	enum spec_kind kind;
	const struct spec_meta *meta;
	const char *revision;
	char *msg;
	size_t msg_n;
	size_t refused;
	const char *tmpl_path;		/* where the template sits when not at spec.template (a BackupPolicy's spec.job) */
	char origin[300];	/* "in FILE" or "by default (no policy file)" */
};

#define PERR(pc, k, meta, path, ...) spec_obj_err((pc)->d, (k), (meta), (path), __VA_ARGS__)

/* A template's refusal: a diag at the field, or (no positions) the first one, naming the revision. */
static void tref(struct pcheck *pc, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tref(struct pcheck *pc, const char *path, const char *fmt, ...)
{
	char text[700], moved[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (pc->tmpl_path && str_has_prefix(path, "spec.template")) {
		snprintf(moved, sizeof(moved), "%s%s", pc->tmpl_path, path + strlen("spec.template"));
		path = moved;
	}
	pc->refused++;
	if (pc->d)
		spec_obj_err(pc->d, pc->kind, pc->meta, path, "%s", text);
	else if (pc->refused == 1 && pc->msg && pc->msg_n)
		snprintf(pc->msg, pc->msg_n, "revision %.12s: %s: %s", pc->revision ? pc->revision : "?", path, text);
}

/* path is prefix or lies below it, by whole components. */
static int path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int exposes_socket(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(docker_sockets); i++)
		if (path_under(docker_sockets[i], path))
			return 1;
	return 0;
}

static int listed(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* 0 allowed; 1 not under any prefix; 2 reaches the Docker socket and is not named exactly. */
static int host_path_verdict(const struct spec_policy *p, const char *path)
{
	size_t i;

	if (exposes_socket(path))
		return listed(p->host_paths, p->n_host_paths, path) ? 0 : 2;
	for (i = 0; i < p->n_host_paths; i++)
		if (path_under(path, p->host_paths[i]))
			return 0;
	return 1;
}

static int has_digest(const char *image)
{
	const char *at = strstr(image, "@sha256:");
	size_t i;

	if (at == NULL || strlen(at + 8) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", at[8 + i]))
			return 0;
	return 1;
}

static int cap_allowed(const struct spec_policy *p, const char *cap)
{
	size_t i;

	if (strncasecmp(cap, "CAP_", 4) == 0)
		cap += 4;
	for (i = 0; i < p->n_capabilities; i++)
		if (strcasecmp(p->capabilities[i], cap) == 0 || strcmp(p->capabilities[i], "ALL") == 0)
			return 1;
	return 0;
}

int spec_policy_network_allowed(const struct spec_policy *p, const char *name)
{
	if (p == NULL)
		p = spec_policy_default();
	return listed(p->networks, p->n_networks, name);
}

/* ---- templates ---- */

/* One host path a template mounts, at the field path names. */
static void check_host_path(struct pcheck *pc, const char *path, const char *hp)
{
	int v;

	if (!spec_policy_canonical_path(hp)) {
		tref(pc, path, "host path \"%s\" is not canonical (empty, '.' or '..' components, "
		     "or a trailing '/')", hp);
		return;
	}
	if (pc->allow_host_bind_mounts == 0) {
		tref(pc, path, "host path \"%s\" refused by the Cluster's policy "
		     "(spec.policy.allowHostBindMounts: false)", hp);
		return;
	}
	v = host_path_verdict(pc->p, hp);
	if (v == 2)
		tref(pc, path, "host path \"%s\" refused by the operator's policy (it holds the "
		     "Docker socket, and hostPaths %s does not name it exactly)", hp, pc->origin);
	else if (v == 1)
		tref(pc, path, "host path \"%s\" refused by the operator's policy (not under "
		     "hostPaths %s)", hp, pc->origin);
}

static void check_volumes(struct pcheck *pc, const struct spec_policy_tmpl *t)
{
	char path[96];
	size_t i;

	for (i = 0; i < t->n_volumes; i++) {
		if (t->host_paths[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "spec.template.volumes[%zu].hostPath", i);
		check_host_path(pc, path, t->host_paths[i]);
	}
}

static void check_network(struct pcheck *pc, const char *net)
{
	if (net == NULL)
		return;
	if (strcmp(net, "host") == 0 && !pc->p->host_network)
		tref(pc, "spec.template.network",
		     "\"host\" refused by the operator's policy (hostNetwork: false %s)", pc->origin);
	else if (strncmp(net, "container:", 10) == 0 && !pc->p->container_network)
		tref(pc, "spec.template.network",
		     "\"%s\" refused by the operator's policy (containerNetwork: false %s)", net, pc->origin);
}

static void check_image(struct pcheck *pc, const char *image)
{
	if (image == NULL)
		return;
	if (pc->p->images_set) {
		size_t i;

		for (i = 0; i < pc->p->n_images; i++)
			if (str_has_prefix(image, pc->p->images[i]))
				break;
		if (i == pc->p->n_images) {
			tref(pc, "spec.template.image",
			     "\"%s\" refused by the operator's policy (no prefix in images %s matches it)", image,
			     pc->origin);
			return;
		}
	}
	if (pc->p->require_digest && !has_digest(image))
		tref(pc, "spec.template.image",
		     "\"%s\" refused by the operator's policy (images.requireDigest: true %s: name the image "
		     "by @sha256:<digest>)", image, pc->origin);
}

static void check_resources(struct pcheck *pc, const struct spec_policy_tmpl *t)
{
	const struct spec_policy *p = pc->p;

	if (p->max_memory > 0 && t->memory_limit <= 0)
		tref(pc, "spec.template", "no memory limit refused by the operator's policy (maxMemory: "
		     "%lld bytes %s): set resources.limits.memory", (long long)p->max_memory, pc->origin);
	else if (p->max_memory > 0 && t->memory_limit > p->max_memory)
		tref(pc, "spec.template.resources.limits.memory", "%lld bytes refused by the operator's "
		     "policy (maxMemory: %lld bytes %s)", (long long)t->memory_limit, (long long)p->max_memory,
		     pc->origin);
	if (p->max_cpu_millis > 0 && t->cpu_millis <= 0)
		tref(pc, "spec.template", "no CPU limit refused by the operator's policy (maxCpus: %lldm %s): "
		     "set resources.limits.cpu", (long long)p->max_cpu_millis, pc->origin);
	else if (p->max_cpu_millis > 0 && t->cpu_millis > p->max_cpu_millis)
		tref(pc, "spec.template.resources.limits.cpu", "%lldm refused by the operator's policy "
		     "(maxCpus: %lldm %s)", (long long)t->cpu_millis, (long long)p->max_cpu_millis, pc->origin);
}

static void check_tmpl(struct pcheck *pc, const struct spec_policy_tmpl *t)
{
	char path[96];
	size_t i;

	if (t->privileged && pc->allow_privileged == 0)
		tref(pc, "spec.template.privileged",
		     "refused by the Cluster's policy (spec.policy.allowPrivileged: false)");
	else if (t->privileged && !pc->p->privileged)
		tref(pc, "spec.template.privileged",
		     "refused by the operator's policy (privileged: false %s)", pc->origin);
	check_volumes(pc, t);
	check_network(pc, t->network);
	for (i = 0; i < t->n_cap_add; i++) {
		if (cap_allowed(pc->p, t->cap_add[i]))
			continue;
		snprintf(path, sizeof(path), "spec.template.capabilities.add[%zu]", i);
		tref(pc, path, "\"%s\" refused by the operator's policy (not in capabilities %s)",
		     t->cap_add[i], pc->origin);
	}
	check_image(pc, t->image);
	check_resources(pc, t);
}

/* A positioned template: its fields seen as the policy sees them. */
static void check_template(struct pcheck *pc, enum spec_kind k, const struct spec_meta *m,
			   const struct spec_container *c)
{
	struct spec_policy_tmpl t;
	char **hp = xcalloc(c->n_volumes + 1, sizeof(*hp));
	size_t i;

	/* A Job's host path is refused whatever it names (spec_check.c), as its network is. */
	for (i = 0; i < c->n_volumes; i++)
		hp[i] = k == SPEC_JOB ? NULL : c->volumes[i].host_path;
	memset(&t, 0, sizeof(t));
	t.privileged = c->privileged;
	/* A Job's network is refused whatever it names (spec_check.c): one diag at the field is enough. */
	t.network = k == SPEC_JOB ? NULL : c->network;
	t.image = c->image;
	t.cap_add = c->cap_add;
	t.n_cap_add = c->n_cap_add;
	t.host_paths = hp;
	t.n_volumes = c->n_volumes;
	t.memory_limit = c->memory_limit;
	t.cpu_millis = c->cpu_millis;
	pc->kind = k;
	pc->meta = m;
	check_tmpl(pc, &t);
	free(hp);
}

size_t spec_policy_check_template(const struct spec_policy *p, int allow_privileged, int allow_host_bind_mounts,
				  const struct spec_policy_tmpl *t, const char *revision, char *msg, size_t n)
{
	struct pcheck pc;

	memset(&pc, 0, sizeof(pc));
	pc.p = p ? p : spec_policy_default();
	pc.allow_privileged = allow_privileged;
	pc.allow_host_bind_mounts = allow_host_bind_mounts;
	pc.revision = revision;
	pc.msg = msg;
	pc.msg_n = n;
	if (msg && n)
		msg[0] = '\0';
	spec_policy_origin(pc.p, pc.origin, sizeof(pc.origin));
	check_tmpl(&pc, t);
	return pc.refused;
}

/*
 * The set in hand holds what is in force (the Cluster's allow* resolved against
 * the operator's policy by spec_policy_check): where a setting is off only
 * because the operator forbids it, the operator's setting is the one named.
 */
static int in_force(int resolved, int operator_allows)
{
	if (resolved)
		return 1;
	return operator_allows ? 0 : -1;
}

size_t spec_policy_check_set_template(const struct spec_set *set, const struct spec_policy_tmpl *t,
				      const char *revision, char *msg, size_t n)
{
	const struct spec_policy *p = set && set->policy ? set->policy : spec_policy_default();
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;
	int priv = in_force(c ? c->allow_privileged > 0 : p->privileged, p->privileged);
	int hbm = in_force(c ? c->allow_host_bind_mounts > 0 : p->n_host_paths > 0, p->n_host_paths > 0);

	return spec_policy_check_template(p, priv, hbm, t, revision, msg, n);
}

/* ---- the Cluster ---- */

static const struct ynode *router_node(const struct spec_cluster *c, const char *key)
{
	return ynode_get(ynode_get(ynode_get(c->meta.node, "spec"), "router"), key);
}

static int strv_eq(char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int reload_listed(const struct spec_policy_router *r, char *const *cmd, size_t n)
{
	size_t i;

	if (r->reload_commands == NULL)
		return strv_eq(cmd, n, builtin_reload, ARRAY_SIZE(builtin_reload));
	for (i = 0; i < r->n_reload_commands; i++)
		if (strv_eq(cmd, n, (const char *const *)r->reload_commands[i], r->n_reload_command[i]))
			return 1;
	return 0;
}

static int one_listed(char *const *v, size_t n, const char *builtin, const char *s)
{
	if (v == NULL)
		return builtin != NULL && strcmp(builtin, s) == 0;
	return listed(v, n, s);
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

/* The router settings the Cluster left out come from the policy's first listed value. */
static void router_defaults(const struct spec_policy_router *r, struct spec_cluster *c)
{
	size_t i;

	if (router_node(c, "configPath") == NULL && r->n_config_paths)
		set_str(&c->router.config_path, r->config_paths[0]);
	if (router_node(c, "listenAddress") == NULL && r->n_listen_addresses)
		set_str(&c->router.listen_address, r->listen_addresses[0]);
	if (router_node(c, "reloadCommand") != NULL || router_node(c, "container") != NULL)
		return;
	if (r->n_reload_commands) {
		for (i = 0; i < c->router.n_reload_command; i++)
			free(c->router.reload_command[i]);
		free(c->router.reload_command);
		c->router.n_reload_command = r->n_reload_command[0];
		c->router.reload_command = xcalloc(r->n_reload_command[0] + 1, sizeof(char *));
		for (i = 0; i < r->n_reload_command[0]; i++)
			c->router.reload_command[i] = xstrdup(r->reload_commands[0][i]);
	} else if (r->n_containers) {
		for (i = 0; i < c->router.n_reload_command; i++)
			free(c->router.reload_command[i]);
		free(c->router.reload_command);
		c->router.reload_command = NULL;
		c->router.n_reload_command = 0;
		set_str(&c->router.container, r->containers[0]);
	}
}

static void check_router(struct pcheck *pc, struct spec_cluster *c)
{
	const struct spec_policy_router *r = &pc->p->router;
	const struct spec_meta *m = &c->meta;

	if (router_node(c, "configPath") && !one_listed(r->config_paths, r->n_config_paths,
							builtin_config_path, c->router.config_path))
		PERR(pc, SPEC_CLUSTER, m, "spec.router.configPath",
		     "\"%s\" refused by the operator's policy (not listed in router.configPath %s)",
		     c->router.config_path, pc->origin);
	if (router_node(c, "reloadCommand") &&
	    !reload_listed(r, c->router.reload_command, c->router.n_reload_command))
		PERR(pc, SPEC_CLUSTER, m, "spec.router.reloadCommand",
		     "refused by the operator's policy (not listed in router.reloadCommand %s)",
		     pc->origin);
	if (router_node(c, "container") && !listed(r->containers, r->n_containers, c->router.container))
		PERR(pc, SPEC_CLUSTER, m, "spec.router.container",
		     "\"%s\" refused by the operator's policy (not listed in router.container %s)",
		     c->router.container, pc->origin);
	if (router_node(c, "listenAddress") && !one_listed(r->listen_addresses, r->n_listen_addresses,
							   builtin_listen, c->router.listen_address))
		PERR(pc, SPEC_CLUSTER, m, "spec.router.listenAddress",
		     "\"%s\" refused by the operator's policy (not listed in router.listenAddress %s)",
		     c->router.listen_address, pc->origin);
	router_defaults(r, c);
}

/* The Cluster's policy may say false (narrowing) or true where the operator allows it. */
static void check_cluster_policy(struct pcheck *pc, struct spec_cluster *c)
{
	const struct spec_policy *p = pc->p;

	if (c->allow_privileged > 0 && !p->privileged)
		PERR(pc, SPEC_CLUSTER, &c->meta, "spec.policy.allowPrivileged",
		     "true refused by the operator's policy (privileged: false %s): the Cluster may narrow "
		     "the policy, never widen it", pc->origin);
	if (c->allow_host_bind_mounts > 0 && p->n_host_paths == 0)
		PERR(pc, SPEC_CLUSTER, &c->meta, "spec.policy.allowHostBindMounts",
		     "true refused by the operator's policy (hostPaths %s lists none): the Cluster may "
		     "narrow the policy, never widen it", pc->origin);
}

/*
 * Which endpoints exist is the operator's word: "local" (the docker-host
 * setting) and those the policy lists. A Cluster names one of them by name;
 * a url it gives must be that endpoint's, and TLS material comes from the
 * policy alone. Every endpoint gets its own Docker client (the engine's hosts).
 */
/* An address the Cluster gives must be the endpoint's own: probes and NGINX go there. */
static void check_endpoint_address(struct pcheck *pc, const struct spec_cluster *c, size_t i,
				   const struct spec_policy_endpoint *pe)
{
	const struct spec_endpoint *e = &c->endpoints[i];
	char *addr;
	char path[96];

	if (e->address == NULL)
		return;
	addr = spec_policy_endpoint_address(pc->p, e->name);
	snprintf(path, sizeof(path), "spec.endpoints[%zu].address", i);
	if (addr && strcmp(addr, e->address) != 0)
		PERR(pc, SPEC_CLUSTER, &c->meta, path, "\"%s\" is not endpoint \"%s\"'s address (%s, %s %s): the "
		     "operator decides where an endpoint's ports are reached", e->address, e->name, addr,
		     pe && pe->address ? "its address" : "from its url", pc->origin);
	free(addr);
}

static void check_endpoints(struct pcheck *pc, const struct spec_cluster *c)
{
	const struct spec_meta *m = &c->meta;
	char path[96];
	size_t i;

	for (i = 0; i < c->n_endpoints; i++) {
		const struct spec_endpoint *e = &c->endpoints[i];
		const struct spec_policy_endpoint *pe = spec_policy_endpoint_find(pc->p, e->name);
		int local = e->name && strcmp(e->name, SPEC_ENDPOINT_LOCAL) == 0;
		const char *url = local ? spec_policy_local_url(pc->p) : pe ? pe->url : NULL;

		if (e->tls.ca_file || e->tls.cert_file || e->tls.key_file) {
			snprintf(path, sizeof(path), "spec.endpoints[%zu].tls", i);
			PERR(pc, SPEC_CLUSTER, m, path, "refused: an endpoint's TLS material is the operator's "
			     "(certPath of the endpoint under endpoints in the policy file)");
		}
		if (e->name == NULL)
			continue;
		snprintf(path, sizeof(path), "spec.endpoints[%zu].name", i);
		if (url == NULL) {
			PERR(pc, SPEC_CLUSTER, m, path, "endpoint \"%s\" refused by the operator's policy (not "
			     "listed in endpoints %s; \"local\" is the docker-host setting)", e->name, pc->origin);
			continue;
		}
		snprintf(path, sizeof(path), "spec.endpoints[%zu].url", i);
		if (e->url && strcmp(e->url, url) != 0)
			PERR(pc, SPEC_CLUSTER, m, path, "\"%s\" is not endpoint \"%s\"'s url (%s%s%s): the operator "
			     "decides where an endpoint is", e->url, e->name, url, local ? ", the docker-host setting" :
			     " ", local ? "" : pc->origin);
		check_endpoint_address(pc, c, i, pe);
	}
}

/*
 * A replica on an endpoint reached at another address than this machine's
 * loopback is probed and routed to at that address and its hostPort: a port
 * published there on another address (127.0.0.1 by default) is never reached.
 */
static void check_ports_reached(struct pcheck *pc, const struct spec_cluster *c, const struct spec_deployment *d)
{
	size_t i, j;
	char path[64];

	for (j = 0; j < d->tmpl.n_ports; j++) {
		const struct spec_port *port = &d->tmpl.ports[j];
		const char *ip = port->host_ip ? port->host_ip : "127.0.0.1";

		if (port->host_port <= 0 || strcmp(ip, "0.0.0.0") == 0)
			continue;
		for (i = 0; i < c->n_endpoints; i++) {
			const struct spec_endpoint *e = &c->endpoints[i];
			struct placement_endpoint v = { e->name, e->labels, e->n_labels, 0, 0 };
			char *addr;
			int unreached;

			if (d->placement.set && !placement_eligible(&d->placement, &v))
				continue;
			addr = spec_policy_endpoint_address(pc->p, e->name);
			unreached = addr && !spec_address_loopback(addr) && strcmp(addr, ip) != 0;
			snprintf(path, sizeof(path), "spec.template.ports[%zu].hostIP", j);
			if (unreached)
				PERR(pc, SPEC_DEPLOYMENT, &d->meta, path, "port %d is published on %s, but endpoint \"%s\", "
				     "which the placement may use, is reached at %s: probes and the router would never "
				     "reach it there (publish it on 0.0.0.0 or %s)", port->host_port, ip, e->name, addr, addr);
			free(addr);
			if (unreached)
				break;
		}
	}
}

size_t spec_policy_check(const struct spec_policy *p, struct spec_set *set, struct spec_diags *diags)
{
	struct spec_cluster *c = spec_set_cluster(set);
	struct pcheck pc;
	size_t before = diags->n, i;

	if (c == NULL)
		return 0;
	memset(&pc, 0, sizeof(pc));
	pc.p = p ? p : spec_policy_default();
	pc.d = diags;
	pc.allow_privileged = c->allow_privileged;
	pc.allow_host_bind_mounts = c->allow_host_bind_mounts;
	spec_policy_origin(pc.p, pc.origin, sizeof(pc.origin));
	if (!c->meta.invalid) {
		check_cluster_policy(&pc, c);
		check_router(&pc, c);
		check_endpoints(&pc, c);
	}
	for (i = 0; i < set->n_deployments; i++) {
		const struct spec_deployment *d = set->deployments[i];

		if (d->meta.invalid)
			continue;
		if (pc.p->max_replicas >= 0 && d->replicas > pc.p->max_replicas)
			PERR(&pc, SPEC_DEPLOYMENT, &d->meta, "spec.replicas",
			     "%d refused by the operator's policy (maxReplicas: %ld %s)", d->replicas,
			     pc.p->max_replicas, pc.origin);
		check_template(&pc, SPEC_DEPLOYMENT, &d->meta, &d->tmpl);
		if (!c->meta.invalid)
			check_ports_reached(&pc, c, d);
	}
	for (i = 0; i < set->n_jobs; i++)
		if (!set->jobs[i]->meta.invalid)
			check_template(&pc, SPEC_JOB, &set->jobs[i]->meta, &set->jobs[i]->tmpl);
	/* What is in force: the operator's allowance, narrowed by the Cluster. */
	c->allow_privileged = pc.p->privileged && c->allow_privileged != 0;
	c->allow_host_bind_mounts = pc.p->n_host_paths > 0 && c->allow_host_bind_mounts != 0;
	return diags->n - before;
}

/* What checking a BackupPolicy's template at path (its fields' paths under it) starts from. */
static void check_backup_template(struct pcheck *pc, const struct spec_policy *p, const struct spec_set *set,
				  const char *path)
{
	const struct spec_cluster *c = spec_set_cluster(set);

	memset(pc, 0, sizeof(*pc));
	pc->p = p ? p : spec_policy_default();
	/* The Cluster's allow* are what is in force by now (spec_policy_check resolved them). */
	pc->allow_privileged = c ? in_force(c->allow_privileged > 0, pc->p->privileged) : -1;
	pc->allow_host_bind_mounts = c ? in_force(c->allow_host_bind_mounts > 0, pc->p->n_host_paths > 0) : -1;
	pc->tmpl_path = path;
	spec_policy_origin(pc->p, pc->origin, sizeof(pc->origin));
}

int spec_set_network_of_deployment(const struct spec_set *set, const char *name)
{
	size_t i;

	for (i = 0; set && i < set->n_deployments; i++)
		if (set->deployments[i]->tmpl.network && strcmp(set->deployments[i]->tmpl.network, name) == 0)
			return 1;
	return 0;
}

size_t spec_policy_check_backup(const struct spec_policy *p, const struct spec_set *set, const struct spec_meta *m,
				const struct spec_container *job, const char *host_path, struct spec_diags *diags)
{
	struct pcheck pc;

	check_backup_template(&pc, p, set, "spec.job");
	pc.d = diags;
	check_template(&pc, SPEC_BACKUP_POLICY, m, job);
	if (job->network && strcmp(job->network, "host") != 0 && strncmp(job->network, "container:", 10) != 0 &&
	    !spec_policy_network_allowed(pc.p, job->network) && !spec_set_network_of_deployment(set, job->network))
		tref(&pc, "spec.job.network", "\"%s\" refused by the operator's policy (not in networks %s)",
		     job->network, pc.origin);
	if (host_path)
		check_host_path(&pc, "spec.target.hostPath", host_path);
	return pc.refused;
}

size_t spec_policy_check_restore_db(const struct spec_policy *p, const struct spec_set *set, const struct spec_meta *m,
				    const struct spec_container *db, struct spec_diags *diags)
{
	struct pcheck pc;

	check_backup_template(&pc, p, set, "spec.restore.database");
	pc.d = diags;
	check_template(&pc, SPEC_BACKUP_POLICY, m, db);
	return pc.refused;
}
