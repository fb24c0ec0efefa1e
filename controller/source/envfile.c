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
#include "util.h"

void envfile_kv_free(struct spec_kv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

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

int envfile_parse(const char *path, const char *data, size_t len, struct spec_kv **out, size_t *n,
		  struct error **err)
{
	struct spec_kv *v = NULL;
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
		envfile_kv_free(v, nv);
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

static void kv_set(struct spec_kv **v, size_t *n, const char *k, const char *val)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, k) == 0) {
			free((*v)[i].value);
			(*v)[i].value = xstrdup(val);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = xstrdup(k);
	(*v)[*n].value = xstrdup(val);
	(*n)++;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct spec_kv *)a)->key, ((const struct spec_kv *)b)->key);
}

static int apply_one(struct spec_container *c, const char *owner, envfile_read_fn read, void *ctx,
		     struct error **err)
{
	struct spec_kv *merged = NULL;
	size_t nm = 0, i, j;
	int rc = 0;

	if (c->n_env_files == 0)
		return 0;
	for (i = 0; i < c->n_env_files; i++) {
		struct spec_kv *fv = NULL;
		size_t nf = 0;
		char *data = NULL;
		size_t len = 0;

		if (!path_ok(c->env_files[i])) {
			rc = error_set(err, ERR_INVALID,
				       "%s: envFiles[%zu] '%s': must be relative to the specs repository, without '..'",
				       owner, i, c->env_files[i]);
			goto out;
		}
		rc = read(ctx, c->env_files[i], &data, &len, err);
		if (rc < 0) {
			error_wrap(err, "%s: envFiles[%zu]", owner, i);
			goto out;
		}
		rc = envfile_parse(c->env_files[i], data, len, &fv, &nf, err);
		free(data);
		if (rc < 0) {
			error_wrap(err, "%s: envFiles[%zu]", owner, i);
			goto out;
		}
		for (j = 0; j < nf; j++)
			kv_set(&merged, &nm, fv[j].key, fv[j].value);
		envfile_kv_free(fv, nf);
	}
	for (i = 0; i < c->n_env; i++)
		kv_set(&merged, &nm, c->env[i].key, c->env[i].value ? c->env[i].value : "");
	if (nm > 1)
		qsort(merged, nm, sizeof(*merged), kv_cmp);
	envfile_kv_free(c->env, c->n_env);
	c->env = merged;
	c->n_env = nm;
	merged = NULL;
	nm = 0;
out:
	envfile_kv_free(merged, nm);
	return rc;
}

int envfile_apply(struct spec_set *set, envfile_read_fn read, void *ctx, struct error **err)
{
	size_t i;
	int rc;

	for (i = 0; i < set->n_deployments; i++) {
		char owner[320];

		snprintf(owner, sizeof(owner), "deployment '%s'", set->deployments[i]->meta.name);
		if ((rc = apply_one(&set->deployments[i]->tmpl, owner, read, ctx, err)) < 0)
			return rc;
	}
	for (i = 0; i < set->n_jobs; i++) {
		char owner[320];

		snprintf(owner, sizeof(owner), "job '%s'", set->jobs[i]->meta.name);
		if ((rc = apply_one(&set->jobs[i]->tmpl, owner, read, ctx, err)) < 0)
			return rc;
	}
	return 0;
}

int envfile_read_dir(void *root, const char *path, char **data, size_t *len, struct error **err)
{
	struct buf b;
	int dirfd, rc;

	*data = NULL;
	*len = 0;
	dirfd = open((const char *)root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return error_set(err, ERR_INVALID, "cannot open the specs folder '%s': %s", (const char *)root,
				 strerror(errno));
	/* The last component must be a regular file, not a link out of the folder. */
	buf_init(&b, ENVFILE_MAX_BYTES);
	rc = file_read_at(dirfd, path, "env file", FILE_NOFOLLOW | FILE_REGULAR, &b, err);
	if (rc == 0)
		*data = buf_detach(&b, len);
	else
		rc = ERR_INVALID;
	buf_release(&b);
	close(dirfd);
	return rc;
}

int envfile_read_git(void *arg, const char *path, char **data, size_t *len, struct error **err)
{
	struct envfile_git *g = arg;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *ent = NULL;
	git_blob *blob = NULL;
	git_oid oid;
	int rc = 0;

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
