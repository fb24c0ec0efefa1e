/* Results of Docker calls: lifting response bodies into typed fields, strictly, and freeing them. */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct kv *docker_labels_from_json(json_t *obj, size_t *n)
{
	struct kv *l;
	const char *k;
	json_t *v;
	size_t i = 0;

	*n = 0;
	if (!json_is_object(obj) || json_object_size(obj) == 0)
		return NULL;
	l = xcalloc(json_object_size(obj), sizeof(*l));
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			continue;
		l[i].key = xstrdup(k);
		l[i].value = xstrdup(json_string_value(v));
		i++;
	}
	*n = i;
	return l;
}

static void summary_release(struct docker_container_summary *s)
{
	FREE_ALL(s->id, s->name, s->image, s->image_id, s->state, s->status);
	kv_free(s->labels, s->n_labels);
}

static void info_release(struct docker_container_info *i)
{
	FREE_ALL(i->id, i->name, i->image, i->image_id, i->status, i->health, i->started_at, i->finished_at,
		 i->ip_address);
	kv_free(i->labels, i->n_labels);
}

static void object_release(struct docker_object *o)
{
	FREE_ALL(o->id, o->name, o->driver);
	kv_free(o->labels, o->n_labels);
}

const char *docker_result_reason(const struct docker_result *r)
{
	return r->message && r->message[0] ? r->message : docker_status_name(r->status);
}

void docker_result_release(struct docker_result *r)
{
	size_t i, max_out = r->out.max, max_err = r->err.max;

	FREE_ALL(r->message, r->id, r->api_version);
	json_decref(r->json);
	for (i = 0; i < r->n_containers; i++)
		summary_release(&r->containers[i]);
	free(r->containers);
	info_release(&r->container);
	for (i = 0; i < r->n_objects; i++)
		object_release(&r->objects[i]);
	free(r->objects);
	buf_release(&r->out);
	buf_release(&r->err);
	memset(r, 0, sizeof(*r));
	buf_init(&r->out, max_out);
	buf_init(&r->err, max_err);
}

void docker_result_move(struct docker_result *dst, struct docker_result *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
	buf_init(&src->out, dst->out.max);
	buf_init(&src->err, dst->err.max);
}

/* ------------------------------------------------------------------ lifting */

/* A string field: absent or null is fine unless required; any other type is a protocol error. */
static int get_str(json_t *o, const char *key, int required, char **out, struct error **err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			return error_set(err, ERR_PROTOCOL, "the answer lacks '%s'", key);
		return 0;
	}
	if (!json_is_string(v))
		return error_set(err, ERR_PROTOCOL, "'%s' in the answer is not a string", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* An integer field, or with boolean a true/false one (1 or 0); absent or null leaves *out as it is. */
static int get_num(json_t *o, const char *key, int boolean, int64_t *out, struct error **err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (boolean ? !json_is_boolean(v) : !json_is_integer(v))
		return error_set(err, ERR_PROTOCOL, "'%s' in the answer is not %s", key,
				 boolean ? "a boolean" : "an integer");
	*out = boolean ? json_is_true(v) : json_integer_value(v);
	return 0;
}

static int get_int(json_t *o, const char *key, int64_t *out, struct error **err)
{
	return get_num(o, key, 0, out, err);
}

static int get_bool(json_t *o, const char *key, int *out, struct error **err)
{
	int64_t b = *out;
	int rc = get_num(o, key, 1, &b, err);

	*out = (int)b;
	return rc;
}

static void strip_slash(char *s)
{
	if (s && s[0] == '/')
		memmove(s, s + 1, strlen(s));
}

static int lift_containers(struct docker_result *r, struct error **err)
{
	size_t i, n;

	if (!json_is_array(r->json))
		return error_set(err, ERR_PROTOCOL, "the container list is not an array");
	n = json_array_size(r->json);
	r->containers = xcalloc(n ? n : 1, sizeof(*r->containers));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(r->json, i);
		struct docker_container_summary *s = &r->containers[i];
		json_t *names;

		r->n_containers = i + 1;
		if (!json_is_object(o))
			return error_set(err, ERR_PROTOCOL, "container %zu in the list is not an object", i);
		if (get_str(o, "Id", 1, &s->id, err) < 0 || get_str(o, "Image", 0, &s->image, err) < 0 ||
		    get_str(o, "ImageID", 0, &s->image_id, err) < 0 ||
		    get_str(o, "State", 0, &s->state, err) < 0 || get_str(o, "Status", 0, &s->status, err) < 0 ||
		    get_int(o, "Created", &s->created, err) < 0)
			return ERR_PROTOCOL;
		names = json_object_get(o, "Names");
		if (json_is_array(names) && json_is_string(json_array_get(names, 0))) {
			s->name = xstrdup(json_string_value(json_array_get(names, 0)));
			strip_slash(s->name);
		}
		s->labels = docker_labels_from_json(json_object_get(o, "Labels"), &s->n_labels);
	}
	return 0;
}

static int lift_container(struct docker_result *r, struct error **err)
{
	struct docker_container_info *c = &r->container;
	json_t *o = r->json, *state, *config, *health, *nets;

	if (!json_is_object(o))
		return error_set(err, ERR_PROTOCOL, "the container is not an object");
	state = json_object_get(o, "State");
	config = json_object_get(o, "Config");
	if (!json_is_object(state))
		return error_set(err, ERR_PROTOCOL, "the answer lacks 'State'");
	if (get_str(o, "Id", 1, &c->id, err) < 0 || get_str(o, "Name", 0, &c->name, err) < 0 ||
	    get_str(o, "Image", 0, &c->image_id, err) < 0 ||
	    get_int(o, "RestartCount", &c->restart_count, err) < 0 ||
	    get_str(state, "Status", 0, &c->status, err) < 0 ||
	    get_bool(state, "Running", &c->running, err) < 0 ||
	    get_bool(state, "Restarting", &c->restarting, err) < 0 ||
	    get_bool(state, "OOMKilled", &c->oom_killed, err) < 0 ||
	    get_int(state, "ExitCode", &c->exit_code, err) < 0 || get_int(state, "Pid", &c->pid, err) < 0 ||
	    get_str(state, "StartedAt", 0, &c->started_at, err) < 0 ||
	    get_str(state, "FinishedAt", 0, &c->finished_at, err) < 0)
		return ERR_PROTOCOL;
	strip_slash(c->name);
	health = json_object_get(state, "Health");
	if (json_is_object(health) && get_str(health, "Status", 0, &c->health, err) < 0)
		return ERR_PROTOCOL;
	if (json_is_object(config)) {
		if (get_str(config, "Image", 0, &c->image, err) < 0)
			return ERR_PROTOCOL;
		c->labels = docker_labels_from_json(json_object_get(config, "Labels"), &c->n_labels);
	}
	nets = json_object_get(json_object_get(o, "NetworkSettings"), "Networks");
	if (json_is_object(nets)) {
		const char *k;
		json_t *v;

		json_object_foreach(nets, k, v) {
			const char *ip = json_string_value(json_object_get(v, "IPAddress"));

			if (ip && *ip) {
				c->ip_address = xstrdup(ip);
				break;
			}
		}
	}
	return 0;
}

static int lift_object(json_t *o, struct docker_object *ob, const char *idkey, struct error **err)
{
	if (!json_is_object(o))
		return error_set(err, ERR_PROTOCOL, "an entry of the answer is not an object");
	if (get_str(o, idkey, 1, &ob->id, err) < 0 || get_str(o, "Driver", 0, &ob->driver, err) < 0)
		return ERR_PROTOCOL;
	if (json_is_string(json_object_get(o, "Name"))) {
		ob->name = xstrdup(json_string_value(json_object_get(o, "Name")));
	} else {
		json_t *tags = json_object_get(o, "RepoTags");

		if (json_is_string(json_array_get(tags, 0)))
			ob->name = xstrdup(json_string_value(json_array_get(tags, 0)));
	}
	ob->labels = docker_labels_from_json(json_object_get(o, "Labels"), &ob->n_labels);
	if (ob->labels == NULL)
		ob->labels = docker_labels_from_json(
			json_object_get(json_object_get(o, "Config"), "Labels"), &ob->n_labels);
	return 0;
}

static int lift_objects(struct docker_result *r, json_t *arr, const char *idkey, struct error **err)
{
	size_t i, n;

	if (!json_is_array(arr))
		return error_set(err, ERR_PROTOCOL, "the list in the answer is not an array");
	n = json_array_size(arr);
	r->objects = xcalloc(n ? n : 1, sizeof(*r->objects));
	for (i = 0; i < n; i++) {
		r->n_objects = i + 1;
		if (lift_object(json_array_get(arr, i), &r->objects[i], idkey, err) < 0)
			return ERR_PROTOCOL;
	}
	return 0;
}

static int parse_json(struct docker_result *r, struct http_response *resp, struct error **err)
{
	json_error_t je;

	r->json = json_loadb(resp->body.data, resp->body.len, JSON_REJECT_DUPLICATES, &je);
	if (r->json == NULL)
		return error_set(err, ERR_PROTOCOL, "malformed JSON in the answer at byte %d: %s",
				 je.position, je.text);
	return 0;
}

int docker_parse_body(struct docker_result *r, enum docker_parse p, struct http_response *resp,
		      size_t max, struct error **err)
{
	struct docker_demux dm;
	const char *v;
	int rc;

	(void)max;
	switch (p) {
	case DP_NONE:
		return 0;
	case DP_PING:
		v = http_response_header(resp, "API-Version");
		if (v == NULL || docker_api_compare(v, "1.0") < 0)
			return error_set(err, ERR_PROTOCOL, "/_ping answered without a usable API-Version header");
		r->api_version = xstrdup(v);
		return 0;
	case DP_RAW:
		/* The body moves as it is: its bound was the call's own. */
		buf_release(&r->out);
		r->out = resp->body;
		buf_init(&resp->body, 0);
		return 0;
	case DP_STREAM:
		docker_demux_init(&dm);
		rc = docker_demux_feed(&dm, resp->body.data, resp->body.len, &r->out, &r->err);
		if (rc == ERR_TOOBIG)
			return error_set(err, ERR_TOOBIG, "the output is larger than %zu bytes", r->out.max);
		if (rc < 0 || !docker_demux_complete(&dm))
			return error_set(err, ERR_PROTOCOL, "the output stream is cut inside a frame");
		return 0;
	default:
		break;
	}
	if (parse_json(r, resp, err) < 0)
		return ERR_PROTOCOL;
	switch (p) {
	case DP_VERSION:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "/version is not an object");
		return get_str(r->json, "ApiVersion", 1, &r->api_version, err);
	case DP_CONTAINERS:
		return lift_containers(r, err);
	case DP_CONTAINER:
		return lift_container(r, err);
	case DP_ID:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "the answer is not an object");
		return get_str(r->json, "Id", 1, &r->id, err);
	case DP_SERVICE_ID:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "the answer is not an object");
		return get_str(r->json, "ID", 1, &r->id, err);
	case DP_VOLUME_NAME:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "the answer is not an object");
		return get_str(r->json, "Name", 1, &r->id, err);
	case DP_WAIT:
		if (!json_is_object(r->json) || !json_is_integer(json_object_get(r->json, "StatusCode")))
			return error_set(err, ERR_PROTOCOL, "the wait answer lacks 'StatusCode'");
		r->exit_code = json_integer_value(json_object_get(r->json, "StatusCode"));
		return 0;
	case DP_EXEC_INSPECT:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "the answer is not an object");
		r->exit_code = -1;
		if (get_bool(r->json, "Running", &r->running, err) < 0 ||
		    get_int(r->json, "ExitCode", &r->exit_code, err) < 0)
			return ERR_PROTOCOL;
		return 0;
	case DP_IMAGE:
		r->objects = xcalloc(1, sizeof(*r->objects));
		r->n_objects = 1;
		return lift_object(r->json, &r->objects[0], "Id", err);
	case DP_NETWORKS:
		return lift_objects(r, r->json, "Id", err);
	case DP_VOLUMES:
		if (!json_is_object(r->json))
			return error_set(err, ERR_PROTOCOL, "the volume list is not an object");
		if (json_is_null(json_object_get(r->json, "Volumes")))
			return 0;
		return lift_objects(r, json_object_get(r->json, "Volumes"), "Name", err);
	default:
		return 0;
	}
}
