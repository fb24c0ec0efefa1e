/* The node's Prometheus metrics: a bounded table of request series keyed by method, route and status. */
#include "node.h"

#include <inttypes.h>
#include <pthread.h>

static const int64_t bucket_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5", "5", "10",
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define MAX_SERIES 256

struct series {
	const char *method;	/* static strings only, so the table holds no copies */
	const char *uri;
	unsigned status;
	uint64_t count;
	uint64_t sum_us;
	uint64_t bucket[NBUCKETS + 1];	/* not cumulative; the last is above 10 s */
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series_tab[MAX_SERIES];
static size_t nseries;
static uint64_t series_dropped;

void metrics_record(const char *method, const char *uri, unsigned status, int64_t us)
{
	struct series *s = NULL;
	size_t i;

	if (us < 0)
		us = 0;
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nseries; i++) {
		if (series_tab[i].status == status && series_tab[i].method == method &&
		    series_tab[i].uri == uri) {
			s = &series_tab[i];
			break;
		}
	}
	if (s == NULL && nseries < MAX_SERIES) {
		s = &series_tab[nseries++];
		s->method = method;
		s->uri = uri;
		s->status = status;
	}
	if (s == NULL) {
		series_dropped++;
	} else {
		size_t b = 0;

		while (b < NBUCKETS && us > bucket_us[b])
			b++;
		s->bucket[b]++;
		s->count++;
		s->sum_us += (uint64_t)us;
	}
	pthread_mutex_unlock(&metrics_lock);
}

int metrics_render(struct buf *out)
{
	size_t i, b;
	int rc = 0;

	rc |= buf_puts(out, "# HELP http_server_requests_total Requests served, by method, route and status.\n"
		       "# TYPE http_server_requests_total counter\n");
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nseries; i++) {
		const struct series *s = &series_tab[i];

		rc |= buf_printf(out, "http_server_requests_total{method=\"%s\",uri=\"%s\",status=\"%u\"} %" PRIu64 "\n",
				 s->method, s->uri, s->status, s->count);
	}
	rc |= buf_puts(out, "# HELP http_server_requests_seconds Time to answer a request, in seconds.\n"
		       "# TYPE http_server_requests_seconds histogram\n");
	for (i = 0; i < nseries; i++) {
		const struct series *s = &series_tab[i];
		uint64_t cum = 0;

		for (b = 0; b <= NBUCKETS; b++) {
			cum += s->bucket[b];
			rc |= buf_printf(out, "http_server_requests_seconds_bucket{method=\"%s\",uri=\"%s\","
					 "status=\"%u\",le=\"%s\"} %" PRIu64 "\n", s->method, s->uri, s->status,
					 b < NBUCKETS ? bucket_le[b] : "+Inf", cum);
		}
		rc |= buf_printf(out, "http_server_requests_seconds_sum{method=\"%s\",uri=\"%s\",status=\"%u\"} "
				 "%" PRIu64 ".%06" PRIu64 "\n", s->method, s->uri, s->status,
				 s->sum_us / 1000000, s->sum_us % 1000000);
		rc |= buf_printf(out, "http_server_requests_seconds_count{method=\"%s\",uri=\"%s\",status=\"%u\"} "
				 "%" PRIu64 "\n", s->method, s->uri, s->status, s->count);
	}
	rc |= buf_printf(out, "# HELP demo_node_metrics_series_dropped_total Requests not recorded because "
			 "the series table was full.\n# TYPE demo_node_metrics_series_dropped_total counter\n"
			 "demo_node_metrics_series_dropped_total %" PRIu64 "\n", series_dropped);
	pthread_mutex_unlock(&metrics_lock);

	rc |= buf_printf(out, "# HELP demo_node_info The node's version and id.\n# TYPE demo_node_info gauge\n"
			 "demo_node_info{version=\"%s\",node=\"%s\"} 1\n", cfg.version, cfg.node);
	rc |= buf_printf(out, "# HELP demo_node_transactions_total Transactions answered, by result.\n"
			 "# TYPE demo_node_transactions_total counter\n"
			 "demo_node_transactions_total{result=\"accepted\"} %" PRIu64 "\n"
			 "demo_node_transactions_total{result=\"failed\"} %" PRIu64 "\n",
			 (uint64_t)atomic_load(&tx_accepted), (uint64_t)atomic_load(&tx_failed));
	rc |= buf_printf(out, "# HELP demo_node_ready 1 while the readiness check is UP.\n"
			 "# TYPE demo_node_ready gauge\ndemo_node_ready %d\n", is_ready());
	rc |= db_metrics_render(out);
	rc |= buf_printf(out, "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
			 "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %" PRId64 ".%03" PRId64 "\n",
			 start_wall_ms / 1000, start_wall_ms % 1000);
	return rc ? -1 : 0;
}
