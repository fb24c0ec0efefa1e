/* Jobs run on Docker to their end: attempts up to backoffLimit, each a chain of named stages. */
#ifndef AURIGA_JOB_H
#define AURIGA_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "docker/docker_spec.h"

/* The label of every Job container auriga runs: the instance it runs for. */
#define JOB_OF_LABEL "auriga.io/job-of"
/* A hook's (and a backup's before a rollout): the deployment it runs for, and its stage. */
#define HOOK_LABEL "auriga.io/hook"
#define HOOK_STAGE_LABEL "auriga.io/hook-stage"

struct docker;
struct desired_tmpl;
struct job_runner;
struct job_run;

/* A mount of a Job's container. */
struct job_mount {
	const char *source;	/* a named volume (desired_volume_name), or the host path of a bind */
	const char *legacy;	/* the name an earlier auriga gave the volume, or NULL */
	const char *target;	/* the path in the Job's container */
	int bind;		/* a host path, mounted as it is (the policy allowed it when the specs loaded) */
	int read_only;
};

/*
 * The file a Job wrote, read back before its container goes: the tar stream
 * Docker's archive API sent (why NULL), or why it could not be read.
 */
typedef void (*job_file_fn)(const char *tar, size_t len, const char *why, void *arg);

struct job_spec {
	const char *name;			/* the container's; a leftover of that name goes first */
	const struct desired_tmpl *tmpl;	/* image, command, env and user: copied */
	const char *const *env;			/* more KEY=value after the template's, or NULL */
	/*
	 * Copied. Its auriga.io/ labels mark the Job's containers as auriga's:
	 * a leftover of the name is removed only when it carries them all.
	 */
	const struct kv *labels;
	size_t n_labels;
	const char *network;			/* NULL: the daemon's default; "container:<id>" shares one's */
	const char *network_legacy;		/* the network's earlier name, adopted when ours (network_ensure), or NULL */
	/*
	 * When set, network is made sure of before the container is (network.c:
	 * listed, created with net_labels when missing, which must hold
	 * managed-by = instance), and a network of the name auriga does not own
	 * fails the run unless foreign_network_ok (the operator's policy lists it).
	 */
	int ensure_network;
	int foreign_network_ok;
	/*
	 * NULL, or a running container (id or name) connected to network for
	 * the run, so that the Job reaches it there by its name, and
	 * disconnected once the run ends (also when it was on it already: a
	 * controller killed in the middle of an earlier run left it there).
	 */
	const char *attach;
	const char *instance;
	const struct kv *net_labels;
	size_t n_net_labels;
	/*
	 * Copied. Each named volume is made sure of before the container is
	 * (volume.c: adopted under its earlier name or created with vol_labels;
	 * one auriga does not own, as instance's deployment's, fails the run).
	 */
	const struct job_mount *mounts;
	size_t n_mounts;
	const char *deployment;
	const struct kv *vol_labels;
	size_t n_vol_labels;
	int64_t deadline_ms;			/* activeDeadlineSeconds, for each attempt */
	int backoff_limit;			/* a failed attempt is run again this many times at most */
	/*
	 * What the report quotes of the output: 0 for the first 300 bytes of
	 * the last 3 lines of stdout and of stderr; else the last tail_lines
	 * lines of both, at most max_output bytes of their end, as valid UTF-8.
	 */
	int tail_lines;
	size_t max_output;
	/*
	 * When set, after an attempt that exited 0 and before its container is
	 * removed, read_path is read back (at most read_max bytes) and handed to
	 * file_done, before done is called.
	 */
	const char *read_path;
	size_t read_max;
	job_file_fn file_done;
	const char *what;			/* for the log: "smoke test" */
	const char *owner;			/* for the log: the deployment */
	/*
	 * A Docker call of the run that got no answer (no connection, the
	 * endpoint's breaker open, the call's own deadline, the lease lost)
	 * reports JOB_NOT_RUN rather than a failure: nothing was judged, and
	 * the caller runs it again later (its container, if one was made, is
	 * removed then as a leftover). 0: it fails the run, as Docker's refusal
	 * does.
	 */
	int report_not_run;
};

/* What done gets for a run whose Docker calls got no answer (job_spec.report_not_run). */
#define JOB_NOT_RUN (-1)

/*
 * The run ended. succeeded: the last attempt's container exited 0 (1), it
 * did not (0), or JOB_NOT_RUN (see job_spec.report_not_run). message:
 * what the Job said (its exit code and the last lines of its output, also on
 * a success: they show what answered it), or why it could not run: a
 * container that could not be made or started, or an attempt past its
 * deadline (neither is tried again). attempts: how many were made.
 */
typedef void (*job_done_fn)(int succeeded, int attempts, const char *message, void *arg);

/*
 * The labels of a Job's container: the instance's extra ones, JOB_OF_LABEL
 * = instance, then the pairs given (key, value, ..., NULL). Borrowed, not
 * copied (job_start copies them): free only the array; *n is its length.
 */
struct kv *job_labels(const struct kv *extra, size_t n_extra, const char *instance, size_t *n, ...);

struct job_runner *job_runner_new(struct docker *d);
/*
 * Runs still in Docker's hands report nothing any more: each goes on to
 * remove its container and is freed when it ends, or with its Docker call
 * when the client is freed first (docker_set_drop). A run still making sure
 * of its network or volume is not freed with the client.
 */
void job_runner_free(struct job_runner *jr);

/*
 * Starts a run: its network and volumes made sure of, the attach container connected to the network,
 * remove a leftover container of the name (from a controller
 * killed in the middle) when it carries the Job's auriga.io/ labels (another
 * container of the name fails the run, untouched), create, start, wait
 * within the deadline, read the last lines of the output, remove; then
 * report (the attach container disconnected first), or start again while it
 * fails and backoffLimit allows. done is called once, from the loop.
 */
struct job_run *job_start(struct job_runner *jr, const struct job_spec *spec, job_done_fn done, void *arg);
/* The caller no longer wants the verdict: done is never called, but the run still removes its container. */
void job_orphan(struct job_run *j);

#endif
