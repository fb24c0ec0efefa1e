/* `auriga promote|abort|pause|resume`, and rollback's first try: ask the running controller over its HTTP API. */
#include "cmd/cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cmd/control_cli.h"
#include "error.h"
#include "runtime/config.h"
#include "surface/token.h"
#include "util.h"

static const char *summary_of(const char *cmd)
{
	if (strcmp(cmd, "promote") == 0)
		return "Skips the current canary pause (or the pause until promoted), or the blue-green\n"
		       "wait for promotion or the rest of its monitor window.";
	if (strcmp(cmd, "abort") == 0)
		return "Returns all traffic of the release under way to the stable slot, removes the new\n"
		       "slot, and keeps the revision from being tried again until the commit changes; the\n"
		       "deployment's phase is Aborted.";
	if (strcmp(cmd, "pause") == 0)
		return "Holds a Rolling or Recreate deployment at its current step: no container is made or\n"
		       "removed for the rollout, probes go on, and the progress deadline stops, until\n"
		       "'auriga resume'. The mark is kept in the controller's state file across restarts.";
	if (strcmp(cmd, "approve") == 0)
		return "Approves COMMIT (its 40 hex digits) for the environment the controller follows, when its\n"
		       "promotion asks for approval: the controller records who approved it, when and for which\n"
		       "environment as a note on the commit under refs/notes/auriga-approvals-ENVIRONMENT\n"
		       "(pushed to the specs remote: a restart keeps it), and applies it once the rest of its\n"
		       "gate is passed (POST /api/v1/commits/COMMIT/approve).";
	return "Lets a paused deployment go on with its rollout; its progress deadline counts from now.";
}

static void usage(FILE *out, const char *cmd, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga %s [options] %s\n\n"
		"%s\n"
		"Sends POST /api/v1/%s/%s to the running controller (auriga run)\n"
		"at its listen address, which answers with the engine's verdict: 202 when it is\n"
		"accepted, 409 with the reason when it is refused, 404 for a deployment the specs do\n"
		"not have. The controller notes it on the deployment's status with who asked (the\n"
		"token file's \"# name:\") and the reason. With instance set, a controller of another\n"
		"instance at the address is refused (not checked when it is not set).\n\n"
		"options:\n",
		cmd, strcmp(cmd, "approve") == 0 ? "COMMIT" : "DEPLOYMENT", summary_of(cmd),
		strcmp(cmd, "approve") == 0 ? "commits/COMMIT" : "deployments/DEPLOYMENT", cmd);
	config_usage_cmd(out, cmd, extra);
	fprintf(out, "\nexit status: 0 accepted, 1 refused or no controller answers, 2 usage error.\n");
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

/* The X-Auriga-Instance header of the answer: which controller answered (an auriga of that instance). */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "x-auriga-instance:";
	char *out = arg;
	size_t n = size * nmemb, k = sizeof(name) - 1;

	if (n > k && strncasecmp(data, name, k) == 0) {
		while (k < n && data[k] == ' ')
			k++;
		while (n > k && (data[n - 1] == '\r' || data[n - 1] == '\n' || data[n - 1] == ' '))
			n--;
		snprintf(out, 128, "%.*s", (int)(n - k), data + k);
	}
	return size * nmemb;
}

/* The controller's refusal: the "error" of its JSON answer, or the body as it came. */
static void print_refusal(const struct control_call *c, long status, const struct buf *body)
{
	json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "error"));

	fprintf(stderr, "auriga %s: %s: refused by the controller at %s (%ld): %s\n", c->cmd, c->deployment,
		c->listen, status, msg ? msg : body->len ? body->data : "");
	json_decref(j);
}

/* The request's URL and body: the deployment escaped, ?full=1 (or ?unverified=1) and ?instance= when asked. */
static int request_of(CURL *curl, const struct control_call *c, struct buf *url, char **body)
{
	char *esc = curl_easy_escape(curl, c->deployment, 0), *inst = NULL;
	const char *query = c->full ? "?full=1" : c->unverified ? "?unverified=1" : "";
	int rc;

	if (c->instance && c->instance[0])
		inst = curl_easy_escape(curl, c->instance, 0);
	rc = buf_printf(url, "/api/v1/%s/%s/%s%s%s%s", strcmp(c->cmd, "approve") == 0 ? "commits" : "deployments",
			esc ? esc : c->deployment, c->cmd,
			query, inst ? (query[0] ? "&instance=" : "?instance=") : "", inst ? inst : "");
	curl_free(esc);
	curl_free(inst);
	*body = NULL;
	if (c->reason) {
		json_t *j = json_pack("{s:s}", "reason", c->reason);

		*body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (*body == NULL)
			rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

enum control_result control_cli_call(const struct control_call *c)
{
	struct curl_slist *hdrs = NULL;
	struct buf url, body = BUF_INIT_MAX(65536), token = BUF_INIT_MAX(API_TOKEN_MAX + 1), auth;
	char name[API_TOKEN_NAME_MAX + 1], *post = NULL, answered_by[128] = "";
	struct error *err = NULL;
	enum control_result rc = CONTROL_REFUSED;
	long status = 0;
	CURL *curl = NULL;
	CURLcode res;

	buf_init(&url, 2048);
	buf_init(&auth, API_TOKEN_MAX + 64);
	if (base_url(c->listen, &url) < 0) {
		fprintf(stderr, "auriga %s: listen address '%s': expected HOST:PORT\n", c->cmd, c->listen);
		rc = CONTROL_USAGE;
		goto out;
	}
	if (c->token_file && c->token_file[0]) {
		if (api_token_read(c->token_file, &token, name, sizeof(name), &err) < 0) {
			fprintf(stderr, "auriga %s: %s\n", c->cmd, error_msg(err));
			error_free(err);
			rc = CONTROL_USAGE;
			goto out;
		}
		(void)buf_printf(&auth, "Authorization: Bearer %s", token.data);
		hdrs = curl_slist_append(hdrs, auth.data);
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl = curl_easy_init();
	if (curl == NULL || request_of(curl, c, &url, &post) < 0) {
		fprintf(stderr, "auriga %s: cannot make the request\n", c->cmd);
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post ? post : "");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, answered_by);
	res = curl_easy_perform(curl);
	if (res == CURLE_COULDNT_CONNECT) {
		rc = CONTROL_NO_DAEMON;
		goto out;
	}
	if (res != CURLE_OK) {
		fprintf(stderr, "auriga %s: %s: %s\n", c->cmd, url.data, curl_easy_strerror(res));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	/* Asked for an instance: only a controller of that instance counts (421: another one; no header: not auriga). */
	if (status == 421 || (c->instance && c->instance[0] && strcmp(answered_by, c->instance) != 0)) {
		rc = CONTROL_NO_DAEMON;
	} else if (status >= 200 && status < 300) {
		printf("auriga %s: %s: accepted by the controller at %s\n", c->cmd, c->deployment, c->listen);
		rc = CONTROL_ACCEPTED;
	} else {
		print_refusal(c, status, &body);
	}
out:
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	free(post);
	buf_release(&url);
	buf_release(&body);
	if (token.cap)
		OPENSSL_cleanse(token.data, token.cap);
	buf_release(&token);
	if (auth.cap)
		OPENSSL_cleanse(auth.data, auth.cap);
	buf_release(&auth);
	return rc;
}

/* The settings, --reason, --timeout, --full and DEPLOYMENT: -1 to go on, or the exit status. */
static int act_args(struct control_call *c, int argc, char **argv, struct config **conf)
{
	int help = 0, n_timeout = 0, n_reason = 0, rc = -1;
	const char *timeout = NULL;
	struct config_extra_flag extra[] = {
		{ "reason", &n_reason, &c->reason, "TEXT", "why, recorded with the request (512 bytes at most)", 1, 0 },
		{ "timeout", &n_timeout, &timeout, "SECONDS", "give up after this long (1-300) [default: 10]", 1, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ "full", &c->full, NULL, NULL,
		  "finish the release at once: all traffic to the new slot, the remaining steps,\n"
		  "                             analysis and monitor window skipped (POST .../promote?full=1)", 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct error *err = NULL;
	char **pos = NULL;

	/* --full: promote's; approve's --unverified takes its place. */
	if (strcmp(c->cmd, "approve") == 0)
		extra[3] = (struct config_extra_flag){ "unverified", &c->unverified, NULL, NULL,
						       "let the commit through verifications the environment before did\n"
						       "                             not decide (Skipped, Inconclusive; never a Failed one),\n"
						       "                             recorded with who gave it (POST .../approve?unverified=1)",
						       0, 0 };
	else if (strcmp(c->cmd, "promote") != 0)
		extra[3].name = NULL;
	if (config_load(conf, argc, argv, NULL, extra, &pos, &err) < 0) {
		fprintf(stderr, "auriga %s: %s\n", c->cmd, error_msg(err));
		rc = 2;
	} else if (help) {
		usage(stdout, c->cmd, extra);
		rc = 0;
	} else if (timeout && parse_long(timeout, 1, 300, &c->timeout_s) < 0) {
		fprintf(stderr, "auriga %s: --timeout '%s': expected 1 to 300 seconds\n", c->cmd, timeout);
		rc = 2;
	} else if (pos[0] == NULL || pos[1] != NULL) {
		usage(stderr, c->cmd, extra);
		rc = 2;
	} else {
		c->deployment = pos[0];
	}
	free(pos);
	error_free(err);
	return rc;
}

static int act(const char *cmd, int argc, char **argv)
{
	struct control_call c;
	struct config *conf = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	c.timeout_s = 10;
	rc = act_args(&c, argc, argv, &conf);
	if (rc >= 0)
		goto out;
	c.listen = config_str(conf, CFG_LISTEN);
	c.token_file = config_str(conf, CFG_API_TOKEN_FILE);
	/* The instance is checked only when one was given: any controller at the address answers else. */
	if (config_source_of(conf, CFG_INSTANCE) != CFG_SRC_DEFAULT)
		c.instance = config_str(conf, CFG_INSTANCE);
	switch (control_cli_call(&c)) {
	case CONTROL_ACCEPTED:
		rc = 0;
		break;
	case CONTROL_USAGE:
		rc = 2;
		break;
	case CONTROL_NO_DAEMON:
		fprintf(stderr, "auriga %s: no controller%s%s answers at %s (auriga run --listen)\n", cmd,
			c.instance ? " of instance " : "", c.instance ? c.instance : "", c.listen);
		rc = 1;
		break;
	default:
		rc = 1;
		break;
	}
out:
	config_free(conf);
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

int cmd_pause(int argc, char **argv)
{
	return act("pause", argc, argv);
}

int cmd_resume(int argc, char **argv)
{
	return act("resume", argc, argv);
}

int cmd_approve(int argc, char **argv)
{
	return act("approve", argc, argv);
}
