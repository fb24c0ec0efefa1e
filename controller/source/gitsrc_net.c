/* The Git source's network operations in a helper process, killed at the deadline whatever the remote does. */
#include "buf.h"
#include "runtime/log.h"
#include "source/gitsrc.h"
#include "source/gitsrc_internal.h"
#include "util.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*
 * libgit2 1.5 sets no timeout on its sockets and checks ours only in the
 * progress callbacks, which a remote that accepts and then says nothing
 * never calls. So each operation runs in a child process (this program again,
 * `auriga git-net-helper`) that opens the mirror and does it, while the
 * caller waits until the deadline and then kills it. libgit2 moves refs by
 * writing a lock file and renaming it, so a killed helper leaves the mirror's
 * refs as they were, with at most a lock file (removed here) and a temporary
 * pack file.
 */

#define NET_MAX_MSG (64 * 1024)	/* the request and the answer are each at most this long */

static const char *const op_names[] = { "fetch", "fetch-ref", "push-ref", "push-ref-cas" };

/* What an operation is about, for its messages: "cannot fetch 'main' from 'URL'". */
static void op_what(const struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to, char *out,
		    size_t n)
{
	if (op == GITSRC_NET_PUSH_REF || op == GITSRC_NET_PUSH_CAS)
		snprintf(out, n, "cannot push '%s' to '%s'", to, src->shown_url);
	else
		snprintf(out, n, "cannot fetch '%s' from '%s'", op == GITSRC_NET_FETCH ? src->ref : from,
			 src->shown_url);
}

/* The request's fields: the source's settings, the refs of a fetch or push, a compare-and-swap's old value. */
enum field { F_URL, F_REF, F_STATE_DIR, F_SSH_USER, F_SSH_KEY, F_SSH_PUBKEY, F_KNOWN_HOSTS, F_HTTPS_USER,
	     F_HTTPS_PASSWORD, F_CA_BUNDLE, F_FROM, F_TO, F_EXPECT, F_INCOMING, F__COUNT };
static const char *const field_names[F__COUNT] = { "url", "ref", "stateDir", "sshUser", "sshKey", "sshPubkey",
						   "knownHosts", "httpsUser", "httpsPassword", "caBundle", "from",
						   "to", "expect", "incomingRef" };

/* The request as JSON (credentials included: it goes through a socket, never argv or the environment). */
static int request_json(const struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to,
			const char *expect, char **out, struct error **err)
{
	const char *v[F__COUNT] = {
		[F_URL] = src->url, [F_REF] = src->ref, [F_STATE_DIR] = src->state_dir, [F_SSH_USER] = src->ssh_user,
		[F_SSH_KEY] = src->ssh_key, [F_SSH_PUBKEY] = src->ssh_pubkey, [F_KNOWN_HOSTS] = src->known_hosts,
		[F_HTTPS_USER] = src->https_user, [F_HTTPS_PASSWORD] = src->https_password,
		[F_CA_BUNDLE] = src->ca_bundle, [F_FROM] = from, [F_TO] = to, [F_EXPECT] = expect,
		[F_INCOMING] = src->incoming_ref,
	};
	json_t *o = json_object();
	size_t i;
	int r = 0;

	json_object_set_new(o, "op", json_string(op_names[op]));
	json_object_set_new(o, "parent", json_integer(getpid()));
	json_object_set_new(o, "timeoutMs", json_integer(src->timeout_ms));
	for (i = 0; i < F__COUNT; i++) {
		json_t *js;

		if (v[i] == NULL)
			continue;
		js = json_string(v[i]);
		if (js == NULL) {
			r = error_set(err, ERR_INVALID, "the Git source's %s is not valid UTF-8", field_names[i]);
			goto out;
		}
		json_object_set_new(o, field_names[i], js);
	}
	*out = json_dumps(o, JSON_COMPACT);
	if (*out == NULL)
		r = error_set(err, ERR_GENERIC, "cannot encode the Git helper's request");
out:
	json_decref(o);
	return r;
}

/* The environment the helper runs with: ours without the AURIGA_ settings, which may hold a token. */
static char **helper_env(void)
{
	char **env;
	size_t n = 0, i, k = 0;

	while (environ && environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0; i < n; i++)
		if (!str_has_prefix(environ[i], "AURIGA_"))
			env[k++] = environ[i];
	return env;
}

/* Starts the helper with fd as its standard input and output; 0, or an error. */
static int spawn_helper(const struct gitsrc *src, int fd, pid_t *pid, struct error **err)
{
	char *argv[] = { (char *)"auriga", (char *)GITSRC_HELPER_CMD, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char **env = helper_env();
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	/* The daemon blocks its stop signals in every thread for its signalfd; the helper takes them as usual. */
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, src->helper, &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0)
		return error_set(err, ERR_GENERIC, "cannot run the Git helper '%s': %s", src->helper, strerror(rc));
	return 0;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads the helper's answer until it closes its end; 1 when the deadline passed first. */
static int read_answer(int fd, int64_t deadline, struct buf *b)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		char chunk[4096];
		ssize_t n;
		int pr;

		if (left <= 0)
			return 1;
		pr = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR)
			return 0;
		if (pr <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_append(b, chunk, (size_t)n) < 0)
			return 0;
	}
}

/* Waits for the helper to exit until deadline, then kills it; 1 when it had to be killed. */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	const struct timespec tick = { 0, 2 * 1000 * 1000 };

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return 0;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		nanosleep(&tick, NULL);
	}
}

static void remove_left(const char *path)
{
	if (unlink(path) == 0)
		log_warn("gitsrc", "removed a file left by a killed Git helper", "path", path, LOG_END);
}

/*
 * After a helper was killed: the lock files it may have left on the refs it
 * writes (the only writer of those, under net_mu) and in the pack folder, and
 * the temporary pack it was receiving, so the next operation is not refused.
 */
static void clean_after_kill(const struct gitsrc *src, enum gitsrc_net_op op, const char *to)
{
	const char *ref = op == GITSRC_NET_FETCH ? GITSRC_STAGING_REF : op == GITSRC_NET_FETCH_REF ? to : NULL;
	static const char *const left_over[] = { "objects/pack/pack_git2_*", "objects/pack/*.lock" };
	char *p;
	size_t i, j;

	if (ref) {
		p = xasprintf("%s/%s.lock", src->mirror_path, ref);
		remove_left(p);
		free(p);
	}
	for (i = 0; i < ARRAY_SIZE(left_over); i++) {
		glob_t g;

		memset(&g, 0, sizeof(g));
		p = xasprintf("%s/%s", src->mirror_path, left_over[i]);
		if (glob(p, GLOB_NOSORT, NULL, &g) == 0) {
			for (j = 0; j < g.gl_pathc; j++)
				remove_left(g.gl_pathv[j]);
		}
		globfree(&g);
		free(p);
	}
}

/* The helper's answer: its outcome, and the ref a fetch resolved. */
static int take_answer(struct gitsrc *src, enum gitsrc_net_op op, const struct buf *b, const char *what,
		       struct error **err)
{
	json_t *o = json_loadb(b->data, b->len, 0, NULL);
	json_t *code = json_object_get(o, "code");
	const char *msg = json_string_value(json_object_get(o, "message"));
	const char *full = json_string_value(json_object_get(o, "fullRef"));
	json_int_t c = json_integer_value(code);
	int r = 0;

	if (!json_is_integer(code) || c > 0 || c < INT_MIN || (c < 0 && msg == NULL) ||
	    (op == GITSRC_NET_FETCH && c == 0 && full == NULL)) {
		r = error_set(err, ERR_PROTOCOL, "%s: the Git helper's answer does not read", what);
	} else if (c < 0) {
		r = error_set(err, (int)c, "%s", msg);
	} else if (op == GITSRC_NET_FETCH) {
		if (!str_has_prefix(full, "refs/"))
			r = error_set(err, ERR_PROTOCOL, "%s: the Git helper resolved '%s'", what, full);
		else
			gitsrc__set_full_ref(src, full);
	}
	json_decref(o);
	return r;
}

int gitsrc__net_spawn(struct gitsrc *src, enum gitsrc_net_op op, const char *from, const char *to,
		      const char *expect, struct error **err)
{
	struct buf b;
	char what[1200];
	char *req = NULL;
	int sp[2], status = 0, late, killed, r;
	pid_t pid;

	op_what(src, op, from, to, what, sizeof(what));
	r = request_json(src, op, from, to, expect, &req, err);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		free(req);
		return error_set(err, -errno, "%s: socketpair: %s", what, strerror(errno));
	}
	r = spawn_helper(src, sp[1], &pid, err);
	close(sp[1]);
	if (r < 0) {
		close(sp[0]);
		free(req);
		return r;
	}
	/* A helper that died before reading shows as an answer missing, below. */
	(void)send_all(sp[0], req, strlen(req));
	shutdown(sp[0], SHUT_WR);
	free(req);
	buf_init(&b, NET_MAX_MSG);
	late = read_answer(sp[0], src->deadline, &b);
	close(sp[0]);
	killed = reap(pid, late ? 0 : src->deadline, &status);
	if (late) {
		char t[32];

		if (killed)
			clean_after_kill(src, op, to);
		gitsrc__timeout_text(src->timeout_ms, t, sizeof(t));
		r = error_set(err, ERR_TIMEOUT, "%s: timed out after %s", what, t);
	} else if (b.len == 0) {
		if (killed)
			clean_after_kill(src, op, to);
		r = error_set(err, ERR_TRANSPORT, "%s: the Git helper ended without an answer (%s %d)", what,
			      WIFSIGNALED(status) ? "signal" : "exit status",
			      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	} else {
		r = take_answer(src, op, &b, what, err);
	}
	buf_release(&b);
	return r;
}

/* The helper's side. */

static int read_request(struct buf *b)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = read(0, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return -1;
	}
}

static const char *req_str(json_t *req, enum field f)
{
	return json_string_value(json_object_get(req, field_names[f]));
}

/* Runs the request's operation on a source of its own; the outcome as the answer's fields. */
static int run_request(json_t *req, json_t *answer, struct error **err)
{
	struct gitsrc_config cfg;
	struct gitsrc *src = NULL;
	const char *name = json_string_value(json_object_get(req, "op"));
	int op = name ? name_index(op_names, ARRAY_SIZE(op_names), name) : -1;
	int r;

	if (op < 0)
		return error_set(err, ERR_INVALID, "the Git helper was asked for no known operation");
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = req_str(req, F_URL);
	cfg.ref = req_str(req, F_REF);
	cfg.state_dir = req_str(req, F_STATE_DIR);
	cfg.ssh_user = req_str(req, F_SSH_USER);
	cfg.ssh_key = req_str(req, F_SSH_KEY);
	cfg.ssh_pubkey = req_str(req, F_SSH_PUBKEY);
	cfg.known_hosts = req_str(req, F_KNOWN_HOSTS);
	cfg.https_user = req_str(req, F_HTTPS_USER);
	cfg.https_password = req_str(req, F_HTTPS_PASSWORD);
	cfg.ca_bundle = req_str(req, F_CA_BUNDLE);
	cfg.timeout_ms = json_integer_value(json_object_get(req, "timeoutMs"));
	r = gitsrc_open(&src, &cfg, err);
	/* A push goes through the parent source's own incoming ref, which the parent removes. */
	if (r == 0 && req_str(req, F_INCOMING)) {
		free(src->incoming_ref);
		src->incoming_ref = xstrdup(req_str(req, F_INCOMING));
		src->own_incoming = 0;
	}
	if (r == 0)
		r = gitsrc__net_locked(src, (enum gitsrc_net_op)op, req_str(req, F_FROM), req_str(req, F_TO),
				       req_str(req, F_EXPECT), err);
	if (r == 0 && op == GITSRC_NET_FETCH && src->full_ref)
		json_object_set_new(answer, "fullRef", json_string(src->full_ref));
	gitsrc_free(src);
	return r;
}

/* The message as a JSON string: as it is when it is valid UTF-8 (a peer's words may not be). */
static json_t *message_json(const char *msg)
{
	json_t *js = json_string(msg);
	char *t;

	if (js)
		return js;
	t = text_bounded(msg, NET_MAX_MSG / 2);
	js = json_string(t);
	free(t);
	return js;
}

int gitsrc_helper_main(int argc, char **argv)
{
	struct buf in;
	struct error *err = NULL;
	json_t *req = NULL, *answer = json_object();
	char *s;
	int r;

	(void)argc;
	(void)argv;
	/* The helper does not outlive the thread that waits for it, nor write into a closed socket. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	/* What the caller had open (its listeners, Docker connections) is not the helper's business. */
	close_range(3, ~0U, 0);
	buf_init(&in, NET_MAX_MSG);
	if (read_request(&in) < 0 || (req = json_loadb(in.data, in.len, 0, NULL)) == NULL)
		r = error_set(&err, ERR_INVALID, "the Git helper's request does not read");
	else if (json_integer_value(json_object_get(req, "parent")) != (json_int_t)getppid())
		r = error_set(&err, ERR_GENERIC, "the Git helper's caller is gone");
	else
		r = run_request(req, answer, &err);
	json_object_set_new(answer, "code", json_integer(r < 0 ? r : 0));
	if (r < 0)
		json_object_set_new(answer, "message", message_json(error_msg(err)));
	s = json_dumps(answer, JSON_COMPACT);
	if (s == NULL || send_all(1, s, strlen(s)) < 0)
		r = -1;
	free(s);
	json_decref(answer);
	json_decref(req);
	buf_release(&in);
	error_free(err);
	return r < 0 ? 1 : 0;
}
