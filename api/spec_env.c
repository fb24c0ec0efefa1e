/* Environments: one Environment of the specs chosen, its resources kept and its merge patches applied, before defaults and checks. */
#include "buf.h"
#include "schema.h"
#include "spec.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- decode ---- */

static char *env_str(const struct ynode *m, const char *k)
{
	const struct ynode *v = ynode_get(m, k);

	return v && v->type == YNODE_SCALAR && v->stype == YS_STR ? xstrdup(v->str) : NULL;
}

static void decode_patches(struct spec_environment *e, const struct ynode *seq)
{
	size_t i;

	if (seq == NULL || seq->type != YNODE_SEQ || seq->n == 0)
		return;
	e->patches = xcalloc(seq->n, sizeof(*e->patches));
	for (i = 0; i < seq->n; i++) {
		const struct ynode *item = seq->kids[i], *target = ynode_get(item, "target");
		struct spec_env_patch *p = &e->patches[e->n_patches++];

		p->kind = env_str(target, "kind");
		p->name = env_str(target, "name");
		p->patch = ynode_get(item, "patch");
		p->pos.line = (target ? target : item)->line;
		p->pos.col = (target ? target : item)->col;
	}
}

struct spec_environment *spec_decode_environment(const struct ynode *doc)
{
	struct spec_environment *e = xcalloc(1, sizeof(*e));
	const struct ynode *spec = ynode_get(doc, "spec"), *res = ynode_get(spec, "resources");
	const struct ynode *promo = ynode_get(spec, "promotion");
	char *approval;

	spec_decode_meta(&e->meta, doc);
	if (res && res->type == YNODE_SEQ && res->n) {
		size_t i;

		e->resources = xcalloc(res->n, sizeof(*e->resources));
		for (i = 0; i < res->n; i++)
			if (res->kids[i]->type == YNODE_SCALAR)
				e->resources[e->n_resources++] = xstrdup(res->kids[i]->str);
	}
	decode_patches(e, ynode_get(spec, "patches"));
	e->promotion_after = env_str(promo, "after");
	approval = env_str(promo, "approval");
	e->approval_required = approval && strcmp(approval, "required") == 0;
	free(approval);
	return e;
}

void spec_environment_free(struct spec_environment *e)
{
	size_t i;

	if (e == NULL)
		return;
	spec_meta_release(&e->meta);
	strv_free_n(e->resources, e->n_resources);
	for (i = 0; i < e->n_patches; i++)
		FREE_ALL(e->patches[i].kind, e->patches[i].name);
	free(e->patches);
	free(e->promotion_after);
	free(e);
}

/* ---- paths: resolved by their text alone, as the files were named when loaded ---- */

/* dir/rel with "." and ".." folded and no empty segment; "" for the top. The caller frees it. */
static char *path_fold(const char *dir, const char *rel)
{
	struct buf in = BUF_INIT_MAX(1 << 16), out = BUF_INIT_MAX(1 << 16);
	char *s, *seg, *end, *next;
	size_t *marks, n = 0;

	(void)buf_printf(&in, "%s/%s", dir ? dir : "", rel ? rel : "");
	s = buf_detach(&in, NULL);
	if (s == NULL)
		return xstrdup("");
	marks = xcalloc(strlen(s) + 1, sizeof(*marks));
	if (s[0] == '/' && (dir == NULL || dir[0] != '\0'))
		(void)buf_puts(&out, "/");
	for (seg = s; seg; seg = next) {
		end = strchr(seg, '/');
		next = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		if (seg[0] == '\0' || strcmp(seg, ".") == 0) {
			/* nothing */
		} else if (strcmp(seg, "..") == 0 && n > 0) {
			out.len = marks[--n];
			out.data[out.len] = '\0';
		} else {
			marks[n++] = out.len;
			(void)buf_printf(&out, "%s%s", out.len && out.data[out.len - 1] != '/' ? "/" : "", seg);
		}
	}
	free(marks);
	free(s);
	s = buf_detach(&out, NULL);
	return s ? s : xstrdup("");
}

/* The folder of a file's path, folded. */
static char *path_dir(const char *file)
{
	char *f = path_fold("", file), *slash = strrchr(f, '/');

	if (slash)
		*slash = '\0';
	else
		f[0] = '\0';
	return f;
}

/* Whether file (folded) is prefix or lies beneath it. */
static int path_under(const char *file, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return file[0] != '/';
	return strncmp(file, prefix, n) == 0 && (file[n] == '\0' || file[n] == '/' || prefix[n - 1] == '/');
}

/* ---- the objects of the set, by kind ---- */

static void ***objs_of(struct spec_set *set, enum spec_kind k, size_t **n)
{
	switch (k) {
	case SPEC_CLUSTER:
		*n = &set->n_clusters;
		return (void ***)&set->clusters;
	case SPEC_DEPLOYMENT:
		*n = &set->n_deployments;
		return (void ***)&set->deployments;
	case SPEC_SERVICE:
		*n = &set->n_services;
		return (void ***)&set->services;
	case SPEC_JOB:
		*n = &set->n_jobs;
		return (void ***)&set->jobs;
	case SPEC_BACKUP_POLICY:
		*n = &set->n_backup_policies;
		return (void ***)&set->backup_policies;
	default:
		*n = &set->n_analysis_templates;
		return (void ***)&set->analysis_templates;
	}
}

/* Every object has its metadata first. */
static struct spec_meta *meta_of(void *obj)
{
	return (struct spec_meta *)obj;
}

/* Drops the objects whose file lies under none of the prefixes. */
static void keep_in_scope(struct spec_set *set, char *const *prefixes, size_t n_prefixes)
{
	int k;

	for (k = 0; k < SPEC_KIND_COUNT; k++) {
		size_t *n, i, j, kept = 0;
		void **v = *objs_of(set, (enum spec_kind)k, &n);

		for (i = 0; i < *n; i++) {
			char *f = path_fold("", meta_of(v[i])->pos.file);
			int in = 0;

			for (j = 0; j < n_prefixes && !in; j++)
				in = path_under(f, prefixes[j]);
			free(f);
			if (in)
				v[kept++] = v[i];
			else
				spec_free_kind((enum spec_kind)k, v[i]);
		}
		*n = kept;
	}
}

/*
 * ---- merge (RFC 7386): mappings merge, null removes, scalars and lists of
 * scalars replace; a list of mappings merges item by item by its key (as a
 * strategic merge patch does), a list whose items have none is refused ----
 */

/* The keys items of a list are matched by, in order: the first every item of both lists has decides. */
static const char *const list_keys[] = { "name", "containerPort", "templateName" };

static struct ynode *new_node(struct spec_priv *p, enum ynode_type type, const struct ynode *like, size_t cap)
{
	struct ynode *m = xcalloc(1, sizeof(*m));

	m->type = type;
	m->line = like->line;
	m->col = like->col;
	m->complete = 1;
	m->kids = xcalloc(cap ? cap : 1, sizeof(struct ynode *));
	m->cap = cap;
	m->weight = 1;
	m->height = 1;
	XGROW_PTRS(p->merged, p->cap_merged, p->n_merged + 1);
	p->merged[p->n_merged++] = m;
	return m;
}

static struct ynode *new_map(struct spec_priv *p, const struct ynode *like, size_t cap)
{
	return new_node(p, YNODE_MAP, like, cap);
}

static int has_maps(const struct ynode *seq)
{
	size_t i;

	for (i = 0; seq && seq->type == YNODE_SEQ && i < seq->n; i++)
		if (seq->kids[i]->type == YNODE_MAP)
			return 1;
	return 0;
}

/* The item key of seq's items: each is a mapping with key a scalar. */
static int all_keyed(const struct ynode *seq, const char *key)
{
	size_t i;

	for (i = 0; i < seq->n; i++) {
		const struct ynode *v = seq->kids[i]->type == YNODE_MAP ? ynode_get(seq->kids[i], key) : NULL;

		if (v == NULL || v->type != YNODE_SCALAR)
			return 0;
	}
	return 1;
}

/* The key base's and patch's items merge by, NULL when the lists have none in common. */
static const char *list_key(const struct ynode *base, const struct ynode *patch)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(list_keys); k++)
		if (all_keyed(base, list_keys[k]) && all_keyed(patch, list_keys[k]))
			return list_keys[k];
	return NULL;
}

/* The item of seq whose key says what item's does, or NULL. */
static const struct ynode *item_like(const struct ynode *seq, const char *key, const struct ynode *item)
{
	const char *want = ynode_get(item, key)->str;
	size_t i;

	/* The key is a scalar of every item (list_key): its text, whatever type it reads as. */
	for (i = 0; i < seq->n; i++)
		if (strcmp(ynode_get(seq->kids[i], key)->str, want) == 0)
			return seq->kids[i];
	return NULL;
}

static int is_null(const struct ynode *n)
{
	return n->type == YNODE_SCALAR && n->stype == YS_NULL;
}

static void map_put(struct ynode *m, struct ynode *key, const struct ynode *val)
{
	m->kids[m->n++] = key;
	m->kids[m->n++] = (struct ynode *)val;
	m->weight += key->weight + val->weight;
	if (val->height + 1 > m->height)
		m->height = val->height + 1;
}

static const struct ynode *merge(struct spec_priv *p, const struct ynode *base, const struct ynode *patch);

/* A keyed list: base's items in their order, each merged with the patch's item of the same key, then the patch's new ones. */
static const struct ynode *merge_list(struct spec_priv *p, const struct ynode *base, const struct ynode *patch,
				      const char *key)
{
	struct ynode *m = new_node(p, YNODE_SEQ, base, base->n + patch->n);
	size_t i;

	for (i = 0; i < base->n + patch->n; i++) {
		const struct ynode *it = i < base->n ? base->kids[i] : patch->kids[i - base->n];
		const struct ynode *pv = i < base->n ? item_like(patch, key, it) : NULL;

		if (i >= base->n && item_like(base, key, it))
			continue;
		it = pv ? merge(p, it, pv) : it;
		m->kids[m->n++] = (struct ynode *)it;
		m->weight += it->weight;
		if (it->height + 1 > m->height)
			m->height = it->height + 1;
	}
	return m;
}

static const struct ynode *merge(struct spec_priv *p, const struct ynode *base, const struct ynode *patch)
{
	struct ynode *m;
	const char *key;
	size_t i;

	if (patch->type == YNODE_SEQ && base && base->type == YNODE_SEQ && has_maps(patch) &&
	    (key = list_key(base, patch)) != NULL)
		return merge_list(p, base, patch, key);
	if (patch->type != YNODE_MAP)
		return patch;
	if (base && base->type != YNODE_MAP)
		base = NULL;
	m = new_map(p, base ? base : patch, (base ? base->n : 0) + patch->n);
	for (i = 0; base && i + 1 < base->n; i += 2) {
		const struct ynode *pv = ynode_get(patch, base->kids[i]->str);

		if (pv == NULL)
			map_put(m, base->kids[i], base->kids[i + 1]);
		else if (!is_null(pv))
			map_put(m, base->kids[i], merge(p, base->kids[i + 1], pv));
	}
	for (i = 0; i + 1 < patch->n; i += 2) {
		if (base && ynode_key(base, patch->kids[i]->str))
			continue;
		if (!is_null(patch->kids[i + 1]))
			map_put(m, patch->kids[i], merge(p, NULL, patch->kids[i + 1]));
	}
	return m;
}

void spec_env_drop_merged(struct spec_priv *p)
{
	size_t i;

	for (i = 0; i < p->n_merged; i++) {
		free(p->merged[i]->kids);
		free(p->merged[i]);
	}
	p->n_merged = 0;
}

/* ---- applying the environment followed ---- */

struct env_report {
	struct spec_diags *diags;
	const char *kind, *name;
	const char *file;		/* where nodes not of the patch are */
	const char *patch_file;
	const struct ynode *patch;	/* NULL: every node is in file */
};

static void env_report(void *ctx, const struct ynode *at, const char *path, const char *msg)
{
	struct env_report *r = ctx;
	struct spec_pos pos = { r->file, at->line, at->col };

	if (r->patch && spec_node_within(r->patch, at))
		pos.file = r->patch_file;
	spec_diags_add(r->diags, &pos, r->kind, r->name, path, "%s", msg);
}

static void env_err(struct spec_diags *d, const struct spec_environment *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A diag about the Environment, at the field path names. */
static void env_err(struct spec_diags *d, const struct spec_environment *e, const char *path, const char *fmt, ...)
{
	const struct ynode *n = e->meta.node ? spec_node_at(e->meta.node, path) : NULL;
	struct spec_pos pos = e->meta.pos;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n) {
		pos.line = n->line;
		pos.col = n->col;
	}
	spec_diags_add(d, &pos, SPEC_ENVIRONMENT_KIND, e->meta.name, path, "%s", msg);
}

/* "staging, production", or "none" */
static char *env_names(const struct spec_priv *p)
{
	struct buf b = BUF_INIT_MAX(4096);
	size_t i;
	char *s;

	for (i = 0; i < p->n_envs; i++)
		(void)buf_printf(&b, "%s%s", i ? ", " : "", p->envs[i]->meta.name ? p->envs[i]->meta.name : "?");
	s = buf_detach(&b, NULL);
	return s ? s : xstrdup("none");
}

static struct spec_environment *env_find(const struct spec_priv *p, const char *name)
{
	size_t i;

	for (i = 0; name && i < p->n_envs; i++)
		if (p->envs[i]->meta.name && strcmp(p->envs[i]->meta.name, name) == 0)
			return p->envs[i];
	return NULL;
}

/* Whether some file loaded lies under prefix. */
static int names_a_file(const struct spec_priv *p, const char *prefix)
{
	size_t i;
	int hit = 0;

	for (i = 0; i < p->n_files && !hit; i++) {
		char *f = path_fold("", p->files[i]);

		hit = path_under(f, prefix);
		free(f);
	}
	return hit;
}

/* The folded prefixes of e's scope: its own folder, then each resource. */
static char **env_scope(const struct spec_priv *p, const struct spec_environment *e, size_t *n,
			struct spec_diags *d)
{
	char **v = xcalloc(e->n_resources + 1, sizeof(*v));
	char *dir = path_dir(e->meta.pos.file), path[64];
	size_t i;

	v[0] = dir;
	*n = 1;
	for (i = 0; i < e->n_resources; i++) {
		v[*n] = path_fold(dir, e->resources[i]);
		if (!names_a_file(p, v[*n])) {
			snprintf(path, sizeof(path), "spec.resources[%zu]", i);
			env_err(d, e, path, "\"%.200s\" names no spec file (it is \"%.200s\" in the specs)",
				e->resources[i], v[*n]);
		}
		(*n)++;
	}
	return v;
}

/* The index of the object of kind k named name, or -1. */
static long find_obj(struct spec_set *set, enum spec_kind k, const char *name)
{
	size_t *n, i;
	void **v = *objs_of(set, k, &n);

	for (i = 0; name && i < *n; i++)
		if (meta_of(v[i])->name && strcmp(meta_of(v[i])->name, name) == 0)
			return (long)i;
	return -1;
}

static int kind_of(const char *name, enum spec_kind *out)
{
	int k;

	for (k = 0; name && k < SPEC_KIND_COUNT; k++)
		if (strcmp(spec_kind_name((enum spec_kind)k), name) == 0) {
			*out = (enum spec_kind)k;
			return 0;
		}
	return -1;
}

/* A patch may repeat its target's kind, apiVersion and name, never change them. */
static size_t patch_identity(const struct spec_environment *e, size_t i, const struct ynode *patch,
			     struct spec_diags *d)
{
	static const char *const fields[] = { "apiVersion", "kind", "metadata.name" };
	const struct spec_env_patch *pt = &e->patches[i];
	const char *want[] = { SPEC_API_VERSION, pt->kind, pt->name };
	const struct ynode *meta = ynode_get(patch, "metadata");
	const struct ynode *v[] = { ynode_get(patch, "apiVersion"), ynode_get(patch, "kind"),
				    meta ? ynode_get(meta, "name") : NULL };
	char path[96];
	size_t j, bad = 0;

	for (j = 0; j < ARRAY_SIZE(fields); j++) {
		const char *s = v[j] ? ynode_str(v[j]) : NULL;

		if (v[j] == NULL || (s && want[j] && strcmp(s, want[j]) == 0))
			continue;
		snprintf(path, sizeof(path), "spec.patches[%zu].patch.%s", i, fields[j]);
		env_err(d, e, path, "a patch does not change its target's %s (\"%.100s\")", fields[j],
			want[j] ? want[j] : "");
		bad++;
	}
	return bad;
}

/*
 * A list of mappings the patch would replace whole: refused at its field
 * (path, the patch's), for no item would be kept or merged as a reader
 * expects. The items of keyed lists are looked into too.
 */
static size_t check_lists(const struct spec_environment *e, const struct ynode *base, const struct ynode *patch,
			  struct buf *path, struct spec_diags *d)
{
	size_t i, bad = 0, len = path->len;

	if (base == NULL || patch == NULL)
		return 0;
	if (patch->type == YNODE_SEQ && base->type == YNODE_SEQ && (has_maps(patch) || has_maps(base))) {
		const char *key = list_key(base, patch);

		if (key == NULL) {
			env_err(d, e, path->data,
				"a list whose items do not all have a name (or containerPort, templateName) cannot be "
				"patched: a patch would replace it whole; give every item its key, or change the list "
				"in the base");
			return 1;
		}
		for (i = 0; i < patch->n; i++) {
			(void)buf_printf(path, "[%zu]", i);
			bad += check_lists(e, item_like(base, key, patch->kids[i]), patch->kids[i], path, d);
			path->len = len;
			path->data[len] = '\0';
		}
		return bad;
	}
	for (i = 0; patch->type == YNODE_MAP && base->type == YNODE_MAP && i + 1 < patch->n; i += 2) {
		(void)buf_printf(path, ".%s", patch->kids[i]->str);
		bad += check_lists(e, ynode_get(base, patch->kids[i]->str), patch->kids[i + 1], path, d);
		path->len = len;
		path->data[len] = '\0';
	}
	return bad;
}

/* Merges patch i of e into its target; diags for a target not there and fields its kind does not have. */
static void apply_patch(struct spec_set *set, const struct spec_environment *e, size_t i, struct spec_diags *d)
{
	const struct spec_env_patch *pt = &e->patches[i];
	struct env_report r = { d, NULL, e->meta.name, NULL, e->meta.pos.file, pt->patch };
	const struct ynode *merged;
	struct spec_meta *old_meta, *m;
	enum spec_kind k;
	char path[64];
	size_t *n, errors;
	void **v, *obj;
	long at;

	snprintf(path, sizeof(path), "spec.patches[%zu].target", i);
	if (pt->patch == NULL || kind_of(pt->kind, &k) < 0)
		return; /* the schema said so */
	v = *objs_of(set, k, &n);
	at = find_obj(set, k, pt->name);
	if (at < 0) {
		env_err(d, e, path, "%s \"%.100s\" is not among this environment's resources", pt->kind, pt->name);
		return;
	}
	old_meta = meta_of(v[at]);
	if (old_meta->patch) {
		env_err(d, e, path, "a second patch of %s \"%.100s\": write one patch per object", pt->kind,
			pt->name);
		return;
	}
	/* What the patch says is checked at the patch, in the environment's file. */
	r.kind = SPEC_ENVIRONMENT_KIND;
	snprintf(path, sizeof(path), "spec.patches[%zu].patch", i);
	errors = schema_validate_patch(set->schemas->kinds[k], pt->patch, path, env_report, &r);
	errors += patch_identity(e, i, pt->patch, d);
	if (errors == 0 && old_meta->node != NULL) {
		struct buf lp = BUF_INIT_MAX(4096);

		(void)buf_printf(&lp, "%s", path);
		errors += check_lists(e, old_meta->node, pt->patch, &lp, d);
		buf_release(&lp);
	}
	if (errors || old_meta->node == NULL)
		return;
	merged = merge(set->priv, old_meta->node, pt->patch);
	obj = spec_decode_kind(k, merged);
	m = meta_of(obj);
	m->node = merged;
	m->pos = old_meta->pos;
	m->patch = pt->patch;
	m->patch_file = e->meta.pos.file;
	/* What the merge leaves out (a required field removed by null) is told at the object. */
	r.kind = spec_kind_name(k);
	r.name = m->name;
	r.file = m->pos.file;
	m->invalid = old_meta->invalid || schema_validate(set->schemas->kinds[k], m->node, "", env_report, &r) > 0;
	spec_free_kind(k, v[at]);
	v[at] = obj;
}

/* The Environments when the set follows none: each is a diag, for an instance must name its own. */
static size_t env_unfollowed(const struct spec_priv *p, struct spec_diags *d)
{
	char *names = env_names(p);
	size_t i;

	for (i = 0; i < p->n_envs; i++)
		env_err(d, p->envs[i], "metadata.name",
			"the specs hold environments (%s): set the environment this instance follows "
			"(the setting environment)", names);
	free(names);
	return p->n_envs;
}

static void env_check_promotion(const struct spec_priv *p, const struct spec_environment *e,
				struct spec_diags *d)
{
	char *names;

	if (e->promotion_after == NULL)
		return;
	if (strcmp(e->promotion_after, e->meta.name) == 0) {
		env_err(d, e, "spec.promotion.after", "an environment is not promoted after itself (\"%s\")",
			e->promotion_after);
	} else if (env_find(p, e->promotion_after) == NULL) {
		names = env_names(p);
		env_err(d, e, "spec.promotion.after", "\"%.100s\" is not an environment of the specs (they have %s)",
			e->promotion_after, names);
		free(names);
	}
}

size_t spec_env_apply(struct spec_set *set, struct spec_diags *d)
{
	struct spec_priv *p = set->priv;
	size_t before = spec_diags_total(d), i, n_scope;
	struct spec_environment *e;
	char **scope;

	if (p->follow == NULL)
		return env_unfollowed(p, d);
	e = env_find(p, p->follow);
	if (e == NULL) {
		char *names = env_names(p);

		spec_diags_add(d, NULL, NULL, NULL, NULL,
			       "environment \"%.100s\" is not in the specs (their Environments: %s)", p->follow, names);
		free(names);
		return spec_diags_total(d) - before;
	}
	for (i = 0; i < p->n_envs; i++)
		if (p->envs[i] != e && p->envs[i]->meta.name && strcmp(p->envs[i]->meta.name, e->meta.name) == 0)
			env_err(d, p->envs[i], "metadata.name", "a second Environment \"%s\" (the first is in %s)",
				e->meta.name, e->meta.pos.file);
	if (e->meta.invalid)
		return spec_diags_total(d) - before;
	for (i = 0; i < e->n_patches; i++)
		e->patches[i].pos.file = e->meta.pos.file;
	env_check_promotion(p, e, d);
	scope = env_scope(p, e, &n_scope, d);
	keep_in_scope(set, scope, n_scope);
	strv_free_n(scope, n_scope);
	for (i = 0; i < e->n_patches; i++)
		apply_patch(set, e, i, d);
	set->environment = e;
	return spec_diags_total(d) - before;
}
