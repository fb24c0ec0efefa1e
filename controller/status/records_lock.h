/* Locks in the state folder: one writer of a records file at a time, one run of a policy's backup or drill at a time. */
#ifndef AURIGA_RECORDS_LOCK_H
#define AURIGA_RECORDS_LOCK_H

#include "error.h"

/*
 * An exclusive lock on path (made when missing, never removed): 1 and *fd when taken,
 * 0 when another process holds it and wait is 0, <0 with *err when the file
 * cannot be opened. A lock dies with the process that holds it, so a process
 * killed with -9 leaves none behind.
 */
int records_lock(const char *path, int wait, int *fd, struct error **err);
/* Drops a lock records_lock took (fd < 0: none). */
void records_unlock(int fd);

/*
 * STATE_DIR/KIND-POLICY.lock: held by whoever runs a backup (KIND "backup") or
 * a drill ("drill") of the policy for the whole run, so that a record left
 * "running" whose lock nobody holds is one whose process ended without
 * writing its result. The caller frees it.
 */
char *records_run_lock_path(const char *state_dir, const char *kind, const char *policy);
/* 1 when the run lock of kind and policy is free now (nobody runs one), 0 when held, <0 with *err. */
int records_run_free(const char *state_dir, const char *kind, const char *policy, struct error **err);

#endif
