/* One backup of a BackupPolicy on Docker, waited for: the Job with its target at /backup, the dump read back and hashed by auriga. */
#include "engine/backup.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/volume.h"
#include "model/desired.h"
#include "model/observe.h"
#include "policy.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "spec_backup.h"
#include "status/backup_records.h"
#include "strv.h"
#include "util.h"

#define COMPONENT "backup"
/* What a failed Job's report quotes of its output. */
#define BACKUP_TAIL_LINES 20
#define BACKUP_TAIL_BYTES 2048

void backup_result_release(struct backup_result *r)
{
	FREE_ALL(r->message, r->target);
	memset(r, 0, sizeof(*r));
}

char *backup_volume_name(const char *instance, const char *volume)
{
	char *dep = xasprintf("backup:%s", volume), *full = desired_volume_name(instance, dep, volume, -1);
	/* desired_volume_name ends in ".<10 hex>": a deployment name cannot hold ':', so no volume of one is this. */
	char *out = xasprintf("backup.%s.%s", volume, strrchr(full, '.') + 1);

	FREE_ALL(dep, full);
	return out;
}

char *backup_file_name(const char *policy, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char at[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(at, sizeof(at), "%Y%m%dT%H%M%S", &tm) == 0)
		BUG("cannot format a time");
	return xasprintf("%s-%s.%03dZ.dump", policy, at, (int)(ms % 1000));
}

void backup_record_from(struct backup_record *rec, const char *policy, const char *file, const char *commit,
			int64_t time_ms, const struct backup_result *res)
{
	memset(rec, 0, sizeof(*rec));
	rec->policy = (char *)policy;
	rec->file = (char *)file;
	rec->target = res->target;
	rec->commit = (char *)(commit ? commit : "");
	rec->sha256 = res->ok ? (char *)res->sha256 : "";
	rec->message = res->message ? res->message : "";
	rec->time_ms = time_ms;
	rec->duration_ms = res->duration_ms;
	rec->size = res->size;
	rec->status = res->ok ? BACKUP_OK : BACKUP_FAILED;
}

char *backup_network(const struct spec_set *set, const struct spec_backup_policy *p, const char *prefix)
{
	const char *n = p->job.network;

	if (n == NULL)
		return NULL;
	if (spec_policy_network_allowed(set ? set->policy : NULL, n) || !spec_set_network_of_deployment(set, n) ||
	    strcmp(n, "host") == 0 || strcmp(n, "bridge") == 0 || strcmp(n, "none") == 0 || strncmp(n, "container:", 10) == 0)
		return xstrdup(n);
	return desired_prefixed(prefix, n);
}

/* ---- the tar stream ---- */

static uint64_t tar_number(const unsigned char *f, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (f[0] & 0x80) {	/* base-256, for sizes past 8 GiB */
		for (i = 1; i < n; i++)
			v = (v << 8) | f[i];
		return v;
	}
	for (i = 0; i < n && (f[i] == ' ' || f[i] == '\0'); i++)
		;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = (v << 3) | (uint64_t)(f[i] - '0');
	return v;
}

int backup_tar_file(const char *tar, size_t len, const char **data, uint64_t *size, struct error **err)
{
	static const unsigned char zero[512];
	size_t off = 0;

	while (off + 512 <= len) {
		const unsigned char *h = (const unsigned char *)tar + off;
		uint64_t n;

		if (memcmp(h, zero, sizeof(zero)) == 0)
			break;
		n = tar_number(h + 124, 12);
		if (n > len - off - 512)
			return error_set(err, ERR_PROTOCOL, "the archive is cut short inside '%.100s'", (const char *)h);
		if (h[156] == '0' || h[156] == '\0') {
			*data = tar + off + 512;
			*size = n;
			return 0;
		}
		/* Extended headers (x, g, GNU L and K) describe the next entry; anything else is not a file. */
		if (!strchr("xgLK", h[156]))
			return error_set(err, ERR_INVALID, "'%.100s' is not a regular file (tar type '%c')",
					 (const char *)h, h[156]);
		off += 512 + (size_t)((n + 511) / 512 * 512);
	}
	return error_set(err, ERR_PROTOCOL, "the archive holds no file");
}

/* ---- Docker calls, waited for ---- */

/* Zeroes w, makes the call with it, and runs the loop until it answers. */
#define WAIT(d, w, call) (memset((w), 0, sizeof(*(w))), (call) < 0 ? DOCKER_BAD_REQUEST : docker_wait((d), (w)))

struct vol_wait {
	int done, ok;
	char *name, *msg;
};

static void on_volume(int ok, const char *name, const char *msg, void *arg)
{
	struct vol_wait *vw = arg;

	vw->done = 1;
	vw->ok = ok;
	vw->name = xstrdup_or_null(name);
	vw->msg = xstrdup_or_null(msg);
}

/* The labels of everything a backup makes: the extra ones, then whose it is. */
static struct kv *make_labels(const struct backup_request *rq, size_t *n)
{
	struct kv *l = xcalloc(rq->n_labels + 2, sizeof(*l));
	size_t i;

	for (i = 0; i < rq->n_labels; i++)
		l[i] = rq->labels[i];
	l[i].key = (char *)BACKUP_OF_LABEL;
	l[i++].value = (char *)rq->instance;
	l[i].key = (char *)BACKUP_POLICY_LABEL;
	l[i++].value = rq->policy->meta.name;
	*n = i;
	return l;
}

/* The target at /backup: the host path, or the volume made ready as auriga's. */
static int target_mount(struct docker *d, const struct backup_request *rq, struct docker_mount *m, char **source,
			struct error **err)
{
	const struct spec_backup_policy *p = rq->policy;
	struct volume_want w;
	struct vol_wait vw;
	struct kv *labels;
	size_t n, i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->target = "/backup";
	if (p->target_host_path) {
		*source = xstrdup(p->target_host_path);
		m->source = *source;
		m->bind = 1;
		return 0;
	}
	memset(&w, 0, sizeof(w));
	memset(&vw, 0, sizeof(vw));
	labels = xcalloc(rq->n_labels + 2, sizeof(*labels));
	for (i = 0; i < rq->n_labels; i++)
		labels[i] = rq->labels[i];
	w.name = *source = backup_volume_name(rq->instance, p->target_volume);
	w.instance = rq->instance;
	w.deployment = xasprintf("backup:%s", p->target_volume);
	labels[i].key = (char *)OBS_LABEL_MANAGED_BY;
	labels[i++].value = (char *)rq->instance;
	labels[i].key = (char *)OBS_LABEL_DEPLOYMENT;
	labels[i++].value = (char *)w.deployment;
	n = i;
	w.labels = labels;
	w.n_labels = n;
	rc = volume_ensure(d, DOCKER_ROLLOUT, &w, on_volume, &vw, err);
	while (rc == 0 && !vw.done)
		(void)loop_run_once(docker_loop(d), 1000);
	if (rc == 0 && !vw.ok)
		rc = error_set(err, ERR_GENERIC, "target volume '%s': %s", p->target_volume, vw.msg ? vw.msg : "?");
	m->source = *source;
	FREE_ALL((void *)w.deployment, labels, vw.name, vw.msg);
	return rc;
}

/* Creates (and starts, when start) a container of the Job's image with the target mounted; its id in *id. */
static int make_container(struct docker *d, const struct backup_request *rq, const char *name,
			  const char *const *entrypoint, const char *const *env, const struct docker_mount *m, int start,
			  char **id, struct error **err)
{
	struct desired_tmpl t;
	struct docker_create_spec cs;
	struct docker_waiter w;
	struct kv *labels;
	size_t n;
	int rc = 0;

	desired_tmpl_from_spec(&t, &rq->policy->job);
	labels = make_labels(rq, &n);
	memset(&cs, 0, sizeof(cs));
	cs.name = name;
	cs.image = t.image;
	cs.entrypoint = entrypoint;
	cs.env = env;
	cs.labels = labels;
	cs.n_labels = n;
	cs.mounts = m;
	cs.n_mounts = 1;
	cs.network = rq->network ? rq->network : t.network;
	cs.restart_policy = "no";
	cs.user = t.user;
	if (!docker_status_ok(WAIT(d, &w, docker_container_create(d, DOCKER_ROLLOUT, &cs, docker_waiter_done, &w, err))) ||
	    w.result.id == NULL) {
		rc = error_set(err, ERR_GENERIC, "cannot create container '%s': %s", name, docker_result_reason(&w.result));
		goto out;
	}
	*id = xstrdup(w.result.id);
	docker_result_release(&w.result);
	if (start && !docker_status_ok(WAIT(d, &w, docker_container_start(d, DOCKER_ROLLOUT, *id, docker_waiter_done, &w, err))))
		rc = error_set(err, ERR_GENERIC, "cannot start container '%s': %s", name, docker_result_reason(&w.result));
out:
	docker_result_release(&w.result);
	desired_tmpl_release(&t);
	free(labels);
	return rc;
}

static void remove_container(struct docker *d, const char *id)
{
	struct docker_waiter w;

	if (id == NULL)
		return;
	/* v=1: the anonymous volumes the image declares (a database image's data folder) go too; named ones stay. */
	if (!docker_status_ok(WAIT(d, &w, docker_container_remove(d, DOCKER_ROLLOUT, id, 1, 1, docker_waiter_done, &w,
								   NULL))))
		log_warn(COMPONENT, "cannot remove container", "id", id, "message", docker_result_reason(&w.result),
			 (char *)NULL);
	docker_result_release(&w.result);
}

/* The Job failed: its exit code and the last lines of its output. */
static char *failure_message(struct docker *d, const char *id, int64_t code)
{
	struct docker_waiter w;
	struct buf m = BUF_INIT_MAX(BACKUP_TAIL_BYTES + 256);

	(void)buf_printf(&m, "the backup Job exited with %lld", (long long)code);
	if (docker_status_ok(WAIT(d, &w, docker_container_logs(d, DOCKER_PROBE, id, BACKUP_TAIL_LINES,
								docker_waiter_done, &w, NULL)))) {
		const struct buf *o = w.result.err.len ? &w.result.err : &w.result.out;
		size_t from = o->len > BACKUP_TAIL_BYTES ? o->len - BACKUP_TAIL_BYTES : 0;

		(void)buf_puts(&m, ": ");
		(void)buf_append(&m, o->data + from, o->len - from);
	}
	docker_result_release(&w.result);
	while (m.len && (m.data[m.len - 1] == '\n' || m.data[m.len - 1] == ' '))
		m.data[--m.len] = '\0';
	return buf_detach(&m, NULL);
}

int backup_digest(const char *tar, size_t len, struct backup_result *out, struct error **err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdn = 0;
	const char *data = NULL;
	uint64_t size = 0;

	if (backup_tar_file(tar ? tar : "", tar ? len : 0, &data, &size, err) < 0)
		return -1;
	if (!EVP_Digest(data, (size_t)size, md, &mdn, EVP_sha256(), NULL) || mdn != 32)
		BUG("sha256 failed");
	hex_encode(md, mdn, out->sha256);
	out->size = size;
	out->ok = 1;
	return 0;
}

/* Reads /backup/FILE back from the exited container and hashes it. */
static void read_back(struct docker *d, const struct backup_request *rq, const char *id, struct backup_result *out)
{
	struct docker_waiter w;
	struct error *err = NULL;
	char *path = xasprintf("/backup/%s", rq->file);

	if (!docker_status_ok(WAIT(d, &w, docker_container_archive(d, DOCKER_ROLLOUT, id, path, rq->max_bytes,
								    docker_waiter_done, &w, NULL)))) {
		out->message = xasprintf("the file %s cannot be read back: %s", path,
					 w.result.status == DOCKER_NOT_FOUND ? "it is not there" : docker_result_reason(&w.result));
		goto out;
	}
	if (backup_digest(w.result.out.data, w.result.out.len, out, &err) < 0)
		out->message = xasprintf("the backup Job's file %s: %s", path, error_msg(err));
out:
	error_free(err);
	docker_result_release(&w.result);
	free(path);
}

/* The container's name: the instance's, the policy's and the file's, as Docker takes names. */
static char *container_name(const struct backup_request *rq, const char *what)
{
	char *n = xasprintf("%s-backup-%s%s", rq->instance, what, rq->file), *p;

	for (p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == '_'))
			*p = '-';
	return n;
}

int backup_take(struct docker *d, const struct backup_request *rq, struct backup_result *out, struct error **err)
{
	const struct spec_backup_policy *p = rq->policy;
	static const char *const none[] = { NULL };
	struct docker_waiter w;
	struct docker_mount m;
	struct desired_tmpl t;
	char *source = NULL, *id = NULL, *name = container_name(rq, "");
	char **env = NULL;
	int64_t start = now_ms();
	size_t n = 0, base = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	desired_tmpl_from_spec(&t, &p->job);
	rc = target_mount(d, rq, &m, &source, err);
	if (rc < 0)
		goto out;
	out->target = xasprintf("%s %s", p->target_host_path ? "hostPath" : "volume", source);
	/* The template's own variables are borrowed; the three added after them are freed here. */
	base = n = t.env ? strv_len(t.env) : 0;
	env = xcalloc(n + 4, sizeof(*env));
	if (n > 0)
		memcpy(env, t.env, n * sizeof(*env));
	env[n++] = xasprintf("AURIGA_BACKUP_FILE=%s", rq->file);
	env[n++] = xasprintf("AURIGA_BACKUP_POLICY=%s", p->meta.name);
	env[n++] = xasprintf("AURIGA_COMMIT=%s", rq->commit ? rq->commit : "");
	log_info(COMPONENT, "backup", "policy", p->meta.name, "file", rq->file, "target", out->target, "container", name,
		 (char *)NULL);
	rc = make_container(d, rq, name, t.entrypoint ? (const char *const *)t.entrypoint : none,
			    (const char *const *)env, &m, 1, &id, err);
	if (rc < 0)
		goto out;
	if (!docker_status_ok(WAIT(d, &w, docker_container_wait(d, DOCKER_ROLLOUT, id, NULL,
								 (int64_t)p->active_deadline_seconds * 1000,
								 docker_waiter_done, &w, err))))
		out->message = xasprintf("the backup Job did not end within its deadline (activeDeadlineSeconds %d): %s",
					 p->active_deadline_seconds, docker_result_reason(&w.result));
	else if (w.result.exit_code != 0)
		out->message = failure_message(d, id, w.result.exit_code);
	else
		read_back(d, rq, id, out);
out:
	remove_container(d, id);
	out->duration_ms = now_ms() - start;
	if (out->message == NULL)
		out->message = xstrdup("");
	docker_result_release(&w.result);
	for (i = base; env && i < n; i++)
		free(env[i]);
	free(env);
	desired_tmpl_release(&t);
	FREE_ALL(source, id, name);
	return rc;
}

int backup_remove_files(struct docker *d, const struct backup_request *rq, const char *const *files, size_t n,
			struct error **err)
{
	static const char *const no_env[] = { NULL };
	struct docker_waiter w;
	struct docker_mount m;
	char *source = NULL, *id = NULL, *name = container_name(rq, "prune-"), **argv;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	argv = xcalloc(n + 4, sizeof(*argv));
	argv[0] = xstrdup("rm");
	argv[1] = xstrdup("-f");
	argv[2] = xstrdup("--");
	for (i = 0; i < n; i++)
		argv[3 + i] = xasprintf("/backup/%s", files[i]);
	rc = target_mount(d, rq, &m, &source, err);
	if (rc == 0)
		rc = make_container(d, rq, name, (const char *const *)argv, no_env, &m, 1, &id, err);
	if (rc < 0)
		goto out;
	if (!docker_status_ok(WAIT(d, &w, docker_container_wait(d, DOCKER_ROLLOUT, id, NULL, 0, docker_waiter_done, &w,
								 err))) || w.result.exit_code != 0) {
		rc = error_set(err, ERR_GENERIC, "the container removing old backups ended with %lld: %s",
			       (long long)w.result.exit_code, docker_result_reason(&w.result));
		goto out;
	}
	/* Removed is what Docker no longer finds on the target, not what rm said. */
	for (i = 0; i < n && rc == 0; i++) {
		docker_result_release(&w.result);
		if (WAIT(d, &w, docker_container_archive(d, DOCKER_ROLLOUT, id, argv[3 + i], 4096, docker_waiter_done, &w,
							  err)) != DOCKER_NOT_FOUND)
			rc = error_set(err, ERR_GENERIC, "old backup %s is still on the target after its removal",
				       argv[3 + i]);
	}
out:
	remove_container(d, id);
	docker_result_release(&w.result);
	strv_free(argv);
	FREE_ALL(source, id, name);
	return rc;
}

int backup_read_file(struct docker *d, const struct backup_request *rq, struct backup_result *out, struct error **err)
{
	static const char *const argv[] = { "true", NULL };
	struct docker_mount m;
	char *source = NULL, *id = NULL, *name = container_name(rq, "read-");
	int rc;

	memset(out, 0, sizeof(*out));
	rc = target_mount(d, rq, &m, &source, err);
	/* Never started: Docker's archive API reads the target through a container that only exists. */
	if (rc == 0)
		rc = make_container(d, rq, name, argv, argv + 1, &m, 0, &id, err);
	if (rc == 0) {
		out->target = xasprintf("%s %s", rq->policy->target_host_path ? "hostPath" : "volume", source);
		read_back(d, rq, id, out);
	}
	remove_container(d, id);
	if (out->message == NULL)
		out->message = xstrdup("");
	FREE_ALL(source, id, name);
	return rc;
}
