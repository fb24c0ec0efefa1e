/* The NGINX side of the router: atomic write of the candidate, `nginx -t` on it, then a reload. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/file.h"
#include "runtime/http_client.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "traffic/router.h"
#include "traffic/router_internal.h"
#include "util.h"

extern char **environ;

#define ROUTER_MAX_FILE (4u << 20)
#define ROUTER_MAX_OUTPUT 8192

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs argv (no shell) with stdout and stderr captured into out (bounded),
 * for at most timeout_ms; then the child is killed. Returns the exit status
 * (0..255), or a negative number with *err set when it could not run, was
 * killed or timed out.
 */
static int run_command(char *const argv[], int64_t timeout_ms, struct buf *out, struct error **err)
{
	posix_spawn_file_actions_t fa;
	int64_t deadline = mono_ms() + timeout_ms;
	int pfd[2], ret = 0, status = 0, exited = 0, rc;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return error_set(err, -errno, "router: pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return error_set(err, -rc, "router: cannot run '%s': %s", argv[0], strerror(rc));
	}
	/* Read until the child has exited and the pipe is drained, or the deadline passes. */
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - mono_ms();
		char chunk[1024];
		ssize_t n;

		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid)
				exited = 1;
		}
		if (left <= 0 && !exited) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			ret = error_set(err, ERR_TIMEOUT, "router: '%s' did not finish in %lld ms", argv[0],
					(long long)timeout_ms);
			goto out;
		}
		if (poll(&p, 1, exited ? 0 : (int)(left < 20 ? left : 20)) <= 0) {
			if (exited)
				break;
			continue;
		}
		n = read(pfd[0], chunk, sizeof(chunk));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (!exited) {
				/* EOF first: the child closed its output; wait for its exit within the deadline. */
				struct timespec ts = { 0, 5 * 1000 * 1000 };

				if (mono_ms() >= deadline)
					continue;
				nanosleep(&ts, NULL);
				continue;
			}
			break;
		}
		if (out->len + (size_t)n < ROUTER_MAX_OUTPUT)
			buf_append(out, chunk, (size_t)n);
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else
		ret = error_set(err, ERR_GENERIC, "router: '%s' killed by signal %d", argv[0], WTERMSIG(status));
out:
	close(pfd[0]);
	return ret;
}

/* Trims the captured output to one line-ish message for an error. */
static const char *tidy(struct buf *b)
{
	size_t i;

	while (b->len > 0 && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
	for (i = 0; i < b->len; i++)
		if (b->data[i] == '\n')
			b->data[i] = ' ';
	return b->data;
}

static int path_ok(const char *p)
{
	return strpbrk(p, "\"\\\n\r;{}$'") == NULL;
}

static int check_candidate(struct router *r, const char *candidate, struct error **err)
{
	char wrapper[PATH_MAX], pidpath[PATH_MAX], text[3 * PATH_MAX];
	struct buf out;
	char *argv[8];
	int ret;

	/* Named so that no include of "*.conf" in NGINX's folder loads it while it is there. */
	if (snprintf(wrapper, sizeof(wrapper), "%s.check", r->config_path) >= (int)sizeof(wrapper) ||
	    snprintf(pidpath, sizeof(pidpath), "%s.check.pid", r->config_path) >= (int)sizeof(pidpath))
		return error_set(err, ERR_INVALID, "router: configPath '%s' too long", r->config_path);
	/*
	 * The candidate is checked alone, inside an http block of a main
	 * configuration of our own, so the check never touches the live file.
	 */
	snprintf(text, sizeof(text),
		 "# Written by auriga to check a candidate router configuration.\n"
		 "pid \"%s\";\nerror_log stderr;\nevents {}\nhttp {\n\tinclude \"%s\";\n}\n",
		 pidpath, candidate);
	ret = file_write_synced(wrapper, "router check file", text, strlen(text), 0644, err);
	if (ret < 0)
		return ret;
	argv[0] = r->nginx;
	argv[1] = (char *)"-t";
	argv[2] = (char *)"-q";
	argv[3] = (char *)"-e";
	argv[4] = (char *)"stderr";
	argv[5] = (char *)"-c";
	argv[6] = wrapper;
	argv[7] = NULL;
	buf_init(&out, ROUTER_MAX_OUTPUT);
	ret = run_command(argv, r->timeout_ms, &out, err);
	if (ret > 0)
		ret = error_set(err, ERR_INVALID, "router: nginx -t refused the configuration: %s", tidy(&out));
	else if (ret < 0)
		error_wrap(err, "router: checking the configuration");
	buf_release(&out);
	unlink(wrapper);
	return ret;
}

/*
 * NGINX in a container is signalled through the Docker Engine API, on the
 * controller's loop: the request is started here and its outcome comes back
 * through router_signalled() while the confirmation runs.
 */
static int reload_container(struct router *r, int async, struct error **err)
{
	if (!async)
		return error_set(err, ERR_INVALID,
				 "router: NGINX in container '%s' is reloaded only on the controller's loop",
				 r->container);
	r->sig_state = ROUTER_SIG_SENT;
	r->sig_why[0] = '\0';
	if (r->signal(r->container, r->signal_arg, err) < 0) {
		r->sig_state = ROUTER_SIG_NONE;
		return error_wrap(err, "router: cannot signal NGINX in container '%s'", r->container);
	}
	return 0;
}

void router_signalled(struct router *r, int ok, const char *why)
{
	if (r->sig_state != ROUTER_SIG_SENT)
		return;
	if (ok) {
		r->sig_state = ROUTER_SIG_NONE;
		return;
	}
	r->sig_state = ROUTER_SIG_FAILED;
	snprintf(r->sig_why, sizeof(r->sig_why), "%s", why && why[0] ? why : "no reason given");
	/* NGINX may not have the file that is on disk: the next apply reloads again. */
	r->reload_pending = 1;
	log_error("router", "cannot signal NGINX", "container", r->container, "error", r->sig_why, LOG_END);
}

static int reload(struct router *r, int async, struct error **err)
{
	struct buf out;
	int ret;

	if (r->container != NULL)
		return reload_container(r, async, err);
	if (r->pid_file != NULL) {
		long pid;

		buf_init(&out, 64);
		ret = file_read(r->pid_file, "router pid file", FILE_REGULAR, &out, err);
		if (ret < 0)
			goto out;
		tidy(&out);
		if (parse_long(out.data, 1, INT_MAX, &pid) < 0) {
			ret = error_set(err, ERR_INVALID, "router: pid file '%s' holds no pid", r->pid_file);
			goto out;
		}
		if (kill((pid_t)pid, SIGHUP) < 0)
			ret = error_set(err, -errno, "router: cannot signal NGINX (pid %ld): %s", pid, strerror(errno));
		goto out;
	}
	buf_init(&out, ROUTER_MAX_OUTPUT);
	ret = run_command(r->reload_argv, r->timeout_ms, &out, err);
	if (ret > 0)
		ret = error_set(err, ERR_GENERIC, "router: reload command '%s' exited with %d: %s", r->reload_argv[0],
				ret, tidy(&out));
out:
	buf_release(&out);
	return ret;
}

/* ------------------------------------------------------------ the file under the earlier names */

char *router_aside_path(const char *legacy_path)
{
	return xasprintf("%s.replaced", legacy_path);
}

/* Moves the file under the earlier names aside before the reload that loads its successor. */
static void legacy_aside(struct router *r)
{
	char *aside;

	if (r->legacy_path == NULL)
		return;
	aside = router_aside_path(r->legacy_path);
	if (rename(r->legacy_path, aside) < 0 && errno != ENOENT)
		log_error("router", "cannot move the file written under the earlier names aside", "file",
			  r->legacy_path, "error", strerror(errno), LOG_END);
	free(aside);
}

/* A reload that failed: NGINX still serves the file under the earlier names, so it goes back in place. */
static void legacy_restore(struct router *r)
{
	char *aside;

	if (r->legacy_path == NULL)
		return;
	aside = router_aside_path(r->legacy_path);
	if (rename(aside, r->legacy_path) < 0 && errno != ENOENT)
		log_error("router", "cannot restore the file written under the earlier names", "file",
			  r->legacy_path, "error", strerror(errno), LOG_END);
	free(aside);
}

/* Its successor is served: the file under the earlier names and its table go. */
static void legacy_drop(struct router *r)
{
	char *aside, *table;

	if (r->legacy_path == NULL)
		return;
	aside = router_aside_path(r->legacy_path);
	table = router_table_path(r->legacy_path);
	if (unlink(aside) == 0)
		log_info("router", "file written under the earlier names replaced", "file", r->legacy_path, "by",
			 r->config_path, LOG_END);
	(void)unlink(table);
	FREE_ALL(aside, table, r->legacy_path);
	r->legacy_path = NULL;
}

/* ------------------------------------------------------------ confirmation */

/* Where the router reaches a listener it rendered: the listen address, or loopback for a wildcard. */
static const char *confirm_host(const char *listen)
{
	if (strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "*") == 0)
		return "127.0.0.1";
	if (strcmp(listen, "[::]") == 0)
		return "[::1]";
	return listen;
}

static off_t file_size(const char *path)
{
	struct stat st;

	if (path == NULL || stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

/*
 * The last line of NGINX's error log written since offset `from` that says
 * why a configuration was not taken ([emerg] or [alert]), or "".
 */
static void error_log_reason(const char *path, off_t from, char *out, size_t n_out)
{
	struct buf b;
	size_t i, start = 0;
	int fd;

	struct stat st;

	out[0] = '\0';
	if (path == NULL || from < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* A log rotated meanwhile is read from its start; a busy one, its last MiB only. */
	if (fstat(fd, &st) == 0) {
		if (st.st_size < from)
			from = 0;
		if (st.st_size - from > (off_t)(1u << 20) - 1)
			from = st.st_size - (off_t)(1u << 20) + 1;
	}
	buf_init(&b, 1u << 20);
	if (lseek(fd, from, SEEK_SET) == from) {
		char chunk[8192];

		for (;;) {
			ssize_t n = read(fd, chunk, sizeof(chunk));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || buf_append(&b, chunk, (size_t)n) < 0)
				break;
		}
	}
	close(fd);
	for (i = 0; i <= b.len; i++) {
		if (i < b.len && b.data[i] != '\n')
			continue;
		if (i > start) {
			const char *line = b.data + start;
			size_t len = i - start;

			/* [crit] lines are about requests; a configuration NGINX refuses is [emerg] or [alert]. */
			if (memmem(line, len, "[emerg]", 7) || memmem(line, len, "[alert]", 7))
				snprintf(out, n_out, "%.*s", (int)len, line);
		}
		start = i + 1;
	}
	buf_release(&b);
}

/*
 * How long every listener must keep answering with the new generation
 * before a change counts as served. On a reload NGINX's master starts the
 * new workers, lets them run for 100 ms, and only then tells the old ones
 * to stop accepting: in that overlap a new connection can still meet the
 * old configuration, so one answer from a new worker proves too little.
 */
#define ROUTER_SETTLE_MS 300

/* Starts the confirmation of c, which NGINX was just told to load. */
static void confirm_begin(struct router *r, const struct router_confirm *c, off_t log_from)
{
	size_t i;

	free(r->cf.ports);
	memset(&r->cf, 0, sizeof(r->cf));
	r->cf.active = 1;
	snprintf(r->cf.generation, sizeof(r->cf.generation), "%s", c->generation);
	r->cf.ports = c->n_ports ? xcalloc(c->n_ports, sizeof(int)) : NULL;
	for (i = 0; i < c->n_ports; i++)
		r->cf.ports[i] = c->ports[i];
	r->cf.n_ports = c->n_ports;
	/* The timeout is for NGINX to take the reload; the settling time comes on top. */
	r->cf.deadline = mono_ms() + r->timeout_ms + ROUTER_SETTLE_MS;
	r->cf.since = -1;
	r->cf.log_from = log_from;
}

/* The verdict of a round in which every listener answered the generation (all) or not. */
static enum router_confirm_state confirm_judge(struct router *r, int all, struct error **err)
{
	char reason[512];

	if (!r->cf.active)
		return ROUTER_CONFIRMED;
	if (r->sig_state == ROUTER_SIG_FAILED) {
		/* NGINX was never told: no answer can come, so the change fails at once. */
		r->cf.active = 0;
		r->sig_state = ROUTER_SIG_NONE;
		error_set(err, ERR_GENERIC, "router: cannot signal NGINX in container '%s': %s", r->container,
			  r->sig_why);
		return ROUTER_CONFIRM_FAILED;
	}
	if (!all)
		r->cf.since = -1;
	else if (r->cf.since < 0)
		r->cf.since = mono_ms();
	if (all && mono_ms() - r->cf.since >= ROUTER_SETTLE_MS) {
		r->cf.active = 0;
		r->reload_pending = 0;
		log_info("router", "configuration served", "file", r->config_path, "generation", r->cf.generation,
			 LOG_END);
		legacy_drop(r);
		return ROUTER_CONFIRMED;
	}
	if (mono_ms() < r->cf.deadline)
		return ROUTER_CONFIRMING;
	/* Not taken: the file stays, reload_pending too, so the next apply reloads again. */
	r->cf.active = 0;
	if (r->cf.since >= 0) {
		error_set(err, ERR_TIMEOUT,
			  "router: NGINX served the new configuration (generation %s) but old workers still "
			  "answered within %lld ms",
			  r->cf.generation, (long long)r->timeout_ms);
		return ROUTER_CONFIRM_FAILED;
	}
	error_log_reason(r->error_log, r->cf.log_from, reason, sizeof(reason));
	error_set(err, ERR_TIMEOUT,
		  "router: NGINX did not serve the new configuration (generation %s) within %lld ms: "
		  "%s:%d answered %s%s%s",
		  r->cf.generation, (long long)r->timeout_ms, confirm_host(r->listen_address), r->cf.bad_port,
		  r->cf.seen, reason[0] ? "; NGINX: " : (r->error_log ? "; nothing new in NGINX's error log" : ""),
		  reason);
	return ROUTER_CONFIRM_FAILED;
}

/* A round under way: one GET per listener through the loop's HTTP client. */
struct confirm_get {
	struct confirm_round *round;
	struct http_request *req;
	int port;
};

struct confirm_round {
	struct router *r;
	struct http_client *http;
	char generation[65];	/* what this round asks for; a newer reload makes it stale */
	struct confirm_get *gets;
	size_t n, pending;
	int all;
	router_confirm_fn done;
	void *arg;
};

static void round_free(struct confirm_round *rd)
{
	free(rd->gets);
	free(rd);
}

static void round_answer(struct http_response *resp, void *arg)
{
	struct confirm_get *g = arg;
	struct confirm_round *rd = g->round;
	struct router *r = rd->r;
	char body[80];
	enum router_confirm_state st;
	struct error *err = NULL;

	g->req = NULL;
	snprintf(body, sizeof(body), "%.*s", (int)(resp->body.len < 79 ? resp->body.len : 79),
		 resp->body.data ? resp->body.data : "");
	body[strcspn(body, "\r\n")] = '\0';
	if (resp->result != 0 || resp->status != 200 || strcmp(body, rd->generation) != 0) {
		if (rd->all) {
			if (resp->result != 0)
				snprintf(r->cf.seen, sizeof(r->cf.seen), "%s", resp->error[0] ? resp->error : "no answer");
			else if (resp->status == 200)
				snprintf(r->cf.seen, sizeof(r->cf.seen), "generation %s", body[0] ? body : "(empty)");
			else
				snprintf(r->cf.seen, sizeof(r->cf.seen), "HTTP %ld, not NGINX with an auriga configuration",
					 resp->status);
			r->cf.bad_port = g->port;
		}
		rd->all = 0;
	}
	if (--rd->pending > 0)
		return;
	r->round = NULL;
	/* A reload since the round began: its answers judge nothing. */
	st = strcmp(rd->generation, r->cf.generation) == 0 ? confirm_judge(r, rd->all, &err)
							   : (r->cf.active ? ROUTER_CONFIRMING : ROUTER_CONFIRMED);
	rd->done(st, err != NULL ? error_msg(err) : NULL, rd->arg);
	error_free(err);
	round_free(rd);
}

int router_confirm_round(struct router *r, struct http_client *http, router_confirm_fn done, void *arg,
			 struct error **err)
{
	const char *host = confirm_host(r->listen_address);
	struct confirm_round *rd;
	size_t i;

	if (r->round != NULL)
		return error_set(err, ERR_CONFLICT, "router: a confirmation round is under way");
	if (!r->cf.active || r->cf.n_ports == 0) {
		r->cf.active = 0;
		return error_set(err, ERR_INVALID, "router: no confirmation under way");
	}
	rd = xcalloc(1, sizeof(*rd));
	rd->r = r;
	rd->http = http;
	rd->all = 1;
	rd->done = done;
	rd->arg = arg;
	snprintf(rd->generation, sizeof(rd->generation), "%s", r->cf.generation);
	rd->gets = xcalloc(r->cf.n_ports, sizeof(*rd->gets));
	for (i = 0; i < r->cf.n_ports; i++) {
		struct http_request_opts o = { 0 };
		char url[512];
		int64_t left = r->cf.deadline - mono_ms();

		snprintf(url, sizeof(url), "http://%s:%d" ROUTER_GENERATION_PATH, host, r->cf.ports[i]);
		o.url = url;
		/* A new connection each time: an old worker's kept-alive one would say nothing new. */
		o.fresh_connection = 1;
		o.timeout_ms = left < 20 ? 20 : left < 1000 ? left : 1000;
		o.connect_timeout_ms = o.timeout_ms;
		o.max_body = 256;
		rd->gets[i].round = rd;
		rd->gets[i].port = r->cf.ports[i];
		rd->gets[i].req = http_client_start(http, &o, round_answer, &rd->gets[i], err);
		if (rd->gets[i].req == NULL) {
			/* Nothing started yet answers; the ones that did are cancelled. */
			while (i-- > 0)
				http_request_cancel(http, rd->gets[i].req);
			round_free(rd);
			return error_wrap(err, "router: confirming the configuration");
		}
		rd->n++;
		rd->pending++;
	}
	r->round = rd;
	return 0;
}

int router_confirming(const struct router *r)
{
	return r->cf.active;
}

struct wait_state {
	int finished;
	enum router_confirm_state st;
	char why[1024];
};

static void wait_done(enum router_confirm_state st, const char *why, void *arg)
{
	struct wait_state *w = arg;

	w->finished = 1;
	w->st = st;
	snprintf(w->why, sizeof(w->why), "%s", why ? why : "");
}

/* Confirms in place, on a loop of its own: a round every 10 ms until settled or failed. */
static int confirm_wait(struct router *r, struct error **err)
{
	struct loop *l = loop_new(err);
	struct http_client *h = l ? http_client_new(l, err) : NULL;
	int ret = 0;

	if (h == NULL) {
		ret = error_wrap(err, "router: confirming the configuration");
		goto out;
	}
	for (;;) {
		struct wait_state w = { 0, ROUTER_CONFIRMING, "" };

		ret = router_confirm_round(r, h, wait_done, &w, err);
		if (ret < 0)
			break;
		while (!w.finished)
			if (loop_run_once(l, -1) < 0)
				break;
		if (w.st == ROUTER_CONFIRMED)
			break;
		if (w.st == ROUTER_CONFIRM_FAILED) {
			ret = error_set(err, ERR_TIMEOUT, "%s", w.why);
			break;
		}
		(void)loop_run_once(l, 10);
	}
out:
	http_client_free(h);
	loop_free(l);
	return ret;
}

void router_nginx_release(struct router *r)
{
	if (r->round != NULL) {
		size_t i;

		for (i = 0; i < r->round->n; i++)
			if (r->round->gets[i].req != NULL)
				http_request_cancel(r->round->http, r->round->gets[i].req);
		round_free(r->round);
		r->round = NULL;
	}
	free(r->cf.ports);
	memset(&r->cf, 0, sizeof(r->cf));
}

int router_nginx_apply(struct router *r, const char *text, const struct router_confirm *c, int async,
		       int *changed, struct error **err)
{
	char candidate[PATH_MAX];
	struct buf old;
	off_t log_from;
	int ret;

	if (changed != NULL)
		*changed = 0;
	if (!path_ok(r->config_path))
		return error_set(err, ERR_INVALID, "router: configPath '%s' holds characters NGINX would misread",
				 r->config_path);
	buf_init(&old, ROUTER_MAX_FILE);
	ret = file_read(r->config_path, "router configuration", 0, &old, NULL);
	/* The same text: nothing to do, or (still being confirmed) nothing to do again. */
	if (!router_due(r) && ret == 0 && strcmp(old.data, text) == 0 &&
	    old.len == strlen(text)) {
		buf_release(&old);
		return 0;
	}
	buf_release(&old);
	if (snprintf(candidate, sizeof(candidate), "%s.candidate", r->config_path) >= (int)sizeof(candidate))
		return error_set(err, ERR_INVALID, "router: configPath '%s' too long", r->config_path);
	ret = file_write_synced(candidate, "router candidate configuration", text, strlen(text), 0644, err);
	if (ret == 0)
		ret = check_candidate(r, candidate, err);
	if (ret < 0) {
		unlink(candidate);
		return ret;
	}
	ret = file_rename_durable(candidate, r->config_path, "router configuration", err);
	if (ret < 0) {
		unlink(candidate);
		return ret;
	}
	/*
	 * From here the checked file is live on disk; should the reload fail or
	 * not take, the next apply reloads even when the text is the same.
	 */
	r->reload_pending = 1;
	r->cf.active = 0;
	/*
	 * The file written under the earlier names leaves NGINX's includes in the
	 * reload that loads its successor, and disk once that one is served.
	 */
	legacy_aside(r);
	log_from = file_size(r->error_log);
	ret = reload(r, async, err);
	if (ret < 0) {
		legacy_restore(r);
		return ret;
	}
	log_info("router", "configuration applied", "file", r->config_path, LOG_END);
	if (changed != NULL)
		*changed = 1;
	if (c == NULL || c->n_ports == 0) {
		r->reload_pending = 0;
		legacy_drop(r);
		return 0;
	}
	confirm_begin(r, c, log_from);
	if (async)
		return 0;
	ret = confirm_wait(r, err);
	if (ret < 0 && changed != NULL)
		*changed = 0;
	return ret;
}

int router_apply_text(struct router *r, const char *text, int *changed, struct error **err)
{
	return router_nginx_apply(r, text, NULL, 0, changed, err);
}
