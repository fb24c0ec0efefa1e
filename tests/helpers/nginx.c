/* An NGINX of a test's own, shared by the router tests and the switch benchmark. */
#include "nginx.h"

#include "testsh.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

int test_nginx_prepare(struct test_nginx *n, const char *dir, int workers)
{
	char procs[16];
	FILE *f;

	memset(n, 0, sizeof(*n));
	snprintf(n->dir, sizeof(n->dir), "%s", dir);
	snprintf(n->main_conf, sizeof(n->main_conf), "%s/nginx.conf", dir);
	snprintf(n->conf_path, sizeof(n->conf_path), "%s/auriga.conf", dir);
	snprintf(n->pid_path, sizeof(n->pid_path), "%s/nginx.pid", dir);
	if (workers > 0)
		snprintf(procs, sizeof(procs), "%d", workers);
	else
		snprintf(procs, sizeof(procs), "auto");
	f = fopen(n->main_conf, "w");
	if (f == NULL) {
		fprintf(stderr, "nginx: cannot write '%s'\n", n->main_conf);
		return -1;
	}
	fprintf(f,
		"daemon on;\nworker_processes %s;\npid %s;\nerror_log %s/error.log;\n"
		"events { worker_connections 1024; }\n"
		"http {\n\taccess_log off;\n\tclient_body_temp_path %s/body;\n\tproxy_temp_path %s/proxy;\n"
		"\tfastcgi_temp_path %s/fcgi;\n\tuwsgi_temp_path %s/uwsgi;\n\tscgi_temp_path %s/scgi;\n"
		"\tinclude %s;\n}\n",
		procs, n->pid_path, dir, dir, dir, dir, dir, dir, n->conf_path);
	fclose(f);
	/* NGINX starts with an empty router file; the router fills it. */
	f = fopen(n->conf_path, "w");
	if (f == NULL) {
		fprintf(stderr, "nginx: cannot write '%s'\n", n->conf_path);
		return -1;
	}
	fclose(f);
	return 0;
}

int test_nginx_start(struct test_nginx *n, const char *dir, int workers)
{
	int rc;

	if (test_nginx_prepare(n, dir, workers) != 0)
		return -1;
	rc = test_sh(NULL, 0, "nginx -e %s/error.log -c %s", n->dir, n->main_conf);
	if (rc != 0)
		fprintf(stderr, "nginx did not start, its log: %s/error.log\n", n->dir);
	return rc == 0 ? 0 : -1;
}

long test_nginx_master(const char *pid_path)
{
	char line[64];
	long pid = 0;
	FILE *f = fopen(pid_path, "r");

	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (parse_long(line, 1, 1L << 30, &pid) < 0)
			pid = 0;
	}
	fclose(f);
	return pid;
}

size_t test_nginx_workers(long master, long *out, size_t max)
{
	char path[64], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", master, master);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL;

		for (char *t = strtok_r(line, " \n", &save); t != NULL && n < max; t = strtok_r(NULL, " \n", &save))
			if (parse_long(t, 1, 1L << 30, &out[n]) == 0)
				n++;
	}
	fclose(f);
	return n;
}

void test_nginx_stop(const struct test_nginx *n)
{
	long pid = n->pid_path[0] ? test_nginx_master(n->pid_path) : 0;

	if (pid <= 0)
		return;
	kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 50 && kill((pid_t)pid, 0) == 0; i++)
		test_sleep_ms(100);
	kill((pid_t)pid, SIGKILL);
}
