/* What a container is made of, as the Engine API's create call takes it: plain values, no calls, no I/O. */
#ifndef AURIGA_DOCKER_SPEC_H
#define AURIGA_DOCKER_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"


struct docker_port {
	uint16_t container_port;
	const char *protocol;	/* "tcp" when NULL */
	const char *host_ip;	/* address to publish on, e.g. "127.0.0.1"; NULL: all */
	uint16_t host_port;	/* 0: the daemon picks one */
};

struct docker_mount {
	const char *source;	/* volume name, or host path for binds */
	const char *target;	/* path in the container */
	int bind;		/* 1: host path */
	int read_only;
};

struct docker_healthcheck {	/* Docker's HealthConfig, passed through */
	const char *const *test;	/* {"CMD", "/bin/check", NULL}, {"CMD-SHELL", "..."}, {"NONE"} */
	int64_t interval_ms;
	int64_t timeout_ms;
	int64_t start_period_ms;
	int retries;
};

struct docker_create_spec {
	const char *name;
	const char *image;
	const char *const *cmd;		/* NULL-terminated, or NULL: the image's */
	const char *const *entrypoint;	/* NULL-terminated, or NULL: the image's */
	const char *const *env;		/* "KEY=value", NULL-terminated */
	const struct kv *labels;
	size_t n_labels;
	const struct docker_port *ports;
	size_t n_ports;
	const struct docker_mount *mounts;
	size_t n_mounts;
	int64_t memory_bytes;		/* 0: no limit */
	int64_t nano_cpus;		/* 1e9 = one CPU; 0: no limit */
	const char *restart_policy;	/* no, always, unless-stopped, on-failure; NULL: no */
	int restart_max_retries;	/* for on-failure */
	const char *network;		/* network to join (NetworkMode and endpoint), or NULL */
	const char *const *aliases;	/* DNS aliases on that network */
	int privileged;			/* HostConfig.Privileged */
	const char *const *cap_add;	/* HostConfig.CapAdd, NULL-terminated or NULL */
	const struct docker_healthcheck *healthcheck;
	const char *user;
	const char *workdir;
	const char *hostname;
	int64_t stop_timeout_s;		/* 0: the daemon's default */
};

#endif
