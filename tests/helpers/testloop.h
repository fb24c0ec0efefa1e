/* The event loop, HTTP client and Docker client a C integration test group runs its calls on. */
#ifndef AURIGA_TESTLOOP_H
#define AURIGA_TESTLOOP_H

struct docker;
struct http_client;
struct loop;

/*
 * Makes the group's loop in *L and, when H is not NULL, an HTTP client on it in *H. Returns 0, or
 * -1 having said why on stderr (what was made is left for test_loop_free).
 */
int test_loop_new(struct loop **L, struct http_client **H);
/*
 * A Docker client on L, configured from the environment as auriga's is (DOCKER_HOST and the rest)
 * when from_env, else for the default socket; NULL having said why on stderr.
 */
struct docker *test_docker_new(struct loop *L, int from_env);
/* Frees the HTTP client (when not NULL) and the loop. */
void test_loop_free(struct loop *L, struct http_client *H);

#endif
