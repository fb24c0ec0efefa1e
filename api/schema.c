/* Compiles CRD openAPIV3Schemas and checks position-carrying YAML trees against them. */
#include "buf.h"
#include "schema.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- compiling ---- */

struct compiler {
	const char *file;
	struct spec_diags *diags;
	size_t errors;
};

static void cerr(struct compiler *c, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cerr(struct compiler *c, const struct ynode *at, const char *fmt, ...)
{
	struct spec_pos pos = { c->file, at ? at->line : 0, at ? at->col : 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	spec_diags_add(c->diags, &pos, "CustomResourceDefinition", NULL, NULL, "%s", msg);
	c->errors++;
}

static void schema_free(struct schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_props; i++) {
		free(s->prop_names[i]);
		schema_free(s->props[i]);
	}
	free(s->prop_names);
	free(s->props);
	strv_free_n(s->required, s->n_required);
	strv_free_n(s->enums, s->n_enums);
	schema_free(s->additional);
	schema_free(s->items);
	if (s->pattern) {
		regfree(&s->re);
		free(s->pattern);
	}
	free(s);
}

static const char *const ignored_keywords[] = { "description", "format", "default", "example",
	"nullable", "title", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
	"x-kubernetes-map-type", NULL };

static int keyword_ignored(const char *k)
{
	const char *const *p;

	for (p = ignored_keywords; *p; p++)
		if (strcmp(*p, k) == 0)
			return 1;
	return 0;
}

static int get_count(struct compiler *c, const struct ynode *v, const char *k, long long *out)
{
	if (ynode_int(v, out) < 0 || *out < 0) {
		cerr(c, v, "schema keyword %s must be a non-negative integer", k);
		return -1;
	}
	return 0;
}

static char **string_list(struct compiler *c, const struct ynode *v, const char *k, size_t *n)
{
	char **out;
	size_t i;

	*n = 0;
	if (v->type != YNODE_SEQ) {
		cerr(c, v, "schema keyword %s must be a list", k);
		return NULL;
	}
	out = xcalloc(v->n + 1, sizeof(*out));
	for (i = 0; i < v->n; i++) {
		if (v->kids[i]->type != YNODE_SCALAR || v->kids[i]->stype == YS_NULL) {
			cerr(c, v->kids[i], "schema keyword %s must list scalars", k);
			continue;
		}
		out[(*n)++] = xstrdup(v->kids[i]->str);
	}
	return out;
}

static struct schema *compile(struct compiler *c, const struct ynode *n, unsigned depth);

/* The bound a counting keyword (minLength to maxProperties) sets, or NULL for another keyword. */
static long long *count_keyword(struct schema *s, const char *k)
{
	static const char *const names[] = { "minLength", "maxLength", "minItems",
					     "maxItems", "minProperties", "maxProperties" };
	long long *const slots[] = { &s->min_len, &s->max_len, &s->min_items,
				     &s->max_items, &s->min_props, &s->max_props };
	int i = name_index(names, ARRAY_SIZE(names), k);

	return i < 0 ? NULL : slots[i];
}

static void compile_keyword(struct compiler *c, struct schema *s, const struct ynode *key,
			    const struct ynode *v, unsigned depth)
{
	const char *k = key->str;
	long long *count;
	size_t i;

	if (strcmp(k, "type") == 0) {
		static const char *const names[] = { "", "object", "array", "string", "integer",
			"number", "boolean" };
		const char *t = ynode_str(v);

		for (i = 1; t && i < ARRAY_SIZE(names); i++)
			if (strcmp(t, names[i]) == 0)
				s->type = (enum schema_type)i;
		if (s->type == SCHEMA_ANY)
			cerr(c, v, "unknown schema type \"%s\"", t ? t : "");
	} else if (strcmp(k, "properties") == 0) {
		if (v->type != YNODE_MAP) {
			cerr(c, v, "schema keyword properties must be a mapping");
			return;
		}
		s->prop_names = xcalloc(v->n / 2 + 1, sizeof(*s->prop_names));
		s->props = xcalloc(v->n / 2 + 1, sizeof(void *));
		for (i = 0; i + 1 < v->n; i += 2) {
			s->prop_names[s->n_props] = xstrdup(v->kids[i]->str);
			s->props[s->n_props++] = compile(c, v->kids[i + 1], depth + 1);
		}
	} else if (strcmp(k, "required") == 0) {
		s->required = string_list(c, v, k, &s->n_required);
	} else if (strcmp(k, "enum") == 0) {
		s->enums = string_list(c, v, k, &s->n_enums);
	} else if (strcmp(k, "additionalProperties") == 0) {
		int b;

		if (ynode_bool(v, &b) == 0) {
			if (b)
				cerr(c, v, "additionalProperties: true is not structural; use "
					   "x-kubernetes-preserve-unknown-fields");
		} else {
			s->additional = compile(c, v, depth + 1);
		}
	} else if (strcmp(k, "items") == 0) {
		s->items = compile(c, v, depth + 1);
	} else if (strcmp(k, "pattern") == 0) {
		const char *p = ynode_str(v);
		int rc;

		if (p == NULL) {
			cerr(c, v, "schema keyword pattern must be a string");
			return;
		}
		rc = regcomp(&s->re, p, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];

			regerror(rc, &s->re, why, sizeof(why));
			cerr(c, v, "pattern \"%s\" does not compile: %s", p, why);
			return;
		}
		s->pattern = xstrdup(p);
	} else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0) {
		double d;

		if (ynode_float(v, &d) < 0) {
			cerr(c, v, "schema keyword %s must be a number", k);
			return;
		}
		if (k[1] == 'i') {
			s->has_min = 1;
			s->min = d;
		} else {
			s->has_max = 1;
			s->max = d;
		}
	} else if ((count = count_keyword(s, k)) != NULL) {
		get_count(c, v, k, count);
	} else if (strcmp(k, "x-kubernetes-int-or-string") == 0) {
		if (ynode_bool(v, &s->int_or_string) < 0)
			cerr(c, v, "%s must be a boolean", k);
	} else if (strcmp(k, "x-kubernetes-preserve-unknown-fields") == 0) {
		if (ynode_bool(v, &s->preserve_unknown) < 0)
			cerr(c, v, "%s must be a boolean", k);
	} else if (!keyword_ignored(k)) {
		cerr(c, key, "unsupported schema keyword \"%s\"", k);
	}
}

static struct schema *compile(struct compiler *c, const struct ynode *n, unsigned depth)
{
	struct schema *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->min_len = s->max_len = s->min_items = s->max_items = s->min_props = s->max_props = -1;
	if (depth > 48) {
		cerr(c, n, "schema nested too deeply");
		return s;
	}
	if (n->type != YNODE_MAP) {
		cerr(c, n, "a schema must be a mapping");
		return s;
	}
	for (i = 0; i + 1 < n->n; i += 2)
		compile_keyword(c, s, n->kids[i], n->kids[i + 1], depth);
	if (s->type == SCHEMA_ANY && !s->int_or_string && !s->preserve_unknown)
		cerr(c, n, "a structural schema needs a type");
	if (s->int_or_string && s->type != SCHEMA_ANY)
		cerr(c, n, "x-kubernetes-int-or-string excludes a type");
	if (s->type == SCHEMA_ARRAY && s->items == NULL)
		cerr(c, n, "an array schema needs items");
	if (s->n_props && s->additional)
		cerr(c, n, "properties and additionalProperties are mutually exclusive");
	for (i = 0; i < s->n_required; i++) {
		size_t j;
		int found = 0;

		for (j = 0; j < s->n_props; j++)
			found |= strcmp(s->prop_names[j], s->required[i]) == 0;
		if (!found)
			cerr(c, n, "required field \"%s\" has no property", s->required[i]);
	}
	return s;
}

static const struct ynode *path_get(const struct ynode *n, const char *const *keys)
{
	for (; *keys && n; keys++)
		n = ynode_get(n, *keys);
	return n;
}

static const struct ynode *crd_version(struct compiler *c, const struct ynode *spec)
{
	const struct ynode *versions = ynode_get(spec, "versions"), *found = NULL;
	size_t i;

	if (versions == NULL || versions->type != YNODE_SEQ) {
		cerr(c, spec, "spec.versions must be a list");
		return NULL;
	}
	for (i = 0; i < versions->n; i++) {
		const struct ynode *v = versions->kids[i];
		const char *name = ynode_str(ynode_get(v, "name"));
		int served = 0, storage = 0;

		if (name == NULL || strcmp(name, "v1") != 0)
			continue;
		ynode_bool(ynode_get(v, "served"), &served);
		ynode_bool(ynode_get(v, "storage"), &storage);
		if (!served || !storage)
			cerr(c, v, "version v1 must be served and stored");
		found = v;
	}
	if (found == NULL)
		cerr(c, versions, "no version v1 in spec.versions");
	return found;
}

void spec_schemas_init(struct spec_schemas *s)
{
	memset(s, 0, sizeof(*s));
}

void spec_schemas_release(struct spec_schemas *s)
{
	size_t i;

	for (i = 0; i < SPEC_KIND_COUNT; i++) {
		schema_free(s->kinds[i]);
		free(s->files[i]);
	}
	schema_free(s->environment);
	free(s->environment_file);
	spec_schemas_init(s);
}

size_t spec_schemas_add_crd(struct spec_schemas *s, const char *path, const char *data,
			    size_t len, struct spec_diags *diags)
{
	static const char *const kind_path[] = { "spec", "names", "kind", NULL };
	static const char *const schema_path[] = { "schema", "openAPIV3Schema", NULL };
	struct compiler c = { path, diags, 0 };
	struct ytree t;
	struct ytree_error yerr;
	struct ytree_limits lim;
	const struct spec_limits *sl = spec_limits_default();
	const struct ynode *root, *version, *schema;
	const char *av, *kind, *group;
	struct schema **schema_slot = NULL;
	char **file_slot = NULL;
	int k;

	lim.max_depth = 128;
	lim.max_aliases = 64;
	lim.max_nodes = 200000;
	lim.max_scalar = sl->max_scalar;
	lim.max_document = sl->max_file;
	lim.max_file = sl->max_file;
	lim.max_documents = 1;
	if (ytree_parse(&t, path, data, len, &lim, &yerr) < 0) {
		struct spec_pos pos = { path, yerr.line, yerr.col };

		spec_diags_add(diags, &pos, NULL, NULL, NULL, "%s", yerr.msg);
		ytree_release(&t);
		return 1;
	}
	if (t.n_docs != 1 || t.docs[0].root->type != YNODE_MAP) {
		struct spec_pos pos = { path, 1, 1 };

		spec_diags_add(diags, &pos, NULL, NULL, NULL,
			       "a CRD file holds one CustomResourceDefinition mapping");
		ytree_release(&t);
		return 1;
	}
	root = t.docs[0].root;
	av = ynode_str(ynode_get(root, "apiVersion"));
	kind = ynode_str(path_get(root, kind_path));
	group = ynode_str(path_get(root, (const char *const[]){ "spec", "group", NULL }));
	if (av == NULL || strcmp(av, "apiextensions.k8s.io/v1") != 0 ||
	    ynode_str(ynode_get(root, "kind")) == NULL ||
	    strcmp(ynode_str(ynode_get(root, "kind")), "CustomResourceDefinition") != 0) {
		cerr(&c, root, "not an apiextensions.k8s.io/v1 CustomResourceDefinition");
		goto out;
	}
	if (group == NULL || strcmp(group, "auriga.io") != 0) {
		cerr(&c, root, "spec.group must be auriga.io");
		goto out;
	}
	for (k = 0; k < SPEC_KIND_COUNT; k++)
		if (kind && strcmp(kind, spec_kind_name((enum spec_kind)k)) == 0)
			break;
	if (k == SPEC_KIND_COUNT && kind && strcmp(kind, SPEC_ENVIRONMENT_KIND) == 0) {
		schema_slot = &s->environment;
		file_slot = &s->environment_file;
	} else if (k == SPEC_KIND_COUNT) {
		cerr(&c, root, "spec.names.kind \"%s\" is not a kind auriga knows",
		     kind ? kind : "");
		goto out;
	}
	if (schema_slot == NULL) {
		schema_slot = &s->kinds[k];
		file_slot = &s->files[k];
	}
	if (*schema_slot) {
		cerr(&c, root, "a second schema for %s (the first is in %s)", kind, *file_slot);
		goto out;
	}
	version = crd_version(&c, ynode_get(root, "spec"));
	if (version == NULL)
		goto out;
	schema = path_get(version, schema_path);
	if (schema == NULL) {
		cerr(&c, version, "version v1 has no schema.openAPIV3Schema");
		goto out;
	}
	*schema_slot = compile(&c, schema, 0);
	*file_slot = xstrdup(path);
out:
	ytree_release(&t);
	return c.errors;
}

size_t spec_schemas_check_complete(const struct spec_schemas *s, const char *origin, struct spec_diags *diags)
{
	size_t errors = 0;
	int k;

	for (k = 0; k < SPEC_KIND_COUNT; k++) {
		if (s->kinds[k] == NULL) {
			spec_diags_add(diags, NULL, NULL, NULL, NULL, "%s: no CRD for kind %s", origin,
				       spec_kind_name((enum spec_kind)k));
			errors++;
		}
	}
	if (s->environment == NULL) {
		spec_diags_add(diags, NULL, NULL, NULL, NULL, "%s: no CRD for kind " SPEC_ENVIRONMENT_KIND, origin);
		errors++;
	}
	return errors;
}

static struct spec_schemas builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_load(void)
{
	struct spec_diags d;
	size_t i;
	int k;

	spec_diags_init(&d);
	spec_schemas_init(&builtin);
	for (i = 0; i < spec_crds_embedded_count; i++)
		spec_schemas_add_crd(&builtin, spec_crds_embedded[i].path,
				     (const char *)spec_crds_embedded[i].data,
				     spec_crds_embedded[i].len, &d);
	for (k = 0; k < SPEC_KIND_COUNT; k++)
		if (builtin.kinds[k] == NULL)
			spec_diags_add(&d, NULL, NULL, NULL, NULL, "no embedded CRD for %s",
				       spec_kind_name((enum spec_kind)k));
	if (builtin.environment == NULL)
		spec_diags_add(&d, NULL, NULL, NULL, NULL, "no embedded CRD for " SPEC_ENVIRONMENT_KIND);
	if (d.n) {
		char *line = spec_diag_format(&d.v[0]);

		BUG("embedded CRDs do not compile: %s", line);
	}
	spec_diags_release(&d);
}

const struct spec_schemas *spec_schemas_builtin(void)
{
	pthread_once(&builtin_once, builtin_load);
	return &builtin;
}

/* ---- validating ---- */

struct vctx {
	schema_report_fn report;
	void *ctx;
	size_t count;
	struct buf path;
	int patch;	/* a merge patch: no required fields, null removes (list items too: they merge by key) */
};

static void report(struct vctx *v, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct vctx *v, const struct ynode *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->report(v->ctx, at, v->path.data, msg);
	v->count++;
}

static const char *type_word(const struct schema *s)
{
	if (s->int_or_string)
		return "an integer or a string";
	switch (s->type) {
	case SCHEMA_OBJECT:
		return "a mapping";
	case SCHEMA_ARRAY:
		return "a list";
	case SCHEMA_STRING:
		return "a string";
	case SCHEMA_INTEGER:
		return "an integer";
	case SCHEMA_NUMBER:
		return "a number";
	case SCHEMA_BOOLEAN:
		return "a boolean";
	default:
		return "anything";
	}
}

/* "a string \"abc\"", "an integer 5", "a mapping": what the user wrote, for messages. */
static void describe(const struct ynode *n, char *out, size_t size)
{
	if (n->type == YNODE_SCALAR && n->stype != YS_NULL) {
		if (n->stype == YS_STR)
			snprintf(out, size, "%s \"%.40s%s\"", ynode_describe(n), n->str,
				 n->len > 40 ? "..." : "");
		else
			snprintf(out, size, "%s %.40s", ynode_describe(n), n->str);
	} else {
		snprintf(out, size, "%s", ynode_describe(n));
	}
}

static int type_ok(const struct schema *s, const struct ynode *n)
{
	if (s->preserve_unknown && s->type == SCHEMA_ANY)
		return 1;
	if (s->int_or_string)
		return n->type == YNODE_SCALAR && (n->stype == YS_INT || n->stype == YS_STR);
	switch (s->type) {
	case SCHEMA_OBJECT:
		return n->type == YNODE_MAP;
	case SCHEMA_ARRAY:
		return n->type == YNODE_SEQ;
	case SCHEMA_STRING:
		return n->type == YNODE_SCALAR && n->stype == YS_STR;
	case SCHEMA_INTEGER:
		return n->type == YNODE_SCALAR && n->stype == YS_INT;
	case SCHEMA_NUMBER:
		return n->type == YNODE_SCALAR && (n->stype == YS_INT || n->stype == YS_FLOAT);
	case SCHEMA_BOOLEAN:
		return n->type == YNODE_SCALAR && n->stype == YS_BOOL;
	default:
		return 1;
	}
}

/* Edit distance, to suggest the field a typo meant. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static void check_scalar(struct vctx *v, const struct schema *s, const struct ynode *n)
{
	if (s->n_enums) {
		size_t i;
		int found = 0;
		struct buf list = BUF_INIT_MAX(1024);

		for (i = 0; i < s->n_enums && !found; i++)
			found = strcmp(s->enums[i], n->str) == 0;
		if (!found) {
			for (i = 0; i < s->n_enums; i++)
				buf_printf(&list, "%s%s", i ? ", " : "", s->enums[i]);
			report(v, n, "must be one of %s, got \"%.60s\"", list.data, n->str);
		}
		buf_release(&list);
	}
	if (n->stype == YS_STR) {
		if (s->pattern && regexec(&s->re, n->str, 0, NULL, 0) != 0)
			report(v, n, "must match %s, got \"%.60s\"", s->pattern, n->str);
		if (s->min_len >= 0 && (long long)n->len < s->min_len)
			report(v, n, "must be at least %lld characters long", s->min_len);
		if (s->max_len >= 0 && (long long)n->len > s->max_len)
			report(v, n, "must be at most %lld characters long, got %zu", s->max_len,
			       n->len);
	}
	if (n->stype == YS_INT || n->stype == YS_FLOAT) {
		double d;

		if (ynode_float(n, &d) < 0) {
			report(v, n, "number %.40s is out of range", n->str);
			return;
		}
		if (s->has_min && d < s->min)
			report(v, n, "must be >= %g, got %s", s->min, n->str);
		if (s->has_max && d > s->max)
			report(v, n, "must be <= %g, got %s", s->max, n->str);
	}
}

static void validate(struct vctx *v, const struct schema *s, const struct ynode *n);

static void path_cut(struct buf *b, size_t mark)
{
	if (b->cap == 0)
		return;
	b->len = mark;
	b->data[mark] = '\0';
}

static void validate_object(struct vctx *v, const struct schema *s, const struct ynode *n)
{
	size_t i, j, mark = v->path.len;

	if (s->min_props >= 0 && !v->patch && (long long)(n->n / 2) < s->min_props)
		report(v, n, "must set at least %lld field%s", s->min_props,
		       s->min_props == 1 ? "" : "s");
	if (s->max_props >= 0 && (long long)(n->n / 2) > s->max_props)
		report(v, n, "must set at most %lld field%s, got %zu", s->max_props,
		       s->max_props == 1 ? "" : "s", n->n / 2);
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *key = n->kids[i], *val = n->kids[i + 1];
		const struct schema *sub = s->additional;

		for (j = 0; j < s->n_props && sub == NULL; j++)
			if (strcmp(s->prop_names[j], key->str) == 0)
				sub = s->props[j];
		if (s->additional && s->n_props == 0)
			buf_printf(&v->path, "[%.60s]", key->str);
		else
			buf_printf(&v->path, "%s%.60s", v->path.len ? "." : "", key->str);
		if (sub && v->patch && val->type == YNODE_SCALAR && val->stype == YS_NULL) {
			/* A merge patch's null removes the field. */
		} else if (sub) {
			validate(v, sub, val);
		} else if (!s->preserve_unknown) {
			const char *best = NULL;
			size_t bd = 3;

			for (j = 0; j < s->n_props; j++) {
				size_t d = distance(key->str, s->prop_names[j]);

				if (d < bd) {
					bd = d;
					best = s->prop_names[j];
				}
			}
			if (best)
				report(v, key, "unknown field (did you mean \"%s\"?)", best);
			else
				report(v, key, "unknown field");
		}
		path_cut(&v->path, mark);
	}
	for (i = 0; i < s->n_required && !v->patch; i++) {
		if (ynode_key(n, s->required[i]))
			continue;
		buf_printf(&v->path, "%s%s", v->path.len ? "." : "", s->required[i]);
		report(v, n, "required field is missing");
		path_cut(&v->path, mark);
	}
}

static void validate(struct vctx *v, const struct schema *s, const struct ynode *n)
{
	size_t i, mark = v->path.len;

	if (!type_ok(s, n)) {
		char got[128];

		describe(n, got, sizeof(got));
		report(v, n, "must be %s, got %s", type_word(s), got);
		return;
	}
	switch (n->type) {
	case YNODE_MAP:
		if (s->type == SCHEMA_OBJECT)
			validate_object(v, s, n);
		break;
	case YNODE_SEQ:
		if (s->min_items >= 0 && (long long)n->n < s->min_items)
			report(v, n, "must have at least %lld item%s", s->min_items,
			       s->min_items == 1 ? "" : "s");
		if (s->max_items >= 0 && (long long)n->n > s->max_items)
			report(v, n, "must have at most %lld items, got %zu", s->max_items, n->n);
		if (s->items == NULL)
			break;
		/* A patch's list items merge by their key (spec_env.c): they need not repeat what they keep. */
		for (i = 0; i < n->n; i++) {
			buf_printf(&v->path, "[%zu]", i);
			validate(v, s->items, n->kids[i]);
			path_cut(&v->path, mark);
		}
		break;
	default:
		check_scalar(v, s, n);
		break;
	}
}

static size_t validate_top(const struct schema *s, const struct ynode *n, const char *path, int patch,
			   schema_report_fn fn, void *ctx)
{
	struct vctx v = { fn, ctx, 0, BUF_INIT_MAX(8192), patch };

	buf_puts(&v.path, path ? path : "");
	validate(&v, s, n);
	buf_release(&v.path);
	return v.count;
}

size_t schema_validate(const struct schema *s, const struct ynode *n, const char *path,
		       schema_report_fn fn, void *ctx)
{
	return validate_top(s, n, path, 0, fn, ctx);
}

size_t schema_validate_patch(const struct schema *s, const struct ynode *n, const char *path,
			     schema_report_fn fn, void *ctx)
{
	return validate_top(s, n, path, 1, fn, ctx);
}
