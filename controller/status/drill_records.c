/* The reports of every drill: a JSON file in the state folder, written atomically, served on the HTTP API. */
#include "status/drill_records.h"

#include "status/backup_records.h"

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

int drill_records_append(const char *path, json_t *report, struct error **err)
{
	json_t *list = NULL, *doc;
	char *text;
	int rc = drill_records_load(&list, path, err);

	if (rc < 0)
		return rc;
	json_array_append(list, report);
	while (json_array_size(list) > DRILL_RECORDS_KEEP)
		json_array_remove(list, 0);
	doc = json_pack("{s:o}", "drills", list);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	rc = file_replace(path, "drills file", text, strlen(text), 0644, err);
	free(text);
	json_decref(doc);
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
