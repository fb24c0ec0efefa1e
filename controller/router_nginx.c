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

int router_apply_text(struct router *r, const char *text, int *changed, struct error **err)
{
	char candidate[PATH_MAX];
	struct buf old;
	int ret;

	if (changed != NULL)
		*changed = 0;
	if (!path_ok(r->config_path))
		return error_set(err, ERR_INVALID, "router: configPath '%s' holds characters NGINX would misread",
				 r->config_path);
	buf_init(&old, ROUTER_MAX_FILE);
	ret = read_whole(r->config_path, &old);
	if (!r->reload_pending && ret == 0 && strcmp(old.data, text) == 0 && old.len == strlen(text)) {
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
	 * From here the checked file is live on disk; should the reload fail,
	 * the next apply reloads even when the text is the same.
	 */
	r->reload_pending = 1;
	ret = reload(r, err);
	if (ret < 0)
		return ret;
	r->reload_pending = 0;
	if (changed != NULL)
		*changed = 1;
	log_info("router", "configuration applied", "file", r->config_path, LOG_END);
	return 0;
}
