/* The metrics registry's whole text, for the tests that compare it. */
#ifndef AURIGA_TESTMETRICS_H
#define AURIGA_TESTMETRICS_H

struct metrics;

/* Every family's exposition text as a scrape would get it now: a malloc'd string, or NULL. */
char *test_metrics_text(struct metrics *r);

#endif
