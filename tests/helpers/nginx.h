/* An NGINX of a test's own: its main configuration, started, found by its pid file, stopped. */
#ifndef AURIGA_TEST_NGINX_H
#define AURIGA_TEST_NGINX_H

#include <stddef.h>

/*
 * Everything lives in dir (a directory the caller made): nginx.conf (the main
 * configuration), nginx.pid, error.log, the temporary paths, and auriga.conf,
 * the file the main configuration includes inside http { } (the router's),
 * which starts empty.
 */
struct test_nginx {
	char dir[256];
	char main_conf[300];
	char conf_path[300];
	char pid_path[300];
};

/*
 * Fills n for dir and writes its files; workers is worker_processes (0 for
 * auto). Returns 0 or -1 with a message on stderr.
 */
int test_nginx_prepare(struct test_nginx *n, const char *dir, int workers);
/* test_nginx_prepare, then starts the daemon on those files. Returns 0 or -1 with a message on stderr. */
int test_nginx_start(struct test_nginx *n, const char *dir, int workers);
/* The master's pid from the pid file pid_path, or 0 when there is none. */
long test_nginx_master(const char *pid_path);
/* The master's children (its workers, old and new), from /proc: at most max pids in out. */
size_t test_nginx_workers(long master, long *out, size_t max);
/* Stops the master of n (SIGTERM, up to 5 s, then SIGKILL); nothing when none is running. */
void test_nginx_stop(const struct test_nginx *n);

#endif
