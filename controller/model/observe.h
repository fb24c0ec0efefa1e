/* Observed state: what auriga owns on a Docker host, read from one labelled container list. */
#ifndef AURIGA_OBSERVE_H
#define AURIGA_OBSERVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Ownership and identity come from labels alone (DESIGN.md): a container is
 * ours when its managed-by label names this instance, and everything else
 * about it (deployment, revision, ordinal, slot, commit) is read from its
 * other labels. A container of ours whose labels are incomplete or unusable
 * is kept as "malformed" so the plan can replace it; containers of other
 * instances or of nobody are never listed here at all.
 */
#define OBS_LABEL_PREFIX "auriga.io/"
#define OBS_LABEL_MANAGED_BY "auriga.io/managed-by"
#define OBS_LABEL_DEPLOYMENT "auriga.io/deployment"
#define OBS_LABEL_REVISION "auriga.io/revision"
#define OBS_LABEL_ORDINAL "auriga.io/ordinal"
#define OBS_LABEL_SLOT "auriga.io/slot"
#define OBS_LABEL_COMMIT "auriga.io/commit"
/* The Docker endpoint (the Cluster's, by name) the container was made on: its host. */
#define OBS_LABEL_ENDPOINT "auriga.io/endpoint"
/* The container's network, when auriga owns it: probes go to the container's address there. */
#define OBS_LABEL_NETWORK "auriga.io/network"

/* The largest ordinal we accept from a label: anything above is malformed. */
#define OBS_MAX_ORDINAL 100000

enum obs_state {
	OBS_CREATED,	/* created, never started (or a start that did not happen) */
	OBS_RUNNING,
	OBS_RESTARTING,
	OBS_PAUSED,
	OBS_EXITED,
	OBS_DEAD,
	OBS_REMOVING,
	OBS_OTHER,
};

const char *obs_state_name(enum obs_state s);

enum obs_health { OBS_HEALTH_NONE, OBS_HEALTH_STARTING, OBS_HEALTH_HEALTHY, OBS_HEALTH_UNHEALTHY };

struct obs_port {
	int container_port;
	int host_port;		/* 0 when not published */
	char host_ip[48];
	int udp;
};

struct obs_container {
	char *id;
	char *name;		/* without the leading '/' */
	char *image;
	char *deployment;	/* NULL when malformed */
	char *revision;
	char *slot;		/* "" for rolling and recreate */
	char *commit;
	char *endpoint;		/* its label auriga.io/endpoint; NULL for one made before the label */
	/*
	 * The endpoint whose list it came from (a single list with no name:
	 * its label's, NULL without one): where it runs and where every action
	 * on it goes.
	 */
	char *host;
	int host_mismatch;	/* its label names another endpoint than host: reported, not trusted */
	int unreachable;	/* its endpoint does not answer: this is its last known state */
	/* Where its published ports are reached when not on this machine's loopback (its endpoint's address), or NULL. */
	char *address;
	int ordinal;		/* -1 when malformed */
	int malformed;		/* ours by managed-by, but the other labels are unusable */
	char *malformed_why;
	enum obs_state state;
	/*
	 * Docker's HEALTHCHECK verdict, read from its status ("Up 3 minutes
	 * (healthy)"); the text itself, which changes as time passes, is not kept.
	 */
	enum obs_health health;
	int64_t created;	/* unix seconds */
	struct obs_port *ports;
	size_t n_ports;
	/* Its address on the network auriga owns (label auriga.io/network), or NULL. */
	char *network_ip;
	/* A Swarm task's container: its service's name (Swarm makes and removes it, not auriga); else NULL. */
	char *swarm_service;
	/*
	 * A Swarm task listed from the manager (engine_swarm.c): the address of the
	 * node it runs on, where its published ports are reached ("NodeAddress" in
	 * the list auriga builds from the tasks; never in Docker's own). NULL: the
	 * endpoint's address, as for any container.
	 */
	char *node_address;
	/* ... and that node's name (its hostname, as `docker node ls` shows it); NULL when not a task. */
	char *node_name;
	/* ... and its node is not ready (down, or gone): the task counts as unreachable until Swarm moves it. */
	int node_down;
	/*
	 * The block its strings are in (one allocation for a container, not one
	 * each), host, address and malformed_why excepted. Never changed once
	 * made: shared, and counted, by the copies of it and by the same
	 * container in the next list read (observe_stream_like).
	 */
	struct obs_strings *strings;
};

/* The containers of one deployment, sorted by ordinal, then revision, then id. */
struct obs_deployment {
	const char *name;	/* its first container's deployment */
	struct obs_container **v;	/* its part of struct observed's containers */
	size_t n;
};

struct observed {
	char *instance;
	/*
	 * Every container, sorted by deployment (the malformed last), ordinal,
	 * revision, id: each one of own, or of a list the union was built from
	 * (obs_list.lend).
	 */
	struct obs_container **containers;
	size_t n_containers;
	struct obs_container *own;	/* the containers it read or copied, and frees */
	size_t n_own;
	struct obs_deployment *deployments;	/* sorted by name; malformed containers are in none */
	size_t n_deployments;
};

void observed_init(struct observed *o);
void observed_release(struct observed *o);

/*
 * How many containers differ between two lists of one endpoint: in one and
 * not the other (by id), or in both with another name, state, health,
 * revision or published ports (in any order).
 */
size_t observed_differences(const struct observed *a, const struct observed *b);

/*
 * Builds o from the JSON array GET /containers/json answers. Containers whose
 * managed-by label is not instance are skipped (the list is filtered by that
 * label already; this keeps the function safe on an unfiltered list).
 * Returns 0, or ERR_PROTOCOL with *err when the body is not a list of
 * container objects.
 */
int observe_from_json(struct observed *o, const char *instance, const json_t *list, struct error **err);
/*
 * observe_swarm.c: Swarm's nodes, services and tasks (the answers of GET
 * /nodes, /services and /tasks) as a container list (a new array for
 * observe_from_json): each task Swarm runs or is bringing up, of one of the
 * services given, as its container, wherever it runs: its name
 * "<service>.<slot>.<task id>", its spec's labels with Swarm's service and
 * task names, "running" (its health check passed, when it has one: Swarm
 * counts it running only then) or "created", its published ports,
 * "NodeAddress" and "NodeName", its node's, and "NodeDown" when that node is not ready (the
 * task is then unreachable, as on a host down). A task that stopped is
 * Swarm's history: left out.
 */
json_t *observe_swarm_list(const json_t *nodes, const json_t *services, const json_t *tasks);

/*
 * What Swarm moved: placed holds where each replica ("<service>.<slot>")
 * ran when last seen running, {"node", "revision", "deployment"}; o is the
 * list read now (observe_swarm_list), nodes GET /nodes's answer. A replica
 * running now on another node than placed says, at the same revision and
 * with no task left running where it was, moved: appended to moves as
 * {"deployment", "task", "from", "to", "reason"}, reason "node down" when
 * the node it left is not ready, else "rescheduled". A new revision on
 * another node is a release, not a move. placed is then brought up to date:
 * a replica not running now keeps its last place; one whose deployment has
 * no task listed is forgotten.
 */
void observe_swarm_moves(json_t *placed, const struct observed *o, const json_t *nodes, json_t *moves);

/*
 * Builds o from the body of GET /containers/json, one entry at a time (the
 * list is never held whole as a JSON tree; the entries that are not
 * instance's are read and dropped). Its containers carry no endpoint yet:
 * observe_from_lists tags them. 0, or ERR_PROTOCOL with *err when the body
 * is not a JSON list of container objects.
 */
int observe_parse_list(struct observed *o, const char *instance, const char *body, size_t len, struct error **err);

/*
 * The same, read as the answer arrives: each entry is kept only until it
 * closes, then read and dropped, so neither the body nor a tree of it is
 * ever held whole. Feed the chunks in order (a failure stops the reading;
 * finish tells it); reset when another answer begins (a retried request);
 * finish gives the list into o (released first), or ERR_PROTOCOL (or
 * ERR_TOOBIG for an entry over 4 MiB) with *err, and resets the stream.
 */
struct observe_stream;
struct observe_stream *observe_stream_new(const char *instance);
void observe_stream_feed(struct observe_stream *s, const char *data, size_t len);
/* A piece of the answer as a streamed call gives it (docker_chunk_fn): data NULL resets, else feeds. */
void observe_stream_chunk(const char *data, size_t len, void *stream);
void observe_stream_reset(struct observe_stream *s);
/*
 * The list about to be read is likely much like prev, the last one read of
 * the same endpoint: room for prev's count is made at once, not by doubling
 * past it while both lists are held, and an entry whose strings are all the
 * same as those of prev's container of that id shares prev's block of them
 * instead of a block of its own. While a relist finds little changed, the
 * cache and the list replacing it do not hold each container's strings
 * twice. Kept across a retried answer (a reset); prev must stay until the
 * reading ends: finish forgets it, and so does like(s, NULL).
 */
void observe_stream_like(struct observe_stream *s, const struct observed *prev);
int observe_stream_finish(struct observe_stream *s, struct observed *o, struct error **err);
void observe_stream_free(struct observe_stream *s);

/*
 * One endpoint's container list: host names it (NULL: unnamed); unreachable:
 * its last known answer. Either list (the JSON answer) or parsed (read by
 * observe_parse_list; when set, list is not read).
 */
struct obs_list {
	const char *host;
	const json_t *list;
	struct observed *parsed;
	int unreachable;
	const char *address;	/* its endpoint's address when not the loopback, or NULL */
	/*
	 * parsed outlives the union (until it is built again or released): the
	 * union holds its containers themselves, tagged in place, rather than
	 * copies, one copy of each container for the engine's cache and its
	 * union.
	 */
	int lend;
};

/*
 * The union of several endpoints' lists, as observe_from_json builds one:
 * each container tagged with the endpoint it was listed from.
 */
int observe_from_lists(struct observed *o, const char *instance, const struct obs_list *lists, size_t n,
		       struct error **err);

const struct obs_deployment *observed_deployment(const struct observed *o, const char *name);
/*
 * Where the container's published port p (NULL: any) is reached from here:
 * its endpoint's address when on another machine, else the loopback (::1
 * for a port published on IPv6 alone).
 */
const char *obs_container_addr(const struct obs_container *c, const struct obs_port *p);
/* The host port published for container_port, 0 when none. */
int obs_container_host_port(const struct obs_container *c, int container_port);
/* 1 when the container is running (or restarting: Docker brings it back itself). */
int obs_container_alive(const struct obs_container *c);
/*
 * 1 when two revisions are the same: labels may carry a prefix of the
 * revision, so equal when one is a prefix of the other, at least 6 digits
 * long. NULL is never equal.
 */
int obs_revision_eq(const char *a, const char *b);

/*
 * 1 when Docker shows an image id where the name was ("sha256:…" or 12+ hex
 * digits): the tag moved to a new image since the container was made, which
 * is not a change by hand.
 */
int observe_image_is_id(const char *image);

/* The label filter that lists an instance's containers: "label=auriga.io/managed-by=<instance>". */
char *observe_filter(const char *instance);

#endif
