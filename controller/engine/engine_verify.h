/* Verification Jobs as analysis metrics: each measurement of a Job metric runs the Job against the new slot. */
#ifndef AURIGA_ENGINE_VERIFY_H
#define AURIGA_ENGINE_VERIFY_H

#include <stddef.h>

#include "model/desired.h"
#include "rollout/rollout.h"
#include "spec.h"
#include "traffic/analysis.h"

struct job_runner;
struct engine_verify;
struct status_deployment;
struct json_t;

/*
 * The Jobs of one analysis run of deployment's new slot: each runs as the
 * smoke test does, through jr (the runner of target's endpoint) against
 * target, a container of the slot (NULL, or jr NULL: none runs, and each
 * measurement fails saying why, or that none runs when why is NULL): on the deployment's network, else on the instance's jobs network, which
 * that container joins for the run (and leaves when the last Job of the
 * runner reaching it ends), reaching it by name, told where by
 * AURIGA_PREVIEW_URL, _HOST and _PORT
 * (the template's first port), AURIGA_TARGET_CONTAINER, AURIGA_DEPLOYMENT
 * and AURIGA_METRIC. set and desired point at the engine's current ones
 * (read when a measurement starts). The container is
 * PREFIX-DEPLOYMENT-analysis-METRIC, labelled auriga.io/job-of and
 * auriga.io/analysis.
 */
struct engine_verify *engine_verify_new(struct job_runner *jr, const struct spec_set *const *set,
					const struct desired *const *desired, const char *deployment,
					const struct obs_container *target, const char *why);
/* What the analysis run is given (borrowed from v). */
const struct analysis_job_ops *engine_verify_ops(struct engine_verify *v);
/* After the analysis run is freed (which cancels its Jobs). */
void engine_verify_free(struct engine_verify *v);

/*
 * The verdicts of a deployment's analysis metrics, by what was verified: the
 * revision and the hash of the AnalysisTemplates (and their Jobs) its release
 * names, "REV.TEMPLATES" (desired_deployment.verify_key). What staging's note says of each
 * verification its release declares. Kept for the latest VERIFY_BOOK_REVS
 * keys, in the release records (so a restart keeps them).
 */
#define VERIFY_BOOK_REVS 3
/* A key: the revision's 64 hex digits, a dot, the templates' 64, NUL. */
#define VERIFY_KEY_LEN (2 * SPEC_REVISION_HEX)

struct verify_verdict {
	char rev[VERIFY_KEY_LEN];	/* the key */
	char *metric;
	enum analysis_result result;
	int have_value;
	double value;
};

struct verify_book {
	struct verify_verdict *v;
	size_t n;
};

void verify_book_release(struct verify_book *b);
/* A decided analysis run of key: each metric's verdict replaces the one it had. */
void verify_book_record(struct verify_book *b, const char *key, const struct analysis_report *r);
/*
 * 1 when key's release was verified before under other templates (a
 * verdict of the same revision, another key) and has no verdict of its
 * own: its verification is to run again.
 */
int verify_book_due(const struct verify_book *b, const char *key);
/* As the release records keep it: [{rev, metric, result, value?}] (a new reference), and back (bounded). */
struct json_t *verify_book_to_json(const struct verify_book *b);
void verify_book_from_json(struct verify_book *b, struct json_t *j);
/*
 * The verifications dd's strategy declares (every metric of the
 * AnalysisTemplates its blue-green prePromotionAnalysis or canary analysis
 * steps name) onto sd, each with its verdict for key: Passed, Failed,
 * Inconclusive or Unfinished from its last run; Pending while the release
 * goes on without one (skipped NULL); Skipped, for the reason skipped says,
 * when the release completed without running it (nothing served before it,
 * a return to a known revision, a full promotion).
 */
void verify_book_status(const struct verify_book *b, const struct spec_set *set,
			const struct desired_deployment *dd, const char *key, const char *skipped,
			struct status_deployment *sd);

#endif
