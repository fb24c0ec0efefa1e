/* What probe.c shares with the three probe kinds (probe_http.c, probe_tcp.c, probe_exec.c), and nobody else. */
#ifndef AURIGA_PROBE_INTERNAL_H
#define AURIGA_PROBE_INTERNAL_H

#include "probe/probe.h"

/* The probe's own settings, owned by the runner (copied from the spec). */
struct probe_spec_copy {
	int kind;		/* enum spec_probe_kind */
	char *http_path;
	int http_https;
	char **http_headers;	/* "Name: value", NULL-terminated */
	int container_port;	/* resolved from the port reference */
	char **exec_command;	/* NULL-terminated */
};

/*
 * One attempt of one probe. probe.c makes it and hands it to a kind's
 * start function; the kind ends it, from the loop, by calling
 * probe_notify_done() exactly once, unless probe.c cancels it first with the
 * kind's cancel function. Every kind file ends in that funnel, as relayd's
 * check_*.c end in hce_notify_done.
 */
struct probe_attempt {
	struct probe_runner *runner;	/* NULL once orphaned: the result is dropped */
	enum probe_type type;
	const struct probe_spec_copy *spec;
	struct loop *loop;
	struct http_client *http;
	struct docker *docker;
	const char *container_id;
	struct probe_target target;	/* http and tcp: resolved before start */
	int64_t timeout_ms;
	size_t max_body;	/* http: bound on the buffered answer */
	/* Kind state. */
	void *req;		/* http: the running request */
	int fd;			/* tcp: the connecting socket, -1 when none */
	int in_docker;		/* exec: the docker call has not called back yet */
	char desc[PROBE_MESSAGE_MAX];	/* "GET http://...", "tcp 127.0.0.1:9003", "exec [...]" */
	struct probe_budget *budget;	/* counted in it while running; NULL once ended or orphaned */
	struct probe_attempt *prev, *next;	/* the budget's list of attempts in flight, oldest first */
	int64_t started_ms;		/* loop time the attempt started */
	enum probe_result result;	/* for a start that ended at once */
	char message[PROBE_MESSAGE_MAX];
};

/*
 * Each start returns 0 when the attempt is running (the kind then calls
 * probe_notify_done() later, from the loop), or -1 when it ended at once
 * (a socket that cannot be made, a request libcurl refuses, a local connect
 * that succeeded at once): the kind has then filled a->result and
 * a->message (the detail only: probe.c puts a->desc before it) and probe.c
 * reports it. Cancel stops a running attempt without
 * a report. The runner enforces timeoutSeconds for every kind (kinds may
 * also pass it on, as http does to libcurl).
 */
int probe_http_start(struct probe_attempt *a);
void probe_http_cancel(struct probe_attempt *a);
int probe_tcp_start(struct probe_attempt *a);
void probe_tcp_cancel(struct probe_attempt *a);
int probe_exec_start(struct probe_attempt *a);
void probe_exec_cancel(struct probe_attempt *a);

/*
 * The funnel: every attempt ends here with its result and a message
 * describing it. Frees an orphaned attempt; otherwise hands the result to
 * the runner's machine.
 */
/* Frees a (out of the budget first). */
void probe_attempt_free(struct probe_attempt *a);

void probe_notify_done(struct probe_attempt *a, enum probe_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
