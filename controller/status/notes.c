/* Status notes: written on the applied commit, merged per commit (three-way, ours on a conflict) and pushed with retries. */
#include "status/notes.h"

#include "buf.h"
#include "runtime/log.h"
#include "source/gitsrc.h"
#include "util.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REMOTE_NOTES_REF "refs/auriga/remote-notes"
#define PUSH_ATTEMPTS 8
/* How far ahead of our clock a note's observedAt may be before it is not believed: 5 minutes. */
#define NOTES_FUTURE_SLACK_MS (5 * 60 * 1000)

static int git_err(struct error **err, int kind, const char *what)
{
	const git_error *ge = git_error_last();

	return error_set(err, kind, "%s: %s", what, ge && ge->message ? ge->message : "unknown error");
}

static git_signature *auriga_sig(void)
{
	git_signature *sig = NULL;

	if (git_signature_now(&sig, "auriga", "auriga@localhost") < 0)
		BUG("cannot make a signature");
	return sig;
}

int notes_write(git_repository *repo, const char *notes_ref, const char *commit_hex, const char *text,
		struct error **err)
{
	git_oid target, note;
	git_signature *sig;
	int gr;

	if (git_oid_fromstr(&target, commit_hex) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not a commit id", commit_hex);
	sig = auriga_sig();
	gr = git_note_create(&note, repo, notes_ref, sig, sig, &target, text, 1);
	git_signature_free(sig);
	if (gr < 0)
		return git_err(err, ERR_GENERIC, "cannot write the status note");
	return 0;
}

int notes_read(git_repository *repo, const char *notes_ref, const char *commit_hex, char **text,
	       struct error **err)
{
	git_oid target;
	git_note *note = NULL;
	const char *msg;
	size_t len;
	int gr;

	*text = NULL;
	if (git_oid_fromstr(&target, commit_hex) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not a commit id", commit_hex);
	gr = git_note_read(&note, repo, notes_ref, &target);
	if (gr == GIT_ENOTFOUND)
		return error_set(err, ERR_NOTFOUND, "commit %.12s has no note in '%s'", commit_hex, notes_ref);
	if (gr < 0)
		return git_err(err, ERR_GENERIC, "cannot read the status note");
	msg = git_note_message(note);
	len = msg ? strlen(msg) : 0;
	if (len > NOTES_MAX_BYTES) {
		git_note_free(note);
		return error_set(err, ERR_TOOBIG, "the note on commit %.12s in '%s' is %zu bytes, over the %u a note may "
				 "hold: not read", commit_hex, notes_ref, len, NOTES_MAX_BYTES);
	}
	*text = xstrdup(msg ? msg : "");
	git_note_free(note);
	return 0;
}

/* observedAt of a note, 0 when it has none or cannot be read. */
static int64_t note_observed_at(const char *text)
{
	struct fleet_status s;
	int64_t t;

	if (text == NULL || status_parse_note(&s, text, strlen(text), NULL) < 0)
		return 0;
	t = s.observed_at;
	status_release(&s);
	return t;
}

static int lookup_ref_commit(git_repository *repo, const char *name, git_commit **out)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int gr;

	*out = NULL;
	gr = git_reference_lookup(&ref, repo, name);
	if (gr == 0)
		gr = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	git_reference_free(ref);
	if (gr == 0)
		*out = (git_commit *)obj;
	return gr;
}

/*
 * Whether their note on `annotated` goes into the merge: 1 take, 0 keep ours,
 * <0 error. A three-way decision on the note blobs, never on the times the
 * notes claim: theirs is taken where ours has no note or still holds the one
 * both sides started from (base); where both sides changed it since, ours,
 * the controller's own record, stays. A note whose observedAt lies further in
 * the future than clocks disagree is never taken, and is logged.
 */
static int merge_take(git_repository *repo, git_commit *ours, git_commit *base, const git_oid *annotated,
		      const git_note *their, int64_t now_wall_ms, struct error **err)
{
	git_note *mine = NULL, *was = NULL;
	int64_t at = note_observed_at(git_note_message(their));
	int gr, take;

	if (at > now_wall_ms + NOTES_FUTURE_SLACK_MS) {
		char commit[GIT_OID_HEXSZ + 1], when[32];

		git_oid_tostr(commit, sizeof(commit), annotated);
		snprintf(when, sizeof(when), "%lld", (long long)at);
		log_warn("notes", "a note from the future is not taken", "commit", commit, "observedAt", when,
			 (char *)NULL);
		return 0;
	}
	gr = git_note_commit_read(&mine, repo, ours, annotated);
	if (gr == GIT_ENOTFOUND)
		return 1;
	if (gr < 0)
		return git_err(err, ERR_GENERIC, "cannot read our note");
	if (git_oid_equal(git_note_id(mine), git_note_id(their)))
		take = 0;
	else if (base == NULL || git_note_commit_read(&was, repo, base, annotated) < 0)
		take = 0;	/* both wrote it, from no common note: ours stays */
	else
		take = git_oid_equal(git_note_id(mine), git_note_id(was));	/* only they changed it */
	git_note_free(was);
	git_note_free(mine);
	return take;
}

/* The notes commit both sides started from, or NULL when they share no history. */
static git_commit *merge_base(git_repository *repo, const git_commit *ours, const git_commit *theirs)
{
	git_commit *base = NULL;
	git_oid oid;

	if (git_merge_base(&oid, repo, git_commit_id(ours), git_commit_id(theirs)) == 0)
		(void)git_commit_lookup(&base, repo, &oid);
	return base;
}

/* Points ours_ref at theirs (nothing of ours to keep): 1, or an error. */
static int move_ref(git_repository *repo, const char *ours_ref, const git_commit *theirs, const char *why,
		    struct error **err)
{
	git_reference *ref = NULL;
	int gr = git_reference_create(&ref, repo, ours_ref, git_commit_id(theirs), 1, why);

	git_reference_free(ref);
	return gr < 0 ? git_err(err, ERR_GENERIC, "cannot update the notes ref") : 1;
}

int notes_merge(git_repository *repo, const char *ours_ref, const char *theirs_ref, struct error **err)
{
	git_commit *ours = NULL, *theirs = NULL, *base = NULL, *cur = NULL, *next = NULL;
	git_note_iterator *it = NULL;
	git_signature *sig = auriga_sig();
	git_reference *ref = NULL;
	git_tree *tree = NULL;
	git_oid blob, annotated, merged;
	const git_commit *parents[2];
	int r = 0, gr, taken = 0;

	gr = lookup_ref_commit(repo, theirs_ref, &theirs);
	if (gr < 0) {
		r = git_err(err, gr == GIT_ENOTFOUND ? ERR_NOTFOUND : ERR_GENERIC, "cannot read the remote's notes");
		goto out;
	}
	gr = lookup_ref_commit(repo, ours_ref, &ours);
	if (gr == GIT_ENOTFOUND) {
		r = move_ref(repo, ours_ref, theirs, "auriga: notes from remote", err);	/* nothing of ours yet */
		goto out;
	}
	if (gr < 0) {
		r = git_err(err, ERR_GENERIC, "cannot read our notes");
		goto out;
	}
	if (git_oid_equal(git_commit_id(ours), git_commit_id(theirs)) ||
	    git_graph_descendant_of(repo, git_commit_id(ours), git_commit_id(theirs)) == 1)
		goto out;	/* theirs is already in ours */
	if (git_graph_descendant_of(repo, git_commit_id(theirs), git_commit_id(ours)) == 1) {
		r = move_ref(repo, ours_ref, theirs, "auriga: notes fast-forward", err);
		goto out;
	}

	/* Diverged: start from ours and lay their notes over it where merge_take says so. */
	base = merge_base(repo, ours, theirs);
	gr = git_commit_lookup(&cur, repo, git_commit_id(ours));
	if (gr == 0)
		gr = git_note_commit_iterator_new(&it, theirs);
	if (gr < 0) {
		r = git_err(err, ERR_GENERIC, "cannot list the remote's notes");
		goto out;
	}
	while ((gr = git_note_next(&blob, &annotated, it)) == 0) {
		git_note *their = NULL;
		git_oid new_commit, new_blob;
		int take;

		if (git_note_commit_read(&their, repo, theirs, &annotated) < 0) {
			r = git_err(err, ERR_GENERIC, "cannot read a note of the remote");
			goto out;
		}
		take = merge_take(repo, ours, base, &annotated, their, wall_ms(), err);
		if (take == 1) {
			gr = git_note_commit_create(&new_commit, &new_blob, repo, cur, sig, sig, &annotated,
						    git_note_message(their), 1);
			if (gr == 0)
				gr = git_commit_lookup(&next, repo, &new_commit);
			if (gr < 0)
				take = git_err(err, ERR_GENERIC, "cannot merge a note");
		}
		git_note_free(their);
		if (take < 0) {
			r = take;
			goto out;
		}
		if (take == 1) {
			git_commit_free(cur);
			cur = next;
			next = NULL;
			taken++;
		}
	}
	if (gr != GIT_ITEROVER) {
		r = git_err(err, ERR_GENERIC, "cannot list the remote's notes");
		goto out;
	}
	parents[0] = ours;
	parents[1] = theirs;
	if ((gr = git_commit_tree(&tree, cur)) == 0)
		gr = git_commit_create(&merged, repo, NULL, sig, sig, NULL, "Merge status notes", tree, 2, parents);
	if (gr == 0)
		gr = git_reference_create_matching(&ref, repo, ours_ref, &merged, 1, git_commit_id(ours),
						   "auriga: notes merge");
	if (gr < 0) {
		r = git_err(err, ERR_GENERIC, "cannot commit the merged notes");
		goto out;
	}
	r = taken;
out:
	git_note_iterator_free(it);
	git_tree_free(tree);
	git_reference_free(ref);
	git_commit_free(next);
	git_commit_free(cur);
	git_commit_free(base);
	git_commit_free(ours);
	git_commit_free(theirs);
	git_signature_free(sig);
	return r;
}

/*
 * Writes the note unless the one there already says the same. The time a note
 * claims decides nothing here: what this controller observes now is its own
 * record, so a note pushed by anyone with a later observedAt (year 9999, say)
 * is replaced like any other.
 */
static int notes_write_changed(git_repository *repo, const char *notes_ref, const char *commit_hex,
			       const char *text, struct error **err)
{
	char *old = NULL;
	int same = 0;

	if (notes_read(repo, notes_ref, commit_hex, &old, NULL) == 0 && old != NULL)
		same = strcmp(old, text) == 0;
	free(old);
	if (same)
		return 0;
	return notes_write(repo, notes_ref, commit_hex, text, err);
}

/*
 * Two writers that race for the remote's notes would otherwise retry in step
 * and keep beating each other: each waits a random part of a doubling span
 * (10 ms, 20 ms, ... 1.28 s) before its next push.
 */
static void push_backoff(unsigned attempt)
{
	struct timespec now, d;
	long span_ms = 10L << (attempt < 7 ? attempt : 7);

	clock_gettime(CLOCK_MONOTONIC, &now);
	d.tv_sec = 0;
	d.tv_nsec = ((long)(now.tv_nsec ^ (getpid() * 2654435761L)) & 0x7fffffff) % (span_ms * 1000000L);
	d.tv_nsec += span_ms * 1000000L / 2;
	d.tv_sec = d.tv_nsec / 1000000000L;
	d.tv_nsec %= 1000000000L;
	(void)nanosleep(&d, NULL);
}

int notes_pull(struct gitsrc *src, const char *notes_ref, struct error **err)
{
	struct error *e = NULL;
	int r = gitsrc_fetch_ref(src, notes_ref, REMOTE_NOTES_REF, &e);

	if (r == ERR_NOTFOUND) {
		error_free(e);
		return 0;
	}
	if (r == 0) {
		gitsrc_lock(src);
		r = notes_merge(gitsrc_repo(src), notes_ref, REMOTE_NOTES_REF, &e);
		gitsrc_unlock(src);
	}
	if (r < 0 && err && *err == NULL) {
		*err = e;
		e = NULL;
	}
	error_free(e);
	return r < 0 ? r : 0;
}

int notes_publish(struct gitsrc *src, const char *notes_ref, const char *commit_hex, const char *text,
		  int push, struct error **err)
{
	struct error *e = NULL;
	unsigned attempt;
	int r;

	if (notes_ref == NULL)
		notes_ref = NOTES_DEFAULT_REF;
	gitsrc_lock(src);
	r = notes_write_changed(gitsrc_repo(src), notes_ref, commit_hex, text, err);
	gitsrc_unlock(src);
	if (r < 0 || !push)
		return r;
	for (attempt = 0; attempt < PUSH_ATTEMPTS; attempt++) {
		error_clear(&e);
		r = gitsrc_push_ref(src, notes_ref, notes_ref, &e);
		if (r == 0 || error_code(e) != ERR_CONFLICT)
			break;
		/* The remote's notes moved: take them in and try again. */
		log_debug("notes", "notes push refused, merging", "reason", error_msg(e), LOG_END);
		error_clear(&e);
		r = notes_pull(src, notes_ref, &e);
		if (r < 0)
			break;
		r = ERR_CONFLICT;
		push_backoff(attempt);
	}
	if (r < 0) {
		if (e == NULL)
			error_set(&e, r, "the remote's notes kept moving: gave up after %u attempts", PUSH_ATTEMPTS);
		if (err && *err == NULL) {
			*err = e;
			e = NULL;
		}
	}
	error_free(e);
	return r < 0 ? r : 0;
}

int notes_find_latest(git_repository *repo, const char *notes_ref, const char *start_hex, unsigned max_walk,
		      char out_commit[41], char **text, struct error **err)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	unsigned n = 0;
	int r = 0, gr;

	*text = NULL;
	if (git_oid_fromstr(&oid, start_hex) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not a commit id", start_hex);
	gr = git_revwalk_new(&walk, repo);
	if (gr == 0)
		gr = git_revwalk_push(walk, &oid);
	if (gr < 0) {
		r = git_err(err, ERR_GENERIC, "cannot walk the history");
		goto out;
	}
	git_revwalk_simplify_first_parent(walk);
	while (n++ < max_walk && git_revwalk_next(&oid, walk) == 0) {
		git_note *note = NULL;

		if (git_note_read(&note, repo, notes_ref, &oid) == 0) {
			git_oid_tostr(out_commit, 41, &oid);
			*text = xstrdup(git_note_message(note));
			git_note_free(note);
			goto out;
		}
	}
	r = error_set(err, ERR_NOTFOUND, "no commit from %.12s back has a note in '%s'", start_hex, notes_ref);
out:
	git_revwalk_free(walk);
	return r;
}

static int is_stop(const char *hex, const char *const *stops, size_t nstops)
{
	size_t i;

	for (i = 0; i < nstops; i++)
		if (stops[i] && strcmp(stops[i], hex) == 0)
			return 1;
	return 0;
}

int notes_passed_over(git_repository *repo, const char *notes_ref, const char *head_hex, const char *const *stops,
		      size_t nstops, char (*out)[41], size_t max, struct error **err)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	size_t n = 0;
	int r, gr, stopped = 0;

	if (git_oid_fromstr(&oid, head_hex) < 0)
		return error_set(err, ERR_INVALID, "'%s' is not a commit id", head_hex);
	gr = git_revwalk_new(&walk, repo);
	if (gr == 0)
		gr = git_revwalk_push(walk, &oid);
	if (gr == 0) {
		git_revwalk_simplify_first_parent(walk);
		gr = git_revwalk_next(&oid, walk);	/* the head itself */
	}
	if (gr < 0) {
		r = git_err(err, ERR_GENERIC, "cannot walk the history");
		goto out;
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		git_note *note = NULL;
		char hex[41];

		git_oid_tostr(hex, sizeof(hex), &oid);
		stopped = is_stop(hex, stops, nstops) || git_note_read(&note, repo, notes_ref, &oid) == 0;
		git_note_free(note);
		if (stopped || n == max)
			break;
		memcpy(out[n++], hex, sizeof(hex));
	}
	if (!stopped && n > 0)
		log_info("notes", "the commits a new head passed over are not noted: no noted commit within reach",
			 "head", head_hex, LOG_END);
	r = stopped ? (int)n : 0;
out:
	git_revwalk_free(walk);
	return r;
}

int notes_supersede(struct gitsrc *src, const char *notes_ref, const char *head_hex, const char *const *stops,
		    size_t nstops, const struct status_source *source, notes_emit_fn emit, void *arg,
		    struct error **err)
{
	char passed[NOTES_PASSED_MAX][41];
	int i, n;

	if (notes_ref == NULL)
		notes_ref = NOTES_DEFAULT_REF;
	gitsrc_lock(src);
	n = notes_passed_over(gitsrc_repo(src), notes_ref, head_hex, stops, nstops, passed, NOTES_PASSED_MAX, err);
	gitsrc_unlock(src);
	for (i = 0; i < n; i++) {
		struct fleet_status s;
		char *text = NULL;

		status_init(&s);
		status_set_superseded(&s, passed[i], head_hex, source, wall_ms());
		if (status_render_note(&s, &text, err) < 0)
			n = ERR_GENERIC;
		else
			emit(arg, passed[i], text);
		free(text);
		status_release(&s);
	}
	return n;
}

/* The debouncer. */

void notes_debounce_init(struct notes_debounce *d, int64_t interval_ms)
{
	memset(d, 0, sizeof(*d));
	d->interval_ms = interval_ms;
	d->last_write_ms = INT64_MIN / 2;
}

void notes_debounce_release(struct notes_debounce *d)
{
	free(d->last_key);
	free(d->pending);
	free(d->pending_commit);
	memset(d, 0, sizeof(*d));
}

/* What makes a status worth writing at once: its commit and every phase in it. */
static char *phase_key(const struct fleet_status *s)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1u << 20);
	buf_printf(&b, "%s %s", s->commit ? s->commit : "", status_phase_name(s->phase));
	for (i = 0; i < s->ndeployments; i++)
		buf_printf(&b, " %s=%s", s->deployments[i].name, status_phase_name(s->deployments[i].phase));
	return buf_detach(&b, NULL);
}

int notes_debounce_offer(struct notes_debounce *d, const struct fleet_status *s, int64_t now_ms, char **commit,
			 char **text, struct error **err)
{
	char *key, *rendered = NULL;
	int r;

	*commit = NULL;
	*text = NULL;
	if (s->commit == NULL)
		return error_set(err, ERR_INVALID, "a status note needs the commit it is about");
	r = status_render_note(s, &rendered, err);
	if (r < 0)
		return r;
	key = phase_key(s);
	if (d->last_key == NULL || strcmp(key, d->last_key) != 0 || now_ms - d->last_write_ms >= d->interval_ms) {
		free(d->last_key);
		d->last_key = key;
		d->last_write_ms = now_ms;
		free(d->pending);
		free(d->pending_commit);
		d->pending = NULL;
		d->pending_commit = NULL;
		*commit = xstrdup(s->commit);
		*text = rendered;
		return 1;
	}
	free(key);
	free(d->pending);
	free(d->pending_commit);
	d->pending = rendered;
	d->pending_commit = xstrdup(s->commit);
	return 0;
}

int notes_debounce_tick(struct notes_debounce *d, int64_t now_ms, char **commit, char **text)
{
	*commit = NULL;
	*text = NULL;
	if (d->pending == NULL || now_ms - d->last_write_ms < d->interval_ms)
		return 0;
	*commit = d->pending_commit;
	*text = d->pending;
	d->pending = NULL;
	d->pending_commit = NULL;
	d->last_write_ms = now_ms;
	return 1;
}

int64_t notes_debounce_due_in(const struct notes_debounce *d, int64_t now_ms)
{
	int64_t due;

	if (d->pending == NULL)
		return -1;
	due = d->last_write_ms + d->interval_ms - now_ms;
	return due > 0 ? due : 0;
}
