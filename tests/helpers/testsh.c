/* Shell and sleep helpers for the C integration tests. */
#include "testsh.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int test_sh(char *out, size_t size, const char *fmt, ...)
{
	char cmd[2048];
	char line[512] = "";
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	line[strcspn(line, "\r\n")] = '\0';
	if (out != NULL)
		snprintf(out, size, "%s", line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}
