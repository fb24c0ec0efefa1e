/* The spec set: loading files and buffers through the bounded loader and the CRD schemas, diags, lookups. */
#include "buf.h"
#include "schema.h"
#include "spec.h"
#include "spec_internal.h"
#include "spec_backup.h"
#include "strv.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "Cluster", "Deployment", "Service", "Job",
	"AnalysisTemplate", "BackupPolicy" };

const char *spec_kind_name(enum spec_kind k)
{
	return (unsigned)k < SPEC_KIND_COUNT ? kind_names[k] : NULL;
}

/* ---- diags ---- */

void spec_diags_init(struct spec_diags *d)
{
	memset(d, 0, sizeof(*d));
}

static void diag_release(struct spec_diag *x)
{
	FREE_ALL(x->file, x->kind, x->name, x->path, x->msg);
}

void spec_diags_release(struct spec_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		diag_release(&d->v[i]);
	free(d->v);
	spec_diags_init(d);
}

/*
 * The slot for a new diag, NULL when it is to be dropped. Past the cap, a
 * problem with a whole file (no kind: syntax, bounds, unreadable) takes the
 * place of the latest one about an object's field, so a file that was not
 * read at all is never hidden behind the many errors of another.
 */
static struct spec_diag *diag_slot(struct spec_diags *d, const char *kind)
{
	size_t j;

	if (d->n < SPEC_DIAGS_MAX) {
		XGROW(d->v, d->cap, d->n + 1);
		return &d->v[d->n++];
	}
	d->dropped++;
	if (kind != NULL)
		return NULL;
	for (j = d->n; j > 0; j--) {
		if (d->v[j - 1].kind != NULL) {
			diag_release(&d->v[j - 1]);
			return &d->v[j - 1];
		}
	}
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

void spec_diags_add(struct spec_diags *d, const struct spec_pos *pos, const char *kind,
		    const char *name, const char *path, const char *fmt, ...)
{
	struct spec_diag *x;
	struct buf msg = BUF_INIT_MAX(4096);
	va_list ap;

	x = diag_slot(d, kind);
	if (x == NULL)
		return;
	memset(x, 0, sizeof(*x));
	if (pos) {
		x->file = dup_or_null(pos->file);
		x->line = pos->line;
		x->col = pos->col;
	}
	x->kind = dup_or_null(kind);
	x->name = kind ? xstrdup(name && *name ? name : "?") : NULL;
	x->path = dup_or_null(path);
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	x->msg = buf_detach(&msg, NULL);
	x->seq = spec_diags_total(d);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct spec_diag *x = a, *y = b;
	int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void spec_diags_sort(struct spec_diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
}

char *spec_diag_format(const struct spec_diag *d)
{
	struct buf b = BUF_INIT_MAX(16384);

	if (d->file && d->line > 0)
		buf_printf(&b, "%s:%d:%d: ", d->file, d->line, d->col);
	else if (d->file)
		buf_printf(&b, "%s: ", d->file);
	if (d->kind)
		buf_printf(&b, "%s/%s: ", d->kind, d->name ? d->name : "?");
	if (d->path)
		buf_printf(&b, "%s: ", d->path);
	buf_puts(&b, d->msg);
	return buf_detach(&b, NULL);
}

size_t spec_diags_total(const struct spec_diags *d)
{
	return d->n + d->dropped;
}

char *spec_diags_format_dropped(const struct spec_diags *d)
{
	struct buf b = BUF_INIT_MAX(128);
	char digits[32];
	size_t len, i;

	if (d->dropped == 0)
		return NULL;
	len = (size_t)snprintf(digits, sizeof(digits), "%zu", d->dropped);
	buf_puts(&b, "... and ");
	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf_putc(&b, ',');
		buf_putc(&b, digits[i]);
	}
	buf_printf(&b, " more error%s", d->dropped == 1 ? "" : "s");
	return buf_detach(&b, NULL);
}

/* ---- positions ---- */

int spec_node_within(const struct ynode *root, const struct ynode *n)
{
	size_t i;

	if (root == n)
		return 1;
	if (root->type == YNODE_SCALAR)
		return 0;
	for (i = 0; i < root->n; i++)
		if (spec_node_within(root->kids[i], n))
			return 1;
	return 0;
}

const struct ynode *spec_node_at(const struct ynode *root, const char *path)
{
	const struct ynode *n = root;
	const char *p = path;

	while (n && p && *p) {
		char seg[128];
		size_t k = 0;
		const struct ynode *next = NULL;

		if (*p == '.')
			p++;
		if (*p == '[') {
			p++;
			while (*p && *p != ']' && k < sizeof(seg) - 1)
				seg[k++] = *p++;
			seg[k] = '\0';
			if (*p == ']')
				p++;
			if (n->type == YNODE_SEQ) {
				long i;

				if (parse_long(seg, 0, (long)n->n - 1, &i) == 0)
					next = n->kids[i];
			} else {
				next = ynode_get(n, seg);
			}
		} else {
			while (*p && *p != '.' && *p != '[' && k < sizeof(seg) - 1)
				seg[k++] = *p++;
			seg[k] = '\0';
			next = ynode_get(n, seg);
		}
		if (next == NULL)
			break;
		n = next;
	}
	return n;
}

void spec_obj_err(struct spec_diags *d, enum spec_kind kind, const struct spec_meta *meta,
		  const char *path, const char *fmt, ...)
{
	const struct ynode *n = meta->node ? spec_node_at(meta->node, path) : NULL;
	struct spec_pos pos = meta->pos;
	char msg[1024];
	va_list ap;

	if (n) {
		pos.line = n->line;
		pos.col = n->col;
		/* A field an environment's patch set is told at the patch. */
		if (meta->patch && spec_node_within(meta->patch, n))
			pos.file = meta->patch_file;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spec_diags_add(d, meta->defaulted ? NULL : &pos, spec_kind_name(kind), meta->name, path,
		       "%s", msg);
}

/* ---- the set ---- */

static const struct spec_limits default_limits = {
	.max_depth = 64,
	.max_aliases = 256,
	.max_nodes = 100000,
	.max_scalar = 256 * 1024,
	.max_document = 1024 * 1024,
	.max_file = 4 * 1024 * 1024,
	.max_documents = 1000,
	.max_files = 10000,
	.max_dir_depth = 32,
	.max_total_bytes = 16 * 1024 * 1024,
	.max_total_nodes = 2000000,
};

const struct spec_limits *spec_limits_default(void)
{
	return &default_limits;
}

void spec_set_init(struct spec_set *set, const struct spec_schemas *schemas,
		   const struct spec_limits *limits)
{
	memset(set, 0, sizeof(*set));
	set->schemas = schemas ? schemas : spec_schemas_builtin();
	set->priv = xcalloc(1, sizeof(*set->priv));
	set->priv->lim = limits ? *limits : default_limits;
}

void spec_set_release(struct spec_set *set)
{
	size_t i;

	for (i = 0; i < set->n_clusters; i++)
		spec_cluster_free(set->clusters[i]);
	for (i = 0; i < set->n_deployments; i++)
		spec_deployment_free(set->deployments[i]);
	for (i = 0; i < set->n_services; i++)
		spec_service_free(set->services[i]);
	for (i = 0; i < set->n_jobs; i++)
		spec_job_free(set->jobs[i]);
	for (i = 0; i < set->n_analysis_templates; i++)
		spec_analysis_template_free(set->analysis_templates[i]);
	for (i = 0; i < set->n_backup_policies; i++)
		spec_backup_policy_free(set->backup_policies[i]);
	FREE_ALL(set->clusters, set->deployments, set->services, set->jobs, set->analysis_templates,
		 set->backup_policies);
	spec_diags_release(&set->warnings);
	if (set->priv) {
		for (i = 0; i < set->priv->n_trees; i++) {
			ytree_release(set->priv->trees[i]);
			free(set->priv->trees[i]);
		}
		free(set->priv->trees);
		strv_free_n(set->priv->files, set->priv->n_files);
		for (i = 0; i < set->priv->n_envs; i++)
			spec_environment_free(set->priv->envs[i]);
		free(set->priv->envs);
		spec_env_drop_merged(set->priv);
		free(set->priv->merged);
		free(set->priv->follow);
		free(set->priv);
	}
	memset(set, 0, sizeof(*set));
}

void spec_set_free(struct spec_set *set)
{
	if (set == NULL)
		return;
	spec_set_release(set);
	free(set);
}

static const char *intern_file(struct spec_set *set, const char *path)
{
	struct spec_priv *p = set->priv;

	XGROW(p->files, p->cap_files, p->n_files + 1);
	p->files[p->n_files] = xstrdup(path);
	set->n_files = ++p->n_files;
	return p->files[p->n_files - 1];
}

struct doc_ctx {
	struct spec_diags *diags;
	const char *file;
	const char *kind;
	const char *name;
};

static void report_schema(void *ctx, const struct ynode *at, const char *path, const char *msg)
{
	struct doc_ctx *c = ctx;
	struct spec_pos pos = { c->file, at->line, at->col };

	spec_diags_add(c->diags, &pos, c->kind, c->name, path, "%s", msg);
}

/* Appends obj to the set's array of its kind and points m at its metadata. */
#define APPEND(set, arr, n, cap, obj, m)                                \
	do {                                                            \
		XGROW_PTRS((set)->arr, (set)->caps[cap], (set)->n + 1); \
		(set)->arr[(set)->n] = (obj);                           \
		(m) = &(set)->arr[(set)->n++]->meta;                    \
	} while (0)

void *spec_decode_kind(enum spec_kind k, const struct ynode *doc)
{
	switch (k) {
	case SPEC_CLUSTER:
		return spec_decode_cluster(doc);
	case SPEC_DEPLOYMENT:
		return spec_decode_deployment(doc);
	case SPEC_SERVICE:
		return spec_decode_service(doc);
	case SPEC_JOB:
		return spec_decode_job(doc);
	case SPEC_BACKUP_POLICY:
		return spec_decode_backup_policy(doc);
	default:
		return spec_decode_analysis_template(doc);
	}
}

void spec_free_kind(enum spec_kind k, void *obj)
{
	switch (k) {
	case SPEC_CLUSTER:
		spec_cluster_free(obj);
		break;
	case SPEC_DEPLOYMENT:
		spec_deployment_free(obj);
		break;
	case SPEC_SERVICE:
		spec_service_free(obj);
		break;
	case SPEC_JOB:
		spec_job_free(obj);
		break;
	case SPEC_BACKUP_POLICY:
		spec_backup_policy_free(obj);
		break;
	default:
		spec_analysis_template_free(obj);
		break;
	}
}

static void add_object(struct spec_set *set, enum spec_kind k, const struct ynode *root,
		       int invalid, const char *file)
{
	void *obj = spec_decode_kind(k, root);
	struct spec_meta *m;

	switch (k) {
	case SPEC_CLUSTER:
		APPEND(set, clusters, n_clusters, k, (struct spec_cluster *)obj, m);
		break;
	case SPEC_DEPLOYMENT:
		APPEND(set, deployments, n_deployments, k, (struct spec_deployment *)obj, m);
		break;
	case SPEC_SERVICE:
		APPEND(set, services, n_services, k, (struct spec_service *)obj, m);
		break;
	case SPEC_JOB:
		APPEND(set, jobs, n_jobs, k, (struct spec_job *)obj, m);
		break;
	case SPEC_BACKUP_POLICY:
		APPEND(set, backup_policies, n_backup_policies, k, (struct spec_backup_policy *)obj, m);
		break;
	default:
		APPEND(set, analysis_templates, n_analysis_templates, k, (struct spec_analysis_template *)obj, m);
		break;
	}
	m->invalid = invalid;
	m->node = root;
	m->pos.file = file;
	m->pos.line = root->line;
	m->pos.col = root->col;
}

/* An Environment: checked against its own schema and kept aside, for spec_env_apply. */
static void add_environment(struct spec_set *set, const struct ynode *root, struct doc_ctx *ctx)
{
	struct spec_priv *p = set->priv;
	struct spec_environment *e;
	size_t errors;

	ctx->kind = SPEC_ENVIRONMENT_KIND;
	errors = schema_validate(set->schemas->environment, root, "", report_schema, ctx);
	e = spec_decode_environment(root);
	e->meta.invalid = errors > 0;
	e->meta.node = root;
	e->meta.pos.file = ctx->file;
	e->meta.pos.line = root->line;
	e->meta.pos.col = root->col;
	XGROW_PTRS(p->envs, p->cap_envs, p->n_envs + 1);
	p->envs[p->n_envs++] = e;
}

static void load_doc(struct spec_set *set, const char *file, const struct ytree_doc *doc,
		     struct spec_diags *diags)
{
	const struct ynode *root = doc->root, *av, *kn, *name;
	struct spec_pos pos = { file, doc->line, doc->col };
	struct doc_ctx ctx = { diags, file, NULL, NULL };
	const char *kind;
	size_t errors;
	int k;

	if (root->type != YNODE_MAP) {
		spec_diags_add(diags, &pos, NULL, NULL, NULL, "a document must be a mapping, got %s",
			       ynode_describe(root));
		return;
	}
	av = ynode_get(root, "apiVersion");
	kn = ynode_get(root, "kind");
	name = spec_node_at(root, "metadata.name");
	ctx.name = name && name != root ? ynode_str(name) : NULL;
	if (kn == NULL) {
		spec_diags_add(diags, &pos, NULL, NULL, "kind", "required field is missing");
		return;
	}
	kind = ynode_str(kn);
	if (kind && strcmp(kind, SPEC_ENVIRONMENT_KIND) == 0 && av && ynode_str(av) &&
	    strcmp(ynode_str(av), SPEC_API_VERSION) == 0) {
		add_environment(set, root, &ctx);
		return;
	}
	for (k = 0; k < SPEC_KIND_COUNT && kind; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	/* An Environment with a wrong apiVersion is told so below, as any other kind. */
	if (kind == NULL || (k == SPEC_KIND_COUNT && strcmp(kind, SPEC_ENVIRONMENT_KIND) != 0)) {
		pos.line = kn->line;
		pos.col = kn->col;
		spec_diags_add(diags, &pos, NULL, NULL, "kind",
			       "unknown kind \"%.60s\" (expected one of Cluster, Deployment, "
			       "Service, Job, AnalysisTemplate, BackupPolicy, Environment)",
			       kn->type == YNODE_SCALAR ? kn->str : ynode_describe(kn));
		return;
	}
	ctx.kind = k < SPEC_KIND_COUNT ? kind_names[k] : SPEC_ENVIRONMENT_KIND;
	if (av == NULL) {
		spec_diags_add(diags, &pos, ctx.kind, ctx.name, "apiVersion",
			       "required field is missing");
		return;
	}
	if (ynode_str(av) == NULL || strcmp(ynode_str(av), SPEC_API_VERSION) != 0) {
		pos.line = av->line;
		pos.col = av->col;
		spec_diags_add(diags, &pos, ctx.kind, ctx.name, "apiVersion",
			       "unsupported \"%.60s\" (expected " SPEC_API_VERSION ")",
			       av->type == YNODE_SCALAR ? av->str : ynode_describe(av));
		return;
	}
	if (k == SPEC_KIND_COUNT)
		return;
	errors = schema_validate(set->schemas->kinds[k], root, "", report_schema, &ctx);
	add_object(set, (enum spec_kind)k, root, errors > 0, file);
}

size_t spec_set_load_buffer(struct spec_set *set, const char *path, const char *data, size_t len,
			    struct spec_diags *diags)
{
	struct spec_priv *p = set->priv;
	const char *file = intern_file(set, path);
	struct ytree *t = xmalloc(sizeof(*t));
	struct ytree_limits lim = { 0 };
	struct ytree_error err;
	size_t before = spec_diags_total(diags), i, non_empty = 0;

	lim.max_depth = p->lim.max_depth;
	lim.max_aliases = p->lim.max_aliases;
	lim.max_nodes = p->lim.max_nodes;
	lim.max_scalar = p->lim.max_scalar;
	lim.max_document = p->lim.max_document;
	lim.max_file = p->lim.max_file;
	lim.max_documents = p->lim.max_documents;
	/* One load's files together are bounded too, so many files at their limits cannot add up. */
	if (len > p->lim.max_total_bytes - p->total_bytes) {
		struct spec_pos pos = { file, 0, 0 };

		spec_diags_add(diags, &pos, NULL, NULL, NULL,
			       "the spec files together pass the limit of %zu bytes", p->lim.max_total_bytes);
		free(t);
		return spec_diags_total(diags) - before;
	}
	p->total_bytes += len;
	if (p->total_nodes >= p->lim.max_total_nodes) {
		struct spec_pos pos = { file, 0, 0 };

		spec_diags_add(diags, &pos, NULL, NULL, NULL,
			       "the spec files together pass the limit of %zu nodes", p->lim.max_total_nodes);
		free(t);
		return spec_diags_total(diags) - before;
	}
	if (ytree_parse_budget(t, file, data, len, &lim, p->lim.max_total_nodes - p->total_nodes, &err) < 0) {
		struct spec_pos pos = { file, err.line, err.col };

		spec_diags_add(diags, &pos, NULL, NULL, NULL, "%s", err.msg);
		ytree_release(t);
		free(t);
		return spec_diags_total(diags) - before;
	}
	for (i = 0; i < t->n_docs; i++)
		p->total_nodes += t->docs[i].root->weight;
	for (i = 0; i < t->n_docs; i++) {
		if (t->docs[i].empty)
			continue;
		non_empty++;
		load_doc(set, file, &t->docs[i], diags);
	}
	if (non_empty == 0) {
		struct spec_pos pos = { file, 0, 0 };

		spec_diags_add(diags, &pos, NULL, NULL, NULL, "no documents in this file");
	}
	XGROW_PTRS(p->trees, p->cap_trees, p->n_trees + 1);
	p->trees[p->n_trees++] = t;
	return spec_diags_total(diags) - before;
}

const struct spec_limits *spec_set_limits(const struct spec_set *set)
{
	return &set->priv->lim;
}

void spec_set_follow(struct spec_set *set, const char *name)
{
	free(set->priv->follow);
	set->priv->follow = name && name[0] ? xstrdup(name) : NULL;
}

int spec_set_count_file(struct spec_set *set)
{
	return ++set->priv->walked > set->priv->lim.max_files ? -1 : 0;
}

/*
 * Once checked, the set needs no syntax tree: every value was copied out and
 * every diagnostic has its position. A tree weighs several times the objects
 * made from it, so it goes.
 */
static void drop_trees(struct spec_set *set)
{
	size_t i;

	for (i = 0; i < set->n_clusters; i++)
		set->clusters[i]->meta.node = NULL;
	for (i = 0; i < set->n_deployments; i++)
		set->deployments[i]->meta.node = NULL;
	for (i = 0; i < set->n_services; i++)
		set->services[i]->meta.node = NULL;
	for (i = 0; i < set->n_jobs; i++)
		set->jobs[i]->meta.node = NULL;
	for (i = 0; i < set->n_analysis_templates; i++)
		set->analysis_templates[i]->meta.node = NULL;
	for (i = 0; i < set->n_backup_policies; i++)
		set->backup_policies[i]->meta.node = NULL;
	for (i = 0; i < set->priv->n_envs; i++)
		set->priv->envs[i]->meta.node = NULL;
	spec_env_drop_merged(set->priv);
	for (i = 0; i < set->priv->n_trees; i++) {
		ytree_release(set->priv->trees[i]);
		free(set->priv->trees[i]);
	}
	set->priv->n_trees = 0;
}

size_t spec_set_finish(struct spec_set *set, struct spec_diags *diags)
{
	size_t n = spec_env_apply(set, diags);

	if (set->n_clusters == 0) {
		struct spec_cluster *c = xcalloc(1, sizeof(*c));
		struct spec_meta *m;

		c->push_notes = -1;
		c->allow_privileged = -1;
		c->allow_host_bind_mounts = -1;
		APPEND(set, clusters, n_clusters, SPEC_CLUSTER, c, m);
		m->name = xstrdup("default");
		m->defaulted = 1;
	}
	spec_set_defaults(set);
	n += spec_set_check(set, diags);
	n += spec_backup_check(set, diags);
	n += spec_placement_check(set, diags);
	drop_trees(set);
	return n;
}

/* ---- lookups ---- */

struct spec_cluster *spec_set_cluster(const struct spec_set *set)
{
	return set->n_clusters ? set->clusters[0] : NULL;
}

int spec_set_swarm(const struct spec_set *set)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;

	return c != NULL && c->n_endpoints == 1 && c->endpoints[0].engine == SPEC_ENGINE_SWARM;
}

#define FIND(arr, n)                                                              \
	do {                                                                      \
		size_t i_;                                                        \
		for (i_ = 0; name && i_ < set->n; i_++)                           \
			if (set->arr[i_]->meta.name &&                            \
			    strcmp(set->arr[i_]->meta.name, name) == 0)           \
				return set->arr[i_];                              \
		return NULL;                                                      \
	} while (0)

struct spec_deployment *spec_set_deployment(const struct spec_set *set, const char *name)
{
	FIND(deployments, n_deployments);
}

struct spec_service *spec_set_service(const struct spec_set *set, const char *name)
{
	FIND(services, n_services);
}

struct spec_job *spec_set_job(const struct spec_set *set, const char *name)
{
	FIND(jobs, n_jobs);
}

struct spec_analysis_template *spec_set_analysis_template(const struct spec_set *set,
							  const char *name)
{
	FIND(analysis_templates, n_analysis_templates);
}

struct spec_backup_policy *spec_set_backup_policy(const struct spec_set *set, const char *name)
{
	FIND(backup_policies, n_backup_policies);
}

int spec_container_port(const struct spec_container *c, const struct spec_port_ref *ref)
{
	size_t i;

	if (ref->name == NULL)
		return ref->number;
	for (i = 0; i < c->n_ports; i++)
		if (c->ports[i].name && strcmp(c->ports[i].name, ref->name) == 0)
			return c->ports[i].container_port;
	return 0;
}

/* ---- phases ---- */

static const char *role_of(const struct spec_deployment *d)
{
	return d->role ? d->role : "";
}

int spec_deployment_phase_index(const struct spec_set *set, const struct spec_deployment *dep)
{
	const struct spec_cluster *c = spec_set_cluster(set);
	size_t n_roles = c ? c->n_role_order : 0, i;
	const char *role = role_of(dep);
	int below = 0;

	if (dep->phase >= 0)
		return dep->phase;
	for (i = 0; i < n_roles; i++)
		if (strcmp(c->role_order[i], role) == 0)
			return (int)i;
	/* Unlisted roles: one phase each, in name order, after the listed ones. */
	for (i = 0; i < set->n_deployments; i++) {
		const char *r = role_of(set->deployments[i]);
		size_t j, listed = 0, seen = 0;

		if (strcmp(r, role) >= 0)
			continue;
		for (j = 0; j < n_roles; j++)
			listed |= strcmp(c->role_order[j], r) == 0;
		for (j = 0; j < i; j++)
			seen |= strcmp(role_of(set->deployments[j]), r) == 0;
		if (!listed && !seen)
			below++;
	}
	return (int)n_roles + below;
}

int spec_set_phase_count(const struct spec_set *set)
{
	size_t i;
	int max = -1;

	for (i = 0; i < set->n_deployments; i++) {
		int p = spec_deployment_phase_index(set, set->deployments[i]);

		if (p > max)
			max = p;
	}
	return max + 1;
}

long spec_intpct_resolve(const struct spec_intpct *v, long total, int round_up)
{
	if (!v->set)
		return 0;
	if (!v->percent)
		return v->value;
	if (round_up)
		return (v->value * total + 99) / 100;
	return v->value * total / 100;
}

int spec_deployment_host_port_span(const struct spec_deployment *dep)
{
	int r = dep->replicas > 0 ? dep->replicas : 0;

	switch (dep->strategy.type) {
	case SPEC_STRATEGY_RECREATE:
		return r;
	case SPEC_STRATEGY_ROLLING:
		return r + (int)spec_intpct_resolve(&dep->strategy.max_surge, r, 1);
	default:
		return 2 * r;
	}
}
