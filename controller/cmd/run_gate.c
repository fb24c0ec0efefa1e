/* The promotion gate of the environment `auriga run` follows: the earlier environment's note on the commit, and a person's approval, both read from Git. */
#include "cmd/run_gate.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run_notes.h"
#include "runtime/log.h"
#include "runtime/signing.h"
#include "source/gitsrc.h"
#include "source/gitsrc_worker.h"
#include "status/notes.h"
#include "util.h"

#define COMPONENT "gate"

/*
 * The earlier environment's note says Healthy: every verification its
 * release declares must have Passed too, or a person let the commit through
 * what verified nothing (a).
 */
static enum gate_verdict verified(const struct spec_environment *env, const struct fleet_status *after,
				  const struct approval *a, const char *commit, char **why)
{
	struct status_unverified u;
	char *failed = NULL;
	size_t n = status_verification_failures(after, &failed, &u);
	enum gate_verdict v = GATE_OPEN;

	if (n == 0)
		return GATE_OPEN;
	if (u.failed) {
		*why = xasprintf("stopped at %s: %s", env->promotion_after, failed);
		v = GATE_AFTER_FAILED;
	} else if (u.pending) {
		*why = xasprintf("waiting for %s's verification: %s", env->promotion_after, failed);
		v = GATE_WAIT_AFTER;
	} else if (a && a->unverified_by) {
		/* Let through by a person, on the record: the notes on the commit applied say who and what. */
		*why = xasprintf("let through unverified by %s: %s", a->unverified_by, failed);
	} else {
		*why = xasprintf("stopped at %s: %s: only a verification that Passed there opens the gate "
				 "(auriga approve --unverified %s lets it through, on the record)",
				 env->promotion_after, failed, commit);
		v = GATE_AFTER_FAILED;
	}
	free(failed);
	return v;
}

enum gate_verdict run_gate_decide(const struct spec_environment *env, const struct fleet_status *after,
				  const struct approval *a, const char *commit, char **why)
{
	enum status_phase phase = after ? after->phase : STATUS_UNKNOWN;
	enum gate_verdict v;
	char *failed = NULL;

	*why = NULL;
	if (env == NULL)
		return GATE_OPEN;
	if (env->promotion_after && after == NULL) {
		*why = xasprintf("waiting for %s: it has no note on this commit yet", env->promotion_after);
		return GATE_WAIT_AFTER;
	}
	if (env->promotion_after && (phase == STATUS_UNKNOWN || phase == STATUS_PROGRESSING ||
				     phase == STATUS_PENDING || phase == STATUS_WAITING)) {
		*why = xasprintf("waiting for %s: its note on this commit says %s", env->promotion_after,
				 status_phase_name(phase));
		return GATE_WAIT_AFTER;
	}
	if (env->promotion_after && phase != STATUS_HEALTHY) {
		/* The verifications that failed say why, when there are some. */
		(void)status_verification_failures(after, &failed, NULL);
		*why = xasprintf("stopped at %s: its note on this commit says %s%s%s", env->promotion_after,
				 status_phase_name(phase), failed ? "; " : "", failed ? failed : "");
		free(failed);
		return GATE_AFTER_FAILED;
	}
	if (env->promotion_after && (v = verified(env, after, a, commit, why)) != GATE_OPEN)
		return v;
	if (env->approval_required && a == NULL) {
		*why = xasprintf("%s%s%swaiting for approval (auriga approve %s)", env->promotion_after ? "healthy in " : "",
				 env->promotion_after ? env->promotion_after : "", env->promotion_after ? "; " : "",
				 commit);
		return GATE_WAIT_APPROVAL;
	}
	return GATE_OPEN;
}

void run_gate_init(struct run_gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->approving, NULL);
}

void run_gate_release(struct run_gate *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		approval_release(&g->approvals[i].a);
	FREE_ALL(g->approvals, g->environment, g->instance, g->ref, g->held, g->held_why);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->approving);
}

/* The approval of commit held in memory, copied into *a under the lock; 0 when there is none. */
static int approval_of(struct run_gate *g, const char *commit, struct approval *a)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->n && !found; i++) {
		if (strcmp(g->approvals[i].commit, commit) == 0) {
			approval_copy(a, &g->approvals[i].a);
			found = 1;
		}
	}
	pthread_mutex_unlock(&g->mu);
	return found;
}

static void drop(struct run_gate *g, size_t i, const char *why)
{
	log_info(COMPONENT, "an approval is dropped from memory", "commit", g->approvals[i].commit, "by",
		 g->approvals[i].a.by, "why", why, LOG_END);
	approval_release(&g->approvals[i].a);
	memmove(&g->approvals[i], &g->approvals[i + 1], (g->n - i - 1) * sizeof(*g->approvals));
	g->n--;
}

/* Under g->mu. */
static void remember(struct run_gate *g, const char *commit, const struct approval *a)
{
	struct gate_approval *ga;
	size_t i;

	for (i = 0; i < g->n; i++) {
		ga = &g->approvals[i];
		if (strcmp(ga->commit, commit) != 0)
			continue;
		/* The first approval stands; one letting it through unverified adds its who. */
		if (ga->a.unverified_by == NULL && a->unverified_by) {
			ga->a.unverified_by = xstrdup(a->unverified_by);
			ga->a.unverified_at = a->unverified_at;
			ga->a.unverified_reason = xstrdup_or_null(a->unverified_reason);
		}
		return;
	}
	if (g->n >= GATE_APPROVALS_MAX) {
		char why[80];

		snprintf(why, sizeof(why), "the oldest of more than %d approvals held", GATE_APPROVALS_MAX);
		drop(g, 0, why);
	}
	XGROW(g->approvals, g->cap, g->n + 1);
	ga = &g->approvals[g->n++];
	memset(ga, 0, sizeof(*ga));
	snprintf(ga->commit, sizeof(ga->commit), "%s", commit);
	approval_copy(&ga->a, a);
}

void run_gate_remember(struct run_gate *g, const char *commit, const struct approval *a)
{
	pthread_mutex_lock(&g->mu);
	remember(g, commit, a);
	pthread_mutex_unlock(&g->mu);
}

/* 1 when the specs repository has commit (as last fetched), 0 when not. */
static int have_commit(struct gitsrc *src, const char *commit)
{
	git_commit *c = NULL;
	git_oid oid;
	int found;

	if (git_oid_fromstr(&oid, commit) < 0)
		return 0;
	gitsrc_lock(src);
	found = git_commit_lookup(&c, gitsrc_repo(src), &oid) == 0;
	git_commit_free(c);
	gitsrc_unlock(src);
	return found;
}

/*
 * The approval of commit: held in memory, else as recorded under ref (as
 * last fetched and merged). 0 with *a; ERR_NOTFOUND when there is none, a
 * note there that is not one or does not carry the key's MAC included
 * (logged: it does not count, and an approval writes over it).
 */
static int recorded(struct run_gate *g, struct gitsrc *src, const char *ref, const char *commit, struct approval *a)
{
	struct error *err = NULL;
	int rc;

	if (approval_of(g, commit, a))
		return 0;
	rc = approval_note_read(src, ref, commit, g->key, a, &err);
	if (rc < 0 && rc != ERR_NOTFOUND) {
		/* Once per commit: the gate asks again at every poll. */
		pthread_mutex_lock(&g->mu);
		if (strcmp(g->ignored, commit) != 0) {
			snprintf(g->ignored, sizeof(g->ignored), "%s", commit);
			log_warn(COMPONENT, "an approval note is ignored", "ref", ref, "commit", commit, "error",
				 error_msg(err), LOG_END);
		}
		pthread_mutex_unlock(&g->mu);
	}
	error_free(err);
	if (rc < 0)
		return ERR_NOTFOUND;
	run_gate_remember(g, commit, a);
	return 0;
}

int run_gate_approve(struct run_gate *g, const char *commit, const char *who, const char *reason, int unverified,
		     int64_t now_wall_ms, struct error **err)
{
	struct approval a;
	struct gitsrc *src;
	struct gitsrc_worker *worker;
	char *ref = NULL, *env = NULL, *inst = NULL, *text = NULL;
	int rc = 0, wants, after, push;

	memset(&a, 0, sizeof(a));
	if (commit == NULL || strlen(commit) != 40 || strspn(commit, "0123456789abcdef") != 40)
		return error_set(err, ERR_INVALID, "a commit is approved by its 40 hex digits");
	if (g->key == NULL || g->key->data == NULL)
		return error_set(err, ERR_CONFLICT, "approvals are not taken: signing-key-file is not set (an approval "
				 "note without its MAC is one any pusher to the specs remote could forge)");
	/* One at a time, from the note read to the note written: two at once would write over each other. */
	pthread_mutex_lock(&g->approving);
	pthread_mutex_lock(&g->mu);
	src = g->src;
	worker = g->worker;
	wants = g->wants_approval;
	after = g->has_after;
	push = g->push;
	ref = xstrdup_or_null(g->ref);
	env = xstrdup_or_null(g->environment);
	inst = xstrdup_or_null(g->instance);
	pthread_mutex_unlock(&g->mu);
	if (env == NULL || (!wants && !unverified)) {
		rc = error_set(err, ERR_CONFLICT, "environment '%s' asks for no approval (promotion.approval)",
			       env ? env : "(none)");
		goto out;
	}
	if (unverified && !after) {
		rc = error_set(err, ERR_CONFLICT, "environment '%s' names no promotion.after: no verification to let through",
			       env);
		goto out;
	}
	if (src == NULL) {
		rc = error_set(err, ERR_UNAVAILABLE, "the controller has not read the specs repository yet");
		goto out;
	}
	if (!have_commit(src, commit)) {
		rc = error_set(err, ERR_NOTFOUND, "commit %s is not in the specs repository (as last fetched)", commit);
		goto out;
	}
	who = who && who[0] ? who : "api";
	if (recorded(g, src, ref, commit, &a) == 0 && (a.unverified_by || !unverified))
		goto out;	/* the first approval stands: nothing new to record */
	if (a.by == NULL) {
		a.environment = xstrdup(env);
		a.instance = xstrdup_or_null(inst);
		a.by = xstrdup(who);
		a.at = now_wall_ms;
		if (!unverified)
			a.reason = xstrdup_or_null(reason);
	}
	if (unverified) {
		a.unverified_by = xstrdup(who);
		a.unverified_at = now_wall_ms;
		a.unverified_reason = xstrdup_or_null(reason);
	}
	/* In Git before it counts: the note stays when this controller does not. */
	text = approval_note_render(&a, commit, g->key);
	rc = approval_note_write(src, ref, commit, text, err);
	if (rc < 0)
		goto out;
	run_gate_remember(g, commit, &a);
	log_info(COMPONENT, "approval recorded", "commit", commit, "by", who, "ref", ref, "unverified",
		 unverified ? "yes" : "no", LOG_END);
	/* Pushed to the specs remote as the notes are (push -1: the worker's setting). */
	if (worker && push != 0)
		gitsrc_worker_post_note(worker, commit, text, ref, push);
out:
	pthread_mutex_unlock(&g->approving);
	approval_release(&a);
	FREE_ALL(ref, env, inst, text);
	return rc;
}

/* The approvals of commit applied and of the commits before it (which are never applied again) go. */
static void drop_passed(struct run_gate *g, struct gitsrc *src, const char *commit)
{
	git_oid head, oid;
	size_t i;

	if (git_oid_fromstr(&head, commit) < 0)
		return;
	pthread_mutex_lock(&g->mu);
	gitsrc_lock(src);
	for (i = g->n; i-- > 0;) {
		int mine = strcmp(g->approvals[i].commit, commit) == 0;

		if (mine || (git_oid_fromstr(&oid, g->approvals[i].commit) == 0 &&
			     git_graph_descendant_of(gitsrc_repo(src), &head, &oid) == 1))
			drop(g, i, mine ? "its commit is applied (its note keeps it)" : "a later commit is applied");
	}
	gitsrc_unlock(src);
	pthread_mutex_unlock(&g->mu);
}

/* The phase ref's note on commit says; 0 when it has none (or it cannot be read, which is logged). */
static int note_phase(struct run_notes *rn, const char *ref, const char *commit, struct fleet_status *out)
{
	struct error *err = NULL;
	char *text = NULL;
	int rc;

	gitsrc_lock(rn->src);
	rc = notes_read(gitsrc_repo(rn->src), ref, commit, &text, &err);
	gitsrc_unlock(rn->src);
	if (rc == 0)
		rc = status_parse_note(out, text, strlen(text), &err);
	if (rc < 0 && rc != ERR_NOTFOUND)
		log_warn(COMPONENT, "cannot read the note", "ref", ref, "commit", commit, "error", error_msg(err), LOG_END);
	free(text);
	error_free(err);
	return rc == 0;
}

/*
 * The approval of commit: held in memory (recorded in Git here, or read from
 * it before), else as recorded under the environment's approvals ref (kept
 * as the remote has it, merged with each fetch) with the key's MAC. The
 * status notes' approvedBy is this controller's own echo of it, never read
 * as an approval.
 */
static int approved(struct run_gate *g, struct run_notes *rn, const char *commit, struct approval *a)
{
	return g->ref && recorded(g, rn->src, g->ref, commit, a) == 0;
}

/*
 * Notes the held commit Waiting, with its own approval (the source section
 * keeps the one of the commit applied), once per reason and approval.
 */
static void note_held(struct run_gate *g, struct run_notes *rn, const char *commit, const char *why, const char *by,
		      int64_t at, const char *own_ref, int push)
{
	char *key = xasprintf("%s\n%s", why, by ? by : "");
	char *applied_by = rn->source.approved_by;
	int64_t applied_at = rn->source.approved_at;

	if (!(g->held && strcmp(g->held, commit) == 0 && g->held_why && strcmp(g->held_why, key) == 0)) {
		log_info(COMPONENT, "the promotion gate holds the commit", "commit", commit, "why", why, LOG_END);
		rn->source.approved_by = (char *)by;
		rn->source.approved_at = by ? at : 0;
		run_notes_waiting(rn, commit, why, own_ref, push);
		rn->source.approved_by = applied_by;
		rn->source.approved_at = applied_at;
		str_set(&g->held, commit);
		str_set(&g->held_why, key);
	}
	free(key);
}

int run_gate_hold(struct run_gate *g, struct run_notes *rn, const struct spec_environment *env, const char *commit,
		  const char *own_ref, int push)
{
	struct fleet_status after;
	struct approval a;
	char *after_ref = NULL, *why = NULL;
	int have = 0, ok, held;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&g->mu);
	g->src = rn->src;
	g->worker = rn->worker;
	g->push = push;
	g->wants_approval = env && env->approval_required;
	g->has_after = env && env->promotion_after;
	if (!(env && g->environment && strcmp(g->environment, env->meta.name) == 0)) {
		str_set(&g->environment, env ? env->meta.name : NULL);
		free(g->ref);
		g->ref = env ? approval_note_ref(env->meta.name) : NULL;
	}
	pthread_mutex_unlock(&g->mu);
	own_ref = own_ref ? own_ref : rn->notes_ref;
	str_set(&rn->source.environment, g->environment);
	status_init(&after);
	if (env && env->promotion_after && rn->src) {
		after_ref = xasprintf("refs/notes/auriga-%s", env->promotion_after);
		have = note_phase(rn, after_ref, commit, &after);
		if (rn->worker)
			gitsrc_worker_watch(rn->worker, after_ref);
	}
	if (rn->worker)
		gitsrc_worker_pull(rn->worker, g->ref);
	ok = rn->src && approved(g, rn, commit, &a);
	held = run_gate_decide(env, have ? &after : NULL, ok ? &a : NULL, commit, &why) != GATE_OPEN;
	/* Held: why it waits; let through unverified: who did, and what was not verified. */
	str_set(&rn->source.promotion, why);
	if (!held) {
		/* The approval goes with the commit applied, in every note on it. */
		str_set(&rn->source.approved_by, ok ? a.by : NULL);
		rn->source.approved_at = ok ? a.at : 0;
		str_set(&g->held, NULL);
		if (rn->src)
			drop_passed(g, rn->src, commit);
	} else {
		note_held(g, rn, commit, why, ok ? a.by : NULL, a.at, own_ref, push);
	}
	status_release(&after);
	approval_release(&a);
	FREE_ALL(after_ref, why);
	return held;
}
