/* libFuzzer target: any bytes as an env file (KEY=value lines) named by a container template. */
#include "source/envfile.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv *kv = NULL;
	struct error *err = NULL;
	size_t n = 0, i;

	if (envfile_parse("fuzz.env", (const char *)data, size, &kv, &n, &err) < 0) {
		error_free(err);
		return 0;
	}
	/* Every key read is a valid name and every value ends before a newline. */
	for (i = 0; i < n; i++)
		if (kv[i].key[0] == '\0' || strchr(kv[i].value, '\n') != NULL)
			abort();
	kv_free(kv, n);
	return 0;
}
