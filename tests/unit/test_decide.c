/* Unit tests for the engine's pure decisions: prune share, liveness restarts, deadline and readiness, from tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/decide.h"
#include "util.h"

#define MAXC 12

/* ------------------------------------------------------------------ prune */

/* orphan: 'o' an orphan, '-' a container of a desired deployment; go: 'o' goes this pass. */
struct prune_case {
	const char *name;
	const char *orphan;
	int max_percent;
	int draining;
	const char *go;
	size_t n_orphans;
};

static const struct prune_case prune_cases[] = {
	{ .name = "no orphans: nothing goes", .orphan = "----", .max_percent = 25, .go = "----", .n_orphans = 0 },
	{ .name = "one orphan of four at 25%: it goes", .orphan = "-o--", .max_percent = 25, .go = "-o--",
	  .n_orphans = 1 },
	{ .name = "three orphans of eight at 25%: the first two in list order go", .orphan = "o-o-o---",
	  .max_percent = 25, .go = "o-o-----", .n_orphans = 3 },
	{ .name = "a fleet too small for a share still loses one per pass", .orphan = "ooo", .max_percent = 25,
	  .go = "o--", .n_orphans = 3 },
	{ .name = "no share set: 25%", .orphan = "oooooooo", .max_percent = 0, .go = "oo------", .n_orphans = 8 },
	{ .name = "a negative share: 25%", .orphan = "oooooooo", .max_percent = -5, .go = "oo------",
	  .n_orphans = 8 },
	{ .name = "share 50 of ten: five go", .orphan = "oooooooooo", .max_percent = 50, .go = "ooooo-----",
	  .n_orphans = 10 },
	{ .name = "the share rounds down: half of seven is three", .orphan = "ooooooo", .max_percent = 50,
	  .go = "ooo----", .n_orphans = 7 },
	{ .name = "share 100: every orphan goes", .orphan = "oo-o", .max_percent = 100, .go = "oo-o",
	  .n_orphans = 3 },
	{ .name = "the share counts the whole fleet, not the orphans", .orphan = "o-------o---", .max_percent = 20,
	  .go = "o-------o---", .n_orphans = 2 },
	{ .name = "draining: none go, all are counted", .orphan = "oo--", .max_percent = 100, .draining = 1,
	  .go = "----", .n_orphans = 2 },
};

static void prune_table(void **state)
{
	size_t ci, i;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(prune_cases); ci++) {
		const struct prune_case *pc = &prune_cases[ci];
		unsigned char orphan[MAXC], go[MAXC];
		char got[MAXC + 1];
		size_t n = strlen(pc->orphan), k;

		print_message("case: %s\n", pc->name);
		for (i = 0; i < n; i++)
			orphan[i] = pc->orphan[i] == 'o';
		memset(go, 7, sizeof(go));
		k = decide_prune(orphan, n, pc->max_percent, pc->draining, go);
		for (i = 0; i < n; i++)
			got[i] = go[i] == 1 ? 'o' : go[i] == 0 ? '-' : '?';
		got[n] = '\0';
		if (strcmp(got, pc->go) != 0)
			fail_msg("%s: go %s, want %s", pc->name, got, pc->go);
		if (k != pc->n_orphans)
			fail_msg("%s: %zu orphans counted, want %zu", pc->name, k, pc->n_orphans);
	}
}

/* --------------------------------------------------- containers' facts */

/*
 * One container as a string of flags: 'p' probed, 't' at the target
 * revision, 's' startup failed, 'l' liveness failed, 'r' ready.
 */
static size_t ctrs_from(const char *const *spec, struct decide_ctr *v)
{
	size_t n;

	for (n = 0; spec[n] != NULL; n++) {
		memset(&v[n], 0, sizeof(v[n]));
		v[n].probed = strchr(spec[n], 'p') != NULL;
		v[n].at_target = strchr(spec[n], 't') != NULL;
		v[n].startup_failed = strchr(spec[n], 's') != NULL;
		v[n].live_failed = strchr(spec[n], 'l') != NULL;
		v[n].ready = strchr(spec[n], 'r') != NULL;
	}
	return n;
}

/* ---------------------------------------------------------- restarts */

struct restart_case {
	const char *name;
	const char *ctrs[MAXC];
	int draining;
	const char *restart;	/* 'x' restarted, '-' left */
};

static const struct restart_case restart_cases[] = {
	{ .name = "a failed liveness probe restarts its container", .ctrs = { "ptr", "ptrl", NULL },
	  .restart = "-x" },
	{ .name = "every container whose liveness failed, old revision too", .ctrs = { "pl", "ptr", "ptl", NULL },
	  .restart = "x-x" },
	{ .name = "nobody probes it: nothing to restart for", .ctrs = { "tl", NULL }, .restart = "-" },
	{ .name = "a startup failure or not ready is no liveness failure", .ctrs = { "pts", "pt", NULL },
	  .restart = "--" },
	{ .name = "draining: nothing restarts", .ctrs = { "ptl", "pl", NULL }, .draining = 1, .restart = "--" },
};

static void restart_table(void **state)
{
	size_t ci, i;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(restart_cases); ci++) {
		const struct restart_case *rc = &restart_cases[ci];
		struct decide_ctr v[MAXC];
		unsigned char restart[MAXC];
		char got[MAXC + 1];
		size_t n = ctrs_from(rc->ctrs, v), k, want = 0;

		print_message("case: %s\n", rc->name);
		memset(restart, 7, sizeof(restart));
		k = decide_restarts(v, n, rc->draining, restart);
		for (i = 0; i < n; i++) {
			got[i] = restart[i] == 1 ? 'x' : restart[i] == 0 ? '-' : '?';
			want += rc->restart[i] == 'x';
		}
		got[n] = '\0';
		if (strcmp(got, rc->restart) != 0)
			fail_msg("%s: restart %s, want %s", rc->name, got, rc->restart);
		if (k != want)
			fail_msg("%s: %zu restarts counted, want %zu", rc->name, k, want);
	}
}

/* ---------------------------------------------------------- deadline */

#define NONE (-1)

struct deadline_case {
	const char *name;
	struct decide_deadline_in in;
	const char *ctrs[MAXC];
	enum decide_failure want;
	int startup;	/* index of the container blamed for a startup failure, or NONE */
	int failing;	/* index of the container whose probe failure is quoted, or NONE */
};

static const struct deadline_case deadline_cases[] = {
	{ .name = "within the deadline: going",
	  .in = { .turn = 1, .now = 100000, .progress_at = 50000, .deadline_seconds = 60 },
	  .ctrs = { "pt", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = 0 },
	{ .name = "exactly at the deadline: still going",
	  .in = { .turn = 1, .now = 660000, .progress_at = 60000, .deadline_seconds = 600 },
	  .ctrs = { "ptr", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "a millisecond past the deadline: exceeded",
	  .in = { .turn = 1, .now = 660001, .progress_at = 60000, .deadline_seconds = 600 },
	  .ctrs = { "ptr", "pt", NULL }, .want = DECIDE_DEADLINE_EXCEEDED, .startup = NONE, .failing = 1 },
	{ .name = "past the deadline but complete: no failure",
	  .in = { .turn = 1, .complete = 1, .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pts", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "past the deadline but not its turn: no failure",
	  .in = { .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pts", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "past the deadline while rolling back: no failure",
	  .in = { .turn = 1, .held = 1, .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pts", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "a startup failure at the target fails at once, well within the deadline",
	  .in = { .turn = 1, .now = 1000, .progress_at = 0, .deadline_seconds = 600 },
	  .ctrs = { "ptr", "pts", NULL }, .want = DECIDE_STARTUP_FAILED, .startup = 1, .failing = 1 },
	{ .name = "a startup failure of the old revision does not count",
	  .in = { .turn = 1, .now = 1000, .progress_at = 0, .deadline_seconds = 600 },
	  .ctrs = { "ps", "ptr", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "a startup failure nobody probes does not count",
	  .in = { .turn = 1, .now = 1000, .progress_at = 0, .deadline_seconds = 600 },
	  .ctrs = { "ts", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
	{ .name = "startup failure and deadline both: the startup failure is the reason",
	  .in = { .turn = 1, .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pts", "pt", NULL }, .want = DECIDE_STARTUP_FAILED, .startup = 0, .failing = 1 },
	{ .name = "the last failing container at the target is quoted, not an old or a ready one",
	  .in = { .turn = 1, .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pt", "pt", "p", "ptr", NULL }, .want = DECIDE_DEADLINE_EXCEEDED, .startup = NONE,
	  .failing = 1 },
};

static void deadline_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(deadline_cases); ci++) {
		const struct deadline_case *dc = &deadline_cases[ci];
		struct decide_ctr v[MAXC];
		size_t n = ctrs_from(dc->ctrs, v), startup = 99, failing = 99;
		enum decide_failure f;
		size_t want_startup = dc->startup == NONE ? n : (size_t)dc->startup;
		size_t want_failing = dc->failing == NONE ? n : (size_t)dc->failing;

		print_message("case: %s\n", dc->name);
		f = decide_deadline(&dc->in, v, n, &startup, &failing);
		if (f != dc->want)
			fail_msg("%s: decision %d, want %d", dc->name, (int)f, (int)dc->want);
		/* Which containers are named matters only when the deployment fails. */
		if (f == DECIDE_GOING)
			continue;
		if (startup != want_startup)
			fail_msg("%s: startup failure blamed on %zu, want %zu", dc->name, startup, want_startup);
		if (failing != want_failing)
			fail_msg("%s: failing container %zu, want %zu", dc->name, failing, want_failing);
	}
}

/* --------------------------------------------------------- container */

#define BORN 1700000000000LL	/* wall ms the engine was made */

struct container_case {
	const char *name;
	struct decide_container_in in;
	int known, ready, available;
	int64_t healthy_since;
};

static const struct container_case container_cases[] = {
	{ .name = "stopped: known to be down",
	  .in = { .alive = 0, .probed = 1, .ready = 1, .ready_since_ms = 0, .now = 5000 },
	  .known = 1, .ready = 0, .available = 0 },
	{ .name = "running, nobody probes it: known, not ready",
	  .in = { .alive = 1, .ready = 1, .now = 5000 }, .known = 1, .ready = 0, .available = 0 },
	{ .name = "ready, no minReadySeconds: available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 4000, .now = 5000,
		  .created_ms = BORN + 1000, .born_wall_ms = BORN, .wall_now = BORN + 5000 },
	  .known = 1, .ready = 1, .available = 1 },
	{ .name = "ready for less than minReadySeconds: ready, not available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 4000, .min_ready_ms = 10000,
		  .now = 13999, .created_ms = BORN + 1000, .born_wall_ms = BORN, .wall_now = BORN + 20000 },
	  .known = 1, .ready = 1, .available = 0 },
	{ .name = "ready for exactly minReadySeconds: available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 4000, .min_ready_ms = 10000,
		  .now = 14000, .created_ms = BORN + 1000, .born_wall_ms = BORN, .wall_now = BORN + 20000 },
	  .known = 1, .ready = 1, .available = 1 },
	{ .name = "not ready, readiness never tried: not known yet",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready_since_ms = -1, .now = 5000 },
	  .known = 0, .ready = 0, .available = 0 },
	{ .name = "not ready after a readiness attempt: known down",
	  .in = { .alive = 1, .probed = 1, .started = 1, .readiness_attempts = 1, .ready_since_ms = -1, .now = 5000 },
	  .known = 1, .ready = 0, .available = 0 },
	{ .name = "no readiness probe and started: known",
	  .in = { .alive = 1, .probed = 1, .started = 1, .readiness_none = 1, .ready_since_ms = -1, .now = 5000 },
	  .known = 1, .ready = 0, .available = 0 },
	{ .name = "no readiness probe, startup still running: not known",
	  .in = { .alive = 1, .probed = 1, .readiness_none = 1, .ready_since_ms = -1, .now = 5000 },
	  .known = 0, .ready = 0, .available = 0 },
	{ .name = "startup failed: known down",
	  .in = { .alive = 1, .probed = 1, .startup_failed = 1, .ready_since_ms = -1, .now = 5000 },
	  .known = 1, .ready = 0, .available = 0 },
	{ .name = "healthcheck: first seen healthy, minReadySeconds starts now",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 100, .docker_health = 1,
		  .health = DECIDE_HEALTH_HEALTHY, .min_ready_ms = 3000, .now = 9000, .created_ms = BORN + 1,
		  .born_wall_ms = BORN, .wall_now = BORN + 60000 },
	  .known = 1, .ready = 1, .available = 0, .healthy_since = 9000 },
	{ .name = "healthcheck: healthy for minReadySeconds since first seen: available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 100, .docker_health = 1,
		  .health = DECIDE_HEALTH_HEALTHY, .healthy_since = 6000, .min_ready_ms = 3000, .now = 9000,
		  .created_ms = BORN + 1, .born_wall_ms = BORN, .wall_now = BORN + 60000 },
	  .known = 1, .ready = 1, .available = 1, .healthy_since = 6000 },
	{ .name = "healthcheck: unhealthy is known down and forgets when it was healthy",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 100, .docker_health = 1,
		  .health = DECIDE_HEALTH_UNHEALTHY, .healthy_since = 6000, .now = 9000 },
	  .known = 1, .ready = 0, .available = 0, .healthy_since = 0 },
	{ .name = "healthcheck: starting is not known yet, whatever the runner says",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .readiness_attempts = 3, .ready_since_ms = 100,
		  .docker_health = 1, .health = DECIDE_HEALTH_STARTING, .now = 9000 },
	  .known = 0, .ready = 0, .available = 0, .healthy_since = 0 },
	{ .name = "healthcheck: healthy but the startup probe not passed: not ready",
	  .in = { .alive = 1, .probed = 1, .ready_since_ms = -1, .docker_health = 1, .health = DECIDE_HEALTH_HEALTHY,
		  .now = 9000 },
	  .known = 1, .ready = 0, .available = 0, .healthy_since = 0 },
	{ .name = "made before the engine, ready, existed for minReadySeconds: available at once",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8000, .min_ready_ms = 30000,
		  .now = 9000, .created_ms = BORN - 60000, .born_wall_ms = BORN, .wall_now = BORN + 9000 },
	  .known = 1, .ready = 1, .available = 1 },
	{ .name = "made before the engine but younger than minReadySeconds: not yet",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8000, .min_ready_ms = 30000,
		  .now = 9000, .created_ms = BORN - 10000, .born_wall_ms = BORN, .wall_now = BORN + 9000 },
	  .known = 1, .ready = 1, .available = 0 },
	{ .name = "made after the engine: its ready time is known, no shortcut",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8000, .min_ready_ms = 30000,
		  .now = 9000, .created_ms = BORN + 1, .born_wall_ms = BORN, .wall_now = BORN + 600000 },
	  .known = 1, .ready = 1, .available = 0 },
	{ .name = "made before the engine but not ready: not available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .readiness_attempts = 1, .ready_since_ms = -1,
		  .now = 9000, .created_ms = BORN - 600000, .born_wall_ms = BORN, .wall_now = BORN + 9000 },
	  .known = 1, .ready = 0, .available = 0 },
};

static void container_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(container_cases); ci++) {
		const struct container_case *cc = &container_cases[ci];
		struct decide_verdict v;

		print_message("case: %s\n", cc->name);
		memset(&v, 0x5a, sizeof(v));
		decide_container(&cc->in, &v);
		if (v.known != cc->known || v.ready != cc->ready || v.available != cc->available)
			fail_msg("%s: known %d ready %d available %d, want %d %d %d", cc->name, v.known, v.ready,
				 v.available, cc->known, cc->ready, cc->available);
		/* Docker's healthy time is kept only for a healthcheck; otherwise it passes through. */
		if (v.healthy_since != (cc->in.docker_health ? cc->healthy_since : cc->in.healthy_since))
			fail_msg("%s: healthy since %lld, want %lld", cc->name, (long long)v.healthy_since,
				 (long long)(cc->in.docker_health ? cc->healthy_since : cc->in.healthy_since));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prune_table),
		cmocka_unit_test(restart_table),
		cmocka_unit_test(deadline_table),
		cmocka_unit_test(container_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
