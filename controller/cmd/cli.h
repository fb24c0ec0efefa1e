/* The subcommands of the one auriga binary: each is a function taking its own argv. */
#ifndef AURIGA_CLI_H
#define AURIGA_CLI_H

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_version(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_source(int argc, char **argv);
int cmd_docker(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_healthcheck(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_drill(int argc, char **argv);

#endif
