/* The reports of every drill: a JSON file in the state folder, written atomically, served on the HTTP API. */
#include "status/drill_records.h"

#include "status/backup_records.h"
#include "status/records_lock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runtime/file.h"
#include "util.h"

int drill_records_load(json_t **out, const char *path, struct error **err)
{
	return records_file_list(path, "drills", DRILL_RECORDS_MAX, out, err);
}

/* Under path's lock: the list read, fn's change (1: write it), the file replaced. */
static int update(const char *path, int (*fn)(json_t *list, void *arg, struct error **err), void *arg,
		  struct error **err)
{
	char *lock = xasprintf("%s.lock", path), *text = NULL;
	json_t *list = NULL, *doc = NULL;
	int fd = -1, rc;

	rc = records_lock(lock, 1, &fd, err);
	if (rc >= 0)
		rc = drill_records_load(&list, path, err);
	if (rc >= 0)
		rc = fn(list, arg, err);
	if (rc == 1) {
		while (json_array_size(list) > DRILL_RECORDS_KEEP)
			json_array_remove(list, 0);
		doc = json_pack("{s:O}", "drills", list);
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (file_replace(path, "drills file", text, strlen(text), 0644, err) < 0)
			rc = -1;
	}
	records_unlock(fd);
	json_decref(doc);
	json_decref(list);
	FREE_ALL(text, lock);
	return rc;
}

static int put_report(json_t *list, void *arg, struct error **err)
{
	json_t *report = arg, *v;
	const char *id = json_string_value(json_object_get(report, "id"));
	size_t i;

	(void)err;
	json_array_foreach(list, i, v) {
		const char *vid = json_string_value(json_object_get(v, "id"));

		if (id && vid && strcmp(id, vid) == 0)
			return json_array_set(list, i, report) == 0 ? 1 : -1;
	}
	json_array_append(list, report);
	return 1;
}

int drill_records_append(const char *path, json_t *report, struct error **err)
{
	return update(path, put_report, report, err) < 0 ? -1 : 0;
}

static int settle(json_t *list, void *arg, struct error **err)
{
	const char *state_dir = arg;
	json_t *v;
	size_t i;
	int n = 0, free_now;

	json_array_foreach(list, i, v) {
		const char *st = json_string_value(json_object_get(v, "status"));
		const char *policy = json_string_value(json_object_get(v, "policy"));

		if (st == NULL || policy == NULL || strcmp(st, "running") != 0)
			continue;
		free_now = records_run_free(state_dir, "drill", policy, err);
		if (free_now < 0)
			return -1;
		if (free_now == 0)
			continue;
		json_object_set_new(v, "status", json_string("failed"));
		json_object_set_new(v, "stage", json_string("interrupted"));
		json_object_set_new(v, "message",
				    json_string("interrupted: the process running it ended before it reported"));
		n++;
	}
	return n > 0 ? 1 : 0;
}

int drill_records_settle(const char *state_dir, struct error **err)
{
	char *path = xasprintf("%s/%s", state_dir, DRILL_RECORDS_FILE);
	int rc = update(path, settle, (void *)state_dir, err);

	free(path);
	return rc;
}

json_t *drill_records_json_at(const char *state_dir, char **why)
{
	char *path = xasprintf("%s/%s", state_dir, DRILL_RECORDS_FILE);
	struct error *err = NULL;
	json_t *a = NULL;

	if (drill_records_load(&a, path, &err) < 0) {
		*why = xstrdup(error_msg(err));
		error_free(err);
	}
	free(path);
	return a;
}

int drill_records_due(const json_t *list, const char *policy, const struct cron *c, int64_t now_s, int64_t *next_s)
{
	int64_t last = -1;
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *p = json_string_value(json_object_get(v, "policy"));
		json_int_t t = json_integer_value(json_object_get(v, "timeMs"));

		if (p && strcmp(p, policy) == 0 && t / 1000 > last)
			last = t / 1000;
	}
	if (last < 0) {
		*next_s = now_s;
		return 1;
	}
	*next_s = cron_next(c, last);
	return *next_s >= 0 && *next_s <= now_s;
}
