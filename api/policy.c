/* The operator's policy file: its YAML, decoded with positions into struct spec_policy; unknown keys and wrong types are errors. */
#include "policy.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "yaml_tree.h"

/* A policy file is small: tight bounds, whatever the spec loader allows. */
static const struct ytree_limits policy_limits = {
	.max_depth = 16,
	.max_aliases = 0,
	.max_nodes = 10000,
	.max_scalar = 4096,
	.max_document = 256 * 1024,
	.max_file = 256 * 1024,
	.max_documents = 1,
};

struct pparse {
	struct spec_policy *p;
	const char *file;
	struct spec_diags *d;
	size_t before;
};

static void perr(struct pparse *pp, const struct ynode *n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct pparse *pp, const struct ynode *n, const char *key, const char *fmt, ...)
{
	struct spec_pos pos = { pp->file, n ? n->line : 0, n ? n->col : 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spec_diags_add(pp->d, &pos, NULL, NULL, key, "%s", msg);
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void spec_policy_init(struct spec_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_replicas = -1;
}

void spec_policy_release(struct spec_policy *p)
{
	size_t i;

	free(p->file);
	strv_free(p->host_paths, p->n_host_paths);
	strv_free(p->networks, p->n_networks);
	strv_free(p->capabilities, p->n_capabilities);
	strv_free(p->images, p->n_images);
	strv_free(p->router.config_paths, p->router.n_config_paths);
	for (i = 0; i < p->router.n_reload_commands; i++)
		strv_free(p->router.reload_commands[i], p->router.n_reload_command[i]);
	free(p->router.reload_commands);
	free(p->router.n_reload_command);
	strv_free(p->router.containers, p->router.n_containers);
	strv_free(p->router.listen_addresses, p->router.n_listen_addresses);
	for (i = 0; i < p->n_endpoints; i++)
		FREE_ALL(p->endpoints[i].name, p->endpoints[i].url, p->endpoints[i].cert_path, p->endpoints[i].address);
	free(p->endpoints);
	free(p->local_url);
	spec_policy_init(p);
}

const struct spec_policy *spec_policy_default(void)
{
	static const struct spec_policy builtin = { .max_replicas = -1 };

	return &builtin;
}

const char *spec_policy_origin(const struct spec_policy *p, char *buf, size_t n)
{
	if (p == NULL || p->file == NULL)
		snprintf(buf, n, "in the built-in policy");
	else
		snprintf(buf, n, "in %s", p->file);
	return buf;
}

/* ---- decoding ---- */

static int get_bool(struct pparse *pp, const struct ynode *v, const char *key, int *out)
{
	if (ynode_bool(v, out) < 0) {
		perr(pp, v, key, "expected true or false, got %s", ynode_describe(v));
		return -1;
	}
	return 0;
}

/* A non-empty string scalar; NULL (with a diag) otherwise. */
static const char *get_str(struct pparse *pp, const struct ynode *v, const char *key)
{
	const char *s = ynode_str(v);

	if (s == NULL || s[0] == '\0' || strlen(s) != v->len) {
		perr(pp, v, key, "expected a non-empty string, got %s", ynode_describe(v));
		return NULL;
	}
	return s;
}

/* A list of non-empty strings (a single string counts as a list of one when one_ok). */
static char **get_strlist(struct pparse *pp, const struct ynode *v, const char *key, size_t *n, int one_ok)
{
	char **out;
	size_t i;

	*n = 0;
	if (one_ok && v->type == YNODE_SCALAR) {
		const char *s = get_str(pp, v, key);

		if (s == NULL)
			return NULL;
		out = xcalloc(1, sizeof(*out));
		out[(*n)++] = xstrdup(s);
		return out;
	}
	if (v->type != YNODE_SEQ) {
		perr(pp, v, key, "expected a list of strings, got %s", ynode_describe(v));
		return NULL;
	}
	out = xcalloc(v->n + 1, sizeof(*out));
	for (i = 0; i < v->n; i++) {
		char item[96];
		const char *s;

		snprintf(item, sizeof(item), "%s[%zu]", key, i);
		s = get_str(pp, v->kids[i], item);
		if (s != NULL)
			out[(*n)++] = xstrdup(s);
	}
	return out;
}

int spec_policy_canonical_path(const char *s)
{
	const char *c = s;

	if (s[0] != '/')
		return 0;
	if (strcmp(s, "/") == 0)
		return 1;
	while (*c == '/') {
		const char *e = strchr(c + 1, '/');
		size_t len = e ? (size_t)(e - c - 1) : strlen(c + 1);

		if (len == 0 || (len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		c = e;
	}
	return 0;
}

static void host_paths(struct pparse *pp, const struct ynode *v)
{
	size_t i;

	pp->p->host_paths = get_strlist(pp, v, "hostPaths", &pp->p->n_host_paths, 0);
	for (i = 0; i < pp->p->n_host_paths; i++)
		if (!spec_policy_canonical_path(pp->p->host_paths[i]))
			perr(pp, v->kids[i], "hostPaths",
			     "\"%s\": expected an absolute path without empty, '.' or '..' components or a trailing '/'",
			     pp->p->host_paths[i]);
}

static void capabilities(struct pparse *pp, const struct ynode *v)
{
	size_t i;

	pp->p->capabilities = get_strlist(pp, v, "capabilities", &pp->p->n_capabilities, 0);
	for (i = 0; i < pp->p->n_capabilities; i++) {
		char *c = pp->p->capabilities[i], *s;

		for (s = c; *s; s++)
			*s = (char)toupper((unsigned char)*s);
		if (strncmp(c, "CAP_", 4) == 0)
			memmove(c, c + 4, strlen(c + 4) + 1);
		for (s = c; *s; s++)
			if (!isupper((unsigned char)*s) && *s != '_')
				break;
		if (c[0] == '\0' || *s != '\0')
			perr(pp, v->kids[i], "capabilities", "\"%s\": expected a capability name such as NET_ADMIN", c);
	}
}

static void images(struct pparse *pp, const struct ynode *v)
{
	size_t i;

	pp->p->images_set = 1;
	if (v->type == YNODE_SEQ) {
		pp->p->images = get_strlist(pp, v, "images", &pp->p->n_images, 0);
		return;
	}
	if (v->type != YNODE_MAP) {
		perr(pp, v, "images", "expected a list of prefixes or a mapping, got %s", ynode_describe(v));
		return;
	}
	for (i = 0; i + 1 < v->n; i += 2) {
		const char *k = v->kids[i]->str;
		const struct ynode *x = v->kids[i + 1];

		if (strcmp(k, "prefixes") == 0)
			pp->p->images = get_strlist(pp, x, "images.prefixes", &pp->p->n_images, 0);
		else if (strcmp(k, "requireDigest") == 0)
			get_bool(pp, x, "images.requireDigest", &pp->p->require_digest);
		else
			perr(pp, v->kids[i], "images", "unknown key \"%s\" (known: prefixes, requireDigest)", k);
	}
	if (ynode_get(v, "prefixes") == NULL)
		pp->p->images_set = 0;
}

static void reload_commands(struct pparse *pp, const struct ynode *v)
{
	struct spec_policy_router *r = &pp->p->router;
	int nested = v->type == YNODE_SEQ && v->n > 0 && v->kids[0]->type == YNODE_SEQ;
	size_t i;

	if (v->type != YNODE_SEQ || v->n == 0) {
		perr(pp, v, "router.reloadCommand",
		     "expected a command (a list of words) or a list of commands, got %s", ynode_describe(v));
		return;
	}
	if (!nested) {
		r->reload_commands = xcalloc(1, sizeof(*r->reload_commands));
		r->n_reload_command = xcalloc(1, sizeof(*r->n_reload_command));
		r->reload_commands[0] = get_strlist(pp, v, "router.reloadCommand", &r->n_reload_command[0], 0);
		r->n_reload_commands = 1;
		return;
	}
	r->reload_commands = xcalloc(v->n, sizeof(*r->reload_commands));
	r->n_reload_command = xcalloc(v->n, sizeof(*r->n_reload_command));
	for (i = 0; i < v->n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "router.reloadCommand[%zu]", i);
		if (v->kids[i]->type != YNODE_SEQ || v->kids[i]->n == 0) {
			perr(pp, v->kids[i], key, "expected a command (a list of words), got %s",
			     ynode_describe(v->kids[i]));
			continue;
		}
		r->reload_commands[r->n_reload_commands] =
			get_strlist(pp, v->kids[i], key, &r->n_reload_command[r->n_reload_commands], 0);
		r->n_reload_commands++;
	}
}

static void router(struct pparse *pp, const struct ynode *v)
{
	struct spec_policy_router *r = &pp->p->router;
	size_t i;

	if (v->type != YNODE_MAP) {
		perr(pp, v, "router", "expected a mapping, got %s", ynode_describe(v));
		return;
	}
	r->set = 1;
	for (i = 0; i + 1 < v->n; i += 2) {
		const char *k = v->kids[i]->str;
		const struct ynode *x = v->kids[i + 1];

		if (strcmp(k, "configPath") == 0) {
			size_t j;

			r->config_paths = get_strlist(pp, x, "router.configPath", &r->n_config_paths, 1);
			for (j = 0; j < r->n_config_paths; j++)
				if (!spec_policy_canonical_path(r->config_paths[j]))
					perr(pp, x, "router.configPath", "\"%s\": expected an absolute path",
					     r->config_paths[j]);
		} else if (strcmp(k, "reloadCommand") == 0) {
			reload_commands(pp, x);
		} else if (strcmp(k, "container") == 0) {
			r->containers = get_strlist(pp, x, "router.container", &r->n_containers, 1);
		} else if (strcmp(k, "listenAddress") == 0) {
			r->listen_addresses = get_strlist(pp, x, "router.listenAddress", &r->n_listen_addresses, 1);
		} else {
			perr(pp, v->kids[i], "router",
			     "unknown key \"%s\" (known: configPath, reloadCommand, container, listenAddress)", k);
		}
	}
}

/* ---- endpoints ---- */

const struct spec_policy_endpoint *spec_policy_endpoint_find(const struct spec_policy *p, const char *name)
{
	size_t i;

	for (i = 0; p && name && i < p->n_endpoints; i++)
		if (strcmp(p->endpoints[i].name, name) == 0)
			return &p->endpoints[i];
	return NULL;
}

const char *spec_policy_local_url(const struct spec_policy *p)
{
	return p && p->local_url ? p->local_url : SPEC_ENDPOINT_LOCAL_URL;
}

int spec_address_loopback(const char *a)
{
	return a == NULL || strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0 || strcmp(a, "localhost") == 0;
}

char *spec_policy_endpoint_address(const struct spec_policy *p, const char *name)
{
	const struct spec_policy_endpoint *e = spec_policy_endpoint_find(p, name);
	const char *url, *host, *end;

	if (e && e->address)
		return xstrdup(e->address);
	if (e == NULL && (name == NULL || strcmp(name, SPEC_ENDPOINT_LOCAL) != 0))
		return NULL;
	url = e ? e->url : spec_policy_local_url(p);
	if (!str_has_prefix(url, "tcp://"))
		return xstrdup("127.0.0.1");
	host = url + 6;
	if (*host == '[' && (end = strchr(host, ']')) != NULL)
		return xstrndup(host + 1, (size_t)(end - host - 1));
	end = strrchr(host, ':');
	return end ? xstrndup(host, (size_t)(end - host)) : xstrdup(host);
}

int spec_policy_address_ok(const char *s)
{
	size_t i, n = strlen(s), colons = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++)
		colons += s[i] == ':';
	if (colons > 0) {	/* an IPv6 address: hex digits, colons and an IPv4 tail */
		for (i = 0; i < n; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return 0;
		return colons >= 2;
	}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

static int endpoint_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* unix:///path, or tcp://host:port with a numeric port. */
static int endpoint_url_ok(const char *u)
{
	const char *colon;
	size_t i;

	if (strncmp(u, "unix:///", 8) == 0)
		return u[8] != '\0' && strchr(u, ' ') == NULL;
	if (strncmp(u, "tcp://", 6) != 0 || u[6] == '\0' || strpbrk(u + 6, "/ ") != NULL)
		return 0;
	colon = strrchr(u + 6, ':');
	if (colon == NULL || colon == u + 6 || colon[1] == '\0')
		return 0;
	for (i = 1; colon[i]; i++)
		if (!isdigit((unsigned char)colon[i]))
			return 0;
	return 1;
}

/* One entry's keys; the entry is kept only when it holds together. */
static void endpoint(struct pparse *pp, const struct ynode *v, size_t idx)
{
	struct spec_policy_endpoint e = { NULL, NULL, NULL, NULL, v->line, v->col };
	const struct ynode *cp = NULL;
	char key[64];
	size_t i, errs = pp->d->n;

	snprintf(key, sizeof(key), "endpoints[%zu]", idx);
	if (v->type != YNODE_MAP) {
		perr(pp, v, key, "expected a mapping (name, url, certPath, address), got %s", ynode_describe(v));
		return;
	}
	for (i = 0; i + 1 < v->n; i += 2) {
		const char *k = v->kids[i]->str, *s = NULL;
		char sub[96];

		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "name") != 0 && strcmp(k, "url") != 0 && strcmp(k, "certPath") != 0 &&
		    strcmp(k, "address") != 0) {
			perr(pp, v->kids[i], key, "unknown key \"%s\" (known: name, url, certPath, address)", k);
			continue;
		}
		if ((s = get_str(pp, v->kids[i + 1], sub)) == NULL)
			continue;
		if (strcmp(k, "name") == 0 && !endpoint_name_ok(s))
			perr(pp, v->kids[i + 1], sub, "\"%s\": expected lower case letters, digits and '-'", s);
		else if (strcmp(k, "name") == 0 && strcmp(s, SPEC_ENDPOINT_LOCAL) == 0)
			perr(pp, v->kids[i + 1], sub, "\"local\" is the docker-host setting's endpoint: "
			     "give this one another name");
		else if (strcmp(k, "name") == 0 && spec_policy_endpoint_find(pp->p, s))
			perr(pp, v->kids[i + 1], sub, "\"%s\" listed twice", s);
		else if (strcmp(k, "url") == 0 && !endpoint_url_ok(s))
			perr(pp, v->kids[i + 1], sub, "\"%s\": expected unix:///path or tcp://host:port", s);
		else if (strcmp(k, "certPath") == 0 && !spec_policy_canonical_path(s))
			perr(pp, v->kids[i + 1], sub, "\"%s\": expected an absolute path", s);
		else if (strcmp(k, "address") == 0 && !spec_policy_address_ok(s))
			perr(pp, v->kids[i + 1], sub, "\"%s\": expected an IP address or a host name, no port", s);
		str_set(strcmp(k, "name") == 0 ? &e.name : strcmp(k, "url") == 0 ? &e.url :
			strcmp(k, "address") == 0 ? &e.address : &e.cert_path, s);
		if (strcmp(k, "certPath") == 0)
			cp = v->kids[i + 1];
	}
	if (e.name == NULL || e.url == NULL)
		perr(pp, v, key, "an endpoint needs a name and a url");
	else if (str_has_prefix(e.url, "tcp://") && e.cert_path == NULL)
		perr(pp, v, key, "endpoint \"%s\": a tcp:// endpoint needs certPath, the folder of its ca.pem, "
		     "cert.pem and key.pem (mutual TLS)", e.name);
	else if (str_has_prefix(e.url, "unix://") && cp != NULL)
		perr(pp, cp, key, "endpoint \"%s\": certPath applies to tcp:// endpoints only", e.name);
	if (pp->d->n > errs) {
		FREE_ALL(e.name, e.url, e.cert_path, e.address);
		return;
	}
	if (cp) {
		e.line = cp->line;
		e.col = cp->col;
	}
	pp->p->endpoints = xrealloc(pp->p->endpoints, (pp->p->n_endpoints + 1) * sizeof(e));
	pp->p->endpoints[pp->p->n_endpoints++] = e;
}

static void endpoints(struct pparse *pp, const struct ynode *v)
{
	size_t i;

	if (v->type != YNODE_SEQ) {
		perr(pp, v, "endpoints", "expected a list of endpoints, got %s", ynode_describe(v));
		return;
	}
	for (i = 0; i < v->n; i++)
		endpoint(pp, v->kids[i], i);
}

static void bound(struct pparse *pp, const struct ynode *v, const char *key)
{
	struct spec_policy *p = pp->p;
	const char *s = v->type == YNODE_SCALAR && v->stype != YS_NULL ? v->str : NULL;
	long long n;
	int64_t x = -1;

	if (strcmp(key, "maxReplicas") == 0) {
		if (ynode_int(v, &n) < 0 || n < 0 || n > 1000000) {
			perr(pp, v, key, "expected an integer from 0 to 1000000, got %s", ynode_describe(v));
			return;
		}
		p->max_replicas = (long)n;
		return;
	}
	if (s != NULL)
		x = strcmp(key, "maxMemory") == 0 ? spec_parse_memory(s) : spec_parse_cpu_millis(s);
	if (x <= 0) {
		perr(pp, v, key, "expected a positive %s, got %s%s%s%s", strcmp(key, "maxMemory") == 0 ?
		     "memory quantity (\"512Mi\", \"4Gi\")" : "CPU quantity (\"500m\", \"2\")",
		     s ? "\"" : "", s ? "" : ynode_describe(v), s ? s : "", s ? "\"" : "");
		return;
	}
	if (strcmp(key, "maxMemory") == 0)
		p->max_memory = x;
	else
		p->max_cpu_millis = x;
}

static void top_key(struct pparse *pp, const struct ynode *kn, const struct ynode *v)
{
	struct spec_policy *p = pp->p;
	const char *k = kn->str;

	if (strcmp(k, "privileged") == 0)
		get_bool(pp, v, k, &p->privileged);
	else if (strcmp(k, "hostPaths") == 0)
		host_paths(pp, v);
	else if (strcmp(k, "hostNetwork") == 0)
		get_bool(pp, v, k, &p->host_network);
	else if (strcmp(k, "containerNetwork") == 0)
		get_bool(pp, v, k, &p->container_network);
	else if (strcmp(k, "networks") == 0)
		p->networks = get_strlist(pp, v, k, &p->n_networks, 0);
	else if (strcmp(k, "capabilities") == 0)
		capabilities(pp, v);
	else if (strcmp(k, "images") == 0)
		images(pp, v);
	else if (strcmp(k, "maxReplicas") == 0 || strcmp(k, "maxMemory") == 0 || strcmp(k, "maxCpus") == 0)
		bound(pp, v, k);
	else if (strcmp(k, "router") == 0)
		router(pp, v);
	else if (strcmp(k, "endpoints") == 0)
		endpoints(pp, v);
	else
		perr(pp, kn, k, "unknown key (known: privileged, hostPaths, hostNetwork, containerNetwork, "
		     "networks, capabilities, images, maxReplicas, maxMemory, maxCpus, router, endpoints)");
}

size_t spec_policy_parse(struct spec_policy *p, const char *file, const char *data, size_t len,
			 struct spec_diags *diags)
{
	struct pparse pp = { p, file, diags, diags->n };
	struct ytree_error ye;
	struct ytree t;
	const struct ynode *root;
	size_t i;

	spec_policy_release(p);
	memset(&t, 0, sizeof(t));
	if (ytree_parse(&t, file, data, len, &policy_limits, &ye) < 0) {
		struct spec_pos pos = { file, ye.line, ye.col };

		spec_diags_add(diags, &pos, NULL, NULL, NULL, "%s", ye.msg);
		goto out;
	}
	root = t.n_docs ? t.docs[0].root : NULL;
	if (root == NULL || (root->type == YNODE_SCALAR && root->stype == YS_NULL)) {
		/* An empty file is the built-in policy, said explicitly. */
		goto out;
	}
	if (root->type != YNODE_MAP) {
		perr(&pp, root, NULL, "expected a mapping of policy settings, got %s", ynode_describe(root));
		goto out;
	}
	for (i = 0; i + 1 < root->n; i += 2)
		top_key(&pp, root->kids[i], root->kids[i + 1]);
out:
	ytree_release(&t);
	if (diags->n > pp.before)
		spec_policy_release(p);
	p->file = xstrdup(file);
	return diags->n - pp.before;
}
