/* Rendering of the NGINX router configuration and the router's table of services and weights. */
#include "traffic/router.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "model/desired.h"
#include "runtime/file.h"
#include "runtime/log.h"
#include "spec.h"
#include "traffic/router_internal.h"
#include "strv.h"
#include "util.h"

#define ROUTER_MAX_CONF (4u << 20)
#define ROUTER_MAX_WEIGHT 1000

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* 1 when s has 1 to max characters, all of them from allowed. */
static int chars_ok(const char *s, size_t max, const char *allowed)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max && strspn(s, allowed) == n;
}

static int name_ok(const char *s)
{
	return chars_ok(s, 128, ALNUM "_-.");
}

/* An IPv4 literal, a hostname or a bracketed IPv6 literal: nothing NGINX would read as syntax. */
static int addr_ok(const char *s)
{
	return chars_ok(s, 255, ALNUM "-.:[]");
}

static int check_service(const struct router_service *s, size_t idx, struct error **err)
{
	size_t i;

	if (!name_ok(s->upstream))
		return error_set(err, ERR_INVALID, "router: service %zu: upstream name '%s' is not [A-Za-z0-9_.-]+",
				 idx, s->upstream != NULL ? s->upstream : "");
	if (s->port < 1 || s->port > 65535)
		return error_set(err, ERR_INVALID, "router: upstream '%s': port %d out of 1..65535", s->upstream,
				 s->port);
	if (s->max_fails < 0 || s->fail_timeout_seconds < 0)
		return error_set(err, ERR_INVALID, "router: upstream '%s': negative maxFails or failTimeout",
				 s->upstream);
	for (i = 0; i < s->n_endpoints; i++) {
		const struct router_endpoint *e = &s->endpoints[i];

		if (!addr_ok(e->addr))
			return error_set(err, ERR_INVALID, "router: upstream '%s': endpoint %zu: bad address '%s'",
					 s->upstream, i, e->addr != NULL ? e->addr : "");
		if (e->port < 1 || e->port > 65535)
			return error_set(err, ERR_INVALID, "router: upstream '%s': endpoint %zu: port %d out of 1..65535",
					 s->upstream, i, e->port);
		if (e->weight < 0 || e->weight > ROUTER_MAX_WEIGHT)
			return error_set(err, ERR_INVALID, "router: upstream '%s': endpoint %zu: weight %d out of 0..%d",
					 s->upstream, i, e->weight, ROUTER_MAX_WEIGHT);
	}
	return 0;
}

static void render_one(struct buf *out, const char *listen, const char *gen, const char *prefix,
		       const struct router_service *s)
{
	char *name = desired_prefixed(prefix, s->upstream);
	size_t i, live = 0;

	buf_printf(out, "upstream %s {\n", name);
	for (i = 0; i < s->n_endpoints; i++) {
		const struct router_endpoint *e = &s->endpoints[i];

		/* NGINX refuses weight=0: a server without traffic is simply not listed. */
		if (e->weight == 0 || e->backup)
			continue;
		buf_printf(out, "\tserver %s:%d weight=%d max_fails=%d fail_timeout=%ds;\n", e->addr, e->port,
			   e->weight, s->max_fails, s->fail_timeout_seconds);
		live++;
	}
	if (live == 0)
		buf_puts(out, "\tserver 127.0.0.1:1 down;\n");
	for (i = 0; i < s->n_endpoints; i++) {
		const struct router_endpoint *e = &s->endpoints[i];

		if (e->backup)
			buf_printf(out, "\tserver %s:%d backup max_fails=%d fail_timeout=%ds;\n", e->addr, e->port,
				   s->max_fails, s->fail_timeout_seconds);
	}
	buf_puts(out, "\tkeepalive 16;\n}\n\n");
	buf_printf(out, "server {\n\tlisten %s:%d;\n", listen, s->port);
	/*
	 * The generation of this configuration, served by the listener itself:
	 * the router reads it back after a reload, so a change counts as made
	 * only once NGINX's new workers answer on every listener.
	 */
	buf_printf(out,
		   "\tlocation = " ROUTER_GENERATION_PATH " {\n"
		   "\t\taccess_log off;\n"
		   "\t\tdefault_type text/plain;\n"
		   "\t\treturn 200 \"%s\\n\";\n"
		   "\t}\n",
		   gen);
	/*
	 * A request whose connection to one server fails (an old slot going
	 * away, a container restarting) is passed to the next one, so a flip
	 * of weights loses no request. Upstream connections are kept alive
	 * (HTTP/1.1 with an empty Connection header).
	 */
	buf_puts(out,
		 "\tlocation / {\n"
		 "\t\tproxy_pass http://");
	buf_puts(out, name);
	free(name);
	buf_puts(out,
		 ";\n"
		 "\t\tproxy_http_version 1.1;\n"
		 "\t\tproxy_set_header Connection \"\";\n"
		 "\t\tproxy_set_header Host $host;\n"
		 "\t\tproxy_connect_timeout 2s;\n"
		 "\t\tproxy_next_upstream error timeout http_502 http_503;\n"
		 "\t\tproxy_next_upstream_tries 3;\n"
		 "\t}\n}\n");
}

static int gen_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return 0;
	return 1;
}

int router_render_named(struct buf *out, const char *listen_address, const char *generation, const char *prefix,
			const char *owner, const struct router_service *svcs, size_t n, struct error **err)
{
	struct buf tmp;
	size_t i, j;
	int ret = 0;

	if (listen_address == NULL)
		listen_address = "127.0.0.1";
	if (!addr_ok(listen_address))
		return error_set(err, ERR_INVALID, "router: bad listen address '%s'", listen_address);
	if (!gen_ok(generation))
		return error_set(err, ERR_INVALID, "router: bad generation '%s'", generation ? generation : "");
	for (i = 0; i < n; i++) {
		ret = check_service(&svcs[i], i, err);
		if (ret < 0)
			return ret;
		for (j = 0; j < i; j++) {
			if (strcmp(svcs[i].upstream, svcs[j].upstream) == 0)
				return error_set(err, ERR_INVALID, "router: upstream '%s' listed twice", svcs[i].upstream);
			if (svcs[i].port == svcs[j].port)
				return error_set(err, ERR_INVALID, "router: upstreams '%s' and '%s' both listen on port %d",
						 svcs[j].upstream, svcs[i].upstream, svcs[i].port);
		}
	}
	if (prefix == NULL)
		prefix = "";
	if (*prefix && !name_ok(prefix))
		return error_set(err, ERR_INVALID, "router: name prefix '%s' is not [A-Za-z0-9_.-]+", prefix);
	if (owner != NULL && *owner && !name_ok(owner))
		return error_set(err, ERR_INVALID, "router: instance '%s' is not [A-Za-z0-9_.-]+", owner);
	buf_init(&tmp, ROUTER_MAX_CONF);
	if (owner != NULL && *owner)
		buf_printf(&tmp, "# Generated by auriga for instance %s; rewritten on every change of weights.\n\n",
			   owner);
	else
		buf_puts(&tmp, "# Generated by auriga; rewritten on every change of weights.\n\n");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&tmp, '\n');
		render_one(&tmp, listen_address, generation, prefix, &svcs[i]);
	}
	if (buf_append(&tmp, "", 0) < 0 || tmp.len >= ROUTER_MAX_CONF - 1) {
		buf_release(&tmp);
		return error_set(err, ERR_TOOBIG, "router: configuration over %u bytes", ROUTER_MAX_CONF);
	}
	if (buf_append(out, tmp.data, tmp.len) < 0)
		ret = error_set(err, ERR_TOOBIG, "router: configuration does not fit the output buffer");
	buf_release(&tmp);
	return ret;
}

/* ------------------------------------------------------------ the table of services */

static void service_free_fields(struct router_service *s)
{
	size_t i;

	for (i = 0; i < s->n_endpoints; i++)
		free((char *)s->endpoints[i].addr);
	free((void *)s->endpoints);
	free((char *)s->upstream);
}

static void service_copy(struct router_service *dst, const struct router_service *src)
{
	struct router_endpoint *e = NULL;
	size_t i;

	*dst = *src;
	dst->upstream = xstrdup(src->upstream);
	if (src->n_endpoints > 0)
		e = xcalloc(src->n_endpoints, sizeof(*e));
	for (i = 0; i < src->n_endpoints; i++) {
		e[i] = src->endpoints[i];
		e[i].addr = xstrdup(src->endpoints[i].addr);
	}
	dst->endpoints = e;
}

/* Adds the service, or replaces the one with its upstream name. */
static void table_put(struct router *r, const struct router_service *svc)
{
	struct router_service copy;
	size_t i;

	service_copy(&copy, svc);
	for (i = 0; i < r->n_services; i++)
		if (strcmp(r->services[i].upstream, svc->upstream) == 0)
			break;
	if (i == r->n_services) {
		XGROW(r->services, r->cap_services, r->n_services + 1);
		r->n_services++;
	} else {
		service_free_fields(&r->services[i]);
	}
	r->services[i] = copy;
}

/*
 * The table of services is kept beside the configuration, so that a new
 * controller's first apply renders every service the last one routed, not
 * only the first it sets: otherwise the other services' listeners would
 * vanish from NGINX until their turn comes.
 */
char *router_table_path(const char *config_path)
{
	struct buf b;

	buf_init(&b, 8192);
	(void)buf_printf(&b, "%s.services.json", config_path);
	return buf_detach(&b, NULL);
}

static char *table_path(const struct router *r)
{
	return router_table_path(r->config_path);
}

static void table_save(const struct router *r)
{
	json_t *a = json_array();
	char *path = table_path(r), *text;
	struct error *err = NULL;
	size_t i, j;

	for (i = 0; i < r->n_services; i++) {
		const struct router_service *sv = &r->services[i];
		json_t *eps = json_array();

		for (j = 0; j < sv->n_endpoints; j++)
			json_array_append_new(eps, json_pack("{s:s,s:i,s:i,s:b}", "addr", sv->endpoints[j].addr, "port",
							     sv->endpoints[j].port, "weight", sv->endpoints[j].weight,
							     "backup", sv->endpoints[j].backup));
		json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:i,s:o}", "upstream", sv->upstream, "port", sv->port,
						   "maxFails", sv->max_fails, "failTimeoutSeconds",
						   sv->fail_timeout_seconds, "endpoints", eps));
	}
	text = json_dumps(a, JSON_COMPACT);
	if (text != NULL && file_replace(path, "router table", text, strlen(text), 0644, &err) < 0) {
		log_error("router", "cannot save the table of services", "path", path, "error", error_msg(err),
			  (char *)NULL);
		error_free(err);
	}
	free(text);
	json_decref(a);
	free(path);
}

static void table_load(struct router *r, const char *config_path)
{
	char *path = router_table_path(config_path);
	json_t *a = json_load_file(path, 0, NULL), *v;
	size_t i;

	free(path);
	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	json_array_foreach(a, i, v) {
		struct router_endpoint *ep;
		struct router_service sv;
		json_t *eps = json_object_get(v, "endpoints"), *e;
		size_t j, n = 0;

		memset(&sv, 0, sizeof(sv));
		sv.upstream = json_string_value(json_object_get(v, "upstream"));
		sv.port = (int)json_integer_value(json_object_get(v, "port"));
		sv.max_fails = (int)json_integer_value(json_object_get(v, "maxFails"));
		sv.fail_timeout_seconds = (int)json_integer_value(json_object_get(v, "failTimeoutSeconds"));
		/* Every endpoint the last router routed: a service is never cut to a fixed size. */
		ep = xcalloc(json_array_size(eps) + 1, sizeof(*ep));
		json_array_foreach(eps, j, e) {
			ep[n].addr = json_string_value(json_object_get(e, "addr"));
			ep[n].port = (int)json_integer_value(json_object_get(e, "port"));
			ep[n].weight = (int)json_integer_value(json_object_get(e, "weight"));
			ep[n].backup = json_is_true(json_object_get(e, "backup"));
			if (ep[n].addr != NULL)
				n++;
		}
		sv.endpoints = ep;
		sv.n_endpoints = n;
		/* A damaged entry is dropped: the controller sets its services again anyway. */
		if (sv.upstream != NULL && check_service(&sv, 0, NULL) == 0)
			table_put(r, &sv);
		free(ep);
	}
	json_decref(a);
}

void router_prune(struct router *r, const char *const *keep, size_t n_keep)
{
	size_t i = 0, k;

	while (i < r->n_services) {
		for (k = 0; k < n_keep; k++)
			if (strcmp(keep[k], r->services[i].upstream) == 0)
				break;
		if (k < n_keep) {
			i++;
			continue;
		}
		service_free_fields(&r->services[i]);
		memmove(&r->services[i], &r->services[i + 1], (r->n_services - i - 1) * sizeof(r->services[0]));
		r->n_services--;
	}
}

struct router *router_new(const struct router_config *c, struct error **err)
{
	struct router *r;

	if (c->config_path == NULL || c->config_path[0] == '\0') {
		error_set(err, ERR_INVALID, "router: no configPath");
		return NULL;
	}
	if ((c->reload_argv != NULL && c->reload_argv[0] != NULL) + (c->pid_file != NULL) + (c->container != NULL) !=
	    1) {
		error_set(err, ERR_INVALID, "router: set exactly one of a reload command, a pid file and a container");
		return NULL;
	}
	if (c->container != NULL && c->signal == NULL) {
		error_set(err, ERR_INVALID, "router: container '%s' without a way to signal it", c->container);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->spec_path = xstrdup(c->config_path);
	r->prefix = xstrdup(c->name_prefix != NULL ? c->name_prefix : "");
	r->owner = xstrdup_or_null(c->owner);
	r->config_path = router_prefixed_path(c->config_path, r->prefix);
	r->listen_address = xstrdup(c->listen_address != NULL ? c->listen_address : "127.0.0.1");
	r->nginx = xstrdup(c->nginx != NULL ? c->nginx : "nginx");
	r->pid_file = xstrdup_or_null(c->pid_file);
	r->container = xstrdup_or_null(c->container);
	r->signal = c->signal;
	r->signal_arg = c->signal_arg;
	r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
	r->error_log = xstrdup_or_null(c->error_log);
	if (c->reload_argv != NULL) {
		size_t n = c->n_reload_argv, i;

		if (n == 0)
			while (c->reload_argv[n] != NULL)
				n++;
		r->reload_argv = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			r->reload_argv[i] = xstrdup(c->reload_argv[i]);
	}
	r->current = xstrdup("");
	/*
	 * A controller killed between renaming the checked file into place and
	 * reloading NGINX leaves the new text on disk and NGINX on the old one:
	 * the first apply of a new router reloads even when the file holds its
	 * text already.
	 */
	r->reload_pending = 1;
	table_load(r, r->config_path);
	/*
	 * The file this instance wrote under the earlier names: its services
	 * are this router's until the specs set them, and the reload that
	 * loads the new file is the one that drops it.
	 */
	if (strcmp(r->config_path, r->spec_path) != 0) {
		/* A controller stopped between moving it aside and seeing its successor served: NGINX may still load it. */
		char *aside = router_aside_path(r->spec_path);

		if (access(r->spec_path, F_OK) < 0)
			(void)rename(aside, r->spec_path);
		free(aside);
	}
	if (strcmp(r->config_path, r->spec_path) != 0 && router_legacy_ours(r, c->own_endpoints, c->n_own_endpoints)) {
		r->legacy_path = xstrdup(r->spec_path);
		if (r->n_services == 0)
			table_load(r, r->legacy_path);
		log_info("router", "taking over the file written under the earlier names", "file", r->legacy_path,
			 "new", r->config_path, LOG_END);
	}
	return r;
}

int router_config_from_spec(struct router_config *c, const struct spec_router *sr, struct error **err)
{
	memset(c, 0, sizeof(*c));
	if (sr->container != NULL && sr->n_reload_command > 0)
		return error_set(err, ERR_INVALID, "router: give a reloadCommand or a container, not both");
	if (sr->container == NULL && sr->n_reload_command == 0)
		return error_set(err, ERR_INVALID, "router: no reloadCommand and no container");
	c->config_path = sr->config_path;
	c->listen_address = sr->listen_address;
	c->container = sr->container;
	c->reload_argv = sr->container ? NULL : (const char *const *)sr->reload_command;
	c->n_reload_argv = sr->container ? 0 : sr->n_reload_command;
	return 0;
}

static int str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int router_config_same(const struct router *r, const struct router_config *c)
{
	size_t n = 0, i;

	if (c->reload_argv != NULL) {
		n = c->n_reload_argv;
		if (n == 0)
			while (c->reload_argv[n] != NULL)
				n++;
	}
	if (strv_len(r->reload_argv) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(r->reload_argv[i], c->reload_argv[i]) != 0)
			return 0;
	return strcmp(r->spec_path, c->config_path ? c->config_path : "") == 0 &&
	       strcmp(r->prefix, c->name_prefix ? c->name_prefix : "") == 0 &&
	       strcmp(r->listen_address, c->listen_address ? c->listen_address : "127.0.0.1") == 0 &&
	       str_same(r->pid_file, c->pid_file) && str_same(r->container, c->container);
}

const char *router_config_path(const struct router *r)
{
	return r->config_path;
}

void router_adopt(struct router *dst, const struct router *src)
{
	size_t i;

	for (i = 0; i < src->n_services; i++)
		table_put(dst, &src->services[i]);
}

void router_retire(struct router *r)
{
	static const char head[] = "# Generated by auriga";
	char *table = table_path(r);
	struct buf b;

	buf_init(&b, ROUTER_MAX_CONF);
	if (file_read(r->config_path, "router configuration", 0, &b, NULL) == 0 &&
	    strncmp(b.data, head, strlen(head)) == 0 && unlink(r->config_path) == 0)
		log_info("router", "configuration no longer named by the settings removed", "file", r->config_path,
			 LOG_END);
	(void)unlink(table);
	buf_release(&b);
	free(table);
}

void router_free(struct router *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n_services; i++)
		service_free_fields(&r->services[i]);
	free(r->services);
	strv_free(r->reload_argv);
	FREE_ALL(r->config_path, r->spec_path, r->prefix, r->owner, r->legacy_path, r->listen_address, r->nginx,
		 r->pid_file, r->container, r->error_log, r->current);
	router_nginx_release(r);
	free(r);
}

const char *router_current(const struct router *r)
{
	return r->current;
}

/*
 * The table rendered once, with its generation: the first 16 hex digits of
 * the SHA-256 of the text rendered with a placeholder of the same width,
 * then written over the placeholders. Equal tables give equal generations,
 * so a restarted controller confirms what the last one rendered, and an
 * NGINX still on an older table never answers with a newer generation.
 */
#define GEN_PLACEHOLDER "0000000000000000"

static int render_table(const struct router *r, struct buf *text, char gen[17], struct error **err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *p;
	int ret;

	ret = router_render_named(text, r->listen_address, GEN_PLACEHOLDER, r->prefix, r->owner, r->services,
				  r->n_services, err);
	if (ret < 0)
		return ret;
	if (!EVP_Digest(text->data, text->len, md, &md_len, EVP_sha256(), NULL) || md_len < 8)
		return error_set(err, ERR_GENERIC, "router: cannot hash the configuration");
	hex_encode(md, 8, gen);
	/* Only the generation lines hold it quoted: names and addresses never hold a quote. */
	for (p = strstr(text->data, "\"" GEN_PLACEHOLDER); p != NULL; p = strstr(p, "\"" GEN_PLACEHOLDER))
		memcpy(++p, gen, 16);
	return 0;
}

static int apply_table(struct router *r, int async, int *changed, struct error **err)
{
	struct router_confirm confirm;
	char gen[17];
	struct buf text;
	int *ports = NULL;
	const char **ups = NULL;
	size_t i;
	int ret, lock = -1;

	buf_init(&text, ROUTER_MAX_CONF);
	ret = render_table(r, &text, gen, err);
	if (ret < 0)
		goto out;
	if (r->n_services > 0) {
		ports = xcalloc(r->n_services, sizeof(*ports));
		ups = xcalloc(r->n_services, sizeof(*ups));
	}
	for (i = 0; i < r->n_services; i++) {
		ports[i] = r->services[i].port;
		ups[i] = r->services[i].upstream;
	}
	/*
	 * Another instance's listener is never taken over: NGINX would send its
	 * traffic to one of the two. The folder is read only when this apply may
	 * write or reload (the text is new, or a reload is due), not on every
	 * pass that finds the table as it was; then under the folder's lock,
	 * until NGINX was told to reload.
	 */
	if (router_due(r) || strcmp(r->current, text.data) != 0) {
		lock = router_folder_lock(r, err);
		ret = lock < 0 ? lock : router_ports_free(r, ports, ups, r->n_services, err);
		if (ret < 0)
			goto out;
	}
	confirm.generation = gen;
	confirm.ports = ports;
	confirm.n_ports = r->n_services;
	ret = router_nginx_apply(r, text.data, &confirm, async, changed, err);
	if (ret == 0) {
		/* Unchanged text: the saved table renders it already (it can differ only in endpoints left out). */
		int same = strcmp(r->current, text.data) == 0;

		free(r->current);
		r->current = buf_detach(&text, NULL);
		if (!same)
			table_save(r);
	}
out:
	router_folder_unlock(lock);
	free(ports);
	free(ups);
	buf_release(&text);
	return ret;
}

int router_stage(struct router *r, const struct router_service *svc, struct error **err)
{
	int ret = check_service(svc, 0, err);

	if (ret == 0)
		table_put(r, svc);
	return ret;
}

int router_due(const struct router *r)
{
	return !r->cf.active && (r->reload_pending || r->legacy_path != NULL);
}

int router_holds(const struct router *r, const struct router_service *svc)
{
	const struct router_service *t = NULL;
	size_t i;

	for (i = 0; i < r->n_services && t == NULL; i++)
		if (strcmp(r->services[i].upstream, svc->upstream) == 0)
			t = &r->services[i];
	if (t == NULL || t->port != svc->port || t->max_fails != svc->max_fails ||
	    t->fail_timeout_seconds != svc->fail_timeout_seconds || t->n_endpoints != svc->n_endpoints)
		return 0;
	for (i = 0; i < svc->n_endpoints; i++) {
		const struct router_endpoint *a = &t->endpoints[i], *b = &svc->endpoints[i];

		if (strcmp(a->addr, b->addr) != 0 || a->port != b->port || a->weight != b->weight ||
		    a->backup != b->backup)
			return 0;
	}
	return 1;
}

int router_commit(struct router *r, int *changed, struct error **err)
{
	if (changed != NULL)
		*changed = 0;
	return apply_table(r, 0, changed, err);
}

int router_commit_async(struct router *r, int *changed, struct error **err)
{
	if (changed != NULL)
		*changed = 0;
	return apply_table(r, 1, changed, err);
}

int router_set(struct router *r, const struct router_service *svc, int *changed, struct error **err)
{
	int ret;

	if (changed != NULL)
		*changed = 0;
	ret = router_stage(r, svc, err);
	if (ret < 0)
		return ret;
	return apply_table(r, 0, changed, err);
}

int router_remove(struct router *r, const char *upstream, int *changed, struct error **err)
{
	size_t i;

	if (changed != NULL)
		*changed = 0;
	for (i = 0; i < r->n_services; i++)
		if (strcmp(r->services[i].upstream, upstream) == 0)
			break;
	if (i == r->n_services)
		return 0;
	service_free_fields(&r->services[i]);
	memmove(&r->services[i], &r->services[i + 1], (r->n_services - i - 1) * sizeof(r->services[0]));
	r->n_services--;
	return apply_table(r, 0, changed, err);
}
