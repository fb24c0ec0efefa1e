/* The promotion gate of the environment `auriga run` follows: the earlier environment's note on the commit, and a person's approval. */
#ifndef AURIGA_RUN_GATE_H
#define AURIGA_RUN_GATE_H

#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"
#include "status/approval_note.h"
#include "status/status.h"

struct run_notes;
struct gitsrc;
struct gitsrc_worker;

/* The most approvals held in memory; past it the oldest goes (its note under the approvals ref keeps it). */
#define GATE_APPROVALS_MAX 32

/* What the gate says of a commit. */
enum gate_verdict {
	GATE_OPEN,		/* nothing asked, or everything asked is there */
	GATE_WAIT_AFTER,	/* the earlier environment has no verdict on it yet */
	GATE_AFTER_FAILED,	/* the earlier environment did not bring it to Healthy, or did not verify it there */
	GATE_WAIT_APPROVAL,	/* healthy before, and nobody approved it yet */
};

/*
 * Pure: the verdict for env's gate on a commit, from the earlier
 * environment's note on it (after, NULL when it has none) and the approval
 * of it (a, NULL when none); *why (malloc'd) says it in a sentence. The
 * earlier note must say Healthy, and every verification it names (each
 * metric of the analyses its release declares) Passed: Pending or
 * Unfinished waits, Failed (or a verdict not known) stops, and Skipped or
 * Inconclusive (verified nothing) stops too unless a person let the commit
 * through unverified (a->unverified_by): then the gate opens and *why
 * records who did and what was not verified. A note naming none is enough
 * with Healthy alone. *why is NULL when the gate opens otherwise.
 */
enum gate_verdict run_gate_decide(const struct spec_environment *env, const struct fleet_status *after,
				  const struct approval *a, const char *commit, char **why);

/* An approval held in memory, by commit. */
struct gate_approval {
	char commit[41];
	struct approval a;
};

struct run_gate {
	pthread_mutex_t mu;		/* the HTTP threads record approvals; the loop reads them */
	pthread_mutex_t approving;	/* one approval at a time: its note read, then written */
	const struct signing_key *key;	/* signing-key-file (set by the daemon); NULL or empty: approvals refused */
	int wants_approval;		/* the environment followed asks for one */
	int has_after;			/* it names promotion.after: there is a verification to let through */
	char *environment;		/* its name, NULL for none (the specs last taken up say) */
	char *instance;			/* the instance this controller runs as (set by the daemon), NULL: none */
	char *ref;			/* the environment's approvals notes ref, NULL with no environment */
	int push;			/* the notes are pushed to the specs remote */
	struct gate_approval *approvals;	/* in the order given, the first the oldest */
	size_t n, cap;
	struct gitsrc *src;		/* the specs repository (set by the loop), NULL before */
	struct gitsrc_worker *worker;	/* pushes the approval notes (set by the loop), NULL: none */
	char *held, *held_why;		/* the loop's: the commit held and why, noted once per change */
	char ignored[41];		/* the commit whose approval note was last ignored (logged once) */
};

void run_gate_init(struct run_gate *g);
void run_gate_release(struct run_gate *g);

/*
 * From an HTTP thread: commit (40 hex digits) approved by who, for reason
 * (may be NULL); unverified lets it through verifications the earlier
 * environment did not decide (Skipped, Inconclusive; never a Failed one).
 * Recorded in Git before it counts: the note on commit under the
 * environment's approvals ref (approval_note_ref), written at once and
 * pushed by the worker when notes are pushed, so a restarted controller, or
 * another one of the environment, reads it back. Refused (ERR_NOTFOUND)
 * when the specs repository does not have the commit, (ERR_CONFLICT) when
 * the environment followed asks for no approval and unverified is not
 * given, or when it follows none, or unverified is given and it names no
 * promotion.after, or when no signing key is set (a note without its MAC
 * is one any pusher to the specs remote could forge), and
 * (ERR_UNAVAILABLE) before the repository was read. A note on commit there
 * that does not carry the key's MAC does not count and is written over. The first approval stands; an unverified one adds
 * who let it through. At most GATE_APPROVALS_MAX are held in memory; the
 * approvals of a commit applied and of the commits before it are dropped
 * from memory when it is applied (their notes stay: the record).
 */
int run_gate_approve(struct run_gate *g, const char *commit, const char *who, const char *reason, int unverified,
		     int64_t now_wall_ms, struct error **err);

/* Holds the approval of commit in memory (the first stands; an unverified one adds its who). */
void run_gate_remember(struct run_gate *g, const char *commit, const struct approval *a);

/*
 * On the loop, before the specs of commit are applied: 0 when env's gate
 * lets it through (the approval, if any, goes into rn's source section), 1
 * when it holds it: the commit is noted Waiting with why (once per reason),
 * under own_ref (NULL: rn's), and the fleet stays as it is. The earlier
 * environment's notes (refs/notes/auriga-<after>) are fetched with each
 * fetch, and the environment's approvals ref pulled (merged).
 */
int run_gate_hold(struct run_gate *g, struct run_notes *rn, const struct spec_environment *env, const char *commit,
		  const char *own_ref, int push);

#endif
