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
 * Reads a file named by a template, relative to the specs repository root;
 * spec_file is the spec file that names it (a reader serving several specs
 * folders picks its root by it). Returns 0 with a malloc'd *data and *len,
 * or a negative error naming the path: ERR_INVALID when the specs are at
 * fault (no such file, a link, not a regular file, too large), any other
 * code when the file could not be read for another reason.
 */
typedef int (*envfile_read_fn)(void *ctx, const char *spec_file, const char *path, char **data, size_t *len,
			       struct error **err);

/*
 * Reads every env file of every Deployment and Job template of set (those
 * whose document is valid) and merges them into the template's env: files in
 * the order listed, a later file's key replacing an earlier one's, and the
 * template's own env replacing both. The env stays sorted by key, so the
 * revision (which hashes env) changes when a file's content does, and the
 * change rolls out. Paths are relative to the repository root; absolute
 * paths and ".." or ".git" components are refused. Every entry that cannot
 * be used (refused path, missing, a link, unreadable, too large, malformed)
 * is a diag at its position, `file:line:col: Kind/name:
 * spec.template.envFiles[i]: message`, and leaves its template's env as it
 * was; `validate`, `plan`, `apply` and `run` all read them this way. Returns
 * 0, or a negative error (the reader's, not the specs' fault: a commit that
 * cannot be read) with *err set.
 */
int envfile_apply(struct spec_set *set, envfile_read_fn read, void *ctx, struct spec_diags *diags,
		  struct error **err);

/* Readers: a folder on disk (root: the specs folder), or a commit of the mirror. */
int envfile_read_dir(void *root, const char *spec_file, const char *path, char **data, size_t *len,
		     struct error **err);
struct envfile_git {
	struct gitsrc *src;
	const char *commit;	/* hex */
};
int envfile_read_git(void *envfile_git, const char *spec_file, const char *path, char **data, size_t *len,
		     struct error **err);

/*
 * The folder env files are relative to when specs come from path on disk:
 * path itself when it is a folder, else the folder holding the file. The
 * caller frees it.
 */
char *envfile_dir_root(const char *path);

#endif
