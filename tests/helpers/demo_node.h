/* Demo-node containers for the C integration tests: started under a run label, removed by it. */
#ifndef AURIGA_TEST_DEMO_NODE_H
#define AURIGA_TEST_DEMO_NODE_H

/* The port the demo node listens on inside its container. */
#define TEST_NODE_PORT 9003

/*
 * Runs image (a demo node) labelled with label ("key=value"), its port
 * published on 127.0.0.1, with DEMO_VERSION=version unless version is NULL.
 * Returns the published port once the node answers /q/health/ready (up to
 * 10 s), or -1.
 */
int test_node_run(const char *label, const char *image, const char *version);
/* Removes every container that carries label. */
void test_docker_rm_label(const char *label);
/* A TCP port of 127.0.0.1 free at the time of asking, or -1. */
int test_free_port(void);

#endif
