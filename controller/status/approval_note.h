/* An approval of a commit for an environment, as the note under that environment's approvals ref records it. */
#ifndef AURIGA_APPROVAL_NOTE_H
#define AURIGA_APPROVAL_NOTE_H

#include <stdint.h>

#include "error.h"

struct gitsrc;
struct signing_key;

/* The most bytes an approval note may have. */
#define APPROVAL_NOTE_MAX 4096

/*
 * Who approved a commit for an environment, and when; and who let it through
 * without every verification of the environment before it Passed (Skipped,
 * Inconclusive), when someone did. Strings owned, NULL when unset.
 */
struct approval {
	char *environment;
	char *instance;		/* the controller that took it */
	char *by;		/* the API token's name */
	int64_t at;		/* wall ms */
	char *unverified_by;	/* NULL: verifications must have Passed */
	int64_t unverified_at;
	char *reason;		/* the --reason given with the approval, NULL when none */
	char *unverified_reason;	/* the --reason given with --unverified, NULL when none */
};

void approval_release(struct approval *a);
void approval_copy(struct approval *dst, const struct approval *src);

/* The notes ref an environment's approvals live under: refs/notes/auriga-approvals-ENVIRONMENT (malloc'd). */
char *approval_note_ref(const char *environment);

/*
 * The note on commit: a summary line ("auriga: Approved for production by
 * dana"), then a JSON object (YAML reads it too) with environment,
 * instance, approvedBy, approvedAt, and unverifiedBy, unverifiedAt, reason,
 * unverifiedReason when set, and mac: the HMAC-SHA256 under k (which must
 * hold a key) of commit and those members.
 */
char *approval_note_render(const struct approval *a, const char *commit, const struct signing_key *k);
/*
 * Back from the note on commit; ERR_INVALID (with what) when it is not one,
 * or names no approvedBy; ERR_REFUSED when its mac is missing or is not the
 * one k gives (anyone who can push notes could have written it), or k holds
 * no key.
 */
int approval_note_parse(struct approval *a, const char *text, const char *commit, const struct signing_key *k,
			struct error **err);

/*
 * The approval of commit under ref in src's repository (as last fetched and
 * merged): 0 with *a filled, ERR_NOTFOUND when there is none, or an error
 * (approval_note_parse's; ERR_REFUSED too when the note names another
 * environment than the one ref is of).
 * Takes the source's lock itself.
 */
int approval_note_read(struct gitsrc *src, const char *ref, const char *commit, const struct signing_key *k,
		       struct approval *a, struct error **err);
/* Writes text (approval_note_render's) as the note on commit under ref in src's repository (not pushed). Takes the source's lock itself. */
int approval_note_write(struct gitsrc *src, const char *ref, const char *commit, const char *text,
			struct error **err);

#endif
