/* The promotion gate of the environment `auriga run` follows: the earlier environment's note on the commit, and a person's approval, both read from Git. */
#include "cmd/run_gate.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run_notes.h"
#include "runtime/log.h"
#include "source/gitsrc.h"
#include "source/gitsrc_worker.h"
#include "status/notes.h"
#include "util.h"

#define COMPONENT "gate"

/* The earlier environment's note says Healthy: every verification its release declares must have passed too. */
static enum gate_verdict verified(const struct spec_environment *env, const struct fleet_status *after, char **why)
{
	char *failed = NULL;
	size_t pending = 0, n = status_verification_failures(after, &failed, &pending);
	enum gate_verdict v = GATE_OPEN;

	if (n && pending == n) {
		*why = xasprintf("waiting for %s's verification: %s", env->promotion_after, failed);
		v = GATE_WAIT_AFTER;
	} else if (n) {
		*why = xasprintf("stopped at %s: %s", env->promotion_after, failed);
		v = GATE_AFTER_FAILED;
	}
	free(failed);
	return v;
}

enum gate_verdict run_gate_decide(const struct spec_environment *env, const struct fleet_status *after, int approved,
				  const char *commit, char **why)
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
	if (env->promotion_after && (v = verified(env, after, why)) != GATE_OPEN)
		return v;
	if (env->approval_required && !approved) {
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
}

void run_gate_release(struct run_gate *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->approvals[i].by);
	FREE_ALL(g->approvals, g->environment, g->held, g->held_why);
	pthread_mutex_destroy(&g->mu);
}

/* The approval of commit, copied (by malloc'd) under the lock; 0 when there is none. */
static int approval_of(struct run_gate *g, const char *commit, char **by, int64_t *at)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&g->mu);
	for (i = 0; i < g->n && !found; i++) {
		if (strcmp(g->approvals[i].commit, commit) == 0) {
			*by = xstrdup(g->approvals[i].by);
			*at = g->approvals[i].at;
			found = 1;
		}
	}
	pthread_mutex_unlock(&g->mu);
	return found;
}

static void drop(struct run_gate *g, size_t i, const char *why)
{
	log_info(COMPONENT, "an approval is dropped", "commit", g->approvals[i].commit, "by", g->approvals[i].by,
		 "why", why, LOG_END);
	free(g->approvals[i].by);
	memmove(&g->approvals[i], &g->approvals[i + 1], (g->n - i - 1) * sizeof(*g->approvals));
	g->n--;
}

static void record(struct run_gate *g, const char *commit, const char *who, int64_t at)
{
	struct gate_approval *a;
	size_t i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->approvals[i].commit, commit) == 0)
			return; /* the first approval stands */
	if (g->n >= GATE_APPROVALS_MAX) {
		char why[80];

		snprintf(why, sizeof(why), "the oldest of more than %d approvals held", GATE_APPROVALS_MAX);
		drop(g, 0, why);
	}
	XGROW(g->approvals, g->cap, g->n + 1);
	a = &g->approvals[g->n++];
	snprintf(a->commit, sizeof(a->commit), "%s", commit);
	a->by = xstrdup(who);
	a->at = at;
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

int run_gate_approve(struct run_gate *g, const char *commit, const char *who, int64_t now_wall_ms,
		     struct error **err)
{
	struct gitsrc *src;
	int rc = 0;

	if (commit == NULL || strlen(commit) != 40 || strspn(commit, "0123456789abcdef") != 40)
		return error_set(err, ERR_INVALID, "a commit is approved by its 40 hex digits");
	pthread_mutex_lock(&g->mu);
	src = g->src;
	pthread_mutex_unlock(&g->mu);
	if (src && !have_commit(src, commit))
		return error_set(err, ERR_NOTFOUND, "commit %s is not in the specs repository (as last fetched)",
				 commit);
	pthread_mutex_lock(&g->mu);
	if (!g->wants_approval)
		rc = error_set(err, ERR_CONFLICT, "environment '%s' asks for no approval (promotion.approval)",
			       g->environment ? g->environment : "(none)");
	else
		record(g, commit, who && who[0] ? who : "api", now_wall_ms);
	pthread_mutex_unlock(&g->mu);
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

/* The approval of commit: given to this controller, or recorded in its own note on the commit before a restart. */
static int approved(struct run_gate *g, struct run_notes *rn, const char *own_ref, const char *commit, char **by,
		    int64_t *at)
{
	struct fleet_status own;
	int found;

	if (approval_of(g, commit, by, at))
		return 1;
	status_init(&own);
	found = note_phase(rn, own_ref, commit, &own) && own.source.approved_by != NULL;
	if (found) {
		pthread_mutex_lock(&g->mu);
		record(g, commit, own.source.approved_by, own.source.approved_at);
		pthread_mutex_unlock(&g->mu);
		*by = xstrdup(own.source.approved_by);
		*at = own.source.approved_at;
	}
	status_release(&own);
	return found;
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
	char *after_ref = NULL, *why = NULL, *by = NULL;
	int64_t at = 0;
	int have = 0, ok, held;

	pthread_mutex_lock(&g->mu);
	g->src = rn->src;
	g->wants_approval = env && env->approval_required;
	str_set(&g->environment, env ? env->meta.name : NULL);
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
	ok = rn->src && approved(g, rn, own_ref, commit, &by, &at);
	held = run_gate_decide(env, have ? &after : NULL, ok, commit, &why) != GATE_OPEN;
	str_set(&rn->source.promotion, why);
	if (!held) {
		/* The approval goes with the commit applied, in every note on it. */
		str_set(&rn->source.approved_by, by);
		rn->source.approved_at = by ? at : 0;
		str_set(&g->held, NULL);
		if (rn->src)
			drop_passed(g, rn->src, commit);
	} else {
		note_held(g, rn, commit, why, by, at, own_ref, push);
	}
	status_release(&after);
	FREE_ALL(after_ref, why, by);
	return held;
}
