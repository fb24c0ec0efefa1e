/* The routes of the controller's HTTP server: which handler a request's path names, and what it carries. */
#ifndef AURIGA_HTTPD_ROUTE_H
#define AURIGA_HTTPD_ROUTE_H

#include "buf.h"
#include "surface/httpd.h"
#include "surface/httpd_util.h"
#include "surface/webhook.h"

#define NAME_MAX_LEN HTTPD_NAME_MAX

struct ui_asset;

enum route {
	R_NONE,
	R_LIVE,
	R_READY,
	R_STARTUP,
	R_METRICS,
	R_STATUS,
	R_DEPLOYMENT,
	R_ACTION,
	R_SYNC,
	R_WEBHOOK,
	R_NOTES,
	R_BACKUPS,
	R_DRILLS,
	R_UI,
	R_APPROVE,	/* a commit's approval for promotion: name holds the commit */
};

struct request {
	enum route route;
	int started;
	int post;			/* the route wants POST (else GET) */
	enum httpd_action action;
	enum webhook_provider provider;
	const struct ui_asset *asset;	/* R_UI */
	char name[NAME_MAX_LEN + 1];
	struct buf body;
};

/* The route's name in auriga_http_requests_total{handler}, in enum route's order. */
extern const char *const httpd_route_names[];

/* Maps a path to a route (and the deployment, action or webhook provider it names); R_NONE when nothing matches. */
void httpd_route(struct request *r, const char *url);

#endif
