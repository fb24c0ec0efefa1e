/* The lease's home: a ref of the specs remote, refs/auriga/lease/<instance>, moved only by fast-forward. */
#ifndef AURIGA_LEASE_GIT_H
#define AURIGA_LEASE_GIT_H

#include "error.h"
#include "runtime/lease.h"
#include "source/gitsrc.h"

/*
 * Each renewal or takeover is a new commit (empty tree, the record as its
 * message) whose parent is the lease commit it follows, pushed without
 * force: of two writers that both follow the same commit, only one push
 * fast-forwards the ref and the other gets ERR_CONFLICT. Remote-side this
 * is compare-and-swap for every transport the source supports: git-receive-
 * pack (git://, ssh://, http(s)://) moves the ref under its lock only from
 * the old value the client sent, which libgit2 takes from the remote's
 * advertisement after checking the push fast-forwards it; for a repository
 * on this machine (a path or file://) gitsrc_push_ref moves the ref itself
 * with compare-and-swap under the repository's ref lock.
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
 * Writes rec as a commit on parent (hex; NULL or "" for the first lease)
 * and pushes it without force; out_oid gets the new commit. ERR_CONFLICT:
 * another writer moved the lease first. Blocking (network).
 */
int lease_git_write(struct gitsrc *src, const char *instance, const char *parent, const struct lease_record *rec,
		    char out_oid[GITSRC_OID_HEX], struct error **err);

#endif
