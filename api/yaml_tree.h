/* Our YAML loader: libyaml events into a tree of positioned nodes, with bounds libyaml lacks. */
#ifndef AURIGA_YAML_TREE_H
#define AURIGA_YAML_TREE_H

#include <stddef.h>

/*
 * libyaml 0.2.5 builds documents without any bound on nesting, aliases or
 * sizes, so a few hundred bytes can ask for gigabytes (billion laughs). We
 * read its event stream instead and build our own tree, counting as we go:
 * nesting depth, aliases, nodes with every alias expanded, scalar bytes,
 * document bytes, file bytes and documents per file. The first bound hit stops
 * the parse with a positioned message; memory stays within the file size plus
 * the node budget.
 *
 * An alias is not copied: it points at its anchored node, so the tree is a DAG
 * whose expanded size is bounded by max_nodes. Plain scalars are resolved with
 * the YAML 1.2 core schema (null, bool, int, float, else string); quoted and
 * block scalars and `!!str` are strings.
 */

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };
enum yscalar { YS_NULL, YS_BOOL, YS_INT, YS_FLOAT, YS_STR };

struct ynode {
	enum ynode_type type;
	enum yscalar stype;	/* scalars only */
	int line, col;		/* 1-based */
	char *str;		/* scalars: NUL-terminated value (may hold NULs: see len) */
	size_t len;
	/* Sequences: items. Mappings: key, value, key, value... (keys are scalars). */
	struct ynode **kids;
	size_t n, cap;
	size_t weight;		/* nodes in this subtree with aliases expanded */
	unsigned height;	/* 1 for a scalar */
	unsigned complete : 1;	/* its end event was seen (aliases to it are allowed) */
	unsigned quoted : 1;
};

struct ytree_limits {
	size_t max_depth;
	size_t max_aliases;	/* per file */
	size_t max_nodes;	/* per document, aliases expanded */
	size_t max_scalar;
	size_t max_document;	/* bytes */
	size_t max_file;	/* bytes */
	size_t max_documents;	/* per file */
};

struct ytree_doc {
	struct ynode *root;	/* never NULL: an empty document has a null scalar */
	int line, col;
	int empty;		/* nothing but comments or "---" */
};

struct ytree {
	const char *file;	/* borrowed: must outlive the tree */
	struct ytree_doc *docs;
	size_t n_docs, cap_docs;
	/* private: nodes and scalar text come from blocks freed together */
	struct ynode **blocks;
	size_t n_blocks, cap_blocks, used;	/* used: nodes taken from the last block */
	char **text;
	size_t n_text, cap_text, text_used, text_cap;
};

struct ytree_error {
	int line, col;		/* 0 when not about a position */
	char msg[256];
};

/*
 * Parses data (len bytes, need not be NUL-terminated). Returns 0, or -1 with
 * *err filled; on failure the tree holds nothing. Release with
 * ytree_release in both cases.
 */
int ytree_parse(struct ytree *t, const char *file, const char *data, size_t len,
		const struct ytree_limits *lim, struct ytree_error *err);
/*
 * The same, with the nodes of the whole file bounded too (aliases expanded):
 * what is left of a caller's budget over many files.
 */
int ytree_parse_budget(struct ytree *t, const char *file, const char *data, size_t len,
		       const struct ytree_limits *lim, size_t max_file_nodes, struct ytree_error *err);
void ytree_release(struct ytree *t);

/* A mapping's value for key, NULL when absent or when map is not a mapping. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
/* The key node of key in map (for positions), NULL when absent. */
const struct ynode *ynode_key(const struct ynode *map, const char *key);
/* Scalar accessors: 0 on success, -1 when the node is not of that type. */
int ynode_int(const struct ynode *n, long long *out);
int ynode_float(const struct ynode *n, double *out);
int ynode_bool(const struct ynode *n, int *out);
/* A string scalar's text, NULL when n is not a string scalar. */
const char *ynode_str(const struct ynode *n);
/* A word for messages: "a mapping", "a list", "an integer", "a string"... */
const char *ynode_describe(const struct ynode *n);

#endif
