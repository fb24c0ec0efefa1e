/* The NGINX side of the router: atomic write of the candidate, `nginx -t` on it, then a reload. */
#include <curl/curl.h>
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

#include "log.h"
#include "router.h"
#include "router_internal.h"
#include "util.h"

extern char **environ;

#define ROUTER_MAX_FILE (4u << 20)
#define ROUTER_MAX_OUTPUT 8192

/* Reads a whole file into b; returns 0, -ENOENT when it does not exist, or another negative errno. */
static int read_whole(const char *path, struct buf *b)
{
	char chunk[8192];
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			ret = ERR_TOOBIG;
			break;
		}
	}
	close(fd);
	return ret;
}

static int write_synced(const char *path, const char *text, struct error **err)
{
	size_t len = strlen(text), off = 0;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_set(err, -errno, "router: cannot create '%s': %s", path, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_set(err, -errno, "router: cannot write '%s': %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		ret = error_set(err, -errno, "router: cannot fsync '%s': %s", path, strerror(errno));
out:
	close(fd);
	return ret;
}

/* Makes a rename durable: fsync of the directory that holds path. */
static void sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

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

	if (snprintf(wrapper, sizeof(wrapper), "%s.check.conf", r->config_path) >= (int)sizeof(wrapper) ||
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
	ret = write_synced(wrapper, text, err);
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

static int reload(struct router *r, struct error **err)
{
	struct buf out;
	int ret;

	if (r->pid_file != NULL) {
		long pid;

		buf_init(&out, 64);
		ret = read_whole(r->pid_file, &out);
		if (ret < 0) {
			ret = error_set(err, ret, "router: cannot read pid file '%s'", r->pid_file);
			goto out;
		}
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

/* ------------------------------------------------------------ confirmation */

struct gen_answer {
	char data[80];
	size_t len;
};

static size_t gen_write(char *p, size_t size, size_t n, void *arg)
{
	struct gen_answer *a = arg;
	size_t len = size * n, room = sizeof(a->data) - 1 - a->len;

	if (len > room)
		len = room;
	memcpy(a->data + a->len, p, len);
	a->len += len;
	a->data[a->len] = '\0';
	return size * n;
}

/* Where the router reaches a listener it rendered: the listen address, or loopback for a wildcard. */
static const char *confirm_host(const char *listen)
{
	if (strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "*") == 0)
		return "127.0.0.1";
	if (strcmp(listen, "[::]") == 0)
		return "[::1]";
	return listen;
}

/*
 * One GET of the generation on a new connection. Returns 1 when it is gen;
 * otherwise 0 with what answered instead in seen.
 */
static int generation_is(CURL *c, const char *host, int port, const char *gen, char *seen, size_t n_seen)
{
	char url[512];
	struct gen_answer a = { .len = 0 };
	long code = 0;
	CURLcode rc;

	a.data[0] = '\0';
	snprintf(url, sizeof(url), "http://%s:%d" ROUTER_GENERATION_PATH, host, port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gen_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(seen, n_seen, "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	a.data[strcspn(a.data, "\r\n")] = '\0';
	if (code == 200 && strcmp(a.data, gen) == 0)
		return 1;
	if (code == 200)
		snprintf(seen, n_seen, "generation %s", a.data[0] ? a.data : "(empty)");
	else
		snprintf(seen, n_seen, "HTTP %ld, not NGINX with an auriga configuration", code);
	return 0;
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

/*
 * One round: every listener asked once, on new connections, each GET
 * bounded by per_get_ms and by what is left of the deadline. Settles,
 * fails or leaves the confirmation going.
 */
static enum router_confirm_state confirm_round(struct router *r, int64_t per_get_ms, struct error **err)
{
	const char *host = confirm_host(r->listen_address);
	char reason[512];
	size_t i;
	int all = 1;

	if (!r->cf.active)
		return ROUTER_CONFIRMED;
	if (r->curl == NULL) {
		r->curl = curl_easy_init();
		if (r->curl == NULL) {
			r->cf.active = 0;
			error_set(err, ERR_GENERIC, "router: cannot make a curl handle");
			return ROUTER_CONFIRM_FAILED;
		}
		curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(r->curl, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(r->curl, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(r->curl, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http");
	}
	for (i = 0; i < r->cf.n_ports; i++) {
		int64_t left = r->cf.deadline - mono_ms(), t = per_get_ms;

		if (left < t)
			t = left;
		if (t < 20)
			t = 20;
		curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)t);
		curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)t);
		if (!generation_is(r->curl, host, r->cf.ports[i], r->cf.generation, r->cf.seen, sizeof(r->cf.seen))) {
			all = 0;
			r->cf.bad_port = r->cf.ports[i];
			break;
		}
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
		  r->cf.generation, (long long)r->timeout_ms, host, r->cf.bad_port, r->cf.seen,
		  reason[0] ? "; NGINX: " : (r->error_log ? "; nothing new in NGINX's error log" : ""), reason);
	return ROUTER_CONFIRM_FAILED;
}

enum router_confirm_state router_confirm_poll(struct router *r, struct error **err)
{
	/* On the controller's loop: a round costs a GET per listener, each cut short at 100 ms. */
	return confirm_round(r, 100, err);
}

int router_confirming(const struct router *r)
{
	return r->cf.active;
}

/* Confirms in place: rounds every 10 ms until settled or failed. */
static int confirm_wait(struct router *r, struct error **err)
{
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		switch (confirm_round(r, 2000, err)) {
		case ROUTER_CONFIRMED:
			return 0;
		case ROUTER_CONFIRM_FAILED:
			return ERR_TIMEOUT;
		case ROUTER_CONFIRMING:
			break;
		}
		nanosleep(&ts, NULL);
	}
}

void router_nginx_release(struct router *r)
{
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	r->curl = NULL;
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
	ret = read_whole(r->config_path, &old);
	/* The same text: nothing to do, or (still being confirmed) nothing to do again. */
	if ((!r->reload_pending || r->cf.active) && ret == 0 && strcmp(old.data, text) == 0 &&
	    old.len == strlen(text)) {
		buf_release(&old);
		return 0;
	}
	buf_release(&old);
	if (snprintf(candidate, sizeof(candidate), "%s.candidate", r->config_path) >= (int)sizeof(candidate))
		return error_set(err, ERR_INVALID, "router: configPath '%s' too long", r->config_path);
	ret = write_synced(candidate, text, err);
	if (ret == 0)
		ret = check_candidate(r, candidate, err);
	if (ret < 0) {
		unlink(candidate);
		return ret;
	}
	if (rename(candidate, r->config_path) < 0) {
		ret = error_set(err, -errno, "router: cannot rename '%s' to '%s': %s", candidate, r->config_path,
				strerror(errno));
		unlink(candidate);
		return ret;
	}
	sync_dir_of(r->config_path);
	/*
	 * From here the checked file is live on disk; should the reload fail or
	 * not take, the next apply reloads even when the text is the same.
	 */
	r->reload_pending = 1;
	r->cf.active = 0;
	log_from = file_size(r->error_log);
	ret = reload(r, err);
	if (ret < 0)
		return ret;
	log_info("router", "configuration applied", "file", r->config_path, LOG_END);
	if (changed != NULL)
		*changed = 1;
	if (c == NULL || c->n_ports == 0) {
		r->reload_pending = 0;
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
