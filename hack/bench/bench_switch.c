/*
 * Benchmark driver: blue-green switches and rollbacks through the router (router_set: render,
 * nginx -t, rename, reload by `nginx -s reload` or by SIGHUP) against a real NGINX, timed by a
 * client that keeps sending requests and reads each answer's X-Node-Version; the same switches
 * written by hand without the check (rename + nginx -s reload) and a plain reload of an unchanged
 * configuration are the peers.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "nginx.h"
#include "runtime/log.h"
#include "traffic/router.h"
#include "util.h"

extern char **environ;

#define MAX_PORTS 16
#define N_CLIENTS 2
/*
 * Per client: the load is bounded in count ... (a client here makes about
 * 3,000 requests a second, so the rounds' 100 s take 300,000 of them; a
 * client that reaches the bound first leaves the last windows without load,
 * which the run reports as such rather than as switches that did not settle)
 */
#define MAX_RECORDS 1000000
#define MAX_SECONDS 240		/* ... and in time */
#define SETTLE_MS 300		/* the last answers of a window that must all be from the new slot */

enum slot { SLOT_OTHER = -1, SLOT_BLUE = 0, SLOT_GREEN = 1 };
enum method { M_ROUTER, M_ROUTER_PID, M_RAW, M_RAW_PID, M_COUNT };

static const char *const method_name[M_COUNT] = {
	"router_set, reload by command",
	"router_set, reload by SIGHUP",
	"peer: rename + nginx -s reload",
	"peer: rename + SIGHUP (floor)",
};

struct record {
	int64_t send_us, recv_us;
	signed char slot;
	char ok;
};

struct client {
	pthread_t thread;
	struct record *rec;
	size_t n;
};

/* One switch: the decision instant, when the call that made it returned, the slot it went to. */
struct event {
	enum method method;
	enum slot to;
	int64_t decision_us, returned_us;
};

static char dir[512], main_conf[600], conf_path[600], pid_path[600], url[128];
static const char *version[2];
static int ports[2][MAX_PORTS];
static size_t n_ports[2];
static int listen_port;
static volatile int stop_clients;
static struct client clients[N_CLIENTS];
static struct event *events;
static size_t n_events;
static struct router *R, *R_pid;	/* reload by `nginx -s reload`, by SIGHUP to the pid file */

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Median and maximum of n values in microseconds (the array is sorted in place). */
static void stats(int64_t *v, size_t n, double *median_ms, double *max_ms)
{
	*median_ms = *max_ms = -1;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_i64);
	{
		size_t mid = n / 2;
		int64_t lo = n % 2 ? v[mid] : v[mid - 1];

		*median_ms = ((double)lo + (double)v[mid]) / 2000.0;
	}
	*max_ms = (double)v[n - 1] / 1000.0;
}

/* ---- the client ---- */

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	signed char *slot = arg;
	size_t len = size * n;

	if (len > 15 && strncasecmp(data, "X-Node-Version:", 15) == 0) {
		const char *v = data + 15;
		size_t vlen = len - 15;

		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		for (int s = 0; s < 2; s++)
			if (vlen == strlen(version[s]) && memcmp(v, version[s], vlen) == 0)
				*slot = (signed char)s;
	}
	return len;
}

static size_t discard_cb(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/*
 * Sends GETs one after the other, each on a new connection (a client that
 * keeps a connection to an old worker would be answered by the old
 * configuration until that worker closes it; new connections are what
 * "every new request" means here), until told to stop or a bound is hit.
 */
static void *client_run(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	signed char slot = SLOT_OTHER;
	int64_t end = mono_us() + (int64_t)MAX_SECONDS * 1000000;

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &slot);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	while (!stop_clients && c->n < MAX_RECORDS) {
		struct record *r = &c->rec[c->n];
		long status = 0;
		CURLcode rc;

		slot = SLOT_OTHER;
		r->send_us = mono_us();
		if (r->send_us > end)
			break;
		rc = curl_easy_perform(h);
		r->recv_us = mono_us();
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		r->ok = rc == CURLE_OK && status == 200 && slot != SLOT_OTHER;
		r->slot = slot;
		c->n++;
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- processes ---- */

/* Runs argv without a shell, output to /dev/null; returns its exit status or -1. */
static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long nginx_master(void)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/nginx.pid", dir);
	return test_nginx_master(path);
}

/* Microseconds from t0 until none of the old workers is left (polled every millisecond), or -1. */
static int64_t turnover_us(int64_t t0, long master, const long *old, size_t n_old)
{
	for (int i = 0; i < 10000; i++) {
		long now[32];
		size_t n = test_nginx_workers(master, now, 32), left = 0;

		for (size_t a = 0; a < n_old; a++)
			for (size_t b = 0; b < n; b++)
				left += old[a] == now[b];
		if (left == 0 && n > 0)
			return mono_us() - t0;
		sleep_ms(1);
	}
	return -1;
}

/* ---- the switches ---- */

static void service_for(enum slot to, struct router_endpoint *ep, struct router_service *s)
{
	size_t k = 0;

	for (int sl = 0; sl < 2; sl++)
		for (size_t i = 0; i < n_ports[sl]; i++, k++) {
			ep[k].addr = "127.0.0.1";
			ep[k].port = ports[sl][i];
			ep[k].weight = sl == (int)to ? 100 : 0;
			ep[k].backup = 0;
		}
	s->upstream = "api";
	s->port = listen_port;
	s->max_fails = 1;
	s->fail_timeout_seconds = 10;
	s->endpoints = ep;
	s->n_endpoints = k;
}

/* The peers: the same text written and renamed by hand, then `nginx -s reload` or SIGHUP, with no check. */
static int raw_switch(enum slot to, int by_signal, struct error **err)
{
	struct router_endpoint ep[2 * MAX_PORTS];
	struct router_service s;
	char tmp[700];
	char *argv[] = { (char *)"nginx", (char *)"-s", (char *)"reload", (char *)"-c", main_conf, NULL };
	struct buf b;
	FILE *f;
	int ret;

	service_for(to, ep, &s);
	buf_init(&b, 1 << 20);
	ret = router_render_named(&b, "127.0.0.1", "bench", NULL, NULL, &s, 1, err);
	if (ret < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.raw", conf_path);
	f = fopen(tmp, "w");
	if (f == NULL || fputs(b.data, f) < 0 || fclose(f) != 0 || rename(tmp, conf_path) < 0) {
		ret = error_set(err, ERR_GENERIC, "bench: cannot write '%s'", conf_path);
		goto out;
	}
	if (by_signal) {
		long master = nginx_master();

		if (master <= 0 || kill((pid_t)master, SIGHUP) < 0)
			ret = error_set(err, ERR_GENERIC, "bench: cannot signal the NGINX master");
	} else if (run(argv) != 0) {
		ret = error_set(err, ERR_GENERIC, "bench: nginx -s reload failed");
	}
out:
	buf_release(&b);
	return ret;
}

static int do_switch(enum method m, enum slot to, struct error **err)
{
	struct router_endpoint ep[2 * MAX_PORTS];
	struct router_service s;
	struct event *e = &events[n_events++];
	long master = nginx_master(), old[32];
	size_t n_old = test_nginx_workers(master, old, 32);
	int changed = 0, ret;

	service_for(to, ep, &s);
	e->method = m;
	e->to = to;
	e->decision_us = mono_us();
	if (m == M_ROUTER || m == M_ROUTER_PID) {
		ret = router_set(m == M_ROUTER ? R : R_pid, &s, &changed, err);
		if (ret == 0 && !changed)
			ret = error_set(err, ERR_GENERIC, "bench: router_set did not reload");
	} else {
		ret = raw_switch(to, m == M_RAW_PID, err);
	}
	e->returned_us = mono_us();
	/* The hold that follows starts once the old workers are gone, so every window ends settled. */
	if (ret == 0 && turnover_us(e->returned_us, master, old, n_old) < 0)
		ret = error_set(err, ERR_TIMEOUT, "bench: the old NGINX workers did not exit in 10 s");
	return ret;
}

/* ---- analysis ---- */

struct switch_stats {
	int64_t *first, *all, *call;
	size_t n, unsettled, stale, failed, requests;
};

/* Requests sent in [from, to), every client's, in send order. */
static size_t window(int64_t from, int64_t to, struct record **out)
{
	size_t n = 0;

	for (int c = 0; c < N_CLIENTS; c++)
		for (size_t i = 0; i < clients[c].n; i++)
			if (clients[c].rec[i].send_us >= from && clients[c].rec[i].send_us < to)
				out[n++] = &clients[c].rec[i];
	for (size_t i = 1; i < n; i++)	/* insertion sort: the clients' lists are each in order */
		for (size_t j = i; j > 0 && out[j - 1]->send_us > out[j]->send_us; j--) {
			struct record *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/*
 * For one switch: "first" is the first answer from the new slot (its
 * arrival, from the decision); "all" is the send time of the first request
 * from which on every request sent in the window was answered by the new
 * slot (an upper bound: the true instant lies after the last old answer's
 * request, at most one request gap earlier).
 */
static void analyse(const struct event *e, int64_t end, struct record **w, struct switch_stats *st)
{
	size_t n = window(e->decision_us, end, w), tail = n;
	int64_t first = -1;

	st->requests += n;
	for (size_t i = 0; i < n; i++) {
		if (!w[i]->ok)
			st->failed++;
		if (w[i]->ok && w[i]->slot == (signed char)e->to && (first < 0 || w[i]->recv_us < first))
			first = w[i]->recv_us;
	}
	while (tail > 0 && w[tail - 1]->ok && w[tail - 1]->slot == (signed char)e->to)
		tail--;
	if (first < 0 || tail == n || w[n - 1]->send_us - w[tail]->send_us < SETTLE_MS * 1000) {
		st->unsettled++;
		st->stale += tail == n;
		return;
	}
	st->first[st->n] = first - e->decision_us;
	st->all[st->n] = w[tail]->send_us - e->decision_us;
	st->call[st->n] = e->returned_us - e->decision_us;
	st->n++;
}

static void print_row(const char *name, struct switch_stats *st, int target)
{
	double fm, fx, am, ax, cm, cx;

	stats(st->first, st->n, &fm, &fx);
	stats(st->all, st->n, &am, &ax);
	stats(st->call, st->n, &cm, &cx);
	printf("%-46s n=%-3zu call %7.1f / %7.1f   first new %7.1f / %7.1f   all new %7.1f / %7.1f ms   "
	       "failed %zu of %zu%s%s\n", name, st->n, cm, cx, fm, fx, am, ax, st->failed, st->requests,
	       st->unsettled ? "   UNSETTLED " : "", target ? "   (guide target: 10 s rollback)" : "");
	if (st->unsettled)
		printf("  %zu switches had no settled tail of %d ms (%zu ended on a failure or an answer from the old "
		       "slot)\n", st->unsettled, SETTLE_MS, st->stale);
}

static int parse_ports(const char *s, int *out, size_t *n)
{
	char *copy = xstrdup(s), *save = NULL;
	long p;
	int ret = 0;

	*n = 0;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_PORTS || parse_long(t, 1, 65535, &p) < 0) {
			ret = -1;
			break;
		}
		out[(*n)++] = (int)p;
	}
	free(copy);
	return *n == 0 ? -1 : ret;
}

/* usage: bench_switch DIR LISTEN_PORT ROUNDS HOLD_MS BLUE_VERSION BLUE_PORTS GREEN_VERSION GREEN_PORTS */
/* The nginx -t and plain reload timings, taken under the clients' load after the switches. */
struct micro {
	int64_t *check, *reload_cmd, *reload_turn;
	size_t n;
};

/* Under the same load: `nginx -t` of the live file alone, and a plain reload of an unchanged configuration. */
static void measure_nginx_alone(long rounds, long hold, struct micro *mc, struct error **err)
{
	char wrapper[700], pidp[700];
	FILE *f;

	snprintf(wrapper, sizeof(wrapper), "%s/check.conf", dir);
	snprintf(pidp, sizeof(pidp), "%s/check.pid", dir);
	f = fopen(wrapper, "w");
	if (f != NULL) {
		fprintf(f, "pid %s;\nerror_log stderr;\nevents {}\nhttp {\n\tinclude %s;\n}\n", pidp, conf_path);
		fclose(f);
	}
	for (long r = 0; r < rounds; r++) {
		char *targv[] = { (char *)"nginx", (char *)"-t", (char *)"-q", (char *)"-e", (char *)"stderr",
				  (char *)"-c", wrapper, NULL };
		char *rargv[] = { (char *)"nginx", (char *)"-s", (char *)"reload", (char *)"-c", main_conf, NULL };
		long master = nginx_master(), old[32];
		size_t n_old = test_nginx_workers(master, old, 32);
		int64_t t0 = mono_us();

		if (run(targv) != 0) {
			error_set(err, ERR_GENERIC, "bench: nginx -t of the live file failed");
			break;
		}
		mc->check[mc->n] = mono_us() - t0;
		t0 = mono_us();
		if (run(rargv) != 0) {
			error_set(err, ERR_GENERIC, "bench: nginx -s reload failed");
			break;
		}
		mc->reload_cmd[mc->n] = mono_us() - t0;
		mc->reload_turn[mc->n] = turnover_us(t0, master, old, n_old);
		mc->n++;
		sleep_ms(hold / 2);
	}
}

/* Prints the figures and the ratios; 0 when no request failed and every switch settled and was reported in time. */
static int report(struct switch_stats st[M_COUNT][2], const struct micro *mc, long rounds, size_t total,
		  size_t failed, int64_t t_start)
{
	double secs = (double)(mono_us() - t_start) / 1e6, m1, x1, m2, x2, m3, x3;

	printf("client: %d threads, a new connection per request, %zu requests in %.1f s (%.0f/s, "
	       "one every %.2f ms), %zu failed in the whole run\n", N_CLIENTS, total, secs, (double)total / secs,
	       secs * 1000 / (double)total, failed);
	printf("%ld rounds; median / max in ms from the decision: the call's return, the first answer from the "
	       "new slot, the send time from which every request was answered by the new slot\n", rounds);
	for (int m = 0; m < M_COUNT; m++) {
		char name[80];

		snprintf(name, sizeof(name), "%s: switch", method_name[m]);
		print_row(name, &st[m][0], 0);
		snprintf(name, sizeof(name), "%s: rollback", method_name[m]);
		print_row(name, &st[m][1], m == M_ROUTER || m == M_ROUTER_PID);
	}
	stats(mc->check, mc->n, &m1, &x1);
	stats(mc->reload_cmd, mc->n, &m2, &x2);
	stats(mc->reload_turn, mc->n, &m3, &x3);
	printf("under the same load, n=%zu: nginx -t of the live file %.1f / %.1f ms; plain `nginx -s reload` "
	       "of an unchanged config: command %.1f / %.1f ms, old workers gone %.1f / %.1f ms\n", mc->n, m1,
	       x1, m2, x2, m3, x3);
	{
		double all[M_COUNT][2], call[M_COUNT], x;
		size_t unsettled = 0;

		for (int m = 0; m < M_COUNT; m++) {
			stats(st[m][1].all, st[m][1].n, &all[m][0], &all[m][1]);
			stats(st[m][1].call, st[m][1].n, &call[m], &x);
			unsettled += st[m][0].unsettled + st[m][1].unsettled;
		}
		printf("ratio to the floor (rollback, all new, medians): router by command %.2f, router by SIGHUP "
		       "%.2f, hand-written nginx -s reload %.2f\n", all[M_ROUTER][0] / all[M_RAW_PID][0],
		       all[M_ROUTER_PID][0] / all[M_RAW_PID][0], all[M_RAW][0] / all[M_RAW_PID][0]);
		/* Measured apart from the switches: near or above 1 means the check is about all of the call. */
		printf("nginx -t alone / router's rollback call (medians, measured apart): %.2f by command, "
		       "%.2f by SIGHUP\n", m1 / call[M_ROUTER], m1 / call[M_ROUTER_PID]);
		/*
		 * The router reports a switch done when its call returns, after
		 * confirming that NGINX serves it: a round whose call returned
		 * before every request went to the new slot was reported early.
		 */
		{
			size_t early = 0, rounds_all = 0;
			double cm, cx;

			for (int m = M_ROUTER; m <= M_ROUTER_PID; m++)
				for (int k = 0; k < 2; k++)
					for (size_t i = 0; i < st[m][k].n; i++, rounds_all++)
						if (st[m][k].call[i] < st[m][k].all[i])
							early++;
			stats(st[M_ROUTER][1].call, st[M_ROUTER][1].n, &cm, &cx);
			printf("router_set reported the change done before every request went to the new slot in "
			       "%zu of %zu rounds\n", early, rounds_all);
			/* The figures the script reads: the router's rollbacks by command (the default). */
			printf("result rollback_all_median_ms %.1f rollback_all_max_ms %.1f rollback_done_median_ms "
			       "%.1f rollback_done_max_ms %.1f early %zu failed %zu unsettled %zu\n",
			       all[M_ROUTER][0], all[M_ROUTER][1], cm, cx, early, failed, unsettled);
			return failed == 0 && unsettled == 0 && early == 0 ? 0 : 1;
		}
	}
}

/* The two routers under test: one reloading NGINX by command, one by SIGHUP to its pid file. */
static int routers_new(struct error **err)
{
	static const char *reload_argv[6];
	struct router_config rc = { 0 };

	reload_argv[0] = "nginx";
	reload_argv[1] = "-s";
	reload_argv[2] = "reload";
	reload_argv[3] = "-c";
	reload_argv[4] = main_conf;
	reload_argv[5] = NULL;
	rc.config_path = conf_path;
	rc.reload_argv = reload_argv;
	rc.timeout_ms = 10000;
	R = router_new(&rc, err);
	if (R == NULL)
		return -1;
	snprintf(pid_path, sizeof(pid_path), "%s/nginx.pid", dir);
	rc.reload_argv = NULL;
	rc.pid_file = pid_path;
	R_pid = router_new(&rc, err);
	if (R_pid == NULL)
		return -1;
	return 0;
}

static void stats_alloc(struct switch_stats st[M_COUNT][2], long rounds)
{
for (int m = 0; m < M_COUNT; m++)
	for (int d = 0; d < 2; d++) {
		st[m][d].first = xcalloc((size_t)rounds, sizeof(int64_t));
		st[m][d].all = xcalloc((size_t)rounds, sizeof(int64_t));
		st[m][d].call = xcalloc((size_t)rounds, sizeof(int64_t));
	}
}

static void stats_free(struct switch_stats st[M_COUNT][2])
{
for (int m = 0; m < M_COUNT; m++)
	for (int d = 0; d < 2; d++) {
		free(st[m][d].first);
		free(st[m][d].all);
		free(st[m][d].call);
	}
}

int main(int argc, char **argv)
{
	struct error *err = NULL;
	struct switch_stats st[M_COUNT][2] = { { { 0 } } };
	struct record **w = NULL;
	struct micro mc = { 0 };
	int64_t t_start;
	long rounds, hold, port;
	size_t total = 0, failed = 0;
	int ret = 1;

	if (argc != 9 || parse_long(argv[2], 1, 65535, &port) < 0 || parse_long(argv[3], 1, 1000, &rounds) < 0 ||
	    parse_long(argv[4], 100, 60000, &hold) < 0 || parse_ports(argv[6], ports[SLOT_BLUE], &n_ports[0]) < 0 ||
	    parse_ports(argv[8], ports[SLOT_GREEN], &n_ports[1]) < 0) {
		fprintf(stderr, "usage: %s DIR LISTEN_PORT ROUNDS HOLD_MS BLUE_VERSION BLUE_PORTS GREEN_VERSION "
				"GREEN_PORTS\n", argv[0]);
		return 2;
	}
	listen_port = (int)port;
	version[SLOT_BLUE] = argv[5];
	version[SLOT_GREEN] = argv[7];
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	snprintf(main_conf, sizeof(main_conf), "%s/nginx.conf", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/auriga.conf", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v11/info", listen_port);
	log_setup(LOG_WARN, LOG_LOGFMT);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (routers_new(&err) < 0)
		goto fail;
	events = xcalloc((size_t)rounds * M_COUNT * 2 + 1, sizeof(*events));
	mc.check = xcalloc((size_t)rounds, sizeof(*mc.check));
	mc.reload_cmd = xcalloc((size_t)rounds, sizeof(*mc.reload_cmd));
	mc.reload_turn = xcalloc((size_t)rounds, sizeof(*mc.reload_turn));
	stats_alloc(st, rounds);

	/* Blue takes the traffic before the clients start. */
	if (do_switch(M_ROUTER, SLOT_BLUE, &err) < 0)
		goto fail;
	n_events = 0;
	sleep_ms(hold);

	for (int c = 0; c < N_CLIENTS; c++) {
		clients[c].rec = xcalloc(MAX_RECORDS, sizeof(struct record));
		if (pthread_create(&clients[c].thread, NULL, client_run, &clients[c]) != 0) {
			fprintf(stderr, "bench: cannot start a client thread\n");
			stop_clients = 1;
			for (int k = 0; k < c; k++)
				pthread_join(clients[k].thread, NULL);
			goto fail;
		}
	}
	t_start = mono_us();
	sleep_ms(hold);
	/*
	 * Each round: switch and rollback through the router reloading by
	 * command, then by SIGHUP, then the hand-written peer's, so all three
	 * meet the same load.
	 */
	for (long r = 0; r < rounds && err == NULL; r++)
		for (int m = 0; m < M_COUNT && err == NULL; m++) {
			if (do_switch((enum method)m, SLOT_GREEN, &err) < 0)
				break;
			sleep_ms(hold);
			if (do_switch((enum method)m, SLOT_BLUE, &err) < 0)
				break;
			sleep_ms(hold);
		}
	if (err == NULL)
		measure_nginx_alone(rounds, hold, &mc, &err);
	stop_clients = 1;
	for (int c = 0; c < N_CLIENTS; c++)
		pthread_join(clients[c].thread, NULL);
	if (err != NULL)
		goto fail;

	for (int c = 0; c < N_CLIENTS; c++) {
		total += clients[c].n;
		for (size_t i = 0; i < clients[c].n; i++)
			failed += !clients[c].rec[i].ok;
		if (clients[c].n == MAX_RECORDS && n_events > 0 &&
		    clients[c].rec[MAX_RECORDS - 1].send_us < events[n_events - 1].decision_us + hold * 1000) {
			fprintf(stderr, "bench_switch: a client made its %d requests before the last round ended: "
				"raise MAX_RECORDS\n", MAX_RECORDS);
			ret = 1;
			goto out;
		}
	}
	w = xcalloc(total + 1, sizeof(struct record *));
	for (size_t i = 0; i < n_events; i++) {
		const struct event *e = &events[i];
		int64_t end = i + 1 < n_events ? events[i + 1].decision_us : e->decision_us + hold * 1000;

		analyse(e, end, w, &st[e->method][e->to == SLOT_GREEN ? 0 : 1]);
	}
	ret = report(st, &mc, rounds, total, failed, t_start);
	goto out;
fail:
	fprintf(stderr, "bench_switch: %s\n", err != NULL ? error_msg(err) : "failed");
out:
	error_free(err);
	router_free(R);
	router_free(R_pid);
	for (int c = 0; c < N_CLIENTS; c++)
		free(clients[c].rec);
	free(w);
	free(events);
	free(mc.check);
	free(mc.reload_cmd);
	free(mc.reload_turn);
	stats_free(st);
	curl_global_cleanup();
	return ret;
}
