/* Small pure parts of the HTTP server: listen and client addresses, deployment names in paths, status codes of errors. */
#ifndef AURIGA_HTTPD_UTIL_H
#define AURIGA_HTTPD_UTIL_H

#include "error.h"

#include <stddef.h>
#include <sys/socket.h>

struct MHD_Connection;

/* The longest deployment name a path may carry. */
#define HTTPD_NAME_MAX 128

/* 1 when a and b are the same client address (IPv4 or IPv6, ports aside). */
int httpd_util_same_client(const struct sockaddr_storage *a, const struct sockaddr *b);
/* sa's address as text in out ("?" when unknown); returns out. */
const char *httpd_util_addr_text(const struct sockaddr *sa, char *out, size_t n);
/* The connection's client address as text in out; returns out. */
const char *httpd_util_remote_addr(struct MHD_Connection *c, char *out, size_t n);
/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address) into *ss and *len; *v6 set for IPv6. */
int httpd_util_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, int *v6,
			    struct error **err);
/* 1 when s[0..len) is a deployment name a path may carry: letters, digits, '-', '_', '.'. */
int httpd_util_valid_name(const char *s, size_t len);
/* The HTTP status that answers an error: 404, 409, 503, 400, else 500. */
unsigned httpd_util_status_of(const struct error *e);

#endif
