/* auriga's entry point: picks the subcommand and hands it the rest of the command line. */
#include "cmd/cli.h"
#include "cmd/version.h"
#include "source/gitsrc.h"
#include "util.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
	{ "validate", cmd_validate, "check specs (files or directories) and print every error with its position" },
	{ "version", cmd_version, "print the version and the libraries auriga was built with" },
	{ "status", cmd_status, "print the status auriga wrote on the specs repo's newest annotated commit" },
	{ "source", cmd_source, "run one Git source operation (fetch, snapshot, note) for scripts" },
	{ "docker", cmd_docker, "talk to a Docker endpoint through auriga's client (ping, ps, events)" },
	{ "plan", cmd_plan, "show what apply would change in the fleet, and why (exit 2 when something would)" },
	{ "apply", cmd_apply, "bring the fleet in line with the specs, phase by phase, and wait for the outcome" },
	{ "rollback", cmd_rollback, "return a deployment to its last healthy revision (through a running controller when one answers)" },
	{ "promote", cmd_promote, "skip a canary pause or a blue-green wait in the running controller (HTTP API)" },
	{ "abort", cmd_abort, "return a canary or blue-green release to its stable slot in the running controller" },
	{ "pause", cmd_pause, "hold a rolling or recreate rollout at its current step in the running controller" },
	{ "resume", cmd_resume, "let a paused rollout go on in the running controller" },
	{ "approve", cmd_approve, "approve a commit for an environment whose promotion asks for it (running controller)" },
	{ "backup", cmd_backup, "take a backup of a BackupPolicy now (checked and recorded), or list the backups recorded" },
	{ "restore", cmd_restore, "put a kept backup back into a named database, its checksum checked first" },
	{ "drill", cmd_drill, "restore the newest backup into an isolated database, verify it, report RTO and RPO" },
	{ "run", cmd_run, "the daemon: follow the specs repo and the Docker engine, and keep them in step" },
	{ "healthcheck", cmd_healthcheck, "ask a running controller whether it is alive (exit 0 when it is), for HEALTHCHECK" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: auriga <command> [options]\n\n"
		     "auriga keeps containers on Docker hosts in step with a Git repository of specs.\n\n"
		     "commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'auriga <command> --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	/*
	 * A fixed mmap threshold (glibc raises it as mapped blocks are freed):
	 * a spec tree's slabs (yaml_tree.c), each just above it, stay mapped
	 * apart from the heap and go back to the system when freed.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	/* Not listed: the process the Git source runs each network operation in. */
	if (strcmp(argv[1], GITSRC_HELPER_CMD) == 0)
		return gitsrc_helper_main(argc - 1, argv + 1);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "auriga: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
