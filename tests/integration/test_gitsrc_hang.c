/* A remote that accepts the connection and never answers: the mirror's readers go on while a fetch hangs, and with a helper process every network operation ends at the deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "source/gitsrc.h"
#include "testmain.h"
#include "testsh.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long the remote stays silent at most, how often the readers are timed, and their bound. */
#define HANG_MS 30000
#define SAMPLES 20
#define SAMPLE_EVERY_MS 500
#define BOUND_MS 2000

/* The silent remote: accepts, reads what each client says, answers nothing until told to stop. */
#define MAX_CONNS 8
struct silent {
	int lfd;
	int port;
	atomic_int accepted;	/* connections accepted */
	atomic_int closed;	/* connections their client closed */
	atomic_int stop;
	pthread_t thread;
};

static void *silent_main(void *arg)
{
	struct silent *s = arg;
	int64_t until = now_ms() + HANG_MS;
	struct pollfd p[1 + MAX_CONNS];
	char buf[4096];
	int n = 1, i;

	p[0].fd = s->lfd;
	p[0].events = POLLIN;
	while (!atomic_load(&s->stop) && now_ms() < until) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (i = n - 1; i >= 1; i--) {
			if (p[i].revents && read(p[i].fd, buf, sizeof(buf)) <= 0) {
				close(p[i].fd);
				p[i] = p[--n];
				atomic_fetch_add(&s->closed, 1);
			}
		}
		if ((p[0].revents & POLLIN) && n < 1 + MAX_CONNS) {
			p[n].fd = accept(s->lfd, NULL, NULL);
			p[n].events = POLLIN;
			p[n].revents = 0;
			if (p[n].fd >= 0) {
				n++;
				atomic_fetch_add(&s->accepted, 1);
			}
		}
	}
	for (i = 1; i < n; i++)
		close(p[i].fd);
	return NULL;
}

static void silent_start(struct silent *s)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &n), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, silent_main, s), 0);
}

static void silent_stop(struct silent *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

struct fetcher {
	struct gitsrc *src;
	int rc;
	int64_t took_ms;
	char msg[512];
};

static void *fetch_main(void *arg)
{
	struct fetcher *f = arg;
	struct gitsrc_fetch_result r;
	struct error *err = NULL;
	int64_t t0 = now_ms();

	f->rc = gitsrc_fetch(f->src, &r, &err);
	f->took_ms = now_ms() - t0;
	snprintf(f->msg, sizeof(f->msg), "%s", err ? error_msg(err) : "");
	error_free(err);
	gitsrc_fetch_result_release(&r);
	return NULL;
}

/* A temporary folder holding the repo src with one commit (want). */
static void make_repo(char *dir, char want[GITSRC_OID_HEX])
{
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_sh(NULL, 0,
				 "set -e; cd %s; git init -q -b main src; printf 'a: 1\\n' >src/x.yaml; "
				 "git -C src add x.yaml; git -C src -c user.name=t -c user.email=t@example.com "
				 "commit -q -m one", dir), 0);
	assert_int_equal(test_sh(want, GITSRC_OID_HEX, "git -C %s/src rev-parse HEAD", dir), 0);
}

static void readers_go_on_while_a_fetch_hangs(void **state)
{
	char dir[] = "/tmp/auriga-gitsrc-hang.XXXXXX";
	char url[600], statedir[600], head[GITSRC_OID_HEX], want[GITSRC_OID_HEX];
	struct gitsrc_config cfg;
	struct gitsrc *src = NULL;
	struct error *err = NULL;
	struct gitsrc_fetch_result fr;
	struct silent s;
	struct fetcher f;
	pthread_t ft;
	int64_t worst = 0;
	int i, slow = 0;

	(void)state;
	make_repo(dir, want);
	snprintf(statedir, sizeof(statedir), "%s/state", dir);

	/* The mirror holds the commit from an earlier fetch. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(url, sizeof(url), "file://%s/src", dir);
	cfg.url = url;
	cfg.state_dir = statedir;
	assert_int_equal(gitsrc_open(&src, &cfg, &err), 0);
	assert_int_equal(gitsrc_fetch(src, &fr, &err), 0);
	gitsrc_fetch_result_release(&fr);
	gitsrc_free(src);

	/* Now the remote is one that never answers. */
	silent_start(&s);
	snprintf(url, sizeof(url), "git://127.0.0.1:%d/specs.git", s.port);
	cfg.url = url;
	cfg.timeout_ms = HANG_MS * 2;
	assert_int_equal(gitsrc_open(&src, &cfg, &err), 0);
	memset(&f, 0, sizeof(f));
	f.src = src;
	assert_int_equal(pthread_create(&ft, NULL, fetch_main, &f), 0);
	for (i = 0; i < 200 && !atomic_load(&s.accepted); i++)
		test_sleep_ms(50);
	assert_true(atomic_load(&s.accepted));
	test_sleep_ms(200);

	/* What the loop does with the mirror (a head, a snapshot) answers at once, every time. */
	for (i = 0; i < SAMPLES; i++) {
		struct gitsrc_snapshot *snap = NULL;
		int64_t t0 = now_ms(), took;

		assert_int_equal(gitsrc_head(src, head, &err), 0);
		assert_string_equal(head, want);
		assert_int_equal(gitsrc_snapshot(src, head, ".", &snap, &err), 0);
		assert_int_equal(snap->nfiles, 1);
		gitsrc_snapshot_free(snap);
		took = now_ms() - t0;
		worst = took > worst ? took : worst;
		if (took > BOUND_MS) {
			print_error("reading the mirror took %lld ms while the fetch hung (bound %d ms)\n",
				    (long long)took, BOUND_MS);
			slow++;
			break;
		}
		test_sleep_ms(SAMPLE_EVERY_MS);
	}
	print_message("mirror reads during the hang: %d samples, the slowest %lld ms\n", i, (long long)worst);
	assert_false(atomic_load(&s.stop));
	silent_stop(&s);
	pthread_join(ft, NULL);
	assert_int_equal(slow, 0);
	/* The fetch itself hung until the remote went away, then failed with a transport error. */
	assert_true(f.rc < 0);
	assert_true(f.took_ms >= (int64_t)SAMPLES * SAMPLE_EVERY_MS);
	gitsrc_free(src);
	test_sh(NULL, 0, "rm -rf %s", dir);
}

/* With a helper process the deadline holds: every network operation ends at it, whatever the remote does. */
#define TIMEOUT_MS 2000
#define CUT_BOUND_MS 30000

/* The auriga binary of this test's build (BUILD/auriga beside BUILD/tests/integration/), the helper. */
static void helper_path(char *out, size_t n)
{
	char self[PATH_MAX / 2];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *cut;

	assert_true(len > 0);
	self[len] = '\0';
	cut = strstr(self, "/tests/integration/");
	assert_non_null(cut);
	*cut = '\0';
	snprintf(out, n, "%s/auriga", self);
	assert_int_equal(access(out, X_OK), 0);
}

/* The processes whose parent is this one, zombies included. */
static int children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[300], line[512], *rp;
		long ppid;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(line, sizeof(line), f) && (rp = strrchr(line, ')')) != NULL &&
		    sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)getpid())
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * One operation against the silent remote: it failed with ERR_TIMEOUT at the
 * deadline (within a generous bound), saying what and on which remote with
 * the URL's credentials masked; its helper is gone, and the connection with it.
 */
static void expect_cut(int rc, int64_t took, const struct error *err, const char *what, struct silent *s,
		       int closed_before)
{
	int i;

	print_message("%s: %d after %lld ms\n", error_msg(err), rc, (long long)took);
	assert_int_equal(rc, ERR_TIMEOUT);
	assert_true(took >= TIMEOUT_MS);
	assert_true(took < CUT_BOUND_MS);
	assert_non_null(strstr(error_msg(err), what));
	assert_non_null(strstr(error_msg(err), ": timed out after 2 s"));
	assert_null(strstr(error_msg(err), "tok3n"));
	assert_int_equal(children(), 0);
	for (i = 0; i < 200 && atomic_load(&s->closed) <= closed_before; i++)
		test_sleep_ms(50);
	assert_true(atomic_load(&s->closed) > closed_before);
}

static void a_silent_remote_is_cut_at_the_timeout(void **state)
{
	char dir[] = "/tmp/auriga-gitsrc-cut.XXXXXX";
	char url[600], statedir[600], lock[700], helper[PATH_MAX], want[GITSRC_OID_HEX], what[700];
	struct gitsrc_config cfg;
	struct gitsrc *src = NULL;
	struct error *err = NULL;
	struct gitsrc_fetch_result fr;
	struct silent s;
	int64_t t0;
	int i, rc;

	(void)state;
	make_repo(dir, want);
	helper_path(helper, sizeof(helper));
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	snprintf(lock, sizeof(lock), "%s/mirror.git/refs/auriga/fetched.lock", statedir);
	silent_start(&s);
	snprintf(url, sizeof(url), "git://tok3n@127.0.0.1:%d/src", s.port);
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = url;
	cfg.state_dir = statedir;
	cfg.timeout_ms = TIMEOUT_MS;
	cfg.helper = helper;
	assert_int_equal(gitsrc_open(&src, &cfg, &err), 0);
	/* What a helper killed while it moved the staging ref leaves behind. */
	assert_int_equal(test_sh(NULL, 0, "mkdir -p %s/mirror.git/refs/auriga && : >%s", statedir, lock), 0);

	snprintf(what, sizeof(what), "cannot fetch 'main' from 'git://***@127.0.0.1:%d/src'", s.port);
	t0 = now_ms();
	rc = gitsrc_fetch(src, &fr, &err);
	expect_cut(rc, now_ms() - t0, err, what, &s, 0);
	gitsrc_fetch_result_release(&fr);
	error_clear(&err);
	assert_int_not_equal(access(lock, F_OK), 0);

	snprintf(what, sizeof(what), "cannot fetch 'refs/notes/auriga' from 'git://***@127.0.0.1:%d/src'", s.port);
	t0 = now_ms();
	rc = gitsrc_fetch_ref(src, "refs/notes/auriga", "refs/auriga/remote-notes", &err);
	expect_cut(rc, now_ms() - t0, err, what, &s, 1);
	error_clear(&err);
	snprintf(what, sizeof(what), "cannot push 'refs/notes/auriga' to 'git://***@127.0.0.1:%d/src'", s.port);
	t0 = now_ms();
	rc = gitsrc_push_ref(src, "refs/notes/auriga", "refs/notes/auriga", &err);
	expect_cut(rc, now_ms() - t0, err, what, &s, 2);
	error_clear(&err);

	/* The remote answers again (git daemon on the same port): the next fetch takes its commit. */
	silent_stop(&s);
	assert_int_equal(test_sh(NULL, 0,
				 "git daemon --reuseaddr --listen=127.0.0.1 --port=%d --base-path=%s --export-all "
				 "--detach --pid-file=%s/daemon.pid %s", s.port, dir, dir, dir), 0);
	for (i = 0, rc = -1; i < 100 && rc < 0; i++) {
		error_clear(&err);
		rc = gitsrc_fetch(src, &fr, &err);
		if (rc < 0) {
			gitsrc_fetch_result_release(&fr);
			test_sleep_ms(100);
		}
	}
	print_message("after the remote came back: %s\n", rc == 0 ? fr.commit : error_msg(err));
	assert_int_equal(rc, 0);
	assert_string_equal(fr.commit, want);
	gitsrc_fetch_result_release(&fr);
	assert_int_equal(children(), 0);
	gitsrc_free(src);
	test_sh(NULL, 0, "kill $(cat %s/daemon.pid); rm -rf %s", dir, dir);
}

TEST_MAIN(
	cmocka_unit_test(readers_go_on_while_a_fetch_hangs),
	cmocka_unit_test(a_silent_remote_is_cut_at_the_timeout))
