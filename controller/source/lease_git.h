/* The lease's home, refs/auriga/lease/<instance> of the specs remote, and the state shared beside it, replaced by compare-and-swap. */
#ifndef AURIGA_LEASE_GIT_H
#define AURIGA_LEASE_GIT_H

#include "error.h"
#include "runtime/lease.h"
#include "source/gitsrc.h"

/*
 * Each renewal or takeover replaces the ref with a new commit without parent
 * (empty tree, the record as its message), by compare-and-swap from the
 * commit the writer read or wrote last (gitsrc_push_ref_cas): of two writers
 * that both expect the same commit, only one moves the ref and the other
 * gets ERR_CONFLICT. The ref so never grows a history: each renewal leaves
 * the commit it replaced unreachable, for git gc to reclaim. Remote-side the
 * swap holds for every transport the source supports: git-receive-pack
 * (git://, ssh://, http(s)://) moves the ref under its lock only from the
 * old value the client sent, which is the value checked in the same
 * connection's advertisement; for a repository on this machine (a path or
 * file://) the source moves the ref itself under the repository's ref lock.
 */

/* The ref the lease of instance lives at, in the remote and in the mirror. */
char *lease_git_ref(const char *instance);

/* 0 when url's transport moves refs with compare-and-swap (see above); ERR_INVALID naming it otherwise. */
int lease_git_transport_check(const char *url, struct error **err);

/* What a read found: no lease, or the commit and its record (bad: the message did not parse). */
struct lease_seen {
	int exists;
	int bad;
	char oid[GITSRC_OID_HEX];
	struct lease_record rec;
	struct error *why;	/* when bad: what is wrong with it */
};

void lease_seen_release(struct lease_seen *s);

/* Fetches the lease ref of instance; out->exists 0 when the remote has none. Blocking (network). */
int lease_git_read(struct gitsrc *src, const char *instance, struct lease_seen *out, struct error **err);

/*
 * Writes rec as a commit and replaces the lease with it, only from expect
 * (hex: the lease commit read or written last; NULL or "" when there is
 * none); out_oid gets the new commit. ERR_CONFLICT: another writer moved
 * the lease first. Blocking (network).
 */
int lease_git_write(struct gitsrc *src, const char *instance, const char *expect, const struct lease_record *rec,
		    char out_oid[GITSRC_OID_HEX], struct error **err);

/*
 * The state the leader shares with the controllers of its instance, at
 * refs/auriga/state/<instance> of the specs remote: a commit without parent
 * whose tree holds the engine's state file and its release records, written
 * only by the leader, by compare-and-swap like the lease.
 */
#define LEASE_STATE_FILES 2
extern const char *const lease_state_names[LEASE_STATE_FILES];	/* engine.json, releases.json */

struct lease_state {
	int exists;
	char oid[GITSRC_OID_HEX];
	char *files[LEASE_STATE_FILES];	/* NULL: not in the tree (or not on disk) */
};

void lease_state_release(struct lease_state *s);
char *lease_git_state_ref(const char *instance);
struct signing_key;
/*
 * Fetches the shared state of instance, each file at most max_bytes (else
 * ERR_TOOBIG); out->exists 0 when the remote has none. ERR_REFUSED (naming
 * the commit) when its files do not carry their MAC under k (state.mac
 * beside them in the tree): anyone who can push to the remote could have
 * written them. Blocking (network).
 */
int lease_git_state_read(struct gitsrc *src, const char *instance, const struct signing_key *k, size_t max_bytes,
			 struct lease_state *out, struct error **err);
/*
 * Replaces the shared state with st's files and their MAC under k (msg the
 * commit's message), only from expect. Blocking (network).
 */
int lease_git_state_write(struct gitsrc *src, const char *instance, const struct signing_key *k, const char *expect,
			  const struct lease_state *st, const char *msg, char out_oid[GITSRC_OID_HEX], struct error **err);

#endif
