/* spec_probes_equal: whether a probe runner made for one deployment's probes serves another's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "spec.h"
#include "testmain.h"
#include "util.h"

static char path_a[] = "/q/health/ready", path_b[] = "/q/health/live", port[] = "http";
static char cmd0[] = "/node", cmd1[] = "check", cmd1b[] = "probe";
static char *cmd_a[] = { cmd0, cmd1 }, *cmd_b[] = { cmd0, cmd1b };

static void http_probes(struct spec_probes *p)
{
	memset(p, 0, sizeof(*p));
	p->readiness.kind = SPEC_PROBE_HTTP;
	p->readiness.http_path = path_a;
	p->readiness.port.name = port;
	p->readiness.period_seconds = 1;
	p->readiness.timeout_seconds = 1;
	p->readiness.success_threshold = 1;
	p->readiness.failure_threshold = 3;
	p->liveness.kind = SPEC_PROBE_EXEC;
	p->liveness.exec_command = cmd_a;
	p->liveness.n_exec_command = 2;
	p->liveness.period_seconds = 10;
}

static void change_period(struct spec_probes *p) { p->readiness.period_seconds = 2; }
static void change_path(struct spec_probes *p) { p->readiness.http_path = path_b; }
static void change_port(struct spec_probes *p) { p->readiness.port.name = NULL; p->readiness.port.number = 9003; }
static void change_command(struct spec_probes *p) { p->liveness.exec_command = cmd_b; }
static void add_startup(struct spec_probes *p) { p->startup.kind = SPEC_PROBE_TCP; p->startup.port.number = 9003; }
static void same(struct spec_probes *p) { (void)p; }

static const struct {
	const char *what;
	void (*change)(struct spec_probes *p);
	int equal;
} rows[] = {
	{ "the same settings", same, 1 },
	{ "another period", change_period, 0 },
	{ "another path", change_path, 0 },
	{ "a port by number instead of by name", change_port, 0 },
	{ "another exec command", change_command, 0 },
	{ "a startup probe added", add_startup, 0 },
};

static void probes_equal_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct spec_probes a, b;

		http_probes(&a);
		http_probes(&b);
		rows[i].change(&b);
		if (spec_probes_equal(&a, &b) != rows[i].equal || spec_probes_equal(&b, &a) != rows[i].equal)
			fail_msg("%s: equal %d, want %d", rows[i].what, spec_probes_equal(&a, &b), rows[i].equal);
	}
}

TEST_MAIN(cmocka_unit_test(probes_equal_rows))
