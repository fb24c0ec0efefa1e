/* Unit tests for the engine's pure decisions, from tables: prune, restarts, failure, readiness, turns, rollback, progress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/decide.h"
#include "testmain.h"
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
	{ .name = "long past the deadline but paused by hand: no failure",
	  .in = { .turn = 1, .paused = 1, .now = 900000, .progress_at = 0, .deadline_seconds = 60 },
	  .ctrs = { "pt", NULL }, .want = DECIDE_GOING, .startup = NONE, .failing = NONE },
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
	int64_t available_at;	/* when a pass should come for it: ready, minReadySeconds not yet out */
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
	  .known = 1, .ready = 1, .available = 0, .available_at = 14000 },
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
	  .known = 1, .ready = 1, .available = 0, .healthy_since = 9000, .available_at = 12000 },
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
	{ .name = "healthcheck, exec first: the runner's first pass before Docker's first check: ready since then",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8500, .docker_health = 1,
		  .exec_first = 1, .health = DECIDE_HEALTH_STARTING, .min_ready_ms = 1000, .now = 9000,
		  .created_ms = BORN + 1, .born_wall_ms = BORN, .wall_now = BORN + 60000 },
	  .known = 1, .ready = 1, .available = 0, .healthy_since = 8500, .available_at = 9500 },
	{ .name = "healthcheck, exec first: ready for minReadySeconds since the runner's pass: available",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8500, .docker_health = 1,
		  .exec_first = 1, .health = DECIDE_HEALTH_STARTING, .healthy_since = 8500, .min_ready_ms = 1000,
		  .now = 9600, .created_ms = BORN + 1, .born_wall_ms = BORN, .wall_now = BORN + 60000 },
	  .known = 1, .ready = 1, .available = 1, .healthy_since = 8500 },
	{ .name = "healthcheck, exec first: not passed yet and Docker not checked: not known",
	  .in = { .alive = 1, .probed = 1, .ready_since_ms = -1, .docker_health = 1, .exec_first = 1,
		  .health = DECIDE_HEALTH_STARTING, .now = 9000 },
	  .known = 0, .ready = 0, .available = 0, .healthy_since = 0 },
	{ .name = "healthcheck, exec first: Docker's unhealthy wins over the runner's first pass",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8500, .docker_health = 1,
		  .exec_first = 1, .health = DECIDE_HEALTH_UNHEALTHY, .healthy_since = 8500, .now = 9000 },
	  .known = 1, .ready = 0, .available = 0, .healthy_since = 0 },
	{ .name = "healthcheck, exec first: Docker healthy before the runner's first pass: ready (a fleet found)",
	  .in = { .alive = 1, .probed = 1, .ready_since_ms = -1, .docker_health = 1, .exec_first = 1,
		  .health = DECIDE_HEALTH_HEALTHY, .now = 9000 },
	  .known = 1, .ready = 1, .available = 1, .healthy_since = 9000 },
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
	  .known = 1, .ready = 1, .available = 0, .available_at = 38000 },
	{ .name = "made in the engine's first second (Docker's time is in seconds): not before it, no shortcut",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8800, .min_ready_ms = 1000,
		  .now = 9000, .created_ms = BORN, .born_wall_ms = BORN + 600, .wall_now = BORN + 1200 },
	  .known = 1, .ready = 1, .available = 0, .available_at = 9800 },
	{ .name = "made after the engine: its ready time is known, no shortcut",
	  .in = { .alive = 1, .probed = 1, .started = 1, .ready = 1, .ready_since_ms = 8000, .min_ready_ms = 30000,
		  .now = 9000, .created_ms = BORN + 1, .born_wall_ms = BORN, .wall_now = BORN + 600000 },
	  .known = 1, .ready = 1, .available = 0, .available_at = 38000 },
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
		/* The next pass is due when its minReadySeconds run out, and only then. */
		if (v.available_at != cc->available_at)
			fail_msg("%s: available at %lld, want %lld", cc->name, (long long)v.available_at,
				 (long long)cc->available_at);
	}
}

/* ------------------------------------------------------------- gate */

/*
 * phase: one digit per deployment, in the specs' order; reached: '+' healthy
 * at its desired revision; deps: indices of self's dependsOn, 'x' one not in
 * the specs.
 */
struct gate_case {
	const char *name;
	const char *phase, *reached, *deps;
	size_t self, reach_ok;
	int want;		/* index of the deployment waited for, or NONE */
	size_t want_reach_ok;
};

static const struct gate_case gate_cases[] = {
	{ .name = "the first phase waits for nobody", .phase = "0011", .reached = "----", .deps = "", .self = 0,
	  .want = NONE, .want_reach_ok = 0 },
	{ .name = "an earlier phase not reached: waits for its first deployment not reached", .phase = "0011",
	  .reached = "+---", .deps = "", .self = 2, .want = 1, .want_reach_ok = 1 },
	{ .name = "every earlier phase reached: its turn", .phase = "0011", .reached = "++--", .deps = "", .self = 2,
	  .want = NONE, .want_reach_ok = 2 },
	{ .name = "its own phase does not hold it back", .phase = "0011", .reached = "++--", .deps = "", .self = 3,
	  .want = NONE, .want_reach_ok = 2 },
	{ .name = "two earlier phases: the first not reached in the specs' order is named", .phase = "0012",
	  .reached = "-+--", .deps = "", .self = 3, .want = 0, .want_reach_ok = 0 },
	{ .name = "a dependsOn in its own phase not reached: waits for it", .phase = "0000", .reached = "----",
	  .deps = "0", .self = 2, .want = 0, .want_reach_ok = 0 },
	{ .name = "a dependsOn reached: its turn", .phase = "0000", .reached = "-+--", .deps = "1", .self = 2,
	  .want = NONE, .want_reach_ok = 0 },
	{ .name = "an earlier phase and a dependsOn: the one first in the specs' order is named", .phase = "0112",
	  .reached = "----", .deps = "2", .self = 3, .want = 0, .want_reach_ok = 0 },
	{ .name = "two dependsOn not reached: the first in the specs' order is named", .phase = "00000",
	  .reached = "-----", .deps = "32", .self = 4, .want = 2, .want_reach_ok = 0 },
	{ .name = "a dependsOn on itself is no wait", .phase = "0000", .reached = "----", .deps = "1", .self = 1,
	  .want = NONE, .want_reach_ok = 0 },
	{ .name = "a dependsOn not in the specs is no wait", .phase = "0000", .reached = "----", .deps = "x",
	  .self = 1, .want = NONE, .want_reach_ok = 0 },
	{ .name = "the prefix found reached earlier in the pass is not asked again", .phase = "0011",
	  .reached = "----", .deps = "", .self = 3, .reach_ok = 2, .want = NONE, .want_reach_ok = 2 },
	{ .name = "the reached prefix stops at the first deployment not reached", .phase = "0001", .reached = "+-+-",
	  .deps = "", .self = 3, .want = 1, .want_reach_ok = 1 },
};

static int gate_reached(const void *arg, size_t i)
{
	const char *reached = arg;

	return reached[i] == '+';
}

static void gate_table(void **state)
{
	size_t ci, i;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(gate_cases); ci++) {
		const struct gate_case *gc = &gate_cases[ci];
		struct decide_gate_in g;
		int phase[MAXC];
		size_t deps[MAXC], n = strlen(gc->phase), reach_ok = gc->reach_ok, got, want;

		print_message("case: %s\n", gc->name);
		for (i = 0; i < n; i++)
			phase[i] = gc->phase[i] - '0';
		for (i = 0; gc->deps[i]; i++)
			deps[i] = gc->deps[i] == 'x' ? n : (size_t)(gc->deps[i] - '0');
		memset(&g, 0, sizeof(g));
		g.phase = phase;
		g.n = n;
		g.self = gc->self;
		g.depends_on = deps;
		g.n_depends_on = i;
		g.reached = gate_reached;
		g.arg = gc->reached;
		got = decide_blocker(&g, &reach_ok);
		want = gc->want == NONE ? n : (size_t)gc->want;
		if (got != want)
			fail_msg("%s: waits for %zu, want %zu", gc->name, got, want);
		if (reach_ok != gc->want_reach_ok)
			fail_msg("%s: reached prefix %zu, want %zu", gc->name, reach_ok, gc->want_reach_ok);
	}
}

/* rolling: 'r' returned to its healthy revision and not there yet. */
struct later_case {
	const char *name;
	const char *phase, *rolling;
	size_t self;
	int want;
};

static const struct later_case later_cases[] = {
	{ .name = "a later phase still rolling back holds this rollback", .phase = "012", .rolling = "--r",
	  .self = 1, .want = 1 },
	{ .name = "an earlier phase rolling back does not hold it", .phase = "012", .rolling = "r--", .self = 1,
	  .want = 0 },
	{ .name = "its own phase rolling back does not hold it", .phase = "011", .rolling = "--r", .self = 1,
	  .want = 0 },
	{ .name = "the last phase goes back first", .phase = "012", .rolling = "rr-", .self = 2, .want = 0 },
};

static void later_table(void **state)
{
	size_t ci, i;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(later_cases); ci++) {
		const struct later_case *lc = &later_cases[ci];
		int phase[MAXC];
		unsigned char rolling[MAXC];
		size_t n = strlen(lc->phase);
		int got;

		print_message("case: %s\n", lc->name);
		for (i = 0; i < n; i++) {
			phase[i] = lc->phase[i] - '0';
			rolling[i] = lc->rolling[i] == 'r';
		}
		got = decide_later_rollback(phase, rolling, n, lc->self);
		if (got != lc->want)
			fail_msg("%s: later rollback pending %d, want %d", lc->name, got, lc->want);
	}
}

struct turn_case {
	const char *name;
	struct decide_turn_in in;
	int turn;
	enum decide_roll roll;
};

static const struct turn_case turn_cases[] = {
	{ .name = "nothing to wait for: its turn, towards the target", .in = { .has_healthy = 1 }, .turn = 1,
	  .roll = DECIDE_ROLL_TARGET },
	{ .name = "waiting, a healthy revision known: it keeps that one running", .in = { .waiting = 1,
	  .has_healthy = 1 }, .turn = 0, .roll = DECIDE_ROLL_HEALTHY },
	{ .name = "waiting on its first rollout: nothing to keep, nothing changes", .in = { .waiting = 1 },
	  .turn = 0, .roll = DECIDE_ROLL_NONE },
	{ .name = "failed with nothing to return to: stopped, even with a healthy revision on record",
	  .in = { .failed = 1, .has_healthy = 1 }, .turn = 0, .roll = DECIDE_ROLL_NONE },
	{ .name = "failed on its first rollout: stopped", .in = { .failed = 1 }, .turn = 0,
	  .roll = DECIDE_ROLL_NONE },
	{ .name = "held at its healthy revision, no later phase rolling back: its turn to return",
	  .in = { .held = 1, .has_healthy = 1 }, .turn = 1, .roll = DECIDE_ROLL_TARGET },
	{ .name = "held while a later phase rolls back: not its turn, still towards the held revision",
	  .in = { .held = 1, .later_rollback = 1, .has_healthy = 1 }, .turn = 0, .roll = DECIDE_ROLL_TARGET },
	{ .name = "held: an earlier phase not reached does not stop a return", .in = { .held = 1, .waiting = 1 },
	  .turn = 1, .roll = DECIDE_ROLL_TARGET },
};

static void turn_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(turn_cases); ci++) {
		const struct turn_case *tc = &turn_cases[ci];
		struct decide_turn out;

		print_message("case: %s\n", tc->name);
		memset(&out, 0x5a, sizeof(out));
		decide_turn(&tc->in, &out);
		if (out.turn != tc->turn || out.roll != tc->roll)
			fail_msg("%s: turn %d roll %d, want %d %d", tc->name, out.turn, (int)out.roll, tc->turn,
				 (int)tc->roll);
	}
}

/* --------------------------------------------------------- rollback */

struct rollback_case {
	const char *name;
	struct decide_rollback_in in;
	enum decide_back want;
};

static const struct rollback_case rollback_cases[] = {
	{ .name = "failing with autoRollback and an older healthy revision: back to it",
	  .in = { .automatic = 1, .auto_rollback = 1, .rev = "bbb", .healthy_rev = "aaa" },
	  .want = DECIDE_BACK_HEALTHY },
	{ .name = "failing without autoRollback: it stops",
	  .in = { .automatic = 1, .rev = "bbb", .healthy_rev = "aaa" }, .want = DECIDE_BACK_NONE },
	{ .name = "by hand without autoRollback: back to the healthy revision",
	  .in = { .rev = "bbb", .healthy_rev = "aaa" }, .want = DECIDE_BACK_HEALTHY },
	{ .name = "the last healthy revision is the failed one: the one before it",
	  .in = { .rev = "bbb", .healthy_rev = "bbb", .previous_rev = "aaa" }, .want = DECIDE_BACK_PREVIOUS },
	{ .name = "the last healthy revision wins over the one before",
	  .in = { .automatic = 1, .auto_rollback = 1, .rev = "ccc", .healthy_rev = "bbb", .previous_rev = "aaa" },
	  .want = DECIDE_BACK_HEALTHY },
	{ .name = "healthy is the failed one and nothing before: nothing to return to",
	  .in = { .automatic = 1, .auto_rollback = 1, .rev = "bbb", .healthy_rev = "bbb" },
	  .want = DECIDE_BACK_NONE },
	{ .name = "healthy and the one before both the failed revision: nothing to return to",
	  .in = { .rev = "bbb", .healthy_rev = "bbb", .previous_rev = "bbb" }, .want = DECIDE_BACK_NONE },
	{ .name = "a first release that fails: nothing known to return to",
	  .in = { .automatic = 1, .auto_rollback = 1, .rev = "aaa" }, .want = DECIDE_BACK_NONE },
	{ .name = "no healthy record but one before it: back to that one",
	  .in = { .automatic = 1, .auto_rollback = 1, .rev = "ccc", .previous_rev = "aaa" },
	  .want = DECIDE_BACK_PREVIOUS },
};

static void rollback_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(rollback_cases); ci++) {
		const struct rollback_case *rc = &rollback_cases[ci];
		enum decide_back got;

		print_message("case: %s\n", rc->name);
		got = decide_rollback(&rc->in);
		if (got != rc->want)
			fail_msg("%s: back to %d, want %d", rc->name, (int)got, (int)rc->want);
	}
}

struct cascade_case {
	const char *name;
	struct decide_cascade_in in;
	int want;
};

static const struct cascade_case cascade_cases[] = {
	{ .name = "a later phase already on its new revision goes back with the failed one",
	  .in = { .failed_phase = 0, .phase = 1, .runs_new = 1 }, .want = 1 },
	{ .name = "a later phase that has not moved yet stays",
	  .in = { .failed_phase = 0, .phase = 1 }, .want = 0 },
	{ .name = "the same phase stays", .in = { .failed_phase = 1, .phase = 1, .runs_new = 1 }, .want = 0 },
	{ .name = "an earlier phase stays", .in = { .failed_phase = 2, .phase = 1, .runs_new = 1 }, .want = 0 },
	{ .name = "one already going back is not sent again",
	  .in = { .failed_phase = 0, .phase = 2, .rolled_back = 1, .runs_new = 1 }, .want = 0 },
	{ .name = "one stopped after its own failure is not sent again",
	  .in = { .failed_phase = 0, .phase = 2, .failed = 1, .runs_new = 1 }, .want = 0 },
};

static void cascade_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(cascade_cases); ci++) {
		const struct cascade_case *cc = &cascade_cases[ci];
		int got;

		print_message("case: %s\n", cc->name);
		got = decide_cascade(&cc->in);
		if (got != cc->want)
			fail_msg("%s: goes back %d, want %d", cc->name, got, cc->want);
	}
}

/* --------------------------------------------------------- progress */

#define LNOW 100000LL			/* loop ms of the pass */
#define WNOW (BORN + 500000LL)		/* wall ms of the pass */

struct progress_case {
	const char *name;
	struct decide_progress_in in;
	int64_t progress_at, started_at;
	int finished_reset;
	enum decide_record record;
};

static const struct progress_case progress_cases[] = {
	{ .name = "its turn comes: progress from now, the rollout starts",
	  .in = { .turn = 1, .now = LNOW, .progress_at = 5000, .wall = WNOW },
	  .progress_at = LNOW, .started_at = WNOW, .record = DECIDE_RECORD_NOW },
	{ .name = "its turn comes again: the start already known stays",
	  .in = { .turn = 1, .now = LNOW, .progress_at = 5000, .wall = WNOW, .started_at = BORN },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_NOW },
	{ .name = "its turn comes to a complete deployment: no start, its record forgotten",
	  .in = { .turn = 1, .complete = 1, .now = LNOW, .progress_at = 5000, .wall = WNOW },
	  .progress_at = LNOW, .started_at = 0, .record = DECIDE_RECORD_FORGET },
	{ .name = "nothing moved: progress stays where it was",
	  .in = { .turn = 1, .was_turn = 1, .updated = 2, .available = 1, .last_updated = 2, .last_available = 1,
		  .now = LNOW, .progress_at = 50000, .wall = WNOW, .started_at = BORN, .recorded = WNOW - 50000 },
	  .progress_at = 50000, .started_at = BORN, .record = DECIDE_RECORD_KEEP },
	{ .name = "one more container updated is progress",
	  .in = { .turn = 1, .was_turn = 1, .updated = 3, .available = 1, .last_updated = 2, .last_available = 1,
		  .now = LNOW, .progress_at = 50000, .wall = WNOW, .started_at = BORN, .recorded = WNOW - 50000 },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_NOW },
	{ .name = "one more container available is progress",
	  .in = { .turn = 1, .was_turn = 1, .updated = 2, .available = 2, .last_updated = 2, .last_available = 1,
		  .now = LNOW, .progress_at = 50000, .wall = WNOW, .started_at = BORN, .recorded = WNOW - 50000 },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_NOW },
	{ .name = "fewer available is no progress",
	  .in = { .turn = 1, .was_turn = 1, .updated = 2, .available = 0, .last_updated = 2, .last_available = 1,
		  .now = LNOW, .progress_at = 50000, .wall = WNOW, .started_at = BORN, .recorded = WNOW - 50000 },
	  .progress_at = 50000, .started_at = BORN, .record = DECIDE_RECORD_KEEP },
	{ .name = "progress recorded less than a second ago is not written again",
	  .in = { .turn = 1, .was_turn = 1, .updated = 3, .last_updated = 2, .now = LNOW, .progress_at = 50000,
		  .wall = WNOW, .started_at = BORN, .recorded = WNOW - 999 },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_KEEP },
	{ .name = "progress recorded a second ago is written again",
	  .in = { .turn = 1, .was_turn = 1, .updated = 3, .last_updated = 2, .now = LNOW, .progress_at = 50000,
		  .wall = WNOW, .started_at = BORN, .recorded = WNOW - 1000 },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_NOW },
	{ .name = "a complete deployment that lost a container starts a new deadline",
	  .in = { .turn = 1, .was_turn = 1, .was_complete = 1, .updated = 3, .available = 2, .last_updated = 3,
		  .last_available = 3, .now = LNOW, .progress_at = 5000, .wall = WNOW, .started_at = BORN },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_NOW },
	{ .name = "complete and staying so: the record is forgotten, the deadline not touched",
	  .in = { .turn = 1, .was_turn = 1, .complete = 1, .was_complete = 1, .updated = 3, .available = 3,
		  .last_updated = 3, .last_available = 3, .now = LNOW, .progress_at = 5000, .wall = WNOW,
		  .started_at = BORN },
	  .progress_at = 5000, .started_at = BORN, .record = DECIDE_RECORD_FORGET },
	{ .name = "a new target: a new rollout, from now",
	  .in = { .turn = 1, .was_turn = 1, .retarget = 1, .updated = 0, .available = 3, .last_updated = 3,
		  .last_available = 3, .now = LNOW, .progress_at = 5000, .wall = WNOW, .started_at = BORN },
	  .progress_at = LNOW, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_NOW },
	{ .name = "a restart in the middle of a rollout: the deadline runs on from the state file's record",
	  .in = { .turn = 1, .retarget = 1, .updated = 2, .available = 2, .now = LNOW, .wall = WNOW,
		  .recorded = WNOW - 30000 },
	  .progress_at = LNOW - 30000, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_KEEP },
	{ .name = "a restart with a record from the future (the clock went back): from now, the record kept",
	  .in = { .turn = 1, .retarget = 1, .updated = 2, .available = 2, .now = LNOW, .wall = WNOW,
		  .recorded = WNOW + 30000 },
	  .progress_at = LNOW, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_KEEP },
	{ .name = "a restart of a complete deployment does not take its old record",
	  .in = { .turn = 1, .retarget = 1, .complete = 1, .updated = 3, .available = 3, .now = LNOW, .wall = WNOW,
		  .recorded = WNOW - 30000 },
	  .progress_at = LNOW, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_FORGET },
	{ .name = "paused: counted as progress on every pass, but not recorded",
	  .in = { .turn = 1, .was_turn = 1, .paused = 1, .updated = 2, .available = 2, .last_updated = 2,
		  .last_available = 2, .now = LNOW, .progress_at = 5000, .wall = WNOW, .started_at = BORN,
		  .recorded = WNOW - 50000 },
	  .progress_at = LNOW, .started_at = BORN, .record = DECIDE_RECORD_KEEP },
	{ .name = "paused after a restart: from now, whatever the record says",
	  .in = { .turn = 1, .retarget = 1, .paused = 1, .updated = 2, .available = 2, .now = LNOW, .wall = WNOW,
		  .recorded = WNOW - 30000 },
	  .progress_at = LNOW, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_KEEP },
	{ .name = "paused but complete: the record is forgotten as for any complete deployment",
	  .in = { .turn = 1, .was_turn = 1, .paused = 1, .complete = 1, .was_complete = 1, .updated = 3,
		  .available = 3, .last_updated = 3, .last_available = 3, .now = LNOW, .progress_at = 5000,
		  .wall = WNOW, .started_at = BORN },
	  .progress_at = 5000, .started_at = BORN, .record = DECIDE_RECORD_FORGET },
	{ .name = "a restart with nothing recorded: from now, recorded now",
	  .in = { .turn = 1, .retarget = 1, .updated = 1, .now = LNOW, .wall = WNOW },
	  .progress_at = LNOW, .started_at = WNOW, .finished_reset = 1, .record = DECIDE_RECORD_NOW },
};

static void progress_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(progress_cases); ci++) {
		const struct progress_case *pc = &progress_cases[ci];
		struct decide_progress out;

		print_message("case: %s\n", pc->name);
		memset(&out, 0x5a, sizeof(out));
		decide_progress(&pc->in, &out);
		if (out.progress_at != pc->progress_at)
			fail_msg("%s: progress at %lld, want %lld", pc->name, (long long)out.progress_at,
				 (long long)pc->progress_at);
		if (out.started_at != pc->started_at || out.finished_reset != pc->finished_reset)
			fail_msg("%s: started %lld finished reset %d, want %lld %d", pc->name,
				 (long long)out.started_at, out.finished_reset, (long long)pc->started_at,
				 pc->finished_reset);
		/* The counts seen are carried to the next pass. */
		if (out.last_updated != pc->in.updated || out.last_available != pc->in.available)
			fail_msg("%s: carried %d/%d, want %d/%d", pc->name, out.last_updated, out.last_available,
				 pc->in.updated, pc->in.available);
		if (out.record != pc->record)
			fail_msg("%s: record %d, want %d", pc->name, (int)out.record, (int)pc->record);
	}
}

/*
 * A controller killed -9 at some step of a rollout and started again: its
 * records are fresh (no turn, no target, nothing counted), the state file
 * has what it wrote before dying, and the containers are observed as they
 * are. The first pass's turn, progress and failure verdict.
 */
struct resume_case {
	const char *name;
	int held;			/* the state file records the release failed */
	int64_t recorded_ago;		/* ms since the recorded progress; NONE: no record */
	int complete;			/* the step finds the deployment complete */
	int updated, available;
	const char *ctrs[MAXC];
	enum decide_failure want;
	int64_t want_progress_ago;	/* ms before now the deadline counts from */
};

static const struct resume_case resume_cases[] = {
	{ .name = "killed before the first container moved: the deadline runs on", .recorded_ago = 10000,
	  .updated = 0, .available = 3, .ctrs = { "pr", "pr", "pr", NULL }, .want = DECIDE_GOING,
	  .want_progress_ago = 10000 },
	{ .name = "killed mid-rollout with the deadline nearly spent: still going", .recorded_ago = 59000,
	  .updated = 2, .available = 2, .ctrs = { "ptr", "ptr", "pt", NULL }, .want = DECIDE_GOING,
	  .want_progress_ago = 59000 },
	{ .name = "killed mid-rollout and down past the deadline: fails at the first pass", .recorded_ago = 61000,
	  .updated = 2, .available = 2, .ctrs = { "ptr", "ptr", "pt", NULL }, .want = DECIDE_DEADLINE_EXCEEDED,
	  .want_progress_ago = 61000 },
	{ .name = "killed after it completed (record forgotten): a new deadline, not a stalled one",
	  .recorded_ago = NONE, .updated = 3, .available = 0, .ctrs = { "pt", "pt", "pt", NULL },
	  .want = DECIDE_GOING, .want_progress_ago = 0 },
	{ .name = "killed just as it completed, the record still there: complete, no failure",
	  .recorded_ago = 600000, .complete = 1, .updated = 3, .available = 3, .ctrs = { "ptr", "ptr", "ptr", NULL },
	  .want = DECIDE_GOING, .want_progress_ago = 0 },
	{ .name = "killed while returning to the healthy revision: the return has no deadline", .held = 1,
	  .recorded_ago = 600000, .updated = 1, .available = 1, .ctrs = { "ptr", "p", NULL },
	  .want = DECIDE_GOING, .want_progress_ago = 600000 },
	{ .name = "killed with a container failing its startup probe: fails at once", .recorded_ago = 1000,
	  .updated = 1, .available = 2, .ctrs = { "pr", "pr", "pts", NULL }, .want = DECIDE_STARTUP_FAILED,
	  .want_progress_ago = 1000 },
};

static void resume_table(void **state)
{
	size_t ci;

	(void)state;
	for (ci = 0; ci < ARRAY_SIZE(resume_cases); ci++) {
		const struct resume_case *rc = &resume_cases[ci];
		struct decide_turn_in ti = { .held = rc->held, .has_healthy = 1 };
		struct decide_turn to;
		struct decide_progress_in pi;
		struct decide_progress po;
		struct decide_deadline_in di;
		struct decide_ctr v[MAXC];
		size_t n = ctrs_from(rc->ctrs, v), startup, failing;
		enum decide_failure f;

		print_message("case: %s\n", rc->name);
		decide_turn(&ti, &to);
		memset(&pi, 0, sizeof(pi));
		pi.turn = to.turn;
		pi.retarget = 1;	/* a fresh record has no target */
		pi.complete = rc->complete;
		pi.updated = rc->updated;
		pi.available = rc->available;
		pi.now = LNOW;
		pi.wall = WNOW;
		pi.recorded = rc->recorded_ago == NONE ? 0 : WNOW - rc->recorded_ago;
		decide_progress(&pi, &po);
		if (LNOW - po.progress_at != rc->want_progress_ago)
			fail_msg("%s: deadline counts from %lld ms ago, want %lld", rc->name,
				 (long long)(LNOW - po.progress_at), (long long)rc->want_progress_ago);
		memset(&di, 0, sizeof(di));
		di.turn = to.turn;
		di.held = rc->held;
		di.complete = rc->complete;
		di.now = LNOW;
		di.progress_at = po.progress_at;
		di.deadline_seconds = 60;
		f = decide_deadline(&di, v, n, &startup, &failing);
		if (f != rc->want)
			fail_msg("%s: decision %d, want %d", rc->name, (int)f, (int)rc->want);
	}
}

TEST_MAIN(
	cmocka_unit_test(prune_table),
	cmocka_unit_test(restart_table),
	cmocka_unit_test(deadline_table),
	cmocka_unit_test(container_table),
	cmocka_unit_test(gate_table),
	cmocka_unit_test(later_table),
	cmocka_unit_test(turn_table),
	cmocka_unit_test(rollback_table),
	cmocka_unit_test(cascade_table),
	cmocka_unit_test(progress_table),
	cmocka_unit_test(resume_table))
