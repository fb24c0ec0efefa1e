/* Snapshots: the YAML files under a path of a commit, read from the tree with every entry checked and bounded. */
#include "buf.h"
#include "source/gitsrc.h"
#include "source/gitsrc_internal.h"
#include "util.h"

#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct walk {
	git_repository *repo;
	git_odb *odb;
	struct gitsrc_limits lim;
	struct gitsrc_snapshot *snap;
	size_t cap;
	size_t entries;
	const char *commit;
};

static int git_err(struct error **err, int kind, const char *fmt, ...) ATTR_PRINTF(3, 4);

static int git_err(struct error **err, int kind, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return error_set(err, kind, "%s: %s", what, ge && ge->message ? ge->message : "unknown error");
}

/* A name that would leave the directory or reach into Git's own files is never read. */
static int bad_name(const char *name)
{
	return *name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	       strcasecmp(name, ".git") == 0 || strchr(name, '/') != NULL || strchr(name, '\\') != NULL;
}

static int is_yaml(const char *name)
{
	return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

static int add_file(struct walk *w, const char *path, const git_oid *oid, struct error **err)
{
	git_blob *blob = NULL;
	git_object_t type;
	size_t len;
	struct gitsrc_file *f;
	int gr, r = 0;

	if (w->snap->nfiles >= w->lim.max_files)
		return error_set(err, ERR_TOOBIG, "commit %.12s: more than %zu YAML files under the path (at '%s')",
				 w->commit, w->lim.max_files, path);
	/* The header gives the size without inflating the blob: a huge one is refused unread. */
	gr = git_odb_read_header(&len, &type, w->odb, oid);
	if (gr < 0)
		return git_err(err, ERR_GENERIC, "cannot read '%s' of commit %.12s", path, w->commit);
	if (len > w->lim.max_file_bytes)
		return error_set(err, ERR_TOOBIG, "%s: %zu bytes, more than the limit of %zu (commit %.12s)",
				 path, len, w->lim.max_file_bytes, w->commit);
	if (w->snap->total_bytes + len > w->lim.max_total_bytes)
		return error_set(err, ERR_TOOBIG, "%s: the YAML files pass the limit of %zu bytes in all (commit %.12s)",
				 path, w->lim.max_total_bytes, w->commit);
	gr = git_blob_lookup(&blob, w->repo, oid);
	if (gr < 0)
		return git_err(err, ERR_GENERIC, "cannot read '%s' of commit %.12s", path, w->commit);
	len = (size_t)git_blob_rawsize(blob);
	XGROW(w->snap->files, w->cap, w->snap->nfiles + 1);
	f = &w->snap->files[w->snap->nfiles++];
	f->path = xstrdup(path);
	f->len = len;
	f->data = xmalloc(len + 1);
	memcpy(f->data, git_blob_rawcontent(blob), len);
	f->data[len] = '\0';
	w->snap->total_bytes += len;
	git_blob_free(blob);
	return r;
}

static int walk_tree(struct walk *w, const git_tree *tree, const char *dir, unsigned depth, struct error **err)
{
	size_t i, n = git_tree_entrycount(tree);
	int r = 0;

	if (depth > w->lim.max_depth)
		return error_set(err, ERR_TOOBIG, "%s: directories nested deeper than %u (commit %.12s)",
				 *dir ? dir : ".", w->lim.max_depth, w->commit);
	for (i = 0; i < n && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);
		struct buf path;

		buf_init(&path, 4096);
		if (buf_printf(&path, "%s%s%s", dir, *dir ? "/" : "", name) < 0) {
			r = error_set(err, ERR_TOOBIG, "%s/...: path longer than 4096 bytes (commit %.12s)", dir, w->commit);
			goto next;
		}
		if (++w->entries > w->lim.max_entries) {
			r = error_set(err, ERR_TOOBIG, "commit %.12s: more than %zu files and directories under the path (at '%s')",
				      w->commit, w->lim.max_entries, path.data);
			goto next;
		}
		if (bad_name(name)) {
			r = error_set(err, ERR_INVALID, "'%s': a path component named '%s' is refused (commit %.12s)",
				      path.data, name, w->commit);
			goto next;
		}
		switch (mode) {
		case GIT_FILEMODE_TREE: {
			git_tree *sub = NULL;

			if (git_tree_lookup(&sub, w->repo, git_tree_entry_id(e)) < 0) {
				r = git_err(err, ERR_GENERIC, "cannot read directory '%s' of commit %.12s", path.data, w->commit);
				goto next;
			}
			r = walk_tree(w, sub, path.data, depth + 1, err);
			git_tree_free(sub);
			break;
		}
		case GIT_FILEMODE_LINK:
			r = error_set(err, ERR_INVALID, "'%s' is a symbolic link: symlinks are refused in the specs (commit %.12s)",
				      path.data, w->commit);
			break;
		case GIT_FILEMODE_COMMIT:
			r = error_set(err, ERR_INVALID, "'%s' is a submodule: submodules are refused in the specs (commit %.12s)",
				      path.data, w->commit);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
			if (is_yaml(name))
				r = add_file(w, path.data, git_tree_entry_id(e), err);
			break;
		default:
			r = error_set(err, ERR_INVALID, "'%s': unknown file mode %o (commit %.12s)", path.data,
				      (unsigned)mode, w->commit);
		}
next:
		buf_release(&path);
	}
	return r;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct gitsrc_file *)a)->path, ((const struct gitsrc_file *)b)->path);
}

/* Normalises the prefix: no leading "./" or "/", no trailing "/", no "." / ".." / ".git" parts. */
static int clean_prefix(const char *in, struct buf *out, struct error **err)
{
	const char *p = in ? in : "";

	while (*p) {
		char part[256];
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n >= sizeof(part))
			return error_set(err, ERR_INVALID, "path '%s': a component is too long", in);
		memcpy(part, p, n);
		part[n] = '\0';
		p += n;
		if (strcmp(part, ".") == 0)
			continue;
		if (bad_name(part))
			return error_set(err, ERR_INVALID, "path '%s': the component '%s' is refused", in, part);
		if (out->len)
			buf_putc(out, '/');
		if (buf_puts(out, part) < 0)
			return error_set(err, ERR_INVALID, "path '%s' is too long", in);
	}
	return 0;
}

int gitsrc__snapshot_locked(struct gitsrc *src, git_repository *repo, const struct gitsrc_limits *lim,
			    const char *commit, const char *path_prefix, struct gitsrc_snapshot **out,
			    struct error **err)
{
	struct walk w;
	git_oid oid;
	git_commit *c = NULL;
	git_tree *root = NULL, *sub = NULL;
	git_tree_entry *te = NULL;
	struct buf prefix;
	int r = 0, gr;

	(void)src;
	*out = NULL;
	memset(&w, 0, sizeof(w));
	buf_init(&prefix, 4096);
	w.repo = repo;
	w.lim.max_file_bytes = lim && lim->max_file_bytes ? lim->max_file_bytes : (size_t)1 << 20;
	w.lim.max_files = lim && lim->max_files ? lim->max_files : 2000;
	w.lim.max_entries = lim && lim->max_entries ? lim->max_entries : 20000;
	w.lim.max_total_bytes = lim && lim->max_total_bytes ? lim->max_total_bytes : (size_t)16 << 20;
	w.lim.max_depth = lim && lim->max_depth ? lim->max_depth : 16;
	w.commit = commit;
	w.snap = xcalloc(1, sizeof(*w.snap));

	if (git_oid_fromstr(&oid, commit) < 0) {
		r = error_set(err, ERR_INVALID, "'%s' is not a commit id", commit);
		goto out;
	}
	snprintf(w.snap->commit, sizeof(w.snap->commit), "%s", commit);
	r = clean_prefix(path_prefix, &prefix, err);
	if (r < 0)
		goto out;
	gr = git_repository_odb(&w.odb, repo);
	if (gr == 0)
		gr = git_commit_lookup(&c, repo, &oid);
	if (gr == 0)
		gr = git_commit_tree(&root, c);
	if (gr < 0) {
		r = git_err(err, ERR_NOTFOUND, "cannot read commit %s", commit);
		goto out;
	}
	if (prefix.len == 0) {
		r = walk_tree(&w, root, "", 0, err);
	} else {
		gr = git_tree_entry_bypath(&te, root, prefix.data);
		if (gr == GIT_ENOTFOUND) {
			r = error_set(err, ERR_NOTFOUND, "commit %.12s has no '%s'", commit, prefix.data);
			goto out;
		}
		if (gr < 0) {
			r = git_err(err, ERR_GENERIC, "cannot read '%s' of commit %s", prefix.data, commit);
			goto out;
		}
		if (git_tree_entry_type(te) != GIT_OBJECT_TREE || git_tree_entry_filemode(te) != GIT_FILEMODE_TREE) {
			r = error_set(err, ERR_INVALID, "'%s' of commit %.12s is not a directory", prefix.data, commit);
			goto out;
		}
		gr = git_tree_lookup(&sub, repo, git_tree_entry_id(te));
		if (gr < 0) {
			r = git_err(err, ERR_GENERIC, "cannot read '%s' of commit %s", prefix.data, commit);
			goto out;
		}
		r = walk_tree(&w, sub, prefix.data, 0, err);
	}
	if (r < 0)
		goto out;
	qsort(w.snap->files, w.snap->nfiles, sizeof(*w.snap->files), cmp_files);
	*out = w.snap;
	w.snap = NULL;
out:
	gitsrc_snapshot_free(w.snap);
	git_tree_entry_free(te);
	git_tree_free(sub);
	git_tree_free(root);
	git_commit_free(c);
	git_odb_free(w.odb);
	buf_release(&prefix);
	return r;
}

void gitsrc_snapshot_free(struct gitsrc_snapshot *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nfiles; i++)
		FREE_ALL(s->files[i].path, s->files[i].data);
	free(s->files);
	free(s);
}
