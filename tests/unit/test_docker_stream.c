/* Unit tests for the Docker client's pure parts: stream demultiplexing, event parsing, filters, the create body, versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "testmain.h"

static size_t frame(char *dst, int stream, const char *payload)
{
	size_t n = strlen(payload);

	dst[0] = (char)stream;
	dst[1] = dst[2] = dst[3] = 0;
	dst[4] = (char)(n >> 24);
	dst[5] = (char)(n >> 16);
	dst[6] = (char)(n >> 8);
	dst[7] = (char)n;
	memcpy(dst + 8, payload, n);
	return n + 8;
}

static void demux_any_chunking(void **state)
{
	char in[256];
	size_t n = 0, chunk;

	(void)state;
	n += frame(in + n, 1, "hello ");
	n += frame(in + n, 2, "oops\n");
	n += frame(in + n, 1, "world\n");
	/* Every chunk size from 1 byte to all at once gives the same streams. */
	for (chunk = 1; chunk <= n; chunk++) {
		struct docker_demux m;
		struct buf out = BUF_INIT_MAX(1024), err = BUF_INIT_MAX(1024);
		size_t off;

		docker_demux_init(&m);
		for (off = 0; off < n; off += chunk)
			assert_int_equal(docker_demux_feed(&m, in + off, off + chunk > n ? n - off : chunk, &out, &err), 0);
		assert_true(docker_demux_complete(&m));
		assert_string_equal(out.data, "hello world\n");
		assert_string_equal(err.data, "oops\n");
		buf_release(&out);
		buf_release(&err);
	}
}

static void demux_cut_short_and_bounds(void **state)
{
	char in[64];
	size_t n = frame(in, 1, "0123456789");
	struct docker_demux m;
	struct buf out = BUF_INIT_MAX(4), err = BUF_INIT_MAX(64);

	(void)state;
	docker_demux_init(&m);
	assert_int_equal(docker_demux_feed(&m, in, n - 3, &err, &out), 0);
	assert_false(docker_demux_complete(&m));	/* truncated inside the frame */
	docker_demux_init(&m);
	assert_int_equal(docker_demux_feed(&m, in, n, &out, &err), ERR_TOOBIG);
	buf_release(&out);
	buf_release(&err);
}

static void demux_raw_tty_stream(void **state)
{
	struct docker_demux m;
	struct buf out = BUF_INIT_MAX(64), err = BUF_INIT_MAX(64);
	char bad[32];

	(void)state;
	docker_demux_init(&m);
	assert_int_equal(docker_demux_feed(&m, "plain ", 6, &out, &err), 0);
	assert_int_equal(docker_demux_feed(&m, "text", 4, &out, &err), 0);
	assert_true(docker_demux_complete(&m));
	assert_string_equal(out.data, "plain text");
	buf_reset(&out);
	/* A bad header after a good frame is a protocol error, not raw output. */
	docker_demux_init(&m);
	frame(bad, 1, "a");
	bad[9] = 7;
	bad[10] = 1;
	assert_int_equal(docker_demux_feed(&m, bad, 9 + 8, &out, &err), ERR_PROTOCOL);
	buf_release(&out);
	buf_release(&err);
}

static void parses_a_die_event(void **state)
{
	const char *text = "{\"status\":\"die\",\"id\":\"abc\",\"from\":\"img:1\",\"Type\":\"container\","
			   "\"Action\":\"die\",\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"exitCode\":\"137\","
			   "\"auriga.io/managed-by\":\"prod\",\"name\":\"web-0\"}},\"scope\":\"local\","
			   "\"time\":1700000000,\"timeNano\":1700000000123456789}";
	json_t *root = json_loads(text, 0, NULL);
	struct docker_event ev;
	struct kv *attrs;

	(void)state;
	assert_int_equal(docker_event_parse(root, &ev, &attrs, NULL), 0);
	assert_string_equal(ev.type, "container");
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.id, "abc");
	assert_int_equal(ev.time_ns, 1700000000123456789LL);
	assert_int_equal(ev.n_attributes, 3);
	assert_string_equal(kv_get(ev.attributes, ev.n_attributes, "exitCode"), "137");
	assert_string_equal(kv_get(ev.attributes, ev.n_attributes, "auriga.io/managed-by"), "prod");
	free(attrs);
	json_decref(root);
}

static void rejects_malformed_events(void **state)
{
	static const char *const bad[] = {
		"[1,2]",
		"{\"Action\":\"die\",\"timeNano\":1}",
		"{\"Type\":\"container\",\"Action\":\"die\"}",
		"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":\"x\",\"timeNano\":1}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *root = json_loads(bad[i], 0, NULL);
		struct docker_event ev;
		struct kv *attrs;
		struct error *err = NULL;

		assert_non_null(root);
		assert_int_equal(docker_event_parse(root, &ev, &attrs, &err), ERR_PROTOCOL);
		assert_non_null(err);
		error_free(err);
		free(attrs);
		json_decref(root);
	}
}

static void filters_become_docker_json(void **state)
{
	const char *f[] = { "label=auriga.io/managed-by=prod", "label=auriga.io/deployment=web", "type=container", NULL };
	const char *bad[] = { "nokey", NULL };
	struct error *err = NULL;
	char *s = docker_filters_json(f, NULL);

	(void)state;
	assert_string_equal(s, "{\"label\":{\"auriga.io/deployment=web\":true,\"auriga.io/managed-by=prod\":true},"
			       "\"type\":{\"container\":true}}");
	free(s);
	assert_null(docker_filters_json(bad, &err));
	assert_non_null(strstr(error_msg(err), "'nokey'"));
	error_free(err);
}

static void create_body_has_every_field(void **state)
{
	const char *env[] = { "A=1", NULL };
	const char *cmd[] = { "serve", "--port", "9003", NULL };
	const char *ep[] = { "/node", NULL };
	const char *aliases[] = { "web", NULL };
	const char *test[] = { "CMD", "/node", "check", NULL };
	struct kv labels[] = { { "auriga.io/managed-by", "prod" } };
	struct docker_port ports[] = { { 9003, NULL, "127.0.0.1", 19003 }, { 53, "udp", NULL, 0 } };
	struct docker_mount mounts[] = { { "chain-0", "/data", 0, 0 }, { "/etc/cfg", "/cfg", 1, 1 } };
	struct docker_healthcheck hc = { test, 10000, 5000, 60000, 3 };
	struct docker_create_spec s = {
		.name = "web-0", .image = "node:1", .env = env, .cmd = cmd, .entrypoint = ep,
		.labels = labels, .n_labels = 1, .ports = ports, .n_ports = 2, .mounts = mounts, .n_mounts = 2,
		.memory_bytes = 1 << 30, .nano_cpus = 1500000000, .restart_policy = "unless-stopped",
		.network = "fleet", .aliases = aliases, .healthcheck = &hc, .stop_timeout_s = 30,
	};
	json_t *b, *hcfg;
	char *text;

	(void)state;
	b = docker_create_body(&s, NULL);
	assert_non_null(b);
	hcfg = json_object_get(b, "HostConfig");
	text = json_dumps(json_object_get(hcfg, "PortBindings"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"53/udp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}],"
				  "\"9003/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"19003\"}]}");
	free(text);
	text = json_dumps(json_object_get(hcfg, "Mounts"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"ReadOnly\":false,\"Source\":\"chain-0\",\"Target\":\"/data\",\"Type\":\"volume\"},"
				  "{\"ReadOnly\":true,\"Source\":\"/etc/cfg\",\"Target\":\"/cfg\",\"Type\":\"bind\"}]");
	free(text);
	text = json_dumps(json_object_get(b, "Healthcheck"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"Interval\":10000000000,\"Retries\":3,\"StartPeriod\":60000000000,"
				  "\"Test\":[\"CMD\",\"/node\",\"check\"],\"Timeout\":5000000000}");
	free(text);
	assert_string_equal(json_string_value(json_object_get(json_object_get(hcfg, "RestartPolicy"), "Name")),
			    "unless-stopped");
	assert_int_equal(json_integer_value(json_object_get(hcfg, "Memory")), 1 << 30);
	assert_int_equal(json_integer_value(json_object_get(hcfg, "NanoCpus")), 1500000000);
	assert_string_equal(json_string_value(json_object_get(hcfg, "NetworkMode")), "fleet");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(json_object_get(
		json_object_get(b, "NetworkingConfig"), "EndpointsConfig"), "fleet"), "Aliases"), 0)), "web");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "Labels"), "auriga.io/managed-by")),
			    "prod");
	assert_int_equal(json_integer_value(json_object_get(b, "StopTimeout")), 30);
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "Entrypoint"), 0)), "/node");
	json_decref(b);
}

static void create_body_rejects_bad_specs(void **state)
{
	struct docker_port port0[] = { { 0, NULL, NULL, 0 } };
	struct docker_mount relative[] = { { "v", "data", 0, 0 } };
	static const char *const want[] = { "has no image", "no container port", "absolute target", "restart policy 'sometimes'" };
	struct docker_create_spec specs[4];
	size_t i;

	(void)state;
	memset(specs, 0, sizeof(specs));
	for (i = 0; i < 4; i++) {
		specs[i].name = "x";
		specs[i].image = "img";
	}
	specs[0].image = NULL;
	specs[1].ports = port0;
	specs[1].n_ports = 1;
	specs[2].mounts = relative;
	specs[2].n_mounts = 1;
	specs[3].restart_policy = "sometimes";
	for (i = 0; i < 4; i++) {
		struct error *err = NULL;

		assert_null(docker_create_body(&specs[i], &err));
		if (strstr(error_msg(err), want[i]) == NULL)
			fail_msg("spec %zu: '%s' lacks '%s'", i, error_msg(err), want[i]);
		error_free(err);
	}
}

static void api_versions_compare_numerically(void **state)
{
	static const struct { const char *a, *b; int sign; } t[] = {
		{ "1.41", "1.40", 1 }, { "1.9", "1.40", -1 }, { "1.40", "1.40", 0 },
		{ "2.0", "1.99", 1 }, { "junk", "1.0", -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int c = docker_api_compare(t[i].a, t[i].b);

		assert_int_equal(c > 0 ? 1 : c < 0 ? -1 : 0, t[i].sign);
	}
	assert_string_equal(docker_status_name(DOCKER_CIRCUIT_OPEN), "circuit-open");
	assert_true(docker_status_ok(DOCKER_NOT_MODIFIED));
	assert_false(docker_status_ok(DOCKER_NOT_FOUND));
}

TEST_MAIN(
	cmocka_unit_test(demux_any_chunking),
	cmocka_unit_test(demux_cut_short_and_bounds),
	cmocka_unit_test(demux_raw_tty_stream),
	cmocka_unit_test(parses_a_die_event),
	cmocka_unit_test(rejects_malformed_events),
	cmocka_unit_test(filters_become_docker_json),
	cmocka_unit_test(create_body_has_every_field),
	cmocka_unit_test(create_body_rejects_bad_specs),
	cmocka_unit_test(api_versions_compare_numerically))
