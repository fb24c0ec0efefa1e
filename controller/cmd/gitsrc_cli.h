/* Reaching the specs repo from the settings table, shared by `auriga status`, `source` and the engine's commands. */
#ifndef AURIGA_GITSRC_CLI_H
#define AURIGA_GITSRC_CLI_H

#include "error.h"
#include "runtime/config.h"
#include "source/gitsrc.h"

struct gitsrc_cli {
	struct gitsrc_config cfg;
	const char *repo;	/* NULL when no repo was given */
	const char *notes_ref;
	int ref_given;		/* branch set by a source, not the table's default */
	char *tmp_state;	/* a temporary state dir we made and remove */
};

void gitsrc_cli_init(struct gitsrc_cli *c);
void gitsrc_cli_release(struct gitsrc_cli *c);
/* The Git source's settings from the table: repo, branch, state-dir, keys and tokens, git-timeout; the network operations in the helper child (GITSRC_HELPER_SELF). */
void gitsrc_cli_config(struct gitsrc_config *g, const struct config *cfg);
/*
 * Fills c from the settings (the strings belong to cfg); the state folder
 * only when one was given, gitsrc_cli_finish making a temporary one else.
 */
void gitsrc_cli_setup(struct gitsrc_cli *c, const struct config *cfg);
/* Fills cfg.url / cfg.state_dir (making a temporary one when none was given). */
int gitsrc_cli_finish(struct gitsrc_cli *c, struct error **err);

#endif
