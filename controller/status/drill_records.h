/* The reports of every drill: a JSON file in the state folder, written atomically, served on the HTTP API. */
#ifndef AURIGA_DRILL_RECORDS_H
#define AURIGA_DRILL_RECORDS_H

#include <jansson.h>
#include <stdint.h>

#include "cron.h"
#include "error.h"

#define DRILL_RECORDS_FILE "drills.json"
/* The largest reports file read, and how many reports it keeps (the oldest go first). */
#define DRILL_RECORDS_MAX (8u << 20)
#define DRILL_RECORDS_KEEP 1000

/* Reads path's list of reports into *out (a JSON array; empty when the file is missing), or <0 with *err. */
int drill_records_load(json_t **out, const char *path, struct error **err);
/*
 * Appends report (a reference is taken) to path's list, or replaces the
 * report of the same "id" (a drill's "running" report by its result), and
 * replaces the file, under the lock PATH.lock: 0 or <0 with *err.
 */
int drill_records_append(const char *path, json_t *report, struct error **err);
/*
 * Each report of STATE_DIR/drills.json still "running" whose run lock
 * (records_run_lock_path "drill") nobody holds: its process ended without a
 * result, so it is recorded failed at stage "interrupted". Returns 1 when
 * some were, 0 when none, <0 with *err.
 */
int drill_records_settle(const char *state_dir, struct error **err);
/* STATE_DIR/drills.json as a JSON array of reports, or NULL with *why (the caller frees it). */
json_t *drill_records_json_at(const char *state_dir, char **why);
/*
 * Whether policy's drill schedule is due at now_s (UTC seconds): the first
 * time it names after the start of the policy's newest drill has come; a
 * policy never drilled is due. *next_s: that time, or -1 when none comes.
 */
int drill_records_due(const json_t *list, const char *policy, const struct cron *c, int64_t now_s, int64_t *next_s);

#endif
