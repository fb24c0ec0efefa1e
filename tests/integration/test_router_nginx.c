/*
 * Integration tests for the router against a real NGINX of the test's own and two demo-node
 * containers (blue and green): traffic shares follow the weights, a bad configuration is refused
 * while the old one keeps serving, and flips under load lose no request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "demo_node.h"
#include "nginx.h"
#include "testsh.h"
#include "traffic/router.h"
#include "util.h"

#define IMAGE "auriga-demo-node:v1"

static char label[96];
static char dir[64];		/* the test's NGINX prefix: main conf, pid, logs, the router's file */
static struct test_nginx ng;
static int listen_port;
static int blue_port, green_port;
static struct router *R;
static int64_t apply_max_ms;	/* the longest router_set (render, nginx -t, rename, reload command) */

static long nginx_master(void)
{
	return test_nginx_master(ng.pid_path);
}

static void cleanup(void)
{
	if (label[0] == '\0')
		return;
	test_nginx_stop(&ng);
	test_docker_rm_label(label);
	if (dir[0] != '\0')
		test_sh(NULL, 0, "rm -rf '%s'", dir);
	label[0] = '\0';
}

/* Waits until none of the workers seen before a reload is left: every new request meets the new config. */
static void wait_reload(const long *old, size_t n_old)
{
	long master = nginx_master();

	for (int i = 0; i < 100; i++) {
		long now[16];
		size_t n = test_nginx_workers(master, now, 16), left = 0;

		for (size_t a = 0; a < n_old; a++)
			for (size_t b = 0; b < n; b++)
				if (old[a] == now[b])
					left++;
		if (left == 0 && n > 0)
			return;
		test_sleep_ms(50);
	}
	fail_msg("NGINX workers did not turn over after the reload");
}

/* Sets s through r, which must change the file, and waits until NGINX serves it. */
static void set_and_reload(struct router *r, const struct router_service *s)
{
	struct error *err = NULL;
	long old[16];
	size_t n_old = test_nginx_workers(nginx_master(), old, 16);
	int changed = 0;

	if (router_set(r, s, &changed, &err) != 0)
		fail_msg("router_set %s: %s", s->upstream, error_msg(err));
	assert_int_equal(changed, 1);
	wait_reload(old, n_old);
}

/* A router of the test's NGINX that signals the master named in pid_file. */
static struct router *pid_file_router(const char *pid_file)
{
	struct router_config rc = { 0 };
	struct error *err = NULL;
	struct router *r;

	rc.config_path = ng.conf_path;
	rc.pid_file = pid_file;
	r = router_new(&rc, &err);
	if (r == NULL)
		fail_msg("router_new: %s", error_msg(err));
	return r;
}

/* A router whose pid file (name, under the test's folder) names no process. */
static struct router *bad_pid_file_router(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(test_sh(NULL, 0, "echo notapid > %s", path), 0);
	return pid_file_router(path);
}

/* router_set for the api service with the given blue and green weights. */
static void set_weights(int blue, int green)
{
	struct router_endpoint ep[2] = { { "127.0.0.1", blue_port, blue, 0 }, { "127.0.0.1", green_port, green, 0 } };
	struct router_service s = { "api", listen_port, 1, 10, ep, 2 };
	struct error *err = NULL;
	int changed = 0;
	int64_t t0 = now_ms();

	if (router_set(R, &s, &changed, &err) != 0)
		fail_msg("router_set %d/%d: %s", blue, green, error_msg(err));
	if (now_ms() - t0 > apply_max_ms)
		apply_max_ms = now_ms() - t0;
	/* No wait here: router_set returns once NGINX serves the new weights, which the callers count. */
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	char *version = arg;
	size_t len = size * n;

	if (len > 16 && strncasecmp(data, "X-Node-Version:", 15) == 0) {
		size_t v = len - 15;

		snprintf(version, 32, "%.*s", (int)(v < 31 ? v : 31), data + 15);
		version[strcspn(version, "\r\n")] = '\0';
		memmove(version, version + strspn(version, " "), strlen(version) + 1);
	}
	return len;
}

static size_t discard_cb(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/*
 * A handle that GETs /api/v11/info on port of 127.0.0.1 (url holds the URL, 96 bytes) and
 * writes the X-Node-Version header to version (32 bytes).
 */
static CURL *version_get(int port, char *url, char *version)
{
	CURL *c = curl_easy_init();

	snprintf(url, 96, "http://127.0.0.1:%d/api/v11/info", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, version);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	return c;
}

/* Sends n GETs through NGINX and counts answers by version; every answer must be a 200. */
static void count(int n, int *blue, int *green)
{
	char url[96], version[32];
	CURL *c = version_get(listen_port, url, version);

	*blue = *green = 0;
	for (int i = 0; i < n; i++) {
		long status = 0;
		CURLcode rc;

		version[0] = '\0';
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 200)
			fail_msg("request %d: %s, status %ld", i, curl_easy_strerror(rc), status);
		if (strcmp(version, "blue") == 0)
			(*blue)++;
		else if (strcmp(version, "green") == 0)
			(*green)++;
		else
			fail_msg("request %d: version header '%s'", i, version);
	}
	curl_easy_cleanup(c);
}

/* How many of 50 requests through NGINX green answers; every one is a 200 from blue or green. */
static int green_of_50(void)
{
	int blue, green;

	count(50, &blue, &green);
	assert_int_equal(blue + green, 50);
	return green;
}

/* The api service with blue at weight 0 and green at 100, on the endpoints in ep. */
static struct router_service all_green(struct router_endpoint ep[2])
{
	ep[0] = (struct router_endpoint){ "127.0.0.1", blue_port, 0, 0 };
	ep[1] = (struct router_endpoint){ "127.0.0.1", green_port, 100, 0 };
	return (struct router_service){ "api", listen_port, 1, 10, ep, 2 };
}

/* router_set of s through r fails with an error that says what. */
static void set_fails(struct router *r, const struct router_service *s, const char *what)
{
	struct error *err = NULL;
	int changed = -1;

	assert_int_not_equal(router_set(r, s, &changed, &err), 0);
	if (strstr(error_msg(err), what) == NULL)
		fail_msg("router_set: '%s' does not say '%s'", error_msg(err), what);
	error_free(err);
}

/*
 * With one NGINX worker, weighted round robin is exact over every full
 * cycle; the tolerance (5 points of 200 requests) allows for a worker that
 * starts its cycle mid-way.
 */
#define N_REQ 200
#define TOLERANCE 10

static void weights_follow(void **state)
{
	int blue, green;

	(void)state;
	set_weights(100, 0);
	count(N_REQ, &blue, &green);
	assert_int_equal(green, 0);
	assert_int_equal(blue, N_REQ);
	assert_null(strstr(router_current(R), "weight=0"));

	set_weights(0, 100);
	count(N_REQ, &blue, &green);
	assert_int_equal(blue, 0);
	assert_int_equal(green, N_REQ);

	set_weights(80, 20);
	count(N_REQ, &blue, &green);
	print_message("80/20: %d blue, %d green of %d (want %d +- %d green)\n", blue, green, N_REQ, N_REQ / 5,
		      TOLERANCE);
	assert_in_range(green, N_REQ / 5 - TOLERANCE, N_REQ / 5 + TOLERANCE);
	assert_int_equal(blue + green, N_REQ);
	print_message("longest router_set (check + write + reload command): %lld ms\n", (long long)apply_max_ms);
}

static void unchanged_is_not_rewritten(void **state)
{
	struct router_endpoint ep[2] = { { "127.0.0.1", blue_port, 50, 0 }, { "127.0.0.1", green_port, 50, 0 } };
	struct router_service s = { "api", listen_port, 1, 10, ep, 2 };
	struct error *err = NULL;
	int changed = -1;

	(void)state;
	assert_int_equal(router_set(R, &s, &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(router_set(R, &s, &changed, &err), 0);
	assert_int_equal(changed, 0);
}

/* An upstream with no live server is valid NGINX: the placeholder answers 502, nothing breaks. */
static void empty_upstream_is_valid(void **state)
{
	struct router_service s = { "api", listen_port, 1, 10, NULL, 0 };
	char code[16];

	(void)state;
	set_and_reload(R, &s);
	assert_non_null(strstr(router_current(R), "server 127.0.0.1:1 down;"));
	test_sh(code, sizeof(code), "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/api/v11/info", listen_port);
	assert_string_equal(code, "502");
	set_weights(100, 0);
}

static void bad_config_refused(void **state)
{
	struct error *err = NULL;
	struct buf before, bad;
	char *p;
	int blue, green, changed = -1;

	(void)state;
	set_weights(0, 100);
	buf_init(&before, 1 << 20);
	assert_int_equal(test_sh(NULL, 0, "test -f %s", ng.conf_path), 0);
	buf_puts(&before, router_current(R));
	/* An upstream name NGINX cannot parse, as a broken renderer or a hand edit would produce. */
	buf_init(&bad, 1 << 20);
	buf_puts(&bad, before.data);
	p = strstr(bad.data, "upstream api {");
	assert_non_null(p);
	memcpy(p, "upstream a;i {", 14);
	assert_int_equal(router_apply_text(R, bad.data, &changed, &err), ERR_INVALID);
	print_message("refused: %s\n", error_msg(err));
	assert_non_null(strstr(error_msg(err), "nginx -t refused"));
	assert_int_equal(changed, 0);
	error_clear(&err);
	/* The live file is what it was, no candidate is left, and the old config keeps serving. */
	{
		FILE *f = fopen(ng.conf_path, "r");
		char file[8192];
		size_t n;

		assert_non_null(f);
		n = fread(file, 1, sizeof(file) - 1, f);
		file[n] = '\0';
		fclose(f);
		assert_string_equal(file, before.data);
	}
	assert_int_not_equal(test_sh(NULL, 0, "test -e %s.candidate", ng.conf_path), 0);
	count(50, &blue, &green);
	assert_int_equal(green, 50);
	buf_release(&before);
	buf_release(&bad);
}

/*
 * Five flips under ab load (no keep-alive, 4 clients): no failed or non-2xx request. ab runs until
 * the flips are done and is then interrupted (it prints what it measured); it is bounded by
 * 500000 requests and 60 s (a quiet machine answers 50000 before the flips are done). -l: the two
 * versions answer bodies of different lengths, which are not failures.
 */
static void flips_under_load(void **state)
{
	char url[96], line[256];
	long complete = -1, failed = -1, non2xx = 0;
	int pfd[2], st = 0;
	pid_t ab;
	FILE *out;

	(void)state;
	set_weights(100, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v11/info", listen_port);
	assert_int_equal(pipe(pfd), 0);
	ab = fork();
	assert_true(ab >= 0);
	if (ab == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execlp("ab", "ab", "-l", "-t", "60", "-n", "500000", "-c", "4", "-s", "10", url, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	test_sleep_ms(300);
	for (int i = 0; i < 5; i++) {
		set_weights(i % 2 == 0 ? 0 : 100, i % 2 == 0 ? 100 : 0);
		test_sleep_ms(200);
	}
	/* The load must still be running after the last flip, or the test proves nothing. */
	assert_int_equal(waitpid(ab, &st, WNOHANG), 0);
	kill(ab, SIGINT);
	out = fdopen(pfd[0], "r");
	assert_non_null(out);
	while (fgets(line, sizeof(line), out) != NULL) {
		long v;
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (parse_long(colon + 1 + strspn(colon + 1, " "), 0, 1L << 40, &v) < 0)
			continue;
		if (strncmp(line, "Complete requests:", 18) == 0)
			complete = v;
		else if (strncmp(line, "Failed requests:", 16) == 0)
			failed = v;
		else if (strncmp(line, "Non-2xx responses:", 18) == 0)
			non2xx = v;
	}
	fclose(out);
	waitpid(ab, &st, 0);
	print_message("ab under 5 flips: %ld complete, %ld failed, %ld non-2xx\n", complete, failed, non2xx);
	assert_true(complete > 100);
	assert_int_equal(failed, 0);
	assert_int_equal(non2xx, 0);
}

/* The other reload way: SIGHUP to the pid in NGINX's pid file. */
static void reload_by_pid_file(void **state)
{
	struct router_endpoint ep[2];
	struct router_service s = all_green(ep);
	struct router *r2;

	(void)state;
	set_weights(100, 0);
	r2 = pid_file_router(ng.pid_path);
	set_and_reload(r2, &s);
	assert_int_equal(green_of_50(), 50);
	/* A pid file that names no process is an error, and says which file. */
	router_free(r2);
	r2 = bad_pid_file_router("bad.pid");
	ep[1].weight = 50;
	set_fails(r2, &s, "holds no pid");
	/* The checked file is in place but NGINX was not told: the same weights again retry the reload. */
	set_fails(r2, &s, "holds no pid");
	router_free(r2);
}

/*
 * A controller killed after the checked file was renamed into place but
 * before NGINX reloaded (here: a reload that fails, then the router freed)
 * leaves the new text on disk and NGINX serving the old one. The next
 * controller's router must reload on its first apply although the file
 * already holds its text.
 */
static void restart_between_rename_and_reload(void **state)
{
	struct router_endpoint ep[2];
	struct router_service s = all_green(ep);
	struct router *r2 = bad_pid_file_router("bad-restart.pid");

	(void)state;
	set_weights(100, 0);
	assert_int_equal(green_of_50(), 0);
	set_fails(r2, &s, "holds no pid");
	router_free(r2);
	assert_int_equal(green_of_50(), 0);
	r2 = pid_file_router(ng.pid_path);
	set_and_reload(r2, &s);
	assert_int_equal(green_of_50(), 50);
	router_free(r2);
}

/*
 * A new router (a restarted controller) starts from the services the last
 * one applied: setting one service keeps the others' listeners in NGINX.
 * Services no longer in the specs are pruned and leave at the next apply.
 */
static void new_router_keeps_other_services(void **state)
{
	struct router_endpoint ep[1] = { { "127.0.0.1", blue_port, 100, 0 } };
	struct router_service api = { "api", listen_port, 1, 10, ep, 1 };
	struct router_service other = { "other", test_free_port(), 1, 10, ep, 1 };
	const char *keep[] = { "api" };
	struct error *err = NULL;
	struct router *r2;
	char code[16];
	int changed = 0;

	(void)state;
	if (router_set(R, &other, &changed, &err) != 0)
		fail_msg("router_set: %s", error_msg(err));
	r2 = pid_file_router(ng.pid_path);
	if (router_set(r2, &api, &changed, &err) != 0)
		fail_msg("router_set: %s", error_msg(err));
	assert_non_null(strstr(router_current(r2), "upstream other"));
	/* NGINX still listens for the service the new router has not set. */
	assert_int_equal(test_sh(code, sizeof(code), "sleep 0.5; curl -s -o /dev/null -w '%%{http_code}' "
				 "http://127.0.0.1:%d/q/health/ready", other.port), 0);
	assert_string_equal(code, "200");
	router_free(r2);
	r2 = pid_file_router(ng.pid_path);
	router_prune(r2, keep, 1);
	if (router_set(r2, &api, &changed, &err) != 0)
		fail_msg("router_set: %s", error_msg(err));
	assert_null(strstr(router_current(r2), "upstream other"));
	router_free(r2);
	/* The main router forgets it too, for the tests after this one. */
	assert_int_equal(router_remove(R, "other", &changed, &err), 0);
}

/* Removing the only service leaves a valid, empty file: NGINX stops listening on its port. */
static void remove_service(void **state)
{
	struct error *err = NULL;
	long old[16];
	size_t n_old;
	int changed = 0;

	(void)state;
	set_weights(100, 0);
	n_old = test_nginx_workers(nginx_master(), old, 16);
	assert_int_equal(router_remove(R, "api", &changed, &err), 0);
	assert_int_equal(changed, 1);
	wait_reload(old, n_old);
	assert_null(strstr(router_current(R), "upstream"));
	assert_int_not_equal(test_sh(NULL, 0, "curl -sf -o /dev/null http://127.0.0.1:%d/api/v11/info", listen_port), 0);
	assert_int_equal(router_remove(R, "api", &changed, &err), 0);
	assert_int_equal(changed, 0);
}

/* The version that answers one GET on a new connection, or "" when none did. */
static void one_version(int port, char *version, size_t n)
{
	char url[96];
	CURL *c = version_get(port, url, version);
	long code = 0;

	version[0] = '\0';
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (curl_easy_perform(c) != CURLE_OK ||
	    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), code != 200) || n < 32)
		version[0] = '\0';
	curl_easy_cleanup(c);
}

/*
 * A change is made when NGINX serves it: the first request after each
 * router_set, on a new connection, meets the new weights, and a service
 * added on a new port answers at once (the reload command only signals
 * NGINX, whose new workers take a moment).
 */
static void served_when_returned(void **state)
{
	struct router_endpoint ep[1] = { { "127.0.0.1", 0, 100, 0 } };
	struct router_service s = { "fresh", 0, 1, 10, ep, 1 };
	struct error *err = NULL;
	char v[32];
	int changed = 0, i, wrong = 0;

	(void)state;
	for (i = 0; i < 20; i++) {
		const char *want = i % 2 ? "blue" : "green";

		set_weights(i % 2 ? 100 : 0, i % 2 ? 0 : 100);
		one_version(listen_port, v, sizeof(v));
		if (strcmp(v, want) != 0) {
			print_message("flip %d: first request answered by '%s', not %s\n", i, v, want);
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
	/* Five new listeners, each asked once right after the set that adds it. */
	for (i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fresh%d", i);
		s.upstream = name;
		s.port = test_free_port();
		ep[0].port = i % 2 ? blue_port : green_port;
		if (router_set(R, &s, &changed, &err) != 0)
			fail_msg("router_set %s: %s", name, error_msg(err));
		assert_int_equal(changed, 1);
		one_version(s.port, v, sizeof(v));
		if (strcmp(v, i % 2 ? "blue" : "green") != 0)
			fail_msg("new listener %s on %d: first request answered by '%s'", name, s.port, v);
	}
	for (i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fresh%d", i);
		assert_int_equal(router_remove(R, name, &changed, &err), 0);
	}
	/* Two services staged and committed together: one reload, both served when it returns. */
	{
		struct router_endpoint eb[1] = { { "127.0.0.1", blue_port, 100, 0 } };
		struct router_endpoint eg[1] = { { "127.0.0.1", green_port, 100, 0 } };
		struct router_service sb = { "pair-b", test_free_port(), 1, 10, eb, 1 };
		struct router_service sg = { "pair-g", test_free_port(), 1, 10, eg, 1 };

		assert_int_equal(router_stage(R, &sb, &err), 0);
		assert_int_equal(router_stage(R, &sg, &err), 0);
		if (router_commit(R, &changed, &err) != 0)
			fail_msg("router_commit: %s", error_msg(err));
		assert_int_equal(changed, 1);
		one_version(sb.port, v, sizeof(v));
		assert_string_equal(v, "blue");
		one_version(sg.port, v, sizeof(v));
		assert_string_equal(v, "green");
		assert_int_equal(router_remove(R, "pair-b", &changed, &err), 0);
		assert_int_equal(router_remove(R, "pair-g", &changed, &err), 0);
	}
}

/*
 * A reload NGINX does not take (here the new listener's port is held by
 * another program, which `nginx -t` cannot see) fails the change within its
 * deadline with NGINX's own error, leaves NGINX serving the last good
 * configuration, and is reloaded again by the next apply.
 */
static void reload_not_taken_fails(void **state)
{
	static const char *const reload_argv[] = { "nginx", "-s", "reload", "-c", ng.main_conf, NULL };
	struct router_endpoint ep[1] = { { "127.0.0.1", 0, 100, 0 } };
	struct router_service held = { "held", 0, 1, 10, ep, 1 };
	struct router_config rc = { 0 };
	struct error *err = NULL;
	char pid[32], log_path[160], v[32];
	struct router *r2;
	int changed = -1, ret;
	int64_t t0;

	(void)state;
	set_weights(100, 0);
	held.port = test_free_port();
	ep[0].port = green_port;
	/* A listener that accepts and never answers, on the port the new service wants. */
	assert_int_equal(test_sh(pid, sizeof(pid),
				 "setsid python3 -c 'import socket,time; s=socket.socket(); "
				 "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\",%d)); "
				 "s.listen(64); time.sleep(120)' >/dev/null 2>&1 & echo $!",
				 held.port),
			 0);
	for (int i = 0; i < 50 && test_sh(NULL, 0, "curl -s -m 0.2 -o /dev/null telnet://127.0.0.1:%d; [ $? -ne 7 ]",
					   held.port) != 0;
	     i++)
		test_sleep_ms(100);
	snprintf(log_path, sizeof(log_path), "%s/error.log", dir);
	rc.config_path = ng.conf_path;
	rc.reload_argv = reload_argv;
	rc.error_log = log_path;
	rc.timeout_ms = 1500;
	r2 = router_new(&rc, &err);
	assert_non_null(r2);
	t0 = now_ms();
	ret = router_set(r2, &held, &changed, &err);
	print_message("refused in %lld ms: %s\n", (long long)(now_ms() - t0), error_msg(err));
	assert_int_equal(ret, ERR_TIMEOUT);
	assert_int_equal(changed, 0);
	assert_in_range(now_ms() - t0, 1500, 6000);
	assert_non_null(strstr(error_msg(err), "did not serve the new configuration"));
	assert_non_null(strstr(error_msg(err), "Address already in use"));
	error_clear(&err);
	/* NGINX kept the last good configuration: the api still answers from blue. */
	one_version(listen_port, v, sizeof(v));
	assert_string_equal(v, "blue");
	test_sh(NULL, 0, "kill %s", pid);
	for (int i = 0; i < 50 && test_sh(NULL, 0, "kill -0 %s 2>/dev/null", pid) == 0; i++)
		test_sleep_ms(100);
	/* The port is free now: the same table is reloaded again and served. */
	assert_int_equal(router_set(r2, &held, &changed, &err), 0);
	assert_int_equal(changed, 1);
	one_version(held.port, v, sizeof(v));
	assert_string_equal(v, "green");
	assert_int_equal(router_remove(r2, "held", &changed, &err), 0);
	router_free(r2);
	error_free(err);
}

static int group_setup(void **state)
{
	static const char *const reload_argv[] = { "nginx", "-s", "reload", "-c", ng.main_conf, NULL };
	struct router_config rc = { 0 };
	struct error *err = NULL;

	(void)state;
	if (test_sh(NULL, 0, "docker image inspect %s >/dev/null 2>&1", IMAGE) != 0) {
		fprintf(stderr, "image %s is missing (hack/build-images.sh builds it)\n", IMAGE);
		return -1;
	}
	snprintf(label, sizeof(label), "auriga.test.run=test_router_nginx-%ld", (long)getpid());
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "/tmp/auriga-router-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	listen_port = test_free_port();
	blue_port = test_node_run(label, IMAGE, "blue");
	green_port = test_node_run(label, IMAGE, "green");
	if (listen_port < 0 || blue_port < 0 || green_port < 0) {
		fprintf(stderr, "setup: no free port or a demo node did not come up\n");
		return -1;
	}
	if (test_nginx_start(&ng, dir, 1) != 0)
		return -1;
	rc.config_path = ng.conf_path;
	rc.reload_argv = reload_argv;
	rc.timeout_ms = 10000;
	R = router_new(&rc, &err);
	if (R == NULL) {
		fprintf(stderr, "setup: %s\n", error_msg(err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	router_free(R);
	cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weights_follow),
		cmocka_unit_test(unchanged_is_not_rewritten),
		cmocka_unit_test(empty_upstream_is_valid),
		cmocka_unit_test(bad_config_refused),
		cmocka_unit_test(flips_under_load),
		cmocka_unit_test(reload_by_pid_file),
		cmocka_unit_test(restart_between_rename_and_reload),
		cmocka_unit_test(new_router_keeps_other_services),
		cmocka_unit_test(served_when_returned),
		cmocka_unit_test(reload_not_taken_fails),
		cmocka_unit_test(remove_service),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
