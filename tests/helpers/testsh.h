/* Shell and sleep helpers for the C integration tests, which drive docker, nginx and Prometheus. */
#ifndef AURIGA_TESTSH_H
#define AURIGA_TESTSH_H

#include <stddef.h>

/*
 * Runs a shell command (formatted like printf) and returns its exit status, or
 * -1 when it could not run; the first line of its output, trimmed, goes to out
 * when out is not NULL.
 */
int test_sh(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void test_sleep_ms(long ms);

#endif
