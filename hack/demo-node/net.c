/* Blocking TCP for the probe client and the database client: every connect, read and write bounded by a timeout. */
#include "node.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int net_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; -1 on an error, the socket's timeout or the end of the stream. */
int net_read_full(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * A socket connected to host:port (a name or an IPv4 address), every connect,
 * read and write on it bounded by timeout_s; -1 with the reason in why when not.
 */
int net_connect(const char *host, long port, int timeout_s, char *why, size_t why_size)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { timeout_s, 0 };
	char port_s[16];
	int fd, rc;

	snprintf(port_s, sizeof(port_s), "%ld", port);
	rc = getaddrinfo(host, port_s, &hints, &ai);
	if (rc != 0) {
		snprintf(why, why_size, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* On Linux the send timeout bounds connect() too. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(why, why_size, "connect to %s:%ld: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}
