/* exec probes: the command run in the container through Docker's exec API; exit code 0 is a success. */
#include "probe/probe.h"
#include "probe/probe_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"

#define EXCERPT_MAX 80

static void probe_exec_done(struct probe_attempt *a, struct docker_result *res);

static void on_done(struct docker_result *res, void *arg)
{
	struct probe_attempt *a = arg;

	a->in_docker = 0;
	probe_exec_done(a, res);
}

/* The first line of the command's output, for the message. */
static void first_line(char *dst, size_t size, const struct buf *out, const struct buf *err)
{
	const struct buf *b = err->len > 0 ? err : out;
	size_t o = 0;

	for (size_t i = 0; i < b->len && o + 1 < size && i < EXCERPT_MAX; i++) {
		unsigned char ch = (unsigned char)b->data[i];

		if (ch == '\n')
			break;
		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	dst[o] = '\0';
}

/*
 * docker_free dropped the call with the attempt in its hands (the process
 * ends with an exec under way): an orphan goes with it; one its runner still
 * holds is only out of Docker now, and goes with the runner.
 */
static void exec_drop(void *arg)
{
	struct probe_attempt *a = arg;

	a->in_docker = 0;
	if (a->runner == NULL)
		probe_attempt_free(a);
}

int probe_exec_start(struct probe_attempt *a)
{
	struct error *err = NULL;
	size_t o = 0;
	int rc = 0;

	o += (size_t)snprintf(a->desc, sizeof(a->desc), "exec");
	for (size_t i = 0; a->spec->exec_command[i] != NULL && o < sizeof(a->desc); i++)
		o += (size_t)snprintf(a->desc + o, sizeof(a->desc) - o, " %s", a->spec->exec_command[i]);
	a->in_docker = 1;
	if (docker_exec_run(a->docker, DOCKER_PROBE, a->container_id, (const char *const *)a->spec->exec_command,
			    on_done, a, &err) < 0) {
		a->in_docker = 0;
		a->result = PROBE_ERROR;
		snprintf(a->message, sizeof(a->message), "%s", error_msg(err));
		rc = -1;
	} else {
		docker_set_drop(a->docker, a, exec_drop);
	}
	error_free(err);
	return rc;
}

void probe_exec_cancel(struct probe_attempt *a)
{
	/*
	 * Docker has no way to take an exec back; the runner orphans the
	 * attempt and the answer, when it comes, only frees it.
	 */
	(void)a;
}

/* The funnel of this kind: the exit code decides; Docker failing to run the command says nothing of the container. */
static void probe_exec_done(struct probe_attempt *a, struct docker_result *res)
{
	char line[EXCERPT_MAX + 1];

	if (a->runner == NULL) {
		probe_notify_done(a, PROBE_ERROR, "cancelled");
		return;
	}
	if (!docker_status_ok(res->status)) {
		/*
		 * A container gone or stopped (404, 409), the breaker open or the
		 * daemon slow: as the kubelet throws away a prober error, this is
		 * not counted. A probe that overruns its timeout has been ended as
		 * a failure by the runner before Docker's own deadline.
		 */
		probe_notify_done(a, PROBE_ERROR, "docker: %s%s%s", docker_status_name(res->status),
				  res->message != NULL && *res->message ? ": " : "", res->message != NULL ? res->message : "");
		return;
	}
	first_line(line, sizeof(line), &res->out, &res->err);
	if (res->exit_code == 0)
		probe_notify_done(a, PROBE_SUCCESS, "exit 0");
	else
		probe_notify_done(a, PROBE_FAILURE, "exit %" PRId64 "%s%s", res->exit_code, line[0] ? ": " : "", line);
}
