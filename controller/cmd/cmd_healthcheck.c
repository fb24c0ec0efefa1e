/* `auriga healthcheck`: asks a running controller whether it is alive, for images without curl or a shell. */
#include "cmd/cli.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_PATH "/q/health/live"
#define DEFAULT_URL "http://127.0.0.1:8080" HEALTH_PATH
#define URL_MAX 512

static void usage(FILE *out)
{
	fprintf(out, "usage: auriga healthcheck [--timeout SECONDS] [URL]\n\n"
		     "GETs URL (default: " HEALTH_PATH " on the address in AURIGA_LISTEN, else\n"
		     DEFAULT_URL ") and exits 0 when the answer is 2xx, 1 otherwise.\n"
		     "Meant for a container's HEALTHCHECK: the image has neither curl nor a shell.\n\n"
		     "  --timeout SECONDS  give up after this long (1-300) [5]\n");
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

int cmd_healthcheck(int argc, char **argv)
{
	const char *url = NULL, *listen;
	char derived[URL_MAX];
	long timeout_s = 5, status = 0;
	CURL *curl = NULL;
	CURLcode res;
	int i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 300, &timeout_s) < 0) {
				fprintf(stderr, "auriga healthcheck: --timeout '%s': expected 1 to 300 seconds\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' || url != NULL) {
			usage(stderr);
			return 2;
		} else {
			url = argv[i];
		}
	}
	if (url == NULL) {
		listen = getenv("AURIGA_LISTEN");
		url = DEFAULT_URL;
		if (listen != NULL && listen[0] != '\0') {
			if (url_from_listen(listen, derived, sizeof(derived)) < 0) {
				fprintf(stderr, "auriga healthcheck: AURIGA_LISTEN '%s': expected ADDR:PORT\n", listen);
				return 2;
			}
			url = derived;
		}
	}

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
