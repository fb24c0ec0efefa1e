/* The settings file: one YAML mapping of setting names to values, read by the specs' bounded loader. */
#include "runtime/config_internal.h"

#include "buf.h"
#include "runtime/file.h"
#include "spec.h"
#include "util.h"
#include "yaml_tree.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/*
 * The file's bounds are the spec loader's (nesting, aliases, nodes, scalar
 * size), within the file reader's own bound on the file.
 */
static void file_limits(struct ytree_limits *lim)
{
	const struct spec_limits *sl = spec_limits_default();

	lim->max_depth = sl->max_depth;
	lim->max_aliases = sl->max_aliases;
	lim->max_nodes = sl->max_nodes;
	lim->max_scalar = sl->max_scalar;
	lim->max_document = sl->max_document;
	lim->max_file = CONFIG_FILE_MAX;
	lim->max_documents = sl->max_documents;
}

/* The text a setting's value node stands for: a scalar, or a list's items joined by ','. */
static int file_value(const char *path, const struct config_spec *s, const struct ynode *v, struct buf *out,
		      struct error **err)
{
	size_t i;

	if (v->type == YNODE_MAP)
		return error_set(err, ERR_INVALID, "%s:%d:%d: %s: value must be a scalar or a list, got a mapping",
				 path, v->line, v->col, s->name);
	if (v->type == YNODE_SCALAR) {
		/* null (~, null or nothing) is the setting's empty value. */
		if (v->stype == YS_NULL || buf_puts(out, v->str) == 0)
			return 0;
		return error_set(err, ERR_TOOBIG, "%s:%d:%d: %s: value too long", path, v->line, v->col,
				 s->name);
	}
	if (s->type != CFGT_LIST)
		return error_set(err, ERR_INVALID, "%s:%d:%d: %s: a list is not allowed here", path, v->line,
				 v->col, s->name);
	for (i = 0; i < v->n; i++) {
		const struct ynode *item = v->kids[i];

		if (item->type != YNODE_SCALAR)
			return error_set(err, ERR_INVALID, "%s:%d:%d: %s: list items must be scalars, got %s",
					 path, item->line, item->col, s->name, ynode_describe(item));
		if (strchr(item->str, ','))
			return error_set(err, ERR_INVALID, "%s:%d:%d: %s: list items cannot hold ','", path,
					 item->line, item->col, s->name);
		if ((out->len && buf_putc(out, ',') < 0) || buf_puts(out, item->str) < 0)
			return error_set(err, ERR_TOOBIG, "%s:%d:%d: %s: list too long", path, item->line,
					 item->col, s->name);
	}
	return 0;
}

/* One key of the file's mapping: a setting the file may hold, assigned from its value node. */
static int file_setting(struct config *c, const char *path, const struct ynode *key, const struct ynode *v,
			struct error **err)
{
	struct buf val = BUF_INIT_MAX(VALUE_MAX * 4);
	int k = key->type == YNODE_SCALAR ? config_lookup(key->str) : -1;
	const struct config_spec *s;
	int rc;

	if (k < 0)
		return error_set(err, ERR_INVALID, "%s:%d:%d: %.60s: unknown setting", path, key->line,
				 key->col, key->type == YNODE_SCALAR ? key->str : ynode_describe(key));
	s = config_spec((enum config_key)k);
	if (s->flags & CFG_NO_FILE)
		return error_set(err, ERR_INVALID, "%s:%d:%d: %s: cannot be set in the config file", path,
				 key->line, key->col, s->name);
	rc = file_value(path, s, v, &val, err);
	if (rc == 0) {
		char origin[PATH_MAX + 32];

		snprintf(origin, sizeof(origin), "%s:%d:%d", path, v->line, v->col);
		rc = config_assign(c, k, val.len ? val.data : "", CFG_SRC_FILE, origin, err);
	}
	buf_release(&val);
	return rc;
}

/*
 * The file: one YAML mapping of setting names to values (scalars, or lists
 * of scalars for list settings), read by the bounded loader the specs use, so
 * every error names the file, line and column (and the setting).
 */
int config_file_apply(struct config *c, const char *path, struct error **err)
{
	struct buf data = BUF_INIT_MAX(CONFIG_FILE_MAX);
	struct ytree_limits lim;
	struct ytree_error yerr;
	struct ytree t;
	const struct ynode *root = NULL;
	size_t i;
	int rc;

	rc = file_read(path, "config file", FILE_REGULAR, &data, err);
	if (rc < 0) {
		/* A file over the bound leaves what was read so far in data. */
		buf_release(&data);
		return rc;
	}
	file_limits(&lim);
	if (ytree_parse(&t, path, data.data, data.len, &lim, &yerr) < 0) {
		if (yerr.line > 0)
			rc = error_set(err, ERR_INVALID, "%s:%d:%d: %s", path, yerr.line, yerr.col, yerr.msg);
		else
			rc = error_set(err, ERR_INVALID, "%s: %s", path, yerr.msg);
		goto out;
	}
	for (i = 0; i < t.n_docs; i++) {
		const struct ytree_doc *d = &t.docs[i];

		if (d->empty)
			continue;
		if (root) {
			rc = error_set(err, ERR_INVALID, "%s:%d:%d: the file holds one YAML document, this is a second",
				       path, d->line, d->col);
			goto out;
		}
		root = d->root;
		if (root->type != YNODE_MAP) {
			rc = error_set(err, ERR_INVALID,
				       "%s:%d:%d: the file must be a mapping of setting names to values, got %s",
				       path, root->line, root->col, ynode_describe(root));
			goto out;
		}
	}
	for (i = 0; root && i + 1 < root->n; i += 2) {
		rc = file_setting(c, path, root->kids[i], root->kids[i + 1], err);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	ytree_release(&t);
	buf_release(&data);
	return rc;
}

