/* The routes of the controller's HTTP server: a request's path to its handler, with the names it carries. */
#include "surface/httpd_route.h"

#include <stdio.h>
#include <string.h>

#include "surface/httpd_util.h"
#include "surface/ui.h"
#include "util.h"

const char *const httpd_route_names[] = { "notfound", "live", "ready", "startup", "metrics", "status",
					  "deployment", "action", "sync", "webhook", "notes", "backups", "drills", "ui",
					  "approve" };

void httpd_route(struct request *r, const char *url)
{
	static const struct {
		const char *path;
		enum route route;
	} fixed[] = {
		{ "/healthz", R_LIVE },	       { "/q/health/live", R_LIVE },
		{ "/readyz", R_READY },	       { "/q/health/ready", R_READY },
		{ "/q/health/startup", R_STARTUP }, { "/metrics", R_METRICS },
		{ "/api/v1/status", R_STATUS },    { "/api/v1/sync", R_SYNC },
		{ "/api/v1/notes", R_NOTES },
		{ "/api/v1/backups", R_BACKUPS },  { "/api/v1/drills", R_DRILLS },
	};
	static const struct {
		const char *verb;
		enum httpd_action action;
	} actions[] = {
		{ "promote", HTTPD_PROMOTE }, { "abort", HTTPD_ABORT }, { "rollback", HTTPD_ROLLBACK },
		{ "pause", HTTPD_PAUSE },     { "resume", HTTPD_RESUME },
	};
	const char *rest, *slash;
	size_t i;

	r->route = R_NONE;
	r->asset = ui_find(url);
	if (r->asset) {
		r->route = R_UI;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (strcmp(url, fixed[i].path) == 0) {
			r->route = fixed[i].route;
			r->post = r->route == R_SYNC;
			if (r->route == R_SYNC)
				r->action = HTTPD_SYNC;
			return;
		}
	}
	if (str_has_prefix(url, "/api/v1/webhooks/")) {
		if (webhook_provider_parse(url + strlen("/api/v1/webhooks/"), &r->provider) == 0) {
			r->route = R_WEBHOOK;
			r->post = 1;
		}
		return;
	}
	if (str_has_prefix(url, "/api/v1/commits/")) {
		rest = url + strlen("/api/v1/commits/");
		slash = strchr(rest, '/');
		if (slash && slash - rest == 40 && strspn(rest, "0123456789abcdef") == 40 && strcmp(slash, "/approve") == 0) {
			snprintf(r->name, sizeof(r->name), "%.40s", rest);
			r->route = R_APPROVE;
			r->post = 1;
			r->action = HTTPD_APPROVE;
		}
		return;
	}
	if (!str_has_prefix(url, "/api/v1/deployments/"))
		return;
	rest = url + strlen("/api/v1/deployments/");
	slash = strchr(rest, '/');
	if (!httpd_util_valid_name(rest, slash ? (size_t)(slash - rest) : strlen(rest)))
		return;
	snprintf(r->name, sizeof(r->name), "%.*s", (int)(slash ? (size_t)(slash - rest) : strlen(rest)),
		 rest);
	if (!slash) {
		r->route = R_DEPLOYMENT;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(slash + 1, actions[i].verb) == 0) {
			r->route = R_ACTION;
			r->post = 1;
			r->action = actions[i].action;
			return;
		}
	}
}
