/* The operator's policy file read from disk: a bounded read of a regular file, then the pure parser in api/policy.c. */
#include "source/policy_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "runtime/file.h"
#include "util.h"

static int diags_error(struct spec_diags *d, const char *path, struct error **err)
{
	struct buf b = BUF_INIT_MAX(16384);
	size_t i;
	int rc;

	spec_diags_sort(d);
	buf_printf(&b, "policy file '%s': %zu problem%s", path, d->n, d->n == 1 ? "" : "s");
	for (i = 0; i < d->n; i++) {
		char *line = spec_diag_format(&d->v[i]);

		if (buf_printf(&b, "\n%s", line) < 0) {
			free(line);
			break;
		}
		free(line);
	}
	rc = error_set(err, ERR_INVALID, "%s", b.data);
	buf_release(&b);
	return rc;
}

/*
 * Each tcp:// endpoint's TLS folder holds Docker's three files: a missing
 * one is told at its certPath, naming the endpoint, before anything runs.
 */
static void check_cert_folders(const struct spec_policy *p, const char *path, struct spec_diags *d)
{
	static const char *const files[] = { "ca.pem", "cert.pem", "key.pem" };
	size_t i, j;

	for (i = 0; i < p->n_endpoints; i++) {
		const struct spec_policy_endpoint *e = &p->endpoints[i];
		struct spec_pos pos = { path, e->line, e->col };
		char key[48], file[4096];

		if (e->cert_path == NULL)
			continue;
		snprintf(key, sizeof(key), "endpoints[%zu].certPath", i);
		for (j = 0; j < ARRAY_SIZE(files); j++) {
			snprintf(file, sizeof(file), "%s/%s", e->cert_path, files[j]);
			if (access(file, R_OK) < 0)
				spec_diags_add(d, &pos, NULL, NULL, key, "endpoint \"%s\": TLS folder \"%s\" has no "
					       "readable %s (Docker's convention: ca.pem, cert.pem, key.pem)", e->name,
					       e->cert_path, files[j]);
		}
	}
}

int policy_file_load(struct spec_policy **out, const char *path, const char *local_url, struct error **err)
{
	struct spec_policy *p = xmalloc(sizeof(*p));
	struct buf b = BUF_INIT_MAX(POLICY_FILE_MAX);
	struct spec_diags d;
	int rc = 0;

	*out = NULL;
	spec_policy_init(p);
	spec_diags_init(&d);
	if (path == NULL || path[0] == '\0')
		goto out;
	rc = file_read(path, "policy file", FILE_REGULAR, &b, err);
	if (rc < 0)
		goto out;
	if (spec_policy_parse(p, path, b.data, b.len, &d) == 0)
		check_cert_folders(p, path, &d);
	if (d.n > 0)
		rc = diags_error(&d, path, err);
out:
	if (rc == 0 && local_url && local_url[0])
		p->local_url = xstrdup(local_url);
	buf_release(&b);
	spec_diags_release(&d);
	if (rc < 0) {
		policy_file_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void policy_file_free(struct spec_policy *p)
{
	if (p == NULL)
		return;
	spec_policy_release(p);
	free(p);
}
