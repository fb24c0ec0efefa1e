/* The notes written lately: a short list, newest first, one entry per commit, under its own lock. */
#include "status/notes_recent.h"

#include "status/status.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void notes_recent_init(struct notes_recent *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

static void entry_release(struct notes_recent_entry *e)
{
	FREE_ALL(e->commit, e->text);
	memset(e, 0, sizeof(*e));
}

void notes_recent_release(struct notes_recent *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		entry_release(&r->v[i]);
	r->n = 0;
	pthread_mutex_destroy(&r->lock);
}

void notes_recent_add(struct notes_recent *r, const char *commit, const char *text, int64_t at_ms)
{
	size_t i, drop;

	pthread_mutex_lock(&r->lock);
	/* The entry that leaves: the commit's older note, else the oldest when the list is full. */
	for (drop = 0; drop < r->n; drop++)
		if (strcmp(r->v[drop].commit, commit) == 0)
			break;
	if (drop == r->n && r->n == NOTES_RECENT_MAX)
		drop = r->n - 1;
	if (drop < r->n)
		entry_release(&r->v[drop]);
	else
		r->n++;
	for (i = drop; i > 0; i--)
		r->v[i] = r->v[i - 1];
	r->v[0].commit = xstrdup(commit);
	r->v[0].text = xstrdup(text);
	r->v[0].written_at = at_ms;
	pthread_mutex_unlock(&r->lock);
}

json_t *notes_recent_json(struct notes_recent *r, size_t limit)
{
	json_t *out = json_array();
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n && i < limit; i++) {
		const struct notes_recent_entry *e = &r->v[i];
		const char *nl = strchr(e->text, '\n');
		char at[40] = "";

		status_format_time(e->written_at, at, sizeof(at));
		json_array_append_new(out, json_pack("{s:s,s:s%,s:s,s:s}", "commit", e->commit, "summary", e->text,
						     nl ? (size_t)(nl - e->text) : strlen(e->text), "note", e->text,
						     "writtenAt", at));
	}
	pthread_mutex_unlock(&r->lock);
	return out;
}
