/* tcpSocket probes: a non-blocking connect watched on the loop; an accepted connection is a success. */
#include "probe/probe.h"
#include "probe/probe_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/loop.h"

static void probe_tcp_done(struct probe_attempt *a, int so_error);

static void close_fd(struct probe_attempt *a)
{
	if (a->fd < 0)
		return;
	loop_unwatch(a->loop, a->fd);
	close(a->fd);
	a->fd = -1;
}

static void on_writable(struct loop *l, int fd, unsigned events, void *arg)
{
	struct probe_attempt *a = arg;
	int so_error = 0;
	socklen_t len = sizeof(so_error);

	(void)l;
	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
		so_error = errno;
	probe_tcp_done(a, so_error);
}

int probe_tcp_start(struct probe_attempt *a)
{
	struct addrinfo hints, *ai = NULL;
	struct error *err = NULL;
	char port[16];
	int rc = -1, gai;

	snprintf(a->desc, sizeof(a->desc), "tcp %s%s%s:%d", strchr(a->target.host, ':') ? "[" : "",
		 a->target.host, strchr(a->target.host, ':') ? "]" : "", a->target.port);
	snprintf(port, sizeof(port), "%d", a->target.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Numeric only: a name lookup would block the loop. */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	gai = getaddrinfo(a->target.host, port, &hints, &ai);
	if (gai != 0) {
		a->result = PROBE_ERROR;
		snprintf(a->message, sizeof(a->message), "not a numeric address: %s", gai_strerror(gai));
		goto out;
	}
	a->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (a->fd < 0) {
		a->result = PROBE_ERROR;
		snprintf(a->message, sizeof(a->message), "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		/* Loopback connections may be accepted at once. */
		a->result = PROBE_SUCCESS;
		snprintf(a->message, sizeof(a->message), "connected");
		close_fd(a);
		goto out;
	}
	if (errno != EINPROGRESS) {
		a->result = PROBE_FAILURE;
		snprintf(a->message, sizeof(a->message), "%s", strerror(errno));
		close(a->fd);
		a->fd = -1;
		goto out;
	}
	if (loop_watch(a->loop, a->fd, LOOP_WRITE, on_writable, a, &err) < 0) {
		a->result = PROBE_ERROR;
		snprintf(a->message, sizeof(a->message), "%s", error_msg(err));
		close(a->fd);
		a->fd = -1;
		goto out;
	}
	rc = 0;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	error_free(err);
	return rc;
}

void probe_tcp_cancel(struct probe_attempt *a)
{
	close_fd(a);
}

/* The funnel of this kind: the connect's outcome, reported; the connection is closed at once. */
static void probe_tcp_done(struct probe_attempt *a, int so_error)
{
	close_fd(a);
	if (so_error == 0)
		probe_notify_done(a, PROBE_SUCCESS, "connected");
	else
		probe_notify_done(a, PROBE_FAILURE, "%s", strerror(so_error));
}
