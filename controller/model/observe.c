/* Observed state: turns Docker's container list into what auriga owns, grouped by deployment and ordinal. */
#include "model/observe.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static const char *const state_names[] = {
	[OBS_CREATED] = "created", [OBS_RUNNING] = "running", [OBS_RESTARTING] = "restarting",
	[OBS_PAUSED] = "paused",   [OBS_EXITED] = "exited",   [OBS_DEAD] = "dead",
	[OBS_REMOVING] = "removing", [OBS_OTHER] = "unknown",
};

const char *obs_state_name(enum obs_state s)
{
	return NAME_OF(state_names, s, "unknown");
}

static enum obs_state parse_state(const char *s)
{
	int i = s ? name_index(state_names, ARRAY_SIZE(state_names), s) : -1;

	return i < 0 ? OBS_OTHER : (enum obs_state)i;	/* "unknown" is OBS_OTHER too */
}

void observed_init(struct observed *o)
{
	memset(o, 0, sizeof(*o));
}

/* A container's strings: the count of containers that share them, then the strings. */
struct obs_strings {
	size_t refs;
	char text[];
};

static struct obs_strings *strings_ref(struct obs_strings *b)
{
	if (b != NULL)
		b->refs++;
	return b;
}

static void strings_drop(struct obs_strings *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

static void container_release(struct obs_container *c)
{
	strings_drop(c->strings);
	FREE_ALL(c->host, c->address, c->malformed_why, c->ports);
}

/*
 * The strings a container keeps in its block (host, address and
 * malformed_why are its own): one list for packing them, comparing them and
 * sharing them.
 */
static const size_t packed[] = {
	offsetof(struct obs_container, id),	     offsetof(struct obs_container, name),
	offsetof(struct obs_container, image),	     offsetof(struct obs_container, deployment),
	offsetof(struct obs_container, revision),    offsetof(struct obs_container, slot),
	offsetof(struct obs_container, commit),	     offsetof(struct obs_container, endpoint),
	offsetof(struct obs_container, network_ip),  offsetof(struct obs_container, swarm_service),
	offsetof(struct obs_container, node_address), offsetof(struct obs_container, node_name),
};

/* c's packed string number i, where it is kept. */
static char **packed_at(struct obs_container *c, size_t i)
{
	return (char **)(void *)((char *)c + packed[i]);
}

static const char *packed_of(const struct obs_container *c, size_t i)
{
	return *(char *const *)(const void *)((const char *)c + packed[i]);
}

/* Strings gathered for one container, then copied into one block (pack_done). */
struct str_pack {
	char **dst[ARRAY_SIZE(packed)];
	const char *src[ARRAY_SIZE(packed)];
	size_t n, len;
};

/* *dst will point at a copy of src in the block (NULL when src is). */
static void pack_add(struct str_pack *p, char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return;
	p->dst[p->n] = dst;
	p->src[p->n] = src;
	p->n++;
	p->len += strlen(src) + 1;
}

/* The block, every string added copied into it; NULL when none was. */
static struct obs_strings *pack_done(const struct str_pack *p)
{
	struct obs_strings *block;
	char *at;
	size_t i;

	if (p->n == 0)
		return NULL;
	block = xmalloc(sizeof(*block) + p->len);
	block->refs = 1;
	at = block->text;
	for (i = 0; i < p->n; i++) {
		size_t k = strlen(p->src[i]) + 1;

		memcpy(at, p->src[i], k);
		*p->dst[i] = at;
		at += k;
	}
	return block;
}

/* src's strings, packed as read_container packs them. */
static void pack_strings(struct obs_container *dst, const struct obs_container *src)
{
	struct str_pack p = { .n = 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(packed); i++)
		pack_add(&p, packed_at(dst, i), packed_of(src, i));
	dst->strings = pack_done(&p);
}

/* A copy of src: its strings shared (every one of them is in src's block), the rest its own. */
static void container_copy(struct obs_container *dst, const struct obs_container *src)
{
	*dst = *src;
	dst->strings = strings_ref(src->strings);
	dst->host = xstrdup_or_null(src->host);
	dst->address = xstrdup_or_null(src->address);
	dst->malformed_why = xstrdup_or_null(src->malformed_why);
	dst->ports = src->n_ports ? xmemdup(src->ports, src->n_ports * sizeof(*src->ports)) : NULL;
}

static int same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Docker lists a container's ports in no set order: each of a's is among b's (same count). */
static int same_ports(const struct obs_container *a, const struct obs_container *b)
{
	if (a->n_ports != b->n_ports)
		return 0;
	for (size_t i = 0; i < a->n_ports; i++) {
		size_t j;

		for (j = 0; j < b->n_ports; j++)
			if (a->ports[i].container_port == b->ports[j].container_port &&
			    a->ports[i].host_port == b->ports[j].host_port && a->ports[i].udp == b->ports[j].udp &&
			    strcmp(a->ports[i].host_ip, b->ports[j].host_ip) == 0)
				break;
		if (j == b->n_ports)
			return 0;
	}
	return 1;
}

/*
 * What the engine reads of a container and an event would have told. The
 * image is left out: the list names it by its ID once its tag moves on,
 * which no container event tells (the revision label says what it runs).
 */
static int same_container(const struct obs_container *a, const struct obs_container *b)
{
	return same_text(a->name, b->name) && a->state == b->state && a->health == b->health &&
	       same_text(a->revision, b->revision) && same_ports(a, b);
}

static int by_id(const void *pa, const void *pb)
{
	const struct obs_container *a = *(struct obs_container *const *)pa, *b = *(struct obs_container *const *)pb;

	return strcmp(a->id, b->id);
}

/* o's containers sorted by id: a new array of pointers (NULL when none), the caller's to free. */
static struct obs_container **sorted_by_id(const struct observed *o)
{
	struct obs_container **v;

	if (o->n_containers == 0)
		return NULL;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	v = xmemdup(o->containers, o->n_containers * sizeof(*v));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(v, o->n_containers, sizeof(*v), by_id);
	return v;
}

/*
 * Both lists sorted by id and walked side by side: at 10,000 containers two
 * arrays of pointers (160 kB), where a map of one list's ids took 1.3 MB
 * while both lists are held.
 */
size_t observed_differences(const struct observed *a, const struct observed *b)
{
	struct obs_container **x = sorted_by_id(a), **y = sorted_by_id(b);
	size_t i = 0, j = 0, n = 0;

	while (i < a->n_containers && j < b->n_containers) {
		int r = strcmp(x[i]->id, y[j]->id);

		if (r != 0) {
			n++;	/* gone (only in a) or new (only in b) */
			if (r < 0)
				i++;
			else
				j++;
			continue;
		}
		if (!same_container(x[i], y[j]))
			n++;
		i++;
		j++;
	}
	n += (a->n_containers - i) + (b->n_containers - j);
	free(x);
	free(y);
	return n;
}

void observed_release(struct observed *o)
{
	size_t i;

	for (i = 0; i < o->n_own; i++)
		container_release(&o->own[i]);
	FREE_ALL(o->own, o->containers, o->deployments, o->instance);
	memset(o, 0, sizeof(*o));
}

static const char *label(const json_t *labels, const char *key)
{
	const json_t *v = json_object_get(labels, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Lowercase hex of min to 64 digits: a revision or image id, whole or a prefix. */
static int hex_ok(const char *s, size_t min)
{
	size_t n = strlen(s);

	return n >= min && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

/* A revision label is a lowercase hex string (the full hash or a prefix of it). */
static int revision_ok(const char *s)
{
	return hex_ok(s, 6);
}

static void set_malformed(struct obs_container *c, const char *why)
{
	if (c->malformed)
		return;
	c->malformed = 1;
	c->malformed_why = xstrdup(why);
}

static int read_ports(struct obs_container *c, const json_t *ports, struct error **err)
{
	size_t i, cap = 0;
	const json_t *p;

	if (ports == NULL || json_is_null(ports))
		return 0;
	if (!json_is_array(ports))
		return error_set(err, ERR_PROTOCOL, "container '%s': Ports is not a list", c->id);
	json_array_foreach(ports, i, p) {
		struct obs_port op;
		const json_t *priv = json_object_get(p, "PrivatePort");
		const json_t *pub = json_object_get(p, "PublicPort");
		const char *ip = json_string_value(json_object_get(p, "IP"));
		const char *type = json_string_value(json_object_get(p, "Type"));

		if (!json_is_integer(priv))
			continue;
		memset(&op, 0, sizeof(op));
		op.container_port = (int)json_integer_value(priv);
		op.host_port = json_is_integer(pub) ? (int)json_integer_value(pub) : 0;
		if (ip)
			snprintf(op.host_ip, sizeof(op.host_ip), "%s", ip);
		op.udp = type && strcmp(type, "udp") == 0;
		/* Docker lists a port once per address family; keep one, preferring IPv4. */
		if (op.host_port && strchr(op.host_ip, ':') != NULL &&
		    obs_container_host_port(c, op.container_port) != 0)
			continue;
		XGROW(c->ports, cap, c->n_ports + 1);
		c->ports[c->n_ports++] = op;
	}
	return 0;
}

/*
 * A Swarm task's container: its ordinal is its slot less one, from the task's
 * name "<service>.<slot>.<task id>" (a service's labels are the same for every
 * task). NULL when it is not one.
 */
static const char *swarm_ordinal(const json_t *labels, char *buf, size_t n)
{
	const char *t = label(labels, "com.docker.swarm.task.name");
	const char *svc = label(labels, "com.docker.swarm.service.name");
	const char *end;
	long slot;
	size_t len;

	if (t == NULL || svc == NULL || !str_has_prefix(t, svc) || t[strlen(svc)] != '.')
		return NULL;
	t += strlen(svc) + 1;
	end = strchr(t, '.');
	len = end ? (size_t)(end - t) : strlen(t);
	if (len == 0 || len >= n)
		return NULL;
	memcpy(buf, t, len);
	buf[len] = '\0';
	if (parse_long(buf, 1, OBS_MAX_ORDINAL + 1, &slot) != 0)
		return NULL;
	snprintf(buf, n, "%d", (int)(slot - 1));
	return buf;
}

static int read_container(struct obs_container *c, const json_t *j, struct error **err)
{
	const json_t *labels = json_object_get(j, "Labels");
	const json_t *names = json_object_get(j, "Names");
	const char *id = json_string_value(json_object_get(j, "Id"));
	const char *name = NULL, *dep, *rev, *ord, *slot, *status;
	/* cppcheck-suppress variableScope ; ord points into it past the block that fills it */
	char ord_buf[16];
	/* Its strings as the entry has them, borrowed until they are packed into c's block. */
	struct obs_container in;
	long ordinal;

	if (id == NULL)
		return error_set(err, ERR_PROTOCOL, "container list: an entry has no Id");
	memset(&in, 0, sizeof(in));
	in.id = (char *)id;
	if (json_is_array(names) && json_array_size(names) > 0)
		name = json_string_value(json_array_get(names, 0));
	if (name && name[0] == '/')
		name++;
	in.name = (char *)(name ? name : id);
	in.image = (char *)json_string_value(json_object_get(j, "Image"));
	c->state = parse_state(json_string_value(json_object_get(j, "State")));
	status = json_string_value(json_object_get(j, "Status"));
	if (status && strstr(status, "(healthy)"))
		c->health = OBS_HEALTH_HEALTHY;
	else if (status && strstr(status, "(unhealthy)"))
		c->health = OBS_HEALTH_UNHEALTHY;
	else if (status && strstr(status, "(health: starting)"))
		c->health = OBS_HEALTH_STARTING;
	if (json_is_integer(json_object_get(j, "Created")))
		c->created = json_integer_value(json_object_get(j, "Created"));
	c->ordinal = -1;

	dep = label(labels, OBS_LABEL_DEPLOYMENT);
	rev = label(labels, OBS_LABEL_REVISION);
	ord = label(labels, OBS_LABEL_ORDINAL);
	slot = label(labels, OBS_LABEL_SLOT);
	in.slot = (char *)(slot ? slot : "");
	in.commit = (char *)label(labels, OBS_LABEL_COMMIT);
	in.endpoint = (char *)label(labels, OBS_LABEL_ENDPOINT);
	if (dep == NULL || dep[0] == '\0')
		set_malformed(c, "no deployment label");
	if (rev == NULL || !revision_ok(rev))
		set_malformed(c, "no usable revision label");
	else
		in.revision = (char *)rev;
	if (ord == NULL)
		ord = swarm_ordinal(labels, ord_buf, sizeof(ord_buf));
	if (label(labels, "com.docker.swarm.task.name")) {
		in.swarm_service = (char *)label(labels, "com.docker.swarm.service.name");
		in.node_address = (char *)json_string_value(json_object_get(j, "NodeAddress"));
		in.node_name = (char *)json_string_value(json_object_get(j, "NodeName"));
		c->node_down = json_is_true(json_object_get(j, "NodeDown"));
	}
	if (ord == NULL || parse_long(ord, 0, OBS_MAX_ORDINAL, &ordinal) != 0)
		set_malformed(c, "no usable ordinal label");
	else
		c->ordinal = (int)ordinal;
	if (c->malformed)
		c->ordinal = -1;
	else
		in.deployment = (char *)dep;
	if (label(labels, OBS_LABEL_NETWORK)) {
		const json_t *n = json_object_get(json_object_get(json_object_get(j, "NetworkSettings"), "Networks"),
						  label(labels, OBS_LABEL_NETWORK));
		const char *ip = json_string_value(json_object_get(n, "IPAddress"));

		if (ip && *ip)
			in.network_ip = (char *)ip;
	}
	pack_strings(c, &in);
	return read_ports(c, json_object_get(j, "Ports"), err);
}

static int nullcmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int container_cmp(const void *pa, const void *pb)
{
	const struct obs_container *a = *(struct obs_container *const *)pa, *b = *(struct obs_container *const *)pb;
	int r;

	if (a->malformed != b->malformed)
		return a->malformed - b->malformed;
	if ((r = nullcmp(a->deployment, b->deployment)) != 0)
		return r;
	if (a->ordinal != b->ordinal)
		return a->ordinal < b->ordinal ? -1 : 1;
	if ((r = nullcmp(a->revision, b->revision)) != 0)
		return r;
	return strcmp(a->id, b->id);
}

/* Tags c, listed from endpoint l, with where it runs: a label saying otherwise is not trusted. */
static void tag_container(struct obs_container *c, const struct obs_list *l)
{
	free(c->host);
	free(c->address);
	c->host = xstrdup_or_null(l->host ? l->host : c->endpoint);
	c->unreachable = l->unreachable || c->node_down;
	c->address = xstrdup_or_null(c->node_address ? c->node_address : l->address);
	c->host_mismatch = l->host && c->endpoint && strcmp(l->host, c->endpoint) != 0;
}

/* Appends j, one entry of a container list, when it is the instance's. */
static int read_entry(struct observed *o, size_t *cap, const char *instance, const json_t *j, size_t i,
		      struct error **err)
{
	const char *mb;

	if (!json_is_object(j))
		return error_set(err, ERR_PROTOCOL, "container list: entry %zu is not an object", i);
	mb = label(json_object_get(j, "Labels"), OBS_LABEL_MANAGED_BY);
	if (mb == NULL || strcmp(mb, instance) != 0)
		return 0;
	XGROW(o->own, *cap, o->n_own + 1);
	memset(&o->own[o->n_own], 0, sizeof(o->own[0]));
	return read_container(&o->own[o->n_own++], j, err);
}

/* The room o's arrays have while lists are read into it. */
struct obs_caps {
	size_t own;		/* of o->own */
	size_t lent;		/* of o->containers, which holds the lent ones until the end */
};

/*
 * Appends the instance's containers of one endpoint's list, each tagged with
 * the endpoint it came from: read or copied into o->own, or, lent, the
 * list's own containers, tagged where they are.
 */
static int read_list(struct observed *o, struct obs_caps *caps, const char *instance, const struct obs_list *l,
		     struct error **err)
{
	size_t i, first = o->n_own;
	const json_t *j;
	int rc;

	if (l->parsed != NULL && l->lend) {
		for (i = 0; i < l->parsed->n_containers; i++) {
			tag_container(l->parsed->containers[i], l);
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
			XGROW(o->containers, caps->lent, o->n_containers + 1);
			o->containers[o->n_containers++] = l->parsed->containers[i];
		}
		return 0;
	}
	if (l->parsed != NULL) {
		for (i = 0; i < l->parsed->n_containers; i++) {
			XGROW(o->own, caps->own, o->n_own + 1);
			container_copy(&o->own[o->n_own++], l->parsed->containers[i]);
		}
	} else if (!json_is_array(l->list)) {
		return error_set(err, ERR_PROTOCOL, "container list%s%s: the answer is not a JSON list",
				 l->host ? " of endpoint " : "", l->host ? l->host : "");
	} else {
		json_array_foreach(l->list, i, j)
			if ((rc = read_entry(o, &caps->own, instance, j, i, err)) < 0)
				return rc;
	}
	for (i = first; i < o->n_own; i++)
		tag_container(&o->own[i], l);
	return 0;
}

/*
 * Points o's containers at its own ones too (after the lent ones), sorts
 * them and groups them by deployment: each deployment's containers are next
 * to each other once sorted, so its v is its part of the one array, and its
 * name its first container's. The malformed sort last, in no deployment.
 */
static void index_deployments(struct observed *o)
{
	size_t i, n = o->n_containers + o->n_own, dcap = 0;

	/* Kept until the next list: no room left over from growing the arrays (16,384 places for 10,000). */
	if (o->n_own) {
		o->own = xrealloc(o->own, o->n_own * sizeof(o->own[0]));
	} else {
		free(o->own);	/* room made for a list that held none of the instance's */
		o->own = NULL;
	}
	if (n) {
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		o->containers = xrealloc(o->containers, n * sizeof(o->containers[0]));
	}
	for (i = 0; i < o->n_own; i++)
		o->containers[o->n_containers++] = &o->own[i];
	if (o->n_containers > 1) {
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		qsort(o->containers, o->n_containers, sizeof(o->containers[0]), container_cmp);
	}
	for (i = 0; i < o->n_containers && !o->containers[i]->malformed; i++) {
		struct obs_container *c = o->containers[i];
		struct obs_deployment *d = o->n_deployments ? &o->deployments[o->n_deployments - 1] : NULL;

		if (d == NULL || strcmp(d->name, c->deployment) != 0) {
			XGROW(o->deployments, dcap, o->n_deployments + 1);
			d = &o->deployments[o->n_deployments++];
			memset(d, 0, sizeof(*d));
			d->name = c->deployment;
			d->v = &o->containers[i];
		}
		d->n++;
	}
	if (o->n_deployments)
		o->deployments = xrealloc(o->deployments, o->n_deployments * sizeof(o->deployments[0]));
}

/* Skips JSON white space from *pos; the byte there, or 0 at the end. */
/* ------------------------------------------------------------ the list as it arrives */

/* Where the reader is in the list: the text around the entries, or inside one. */
enum os_state {
	OS_BEFORE,		/* white space, then '[' */
	OS_FIRST,		/* after '[': an entry or ']' */
	OS_WANT_ENTRY,		/* after ',': an entry */
	OS_AFTER_ENTRY,		/* ',' or ']' */
	OS_ENTRY,		/* inside an entry: its bytes are kept until it closes */
	OS_END,			/* after ']': white space only */
	OS_FAILED,
};

/* The largest entry kept while it arrives: Docker's are a few kB. */
#define OS_ENTRY_MAX (4u << 20)

struct observe_stream {
	char *instance;
	struct observed o;
	size_t cap;		/* of o.own */
	struct obs_container **like;	/* observe_stream_like: prev's containers, sorted by id */
	size_t n_like;
	size_t index;		/* entries read */
	size_t offset;		/* bytes fed before the current chunk */
	size_t entry_at;	/* byte where the current entry began */
	enum os_state state;
	int depth, in_str, esc;
	struct buf entry;
	struct error *err;
};

struct observe_stream *observe_stream_new(const char *instance)
{
	struct observe_stream *s = xcalloc(1, sizeof(*s));

	s->instance = xstrdup(instance);
	observed_init(&s->o);
	buf_init(&s->entry, OS_ENTRY_MAX);
	return s;
}

void observe_stream_reset(struct observe_stream *s)
{
	observed_release(&s->o);
	s->cap = s->index = s->offset = s->entry_at = 0;
	s->state = OS_BEFORE;
	s->depth = s->in_str = s->esc = 0;
	buf_reset(&s->entry);
	error_free(s->err);
	s->err = NULL;
}

void observe_stream_like(struct observe_stream *s, const struct observed *prev)
{
	free(s->like);
	s->like = prev ? sorted_by_id(prev) : NULL;
	s->n_like = s->like ? prev->n_containers : 0;
}

/* c, just read, takes the strings of the last list's container of its id when they are all the same. */
static void share_strings(struct observe_stream *s, struct obs_container *c)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct obs_container *const *found = bsearch(&c, s->like, s->n_like, sizeof(*s->like), by_id);
	const struct obs_container *p = found ? *found : NULL;
	size_t i;

	if (p == NULL || p->strings == c->strings)
		return;
	for (i = 0; i < ARRAY_SIZE(packed); i++)
		if (!same_text(packed_of(c, i), packed_of(p, i)))
			return;
	strings_drop(c->strings);
	c->strings = strings_ref(p->strings);
	for (i = 0; i < ARRAY_SIZE(packed); i++)
		*packed_at(c, i) = (char *)packed_of(p, i);
}

void observe_stream_free(struct observe_stream *s)
{
	if (s == NULL)
		return;
	observe_stream_reset(s);
	buf_release(&s->entry);
	free(s->like);
	free(s->instance);
	free(s);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void os_fail(struct observe_stream *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void os_fail(struct observe_stream *s, int code, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)error_set(&s->err, code, "%s", msg);
	s->state = OS_FAILED;
	buf_reset(&s->entry);
}

/* The entry kept in s->entry is whole: read it as one JSON object. */
static void os_entry_done(struct observe_stream *s)
{
	json_error_t je;
	json_t *j = json_loadb(s->entry.data, s->entry.len, JSON_REJECT_DUPLICATES, &je);
	size_t n;

	if (j == NULL) {
		os_fail(s, ERR_PROTOCOL, "malformed JSON in the container list at byte %zu: %s",
			s->entry_at + (size_t)je.position, je.text);
		return;
	}
	/* Room for as many as the last list had, at once, rather than doubling past them while both are held. */
	if (s->o.own == NULL && s->n_like > 0) {
		s->o.own = xcalloc(s->n_like, sizeof(*s->o.own));
		s->cap = s->n_like;
	}
	n = s->o.n_own;
	if (read_entry(&s->o, &s->cap, s->instance, j, s->index, &s->err) < 0) {
		json_decref(j);
		s->state = OS_FAILED;
		buf_reset(&s->entry);
		return;
	}
	json_decref(j);
	if (s->o.n_own > n && s->n_like > 0)
		share_strings(s, &s->o.own[n]);
	s->index++;
	buf_reset(&s->entry);
	s->state = OS_AFTER_ENTRY;
}

/*
 * Scans an entry's bytes from data[i]: strings (and their escapes) and
 * nesting, until the entry closes or the chunk ends. Returns the index
 * after the last byte taken.
 */
static size_t os_scan_entry(struct observe_stream *s, const char *data, size_t len, size_t i)
{
	size_t from = i;

	for (; i < len; i++) {
		char c = data[i];

		if (c == '\0') {
			os_fail(s, ERR_PROTOCOL, "container list: a NUL byte at byte %zu", s->offset + i);
			return len;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (c == '\\')
				s->esc = 1;
			else if (c == '"')
				s->in_str = 0;
			continue;
		}
		if (c == '"') {
			s->in_str = 1;
		} else if (c == '{' || c == '[') {
			s->depth++;
		} else if ((c == '}' || c == ']') && --s->depth == 0) {
			i++;
			break;
		}
	}
	if (buf_append(&s->entry, data + from, i - from) < 0) {
		os_fail(s, ERR_TOOBIG, "container list: entry %zu is over %u bytes", s->index, OS_ENTRY_MAX);
		return len;
	}
	if (s->depth == 0)
		os_entry_done(s);
	return i;
}

void observe_stream_feed(struct observe_stream *s, const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && s->state != OS_FAILED) {
		char c = data[i];

		if (s->state == OS_ENTRY) {
			i = os_scan_entry(s, data, len, i);
			continue;
		}
		if (c == '\0') {
			os_fail(s, ERR_PROTOCOL, "container list: a NUL byte at byte %zu", s->offset + i);
			break;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		switch (s->state) {
		case OS_BEFORE:
			if (c == '[')
				s->state = OS_FIRST;
			else
				os_fail(s, ERR_PROTOCOL, "container list: the answer is not a JSON list");
			break;
		case OS_AFTER_ENTRY:
			if (c == ',')
				s->state = OS_WANT_ENTRY;
			else if (c == ']')
				s->state = OS_END;
			else
				os_fail(s, ERR_PROTOCOL, "malformed JSON in the container list at byte %zu: "
					"',' or ']' expected after entry %zu", s->offset + i, s->index - 1);
			break;
		case OS_FIRST:
		case OS_WANT_ENTRY:
			if (c == ']' && s->state == OS_FIRST) {
				s->state = OS_END;
			} else if (c == '{' || c == '[') {
				s->state = OS_ENTRY;
				s->entry_at = s->offset + i;
				s->depth = s->in_str = s->esc = 0;
				continue;	/* os_scan_entry takes this byte */
			} else {
				os_fail(s, ERR_PROTOCOL, "malformed JSON in the container list at byte %zu: "
					"'[' or '{' expected", s->offset + i + 1);
			}
			break;
		case OS_END:
			os_fail(s, ERR_PROTOCOL, "malformed JSON in the container list at byte %zu: end of text expected",
				s->offset + i);
			break;
		default:
			break;
		}
		i++;
	}
	s->offset += len;
}

void observe_stream_chunk(const char *data, size_t len, void *stream)
{
	if (data == NULL)
		observe_stream_reset(stream);
	else
		observe_stream_feed(stream, data, len);
}

int observe_stream_finish(struct observe_stream *s, struct observed *o, struct error **err)
{
	int rc = 0;

	if (s->state == OS_BEFORE) {
		rc = error_set(err, ERR_PROTOCOL, "container list: the answer is not a JSON list");
	} else if (s->state == OS_FAILED) {
		rc = error_code(s->err) < 0 ? error_code(s->err) : ERR_PROTOCOL;
		if (err && *err == NULL)
			*err = s->err;
		else
			error_free(s->err);
		s->err = NULL;
	} else if (s->state != OS_END) {
		rc = error_set(err, ERR_PROTOCOL, "malformed JSON in the container list at byte %zu: "
			       "the answer ended inside the list", s->offset);
	} else {
		observed_release(o);
		*o = s->o;
		o->instance = xstrdup(s->instance);
		index_deployments(o);
		observed_init(&s->o);
	}
	observe_stream_like(s, NULL);
	observe_stream_reset(s);
	return rc;
}

int observe_parse_list(struct observed *o, const char *instance, const char *body, size_t len, struct error **err)
{
	struct observe_stream *s = observe_stream_new(instance);
	int rc;

	observe_stream_feed(s, body, len);
	rc = observe_stream_finish(s, o, err);
	observe_stream_free(s);
	if (rc < 0)
		observed_release(o);
	return rc;
}

int observe_from_json(struct observed *o, const char *instance, const json_t *list, struct error **err)
{
	struct obs_list l = { NULL, list, NULL, 0, NULL, 0 };

	return observe_from_lists(o, instance, &l, 1, err);
}

int observe_from_lists(struct observed *o, const char *instance, const struct obs_list *lists, size_t n,
		       struct error **err)
{
	struct obs_caps caps = { 0, 0 };
	size_t i;

	observed_release(o);
	o->instance = xstrdup(instance);
	for (i = 0; i < n; i++) {
		int rc = read_list(o, &caps, instance, &lists[i], err);

		if (rc < 0) {
			observed_release(o);
			return rc;
		}
	}
	index_deployments(o);
	return 0;
}

const struct obs_deployment *observed_deployment(const struct observed *o, const char *name)
{
	size_t lo = 0, hi = o->n_deployments;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, o->deployments[mid].name);

		if (r == 0)
			return &o->deployments[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *obs_container_addr(const struct obs_container *c, const struct obs_port *p)
{
	if (c->address)
		return c->address;
	return p && strchr(p->host_ip, ':') ? "::1" : "127.0.0.1";
}

int obs_container_host_port(const struct obs_container *c, int container_port)
{
	size_t i;

	for (i = 0; i < c->n_ports; i++)
		if (c->ports[i].container_port == container_port && c->ports[i].host_port)
			return c->ports[i].host_port;
	return 0;
}

int obs_container_alive(const struct obs_container *c)
{
	return c->state == OBS_RUNNING || c->state == OBS_RESTARTING;
}

int obs_revision_eq(const char *a, const char *b)
{
	size_t n;

	if (a == NULL || b == NULL)
		return 0;
	n = strlen(a) < strlen(b) ? strlen(a) : strlen(b);
	return n >= 6 && strncmp(a, b, n) == 0;
}

char *observe_filter(const char *instance)
{
	return xasprintf("label=" OBS_LABEL_MANAGED_BY "=%s", instance);
}

int observe_image_is_id(const char *image)
{
	return str_has_prefix(image, "sha256:") || hex_ok(image, 12);
}
