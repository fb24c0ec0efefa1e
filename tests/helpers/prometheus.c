/* A Prometheus of a test's own, for the analysis tests that query a real one. */
#include "prometheus.h"

#include "testsh.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_config(const char *dir, const int *ports, size_t nports)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/prometheus.yml", dir);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "prometheus: cannot write '%s'\n", path);
		return -1;
	}
	fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		   "scrape_configs:\n  - job_name: demo\n    metrics_path: /q/metrics\n"
		   "    static_configs:\n      - targets: [");
	for (size_t i = 0; i < nports; i++)
		fprintf(f, "%s'127.0.0.1:%d'", i ? ", " : "", ports[i]);
	fprintf(f, "]\n");
	fclose(f);
	return 0;
}

pid_t test_prometheus_start(const char *dir, int port, const int *ports, size_t nports)
{
	pid_t pid;

	if (write_config(dir, ports, nports) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char cfg[300], data[300], listen[64], logf[300];

		snprintf(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml", dir);
		snprintf(data, sizeof(data), "--storage.tsdb.path=%s/data", dir);
		snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", port);
		snprintf(logf, sizeof(logf), "%s/prometheus.log", dir);
		if (freopen(logf, "w", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("prometheus", "prometheus", cfg, data, listen, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		perror("prometheus: fork");
		return -1;
	}
	for (int i = 0;; i++) {
		if (test_sh(NULL, 0, "curl -sf -o /dev/null http://127.0.0.1:%d/-/ready", port) == 0)
			return pid;
		if (i == 100) {
			fprintf(stderr, "prometheus did not get ready (see %s/prometheus.log)\n", dir);
			test_prometheus_stop(&pid);
			return -1;
		}
		test_sleep_ms(200);
	}
}

void test_prometheus_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		test_sleep_ms(100);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}
