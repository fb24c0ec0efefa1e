/* A tiny static program for test images: serves (sleeps until SIGTERM), or prints and exits with a given code. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

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
