/* libFuzzer target: any bytes as the settings file, read through config_load as `auriga run --config FILE` would. */
#include "runtime/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *devnull;

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char flag[96];
	char *argv[] = { (char *)"run", flag, NULL };
	char *envp[] = { NULL };
	struct config *c = NULL;
	struct error *err = NULL;
	FILE *f;

	/* One file per process, rewritten for each input: the loader reads a path, as in production. */
	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/auriga-fuzz-config-%ld.yml", (long)getpid());
		devnull = fopen("/dev/null", "w");
		atexit(remove_file);
	}
	f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);
	snprintf(flag, sizeof(flag), "--config=%s", path);
	if (config_load(&c, 2, argv, envp, NULL, NULL, &err) == 0) {
		if (devnull)
			config_dump(c, devnull);
		config_free(c);
	} else {
		error_free(err);
	}
	return 0;
}
