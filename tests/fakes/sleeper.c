/*
 * A tiny static program for test images: serves (sleeps until SIGTERM), prints and exits with a
 * given code, or (`env SECONDS CODE`, a hook Job) prints its AURIGA_* environment, sleeps, and exits.
 * For Jobs on networks and volumes: `write FILE TEXT` and `cat FILE`; `get HOST PORT PATH`, an
 * HTTP GET by name or address (exit 0 on a 2xx answer; HOST and PORT "-" for AURIGA_PREVIEW_HOST
 * and _PORT; the answer also written to SAVE_TO when set); `http PORT FILE`, a server answering
 * every request with FILE's content. write and get stay HOLD_SECONDS (from the environment) before they
 * exit, so that a test can look at their container.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int hold(int code)
{
	const char *h = getenv("HOLD_SECONDS");

	fflush(stdout);
	if (h)
		sleep((unsigned)strtol(h, NULL, 10));
	return code;
}

static int write_main(char **argv)
{
	FILE *f = fopen(argv[2], "w");

	if (f == NULL || fprintf(f, "%s\n", argv[3]) < 0 || fclose(f) != 0) {
		printf("write %s: %s\n", argv[2], strerror(errno));
		return hold(1);
	}
	printf("wrote %s\n", argv[2]);
	return hold(0);
}

static int cat_main(char **argv)
{
	FILE *f = fopen(argv[2], "r");
	char b[4096];
	size_t n;

	if (f == NULL) {
		printf("open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		fwrite(b, 1, n, stdout);
	fclose(f);
	return 0;
}

/* A TCP connection to host:port, or -1 with the reason printed. */
static int dial(const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL;
	int fd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		printf("resolve %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		printf("connect to %s:%s: %s\n", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int get_main(char **argv)
{
	char req[1024], b[4096];
	const char *save = getenv("SAVE_TO");
	size_t len = 0;
	ssize_t n;
	int fd;

	if (strcmp(argv[2], "-") == 0 && getenv("AURIGA_PREVIEW_HOST"))
		argv[2] = getenv("AURIGA_PREVIEW_HOST");
	if (strcmp(argv[3], "-") == 0 && getenv("AURIGA_PREVIEW_PORT"))
		argv[3] = getenv("AURIGA_PREVIEW_PORT");
	fd = dial(argv[2], argv[3]);
	if (fd < 0)
		return hold(1);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[4], argv[2]);
	if (write(fd, req, strlen(req)) < 0) {
		printf("send: %s\n", strerror(errno));
		close(fd);
		return hold(1);
	}
	while (len < sizeof(b) - 1 && (n = read(fd, b + len, sizeof(b) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	b[len] = '\0';
	printf("GET http://%s:%s%s: %s\n", argv[2], argv[3], argv[4], b);
	if (save) {
		FILE *f = fopen(save, "w");

		if (f == NULL || fputs(b, f) < 0 || fclose(f) != 0)
			printf("write %s: %s\n", save, strerror(errno));
	}
	return hold(strncmp(b, "HTTP/1.0 2", 10) == 0 || strncmp(b, "HTTP/1.1 2", 10) == 0 ? 0 : 1);
}

/* Answers every connection with FILE's content (404 while there is none), until SIGTERM. */
static int http_main(char **argv)
{
	struct sockaddr_in a;
	struct sigaction sa;
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: accept returns on SIGTERM */
	sigaction(SIGTERM, &sa, NULL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)strtol(argv[2], NULL, 10));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 8) != 0) {
		printf("listen on %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("serving %s on %s\n", argv[3], argv[2]);
	fflush(stdout);
	while (!stop) {
		char body[2048], head[256], req[1024];
		FILE *f;
		size_t n = 0;
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			continue;
		(void)read(c, req, sizeof(req));
		f = fopen(argv[3], "r");
		if (f) {
			n = fread(body, 1, sizeof(body), f);
			fclose(f);
		}
		snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Length: %zu\r\n\r\n", f ? "200 OK" : "404 Not Found", n);
		(void)write(c, head, strlen(head));
		(void)write(c, body, n);
		close(c);
	}
	return 0;
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
	if (argc >= 4 && strcmp(argv[1], "write") == 0)
		return write_main(argv);
	if (argc >= 3 && strcmp(argv[1], "cat") == 0)
		return cat_main(argv);
	if (argc >= 5 && strcmp(argv[1], "get") == 0)
		return get_main(argv);
	if (argc >= 4 && strcmp(argv[1], "http") == 0)
		return http_main(argv);
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
