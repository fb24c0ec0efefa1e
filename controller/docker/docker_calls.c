/* The Docker Engine API calls auriga makes: each one a path, a body, a parse kind and whether it is safe to repeat. */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int need(const char *s, const char *what, struct error **err)
{
	if (s == NULL || *s == '\0')
		return error_set(err, ERR_INVALID, "docker call without %s", what);
	return 0;
}

/*
 * The calls on one named object share their shape: the name checked, the
 * path <prefix><escaped name><suffix>, whether repeating them is safe, and
 * how the answer is read. start, stop, kill and remove by id end in the same
 * place when repeated, so they are retried.
 */
enum object_call {
	OC_CONTAINER_INSPECT,
	OC_CONTAINER_START,
	OC_CONTAINER_STOP,
	OC_CONTAINER_KILL,
	OC_CONTAINER_REMOVE,
	OC_CONTAINER_WAIT,
	OC_CONTAINER_RENAME,
	OC_CONTAINER_LOGS,
	OC_CONTAINER_ARCHIVE,
	OC_EXEC_CREATE,
	OC_EXEC_START,
	OC_EXEC_INSPECT,
	OC_IMAGE_INSPECT,
	OC_NETWORK_REMOVE,
	OC_VOLUME_REMOVE,
};

static const struct {
	const char *method, *what, *need, *prefix, *suffix;
	int idempotent;
	enum docker_parse parse;
} object_calls[] = {
	[OC_CONTAINER_INSPECT] = { "GET", "inspect container", "a container id", "/containers/", "/json", 1, DP_CONTAINER },
	[OC_CONTAINER_START] = { "POST", "start container", "a container id", "/containers/", "/start", 1, DP_NONE },
	[OC_CONTAINER_STOP] = { "POST", "stop container", "a container id", "/containers/", "/stop", 1, DP_NONE },
	[OC_CONTAINER_KILL] = { "POST", "kill container", "a container id", "/containers/", "/kill?signal=", 1, DP_NONE },
	[OC_CONTAINER_REMOVE] = { "DELETE", "remove container", "a container id", "/containers/", "", 1, DP_NONE },
	[OC_CONTAINER_WAIT] = { "POST", "wait for container", "a container id", "/containers/", "/wait?condition=", 1,
				DP_WAIT },
	[OC_CONTAINER_RENAME] = { "POST", "rename container", "a container id", "/containers/", "/rename?name=", 0,
				  DP_NONE },
	[OC_CONTAINER_LOGS] = { "GET", "read the logs of container", "a container id", "/containers/",
				"/logs?stdout=1&stderr=1", 1, DP_STREAM },
	[OC_CONTAINER_ARCHIVE] = { "GET", "read a file from container", "a container id", "/containers/",
				   "/archive?path=", 1, DP_RAW },
	[OC_EXEC_CREATE] = { "POST", "create exec in container", "a container id", "/containers/", "/exec", 0, DP_ID },
	[OC_EXEC_START] = { "POST", "start exec", "an exec id", "/exec/", "/start", 0, DP_NONE },
	[OC_EXEC_INSPECT] = { "GET", "inspect exec", "an exec id", "/exec/", "/json", 1, DP_EXEC_INSPECT },
	[OC_IMAGE_INSPECT] = { "GET", "inspect image", "an image name", "/images/", "/json", 1, DP_IMAGE },
	[OC_NETWORK_REMOVE] = { "DELETE", "remove network", "a network id", "/networks/", "", 1, DP_NONE },
	[OC_VOLUME_REMOVE] = { "DELETE", "remove volume", "a volume name", "/volumes/", "", 1, DP_NONE },
};

/* The call on one object, built but not submitted; the caller has checked the name. */
static struct docker_call *object_call(struct docker *d, enum docker_kind k, enum object_call which, const char *id,
				       docker_done_fn done, void *arg)
{
	struct docker_call *c = docker_call_new(d, k, object_calls[which].method, object_calls[which].what, id, done,
						arg);

	(void)buf_puts(&c->path, object_calls[which].prefix);
	docker_call_path_escaped(c, id);
	(void)buf_puts(&c->path, object_calls[which].suffix);
	c->idempotent = object_calls[which].idempotent;
	c->parse = object_calls[which].parse;
	return c;
}

/* The same, or NULL and *err when the object is not named. */
static struct docker_call *object_call_named(struct docker *d, enum docker_kind k, enum object_call which,
					     const char *id, docker_done_fn done, void *arg, struct error **err)
{
	if (need(id, object_calls[which].need, err) < 0)
		return NULL;
	return object_call(d, k, which, id, done, arg);
}

/* Submits a call built above; ERR_INVALID when it could not be built. */
static int submit(struct docker_call *c)
{
	if (c == NULL)
		return ERR_INVALID;
	docker_call_submit(c);
	return 0;
}

void docker__set_body(struct docker_call *c, json_t *body)
{
	c->body = json_dumps(body, JSON_COMPACT);
	if (c->body == NULL)
		BUG("cannot encode a request body");
	c->body_len = strlen(c->body);
	json_decref(body);
}

int docker_ping(struct docker *d, enum docker_kind k, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = docker_call_new(d, k, "GET", "ping", d->endpoint, done, arg);

	(void)err;
	c->versioned = 0;
	c->idempotent = 1;
	c->parse = DP_PING;
	(void)buf_puts(&c->path, "/_ping");
	docker_call_submit(c);
	return 0;
}

static int containers_call(struct docker *d, enum docker_kind k, const char *const *filters, enum docker_parse parse,
			   docker_chunk_fn chunk, void *chunk_arg, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = docker_call_new(d, k, "GET", "list containers", NULL, done, arg);

	(void)buf_puts(&c->path, "/containers/json?all=1");
	if (docker_call_filters(c, filters, '&', err) < 0) {
		docker_call_free(c);
		return ERR_INVALID;
	}
	c->idempotent = 1;
	c->parse = parse;
	c->chunk = chunk;
	c->chunk_arg = chunk_arg;
	docker_call_submit(c);
	return 0;
}

int docker_container_list(struct docker *d, enum docker_kind k, const char *const *filters,
			  docker_done_fn done, void *arg, struct error **err)
{
	return containers_call(d, k, filters, DP_CONTAINERS, NULL, NULL, done, arg, err);
}

int docker_container_list_stream(struct docker *d, enum docker_kind k, const char *const *filters,
				 docker_chunk_fn chunk, void *chunk_arg, docker_done_fn done, void *arg,
				 struct error **err)
{
	return containers_call(d, k, filters, DP_NONE, chunk, chunk_arg, done, arg, err);
}

int docker_container_inspect(struct docker *d, enum docker_kind k, const char *id,
			     docker_done_fn done, void *arg, struct error **err)
{
	return submit(object_call_named(d, k, OC_CONTAINER_INSPECT, id, done, arg, err));
}

json_t *docker__strv(const char *const *v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *docker__labels_json(const struct kv *l, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, l[i].key, json_string(l[i].value));
	return o;
}

static int valid_utf8_strv(const char *const *v)
{
	size_t i;

	for (i = 0; v && v[i]; i++) {
		json_t *s = json_string(v[i]);

		if (s == NULL)
			return 0;
		json_decref(s);
	}
	return 1;
}

/*
 * Every refusal of a create spec, in the order they are reported; what passes builds without failing.
 * what and name say whose it is: a container (its own name) or a service's task template.
 */
int docker__create_check(const struct docker_create_spec *s, const char *what, const char *name, struct error **err)
{
	size_t i;

	if (s->image == NULL || *s->image == '\0')
		return error_set(err, ERR_INVALID, "%s '%s' has no image", what, name);
	if (!valid_utf8_strv(s->env) || !valid_utf8_strv(s->cmd) || !valid_utf8_strv(s->entrypoint))
		return error_set(err, ERR_INVALID, "%s '%s': env, cmd or entrypoint is not UTF-8", what, name);
	for (i = 0; i < s->n_labels; i++) {
		if (s->labels[i].key == NULL || s->labels[i].value == NULL || *s->labels[i].key == '\0')
			return error_set(err, ERR_INVALID, "%s '%s': label %zu has no key or value", what, name, i);
	}
	if (s->restart_policy && strcmp(s->restart_policy, "no") != 0 &&
	    strcmp(s->restart_policy, "always") != 0 && strcmp(s->restart_policy, "unless-stopped") != 0 &&
	    strcmp(s->restart_policy, "on-failure") != 0)
		return error_set(err, ERR_INVALID, "%s '%s': restart policy '%s' is not no, always, "
				 "unless-stopped or on-failure", what, name, s->restart_policy);
	for (i = 0; i < s->n_ports; i++) {
		if (s->ports[i].container_port == 0)
			return error_set(err, ERR_INVALID, "%s '%s': port %zu has no container port", what, name, i);
	}
	for (i = 0; i < s->n_mounts; i++) {
		const struct docker_mount *m = &s->mounts[i];

		if (m->source == NULL || *m->source == '\0' || m->target == NULL || m->target[0] != '/')
			return error_set(err, ERR_INVALID,
					 "%s '%s': mount %zu needs a source and an absolute target", what, name, i);
	}
	if (s->healthcheck && (s->healthcheck->test == NULL || s->healthcheck->test[0] == NULL))
		return error_set(err, ERR_INVALID, "%s '%s': the health check has no test", what, name);
	return 0;
}

/* ExposedPorts into the body, PortBindings into the host config: one binding list per port/protocol. */
static void ports_json(const struct docker_create_spec *s, json_t *b, json_t *hc)
{
	json_t *exposed = json_object(), *bindings = json_object();
	size_t i;

	for (i = 0; i < s->n_ports; i++) {
		const struct docker_port *p = &s->ports[i];
		char key[32], hostport[8];
		json_t *list, *bind;

		snprintf(key, sizeof(key), "%u/%s", (unsigned)p->container_port,
			 p->protocol && strcmp(p->protocol, "udp") == 0 ? "udp" : "tcp");
		json_object_set_new(exposed, key, json_object());
		list = json_object_get(bindings, key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		bind = json_object();
		json_object_set_new(bind, "HostIp", json_string(p->host_ip ? p->host_ip : ""));
		if (p->host_port)
			snprintf(hostport, sizeof(hostport), "%u", (unsigned)p->host_port);
		else
			hostport[0] = '\0';
		json_object_set_new(bind, "HostPort", json_string(hostport));
		json_array_append_new(list, bind);
	}
	json_object_set_new(b, "ExposedPorts", exposed);
	json_object_set_new(hc, "PortBindings", bindings);
}

json_t *docker__mounts_json(const struct docker_create_spec *s)
{
	json_t *mounts = json_array();
	size_t i;

	for (i = 0; i < s->n_mounts; i++) {
		const struct docker_mount *m = &s->mounts[i];
		json_t *o = json_object();

		json_object_set_new(o, "Type", json_string(m->bind ? "bind" : "volume"));
		json_object_set_new(o, "Source", json_string(m->source));
		json_object_set_new(o, "Target", json_string(m->target));
		json_object_set_new(o, "ReadOnly", json_boolean(m->read_only));
		json_array_append_new(mounts, o);
	}
	return mounts;
}

/* Docker takes the health check's durations in nanoseconds. */
json_t *docker__healthcheck_json(const struct docker_healthcheck *h)
{
	json_t *o = json_object();

	json_object_set_new(o, "Test", docker__strv(h->test));
	if (h->interval_ms > 0)
		json_object_set_new(o, "Interval", json_integer(h->interval_ms * 1000000));
	if (h->timeout_ms > 0)
		json_object_set_new(o, "Timeout", json_integer(h->timeout_ms * 1000000));
	if (h->start_period_ms > 0)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period_ms * 1000000));
	if (h->retries > 0)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

/* The host config's limits and restart policy, and the network in both the host config and the body. */
static void host_json(const struct docker_create_spec *s, json_t *b, json_t *hc)
{
	json_object_set_new(hc, "Mounts", docker__mounts_json(s));
	if (s->privileged)
		json_object_set_new(hc, "Privileged", json_true());
	if (s->cap_add && s->cap_add[0]) {
		json_t *caps = json_array();
		size_t k;

		for (k = 0; s->cap_add[k]; k++)
			json_array_append_new(caps, json_string(s->cap_add[k]));
		json_object_set_new(hc, "CapAdd", caps);
	}
	if (s->memory_bytes > 0)
		json_object_set_new(hc, "Memory", json_integer(s->memory_bytes));
	if (s->nano_cpus > 0)
		json_object_set_new(hc, "NanoCpus", json_integer(s->nano_cpus));
	if (s->restart_policy) {
		json_t *rp = json_object();

		json_object_set_new(rp, "Name", json_string(s->restart_policy));
		if (strcmp(s->restart_policy, "on-failure") == 0)
			json_object_set_new(rp, "MaximumRetryCount", json_integer(s->restart_max_retries));
		json_object_set_new(hc, "RestartPolicy", rp);
	}
	if (s->network) {
		json_t *nc = json_object(), *eps = json_object(), *ep = json_object();

		json_object_set_new(hc, "NetworkMode", json_string(s->network));
		if (s->aliases)
			json_object_set_new(ep, "Aliases", docker__strv(s->aliases));
		json_object_set_new(eps, s->network, ep);
		json_object_set_new(nc, "EndpointsConfig", eps);
		json_object_set_new(b, "NetworkingConfig", nc);
	}
}

json_t *docker_create_body(const struct docker_create_spec *s, struct error **err)
{
	json_t *b, *hc;

	if (docker__create_check(s, "container", s->name ? s->name : "", err) < 0)
		return NULL;
	b = json_object();
	hc = json_object();
	json_object_set_new(b, "Image", json_string(s->image));
	if (s->cmd)
		json_object_set_new(b, "Cmd", docker__strv(s->cmd));
	if (s->entrypoint)
		json_object_set_new(b, "Entrypoint", docker__strv(s->entrypoint));
	json_object_set_new(b, "Env", docker__strv(s->env));
	json_object_set_new(b, "Labels", docker__labels_json(s->labels, s->n_labels));
	if (s->user)
		json_object_set_new(b, "User", json_string(s->user));
	if (s->workdir)
		json_object_set_new(b, "WorkingDir", json_string(s->workdir));
	if (s->hostname)
		json_object_set_new(b, "Hostname", json_string(s->hostname));
	if (s->stop_timeout_s > 0)
		json_object_set_new(b, "StopTimeout", json_integer(s->stop_timeout_s));
	ports_json(s, b, hc);
	host_json(s, b, hc);
	if (s->healthcheck)
		json_object_set_new(b, "Healthcheck", docker__healthcheck_json(s->healthcheck));
	json_object_set_new(b, "HostConfig", hc);
	return b;
}

int docker_container_create(struct docker *d, enum docker_kind k, const struct docker_create_spec *spec,
			    docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;

	if (need(spec->name, "a container name", err) < 0)
		return ERR_INVALID;
	body = docker_create_body(spec, err);
	if (body == NULL)
		return ERR_INVALID;
	{
		char token[32];

		/* What a leader creates carries its generation: the fencing token, read back from Docker. */
		if (d->fence_label && docker__fence_token(d, token, sizeof(token)) == 0)
			json_object_set_new(json_object_get(body, "Labels"), d->fence_label, json_string(token));
	}
	c = docker_call_new(d, k, "POST", "create container", spec->name, done, arg);
	(void)buf_puts(&c->path, "/containers/create?name=");
	docker_call_path_escaped(c, spec->name);
	docker__set_body(c, body);
	c->parse = DP_ID;
	docker_call_submit(c);
	return 0;
}

int docker_container_start(struct docker *d, enum docker_kind k, const char *id,
			   docker_done_fn done, void *arg, struct error **err)
{
	return submit(object_call_named(d, k, OC_CONTAINER_START, id, done, arg, err));
}

int docker_container_stop(struct docker *d, enum docker_kind k, const char *id, int timeout_s,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_CONTAINER_STOP, id, done, arg, err);

	if (c && timeout_s >= 0) {
		(void)buf_printf(&c->path, "?t=%d", timeout_s);
		if (c->timeout_ms > 0)
			c->timeout_ms += (int64_t)timeout_s * 1000;
	}
	return submit(c);
}

int docker_container_kill(struct docker *d, enum docker_kind k, const char *id, const char *signal,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_CONTAINER_KILL, id, done, arg, err);

	if (c)
		docker_call_path_escaped(c, signal ? signal : "KILL");
	return submit(c);
}

int docker_container_remove(struct docker *d, enum docker_kind k, const char *id, int force,
			    int volumes, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_CONTAINER_REMOVE, id, done, arg, err);

	if (c)
		(void)buf_printf(&c->path, "?force=%d&v=%d", force ? 1 : 0, volumes ? 1 : 0);
	return submit(c);
}

int docker_container_wait(struct docker *d, enum docker_kind k, const char *id, const char *condition,
			  int64_t timeout_ms, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_CONTAINER_WAIT, id, done, arg, err);

	if (c) {
		docker_call_path_escaped(c, condition ? condition : "not-running");
		c->timeout_ms = timeout_ms;
	}
	return submit(c);
}

int docker_container_rename(struct docker *d, enum docker_kind k, const char *id, const char *new_name,
			    docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;

	if (need(id, "a container id", err) < 0 || need(new_name, "a new name", err) < 0)
		return ERR_INVALID;
	c = object_call(d, k, OC_CONTAINER_RENAME, id, done, arg);
	docker_call_path_escaped(c, new_name);
	return submit(c);
}

int docker_container_logs(struct docker *d, enum docker_kind k, const char *id, unsigned tail,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_CONTAINER_LOGS, id, done, arg, err);

	if (c && tail > 0)
		(void)buf_printf(&c->path, "&tail=%u", tail);
	else if (c)
		(void)buf_puts(&c->path, "&tail=all");
	return submit(c);
}

int docker_container_archive(struct docker *d, enum docker_kind k, const char *id, const char *path,
			     size_t max_bytes, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;

	if (need(id, "a container id", err) < 0 || need(path, "a path", err) < 0)
		return ERR_INVALID;
	c = object_call(d, k, OC_CONTAINER_ARCHIVE, id, done, arg);
	docker_call_path_escaped(c, path);
	c->max_body = max_bytes;
	return submit(c);
}

static struct docker_call *build_exec_create(struct docker *d, enum docker_kind k, const char *id,
					     const char *const *argv, int attach, docker_done_fn done,
					     void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;

	if (need(id, "a container id", err) < 0)
		return NULL;
	if (argv == NULL || argv[0] == NULL || !valid_utf8_strv(argv)) {
		error_set(err, ERR_INVALID, "exec in container '%s' without a command", id);
		return NULL;
	}
	c = object_call(d, k, OC_EXEC_CREATE, id, done, arg);
	body = json_object();
	json_object_set_new(body, "Cmd", docker__strv(argv));
	json_object_set_new(body, "AttachStdout", json_boolean(attach));
	json_object_set_new(body, "AttachStderr", json_boolean(attach));
	json_object_set_new(body, "Tty", json_false());
	docker__set_body(c, body);
	return c;
}

int docker_exec_create(struct docker *d, enum docker_kind k, const char *id, const char *const *argv,
		       int attach, docker_done_fn done, void *arg, struct error **err)
{
	return submit(build_exec_create(d, k, id, argv, attach, done, arg, err));
}

static struct docker_call *build_exec_start(struct docker *d, enum docker_kind k, const char *exec_id,
					    int detach, docker_done_fn done, void *arg)
{
	struct docker_call *c = object_call(d, k, OC_EXEC_START, exec_id, done, arg);
	json_t *body = json_object();

	json_object_set_new(body, "Detach", json_boolean(detach));
	json_object_set_new(body, "Tty", json_false());
	docker__set_body(c, body);
	c->parse = detach ? DP_NONE : DP_STREAM;
	return c;
}

int docker_exec_start(struct docker *d, enum docker_kind k, const char *exec_id, int detach,
		      docker_done_fn done, void *arg, struct error **err)
{
	if (need(exec_id, "an exec id", err) < 0)
		return ERR_INVALID;
	docker_call_submit(build_exec_start(d, k, exec_id, detach, done, arg));
	return 0;
}

static struct docker_call *build_exec_inspect(struct docker *d, enum docker_kind k, const char *exec_id,
					      docker_done_fn done, void *arg)
{
	return object_call(d, k, OC_EXEC_INSPECT, exec_id, done, arg);
}

int docker_exec_inspect(struct docker *d, enum docker_kind k, const char *exec_id,
			docker_done_fn done, void *arg, struct error **err)
{
	if (need(exec_id, "an exec id", err) < 0)
		return ERR_INVALID;
	docker_call_submit(build_exec_inspect(d, k, exec_id, done, arg));
	return 0;
}

/* exec_run: create, start attached, inspect; one context travels through the three calls. */
struct exec_run {
	struct docker *d;
	enum docker_kind kind;
	docker_done_fn done;
	void *arg;
	char *exec_id;
	struct buf out, err;
	unsigned attempts;
	void (*arg_drop)(void *arg);	/* docker_set_drop's, for arg */
};

static void exec_run_free(void *arg)
{
	struct exec_run *x = arg;

	free(x->exec_id);
	buf_release(&x->out);
	buf_release(&x->err);
	free(x);
}

static void exec_run_end(struct exec_run *x, struct docker_result *r)
{
	r->attempts += x->attempts;
	if (x->out.len || x->err.len) {
		buf_release(&r->out);
		buf_release(&r->err);
		r->out = x->out;
		r->err = x->err;
		buf_init(&x->out, r->out.max);
		buf_init(&x->err, r->err.max);
	}
	x->done(r, x->arg);
	exec_run_free(x);
}

static void exec_run_inspected(struct docker_result *r, void *arg)
{
	struct exec_run *x = arg;

	exec_run_end(x, r);
}

/* A step's answer: 0 when it failed and the run has ended with it, 1 to go on (its attempts counted). */
static int exec_run_step_ok(struct exec_run *x, struct docker_result *r)
{
	if (r->status != DOCKER_OK) {
		exec_run_end(x, r);
		return 0;
	}
	x->attempts += r->attempts;
	return 1;
}

/* Its call dropped by docker_free: what waited for the run is told (docker_set_drop), and the run goes. */
static void exec_run_dropped(void *arg)
{
	struct exec_run *x = arg;

	if (x->arg_drop)
		x->arg_drop(x->arg);
	exec_run_free(x);
}

/* The run's next call; the run is freed with it if the call is dropped. */
static void exec_run_next(struct docker_call *c)
{
	c->drop = exec_run_dropped;
	docker_call_submit(c);
}

void docker_exec_runs_set_drop(struct docker *d, const void *arg, void (*drop)(void *arg))
{
	for (struct docker_call *c = d->calls; c; c = c->next)
		if (c->drop == exec_run_dropped && ((struct exec_run *)c->arg)->arg == arg)
			((struct exec_run *)c->arg)->arg_drop = drop;
}

static void exec_run_started(struct docker_result *r, void *arg)
{
	struct exec_run *x = arg;

	if (!exec_run_step_ok(x, r))
		return;
	x->out = r->out;
	x->err = r->err;
	buf_init(&r->out, x->out.max);
	buf_init(&r->err, x->err.max);
	exec_run_next(build_exec_inspect(x->d, x->kind, x->exec_id, exec_run_inspected, x));
}

static void exec_run_created(struct docker_result *r, void *arg)
{
	struct exec_run *x = arg;

	if (!exec_run_step_ok(x, r))
		return;
	x->exec_id = r->id;
	r->id = NULL;
	exec_run_next(build_exec_start(x->d, x->kind, x->exec_id, 0, exec_run_started, x));
}

int docker_exec_run(struct docker *d, enum docker_kind k, const char *id, const char *const *argv,
		    docker_done_fn done, void *arg, struct error **err)
{
	struct exec_run *x = xcalloc(1, sizeof(*x));
	struct docker_call *c = build_exec_create(d, k, id, argv, 1, exec_run_created, x, err);

	if (c == NULL) {
		free(x);
		return ERR_INVALID;
	}
	x->d = d;
	x->kind = k;
	x->done = done;
	x->arg = arg;
	buf_init(&x->out, d->cfg.max_body);
	buf_init(&x->err, d->cfg.max_body);
	exec_run_next(c);
	return 0;
}

int docker_image_inspect(struct docker *d, enum docker_kind k, const char *name,
			 docker_done_fn done, void *arg, struct error **err)
{
	return submit(object_call_named(d, k, OC_IMAGE_INSPECT, name, done, arg, err));
}

static int list_call(struct docker *d, enum docker_kind k, const char *what, const char *path,
		     const char *const *filters, enum docker_parse p, docker_done_fn done, void *arg,
		     struct error **err)
{
	struct docker_call *c = docker_call_new(d, k, "GET", what, NULL, done, arg);

	(void)buf_puts(&c->path, path);
	if (docker_call_filters(c, filters, '?', err) < 0) {
		docker_call_free(c);
		return ERR_INVALID;
	}
	c->idempotent = 1;
	c->parse = p;
	docker_call_submit(c);
	return 0;
}

int docker_network_list(struct docker *d, enum docker_kind k, const char *const *filters,
			docker_done_fn done, void *arg, struct error **err)
{
	return list_call(d, k, "list networks", "/networks", filters, DP_NETWORKS, done, arg, err);
}

int docker_volume_list(struct docker *d, enum docker_kind k, const char *const *filters,
		       docker_done_fn done, void *arg, struct error **err)
{
	return list_call(d, k, "list volumes", "/volumes", filters, DP_VOLUMES, done, arg, err);
}

int docker_network_create(struct docker *d, enum docker_kind k, const char *name, const char *driver,
			  int internal, const struct kv *labels, size_t n_labels,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;

	if (need(name, "a network name", err) < 0)
		return ERR_INVALID;
	c = docker_call_new(d, k, "POST", "create network", name, done, arg);
	(void)buf_puts(&c->path, "/networks/create");
	body = json_object();
	json_object_set_new(body, "Name", json_string(name));
	json_object_set_new(body, "Driver", json_string(driver ? driver : "bridge"));
	json_object_set_new(body, "Internal", json_boolean(internal));
	/* Without it, Docker happily makes a second network of the same name. */
	json_object_set_new(body, "CheckDuplicate", json_true());
	json_object_set_new(body, "Labels", docker__labels_json(labels, n_labels));
	docker__set_body(c, body);
	c->parse = DP_ID;
	docker_call_submit(c);
	return 0;
}

int docker_network_remove(struct docker *d, enum docker_kind k, const char *id,
			  docker_done_fn done, void *arg, struct error **err)
{
	return submit(object_call_named(d, k, OC_NETWORK_REMOVE, id, done, arg, err));
}

/* POST /networks/{network}/(dis)connect with {"Container": container} (and Force on a disconnect). */
static int network_attach(struct docker *d, enum docker_kind k, const char *network, const char *container,
			  int connect, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;

	if (need(network, "a network name", err) < 0 || need(container, "a container id", err) < 0)
		return ERR_INVALID;
	c = docker_call_new(d, k, "POST", connect ? "connect container" : "disconnect container", container, done,
			    arg);
	(void)buf_puts(&c->path, "/networks/");
	docker_call_path_escaped(c, network);
	(void)buf_puts(&c->path, connect ? "/connect" : "/disconnect");
	body = json_pack("{s:s}", "Container", container);
	if (!connect)
		json_object_set_new(body, "Force", json_true());
	docker__set_body(c, body);
	c->parse = DP_NONE;
	docker_call_submit(c);
	return 0;
}

int docker_network_connect(struct docker *d, enum docker_kind k, const char *network, const char *container,
			   docker_done_fn done, void *arg, struct error **err)
{
	return network_attach(d, k, network, container, 1, done, arg, err);
}

int docker_network_disconnect(struct docker *d, enum docker_kind k, const char *network, const char *container,
			      docker_done_fn done, void *arg, struct error **err)
{
	return network_attach(d, k, network, container, 0, done, arg, err);
}

int docker_volume_create(struct docker *d, enum docker_kind k, const char *name,
			 const struct kv *labels, size_t n_labels,
			 docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;

	if (need(name, "a volume name", err) < 0)
		return ERR_INVALID;
	c = docker_call_new(d, k, "POST", "create volume", name, done, arg);
	(void)buf_puts(&c->path, "/volumes/create");
	body = json_object();
	json_object_set_new(body, "Name", json_string(name));
	json_object_set_new(body, "Driver", json_string("local"));
	json_object_set_new(body, "Labels", docker__labels_json(labels, n_labels));
	docker__set_body(c, body);
	/* Creating a named local volume that exists returns it: safe to repeat. */
	c->idempotent = 1;
	c->parse = DP_VOLUME_NAME;
	docker_call_submit(c);
	return 0;
}

int docker_volume_remove(struct docker *d, enum docker_kind k, const char *name, int force,
			 docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = object_call_named(d, k, OC_VOLUME_REMOVE, name, done, arg, err);

	if (c)
		(void)buf_printf(&c->path, "?force=%d", force ? 1 : 0);
	return submit(c);
}
