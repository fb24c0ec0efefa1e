/* A stand-in for an Aurigraph DLT node: Quarkus-style health, transactions and metrics over libmicrohttpd. */

/*
 * Tests make a release good or bad through environment variables (see the
 * settings table in config.c and README.md beside this file). The server is
 * libmicrohttpd with one thread per connection, so an added latency delays
 * only the request it belongs to.
 *
 * Linking: libmicrohttpd pulls in GnuTLS, and GnuTLS needs p11-kit, which
 * Debian ships only as a shared library, so a fully static link cannot be
 * made. The binary is linked dynamically and hack/build-images.sh puts it in
 * a FROM-scratch image together with exactly the libraries `ldd` lists and
 * the loader.
 *
 * `demo-node probe PATH [PORT [HOST]]` is a tiny HTTP client for exec probes,
 * the image's HEALTHCHECK and smoke-test Jobs (the image has no shell or curl).
 *
 * The modules: config.c (the settings table), http.c (the server), metrics.c,
 * probe.c and net.c (the probe client), db.c and pgwire.c (the transactions
 * written to PostgreSQL when DATABASE_URL is set), this file (the clock,
 * health, main).
 */
#include "node.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* State shared by the connection threads. */
int64_t start_ms;
int64_t start_wall_ms;
atomic_int draining;
atomic_uint_fast64_t tx_seq;
atomic_uint_fast64_t tx_accepted, tx_failed;

int64_t uptime_ms(void)
{
	return now_ms() - start_ms;
}

int is_started(void)
{
	return uptime_ms() >= cfg.start_delay_ms;
}

int is_live(void)
{
	return cfg.live_fail_after_s == 0 || uptime_ms() < cfg.live_fail_after_s * 1000;
}

int is_ready(void)
{
	return is_started() && !cfg.never_ready && !atomic_load(&draining) && db_ready();
}

/*
 * Transaction n (from 0) fails when floor((n+1)*rate) > floor(n*rate): the
 * failures are spread evenly, so a rate of 0.2 fails exactly 20 of every 100
 * consecutive transactions. The rate is held in parts per million.
 */
int tx_should_fail(uint64_t n)
{
	uint64_t ppm = (uint64_t)llround(cfg.error_rate * 1000000.0);

	return (n + 1) * ppm / 1000000 > n * ppm / 1000000;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		config_usage(stdout);
		return 0;
	}
	if (argc != 1) {
		config_usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (config_load() != 0)
		return EXIT_BAD_CONFIG;
	start_ms = now_ms();
	start_wall_ms = wall_ms();
	return serve();
}
