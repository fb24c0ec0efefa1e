/* The promotion gate of the environment `auriga run` follows: the earlier environment's note on the commit, and a person's approval. */
#ifndef AURIGA_RUN_GATE_H
#define AURIGA_RUN_GATE_H

#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"
#include "status/status.h"

struct run_notes;
struct gitsrc;

/* The most approvals held in memory; past it the oldest goes (the notes keep those of held commits). */
#define GATE_APPROVALS_MAX 32

/* What the gate says of a commit. */
enum gate_verdict {
	GATE_OPEN,		/* nothing asked, or everything asked is there */
	GATE_WAIT_AFTER,	/* the earlier environment has no verdict on it yet */
	GATE_AFTER_FAILED,	/* the earlier environment did not bring it to Healthy, or a verification failed there */
	GATE_WAIT_APPROVAL,	/* healthy before, and nobody approved it yet */
};

/*
 * Pure: the verdict for env's gate on a commit, from the earlier
 * environment's note on it (after, NULL when it has none) and whether a
 * person approved it; *why (malloc'd, NULL when open) says it in a
 * sentence. The earlier note must say Healthy, and every verification it
 * names (each metric of the analyses its release declares) Passed or
 * Skipped (the release ran no analysis: nothing served before it); a note
 * naming none is enough with Healthy alone.
 */
enum gate_verdict run_gate_decide(const struct spec_environment *env, const struct fleet_status *after, int approved,
				  const char *commit, char **why);

/* An approval: who approved which commit, and when. */
struct gate_approval {
	char commit[41];
	char *by;
	int64_t at;
};

struct run_gate {
	pthread_mutex_t mu;		/* the HTTP threads record approvals; the loop reads them */
	int wants_approval;		/* the environment followed asks for one */
	char *environment;		/* its name, NULL for none (the specs last taken up say) */
	struct gate_approval *approvals;	/* in the order given, the first the oldest */
	size_t n, cap;
	struct gitsrc *src;		/* the specs repository (set by the loop), NULL before */
	char *held, *held_why;		/* the loop's: the commit held and why, noted once per change */
};

void run_gate_init(struct run_gate *g);
void run_gate_release(struct run_gate *g);

/*
 * From an HTTP thread: commit (40 hex digits) approved by who. Refused
 * (ERR_NOTFOUND) when the specs repository does not have the commit, and
 * (ERR_CONFLICT) when the environment followed asks for no approval. At
 * most GATE_APPROVALS_MAX are held; the approvals of a commit applied and
 * of the commits before it are dropped when it is applied (its note keeps
 * its approval; a restarted controller reads the approval of a held commit
 * back from its Waiting note).
 */
int run_gate_approve(struct run_gate *g, const char *commit, const char *who, int64_t now_wall_ms,
		     struct error **err);

/*
 * On the loop, before the specs of commit are applied: 0 when env's gate
 * lets it through (the approval, if any, goes into rn's source section), 1
 * when it holds it: the commit is noted Waiting with why (once per reason),
 * under own_ref (NULL: rn's), and the fleet stays as it is. The earlier
 * environment's notes (refs/notes/auriga-<after>) are fetched with each fetch.
 */
int run_gate_hold(struct run_gate *g, struct run_notes *rn, const struct spec_environment *env, const char *commit,
		  const char *own_ref, int push);

#endif
