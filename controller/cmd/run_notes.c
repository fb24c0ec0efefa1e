/* What `auriga run` says of the commits it takes up beside the fleet: the source section, refused heads, commits passed over. */
#include "cmd/run_notes.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"
#include "source/gitsrc.h"
#include "source/gitsrc_worker.h"
#include "status/notes.h"
#include "status/notes_recent.h"
#include "util.h"

#define COMPONENT "run"

void run_notes_init(struct run_notes *rn, struct gitsrc *src, struct gitsrc_worker *worker,
		    struct notes_recent *recent, const char *notes_ref)
{
	memset(rn, 0, sizeof(*rn));
	rn->src = src;
	rn->worker = worker;
	rn->recent = recent;
	rn->notes_ref = notes_ref && notes_ref[0] ? notes_ref : NOTES_DEFAULT_REF;
}

void run_notes_set_fence(struct run_notes *rn, gitsrc_fence_fn fn, void *arg)
{
	rn->fence = fn;
	rn->fence_arg = arg;
}

void run_notes_post(struct run_notes *rn, const char *commit, const char *text, const char *ref, int push)
{
	char why[512];

	if (rn->fence && rn->fence(rn->fence_arg, why, sizeof(why)) != 0)
		return;
	gitsrc_worker_post_note(rn->worker, commit, text, ref, push);
	if (rn->recent)
		notes_recent_add(rn->recent, commit, text, wall_ms());
}

void run_notes_release(struct run_notes *rn)
{
	status_source_release(&rn->source);
	FREE_ALL(rn->refused, rn->head_refusal);
	memset(rn, 0, sizeof(*rn));
}

int run_notes_fetched(struct run_notes *rn, const char *head)
{
	int ended = rn->head_refusal != NULL;

	str_set(&rn->source.head, head);
	rn->source.fetched_at = wall_ms();
	free(rn->head_refusal);
	rn->head_refusal = NULL;
	return ended;
}

int run_notes_is_refused(const struct run_notes *rn, const char *head)
{
	return rn->refused && strcmp(rn->refused, head) == 0;
}

void run_notes_applied(struct run_notes *rn, const char *commit)
{
	str_set(&rn->source.applied, commit && commit[0] ? commit : NULL);
}

/* Renders s and queues it as the note on its commit. */
static void post(struct run_notes *rn, const struct fleet_status *s, const char *ref, int push)
{
	struct error *err = NULL;
	char *text = NULL;

	if (status_render_note(s, &text, &err) < 0)
		log_warn(COMPONENT, "cannot render the status note", "commit", s->commit, "error", error_msg(err), LOG_END);
	else
		run_notes_post(rn, s->commit, text, ref, push);
	free(text);
	error_free(err);
}

static void note_refused(struct run_notes *rn, const char *commit, const char *problems, const char *ref, int push)
{
	struct fleet_status s;

	if (rn->worker == NULL)
		return;
	status_init(&s);
	status_set_refused(&s, commit, problems, &rn->source, wall_ms());
	post(rn, &s, ref, push);
	status_release(&s);
}

void run_notes_refused(struct run_notes *rn, const char *commit, const char *problems, const char *ref, int push)
{
	str_set(&rn->refused, commit);
	note_refused(rn, commit, problems, ref, push);
}

void run_notes_waiting(struct run_notes *rn, const char *commit, const char *why, const char *ref, int push)
{
	struct fleet_status s;

	if (rn->worker == NULL)
		return;
	status_init(&s);
	status_set_waiting(&s, commit, why, &rn->source, wall_ms());
	post(rn, &s, ref, push);
	status_release(&s);
}

void run_notes_superseded(struct run_notes *rn, const char *commit, const char *newer, const char *ref, int push)
{
	struct fleet_status s;

	if (rn->worker == NULL)
		return;
	status_init(&s);
	status_set_superseded(&s, commit, newer, &rn->source, wall_ms());
	post(rn, &s, ref, push);
	status_release(&s);
	log_info(COMPONENT, "superseded before it was applied", "commit", commit, "by", newer, LOG_END);
}

/* Whether commit has a note under ref in the mirror. */
static int has_note(struct run_notes *rn, const char *commit, const char *ref)
{
	char *text = NULL;
	int r;

	gitsrc_lock(rn->src);
	r = notes_read(gitsrc_repo(rn->src), ref, commit, &text, NULL);
	gitsrc_unlock(rn->src);
	free(text);
	return r == 0;
}

int run_notes_fetch_failed(struct run_notes *rn, const char *commit, const struct error *e, const char *ref,
			   int push)
{
	const char *msg = error_msg(e);

	str_set(&rn->source.fetch_error, msg);
	rn->source.fetch_error_at = wall_ms();
	if (error_code(e) != ERR_REFUSED || (rn->head_refusal && strcmp(rn->head_refusal, msg) == 0))
		return 0;
	str_set(&rn->head_refusal, msg);
	/* A head refused by its signature has no note yet; a force push back to a noted commit keeps that note. */
	if (rn->worker && commit && commit[0] && !has_note(rn, commit, ref ? ref : rn->notes_ref))
		note_refused(rn, commit, msg, ref, push);
	return 1;
}

struct emit_ctx {
	struct run_notes *rn;
	const char *ref;
	int push;
};

static void emit_note(void *arg, const char *commit, const char *text)
{
	struct emit_ctx *c = arg;

	run_notes_post(c->rn, commit, text, c->ref, c->push);
	log_info(COMPONENT, "superseded before it was taken up", "commit", commit, LOG_END);
}

void run_notes_passed_over(struct run_notes *rn, const char *head, const char *previous, const char *applied,
			   const char *ref, int push)
{
	const char *stops[] = { applied, rn->refused, previous && previous[0] ? previous : NULL };
	struct emit_ctx c = { rn, ref, push };
	struct error *err = NULL;

	if (rn->worker == NULL)
		return;
	if (notes_supersede(rn->src, ref ? ref : rn->notes_ref, head, stops, ARRAY_SIZE(stops), &rn->source,
			    emit_note, &c, &err) < 0)
		log_warn(COMPONENT, "cannot note the commits the head passed over", "head", head, "error",
			 error_msg(err), LOG_END);
	error_free(err);
}
