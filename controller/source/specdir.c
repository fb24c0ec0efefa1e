/* Specs and CRDs from a folder on disk: sorted walk, bounded reads, each problem a diag with its path. */
#include "source/specdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "runtime/file.h"
#include "util.h"

static char *join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT_MAX(1 << 16);

	(void)buf_printf(&b, str_has_suffix(dir, "/") ? "%s%s" : "%s/%s", dir, name);
	return buf_detach(&b, NULL);
}

/* The whole of path, at most max bytes, into b; 0, or -1 with a diag added. */
static int read_bounded(const char *path, size_t max, struct buf *b, struct spec_diags *diags)
{
	struct spec_pos pos = { path, 0, 0 };
	int rc;

	buf_init(b, max);
	rc = file_read(path, "spec file", 0, b, NULL);
	if (rc == 0)
		return 0;
	if (rc == ERR_TOOBIG)
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "file larger than the limit of %zu bytes", max);
	else
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "cannot open: %s", strerror(-rc));
	buf_release(b);
	return -1;
}

static size_t load_file(struct spec_set *set, const char *path, struct spec_diags *diags)
{
	struct buf b;
	size_t n;

	if (read_bounded(path, spec_set_limits(set)->max_file, &b, diags) < 0)
		return 1;
	n = spec_set_load_buffer(set, path, b.data, b.len, diags);
	buf_release(&b);
	return n;
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static size_t walk(struct spec_set *set, const char *dir, size_t depth, int *full, struct spec_diags *diags)
{
	const struct spec_limits *lim = spec_set_limits(set);
	struct dirent **names = NULL;
	struct spec_pos pos = { dir, 0, 0 };
	size_t errors = 0;
	int n, i;

	if (depth > lim->max_dir_depth) {
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "directories nested deeper than the limit of %zu",
			       lim->max_dir_depth);
		return 1;
	}
	n = scandir(dir, &names, visible, alphasort);
	if (n < 0) {
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "cannot read directory: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		char *path = join(dir, names[i]->d_name);
		struct stat st;

		if (*full) {
			/* Already reported. */
		} else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			errors += walk(set, path, depth + 1, full, diags);
		} else if ((str_has_suffix(path, ".yaml") || str_has_suffix(path, ".yml")) &&
			   stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (spec_set_count_file(set) < 0) {
				spec_diags_add(diags, &pos, NULL, NULL, NULL, "more than the limit of %zu spec files",
					       lim->max_files);
				*full = 1;
				errors++;
			} else {
				errors += load_file(set, path, diags);
			}
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return errors;
}

size_t specdir_load(struct spec_set *set, const char *path, struct spec_diags *diags)
{
	struct spec_pos pos = { path, 0, 0 };
	struct stat st;
	int full = 0;

	if (stat(path, &st) < 0) {
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "cannot open: %s", strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode))
		return walk(set, path, 0, &full, diags);
	return load_file(set, path, diags);
}

size_t specdir_load_schemas(struct spec_schemas *s, const char *dir, struct spec_diags *diags)
{
	struct dirent **names = NULL;
	size_t errors = 0;
	int n, i;

	n = scandir(dir, &names, visible, alphasort);
	if (n < 0) {
		spec_diags_add(diags, NULL, NULL, NULL, NULL, "cannot read CRD directory '%s': %s", dir,
			       strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (str_has_suffix(names[i]->d_name, ".yaml")) {
			char *path = join(dir, names[i]->d_name);
			struct buf b;

			if (read_bounded(path, spec_limits_default()->max_file, &b, diags) == 0) {
				errors += spec_schemas_add_crd(s, path, b.data, b.len, diags);
				buf_release(&b);
			} else {
				errors++;
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return errors + spec_schemas_check_complete(s, dir, diags);
}
