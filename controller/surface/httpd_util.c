/* Small pure parts of the HTTP server: listen and client addresses, deployment names in paths, status codes of errors. */
#include "surface/httpd_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

int httpd_util_same_client(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	const void *pa = a, *pb = b;

	if (a->ss_family != b->sa_family)
		return 0;
	return b->sa_family == AF_INET ? memcmp(&((const struct sockaddr_in *)pa)->sin_addr,
						&((const struct sockaddr_in *)pb)->sin_addr, 4) == 0
	       : b->sa_family == AF_INET6 && memcmp(&((const struct sockaddr_in6 *)pa)->sin6_addr,
						    &((const struct sockaddr_in6 *)pb)->sin6_addr, 16) == 0;
}

const char *httpd_util_addr_text(const struct sockaddr *sa, char *out, size_t n)
{
	snprintf(out, n, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)n);
	return out;
}

const char *httpd_util_remote_addr(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return httpd_util_addr_text(ci ? ci->client_addr : NULL, out, n);
}

int httpd_util_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, int *v6,
			struct error **err)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[8];
	const char *colon = strrchr(listen, ':');
	size_t hl;
	int rc;

	if (!colon || strlen(colon + 1) >= sizeof(port) || colon[1] == '\0')
		return error_set(err, ERR_INVALID, "listen address '%s' is not HOST:PORT", listen);
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return error_set(err, ERR_INVALID, "listen address '%s' is too long", listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hl ? host : "0.0.0.0", port, &hints, &res);
	if (rc != 0)
		return error_set(err, ERR_INVALID, "listen address '%s': %s", listen, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

int httpd_util_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > HTTPD_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

unsigned httpd_util_status_of(const struct error *e)
{
	switch (error_code(e)) {
	case ERR_NOTFOUND:
		return MHD_HTTP_NOT_FOUND;
	case ERR_CONFLICT:
		return MHD_HTTP_CONFLICT;
	case ERR_UNAVAILABLE:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	case ERR_INVALID:
		return MHD_HTTP_BAD_REQUEST;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}
