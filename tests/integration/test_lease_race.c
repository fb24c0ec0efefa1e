/* The lease's home is compare-and-swap without history: racers that all read one lease commit replace it at once, exactly one wins, over a path and over git://, and git gc leaves no old lease behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/lease.h"
#include "source/lease_git.h"
#include "testmain.h"
#include "testsh.h"
#include "util.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define RACERS 4
#define ROUNDS 6
#define INSTANCE "race"

struct racer {
	struct gitsrc *src;
	char holder[32];
	char expect[GITSRC_OID_HEX];	/* the lease commit it read */
	uint64_t generation;
	pthread_barrier_t *go;
	int rc;
	int code;
	char oid[GITSRC_OID_HEX];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct lease_record rec = { r->holder, r->generation, 1, 5000, "" };
	struct error *err = NULL;

	if (r->go)
		pthread_barrier_wait(r->go);
	r->rc = lease_git_write(r->src, INSTANCE, r->expect[0] ? r->expect : NULL, &rec, r->oid, &err);
	r->code = r->rc < 0 ? error_code(err) : 0;
	if (r->rc < 0 && r->code != ERR_CONFLICT)
		print_message("racer %s: %s\n", r->holder, error_msg(err));
	error_free(err);
	return NULL;
}

/* A push from a lease commit the home has moved past: ERR_CONFLICT, whatever the timing. */
static void stale_push(struct racer *r, const char *url, int round)
{
	race(r);
	if (r->rc == 0 || r->code != ERR_CONFLICT)
		fail_msg("%s round %d: a push on a stale lease commit was not refused as a conflict", url, round);
}

/* ROUNDS rounds of RACERS pushes on the commit they all read: one wins each, the others conflict. */
static void race_on(const char *url, const char *dir)
{
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t go;
	int i, round;

	pthread_barrier_init(&go, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		struct gitsrc_config g = { 0 };
		struct error *err = NULL;
		char *state = xasprintf("%s/racer%d-%s", dir, i, strstr(url, "git://") ? "git" : "path");

		memset(&r[i], 0, sizeof(r[i]));
		g.url = url;
		g.state_dir = state;
		g.timeout_ms = 30000;
		if (gitsrc_open(&r[i].src, &g, &err) < 0)
			fail_msg("open %s: %s", url, error_msg(err));
		snprintf(r[i].holder, sizeof(r[i].holder), "racer-%d", i);
		r[i].go = &go;
		free(state);
	}
	for (round = 0; round < ROUNDS; round++) {
		struct lease_seen s;
		struct error *err = NULL;
		int winners = 0, winner = -1;

		for (i = 0; i < RACERS; i++) {
			if (lease_git_read(r[i].src, INSTANCE, &s, &err) < 0)
				fail_msg("read %s: %s", url, error_msg(err));
			snprintf(r[i].expect, sizeof(r[i].expect), "%s", s.exists ? s.oid : "");
			r[i].generation = s.exists ? s.rec.generation + 1 : 1;
			lease_seen_release(&s);
		}
		for (i = 0; i < RACERS; i++)
			pthread_create(&t[i], NULL, race, &r[i]);
		for (i = 0; i < RACERS; i++)
			pthread_join(t[i], NULL);
		for (i = 0; i < RACERS; i++) {
			if (r[i].rc == 0) {
				winners++;
				winner = i;
			} else if (r[i].code != ERR_CONFLICT) {
				fail_msg("%s round %d: racer %d failed other than by a conflict", url, round, i);
			}
		}
		if (winners != 1)
			fail_msg("%s round %d: %d racers moved the lease, not one", url, round, winners);
		/* A loser pushing again on the commit it read, now stale, is refused too (no race needed). */
		r[(winner + 1) % RACERS].go = NULL;
		stale_push(&r[(winner + 1) % RACERS], url, round);
		r[(winner + 1) % RACERS].go = &go;
		/* What the home holds now is the winner's commit, one generation on. */
		if (lease_git_read(r[0].src, INSTANCE, &s, &err) < 0)
			fail_msg("read %s: %s", url, error_msg(err));
		assert_string_equal(s.oid, r[winner].oid);
		assert_string_equal(s.rec.holder, r[winner].holder);
		assert_int_equal(s.rec.generation, (uint64_t)round + 1);
		lease_seen_release(&s);
	}
	for (i = 0; i < RACERS; i++)
		gitsrc_free(r[i].src);
	pthread_barrier_destroy(&go);
}

/*
 * The lease has no history: after all the rounds its ref names one commit,
 * and once git gc has pruned what no ref reaches, the remote holds only the
 * objects its refs reach (the lease commits replaced are gone).
 */
static void no_history(const char *dir)
{
	char out[64];

	assert_int_equal(test_sh(out, sizeof(out), "git -C %s/remote.git rev-list --count refs/auriga/lease/" INSTANCE,
				 dir),
			 0);
	assert_string_equal(out, "1");
	assert_int_equal(test_sh(NULL, 0, "git -C %s/remote.git gc -q --prune=now", dir), 0);
	assert_int_equal(test_sh(out, sizeof(out),
				 "a=$(git -C %s/remote.git cat-file --batch-all-objects --batch-check | wc -l); "
				 "r=$(git -C %s/remote.git rev-list --objects --all | wc -l); echo \"$a $r\"",
				 dir, dir),
			 0);
	print_message("objects in the remote after gc, all and reachable: %s\n", out);
	assert_string_equal(out, "2 2");
}

static void path_is_cas(void **state)
{
	char dir[] = "/tmp/auriga-lease-race-XXXXXX", url[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_sh(NULL, 0, "git init -q --bare -b main %s/remote.git", dir), 0);
	snprintf(url, sizeof(url), "%s/remote.git", dir);
	race_on(url, dir);
	no_history(dir);
	snprintf(url, sizeof(url), "file://%s/remote.git", dir);
	/* The same remote through file://: the rounds go on from the generation it holds. */
	test_sh(NULL, 0, "git -C %s/remote.git update-ref -d refs/auriga/lease/" INSTANCE, dir);
	race_on(url, dir);
	test_sh(NULL, 0, "rm -rf %s", dir);
}

static void git_daemon_is_cas(void **state)
{
	char dir[] = "/tmp/auriga-lease-race-XXXXXX", url[128], port[16], pid[16];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_sh(NULL, 0, "git init -q --bare -b main %s/remote.git", dir), 0);
	assert_int_equal(test_sh(port, sizeof(port), "tests/helpers/free-ports.py 1"), 0);
	assert_int_equal(test_sh(pid, sizeof(pid),
				 "git daemon --reuseaddr --listen=127.0.0.1 --port=%s --base-path=%s --export-all "
				 "--enable=receive-pack %s >%s/daemon.log 2>&1 & echo $!",
				 port, dir, dir, dir),
			 0);
	/* Until it answers (a bounded wait: a busy machine starts it slowly). */
	assert_int_equal(test_sh(NULL, 0,
				 "for i in $(seq 300); do git ls-remote git://127.0.0.1:%s/remote.git >/dev/null 2>&1 "
				 "&& exit 0; sleep 0.1; done; exit 1",
				 port),
			 0);
	snprintf(url, sizeof(url), "git://127.0.0.1:%s/remote.git", port);
	race_on(url, dir);
	no_history(dir);
	kill((pid_t)strtol(pid, NULL, 10), SIGTERM);
	test_sh(NULL, 0, "rm -rf %s", dir);
}

/* The files under dir/objects of a mirror. */
static long objects_in(const char *state)
{
	char out[32];

	assert_int_equal(test_sh(out, sizeof(out), "find %s/mirror.git/objects -type f | wc -l", state), 0);
	return strtol(out, NULL, 10);
}

/*
 * A writer's mirror keeps every lease it wrote (libgit2 has no gc) until it
 * is made anew: then it is empty, and the next renewal and read work as
 * before, from the commit the writer knows by name only.
 */
static void mirror_made_anew(void **state)
{
	char dir[] = "/tmp/auriga-lease-race-XXXXXX", url[128], st[160];
	char oid[GITSRC_OID_HEX] = "";
	struct gitsrc_config g = { 0 };
	struct gitsrc *src = NULL;
	struct lease_seen s;
	struct error *err = NULL;
	long before, after;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_sh(NULL, 0, "git init -q --bare -b main %s/remote.git", dir), 0);
	snprintf(url, sizeof(url), "%s/remote.git", dir);
	snprintf(st, sizeof(st), "%s/writer", dir);
	g.url = url;
	g.state_dir = st;
	assert_int_equal(gitsrc_open(&src, &g, &err), 0);
	for (i = 0; i < 20; i++) {
		struct lease_record rec = { (char *)"writer", 1, i, 5000, (char *)"" };
		char prev[GITSRC_OID_HEX];

		snprintf(prev, sizeof(prev), "%s", oid);
		assert_int_equal(lease_git_write(src, INSTANCE, prev, &rec, oid, &err), 0);
	}
	before = objects_in(st);
	assert_int_equal(gitsrc_mirror_renew(src, &err), 0);
	after = objects_in(st);
	print_message("objects in the writer's mirror: %ld after 20 renewals, %ld made anew\n", before, after);
	assert_true(before >= 20);
	assert_int_equal(after, 0);
	{
		struct lease_record rec = { (char *)"writer", 1, 99, 5000, (char *)"" };
		char prev[GITSRC_OID_HEX];

		snprintf(prev, sizeof(prev), "%s", oid);
		assert_int_equal(lease_git_write(src, INSTANCE, prev, &rec, oid, &err), 0);
	}
	assert_int_equal(lease_git_read(src, INSTANCE, &s, &err), 0);
	assert_string_equal(s.oid, oid);
	assert_int_equal(s.rec.renewed_at_ms, 99);
	lease_seen_release(&s);
	gitsrc_free(src);
	test_sh(NULL, 0, "rm -rf %s", dir);
}

/* A URL whose transport is none of those is refused, naming it. */
static void other_transports_refused(void **state)
{
	struct error *err = NULL;

	(void)state;
	assert_int_equal(lease_git_transport_check("/srv/specs.git", &err), 0);
	assert_int_equal(lease_git_transport_check("git@example.com:ops/specs.git", &err), 0);
	assert_int_equal(lease_git_transport_check("https://example.com/specs.git", &err), 0);
	assert_int_equal(lease_git_transport_check("ext::ssh -p 22 example.com %S specs.git", &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "'ext' is none of them"));
	error_free(err);
}

TEST_MAIN(cmocka_unit_test(path_is_cas), cmocka_unit_test(git_daemon_is_cas), cmocka_unit_test(mirror_made_anew),
	  cmocka_unit_test(other_transports_refused))
