/* Env files: parsed as KEY=value lines and merged into the templates' env, so their content is part of the revision. */
#include "source/envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "runtime/file.h"
#include "source/gitsrc.h"
#include "kv.h"
#include "util.h"

static int key_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '_'))
			return 0;
	return 1;
}

int envfile_parse(const char *path, const char *data, size_t len, struct kv **out, size_t *n,
		  struct error **err)
{
	struct kv *v = NULL;
	size_t nv = 0, pos = 0, line = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (memchr(data, '\0', len) != NULL)
		return error_set(err, ERR_INVALID, "%s: the file holds a NUL byte; env files are text", path);
	while (pos < len) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos), *eq;
		const char *end = nl ? nl : data + len;
		size_t ll, i = 0;

		pos = (size_t)(end - data) + (nl ? 1 : 0);
		line++;
		if (end > s && end[-1] == '\r')
			end--;
		ll = (size_t)(end - s);
		while (i < ll && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == ll || s[i] == '#')
			continue;
		eq = memchr(s + i, '=', ll - i);
		if (eq == NULL) {
			rc = error_set(err, ERR_INVALID, "%s:%zu: expected KEY=value, found '%.*s'", path, line,
				       (int)(ll - i > 40 ? 40 : ll - i), s + i);
			goto out;
		}
		if (!key_ok(s + i, (size_t)(eq - (s + i)))) {
			rc = error_set(err, ERR_INVALID, "%s:%zu: '%.*s' is not a variable name (letters, digits, _)",
				       path, line, (int)(eq - (s + i) > 40 ? 40 : eq - (s + i)), s + i);
			goto out;
		}
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		v[nv].key = xstrndup(s + i, (size_t)(eq - (s + i)));
		v[nv].value = xstrndup(eq + 1, ll - (size_t)(eq + 1 - s));
		nv++;
	}
out:
	if (rc < 0) {
		kv_free(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return 0;
}

/* A path relative to the repository root, with no way out of it. */
static int path_ok(const char *path)
{
	const char *p = path;

	if (*path == '\0' || *path == '/')
		return 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if ((n == 2 && strncmp(p, "..", 2) == 0) || (n == 4 && strncmp(p, ".git", 4) == 0))
			return 0;
		p += n + (e ? 1 : 0);
	}
	return 1;
}

/* One entry that cannot be used: a diag at the entry, as the loader writes its own. */
static void entry_diag(struct spec_diags *d, const char *kind, const struct spec_meta *m,
		       const struct spec_container *c, size_t i, const char *msg)
{
	struct spec_pos pos = m->pos;
	char path[64];

	if (c->env_files_pos) {
		pos.line = c->env_files_pos[i].line;
		pos.col = c->env_files_pos[i].col;
	}
	snprintf(path, sizeof(path), "spec.template.envFiles[%zu]", i);
	spec_diags_add(d, &pos, kind, m->name ? m->name : "?", path, "%s", msg);
}

/*
 * Reads and parses entry i of c into *fv. Returns 0; 1 when the specs are at
 * fault (a diag added); or a negative error the reader gave for another reason.
 */
static int read_entry(const struct spec_container *c, size_t i, const char *kind, const struct spec_meta *m,
		      envfile_read_fn read, void *ctx, struct spec_diags *d, struct kv **fv, size_t *nf,
		      struct error **err)
{
	struct error *e = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*fv = NULL;
	*nf = 0;
	if (!path_ok(c->env_files[i])) {
		char msg[600];

		snprintf(msg, sizeof(msg), "'%.500s' must be relative to the specs repository, without '..' or '.git'",
			 c->env_files[i]);
		entry_diag(d, kind, m, c, i, msg);
		return 1;
	}
	rc = read(ctx, m->pos.file, c->env_files[i], &data, &len, &e);
	if (rc == 0) {
		rc = envfile_parse(c->env_files[i], data, len, fv, nf, &e);
		free(data);
	}
	if (rc < 0 && rc != ERR_INVALID) {
		error_wrap(&e, "%s/%s: spec.template.envFiles[%zu]", kind, m->name ? m->name : "?", i);
		if (err && *err == NULL) {
			*err = e;
			e = NULL;
		}
		error_free(e);
		return rc;
	}
	if (rc < 0)
		entry_diag(d, kind, m, c, i, error_msg(e));
	error_free(e);
	return rc < 0 ? 1 : 0;
}

/* Every env file of one template, merged under its own env; nothing changes when one cannot be used. */
static int apply_one(struct spec_container *c, const char *kind, const struct spec_meta *m,
		     envfile_read_fn read, void *ctx, struct spec_diags *d, struct error **err)
{
	struct kv *merged = NULL;
	size_t nm = 0, i, j;
	int rc = 0, bad = 0;

	if (m->invalid || c->n_env_files == 0)
		return 0;
	for (i = 0; i < c->n_env_files; i++) {
		struct kv *fv;
		size_t nf;

		rc = read_entry(c, i, kind, m, read, ctx, d, &fv, &nf, err);
		if (rc < 0)
			goto out;
		bad |= rc;
		for (j = 0; j < nf; j++)
			kv_put(&merged, &nm, fv[j].key, fv[j].value);
		kv_free(fv, nf);
	}
	rc = 0;
	if (bad)
		goto out;
	for (i = 0; i < c->n_env; i++)
		kv_put(&merged, &nm, c->env[i].key, c->env[i].value ? c->env[i].value : "");
	if (nm > 1)
		kv_sort(merged, nm);
	kv_free(c->env, c->n_env);
	c->env = merged;
	c->n_env = nm;
	merged = NULL;
	nm = 0;
out:
	kv_free(merged, nm);
	return rc;
}

int envfile_apply(struct spec_set *set, envfile_read_fn read, void *ctx, struct spec_diags *diags,
		  struct error **err)
{
	size_t i;
	int rc;

	for (i = 0; i < set->n_deployments; i++) {
		struct spec_deployment *d = set->deployments[i];

		if ((rc = apply_one(&d->tmpl, "Deployment", &d->meta, read, ctx, diags, err)) < 0)
			return rc;
	}
	for (i = 0; i < set->n_jobs; i++) {
		struct spec_job *j = set->jobs[i];

		if ((rc = apply_one(&j->tmpl, "Job", &j->meta, read, ctx, diags, err)) < 0)
			return rc;
	}
	return 0;
}

char *envfile_dir_root(const char *path)
{
	struct stat st;
	const char *slash;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return xstrdup(path);
	slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/*
 * Opens the folder that holds path's last component, beneath root, one
 * component at a time with O_NOFOLLOW: a symbolic link anywhere on the way
 * (lnk/shadow with lnk -> /etc) is refused, not only as the last component.
 * Returns the folder's descriptor and points *last at the file's name.
 */
static int open_parent_beneath(int rootfd, const char *path, const char **last, struct error **err)
{
	int fd = dup(rootfd);
	const char *p = path;

	if (fd < 0)
		return error_set(err, ERR_GENERIC, "env file '%s': %s", path, strerror(errno));
	for (;;) {
		const char *slash = strchr(p, '/');
		char part[256];
		size_t n;
		int next;

		if (slash == NULL)
			break;
		n = (size_t)(slash - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p = slash + 1;
			continue;
		}
		if (n >= sizeof(part)) {
			close(fd);
			return error_set(err, ERR_INVALID, "env file '%s': a component is too long", path);
		}
		memcpy(part, p, n);
		part[n] = '\0';
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;

			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return error_set(err, ERR_INVALID,
						 "env file '%s': '%.*s' is a symbolic link or not a folder: env files "
						 "are read beneath the specs folder, through no link",
						 path, (int)(slash - path), path);
			return error_set(err, ERR_INVALID, "env file '%s': cannot open '%.*s': %s", path,
					 (int)(slash - path), path, strerror(e));
		}
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*last = p;
	return fd;
}

int envfile_read_dir(void *root, const char *spec_file, const char *path, char **data, size_t *len,
		     struct error **err)
{
	const char *last = NULL;
	struct buf b;
	int rootfd, dirfd, rc;

	(void)spec_file;
	*data = NULL;
	*len = 0;
	rootfd = open((const char *)root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_set(err, ERR_INVALID, "cannot open the specs folder '%s': %s", (const char *)root,
				 strerror(errno));
	dirfd = open_parent_beneath(rootfd, path, &last, err);
	close(rootfd);
	if (dirfd < 0)
		return dirfd;
	/* The last component must be a regular file, not a link out of the folder either. */
	buf_init(&b, ENVFILE_MAX_BYTES);
	rc = file_read_at(dirfd, last, "env file", FILE_NOFOLLOW | FILE_REGULAR, &b, err);
	if (rc == 0) {
		*data = buf_detach(&b, len);
	} else {
		if (last != path)
			error_wrap(err, "env file '%s'", path);
		rc = ERR_INVALID;
	}
	buf_release(&b);
	close(dirfd);
	return rc;
}

int envfile_read_git(void *arg, const char *spec_file, const char *path, char **data, size_t *len,
		     struct error **err)
{
	struct envfile_git *g = arg;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *ent = NULL;
	git_blob *blob = NULL;
	git_oid oid;
	int rc = 0;

	(void)spec_file;
	*data = NULL;
	*len = 0;
	gitsrc_lock(g->src);
	if (git_oid_fromstr(&oid, g->commit) < 0 || git_commit_lookup(&commit, gitsrc_repo(g->src), &oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		rc = error_set(err, ERR_GENERIC, "cannot read commit %.12s for env file '%s'", g->commit, path);
		goto out;
	}
	if (git_tree_entry_bypath(&ent, tree, path) < 0) {
		rc = error_set(err, ERR_INVALID, "env file '%s' is not in commit %.12s", path, g->commit);
		goto out;
	}
	if (git_tree_entry_filemode(ent) != GIT_FILEMODE_BLOB &&
	    git_tree_entry_filemode(ent) != GIT_FILEMODE_BLOB_EXECUTABLE) {
		rc = error_set(err, ERR_INVALID, "env file '%s' of commit %.12s is not a regular file", path,
			       g->commit);
		goto out;
	}
	if (git_blob_lookup(&blob, gitsrc_repo(g->src), git_tree_entry_id(ent)) < 0) {
		rc = error_set(err, ERR_GENERIC, "cannot read env file '%s' of commit %.12s", path, g->commit);
		goto out;
	}
	if (git_blob_rawsize(blob) > ENVFILE_MAX_BYTES) {
		rc = error_set(err, ERR_INVALID, "env file '%s' is larger than %d bytes", path, ENVFILE_MAX_BYTES);
		goto out;
	}
	*len = (size_t)git_blob_rawsize(blob);
	*data = xmalloc(*len + 1);
	memcpy(*data, git_blob_rawcontent(blob), *len);
	(*data)[*len] = '\0';
out:
	git_blob_free(blob);
	git_tree_entry_free(ent);
	git_tree_free(tree);
	git_commit_free(commit);
	gitsrc_unlock(g->src);
	return rc;
}
