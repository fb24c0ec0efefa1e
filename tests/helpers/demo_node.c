/* Demo-node containers and free ports for the C integration tests. */
#include "demo_node.h"

#include "testsh.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int test_node_run(const char *label, const char *image, const char *version)
{
	char id[80], line[128], env[96] = "";
	const char *colon;
	long port;

	if (version != NULL)
		snprintf(env, sizeof(env), "-e DEMO_VERSION=%s ", version);
	if (test_sh(id, sizeof(id), "docker run -d --label %s -p 127.0.0.1::%d %s%s", label, TEST_NODE_PORT, env,
		    image) != 0)
		return -1;
	if (test_sh(line, sizeof(line), "docker port %s %d/tcp", id, TEST_NODE_PORT) != 0)
		return -1;
	colon = strrchr(line, ':');
	if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		if (test_sh(NULL, 0, "curl -sf -o /dev/null http://127.0.0.1:%ld/q/health/ready", port) == 0)
			return (int)port;
		test_sleep_ms(100);
	}
	return -1;
}

void test_docker_rm_label(const char *label)
{
	test_sh(NULL, 0, "ids=$(docker ps -aq --filter label=%s); [ -z \"$ids\" ] || docker rm -fv $ids >/dev/null 2>&1",
		label);
}

int test_free_port(void)
{
	char line[32];
	long p;

	/* Handed to no other test running beside this one. */
	if (test_sh(line, sizeof(line), "tests/helpers/free-ports.py 1") != 0 ||
	    parse_long(line, 1, 65535, &p) < 0)
		return -1;
	return (int)p;
}
