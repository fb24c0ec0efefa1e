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

/* A setting given on the command line: its row and text. */
struct flagarg {
	int key;
	char *value;
};

/* What a subcommand's command line holds (config_args.c). */
struct config_args {
	unsigned cmd;		/* CFG_CMD_*: the subcommand, argv[0] */
	struct flagarg *flags;	/* in order; a list given twice is one entry */
	size_t nflags, cap;
	char **pos;		/* the arguments that are not options, borrowed from argv */
	size_t npos;
};

/*
 * Reads argv (argv[0] names the subcommand): the rows it takes by their
 * names and old spellings (one deprecation line on stderr for each old one
 * used), its extra options; an error names the option.
 */
int config_args_parse(struct config_args *a, int argc, char **argv, const struct config_extra_flag *extra,
		      struct error **err);
void config_args_release(struct config_args *a);

/* Applies the settings file at path to c (config_file.c). */
int config_file_apply(struct config *c, const char *path, struct error **err);

#endif
