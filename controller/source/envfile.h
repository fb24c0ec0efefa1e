/* Env files: the KEY=value files a container template names, read from the specs folder or commit and merged into its env. */
#ifndef AURIGA_ENVFILE_H
#define AURIGA_ENVFILE_H

#include <stddef.h>

#include "error.h"
#include "spec.h"

struct gitsrc;

/* The largest env file read (bytes). */
#define ENVFILE_MAX_BYTES (1024 * 1024)

/*
 * Parses data (len bytes, the file path names it in errors) as env file
 * lines: "KEY=value", the value taken verbatim up to the end of the line
 * (a trailing CR dropped, no quote processing, like `docker run
 * --env-file`); blank lines and lines whose first non-blank character is
 * '#' are skipped. KEY is [A-Za-z_][A-Za-z0-9_]*. A line without '=', a bad
 * key or a NUL byte is ERR_INVALID "path:line: message". On success *out
 * holds *n entries in file order (a key given twice: the later wins when
 * merged).
 */
int envfile_parse(const char *path, const char *data, size_t len, struct kv **out, size_t *n,
		  struct error **err);

/*
 * Reads a file named by a template, relative to the specs repository root.
 * Returns 0 with a malloc'd *data and *len, or a negative error naming the
 * path.
 */
typedef int (*envfile_read_fn)(void *ctx, const char *path, char **data, size_t *len, struct error **err);

/*
 * Merges every env file of every Deployment and Job template of set into
 * the template's env: files in the order listed, a later file's key
 * replacing an earlier one's, and the template's own env replacing both.
 * The env stays sorted by key, so the revision (which hashes env) changes
 * when a file's content does, and the change rolls out. Paths are relative
 * to the repository root; absolute paths and ".." components are refused.
 */
int envfile_apply(struct spec_set *set, envfile_read_fn read, void *ctx, struct error **err);

/* Readers: a folder on disk (root: the specs folder), or a commit of the mirror. */
int envfile_read_dir(void *root, const char *path, char **data, size_t *len, struct error **err);
struct envfile_git {
	struct gitsrc *src;
	const char *commit;	/* hex */
};
int envfile_read_git(void *envfile_git, const char *path, char **data, size_t *len, struct error **err);

#endif
