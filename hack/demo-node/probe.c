/* Probe mode: GET one path on 127.0.0.1 (or a host by name or address), exit 0 on 2xx. */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The code in a status line "HTTP/1.x NNN reason", or -1. */
static int status_code(const char *line)
{
	const char *p = strchr(line, ' ');
	int i, code = 0;

	if (strncmp(line, "HTTP/", 5) != 0 || p == NULL)
		return -1;
	for (i = 1; i <= 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	if ((p[4] != ' ' && p[4] != '\r' && p[4] != '\n') || code < 100 || code > 599)
		return -1;
	return code;
}

/*
 * Reads the response (bounded) and returns its status code, or -1; the
 * X-Node-Version header's value, when there is one, goes to version.
 */
static int read_status(int fd, char *version, size_t n_version)
{
	struct buf in;
	char chunk[4096];
	const char *h;
	int code;

	version[0] = '\0';
	buf_init(&in, 64 * 1024);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf_append(&in, chunk, (size_t)r) != 0)
			break;
	}
	code = status_code(in.data);
	for (h = in.data; h != NULL && *h != '\0' && *h != '\r' && *h != '\n'; h = strchr(h, '\n'), h = h ? h + 1 : h) {
		if (strncasecmp(h, "X-Node-Version:", 15) == 0) {
			size_t len;

			h += 15;
			h += strspn(h, " \t");
			len = strcspn(h, "\r\n");
			snprintf(version, n_version, "%.*s", (int)len, h);
			break;
		}
	}
	buf_release(&in);
	return code;
}

/* An argument, or for "-" the variable auriga sets for a smoke test (AURIGA_PREVIEW_HOST, _PORT), or def. */
static const char *probe_arg(int argc, char **argv, int i, const char *preview_env, const char *def)
{
	const char *v = argc > i ? argv[i] : NULL;

	if (v != NULL && strcmp(v, "-") == 0)
		v = getenv(preview_env);
	return v != NULL && v[0] != '\0' ? v : def;
}

int probe_main(int argc, char **argv)
{
	const char *path, *port_s, *host;
	struct buf req;
	char version[256], why[512];
	const char *want;
	long port;
	size_t i;
	int fd, code;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: demo-node probe URL-PATH [PORT [HOST]]\n");
		return 1;
	}
	path = argv[2];
	port_s = probe_arg(argc, argv, 3, "AURIGA_PREVIEW_PORT", getenv("DEMO_PORT"));
	if (port_s == NULL || port_s[0] == '\0')
		port_s = "9003";
	host = probe_arg(argc, argv, 4, "AURIGA_PREVIEW_HOST", "127.0.0.1");
	if (parse_long(port_s, 1, 65535, &port) != 0) {
		fprintf(stderr, "demo-node probe: port '%s' is not an integer from 1 to 65535\n", port_s);
		return 1;
	}
	if (path[0] != '/' || strlen(path) > 1024 || strlen(host) > 253) {
		fprintf(stderr, "demo-node probe: path '%s' must start with '/' and be at most 1024 bytes, "
				"the host at most 253\n", path);
		return 1;
	}
	for (i = 0; path[i]; i++) {
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f) {
			fprintf(stderr, "demo-node probe: path holds a space or control byte\n");
			return 1;
		}
	}
	fd = net_connect(host, port, PROBE_TIMEOUT_S, why, sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "demo-node probe: %s\n", why);
		return 1;
	}
	buf_init(&req, 2048);
	if (buf_printf(&req, "GET %s HTTP/1.0\r\nHost: %s:%ld\r\nUser-Agent: demo-node-probe\r\n"
		       "Connection: close\r\n\r\n", path, host, port) != 0)
		BUG("probe request over its bound");
	if (net_write_all(fd, req.data, req.len) != 0) {
		fprintf(stderr, "demo-node probe: send: %s\n", strerror(errno));
		buf_release(&req);
		close(fd);
		return 1;
	}
	buf_release(&req);
	code = read_status(fd, version, sizeof(version));
	close(fd);
	if (code < 0) {
		fprintf(stderr, "demo-node probe: GET %s: no HTTP status line within %d s\n", path, PROBE_TIMEOUT_S);
		return 1;
	}
	printf("GET %s: %d from version %s\n", path, code, version[0] ? version : "(none)");
	/* A smoke test can insist on the version that must answer it (the new slot's, not the old one's). */
	want = getenv("DEMO_PROBE_WANT_VERSION");
	if (want != NULL && want[0] != '\0' && strcmp(want, version) != 0) {
		printf("demo-node probe: answered by version '%s', not '%s'\n", version, want);
		return 1;
	}
	return code >= 200 && code <= 299 ? 0 : 1;
}
