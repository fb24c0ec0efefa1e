/* A generic Prometheus metrics registry: counters, gauges and histograms with labels, rendered as text 0.0.4. */
#ifndef AURIGA_METRICS_REGISTRY_H
#define AURIGA_METRICS_REGISTRY_H

#include "buf.h"

#include <stddef.h>

/*
 * A registry holds metric families; a family holds one series per distinct
 * set of label values. Every update, the rendering and a snapshot's making
 * and freeing take the registry's mutex, so any thread may update while the
 * HTTP server renders or sends a snapshot (whose texts no update touches).
 * Label values are passed as a NULL-terminated array in the order the family
 * declared its label names; METRIC_LABELS builds one in place. A family
 * without labels takes NULL.
 */
struct metrics;
struct metric;

#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A family keeps at most this many series; updates for more are dropped and counted. */
#define METRICS_MAX_SERIES 4096

struct metrics *metrics_new(void);
void metrics_free(struct metrics *r);

/* Declares a family. labels is NULL-terminated (or NULL). Names are checked: a bad one is a BUG(). */
struct metric *metrics_counter(struct metrics *r, const char *name, const char *help,
			       const char *const *labels);
struct metric *metrics_gauge(struct metrics *r, const char *name, const char *help,
			     const char *const *labels);
/* buckets: upper bounds, strictly increasing; +Inf is added. */
struct metric *metrics_histogram(struct metrics *r, const char *name, const char *help,
				 const char *const *labels, const double *buckets, size_t nbuckets);

/* Counters only go up: a negative delta is ignored. */
void metric_add(struct metric *m, const char *const *lv, double delta);
void metric_inc(struct metric *m, const char *const *lv);
void metric_set(struct metric *m, const char *const *lv, double v);
void metric_observe(struct metric *m, const char *const *lv, double v);
/*
 * For state-set gauges (one series per state, value 1 for the current state):
 * sets the series lv to 1 and every other series that differs from lv only in
 * label number state_label to 0.
 */
void metric_set_state(struct metric *m, const char *const *lv, size_t state_label);
/* Forgets every series whose label number label equals value (the series of a thing that is gone). */
void metric_forget(struct metric *m, size_t label, const char *value);
/* The value of a counter or gauge, or the count of a histogram; 0 when the series does not exist. */
double metric_value(struct metric *m, const char *const *lv);
/* The sum of a histogram series (0 for other types). */
double metric_sum(struct metric *m, const char *const *lv);

/*
 * The exposition text of every family as of now, held for a scrape to send
 * while the registry goes on changing: the families that changed are
 * rendered again, the others' texts are shared, not copied. NULL when a
 * family's text cannot be made. Read it in pieces (0 at the end); free it
 * from any thread, before the registry.
 */
struct metrics_snapshot;
struct metrics_snapshot *metrics_snapshot(struct metrics *r);
size_t metrics_snapshot_size(const struct metrics_snapshot *sn);
size_t metrics_snapshot_read(struct metrics_snapshot *sn, char *out, size_t max);
void metrics_snapshot_free(struct metrics_snapshot *sn);

#endif
