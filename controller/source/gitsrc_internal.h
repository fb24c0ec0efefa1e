/* What the Git source's files share: the source's state, and its network operations run here or in a helper process. */
#ifndef AURIGA_GITSRC_INTERNAL_H
#define AURIGA_GITSRC_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "source/gitsrc.h"

struct git_repository;
struct sshsig_signers;

/* The ref a fetch downloads the remote's head into, before the checks make it the mirror's ref. */
#define GITSRC_STAGING_REF "refs/auriga/fetched"

/*
 * Two locks, so that a remote that hangs never stalls a reader: mu guards
 * repo (the handle snapshots, heads, notes and env files read through) and
 * full_ref; net_mu serialises the network operations, which work on a
 * second handle to the same mirror (net_repo) and take mu only for a moment
 * to publish full_ref. Order: net_mu before mu, never the reverse.
 */
struct gitsrc {
	pthread_mutex_t mu;
	pthread_mutex_t net_mu;
	struct git_repository *repo;
	struct git_repository *net_repo;
	char *url;
	char *shown_url;	/* url with its credentials masked: what messages and logs show */
	char *url_secret;	/* the URL's password (or token given as the user), NULL without one */
	char *ref;		/* as configured */
	char *full_ref;		/* refs/heads/x or refs/tags/x once resolved */
	char *state_dir;
	char *mirror_path;
	char *helper;		/* the program network operations run in (NULL: in this process) */
	char *ssh_user, *ssh_key, *ssh_pubkey, *known_hosts, *ssh_host;
	int ssh_port;
	int is_ssh;
	char *https_user, *https_password, *ca_bundle;
	struct sshsig_signers *signers;
	int allow_non_ff;		/* take a head that does not descend from the last one */
	int64_t timeout_ms;
	struct gitsrc_limits limits;
	/* Per network operation, under net_mu. */
	int64_t deadline;
	unsigned key_attempts, pass_attempts;
	char *cb_error;		/* why a callback refused: libgit2 may replace its own message */
	char *push_status;	/* the remote's word on a refused ref update */
	/*
	 * The private ref a push to a remote on this machine goes through
	 * (push_local): one per source, overwritten by each of its pushes, so no
	 * other writer's listing of the remote's refs sees one vanish. The source
	 * that named it deletes it (gitsrc_free); a helper process is lent its
	 * parent's (own_incoming 0).
	 */
	char *incoming_ref;
	int own_incoming;
	int pushed;		/* a push was made (here or in a helper): incoming_ref may exist */
};

/* The network operations, as the helper process is asked for them. */
enum gitsrc_net_op {
	GITSRC_NET_FETCH,	/* the configured ref's head into GITSRC_STAGING_REF; resolves full_ref */
	GITSRC_NET_FETCH_REF,	/* the remote's ref `from` into the local ref `to` */
	GITSRC_NET_PUSH_REF,	/* the local ref `from` to the remote's ref `to` */
	GITSRC_NET_PUSH_CAS,	/* the same, forced, only from the old value `expect` */
};

/* The snapshot code lives in gitsrc_snapshot.c. */
int gitsrc__snapshot_locked(struct gitsrc *src, struct git_repository *repo, const struct gitsrc_limits *lim,
			    const char *commit, const char *path_prefix, struct gitsrc_snapshot **out,
			    struct error **err);

/* Runs op in this process; the caller holds net_mu and began the operation (its deadline is set). */
int gitsrc__net_here(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to, const char *expect,
		     struct error **err);
/* Takes net_mu, begins the operation and runs it in this process: what the helper process does. */
int gitsrc__net_locked(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to,
		       const char *expect, struct error **err);
/*
 * Runs op in a helper process (gitsrc_net.c) started from src->helper, and
 * waits for its answer until src->deadline; a helper still running then is
 * killed and reaped, the lock files it may have left in the mirror are
 * removed, and the error is ERR_TIMEOUT "... timed out after N s". Under
 * net_mu, after the operation began.
 */
int gitsrc__net_spawn(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to,
		      const char *expect, struct error **err);
/* What gitsrc.c lends the push code (gitsrc_push.c): errors, the remote and its callbacks. */
struct git_remote;
struct git_remote_head;
int gitsrc__git_fail(struct gitsrc *src, struct error **err, int gitcode, int kind, const char *what);
int gitsrc__make_remote(struct gitsrc *src, struct git_remote **out);
/* Connects for dir (a git_direction); *out the connected remote, or the error. */
int gitsrc__connect_remote(struct gitsrc *src, int dir, struct git_remote **out, struct error **err);
void gitsrc__callbacks_init(struct gitsrc *src, struct git_remote_callbacks *cbs);
const struct git_remote_head *gitsrc__find_head(const struct git_remote_head **heads, size_t n, const char *name,
						const char *full);
/* The pushes (gitsrc_push.c), under net_mu after the operation began. */
int gitsrc__push_ref_here(struct gitsrc *src, const char *local_ref, const char *remote_ref, struct error **err);
int gitsrc__push_cas_here(struct gitsrc *src, const char *local_ref, const char *remote_ref, const char *expect,
			  struct error **err);

/* Names the source's incoming_ref (gitsrc_open); removes it from a remote on this machine (gitsrc_free). */
void gitsrc__incoming_init(struct gitsrc *src);
void gitsrc__incoming_drop(struct gitsrc *src);

/* Publishes full_ref (under net_mu). */
void gitsrc__set_full_ref(struct gitsrc *src, const char *full);
/* "12 s" or "2.5 s": how a deadline is shown in "timed out after ...". */
void gitsrc__timeout_text(int64_t ms, char *out, size_t n);

#endif
