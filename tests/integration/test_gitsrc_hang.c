/* A remote that accepts the connection and never answers: the mirror's readers go on while a fetch hangs. */
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

/* The silent remote: accepts, reads what the client says, answers nothing until told to stop. */
struct silent {
	int lfd;
	int port;
	atomic_int accepted;
	atomic_int stop;
	pthread_t thread;
};

static void *silent_main(void *arg)
{
	struct silent *s = arg;
	int64_t until = now_ms() + HANG_MS;
	int cfd = -1;
	char buf[4096];

	while (!atomic_load(&s->stop) && now_ms() < until) {
		struct pollfd p = { .fd = cfd >= 0 ? cfd : s->lfd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (cfd < 0) {
			cfd = accept(s->lfd, NULL, NULL);
			if (cfd >= 0)
				atomic_store(&s->accepted, 1);
		} else if (read(cfd, buf, sizeof(buf)) <= 0) {
			break;
		}
	}
	if (cfd >= 0)
		close(cfd);
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
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_sh(NULL, 0,
				 "set -e; cd %s; git init -q -b main src; printf 'a: 1\\n' >src/x.yaml; "
				 "git -C src add x.yaml; git -C src -c user.name=t -c user.email=t@example.com "
				 "commit -q -m one", dir), 0);
	assert_int_equal(test_sh(want, sizeof(want), "git -C %s/src rev-parse HEAD", dir), 0);
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

TEST_MAIN(
	cmocka_unit_test(readers_go_on_while_a_fetch_hangs))
