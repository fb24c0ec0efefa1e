/*
 * A tiny static program for test images: serves (sleeps until SIGTERM), prints and exits with a
 * given code, or (`env SECONDS CODE`, a hook Job) prints its AURIGA_* environment, sleeps, and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t stop;

/* A hook Job: what auriga told it, then SECONDS of work, then CODE. */
static int env_main(char **argv)
{
	char **e;

	for (e = environ; *e; e++)
		if (strncmp(*e, "AURIGA_", 7) == 0)
			printf("%s\n", *e);
	fflush(stdout);
	sleep((unsigned)strtol(argv[2], NULL, 10));
	printf("hook done\n");
	return (int)strtol(argv[3], NULL, 10);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "exit") == 0) {
		int code = (int)strtol(argv[2], NULL, 10);

		printf("out %d\n", code);
		fprintf(stderr, "err %d\n", code);
		return code;
	}
	if (argc >= 4 && strcmp(argv[1], "env") == 0)
		return env_main(argv);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("started %s\n", getenv("GREETING") ? getenv("GREETING") : "");
	fflush(stdout);
	fprintf(stderr, "warming\n");
	while (!stop)
		pause();
	printf("stopping\n");
	return 0;
}
