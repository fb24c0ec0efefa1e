/*
 * Integration tests for what an httpGet probe promises beyond a plain GET, with the probes decoded
 * from a Deployment's YAML and run against a real server on 127.0.0.1: httpHeaders are sent (a
 * target that answers 200 only when the header is there passes with it and fails without), a
 * User-Agent the spec sets replaces the probe's own, and scheme: HTTPS speaks TLS to a
 * self-signed certificate made with openssl for another host name, which the probe does not
 * verify, as the kubelet does not: the target is the container itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testloop.h"
#include "testsh.h"
#include "error.h"
#include "probe/probe.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "spec.h"
#include "util.h"

#ifndef AURIGA_VERSION
#define AURIGA_VERSION "dev"
#endif

#define PLAIN_PORT 8080		/* the container ports the specs name; the server's ports stand behind them */
#define TLS_PORT 8443

static struct loop *L;
static struct http_client *H;
static char dir[256];		/* the test's own folder: certificate, key, server script, ports */
static char server_pid[32];
static int plain_port, tls_port;

/*
 * The target: one handler on a plain and a TLS listener. GET /token answers 200 only when the
 * request carries exactly one X-Probe-Token header with the value s3cret, 401 otherwise; GET
 * /agent/<value> answers 200 only when the request carries exactly one User-Agent, equal to the
 * (percent-decoded) value.
 */
static const char server_py[] =
	"import http.server, os, ssl, sys, threading, urllib.parse\n"
	"d = sys.argv[1]\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def do_GET(self):\n"
	"        if self.path == '/token':\n"
	"            ok = self.headers.get_all('X-Probe-Token') == ['s3cret']\n"
	"        elif self.path.startswith('/agent/'):\n"
	"            ok = self.headers.get_all('User-Agent') == [urllib.parse.unquote(self.path[7:])]\n"
	"        else:\n"
	"            ok = False\n"
	"        body = b'ok\\n' if ok else b'missing or wrong header\\n'\n"
	"        self.send_response(200 if ok else 401)\n"
	"        self.send_header('Content-Length', str(len(body)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(body)\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"plain = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
	"tls = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
	"ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
	"ctx.load_cert_chain(d + '/cert.pem', d + '/key.pem')\n"
	"tls.socket = ctx.wrap_socket(tls.socket, server_side=True)\n"
	"with open(d + '/ports.tmp', 'w') as f:\n"
	"    f.write('%d %d\\n' % (plain.server_address[1], tls.server_address[1]))\n"
	"os.rename(d + '/ports.tmp', d + '/ports')\n"
	"threading.Thread(target=plain.serve_forever, daemon=True).start()\n"
	"tls.serve_forever()\n";

/* ------------------------------------------------------------------ specs */

/* A Deployment with the plain and the TLS port, whose readiness probe is PROBE (indented YAML lines). */
#define DEPLOYMENT(probe)                                                             \
	"apiVersion: auriga.io/v1\n"                                                  \
	"kind: Deployment\n"                                                          \
	"metadata: {name: web}\n"                                                     \
	"spec:\n"                                                                     \
	"  template:\n"                                                               \
	"    image: auriga-demo-node:v1\n"                                            \
	"    ports: [{name: http, containerPort: 8080}, {name: https, containerPort: 8443}]\n" \
	"  probes:\n"                                                                 \
	"    readiness:\n"                                                            \
	"      periodSeconds: 1\n"                                                    \
	"      timeoutSeconds: 2\n"                                                   \
	"      failureThreshold: 1\n"                                                 \
	"      httpGet:\n" probe

struct probed {
	struct spec_set set;
	struct probe_runner *r;
};

static void on_change(struct probe_runner *r, const struct probe_state *st, unsigned changed, void *arg)
{
	(void)r;
	(void)st;
	(void)changed;
	(void)arg;
}

/* Decodes yaml as auriga does (decode, defaults, validation) and starts its readiness probe. */
static void start(struct probed *p, const char *yaml)
{
	struct probe_port ports[] = {
		{ .container_port = PLAIN_PORT, .target = { "127.0.0.1", plain_port } },
		{ .container_port = TLS_PORT, .target = { "127.0.0.1", tls_port } },
	};
	struct spec_diags d;
	struct error *err = NULL;
	struct probe_config cfg;

	spec_diags_init(&d);
	spec_set_init(&p->set, NULL, NULL);
	spec_set_load_buffer(&p->set, "web.yaml", yaml, strlen(yaml), &d);
	spec_set_finish(&p->set, &d);
	if (d.n > 0) {
		char *first = spec_diag_format(&d.v[0]), msg[512];

		snprintf(msg, sizeof(msg), "%s", first);
		free(first);
		spec_diags_release(&d);
		fail_msg("the spec is refused: %s", msg);
	}
	spec_diags_release(&d);
	assert_int_equal(p->set.n_deployments, 1);

	memset(&cfg, 0, sizeof(cfg));
	cfg.loop = L;
	cfg.http = H;
	cfg.container_id = "web-0";
	cfg.container = &p->set.deployments[0]->tmpl;
	cfg.probes = spec_deployment_probes(p->set.deployments[0]);
	cfg.ports = ports;
	cfg.n_ports = 2;
	cfg.on_change = on_change;
	p->r = probe_runner_new(&cfg, &err);
	if (p->r == NULL)
		fail_msg("probe_runner_new: %s", error_msg(err));
}

static void stop(struct probed *p)
{
	probe_runner_free(p->r);
	spec_set_release(&p->set);
}

/* Runs the loop until three readiness attempts have ended (or 20 s) and returns the state. */
static const struct probe_state *three_attempts(struct probed *p)
{
	int64_t end = now_ms() + 20000;

	while (probe_runner_state(p->r)->attempts[PROBE_READINESS] < 3 && now_ms() < end)
		loop_run_once(L, 100);
	assert_true(probe_runner_state(p->r)->attempts[PROBE_READINESS] >= 3);
	return probe_runner_state(p->r);
}

static void expect_contains(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("'%s' does not contain '%s'", s, part);
}

/* Ready after three attempts, each a success. */
static void expect_passes(struct probed *p)
{
	const struct probe_state *st = three_attempts(p);

	if (!st->ready || st->consecutive_ok[PROBE_READINESS] < 3)
		fail_msg("readiness failed: %s", st->last_failure);
}

/* Not ready after three attempts, the last failure saying why. */
static void expect_fails(struct probed *p, const char *why)
{
	const struct probe_state *st = three_attempts(p);

	assert_false(st->ready);
	expect_contains(st->last_failure, why);
}

/* ================================================================== headers */

static void header_sent_passes(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: http\n"
			     "        httpHeaders: [{name: X-Probe-Token, value: s3cret}]\n"));
	expect_passes(&p);
	stop(&p);
}

static void header_missing_fails(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: http\n"));
	expect_fails(&p, "readiness: GET http://127.0.0.1:");
	expect_contains(probe_runner_state(p.r)->last_failure, ": 401 missing or wrong header");
	stop(&p);
}

static void header_wrong_value_fails(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: http\n"
			     "        httpHeaders: [{name: X-Probe-Token, value: guess}]\n"));
	expect_fails(&p, ": 401 missing or wrong header");
	stop(&p);
}

/* Without a User-Agent of the spec's the probe names itself; with one, it sends that one alone. */
static void user_agent_own_then_the_specs(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /agent/auriga-probe%2F" AURIGA_VERSION "\n"
			     "        port: http\n"));
	expect_passes(&p);
	stop(&p);
	start(&p, DEPLOYMENT("        path: /agent/uptime-checker%2F2\n"
			     "        port: http\n"
			     "        httpHeaders: [{name: User-Agent, value: uptime-checker/2}]\n"));
	expect_passes(&p);
	stop(&p);
}

/* ================================================================== HTTPS */

/* A certificate nobody signed, for a name that is not 127.0.0.1: TLS is spoken, the peer not verified. */
static void https_self_signed_passes(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: https\n"
			     "        scheme: HTTPS\n"
			     "        httpHeaders: [{name: X-Probe-Token, value: s3cret}]\n"));
	expect_passes(&p);
	stop(&p);
}

/* The headers go over TLS as well: without one the TLS target answers 401. */
static void https_header_missing_fails(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: https\n"
			     "        scheme: HTTPS\n"));
	expect_fails(&p, "readiness: GET https://127.0.0.1:");
	expect_contains(probe_runner_state(p.r)->last_failure, ": 401 missing or wrong header");
	stop(&p);
}

/* The scheme is what the spec says: plain HTTP to the TLS port fails, and HTTPS to the plain port. */
static void scheme_is_the_specs(void **state)
{
	struct probed p;

	(void)state;
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: https\n"
			     "        httpHeaders: [{name: X-Probe-Token, value: s3cret}]\n"));
	expect_fails(&p, "readiness: GET http://127.0.0.1:");
	stop(&p);
	start(&p, DEPLOYMENT("        path: /token\n"
			     "        port: http\n"
			     "        scheme: HTTPS\n"
			     "        httpHeaders: [{name: X-Probe-Token, value: s3cret}]\n"));
	expect_fails(&p, "readiness: GET https://127.0.0.1:");
	stop(&p);
}

/* ================================================================== setup */

/* The server writes "PLAIN TLS" to DIR/ports once both listen. */
static int read_ports(void)
{
	char out[64];

	for (int64_t end = now_ms() + 15000; now_ms() < end; test_sleep_ms(100)) {
		char *sp, *e1, *e2;
		long a, b;

		if (test_sh(out, sizeof(out), "cat %s/ports 2>/dev/null", dir) != 0 || (sp = strchr(out, ' ')) == NULL)
			continue;
		a = strtol(out, &e1, 10);
		b = strtol(sp + 1, &e2, 10);
		if (e1 == sp && *e2 == '\0' && a > 0 && a <= 65535 && b > 0 && b <= 65535) {
			plain_port = (int)a;
			tls_port = (int)b;
			return 0;
		}
	}
	return -1;
}

static int group_setup(void **state)
{
	FILE *f;
	char path[300];
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/auriga-test_probe_http.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	rc = test_sh(NULL, 0, "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=not-this-host.invalid "
			      "-keyout %s/key.pem -out %s/cert.pem >%s/openssl.log 2>&1", dir, dir, dir);
	if (rc != 0) {
		fprintf(stderr, "openssl could not make a certificate (see %s/openssl.log)\n", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/server.py", dir);
	f = fopen(path, "w");
	if (f == NULL || fputs(server_py, f) < 0 || fclose(f) != 0)
		return -1;
	rc = test_sh(server_pid, sizeof(server_pid), "python3 %s/server.py %s >%s/server.log 2>&1 & echo $!", dir, dir,
		     dir);
	if (rc != 0 || read_ports() < 0) {
		fprintf(stderr, "the test server did not start (see %s/server.log)\n", dir);
		return -1;
	}
	return test_loop_new(&L, &H);
}

static int group_teardown(void **state)
{
	(void)state;
	test_loop_free(L, H);
	if (server_pid[0])
		test_sh(NULL, 0, "kill %s", server_pid);
	test_sh(NULL, 0, "rm -rf %s", dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_sent_passes),
		cmocka_unit_test(header_missing_fails),
		cmocka_unit_test(header_wrong_value_fails),
		cmocka_unit_test(user_agent_own_then_the_specs),
		cmocka_unit_test(https_self_signed_passes),
		cmocka_unit_test(https_header_missing_fails),
		cmocka_unit_test(scheme_is_the_specs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
