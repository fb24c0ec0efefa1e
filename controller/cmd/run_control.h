/* Release controls asked through the HTTP API, carried to the loop and answered with the engine's verdict. */
#ifndef AURIGA_RUN_CONTROL_H
#define AURIGA_RUN_CONTROL_H

#include "engine/engine.h"
#include "error.h"

struct loop;
struct run_lease;

/*
 * From an HTTP thread: posts rq (copied) to the loop, where engine_control
 * decides on it, and waits at most wait_ms for the verdict: 0 accepted, or
 * the engine's refusal in *err (ERR_NOTFOUND, ERR_CONFLICT...). A loop that
 * does not answer in time gives ERR_UNAVAILABLE; the request may still be
 * carried out later, and its record then says so. With a lease (else NULL),
 * what an accepted request saved is shared before the answer, not after the
 * next pass: the lease's thread is woken (run_lease_state_saved) and waited
 * for, at most wait_ms more (run_lease_wait_shared).
 */
int run_control_ask(struct loop *l, struct engine *e, struct run_lease *lease, const struct engine_request *rq,
		    long wait_ms, struct error **err);

#endif
