/* `auriga run --lease`: the election among the controllers of one instance, and the fence every mutation asks. */
#ifndef AURIGA_RUN_LEASE_H
#define AURIGA_RUN_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "source/gitsrc.h"

struct loop;
struct metrics;
struct run_lease;
struct signing_key;

struct run_lease_config {
	const char *instance;
	const char *api;		/* this controller's --listen, named to callers a follower refuses */
	int64_t ttl_ms, renew_ms, skew_ms;
	struct loop *loop;
	struct metrics *metrics;	/* auriga_leader, auriga_lease_generation, auriga_lease_operations_total; NULL: none */
	const char *state_path;		/* the engine's state file (its release records beside it) */
	const struct signing_key *key;	/* signing-key-file: the shared state's MAC (needed) */
};

/*
 * Starts the lease's thread on its own mirror (<state-dir>/lease, so that a
 * slow fetch of the specs never delays a renewal): a follower reads the
 * lease every renew interval and takes it when it has not moved for its TTL;
 * the leader renews it every renew interval. g is the specs source's settings
 * (its URL and credentials); its transport must move refs with
 * compare-and-swap (lease_git_transport_check).
 */
int run_lease_start(struct run_lease **out, const struct gitsrc_config *g, const struct run_lease_config *cfg,
		    struct error **err);
struct config;

/* run_lease_start with the settings of the table (lease, lease-ttl, ...); *out NULL when lease is off. */
int run_lease_from_config(struct run_lease **out, const struct config *c, const struct gitsrc_config *g,
			  struct loop *loop, struct metrics *metrics, const char *state_path,
			  const struct signing_key *key, struct error **err);
/* Stops the thread (after the network operation under way) and frees everything; a leader's lease lapses. */
void run_lease_stop(struct run_lease *l);

/*
 * Thread-safe: 1 while this controller holds the lease, its last renewal is
 * fresh (lease_valid) and the state its instance shares is installed.
 */
int run_lease_leading(struct run_lease *l);

/*
 * The fences (docker_fence_fn and gitsrc_fence_fn), arg the run_lease:
 * 0 while leading, with the generation as token; else 1 with why naming the
 * leader as last seen.
 */
int run_lease_docker_fence(void *arg, char *token, size_t token_len, char *why, size_t why_len);
int run_lease_note_fence(void *arg, char *why, size_t why_len);

/* The label of the generation on every container a leader creates. */
#define RUN_LEASE_FENCE_LABEL "auriga.io/fence"

struct docker;
struct engine;
struct gitsrc_worker;

/*
 * Puts the fences on what acts (the Docker client, the notes' worker; either
 * may be NULL) and holds the engine (engine_hold) unless leading: called
 * once they exist and whenever the engine and its client are made anew, on
 * the loop thread. From then on the engine is held and released, on the
 * loop, as leading turns off and on: a new leader acts from its next pass,
 * from labels, notes and the state file, as after a restart.
 */
void run_lease_attach(struct run_lease *l, struct docker *d, struct engine *e, struct gitsrc_worker *w);

/*
 * The state a takeover continues from is shared in the specs remote
 * (refs/auriga/state/<instance>, lease_git.h): the engine's state file and
 * its release records. A controller that takes the lease reads it, stamps it
 * with its generation and has the loop write it over its own files and the
 * engine read them again, before it acts; while it leads, each change of the
 * files is written there. Called on the loop after each pass and each
 * accepted release control: when the engine wrote its files since the last
 * call (engine_saves), reads both (on the loop that writes them, so they
 * are of one moment) and wakes the lease's thread, which writes them when
 * they differ from what is shared. A write that fails is tried again at
 * the next renewal, not before. Returns a ticket for run_lease_wait_shared
 * (0: nothing was read, nothing to wait for).
 */
uint64_t run_lease_state_saved(struct run_lease *l);
/*
 * Thread-safe, from a thread other than the loop and the lease's: waits at
 * most wait_ms until the share of the files read with ticket was tried
 * (written, found the same as shared, failed, or dropped as the lease was
 * lost). 0 when it was, -1 when the time ran out.
 */
int run_lease_wait_shared(struct run_lease *l, uint64_t ticket, long wait_ms);

/* 0 while leading; else ERR_UNAVAILABLE naming the leader: a follower's answer to a mutating API call. */
int run_lease_refuse(struct run_lease *l, struct error **err);

#endif
