/* libFuzzer target: any bytes as a status note (the text anyone who can push notes may write), parsed, rendered back and parsed again. */
#include "status/status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_status s, again;
	struct error *err = NULL;
	char *text = NULL;
	json_t *j;

	if (status_parse_note(&s, (const char *)data, size, &err) < 0) {
		error_free(err);
		return 0;
	}
	j = status_to_json(&s);
	json_decref(j);
	/* What was read must render, and the rendered note must read back. */
	if (status_render_note(&s, &text, &err) == 0) {
		if (status_parse_note(&again, text, strlen(text), NULL) == 0)
			status_release(&again);
		else
			abort();
		free(text);
	} else {
		error_free(err);
	}
	status_release(&s);
	return 0;
}
