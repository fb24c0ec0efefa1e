/* A BackupPolicy's spec.restore and spec.drill: decoded, and each refusal at its file, line and field. */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "spec_backup.h"

/* Two Jobs of the specs, one mounting a volume; then a BackupPolicy whose spec ends with tail. */
#define JOBS                                                                                                   \
	"apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: load}\n"                                        \
	"spec: {template: {image: auriga-postgres:15, command: [sh, -c, 'gunzip | psql']}}\n---\n"             \
	"apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: count}\n"                                       \
	"spec: {template: {image: auriga-postgres:15, command: [sh, -c, 'test 1 = 1']}}\n---\n"                \
	"apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: mounts}\n"                                      \
	"spec: {template: {image: auriga-postgres:15, volumes: [{name: data, mountPath: /data}]}}\n---\n"
#define POLICY(tail)                                                                                           \
	JOBS "apiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: db}\nspec:\n"                    \
	     "  job: {image: auriga-postgres:15, command: [sh, -c, 'pg_dump app >/backup/f']}\n"              \
	     "  target: {volume: dumps}\n" tail

/* The set loaded from one file, its diags (one a line) in text. */
static struct spec_set *load(const char *yaml, char *text, size_t n)
{
	struct spec_set *set = calloc(1, sizeof(*set));
	struct spec_diags d;
	size_t i, used = 0;

	spec_diags_init(&d);
	spec_set_init(set, NULL, NULL);
	spec_set_load_buffer(set, "backup.yaml", yaml, strlen(yaml), &d);
	spec_set_finish(set, &d);
	spec_diags_sort(&d);
	text[0] = '\0';
	for (i = 0; i < d.n; i++) {
		char *line = spec_diag_format(&d.v[i]);

		used += (size_t)snprintf(text + used, used < n ? n - used : 0, "%s\n", line);
		free(line);
	}
	spec_diags_release(&d);
	return set;
}

static void drop(struct spec_set *set)
{
	spec_set_release(set);
	free(set);
}

static void decoded(void **state)
{
	char text[4096];
	struct spec_set *set = load(POLICY("  restore:\n    job: load\n    database: {image: auriga-postgres:15, env: {POSTGRES_PASSWORD: pw}}\n"
					   "  drill: {schedule: \"30 4 1-7 * 0\", verify: [count, load]}\n"),
				    text, sizeof(text));
	const struct spec_backup_policy *b = spec_set_backup_policy(set, "db");

	(void)state;
	assert_string_equal(text, "");
	assert_non_null(b);
	assert_string_equal(b->restore.job, "load");
	assert_true(b->restore.has_database);
	assert_string_equal(b->restore.database.image, "auriga-postgres:15");
	assert_int_equal(b->restore.database.n_env, 1);
	assert_true(b->restore.has_drill);
	assert_string_equal(b->restore.drill_schedule, "30 4 1-7 * 0");
	/* The schedule parsed: minute 30, hour 4, the first seven days or a Sunday. */
	assert_true(b->restore.drill_cron.minutes == (1ull << 30));
	assert_true(b->restore.drill_cron.hours == (1u << 4));
	assert_true(b->restore.drill_cron.wdays == 1u);
	assert_int_equal(b->restore.n_verify, 2);
	assert_string_equal(b->restore.verify[0], "count");
	assert_string_equal(b->restore.verify[1], "load");
	drop(set);

	/* Without restore or drill: nothing to restore with, no drill. */
	set = load(POLICY(""), text, sizeof(text));
	b = spec_set_backup_policy(set, "db");
	assert_string_equal(text, "");
	assert_null(b->restore.job);
	assert_false(b->restore.has_database);
	assert_false(b->restore.has_drill);
	drop(set);
}

static const struct {
	const char *what, *tail, *expect;
} rows[] = {
	{ "a restore Job that is not in the specs", "  restore: {job: gone}\n",
	  "backup.yaml:22:18: BackupPolicy/db: spec.restore.job: names no Job \"gone\" in the specs\n" },
	{ "a restore Job mounting volumes", "  restore: {job: mounts}\n",
	  "backup.yaml:22:18: BackupPolicy/db: spec.restore.job: Job \"mounts\" mounts volumes: a restore or drill "
	  "Job gets the dump at /backup and the database's network, no volume of a deployment\n" },
	{ "a drill without a database to restore into", "  restore: {job: load}\n  drill: {verify: [count]}\n",
	  "backup.yaml:23:10: BackupPolicy/db: spec.drill: a drill restores into a fresh database: it needs "
	  "spec.restore.job and spec.restore.database\n" },
	{ "a verify Job that is not in the specs",
	  "  restore: {job: load, database: {image: pg}}\n  drill: {verify: [count, gone]}\n",
	  "backup.yaml:23:27: BackupPolicy/db: spec.drill.verify[1]: names no Job \"gone\" in the specs\n" },
	{ "a drill schedule that does not parse",
	  "  restore: {job: load, database: {image: pg}}\n  drill: {schedule: \"0 4 * * 8\", verify: [count]}\n",
	  "backup.yaml:23:21: BackupPolicy/db: spec.drill.schedule: \"0 4 * * 8\" does not parse: field 5 "
	  "(day of week): \"8\" is not a number, range or step within 0-7\n" },
	{ "a drill with no verify Job", "  restore: {job: load, database: {image: pg}}\n  drill: {verify: []}\n",
	  "backup.yaml:23:19: BackupPolicy/db: spec.drill.verify: must have at least 1 item\n" },
	{ "a field the schema does not know", "  restore: {job: load, into: db}\n",
	  "backup.yaml:22:24: BackupPolicy/db: spec.restore.into: unknown field\n" },
};

static void refusals(void **state)
{
	char text[4096], yaml[8192];
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct spec_set *set;

		snprintf(yaml, sizeof(yaml), "%s%s", POLICY(""), rows[i].tail);
		set = load(yaml, text, sizeof(text));
		if (strcmp(text, rows[i].expect) != 0) {
			print_error("row '%s':\n  want: %s\n  got:  %s\n", rows[i].what, rows[i].expect, text);
			failed++;
		}
		drop(set);
	}
	assert_int_equal(failed, 0);
}

TEST_MAIN(cmocka_unit_test(decoded), cmocka_unit_test(refusals))
