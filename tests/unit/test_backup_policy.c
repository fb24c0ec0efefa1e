/* The BackupPolicy kind: its defaults, and each refusal at its file, line and field (schema, schedule, policy). */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine/backup.h"
#include "policy.h"
#include "spec.h"
#include "spec_backup.h"

/* A BackupPolicy whose spec ends with the lines in tail (2-space indented), its target a volume unless tail says. */
#define POLICY_JOB(job, target, tail)                                               \
	"apiVersion: auriga.io/v1\n"                                                \
	"kind: BackupPolicy\n"                                                      \
	"metadata: {name: db}\n"                                                    \
	"spec:\n"                                                                   \
	"  job:\n"                                                                  \
	"    image: auriga-postgres:15\n"                                           \
	"    command: [sh, -c, 'pg_dump -h db app >/backup/$AURIGA_BACKUP_FILE']\n" \
	job "  target: " target "\n" tail
#define POLICY(target, tail) POLICY_JOB("", target, tail)
/* A Deployment named name on network net, after the policy (its document starts on line 10 when the policy ends on 9). */
#define DEPLOYMENT(name, net)                                                                         \
	"---\napiVersion: auriga.io/v1\nkind: Deployment\nmetadata: {name: " name "}\nspec:\n  template:\n" \
	"    image: auriga-demo-node:v1\n    network: " net "\n"

struct loaded {
	struct spec_policy pol;
	struct spec_set set;
	struct spec_diags d;
	char *text;	/* every diag, one a line */
};

static void load(struct loaded *l, const char *policy, const char *spec)
{
	struct buf b = BUF_INIT_MAX(1 << 16);
	size_t i;

	spec_policy_init(&l->pol);
	spec_diags_init(&l->d);
	if (policy)
		assert_int_equal(spec_policy_parse(&l->pol, "/etc/auriga/policy.yaml", policy, strlen(policy), &l->d), 0);
	spec_set_init(&l->set, NULL, NULL);
	l->set.policy = &l->pol;
	spec_set_load_buffer(&l->set, "backup.yaml", spec, strlen(spec), &l->d);
	spec_set_finish(&l->set, &l->d);
	spec_diags_sort(&l->d);
	for (i = 0; i < l->d.n; i++) {
		char *line = spec_diag_format(&l->d.v[i]);

		buf_printf(&b, "%s\n", line);
		free(line);
	}
	l->text = buf_detach(&b, NULL);
}

static void unload(struct loaded *l)
{
	free(l->text);
	spec_set_release(&l->set);
	spec_diags_release(&l->d);
	spec_policy_release(&l->pol);
}

static void defaults(void **state)
{
	struct loaded l;
	const struct spec_backup_policy *b;

	(void)state;
	load(&l, NULL, POLICY("{volume: backups}", "  schedule: \"0 * * * *\"\n  retention: {daily: 10}\n"));
	assert_string_equal(l.text, "");
	b = spec_set_backup_policy(&l.set, "db");
	assert_non_null(b);
	assert_string_equal(b->target_volume, "backups");
	assert_null(b->target_host_path);
	assert_string_equal(b->job.image, "auriga-postgres:15");
	assert_int_equal(b->job.n_command, 3);
	assert_int_equal(b->active_deadline_seconds, SPEC_BACKUP_DEADLINE_DEFAULT);
	assert_int_equal(b->retention.hourly, 24);
	assert_int_equal(b->retention.daily, 10);
	assert_int_equal(b->retention.weekly, 4);
	assert_int_equal(b->retention.monthly, 12);
	assert_int_equal(cron_next(&b->cron, 0), 3600);
	assert_null(spec_set_backup_policy(&l.set, "other"));
	unload(&l);
}

struct row {
	const char *what;
	const char *policy;	/* NULL: the built-in policy */
	const char *spec;
	const char *expect;	/* every diag, one a line; "" for none */
};

static const struct row rows[] = {
	{ "a host path under the policy's prefix", "hostPaths: [/srv/backups]\n", POLICY("{hostPath: /srv/backups/db}", ""),
	  "" },
	{ "a host path outside the policy", "hostPaths: [/srv/backups]\n", POLICY("{hostPath: /var/lib/db}", ""),
	  "backup.yaml:8:22: BackupPolicy/db: spec.target.hostPath: host path \"/var/lib/db\" refused by the operator's "
	  "policy (not under hostPaths in /etc/auriga/policy.yaml)\n" },
	{ "a host path without a policy file", NULL, POLICY("{hostPath: /srv/backups}", ""),
	  "backup.yaml:8:22: BackupPolicy/db: spec.target.hostPath: host path \"/srv/backups\" refused by the operator's "
	  "policy (not under hostPaths in the built-in policy)\n" },
	{ "a host path that is not canonical", "hostPaths: [/srv]\n", POLICY("{hostPath: /srv/../etc}", ""),
	  "backup.yaml:8:22: BackupPolicy/db: spec.target.hostPath: host path \"/srv/../etc\" is not canonical (empty, "
	  "'.' or '..' components, or a trailing '/')\n" },
	{ "both a volume and a host path", "hostPaths: [/srv]\n", POLICY("{volume: b, hostPath: /srv}", ""),
	  "backup.yaml:8:11: BackupPolicy/db: spec.target: must set at most 1 field, got 2\n" },
	{ "a schedule that does not parse", NULL, POLICY("{volume: b}", "  schedule: \"0 25 * * *\"\n"),
	  "backup.yaml:9:13: BackupPolicy/db: spec.schedule: \"0 25 * * *\" does not parse: field 2 (hour): \"25\" is "
	  "not a number, range or step within 0-23\n" },
	{ "a schedule of four fields", NULL, POLICY("{volume: b}", "  schedule: \"@hourly 1\"\n"),
	  "backup.yaml:9:13: BackupPolicy/db: spec.schedule: \"@hourly 1\" does not parse: expected 5 fields (minute "
	  "hour day-of-month month day-of-week) or a macro such as @daily, got 2\n" },
	{ "before naming a Deployment", NULL, POLICY("{volume: b}", "  before: [api]\n") DEPLOYMENT("api", "n"), "" },
	{ "before naming no Deployment", NULL,
	  POLICY("{volume: b}", "  before: [api, nosuch]\n") DEPLOYMENT("api", "n"),
	  "backup.yaml:9:17: BackupPolicy/db: spec.before[1]: names no Deployment 'nosuch': a backup before its "
	  "rollouts would never run\n" },
	{ "a network a Deployment names (auriga's own)", NULL,
	  POLICY_JOB("    network: dbnet\n", "{volume: b}", "") DEPLOYMENT("db", "dbnet"), "" },
	{ "a network the policy lists", "networks: [dbnet]\n", POLICY_JOB("    network: dbnet\n", "{volume: b}", ""), "" },
	{ "a network the policy does not list", "networks: [other]\n", POLICY_JOB("    network: dbnet\n", "{volume: b}", ""),
	  "backup.yaml:8:14: BackupPolicy/db: spec.job.network: \"dbnet\" refused by the operator's policy (not in "
	  "networks in /etc/auriga/policy.yaml)\n" },
	{ "a negative retention", NULL, POLICY("{volume: b}", "  retention: {hourly: -1}\n"),
	  "backup.yaml:9:23: BackupPolicy/db: spec.retention.hourly: must be >= 0, got -1\n" },
	{ "an unknown field", NULL, POLICY("{volume: b}", "  keep: 3\n"),
	  "backup.yaml:9:3: BackupPolicy/db: spec.keep: unknown field\n" },
	{ "an image the policy does not allow", "images: [registry.example/]\n", POLICY("{volume: b}", ""),
	  "backup.yaml:6:12: BackupPolicy/db: spec.job.image: \"auriga-postgres:15\" refused by the operator's policy "
	  "(no prefix in images in /etc/auriga/policy.yaml matches it)\n" },
};

static void refusals(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct loaded l;

		load(&l, rows[i].policy, rows[i].spec);
		if (strcmp(l.text, rows[i].expect) != 0) {
			print_error("row '%s':\n  want: %s\n  got:  %s\n", rows[i].what, rows[i].expect, l.text);
			failed++;
		}
		unload(&l);
	}
	assert_int_equal(failed, 0);
}

/* The policies whose spec.before names a deployment, in the set's order; none for another. */
static void before_of(void **state)
{
	struct loaded l;
	const struct spec_backup_policy **v = NULL;
	const char *spec = POLICY("{volume: b}", "  before: [api, web]\n") DEPLOYMENT("api", "n") DEPLOYMENT("web", "n")
		"---\napiVersion: auriga.io/v1\nkind: BackupPolicy\nmetadata: {name: db2}\nspec:\n  job:\n"
		"    image: auriga-postgres:15\n    command: [\"true\"]\n  target: {volume: c}\n  before: [web]\n";

	(void)state;
	load(&l, NULL, spec);
	assert_string_equal(l.text, "");
	assert_int_equal(spec_backup_before(&l.set, "api", &v), 1);
	assert_string_equal(v[0]->meta.name, "db");
	free(v);
	assert_int_equal(spec_backup_before(&l.set, "web", &v), 2);
	assert_string_equal(v[0]->meta.name, "db");
	assert_string_equal(v[1]->meta.name, "db2");
	free(v);
	assert_int_equal(spec_backup_before(&l.set, "other", &v), 0);
	assert_null(v);
	unload(&l);
}

/*
 * The Docker name of the Job's network: a Deployment's network is auriga's,
 * under the prefix its containers use; one the policy lists keeps its name.
 */
static void job_network(void **state)
{
	struct loaded l;
	char *n;

	(void)state;
	load(&l, "networks: [shared]\n", POLICY_JOB("    network: dbnet\n", "{volume: b}", "") DEPLOYMENT("db", "dbnet"));
	assert_string_equal(l.text, "");
	n = backup_network(&l.set, spec_set_backup_policy(&l.set, "db"), "prod");
	assert_string_equal(n, "prod-dbnet");
	free(n);
	n = backup_network(&l.set, spec_set_backup_policy(&l.set, "db"), "");
	assert_string_equal(n, "dbnet");
	free(n);
	unload(&l);
	load(&l, "networks: [dbnet]\n", POLICY_JOB("    network: dbnet\n", "{volume: b}", "") DEPLOYMENT("db", "dbnet"));
	n = backup_network(&l.set, spec_set_backup_policy(&l.set, "db"), "prod");
	assert_string_equal(n, "dbnet");
	free(n);
	unload(&l);
	load(&l, NULL, POLICY("{volume: b}", ""));
	assert_null(backup_network(&l.set, spec_set_backup_policy(&l.set, "db"), "prod"));
	unload(&l);
}

TEST_MAIN(cmocka_unit_test(defaults), cmocka_unit_test(refusals), cmocka_unit_test(before_of),
	  cmocka_unit_test(job_network))
