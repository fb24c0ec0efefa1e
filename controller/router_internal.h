/* The router's private state, shared by the table (router.c) and the NGINX side (router_nginx.c). */
#ifndef AURIGA_ROUTER_INTERNAL_H
#define AURIGA_ROUTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "router.h"

struct router {
	char *config_path;
	char *listen_address;
	char *nginx;
	char **reload_argv;	/* NULL-terminated, or NULL */
	char *pid_file;
	int64_t timeout_ms;
	struct router_service *services;	/* owned copies */
	size_t n_services;
	size_t cap_services;
	char *current;		/* the text last applied */
	int reload_pending;	/* the file changed but NGINX was not reloaded yet */
};

#endif
