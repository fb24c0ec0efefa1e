/* The backups file: every backup taken, kept or pruned, read within a bound and replaced atomically. */
#include "status/backup_records.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runtime/file.h"
#include "runtime/metrics_registry.h"
#include "status/records_lock.h"
#include "status/status.h"
#include "util.h"

static const char *const status_names[] = { "ok", "failed", "pruned", "running" };

const char *backup_status_name(enum backup_status s)
{
	return NAME_OF(status_names, s, "?");
}

static void record_release(struct backup_record *rec)
{
	FREE_ALL(rec->policy, rec->file, rec->target, rec->commit, rec->sha256, rec->message);
}

void backup_records_release(struct backup_records *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		record_release(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void backup_records_add(struct backup_records *r, const struct backup_record *rec)
{
	struct backup_record *c;

	XGROW(r->v, r->cap, r->n + 1);
	c = &r->v[r->n++];
	*c = *rec;
	c->policy = xstrdup(rec->policy ? rec->policy : "");
	c->file = xstrdup(rec->file ? rec->file : "");
	c->target = xstrdup(rec->target ? rec->target : "");
	c->commit = xstrdup(rec->commit ? rec->commit : "");
	c->sha256 = xstrdup(rec->sha256 ? rec->sha256 : "");
	c->message = xstrdup(rec->message ? rec->message : "");
}

void backup_records_put(struct backup_records *r, const struct backup_record *rec)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].policy, rec->policy) == 0 && strcmp(r->v[i].file, rec->file) == 0) {
			struct backup_record old = r->v[i];

			/* The copy is made before the old strings go: rec may borrow some of them. */
			backup_records_add(r, rec);
			r->v[i] = r->v[--r->n];
			record_release(&old);
			return;
		}
	}
	backup_records_add(r, rec);
}

json_t *backup_record_json(const struct backup_record *rec)
{
	char at[40] = "", pruned[40] = "";
	json_t *o;

	/* For people, as every time auriga shows (status_format_time); the file is read back by the milliseconds. */
	if (rec->time_ms > 0)
		(void)status_format_time(rec->time_ms, at, sizeof(at));
	if (rec->pruned_ms > 0)
		(void)status_format_time(rec->pruned_ms, pruned, sizeof(pruned));
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:I, s:s}", "policy", rec->policy, "file",
		      rec->file, "status", backup_status_name(rec->status), "time", at, "timeMs", (json_int_t)rec->time_ms,
		      "sha256", rec->sha256, "size", (json_int_t)rec->size, "commit", rec->commit, "target", rec->target,
		      "durationMs", (json_int_t)rec->duration_ms, "message", rec->message);
	if (o && rec->pruned_ms > 0) {
		json_object_set_new(o, "prunedAt", json_string(pruned));
		json_object_set_new(o, "prunedMs", json_integer(rec->pruned_ms));
	}
	if (o == NULL)
		BUG("cannot encode a backup record");
	return o;
}

static int record_from_json(struct backup_record *rec, json_t *o)
{
	const char *policy = NULL, *file = NULL, *status = NULL, *sha = "", *commit = "", *target = "", *msg = "";
	json_int_t t = 0, size = 0, dur = 0, pruned = 0;
	int st;

	if (json_unpack(o, "{s:s, s:s, s:s, s:I, s?s, s?I, s?s, s?s, s?I, s?s, s?I}", "policy", &policy, "file", &file,
			"status", &status, "timeMs", &t, "sha256", &sha, "size", &size, "commit", &commit, "target",
			&target, "durationMs", &dur, "message", &msg, "prunedMs", &pruned) < 0)
		return -1;
	st = name_index(status_names, ARRAY_SIZE(status_names), status);
	if (st < 0 || size < 0)
		return -1;
	memset(rec, 0, sizeof(*rec));
	rec->policy = (char *)policy;
	rec->file = (char *)file;
	rec->status = (enum backup_status)st;
	rec->time_ms = t;
	rec->sha256 = (char *)sha;
	rec->size = (uint64_t)size;
	rec->commit = (char *)commit;
	rec->target = (char *)target;
	rec->duration_ms = dur;
	rec->message = (char *)msg;
	rec->pruned_ms = pruned;
	return 0;
}

int records_file_list(const char *path, const char *key, size_t max, json_t **out, struct error **err)
{
	struct buf b = BUF_INIT_MAX(max);
	char what[32];
	json_error_t je;
	json_t *root = NULL, *list;
	int rc;

	*out = NULL;
	snprintf(what, sizeof(what), "%s file", key);
	rc = file_read(path, what, FILE_REGULAR, &b, err);
	if (rc == -ENOENT) {
		if (err) {
			error_free(*err);
			*err = NULL;
		}
		*out = json_array();
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	root = json_loadb(b.data, b.len, 0, &je);
	list = json_object_get(root, key);
	if (!json_is_array(list)) {
		rc = error_set(err, ERR_INVALID, "%s '%s': not a list of %s (line %d: %s)", what, path, key, je.line,
			       root ? "no list of that name" : je.text);
		goto out;
	}
	*out = json_incref(list);
out:
	json_decref(root);
	buf_release(&b);
	return rc;
}

int backup_records_load(struct backup_records *r, const char *path, struct error **err)
{
	json_t *list;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = records_file_list(path, "backups", BACKUP_RECORDS_MAX, &list, err);
	for (i = 0; rc == 0 && i < json_array_size(list); i++) {
		struct backup_record rec;

		if (record_from_json(&rec, json_array_get(list, i)) < 0) {
			rc = error_set(err, ERR_INVALID, "backups file '%s': backup %zu is malformed", path, i + 1);
			backup_records_release(r);
			break;
		}
		backup_records_add(r, &rec);
	}
	json_decref(list);
	return rc;
}

int backup_records_save(const struct backup_records *r, const char *path, struct error **err)
{
	json_t *list = json_array(), *doc;
	char *text;
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++)
		json_array_append_new(list, backup_record_json(&r->v[i]));
	doc = json_pack("{s:i, s:o}", "version", 1, "backups", list);
	text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return error_set(err, ERR_GENERIC, "cannot encode the backups file");
	rc = file_replace(path, "backups file", text, strlen(text), 0600, err);
	free(text);
	return rc;
}

size_t backup_records_to_prune(const struct backup_records *r, const char *policy, const struct retention_policy *p,
			       size_t **out)
{
	struct retention_item *items = xcalloc(r->n + 1, sizeof(*items));
	size_t *idx = xcalloc(r->n + 1, sizeof(*idx)), i, m = 0, n = 0;
	unsigned *keep;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].policy, policy) != 0 || r->v[i].status == BACKUP_PRUNED)
			continue;
		items[m].time = r->v[i].time_ms / 1000;
		items[m].good = r->v[i].status == BACKUP_OK;
		idx[m++] = i;
	}
	keep = xcalloc(m + 1, sizeof(*keep));
	(void)retention_select(items, m, p, keep);
	*out = xcalloc(m + 1, sizeof(**out));
	for (i = 0; i < m; i++)
		if (items[i].good && keep[i] == 0)
			(*out)[n++] = idx[i];
	FREE_ALL(items, idx, keep);
	return n;
}

const struct backup_record *backup_records_newest(const struct backup_records *r, const char *policy, int good_only)
{
	const struct backup_record *best = NULL;
	size_t i;

	for (i = 0; i < r->n; i++)
		if ((r->v[i].status == BACKUP_OK || !good_only) && strcmp(r->v[i].policy, policy) == 0 &&
		    (best == NULL || r->v[i].time_ms >= best->time_ms))
			best = &r->v[i];
	return best;
}

int backup_records_due(const struct backup_records *r, const char *policy, const struct cron *c, int64_t now_s,
		       int64_t *next_s)
{
	const struct backup_record *last = backup_records_newest(r, policy, 0);

	if (last == NULL) {
		*next_s = now_s;
		return 1;
	}
	*next_s = cron_next(c, last->time_ms / 1000);
	return *next_s >= 0 && *next_s <= now_s;
}

/* The same file as the last one read: replaced atomically, a new one has another inode or time. */
static int seen_same(struct backup_seen *seen, const char *path, int *missing)
{
	struct stat st;
	struct backup_seen now;

	memset(&now, 0, sizeof(now));
	*missing = 0;
	if (stat(path, &st) < 0) {
		*missing = errno == ENOENT;
	} else {
		now.dev = st.st_dev;
		now.ino = st.st_ino;
		now.size = st.st_size;
		now.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		now.valid = 1;
	}
	if (seen->valid && now.valid && seen->dev == now.dev && seen->ino == now.ino && seen->size == now.size &&
	    seen->mtime_ns == now.mtime_ns)
		return 1;
	*seen = now;
	return 0;
}

int backup_records_publish(const char *state_dir, struct backup_seen *seen, struct metric *gauge, struct error **err)
{
	char *path = xasprintf("%s/%s", state_dir, BACKUP_RECORDS_FILE);
	struct backup_records r;
	const char **policy = NULL;
	int64_t *newest = NULL;
	size_t i, k, n = 0;
	int rc, missing;

	if (seen_same(seen, path, &missing) || missing) {
		free(path);
		return 0;
	}
	rc = backup_records_load(&r, path, err);
	/* One walk: the newest good backup of each policy (a handful of policies, many records). */
	for (i = 0; rc == 0 && i < r.n; i++) {
		if (r.v[i].status != BACKUP_OK)
			continue;
		for (k = 0; k < n && strcmp(policy[k], r.v[i].policy) != 0; k++)
			;
		if (k == n) {
			policy = xrealloc(policy, (n + 1) * sizeof(*policy));
			newest = xrealloc(newest, (n + 1) * sizeof(*newest));
			policy[n] = r.v[i].policy;
			newest[n++] = r.v[i].time_ms;
		} else if (r.v[i].time_ms > newest[k]) {
			newest[k] = r.v[i].time_ms;
		}
	}
	for (k = 0; k < n; k++) {
		int64_t started_s = newest[k] / 1000;	/* the gauge is in whole seconds */

		metric_set(gauge, METRIC_LABELS(policy[k]), (double)started_s);
	}
	free(policy);
	free(newest);
	backup_records_release(&r);
	free(path);
	return rc;
}

json_t *backup_records_json_at(const char *state_dir, char **why)
{
	char *path = xasprintf("%s/%s", state_dir, BACKUP_RECORDS_FILE);
	struct backup_records r;
	struct error *err = NULL;
	json_t *a = NULL;

	if (backup_records_load(&r, path, &err) < 0) {
		*why = xstrdup(error_msg(err));
		error_free(err);
	} else {
		size_t i;

		a = json_array();
		for (i = 0; i < r.n; i++)
			json_array_append_new(a, backup_record_json(&r.v[i]));
		backup_records_release(&r);
	}
	free(path);
	return a;
}

int backup_records_update(const char *path, int (*fn)(struct backup_records *r, void *arg, struct error **err),
			  void *arg, struct error **err)
{
	char *lock = xasprintf("%s.lock", path);
	struct backup_records r;
	int fd = -1, rc;

	memset(&r, 0, sizeof(r));
	rc = records_lock(lock, 1, &fd, err);
	if (rc >= 0)
		rc = backup_records_load(&r, path, err);
	if (rc >= 0)
		rc = fn(&r, arg, err);
	if (rc == 1 && backup_records_save(&r, path, err) < 0)
		rc = -1;
	records_unlock(fd);
	backup_records_release(&r);
	free(lock);
	return rc;
}

static int put_one(struct backup_records *r, void *arg, struct error **err)
{
	(void)err;
	backup_records_put(r, arg);
	return 1;
}

int backup_records_record(const char *path, const struct backup_record *rec, struct error **err)
{
	return backup_records_update(path, put_one, (void *)rec, err) < 0 ? -1 : 0;
}

static int settle(struct backup_records *r, void *arg, struct error **err)
{
	const char *state_dir = arg;
	size_t i;
	int n = 0, free_now;

	for (i = 0; i < r->n; i++) {
		struct backup_record *b = &r->v[i];

		if (b->status != BACKUP_RUNNING)
			continue;
		free_now = records_run_free(state_dir, "backup", b->policy, err);
		if (free_now < 0)
			return -1;
		if (free_now == 0)
			continue;
		b->status = BACKUP_FAILED;
		b->duration_ms = wall_ms() - b->time_ms;
		str_set(&b->message, "interrupted: the process taking it ended before it recorded a result");
		n++;
	}
	return n > 0 ? 1 : 0;
}

int backup_records_settle(const char *state_dir, struct error **err)
{
	char *path = xasprintf("%s/%s", state_dir, BACKUP_RECORDS_FILE);
	int rc = backup_records_update(path, settle, (void *)state_dir, err);

	free(path);
	return rc;
}

/* The files retention no longer keeps, by name, for prune_mark. */
struct pruned {
	const char *policy;
	const char *const *files;
	size_t n;
};

static int prune_mark(struct backup_records *r, void *arg, struct error **err)
{
	const struct pruned *p = arg;
	size_t i, k;
	int changed = 0;

	(void)err;
	for (i = 0; i < r->n; i++)
		for (k = 0; k < p->n; k++)
			if (r->v[i].status == BACKUP_OK && strcmp(r->v[i].policy, p->policy) == 0 &&
			    strcmp(r->v[i].file, p->files[k]) == 0) {
				r->v[i].status = BACKUP_PRUNED;
				r->v[i].pruned_ms = wall_ms();
				changed = 1;
			}
	return changed;
}

int backup_records_mark_pruned(const char *path, const char *policy, const char *const *files, size_t n,
			       struct error **err)
{
	struct pruned pr = { policy, files, n };

	return backup_records_update(path, prune_mark, &pr, err) < 0 ? -1 : 0;
}
