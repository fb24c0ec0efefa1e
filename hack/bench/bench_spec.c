/* Benchmark driver: the whole spec pipeline, or a bare libyaml event parse, over a directory of specs. */
#include "source/specdir.h"
#include "spec.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <yaml.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The baseline: every event of every file, nothing kept, nothing checked. */
static long raw_parse(const char *dir)
{
	struct dirent **names;
	long events = 0;
	int n = scandir(dir, &names, NULL, alphasort), i;

	for (i = 0; i < n; i++) {
		char path[4096];
		FILE *f;
		yaml_parser_t p;
		yaml_event_t ev;
		int done = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		if (strstr(path, ".yaml") == NULL || (f = fopen(path, "rb")) == NULL)
			continue;
		yaml_parser_initialize(&p);
		yaml_parser_set_input_file(&p, f);
		while (!done) {
			if (!yaml_parser_parse(&p, &ev))
				break;
			done = ev.type == YAML_STREAM_END_EVENT;
			events++;
			yaml_event_delete(&ev);
		}
		yaml_parser_delete(&p);
		fclose(f);
	}
	free(names);
	return events;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0;
	long count;

	if (argc != 3 || (strcmp(argv[1], "raw") != 0 && strcmp(argv[1], "full") != 0)) {
		fprintf(stderr, "usage: bench_spec raw|full DIR\n");
		return 2;
	}
	t0 = now_s();
	if (strcmp(argv[1], "raw") == 0) {
		count = raw_parse(argv[2]);
	} else {
		struct spec_set set;
		struct spec_diags d;

		spec_diags_init(&d);
		spec_set_init(&set, NULL, NULL);
		specdir_load(&set, argv[2], &d);
		spec_set_finish(&set, &d);
		if (d.n) {
			char *line = spec_diag_format(&d.v[0]);

			fprintf(stderr, "bench_spec: %zu errors, first: %s\n", d.n, line);
			free(line);
			return 1;
		}
		count = (long)set.n_deployments;
		spec_set_release(&set);
		spec_diags_release(&d);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%s %.6f %ld %ld\n", argv[1], now_s() - t0, ru.ru_maxrss, count);
	return 0;
}
