/* What the settings table shares with its file reader: the bounds and the one way a value is set. */
#ifndef AURIGA_CONFIG_INTERNAL_H
#define AURIGA_CONFIG_INTERNAL_H

#include "runtime/config.h"

#define CONFIG_FILE_MAX (1024 * 1024)	/* bytes of the settings file */
#define VALUE_MAX 4096			/* bytes of one value */

/*
 * Sets row k from a source, parsed and checked as its type says; origin is
 * where it came from ("FILE:LINE:COL", "AURIGA_X", "--x"), for messages and
 * the dump. An error names origin and the setting.
 */
int config_assign(struct config *c, int k, const char *text, enum config_source src, const char *origin,
		  struct error **err);

/* Applies the settings file at path to c (config_file.c). */
int config_file_apply(struct config *c, const char *path, struct error **err);

#endif
