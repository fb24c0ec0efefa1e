/* A Prometheus of a test's own: configured to scrape given targets, started, waited for, stopped. */
#ifndef AURIGA_TEST_PROMETHEUS_H
#define AURIGA_TEST_PROMETHEUS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes dir/prometheus.yml (scrape and evaluation every second; one job,
 * demo, reading /q/metrics of each 127.0.0.1:port in ports), then runs
 * prometheus on 127.0.0.1:port with its data in dir/data and its log in
 * dir/prometheus.log, and waits (up to 20 s) until it answers /-/ready.
 * Returns its pid, or -1 with a message on stderr (a process that started
 * is stopped first).
 */
pid_t test_prometheus_start(const char *dir, int port, const int *ports, size_t nports);
/* Stops the Prometheus *pid (SIGTERM, up to 5 s, then SIGKILL), reaps it and sets *pid to 0. */
void test_prometheus_stop(pid_t *pid);

#endif
