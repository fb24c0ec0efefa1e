/* The daemon's schedules: each BackupPolicy's backups and drills started when their time comes, in a child process each. */
#ifndef AURIGA_RUN_SCHEDULE_H
#define AURIGA_RUN_SCHEDULE_H

struct daemon;
struct spec_set;
struct run_schedule;

/*
 * Every second on dm's loop the children that ended are reaped (their
 * output logged); every five seconds, and at once after a child ended, while
 * backup-schedules is on and the daemon is not stopping, a record left "running" by a process that is gone is closed as
 * failed, and each policy whose spec.schedule (or spec.drill.schedule) is due
 * by the rule of `backup run --due` (`drill --due`) gets a child running
 * `auriga backup run POLICY` (`auriga drill POLICY`) with the daemon's
 * settings, at most one of each kind per policy at a time. A policy new or
 * changed in the commit applied (every one when the daemon starts) starts
 * nothing until that commit settles, for at most schedule-start-hold. The child writes
 * the record's start before it makes anything and holds the policy's run
 * lock, so a daemon killed and restarted neither runs the same slot again nor
 * loses the run. Children are left to end when the daemon stops.
 */
struct run_schedule *run_schedule_new(struct daemon *dm);
/* The policies of the set the daemon applies from now on (copied: set may go after). */
void run_schedule_set(struct run_schedule *s, const struct spec_set *set);
void run_schedule_free(struct run_schedule *s);

#endif
