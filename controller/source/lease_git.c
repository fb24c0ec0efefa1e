/* The lease's home in the specs remote: read by fetching its ref, written by a fast-forward push of a new commit. */
#include "source/lease_git.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Where the read puts the remote's lease, and where a write stages its commit, in the lease's own mirror. */
#define SEEN_PREFIX "refs/auriga/lease-seen/"
#define MINE_PREFIX "refs/auriga/lease-mine/"

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

int lease_git_read(struct gitsrc *src, const char *instance, struct lease_seen *out, struct error **err)
{
	char *remote = lease_git_ref(instance), *local = xasprintf(SEEN_PREFIX "%s", instance);
	struct error *e = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gitsrc_fetch_ref(src, remote, local, &e);
	if (rc < 0 && error_code(e) == ERR_NOTFOUND) {
		rc = 0;
		error_free(e);
		e = NULL;
	} else if (rc == 0) {
		rc = read_local(src, local, out, &e);
	}
	if (e && err && *err == NULL)
		*err = e;
	else
		error_free(e);
	free(remote);
	free(local);
	return rc;
}

/* The commit of rec on parent, into *out (under the source's lock). */
static int make_commit(struct gitsrc *src, const char *instance, const char *parent, const struct lease_record *rec,
		       git_oid *out, struct error **err)
{
	git_repository *repo;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid, parent_oid;
	const git_commit *parents[1];
	char *msg = lease_record_format(rec, instance);
	int rc = 0;

	gitsrc_lock(src);
	repo = gitsrc_repo(src);
	if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&tree_oid, tb) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		rc = git_err(err, ERR_GENERIC, "cannot write the lease's tree");
		goto out;
	}
	if (parent && parent[0] &&
	    (git_oid_fromstr(&parent_oid, parent) < 0 || git_commit_lookup(&pc, repo, &parent_oid) < 0)) {
		rc = git_err(err, ERR_GENERIC, "the lease's previous commit is not in the mirror");
		goto out;
	}
	parents[0] = pc;
	if (git_signature_now(&sig, "auriga", "auriga@localhost") < 0 ||
	    git_commit_create(out, repo, NULL, sig, sig, NULL, msg, tree, pc ? 1 : 0, parents) < 0)
		rc = git_err(err, ERR_GENERIC, "cannot write the lease commit");
out:
	git_signature_free(sig);
	git_commit_free(pc);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	gitsrc_unlock(src);
	free(msg);
	return rc;
}

int lease_git_write(struct gitsrc *src, const char *instance, const char *parent, const struct lease_record *rec,
		    char out_oid[GITSRC_OID_HEX], struct error **err)
{
	char *remote = lease_git_ref(instance), *local = xasprintf(MINE_PREFIX "%s", instance);
	git_reference *ref = NULL;
	git_oid oid;
	int rc = make_commit(src, instance, parent, rec, &oid, err);

	if (rc == 0) {
		gitsrc_lock(src);
		if (git_reference_create(&ref, gitsrc_repo(src), local, &oid, 1, "auriga: lease") < 0)
			rc = git_err(err, ERR_GENERIC, "cannot stage the lease commit");
		git_reference_free(ref);
		gitsrc_unlock(src);
	}
	if (rc == 0)
		rc = gitsrc_push_ref(src, local, remote, err);
	if (rc == 0)
		git_oid_tostr(out_oid, GITSRC_OID_HEX, &oid);
	free(remote);
	free(local);
	return rc;
}
