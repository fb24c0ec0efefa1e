/* The state file: last healthy and failed revisions per deployment, as JSON replaced atomically with rename(2). */
#include "engine/statefile.h"
#include "runtime/file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "strv.h"
#include "util.h"

#define STATEFILE_VERSION 1

void statefile_init(struct statefile *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = xstrdup_or_null(path);
}

/*
 * An entry's rare part: made when the first of these is recorded, and gone
 * once none is left (rare_trim).
 */
struct statefile_rare {
	char failed_rev[SPEC_REVISION_HEX];	/* "" when none */
	char *failed_commit;
	char *failed_reason;
	int64_t failed_at;
	/*
	 * The rollout of progress_rev last made progress at progress_at (wall
	 * ms): progressDeadlineSeconds counts from here, across restarts.
	 */
	char progress_rev[SPEC_REVISION_HEX];	/* "" when none */
	int64_t progress_at;
	/*
	 * The hooks that completed for hooks_rev, as "STAGE/JOB" (preDeploy/backup):
	 * one is not run again for that revision, after a restart too. Records of
	 * an older revision go when the first of a new one is made.
	 */
	char hooks_rev[SPEC_REVISION_HEX];	/* "" when none */
	char **hooks_done;
	size_t n_hooks_done;
	/* Of those, the ones that failed (a marked postDeploy, an onRollback): key -> why. */
	struct kv *hooks_failed;
	size_t n_hooks_failed;
};

/* The entry's rare part, made when it has none. */
static struct statefile_rare *rare_of(struct statefile_entry *e)
{
	if (e->rare == NULL)
		e->rare = xcalloc(1, sizeof(*e->rare));
	return e->rare;
}

static void rare_free(struct statefile_rare *r)
{
	if (r == NULL)
		return;
	free(r->failed_commit);
	free(r->failed_reason);
	strv_free_n(r->hooks_done, r->n_hooks_done);
	kv_free(r->hooks_failed, r->n_hooks_failed);
	free(r);
}

/* The rare part goes once it holds nothing: no failure, no progress, no hooks' records. */
static void rare_trim(struct statefile_entry *e)
{
	const struct statefile_rare *r = e->rare;

	if (r != NULL && r->failed_rev[0] == '\0' && r->progress_rev[0] == '\0' && r->hooks_rev[0] == '\0') {
		rare_free(e->rare);
		e->rare = NULL;
	}
}

/* A rare part with nothing in it, for the readers of an entry that has none. */
static const struct statefile_rare no_rare;

static const struct statefile_rare *rare_or_none(const struct statefile_entry *e)
{
	return e->rare ? e->rare : &no_rare;
}

/* A template the state holds, counted by the entry's slots that share it. */
struct held_tmpl {
	unsigned refs;
	struct desired_tmpl t;
};

static struct held_tmpl *held_of(struct desired_tmpl *t)
{
	return (struct held_tmpl *)(void *)((char *)t - offsetof(struct held_tmpl, t));
}

static void tmpl_drop(struct desired_tmpl **t)
{
	struct held_tmpl *h;

	if (*t == NULL)
		return;
	h = held_of(*t);
	*t = NULL;
	if (--h->refs > 0)
		return;
	desired_tmpl_release(&h->t);
	free(h);
}

/* Takes ownership of *src's contents (src is zeroed). */
static struct desired_tmpl *tmpl_adopt(struct desired_tmpl *src)
{
	struct held_tmpl *h = xcalloc(1, sizeof(*h));

	h->refs = 1;
	h->t = *src;
	memset(src, 0, sizeof(*src));
	return &h->t;
}

/* 1 when the two templates are the same as the state file writes them. */
static int tmpl_same(const struct desired_tmpl *a, const struct desired_tmpl *b)
{
	json_t *ja, *jb;
	int same;

	if (a == b)
		return 1;
	ja = desired_tmpl_to_json(a);
	jb = desired_tmpl_to_json(b);
	same = json_equal(ja, jb);
	json_decref(ja);
	json_decref(jb);
	return same;
}

/* A template the entry keeps that is the same as tmpl, with one more reference; NULL when none is. */
static struct desired_tmpl *tmpl_shared(struct statefile_entry *e, const struct desired_tmpl *tmpl)
{
	struct desired_tmpl *kept[3] = { e->healthy_tmpl, e->applied_tmpl, e->previous_tmpl };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (kept[i] != NULL && tmpl_same(kept[i], tmpl)) {
			held_of(kept[i])->refs++;
			return kept[i];
		}
	}
	return NULL;
}

/* The entry's hold on tmpl: one it already keeps when the same (shared), otherwise a copy of its own. */
static struct desired_tmpl *tmpl_hold(struct statefile_entry *e, const struct desired_tmpl *tmpl)
{
	struct desired_tmpl *held = tmpl_shared(e, tmpl), copy;

	if (held != NULL)
		return held;
	desired_tmpl_copy(&copy, tmpl);
	return tmpl_adopt(&copy);
}

static void entry_release(struct statefile_entry *e)
{
	free(e->deployment);
	free(e->healthy_commit);
	tmpl_drop(&e->healthy_tmpl);
	tmpl_drop(&e->previous_tmpl);
	tmpl_drop(&e->applied_tmpl);
	rare_free(e->rare);
	memset(e, 0, sizeof(*e));
}

void statefile_release(struct statefile *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		entry_release(&s->v[i]);
	FREE_ALL(s->v, s->path, s->instance);
	memset(s, 0, sizeof(*s));
}

static size_t find_pos(const struct statefile *s, const char *dep, int *found)
{
	size_t lo = 0, hi = s->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(dep, s->v[mid].deployment);

		if (r == 0) {
			*found = 1;
			return mid;
		}
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct statefile_entry *statefile_get(struct statefile *s, const char *deployment, int create)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);

	if (found)
		return &s->v[pos];
	if (!create)
		return NULL;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	memmove(&s->v[pos + 1], &s->v[pos], (s->n - pos) * sizeof(*s->v));
	memset(&s->v[pos], 0, sizeof(*s->v));
	s->v[pos].deployment = xstrdup(deployment);
	s->n++;
	s->dirty = 1;
	return &s->v[pos];
}

void statefile_remove(struct statefile *s, const char *deployment)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);

	if (!found)
		return;
	entry_release(&s->v[pos]);
	memmove(&s->v[pos], &s->v[pos + 1], (s->n - pos - 1) * sizeof(*s->v));
	s->n--;
	s->dirty = 1;
}

static void set_rev(char dst[SPEC_REVISION_HEX], const char *rev)
{
	snprintf(dst, SPEC_REVISION_HEX, "%s", rev ? rev : "");
}

void statefile_set_healthy(struct statefile *s, const char *deployment, const char *rev,
			   const struct desired_tmpl *tmpl, const char *commit, int64_t at)
{
	struct statefile_entry *e = statefile_get(s, deployment, 1);

	if (e->has_healthy && strcmp(e->healthy_rev, rev) == 0 && e->healthy_commit && commit &&
	    strcmp(e->healthy_commit, commit) == 0)
		return;
	if (e->has_healthy && strcmp(e->healthy_rev, rev) != 0) {
		tmpl_drop(&e->previous_tmpl);
		e->previous_tmpl = e->healthy_tmpl;
		e->healthy_tmpl = NULL;
		set_rev(e->previous_rev, e->healthy_rev);
		e->has_previous = 1;
	}
	e->has_healthy = 1;
	set_rev(e->healthy_rev, rev);
	str_set(&e->healthy_commit, commit);
	e->healthy_at = at;
	if (tmpl != e->healthy_tmpl) {
		struct desired_tmpl *held = tmpl_hold(e, tmpl);

		tmpl_drop(&e->healthy_tmpl);
		e->healthy_tmpl = held;
	}
	s->dirty = 1;
}

void statefile_set_applied(struct statefile *s, const char *deployment, const char *rev,
			   const struct desired_tmpl *tmpl)
{
	struct statefile_entry *e = statefile_get(s, deployment, 1);

	if (e->has_applied && strcmp(e->applied_rev, rev) == 0)
		return;
	e->has_applied = 1;
	set_rev(e->applied_rev, rev);
	if (tmpl != e->applied_tmpl) {
		struct desired_tmpl *held = tmpl_hold(e, tmpl);

		tmpl_drop(&e->applied_tmpl);
		e->applied_tmpl = held;
	}
	s->dirty = 1;
}

void statefile_set_failed(struct statefile *s, const char *deployment, const char *rev, const char *commit,
			  const char *reason, int64_t at)
{
	struct statefile_entry *e = statefile_get(s, deployment, 1);
	struct statefile_rare *r = rare_of(e);

	set_rev(r->failed_rev, rev);
	str_set(&r->failed_commit, commit ? commit : "");
	str_set(&r->failed_reason, reason);
	r->failed_at = at;
	e->aborted = 0;
	rare_trim(e);
	s->dirty = 1;
}

void statefile_set_aborted(struct statefile *s, const char *deployment)
{
	struct statefile_entry *e = statefile_get(s, deployment, 1);

	e->aborted = 1;
	s->dirty = 1;
}

void statefile_set_paused(struct statefile *s, const char *deployment, int paused)
{
	struct statefile_entry *e = statefile_get(s, deployment, paused);

	if (e == NULL || e->paused == !!paused)
		return;
	e->paused = !!paused;
	s->dirty = 1;
}

void statefile_set_progress(struct statefile *s, const char *deployment, const char *rev, int64_t at)
{
	struct statefile_entry *e = statefile_get(s, deployment, rev[0] != '\0');
	struct statefile_rare *r;

	if (e == NULL || (strcmp(rare_or_none(e)->progress_rev, rev) == 0 && rare_or_none(e)->progress_at == at))
		return;
	r = rare_of(e);
	set_rev(r->progress_rev, rev);
	r->progress_at = at;
	rare_trim(e);
	s->dirty = 1;
}

int64_t statefile_progress(const struct statefile *s, const char *deployment, const char *rev)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);

	if (!found || strcmp(rare_or_none(&s->v[pos])->progress_rev, rev) != 0)
		return 0;
	return rare_or_none(&s->v[pos])->progress_at;
}

int statefile_hook_done(const struct statefile *s, const char *deployment, const char *rev, const char *key)
{
	int found;
	size_t pos = find_pos(s, deployment, &found), i;
	const struct statefile_rare *r;

	if (!found)
		return 0;
	r = rare_or_none(&s->v[pos]);
	if (strcmp(r->hooks_rev, rev) != 0)
		return 0;
	for (i = 0; i < r->n_hooks_done; i++)
		if (strcmp(r->hooks_done[i], key) == 0)
			return 1;
	return 0;
}

void statefile_set_hook_done(struct statefile *s, const char *deployment, const char *rev, const char *key)
{
	struct statefile_rare *r;

	if (statefile_hook_done(s, deployment, rev, key))
		return;
	r = rare_of(statefile_get(s, deployment, 1));
	if (strcmp(r->hooks_rev, rev) != 0) {
		strv_free_n(r->hooks_done, r->n_hooks_done);
		r->hooks_done = NULL;
		r->n_hooks_done = 0;
		kv_free(r->hooks_failed, r->n_hooks_failed);
		r->hooks_failed = NULL;
		r->n_hooks_failed = 0;
		set_rev(r->hooks_rev, rev);
	}
	r->hooks_done = xrealloc(r->hooks_done, (r->n_hooks_done + 1) * sizeof(char *));
	r->hooks_done[r->n_hooks_done++] = xstrdup(key);
	s->dirty = 1;
}

void statefile_set_hook_failed(struct statefile *s, const char *deployment, const char *rev, const char *key,
			       const char *why)
{
	struct statefile_rare *r;

	statefile_set_hook_done(s, deployment, rev, key);
	r = rare_of(statefile_get(s, deployment, 1));
	kv_put(&r->hooks_failed, &r->n_hooks_failed, key, why ? why : "");
	s->dirty = 1;
}

const char *statefile_hook_failed(const struct statefile *s, const char *deployment, const char *rev,
				  const char *key)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);
	const struct statefile_rare *r;

	if (!found)
		return NULL;
	r = rare_or_none(&s->v[pos]);
	if (strcmp(r->hooks_rev, rev) != 0)
		return NULL;
	return kv_get(r->hooks_failed, r->n_hooks_failed, key);
}

int statefile_is_failed(const struct statefile *s, const char *deployment, const char *rev, const char *commit)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);
	const struct statefile_rare *r;

	if (!found)
		return 0;
	r = rare_or_none(&s->v[pos]);
	if (r->failed_rev[0] == '\0' || strcmp(r->failed_rev, rev) != 0)
		return 0;
	return strcmp(r->failed_commit ? r->failed_commit : "", commit ? commit : "") == 0;
}

const char *statefile_failed_reason(const struct statefile_entry *e)
{
	return e && e->rare && e->rare->failed_rev[0] ? e->rare->failed_reason : NULL;
}

const struct desired_tmpl *statefile_tmpl(const struct statefile *s, const char *deployment, const char *rev)
{
	int found;
	size_t pos = find_pos(s, deployment, &found);
	const struct statefile_entry *e;

	if (!found || rev == NULL)
		return NULL;
	e = &s->v[pos];
	if (e->has_applied && strcmp(e->applied_rev, rev) == 0)
		return e->applied_tmpl;
	if (e->has_healthy && strcmp(e->healthy_rev, rev) == 0)
		return e->healthy_tmpl;
	if (e->has_previous && strcmp(e->previous_rev, rev) == 0)
		return e->previous_tmpl;
	return NULL;
}

/* ---------------------------------------------------------------- I/O */

/* One deployment's object in the state file. */
static json_t *entry_to_json(const struct statefile_entry *e)
{
	const struct statefile_rare *r = rare_or_none(e);
	json_t *o = json_object();

	if (e->has_healthy) {
		json_t *h = json_object();

		json_object_set_new(h, "revision", json_string(e->healthy_rev));
		json_object_set_new(h, "commit", json_string(e->healthy_commit ? e->healthy_commit : ""));
		json_object_set_new(h, "at", json_integer(e->healthy_at));
		json_object_set_new(h, "template", desired_tmpl_to_json(e->healthy_tmpl));
		json_object_set_new(o, "healthy", h);
	}
	if (e->has_previous) {
		json_t *p = json_object();

		json_object_set_new(p, "revision", json_string(e->previous_rev));
		json_object_set_new(p, "template", desired_tmpl_to_json(e->previous_tmpl));
		json_object_set_new(o, "previous", p);
	}
	if (e->has_applied) {
		json_t *a = json_object();

		json_object_set_new(a, "revision", json_string(e->applied_rev));
		json_object_set_new(a, "template", desired_tmpl_to_json(e->applied_tmpl));
		json_object_set_new(o, "applied", a);
	}
	if (r->failed_rev[0]) {
		json_t *f = json_object();

		json_object_set_new(f, "revision", json_string(r->failed_rev));
		json_object_set_new(f, "commit", json_string(r->failed_commit ? r->failed_commit : ""));
		json_object_set_new(f, "reason", json_string(r->failed_reason ? r->failed_reason : ""));
		json_object_set_new(f, "at", json_integer(r->failed_at));
		if (e->aborted)
			json_object_set_new(f, "aborted", json_true());
		json_object_set_new(o, "failed", f);
	}
	if (e->paused)
		json_object_set_new(o, "paused", json_true());
	if (r->progress_rev[0])
		json_object_set_new(o, "progress",
				    json_pack("{s:s, s:I}", "revision", r->progress_rev, "at",
					      (json_int_t)r->progress_at));
	if (r->hooks_rev[0]) {
		json_t *hk = json_pack("{s:s, s:o}", "revision", r->hooks_rev, "done",
				       strv_to_json(r->hooks_done, r->n_hooks_done));

		if (r->n_hooks_failed)
			json_object_set_new(hk, "failed", kv_to_json(r->hooks_failed, r->n_hooks_failed));
		json_object_set_new(o, "hooks", hk);
	}
	return o;
}

/* Appends text with each line after the first indented by four spaces (two levels of JSON_INDENT(2)). */
static int put_indented(struct buf *b, const char *text)
{
	const char *nl;
	int rc = 0;

	while (rc == 0 && (nl = strchr(text, '\n')) != NULL) {
		rc = buf_append(b, text, (size_t)(nl - text) + 1);
		if (rc == 0)
			rc = buf_puts(b, "    ");
		text = nl + 1;
	}
	return rc < 0 ? rc : buf_puts(b, text);
}

/* Where the state file's text is, as it is made piece by piece. */
struct dump_at {
	const struct statefile *s;
	size_t i;		/* the next entry */
	size_t written;		/* entries written (one whose name is not UTF-8 is left out) */
	size_t total;		/* bytes made */
	int started, done;
};

/* A piece of the text holds deployments until it passes this size. */
#define DUMP_PIECE ((size_t)64 << 10)

/*
 * Appends the next piece of the state file's text to b: its head, then some
 * deployments, then its tail. 1 while more follow, 0 with the last, and
 * ERR_TOOBIG (with *err) past STATEFILE_MAX_BYTES, which no load reads.
 */
static int dump_fill(void *arg, struct buf *b, struct error **err)
{
	struct dump_at *d = arg;
	size_t start = b->len;
	int rc = 0;

	if (!d->started) {
		d->started = 1;
		rc = buf_puts(b, "{\n  \"deployments\": {");
	}
	for (; rc == 0 && d->i < d->s->n && b->len - start < DUMP_PIECE; d->i++) {
		json_t *name = json_string(d->s->v[d->i].deployment), *o = entry_to_json(&d->s->v[d->i]);
		char *k = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL, *v = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

		/* A name that is not UTF-8 (specs never give one) is left out, as the tree left it. */
		if (k != NULL && v != NULL) {
			rc = buf_printf(b, "%s\n    %s: ", d->written++ ? "," : "", k);
			if (rc == 0)
				rc = put_indented(b, v);
		}
		free(k);
		free(v);
		json_decref(name);
		json_decref(o);
	}
	if (rc == 0 && d->i == d->s->n) {
		d->done = 1;
		rc = buf_puts(b, d->written ? "\n  }" : "}");
		if (rc == 0 && d->s->instance) {
			json_t *inst = json_string(d->s->instance);
			char *v = json_dumps(inst, JSON_ENCODE_ANY);

			rc = buf_printf(b, ",\n  \"instance\": %s", v ? v : "\"\"");
			free(v);
			json_decref(inst);
		}
		if (rc == 0)
			rc = buf_printf(b, ",\n  \"version\": %d\n}", STATEFILE_VERSION);
	}
	d->total += b->len - start;
	if (rc < 0 || d->total > STATEFILE_MAX_BYTES)
		return error_set(err, ERR_TOOBIG, "state file '%s': over %u MiB, which no load would read",
				 d->s->path ? d->s->path : "", STATEFILE_MAX_BYTES >> 20);
	return d->done ? 0 : 1;
}

/*
 * The state file's text, made one deployment at a time: the bytes
 * json_dumps(JSON_INDENT(2) | JSON_SORT_KEYS) gives of the whole document (the
 * entries are sorted by name already), without the whole document as a JSON
 * tree (at 10,000 deployments that tree was the largest thing a pass held).
 * statefile_save writes it as it is made; this holds it whole. NULL when the
 * text would pass STATEFILE_MAX_BYTES, which no load reads.
 */
char *statefile_dump(const struct statefile *s)
{
	struct dump_at d;
	struct buf b;
	int more;

	memset(&d, 0, sizeof(d));
	d.s = s;
	buf_init(&b, STATEFILE_MAX_BYTES);
	while ((more = dump_fill(&d, &b, NULL)) > 0)
		;
	if (more < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int rev_field(char dst[SPEC_REVISION_HEX], const json_t *o, const char *path, const char *dep,
		     struct error **err)
{
	const char *v = json_string_value(json_object_get(o, "revision"));

	if (v == NULL || strlen(v) >= SPEC_REVISION_HEX)
		return error_set(err, ERR_INVALID, "state file '%s': deployment '%s': bad revision", path, dep);
	set_rev(dst, v);
	return 0;
}

/* A revision with its template (healthy, previous, applied): both read, or an error naming the deployment. */
static int tmpl_field(struct statefile_entry *e, char rev[SPEC_REVISION_HEX], struct desired_tmpl **t, int *has,
		      const json_t *o, const char *path, const char *dep, struct error **err)
{
	struct desired_tmpl read;
	int rc = rev_field(rev, o, path, dep, err);

	if (rc < 0)
		return rc;
	if (desired_tmpl_from_json(&read, json_object_get(o, "template"), err) < 0)
		return error_wrap(err, "state file '%s': deployment '%s'", path, dep);
	tmpl_drop(t);
	*t = tmpl_shared(e, &read);
	if (*t != NULL)
		desired_tmpl_release(&read);
	else
		*t = tmpl_adopt(&read);
	*has = 1;
	return 0;
}

/* The hooks that failed (absent: none): an object of strings, or an error naming the deployment. */
static int hooks_failed_field(struct statefile_entry *e, const json_t *failed, const char *path, const char *dep,
			      struct error **err)
{
	const char *key;
	const json_t *v;

	if (failed == NULL)
		return 0;
	if (!json_is_object(failed))
		return error_set(err, ERR_INVALID, "state file '%s': deployment '%s': hooks.failed is not an object",
				 path, dep);
	json_object_foreach((json_t *)failed, key, v) {
		if (!json_is_string(v))
			return error_set(err, ERR_INVALID, "state file '%s': deployment '%s': hooks.failed.%s is not a "
					 "string", path, dep, key);
		kv_put(&rare_of(e)->hooks_failed, &rare_of(e)->n_hooks_failed, key, json_string_value(v));
	}
	return 0;
}

/* The hooks that completed for a revision: each a string, or an error naming the deployment. */
static int hooks_field(struct statefile_entry *e, const json_t *o, const char *path, const char *dep,
		       struct error **err)
{
	const json_t *done = json_object_get(o, "done"), *v;
	struct statefile_rare *r = rare_of(e);
	size_t i;
	int rc = rev_field(r->hooks_rev, o, path, dep, err);

	if (rc < 0)
		return rc;
	if (!json_is_array(done))
		return error_set(err, ERR_INVALID, "state file '%s': deployment '%s': hooks.done is not a list", path,
				 dep);
	json_array_foreach(done, i, v) {
		if (!json_is_string(v))
			return error_set(err, ERR_INVALID, "state file '%s': deployment '%s': hooks.done[%zu] is not a "
					 "string", path, dep, i);
		r->hooks_done = xrealloc(r->hooks_done, (r->n_hooks_done + 1) * sizeof(char *));
		r->hooks_done[r->n_hooks_done++] = xstrdup(json_string_value(v));
	}
	return hooks_failed_field(e, json_object_get(o, "failed"), path, dep, err);
}

static int from_json(struct statefile *s, const json_t *root, struct error **err)
{
	const json_t *deps, *o;
	const char *dep;
	int rc;

	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != STATEFILE_VERSION)
		return error_set(err, ERR_INVALID, "state file '%s': not a version %d state", s->path,
				 STATEFILE_VERSION);
	str_set(&s->instance, json_string_value(json_object_get(root, "instance")));
	deps = json_object_get(root, "deployments");
	json_object_foreach((json_t *)deps, dep, o) {
		struct statefile_entry *e = statefile_get(s, dep, 1);
		const json_t *h = json_object_get(o, "healthy"), *a = json_object_get(o, "applied"),
			     *f = json_object_get(o, "failed"), *p = json_object_get(o, "previous");

		if (h) {
			rc = tmpl_field(e, e->healthy_rev, &e->healthy_tmpl, &e->has_healthy, h, s->path, dep, err);
			if (rc < 0)
				return rc;
			str_set(&e->healthy_commit, json_string_value(json_object_get(h, "commit")));
			e->healthy_at = json_integer_value(json_object_get(h, "at"));
		}
		if (p && (rc = tmpl_field(e, e->previous_rev, &e->previous_tmpl, &e->has_previous, p, s->path, dep, err)) < 0)
			return rc;
		if (a && (rc = tmpl_field(e, e->applied_rev, &e->applied_tmpl, &e->has_applied, a, s->path, dep, err)) < 0)
			return rc;
		if (f) {
			struct statefile_rare *r = rare_of(e);

			if ((rc = rev_field(r->failed_rev, f, s->path, dep, err)) < 0)
				return rc;
			str_set(&r->failed_commit, json_string_value(json_object_get(f, "commit")));
			str_set(&r->failed_reason, json_string_value(json_object_get(f, "reason")));
			r->failed_at = json_integer_value(json_object_get(f, "at"));
			e->aborted = json_is_true(json_object_get(f, "aborted"));
		}
		e->paused = json_is_true(json_object_get(o, "paused"));
		if (json_object_get(o, "progress")) {
			const json_t *pr = json_object_get(o, "progress");
			struct statefile_rare *r = rare_of(e);

			if ((rc = rev_field(r->progress_rev, pr, s->path, dep, err)) < 0)
				return rc;
			r->progress_at = json_integer_value(json_object_get(pr, "at"));
		}
		if (json_object_get(o, "hooks") && (rc = hooks_field(e, json_object_get(o, "hooks"), s->path, dep, err)) < 0)
			return rc;
		rare_trim(e);
	}
	s->dirty = 0;
	return 0;
}

int statefile_load(struct statefile *s, const char *path, struct error **err)
{
	json_error_t jerr;
	json_t *root;
	struct stat st;
	int rc;

	statefile_release(s);
	statefile_init(s, path);
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, -errno, "cannot read state file '%s': %s", path, strerror(errno));
	}
	if ((size_t)st.st_size > STATEFILE_MAX_BYTES)
		return error_set(err, ERR_TOOBIG, "state file '%s' is larger than %u bytes", path,
				 STATEFILE_MAX_BYTES);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return error_set(err, ERR_INVALID, "state file '%s':%d:%d: %s", path, jerr.line, jerr.column,
				 jerr.text);
	rc = from_json(s, root, err);
	json_decref(root);
	if (rc < 0) {
		char *p = xstrdup(path);

		statefile_release(s);
		statefile_init(s, p);
		free(p);
	}
	return rc;
}

int statefile_save(struct statefile *s, struct error **err)
{
	struct dump_at d;
	int rc;

	if (s->path == NULL)
		BUG("statefile_save without a path");
	/* Written as it is made: at 10,000 deployments the text is about 5 MB, never held whole. */
	memset(&d, 0, sizeof(d));
	d.s = s;
	rc = file_replace_filled(s->path, "state file", 0600, dump_fill, &d, err);
	if (rc == 0)
		s->dirty = 0;
	return rc;
}
