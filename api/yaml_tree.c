/* The bounded YAML loader: libyaml events in, a DAG of positioned nodes out. */
#include "util.h"
#include "yaml_tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* XGROW for arrays of pointers: the element size is that of a pointer. */
#define XGROW_PTRS(arr, cap, need) xgrow((void **)&(arr), &(cap), (need), sizeof(void *))

struct anchor {
	char *name;
	struct ynode *node;
};

struct loader {
	struct ytree *t;
	const struct ytree_limits *lim;
	struct ytree_error *err;
	const char *data;
	size_t len;
	struct ynode **stack;	/* open collections, at most max_depth */
	size_t depth;
	struct ynode *root;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t aliases;
	size_t doc_nodes;
	size_t file_nodes;
	size_t max_file_nodes;	/* 0: no bound */
	size_t doc_start;
};

static int fail(struct loader *l, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct loader *l, int line, int col, const char *fmt, ...)
{
	va_list ap;

	l->err->line = line;
	l->err->col = col;
	va_start(ap, fmt);
	vsnprintf(l->err->msg, sizeof(l->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The node and text blocks below come from slabs of their own, not from
 * the heap's small chunks. A spec set keeps every file's tree until the set
 * is checked, and the objects decoded from each file are allocated in
 * between; from small chunks, the dropped trees left a hole of a few KB
 * between every file's objects (about 20 MB resident at ten thousand
 * files, which malloc could neither reuse whole nor give back). A slab is
 * one allocation above malloc's mmap threshold (main sets it), so it goes
 * back to the system when its last block is freed, and the trees of a load
 * go back together. Big blocks (over a quarter of a slab) are the heap's.
 * Under AddressSanitizer every block is the heap's, so that a node used
 * after its tree is dropped is still caught.
 */
#define SLAB_SIZE ((size_t)256 * 1024)
#if defined(__SANITIZE_ADDRESS__)
static const int slabs_on = 0;
#else
static const int slabs_on = 1;
#endif

struct slab {
	size_t used;	/* bytes carved, this header included */
	size_t live;	/* blocks not freed yet */
};

/* Before each block: its slab, or NULL for a heap block; 16 bytes, so blocks stay aligned. */
#define HDR ((size_t)16)
#define ROUND16(n) (((n) + 15) & ~(size_t)15)

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab *slab_cur;	/* the slab blocks are carved from now */

static void *block_alloc(size_t n)
{
	size_t need = ROUND16(HDR + n);
	char *b = NULL;

	if (slabs_on && need <= SLAB_SIZE / 4) {
		pthread_mutex_lock(&slab_lock);
		if (slab_cur == NULL || slab_cur->used + need > SLAB_SIZE) {
			/* The slab left is freed by its last block's free, or now when it has none. */
			if (slab_cur != NULL && slab_cur->live == 0)
				free(slab_cur);
			slab_cur = xmalloc(SLAB_SIZE);
			slab_cur->used = ROUND16(sizeof(struct slab));
			slab_cur->live = 0;
		}
		b = (char *)slab_cur + slab_cur->used;
		slab_cur->used += need;
		slab_cur->live++;
		*(struct slab **)(void *)b = slab_cur;
		pthread_mutex_unlock(&slab_lock);
	} else {
		b = xmalloc(HDR + n);
		*(struct slab **)(void *)b = NULL;
	}
	return b + HDR;
}

/* The slab block p was carved from (NULL for a heap block), and its header's address in *hdr. */
static struct slab *block_slab(void *p, char **hdr)
{
	*hdr = (char *)p - HDR;
	return *(struct slab **)(void *)*hdr;
}

static void block_free(void *p)
{
	char *b;
	struct slab *s;

	if (p == NULL)
		return;
	s = block_slab(p, &b);
	if (s == NULL) {
		free(b);
		return;
	}
	pthread_mutex_lock(&slab_lock);
	if (--s->live == 0) {
		if (s == slab_cur)
			s->used = ROUND16(sizeof(struct slab));	/* empty: carved again from the start */
		else
			free(s);
	}
	pthread_mutex_unlock(&slab_lock);
}

/*
 * A parsed tree's last blocks are seldom full. When one is the last block
 * carved from its slab, the part it did not use goes back to the slab, so
 * the next file's blocks follow the last byte used (ten thousand small files
 * otherwise leave two thirds of their blocks empty between them). had and
 * keep are the bytes the block was carved for and the bytes it holds.
 */
static void block_shrink(void *p, size_t had, size_t keep)
{
	char *b;
	struct slab *s;

	if (p == NULL || (s = block_slab(p, &b)) == NULL)
		return;
	pthread_mutex_lock(&slab_lock);
	if (s == slab_cur && (char *)s + s->used == b + ROUND16(HDR + had))
		s->used = (size_t)(b - (char *)s) + ROUND16(HDR + keep);
	pthread_mutex_unlock(&slab_lock);
}

#define NODE_FIRST 16
#define NODE_BLOCK 512
#define TEXT_FIRST 256
#define TEXT_BLOCK 16384

/*
 * Nodes and scalar text are carved from blocks: a spec set holds a million
 * nodes for ten thousand documents, and one malloc each would dominate. The
 * blocks double from a small first one, since most files are one small
 * document each (a fixed 36 KB of nodes and 16 KB of text per file made a
 * tree of ten thousand files weigh half a gigabyte).
 */
static size_t node_block_cap(size_t i)
{
	return i >= 5 ? NODE_BLOCK : (size_t)NODE_FIRST << i;
}

static struct ynode *node_new(struct loader *l, enum ynode_type type, const yaml_mark_t *m)
{
	struct ytree *t = l->t;
	struct ynode *n;

	if (t->n_blocks == 0 || t->used == node_block_cap(t->n_blocks - 1)) {
		XGROW_PTRS(t->blocks, t->cap_blocks, t->n_blocks + 1);
		t->blocks[t->n_blocks] = block_alloc(node_block_cap(t->n_blocks) * sizeof(struct ynode));
		t->n_blocks++;
		t->used = 0;
	}
	n = &t->blocks[t->n_blocks - 1][t->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->weight = 1;
	n->height = 1;
	return n;
}

static char *text_new(struct ytree *t, const char *s, size_t len)
{
	char *out;

	if (len + 1 > TEXT_BLOCK / 4) {
		/* Big scalars get their own block. */
		XGROW(t->text, t->cap_text, t->n_text + 1);
		out = t->text[t->n_text++] = block_alloc(len + 1);
		if (t->n_text > 1) {
			/* Keep the current small-text block last. */
			char *cur = t->text[t->n_text - 2];

			t->text[t->n_text - 2] = out;
			t->text[t->n_text - 1] = cur;
		} else {
			t->text_used = t->text_cap = 0;
		}
	} else {
		if (t->n_text == 0 || t->text_used + len + 1 > t->text_cap) {
			size_t cap = t->text_cap ? t->text_cap * 2 : TEXT_FIRST;

			if (cap > TEXT_BLOCK)
				cap = TEXT_BLOCK;
			while (cap < len + 1)
				cap *= 2;
			XGROW(t->text, t->cap_text, t->n_text + 1);
			t->text[t->n_text++] = block_alloc(cap);
			t->text_used = 0;
			t->text_cap = cap;
		}
		out = t->text[t->n_text - 1] + t->text_used;
		t->text_used += len + 1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static void clear_anchors(struct loader *l)
{
	size_t i;

	for (i = 0; i < l->n_anchors; i++)
		free(l->anchors[i].name);
	l->n_anchors = 0;
}

static void add_anchor(struct loader *l, const char *name, struct ynode *n)
{
	size_t i;

	/* A later anchor of the same name hides the earlier one, as YAML says. */
	for (i = 0; i < l->n_anchors; i++) {
		if (strcmp(l->anchors[i].name, name) == 0) {
			l->anchors[i].node = n;
			return;
		}
	}
	XGROW(l->anchors, l->cap_anchors, l->n_anchors + 1);
	l->anchors[l->n_anchors].name = xstrdup(name);
	l->anchors[l->n_anchors].node = n;
	l->n_anchors++;
}

static int is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

static int match_int(const char *s)
{
	const char *p = s;

	if (strncmp(s, "0x", 2) == 0 && s[2]) {
		for (p = s + 2; *p; p++)
			if (!strchr("0123456789abcdefABCDEF", *p))
				return 0;
		return 1;
	}
	if (strncmp(s, "0o", 2) == 0 && s[2]) {
		for (p = s + 2; *p; p++)
			if (*p < '0' || *p > '7')
				return 0;
		return 1;
	}
	if (*p == '-' || *p == '+')
		p++;
	if (!*p)
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static int match_float(const char *s)
{
	static const char *const special[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
		"-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL };
	const char *p = s;
	int digits = 0;

	if (is_one_of(s, special))
		return 1;
	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static enum yscalar resolve_plain(const char *s)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE",
		NULL };

	if (is_one_of(s, nulls))
		return YS_NULL;
	if (is_one_of(s, bools))
		return YS_BOOL;
	if (match_int(s))
		return YS_INT;
	if (match_float(s))
		return YS_FLOAT;
	return YS_STR;
}

static int resolve_scalar(struct loader *l, struct ynode *n, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	n->quoted = !plain;
	if (tag == NULL || strcmp(tag, "!") == 0) {
		n->stype = plain && tag == NULL ? resolve_plain(n->str) : YS_STR;
		return 0;
	}
	if (strcmp(tag, YAML_STR_TAG) == 0) {
		n->stype = YS_STR;
		return 0;
	}
	if (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
	    strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0) {
		n->stype = resolve_plain(n->str);
		if ((strcmp(tag, YAML_INT_TAG) == 0 && n->stype != YS_INT) ||
		    (strcmp(tag, YAML_FLOAT_TAG) == 0 && n->stype != YS_FLOAT &&
		     n->stype != YS_INT) ||
		    (strcmp(tag, YAML_BOOL_TAG) == 0 && n->stype != YS_BOOL) ||
		    (strcmp(tag, YAML_NULL_TAG) == 0 && n->stype != YS_NULL))
			return fail(l, n->line, n->col, "value \"%.40s\" does not match its tag %s",
				    n->str, tag);
		if (strcmp(tag, YAML_FLOAT_TAG) == 0)
			n->stype = YS_FLOAT;
		return 0;
	}
	return fail(l, n->line, n->col, "unsupported tag \"%.60s\"", tag);
}

static int check_duplicate(struct loader *l, const struct ynode *map, const struct ynode *key)
{
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i];

		if (k->len == key->len && memcmp(k->str, key->str, k->len) == 0)
			return fail(l, key->line, key->col,
				    "duplicate key \"%.60s\" (first at line %d)", key->str,
				    k->line);
	}
	return 0;
}

/* Hangs n under the open collection, or makes it the root. */
static int attach(struct loader *l, struct ynode *n)
{
	struct ynode *parent;

	if (l->depth == 0) {
		l->root = n;
		return 0;
	}
	parent = l->stack[l->depth - 1];
	if (parent->type == YNODE_MAP && parent->n % 2 == 0) {
		if (n->type != YNODE_SCALAR)
			return fail(l, n->line, n->col,
				    "mapping keys must be scalars, got %s", ynode_describe(n));
		if (check_duplicate(l, parent, n) < 0)
			return -1;
	}
	XGROW_PTRS(parent->kids, parent->cap, parent->n + 1);
	parent->kids[parent->n++] = n;
	return 0;
}

static int open_node(struct loader *l, struct ynode *n)
{
	if (l->depth + 1 > l->lim->max_depth)
		return fail(l, n->line, n->col, "nesting deeper than the limit of %zu levels",
			    l->lim->max_depth);
	if (attach(l, n) < 0)
		return -1;
	l->stack[l->depth++] = n;
	return 0;
}

static void close_node(struct loader *l)
{
	struct ynode *n = l->stack[--l->depth];
	size_t i, w = 1;
	unsigned h = 0;

	for (i = 0; i < n->n; i++) {
		w = n->kids[i]->weight > SIZE_MAX - w ? SIZE_MAX : w + n->kids[i]->weight;
		if (n->kids[i]->height > h)
			h = n->kids[i]->height;
	}
	n->weight = w;
	n->height = h + 1;
	n->complete = 1;
}

static int count_node(struct loader *l, int line, int col, size_t weight)
{
	if (weight > l->lim->max_nodes || l->doc_nodes > l->lim->max_nodes - weight)
		return fail(l, line, col,
			    "document expands to more than the limit of %zu nodes%s",
			    l->lim->max_nodes, weight > 1 ? " (alias expansion)" : "");
	l->doc_nodes += weight;
	if (l->max_file_nodes && (weight > l->max_file_nodes || l->file_nodes > l->max_file_nodes - weight))
		return fail(l, line, col, "more nodes than the %zu left of the limit for all the files together",
			    l->max_file_nodes);
	l->file_nodes += weight;
	return 0;
}

static int on_alias(struct loader *l, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	struct ynode *target = NULL;
	size_t i;

	if (++l->aliases > l->lim->max_aliases)
		return fail(l, line, col, "more than the limit of %zu aliases",
			    l->lim->max_aliases);
	for (i = 0; i < l->n_anchors; i++)
		if (strcmp(l->anchors[i].name, name) == 0)
			target = l->anchors[i].node;
	if (target == NULL)
		return fail(l, line, col, "unknown anchor \"%.60s\"", name);
	if (!target->complete)
		return fail(l, line, col, "alias \"%.60s\" refers to itself", name);
	if (l->depth + target->height > l->lim->max_depth)
		return fail(l, line, col,
			    "alias \"%.60s\" nests deeper than the limit of %zu levels", name,
			    l->lim->max_depth);
	if (count_node(l, line, col, target->weight) < 0)
		return -1;
	if (l->depth > 0 && l->stack[l->depth - 1]->type == YNODE_MAP &&
	    l->stack[l->depth - 1]->n % 2 == 0 && target->type != YNODE_SCALAR)
		return fail(l, line, col, "mapping keys must be scalars, got %s",
			    ynode_describe(target));
	return attach(l, target);
}

static int on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct ynode *n;

	if (ev->data.scalar.length > l->lim->max_scalar)
		return fail(l, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "scalar of %zu bytes is larger than the limit of %zu",
			    ev->data.scalar.length, l->lim->max_scalar);
	n = node_new(l, YNODE_SCALAR, &ev->start_mark);
	if (count_node(l, n->line, n->col, 1) < 0)
		return -1;
	n->str = text_new(l->t, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	n->len = ev->data.scalar.length;
	n->complete = 1;
	if (resolve_scalar(l, n, ev) < 0)
		return -1;
	if (ev->data.scalar.anchor)
		add_anchor(l, (const char *)ev->data.scalar.anchor, n);
	return attach(l, n);
}

static int on_collection(struct loader *l, const yaml_event_t *ev, enum ynode_type type)
{
	const yaml_char_t *anchor = type == YNODE_MAP ? ev->data.mapping_start.anchor
						       : ev->data.sequence_start.anchor;
	const yaml_char_t *tag = type == YNODE_MAP ? ev->data.mapping_start.tag
						    : ev->data.sequence_start.tag;
	struct ynode *n = node_new(l, type, &ev->start_mark);

	if (tag && strcmp((const char *)tag, "!") != 0 &&
	    strcmp((const char *)tag, type == YNODE_MAP ? YAML_MAP_TAG : YAML_SEQ_TAG) != 0)
		return fail(l, n->line, n->col, "unsupported tag \"%.60s\"", (const char *)tag);
	if (count_node(l, n->line, n->col, 1) < 0)
		return -1;
	if (anchor)
		add_anchor(l, (const char *)anchor, n);
	return open_node(l, n);
}

/* Line and column of a byte offset, for reader errors that carry no mark. */
static void offset_pos(const struct loader *l, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < l->len; i++) {
		if (l->data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)l->data[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(struct loader *l, const yaml_parser_t *p)
{
	int line, col;

	if (p->error == YAML_READER_ERROR) {
		offset_pos(l, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return fail(l, line, col, "yaml: %s (byte 0x%02x)",
				    p->problem ? p->problem : "cannot read",
				    (unsigned)p->problem_value & 0xFFu);
		return fail(l, line, col, "yaml: %s", p->problem ? p->problem : "cannot read");
	}
	if (p->error == YAML_MEMORY_ERROR)
		return fail(l, 0, 0, "yaml: out of memory");
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context)
		return fail(l, line, col, "yaml: %s %s at line %d", p->problem ? p->problem : "error",
			    p->context, (int)p->context_mark.line + 1);
	return fail(l, line, col, "yaml: %s", p->problem ? p->problem : "syntax error");
}

static int on_event(struct loader *l, const yaml_event_t *ev, int *done)
{
	struct ytree *t = l->t;

	if (ev->type != YAML_STREAM_START_EVENT && ev->type != YAML_STREAM_END_EVENT &&
	    ev->end_mark.index - l->doc_start > l->lim->max_document)
		return fail(l, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "document larger than the limit of %zu bytes", l->lim->max_document);
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		*done = 1;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (t->n_docs >= l->lim->max_documents)
			return fail(l, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
				    "more than the limit of %zu documents in one file",
				    l->lim->max_documents);
		l->doc_start = ev->start_mark.index;
		l->doc_nodes = 0;
		l->root = NULL;
		clear_anchors(l);
		XGROW(t->docs, t->cap_docs, t->n_docs + 1);
		t->docs[t->n_docs].root = NULL;
		t->docs[t->n_docs].line = (int)ev->start_mark.line + 1;
		t->docs[t->n_docs].col = (int)ev->start_mark.column + 1;
		t->docs[t->n_docs].empty = 0;
		return 0;
	case YAML_DOCUMENT_END_EVENT: {
		struct ytree_doc *d = &t->docs[t->n_docs];

		if (l->root == NULL)
			return fail(l, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
				    "yaml: document without content");
		t->n_docs++;
		d->root = l->root;
		if (d->root->type == YNODE_SCALAR && d->root->stype == YS_NULL && !d->root->quoted)
			d->empty = 1;
		if (d->root->type != YNODE_SCALAR) {
			d->line = d->root->line;
			d->col = d->root->col;
		}
		return 0;
	}
	case YAML_SCALAR_EVENT:
		return on_scalar(l, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection(l, ev, YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection(l, ev, YNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		close_node(l);
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(l, ev);
	default:
		return 0;
	}
}

int ytree_parse(struct ytree *t, const char *file, const char *data, size_t len,
		const struct ytree_limits *lim, struct ytree_error *err)
{
	return ytree_parse_budget(t, file, data, len, lim, 0, err);
}

/*
 * The tree takes nothing more from its blocks once parsed: its last node
 * block and its small-text block give back what they did not use, the one
 * carved last first, so that the other may be last after it.
 */
static void shrink_tail(struct ytree *t)
{
	size_t node_had = 0, node_keep = 0;
	void *node = NULL, *text = NULL;
	int round;

	if (t->n_blocks) {
		node = t->blocks[t->n_blocks - 1];
		node_had = node_block_cap(t->n_blocks - 1) * sizeof(struct ynode);
		node_keep = t->used * sizeof(struct ynode);
	}
	if (t->n_text && t->text_cap)
		text = t->text[t->n_text - 1];
	for (round = 0; round < 2; round++) {
		block_shrink(node, node_had, node_keep);
		block_shrink(text, t->text_cap, t->text_used);
	}
}

int ytree_parse_budget(struct ytree *t, const char *file, const char *data, size_t len,
		       const struct ytree_limits *lim, size_t max_file_nodes, struct ytree_error *err)
{
	struct loader l;
	yaml_parser_t p;
	yaml_event_t ev;
	int done = 0, rc = 0;

	memset(t, 0, sizeof(*t));
	t->file = file;
	memset(&l, 0, sizeof(l));
	l.t = t;
	l.lim = lim;
	l.max_file_nodes = max_file_nodes;
	l.err = err;
	l.data = data;
	l.len = len;
	err->line = err->col = 0;
	err->msg[0] = '\0';
	if (len > lim->max_file)
		return fail(&l, 0, 0, "file of %zu bytes is larger than the limit of %zu", len,
			    lim->max_file);
	l.stack = xcalloc(lim->max_depth + 1, sizeof(void *));
	if (!yaml_parser_initialize(&p)) {
		free(l.stack);
		return fail(&l, 0, 0, "yaml: cannot initialise the parser");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&l, &p);
			break;
		}
		rc = on_event(&l, &ev, &done);
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	clear_anchors(&l);
	free(l.anchors);
	free(l.stack);
	shrink_tail(t);
	if (rc < 0) {
		/* The nodes stay in their blocks for ytree_release, but no half documents. */
		t->n_docs = 0;
	}
	return rc;
}

void ytree_release(struct ytree *t)
{
	size_t i, j;

	for (i = 0; i < t->n_blocks; i++) {
		size_t n = i + 1 == t->n_blocks ? t->used : node_block_cap(i);

		for (j = 0; j < n; j++)
			free(t->blocks[i][j].kids);
		block_free(t->blocks[i]);
	}
	free(t->blocks);
	for (i = 0; i < t->n_text; i++)
		block_free(t->text[i]);
	free(t->text);
	free(t->docs);
	memset(t, 0, sizeof(*t));
}

/* The key node and its value node at kids[0] and kids[1], or NULL when the mapping lacks key. */
static struct ynode *const *key_pair(const struct ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != YNODE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->kids[i]->str, key) == 0)
			return &map->kids[i];
	return NULL;
}

const struct ynode *ynode_key(const struct ynode *map, const char *key)
{
	struct ynode *const *kv = key_pair(map, key);

	return kv ? kv[0] : NULL;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	struct ynode *const *kv = key_pair(map, key);

	return kv ? kv[1] : NULL;
}

int ynode_int(const struct ynode *n, long long *out)
{
	char *end;
	long long v;
	const char *s;
	int base = 10;

	if (n == NULL || n->type != YNODE_SCALAR || n->stype != YS_INT)
		return -1;
	s = n->str;
	if (strncmp(s, "0x", 2) == 0) {
		s += 2;
		base = 16;
	} else if (strncmp(s, "0o", 2) == 0) {
		s += 2;
		base = 8;
	}
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int ynode_float(const struct ynode *n, double *out)
{
	long long i;
	char *end;

	if (ynode_int(n, &i) == 0) {
		*out = (double)i;
		return 0;
	}
	if (n == NULL || n->type != YNODE_SCALAR || n->stype != YS_FLOAT)
		return -1;
	if (strstr(n->str, "inf") || strstr(n->str, "Inf") || strstr(n->str, "INF") ||
	    strstr(n->str, "nan") || strstr(n->str, "NaN") || strstr(n->str, "NAN"))
		return -1;
	*out = strtod(n->str, &end);
	return *end == '\0' ? 0 : -1;
}

int ynode_bool(const struct ynode *n, int *out)
{
	if (n == NULL || n->type != YNODE_SCALAR || n->stype != YS_BOOL)
		return -1;
	*out = n->str[0] == 't' || n->str[0] == 'T';
	return 0;
}

const char *ynode_str(const struct ynode *n)
{
	if (n == NULL || n->type != YNODE_SCALAR || n->stype != YS_STR)
		return NULL;
	return n->str;
}

const char *ynode_describe(const struct ynode *n)
{
	if (n == NULL)
		return "nothing";
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (n->type == YNODE_SEQ)
		return "a list";
	switch (n->stype) {
	case YS_NULL:
		return "null";
	case YS_BOOL:
		return "a boolean";
	case YS_INT:
		return "an integer";
	case YS_FLOAT:
		return "a number";
	default:
		return "a string";
	}
}
