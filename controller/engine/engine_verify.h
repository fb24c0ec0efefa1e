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

/*
 * The Jobs of one analysis run of deployment's new slot: each runs as the
 * smoke test does, beside a container of slot (a ready one when there is):
 * on the deployment's network reaching it by name, else in its network
 * namespace on 127.0.0.1, told where by AURIGA_PREVIEW_URL, _HOST and _PORT
 * (the template's first port), AURIGA_TARGET_CONTAINER, AURIGA_DEPLOYMENT
 * and AURIGA_METRIC. set and desired point at the engine's current ones
 * (read when a measurement starts). The container is
 * PREFIX-DEPLOYMENT-analysis-METRIC, labelled auriga.io/job-of and
 * auriga.io/analysis.
 */
struct engine_verify *engine_verify_new(struct job_runner *jr, const struct spec_set *const *set,
					const struct desired *const *desired, const char *deployment, const char *slot,
					const struct rollout_ctr *v, size_t n);
/* What the analysis run is given (borrowed from v). */
const struct analysis_job_ops *engine_verify_ops(struct engine_verify *v);
/* After the analysis run is freed (which cancels its Jobs). */
void engine_verify_free(struct engine_verify *v);

#endif
