/* The Git source: a bare mirror of the specs repo, fetched on demand, and snapshots read from its commits. */
#ifndef AURIGA_GITSRC_H
#define AURIGA_GITSRC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct git_repository;
struct git_remote_callbacks;

#define GITSRC_OID_HEX 41	/* 40 hex digits and the NUL */

/* Bounds on what a snapshot may read from a commit; zero fields take the defaults. */
struct gitsrc_limits {
	size_t max_file_bytes;	/* one YAML blob (default 1 MiB) */
	size_t max_files;	/* YAML files under the path (default 2000) */
	size_t max_entries;	/* tree entries visited under the path (default 20000) */
	size_t max_total_bytes;	/* all YAML blobs together (default 16 MiB, the spec loader's bound) */
	unsigned max_depth;	/* directory depth under the path (default 16) */
};

/*
 * Where the specs repo is and how to reach it. Strings are copied by
 * gitsrc_open(). url is a local path, file://, git://, ssh:// (or scp-like
 * user@host:path) or https:// URL.
 */
struct gitsrc_config {
	const char *url;
	const char *ref;	/* branch, tag or full ref name (default "main") */
	const char *state_dir;	/* the mirror lives here (created when missing) */
	/* SSH: a deploy key, and the known_hosts file its host key must be in. */
	const char *ssh_user;	/* default: the URL's user, else "git" */
	const char *ssh_key;
	const char *ssh_pubkey;	/* optional */
	const char *known_hosts;
	/* HTTPS: basic auth (a token is a password) and the CA bundle to trust. */
	const char *https_user;
	const char *https_password;
	const char *ca_bundle;
	/*
	 * When set, only commits signed (sshsig) by one of these keys are
	 * accepted, and a head that does not descend from the last one taken
	 * (a force push back to an older signed commit, say) is refused unless
	 * allow_non_fast_forward is set.
	 */
	const char *allowed_signers;
	int allow_non_fast_forward;
	/*
	 * The deadline of each network operation (fetch, notes fetch and push),
	 * connect and transfer (default 60 s). It holds whatever the remote does
	 * only with a helper: libgit2 has no socket timeout, so a remote that
	 * accepts and then says nothing is bounded in this process only by the
	 * progress callbacks it never calls.
	 */
	int64_t timeout_ms;
	/*
	 * The program each network operation runs in, as `PROGRAM git-net-helper`
	 * (GITSRC_HELPER_SELF: this program; it must call gitsrc_helper_main for
	 * that subcommand). The caller waits for it until the deadline, then kills
	 * it. NULL: the operations run in this process.
	 */
	const char *helper;
	struct gitsrc_limits limits;
};

#define GITSRC_HELPER_SELF "/proc/self/exe"
#define GITSRC_HELPER_CMD "git-net-helper"

/*
 * The helper's side (`auriga git-net-helper`): reads the operation and the
 * source's settings, credentials included, from standard input (never argv or
 * the environment, which ps shows), runs it and writes the outcome to standard
 * output. Returns the exit status.
 */
int gitsrc_helper_main(int argc, char **argv);

struct gitsrc;

/* The outcome of one fetch. */
struct gitsrc_fetch_result {
	char commit[GITSRC_OID_HEX];	/* the ref's commit after the fetch */
	char previous[GITSRC_OID_HEX];	/* the one before ("" on the first fetch) */
	int changed;			/* commit differs from previous */
	int forced;			/* the new commit does not descend from the previous one (taken: allowed) */
	char *signer;			/* the allowed signer that signed it, when verification is on */
};

void gitsrc_fetch_result_release(struct gitsrc_fetch_result *r);

/* One YAML file of a snapshot: its path in the repo and its bytes (NUL-terminated). */
struct gitsrc_file {
	char *path;
	char *data;
	size_t len;
};

struct gitsrc_snapshot {
	char commit[GITSRC_OID_HEX];
	struct gitsrc_file *files;	/* sorted by path */
	size_t nfiles;
	size_t total_bytes;
};

void gitsrc_snapshot_free(struct gitsrc_snapshot *s);

/* Opens (creating when needed) the mirror for cfg. Does not touch the network. */
int gitsrc_open(struct gitsrc **out, const struct gitsrc_config *cfg, struct error **err);
void gitsrc_free(struct gitsrc *src);
/*
 * Makes the mirror anew, empty: what a mirror holding only refs replaced
 * without history (the lease's) needs now and then, since libgit2 has no gc
 * and each fetch or commit leaves objects behind. The refs go too.
 */
int gitsrc_mirror_renew(struct gitsrc *src, struct error **err);

/*
 * Fetches the configured ref into the mirror (blocking: call it from a worker
 * thread or a one-shot command). A force-pushed ref moves the mirror to the new
 * head. On failure the mirror's ref is left where it was, so the last good
 * commit stays readable. When allowed_signers is set, a head whose signature
 * does not verify is an ERR_REFUSED error naming the commit and the reason,
 * and so is a head that does not descend from the last one taken, unless the
 * configuration allows non-fast-forward moves.
 */
int gitsrc_fetch(struct gitsrc *src, struct gitsrc_fetch_result *out, struct error **err);

/* The commit the mirror's ref points at, from the last good fetch; ERR_NOTFOUND before any. */
int gitsrc_head(struct gitsrc *src, char out[GITSRC_OID_HEX], struct error **err);

/*
 * Reads every *.yaml / *.yml file under path_prefix ("" or "." for the whole
 * tree) of commit (hex, or NULL for the mirror's head) without a work tree.
 * Symlinks, submodules, entries named "..", "." or ".git" and files past the
 * limits are refused with an error naming the repo path.
 */
int gitsrc_snapshot(struct gitsrc *src, const char *commit, const char *path_prefix,
		    struct gitsrc_snapshot **out, struct error **err);

/* Fetches `+refs/notes/<x>` of the remote into local_ref; ERR_NOTFOUND when the remote has none. */
int gitsrc_fetch_ref(struct gitsrc *src, const char *remote_ref, const char *local_ref,
		     struct error **err);
/*
 * Pushes local_ref to remote_ref without force. A rejection because the
 * remote moved is ERR_CONFLICT (fetch, merge and retry); others are
 * ERR_TRANSPORT / ERR_REFUSED.
 */
int gitsrc_push_ref(struct gitsrc *src, const char *local_ref, const char *remote_ref,
		    struct error **err);
/*
 * Replaces remote_ref with local_ref's commit whatever their histories, but
 * only from expect (40 hex digits; "" or NULL: the ref must not exist yet),
 * as compare-and-swap: ERR_CONFLICT when the remote's ref is not expect.
 * Over git://, ssh:// and http(s):// the push is forced in the connection
 * whose advertisement showed expect, and git-receive-pack moves the ref under
 * its lock only from that old value; on a path or file:// the ref is moved
 * here under the remote's ref lock from expect.
 */
int gitsrc_push_ref_cas(struct gitsrc *src, const char *local_ref, const char *remote_ref, const char *expect,
			struct error **err);

/*
 * The mirror, for the notes module. libgit2 objects are not safe to share
 * between threads: hold gitsrc_lock() around any use of the repository. The
 * network operations (fetch, fetch_ref, push_ref) never hold it across I/O:
 * they work on a handle of their own, so a remote that hangs does not stall
 * a reader.
 */
void gitsrc_lock(struct gitsrc *src);
void gitsrc_unlock(struct gitsrc *src);
struct git_repository *gitsrc_repo(struct gitsrc *src);
const char *gitsrc_url(const struct gitsrc *src);
const char *gitsrc_ref(const struct gitsrc *src);

/* The retry delay after the n-th consecutive failure (n >= 1): min doubling up to max. */
int64_t gitsrc_backoff_ms(unsigned n, int64_t min_ms, int64_t max_ms);

/*
 * known_hosts checking (gitsrc_knownhosts.c), public for the tests. host is
 * the name as the URL gives it, port 22 or another; key is the raw SSH host
 * key blob. Returns 0 when a matching entry has this key, ERR_REFUSED when the
 * host is unknown, its key changed or the key is revoked, with *err saying which.
 */
int gitsrc_known_hosts_check(const char *known_hosts_path, const char *host, int port,
			     const unsigned char *key, size_t key_len, struct error **err);

/* Parses url into host, port and user for SSH URLs; 0, or ERR_INVALID. Exposed for the tests. */
int gitsrc_parse_ssh_url(const char *url, char **user, char **host, int *port, struct error **err);

#endif
