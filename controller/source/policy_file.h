/* The operator's policy file, read from disk (bounded, a regular file) and parsed by api/policy.c. */
#ifndef AURIGA_POLICY_FILE_H
#define AURIGA_POLICY_FILE_H

#include "error.h"
#include "policy.h"

/* The largest policy file read. */
#define POLICY_FILE_MAX (256 * 1024)

/*
 * Reads and parses the policy file at path into a new policy. path NULL or ""
 * gives the built-in policy (every escalation denied). A file that cannot be
 * read or holds an error is refused: err says which, one line per problem as
 * file:line:col: key: message. Never falls back to the built-in policy
 * when a file was named. A tcp:// endpoint's TLS folder missing one of
 * ca.pem, cert.pem, key.pem is a problem at its certPath. local_url is the
 * docker-host setting: the url of the endpoint "local" (NULL: the default).
 */
int policy_file_load(struct spec_policy **out, const char *path, const char *local_url, struct error **err);
void policy_file_free(struct spec_policy *p);

#endif
