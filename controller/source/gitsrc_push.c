/* The Git source's pushes: a ref by fast-forward, or replaced by compare-and-swap from the old value read. */
#include "source/gitsrc.h"
#include "source/gitsrc_internal.h"
#include "util.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *local_path(const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		return url + 7;
	if (url[0] == '/' || url[0] == '.')
		return url;
	return NULL;
}

/*
 * Moves remote_ref of the repository at path to local_ref's commit, under
 * that repository's ref lock. expect NULL: only as a fast-forward of what
 * it holds; else only from expect ("" for a ref that must not exist).
 */
static int move_local(struct gitsrc *src, git_repository *rrepo, const char *local_ref, const char *remote_ref,
		      const char *expect, struct error **err)
{
	git_reference *ref = NULL;
	git_oid lo, ro, eo;
	int r = 0, gr, have_remote;

	gr = git_reference_name_to_id(&lo, src->net_repo, local_ref);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, ERR_NOTFOUND, "no local ref to push");
	have_remote = git_reference_name_to_id(&ro, rrepo, remote_ref) == 0;
	if (expect && expect[0] && git_oid_fromstr(&eo, expect) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not an object name", expect);
	if (expect) {
		if (expect[0] == '\0' ? have_remote : !have_remote || !git_oid_equal(&ro, &eo))
			return error_set(err, ERR_CONFLICT, "'%s' on '%s' moved since it was read", remote_ref,
					 src->shown_url);
	} else if (have_remote) {
		if (git_oid_equal(&lo, &ro))
			return 0;
		if (git_graph_descendant_of(src->net_repo, &lo, &ro) != 1)
			return error_set(err, ERR_CONFLICT, "'%s' on '%s' moved: not a fast-forward", remote_ref,
					 src->shown_url);
		eo = ro;
	}
	/*
	 * The old value is compared under the ref's lock; a zero one means the ref
	 * must not exist (git_reference_create without force checks that before
	 * it takes the lock, so two creators could both win).
	 */
	if (expect ? expect[0] == '\0' : !have_remote)
		memset(&eo, 0, sizeof(eo));
	gr = git_reference_create_matching(&ref, rrepo, remote_ref, &lo, 1, &eo, "auriga: push");
	if (gr == GIT_EMODIFIED || gr == GIT_EEXISTS || gr == GIT_ELOCKED)
		r = error_set(err, ERR_CONFLICT, "'%s' on '%s' moved while pushing", remote_ref, src->shown_url);
	else if (gr < 0)
		r = gitsrc__git_fail(src, err, gr, ERR_TRANSPORT, "cannot update the remote ref");
	git_reference_free(ref);
	return r;
}

/* Pushes refspec spec on remote (connected or not); a ref the remote refused is ERR_CONFLICT or ERR_REFUSED. */
static int push_spec(struct gitsrc *src, git_remote *remote, const char *spec, const char *remote_ref,
		     struct error **err)
{
	git_push_options opts;
	git_strarray specs;
	char *specp = (char *)spec, what[700];
	int gr;

	specs.strings = &specp;
	specs.count = 1;
	git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
	gitsrc__callbacks_init(src, &opts.callbacks);
	snprintf(what, sizeof(what), "cannot push '%s' to '%s'", remote_ref, src->shown_url);
	gr = git_remote_push(remote, &specs, &opts);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, 0, what);
	if (src->push_status) {
		const char *s = src->push_status;
		int moved = strstr(s, "fast-forward") || strstr(s, "fetch first") || strstr(s, "stale") ||
			    strstr(s, "lock") || strstr(s, "failed to update") || strstr(s, "expected");

		return error_set(err, moved ? ERR_CONFLICT : ERR_REFUSED, "%s: %s", what, s);
	}
	return 0;
}

/*
 * libgit2's local transport moves the remote ref without checking its old
 * value, so two writers could overwrite each other. For a remote on this
 * machine the objects go over to a private ref, and the target ref is moved
 * here with compare-and-swap (move_local).
 */
static int push_local(struct gitsrc *src, git_remote *remote, const char *path, const char *local_ref,
		      const char *remote_ref, const char *expect, struct error **err)
{
	git_repository *rrepo = NULL;
	char spec[700];
	int r, gr;

	/*
	 * The source's own ref, overwritten: the local transport lists every ref
	 * of the remote after it pushes and reads each, so a writer that removed
	 * its ref after each push would make another's push fail as "not found".
	 */
	snprintf(spec, sizeof(spec), "+%s:%s", local_ref, src->incoming_ref);
	r = push_spec(src, remote, spec, remote_ref, err);
	if (r < 0)
		return r;
	gr = git_repository_open_bare(&rrepo, path);
	if (gr < 0)
		gr = git_repository_open(&rrepo, path);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, ERR_TRANSPORT, "cannot open the remote repository");
	r = move_local(src, rrepo, local_ref, remote_ref, expect, err);
	git_repository_free(rrepo);
	return r;
}

void gitsrc__incoming_init(struct gitsrc *src)
{
	static unsigned seq;

	src->incoming_ref = xasprintf("refs/auriga/incoming/%ld-%u", (long)getpid(),
				      __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	src->own_incoming = 1;
}

void gitsrc__incoming_drop(struct gitsrc *src)
{
	const char *path = src->url ? local_path(src->url) : NULL;
	git_repository *rrepo = NULL;
	git_reference *ref = NULL;

	if (path == NULL || !src->own_incoming || !src->pushed || src->incoming_ref == NULL)
		return;
	if (git_repository_open_bare(&rrepo, path) < 0 && git_repository_open(&rrepo, path) < 0)
		return;
	if (git_reference_lookup(&ref, rrepo, src->incoming_ref) == 0)
		git_reference_delete(ref);
	git_reference_free(ref);
	git_repository_free(rrepo);
}

int gitsrc__push_ref_here(struct gitsrc *src, const char *local_ref, const char *remote_ref, struct error **err)
{
	const char *lpath = local_path(src->url);
	git_remote *remote = NULL;
	int r, gr;

	gr = gitsrc__make_remote(src, &remote);
	if (gr < 0)
		return gitsrc__git_fail(src, err, gr, ERR_INVALID, "bad remote URL");
	if (lpath) {
		r = push_local(src, remote, lpath, local_ref, remote_ref, NULL, err);
	} else {
		char spec[1100];

		snprintf(spec, sizeof(spec), "%s:%s", local_ref, remote_ref);
		r = push_spec(src, remote, spec, remote_ref, err);
	}
	git_remote_free(remote);
	return r;
}

/*
 * The compare-and-swap push to a remote reached over the network: connect
 * for a push, check that the advertisement shows remote_ref at expect
 * (or not at all for ""), and push forced in that same connection. libgit2
 * sends the advertised value as the old one of the ref's update, and
 * git-receive-pack moves the ref under its lock only from that old value: a
 * writer that moved it between the advertisement and the update makes this
 * push fail.
 */
int gitsrc__push_cas_here(struct gitsrc *src, const char *local_ref, const char *remote_ref, const char *expect_or_null,
			  struct error **err)
{
	const char *lpath = local_path(src->url), *expect = expect_or_null ? expect_or_null : "";
	const git_remote_head **heads;
	const git_remote_head *head;
	git_remote *remote = NULL;
	char spec[1100], at[GITSRC_OID_HEX] = "";
	size_t n;
	int r, gr;

	if (lpath) {
		gr = gitsrc__make_remote(src, &remote);
		if (gr < 0)
			return gitsrc__git_fail(src, err, gr, ERR_INVALID, "bad remote URL");
		r = push_local(src, remote, lpath, local_ref, remote_ref, expect, err);
		goto out;
	}
	r = gitsrc__connect_remote(src, GIT_DIRECTION_PUSH, &remote, err);
	if (r < 0)
		return r;
	gr = git_remote_ls(&heads, &n, remote);
	if (gr < 0) {
		r = gitsrc__git_fail(src, err, gr, 0, "cannot list the remote's refs");
		goto out;
	}
	head = gitsrc__find_head(heads, n, remote_ref, remote_ref);
	if (head)
		git_oid_tostr(at, sizeof(at), &head->oid);
	if (head ? strcmp(at, expect) != 0 : expect[0] != '\0') {
		r = error_set(err, ERR_CONFLICT, "'%s' on '%s' moved since it was read (it is at %.12s)", remote_ref,
			      src->shown_url, head ? at : "nothing");
		goto out;
	}
	snprintf(spec, sizeof(spec), "+%s:%s", local_ref, remote_ref);
	r = push_spec(src, remote, spec, remote_ref, err);
out:
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	return r;
}
