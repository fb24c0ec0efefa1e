/* libFuzzer target: any bytes through the whole spec pipeline (load, defaults, checks, JSON, revisions). */
#include "spec.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec_set set;
	struct spec_diags diags;
	char rev[SPEC_REVISION_HEX];
	size_t i;
	json_t *j;

	spec_diags_init(&diags);
	spec_set_init(&set, NULL, NULL);
	spec_set_load_buffer(&set, "fuzz.yaml", (const char *)data, size, &diags);
	spec_set_finish(&set, &diags);
	spec_diags_sort(&diags);
	for (i = 0; i < diags.n; i++)
		free(spec_diag_format(&diags.v[i]));
	for (i = 0; i < set.n_deployments; i++) {
		spec_deployment_revision(set.deployments[i], rev);
		spec_deployment_phase_index(&set, set.deployments[i]);
	}
	j = spec_set_to_json(&set);
	json_decref(j);
	spec_set_release(&set);
	spec_diags_release(&diags);
	return 0;
}
