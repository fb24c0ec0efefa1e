/* `auriga healthcheck`: asks a running controller whether it is alive, for images without curl or a shell. */
#include "cmd/cli.h"
#include "runtime/config.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_PATH "/q/health/live"
#define URL_MAX 512

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out, "usage: auriga healthcheck [options] [URL]\n\n"
		     "GETs URL (default: " HEALTH_PATH " on the --listen address) and exits 0 when the\n"
		     "answer is 2xx, 1 otherwise. Meant for a container's HEALTHCHECK: the image has\n"
		     "neither curl nor a shell.\n\n"
		     "options:\n");
	config_usage_cmd(out, "healthcheck", extra);
}

/* The body is not needed, only the status: drop it, but accept it so the transfer completes. */
static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/*
 * The controller's own listen address, as the daemon reads it from AURIGA_LISTEN: ":PORT" and
 * the wildcard addresses mean every interface, so the loopback one is asked.
 */
static int url_from_listen(const char *listen, char *url, size_t n)
{
	const char *colon = strrchr(listen, ':');
	const char *host = "127.0.0.1";
	size_t host_len = strlen(host);
	long port;

	if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	if (colon != listen && !(colon - listen == 7 && strncmp(listen, "0.0.0.0", 7) == 0) &&
	    !(colon - listen == 4 && strncmp(listen, "[::]", 4) == 0)) {
		host = listen;
		host_len = (size_t)(colon - listen);
	}
	if ((size_t)snprintf(url, n, "http://%.*s:%ld%s", (int)host_len, host, port, HEALTH_PATH) >= n)
		return -1;
	return 0;
}

/* The settings, --timeout and URL (else the --listen address's): -1 to go on, or the exit status. */
static int healthcheck_args(int argc, char **argv, char *url, size_t n, long *timeout_s)
{
	int help = 0, n_timeout = 0, rc = -1;
	const char *timeout = NULL;
	const struct config_extra_flag extra[] = {
		{ "timeout", &n_timeout, &timeout, "SECONDS", "give up after this long (1-300) [default: 5]", 1, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct config *conf = NULL;
	struct error *err = NULL;
	char **pos = NULL;

	if (config_load(&conf, argc, argv, NULL, extra, &pos, &err) < 0) {
		fprintf(stderr, "auriga healthcheck: %s\n", error_msg(err));
		rc = 2;
	} else if (help) {
		usage(stdout, extra);
		rc = 0;
	} else if (timeout && parse_long(timeout, 1, 300, timeout_s) < 0) {
		fprintf(stderr, "auriga healthcheck: --timeout '%s': expected 1 to 300 seconds\n", timeout);
		rc = 2;
	} else if (pos[0] && pos[1]) {
		usage(stderr, extra);
		rc = 2;
	} else if (pos[0]) {
		if ((size_t)snprintf(url, n, "%s", pos[0]) >= n) {
			fprintf(stderr, "auriga healthcheck: the URL is longer than %zu bytes\n", n - 1);
			rc = 2;
		}
	} else if (url_from_listen(config_str(conf, CFG_LISTEN), url, n) < 0) {
		fprintf(stderr, "auriga healthcheck: %s: listen '%s': expected ADDR:PORT\n",
			config_origin(conf, CFG_LISTEN), config_str(conf, CFG_LISTEN));
		rc = 2;
	}
	free(pos);
	error_free(err);
	config_free(conf);
	return rc;
}

int cmd_healthcheck(int argc, char **argv)
{
	char url[URL_MAX];
	long timeout_s = 5, status = 0;
	CURL *curl = NULL;
	CURLcode res;
	int rc;

	rc = healthcheck_args(argc, argv, url, sizeof(url), &timeout_s);
	if (rc >= 0)
		return rc;
	rc = 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "auriga healthcheck: cannot initialise libcurl\n");
		return 1;
	}
	curl = curl_easy_init();
	if (curl == NULL) {
		fprintf(stderr, "auriga healthcheck: cannot initialise libcurl\n");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	res = curl_easy_perform(curl);
	if (res != CURLE_OK) {
		fprintf(stderr, "auriga healthcheck: %s: %s\n", url, curl_easy_strerror(res));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	printf("%s: %ld\n", url, status);
	if (status >= 200 && status < 300)
		rc = 0;
out:
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}
