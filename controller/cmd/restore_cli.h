/* What `auriga restore` and `auriga drill` share: their options, the specs and records loaded, a dump's checksum checked. */
#ifndef AURIGA_RESTORE_CLI_H
#define AURIGA_RESTORE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "cmd/engine_cli.h"
#include "engine/restore.h"
#include "error.h"
#include "kv.h"
#include "status/backup_records.h"

struct config;
struct loop;
struct docker;
struct spec_backup_policy;

struct restore_cli {
	const char *cmd;		/* "restore" or "drill", for messages */
	struct config *conf;
	char **pos;			/* positional words, NULL-terminated, borrowed from argv */
	size_t n;
	int force, due, help;
	const char *target;
	struct engine_cli cli;
	struct spec_set *set;
	struct kv *labels;		/* the extra labels, split */
	size_t n_labels;
	char *records_path;		/* STATE_DIR/backups.json */
	struct backup_records recs;
	struct loop *l;
	struct docker *d;
};

/*
 * Reads argv (argv[0] the command) with the settings `backup` takes and
 * restore's and drill's flags: -1 to go on, or the exit status (0 after
 * --help, 2 for a usage error). usage prints the command's own text; the
 * options follow it.
 */
int restore_cli_open(struct restore_cli *o, const char *cmd, int argc, char **argv, void (*usage)(FILE *));
/*
 * After the command took its own words (named of them): the specs from the
 * rest (PATH or --repo) and the backup records loaded, Docker connected.
 * 0, or <0 with *err.
 */
int restore_cli_load(struct restore_cli *o, size_t named, struct error **err);
void restore_cli_close(struct restore_cli *o);

/* rq for a dump of p recorded as rec. */
void restore_cli_request(const struct restore_cli *o, const struct spec_backup_policy *p, const struct backup_record *rec,
			 struct restore_request *rq);
/*
 * Reads rec's dump back from its target and compares its size and SHA-256
 * with the record: 0 when they are the same, <0 with *err saying how they
 * differ (or why it cannot be read).
 */
int restore_cli_checksum(struct restore_cli *o, const struct spec_backup_policy *p, const struct backup_record *rec,
			 struct error **err);

#endif
