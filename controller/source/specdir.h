/* Specs and CRDs from a folder on disk: the walk and the bounded reads the spec model leaves to its callers. */
#ifndef AURIGA_SPECDIR_H
#define AURIGA_SPECDIR_H

#include <stddef.h>

#include "schema.h"
#include "spec.h"

/*
 * A file, or a folder walked recursively (sorted, hidden entries and
 * symbolic links to folders skipped) for *.yaml and *.yml, each read within
 * the set's bounds into it. Returns the number of diags added.
 */
size_t specdir_load(struct spec_set *set, const char *path, struct spec_diags *diags);

/* Every *.yaml in dir as a CRD; then checks that each kind got a schema. Returns diags added. */
size_t specdir_load_schemas(struct spec_schemas *s, const char *dir, struct spec_diags *diags);

#endif
