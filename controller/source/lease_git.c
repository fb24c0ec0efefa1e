/* The lease's home in the specs remote, and the state its holder shares: refs read by fetching, replaced by compare-and-swap. */
#include "source/lease_git.h"

#include <git2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runtime/signing.h"
#include "util.h"

/* Where the read puts the remote's lease, and where a write stages its commit, in the lease's own mirror. */
#define SEEN_PREFIX "refs/auriga/lease-seen/"
#define MINE_PREFIX "refs/auriga/lease-mine/"
#define STATE_SEEN_PREFIX "refs/auriga/state-seen/"
#define STATE_MINE_PREFIX "refs/auriga/state-mine/"

char *lease_git_ref(const char *instance)
{
	return xasprintf("refs/auriga/lease/%s", instance);
}

int lease_git_transport_check(const char *url, struct error **err)
{
	static const char *const cas[] = { "file://", "git://", "ssh://", "git+ssh://", "https://", "http://" };
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	size_t i;

	if (url[0] == '/' || url[0] == '.')
		return 0;
	for (i = 0; i < ARRAY_SIZE(cas); i++)
		if (str_has_prefix(url, cas[i]))
			return 0;
	/* scp-like user@host:path is ssh. */
	if (colon && !strstr(url, "://") && colon != url && (slash == NULL || slash > colon) && colon[1] != ':')
		return 0;
	return error_set(err, ERR_INVALID,
			 "repo: the lease needs a transport that moves refs with compare-and-swap (a path, file://, "
			 "git://, ssh:// or http(s)://); '%.*s' is none of them",
			 (int)(colon ? (size_t)(colon - url) : strlen(url)), url);
}

void lease_seen_release(struct lease_seen *s)
{
	lease_record_release(&s->rec);
	error_free(s->why);
	memset(s, 0, sizeof(*s));
}

static int git_err(struct error **err, int kind, const char *what)
{
	const git_error *ge = git_error_last();

	return error_set(err, kind, "%s: %s", what, ge && ge->message ? ge->message : "unknown error");
}

/* Reads the commit local_ref names into out (under the source's lock). */
static int read_local(struct gitsrc *src, const char *local_ref, struct lease_seen *out, struct error **err)
{
	git_repository *repo;
	git_commit *c = NULL;
	git_oid oid;
	int rc = 0;

	gitsrc_lock(src);
	repo = gitsrc_repo(src);
	if (git_reference_name_to_id(&oid, repo, local_ref) < 0 || git_commit_lookup(&c, repo, &oid) < 0) {
		rc = git_err(err, ERR_PROTOCOL, "the lease fetched is not a commit");
		goto out;
	}
	git_oid_tostr(out->oid, sizeof(out->oid), &oid);
	out->exists = 1;
	if (lease_record_parse(git_commit_message(c), &out->rec, &out->why) < 0)
		out->bad = 1;
out:
	git_commit_free(c);
	gitsrc_unlock(src);
	return rc;
}

/* Fetches remote into local; *found 0 (and 0 returned) when the remote has no such ref. */
static int fetch_if_any(struct gitsrc *src, const char *remote, const char *local, int *found, struct error **err)
{
	struct error *e = NULL;
	int rc = gitsrc_fetch_ref(src, remote, local, &e);

	*found = rc == 0;
	if (rc < 0 && error_code(e) == ERR_NOTFOUND) {
		rc = 0;
	} else if (rc < 0 && err && *err == NULL) {
		*err = e;
		e = NULL;
	}
	error_free(e);
	return rc;
}

int lease_git_read(struct gitsrc *src, const char *instance, struct lease_seen *out, struct error **err)
{
	char *remote = lease_git_ref(instance), *local = xasprintf(SEEN_PREFIX "%s", instance);
	int found, rc;

	memset(out, 0, sizeof(*out));
	rc = fetch_if_any(src, remote, local, &found, err);
	if (rc == 0 && found)
		rc = read_local(src, local, out, err);
	FREE_ALL(remote, local);
	return rc;
}

/*
 * A commit without parent of a tree holding the n files (names[i] with
 * texts[i]; a NULL text is left out), msg its message, into *out (under the
 * source's lock). Without a parent, the ref it replaces leaves no history
 * behind: the old commit becomes unreachable, and git gc reclaims it.
 */
static int make_commit(struct gitsrc *src, const char *const *names, char *const *texts, size_t n, const char *msg,
		       git_oid *out, struct error **err)
{
	git_repository *repo;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid, blob;
	size_t i;
	int rc = 0;

	gitsrc_lock(src);
	repo = gitsrc_repo(src);
	if (git_treebuilder_new(&tb, repo, NULL) < 0) {
		rc = git_err(err, ERR_GENERIC, "cannot write the lease's tree");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (texts[i] == NULL)
			continue;
		if (git_blob_create_from_buffer(&blob, repo, texts[i], strlen(texts[i])) < 0 ||
		    git_treebuilder_insert(NULL, tb, names[i], &blob, GIT_FILEMODE_BLOB) < 0) {
			rc = git_err(err, ERR_GENERIC, "cannot write the shared state's files");
			goto out;
		}
	}
	if (git_treebuilder_write(&tree_oid, tb) < 0 || git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		rc = git_err(err, ERR_GENERIC, "cannot write the lease's tree");
		goto out;
	}
	if (git_signature_now(&sig, "auriga", "auriga@localhost") < 0 ||
	    git_commit_create(out, repo, NULL, sig, sig, NULL, msg, tree, 0, NULL) < 0)
		rc = git_err(err, ERR_GENERIC, "cannot write the lease commit");
out:
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	gitsrc_unlock(src);
	return rc;
}

/* The commit of the files and msg, staged at local and pushed over remote by compare-and-swap from expect. */
static int replace_ref(struct gitsrc *src, const char *remote, const char *local, const char *expect,
		       const char *const *names, char *const *texts, size_t n, const char *msg,
		       char out_oid[GITSRC_OID_HEX], struct error **err)
{
	git_reference *ref = NULL;
	git_oid oid;
	int rc = make_commit(src, names, texts, n, msg, &oid, err);

	if (rc == 0) {
		gitsrc_lock(src);
		if (git_reference_create(&ref, gitsrc_repo(src), local, &oid, 1, "auriga: lease") < 0)
			rc = git_err(err, ERR_GENERIC, "cannot stage the lease commit");
		git_reference_free(ref);
		gitsrc_unlock(src);
	}
	if (rc == 0)
		rc = gitsrc_push_ref_cas(src, local, remote, expect, err);
	if (rc == 0)
		git_oid_tostr(out_oid, GITSRC_OID_HEX, &oid);
	return rc;
}

int lease_git_write(struct gitsrc *src, const char *instance, const char *expect, const struct lease_record *rec,
		    char out_oid[GITSRC_OID_HEX], struct error **err)
{
	char *remote = lease_git_ref(instance), *local = xasprintf(MINE_PREFIX "%s", instance);
	char *msg = lease_record_format(rec, instance);
	int rc = replace_ref(src, remote, local, expect, NULL, NULL, 0, msg, out_oid, err);

	FREE_ALL(remote, local, msg);
	return rc;
}

/* The shared state. */

const char *const lease_state_names[LEASE_STATE_FILES] = { "engine.json", "releases.json" };
/* Beside the files in the tree: their MAC under the signing key. */
#define STATE_MAC_NAME "state.mac"

/*
 * What the MAC of instance's state is taken of, into b: the instance and, for
 * each file, its name and the SHA-256 of its text ("~" when it is not there).
 */
static void state_mac_input(const char *instance, char *const *files, struct buf *b)
{
	unsigned char md[32];
	char line[64 + 2];
	size_t i;
	int rc;

	buf_init(b, 4096);
	rc = buf_printf(b, "auriga state\n%s\n", instance);
	for (i = 0; rc == 0 && i < LEASE_STATE_FILES; i++) {
		if (files[i] == NULL) {
			rc = buf_printf(b, "%s ~\n", lease_state_names[i]);
			continue;
		}
		if (EVP_Digest(files[i], strlen(files[i]), md, NULL, EVP_sha256(), NULL) != 1)
			BUG("SHA-256 failed");
		hex_encode(md, sizeof(md), line);
		rc = buf_printf(b, "%s %s\n", lease_state_names[i], line);
	}
	if (rc < 0)
		BUG("the shared state's MAC input does not fit");
}

char *lease_git_state_ref(const char *instance)
{
	return xasprintf("refs/auriga/state/%s", instance);
}

void lease_state_release(struct lease_state *s)
{
	size_t i;

	for (i = 0; i < LEASE_STATE_FILES; i++)
		free(s->files[i]);
	memset(s, 0, sizeof(*s));
}

/*
 * The files of the commit local_ref names (under the source's lock); each
 * within max_bytes; *mac the MAC beside them (NULL: none).
 */
static int read_state_local(struct gitsrc *src, const char *local_ref, size_t max_bytes, struct lease_state *out,
			    char **mac, struct error **err)
{
	git_repository *repo;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	git_oid oid;
	size_t i, limit;
	int rc = 0;

	gitsrc_lock(src);
	repo = gitsrc_repo(src);
	if (git_reference_name_to_id(&oid, repo, local_ref) < 0 || git_commit_lookup(&c, repo, &oid) < 0 ||
	    git_commit_tree(&tree, c) < 0) {
		rc = git_err(err, ERR_PROTOCOL, "the shared state fetched is not a commit");
		goto out;
	}
	git_oid_tostr(out->oid, sizeof(out->oid), &oid);
	out->exists = 1;
	for (i = 0; i <= LEASE_STATE_FILES; i++) {
		const git_tree_entry *te = git_tree_entry_byname(tree, i < LEASE_STATE_FILES ? lease_state_names[i]
											: STATE_MAC_NAME);

		if (te == NULL)
			continue;
		if (git_tree_entry_type(te) != GIT_OBJECT_BLOB || git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
			rc = git_err(err, ERR_PROTOCOL, "the shared state's file is not a blob");
			goto out;
		}
		/* The MAC is 64 hex digits (and a newline): a pusher's larger blob is not read. */
		limit = i < LEASE_STATE_FILES ? max_bytes : 65;
		if ((size_t)git_blob_rawsize(blob) > limit) {
			rc = error_set(err, ERR_TOOBIG, "the shared state's '%s' is larger than %zu bytes",
				       i < LEASE_STATE_FILES ? lease_state_names[i] : STATE_MAC_NAME, limit);
			goto out;
		}
		*(i < LEASE_STATE_FILES ? &out->files[i] : mac) =
			xstrndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
		git_blob_free(blob);
		blob = NULL;
	}
out:
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(c);
	gitsrc_unlock(src);
	return rc;
}

int lease_git_state_read(struct gitsrc *src, const char *instance, const struct signing_key *k, size_t max_bytes,
			 struct lease_state *out, struct error **err)
{
	char *remote = lease_git_state_ref(instance), *local = xasprintf(STATE_SEEN_PREFIX "%s", instance);
	char *mac = NULL;
	struct buf in;
	int found, rc;

	memset(out, 0, sizeof(*out));
	rc = fetch_if_any(src, remote, local, &found, err);
	if (rc == 0 && found)
		rc = read_state_local(src, local, max_bytes, out, &mac, err);
	if (rc == 0 && found) {
		state_mac_input(instance, out->files, &in);
		if (!signing_check(k, in.data, in.len, mac))
			rc = error_set(err, ERR_REFUSED,
				       "the shared state at %s (commit %s) %s: not taken up (anyone who can push to "
				       "the specs remote could have written it)",
				       remote, out->oid, mac ? "does not carry the MAC of signing-key-file" : "carries no MAC");
		buf_release(&in);
	}
	if (rc < 0)
		lease_state_release(out);
	FREE_ALL(remote, local, mac);
	return rc;
}

int lease_git_state_write(struct gitsrc *src, const char *instance, const struct signing_key *k, const char *expect,
			  const struct lease_state *st, const char *msg, char out_oid[GITSRC_OID_HEX], struct error **err)
{
	static const char *const names[LEASE_STATE_FILES + 1] = { "engine.json", "releases.json", STATE_MAC_NAME };
	char *remote = lease_git_state_ref(instance), *local = xasprintf(STATE_MINE_PREFIX "%s", instance);
	char mac[65], *texts[LEASE_STATE_FILES + 1];
	struct buf in;
	size_t i;
	int rc;

	for (i = 0; i < LEASE_STATE_FILES; i++)
		texts[i] = st->files[i];
	state_mac_input(instance, st->files, &in);
	signing_mac(k, in.data, in.len, mac);
	buf_release(&in);
	texts[LEASE_STATE_FILES] = mac;
	rc = replace_ref(src, remote, local, expect, names, texts, LEASE_STATE_FILES + 1, msg, out_oid, err);
	FREE_ALL(remote, local);
	return rc;
}
