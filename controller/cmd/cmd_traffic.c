/* `auriga promote` and `auriga abort`: ask the running controller, over its HTTP API, to act on a release. */
#include "cmd/cli.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "runtime/file.h"
#include "util.h"

#define TOKEN_MAX 4096

static void usage(FILE *out, const char *cmd)
{
	fprintf(out,
		"usage: auriga %s [options] DEPLOYMENT\n\n"
		"%s\n"
		"Sends POST /api/v1/deployments/DEPLOYMENT/%s to the running controller (auriga run);\n"
		"it answers 202 once the request is recorded, and the controller logs a refusal (no\n"
		"blue-green or canary release under way).\n\n"
		"  --listen ADDR          the controller's address [$AURIGA_LISTEN, else 127.0.0.1:8080]\n"
		"  --api-token-file FILE  the bearer token [$AURIGA_API_TOKEN_FILE]\n"
		"  --timeout SECONDS      give up after this long (1-300) [10]\n"
		"%s",
		cmd,
		strcmp(cmd, "promote") == 0
			? "Skips the current canary pause (or the pause until promoted), or the blue-green\n"
			  "wait for promotion or the rest of its monitor window."
			: "Returns all traffic of the release under way to the stable slot, removes the new\n"
			  "slot, and keeps the revision from being tried again until the commit changes.",
		cmd,
		strcmp(cmd, "promote") == 0
			? "  --full                 finish the release at once: all traffic to the new slot,\n"
			  "                         the remaining steps, analysis and monitor window skipped\n"
			  "                         (POST .../promote?full=1)\n"
			: "");
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* "host:port", ":port", "0.0.0.0:port" or "[::]:port" to a base URL on a reachable address. */
static int base_url(const char *listen, struct buf *out)
{
	const char *colon = strrchr(listen, ':');
	long port;

	if (colon == NULL || parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	if (colon == listen || (colon - listen == 7 && strncmp(listen, "0.0.0.0", 7) == 0) ||
	    (colon - listen == 4 && strncmp(listen, "[::]", 4) == 0))
		return buf_printf(out, "http://127.0.0.1:%ld", port) < 0 ? -1 : 0;
	return buf_printf(out, "http://%.*s:%ld", (int)(colon - listen), listen, port) < 0 ? -1 : 0;
}

static int read_token(const char *path, struct buf *out, struct error **err)
{
	if (file_read(path, "API token file", FILE_REGULAR | FILE_SECRET, out, err) < 0)
		return -1;
	file_trim_end(out, "\r\n ");
	if (out->len == 0)
		return error_set(err, ERR_INVALID, "API token file '%s' is empty", path);
	return 0;
}

static int act(const char *cmd, int argc, char **argv)
{
	const char *listen = getenv("AURIGA_LISTEN"), *token_file = getenv("AURIGA_API_TOKEN_FILE");
	const char *dep = NULL;
	struct curl_slist *hdrs = NULL;
	struct buf url, body, token, auth;
	struct error *err = NULL;
	long timeout_s = 10, status = 0;
	CURL *curl = NULL;
	CURLcode res;
	int i, rc = 1, full = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, cmd);
			return 0;
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--api-token-file") == 0 && i + 1 < argc) {
			token_file = argv[++i];
		} else if (strcmp(argv[i], "--full") == 0 && strcmp(cmd, "promote") == 0) {
			full = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 300, &timeout_s) < 0) {
				fprintf(stderr, "auriga %s: --timeout '%s': expected 1 to 300 seconds\n", cmd, argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' || dep != NULL) {
			usage(stderr, cmd);
			return 2;
		} else {
			dep = argv[i];
		}
	}
	if (dep == NULL) {
		usage(stderr, cmd);
		return 2;
	}
	if (listen == NULL || listen[0] == '\0')
		listen = "127.0.0.1:8080";
	buf_init(&url, 2048);
	buf_init(&body, 65536);
	buf_init(&token, TOKEN_MAX);
	buf_init(&auth, TOKEN_MAX + 64);
	if (base_url(listen, &url) < 0) {
		fprintf(stderr, "auriga %s: listen address '%s': expected HOST:PORT\n", cmd, listen);
		rc = 2;
		goto out;
	}
	if (token_file && token_file[0]) {
		if (read_token(token_file, &token, &err) < 0) {
			fprintf(stderr, "auriga %s: %s\n", cmd, error_msg(err));
			error_free(err);
			rc = 2;
			goto out;
		}
		(void)buf_printf(&auth, "Authorization: Bearer %s", token.data);
		hdrs = curl_slist_append(hdrs, auth.data);
	}
	curl = curl_easy_init();
	if (curl == NULL) {
		fprintf(stderr, "auriga %s: cannot start libcurl\n", cmd);
		goto out;
	}
	{
		char *esc = curl_easy_escape(curl, dep, 0);

		(void)buf_printf(&url, "/api/v1/deployments/%s/%s%s", esc ? esc : dep, cmd, full ? "?full=1" : "");
		curl_free(esc);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	res = curl_easy_perform(curl);
	if (res != CURLE_OK) {
		fprintf(stderr, "auriga %s: %s: %s\n", cmd, url.data, curl_easy_strerror(res));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		printf("auriga %s: %s: accepted\n", cmd, dep);
		rc = 0;
	} else {
		fprintf(stderr, "auriga %s: %s: %ld %s\n", cmd, dep, status, body.len ? body.data : "");
	}
out:
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	buf_release(&url);
	buf_release(&body);
	buf_release(&token);
	buf_release(&auth);
	return rc;
}

int cmd_promote(int argc, char **argv)
{
	return act("promote", argc, argv);
}

int cmd_abort(int argc, char **argv)
{
	return act("abort", argc, argv);
}
