/* The metrics registry's whole text, read from a snapshot as the HTTP server reads it. */
#include "testmetrics.h"

#include <stdlib.h>

#include "runtime/metrics_registry.h"
#include "util.h"

char *test_metrics_text(struct metrics *r)
{
	struct metrics_snapshot *sn = metrics_snapshot(r);
	size_t size, n;
	char *text;

	if (sn == NULL)
		return NULL;
	size = metrics_snapshot_size(sn);
	text = xmalloc(size + 1);
	n = metrics_snapshot_read(sn, text, size);
	text[n] = '\0';
	/* All of it in one read, and nothing after. */
	if (n != size || metrics_snapshot_read(sn, text + n, 1) != 0) {
		free(text);
		text = NULL;
	}
	metrics_snapshot_free(sn);
	return text;
}
